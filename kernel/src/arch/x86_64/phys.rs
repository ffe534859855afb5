//! Physical memory through the direct map the boot trampoline built.
//!
//! The boot page tables map physical 0..4 GiB at [`DIRECT_MAP_BASE`]
//! (no-execute). Frames handed out by the frame allocator, page tables and
//! the boot modules are all reached this way; nothing else in the kernel
//! forms pointers to physical memory.

/// Virtual address of physical address 0 (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// End of the direct map: physical memory above it is not used.
pub const DIRECT_MAP_LIMIT: u64 = 4 << 30;
/// Size of a base page and of a frame.
pub const PAGE_SIZE: u64 = 4096;

fn check(paddr: u64, len: usize) -> u64 {
    let end = paddr
        .checked_add(len as u64)
        .expect("physical range overflows");
    assert!(
        end <= DIRECT_MAP_LIMIT,
        "physical range {paddr:#x}+{len:#x} outside the direct map"
    );
    DIRECT_MAP_BASE + paddr
}

/// Copies `buf.len()` bytes from physical memory at `paddr`.
pub fn read(paddr: u64, buf: &mut [u8]) {
    let src = check(paddr, buf.len()) as *const u8;
    // SAFETY: `check` proved the range lies inside the direct map, which is
    // always mapped; `buf` is a distinct Rust allocation, so they cannot overlap.
    unsafe { core::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
}

/// Copies `data` to physical memory at `paddr`.
pub fn write(paddr: u64, data: &[u8]) {
    let dst = check(paddr, data.len()) as *mut u8;
    // SAFETY: as in `read`; the kernel never holds Rust references into
    // frames it writes here (frames are only touched through this module).
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
}

/// Fills `len` bytes at `paddr` with zeros.
pub fn zero(paddr: u64, len: usize) {
    let dst = check(paddr, len) as *mut u8;
    // SAFETY: as in `write`.
    unsafe { core::ptr::write_bytes(dst, 0, len) };
}

/// Copies `len` bytes from physical `src` to physical `dst` (a page, for
/// copy-on-write).
pub fn copy(dst: u64, src: u64, len: usize) {
    let to = check(dst, len) as *mut u8;
    let from = check(src, len) as *const u8;
    // SAFETY: `check` proved both ranges lie inside the always-mapped
    // direct map; `copy` (memmove) allows them to overlap, and the kernel
    // holds no Rust references into frames (they are only touched through
    // this module).
    unsafe { core::ptr::copy(from, to, len) };
}

pub fn read_u64(paddr: u64) -> u64 {
    let mut raw = [0u8; 8];
    read(paddr, &mut raw);
    u64::from_le_bytes(raw)
}

pub fn write_u64(paddr: u64, value: u64) {
    write(paddr, &value.to_le_bytes());
}

/// A read-only view of boot-provided memory (the PVH modules).
///
/// Only for ranges the frame allocator never hands out, so nothing writes
/// them for the life of the kernel.
pub fn boot_slice(paddr: u64, len: usize) -> &'static [u8] {
    let start = check(paddr, len) as *const u8;
    // SAFETY: the range is mapped (checked), and the boot code reserves it
    // from the frame allocator, so it is never written while the slice lives.
    unsafe { core::slice::from_raw_parts(start, len) }
}

/// Writes a 32-bit device register at physical address `paddr`.
pub fn mmio_write_u32(paddr: u64, value: u32) {
    let reg = check(paddr, 4) as *mut u32;
    assert!(reg.is_aligned(), "unaligned MMIO register {paddr:#x}");
    // SAFETY: the register lies in the direct map (checked) and is aligned;
    // a volatile write is exactly one device access.
    unsafe { reg.write_volatile(value) };
}

/// Reads a 32-bit device register at physical address `paddr`.
pub fn mmio_read_u32(paddr: u64) -> u32 {
    let reg = check(paddr, 4) as *const u32;
    assert!(reg.is_aligned(), "unaligned MMIO register {paddr:#x}");
    // SAFETY: as in `mmio_write_u32`; a volatile read is exactly one
    // device access.
    unsafe { reg.read_volatile() }
}

/// Physically contiguous frames for the rest of the kernel's life, as a
/// slice: program images read from the root file system, which their
/// address space's regions then borrow like the boot bundle.
pub fn leak_frames(len: usize) -> Option<&'static mut [u8]> {
    let pages = (len as u64).div_ceil(PAGE_SIZE).max(1);
    let paddr = crate::mm::frame::alloc_contiguous_zeroed(pages)?;
    let start = check(paddr, (pages * PAGE_SIZE) as usize) as *mut u8;
    // SAFETY: the frames were just taken from the allocator and are never
    // given back, so nothing else ever maps or writes them; they lie in the
    // direct map (checked), and `len` bytes fit in the pages.
    Some(unsafe { core::slice::from_raw_parts_mut(start, len) })
}
