//! CPU identification and control-register setup.

use core::arch::x86_64::{__cpuid_count, CpuidResult};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    // SAFETY: `cpuid` exists on every x86_64 CPU and only reads identification registers.
    #[allow(unused_unsafe)]
    unsafe {
        __cpuid_count(leaf, subleaf)
    }
}

/// The CPU's vendor string (CPUID leaf 0) and brand string (leaves
/// 0x80000002..4), for /proc/cpuinfo.
pub fn identity() -> ([u8; 12], [u8; 48]) {
    let leaf0 = cpuid(0, 0);
    let mut vendor = [0u8; 12];
    for (i, reg) in [leaf0.ebx, leaf0.edx, leaf0.ecx].iter().enumerate() {
        vendor[i * 4..i * 4 + 4].copy_from_slice(&reg.to_le_bytes());
    }
    let mut brand = [0u8; 48];
    if cpuid(0x8000_0000, 0).eax >= 0x8000_0004 {
        for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
            let r = cpuid(leaf, 0);
            for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].iter().enumerate() {
                let at = i * 16 + j * 4;
                brand[at..at + 4].copy_from_slice(&reg.to_le_bytes());
            }
        }
    }
    (vendor, brand)
}

/// What the kernel needs to know about the CPU.
#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    pub smep: bool,
    pub smap: bool,
    pub rdrand: bool,
    /// EDX of leaf 1, what Linux reports as AT_HWCAP on x86.
    pub hwcap: u32,
    /// TSC frequency in kHz, when the CPU or hypervisor tells it.
    pub tsc_khz: Option<u64>,
}

const CPUID_1_ECX_RDRAND: u32 = 1 << 30;
const CPUID_7_EBX_SMEP: u32 = 1 << 7;
const CPUID_7_EBX_SMAP: u32 = 1 << 20;
const HYPERVISOR_TIMING_LEAF: u32 = 0x4000_0010;

/// The CPU's features, read once: `cpuid` exits to the hypervisor under
/// KVM, and `rdrand` asks on every call.
pub fn features() -> Features {
    static FEATURES: spin::Once<Features> = spin::Once::new();
    *FEATURES.call_once(read_features)
}

fn read_features() -> Features {
    let max_leaf = cpuid(0, 0).eax;
    let leaf1 = cpuid(1, 0);
    let leaf7 = if max_leaf >= 7 { cpuid(7, 0).ebx } else { 0 };
    let mut tsc_khz = None;
    if max_leaf >= 0x15 {
        let l15 = cpuid(0x15, 0);
        if l15.eax != 0 && l15.ebx != 0 && l15.ecx != 0 {
            tsc_khz = Some(u64::from(l15.ecx) * u64::from(l15.ebx) / u64::from(l15.eax) / 1000);
        }
    }
    if tsc_khz.is_none() && cpuid(0x4000_0000, 0).eax >= HYPERVISOR_TIMING_LEAF {
        let khz = cpuid(HYPERVISOR_TIMING_LEAF, 0).eax;
        if khz != 0 {
            tsc_khz = Some(u64::from(khz));
        }
    }
    Features {
        smep: leaf7 & CPUID_7_EBX_SMEP != 0,
        smap: leaf7 & CPUID_7_EBX_SMAP != 0,
        rdrand: leaf1.ecx & CPUID_1_ECX_RDRAND != 0,
        hwcap: leaf1.edx,
        tsc_khz,
    }
}

/// Control registers: SSE usable by user code (fxsave-style state only:
/// CR4.OSXSAVE stays off, see design.md), NX and `syscall` on, SMEP/SMAP
/// where the CPU has them. The kernel itself is soft-float, so it never
/// touches the user's FPU/SSE registers.
pub fn init() {
    let f = features();
    let mut cr0 = Cr0::read();
    cr0.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
    cr0.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR | Cr0Flags::WRITE_PROTECT);
    let mut cr4 = Cr4::read();
    cr4.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
    if f.smep {
        cr4.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION);
    }
    if f.smap {
        cr4.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
    }
    // SAFETY: the flags set only enable SSE for ring 3 and protections the
    // kernel honours: it never executes or (with AC clear) touches user
    // pages directly; user memory is reached through the direct map.
    unsafe {
        Cr0::write(cr0);
        Cr4::write(cr4);
        Efer::update(|efer| {
            efer.insert(EferFlags::SYSTEM_CALL_EXTENSIONS | EferFlags::NO_EXECUTE_ENABLE)
        });
        // The x87 unit starts in the state Linux gives a new process.
        core::arch::asm!("fninit", options(nomem, nostack));
    }
}

/// Reads the time-stamp counter (`lfence; rdtsc`: `rdtscp` hangs under our KVM).
/// Inline assembly rather than `_mm_lfence`, which the soft-float kernel
/// cannot inline (it needs SSE2) and so cost a call on every system call.
#[inline]
pub fn rdtsc() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: `lfence` and `rdtsc` have no memory effects and are always
    // available on x86_64; they write only eax and edx.
    unsafe {
        core::arch::asm!(
            "lfence",
            "rdtsc",
            out("eax") low,
            out("edx") high,
            options(nomem, nostack, preserves_flags)
        );
    }
    (u64::from(high) << 32) | u64::from(low)
}

/// A hardware random number, when the CPU has `rdrand`.
pub fn rdrand() -> Option<u64> {
    if !features().rdrand {
        return None;
    }
    for _ in 0..10 {
        let value: u64;
        let ok: u8;
        // SAFETY: the CPU reports `rdrand` (checked above); it only writes the two outputs.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
        }
        if ok != 0 {
            return Some(value);
        }
    }
    None
}

/// A hint inside spin loops.
pub fn pause() {
    core::hint::spin_loop();
}

/// Sleeps until the next device interrupt (`sti; hlt` is atomic: an
/// interrupt pending before the `hlt` still ends it), then masks again.
pub fn wait_for_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
    x86_64::instructions::interrupts::disable();
}

/// Stops this CPU for good (interrupts off).
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
