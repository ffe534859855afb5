//! Interrupt controllers: the local APIC (its timer wakes timed waits) and
//! the I/O APIC (it routes the console UART's line).
//!
//! Every VMM lamina boots on has a local APIC and an I/O APIC at their
//! architectural addresses, but not every one has the legacy pair: Cloud
//! Hypervisor runs KVM's split irqchip, with no 8259 PIC and no PIT. So
//! the PIC is remapped and masked for good (SeaBIOS leaves IRQ0 on vector
//! 8, where a stray tick would pose as a double fault), device lines go
//! through the I/O APIC, and sleeps use the local APIC timer.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::phys;

/// First vector of device interrupts (after the 32 exceptions).
pub const FIRST_DEVICE_VECTOR: u8 = 32;
/// The local APIC timer's vector.
pub const TIMER_VECTOR: u8 = FIRST_DEVICE_VECTOR;
/// COM1's ISA line, the same I/O APIC pin on QEMU, Cloud Hypervisor and
/// Firecracker.
const COM1_IRQ: u8 = 4;
const COM1_VECTOR: u8 = FIRST_DEVICE_VECTOR + COM1_IRQ;
/// Spurious-interrupt vector: the last stub of the device range. A
/// spurious interrupt is never acknowledged.
pub const SPURIOUS_VECTOR: u8 = FIRST_DEVICE_VECTOR + 15;

const PIC1_COMMAND: u16 = 0x20;
const PIC1_DATA: u16 = 0x21;
const PIC2_COMMAND: u16 = 0xa0;
const PIC2_DATA: u16 = 0xa1;
/// ICW1: initialise, ICW4 follows.
const ICW1_INIT: u8 = 0x11;
const ICW4_8086: u8 = 0x01;
/// Where the PIC's vectors go before it is masked: the device range, so
/// that an interrupt it had already latched is harmless.
const PIC_VECTOR_BASE: u8 = FIRST_DEVICE_VECTOR;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ADDR_MASK: u64 = 0xf_ffff_f000;
const LAPIC_ID: u64 = 0x20;
const LAPIC_TPR: u64 = 0x80;
const LAPIC_EOI: u64 = 0xb0;
const LAPIC_SVR: u64 = 0xf0;
const LAPIC_LVT_TIMER: u64 = 0x320;
const LAPIC_LVT_LINT0: u64 = 0x350;
const LAPIC_LVT_LINT1: u64 = 0x360;
const LAPIC_TIMER_INITIAL: u64 = 0x380;
const LAPIC_TIMER_CURRENT: u64 = 0x390;
const LAPIC_TIMER_DIVIDE: u64 = 0x3e0;
const SVR_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_NMI: u32 = 0x400;
const TIMER_DIVIDE_BY_1: u32 = 0b1011;
const APIC_ID_SHIFT: u32 = 24;

/// The I/O APIC's architectural base (MP specification), where QEMU, Cloud
/// Hypervisor and Firecracker all place it.
const IOAPIC_BASE: u64 = 0xfec0_0000;
const IOAPIC_REGSEL: u64 = 0x00;
const IOAPIC_WINDOW: u64 = 0x10;
const IOAPIC_VERSION: u32 = 0x01;
const IOAPIC_REDIRECTION_TABLE: u32 = 0x10;
const REDIRECTION_MASKED: u32 = 1 << 16;

fn lapic_base() -> u64 {
    // SAFETY: reading IA32_APIC_BASE has no side effects.
    unsafe { Msr::new(IA32_APIC_BASE).read() & APIC_BASE_ADDR_MASK }
}

fn lapic_write(register: u64, value: u32) {
    phys::mmio_write_u32(lapic_base() + register, value);
}

fn lapic_read(register: u64) -> u32 {
    phys::mmio_read_u32(lapic_base() + register)
}

fn ioapic_write(register: u32, value: u32) {
    phys::mmio_write_u32(IOAPIC_BASE + IOAPIC_REGSEL, register);
    phys::mmio_write_u32(IOAPIC_BASE + IOAPIC_WINDOW, value);
}

fn ioapic_read(register: u32) -> u32 {
    phys::mmio_write_u32(IOAPIC_BASE + IOAPIC_REGSEL, register);
    phys::mmio_read_u32(IOAPIC_BASE + IOAPIC_WINDOW)
}

/// Remaps the legacy PIC off the exception vectors and masks all of it.
/// Where there is no PIC (Cloud Hypervisor) the ports are unclaimed and
/// the writes go nowhere.
fn pic_mask_all() {
    let mut c1: Port<u8> = Port::new(PIC1_COMMAND);
    let mut d1: Port<u8> = Port::new(PIC1_DATA);
    let mut c2: Port<u8> = Port::new(PIC2_COMMAND);
    let mut d2: Port<u8> = Port::new(PIC2_DATA);
    // SAFETY: the standard 8259A initialisation sequence on the standard
    // ports; it affects interrupt routing only, which nothing else uses.
    unsafe {
        c1.write(ICW1_INIT);
        c2.write(ICW1_INIT);
        d1.write(PIC_VECTOR_BASE);
        d2.write(PIC_VECTOR_BASE + 8);
        d1.write(4); // ICW3: slave on line 2
        d2.write(2); // ICW3: cascade identity
        d1.write(ICW4_8086);
        d2.write(ICW4_8086);
        d1.write(0xff);
        d2.write(0xff);
    }
}

/// Masks the PIC, enables the local APIC (timer masked) and routes COM1's
/// line to this CPU; every other I/O APIC pin stays masked.
pub fn init() {
    pic_mask_all();
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | u32::from(SPURIOUS_VECTOR));
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);

    let last_pin = (ioapic_read(IOAPIC_VERSION) >> 16) & 0xff;
    for pin in 0..=last_pin {
        ioapic_write(IOAPIC_REDIRECTION_TABLE + 2 * pin, REDIRECTION_MASKED);
    }
    let apic_id = lapic_read(LAPIC_ID) >> APIC_ID_SHIFT;
    let entry = IOAPIC_REDIRECTION_TABLE + 2 * u32::from(COM1_IRQ);
    ioapic_write(entry + 1, apic_id << APIC_ID_SHIFT);
    // The vector alone: fixed delivery to a physical APIC ID, active high,
    // edge triggered, unmasked (an ISA line).
    ioapic_write(entry, u32::from(COM1_VECTOR));
}

/// Routes I/O APIC `pin` (an ISA-style line: active high, edge
/// triggered) to this CPU on vector `FIRST_DEVICE_VECTOR + pin`, whose
/// handler only acknowledges it: the interrupt's job is to end a `hlt`
/// wait. False for pins without a vector of their own (0 is the timer's
/// vector, 15 the spurious one, 16 and up have none).
pub fn route_edge_line(pin: u8) -> bool {
    let vector = FIRST_DEVICE_VECTOR + pin;
    if pin == 0 || pin >= 15 || pin == COM1_IRQ {
        return false;
    }
    let last_pin = (ioapic_read(IOAPIC_VERSION) >> 16) & 0xff;
    if u32::from(pin) > last_pin {
        return false;
    }
    let apic_id = lapic_read(LAPIC_ID) >> APIC_ID_SHIFT;
    let entry = IOAPIC_REDIRECTION_TABLE + 2 * u32::from(pin);
    ioapic_write(entry + 1, apic_id << APIC_ID_SHIFT);
    ioapic_write(entry, u32::from(vector));
    true
}

/// Acknowledges the device interrupt on `vector` at the local APIC.
pub fn eoi(vector: u8) {
    if vector != SPURIOUS_VECTOR {
        lapic_write(LAPIC_EOI, 0);
    }
}

/// Starts the local APIC timer counting down from its maximum with its
/// interrupt masked, for calibration against the TSC.
pub fn timer_free_run() {
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    lapic_write(LAPIC_TIMER_INITIAL, u32::MAX);
}

/// The local APIC timer's current count.
pub fn timer_count() -> u32 {
    lapic_read(LAPIC_TIMER_CURRENT)
}

/// Raises [`TIMER_VECTOR`] once, after `ticks` timer ticks (at least one).
pub fn timer_oneshot(ticks: u32) {
    lapic_write(LAPIC_LVT_TIMER, u32::from(TIMER_VECTOR));
    lapic_write(LAPIC_TIMER_INITIAL, ticks.max(1));
}

/// Stops the timer (a zero initial count) and masks it.
pub fn timer_disarm() {
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
}

/// Device vectors that fired since the scheduler last looked, one bit per
/// vector above [`FIRST_DEVICE_VECTOR`].
static PENDING: AtomicU64 = AtomicU64::new(0);

/// Records that `vector` fired (the trap paths call this after the EOI).
pub fn note(vector: u8) {
    if let Some(bit) = vector.checked_sub(FIRST_DEVICE_VECTOR) {
        if vector != SPURIOUS_VECTOR && bit < 64 {
            PENDING.fetch_or(1 << bit, Ordering::Relaxed);
        }
    }
}

/// The vectors that fired since the last call (bit n: vector 32 + n).
pub fn take_pending() -> u64 {
    PENDING.swap(0, Ordering::Relaxed)
}

/// The bit [`take_pending`] sets for the console UART's line.
pub const CONSOLE_BIT: u64 = 1 << COM1_IRQ;
/// The bit for the local APIC timer.
pub const TIMER_BIT: u64 = 1 << (TIMER_VECTOR - FIRST_DEVICE_VECTOR);
