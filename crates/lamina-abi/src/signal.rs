//! Delivering a signal to a user handler and returning from it, the Linux
//! x86_64 way (`arch/x86/kernel/signal.c`, `signal_64.c`,
//! `arch/x86/include/asm/sigframe.h`).
//!
//! [`build_rt_sigframe`] lays out the frame the handler runs on, and
//! [`parse_rt_sigreturn`] reads back the `ucontext` the handler may have
//! edited. Both work on bytes: the kernel chooses the stack, copies the frame
//! to user memory and back, and sets or checks the registers itself (see
//! [`Frame`] and [`Restored`] for its part).
//!
//! The frame, from `Frame::sp` upwards (FXSAVE state only, so no xsave
//! extension area and no `FP_XSTATE_MAGIC2`):
//!
//! ```text
//! Frame::sp           pretcode = sa_restorer        ((sp + 8) % 16 == 0)
//! sp + 8              struct ucontext    304 bytes  (Frame::ucontext_addr)
//! sp + 312            struct siginfo     128 bytes  (Frame::siginfo_addr)
//!                     padding to 64 bytes
//! Frame::fpstate_addr struct _fpstate    512 bytes  (FXSAVE image, 64-aligned)
//!                     (untouched up to FrameArgs::sp)
//! ```

use alloc::vec::Vec;
use core::mem::size_of;

use crate::errno::Errno;
use crate::flags::{SIGKILL, SIGSTOP};
use crate::types::{Reader, StackT, Writer};

// si_code values (include/uapi/asm-generic/siginfo.h). Zero or negative:
// sent by a process; positive: raised by the kernel.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_MESGQ: i32 = -3;
pub const SI_ASYNCIO: i32 = -4;
pub const SI_SIGIO: i32 = -5;
pub const SI_TKILL: i32 = -6;
// SIGILL.
pub const ILL_ILLOPC: i32 = 1;
pub const ILL_ILLOPN: i32 = 2;
pub const ILL_PRVOPC: i32 = 5;
// SIGFPE.
pub const FPE_INTDIV: i32 = 1;
pub const FPE_INTOVF: i32 = 2;
pub const FPE_FLTDIV: i32 = 3;
pub const FPE_FLTOVF: i32 = 4;
pub const FPE_FLTUND: i32 = 5;
pub const FPE_FLTRES: i32 = 6;
pub const FPE_FLTINV: i32 = 7;
// SIGSEGV.
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
// SIGBUS.
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
// SIGTRAP.
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
// SIGCHLD.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

// uc_flags (arch/x86/include/uapi/asm/ucontext.h).
pub const UC_FP_XSTATE: u64 = 0x1;
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// What lamina writes to `uc_flags`: what Linux writes for 64-bit code on a
/// CPU without XSAVE. The `ss` slot of the sigcontext holds the real SS, so
/// `UC_SIGCONTEXT_SS` is true, and all lamina user code is 64-bit, where
/// Linux always adds `UC_STRICT_RESTORE_SS`. `UC_FP_XSTATE` stays clear:
/// `fpstate` is a plain 512-byte FXSAVE image.
pub const FRAME_UC_FLAGS: u64 = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;

/// Bytes below `rsp` that leaf functions use without moving `rsp` (System V
/// x86-64 psABI §3.2.2). A frame built on the interrupted stack must start
/// below them: the kernel passes `rsp - RED_ZONE` as [`FrameArgs::sp`].
pub const RED_ZONE: u64 = 128;

pub const SIGINFO_SIZE: usize = 128;
pub const SIGCONTEXT_SIZE: usize = 256;
pub const UCONTEXT_SIZE: usize = 304;
/// `struct rt_sigframe` without the fpstate that follows it.
pub const RT_SIGFRAME_SIZE: usize = 440;
/// `struct _fpstate`: the FXSAVE image.
pub const FPSTATE_SIZE: usize = 512;

/// Linux `FIX_EFLAGS`: the rflags bits a handler may change through
/// `uc_mcontext.eflags` (AC, RF, OF, DF, TF, SF, ZF, AF, PF, CF).
pub const SIGRETURN_RFLAGS_MASK: u64 = 0x5_0dd5;

const FPSTATE_ALIGN: u64 = 64;
/// `(sp + 8) % 16 == 0` on entry, as after a `call` (psABI §3.2.2).
const STACK_ALIGN: u64 = 16;
const RT_SIGFRAME_UC: usize = 8;
const RT_SIGFRAME_INFO: usize = RT_SIGFRAME_UC + UCONTEXT_SIZE;
const SIGINFO_HEADER: usize = 16;
const SIGINFO_UNION: usize = SIGINFO_SIZE - SIGINFO_HEADER;
const SIGCONTEXT_RESERVED: usize = 64;
/// `_fpstate.mxcsr`.
const FXSAVE_MXCSR: usize = 24;
/// `_fpstate.sw_reserved`: bytes FXSAVE leaves alone; zero means "no xsave
/// extension follows".
const FXSAVE_SW_RESERVED: usize = 464;
/// MXCSR_MASK to assume when FXSAVE stores zero there (Intel SDM vol. 1
/// §11.6.6).
const DEFAULT_MXCSR_MASK: u32 = 0xffbf;
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/// `siginfo_t`: the header and the union member `code` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u32,
    pub errno: i32,
    pub code: i32,
    pub fields: SigFields,
}

/// The `_sifields` union of `siginfo_t`, by kind of sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigFields {
    /// Nothing after the header.
    None,
    /// `_kill`: kill, tkill, tgkill (`SI_USER`, `SI_TKILL`).
    Kill { pid: i32, uid: u32 },
    /// `_rt`: sigqueue, mq_notify (`SI_QUEUE`, `SI_MESGQ`); `value` is the
    /// `sigval`.
    Queue { pid: i32, uid: u32, value: u64 },
    /// `_timer`: POSIX timers (`SI_TIMER`).
    Timer { tid: i32, overrun: i32, value: u64 },
    /// `_sigchld` (`CLD_*`): `status` is the exit code for `CLD_EXITED`,
    /// the signal number otherwise; times in clock ticks (`USER_HZ`, 100).
    Child {
        pid: i32,
        uid: u32,
        status: i32,
        utime_ticks: i64,
        stime_ticks: i64,
    },
    /// `_sigfault` (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP): the faulting
    /// address, or the instruction's for SIGILL and SIGFPE.
    Fault { addr: u64 },
    /// The union exactly as user space passed it (`rt_sigqueueinfo`).
    Raw([u8; SIGINFO_UNION]),
}

impl SigInfo {
    pub const SIZE: usize = SIGINFO_SIZE;

    /// Sent by kill (`SI_USER`) or tkill/tgkill (`SI_TKILL`).
    pub fn kill(signo: u32, code: i32, pid: i32, uid: u32) -> Self {
        Self::with(signo, code, SigFields::Kill { pid, uid })
    }

    /// Raised by the kernel with no sender (`SI_KERNEL`).
    pub fn kernel(signo: u32) -> Self {
        Self::with(signo, SI_KERNEL, SigFields::None)
    }

    /// A fault: `code` is `SEGV_MAPERR`, `BUS_ADRERR`, ...
    pub fn fault(signo: u32, code: i32, addr: u64) -> Self {
        Self::with(signo, code, SigFields::Fault { addr })
    }

    /// SIGCHLD for a child that exited, was killed, stopped or continued.
    pub fn child(
        code: i32,
        pid: i32,
        uid: u32,
        status: i32,
        utime_ticks: i64,
        stime_ticks: i64,
    ) -> Self {
        let fields = SigFields::Child {
            pid,
            uid,
            status,
            utime_ticks,
            stime_ticks,
        };
        Self::with(crate::flags::SIGCHLD, code, fields)
    }

    fn with(signo: u32, code: i32, fields: SigFields) -> Self {
        SigInfo {
            signo,
            errno: 0,
            code,
            fields,
        }
    }

    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let w = Writer::<SIGINFO_SIZE>::new()
            .u32(self.signo)
            .i32(self.errno)
            .i32(self.code)
            .zeros(4);
        let w = match self.fields {
            SigFields::None => w.zeros(SIGINFO_UNION),
            SigFields::Kill { pid, uid } => w.i32(pid).u32(uid).zeros(SIGINFO_UNION - 8),
            SigFields::Queue { pid, uid, value } => {
                w.i32(pid).u32(uid).u64(value).zeros(SIGINFO_UNION - 16)
            }
            SigFields::Timer {
                tid,
                overrun,
                value,
            } => w.i32(tid).i32(overrun).u64(value).zeros(SIGINFO_UNION - 16),
            SigFields::Child {
                pid,
                uid,
                status,
                utime_ticks,
                stime_ticks,
            } => w
                .i32(pid)
                .u32(uid)
                .i32(status)
                .zeros(4)
                .i64(utime_ticks)
                .i64(stime_ticks)
                .zeros(SIGINFO_UNION - 32),
            SigFields::Fault { addr } => w.u64(addr).zeros(SIGINFO_UNION - 8),
            SigFields::Raw(union) => w.bytes(&union),
        };
        w.finish()
    }

    /// A `siginfo_t` from user memory (`rt_sigqueueinfo`): the union is kept
    /// as [`SigFields::Raw`].
    pub fn from_bytes(b: &[u8; SIGINFO_SIZE]) -> Self {
        let mut r = Reader::new(b);
        let (signo, errno, code) = (r.u32(), r.i32(), r.i32());
        r.skip(4);
        SigInfo {
            signo,
            errno,
            code,
            fields: SigFields::Raw(r.array()),
        }
    }
}

/// The general registers, in `struct sigcontext` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Regs {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
}
const _: () = assert!(size_of::<Regs>() == 144);

fn put_regs<const N: usize>(w: Writer<N>, r: &Regs) -> Writer<N> {
    [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx,
        r.rax, r.rcx, r.rsp, r.rip, r.rflags,
    ]
    .into_iter()
    .fold(w, Writer::u64)
}

fn get_regs<const N: usize>(r: &mut Reader<N>) -> Regs {
    Regs {
        r8: r.u64(),
        r9: r.u64(),
        r10: r.u64(),
        r11: r.u64(),
        r12: r.u64(),
        r13: r.u64(),
        r14: r.u64(),
        r15: r.u64(),
        rdi: r.u64(),
        rsi: r.u64(),
        rbp: r.u64(),
        rbx: r.u64(),
        rdx: r.u64(),
        rax: r.u64(),
        rcx: r.u64(),
        rsp: r.u64(),
        rip: r.u64(),
        rflags: r.u64(),
    }
}

/// What goes into a signal frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameArgs<'a> {
    /// The registers when the signal interrupted the thread (after any
    /// syscall-restart adjustment of `rax`/`rip`).
    pub regs: Regs,
    /// The exception vector, error code and faulting address of a fault
    /// (`sigcontext.trapno`, `err`, `cr2`); zero for other signals.
    pub trapno: u64,
    pub err: u64,
    pub cr2: u64,
    /// The user code and stack selectors, as `sigcontext.cs` and `ss`.
    pub cs: u16,
    pub ss: u16,
    /// The thread's FPU/SSE state as FXSAVE stored it.
    pub fpstate: &'a [u8; FPSTATE_SIZE],
    pub info: SigInfo,
    /// The blocked set to restore on `rt_sigreturn` (`uc_sigmask`, also
    /// `sigcontext.oldmask`): the mask before the handler's `sa_mask` and the
    /// signal itself were added.
    pub mask: u64,
    /// The alternate stack as `sigaltstack` would report it at the
    /// interrupted `rsp` (`ss_flags` with `SS_ONSTACK` or `SS_DISABLE`).
    pub altstack: StackT,
    /// `sa_restorer`, which the handler's `ret` jumps to.
    pub restorer: u64,
    /// Where to build below: the alternate stack's top (`ss_sp + ss_size`)
    /// when `SA_ONSTACK` applies and the thread is not already on it,
    /// otherwise the interrupted `rsp - RED_ZONE`. Choosing is the kernel's
    /// job, as in Linux's `get_sigframe`.
    pub sp: u64,
}

/// A signal frame ready to copy to user memory at `sp`.
///
/// The kernel then enters the handler with `rsp = sp`, `rip = sa_handler`,
/// `rdi = signo`, `rsi = siginfo_addr`, `rdx = ucontext_addr`, `rax = 0`,
/// TF, DF and RF cleared in rflags and the FPU in its initial state (Linux
/// `handle_signal`). If `sp` falls below the alternate stack the thread was
/// already on, or the copy faults, it forces SIGSEGV instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The handler's `rsp`, where `pretcode` is; `(sp + 8) % 16 == 0`.
    pub sp: u64,
    /// The memory from `sp` to the end of the fpstate.
    pub bytes: Vec<u8>,
    pub siginfo_addr: u64,
    pub ucontext_addr: u64,
    /// 64-byte aligned; also stored in `uc_mcontext.fpstate`.
    pub fpstate_addr: u64,
}

fn align_down(addr: u64, align: u64) -> u64 {
    addr & !(align - 1)
}

/// Lays out `struct rt_sigframe` and the fpstate below `args.sp` as Linux
/// does. `siginfo` is always written, whether or not the handler asked for
/// `SA_SIGINFO`. `EFAULT` if the frame does not fit above address 0.
pub fn build_rt_sigframe(args: &FrameArgs) -> Result<Frame, Errno> {
    let below = |addr: u64, len: usize| addr.checked_sub(len as u64).ok_or(Errno::EFAULT);
    let fpstate_addr = align_down(below(args.sp, FPSTATE_SIZE)?, FPSTATE_ALIGN);
    let aligned = align_down(below(fpstate_addr, RT_SIGFRAME_SIZE)?, STACK_ALIGN);
    let sp = below(aligned, size_of::<u64>())?;

    let mut fpstate = *args.fpstate;
    fpstate[FXSAVE_SW_RESERVED..].fill(0);
    let mut bytes = Vec::with_capacity((fpstate_addr - sp) as usize + FPSTATE_SIZE);
    bytes.extend_from_slice(&args.restorer.to_le_bytes());
    bytes.extend_from_slice(&ucontext_bytes(args, fpstate_addr));
    bytes.extend_from_slice(&args.info.to_bytes());
    bytes.resize((fpstate_addr - sp) as usize, 0);
    bytes.extend_from_slice(&fpstate);
    Ok(Frame {
        sp,
        bytes,
        siginfo_addr: sp + RT_SIGFRAME_INFO as u64,
        ucontext_addr: sp + RT_SIGFRAME_UC as u64,
        fpstate_addr,
    })
}

fn ucontext_bytes(args: &FrameArgs, fpstate_addr: u64) -> [u8; UCONTEXT_SIZE] {
    let w = Writer::<UCONTEXT_SIZE>::new()
        .u64(FRAME_UC_FLAGS)
        .u64(0) // uc_link
        .u64(args.altstack.ss_sp)
        .i32(args.altstack.ss_flags)
        .zeros(4)
        .u64(args.altstack.ss_size);
    put_regs(w, &args.regs)
        .u16(args.cs)
        .u16(0) // gs, fs: Linux saves neither
        .u16(0)
        .u16(args.ss)
        .u64(args.err)
        .u64(args.trapno)
        .u64(args.mask) // oldmask
        .u64(args.cr2)
        .u64(fpstate_addr)
        .zeros(SIGCONTEXT_RESERVED)
        .u64(args.mask) // uc_sigmask
        .finish()
}

/// What `rt_sigreturn` restores, read from the `ucontext` at the user `rsp`
/// of the syscall (the handler's `ret` popped `pretcode`, so `rsp` is
/// `Frame::ucontext_addr`).
///
/// The kernel applies it like Linux's `restore_sigcontext`:
/// - rflags: only [`SIGRETURN_RFLAGS_MASK`] bits come from the frame (see
///   [`sigreturn_rflags`]);
/// - rip: the handler may point it anywhere, so the kernel checks it is a
///   canonical user address and returns with `iretq`: every register,
///   `rcx` and `r11` included, comes back, and `sysretq` to a non-canonical
///   `rip` faults in ring 0 on Intel CPUs;
/// - the syscall returns `regs.rax`, so the return path leaves it as is;
/// - `cs`/`ss`: Linux loads them (with RPL 3); lamina, running all user
///   code on one selector pair, may ignore or check them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub regs: Regs,
    pub cs: u16,
    pub ss: u16,
    /// Where to read [`FPSTATE_SIZE`] bytes of FXSAVE image (then
    /// [`sanitize_fpstate`] it before FXRSTOR); 0 means none: reset the FPU
    /// to its initial state.
    pub fpstate: u64,
    /// The new blocked set, SIGKILL and SIGSTOP already removed.
    pub mask: u64,
    /// `uc_stack`: Linux applies it as `sigaltstack(&uc_stack, NULL)`,
    /// ignoring errors other than a fault.
    pub stack: StackT,
}

/// Reads the `ucontext` the handler returned with. `EFAULT` (send SIGSEGV,
/// as Linux's `badframe`) if `uc` is shorter than [`UCONTEXT_SIZE`].
pub fn parse_rt_sigreturn(uc: &[u8]) -> Result<Restored, Errno> {
    let b: &[u8; UCONTEXT_SIZE] = uc
        .get(..UCONTEXT_SIZE)
        .and_then(|s| s.try_into().ok())
        .ok_or(Errno::EFAULT)?;
    let mut r = Reader::new(b);
    r.skip(16); // uc_flags, uc_link
    let stack = StackT::from_bytes(&r.array());
    let regs = get_regs(&mut r);
    let cs = r.u16();
    r.skip(4); // gs, fs
    let ss = r.u16();
    r.skip(32); // err, trapno, oldmask, cr2: not restored
    let fpstate = r.u64();
    r.skip(SIGCONTEXT_RESERVED);
    let mask = r.u64() & !UNBLOCKABLE;
    Ok(Restored {
        regs,
        cs,
        ss,
        fpstate,
        mask,
        stack,
    })
}

/// The rflags to return with: `current` (the kernel's view of the thread,
/// keeping IF, IOPL and the rest) with the bits a handler may change taken
/// from `saved`.
pub fn sigreturn_rflags(current: u64, saved: u64) -> u64 {
    (current & !SIGRETURN_RFLAGS_MASK) | (saved & SIGRETURN_RFLAGS_MASK)
}

/// Clears the MXCSR bits the CPU does not support, so FXRSTOR of an image
/// a handler edited cannot raise #GP in the kernel (Linux does the same).
/// `cpu_mxcsr_mask` is the MXCSR_MASK field (offset 28) of an FXSAVE image
/// the kernel stored; 0 there means the default mask.
pub fn sanitize_fpstate(fpstate: &mut [u8; FPSTATE_SIZE], cpu_mxcsr_mask: u32) {
    let mask = match cpu_mxcsr_mask {
        0 => DEFAULT_MXCSR_MASK,
        m => m,
    };
    let field = &mut fpstate[FXSAVE_MXCSR..FXSAVE_MXCSR + 4];
    let mxcsr = u32::from_le_bytes([field[0], field[1], field[2], field[3]]) & mask;
    field.copy_from_slice(&mxcsr.to_le_bytes());
}

#[cfg(test)]
mod tests;
