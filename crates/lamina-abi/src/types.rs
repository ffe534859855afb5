//! `#[repr(C)]` structures of the x86_64 Linux ABI.
//!
//! Each has its size pinned by a `const` assertion and is converted to and
//! from bytes field by field, little-endian, so the kernel never transmutes
//! user memory. Output structures have `to_bytes`; structures the kernel
//! also reads from user memory have `from_bytes`.

use core::mem::size_of;

/// Writes fields in order into a fixed-size buffer.
pub(crate) struct Writer<const N: usize> {
    buf: [u8; N],
    pos: usize,
}

impl<const N: usize> Writer<N> {
    pub(crate) fn new() -> Self {
        Writer {
            buf: [0; N],
            pos: 0,
        }
    }

    pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
        self
    }

    /// Leaves `n` bytes zero (padding, unused union space).
    pub(crate) fn zeros(mut self, n: usize) -> Self {
        self.pos += n;
        self
    }

    pub(crate) fn u8(self, v: u8) -> Self {
        self.bytes(&[v])
    }
    pub(crate) fn u16(self, v: u16) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn u32(self, v: u32) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn i32(self, v: i32) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn u64(self, v: u64) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn i64(self, v: i64) -> Self {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn finish(self) -> [u8; N] {
        // Every caller writes exactly N bytes; the tests check each one.
        debug_assert_eq!(self.pos, N);
        self.buf
    }
}

/// Reads fields in order from a fixed-size buffer.
pub(crate) struct Reader<'a, const N: usize> {
    buf: &'a [u8; N],
    pos: usize,
}

impl<'a, const N: usize> Reader<'a, N> {
    pub(crate) fn new(buf: &'a [u8; N]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn array<const M: usize>(&mut self) -> [u8; M] {
        let mut out = [0u8; M];
        out.copy_from_slice(&self.buf[self.pos..self.pos + M]);
        self.pos += M;
        out
    }

    /// Skips `n` bytes (padding, fields nobody reads back).
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    pub(crate) fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    pub(crate) fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.array())
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
    pub(crate) fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.array())
    }
}

/// `struct timespec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}
const _: () = assert!(size_of::<Timespec>() == 16);

impl Timespec {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; 16] {
        Writer::new().i64(self.tv_sec).i64(self.tv_nsec).finish()
    }

    /// Raw decode, no range check (see `args::decode_timespec`).
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let mut r = Reader::new(b);
        Timespec {
            tv_sec: r.i64(),
            tv_nsec: r.i64(),
        }
    }
}

/// `struct timeval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}
const _: () = assert!(size_of::<Timeval>() == 16);

impl Timeval {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; 16] {
        Writer::new().i64(self.tv_sec).i64(self.tv_usec).finish()
    }

    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let mut r = Reader::new(b);
        Timeval {
            tv_sec: r.i64(),
            tv_usec: r.i64(),
        }
    }
}

/// x86_64 `struct stat` (`arch/x86/include/uapi/asm/stat.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub unused: [i64; 3],
}
const _: () = assert!(size_of::<Stat>() == 144);

impl Stat {
    pub const SIZE: usize = 144;

    pub fn to_bytes(&self) -> [u8; 144] {
        Writer::new()
            .u64(self.st_dev)
            .u64(self.st_ino)
            .u64(self.st_nlink)
            .u32(self.st_mode)
            .u32(self.st_uid)
            .u32(self.st_gid)
            .u32(self.pad0)
            .u64(self.st_rdev)
            .i64(self.st_size)
            .i64(self.st_blksize)
            .i64(self.st_blocks)
            .i64(self.st_atime)
            .i64(self.st_atime_nsec)
            .i64(self.st_mtime)
            .i64(self.st_mtime_nsec)
            .i64(self.st_ctime)
            .i64(self.st_ctime_nsec)
            .i64(self.unused[0])
            .i64(self.unused[1])
            .i64(self.unused[2])
            .finish()
    }
}

/// x86_64 `struct statfs` (`include/uapi/asm-generic/statfs.h`, 64-bit
/// longs): 120 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statfs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}

impl Statfs {
    pub const SIZE: usize = 120;

    pub fn to_bytes(&self) -> [u8; 120] {
        Writer::new()
            .i64(self.f_type)
            .i64(self.f_bsize)
            .u64(self.f_blocks)
            .u64(self.f_bfree)
            .u64(self.f_bavail)
            .u64(self.f_files)
            .u64(self.f_ffree)
            .i32(self.f_fsid[0])
            .i32(self.f_fsid[1])
            .i64(self.f_namelen)
            .i64(self.f_frsize)
            .i64(self.f_flags)
            .i64(self.f_spare[0])
            .i64(self.f_spare[1])
            .i64(self.f_spare[2])
            .i64(self.f_spare[3])
            .finish()
    }
}

/// `struct statx_timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub reserved: i32,
}
const _: () = assert!(size_of::<StatxTimestamp>() == 16);

/// `struct statx` (`include/uapi/linux/stat.h`, Linux 6.11 layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Statx {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub stx_subvol: u64,
    pub stx_atomic_write_unit_min: u32,
    pub stx_atomic_write_unit_max: u32,
    pub stx_atomic_write_segments_max: u32,
    pub spare1: u32,
    pub spare3: [u64; 9],
}
const _: () = assert!(size_of::<Statx>() == 256);

impl Statx {
    pub const SIZE: usize = 256;

    pub fn to_bytes(&self) -> [u8; 256] {
        let ts =
            |w: Writer<256>, t: &StatxTimestamp| w.i64(t.tv_sec).u32(t.tv_nsec).i32(t.reserved);
        let w = Writer::new()
            .u32(self.stx_mask)
            .u32(self.stx_blksize)
            .u64(self.stx_attributes)
            .u32(self.stx_nlink)
            .u32(self.stx_uid)
            .u32(self.stx_gid)
            .u16(self.stx_mode)
            .u16(self.spare0)
            .u64(self.stx_ino)
            .u64(self.stx_size)
            .u64(self.stx_blocks)
            .u64(self.stx_attributes_mask);
        let w = ts(w, &self.stx_atime);
        let w = ts(w, &self.stx_btime);
        let w = ts(w, &self.stx_ctime);
        let w = ts(w, &self.stx_mtime);
        let mut w = w
            .u32(self.stx_rdev_major)
            .u32(self.stx_rdev_minor)
            .u32(self.stx_dev_major)
            .u32(self.stx_dev_minor)
            .u64(self.stx_mnt_id)
            .u32(self.stx_dio_mem_align)
            .u32(self.stx_dio_offset_align)
            .u64(self.stx_subvol)
            .u32(self.stx_atomic_write_unit_min)
            .u32(self.stx_atomic_write_unit_max)
            .u32(self.stx_atomic_write_segments_max)
            .u32(self.spare1);
        for v in self.spare3 {
            w = w.u64(v);
        }
        w.finish()
    }
}

/// Length of each `struct utsname` field, including the NUL.
pub const UTSNAME_FIELD_LEN: usize = 65;

/// `struct new_utsname` (`uname`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; UTSNAME_FIELD_LEN],
    pub nodename: [u8; UTSNAME_FIELD_LEN],
    pub release: [u8; UTSNAME_FIELD_LEN],
    pub version: [u8; UTSNAME_FIELD_LEN],
    pub machine: [u8; UTSNAME_FIELD_LEN],
    pub domainname: [u8; UTSNAME_FIELD_LEN],
}
const _: () = assert!(size_of::<Utsname>() == 390);

/// `s` truncated to 64 bytes, NUL-padded, so the field stays terminated.
fn uts_field(s: &[u8]) -> [u8; UTSNAME_FIELD_LEN] {
    let mut f = [0u8; UTSNAME_FIELD_LEN];
    let n = s.len().min(UTSNAME_FIELD_LEN - 1);
    f[..n].copy_from_slice(&s[..n]);
    f
}

impl Utsname {
    pub const SIZE: usize = 390;

    /// Each field truncated to 64 bytes so it stays NUL-terminated.
    pub fn new(
        sysname: &[u8],
        nodename: &[u8],
        release: &[u8],
        version: &[u8],
        machine: &[u8],
        domainname: &[u8],
    ) -> Self {
        Utsname {
            sysname: uts_field(sysname),
            nodename: uts_field(nodename),
            release: uts_field(release),
            version: uts_field(version),
            machine: uts_field(machine),
            domainname: uts_field(domainname),
        }
    }

    pub fn to_bytes(&self) -> [u8; 390] {
        Writer::new()
            .bytes(&self.sysname)
            .bytes(&self.nodename)
            .bytes(&self.release)
            .bytes(&self.version)
            .bytes(&self.machine)
            .bytes(&self.domainname)
            .finish()
    }
}

/// `struct winsize` (`TIOCGWINSZ`, `TIOCSWINSZ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}
const _: () = assert!(size_of::<Winsize>() == 8);

impl Winsize {
    pub const SIZE: usize = 8;

    pub fn to_bytes(&self) -> [u8; 8] {
        Writer::new()
            .u16(self.ws_row)
            .u16(self.ws_col)
            .u16(self.ws_xpixel)
            .u16(self.ws_ypixel)
            .finish()
    }

    pub fn from_bytes(b: &[u8; 8]) -> Self {
        let mut r = Reader::new(b);
        Winsize {
            ws_row: r.u16(),
            ws_col: r.u16(),
            ws_xpixel: r.u16(),
            ws_ypixel: r.u16(),
        }
    }
}

/// Number of control characters in the kernel's `struct termios`.
pub const NCCS: usize = 19;

/// The kernel's `struct termios` (`TCGETS`/`TCSETS*`), not glibc's larger
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; NCCS],
}
const _: () = assert!(size_of::<Termios>() == 36);

impl Termios {
    pub const SIZE: usize = 36;

    /// What Linux gives a fresh tty (`tty_std_termios`): `ICRNL|IXON`,
    /// `OPOST|ONLCR`, `B38400|CS8|CREAD|HUPCL`,
    /// `ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN`, `INIT_C_CC`.
    pub const fn linux_default() -> Self {
        Termios {
            c_iflag: 0o2400,
            c_oflag: 0o5,
            c_cflag: 0o2277,
            c_lflag: 0o105073,
            c_line: 0,
            c_cc: [
                0o3, 0o34, 0o177, 0o25, 0o4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26,
                0, 0, 0,
            ],
        }
    }

    pub fn to_bytes(&self) -> [u8; 36] {
        Writer::new()
            .u32(self.c_iflag)
            .u32(self.c_oflag)
            .u32(self.c_cflag)
            .u32(self.c_lflag)
            .u8(self.c_line)
            .bytes(&self.c_cc)
            .finish()
    }

    pub fn from_bytes(b: &[u8; 36]) -> Self {
        let mut r = Reader::new(b);
        Termios {
            c_iflag: r.u32(),
            c_oflag: r.u32(),
            c_cflag: r.u32(),
            c_lflag: r.u32(),
            c_line: r.u8(),
            c_cc: r.array(),
        }
    }
}

/// `struct rlimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Rlimit {
    pub rlim_cur: u64,
    pub rlim_max: u64,
}
const _: () = assert!(size_of::<Rlimit>() == 16);

impl Rlimit {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; 16] {
        Writer::new().u64(self.rlim_cur).u64(self.rlim_max).finish()
    }

    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let mut r = Reader::new(b);
        Rlimit {
            rlim_cur: r.u64(),
            rlim_max: r.u64(),
        }
    }
}

/// The kernel's `struct sigaction` for `rt_sigaction` (x86_64 order:
/// handler, flags, restorer, mask; `sigsetsize` is 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct KernelSigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}
const _: () = assert!(size_of::<KernelSigaction>() == 32);

impl KernelSigaction {
    pub const SIZE: usize = 32;

    pub fn to_bytes(&self) -> [u8; 32] {
        Writer::new()
            .u64(self.handler)
            .u64(self.flags)
            .u64(self.restorer)
            .u64(self.mask)
            .finish()
    }

    pub fn from_bytes(b: &[u8; 32]) -> Self {
        let mut r = Reader::new(b);
        KernelSigaction {
            handler: r.u64(),
            flags: r.u64(),
            restorer: r.u64(),
            mask: r.u64(),
        }
    }
}

/// `struct iovec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}
const _: () = assert!(size_of::<Iovec>() == 16);

impl Iovec {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; 16] {
        Writer::new().u64(self.base).u64(self.len).finish()
    }

    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let mut r = Reader::new(b);
        Iovec {
            base: r.u64(),
            len: r.u64(),
        }
    }
}

/// `stack_t` (`sigaltstack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct StackT {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub pad: u32,
    pub ss_size: u64,
}
const _: () = assert!(size_of::<StackT>() == 24);

impl StackT {
    pub const SIZE: usize = 24;

    pub fn to_bytes(&self) -> [u8; 24] {
        Writer::new()
            .u64(self.ss_sp)
            .i32(self.ss_flags)
            .u32(self.pad)
            .u64(self.ss_size)
            .finish()
    }

    pub fn from_bytes(b: &[u8; 24]) -> Self {
        let mut r = Reader::new(b);
        StackT {
            ss_sp: r.u64(),
            ss_flags: r.i32(),
            pad: r.u32(),
            ss_size: r.u64(),
        }
    }
}

#[cfg(test)]
mod tests;
