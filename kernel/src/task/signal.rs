//! Signals: sending, the default actions, delivery to user handlers on the
//! return to user mode, faults, and alarms. A fatal signal and
//! `exit_group` end a process the same way ([`kill_group`]; the threads'
//! end is in `exit.rs`).
//!
//! A signal sent to a process waits in [`Group::pending`], one sent to a
//! thread (tkill, a fault) in [`Task::pending`]. Signals whose action is
//! to do nothing are dropped when sent, as Linux does, so a pending,
//! unblocked signal always has an effect: a handler runs, or the process
//! ends. Stop and continue are simplified: SIGSTOP, SIGTSTP, SIGTTIN and
//! SIGTTOU are ignored, SIGCONT only wakes.

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_proto::frame::ExitStatus;
use spin::Mutex;

use super::{sched, timer, with_tables, Group, Task, Tid};
use crate::arch::user::FpuState;

pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGBUS: u8 = 7;
pub const SIGFPE: u8 = 8;
pub const SIGKILL_: u8 = 9;
pub const SIGSEGV: u8 = 11;
pub const SIGPIPE: u8 = 13;
pub const SIGALRM: u8 = 14;
pub const SIGCHLD: u8 = 17;
pub const SIGCONT: u8 = 18;
pub const SIGSTOP_: u8 = 19;
pub const SIGTSTP: u8 = 20;
pub const SIGTTIN: u8 = 21;
pub const SIGTTOU: u8 = 22;
pub const SIGURG: u8 = 23;
pub const SIGWINCH: u8 = 28;

pub use lamina_abi::signal::{CLD_EXITED, CLD_KILLED, SEGV_MAPERR, SI_KERNEL, SI_TKILL, SI_USER};

pub const fn bit(sig: u8) -> u64 {
    1 << (sig - 1)
}

/// SIGKILL and SIGSTOP cannot be caught, blocked or ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL_) | bit(SIGSTOP_);

/// What a signal does when its action is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Default {
    Ignore,
    Terminate,
    Stop,
}

fn default_action(sig: u8) -> Default {
    match sig {
        SIGCHLD | SIGCONT | SIGURG | SIGWINCH => Default::Ignore,
        SIGSTOP_ | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        _ => Default::Terminate,
    }
}

/// First real-time signal: these queue (each send is delivered), the
/// standard ones below coalesce.
const SIGRTMIN: u8 = 32;

/// What the handler learns about one signal (`siginfo_t`'s fields).
#[derive(Debug, Clone, Copy, Default)]
pub struct Info {
    pub code: i32,
    pub pid: u32,
    pub status: i32,
    pub addr: u64,
    /// `sigqueue`'s value, or a POSIX timer's `sigev_value`.
    pub value: u64,
    /// A POSIX timer's signal (`SI_TIMER`): its id and overrun count.
    pub timer: Option<(i32, i32)>,
}

/// Details of pending signals that carry more than their number.
static INFOS: Mutex<Vec<(Tid, u8, Info)>> = Mutex::new(Vec::new());
/// Bound on [`INFOS`]: a flood of signals keeps the oldest details.
const MAX_INFOS: usize = 4096;

fn remember(target: Tid, sig: u8, info: Info) {
    let mut infos = INFOS.lock();
    if sig < SIGRTMIN {
        infos.retain(|&(t, s, _)| !(t == target && s == sig));
    }
    if infos.len() < MAX_INFOS {
        infos.push((target, sig, info));
    }
}

/// The details of the oldest pending `sig` for `target`, and whether more
/// instances of it wait (a real-time signal sent several times).
pub fn take_info(target: Tid, sig: u8) -> (Info, bool) {
    let mut infos = INFOS.lock();
    let info = match infos.iter().position(|&(t, s, _)| t == target && s == sig) {
        Some(i) => infos.remove(i).2,
        None => Info {
            code: SI_USER,
            ..Info::default()
        },
    };
    let more = infos.iter().any(|&(t, s, _)| t == target && s == sig);
    (info, more)
}

/// Takes the lowest pending signal of `wanted` from `task` (its own
/// first, then its process's), as `rt_sigtimedwait` and a signalfd read
/// do; a real-time signal sent more than once stays pending for the
/// next.
pub fn dequeue(task: &mut Task, wanted: u64) -> Option<(u8, Info)> {
    let own = task.pending & wanted;
    let shared = task.group.pending.load(Ordering::Relaxed) & wanted;
    let (bits, from_own) = if own != 0 {
        (own, true)
    } else if shared != 0 {
        (shared, false)
    } else {
        return None;
    };
    let sig = bits.trailing_zeros() as u8 + 1;
    let target = if from_own { task.tid } else { task.group.pid };
    let (info, more) = take_info(target, sig);
    if !more {
        if from_own {
            task.pending &= !bit(sig);
        } else {
            task.group.pending.fetch_and(!bit(sig), Ordering::Relaxed);
        }
    }
    Some((sig, info))
}

/// Adds `more` overruns to POSIX timer `timer_id`'s signal `sig` still
/// queued for `target` (a process or a thread); false when none is (the
/// timer then sends a new one). Linux counts an expiry while the
/// previous signal waits as an overrun of that signal.
pub fn add_timer_overrun(target: Tid, sig: u8, timer_id: i32, more: u64) -> Option<i32> {
    let mut infos = INFOS.lock();
    let info = infos.iter_mut().find_map(|(t, s, info)| {
        (*t == target && *s == sig && info.timer.is_some_and(|(id, _)| id == timer_id))
            .then_some(info)
    })?;
    let (id, overrun) = info.timer?;
    let overrun = i64::from(overrun)
        .saturating_add(i64::try_from(more).unwrap_or(i64::MAX))
        .min(i64::from(i32::MAX)) as i32;
    info.timer = Some((id, overrun));
    Some(overrun)
}

/// Thread-directed signals sent from the scheduler's event step (a POSIX
/// timer's `SIGEV_THREAD_ID`) to the task on the CPU, which is not in
/// the tables then: it takes them at its next delivery.
static DEFERRED: Mutex<Vec<(Tid, u8)>> = Mutex::new(Vec::new());
static ANY_DEFERRED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Sends `sig` to thread `tid` from outside any task (a timer's expiry);
/// ESRCH when the thread is gone.
pub fn send_to_thread_from_kernel(tid: Tid, sig: u8, info: Info) -> Result<(), Errno> {
    let found = with_tables(|t| {
        if let Some(target) = t.tasks.get(&tid) {
            return Some(Some((
                Arc::clone(&target.group),
                Arc::clone(&target.sigactions),
                target.sigmask,
            )));
        }
        (t.current == tid && tid != 0).then_some(None)
    });
    match found.ok_or(Errno::ESRCH)? {
        Some((group, actions, mask)) => {
            return send_to_tabled_thread(tid, &group, &actions, mask, sig, info);
        }
        None => {
            remember(tid, sig, info);
            let mut deferred = DEFERRED.lock();
            // Pending signals coalesce: one entry per (thread, signal).
            if !deferred.contains(&(tid, sig)) {
                deferred.push((tid, sig));
            }
            ANY_DEFERRED.store(true, Ordering::Relaxed);
        }
    }
    sched::wake(tid);
    Ok(())
}

/// Moves signals deferred for `task` (see [`DEFERRED`]) to its pending set.
fn take_deferred(task: &mut Task) {
    if !ANY_DEFERRED.load(Ordering::Relaxed) {
        return;
    }
    let mut deferred = DEFERRED.lock();
    deferred.retain(|&(tid, sig)| {
        if tid == task.tid {
            task.pending |= bit(sig);
            false
        } else {
            // A thread that went away leaves nothing behind.
            with_tables(|t| t.tasks.contains_key(&tid) || t.current == tid)
        }
    });
    ANY_DEFERRED.store(!deferred.is_empty(), Ordering::Relaxed);
}

/// Whether `sig` sent now would do nothing (ignored, not blocked).
fn dropped_on_send(actions: &super::SigActions, blocked: u64, sig: u8) -> bool {
    let handler = actions[usize::from(sig) - 1].handler;
    let ignored =
        handler == SIG_IGN || (handler == SIG_DFL && default_action(sig) == Default::Ignore);
    ignored && blocked & bit(sig) == 0
}

/// SIGCONT resumes a stopped process whatever its action, and reports it
/// to the parent (`WCONTINUED`, SIGCHLD with CLD_CONTINUED).
fn continue_group(group: &Group, threads: &[Tid]) {
    let stop_bits = bit(SIGSTOP_) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);
    group.pending.fetch_and(!stop_bits, Ordering::Relaxed);
    if group.stopped.swap(false, Ordering::Relaxed) {
        report_to_parent(group.pid, super::StopReport::Continued);
    }
    wake_all(threads);
}

/// Stops the process (SIGSTOP's default action) and tells its parent.
fn stop_group(group: &Group, sig: u8) {
    group.pending.fetch_and(!bit(SIGCONT), Ordering::Relaxed);
    if !group.stopped.swap(true, Ordering::Relaxed) {
        report_to_parent(group.pid, super::StopReport::Stopped(sig));
    }
}

/// Records a stop or continue for the parent's wait and sends it SIGCHLD
/// (unless it asked SA_NOCLDSTOP).
fn report_to_parent(pid: Tid, report: super::StopReport) {
    let parent = with_tables(|t| {
        let entry = t.procs.get_mut(&pid)?;
        entry.report = Some(report);
        let parent = entry.parent;
        let group = Arc::clone(&t.procs.get(&parent)?.group);
        let actions = t
            .procs
            .get(&parent)?
            .threads
            .iter()
            .find_map(|tid| t.tasks.get(tid))
            .map(|task| Arc::clone(&task.sigactions));
        Some((parent, group, actions))
    });
    let Some((parent, group, actions)) = parent else {
        return;
    };
    let nocldstop =
        actions.is_some_and(|a| a.lock()[usize::from(SIGCHLD) - 1].flags & SA_NOCLDSTOP != 0);
    if !nocldstop {
        let (code, status) = match report {
            super::StopReport::Stopped(sig) => (lamina_abi::signal::CLD_STOPPED, i32::from(sig)),
            super::StopReport::Continued => (lamina_abi::signal::CLD_CONTINUED, i32::from(SIGCONT)),
        };
        let info = Info {
            code,
            pid,
            status,
            ..Info::default()
        };
        let _ = send_to_process(parent, SIGCHLD, info, None);
    }
    group.child_events.wake_all();
}

/// Sends `sig` to process `pid`; ESRCH when it does not exist (or is a
/// zombie). `current` is the sender, when it is a task.
pub fn send_to_process(
    pid: Tid,
    sig: u8,
    info: Info,
    current: Option<&mut Task>,
) -> Result<(), Errno> {
    send_to_process_for(pid, sig, info, current).map(|_| ())
}

/// [`send_to_process`], answering whether a handler of the receiver's
/// will run for it (the sender then lets the receiver run first).
pub fn send_to_process_for(
    pid: Tid,
    sig: u8,
    info: Info,
    current: Option<&mut Task>,
) -> Result<bool, Errno> {
    let (group, threads) = with_tables(|t| {
        let entry = t.procs.get(&pid).filter(|e| e.zombie.is_none())?;
        Some((Arc::clone(&entry.group), entry.threads.clone()))
    })
    .ok_or(Errno::ESRCH)?;
    if sig == 0 {
        return Ok(false);
    }
    if sig == SIGKILL_ {
        kill_group(&group, ExitStatus::Signaled(SIGKILL_));
        return Ok(false);
    }
    if sig == SIGCONT {
        continue_group(&group, &threads);
    }
    // The signal actions and the first thread's mask decide whether it is
    // dropped; the running task (not in the tables) answers for itself.
    // (A process whose one thread is on the CPU, seen from an interrupt,
    // has no thread in the tables: delivery then drops what it ignores.)
    let decider = match current {
        Some(task) if task.group.pid == pid => Some((Arc::clone(&task.sigactions), task.sigmask)),
        _ => with_tables(|t| {
            threads
                .iter()
                .find_map(|tid| t.tasks.get(tid))
                .map(|task| (Arc::clone(&task.sigactions), task.sigmask))
        }),
    };
    let mut handled = false;
    if let Some((actions, mask)) = decider {
        let actions = actions.lock();
        if dropped_on_send(&actions, mask, sig) {
            return Ok(false);
        }
        handled = actions[usize::from(sig) - 1].handler > SIG_IGN;
    }
    remember(pid, sig, info);
    group.add_pending(bit(sig));
    wake_all(&threads);
    Ok(handled)
}

/// Sends `sig` to thread `tid` of any process (tkill); the running task
/// sends to itself through its own state.
pub fn send_to_thread(task: &mut Task, tid: Tid, sig: u8, info: Info) -> Result<(), Errno> {
    if tid == task.tid {
        if sig == 0 {
            return Ok(());
        }
        if sig == SIGKILL_ {
            kill_group(&task.group, ExitStatus::Signaled(SIGKILL_));
            return Ok(());
        }
        if !dropped_on_send(&task.sigactions.lock(), task.sigmask, sig) {
            remember(tid, sig, info);
            task.pending |= bit(sig);
        }
        return Ok(());
    }
    let found = with_tables(|t| {
        let target = t.tasks.get_mut(&tid)?;
        Some((
            Arc::clone(&target.group),
            Arc::clone(&target.sigactions),
            target.sigmask,
        ))
    });
    let (group, actions, mask) = found.ok_or(Errno::ESRCH)?;
    if sig == 0 {
        return Ok(());
    }
    send_to_tabled_thread(tid, &group, &actions, mask, sig, info)
}

/// Sends `sig` to thread `tid`, off the CPU in the tables, whose process,
/// actions and mask the caller looked up: SIGKILL ends the process, a
/// signal its action ignores is dropped, anything else is pending on the
/// thread, which wakes.
fn send_to_tabled_thread(
    tid: Tid,
    group: &Arc<Group>,
    actions: &Mutex<super::SigActions>,
    mask: u64,
    sig: u8,
    info: Info,
) -> Result<(), Errno> {
    if sig == SIGKILL_ {
        kill_group(group, ExitStatus::Signaled(SIGKILL_));
        return Ok(());
    }
    if dropped_on_send(&actions.lock(), mask, sig) {
        return Ok(());
    }
    remember(tid, sig, info);
    with_tables(|t| {
        if let Some(target) = t.tasks.get_mut(&tid) {
            target.pending |= bit(sig);
        }
    });
    sched::wake(tid);
    Ok(())
}

pub(super) fn threads_of(pid: Tid) -> Vec<Tid> {
    with_tables(|t| {
        t.procs
            .get(&pid)
            .map(|e| e.threads.clone())
            .unwrap_or_default()
    })
}

fn wake_all(threads: &[Tid]) {
    for &tid in threads {
        sched::wake(tid);
    }
}

/// Ends every thread of `group` with `status` (the first reason wins).
pub fn kill_group(group: &Group, status: ExitStatus) {
    group.begin_exit(status);
    wake_all(&threads_of(group.pid));
}

/// The next deliverable signal: thread-directed first, lowest number
/// first (SIGKILL never waits here: it ends the group when sent).
/// Whether [`deliver`] has anything to do for `task`: a signal it does
/// not block, or a mask to restore after `rt_sigsuspend` (or a signal a
/// timer sent to a running thread: see [`DEFERRED`]).
pub fn has_work(task: &Task) -> bool {
    task.saved_sigmask.is_some()
        || next_signal(task).is_some()
        || ANY_DEFERRED.load(Ordering::Relaxed)
}

fn next_signal(task: &Task) -> Option<(u8, bool)> {
    let own = task.pending & !task.sigmask;
    if own != 0 {
        return Some((own.trailing_zeros() as u8 + 1, true));
    }
    let shared = task.group.pending.load(Ordering::Relaxed) & !task.sigmask;
    (shared != 0).then(|| (shared.trailing_zeros() as u8 + 1, false))
}

/// Whether a signal will interrupt the call `task` is blocked in; if so,
/// sets the call's result: a restart (with `SA_RESTART`, for calls Linux
/// restarts) or EINTR.
pub fn interrupts_call(task: &mut Task) -> bool {
    let Some((sig, _)) = next_signal(task) else {
        return false;
    };
    let action = task.sigactions.lock()[usize::from(sig) - 1];
    let nr = task.ctx.rax;
    if nr == lamina_abi::nr::FUTEX {
        // The wait ends here: off the futex's queue.
        crate::syscall::futex_forget(&task.mem, task.ctx.rdi, task.tid);
    }
    // No handler will run (a stop): the call starts again once the
    // process continues, as Linux restarts it.
    let no_handler = action.handler == SIG_DFL && default_action(sig) != Default::Terminate;
    if no_handler || (action.handler > SIG_IGN && action.flags & SA_RESTART != 0 && restartable(nr))
    {
        // Back to the `syscall` instruction, the number still in rax.
        task.ctx.rip = task.ctx.rip.wrapping_sub(SYSCALL_INSN_LEN);
    } else if task.restart.progress > 0 {
        // A write interrupted part way returns what it wrote.
        task.ctx.rax = task.restart.progress;
    } else {
        report_remaining(task, nr);
        task.ctx.rax = Errno::EINTR.to_return();
    }
    true
}

/// An interrupted relative sleep tells what was left of it (`rem`).
fn report_remaining(task: &mut Task, nr: u64) {
    use lamina_abi::nr;
    const TIMER_ABSTIME: u64 = 1;
    let rem = match nr {
        nr::NANOSLEEP => task.ctx.rsi,
        nr::CLOCK_NANOSLEEP if task.ctx.rsi & TIMER_ABSTIME == 0 => task.ctx.r10,
        _ => 0,
    };
    let Some(deadline) = task.restart.deadline else {
        return;
    };
    if rem == 0 {
        return;
    }
    let left = deadline.saturating_sub(crate::time::monotonic_ns());
    let mut ts = [0u8; 16];
    ts[..8].copy_from_slice(&(left / 1_000_000_000).to_le_bytes());
    ts[8..].copy_from_slice(&(left % 1_000_000_000).to_le_bytes());
    let _ = task.mem.space.lock().copy_out(rem, &ts);
}

const SYSCALL_INSN_LEN: u64 = 2;

/// Calls that `SA_RESTART` does not restart (Linux returns EINTR from
/// them whatever the flags: sleeps, waits for signals, multiplexing).
fn restartable(nr: u64) -> bool {
    use lamina_abi::nr;
    !matches!(
        nr,
        nr::NANOSLEEP
            | nr::CLOCK_NANOSLEEP
            | nr::POLL
            | nr::PPOLL
            | nr::SELECT
            | nr::PSELECT6
            | nr::PAUSE
            | nr::RT_SIGSUSPEND
            | nr::RT_SIGTIMEDWAIT
            | nr::EPOLL_WAIT
            | nr::EPOLL_PWAIT
            | nr::EPOLL_PWAIT2
    )
}

/// Delivers pending signals before the return to user mode: runs the
/// default action or sets up the handler's frame.
pub fn deliver(task: &mut Task) {
    take_deferred(task);
    loop {
        let Some((sig, own)) = next_signal(task) else {
            if let Some(mask) = task.saved_sigmask.take() {
                task.sigmask = mask;
            }
            return;
        };
        let (info, more) = take_info(if own { task.tid } else { task.group.pid }, sig);
        if !more {
            if own {
                task.pending &= !bit(sig);
            } else {
                task.group.pending.fetch_and(!bit(sig), Ordering::Relaxed);
            }
        }
        let action = {
            let mut actions = task.sigactions.lock();
            let slot = &mut actions[usize::from(sig) - 1];
            let action = *slot;
            if action.handler > SIG_IGN && action.flags & SA_RESETHAND != 0 {
                slot.handler = SIG_DFL;
            }
            action
        };
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL if default_action(sig) == Default::Ignore => continue,
            SIG_DFL if default_action(sig) == Default::Stop => {
                stop_group(&task.group, sig);
                return;
            }
            SIG_DFL => {
                crate::log!("signal: {} ends process {}", sig, task.group.pid);
                kill_group(&task.group, ExitStatus::Signaled(sig));
                return;
            }
            _ => {}
        }
        if super::frame::push(task, sig, &action, &info).is_err() {
            // No room for the frame: as Linux, the process dies of SIGSEGV.
            kill_group(&task.group, ExitStatus::Signaled(SIGSEGV));
        }
        return;
    }
}

/// A CPU exception in user mode: a page fault the address space can
/// satisfy resumes; anything else becomes a signal for the thread, which
/// a handler may catch (if the signal is blocked or ignored, the process
/// dies of it, as Linux forces).
pub fn exception(task: &mut Task, vector: u8, error_code: u64, cr2: u64) {
    const VECTOR_PAGE_FAULT: u8 = 14;
    const PF_WRITE: u64 = 1 << 1;
    const PF_INSTRUCTION: u64 = 1 << 4;
    let sig = if vector == VECTOR_PAGE_FAULT {
        let write = error_code & PF_WRITE != 0;
        let exec = error_code & PF_INSTRUCTION != 0;
        let result = task.mem.space.lock().fault(cr2, write, exec);
        match result {
            Ok(_) => return,
            Err(crate::mm::vm::Fault::Segv) => {
                crate::log!(
                    "process {}: segmentation fault at {:#x} (rip {:#x}, error {:#x})",
                    task.group.pid,
                    cr2,
                    task.ctx.rip,
                    error_code
                );
                SIGSEGV
            }
            Err(crate::mm::vm::Fault::OutOfMemory) => {
                crate::console::log_line(format_args!(
                    "process {}: out of memory at {:#x}; killing it",
                    task.group.pid, cr2
                ));
                kill_group(&task.group, ExitStatus::OutOfMemory);
                return;
            }
        }
    } else {
        let sig = signal_for_exception(vector);
        crate::log!(
            "process {}: {} (vector {}, error {:#x}) at rip {:#x}: signal {}",
            task.group.pid,
            crate::arch::trap::exception_name(u64::from(vector)),
            vector,
            error_code,
            task.ctx.rip,
            sig
        );
        sig
    };
    // A fault inside a region broke its protection; else nothing was there.
    let code = if vector == VECTOR_PAGE_FAULT && task.mem.space.lock().prot_at(cr2).is_some() {
        lamina_abi::signal::SEGV_ACCERR
    } else {
        SEGV_MAPERR
    };
    force(task, sig, code, cr2);
}

/// Sends a fault's signal to the faulting thread; blocked or ignored, it
/// kills the process instead.
fn force(task: &mut Task, sig: u8, code: i32, addr: u64) {
    let handler = task.sigactions.lock()[usize::from(sig) - 1].handler;
    if handler <= SIG_IGN || task.sigmask & bit(sig) != 0 {
        kill_group(&task.group, ExitStatus::Signaled(sig));
        return;
    }
    remember(
        task.tid,
        sig,
        Info {
            code,
            addr,
            ..Info::default()
        },
    );
    task.pending |= bit(sig);
}

/// The signal Linux sends for a CPU exception in user mode.
fn signal_for_exception(vector: u8) -> u8 {
    match vector {
        0 | 7 | 16 | 19 => SIGFPE,
        1 | 3 => SIGTRAP,
        6 => SIGILL,
        12 | 17 => SIGBUS,
        _ => SIGSEGV,
    }
}

/// Sets process `group`'s alarm (`alarm`, `setitimer(ITIMER_REAL)`):
/// None cancels. Returns the old (deadline, interval). The alarm is one
/// of the kernel's timers (`super::timer`), the process its target.
pub fn set_alarm(group: &Arc<Group>, alarm: Option<(u64, u64)>) -> Option<(u64, u64)> {
    let mut slot = group.alarm.lock();
    let old = *slot;
    if let Some((deadline, _)) = old {
        timer::disarm(group.alarm_timer, deadline);
    }
    if let Some((deadline, _)) = alarm {
        let target: Weak<dyn timer::Expire> = Arc::downgrade(group) as Weak<dyn timer::Expire>;
        timer::arm(group.alarm_timer, deadline, target);
    }
    *slot = alarm;
    old
}

impl timer::Expire for Group {
    /// The alarm is due: SIGALRM for the process, re-armed by its
    /// interval (a process gone or a zombie keeps no alarm).
    fn expire(&self, deadline: u64, now: u64) -> Option<u64> {
        let next = {
            let mut slot = self.alarm.lock();
            let (armed, interval) = (*slot)?;
            if armed != deadline {
                return None;
            }
            let (_, next) = timer::periods(deadline, interval, now);
            *slot = next.map(|at| (at, interval));
            next
        };
        let info = Info {
            code: SI_KERNEL,
            ..Info::default()
        };
        if send_to_process(self.pid, SIGALRM, info, None).is_err() {
            *self.alarm.lock() = None;
            return None;
        }
        next
    }
}

/// A handler's `rt_sigreturn` found no valid frame: the process dies of
/// SIGSEGV, as on Linux.
pub fn bad_frame(task: &mut Task) {
    kill_group(&task.group, ExitStatus::Signaled(SIGSEGV));
}

/// The FPU state a new program starts with.
pub fn initial_fpu() -> Box<FpuState> {
    Box::new(FpuState::initial())
}
