//! Golden bytes written out by hand from the layouts in the module doc
//! (not produced by this crate), and round trips of every message.

use super::*;
use crate::channel::{Frame, MAX_DATA};
use alloc::vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

fn v6(ip: Ipv6Addr, port: u16, flowinfo: u32, scope_id: u32) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(ip, port, flowinfo, scope_id))
}

pub(crate) fn guest_bytes(msg: &GuestMsg<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    msg.encode(&mut out).unwrap();
    out
}

pub(crate) fn host_bytes(msg: &HostMsg<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    msg.encode(&mut out).unwrap();
    out
}

fn check_guest(msg: GuestMsg<'_>, golden: &[u8]) {
    assert_eq!(guest_bytes(&msg), golden, "{msg:?}");
    assert_eq!(GuestMsg::decode(Frame::exact(golden).unwrap()), Ok(msg));
}

fn check_host(msg: HostMsg<'_>, golden: &[u8]) {
    assert_eq!(host_bytes(&msg), golden, "{msg:?}");
    assert_eq!(HostMsg::decode(Frame::exact(golden).unwrap()), Ok(msg));
}

const SOCK: SocketId = SocketId(0x0102_0304);
const ACCEPTED: SocketId = SocketId(0x8000_0007);

#[test]
fn golden_socket() {
    // len 19 = type + tag 4 + sock 4 + family 2 + type 4 + flags 4;
    // AF_INET6 = 10, SOCK_STREAM = 1, SOCK_NONBLOCK | SOCK_CLOEXEC = 0x80800.
    check_guest(
        GuestMsg::Socket {
            tag: 7,
            sock: SOCK,
            family: Family::Inet6,
            ty: SockType::Stream,
            flags: SocketFlags {
                nonblock: true,
                cloexec: true,
            },
        },
        &[
            19, 0, 0, 0, 1, 7, 0, 0, 0, 4, 3, 2, 1, 10, 0, 1, 0, 0, 0, 0, 0x08, 0x08, 0,
        ],
    );
}

#[test]
fn golden_connect_v4() {
    // 10.0.2.2:8000: family 2, port 8000 = 0x1f40 little-endian, ip octets.
    check_guest(
        GuestMsg::Connect {
            tag: 1,
            sock: SocketId(5),
            addr: v4(10, 0, 2, 2, 8000),
        },
        &[
            17, 0, 0, 0, 2, 1, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0x40, 0x1f, 10, 0, 2, 2,
        ],
    );
}

#[test]
fn golden_bind_v6() {
    // [::1%3]:443 flowinfo 0x11: family 10, port 443 = 0x01bb, flowinfo,
    // 16 address bytes, scope_id.
    let mut golden = vec![37, 0, 0, 0, 3, 2, 0, 0, 0, 6, 0, 0, 0];
    golden.extend_from_slice(&[10, 0, 0xbb, 0x01, 0x11, 0, 0, 0]);
    golden.extend_from_slice(&[0; 15]);
    golden.extend_from_slice(&[1, 3, 0, 0, 0]);
    check_guest(
        GuestMsg::Bind {
            tag: 2,
            sock: SocketId(6),
            addr: v6(Ipv6Addr::LOCALHOST, 443, 0x11, 3),
        },
        &golden,
    );
}

#[test]
fn golden_listen_shutdown_close() {
    check_guest(
        GuestMsg::Listen {
            tag: 3,
            sock: SocketId(1),
            backlog: 128,
        },
        &[13, 0, 0, 0, 4, 3, 0, 0, 0, 1, 0, 0, 0, 128, 0, 0, 0],
    );
    check_guest(
        GuestMsg::Shutdown {
            tag: 4,
            sock: SocketId(1),
            how: Shutdown::Write,
        },
        &[10, 0, 0, 0, 5, 4, 0, 0, 0, 1, 0, 0, 0, 1],
    );
    check_guest(
        GuestMsg::Close {
            tag: 5,
            sock: ACCEPTED,
        },
        &[9, 0, 0, 0, 6, 5, 0, 0, 0, 7, 0, 0, 0x80],
    );
    check_guest(
        GuestMsg::GetSockName {
            tag: 6,
            sock: SocketId(1),
        },
        &[9, 0, 0, 0, 7, 6, 0, 0, 0, 1, 0, 0, 0],
    );
    check_guest(
        GuestMsg::GetPeerName {
            tag: 6,
            sock: SocketId(1),
        },
        &[9, 0, 0, 0, 8, 6, 0, 0, 0, 1, 0, 0, 0],
    );
}

#[test]
fn golden_sockopts() {
    // IPPROTO_TCP (6), TCP_NODELAY (1), value 1.
    check_guest(
        GuestMsg::SetSockOpt {
            tag: 9,
            sock: SocketId(2),
            opt: SockOpt {
                name: SockOptName::TcpNoDelay,
                value: SockOptValue::Int(1),
            },
        },
        &[
            21, 0, 0, 0, 9, 9, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
        ],
    );
    // SOL_SOCKET (1), SO_LINGER (13), struct linger { 1, 5 }.
    check_guest(
        GuestMsg::SetSockOpt {
            tag: 9,
            sock: SocketId(2),
            opt: SockOpt {
                name: SockOptName::Linger,
                value: SockOptValue::Linger {
                    onoff: 1,
                    seconds: 5,
                },
            },
        },
        &[
            25, 0, 0, 0, 9, 9, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0,
        ],
    );
    // SOL_SOCKET, SO_ERROR (4).
    check_guest(
        GuestMsg::GetSockOpt {
            tag: 10,
            sock: SocketId(2),
            name: SockOptName::Error,
        },
        &[
            17, 0, 0, 0, 10, 10, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0,
        ],
    );
}

#[test]
fn golden_data_datagram_credit() {
    check_guest(
        GuestMsg::Data {
            sock: SocketId(1),
            data: b"GET /",
        },
        &[10, 0, 0, 0, 16, 1, 0, 0, 0, b'G', b'E', b'T', b' ', b'/'],
    );
    // A connected datagram socket: no address (family 0).
    check_guest(
        GuestMsg::Datagram {
            sock: SocketId(1),
            to: None,
            data: b"q",
        },
        &[8, 0, 0, 0, 17, 1, 0, 0, 0, 0, 0, b'q'],
    );
    check_guest(
        GuestMsg::Datagram {
            sock: SocketId(1),
            to: Some(v4(10, 0, 2, 3, 53)),
            data: b"",
        },
        &[13, 0, 0, 0, 17, 1, 0, 0, 0, 2, 0, 53, 0, 10, 0, 2, 3],
    );
    check_guest(
        GuestMsg::Credit {
            sock: SocketId(1),
            amount: 0x10000,
        },
        &[9, 0, 0, 0, 18, 1, 0, 0, 0, 0, 0, 1, 0],
    );
    check_host(
        HostMsg::Credit {
            sock: SocketId(1),
            amount: 0x10000,
        },
        &[9, 0, 0, 0, 18, 1, 0, 0, 0, 0, 0, 1, 0],
    );
    check_host(
        HostMsg::Data {
            sock: ACCEPTED,
            data: b"ok",
        },
        &[7, 0, 0, 0, 16, 7, 0, 0, 0x80, b'o', b'k'],
    );
    check_host(
        HostMsg::Datagram {
            sock: SocketId(1),
            from: v4(10, 0, 2, 3, 53),
            data: b"a",
        },
        &[14, 0, 0, 0, 17, 1, 0, 0, 0, 2, 0, 53, 0, 10, 0, 2, 3, b'a'],
    );
}

#[test]
fn golden_replies() {
    // ECONNREFUSED = 111: nothing after the errno.
    check_host(
        HostMsg::Reply {
            tag: 2,
            result: Err(Errno::ECONNREFUSED),
        },
        &[7, 0, 0, 0, 1, 2, 0, 0, 0, 111, 0],
    );
    check_host(
        HostMsg::Reply {
            tag: 2,
            result: Ok(ReplyValue::Done),
        },
        &[8, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0],
    );
    check_host(
        HostMsg::Reply {
            tag: 3,
            result: Ok(ReplyValue::Addr(v4(127, 0, 0, 1, 40000))),
        },
        &[
            16, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 1, 2, 0, 0x40, 0x9c, 127, 0, 0, 1,
        ],
    );
    check_host(
        HostMsg::Reply {
            tag: 4,
            result: Ok(ReplyValue::Opt(SockOpt {
                name: SockOptName::Error,
                value: SockOptValue::Int(111),
            })),
        },
        &[
            20, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 4, 0, 0, 0, 111, 0, 0, 0,
        ],
    );
}

#[test]
fn golden_accepted_and_event() {
    check_host(
        HostMsg::Accepted {
            listener: SocketId(3),
            sock: ACCEPTED,
            local: v4(10, 0, 2, 15, 80),
            peer: v4(127, 0, 0, 1, 51000),
        },
        &[
            25, 0, 0, 0, 2, 3, 0, 0, 0, 7, 0, 0, 0x80, 2, 0, 80, 0, 10, 0, 2, 15, 2, 0, 0x38, 0xc7,
            127, 0, 0, 1,
        ],
    );
    // POLLIN | POLLRDHUP = 0x2001; no error.
    check_host(
        HostMsg::Event {
            sock: SocketId(3),
            readiness: Readiness::READABLE | Readiness::READ_HANGUP,
            error: None,
        },
        &[9, 0, 0, 0, 3, 3, 0, 0, 0, 0x01, 0x20, 0, 0],
    );
    // POLLERR | POLLHUP = 0x18, ECONNRESET = 104.
    check_host(
        HostMsg::Event {
            sock: SocketId(3),
            readiness: Readiness::ERROR | Readiness::HANGUP,
            error: Some(Errno::ECONNRESET),
        },
        &[9, 0, 0, 0, 3, 3, 0, 0, 0, 0x18, 0, 104, 0],
    );
}

/// One of each guest message, with distinctive values.
pub(crate) fn every_guest_msg() -> Vec<GuestMsg<'static>> {
    let mut all = vec![
        GuestMsg::Socket {
            tag: 1,
            sock: SocketId(0x7fff_ffff),
            family: Family::Inet,
            ty: SockType::Dgram,
            flags: SocketFlags::default(),
        },
        GuestMsg::Connect {
            tag: u32::MAX,
            sock: SocketId(2),
            addr: v6(
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
                65535,
                0xfffff,
                0,
            ),
        },
        GuestMsg::Bind {
            tag: 3,
            sock: SocketId(3),
            addr: v4(0, 0, 0, 0, 0),
        },
        GuestMsg::Listen {
            tag: 4,
            sock: SocketId(4),
            backlog: u32::MAX,
        },
        GuestMsg::Shutdown {
            tag: 5,
            sock: SocketId(5),
            how: Shutdown::Both,
        },
        GuestMsg::Shutdown {
            tag: 5,
            sock: SocketId(5),
            how: Shutdown::Read,
        },
        GuestMsg::Close {
            tag: 6,
            sock: ACCEPTED,
        },
        GuestMsg::GetSockName {
            tag: 7,
            sock: SocketId(7),
        },
        GuestMsg::GetPeerName {
            tag: 8,
            sock: SocketId(8),
        },
        GuestMsg::GetSockOpt {
            tag: 10,
            sock: SocketId(10),
            name: SockOptName::Ipv6V6Only,
        },
        GuestMsg::Data {
            sock: SocketId(11),
            data: b"",
        },
        GuestMsg::Data {
            sock: SocketId(11),
            data: &[0xab; MAX_DATA],
        },
        GuestMsg::Datagram {
            sock: SocketId(12),
            to: Some(v6(Ipv6Addr::LOCALHOST, 53, 0, 2)),
            data: b"\x00\x01query",
        },
        GuestMsg::Credit {
            sock: SocketId(13),
            amount: 0,
        },
    ];
    for (i, &name) in SockOptName::ALL.iter().enumerate() {
        let value = match name {
            SockOptName::Linger => SockOptValue::Linger {
                onoff: 0,
                seconds: -1,
            },
            _ => SockOptValue::Int(i as i32 - 3),
        };
        all.push(GuestMsg::SetSockOpt {
            tag: 9,
            sock: SocketId(9),
            opt: SockOpt { name, value },
        });
    }
    all
}

/// One of each host message, with distinctive values.
pub(crate) fn every_host_msg() -> Vec<HostMsg<'static>> {
    let mut all = vec![
        HostMsg::Reply {
            tag: 1,
            result: Ok(ReplyValue::Done),
        },
        HostMsg::Reply {
            tag: 2,
            result: Ok(ReplyValue::Addr(v6(Ipv6Addr::UNSPECIFIED, 1, 2, 3))),
        },
        HostMsg::Reply {
            tag: 3,
            result: Ok(ReplyValue::Opt(SockOpt {
                name: SockOptName::Linger,
                value: SockOptValue::Linger {
                    onoff: 1,
                    seconds: 30,
                },
            })),
        },
        HostMsg::Reply {
            tag: 4,
            result: Ok(ReplyValue::Opt(SockOpt {
                name: SockOptName::RcvBuf,
                value: SockOptValue::Int(212_992),
            })),
        },
        HostMsg::Accepted {
            listener: SocketId(5),
            sock: SocketId(u32::MAX),
            local: v6(Ipv6Addr::LOCALHOST, 8080, 0, 0),
            peer: v6(Ipv6Addr::LOCALHOST, 50000, 0, 0),
        },
        HostMsg::Event {
            sock: SocketId(6),
            readiness: Readiness::NONE,
            error: None,
        },
        HostMsg::Event {
            sock: SocketId(6),
            readiness: Readiness::WRITABLE,
            error: Some(Errno::ETIMEDOUT),
        },
        HostMsg::Data {
            sock: SocketId(7),
            data: &[0x5a; MAX_DATA],
        },
        HostMsg::Datagram {
            sock: SocketId(8),
            from: v4(8, 8, 8, 8, 53),
            data: b"",
        },
        HostMsg::Credit {
            sock: SocketId(9),
            amount: u32::MAX,
        },
    ];
    // Every errno the host may send.
    for &errno in Errno::ALL {
        if errno != Errno::ERESTARTSYS {
            all.push(HostMsg::Reply {
                tag: errno as u32,
                result: Err(errno),
            });
        }
    }
    all
}

#[test]
fn every_message_round_trips_and_every_cut_fails() {
    for msg in every_guest_msg() {
        let bytes = guest_bytes(&msg);
        assert_eq!(GuestMsg::decode(Frame::exact(&bytes).unwrap()), Ok(msg));
        // Cut the body short (fixing the length so the frame is whole).
        for cut in 1..bytes.len().min(64) - 4 {
            let mut short = bytes[..bytes.len() - cut].to_vec();
            let len = (short.len() - 4) as u32;
            short[..4].copy_from_slice(&len.to_le_bytes());
            if let Ok(frame) = Frame::exact(&short) {
                let decoded = GuestMsg::decode(frame);
                // Data runs to the end of the frame, so a shorter data
                // message is still a (different) message.
                if !matches!(msg, GuestMsg::Data { .. } | GuestMsg::Datagram { .. }) {
                    assert!(decoded.is_err(), "{msg:?} cut by {cut}: {decoded:?}");
                }
            }
        }
        // One byte too many is an error unless data absorbs it.
        let mut long = bytes.clone();
        long.push(0);
        let len = (long.len() - 4) as u32;
        long[..4].copy_from_slice(&len.to_le_bytes());
        let decoded = GuestMsg::decode(Frame::exact(&long).unwrap());
        if !matches!(msg, GuestMsg::Data { .. } | GuestMsg::Datagram { .. }) {
            assert_eq!(decoded, Err(ChannelError::TrailingBytes(1)), "{msg:?}");
        }
    }
    for msg in every_host_msg() {
        let bytes = host_bytes(&msg);
        assert_eq!(HostMsg::decode(Frame::exact(&bytes).unwrap()), Ok(msg));
        for cut in 1..bytes.len().min(64) - 4 {
            let mut short = bytes[..bytes.len() - cut].to_vec();
            let len = (short.len() - 4) as u32;
            short[..4].copy_from_slice(&len.to_le_bytes());
            if let Ok(frame) = Frame::exact(&short) {
                if !matches!(msg, HostMsg::Data { .. } | HostMsg::Datagram { .. }) {
                    assert!(HostMsg::decode(frame).is_err(), "{msg:?} cut by {cut}");
                }
            }
        }
    }
}

#[test]
fn every_socket_option_maps_to_linux_and_back() {
    for &name in SockOptName::ALL {
        let (level, optname) = name.linux();
        assert_eq!(SockOptName::from_linux(level, optname), Some(name));
    }
    assert_eq!(SockOptName::from_linux(1, 2), Some(SockOptName::ReuseAddr));
    assert_eq!(SockOptName::from_linux(6, 1), Some(SockOptName::TcpNoDelay));
    assert_eq!(
        SockOptName::from_linux(41, 26),
        Some(SockOptName::Ipv6V6Only)
    );
    // SO_TYPE (3) is answered in the guest.
    assert_eq!(SockOptName::from_linux(1, 3), None);
}

#[test]
fn linux_values() {
    assert_eq!(Family::from_linux(2), Some(Family::Inet));
    assert_eq!(Family::from_linux(10), Some(Family::Inet6));
    assert_eq!(Family::from_linux(1), None); // AF_UNIX stays in the guest
    assert_eq!(SockType::from_linux(1), Some(SockType::Stream));
    assert_eq!(SockType::from_linux(3), None); // SOCK_RAW
    assert_eq!(
        SocketFlags::from_linux(0o4000),
        Some(SocketFlags {
            nonblock: true,
            cloexec: false
        })
    );
    assert_eq!(SocketFlags::from_linux(1), None);
    assert_eq!(Shutdown::from_linux(2), Some(Shutdown::Both));
    assert_eq!(Shutdown::from_linux(3), None);
    assert_eq!(Readiness::from_bits(0x2000), Some(Readiness::READ_HANGUP));
    assert_eq!(Readiness::from_bits(0x20), None); // POLLNVAL is the guest's
    assert!((Readiness::READABLE | Readiness::ERROR).contains(Readiness::ERROR));
    assert!(!Readiness::READABLE.contains(Readiness::WRITABLE));
}

#[test]
fn rejects_what_the_protocol_forbids() {
    fn decode_g(bytes: &[u8]) -> Result<GuestMsg<'_>, ChannelError> {
        GuestMsg::decode(Frame::exact(bytes).unwrap())
    }
    fn decode_h(bytes: &[u8]) -> Result<HostMsg<'_>, ChannelError> {
        HostMsg::decode(Frame::exact(bytes).unwrap())
    }
    let socket = guest_bytes(&GuestMsg::Socket {
        tag: 1,
        sock: SocketId(1),
        family: Family::Inet,
        ty: SockType::Stream,
        flags: SocketFlags::default(),
    });
    let mut bad = socket.clone();
    bad[12] = 0x80; // a host-assigned id
    assert!(matches!(decode_g(&bad), Err(ChannelError::BadValue(_))));
    let mut bad = socket.clone();
    bad[13] = 1; // AF_UNIX
    assert_eq!(
        decode_g(&bad),
        Err(ChannelError::BadValue("address family"))
    );
    let mut bad = socket.clone();
    bad[15] = 5; // SOCK_SEQPACKET
    assert_eq!(decode_g(&bad), Err(ChannelError::BadValue("socket type")));
    let mut bad = socket;
    bad[19] = 1;
    assert_eq!(decode_g(&bad), Err(ChannelError::BadValue("socket flags")));
    // Unknown option, unknown type, family 0 where an address is required.
    let mut bad = guest_bytes(&GuestMsg::GetSockOpt {
        tag: 1,
        sock: SocketId(1),
        name: SockOptName::KeepAlive,
    });
    bad[17] = 99;
    assert_eq!(decode_g(&bad), Err(ChannelError::BadValue("socket option")));
    assert_eq!(
        decode_g(&[1, 0, 0, 0, 99]),
        Err(ChannelError::UnknownType(99))
    );
    assert_eq!(
        decode_h(&[1, 0, 0, 0, 4]),
        Err(ChannelError::UnknownType(4))
    );
    let mut bad = guest_bytes(&GuestMsg::Connect {
        tag: 1,
        sock: SocketId(1),
        addr: v4(1, 2, 3, 4, 5),
    });
    bad[13] = 0;
    assert!(decode_g(&bad).is_err());
    // Errno 41 is no Linux errno; 512 is kernel-internal.
    let mut bad = host_bytes(&HostMsg::Reply {
        tag: 1,
        result: Err(Errno::EPERM),
    });
    bad[9] = 41;
    assert_eq!(decode_h(&bad), Err(ChannelError::BadValue("errno")));
    bad[9..11].copy_from_slice(&512u16.to_le_bytes());
    assert_eq!(decode_h(&bad), Err(ChannelError::BadValue("errno")));
    // An accepted connection must carry a host-assigned id.
    let mut bad = host_bytes(&HostMsg::Accepted {
        listener: SocketId(1),
        sock: ACCEPTED,
        local: v4(1, 1, 1, 1, 1),
        peer: v4(2, 2, 2, 2, 2),
    });
    bad[12] = 0;
    assert!(matches!(decode_h(&bad), Err(ChannelError::BadValue(_))));
    // More data than a sender may send, though the frame could hold it.
    let mut big = vec![0u8; 4 + 1 + 4 + MAX_DATA + 1];
    let len = (big.len() - 4) as u32;
    big[..4].copy_from_slice(&len.to_le_bytes());
    big[4] = 16;
    assert_eq!(decode_g(&big), Err(ChannelError::DataTooLong(MAX_DATA + 1)));
    assert_eq!(decode_h(&big), Err(ChannelError::DataTooLong(MAX_DATA + 1)));
    // POLLNVAL is not the host's to say.
    let mut bad = host_bytes(&HostMsg::Event {
        sock: SocketId(1),
        readiness: Readiness::NONE,
        error: None,
    });
    bad[9] = 0x20;
    assert_eq!(decode_h(&bad), Err(ChannelError::BadValue("readiness")));
}

#[test]
fn encoding_refuses_what_decoding_would() {
    let mut out = vec![0xee];
    let too_long = vec![0; MAX_DATA + 1];
    let errors = [
        GuestMsg::Data {
            sock: SocketId(1),
            data: &too_long,
        }
        .encode(&mut out),
        GuestMsg::Datagram {
            sock: SocketId(1),
            to: None,
            data: &too_long,
        }
        .encode(&mut out),
        GuestMsg::Socket {
            tag: 1,
            sock: ACCEPTED,
            family: Family::Inet,
            ty: SockType::Stream,
            flags: SocketFlags::default(),
        }
        .encode(&mut out),
        GuestMsg::SetSockOpt {
            tag: 1,
            sock: SocketId(1),
            opt: SockOpt {
                name: SockOptName::Linger,
                value: SockOptValue::Int(1),
            },
        }
        .encode(&mut out),
        GuestMsg::SetSockOpt {
            tag: 1,
            sock: SocketId(1),
            opt: SockOpt {
                name: SockOptName::KeepAlive,
                value: SockOptValue::Linger {
                    onoff: 1,
                    seconds: 1,
                },
            },
        }
        .encode(&mut out),
        HostMsg::Reply {
            tag: 1,
            result: Err(Errno::ERESTARTSYS),
        }
        .encode(&mut out),
        HostMsg::Accepted {
            listener: SocketId(1),
            sock: SocketId(2),
            local: v4(1, 1, 1, 1, 1),
            peer: v4(1, 1, 1, 1, 1),
        }
        .encode(&mut out),
    ];
    for result in errors {
        assert!(result.is_err());
    }
    assert_eq!(out, [0xee], "a failed encode leaves the buffer as it was");
}
