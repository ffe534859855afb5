//! I/O on descriptors: the standard streams over the console line.

use alloc::vec;
use alloc::vec::Vec;
use lamina_abi::args::{check_iovcnt, decode_iovecs};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Iovec, Stat, Statx, StatxTimestamp, Termios, Winsize};

use super::SysResult;
use crate::console;
use crate::fd::{Entry, File};
use crate::process::Process;

/// Largest chunk moved per step of a read or write.
const IO_CHUNK: usize = 64 * 1024;
/// Path lookups have no file system behind them yet.
const PATH_MAX: usize = 4096;
/// The size the workload sees for a terminal (the host's is not forwarded yet).
const TTY_ROWS: u16 = 24;
const TTY_COLS: u16 = 80;
const TTY_MAJOR: u64 = 136;
const PIPE_MODE: u32 = S_IFIFO | 0o600;
const TTY_MODE: u32 = S_IFCHR | 0o620;

fn is_tty(p: &Process, file: File) -> bool {
    match file {
        File::Stdin => p.ttys.stdin,
        File::Stdout => p.ttys.stdout,
        File::Stderr => p.ttys.stderr,
    }
}

fn write_file(file: File, data: &[u8]) -> Result<(), Errno> {
    match file {
        File::Stdout => console::write_stdout(data),
        File::Stderr => console::write_stderr(data),
        File::Stdin => return Err(Errno::EBADF),
    }
    Ok(())
}

pub fn write(p: &mut Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds.get(fd)?.file;
    if file == File::Stdin {
        return Err(Errno::EBADF);
    }
    let len = len as usize;
    let mut chunk = vec![0u8; len.min(IO_CHUNK)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(IO_CHUNK);
        if let Err(e) = p.mm.copy_in(buf + done as u64, &mut chunk[..n]) {
            return if done == 0 { Err(e) } else { Ok(done as u64) };
        }
        write_file(file, &chunk[..n])?;
        done += n;
    }
    Ok(done as u64)
}

pub fn read(p: &mut Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds.get(fd)?.file;
    if file != File::Stdin {
        return Err(Errno::EBADF);
    }
    if len == 0 {
        return Ok(0);
    }
    let mut chunk = vec![0u8; (len as usize).min(IO_CHUNK)];
    // Check the buffer before consuming input, so a bad pointer loses nothing.
    p.mm.copy_out(buf, &chunk[..1])?;
    let n = console::read_stdin(&mut chunk);
    p.mm.copy_out(buf, &chunk[..n])?;
    Ok(n as u64)
}

fn read_iovecs(p: &mut Process, iov: u64, count: u64) -> Result<Vec<Iovec>, Errno> {
    let count = check_iovcnt(count)?;
    let mut raw = vec![0u8; count * Iovec::SIZE];
    p.mm.copy_in(iov, &mut raw)?;
    Ok(decode_iovecs(&raw).collect())
}

pub fn writev(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    p.fds.get(fd)?;
    let mut total = 0;
    for v in read_iovecs(p, iov, count)? {
        match write(p, fd, v.base, v.len) {
            Ok(n) => total += n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn readv(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    p.fds.get(fd)?;
    let iovecs = read_iovecs(p, iov, count)?;
    // One read fills the first non-empty buffer: what a short read from a pipe does.
    match iovecs.iter().find(|v| v.len > 0) {
        Some(v) => read(p, fd, v.base, v.len),
        None => Ok(0),
    }
}

pub fn close(p: &mut Process, fd: u64) -> SysResult {
    p.fds.close(fd)?;
    Ok(0)
}

pub fn dup(p: &mut Process, fd: u64) -> SysResult {
    let entry = p.fds.get(fd)?;
    p.fds.install_from(
        0,
        Entry {
            cloexec: false,
            ..entry
        },
    )
}

pub fn dup3(p: &mut Process, old: u64, new: u64, flags: u64, is_dup2: bool) -> SysResult {
    let entry = p.fds.get(old)?;
    if new as usize >= crate::fd::MAX_FDS {
        return Err(Errno::EBADF);
    }
    if old == new {
        return if is_dup2 { Ok(new) } else { Err(Errno::EINVAL) };
    }
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = flags & u64::from(O_CLOEXEC) != 0;
    p.fds.install_at(new as usize, Entry { cloexec, ..entry });
    Ok(new)
}

pub fn ioctl(p: &mut Process, fd: u64, request: u64, arg: u64) -> SysResult {
    let entry = p.fds.get(fd)?;
    let tty = is_tty(p, entry.file);
    match request {
        FIONBIO | FIOCLEX | FIONCLEX => Ok(0),
        _ if !tty => Err(Errno::ENOTTY),
        TCGETS => {
            p.mm.copy_out(arg, &Termios::linux_default().to_bytes())?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF => {
            p.mm.read_array::<{ Termios::SIZE }>(arg)?;
            Ok(0)
        }
        TIOCGWINSZ => {
            let ws = Winsize {
                ws_row: TTY_ROWS,
                ws_col: TTY_COLS,
                ..Winsize::default()
            };
            p.mm.copy_out(arg, &ws.to_bytes())?;
            Ok(0)
        }
        TIOCSWINSZ => Ok(0),
        TIOCGPGRP => {
            p.mm.copy_out(arg, &(super::misc::PID as u32).to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

pub fn fcntl(p: &mut Process, fd: u64, cmd: u64, arg: u64) -> SysResult {
    let entry = p.fds.get(fd)?;
    match cmd {
        F_GETFD => Ok(u64::from(entry.cloexec)),
        F_SETFD => {
            p.fds.get_mut(fd)?.cloexec = arg & u64::from(FD_CLOEXEC) != 0;
            Ok(0)
        }
        F_GETFL => Ok(u64::from(entry.status)),
        F_SETFL => {
            let settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
            let e = p.fds.get_mut(fd)?;
            e.status = (e.status & !settable) | (arg as u32 & settable);
            Ok(0)
        }
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let cloexec = cmd == F_DUPFD_CLOEXEC;
            p.fds.install_from(arg as usize, Entry { cloexec, ..entry })
        }
        _ => Err(Errno::EINVAL),
    }
}

fn stat_of(p: &Process, file: File) -> Stat {
    let tty = is_tty(p, file);
    Stat {
        st_dev: if tty { 0x16 } else { 0xd },
        st_ino: file as u64 + 1,
        st_nlink: 1,
        st_mode: if tty { TTY_MODE } else { PIPE_MODE },
        st_rdev: if tty { TTY_MAJOR << 8 } else { 0 },
        st_blksize: 4096,
        ..Stat::default()
    }
}

pub fn fstat(p: &mut Process, fd: u64, buf: u64) -> SysResult {
    let stat = stat_of(p, p.fds.get(fd)?.file);
    p.mm.copy_out(buf, &stat.to_bytes())?;
    Ok(0)
}

/// `true` when `path` is "" (so the call is about `dirfd` itself, with AT_EMPTY_PATH).
fn empty_path(p: &mut Process, path: u64, flags: u64) -> Result<bool, Errno> {
    let path = p.mm.read_cstr(path, PATH_MAX)?;
    if path.is_empty() {
        return if flags & u64::from(AT_EMPTY_PATH) != 0 {
            Ok(true)
        } else {
            Err(Errno::ENOENT)
        };
    }
    Ok(false)
}

pub fn newfstatat(p: &mut Process, dirfd: u64, path: u64, buf: u64, flags: u64) -> SysResult {
    if empty_path(p, path, flags)? {
        return fstat(p, dirfd, buf);
    }
    Err(Errno::ENOENT)
}

pub fn statx(
    p: &mut Process,
    dirfd: u64,
    path: u64,
    flags: u64,
    _mask: u64,
    buf: u64,
) -> SysResult {
    if !empty_path(p, path, flags)? {
        return Err(Errno::ENOENT);
    }
    let s = stat_of(p, p.fds.get(dirfd)?.file);
    let zero = StatxTimestamp::default();
    let sx = Statx {
        stx_mask: STATX_BASIC_STATS,
        stx_blksize: s.st_blksize as u32,
        stx_nlink: s.st_nlink as u32,
        stx_mode: s.st_mode as u16,
        stx_ino: s.st_ino,
        stx_rdev_major: (s.st_rdev >> 8) as u32,
        stx_dev_minor: s.st_dev as u32,
        stx_atime: zero,
        ..Statx::default()
    };
    p.mm.copy_out(buf, &sx.to_bytes())?;
    Ok(0)
}

/// Paths name nothing yet: there is no file system until the 9P client lands.
pub fn stat_path(p: &mut Process, path: u64) -> SysResult {
    p.mm.read_cstr(path, PATH_MAX)?;
    Err(Errno::ENOENT)
}

pub fn open_path(p: &mut Process, path: u64) -> SysResult {
    let name = p.mm.read_cstr(path, PATH_MAX)?;
    crate::log!(
        "fs: no file system yet: {:?} not found",
        core::str::from_utf8(&name).unwrap_or("?")
    );
    Err(Errno::ENOENT)
}

pub fn lseek(p: &mut Process, fd: u64) -> SysResult {
    p.fds.get(fd)?;
    Err(Errno::ESPIPE)
}

const POLLFD_LEN: usize = 8;
const MAX_POLLFDS: u64 = crate::fd::MAX_FDS as u64;

pub fn poll(p: &mut Process, fds: u64, nfds: u64, timeout_ms: u64) -> SysResult {
    if nfds > MAX_POLLFDS {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * POLLFD_LEN];
    p.mm.copy_in(fds, &mut raw)?;
    let timeout_ms = timeout_ms as i32;
    let deadline =
        (timeout_ms >= 0).then(|| crate::time::monotonic_ns() + timeout_ms as u64 * 1_000_000);
    loop {
        let mut ready = 0;
        for pfd in raw.chunks_exact_mut(POLLFD_LEN) {
            let fd = i32::from_le_bytes([pfd[0], pfd[1], pfd[2], pfd[3]]);
            let events = u16::from_le_bytes([pfd[4], pfd[5]]);
            let revents = if fd < 0 {
                0
            } else {
                match p.fds.get(fd as u64) {
                    Err(_) => POLLNVAL,
                    Ok(e) if e.file == File::Stdin => {
                        // As for a pipe: readable while bytes wait, hung
                        // up (whatever was asked) once the writer is gone.
                        let (data, hung_up) = console::stdin_poll();
                        let readable = if data { events & POLLIN } else { 0 };
                        readable | if hung_up { POLLHUP } else { 0 }
                    }
                    Ok(_) => events & POLLOUT,
                }
            };
            pfd[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                ready += 1;
            }
        }
        if ready > 0 || deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            p.mm.copy_out(fds, &raw)?;
            return Ok(ready);
        }
        // Only stdin can become ready later; its UART interrupt (or the
        // timer, for a bounded wait) ends the sleep.
        match deadline {
            None => crate::arch::cpu::wait_for_interrupt(),
            Some(deadline) => crate::time::wait_until(deadline),
        }
    }
}
