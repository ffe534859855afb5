//! The workload's stdio and exit status, and the kernel log.
//!
//! Where the host opened the "ctl" channel (`crate::channel`, a
//! virtio-console port on QEMU), stdout, stderr, stdin and the exit status
//! travel on it as `lamina_proto::control` messages: in bulk, with
//! back-pressure (a write waits while the host has not taken the bytes
//! before it), stdin bounded by the credit the guest grants as the
//! workload reads. The serial line (`lamina_proto::frame`, a byte per port
//! write) always carries the kernel log, and carries stdio too where there
//! is no ctl channel (Cloud Hypervisor, Firecracker).

use alloc::collections::VecDeque;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
use lamina_abi::errno::Errno;
use lamina_proto::channel::{Channel, ChannelError, Frame, HEADER_LEN, MAX_DATA};
use lamina_proto::control::{self, Output};
use lamina_proto::flow::RecvWindow;
use lamina_proto::frame::{self, Decoder, ExitStatus, GuestKind, HostKind};
use spin::Mutex;

use crate::arch::port;
use crate::channel;

/// The stdin bytes the guest buffers at most (its credit window on ctl).
const STDIN_WINDOW: u32 = 64 * 1024;

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

/// Writes to the workload's stdout or stderr: on ctl as much as the
/// channel has room for (EAGAIN: none; the caller waits on
/// [`output_queue`]), else all of it on the serial line.
pub fn write_output(stream: Output, data: &[u8]) -> Result<usize, Errno> {
    if !channel::is_up(Channel::Control) {
        let kind = match stream {
            Output::Stdout => GuestKind::Stdout,
            Output::Stderr => GuestKind::Stderr,
        };
        send(kind, data);
        return Ok(data.len());
    }
    let mut done = 0;
    while done < data.len() {
        let room = channel::room(Channel::Control);
        if room <= HEADER_LEN {
            break;
        }
        // A full frame is exactly one 64 KiB transmit buffer (a frame of
        // MAX_DATA bytes would leave its last bytes a buffer of their own).
        let n = (data.len() - done)
            .min(MAX_DATA - HEADER_LEN)
            .min(room - HEADER_LEN);
        let header = control::output_header(stream, n).expect("at most MAX_DATA");
        match channel::send_parts(Channel::Control, &[&header, &data[done..done + n]]) {
            Ok(()) => done += n,
            Err(_) => break,
        }
    }
    match done {
        0 if !data.is_empty() && channel::is_up(Channel::Control) => Err(Errno::EAGAIN),
        0 if !data.is_empty() => Err(Errno::EPIPE),
        n => Ok(n),
    }
}

/// Where writers of stdout and stderr wait for room, when there is a
/// channel to wait for.
pub fn output_queue() -> Option<&'static crate::task::wait::WaitQueue> {
    channel::is_up(Channel::Control).then(|| channel::send_queue(Channel::Control))
}

/// How many bytes one [`write_output`] takes whole now: None on the
/// serial line, which takes everything.
pub fn output_room() -> Option<usize> {
    if !channel::is_up(Channel::Control) {
        return None;
    }
    let room = channel::room(Channel::Control).saturating_sub(HEADER_LEN);
    Some(room.min(MAX_DATA - HEADER_LEN))
}

/// Whether a write to stdout or stderr would go through now.
pub fn output_writable() -> bool {
    !channel::is_up(Channel::Control) || channel::room(Channel::Control) > HEADER_LEN
}

/// Reports the workload's exit status: on ctl after everything written
/// before it (waiting until the host has taken it all), else on the
/// serial line. A kernel panic uses the serial line only.
pub fn send_exit(status: ExitStatus) {
    if status != ExitStatus::KernelPanic && channel::is_up(Channel::Control) {
        let mut msg = alloc::vec::Vec::new();
        if control::GuestMsg::Exit(status).encode(&mut msg).is_ok() {
            send_waiting(&msg);
            if channel::is_up(Channel::Control) {
                channel::flush(Channel::Control, None);
                return;
            }
        }
    }
    send(GuestKind::Exit, &status.encode());
}

/// Sends one `--trace` record: on ctl in order with the workload's output
/// (waiting in place while the host has not taken what came before: a
/// trace slows the workload down rather than lose records), else on the
/// serial line.
pub fn send_trace(record: &lamina_proto::trace::TraceRecord<'_>) {
    send_diagnostic(
        &control::GuestMsg::Trace(*record),
        GuestKind::Trace,
        |out| record.encode(out),
    );
}

/// Sends one line of the missing-call report (see `crate::trace`).
pub fn send_missing(missing: &lamina_proto::trace::Missing<'_>) {
    send_diagnostic(
        &control::GuestMsg::Missing(*missing),
        GuestKind::Missing,
        |out| missing.encode(out),
    );
}

fn send_diagnostic(
    msg: &control::GuestMsg<'_>,
    serial_kind: GuestKind,
    payload: impl FnOnce(&mut alloc::vec::Vec<u8>),
) {
    let mut frame = alloc::vec::Vec::new();
    if channel::is_up(Channel::Control) {
        if msg.encode(&mut frame).is_err() {
            return;
        }
        send_waiting(&frame);
        return;
    }
    payload(&mut frame);
    send(serial_kind, &frame);
}

/// Sends `frame` on ctl, waiting in place (servicing the channel) until
/// there is room; gives up only when the channel is gone.
fn send_waiting(frame: &[u8]) {
    loop {
        match channel::send(Channel::Control, frame) {
            Ok(()) => return,
            Err(Errno::EAGAIN) => {
                channel::service();
                crate::time::wait_until(crate::time::monotonic_ns() + 200_000);
            }
            Err(_) => return,
        }
    }
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
    if channel::is_up(Channel::Control) {
        let mut line = alloc::string::String::new();
        let _ = line.write_fmt(args);
        let _ = write_output(Output::Stderr, line.as_bytes());
        return;
    }
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
    /// On ctl: what the host may still send; credit not yet sent (the
    /// channel had no room) goes with the next chance.
    window: RecvWindow,
    credit_owed: u32,
}

impl Stdin {
    fn open() -> Self {
        let mut window = RecvWindow::new(STDIN_WINDOW);
        let mut credit_owed = 0;
        if channel::is_up(Channel::Control) {
            credit_owed = window.open();
        } else {
            send(GuestKind::StdinWanted, &[]);
        }
        let mut stdin = Self {
            decoder: Decoder::new(),
            pending: VecDeque::new(),
            eof: false,
            window,
            credit_owed,
        };
        stdin.send_credit();
        stdin
    }

    fn send_credit(&mut self) {
        if self.credit_owed == 0 {
            return;
        }
        let mut msg = alloc::vec::Vec::new();
        let encoded = control::GuestMsg::StdinCredit(self.credit_owed).encode(&mut msg);
        if encoded.is_ok() && channel::send(Channel::Control, &msg).is_ok() {
            self.credit_owed = 0;
        }
    }

    /// Takes `n` bytes out of `pending`, granting the host more when
    /// the window has room worth a message.
    fn consumed(&mut self, n: usize) {
        if channel::is_up(Channel::Control) {
            if let Some(credit) = self.window.consume(n) {
                self.credit_owed += credit;
            }
            self.send_credit();
        }
    }
}

static STDIN: Mutex<Option<Stdin>> = Mutex::new(None);

fn drain_uart(stdin: &mut Stdin) {
    if channel::is_up(Channel::Control) {
        // Input comes on ctl ([`receive`]); retry credit the channel had
        // no room for.
        stdin.send_credit();
        return;
    }
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
        stdin.consumed(n);
        return Some(n);
    }
    (stdin.eof || buf.is_empty()).then_some(0)
}

/// Starts taking stdin now (the terminal's line discipline takes
/// keystrokes from the start, not at the first read).
pub fn open_stdin() {
    STDIN.lock().get_or_insert_with(Stdin::open);
}

/// Takes up to `max` raw stdin bytes for the terminal's line discipline
/// (`crate::fs::tty`), and whether the host's stdin has ended with
/// nothing left.
pub fn take_stdin(max: usize) -> (alloc::vec::Vec<u8>, bool) {
    let mut guard = STDIN.lock();
    let stdin = guard.get_or_insert_with(Stdin::open);
    drain_uart(stdin);
    let n = max.min(stdin.pending.len());
    let bytes: alloc::vec::Vec<u8> = stdin.pending.drain(..n).collect();
    if n > 0 {
        stdin.consumed(n);
    }
    (bytes, stdin.eof && stdin.pending.is_empty())
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
        crate::fs::tty::pump();
    }
}

/// What `poll` sees on stdin: (bytes are waiting, the host's end is closed).
pub fn stdin_poll() -> (bool, bool) {
    let mut guard = STDIN.lock();
    let stdin = guard.get_or_insert_with(Stdin::open);
    drain_uart(stdin);
    (!stdin.pending.is_empty(), stdin.eof)
}

/// A message from the host on ctl (`crate::channel` calls this).
pub fn receive(frame: Frame<'_>) -> Result<(), ChannelError> {
    let msg = control::HostMsg::decode(frame)?;
    if let control::HostMsg::WindowSize(size) = msg {
        crate::fs::tty::resize(
            lamina_abi::types::Winsize {
                ws_row: size.rows,
                ws_col: size.cols,
                ws_xpixel: size.xpixel,
                ws_ypixel: size.ypixel,
            },
            None,
        );
        return Ok(());
    }
    {
        let mut guard = STDIN.lock();
        // Input before the first credit is past the credit (none).
        let Some(stdin) = guard.as_mut() else {
            return Err(ChannelError::CreditExceeded { len: 1, credit: 0 });
        };
        match msg {
            control::HostMsg::Stdin(data) => {
                stdin.window.receive(data.len())?;
                stdin.pending.extend(data.iter().copied());
            }
            control::HostMsg::StdinEof => stdin.eof = true,
            control::HostMsg::WindowSize(_) => {}
        }
    }
    STDIN_QUEUE.wake_all();
    crate::fs::tty::pump();
    Ok(())
}
