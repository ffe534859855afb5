//! splice, tee and vmsplice: data moved through pipes. lamina's pipes are
//! rings of guest frames, so the bytes are copied (a bounce buffer between
//! a pipe and the other side), with Linux's rules: one side a pipe, no
//! offset on a pipe (ESPIPE), waiting as read(2)/write(2) would unless
//! SPLICE_F_NONBLOCK or the pipe is O_NONBLOCK, and a pipe's bytes leave
//! it only once the other side took them.

use alloc::sync::Arc;
use alloc::vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_APPEND, O_NONBLOCK};

use super::SysResult;
use crate::fs::file::OpenFile;
use crate::fs::pipe::{PipeEnd, PIPE_CAPACITY};
use crate::process::Process;
use crate::task::wait::block_on;

/// `SPLICE_F_*`: MOVE, MORE and GIFT are hints (pages are copied here).
const SPLICE_F_MOVE: u64 = 1;
const SPLICE_F_NONBLOCK: u64 = 2;
const SPLICE_F_MORE: u64 = 4;
const SPLICE_F_GIFT: u64 = 8;
const SPLICE_FLAGS: u64 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

fn pipe_of(file: &OpenFile) -> Option<&PipeEnd> {
    file.object.as_any()?.downcast_ref::<PipeEnd>()
}

/// EAGAIN from `file` (which has no data or no room): wait on it unless
/// the call is non-blocking.
fn wait_on(p: &mut Process, file: &OpenFile, nonblock: bool) -> Errno {
    match file.object.wait_queue() {
        Some(queue) if !nonblock && file.status() & O_NONBLOCK == 0 => {
            block_on(p.task.tid, &[queue])
        }
        _ => Errno::EAGAIN,
    }
}

/// A write to a pipe nobody reads: SIGPIPE, and EPIPE if that is caught.
fn broken_pipe(p: &mut Process) -> Errno {
    super::io::raise_sigpipe(p);
    Errno::EPIPE
}

/// Reads the offset a `loff_t *` points to (None for a null pointer); a
/// pipe takes none (ESPIPE), nor does any other unseekable object.
fn offset_arg(p: &mut Process, file: &OpenFile, pointer: u64) -> Result<Option<u64>, Errno> {
    if pointer == 0 {
        return Ok(None);
    }
    if pipe_of(file).is_some() || !file.object.seekable() {
        return Err(Errno::ESPIPE);
    }
    let offset = p.mm.read_u64(pointer)?;
    if offset > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(offset))
}

pub fn splice(
    p: &mut Process,
    fd_in: u64,
    off_in: u64,
    fd_out: u64,
    off_out: u64,
    len: u64,
    flags: u64,
) -> SysResult {
    let input = p.fds.file(fd_in)?;
    let output = p.fds.file(fd_out)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let (in_pipe, out_pipe) = (pipe_of(&input), pipe_of(&output));
    if in_pipe.is_none() && out_pipe.is_none() {
        return Err(Errno::EINVAL);
    }
    if let (Some(a), Some(b)) = (in_pipe, out_pipe) {
        if a.same_pipe(b) {
            return Err(Errno::EINVAL);
        }
    }
    // Linux refuses an O_APPEND output: splice writes at a position.
    if out_pipe.is_none() && output.status() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let in_offset = offset_arg(p, &input, off_in)?;
    let out_offset = offset_arg(p, &output, off_out)?;
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let want = (len as usize).min(PIPE_CAPACITY);
    let mut buf = vec![0u8; want];

    // Take the bytes: from a pipe without removing them yet; from anything
    // else only as many as the output pipe has room for.
    let taken = match in_pipe {
        Some(pipe) => {
            let n = pipe.peek(&mut buf);
            if n == 0 {
                if !pipe.peer_open() {
                    return Ok(0);
                }
                return Err(wait_on(p, &input, nonblock));
            }
            n
        }
        None => {
            let out = out_pipe.expect("one side is a pipe");
            if !out.peer_open() {
                return Err(broken_pipe(p));
            }
            let room = out.room().min(want);
            if room == 0 {
                return Err(wait_on(p, &output, nonblock));
            }
            let read = match in_offset {
                Some(at) => input.read_at(at, &mut buf[..room]),
                None => input.read(&mut buf[..room]),
            };
            match read {
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Err(wait_on(p, &input, nonblock)),
                Err(e) => return Err(e),
            }
        }
    };
    if taken == 0 {
        return Ok(0);
    }

    // Give them to the output.
    if let Some(out) = out_pipe {
        if !out.peer_open() {
            return Err(broken_pipe(p));
        }
        if in_pipe.is_some() && out.room() == 0 {
            return Err(wait_on(p, &output, nonblock));
        }
    }
    let chunk = match out_pipe {
        Some(out) => taken.min(out.room()),
        None => taken,
    };
    let written = match out_offset {
        Some(at) => output.write_at(at, &buf[..chunk]),
        None => output.write(&buf[..chunk]),
    };
    let written = match written {
        Ok(n) => n,
        Err(Errno::EAGAIN) if in_pipe.is_some() => return Err(wait_on(p, &output, nonblock)),
        Err(Errno::EPIPE) => return Err(broken_pipe(p)),
        Err(e) => return Err(e),
    };
    if let Some(pipe) = in_pipe {
        pipe.consume(written);
    }
    // The positions given move past the bytes moved; the files' own
    // offsets stay.
    if let Some(at) = in_offset {
        p.mm.copy_out(off_in, &(at + written as u64).to_le_bytes())?;
    }
    if let Some(at) = out_offset {
        p.mm.copy_out(off_out, &(at + written as u64).to_le_bytes())?;
    }
    Ok(written as u64)
}

/// `tee(fd_in, fd_out, len, flags)`: copies bytes from one pipe to
/// another, leaving them in the first.
pub fn tee(p: &mut Process, fd_in: u64, fd_out: u64, len: u64, flags: u64) -> SysResult {
    let input = p.fds.file(fd_in)?;
    let output = p.fds.file(fd_out)?;
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let (Some(in_pipe), Some(out_pipe)) = (pipe_of(&input), pipe_of(&output)) else {
        return Err(Errno::EINVAL);
    };
    if in_pipe.is_write_end() || !out_pipe.is_write_end() {
        return Err(Errno::EBADF);
    }
    if in_pipe.same_pipe(out_pipe) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    if in_pipe.is_empty() {
        if !in_pipe.peer_open() {
            return Ok(0);
        }
        return Err(wait_on(p, &input, nonblock));
    }
    if !out_pipe.peer_open() {
        return Err(broken_pipe(p));
    }
    let room = out_pipe.room().min(len as usize);
    if room == 0 {
        return Err(wait_on(p, &output, nonblock));
    }
    let mut buf = vec![0u8; room];
    let n = in_pipe.peek(&mut buf);
    output.write(&buf[..n]).map(|n| n as u64)
}

/// `vmsplice(fd, iov, nr_segs, flags)`: the caller's memory into a pipe's
/// write end (as writev) or a read end's bytes into it (as readv).
pub fn vmsplice(p: &mut Process, fd: u64, iov: u64, count: u64, flags: u64) -> SysResult {
    let file: Arc<OpenFile> = p.fds.file(fd)?;
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let Some(pipe) = pipe_of(&file) else {
        return Err(Errno::EBADF);
    };
    let nonblock_before = file.status() & O_NONBLOCK;
    let write = pipe.is_write_end();
    if flags & SPLICE_F_NONBLOCK != 0 {
        file.set_status(O_NONBLOCK, O_NONBLOCK);
    }
    let result = if write {
        super::io::writev(p, fd, iov, count)
    } else {
        super::io::readv(p, fd, iov, count)
    };
    file.set_status(O_NONBLOCK, nonblock_before);
    result
}
