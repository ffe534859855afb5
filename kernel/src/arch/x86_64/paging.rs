//! Page tables of user address spaces.
//!
//! Each process has its own PML4; its upper half (kernel image and direct
//! map) is copied from the boot PML4, whose upper-half tables never change.
//! Tables are reached through the direct map with the `x86_64` crate's
//! `OffsetPageTable`.

use super::phys::{self, DIRECT_MAP_BASE};
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

/// Out of frames for page tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// The root of one user address space.
#[derive(Debug)]
pub struct PageTableRoot {
    pml4: u64,
}

const USER_HALF_ENTRIES: usize = 256;

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

    /// Changes the access of a mapped page; false if it is not mapped.
    pub fn protect(&mut self, vaddr: u64, access: Access) -> bool {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(vaddr));
        let active = self.is_active();
        self.with_mapper(|m| {
            // SAFETY: only the access bits of a user page change.
            match unsafe { m.update_flags(page, access.flags()) } {
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
            TranslateResult::Mapped { frame, flags, .. } => Some((
                frame.start_address().as_u64(),
                Access {
                    read: flags.contains(PageTableFlags::USER_ACCESSIBLE),
                    write: flags.contains(PageTableFlags::WRITABLE),
                    exec: !flags.contains(PageTableFlags::NO_EXECUTE),
                },
            )),
            _ => None,
        })
    }

    /// The lowest address at or above `vaddr` that a mapping could occupy:
    /// absent tables are skipped whole (512 GiB, 1 GiB or 2 MiB at a time),
    /// so walking a sparse range costs its mapped pages, not its size.
    pub fn next_possibly_mapped(&self, vaddr: u64) -> u64 {
        const PRESENT: u64 = 1;
        const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
        let mut table = self.pml4;
        for shift in [39u32, 30, 21] {
            let entry = phys::read_u64(table + ((vaddr >> shift) & 511) * 8);
            if entry & PRESENT == 0 {
                let span = 1u64 << shift;
                return (vaddr & !(span - 1)) + span;
            }
            table = entry & ADDR_MASK;
        }
        vaddr
    }

    /// Makes this address space the current one.
    pub fn activate(&self) {
        let frame = PhysFrame::containing_address(PhysAddr::new(self.pml4));
        // SAFETY: the upper half of this PML4 is the kernel's own mapping,
        // so the kernel keeps running unchanged after the switch.
        unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    }
}

/// Switches the CPU to the boot page tables (the kernel half alone), so
/// that an address space can be torn down while nothing uses it.
pub fn activate_kernel() {
    let frame = PhysFrame::containing_address(PhysAddr::new(kernel_pml4()));
    // SAFETY: the boot PML4 maps the kernel exactly as every process's
    // upper half does, so the kernel keeps running unchanged.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
}
