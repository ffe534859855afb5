use super::*;
use alloc::vec;

fn sockaddr_in(port: u16, ip: [u8; 4]) -> Vec<u8> {
    let mut b = vec![0u8; SOCKADDR_IN_LEN];
    b[..2].copy_from_slice(&AF_INET.to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

#[test]
fn inet_round_trip() {
    let bytes = sockaddr_in(8080, [127, 0, 0, 1]);
    let addr = SockAddr::decode(&bytes).unwrap();
    assert_eq!(
        addr,
        SockAddr::Inet(InetAddr {
            ip: Ip::V4([127, 0, 0, 1]),
            port: 8080
        })
    );
    assert_eq!(addr.encode(), bytes);
}

#[test]
fn inet_too_short_is_einval() {
    let bytes = sockaddr_in(1, [127, 0, 0, 1]);
    assert_eq!(SockAddr::decode(&bytes[..15]), Err(Errno::EINVAL));
    assert_eq!(SockAddr::decode(&bytes[..1]), Err(Errno::EINVAL));
}

#[test]
fn inet6_golden_and_short() {
    let mut bytes = vec![0u8; SOCKADDR_IN6_LEN];
    bytes[..2].copy_from_slice(&AF_INET6.to_le_bytes());
    bytes[2..4].copy_from_slice(&443u16.to_be_bytes());
    bytes[23] = 1;
    let addr = SockAddr::decode(&bytes).unwrap();
    assert_eq!(
        addr,
        SockAddr::Inet6(InetAddr {
            ip: Ip::V6_LOOPBACK,
            port: 443
        })
    );
    assert_eq!(addr.encode(), bytes);
    assert!(SockAddr::decode(&bytes[..SOCKADDR_IN6_MIN_LEN]).is_ok());
    assert_eq!(
        SockAddr::decode(&bytes[..SOCKADDR_IN6_MIN_LEN - 1]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn v4_mapped_addresses() {
    let mapped = Ip::V4([127, 0, 0, 1]).mapped();
    assert_eq!(&mapped[10..], &[0xff, 0xff, 127, 0, 0, 1]);
    assert_eq!(Ip::V6(mapped).unmapped(), Ip::V4([127, 0, 0, 1]));
    assert!(Ip::V6(mapped).is_loopback());
    assert!(Ip::V4([127, 9, 8, 7]).is_loopback());
    assert!(!Ip::V4([10, 0, 2, 2]).is_loopback());
    assert!(Ip::V6_LOOPBACK.is_loopback());
    assert!(Ip::V6_ANY.is_unspecified());
    // An IPv4 peer of an AF_INET6 socket shows as v4-mapped.
    let shown = SockAddr::Inet6(InetAddr {
        ip: Ip::V4([127, 0, 0, 1]),
        port: 7,
    })
    .encode();
    assert_eq!(&shown[8..24], &mapped);
}

#[test]
fn unix_paths_and_abstract_names() {
    let mut bytes = AF_UNIX.to_le_bytes().to_vec();
    assert_eq!(
        SockAddr::decode(&bytes),
        Ok(SockAddr::Unix(UnixAddr::Unnamed))
    );
    bytes.extend_from_slice(b"/tmp/s\0garbage");
    let path = SockAddr::decode(&bytes).unwrap();
    assert_eq!(path, SockAddr::Unix(UnixAddr::Path(b"/tmp/s".to_vec())));
    assert_eq!(path.encode(), b"\x01\x00/tmp/s\0");
    // Without a NUL the path ends at addrlen.
    assert_eq!(
        SockAddr::decode(&bytes[..5]),
        Ok(SockAddr::Unix(UnixAddr::Path(b"/tm".to_vec())))
    );
    let abs = b"\x01\x00\0name\0x";
    let addr = SockAddr::decode(abs).unwrap();
    assert_eq!(
        addr,
        SockAddr::Unix(UnixAddr::Abstract(b"name\0x".to_vec()))
    );
    assert_eq!(addr.encode(), abs);
    assert_eq!(
        SockAddr::Unix(UnixAddr::Unnamed).encode(),
        AF_UNIX.to_le_bytes()
    );
}

#[test]
fn unix_longer_than_sockaddr_un_is_einval() {
    let mut bytes = AF_UNIX.to_le_bytes().to_vec();
    bytes.resize(SOCKADDR_UN_LEN, b'a');
    assert!(SockAddr::decode(&bytes).is_ok());
    bytes.push(b'a');
    assert_eq!(SockAddr::decode(&bytes), Err(Errno::EINVAL));
}

#[test]
fn unknown_family_is_eafnosupport() {
    let bytes = [AF_NETLINK as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(SockAddr::decode(&bytes), Err(Errno::EAFNOSUPPORT));
    assert_eq!(SockAddr::decode(&[0, 0]), Ok(SockAddr::Unspec));
}

#[test]
fn msghdr_offsets() {
    let mut raw = [0u8; MsgHdr::SIZE];
    raw[0..8].copy_from_slice(&0x1000u64.to_le_bytes());
    raw[8..12].copy_from_slice(&16u32.to_le_bytes());
    raw[16..24].copy_from_slice(&0x2000u64.to_le_bytes());
    raw[24..32].copy_from_slice(&3u64.to_le_bytes());
    raw[32..40].copy_from_slice(&0x3000u64.to_le_bytes());
    raw[40..48].copy_from_slice(&64u64.to_le_bytes());
    raw[48..52].copy_from_slice(&MSG_TRUNC.to_le_bytes());
    assert_eq!(
        MsgHdr::from_bytes(&raw),
        MsgHdr {
            name: 0x1000,
            namelen: 16,
            iov: 0x2000,
            iovlen: 3,
            control: 0x3000,
            controllen: 64,
            flags: MSG_TRUNC,
        }
    );
}

#[test]
fn linger_and_ucred_bytes() {
    let l = Linger {
        onoff: 1,
        linger: 5,
    };
    assert_eq!(Linger::from_bytes(&l.to_bytes()), l);
    let cred = Ucred {
        pid: 7,
        uid: 0,
        gid: 0,
    };
    assert_eq!(cred.to_bytes(), [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn decode_for_checks_length_then_family() {
    let v4 = sockaddr_in(80, [127, 0, 0, 1]);
    // An AF_INET address is too short for an AF_INET6 socket: EINVAL first.
    assert_eq!(SockAddr::decode_for(AF_INET6, &v4), Err(Errno::EINVAL));
    let mut long = v4.clone();
    long.resize(SOCKADDR_IN6_LEN, 0);
    assert_eq!(
        SockAddr::decode_for(AF_INET6, &long),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(SockAddr::decode_for(AF_INET, &v4[..8]), Err(Errno::EINVAL));
    assert!(SockAddr::decode_for(AF_INET, &v4).is_ok());
    assert_eq!(SockAddr::decode_for(AF_UNIX, &v4), Err(Errno::EINVAL));
    assert_eq!(SockAddr::decode_for(AF_INET, &[0, 0]), Ok(SockAddr::Unspec));
    let unix = b"\x01\x00/s";
    assert_eq!(SockAddr::decode_for(AF_INET, unix), Err(Errno::EINVAL));
    assert_eq!(
        SockAddr::decode_for(AF_UNIX, unix),
        Ok(SockAddr::Unix(UnixAddr::Path(b"/s".to_vec())))
    );
}
