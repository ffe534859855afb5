//! POSIX timers (`timer_create(2)`): per-process timers that signal the
//! process or one of its threads (`SIGEV_SIGNAL`, `SIGEV_THREAD_ID`, the
//! way glibc and musl build `SIGEV_THREAD`) or only count
//! (`SIGEV_NONE`), on CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME or
//! CLOCK_PROCESS_CPUTIME_ID. Each is one of the kernel's timers
//! (`super::timer`). A CPU-time timer is looked at when its CPU time
//! could have run out at the earliest (the process cannot use more CPU
//! than wall time on one CPU) and put off again until it has.

use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;
use lamina_abi::signal::SI_TIMER;
use spin::Mutex;

use super::signal::{self, Info};
use super::timer::{self, TimerId};
use super::{Group, Tid};
use crate::fs::timerfd::WallClock;
use crate::time;

/// How soon a CPU-time timer whose time has not run out is looked at
/// again, at the least: a process that sleeps uses no CPU, and the
/// check must not keep the CPU awake for it (Linux checks CPU timers at
/// its tick, every 1-4 ms, too).
const CPU_RECHECK_NS: u64 = 1_000_000;

/// At most this many timers per process (Linux bounds them by
/// RLIMIT_SIGPENDING; EAGAIN beyond).
pub const MAX_TIMERS: usize = 1024;

/// The clock a timer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerClock {
    Wall(WallClock),
    /// The process's user and system time.
    ProcessCpu,
}

/// What an expiry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// `SIGEV_NONE`: nothing; `timer_gettime` shows the time left.
    None,
    /// `SIGEV_SIGNAL`: the signal to the process.
    Process(u8),
    /// `SIGEV_THREAD_ID`: the signal to one thread.
    Thread(u8, Tid),
}

#[derive(Debug, Default)]
struct State {
    /// The next expiry on the timer's clock (monotonic ns for the wall
    /// clocks, the process's CPU ns for a CPU-time timer).
    expiry: Option<u64>,
    /// The deadline it has in the kernel's timer list.
    armed: Option<u64>,
    interval_ns: u64,
    /// The overrun count of the last signal sent (`timer_getoverrun`).
    overrun: i32,
}

#[derive(Debug)]
pub struct PosixTimer {
    this: Weak<PosixTimer>,
    /// The id the process knows it by.
    pub id: i32,
    timer: TimerId,
    pid: Tid,
    group: Weak<Group>,
    clock: TimerClock,
    notify: Notify,
    /// `sigev_value`, handed over with the signal.
    value: u64,
    state: Mutex<State>,
}

/// The CPU time `group` has used (user and system), in ns.
pub fn process_cpu_ns(group: &Group) -> u64 {
    group.user_ns.load(Ordering::Relaxed) + group.system_ns.load(Ordering::Relaxed)
}

impl PosixTimer {
    pub fn new(
        id: i32,
        group: &Arc<Group>,
        clock: TimerClock,
        notify: Notify,
        value: u64,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            this: this.clone(),
            id,
            timer: timer::new_id(),
            pid: group.pid,
            group: Arc::downgrade(group),
            clock,
            notify,
            value,
            state: Mutex::new(State::default()),
        })
    }

    /// The timer's clock now, and the monotonic time.
    fn now(&self) -> (u64, u64) {
        let mono = time::monotonic_ns();
        let clock = match self.clock {
            TimerClock::Wall(_) => mono,
            TimerClock::ProcessCpu => self.group.upgrade().map_or(0, |g| process_cpu_ns(&g)),
        };
        (clock, mono)
    }

    /// Where `expiry` (on the timer's clock) goes in the kernel's list,
    /// seen at (`clock_now`, `mono_now`).
    fn list_deadline(&self, expiry: u64, clock_now: u64, mono_now: u64) -> u64 {
        match self.clock {
            TimerClock::Wall(_) => expiry,
            TimerClock::ProcessCpu => mono_now.saturating_add(expiry.saturating_sub(clock_now)),
        }
    }

    /// (interval, time left) as `timer_gettime` reports them.
    pub fn get(&self) -> (u64, u64) {
        let (clock_now, _) = self.now();
        let state = self.state.lock();
        let left = state
            .expiry
            .map_or(0, |expiry| expiry.saturating_sub(clock_now).max(1));
        (state.interval_ns, left)
    }

    /// `timer_settime`: `value_ns` 0 disarms; `absolute` takes it as a
    /// time on the timer's clock. Returns the previous (interval, left).
    pub fn set(&self, absolute: bool, interval_ns: u64, value_ns: u64) -> (u64, u64) {
        let old = self.get();
        let (clock_now, mono_now) = self.now();
        let mut state = self.state.lock();
        if let Some(armed) = state.armed.take() {
            timer::disarm(self.timer, armed);
        }
        state.expiry = None;
        state.interval_ns = interval_ns;
        state.overrun = 0;
        if value_ns != 0 {
            let expiry = match (absolute, self.clock) {
                (true, TimerClock::Wall(clock)) => clock.to_monotonic(value_ns),
                (true, TimerClock::ProcessCpu) => value_ns,
                (false, _) => clock_now.saturating_add(value_ns),
            };
            let deadline = self.list_deadline(expiry, clock_now, mono_now);
            state.expiry = Some(expiry);
            state.armed = Some(deadline);
            let target: Weak<dyn timer::Expire> = self.this.clone();
            timer::arm(self.timer, deadline, target);
        }
        old
    }

    pub fn overrun(&self) -> i32 {
        self.state.lock().overrun
    }

    /// Sends the expiry's signal, or counts it as an overrun of the one
    /// still queued; false when the target is gone.
    fn signal(&self, sig: u8, thread: Option<Tid>, expirations: u64) -> bool {
        let target = thread.unwrap_or(self.pid);
        if let Some(overrun) = signal::add_timer_overrun(target, sig, self.id, expirations) {
            self.state.lock().overrun = overrun;
            return true;
        }
        let overrun = i32::try_from(expirations - 1).unwrap_or(i32::MAX);
        self.state.lock().overrun = overrun;
        let info = Info {
            code: SI_TIMER,
            value: self.value,
            timer: Some((self.id, overrun)),
            ..Info::default()
        };
        match thread {
            Some(tid) => signal::send_to_thread_from_kernel(tid, sig, info).is_ok(),
            None => signal::send_to_process(self.pid, sig, info, None).is_ok(),
        }
    }
}

impl timer::Expire for PosixTimer {
    fn expire(&self, deadline: u64, now: u64) -> Option<u64> {
        let (clock_now, _) = self.now();
        let expirations = {
            let mut state = self.state.lock();
            if state.armed != Some(deadline) {
                return None;
            }
            let expiry = state.expiry?;
            if clock_now < expiry {
                // A process that is going away uses no more CPU.
                if self.group.upgrade().is_none_or(|g| g.exiting().is_some()) {
                    state.expiry = None;
                    state.armed = None;
                    return None;
                }
                // CPU time not used up yet: look again when it could be.
                let next = self
                    .list_deadline(expiry, clock_now, now)
                    .max(now.saturating_add(CPU_RECHECK_NS));
                state.armed = Some(next);
                return Some(next);
            }
            let (count, next) = timer::periods(expiry, state.interval_ns, clock_now);
            state.expiry = next;
            state.armed = next.map(|expiry| self.list_deadline(expiry, clock_now, now));
            count
        };
        let delivered = match self.notify {
            Notify::None => true,
            Notify::Process(sig) => self.signal(sig, None, expirations),
            Notify::Thread(sig, tid) => self.signal(sig, Some(tid), expirations),
        };
        let mut state = self.state.lock();
        if !delivered {
            // The process or thread is gone: the timer stops.
            state.expiry = None;
            state.armed = None;
        }
        state.armed
    }
}

impl Drop for PosixTimer {
    fn drop(&mut self) {
        if let Some(armed) = self.state.get_mut().armed {
            timer::disarm(self.timer, armed);
        }
    }
}
