//! Building blocks of the synthetic file systems (/dev and /proc): a
//! fixed directory, a symlink whose target is computed when read, and a
//! read-only file whose content is generated when opened.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::dirent::{DT_DIR, DT_LNK, DT_REG};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};

use super::file::FileObject;
use super::vfs::{self, DirEntry, DirFile, Node, NodeKind, NodeRef, ProcessView};

const BLOCK_SIZE: i64 = 4096;

/// What the synthetic nodes of one file system share.
#[derive(Debug, Clone, Copy)]
pub struct SynthFs {
    pub fs_id: usize,
    /// `f_type` for `statfs` (PROC_SUPER_MAGIC, TMPFS_MAGIC for devtmpfs).
    pub magic: i64,
}

impl SynthFs {
    pub fn new(magic: i64) -> Self {
        Self {
            fs_id: vfs::next_fs_id(),
            magic,
        }
    }

    /// A node's `stat` in this file system.
    pub fn stat(&self, ino: u64, mode: u32, nlink: u64) -> Stat {
        Stat {
            st_dev: self.fs_id as u64,
            st_ino: ino,
            st_nlink: nlink,
            st_mode: mode,
            st_blksize: BLOCK_SIZE,
            ..Stat::default()
        }
    }

    /// This file system's `statfs`.
    pub fn statfs(&self) -> Statfs {
        Statfs {
            f_type: self.magic,
            f_bsize: BLOCK_SIZE,
            f_namelen: vfs::NAME_MAX as i64,
            f_frsize: BLOCK_SIZE,
            ..Statfs::default()
        }
    }
}

type Generator = Box<dyn Fn(&dyn ProcessView) -> Result<Vec<u8>, Errno> + Send + Sync>;

/// A directory with a fixed list of entries.
pub struct SynthDir {
    fs: SynthFs,
    ino: u64,
    entries: Vec<(&'static [u8], NodeRef)>,
}

impl SynthDir {
    pub fn new(fs: SynthFs, entries: Vec<(&'static [u8], NodeRef)>) -> Arc<Self> {
        Arc::new(Self {
            fs,
            ino: vfs::next_ino(),
            entries,
        })
    }
}

/// "." and ".." then `entries`, from `cursor` on.
pub fn list(
    ino: u64,
    entries: impl Iterator<Item = (Vec<u8>, u64, u8)>,
    cursor: u64,
    sink: &mut dyn FnMut(DirEntry) -> bool,
) {
    let dots = [(b".".to_vec(), ino, DT_DIR), (b"..".to_vec(), ino, DT_DIR)];
    for (index, (name, ino, kind)) in dots
        .into_iter()
        .chain(entries)
        .enumerate()
        .skip(cursor as usize)
    {
        let next = index as u64 + 1;
        if !sink(DirEntry {
            name,
            ino,
            kind,
            next,
        }) {
            break;
        }
    }
}

pub fn dirent_kind(node: &NodeRef) -> u8 {
    match node.kind() {
        NodeKind::Directory => DT_DIR,
        NodeKind::Symlink => DT_LNK,
        NodeKind::Regular => DT_REG,
        NodeKind::CharDevice => lamina_abi::dirent::DT_CHR,
        NodeKind::Other => lamina_abi::dirent::DT_UNKNOWN,
    }
}

impl Node for SynthDir {
    fn kind(&self) -> NodeKind {
        NodeKind::Directory
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.stat(self.ino, S_IFDIR | 0o555, 2))
    }

    fn lookup(&self, name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        self.entries
            .iter()
            .find(|(entry, _)| *entry == name)
            .map(|(_, node)| Arc::clone(node))
            .ok_or(Errno::ENOENT)
    }

    fn read_dir(
        &self,
        cursor: u64,
        _ctx: &dyn ProcessView,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let entries = self.entries.iter().map(|(name, node)| {
            let ino = node.stat().map(|s| s.st_ino).unwrap_or(0);
            (name.to_vec(), ino, dirent_kind(node))
        });
        list(self.ino, entries, cursor, sink);
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

/// A symlink whose target is computed each time it is read.
pub struct SynthLink {
    fs: SynthFs,
    ino: u64,
    target: Generator,
}

impl SynthLink {
    pub fn new(
        fs: SynthFs,
        target: impl Fn(&dyn ProcessView) -> Result<Vec<u8>, Errno> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Self::with_ino(fs, vfs::next_ino(), target)
    }

    /// A link with a given inode number (/proc's per-process nodes, made
    /// afresh at each lookup, keep theirs).
    pub fn with_ino(
        fs: SynthFs,
        ino: u64,
        target: impl Fn(&dyn ProcessView) -> Result<Vec<u8>, Errno> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            fs,
            ino,
            target: Box::new(target),
        })
    }

    pub fn fixed(fs: SynthFs, target: &'static [u8]) -> Arc<Self> {
        Self::new(fs, move |_| Ok(target.to_vec()))
    }
}

impl Node for SynthLink {
    fn kind(&self) -> NodeKind {
        NodeKind::Symlink
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.stat(self.ino, S_IFLNK | 0o777, 1))
    }

    fn readlink(&self, ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
        (self.target)(ctx)
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        // Only O_PATH|O_NOFOLLOW reaches a symlink itself.
        Ok(Arc::new(Snapshot {
            node: self,
            data: Vec::new(),
        }))
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

/// A read-only file whose content is generated when it is opened.
pub struct SynthFile {
    fs: SynthFs,
    ino: u64,
    content: Generator,
}

impl SynthFile {
    pub fn new(
        fs: SynthFs,
        content: impl Fn(&dyn ProcessView) -> Result<Vec<u8>, Errno> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Self::with_ino(fs, vfs::next_ino(), content)
    }

    /// A file with a given inode number (see [`SynthLink::with_ino`]).
    pub fn with_ino(
        fs: SynthFs,
        ino: u64,
        content: impl Fn(&dyn ProcessView) -> Result<Vec<u8>, Errno> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            fs,
            ino,
            content: Box::new(content),
        })
    }
}

impl Node for SynthFile {
    fn kind(&self) -> NodeKind {
        NodeKind::Regular
    }

    fn stat(&self) -> Result<Stat, Errno> {
        // Like procfs: size 0, the content exists only when read.
        Ok(self.fs.stat(self.ino, S_IFREG | 0o444, 1))
    }

    fn open(
        self: Arc<Self>,
        flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        if flags & O_ACCMODE != O_RDONLY {
            return Err(Errno::EACCES);
        }
        let data = (self.content)(ctx)?;
        Ok(Arc::new(Snapshot { node: self, data }))
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

/// Generated content, fixed when the file was opened.
struct Snapshot {
    node: NodeRef,
    data: Vec<u8>,
}

impl FileObject for Snapshot {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let start = (offset as usize).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }

    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn size(&self) -> Result<u64, Errno> {
        Ok(self.data.len() as u64)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn poll(&self, events: u16) -> u16 {
        events & (POLLIN | POLLOUT)
    }

    fn node(&self) -> Option<NodeRef> {
        Some(Arc::clone(&self.node))
    }
}
