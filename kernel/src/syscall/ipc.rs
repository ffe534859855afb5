//! System V IPC: shared memory segments, semaphore sets and message
//! queues (svipc(7)), as PostgreSQL, older daemons and test suites use
//! them.
//!
//! Each kind has one table of objects by id, found by key (`IPC_PRIVATE`
//! always makes a new one). A segment's pages are frames of its own,
//! allocated at `shmget` and mapped into each attaching address space
//! like a `MAP_SHARED` tmpfs file ([`AddressSpace::map_shared_frames`]):
//! the attachments are kept with the address space's shared mappings, so
//! fork copies them and exec and exit end them, and a removed segment
//! lives until its last detach. `semop` and message sends and receives
//! that must wait block on the object's wait queue like any call (see
//! `crate::task::wait`) and check again when it is woken; a waiter whose
//! object was removed meanwhile gets EIDRM. The workload runs as root, so
//! permission bits are kept and reported but grant everything.
//!
//! Limits are Linux's defaults (`ipc/util.h`, `include/uapi/linux/*.h`),
//! and besides them what the guest can hold: segments take at most half
//! of guest memory together, and the numbers of objects are capped so
//! their bookkeeping stays small in the kernel heap (ENOSPC, as Linux
//! past `SHMMNI`, `SEMMNI`, `MSGMNI`).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use lamina_abi::errno::Errno;
use spin::Mutex;

use super::SysResult;
use crate::arch::phys::PAGE_SIZE;
use crate::mm::frame;
use crate::mm::vm::Prot;
use crate::process::Process;
use crate::task::wait::{block_on, WaitQueue};
use crate::task::Tid;
use crate::time;

const IPC_PRIVATE: i32 = 0;
const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_NOWAIT: u64 = 0o4000;
const IPC_RMID: u64 = 0;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const IPC_INFO: u64 = 3;
/// Old callers (and some libcs) add this to ask for the 64-bit structures,
/// which are the only ones x86_64 has.
const IPC_64: u64 = 0x100;

const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
const SHM_REMAP: u64 = 0o40000;
const SHM_EXEC: u64 = 0o100000;
const SHM_LOCK: u64 = 11;
const SHM_UNLOCK: u64 = 12;
/// `shm_perm.mode` bits: removed, waiting for its last detach.
const SHM_DEST: u32 = 0o1000;
/// The attach address granularity (x86_64's SHMLBA: a page).
const SHMLBA: u64 = PAGE_SIZE;
const SHMMIN: u64 = 1;
/// Linux's default `kernel.shmmax` and `shmall` (effectively unlimited).
const SHMMAX: u64 = u64::MAX - (1 << 24);
/// Segments at once (Linux: 4,096): each one's bookkeeping is in the
/// kernel heap.
const SHMMNI: usize = 1024;

const GETPID: u64 = 11;
const GETVAL: u64 = 12;
const GETALL: u64 = 13;
const GETNCNT: u64 = 14;
const GETZCNT: u64 = 15;
const SETVAL: u64 = 16;
const SETALL: u64 = 17;
const SEM_UNDO: u16 = 0x1000;
/// Linux's defaults: semaphores per set, operations per `semop`, the
/// largest value.
const SEMMSL: u64 = 32_000;
const SEMOPM: u64 = 500;
const SEMVMX: i32 = 32_767;
/// Sets at once, and semaphores in all of them: Linux allows 32,000 sets;
/// lamina's heap holds the values, so it bounds the total instead.
const SEMMNI: usize = 256;
const SEMMNS: usize = 16 << 10;

const MSG_NOERROR: u64 = 0o10000;
const MSG_EXCEPT: u64 = 0o20000;
const MSG_COPY: u64 = 0o40000;
/// Linux's defaults: the largest message, a queue's byte bound.
const MSGMAX: u64 = 8192;
const MSGMNB: u64 = 16_384;
/// Queues at once (Linux: 32,000).
const MSGMNI: usize = 32;
/// Messages live in the kernel heap: all queued messages together may
/// take this much, text and bookkeeping (`MESSAGE_OVERHEAD` each); past
/// it a queue counts as full (a sender waits or gets EAGAIN).
const MSG_HEAP_MAX: u64 = 1 << 20;
const MESSAGE_OVERHEAD: u64 = 64;
static MSG_HEAP: AtomicU64 = AtomicU64::new(0);

/// Sizes of the x86_64 structures (`struct ipc64_perm`, `shmid64_ds`,
/// `semid64_ds`, `msqid64_ds`; glibc's `shmid_ds` and kin are the same).
const PERM_BYTES: usize = 48;
const SHMID_DS_BYTES: usize = 112;
const SEMID_DS_BYTES: usize = 104;
const MSQID_DS_BYTES: usize = 120;
/// `struct sembuf`: sem_num (u16), sem_op (i16), sem_flg (i16).
const SEMBUF_BYTES: usize = 6;

/// An object's `struct ipc64_perm`.
#[derive(Debug, Clone, Copy)]
struct Perm {
    key: i32,
    uid: u32,
    gid: u32,
    cuid: u32,
    cgid: u32,
    mode: u32,
    seq: u16,
}

impl Perm {
    fn new(key: i32, flags: u64, seq: u16) -> Self {
        Self {
            key,
            uid: 0,
            gid: 0,
            cuid: 0,
            cgid: 0,
            mode: (flags & 0o777) as u32,
            seq,
        }
    }

    fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.key.to_le_bytes());
        out[4..8].copy_from_slice(&self.uid.to_le_bytes());
        out[8..12].copy_from_slice(&self.gid.to_le_bytes());
        out[12..16].copy_from_slice(&self.cuid.to_le_bytes());
        out[16..20].copy_from_slice(&self.cgid.to_le_bytes());
        out[20..24].copy_from_slice(&self.mode.to_le_bytes());
        out[24..26].copy_from_slice(&self.seq.to_le_bytes());
    }

    /// `IPC_SET`: the owner and the permission bits from a caller's
    /// `ipc_perm`.
    fn set_from(&mut self, raw: &[u8]) {
        let u32_at = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
        self.uid = u32_at(4);
        self.gid = u32_at(8);
        self.mode = (self.mode & !0o777) | (u32_at(20) & 0o777);
    }
}

/// A table of objects by id. Ids are Linux's shape, `seq * 32768 +
/// index`, so a reused slot gets a new id and a stale id is EINVAL.
struct Table<T> {
    objects: BTreeMap<usize, Arc<T>>,
    next_seq: u16,
}

const SEQ_MULTIPLIER: usize = 32_768;

impl<T> Table<T> {
    const fn new() -> Self {
        Self {
            objects: BTreeMap::new(),
            next_seq: 0,
        }
    }

    fn get(&self, id: u64) -> Result<Arc<T>, Errno> {
        let id = usize::try_from(id).map_err(|_| Errno::EINVAL)?;
        self.objects.get(&id).cloned().ok_or(Errno::EINVAL)
    }

    /// A fresh id below `limit` objects; ENOSPC at the limit.
    fn new_id(&mut self, limit: usize) -> Result<(usize, u16), Errno> {
        if self.objects.len() >= limit {
            return Err(Errno::ENOSPC);
        }
        let index = (0..limit)
            .find(|i| !self.objects.keys().any(|id| id % SEQ_MULTIPLIER == *i))
            .ok_or(Errno::ENOSPC)?;
        let seq = self.next_seq;
        self.next_seq = (self.next_seq + 1) % (i32::MAX as usize / SEQ_MULTIPLIER) as u16;
        Ok((usize::from(seq) * SEQ_MULTIPLIER + index, seq))
    }
}

/// The `*get` lookup every kind shares: by key (`key_of`; `check` says
/// whether the found one fits the request), or a new object (`make`
/// builds it for its id).
fn get_or_create<T>(
    table: &mut Table<T>,
    key: i32,
    flags: u64,
    limit: usize,
    key_of: impl Fn(&T) -> i32,
    check: impl Fn(&T) -> Result<(), Errno>,
    make: impl FnOnce(usize, Perm) -> Result<T, Errno>,
) -> SysResult {
    if key != IPC_PRIVATE {
        if let Some((&id, object)) = table.objects.iter().find(|(_, o)| key_of(o) == key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            check(object)?;
            return Ok(id as u64);
        }
        if flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
    }
    let (id, seq) = table.new_id(limit)?;
    let object = make(id, Perm::new(key, flags, seq))?;
    table.objects.insert(id, Arc::new(object));
    Ok(id as u64)
}

fn now_secs() -> i64 {
    (time::realtime_ns() / time::NS_PER_SEC) as i64
}

fn put_i64(out: &mut [u8], at: usize, value: i64) {
    out[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(out: &mut [u8], at: usize, value: u64) {
    out[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut [u8], at: usize, value: u32) {
    out[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The command without `IPC_64`.
fn command(cmd: u64) -> u64 {
    cmd & !IPC_64
}

// ---------------------------------------------------------------------------
// Shared memory segments

/// What a segment's `shmid_ds` reports besides its permissions.
#[derive(Debug, Clone, Copy, Default)]
struct SegmentTimes {
    atime: i64,
    dtime: i64,
    ctime: i64,
    /// The last process to attach or detach.
    lpid: Tid,
}

pub struct Segment {
    id: usize,
    size: u64,
    cpid: Tid,
    /// Its pages, each a frame the segment holds one use of.
    frames: Vec<u64>,
    perm: Mutex<Perm>,
    times: Mutex<SegmentTimes>,
    /// Attachments in all address spaces.
    nattch: AtomicU64,
}

impl Drop for Segment {
    fn drop(&mut self) {
        for &frame in &self.frames {
            frame::release(frame);
        }
        SHM_PAGES.fetch_sub(self.frames.len() as u64, Ordering::Relaxed);
    }
}

static SEGMENTS: Mutex<Table<Segment>> = Mutex::new(Table::new());
/// Pages all segments hold together.
static SHM_PAGES: AtomicU64 = AtomicU64::new(0);

/// A segment attached in an address space at `[start, end)`: one count
/// of its `shm_nattch`, given back when the attachment goes (shmdt,
/// munmap, exec, exit). A fork's copy is one more.
pub struct Attachment {
    pub start: u64,
    pub end: u64,
    segment: Arc<Segment>,
}

impl Clone for Attachment {
    fn clone(&self) -> Self {
        self.segment.nattch.fetch_add(1, Ordering::Relaxed);
        Self {
            start: self.start,
            end: self.end,
            segment: Arc::clone(&self.segment),
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let left = self.segment.nattch.fetch_sub(1, Ordering::Relaxed) - 1;
        let destroyed = self.segment.perm.lock().mode & SHM_DEST != 0;
        if left == 0 && destroyed {
            SEGMENTS.lock().objects.remove(&self.segment.id);
        }
    }
}

/// Allocates a segment's frames (zeroed), or ENOMEM past what the guest
/// can hold (half of its memory for all segments together).
fn segment_frames(size: u64) -> Result<Vec<u64>, Errno> {
    let pages = size.div_ceil(PAGE_SIZE);
    let (_, total) = frame::stats();
    if SHM_PAGES.load(Ordering::Relaxed) + pages > total / 2 {
        return Err(Errno::ENOMEM);
    }
    let mut frames = Vec::new();
    frames
        .try_reserve_exact(pages as usize)
        .map_err(|_| Errno::ENOMEM)?;
    for _ in 0..pages {
        match frame::alloc_zeroed() {
            Some(f) => frames.push(f),
            None => {
                frames.into_iter().for_each(frame::release);
                return Err(Errno::ENOMEM);
            }
        }
    }
    SHM_PAGES.fetch_add(pages, Ordering::Relaxed);
    Ok(frames)
}

pub fn shmget(p: &mut Process, key: u64, size: u64, flags: u64) -> SysResult {
    let key = key as i32;
    let cpid = p.task.pid();
    let mut table = SEGMENTS.lock();
    get_or_create(
        &mut table,
        key,
        flags,
        SHMMNI,
        |s| s.perm.lock().key,
        |s| {
            if size > s.size {
                Err(Errno::EINVAL)
            } else {
                Ok(())
            }
        },
        |id, perm| {
            if !(SHMMIN..=SHMMAX).contains(&size) {
                return Err(Errno::EINVAL);
            }
            Ok(Segment {
                id,
                size,
                cpid,
                frames: segment_frames(size)?,
                perm: Mutex::new(perm),
                times: Mutex::new(SegmentTimes {
                    ctime: now_secs(),
                    ..SegmentTimes::default()
                }),
                nattch: AtomicU64::new(0),
            })
        },
    )
}

pub fn shmat(p: &mut Process, id: u64, addr: u64, flags: u64) -> SysResult {
    let segment = SEGMENTS.lock().get(id)?;
    let len = segment.frames.len() as u64 * PAGE_SIZE;
    let start = if addr == 0 {
        p.mm.find_free(len).ok_or(Errno::ENOMEM)?
    } else {
        let start = if flags & SHM_RND != 0 {
            addr - addr % SHMLBA
        } else {
            addr
        };
        if start % SHMLBA != 0 || start == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > crate::mm::vm::USER_END {
            return Err(Errno::EINVAL);
        }
        if flags & SHM_REMAP != 0 {
            p.shared_maps.remove(start, end);
            p.mm.unmap_range(start, end);
        } else if !p.mm.is_free(start, end) {
            return Err(Errno::EINVAL);
        }
        start
    };
    let prot = Prot {
        read: true,
        write: flags & SHM_RDONLY == 0,
        exec: flags & SHM_EXEC != 0,
    };
    p.mm.insert_shared(start, start + len, prot)?;
    if let Err(e) = p.mm.map_shared_frames(start, &segment.frames) {
        p.mm.unmap_range(start, start + len);
        return Err(e);
    }
    {
        let mut times = segment.times.lock();
        times.atime = now_secs();
        times.lpid = p.task.pid();
    }
    segment.nattch.fetch_add(1, Ordering::Relaxed);
    if !prot.write {
        p.shared_maps.add_read_only(start, start + len);
    }
    p.shared_maps.attach(Attachment {
        start,
        end: start + len,
        segment,
    });
    Ok(start)
}

pub fn shmdt(p: &mut Process, addr: u64) -> SysResult {
    let attachment = p.shared_maps.detach(addr).ok_or(Errno::EINVAL)?;
    p.shared_maps.remove(attachment.start, attachment.end);
    p.mm.unmap_range(attachment.start, attachment.end);
    {
        let mut times = attachment.segment.times.lock();
        times.dtime = now_secs();
        times.lpid = p.task.pid();
    }
    drop(attachment);
    Ok(0)
}

pub fn shmctl(p: &mut Process, id: u64, cmd: u64, buf: u64) -> SysResult {
    if command(cmd) == IPC_INFO {
        // struct shminfo: shmmax, shmmin, shmmni, shmseg, shmall.
        let mut info = [0u8; 72];
        put_u64(&mut info, 0, SHMMAX);
        put_u64(&mut info, 8, SHMMIN);
        put_u64(&mut info, 16, SHMMNI as u64);
        put_u64(&mut info, 24, SHMMNI as u64);
        put_u64(&mut info, 32, SHMMAX);
        p.mm.copy_out(buf, &info)?;
        let table = SEGMENTS.lock();
        return Ok(table
            .objects
            .keys()
            .map(|id| id % SEQ_MULTIPLIER)
            .max()
            .unwrap_or(0) as u64);
    }
    let mut table = SEGMENTS.lock();
    let segment = table.get(id)?;
    match command(cmd) {
        IPC_STAT => {
            let mut ds = [0u8; SHMID_DS_BYTES];
            segment.perm.lock().encode(&mut ds[..PERM_BYTES]);
            let times = *segment.times.lock();
            put_u64(&mut ds, 48, segment.size);
            put_i64(&mut ds, 56, times.atime);
            put_i64(&mut ds, 64, times.dtime);
            put_i64(&mut ds, 72, times.ctime);
            put_u32(&mut ds, 80, segment.cpid);
            put_u32(&mut ds, 84, times.lpid);
            put_u64(&mut ds, 88, segment.nattch.load(Ordering::Relaxed));
            drop(table);
            p.mm.copy_out(buf, &ds)?;
            Ok(0)
        }
        IPC_SET => {
            drop(table);
            let raw: [u8; PERM_BYTES] = p.mm.read_array(buf)?;
            segment.perm.lock().set_from(&raw);
            segment.times.lock().ctime = now_secs();
            Ok(0)
        }
        IPC_RMID => {
            let mut perm = segment.perm.lock();
            perm.mode |= SHM_DEST;
            // A removed segment cannot be found by its key any more.
            perm.key = IPC_PRIVATE;
            drop(perm);
            if segment.nattch.load(Ordering::Relaxed) == 0 {
                table.objects.remove(&(id as usize));
            }
            Ok(0)
        }
        // Every page is resident already: locking changes nothing.
        SHM_LOCK | SHM_UNLOCK => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------
// Semaphore sets

struct SemState {
    perm: Perm,
    values: Vec<i32>,
    /// The last process to change each semaphore.
    pids: Vec<Tid>,
    otime: i64,
    ctime: i64,
    /// Tasks blocked in semop: (tid, semaphore, waiting for zero).
    waiters: Vec<(Tid, u16, bool)>,
}

struct SemSet {
    state: Mutex<SemState>,
    /// semop callers that wait for a value to change.
    changed: WaitQueue,
}

static SEM_SETS: Mutex<Table<SemSet>> = Mutex::new(Table::new());
/// Semaphores in all sets.
static SEMS_IN_USE: AtomicU64 = AtomicU64::new(0);

/// SEM_UNDO adjustments by (process, set id): what the process's exit
/// adds back to each semaphore.
static UNDO: Mutex<BTreeMap<(Tid, usize), Vec<i32>>> = Mutex::new(BTreeMap::new());

impl Drop for SemSet {
    fn drop(&mut self) {
        let n = self.state.get_mut().values.len() as u64;
        SEMS_IN_USE.fetch_sub(n, Ordering::Relaxed);
    }
}

pub fn semget(_p: &mut Process, key: u64, nsems: u64, flags: u64) -> SysResult {
    let key = key as i32;
    let mut table = SEM_SETS.lock();
    get_or_create(
        &mut table,
        key,
        flags,
        SEMMNI,
        |s| s.state.lock().perm.key,
        |s| {
            if nsems as usize > s.state.lock().values.len() {
                Err(Errno::EINVAL)
            } else {
                Ok(())
            }
        },
        |_, perm| {
            if nsems == 0 || nsems > SEMMSL {
                return Err(Errno::EINVAL);
            }
            let n = nsems as usize;
            if SEMS_IN_USE.load(Ordering::Relaxed) as usize + n > SEMMNS {
                return Err(Errno::ENOSPC);
            }
            let mut values = Vec::new();
            let mut pids = Vec::new();
            values.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
            pids.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
            values.resize(n, 0);
            pids.resize(n, 0);
            SEMS_IN_USE.fetch_add(nsems, Ordering::Relaxed);
            Ok(SemSet {
                state: Mutex::new(SemState {
                    perm,
                    values,
                    pids,
                    otime: 0,
                    ctime: now_secs(),
                    waiters: Vec::new(),
                }),
                changed: WaitQueue::new(),
            })
        },
    )
}

/// One `struct sembuf`.
#[derive(Debug, Clone, Copy)]
struct SemOp {
    num: u16,
    op: i16,
    flags: u16,
}

pub fn semop(p: &mut Process, id: u64, sops: u64, nsops: u64) -> SysResult {
    semtimedop(p, id, sops, nsops, 0)
}

pub fn semtimedop(p: &mut Process, id: u64, sops: u64, nsops: u64, timeout: u64) -> SysResult {
    if nsops == 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > SEMOPM {
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0u8; nsops as usize * SEMBUF_BYTES];
    p.mm.copy_in(sops, &mut raw)?;
    let ops: Vec<SemOp> = raw
        .chunks_exact(SEMBUF_BYTES)
        .map(|b| SemOp {
            num: u16::from_le_bytes([b[0], b[1]]),
            op: i16::from_le_bytes([b[2], b[3]]),
            flags: u16::from_le_bytes([b[4], b[5]]),
        })
        .collect();
    if timeout != 0 && !p.restart.again {
        let ns = super::time::read_duration(p, timeout)?;
        p.restart.deadline_after(ns);
    }
    let tid = p.task.tid;
    let pid = p.task.pid();
    let set = match SEM_SETS.lock().get(id) {
        Ok(set) => set,
        // Removed while this call waited.
        Err(_) if p.restart.again => return Err(Errno::EIDRM),
        Err(e) => return Err(e),
    };
    let mut state = set.state.lock();
    state.waiters.retain(|&(t, _, _)| t != tid);
    let nsems = state.values.len();
    if ops.iter().any(|o| usize::from(o.num) >= nsems) {
        return Err(Errno::EFBIG);
    }
    // All or nothing: try them on a copy.
    let mut values = state.values.clone();
    for op in &ops {
        let value = &mut values[usize::from(op.num)];
        let blocked = match op.op {
            0 => *value != 0,
            n if n > 0 => {
                if *value + i32::from(n) > SEMVMX {
                    return Err(Errno::ERANGE);
                }
                *value += i32::from(n);
                false
            }
            n => {
                if *value + i32::from(n) < 0 {
                    true
                } else {
                    *value += i32::from(n);
                    false
                }
            }
        };
        if blocked {
            if op.flags & IPC_NOWAIT as u16 != 0 {
                return Err(Errno::EAGAIN);
            }
            if p.restart.timed_out() {
                return Err(Errno::EAGAIN);
            }
            state.waiters.push((tid, op.num, op.op == 0));
            drop(state);
            return Err(block_on(tid, &[&set.changed]));
        }
    }
    let undo: Vec<(u16, i32)> = ops
        .iter()
        .filter(|o| o.flags & SEM_UNDO != 0 && o.op != 0)
        .map(|o| (o.num, -i32::from(o.op)))
        .collect();
    if !undo.is_empty() {
        let mut table = UNDO.lock();
        let adjust = table
            .entry((pid, id as usize))
            .or_insert_with(|| vec![0; nsems]);
        for (num, delta) in undo {
            adjust[usize::from(num)] += delta;
        }
    }
    for op in &ops {
        state.pids[usize::from(op.num)] = pid;
    }
    state.values = values;
    state.otime = now_secs();
    drop(state);
    set.changed.wake_all();
    Ok(0)
}

/// A process has ended: its SEM_UNDO adjustments go back to their
/// semaphores (clamped to 0..=SEMVMX, as Linux does).
pub fn process_ended(pid: Tid) {
    let adjustments: Vec<((Tid, usize), Vec<i32>)> = {
        let mut undo = UNDO.lock();
        let keys: Vec<(Tid, usize)> = undo
            .range((pid, 0)..=(pid, usize::MAX))
            .map(|(&k, _)| k)
            .collect();
        keys.into_iter()
            .filter_map(|k| undo.remove(&k).map(|v| (k, v)))
            .collect()
    };
    for ((_, id), adjust) in adjustments {
        let Ok(set) = SEM_SETS.lock().get(id as u64) else {
            continue;
        };
        let mut state = set.state.lock();
        for (num, delta) in adjust.iter().enumerate().filter(|(_, d)| **d != 0) {
            if let Some(value) = state.values.get_mut(num) {
                *value = (*value + delta).clamp(0, SEMVMX);
                state.pids[num] = pid;
            }
        }
        drop(state);
        set.changed.wake_all();
    }
}

/// Forgets the SEM_UNDO adjustments of semaphore `num` of set `id` (all
/// of them for None): a SETVAL or SETALL, or the set's removal.
fn clear_undo(id: usize, num: Option<usize>) {
    let mut undo = UNDO.lock();
    undo.retain(|&(_, set), adjust| {
        if set != id {
            return true;
        }
        match num {
            Some(num) => {
                if let Some(a) = adjust.get_mut(num) {
                    *a = 0;
                }
                true
            }
            None => false,
        }
    });
}

/// Counts the waiters of `state` on `num` still blocked (one that a
/// signal ended has not run its semop again to leave the list).
fn waiting(state: &SemState, num: u16, for_zero: bool) -> u64 {
    state
        .waiters
        .iter()
        .filter(|&&(tid, n, zero)| {
            n == num
                && zero == for_zero
                && crate::task::with_tables(|t| {
                    t.tasks
                        .get(&tid)
                        .is_some_and(|task| task.state == crate::task::State::Blocked)
                })
        })
        .count() as u64
}

pub fn semctl(p: &mut Process, id: u64, num: u64, cmd: u64, arg: u64) -> SysResult {
    let cmd = command(cmd);
    if cmd == IPC_INFO {
        // struct seminfo: semmap, semmni, semmns, semmnu, semmsl, semopm,
        // semume, semusz, semvmx, semaem.
        let fields: [i32; 10] = [
            SEMMNI as i32,
            SEMMNI as i32,
            SEMMNS as i32,
            SEMMNS as i32,
            SEMMSL as i32,
            SEMOPM as i32,
            SEMOPM as i32,
            20,
            SEMVMX,
            SEMVMX,
        ];
        let bytes: Vec<u8> = fields.iter().flat_map(|f| f.to_le_bytes()).collect();
        p.mm.copy_out(arg, &bytes)?;
        return Ok(0);
    }
    let mut table = SEM_SETS.lock();
    let set = table.get(id)?;
    if cmd == IPC_RMID {
        table.objects.remove(&(id as usize));
        drop(table);
        clear_undo(id as usize, None);
        // Waiters run again, find the set gone and fail with EIDRM.
        set.changed.wake_all();
        return Ok(0);
    }
    drop(table);
    let mut state = set.state.lock();
    let nsems = state.values.len();
    let semnum = || -> Result<usize, Errno> {
        let n = usize::try_from(num).map_err(|_| Errno::EINVAL)?;
        if n >= nsems {
            return Err(Errno::EINVAL);
        }
        Ok(n)
    };
    match cmd {
        GETVAL => Ok(state.values[semnum()?] as u64),
        GETPID => Ok(u64::from(state.pids[semnum()?])),
        GETNCNT => Ok(waiting(&state, semnum()? as u16, false)),
        GETZCNT => Ok(waiting(&state, semnum()? as u16, true)),
        GETALL => {
            let bytes: Vec<u8> = state
                .values
                .iter()
                .flat_map(|&v| (v as u16).to_le_bytes())
                .collect();
            drop(state);
            p.mm.copy_out(arg, &bytes)?;
            Ok(0)
        }
        SETVAL => {
            let n = semnum()?;
            let value = arg as i32;
            if !(0..=SEMVMX).contains(&value) {
                return Err(Errno::ERANGE);
            }
            state.values[n] = value;
            state.pids[n] = p.task.pid();
            state.ctime = now_secs();
            drop(state);
            clear_undo(id as usize, Some(n));
            set.changed.wake_all();
            Ok(0)
        }
        SETALL => {
            let mut bytes = vec![0u8; nsems * 2];
            p.mm.copy_in(arg, &mut bytes)?;
            let values: Vec<i32> = bytes
                .chunks_exact(2)
                .map(|b| i32::from(u16::from_le_bytes([b[0], b[1]])))
                .collect();
            if values.iter().any(|&v| v > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            state.values = values;
            let pid = p.task.pid();
            state.pids.iter_mut().for_each(|p| *p = pid);
            state.ctime = now_secs();
            drop(state);
            clear_undo(id as usize, None);
            set.changed.wake_all();
            Ok(0)
        }
        IPC_STAT => {
            let mut ds = [0u8; SEMID_DS_BYTES];
            state.perm.encode(&mut ds[..PERM_BYTES]);
            put_i64(&mut ds, 48, state.otime);
            put_i64(&mut ds, 64, state.ctime);
            put_u64(&mut ds, 80, nsems as u64);
            drop(state);
            p.mm.copy_out(arg, &ds)?;
            Ok(0)
        }
        IPC_SET => {
            drop(state);
            let raw: [u8; PERM_BYTES] = p.mm.read_array(arg)?;
            let mut state = set.state.lock();
            state.perm.set_from(&raw);
            state.ctime = now_secs();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------
// Message queues

struct MsgState {
    perm: Perm,
    messages: VecDeque<(i64, Vec<u8>)>,
    /// Bytes of text queued, and the most it may hold (`msg_qbytes`).
    bytes: u64,
    max_bytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: Tid,
    lrpid: Tid,
}

struct MsgQueue {
    state: Mutex<MsgState>,
    /// Senders wait here for room, receivers for a message.
    changed: WaitQueue,
}

static MSG_QUEUES: Mutex<Table<MsgQueue>> = Mutex::new(Table::new());

impl Drop for MsgQueue {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        let held = state.bytes + state.messages.len() as u64 * MESSAGE_OVERHEAD;
        MSG_HEAP.fetch_sub(held, Ordering::Relaxed);
    }
}

pub fn msgget(_p: &mut Process, key: u64, flags: u64) -> SysResult {
    let key = key as i32;
    let mut table = MSG_QUEUES.lock();
    get_or_create(
        &mut table,
        key,
        flags,
        MSGMNI,
        |q| q.state.lock().perm.key,
        |_| Ok(()),
        |_, perm| {
            Ok(MsgQueue {
                state: Mutex::new(MsgState {
                    perm,
                    messages: VecDeque::new(),
                    bytes: 0,
                    max_bytes: MSGMNB,
                    stime: 0,
                    rtime: 0,
                    ctime: now_secs(),
                    lspid: 0,
                    lrpid: 0,
                }),
                changed: WaitQueue::new(),
            })
        },
    )
}

/// The queue `id`, or EIDRM when it was removed while this call waited.
fn queue(p: &Process, id: u64) -> Result<Arc<MsgQueue>, Errno> {
    match MSG_QUEUES.lock().get(id) {
        Err(_) if p.restart.again => Err(Errno::EIDRM),
        other => other,
    }
}

pub fn msgsnd(p: &mut Process, id: u64, msgp: u64, size: u64, flags: u64) -> SysResult {
    if size > MSGMAX {
        return Err(Errno::EINVAL);
    }
    let q = queue(p, id)?;
    let kind = p.mm.read_u64(msgp)? as i64;
    if kind < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = vec![0u8; size as usize];
    p.mm.copy_in(msgp.checked_add(8).ok_or(Errno::EFAULT)?, &mut text)?;
    let mut state = q.state.lock();
    // Room for its bytes, and (as Linux) for one more message header.
    let fits = state.bytes + size <= state.max_bytes
        && (state.messages.len() as u64) < state.max_bytes
        && MSG_HEAP.load(Ordering::Relaxed) + size + MESSAGE_OVERHEAD <= MSG_HEAP_MAX;
    if !fits {
        if flags & IPC_NOWAIT != 0 {
            return Err(Errno::EAGAIN);
        }
        drop(state);
        return Err(block_on(p.task.tid, &[&q.changed]));
    }
    state.bytes += size;
    MSG_HEAP.fetch_add(size + MESSAGE_OVERHEAD, Ordering::Relaxed);
    state.messages.push_back((kind, text));
    state.stime = now_secs();
    state.lspid = p.task.pid();
    drop(state);
    q.changed.wake_all();
    Ok(0)
}

pub fn msgrcv(p: &mut Process, id: u64, msgp: u64, size: u64, kind: u64, flags: u64) -> SysResult {
    if (size as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_COPY != 0 {
        // Checkpoint/restore's peek: not offered.
        return Err(Errno::ENOSYS);
    }
    let q = queue(p, id)?;
    let wanted = kind as i64;
    let mut state = q.state.lock();
    let found = match wanted {
        0 => (!state.messages.is_empty()).then_some(0),
        t if t > 0 && flags & MSG_EXCEPT != 0 => state.messages.iter().position(|m| m.0 != t),
        t if t > 0 => state.messages.iter().position(|m| m.0 == t),
        // The first of the lowest type up to |t|.
        t => state
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.0 <= t.saturating_neg())
            .min_by_key(|(index, m)| (m.0, *index))
            .map(|(index, _)| index),
    };
    let Some(index) = found else {
        if flags & IPC_NOWAIT != 0 {
            return Err(Errno::ENOMSG);
        }
        drop(state);
        return Err(block_on(p.task.tid, &[&q.changed]));
    };
    let len = state.messages[index].1.len() as u64;
    if len > size && flags & MSG_NOERROR == 0 {
        return Err(Errno::E2BIG);
    }
    let n = len.min(size) as usize;
    let (message_kind, text) = &state.messages[index];
    let mut out = Vec::with_capacity(8 + n);
    out.extend_from_slice(&message_kind.to_le_bytes());
    out.extend_from_slice(&text[..n]);
    // Copied out first: a bad buffer leaves the message queued.
    p.mm.copy_out(msgp, &out)?;
    state.messages.remove(index);
    state.bytes -= len;
    MSG_HEAP.fetch_sub(len + MESSAGE_OVERHEAD, Ordering::Relaxed);
    state.rtime = now_secs();
    state.lrpid = p.task.pid();
    drop(state);
    q.changed.wake_all();
    Ok(n as u64)
}

pub fn msgctl(p: &mut Process, id: u64, cmd: u64, buf: u64) -> SysResult {
    let cmd = command(cmd);
    if cmd == IPC_INFO {
        // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz,
        // msgtql (ints), msgseg (unsigned short).
        let fields: [i32; 7] = [
            (MSGMNI as u64 * MSGMNB / 1024) as i32,
            MSGMNB as i32,
            MSGMAX as i32,
            MSGMNB as i32,
            MSGMNI as i32,
            16,
            MSGMNB as i32,
        ];
        let mut bytes: Vec<u8> = fields.iter().flat_map(|f| f.to_le_bytes()).collect();
        bytes.extend_from_slice(&u16::MAX.to_le_bytes());
        bytes.extend_from_slice(&[0, 0]);
        p.mm.copy_out(buf, &bytes)?;
        return Ok(0);
    }
    let mut table = MSG_QUEUES.lock();
    let q = table.get(id)?;
    match cmd {
        IPC_RMID => {
            table.objects.remove(&(id as usize));
            drop(table);
            // Waiters run again, find the queue gone and fail with EIDRM.
            q.changed.wake_all();
            Ok(0)
        }
        IPC_STAT => {
            drop(table);
            let mut ds = [0u8; MSQID_DS_BYTES];
            let state = q.state.lock();
            state.perm.encode(&mut ds[..PERM_BYTES]);
            put_i64(&mut ds, 48, state.stime);
            put_i64(&mut ds, 56, state.rtime);
            put_i64(&mut ds, 64, state.ctime);
            put_u64(&mut ds, 72, state.bytes);
            put_u64(&mut ds, 80, state.messages.len() as u64);
            put_u64(&mut ds, 88, state.max_bytes);
            put_u32(&mut ds, 96, state.lspid);
            put_u32(&mut ds, 100, state.lrpid);
            drop(state);
            p.mm.copy_out(buf, &ds)?;
            Ok(0)
        }
        IPC_SET => {
            drop(table);
            let raw: [u8; MSQID_DS_BYTES] = p.mm.read_array(buf)?;
            let max_bytes = u64::from_le_bytes(raw[88..96].try_into().expect("8 bytes"));
            // Raising the bound above msgmnb takes CAP_SYS_RESOURCE, which
            // the workload (root) has; lamina refuses it all the same,
            // since the messages live in the kernel heap.
            if max_bytes > MSGMNB {
                return Err(Errno::EPERM);
            }
            let mut state = q.state.lock();
            state.perm.set_from(&raw[..PERM_BYTES]);
            state.max_bytes = max_bytes;
            state.ctime = now_secs();
            drop(state);
            q.changed.wake_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
