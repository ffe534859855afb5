//! epoll instances: an interest list over open files, checked through the
//! same readiness as poll (`FileObject::poll`) and waited on through the
//! files' own queues (see `crate::syscall::poll`).
//!
//! Simplified: edge-triggered interest (EPOLLET) is reported as
//! level-triggered (a program that reads until EAGAIN, as edge-triggered
//! code must, sees the same events); an epoll instance inside poll or
//! another epoll reports its readiness when checked, with no queue of its
//! own to wake its waiter.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::types::Stat;
use spin::Mutex;

use super::file::{FileObject, OpenFile};

pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLONESHOT: u32 = 1 << 30;
/// Reported whether asked or not.
const ALWAYS: u32 = EPOLLERR | EPOLLHUP;

/// One watched descriptor.
struct Interest {
    fd: u64,
    file: Weak<OpenFile>,
    events: u32,
    data: u64,
    /// EPOLLONESHOT fired: silent until EPOLL_CTL_MOD.
    disarmed: bool,
}

/// An epoll instance (`epoll_create1`).
#[derive(Default)]
pub struct Epoll {
    interests: Mutex<Vec<Interest>>,
}

/// A ready descriptor: (events, user data).
pub type Ready = (u32, u64);

impl Epoll {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// EPOLL_CTL_ADD: EEXIST when (fd, file) is already watched.
    pub fn add(&self, fd: u64, file: &Arc<OpenFile>, events: u32, data: u64) -> Result<(), Errno> {
        let mut list = self.interests.lock();
        list.retain(|i| i.file.strong_count() > 0);
        if list.iter().any(|i| i.fd == fd && same(&i.file, file)) {
            return Err(Errno::EEXIST);
        }
        list.push(Interest {
            fd,
            file: Arc::downgrade(file),
            events,
            data,
            disarmed: false,
        });
        Ok(())
    }

    /// EPOLL_CTL_MOD: ENOENT when not watched.
    pub fn modify(
        &self,
        fd: u64,
        file: &Arc<OpenFile>,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        let mut list = self.interests.lock();
        let interest = list
            .iter_mut()
            .find(|i| i.fd == fd && same(&i.file, file))
            .ok_or(Errno::ENOENT)?;
        interest.events = events;
        interest.data = data;
        interest.disarmed = false;
        Ok(())
    }

    /// EPOLL_CTL_DEL: ENOENT when not watched.
    pub fn delete(&self, fd: u64, file: &Arc<OpenFile>) -> Result<(), Errno> {
        let mut list = self.interests.lock();
        let before = list.len();
        list.retain(|i| !(i.fd == fd && same(&i.file, file)));
        if list.len() == before {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    /// Up to `max` ready descriptors now (a one-shot interest that fires
    /// is disarmed), and the files to wait on when none is.
    pub fn collect(&self, max: usize) -> (Vec<Ready>, Vec<Arc<OpenFile>>) {
        let mut list = self.interests.lock();
        list.retain(|i| i.file.strong_count() > 0);
        let mut ready = Vec::new();
        let mut files = Vec::new();
        for interest in list.iter_mut().filter(|i| !i.disarmed) {
            let Some(file) = interest.file.upgrade() else {
                continue;
            };
            let asked = interest.events | ALWAYS;
            let revents = u32::from(file.object.poll(poll_bits(asked))) & asked;
            if revents != 0 && ready.len() < max {
                ready.push((revents, interest.data));
                if interest.events & EPOLLONESHOT != 0 {
                    interest.disarmed = true;
                }
            }
            files.push(file);
        }
        (ready, files)
    }
}

/// The poll(2) bits for epoll's (the low 16 bits are the same values).
fn poll_bits(events: u32) -> u16 {
    (events & 0xffff) as u16
}

fn same(weak: &Weak<OpenFile>, file: &Arc<OpenFile>) -> bool {
    core::ptr::eq(weak.as_ptr(), Arc::as_ptr(file))
}

impl FileObject for Epoll {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            st_nlink: 1,
            st_mode: 0o600,
            ..Stat::default()
        })
    }

    fn poll(&self, events: u16) -> u16 {
        if self.any_ready() {
            events & lamina_abi::flags::POLLIN
        } else {
            0
        }
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

impl Epoll {
    /// Whether any interest is ready, without disarming one-shots.
    fn any_ready(&self) -> bool {
        let list = self.interests.lock();
        list.iter().filter(|i| !i.disarmed).any(|i| {
            i.file.upgrade().is_some_and(|file| {
                let asked = i.events | ALWAYS;
                u32::from(file.object.poll(poll_bits(asked))) & asked != 0
            })
        })
    }
}
