//! Decoding and validation of raw syscall arguments.
//!
//! Each function takes the register values (or the bytes the kernel copied
//! in from user memory) and returns a typed request or the `Errno` Linux
//! returns for that input. Pure, so every error case is unit-tested.

use crate::errno::Errno;
use crate::flags::{MapSharing, MmapFlags, MmapProt};
use crate::types::{Iovec, Timespec};

/// The x86_64 base page size.
pub const PAGE_SIZE: u64 = 4096;

/// Largest user mapping length: the size of the lower canonical half.
pub const MAX_MAP_LEN: u64 = 1 << 47;

/// End of user space (Linux `TASK_SIZE_MAX`): the last page below the
/// canonical hole is left unmapped.
pub const USER_SPACE_END: u64 = (1 << 47) - PAGE_SIZE;

/// Most iovecs one `readv`/`writev` may take (`UIO_MAXIOV`).
pub const IOV_MAX: usize = 1024;

const NSEC_PER_SEC: i64 = 1_000_000_000;

/// `x` rounded up to a multiple of [`PAGE_SIZE`]; `None` on overflow.
pub const fn page_round_up(x: u64) -> Option<u64> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}

/// `x` rounded down to a multiple of [`PAGE_SIZE`].
pub const fn page_round_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

pub const fn is_page_aligned(x: u64) -> bool {
    x.is_multiple_of(PAGE_SIZE)
}

/// A validated `mmap` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmapRequest {
    /// The hint, or with `FIXED`/`FIXED_NOREPLACE` the exact, page-aligned
    /// address.
    pub addr: u64,
    /// Length rounded up to whole pages, non-zero.
    pub len: u64,
    pub prot: MmapProt,
    /// Known flags only; unknown bits are dropped (Linux ignores them except
    /// under `MAP_SHARED_VALIDATE`, where they are an error).
    pub flags: MmapFlags,
    /// The low 32 bits of the fd argument; meaningless with `ANONYMOUS`.
    pub fd: i32,
    /// Page-aligned file offset.
    pub offset: u64,
}

impl MmapRequest {
    /// The sharing type (always valid once decoded).
    pub fn sharing(&self) -> MapSharing {
        self.flags.sharing().unwrap_or(MapSharing::Private)
    }

    pub fn is_anonymous(&self) -> bool {
        self.flags.contains(MmapFlags::ANONYMOUS)
    }

    /// `MAP_FIXED` or `MAP_FIXED_NOREPLACE`: `addr` is not just a hint.
    pub fn is_fixed(&self) -> bool {
        self.flags
            .intersects(MmapFlags::FIXED | MmapFlags::FIXED_NOREPLACE)
    }
}

/// Decodes the six `mmap` arguments as Linux validates them
/// (`ksys_mmap_pgoff`, `do_mmap`).
///
/// - `EINVAL`: `len == 0`; `offset` not page-aligned; unknown `prot` bits
///   or both `GROWSDOWN` and `GROWSUP`; sharing type not exactly one of
///   `SHARED`, `PRIVATE`, `SHARED_VALIDATE`; `FIXED`/`FIXED_NOREPLACE` with
///   an unaligned `addr`.
/// - `ENOMEM`: `len` rounds past `u64` or above [`MAX_MAP_LEN`]; a fixed
///   mapping that would end above [`USER_SPACE_END`].
/// - `EOVERFLOW`: `offset + len` overflows.
/// - `EOPNOTSUPP`: unknown flags with `SHARED_VALIDATE`.
pub fn decode_mmap(
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> Result<MmapRequest, Errno> {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = match page_round_up(len) {
        Some(l) if l <= MAX_MAP_LEN => l,
        _ => return Err(Errno::ENOMEM),
    };
    if !is_page_aligned(offset) {
        return Err(Errno::EINVAL);
    }
    if offset.checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    let prot = MmapProt::from_bits(prot).ok_or(Errno::EINVAL)?;
    if prot.contains(MmapProt::GROWSDOWN | MmapProt::GROWSUP) {
        return Err(Errno::EINVAL);
    }
    let raw_flags = MmapFlags::from_bits_retain(flags);
    let sharing = raw_flags.sharing().ok_or(Errno::EINVAL)?;
    if sharing == MapSharing::SharedValidate && MmapFlags::from_bits(flags).is_none() {
        return Err(Errno::EOPNOTSUPP);
    }
    let flags = MmapFlags::from_bits_truncate(flags);
    let request = MmapRequest {
        addr,
        len,
        prot,
        flags,
        fd: fd as u32 as i32,
        offset,
    };
    if request.is_fixed() {
        if !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        match addr.checked_add(len) {
            Some(end) if end <= USER_SPACE_END => {}
            _ => return Err(Errno::ENOMEM),
        }
    }
    Ok(request)
}

/// Checks a `readv`/`writev` iovec count: more than [`IOV_MAX`] is `EINVAL`.
pub fn check_iovcnt(cnt: u64) -> Result<usize, Errno> {
    if cnt > IOV_MAX as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(cnt as usize)
}

/// The iovecs in `bytes` (16 bytes each); a trailing partial entry is
/// ignored.
pub fn decode_iovecs(bytes: &[u8]) -> impl Iterator<Item = Iovec> + '_ {
    bytes.chunks_exact(Iovec::SIZE).map(|chunk| {
        let mut raw = [0u8; Iovec::SIZE];
        raw.copy_from_slice(chunk);
        Iovec::from_bytes(&raw)
    })
}

/// Total length of `iovecs`, which Linux requires to fit in `ssize_t`:
/// a length or a running total above `isize::MAX` is `EINVAL`.
pub fn iovecs_total_len(iovecs: impl IntoIterator<Item = Iovec>) -> Result<u64, Errno> {
    let max = i64::MAX as u64;
    iovecs
        .into_iter()
        .try_fold(0u64, |total, iov| match total.checked_add(iov.len) {
            Some(t) if iov.len <= max && t <= max => Ok(t),
            _ => Err(Errno::EINVAL),
        })
}

/// The clocks lamina serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockId {
    Realtime,
    Monotonic,
    ProcessCputime,
    ThreadCputime,
    MonotonicRaw,
    RealtimeCoarse,
    MonotonicCoarse,
    Boottime,
}

/// Decodes a `clockid_t` (a C `int`, the low 32 bits of the register).
/// Negative ids (per-process and per-thread CPU clocks, fd clocks) and the
/// alarm and TAI clocks are `EINVAL`.
pub fn decode_clock_id(raw: u64) -> Result<ClockId, Errno> {
    Ok(match raw as u32 as i32 {
        0 => ClockId::Realtime,
        1 => ClockId::Monotonic,
        2 => ClockId::ProcessCputime,
        3 => ClockId::ThreadCputime,
        4 => ClockId::MonotonicRaw,
        5 => ClockId::RealtimeCoarse,
        6 => ClockId::MonotonicCoarse,
        7 => ClockId::Boottime,
        _ => return Err(Errno::EINVAL),
    })
}

/// Decodes a `struct timespec` the user passed in: `tv_sec < 0` or
/// `tv_nsec` outside `0..1_000_000_000` is `EINVAL`.
pub fn decode_timespec(bytes: &[u8; 16]) -> Result<Timespec, Errno> {
    let ts = Timespec::from_bytes(bytes);
    if ts.tv_sec < 0 || !(0..NSEC_PER_SEC).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

#[cfg(test)]
mod tests;
