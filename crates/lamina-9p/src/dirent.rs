//! The directory entries packed in Rreaddir data (diod `protocol.md`,
//! "readdir"): `qid[13] offset[8] type[1] name[s]`, back to back.

use crate::wire::{Counter, Qid, Reader, Sink, SliceWriter, QID_LEN};
use crate::Error;
use alloc::vec::Vec;

/// One entry of a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntry<'a> {
    pub qid: Qid,
    /// Where the next Treaddir resumes to read past this entry.
    pub offset: u64,
    /// Linux `d_type` (`DT_DIR`, `DT_REG`, ...).
    pub ty: u8,
    pub name: &'a [u8],
}

impl<'a> DirEntry<'a> {
    /// Bytes of an entry with an empty name.
    pub const FIXED_LEN: usize = QID_LEN + 8 + 1 + 2;

    fn put<S: Sink>(&self, s: &mut S) -> Result<(), Error> {
        s.qid(&self.qid)?;
        s.u64(self.offset)?;
        s.u8(self.ty)?;
        s.string(self.name)
    }

    /// Bytes this entry takes in Rreaddir data (a server packs entries
    /// while they fit in the client's `count`).
    pub fn encoded_len(&self) -> Result<usize, Error> {
        let mut counter = Counter(0);
        self.put(&mut counter)?;
        Ok(counter.0)
    }

    /// Writes the entry at the start of `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = self.encoded_len()?;
        if len > buf.len() {
            return Err(Error::BufferTooSmall {
                needed: len,
                available: buf.len(),
            });
        }
        self.put(&mut SliceWriter::new(buf))?;
        Ok(len)
    }

    /// Appends the entry to `out`.
    pub fn encode_to_vec(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.put(out)
    }
}

/// The entries of Rreaddir data, in order. A malformed entry yields one
/// `Err` and ends the iteration.
#[derive(Debug, Clone)]
pub struct DirEntries<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl<'a> DirEntries<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            reader: Reader::new(data),
            failed: false,
        }
    }

    fn read(&mut self) -> Result<DirEntry<'a>, Error> {
        let r = &mut self.reader;
        Ok(DirEntry {
            qid: r.qid()?,
            offset: r.u64()?,
            ty: r.u8()?,
            name: r.string()?,
        })
    }
}

impl<'a> Iterator for DirEntries<'a> {
    type Item = Result<DirEntry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.reader.rest().is_empty() {
            return None;
        }
        let entry = self.read();
        self.failed = entry.is_err();
        Some(entry)
    }
}
