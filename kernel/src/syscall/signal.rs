//! Signal bookkeeping: actions and masks are recorded; delivery to user
//! handlers comes later. A signal sent to itself with the default action
//! ends the process, as on Linux (abort() exits 134).

use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{KernelSigaction, StackT};
use lamina_proto::frame::ExitStatus;

use super::SysResult;
use crate::process::Process;

const SIGSET_LEN: u64 = 8;
const NSIG: u64 = 64;
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
/// Signals whose default action is to do nothing.
const DEFAULT_IGNORED: [u32; 4] = [17, 18, 23, 28]; // SIGCHLD SIGCONT SIGURG SIGWINCH

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
    if oldact != 0 {
        p.mm.copy_out(oldact, &p.sigactions[slot].to_bytes())?;
    }
    if let Some(new) = new {
        p.sigactions[slot] = new;
    }
    Ok(0)
}

pub fn rt_sigprocmask(p: &mut Process, how: u64, set: u64, oldset: u64, setsize: u64) -> SysResult {
    if setsize != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    // As Linux: the new set is read and applied (a bad `how` fails before
    // anything changes), then the old one is written out.
    let old = p.sigmask;
    if set != 0 {
        let bits = p.mm.read_u64(set)?;
        p.sigmask = match how {
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

pub fn sigaltstack(p: &mut Process, ss: u64, old: u64) -> SysResult {
    let new = if ss != 0 {
        Some(StackT::from_bytes(&p.mm.read_array(ss)?))
    } else {
        None
    };
    if old != 0 {
        p.mm.copy_out(old, &p.altstack.to_bytes())?;
    }
    if let Some(new) = new {
        if new.ss_flags != 0 && new.ss_flags != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if new.ss_flags != SS_DISABLE && new.ss_size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        p.altstack = new;
    }
    Ok(0)
}

/// `kill`/`tgkill` aimed at the workload itself: Some(status) when the
/// signal ends it.
pub fn kill(p: &mut Process, pid: u64, sig: u64) -> Result<Option<ExitStatus>, Errno> {
    let pid = pid as i64;
    if pid != super::misc::PID as i64 && pid != 0 && pid != -1 {
        return Err(Errno::ESRCH);
    }
    if sig == 0 {
        return Ok(None);
    }
    let slot = check_signal(sig)?;
    let handler = p.sigactions[slot].handler;
    let blocked = p.sigmask & (1 << slot) != 0;
    if handler == SIG_IGN
        || blocked
        || (handler == SIG_DFL && DEFAULT_IGNORED.contains(&(sig as u32)))
    {
        return Ok(None);
    }
    if handler != SIG_DFL {
        crate::log!(
            "signal: handler for signal {} not run (delivery not implemented); terminating",
            sig
        );
    }
    Ok(Some(ExitStatus::Signaled(sig as u8)))
}
