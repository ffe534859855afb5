//! I/O on descriptors, through the open-file interface (`crate::fs::file`).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use lamina_abi::args::{check_iovcnt, decode_iovecs};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::Iovec;
use lamina_proto::trace::MissingKind;

use super::SysResult;
use crate::fs::fd::{Entry, MAX_FDS};
use crate::fs::file::{FileObject, OpenFile};
use crate::process::Process;
use crate::task::signal::{self, Info};
use crate::task::wait::block_on;

/// Largest chunk moved per step of a read or write: one 9P message's worth
/// (the kernel's msize), so a large transfer is one request per chunk.
pub(super) const IO_CHUNK: usize = 512 * 1024;

/// Where a transfer happens: the shared offset, or a given one (`pread`).
#[derive(Clone, Copy)]
enum At {
    Shared,
    Offset(u64),
}

fn write_to(p: &mut Process, file: &OpenFile, buf: u64, len: u64, at: At) -> SysResult {
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let len = len as usize;
    if file.object.seekable() && len > 0 {
        // A file takes the bytes straight from the user's buffer.
        let mut done = 0u64;
        let n = file.write_seekable(
            match at {
                At::Shared => None,
                At::Offset(offset) => Some(offset),
            },
            len,
            &mut |room| {
                p.mm.copy_in(buf + done, room)?;
                done += room.len() as u64;
                Ok(())
            },
        );
        return n.map(|n| n as u64);
    }
    // A background job writing to its terminal (`TOSTOP`) stops first.
    crate::fs::tty::check_access(p, &*file.object, crate::fs::tty::Access::Write)?;
    let mut chunk = vec![0u8; len.min(IO_CHUNK)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(IO_CHUNK);
        let step =
            p.mm.copy_in(buf + done as u64, &mut chunk[..n])
                .and_then(|()| match at {
                    At::Shared => file.write(&chunk[..n]),
                    At::Offset(offset) => file.write_at(offset + done as u64, &chunk[..n]),
                });
        match step {
            Ok(written) => {
                done += written;
                if written < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as u64)
}

fn read_from(p: &mut Process, file: &OpenFile, buf: u64, len: u64, at: At) -> SysResult {
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = len as usize;
    // Check the buffer before consuming input, so a bad pointer loses
    // nothing (the page is made present and writable, nothing written).
    p.mm.fault(buf, true, false).map_err(Errno::from)?;
    if file.object.seekable() {
        // A file hands its bytes straight to the user's buffer.
        let mut done = 0u64;
        let n = file.read_seekable(
            match at {
                At::Shared => None,
                At::Offset(offset) => Some(offset),
            },
            len,
            &mut |data| {
                p.mm.copy_out(buf + done, data)?;
                done += data.len() as u64;
                Ok(())
            },
        );
        // A bad pointer part way: the bytes before it are the result.
        return match n {
            Ok(n) => Ok(n.min(done as usize) as u64),
            Err(e) if done == 0 => Err(e),
            Err(_) => Ok(done),
        };
    }
    // A background job reading its terminal stops first (SIGTTIN).
    crate::fs::tty::check_access(p, &*file.object, crate::fs::tty::Access::Read)?;
    let mut chunk = vec![0u8; len.min(IO_CHUNK)];
    // A stream returns what has arrived (one read); a file or a device
    // fills the whole buffer unless it ends first, as on Linux.
    let stream = !file.object.seekable();
    let mut done = 0;
    while done < len {
        let want = (len - done).min(chunk.len());
        let n = match at {
            At::Shared => file.read(&mut chunk[..want]),
            At::Offset(offset) => file.read_at(offset + done as u64, &mut chunk[..want]),
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        p.mm.copy_out(buf + done as u64, &chunk[..n])?;
        done += n;
        if n < want || stream {
            break;
        }
    }
    Ok(done as u64)
}

pub fn write(p: &mut Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    if file.object.as_socket().is_some() && len > 0 {
        // As send(2) with no flags (its timeout, its waiting).
        return super::net::sendto(p, fd, buf, len, 0, 0, 0);
    }
    // A blocking write to a stream (a pipe) waits until every byte is in,
    // across as many runs as it takes; `progress` counts what went in.
    let done = p.restart.progress.min(len);
    let result = write_to(p, &file, buf + done, len - done, At::Shared);
    let waits = file.blocks() && !file.object.seekable();
    match result {
        Ok(n) if waits && n > 0 && done + n < len => {
            p.restart.progress = done + n;
            let queue = file.object.wait_queue().expect("blocks() checked it");
            Err(block_on(p.task.tid, &[queue]))
        }
        Ok(n) => Ok(done + n),
        Err(Errno::EAGAIN) if waits && done > 0 => {
            let queue = file.object.wait_queue().expect("blocks() checked it");
            Err(block_on(p.task.tid, &[queue]))
        }
        // The reader went away part way: the bytes that went in count.
        Err(_) if done > 0 => Ok(done),
        Err(e) => wait_or(p, &file, Err(e)),
    }
}

pub fn read(p: &mut Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    if super::fdkinds::as_signalfd(&file).is_some() {
        // A signalfd reads the reader's own signals.
        return super::fdkinds::signalfd_read(p, &file, buf, len);
    }
    if file.object.as_socket().is_some() && len > 0 {
        // As recv(2) with no flags (its timeout, its waiting).
        return super::net::recvfrom(p, fd, buf, len, 0, 0, 0);
    }
    let result = read_from(p, &file, buf, len, At::Shared);
    wait_or(p, &file, result)
}

/// What a transfer's result means for the caller: EAGAIN on a blocking
/// file waits on the object's queue (the call runs again when it wakes);
/// EPIPE comes with SIGPIPE, as Linux sends it (but not from a datagram
/// socket).
fn wait_or(p: &mut Process, file: &OpenFile, result: SysResult) -> SysResult {
    match result {
        Err(Errno::EAGAIN) if file.blocks() => {
            let queue = file.object.wait_queue().expect("blocks() checked it");
            Err(block_on(p.task.tid, &[queue]))
        }
        Err(Errno::EPIPE)
            if file
                .object
                .as_socket()
                .is_none_or(crate::net::Socket::raises_sigpipe) =>
        {
            raise_sigpipe(p);
            Err(Errno::EPIPE)
        }
        other => other,
    }
}

/// SIGPIPE for the calling thread, as Linux sends it with EPIPE.
pub(super) fn raise_sigpipe(p: &mut Process) {
    let info = Info {
        code: signal::SI_USER,
        pid: p.task.pid(),
        ..Info::default()
    };
    let tid = p.task.tid;
    let _ = signal::send_to_thread(p.task, tid, signal::SIGPIPE, info);
}

/// `pipe`/`pipe2`: a new pipe's read and write ends at the two lowest
/// free descriptors.
pub fn pipe2(p: &mut Process, fds: u64, flags: u64) -> SysResult {
    let allowed = u64::from(O_CLOEXEC | O_NONBLOCK | O_DIRECT);
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let status = flags as u32 & O_NONBLOCK;
    let cloexec = flags & u64::from(O_CLOEXEC) != 0;
    let (read_end, write_end) = crate::fs::pipe::new();
    let read_fd = p.fds.install_from(
        0,
        Entry {
            file: OpenFile::new(read_end, O_RDONLY | status),
            cloexec,
        },
    )?;
    let write_fd = match p.fds.install_from(
        0,
        Entry {
            file: OpenFile::new(write_end, O_WRONLY | status),
            cloexec,
        },
    ) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = p.fds.close(read_fd);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(read_fd as u32).to_le_bytes());
    out[4..].copy_from_slice(&(write_fd as u32).to_le_bytes());
    if let Err(e) = p.mm.copy_out(fds, &out) {
        let _ = p.fds.close(read_fd);
        let _ = p.fds.close(write_fd);
        return Err(e);
    }
    Ok(0)
}

/// An offset from the workload: negative is EINVAL.
fn offset_arg(offset: u64) -> Result<u64, Errno> {
    i64::try_from(offset)
        .map(|o| o as u64)
        .map_err(|_| Errno::EINVAL)
}

pub fn pread64(p: &mut Process, fd: u64, buf: u64, len: u64, offset: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    read_from(p, &file, buf, len, At::Offset(offset_arg(offset)?))
}

pub fn pwrite64(p: &mut Process, fd: u64, buf: u64, len: u64, offset: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    write_to(p, &file, buf, len, At::Offset(offset_arg(offset)?))
}

pub(super) fn read_iovecs(p: &mut Process, iov: u64, count: u64) -> Result<Vec<Iovec>, Errno> {
    let count = check_iovcnt(count)?;
    let mut raw = vec![0u8; count * Iovec::SIZE];
    p.mm.copy_in(iov, &mut raw)?;
    Ok(decode_iovecs(&raw).collect())
}

/// Which way a vectored transfer goes.
#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

/// `readv`/`writev`/`preadv`/`pwritev`: buffer after buffer, at the shared
/// offset or from `at`, until one comes back short (for a stream's read,
/// until one gets data); an error after some bytes moved ends the call
/// with those bytes.
fn transfer_iovecs(
    p: &mut Process,
    fd: u64,
    iov: u64,
    count: u64,
    mut at: At,
    direction: Direction,
) -> SysResult {
    let file = p.fds.file(fd)?;
    let mut total = 0;
    for v in read_iovecs(p, iov, count)? {
        let moved = match direction {
            Direction::Read => read_from(p, &file, v.base, v.len, at),
            Direction::Write => write_to(p, &file, v.base, v.len, at),
        };
        match moved {
            Ok(n) => {
                total += n;
                if let At::Offset(offset) = &mut at {
                    *offset += n;
                }
                // A buffer not filled ends the call; a stream's next
                // buffer takes what else has arrived (EAGAIN there ends
                // the call with what was read, as a pipe's readv).
                if n < v.len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn writev(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    if file.object.as_socket().is_some() {
        // One datagram from all the buffers, as sendmsg.
        return super::net::sendmsg_iovecs(p, fd, iov, count);
    }
    let result = transfer_iovecs(p, fd, iov, count, At::Shared, Direction::Write);
    wait_or(p, &file, result)
}

pub fn readv(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    if file.object.as_socket().is_some() {
        // One datagram into all the buffers, as recvmsg.
        return super::net::recvmsg_iovecs(p, fd, iov, count);
    }
    let result = transfer_iovecs(p, fd, iov, count, At::Shared, Direction::Read);
    wait_or(p, &file, result)
}

pub fn preadv(p: &mut Process, fd: u64, iov: u64, count: u64, offset: u64) -> SysResult {
    let at = At::Offset(offset_arg(offset)?);
    transfer_iovecs(p, fd, iov, count, at, Direction::Read)
}

pub fn pwritev(p: &mut Process, fd: u64, iov: u64, count: u64, offset: u64) -> SysResult {
    let at = At::Offset(offset_arg(offset)?);
    transfer_iovecs(p, fd, iov, count, at, Direction::Write)
}

pub fn close(p: &mut Process, fd: u64) -> SysResult {
    p.fds.close(fd)?;
    Ok(0)
}

pub fn dup(p: &mut Process, fd: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    p.fds.install_from(
        0,
        Entry {
            file,
            cloexec: false,
        },
    )
}

pub fn dup3(p: &mut Process, old: u64, new: u64, flags: u64, is_dup2: bool) -> SysResult {
    let file = p.fds.file(old)?;
    if new as usize >= MAX_FDS {
        return Err(Errno::EBADF);
    }
    if old == new {
        return if is_dup2 { Ok(new) } else { Err(Errno::EINVAL) };
    }
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = flags & u64::from(O_CLOEXEC) != 0;
    p.fds.install_at(new as usize, Entry { file, cloexec });
    Ok(new)
}

pub fn ioctl(p: &mut Process, fd: u64, request: u64, arg: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    let result = ioctl_on(p, fd, &file, request, arg);
    if result == Err(Errno::ENOTTY) && lacks_ioctl(&*file.object, request) {
        let name = lamina_abi::trace::ioctl_name(request).unwrap_or("");
        crate::trace::missing(MissingKind::Ioctl, name, request);
    }
    result
}

/// Whether ENOTTY for `request` on `object` is for want of it in lamina
/// rather than Linux's own answer: a terminal request (ioctl type 'T')
/// on something that is no terminal is ENOTTY on Linux too (`isatty`).
fn lacks_ioctl(object: &dyn FileObject, request: u64) -> bool {
    const TERMINAL_IOCTL_TYPE: u64 = b'T' as u64;
    const IOCTL_TYPE_SHIFT: u64 = 8;
    /// Type 'T' too, but meant for every kind of file.
    const GENERIC: [u64; 6] = [FIONREAD, FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX, FIOQSIZE];
    if (request >> IOCTL_TYPE_SHIFT) & 0xff != TERMINAL_IOCTL_TYPE || GENERIC.contains(&request) {
        return true;
    }
    object
        .stat()
        .is_ok_and(|st| is_terminal_device(st.st_mode, st.st_rdev))
}

/// Linux's terminal majors: the virtual consoles and serial lines (4),
/// /dev/tty, /dev/console and /dev/ptmx (5), the pty slaves (136-143).
fn is_terminal_device(mode: u32, rdev: u64) -> bool {
    const S_IFMT: u32 = 0o170000;
    const S_IFCHR: u32 = 0o020000;
    let major = (rdev >> 8) & 0xfff;
    mode & S_IFMT == S_IFCHR && matches!(major, 4 | 5 | 136..=143)
}

fn ioctl_on(p: &mut Process, fd: u64, file: &Arc<OpenFile>, request: u64, arg: u64) -> SysResult {
    match request {
        FIONBIO => {
            let on = u32::from_le_bytes(p.mm.read_array(arg)?) != 0;
            file.set_status(O_NONBLOCK, if on { O_NONBLOCK } else { 0 });
            Ok(0)
        }
        FIOCLEX | FIONCLEX => {
            p.fds.get_mut(fd)?.cloexec = request == FIOCLEX;
            Ok(0)
        }
        FIOASYNC => {
            let on = u32::from_le_bytes(p.mm.read_array(arg)?) != 0;
            // Linux's answer for an object without asynchronous events.
            if file.object.wait_queue().is_none() {
                return Err(Errno::ENOTTY);
            }
            file.set_async(on);
            Ok(0)
        }
        FIONREAD if file.object.seekable() => {
            // A regular file: the bytes between the offset and the end.
            let size = file.object.size()?;
            let left = size.saturating_sub(file.offset()).min(u64::from(u32::MAX)) as u32;
            p.mm.copy_out(arg, &left.to_le_bytes())?;
            Ok(0)
        }
        _ if crate::fs::tty::is_terminal(&*file.object) => {
            crate::fs::tty::ioctl(p, &*file.object, request, arg)
        }
        _ => file.object.ioctl(request, arg, &mut p.mm),
    }
}

pub fn fcntl(p: &mut Process, fd: u64, cmd: u64, arg: u64) -> SysResult {
    let entry = p.fds.get(fd)?.clone();
    match cmd {
        F_GETFD => Ok(u64::from(entry.cloexec)),
        F_SETFD => {
            p.fds.get_mut(fd)?.cloexec = arg & u64::from(FD_CLOEXEC) != 0;
            Ok(0)
        }
        F_GETFL => Ok(u64::from(entry.file.status())),
        F_GETPIPE_SZ | F_SETPIPE_SZ => entry
            .file
            .object
            .pipe_capacity()
            .map(|n| n as u64)
            .ok_or(Errno::EBADF),
        F_SETFL => {
            let settable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;
            entry.file.set_status(settable, arg as u32);
            let async_on = arg as u32 & O_ASYNC != 0;
            if async_on != (entry.file.status() & O_ASYNC != 0) {
                entry.file.set_async(async_on);
            }
            Ok(0)
        }
        F_SETOWN => {
            // A negative argument names a process group.
            let id = arg as i32;
            let kind = if id < 0 { F_OWNER_PGRP } else { F_OWNER_PID };
            set_owner(&entry.file, kind, id.unsigned_abs())
        }
        F_GETOWN => {
            let owner = entry.file.owner();
            let id = owner.id as i32;
            Ok(if owner.kind == F_OWNER_PGRP { -id } else { id } as i64 as u64)
        }
        F_SETOWN_EX => {
            let raw: [u8; 8] = p.mm.read_array(arg)?;
            let kind = i32::from_le_bytes(raw[..4].try_into().expect("4 bytes"));
            let id = i32::from_le_bytes(raw[4..].try_into().expect("4 bytes"));
            if !matches!(kind, F_OWNER_TID | F_OWNER_PID | F_OWNER_PGRP) {
                return Err(Errno::EINVAL);
            }
            set_owner(&entry.file, kind, id.unsigned_abs())
        }
        F_GETOWN_EX => {
            let owner = entry.file.owner();
            let mut raw = [0u8; 8];
            raw[..4].copy_from_slice(&owner.kind.to_le_bytes());
            raw[4..].copy_from_slice(&owner.id.to_le_bytes());
            p.mm.copy_out(arg, &raw)?;
            Ok(0)
        }
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let cloexec = cmd == F_DUPFD_CLOEXEC;
            p.fds.install_from(
                arg as usize,
                Entry {
                    file: entry.file,
                    cloexec,
                },
            )
        }
        _ if super::fs::is_lock_command(cmd) => super::fs::fcntl_lock(p, fd, cmd, arg),
        lamina_abi::fdkinds::F_ADD_SEALS | lamina_abi::fdkinds::F_GET_SEALS => {
            super::fdkinds::fcntl_seals(p, &entry.file, cmd, arg)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `F_SETOWN`, `F_SETOWN_EX`: the owner must exist (ESRCH), except 0,
/// which removes it.
fn set_owner(file: &OpenFile, kind: i32, id: u32) -> SysResult {
    use crate::fs::file::Owner;
    use crate::task::with_tables;
    if id != 0 {
        let exists = with_tables(|t| match kind {
            F_OWNER_PGRP => !t.group_members(id).is_empty(),
            F_OWNER_PID => t.procs.get(&id).is_some_and(|e| e.zombie.is_none()),
            _ => t.tasks.contains_key(&id) || t.current == id,
        });
        if !exists {
            return Err(Errno::ESRCH);
        }
    }
    file.set_owner(Owner { kind, id });
    Ok(0)
}

pub fn fstat(p: &mut Process, fd: u64, buf: u64) -> SysResult {
    let stat = p.fds.get(fd)?.file.object.stat()?;
    p.mm.copy_out(buf, &stat.to_bytes())?;
    Ok(0)
}

pub fn lseek(p: &mut Process, fd: u64, offset: u64, whence: u64) -> SysResult {
    p.fds.file(fd)?.seek(offset as i64, whence)
}

/// `close_range(first, last, flags)`: closes (or, with
/// CLOSE_RANGE_CLOEXEC, marks close-on-exec) every descriptor from
/// `first` to `last`; CLOSE_RANGE_UNSHARE first gives the calling thread
/// a table of its own if it shares one (`CLONE_FILES`).
pub fn close_range(p: &mut Process, first: u64, last: u64, flags: u64) -> SysResult {
    const CLOSE_RANGE_UNSHARE: u64 = 1 << 1;
    const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;
    let (first, last) = (first as u32, last as u32);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let apply = |table: &mut crate::fs::fd::FdTable| {
        let open: Vec<u64> = table
            .iter()
            .map(|(fd, _)| fd)
            .filter(|&fd| (u64::from(first)..=u64::from(last)).contains(&fd))
            .collect();
        for fd in open {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                if let Ok(entry) = table.get_mut(fd) {
                    entry.cloexec = true;
                }
            } else {
                let _ = table.close(fd);
            }
        }
    };
    if flags & CLOSE_RANGE_UNSHARE != 0 && alloc::sync::Arc::strong_count(&p.task.files) > 1 {
        // The shared table stays as it is for the other threads; the
        // dispatcher's guard on it goes when the call returns.
        let mut own = p.fds.clone();
        apply(&mut own);
        p.task.files = alloc::sync::Arc::new(spin::Mutex::new(own));
        return Ok(0);
    }
    apply(&mut p.fds);
    Ok(0)
}
