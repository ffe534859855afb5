use super::*;
use crate::flags::{MapSharing, MmapFlags, MmapProt};

const RW: u64 = 0x3;
const PRIVATE_ANON: u64 = 0x22;

#[test]
fn page_helpers() {
    assert_eq!(page_round_up(0), Some(0));
    assert_eq!(page_round_up(1), Some(4096));
    assert_eq!(page_round_up(4096), Some(4096));
    assert_eq!(page_round_up(4097), Some(8192));
    assert_eq!(page_round_up(u64::MAX - 4094), None);
    assert_eq!(page_round_up(u64::MAX - 4095), Some(u64::MAX - 4095));
    assert_eq!(page_round_down(8191), 4096);
    assert!(is_page_aligned(0));
    assert!(is_page_aligned(0x7000));
    assert!(!is_page_aligned(0x7001));
}

#[test]
fn mmap_anonymous_private() {
    let r = decode_mmap(0, 10, RW, PRIVATE_ANON, u64::MAX, 0).unwrap();
    assert_eq!(r.len, 4096);
    assert_eq!(r.prot, MmapProt::READ | MmapProt::WRITE);
    assert_eq!(r.flags, MmapFlags::PRIVATE | MmapFlags::ANONYMOUS);
    assert_eq!(r.fd, -1);
    assert_eq!(r.sharing(), MapSharing::Private);
    assert!(r.is_anonymous());
    assert!(!r.is_fixed());
}

#[test]
fn mmap_fd_is_low_32_bits() {
    let r = decode_mmap(0, 4096, 1, 0x01, 0xffff_ffff_0000_0003, 8192).unwrap();
    assert_eq!(r.fd, 3);
    assert_eq!(r.offset, 8192);
    assert_eq!(r.sharing(), MapSharing::Shared);
    let r = decode_mmap(0, 4096, 1, 0x02, 0x0000_0000_ffff_ffff, 0).unwrap();
    assert_eq!(r.fd, -1);
}

#[test]
fn mmap_len_errors() {
    assert_eq!(
        decode_mmap(0, 0, RW, PRIVATE_ANON, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mmap(0, u64::MAX, RW, PRIVATE_ANON, 0, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        decode_mmap(0, (1 << 47) + 1, RW, PRIVATE_ANON, 0, 0),
        Err(Errno::ENOMEM)
    );
    assert!(decode_mmap(0, 1 << 47, RW, PRIVATE_ANON, 0, 0).is_ok());
}

#[test]
fn mmap_offset_errors() {
    assert_eq!(decode_mmap(0, 4096, 1, 0x02, 3, 100), Err(Errno::EINVAL));
    assert_eq!(
        decode_mmap(0, 8192, 1, 0x02, 3, u64::MAX - 4095),
        Err(Errno::EOVERFLOW)
    );
}

#[test]
fn mmap_prot_errors() {
    assert_eq!(
        decode_mmap(0, 4096, 0x10, PRIVATE_ANON, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mmap(0, 4096, 1 << 40, PRIVATE_ANON, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mmap(0, 4096, 0x0300_0001, PRIVATE_ANON, 0, 0),
        Err(Errno::EINVAL)
    );
    // PROT_NONE is fine.
    assert!(decode_mmap(0, 4096, 0, PRIVATE_ANON, 0, 0).is_ok());
}

#[test]
fn mmap_sharing_errors() {
    // No sharing type, or an undefined one.
    assert_eq!(decode_mmap(0, 4096, 1, 0x20, 0, 0), Err(Errno::EINVAL));
    assert_eq!(decode_mmap(0, 4096, 1, 0x24, 0, 0), Err(Errno::EINVAL));
    assert_eq!(decode_mmap(0, 4096, 1, 0x2f, 0, 0), Err(Errno::EINVAL));
    // SHARED_VALIDATE accepts known flags, rejects unknown ones.
    let r = decode_mmap(0, 4096, 1, 0x23, 0, 0).unwrap();
    assert_eq!(r.sharing(), MapSharing::SharedValidate);
    assert_eq!(
        decode_mmap(0, 4096, 1, 0x03 | 0x0400_0000, 0, 0),
        Err(Errno::EOPNOTSUPP)
    );
    // Plain PRIVATE ignores unknown flags.
    let r = decode_mmap(0, 4096, 1, 0x22 | 0x0400_0000, 0, 0).unwrap();
    assert_eq!(r.flags, MmapFlags::PRIVATE | MmapFlags::ANONYMOUS);
}

#[test]
fn mmap_fixed() {
    let fixed = PRIVATE_ANON | 0x10;
    let noreplace = PRIVATE_ANON | 0x10_0000;
    let r = decode_mmap(0x1000_0000, 4096, RW, fixed, 0, 0).unwrap();
    assert!(r.is_fixed());
    assert_eq!(r.addr, 0x1000_0000);
    assert_eq!(
        decode_mmap(0x1000_0001, 4096, RW, fixed, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mmap(0x1000_0800, 4096, RW, noreplace, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mmap(USER_SPACE_END, 4096, RW, fixed, 0, 0),
        Err(Errno::ENOMEM)
    );
    assert!(decode_mmap(USER_SPACE_END - 4096, 4096, RW, fixed, 0, 0).is_ok());
    // A hint may be anything.
    assert!(decode_mmap(0x1234_5678, 4096, RW, PRIVATE_ANON, 0, 0).is_ok());
}

#[test]
fn iovecs() {
    assert_eq!(check_iovcnt(0), Ok(0));
    assert_eq!(check_iovcnt(1024), Ok(1024));
    assert_eq!(check_iovcnt(1025), Err(Errno::EINVAL));
    assert_eq!(check_iovcnt(u64::MAX), Err(Errno::EINVAL));

    let mut bytes = [0u8; 40];
    bytes[..8].copy_from_slice(&0x1000u64.to_le_bytes());
    bytes[8..16].copy_from_slice(&5u64.to_le_bytes());
    bytes[16..24].copy_from_slice(&0x2000u64.to_le_bytes());
    bytes[24..32].copy_from_slice(&7u64.to_le_bytes());
    let v: alloc::vec::Vec<Iovec> = decode_iovecs(&bytes).collect();
    assert_eq!(
        v,
        [
            Iovec {
                base: 0x1000,
                len: 5
            },
            Iovec {
                base: 0x2000,
                len: 7
            }
        ]
    );
    assert_eq!(decode_iovecs(&bytes[..15]).count(), 0);
    assert_eq!(iovecs_total_len(v.iter().copied()), Ok(12));
    let huge = Iovec {
        base: 0,
        len: 1 << 63,
    };
    assert_eq!(iovecs_total_len([huge]), Err(Errno::EINVAL));
    let half = Iovec {
        base: 0,
        len: 1 << 62,
    };
    assert_eq!(iovecs_total_len([half, half]), Err(Errno::EINVAL));
    assert_eq!(iovecs_total_len([]), Ok(0));
}

#[test]
fn clock_ids() {
    assert_eq!(decode_clock_id(0), Ok(ClockId::Realtime));
    assert_eq!(decode_clock_id(1), Ok(ClockId::Monotonic));
    assert_eq!(decode_clock_id(2), Ok(ClockId::ProcessCputime));
    assert_eq!(decode_clock_id(3), Ok(ClockId::ThreadCputime));
    assert_eq!(decode_clock_id(4), Ok(ClockId::MonotonicRaw));
    assert_eq!(decode_clock_id(5), Ok(ClockId::RealtimeCoarse));
    assert_eq!(decode_clock_id(6), Ok(ClockId::MonotonicCoarse));
    assert_eq!(decode_clock_id(7), Ok(ClockId::Boottime));
    // Upper register bits are not part of a clockid_t.
    assert_eq!(
        decode_clock_id(0xdead_0000_0000_0001),
        Ok(ClockId::Monotonic)
    );
    for bad in [8u64, 9, 11, 0xffff_fffe, (-2i64) as u64, u64::MAX] {
        assert_eq!(decode_clock_id(bad), Err(Errno::EINVAL), "{bad:#x}");
    }
}

fn ts_bytes(sec: i64, nsec: i64) -> [u8; 16] {
    Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
    .to_bytes()
}

#[test]
fn timespecs() {
    assert_eq!(
        decode_timespec(&ts_bytes(1, 999_999_999)),
        Ok(Timespec {
            tv_sec: 1,
            tv_nsec: 999_999_999
        })
    );
    assert!(decode_timespec(&ts_bytes(0, 0)).is_ok());
    assert_eq!(
        decode_timespec(&ts_bytes(0, 1_000_000_000)),
        Err(Errno::EINVAL)
    );
    assert_eq!(decode_timespec(&ts_bytes(0, -1)), Err(Errno::EINVAL));
    assert_eq!(decode_timespec(&ts_bytes(-1, 0)), Err(Errno::EINVAL));
    assert_eq!(decode_timespec(&[0xff; 16]), Err(Errno::EINVAL));
}
