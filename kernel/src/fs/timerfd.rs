//! timerfd: a timer as an open file (`timerfd_create(2)`). It is one of
//! the kernel's timers (`crate::task::timer`); each expiry adds to a
//! count that a read takes (8 bytes), EAGAIN while it is zero (the system
//! call layer then waits on the file's queue). `POLLIN` while the count
//! is above zero.

use alloc::sync::{Arc, Weak};
use lamina_abi::errno::Errno;
use lamina_abi::flags::POLLIN;
use lamina_abi::types::Stat;
use spin::Mutex;

use super::file::FileObject;
use crate::task::timer::{self, TimerId};
use crate::task::wait::WaitQueue;
use crate::time;

pub const LINK: &[u8] = b"anon_inode:[timerfd]";
const COUNT_LEN: usize = 8;

/// The clock a timer's times are given on. Every one runs at the
/// monotonic clock's rate (lamina's guest never suspends, so BOOTTIME is
/// MONOTONIC); REALTIME differs by a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallClock {
    Realtime,
    Monotonic,
}

impl WallClock {
    /// An absolute time on this clock as a monotonic deadline (a time
    /// before the kernel started is due at once).
    pub fn to_monotonic(self, at_ns: u64) -> u64 {
        match self {
            WallClock::Realtime => at_ns.saturating_sub(time::realtime_offset_ns()),
            WallClock::Monotonic => at_ns,
        }
    }
}

#[derive(Default)]
struct State {
    /// The next expiry (monotonic ns), None while disarmed.
    deadline: Option<u64>,
    interval_ns: u64,
    /// Expirations not yet read.
    expirations: u64,
}

pub struct TimerFd {
    this: Weak<TimerFd>,
    id: TimerId,
    clock: WallClock,
    state: Mutex<State>,
    queue: WaitQueue,
    ino: u64,
}

impl TimerFd {
    pub fn new(clock: WallClock) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            this: this.clone(),
            id: timer::new_id(),
            clock,
            state: Mutex::new(State::default()),
            queue: WaitQueue::new(),
            ino: super::vfs::next_ino(),
        })
    }

    /// The (interval, time left) `timerfd_gettime` reports; zeros while
    /// disarmed.
    pub fn get(&self) -> (u64, u64) {
        let state = self.state.lock();
        let left = state.deadline.map_or(0, |deadline| {
            deadline.saturating_sub(time::monotonic_ns()).max(1)
        });
        (state.interval_ns, left)
    }

    /// `timerfd_settime`: `value_ns` 0 disarms; else the first expiry
    /// after `value_ns` (or at it, `absolute`, on the file's clock), then
    /// every `interval_ns`. Unread expirations are dropped, as Linux does.
    /// Returns the previous setting as [`TimerFd::get`] would.
    pub fn set(&self, absolute: bool, interval_ns: u64, value_ns: u64) -> (u64, u64) {
        let old = self.get();
        let mut state = self.state.lock();
        if let Some(deadline) = state.deadline.take() {
            timer::disarm(self.id, deadline);
        }
        state.expirations = 0;
        state.interval_ns = interval_ns;
        if value_ns != 0 {
            let deadline = if absolute {
                self.clock.to_monotonic(value_ns)
            } else {
                time::monotonic_ns().saturating_add(value_ns)
            };
            state.deadline = Some(deadline);
            let target: Weak<dyn timer::Expire> = self.this.clone();
            timer::arm(self.id, deadline, target);
        }
        old
    }
}

impl timer::Expire for TimerFd {
    fn expire(&self, deadline: u64, now: u64) -> Option<u64> {
        let next = {
            let mut state = self.state.lock();
            if state.deadline != Some(deadline) {
                return None;
            }
            let (count, next) = timer::periods(deadline, state.interval_ns, now);
            state.expirations = state.expirations.saturating_add(count);
            state.deadline = next;
            next
        };
        self.queue.wake_all();
        next
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        if let Some(deadline) = self.state.get_mut().deadline {
            timer::disarm(self.id, deadline);
        }
    }
}

impl FileObject for TimerFd {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < COUNT_LEN {
            return Err(Errno::EINVAL);
        }
        let count = core::mem::take(&mut self.state.lock().expirations);
        if count == 0 {
            return Err(Errno::EAGAIN);
        }
        buf[..COUNT_LEN].copy_from_slice(&count.to_le_bytes());
        Ok(COUNT_LEN)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::eventfd::anon_stat(self.ino))
    }

    fn poll(&self, events: u16) -> u16 {
        if self.state.lock().expirations > 0 {
            events & POLLIN
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
