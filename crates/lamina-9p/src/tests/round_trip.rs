//! Every message type survives encode then decode, through both encoders,
//! and every cut or padded copy of it is an error.

use crate::*;
use alloc::vec;
use alloc::vec::Vec;

const MSIZE: u32 = 512 * 1024;

const SIXTEEN: &[&[u8]] = &[
    b"a", b"bb", b"ccc", b"d", b"e", b"f", b"g", b"h", b"i", b"j", b"k", b"l", b"m", b"n", b"o",
    b"last",
];

fn qid(n: u64) -> Qid {
    Qid {
        ty: QTSYMLINK,
        version: 7,
        path: 0x1122_3344_5566_7700 | n,
    }
}

/// One of each request, with distinctive values.
pub(super) fn every_tmsg() -> Vec<Tmsg<'static>> {
    vec![
        Tmsg::Version {
            msize: MSIZE,
            version: VERSION_9P2000_L,
        },
        Tmsg::Flush { oldtag: 0xbeef },
        Tmsg::Attach {
            fid: 1,
            afid: NOFID,
            uname: b"",
            aname: b"/export",
            n_uname: 1000,
        },
        Tmsg::Walk {
            fid: 1,
            newfid: 2,
            names: WalkNames::new(SIXTEEN).unwrap(),
        },
        Tmsg::Lopen {
            fid: 2,
            flags: L_O_RDWR | L_O_APPEND,
        },
        Tmsg::Lcreate {
            fid: 3,
            name: b"new file \xff",
            flags: L_O_CREAT | L_O_EXCL | L_O_WRONLY,
            mode: 0o600,
            gid: 100,
        },
        Tmsg::Read {
            fid: 4,
            offset: u64::MAX,
            count: MSIZE - IOHDRSZ,
        },
        Tmsg::Write {
            fid: 5,
            offset: 1 << 40,
            data: &[0, 1, 2, 3, 0xff],
        },
        Tmsg::Clunk { fid: 6 },
        Tmsg::Remove { fid: 7 },
        Tmsg::Getattr {
            fid: 8,
            request_mask: GETATTR_ALL,
        },
        Tmsg::Setattr {
            fid: 9,
            attr: SetAttr {
                valid: SETATTR_ATIME | SETATTR_ATIME_SET | SETATTR_MTIME | SETATTR_SIZE,
                mode: 1,
                uid: 2,
                gid: 3,
                size: 4,
                atime_sec: 5,
                atime_nsec: 6,
                mtime_sec: 7,
                mtime_nsec: 8,
            },
        },
        Tmsg::Readdir {
            fid: 10,
            offset: 3,
            count: MSIZE - READDIRHDRSZ,
        },
        Tmsg::Mkdir {
            dfid: 11,
            name: b"d",
            mode: 0o755,
            gid: 0,
        },
        Tmsg::Unlinkat {
            dirfid: 12,
            name: b"f",
            flags: 0,
        },
        Tmsg::Renameat {
            olddirfid: 13,
            oldname: b"from",
            newdirfid: 14,
            newname: b"to",
        },
        Tmsg::Symlink {
            dfid: 15,
            name: b"link",
            target: b"../target",
            gid: 5,
        },
        Tmsg::Readlink { fid: 16 },
        Tmsg::Link {
            dfid: 17,
            fid: 18,
            name: b"hard",
        },
        Tmsg::Fsync {
            fid: 19,
            datasync: 1,
        },
        Tmsg::Statfs { fid: 20 },
        Tmsg::Mknod {
            dfid: 21,
            name: b"null",
            mode: 0o20666,
            major: 1,
            minor: 3,
            gid: 0,
        },
    ]
}

/// One of each reply.
pub(super) fn every_rmsg() -> Vec<Rmsg<'static>> {
    let qids: Vec<Qid> = (0..16).map(qid).collect();
    let mut dirents = Vec::new();
    for (i, name) in [&b"."[..], b"..", b"file"].into_iter().enumerate() {
        let entry = DirEntry {
            qid: qid(i as u64),
            offset: i as u64 + 1,
            ty: DT_REG,
            name,
        };
        entry.encode_to_vec(&mut dirents).unwrap();
    }
    let dirents: &'static [u8] = dirents.leak();
    vec![
        Rmsg::Version {
            msize: MSIZE,
            version: VERSION_UNKNOWN,
        },
        Rmsg::Lerror { ecode: 95 },
        Rmsg::Flush,
        Rmsg::Attach { qid: qid(1) },
        Rmsg::Walk {
            qids: WalkQids::new(&qids).unwrap(),
        },
        Rmsg::Lopen {
            qid: qid(2),
            iounit: 0,
        },
        Rmsg::Lcreate {
            qid: qid(3),
            iounit: 4096,
        },
        Rmsg::Read { data: b"payload" },
        Rmsg::Write { count: 7 },
        Rmsg::Clunk,
        Rmsg::Remove,
        Rmsg::Getattr(Attr {
            valid: GETATTR_BASIC,
            qid: qid(4),
            mode: 0o100644,
            nlink: 1,
            size: 12345,
            gen: 9,
            ..Attr::default()
        }),
        Rmsg::Setattr,
        Rmsg::Readdir { data: dirents },
        Rmsg::Mkdir { qid: qid(5) },
        Rmsg::Unlinkat,
        Rmsg::Renameat,
        Rmsg::Symlink { qid: qid(6) },
        Rmsg::Readlink { target: b"/abs" },
        Rmsg::Link,
        Rmsg::Fsync,
        Rmsg::Statfs(StatFs {
            fs_type: 0x0102_1997,
            bsize: 4096,
            namelen: 255,
            ..StatFs::default()
        }),
        Rmsg::Mknod { qid: qid(7) },
    ]
}

/// Both encoders agree with each other and with `encoded_len`.
pub(super) fn encode_t(msg: &Tmsg<'_>, tag: u16) -> Vec<u8> {
    let mut vec = vec![0xaa];
    msg.encode_to_vec(tag, &mut vec).unwrap();
    let mut buf = [0u8; 256];
    let len = msg.encode(tag, &mut buf).unwrap();
    assert_eq!(vec[1..], buf[..len], "{msg:?}");
    assert_eq!(msg.encoded_len(), Ok(len));
    vec.split_off(1)
}

pub(super) fn encode_r(msg: &Rmsg<'_>, tag: u16) -> Vec<u8> {
    let mut vec = vec![0xaa];
    msg.encode_to_vec(tag, &mut vec).unwrap();
    let mut buf = [0u8; 512];
    let len = msg.encode(tag, &mut buf).unwrap();
    assert_eq!(vec[1..], buf[..len], "{msg:?}");
    assert_eq!(msg.encoded_len(), Ok(len));
    vec.split_off(1)
}

/// Each proper prefix fails; a byte past the fields (with `size` grown to
/// cover it) fails; a smaller `msize` fails; more bytes after `size` are
/// ignored. (A macro: the decoded message borrows from each input.)
macro_rules! check_damage {
    ($bytes:expr, $msg:ty) => {{
        let bytes: &[u8] = $bytes;
        for cut in 0..bytes.len() {
            assert!(
                <$msg>::decode(&bytes[..cut], MSIZE).is_err(),
                "prefix {cut} of {bytes:?}"
            );
        }
        let mut padded = bytes.to_vec();
        padded.push(0);
        let size = u32::try_from(padded.len()).unwrap();
        padded[..4].copy_from_slice(&size.to_le_bytes());
        assert_eq!(<$msg>::decode(&padded, MSIZE), Err(Error::TrailingBytes(1)));

        let size = u32::try_from(bytes.len()).unwrap();
        let msize = size - 1;
        assert_eq!(
            <$msg>::decode(bytes, msize),
            Err(Error::TooLarge { size, msize })
        );

        let mut streamed = bytes.to_vec();
        streamed.extend_from_slice(&[9, 9, 9]);
        assert_eq!(
            <$msg>::decode(&streamed, MSIZE),
            <$msg>::decode(bytes, MSIZE)
        );
    }};
}

#[test]
fn every_tmsg_round_trips() {
    for (i, msg) in every_tmsg().into_iter().enumerate() {
        let tag = i as u16 * 257;
        let bytes = encode_t(&msg, tag);
        assert_eq!(Tmsg::decode(&bytes, MSIZE), Ok((tag, msg)));
        assert_eq!(Header::decode(&bytes, MSIZE).unwrap().tag, tag);
        // A request is not a reply.
        assert!(matches!(
            Rmsg::decode(&bytes, MSIZE),
            Err(Error::UnexpectedType(_))
        ));
        check_damage!(&bytes, Tmsg);
    }
}

#[test]
fn every_rmsg_round_trips() {
    for (i, msg) in every_rmsg().into_iter().enumerate() {
        let tag = i as u16 * 257;
        let bytes = encode_r(&msg, tag);
        assert_eq!(Rmsg::decode(&bytes, MSIZE), Ok((tag, msg)));
        assert!(matches!(
            Tmsg::decode(&bytes, MSIZE),
            Err(Error::UnexpectedType(_))
        ));
        check_damage!(&bytes, Rmsg);
    }
}

#[test]
fn readdir_data_round_trips() {
    let Some(Rmsg::Readdir { data }) = every_rmsg()
        .into_iter()
        .find(|m| matches!(m, Rmsg::Readdir { .. }))
    else {
        panic!("no Rreaddir");
    };
    let names: Vec<&[u8]> = DirEntries::new(data).map(|e| e.unwrap().name).collect();
    assert_eq!(names, [&b"."[..], b"..", b"file"]);
    for cut in 1..data.len() {
        let last = DirEntries::new(&data[..cut]).last().unwrap();
        let whole_entries = [25, 51].contains(&cut);
        assert_eq!(last.is_ok(), whole_entries, "cut at {cut}");
    }
    assert_eq!(DirEntries::new(&[]).count(), 0);
}

#[test]
fn walk_is_bounded_at_sixteen() {
    let seventeen: Vec<&[u8]> = SIXTEEN.iter().copied().chain([&b"x"[..]]).collect();
    assert_eq!(
        WalkNames::new(&seventeen).unwrap_err(),
        Error::TooManyWalkElems(17)
    );
    let qids = [Qid::default(); 17];
    assert_eq!(
        WalkQids::new(&qids).unwrap_err(),
        Error::TooManyWalkElems(17)
    );

    // nwname 17 on the wire, with 17 real names after it.
    let mut bytes = vec![0, 0, 0, 0, TWALK, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 17, 0];
    for _ in 0..17 {
        bytes.extend_from_slice(&[1, 0, b'x']);
    }
    let size = u32::try_from(bytes.len()).unwrap().to_le_bytes();
    bytes[..4].copy_from_slice(&size);
    assert_eq!(
        Tmsg::decode(&bytes, MSIZE),
        Err(Error::TooManyWalkElems(17))
    );

    // nwqid 17.
    let mut bytes = vec![0, 0, 0, 0, RWALK, 1, 0, 17, 0];
    bytes.extend_from_slice(&[0; 17 * QID_LEN]);
    let size = u32::try_from(bytes.len()).unwrap().to_le_bytes();
    bytes[..4].copy_from_slice(&size);
    assert_eq!(
        Rmsg::decode(&bytes, MSIZE),
        Err(Error::TooManyWalkElems(17))
    );
}

#[test]
fn encoding_errors() {
    let long = vec![b'x'; 70_000];
    let msg = Tmsg::Readlink { fid: 0 };
    let mut small = [0u8; 10];
    assert_eq!(
        msg.encode(1, &mut small[..10]),
        Err(Error::BufferTooSmall {
            needed: 11,
            available: 10
        })
    );
    let msg = Tmsg::Mkdir {
        dfid: 0,
        name: &long,
        mode: 0,
        gid: 0,
    };
    assert_eq!(msg.encoded_len(), Err(Error::StringTooLong(70_000)));
    let mut out = Vec::new();
    assert_eq!(
        msg.encode_to_vec(1, &mut out),
        Err(Error::StringTooLong(70_000))
    );
    assert!(out.is_empty(), "nothing appended on error");
    let entry = DirEntry {
        qid: Qid::default(),
        offset: 0,
        ty: DT_DIR,
        name: b"abc",
    };
    assert_eq!(
        entry.encode(&mut small[..]),
        Err(Error::BufferTooSmall {
            needed: 27,
            available: 10
        })
    );
}

#[test]
fn header_checks() {
    assert_eq!(
        Header::decode(&[7, 0, 0, 0, RCLUNK, 1], 8192),
        Err(Error::Truncated)
    );
    assert_eq!(
        Header::decode(&[6, 0, 0, 0, RCLUNK, 1, 0], 8192),
        Err(Error::BadSize(6))
    );
    assert_eq!(
        Header::decode(&[0xff, 0xff, 0xff, 0xff, RREAD, 1, 0], 8192),
        Err(Error::TooLarge {
            size: u32::MAX,
            msize: 8192
        })
    );
    // A huge count inside a message that claims a small size.
    let bytes = [11, 0, 0, 0, RREAD, 1, 0, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(Rmsg::decode(&bytes, 8192), Err(Error::Truncated));
    // Tlerror is a number 9P2000.L reserves but never sends.
    assert_eq!(
        Tmsg::decode(&[7, 0, 0, 0, TLERROR, 1, 0], 8192),
        Err(Error::UnexpectedType(TLERROR))
    );
}
