//! The host end of the console: frames from the guest are routed to
//! lamina's stdout and stderr, lamina's stdin goes to the guest.

use std::collections::VecDeque;
use std::io::Write;

use lamina_proto::frame::{self, Decoder, ExitStatus, GuestKind, HostKind};
use lamina_proto::trace::{Missing, TraceRecord};

use crate::stdin::StdinRead;
use crate::trace::SharedTrace;

/// How many kernel log lines are kept for error reports.
pub const LOG_TAIL_LINES: usize = 50;

/// Decodes the guest's byte stream and sends each frame where it belongs.
/// Malformed input is counted and skipped, never fatal: the guest is not
/// trusted to be well-behaved.
#[derive(Debug)]
pub struct Router<O: Write, E: Write> {
    decoder: Decoder,
    stdout: O,
    stderr: E,
    verbose: bool,
    stdout_broken: bool,
    log_tail: VecDeque<String>,
    exit: Option<ExitStatus>,
    malformed_frames: u64,
    stdin_wanted: bool,
    /// Where Trace and Missing frames go (`--trace`, `--verbose`).
    trace: Option<SharedTrace>,
}

/// What the router learned by the end of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleReport {
    pub exit: Option<ExitStatus>,
    pub log_tail: Vec<String>,
    pub malformed_frames: u64,
}

impl<O: Write, E: Write> Router<O, E> {
    pub fn new(stdout: O, stderr: E, verbose: bool) -> Self {
        Self {
            decoder: Decoder::new(),
            stdout,
            stderr,
            verbose,
            stdout_broken: false,
            log_tail: VecDeque::with_capacity(LOG_TAIL_LINES),
            exit: None,
            malformed_frames: 0,
            stdin_wanted: false,
            trace: None,
        }
    }

    /// Hands Trace and Missing frames to `trace` (without it they are
    /// dropped).
    pub fn set_trace(&mut self, trace: SharedTrace) {
        self.trace = Some(trace);
    }

    /// Whether the guest has asked for stdin.
    pub fn stdin_wanted(&self) -> bool {
        self.stdin_wanted
    }

    /// Whether lamina's stdout is a closed pipe.
    pub fn stdout_closed(&self) -> bool {
        self.stdout_broken
    }

    /// The exit status, once the guest has reported one.
    pub fn exit(&self) -> Option<ExitStatus> {
        self.exit
    }

    /// Feeds bytes as they arrive from the socket.
    pub fn feed(&mut self, bytes: &[u8]) {
        let Self {
            decoder,
            stdout,
            stderr,
            verbose,
            stdout_broken,
            log_tail,
            exit,
            malformed_frames,
            stdin_wanted,
            trace,
        } = self;
        for &byte in bytes {
            let frame = match decoder.push(byte) {
                None => continue,
                Some(Ok(frame)) => frame,
                Some(Err(err)) => {
                    *malformed_frames += 1;
                    tracing::info!("malformed console frame: {err}");
                    continue;
                }
            };
            match GuestKind::try_from(frame.kind) {
                Ok(GuestKind::Stdout) => {
                    // A closed stdout (`lamina run ... | head`) drops the
                    // rest of the output; the supervisor then ends the VM.
                    if !*stdout_broken
                        && (stdout.write_all(frame.payload).is_err() || stdout.flush().is_err())
                    {
                        *stdout_broken = true;
                        tracing::info!("stdout is closed; discarding the workload's output");
                    }
                }
                Ok(GuestKind::Stderr) => {
                    let _ = stderr.write_all(frame.payload);
                    let _ = stderr.flush();
                }
                Ok(GuestKind::Log) => {
                    let line = String::from_utf8_lossy(frame.payload);
                    let line = line.trim_end_matches('\n');
                    if *verbose {
                        let _ = writeln!(stderr, "{line}");
                    }
                    if log_tail.len() == LOG_TAIL_LINES {
                        log_tail.pop_front();
                    }
                    log_tail.push_back(line.to_string());
                }
                Ok(GuestKind::StdinWanted) => *stdin_wanted = true,
                Ok(GuestKind::Trace) => match TraceRecord::decode(frame.payload) {
                    Ok(record) => {
                        if let Some(trace) = trace {
                            trace.borrow_mut().record(&record);
                        }
                    }
                    Err(err) => {
                        *malformed_frames += 1;
                        tracing::info!("malformed console frame: {err}");
                    }
                },
                Ok(GuestKind::Missing) => match Missing::decode(frame.payload) {
                    Ok(missing) => {
                        if let Some(trace) = trace {
                            trace.borrow_mut().missing(&missing);
                        }
                    }
                    Err(err) => {
                        *malformed_frames += 1;
                        tracing::info!("malformed console frame: {err}");
                    }
                },
                Ok(GuestKind::Exit) => match ExitStatus::decode(frame.payload) {
                    Ok(status) if exit.is_none() => *exit = Some(status),
                    Ok(status) => {
                        *malformed_frames += 1;
                        tracing::info!("ignoring a second exit status {status:?}");
                    }
                    Err(err) => {
                        *malformed_frames += 1;
                        tracing::info!("malformed console frame: {err}");
                    }
                },
                Err(err) => {
                    *malformed_frames += 1;
                    tracing::info!("malformed console frame: {err}");
                }
            }
        }
    }

    pub fn report(&self) -> ConsoleReport {
        ConsoleReport {
            exit: self.exit,
            log_tail: self.log_tail.iter().cloned().collect(),
            malformed_frames: self.malformed_frames,
        }
    }
}

/// Reads lamina's stdin with `read` and queues it in `out` as `Stdin`
/// frames for the guest's console, then `StdinEof` at end of file. One
/// frame at a time: nothing is read while `out` still holds one, so
/// lamina buffers no more than that (the console's own back-pressure is
/// the only flow control on this carrier). Returns what the read gave
/// (`Eof` once `StdinEof` is queued; `NotReady` also while `out` is not
/// empty); call it only after the guest asked ([`Router::stdin_wanted`]).
pub fn pump_stdin(
    out: &mut Vec<u8>,
    buf: &mut [u8],
    mut read: impl FnMut(&mut [u8]) -> StdinRead,
) -> StdinRead {
    if !out.is_empty() {
        return StdinRead::NotReady;
    }
    let room = buf.len().min(frame::MAX_PAYLOAD);
    match read(&mut buf[..room]) {
        StdinRead::NotReady => StdinRead::NotReady,
        StdinRead::Data(0) | StdinRead::Eof => {
            frame::encode(HostKind::StdinEof as u8, &[], |piece| {
                out.extend_from_slice(piece)
            });
            StdinRead::Eof
        }
        StdinRead::Data(n) => {
            frame::encode(HostKind::Stdin as u8, &buf[..n], |piece| {
                out.extend_from_slice(piece)
            });
            StdinRead::Data(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn frames(kind: GuestKind, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        frame::encode(kind as u8, data, |piece| out.extend_from_slice(piece));
        out
    }

    fn route(bytes: &[u8], verbose: bool) -> (Vec<u8>, Vec<u8>, ConsoleReport) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut router = Router::new(&mut out, &mut err, verbose);
        // Uneven chunks, as a socket delivers them.
        for chunk in bytes.chunks(1000) {
            router.feed(chunk);
        }
        let report = router.report();
        (out, err, report)
    }

    #[test]
    fn routes_each_kind() {
        let mut wire = frames(GuestKind::Stdout, b"out\0\xff");
        wire.extend(frames(GuestKind::Log, b"booted\n"));
        wire.extend(frames(GuestKind::Stderr, b"err"));
        wire.extend(frames(GuestKind::Exit, &ExitStatus::Exited(3).encode()));
        let (out, err, report) = route(&wire, false);
        assert_eq!(out, b"out\0\xff");
        assert_eq!(err, b"err");
        assert_eq!(report.exit, Some(ExitStatus::Exited(3)));
        assert_eq!(report.log_tail, ["booted"]);
        assert_eq!(report.malformed_frames, 0);
    }

    #[test]
    fn logs_go_to_stderr_only_when_verbose() {
        let wire = frames(GuestKind::Log, b"hello");
        let (_, err, _) = route(&wire, true);
        assert_eq!(err, b"hello\n");
    }

    #[test]
    fn log_tail_is_bounded() {
        let mut wire = Vec::new();
        for i in 0..LOG_TAIL_LINES + 10 {
            wire.extend(frames(GuestKind::Log, format!("line {i}").as_bytes()));
        }
        let (_, _, report) = route(&wire, false);
        assert_eq!(report.log_tail.len(), LOG_TAIL_LINES);
        assert_eq!(report.log_tail[0], "line 10");
    }

    #[test]
    fn garbage_never_panics_and_stdout_gets_only_stdout_frames() {
        // Deterministic pseudo-random garbage between well-formed frames.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for round in 0..200u32 {
            // Unknown kinds with a plausible length, oversized headers and
            // bad exit payloads: each resynchronises on a frame boundary.
            match next() % 4 {
                0 => wire.extend([0x7f, 2, 0, 1, 2]),
                1 => wire.extend([1, 0xff, 0xff]),
                2 => wire.extend([GuestKind::Exit as u8, 1, 0, 9]),
                _ => wire.extend([0, 0, 0]),
            }
            let payload = format!("chunk {round} {}\n", next());
            expected.extend_from_slice(payload.as_bytes());
            wire.extend(frames(GuestKind::Stdout, payload.as_bytes()));
        }
        let (out, _, report) = route(&wire, false);
        assert_eq!(out, expected);
        assert!(report.malformed_frames >= 100);
        assert_eq!(report.exit, None);

        // Pure noise: whatever it decodes to, no panic.
        let noise: Vec<u8> = (0..200_000).map(|_| next() as u8).collect();
        let _ = route(&noise, true);
    }

    #[test]
    fn only_the_first_exit_status_counts() {
        let mut wire = frames(GuestKind::Exit, &ExitStatus::Signaled(11).encode());
        wire.extend(frames(GuestKind::Exit, &ExitStatus::Exited(0).encode()));
        let (_, _, report) = route(&wire, false);
        assert_eq!(report.exit, Some(ExitStatus::Signaled(11)));
        assert_eq!(report.malformed_frames, 1);
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
    fn closed_stdout_is_not_fatal() {
        let mut wire = frames(GuestKind::Stdout, b"lost");
        wire.extend(frames(GuestKind::Exit, &ExitStatus::Exited(0).encode()));
        let mut router = Router::new(ClosedPipe, Vec::new(), false);
        router.feed(&wire);
        assert_eq!(router.exit(), Some(ExitStatus::Exited(0)));
    }

    #[test]
    fn stdin_is_framed_one_at_a_time_and_ends_with_eof() {
        let input: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut rest = &input[..];
        let mut read = |buf: &mut [u8]| {
            let n = buf.len().min(rest.len()).min(3000);
            buf[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            StdinRead::Data(n)
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::new();
        let mut wire = Vec::new();
        let mut eof = false;
        while !eof {
            eof = pump_stdin(&mut out, &mut buf, &mut read) == StdinRead::Eof;
            // A frame still queued holds back the next read.
            assert_eq!(
                pump_stdin(&mut out, &mut buf, |_| panic!("read")),
                StdinRead::NotReady
            );
            wire.append(&mut out);
        }
        let mut decoder = Decoder::new();
        let mut data = Vec::new();
        let mut kinds = Vec::new();
        for &b in &wire {
            if let Some(frame) = decoder.push(b) {
                let frame = frame.unwrap();
                kinds.push(HostKind::try_from(frame.kind).unwrap());
                data.extend_from_slice(frame.payload);
            }
        }
        assert_eq!(data, input);
        assert_eq!(kinds.last(), Some(&HostKind::StdinEof));
        assert!(kinds[..kinds.len() - 1]
            .iter()
            .all(|&kind| kind == HostKind::Stdin));
    }

    #[test]
    fn stdin_not_ready_queues_nothing() {
        let mut out = Vec::new();
        assert_eq!(
            pump_stdin(&mut out, &mut [0; 16], |_| StdinRead::NotReady),
            StdinRead::NotReady
        );
        assert!(out.is_empty());
    }

    #[test]
    fn trace_frames_reach_the_trace_and_bad_ones_are_skipped() {
        use lamina_proto::trace::{Missing, MissingKind, TraceKind, TraceRecord};
        let record = TraceRecord {
            kind: TraceKind::Net,
            pid: 2,
            tid: 3,
            start_ns: 0,
            duration_ns: 1_000_000,
            result: -111,
            name: "connect",
            args: "id=1, 127.0.0.1:9",
            decoration: "",
        };
        let mut payload = Vec::new();
        record.encode(&mut payload);
        let mut wire = frames(GuestKind::Trace, &payload);
        wire.extend(frames(GuestKind::Trace, b"\x09garbage"));
        let mut payload = Vec::new();
        Missing {
            kind: MissingKind::Ioctl,
            name: "ioctl TIOCSTI",
            count: 1,
        }
        .encode(&mut payload);
        wire.extend(frames(GuestKind::Missing, &payload));
        wire.extend(frames(GuestKind::Missing, b""));
        wire.extend(frames(GuestKind::Stdout, b"still here"));
        let (trace, written) = crate::trace::test_writer();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut router = Router::new(&mut out, &mut err, false);
        router.set_trace(trace);
        router.feed(&wire);
        let report = router.report();
        assert_eq!(report.malformed_frames, 2);
        assert_eq!(out, b"still here");
        assert_eq!(
            written(),
            "[3]   net connect(id=1, 127.0.0.1:9) = -1 ECONNREFUSED (Connection refused) <0.001000>\nlamina: not implemented: ioctl TIOCSTI x1\n"
        );
    }
}
