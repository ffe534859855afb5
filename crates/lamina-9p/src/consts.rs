//! Numbers of 9P2000.L: message types, magic values and flag bits.
//!
//! Message types and qid types are those of Linux `include/net/9p/9p.h`
//! (`enum p9_msg_t`, `enum p9_qid_t`); the getattr and setattr masks are
//! those of diod's `protocol.md`.

/// The protocol version string sent in Tversion and echoed in Rversion.
pub const VERSION_9P2000_L: &[u8] = b"9P2000.L";
/// The Rversion string of a server that speaks none of the offered versions
/// (Plan 9 version(5)).
pub const VERSION_UNKNOWN: &[u8] = b"unknown";

/// The tag of Tversion, which is sent before any other message.
pub const NOTAG: u16 = 0xffff;
/// "No fid": the `afid` of a Tattach without authentication.
pub const NOFID: u32 = 0xffff_ffff;
/// "No numeric user": `n_uname` of a Tattach that names the user by `uname`.
pub const NONUNAME: u32 = 0xffff_ffff;
/// The most names one Twalk may carry (and qids one Rwalk may return).
pub const MAXWELEM: usize = 16;
/// `size[4] type[1] tag[2]`.
pub const HEADER_LEN: usize = 7;
/// Room Linux reserves in `msize` for the Twrite/Rread header (`P9_IOHDRSZ`):
/// the largest data payload of one message is `msize - IOHDRSZ`.
pub const IOHDRSZ: u32 = 24;
/// Room Linux reserves in `msize` for the Rreaddir header (`P9_READDIRHDRSZ`).
pub const READDIRHDRSZ: u32 = 24;

// Message types (Linux `enum p9_msg_t`). An R type is its T type + 1.
pub const TLERROR: u8 = 6;
pub const RLERROR: u8 = 7;
pub const TSTATFS: u8 = 8;
pub const RSTATFS: u8 = 9;
pub const TLOPEN: u8 = 12;
pub const RLOPEN: u8 = 13;
pub const TLCREATE: u8 = 14;
pub const RLCREATE: u8 = 15;
pub const TSYMLINK: u8 = 16;
pub const RSYMLINK: u8 = 17;
pub const TMKNOD: u8 = 18;
pub const RMKNOD: u8 = 19;
pub const TRENAME: u8 = 20;
pub const RRENAME: u8 = 21;
pub const TREADLINK: u8 = 22;
pub const RREADLINK: u8 = 23;
pub const TGETATTR: u8 = 24;
pub const RGETATTR: u8 = 25;
pub const TSETATTR: u8 = 26;
pub const RSETATTR: u8 = 27;
pub const TXATTRWALK: u8 = 30;
pub const RXATTRWALK: u8 = 31;
pub const TXATTRCREATE: u8 = 32;
pub const RXATTRCREATE: u8 = 33;
pub const TREADDIR: u8 = 40;
pub const RREADDIR: u8 = 41;
pub const TFSYNC: u8 = 50;
pub const RFSYNC: u8 = 51;
pub const TLOCK: u8 = 52;
pub const RLOCK: u8 = 53;
pub const TGETLOCK: u8 = 54;
pub const RGETLOCK: u8 = 55;
pub const TLINK: u8 = 70;
pub const RLINK: u8 = 71;
pub const TMKDIR: u8 = 72;
pub const RMKDIR: u8 = 73;
pub const TRENAMEAT: u8 = 74;
pub const RRENAMEAT: u8 = 75;
pub const TUNLINKAT: u8 = 76;
pub const RUNLINKAT: u8 = 77;
pub const TVERSION: u8 = 100;
pub const RVERSION: u8 = 101;
pub const TAUTH: u8 = 102;
pub const RAUTH: u8 = 103;
pub const TATTACH: u8 = 104;
pub const RATTACH: u8 = 105;
/// 9P2000's string error reply; a 9P2000.L server answers Rlerror instead.
pub const RERROR: u8 = 107;
pub const TFLUSH: u8 = 108;
pub const RFLUSH: u8 = 109;
pub const TWALK: u8 = 110;
pub const RWALK: u8 = 111;
pub const TREAD: u8 = 116;
pub const RREAD: u8 = 117;
pub const TWRITE: u8 = 118;
pub const RWRITE: u8 = 119;
pub const TCLUNK: u8 = 120;
pub const RCLUNK: u8 = 121;
pub const TREMOVE: u8 = 122;
pub const RREMOVE: u8 = 123;

// Qid types (`qid.type`, the top byte of the 9P2000 permission bits).
pub const QTDIR: u8 = 0x80;
pub const QTAPPEND: u8 = 0x40;
pub const QTEXCL: u8 = 0x20;
pub const QTMOUNT: u8 = 0x10;
pub const QTAUTH: u8 = 0x08;
pub const QTTMP: u8 = 0x04;
pub const QTSYMLINK: u8 = 0x02;
pub const QTLINK: u8 = 0x01;
pub const QTFILE: u8 = 0x00;

// Tgetattr `request_mask` and Rgetattr `valid` bits.
pub const GETATTR_MODE: u64 = 0x0000_0001;
pub const GETATTR_NLINK: u64 = 0x0000_0002;
pub const GETATTR_UID: u64 = 0x0000_0004;
pub const GETATTR_GID: u64 = 0x0000_0008;
pub const GETATTR_RDEV: u64 = 0x0000_0010;
pub const GETATTR_ATIME: u64 = 0x0000_0020;
pub const GETATTR_MTIME: u64 = 0x0000_0040;
pub const GETATTR_CTIME: u64 = 0x0000_0080;
pub const GETATTR_INO: u64 = 0x0000_0100;
pub const GETATTR_SIZE: u64 = 0x0000_0200;
pub const GETATTR_BLOCKS: u64 = 0x0000_0400;
pub const GETATTR_BTIME: u64 = 0x0000_0800;
pub const GETATTR_GEN: u64 = 0x0000_1000;
pub const GETATTR_DATA_VERSION: u64 = 0x0000_2000;
/// Everything `stat(2)` reports: the bits up to and including BLOCKS.
pub const GETATTR_BASIC: u64 = 0x0000_07ff;
pub const GETATTR_ALL: u64 = 0x0000_3fff;

// Tsetattr `valid` bits (the Linux `ATTR_*` bits of `struct iattr`).
pub const SETATTR_MODE: u32 = 0x0000_0001;
pub const SETATTR_UID: u32 = 0x0000_0002;
pub const SETATTR_GID: u32 = 0x0000_0004;
pub const SETATTR_SIZE: u32 = 0x0000_0008;
pub const SETATTR_ATIME: u32 = 0x0000_0010;
pub const SETATTR_MTIME: u32 = 0x0000_0020;
pub const SETATTR_CTIME: u32 = 0x0000_0040;
/// With ATIME: use the sent `atime`, not the server's clock.
pub const SETATTR_ATIME_SET: u32 = 0x0000_0080;
/// With MTIME: use the sent `mtime`, not the server's clock.
pub const SETATTR_MTIME_SET: u32 = 0x0000_0100;

// Tlopen and Tlcreate `flags`: Linux's own x86_64 `open(2)` bits
// (Linux `P9_DOTL_*`). SYNC is `__O_SYNC` alone, without DSYNC.
pub const L_O_RDONLY: u32 = 0o0;
pub const L_O_WRONLY: u32 = 0o1;
pub const L_O_RDWR: u32 = 0o2;
pub const L_O_NOACCESS: u32 = 0o3;
pub const L_O_CREAT: u32 = 0o100;
pub const L_O_EXCL: u32 = 0o200;
pub const L_O_NOCTTY: u32 = 0o400;
pub const L_O_TRUNC: u32 = 0o1000;
pub const L_O_APPEND: u32 = 0o2000;
pub const L_O_NONBLOCK: u32 = 0o4000;
pub const L_O_DSYNC: u32 = 0o10000;
pub const L_O_FASYNC: u32 = 0o20000;
pub const L_O_DIRECT: u32 = 0o40000;
pub const L_O_LARGEFILE: u32 = 0o100000;
pub const L_O_DIRECTORY: u32 = 0o200000;
pub const L_O_NOFOLLOW: u32 = 0o400000;
pub const L_O_NOATIME: u32 = 0o1000000;
pub const L_O_CLOEXEC: u32 = 0o2000000;
pub const L_O_SYNC: u32 = 0o4000000;

/// Tunlinkat `flags`: remove a directory (Linux `AT_REMOVEDIR`).
pub const AT_REMOVEDIR: u32 = 0x200;

// Rreaddir entry `type`: Linux `d_type` values.
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;
