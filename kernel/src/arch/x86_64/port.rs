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
