use super::*;
use crate::flags::{SIGCHLD, SIGSEGV, SIGUSR1, SS_ONSTACK};

// Offsets printed by gcc on x86_64 with offsetof()/sizeof() over the kernel
// uapi headers <asm/sigcontext.h>, <asm/ucontext.h> and <asm/siginfo.h>,
// with `struct rt_sigframe { char *pretcode; struct ucontext uc;
// siginfo_t info; }` as in arch/x86/include/asm/sigframe.h. glibc's
// ucontext_t agrees up to uc_sigmask (40 and 296) and then grows.
const C_SIZEOF_RT_SIGFRAME: usize = 440;
const C_SIZEOF_UCONTEXT: usize = 304;
const C_SIZEOF_SIGCONTEXT: usize = 256;
const C_SIZEOF_SIGINFO: usize = 128;
const C_SIZEOF_FPSTATE: usize = 512;
// struct rt_sigframe
const F_UC: usize = 8;
const F_INFO: usize = 312;
// struct ucontext
const UC_FLAGS: usize = 0;
const UC_LINK: usize = 8;
const UC_SS_SP: usize = 16;
const UC_SS_FLAGS: usize = 24;
const UC_SS_SIZE: usize = 32;
const UC_MC: usize = 40;
const UC_MASK: usize = 296;
// struct sigcontext
const SC_R8: usize = 0;
const SC_R15: usize = 56;
const SC_RDI: usize = 64;
const SC_RSI: usize = 72;
const SC_RBP: usize = 80;
const SC_RBX: usize = 88;
const SC_RDX: usize = 96;
const SC_RAX: usize = 104;
const SC_RCX: usize = 112;
const SC_RSP: usize = 120;
const SC_RIP: usize = 128;
const SC_EFLAGS: usize = 136;
const SC_CS: usize = 144;
const SC_GS: usize = 146;
const SC_FS: usize = 148;
const SC_SS: usize = 150;
const SC_ERR: usize = 152;
const SC_TRAPNO: usize = 160;
const SC_OLDMASK: usize = 168;
const SC_CR2: usize = 176;
const SC_FPSTATE: usize = 184;
const SC_RESERVED1: usize = 192;
// siginfo_t
const SI_SIGNO: usize = 0;
const SI_ERRNO: usize = 4;
const SI_CODE: usize = 8;
const SI_PID: usize = 16;
const SI_UID: usize = 20;
const SI_STATUS: usize = 24;
const SI_UTIME: usize = 32;
const SI_STIME: usize = 40;
const SI_VALUE: usize = 24;
const SI_TID: usize = 16;
const SI_OVERRUN: usize = 20;
const SI_ADDR: usize = 16;
// struct _fpstate
const FP_MXCSR: usize = 24;
const FP_SW_RESERVED: usize = 464;

fn put(buf: &mut [u8], off: usize, v: &[u8]) {
    buf[off..off + v.len()].copy_from_slice(v);
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Every register distinct, so a swapped pair shows.
fn sample_regs() -> Regs {
    Regs {
        r8: 0x0808,
        r9: 0x0909,
        r10: 0x1010,
        r11: 0x1111,
        r12: 0x1212,
        r13: 0x1313,
        r14: 0x1414,
        r15: 0x1515,
        rdi: 0xd1d1,
        rsi: 0x5151,
        rbp: 0xb0b0,
        rbx: 0xb1b1,
        rdx: 0xd0d0,
        rax: 0xa0a0,
        rcx: 0xc0c0,
        rsp: 0x7fff_ffff_e123,
        rip: 0x40_1234,
        rflags: 0x246,
    }
}

fn sample_fpstate() -> [u8; FPSTATE_SIZE] {
    core::array::from_fn(|i| (i % 251) as u8 | 1)
}

fn sample_args(fpstate: &[u8; FPSTATE_SIZE], sp: u64) -> FrameArgs<'_> {
    FrameArgs {
        regs: sample_regs(),
        trapno: 14,
        err: 6,
        cr2: 0xdead_b000,
        cs: 0x33,
        ss: 0x2b,
        fpstate,
        info: SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0xdead_b000),
        mask: 0x0000_0001_0000_4000,
        altstack: StackT {
            ss_sp: 0x7000_0000,
            ss_flags: SS_ONSTACK,
            pad: 0,
            ss_size: 0x2000,
        },
        restorer: 0x40_5678,
        sp,
    }
}

#[test]
fn sizes_match_c() {
    assert_eq!(RT_SIGFRAME_SIZE, C_SIZEOF_RT_SIGFRAME);
    assert_eq!(UCONTEXT_SIZE, C_SIZEOF_UCONTEXT);
    assert_eq!(SIGCONTEXT_SIZE, C_SIZEOF_SIGCONTEXT);
    assert_eq!(SIGINFO_SIZE, C_SIZEOF_SIGINFO);
    assert_eq!(FPSTATE_SIZE, C_SIZEOF_FPSTATE);
    assert_eq!(RT_SIGFRAME_INFO, F_INFO);
    assert_eq!(UCONTEXT_SIZE, UC_MASK + 8);
    assert_eq!(SIGCONTEXT_SIZE, UC_MASK - UC_MC);
    assert_eq!(SIGCONTEXT_SIZE, SC_RESERVED1 + SIGCONTEXT_RESERVED);
    assert_eq!(FXSAVE_MXCSR, FP_MXCSR);
    assert_eq!(FXSAVE_SW_RESERVED, FP_SW_RESERVED);
}

#[test]
fn frame_golden_bytes() {
    let fp = sample_fpstate();
    let top = 0x7fff_ffff_e000 - RED_ZONE;
    let f = build_rt_sigframe(&sample_args(&fp, top)).unwrap();

    // Linux get_sigframe: fpstate 64-aligned below sp, frame below it.
    let fpstate_addr = (top - 512) & !63;
    let sp = ((fpstate_addr - 440) & !15) - 8;
    assert_eq!(f.sp, sp);
    assert_eq!(f.fpstate_addr, fpstate_addr);
    assert_eq!(f.ucontext_addr, sp + F_UC as u64);
    assert_eq!(f.siginfo_addr, sp + F_INFO as u64);

    let mut want = alloc::vec![0u8; (fpstate_addr + 512 - sp) as usize];
    put(&mut want, 0, &0x40_5678u64.to_le_bytes());
    let uc = F_UC;
    put(&mut want, uc + UC_FLAGS, &6u64.to_le_bytes());
    put(&mut want, uc + UC_LINK, &0u64.to_le_bytes());
    put(&mut want, uc + UC_SS_SP, &0x7000_0000u64.to_le_bytes());
    put(&mut want, uc + UC_SS_FLAGS, &1i32.to_le_bytes());
    put(&mut want, uc + UC_SS_SIZE, &0x2000u64.to_le_bytes());
    let mc = uc + UC_MC;
    let r = sample_regs();
    for (i, v) in [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15]
        .into_iter()
        .enumerate()
    {
        put(&mut want, mc + SC_R8 + 8 * i, &v.to_le_bytes());
    }
    assert_eq!(SC_R8 + 8 * 7, SC_R15);
    for (off, v) in [
        (SC_RDI, r.rdi),
        (SC_RSI, r.rsi),
        (SC_RBP, r.rbp),
        (SC_RBX, r.rbx),
        (SC_RDX, r.rdx),
        (SC_RAX, r.rax),
        (SC_RCX, r.rcx),
        (SC_RSP, r.rsp),
        (SC_RIP, r.rip),
        (SC_EFLAGS, r.rflags),
        (SC_ERR, 6),
        (SC_TRAPNO, 14),
        (SC_OLDMASK, 0x0000_0001_0000_4000),
        (SC_CR2, 0xdead_b000),
        (SC_FPSTATE, fpstate_addr),
    ] {
        put(&mut want, mc + off, &v.to_le_bytes());
    }
    put(&mut want, mc + SC_CS, &0x33u16.to_le_bytes());
    put(&mut want, mc + SC_GS, &0u16.to_le_bytes());
    put(&mut want, mc + SC_FS, &0u16.to_le_bytes());
    put(&mut want, mc + SC_SS, &0x2bu16.to_le_bytes());
    put(
        &mut want,
        uc + UC_MASK,
        &0x0000_0001_0000_4000u64.to_le_bytes(),
    );
    put(&mut want, F_INFO + SI_SIGNO, &11i32.to_le_bytes());
    put(&mut want, F_INFO + SI_CODE, &1i32.to_le_bytes());
    put(&mut want, F_INFO + SI_ADDR, &0xdead_b000u64.to_le_bytes());
    let fp_off = (fpstate_addr - sp) as usize;
    put(&mut want, fp_off, &fp[..FP_SW_RESERVED]);
    assert_eq!(f.bytes, want);
}

#[test]
fn siginfo_golden_bytes() {
    let mut want = [0u8; 128];
    put(&mut want, SI_SIGNO, &17i32.to_le_bytes());
    put(&mut want, SI_CODE, &2i32.to_le_bytes());
    put(&mut want, SI_PID, &42i32.to_le_bytes());
    put(&mut want, SI_UID, &1000u32.to_le_bytes());
    put(&mut want, SI_STATUS, &9i32.to_le_bytes());
    put(&mut want, SI_UTIME, &7i64.to_le_bytes());
    put(&mut want, SI_STIME, &3i64.to_le_bytes());
    let child = SigInfo::child(CLD_KILLED, 42, 1000, 9, 7, 3);
    assert_eq!(child.signo, SIGCHLD);
    assert_eq!(child.to_bytes(), want);

    let mut want = [0u8; 128];
    put(&mut want, SI_SIGNO, &10i32.to_le_bytes());
    put(&mut want, SI_CODE, &(-6i32).to_le_bytes());
    put(&mut want, SI_PID, &5i32.to_le_bytes());
    put(&mut want, SI_UID, &6u32.to_le_bytes());
    assert_eq!(SigInfo::kill(SIGUSR1, SI_TKILL, 5, 6).to_bytes(), want);

    let mut want = [0u8; 128];
    put(&mut want, SI_SIGNO, &34i32.to_le_bytes());
    put(&mut want, SI_ERRNO, &4i32.to_le_bytes());
    put(&mut want, SI_CODE, &(-2i32).to_le_bytes());
    put(&mut want, SI_TID, &3i32.to_le_bytes());
    put(&mut want, SI_OVERRUN, &2i32.to_le_bytes());
    put(&mut want, SI_VALUE, &0x1122_3344_5566_7788u64.to_le_bytes());
    let timer = SigInfo {
        signo: 34,
        errno: 4,
        code: SI_TIMER,
        fields: SigFields::Timer {
            tid: 3,
            overrun: 2,
            value: 0x1122_3344_5566_7788,
        },
    };
    assert_eq!(timer.to_bytes(), want);

    let mut want = [0u8; 128];
    put(&mut want, SI_SIGNO, &34i32.to_le_bytes());
    put(&mut want, SI_CODE, &(-1i32).to_le_bytes());
    put(&mut want, SI_PID, &8i32.to_le_bytes());
    put(&mut want, SI_UID, &9u32.to_le_bytes());
    put(&mut want, SI_VALUE, &77u64.to_le_bytes());
    let queued = SigInfo {
        signo: 34,
        errno: 0,
        code: SI_QUEUE,
        fields: SigFields::Queue {
            pid: 8,
            uid: 9,
            value: 77,
        },
    };
    assert_eq!(queued.to_bytes(), want);

    let mut want = [0u8; 128];
    put(&mut want, SI_SIGNO, &9i32.to_le_bytes());
    put(&mut want, SI_CODE, &0x80i32.to_le_bytes());
    assert_eq!(SigInfo::kernel(9).to_bytes(), want);
}

#[test]
fn siginfo_raw_round_trips() {
    let b: [u8; 128] = core::array::from_fn(|i| i as u8 ^ 0x5a);
    let info = SigInfo::from_bytes(&b);
    assert_eq!(info.signo, u32::from_le_bytes(b[0..4].try_into().unwrap()));
    assert_eq!(info.code, i32::from_le_bytes(b[8..12].try_into().unwrap()));
    // The header's padding is written as zero; the union is kept whole.
    let mut want = b;
    want[12..16].fill(0);
    assert_eq!(info.to_bytes(), want);
}

#[test]
fn build_then_parse_round_trips() {
    let fp = sample_fpstate();
    let args = sample_args(&fp, 0x7000_2000);
    let f = build_rt_sigframe(&args).unwrap();
    let uc = &f.bytes[F_UC..F_UC + UCONTEXT_SIZE];
    let r = parse_rt_sigreturn(uc).unwrap();
    assert_eq!(r.regs, args.regs);
    assert_eq!((r.cs, r.ss), (0x33, 0x2b));
    assert_eq!(r.fpstate, f.fpstate_addr);
    assert_eq!(r.mask, args.mask);
    assert_eq!(r.stack, args.altstack);

    // The fpstate is where the pointer says, sw_reserved zeroed.
    let off = (r.fpstate - f.sp) as usize;
    let image = &f.bytes[off..off + FPSTATE_SIZE];
    assert_eq!(image[..FP_SW_RESERVED], fp[..FP_SW_RESERVED]);
    assert!(image[FP_SW_RESERVED..].iter().all(|&b| b == 0));
}

#[test]
fn parse_sees_handler_edits() {
    let fp = sample_fpstate();
    let f = build_rt_sigframe(&sample_args(&fp, 0x7000_2000)).unwrap();
    let mut uc = f.bytes[F_UC..F_UC + UCONTEXT_SIZE].to_vec();
    put(&mut uc, UC_MC + SC_RIP, &0x40_9999u64.to_le_bytes());
    put(&mut uc, UC_MC + SC_RAX, &0x1234u64.to_le_bytes());
    put(&mut uc, UC_MC + SC_FPSTATE, &0u64.to_le_bytes());
    // A handler cannot block SIGKILL (9) or SIGSTOP (19).
    put(&mut uc, UC_MASK, &u64::MAX.to_le_bytes());
    let r = parse_rt_sigreturn(&uc).unwrap();
    assert_eq!(r.regs.rip, 0x40_9999);
    assert_eq!(r.regs.rax, 0x1234);
    assert_eq!(r.fpstate, 0);
    assert_eq!(r.mask, !((1 << 8) | (1 << 18)));
}

#[test]
fn frame_alignment_for_many_sps() {
    let fp = sample_fpstate();
    let bases = [0x7fff_ffff_f000u64, 0x7000_0000, 0x1_0000];
    for base in bases {
        for delta in 0..300u64 {
            let top = base - delta;
            let f = build_rt_sigframe(&sample_args(&fp, top)).unwrap();
            assert_eq!((f.sp + 8) % 16, 0, "sp {top:#x}");
            assert_eq!(f.fpstate_addr % 64, 0);
            assert!(f.fpstate_addr + FPSTATE_SIZE as u64 <= top);
            assert!(f.fpstate_addr >= f.sp + RT_SIGFRAME_SIZE as u64);
            assert_eq!(f.sp + f.bytes.len() as u64, f.fpstate_addr + 512);
            assert_eq!(u64_at(&f.bytes, 0), 0x40_5678);
            assert_eq!(u64_at(&f.bytes, F_UC + UC_MC + SC_FPSTATE), f.fpstate_addr);
            // The frame never reaches more than a fpstate alignment's worth
            // below what it needs.
            assert!(top - f.sp < (RT_SIGFRAME_SIZE + FPSTATE_SIZE + 64 + 16) as u64);
        }
    }
}

#[test]
fn frame_that_does_not_fit_is_efault() {
    let fp = sample_fpstate();
    for top in [0, 8, 511, 512, 900, 1023] {
        assert_eq!(
            build_rt_sigframe(&sample_args(&fp, top)),
            Err(Errno::EFAULT),
            "sp {top}"
        );
    }
    // The lowest top that fits: fpstate at 512, frame at 512 - 456.
    let f = build_rt_sigframe(&sample_args(&fp, 1024)).unwrap();
    assert_eq!((f.sp, f.fpstate_addr), (56, 512));
}

#[test]
fn short_or_hostile_ucontext_cannot_panic() {
    for len in 0..UCONTEXT_SIZE {
        assert_eq!(
            parse_rt_sigreturn(&[0xff; UCONTEXT_SIZE][..len]),
            Err(Errno::EFAULT)
        );
    }
    // Longer buffers are fine: only the ucontext is read.
    assert!(parse_rt_sigreturn(&[0u8; UCONTEXT_SIZE + 100]).is_ok());
    // Arbitrary contents decode to something; nothing is trusted here.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..200 {
        let buf: [u8; UCONTEXT_SIZE] = core::array::from_fn(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        });
        let r = parse_rt_sigreturn(&buf).unwrap();
        assert_eq!(r.mask & UNBLOCKABLE, 0);
    }
}

#[test]
fn rflags_take_only_user_bits() {
    let current = 0x202 | (3 << 12); // IF, IOPL 3
    let saved = u64::MAX;
    let got = sigreturn_rflags(current, saved);
    assert_eq!(got, current | SIGRETURN_RFLAGS_MASK);
    assert_eq!(sigreturn_rflags(current, 0), current);
    // AC, RF, OF, DF, TF, SF, ZF, AF, PF, CF.
    let bits = [18, 16, 11, 10, 8, 7, 6, 4, 2, 0];
    assert_eq!(SIGRETURN_RFLAGS_MASK, bits.iter().map(|b| 1u64 << b).sum());
}

#[test]
fn sanitize_fpstate_clears_unsupported_mxcsr_bits() {
    let mut fp = sample_fpstate();
    put(&mut fp, FP_MXCSR, &0xffff_ffffu32.to_le_bytes());
    let before = fp;
    sanitize_fpstate(&mut fp, 0x0000_ffff);
    assert_eq!(fp[FP_MXCSR..FP_MXCSR + 4], 0xffffu32.to_le_bytes());
    sanitize_fpstate(&mut fp, 0);
    assert_eq!(fp[FP_MXCSR..FP_MXCSR + 4], 0xffbfu32.to_le_bytes());
    // Nothing else changes.
    assert_eq!(fp[..FP_MXCSR], before[..FP_MXCSR]);
    assert_eq!(fp[FP_MXCSR + 4..], before[FP_MXCSR + 4..]);
}

#[test]
fn si_codes_match_c() {
    // Values from <asm-generic/siginfo.h> and glibc's <signal.h>.
    assert_eq!(
        [SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_MESGQ, SI_ASYNCIO, SI_SIGIO, SI_TKILL],
        [0, 0x80, -1, -2, -3, -4, -5, -6]
    );
    assert_eq!(
        [
            CLD_EXITED,
            CLD_KILLED,
            CLD_DUMPED,
            CLD_TRAPPED,
            CLD_STOPPED,
            CLD_CONTINUED
        ],
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        [SEGV_MAPERR, SEGV_ACCERR, BUS_ADRALN, BUS_ADRERR],
        [1, 2, 1, 2]
    );
    assert_eq!([ILL_ILLOPC, ILL_ILLOPN, ILL_PRVOPC], [1, 2, 5]);
    assert_eq!(
        [TRAP_BRKPT, TRAP_TRACE, FPE_INTDIV, FPE_FLTINV],
        [1, 2, 1, 7]
    );
    assert_eq!(
        [UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS],
        [1, 2, 4]
    );
}
