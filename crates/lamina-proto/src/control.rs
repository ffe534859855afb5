//! The "ctl" channel: the workload's stdio and exit status (issue 9).
//!
//! stdout and stderr travel as separate messages on one ordered stream, so
//! the host writes each to its own fd in the order the workload wrote them.
//! The host does not read ahead of its own stdout: a slow host stdout
//! stops the channel, which stops the guest's writes. stdin is the other
//! way round and bounded by credit ([`crate::flow`]): the host sends only
//! as many bytes as the guest granted, and the guest grants only when the
//! workload reads (its first read opens the window, so a workload that
//! never reads takes no input). The exit status is a message of its own,
//! so every code 0-255 and every 128+signal reaches the host exactly.
//!
//! Layouts after the frame header (`len[4] type[1]`, see
//! [`crate::channel`]):
//!
//! ```text
//! guest -> host                       host -> guest
//!  1 Stdout       data...              1 Stdin       data...
//!  2 Stderr       data...              2 StdinEof    (empty)
//!  3 Exit         tag[1] value[1]      3 WindowSize  rows[2] cols[2] xpixel[2] ypixel[2]
//!  4 StdinCredit  amount[4]
//!  5 Trace        a trace::TraceRecord (`lamina run --trace`)
//!  6 Missing      a trace::Missing (a call lamina lacks, and how often)
//! (Exit carries the two bytes of frame::ExitStatus)
//! ```
//!
//! The guest sends Trace and Missing only when the host asked for a trace
//! (the kernel command-line token `trace`) or for `--verbose`.
//!
//! `WindowSize` says lamina's terminal was resized (SIGWINCH on the
//! host): the guest's terminal takes the size (`TIOCGWINSZ`) and sends
//! SIGWINCH to its foreground process group. The size at start travels
//! on the kernel command line.

use crate::channel::{check_data, encode_frame, ChannelError, Frame, MAX_DATA};
use crate::frame::ExitStatus;
use crate::trace::{Missing, TraceError, TraceRecord};
use alloc::vec::Vec;

/// Guest to host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestMsg<'a> {
    Stdout(&'a [u8]),
    Stderr(&'a [u8]),
    /// The workload is gone; the last message on the channel.
    Exit(ExitStatus),
    /// The workload read stdin: the host may send this many more bytes.
    StdinCredit(u32),
    /// One traced system call or forwarded operation.
    Trace(TraceRecord<'a>),
    /// A call lamina lacks, and how many times the workload made it.
    Missing(Missing<'a>),
}

/// Host to guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMsg<'a> {
    /// Bytes for the workload's fd 0, within the guest's credit.
    Stdin(&'a [u8]),
    /// lamina's stdin reached end of file: reads return 0 once the bytes
    /// before it are read.
    StdinEof,
    /// lamina's terminal has a new size (`struct winsize`'s fields).
    WindowSize(WindowSize),
}

/// A terminal's size, as `struct winsize` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

/// Which of the workload's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Output {
    Stdout,
    Stderr,
}

const G_STDOUT: u8 = 1;
const G_STDERR: u8 = 2;
const G_EXIT: u8 = 3;
const G_STDIN_CREDIT: u8 = 4;
const G_TRACE: u8 = 5;
const G_MISSING: u8 = 6;
const H_STDIN: u8 = 1;
const H_STDIN_EOF: u8 = 2;
const H_WINDOW_SIZE: u8 = 3;

impl<'a> GuestMsg<'a> {
    /// Appends this message's frame to `out` (unchanged on error: data
    /// over [`MAX_DATA`]; [`encode_output`] splits any length).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ChannelError> {
        match *self {
            Self::Stdout(data) => encode_data(out, G_STDOUT, data),
            Self::Stderr(data) => encode_data(out, G_STDERR, data),
            Self::Exit(status) => encode_frame(out, G_EXIT, |w| {
                w.bytes(&status.encode());
                Ok(())
            }),
            Self::StdinCredit(amount) => encode_frame(out, G_STDIN_CREDIT, |w| {
                w.u32(amount);
                Ok(())
            }),
            Self::Trace(record) => encode_frame(out, G_TRACE, |w| {
                record.encode(w.out);
                Ok(())
            }),
            Self::Missing(missing) => encode_frame(out, G_MISSING, |w| {
                missing.encode(w.out);
                Ok(())
            }),
        }
    }

    pub fn decode(frame: Frame<'a>) -> Result<Self, ChannelError> {
        let mut r = frame.reader();
        let msg = match frame.msg_type {
            G_STDOUT => Self::Stdout(r.data()?),
            G_STDERR => Self::Stderr(r.data()?),
            G_EXIT => {
                let bytes = r.rest();
                // Only the canonical two bytes: the status is the one
                // number the host must get exactly right.
                match ExitStatus::decode(bytes) {
                    Ok(status) if status.encode() == bytes => Self::Exit(status),
                    _ => return Err(ChannelError::BadValue("exit status")),
                }
            }
            G_STDIN_CREDIT => Self::StdinCredit(r.u32()?),
            G_TRACE => Self::Trace(TraceRecord::decode(r.rest()).map_err(trace_error)?),
            G_MISSING => Self::Missing(Missing::decode(r.rest()).map_err(trace_error)?),
            other => return Err(ChannelError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

impl<'a> HostMsg<'a> {
    /// Appends this message's frame to `out` (unchanged on error: data
    /// over [`MAX_DATA`]).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ChannelError> {
        match *self {
            Self::Stdin(data) => encode_data(out, H_STDIN, data),
            Self::StdinEof => encode_frame(out, H_STDIN_EOF, |_| Ok(())),
            Self::WindowSize(size) => encode_frame(out, H_WINDOW_SIZE, |w| {
                w.u16(size.rows);
                w.u16(size.cols);
                w.u16(size.xpixel);
                w.u16(size.ypixel);
                Ok(())
            }),
        }
    }

    pub fn decode(frame: Frame<'a>) -> Result<Self, ChannelError> {
        let mut r = frame.reader();
        let msg = match frame.msg_type {
            H_STDIN => Self::Stdin(r.data()?),
            H_STDIN_EOF => Self::StdinEof,
            H_WINDOW_SIZE => Self::WindowSize(WindowSize {
                rows: r.u16()?,
                cols: r.u16()?,
                xpixel: r.u16()?,
                ypixel: r.u16()?,
            }),
            other => return Err(ChannelError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// A malformed trace record is a malformed ctl message.
fn trace_error(e: TraceError) -> ChannelError {
    match e {
        TraceError::Truncated => ChannelError::Truncated,
        TraceError::TrailingBytes(n) => ChannelError::TrailingBytes(n),
        TraceError::UnknownKind(_) => ChannelError::BadValue("trace record kind"),
        TraceError::TooLong(_) => ChannelError::BadValue("trace record length"),
        TraceError::NotUtf8(_) => ChannelError::BadValue("trace record text"),
    }
}

fn encode_data(out: &mut Vec<u8>, ty: u8, data: &[u8]) -> Result<(), ChannelError> {
    encode_frame(out, ty, |w| {
        check_data(data)?;
        w.bytes(data);
        Ok(())
    })
}

/// Appends `data` written to `stream` as as many messages as it takes
/// (none for an empty write).
pub fn encode_output(stream: Output, data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(MAX_DATA) {
        let msg = match stream {
            Output::Stdout => GuestMsg::Stdout(chunk),
            Output::Stderr => GuestMsg::Stderr(chunk),
        };
        let encoded = msg.encode(out);
        debug_assert!(encoded.is_ok(), "chunks fit a frame");
    }
}

/// The frame header of one output message carrying `len` bytes (at most
/// [`MAX_DATA`]): a sender that has the data elsewhere (the guest kernel,
/// copying straight into a transport buffer) sends this, then the bytes.
pub fn output_header(stream: Output, len: usize) -> Option<[u8; crate::channel::HEADER_LEN]> {
    if len > MAX_DATA {
        return None;
    }
    let mut header = [0; crate::channel::HEADER_LEN];
    header[..4].copy_from_slice(&(1 + len as u32).to_le_bytes());
    header[4] = match stream {
        Output::Stdout => G_STDOUT,
        Output::Stderr => G_STDERR,
    };
    Some(header)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::channel::FrameDecoder;
    use alloc::vec;

    pub(crate) fn guest_bytes(msg: &GuestMsg<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap();
        out
    }

    pub(crate) fn host_bytes(msg: &HostMsg<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap();
        out
    }

    fn check_guest(msg: GuestMsg<'_>, golden: &[u8]) {
        assert_eq!(guest_bytes(&msg), golden, "{msg:?}");
        assert_eq!(GuestMsg::decode(Frame::exact(golden).unwrap()), Ok(msg));
    }

    fn check_host(msg: HostMsg<'_>, golden: &[u8]) {
        assert_eq!(host_bytes(&msg), golden, "{msg:?}");
        assert_eq!(HostMsg::decode(Frame::exact(golden).unwrap()), Ok(msg));
    }

    #[test]
    fn output_header_is_encode_s_header() {
        for (stream, len) in [
            (Output::Stdout, 0),
            (Output::Stderr, 7),
            (Output::Stdout, MAX_DATA),
        ] {
            let data = vec![b'x'; len];
            let mut framed = Vec::new();
            encode_output(stream, &data, &mut framed);
            if len == 0 {
                assert!(framed.is_empty());
                continue;
            }
            let header = output_header(stream, len).unwrap();
            assert_eq!(&framed[..header.len()], &header);
            assert_eq!(&framed[header.len()..], &data[..]);
        }
        assert_eq!(output_header(Output::Stdout, MAX_DATA + 1), None);
    }

    #[test]
    fn golden_bytes() {
        check_guest(
            GuestMsg::Stdout(b"hi\n"),
            &[4, 0, 0, 0, 1, b'h', b'i', b'\n'],
        );
        check_guest(GuestMsg::Stderr(b""), &[1, 0, 0, 0, 2]);
        // ExitStatus::Exited(3) is [0, 3]; Signaled(9) is [1, 9].
        check_guest(
            GuestMsg::Exit(ExitStatus::Exited(3)),
            &[3, 0, 0, 0, 3, 0, 3],
        );
        check_guest(
            GuestMsg::Exit(ExitStatus::Signaled(9)),
            &[3, 0, 0, 0, 3, 1, 9],
        );
        check_guest(GuestMsg::StdinCredit(4096), &[5, 0, 0, 0, 4, 0, 0x10, 0, 0]);
        check_guest(
            GuestMsg::Missing(crate::trace::Missing {
                kind: crate::trace::MissingKind::Syscall,
                name: "pause",
                count: 1,
            }),
            &[
                12, 0, 0, 0, 6, 1, 1, 0, 0, 0, 5, b'p', b'a', b'u', b's', b'e',
            ],
        );
        // A Trace body is exactly the record's own encoding.
        let record = crate::trace::tests::openat_record();
        let mut golden = Vec::new();
        record.encode(&mut golden);
        let len = golden.len() as u32 + 1;
        let mut framed = len.to_le_bytes().to_vec();
        framed.push(5);
        framed.extend_from_slice(&golden);
        check_guest(GuestMsg::Trace(record), &framed);
        check_host(HostMsg::Stdin(b"y"), &[2, 0, 0, 0, 1, b'y']);
        check_host(HostMsg::StdinEof, &[1, 0, 0, 0, 2]);
        check_host(
            HostMsg::WindowSize(WindowSize {
                rows: 40,
                cols: 0x0102,
                xpixel: 0,
                ypixel: 7,
            }),
            &[9, 0, 0, 0, 3, 40, 0, 2, 1, 0, 0, 7, 0],
        );
    }

    /// One of each message.
    pub(crate) fn every_guest_msg() -> Vec<GuestMsg<'static>> {
        vec![
            GuestMsg::Stdout(b"out"),
            GuestMsg::Stderr(&[0; MAX_DATA]),
            GuestMsg::Exit(ExitStatus::Exited(255)),
            GuestMsg::Exit(ExitStatus::Signaled(64)),
            GuestMsg::Exit(ExitStatus::OutOfMemory),
            GuestMsg::Exit(ExitStatus::KernelPanic),
            GuestMsg::StdinCredit(u32::MAX),
            GuestMsg::Trace(crate::trace::tests::every_record()[0]),
            GuestMsg::Trace(crate::trace::tests::every_record()[3]),
            GuestMsg::Missing(crate::trace::tests::every_missing()[1]),
        ]
    }

    pub(crate) fn every_host_msg() -> Vec<HostMsg<'static>> {
        vec![
            HostMsg::Stdin(b"input\n"),
            HostMsg::Stdin(b""),
            HostMsg::StdinEof,
            HostMsg::WindowSize(WindowSize {
                rows: u16::MAX,
                cols: 1,
                xpixel: 2,
                ypixel: 3,
            }),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for msg in every_guest_msg() {
            let bytes = guest_bytes(&msg);
            assert_eq!(GuestMsg::decode(Frame::exact(&bytes).unwrap()), Ok(msg));
        }
        for msg in every_host_msg() {
            let bytes = host_bytes(&msg);
            assert_eq!(HostMsg::decode(Frame::exact(&bytes).unwrap()), Ok(msg));
        }
    }

    /// Every exit code and every signal arrives as the shell code the
    /// host must exit with: 0..=255 as they are, 128 + N for signal N.
    #[test]
    fn every_exit_status_is_exact() {
        let shell_code = |status| {
            let bytes = guest_bytes(&GuestMsg::Exit(status));
            match GuestMsg::decode(Frame::exact(&bytes).unwrap()) {
                Ok(GuestMsg::Exit(got)) => {
                    assert_eq!(got, status);
                    got.shell_code()
                }
                other => panic!("{other:?}"),
            }
        };
        for code in 0..=255u8 {
            assert_eq!(shell_code(ExitStatus::Exited(code)), code);
        }
        for signo in 1..=64u8 {
            assert_eq!(shell_code(ExitStatus::Signaled(signo)), 128 + signo);
        }
        assert_eq!(shell_code(ExitStatus::Signaled(9)), 137);
        assert_eq!(shell_code(ExitStatus::OutOfMemory), 137);
        assert_eq!(shell_code(ExitStatus::KernelPanic), 125);
    }

    #[test]
    fn rejects() {
        fn decode_g(bytes: &[u8]) -> Result<GuestMsg<'_>, ChannelError> {
            GuestMsg::decode(Frame::exact(bytes).unwrap())
        }
        // Signal 0 and signals past 64 do not exist.
        assert_eq!(
            decode_g(&[3, 0, 0, 0, 3, 1, 0]),
            Err(ChannelError::BadValue("exit status"))
        );
        assert_eq!(
            decode_g(&[3, 0, 0, 0, 3, 1, 65]),
            Err(ChannelError::BadValue("exit status"))
        );
        assert_eq!(
            decode_g(&[4, 0, 0, 0, 3, 0, 0, 0]),
            Err(ChannelError::BadValue("exit status"))
        );
        // Out of memory is always SIGKILL's [2, 9].
        assert_eq!(
            decode_g(&[3, 0, 0, 0, 3, 2, 8]),
            Err(ChannelError::BadValue("exit status"))
        );
        assert_eq!(
            decode_g(&[4, 0, 0, 0, 4, 1, 2, 3]),
            Err(ChannelError::Truncated)
        );
        assert_eq!(
            decode_g(&[1, 0, 0, 0, 7]),
            Err(ChannelError::UnknownType(7))
        );
        // A broken trace record is a channel error like any other.
        assert_eq!(decode_g(&[1, 0, 0, 0, 5]), Err(ChannelError::Truncated));
        assert_eq!(
            decode_g(&[7, 0, 0, 0, 6, 9, 0, 0, 0, 0, 0]),
            Err(ChannelError::BadValue("trace record kind"))
        );
        assert_eq!(
            decode_g(&[8, 0, 0, 0, 6, 1, 0, 0, 0, 0, 1, 0xff]),
            Err(ChannelError::BadValue("trace record text"))
        );
        fn decode_h(bytes: &[u8]) -> Result<HostMsg<'_>, ChannelError> {
            HostMsg::decode(Frame::exact(bytes).unwrap())
        }
        assert_eq!(
            decode_h(&[2, 0, 0, 0, 2, 0]),
            Err(ChannelError::TrailingBytes(1))
        );
        assert_eq!(
            decode_h(&[1, 0, 0, 0, 4]),
            Err(ChannelError::UnknownType(4))
        );
        // A window size is exactly four u16s.
        assert_eq!(
            decode_h(&[5, 0, 0, 0, 3, 1, 0, 2, 0]),
            Err(ChannelError::Truncated)
        );
        assert_eq!(
            decode_h(&[10, 0, 0, 0, 3, 1, 0, 2, 0, 0, 0, 0, 0, 9]),
            Err(ChannelError::TrailingBytes(1))
        );
        let mut out = Vec::new();
        assert_eq!(
            HostMsg::Stdin(&[0; MAX_DATA + 1]).encode(&mut out),
            Err(ChannelError::DataTooLong(MAX_DATA + 1))
        );
        assert!(out.is_empty());
    }

    #[test]
    fn long_output_splits_and_keeps_order() {
        let big: Vec<u8> = (0..(2 * MAX_DATA + 10)).map(|i| i as u8).collect();
        let mut stream = Vec::new();
        encode_output(Output::Stdout, &big, &mut stream);
        encode_output(Output::Stderr, b"", &mut stream);
        encode_output(Output::Stderr, b"err", &mut stream);
        let mut decoder = FrameDecoder::new();
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut rest = &stream[..];
        let mut frames = 0;
        while !rest.is_empty() {
            let (used, got) = decoder.feed(rest);
            rest = &rest[used..];
            if let Some(frame) = got.unwrap() {
                frames += 1;
                match GuestMsg::decode(frame).unwrap() {
                    GuestMsg::Stdout(d) => stdout.extend_from_slice(d),
                    GuestMsg::Stderr(d) => stderr.extend_from_slice(d),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(frames, 4);
        assert_eq!(stdout, big);
        assert_eq!(stderr, b"err");
    }
}
