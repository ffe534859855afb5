//! The host end of the "net" channel (issue 9): the workload's AF_INET
//! and AF_INET6 sockets, forwarded at the socket level
//! ([`lamina_proto::net`]), become real host sockets where the
//! [`Policy`] allows, and the published ports (`-p`) lead into the
//! guest's listeners.
//!
//! One [`Proxy`] per VM, driven by the supervisor's event loop through
//! [`ChannelService`]: guest frames in, host frames out, `mio` readiness
//! of the proxy's own sockets. Nothing here blocks and nothing trusts the
//! guest: every request is bounded, any malformed or out-of-protocol
//! frame ends the channel with one `net channel: ...` line, and bytes are
//! held only within the credit windows of [`lamina_proto::flow`] (guest
//! bytes waiting for the host socket: at most [`Limits::stream_window`]
//! per socket; host bytes: never read past the guest's credit).
//!
//! Choices the protocol leaves to the host:
//! - Every tagged request gets exactly one Reply. A Close of a socket
//!   whose Connect is still pending first answers the Connect with
//!   ECONNABORTED.
//! - The host opens its receive window (a Credit) when a stream is
//!   connected or accepted, and for a datagram socket right after the
//!   Socket reply.
//! - A datagram the policy refuses (or that fails to send) is dropped
//!   and reported as an Event carrying the errno, as the pending error of
//!   the socket; no packet leaves.
//! - A datagram socket hears only from the addresses it sent to (or the
//!   one it is connected to), and the guest sees each under the address
//!   it used (10.0.2.2 for the host's loopback, 10.0.2.3:53 for the
//!   resolver): the filtering of a NAT, so an unsolicited sender cannot
//!   reach the guest through the host's ephemeral port.
//! - The guest's local address, as getsockname and Accepted show it, is
//!   [`GUEST_ADDR`] (QEMU user networking's guest address) unless the
//!   guest bound a specific one; connections accepted from the host's
//!   loopback come from 10.0.2.2.
//! - Bind is recorded, not applied: the guest's addresses are not the
//!   host's. A host port is opened only by `-p`.
//! - Guest bytes still waiting for the host socket when the guest closes
//!   are written out before the host socket closes (an orphan, counted
//!   against [`Limits::max_sockets`] until then).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use lamina_proto::channel::{Channel, FrameDecoder, Hello, MAX_DATA};
use lamina_proto::flow::{RecvWindow, SendCredit};
use lamina_proto::net::{
    Errno, Family, GuestMsg, HostMsg, Readiness, ReplyValue, Shutdown, SockOpt, SockOptName,
    SockOptValue, SockType, SocketId, Tag,
};
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use tracing::{debug, info, warn};

use crate::policy::{canonical, Policy, Publish, GUEST_HOST_ALIAS};
use crate::service::{ChannelService, ServiceError, TokenRange};

/// The guest's own address as its peers see it: QEMU user networking's
/// guest address (the guest has no NIC; this is only a name).
pub const GUEST_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);

/// The host listen(2) backlog of a published port: connections wait
/// there until the guest listens and grants credit.
const PUBLISHED_BACKLOG: i32 = 128;
/// Destinations a datagram socket remembers, to let their replies in.
const MAX_DATAGRAM_PEERS: usize = 64;
/// Receive errors in a row after which a datagram socket stops draining.
const MAX_DATAGRAM_ERRORS: u32 = 16;

// Linux's bounds for the TCP keepalive options (net/ipv4/tcp.c).
const MAX_TCP_KEEPIDLE: i32 = 32767;
const MAX_TCP_KEEPINTVL: i32 = 32767;
const MAX_TCP_KEEPCNT: i32 = 127;

/// Per-VM bounds on what the guest can make the proxy hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open sockets (the guest's, accepted ones and closed ones still
    /// flushing); one more Socket fails with EMFILE.
    pub max_sockets: usize,
    /// Guest bytes the host holds per stream before they reach the host
    /// socket: the host's receive window.
    pub stream_window: u32,
    /// The host's receive window of a datagram socket (datagrams are sent
    /// at once, so this only paces the guest).
    pub datagram_window: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sockets: 1024,
            stream_window: 256 * 1024,
            datagram_window: 256 * 1024,
        }
    }
}

/// A published port the host could not listen on: one line for the user,
/// printed before the VM boots.
#[derive(Debug, thiserror::Error)]
#[error("-p {spec}: cannot listen on {addr}: {reason}")]
pub struct PublishError {
    spec: String,
    addr: SocketAddr,
    reason: String,
}

impl PublishError {
    fn new(publish: &Publish, addr: SocketAddr, err: &io::Error) -> Self {
        let mut reason = crate::error::os_reason(err);
        match err.kind() {
            io::ErrorKind::AddrInUse => {
                reason.push_str("; another program holds the port: pick another host port")
            }
            io::ErrorKind::PermissionDenied => {
                reason.push_str("; ports below 1024 need privileges: pick a higher host port")
            }
            _ => {}
        }
        Self {
            spec: publish_spec(publish),
            addr,
            reason,
        }
    }
}

/// `-p` as the user wrote it.
fn publish_spec(p: &Publish) -> String {
    match p.host_ip {
        Some(IpAddr::V6(ip)) => format!("[{ip}]:{}:{}", p.host_port, p.guest_port),
        Some(ip) => format!("{ip}:{}:{}", p.host_port, p.guest_port),
        None => format!("{}:{}", p.host_port, p.guest_port),
    }
}

/// The net channel's host end.
pub struct Proxy {
    decoder: FrameDecoder,
    /// The guest's Hello has arrived and agrees with ours.
    hello_done: bool,
    /// The protocol error that ended the channel; every later call repeats it.
    failed: Option<ServiceError>,
    inner: Inner,
}

/// Everything but the frame decoder, whose frames borrow it while a
/// message is handled.
struct Inner {
    policy: Policy,
    limits: Limits,
    tokens: TokenRange,
    out: Vec<u8>,
    socks: HashMap<SocketId, Sock>,
    slots: Slots,
    published: Vec<Published>,
    /// Guest port -> the guest socket listening on it, for published ports.
    listeners: HashMap<u16, SocketId>,
    /// Closed streams still writing the guest's last bytes, by slot.
    orphans: HashMap<usize, Conn>,
    next_host_id: u32,
    /// One read's worth of host bytes.
    scratch: Vec<u8>,
}

/// What a token's slot leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Sock(SocketId),
    Published(usize),
    Orphan,
}

/// The proxy's tokens, `tokens.first + slot`, reused once freed.
struct Slots {
    sources: Vec<Option<Source>>,
    free: Vec<usize>,
    capacity: usize,
}

impl Slots {
    fn new(capacity: usize) -> Self {
        Self {
            sources: Vec::new(),
            free: Vec::new(),
            capacity,
        }
    }

    fn alloc(&mut self, source: Source) -> Option<usize> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.sources.len() < self.capacity => {
                self.sources.push(None);
                self.sources.len() - 1
            }
            None => return None,
        };
        self.sources[slot] = Some(source);
        Some(slot)
    }

    fn set(&mut self, slot: usize, source: Source) {
        if let Some(entry) = self.sources.get_mut(slot) {
            *entry = Some(source);
        }
    }

    fn release(&mut self, slot: usize) {
        if let Some(entry @ Some(_)) = self.sources.get_mut(slot) {
            *entry = None;
            self.free.push(slot);
        }
    }

    fn get(&self, slot: usize) -> Option<Source> {
        self.sources.get(slot).copied().flatten()
    }
}

/// A published host listener (`-p`), leading to a guest port.
struct Published {
    listener: TcpListener,
    guest_port: u16,
    /// Connections may be waiting in the host backlog: the listener was
    /// readable and not drained (edge-triggered readiness).
    pending: bool,
}

/// One forwarded socket, as the guest names it.
struct Sock {
    family: Family,
    ty: SockType,
    /// The guest's bind address (recorded, not applied to the host).
    bound: Option<SocketAddr>,
    /// Options the guest set, re-applied to a host socket opened later.
    opts: Vec<SockOpt>,
    pending_error: Option<Errno>,
    /// What the guest lets the host push: bytes, datagram bytes, or on a
    /// listener connections.
    to_guest: SendCredit,
    /// What the host lets the guest send.
    from_guest: RecvWindow,
    io: Io,
}

enum Io {
    /// A stream with no host socket yet.
    Idle,
    Connecting {
        tag: Tag,
        stream: TcpStream,
        slot: usize,
        guest_peer: SocketAddr,
    },
    Stream(Box<Conn>),
    Listening {
        port: Option<u16>,
    },
    /// A datagram socket; the host socket opens with its first use.
    Udp(Option<Box<Udp>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteSide {
    Open,
    /// Shutdown(Write) once the pending bytes are written.
    ShutAfterPending,
    Shut,
}

struct Conn {
    stream: TcpStream,
    slot: usize,
    /// The peer as the guest names it.
    guest_peer: SocketAddr,
    /// Guest bytes not yet taken by the host socket (within the window).
    pending: Vec<u8>,
    /// The socket may have bytes to read (we stopped for lack of credit).
    may_read: bool,
    /// End of file seen, or the guest shut the read side.
    read_done: bool,
    write: WriteSide,
    /// An error ended the connection (already reported to the guest).
    broken: bool,
}

struct Udp {
    socket: UdpSocket,
    slot: usize,
    /// The connected peer: host address and the guest's name for it.
    connected: Option<(SocketAddr, SocketAddr)>,
    /// Recent destinations, host address and the guest's name for it.
    peers: VecDeque<(SocketAddr, SocketAddr)>,
}

fn protocol(what: impl std::fmt::Display) -> ServiceError {
    ServiceError(format!("net channel: {what}"))
}

/// The socket the guest names; an id it never opened (or closed) breaks
/// the protocol.
fn sock_of(socks: &mut HashMap<SocketId, Sock>, id: SocketId) -> Result<&mut Sock, ServiceError> {
    socks
        .get_mut(&id)
        .ok_or_else(|| protocol(format!("unknown socket {:#x}", id.0)))
}

/// The Linux errno of a host error (EIO for one without a number).
fn errno_of(err: &io::Error) -> Errno {
    err.raw_os_error()
        .and_then(Errno::from_raw)
        .filter(|e| *e != Errno::ERESTARTSYS)
        .unwrap_or(Errno::EIO)
}

fn send(out: &mut Vec<u8>, msg: HostMsg<'_>) {
    if let Err(err) = msg.encode(out) {
        // Only values the proxy made itself are encoded: a bug, not input.
        warn!("net: cannot encode a message for the guest: {err}");
    }
}

fn reply(out: &mut Vec<u8>, tag: Tag, result: Result<ReplyValue, Errno>) {
    send(out, HostMsg::Reply { tag, result });
}

/// `ip` in `family`: IPv4 becomes IPv4-mapped for an IPv6 socket.
fn in_family(ip: Ipv4Addr, port: u16, family: Family) -> SocketAddr {
    match family {
        Family::Inet => SocketAddr::new(IpAddr::V4(ip), port),
        Family::Inet6 => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), port),
    }
}

fn unspecified(family: Family) -> SocketAddr {
    match family {
        Family::Inet => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        Family::Inet6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// A host-side peer as the guest sees it: the host's loopback is
/// 10.0.2.2; an IPv4 peer of an IPv4 socket stays IPv4.
fn guest_visible_peer(peer: SocketAddr, family: Family) -> SocketAddr {
    match canonical(peer.ip()) {
        ip if ip.is_loopback() => in_family(GUEST_HOST_ALIAS, peer.port(), family),
        IpAddr::V4(v4) => in_family(v4, peer.port(), family),
        IpAddr::V6(_) => peer,
    }
}

/// The guest's local address for a socket whose host port is `port`.
fn guest_local(bound: Option<SocketAddr>, port: u16, family: Family) -> SocketAddr {
    match bound {
        Some(addr) if !addr.ip().is_unspecified() => SocketAddr::new(addr.ip(), port),
        _ => in_family(GUEST_ADDR, port, family),
    }
}

fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    canonical(a.ip()) == canonical(b.ip()) && a.port() == b.port()
}

/// A non-blocking listener for a published port; an IPv6 one takes IPv6
/// only, so `0.0.0.0` and `::` can both listen on the port.
fn listen_published(addr: SocketAddr) -> io::Result<TcpListener> {
    use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    // As std and every server do: a restarted lamina rebinds at once.
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if addr.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, PUBLISHED_BACKLOG)?;
    Ok(TcpListener::from_std(std::net::TcpListener::from(fd)))
}

/// IPv6 is off on this host: `-p PORT:PORT` then listens on IPv4 only.
fn ipv6_unavailable(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error().and_then(Errno::from_raw),
        Some(Errno::EAFNOSUPPORT | Errno::EADDRNOTAVAIL)
    )
}

/// Applies a socket option to a host socket.
fn apply_opt(fd: BorrowedFd<'_>, opt: &SockOpt) -> io::Result<()> {
    use rustix::net::sockopt as so;
    let int = match opt.value {
        SockOptValue::Int(v) => v,
        SockOptValue::Linger { .. } => 0,
    };
    let secs = |v: i32| Duration::from_secs(u64::try_from(v).unwrap_or(0));
    let size = |v: i32| usize::try_from(v).unwrap_or(0);
    match opt.name {
        SockOptName::TcpNoDelay => so::set_tcp_nodelay(fd, int != 0)?,
        SockOptName::KeepAlive => so::set_socket_keepalive(fd, int != 0)?,
        SockOptName::TcpKeepIdle => so::set_tcp_keepidle(fd, secs(int))?,
        SockOptName::TcpKeepIntvl => so::set_tcp_keepintvl(fd, secs(int))?,
        SockOptName::TcpKeepCnt => so::set_tcp_keepcnt(fd, u32::try_from(int).unwrap_or(1))?,
        SockOptName::Broadcast => so::set_socket_broadcast(fd, int != 0)?,
        SockOptName::SndBuf => so::set_socket_send_buffer_size(fd, size(int))?,
        SockOptName::RcvBuf => so::set_socket_recv_buffer_size(fd, size(int))?,
        SockOptName::Linger => {
            if let SockOptValue::Linger { onoff, seconds } = opt.value {
                so::set_socket_linger(fd, (onoff != 0).then(|| secs(seconds)))?;
            }
        }
        // Binding is the guest's business, and the host socket's family
        // is the destination's: these stay with the guest.
        SockOptName::ReuseAddr
        | SockOptName::ReusePort
        | SockOptName::Ipv6V6Only
        | SockOptName::Error => {}
    }
    Ok(())
}

/// The value getsockopt shows for an option the guest did not set
/// (Linux's defaults).
fn default_opt(name: SockOptName) -> SockOptValue {
    match name {
        SockOptName::Linger => SockOptValue::Linger {
            onoff: 0,
            seconds: 0,
        },
        SockOptName::SndBuf => SockOptValue::Int(16384),
        SockOptName::RcvBuf => SockOptValue::Int(131072),
        SockOptName::TcpKeepIdle => SockOptValue::Int(7200),
        SockOptName::TcpKeepIntvl => SockOptValue::Int(75),
        SockOptName::TcpKeepCnt => SockOptValue::Int(9),
        _ => SockOptValue::Int(0),
    }
}

impl Sock {
    fn new(family: Family, ty: SockType, limits: &Limits) -> Self {
        let window = match ty {
            SockType::Stream => limits.stream_window,
            SockType::Dgram => limits.datagram_window,
        };
        Self {
            family,
            ty,
            bound: None,
            opts: Vec::new(),
            pending_error: None,
            to_guest: SendCredit::new(),
            from_guest: RecvWindow::new(window),
            io: match ty {
                SockType::Stream => Io::Idle,
                SockType::Dgram => Io::Udp(None),
            },
        }
    }

    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.io {
            Io::Connecting { stream, .. } => Some(stream.as_fd()),
            Io::Stream(conn) => Some(conn.stream.as_fd()),
            Io::Udp(Some(udp)) => Some(udp.socket.as_fd()),
            Io::Idle | Io::Listening { .. } | Io::Udp(None) => None,
        }
    }

    fn apply_opts(&self) {
        let Some(fd) = self.host_fd() else { return };
        for opt in &self.opts {
            if let Err(err) = apply_opt(fd, opt) {
                debug!("net: option {:?} on a new host socket: {err}", opt.name);
            }
        }
    }

    /// A host error on the socket: the guest learns it as an Event and
    /// as the pending error.
    fn fail(&mut self, id: SocketId, errno: Errno, readiness: Readiness, out: &mut Vec<u8>) {
        report_error(&mut self.pending_error, id, errno, readiness, out);
    }
}

impl Conn {
    fn new(stream: TcpStream, slot: usize, guest_peer: SocketAddr) -> Self {
        Self {
            stream,
            slot,
            guest_peer,
            pending: Vec::new(),
            // Bytes may have arrived with the handshake: edge-triggered
            // readiness will not say so again.
            may_read: true,
            read_done: false,
            write: WriteSide::Open,
            broken: false,
        }
    }

    /// Writes pending bytes until the host socket stops taking them;
    /// returns how many it took, or the error that broke the stream.
    fn flush(&mut self) -> io::Result<usize> {
        let mut written = 0;
        while !self.pending.is_empty() {
            match self.stream.write(&self.pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.pending.drain(..n);
                    written += n;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        if self.pending.is_empty() && self.write == WriteSide::ShutAfterPending {
            self.write = WriteSide::Shut;
            self.stream.shutdown(std::net::Shutdown::Write)?;
        }
        Ok(written)
    }
}

/// A host error on socket `id`: the guest learns it as an Event and as
/// the pending error (SO_ERROR).
fn report_error(
    pending: &mut Option<Errno>,
    id: SocketId,
    errno: Errno,
    readiness: Readiness,
    out: &mut Vec<u8>,
) {
    *pending = Some(errno);
    send(
        out,
        HostMsg::Event {
            sock: id,
            readiness,
            error: Some(errno),
        },
    );
}

/// Readiness bits of a broken connection, as Linux's tcp_poll shows a reset.
const BROKEN: Readiness = Readiness::from_bits(
    Readiness::READABLE.bits()
        | Readiness::ERROR.bits()
        | Readiness::HANGUP.bits()
        | Readiness::READ_HANGUP.bits(),
)
.expect("valid poll bits");

/// Writes the guest's pending bytes and grants the window they free.
fn flush_stream(id: SocketId, sock: &mut Sock, out: &mut Vec<u8>) {
    let Io::Stream(conn) = &mut sock.io else {
        return;
    };
    if conn.broken {
        return;
    }
    match conn.flush() {
        Ok(written) => {
            if let Some(amount) = sock.from_guest.consume(written) {
                send(out, HostMsg::Credit { sock: id, amount });
            }
        }
        Err(err) => {
            conn.broken = true;
            conn.pending.clear();
            report_error(&mut sock.pending_error, id, errno_of(&err), BROKEN, out);
        }
    }
}

/// Reads the host socket into Data messages, up to the guest's credit.
fn read_stream(id: SocketId, sock: &mut Sock, out: &mut Vec<u8>, scratch: &mut [u8]) {
    let Io::Stream(conn) = &mut sock.io else {
        return;
    };
    while conn.may_read && !conn.read_done && !conn.broken {
        let want = (sock.to_guest.available() as usize).min(scratch.len());
        if want == 0 {
            // Resumed by the guest's next Credit.
            return;
        }
        match conn.stream.read(&mut scratch[..want]) {
            Ok(0) => {
                conn.read_done = true;
                let mut readiness = Readiness::READABLE | Readiness::READ_HANGUP;
                if conn.write == WriteSide::Shut {
                    readiness = readiness | Readiness::HANGUP;
                }
                send(
                    out,
                    HostMsg::Event {
                        sock: id,
                        readiness,
                        error: None,
                    },
                );
            }
            Ok(n) => {
                let granted = sock.to_guest.take(n);
                debug_assert_eq!(granted, n, "read past the guest's credit");
                send(
                    out,
                    HostMsg::Data {
                        sock: id,
                        data: &scratch[..n],
                    },
                );
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => conn.may_read = false,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                conn.broken = true;
                conn.pending.clear();
                report_error(&mut sock.pending_error, id, errno_of(&err), BROKEN, out);
            }
        }
    }
}

/// Drains a datagram socket: each datagram from a known peer goes to the
/// guest whole if its credit allows, else it is dropped (a full buffer).
fn read_datagrams(id: SocketId, sock: &mut Sock, out: &mut Vec<u8>, scratch: &mut [u8]) {
    let Io::Udp(Some(udp)) = &mut sock.io else {
        return;
    };
    let mut errors = 0;
    loop {
        match udp.socket.recv_from(scratch) {
            Ok((len, from)) => {
                let known = udp
                    .connected
                    .iter()
                    .chain(udp.peers.iter())
                    .find(|(host, _)| same_endpoint(*host, from));
                let Some(&(_, guest_from)) = known else {
                    debug!(
                        "net: datagram from {from}, which socket {} never sent to: dropped",
                        id.0
                    );
                    continue;
                };
                if !sock.to_guest.take_exact(len) {
                    debug!("net: datagram of {len} bytes past the guest's credit: dropped");
                    continue;
                }
                send(
                    out,
                    HostMsg::Datagram {
                        sock: id,
                        from: guest_from,
                        data: &scratch[..len],
                    },
                );
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // An ICMP error on a connected socket (ECONNREFUSED): the
            // next call learns it, as on Linux. Each is reported once, so
            // a few in a row end the loop only if something else is wrong.
            Err(err) => {
                errors += 1;
                let errno = errno_of(&err);
                report_error(&mut sock.pending_error, id, errno, Readiness::ERROR, out);
                if errors == MAX_DATAGRAM_ERRORS {
                    warn!("net: datagram socket keeps failing: {err}");
                    return;
                }
            }
        }
    }
}

impl Proxy {
    /// A proxy for one VM under `policy`; its sources use `tokens`. Its
    /// Hello is the first output. Call [`Self::publish`] before the VM
    /// boots.
    pub fn new(policy: Policy, limits: Limits, tokens: TokenRange) -> Self {
        let mut out = Vec::new();
        Hello::new(Channel::Net).encode(&mut out);
        Self {
            decoder: FrameDecoder::new(),
            hello_done: false,
            failed: None,
            inner: Inner {
                policy,
                limits,
                tokens,
                out,
                socks: HashMap::new(),
                slots: Slots::new(tokens.count),
                published: Vec::new(),
                listeners: HashMap::new(),
                orphans: HashMap::new(),
                next_host_id: 0,
                scratch: vec![0; MAX_DATA],
            },
        }
    }

    /// Listens on the published ports (`-p`) and registers them. A port
    /// the host cannot take is a [`PublishError`], one line for the user;
    /// nothing is left listening then. Without a host IP a port listens
    /// on 0.0.0.0 and, where the host has IPv6, on `::`.
    pub fn publish(&mut self, registry: &Registry) -> Result<(), PublishError> {
        let inner = &mut self.inner;
        let specs = inner.policy.published().to_vec();
        let mut bound = Vec::new();
        let result = (|| {
            for p in &specs {
                let addrs = match p.host_ip {
                    Some(ip) => vec![SocketAddr::new(ip, p.host_port)],
                    None => vec![
                        SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), p.host_port),
                        SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), p.host_port),
                    ],
                };
                for addr in addrs {
                    let listener = match listen_published(addr) {
                        Ok(listener) => listener,
                        Err(err)
                            if p.host_ip.is_none() && addr.is_ipv6() && ipv6_unavailable(&err) =>
                        {
                            debug!("net: -p {}: no IPv6 on this host: {err}", publish_spec(p));
                            continue;
                        }
                        Err(err) => return Err(PublishError::new(p, addr, &err)),
                    };
                    bound.push((listener, p.guest_port, addr, p));
                }
            }
            Ok(())
        })();
        result?;
        for (mut listener, guest_port, addr, p) in bound {
            let index = inner.published.len();
            let too_many = || {
                let err = io::Error::other("too many sockets for the event loop's tokens");
                PublishError::new(p, addr, &err)
            };
            let slot = inner
                .slots
                .alloc(Source::Published(index))
                .ok_or_else(too_many)?;
            let token = Token(inner.tokens.first + slot);
            registry
                .register(&mut listener, token, Interest::READABLE)
                .map_err(|err| PublishError::new(p, addr, &err))?;
            info!(
                "net: -p {}: listening on {}",
                publish_spec(p),
                listener.local_addr().unwrap_or(addr)
            );
            inner.published.push(Published {
                listener,
                guest_port,
                pending: false,
            });
        }
        Ok(())
    }

    /// The host addresses the published ports listen on.
    #[cfg(test)]
    pub fn published_addrs(&self) -> Vec<SocketAddr> {
        self.inner
            .published
            .iter()
            .filter_map(|p| p.listener.local_addr().ok())
            .collect()
    }

    fn consume(&mut self, registry: &Registry, mut bytes: &[u8]) -> Result<(), ServiceError> {
        while !bytes.is_empty() {
            let (used, frame) = self.decoder.feed(bytes);
            bytes = &bytes[used..];
            let Some(frame) = frame.map_err(protocol)? else {
                continue;
            };
            if !self.hello_done {
                let peer = Hello::decode(frame).map_err(protocol)?;
                let version = Hello::new(Channel::Net).agree(&peer).map_err(protocol)?;
                debug!("net: channel speaks version {version}");
                self.hello_done = true;
                continue;
            }
            let msg = GuestMsg::decode(frame).map_err(protocol)?;
            self.inner.handle(registry, msg)?;
        }
        Ok(())
    }
}

impl ChannelService for Proxy {
    fn from_guest(&mut self, registry: &Registry, bytes: &[u8]) -> Result<(), ServiceError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.consume(registry, bytes);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn output(&mut self) -> &mut Vec<u8> {
        &mut self.inner.out
    }

    fn ready(&mut self, registry: &Registry, event: &mio::event::Event) {
        if self.failed.is_some() {
            return;
        }
        let inner = &mut self.inner;
        let Some(slot) = event.token().0.checked_sub(inner.tokens.first) else {
            return;
        };
        match inner.slots.get(slot) {
            Some(Source::Sock(id)) => inner.sock_ready(registry, id),
            Some(Source::Published(index)) => {
                if let Some(p) = inner.published.get_mut(index) {
                    p.pending = true;
                }
                inner.accept_published(registry);
            }
            Some(Source::Orphan) => inner.orphan_ready(registry, slot),
            // A source closed earlier in this batch of events.
            None => {}
        }
    }

    fn shutdown(&mut self, registry: &Registry) {
        let inner = &mut self.inner;
        for (_, mut sock) in inner.socks.drain() {
            match &mut sock.io {
                Io::Connecting { stream, .. } => drop(registry.deregister(stream)),
                Io::Stream(conn) => drop(registry.deregister(&mut conn.stream)),
                Io::Udp(Some(udp)) => drop(registry.deregister(&mut udp.socket)),
                Io::Idle | Io::Listening { .. } | Io::Udp(None) => {}
            }
        }
        for (_, mut conn) in inner.orphans.drain() {
            drop(registry.deregister(&mut conn.stream));
        }
        for mut p in inner.published.drain(..) {
            drop(registry.deregister(&mut p.listener));
        }
        inner.listeners.clear();
        inner.slots = Slots::new(inner.tokens.count);
        self.failed
            .get_or_insert_with(|| protocol("the channel has closed"));
    }
}

impl Inner {
    fn token(&self, slot: usize) -> Token {
        Token(self.tokens.first + slot)
    }

    fn open_sockets(&self) -> usize {
        self.socks.len() + self.orphans.len()
    }

    fn handle(&mut self, registry: &Registry, msg: GuestMsg<'_>) -> Result<(), ServiceError> {
        match msg {
            GuestMsg::Socket {
                tag,
                sock,
                family,
                ty,
                flags: _,
            } => {
                if self.socks.contains_key(&sock) {
                    return Err(protocol(format!("socket {:#x} is already open", sock.0)));
                }
                if self.open_sockets() >= self.limits.max_sockets {
                    info!(
                        "net: the guest has {} sockets open, the limit: EMFILE",
                        self.open_sockets()
                    );
                    reply(&mut self.out, tag, Err(Errno::EMFILE));
                    return Ok(());
                }
                let mut new = Sock::new(family, ty, &self.limits);
                reply(&mut self.out, tag, Ok(ReplyValue::Done));
                if ty == SockType::Dgram {
                    let amount = new.from_guest.open();
                    send(&mut self.out, HostMsg::Credit { sock, amount });
                }
                self.socks.insert(sock, new);
            }
            GuestMsg::Connect { tag, sock, addr } => self.connect(registry, tag, sock, addr)?,
            GuestMsg::Bind { tag, sock, addr } => {
                let s = sock_of(&mut self.socks, sock)?;
                let result = if Family::of(&addr) != s.family {
                    Err(Errno::EAFNOSUPPORT)
                } else if s.bound.is_some() || !matches!(s.io, Io::Idle | Io::Udp(None)) {
                    Err(Errno::EINVAL)
                } else {
                    s.bound = Some(addr);
                    Ok(ReplyValue::Done)
                };
                reply(&mut self.out, tag, result);
            }
            GuestMsg::Listen {
                tag,
                sock,
                backlog: _,
            } => {
                let result = self.listen(sock)?;
                reply(&mut self.out, tag, result);
                self.accept_published(registry);
            }
            GuestMsg::Shutdown { tag, sock, how } => {
                let result = self.shutdown_sock(sock, how)?;
                reply(&mut self.out, tag, result);
            }
            GuestMsg::Close { tag, sock } => {
                self.close(registry, sock)?;
                reply(&mut self.out, tag, Ok(ReplyValue::Done));
                // A slot and a socket are free: waiting connections may go.
                self.accept_published(registry);
            }
            GuestMsg::GetSockName { tag, sock } => {
                let s = sock_of(&mut self.socks, sock)?;
                let local_port = match &s.io {
                    Io::Stream(conn) => conn.stream.local_addr().ok().map(|a| a.port()),
                    Io::Udp(Some(udp)) => udp.socket.local_addr().ok().map(|a| a.port()),
                    _ => None,
                };
                let addr = match (s.bound, &s.io, local_port) {
                    (Some(bound), _, _) if bound.port() != 0 || local_port.is_none() => bound,
                    (bound, Io::Stream(_), Some(port)) => guest_local(bound, port, s.family),
                    (bound, Io::Udp(Some(udp)), Some(port)) if udp.connected.is_some() => {
                        guest_local(bound, port, s.family)
                    }
                    (_, _, port) => {
                        let mut addr = unspecified(s.family);
                        addr.set_port(port.unwrap_or(0));
                        addr
                    }
                };
                reply(&mut self.out, tag, Ok(ReplyValue::Addr(addr)));
            }
            GuestMsg::GetPeerName { tag, sock } => {
                let s = sock_of(&mut self.socks, sock)?;
                let result = match &s.io {
                    Io::Stream(conn) => Ok(ReplyValue::Addr(conn.guest_peer)),
                    Io::Udp(Some(udp)) => match udp.connected {
                        Some((_, guest)) => Ok(ReplyValue::Addr(guest)),
                        None => Err(Errno::ENOTCONN),
                    },
                    _ => Err(Errno::ENOTCONN),
                };
                reply(&mut self.out, tag, result);
            }
            GuestMsg::SetSockOpt { tag, sock, opt } => {
                let result = self.set_opt(sock, opt)?;
                reply(&mut self.out, tag, result);
            }
            GuestMsg::GetSockOpt { tag, sock, name } => {
                let result = self.get_opt(sock, name)?;
                reply(&mut self.out, tag, result);
            }
            GuestMsg::Data { sock, data } => {
                let s = sock_of(&mut self.socks, sock)?;
                if s.ty != SockType::Stream {
                    return Err(protocol(format!("Data on datagram socket {:#x}", sock.0)));
                }
                s.from_guest
                    .receive(data.len())
                    .map_err(|err| protocol(format!("socket {:#x}: {err}", sock.0)))?;
                if let Io::Stream(conn) = &mut s.io {
                    if !conn.broken && conn.write == WriteSide::Open {
                        conn.pending.extend_from_slice(data);
                        flush_stream(sock, s, &mut self.out);
                    }
                }
                // Otherwise the guest was told (an error, or its own
                // shutdown): the bytes are dropped and their credit spent.
            }
            GuestMsg::Datagram { sock, to, data } => {
                self.datagram(registry, sock, to, data)?;
            }
            GuestMsg::Credit { sock, amount } => {
                let s = sock_of(&mut self.socks, sock)?;
                s.to_guest
                    .grant(amount)
                    .map_err(|err| protocol(format!("socket {:#x}: {err}", sock.0)))?;
                match s.io {
                    Io::Stream(_) => read_stream(sock, s, &mut self.out, &mut self.scratch),
                    Io::Listening { .. } => self.accept_published(registry),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn connect(
        &mut self,
        registry: &Registry,
        tag: Tag,
        id: SocketId,
        addr: SocketAddr,
    ) -> Result<(), ServiceError> {
        let route = self.policy.route(addr);
        let s = sock_of(&mut self.socks, id)?;
        let early = if Family::of(&addr) != s.family {
            Some(Errno::EAFNOSUPPORT)
        } else {
            match (&s.io, s.ty) {
                (Io::Idle | Io::Udp(_), _) => None,
                (Io::Connecting { .. }, _) => Some(Errno::EALREADY),
                (Io::Stream(_) | Io::Listening { .. }, _) => Some(Errno::EISCONN),
            }
        };
        if let Some(errno) = early {
            reply(&mut self.out, tag, Err(errno));
            return Ok(());
        }
        let host_dest = match route {
            Ok(dest) => dest,
            Err(denial) => {
                info!("net: connect: {denial}");
                reply(&mut self.out, tag, Err(denial.errno()));
                return Ok(());
            }
        };
        let ty = s.ty;
        match ty {
            SockType::Stream => {
                let Some(slot) = self.slots.alloc(Source::Sock(id)) else {
                    reply(&mut self.out, tag, Err(Errno::ENOBUFS));
                    return Ok(());
                };
                let token = self.token(slot);
                let opened = TcpStream::connect(host_dest).and_then(|mut stream| {
                    registry
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .map(|()| stream)
                });
                match opened {
                    Ok(stream) => {
                        debug!("net: connecting to {host_dest} for {addr}");
                        let s = self.socks.get_mut(&id).expect("looked up above");
                        s.io = Io::Connecting {
                            tag,
                            stream,
                            slot,
                            guest_peer: addr,
                        };
                        s.apply_opts();
                    }
                    Err(err) => {
                        self.slots.release(slot);
                        info!("net: connect to {host_dest}: {err}");
                        reply(&mut self.out, tag, Err(errno_of(&err)));
                    }
                }
            }
            SockType::Dgram => {
                let result = self.open_udp(registry, id).and_then(|udp| {
                    udp.socket.connect(host_dest)?;
                    udp.connected = Some((host_dest, addr));
                    Ok(ReplyValue::Done)
                });
                let result = result.map_err(|err| errno_of(&err));
                reply(&mut self.out, tag, result);
            }
        }
        Ok(())
    }

    /// The host socket of a datagram socket, opened on first use: IPv6
    /// (dual-stack, so it reaches IPv4 too) where the host has it.
    fn open_udp(&mut self, registry: &Registry, id: SocketId) -> io::Result<&mut Udp> {
        let needs_socket = matches!(
            self.socks.get(&id),
            Some(Sock {
                io: Io::Udp(None),
                ..
            })
        );
        if needs_socket {
            let slot = self
                .slots
                .alloc(Source::Sock(id))
                .ok_or_else(|| io::Error::from_raw_os_error(Errno::ENOBUFS.as_i32()))?;
            let opened = UdpSocket::bind(unspecified(Family::Inet6))
                .or_else(|_| UdpSocket::bind(unspecified(Family::Inet)))
                .and_then(|mut socket| {
                    registry
                        .register(&mut socket, self.token(slot), Interest::READABLE)
                        .map(|()| socket)
                });
            let socket = match opened {
                Ok(socket) => socket,
                Err(err) => {
                    self.slots.release(slot);
                    return Err(err);
                }
            };
            let s = self.socks.get_mut(&id).expect("checked above");
            s.io = Io::Udp(Some(Box::new(Udp {
                socket,
                slot,
                connected: None,
                peers: VecDeque::new(),
            })));
            s.apply_opts();
        }
        match self.socks.get_mut(&id).map(|s| &mut s.io) {
            Some(Io::Udp(Some(udp))) => Ok(udp),
            _ => Err(io::Error::from_raw_os_error(Errno::EOPNOTSUPP.as_i32())),
        }
    }

    fn datagram(
        &mut self,
        registry: &Registry,
        id: SocketId,
        to: Option<SocketAddr>,
        data: &[u8],
    ) -> Result<(), ServiceError> {
        let s = sock_of(&mut self.socks, id)?;
        if s.ty != SockType::Dgram {
            return Err(protocol(format!("Datagram on stream socket {:#x}", id.0)));
        }
        s.from_guest
            .receive(data.len())
            .map_err(|err| protocol(format!("socket {:#x}: {err}", id.0)))?;
        // A datagram is sent or dropped now, never held: its credit
        // comes back at once.
        if let Some(amount) = s.from_guest.consume(data.len()) {
            send(&mut self.out, HostMsg::Credit { sock: id, amount });
        }
        let family = s.family;
        let connected = match &s.io {
            Io::Udp(Some(udp)) => udp.connected,
            _ => None,
        };
        let dest = match to {
            Some(to) if Family::of(&to) != family => Err(Errno::EAFNOSUPPORT),
            Some(to) => match self.policy.route(to) {
                Ok(host) => Ok((host, to)),
                Err(denial) => {
                    info!("net: datagram: {denial}");
                    Err(denial.errno())
                }
            },
            None => connected.ok_or(Errno::EDESTADDRREQ),
        };
        let sent = dest.and_then(|(host, guest)| {
            let udp = self.open_udp(registry, id).map_err(|err| errno_of(&err))?;
            // A dual-stack socket names IPv4 destinations IPv4-mapped.
            let target = match (udp.socket.local_addr(), host) {
                (Ok(SocketAddr::V6(_)), SocketAddr::V4(v4)) => {
                    SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
                }
                _ => host,
            };
            match udp.socket.send_to(data, target) {
                Ok(_) => {}
                // The host's buffer is full: dropped, as a datagram may be.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    debug!("net: host socket buffer full: datagram to {host} dropped");
                }
                Err(err) => return Err(errno_of(&err)),
            }
            if to.is_some() {
                udp.peers.retain(|(h, _)| !same_endpoint(*h, target));
                if udp.peers.len() == MAX_DATAGRAM_PEERS {
                    udp.peers.pop_front();
                }
                udp.peers.push_back((target, guest));
            }
            Ok(())
        });
        if let Err(errno) = sent {
            let s = self.socks.get_mut(&id).expect("looked up above");
            s.fail(id, errno, Readiness::ERROR, &mut self.out);
        }
        Ok(())
    }

    fn listen(&mut self, id: SocketId) -> Result<Result<ReplyValue, Errno>, ServiceError> {
        let s = sock_of(&mut self.socks, id)?;
        if s.ty != SockType::Stream {
            return Ok(Err(Errno::EOPNOTSUPP));
        }
        match s.io {
            Io::Listening { .. } => return Ok(Ok(ReplyValue::Done)),
            Io::Idle => {}
            _ => return Ok(Err(Errno::EINVAL)),
        }
        let port = s.bound.map(|a| a.port()).filter(|&p| p != 0);
        let published = port.filter(|p| self.published.iter().any(|q| q.guest_port == *p));
        if let Some(port) = published {
            match self.listeners.get(&port) {
                Some(other) if *other != id => return Ok(Err(Errno::EADDRINUSE)),
                _ => {
                    self.listeners.insert(port, id);
                }
            }
        }
        let s = sock_of(&mut self.socks, id)?;
        s.io = Io::Listening { port: published };
        // Credit now counts connections; the guest grants its backlog.
        s.to_guest = SendCredit::new();
        Ok(Ok(ReplyValue::Done))
    }

    fn shutdown_sock(
        &mut self,
        id: SocketId,
        how: Shutdown,
    ) -> Result<Result<ReplyValue, Errno>, ServiceError> {
        let s = sock_of(&mut self.socks, id)?;
        let result = match &mut s.io {
            Io::Stream(conn) => {
                if matches!(how, Shutdown::Read | Shutdown::Both) && !conn.read_done {
                    conn.read_done = true;
                    if let Err(err) = conn.stream.shutdown(std::net::Shutdown::Read) {
                        debug!("net: shutdown(SHUT_RD): {err}");
                    }
                }
                if matches!(how, Shutdown::Write | Shutdown::Both) && conn.write == WriteSide::Open
                {
                    conn.write = WriteSide::ShutAfterPending;
                }
                flush_stream(id, s, &mut self.out);
                Ok(ReplyValue::Done)
            }
            Io::Listening { .. } => Ok(ReplyValue::Done),
            Io::Udp(Some(udp)) if udp.connected.is_some() => Ok(ReplyValue::Done),
            _ => Err(Errno::ENOTCONN),
        };
        Ok(result)
    }

    fn close(&mut self, registry: &Registry, id: SocketId) -> Result<(), ServiceError> {
        let s = self
            .socks
            .remove(&id)
            .ok_or_else(|| protocol(format!("unknown socket {:#x}", id.0)))?;
        match s.io {
            Io::Connecting {
                tag,
                mut stream,
                slot,
                ..
            } => {
                drop(registry.deregister(&mut stream));
                self.slots.release(slot);
                reply(&mut self.out, tag, Err(Errno::ECONNABORTED));
            }
            Io::Stream(mut conn) => {
                if !conn.broken
                    && (!conn.pending.is_empty() || conn.write == WriteSide::ShutAfterPending)
                {
                    // The guest's last bytes still go out, as after close(2).
                    if conn.write == WriteSide::Open {
                        conn.write = WriteSide::ShutAfterPending;
                    }
                    self.slots.set(conn.slot, Source::Orphan);
                    self.orphans.insert(conn.slot, *conn);
                } else {
                    drop(registry.deregister(&mut conn.stream));
                    self.slots.release(conn.slot);
                }
            }
            Io::Listening { port } => {
                if let Some(port) = port {
                    if self.listeners.get(&port) == Some(&id) {
                        self.listeners.remove(&port);
                    }
                }
            }
            Io::Udp(Some(mut udp)) => {
                drop(registry.deregister(&mut udp.socket));
                self.slots.release(udp.slot);
            }
            Io::Idle | Io::Udp(None) => {}
        }
        Ok(())
    }

    fn set_opt(
        &mut self,
        id: SocketId,
        opt: SockOpt,
    ) -> Result<Result<ReplyValue, Errno>, ServiceError> {
        let s = sock_of(&mut self.socks, id)?;
        let int = match opt.value {
            SockOptValue::Int(v) => v,
            SockOptValue::Linger { .. } => 0,
        };
        let tcp_only = matches!(
            opt.name,
            SockOptName::TcpNoDelay
                | SockOptName::TcpKeepIdle
                | SockOptName::TcpKeepIntvl
                | SockOptName::TcpKeepCnt
        );
        let invalid = match opt.name {
            SockOptName::TcpKeepIdle => !(1..=MAX_TCP_KEEPIDLE).contains(&int),
            SockOptName::TcpKeepIntvl => !(1..=MAX_TCP_KEEPINTVL).contains(&int),
            SockOptName::TcpKeepCnt => !(1..=MAX_TCP_KEEPCNT).contains(&int),
            SockOptName::Ipv6V6Only => s.family != Family::Inet6,
            _ => false,
        };
        if opt.name == SockOptName::Error || (tcp_only && s.ty != SockType::Stream) {
            return Ok(Err(Errno::ENOPROTOOPT));
        }
        if invalid {
            return Ok(Err(Errno::EINVAL));
        }
        if let Some(fd) = s.host_fd() {
            if let Err(err) = apply_opt(fd, &opt) {
                return Ok(Err(errno_of(&err)));
            }
        }
        s.opts.retain(|o| o.name != opt.name);
        s.opts.push(opt);
        Ok(Ok(ReplyValue::Done))
    }

    fn get_opt(
        &mut self,
        id: SocketId,
        name: SockOptName,
    ) -> Result<Result<ReplyValue, Errno>, ServiceError> {
        let s = sock_of(&mut self.socks, id)?;
        let value = match name {
            SockOptName::Error => {
                let host_error = match s.host_fd() {
                    Some(fd) => rustix::net::sockopt::socket_error(fd)
                        .ok()
                        .and_then(|r| r.err())
                        .and_then(|e| Errno::from_raw(e.raw_os_error())),
                    None => None,
                };
                let errno = s.pending_error.take().or(host_error);
                SockOptValue::Int(errno.map_or(0, Errno::as_i32))
            }
            SockOptName::TcpNoDelay
            | SockOptName::TcpKeepIdle
            | SockOptName::TcpKeepIntvl
            | SockOptName::TcpKeepCnt
                if s.ty != SockType::Stream =>
            {
                return Ok(Err(Errno::ENOPROTOOPT));
            }
            _ => s
                .opts
                .iter()
                .find(|o| o.name == name)
                .map_or_else(|| default_opt(name), |o| o.value),
        };
        Ok(Ok(ReplyValue::Opt(SockOpt { name, value })))
    }

    fn sock_ready(&mut self, registry: &Registry, id: SocketId) {
        let Some(s) = self.socks.get_mut(&id) else {
            return;
        };
        match &mut s.io {
            Io::Connecting { .. } => self.finish_connect(registry, id),
            Io::Stream(conn) => {
                conn.may_read = true;
                flush_stream(id, s, &mut self.out);
                read_stream(id, s, &mut self.out, &mut self.scratch);
            }
            Io::Udp(Some(_)) => read_datagrams(id, s, &mut self.out, &mut self.scratch),
            Io::Idle | Io::Listening { .. } | Io::Udp(None) => {}
        }
    }

    /// The host's connect may have completed (mio: writable, then
    /// `take_error` and `peer_addr`).
    fn finish_connect(&mut self, registry: &Registry, id: SocketId) {
        let Some(s) = self.socks.get_mut(&id) else {
            return;
        };
        let Io::Connecting { stream, .. } = &mut s.io else {
            return;
        };
        let outcome = match stream.take_error() {
            Ok(Some(err)) | Err(err) => Err(err),
            Ok(None) => match stream.peer_addr() {
                Ok(_) => Ok(()),
                Err(err)
                    if err.kind() == io::ErrorKind::NotConnected
                        || err.raw_os_error() == Some(Errno::EINPROGRESS.as_i32()) =>
                {
                    // Not yet: a later event finishes it.
                    return;
                }
                Err(err) => Err(err),
            },
        };
        let Io::Connecting {
            tag,
            mut stream,
            slot,
            guest_peer,
        } = std::mem::replace(&mut s.io, Io::Idle)
        else {
            return;
        };
        match outcome {
            Ok(()) => {
                debug!("net: connected to {guest_peer}");
                s.io = Io::Stream(Box::new(Conn::new(stream, slot, guest_peer)));
                reply(&mut self.out, tag, Ok(ReplyValue::Done));
                let amount = s.from_guest.open();
                send(&mut self.out, HostMsg::Credit { sock: id, amount });
                read_stream(id, s, &mut self.out, &mut self.scratch);
            }
            Err(err) => {
                info!("net: connect to {guest_peer}: {err}");
                drop(registry.deregister(&mut stream));
                self.slots.release(slot);
                reply(&mut self.out, tag, Err(errno_of(&err)));
            }
        }
    }

    fn orphan_ready(&mut self, registry: &Registry, slot: usize) {
        let Some(conn) = self.orphans.get_mut(&slot) else {
            return;
        };
        let done = match conn.flush() {
            Ok(_) => conn.pending.is_empty(),
            Err(err) => {
                debug!("net: closed socket's last bytes: {err}");
                true
            }
        };
        if done {
            if let Some(mut conn) = self.orphans.remove(&slot) {
                drop(registry.deregister(&mut conn.stream));
            }
            self.slots.release(slot);
            // A socket fewer: published connections waiting for a slot
            // may come in now.
            self.accept_published(registry);
        }
    }

    /// The next host-assigned id not in use.
    fn host_id(&mut self) -> SocketId {
        loop {
            let id = SocketId(SocketId::HOST_ASSIGNED | self.next_host_id);
            self.next_host_id = (self.next_host_id + 1) & !SocketId::HOST_ASSIGNED;
            if !self.socks.contains_key(&id) {
                return id;
            }
        }
    }

    /// Hands connections waiting on published ports to the guest
    /// listeners, within their credit and the socket limit.
    fn accept_published(&mut self, registry: &Registry) {
        for index in 0..self.published.len() {
            let (pending, guest_port) = {
                let p = &self.published[index];
                (p.pending, p.guest_port)
            };
            if !pending {
                continue;
            }
            let Some(&listener_id) = self.listeners.get(&guest_port) else {
                continue;
            };
            while let Some(listener) = self.socks.get(&listener_id) {
                if listener.to_guest.available() == 0
                    || self.open_sockets() >= self.limits.max_sockets
                {
                    break;
                }
                let (family, bound) = (listener.family, listener.bound);
                let id = self.host_id();
                let Some(slot) = self.slots.alloc(Source::Sock(id)) else {
                    break;
                };
                let accepted = self.published[index].listener.accept();
                let (mut stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        self.slots.release(slot);
                        match err.kind() {
                            io::ErrorKind::WouldBlock => self.published[index].pending = false,
                            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => {
                                continue
                            }
                            _ => warn!("net: accept on a published port: {err}"),
                        }
                        break;
                    }
                };
                let token = self.token(slot);
                if let Err(err) =
                    registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                {
                    warn!("net: accepted connection from {peer}: {err}");
                    self.slots.release(slot);
                    continue;
                }
                let guest_peer = guest_visible_peer(peer, family);
                let local = guest_local(bound, guest_port, family);
                info!("net: connection from {peer} to guest port {guest_port}");
                let listener = self.socks.get_mut(&listener_id).expect("looked up above");
                listener.to_guest.take(1);
                let mut sock = Sock::new(family, SockType::Stream, &self.limits);
                sock.bound = Some(local);
                sock.io = Io::Stream(Box::new(Conn::new(stream, slot, guest_peer)));
                send(
                    &mut self.out,
                    HostMsg::Accepted {
                        listener: listener_id,
                        sock: id,
                        local,
                        peer: guest_peer,
                    },
                );
                let amount = sock.from_guest.open();
                send(&mut self.out, HostMsg::Credit { sock: id, amount });
                self.socks.insert(id, sock);
            }
        }
    }
}

#[cfg(test)]
mod tests;
