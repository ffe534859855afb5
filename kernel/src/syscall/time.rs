//! Clocks and sleeping.

use lamina_abi::args::{decode_clock_id, decode_timespec, ClockId};
use lamina_abi::errno::Errno;
use lamina_abi::flags::TIMER_ABSTIME;
use lamina_abi::types::{Timespec, Timeval};

use super::SysResult;
use crate::process::Process;
use crate::time::{self as clock, NS_PER_SEC};

fn now_ns(id: ClockId) -> u64 {
    match id {
        ClockId::Realtime | ClockId::RealtimeCoarse => clock::realtime_ns(),
        _ => clock::monotonic_ns(),
    }
}

fn timespec(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / NS_PER_SEC) as i64,
        tv_nsec: (ns % NS_PER_SEC) as i64,
    }
}

/// A `struct timespec` from user memory as nanoseconds (EINVAL for a
/// negative or unnormalised one).
pub(super) fn read_duration(p: &mut Process, addr: u64) -> Result<u64, Errno> {
    let ts = decode_timespec(&p.mm.read_array(addr)?)?;
    Ok((ts.tv_sec as u64)
        .saturating_mul(NS_PER_SEC)
        .saturating_add(ts.tv_nsec as u64))
}

/// A `struct timeval` from user memory as nanoseconds.
pub(super) fn read_timeval(p: &mut Process, addr: u64) -> Result<u64, Errno> {
    let raw: [u8; 16] = p.mm.read_array(addr)?;
    let secs = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
    let usecs = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
    if secs < 0 || !(0..1_000_000).contains(&usecs) {
        return Err(Errno::EINVAL);
    }
    Ok((secs as u64)
        .saturating_mul(NS_PER_SEC)
        .saturating_add(usecs as u64 * 1000))
}

/// `ns` as the bytes of a `struct timeval`.
pub(super) fn timeval_bytes(ns: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&(ns / NS_PER_SEC).to_le_bytes());
    out[8..].copy_from_slice(&((ns % NS_PER_SEC) / 1000).to_le_bytes());
    out
}

pub fn clock_gettime(p: &mut Process, clock_id: u64, tp: u64) -> SysResult {
    let id = decode_clock_id(clock_id)?;
    let ns = match id {
        // The process's user and system time, the clock its CPU-time
        // POSIX timers count (`crate::task::posix_timer`).
        ClockId::ProcessCputime => crate::task::posix_timer::process_cpu_ns(&p.task.group),
        _ => now_ns(id),
    };
    p.mm.copy_out(tp, &timespec(ns).to_bytes())?;
    Ok(0)
}

pub fn clock_getres(p: &mut Process, clock_id: u64, res: u64) -> SysResult {
    decode_clock_id(clock_id)?;
    if res != 0 {
        p.mm.copy_out(res, &timespec(1).to_bytes())?;
    }
    Ok(0)
}

pub fn gettimeofday(p: &mut Process, tv: u64, tz: u64) -> SysResult {
    let ns = clock::realtime_ns();
    if tv != 0 {
        let val = Timeval {
            tv_sec: (ns / NS_PER_SEC) as i64,
            tv_usec: (ns % NS_PER_SEC / 1000) as i64,
        };
        p.mm.copy_out(tv, &val.to_bytes())?;
    }
    if tz != 0 {
        p.mm.copy_out(tz, &[0u8; 8])?;
    }
    Ok(0)
}

pub fn time(p: &mut Process, tloc: u64) -> SysResult {
    let secs = clock::realtime_ns() / NS_PER_SEC;
    if tloc != 0 {
        p.mm.copy_out(tloc, &secs.to_le_bytes())?;
    }
    Ok(secs)
}

/// Sleeps `ns` from the call's first run: blocks until the deadline
/// (a signal interrupts with EINTR).
fn sleep(p: &mut Process, ns: u64) -> SysResult {
    p.restart.deadline_after(ns);
    if p.restart.timed_out() {
        return Ok(0);
    }
    Err(crate::task::wait::block_on(p.task.tid, &[]))
}

pub fn nanosleep(p: &mut Process, req: u64) -> SysResult {
    if p.restart.again {
        return sleep(p, 0);
    }
    let ns = read_duration(p, req)?;
    sleep(p, ns)
}

pub fn clock_nanosleep(p: &mut Process, clock_id: u64, flags: u64, req: u64) -> SysResult {
    let id = decode_clock_id(clock_id)?;
    if matches!(id, ClockId::ThreadCputime) {
        return Err(Errno::EINVAL);
    }
    if p.restart.again {
        return sleep(p, 0);
    }
    let ns = read_duration(p, req)?;
    let now = now_ns(id);
    let wait = if flags & TIMER_ABSTIME != 0 {
        ns.saturating_sub(now)
    } else {
        ns
    };
    sleep(p, wait)
}
