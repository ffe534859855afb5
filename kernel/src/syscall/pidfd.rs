//! Process file descriptors: `pidfd_open` gives an open file that names a
//! process; it polls readable once the process has ended (a zombie or
//! reaped), and `pidfd_send_signal` signals through it, so a supervisor
//! never signals a recycled pid.

use alloc::sync::Arc;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_NONBLOCK, O_RDWR, POLLIN, POLLRDNORM};
use lamina_abi::types::Stat;

use super::SysResult;
use crate::fs::fd::Entry;
use crate::fs::file::{FileObject, OpenFile};
use crate::process::Process;
use crate::task::wait::WaitQueue;
use crate::task::{with_tables, Tid};

/// Woken whenever a process ends: pidfds wait here.
static PROCESS_EXITS: WaitQueue = WaitQueue::new();
/// `PIDFD_NONBLOCK`, which is `O_NONBLOCK`.
const PIDFD_NONBLOCK: u64 = O_NONBLOCK as u64;
/// A pidfd's `st_mode`: an anonymous inode, as Linux shows it.
const ANON_INODE_MODE: u32 = 0o600;

/// A process has ended (its last thread is gone): pidfds poll readable.
pub fn process_exited() {
    PROCESS_EXITS.wake_all();
}

struct PidFd {
    pid: Tid,
}

impl FileObject for PidFd {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            st_mode: ANON_INODE_MODE,
            st_nlink: 1,
            ..Stat::default()
        })
    }

    fn poll(&self, events: u16) -> u16 {
        let ended = with_tables(|t| t.procs.get(&self.pid).is_none_or(|e| e.zombie.is_some()));
        if ended {
            events & (POLLIN | POLLRDNORM)
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&PROCESS_EXITS)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// `pidfd_open(pid, flags)`: `pid` must be a process (a thread group's
/// leader: EINVAL for another thread), alive or a zombie (ESRCH once
/// reaped). The descriptor is always close-on-exec, as on Linux.
pub fn pidfd_open(p: &mut Process, pid: u64, flags: u64) -> SysResult {
    if flags & !PIDFD_NONBLOCK != 0 || pid as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    let pid = pid as Tid;
    let is_process = with_tables(|t| t.procs.contains_key(&pid)) || pid == p.task.pid();
    if !is_process {
        let is_thread = with_tables(|t| t.tasks.contains_key(&pid)) || pid == p.task.tid;
        return Err(if is_thread {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        });
    }
    let status = O_RDWR | (flags as u32 & O_NONBLOCK);
    let file = OpenFile::new(Arc::new(PidFd { pid }), status);
    p.fds.install_from(
        0,
        Entry {
            file,
            cloexec: true,
        },
    )
}

/// `pidfd_send_signal(pidfd, sig, info, flags)`: `kill` (or, with `info`,
/// `rt_sigqueueinfo`) to the pidfd's process; ESRCH once it is reaped. No
/// flags (`PIDFD_SIGNAL_*`, Linux 6.9, are not supported: EINVAL).
pub fn pidfd_send_signal(p: &mut Process, fd: u64, sig: u64, info: u64, flags: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    let pid = file
        .object
        .as_any()
        .and_then(|any| any.downcast_ref::<PidFd>())
        .map(|pidfd| pidfd.pid)
        .ok_or(Errno::EBADF)?;
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    // A zombie still holds its pid: Linux accepts the signal and drops it.
    match with_tables(|t| t.procs.get(&pid).map(|e| e.zombie.is_some())) {
        None => return Err(Errno::ESRCH),
        Some(true) if sig <= 64 => return Ok(0),
        Some(true) => return Err(Errno::EINVAL),
        Some(false) => {}
    }
    if info == 0 {
        super::process::kill(p, u64::from(pid), sig)
    } else {
        super::process::rt_sigqueueinfo(p, u64::from(pid), sig, info)
    }
}
