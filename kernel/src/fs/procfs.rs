//! `/proc`: what workloads and their tools (`ps`, `pidof`, `pgrep`) read
//! about processes and the machine.
//!
//! `/proc/PID` exists for each process in the tree, zombies included (as
//! Linux); `self` and `thread-self` link to the caller's. A process's
//! place in the tree and its threads are copied from the task tables,
//! which are locked once per read and never while something else is. Its
//! address space, descriptors and cwd are read through [`vfs::Caller`] when
//! they are the caller's (the system call holds their spin locks, which
//! on one CPU would never come free for a second taker), else through
//! the handles of one of its tasks that is off the CPU.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicU64, Ordering};
use lamina_abi::dirent::{DT_DIR, DT_LNK, DT_REG};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};
use spin::Mutex;

use super::fd::FdTable;
use super::file::FileObject;
use super::synth::{self, SynthFile, SynthFs, SynthLink};
use super::vfs::{self, DirEntry, DirFile, Node, NodeKind, NodeRef, ProcessView};
use crate::arch::phys::PAGE_SIZE;
use crate::mm::vm::{AddressSpace, STACK_TOP};
use crate::process::USER_HZ;
use crate::task::{self, FsContext, Group, Memory, SigActions, State, Tid};
use crate::time;

mod machine;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The unit of the times in `stat` (`AT_CLKTCK`).
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;
/// Inode numbers of the per-process nodes, stable for an id and far above
/// what `vfs::next_ino` hands out: `PROCESS_INO | pid << ID_SHIFT | slot`
/// below /proc/PID, `THREAD_INO | tid << ID_SHIFT | slot` below
/// /proc/PID/task/TID. Slot 0 is the directory, then its entries, then
/// `FD_SLOT + fd` for the descriptors.
const PROCESS_INO: u64 = 1 << 62;
const THREAD_INO: u64 = 1 << 61;
const ID_SHIFT: u32 = 24;
const SLOT_MASK: u64 = (1 << ID_SHIFT) - 1;
const FD_SLOT: u64 = 1 << 12;
/// `nice` 0 as `stat` reports it (Linux's `prio - MAX_RT_PRIO`).
const DEFAULT_PRIORITY: u64 = 20;

/// Builds `/proc`.
pub fn new() -> NodeRef {
    let fs = SynthFs::new(PROC_SUPER_MAGIC);
    let entries: Vec<(&'static [u8], NodeRef)> = vec![
        (
            b"self",
            SynthLink::new(fs, |ctx| match ctx.pid() {
                0 => Err(Errno::ENOENT),
                pid => Ok(format!("{pid}").into_bytes()),
            }),
        ),
        (
            b"thread-self",
            SynthLink::new(fs, |ctx| match ctx.pid() {
                0 => Err(Errno::ENOENT),
                pid => Ok(format!("{pid}/task/{}", ctx.tid()).into_bytes()),
            }),
        ),
        (b"meminfo", SynthFile::new(fs, |_| Ok(meminfo()))),
        (b"cpuinfo", SynthFile::new(fs, |_| Ok(cpuinfo()))),
        (b"mounts", SynthFile::new(fs, |_| Ok(mounts()))),
        (b"uptime", SynthFile::new(fs, |_| Ok(uptime()))),
        (b"stat", SynthFile::new(fs, |_| Ok(machine::stat()))),
        (b"loadavg", SynthFile::new(fs, |_| Ok(machine::loadavg()))),
        (
            b"filesystems",
            SynthFile::new(fs, |_| Ok(machine::FILESYSTEMS.to_vec())),
        ),
        (b"sys", machine::sys(fs)),
    ];
    Arc::new(ProcRoot {
        fs,
        ino: vfs::next_ino(),
        entries,
    })
}

/// /proc/meminfo: guest frames, and as `Slab` the kernel heap in use (the
/// kernel's own objects: tasks, open files, sockets).
fn meminfo() -> Vec<u8> {
    let (free, total) = crate::mm::frame::stats();
    let kib = |frames: u64| frames * 4;
    let heap_used_kib = crate::mm::heap::used_bytes().div_ceil(1024);
    format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\n\
         Buffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\n\
         SwapFree:              0 kB\nSlab:           {:8} kB\n",
        kib(total),
        kib(free),
        kib(free),
        heap_used_kib
    )
    .into_bytes()
}

fn cpuinfo() -> Vec<u8> {
    let (vendor, brand) = crate::arch::cpu::identity();
    let text = |bytes: &[u8]| {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        core::str::from_utf8(&bytes[..end])
            .unwrap_or("")
            .trim()
            .into()
    };
    let vendor: alloc::string::String = text(&vendor);
    let brand: alloc::string::String = text(&brand);
    let mhz = time::tsc_khz() / 1000;
    format!(
        "processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: {brand}\ncpu MHz\t\t: {mhz}.000\n\
         cpu cores\t: 1\nsiblings\t: 1\nflags\t\t: fpu tsc cx8 cmov mmx fxsr sse sse2 syscall nx lm\n\n"
    )
    .into_bytes()
}

fn mounts() -> Vec<u8> {
    let mut out = Vec::new();
    for (path, kind) in vfs::mount_table() {
        out.extend_from_slice(kind);
        out.push(b' ');
        out.extend_from_slice(&path);
        out.push(b' ');
        out.extend_from_slice(kind);
        out.extend_from_slice(b" rw 0 0\n");
    }
    out
}

fn uptime() -> Vec<u8> {
    let ns = time::monotonic_ns();
    let centis = ns / 10_000_000;
    format!("{}.{:02} 0.00\n", centis / 100, centis % 100).into_bytes()
}

/// `/proc/PID/mountinfo`: the mount table as /proc/mounts has it, in
/// Linux's fields (proc(5)): mount id, parent id, the device as `stat`
/// reports it for the mount's root, root, mount point, options, the
/// separator, type, source, super options.
fn mountinfo() -> Vec<u8> {
    /// The first mount id (Linux's ids start in the twenties too).
    const FIRST_MOUNT_ID: usize = 21;
    let table = vfs::mount_roots();
    let id_of = |path: &[u8]| {
        table
            .iter()
            .position(|(p, _, _)| p == path)
            .map_or(1, |i| i + FIRST_MOUNT_ID)
    };
    let mut out = Vec::new();
    for (index, (path, kind, root)) in table.iter().enumerate() {
        // The parent: the mount with the longest path above this one.
        let parent = table
            .iter()
            .filter(|(p, _, _)| {
                p != path
                    && (p.as_slice() == b"/"
                        || path
                            .strip_prefix(p.as_slice())
                            .is_some_and(|r| r.starts_with(b"/")))
            })
            .max_by_key(|(p, _, _)| p.len())
            .map_or(1, |(p, _, _)| id_of(p));
        let dev = root.stat().map_or(0, |s| s.st_dev);
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        out.extend_from_slice(
            format!("{} {parent} {major}:{minor} / ", index + FIRST_MOUNT_ID).as_bytes(),
        );
        out.extend_from_slice(path);
        out.extend_from_slice(b" rw,relatime - ");
        out.extend_from_slice(kind);
        out.push(b' ');
        out.extend_from_slice(kind);
        out.extend_from_slice(b" rw\n");
    }
    out
}

/// A decimal id (process, thread, descriptor) as /proc names it: digits
/// only, no leading zero.
fn parse_id(name: &[u8]) -> Option<Tid> {
    if (name.len() > 1 && name[0] == b'0') || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// Lists ".", "..", `fixed`, then a directory per id of `ids` (ascending)
/// from `cursor` on. An id's cursor derives from the id itself, so a
/// listing resumed after processes came and went neither repeats nor
/// skips those that stayed (as Linux's).
fn list_with_ids(
    ino: u64,
    fixed: Vec<(Vec<u8>, u64, u8)>,
    ids: &[Tid],
    id_ino: impl Fn(Tid) -> u64,
    cursor: u64,
    sink: &mut dyn FnMut(DirEntry) -> bool,
) {
    let ids_from = fixed.len() as u64 + 2;
    let mut more = true;
    if cursor < ids_from {
        synth::list(ino, fixed.into_iter(), cursor, &mut |entry| {
            more = sink(entry);
            more
        });
    }
    if !more {
        return;
    }
    let first = cursor.saturating_sub(ids_from);
    for &id in ids.iter().filter(|&&id| u64::from(id) >= first) {
        let entry = DirEntry {
            name: format!("{id}").into_bytes(),
            ino: id_ino(id),
            kind: DT_DIR,
            next: ids_from + u64::from(id) + 1,
        };
        if !sink(entry) {
            break;
        }
    }
}

/// `/proc` itself: the machine's files, the caller's links, and a
/// directory per process.
struct ProcRoot {
    fs: SynthFs,
    ino: u64,
    entries: Vec<(&'static [u8], NodeRef)>,
}

impl Node for ProcRoot {
    fn kind(&self) -> NodeKind {
        NodeKind::Directory
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.stat(self.ino, S_IFDIR | 0o555, 2))
    }

    fn lookup(&self, name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        if let Some((_, node)) = self.entries.iter().find(|(entry, _)| *entry == name) {
            return Ok(Arc::clone(node));
        }
        let target = Target {
            pid: parse_id(name).ok_or(Errno::ENOENT)?,
            tid: None,
        };
        if !target.exists() {
            return Err(Errno::ENOENT);
        }
        Ok(Arc::new(ProcDir {
            fs: self.fs,
            target,
        }))
    }

    fn read_dir(
        &self,
        cursor: u64,
        _ctx: &dyn ProcessView,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let fixed = self
            .entries
            .iter()
            .map(|(name, node)| {
                let ino = node.stat().map(|s| s.st_ino).unwrap_or(0);
                (name.to_vec(), ino, synth::dirent_kind(node))
            })
            .collect();
        let pids: Vec<Tid> = task::with_tables(|t| t.procs.keys().copied().collect());
        let ino = |pid| Target { pid, tid: None }.ino(0);
        list_with_ids(self.ino, fixed, &pids, ino, cursor, sink);
        Ok(())
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        Ok(DirFile::open(self))
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.fs.statfs())
    }

    fn fs_id(&self) -> usize {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// What a /proc/PID or /proc/PID/task/TID directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Cmdline,
    Comm,
    Cwd,
    Exe,
    Fd,
    Maps,
    Mounts,
    Root,
    Stat,
    Status,
    /// Only in /proc/PID.
    Task,
    Environ,
    Limits,
    Mountinfo,
    Statm,
}

const ENTRIES: [(&[u8], Entry); 15] = [
    (b"cmdline", Entry::Cmdline),
    (b"comm", Entry::Comm),
    (b"cwd", Entry::Cwd),
    (b"environ", Entry::Environ),
    (b"exe", Entry::Exe),
    (b"fd", Entry::Fd),
    (b"limits", Entry::Limits),
    (b"maps", Entry::Maps),
    (b"mountinfo", Entry::Mountinfo),
    (b"mounts", Entry::Mounts),
    (b"root", Entry::Root),
    (b"stat", Entry::Stat),
    (b"statm", Entry::Statm),
    (b"status", Entry::Status),
    (b"task", Entry::Task),
];

impl Entry {
    fn dirent_kind(self) -> u8 {
        match self {
            Entry::Fd | Entry::Task => DT_DIR,
            Entry::Cwd | Entry::Exe | Entry::Root => DT_LNK,
            _ => DT_REG,
        }
    }

    /// The entry's inode slot (0 is its directory's).
    fn slot(self) -> u64 {
        self as u64 + 1
    }
}

/// The process a node shows (`tid` None: /proc/PID) or one of its
/// threads (/proc/PID/task/TID).
#[derive(Debug, Clone, Copy)]
struct Target {
    pid: Tid,
    tid: Option<Tid>,
}

impl Target {
    fn ino(self, slot: u64) -> u64 {
        let (space, id) = match self.tid {
            None => (PROCESS_INO, self.pid),
            Some(tid) => (THREAD_INO, tid),
        };
        space | u64::from(id) << ID_SHIFT | (slot & SLOT_MASK)
    }

    fn entries(self) -> impl Iterator<Item = &'static (&'static [u8], Entry)> {
        ENTRIES
            .iter()
            .filter(move |(_, entry)| self.tid.is_none() || *entry != Entry::Task)
    }

    /// Whether the process (a zombie too) and the thread are in the tree.
    fn exists(self) -> bool {
        task::with_tables(|t| {
            t.procs
                .get(&self.pid)
                .is_some_and(|e| self.tid.is_none_or(|tid| e.threads.contains(&tid)))
        })
    }

    /// The node of `entry` in this target's directory.
    fn node(self, fs: SynthFs, entry: Entry) -> NodeRef {
        type Content = fn(Target, &dyn ProcessView) -> Result<Vec<u8>, Errno>;
        let ino = self.ino(entry.slot());
        let file = |content: Content| -> NodeRef {
            SynthFile::with_ino(fs, ino, move |ctx| content(self, ctx))
        };
        let link = |target: Content| -> NodeRef {
            SynthLink::with_ino(fs, ino, move |ctx| target(self, ctx))
        };
        match entry {
            Entry::Cmdline => file(cmdline),
            Entry::Comm => file(comm),
            Entry::Cwd => link(cwd),
            Entry::Exe => link(exe),
            Entry::Fd => Arc::new(FdDir { fs, target: self }),
            Entry::Maps => file(maps),
            Entry::Mounts => file(|_, _| Ok(mounts())),
            Entry::Root => link(root),
            Entry::Stat => file(stat),
            Entry::Status => file(status),
            Entry::Task => Arc::new(TaskDir { fs, pid: self.pid }),
            Entry::Environ => file(environ),
            Entry::Limits => file(limits),
            Entry::Mountinfo => file(|_, _| Ok(mountinfo())),
            Entry::Statm => file(statm),
        }
    }
}

/// `/proc/PID` or `/proc/PID/task/TID`.
struct ProcDir {
    fs: SynthFs,
    target: Target,
}

impl Node for ProcDir {
    fn kind(&self) -> NodeKind {
        NodeKind::Directory
    }

    /// Owned by the process's effective ids, as Linux's (`ps` reads
    /// its USER column here).
    fn stat(&self) -> Result<Stat, Errno> {
        let mut stat = self.fs.stat(self.target.ino(0), S_IFDIR | 0o555, 2);
        let group = task::with_tables(|t| {
            t.procs
                .get(&self.target.pid)
                .map(|e| alloc::sync::Arc::clone(&e.group))
        });
        if let Some(group) = group {
            let creds = group.creds.lock();
            (stat.st_uid, stat.st_gid) = (creds.euid, creds.egid);
        }
        Ok(stat)
    }

    fn lookup(&self, name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        let (_, entry) = self
            .target
            .entries()
            .find(|(entry, _)| *entry == name)
            .ok_or(Errno::ENOENT)?;
        if !self.target.exists() {
            return Err(Errno::ENOENT);
        }
        Ok(self.target.node(self.fs, *entry))
    }

    fn read_dir(
        &self,
        cursor: u64,
        _ctx: &dyn ProcessView,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let entries = self.target.entries().map(|&(name, entry)| {
            (
                name.to_vec(),
                self.target.ino(entry.slot()),
                entry.dirent_kind(),
            )
        });
        synth::list(self.target.ino(0), entries, cursor, sink);
        Ok(())
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        Ok(DirFile::open(self))
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.fs.statfs())
    }

    fn fs_id(&self) -> usize {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// `/proc/PID/task`: a directory per thread.
struct TaskDir {
    fs: SynthFs,
    pid: Tid,
}

impl TaskDir {
    fn ino(&self) -> u64 {
        Target {
            pid: self.pid,
            tid: None,
        }
        .ino(Entry::Task.slot())
    }
}

impl Node for TaskDir {
    fn kind(&self) -> NodeKind {
        NodeKind::Directory
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.stat(self.ino(), S_IFDIR | 0o555, 2))
    }

    fn lookup(&self, name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        let target = Target {
            pid: self.pid,
            tid: Some(parse_id(name).ok_or(Errno::ENOENT)?),
        };
        if !target.exists() {
            return Err(Errno::ENOENT);
        }
        Ok(Arc::new(ProcDir {
            fs: self.fs,
            target,
        }))
    }

    fn read_dir(
        &self,
        cursor: u64,
        _ctx: &dyn ProcessView,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let mut tids = task::with_tables(|t| {
            t.procs
                .get(&self.pid)
                .map(|e| e.threads.clone())
                .unwrap_or_default()
        });
        tids.sort_unstable();
        let pid = self.pid;
        let ino = |tid| {
            Target {
                pid,
                tid: Some(tid),
            }
            .ino(0)
        };
        list_with_ids(self.ino(), Vec::new(), &tids, ino, cursor, sink);
        Ok(())
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        Ok(DirFile::open(self))
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.fs.statfs())
    }

    fn fs_id(&self) -> usize {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// `/proc/PID/fd/N`: a link whose text names the file (or `pipe:[ino]`),
/// and which, followed, opens the same object.
struct FdLink {
    link: NodeRef,
    object: Option<Arc<dyn FileObject>>,
}

impl Node for FdLink {
    fn kind(&self) -> NodeKind {
        NodeKind::Symlink
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.link.stat()
    }

    fn readlink(&self, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
        self.link.readlink(ctx)
    }

    fn open(
        self: Arc<Self>,
        flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        Arc::clone(&self.link).open(flags, ctx)
    }

    fn fs_id(&self) -> usize {
        self.link.fs_id()
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }

    fn magic_target(&self, _ctx: &dyn ProcessView) -> Option<NodeRef> {
        let object = self.object.as_ref()?;
        // A file with a node reopens as itself (a new offset, as Linux);
        // a pipe or a console stream is the very object.
        Some(match object.node() {
            Some(node) => node,
            None => Arc::new(OpenObject(Arc::clone(object))),
        })
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        self.link.statfs()
    }
}

/// An open object with no node of its own (a pipe, a console stream),
/// reached through /proc/PID/fd/N: opening it shares the object.
struct OpenObject(Arc<dyn FileObject>);

impl Node for OpenObject {
    fn kind(&self) -> NodeKind {
        let mode = self.0.stat().map_or(0, |s| s.st_mode);
        match NodeKind::of_mode(mode) {
            NodeKind::Directory | NodeKind::Symlink => NodeKind::Other,
            kind => kind,
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.0.stat()
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        Ok(Arc::clone(&self.0))
    }

    fn setattr(&self, _attr: &vfs::SetAttr) -> Result<(), Errno> {
        Ok(())
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Err(Errno::ENOSYS)
    }

    fn fs_id(&self) -> usize {
        // Its own: nothing links or renames into it.
        self as *const Self as usize
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// `/proc/PID/fd`: one symlink per open descriptor.
struct FdDir {
    fs: SynthFs,
    target: Target,
}

impl FdDir {
    fn entries(&self, ctx: &dyn ProcessView) -> Result<Vec<(u64, Vec<u8>)>, Errno> {
        let snap = snapshot(self.target.pid, ctx)?;
        let thread = snap.thread(self.target, ctx);
        Ok(with_parts(thread, ctx, |parts| {
            parts.fds.map(fd_targets).unwrap_or_default()
        }))
    }
}

impl Node for FdDir {
    fn kind(&self) -> NodeKind {
        NodeKind::Directory
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let ino = self.target.ino(Entry::Fd.slot());
        Ok(self.fs.stat(ino, S_IFDIR | 0o500, 2))
    }

    fn lookup(&self, name: &[u8], ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        let fd = u64::from(parse_id(name).ok_or(Errno::ENOENT)?);
        let target = self
            .entries(ctx)
            .map_err(|_| Errno::ENOENT)?
            .into_iter()
            .find(|(n, _)| *n == fd)
            .map(|(_, target)| target)
            .ok_or(Errno::ENOENT)?;
        let ino = self.target.ino(FD_SLOT + fd);
        let snap = snapshot(self.target.pid, ctx)?;
        let thread = snap.thread(self.target, ctx);
        let object = with_parts(thread, ctx, |parts| {
            parts
                .fds
                .and_then(|fds| fds.file(fd).ok())
                .map(|file| Arc::clone(&file.object))
        });
        Ok(Arc::new(FdLink {
            link: SynthLink::with_ino(self.fs, ino, move |_| Ok(target.clone())),
            object,
        }))
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        // The listing is taken now: a later getdents64 has no caller to
        // read the caller's own descriptors through.
        let mut entries = Vec::new();
        synth::list(
            self.target.ino(Entry::Fd.slot()),
            self.entries(ctx)?.into_iter().map(|(fd, _)| {
                (
                    format!("{fd}").into_bytes(),
                    self.target.ino(FD_SLOT + fd),
                    DT_LNK,
                )
            }),
            0,
            &mut |entry: DirEntry| {
                entries.push(entry);
                true
            },
        );
        Ok(DirFile::with_listing(self, entries))
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.fs.statfs())
    }

    fn fs_id(&self) -> usize {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// A process as the tables had it when one of its files was read.
struct ProcSnap {
    ppid: Tid,
    pgid: Tid,
    sid: Tid,
    group: Arc<Group>,
    exit_signal: u8,
    zombie: bool,
    /// Leader first, as the tree keeps them.
    threads: Vec<ThreadSnap>,
}

struct ThreadSnap {
    tid: Tid,
    /// On the CPU or waiting for it (`R`), else blocked in a call (`S`).
    running: bool,
    blocked: u64,
    pending: u64,
    /// Handles on what it shares; None for the task on the CPU, the
    /// caller (read through [`vfs::Caller`]).
    handles: Option<Handles>,
}

struct Handles {
    mem: Arc<Memory>,
    files: Arc<Mutex<FdTable>>,
    fs: Arc<Mutex<FsContext>>,
    sigactions: Arc<Mutex<SigActions>>,
}

fn snapshot(pid: Tid, ctx: &dyn ProcessView) -> Result<ProcSnap, Errno> {
    let caller = ctx
        .caller()
        .map(|c| (c.task.tid, c.task.sigmask, c.task.pending));
    task::with_tables(|t| {
        let entry = t.procs.get(&pid).ok_or(Errno::ESRCH)?;
        let threads = entry
            .threads
            .iter()
            .map(|&tid| match t.tasks.get(&tid) {
                Some(task) => ThreadSnap {
                    tid,
                    running: task.state == State::Runnable,
                    blocked: task.sigmask,
                    pending: task.pending,
                    handles: Some(Handles {
                        mem: Arc::clone(&task.mem),
                        files: Arc::clone(&task.files),
                        fs: Arc::clone(&task.fs),
                        sigactions: Arc::clone(&task.sigactions),
                    }),
                },
                None => {
                    let (blocked, pending) = caller
                        .filter(|&(caller_tid, _, _)| caller_tid == tid)
                        .map_or((0, 0), |(_, blocked, pending)| (blocked, pending));
                    ThreadSnap {
                        tid,
                        running: true,
                        blocked,
                        pending,
                        handles: None,
                    }
                }
            })
            .collect();
        Ok(ProcSnap {
            ppid: entry.parent,
            pgid: entry.pgid,
            sid: entry.sid,
            group: Arc::clone(&entry.group),
            exit_signal: entry.exit_signal,
            zombie: entry.zombie.is_some(),
            threads,
        })
    })
}

impl ProcSnap {
    /// The thread whose parts `target` shows: the one it names; for a
    /// process, the caller if it is the caller's, else the first off the
    /// CPU.
    fn thread(&self, target: Target, ctx: &dyn ProcessView) -> Option<&ThreadSnap> {
        let wanted = match target.tid {
            Some(tid) => Some(tid),
            None if target.pid == ctx.pid() => Some(ctx.tid()),
            None => None,
        };
        match wanted {
            Some(tid) => self.threads.iter().find(|t| t.tid == tid),
            None => self.threads.iter().find(|t| t.handles.is_some()),
        }
    }

    /// The state letter: a thread's own; a process's is its leader's.
    fn state(&self, target: Target, thread: Option<&ThreadSnap>) -> u8 {
        let shown = match target.tid {
            Some(_) => thread,
            None => self.threads.first(),
        };
        match shown {
            _ if self.zombie => b'Z',
            Some(t) if !t.running => b'S',
            _ => b'R',
        }
    }
}

/// A thread's shared parts, each None where unreadable (a zombie has
/// none; a walk without a caller cannot read the task on the CPU).
#[derive(Default)]
struct Parts<'a> {
    mm: Option<&'a AddressSpace>,
    fds: Option<&'a FdTable>,
    fs: Option<&'a FsContext>,
    /// Signals ignored and caught (`SigIgn`, `SigCgt`).
    dispositions: (u64, u64),
}

/// Runs `f` on `thread`'s parts: the caller's as its system call holds
/// them, another's locked for the moment.
fn with_parts<R>(
    thread: Option<&ThreadSnap>,
    ctx: &dyn ProcessView,
    f: impl FnOnce(&Parts) -> R,
) -> R {
    let caller = ctx.caller();
    let Some(thread) = thread else {
        return f(&Parts::default());
    };
    if let Some(c) = caller.as_ref().filter(|c| c.task.tid == thread.tid) {
        return f(&Parts {
            mm: Some(c.mm),
            fds: Some(c.fds),
            fs: Some(c.fs),
            dispositions: dispositions(&c.task.sigactions),
        });
    }
    let Some(h) = &thread.handles else {
        return f(&Parts::default());
    };
    let c = caller.as_ref();
    borrow(&h.mem.space, c.map(|c| (&c.task.mem.space, c.mm)), |mm| {
        borrow(&*h.files, c.map(|c| (&*c.task.files, c.fds)), |fds| {
            borrow(&*h.fs, c.map(|c| (&*c.task.fs, c.fs)), |fs| {
                f(&Parts {
                    mm,
                    fds,
                    fs,
                    dispositions: dispositions(&h.sigactions),
                })
            })
        })
    })
}

/// `mutex`'s value for a moment: when it is one the caller holds (another
/// process shares it: `CLONE_VM`, `CLONE_FILES`, `CLONE_FS`), the
/// caller's; else locked here. None if it is held all the same, which only
/// the system call in progress can do (a walk without a caller).
fn borrow<T, R>(
    mutex: &Mutex<T>,
    held: Option<(&Mutex<T>, &T)>,
    f: impl FnOnce(Option<&T>) -> R,
) -> R {
    if let Some((held_mutex, value)) = held {
        if core::ptr::eq(mutex, held_mutex) {
            return f(Some(value));
        }
    }
    match mutex.try_lock() {
        Some(guard) => f(Some(&guard)),
        None => f(None),
    }
}

/// The signals ignored and those caught, as masks (bit `n - 1` for `n`).
fn dispositions(actions: &Mutex<SigActions>) -> (u64, u64) {
    let Some(actions) = actions.try_lock() else {
        return (0, 0);
    };
    actions
        .iter()
        .enumerate()
        .fold((0, 0), |(ignored, caught), (index, action)| {
            match action.handler {
                SIG_DFL => (ignored, caught),
                SIG_IGN => (ignored | 1 << index, caught),
                _ => (ignored, caught | 1 << index),
            }
        })
}

/// The size of the address space in bytes, and its resident pages.
fn memory_use(mm: &AddressSpace) -> (u64, u64) {
    let size = mm.regions().map(|(start, end, _, _)| end - start).sum();
    (size, mm.resident_pages())
}

fn ticks(ns: &AtomicU64) -> u64 {
    ns.load(Ordering::Relaxed) / NS_PER_TICK
}

/// `/proc/PID/stat`: one line, Linux's 52 fields (proc(5)).
fn stat(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    let thread = snap.thread(target, ctx);
    if target.tid.is_some() && thread.is_none() {
        return Err(Errno::ESRCH);
    }
    let g = &snap.group;
    let comm = String::from_utf8_lossy(&g.comm.lock()).into_owned();
    let state = snap.state(target, thread) as char;
    let ((vsize, rss), (ignored, caught)) = with_parts(thread, ctx, |parts| {
        (
            parts.mm.map(memory_use).unwrap_or_default(),
            parts.dispositions,
        )
    });
    let (blocked, pending) = thread.map_or((0, 0), |t| (t.blocked, t.pending));
    let pending = pending | g.pending.load(Ordering::Relaxed);
    let rss_limit = g.rlimits.lock()[RLIMIT_RSS as usize].rlim_cur;
    let threads = snap.threads.len().max(1) as u64;
    let start = g.start_ns / NS_PER_TICK;
    let id = target.tid.unwrap_or(target.pid);
    // After `pid (comm) state`, from field 4 on.
    let fields: [i128; 49] = [
        snap.ppid.into(),
        snap.pgid.into(),
        snap.sid.into(),
        0,  // tty_nr: no controlling terminal
        -1, // tpgid
        0,  // flags
        0,  // minflt
        0,  // cminflt
        0,  // majflt
        0,  // cmajflt
        ticks(&g.user_ns).into(),
        ticks(&g.system_ns).into(),
        ticks(&g.children_user_ns).into(),
        ticks(&g.children_system_ns).into(),
        DEFAULT_PRIORITY.into(),
        0, // nice
        threads.into(),
        0, // itrealvalue
        start.into(),
        vsize.into(),
        rss.into(),
        rss_limit.into(),
        0, // startcode
        0, // endcode
        0, // startstack
        0, // kstkesp
        0, // kstkeip
        pending.into(),
        blocked.into(),
        ignored.into(),
        caught.into(),
        0, // wchan
        0, // nswap
        0, // cnswap
        snap.exit_signal.into(),
        0, // processor
        0, // rt_priority
        0, // policy: SCHED_OTHER
        0, // delayacct_blkio_ticks
        0, // guest_time
        0, // cguest_time
        0, // start_data
        0, // end_data
        0, // start_brk
        0, // arg_start
        0, // arg_end
        0, // env_start
        0, // env_end
        0, // exit_code
    ];
    let mut out = format!("{id} ({comm}) {state}");
    for field in fields {
        let _ = write!(out, " {field}");
    }
    out.push('\n');
    Ok(out.into_bytes())
}

/// `/proc/PID/statm`: sizes in pages (proc(5)): the address space,
/// resident pages, shared (lamina does not count them apart: 0), the
/// program's code, libraries (0: counted with the rest), data (every
/// writable region: data, heap, stack, anonymous memory), dirty (0, as
/// Linux since 2.6).
fn statm(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    let thread = snap.thread(target, ctx);
    let pages = |bytes: u64| bytes / PAGE_SIZE;
    let (size, resident, text, data) = with_parts(thread, ctx, |parts| {
        parts.mm.map_or((0, 0, 0, 0), |mm| {
            let (size, resident) = memory_use(mm);
            let (mut text, mut data) = (0, 0);
            for (start, end, prot, image) in mm.regions() {
                if image && prot.exec {
                    text += end - start;
                }
                if prot.write {
                    data += end - start;
                }
            }
            (pages(size), resident, pages(text), pages(data))
        })
    });
    Ok(format!("{size} {resident} 0 {text} 0 {data} 0\n").into_bytes())
}

/// `/proc/PID/status`: the same and more, one `Name:\tvalue` per line.
fn status(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    let thread = snap.thread(target, ctx);
    if target.tid.is_some() && thread.is_none() {
        return Err(Errno::ESRCH);
    }
    let g = &snap.group;
    let state = match snap.state(target, thread) {
        b'R' => "R (running)",
        b'S' => "S (sleeping)",
        _ => "Z (zombie)",
    };
    let (blocked, pending) = thread.map_or((0, 0), |t| (t.blocked, t.pending));
    let shared_pending = g.pending.load(Ordering::Relaxed);
    let queued_limit = g.rlimits.lock()[RLIMIT_SIGPENDING as usize].rlim_cur;
    let pid = target.pid;
    let tid = target.tid.unwrap_or(pid);
    let creds = g.creds.lock().clone();
    // As Linux: each group followed by a space.
    let groups: String = creds.groups.iter().map(|g| format!("{g} ")).collect();
    let mut out = String::new();
    let _ = writeln!(out, "Name:\t{}", String::from_utf8_lossy(&g.comm.lock()));
    with_parts(thread, ctx, |parts| {
        if let Some(fs) = parts.fs {
            let _ = writeln!(out, "Umask:\t{:04o}", fs.umask);
        }
        let fd_size = parts
            .fds
            .and_then(|fds| fds.iter().map(|(fd, _)| fd + 1).max())
            .unwrap_or(0)
            .max(64)
            .next_multiple_of(64);
        let _ = write!(
            out,
            "State:\t{state}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{tid}\nPPid:\t{}\nTracerPid:\t0\n\
             Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{fd_size}\nGroups:\t{groups}\n\
             NStgid:\t{pid}\nNSpid:\t{tid}\nNSpgid:\t{}\nNSsid:\t{}\n",
            snap.ppid,
            creds.uid,
            creds.euid,
            creds.suid,
            creds.fsuid,
            creds.gid,
            creds.egid,
            creds.sgid,
            creds.fsgid,
            snap.pgid,
            snap.sid
        );
        if let Some(mm) = parts.mm {
            let (size, resident) = memory_use(mm);
            let _ = write!(
                out,
                "VmSize:\t{:8} kB\nVmRSS:\t{:8} kB\nVmSwap:\t{:8} kB\n",
                size / 1024,
                resident * PAGE_SIZE / 1024,
                // Nothing is ever swapped out.
                0
            );
        }
        let (ignored, caught) = parts.dispositions;
        let _ = write!(
            out,
            "Threads:\t{}\nSigQ:\t0/{queued_limit}\nSigPnd:\t{pending:016x}\n\
             ShdPnd:\t{shared_pending:016x}\nSigBlk:\t{blocked:016x}\nSigIgn:\t{ignored:016x}\n\
             SigCgt:\t{caught:016x}\nCapInh:\t{:016x}\nCapPrm:\t{:016x}\n\
             CapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\n\
             NoNewPrivs:\t{}\nSeccomp:\t0\nCpus_allowed:\t1\nCpus_allowed_list:\t0\n\
             voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
            snap.threads.len().max(1),
            creds.cap_inheritable,
            creds.cap_permitted,
            creds.cap_effective,
            creds.cap_bounding,
            creds.cap_ambient,
            u8::from(creds.no_new_privs),
        );
    });
    Ok(out.into_bytes())
}

/// The most of the environment /proc/PID/environ shows (Linux reads it
/// page by page; this bounds the one buffer).
const ENVIRON_MAX_BYTES: u64 = 256 << 10;

/// `/proc/PID/environ`: the environment strings as they are now in the
/// process's memory where exec put them (what the process wrote over them
/// shows, as on Linux), each NUL-terminated; empty for a zombie.
fn environ(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    if snap.zombie {
        return Ok(Vec::new());
    }
    let thread = snap.thread(target, ctx);
    with_parts(thread, ctx, |parts| {
        let Some(mm) = parts.mm else {
            return Ok(Vec::new());
        };
        let (start, end) = mm.env_range();
        let len = end.saturating_sub(start).min(ENVIRON_MAX_BYTES) as usize;
        let mut bytes = vec![0u8; len];
        mm.peek(start, &mut bytes)?;
        Ok(bytes)
    })
}

/// `/proc/PID/limits`: the resource limits in Linux's table
/// (`fs/proc/base.c`: name, soft, hard, unit).
fn limits(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let snap = snapshot(target.pid, ctx)?;
    let rlimits = *snap.group.rlimits.lock();
    let mut out = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    let value = |v: u64| {
        if v == RLIM_INFINITY {
            String::from("unlimited")
        } else {
            format!("{v}")
        }
    };
    for ((name, unit), limit) in NAMES.iter().zip(rlimits.iter()) {
        let _ = write!(
            out,
            "{name:<25} {:<20} {:<20} ",
            value(limit.rlim_cur),
            value(limit.rlim_max)
        );
        if !unit.is_empty() {
            let _ = write!(out, "{unit:<10}");
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// argv, each argument NUL-terminated; empty for a zombie (as Linux).
fn cmdline(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    if snap.zombie {
        return Ok(Vec::new());
    }
    let cmdline = snap.group.cmdline.lock().clone();
    Ok(cmdline)
}

fn comm(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    let mut comm = snap.group.comm.lock().clone();
    comm.push(b'\n');
    Ok(comm)
}

fn exe(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    if snap.zombie {
        return Err(Errno::ENOENT);
    }
    let path = snap.group.exe_path.lock().clone();
    Ok(path)
}

fn cwd(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    let thread = snap.thread(target, ctx);
    with_parts(thread, ctx, |parts| parts.fs.map(|fs| fs.cwd.clone())).ok_or(Errno::ENOENT)
}

fn root(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    if snap.zombie {
        return Err(Errno::ENOENT);
    }
    Ok(b"/".to_vec())
}

/// `/proc/PID/maps`: one line per region.
fn maps(target: Target, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
    let snap = snapshot(target.pid, ctx)?;
    let thread = snap.thread(target, ctx);
    let exe_path = snap.group.exe_path.lock().clone();
    Ok(with_parts(thread, ctx, |parts| {
        parts
            .mm
            .map(|mm| maps_text(mm, &exe_path))
            .unwrap_or_default()
    }))
}

fn maps_text(mm: &AddressSpace, exe_path: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (start, end, prot, image) in mm.regions() {
        let flag = |on: bool, c: u8| if on { c } else { b'-' };
        let line = format!(
            "{start:08x}-{end:08x} {}{}{}p 00000000 00:00 0",
            flag(prot.read, b'r') as char,
            flag(prot.write, b'w') as char,
            flag(prot.exec, b'x') as char,
        );
        out.extend_from_slice(line.as_bytes());
        if image {
            out.extend_from_slice(b"                          ");
            out.extend_from_slice(exe_path);
        } else if end == STACK_TOP {
            out.extend_from_slice(b"                          [stack]");
        }
        out.push(b'\n');
    }
    out
}

/// The path each open descriptor refers to, as /proc/PID/fd shows it.
fn fd_targets(fds: &FdTable) -> Vec<(u64, Vec<u8>)> {
    fds.iter()
        .map(|(fd, entry)| {
            let path = if entry.file.path.is_empty() {
                // A console stream (a terminal or a pipe), a pipe or a
                // socket, as Linux names them.
                let stat = entry.file.object.stat().unwrap_or_default();
                if stat.st_mode & S_IFMT == S_IFCHR {
                    b"/dev/pts/0".to_vec()
                } else if stat.st_mode & S_IFMT == S_IFSOCK {
                    format!("socket:[{}]", stat.st_ino).into_bytes()
                } else {
                    format!("pipe:[{}]", stat.st_ino).into_bytes()
                }
            } else {
                entry.file.path.clone()
            };
            (fd, path)
        })
        .collect()
}
