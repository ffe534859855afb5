//! `lamina run --trace`: the records the guest sends about what the
//! workload did (one system call, or one operation forwarded to the host on
//! its behalf), and the summary of calls lamina lacks.
//!
//! The same bytes travel as the payload of a ctl message
//! ([`crate::control::GuestMsg::Trace`] and `::Missing`) or of a serial
//! frame ([`crate::frame::GuestKind::Trace`] and `::Missing`), so both
//! transports share one decoder. Integers are little-endian; strings are
//! UTF-8 with a length prefix:
//!
//! ```text
//! TraceRecord  kind[1] pid[4] tid[4] start_ns[8] duration_ns[8] result[8]
//!              name_len[1] name  args_len[2] args  decoration_len[2] decoration
//! Missing      kind[1] count[4] name_len[1] name
//! ```
//!
//! Every length is bounded ([`MAX_NAME_LEN`], [`MAX_ARGS_LEN`],
//! [`MAX_DECORATION_LEN`]) so a record always fits one serial frame; the
//! encoder cuts longer strings at a character boundary, the decoder rejects
//! them.

use alloc::vec::Vec;
use core::fmt;

/// Longest name: a system call (`"sched_get_priority_max"`), a 9P request
/// (`"Tgetattr"`) or a socket operation, or a missing ioctl's description.
pub const MAX_NAME_LEN: usize = 64;
/// Longest formatted argument list (paths are shown up to 256 bytes, which
/// escaping can make four times as long).
pub const MAX_ARGS_LEN: usize = 3072;
/// Longest decoration after the result (`(flags O_RDWR|O_LARGEFILE)`).
pub const MAX_DECORATION_LEN: usize = 256;

/// Bytes of a [`TraceRecord`] before its strings.
const RECORD_FIXED_LEN: usize = 1 + 4 + 4 + 8 + 8 + 8;
/// The longest encoded [`TraceRecord`].
pub const MAX_RECORD_LEN: usize =
    RECORD_FIXED_LEN + 1 + MAX_NAME_LEN + 2 + MAX_ARGS_LEN + 2 + MAX_DECORATION_LEN;
/// The longest encoded [`Missing`].
pub const MAX_MISSING_LEN: usize = 1 + 4 + 1 + MAX_NAME_LEN;

// A record is one serial frame and one ctl message, never split.
const _: () = assert!(MAX_RECORD_LEN <= crate::frame::MAX_PAYLOAD);
const _: () = assert!(MAX_RECORD_LEN <= crate::channel::MAX_DATA);

/// What a [`TraceRecord`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TraceKind {
    /// A system call of the workload.
    Syscall = 1,
    /// A 9P request the kernel sent for the call in progress.
    P9 = 2,
    /// A socket message the kernel sent to the host's network proxy.
    Net = 3,
}

impl TryFrom<u8> for TraceKind {
    type Error = TraceError;
    fn try_from(byte: u8) -> Result<Self, TraceError> {
        match byte {
            1 => Ok(Self::Syscall),
            2 => Ok(Self::P9),
            3 => Ok(Self::Net),
            other => Err(TraceError::UnknownKind(other)),
        }
    }
}

/// One traced operation: a system call with its formatted arguments and
/// result, or a forwarded operation it caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRecord<'a> {
    pub kind: TraceKind,
    /// The process (thread group) id.
    pub pid: u32,
    /// The thread id.
    pub tid: u32,
    /// Guest monotonic time when the call started, in nanoseconds.
    pub start_ns: u64,
    pub duration_ns: u64,
    /// The raw result: negative errno on error.
    pub result: i64,
    /// `"openat"`, `"Twalk"`, `"connect"`.
    pub name: &'a str,
    /// The formatted arguments, without the parentheses.
    pub args: &'a str,
    /// What follows the result (`(flags O_RDWR)`); may be empty.
    pub decoration: &'a str,
}

/// What a [`Missing`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MissingKind {
    /// A system call lamina answers with ENOSYS.
    Syscall = 1,
    /// An ioctl request lamina answers with ENOTTY.
    Ioctl = 2,
}

impl TryFrom<u8> for MissingKind {
    type Error = TraceError;
    fn try_from(byte: u8) -> Result<Self, TraceError> {
        match byte {
            1 => Ok(Self::Syscall),
            2 => Ok(Self::Ioctl),
            other => Err(TraceError::UnknownKind(other)),
        }
    }
}

/// A call lamina lacks, and how many times the workload made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing<'a> {
    pub kind: MissingKind,
    /// `"eventfd2"`, or `"ioctl TIOCSTI"` / `"ioctl 0x5412"`.
    pub name: &'a str,
    pub count: u32,
}

/// A malformed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceError {
    /// The bytes end before the field being read.
    Truncated,
    /// Bytes after the last field.
    TrailingBytes(usize),
    /// A kind byte this build does not know.
    UnknownKind(u8),
    /// A string longer than its bound; names the field.
    TooLong(&'static str),
    /// A string that is not UTF-8; names the field.
    NotUtf8(&'static str),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("trace record truncated"),
            Self::TrailingBytes(n) => write!(f, "trace record has {n} bytes past its fields"),
            Self::UnknownKind(kind) => write!(f, "unknown trace record kind {kind}"),
            Self::TooLong(field) => write!(f, "trace record {field} too long"),
            Self::NotUtf8(field) => write!(f, "trace record {field} is not UTF-8"),
        }
    }
}

impl<'a> TraceRecord<'a> {
    /// Appends the encoding to `out`; strings over their bound are cut at a
    /// character boundary.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind as u8);
        out.extend_from_slice(&self.pid.to_le_bytes());
        out.extend_from_slice(&self.tid.to_le_bytes());
        out.extend_from_slice(&self.start_ns.to_le_bytes());
        out.extend_from_slice(&self.duration_ns.to_le_bytes());
        out.extend_from_slice(&self.result.to_le_bytes());
        put_str_u8(out, self.name, MAX_NAME_LEN);
        put_str_u16(out, self.args, MAX_ARGS_LEN);
        put_str_u16(out, self.decoration, MAX_DECORATION_LEN);
    }

    pub fn decode(bytes: &'a [u8]) -> Result<Self, TraceError> {
        let mut r = Reader(bytes);
        let kind = TraceKind::try_from(r.u8()?)?;
        let pid = r.u32()?;
        let tid = r.u32()?;
        let start_ns = r.u64()?;
        let duration_ns = r.u64()?;
        let result = r.u64()? as i64;
        let name_len = usize::from(r.u8()?);
        let name = r.str(name_len, MAX_NAME_LEN, "name")?;
        let args_len = usize::from(r.u16()?);
        let args = r.str(args_len, MAX_ARGS_LEN, "args")?;
        let decoration_len = usize::from(r.u16()?);
        let decoration = r.str(decoration_len, MAX_DECORATION_LEN, "decoration")?;
        r.finish()?;
        Ok(Self {
            kind,
            pid,
            tid,
            start_ns,
            duration_ns,
            result,
            name,
            args,
            decoration,
        })
    }
}

impl<'a> Missing<'a> {
    /// Appends the encoding to `out`; a name over [`MAX_NAME_LEN`] is cut
    /// at a character boundary.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind as u8);
        out.extend_from_slice(&self.count.to_le_bytes());
        put_str_u8(out, self.name, MAX_NAME_LEN);
    }

    pub fn decode(bytes: &'a [u8]) -> Result<Self, TraceError> {
        let mut r = Reader(bytes);
        let kind = MissingKind::try_from(r.u8()?)?;
        let count = r.u32()?;
        let name_len = usize::from(r.u8()?);
        let name = r.str(name_len, MAX_NAME_LEN, "name")?;
        r.finish()?;
        Ok(Self { kind, name, count })
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn put_str_u8(out: &mut Vec<u8>, s: &str, max: usize) {
    let s = cut(s, max.min(usize::from(u8::MAX)));
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn put_str_u16(out: &mut Vec<u8>, s: &str, max: usize) {
    let s = cut(s, max.min(usize::from(u16::MAX)));
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A cursor that never reads past its slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], TraceError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(TraceError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, TraceError> {
        self.array().map(u8::from_le_bytes)
    }

    fn u16(&mut self) -> Result<u16, TraceError> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, TraceError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, TraceError> {
        self.array().map(u64::from_le_bytes)
    }

    /// `len` bytes as UTF-8, `len` checked against `max` first.
    fn str(&mut self, len: usize, max: usize, field: &'static str) -> Result<&'a str, TraceError> {
        if len > max {
            return Err(TraceError::TooLong(field));
        }
        let (head, rest) = self.0.split_at_checked(len).ok_or(TraceError::Truncated)?;
        self.0 = rest;
        core::str::from_utf8(head).map_err(|_| TraceError::NotUtf8(field))
    }

    fn finish(&self) -> Result<(), TraceError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(TraceError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    pub(crate) fn openat_record() -> TraceRecord<'static> {
        TraceRecord {
            kind: TraceKind::Syscall,
            pid: 1,
            tid: 2,
            start_ns: 0x0102,
            duration_ns: 1500,
            result: -2,
            name: "openat",
            args: "AT_FDCWD, \"/x\", O_RDONLY",
            decoration: "",
        }
    }

    pub(crate) fn every_record() -> Vec<TraceRecord<'static>> {
        vec![
            openat_record(),
            TraceRecord {
                kind: TraceKind::P9,
                name: "Twalk",
                args: "fid=1, newfid=2, wnames=[\"etc\"]",
                result: 0,
                ..openat_record()
            },
            TraceRecord {
                kind: TraceKind::Net,
                name: "connect",
                args: "id=3, 127.0.0.1:80",
                result: i64::MIN,
                start_ns: u64::MAX,
                duration_ns: u64::MAX,
                pid: u32::MAX,
                tid: 0,
                decoration: "",
            },
            TraceRecord {
                name: "fcntl",
                args: "3, F_GETFL",
                result: 2,
                decoration: "(flags O_RDWR)",
                ..openat_record()
            },
        ]
    }

    pub(crate) fn every_missing() -> Vec<Missing<'static>> {
        vec![
            Missing {
                kind: MissingKind::Syscall,
                name: "eventfd2",
                count: 3,
            },
            Missing {
                kind: MissingKind::Ioctl,
                name: "ioctl TIOCSTI",
                count: u32::MAX,
            },
        ]
    }

    fn bytes_of(record: &TraceRecord<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        record.encode(&mut out);
        out
    }

    #[test]
    fn golden_record() {
        let record = TraceRecord {
            name: "close",
            args: "3",
            decoration: "",
            result: -9,
            ..openat_record()
        };
        let golden: &[u8] = &[
            1, // kind
            1, 0, 0, 0, // pid
            2, 0, 0, 0, // tid
            0x02, 0x01, 0, 0, 0, 0, 0, 0, // start_ns
            0xdc, 0x05, 0, 0, 0, 0, 0, 0, // duration_ns 1500
            0xf7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // result -9
            5, b'c', b'l', b'o', b's', b'e', // name
            1, 0, b'3', // args
            0, 0, // decoration
        ];
        assert_eq!(bytes_of(&record), golden);
        assert_eq!(TraceRecord::decode(golden), Ok(record));
    }

    #[test]
    fn golden_missing() {
        let missing = Missing {
            kind: MissingKind::Ioctl,
            name: "ioctl 0x5412",
            count: 258,
        };
        let mut out = Vec::new();
        missing.encode(&mut out);
        let mut golden = vec![2, 2, 1, 0, 0, 12];
        golden.extend_from_slice(b"ioctl 0x5412");
        assert_eq!(out, golden);
        assert_eq!(Missing::decode(&golden), Ok(missing));
    }

    #[test]
    fn round_trips() {
        for record in every_record() {
            let bytes = bytes_of(&record);
            assert_eq!(TraceRecord::decode(&bytes), Ok(record));
        }
        for missing in every_missing() {
            let mut bytes = Vec::new();
            missing.encode(&mut bytes);
            assert_eq!(Missing::decode(&bytes), Ok(missing));
        }
    }

    #[test]
    fn long_strings_are_cut_on_a_character_boundary() {
        let args: String = "é".repeat(MAX_ARGS_LEN); // two bytes each
        let name: String = "n".repeat(300);
        let record = TraceRecord {
            name: &name,
            args: &args,
            decoration: &args,
            ..openat_record()
        };
        let bytes = bytes_of(&record);
        assert!(bytes.len() <= MAX_RECORD_LEN);
        let back = TraceRecord::decode(&bytes).unwrap();
        assert_eq!(back.name.len(), MAX_NAME_LEN);
        assert_eq!(back.args.len(), MAX_ARGS_LEN);
        assert_eq!(back.decoration.len(), MAX_DECORATION_LEN);
        assert!(back.args.chars().all(|c| c == 'é'));
        let longest = TraceRecord {
            name: &name,
            args: &name.repeat(20),
            decoration: &name,
            ..openat_record()
        };
        assert_eq!(bytes_of(&longest).len(), MAX_RECORD_LEN);
    }

    #[test]
    fn rejects() {
        let good = bytes_of(&openat_record());
        assert_eq!(TraceRecord::decode(&[]), Err(TraceError::Truncated));
        for len in 0..good.len() {
            assert!(TraceRecord::decode(&good[..len]).is_err(), "{len}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            TraceRecord::decode(&long),
            Err(TraceError::TrailingBytes(1))
        );
        let mut bad_kind = good.clone();
        bad_kind[0] = 4;
        assert_eq!(
            TraceRecord::decode(&bad_kind),
            Err(TraceError::UnknownKind(4))
        );
        // Name length past the bound.
        let mut bad_len = good.clone();
        bad_len[RECORD_FIXED_LEN] = MAX_NAME_LEN as u8 + 1;
        assert_eq!(
            TraceRecord::decode(&bad_len),
            Err(TraceError::TooLong("name"))
        );
        // Args length past the bound, huge.
        let mut huge = good.clone();
        let at = RECORD_FIXED_LEN + 1 + "openat".len();
        huge[at..at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(TraceRecord::decode(&huge), Err(TraceError::TooLong("args")));
        let mut not_utf8 = good.clone();
        not_utf8[RECORD_FIXED_LEN + 1] = 0xff;
        assert_eq!(
            TraceRecord::decode(&not_utf8),
            Err(TraceError::NotUtf8("name"))
        );
        assert_eq!(
            Missing::decode(&[3, 0, 0, 0, 0, 0]),
            Err(TraceError::UnknownKind(3))
        );
        assert_eq!(
            Missing::decode(&[1, 0, 0, 0, 0, 1]),
            Err(TraceError::Truncated)
        );
        assert_eq!(
            Missing::decode(&[1, 0, 0, 0, 0, 0, 9]),
            Err(TraceError::TrailingBytes(1))
        );
    }
}
