//! Pipes: a 64 KiB ring buffer (Linux's default capacity) in guest frames,
//! with a read end and a write end as open-file objects.
//!
//! Reads and writes never wait here: an empty pipe (with a writer) or a
//! full one answers EAGAIN and the system call layer waits on the pipe's
//! queue (`crate::task::wait`), which every read, write and close wakes.
//! A write of at most `PIPE_BUF` bytes goes in whole or not at all.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::Stat;
use spin::Mutex;

use super::file::FileObject;
use crate::arch::phys::PAGE_SIZE;
use crate::mm::ring::Ring;
use crate::task::wait::WaitQueue;

/// Linux's default pipe capacity (16 pages).
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
const PIPE_MODE: u32 = S_IFIFO | 0o600;
/// The pipe file system's device number, as on a Linux host.
const PIPE_DEV: u64 = 0xd;

/// One pipe, shared by its two ends.
pub struct Pipe {
    ring: Mutex<Ring>,
    /// Open read ends and write ends (a FIFO has any number of each).
    reader: AtomicUsize,
    writer: AtomicUsize,
    /// Readers, writers and pollers wait here.
    queue: WaitQueue,
    ino: u64,
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
}

/// A new pipe's (read end, write end).
pub fn new() -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = unopened(super::vfs::next_ino());
    (PipeEnd::open(&pipe, false), PipeEnd::open(&pipe, true))
}

/// A pipe with no ends yet (a FIFO's, whose opens add them); `ino` is the
/// number `fstat` shows.
pub fn unopened(ino: u64) -> Arc<Pipe> {
    Arc::new(Pipe {
        ring: Mutex::new(Ring::new(PIPE_CAPACITY)),
        reader: AtomicUsize::new(0),
        writer: AtomicUsize::new(0),
        queue: WaitQueue::new(),
        ino,
    })
}

impl Pipe {
    /// How many read ends are open.
    pub fn readers(&self) -> usize {
        self.reader.load(Ordering::Relaxed)
    }

    /// How many write ends are open.
    pub fn writers(&self) -> usize {
        self.writer.load(Ordering::Relaxed)
    }

    /// Counts (`add`) or stops counting an end to come: a FIFO's open
    /// waiting for the other side counts as an end, as on Linux, so that
    /// the other side neither waits nor sees end of file meanwhile.
    pub fn count_pending(&self, write: bool, add: bool) {
        let count = if write { &self.writer } else { &self.reader };
        if add {
            count.fetch_add(1, Ordering::Relaxed);
        } else {
            count.fetch_sub(1, Ordering::Relaxed);
        }
        self.queue.wake_all();
    }
}

/// What splice and tee need of a pipe besides read and write: its bytes
/// without taking them, and its room.
impl PipeEnd {
    /// A new read (or write) end of `pipe`.
    pub fn open(pipe: &Arc<Pipe>, write: bool) -> Arc<Self> {
        let count = if write { &pipe.writer } else { &pipe.reader };
        count.fetch_add(1, Ordering::Relaxed);
        pipe.queue.wake_all();
        Arc::new(Self {
            pipe: Arc::clone(pipe),
            write,
        })
    }

    pub fn is_write_end(&self) -> bool {
        self.write
    }

    /// Whether `other` is an end of the same pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.pipe, &other.pipe)
    }

    /// Copies up to `buf.len()` bytes from the head, leaving them there.
    pub fn peek(&self, buf: &mut [u8]) -> usize {
        self.pipe.ring.lock().peek(0, buf)
    }

    /// Drops `n` bytes from the head (after a [`PipeEnd::peek`] whose
    /// bytes went elsewhere) and wakes the writers.
    pub fn consume(&self, n: usize) {
        self.pipe.ring.lock().discard(n);
        self.pipe.queue.wake_all();
    }

    pub fn room(&self) -> usize {
        self.pipe.ring.lock().room()
    }

    pub fn is_empty(&self) -> bool {
        self.pipe.ring.lock().is_empty()
    }

    /// Whether the other end is still open somewhere.
    pub fn peer_open(&self) -> bool {
        let peer = if self.write {
            &self.pipe.reader
        } else {
            &self.pipe.writer
        };
        peer.load(Ordering::Relaxed) > 0
    }
}

impl Drop for PipeEnd {
    /// The last descriptor of this end is closed: the other side sees EOF
    /// (or EPIPE), and whoever waits on the pipe re-checks.
    fn drop(&mut self) {
        let flag = if self.write {
            &self.pipe.writer
        } else {
            &self.pipe.reader
        };
        flag.fetch_sub(1, Ordering::Relaxed);
        self.pipe.queue.wake_all();
    }
}

impl FileObject for PipeEnd {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.write {
            return Err(Errno::EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.pipe.ring.lock().pop(buf);
        if n > 0 {
            self.pipe.queue.wake_all();
            return Ok(n);
        }
        if self.pipe.writers() > 0 {
            Err(Errno::EAGAIN)
        } else {
            Ok(0)
        }
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        if self.pipe.readers() == 0 {
            return Err(Errno::EPIPE);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let n = {
            let mut ring = self.pipe.ring.lock();
            let room = ring.room();
            if room == 0 || (data.len() <= PIPE_BUF && room < data.len()) {
                return Err(Errno::EAGAIN);
            }
            let n = room.min(data.len());
            ring.push(&data[..n])?;
            n
        };
        self.pipe.queue.wake_all();
        Ok(n)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            st_dev: PIPE_DEV,
            st_ino: self.pipe.ino,
            st_nlink: 1,
            st_mode: PIPE_MODE,
            st_blksize: PAGE_SIZE as i64,
            ..Stat::default()
        })
    }

    fn ioctl(
        &self,
        request: u64,
        arg: u64,
        mm: &mut crate::mm::vm::AddressSpace,
    ) -> Result<u64, Errno> {
        match request {
            FIONREAD => {
                let waiting = self.pipe.ring.lock().len() as u32;
                mm.copy_out(arg, &waiting.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, events: u16) -> u16 {
        let len = self.pipe.ring.lock().len();
        if self.write {
            let mut revents = 0;
            if self.pipe.readers() == 0 {
                revents |= POLLERR;
            }
            if PIPE_CAPACITY - len >= PIPE_BUF {
                revents |= events & POLLOUT;
            }
            revents
        } else {
            let mut revents = 0;
            if len > 0 {
                revents |= events & POLLIN;
            }
            if self.pipe.writers() == 0 {
                revents |= POLLHUP;
            }
            revents
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    fn pipe_capacity(&self) -> Option<usize> {
        Some(PIPE_CAPACITY)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
