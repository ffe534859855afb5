//! Blocking: the one way the kernel waits for an event (console input, a
//! device's completion, a deadline). The CPU sleeps in `hlt` between
//! checks; an interrupt (the event's own, or the timer bounding a
//! deadline) ends each sleep.

use crate::arch::cpu;
use crate::time;

/// Waits until `ready()` holds (true) or the monotonic clock reaches
/// `deadline_ns` (false). `ready` is checked first, so a condition that
/// already holds costs no sleep.
pub fn block_until(deadline_ns: Option<u64>, mut ready: impl FnMut() -> bool) -> bool {
    loop {
        if ready() {
            return true;
        }
        match deadline_ns {
            None => cpu::wait_for_interrupt(),
            Some(deadline) if time::monotonic_ns() >= deadline => return false,
            Some(deadline) => time::wait_until(deadline),
        }
    }
}

/// Sleeps until `deadline_ns` of the monotonic clock.
pub fn sleep_until(deadline_ns: u64) {
    block_until(Some(deadline_ns), || false);
}
