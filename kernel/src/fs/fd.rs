//! The file descriptor table: descriptors refer to shared open files.

use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_RDONLY, O_WRONLY};

use super::console::{ConsoleStream, Stream};
use super::file::OpenFile;

/// One descriptor: the open file and the descriptor's own flag.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: Arc<OpenFile>,
    pub cloexec: bool,
}

/// Linux's default RLIMIT_NOFILE soft limit.
pub const MAX_FDS: usize = 1024;

#[derive(Debug, Clone)]
pub struct FdTable {
    slots: Vec<Option<Entry>>,
}

/// Which of the standard streams the host has as terminals.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ttys {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl FdTable {
    /// Descriptors 0, 1 and 2 on the console's streams.
    pub fn standard(ttys: Ttys) -> Self {
        let entry = |stream, tty, status| {
            Some(Entry {
                file: OpenFile::new(Arc::new(ConsoleStream::new(stream, tty)), status),
                cloexec: false,
            })
        };
        Self {
            slots: alloc::vec![
                entry(Stream::Stdin, ttys.stdin, O_RDONLY),
                entry(Stream::Stdout, ttys.stdout, O_WRONLY),
                entry(Stream::Stderr, ttys.stderr, O_WRONLY),
            ],
        }
    }

    /// Every open descriptor, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Entry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(fd, slot)| slot.as_ref().map(|entry| (fd as u64, entry)))
    }

    pub fn get(&self, fd: u64) -> Result<&Entry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    /// The open file behind `fd`.
    pub fn file(&self, fd: u64) -> Result<Arc<OpenFile>, Errno> {
        self.get(fd).map(|entry| Arc::clone(&entry.file))
    }

    pub fn get_mut(&mut self, fd: u64) -> Result<&mut Entry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        self.get(fd)?;
        self.slots[fd as usize] = None;
        Ok(())
    }

    /// Installs `entry` at the lowest free descriptor >= `min`.
    pub fn install_from(&mut self, min: usize, entry: Entry) -> Result<u64, Errno> {
        if min >= MAX_FDS {
            return Err(Errno::EINVAL);
        }
        let free = (min..MAX_FDS)
            .find(|&i| self.slots.get(i).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)?;
        self.install_at(free, entry);
        Ok(free as u64)
    }

    /// Closes every descriptor marked close-on-exec (`execve`).
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|entry| entry.cloexec) {
                *slot = None;
            }
        }
    }

    /// Installs `entry` at `fd`, replacing what was there (dup2).
    pub fn install_at(&mut self, fd: usize, entry: Entry) {
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(entry);
    }
}
