//! The file descriptor table. For now the only open files are the three
//! standard streams, which travel over the console line.

use alloc::vec::Vec;
use lamina_abi::errno::Errno;

/// What a descriptor refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Stdin,
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub file: File,
    pub cloexec: bool,
    /// `O_*` status flags as `fcntl(F_GETFL)` reports them.
    pub status: u32,
}

/// Linux's default RLIMIT_NOFILE soft limit.
pub const MAX_FDS: usize = 1024;

#[derive(Debug)]
pub struct FdTable {
    slots: Vec<Option<Entry>>,
}

impl FdTable {
    pub fn standard() -> Self {
        use lamina_abi::flags::{O_RDONLY, O_WRONLY};
        let entry = |file, status| {
            Some(Entry {
                file,
                cloexec: false,
                status,
            })
        };
        Self {
            slots: alloc::vec![
                entry(File::Stdin, O_RDONLY),
                entry(File::Stdout, O_WRONLY),
                entry(File::Stderr, O_WRONLY),
            ],
        }
    }

    pub fn get(&self, fd: u64) -> Result<Entry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i).copied().flatten())
            .ok_or(Errno::EBADF)
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

    /// Installs `entry` at `fd`, replacing what was there (dup2).
    pub fn install_at(&mut self, fd: usize, entry: Entry) {
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(entry);
    }
}
