//! Running user code: the safe face of the ring-3 entry and exit in
//! `trap.rs`. The kernel calls [`run`], which returns when the user makes a
//! system call or takes an exception, with the user's registers saved.

/// The user's registers while it is not running.
#[repr(C)]
#[derive(Debug, Clone, Default)]
pub struct UserContext {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rsp: u64,
    pub rflags: u64,
    /// Set by the exit path: [`SYSCALL_VECTOR`] or an exception vector.
    pub vector: u64,
    pub error_code: u64,
    pub cr2: u64,
}

/// `vector` value the `syscall` entry stores (not an IDT vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    Syscall,
    /// A `syscall` that reached the entry point without leaving ring 3 and
    /// faulted there (seen under the `kvm_pvm` hypervisor); the context
    /// has been rewound to look like an ordinary system call.
    StrandedSyscall,
    /// A device interrupt arrived while in user mode (masked lines only
    /// ever raise spurious ones); the user simply resumes.
    Interrupt,
    Exception {
        vector: u8,
        error_code: u64,
        cr2: u64,
    },
}

const RFLAGS_IF: u64 = 1 << 9;
const RFLAGS_RESERVED1: u64 = 1 << 1;
/// Flags ring 3 may hold: CF PF AF ZF SF TF DF OF AC ID (not IOPL, NT, VM).
const RFLAGS_USER_MASK: u64 = 0x0000_0000_0024_0dd5;
const VECTOR_GP: u8 = 13;
const VECTOR_PF: u8 = 14;

pub fn is_canonical(addr: u64) -> bool {
    let top = addr >> 47;
    top == 0 || top == 0x1_ffff
}

/// Runs user code until its next system call or exception.
///
/// Returns to ring 3 with `iretq` (`sysretq` triple-faults under our KVM,
/// and `iretq` cannot fault on a non-canonical return address in ring 0
/// because we refuse such an address here, as a #GP in user mode).
pub fn run(ctx: &mut UserContext) -> Trap {
    if !is_canonical(ctx.rip) {
        return Trap::Exception {
            vector: VECTOR_GP,
            error_code: 0,
            cr2: 0,
        };
    }
    ctx.rflags = (ctx.rflags & RFLAGS_USER_MASK) | RFLAGS_IF | RFLAGS_RESERVED1;
    super::trap::enter_user(ctx);
    if ctx.vector == SYSCALL_VECTOR {
        Trap::Syscall
    } else if ctx.vector >= super::trap::FIRST_IRQ_VECTOR {
        super::irq::eoi(ctx.vector as u8);
        Trap::Interrupt
    } else if ctx.vector == u64::from(VECTOR_PF) && ctx.rip == super::trap::syscall_entry_addr() {
        // `syscall` already put the return address in rcx and the flags in r11.
        ctx.rip = ctx.rcx;
        ctx.rflags = ctx.r11;
        Trap::StrandedSyscall
    } else {
        Trap::Exception {
            vector: ctx.vector as u8,
            error_code: ctx.error_code,
            cr2: ctx.cr2,
        }
    }
}

/// Sets the user's FS base (`arch_prctl(ARCH_SET_FS)`). FSGSBASE stays off,
/// so ring 3 cannot change it behind the kernel's back.
pub fn set_fs_base(value: u64) {
    x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new_truncate(value));
}

pub fn set_gs_base(value: u64) {
    x86_64::registers::model_specific::GsBase::write(x86_64::VirtAddr::new_truncate(value));
}
