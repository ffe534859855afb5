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
    /// A device interrupt (or the timer) arrived while in user mode; it
    /// has been acknowledged and noted (`irq::take_pending`).
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
        super::irq::note(ctx.vector as u8);
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

/// The user's x87/SSE state in FXSAVE format (512 bytes). The kernel is
/// soft-float, so the registers hold the running task's state from one
/// switch to the next; `xsave` hangs under our KVM and CR4.OSXSAVE stays
/// off, so FXSAVE covers everything user code can use.
#[repr(C, align(16))]
#[derive(Clone)]
pub struct FpuState(pub [u8; 512]);

impl core::fmt::Debug for FpuState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FpuState")
    }
}

/// FXSAVE layout: the x87 control word at 0, MXCSR at 24.
const FXSAVE_FCW: usize = 0;
const FXSAVE_MXCSR: usize = 24;
/// What `fninit` and a reset MXCSR give: every exception masked, round to
/// nearest (the state Linux gives a new program).
const FCW_DEFAULT: u16 = 0x037f;
const MXCSR_DEFAULT: u32 = 0x1f80;

impl FpuState {
    pub fn initial() -> Self {
        let mut area = [0u8; 512];
        area[FXSAVE_FCW..FXSAVE_FCW + 2].copy_from_slice(&FCW_DEFAULT.to_le_bytes());
        area[FXSAVE_MXCSR..FXSAVE_MXCSR + 4].copy_from_slice(&MXCSR_DEFAULT.to_le_bytes());
        Self(area)
    }

    /// Saves the CPU's x87/SSE registers here.
    pub fn save(&mut self) {
        // SAFETY: `fxsave64` writes exactly 512 bytes to a 16-byte aligned
        // area, which `self` is (repr align 16, 512 bytes).
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) self.0.as_mut_ptr(), options(nostack)) };
    }

    /// Loads the CPU's x87/SSE registers from here. MXCSR's reserved bits
    /// are cleared first: a handler's sigreturn may hand any bytes, and a
    /// reserved bit set would fault in the kernel.
    pub fn restore(&mut self) {
        let mut mxcsr = [0u8; 4];
        mxcsr.copy_from_slice(&self.0[FXSAVE_MXCSR..FXSAVE_MXCSR + 4]);
        let sane = u32::from_le_bytes(mxcsr) & 0xffff;
        self.0[FXSAVE_MXCSR..FXSAVE_MXCSR + 4].copy_from_slice(&sane.to_le_bytes());
        // SAFETY: `fxrstor64` reads 512 bytes from a 16-byte aligned area;
        // the only field that can fault (MXCSR's reserved bits) is cleared
        // above, and the kernel itself never uses these registers.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) self.0.as_ptr(), options(nostack)) };
    }
}
