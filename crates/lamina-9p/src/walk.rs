//! The element lists of Twalk (names) and Rwalk (qids), at most
//! [`MAXWELEM`] each, held without allocation.

use crate::consts::MAXWELEM;
use crate::wire::{Qid, Reader};
use crate::Error;
use core::fmt;
use core::slice;

/// The names of a Twalk: the caller's slice when encoding, the received
/// bytes (already checked) when decoding. Both are borrowed, never copied.
#[derive(Clone, Copy)]
pub struct WalkNames<'a>(Names<'a>);

#[derive(Clone, Copy)]
enum Names<'a> {
    Slice(&'a [&'a [u8]]),
    /// `count` consecutive `len[2] bytes[len]` strings filling `bytes`.
    Wire {
        count: u16,
        bytes: &'a [u8],
    },
}

impl<'a> WalkNames<'a> {
    /// Names to send; more than [`MAXWELEM`] is an error (walk in steps).
    pub fn new(names: &'a [&'a [u8]]) -> Result<Self, Error> {
        if names.len() > MAXWELEM {
            return Err(Error::TooManyWalkElems(names.len()));
        }
        Ok(Self(Names::Slice(names)))
    }

    /// Reads `nwname[2] nwname*(wname[s])`, checking every length.
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, Error> {
        let count = r.u16()?;
        if usize::from(count) > MAXWELEM {
            return Err(Error::TooManyWalkElems(usize::from(count)));
        }
        // Measure the names on a copy of the cursor, then take them whole.
        let mut probe = Reader::new(r.rest());
        for _ in 0..count {
            probe.string()?;
        }
        let len = r.rest().len().saturating_sub(probe.rest().len());
        Ok(Self(Names::Wire {
            count,
            bytes: r.bytes(len)?,
        }))
    }

    pub fn len(&self) -> usize {
        match self.0 {
            Names::Slice(names) => names.len(),
            Names::Wire { count, .. } => usize::from(count),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> WalkNamesIter<'a> {
        WalkNamesIter(match self.0 {
            Names::Slice(names) => NamesIter::Slice(names.iter()),
            Names::Wire { bytes, .. } => NamesIter::Wire(Reader::new(bytes)),
        })
    }
}

impl PartialEq for WalkNames<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for WalkNames<'_> {}

impl fmt::Debug for WalkNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The names of a [`WalkNames`], in order.
pub struct WalkNamesIter<'a>(NamesIter<'a>);

enum NamesIter<'a> {
    Slice(slice::Iter<'a, &'a [u8]>),
    Wire(Reader<'a>),
}

impl<'a> Iterator for WalkNamesIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.0 {
            NamesIter::Slice(names) => names.next().copied(),
            // Checked when decoded, so this ends exactly at the last name.
            NamesIter::Wire(r) => r.string().ok(),
        }
    }
}

/// The qids of an Rwalk, one per name walked.
#[derive(Clone, Copy)]
pub struct WalkQids {
    qids: [Qid; MAXWELEM],
    len: usize,
}

impl WalkQids {
    pub fn new(qids: &[Qid]) -> Result<Self, Error> {
        let mut out = Self {
            qids: [Qid::default(); MAXWELEM],
            len: 0,
        };
        for qid in qids {
            out.push(*qid)?;
        }
        Ok(out)
    }

    pub fn push(&mut self, qid: Qid) -> Result<(), Error> {
        let slot = self
            .qids
            .get_mut(self.len)
            .ok_or(Error::TooManyWalkElems(self.len.saturating_add(1)))?;
        *slot = qid;
        self.len += 1;
        Ok(())
    }

    pub fn as_slice(&self) -> &[Qid] {
        self.qids.get(..self.len).unwrap_or(&[])
    }
}

impl PartialEq for WalkQids {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for WalkQids {}

impl fmt::Debug for WalkQids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}
