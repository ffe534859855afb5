//! The physical frame allocator.
//!
//! Usable RAM (from the PVH memory map, minus the kernel image, the boot
//! modules and everything below 1 MiB) is handed out by a bump pointer per
//! range; freed frames go on an intrusive free list threaded through the
//! frames themselves (via the direct map).

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
        let ranges: Vec<(u64, u64)> = ranges
            .into_iter()
            .map(|(s, e)| (page_round_up(s).unwrap_or(u64::MAX), page_round_down(e)))
            .filter(|(s, e)| s < e)
            .collect();
        let total_frames = ranges.iter().map(|(s, e)| (e - s) / PAGE_SIZE).sum();
        Self {
            ranges,
            free_head: 0,
            free_frames: total_frames,
            total_frames,
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

    pub fn free(&mut self, frame: u64) {
        phys::write_u64(frame, self.free_head);
        self.free_head = frame;
        self.free_frames += 1;
    }

    pub fn stats(&self) -> (u64, u64) {
        (self.free_frames, self.total_frames)
    }
}

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

pub fn free(frame: u64) {
    if let Some(frames) = FRAMES.lock().as_mut() {
        frames.free(frame);
    }
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
}
