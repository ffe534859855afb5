//! The IDT, the `syscall` entry, and the ring-3 entry/exit.
//!
//! One CPU, one kernel thread: the exit paths find the interrupted user
//! context and the kernel stack to return to in two statics
//! ([`CURRENT_CTX`], [`KERNEL_RSP`]) instead of per-CPU data behind
//! `swapgs`, which leaves the user's GS base untouched.

use super::gdt::{IST_CRITICAL, KERNEL_CS, KERNEL_DS, USER_CS, USER_DS};
use super::user::{UserContext, SYSCALL_VECTOR};
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::instructions::tables::lidt;
use x86_64::registers::model_specific::{LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

/// Kernel stack pointer saved by `lamina_enter_user`.
static mut KERNEL_RSP: u64 = 0;
/// The `UserContext` being run.
static mut CURRENT_CTX: u64 = 0;
/// The user's stack pointer between `syscall` and the save.
static mut USER_RSP_SCRATCH: u64 = 0;

unsafe extern "C" {
    fn lamina_enter_user(ctx: *mut UserContext);
    fn lamina_enter_user_sysret(ctx: *mut UserContext);
    fn lamina_syscall_entry();
    static lamina_trap_stubs: [u64; EXCEPTION_VECTORS + LEGACY_IRQ_VECTORS];
}

const EXCEPTION_VECTORS: usize = 32;
pub const FIRST_IRQ_VECTOR: u64 = EXCEPTION_VECTORS as u64;
/// Device interrupts: vectors 32..48 (see `irq`).
const LEGACY_IRQ_VECTORS: usize = 16;
const VECTOR_NMI: usize = 2;
const VECTOR_BREAKPOINT: usize = 3;
const VECTOR_OVERFLOW: usize = 4;
const VECTOR_DOUBLE_FAULT: usize = 8;
const VECTOR_MACHINE_CHECK: usize = 18;

core::arch::global_asm!(
    r#"
.section .text.lamina_trap, "ax", @progbits

.macro trap_stub vector, has_error
lamina_trap_stub_\vector:
    .if \has_error == 0
    push 0
    .endif
    push \vector
    jmp lamina_trap_common
.endm

trap_stub 0, 0
trap_stub 1, 0
trap_stub 2, 0
trap_stub 3, 0
trap_stub 4, 0
trap_stub 5, 0
trap_stub 6, 0
trap_stub 7, 0
trap_stub 8, 1
trap_stub 9, 0
trap_stub 10, 1
trap_stub 11, 1
trap_stub 12, 1
trap_stub 13, 1
trap_stub 14, 1
trap_stub 15, 0
trap_stub 16, 0
trap_stub 17, 1
trap_stub 18, 0
trap_stub 19, 0
trap_stub 20, 0
trap_stub 21, 1
trap_stub 22, 0
trap_stub 23, 0
trap_stub 24, 0
trap_stub 25, 0
trap_stub 26, 0
trap_stub 27, 0
trap_stub 28, 0
trap_stub 29, 1
trap_stub 30, 1
trap_stub 31, 0
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
trap_stub \v, 0
.endr

/* Stack here: vector, error code, then the CPU's frame: rip cs rflags rsp ss. */
lamina_trap_common:
    test qword ptr [rsp + 24], 3
    jz 2f
    /* From ring 3: save everything into the current UserContext, then
       return from lamina_enter_user on the kernel stack. */
    push rax
    mov rax, [rip + {current_ctx}]
    mov [rax + {rbx}], rbx
    mov [rax + {rcx}], rcx
    mov [rax + {rdx}], rdx
    mov [rax + {rsi}], rsi
    mov [rax + {rdi}], rdi
    mov [rax + {rbp}], rbp
    mov [rax + {r8}], r8
    mov [rax + {r9}], r9
    mov [rax + {r10}], r10
    mov [rax + {r11}], r11
    mov [rax + {r12}], r12
    mov [rax + {r13}], r13
    mov [rax + {r14}], r14
    mov [rax + {r15}], r15
    pop qword ptr [rax + {rax}]
    pop qword ptr [rax + {vector}]
    pop qword ptr [rax + {error_code}]
    pop qword ptr [rax + {rip}]
    add rsp, 8
    pop qword ptr [rax + {rflags}]
    pop qword ptr [rax + {rsp}]
    mov rbx, cr2
    mov [rax + {cr2}], rbx
    jmp lamina_return_to_kernel
2:
    /* From ring 0: a device interrupt while the kernel waits (returns), or
       an exception, a kernel bug (Rust reports it and never returns). */
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    mov rbp, rsp
    and rsp, -16
    call {kernel_trap}
    mov rsp, rbp
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

.global lamina_syscall_entry
lamina_syscall_entry:
    /* rcx = user rip, r11 = user rflags, interrupts masked by SFMASK. */
    mov [rip + {user_rsp_scratch}], rsp
    mov rsp, [rip + {current_ctx}]
    mov [rsp + {rax}], rax
    mov [rsp + {rbx}], rbx
    mov [rsp + {rcx}], rcx
    mov [rsp + {rdx}], rdx
    mov [rsp + {rsi}], rsi
    mov [rsp + {rdi}], rdi
    mov [rsp + {rbp}], rbp
    mov [rsp + {r8}], r8
    mov [rsp + {r9}], r9
    mov [rsp + {r10}], r10
    mov [rsp + {r11}], r11
    mov [rsp + {r12}], r12
    mov [rsp + {r13}], r13
    mov [rsp + {r14}], r14
    mov [rsp + {r15}], r15
    mov [rsp + {rip}], rcx
    mov [rsp + {rflags}], r11
    mov rax, [rip + {user_rsp_scratch}]
    mov [rsp + {rsp}], rax
    mov qword ptr [rsp + {vector}], {syscall_vector}
    /* SFMASK cleared DF and AC already: no popfq (under TCG a helper
       call on every system call). */
    mov rsp, [rip + {kernel_rsp}]
    jmp lamina_return_to_kernel_flags_clean

lamina_return_to_kernel:
    mov rsp, [rip + {kernel_rsp}]
    /* Ring 3 may have left DF or AC set: start from a clean RFLAGS
       (popfq, not clac: clac hangs under our KVM). */
    push 2
    popfq
lamina_return_to_kernel_flags_clean:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

.global lamina_enter_user
lamina_enter_user:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rip + {kernel_rsp}], rsp
    mov [rip + {current_ctx}], rdi
    push {user_ds}
    push qword ptr [rdi + {rsp}]
    push qword ptr [rdi + {rflags}]
    push {user_cs}
    push qword ptr [rdi + {rip}]
    mov rax, [rdi + {rax}]
    mov rbx, [rdi + {rbx}]
    mov rcx, [rdi + {rcx}]
    mov rdx, [rdi + {rdx}]
    mov rsi, [rdi + {rsi}]
    mov rbp, [rdi + {rbp}]
    mov r8, [rdi + {r8}]
    mov r9, [rdi + {r9}]
    mov r10, [rdi + {r10}]
    mov r11, [rdi + {r11}]
    mov r12, [rdi + {r12}]
    mov r13, [rdi + {r13}]
    mov r14, [rdi + {r14}]
    mov r15, [rdi + {r15}]
    mov rdi, [rdi + {rdi}]
    iretq

/* As lamina_enter_user, through `sysretq`: rip from rcx and rflags from
   r11, which the caller made equal to the context's (a return from a
   system call). Interrupts stay off until sysretq loads r11's IF; no NMI
   is routed, so nothing runs on the user's stack in ring 0. */
.global lamina_enter_user_sysret
lamina_enter_user_sysret:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rip + {kernel_rsp}], rsp
    mov [rip + {current_ctx}], rdi
    mov rcx, [rdi + {rip}]
    mov r11, [rdi + {rflags}]
    mov rax, [rdi + {rax}]
    mov rbx, [rdi + {rbx}]
    mov rdx, [rdi + {rdx}]
    mov rsi, [rdi + {rsi}]
    mov rbp, [rdi + {rbp}]
    mov r8, [rdi + {r8}]
    mov r9, [rdi + {r9}]
    mov r10, [rdi + {r10}]
    mov r12, [rdi + {r12}]
    mov r13, [rdi + {r13}]
    mov r14, [rdi + {r14}]
    mov r15, [rdi + {r15}]
    mov rsp, [rdi + {rsp}]
    mov rdi, [rdi + {rdi}]
    sysretq

.section .rodata.lamina_trap, "a", @progbits
.balign 8
.global lamina_trap_stubs
lamina_trap_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .quad lamina_trap_stub_\v
    .endr
"#,
    current_ctx = sym CURRENT_CTX,
    kernel_rsp = sym KERNEL_RSP,
    user_rsp_scratch = sym USER_RSP_SCRATCH,
    kernel_trap = sym kernel_trap,
    syscall_vector = const SYSCALL_VECTOR,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
    rax = const offset_of!(UserContext, rax),
    rbx = const offset_of!(UserContext, rbx),
    rcx = const offset_of!(UserContext, rcx),
    rdx = const offset_of!(UserContext, rdx),
    rsi = const offset_of!(UserContext, rsi),
    rdi = const offset_of!(UserContext, rdi),
    rbp = const offset_of!(UserContext, rbp),
    r8 = const offset_of!(UserContext, r8),
    r9 = const offset_of!(UserContext, r9),
    r10 = const offset_of!(UserContext, r10),
    r11 = const offset_of!(UserContext, r11),
    r12 = const offset_of!(UserContext, r12),
    r13 = const offset_of!(UserContext, r13),
    r14 = const offset_of!(UserContext, r14),
    r15 = const offset_of!(UserContext, r15),
    rip = const offset_of!(UserContext, rip),
    rsp = const offset_of!(UserContext, rsp),
    rflags = const offset_of!(UserContext, rflags),
    vector = const offset_of!(UserContext, vector),
    error_code = const offset_of!(UserContext, error_code),
    cr2 = const offset_of!(UserContext, cr2),
);

/// What the CPU and `lamina_trap_common` pushed for a ring-0 exception.
#[repr(C)]
#[derive(Debug)]
pub struct KernelTrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

pub fn exception_name(vector: u64) -> &'static str {
    const NAMES: [&str; 22] = [
        "divide error",
        "debug",
        "NMI",
        "breakpoint",
        "overflow",
        "bound range",
        "invalid opcode",
        "device not available",
        "double fault",
        "coprocessor overrun",
        "invalid TSS",
        "segment not present",
        "stack fault",
        "general protection",
        "page fault",
        "reserved",
        "x87 FP error",
        "alignment check",
        "machine check",
        "SIMD FP error",
        "virtualization",
        "control protection",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("reserved")
}

extern "C" fn kernel_trap(frame: &KernelTrapFrame) {
    if frame.vector >= FIRST_IRQ_VECTOR {
        // A device woke the kernel from `wait_for_interrupt`; whoever waits
        // polls the device itself.
        super::irq::eoi(frame.vector as u8);
        super::irq::note(frame.vector as u8);
        return;
    }
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    panic!(
        "kernel exception {} ({}) at rip {:#x}, cr2 {:#x}, error code {:#x}, rsp {:#x}",
        frame.vector,
        exception_name(frame.vector),
        frame.rip,
        cr2,
        frame.error_code,
        frame.rsp
    );
}

/// The IDT: one interrupt gate per stub (exceptions and device lines).
#[repr(C, align(16))]
struct Idt([u64; 2 * IDT_VECTORS]);

const IDT_VECTORS: usize = EXCEPTION_VECTORS + LEGACY_IRQ_VECTORS;
static mut IDT: Idt = Idt([0; 2 * IDT_VECTORS]);

/// Present, 64-bit interrupt gate (interrupts stay off in the handler).
const GATE_INTERRUPT: u64 = 0x8e;
const GATE_DPL_USER: u64 = 3 << 5;

/// An interrupt gate to `handler` (Intel SDM vol. 3, 6.14.1).
fn gate(handler: u64, dpl: u64, ist: u64) -> [u64; 2] {
    let low = (handler & 0xffff)
        | (u64::from(KERNEL_CS) << 16)
        | (ist << 32)
        | ((GATE_INTERRUPT | dpl) << 40)
        | (((handler >> 16) & 0xffff) << 48);
    [low, handler >> 32]
}

/// Address of the `syscall` entry (LSTAR).
pub fn syscall_entry_addr() -> u64 {
    lamina_syscall_entry as *const () as u64
}

/// SYSCALL clears these RFLAGS bits on entry: TF DF IF IOPL NT AC.
const SYSCALL_RFLAGS_MASK: u64 = 0x4_7700;

pub fn init() {
    // SAFETY: reading the stub table the assembly above defines.
    let stubs = unsafe { &lamina_trap_stubs };
    let mut idt = [0u64; 2 * IDT_VECTORS];
    for (vector, &stub) in stubs.iter().enumerate() {
        // `int3` and `into` from ring 3 must arrive as themselves, not as #GP.
        let dpl = if matches!(vector, VECTOR_BREAKPOINT | VECTOR_OVERFLOW) {
            GATE_DPL_USER
        } else {
            0
        };
        // NMI, double fault and machine check run on a known-good stack.
        let ist = if matches!(
            vector,
            VECTOR_NMI | VECTOR_DOUBLE_FAULT | VECTOR_MACHINE_CHECK
        ) {
            u64::from(IST_CRITICAL) + 1
        } else {
            0
        };
        idt[2 * vector..2 * vector + 2].copy_from_slice(&gate(stub, dpl, ist));
    }
    let table = &raw mut IDT;
    // SAFETY: runs once, on the only CPU, before interrupts are enabled; the
    // table is static, so it outlives its use by the CPU.
    unsafe {
        (*table).0 = idt;
        lidt(&DescriptorTablePointer {
            limit: (core::mem::size_of::<Idt>() - 1) as u16,
            base: VirtAddr::from_ptr(table),
        });
    }

    // LSTAR points at the entry above; SFMASK keeps interrupts off until
    // the entry has switched stacks.
    LStar::write(VirtAddr::new(syscall_entry_addr()));
    SFMask::write(RFlags::from_bits_truncate(SYSCALL_RFLAGS_MASK));
    Star::write(
        SegmentSelector(USER_CS),
        SegmentSelector(USER_DS),
        SegmentSelector(KERNEL_CS),
        SegmentSelector(KERNEL_DS),
    )
    .expect("GDT layout matches the STAR rules");
}

/// Whether a return to ring 3 may use `sysretq` (set from the command
/// line: it triple-faults under the Intel machines' `kvm_pvm`, and under
/// TCG it costs a fraction of `iretq`, which loads five words of frame
/// and two descriptors).
static SYSRET: AtomicBool = AtomicBool::new(false);

pub fn allow_sysret(on: bool) {
    SYSRET.store(on, Ordering::Relaxed);
}

/// Enters ring 3 with `ctx` and returns when the user traps back. `ctx.rip`
/// must be canonical (`sysretq` with a non-canonical rip faults in ring 0
/// on Intel CPUs).
pub(super) fn enter_user(ctx: &mut UserContext) {
    // `sysretq` restores rip from rcx and rflags from r11: exact when the
    // context holds them there already, as after a system call.
    if SYSRET.load(Ordering::Relaxed) && ctx.rcx == ctx.rip && ctx.r11 == ctx.rflags {
        // SAFETY: as for `lamina_enter_user` below; in addition STAR holds
        // the user selectors (`init`), rip is canonical (the caller
        // checks), and rcx/r11 already equal the rip and rflags that
        // `sysretq` takes from them, so the user state is entered exactly.
        unsafe { lamina_enter_user_sysret(ctx) };
        return;
    }
    // SAFETY: `ctx` is a valid, exclusively borrowed context for the whole
    // call; the assembly saves the callee-saved registers and returns here
    // on the kernel stack it recorded, with interrupts off (IF is restored
    // only in ring 3, and every exit path runs with it cleared).
    unsafe { lamina_enter_user(ctx) };
}
