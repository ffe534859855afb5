//! The scheduler: a round-robin run queue on one CPU.
//!
//! [`run`] is the kernel's main loop once the first process exists: it
//! takes the task at the head of the run queue off the tables, loads its
//! address space, FS base and FPU state (only when they differ from what
//! the CPU holds), and runs it ([`run_slice`]) until it blocks, exits or
//! its time slice ends at a timer interrupt in user mode. With nothing
//! runnable the CPU sleeps in `hlt` until an interrupt or the soonest
//! deadline of a sleeping task.
//!
//! The local APIC timer is armed only when something needs it: the end
//! of the running task's slice while others wait to run, and the soonest
//! deadline of a blocked task.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use lamina_proto::frame::ExitStatus;

use super::{read_tables, signal, with_tables, Memory, State, Task, Tid};
use crate::arch::user::{self, Trap};
use crate::arch::{cpu, irq};
use crate::syscall::{self, Flow};
use crate::time;

/// How long a task runs while others wait.
const SLICE_NS: u64 = 10_000_000;
/// With preemption at system calls only (`preempt=syscall`), how long past
/// its slice a task that makes none may run before it is switched anyway.
const SYSCALL_PREEMPT_GRACE_NS: u64 = 200_000_000;

/// Switch tasks at system calls only, not at any instruction: set where
/// the kernel cannot save all of the user's registers (`kvm_pvm` lets
/// user code run AVX, whose registers the kernel there cannot save; a
/// system call is a function call, across which no vector register is
/// live). A task that makes no system call is still switched after
/// [`SYSCALL_PREEMPT_GRACE_NS`], so it cannot starve the others.
static PREEMPT_AT_SYSCALLS: AtomicBool = AtomicBool::new(false);

pub fn set_preempt_at_syscalls(on: bool) {
    PREEMPT_AT_SYSCALLS.store(on, Ordering::Relaxed);
}

/// The address space the CPU has loaded (an `Arc<Memory>` address; 0 for
/// none), so a switch between threads of one process keeps CR3.
static LOADED_MEM: AtomicUsize = AtomicUsize::new(0);
/// The task whose FPU state and FS/GS base the CPU holds.
static LOADED_TASK: AtomicU64 = AtomicU64::new(0);
/// When the running task's slice ends (monotonic ns).
static SLICE_END: AtomicU64 = AtomicU64::new(0);
/// Something the timer's deadline depends on (the run queue, the
/// sleepers, the alarms, the running slice) may have changed since
/// [`arm_timer`] last looked: most system calls change none of it, and
/// skipping the look keeps their return to user mode short.
static TIMER_WISH_STALE: AtomicBool = AtomicBool::new(true);

/// Notes that the timer's deadline may have to move.
pub fn timer_wish_changed() {
    TIMER_WISH_STALE.store(true, Ordering::Relaxed);
}

/// Forgets `mem` as the loaded address space (it is going away; the
/// caller has switched the CPU off it).
pub fn forget_memory(mem: *const Memory) {
    let _ = LOADED_MEM.compare_exchange(mem as usize, 0, Ordering::Relaxed, Ordering::Relaxed);
}

/// Makes `mem` the CPU's address space.
pub fn load_memory(mem: &Arc<Memory>) {
    let addr = Arc::as_ptr(mem) as usize;
    if LOADED_MEM.swap(addr, Ordering::Relaxed) != addr {
        mem.space.lock().activate();
    }
}

/// Makes a blocked task runnable (a no-op for one that is not blocked).
pub fn wake(tid: Tid) {
    with_tables(|t| {
        if t.current == tid {
            t.current_woken = true;
            return;
        }
        let Some(task) = t.tasks.get_mut(&tid) else {
            return;
        };
        task.restart.woken = true;
        if task.state == State::Blocked {
            task.state = State::Runnable;
            if let Some(deadline) = task.restart.deadline {
                t.sleepers.remove(&(deadline, tid));
            }
            t.run_queue.push_back(tid);
        }
    });
}

/// Runs the tasks until the first process (the workload, PID 1) ends;
/// returns its status.
pub fn run(first: Box<Task>) -> ExitStatus {
    let pid = first.tid;
    with_tables(|t| {
        t.procs.insert(
            pid,
            super::ProcEntry {
                parent: 0,
                pgid: pid,
                sid: pid,
                children: alloc::vec::Vec::new(),
                threads: alloc::vec![pid],
                group: Arc::clone(&first.group),
                exit_signal: 0,
                zombie: None,
                report: None,
            },
        );
        t.task_count = 1;
        t.tasks.insert(pid, first);
        t.run_queue.push_back(pid);
    });
    crate::boot_report_ready();
    loop {
        service_events();
        if let Some(status) = read_tables(|t| t.procs.get(&1).and_then(|e| e.zombie)) {
            return status;
        }
        let next = with_tables(|t| {
            while let Some(tid) = t.run_queue.pop_front() {
                if let Some(task) = t.tasks.remove(&tid) {
                    t.current = tid;
                    t.current_woken = false;
                    return Some(task);
                }
            }
            None
        });
        let Some(mut task) = next else {
            idle();
            continue;
        };
        switch_in(&mut task);
        SLICE_END.store(time::monotonic_ns() + SLICE_NS, Ordering::Relaxed);
        timer_wish_changed();
        let outcome = run_slice(&mut task);
        task.fpu.save();
        switch_out(task, outcome);
    }
}

fn switch_in(task: &mut Task) {
    load_memory(&task.mem);
    let tid = u64::from(task.tid);
    if LOADED_TASK.swap(tid, Ordering::Relaxed) != tid {
        task.fpu.restore();
        user::set_fs_base(task.fs_base);
        user::set_gs_base(task.gs_base);
    }
    task.mark_tsc = cpu::rdtsc();
}

/// Why a task left the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its slice ended (or it yielded): back to the run queue's tail.
    Preempted,
    /// Waiting in a system call.
    Blocked,
    /// The thread is gone.
    Exited,
}

fn switch_out(task: Box<Task>, outcome: Outcome) {
    let tid = task.tid;
    match outcome {
        Outcome::Exited => super::exit::reap_thread(task),
        Outcome::Preempted => with_tables(|t| {
            t.current = 0;
            let mut task = task;
            task.state = State::Runnable;
            t.tasks.insert(tid, task);
            t.run_queue.push_back(tid);
        }),
        Outcome::Blocked => with_tables(|t| {
            t.current = 0;
            let mut task = task;
            if core::mem::take(&mut t.current_woken) {
                // Woken before it was off the CPU: it runs the call again.
                task.state = State::Runnable;
                task.restart.woken = true;
                t.run_queue.push_back(tid);
            } else {
                task.state = State::Blocked;
                if let Some(deadline) = task.restart.deadline {
                    t.sleepers.insert((deadline, tid));
                }
            }
            t.tasks.insert(tid, task);
        }),
    }
}

/// Runs `task` until it blocks, exits or its slice ends.
fn run_slice(task: &mut Task) -> Outcome {
    // Whether the return to user mode must look at everything below: not
    // after a system call that left nothing for it to do (the common case,
    // kept to a few loads).
    let mut full_return = true;
    loop {
        if full_return {
            if let Some(outcome) = prepare_return(task) {
                return outcome;
            }
        }
        account(task, false);
        let trap = user::run(&mut task.ctx);
        account(task, true);
        full_return = true;
        match trap {
            Trap::Interrupt => {
                service_events();
                if should_yield() {
                    let overrun = time::monotonic_ns()
                        >= SLICE_END.load(Ordering::Relaxed) + SYSCALL_PREEMPT_GRACE_NS;
                    if !PREEMPT_AT_SYSCALLS.load(Ordering::Relaxed) || overrun {
                        return Outcome::Preempted;
                    }
                }
            }
            Trap::Syscall | Trap::StrandedSyscall => {
                if let Some(outcome) = run_syscall(task) {
                    return outcome;
                }
                if PREEMPT_AT_SYSCALLS.load(Ordering::Relaxed) && should_yield() {
                    return Outcome::Preempted;
                }
                full_return = !quiet_return(task);
                continue;
            }
            Trap::Exception {
                vector,
                error_code,
                cr2,
            } => signal::exception(task, vector, error_code, cr2),
        }
    }
}

/// Everything due before `task` goes back to user mode: the end of its
/// process, a blocked call's next run, signals, a stop, the timer.
/// `Some` when the task leaves the CPU instead.
fn prepare_return(task: &mut Task) -> Option<Outcome> {
    // A process going away takes its threads wherever they wait.
    if task.group.exiting().is_some() {
        return Some(Outcome::Exited);
    }
    if task.in_syscall {
        task.in_syscall = false;
        if let Some(outcome) = resume_syscall(task) {
            return Some(outcome);
        }
        if task.group.exiting().is_some() {
            return Some(Outcome::Exited);
        }
    }
    signal::deliver(task);
    if task.group.exiting().is_some() {
        return Some(Outcome::Exited);
    }
    if task.group.is_stopped() {
        // Off the CPU until SIGCONT (or SIGKILL) wakes it.
        return Some(Outcome::Blocked);
    }
    arm_timer();
    None
}

/// Whether a system call that just completed left [`prepare_return`]
/// nothing to do: no exit, no signal to deliver or mask to restore, no
/// stop, no change the timer must follow.
fn quiet_return(task: &Task) -> bool {
    task.group.exiting().is_none()
        && !signal::has_work(task)
        && !task.group.is_stopped()
        && !TIMER_WISH_STALE.load(Ordering::Relaxed)
}

/// Adds the time since the last mark to the task's user (`to_kernel`:
/// the task was in user mode) or system time.
fn account(task: &mut Task, to_kernel: bool) {
    let now = cpu::rdtsc();
    let ns = time::cycles_to_ns(now.saturating_sub(task.mark_tsc));
    task.mark_tsc = now;
    let counter = if to_kernel {
        &task.group.user_ns
    } else {
        &task.group.system_ns
    };
    counter.fetch_add(ns, Ordering::Relaxed);
}

/// Runs the system call in the task's registers; None to go on running.
fn run_syscall(task: &mut Task) -> Option<Outcome> {
    match syscall::dispatch(task) {
        Flow::Continue => None,
        Flow::Block => {
            task.in_syscall = true;
            Some(Outcome::Blocked)
        }
        Flow::Yield => Some(Outcome::Preempted),
        Flow::Exit => Some(Outcome::Exited),
    }
}

/// A blocked call's task is back on the CPU: a signal that will be
/// handled interrupts the call (EINTR, or a restart with `SA_RESTART`);
/// otherwise the call runs again.
fn resume_syscall(task: &mut Task) -> Option<Outcome> {
    task.restart.again = true;
    // A vfork parent waits for its child whatever comes (as Linux's
    // killable-only wait).
    if task.restart.value == 0 && signal::interrupts_call(task) {
        task.restart = Default::default();
        return None;
    }
    run_syscall(task)
}

fn should_yield() -> bool {
    time::monotonic_ns() >= SLICE_END.load(Ordering::Relaxed)
        && read_tables(|t| !t.run_queue.is_empty())
}

/// Arms the timer for the sooner of the slice's end (when others wait to
/// run) and the soonest sleeper's deadline.
fn arm_timer() {
    TIMER_WISH_STALE.store(false, Ordering::Relaxed);
    let (others, sleeper) = read_tables(|t| {
        (
            !t.run_queue.is_empty(),
            t.sleepers.first().map(|&(deadline, _)| deadline),
        )
    });
    let mut slice = others.then(|| SLICE_END.load(Ordering::Relaxed));
    if PREEMPT_AT_SYSCALLS.load(Ordering::Relaxed) {
        // Past the slice, the next tick that matters is the grace's end.
        let now = time::monotonic_ns();
        slice = slice.map(|end| {
            if now >= end {
                end + SYSCALL_PREEMPT_GRACE_NS
            } else {
                end
            }
        });
    }
    let alarm = super::timer::next_deadline();
    // A channel device without an interrupt (virtio-PCI) is looked at
    // even while one task runs on without giving up the CPU: at the next
    // tick of a 10 ms grid, so that the wish (and the timer, each write a
    // VM exit under KVM) changes at most a hundred times a second.
    let poll = crate::channel::poll_interval_ns().map(|_| {
        const GRID_NS: u64 = 10_000_000;
        (time::monotonic_ns() / GRID_NS + 1) * GRID_NS
    });
    let deadline = [slice, sleeper, alarm, poll].into_iter().flatten().min();
    time::arm(deadline);
}

/// Nothing to run: sleeps until an interrupt or the soonest deadline.
fn idle() {
    let sleeper = read_tables(|t| t.sleepers.first().map(|&(deadline, _)| deadline));
    // A device without an interrupt is looked at again this soon.
    let poll = crate::channel::poll_interval_ns().map(|ns| time::monotonic_ns() + ns);
    let deadline = [sleeper, super::timer::next_deadline(), poll]
        .into_iter()
        .flatten()
        .min();
    match deadline {
        Some(deadline) => time::wait_until(deadline),
        None => cpu::wait_for_interrupt(),
    }
}

/// Acts on what interrupts and the clock announce: console input wakes
/// its readers, passed deadlines wake their sleepers, alarms fire.
pub fn service_events() {
    let pending = irq::take_pending();
    if pending & irq::TIMER_BIT != 0 {
        time::timer_fired();
    }
    if pending & irq::CONSOLE_BIT != 0 {
        crate::console::poll_input();
    }
    if crate::channel::wants_service(pending) {
        crate::channel::service();
    }
    let now = time::monotonic_ns();
    let expired: alloc::vec::Vec<Tid> = with_tables(|t| {
        let mut expired = alloc::vec::Vec::new();
        while let Some(&(deadline, tid)) = t.sleepers.first() {
            if deadline > now {
                break;
            }
            t.sleepers.pop_first();
            expired.push(tid);
        }
        expired
    });
    for tid in expired {
        with_tables(|t| {
            if let Some(task) = t.tasks.get_mut(&tid) {
                if task.state == State::Blocked {
                    task.state = State::Runnable;
                    t.run_queue.push_back(tid);
                }
            }
        });
    }
    super::timer::fire(now);
}
