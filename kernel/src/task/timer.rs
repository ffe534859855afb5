//! Kernel timers: one list of deadlines (monotonic ns) for everything that
//! fires at a time of its own while no task waits for it: a process's
//! `alarm`/`ITIMER_REAL`, timerfds and POSIX timers. (A task that sleeps
//! until a deadline is the scheduler's `sleepers`: it is woken, not
//! fired.)
//!
//! A timer is an object implementing [`Expire`] with an id from
//! [`new_id`]; it arms itself with [`arm`] and disarms with [`disarm`],
//! keeping its own deadline. The scheduler arms the CPU's timer for
//! [`next_deadline`] and calls [`fire`] from its event step, outside any
//! system call, so an expiry may send signals and wake queues. The list
//! holds the objects weakly: a timer that went away without disarming is
//! dropped when its deadline comes.

use alloc::collections::BTreeMap;
use alloc::sync::Weak;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// Names one timer in the list (unique for the kernel's life).
pub type TimerId = u64;

/// What a timer does when its deadline passes.
pub trait Expire: Send + Sync {
    /// `deadline` (the one armed) has passed at `now`: act, and answer
    /// the next deadline to re-arm at (an interval timer), or None.
    fn expire(&self, deadline: u64, now: u64) -> Option<u64>;
}

/// Armed timers: (deadline, id), soonest first.
static TIMERS: Mutex<BTreeMap<(u64, TimerId), Weak<dyn Expire>>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub fn new_id() -> TimerId {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Arms timer `id` to expire at `deadline` (monotonic ns).
pub fn arm(id: TimerId, deadline: u64, target: Weak<dyn Expire>) {
    // The CPU's timer may have to fire sooner.
    super::sched::timer_wish_changed();
    TIMERS.lock().insert((deadline, id), target);
}

/// Takes timer `id`, armed for `deadline`, off the list.
pub fn disarm(id: TimerId, deadline: u64) {
    super::sched::timer_wish_changed();
    TIMERS.lock().remove(&(deadline, id));
}

/// The soonest armed deadline, for the CPU's timer.
pub fn next_deadline() -> Option<u64> {
    TIMERS
        .lock()
        .first_key_value()
        .map(|(&(deadline, _), _)| deadline)
}

/// Expires every timer due at `now`, re-arming those that ask.
pub fn fire(now: u64) {
    loop {
        let due = {
            let mut timers = TIMERS.lock();
            match timers.first_key_value() {
                Some((&(deadline, _), _)) if deadline <= now => timers.pop_first(),
                _ => None,
            }
        };
        let Some(((deadline, id), target)) = due else {
            return;
        };
        let Some(timer) = target.upgrade() else {
            continue;
        };
        if let Some(next) = timer.expire(deadline, now) {
            arm(id, next, target);
        }
    }
}

/// An interval timer armed for `deadline` with period `interval_ns`,
/// seen at `now` (past the deadline): how many periods expired, and the
/// next deadline (after `now`, on the grid of the first one, as Linux's
/// `hrtimer_forward`). A timer with no period expired once.
pub fn periods(deadline: u64, interval_ns: u64, now: u64) -> (u64, Option<u64>) {
    if interval_ns == 0 {
        return (1, None);
    }
    let count = 1 + now.saturating_sub(deadline) / interval_ns;
    let next = deadline.saturating_add(count.saturating_mul(interval_ns));
    (count, Some(next))
}
