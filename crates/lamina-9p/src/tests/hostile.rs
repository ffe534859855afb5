//! Hostile input, CI-sized: random bytes and corruptions of valid
//! encodings must decode to errors or to messages that re-encode to the
//! same bytes, never panic. `fuzz/` runs the same check unbounded.

use super::round_trip::{encode_r, encode_t, every_rmsg, every_tmsg};
use crate::*;
use alloc::vec::Vec;

const MSIZE: u32 = 512 * 1024;

/// xorshift64: deterministic, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Decodes `bytes` every way there is; a successful decode must be exact.
pub(crate) fn decode_everything(bytes: &[u8]) {
    let _ = Header::decode(bytes, MSIZE);
    if let Ok((tag, msg)) = Tmsg::decode(bytes, MSIZE) {
        let size = Header::decode(bytes, MSIZE).unwrap().size as usize;
        assert_eq!(encode_t(&msg, tag), bytes[..size], "{msg:?}");
    }
    if let Ok((tag, msg)) = Rmsg::decode(bytes, MSIZE) {
        let size = Header::decode(bytes, MSIZE).unwrap().size as usize;
        assert_eq!(encode_r(&msg, tag), bytes[..size], "{msg:?}");
        if let Rmsg::Readdir { data } = msg {
            for entry in DirEntries::new(data) {
                let _ = entry;
            }
        }
    }
    for entry in DirEntries::new(bytes) {
        let _ = entry.map(|e| e.encoded_len());
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for msg in every_tmsg() {
        corpus.push(encode_t(&msg, 1));
    }
    for msg in every_rmsg() {
        corpus.push(encode_r(&msg, 1));
    }
    let mut decoded = 0;
    for round in 0..20_000 {
        let mut bytes = corpus[rng.below(corpus.len())].clone();
        match round % 5 {
            // Flip a few bits.
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            // Overwrite a few bytes.
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next() as u8;
                }
            }
            // Set a length field (or any 2 or 4 bytes) huge or off by a little.
            2 => {
                let at = rng.below(bytes.len().saturating_sub(4).max(1));
                let value: u32 = match rng.below(4) {
                    0 => u32::MAX,
                    1 => 0xffff,
                    2 => 0x8000_0000,
                    _ => (bytes.len() + rng.below(8)) as u32,
                };
                let width = if rng.below(2) == 0 { 2 } else { 4 };
                let end = (at + width).min(bytes.len());
                bytes[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
            }
            // Cut short, keeping or fixing the size field.
            3 => {
                bytes.truncate(rng.below(bytes.len() + 1));
                if bytes.len() >= 4 && rng.below(2) == 0 {
                    let size = bytes.len() as u32;
                    bytes[..4].copy_from_slice(&size.to_le_bytes());
                }
            }
            // Random bytes behind a plausible header.
            _ => {
                let len = rng.below(200);
                bytes = (0..len).map(|_| rng.next() as u8).collect();
                if len >= 7 {
                    bytes[..4].copy_from_slice(&(len as u32).to_le_bytes());
                    bytes[4] = rng.below(128) as u8;
                }
            }
        }
        decode_everything(&bytes);
        decoded +=
            usize::from(Tmsg::decode(&bytes, MSIZE).is_ok() || Rmsg::decode(&bytes, MSIZE).is_ok());
    }
    // The mutations should not be so wild that nothing ever decodes.
    assert!(decoded > 1000, "only {decoded} inputs decoded");
}
