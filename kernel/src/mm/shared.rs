//! Shared file mappings (`MAP_SHARED`): what the workload writes into them
//! goes back to the file on `msync`, on `munmap` and when it exits.
//!
//! The pages are the address space's own frames, filled from the file at
//! `mmap` time; the file learns of changes only at those three points (one
//! process, so no other mapping of the file can observe the difference).
//! Only the pages the workload wrote (their dirty bit) are written back, so
//! a mapping never overwrites what `write` put in the file meanwhile with
//! its older copy.

use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;

use super::vm::AddressSpace;
use crate::arch::phys::{self, PAGE_SIZE};
use crate::fs::file::OpenFile;

/// One `MAP_SHARED` mapping of a file opened for writing.
#[derive(Clone)]
struct SharedMapping {
    start: u64,
    end: u64,
    file: Arc<OpenFile>,
    /// The file offset of `start`.
    offset: u64,
}

#[derive(Default, Clone)]
pub struct SharedMappings {
    mappings: Vec<SharedMapping>,
    /// SysV shared memory segments attached here (`shmat`); they go with
    /// the address space (exec, exit), and a fork's copy attaches again.
    segments: Vec<crate::syscall::ipc::Attachment>,
    /// Shared mappings that may never be written: a tmpfs file opened
    /// read-only, a SysV segment attached `SHM_RDONLY` (their pages are
    /// the object's own, so `mprotect` may not add PROT_WRITE: EACCES).
    read_only: Vec<(u64, u64)>,
    /// Shared mappings of tmpfs files from a descriptor open for writing
    /// (their pages are the file's own): while one exists, `F_ADD_SEALS`
    /// of `F_SEAL_WRITE` answers EBUSY, as Linux.
    writable_files: Vec<(u64, u64, crate::fs::vfs::NodeRef)>,
}

impl core::fmt::Debug for SharedMappings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMappings")
            .field("count", &self.mappings.len())
            .finish()
    }
}

impl SharedMappings {
    pub fn add(&mut self, start: u64, end: u64, file: Arc<OpenFile>, offset: u64) {
        self.mappings.push(SharedMapping {
            start,
            end,
            file,
            offset,
        });
    }

    /// Writes the pages of `[start, end)` the workload wrote back to their
    /// files.
    /// Returns the first error, after trying every page.
    pub fn write_back(&self, mm: &mut AddressSpace, start: u64, end: u64) -> Result<(), Errno> {
        let mut result = Ok(());
        for m in self
            .mappings
            .iter()
            .filter(|m| m.start < end && start < m.end)
        {
            let size = match m.file.object.size() {
                Ok(size) => size,
                Err(e) => {
                    result = result.and(Err(e));
                    continue;
                }
            };
            let mut page = m.start.max(start);
            let mut buf = [0u8; PAGE_SIZE as usize];
            while page < m.end.min(end) {
                let file_at = m.offset + (page - m.start);
                // Bytes past the end of the file are not the file's: a
                // mapping never grows it.
                let len = size.saturating_sub(file_at).min(PAGE_SIZE) as usize;
                if len > 0 && mm.take_dirty(page) {
                    if let Some(frame) = mm.mapped_frame(page) {
                        phys::read(frame, &mut buf[..len]);
                        if let Err(e) = m.file.write_at(file_at, &buf[..len]) {
                            result = result.and(Err(e));
                        }
                    }
                }
                page += PAGE_SIZE;
            }
        }
        result
    }

    /// Records `[start, end)` as a shared mapping that may never be
    /// written.
    pub fn add_read_only(&mut self, start: u64, end: u64) {
        self.read_only.push((start, end));
    }

    /// Whether some page of `[start, end)` may never be written.
    pub fn forbids_write(&self, start: u64, end: u64) -> bool {
        self.read_only.iter().any(|&(s, e)| s < end && start < e)
    }

    /// Records a SysV segment attached at `attachment.start`.
    pub fn attach(&mut self, attachment: crate::syscall::ipc::Attachment) {
        self.segments.push(attachment);
    }

    /// Takes out the SysV segment attached at `start` (`shmdt`).
    pub fn detach(&mut self, start: u64) -> Option<crate::syscall::ipc::Attachment> {
        let index = self.segments.iter().position(|a| a.start == start)?;
        Some(self.segments.swap_remove(index))
    }

    /// Forgets `[start, end)` (after it was written back and unmapped):
    /// mappings that straddle it keep their other parts. A SysV segment
    /// any of whose pages go is detached (Linux keeps it attached until
    /// its last page goes: a partial munmap of a segment is rare).
    pub fn remove(&mut self, start: u64, end: u64) {
        self.segments.retain(|a| a.end <= start || end <= a.start);
        let mut read_only = Vec::new();
        for (s, e) in self.read_only.drain(..) {
            if s < start {
                read_only.push((s, e.min(start)));
            }
            if end < e {
                read_only.push((s.max(end), e));
            }
        }
        self.read_only = read_only;
        let mut writable_files = Vec::new();
        for (s, e, node) in self.writable_files.drain(..) {
            if s < start {
                writable_files.push((s, e.min(start), Arc::clone(&node)));
            }
            if end < e {
                writable_files.push((s.max(end), e, node));
            }
        }
        self.writable_files = writable_files;
        let mut kept = Vec::new();
        for m in self.mappings.drain(..) {
            if m.end <= start || end <= m.start {
                kept.push(m);
                continue;
            }
            if m.start < start {
                kept.push(SharedMapping {
                    start: m.start,
                    end: start,
                    file: Arc::clone(&m.file),
                    offset: m.offset,
                });
            }
            if end < m.end {
                kept.push(SharedMapping {
                    start: end,
                    end: m.end,
                    offset: m.offset + (end - m.start),
                    file: m.file,
                });
            }
        }
        self.mappings = kept;
    }

    /// Everything, at exit.
    pub fn write_back_all(&self, mm: &mut AddressSpace) -> Result<(), Errno> {
        self.write_back(mm, 0, u64::MAX)
    }
}

impl SharedMappings {
    /// Whether a mapping here writes back to `node` (`F_ADD_SEALS` of
    /// `F_SEAL_WRITE` answers EBUSY then, as Linux does while a shared
    /// writable mapping exists).
    pub fn maps_node(&self, node: &crate::fs::vfs::NodeRef) -> bool {
        let same = |mapped: &crate::fs::vfs::NodeRef| {
            core::ptr::addr_eq(Arc::as_ptr(mapped), Arc::as_ptr(node))
        };
        self.writable_files
            .iter()
            .any(|(_, _, mapped)| same(mapped))
            || self
                .mappings
                .iter()
                .any(|m| m.file.object.node().is_some_and(|mapped| same(&mapped)))
    }

    /// Records `[start, end)` as a shared mapping of tmpfs file `node`
    /// from a descriptor open for writing (see `writable_files`).
    pub fn add_writable_file(&mut self, start: u64, end: u64, node: crate::fs::vfs::NodeRef) {
        self.writable_files.push((start, end, node));
    }
}
