//! The physical frame allocator.
//!
//! Usable RAM (from the PVH memory map, minus the kernel image, the boot
//! modules and everything below 1 MiB) is handed out by a bump pointer per
//! range; freed frames go on an intrusive free list threaded through the
//! frames themselves (via the direct map).
//!
//! A frame that several address spaces map (copy-on-write after fork, or a
//! `MAP_SHARED` region) is counted: [`share`] adds a user, [`release`]
//! drops one and frees the frame with the last. The counts live in a dense
//! table of one `u16` per frame of usable RAM, taken from RAM itself at
//! init (2 bytes per 4 KiB; nothing per frame on the 4 MiB kernel heap).
//! The table holds each frame's users *beyond the first*, so it starts
//! zeroed, allocating a frame never touches it, and a frame never shared
//! costs exactly what it did before counting existed.

use alloc::vec::Vec;
use lamina_abi::args::{page_round_down, page_round_up};
use spin::Mutex;

use crate::arch::paging::FrameSource;
use crate::arch::phys::{self, DIRECT_MAP_LIMIT, PAGE_SIZE};

/// Low memory holds the PVH tables and legacy regions; lamina leaves it alone.
const LOW_MEMORY_END: u64 = 1 << 20;

#[derive(Debug)]
pub struct FrameAllocator {
    /// Half-open physical ranges not yet handed out, each page aligned.
    ranges: Vec<(u64, u64)>,
    /// Head of the free list (0: empty; frame 0 is never allocated).
    free_head: u64,
    free_frames: u64,
    total_frames: u64,
    /// The sharing table: one `u16` per frame from `table_base` on, at
    /// physical address `table` (0: no table, so nothing can be shared).
    table: u64,
    table_base: u64,
    table_frames: u64,
}

/// Removes `cut` from every range in `ranges`.
fn subtract(ranges: &mut Vec<(u64, u64)>, cut: (u64, u64)) {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for &(s, e) in ranges.iter() {
        if cut.1 <= s || cut.0 >= e {
            out.push((s, e));
            continue;
        }
        if s < cut.0 {
            out.push((s, cut.0));
        }
        if cut.1 < e {
            out.push((cut.1, e));
        }
    }
    *ranges = out;
}

impl FrameAllocator {
    pub fn new(ram: impl Iterator<Item = (u64, u64)>, reserved: &[(u64, u64)]) -> Self {
        let mut ranges: Vec<(u64, u64)> = ram
            .map(|(s, e)| (s.max(LOW_MEMORY_END), e.min(DIRECT_MAP_LIMIT)))
            .filter(|(s, e)| s < e)
            .collect();
        for &(s, e) in reserved {
            subtract(
                &mut ranges,
                (page_round_down(s), page_round_up(e).unwrap_or(u64::MAX)),
            );
        }
        let mut ranges: Vec<(u64, u64)> = ranges
            .into_iter()
            .map(|(s, e)| (page_round_up(s).unwrap_or(u64::MAX), page_round_down(e)))
            .filter(|(s, e)| s < e)
            .collect();
        let table_base = ranges.iter().map(|r| r.0).min().unwrap_or(0);
        let table_end = ranges.iter().map(|r| r.1).max().unwrap_or(0);
        let table_frames = (table_end - table_base) / PAGE_SIZE;
        let table_bytes = page_round_up(table_frames * SHARERS_BYTES).unwrap_or(u64::MAX);
        // The table's own frames come off the front of the first range
        // large enough; they are never handed out.
        let table = match ranges.iter_mut().find(|(s, e)| e - s >= table_bytes) {
            Some(range) if table_bytes > 0 => {
                let at = range.0;
                range.0 += table_bytes;
                phys::zero(at, table_bytes as usize);
                at
            }
            _ => 0,
        };
        let total_frames = ranges.iter().map(|(s, e)| (e - s) / PAGE_SIZE).sum();
        Self {
            ranges,
            free_head: 0,
            free_frames: total_frames,
            total_frames,
            table,
            table_base,
            table_frames,
        }
    }

    /// Where `frame`'s count of extra users lives, if the table covers it.
    fn sharers_at(&self, frame: u64) -> Option<u64> {
        let index = frame.checked_sub(self.table_base)? / PAGE_SIZE;
        (self.table != 0 && index < self.table_frames).then(|| self.table + index * SHARERS_BYTES)
    }

    /// How many users `frame` has beyond the first.
    fn sharers(&self, frame: u64) -> u16 {
        self.sharers_at(frame).map_or(0, |at| {
            let mut raw = [0u8; SHARERS_BYTES as usize];
            phys::read(at, &mut raw);
            u16::from_le_bytes(raw)
        })
    }

    fn set_sharers(&mut self, frame: u64, sharers: u16) {
        let at = self
            .sharers_at(frame)
            .expect("sharing a frame the allocator does not count");
        phys::write(at, &sharers.to_le_bytes());
    }

    /// Adds a user to `frame`; false when the count is saturated or the
    /// frame is not one the allocator counts (nothing changes then).
    pub fn share(&mut self, frame: u64) -> bool {
        if self.sharers_at(frame).is_none() {
            return false;
        }
        match self.sharers(frame).checked_add(1) {
            Some(n) => {
                self.set_sharers(frame, n);
                true
            }
            None => false,
        }
    }

    /// Drops a user of `frame`; the last one frees it.
    pub fn release(&mut self, frame: u64) {
        match self.sharers(frame) {
            0 => self.free(frame),
            n => self.set_sharers(frame, n - 1),
        }
    }

    pub fn alloc(&mut self) -> Option<u64> {
        if self.free_head != 0 {
            let frame = self.free_head;
            self.free_head = phys::read_u64(frame);
            self.free_frames -= 1;
            return Some(frame);
        }
        let range = self.ranges.iter_mut().find(|(s, e)| s < e)?;
        let frame = range.0;
        range.0 += PAGE_SIZE;
        self.free_frames -= 1;
        Some(frame)
    }

    /// `pages` physically contiguous frames (for device DMA), taken from
    /// the untouched part of a range: the free list has no order.
    pub fn alloc_contiguous(&mut self, pages: u64) -> Option<u64> {
        let len = pages.checked_mul(PAGE_SIZE)?;
        let range = self.ranges.iter_mut().find(|(s, e)| e - s >= len)?;
        let start = range.0;
        range.0 += len;
        self.free_frames -= pages;
        Some(start)
    }

    /// Puts `frame` (which has one user, the caller) on the free list.
    pub fn free(&mut self, frame: u64) {
        debug_assert_eq!(self.sharers(frame), 0, "freeing a shared frame");
        phys::write_u64(frame, self.free_head);
        self.free_head = frame;
        self.free_frames += 1;
    }

    pub fn stats(&self) -> (u64, u64) {
        (self.free_frames, self.total_frames)
    }
}

/// Size of one entry of the sharing table (a `u16`).
const SHARERS_BYTES: u64 = 2;

static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);

pub fn init(allocator: FrameAllocator) {
    *FRAMES.lock() = Some(allocator);
}

/// A zeroed frame, or None when physical memory is exhausted.
pub fn alloc_zeroed() -> Option<u64> {
    let frame = FRAMES.lock().as_mut()?.alloc()?;
    phys::zero(frame, PAGE_SIZE as usize);
    Some(frame)
}

/// A frame holding `bytes` at `offset` and zeros around them, or None when
/// physical memory is exhausted. Each byte is written once: under shadow
/// paging a frame's first touch is the expensive part, and zeroing the
/// whole frame first would write the copied bytes twice.
pub fn alloc_filled(offset: usize, bytes: &[u8]) -> Option<u64> {
    let tail = offset + bytes.len();
    assert!(
        tail <= PAGE_SIZE as usize,
        "frame contents overflow the frame"
    );
    let frame = FRAMES.lock().as_mut()?.alloc()?;
    phys::zero(frame, offset);
    phys::write(frame + offset as u64, bytes);
    phys::zero(frame + tail as u64, PAGE_SIZE as usize - tail);
    Some(frame)
}

/// `pages` zeroed, physically contiguous frames, or None.
pub fn alloc_contiguous_zeroed(pages: u64) -> Option<u64> {
    let start = FRAMES.lock().as_mut()?.alloc_contiguous(pages)?;
    phys::zero(start, (pages * PAGE_SIZE) as usize);
    Some(start)
}

/// Returns frames from [`alloc_contiguous_zeroed`] (one by one: they join
/// the free list).
pub fn free_contiguous(start: u64, pages: u64) {
    for page in 0..pages {
        free(start + page * PAGE_SIZE);
    }
}

/// A fresh frame holding a copy of the frame at `src` (copy-on-write), or
/// None when physical memory is exhausted.
pub fn alloc_copy(src: u64) -> Option<u64> {
    let frame = FRAMES.lock().as_mut()?.alloc()?;
    phys::copy(frame, src, PAGE_SIZE as usize);
    Some(frame)
}

/// Returns a frame its one user (the caller) is done with: a tmpfs page,
/// a fresh frame that could not be mapped. Frames that address spaces map
/// may be shared and go through [`release`] instead.
pub fn free(frame: u64) {
    if let Some(frames) = FRAMES.lock().as_mut() {
        frames.free(frame);
    }
}

/// Adds a user to `frame` (another address space maps it). False, with
/// nothing changed, when it already has the most users a count holds
/// (65,536) — the caller fails with ENOMEM rather than overflow it.
#[must_use]
pub fn share(frame: u64) -> bool {
    FRAMES.lock().as_mut().is_some_and(|f| f.share(frame))
}

/// Drops one user of `frame`: the last one returns it to the free list.
pub fn release(frame: u64) {
    if let Some(frames) = FRAMES.lock().as_mut() {
        frames.release(frame);
    }
}

/// Whether more than one user holds `frame` (a write must copy it first).
pub fn is_shared(frame: u64) -> bool {
    FRAMES.lock().as_ref().is_some_and(|f| f.sharers(frame) > 0)
}

/// (free, total) frames.
pub fn stats() -> (u64, u64) {
    FRAMES.lock().as_ref().map_or((0, 0), FrameAllocator::stats)
}

/// The global allocator as a page-table frame source.
#[derive(Debug)]
pub struct Global;

impl FrameSource for Global {
    fn alloc_zeroed(&mut self) -> Option<u64> {
        alloc_zeroed()
    }

    fn free(&mut self, frame: u64) {
        free(frame);
    }
}
