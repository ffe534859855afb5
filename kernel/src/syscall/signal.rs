//! Signal system calls: actions, masks, the alternate stack, waiting for
//! signals. Sending is in `process.rs` (kill, tkill, tgkill); delivery and
//! the frames are in `crate::task::signal` and `crate::task::frame`.

use core::sync::atomic::Ordering;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{KernelSigaction, StackT};

use super::SysResult;
use crate::process::Process;
use crate::task::signal::{bit, UNBLOCKABLE};
use crate::task::wait::block_on;

const SIGSET_LEN: u64 = 8;
const NSIG: u64 = 64;

fn check_signal(sig: u64) -> Result<usize, Errno> {
    if sig == 0 || sig > NSIG {
        return Err(Errno::EINVAL);
    }
    Ok(sig as usize - 1)
}

pub fn rt_sigaction(p: &mut Process, sig: u64, act: u64, oldact: u64, setsize: u64) -> SysResult {
    if setsize != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    let slot = check_signal(sig)?;
    if act != 0 && (sig == u64::from(SIGKILL) || sig == u64::from(SIGSTOP)) {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        Some(KernelSigaction::from_bytes(&p.mm.read_array(act)?))
    } else {
        None
    };
    let old = p.task.sigactions.lock()[slot];
    if oldact != 0 {
        p.mm.copy_out(oldact, &old.to_bytes())?;
    }
    if let Some(mut new) = new {
        new.mask &= !UNBLOCKABLE;
        p.task.sigactions.lock()[slot] = new;
        // A pending signal whose action becomes "ignore" is discarded.
        if new.handler == SIG_IGN {
            let b = bit(sig as u8);
            p.task.pending &= !b;
            p.task.group.pending.fetch_and(!b, Ordering::Relaxed);
        }
    }
    Ok(0)
}

pub fn rt_sigprocmask(p: &mut Process, how: u64, set: u64, oldset: u64, setsize: u64) -> SysResult {
    if setsize != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    // As Linux: the new set is read and applied (a bad `how` fails before
    // anything changes), then the old one is written out.
    let old = p.task.sigmask;
    if set != 0 {
        let bits = p.mm.read_u64(set)?;
        p.task.sigmask = match how {
            SIG_BLOCK => old | bits,
            SIG_UNBLOCK => old & !bits,
            SIG_SETMASK => bits,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
    }
    if oldset != 0 {
        p.mm.copy_out(oldset, &old.to_le_bytes())?;
    }
    Ok(0)
}

pub fn rt_sigpending(p: &mut Process, set: u64, setsize: u64) -> SysResult {
    if setsize > SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    let pending = (p.task.pending | p.task.group.pending.load(Ordering::Relaxed)) & p.task.sigmask;
    p.mm.copy_out(set, &pending.to_le_bytes()[..setsize as usize])?;
    Ok(0)
}

pub fn sigaltstack(p: &mut Process, ss: u64, old: u64) -> SysResult {
    let new = if ss != 0 {
        Some(StackT::from_bytes(&p.mm.read_array(ss)?))
    } else {
        None
    };
    let current = p.task.altstack;
    let sp = p.task.ctx.rsp;
    let on_stack = current.ss_flags != SS_DISABLE
        && sp > current.ss_sp
        && sp - current.ss_sp <= current.ss_size;
    if old != 0 {
        let mut reported = current;
        if on_stack {
            reported.ss_flags = SS_ONSTACK;
        }
        p.mm.copy_out(old, &reported.to_bytes())?;
    }
    if let Some(new) = new {
        if on_stack {
            return Err(Errno::EPERM);
        }
        if new.ss_flags != 0 && new.ss_flags != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if new.ss_flags != SS_DISABLE && new.ss_size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        p.task.altstack = new;
    }
    Ok(0)
}

/// `pause`: waits for a signal (it returns EINTR after the handler).
pub fn pause(p: &mut Process) -> SysResult {
    Err(block_on(p.task.tid, &[]))
}

/// `rt_sigsuspend`: waits for a signal with `mask` in force; the old mask
/// comes back after the handler.
pub fn rt_sigsuspend(p: &mut Process, mask: u64, setsize: u64) -> SysResult {
    if setsize != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    let new = p.mm.read_u64(mask)? & !UNBLOCKABLE;
    if p.task.saved_sigmask.is_none() {
        p.task.saved_sigmask = Some(p.task.sigmask);
    }
    p.task.sigmask = new;
    Err(block_on(p.task.tid, &[]))
}

/// `rt_sigtimedwait`: takes a pending signal of `set` (normally blocked),
/// waiting for one up to the timeout.
pub fn rt_sigtimedwait(
    p: &mut Process,
    set: u64,
    info: u64,
    timeout: u64,
    setsize: u64,
) -> SysResult {
    if setsize != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    let wanted = p.mm.read_u64(set)? & !UNBLOCKABLE;
    if let Some((signo, details)) = crate::task::signal::dequeue(p.task, wanted) {
        if info != 0 {
            // As a handler would get it (sigqueue's value, a child's status).
            let si = crate::task::frame::siginfo(signo, &details);
            p.mm.copy_out(info, &si.to_bytes())?;
        }
        return Ok(u64::from(signo));
    }
    if timeout != 0 && !p.restart.again {
        let ns = super::time::read_duration(p, timeout)?;
        p.restart.deadline_after(ns);
    }
    if p.restart.timed_out() {
        return Err(Errno::EAGAIN);
    }
    Err(block_on(p.task.tid, &[]))
}
