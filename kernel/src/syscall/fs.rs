//! File system calls: paths, directories, metadata (`crate::fs::vfs`).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use lamina_abi::cred::MAY_WRITE;
use lamina_abi::dirent;
use lamina_abi::errno::Errno;
use lamina_abi::fdkinds::{IN_ACCESS, IN_ATTRIB, IN_MODIFY};
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statx, StatxTimestamp};

use super::{cred, SysResult};
use crate::fs::fd::Entry;
use crate::fs::file::OpenFile;
use crate::fs::inotify;
use crate::fs::owner;
use crate::fs::vfs::{self, Last, NodeKind, NodeRef, Resolved, SetAttr, SetTime, PATH_MAX};
use crate::process::Process;

/// `renameat2` flags.
const RENAME_NOREPLACE: u64 = 1;
/// `utimensat`'s special nanosecond values.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;
/// `faccessat` modes.
const X_OK: u64 = 1;
const ACCESS_MODES: u64 = 7;
/// `fcntl` lock commands beyond the classic ones (open file description locks).
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;
const F_UNLCK: u16 = 2;
/// Largest chunk `sendfile` and `copy_file_range` move per step.
const COPY_CHUNK: usize = 64 * 1024;
/// Status flags an open file keeps (`fcntl(F_GETFL)` shows them).
const KEPT_STATUS: u32 = O_ACCMODE
    | O_APPEND
    | O_NONBLOCK
    | O_DSYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_NOATIME
    | O_SYNC
    | O_PATH
    | O_DIRECTORY;

fn read_path(p: &mut Process, path: u64) -> Result<Vec<u8>, Errno> {
    let path = p.mm.read_cstr(path, PATH_MAX)?;
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(path)
}

/// Where a relative path starts: the cwd, or the directory `dirfd` names.
fn start_dir(p: &Process, dirfd: u64) -> Result<Vec<u8>, Errno> {
    if dirfd as i32 == AT_FDCWD {
        return Ok(p.fs.cwd.clone());
    }
    let file = p.fds.file(dirfd)?;
    match file.object.node() {
        Some(node) if node.kind() == NodeKind::Directory => Ok(file.path.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

fn resolve_at(p: &mut Process, dirfd: u64, path: u64, last: Last) -> Result<Resolved, Errno> {
    let path = read_path(p, path)?;
    let start = if path.first() == Some(&b'/') {
        Vec::new()
    } else {
        start_dir(p, dirfd)?
    };
    vfs::resolve(&start, &path, last, p)
}

fn parent_at(p: &mut Process, dirfd: u64, path: u64) -> Result<vfs::Parent, Errno> {
    let path = read_path(p, path)?;
    let start = if path.first() == Some(&b'/') {
        Vec::new()
    } else {
        start_dir(p, dirfd)?
    };
    vfs::resolve_parent(&start, &path, p)
}

/// The node a descriptor was opened from.
fn fd_node(p: &Process, fd: u64) -> Result<(Arc<OpenFile>, NodeRef), Errno> {
    let file = p.fds.file(fd)?;
    let node = file.object.node().ok_or(Errno::EINVAL)?;
    Ok((file, node))
}

/// The node a `*at` call is about: with AT_EMPTY_PATH and "", the
/// descriptor's own (EBADF for one without a node, such as the console),
/// else the path's.
fn target_at(p: &mut Process, dirfd: u64, path: u64, flags: u64) -> Result<NodeRef, Errno> {
    target_path_at(p, dirfd, path, flags).map(|(node, _)| node)
}

/// [`target_at`], with the canonical path of what it found (for inotify).
fn target_path_at(
    p: &mut Process,
    dirfd: u64,
    path: u64,
    flags: u64,
) -> Result<(NodeRef, Vec<u8>), Errno> {
    let name = read_path(p, path)?;
    if name.is_empty() {
        if flags & u64::from(AT_EMPTY_PATH) == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 == AT_FDCWD {
            return vfs::resolve(b"/", &p.fs.cwd.clone(), Last::Follow, p)
                .map(|r| (r.node, r.path));
        }
        let file = p.fds.file(dirfd)?;
        return match file.object.node() {
            Some(node) => Ok((node, file.path.clone())),
            None => Err(Errno::EBADF),
        };
    }
    let last = if flags & u64::from(AT_SYMLINK_NOFOLLOW) != 0 {
        Last::NoFollow
    } else {
        Last::Follow
    };
    resolve_at(p, dirfd, path, last).map(|r| (r.node, r.path))
}

/// Whether `node` is a directory, asked only when an inotify watch
/// exists to hear it (a 9P node's kind may cost a request).
fn watched_dir(node: &NodeRef) -> bool {
    inotify::watching() && node.kind() == NodeKind::Directory
}

// ---------------------------------------------------------------------------
// open

pub fn openat(p: &mut Process, dirfd: u64, path: u64, flags: u64, mode: u64) -> SysResult {
    let flags = flags as u32;
    let name = read_path(p, path)?;
    let start = if name.first() == Some(&b'/') {
        Vec::new()
    } else {
        start_dir(p, dirfd)?
    };
    // O_EXCL means "do not follow" only with O_CREAT (Linux ignores it alone).
    let exclusive_create = flags & (O_CREAT | O_EXCL) == (O_CREAT | O_EXCL);
    let follow = if flags & O_NOFOLLOW != 0 || exclusive_create {
        Last::NoFollow
    } else {
        Last::Follow
    };
    let mut created = false;
    let resolved = match vfs::resolve(&start, &name, follow, p) {
        Ok(_) if flags & (O_CREAT | O_EXCL) == (O_CREAT | O_EXCL) => return Err(Errno::EEXIST),
        Ok(resolved) => {
            if flags & O_PATH == 0 {
                cred::check_access(p, &resolved.node, cred::open_mask(flags))?;
            }
            resolved
        }
        Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
            let parent = vfs::resolve_parent(&start, &name, p)?;
            if parent.is_dot() || name.ends_with(b"/") {
                return Err(Errno::EISDIR);
            }
            cred::check_dir_change(p, &parent.dir.node)?;
            let mode = (mode as u32) & 0o7777 & !p.fs.umask;
            let node = owner::creating_as(cred::creator(p), || {
                parent.dir.node.create(&parent.name, mode)
            })?;
            created = true;
            inotify::created(&parent.child_path(), false);
            Resolved {
                node,
                path: parent.child_path(),
            }
        }
        Err(e) => return Err(e),
    };
    open_resolved(p, resolved, flags, created)
}

/// Opens what `resolved` names; `created`: the call just made it (so
/// O_TRUNC changed nothing).
fn open_resolved(p: &mut Process, resolved: Resolved, flags: u32, created: bool) -> SysResult {
    let Resolved { node, path } = resolved;
    let kind = node.kind();
    let access = flags & O_ACCMODE;
    let writes = matches!(access, O_WRONLY | O_RDWR);
    if flags & O_PATH == 0 {
        if kind == NodeKind::Symlink {
            return Err(Errno::ELOOP);
        }
        if flags & O_DIRECTORY != 0 && kind != NodeKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        if kind == NodeKind::Directory && (writes || flags & O_CREAT != 0) {
            return Err(Errno::EISDIR);
        }
        if access == O_ACCMODE {
            return Err(Errno::EINVAL);
        }
    } else if flags & O_DIRECTORY != 0 && kind != NodeKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    let object = if flags & O_PATH != 0 {
        crate::fs::file::PathOnly::open(Arc::clone(&node))
    } else if let Some(stat) = fifo_stat(&node)? {
        let (again, mut seen) = (p.restart.again, p.restart.value);
        let opened =
            crate::fs::fifo::open(node.fs_id(), &stat, flags, p.task.tid, again, &mut seen);
        p.restart.value = seen;
        opened?
    } else {
        let object = Arc::clone(&node).open(flags, p)?;
        inotify::opened(&path, kind == NodeKind::Directory);
        // After the open, as Linux: a file that cannot be opened for
        // writing (/proc, /sys: EACCES) is never truncated; and reported
        // as modified.
        if flags & O_TRUNC != 0 && writes && kind == NodeKind::Regular {
            node.setattr(&SetAttr {
                size: Some(0),
                ..SetAttr::default()
            })?;
            if !created {
                inotify::modified(&path);
            }
        }
        object
    };
    let status = if flags & O_PATH != 0 {
        O_PATH | (flags & O_DIRECTORY)
    } else {
        flags & KEPT_STATUS
    };
    let file = OpenFile::with_path(object, status, path);
    p.fds.install_from(
        0,
        Entry {
            file,
            cloexec: flags & O_CLOEXEC != 0,
        },
    )
}

/// The node's attributes if it is a named pipe, which only tmpfs holds
/// (only special nodes are asked: a stat per open would cost a 9P
/// request; a pipe reached through /proc/self/fd is the pipe itself).
fn fifo_stat(node: &NodeRef) -> Result<Option<lamina_abi::types::Stat>, Errno> {
    if node.kind() != NodeKind::Other || !node.as_any().is::<crate::fs::tmpfs::TmpNode>() {
        return Ok(None);
    }
    let stat = node.stat()?;
    Ok((stat.st_mode & S_IFMT == S_IFIFO).then_some(stat))
}

pub fn open(p: &mut Process, path: u64, flags: u64, mode: u64) -> SysResult {
    openat(p, AT_FDCWD as u64, path, flags, mode)
}

pub fn creat(p: &mut Process, path: u64, mode: u64) -> SysResult {
    let flags = O_CREAT | O_WRONLY | O_TRUNC;
    openat(p, AT_FDCWD as u64, path, u64::from(flags), mode)
}

/// `openat2`: the `open_how` flags and mode; resolve restrictions beyond
/// none are refused.
pub fn openat2(p: &mut Process, dirfd: u64, path: u64, how: u64, size: u64) -> SysResult {
    const OPEN_HOW_SIZE: u64 = 24;
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    let raw: [u8; OPEN_HOW_SIZE as usize] = p.mm.read_array(how)?;
    let field = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (flags, mode, resolve) = (field(0), field(1), field(2));
    if resolve != 0 {
        return Err(Errno::EINVAL);
    }
    openat(p, dirfd, path, flags, mode)
}

// ---------------------------------------------------------------------------
// metadata

pub fn stat(p: &mut Process, path: u64, buf: u64, last: Last) -> SysResult {
    let node = resolve_at(p, AT_FDCWD as u64, path, last)?.node;
    p.mm.copy_out(buf, &node.stat()?.to_bytes())?;
    Ok(0)
}

pub fn newfstatat(p: &mut Process, dirfd: u64, path: u64, buf: u64, flags: u64) -> SysResult {
    let node = target_at(p, dirfd, path, flags);
    let stat = match node {
        Ok(node) => node.stat()?,
        // "" with AT_EMPTY_PATH on a descriptor without a node (the console).
        Err(Errno::EBADF) => p.fds.file(dirfd)?.object.stat()?,
        Err(e) => return Err(e),
    };
    p.mm.copy_out(buf, &stat.to_bytes())?;
    Ok(0)
}

fn statx_of(s: &Stat) -> Statx {
    let ts = |sec: i64, nsec: i64| StatxTimestamp {
        tv_sec: sec,
        tv_nsec: nsec as u32,
        ..StatxTimestamp::default()
    };
    Statx {
        stx_mask: STATX_BASIC_STATS,
        stx_blksize: s.st_blksize as u32,
        stx_nlink: s.st_nlink as u32,
        stx_uid: s.st_uid,
        stx_gid: s.st_gid,
        stx_mode: s.st_mode as u16,
        stx_ino: s.st_ino,
        stx_size: s.st_size as u64,
        stx_blocks: s.st_blocks as u64,
        stx_atime: ts(s.st_atime, s.st_atime_nsec),
        stx_ctime: ts(s.st_ctime, s.st_ctime_nsec),
        stx_mtime: ts(s.st_mtime, s.st_mtime_nsec),
        stx_rdev_major: (s.st_rdev >> 8) as u32,
        stx_rdev_minor: (s.st_rdev & 0xff) as u32,
        stx_dev_major: (s.st_dev >> 8) as u32,
        stx_dev_minor: (s.st_dev & 0xff) as u32,
        ..Statx::default()
    }
}

pub fn statx(
    p: &mut Process,
    dirfd: u64,
    path: u64,
    flags: u64,
    _mask: u64,
    buf: u64,
) -> SysResult {
    let stat = match target_at(p, dirfd, path, flags) {
        Ok(node) => node.stat()?,
        Err(Errno::EBADF) => p.fds.file(dirfd)?.object.stat()?,
        Err(e) => return Err(e),
    };
    p.mm.copy_out(buf, &statx_of(&stat).to_bytes())?;
    Ok(0)
}

pub fn statfs(p: &mut Process, path: u64, buf: u64) -> SysResult {
    let node = resolve_at(p, AT_FDCWD as u64, path, Last::Follow)?.node;
    p.mm.copy_out(buf, &node.statfs()?.to_bytes())?;
    Ok(0)
}

pub fn fstatfs(p: &mut Process, fd: u64, buf: u64) -> SysResult {
    let (_, node) = fd_node(p, fd)?;
    p.mm.copy_out(buf, &node.statfs()?.to_bytes())?;
    Ok(0)
}

pub fn getdents64(p: &mut Process, fd: u64, buf: u64, count: u64) -> SysResult {
    let file = p.fds.file(fd)?;
    let room = count.min(1 << 20) as usize;
    let mut out = Vec::new();
    let mut too_small = false;
    file.read_dir(&mut |entry| {
        let left = room - out.len();
        let fits = dirent::push(
            &mut out,
            left,
            entry.ino,
            entry.next,
            entry.kind,
            &entry.name,
        );
        if !fits && out.is_empty() {
            too_small = true;
        }
        fits
    })?;
    // Linux reports every listing as an access, an empty one too.
    inotify::accessed(&file.path, true);
    if too_small {
        return Err(Errno::EINVAL);
    }
    p.mm.copy_out(buf, &out)?;
    Ok(out.len() as u64)
}

pub fn readlinkat(p: &mut Process, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
    if size as i64 <= 0 {
        return Err(Errno::EINVAL);
    }
    let node = resolve_at(p, dirfd, path, Last::NoFollow)?.node;
    if node.kind() != NodeKind::Symlink {
        return Err(Errno::EINVAL);
    }
    let target = node.readlink(p)?;
    let n = target.len().min(size as usize);
    p.mm.copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

pub fn faccessat(p: &mut Process, dirfd: u64, path: u64, mode: u64, flags: u64) -> SysResult {
    if mode & !ACCESS_MODES != 0 {
        return Err(Errno::EINVAL);
    }
    let node = target_at(
        p,
        dirfd,
        path,
        flags & u64::from(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH),
    )?;
    // The real ids decide, unless AT_EACCESS asks for the effective ones.
    let creds = cred::access_creds(p, flags & u64::from(AT_EACCESS) != 0);
    if mode & X_OK != 0 && node.kind() != NodeKind::Directory && node.stat()?.st_mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    // R_OK, W_OK and X_OK are MAY_READ, MAY_WRITE and MAY_EXEC.
    cred::check_access_as(&creds, &node, mode as u32)?;
    Ok(0)
}

fn set_attr(node: &NodeRef, attr: SetAttr) -> SysResult {
    node.setattr(&attr).map(|()| 0)
}

pub fn fchmodat(p: &mut Process, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let Resolved { node, path } = resolve_at(p, dirfd, path, Last::Follow)?;
    cred::check_owner(p, &node)?;
    set_attr(
        &node,
        SetAttr {
            mode: Some(mode as u32 & 0o7777),
            ..SetAttr::default()
        },
    )?;
    inotify::attrib(&path, IN_ATTRIB, watched_dir(&node));
    Ok(0)
}

pub fn fchmod(p: &mut Process, fd: u64, mode: u64) -> SysResult {
    let (file, node) = fd_node(p, fd)?;
    cred::check_owner(p, &node)?;
    set_attr(
        &node,
        SetAttr {
            mode: Some(mode as u32 & 0o7777),
            ..SetAttr::default()
        },
    )?;
    inotify::attrib(&file.path, IN_ATTRIB, watched_dir(&node));
    Ok(0)
}

fn owner(uid: u64, gid: u64) -> SetAttr {
    let id = |v: u64| (v as u32 != u32::MAX).then_some(v as u32);
    SetAttr {
        uid: id(uid),
        gid: id(gid),
        ..SetAttr::default()
    }
}

pub fn fchownat(
    p: &mut Process,
    dirfd: u64,
    path: u64,
    uid: u64,
    gid: u64,
    flags: u64,
) -> SysResult {
    let (node, path) = target_path_at(p, dirfd, path, flags)?;
    cred::check_chown(p, &node, uid as u32, gid as u32)?;
    set_attr(&node, owner(uid, gid))?;
    inotify::attrib(&path, IN_ATTRIB, watched_dir(&node));
    Ok(0)
}

pub fn fchown(p: &mut Process, fd: u64, uid: u64, gid: u64) -> SysResult {
    let (file, node) = fd_node(p, fd)?;
    cred::check_chown(p, &node, uid as u32, gid as u32)?;
    set_attr(&node, owner(uid, gid))?;
    inotify::attrib(&file.path, IN_ATTRIB, watched_dir(&node));
    Ok(0)
}

fn truncate_node(node: &NodeRef, length: u64) -> SysResult {
    if (length as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match node.kind() {
        NodeKind::Directory => Err(Errno::EISDIR),
        NodeKind::Regular => set_attr(
            node,
            SetAttr {
                size: Some(length),
                ..SetAttr::default()
            },
        ),
        _ => Err(Errno::EINVAL),
    }
}

pub fn truncate(p: &mut Process, path: u64, length: u64) -> SysResult {
    let Resolved { node, path } = resolve_at(p, AT_FDCWD as u64, path, Last::Follow)?;
    cred::check_access(p, &node, MAY_WRITE)?;
    truncate_node(&node, length)?;
    inotify::modified(&path);
    Ok(0)
}

pub fn ftruncate(p: &mut Process, fd: u64, length: u64) -> SysResult {
    let (file, node) = fd_node(p, fd)?;
    if !file.writable() {
        return Err(Errno::EINVAL);
    }
    truncate_node(&node, length)?;
    inotify::modified(&file.path);
    Ok(0)
}

pub fn fallocate(p: &mut Process, fd: u64, mode: u64, offset: u64, len: u64) -> SysResult {
    let (file, node) = fd_node(p, fd)?;
    if mode != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if (offset as i64) < 0 || (len as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
    if end > node.stat()?.st_size as u64 {
        truncate_node(&node, end)?;
        inotify::modified(&file.path);
    }
    Ok(0)
}

pub fn fsync(p: &mut Process, fd: u64) -> SysResult {
    p.fds.file(fd)?.object.sync().map(|()| 0)
}

/// `sync_file_range(fd, offset, nbytes, flags)`: lamina's files have no
/// write-back of their own to start or wait for, so a range to be written
/// (or waited on) is made durable as `fsync` makes the whole file; with
/// no flag it does nothing, as Linux. Linux's checks first: unknown flags
/// or a negative range are EINVAL, a pipe or socket ESPIPE.
pub fn sync_file_range(
    p: &mut Process,
    fd: u64,
    offset: u64,
    nbytes: u64,
    flags: u64,
) -> SysResult {
    const WAIT_BEFORE: u64 = 1;
    const WRITE: u64 = 2;
    const WAIT_AFTER: u64 = 4;
    let file = p.fds.file(fd)?;
    if flags & !(WAIT_BEFORE | WRITE | WAIT_AFTER) != 0
        || (offset as i64) < 0
        || (nbytes as i64) < 0
        || offset
            .checked_add(nbytes)
            .is_none_or(|end| (end as i64) < 0)
    {
        return Err(Errno::EINVAL);
    }
    let mode = file.object.stat()?.st_mode & S_IFMT;
    if !matches!(mode, S_IFREG | S_IFDIR | S_IFBLK | S_IFLNK) {
        return Err(Errno::ESPIPE);
    }
    if flags & (WRITE | WAIT_AFTER) != 0 {
        file.object.sync()?;
    }
    Ok(0)
}

pub fn utimensat(p: &mut Process, dirfd: u64, path: u64, times: u64, flags: u64) -> SysResult {
    let (node, path) = if path == 0 {
        let (file, node) = fd_node(p, dirfd)?;
        (node, file.path.clone())
    } else {
        target_path_at(p, dirfd, path, flags)?
    };
    let (atime, mtime) = if times == 0 {
        (Some(SetTime::Now), Some(SetTime::Now))
    } else {
        let raw: [u8; 32] = p.mm.read_array(times)?;
        let get = |i: usize| i64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let time = |sec: i64, nsec: i64| match nsec {
            UTIME_NOW => Ok(Some(SetTime::Now)),
            UTIME_OMIT => Ok(None),
            0..=999_999_999 => Ok(Some(SetTime::At { sec, nsec })),
            _ => Err(Errno::EINVAL),
        };
        (time(get(0), get(1))?, time(get(2), get(3))?)
    };
    set_attr(
        &node,
        SetAttr {
            atime,
            mtime,
            ..SetAttr::default()
        },
    )?;
    // Linux reports one timestamp alone as an access or a modification.
    let mask = match (atime, mtime) {
        (Some(_), None) => IN_ACCESS,
        (None, Some(_)) => IN_MODIFY,
        _ => IN_ATTRIB,
    };
    if atime.is_some() || mtime.is_some() {
        inotify::attrib(&path, mask, watched_dir(&node));
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// names

pub fn mkdirat(p: &mut Process, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let parent = parent_at(p, dirfd, path)?;
    if parent.is_dot() {
        return Err(Errno::EEXIST);
    }
    cred::check_create(p, &parent.dir.node, &parent.name)?;
    let mode = (mode as u32) & 0o7777 & !p.fs.umask;
    owner::creating_as(cred::creator(p), || {
        parent.dir.node.mkdir(&parent.name, mode)
    })?;
    inotify::created(&parent.child_path(), true);
    Ok(0)
}

pub fn unlinkat(p: &mut Process, dirfd: u64, path: u64, flags: u64) -> SysResult {
    if flags & !u64::from(AT_REMOVEDIR) != 0 {
        return Err(Errno::EINVAL);
    }
    let directory = flags & u64::from(AT_REMOVEDIR) != 0;
    let parent = parent_at(p, dirfd, path)?;
    match parent.name.as_slice() {
        b"." | b"" if directory => return Err(Errno::EINVAL),
        b".." if directory => return Err(Errno::ENOTEMPTY),
        b"." | b".." | b"" => return Err(Errno::EISDIR),
        _ => {}
    }
    if vfs::mount_paths().contains(&parent.child_path()) {
        return Err(Errno::EBUSY);
    }
    match cred::check_delete(p, &parent.dir.node, &parent.name) {
        // A name that is not there: the file system's own answer below.
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    // Whether this name is the file's last link: only then is it gone
    // (asked only when a watch is there to hear it).
    let last_link = !inotify::watching()
        || parent
            .dir
            .node
            .lookup(&parent.name, p)
            .and_then(|node| node.stat())
            .is_ok_and(|stat| directory || stat.st_nlink <= 1);
    match parent.dir.node.unlink(&parent.name, directory) {
        // A socket bound where the file system keeps no socket nodes.
        Err(Errno::ENOENT)
            if !directory && crate::net::unix::unlink_guest_path(&parent.child_path()) =>
        {
            Ok(0)
        }
        result => {
            result?;
            inotify::removed(&parent.child_path(), directory, last_link);
            Ok(0)
        }
    }
}

pub fn renameat2(
    p: &mut Process,
    old_dirfd: u64,
    old_path: u64,
    new_dirfd: u64,
    new_path: u64,
    flags: u64,
) -> SysResult {
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let old = parent_at(p, old_dirfd, old_path)?;
    let new = parent_at(p, new_dirfd, new_path)?;
    if old.is_dot() || new.is_dot() {
        return Err(Errno::EBUSY);
    }
    let mounts = vfs::mount_paths();
    if mounts.contains(&old.child_path()) || mounts.contains(&new.child_path()) {
        return Err(Errno::EBUSY);
    }
    if old.dir.node.fs_id() != new.dir.node.fs_id() {
        return Err(Errno::EXDEV);
    }
    cred::check_delete(p, &old.dir.node, &old.name)?;
    // The new name need not exist; its directory must be writable.
    match cred::check_delete(p, &new.dir.node, &new.name) {
        Ok(()) => {}
        Err(Errno::ENOENT) => cred::check_dir_change(p, &new.dir.node)?,
        Err(e) => return Err(e),
    }
    // What inotify reports needs the kinds: looked up only for a watch.
    let watching = inotify::watching();
    let is_dir = watching
        && old
            .dir
            .node
            .lookup(&old.name, p)
            .is_ok_and(|node| node.kind() == NodeKind::Directory);
    let replaced = watching && new.dir.node.lookup(&new.name, p).is_ok();
    old.dir.node.rename(
        &old.name,
        &new.dir.node,
        &new.name,
        flags & RENAME_NOREPLACE != 0,
    )?;
    inotify::moved(&old.child_path(), &new.child_path(), is_dir, replaced);
    Ok(0)
}

pub fn linkat(
    p: &mut Process,
    old_dirfd: u64,
    old_path: u64,
    new_dirfd: u64,
    new_path: u64,
    flags: u64,
) -> SysResult {
    let follow = if flags & u64::from(AT_SYMLINK_FOLLOW) != 0 {
        Last::Follow
    } else {
        Last::NoFollow
    };
    let Resolved {
        node: target,
        path: target_path,
    } = resolve_at(p, old_dirfd, old_path, follow)?;
    let parent = parent_at(p, new_dirfd, new_path)?;
    if parent.is_dot() {
        return Err(Errno::EEXIST);
    }
    if target.kind() == NodeKind::Directory {
        return Err(Errno::EPERM);
    }
    if target.fs_id() != parent.dir.node.fs_id() {
        return Err(Errno::EXDEV);
    }
    cred::check_create(p, &parent.dir.node, &parent.name)?;
    parent.dir.node.link(&parent.name, &target)?;
    // The file's link count changed, then its new name appeared.
    inotify::attrib(&target_path, IN_ATTRIB | inotify::SELF_ONLY, false);
    inotify::created(&parent.child_path(), false);
    Ok(0)
}

pub fn symlinkat(p: &mut Process, target: u64, dirfd: u64, path: u64) -> SysResult {
    let target = read_path(p, target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let parent = parent_at(p, dirfd, path)?;
    if parent.is_dot() {
        return Err(Errno::EEXIST);
    }
    cred::check_create(p, &parent.dir.node, &parent.name)?;
    owner::creating_as(cred::creator(p), || {
        parent.dir.node.symlink(&parent.name, &target)
    })?;
    inotify::created(&parent.child_path(), false);
    Ok(0)
}

pub fn chdir(p: &mut Process, path: u64) -> SysResult {
    let resolved = resolve_at(p, AT_FDCWD as u64, path, Last::Follow)?;
    if resolved.node.kind() != NodeKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    p.fs.cwd = resolved.path;
    Ok(0)
}

pub fn fchdir(p: &mut Process, fd: u64) -> SysResult {
    let (file, node) = fd_node(p, fd).map_err(|e| {
        if e == Errno::EINVAL {
            Errno::ENOTDIR
        } else {
            e
        }
    })?;
    if node.kind() != NodeKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    p.fs.cwd = file.path.clone();
    Ok(0)
}

pub fn umask(p: &mut Process, mask: u64) -> SysResult {
    let old = p.fs.umask;
    p.fs.umask = mask as u32 & 0o777;
    Ok(u64::from(old))
}

// ---------------------------------------------------------------------------
// copies and locks

/// Which side of a copy had to wait.
#[derive(Clone, Copy)]
enum Stall {
    /// The input had nothing yet (an empty pipe or socket).
    Input,
    /// The output had no room (a full pipe or socket).
    Output,
}

/// Moves up to `count` bytes from `input` (at `*offset` when given, else
/// its own offset) to `output`: sendfile and copy_file_range alike. On
/// EAGAIN before any byte moved, `stalled` says which side it came from.
///
/// Bytes read that a stream output (a pipe, a socket) does not take go
/// back to a seekable input. A stream input cannot take them back, so it
/// moves in pieces of `PIPE_BUF`, each only while the output polls
/// writable: a pipe or socket that does takes such a piece whole.
fn copy_between(
    input: &OpenFile,
    output: &OpenFile,
    mut offset: Option<&mut u64>,
    count: u64,
    stalled: &mut Option<Stall>,
) -> Result<u64, Errno> {
    let rewindable = offset.is_some() || input.object.seekable();
    let chunk = if rewindable {
        COPY_CHUNK
    } else {
        crate::fs::pipe::PIPE_BUF
    };
    let mut buf = vec![0u8; (count as usize).min(chunk)];
    let mut done = 0u64;
    while done < count {
        let output_ready = rewindable
            || output.object.wait_queue().is_none()
            || output.object.poll(POLLOUT) & (POLLOUT | POLLERR | POLLHUP) != 0;
        if !output_ready {
            if done == 0 {
                *stalled = Some(Stall::Output);
                return Err(Errno::EAGAIN);
            }
            break;
        }
        let want = ((count - done) as usize).min(buf.len());
        let n = match offset.as_deref_mut() {
            Some(at) => input.read_at(*at, &mut buf[..want]),
            None => input.read(&mut buf[..want]),
        };
        let n = match n {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => {
                *stalled = Some(Stall::Input);
                return Err(e);
            }
            Err(_) => break,
        };
        if let Some(at) = offset.as_deref_mut() {
            *at += n as u64;
        }
        // What the output does not take goes back to the input.
        let mut unread = |left: usize| match offset.as_deref_mut() {
            Some(at) => *at -= left as u64,
            None if rewindable => {
                let _ = input.seek(-(left as i64), SEEK_CUR);
            }
            None => {}
        };
        match output.write(&buf[..n]) {
            Ok(written) => {
                done += written as u64;
                if written < n {
                    unread(n - written);
                    break;
                }
            }
            Err(e) => {
                unread(n);
                if done == 0 {
                    *stalled = Some(Stall::Output);
                    return Err(e);
                }
                break;
            }
        }
    }
    Ok(done)
}

pub fn sendfile(p: &mut Process, out_fd: u64, in_fd: u64, offset: u64, count: u64) -> SysResult {
    let input = p.fds.file(in_fd)?;
    let output = p.fds.file(out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    // An empty input or a full output makes a blocking sendfile wait on
    // it, as read(2) and write(2) would.
    let mut stalled = None;
    let wait = |p: &mut Process, result: Result<u64, Errno>, stalled: Option<Stall>| {
        let side = match stalled {
            Some(Stall::Input) => &input,
            Some(Stall::Output) | None => &output,
        };
        match result {
            Err(Errno::EAGAIN) if stalled.is_some() && side.blocks() => {
                let queue = side.object.wait_queue().expect("blocks() checked it");
                Err(crate::task::wait::block_on(p.task.tid, &[queue]))
            }
            other => other,
        }
    };
    if offset == 0 {
        let result = copy_between(&input, &output, None, count, &mut stalled);
        return wait(p, result, stalled);
    }
    let mut at = p.mm.read_u64(offset)?;
    let result = copy_between(&input, &output, Some(&mut at), count, &mut stalled);
    let done = wait(p, result, stalled)?;
    p.mm.copy_out(offset, &at.to_le_bytes())?;
    Ok(done)
}

pub fn copy_file_range(
    p: &mut Process,
    in_fd: u64,
    in_offset: u64,
    out_fd: u64,
    out_offset: u64,
    count: u64,
    flags: u64,
) -> SysResult {
    if flags != 0 || out_offset != 0 {
        // An explicit output offset would need a positional write loop;
        // coreutils passes none.
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        return Err(Errno::EXDEV);
    }
    sendfile(p, out_fd, in_fd, in_offset, count)
}

pub fn flock(p: &mut Process, fd: u64, _operation: u64) -> SysResult {
    // One process: every lock is granted at once.
    p.fds.file(fd)?;
    Ok(0)
}

/// `fcntl` record locks: granted (one process holds every lock), and
/// F_GETLK reports the range unlocked, as SQLite expects.
pub fn fcntl_lock(p: &mut Process, fd: u64, cmd: u64, arg: u64) -> SysResult {
    p.fds.file(fd)?;
    match cmd {
        F_GETLK | F_OFD_GETLK => {
            p.mm.copy_out(arg, &F_UNLCK.to_le_bytes())?;
            Ok(0)
        }
        F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => {
            // struct flock starts with l_type: check it can be read.
            p.mm.read_array::<2>(arg)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Whether `cmd` is a lock command [`fcntl_lock`] serves.
pub fn is_lock_command(cmd: u64) -> bool {
    matches!(
        cmd,
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW
    )
}

// ---------------------------------------------------------------------------
// extended attributes

/// What an xattr call is about: a path (followed or not) or a descriptor.
#[derive(Debug, Clone, Copy)]
pub enum XattrTarget {
    Path(Last),
    Fd,
}

fn xattr_node(p: &mut Process, target: XattrTarget, what: u64) -> Result<NodeRef, Errno> {
    match target {
        XattrTarget::Path(last) => resolve_at(p, AT_FDCWD as u64, what, last).map(|r| r.node),
        XattrTarget::Fd => fd_node(p, what).map(|(_, node)| node),
    }
}

/// `getxattr` family: the file must exist; no file system of lamina's
/// keeps extended attributes, so every name is absent (as on a host file
/// system without them: ls asks for SELinux labels and ACLs).
pub fn getxattr(p: &mut Process, target: XattrTarget, what: u64) -> SysResult {
    xattr_node(p, target, what)?;
    Err(Errno::ENODATA)
}

/// `listxattr` family: an empty list.
pub fn listxattr(p: &mut Process, target: XattrTarget, what: u64) -> SysResult {
    xattr_node(p, target, what)?;
    Ok(0)
}

/// `setxattr` and `removexattr` families: not supported.
pub fn setxattr(p: &mut Process, target: XattrTarget, what: u64) -> SysResult {
    xattr_node(p, target, what)?;
    Err(Errno::EOPNOTSUPP)
}

/// The times of `utime`, `utimes` and `futimesat`: None (a null pointer)
/// is "now" for both; else `[atime, mtime]` as seconds and a fraction
/// counted in `unit_ns` (1000 for a `timeval`'s microseconds; `utimbuf`
/// has whole seconds only, with no fraction words).
fn old_times(p: &mut Process, times: u64, timeval: bool) -> Result<SetAttr, Errno> {
    const USEC_PER_SEC: i64 = 1_000_000;
    const NSEC_PER_USEC: i64 = 1_000;
    if times == 0 {
        return Ok(SetAttr {
            atime: Some(SetTime::Now),
            mtime: Some(SetTime::Now),
            ..SetAttr::default()
        });
    }
    let (atime, mtime) = if timeval {
        let raw: [u8; 32] = p.mm.read_array(times)?;
        let get = |i: usize| i64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let time = |sec: i64, usec: i64| {
            if (0..USEC_PER_SEC).contains(&usec) {
                Ok(SetTime::At {
                    sec,
                    nsec: usec * NSEC_PER_USEC,
                })
            } else {
                Err(Errno::EINVAL)
            }
        };
        (time(get(0), get(1))?, time(get(2), get(3))?)
    } else {
        let raw: [u8; 16] = p.mm.read_array(times)?;
        let get = |i: usize| i64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        (
            SetTime::At {
                sec: get(0),
                nsec: 0,
            },
            SetTime::At {
                sec: get(1),
                nsec: 0,
            },
        )
    };
    Ok(SetAttr {
        atime: Some(atime),
        mtime: Some(mtime),
        ..SetAttr::default()
    })
}

/// `utime(path, utimbuf)`.
pub fn utime(p: &mut Process, path: u64, times: u64) -> SysResult {
    let attr = old_times(p, times, false)?;
    let node = resolve_at(p, AT_FDCWD as u64, path, Last::Follow)?.node;
    set_attr(&node, attr)
}

/// `futimesat(dirfd, path, timeval[2])`; `utimes` is it at the cwd. A
/// null path means `dirfd` itself (Linux's `do_utimes`).
pub fn futimesat(p: &mut Process, dirfd: u64, path: u64, times: u64) -> SysResult {
    let attr = old_times(p, times, true)?;
    let node = match path {
        0 if dirfd as i32 == AT_FDCWD => return Err(Errno::EFAULT),
        0 => fd_node(p, dirfd)?.1,
        _ => resolve_at(p, dirfd, path, Last::Follow)?.node,
    };
    set_attr(&node, attr)
}

/// `mknodat(dirfd, path, mode, dev)`: a FIFO (`crate::fs::fifo`) or a
/// socket node in tmpfs, or an empty regular file anywhere; device nodes
/// are refused (EPERM: lamina has no devices to give them), as are
/// directories.
pub fn mknodat(p: &mut Process, dirfd: u64, path: u64, mode: u64, _dev: u64) -> SysResult {
    let mode = mode as u32;
    let kind = mode & S_IFMT;
    match kind {
        0 | S_IFREG | S_IFIFO | S_IFSOCK => {}
        S_IFCHR | S_IFBLK | S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let parent = parent_at(p, dirfd, path)?;
    if parent.is_dot() || parent.dir.node.lookup(&parent.name, p).is_ok() {
        return Err(Errno::EEXIST);
    }
    cred::check_dir_change(p, &parent.dir.node)?;
    let perms = mode & 0o7777 & !p.fs.umask;
    owner::creating_as(cred::creator(p), || match kind {
        0 | S_IFREG => parent.dir.node.create(&parent.name, perms).map(drop),
        // EPERM is Linux's answer where the file system does not support
        // the node's type: the 9P root, whose server (QEMU's, with
        // security_model=none) refuses to set up special files.
        _ => match parent.dir.node.mknod(&parent.name, kind | perms) {
            Ok(_) => Ok(()),
            Err(Errno::EOPNOTSUPP) => Err(Errno::EPERM),
            Err(e) => Err(e),
        },
    })?;
    Ok(0)
}
