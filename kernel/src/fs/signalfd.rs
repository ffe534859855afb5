//! signalfd: pending signals read as a file (`signalfd4(2)`). A read
//! takes the pending signals of the file's mask from the reader (its
//! thread's own, then its process's) as `struct signalfd_siginfo`
//! records: see `crate::syscall::fdkinds::signalfd_read`, which has the
//! reader's task. Waits need no queue of their own: sending a signal
//! wakes every thread of the process, whatever it waits on.
//!
//! Readiness (`POLLIN`) is checked against the polling thread's pending
//! signals, its own and its process's: an object's `poll` does not know
//! who asks, so poll, select and epoll_wait name the thread's own for
//! the length of their check ([`Poller`]).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use lamina_abi::errno::Errno;
use lamina_abi::flags::POLLIN;
use lamina_abi::types::Stat;

use super::file::FileObject;
use crate::task::wait::WaitQueue;

pub const LINK: &[u8] = b"anon_inode:[signalfd]";

pub struct SignalFd {
    /// The signals it reads (never SIGKILL or SIGSTOP).
    mask: AtomicU64,
    /// Readers and pollers register here; signals wake them directly.
    queue: WaitQueue,
    ino: u64,
}

impl SignalFd {
    pub fn new(mask: u64) -> Arc<Self> {
        Arc::new(Self {
            mask: AtomicU64::new(mask),
            queue: WaitQueue::new(),
            ino: super::vfs::next_ino(),
        })
    }

    pub fn mask(&self) -> u64 {
        self.mask.load(Ordering::Relaxed)
    }

    /// `signalfd4` on an existing signalfd: its new mask.
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask, Ordering::Relaxed);
        self.queue.wake_all();
    }
}

/// The signals pending for the thread (not its process) whose poll,
/// select or epoll_wait checks readiness now: a check never waits and
/// there is one CPU, so no other thread's check comes between.
static POLLER_PENDING: AtomicU64 = AtomicU64::new(0);

/// A readiness check by one thread, for its length (see
/// [`POLLER_PENDING`]).
pub struct Poller;

impl Poller {
    pub fn checking(thread_pending: u64) -> Self {
        POLLER_PENDING.store(thread_pending, Ordering::Relaxed);
        Poller
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        POLLER_PENDING.store(0, Ordering::Relaxed);
    }
}

/// The signals pending for the process whose thread is on the CPU.
fn current_process_pending() -> u64 {
    crate::task::with_tables(|t| {
        let current = t.current;
        t.procs
            .values()
            .find(|entry| entry.zombie.is_none() && entry.threads.contains(&current))
            .map_or(0, |entry| entry.group.pending.load(Ordering::Relaxed))
    })
}

impl FileObject for SignalFd {
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        // Reads go through `signalfd_read`, which knows the reader.
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::eventfd::anon_stat(self.ino))
    }

    fn poll(&self, events: u16) -> u16 {
        let pending = current_process_pending() | POLLER_PENDING.load(Ordering::Relaxed);
        if pending & self.mask() != 0 {
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
