//! eventfd: a 64-bit counter as an open file (`eventfd2(2)`). A write adds
//! to it, a read takes it (or one, with `EFD_SEMAPHORE`); reading zero or
//! writing past [`EVENTFD_MAX`] answers EAGAIN, and the system call layer
//! waits on the counter's queue (`crate::task::wait`) unless the file is
//! non-blocking. Readiness: `POLLIN` while the counter is above zero,
//! `POLLOUT` while one more can be added.

use alloc::sync::Arc;
use lamina_abi::errno::Errno;
use lamina_abi::fdkinds::EVENTFD_MAX;
use lamina_abi::flags::{POLLIN, POLLOUT};
use lamina_abi::types::Stat;
use spin::Mutex;

use super::file::FileObject;
use crate::task::wait::WaitQueue;

/// The name /proc/PID/fd shows.
pub const LINK: &[u8] = b"anon_inode:[eventfd]";
const COUNTER_LEN: usize = 8;
/// Anonymous inodes' mode on Linux (owner read and write).
pub const ANON_MODE: u32 = 0o600;

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    /// Readers, writers and pollers wait here; every change wakes them.
    queue: WaitQueue,
    ino: u64,
}

impl EventFd {
    pub fn new(initial: u64, semaphore: bool) -> Arc<Self> {
        Arc::new(Self {
            count: Mutex::new(initial),
            semaphore,
            queue: WaitQueue::new(),
            ino: super::vfs::next_ino(),
        })
    }
}

impl FileObject for EventFd {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < COUNTER_LEN {
            return Err(Errno::EINVAL);
        }
        let taken = {
            let mut count = self.count.lock();
            if *count == 0 {
                return Err(Errno::EAGAIN);
            }
            let taken = if self.semaphore { 1 } else { *count };
            *count -= taken;
            taken
        };
        buf[..COUNTER_LEN].copy_from_slice(&taken.to_le_bytes());
        self.queue.wake_all();
        Ok(COUNTER_LEN)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let Some(raw) = data.get(..COUNTER_LEN) else {
            return Err(Errno::EINVAL);
        };
        let add = u64::from_le_bytes(raw.try_into().map_err(|_| Errno::EINVAL)?);
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        {
            let mut count = self.count.lock();
            if EVENTFD_MAX - *count < add {
                return Err(Errno::EAGAIN);
            }
            *count += add;
        }
        if add > 0 {
            self.queue.wake_all();
        }
        Ok(COUNTER_LEN)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(anon_stat(self.ino))
    }

    fn poll(&self, events: u16) -> u16 {
        let count = *self.count.lock();
        let mut revents = 0;
        if count > 0 {
            revents |= POLLIN;
        }
        if count < EVENTFD_MAX {
            revents |= POLLOUT;
        }
        revents & events
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }
}

/// What `fstat` shows of an anonymous-inode file (eventfd, timerfd,
/// signalfd, inotify): Linux's one anon inode file system.
pub fn anon_stat(ino: u64) -> Stat {
    /// The anon_inodefs device number on a Linux host.
    const ANON_INODE_DEV: u64 = 0xe;
    Stat {
        st_dev: ANON_INODE_DEV,
        st_ino: ino,
        st_nlink: 1,
        st_mode: ANON_MODE,
        st_blksize: crate::arch::phys::PAGE_SIZE as i64,
        ..Stat::default()
    }
}
