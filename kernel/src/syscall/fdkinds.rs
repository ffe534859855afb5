//! The descriptors that are not files: eventfd, timerfd, signalfd,
//! memfd (and its seals), and the POSIX timers that signal instead of
//! being read (`crate::task::posix_timer`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::fdkinds::*;
use lamina_abi::flags::{O_LARGEFILE, O_NONBLOCK, O_RDWR, TIMER_ABSTIME};

use super::SysResult;
use crate::fs::eventfd::EventFd;
use crate::fs::fd::Entry;
use crate::fs::file::{FileObject, OpenFile};
use crate::fs::inotify::Inotify;
use crate::fs::signalfd::SignalFd;
use crate::fs::timerfd::{TimerFd, WallClock};
use crate::fs::vfs::{self, Last, NodeKind, PATH_MAX};
use crate::process::Process;
use crate::task::posix_timer::{self, Notify, PosixTimer, TimerClock};
use crate::task::signal::{self, UNBLOCKABLE};
use crate::task::wait::block_on;

/// Installs `object` at the lowest free descriptor, named `link` in
/// /proc/PID/fd.
fn install(
    p: &mut Process,
    object: Arc<dyn FileObject>,
    link: &[u8],
    status: u32,
    cloexec: bool,
) -> SysResult {
    let file = OpenFile::with_path(object, status, link.to_vec());
    p.fds.install_from(0, Entry { file, cloexec })
}

/// The (status flags, close-on-exec) of a `*_CLOEXEC | *_NONBLOCK` flag
/// argument; EINVAL for any other bit.
fn open_flags(flags: u64, cloexec_bit: u32, nonblock_bit: u32) -> Result<(u32, bool), Errno> {
    let known = u64::from(cloexec_bit | nonblock_bit);
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let status = O_RDWR | (flags as u32 & nonblock_bit);
    Ok((status, flags as u32 & cloexec_bit != 0))
}

// ---------------------------------------------------------------------------
// eventfd

pub fn eventfd2(p: &mut Process, initval: u64, flags: u64) -> SysResult {
    let semaphore = flags & u64::from(EFD_SEMAPHORE);
    let (status, cloexec) = open_flags(flags & !semaphore, EFD_CLOEXEC, EFD_NONBLOCK)?;
    // The initial value is a C `unsigned int`.
    let object = EventFd::new(u64::from(initval as u32), semaphore != 0);
    install(p, object, crate::fs::eventfd::LINK, status, cloexec)
}

// ---------------------------------------------------------------------------
// timerfd

/// Clock ids beyond `ClockId`'s: the alarm clocks, which lamina's guest
/// (which never suspends) runs as their plain counterparts.
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
const CLOCK_BOOTTIME: u32 = 7;
const CLOCK_REALTIME_ALARM: u32 = 8;
const CLOCK_BOOTTIME_ALARM: u32 = 9;

/// The wall clock a timerfd or POSIX timer may count (EINVAL otherwise).
fn wall_clock(clock_id: u64) -> Result<WallClock, Errno> {
    match clock_id as u32 {
        CLOCK_REALTIME | CLOCK_REALTIME_ALARM => Ok(WallClock::Realtime),
        CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => Ok(WallClock::Monotonic),
        _ => Err(Errno::EINVAL),
    }
}

pub fn timerfd_create(p: &mut Process, clock_id: u64, flags: u64) -> SysResult {
    let clock = wall_clock(clock_id)?;
    let (status, cloexec) = open_flags(flags, TFD_CLOEXEC, TFD_NONBLOCK)?;
    install(
        p,
        TimerFd::new(clock),
        crate::fs::timerfd::LINK,
        status,
        cloexec,
    )
}

/// The timerfd behind `fd`: EBADF when not open, EINVAL when another kind.
fn timerfd(p: &Process, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let file = p.fds.file(fd)?;
    file.object
        .as_any()
        .and_then(|any| any.downcast_ref::<TimerFd>())
        .ok_or(Errno::EINVAL)?;
    Ok(file)
}

fn as_timerfd(file: &OpenFile) -> &TimerFd {
    file.object
        .as_any()
        .and_then(|any| any.downcast_ref::<TimerFd>())
        .expect("checked by timerfd()")
}

/// A `struct itimerspec` from user memory: (interval, value) in ns.
fn read_itimerspec(p: &mut Process, addr: u64) -> Result<(u64, u64), Errno> {
    Itimerspec::decode_ns(&p.mm.read_array(addr)?)
}

fn write_itimerspec(p: &mut Process, addr: u64, (interval, left): (u64, u64)) -> SysResult {
    if addr != 0 {
        p.mm.copy_out(addr, &Itimerspec::from_ns(interval, left).to_bytes())?;
    }
    Ok(0)
}

pub fn timerfd_settime(p: &mut Process, fd: u64, flags: u64, new: u64, old: u64) -> SysResult {
    let (interval, value) = read_itimerspec(p, new)?;
    if flags & !u64::from(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = timerfd(p, fd)?;
    let absolute = flags & u64::from(TFD_TIMER_ABSTIME) != 0;
    let previous = as_timerfd(&file).set(absolute, interval, value);
    write_itimerspec(p, old, previous)
}

pub fn timerfd_gettime(p: &mut Process, fd: u64, current: u64) -> SysResult {
    let file = timerfd(p, fd)?;
    let now = as_timerfd(&file).get();
    p.mm.copy_out(current, &Itimerspec::from_ns(now.0, now.1).to_bytes())?;
    Ok(0)
}

// ---------------------------------------------------------------------------
// signalfd

const SIGSET_LEN: u64 = 8;

pub fn signalfd4(p: &mut Process, fd: u64, mask: u64, size: u64, flags: u64) -> SysResult {
    if size != SIGSET_LEN {
        return Err(Errno::EINVAL);
    }
    let (status, cloexec) = open_flags(flags, SFD_CLOEXEC, SFD_NONBLOCK)?;
    let mask = p.mm.read_u64(mask)? & !UNBLOCKABLE;
    if fd as i32 == -1 {
        return install(
            p,
            SignalFd::new(mask),
            crate::fs::signalfd::LINK,
            status,
            cloexec,
        );
    }
    let file = p.fds.file(fd)?;
    let signalfd = file
        .object
        .as_any()
        .and_then(|any| any.downcast_ref::<SignalFd>())
        .ok_or(Errno::EINVAL)?;
    signalfd.set_mask(mask);
    Ok(fd)
}

/// The signalfd behind an open file, if it is one (`read` comes here).
pub fn as_signalfd(file: &OpenFile) -> Option<&SignalFd> {
    file.object.as_any()?.downcast_ref::<SignalFd>()
}

/// `read` of a signalfd: as many pending signals of its mask as fit, each
/// a `struct signalfd_siginfo`, taken from the reader's pending signals;
/// none pending waits (EAGAIN when non-blocking).
pub fn signalfd_read(p: &mut Process, file: &OpenFile, buf: u64, len: u64) -> SysResult {
    let signalfd = as_signalfd(file).ok_or(Errno::EINVAL)?;
    let room = (len / SignalfdSiginfo::SIZE as u64) as usize;
    if room == 0 {
        return Err(Errno::EINVAL);
    }
    // Each record goes out as it is taken (a bad buffer loses that
    // signal, as on Linux; the records before it count).
    let mut done = 0;
    while done < room {
        let Some((sig, info)) = signal::dequeue(p.task, signalfd.mask()) else {
            break;
        };
        let (timer_id, overrun) = info.timer.unwrap_or_default();
        let record = SignalfdSiginfo {
            signo: u32::from(sig),
            code: info.code,
            pid: info.pid,
            tid: timer_id as u32,
            overrun: overrun as u32,
            status: info.status,
            int: info.value as u32 as i32,
            ptr: info.value,
            addr: info.addr,
            ..SignalfdSiginfo::default()
        };
        let at = buf + (done * SignalfdSiginfo::SIZE) as u64;
        match p.mm.copy_out(at, &record.to_bytes()) {
            Ok(()) => done += 1,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    if done == 0 {
        if file.status() & O_NONBLOCK != 0 {
            return Err(Errno::EAGAIN);
        }
        let queue = file.object.wait_queue().ok_or(Errno::EAGAIN)?;
        return Err(block_on(p.task.tid, &[queue]));
    }
    Ok((done * SignalfdSiginfo::SIZE) as u64)
}

// ---------------------------------------------------------------------------
// memfd

/// Mode of a memfd's file, as Linux creates it (`MFD_NOEXEC_SEAL`: no
/// execute bits).
const MEMFD_MODE: u32 = 0o777;
const MEMFD_NOEXEC_MODE: u32 = 0o666;

pub fn memfd_create(p: &mut Process, name: u64, flags: u64) -> SysResult {
    let known =
        u64::from(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC);
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    if flags & MFD_EXEC != 0 && flags & MFD_NOEXEC_SEAL != 0 {
        return Err(Errno::EINVAL);
    }
    // No huge pages in lamina's guest memory: as a Linux kernel built
    // without hugetlbfs.
    if flags & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let name = match p.mm.read_cstr(name, MFD_NAME_MAX + 1) {
        Err(Errno::ENAMETOOLONG) => return Err(Errno::EINVAL),
        other => other?,
    };
    if name.len() > MFD_NAME_MAX {
        return Err(Errno::EINVAL);
    }
    let (mode, seals) = if flags & MFD_NOEXEC_SEAL != 0 {
        (MEMFD_NOEXEC_MODE, F_SEAL_EXEC)
    } else if flags & MFD_ALLOW_SEALING != 0 {
        (MEMFD_MODE, 0)
    } else {
        (MEMFD_MODE, F_SEAL_SEAL)
    };
    let node = crate::fs::tmpfs::TmpNode::new_memfd(mode, seals);
    let object = crate::fs::vfs::Node::open(node, O_RDWR, &crate::fs::vfs::NoProcess)?;
    let mut link = b"/memfd:".to_vec();
    link.extend_from_slice(&name);
    link.extend_from_slice(b" (deleted)");
    let file = OpenFile::with_path(object, O_RDWR | O_LARGEFILE, link);
    let cloexec = flags & MFD_CLOEXEC != 0;
    p.fds.install_from(0, Entry { file, cloexec })
}

/// `fcntl(F_ADD_SEALS)` and `fcntl(F_GET_SEALS)`.
pub fn fcntl_seals(p: &mut Process, file: &OpenFile, cmd: u64, arg: u64) -> SysResult {
    let node = file.object.node().ok_or(Errno::EINVAL)?;
    if cmd == F_GET_SEALS {
        return crate::fs::tmpfs::seals_of(&node)
            .map(u64::from)
            .ok_or(Errno::EINVAL);
    }
    let seals = arg as u32;
    if u64::from(seals) != arg || seals & !F_SEAL_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    crate::fs::tmpfs::seals_of(&node).ok_or(Errno::EINVAL)?;
    if !file.writable() {
        return Err(Errno::EPERM);
    }
    if seals & F_SEAL_WRITE != 0 && p.shared_maps.maps_node(&node) {
        return Err(Errno::EBUSY);
    }
    crate::fs::tmpfs::add_seals(&node, seals)?;
    Ok(0)
}

/// Whether a shared mapping of `file` may be writable (EPERM under
/// `F_SEAL_WRITE` or `F_SEAL_FUTURE_WRITE`).
pub fn check_shared_write_map(file: &OpenFile) -> Result<(), Errno> {
    let sealed = file
        .object
        .node()
        .and_then(|node| crate::fs::tmpfs::seals_of(&node))
        .is_some_and(|seals| seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0);
    if sealed {
        return Err(Errno::EPERM);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// POSIX timers

const SIGALRM: u8 = signal::SIGALRM;
const NSIG: i32 = 64;

pub fn timer_create(p: &mut Process, clock_id: u64, sevp: u64, timerid: u64) -> SysResult {
    let clock = match clock_id as u32 {
        CLOCK_PROCESS_CPUTIME_ID => TimerClock::ProcessCpu,
        _ if own_process_cpu_clock(p, clock_id as u32 as i32) => TimerClock::ProcessCpu,
        raw => match wall_clock(u64::from(raw)) {
            Ok(clock) => TimerClock::Wall(clock),
            // The raw and coarse clocks have no timers (Linux's answer);
            // negative ids (another process's or a thread's CPU clock)
            // and the thread CPU clock are not offered.
            Err(_) if matches!(raw, 4..=6) => return Err(Errno::EOPNOTSUPP),
            Err(e) => return Err(e),
        },
    };
    let event = if sevp != 0 {
        Some(Sigevent::from_bytes(&p.mm.read_array(sevp)?))
    } else {
        None
    };
    let signo = |ev: &Sigevent| -> Result<u8, Errno> {
        if (1..=NSIG).contains(&ev.signo) {
            Ok(ev.signo as u8)
        } else {
            Err(Errno::EINVAL)
        }
    };
    let (notify, value) = match event {
        None => (Notify::Process(SIGALRM), None),
        Some(ev) => {
            let notify = match ev.notify {
                SIGEV_NONE => Notify::None,
                SIGEV_SIGNAL => Notify::Process(signo(&ev)?),
                n if n == SIGEV_THREAD_ID || n == SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                    let tid = u32::try_from(ev.thread_id).map_err(|_| Errno::EINVAL)?;
                    if !thread_of_process(p, tid) {
                        return Err(Errno::EINVAL);
                    }
                    Notify::Thread(signo(&ev)?, tid)
                }
                _ => return Err(Errno::EINVAL),
            };
            (notify, Some(ev.value))
        }
    };
    let group = Arc::clone(&p.task.group);
    let id = {
        let mut timers = group.posix_timers.lock();
        if timers.len() >= posix_timer::MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        let id = (0..).find(|id| !timers.contains_key(id)).unwrap_or(0);
        // Without a sigevent, the signal carries the timer's id.
        let value = value.unwrap_or(id as u64);
        timers.insert(id, PosixTimer::new(id, &group, clock, notify, value));
        id
    };
    if let Err(e) = p.mm.copy_out(timerid, &id.to_le_bytes()) {
        group.posix_timers.lock().remove(&id);
        return Err(e);
    }
    Ok(0)
}

/// Whether `clock` is the calling process's CPU clock in the form glibc
/// passes (`MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED or CPUCLOCK_PROF)`,
/// pid 0 or its own; a thread's CPU clock and other processes' are not
/// offered).
fn own_process_cpu_clock(p: &Process, clock: i32) -> bool {
    const CPUCLOCK_PERTHREAD: i32 = 4;
    const CPUCLOCK_TYPE: i32 = 3;
    const CPUCLOCK_PROF: i32 = 0;
    const CPUCLOCK_SCHED: i32 = 2;
    if clock >= 0 || clock & CPUCLOCK_PERTHREAD != 0 {
        return false;
    }
    let pid = !(clock >> 3);
    (pid == 0 || pid as u32 == p.task.pid())
        && matches!(clock & CPUCLOCK_TYPE, CPUCLOCK_PROF | CPUCLOCK_SCHED)
}

/// Whether `tid` is a thread of the calling process.
fn thread_of_process(p: &Process, tid: u32) -> bool {
    tid == p.task.tid
        || crate::task::with_tables(|t| {
            t.procs
                .get(&p.task.pid())
                .is_some_and(|entry| entry.threads.contains(&tid))
        })
}

fn posix_timer(p: &Process, id: u64) -> Result<Arc<PosixTimer>, Errno> {
    // A `timer_t` id is a C `int`.
    let id = id as u32 as i32;
    p.task
        .group
        .posix_timers
        .lock()
        .get(&id)
        .cloned()
        .ok_or(Errno::EINVAL)
}

pub fn timer_settime(p: &mut Process, id: u64, flags: u64, new: u64, old: u64) -> SysResult {
    let timer = posix_timer(p, id)?;
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = read_itimerspec(p, new)?;
    let previous = timer.set(flags & TIMER_ABSTIME != 0, interval, value);
    write_itimerspec(p, old, previous)
}

pub fn timer_gettime(p: &mut Process, id: u64, current: u64) -> SysResult {
    let timer = posix_timer(p, id)?;
    let now = timer.get();
    p.mm.copy_out(current, &Itimerspec::from_ns(now.0, now.1).to_bytes())?;
    Ok(0)
}

pub fn timer_getoverrun(p: &mut Process, id: u64) -> SysResult {
    Ok(posix_timer(p, id)?.overrun() as u64)
}

pub fn timer_delete(p: &mut Process, id: u64) -> SysResult {
    let timer = posix_timer(p, id)?;
    p.task.group.posix_timers.lock().remove(&timer.id);
    Ok(0)
}

// ---------------------------------------------------------------------------
// inotify

pub fn inotify_init1(p: &mut Process, flags: u64) -> SysResult {
    let (status, cloexec) = open_flags(flags, IN_CLOEXEC, IN_NONBLOCK)?;
    let instance = Inotify::new()?;
    install(p, instance, crate::fs::inotify::LINK, status, cloexec)
}

/// The inotify instance behind `fd`: EBADF when not open, EINVAL when
/// another kind.
fn inotify(p: &Process, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let file = p.fds.file(fd)?;
    as_inotify(&file).ok_or(Errno::EINVAL)?;
    Ok(file)
}

fn as_inotify(file: &OpenFile) -> Option<&Inotify> {
    file.object.as_any()?.downcast_ref::<Inotify>()
}

pub fn inotify_add_watch(p: &mut Process, fd: u64, path: u64, mask: u64) -> SysResult {
    let mask = mask as u32;
    let file = inotify(p, fd)?;
    if mask & IN_ALL_EVENTS == 0
        || mask & (IN_MASK_ADD | IN_MASK_CREATE) == (IN_MASK_ADD | IN_MASK_CREATE)
    {
        return Err(Errno::EINVAL);
    }
    let last = if mask & IN_DONT_FOLLOW != 0 {
        Last::NoFollow
    } else {
        Last::Follow
    };
    let name = p.mm.read_cstr(path, PATH_MAX)?;
    if name.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let start = if name.first() == Some(&b'/') {
        Vec::new()
    } else {
        p.fs.cwd.clone()
    };
    let resolved = vfs::resolve(&start, &name, last, p)?;
    if mask & IN_ONLYDIR != 0 && resolved.node.kind() != NodeKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    let instance = as_inotify(&file).ok_or(Errno::EINVAL)?;
    instance.add_watch(&resolved.path, mask).map(|wd| wd as u64)
}

pub fn inotify_rm_watch(p: &mut Process, fd: u64, wd: u64) -> SysResult {
    let file = inotify(p, fd)?;
    let instance = as_inotify(&file).ok_or(Errno::EINVAL)?;
    instance.rm_watch(wd as u32 as i32).map(|()| 0)
}
