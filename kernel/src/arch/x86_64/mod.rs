//! x86_64: port I/O, CPU setup, descriptor tables, paging, the user-mode
//! entry and exit, and access to physical memory through the direct map.

pub mod cpu;
pub mod gdt;
pub mod irq;
pub mod paging;
pub mod phys;
pub mod port;
pub mod trap;
pub mod user;
pub mod virtio;

/// Brings the CPU to the state the kernel runs in: control registers,
/// interrupt controllers, GDT and TSS, IDT, the `syscall` MSRs.
pub fn init() {
    cpu::init();
    irq::init();
    gdt::init();
    trap::init();
}

/// Hands the kernel heap its memory, once.
pub fn heap_init(heap: &linked_list_allocator::LockedHeap, start: *mut u8, len: usize) {
    static DONE: spin::Once<()> = spin::Once::new();
    DONE.call_once(|| {
        // SAFETY: called once (guarded by `DONE`) with the kernel's static
        // heap region, which nothing else references.
        unsafe { heap.lock().init(start, len) };
    });
}

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// Physical range of the kernel image, from the link script.
pub fn kernel_phys_range() -> (u64, u64) {
    let start = &raw const __kernel_phys_start;
    let end = &raw const __kernel_phys_end;
    (start as u64, end as u64)
}

/// Reads an address nothing maps, from ring 0: the `selftest=kernel-fault`
/// check that a kernel exception is reported (vector, RIP, CR2, error
/// code) rather than lost in a triple fault.
pub fn selftest_kernel_fault() -> u64 {
    const UNMAPPED: u64 = 0xffff_c000_dead_b000;
    // SAFETY: deliberately faults; the page-fault handler reports the
    // fault and stops the kernel, so the read never completes.
    unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) }
}

/// Writes to the kernel's own code: the `selftest=write-text` check that
/// the image is mapped W^X (the write must fault, error code "present,
/// write").
pub fn selftest_write_text() {
    let code = selftest_write_text as *const () as *mut u8;
    // SAFETY: deliberately faults on the read-only text page; the handler
    // reports it and stops the kernel, so nothing is ever modified.
    unsafe { code.write_volatile(0xcc) };
}
