//! The 9P2000.L client and the file system it gives the VFS: a host
//! directory, exported by the VMM's 9P server, as a tree of nodes.
//!
//! Each node holds a fid walked to its file (never opened); opening walks a
//! second fid and `Tlopen`s it. A [`Fid`] is clunked when its last owner
//! drops it, so no path leaks fids. One request is in flight at a time
//! (one CPU, a kernel that is not preempted), so one tag serves all.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_9p::{self as p9, DirEntries, Qid, Rmsg, Tmsg, WalkNames};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};
use lamina_proto::trace::TraceKind;
use spin::Mutex;

use super::file::FileObject;
use super::vfs::{self, DirEntry, Node, NodeKind, NodeRef, ProcessView, SetAttr, SetTime};

/// The tag of every request: one is in flight at a time.
const TAG: u16 = 1;
/// How much of a directory one Treaddir asks for: its entries are parsed
/// onto the kernel heap, and a getdents64 buffer rarely takes more.
const READDIR_BYTES: usize = 32 << 10;
/// The root's fid; others are allocated above it.
const ROOT_FID: u32 = 0;
/// The user the workload runs as (root inside the VM; the host side maps
/// it to whoever runs lamina).
const UNAME: &[u8] = b"root";
const ROOT_UID: u32 = 0;

/// Moves one request and its reply: the virtio-9p device (or, later, a
/// channel to lamina's own 9P server).
pub trait Transport: Send {
    /// `encode` writes the T-message into a buffer of at least `msize`
    /// bytes and returns its length; `read` then gets the R-message.
    fn exchange(
        &mut self,
        msize: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> usize,
        read: &mut dyn FnMut(&[u8]),
    ) -> Result<(), Errno>;
}

struct Wire {
    transport: Box<dyn Transport>,
}

/// A 9P session: the transport, the negotiated `msize`, the fid numbers
/// and the walked directories.
pub struct Client {
    wire: Mutex<Wire>,
    msize: u32,
    fids: Mutex<FidNumbers>,
    fs_id: usize,
    directories: Mutex<DirectoryCache>,
    /// Owners the guest gave files that the host could not (see
    /// [`GuestOwners`]).
    owners: Mutex<GuestOwners>,
}

/// Ownership kept in the guest, by the host's inode number (`qid.path`),
/// for the files whose chown the host refused: QEMU's
/// `security_model=none` chowns as the user who runs lamina, so run by an
/// unprivileged user it cannot give a file to another uid or gid. The
/// guest then sees, for this run, the owner it asked for (a file a
/// non-root process creates is its own, as the process expects to reopen
/// it), while on the host the file stays that user's. Bounded: beyond
/// [`GUEST_OWNERS_MAX`] files a refused chown is EPERM as the host said.
#[derive(Default)]
struct GuestOwners {
    by_inode: BTreeMap<u64, (u32, u32)>,
}

const GUEST_OWNERS_MAX: usize = 2048;

/// Directories walked before, by their path in the export, so that a path
/// walk does not re-walk (and clunk) every directory above its last
/// component. It holds no metadata: QEMU's server keeps a path in each fid,
/// so a cached fid names whatever is at that path now, exactly as a fresh
/// walk would. A directory this client renames or removes is dropped (all
/// of them, to keep it simple); the cache is bounded.
#[derive(Default)]
struct DirectoryCache {
    nodes: BTreeMap<Vec<u8>, Arc<P9Node>>,
}

/// Directories kept at most (each holds one fid on the server).
const CACHED_DIRECTORIES: usize = 256;

impl DirectoryCache {
    fn get(&self, path: &[u8]) -> Option<Arc<P9Node>> {
        self.nodes.get(path).cloned()
    }

    fn put(&mut self, node: Arc<P9Node>) {
        if self.nodes.len() >= CACHED_DIRECTORIES {
            self.nodes.clear();
        }
        self.nodes.insert(node.path.clone(), node);
    }

    /// Takes every entry out; the caller drops them outside the lock
    /// (dropping a node clunks its fid, which needs the wire).
    fn take_all(&mut self) -> BTreeMap<Vec<u8>, Arc<P9Node>> {
        core::mem::take(&mut self.nodes)
    }
}

/// Fid numbers in use; released numbers are reused first.
struct FidNumbers {
    next: u32,
    free: Vec<u32>,
}

impl FidNumbers {
    fn take(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            self.next
        })
    }
}

/// 9P requests sent, all sessions together (`--verbose` shows it at exit).
static REQUESTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

pub fn requests_sent() -> u64 {
    REQUESTS.load(core::sync::atomic::Ordering::Relaxed)
}

/// A request's name and fields for `--trace`, and when it left.
fn summarize(request: &[u8], msize: u32) -> Option<(&'static str, alloc::string::String, u64)> {
    let (_, message) = Tmsg::decode(request, msize).ok()?;
    let mut fields = alloc::string::String::new();
    message.write_fields(&mut fields).ok()?;
    Some((message.name(), fields, crate::time::monotonic_ns()))
}

fn errno_of(ecode: u32) -> Errno {
    i32::try_from(ecode)
        .ok()
        .and_then(Errno::from_raw)
        .unwrap_or(Errno::EIO)
}

impl Client {
    /// `Tversion` (asking for `msize`, the transport's limit) and
    /// `Tattach` of the export's root.
    pub fn connect(transport: Box<dyn Transport>, msize: u32) -> Result<Arc<Self>, Errno> {
        let client = Self {
            wire: Mutex::new(Wire { transport }),
            msize,
            fids: Mutex::new(FidNumbers {
                next: ROOT_FID,
                free: Vec::new(),
            }),
            fs_id: vfs::next_fs_id(),
            directories: Mutex::new(DirectoryCache::default()),
            owners: Mutex::new(GuestOwners::default()),
        };
        let agreed = client.rpc_tagged(
            p9::NOTAG,
            &Tmsg::Version {
                msize,
                version: p9::VERSION_9P2000_L,
            },
            |reply| match reply {
                Rmsg::Version { msize, version } if version == p9::VERSION_9P2000_L => Ok(msize),
                _ => Err(Errno::EPROTO),
            },
        )?;
        let client = Self {
            msize: agreed.min(msize),
            ..client
        };
        client.rpc(
            &Tmsg::Attach {
                fid: ROOT_FID,
                afid: p9::NOFID,
                uname: UNAME,
                aname: b"",
                n_uname: ROOT_UID,
            },
            |reply| match reply {
                Rmsg::Attach { .. } => Ok(()),
                _ => Err(Errno::EPROTO),
            },
        )?;
        Ok(Arc::new(client))
    }

    pub fn msize(&self) -> u32 {
        self.msize
    }

    /// The most data one Tread or Twrite carries.
    fn io_max(&self) -> usize {
        (self.msize - p9::IOHDRSZ) as usize
    }

    fn rpc<R>(
        &self,
        request: &Tmsg<'_>,
        reply: impl FnOnce(Rmsg<'_>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        self.rpc_tagged(TAG, request, reply)
    }

    /// Sends `request`, waits for the reply, and hands it to `reply`; an
    /// Rlerror is its errno, a reply that does not parse is EIO.
    fn rpc_tagged<R>(
        &self,
        tag: u16,
        request: &Tmsg<'_>,
        reply: impl FnOnce(Rmsg<'_>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        self.exchange(
            tag,
            &mut |buffer| request.encode(tag, buffer).map_err(|_| Errno::EINVAL),
            reply,
        )
    }

    /// One request whose bytes `encode` writes into the transport's buffer
    /// (returning their length), and its reply; see [`Client::rpc`].
    fn exchange<R>(
        &self,
        tag: u16,
        encode: &mut dyn FnMut(&mut [u8]) -> Result<usize, Errno>,
        reply: impl FnOnce(Rmsg<'_>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        let mut wire = self.wire.lock();
        REQUESTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let msize = self.msize.max(p9::IOHDRSZ);
        let mut encoded = Ok(0);
        let mut reply = Some(reply);
        let mut result = Err(Errno::EIO);
        let mut traced: Option<(&'static str, alloc::string::String, u64)> = None;
        // An encoder that fails (a bad user pointer) writes nothing: the
        // transport refuses the empty request, and the encoder's own error
        // is the one reported.
        let sent = wire.transport.exchange(
            msize as usize,
            &mut |buffer| {
                encoded = encode(buffer);
                let len = *encoded.as_ref().unwrap_or(&0);
                if crate::trace::enabled() {
                    traced = summarize(&buffer[..len], msize);
                }
                len
            },
            &mut |bytes| {
                result = match Rmsg::decode(bytes, msize) {
                    Ok((got_tag, _)) if got_tag != tag => Err(Errno::EIO),
                    Ok((_, Rmsg::Lerror { ecode })) => Err(errno_of(ecode)),
                    Ok((_, message)) => reply.take().map_or(Err(Errno::EIO), |f| f(message)),
                    Err(_) => Err(Errno::EIO),
                };
            },
        );
        if let Some((name, fields, start_ns)) = traced {
            let outcome = match (&encoded, &sent, &result) {
                (Ok(_), Ok(_), Ok(_)) => 0,
                (Err(e), _, _) => e.to_return() as i64,
                (_, Err(e), _) => e.to_return() as i64,
                (_, _, Err(e)) => e.to_return() as i64,
            };
            crate::trace::forwarded(TraceKind::P9, name, &fields, start_ns, outcome);
        }
        encoded?;
        sent?;
        result
    }

    fn new_fid(self: &Arc<Self>) -> Fid {
        Fid {
            client: Arc::clone(self),
            id: self.fids.lock().take(),
        }
    }

    /// Walks from `from` along `names` (at most MAXWELEM) to a new fid.
    fn walk(self: &Arc<Self>, from: &Fid, names: &[&[u8]]) -> Result<(Fid, Option<Qid>), Errno> {
        let names_wire = WalkNames::new(names).map_err(|_| Errno::ENAMETOOLONG)?;
        let fid = self.new_fid();
        let qid = self.rpc(
            &Tmsg::Walk {
                fid: from.id,
                newfid: fid.id,
                names: names_wire,
            },
            |reply| match reply {
                Rmsg::Walk { qids } if qids.as_slice().len() == names.len() => {
                    Ok(qids.as_slice().last().copied())
                }
                // A partial walk: the first missing name does not exist.
                Rmsg::Walk { .. } => Err(Errno::ENOENT),
                _ => Err(Errno::EIO),
            },
        );
        match qid {
            Ok(qid) => Ok((fid, qid)),
            Err(e) => {
                // The server made no new fid: nothing to clunk.
                fid.forget();
                Err(e)
            }
        }
    }

    fn getattr(&self, fid: &Fid) -> Result<p9::Attr, Errno> {
        self.rpc(
            &Tmsg::Getattr {
                fid: fid.id,
                request_mask: p9::GETATTR_BASIC,
            },
            |reply| match reply {
                Rmsg::Getattr(attr) => Ok(attr),
                _ => Err(Errno::EIO),
            },
        )
    }

    /// The root of the export, as a node.
    pub fn root(self: &Arc<Self>) -> Result<NodeRef, Errno> {
        let fid = Fid {
            client: Arc::clone(self),
            id: ROOT_FID,
        };
        let attr = self.getattr(&fid)?;
        Ok(Arc::new(P9Node {
            client: Arc::clone(self),
            fid,
            kind: kind_of_qid(&attr.qid),
            path: Vec::new(),
            created: Mutex::new(None),
        }))
    }

    /// Forgets every cached directory (after a rename or removal of one).
    fn forget_directories(&self) {
        let dropped = self.directories.lock().take_all();
        drop(dropped);
    }
}

/// A fid the server knows; clunked when dropped.
pub struct Fid {
    client: Arc<Client>,
    id: u32,
}

impl Fid {
    /// Releases the number without a Tclunk (the server never made it).
    fn forget(self) {
        self.client.fids.lock().free.push(self.id);
        core::mem::forget(self);
    }
}

impl Drop for Fid {
    fn drop(&mut self) {
        let _ = self.client.rpc(&Tmsg::Clunk { fid: self.id }, |_| Ok(()));
        self.client.fids.lock().free.push(self.id);
    }
}

fn kind_of_qid(qid: &Qid) -> NodeKind {
    if qid.ty & p9::QTDIR != 0 {
        NodeKind::Directory
    } else if qid.ty & p9::QTSYMLINK != 0 {
        NodeKind::Symlink
    } else {
        NodeKind::Regular
    }
}

impl Client {
    /// `attr` as `stat` shows it, with the owner the guest keeps, if any.
    fn stat_of(&self, attr: &p9::Attr) -> Stat {
        let mut stat = stat_of(attr, self.fs_id);
        if let Some(&(uid, gid)) = self.owners.lock().by_inode.get(&attr.qid.path) {
            stat.st_uid = uid;
            stat.st_gid = gid;
        }
        stat
    }
}

fn stat_of(attr: &p9::Attr, fs_id: usize) -> Stat {
    Stat {
        st_dev: fs_id as u64,
        st_ino: attr.qid.path,
        st_nlink: attr.nlink,
        st_mode: attr.mode,
        st_uid: attr.uid,
        st_gid: attr.gid,
        st_rdev: attr.rdev,
        st_size: attr.size as i64,
        st_blksize: attr.blksize as i64,
        st_blocks: attr.blocks as i64,
        st_atime: attr.atime_sec as i64,
        st_atime_nsec: attr.atime_nsec as i64,
        st_mtime: attr.mtime_sec as i64,
        st_mtime_nsec: attr.mtime_nsec as i64,
        st_ctime: attr.ctime_sec as i64,
        st_ctime_nsec: attr.ctime_nsec as i64,
        ..Stat::default()
    }
}

/// A file, directory or symlink of the export.
pub struct P9Node {
    client: Arc<Client>,
    fid: Fid,
    kind: NodeKind,
    /// Its path in the export ("" for the root, else "/a/b").
    path: Vec<u8>,
    /// The fid `Tlcreate` left open (read-write) on a file this client
    /// just created, and its iounit: the `open` that follows a create
    /// takes it instead of walking and opening another.
    created: Mutex<Option<(Fid, u32)>>,
}

impl P9Node {
    fn child(&self, name: &[u8]) -> Result<NodeRef, Errno> {
        self.child_node(name).map(|node| node as NodeRef)
    }

    /// A node the guest just created belongs to its creator's fsuid and
    /// fsgid: the server made it with the attaching user's uid (root) and
    /// the gid the request named, so another creator takes a chown. QEMU
    /// (`security_model=none`) chowns as whoever runs it: run by an
    /// unprivileged user, the host silently kept the file that user's at
    /// the create and refuses this chown, and the guest keeps the owner
    /// ([`GuestOwners`]).
    fn give_to_creator(&self) {
        let (uid, gid) = super::owner::creator();
        if (uid, gid) != (ROOT_UID, ROOT_UID) {
            let _ = self.setattr(&SetAttr {
                uid: Some(uid),
                gid: Some(gid),
                ..SetAttr::default()
            });
        }
    }

    /// The host refused to chown this node to `uid`/`gid` (None: keep
    /// that one): the guest keeps the owner, while there is room.
    fn keep_owner_in_guest(&self, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
        let attr = self.client.getattr(&self.fid)?;
        let current = self.client.stat_of(&attr);
        let mut owners = self.client.owners.lock();
        if owners.by_inode.len() >= GUEST_OWNERS_MAX
            && !owners.by_inode.contains_key(&attr.qid.path)
        {
            return Err(Errno::EPERM);
        }
        owners.by_inode.insert(
            attr.qid.path,
            (uid.unwrap_or(current.st_uid), gid.unwrap_or(current.st_gid)),
        );
        Ok(())
    }

    fn give_child_to_creator(&self, name: &[u8]) {
        if super::owner::creator() != (ROOT_UID, ROOT_UID) {
            if let Ok(node) = self.child_node(name) {
                node.give_to_creator();
            }
        }
    }

    fn child_node(&self, name: &[u8]) -> Result<Arc<P9Node>, Errno> {
        let mut path = self.path.clone();
        path.push(b'/');
        path.extend_from_slice(name);
        if let Some(cached) = self.client.directories.lock().get(&path) {
            return Ok(cached);
        }
        let (fid, qid) = self.client.walk(&self.fid, &[name])?;
        let qid = qid.ok_or(Errno::EIO)?;
        let node = Arc::new(P9Node {
            client: Arc::clone(&self.client),
            fid,
            kind: kind_of_qid(&qid),
            path,
            created: Mutex::new(None),
        });
        if node.kind == NodeKind::Directory {
            self.client.directories.lock().put(Arc::clone(&node));
        }
        Ok(node)
    }

    /// `other` as a node of this same export, else EXDEV.
    fn same_export<'a>(&self, other: &'a NodeRef) -> Result<&'a P9Node, Errno> {
        other
            .as_any()
            .downcast_ref::<P9Node>()
            .filter(|o| Arc::ptr_eq(&o.client, &self.client))
            .ok_or(Errno::EXDEV)
    }

    /// A second fid on the same file, opened with `flags`; returns it and
    /// the server's iounit.
    fn open_fid(&self, flags: u32) -> Result<(Fid, u32), Errno> {
        let (fid, _) = self.client.walk(&self.fid, &[])?;
        let iounit = self
            .client
            .rpc(&Tmsg::Lopen { fid: fid.id, flags }, |reply| match reply {
                Rmsg::Lopen { iounit, .. } => Ok(iounit),
                _ => Err(Errno::EIO),
            })?;
        Ok((fid, iounit))
    }
}

/// The 9P2000.L open flags for `flags` (Linux's own values; creation and
/// truncation are done by separate requests, and O_APPEND by the open file
/// description, which writes at the end: the host's fid writes where it is
/// told, so `fcntl(F_SETFL)` and shared-mapping write-back stay exact).
fn lopen_flags(flags: u32) -> u32 {
    flags & (O_ACCMODE | O_DIRECTORY | O_NOFOLLOW | O_DSYNC | O_SYNC)
}

impl Node for P9Node {
    fn kind(&self) -> NodeKind {
        self.kind
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.client.stat_of(&self.client.getattr(&self.fid)?))
    }

    fn lookup(&self, name: &[u8], _ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        if self.kind != NodeKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        self.child(name)
    }

    /// Socket nodes stay in the guest: on the host a Tmknod would make a
    /// real socket file that no host process serves.
    fn mknod(&self, _name: &[u8], _mode: u32) -> Result<NodeRef, Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    fn create(&self, name: &[u8], mode: u32) -> Result<NodeRef, Errno> {
        let (fid, _) = self.client.walk(&self.fid, &[])?;
        let iounit = self.client.rpc(
            &Tmsg::Lcreate {
                fid: fid.id,
                name,
                flags: O_RDWR | O_EXCL,
                mode,
                gid: super::owner::creator().1,
            },
            |reply| match reply {
                Rmsg::Lcreate { iounit, .. } => Ok(iounit),
                _ => Err(Errno::EIO),
            },
        )?;
        // That fid is now the opened new file, kept for the open that
        // follows; the node itself holds a plain walk.
        let node = self.child_node(name)?;
        *node.created.lock() = Some((fid, iounit));
        node.give_to_creator();
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], mode: u32) -> Result<(), Errno> {
        self.client.rpc(
            &Tmsg::Mkdir {
                dfid: self.fid.id,
                name,
                mode,
                gid: super::owner::creator().1,
            },
            |reply| match reply {
                Rmsg::Mkdir { .. } => Ok(()),
                _ => Err(Errno::EIO),
            },
        )?;
        self.give_child_to_creator(name);
        Ok(())
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<(), Errno> {
        self.client.rpc(
            &Tmsg::Symlink {
                dfid: self.fid.id,
                name,
                target,
                gid: super::owner::creator().1,
            },
            |reply| match reply {
                Rmsg::Symlink { .. } => Ok(()),
                _ => Err(Errno::EIO),
            },
        )?;
        self.give_child_to_creator(name);
        Ok(())
    }

    fn link(&self, name: &[u8], target: &NodeRef) -> Result<(), Errno> {
        let target = self.same_export(target)?;
        self.client.rpc(
            &Tmsg::Link {
                dfid: self.fid.id,
                fid: target.fid.id,
                name,
            },
            |reply| match reply {
                Rmsg::Link => Ok(()),
                _ => Err(Errno::EIO),
            },
        )
    }

    fn unlink(&self, name: &[u8], directory: bool) -> Result<(), Errno> {
        // unlinkat(2) on the host tells a directory from a file by the
        // flag: check first, so the errno is the one Linux gives here.
        let child = self.child(name)?;
        match (directory, child.kind() == NodeKind::Directory) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            _ => {}
        }
        // The host may reuse the inode number: a kept owner goes with it.
        let kept_inode = if self.client.owners.lock().by_inode.is_empty() {
            None
        } else {
            child.stat().ok().map(|st| st.st_ino)
        };
        drop(child);
        if directory {
            self.client.forget_directories();
        }
        self.client.rpc(
            &Tmsg::Unlinkat {
                dirfid: self.fid.id,
                name,
                flags: if directory { AT_REMOVEDIR } else { 0 },
            },
            |reply| match reply {
                Rmsg::Unlinkat => Ok(()),
                _ => Err(Errno::EIO),
            },
        )?;
        if let Some(inode) = kept_inode {
            self.client.owners.lock().by_inode.remove(&inode);
        }
        Ok(())
    }

    fn rename(
        &self,
        name: &[u8],
        new_parent: &NodeRef,
        new_name: &[u8],
        no_replace: bool,
    ) -> Result<(), Errno> {
        let new_parent = self.same_export(new_parent)?;
        if no_replace && new_parent.child(new_name).is_ok() {
            return Err(Errno::EEXIST);
        }
        // A directory moved (or replaced) takes its cached paths with it.
        self.client.forget_directories();
        self.client.rpc(
            &Tmsg::Renameat {
                olddirfid: self.fid.id,
                oldname: name,
                newdirfid: new_parent.fid.id,
                newname: new_name,
            },
            |reply| match reply {
                Rmsg::Renameat => Ok(()),
                _ => Err(Errno::EIO),
            },
        )
    }

    fn readlink(&self, _ctx: &dyn ProcessView) -> Result<Vec<u8>, Errno> {
        if self.kind != NodeKind::Symlink {
            return Err(Errno::EINVAL);
        }
        self.client
            .rpc(&Tmsg::Readlink { fid: self.fid.id }, |reply| match reply {
                Rmsg::Readlink { target } => Ok(target.to_vec()),
                _ => Err(Errno::EIO),
            })
    }

    fn open(
        self: Arc<Self>,
        flags: u32,
        _ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        let flags = if self.kind == NodeKind::Directory {
            O_RDONLY | O_DIRECTORY
        } else {
            lopen_flags(flags)
        };
        let created = self.created.lock().take();
        let (fid, iounit) = match created {
            Some(opened) if self.kind == NodeKind::Regular => opened,
            _ => self.open_fid(flags)?,
        };
        Ok(Arc::new(P9File {
            node: self,
            fid,
            iounit,
        }))
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let mut set = p9::SetAttr::default();
        if let Some(mode) = attr.mode {
            set.valid |= p9::SETATTR_MODE;
            set.mode = mode;
        }
        if let Some(uid) = attr.uid {
            set.valid |= p9::SETATTR_UID;
            set.uid = uid;
        }
        if let Some(gid) = attr.gid {
            set.valid |= p9::SETATTR_GID;
            set.gid = gid;
        }
        if let Some(size) = attr.size {
            set.valid |= p9::SETATTR_SIZE;
            set.size = size;
        }
        let mut time = |t: Option<SetTime>, bit: u32, set_bit: u32| -> Option<(u64, u64)> {
            match t? {
                SetTime::Now => {
                    set.valid |= bit;
                    None
                }
                SetTime::At { sec, nsec } => {
                    set.valid |= bit | set_bit;
                    Some((sec as u64, nsec as u64))
                }
            }
        };
        if let Some((sec, nsec)) = time(attr.atime, p9::SETATTR_ATIME, p9::SETATTR_ATIME_SET) {
            set.atime_sec = sec;
            set.atime_nsec = nsec;
        }
        if let Some((sec, nsec)) = time(attr.mtime, p9::SETATTR_MTIME, p9::SETATTR_MTIME_SET) {
            set.mtime_sec = sec;
            set.mtime_nsec = nsec;
        }
        let result = self.client.rpc(
            &Tmsg::Setattr {
                fid: self.fid.id,
                attr: set,
            },
            |reply| match reply {
                Rmsg::Setattr => Ok(()),
                _ => Err(Errno::EIO),
            },
        );
        // A chown alone that the host refuses: the caller passed the
        // guest's own permission check, so the guest keeps the owner.
        let chown_only = attr.mode.is_none()
            && attr.size.is_none()
            && attr.atime.is_none()
            && attr.mtime.is_none()
            && (attr.uid.is_some() || attr.gid.is_some());
        match result {
            Err(Errno::EPERM) if chown_only => self.keep_owner_in_guest(attr.uid, attr.gid),
            // The host made the change: a kept owner no longer holds.
            Ok(())
                if (attr.uid.is_some() || attr.gid.is_some())
                    && !self.client.owners.lock().by_inode.is_empty() =>
            {
                let inode = self.client.getattr(&self.fid)?.qid.path;
                self.client.owners.lock().by_inode.remove(&inode);
                Ok(())
            }
            other => other,
        }
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        let s = self
            .client
            .rpc(&Tmsg::Statfs { fid: self.fid.id }, |reply| match reply {
                Rmsg::Statfs(s) => Ok(s),
                _ => Err(Errno::EIO),
            })?;
        Ok(Statfs {
            f_type: i64::from(s.fs_type),
            f_bsize: i64::from(s.bsize),
            f_blocks: s.blocks,
            f_bfree: s.bfree,
            f_bavail: s.bavail,
            f_files: s.files,
            f_ffree: s.ffree,
            f_fsid: [s.fsid as i32, (s.fsid >> 32) as i32],
            f_namelen: i64::from(s.namelen),
            f_frsize: i64::from(s.bsize),
            ..Statfs::default()
        })
    }

    fn fs_id(&self) -> usize {
        self.client.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// An opened file or directory of the export.
struct P9File {
    node: Arc<P9Node>,
    fid: Fid,
    /// The server's preferred transfer size (0: none).
    iounit: u32,
}

impl P9File {
    fn chunk(&self) -> usize {
        let max = self.node.client.io_max();
        match self.iounit as usize {
            0 => max,
            unit => unit.min(max),
        }
    }
}

impl FileObject for P9File {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut done = 0;
        self.read_into(offset, buf.len(), &mut |data| {
            buf[done..done + data.len()].copy_from_slice(data);
            done += data.len();
            Ok(())
        })
    }

    fn read_into(
        &self,
        offset: u64,
        len: usize,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        let client = &self.node.client;
        let mut done = 0;
        // Large reads are split to the message size; a short reply is the
        // end of the file. Each reply goes to `sink` from the device's
        // buffer, with no copy on the way.
        while done < len {
            let count = (len - done).min(self.chunk());
            let n = client.rpc(
                &Tmsg::Read {
                    fid: self.fid.id,
                    offset: offset + done as u64,
                    count: count as u32,
                },
                |reply| match reply {
                    Rmsg::Read { data } if data.len() <= count => sink(data).map(|()| data.len()),
                    _ => Err(Errno::EIO),
                },
            );
            match n {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    if n < count {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut done = 0;
        self.write_from(offset, data.len(), &mut |room| {
            room.copy_from_slice(&data[done..done + room.len()]);
            done += room.len();
            Ok(())
        })
    }

    fn write_from(
        &self,
        offset: u64,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        let client = &self.node.client;
        let mut done = 0;
        while done < len {
            let count = (len - done).min(self.chunk());
            let at = offset + done as u64;
            // The Twrite's header is encoded with no data, then `fill`
            // writes the payload right behind it in the device's buffer,
            // and the size and count fields are set to match.
            let written = client.exchange(
                TAG,
                &mut |buffer| {
                    let header = Tmsg::Write {
                        fid: self.fid.id,
                        offset: at,
                        data: &[],
                    }
                    .encode(TAG, buffer)
                    .map_err(|_| Errno::EINVAL)?;
                    let end = header + count;
                    let room = buffer.get_mut(header..end).ok_or(Errno::EINVAL)?;
                    fill(room)?;
                    buffer[..4].copy_from_slice(&(end as u32).to_le_bytes());
                    buffer[header - 4..header].copy_from_slice(&(count as u32).to_le_bytes());
                    Ok(end)
                },
                |reply| match reply {
                    Rmsg::Write { count: n } if n as usize <= count => Ok(n as usize),
                    _ => Err(Errno::EIO),
                },
            );
            match written {
                Ok(n) => {
                    done += n;
                    // A short write: `fill` has moved past bytes the
                    // server did not take, so the call ends here.
                    if n < count {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self
            .node
            .client
            .stat_of(&self.node.client.getattr(&self.fid)?))
    }

    fn poll(&self, events: u16) -> u16 {
        events & (POLLIN | POLLOUT)
    }

    fn read_dir(&self, cursor: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), Errno> {
        let client = &self.node.client;
        let mut cursor = cursor;
        loop {
            let mut batch = Vec::new();
            client.rpc(
                &Tmsg::Readdir {
                    fid: self.fid.id,
                    offset: cursor,
                    count: client.io_max().min(READDIR_BYTES) as u32,
                },
                |reply| match reply {
                    Rmsg::Readdir { data } => {
                        for entry in DirEntries::new(data) {
                            let entry = entry.map_err(|_| Errno::EIO)?;
                            batch.push(DirEntry {
                                name: entry.name.to_vec(),
                                ino: entry.qid.path,
                                kind: entry.ty,
                                next: entry.offset,
                            });
                        }
                        Ok(())
                    }
                    _ => Err(Errno::EIO),
                },
            )?;
            if batch.is_empty() {
                return Ok(());
            }
            let before = cursor;
            for entry in batch {
                cursor = entry.next;
                if !sink(entry) {
                    return Ok(());
                }
            }
            // A server whose cursor does not move would list forever.
            if cursor == before {
                return Err(Errno::EIO);
            }
        }
    }

    fn node(&self) -> Option<NodeRef> {
        Some(Arc::clone(&self.node) as NodeRef)
    }

    fn sync(&self) -> Result<(), Errno> {
        self.node.client.rpc(
            &Tmsg::Fsync {
                fid: self.fid.id,
                datasync: 0,
            },
            |reply| match reply {
                Rmsg::Fsync => Ok(()),
                _ => Err(Errno::EIO),
            },
        )
    }
}
