//! AF_UNIX names: file system paths and the abstract namespace.
//!
//! A path binds as a socket node (`S_IFSOCK`, which `stat` and `ls` show)
//! created in its directory, and the name table keys it by that node
//! (file system and inode), as Linux keys a path socket by its inode: an
//! `unlink` removes the path, a `rename` moves it, and a socket that
//! closes leaves the node behind, refusing connections, as on Linux. A
//! file system that cannot hold socket nodes (the 9P root: QEMU's server
//! would create a real socket file on the host) keeps the binding in the
//! guest's own table by its canonical path instead: the workload's own
//! processes connect to it and `unlink` removes it, but `stat` does not
//! see it and the host never does. Abstract names (a leading NUL) live in
//! the table only.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{S_IFMT, S_IFSOCK};
use lamina_abi::socket::UnixAddr;
use spin::Mutex;

use super::{Endpoint, Kind};
use crate::fs::vfs::{self, Last, ProcessView};

/// How a bound name is found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// An abstract name: one namespace per socket type (`SOCK_*`), as
    /// Linux hashes the type into the name.
    Abstract(u32, Vec<u8>),
    /// A socket node: its file system and inode.
    Node { fs: usize, ino: u64 },
    /// A path on a file system without socket nodes, canonical.
    GuestPath(Vec<u8>),
}

struct Entry {
    /// The lease holding the name (0: none, a guest-only path left behind).
    id: u64,
    /// The bound socket's kind (None: nobody's).
    kind: Option<Kind>,
    endpoint: Endpoint,
}

struct Names {
    entries: BTreeMap<Key, Entry>,
    next_id: u64,
    next_autobind: u32,
}

static NAMES: Mutex<Names> = Mutex::new(Names {
    entries: BTreeMap::new(),
    next_id: 1,
    next_autobind: 0,
});

/// Linux's autobind names: five hex digits in the abstract namespace.
const AUTOBIND_NAMES: u32 = 1 << 20;

/// A socket's hold on its name; dropping it frees the name (a path's node
/// stays, as on Linux).
pub struct Lease {
    key: Key,
    id: u64,
}

impl Lease {
    pub fn set_endpoint(&self, endpoint: Endpoint) {
        if let Some(entry) = NAMES.lock().entries.get_mut(&self.key) {
            if entry.id == self.id {
                entry.endpoint = endpoint;
            }
        }
    }
}

impl Drop for Lease {
    /// The name is free again; a guest-only path stays taken, refusing
    /// connections, until it is unlinked (as a socket node does).
    fn drop(&mut self) {
        let mut names = NAMES.lock();
        let Some(entry) = names.entries.get_mut(&self.key) else {
            return;
        };
        if entry.id != self.id {
            return;
        }
        if matches!(self.key, Key::GuestPath(_)) {
            entry.id = 0;
            entry.kind = None;
            entry.endpoint = Endpoint::None;
        } else {
            names.entries.remove(&self.key);
        }
    }
}

fn abstract_key(kind: Kind, name: &[u8]) -> Key {
    Key::Abstract(kind.sock_type(), name.to_vec())
}

fn insert(key: Key, kind: Kind) -> Result<Lease, Errno> {
    let mut names = NAMES.lock();
    if names.entries.contains_key(&key) {
        return Err(Errno::EADDRINUSE);
    }
    let id = names.next_id;
    names.next_id += 1;
    names.entries.insert(
        key.clone(),
        Entry {
            id,
            kind: Some(kind),
            endpoint: Endpoint::None,
        },
    );
    Ok(Lease { key, id })
}

/// The caller's cwd and umask (a kernel-made walk has neither).
fn cwd_and_umask(cx: &dyn ProcessView) -> (Vec<u8>, u32) {
    cx.caller()
        .map_or((b"/".to_vec(), 0o022), |c| (c.fs.cwd.clone(), c.fs.umask))
}

/// Binds `addr`: returns the lease and the name the socket then has (an
/// autobind's chosen name).
pub fn bind(addr: &UnixAddr, kind: Kind, cx: &dyn ProcessView) -> Result<(Lease, UnixAddr), Errno> {
    match addr {
        UnixAddr::Unnamed => autobind(kind),
        UnixAddr::Abstract(name) => {
            insert(abstract_key(kind, name), kind).map(|lease| (lease, addr.clone()))
        }
        UnixAddr::Path(path) => {
            let (cwd, umask) = cwd_and_umask(cx);
            let parent = vfs::resolve_parent(&cwd, path, cx)?;
            if parent.is_dot() || path.ends_with(b"/") {
                return Err(Errno::EADDRINUSE);
            }
            let mode = S_IFSOCK | (0o777 & !umask);
            let key = match parent.dir.node.mknod(&parent.name, mode) {
                Ok(node) => Key::Node {
                    fs: node.fs_id(),
                    ino: node.stat()?.st_ino,
                },
                Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
                Err(Errno::EOPNOTSUPP) => {
                    if parent.dir.node.lookup(&parent.name, cx).is_ok() {
                        return Err(Errno::EADDRINUSE);
                    }
                    Key::GuestPath(parent.child_path())
                }
                Err(e) => return Err(e),
            };
            insert(key, kind).map(|lease| (lease, addr.clone()))
        }
    }
}

/// `bind` with the family alone: a fresh abstract name of five hex digits.
fn autobind(kind: Kind) -> Result<(Lease, UnixAddr), Errno> {
    for _ in 0..AUTOBIND_NAMES {
        let n = {
            let mut names = NAMES.lock();
            let n = names.next_autobind;
            names.next_autobind = (n + 1) % AUTOBIND_NAMES;
            n
        };
        let name = alloc::format!("{n:05x}").into_bytes();
        if let Ok(lease) = insert(abstract_key(kind, &name), kind) {
            return Ok((lease, UnixAddr::Abstract(name)));
        }
    }
    Err(Errno::ENOSPC)
}

/// What `addr` names, for a socket of `kind` connecting or sending to it:
/// ENOENT for a path that does not exist, ECONNREFUSED for one that is not
/// a bound socket (or for an abstract name nobody holds), EPROTOTYPE for a
/// socket of the other kind.
pub fn find(addr: &UnixAddr, kind: Kind, cx: &dyn ProcessView) -> Result<Endpoint, Errno> {
    let key = match addr {
        UnixAddr::Unnamed => return Err(Errno::EINVAL),
        UnixAddr::Abstract(name) => abstract_key(kind, name),
        UnixAddr::Path(path) => {
            let (cwd, _) = cwd_and_umask(cx);
            match vfs::resolve(&cwd, path, Last::Follow, cx) {
                Ok(found) => {
                    let stat = found.node.stat()?;
                    if stat.st_mode & S_IFMT != S_IFSOCK {
                        return Err(Errno::ECONNREFUSED);
                    }
                    Key::Node {
                        fs: found.node.fs_id(),
                        ino: stat.st_ino,
                    }
                }
                Err(Errno::ENOENT) => {
                    let parent = vfs::resolve_parent(&cwd, path, cx)?;
                    Key::GuestPath(parent.child_path())
                }
                Err(e) => return Err(e),
            }
        }
    };
    let names = NAMES.lock();
    match names.entries.get(&key) {
        Some(entry) if entry.kind.is_some_and(|k| k != kind) => Err(Errno::EPROTOTYPE),
        Some(entry) => Ok(entry.endpoint.clone()),
        None if matches!(key, Key::GuestPath(_)) => Err(Errno::ENOENT),
        None => Err(Errno::ECONNREFUSED),
    }
}

/// `unlink` of `path` (canonical) where the file system has no such file:
/// a guest-only binding there goes (its socket, if still open, keeps
/// working but can no longer be found). Returns whether there was one.
pub fn unlink_guest_path(path: &[u8]) -> bool {
    NAMES
        .lock()
        .entries
        .remove(&Key::GuestPath(path.to_vec()))
        .is_some()
}
