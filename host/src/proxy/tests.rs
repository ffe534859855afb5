//! The proxy driven in-process: a `mio::Poll`, the proxy, and a fake
//! guest that speaks the net protocol. Every server is on 127.0.0.1 and
//! an ephemeral port; other destinations are only ever denied.

use super::*;
use crate::policy::{AllowTarget, IpNet, NetMode, NetOptions};
use lamina_proto::channel::Frame;
use lamina_proto::net::SocketFlags;
use mio::{Events, Poll};
use std::net::{TcpListener as StdListener, TcpStream as StdStream, UdpSocket as StdUdp};
use std::time::Instant;

const WAIT: Duration = Duration::from_secs(20);
const TOKENS: TokenRange = TokenRange {
    first: 100,
    count: 4096,
};

/// A host message, owned.
#[derive(Debug, Clone, PartialEq)]
enum Msg {
    Reply(Tag, Result<ReplyValue, Errno>),
    Accepted {
        listener: SocketId,
        sock: SocketId,
        local: SocketAddr,
        peer: SocketAddr,
    },
    Event(SocketId, Readiness, Option<Errno>),
    Data(SocketId, Vec<u8>),
    Datagram(SocketId, SocketAddr, Vec<u8>),
    Credit(SocketId, u32),
}

impl From<HostMsg<'_>> for Msg {
    fn from(msg: HostMsg<'_>) -> Self {
        match msg {
            HostMsg::Reply { tag, result } => Msg::Reply(tag, result),
            HostMsg::Accepted {
                listener,
                sock,
                local,
                peer,
            } => Msg::Accepted {
                listener,
                sock,
                local,
                peer,
            },
            HostMsg::Event {
                sock,
                readiness,
                error,
            } => Msg::Event(sock, readiness, error),
            HostMsg::Data { sock, data } => Msg::Data(sock, data.to_vec()),
            HostMsg::Datagram { sock, from, data } => Msg::Datagram(sock, from, data.to_vec()),
            HostMsg::Credit { sock, amount } => Msg::Credit(sock, amount),
        }
    }
}

struct Guest {
    poll: Poll,
    events: Events,
    proxy: Proxy,
    decoder: FrameDecoder,
    inbox: VecDeque<Msg>,
    next_tag: Tag,
}

fn policy(options: NetOptions) -> Policy {
    Policy::new(&options, &[], |_| Ok(vec![])).unwrap()
}

/// Allows exactly 127.0.0.1:`port` (the guest's 10.0.2.2:`port`).
fn allow_loopback(port: u16) -> NetOptions {
    NetOptions {
        allow: vec![AllowTarget::Net {
            net: IpNet::host(Ipv4Addr::LOCALHOST.into()),
            port: Some(port),
        }],
        ..NetOptions::default()
    }
}

fn via_alias(port: u16) -> SocketAddr {
    SocketAddr::new(GUEST_HOST_ALIAS.into(), port)
}

impl Guest {
    /// A guest that has exchanged Hellos with a fresh proxy.
    fn new(policy: Policy, limits: Limits) -> Self {
        let poll = Poll::new().unwrap();
        let mut proxy = Proxy::new(policy, limits, TOKENS);
        proxy.publish(poll.registry()).unwrap();
        let mut guest = Self {
            poll,
            events: Events::with_capacity(256),
            proxy,
            decoder: FrameDecoder::new(),
            inbox: VecDeque::new(),
            next_tag: 1,
        };
        // The proxy's Hello comes first.
        let out = std::mem::take(guest.proxy.output());
        let (frame, used) = Frame::split(&out).unwrap().unwrap();
        assert_eq!(used, out.len());
        let hello = Hello::decode(frame).unwrap();
        assert_eq!(Hello::new(Channel::Net).agree(&hello), Ok(1));
        let mut ours = Vec::new();
        Hello::new(Channel::Net).encode(&mut ours);
        guest.raw(&ours).unwrap();
        guest
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), ServiceError> {
        self.proxy.from_guest(self.poll.registry(), bytes)
    }

    fn send(&mut self, msg: GuestMsg<'_>) -> Result<(), ServiceError> {
        let mut bytes = Vec::new();
        msg.encode(&mut bytes).unwrap();
        let result = self.raw(&bytes);
        self.collect();
        result
    }

    fn collect(&mut self) {
        let out = std::mem::take(self.proxy.output());
        let mut rest = &out[..];
        while !rest.is_empty() {
            let (used, frame) = self.decoder.feed(rest);
            rest = &rest[used..];
            if let Some(frame) = frame.unwrap() {
                self.inbox.push_back(HostMsg::decode(frame).unwrap().into());
            }
        }
    }

    /// One turn of the event loop.
    fn turn(&mut self, timeout: Duration) {
        self.poll.poll(&mut self.events, Some(timeout)).unwrap();
        for event in self.events.iter() {
            assert!(TOKENS.contains(event.token()));
            self.proxy.ready(self.poll.registry(), event);
        }
        self.collect();
    }

    /// The first message `pick` takes, turning the loop until it comes.
    fn wait<T>(&mut self, mut pick: impl FnMut(&Msg) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.inbox.iter().position(|m| pick(m).is_some()) {
                let msg = self.inbox.remove(i).unwrap();
                return pick(&msg).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "timed out; inbox: {:?}",
                self.inbox
            );
            self.turn(Duration::from_millis(20));
        }
    }

    fn tag(&mut self) -> Tag {
        self.next_tag += 1;
        self.next_tag
    }

    fn reply(&mut self, tag: Tag) -> Result<ReplyValue, Errno> {
        self.wait(|m| match m {
            Msg::Reply(t, result) if *t == tag => Some(*result),
            _ => None,
        })
    }

    fn socket(&mut self, sock: u32, family: Family, ty: SockType) -> Result<ReplyValue, Errno> {
        let tag = self.tag();
        self.send(GuestMsg::Socket {
            tag,
            sock: SocketId(sock),
            family,
            ty,
            flags: SocketFlags::default(),
        })
        .unwrap();
        self.reply(tag)
    }

    fn connect(&mut self, sock: u32, addr: SocketAddr) -> Result<ReplyValue, Errno> {
        let tag = self.tag();
        self.send(GuestMsg::Connect {
            tag,
            sock: SocketId(sock),
            addr,
        })
        .unwrap();
        self.reply(tag)
    }

    fn request(
        &mut self,
        make: impl FnOnce(Tag) -> GuestMsg<'static>,
    ) -> Result<ReplyValue, Errno> {
        let tag = self.tag();
        self.send(make(tag)).unwrap();
        self.reply(tag)
    }

    fn credit(&mut self, sock: SocketId) -> u32 {
        self.wait(|m| match m {
            Msg::Credit(s, amount) if *s == sock => Some(*amount),
            _ => None,
        })
    }
}

/// FNV-1a, for comparing a megabyte.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Deterministic bytes (xorshift).
fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// An echo server for one connection; returns its port.
fn echo_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0; 8192];
        loop {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).unwrap();
        }
    });
    (port, thread)
}

#[test]
fn proxy_hello_first_and_checked() {
    // A well-behaved guest (Guest::new checks the proxy's Hello).
    let _ = Guest::new(policy(NetOptions::default()), Limits::default());

    let poll = Poll::new().unwrap();
    let mut proxy = Proxy::new(policy(NetOptions::default()), Limits::default(), TOKENS);
    let mut socket = Vec::new();
    GuestMsg::Close {
        tag: 1,
        sock: SocketId(1),
    }
    .encode(&mut socket)
    .unwrap();
    let err = proxy.from_guest(poll.registry(), &socket).unwrap_err();
    assert_eq!(err.0, "net channel: message type 6 before the hello");
    // The channel stays broken.
    assert!(proxy.from_guest(poll.registry(), &[]).is_err());

    // A guest that speaks only version 2 and later.
    let mut proxy = Proxy::new(policy(NetOptions::default()), Limits::default(), TOKENS);
    let mut hello = Vec::new();
    Hello {
        channel: Channel::Net,
        min_version: 2,
        max_version: 3,
    }
    .encode(&mut hello);
    let err = proxy.from_guest(poll.registry(), &hello).unwrap_err();
    assert!(err.0.contains("no common protocol version"), "{err}");

    // A Hello for the control channel on the net channel.
    let mut proxy = Proxy::new(policy(NetOptions::default()), Limits::default(), TOKENS);
    let mut hello = Vec::new();
    Hello::new(Channel::Control).encode(&mut hello);
    assert!(proxy.from_guest(poll.registry(), &hello).is_err());
}

/// 1 MiB through an echo server reached as 10.0.2.2, with a slow guest
/// that grants 4 KiB at a time: the proxy never sends past the credit,
/// and the guest never sends past the host's.
#[test]
fn proxy_echo_one_mib_within_credit() {
    let (port, server) = echo_server();
    let mut g = Guest::new(policy(allow_loopback(port)), Limits::default());
    let s = SocketId(7);
    assert_eq!(
        g.socket(7, Family::Inet, SockType::Stream),
        Ok(ReplyValue::Done)
    );
    assert_eq!(g.connect(7, via_alias(port)), Ok(ReplyValue::Done));
    let mut host_credit = g.credit(s);
    assert_eq!(host_credit, Limits::default().stream_window);
    let peer = g.request(|tag| GuestMsg::GetPeerName { tag, sock: s });
    assert_eq!(peer, Ok(ReplyValue::Addr(via_alias(port))));

    const GRANT: u32 = 4096;
    let payload = pseudo_random(1 << 20, 0x9e37_79b9_7f4a_7c15);
    let mut sent = 0;
    let mut received = Vec::with_capacity(payload.len());
    let mut guest_credit = GRANT;
    g.send(GuestMsg::Credit {
        sock: s,
        amount: GRANT,
    })
    .unwrap();
    let mut shut = false;
    let mut eof = false;
    let deadline = Instant::now() + WAIT;
    while !eof {
        assert!(
            Instant::now() < deadline,
            "echo stalled at {} bytes",
            received.len()
        );
        while sent < payload.len() && host_credit > 0 {
            let n = (payload.len() - sent)
                .min(host_credit as usize)
                .min(MAX_DATA);
            g.send(GuestMsg::Data {
                sock: s,
                data: &payload[sent..sent + n],
            })
            .unwrap();
            sent += n;
            host_credit -= n as u32;
        }
        if sent == payload.len() && !shut {
            let r = g.request(|tag| GuestMsg::Shutdown {
                tag,
                sock: s,
                how: Shutdown::Write,
            });
            assert_eq!(r, Ok(ReplyValue::Done));
            shut = true;
        }
        g.turn(Duration::from_millis(5));
        while let Some(msg) = g.inbox.pop_front() {
            match msg {
                Msg::Credit(id, amount) if id == s => host_credit += amount,
                Msg::Data(id, data) if id == s => {
                    assert!(
                        data.len() <= guest_credit as usize,
                        "{} bytes against a credit of {guest_credit}",
                        data.len()
                    );
                    guest_credit -= data.len() as u32;
                    received.extend_from_slice(&data);
                }
                Msg::Event(id, readiness, None) if id == s => {
                    assert!(readiness.contains(Readiness::READ_HANGUP));
                    eof = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // The slow reader: a new grant only once everything is read.
        if guest_credit == 0 {
            guest_credit = GRANT;
            g.send(GuestMsg::Credit {
                sock: s,
                amount: GRANT,
            })
            .unwrap();
        }
    }
    assert_eq!(received.len(), payload.len());
    assert_eq!(checksum(&received), checksum(&payload));
    let r = g.request(|tag| GuestMsg::Close { tag, sock: s });
    assert_eq!(r, Ok(ReplyValue::Done));
    server.join().unwrap();
    // The id is free again.
    assert_eq!(
        g.socket(7, Family::Inet, SockType::Stream),
        Ok(ReplyValue::Done)
    );
}

#[test]
fn proxy_connect_refused() {
    let port = {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut g = Guest::new(policy(allow_loopback(port)), Limits::default());
    g.socket(1, Family::Inet, SockType::Stream).unwrap();
    assert_eq!(g.connect(1, via_alias(port)), Err(Errno::ECONNREFUSED));
    // The socket can try again, as on Linux.
    assert_eq!(g.connect(1, via_alias(port)), Err(Errno::ECONNREFUSED));
}

/// Without an --allow-net for it the connect fails with EPERM at once,
/// and the server never sees a connection.
#[test]
fn proxy_connect_denied_leaves_nothing() {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let other_port = if port == u16::MAX { port - 1 } else { port + 1 };
    let mut g = Guest::new(policy(allow_loopback(other_port)), Limits::default());
    g.socket(1, Family::Inet, SockType::Stream).unwrap();
    // The reply is already there: nothing waited on the network.
    let tag = g.tag();
    g.send(GuestMsg::Connect {
        tag,
        sock: SocketId(1),
        addr: via_alias(port),
    })
    .unwrap();
    assert_eq!(
        g.inbox.pop_front(),
        Some(Msg::Reply(tag, Err(Errno::EPERM)))
    );
    // A public address and the guest's own loopback, equally refused.
    for addr in ["192.0.2.1:80", "127.0.0.1:80", "0.0.0.0:80"] {
        let tag = g.tag();
        g.send(GuestMsg::Connect {
            tag,
            sock: SocketId(1),
            addr: addr.parse().unwrap(),
        })
        .unwrap();
        assert_eq!(
            g.inbox.pop_front(),
            Some(Msg::Reply(tag, Err(Errno::EPERM))),
            "{addr}"
        );
    }
    // An IPv6 socket reaching the host through ::ffff:10.0.2.2.
    g.socket(2, Family::Inet6, SockType::Stream).unwrap();
    let mapped = SocketAddr::new(GUEST_HOST_ALIAS.to_ipv6_mapped().into(), port);
    assert_eq!(g.connect(2, mapped), Err(Errno::EPERM));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn proxy_net_none_is_unreachable() {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let none = NetOptions {
        mode: NetMode::None,
        ..NetOptions::default()
    };
    let mut g = Guest::new(policy(none), Limits::default());
    g.socket(1, Family::Inet, SockType::Stream).unwrap();
    assert_eq!(g.connect(1, via_alias(port)), Err(Errno::ENETUNREACH));
    g.socket(2, Family::Inet, SockType::Dgram).unwrap();
    assert_eq!(g.connect(2, via_alias(port)), Err(Errno::ENETUNREACH));
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn proxy_udp_round_trip() {
    let server = StdUdp::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut buf = [0; 2048];
        for _ in 0..3 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let mut g = Guest::new(policy(allow_loopback(port)), Limits::default());
    let s = SocketId(3);
    g.socket(3, Family::Inet, SockType::Dgram).unwrap();
    let host_credit = g.credit(s);
    assert_eq!(host_credit, Limits::default().datagram_window);
    g.send(GuestMsg::Credit {
        sock: s,
        amount: 64 * 1024,
    })
    .unwrap();
    for (i, text) in [&b"ping"[..], &[7; 1400][..]].into_iter().enumerate() {
        g.send(GuestMsg::Datagram {
            sock: s,
            to: Some(via_alias(port)),
            data: text,
        })
        .unwrap();
        let (from, data) = g.wait(|m| match m {
            Msg::Datagram(id, from, data) if *id == s => Some((*from, data.clone())),
            _ => None,
        });
        assert_eq!(from, via_alias(port), "datagram {i}");
        assert_eq!(data, text);
    }
    // A connected datagram socket: send without an address.
    assert_eq!(g.connect(3, via_alias(port)), Ok(ReplyValue::Done));
    g.send(GuestMsg::Datagram {
        sock: s,
        to: None,
        data: b"connected",
    })
    .unwrap();
    let data = g.wait(|m| match m {
        Msg::Datagram(id, from, data) if *id == s && *from == via_alias(port) => Some(data.clone()),
        _ => None,
    });
    assert_eq!(data, b"connected");
    thread.join().unwrap();

    // A destination no rule allows: an Event with EPERM, nothing sent.
    g.socket(4, Family::Inet, SockType::Dgram).unwrap();
    g.send(GuestMsg::Datagram {
        sock: SocketId(4),
        to: Some("192.0.2.1:53".parse().unwrap()),
        data: b"x",
    })
    .unwrap();
    let error = g.wait(|m| match m {
        Msg::Event(id, readiness, error) if *id == SocketId(4) => {
            assert!(readiness.contains(Readiness::ERROR));
            Some(*error)
        }
        _ => None,
    });
    assert_eq!(error, Some(Errno::EPERM));
    let r = g.request(|tag| GuestMsg::GetSockOpt {
        tag,
        sock: SocketId(4),
        name: SockOptName::Error,
    });
    assert_eq!(
        r,
        Ok(ReplyValue::Opt(SockOpt {
            name: SockOptName::Error,
            value: SockOptValue::Int(Errno::EPERM.as_i32()),
        }))
    );
}

/// 20 host clients on a published port reach the guest's listener as
/// Accepted, never more than its credit, and talk both ways.
#[test]
fn proxy_published_port_reaches_guest_listener() {
    const CLIENTS: usize = 20;
    const GUEST_PORT: u16 = 8080;
    let options = NetOptions {
        publish: vec![Publish {
            host_ip: Some(Ipv4Addr::LOCALHOST.into()),
            host_port: 0,
            guest_port: GUEST_PORT,
        }],
        ..NetOptions::default()
    };
    let mut g = Guest::new(policy(options), Limits::default());
    let [host_addr] = g.proxy.published_addrs()[..] else {
        panic!("one listener expected");
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut conn = StdStream::connect(host_addr).unwrap();
                conn.write_all(format!("hello {i:02}").as_bytes()).unwrap();
                let mut answer = [0; 14];
                conn.read_exact(&mut answer).unwrap();
                assert_eq!(&answer, format!("echo: hello {i:02}").as_bytes());
                let mut rest = Vec::new();
                conn.read_to_end(&mut rest).unwrap();
                assert!(rest.is_empty());
            })
        })
        .collect();

    // Connections wait while the guest has no listener.
    for _ in 0..10 {
        g.turn(Duration::from_millis(10));
    }
    assert!(g.inbox.is_empty(), "{:?}", g.inbox);

    let l = SocketId(1);
    g.socket(1, Family::Inet, SockType::Stream).unwrap();
    let bind = g.request(|tag| GuestMsg::Bind {
        tag,
        sock: l,
        addr: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), GUEST_PORT),
    });
    assert_eq!(bind, Ok(ReplyValue::Done));
    let listen = g.request(|tag| GuestMsg::Listen {
        tag,
        sock: l,
        backlog: 4,
    });
    assert_eq!(listen, Ok(ReplyValue::Done));
    // Nothing before the guest grants its backlog.
    g.turn(Duration::from_millis(50));
    assert!(g.inbox.is_empty(), "{:?}", g.inbox);
    let mut listen_credit = 4u32;
    g.send(GuestMsg::Credit {
        sock: l,
        amount: listen_credit,
    })
    .unwrap();

    let mut host_credit: HashMap<SocketId, u32> = HashMap::new();
    let mut inbound: HashMap<SocketId, Vec<u8>> = HashMap::new();
    let mut answered = 0;
    let mut accepted = 0;
    let deadline = Instant::now() + WAIT;
    while answered < CLIENTS {
        assert!(
            Instant::now() < deadline,
            "{answered} of {CLIENTS} answered"
        );
        g.turn(Duration::from_millis(10));
        while let Some(msg) = g.inbox.pop_front() {
            match msg {
                Msg::Accepted {
                    listener,
                    sock,
                    local,
                    peer,
                } => {
                    assert_eq!(listener, l);
                    assert!(sock.is_host_assigned());
                    assert!(listen_credit > 0, "Accepted past the listener's credit");
                    listen_credit -= 1;
                    accepted += 1;
                    assert_eq!(local, SocketAddr::new(GUEST_ADDR.into(), GUEST_PORT));
                    assert_eq!(peer.ip(), IpAddr::V4(GUEST_HOST_ALIAS));
                    g.send(GuestMsg::Credit { sock, amount: 1024 }).unwrap();
                }
                Msg::Credit(sock, amount) => *host_credit.entry(sock).or_default() += amount,
                Msg::Data(sock, data) => {
                    let buf = inbound.entry(sock).or_default();
                    buf.extend_from_slice(&data);
                    if buf.len() == 8 {
                        let mut answer = b"echo: ".to_vec();
                        answer.extend_from_slice(buf);
                        let credit = host_credit.get_mut(&sock).unwrap();
                        assert!(*credit as usize >= answer.len());
                        *credit -= answer.len() as u32;
                        g.send(GuestMsg::Data {
                            sock,
                            data: &answer,
                        })
                        .unwrap();
                        let r = g.request(|tag| GuestMsg::Close { tag, sock });
                        assert_eq!(r, Ok(ReplyValue::Done));
                        answered += 1;
                        // Room in the backlog again.
                        listen_credit += 1;
                        g.send(GuestMsg::Credit { sock: l, amount: 1 }).unwrap();
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(accepted, CLIENTS);
    for client in clients {
        client.join().unwrap();
    }
}

/// Without a -p for its port a guest listener hears nothing, and no host
/// port opens.
#[test]
fn proxy_unpublished_listener_is_quiet() {
    let mut g = Guest::new(policy(NetOptions::default()), Limits::default());
    assert!(g.proxy.published_addrs().is_empty());
    g.socket(1, Family::Inet, SockType::Stream).unwrap();
    let r = g.request(|tag| GuestMsg::Bind {
        tag,
        sock: SocketId(1),
        addr: "0.0.0.0:8080".parse().unwrap(),
    });
    assert_eq!(r, Ok(ReplyValue::Done));
    let r = g.request(|tag| GuestMsg::Listen {
        tag,
        sock: SocketId(1),
        backlog: 8,
    });
    assert_eq!(r, Ok(ReplyValue::Done));
    g.send(GuestMsg::Credit {
        sock: SocketId(1),
        amount: 8,
    })
    .unwrap();
    g.turn(Duration::from_millis(50));
    assert!(g.inbox.is_empty());
}

#[test]
fn proxy_publish_error_is_one_line() {
    let taken = StdListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let options = NetOptions {
        publish: vec![Publish {
            host_ip: Some(Ipv4Addr::LOCALHOST.into()),
            host_port: port,
            guest_port: 80,
        }],
        ..NetOptions::default()
    };
    let poll = Poll::new().unwrap();
    let mut proxy = Proxy::new(policy(options), Limits::default(), TOKENS);
    let err = proxy.publish(poll.registry()).unwrap_err().to_string();
    let prefix = format!("-p 127.0.0.1:{port}:80: cannot listen on 127.0.0.1:{port}: ");
    assert!(err.starts_with(&prefix), "{err}");
    assert!(
        err.ends_with("in use; another program holds the port: pick another host port"),
        "{err}"
    );
    assert!(!err.contains('\n') && !err.contains("os error"), "{err}");
}

#[test]
fn proxy_socket_limit() {
    let limits = Limits {
        max_sockets: 8,
        ..Limits::default()
    };
    let mut g = Guest::new(policy(NetOptions::default()), limits);
    for id in 0..8 {
        assert_eq!(
            g.socket(id, Family::Inet, SockType::Stream),
            Ok(ReplyValue::Done)
        );
    }
    assert_eq!(
        g.socket(8, Family::Inet6, SockType::Dgram),
        Err(Errno::EMFILE)
    );
    let r = g.request(|tag| GuestMsg::Close {
        tag,
        sock: SocketId(3),
    });
    assert_eq!(r, Ok(ReplyValue::Done));
    assert_eq!(
        g.socket(8, Family::Inet6, SockType::Dgram),
        Ok(ReplyValue::Done)
    );
}

#[test]
fn proxy_sockopts() {
    let (port, server) = echo_server();
    let mut g = Guest::new(policy(allow_loopback(port)), Limits::default());
    let s = SocketId(1);
    g.socket(1, Family::Inet, SockType::Stream).unwrap();
    let nodelay = SockOpt {
        name: SockOptName::TcpNoDelay,
        value: SockOptValue::Int(1),
    };
    // Set before the host socket exists, applied when it opens.
    let r = g.request(|tag| GuestMsg::SetSockOpt {
        tag,
        sock: s,
        opt: nodelay,
    });
    assert_eq!(r, Ok(ReplyValue::Done));
    assert_eq!(g.connect(1, via_alias(port)), Ok(ReplyValue::Done));
    let Some(Sock {
        io: Io::Stream(conn),
        ..
    }) = g.proxy.inner.socks.get(&s)
    else {
        panic!("connected stream expected");
    };
    assert!(rustix::net::sockopt::tcp_nodelay(&conn.stream).unwrap());
    let r = g.request(|tag| GuestMsg::GetSockOpt {
        tag,
        sock: s,
        name: SockOptName::TcpNoDelay,
    });
    assert_eq!(r, Ok(ReplyValue::Opt(nodelay)));
    let bad = SockOpt {
        name: SockOptName::TcpKeepCnt,
        value: SockOptValue::Int(0),
    };
    let r = g.request(|tag| GuestMsg::SetSockOpt {
        tag,
        sock: s,
        opt: bad,
    });
    assert_eq!(r, Err(Errno::EINVAL));
    let r = g.request(|tag| GuestMsg::GetSockOpt {
        tag,
        sock: s,
        name: SockOptName::Error,
    });
    assert_eq!(
        r,
        Ok(ReplyValue::Opt(SockOpt {
            name: SockOptName::Error,
            value: SockOptValue::Int(0)
        }))
    );
    let r = g.request(|tag| GuestMsg::Close { tag, sock: s });
    assert_eq!(r, Ok(ReplyValue::Done));
    server.join().unwrap();
}

/// Protocol errors end the channel with one line.
#[test]
fn proxy_protocol_errors() {
    let cases: Vec<(&str, Vec<GuestMsg<'static>>)> = vec![
        (
            "unknown socket 0x5",
            vec![GuestMsg::Close {
                tag: 1,
                sock: SocketId(5),
            }],
        ),
        (
            "socket 0x1 is already open",
            vec![
                GuestMsg::Socket {
                    tag: 1,
                    sock: SocketId(1),
                    family: Family::Inet,
                    ty: SockType::Stream,
                    flags: SocketFlags::default(),
                },
                GuestMsg::Socket {
                    tag: 2,
                    sock: SocketId(1),
                    family: Family::Inet,
                    ty: SockType::Dgram,
                    flags: SocketFlags::default(),
                },
            ],
        ),
        (
            "socket 0x1: 3 bytes sent against a credit of 0",
            vec![
                GuestMsg::Socket {
                    tag: 1,
                    sock: SocketId(1),
                    family: Family::Inet,
                    ty: SockType::Stream,
                    flags: SocketFlags::default(),
                },
                GuestMsg::Data {
                    sock: SocketId(1),
                    data: b"abc",
                },
            ],
        ),
        (
            "socket 0x1: credit beyond the largest window",
            vec![
                GuestMsg::Socket {
                    tag: 1,
                    sock: SocketId(1),
                    family: Family::Inet,
                    ty: SockType::Stream,
                    flags: SocketFlags::default(),
                },
                GuestMsg::Credit {
                    sock: SocketId(1),
                    amount: u32::MAX,
                },
            ],
        ),
        (
            "Datagram on stream socket 0x1",
            vec![
                GuestMsg::Socket {
                    tag: 1,
                    sock: SocketId(1),
                    family: Family::Inet,
                    ty: SockType::Stream,
                    flags: SocketFlags::default(),
                },
                GuestMsg::Datagram {
                    sock: SocketId(1),
                    to: None,
                    data: b"",
                },
            ],
        ),
    ];
    for (what, msgs) in cases {
        let mut g = Guest::new(policy(NetOptions::default()), Limits::default());
        let mut result = Ok(());
        for msg in msgs {
            result = g.send(msg);
        }
        assert_eq!(result, Err(ServiceError(format!("net channel: {what}"))));
    }
    // A frame longer than the protocol allows, before its body arrives.
    let mut g = Guest::new(policy(NetOptions::default()), Limits::default());
    let err = g.raw(&u32::MAX.to_le_bytes()).unwrap_err();
    assert!(err.0.starts_with("net channel: frame of"), "{err}");
    // Past the window of a datagram socket.
    let mut g = Guest::new(
        policy(NetOptions::default()),
        Limits {
            datagram_window: 100,
            ..Limits::default()
        },
    );
    g.socket(1, Family::Inet, SockType::Dgram).unwrap();
    let big = [0; 101];
    let err = g
        .send(GuestMsg::Datagram {
            sock: SocketId(1),
            to: Some("192.0.2.1:9".parse().unwrap()),
            data: &big,
        })
        .unwrap_err();
    assert!(err.0.contains("against a credit of 100"), "{err}");
}

/// 10,000 hostile inputs: random bytes, and valid frames with bytes
/// changed. The proxy answers with errors, never a panic; under --net
/// none nothing can leave.
#[test]
fn proxy_survives_garbage() {
    let none = NetOptions {
        mode: NetMode::None,
        ..NetOptions::default()
    };
    let mut valid = Vec::new();
    let msgs = [
        GuestMsg::Socket {
            tag: 1,
            sock: SocketId(1),
            family: Family::Inet,
            ty: SockType::Stream,
            flags: SocketFlags::default(),
        },
        GuestMsg::Socket {
            tag: 2,
            sock: SocketId(2),
            family: Family::Inet6,
            ty: SockType::Dgram,
            flags: SocketFlags::default(),
        },
        GuestMsg::Connect {
            tag: 3,
            sock: SocketId(1),
            addr: via_alias(80),
        },
        GuestMsg::Bind {
            tag: 4,
            sock: SocketId(1),
            addr: "0.0.0.0:80".parse().unwrap(),
        },
        GuestMsg::Listen {
            tag: 5,
            sock: SocketId(1),
            backlog: 3,
        },
        GuestMsg::Credit {
            sock: SocketId(1),
            amount: 3,
        },
        GuestMsg::Datagram {
            sock: SocketId(2),
            to: Some("[::ffff:10.0.2.3]:53".parse().unwrap()),
            data: b"query",
        },
        GuestMsg::SetSockOpt {
            tag: 6,
            sock: SocketId(1),
            opt: SockOpt {
                name: SockOptName::Linger,
                value: SockOptValue::Linger {
                    onoff: 1,
                    seconds: 5,
                },
            },
        },
        GuestMsg::GetSockName {
            tag: 7,
            sock: SocketId(2),
        },
        GuestMsg::Shutdown {
            tag: 8,
            sock: SocketId(1),
            how: Shutdown::Both,
        },
        GuestMsg::Close {
            tag: 9,
            sock: SocketId(2),
        },
    ];
    for msg in &msgs {
        msg.encode(&mut valid).unwrap();
    }
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut errors = 0;
    let mut g = Guest::new(policy(none.clone()), Limits::default());
    for i in 0..10_000 {
        if g.proxy.failed.is_some() || i % 50 == 0 {
            g.proxy.shutdown(g.poll.registry());
            g = Guest::new(policy(none.clone()), Limits::default());
        }
        let input = if i % 2 == 0 {
            let len = (next() % 64) as usize;
            pseudo_random(len, next() | 1)
        } else {
            let mut bytes = valid.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
            let cut = (next() as usize) % (bytes.len() + 1);
            bytes.truncate(cut.max(bytes.len() / 2));
            bytes
        };
        // Split anywhere, as the transport may.
        let split = (next() as usize) % (input.len() + 1);
        let result = g.raw(&input[..split]).and_then(|()| g.raw(&input[split..]));
        g.collect();
        if let Err(err) = result {
            assert!(err.0.starts_with("net channel: "), "{err}");
            errors += 1;
        }
    }
    assert!(errors > 1000, "only {errors} inputs were refused");
}

/// The guest's last bytes still reach the server when it closes at once
/// (a small host send buffer keeps them in the proxy until then).
#[test]
fn proxy_close_flushes_last_bytes() {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut all = Vec::new();
        conn.read_to_end(&mut all).unwrap();
        all
    });
    let mut g = Guest::new(policy(allow_loopback(port)), Limits::default());
    let s = SocketId(9);
    g.socket(9, Family::Inet, SockType::Stream).unwrap();
    let small = SockOpt {
        name: SockOptName::SndBuf,
        value: SockOptValue::Int(4096),
    };
    let r = g.request(|tag| GuestMsg::SetSockOpt {
        tag,
        sock: s,
        opt: small,
    });
    assert_eq!(r, Ok(ReplyValue::Done));
    assert_eq!(g.connect(9, via_alias(port)), Ok(ReplyValue::Done));
    let window = g.credit(s) as usize;
    let payload = pseudo_random(window, 42);
    for chunk in payload.chunks(MAX_DATA) {
        g.send(GuestMsg::Data {
            sock: s,
            data: chunk,
        })
        .unwrap();
    }
    assert!(
        !g.proxy.inner.socks.is_empty() && !g.inbox.iter().any(|m| matches!(m, Msg::Event(..))),
        "{:?}",
        g.inbox
    );
    let r = g.request(|tag| GuestMsg::Close { tag, sock: s });
    assert_eq!(r, Ok(ReplyValue::Done));
    assert_eq!(
        g.proxy.inner.orphans.len(),
        1,
        "the bytes should still be pending"
    );
    let deadline = Instant::now() + WAIT;
    while !g.proxy.inner.orphans.is_empty() {
        assert!(Instant::now() < deadline);
        g.turn(Duration::from_millis(10));
    }
    let got = server.join().unwrap();
    assert_eq!(got.len(), payload.len());
    assert_eq!(checksum(&got), checksum(&payload));
}
