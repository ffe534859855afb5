//! Readiness: poll, ppoll, select, pselect6 and epoll, one core over the objects'
//! `poll` and wait queues (a call with nothing ready waits on the queues
//! of everything it watches, and runs again when one wakes it).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;

use super::SysResult;
use crate::fs::epoll::{Epoll, EPOLLEXCLUSIVE};
use crate::fs::fd::{Entry, MAX_FDS};
use crate::fs::file::OpenFile;
use crate::process::Process;
use crate::task::signal::UNBLOCKABLE;
use crate::task::wait::{block_on, WaitQueue};

const POLLFD_LEN: usize = 8;
const SIGSET_LEN: u64 = 8;
/// What select counts as readable, writable and exceptional.
const SELECT_READ: u16 = POLLIN | POLLHUP | POLLERR;
const SELECT_WRITE: u16 = POLLOUT | POLLERR;
const SELECT_EXCEPT: u16 = POLLPRI;

/// One descriptor watched: the file (None: not open), the events asked,
/// and those found.
struct Watch {
    file: Option<Arc<OpenFile>>,
    events: u16,
    revents: u16,
}

/// Fills in every watch's `revents`; returns how many are ready, or waits
/// (`timeout_ns` None: without end; Some(0): not at all).
fn watch(p: &mut Process, watches: &mut [Watch], timeout_ns: Option<u64>) -> Result<usize, Errno> {
    let mut ready = 0;
    let _poller = crate::fs::signalfd::Poller::checking(p.task.pending);
    for w in watches.iter_mut() {
        w.revents = match &w.file {
            Some(file) => {
                file.object.poll(w.events | POLLHUP | POLLERR) & (w.events | POLLHUP | POLLERR)
            }
            None => w.events & POLLNVAL,
        };
        if w.revents != 0 {
            ready += 1;
        }
    }
    if ready > 0 || timeout_ns == Some(0) {
        return Ok(ready);
    }
    if let Some(ns) = timeout_ns {
        p.restart.deadline_after(ns);
    }
    if p.restart.timed_out() {
        return Ok(0);
    }
    let queues: Vec<&WaitQueue> = watches
        .iter()
        .filter_map(|w| w.file.as_ref()?.object.wait_queue())
        .collect();
    Err(block_on(p.task.tid, &queues))
}

/// A `struct timespec` as nanoseconds (None for a null pointer).
fn timespec(p: &mut Process, addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    super::time::read_duration(p, addr).map(Some)
}

/// Puts `mask` in force for the wait (ppoll, pselect6), as sigsuspend:
/// the old one comes back when the call ends or after the handler.
fn wait_mask(p: &mut Process, mask: u64, size: u64) -> Result<(), Errno> {
    if mask == 0 {
        return Ok(());
    }
    if size != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    let new = p.mm.read_u64(mask)? & !UNBLOCKABLE;
    if p.task.saved_sigmask.is_none() {
        p.task.saved_sigmask = Some(p.task.sigmask);
    }
    p.task.sigmask = new;
    Ok(())
}

/// The call is over (not interrupted): its temporary mask goes.
fn end_mask(p: &mut Process, result: &Result<usize, Errno>) {
    if result != &Err(Errno::ERESTARTSYS) {
        if let Some(mask) = p.task.saved_sigmask.take() {
            p.task.sigmask = mask;
        }
    }
}

fn read_pollfds(p: &mut Process, fds: u64, nfds: u64) -> Result<(Vec<u8>, Vec<Watch>), Errno> {
    if nfds > MAX_FDS as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * POLLFD_LEN];
    p.mm.copy_in(fds, &mut raw)?;
    let watches = raw
        .chunks_exact(POLLFD_LEN)
        .map(|pfd| {
            let fd = i32::from_le_bytes([pfd[0], pfd[1], pfd[2], pfd[3]]);
            let events = u16::from_le_bytes([pfd[4], pfd[5]]);
            match u64::try_from(fd).ok().map(|fd| p.fds.file(fd).ok()) {
                // A negative descriptor is skipped: no events, ever.
                None => Watch {
                    file: None,
                    events: 0,
                    revents: 0,
                },
                Some(None) => Watch {
                    file: None,
                    events: POLLNVAL,
                    revents: 0,
                },
                Some(file) => Watch {
                    file,
                    events,
                    revents: 0,
                },
            }
        })
        .collect();
    Ok((raw, watches))
}

fn write_pollfds(
    p: &mut Process,
    fds: u64,
    mut raw: Vec<u8>,
    watches: &[Watch],
) -> Result<(), Errno> {
    for (pfd, w) in raw.chunks_exact_mut(POLLFD_LEN).zip(watches) {
        pfd[6..8].copy_from_slice(&w.revents.to_le_bytes());
    }
    p.mm.copy_out(fds, &raw)
}

pub fn poll(p: &mut Process, fds: u64, nfds: u64, timeout_ms: u64) -> SysResult {
    let (raw, mut watches) = read_pollfds(p, fds, nfds)?;
    let timeout_ms = timeout_ms as i32;
    let timeout = (timeout_ms >= 0).then(|| timeout_ms as u64 * 1_000_000);
    let ready = watch(p, &mut watches, timeout)?;
    write_pollfds(p, fds, raw, &watches)?;
    Ok(ready as u64)
}

pub fn ppoll(p: &mut Process, fds: u64, nfds: u64, tsp: u64, mask: u64, size: u64) -> SysResult {
    let (raw, mut watches) = read_pollfds(p, fds, nfds)?;
    let timeout = timespec(p, tsp)?;
    wait_mask(p, mask, size)?;
    let result = watch(p, &mut watches, timeout);
    end_mask(p, &result);
    let ready = result?;
    write_pollfds(p, fds, raw, &watches)?;
    Ok(ready as u64)
}

/// An `fd_set` of `nfds` bits (None for a null pointer).
fn read_fd_set(p: &mut Process, addr: u64, nfds: usize) -> Result<Option<Vec<u8>>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut set = vec![0u8; nfds.div_ceil(64) * 8];
    p.mm.copy_in(addr, &mut set)?;
    Ok(Some(set))
}

fn bit_set(set: &Option<Vec<u8>>, fd: usize) -> bool {
    set.as_ref()
        .is_some_and(|s| s[fd / 8] & (1 << (fd % 8)) != 0)
}

/// select's core: the three sets, as watches; the sets rewritten with
/// what is ready; returns the number of bits set.
fn select_sets(
    p: &mut Process,
    nfds: u64,
    sets: [u64; 3],
    timeout: Option<u64>,
    mask: Option<(u64, u64)>,
) -> SysResult {
    if nfds > MAX_FDS as u64 {
        return Err(Errno::EINVAL);
    }
    let n = nfds as usize;
    let read = read_fd_set(p, sets[0], n)?;
    let write = read_fd_set(p, sets[1], n)?;
    let except = read_fd_set(p, sets[2], n)?;
    let mut fds = Vec::new();
    let mut watches = Vec::new();
    for fd in 0..n {
        let mut events = 0;
        if bit_set(&read, fd) {
            events |= SELECT_READ;
        }
        if bit_set(&write, fd) {
            events |= SELECT_WRITE;
        }
        if bit_set(&except, fd) {
            events |= SELECT_EXCEPT;
        }
        if events == 0 {
            continue;
        }
        let file = p.fds.file(fd as u64).map_err(|_| Errno::EBADF)?;
        fds.push(fd);
        watches.push(Watch {
            file: Some(file),
            events,
            revents: 0,
        });
    }
    if let Some((mask, size)) = mask {
        wait_mask(p, mask, size)?;
    }
    let result = watch(p, &mut watches, timeout);
    end_mask(p, &result);
    result?;
    let mut count = 0;
    let mut out = [read, write, except];
    for set in out.iter_mut().flatten() {
        set.fill(0);
    }
    for (&fd, w) in fds.iter().zip(&watches) {
        for (set, wanted) in out
            .iter_mut()
            .zip([SELECT_READ, SELECT_WRITE, SELECT_EXCEPT])
        {
            if let Some(set) = set {
                if w.events & wanted != 0 && w.revents & wanted != 0 {
                    set[fd / 8] |= 1 << (fd % 8);
                    count += 1;
                }
            }
        }
    }
    for (addr, set) in sets.iter().zip(&out) {
        if let Some(set) = set {
            p.mm.copy_out(*addr, set)?;
        }
    }
    Ok(count)
}

pub fn select(p: &mut Process, nfds: u64, r: u64, w: u64, e: u64, tv: u64) -> SysResult {
    let timeout = if tv == 0 {
        None
    } else {
        Some(super::time::read_timeval(p, tv)?)
    };
    select_sets(p, nfds, [r, w, e], timeout, None)
}

pub fn pselect6(
    p: &mut Process,
    nfds: u64,
    r: u64,
    w: u64,
    e: u64,
    ts: u64,
    sig: u64,
) -> SysResult {
    let timeout = timespec(p, ts)?;
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let mask = if sig == 0 {
        None
    } else {
        let raw: [u8; 16] = p.mm.read_array(sig)?;
        let set = u64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
        let len = u64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
        Some((set, len))
    };
    select_sets(p, nfds, [r, w, e], timeout, mask)
}

// ---------------------------------------------------------------------------
// epoll

const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;
/// `struct epoll_event` is packed on x86_64: u32 events, u64 data.
const EPOLL_EVENT_LEN: usize = 12;
/// Linux's bound on maxevents.
const EP_MAX_EVENTS: u64 = (i32::MAX as u64) / EPOLL_EVENT_LEN as u64;

pub fn epoll_create1(p: &mut Process, flags: u64) -> SysResult {
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = OpenFile::new(Epoll::new(), O_RDWR);
    p.fds.install_from(
        0,
        Entry {
            file,
            cloexec: flags != 0,
        },
    )
}

pub fn epoll_create(p: &mut Process, size: u64) -> SysResult {
    if size as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    epoll_create1(p, 0)
}

/// The epoll instance open at `epfd` (EINVAL for another kind of file).
fn epoll_at(p: &Process, epfd: u64) -> Result<Arc<OpenFile>, Errno> {
    let file = p.fds.file(epfd)?;
    if file
        .object
        .as_any()
        .and_then(|a| a.downcast_ref::<Epoll>())
        .is_none()
    {
        return Err(Errno::EINVAL);
    }
    Ok(file)
}

fn as_epoll(file: &OpenFile) -> &Epoll {
    file.object
        .as_any()
        .and_then(|a| a.downcast_ref::<Epoll>())
        .expect("epoll_at checked the kind")
}

pub fn epoll_ctl(p: &mut Process, epfd: u64, op: u64, fd: u64, event: u64) -> SysResult {
    let ep_file = epoll_at(p, epfd)?;
    let target = p.fds.file(fd)?;
    if epfd == fd {
        return Err(Errno::EINVAL);
    }
    // Regular files and directories are always ready: Linux refuses them.
    if target.object.seekable() && target.object.wait_queue().is_none() {
        return Err(Errno::EPERM);
    }
    let ep = as_epoll(&ep_file);
    let read_event = |p: &mut Process| -> Result<(u32, u64), Errno> {
        let raw: [u8; EPOLL_EVENT_LEN] = p.mm.read_array(event)?;
        Ok((
            u32::from_le_bytes(raw[..4].try_into().expect("4 bytes")),
            u64::from_le_bytes(raw[4..].try_into().expect("8 bytes")),
        ))
    };
    match op {
        EPOLL_CTL_ADD => {
            let (events, data) = read_event(p)?;
            ep.add(fd, &target, events, data)?;
        }
        EPOLL_CTL_MOD => {
            let (events, data) = read_event(p)?;
            if events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            ep.modify(fd, &target, events, data)?;
        }
        EPOLL_CTL_DEL => ep.delete(fd, &target)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// epoll_wait's core: ready events written to `events`, or a wait on the
/// watched files' queues.
fn epoll_wait_core(
    p: &mut Process,
    epfd: u64,
    events: u64,
    max: u64,
    timeout: Option<u64>,
) -> Result<usize, Errno> {
    if max == 0 || max > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let ep_file = epoll_at(p, epfd)?;
    let poller = crate::fs::signalfd::Poller::checking(p.task.pending);
    let (ready, files) = as_epoll(&ep_file).collect(max as usize);
    drop(poller);
    if !ready.is_empty() {
        let mut out = vec![0u8; ready.len() * EPOLL_EVENT_LEN];
        for (slot, (revents, data)) in out.chunks_exact_mut(EPOLL_EVENT_LEN).zip(&ready) {
            slot[..4].copy_from_slice(&revents.to_le_bytes());
            slot[4..].copy_from_slice(&data.to_le_bytes());
        }
        p.mm.copy_out(events, &out)?;
        return Ok(ready.len());
    }
    if timeout == Some(0) {
        return Ok(0);
    }
    if let Some(ns) = timeout {
        p.restart.deadline_after(ns);
    }
    if p.restart.timed_out() {
        return Ok(0);
    }
    let queues: Vec<&WaitQueue> = files.iter().filter_map(|f| f.object.wait_queue()).collect();
    Err(block_on(p.task.tid, &queues))
}

fn timeout_ms(ms: u64) -> Option<u64> {
    let ms = ms as i32;
    (ms >= 0).then(|| ms as u64 * 1_000_000)
}

pub fn epoll_wait(p: &mut Process, epfd: u64, events: u64, max: u64, ms: u64) -> SysResult {
    epoll_wait_core(p, epfd, events, max as i32 as u64, timeout_ms(ms)).map(|n| n as u64)
}

pub fn epoll_pwait(
    p: &mut Process,
    epfd: u64,
    events: u64,
    max: u64,
    ms: u64,
    mask: u64,
    size: u64,
) -> SysResult {
    wait_mask(p, mask, size)?;
    let result = epoll_wait_core(p, epfd, events, max as i32 as u64, timeout_ms(ms));
    end_mask(p, &result);
    result.map(|n| n as u64)
}

pub fn epoll_pwait2(
    p: &mut Process,
    epfd: u64,
    events: u64,
    max: u64,
    ts: u64,
    mask: u64,
    size: u64,
) -> SysResult {
    let timeout = timespec(p, ts)?;
    wait_mask(p, mask, size)?;
    let result = epoll_wait_core(p, epfd, events, max as i32 as u64, timeout);
    end_mask(p, &result);
    result.map(|n| n as u64)
}
