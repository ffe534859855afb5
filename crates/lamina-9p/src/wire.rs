//! Wire primitives (diod `protocol.md`, "Data Structures"): little-endian
//! integers `name[1]`..`name[8]`, strings `len[2] bytes[len]` with no NUL,
//! and the 13-byte qid `type[1] version[4] path[8]`.
//!
//! [`Reader`] never reads past its slice: every length taken from the wire
//! is checked against the bytes that remain before it is used. [`Sink`]
//! is where encoders write: a counter, a fixed buffer or a `Vec`.

use crate::consts::QTDIR;
use crate::Error;
use alloc::vec::Vec;

/// Bytes of a qid on the wire.
pub const QID_LEN: usize = 13;

/// The server's unique identity of a file: `type[1] version[4] path[8]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Qid {
    /// `QT*` bits (`QTDIR`, `QTSYMLINK`, ...).
    pub ty: u8,
    /// Changes when the file changes; 0 for "do not cache".
    pub version: u32,
    /// Unique per file on the server (the host inode number under QEMU).
    pub path: u64,
}

impl Qid {
    pub fn is_dir(&self) -> bool {
        self.ty & QTDIR != 0
    }
}

/// A cursor over received bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let (head, rest) = self.rest.split_at_checked(len).ok_or(Error::Truncated)?;
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, rest) = self.rest.split_first_chunk::<N>().ok_or(Error::Truncated)?;
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        self.array().map(u8::from_le_bytes)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        self.array().map(u64::from_le_bytes)
    }

    /// `len[2] bytes[len]`, borrowed.
    pub(crate) fn string(&mut self) -> Result<&'a [u8], Error> {
        let len = self.u16()?;
        self.bytes(usize::from(len))
    }

    /// `count[4] data[count]` (Rread, Rreaddir, Twrite), borrowed.
    pub(crate) fn data(&mut self) -> Result<&'a [u8], Error> {
        let count = self.u32()?;
        // A count beyond usize cannot fit in the slice either.
        self.bytes(usize::try_from(count).map_err(|_| Error::Truncated)?)
    }

    pub(crate) fn qid(&mut self) -> Result<Qid, Error> {
        Ok(Qid {
            ty: self.u8()?,
            version: self.u32()?,
            path: self.u64()?,
        })
    }

    /// Every byte of the message must belong to a field.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(Error::TrailingBytes(n)),
        }
    }
}

/// Where encoders put bytes.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error>;

    fn u8(&mut self, v: u8) -> Result<(), Error> {
        self.put(&[v])
    }

    fn u16(&mut self, v: u16) -> Result<(), Error> {
        self.put(&v.to_le_bytes())
    }

    fn u32(&mut self, v: u32) -> Result<(), Error> {
        self.put(&v.to_le_bytes())
    }

    fn u64(&mut self, v: u64) -> Result<(), Error> {
        self.put(&v.to_le_bytes())
    }

    fn string(&mut self, s: &[u8]) -> Result<(), Error> {
        let len = u16::try_from(s.len()).map_err(|_| Error::StringTooLong(s.len()))?;
        self.u16(len)?;
        self.put(s)
    }

    fn data(&mut self, d: &[u8]) -> Result<(), Error> {
        let count = u32::try_from(d.len()).map_err(|_| Error::MessageTooLong(d.len()))?;
        self.u32(count)?;
        self.put(d)
    }

    fn qid(&mut self, q: &Qid) -> Result<(), Error> {
        self.u8(q.ty)?;
        self.u32(q.version)?;
        self.u64(q.path)
    }
}

/// Counts what would be written: the encoded length, without a buffer.
pub(crate) struct Counter(pub(crate) usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.0 = self
            .0
            .checked_add(bytes.len())
            .ok_or(Error::MessageTooLong(usize::MAX))?;
        Ok(())
    }
}

/// Writes into a fixed buffer, failing rather than growing.
pub(crate) struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceWriter<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
}

impl Sink for SliceWriter<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let available = self.buf.len();
        let too_small = |needed| Error::BufferTooSmall { needed, available };
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(too_small(usize::MAX))?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(too_small(end))?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}
