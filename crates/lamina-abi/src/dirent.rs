//! `struct linux_dirent64` records, as `getdents64(2)` fills its buffer
//! (`include/linux/dirent.h`): d_ino u64, d_off i64, d_reclen u16,
//! d_type u8, the name and a NUL, padded to 8 bytes.

/// `d_type` values (`include/linux/fs_types.h`).
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

const HEADER_LEN: usize = 8 + 8 + 2 + 1;
const ALIGN: usize = 8;

/// The record length of an entry named `name`.
pub fn record_len(name: &[u8]) -> usize {
    (HEADER_LEN + name.len() + 1).next_multiple_of(ALIGN)
}

/// Appends one record to `out` if it fits in `room` more bytes; returns
/// whether it did. `next` is the cursor that resumes after this entry.
pub fn push(
    out: &mut alloc::vec::Vec<u8>,
    room: usize,
    ino: u64,
    next: u64,
    kind: u8,
    name: &[u8],
) -> bool {
    let len = record_len(name);
    if len > room {
        return false;
    }
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.push(kind);
    out.extend_from_slice(name);
    out.resize(out.len() + len - HEADER_LEN - name.len(), 0);
    true
}

/// The `d_type` of a file mode's type bits.
pub fn type_of_mode(mode: u32) -> u8 {
    use crate::flags::*;
    match mode & S_IFMT {
        S_IFDIR => DT_DIR,
        S_IFREG => DT_REG,
        S_IFLNK => DT_LNK,
        S_IFCHR => DT_CHR,
        S_IFBLK => DT_BLK,
        S_IFIFO => DT_FIFO,
        S_IFSOCK => DT_SOCK,
        _ => DT_UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn golden_record() {
        let mut out = Vec::new();
        assert!(push(&mut out, 64, 0x1122, 7, DT_REG, b"abc"));
        // 19 header bytes + "abc" + NUL = 23, padded to 24.
        let mut expected = Vec::new();
        expected.extend_from_slice(&0x1122u64.to_le_bytes());
        expected.extend_from_slice(&7u64.to_le_bytes());
        expected.extend_from_slice(&24u16.to_le_bytes());
        expected.push(DT_REG);
        expected.extend_from_slice(b"abc\0\0");
        assert_eq!(out, expected);
        assert_eq!(record_len(b"abcde"), 32);
        assert_eq!(record_len(b"abcd"), 24);
    }

    #[test]
    fn a_record_that_does_not_fit_is_not_written() {
        let mut out = Vec::new();
        assert!(!push(&mut out, 23, 1, 1, DT_DIR, b"abc"));
        assert!(out.is_empty());
    }
}
