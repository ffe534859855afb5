//! Console framing: the byte stream between the guest kernel and `lamina`.
//!
//! The guest's first serial port carries frames in both directions, so the
//! workload's stdout, its stderr, the kernel log and the exit status share
//! one line without mixing. A frame is
//!
//! ```text
//! kind: u8 | len: u16 little-endian | payload: len bytes (len <= MAX_PAYLOAD)
//! ```
//!
//! The kinds differ by direction; see [`GuestKind`] and [`HostKind`].

use core::fmt;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 3;
/// Largest payload of one frame; longer writes are split.
pub const MAX_PAYLOAD: usize = 4096;

/// Frames the guest sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum GuestKind {
    Stdout = 1,
    Stderr = 2,
    /// A kernel log line (shown by `lamina -v`, and always after a panic).
    Log = 3,
    /// The workload is gone; payload is an encoded [`ExitStatus`].
    Exit = 4,
    /// The workload reads stdin for the first time: the host starts
    /// forwarding only now, so no byte reaches the UART before the guest
    /// has set it up, and a workload that never reads takes no input.
    StdinWanted = 5,
    /// One traced call (`lamina run --trace`); payload is an encoded
    /// [`crate::trace::TraceRecord`], never split across frames.
    Trace = 6,
    /// A call lamina lacks; payload is an encoded [`crate::trace::Missing`].
    Missing = 7,
}

/// Frames the host sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HostKind {
    /// Bytes for the workload's stdin.
    Stdin = 1,
    /// The host's stdin reached end of file (empty payload).
    StdinEof = 2,
}

impl TryFrom<u8> for GuestKind {
    type Error = FrameError;
    fn try_from(byte: u8) -> Result<Self, FrameError> {
        match byte {
            1 => Ok(Self::Stdout),
            2 => Ok(Self::Stderr),
            3 => Ok(Self::Log),
            4 => Ok(Self::Exit),
            5 => Ok(Self::StdinWanted),
            6 => Ok(Self::Trace),
            7 => Ok(Self::Missing),
            other => Err(FrameError::UnknownKind(other)),
        }
    }
}

impl TryFrom<u8> for HostKind {
    type Error = FrameError;
    fn try_from(byte: u8) -> Result<Self, FrameError> {
        match byte {
            1 => Ok(Self::Stdin),
            2 => Ok(Self::StdinEof),
            other => Err(FrameError::UnknownKind(other)),
        }
    }
}

/// How the workload ended, as the guest reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit_group(code)`; the host exits with `code`.
    Exited(u8),
    /// Killed by signal `signo`; the host exits with 128 + `signo`.
    Signaled(u8),
    /// Killed because the guest ran out of memory (reported as SIGKILL).
    OutOfMemory,
    /// The kernel itself failed; the preceding log frames say why.
    KernelPanic,
}

const EXIT_TAG_EXITED: u8 = 0;
const EXIT_TAG_SIGNALED: u8 = 1;
const EXIT_TAG_OOM: u8 = 2;
const EXIT_TAG_PANIC: u8 = 3;
const SIGKILL: u8 = 9;
/// Linux signals are 1..=64 (`_NSIG`), so 128 + N never wraps.
const MAX_SIGNAL: u8 = 64;

impl ExitStatus {
    pub fn encode(self) -> [u8; 2] {
        match self {
            Self::Exited(code) => [EXIT_TAG_EXITED, code],
            Self::Signaled(signo) => [EXIT_TAG_SIGNALED, signo],
            Self::OutOfMemory => [EXIT_TAG_OOM, SIGKILL],
            Self::KernelPanic => [EXIT_TAG_PANIC, 0],
        }
    }

    pub fn decode(payload: &[u8]) -> Result<Self, FrameError> {
        match *payload {
            [EXIT_TAG_EXITED, code] => Ok(Self::Exited(code)),
            [EXIT_TAG_SIGNALED, signo @ 1..=MAX_SIGNAL] => Ok(Self::Signaled(signo)),
            [EXIT_TAG_OOM, _] => Ok(Self::OutOfMemory),
            [EXIT_TAG_PANIC, _] => Ok(Self::KernelPanic),
            _ => Err(FrameError::BadExitStatus),
        }
    }

    /// The shell's view of this status: the code, or 128 + the signal.
    pub fn shell_code(self) -> u8 {
        match self {
            Self::Exited(code) => code,
            Self::Signaled(signo) => 128u8.wrapping_add(signo),
            Self::OutOfMemory => 128 + SIGKILL,
            Self::KernelPanic => 125,
        }
    }
}

/// Malformed input on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    UnknownKind(u8),
    TooLong(usize),
    BadExitStatus,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKind(kind) => write!(f, "unknown frame kind {kind}"),
            Self::TooLong(len) => write!(f, "frame of {len} bytes exceeds {MAX_PAYLOAD}"),
            Self::BadExitStatus => f.write_str("malformed exit status"),
        }
    }
}

/// The header of a frame of `kind` with `len` payload bytes.
pub fn header(kind: u8, len: usize) -> [u8; HEADER_LEN] {
    debug_assert!(len <= MAX_PAYLOAD);
    let len = len as u16;
    let [lo, hi] = len.to_le_bytes();
    [kind, lo, hi]
}

/// Splits `data` into frames of `kind` and hands each header and payload
/// piece to `emit`, in order. An empty `data` yields one empty frame.
pub fn encode(kind: u8, data: &[u8], mut emit: impl FnMut(&[u8])) {
    if data.is_empty() {
        emit(&header(kind, 0));
        return;
    }
    for chunk in data.chunks(MAX_PAYLOAD) {
        emit(&header(kind, chunk.len()));
        emit(chunk);
    }
}

/// Reassembles frames from a byte stream, one byte at a time, with a fixed
/// buffer (no allocation, so the guest can use it before its heap exists).
pub struct Decoder {
    buf: [u8; HEADER_LEN + MAX_PAYLOAD],
    filled: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("filled", &self.filled)
            .finish()
    }
}

/// One complete frame, borrowed from the decoder until the next byte.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: u8,
    pub payload: &'a [u8],
}

impl Decoder {
    pub const fn new() -> Self {
        Self {
            buf: [0; HEADER_LEN + MAX_PAYLOAD],
            filled: 0,
        }
    }

    fn payload_len(&self) -> usize {
        usize::from(u16::from_le_bytes([self.buf[1], self.buf[2]]))
    }

    /// Feeds one byte. Returns a frame when this byte completes one, or an
    /// error when the header announces more than [`MAX_PAYLOAD`] bytes (the
    /// decoder then starts over with the next byte).
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame<'_>, FrameError>> {
        self.buf[self.filled] = byte;
        self.filled += 1;
        if self.filled < HEADER_LEN {
            return None;
        }
        let len = self.payload_len();
        if len > MAX_PAYLOAD {
            self.filled = 0;
            return Some(Err(FrameError::TooLong(len)));
        }
        if self.filled < HEADER_LEN + len {
            return None;
        }
        self.filled = 0;
        Some(Ok(Frame {
            kind: self.buf[0],
            payload: &self.buf[HEADER_LEN..HEADER_LEN + len],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn encode_all(kind: u8, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(kind, data, |piece| out.extend_from_slice(piece));
        out
    }

    fn decode_all(bytes: &[u8]) -> Vec<Result<(u8, Vec<u8>), FrameError>> {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        for &b in bytes {
            if let Some(result) = decoder.push(b) {
                out.push(result.map(|f| (f.kind, f.payload.to_vec())));
            }
        }
        out
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(encode_all(1, b"hi"), [1, 2, 0, b'h', b'i']);
        assert_eq!(encode_all(2, b""), [2, 0, 0]);
        let exit = ExitStatus::Signaled(11).encode();
        assert_eq!(encode_all(GuestKind::Exit as u8, &exit), [4, 2, 0, 1, 11]);
    }

    /// A trace record is one frame whose payload is the record's encoding.
    #[test]
    fn trace_frames_carry_one_record() {
        use crate::trace::{tests::every_record, TraceRecord};
        let record = every_record()[3];
        let mut payload = Vec::new();
        record.encode(&mut payload);
        let frames = decode_all(&encode_all(GuestKind::Trace as u8, &payload));
        assert_eq!(frames.len(), 1);
        let (kind, body) = frames[0].clone().unwrap();
        assert_eq!(GuestKind::try_from(kind), Ok(GuestKind::Trace));
        assert_eq!(TraceRecord::decode(&body), Ok(record));
    }

    #[test]
    fn long_writes_split_and_reassemble() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let frames = decode_all(&encode_all(1, &data));
        assert_eq!(frames.len(), 3);
        let joined: Vec<u8> = frames.into_iter().flat_map(|f| f.unwrap().1).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn oversized_header_is_an_error_not_a_panic() {
        let frames = decode_all(&[1, 0xff, 0xff, 3, 1, 0, b'x']);
        assert_eq!(frames[0], Err(FrameError::TooLong(0xffff)));
        assert_eq!(frames[1], Ok((3, b"x".to_vec())));
    }

    #[test]
    fn exit_status_round_trip_and_shell_codes() {
        for status in [
            ExitStatus::Exited(0),
            ExitStatus::Exited(255),
            ExitStatus::Signaled(11),
            ExitStatus::OutOfMemory,
            ExitStatus::KernelPanic,
        ] {
            assert_eq!(ExitStatus::decode(&status.encode()), Ok(status));
        }
        assert_eq!(ExitStatus::Signaled(11).shell_code(), 139);
        assert_eq!(ExitStatus::OutOfMemory.shell_code(), 137);
        assert_eq!(ExitStatus::decode(&[9, 9]), Err(FrameError::BadExitStatus));
        assert_eq!(ExitStatus::decode(&[0]), Err(FrameError::BadExitStatus));
        assert_eq!(ExitStatus::decode(&[1, 0]), Err(FrameError::BadExitStatus));
        assert_eq!(ExitStatus::decode(&[1, 65]), Err(FrameError::BadExitStatus));
        assert_eq!(ExitStatus::decode(&[1, 64]), Ok(ExitStatus::Signaled(64)));
    }

    #[test]
    fn kinds_reject_unknown_bytes() {
        assert_eq!(GuestKind::try_from(4), Ok(GuestKind::Exit));
        assert_eq!(GuestKind::try_from(6), Ok(GuestKind::Trace));
        assert_eq!(GuestKind::try_from(7), Ok(GuestKind::Missing));
        assert_eq!(GuestKind::try_from(0), Err(FrameError::UnknownKind(0)));
        assert_eq!(GuestKind::try_from(8), Err(FrameError::UnknownKind(8)));
        assert_eq!(HostKind::try_from(2), Ok(HostKind::StdinEof));
        assert_eq!(HostKind::try_from(7), Err(FrameError::UnknownKind(7)));
    }
}
