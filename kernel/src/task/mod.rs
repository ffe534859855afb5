//! Tasks: processes and threads.
//!
//! A task is one thread: its saved user state (registers, FPU/SSE state,
//! FS base, signal mask) plus `Arc` handles on what it may share with
//! others as the clone flags say: the address space (`CLONE_VM`), the
//! descriptor table (`CLONE_FILES`), the cwd and umask (`CLONE_FS`), the
//! signal actions (`CLONE_SIGHAND`) and its process ([`Group`],
//! `CLONE_THREAD`). One CPU runs one task at a time; the kernel is not
//! preempted (a timer tick that lands in user mode ends the slice), and a
//! blocked task keeps no kernel stack: it waits at a system call boundary
//! (see `wait`). The process tree (parents, children, process groups,
//! sessions, zombies) is [`Tables::procs`].

pub mod exit;
pub mod frame;
pub mod posix_timer;
pub mod sched;
pub mod signal;
pub mod timer;
pub mod wait;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use lamina_abi::cred::Credentials;
use lamina_abi::types::{KernelSigaction, Rlimit, StackT};
use lamina_proto::frame::ExitStatus;
use spin::Mutex;

use crate::arch::user::{FpuState, UserContext};
use crate::fs::fd::FdTable;
use crate::mm::shared::SharedMappings;
use crate::mm::vm::AddressSpace;
use wait::{Restart, WaitQueue};

/// A thread id; a process's id is the tid of its first thread.
pub type Tid = u32;

pub const SIGNALS: usize = 64;
/// One above the highest thread id (Linux's `pid_max` on 64-bit).
pub const PID_MAX: Tid = 4_194_304;
/// CPUs the scheduler runs tasks on (/sys, /proc/stat, /proc/cpuinfo).
pub const CPU_COUNT: u32 = 1;

/// [`Group::exiting`]'s mark that the process is going away.
const EXITING: u32 = 1;

/// An address space and its `MAP_SHARED` file mappings (shared by
/// `CLONE_VM`).
#[derive(Debug)]
pub struct Memory {
    pub space: Mutex<AddressSpace>,
    pub shared: Mutex<SharedMappings>,
    /// The `membarrier` commands this address space registered for
    /// (`MEMBARRIER_CMD_REGISTER_*` bits); none after execve.
    pub membarrier_registered: core::sync::atomic::AtomicU32,
}

impl Memory {
    pub fn new(space: AddressSpace) -> Arc<Self> {
        Arc::new(Self {
            space: Mutex::new(space),
            shared: Mutex::new(SharedMappings::default()),
            membarrier_registered: core::sync::atomic::AtomicU32::new(0),
        })
    }
}

impl Drop for Memory {
    /// The last user of an address space is gone: its shared file
    /// mappings go back to their files (as Linux does when the mappings
    /// go), then the frames are returned.
    fn drop(&mut self) {
        crate::syscall::futex_forget_memory(self);
        let shared = self.shared.get_mut();
        if let Err(e) = shared.write_back_all(self.space.get_mut()) {
            crate::log!("process: writing shared mappings back failed: {}", e.name());
        }
    }
}

/// The cwd and umask (shared by `CLONE_FS`).
#[derive(Debug, Clone)]
pub struct FsContext {
    pub cwd: Vec<u8>,
    pub umask: u32,
}

pub type SigActions = [KernelSigaction; SIGNALS];

/// What the threads of one process share and its parent learns of it.
#[derive(Debug)]
pub struct Group {
    pub pid: Tid,
    pub exe_path: Mutex<Vec<u8>>,
    /// argv as /proc/PID/cmdline shows it: each argument NUL-terminated.
    pub cmdline: Mutex<Vec<u8>>,
    /// The thread name (`prctl(PR_SET_NAME)`, /proc/PID/comm), at most 15 bytes.
    pub comm: Mutex<Vec<u8>>,
    pub rlimits: Mutex<[Rlimit; 16]>,
    /// Signals sent to the process (any thread not blocking one takes it).
    pub pending: AtomicU64,
    /// A child changed state: `wait4` callers of this process wait here.
    pub child_events: WaitQueue,
    /// Set once the process is going away (`exit_group`, a fatal signal):
    /// every thread exits at its next return to user mode. An atomic, as
    /// the scheduler reads it on every return to user mode: 0 while the
    /// process lives, else [`EXITING`] with the status's two bytes.
    exiting: AtomicU32,
    /// CPU time in nanoseconds: user, system, and that of reaped children.
    pub user_ns: AtomicU64,
    pub system_ns: AtomicU64,
    pub children_user_ns: AtomicU64,
    pub children_system_ns: AtomicU64,
    /// When the process started (monotonic ns), for /proc/PID/stat.
    pub start_ns: u64,
    /// `alarm`/`ITIMER_REAL`: (deadline, interval), monotonic ns.
    pub alarm: Mutex<Option<(u64, u64)>>,
    /// The alarm's name in the kernel's timer list.
    pub alarm_timer: timer::TimerId,
    /// POSIX timers (`timer_create`), by id.
    pub posix_timers: Mutex<BTreeMap<i32, Arc<posix_timer::PosixTimer>>>,
    /// Stopped by SIGSTOP (or a terminal stop signal) until SIGCONT.
    pub stopped: core::sync::atomic::AtomicBool,
    /// Who the process is (uids, gids, groups, capabilities): shared by
    /// its threads, copied by fork, kept (and transformed) by execve.
    pub creds: Mutex<Credentials>,
    /// `personality(2)`'s value (0: PER_LINUX); inherited by fork, kept by
    /// execve.
    pub personality: core::sync::atomic::AtomicU32,
}

impl Group {
    pub fn new(pid: Tid, exe_path: Vec<u8>, cmdline: Vec<u8>, rlimits: [Rlimit; 16]) -> Arc<Self> {
        let comm = comm_of(&exe_path);
        Arc::new(Self {
            pid,
            exe_path: Mutex::new(exe_path),
            cmdline: Mutex::new(cmdline),
            comm: Mutex::new(comm),
            rlimits: Mutex::new(rlimits),
            pending: AtomicU64::new(0),
            child_events: WaitQueue::new(),
            exiting: AtomicU32::new(0),
            user_ns: AtomicU64::new(0),
            system_ns: AtomicU64::new(0),
            children_user_ns: AtomicU64::new(0),
            children_system_ns: AtomicU64::new(0),
            start_ns: crate::time::monotonic_ns(),
            alarm: Mutex::new(None),
            alarm_timer: timer::new_id(),
            posix_timers: Mutex::new(BTreeMap::new()),
            stopped: core::sync::atomic::AtomicBool::new(false),
            creds: Mutex::new(Credentials::container_root()),
            personality: core::sync::atomic::AtomicU32::new(0),
        })
    }

    /// The process's exit status once it is going away.
    pub fn exiting(&self) -> Option<ExitStatus> {
        let word = self.exiting.load(Ordering::Acquire);
        if word == 0 {
            return None;
        }
        let [_, _, tag, value] = word.to_le_bytes();
        ExitStatus::decode(&[tag, value]).ok()
    }

    /// Starts the process's end with `status` (the first reason wins).
    pub fn begin_exit(&self, status: ExitStatus) {
        let [tag, value] = status.encode();
        let word = EXITING | u32::from_le_bytes([0, 0, tag, value]);
        let _ = self
            .exiting
            .compare_exchange(0, word, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    pub fn add_pending(&self, bit: u64) {
        self.pending.fetch_or(bit, Ordering::Relaxed);
    }
}

/// The last path component, at most 15 bytes: a new program's name.
pub fn comm_of(path: &[u8]) -> Vec<u8> {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    name[..name.len().min(15)].to_vec()
}

/// Why a task is off the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Runnable,
    /// Waiting in a system call, which runs again when it wakes.
    Blocked,
}

/// One thread.
#[derive(Debug)]
pub struct Task {
    pub tid: Tid,
    pub group: Arc<Group>,
    pub ctx: UserContext,
    pub fpu: Box<FpuState>,
    pub fs_base: u64,
    pub gs_base: u64,
    pub sigmask: u64,
    /// Signals sent to this thread (tkill, faults).
    pub pending: u64,
    /// The mask to restore after the handler of an interrupted
    /// `rt_sigsuspend` (or `ppoll`) returns.
    pub saved_sigmask: Option<u64>,
    pub altstack: StackT,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub rseq: Option<u64>,
    pub mem: Arc<Memory>,
    pub files: Arc<Mutex<FdTable>>,
    pub fs: Arc<Mutex<FsContext>>,
    pub sigactions: Arc<Mutex<SigActions>>,
    pub state: State,
    /// Blocked in a system call that runs again when the task wakes.
    pub in_syscall: bool,
    pub restart: Restart,
    /// The parent thread waiting in `vfork` until this child execs or exits.
    pub vfork_parent: Option<Tid>,
    /// When the task last entered the kernel or user mode (TSC), for
    /// user/system time.
    pub mark_tsc: u64,
    /// The call just made woke another task that should run first (a
    /// signal with a handler): the task gives up the CPU after it.
    pub yield_after_call: bool,
}

impl Task {
    pub fn pid(&self) -> Tid {
        self.group.pid
    }
}

/// A process in the tree: alive (with threads) or a zombie.
#[derive(Debug)]
pub struct ProcEntry {
    pub parent: Tid,
    pub pgid: Tid,
    pub sid: Tid,
    pub children: Vec<Tid>,
    pub threads: Vec<Tid>,
    pub group: Arc<Group>,
    /// The signal the parent gets when this process ends (SIGCHLD, or
    /// clone's exit signal; 0 for none).
    pub exit_signal: u8,
    /// Set when the last thread is gone: what `wait4` reports.
    pub zombie: Option<ExitStatus>,
    /// A stop or continue not yet reported to a `WUNTRACED`/`WCONTINUED` wait.
    pub report: Option<StopReport>,
}

/// A change of a process's stopped state, for its parent's wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReport {
    Stopped(u8),
    Continued,
}

/// The scheduler's and the process tree's state.
#[derive(Default)]
pub struct Tables {
    /// Every task not on the CPU.
    pub tasks: BTreeMap<Tid, Box<Task>>,
    pub run_queue: VecDeque<Tid>,
    pub procs: BTreeMap<Tid, ProcEntry>,
    /// Blocked tasks with a deadline, soonest first.
    pub sleepers: BTreeSet<(u64, Tid)>,
    /// The task on the CPU (0 when idle).
    pub current: Tid,
    /// A wake that reached the task on the CPU: its next block is void.
    pub current_woken: bool,
    next_tid: Tid,
    /// Live tasks (threads), for the limit.
    pub task_count: usize,
}

pub static TABLES: Mutex<Option<Tables>> = Mutex::new(None);

/// Runs `f` on the tables (created on first use). A change may move the
/// timer's deadline (a task woken or put to sleep), so the scheduler
/// looks at the timer again before the next return to user mode.
pub fn with_tables<R>(f: impl FnOnce(&mut Tables) -> R) -> R {
    sched::timer_wish_changed();
    let mut guard = TABLES.lock();
    f(guard.get_or_insert_with(|| Tables {
        next_tid: 1,
        ..Tables::default()
    }))
}

/// Runs `f` on the tables without changing them (the system calls that
/// only look, such as `getppid`, leave the timer alone).
pub fn read_tables<R>(f: impl FnOnce(&Tables) -> R) -> R {
    let guard = TABLES.lock();
    match guard.as_ref() {
        Some(tables) => f(tables),
        None => f(&Tables {
            next_tid: 1,
            ..Tables::default()
        }),
    }
}

impl Tables {
    /// A fresh thread id: the lowest unused one above the last handed
    /// out, as Linux cycles pids (wrapping below `PID_MAX`).
    pub fn alloc_tid(&mut self) -> Tid {
        loop {
            let tid = self.next_tid;
            self.next_tid = if tid + 1 >= PID_MAX { 2 } else { tid + 1 };
            if !self.tasks.contains_key(&tid)
                && !self.procs.contains_key(&tid)
                && tid != self.current
            {
                return tid;
            }
        }
    }

    /// Thread ids handed out since boot (/proc/stat's `processes`), as far
    /// as the ids have not wrapped.
    pub fn tids_handed_out(&self) -> u64 {
        u64::from(self.next_tid.saturating_sub(1))
    }

    /// Process ids in the process group `pgid`.
    pub fn group_members(&self, pgid: Tid) -> Vec<Tid> {
        self.procs
            .iter()
            .filter(|(_, e)| e.pgid == pgid && e.zombie.is_none())
            .map(|(&pid, _)| pid)
            .collect()
    }
}

/// The highest number of threads: Linux's `threads-max` rule (a thread
/// per 32 pages of RAM), capped so the kernel heap holds them.
pub fn max_tasks() -> usize {
    const HEAP_CAP: usize = 1024;
    let (_, total) = crate::mm::frame::stats();
    ((total / 32) as usize).clamp(16, HEAP_CAP)
}
