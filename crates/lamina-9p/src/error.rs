//! What can go wrong encoding or decoding a 9P message.

use core::fmt;

/// Malformed input on the wire, or a message that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The bytes end before the field being read.
    Truncated,
    /// The `size[4]` field is smaller than the header itself.
    BadSize(u32),
    /// The `size[4]` field exceeds the negotiated `msize`.
    TooLarge { size: u32, msize: u32 },
    /// The message body is longer than its fields.
    TrailingBytes(usize),
    /// A type number that is not a message of this direction (an R type
    /// where a T message is expected, or a number 9P2000.L does not use).
    UnexpectedType(u8),
    /// A walk with more than [`MAXWELEM`](crate::MAXWELEM) names or qids.
    TooManyWalkElems(usize),
    /// Encoding: a string longer than a `len[2]` prefix can say.
    StringTooLong(usize),
    /// Encoding: a message longer than a `size[4]` field can say.
    MessageTooLong(usize),
    /// Encoding: the output buffer is smaller than the message.
    BufferTooSmall { needed: usize, available: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("9P message truncated"),
            Self::BadSize(size) => write!(f, "9P size field {size} is shorter than the header"),
            Self::TooLarge { size, msize } => {
                write!(f, "9P message of {size} bytes exceeds msize {msize}")
            }
            Self::TrailingBytes(n) => write!(f, "9P message has {n} bytes past its fields"),
            Self::UnexpectedType(t) => write!(f, "unexpected 9P message type {t}"),
            Self::TooManyWalkElems(n) => write!(f, "walk of {n} elements exceeds 16"),
            Self::StringTooLong(n) => write!(f, "9P string of {n} bytes exceeds 65535"),
            Self::MessageTooLong(n) => write!(f, "9P message of {n} bytes exceeds 4 GiB"),
            Self::BufferTooSmall { needed, available } => {
                write!(f, "9P message needs {needed} bytes, buffer has {available}")
            }
        }
    }
}
