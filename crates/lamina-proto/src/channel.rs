//! Channels: named, reliable, ordered byte streams between the guest and
//! the host (design.md, "Channels"), and the framing of every message on
//! them. The transport (a virtio-console port today, a vsock connection
//! later) only moves bytes; everything it carries is a frame:
//!
//! ```text
//! len: u32 little-endian | type: u8 | body: len - 1 bytes
//! ```
//!
//! `len` counts the type byte and the body and lies in
//! `1..=`[`MAX_FRAME_LEN`]; a reader checks it before it buffers anything
//! of the body, so a hostile length costs nothing. Type 0 is [`Hello`] on
//! every channel, and it is the first frame each side sends; the other
//! types belong to the channel's protocol ([`crate::net`] on "net",
//! [`crate::control`] on "ctl"). Integers are little-endian; data runs to
//! the end of the frame (the header already bounds it).
//!
//! Any malformed frame is a [`ChannelError`]: a stream whose framing is
//! lost cannot be resynchronised, so the receiver ends that channel with
//! one error line. Nothing here panics on input from the other side.

use crate::wire::{Reader, Writer};
use alloc::vec::Vec;
use core::fmt;

/// Bytes of the `len` field.
pub const LEN_FIELD: usize = 4;
/// Bytes before the body: `len` and `type`.
pub const HEADER_LEN: usize = LEN_FIELD + 1;
/// Largest data payload of one message (stream bytes, one datagram,
/// stdout or stdin bytes): 64 KiB holds any UDP datagram. Longer writes
/// are split by the sender.
pub const MAX_DATA: usize = 64 * 1024;
/// Largest body: a data payload plus its fields (a datagram with an IPv6
/// address takes 32 bytes of fields).
pub const MAX_BODY: usize = MAX_DATA + 64;
/// Largest value of the `len` field.
pub const MAX_FRAME_LEN: usize = 1 + MAX_BODY;

/// The version this build speaks; [`Hello`] carries the range a side
/// accepts, so a later transport or a newer host can negotiate.
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

/// The frame type of [`Hello`], the same on every channel.
pub const TYPE_HELLO: u8 = 0;
/// First bytes of a Hello body: says the other end speaks this protocol
/// at all (a console port left at its default would not).
pub const HELLO_MAGIC: [u8; 4] = *b"LMCH";
/// Longest channel name on the wire.
pub const MAX_NAME_LEN: usize = 32;

/// The channels lamina opens, by the name the transport gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// "ctl": the workload's stdio and exit status ([`crate::control`]).
    Control,
    /// "net": forwarded sockets ([`crate::net`]).
    Net,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Control, Channel::Net];

    /// The name on the wire and in the transport (a virtio-console port
    /// name, a vsock service).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Control => "ctl",
            Self::Net => "net",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name().as_bytes() == name)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Malformed input on a channel, or a message that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelError {
    /// The `len` field is 0: a frame has at least its type byte.
    EmptyFrame,
    /// The `len` field exceeds [`MAX_FRAME_LEN`].
    FrameTooLong(u32),
    /// The stream ended inside a frame.
    EndInsideFrame,
    /// The body ends before the field being read.
    Truncated,
    /// The body is longer than its fields.
    TrailingBytes(usize),
    /// A type this channel and direction does not have.
    UnknownType(u8),
    /// A field holds a value the protocol does not allow; names the field.
    BadValue(&'static str),
    /// A Hello without [`HELLO_MAGIC`].
    BadMagic,
    /// A Hello naming a channel this build does not know.
    UnknownChannel,
    /// A Hello for another channel than the one it arrived on.
    WrongChannel { expected: Channel, got: Channel },
    /// The two sides' version ranges do not overlap.
    NoCommonVersion {
        ours: (u16, u16),
        theirs: (u16, u16),
    },
    /// The first frame on a channel was not a Hello.
    HelloExpected(u8),
    /// Encoding: more than [`MAX_DATA`] bytes of data for one message.
    DataTooLong(usize),
    /// The peer sent more than the credit it was given.
    CreditExceeded { len: usize, credit: u32 },
    /// The peer granted credit past [`crate::flow::MAX_WINDOW`].
    CreditOverflow,
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyFrame => f.write_str("frame of length 0"),
            Self::FrameTooLong(len) => {
                write!(f, "frame of {len} bytes exceeds {MAX_FRAME_LEN}")
            }
            Self::EndInsideFrame => f.write_str("stream ended inside a frame"),
            Self::Truncated => f.write_str("message truncated"),
            Self::TrailingBytes(n) => write!(f, "message has {n} bytes past its fields"),
            Self::UnknownType(t) => write!(f, "unknown message type {t}"),
            Self::BadValue(field) => write!(f, "bad {field}"),
            Self::BadMagic => f.write_str("hello without the lamina magic"),
            Self::UnknownChannel => f.write_str("hello names an unknown channel"),
            Self::WrongChannel { expected, got } => {
                write!(f, "hello for channel {got} on channel {expected}")
            }
            Self::NoCommonVersion { ours, theirs } => write!(
                f,
                "no common protocol version: we speak {}..={}, the peer {}..={}",
                ours.0, ours.1, theirs.0, theirs.1
            ),
            Self::HelloExpected(t) => write!(f, "message type {t} before the hello"),
            Self::DataTooLong(n) => write!(f, "{n} bytes of data exceed {MAX_DATA}"),
            Self::CreditExceeded { len, credit } => {
                write!(f, "{len} bytes sent against a credit of {credit}")
            }
            Self::CreditOverflow => f.write_str("credit beyond the largest window"),
        }
    }
}

/// One frame: its type and body, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub msg_type: u8,
    pub body: &'a [u8],
}

/// Checks a `len` field; returns it as a byte count.
fn check_len(len: u32) -> Result<usize, ChannelError> {
    match usize::try_from(len) {
        Ok(0) => Err(ChannelError::EmptyFrame),
        Ok(n) if n <= MAX_FRAME_LEN => Ok(n),
        _ => Err(ChannelError::FrameTooLong(len)),
    }
}

impl<'a> Frame<'a> {
    /// The first frame of `bytes`, in place: `Ok(None)` until all of it
    /// is there, then the frame and the bytes it took. For a reader with
    /// its own buffer; [`FrameDecoder`] is the one with a buffer of its own.
    pub fn split(bytes: &'a [u8]) -> Result<Option<(Frame<'a>, usize)>, ChannelError> {
        let Some(len) = bytes.first_chunk::<LEN_FIELD>() else {
            return Ok(None);
        };
        let len = check_len(u32::from_le_bytes(*len))?;
        let total = LEN_FIELD + len;
        let Some([msg_type, body @ ..]) = bytes.get(LEN_FIELD..total) else {
            return Ok(None);
        };
        let frame = Frame {
            msg_type: *msg_type,
            body,
        };
        Ok(Some((frame, total)))
    }

    /// The only frame in `bytes`, which must hold exactly one.
    pub fn exact(bytes: &'a [u8]) -> Result<Frame<'a>, ChannelError> {
        match Self::split(bytes)? {
            Some((frame, used)) if used == bytes.len() => Ok(frame),
            Some((_, used)) => Err(ChannelError::TrailingBytes(bytes.len() - used)),
            None => Err(ChannelError::EndInsideFrame),
        }
    }

    /// A reader over the body, for the message decoders.
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader::new(self.body)
    }
}

/// Appends one frame of `msg_type` whose body `body` writes. When `body`
/// fails or writes more than [`MAX_BODY`] bytes, `out` is left as it was.
pub(crate) fn encode_frame(
    out: &mut Vec<u8>,
    msg_type: u8,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), ChannelError>,
) -> Result<(), ChannelError> {
    let start = out.len();
    out.extend_from_slice(&[0; LEN_FIELD]);
    out.push(msg_type);
    let result = body(&mut Writer { out });
    let len = out.len() - start - LEN_FIELD;
    match result {
        Ok(()) if len <= MAX_FRAME_LEN => {
            let len = len as u32;
            out[start..start + LEN_FIELD].copy_from_slice(&len.to_le_bytes());
            Ok(())
        }
        Ok(()) => {
            out.truncate(start);
            Err(ChannelError::DataTooLong(len - 1))
        }
        Err(err) => {
            out.truncate(start);
            Err(err)
        }
    }
}

/// Checks a data payload against [`MAX_DATA`] before it is encoded.
pub(crate) fn check_data(data: &[u8]) -> Result<(), ChannelError> {
    if data.len() > MAX_DATA {
        return Err(ChannelError::DataTooLong(data.len()));
    }
    Ok(())
}

/// Reassembles frames from a byte stream that arrives in pieces of any
/// size. It holds at most one frame ([`HEADER_LEN`] + [`MAX_BODY`] bytes):
/// the length is checked before the body is buffered. After an error the
/// stream has lost its framing, and every later call returns that error.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// `buf` holds a frame already handed out; the next call starts anew.
    complete: bool,
    error: Option<ChannelError>,
}

impl FrameDecoder {
    pub const fn new() -> Self {
        Self {
            buf: Vec::new(),
            complete: false,
            error: None,
        }
    }

    /// Takes bytes from `input` up to the end of the current frame.
    /// Returns how many it took, and the frame if they completed one; call
    /// again with the rest of `input`. The frame borrows the decoder until
    /// the next call.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Result<Option<Frame<'_>>, ChannelError>) {
        if let Some(err) = self.error {
            return (0, Err(err));
        }
        if self.complete {
            self.buf.clear();
            self.complete = false;
        }
        let mut used = 0;
        if self.buf.len() < LEN_FIELD {
            used = (LEN_FIELD - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..used]);
        }
        let Some(len) = self.buf.first_chunk::<LEN_FIELD>() else {
            return (used, Ok(None));
        };
        let total = match check_len(u32::from_le_bytes(*len)) {
            Ok(len) => LEN_FIELD + len,
            Err(err) => {
                self.error = Some(err);
                return (used, Err(err));
            }
        };
        let take = (total - self.buf.len()).min(input.len() - used);
        self.buf.extend_from_slice(&input[used..used + take]);
        used += take;
        if self.buf.len() < total {
            return (used, Ok(None));
        }
        self.complete = true;
        let frame = Frame {
            msg_type: self.buf[LEN_FIELD],
            body: &self.buf[HEADER_LEN..],
        };
        (used, Ok(Some(frame)))
    }

    /// The stream ended: fine between frames, an error inside one.
    pub fn finish(&self) -> Result<(), ChannelError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        if self.complete || self.buf.is_empty() {
            Ok(())
        } else {
            Err(ChannelError::EndInsideFrame)
        }
    }
}

/// The first frame each side sends on a channel:
///
/// ```text
/// magic[4] "LMCH" | min_version[2] | max_version[2] | name_len[1] | name
/// ```
///
/// Each side sends its own without waiting, then [`Hello::agree`]s with
/// the peer's: the channel speaks the highest version both accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub channel: Channel,
    pub min_version: u16,
    pub max_version: u16,
}

impl Hello {
    /// This build's Hello for `channel`.
    pub const fn new(channel: Channel) -> Self {
        Self {
            channel,
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        }
    }

    /// Appends the Hello frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name = self.channel.name().as_bytes();
        let encoded = encode_frame(out, TYPE_HELLO, |w| {
            w.bytes(&HELLO_MAGIC);
            w.u16(self.min_version);
            w.u16(self.max_version);
            w.u8(name.len() as u8);
            w.bytes(name);
            Ok(())
        });
        debug_assert!(encoded.is_ok(), "a Hello is a few bytes");
    }

    pub fn decode(frame: Frame<'_>) -> Result<Self, ChannelError> {
        if frame.msg_type != TYPE_HELLO {
            return Err(ChannelError::HelloExpected(frame.msg_type));
        }
        let mut r = frame.reader();
        if r.bytes(HELLO_MAGIC.len())? != HELLO_MAGIC {
            return Err(ChannelError::BadMagic);
        }
        let min_version = r.u16()?;
        let max_version = r.u16()?;
        let name_len = usize::from(r.u8()?);
        if name_len > MAX_NAME_LEN {
            return Err(ChannelError::BadValue("channel name length"));
        }
        let channel = Channel::from_name(r.bytes(name_len)?).ok_or(ChannelError::UnknownChannel)?;
        r.finish()?;
        if min_version > max_version {
            return Err(ChannelError::BadValue("version range"));
        }
        Ok(Self {
            channel,
            min_version,
            max_version,
        })
    }

    /// The version both sides speak on this channel, given the peer's
    /// Hello: the highest one in both ranges.
    pub fn agree(&self, peer: &Hello) -> Result<u16, ChannelError> {
        if peer.channel != self.channel {
            return Err(ChannelError::WrongChannel {
                expected: self.channel,
                got: peer.channel,
            });
        }
        let version = self.max_version.min(peer.max_version);
        if version < self.min_version || version < peer.min_version {
            return Err(ChannelError::NoCommonVersion {
                ours: (self.min_version, self.max_version),
                theirs: (peer.min_version, peer.max_version),
            });
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn hello_bytes(hello: &Hello) -> Vec<u8> {
        let mut out = Vec::new();
        hello.encode(&mut out);
        out
    }

    #[test]
    fn hello_golden_bytes() {
        // len 13 = type 1 + magic 4 + versions 4 + name_len 1 + "net" 3.
        let golden = [
            13, 0, 0, 0, 0, b'L', b'M', b'C', b'H', 1, 0, 1, 0, 3, b'n', b'e', b't',
        ];
        let hello = Hello::new(Channel::Net);
        assert_eq!(hello_bytes(&hello), golden);
        assert_eq!(Hello::decode(Frame::exact(&golden).unwrap()), Ok(hello));
        let ctl = hello_bytes(&Hello::new(Channel::Control));
        assert_eq!(&ctl[14..], b"ctl");
    }

    #[test]
    fn hello_rejects() {
        let good = hello_bytes(&Hello::new(Channel::Net));
        let decode = |bytes: &[u8]| Hello::decode(Frame::exact(bytes)?);
        let mut bad = good.clone();
        bad[5] = b'X';
        assert_eq!(decode(&bad), Err(ChannelError::BadMagic));
        let mut bad = good.clone();
        bad[14] = b'X';
        assert_eq!(decode(&bad), Err(ChannelError::UnknownChannel));
        let mut bad = good.clone();
        bad[9] = 2; // min 2 > max 1
        assert_eq!(decode(&bad), Err(ChannelError::BadValue("version range")));
        let mut bad = good.clone();
        bad[4] = 7;
        assert_eq!(decode(&bad), Err(ChannelError::HelloExpected(7)));
        let mut bad = good.clone();
        bad[13] = 4; // name runs past the body
        assert_eq!(decode(&bad), Err(ChannelError::Truncated));
        let mut bad = good.clone();
        bad[0] += 1;
        bad.push(0);
        assert_eq!(decode(&bad), Err(ChannelError::TrailingBytes(1)));
        assert_eq!(
            decode(&good[..good.len() - 1]),
            Err(ChannelError::EndInsideFrame)
        );
    }

    #[test]
    fn version_agreement() {
        let ours = Hello::new(Channel::Net);
        let range = |min, max| Hello {
            channel: Channel::Net,
            min_version: min,
            max_version: max,
        };
        assert_eq!(ours.agree(&ours), Ok(PROTOCOL_VERSION));
        assert_eq!(range(1, 3).agree(&range(2, 5)), Ok(3));
        assert_eq!(range(2, 5).agree(&range(1, 3)), Ok(3));
        assert_eq!(range(1, 1).agree(&range(1, 9)), Ok(1));
        assert_eq!(
            range(1, 1).agree(&range(2, 9)),
            Err(ChannelError::NoCommonVersion {
                ours: (1, 1),
                theirs: (2, 9)
            })
        );
        assert_eq!(
            ours.agree(&Hello::new(Channel::Control)),
            Err(ChannelError::WrongChannel {
                expected: Channel::Net,
                got: Channel::Control
            })
        );
    }

    #[test]
    fn split_checks_the_length_first() {
        assert_eq!(Frame::split(&[]), Ok(None));
        assert_eq!(Frame::split(&[2, 0, 0]), Ok(None));
        assert_eq!(Frame::split(&[2, 0, 0, 0, 9]), Ok(None));
        assert_eq!(
            Frame::split(&[2, 0, 0, 0, 9, 8, 7]),
            Ok(Some((
                Frame {
                    msg_type: 9,
                    body: &[8]
                },
                6
            )))
        );
        assert_eq!(Frame::split(&[0, 0, 0, 0]), Err(ChannelError::EmptyFrame));
        // Refused on the header alone, before any body byte arrives.
        assert_eq!(
            Frame::split(&[0xff, 0xff, 0xff, 0xff]),
            Err(ChannelError::FrameTooLong(u32::MAX))
        );
        let max = (MAX_FRAME_LEN as u32).to_le_bytes();
        assert_eq!(Frame::split(&max), Ok(None));
        let over = (MAX_FRAME_LEN as u32 + 1).to_le_bytes();
        assert_eq!(
            Frame::split(&over),
            Err(ChannelError::FrameTooLong(MAX_FRAME_LEN as u32 + 1))
        );
    }

    /// A decoded frame: its type and body.
    type Owned = (u8, Vec<u8>);

    /// Every frame of `stream`, fed in pieces of `piece` bytes.
    fn decode_in_pieces(stream: &[u8], piece: usize) -> (Vec<Owned>, Result<(), ChannelError>) {
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        for chunk in stream.chunks(piece) {
            let mut rest = chunk;
            while !rest.is_empty() {
                let (used, got) = decoder.feed(rest);
                rest = &rest[used..];
                match got {
                    Ok(Some(f)) => frames.push((f.msg_type, f.body.to_vec())),
                    Ok(None) => {}
                    Err(err) => return (frames, Err(err)),
                }
            }
        }
        (frames, decoder.finish())
    }

    #[test]
    fn decoder_reassembles_any_split() {
        let mut stream = Vec::new();
        Hello::new(Channel::Control).encode(&mut stream);
        let big = vec![0xa5; MAX_BODY];
        encode_frame(&mut stream, 7, |w| {
            w.bytes(&big);
            Ok(())
        })
        .unwrap();
        encode_frame(&mut stream, 9, |_| Ok(())).unwrap();
        for piece in [1, 2, 3, 5, 4096, stream.len()] {
            let (frames, end) = decode_in_pieces(&stream, piece);
            assert_eq!(end, Ok(()));
            assert_eq!(frames.len(), 3, "pieces of {piece}");
            assert_eq!(frames[0].0, TYPE_HELLO);
            assert_eq!(frames[1], (7, big.clone()));
            assert_eq!(frames[2], (9, Vec::new()));
        }
        // Cut inside the last frame's header.
        let (frames, end) = decode_in_pieces(&stream[..stream.len() - 3], 100);
        assert_eq!(frames.len(), 2);
        assert_eq!(end, Err(ChannelError::EndInsideFrame));
    }

    #[test]
    fn decoder_stays_failed_after_a_bad_length() {
        let mut decoder = FrameDecoder::new();
        let (used, got) = decoder.feed(&[0, 0, 0, 0x10, 1, 2, 3]);
        assert_eq!(used, 4);
        assert_eq!(got, Err(ChannelError::FrameTooLong(0x1000_0000)));
        let (used, got) = decoder.feed(&[1, 0, 0, 0, 5]);
        assert_eq!(
            (used, got),
            (0, Err(ChannelError::FrameTooLong(0x1000_0000)))
        );
        assert!(decoder.finish().is_err());
    }

    #[test]
    fn oversized_bodies_are_refused_when_encoding() {
        let mut out = vec![1, 2, 3];
        let too_big = vec![0; MAX_BODY + 1];
        let err = encode_frame(&mut out, 5, |w| {
            w.bytes(&too_big);
            Ok(())
        });
        assert_eq!(err, Err(ChannelError::DataTooLong(MAX_BODY + 1)));
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(
            check_data(&too_big[..MAX_DATA + 1]),
            Err(ChannelError::DataTooLong(MAX_DATA + 1))
        );
        assert_eq!(check_data(&too_big[..MAX_DATA]), Ok(()));
    }
}
