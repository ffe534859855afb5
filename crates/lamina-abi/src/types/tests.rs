use super::*;

/// Places `v` little-endian at `off` in `buf`: the expected images below are
/// built from the C headers' field offsets, independently of `Writer`.
fn put(buf: &mut [u8], off: usize, v: &[u8]) {
    buf[off..off + v.len()].copy_from_slice(v);
}

#[test]
fn stat_golden_bytes() {
    let st = Stat {
        st_dev: 0x0102_0304_0506_0708,
        st_ino: 0x1122_3344_5566_7788,
        st_nlink: 3,
        st_mode: 0o100644,
        st_uid: 1000,
        st_gid: 1001,
        pad0: 0,
        st_rdev: 0x0501,
        st_size: 123_456_789,
        st_blksize: 4096,
        st_blocks: 241,
        st_atime: 1_700_000_000,
        st_atime_nsec: 1,
        st_mtime: 1_700_000_001,
        st_mtime_nsec: 2,
        st_ctime: -1,
        st_ctime_nsec: 999_999_999,
        unused: [0; 3],
    };
    let mut want = [0u8; 144];
    put(&mut want, 0, &0x0102_0304_0506_0708u64.to_le_bytes());
    put(&mut want, 8, &0x1122_3344_5566_7788u64.to_le_bytes());
    put(&mut want, 16, &3u64.to_le_bytes());
    put(&mut want, 24, &0o100644u32.to_le_bytes());
    put(&mut want, 28, &1000u32.to_le_bytes());
    put(&mut want, 32, &1001u32.to_le_bytes());
    put(&mut want, 40, &0x0501u64.to_le_bytes());
    put(&mut want, 48, &123_456_789u64.to_le_bytes());
    put(&mut want, 56, &4096u64.to_le_bytes());
    put(&mut want, 64, &241u64.to_le_bytes());
    put(&mut want, 72, &1_700_000_000u64.to_le_bytes());
    put(&mut want, 80, &1u64.to_le_bytes());
    put(&mut want, 88, &1_700_000_001u64.to_le_bytes());
    put(&mut want, 96, &2u64.to_le_bytes());
    put(&mut want, 104, &[0xff; 8]);
    put(&mut want, 112, &999_999_999u64.to_le_bytes());
    assert_eq!(st.to_bytes(), want);
    // Spot-check the literal bytes of the first fields.
    assert_eq!(
        st.to_bytes()[..8],
        [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]
    );
    assert_eq!(st.to_bytes()[24..28], [0xa4, 0x81, 0x00, 0x00]);
}

#[test]
fn statx_layout() {
    let sx = Statx {
        stx_mask: 0x7ff,
        stx_blksize: 4096,
        stx_nlink: 2,
        stx_uid: 7,
        stx_gid: 8,
        stx_mode: 0o40755,
        stx_ino: 42,
        stx_size: 0x1_0000_0000,
        stx_atime: StatxTimestamp {
            tv_sec: 5,
            tv_nsec: 6,
            reserved: 0,
        },
        stx_mtime: StatxTimestamp {
            tv_sec: 9,
            tv_nsec: 10,
            reserved: 0,
        },
        stx_dev_major: 0xfd,
        stx_mnt_id: 0xabcd,
        stx_atomic_write_segments_max: 0x55,
        ..Statx::default()
    };
    let b = sx.to_bytes();
    let mut want = [0u8; 256];
    put(&mut want, 0, &0x7ffu32.to_le_bytes());
    put(&mut want, 4, &4096u32.to_le_bytes());
    put(&mut want, 16, &2u32.to_le_bytes());
    put(&mut want, 20, &7u32.to_le_bytes());
    put(&mut want, 24, &8u32.to_le_bytes());
    put(&mut want, 28, &0o40755u16.to_le_bytes());
    put(&mut want, 32, &42u64.to_le_bytes());
    put(&mut want, 40, &0x1_0000_0000u64.to_le_bytes());
    put(&mut want, 64, &5i64.to_le_bytes());
    put(&mut want, 72, &6u32.to_le_bytes());
    put(&mut want, 112, &9i64.to_le_bytes());
    put(&mut want, 120, &10u32.to_le_bytes());
    put(&mut want, 136, &0xfdu32.to_le_bytes());
    put(&mut want, 144, &0xabcdu64.to_le_bytes());
    put(&mut want, 176, &0x55u32.to_le_bytes());
    assert_eq!(b, want);
}

#[test]
fn utsname_golden_bytes() {
    let long = [b'x'; 100];
    let u = Utsname::new(b"Linux", b"lamina", b"6.1.0-lamina", &long, b"x86_64", b"");
    let b = u.to_bytes();
    assert_eq!(b.len(), 390);
    let mut want = [0u8; 390];
    put(&mut want, 0, b"Linux");
    put(&mut want, 65, b"lamina");
    put(&mut want, 130, b"6.1.0-lamina");
    put(&mut want, 195, &[b'x'; 64]); // truncated, byte 259 stays NUL
    put(&mut want, 260, b"x86_64");
    assert_eq!(b, want);
    assert_eq!(b[259], 0);
    assert_eq!(&b[0..6], b"Linux\0");
}

#[test]
fn termios_golden_bytes() {
    let t = Termios::linux_default();
    let want: [u8; 36] = [
        0x00, 0x05, 0x00, 0x00, // c_iflag ICRNL|IXON
        0x05, 0x00, 0x00, 0x00, // c_oflag OPOST|ONLCR
        0xbf, 0x04, 0x00, 0x00, // c_cflag B38400|CS8|CREAD|HUPCL
        0x3b, 0x8a, 0x00, 0x00, // c_lflag
        0x00, // c_line
        0x03, 0x1c, 0x7f, 0x15, 0x04, 0x00, 0x01, 0x00, 0x11, 0x13, 0x1a, 0x00, 0x12, 0x0f, 0x17,
        0x16, 0x00, 0x00, 0x00,
    ];
    assert_eq!(t.to_bytes(), want);
    assert_eq!(Termios::from_bytes(&want), t);
}

#[test]
fn small_structs_round_trip() {
    let ts = Timespec {
        tv_sec: -5,
        tv_nsec: 7,
    };
    assert_eq!(Timespec::from_bytes(&ts.to_bytes()), ts);
    assert_eq!(
        ts.to_bytes()[..8],
        [0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );

    let tv = Timeval {
        tv_sec: 1,
        tv_usec: 2,
    };
    assert_eq!(Timeval::from_bytes(&tv.to_bytes()), tv);

    let ws = Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    assert_eq!(ws.to_bytes(), [24, 0, 80, 0, 0, 0, 0, 0]);
    assert_eq!(Winsize::from_bytes(&ws.to_bytes()), ws);

    let rl = Rlimit {
        rlim_cur: 1024,
        rlim_max: u64::MAX,
    };
    assert_eq!(Rlimit::from_bytes(&rl.to_bytes()), rl);

    let sa = KernelSigaction {
        handler: 0x40_1000,
        flags: 0x0400_0004,
        restorer: 0x40_2000,
        mask: 1 << 1,
    };
    let b = sa.to_bytes();
    assert_eq!(b[8..16], 0x0400_0004u64.to_le_bytes());
    assert_eq!(KernelSigaction::from_bytes(&b), sa);

    let iov = Iovec {
        base: 0x7fff_0000,
        len: 12,
    };
    assert_eq!(Iovec::from_bytes(&iov.to_bytes()), iov);

    let ss = StackT {
        ss_sp: 0x1000,
        ss_flags: 2,
        pad: 0,
        ss_size: 8192,
    };
    let b = ss.to_bytes();
    assert_eq!(b[8..12], [2, 0, 0, 0]);
    assert_eq!(b[16..24], 8192u64.to_le_bytes());
    assert_eq!(StackT::from_bytes(&b), ss);
}

#[test]
fn statfs_golden_bytes() {
    let st = Statfs {
        f_type: 0x0102_1994,
        f_bsize: 4096,
        f_blocks: 10,
        f_bfree: 9,
        f_bavail: 8,
        f_files: 7,
        f_ffree: 6,
        f_fsid: [5, -4],
        f_namelen: 255,
        f_frsize: 4096,
        f_flags: 0x20,
        f_spare: [0; 4],
    };
    let mut expected = [0u8; 120];
    put(&mut expected, 0, &0x0102_1994i64.to_le_bytes());
    put(&mut expected, 8, &4096i64.to_le_bytes());
    put(&mut expected, 16, &10u64.to_le_bytes());
    put(&mut expected, 24, &9u64.to_le_bytes());
    put(&mut expected, 32, &8u64.to_le_bytes());
    put(&mut expected, 40, &7u64.to_le_bytes());
    put(&mut expected, 48, &6u64.to_le_bytes());
    put(&mut expected, 56, &5i32.to_le_bytes());
    put(&mut expected, 60, &(-4i32).to_le_bytes());
    put(&mut expected, 64, &255i64.to_le_bytes());
    put(&mut expected, 72, &4096i64.to_le_bytes());
    put(&mut expected, 80, &0x20i64.to_le_bytes());
    assert_eq!(st.to_bytes(), expected);
}
