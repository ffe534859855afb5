//! The host end of the "ctl" channel ([`lamina_proto::control`]): the
//! workload's stdout and stderr to lamina's, its exit status, and
//! lamina's stdin to the guest within the credit the guest grants.
//!
//! Pure state: the event loop hands it the bytes that arrived and takes
//! [`Control::output`] to write; stdout and stderr are the writers it is
//! given. The guest is not trusted: anything malformed or out of order is a
//! [`ControlError`], never a panic, and the run ends with it.

use std::fmt;
use std::io::Write;

use lamina_proto::channel::{Channel, ChannelError, FrameDecoder, Hello, MAX_DATA, TYPE_HELLO};
use lamina_proto::control::{GuestMsg, HostMsg, WindowSize};
use lamina_proto::flow::SendCredit;
use lamina_proto::frame::ExitStatus;

use crate::stdin::StdinRead;
use crate::trace::SharedTrace;

/// How the guest broke the control channel; one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// A malformed frame or message, or a failed Hello.
    Channel(ChannelError),
    /// A second Hello.
    SecondHello,
    /// A message after the exit status, which is the last one.
    AfterExit,
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Channel(err) => write!(f, "{err}"),
            Self::SecondHello => f.write_str("a second hello"),
            Self::AfterExit => f.write_str("a message after the exit status"),
        }
    }
}

impl From<ChannelError> for ControlError {
    fn from(err: ChannelError) -> Self {
        Self::Channel(err)
    }
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct Control {
    decoder: FrameDecoder,
    /// The agreed version, once the guest's Hello arrived.
    version: Option<u16>,
    exit: Option<ExitStatus>,
    /// What the guest has granted for stdin and not yet been sent.
    credit: SendCredit,
    /// The guest has granted stdin credit at least once.
    stdin_wanted: bool,
    stdin_eof_sent: bool,
    stdout_closed: bool,
    /// The first error: the channel stays broken.
    broken: Option<ControlError>,
    /// Frames for the guest, not yet written.
    out: Vec<u8>,
    /// Where Trace and Missing messages go (`--trace`, `--verbose`).
    trace: Option<SharedTrace>,
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

impl Control {
    /// A new connection; its first output is this side's Hello.
    pub fn new() -> Self {
        let mut out = Vec::new();
        Hello::new(Channel::Control).encode(&mut out);
        Self {
            decoder: FrameDecoder::new(),
            version: None,
            exit: None,
            credit: SendCredit::new(),
            stdin_wanted: false,
            stdin_eof_sent: false,
            stdout_closed: false,
            broken: None,
            out,
            trace: None,
        }
    }

    /// Hands Trace and Missing messages to `trace` (without it they are
    /// dropped).
    pub fn set_trace(&mut self, trace: SharedTrace) {
        self.trace = Some(trace);
    }

    /// The exit status, once the guest has sent it.
    pub fn exit(&self) -> Option<ExitStatus> {
        self.exit
    }

    /// Whether lamina's stdout turned out to be closed (a write failed).
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed
    }

    /// Whether the workload has read stdin (the guest granted credit).
    pub fn stdin_wanted(&self) -> bool {
        self.stdin_wanted
    }

    /// Bytes for the guest; the loop writes what the channel takes and
    /// removes that many from the front.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Bytes that arrived from the guest, split anywhere. stdout and
    /// stderr data are written (blocking) as they complete, in order; a
    /// failed stdout write discards the rest of stdout (the loop then ends
    /// the run as SIGPIPE would).
    pub fn receive(
        &mut self,
        bytes: &[u8],
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), ControlError> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        let result = self.decode(bytes, stdout, stderr);
        if let Err(err) = &result {
            self.broken = Some(err.clone());
        }
        result
    }

    fn decode(
        &mut self,
        mut bytes: &[u8],
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), ControlError> {
        let Self {
            decoder,
            version,
            exit,
            credit,
            stdin_wanted,
            stdout_closed,
            trace,
            ..
        } = self;
        while !bytes.is_empty() {
            let (used, frame) = decoder.feed(bytes);
            bytes = &bytes[used..];
            let Some(frame) = frame? else { continue };
            if version.is_none() {
                let peer = Hello::decode(frame)?;
                *version = Some(Hello::new(Channel::Control).agree(&peer)?);
                continue;
            }
            if frame.msg_type == TYPE_HELLO {
                return Err(ControlError::SecondHello);
            }
            let msg = GuestMsg::decode(frame)?;
            if exit.is_some() {
                return Err(ControlError::AfterExit);
            }
            match msg {
                GuestMsg::Stdout(data) => {
                    if !*stdout_closed
                        && (stdout.write_all(data).is_err() || stdout.flush().is_err())
                    {
                        *stdout_closed = true;
                        tracing::info!("stdout is closed; discarding the workload's output");
                    }
                }
                GuestMsg::Stderr(data) => {
                    let _ = stderr.write_all(data);
                    let _ = stderr.flush();
                }
                GuestMsg::Exit(status) => *exit = Some(status),
                GuestMsg::StdinCredit(amount) => {
                    credit.grant(amount)?;
                    *stdin_wanted = true;
                }
                GuestMsg::Trace(record) => {
                    if let Some(trace) = trace {
                        trace.borrow_mut().record(&record);
                    }
                }
                GuestMsg::Missing(missing) => {
                    if let Some(trace) = trace {
                        trace.borrow_mut().missing(&missing);
                    }
                }
            }
        }
        Ok(())
    }

    /// The guest's stream ended (the VMM is gone): a frame cut short is
    /// the guest's error.
    pub fn finish(&self) -> Result<(), ControlError> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        Ok(self.decoder.finish()?)
    }

    /// Queues lamina's terminal's new size for the guest (dropped once the
    /// workload is gone or the channel broke: nobody would see it).
    pub fn window_size(&mut self, size: WindowSize) {
        if self.exit.is_some() || self.broken.is_some() {
            return;
        }
        let encoded = HostMsg::WindowSize(size).encode(&mut self.out);
        debug_assert!(encoded.is_ok(), "a fixed-size message");
    }

    /// How many stdin bytes may be read now: within the guest's credit,
    /// one message at a time, and only while the previous ones have been
    /// written to the channel (lamina buffers no more than one message).
    pub fn stdin_room(&self) -> usize {
        if self.stdin_eof_sent
            || self.exit.is_some()
            || self.broken.is_some()
            || self.out.len() >= MAX_DATA
        {
            return 0;
        }
        (self.credit.available() as usize).min(MAX_DATA)
    }

    /// Reads stdin with `read` and queues it for the guest for as long as
    /// [`Self::stdin_room`] allows; at end of file queues `StdinEof`.
    /// Never sends more than the guest granted. Returns whether anything
    /// was queued.
    pub fn pump_stdin(
        &mut self,
        buf: &mut [u8],
        mut read: impl FnMut(&mut [u8]) -> StdinRead,
    ) -> bool {
        let mut queued = false;
        loop {
            let room = self.stdin_room().min(buf.len());
            if room == 0 {
                return queued;
            }
            match read(&mut buf[..room]) {
                StdinRead::Data(0) | StdinRead::Eof => {
                    let encoded = HostMsg::StdinEof.encode(&mut self.out);
                    debug_assert!(encoded.is_ok());
                    self.stdin_eof_sent = true;
                    return true;
                }
                StdinRead::Data(n) => {
                    let n = self.credit.take(n.min(room));
                    let encoded = HostMsg::Stdin(&buf[..n]).encode(&mut self.out);
                    debug_assert!(encoded.is_ok(), "at most MAX_DATA");
                    queued = true;
                }
                StdinRead::NotReady => return queued,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_proto::channel::Frame;
    use lamina_proto::control::{encode_output, Output};
    use std::cell::RefCell;
    use std::io;

    /// The guest side of a connection, as the kernel will speak it.
    struct FakeGuest {
        wire: Vec<u8>,
    }

    impl FakeGuest {
        fn new() -> Self {
            let mut wire = Vec::new();
            Hello::new(Channel::Control).encode(&mut wire);
            Self { wire }
        }

        fn send(mut self, msg: GuestMsg<'_>) -> Self {
            msg.encode(&mut self.wire).unwrap();
            self
        }
    }

    /// Feeds `wire` in pieces of `piece` bytes; returns stdout, stderr and
    /// the result.
    fn feed(
        control: &mut Control,
        wire: &[u8],
        piece: usize,
    ) -> (Vec<u8>, Vec<u8>, Result<(), ControlError>) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        for chunk in wire.chunks(piece) {
            if let Err(e) = control.receive(chunk, &mut out, &mut err) {
                return (out, err, Err(e));
            }
        }
        (out, err, Ok(()))
    }

    /// The host's frames in `bytes`: Hello first, then messages.
    fn host_messages(bytes: &[u8]) -> (Hello, Vec<(bool, Vec<u8>)>) {
        let mut rest = bytes;
        let (frame, used) = Frame::split(rest).unwrap().unwrap();
        let hello = Hello::decode(frame).unwrap();
        rest = &rest[used..];
        let mut msgs = Vec::new();
        while let Some((frame, used)) = Frame::split(rest).unwrap() {
            match HostMsg::decode(frame).unwrap() {
                HostMsg::Stdin(data) => msgs.push((false, data.to_vec())),
                HostMsg::StdinEof => msgs.push((true, Vec::new())),
                HostMsg::WindowSize(_) => panic!("no window size expected"),
            }
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
        (hello, msgs)
    }

    #[test]
    fn hello_first_then_stdout_stderr_in_order_and_the_exit_status() {
        let mut guest = FakeGuest::new();
        encode_output(Output::Stdout, b"one ", &mut guest.wire);
        encode_output(Output::Stderr, b"warn\n", &mut guest.wire);
        encode_output(Output::Stdout, b"two\n", &mut guest.wire);
        let guest = guest.send(GuestMsg::Exit(ExitStatus::Signaled(11)));
        for piece in [1, 2, 7, 4096] {
            let mut control = Control::new();
            // stdout and stderr into one log shows the interleaving.
            let log = RefCell::new(Vec::new());
            for chunk in guest.wire.chunks(piece) {
                control
                    .receive(chunk, &mut Shared(&log, b'o'), &mut Shared(&log, b'e'))
                    .unwrap();
            }
            let log = log.into_inner();
            let tagged: Vec<(u8, &[u8])> = log
                .split(|&b| b == 0)
                .filter(|piece| !piece.is_empty())
                .map(|piece| (piece[0], &piece[1..]))
                .collect();
            let text: Vec<u8> = tagged.iter().flat_map(|(_, d)| d.iter().copied()).collect();
            assert_eq!(text, b"one warn\ntwo\n", "pieces of {piece}");
            // Each write lands on its own stream.
            for (tag, data) in tagged {
                let expected = if data == b"warn\n" { b'e' } else { b'o' };
                assert_eq!(tag, expected, "{data:?}");
            }
            assert_eq!(control.exit(), Some(ExitStatus::Signaled(11)));
            assert_eq!(control.finish(), Ok(()));
            let (hello, msgs) = host_messages(control.output());
            assert_eq!(hello, Hello::new(Channel::Control));
            assert!(msgs.is_empty(), "no stdin without credit");
        }
    }

    /// A writer into a log shared by stdout and stderr: each write is
    /// `tag data.. 0` (the test data has no NUL bytes).
    struct Shared<'a>(&'a RefCell<Vec<u8>>, u8);
    impl Write for Shared<'_> {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut log = self.0.borrow_mut();
            log.push(self.1);
            log.extend_from_slice(data);
            log.push(0);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_exit_code_is_exact() {
        for code in 0..=255u8 {
            let guest = FakeGuest::new().send(GuestMsg::Exit(ExitStatus::Exited(code)));
            let mut control = Control::new();
            let (_, _, result) = feed(&mut control, &guest.wire, 3);
            result.unwrap();
            assert_eq!(control.exit().map(ExitStatus::shell_code), Some(code));
        }
    }

    /// stdin the fake host has: `data`, handed out in reads of at most
    /// `max` bytes, `NotReady` every third call, then end of file.
    struct FakeStdin {
        data: Vec<u8>,
        at: usize,
        max: usize,
        calls: usize,
    }

    impl FakeStdin {
        fn read(&mut self, buf: &mut [u8]) -> StdinRead {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return StdinRead::NotReady;
            }
            let n = buf.len().min(self.max).min(self.data.len() - self.at);
            if n == 0 {
                return StdinRead::Eof;
            }
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            StdinRead::Data(n)
        }
    }

    #[test]
    fn stdin_waits_for_credit_and_never_exceeds_it() {
        let input: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        let mut stdin = FakeStdin {
            data: input.clone(),
            at: 0,
            max: 50_000,
            calls: 0,
        };
        let mut control = Control::new();
        let mut buf = vec![0; 64 * 1024];
        // Before any credit nothing is read at all.
        control.pump_stdin(&mut buf, |b| stdin.read(b));
        assert_eq!(stdin.calls, 0);
        let hello_len = control.output().len();
        control.output().clear();

        let mut wire = FakeGuest::new().wire;
        control
            .receive(&wire, &mut Vec::new(), &mut Vec::new())
            .unwrap();
        let mut received = Vec::new();
        let mut granted = 0usize;
        let mut eof = false;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let grant = (state % 70_000) as u32;
            wire.clear();
            GuestMsg::StdinCredit(grant).encode(&mut wire).unwrap();
            control
                .receive(&wire, &mut Vec::new(), &mut Vec::new())
                .unwrap();
            granted += grant as usize;
            for _ in 0..3 {
                control.pump_stdin(&mut buf, |b| stdin.read(b));
                // The channel takes everything queued.
                let out = std::mem::take(control.output());
                let mut rest = &out[..];
                while let Some((frame, used)) = Frame::split(rest).unwrap() {
                    match HostMsg::decode(frame).unwrap() {
                        HostMsg::Stdin(data) => {
                            assert!(!eof);
                            assert!(data.len() <= MAX_DATA);
                            received.extend_from_slice(data);
                        }
                        HostMsg::StdinEof => eof = true,
                        HostMsg::WindowSize(_) => panic!("no window size expected"),
                    }
                    rest = &rest[used..];
                }
                assert!(received.len() <= granted, "sent past the credit");
            }
            if eof {
                break;
            }
        }
        assert!(hello_len > 0);
        assert!(eof);
        assert_eq!(received, input);
    }

    #[test]
    fn a_small_credit_is_honoured_exactly() {
        let mut control = Control::new();
        control.output().clear();
        let wire = FakeGuest::new().send(GuestMsg::StdinCredit(5)).wire;
        control
            .receive(&wire, &mut Vec::new(), &mut Vec::new())
            .unwrap();
        assert!(control.stdin_wanted());
        let mut buf = [0u8; 100];
        let mut asked = Vec::new();
        control.pump_stdin(&mut buf, |b| {
            asked.push(b.len());
            b.fill(b'x');
            StdinRead::Data(b.len())
        });
        assert_eq!(asked, [5]);
        let (_, msgs) = host_messages(&{
            let mut with_hello = Vec::new();
            Hello::new(Channel::Control).encode(&mut with_hello);
            with_hello.extend_from_slice(control.output());
            with_hello
        });
        assert_eq!(msgs, [(false, b"xxxxx".to_vec())]);
        // EOF needs room too: with no credit left nothing is read.
        control.output().clear();
        control.pump_stdin(&mut buf, |_| StdinRead::Eof);
        assert!(control.output().is_empty());
        let mut wire = Vec::new();
        GuestMsg::StdinCredit(1).encode(&mut wire).unwrap();
        control
            .receive(&wire, &mut Vec::new(), &mut Vec::new())
            .unwrap();
        control.pump_stdin(&mut buf, |_| StdinRead::Eof);
        assert_eq!(control.output(), &[1, 0, 0, 0, 2]);
        // After EOF nothing more is read.
        control.pump_stdin(&mut buf, |_| panic!("read after EOF"));
    }

    #[test]
    fn a_resize_is_queued_after_the_hello_and_not_after_the_exit() {
        let mut control = Control::new();
        let size = WindowSize {
            rows: 50,
            cols: 132,
            xpixel: 0,
            ypixel: 0,
        };
        control.window_size(size);
        let mut rest = &control.output()[..];
        let (frame, used) = Frame::split(rest).unwrap().unwrap();
        Hello::decode(frame).unwrap();
        rest = &rest[used..];
        let (frame, used) = Frame::split(rest).unwrap().unwrap();
        assert_eq!(HostMsg::decode(frame), Ok(HostMsg::WindowSize(size)));
        assert_eq!(used, rest.len());
        let guest = FakeGuest::new().send(GuestMsg::Exit(ExitStatus::Exited(0)));
        control
            .receive(&guest.wire, &mut Vec::new(), &mut Vec::new())
            .unwrap();
        control.output().clear();
        control.window_size(size);
        assert!(control.output().is_empty());
    }

    #[test]
    fn protocol_violations_are_errors() {
        let cases: Vec<(Vec<u8>, ControlError)> = vec![
            (
                {
                    let mut w = Vec::new();
                    GuestMsg::Stdout(b"x").encode(&mut w).unwrap();
                    w
                },
                ControlError::Channel(ChannelError::HelloExpected(1)),
            ),
            (
                {
                    let mut w = FakeGuest::new().wire;
                    Hello::new(Channel::Control).encode(&mut w);
                    w
                },
                ControlError::SecondHello,
            ),
            (
                {
                    let mut w = Vec::new();
                    Hello::new(Channel::Net).encode(&mut w);
                    w
                },
                ControlError::Channel(ChannelError::WrongChannel {
                    expected: Channel::Control,
                    got: Channel::Net,
                }),
            ),
            (
                FakeGuest::new()
                    .send(GuestMsg::Exit(ExitStatus::Exited(0)))
                    .send(GuestMsg::Stdout(b"late"))
                    .wire,
                ControlError::AfterExit,
            ),
            (
                FakeGuest::new()
                    .send(GuestMsg::StdinCredit(16 << 20))
                    .send(GuestMsg::StdinCredit(1))
                    .wire,
                ControlError::Channel(ChannelError::CreditOverflow),
            ),
            (
                {
                    let mut w = FakeGuest::new().wire;
                    w.extend([0xff, 0xff, 0xff, 0xff]);
                    w
                },
                ControlError::Channel(ChannelError::FrameTooLong(u32::MAX)),
            ),
            (
                {
                    let mut w = FakeGuest::new().wire;
                    w.extend([1, 0, 0, 0, 9]);
                    w
                },
                ControlError::Channel(ChannelError::UnknownType(9)),
            ),
        ];
        for (wire, expected) in cases {
            let mut control = Control::new();
            let (_, _, result) = feed(&mut control, &wire, 5);
            assert_eq!(result, Err(expected.clone()), "{wire:?}");
            assert!(!expected.to_string().is_empty());
        }
        // A stream cut inside a frame.
        let mut control = Control::new();
        let wire = FakeGuest::new().send(GuestMsg::Stdout(b"cut")).wire;
        let (out, _, result) = feed(&mut control, &wire[..wire.len() - 1], 4);
        result.unwrap();
        assert!(out.is_empty());
        assert_eq!(
            control.finish(),
            Err(ControlError::Channel(ChannelError::EndInsideFrame))
        );
    }

    #[test]
    fn random_input_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..10_000 {
            let mut control = Control::new();
            // Half start with a good Hello, so the messages get decoded.
            let mut wire = if round % 2 == 0 {
                FakeGuest::new().wire
            } else {
                Vec::new()
            };
            let len = (next() % 64) as usize;
            for _ in 0..len {
                // Small lengths and types, so frames complete often.
                let byte = match next() % 4 {
                    0 => (next() % 8) as u8,
                    _ => next() as u8,
                };
                wire.push(byte);
            }
            let mut stdout = Vec::new();
            let result = control.receive(&wire, &mut stdout, &mut Vec::new());
            let _ = control.finish();
            control.pump_stdin(&mut [0; 16], |b| StdinRead::Data(b.len()));
            assert!(stdout.len() <= wire.len());
            if result.is_err() {
                // Once broken, it stays broken.
                assert!(control
                    .receive(&[1, 0, 0, 0, 1], &mut Vec::new(), &mut Vec::new())
                    .is_err());
            }
        }
    }

    struct ClosedPipe;
    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_stdout_is_remembered_not_fatal() {
        let mut control = Control::new();
        let guest = FakeGuest::new()
            .send(GuestMsg::Stdout(b"lost"))
            .send(GuestMsg::Stderr(b"kept"))
            .send(GuestMsg::Exit(ExitStatus::Exited(0)));
        let mut stderr = Vec::new();
        control
            .receive(&guest.wire, &mut ClosedPipe, &mut stderr)
            .unwrap();
        assert!(control.stdout_closed());
        assert_eq!(stderr, b"kept");
        assert_eq!(control.exit(), Some(ExitStatus::Exited(0)));
    }

    #[test]
    fn trace_records_and_missing_calls_reach_the_trace() {
        use lamina_proto::trace::{Missing, MissingKind, TraceKind, TraceRecord};
        let record = TraceRecord {
            kind: TraceKind::Syscall,
            pid: 1,
            tid: 1,
            start_ns: 0,
            duration_ns: 5_000,
            result: 3,
            name: "openat",
            args: "AT_FDCWD, \"/x\", O_RDONLY",
            decoration: "",
        };
        let missing = Missing {
            kind: MissingKind::Syscall,
            name: "eventfd2",
            count: 2,
        };
        let guest = FakeGuest::new()
            .send(GuestMsg::Trace(record))
            .send(GuestMsg::Missing(missing))
            .send(GuestMsg::Exit(ExitStatus::Exited(0)));
        let (trace, written) = crate::trace::test_writer();
        let mut control = Control::new();
        control.set_trace(trace);
        let (out, err, result) = feed(&mut control, &guest.wire, 3);
        assert_eq!(result, Ok(()));
        assert!(out.is_empty() && err.is_empty());
        assert_eq!(
            written(),
            "[1] openat(AT_FDCWD, \"/x\", O_RDONLY) = 3 <0.000005>\nlamina: not implemented: eventfd2 x2\n"
        );
        // Without a trace they are dropped; the run goes on.
        let mut control = Control::new();
        assert_eq!(feed(&mut control, &guest.wire, 4096).2, Ok(()));
        assert_eq!(control.exit(), Some(ExitStatus::Exited(0)));
    }

    /// A malformed trace record is a broken channel, like any malformed
    /// message: one error, no panic.
    #[test]
    fn a_malformed_trace_record_breaks_the_channel() {
        let mut guest = FakeGuest::new();
        // A Trace message whose name is not UTF-8.
        let mut body = vec![1u8];
        body.extend_from_slice(&[0; 4 + 4 + 8 + 8 + 8]);
        body.extend_from_slice(&[1, 0xff, 0, 0, 0, 0]);
        guest
            .wire
            .extend_from_slice(&(body.len() as u32 + 1).to_le_bytes());
        guest.wire.push(5);
        guest.wire.extend_from_slice(&body);
        let (trace, _) = crate::trace::test_writer();
        let mut control = Control::new();
        control.set_trace(trace);
        let (_, _, result) = feed(&mut control, &guest.wire, 7);
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), "bad trace record text");
    }
}
