//! inotify: watches on paths and the events of changes made inside the
//! guest (`inotify(7)`).
//!
//! The VFS operations report what they did here, in one set of calls
//! ([`created`], [`removed`], [`moved`], [`modified`], [`attrib`],
//! [`opened`], [`closed`]) made by the system call layer after each
//! operation succeeds, whatever file system the path is on; with no watch
//! anywhere each is one atomic load. A watch names the canonical path of
//! what it watches (paths are what the VFS walks; 9P nodes have no
//! identity that is cheap to compare): an event on a path reaches the
//! watches of that path and, with the last component as its name, of its
//! parent directory, as Linux reports a directory's children. A rename
//! moves the watches below the old path to the new one. Changes made on
//! the host, below a 9P root, are not seen; a hard link is watched by the
//! path it was watched by.
//!
//! An instance is an open file: its events queue up (an event equal to
//! the last unread one merges with it, as on Linux; past
//! [`MAX_QUEUED_BYTES`] one `IN_Q_OVERFLOW` stands for the rest), a read
//! takes whole `struct inotify_event` records, EAGAIN while there are
//! none (the system call layer waits on the instance's queue), and
//! `POLLIN` while there are some.

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use lamina_abi::errno::Errno;
use lamina_abi::fdkinds::*;
use lamina_abi::flags::{FIONREAD, POLLIN};
use lamina_abi::types::Stat;
use spin::Mutex;

use super::file::FileObject;
use crate::task::wait::WaitQueue;

pub const LINK: &[u8] = b"anon_inode:inotify";
/// Events one instance holds before reporting an overflow: a bound in
/// bytes, the kernel heap being small (Linux counts 16,384 events).
pub const MAX_QUEUED_BYTES: usize = 64 << 10;
/// Linux's default `max_user_instances`.
pub const MAX_INSTANCES: usize = 128;
/// Watches of all instances together (each holds a path in the heap).
pub const MAX_WATCHES: usize = 8192;

/// One watch: `wd` of an instance, on `path`.
struct Watch {
    instance: Weak<Inotify>,
    wd: i32,
    path: Vec<u8>,
    mask: u32,
}

/// Every watch of every instance.
static WATCHES: Mutex<Vec<Watch>> = Mutex::new(Vec::new());
/// How many watches exist: zero makes every report free.
static WATCH_COUNT: AtomicUsize = AtomicUsize::new(0);
static INSTANCES: AtomicUsize = AtomicUsize::new(0);
/// Cookies pairing `IN_MOVED_FROM` with `IN_MOVED_TO`.
static NEXT_COOKIE: AtomicU32 = AtomicU32::new(1);

#[derive(Clone, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    fn encoded_len(&self) -> usize {
        inotify_event(self.wd, self.mask, self.cookie, &self.name).len()
    }
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    bytes: usize,
    next_wd: i32,
}

/// An inotify instance (`inotify_init1`).
pub struct Inotify {
    this: Weak<Inotify>,
    queue_state: Mutex<Queue>,
    queue: WaitQueue,
    ino: u64,
}

impl Inotify {
    /// A new instance; EMFILE past [`MAX_INSTANCES`].
    pub fn new() -> Result<Arc<Self>, Errno> {
        if INSTANCES.fetch_add(1, Ordering::Relaxed) >= MAX_INSTANCES {
            INSTANCES.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::EMFILE);
        }
        Ok(Arc::new_cyclic(|this| Self {
            this: this.clone(),
            queue_state: Mutex::new(Queue {
                next_wd: 1,
                ..Queue::default()
            }),
            queue: WaitQueue::new(),
            ino: super::vfs::next_ino(),
        }))
    }

    fn push(&self, event: Event) {
        {
            let mut q = self.queue_state.lock();
            if q.events.back() == Some(&event) {
                return;
            }
            let len = event.encoded_len();
            if q.bytes + len > MAX_QUEUED_BYTES {
                let overflow = Event {
                    wd: -1,
                    mask: IN_Q_OVERFLOW,
                    cookie: 0,
                    name: Vec::new(),
                };
                if q.events.back() != Some(&overflow) {
                    q.bytes += overflow.encoded_len();
                    q.events.push_back(overflow);
                }
            } else {
                q.bytes += len;
                q.events.push_back(event);
            }
        }
        self.queue.wake_all();
    }

    /// `inotify_add_watch` on the canonical `path`: a new watch, or the
    /// instance's watch of that path changed (`IN_MASK_ADD` adds,
    /// `IN_MASK_CREATE` refuses with EEXIST). Returns its descriptor.
    pub fn add_watch(&self, path: &[u8], mask: u32) -> Result<i32, Errno> {
        let events = mask & IN_ALL_EVENTS;
        let flags = mask & (IN_ONESHOT | IN_EXCL_UNLINK);
        let mut watches = WATCHES.lock();
        watches.retain(|w| w.instance.strong_count() > 0);
        if let Some(watch) = watches
            .iter_mut()
            .find(|w| w.path == path && w.instance.ptr_eq(&self.this))
        {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            watch.mask = if mask & IN_MASK_ADD != 0 {
                watch.mask | events | flags
            } else {
                events | flags
            };
            return Ok(watch.wd);
        }
        if watches.len() >= MAX_WATCHES {
            return Err(Errno::ENOSPC);
        }
        let wd = {
            let mut q = self.queue_state.lock();
            let wd = q.next_wd;
            q.next_wd = q.next_wd.checked_add(1).ok_or(Errno::ENOSPC)?;
            wd
        };
        watches.push(Watch {
            instance: self.this.clone(),
            wd,
            path: path.to_vec(),
            mask: events | flags,
        });
        WATCH_COUNT.store(watches.len(), Ordering::Relaxed);
        Ok(wd)
    }

    /// `inotify_rm_watch`: EINVAL for a descriptor it does not have; the
    /// watch's end is reported as `IN_IGNORED`.
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        {
            let mut watches = WATCHES.lock();
            let before = watches.len();
            watches.retain(|w| !(w.wd == wd && w.instance.ptr_eq(&self.this)));
            if watches.len() == before {
                return Err(Errno::EINVAL);
            }
            WATCH_COUNT.store(watches.len(), Ordering::Relaxed);
        }
        self.push(Event {
            wd,
            mask: IN_IGNORED,
            cookie: 0,
            name: Vec::new(),
        });
        Ok(())
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        INSTANCES.fetch_sub(1, Ordering::Relaxed);
        let mut watches = WATCHES.lock();
        watches.retain(|w| w.instance.strong_count() > 0);
        WATCH_COUNT.store(watches.len(), Ordering::Relaxed);
    }
}

impl FileObject for Inotify {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let taken = {
            let mut q = self.queue_state.lock();
            let Some(first) = q.events.front() else {
                return Err(Errno::EAGAIN);
            };
            if first.encoded_len() > buf.len() {
                return Err(Errno::EINVAL);
            }
            let mut done = 0;
            while let Some(event) = q.events.front() {
                let bytes = inotify_event(event.wd, event.mask, event.cookie, &event.name);
                if done + bytes.len() > buf.len() {
                    break;
                }
                buf[done..done + bytes.len()].copy_from_slice(&bytes);
                done += bytes.len();
                q.bytes -= bytes.len();
                q.events.pop_front();
            }
            done
        };
        Ok(taken)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::eventfd::anon_stat(self.ino))
    }

    fn ioctl(
        &self,
        request: u64,
        arg: u64,
        mm: &mut crate::mm::vm::AddressSpace,
    ) -> Result<u64, Errno> {
        match request {
            FIONREAD => {
                let bytes = self.queue_state.lock().bytes as u32;
                mm.copy_out(arg, &bytes.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, events: u16) -> u16 {
        if self.queue_state.lock().events.is_empty() {
            0
        } else {
            events & POLLIN
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

// ---------------------------------------------------------------------------
// What the VFS operations report.

/// Whether any watch exists (else every report returns at once): callers
/// skip work that only a report needs (a lookup to learn a node's kind).
pub fn watching() -> bool {
    WATCH_COUNT.load(Ordering::Relaxed) != 0
}

/// `path`'s parent directory and last component (None for `/` and for
/// what is not an absolute path: pipes, sockets, anonymous files).
fn split(path: &[u8]) -> Option<(&[u8], &[u8])> {
    if path.first() != Some(&b'/') || path.len() < 2 {
        return None;
    }
    let slash = path.iter().rposition(|&b| b == b'/')?;
    Some((
        if slash == 0 {
            &path[..1]
        } else {
            &path[..slash]
        },
        &path[slash + 1..],
    ))
}

/// Which watches an event reaches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The path's own watches and its parent's (with the name).
    SelfAndParent,
    /// The path's own watches only (`IN_DELETE_SELF`, `IN_MOVE_SELF`).
    SelfOnly,
    /// The parent's only (`IN_CREATE`, `IN_DELETE`, `IN_MOVED_*`).
    ParentOnly,
}

/// Queues `mask` (plus `IN_ISDIR` for a directory) for the watches
/// `reach` names that asked for it; one-shot watches end after it.
fn event(path: &[u8], mask: u32, is_dir: bool, cookie: u32, reach: Reach) {
    let parent = split(path);
    let dir_bit = if is_dir { IN_ISDIR } else { 0 };
    // (to the parent, instance, event): a parent's report comes first,
    // as Linux reports an event to the directory before the file.
    let mut due: Vec<(bool, Arc<Inotify>, Event)> = Vec::new();
    let mut ended: Vec<(Arc<Inotify>, i32)> = Vec::new();
    {
        let mut watches = WATCHES.lock();
        watches.retain_mut(|w| {
            let (to_parent, name) = if reach != Reach::ParentOnly && w.path == path {
                (false, &b""[..])
            } else if reach != Reach::SelfOnly && parent.is_some_and(|(dir, _)| w.path == dir) {
                (true, parent.map_or(&b""[..], |(_, name)| name))
            } else {
                return true;
            };
            if w.mask & mask == 0 {
                return true;
            }
            let Some(instance) = w.instance.upgrade() else {
                return false;
            };
            due.push((
                to_parent,
                Arc::clone(&instance),
                Event {
                    wd: w.wd,
                    mask: mask | dir_bit,
                    cookie,
                    name: name.to_vec(),
                },
            ));
            if w.mask & IN_ONESHOT != 0 {
                ended.push((instance, w.wd));
                return false;
            }
            true
        });
        WATCH_COUNT.store(watches.len(), Ordering::Relaxed);
    }
    due.sort_by_key(|(to_parent, _, _)| !to_parent);
    for (_, instance, event) in due {
        instance.push(event);
    }
    for (instance, wd) in ended {
        instance.push(Event {
            wd,
            mask: IN_IGNORED,
            cookie: 0,
            name: Vec::new(),
        });
    }
}

/// The watches of `path` itself end (it is gone): `IN_IGNORED` for each.
fn end_watches(path: &[u8]) {
    let mut ended = Vec::new();
    {
        let mut watches = WATCHES.lock();
        watches.retain(|w| {
            if w.path != path {
                return true;
            }
            if let Some(instance) = w.instance.upgrade() {
                ended.push((instance, w.wd));
            }
            false
        });
        WATCH_COUNT.store(watches.len(), Ordering::Relaxed);
    }
    for (instance, wd) in ended {
        instance.push(Event {
            wd,
            mask: IN_IGNORED,
            cookie: 0,
            name: Vec::new(),
        });
    }
}

/// A file, directory, symlink or link was made at `path`.
pub fn created(path: &[u8], is_dir: bool) {
    if watching() {
        event(path, IN_CREATE, is_dir, 0, Reach::ParentOnly);
    }
}

/// `path` was unlinked (or, a directory, removed); `last_link`: the file
/// is gone with it. In Linux's order: the file's link count changed
/// (`IN_ATTRIB`, not for a directory), it is gone (`IN_DELETE_SELF`, then
/// its watches end), its directory lost it (`IN_DELETE`).
pub fn removed(path: &[u8], is_dir: bool, last_link: bool) {
    if !watching() {
        return;
    }
    if !is_dir {
        event(path, IN_ATTRIB, false, 0, Reach::SelfOnly);
    }
    if last_link {
        event(path, IN_DELETE_SELF, false, 0, Reach::SelfOnly);
        end_watches(path);
    }
    event(path, IN_DELETE, is_dir, 0, Reach::ParentOnly);
}

/// `from` was renamed to `to`: `IN_MOVED_FROM` and `IN_MOVED_TO` with
/// one cookie, `IN_MOVE_SELF` for the moved one's own watches, which
/// (and those below a moved directory) follow it to its new path.
/// `replaced`: `to` named a file before, which is now gone (its link
/// count changed, then `IN_DELETE_SELF` and its watches end), in Linux's
/// order.
pub fn moved(from: &[u8], to: &[u8], is_dir: bool, replaced: bool) {
    if !watching() {
        return;
    }
    let cookie = NEXT_COOKIE.fetch_add(1, Ordering::Relaxed);
    event(from, IN_MOVED_FROM, is_dir, cookie, Reach::ParentOnly);
    event(to, IN_MOVED_TO, is_dir, cookie, Reach::ParentOnly);
    if replaced {
        event(to, IN_ATTRIB, false, 0, Reach::SelfOnly);
    }
    event(from, IN_MOVE_SELF, false, 0, Reach::SelfOnly);
    if replaced {
        event(to, IN_DELETE_SELF, false, 0, Reach::SelfOnly);
        end_watches(to);
    }
    let mut watches = WATCHES.lock();
    for w in watches.iter_mut() {
        let below =
            w.path.len() > from.len() && w.path.starts_with(from) && w.path[from.len()] == b'/';
        if w.path == from || below {
            let mut path = to.to_vec();
            path.extend_from_slice(&w.path[from.len()..]);
            w.path = path;
        }
    }
}

/// The contents at `path` changed (a write, a truncation).
pub fn modified(path: &[u8]) {
    if watching() {
        event(path, IN_MODIFY, false, 0, Reach::SelfAndParent);
    }
}

/// In [`attrib`]'s mask: a change of the file itself (its link count),
/// which its directory does not hear of.
pub const SELF_ONLY: u32 = 1 << 31;

/// Metadata at `path` changed (`mask`: `IN_ATTRIB`, or `IN_MODIFY` /
/// `IN_ACCESS` for a change of one timestamp only, as Linux reports it;
/// with [`SELF_ONLY`], to the path's own watches only).
pub fn attrib(path: &[u8], mask: u32, is_dir: bool) {
    if watching() {
        let reach = if mask & SELF_ONLY != 0 {
            Reach::SelfOnly
        } else {
            Reach::SelfAndParent
        };
        event(path, mask & !SELF_ONLY, is_dir, 0, reach);
    }
}

/// `path` was read (a directory: listed).
pub fn accessed(path: &[u8], is_dir: bool) {
    if watching() {
        event(path, IN_ACCESS, is_dir, 0, Reach::SelfAndParent);
    }
}

/// `path` was opened.
pub fn opened(path: &[u8], is_dir: bool) {
    if watching() {
        event(path, IN_OPEN, is_dir, 0, Reach::SelfAndParent);
    }
}

/// The last descriptor of a file opened at `path` was closed.
pub fn closed(path: &[u8], wrote: bool, is_dir: bool) {
    if watching() {
        let mask = if wrote {
            IN_CLOSE_WRITE
        } else {
            IN_CLOSE_NOWRITE
        };
        event(path, mask, is_dir, 0, Reach::SelfAndParent);
    }
}
