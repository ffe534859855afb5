//! Time: the TSC, its rate, and the wall clock the host handed over.
//!
//! CLOCK_MONOTONIC counts from the PVH entry; CLOCK_REALTIME adds the
//! host's Unix time at launch (`epoch_ns=` on the command line). The TSC
//! rate comes from the host (`tsc_khz=`: the guest's TSC ticks at the
//! host's rate under TCG and KVM), else from CPUID when the CPU or
//! hypervisor reports it, else from a one-off PIT measurement taken the
//! first time a clock is read (so a workload that never asks the time pays
//! nothing at boot).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{cpu, irq, port};

static ENTRY_TSC: AtomicU64 = AtomicU64::new(0);
static EPOCH_NS: AtomicU64 = AtomicU64::new(0);
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC cycle in 32.32 fixed point, set with the rate: a
/// conversion is one multiplication and a shift, not the 128-bit division
/// (a library call) that ran twice on every system call's accounting.
static NS_PER_CYCLE_FP32: AtomicU64 = AtomicU64::new(0);
const FP32_SHIFT: u32 = 32;

/// PIT calibration window.
const CALIBRATION_MS: u64 = 10;
/// Used when neither CPUID nor the PIT gives a rate.
const FALLBACK_TSC_KHZ: u64 = 2_000_000;
pub const NS_PER_SEC: u64 = 1_000_000_000;

pub fn init(entry_tsc: u64, epoch_ns: u64, tsc_khz: Option<u64>) {
    ENTRY_TSC.store(entry_tsc, Ordering::Relaxed);
    EPOCH_NS.store(epoch_ns, Ordering::Relaxed);
    if let Some(khz) = tsc_khz.filter(|&k| k > 0) {
        set_tsc_khz(khz);
    }
}

fn set_tsc_khz(khz: u64) {
    TSC_KHZ.store(khz, Ordering::Relaxed);
    // 10^6 ns per ms over kHz cycles per ms; rounded to nearest. Any rate
    // above 1 kHz keeps the quotient within 2^52 (10^6 * 2^32 / 1001).
    let fp = ((1_000_000u128 << FP32_SHIFT) + u128::from(khz) / 2) / u128::from(khz);
    NS_PER_CYCLE_FP32.store(fp as u64, Ordering::Relaxed);
}

pub fn entry_tsc() -> u64 {
    ENTRY_TSC.load(Ordering::Relaxed)
}

pub fn tsc_khz() -> u64 {
    let khz = TSC_KHZ.load(Ordering::Relaxed);
    if khz != 0 {
        return khz;
    }
    let measured = port::calibrate_tsc_khz(CALIBRATION_MS, cpu::rdtsc)
        .filter(|&k| k > 0)
        .unwrap_or(FALLBACK_TSC_KHZ);
    set_tsc_khz(measured);
    crate::log!("time: TSC at {} kHz", measured);
    measured
}

/// Converts TSC cycles to nanoseconds.
pub fn cycles_to_ns(cycles: u64) -> u64 {
    let mut fp = NS_PER_CYCLE_FP32.load(Ordering::Relaxed);
    if fp == 0 {
        tsc_khz();
        fp = NS_PER_CYCLE_FP32.load(Ordering::Relaxed);
    }
    ((u128::from(cycles) * u128::from(fp)) >> FP32_SHIFT) as u64
}

/// Nanoseconds since the kernel's entry.
pub fn monotonic_ns() -> u64 {
    // The rate first: a first-use calibration takes time, and the reading
    // must come after it.
    if NS_PER_CYCLE_FP32.load(Ordering::Relaxed) == 0 {
        tsc_khz();
    }
    cycles_to_ns(cpu::rdtsc().saturating_sub(entry_tsc()))
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    EPOCH_NS.load(Ordering::Relaxed) + monotonic_ns()
}

/// Below this a wait spins: arming the timer costs more than it saves.
const SPIN_BELOW_NS: u64 = 20_000;
/// How long the local APIC timer is measured against the TSC.
const TIMER_CALIBRATION_NS: u64 = 2_000_000;

static TIMER_TICKS_PER_MS: AtomicU64 = AtomicU64::new(0);

/// The local APIC timer's rate, measured against the TSC the first time a
/// wait needs it (the APIC's bus clock is not architectural: 1 GHz under
/// KVM and QEMU, but nothing promises it).
fn timer_ticks_per_ms() -> u64 {
    let rate = TIMER_TICKS_PER_MS.load(Ordering::Relaxed);
    if rate != 0 {
        return rate;
    }
    let window_cycles = TIMER_CALIBRATION_NS * tsc_khz() / 1_000_000;
    irq::timer_free_run();
    let start_count = irq::timer_count();
    let start = cpu::rdtsc();
    while cpu::rdtsc() - start < window_cycles {
        cpu::pause();
    }
    let ticks = u64::from(start_count - irq::timer_count());
    irq::timer_disarm();
    let rate = (ticks * 1_000_000 / TIMER_CALIBRATION_NS).max(1);
    TIMER_TICKS_PER_MS.store(rate, Ordering::Relaxed);
    crate::log!("time: local APIC timer at {} kHz", rate);
    rate
}

/// Sleeps in `hlt` until any interrupt or until `deadline_ns` of the
/// monotonic clock, whichever comes first (a local APIC timer one-shot,
/// of at most 2^32 ticks, bounds the sleep). Callers loop, checking what
/// they wait for.
pub fn wait_until(deadline_ns: u64) {
    let now = monotonic_ns();
    if now >= deadline_ns {
        return;
    }
    let remaining = deadline_ns - now;
    if remaining < SPIN_BELOW_NS {
        while monotonic_ns() < deadline_ns {
            cpu::pause();
        }
        return;
    }
    let ticks = u128::from(remaining) * u128::from(timer_ticks_per_ms()) / 1_000_000;
    irq::timer_oneshot(u32::try_from(ticks).unwrap_or(u32::MAX));
    cpu::wait_for_interrupt();
    irq::timer_disarm();
    ARMED_NS.store(0, Ordering::Relaxed);
}

/// The deadline the local APIC timer is armed for (0: none), so that the
/// scheduler reprograms it only when its wish changes (each write is a
/// VM exit under KVM).
static ARMED_NS: AtomicU64 = AtomicU64::new(0);

/// The timer's interrupt came: it is no longer armed.
pub fn timer_fired() {
    ARMED_NS.store(0, Ordering::Relaxed);
}

/// Arms the timer to interrupt at `deadline_ns` (None: not at all).
pub fn arm(deadline_ns: Option<u64>) {
    let armed = ARMED_NS.load(Ordering::Relaxed);
    match deadline_ns {
        None => {
            if armed != 0 {
                irq::timer_disarm();
                ARMED_NS.store(0, Ordering::Relaxed);
            }
        }
        Some(deadline) => {
            let now = monotonic_ns();
            if armed == deadline && deadline > now {
                return;
            }
            let remaining = deadline.saturating_sub(now).max(SPIN_BELOW_NS / 4);
            let ticks = u128::from(remaining) * u128::from(timer_ticks_per_ms()) / 1_000_000;
            irq::timer_oneshot(u32::try_from(ticks).unwrap_or(u32::MAX));
            ARMED_NS.store(deadline, Ordering::Relaxed);
        }
    }
}

/// CLOCK_REALTIME minus CLOCK_MONOTONIC: the host's Unix time at the
/// kernel's entry (no call sets the clock, so it never changes).
pub fn realtime_offset_ns() -> u64 {
    EPOCH_NS.load(Ordering::Relaxed)
}
