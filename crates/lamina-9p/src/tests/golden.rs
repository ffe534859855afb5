//! Every vector here was written byte by byte from the message layouts
//! (`size[4] type[1] tag[2]` then the fields, little-endian), not produced
//! by this crate. The ones marked "diod session" take their values from the
//! sample session in diod's `protocol.md`: a Linux v9fs client talking to
//! the diod server.

use super::hex;
use crate::*;
use alloc::vec::Vec;

const MSIZE: u32 = 8192;

fn t_bytes(msg: &Tmsg<'_>, tag: u16) -> Vec<u8> {
    let mut out = Vec::new();
    msg.encode_to_vec(tag, &mut out).unwrap();
    out
}

fn r_bytes(msg: &Rmsg<'_>, tag: u16) -> Vec<u8> {
    let mut out = Vec::new();
    msg.encode_to_vec(tag, &mut out).unwrap();
    out
}

/// Encodes to `golden` and decodes back from it.
fn check_t(msg: Tmsg<'_>, tag: u16, golden: &[u8]) {
    assert_eq!(t_bytes(&msg, tag), golden, "{msg:?}");
    assert_eq!(Tmsg::decode(golden, MSIZE), Ok((tag, msg)));
}

fn check_r(msg: Rmsg<'_>, tag: u16, golden: &[u8]) {
    assert_eq!(r_bytes(&msg, tag), golden, "{msg:?}");
    assert_eq!(Rmsg::decode(golden, MSIZE), Ok((tag, msg)));
}

#[test]
fn tversion() {
    // size 21 = header 7 + msize 4 + len 2 + "9P2000.L" 8; type 100; NOTAG,
    // as Linux sends it ("ds" in client.c; "P9_TVERSION tag 65535" in the
    // diod session).
    let golden = hex("15 00 00 00 64 ff ff 00 20 00 00 08 00 39 50 32 30 30 30 2e 4c");
    check_t(
        Tmsg::Version {
            msize: 8192,
            version: VERSION_9P2000_L,
        },
        NOTAG,
        &golden,
    );
}

#[test]
fn rversion() {
    let golden = hex("15 00 00 00 65 ff ff 00 20 00 00 08 00 39 50 32 30 30 30 2e 4c");
    check_r(
        Rmsg::Version {
            msize: 8192,
            version: VERSION_9P2000_L,
        },
        NOTAG,
        &golden,
    );
}

#[test]
fn tattach_diod_session() {
    // "P9_TATTACH tag 1 fid 0 afid -1 uname 'root' aname '/tmp/9' n_uname
    // P9_NONUNAME": 7 + 4 + 4 + (2+4) + (2+6) + 4 = 33.
    let golden = hex("21 00 00 00 68 01 00  00 00 00 00  ff ff ff ff
         04 00 72 6f 6f 74  06 00 2f 74 6d 70 2f 39  ff ff ff ff");
    check_t(
        Tmsg::Attach {
            fid: 0,
            afid: NOFID,
            uname: b"root",
            aname: b"/tmp/9",
            n_uname: NONUNAME,
        },
        1,
        &golden,
    );
}

#[test]
fn rattach_diod_session() {
    // "qid (00000000002c1fac 0 'd')": type QTDIR, version 0, path 0x2c1fac.
    let golden = hex("14 00 00 00 69 01 00  80 00 00 00 00  ac 1f 2c 00 00 00 00 00");
    let qid = Qid {
        ty: QTDIR,
        version: 0,
        path: 0x2c_1fac,
    };
    check_r(Rmsg::Attach { qid }, 1, &golden);
}

#[test]
fn twalk_and_rwalk_diod_session() {
    // "P9_TWALK tag 1 fid 1 newfid 2 nwname 1 'foo'".
    let golden = hex("16 00 00 00 6e 01 00  01 00 00 00  02 00 00 00  01 00  03 00 66 6f 6f");
    let names: [&[u8]; 1] = [b"foo"];
    check_t(
        Tmsg::Walk {
            fid: 1,
            newfid: 2,
            names: WalkNames::new(&names).unwrap(),
        },
        1,
        &golden,
    );
    // "P9_RWALK tag 1 nwqid 1(00000000002c1bd1 0 '')".
    let golden = hex("16 00 00 00 6f 01 00  01 00  00 00 00 00 00  d1 1b 2c 00 00 00 00 00");
    let qid = Qid {
        ty: QTFILE,
        version: 0,
        path: 0x2c_1bd1,
    };
    check_r(
        Rmsg::Walk {
            qids: WalkQids::new(&[qid]).unwrap(),
        },
        1,
        &golden,
    );
    // A clone: "nwname 0" and "nwqid 0".
    let golden = hex("11 00 00 00 6e 01 00  01 00 00 00  02 00 00 00  00 00");
    check_t(
        Tmsg::Walk {
            fid: 1,
            newfid: 2,
            names: WalkNames::new(&[]).unwrap(),
        },
        1,
        &golden,
    );
    check_r(
        Rmsg::Walk {
            qids: WalkQids::new(&[]).unwrap(),
        },
        1,
        &hex("09 00 00 00 6f 01 00 00 00"),
    );
}

#[test]
fn tlcreate_diod_session() {
    // "P9_TLCREATE tag 1 fid 2 name 'foo' flags 0x8241 mode 0100644 gid 500":
    // what Linux v9fs sends for `echo hello >foo`, i.e. O_WRONLY|O_CREAT|
    // O_TRUNC plus the O_LARGEFILE the kernel adds on 64-bit.
    let flags = L_O_WRONLY | L_O_CREAT | L_O_TRUNC | L_O_LARGEFILE;
    assert_eq!(flags, 0x8241);
    let golden = hex("1c 00 00 00 0e 01 00  02 00 00 00  03 00 66 6f 6f
         41 82 00 00  a4 81 00 00  f4 01 00 00");
    check_t(
        Tmsg::Lcreate {
            fid: 2,
            name: b"foo",
            flags,
            mode: 0o100644,
            gid: 500,
        },
        1,
        &golden,
    );
    // "P9_RLCREATE tag 1 qid (00000000002c1bd1 0 '') iounit 4096".
    let golden = hex("18 00 00 00 0f 01 00  00 00 00 00 00 d1 1b 2c 00 00 00 00 00  00 10 00 00");
    let qid = Qid {
        ty: QTFILE,
        version: 0,
        path: 0x2c_1bd1,
    };
    check_r(Rmsg::Lcreate { qid, iounit: 4096 }, 1, &golden);
}

#[test]
fn tlopen_directory_diod_session() {
    // "P9_TLOPEN tag 1 fid 2 mode 02304000": opendir(3) on Linux v9fs.
    let flags = L_O_RDONLY | L_O_NONBLOCK | L_O_LARGEFILE | L_O_DIRECTORY | L_O_CLOEXEC;
    assert_eq!(flags, 0o2304000);
    let golden = hex("0f 00 00 00 0c 01 00  02 00 00 00  00 88 09 00");
    check_t(Tmsg::Lopen { fid: 2, flags }, 1, &golden);
}

#[test]
fn rlerror_diod_session() {
    // "P9_RLERROR tag 1 ecode 2" (ENOENT).
    check_r(
        Rmsg::Lerror { ecode: 2 },
        1,
        &hex("0b 00 00 00 07 01 00 02 00 00 00"),
    );
}

#[test]
fn twrite_and_rread_carry_borrowed_data() {
    // "P9_TWRITE tag 1 fid 2 offset 0 count 6 / 68656c6c 6f0a".
    let golden = hex("1d 00 00 00 76 01 00  02 00 00 00  00 00 00 00 00 00 00 00
         06 00 00 00  68 65 6c 6c 6f 0a");
    check_t(
        Tmsg::Write {
            fid: 2,
            offset: 0,
            data: b"hello\n",
        },
        1,
        &golden,
    );
    check_r(
        Rmsg::Write { count: 6 },
        1,
        &hex("0b 00 00 00 77 01 00 06 00 00 00"),
    );

    // "P9_TREAD tag 1 fid 5 offset 6 count 32768" and its reply.
    let golden = hex("17 00 00 00 74 01 00  05 00 00 00  06 00 00 00 00 00 00 00  00 80 00 00");
    check_t(
        Tmsg::Read {
            fid: 5,
            offset: 6,
            count: 32768,
        },
        1,
        &golden,
    );
    let golden = hex("11 00 00 00 75 01 00  06 00 00 00  68 65 6c 6c 6f 0a");
    check_r(Rmsg::Read { data: b"hello\n" }, 1, &golden);
    // Zero-copy: the data is the receive buffer itself.
    let Ok((_, Rmsg::Read { data })) = Rmsg::decode(&golden, MSIZE) else {
        panic!("not an Rread");
    };
    assert!(core::ptr::eq(data.as_ptr(), golden[11..].as_ptr()));
}

#[test]
fn tgetattr_and_rgetattr_layout() {
    // "P9_TGETATTR tag 1 fid 0 request_mask 0x7ff".
    assert_eq!(GETATTR_BASIC, 0x7ff);
    let golden = hex("13 00 00 00 18 01 00  00 00 00 00  ff 07 00 00 00 00 00 00");
    check_t(
        Tmsg::Getattr {
            fid: 0,
            request_mask: GETATTR_BASIC,
        },
        1,
        &golden,
    );

    // Rgetattr is "qQdddqqqqqqqqqqqqqqq" in QEMU's marshaller and Linux's
    // parser: 8 + 13 + 3*4 + 15*8 = 153 body bytes, 160 in all. Each field
    // gets its own value so a swapped pair would show.
    let attr = Attr {
        valid: GETATTR_ALL,
        qid: Qid {
            ty: QTDIR,
            version: 0,
            path: 0x2c_1fac,
        },
        mode: 0o40755,
        uid: 500,
        gid: 501,
        nlink: 56,
        rdev: 0x0102,
        size: 4096,
        blksize: 4096,
        blocks: 2664,
        atime_sec: 0x11,
        atime_nsec: 0x12,
        mtime_sec: 0x13,
        mtime_nsec: 0x14,
        ctime_sec: 0x15,
        ctime_nsec: 0x16,
        btime_sec: 0x17,
        btime_nsec: 0x18,
        gen: 0x19,
        data_version: 0x1a,
    };
    let golden = hex("a0 00 00 00 19 01 00
         ff 3f 00 00 00 00 00 00
         80 00 00 00 00 ac 1f 2c 00 00 00 00 00
         ed 41 00 00  f4 01 00 00  f5 01 00 00
         38 00 00 00 00 00 00 00
         02 01 00 00 00 00 00 00
         00 10 00 00 00 00 00 00
         00 10 00 00 00 00 00 00
         68 0a 00 00 00 00 00 00
         11 00 00 00 00 00 00 00  12 00 00 00 00 00 00 00
         13 00 00 00 00 00 00 00  14 00 00 00 00 00 00 00
         15 00 00 00 00 00 00 00  16 00 00 00 00 00 00 00
         17 00 00 00 00 00 00 00  18 00 00 00 00 00 00 00
         19 00 00 00 00 00 00 00  1a 00 00 00 00 00 00 00");
    assert_eq!(golden.len(), 160);
    check_r(Rmsg::Getattr(attr), 1, &golden);
}

#[test]
fn tsetattr_diod_session() {
    // "P9_TSETATTR tag 1 fid 2 valid 0x41 mode 040000 ...": chmod 0 on a
    // directory sends MODE|CTIME. 7 + 4*5 + 8*5 = 67.
    let valid = SETATTR_MODE | SETATTR_CTIME;
    assert_eq!(valid, 0x41);
    let golden = hex("43 00 00 00 1a 01 00  02 00 00 00  41 00 00 00  00 40 00 00
         00 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00");
    let attr = SetAttr {
        valid,
        mode: 0o40000,
        ..SetAttr::default()
    };
    check_t(Tmsg::Setattr { fid: 2, attr }, 1, &golden);
    check_r(Rmsg::Setattr, 1, &hex("07 00 00 00 1b 01 00"));
}

#[test]
fn rstatfs_layout() {
    // "ddqqqqqqd" (Linux client.c, QEMU 9p.c): 60 body bytes, 67 in all.
    let statfs = StatFs {
        fs_type: 0x0102_1997,
        bsize: 4096,
        blocks: 1,
        bfree: 2,
        bavail: 3,
        files: 4,
        ffree: 5,
        fsid: 6,
        namelen: 255,
    };
    let golden = hex("43 00 00 00 09 01 00  97 19 02 01  00 10 00 00
         01 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00
         03 00 00 00 00 00 00 00  04 00 00 00 00 00 00 00
         05 00 00 00 00 00 00 00  06 00 00 00 00 00 00 00  ff 00 00 00");
    check_r(Rmsg::Statfs(statfs), 1, &golden);
}

#[test]
fn directory_and_link_requests() {
    // "P9_TMKDIR tag 1 fid 1 name 'newdir' mode 040755 gid 500".
    let golden =
        hex("1b 00 00 00 48 01 00  01 00 00 00  06 00 6e 65 77 64 69 72  ed 41 00 00  f4 01 00 00");
    check_t(
        Tmsg::Mkdir {
            dfid: 1,
            name: b"newdir",
            mode: 0o40755,
            gid: 500,
        },
        1,
        &golden,
    );
    // "P9_TSYMLINK tag 1 fid 1 name 'newsymlink' symtgt '/tmp/9/newdir' gid 500".
    let golden = hex(
        "2a 00 00 00 10 01 00  01 00 00 00  0a 00 6e 65 77 73 79 6d 6c 69 6e 6b
         0d 00 2f 74 6d 70 2f 39 2f 6e 65 77 64 69 72  f4 01 00 00",
    );
    check_t(
        Tmsg::Symlink {
            dfid: 1,
            name: b"newsymlink",
            target: b"/tmp/9/newdir",
            gid: 500,
        },
        1,
        &golden,
    );
    // "P9_RREADLINK tag 1 target '/tmp/9/newdir'".
    let golden = hex("16 00 00 00 17 01 00  0d 00 2f 74 6d 70 2f 39 2f 6e 65 77 64 69 72");
    check_r(
        Rmsg::Readlink {
            target: b"/tmp/9/newdir",
        },
        1,
        &golden,
    );
    // rmdir: unlinkat(dirfid 1, "newdir", AT_REMOVEDIR).
    let golden = hex("17 00 00 00 4c 01 00  01 00 00 00  06 00 6e 65 77 64 69 72  00 02 00 00");
    check_t(
        Tmsg::Unlinkat {
            dirfid: 1,
            name: b"newdir",
            flags: AT_REMOVEDIR,
        },
        1,
        &golden,
    );
    let golden = hex("16 00 00 00 4a 01 00  01 00 00 00  01 00 61  03 00 00 00  02 00 62 63");
    check_t(
        Tmsg::Renameat {
            olddirfid: 1,
            oldname: b"a",
            newdirfid: 3,
            newname: b"bc",
        },
        1,
        &golden,
    );
}

#[test]
fn rreaddir_entries_diod_session() {
    // The first 64 bytes of "P9_RREADDIR tag 1 count 4457" as dumped in the
    // diod session: ".", "..", then the start of a third entry.
    let data = hex(
        "80000000 00ac1f2c 00000000 00010000 00000000 00040100 2e800000 0000ffff
         25000000 00002658 ea000000 00000402 002e2e00 00000000 d51d2c00 00000000",
    );
    let dot = DirEntry {
        qid: Qid {
            ty: QTDIR,
            version: 0,
            path: 0x2c_1fac,
        },
        offset: 1,
        ty: DT_DIR,
        name: b".",
    };
    let dotdot = DirEntry {
        qid: Qid {
            ty: QTDIR,
            version: 0,
            path: 0x25_ffff,
        },
        offset: 0xea_5826,
        ty: DT_DIR,
        name: b"..",
    };
    let entries: Vec<_> = DirEntries::new(&data).collect();
    assert_eq!(entries, [Ok(dot), Ok(dotdot), Err(Error::Truncated)]);

    // Re-encoded, the two whole entries are the server's bytes.
    let mut again = Vec::new();
    dot.encode_to_vec(&mut again).unwrap();
    dotdot.encode_to_vec(&mut again).unwrap();
    assert_eq!(again, data[..51]);
    assert_eq!(dot.encoded_len(), Ok(25));
    assert_eq!(DirEntry::FIXED_LEN + 2, 26);

    // Wrapped in an Rreaddir whose count is those 51 bytes.
    let mut msg = hex("3e 00 00 00 29 01 00  33 00 00 00");
    msg.extend_from_slice(&data[..51]);
    check_r(Rmsg::Readdir { data: &data[..51] }, 1, &msg);
}

#[test]
fn empty_replies_are_bare_headers() {
    for (msg, ty) in [
        (Rmsg::Flush, RFLUSH),
        (Rmsg::Clunk, RCLUNK),
        (Rmsg::Remove, RREMOVE),
        (Rmsg::Setattr, RSETATTR),
        (Rmsg::Unlinkat, RUNLINKAT),
        (Rmsg::Renameat, RRENAMEAT),
        (Rmsg::Link, RLINK),
        (Rmsg::Fsync, RFSYNC),
    ] {
        check_r(msg, 0x1234, &[7, 0, 0, 0, ty, 0x34, 0x12]);
    }
}

#[test]
fn type_numbers_match_linux() {
    // Spot checks against `enum p9_msg_t`; every R is its T + 1.
    assert_eq!(
        (TLERROR, RLERROR, TSTATFS, TLOPEN, TLCREATE),
        (6, 7, 8, 12, 14)
    );
    assert_eq!(
        (TSYMLINK, TMKNOD, TREADLINK, TGETATTR, TSETATTR),
        (16, 18, 22, 24, 26)
    );
    assert_eq!(
        (TREADDIR, TFSYNC, TLINK, TMKDIR, TRENAMEAT),
        (40, 50, 70, 72, 74)
    );
    assert_eq!(
        (TUNLINKAT, TVERSION, TATTACH, TFLUSH, TWALK),
        (76, 100, 104, 108, 110)
    );
    assert_eq!((TREAD, TWRITE, TCLUNK, TREMOVE), (116, 118, 120, 122));
    assert_eq!(
        (QTDIR, QTSYMLINK, NOTAG, NOFID),
        (0x80, 0x02, 0xffff, 0xffff_ffff)
    );
    assert_eq!((SETATTR_ATIME_SET, SETATTR_MTIME_SET), (0x80, 0x100));
}
