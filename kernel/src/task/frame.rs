//! The signal frame on the user stack: set up before a handler runs,
//! read back by `rt_sigreturn` (layouts in `lamina_abi::signal`).

use lamina_abi::errno::Errno;
use lamina_abi::flags::{SA_NODEFER, SA_ONSTACK, SS_DISABLE, SS_ONSTACK};
use lamina_abi::signal::{
    build_rt_sigframe, parse_rt_sigreturn, sanitize_fpstate, sigreturn_rflags, FrameArgs, Regs,
    SigFields, SigInfo, FPSTATE_SIZE, RED_ZONE, UCONTEXT_SIZE,
};
use lamina_abi::types::{KernelSigaction, StackT};

use super::signal::{bit, Info, UNBLOCKABLE};
use super::Task;
use crate::arch::user::{is_canonical, FpuState, UserContext};

/// Flags cleared on entry to a handler: TF, DF, RF.
const RFLAGS_HANDLER_CLEAR: u64 = (1 << 8) | (1 << 10) | (1 << 16);

fn regs_of(c: &UserContext) -> Regs {
    Regs {
        r8: c.r8,
        r9: c.r9,
        r10: c.r10,
        r11: c.r11,
        r12: c.r12,
        r13: c.r13,
        r14: c.r14,
        r15: c.r15,
        rdi: c.rdi,
        rsi: c.rsi,
        rbp: c.rbp,
        rbx: c.rbx,
        rdx: c.rdx,
        rax: c.rax,
        rcx: c.rcx,
        rsp: c.rsp,
        rip: c.rip,
        rflags: c.rflags,
    }
}

fn set_regs(c: &mut UserContext, r: &Regs) {
    c.r8 = r.r8;
    c.r9 = r.r9;
    c.r10 = r.r10;
    c.r11 = r.r11;
    c.r12 = r.r12;
    c.r13 = r.r13;
    c.r14 = r.r14;
    c.r15 = r.r15;
    c.rdi = r.rdi;
    c.rsi = r.rsi;
    c.rbp = r.rbp;
    c.rbx = r.rbx;
    c.rdx = r.rdx;
    c.rax = r.rax;
    c.rcx = r.rcx;
    c.rsp = r.rsp;
    c.rip = r.rip;
}

fn on_altstack(stack: &StackT, sp: u64) -> bool {
    stack.ss_flags != SS_DISABLE && sp > stack.ss_sp && sp - stack.ss_sp <= stack.ss_size
}

/// The `siginfo_t` a handler or `sigtimedwait` gets for `sig` sent with
/// `info`.
pub fn siginfo(sig: u8, info: &Info) -> SigInfo {
    let signo = u32::from(sig);
    let mut si = SigInfo::kernel(signo);
    si.code = info.code;
    si.fields = match sig {
        super::signal::SIGCHLD => SigFields::Child {
            pid: info.pid as i32,
            uid: 0,
            status: info.status,
            utime_ticks: 0,
            stime_ticks: 0,
        },
        super::signal::SIGSEGV
        | super::signal::SIGBUS
        | super::signal::SIGILL
        | super::signal::SIGFPE
        | super::signal::SIGTRAP
            if info.code > 0 =>
        {
            SigFields::Fault { addr: info.addr }
        }
        _ if info.code == lamina_abi::signal::SI_TIMER => {
            let (tid, overrun) = info.timer.unwrap_or_default();
            SigFields::Timer {
                tid,
                overrun,
                value: info.value,
            }
        }
        _ if info.code == lamina_abi::signal::SI_QUEUE => SigFields::Queue {
            pid: info.pid as i32,
            uid: 0,
            value: info.value,
        },
        _ => SigFields::Kill {
            pid: info.pid as i32,
            uid: 0,
        },
    };
    si
}

/// Builds the frame for `sig`'s handler on the task's stack (or its
/// alternate stack) and points the registers at the handler. EFAULT when
/// the frame does not fit.
pub fn push(task: &mut Task, sig: u8, action: &KernelSigaction, info: &Info) -> Result<(), Errno> {
    let sp = task.ctx.rsp;
    let on_alt = on_altstack(&task.altstack, sp);
    let top = if action.flags & SA_ONSTACK != 0 && task.altstack.ss_flags != SS_DISABLE && !on_alt {
        task.altstack.ss_sp.saturating_add(task.altstack.ss_size)
    } else {
        sp.wrapping_sub(RED_ZONE)
    };
    task.fpu.save();
    let mut reported = task.altstack;
    if reported.ss_flags != SS_DISABLE && on_alt {
        reported.ss_flags = SS_ONSTACK;
    }
    let mask = task.saved_sigmask.take().unwrap_or(task.sigmask);
    let frame = build_rt_sigframe(&FrameArgs {
        regs: regs_of(&task.ctx),
        trapno: task.ctx.vector,
        err: task.ctx.error_code,
        cr2: task.ctx.cr2,
        cs: crate::arch::gdt::USER_CS,
        ss: crate::arch::gdt::USER_DS,
        fpstate: &task.fpu.0,
        info: siginfo(sig, info),
        mask,
        altstack: reported,
        restorer: action.restorer,
        sp: top,
    })?;
    if on_alt && frame.sp < task.altstack.ss_sp {
        return Err(Errno::EFAULT);
    }
    task.mem.space.lock().copy_out(frame.sp, &frame.bytes)?;
    let c = &mut task.ctx;
    c.rsp = frame.sp;
    c.rip = action.handler;
    c.rdi = u64::from(sig);
    c.rsi = frame.siginfo_addr;
    c.rdx = frame.ucontext_addr;
    c.rax = 0;
    c.rflags &= !RFLAGS_HANDLER_CLEAR;
    let mut blocked = mask | action.mask;
    if action.flags & SA_NODEFER == 0 {
        blocked |= bit(sig);
    }
    task.sigmask = blocked & !UNBLOCKABLE;
    *task.fpu = FpuState::initial();
    task.fpu.restore();
    Ok(())
}

/// `rt_sigreturn`: restores what the frame at the user's stack holds
/// (registers, FPU state, mask, alternate stack). Returns the restored
/// rax, the call's "result".
pub fn sigreturn(task: &mut Task) -> Result<u64, Errno> {
    let mut uc = [0u8; UCONTEXT_SIZE];
    let mut space = task.mem.space.lock();
    space.copy_in(task.ctx.rsp, &mut uc)?;
    let restored = parse_rt_sigreturn(&uc)?;
    if !is_canonical(restored.regs.rip) {
        return Err(Errno::EFAULT);
    }
    let mut fpu = FpuState::initial();
    if restored.fpstate != 0 {
        let mut area = [0u8; FPSTATE_SIZE];
        space.copy_in(restored.fpstate, &mut area)?;
        sanitize_fpstate(&mut area, 0);
        fpu.0 = area;
    }
    drop(space);
    let rflags = sigreturn_rflags(task.ctx.rflags, restored.regs.rflags);
    set_regs(&mut task.ctx, &restored.regs);
    task.ctx.rflags = rflags;
    task.sigmask = restored.mask & !UNBLOCKABLE;
    // As sigaltstack(&uc_stack, NULL): a bad one is ignored.
    let stack = restored.stack;
    if (stack.ss_flags == SS_DISABLE || stack.ss_flags == 0)
        && !on_altstack(&task.altstack, task.ctx.rsp)
    {
        task.altstack = stack;
    }
    *task.fpu = fpu;
    task.fpu.restore();
    Ok(task.ctx.rax)
}
