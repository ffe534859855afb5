//! Open files: the one interface behind every descriptor.
//!
//! A descriptor refers to an [`OpenFile`] (Linux's "open file
//! description"): the object opened plus the state `dup` and, later, `fork`
//! share, the offset and the status flags. The object itself (a console
//! stream, a 9P file, a tmpfs node, a pipe, a socket) implements
//! [`FileObject`]; generic code never asks what kind of object it holds.

use alloc::sync::Arc;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_WRONLY};
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

    /// Reads up to `len` bytes at `offset` (a seekable object), handing
    /// them to `sink` piece by piece: an object that has the bytes in a
    /// buffer of its own (a 9P reply in the device's DMA buffer) passes
    /// them on without a copy. A `sink` error stops the read: the bytes
    /// before it count. The default reads into a bounce buffer.
    fn read_into(
        &self,
        offset: u64,
        len: usize,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        bounced(len, &mut |done, buf| {
            let n = self.read(offset + done as u64, buf)?;
            sink(&buf[..n]).map(|()| n)
        })
    }

    /// Writes at `offset` (ignored by streams).
    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Writes `len` bytes at `offset` (a seekable object), which `fill`
    /// puts into the room it is given, piece by piece: an object that sends
    /// them from a buffer of its own (a 9P request in the device's DMA
    /// buffer) has them written there directly. A `fill` error stops the
    /// write: the bytes before it count. The default fills a bounce buffer.
    fn write_from(
        &self,
        offset: u64,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        bounced(len, &mut |done, buf| {
            fill(buf)?;
            self.write(offset + done as u64, buf)
        })
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

    /// Where a task waits for this object's readiness to change (data,
    /// room, hang-up); None for an object that is always ready.
    fn wait_queue(&self) -> Option<&crate::task::wait::WaitQueue> {
        None
    }

    /// The socket this object is (the socket calls); None for anything
    /// else, which they answer with ENOTSOCK.
    fn as_socket(&self) -> Option<&crate::net::Socket> {
        None
    }

    /// A pipe's capacity (`F_GETPIPE_SZ`); None for anything else.
    fn pipe_capacity(&self) -> Option<usize> {
        None
    }

    /// The object as `Any`, for the calls that work on one kind only
    /// (`epoll_ctl` on an epoll instance); None for the others.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }

    /// Directory entries from `cursor` on, until `sink` returns false
    /// (`getdents64`).
    fn read_dir(
        &self,
        _cursor: u64,
        _sink: &mut dyn FnMut(super::vfs::DirEntry) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    /// The node the object was opened from, if it has one (`fchdir`,
    /// `fchmod`, `fstatfs`, `*at` calls on a descriptor).
    fn node(&self) -> Option<super::vfs::NodeRef> {
        None
    }

    /// Makes written data durable (`fsync`).
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }
}

/// One piece of a [`bounced`] transfer.
type BounceStep<'a> = dyn FnMut(usize, &mut [u8]) -> Result<usize, Errno> + 'a;

/// Moves `len` bytes through a bounce buffer, a piece at a time: `step`
/// gets the bytes done so far and the piece's room, and returns how many it
/// moved. A short piece ends the transfer; an error after some bytes ends
/// it with those bytes (the defaults of `read_into` and `write_from`).
fn bounced(len: usize, step: &mut BounceStep<'_>) -> Result<usize, Errno> {
    const BOUNCE: usize = 64 << 10;
    let mut buf = alloc::vec![0u8; len.min(BOUNCE)];
    let mut done = 0;
    while done < len {
        let want = (len - done).min(buf.len());
        match step(done, &mut buf[..want]) {
            Ok(n) => {
                done += n;
                if n < want {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// An open file description: shared by every descriptor `dup` makes.
pub struct OpenFile {
    pub object: Arc<dyn FileObject>,
    /// The canonical path it was opened by (empty for the console
    /// streams), for `*at` calls relative to it and /proc/self/fd.
    pub path: alloc::vec::Vec<u8>,
    /// Access mode and status flags (`O_*`), as `fcntl(F_GETFL)` shows them.
    status: Mutex<u32>,
    offset: Mutex<u64>,
    /// For a directory: None while its own entries are being listed, then
    /// the index of the next mount point to list (see `read_dir`).
    mounts_next: Mutex<Option<u64>>,
    /// Where `O_ASYNC` signals go (`F_SETOWN`); none at first.
    owner: Mutex<Owner>,
}

/// The owner of an open file (`struct f_owner_ex`): the target of its
/// `O_ASYNC` signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// `F_OWNER_TID`, `F_OWNER_PID` or `F_OWNER_PGRP`.
    pub kind: i32,
    /// 0: no owner.
    pub id: crate::task::Tid,
}

impl Default for Owner {
    fn default() -> Self {
        Self {
            kind: lamina_abi::flags::F_OWNER_PID,
            id: 0,
        }
    }
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
        Self::with_path(object, status, alloc::vec::Vec::new())
    }

    pub fn with_path(
        object: Arc<dyn FileObject>,
        status: u32,
        path: alloc::vec::Vec<u8>,
    ) -> Arc<Self> {
        Arc::new(Self {
            object,
            path,
            status: Mutex::new(status),
            offset: Mutex::new(0),
            mounts_next: Mutex::new(None),
            owner: Mutex::new(Owner::default()),
        })
    }

    /// `getdents64`: entries from the shared offset (a cursor) on, as long
    /// as `sink` takes them; the offset moves past each one taken. After
    /// the directory's own entries come the mount points right below it
    /// that its file system does not have (a `--rootfs` without `dev`,
    /// `proc` or `tmp` still lists them); which of those is next is kept
    /// apart from the offset, whose values are the file system's own
    /// cookies (any 64-bit value for 9P).
    pub fn read_dir(
        &self,
        sink: &mut dyn FnMut(&super::vfs::DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let mut offset = self.offset.lock();
        let mut mounts_next = self.mounts_next.lock();
        if mounts_next.is_none() {
            let mut cursor = *offset;
            let mut refused = false;
            self.object.read_dir(cursor, &mut |entry| {
                let taken = sink(&entry);
                if taken {
                    cursor = entry.next;
                } else {
                    refused = true;
                }
                taken
            })?;
            *offset = cursor;
            if refused {
                return Ok(());
            }
            *mounts_next = Some(0);
        }
        let Some(dir) = self.object.node() else {
            return Ok(());
        };
        let missing = super::vfs::mount_points_below(&self.path)
            .into_iter()
            .filter(|(name, _)| dir.lookup(name, &super::vfs::NoProcess).is_err());
        let first = mounts_next.unwrap_or(0);
        for (index, (name, root)) in missing.enumerate().skip(first as usize) {
            let entry = super::vfs::DirEntry {
                ino: root.stat().map(|s| s.st_ino).unwrap_or(1),
                kind: lamina_abi::dirent::DT_DIR,
                // Resuming here goes on past the directory's own entries.
                next: *offset,
                name,
            };
            if !sink(&entry) {
                break;
            }
            *mounts_next = Some(index as u64 + 1);
        }
        Ok(())
    }

    pub fn status(&self) -> u32 {
        *self.status.lock()
    }

    /// Replaces the flags in `settable` with those of `flags`.
    pub fn set_status(&self, settable: u32, flags: u32) {
        let mut status = self.status.lock();
        *status = (*status & !settable) | (flags & settable);
    }

    pub fn owner(&self) -> Owner {
        *self.owner.lock()
    }

    pub fn set_owner(&self, owner: Owner) {
        *self.owner.lock() = owner;
    }

    /// Turns `O_ASYNC` on or off and (un)registers the file with its
    /// object's events; EINVAL-free like Linux: an object with no events (a
    /// regular file) keeps the flag and never signals.
    pub fn set_async(self: &Arc<Self>, on: bool) {
        use lamina_abi::flags::O_ASYNC;
        self.set_status(O_ASYNC, if on { O_ASYNC } else { 0 });
        if let Some(queue) = self.object.wait_queue() {
            queue.set_async(self, on);
        }
    }

    /// An event on the object: SIGIO to the owner, if `O_ASYNC` is on and
    /// there is one. A thread owner (`F_OWNER_TID`) gets it through its
    /// process, where any thread that does not block SIGIO takes it.
    pub fn signal_owner(&self) {
        use crate::task::signal::{send_to_process, Info};
        use lamina_abi::flags::{F_OWNER_PGRP, O_ASYNC, SIGIO};
        let owner = self.owner();
        if self.status() & O_ASYNC == 0 || owner.id == 0 {
            return;
        }
        let info = Info {
            code: lamina_abi::signal::SI_KERNEL,
            ..Info::default()
        };
        let targets = if owner.kind == F_OWNER_PGRP {
            crate::task::with_tables(|t| t.group_members(owner.id))
        } else {
            let pid = crate::task::with_tables(|t| t.tasks.get(&owner.id).map(|task| task.pid()));
            alloc::vec![pid.unwrap_or(owner.id)]
        };
        for pid in targets {
            let _ = send_to_process(pid, SIGIO as u8, info, None);
        }
    }

    pub fn readable(&self) -> bool {
        let status = self.status();
        status & O_PATH == 0 && matches!(status & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let status = self.status();
        status & O_PATH == 0 && matches!(status & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// The shared offset.
    pub fn offset(&self) -> u64 {
        *self.offset.lock()
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
        self.was_read(n);
        Ok(n)
    }

    /// Reports a read of `n` bytes to inotify watches.
    fn was_read(&self, n: usize) {
        if n > 0 {
            super::inotify::accessed(&self.path, false);
        }
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

    /// `read(2)` or `pread(2)` (`at`) of a seekable object into `sink`
    /// (see [`FileObject::read_into`]); the shared offset moves past the
    /// bytes delivered.
    pub fn read_seekable(
        &self,
        at: Option<u64>,
        len: usize,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        match at {
            Some(offset) => self.object.read_into(offset, len, sink),
            None => {
                let mut offset = self.offset.lock();
                let n = self.object.read_into(*offset, len, sink)?;
                *offset += n as u64;
                Ok(n)
            }
        }
        .inspect(|&n| self.was_read(n))
    }

    /// A read that finds nothing yet answers EAGAIN whether or not the
    /// file is non-blocking: the system call layer decides to wait (see
    /// [`OpenFile::blocks`]).
    fn read_waiting(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.object.read(offset, buf)
    }

    /// Whether an EAGAIN from this file means "wait" (not O_NONBLOCK, and
    /// the object has a queue to wait on).
    pub fn blocks(&self) -> bool {
        self.status() & O_NONBLOCK == 0 && self.object.wait_queue().is_some()
    }

    /// `write(2)` at the shared offset.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        if self.status() & O_APPEND != 0 && self.object.seekable() {
            *offset = self.object.size()?;
        }
        let n = self.object.write(*offset, data)?;
        *offset += n as u64;
        self.wrote(n);
        Ok(n)
    }

    /// Reports a write of `n` bytes to inotify watches.
    fn wrote(&self, n: usize) {
        if n > 0 {
            super::inotify::modified(&self.path);
        }
    }

    /// `write(2)` or `pwrite(2)` (`at`) of a seekable object from `fill`
    /// (see [`FileObject::write_from`]); the shared offset moves past the
    /// bytes written, and O_APPEND writes at the end.
    pub fn write_seekable(
        &self,
        at: Option<u64>,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        match at {
            // Linux's pwrite on an O_APPEND file appends all the same.
            Some(_) if self.status() & O_APPEND != 0 => {
                let end = self.object.size()?;
                self.object.write_from(end, len, fill)
            }
            Some(offset) => self.object.write_from(offset, len, fill),
            None => {
                let mut offset = self.offset.lock();
                if self.status() & O_APPEND != 0 {
                    *offset = self.object.size()?;
                }
                let n = self.object.write_from(*offset, len, fill)?;
                *offset += n as u64;
                Ok(n)
            }
        }
        .inspect(|&n| self.wrote(n))
    }

    /// `pwrite(2)`: at `offset`, leaving the shared one alone.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.object.seekable() {
            return Err(Errno::ESPIPE);
        }
        // No inotify report: this is how shared mappings write back,
        // which Linux does not report.
        self.object.write(offset, data)
    }

    /// `lseek(2)`: `whence` is SEEK_SET, SEEK_CUR or SEEK_END.
    pub fn seek(&self, delta: i64, whence: u64) -> Result<u64, Errno> {
        use lamina_abi::flags::{SEEK_CUR, SEEK_END, SEEK_SET};
        if !self.object.seekable() {
            return Err(Errno::ESPIPE);
        }
        let mut offset = self.offset.lock();
        // Any seek of a directory starts its listing over from there.
        *self.mounts_next.lock() = None;
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

impl Drop for OpenFile {
    /// The last descriptor is closed: inotify watches hear of it.
    fn drop(&mut self) {
        if super::inotify::watching() && self.status() & O_PATH == 0 {
            let is_dir = self
                .object
                .node()
                .is_some_and(|node| node.kind() == super::vfs::NodeKind::Directory);
            super::inotify::closed(&self.path, self.writable(), is_dir);
        }
    }
}

/// What `O_PATH` opens: the node, for `*at` calls, `fstat` and `fchdir`,
/// with no I/O.
pub struct PathOnly {
    node: super::vfs::NodeRef,
}

impl PathOnly {
    pub fn open(node: super::vfs::NodeRef) -> Arc<dyn FileObject> {
        Arc::new(Self { node })
    }
}

impl FileObject for PathOnly {
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn poll(&self, _events: u16) -> u16 {
        lamina_abi::flags::POLLNVAL
    }

    fn read_dir(
        &self,
        _cursor: u64,
        _sink: &mut dyn FnMut(super::vfs::DirEntry) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }

    fn node(&self) -> Option<super::vfs::NodeRef> {
        Some(Arc::clone(&self.node))
    }
}
