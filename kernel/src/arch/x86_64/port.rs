//! Port I/O devices: the console UART, QEMU's `isa-debug-exit`, the PIT.

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

/// Sends raw bytes on the console line (waits for the transmitter).
pub fn serial_write(bytes: &[u8]) {
    if let Some(port) = SERIAL.lock().as_mut() {
        for &b in bytes {
            port.send_raw(b);
        }
    }
}

/// One received byte, if the UART holds one.
pub fn serial_try_read() -> Option<u8> {
    SERIAL.lock().as_mut()?.try_receive().ok()
}

/// Asks QEMU to exit. QEMU's own exit code becomes `(value << 1) | 1`; the
/// host reads the workload's status from the console instead.
pub fn debug_exit(value: u32) {
    let mut port: Port<u32> = Port::new(DEBUG_EXIT_PORT);
    // SAFETY: writing the debug-exit port has no effect on memory; without
    // the device the write is ignored and the caller halts.
    unsafe { port.write(value) };
}

const PIT_HZ: u64 = 1_193_182;
const PIT_CH2_DATA: u16 = 0x42;
const PIT_COMMAND: u16 = 0x43;
const PIT_GATE_PORT: u16 = 0x61;
/// Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary.
const PIT_CH2_ONESHOT: u8 = 0xb0;
const GATE_ON_SPEAKER_OFF: u8 = 0x01;
const SPEAKER_BIT: u8 = 0x02;
const OUT2_BIT: u8 = 0x20;

/// Measures the TSC rate against the PIT (channel 2, gated, polled),
/// over `window_ms` milliseconds. None when no PIT answers.
pub fn calibrate_tsc_khz(window_ms: u64, rdtsc: impl Fn() -> u64) -> Option<u64> {
    let ticks = PIT_HZ * window_ms / 1000;
    let mut gate: Port<u8> = Port::new(PIT_GATE_PORT);
    let mut command: Port<u8> = Port::new(PIT_COMMAND);
    let mut data: Port<u8> = Port::new(PIT_CH2_DATA);
    // SAFETY: ports 0x61/0x42/0x43 are the PC speaker gate and PIT, which
    // nothing else in the kernel uses; the sequence only programs channel 2.
    unsafe {
        let g = gate.read();
        gate.write((g & !SPEAKER_BIT) | GATE_ON_SPEAKER_OFF);
        command.write(PIT_CH2_ONESHOT);
        data.write((ticks & 0xff) as u8);
        data.write((ticks >> 8) as u8);
        let start = rdtsc();
        let limit = 1u64 << 40;
        loop {
            if gate.read() & OUT2_BIT != 0 {
                break;
            }
            if rdtsc() - start > limit {
                return None;
            }
        }
        let cycles = rdtsc() - start;
        Some(cycles / window_ms)
    }
}
