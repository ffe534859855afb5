//! User address spaces: regions (VMAs), demand paging, and the checked
//! copies between user memory and the kernel.
//!
//! A region's pages are filled on first touch: with zeros, or, for the
//! program's segments, from the image bytes (a private file mapping, as
//! Linux's ELF loader makes).
//!
//! After `fork` parent and child map the same frames: the pages of
//! private regions read-only in both (copy-on-write: the first write to
//! one copies it, unless no one else holds the frame any more), the pages
//! of `MAP_SHARED` regions writable in both. The frame allocator counts
//! the users of each frame, so an address space releases its frames (and
//! page tables) when it is dropped, and the last user frees them.
//!
//! User memory is never dereferenced by the kernel: every copy translates
//! the user address page by page (populating demand-zero pages on the way)
//! and moves bytes through the direct map. A bad pointer is an `EFAULT`,
//! never a kernel fault, and SMAP can stay on without `stac`/`clac`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::convert::Infallible;
use lamina_abi::errno::Errno;

use super::frame::{self, Global};
use crate::arch::paging::{Access, PageTableRoot};
use crate::arch::phys::{self, PAGE_SIZE};
use lamina_abi::args::{page_round_down, page_round_up};

/// One past the highest user address (the canonical lower half, minus a guard page).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
pub const STACK_TOP: u64 = USER_END;
/// The stack region (RLIMIT_STACK's usual 8 MiB), populated on demand.
pub const STACK_SIZE: u64 = 8 << 20;
/// Anonymous mappings are placed top-down below this.
const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (1 << 30);
/// Linux's default `vm.max_map_count`.
pub const MAX_MAP_COUNT: usize = 65_530;
/// Nothing is mapped below this (null-pointer guard).
pub const MMAP_MIN: u64 = 0x10000;

/// Region access, as `PROT_*` says it.
pub type Prot = Access;

/// Where a region's initial contents come from besides zeros: the program
/// image, which lives in the boot bundle and is never written.
///
/// Stated in absolute user addresses, not relative to the region, so the
/// pieces of a split region (munmap, mprotect) keep their backing unchanged.
#[derive(Debug, Clone, Copy)]
pub struct ImageBacking {
    /// The user address of `data[0]`.
    pub vaddr: u64,
    /// The bytes at `[vaddr, vaddr + data.len())` (a segment's `p_filesz`
    /// bytes); every other address of the region reads zero at first.
    pub data: &'static [u8],
}

impl ImageBacking {
    /// The image bytes that belong in `[start, end)`, with the user address
    /// of the first; None if none do.
    pub fn bytes_in(&self, start: u64, end: u64) -> Option<(u64, &'static [u8])> {
        let data_end = self.vaddr.saturating_add(self.data.len() as u64);
        let (lo, hi) = (start.max(self.vaddr), end.min(data_end));
        if lo >= hi {
            return None;
        }
        let range = (lo - self.vaddr) as usize..(hi - self.vaddr) as usize;
        Some((lo, &self.data[range]))
    }
}

/// A region's backing: an index into [`AddressSpace::images`]. Regions
/// name their backing by index to stay small: the region tree must hold
/// `vm.max_map_count` of them within the kernel heap.
type ImageId = u16;

#[derive(Debug, Clone, Copy)]
struct Vma {
    end: u64,
    prot: Prot,
    /// None: anonymous, demand-zero.
    image: Option<ImageId>,
    /// `MAP_SHARED`: after fork, parent and child write the same frames
    /// (no copy-on-write).
    shared: bool,
}

/// Why a user access cannot be satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No region, or the region forbids the access: SIGSEGV / EFAULT.
    Segv,
    /// The region allows it but no frame is left.
    OutOfMemory,
}

impl From<Fault> for Errno {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Segv => Errno::EFAULT,
            Fault::OutOfMemory => Errno::ENOMEM,
        }
    }
}

#[derive(Debug)]
pub struct AddressSpace {
    root: PageTableRoot,
    vmas: BTreeMap<u64, Vma>,
    /// The program's segments, as the loader registered them.
    images: Vec<ImageBacking>,
    brk_base: u64,
    brk: u64,
    /// Lowest address `find_free` has handed out: the next gap is usually
    /// right below it, which saves a walk over every region.
    mmap_low: u64,
    /// Where the environment strings of the initial stack lie
    /// (/proc/PID/environ reads them there, as Linux's `env_start`).
    env_range: (u64, u64),
}

impl AddressSpace {
    pub fn new() -> Result<Self, Errno> {
        let root = PageTableRoot::new(&mut Global).map_err(|_| Errno::ENOMEM)?;
        Ok(Self {
            root,
            vmas: BTreeMap::new(),
            images: Vec::new(),
            brk_base: 0,
            brk: 0,
            mmap_low: MMAP_TOP,
            env_range: (0, 0),
        })
    }

    pub fn activate(&self) {
        self.root.activate();
    }

    /// A copy-on-write duplicate of this address space, for `fork`: the
    /// same regions, program images, break and mmap placement, and a new
    /// page-table root whose user half maps the same frames (one more
    /// user counted on each). Every page of a private region becomes
    /// read-only in both spaces (this one's TLB is flushed if it is the
    /// active space), so the first write to it on either side copies it;
    /// pages of `MAP_SHARED` regions stay writable and shared, and are
    /// made present first (a page first touched after the fork would be
    /// each side's own).
    ///
    /// ENOMEM when frames for the child's page tables or the shared pages
    /// run out (or a frame already has the most users a count holds):
    /// everything taken for the child is given back, and this space stays
    /// consistent (some pages read-only: their next write faults and, the
    /// frame being this space's alone again, makes them writable).
    pub fn fork(&mut self) -> Result<AddressSpace, Errno> {
        let shared: Vec<(u64, Vma)> = self
            .vmas
            .iter()
            .filter(|(_, v)| v.shared)
            .map(|(&s, &v)| (s, v))
            .collect();
        for (start, vma) in shared {
            for page in (start..vma.end).step_by(PAGE_SIZE as usize) {
                self.populate(page, vma, false)?;
            }
        }
        let mut child = AddressSpace {
            root: PageTableRoot::new(&mut Global).map_err(|_| Errno::ENOMEM)?,
            vmas: self.vmas.clone(),
            images: self.images.clone(),
            brk_base: self.brk_base,
            brk: self.brk,
            mmap_low: self.mmap_low,
            env_range: self.env_range,
        };
        for (&start, vma) in &self.vmas {
            self.root
                .update_each(start, vma.end, |page, frame, access| {
                    if !frame::share(frame) {
                        return Err(Errno::ENOMEM);
                    }
                    if !vma.shared {
                        access.write = false;
                    }
                    child
                        .root
                        .map(page, frame, *access, &mut Global)
                        .map_err(|_| {
                            frame::release(frame);
                            Errno::ENOMEM
                        })
                })?;
        }
        Ok(child)
    }

    fn vma_at(&self, addr: u64) -> Option<(u64, Vma)> {
        let (&start, &vma) = self.vmas.range(..=addr).next_back()?;
        (addr < vma.end).then_some((start, vma))
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.vmas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
    }

    /// Adds an anonymous (demand-zero) region over `[start, end)`.
    pub fn insert(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        self.insert_backed(start, end, prot, None, false)
    }

    /// Adds a `MAP_SHARED` region over `[start, end)`: demand-zero like
    /// [`AddressSpace::insert`], but a fork shares its pages instead of
    /// copying them on write.
    pub fn insert_shared(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        self.insert_backed(start, end, prot, None, true)
    }

    /// Maps `frames`, one page each from `start`, into the `MAP_SHARED`
    /// region there: the pages of a tmpfs file or a SysV segment, which
    /// this space then uses too (one more user counted on each), so every
    /// process that maps them, and the file's `read` and `write`, see the
    /// same bytes. ENOMEM when a count or a page table cannot grow (the
    /// caller unmaps the region).
    pub fn map_shared_frames(&mut self, start: u64, frames: &[u64]) -> Result<(), Errno> {
        let (_, vma) = self.vma_at(start).ok_or(Errno::EFAULT)?;
        let end = start + frames.len() as u64 * PAGE_SIZE;
        if !vma.shared || vma.end < end {
            return Err(Errno::EINVAL);
        }
        for (page, &frame) in (start..end).step_by(PAGE_SIZE as usize).zip(frames) {
            if let Some(old) = self.root.unmap(page) {
                frame::release(old);
            }
            if !frame::share(frame) {
                return Err(Errno::ENOMEM);
            }
            if self.root.map(page, frame, vma.prot, &mut Global).is_err() {
                frame::release(frame);
                return Err(Errno::ENOMEM);
            }
        }
        Ok(())
    }

    /// Whether the region containing `addr` is `MAP_SHARED`.
    pub fn is_shared(&self, addr: u64) -> bool {
        self.vma_at(addr).is_some_and(|(_, v)| v.shared)
    }

    /// Adds a region over `[start, end)` whose pages are filled from
    /// `image` on first touch (the loader, once per segment).
    pub fn insert_image(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        image: ImageBacking,
    ) -> Result<(), Errno> {
        let id = ImageId::try_from(self.images.len()).map_err(|_| Errno::ENOMEM)?;
        self.insert_backed(start, end, prot, Some(id), false)?;
        self.images.push(image);
        Ok(())
    }

    /// Adds a region over `[start, end)` (page aligned, currently unmapped).
    /// Merges with a neighbour of the same protection and backing, so a
    /// growing heap stays one region. ENOMEM past Linux's default
    /// `vm.max_map_count`, which also bounds the kernel heap the region
    /// tree uses.
    fn insert_backed(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        image: Option<ImageId>,
        shared: bool,
    ) -> Result<(), Errno> {
        debug_assert!(!self.overlaps(start, end));
        let (mut start, mut end) = (start, end);
        let same = |v: &Vma| v.prot == prot && v.image == image && v.shared == shared;
        if let Some((&s, v)) = self.vmas.range(..start).next_back() {
            if v.end == start && same(v) {
                start = s;
            }
        }
        if let Some(next) = self.vmas.get(&end).copied() {
            if same(&next) {
                self.vmas.remove(&end);
                end = next.end;
            }
        }
        if self.vmas.len() >= MAX_MAP_COUNT && !self.vmas.contains_key(&start) {
            return Err(Errno::ENOMEM);
        }
        self.vmas.insert(
            start,
            Vma {
                end,
                prot,
                image,
                shared,
            },
        );
        Ok(())
    }

    /// Cuts `[start, end)` out of the regions: returns the pieces that were
    /// there, as (start, end, region), leaving the rest of each region intact.
    fn carve(&mut self, start: u64, end: u64) -> Vec<(u64, u64, Vma)> {
        let mut hit = Vec::new();
        let keys: Vec<u64> = self
            .vmas
            .range(..end)
            .filter(|(_, v)| v.end > start)
            .map(|(&s, _)| s)
            .collect();
        for s in keys {
            let vma = self.vmas.remove(&s).expect("key just listed");
            if s < start {
                self.vmas.insert(s, Vma { end: start, ..vma });
            }
            if vma.end > end {
                self.vmas.insert(end, vma);
            }
            hit.push((s.max(start), vma.end.min(end), vma));
        }
        hit
    }

    /// Calls `f` for every page of `[start, end)` that may be mapped,
    /// skipping absent page tables whole (a huge PROT_NONE reservation
    /// costs its touched pages, not its size).
    fn for_each_maybe_mapped(
        &mut self,
        start: u64,
        end: u64,
        mut f: impl FnMut(&mut PageTableRoot, u64),
    ) {
        let mut page = start;
        while page < end {
            let next = self.root.next_possibly_mapped(page);
            if next > page {
                page = next;
                continue;
            }
            f(&mut self.root, page);
            page += PAGE_SIZE;
        }
    }

    /// Removes regions and releases the frames behind `[start, end)`.
    pub fn unmap_range(&mut self, start: u64, end: u64) {
        for (s, e, _) in self.carve(start, end) {
            self.release_pages(s, e);
        }
    }

    /// Unmaps every page of `[start, end)`, dropping this space's use of
    /// its frame.
    fn release_pages(&mut self, start: u64, end: u64) {
        self.for_each_maybe_mapped(start, end, |root, page| {
            if let Some(frame) = root.unmap(page) {
                frame::release(frame);
            }
        });
    }

    /// `mprotect`: every page of the range must belong to a region.
    pub fn protect_range(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        let mut covered = 0;
        for (s, v) in self.vmas.range(..end) {
            if v.end > start {
                covered += v.end.min(end) - (*s).max(start);
            }
        }
        if covered != end - start {
            return Err(Errno::ENOMEM);
        }
        for (s, e, vma) in self.carve(start, end) {
            self.vmas.insert(
                s,
                Vma {
                    end: e,
                    prot,
                    ..vma
                },
            );
            // A page of a private region that another address space still
            // maps stays read-only: its first write copies it.
            let copy_on_write = prot.write && !vma.shared;
            let Ok(()) = self.root.update_each(s, e, |_, frame, access| {
                *access = prot;
                if copy_on_write && frame::is_shared(frame) {
                    access.write = false;
                }
                Ok::<(), Infallible>(())
            });
        }
        Ok(())
    }

    /// A free gap of `len` bytes, highest first (mmap without a hint).
    pub fn find_free(&mut self, len: u64) -> Option<u64> {
        let low = self.mmap_low;
        if let Some(start) = low.checked_sub(len) {
            if self.is_free(start, low) {
                self.mmap_low = start;
                return Some(start);
            }
        }
        let found = self.find_free_from_top(len)?;
        self.mmap_low = found.min(low);
        Some(found)
    }

    fn find_free_from_top(&self, len: u64) -> Option<u64> {
        let mut top = MMAP_TOP;
        for (&s, v) in self.vmas.range(..MMAP_TOP).rev() {
            if v.end <= top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(s);
        }
        (top >= MMAP_MIN + len).then(|| top - len)
    }

    /// Whether the workload wrote the page at `addr` since the last call
    /// (see `PageTableRoot::take_dirty`).
    pub fn take_dirty(&mut self, addr: u64) -> bool {
        self.root.take_dirty(addr)
    }

    /// The frame behind the page at `addr`, if it has one (never touched:
    /// none; nothing is allocated).
    pub fn mapped_frame(&self, addr: u64) -> Option<u64> {
        self.root.translate(addr).map(|(frame, _)| frame)
    }

    /// Every region as (start, end, protection, whether it is backed by
    /// the program image), in address order (/proc/self/maps).
    pub fn regions(&self) -> impl Iterator<Item = (u64, u64, Prot, bool)> + '_ {
        self.vmas
            .iter()
            .map(|(&start, vma)| (start, vma.end, vma.prot, vma.image.is_some()))
    }

    /// Pages with a frame behind them (/proc's RSS). Absent page tables
    /// are skipped whole, so this costs the touched pages, not the size.
    pub fn resident_pages(&self) -> u64 {
        let mut pages = 0;
        for (&start, vma) in &self.vmas {
            let mut page = start;
            while page < vma.end {
                let next = self.root.next_possibly_mapped(page);
                if next > page {
                    page = next;
                    continue;
                }
                if self.root.translate(page).is_some() {
                    pages += 1;
                }
                page += PAGE_SIZE;
            }
        }
        pages
    }

    pub fn is_free(&self, start: u64, end: u64) -> bool {
        start >= MMAP_MIN && end <= USER_END && start < end && !self.overlaps(start, end)
    }

    /// Makes the page at `addr` present for an access, filling a fresh
    /// frame from the region's backing; for a write to a copy-on-write
    /// page, makes it this space's own. Returns the page's frame. Segv if
    /// the region forbids the access (a write to a read-only region among
    /// them, present or not).
    pub fn fault(&mut self, addr: u64, write: bool, exec: bool) -> Result<u64, Fault> {
        let (_, vma) = self.vma_at(addr).ok_or(Fault::Segv)?;
        let allowed = (vma.prot.read || vma.prot.write || vma.prot.exec)
            && (!write || vma.prot.write)
            && (!exec || vma.prot.exec);
        if !allowed {
            return Err(Fault::Segv);
        }
        self.populate(addr, vma, write)
    }

    /// Makes the page at `addr` of region `vma` present, filling a fresh
    /// frame from the region's backing, and returns its frame. For a
    /// `write` (by the user, or by the kernel through the direct map) to a
    /// page of a private region the frame is made this space's alone
    /// first: copied if another address space still maps it, else just
    /// made writable again if the region is (copy-on-write).
    fn populate(&mut self, addr: u64, vma: Vma, write: bool) -> Result<u64, Fault> {
        let page = page_round_down(addr);
        if let Some((frame, access)) = self.root.translate(page) {
            if !write || vma.shared {
                return Ok(frame);
            }
            if frame::is_shared(frame) {
                let copy = frame::alloc_copy(frame).ok_or(Fault::OutOfMemory)?;
                let replaced = self.root.replace(page, copy, vma.prot);
                debug_assert!(replaced, "the page was just translated");
                frame::release(frame);
                return Ok(copy);
            }
            if vma.prot.write && !access.write {
                self.root.protect(page, vma.prot);
            }
            return Ok(frame);
        }
        let frame = match self.image_bytes(vma, page) {
            Some((at, bytes)) => frame::alloc_filled((at - page) as usize, bytes),
            None => frame::alloc_zeroed(),
        }
        .ok_or(Fault::OutOfMemory)?;
        if self.root.map(page, frame, vma.prot, &mut Global).is_err() {
            frame::free(frame);
            return Err(Fault::OutOfMemory);
        }
        Ok(frame)
    }

    /// The image bytes that belong in the page at `page`, if `vma` has any.
    fn image_bytes(&self, vma: Vma, page: u64) -> Option<(u64, &'static [u8])> {
        let image = self.images[usize::from(vma.image?)];
        image.bytes_in(page, page + PAGE_SIZE)
    }

    fn check_range(addr: u64, len: usize) -> Result<(), Errno> {
        match addr.checked_add(len as u64) {
            Some(end) if end <= USER_END => Ok(()),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Walks `[addr, addr+len)` page by page, calling `f(frame_paddr, offset_in_buffer, chunk_len)`.
    fn for_each_chunk(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        ignore_prot: bool,
        mut f: impl FnMut(u64, usize, usize),
    ) -> Result<(), Errno> {
        Self::check_range(addr, len)?;
        let mut done = 0;
        while done < len {
            let va = addr + done as u64;
            let in_page = (va % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(len - done);
            let frame = if ignore_prot {
                let (_, vma) = self.vma_at(va).ok_or(Errno::EFAULT)?;
                self.populate(va, vma, write)?
            } else {
                self.fault(va, write, false)?
            };
            f(frame + in_page as u64, done, chunk);
            done += chunk;
        }
        Ok(())
    }

    /// Copies user memory at `addr` into `buf`.
    pub fn copy_in(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.for_each_chunk(addr, buf.len(), false, false, |pa, off, n| {
            phys::read(pa, &mut buf[off..off + n])
        })
    }

    /// Copies `data` to user memory at `addr`.
    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.for_each_chunk(addr, data.len(), true, false, |pa, off, n| {
            phys::write(pa, &data[off..off + n])
        })
    }

    /// Writes into user pages regardless of their protection (the ELF
    /// loader filling read-only segments).
    pub fn write_initial(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.for_each_chunk(addr, data.len(), true, true, |pa, off, n| {
            phys::write(pa, &data[off..off + n])
        })
    }

    pub fn read_array<const N: usize>(&mut self, addr: u64) -> Result<[u8; N], Errno> {
        let mut buf = [0u8; N];
        self.copy_in(addr, &mut buf)?;
        Ok(buf)
    }

    pub fn read_u64(&mut self, addr: u64) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.read_array(addr)?))
    }

    /// A NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut va = addr;
        loop {
            let in_page = (va % PAGE_SIZE) as usize;
            let mut chunk = [0u8; 256];
            let n = (PAGE_SIZE as usize - in_page).min(chunk.len());
            self.copy_in(va, &mut chunk[..n])?;
            if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            va += n as u64;
        }
    }

    pub fn set_env_range(&mut self, start: u64, end: u64) {
        self.env_range = (start, end);
    }

    pub fn env_range(&self) -> (u64, u64) {
        self.env_range
    }

    /// Reads user memory at `addr` without populating anything, for
    /// /proc (which sees another process's memory through a shared
    /// reference): a page never touched reads as zeros, which is what it
    /// holds in anonymous memory and the stack (not in the program
    /// image's pages). EFAULT outside every region.
    pub fn peek(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        Self::check_range(addr, buf.len())?;
        let mut done = 0;
        while done < buf.len() {
            let va = addr + done as u64;
            let in_page = va % PAGE_SIZE;
            let chunk = ((PAGE_SIZE - in_page) as usize).min(buf.len() - done);
            self.vma_at(va).ok_or(Errno::EFAULT)?;
            match self.root.translate(page_round_down(va)) {
                Some((frame, _)) => phys::read(frame + in_page, &mut buf[done..done + chunk]),
                None => buf[done..done + chunk].fill(0),
            }
            done += chunk;
        }
        Ok(())
    }

    pub fn set_brk_base(&mut self, base: u64) {
        self.brk_base = base;
        self.brk = base;
    }

    /// `brk`: moves the program break; returns the break in force.
    pub fn brk(&mut self, requested: u64) -> u64 {
        if requested < self.brk_base {
            return self.brk;
        }
        let (Some(old_end), Some(new_end)) = (page_round_up(self.brk), page_round_up(requested))
        else {
            return self.brk;
        };
        if new_end > old_end {
            if !self.is_free(old_end, new_end) || new_end > MMAP_TOP {
                return self.brk;
            }
            let heap = Prot {
                read: true,
                write: true,
                exec: false,
            };
            if self.insert(old_end, new_end, heap).is_err() {
                return self.brk;
            }
        } else if new_end < old_end {
            self.unmap_range(new_end, old_end);
        }
        self.brk = requested;
        self.brk
    }

    /// Moves the frames of `[old, old+len)` to `new` (both page aligned;
    /// `new` must be a fresh anonymous region of at least `len`).
    pub fn move_pages(&mut self, old: u64, new: u64, len: u64) -> Result<(), Errno> {
        // The new region is anonymous, so the image pages not yet touched
        // are filled first and travel as frames. That costs at most the
        // image's size, and only in the rare mremap of a program's own
        // pages; moving the backing instead would need regions to carry a
        // backing of their own rather than an index to the loader's few.
        self.populate_image_bytes(old, old + len)?;
        let mut result = Ok(());
        self.for_each_maybe_mapped(old, old + len, |root, page| {
            if result.is_err() {
                return;
            }
            if let Some((frame, access)) = root.translate(page) {
                root.unmap(page);
                result = root.map(new + (page - old), frame, access, &mut Global);
                if result.is_err() {
                    // Out of page-table frames: put it back (its table is
                    // still there), so a failed mremap loses nothing.
                    let _ = root.map(page, frame, access, &mut Global);
                }
            }
        });
        self.carve(old, old + len);
        result.map_err(|_| Errno::ENOMEM)
    }

    /// Makes present every page of `[start, end)` that holds image bytes.
    fn populate_image_bytes(&mut self, start: u64, end: u64) -> Result<(), Fault> {
        let backed: Vec<(u64, Vma)> = self
            .vmas
            .range(..end)
            .filter(|(_, v)| v.end > start && v.image.is_some())
            .map(|(&s, &v)| (s, v))
            .collect();
        for (s, vma) in backed {
            let Some(image) = vma.image.map(|id| self.images[usize::from(id)]) else {
                continue;
            };
            let Some((at, bytes)) = image.bytes_in(s.max(start), vma.end.min(end)) else {
                continue;
            };
            let mut page = page_round_down(at);
            while page < at + bytes.len() as u64 {
                self.populate(page, vma, false)?;
                page += PAGE_SIZE;
            }
        }
        Ok(())
    }

    /// The protection of the region containing `addr`.
    pub fn prot_at(&self, addr: u64) -> Option<(u64, u64, Prot)> {
        self.vma_at(addr).map(|(s, v)| (s, v.end, v.prot))
    }

    /// Extends the region ending at `end` by `[end, new_end)` (free): the
    /// new pages continue its protection and backing, as a grown file
    /// mapping does.
    pub fn grow(&mut self, end: u64, new_end: u64) -> Result<(), Errno> {
        let (_, vma) = self.vma_at(end - 1).ok_or(Errno::EFAULT)?;
        if vma.end != end {
            return Err(Errno::EFAULT);
        }
        self.insert_backed(end, new_end, vma.prot, vma.image, vma.shared)
    }
}

impl AddressSpace {
    /// Releases the frames behind the private regions of `[start, end)`
    /// but keeps the regions: the pages come back as at first on the next
    /// touch, zeroed or refilled from the image (MADV_DONTNEED on private
    /// memory). Pages of `MAP_SHARED` regions keep their contents, as on
    /// Linux (where they live in the shared object, not the mapping).
    pub fn discard(&mut self, start: u64, end: u64) {
        let private: Vec<(u64, u64)> = self
            .vmas
            .range(..end)
            .filter(|(_, v)| v.end > start && !v.shared)
            .map(|(&s, v)| (s.max(start), v.end.min(end)))
            .collect();
        for (s, e) in private {
            self.release_pages(s, e);
        }
    }
}

/// Gives back everything the address space holds: one use of each user
/// frame (the last user frees it), every user-half page table and the
/// PML4. Safe while it is the active space: the CPU then switches to the
/// boot PML4 (kernel half only) first, and the next space to run must be
/// activated as usual.
impl Drop for AddressSpace {
    fn drop(&mut self) {
        self.root.destroy(frame::release, &mut Global);
    }
}
