//! The boot bundle: the PVH module that carries the workload into the guest.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! offset 0   magic            8 bytes  "LAMINAB4"
//! offset 8   argc             u32
//! offset 12  envc             u32
//! offset 16  strings_len      u32      bytes of the string area
//! offset 20  program_offset   u32      from the start of the bundle, page aligned
//! offset 24  program_len      u64
//! offset 32  mountc           u32
//! offset 36  filec            u32
//! offset 40  strings          exe_path, cwd, argv[0..argc], envp[0..envc],
//!                             mounts[0..mountc], then path and content of
//!                             files[0..filec], each NUL-terminated
//! ...        padding to program_offset
//! program_offset  the static ELF image; empty when the program is
//!                 `exe_path` in the guest's root file system
//! ```

use alloc::vec::Vec;
use core::fmt;

/// First eight bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"LAMINAB4";
/// Size of the fixed header.
pub const HEADER_LEN: usize = 40;
/// The program image starts on a page boundary so the guest may map it in place.
pub const PROGRAM_ALIGN: usize = 4096;
/// Upper bound on argc + envc, against a hostile or corrupt header.
pub const MAX_STRINGS: usize = 1 << 16;

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle<'a> {
    /// Path of the program as the host resolved it (`/proc/self/exe` names
    /// it), or, with an empty `program`, as the guest's root has it.
    pub exe_path: &'a [u8],
    /// The workload's initial working directory (absolute).
    pub cwd: &'a [u8],
    pub argv: Vec<&'a [u8]>,
    pub envp: Vec<&'a [u8]>,
    /// What the guest mounts besides its root, one line each: `9p TAG
    /// PATH` (a virtio-9p share) or `tmpfs - PATH`.
    pub mounts: Vec<&'a [u8]>,
    /// Text files the guest keeps in memory over its root, as
    /// `(absolute path, content)`: the `/etc/hosts`, `/etc/hostname` and
    /// `/etc/resolv.conf` lamina makes (never written into the rootfs).
    pub files: Vec<(&'a [u8], &'a [u8])>,
    /// The static ELF image; empty when the guest loads `exe_path` from
    /// its root file system.
    pub program: &'a [u8],
}

/// Why a byte string is not a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleError {
    BadMagic,
    Truncated,
    TooManyStrings,
    /// A string is missing its NUL terminator, or contains one.
    BadString,
    BadProgramOffset,
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::BadMagic => "not a lamina boot bundle (bad magic)",
            Self::Truncated => "boot bundle is truncated",
            Self::TooManyStrings => "boot bundle has too many strings",
            Self::BadString => "boot bundle has a malformed string",
            Self::BadProgramOffset => "boot bundle has a bad program offset",
        };
        f.write_str(text)
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, BundleError> {
    let raw = bytes.get(at..at + 4).ok_or(BundleError::Truncated)?;
    Ok(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, BundleError> {
    let lo = u64::from(u32_at(bytes, at)?);
    let hi = u64::from(u32_at(bytes, at + 4)?);
    Ok(lo | (hi << 32))
}

impl<'a> Bundle<'a> {
    /// Serialises a bundle. Strings must not contain NUL bytes (the host
    /// checks this where it builds them: a C string cannot hold one).
    pub fn encode(&self) -> Vec<u8> {
        let mut strings = Vec::new();
        for s in [&self.exe_path, &self.cwd]
            .into_iter()
            .chain(self.argv.iter())
            .chain(self.envp.iter())
            .chain(self.mounts.iter())
            .chain(
                self.files
                    .iter()
                    .flat_map(|(path, content)| [path, content]),
            )
        {
            strings.extend_from_slice(s);
            strings.push(0);
        }
        let program_offset = (HEADER_LEN + strings.len()).next_multiple_of(PROGRAM_ALIGN);
        let mut out = Vec::with_capacity(program_offset + self.program.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(self.argv.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.envp.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&(program_offset as u32).to_le_bytes());
        out.extend_from_slice(&(self.program.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.mounts.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        out.extend_from_slice(&strings);
        out.resize(program_offset, 0);
        out.extend_from_slice(self.program);
        out
    }

    /// Parses a bundle without copying: every slice borrows from `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, BundleError> {
        if bytes.len() < HEADER_LEN {
            return Err(BundleError::Truncated);
        }
        if bytes[..8] != MAGIC {
            return Err(BundleError::BadMagic);
        }
        let argc = u32_at(bytes, 8)? as usize;
        let envc = u32_at(bytes, 12)? as usize;
        let strings_len = u32_at(bytes, 16)? as usize;
        let program_offset = u32_at(bytes, 20)? as usize;
        let program_len = u64_at(bytes, 24)?;
        let mountc = u32_at(bytes, 32)? as usize;
        let filec = u32_at(bytes, 36)? as usize;
        let total = argc
            .saturating_add(envc)
            .saturating_add(mountc)
            .saturating_add(filec.saturating_mul(2));
        if total > MAX_STRINGS {
            return Err(BundleError::TooManyStrings);
        }
        let strings_end = HEADER_LEN
            .checked_add(strings_len)
            .ok_or(BundleError::Truncated)?;
        if program_offset < strings_end || !program_offset.is_multiple_of(PROGRAM_ALIGN) {
            return Err(BundleError::BadProgramOffset);
        }
        let strings = bytes
            .get(HEADER_LEN..strings_end)
            .ok_or(BundleError::Truncated)?;
        let program_len = usize::try_from(program_len).map_err(|_| BundleError::Truncated)?;
        let program_end = program_offset
            .checked_add(program_len)
            .ok_or(BundleError::Truncated)?;
        let program = bytes
            .get(program_offset..program_end)
            .ok_or(BundleError::Truncated)?;

        // Every string, including the last, ends in exactly one NUL.
        if strings.last().is_some_and(|&b| b != 0) {
            return Err(BundleError::BadString);
        }
        let mut parts = strings.split(|&b| b == 0);
        let mut next = || parts.next().ok_or(BundleError::BadString);
        let exe_path = next()?;
        let cwd = next()?;
        let mut argv = Vec::with_capacity(argc);
        for _ in 0..argc {
            argv.push(next()?);
        }
        let mut envp = Vec::with_capacity(envc);
        for _ in 0..envc {
            envp.push(next()?);
        }
        let mut mounts = Vec::with_capacity(mountc);
        for _ in 0..mountc {
            mounts.push(next()?);
        }
        let mut files = Vec::with_capacity(filec);
        for _ in 0..filec {
            files.push((next()?, next()?));
        }
        // `split` yields one empty piece after the final NUL; more means extra strings.
        match (parts.next(), parts.next()) {
            (Some([]), None) => {}
            _ => return Err(BundleError::BadString),
        }
        Ok(Self {
            exe_path,
            cwd,
            argv,
            envp,
            mounts,
            files,
            program,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Bundle<'static> {
        Bundle {
            exe_path: b"/usr/bin/hello",
            cwd: b"/",
            argv: vec![b"hello".as_slice(), b"a b".as_slice(), b"".as_slice()],
            envp: vec![b"HOME=/".as_slice()],
            mounts: vec![b"tmpfs - /scratch".as_slice()],
            files: vec![(b"/etc/hostname".as_slice(), b"box\n".as_slice())],
            program: b"\x7fELF-not-really",
        }
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let bytes = b.encode();
        assert_eq!(bytes.len() % PROGRAM_ALIGN, b.program.len() % PROGRAM_ALIGN);
        assert_eq!(Bundle::decode(&bytes), Ok(b));
    }

    #[test]
    fn golden_header() {
        let bytes = sample().encode();
        assert_eq!(&bytes[..8], b"LAMINAB4");
        assert_eq!(&bytes[8..12], &3u32.to_le_bytes());
        assert_eq!(&bytes[12..16], &1u32.to_le_bytes());
        // "/usr/bin/hello\0/\0hello\0a b\0\0HOME=/\0tmpfs - /scratch\0"
        // "/etc/hostname\0box\n\0"
        assert_eq!(&bytes[16..20], &(52u32 + 19).to_le_bytes());
        assert_eq!(&bytes[20..24], &4096u32.to_le_bytes());
        assert_eq!(&bytes[32..36], &1u32.to_le_bytes());
        assert_eq!(&bytes[36..40], &1u32.to_le_bytes());
        assert_eq!(&bytes[40..57], b"/usr/bin/hello\0/\0");
        assert_eq!(&bytes[92..111], b"/etc/hostname\0box\n\0");
    }

    #[test]
    fn rejects_corruption() {
        let good = sample().encode();
        assert_eq!(Bundle::decode(&good[..20]), Err(BundleError::Truncated));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(Bundle::decode(&bad), Err(BundleError::BadMagic));
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Bundle::decode(&bad), Err(BundleError::TooManyStrings));
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(Bundle::decode(&bad), Err(BundleError::BadString));
        let mut bad = good.clone();
        bad[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(Bundle::decode(&bad), Err(BundleError::Truncated));
        let mut bad = good;
        bad[20..24].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(Bundle::decode(&bad), Err(BundleError::BadProgramOffset));
    }
}
