//! The console line: framed stdout, stderr, kernel log and exit status to
//! the host (`lamina_proto::frame`), and stdin frames from it.

use alloc::collections::VecDeque;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
use lamina_proto::frame::{self, Decoder, ExitStatus, GuestKind, HostKind};
use spin::Mutex;

use crate::arch::port;

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

fn send(kind: GuestKind, data: &[u8]) {
    frame::encode(kind as u8, data, port::serial_write);
}

pub fn write_stdout(data: &[u8]) {
    send(GuestKind::Stdout, data);
}

pub fn write_stderr(data: &[u8]) {
    send(GuestKind::Stderr, data);
}

pub fn send_exit(status: ExitStatus) {
    send(GuestKind::Exit, &status.encode());
}

/// Formats into a fixed buffer (no heap needed, so a panic can still
/// report) and sends the text as one frame of `kind`.
fn send_fmt(kind: GuestKind, args: fmt::Arguments<'_>) {
    struct Line {
        buf: [u8; 512],
        len: usize,
    }
    impl Write for Line {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let room = self.buf.len() - self.len;
            let n = s.len().min(room);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
    let mut line = Line {
        buf: [0; 512],
        len: 0,
    };
    let _ = line.write_fmt(args);
    send(kind, &line.buf[..line.len]);
}

/// Sends one kernel log line (shown with `lamina -v`, and after a panic).
pub fn log_line(args: fmt::Arguments<'_>) {
    send_fmt(GuestKind::Log, args);
}

/// Writes one line of the kernel's own to the workload's stderr, where a
/// shell would report what it could not do.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    send_fmt(GuestKind::Stderr, args);
}

/// Logs a line that the host shows with `lamina -v`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        if $crate::console::verbose() {
            $crate::console::log_line(format_args!($($arg)*));
        }
    };
}

/// Bytes the host sent for stdin, and whether it reached end of file.
/// Created on the first use, which asks the host to start sending.
struct Stdin {
    decoder: Decoder,
    pending: VecDeque<u8>,
    eof: bool,
}

impl Stdin {
    fn open() -> Self {
        send(GuestKind::StdinWanted, &[]);
        Self {
            decoder: Decoder::new(),
            pending: VecDeque::new(),
            eof: false,
        }
    }
}

static STDIN: Mutex<Option<Stdin>> = Mutex::new(None);

fn drain_uart(stdin: &mut Stdin) {
    while let Some(byte) = port::serial_try_read() {
        if let Some(Ok(f)) = stdin.decoder.push(byte) {
            match HostKind::try_from(f.kind) {
                Ok(HostKind::Stdin) => stdin.pending.extend(f.payload.iter().copied()),
                Ok(HostKind::StdinEof) => stdin.eof = true,
                Err(_) => {}
            }
        }
    }
}

/// Moves stdin bytes that have arrived into `buf`: `Some(0)` at end of
/// file, `None` while nothing has arrived yet (the UART's interrupt
/// announces more).
pub fn try_read_stdin(buf: &mut [u8]) -> Option<usize> {
    let mut guard = STDIN.lock();
    let stdin = guard.get_or_insert_with(Stdin::open);
    drain_uart(stdin);
    if !stdin.pending.is_empty() {
        let n = buf.len().min(stdin.pending.len());
        for (dst, src) in buf.iter_mut().zip(stdin.pending.drain(..n)) {
            *dst = src;
        }
        return Some(n);
    }
    (stdin.eof || buf.is_empty()).then_some(0)
}

/// How many stdin bytes have arrived and wait to be read (`FIONREAD`).
pub fn stdin_pending() -> usize {
    let mut guard = STDIN.lock();
    let stdin = guard.get_or_insert_with(Stdin::open);
    drain_uart(stdin);
    stdin.pending.len()
}

/// Readers and pollers of stdin wait here; the UART's interrupt wakes them.
pub static STDIN_QUEUE: crate::task::wait::WaitQueue = crate::task::wait::WaitQueue::new();

/// The UART interrupted: takes what arrived and wakes stdin's waiters.
/// Nothing is read before the workload first asks for stdin.
pub fn poll_input() {
    let ready = {
        let mut guard = STDIN.lock();
        match guard.as_mut() {
            Some(stdin) => {
                drain_uart(stdin);
                !stdin.pending.is_empty() || stdin.eof
            }
            None => false,
        }
    };
    if ready {
        STDIN_QUEUE.wake_all();
    }
}

/// What `poll` sees on stdin: (bytes are waiting, the host's end is closed).
pub fn stdin_poll() -> (bool, bool) {
    let mut guard = STDIN.lock();
    let stdin = guard.get_or_insert_with(Stdin::open);
    drain_uart(stdin);
    (!stdin.pending.is_empty(), stdin.eof)
}
