//! Golden bytes written out from the layouts in diod's `protocol.md`, round
//! trips of every message, and hostile input.

mod golden;
mod hostile;
mod round_trip;

use alloc::vec::Vec;

/// Bytes from a hex dump ("15 00 00 00 ..." or "80000000 00ac1f2c ...").
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|c| (c as char).to_digit(16).unwrap() as u8)
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}
