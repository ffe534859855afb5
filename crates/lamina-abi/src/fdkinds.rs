//! The descriptor kinds that are not files: eventfd, timerfd, signalfd,
//! memfd (and its seals), inotify, and POSIX timers' `struct sigevent`.
//! Flag values from `include/uapi/linux/{eventfd,timerfd,signalfd,memfd,
//! fcntl,inotify}.h` and `asm-generic/siginfo.h`; structures encoded and
//! decoded as bytes, their layouts pinned by the tests.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::flags::{O_CLOEXEC, O_NONBLOCK};
use crate::types::Timespec;

// eventfd2(2).
pub const EFD_SEMAPHORE: u32 = 1;
pub const EFD_CLOEXEC: u32 = O_CLOEXEC;
pub const EFD_NONBLOCK: u32 = O_NONBLOCK;
/// The counter's largest value: a write that would pass it waits.
pub const EVENTFD_MAX: u64 = u64::MAX - 1;

// timerfd_create(2), timerfd_settime(2).
pub const TFD_CLOEXEC: u32 = O_CLOEXEC;
pub const TFD_NONBLOCK: u32 = O_NONBLOCK;
pub const TFD_TIMER_ABSTIME: u32 = 1;
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;

// signalfd4(2).
pub const SFD_CLOEXEC: u32 = O_CLOEXEC;
pub const SFD_NONBLOCK: u32 = O_NONBLOCK;

// memfd_create(2).
pub const MFD_CLOEXEC: u32 = 0x1;
pub const MFD_ALLOW_SEALING: u32 = 0x2;
pub const MFD_HUGETLB: u32 = 0x4;
pub const MFD_NOEXEC_SEAL: u32 = 0x8;
pub const MFD_EXEC: u32 = 0x10;
/// A memfd's name, without the "memfd:" prefix Linux adds (NAME_MAX - 6).
pub const MFD_NAME_MAX: usize = 249;

// fcntl(2) file seals.
pub const F_ADD_SEALS: u64 = 1033;
pub const F_GET_SEALS: u64 = 1034;
pub const F_SEAL_SEAL: u32 = 0x1;
pub const F_SEAL_SHRINK: u32 = 0x2;
pub const F_SEAL_GROW: u32 = 0x4;
pub const F_SEAL_WRITE: u32 = 0x8;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
pub const F_SEAL_EXEC: u32 = 0x20;
/// Every seal `F_ADD_SEALS` knows.
pub const F_SEAL_ALL: u32 =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

// inotify(7).
pub const IN_CLOEXEC: u32 = O_CLOEXEC;
pub const IN_NONBLOCK: u32 = O_NONBLOCK;
pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
pub const IN_ALL_EVENTS: u32 = 0xfff;
pub const IN_UNMOUNT: u32 = 0x2000;
pub const IN_Q_OVERFLOW: u32 = 0x4000;
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// The bits `inotify_add_watch` accepts in its mask.
pub const IN_VALID_MASK: u32 = IN_ALL_EVENTS
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ONESHOT;
/// `struct inotify_event` without its name.
pub const INOTIFY_EVENT_HEADER: usize = 16;

// struct sigevent's sigev_notify.
pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;
pub const SIGEVENT_SIZE: usize = 64;

const NSEC_PER_SEC: i64 = 1_000_000_000;

fn i32_at(b: &[u8], off: usize) -> i32 {
    i32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(raw)
}

/// `struct itimerspec`: a timer's period and its next expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Itimerspec {
    pub interval: Timespec,
    pub value: Timespec,
}

impl Itimerspec {
    pub const SIZE: usize = 32;

    /// Both as nanoseconds: (interval, value). EINVAL for a negative or
    /// unnormalised member, as `timerfd_settime` and `timer_settime`.
    pub fn decode_ns(b: &[u8; 32]) -> Result<(u64, u64), Errno> {
        let mut half = [0u8; 16];
        half.copy_from_slice(&b[..16]);
        let interval = Timespec::from_bytes(&half);
        half.copy_from_slice(&b[16..]);
        let value = Timespec::from_bytes(&half);
        Ok((timespec_ns(&interval)?, timespec_ns(&value)?))
    }

    /// From nanoseconds: (interval, value).
    pub fn from_ns(interval_ns: u64, value_ns: u64) -> Self {
        Self {
            interval: ns_timespec(interval_ns),
            value: ns_timespec(value_ns),
        }
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&self.interval.to_bytes());
        out[16..].copy_from_slice(&self.value.to_bytes());
        out
    }
}

fn timespec_ns(ts: &Timespec) -> Result<u64, Errno> {
    if ts.tv_sec < 0 || !(0..NSEC_PER_SEC).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(NSEC_PER_SEC as u64)
        .saturating_add(ts.tv_nsec as u64))
}

fn ns_timespec(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / NSEC_PER_SEC as u64) as i64,
        tv_nsec: (ns % NSEC_PER_SEC as u64) as i64,
    }
}

/// `struct signalfd_siginfo`: what a signalfd read gives per signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalfdSiginfo {
    pub signo: u32,
    pub errno: i32,
    pub code: i32,
    pub pid: u32,
    pub uid: u32,
    pub fd: i32,
    /// A POSIX timer's id.
    pub tid: u32,
    pub band: u32,
    pub overrun: u32,
    pub trapno: u32,
    pub status: i32,
    pub int: i32,
    pub ptr: u64,
    pub utime: u64,
    pub stime: u64,
    pub addr: u64,
}

impl SignalfdSiginfo {
    pub const SIZE: usize = 128;

    pub fn to_bytes(&self) -> [u8; 128] {
        let mut out = [0u8; 128];
        let words = [
            self.signo,
            self.errno as u32,
            self.code as u32,
            self.pid,
            self.uid,
            self.fd as u32,
            self.tid,
            self.band,
            self.overrun,
            self.trapno,
            self.status as u32,
            self.int as u32,
        ];
        for (i, w) in words.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        for (i, q) in [self.ptr, self.utime, self.stime, self.addr]
            .iter()
            .enumerate()
        {
            out[48 + i * 8..56 + i * 8].copy_from_slice(&q.to_le_bytes());
        }
        out
    }
}

/// `struct sigevent`, as `timer_create` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sigevent {
    /// `sigev_value` (the `sival_ptr` bits).
    pub value: u64,
    pub signo: i32,
    pub notify: i32,
    /// `sigev_notify_thread_id` (SIGEV_THREAD_ID).
    pub thread_id: i32,
}

impl Sigevent {
    pub fn from_bytes(b: &[u8; SIGEVENT_SIZE]) -> Self {
        Self {
            value: u64_at(b, 0),
            signo: i32_at(b, 8),
            notify: i32_at(b, 12),
            thread_id: i32_at(b, 16),
        }
    }
}

/// One `struct inotify_event` with its name, NUL-padded to a multiple of
/// the header's size as Linux pads it (an event without a name has none).
pub fn inotify_event(wd: i32, mask: u32, cookie: u32, name: &[u8]) -> Vec<u8> {
    let len = if name.is_empty() {
        0
    } else {
        (name.len() + 1).next_multiple_of(INOTIFY_EVENT_HEADER)
    };
    let mut out = Vec::with_capacity(INOTIFY_EVENT_HEADER + len);
    out.extend_from_slice(&wd.to_le_bytes());
    out.extend_from_slice(&mask.to_le_bytes());
    out.extend_from_slice(&cookie.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(name);
    out.resize(INOTIFY_EVENT_HEADER + len, 0);
    out
}

#[cfg(test)]
mod tests;
