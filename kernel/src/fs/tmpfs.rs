//! tmpfs: files, directories and symlinks in guest memory (the kernel
//! heap), for `/tmp`, `--tmpfs` mounts and the root without `--rootfs`.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use lamina_abi::dirent::type_of_mode;
use lamina_abi::errno::Errno;
use lamina_abi::fdkinds::{
    F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE,
};
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};
use spin::Mutex;

use super::file::FileObject;
use super::vfs::{self, DirEntry, DirFile, Node, NodeKind, NodeRef, ProcessView, SetAttr, SetTime};
use crate::time;

/// `TMPFS_MAGIC` for `statfs`.
const TMPFS_MAGIC: i64 = 0x0102_1994;
const BLOCK_SIZE: i64 = 4096;
/// A tmpfs file may not outgrow this (its page list lives in the heap).
const MAX_FILE_BYTES: u64 = 1 << 30;

enum Content {
    Directory(BTreeMap<Vec<u8>, Arc<TmpNode>>),
    File(FilePages),
    Symlink(Vec<u8>),
    /// A bound AF_UNIX path (`crate::net::unix` finds its socket by the
    /// node's inode).
    Socket,
    /// A named pipe (`crate::fs::fifo` keeps its pipe, by inode).
    Fifo,
}

/// Frames all tmpfs files hold together; like Linux's default `size=50%`,
/// they may take at most half of guest memory, so filling a tmpfs gives
/// ENOSPC instead of starving the workload's own memory.
static PAGES_IN_USE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// `/dev/shm`'s size when the host names none (docker's `--shm-size`
/// default).
pub const DEFAULT_SHM_BYTES: u64 = 64 << 20;

/// What one tmpfs instance may hold (its `size=`) and holds, shared by its
/// nodes; None: only the bound of all tmpfs together.
#[derive(Debug, Default)]
pub struct Capacity {
    limit_pages: Option<u64>,
    used_pages: core::sync::atomic::AtomicU64,
}

fn take_page(capacity: &Capacity) -> Result<u64, Errno> {
    use core::sync::atomic::Ordering;
    let (_, total) = crate::mm::frame::stats();
    if PAGES_IN_USE.load(Ordering::Relaxed) >= total / 2 {
        return Err(Errno::ENOSPC);
    }
    if capacity
        .limit_pages
        .is_some_and(|limit| capacity.used_pages.load(Ordering::Relaxed) >= limit)
    {
        return Err(Errno::ENOSPC);
    }
    let frame = crate::mm::frame::alloc_zeroed().ok_or(Errno::ENOSPC)?;
    PAGES_IN_USE.fetch_add(1, Ordering::Relaxed);
    capacity.used_pages.fetch_add(1, Ordering::Relaxed);
    Ok(frame)
}

/// Gives a file's page back. A `MAP_SHARED` mapping may still map the
/// frame (it counts as a user of its own): the last user frees it.
fn give_page(capacity: &Capacity, frame: u64) {
    use core::sync::atomic::Ordering;
    crate::mm::frame::release(frame);
    PAGES_IN_USE.fetch_sub(1, Ordering::Relaxed);
    capacity.used_pages.fetch_sub(1, Ordering::Relaxed);
}

/// Entries of all tmpfs page indexes together (8 bytes each, in the 4
/// MiB kernel heap): 128 Ki of them map 512 MiB of file and take 1 MiB of
/// heap. Past that a write is ENOSPC, so that sparse files cannot starve
/// the heap everything else needs.
const INDEX_SLOTS_MAX: u64 = 128 << 10;
static INDEX_SLOTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn take_index_slots(count: usize) -> Result<(), Errno> {
    use core::sync::atomic::Ordering;
    let count = count as u64;
    if INDEX_SLOTS.load(Ordering::Relaxed) + count > INDEX_SLOTS_MAX {
        return Err(Errno::ENOSPC);
    }
    INDEX_SLOTS.fetch_add(count, Ordering::Relaxed);
    Ok(())
}

fn give_index_slots(count: usize) {
    INDEX_SLOTS.fetch_sub(count as u64, core::sync::atomic::Ordering::Relaxed);
}

/// No frame behind a page: a hole, which reads as zeros.
const HOLE: u64 = u64::MAX;
const PAGE: u64 = crate::arch::phys::PAGE_SIZE;

/// A tmpfs file's bytes, in frames of their own (guest RAM, not the kernel
/// heap), one per 4 KiB page; holes take none. Given back when the file
/// goes.
struct FilePages {
    len: u64,
    frames: Vec<u64>,
    capacity: Arc<Capacity>,
}

impl FilePages {
    fn new(capacity: &Arc<Capacity>) -> Self {
        Self {
            len: 0,
            frames: Vec::new(),
            capacity: Arc::clone(capacity),
        }
    }

    /// The frames behind the pages `[first, first + count)`, holes filled
    /// first (a `MAP_SHARED` mapping maps them: what it writes, `read`
    /// sees, and the other way round). The file's length does not change.
    fn frames_for(&mut self, first: usize, count: usize) -> Result<Vec<u64>, Errno> {
        let end = first.checked_add(count).ok_or(Errno::ENOMEM)?;
        self.grow_index(end)?;
        let mut frames = Vec::new();
        frames.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
        for page in first..end {
            if self.frames[page] == HOLE {
                self.frames[page] = take_page(&self.capacity)?;
            }
            frames.push(self.frames[page]);
        }
        Ok(frames)
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        let end = offset.saturating_add(buf.len() as u64).min(self.len);
        let mut at = offset;
        while at < end {
            let page = (at / PAGE) as usize;
            let in_page = at % PAGE;
            let n = (PAGE - in_page).min(end - at) as usize;
            let out = &mut buf[(at - offset) as usize..][..n];
            match self.frames.get(page).copied().unwrap_or(HOLE) {
                HOLE => out.fill(0),
                frame => crate::arch::phys::read(frame + in_page, out),
            }
            at += n as u64;
        }
        end.saturating_sub(offset) as usize
    }

    /// Makes the page index cover `pages` pages (new ones holes).
    fn grow_index(&mut self, pages: usize) -> Result<(), Errno> {
        if self.frames.len() < pages {
            // The budget counts the index's capacity, which only Drop gives back.
            let before = self.frames.capacity();
            let more = pages.saturating_sub(before);
            take_index_slots(more)?;
            if self
                .frames
                .try_reserve_exact(pages - self.frames.len())
                .is_err()
            {
                give_index_slots(more);
                return Err(Errno::ENOSPC);
            }
            let grown = self.frames.capacity() - before;
            INDEX_SLOTS.fetch_add(
                grown.saturating_sub(more) as u64,
                core::sync::atomic::Ordering::Relaxed,
            );
            self.frames.resize(pages, HOLE);
        }
        Ok(())
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let end = offset + data.len() as u64;
        self.grow_index(end.div_ceil(PAGE) as usize)?;
        let mut at = offset;
        while at < end {
            let page = (at / PAGE) as usize;
            let in_page = at % PAGE;
            let n = (PAGE - in_page).min(end - at) as usize;
            if self.frames[page] == HOLE {
                match take_page(&self.capacity) {
                    Ok(frame) => self.frames[page] = frame,
                    // A short write, as Linux gives when the space runs
                    // out part way.
                    Err(e) if at == offset => return Err(e),
                    Err(_) => return Ok((at - offset) as usize),
                }
            }
            crate::arch::phys::write(
                self.frames[page] + in_page,
                &data[(at - offset) as usize..][..n],
            );
            at += n as u64;
            self.len = self.len.max(at);
        }
        Ok(data.len())
    }

    /// Sets the length: pages past it go back, the tail of the last one
    /// is zeroed (so a later extension reads zeros there).
    fn truncate(&mut self, len: u64) {
        let keep = len.div_ceil(PAGE) as usize;
        for frame in self.frames.drain(keep.min(self.frames.len())..) {
            if frame != HOLE {
                give_page(&self.capacity, frame);
            }
        }
        if !len.is_multiple_of(PAGE) {
            if let Some(&frame) = self.frames.get(keep - 1).filter(|&&f| f != HOLE) {
                crate::arch::phys::zero(frame + len % PAGE, (PAGE - len % PAGE) as usize);
            }
        }
        self.len = len;
    }
}

impl Drop for FilePages {
    fn drop(&mut self) {
        self.truncate(0);
        give_index_slots(self.frames.capacity());
    }
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    atime_ns: u64,
    mtime_ns: u64,
    ctime_ns: u64,
    /// File seals (`F_ADD_SEALS`): a file that is not a memfd made with
    /// `MFD_ALLOW_SEALING` has `F_SEAL_SEAL`, as on Linux's shmem.
    seals: u32,
}

/// One tmpfs node.
pub struct TmpNode {
    this: Weak<TmpNode>,
    ino: u64,
    fs_id: usize,
    capacity: Arc<Capacity>,
    /// The directory above (a directory's `..`); the root has none.
    parent: Mutex<Weak<TmpNode>>,
    meta: Mutex<Meta>,
    content: Mutex<Content>,
}

fn now_ns() -> u64 {
    time::realtime_ns()
}

impl TmpNode {
    fn new(fs_id: usize, capacity: Arc<Capacity>, mode: u32, content: Content) -> Arc<Self> {
        let now = now_ns();
        let (uid, gid) = super::owner::creator();
        Arc::new_cyclic(|this| Self {
            this: this.clone(),
            ino: vfs::next_ino(),
            fs_id,
            capacity,
            parent: Mutex::new(Weak::new()),
            meta: Mutex::new(Meta {
                mode,
                uid,
                gid,
                nlink: if mode & S_IFMT == S_IFDIR { 2 } else { 1 },
                atime_ns: now,
                mtime_ns: now,
                ctime_ns: now,
                seals: F_SEAL_SEAL,
            }),
            content: Mutex::new(content),
        })
    }

    /// A new, empty tmpfs: its root directory.
    pub fn new_fs() -> Arc<Self> {
        Self::new(
            vfs::next_fs_id(),
            Arc::default(),
            S_IFDIR | 0o1777,
            Content::Directory(BTreeMap::new()),
        )
    }

    /// A new, empty tmpfs whose files may hold at most `size_bytes`
    /// (rounded up to pages; `mount -o size=`): `/dev/shm`.
    pub fn new_sized_fs(size_bytes: u64) -> Arc<Self> {
        let capacity = Capacity {
            limit_pages: Some(size_bytes.div_ceil(PAGE)),
            used_pages: Default::default(),
        };
        Self::new(
            vfs::next_fs_id(),
            Arc::new(capacity),
            S_IFDIR | 0o1777,
            Content::Directory(BTreeMap::new()),
        )
    }

    /// The frames behind the file's pages from `offset` (page aligned) on,
    /// as far as `len` bytes and the file's end reach (holes filled), for a
    /// `MAP_SHARED` mapping to map. EINVAL for a non-file.
    pub fn shared_frames(&self, offset: u64, len: u64) -> Result<Vec<u64>, Errno> {
        match &mut *self.content.lock() {
            Content::File(data) => {
                let first = (offset / PAGE) as usize;
                let end = offset.saturating_add(len).min(data.len).div_ceil(PAGE) as usize;
                data.frames_for(first, end.saturating_sub(first))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Adds a subdirectory at build time (the empty root's `/dev`, `/proc`
    /// and `/tmp` mount points).
    pub fn add_dir(self: &Arc<Self>, name: &[u8]) {
        let _ = self.insert(name, S_IFDIR | 0o755, Content::Directory(BTreeMap::new()));
    }

    /// Adds a regular file holding `data` at build time (the `/etc` files
    /// lamina makes); it is then an ordinary, writable tmpfs file.
    pub fn add_file(self: &Arc<Self>, name: &[u8], data: &[u8]) -> Result<NodeRef, Errno> {
        let mut pages = FilePages::new(&self.capacity);
        pages.write(0, data)?;
        Ok(self.insert(name, S_IFREG | 0o644, Content::File(pages))? as NodeRef)
    }

    /// A memfd's file (`memfd_create`): a regular file on no path, in
    /// the one tmpfs all memfds share (as Linux's shmem mount), with
    /// `seals` to start with.
    pub fn new_memfd(mode: u32, seals: u32) -> Arc<Self> {
        static MEMFD_FS_ID: spin::Once<usize> = spin::Once::new();
        let fs_id = *MEMFD_FS_ID.call_once(vfs::next_fs_id);
        // Bounded only by what all tmpfs files together may take.
        let capacity: Arc<Capacity> = Arc::default();
        let pages = FilePages::new(&capacity);
        let node = Self::new(fs_id, capacity, S_IFREG | mode, Content::File(pages));
        node.meta.lock().seals = seals;
        node
    }

    pub fn seals(&self) -> u32 {
        self.meta.lock().seals
    }

    /// `F_ADD_SEALS`: EPERM once `F_SEAL_SEAL` is set.
    pub fn add_seals(&self, seals: u32) -> Result<(), Errno> {
        let mut meta = self.meta.lock();
        if meta.seals & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        meta.seals |= seals;
        Ok(())
    }

    /// Whether the seals allow the file's size to go from `from` to `to`
    /// (EPERM otherwise).
    fn check_resize(&self, from: u64, to: u64) -> Result<(), Errno> {
        let seals = self.seals();
        if (to < from && seals & F_SEAL_SHRINK != 0) || (to > from && seals & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    fn touch_mtime(&self) {
        let now = now_ns();
        let mut meta = self.meta.lock();
        meta.mtime_ns = now;
        meta.ctime_ns = now;
    }

    fn insert(
        self: &Arc<Self>,
        name: &[u8],
        mode: u32,
        content: Content,
    ) -> Result<Arc<TmpNode>, Errno> {
        vfs::check_name(name)?;
        let is_dir = matches!(content, Content::Directory(_));
        let node = Self::new(self.fs_id, Arc::clone(&self.capacity), mode, content);
        *node.parent.lock() = Arc::downgrade(self);
        {
            let mut content = self.content.lock();
            let Content::Directory(entries) = &mut *content else {
                return Err(Errno::ENOTDIR);
            };
            if entries.contains_key(name) {
                return Err(Errno::EEXIST);
            }
            entries.insert(name.to_vec(), Arc::clone(&node));
        }
        if is_dir {
            self.meta.lock().nlink += 1;
        }
        self.touch_mtime();
        Ok(node)
    }

    fn child(&self, name: &[u8]) -> Result<Arc<TmpNode>, Errno> {
        match &*self.content.lock() {
            Content::Directory(entries) => entries.get(name).cloned().ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn is_empty_dir(&self) -> bool {
        matches!(&*self.content.lock(), Content::Directory(e) if e.is_empty())
    }

    /// This node as an `Arc` (to hand to children as their parent).
    fn self_arc(&self) -> Result<Arc<TmpNode>, Errno> {
        self.this.upgrade().ok_or(Errno::ENOENT)
    }

    /// `other` as a node of this same tmpfs, else EXDEV.
    fn same_fs(&self, other: &NodeRef) -> Result<Arc<TmpNode>, Errno> {
        other
            .as_any()
            .downcast_ref::<TmpNode>()
            .filter(|other| other.fs_id == self.fs_id)
            .ok_or(Errno::EXDEV)?
            .self_arc()
    }
}

fn split_ns(ns: u64) -> (i64, i64) {
    (
        (ns / time::NS_PER_SEC) as i64,
        (ns % time::NS_PER_SEC) as i64,
    )
}

impl Node for TmpNode {
    fn kind(&self) -> NodeKind {
        NodeKind::of_mode(self.meta.lock().mode)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let size = match &*self.content.lock() {
            Content::File(data) => data.len as i64,
            Content::Symlink(target) => target.len() as i64,
            Content::Directory(_) => BLOCK_SIZE,
            Content::Socket | Content::Fifo => 0,
        };
        let meta = self.meta.lock();
        let (atime, atime_nsec) = split_ns(meta.atime_ns);
        let (mtime, mtime_nsec) = split_ns(meta.mtime_ns);
        let (ctime, ctime_nsec) = split_ns(meta.ctime_ns);
        Ok(Stat {
            st_dev: self.fs_id as u64,
            st_ino: self.ino,
            st_nlink: meta.nlink,
            st_mode: meta.mode,
            st_uid: meta.uid,
            st_gid: meta.gid,
            st_size: size,
            st_blksize: BLOCK_SIZE,
            st_blocks: (size + 511) / 512,
            st_atime: atime,
            st_atime_nsec: atime_nsec,
            st_mtime: mtime,
            st_mtime_nsec: mtime_nsec,
            st_ctime: ctime,
            st_ctime_nsec: ctime_nsec,
            ..Stat::default()
        })
    }

    fn lookup(&self, name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        self.child(name).map(|node| node as NodeRef)
    }

    fn read_dir(
        &self,
        cursor: u64,
        _ctx: &dyn ProcessView,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let (dot, dotdot) = {
            let parent = self.parent.lock().upgrade();
            (self.ino, parent.map_or(self.ino, |p| p.ino))
        };
        // Cursors: 0 and 1 are "." and "..", then the entries in name
        // order, resumed by position (a snapshot: later changes may shift
        // it, as Linux allows for concurrent modification).
        let entries: Vec<(Vec<u8>, u64, u32)> = match &*self.content.lock() {
            Content::Directory(entries) => entries
                .iter()
                .map(|(name, node)| (name.clone(), node.ino, node.meta.lock().mode))
                .collect(),
            _ => return Err(Errno::ENOTDIR),
        };
        let dots = [
            (b".".to_vec(), dot, S_IFDIR),
            (b"..".to_vec(), dotdot, S_IFDIR),
        ];
        for (index, (name, ino, mode)) in dots
            .into_iter()
            .chain(entries)
            .enumerate()
            .skip(cursor as usize)
        {
            let entry = DirEntry {
                name,
                ino,
                kind: type_of_mode(mode),
                next: index as u64 + 1,
            };
            if !sink(entry) {
                break;
            }
        }
        Ok(())
    }

    fn create(&self, name: &[u8], mode: u32) -> Result<NodeRef, Errno> {
        let this = self.self_arc()?;
        this.insert(
            name,
            S_IFREG | (mode & 0o7777),
            Content::File(FilePages::new(&self.capacity)),
        )
        .map(|node| node as NodeRef)
    }

    fn mknod(&self, name: &[u8], mode: u32) -> Result<NodeRef, Errno> {
        let (kind, content) = match mode & S_IFMT {
            S_IFSOCK => (S_IFSOCK, Content::Socket),
            S_IFIFO => (S_IFIFO, Content::Fifo),
            _ => return Err(Errno::EPERM),
        };
        let this = self.self_arc()?;
        this.insert(name, kind | (mode & 0o7777), content)
            .map(|node| node as NodeRef)
    }

    fn mkdir(&self, name: &[u8], mode: u32) -> Result<(), Errno> {
        let this = self.self_arc()?;
        this.insert(
            name,
            S_IFDIR | (mode & 0o7777),
            Content::Directory(BTreeMap::new()),
        )
        .map(drop)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<(), Errno> {
        let this = self.self_arc()?;
        this.insert(name, S_IFLNK | 0o777, Content::Symlink(target.to_vec()))
            .map(drop)
    }

    fn link(&self, name: &[u8], target: &NodeRef) -> Result<(), Errno> {
        let target = self.same_fs(target)?;
        if target.kind() == NodeKind::Directory {
            return Err(Errno::EPERM);
        }
        vfs::check_name(name)?;
        {
            let mut content = self.content.lock();
            let Content::Directory(entries) = &mut *content else {
                return Err(Errno::ENOTDIR);
            };
            if entries.contains_key(name) {
                return Err(Errno::EEXIST);
            }
            entries.insert(name.to_vec(), Arc::clone(&target));
        }
        target.meta.lock().nlink += 1;
        self.touch_mtime();
        Ok(())
    }

    fn unlink(&self, name: &[u8], directory: bool) -> Result<(), Errno> {
        let child = self.child(name)?;
        let is_dir = child.kind() == NodeKind::Directory;
        match (directory, is_dir) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            (true, true) if !child.is_empty_dir() => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        if let Content::Directory(entries) = &mut *self.content.lock() {
            entries.remove(name);
        }
        let mut meta = child.meta.lock();
        meta.nlink = meta.nlink.saturating_sub(if is_dir { 2 } else { 1 });
        drop(meta);
        if is_dir {
            let mut meta = self.meta.lock();
            meta.nlink = meta.nlink.saturating_sub(1);
        }
        self.touch_mtime();
        Ok(())
    }

    fn rename(
        &self,
        name: &[u8],
        new_parent: &NodeRef,
        new_name: &[u8],
        no_replace: bool,
    ) -> Result<(), Errno> {
        let new_parent = self.same_fs(new_parent)?;
        vfs::check_name(new_name)?;
        let moving = self.child(name)?;
        if let Ok(existing) = new_parent.child(new_name) {
            if Arc::ptr_eq(&existing, &moving) {
                return Ok(());
            }
            if no_replace {
                return Err(Errno::EEXIST);
            }
            match (
                moving.kind() == NodeKind::Directory,
                existing.kind() == NodeKind::Directory,
            ) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !existing.is_empty_dir() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        // A directory may not move below itself.
        if moving.kind() == NodeKind::Directory {
            let mut up = Some(Arc::clone(&new_parent));
            while let Some(dir) = up {
                if Arc::ptr_eq(&dir, &moving) {
                    return Err(Errno::EINVAL);
                }
                up = dir.parent.lock().upgrade();
            }
        }
        if let Content::Directory(entries) = &mut *self.content.lock() {
            entries.remove(name);
        }
        let replaced = match &mut *new_parent.content.lock() {
            Content::Directory(entries) => entries.insert(new_name.to_vec(), Arc::clone(&moving)),
            _ => return Err(Errno::ENOTDIR),
        };
        if let Some(replaced) = replaced {
            let mut meta = replaced.meta.lock();
            meta.nlink = meta.nlink.saturating_sub(1);
        }
        if moving.kind() == NodeKind::Directory {
            *moving.parent.lock() = Arc::downgrade(&new_parent);
        }
        self.touch_mtime();
        new_parent.touch_mtime();
        Ok(())
    }

    fn readlink(&self, _ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
        match &*self.content.lock() {
            Content::Symlink(target) => Ok(target.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn open(
        self: Arc<Self>,
        flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        match self.kind() {
            NodeKind::Directory => Ok(DirFile::open(self)),
            // A socket is reached with connect(2), not open(2).
            _ if matches!(&*self.content.lock(), Content::Socket) && flags & O_PATH == 0 => {
                Err(Errno::ENXIO)
            }
            _ => {
                if flags & O_TRUNC != 0 && matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR) {
                    if let Content::File(data) = &mut *self.content.lock() {
                        self.check_resize(data.len, 0)?;
                        data.truncate(0);
                    }
                    self.touch_mtime();
                }
                Ok(Arc::new(TmpFile { node: self }))
            }
        }
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        if let Some(size) = attr.size {
            if size > MAX_FILE_BYTES {
                return Err(Errno::EFBIG);
            }
            match &mut *self.content.lock() {
                Content::File(data) => {
                    self.check_resize(data.len, size)?;
                    data.truncate(size)
                }
                Content::Directory(_) => return Err(Errno::EISDIR),
                Content::Symlink(_) | Content::Socket | Content::Fifo => return Err(Errno::EINVAL),
            }
            self.touch_mtime();
        }
        let now = now_ns();
        let mut meta = self.meta.lock();
        if let Some(mode) = attr.mode {
            const EXEC_BITS: u32 = 0o111;
            if meta.seals & F_SEAL_EXEC != 0 && (meta.mode ^ mode) & EXEC_BITS != 0 {
                return Err(Errno::EPERM);
            }
            meta.mode = (meta.mode & S_IFMT) | (mode & 0o7777);
        }
        if let Some(uid) = attr.uid {
            meta.uid = uid;
        }
        if let Some(gid) = attr.gid {
            meta.gid = gid;
        }
        let ns = |t: SetTime| match t {
            SetTime::Now => now,
            SetTime::At { sec, nsec } => {
                (sec.max(0) as u64) * time::NS_PER_SEC + nsec.max(0) as u64
            }
        };
        if let Some(t) = attr.atime {
            meta.atime_ns = ns(t);
        }
        if let Some(t) = attr.mtime {
            meta.mtime_ns = ns(t);
        }
        meta.ctime_ns = now;
        Ok(())
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        let (mut free, mut total) = crate::mm::frame::stats();
        if let Some(limit) = self.capacity.limit_pages {
            let used = self
                .capacity
                .used_pages
                .load(core::sync::atomic::Ordering::Relaxed);
            total = limit;
            free = free.min(limit.saturating_sub(used));
        }
        Ok(Statfs {
            f_type: TMPFS_MAGIC,
            f_bsize: BLOCK_SIZE,
            f_blocks: total,
            f_bfree: free,
            f_bavail: free,
            f_files: total,
            f_ffree: free,
            f_namelen: vfs::NAME_MAX as i64,
            f_frsize: BLOCK_SIZE,
            ..Statfs::default()
        })
    }

    fn fs_id(&self) -> usize {
        self.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// An open tmpfs file (or symlink opened with O_PATH).
struct TmpFile {
    node: Arc<TmpNode>,
}

impl FileObject for TmpFile {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match &*self.node.content.lock() {
            Content::File(data) => Ok(data.read(offset, buf)),
            _ => Err(Errno::EINVAL),
        }
    }

    fn write(&self, offset: u64, bytes: &[u8]) -> Result<usize, Errno> {
        offset
            .checked_add(bytes.len() as u64)
            .filter(|&end| end <= MAX_FILE_BYTES)
            .ok_or(Errno::EFBIG)?;
        let written = match &mut *self.node.content.lock() {
            Content::File(data) => {
                if self.node.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
                    return Err(Errno::EPERM);
                }
                let mut bytes = bytes;
                let end = offset + bytes.len() as u64;
                if end > data.len && self.node.check_resize(data.len, end).is_err() {
                    // Linux writes a sealed file page by page and stops
                    // at the first page that would grow it.
                    let allowed = data.len / PAGE * PAGE;
                    if allowed <= offset {
                        return Err(Errno::EPERM);
                    }
                    bytes = &bytes[..(allowed - offset) as usize];
                }
                data.write(offset, bytes)?
            }
            _ => return Err(Errno::EINVAL),
        };
        self.node.touch_mtime();
        Ok(written)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn poll(&self, events: u16) -> u16 {
        events & (POLLIN | POLLOUT)
    }

    fn node(&self) -> Option<NodeRef> {
        Some(Arc::clone(&self.node) as NodeRef)
    }
}

/// The seals of the file behind `node`; None for a node that is not a
/// tmpfs file (`F_GET_SEALS` answers EINVAL there).
pub fn seals_of(node: &NodeRef) -> Option<u32> {
    let node = node.as_any().downcast_ref::<TmpNode>()?;
    (node.kind() == NodeKind::Regular).then(|| node.seals())
}

/// `F_ADD_SEALS` on `node` (EINVAL when it is not a tmpfs file).
pub fn add_seals(node: &NodeRef, seals: u32) -> Result<(), Errno> {
    let node = node
        .as_any()
        .downcast_ref::<TmpNode>()
        .filter(|n| n.kind() == NodeKind::Regular)
        .ok_or(Errno::EINVAL)?;
    node.add_seals(seals)
}
