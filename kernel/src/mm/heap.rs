//! The kernel heap: a fixed region in .bss managed by `linked_list_allocator`.

use linked_list_allocator::LockedHeap;

const HEAP_LEN: usize = 4 << 20;

#[repr(C, align(4096))]
struct HeapSpace([u8; HEAP_LEN]);

static mut HEAP_SPACE: HeapSpace = HeapSpace([0; HEAP_LEN]);

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

pub fn init() {
    let start = (&raw mut HEAP_SPACE).cast::<u8>();
    crate::arch::heap_init(&ALLOCATOR, start, HEAP_LEN);
}

/// Bytes of kernel heap not in use (what is left for new tasks, pipes,
/// regions).
pub fn free_bytes() -> usize {
    ALLOCATOR.lock().free()
}

/// Bytes of kernel heap in use (/proc/meminfo's `Slab`).
pub fn used_bytes() -> usize {
    ALLOCATOR.lock().used()
}
