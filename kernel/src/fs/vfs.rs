//! The virtual file system: nodes (what a path names), the mount table and
//! the path walk.
//!
//! A [`Node`] is a file system's object as a path names it (Linux's
//! inode): a directory to look names up in, a file to open, a symlink to
//! read. Opening a node gives a [`FileObject`] for an [`OpenFile`]. Every
//! file system (tmpfs, /dev, /proc, the 9P root) implements `Node`; the
//! walk, the mount table and the system calls above are written once.

use alloc::borrow::ToOwned;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};
use spin::RwLock;

use super::file::FileObject;

pub type NodeRef = Arc<dyn Node>;

/// What a node is (the `S_IFMT` bits of its mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Directory,
    Regular,
    Symlink,
    CharDevice,
    Other,
}

impl NodeKind {
    pub fn of_mode(mode: u32) -> Self {
        match mode & S_IFMT {
            S_IFDIR => Self::Directory,
            S_IFREG => Self::Regular,
            S_IFLNK => Self::Symlink,
            S_IFCHR => Self::CharDevice,
            _ => Self::Other,
        }
    }
}

/// One directory entry, as `getdents64` reports it.
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// `DT_*`.
    pub kind: u8,
    /// The cursor that resumes after this entry.
    pub next: u64,
}

/// A time to set (`utimensat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTime {
    Now,
    At { sec: i64, nsec: i64 },
}

/// The attributes `chmod`, `chown`, `truncate` and `utimensat` change.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<SetTime>,
    pub mtime: Option<SetTime>,
}

/// The calling task and the parts of its process that the system call
/// holds locked: /proc reads the caller's own process through these
/// (locking them again would spin forever on one CPU).
pub struct Caller<'a> {
    pub task: &'a crate::task::Task,
    pub mm: &'a crate::mm::vm::AddressSpace,
    pub fds: &'a super::fd::FdTable,
    pub fs: &'a crate::task::FsContext,
}

/// What the calling process looks like to /proc and /dev; the VFS asks
/// through this so that file systems need no reference to the process.
pub trait ProcessView {
    /// The caller, or None for a walk the kernel makes on its own.
    fn caller(&self) -> Option<Caller<'_>>;
    /// The caller's process id (0: none).
    fn pid(&self) -> crate::task::Tid {
        self.caller().map_or(0, |c| c.task.pid())
    }
    /// The caller's thread id (0: none).
    fn tid(&self) -> crate::task::Tid {
        self.caller().map_or(0, |c| c.task.tid)
    }
    /// The object open at descriptor `fd`, if any (/dev/stdout and kin).
    fn fd_object(&self, fd: u64) -> Option<Arc<dyn FileObject>>;
}

/// A file system's node. Each operation has Linux's answer for a node that
/// cannot do it, so a file system implements only what it has.
pub trait Node: Send + Sync {
    fn kind(&self) -> NodeKind;

    fn stat(&self) -> Result<Stat, Errno>;

    /// The child called `name` (never "." or "..": the walk handles those).
    fn lookup(&self, _name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Entries from `cursor` on (0: the start), until `sink` returns false.
    fn read_dir(
        &self,
        _cursor: u64,
        _ctx: &dyn ProcessView,
        _sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Creates and returns a regular file `name` (it does not exist yet).
    fn create(&self, _name: &[u8], _mode: u32) -> Result<NodeRef, Errno> {
        Err(self.cannot_modify())
    }

    fn mkdir(&self, _name: &[u8], _mode: u32) -> Result<(), Errno> {
        Err(self.cannot_modify())
    }

    /// Creates a special node `name` with `mode` (type bits included): a
    /// socket node for a bound AF_UNIX path. EOPNOTSUPP from a file
    /// system that cannot hold one (the binding then stays in the guest,
    /// see `crate::net::unix`).
    fn mknod(&self, _name: &[u8], _mode: u32) -> Result<NodeRef, Errno> {
        Err(self.cannot_modify())
    }

    fn symlink(&self, _name: &[u8], _target: &[u8]) -> Result<(), Errno> {
        Err(self.cannot_modify())
    }

    /// A hard link `name` to `target` (a node of the same file system).
    fn link(&self, _name: &[u8], _target: &NodeRef) -> Result<(), Errno> {
        Err(self.cannot_modify())
    }

    /// Removes `name`: a directory (empty) when `directory`, else a
    /// non-directory.
    fn unlink(&self, _name: &[u8], _directory: bool) -> Result<(), Errno> {
        Err(self.cannot_modify())
    }

    /// Moves `name` to `new_name` in `new_parent` (a directory of the same
    /// file system), replacing what is there unless `no_replace`.
    fn rename(
        &self,
        _name: &[u8],
        _new_parent: &NodeRef,
        _new_name: &[u8],
        _no_replace: bool,
    ) -> Result<(), Errno> {
        Err(self.cannot_modify())
    }

    fn readlink(&self, _ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    /// A "magic" link (/proc/PID/fd/N) leads to the open object itself,
    /// not to the path its text names: a pipe or a deleted file opens
    /// through it. None for an ordinary link.
    fn magic_target(&self, _ctx: &dyn ProcessView) -> Option<NodeRef> {
        None
    }

    /// An object to read and write; `flags` are the `open` flags. The
    /// default serves directories (for `getdents64` and `fstat`).
    fn open(
        self: Arc<Self>,
        _flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno>;

    fn setattr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn statfs(&self) -> Result<Statfs, Errno>;

    /// Which file system instance the node belongs to: links and renames
    /// across instances are `EXDEV`.
    fn fs_id(&self) -> usize;

    /// For a file system's own downcasts in `link` and `rename`.
    fn as_any(&self) -> &dyn core::any::Any;

    /// The errno for a change this node does not support: a directory of a
    /// synthetic file system is read-only; a non-directory is not a
    /// directory.
    fn cannot_modify(&self) -> Errno {
        if self.kind() == NodeKind::Directory {
            Errno::EROFS
        } else {
            Errno::ENOTDIR
        }
    }
}

/// The longest path and name accepted (Linux's PATH_MAX and NAME_MAX).
pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;
/// Symlinks followed in one walk before ELOOP (Linux's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;
/// Components a walk may have pending: what a PATH_MAX path can hold.
const MAX_WALK_COMPONENTS: usize = PATH_MAX / 2;

/// A mounted file system: its absolute path, its root, and its type's
/// name (/proc/mounts).
struct Mount {
    path: Vec<u8>,
    root: NodeRef,
    kind: &'static [u8],
}

/// The mount table; `/` is the first entry.
static MOUNTS: RwLock<Vec<Mount>> = RwLock::new(Vec::new());

/// Mounts `root` at the absolute, canonical `path`, replacing a mount
/// there. The mount point need not exist in the file system below.
pub fn mount(path: &[u8], root: NodeRef, kind: &'static [u8]) {
    let mut mounts = MOUNTS.write();
    mounts.retain(|m| m.path != path);
    mounts.push(Mount {
        path: path.to_vec(),
        root,
        kind,
    });
}

fn mounted_at(path: &[u8]) -> Option<NodeRef> {
    MOUNTS
        .read()
        .iter()
        .find(|m| m.path == path)
        .map(|m| Arc::clone(&m.root))
}

/// Mount points, in mount order.
pub fn mount_paths() -> Vec<Vec<u8>> {
    MOUNTS.read().iter().map(|m| m.path.clone()).collect()
}

/// The mount points directly below the directory at canonical `path`: their
/// last component and their root.
pub fn mount_points_below(path: &[u8]) -> Vec<(Vec<u8>, NodeRef)> {
    let prefix: &[u8] = if path == b"/" { b"" } else { path };
    MOUNTS
        .read()
        .iter()
        .filter_map(|m| {
            let rest = m.path.strip_prefix(prefix)?.strip_prefix(b"/")?;
            (!rest.is_empty() && !rest.contains(&b'/'))
                .then(|| (rest.to_vec(), Arc::clone(&m.root)))
        })
        .collect()
}

/// Mount points with their file system type, for /proc/mounts.
pub fn mount_table() -> Vec<(Vec<u8>, &'static [u8])> {
    MOUNTS
        .read()
        .iter()
        .map(|m| (m.path.clone(), m.kind))
        .collect()
}

/// Mount points with their file system type and root, for
/// /proc/PID/mountinfo.
pub fn mount_roots() -> Vec<(Vec<u8>, &'static [u8], NodeRef)> {
    MOUNTS
        .read()
        .iter()
        .map(|m| (m.path.clone(), m.kind, Arc::clone(&m.root)))
        .collect()
}

/// A node and the canonical absolute path it was reached by.
#[derive(Clone)]
pub struct Resolved {
    pub node: NodeRef,
    pub path: Vec<u8>,
}

/// The walk's position: the nodes from the root down, so `..` goes back
/// the way it came (and never above `/`).
struct Cursor {
    stack: Vec<(Vec<u8>, NodeRef)>,
}

impl Cursor {
    fn at_root() -> Result<Self, Errno> {
        let root = mounted_at(b"/").ok_or(Errno::ENOENT)?;
        Ok(Self {
            stack: alloc::vec![(Vec::new(), root)],
        })
    }

    fn node(&self) -> &NodeRef {
        &self.stack.last().expect("the root is never popped").1
    }

    fn path(&self) -> Vec<u8> {
        if self.stack.len() == 1 {
            return b"/".to_vec();
        }
        let mut path = Vec::new();
        for (name, _) in &self.stack[1..] {
            path.push(b'/');
            path.extend_from_slice(name);
        }
        path
    }

    fn child_path(&self, name: &[u8]) -> Vec<u8> {
        let mut path = self.path();
        if path != b"/" {
            path.push(b'/');
        } else {
            path.clear();
            path.push(b'/');
        }
        path.extend_from_slice(name);
        path
    }

    fn up(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    /// Looks `name` up below the current node (a mount there wins).
    fn lookup(&self, name: &[u8], ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        if self.node().kind() != NodeKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        if let Some(root) = mounted_at(&self.child_path(name)) {
            return Ok(root);
        }
        self.node().lookup(name, ctx)
    }
}

/// Splits a path into its components (empty ones dropped).
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// How the last component is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    /// Follow a symlink there (`open`, `stat`).
    Follow,
    /// Leave it (`lstat`, `O_NOFOLLOW`, `readlink`).
    NoFollow,
}

/// Resolves `path` from `start` (the cwd or a dirfd's directory; ignored
/// for an absolute path).
pub fn resolve(
    start: &[u8],
    path: &[u8],
    last: Last,
    ctx: &dyn ProcessView,
) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    // A trailing slash asks for a directory: a symlink there is followed.
    let last = if path.ends_with(b"/") {
        Last::Follow
    } else {
        last
    };
    let mut cursor = Cursor::at_root()?;
    let mut pending: Vec<Vec<u8>> = Vec::new();
    // Components are consumed from the end of `pending`.
    push_components(&mut pending, path)?;
    if path[0] != b'/' {
        push_components(&mut pending, start)?;
    }
    let mut links = 0;
    while let Some(name) = pending.pop() {
        match name.as_slice() {
            b"." => {
                if cursor.node().kind() != NodeKind::Directory {
                    return Err(Errno::ENOTDIR);
                }
                continue;
            }
            b".." => {
                if cursor.node().kind() != NodeKind::Directory {
                    return Err(Errno::ENOTDIR);
                }
                cursor.up();
                continue;
            }
            _ => {}
        }
        let node = cursor.lookup(&name, ctx)?;
        let is_last = pending.is_empty();
        if node.kind() == NodeKind::Symlink && (!is_last || last == Last::Follow) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            if let Some(target) = node.magic_target(ctx) {
                cursor.stack.push((name, target));
                continue;
            }
            let target = node.readlink(ctx)?;
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            if target[0] == b'/' {
                cursor = Cursor::at_root()?;
            }
            push_components(&mut pending, &target)?;
            // Links whose targets name links whose targets... could grow
            // the walk without bound within the 40 links: Linux's answer.
            if pending.len() + cursor.stack.len() > MAX_WALK_COMPONENTS {
                return Err(Errno::ELOOP);
            }
            continue;
        }
        cursor.stack.push((name, node));
    }
    // "dir/" and "dir/." must name a directory.
    if path.ends_with(b"/") && cursor.node().kind() != NodeKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(Resolved {
        node: Arc::clone(cursor.node()),
        path: cursor.path(),
    })
}

fn push_components(pending: &mut Vec<Vec<u8>>, path: &[u8]) -> Result<(), Errno> {
    for component in components(path).rev() {
        if component.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        pending.push(component.to_owned());
    }
    Ok(())
}

/// The directory a new name goes in, and the name: for create, mkdir,
/// unlink, rename, symlink and link. The last component is not followed.
pub struct Parent {
    pub dir: Resolved,
    pub name: Vec<u8>,
}

/// Resolves all but the last component of `path`.
pub fn resolve_parent(start: &[u8], path: &[u8], ctx: &dyn ProcessView) -> Result<Parent, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let trimmed = trim_trailing_slashes(path);
    let (dir_path, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (&b"/"[..], &trimmed[1..]),
        Some(at) => (&trimmed[..at], &trimmed[at + 1..]),
        None => (&b"."[..], trimmed),
    };
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let dir = resolve(start, dir_path, Last::Follow, ctx)?;
    if dir.node.kind() != NodeKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(Parent {
        dir,
        name: name.to_vec(),
    })
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

impl Parent {
    /// Whether the name is "." or ".." (or the root's empty name), which
    /// no create, unlink or rename may take.
    pub fn is_dot(&self) -> bool {
        matches!(self.name.as_slice(), b"" | b"." | b"..")
    }

    /// The canonical path the name would have.
    pub fn child_path(&self) -> Vec<u8> {
        let mut path = self.dir.path.clone();
        if path != b"/" {
            path.push(b'/');
        }
        path.extend_from_slice(&self.name);
        path
    }
}

/// A unique inode number within a synthetic file system.
pub fn next_ino() -> u64 {
    static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// A unique id per file system instance.
pub fn next_fs_id() -> usize {
    static NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// An opened directory: `getdents64` through the node's `read_dir`, or
/// through a listing taken when it was opened (/proc's process-dependent
/// directories, which cannot see the process later).
pub struct DirFile {
    node: NodeRef,
    proc_listing: Option<Vec<DirEntry>>,
}

impl DirFile {
    pub fn open(node: NodeRef) -> Arc<dyn FileObject> {
        Arc::new(Self {
            node,
            proc_listing: None,
        })
    }

    /// A directory whose entries were taken when it was opened (/proc).
    pub fn with_listing(node: NodeRef, entries: Vec<DirEntry>) -> Arc<dyn FileObject> {
        Arc::new(Self {
            node,
            proc_listing: Some(entries),
        })
    }
}

impl FileObject for DirFile {
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn size(&self) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn poll(&self, events: u16) -> u16 {
        events & (POLLIN | POLLOUT)
    }

    fn read_dir(&self, cursor: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), Errno> {
        match &self.proc_listing {
            Some(entries) => {
                for entry in entries.iter().skip(cursor as usize) {
                    if !sink(entry.clone()) {
                        break;
                    }
                }
                Ok(())
            }
            None => self.node.read_dir(cursor, &NoProcess, sink),
        }
    }

    fn node(&self) -> Option<NodeRef> {
        Some(Arc::clone(&self.node))
    }
}

/// A [`ProcessView`] for callers that have no process at hand: empty.
pub struct NoProcess;

impl ProcessView for NoProcess {
    fn caller(&self) -> Option<Caller<'_>> {
        None
    }
    fn fd_object(&self, _fd: u64) -> Option<Arc<dyn FileObject>> {
        None
    }
}

/// Rejects a name longer than NAME_MAX.
pub fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}
