//! Page tables of user address spaces.
//!
//! Each process has its own PML4; its upper half (kernel image and direct
//! map) is copied from the boot PML4, whose upper-half tables never change.
//! Tables are reached through the direct map with the `x86_64` crate's
//! `OffsetPageTable`; the walks over many pages (fork, mprotect, teardown)
//! read and write the entries through the direct map themselves.
//!
//! The user half holds 4 KiB pages only: lamina never maps huge pages there.

use super::phys::{self, DIRECT_MAP_BASE, PAGE_SIZE};
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

/// Where frames for page tables come from.
pub trait FrameSource {
    /// A zeroed 4 KiB frame, or None when memory is exhausted.
    fn alloc_zeroed(&mut self) -> Option<u64>;
    /// Takes back a page-table frame [`FrameSource::alloc_zeroed`] gave.
    fn free(&mut self, frame: u64);
}

struct Adapter<'a>(&'a mut dyn FrameSource);

// SAFETY: `alloc_zeroed` hands out frames that are unused and owned by the
// caller from then on (the frame allocator's contract).
unsafe impl FrameAllocator<Size4KiB> for Adapter<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        self.0
            .alloc_zeroed()
            .map(|p| PhysFrame::containing_address(PhysAddr::new(p)))
    }
}

/// Access rights of a user page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Access {
    fn from_flags(flags: PageTableFlags) -> Self {
        Self {
            read: flags.contains(PageTableFlags::USER_ACCESSIBLE),
            write: flags.contains(PageTableFlags::WRITABLE),
            exec: !flags.contains(PageTableFlags::NO_EXECUTE),
        }
    }

    /// PROT_NONE pages stay present (their contents are kept) but lose the
    /// user bit, so any access from ring 3 faults.
    fn flags(self) -> PageTableFlags {
        let mut flags = PageTableFlags::PRESENT;
        if self.read || self.write || self.exec {
            flags |= PageTableFlags::USER_ACCESSIBLE;
        }
        if self.write {
            flags |= PageTableFlags::WRITABLE;
        }
        if !self.exec {
            flags |= PageTableFlags::NO_EXECUTE;
        }
        flags
    }
}

/// The bits of a leaf entry that [`Access`] decides; the others (the
/// frame, accessed, dirty) survive a change of access.
const ACCESS_BITS: u64 = PageTableFlags::PRESENT.bits()
    | PageTableFlags::WRITABLE.bits()
    | PageTableFlags::USER_ACCESSIBLE.bits()
    | PageTableFlags::NO_EXECUTE.bits();
const PRESENT: u64 = PageTableFlags::PRESENT.bits();
const HUGE_PAGE: u64 = PageTableFlags::HUGE_PAGE.bits();
/// The frame address bits of an entry.
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const ENTRY_BYTES: u64 = 8;
const ENTRIES_PER_TABLE: u64 = 512;
/// One past the highest address of the user half.
const USER_HALF_END: u64 = 1 << 47;
/// A walk that changes more pages than this of the active space reloads
/// CR3 once instead of flushing page by page (under shadow paging each
/// flush is an exit).
const FLUSH_PAGES_MAX: usize = 16;

/// The TLB flushes a walk owes: the pages it changed, or all of them.
struct PendingFlush {
    active: bool,
    pages: [u64; FLUSH_PAGES_MAX],
    count: usize,
}

impl PendingFlush {
    fn new(active: bool) -> Self {
        Self {
            active,
            pages: [0; FLUSH_PAGES_MAX],
            count: 0,
        }
    }

    fn add(&mut self, vaddr: u64) {
        if self.active {
            if let Some(slot) = self.pages.get_mut(self.count) {
                *slot = vaddr;
            }
            self.count += 1;
        }
    }

    fn finish(self) {
        if self.count > FLUSH_PAGES_MAX {
            tlb::flush_all();
        } else {
            for &page in &self.pages[..self.count] {
                tlb::flush(VirtAddr::new(page));
            }
        }
    }
}

/// Out of frames for page tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// The root of one user address space.
///
/// Its frames go back only through [`PageTableRoot::destroy`] (the address
/// space's drop); dropping the root alone leaks them.
#[derive(Debug)]
pub struct PageTableRoot {
    pml4: u64,
}

const USER_HALF_ENTRIES: usize = 256;

/// The boot PML4: the kernel half alone, with no process's user half.
fn kernel_pml4() -> u64 {
    static BOOT_PML4: spin::Once<u64> = spin::Once::new();
    *BOOT_PML4.call_once(|| Cr3::read().0.start_address().as_u64())
}

impl PageTableRoot {
    /// A fresh address space: empty user half, shared kernel half.
    pub fn new(frames: &mut dyn FrameSource) -> Result<Self, OutOfMemory> {
        let boot = kernel_pml4();
        let pml4 = frames.alloc_zeroed().ok_or(OutOfMemory)?;
        let half = USER_HALF_ENTRIES * 8;
        let mut upper = [0u8; USER_HALF_ENTRIES * 8];
        phys::read(boot + half as u64, &mut upper);
        phys::write(pml4 + half as u64, &upper);
        Ok(Self { pml4 })
    }

    fn with_mapper<R>(&self, f: impl FnOnce(&mut OffsetPageTable<'_>) -> R) -> R {
        let table = (DIRECT_MAP_BASE + self.pml4) as *mut PageTable;
        // SAFETY: `pml4` is a page-table frame this root owns, reached through
        // the always-mapped direct map; the exclusive borrow lasts only for
        // `f`, and the kernel is single-threaded, so no other reference to it
        // exists meanwhile.
        let mut mapper =
            unsafe { OffsetPageTable::new(&mut *table, VirtAddr::new(DIRECT_MAP_BASE)) };
        f(&mut mapper)
    }

    fn is_active(&self) -> bool {
        Cr3::read().0.start_address().as_u64() == self.pml4
    }

    /// Maps the user page at `vaddr` to `frame`.
    pub fn map(
        &mut self,
        vaddr: u64,
        frame: u64,
        access: Access,
        frames: &mut dyn FrameSource,
    ) -> Result<(), OutOfMemory> {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(vaddr));
        let frame = PhysFrame::containing_address(PhysAddr::new(frame));
        let parent =
            PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::USER_ACCESSIBLE;
        self.with_mapper(|m| {
            // SAFETY: `frame` is a fresh frame owned by the address space and
            // `vaddr` is in the user half, so no kernel mapping is affected.
            match unsafe {
                m.map_to_with_table_flags(page, frame, access.flags(), parent, &mut Adapter(frames))
            } {
                // Not-present entries are never cached, so no flush is needed.
                Ok(flush) => {
                    flush.ignore();
                    Ok(())
                }
                Err(MapToError::FrameAllocationFailed) => Err(OutOfMemory),
                Err(e) => panic!("mapping user page {vaddr:#x}: {e:?}"),
            }
        })
    }

    /// Removes the mapping of `vaddr`, returning the frame it pointed to.
    pub fn unmap(&mut self, vaddr: u64) -> Option<u64> {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(vaddr));
        let active = self.is_active();
        self.with_mapper(|m| {
            let (frame, flush) = m.unmap(page).ok()?;
            if active {
                flush.flush();
            } else {
                flush.ignore();
            }
            Some(frame.start_address().as_u64())
        })
    }

    /// Points the mapped page at `vaddr` to `frame` with `access` (a clean
    /// entry: copy-on-write gives the page a fresh frame); false, with
    /// nothing changed, if the page is not mapped. Never allocates: the
    /// page's tables are already there.
    pub fn replace(&mut self, vaddr: u64, frame: u64, access: Access) -> bool {
        let Ok(table) = self.page_table_of(vaddr) else {
            return false;
        };
        let slot = table + ((vaddr / PAGE_SIZE) % ENTRIES_PER_TABLE) * ENTRY_BYTES;
        if phys::read_u64(slot) & PRESENT == 0 {
            return false;
        }
        phys::write_u64(slot, (frame & ADDR_MASK) | access.flags().bits());
        if self.is_active() {
            tlb::flush(VirtAddr::new(vaddr));
        }
        true
    }

    /// Changes the access of a mapped page (its dirty bit stays); false if
    /// it is not mapped.
    pub fn protect(&mut self, vaddr: u64, access: Access) -> bool {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(vaddr));
        let active = self.is_active();
        self.with_mapper(|m| {
            let kept = match m.translate(VirtAddr::new(vaddr)) {
                TranslateResult::Mapped { flags, .. } => {
                    flags & (PageTableFlags::ACCESSED | PageTableFlags::DIRTY)
                }
                _ => return false,
            };
            // SAFETY: only the access bits of a user page change.
            match unsafe { m.update_flags(page, access.flags() | kept) } {
                Ok(flush) => {
                    if active {
                        flush.flush();
                    } else {
                        flush.ignore();
                    }
                    true
                }
                Err(_) => false,
            }
        })
    }

    /// Whether the user wrote the page at `vaddr` since the last call (its
    /// dirty bit, which this clears). Kernel writes go through the direct
    /// map and leave the user mapping's bit alone.
    pub fn take_dirty(&mut self, vaddr: u64) -> bool {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(vaddr));
        let active = self.is_active();
        self.with_mapper(|m| {
            let flags = match m.translate(VirtAddr::new(vaddr)) {
                TranslateResult::Mapped { flags, .. } => flags,
                _ => return false,
            };
            if !flags.contains(PageTableFlags::DIRTY) {
                return false;
            }
            // SAFETY: only the dirty bit of a user page changes; the TLB
            // entry is flushed so the next write sets it again.
            if let Ok(flush) = unsafe { m.update_flags(page, flags - PageTableFlags::DIRTY) } {
                if active {
                    flush.flush();
                } else {
                    flush.ignore();
                }
            }
            true
        })
    }

    /// The frame and access of the page containing `vaddr`, if mapped.
    pub fn translate(&self, vaddr: u64) -> Option<(u64, Access)> {
        self.with_mapper(|m| match m.translate(VirtAddr::new(vaddr)) {
            TranslateResult::Mapped { frame, flags, .. } => {
                Some((frame.start_address().as_u64(), Access::from_flags(flags)))
            }
            _ => None,
        })
    }

    /// The lowest address at or above `vaddr` that a mapping could occupy:
    /// absent tables are skipped whole (512 GiB, 1 GiB or 2 MiB at a time),
    /// so walking a sparse range costs its mapped pages, not its size.
    pub fn next_possibly_mapped(&self, vaddr: u64) -> u64 {
        self.page_table_of(vaddr)
            .map_or_else(|next| next, |_| vaddr)
    }

    /// The page table (last level) that holds the entry of `vaddr`, or,
    /// when a table on the way is absent, the next address past the span
    /// it would cover.
    fn page_table_of(&self, vaddr: u64) -> Result<u64, u64> {
        let mut table = self.pml4;
        for shift in [39u32, 30, 21] {
            let index = (vaddr >> shift) % ENTRIES_PER_TABLE;
            let entry = phys::read_u64(table + index * ENTRY_BYTES);
            if entry & PRESENT == 0 {
                let span = 1u64 << shift;
                return Err((vaddr & !(span - 1)) + span);
            }
            debug_assert_eq!(entry & HUGE_PAGE, 0, "huge page in the user half");
            table = entry & ADDR_MASK;
        }
        Ok(table)
    }

    /// Calls `f(vaddr, frame, access)` for every present page of
    /// `[start, end)` (user half, page aligned) in address order; `f` may
    /// change the page's access (its frame and dirty bit stay). Absent
    /// tables are skipped whole. Stops at the first error `f` returns,
    /// keeping the changes made so far; the TLB is flushed for them either
    /// way (once, by reloading CR3, if there are many).
    pub fn update_each<E>(
        &mut self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, u64, &mut Access) -> Result<(), E>,
    ) -> Result<(), E> {
        assert!(end <= USER_HALF_END, "walk past the user half");
        let mut flush = PendingFlush::new(self.is_active());
        let mut result = Ok(());
        let mut vaddr = start;
        'tables: while vaddr < end {
            let table = match self.page_table_of(vaddr) {
                Ok(table) => table,
                Err(next) => {
                    vaddr = next;
                    continue;
                }
            };
            // The entries of this table from `vaddr` on.
            loop {
                let slot = table + ((vaddr / PAGE_SIZE) % ENTRIES_PER_TABLE) * ENTRY_BYTES;
                let entry = phys::read_u64(slot);
                if entry & PRESENT != 0 {
                    let old = Access::from_flags(PageTableFlags::from_bits_truncate(entry));
                    let mut access = old;
                    let outcome = f(vaddr, entry & ADDR_MASK, &mut access);
                    if access != old {
                        phys::write_u64(slot, (entry & !ACCESS_BITS) | access.flags().bits());
                        flush.add(vaddr);
                    }
                    if outcome.is_err() {
                        result = outcome;
                        break 'tables;
                    }
                }
                vaddr += PAGE_SIZE;
                if vaddr >= end || (vaddr / PAGE_SIZE).is_multiple_of(ENTRIES_PER_TABLE) {
                    break;
                }
            }
        }
        flush.finish();
        result
    }

    /// Tears the user half down: `release(frame)` for the frame of every
    /// present user page, then every user-half table (PDPTs, PDs, PTs)
    /// and the PML4 itself go back to `frames`. If this is the active
    /// address space, the CPU first switches to the boot PML4 (kernel half
    /// only), so it is safe to call from anywhere; the caller activates
    /// the next space as usual. The root maps nothing afterwards and must
    /// not be used again.
    pub fn destroy(&mut self, mut release: impl FnMut(u64), frames: &mut dyn FrameSource) {
        if self.pml4 == 0 {
            return;
        }
        if self.is_active() {
            let boot = PhysFrame::containing_address(PhysAddr::new(kernel_pml4()));
            // SAFETY: the boot PML4 maps the kernel half the kernel runs
            // in (every PML4 copies it from there), so execution continues
            // unchanged; it maps no user memory, which nothing in the
            // kernel reaches through user addresses.
            unsafe { Cr3::write(boot, Cr3Flags::empty()) };
        }
        let present = |table: u64, index: u64| {
            let entry = phys::read_u64(table + index * ENTRY_BYTES);
            (entry & PRESENT != 0).then_some(entry & ADDR_MASK)
        };
        for pml4_index in 0..USER_HALF_ENTRIES as u64 {
            let Some(pdpt) = present(self.pml4, pml4_index) else {
                continue;
            };
            for pdpt_index in 0..ENTRIES_PER_TABLE {
                let Some(pd) = present(pdpt, pdpt_index) else {
                    continue;
                };
                for pd_index in 0..ENTRIES_PER_TABLE {
                    let Some(pt) = present(pd, pd_index) else {
                        continue;
                    };
                    for pt_index in 0..ENTRIES_PER_TABLE {
                        if let Some(frame) = present(pt, pt_index) {
                            release(frame);
                        }
                    }
                    frames.free(pt);
                }
                frames.free(pd);
            }
            frames.free(pdpt);
        }
        frames.free(self.pml4);
        self.pml4 = 0;
    }

    /// Makes this address space the current one.
    pub fn activate(&self) {
        let frame = PhysFrame::containing_address(PhysAddr::new(self.pml4));
        // SAFETY: the upper half of this PML4 is the kernel's own mapping,
        // so the kernel keeps running unchanged after the switch.
        unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    }
}
