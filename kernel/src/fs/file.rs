//! Open files: the one interface behind every descriptor.
//!
//! A descriptor refers to an [`OpenFile`] (Linux's "open file
//! description"): the object opened plus the state `dup` and, later, `fork`
//! share, the offset and the status flags. The object itself (a console
//! stream, a 9P file, a tmpfs node, a pipe, a socket) implements
//! [`FileObject`]; generic code never asks what kind of object it holds.

use alloc::sync::Arc;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, POLLHUP, POLLIN};
use lamina_abi::types::Stat;
use spin::Mutex;

use crate::mm::vm::AddressSpace;

/// What an object can do. Every method has the answer Linux gives for an
/// object that cannot do it, so each object implements only its own.
pub trait FileObject: Send + Sync {
    /// Reads at `offset` (ignored by streams). `Err(EAGAIN)` means no data
    /// yet: the caller waits for [`FileObject::poll`] to report `POLLIN`
    /// unless the file is non-blocking.
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Writes at `offset` (ignored by streams).
    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Whether the object has positions (`lseek`, `pread`): false for
    /// streams, which fail those with `ESPIPE`.
    fn seekable(&self) -> bool {
        false
    }

    /// The object's size, for `lseek(SEEK_END)`.
    fn size(&self) -> Result<u64, Errno> {
        Ok(self.stat()?.st_size.max(0) as u64)
    }

    fn stat(&self) -> Result<Stat, Errno>;

    /// Device-specific requests; `mm` is the caller's memory for the
    /// argument.
    fn ioctl(&self, _request: u64, _arg: u64, _mm: &mut AddressSpace) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }

    /// Which of `events` (`POLL*`) hold now, plus `POLLHUP`/`POLLERR`,
    /// which hold whatever was asked.
    fn poll(&self, events: u16) -> u16;
}

/// An open file description: shared by every descriptor `dup` makes.
pub struct OpenFile {
    pub object: Arc<dyn FileObject>,
    /// Access mode and status flags (`O_*`), as `fcntl(F_GETFL)` shows them.
    status: Mutex<u32>,
    offset: Mutex<u64>,
}

impl core::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenFile")
            .field("status", &*self.status.lock())
            .field("offset", &*self.offset.lock())
            .finish_non_exhaustive()
    }
}

impl OpenFile {
    pub fn new(object: Arc<dyn FileObject>, status: u32) -> Arc<Self> {
        Arc::new(Self {
            object,
            status: Mutex::new(status),
            offset: Mutex::new(0),
        })
    }

    pub fn status(&self) -> u32 {
        *self.status.lock()
    }

    /// Replaces the flags in `settable` with those of `flags`.
    pub fn set_status(&self, settable: u32, flags: u32) {
        let mut status = self.status.lock();
        *status = (*status & !settable) | (flags & settable);
    }

    pub fn readable(&self) -> bool {
        matches!(self.status() & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn writable(&self) -> bool {
        matches!(self.status() & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// `read(2)`: at the shared offset, waiting for a stream's data unless
    /// the file is non-blocking.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        let n = self.read_waiting(*offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    /// `pread(2)`: at `offset`, leaving the shared one alone.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.object.seekable() {
            return Err(Errno::ESPIPE);
        }
        self.read_waiting(offset, buf)
    }

    fn read_waiting(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            match self.object.read(offset, buf) {
                Err(Errno::EAGAIN) if self.status() & O_NONBLOCK == 0 => {
                    crate::task::wait::block_until(None, || {
                        self.object.poll(POLLIN) & (POLLIN | POLLHUP) != 0
                    });
                }
                result => return result,
            }
        }
    }

    /// `write(2)` at the shared offset.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        let n = self.object.write(*offset, data)?;
        *offset += n as u64;
        Ok(n)
    }

    /// `pwrite(2)`: at `offset`, leaving the shared one alone.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.object.seekable() {
            return Err(Errno::ESPIPE);
        }
        self.object.write(offset, data)
    }

    /// `lseek(2)`: `whence` is SEEK_SET, SEEK_CUR or SEEK_END.
    pub fn seek(&self, delta: i64, whence: u64) -> Result<u64, Errno> {
        use lamina_abi::flags::{SEEK_CUR, SEEK_END, SEEK_SET};
        if !self.object.seekable() {
            return Err(Errno::ESPIPE);
        }
        let mut offset = self.offset.lock();
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *offset,
            SEEK_END => self.object.size()?,
            _ => return Err(Errno::EINVAL),
        };
        let target = base.checked_add_signed(delta).ok_or(Errno::EINVAL)?;
        if target > i64::MAX as u64 {
            return Err(Errno::EOVERFLOW);
        }
        *offset = target;
        Ok(target)
    }
}
