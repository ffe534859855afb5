//! GDT and TSS.
//!
//! Selector layout is the one `syscall`/`sysret` require (STAR): kernel
//! code, kernel data, user data, user code, then the TSS.

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

pub const KERNEL_CS: u16 = 0x08;
pub const KERNEL_DS: u16 = 0x10;
pub const USER_DS: u16 = 0x18 | 3;
pub const USER_CS: u16 = 0x20 | 3;

/// IST slot for NMI, double fault and machine check (a known-good stack).
pub const IST_CRITICAL: u16 = 0;

const STACK_LEN: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_LEN]);

/// Where the CPU lands on a trap from ring 3 (TSS.RSP0). The trap path
/// copies the frame into the user context and leaves this stack at once.
static mut TRAP_STACK: Stack = Stack([0; STACK_LEN]);
static mut CRITICAL_STACK: Stack = Stack([0; STACK_LEN]);

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<GlobalDescriptorTable> = Once::new();

fn stack_top(stack: *mut Stack) -> VirtAddr {
    VirtAddr::from_ptr(stack) + STACK_LEN as u64
}

pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        tss.privilege_stack_table[0] = stack_top(&raw mut TRAP_STACK);
        tss.interrupt_stack_table[IST_CRITICAL as usize] = stack_top(&raw mut CRITICAL_STACK);
        tss
    });
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kcode = gdt.append(Descriptor::kernel_code_segment());
        let kdata = gdt.append(Descriptor::kernel_data_segment());
        let udata = gdt.append(Descriptor::user_data_segment());
        let ucode = gdt.append(Descriptor::user_code_segment());
        debug_assert_eq!(
            [kcode.0, kdata.0, udata.0, ucode.0],
            [KERNEL_CS, KERNEL_DS, USER_DS, USER_CS]
        );
        gdt.append(Descriptor::tss_segment(tss));
        gdt
    });
    gdt.load();
    // SAFETY: the selectors index the descriptors appended above, in the
    // GDT just loaded; the TSS descriptor follows the four segments.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        SS::set_reg(SegmentSelector(KERNEL_DS));
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(SegmentSelector(0x28));
    }
}
