//! Port I/O devices: the console UART, the VMMs' power-off ports, the PIT.

use spin::Mutex;
use uart_16550::SerialPort;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
/// QEMU `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
const DEBUG_EXIT_PORT: u16 = 0xf4;

static SERIAL: Mutex<Option<SerialPort>> = Mutex::new(None);

pub fn serial_init() {
    // SAFETY: COM1 is the standard 16550 at 0x3f8 on every machine lamina
    // boots (microvm, pc, q35); this is its only owner.
    let mut port = unsafe { SerialPort::new(COM1) };
    port.init();
    *SERIAL.lock() = Some(port);
}

const COM1_LSR: u16 = COM1 + 5;
/// LSR: the transmit FIFO is empty.
const LSR_THR_EMPTY: u8 = 1 << 5;
/// The 16550's transmit FIFO (enabled by `SerialPort::init`).
const UART_FIFO_LEN: usize = 16;

/// Sends raw bytes on the console line. Once the transmit FIFO reports
/// empty, a whole FIFO's worth goes out with one `rep outsb`: one device
/// access per 16 bytes instead of two per byte (under KVM each access is
/// an exit).
pub fn serial_write(bytes: &[u8]) {
    let guard = SERIAL.lock();
    if guard.is_none() {
        return;
    }
    let mut lsr: Port<u8> = Port::new(COM1_LSR);
    for chunk in bytes.chunks(UART_FIFO_LEN) {
        // SAFETY: reading the line status register has no side effect.
        while unsafe { lsr.read() } & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        // SAFETY: `rep outsb` reads `chunk.len()` bytes from `chunk` (valid
        // for the whole call) and writes them to COM1's data port, which the
        // SERIAL lock held here makes ours; the FIFO is empty, so it takes
        // them all. DF is clear in the kernel (the trap paths reset RFLAGS).
        unsafe {
            core::arch::asm!(
                "rep outsb",
                inout("rsi") chunk.as_ptr() => _,
                inout("rcx") chunk.len() => _,
                in("dx") COM1,
                options(nostack, preserves_flags, readonly)
            );
        }
    }
    drop(guard);
}

/// LSR: the transmitter (FIFO and shift register) is empty.
const LSR_TRANSMITTER_EMPTY: u8 = 1 << 6;

/// Waits until the UART has sent every byte it was given, so that nothing
/// written before a power-off is lost.
pub fn serial_drain() {
    let guard = SERIAL.lock();
    if guard.is_none() {
        return;
    }
    let mut lsr: Port<u8> = Port::new(COM1_LSR);
    // SAFETY: reading the line status register has no side effect.
    while unsafe { lsr.read() } & LSR_TRANSMITTER_EMPTY == 0 {
        core::hint::spin_loop();
    }
    drop(guard);
}

/// One received byte, if the UART holds one.
pub fn serial_try_read() -> Option<u8> {
    SERIAL.lock().as_mut()?.try_receive().ok()
}

/// Cloud Hypervisor's ACPI shutdown device (`devices/src/acpi.rs`): a
/// one-byte write of SLP_TYP = S5 with SLP_EN powers the VM off.
const ACPI_SHUTDOWN_PORT: u16 = 0x600;
const ACPI_SLP_TYP_S5: u8 = 5;
const ACPI_SLP_TYP_SHIFT: u8 = 2;
const ACPI_SLP_EN: u8 = 1 << 5;
/// The i8042 command port; CMD_RESET_CPU pulses the reset line, which
/// Firecracker takes as the guest's shutdown.
const I8042_COMMAND_PORT: u16 = 0x64;
const I8042_CMD_RESET_CPU: u8 = 0xfe;

/// Powers the VM off, whichever VMM runs it: QEMU's `isa-debug-exit`
/// (QEMU's own exit code becomes `(0 << 1) | 1`; the host reads the
/// workload's status from the console instead), then Cloud Hypervisor's
/// ACPI S5, then Firecracker's i8042 reset. Each VMM stops at its own
/// device, and on the others the writes hit unclaimed ports, which are
/// ignored; the caller halts if none answered.
pub fn power_off() {
    // SAFETY: these port writes touch no memory. On the VMM that owns the
    // device the VM stops; elsewhere the ports are unclaimed (QEMU stops at
    // the first write, so its q35 PM block at 0x600 is never reached).
    unsafe {
        Port::<u32>::new(DEBUG_EXIT_PORT).write(0);
        Port::<u8>::new(ACPI_SHUTDOWN_PORT)
            .write(ACPI_SLP_TYP_S5 << ACPI_SLP_TYP_SHIFT | ACPI_SLP_EN);
        Port::<u8>::new(I8042_COMMAND_PORT).write(I8042_CMD_RESET_CPU);
    }
}

const PIT_HZ: u64 = 1_193_182;
const PIT_CH0_DATA: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
/// Channel 0, lobyte/hibyte, mode 2 (rate generator), binary.
const PIT_CH0_RATE: u8 = 0x34;
/// Latch channel 0's count for reading.
const PIT_CH0_LATCH: u8 = 0x00;

/// Measures the TSC rate against the PIT, over `window_ms` milliseconds:
/// channel 0 free-runs from 65536 and its count is polled (no interrupt
/// is ever enabled; `microvm` has no port 0x61 gate, so channel 2 is out).
/// None when no PIT answers.
pub fn calibrate_tsc_khz(window_ms: u64, rdtsc: impl Fn() -> u64) -> Option<u64> {
    let target = PIT_HZ * window_ms / 1000;
    let mut command: Port<u8> = Port::new(PIT_COMMAND);
    let mut data: Port<u8> = Port::new(PIT_CH0_DATA);
    // SAFETY: the PIT belongs to this function alone (interrupts stay
    // masked, so channel 0 never raises one the kernel would see).
    unsafe {
        command.write(PIT_CH0_RATE);
        data.write(0);
        data.write(0);
    }
    let mut read_count = |command: &mut Port<u8>| -> u16 {
        // SAFETY: latching and reading the PIT count has no memory effect.
        unsafe {
            command.write(PIT_CH0_LATCH);
            let lo = data.read();
            let hi = data.read();
            u16::from_le_bytes([lo, hi])
        }
    };
    let mut last = read_count(&mut command);
    let start = rdtsc();
    let mut elapsed = 0u64;
    let mut polls = 0u64;
    while elapsed < target {
        let now = read_count(&mut command);
        elapsed += u64::from(last.wrapping_sub(now));
        last = now;
        polls += 1;
        if polls > 10_000_000 {
            return None;
        }
    }
    let cycles = rdtsc() - start;
    Some((u128::from(cycles) * u128::from(PIT_HZ) / u128::from(elapsed) / 1000) as u64)
}

const PIC1_COMMAND: u16 = 0x20;
const PIC1_DATA: u16 = 0x21;
const PIC2_COMMAND: u16 = 0xa0;
const PIC2_DATA: u16 = 0xa1;
/// ICW1: initialise, ICW4 follows.
const ICW1_INIT: u8 = 0x11;
const ICW4_8086: u8 = 0x01;
pub const PIC_VECTOR_BASE: u8 = 32;

/// Moves the legacy PIC off the exception vectors (SeaBIOS leaves IRQ0 on
/// vector 8, where a timer tick would pose as a double fault) and masks
/// every line but the console's.
pub fn pic_init() {
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
        d1.write(!(1 << COM1_IRQ));
        d2.write(0xff);
    }
}

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ADDR_MASK: u64 = 0xf_ffff_f000;
const LAPIC_SVR: u64 = 0xf0;
const LAPIC_LVT_LINT0: u64 = 0x350;
const LAPIC_LVT_LINT1: u64 = 0x360;
const SVR_ENABLE: u32 = 1 << 8;
/// Spurious-interrupt vector: the slave PIC's spurious line, which has a stub.
const SPURIOUS_VECTOR: u32 = PIC_VECTOR_BASE as u32 + 15;
const LVT_EXTINT: u32 = 0x700;
const LVT_NMI: u32 = 0x400;

/// Puts the local APIC in virtual-wire mode: LINT0 passes the PIC's
/// interrupts through (ExtINT). SeaBIOS does this on `pc`; on `microvm`
/// nothing does, and without it no PIC interrupt reaches the CPU.
pub fn lapic_virtual_wire() {
    let base = x86_64::registers::model_specific::Msr::new(IA32_APIC_BASE);
    // SAFETY: reading IA32_APIC_BASE has no side effects.
    let base = unsafe { base.read() } & APIC_BASE_ADDR_MASK;
    super::phys::mmio_write_u32(base + LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
    super::phys::mmio_write_u32(base + LAPIC_LVT_LINT0, LVT_EXTINT);
    super::phys::mmio_write_u32(base + LAPIC_LVT_LINT1, LVT_NMI);
}

/// PIT channel 0, lobyte/hibyte, mode 0 (interrupt on terminal count).
const PIT_CH0_ONESHOT: u8 = 0x30;
const PIT_IRQ: u8 = 0;
/// Longest one-shot the 16-bit counter holds: 65535 ticks, about 55 ms.
pub const PIT_MAX_ONESHOT_NS: u64 = 0xffff * 1_000_000_000 / PIT_HZ;

/// Arms PIT channel 0 to raise IRQ 0 once, after `ns` nanoseconds (at most
/// [`PIT_MAX_ONESHOT_NS`]), and unmasks the line; [`pit_disarm`] masks it.
/// The PIT's rate is fixed, so this needs no calibration.
pub fn pit_oneshot(ns: u64) {
    let ticks = (ns.min(PIT_MAX_ONESHOT_NS) * PIT_HZ / 1_000_000_000).max(1);
    let mut command: Port<u8> = Port::new(PIT_COMMAND);
    let mut data: Port<u8> = Port::new(PIT_CH0_DATA);
    let mut mask: Port<u8> = Port::new(PIC1_DATA);
    // SAFETY: the PIT and the master PIC's mask belong to the timer code;
    // programming channel 0 and unmasking IRQ 0 only schedule an interrupt,
    // which the IDT handles.
    unsafe {
        command.write(PIT_CH0_ONESHOT);
        data.write((ticks & 0xff) as u8);
        data.write((ticks >> 8) as u8);
        let m = mask.read();
        mask.write(m & !(1 << PIT_IRQ));
    }
}

/// Masks IRQ 0 again (a calibrated PIT may be left free-running).
pub fn pit_disarm() {
    let mut mask: Port<u8> = Port::new(PIC1_DATA);
    // SAFETY: as in `pit_oneshot`; masking a line has no other effect.
    unsafe {
        let m = mask.read();
        mask.write(m | (1 << PIT_IRQ));
    }
}

/// The legacy PIC line of COM1: the only one unmasked, so that a kernel
/// waiting for stdin sleeps in `hlt` instead of spinning on the UART (a
/// vCPU spinning on port I/O can starve QEMU's main loop, which delivers
/// the very bytes it waits for).
const COM1_IRQ: u8 = 4;
const PIC_EOI: u8 = 0x20;

/// Acknowledges a legacy PIC interrupt on `vector`.
pub fn pic_eoi(vector: u8) {
    let line = vector.wrapping_sub(PIC_VECTOR_BASE);
    if line >= 16 {
        return;
    }
    // SAFETY: EOI to the 8259A command ports only ends the interrupt in service.
    unsafe {
        if line >= 8 {
            Port::<u8>::new(PIC2_COMMAND).write(PIC_EOI);
        }
        Port::<u8>::new(PIC1_COMMAND).write(PIC_EOI);
    }
}
