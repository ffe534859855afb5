//! Sockets: one open-file object, [`Socket`], over a [`Transport`] that
//! carries its bytes.
//!
//! Everything here lives inside the guest today: AF_UNIX streams and
//! datagrams (`unix` names them: paths, abstract names, socketpair), and
//! the guest's own loopback (127.0.0.0/8 and ::1, `inet` gives out the
//! ports) for AF_INET and AF_INET6 streams and datagrams. Streams of both
//! families are one mechanism (`stream`: a connection of two bounded
//! rings in guest frames, a listener's accept queue), datagrams another
//! (`dgram`: a bounded queue of messages per socket).
//!
//! The host proxy slots in as another [`Transport`]: an AF_INET or
//! AF_INET6 socket is local until it is bound or connected; where that
//! address is not the guest's loopback, a forwarding transport will take
//! the socket over. Until then such a connect or send answers ENETUNREACH
//! (what `--net none` will give), so nothing pretends to work.
//!
//! Blocking follows the kernel's one way (`crate::task::wait`): a
//! transport that cannot go on answers EAGAIN, and the system call waits
//! on the socket's own queue when the socket is blocking. Every object a
//! socket waits for (a peer's ring, a listener with a full backlog, a full
//! datagram queue) wakes that queue when it changes, so nothing registers
//! a task anywhere else.

pub mod dgram;
pub mod forward;
pub mod inet;
pub mod routed;
pub mod stream;
pub mod unix;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::socket::*;
use lamina_abi::types::Stat;
use spin::Mutex;

use crate::fs::file::FileObject;
use crate::fs::vfs::ProcessView;
use crate::task::wait::WaitQueue;

/// The device number `fstat` reports for a socket (Linux's sockfs).
const SOCKFS_DEV: u64 = 0x8;
const SOCKET_MODE: u32 = S_IFSOCK | 0o777;
/// `net.core.wmem_max` and `rmem_max`: the most `SO_SNDBUF`/`SO_RCVBUF`
/// take (then doubled, as Linux does for its bookkeeping).
const BUF_MAX: u32 = 212_992;
/// The least `SO_SNDBUF` and `SO_RCVBUF` give (Linux's
/// `SOCK_MIN_SNDBUF`/`SOCK_MIN_RCVBUF` on x86_64).
const SNDBUF_MIN: u32 = 4608;
const RCVBUF_MIN: u32 = 2304;
/// Linux's defaults: a TCP socket starts at `tcp_wmem[1]`/`tcp_rmem[1]`,
/// others at `wmem_default`/`rmem_default`.
const TCP_SNDBUF_DEFAULT: u32 = 16_384;
const TCP_RCVBUF_DEFAULT: u32 = 131_072;

/// Kernel heap kept free for everything else: a new socket, connection or
/// queued datagram below it is ENOBUFS (as Linux's allocation failures),
/// so no workload can exhaust the 4 MiB heap with sockets.
const HEAP_RESERVE: usize = 384 * 1024;

/// ENOBUFS when the kernel heap is down to its reserve.
pub fn check_heap() -> Result<(), Errno> {
    if crate::mm::heap::free_bytes() < HEAP_RESERVE {
        Err(Errno::ENOBUFS)
    } else {
        Ok(())
    }
}

/// Adds `queue` (once) to the queues an object wakes when it has room;
/// queues of sockets that have closed go first, so the list holds live
/// sockets only.
fn remember_waiter(waiting: &mut alloc::vec::Vec<Weak<WaitQueue>>, queue: &Arc<WaitQueue>) {
    waiting.retain(|w| w.strong_count() > 0);
    if !waiting.iter().any(|w| w.as_ptr() == Arc::as_ptr(queue)) {
        waiting.push(Arc::downgrade(queue));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Unix,
    Inet,
    Inet6,
}

impl Domain {
    pub fn from_family(family: u64) -> Option<Self> {
        match u16::try_from(family).ok()? {
            AF_UNIX => Some(Self::Unix),
            AF_INET => Some(Self::Inet),
            AF_INET6 => Some(Self::Inet6),
            _ => None,
        }
    }

    pub fn family(self) -> u16 {
        match self {
            Self::Unix => AF_UNIX,
            Self::Inet => AF_INET,
            Self::Inet6 => AF_INET6,
        }
    }

    /// The address of a socket of this family with no name yet.
    pub fn unbound(self) -> SockAddr {
        match self {
            Self::Unix => SockAddr::Unix(UnixAddr::Unnamed),
            Self::Inet => SockAddr::Inet(InetAddr {
                ip: Ip::V4_ANY,
                port: 0,
            }),
            Self::Inet6 => SockAddr::Inet6(InetAddr {
                ip: Ip::V6_ANY,
                port: 0,
            }),
        }
    }

    /// `addr` as a socket of this family shows it (an AF_INET6 socket
    /// shows an IPv4 peer v4-mapped).
    pub fn inet_addr(self, addr: InetAddr) -> SockAddr {
        match self {
            Self::Inet6 => SockAddr::Inet6(addr),
            _ => SockAddr::Inet(addr),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Dgram,
    /// AF_UNIX `SOCK_SEQPACKET`: a connection that keeps record
    /// boundaries (a stream socket whose sends are records).
    Seqpacket,
}

impl Kind {
    pub fn sock_type(self) -> u32 {
        match self {
            Self::Stream => SOCK_STREAM,
            Self::Dgram => SOCK_DGRAM,
            Self::Seqpacket => SOCK_SEQPACKET,
        }
    }
}

/// What a bound name leads to: a listener (stream), a datagram socket's
/// queue, or nothing yet (bound, not listening).
#[derive(Clone, Default)]
pub enum Endpoint {
    #[default]
    None,
    Listener(Weak<stream::Listener>),
    Inbox(Weak<dgram::Inbox>),
}

/// A socket's hold on its name; dropping it frees the name.
pub enum Lease {
    Unix(unix::Lease),
    Inet(inet::Lease),
}

/// A bound name: the address `getsockname` shows and the lease behind it.
pub struct Name {
    pub addr: SockAddr,
    lease: Lease,
}

impl Name {
    pub fn set_endpoint(&self, endpoint: Endpoint) {
        match &self.lease {
            Lease::Unix(lease) => lease.set_endpoint(endpoint),
            Lease::Inet(lease) => lease.set_endpoint(endpoint),
        }
    }

    /// For an inet name: the lease (to listen on it).
    pub fn inet(&self) -> Option<&inet::Lease> {
        match &self.lease {
            Lease::Inet(lease) => Some(lease),
            Lease::Unix(_) => None,
        }
    }
}

/// Binds `addr` for a socket of `domain` and `kind`: an AF_UNIX name
/// (`unix`) or a loopback port (`inet`).
pub fn bind_name(
    domain: Domain,
    kind: Kind,
    addr: &SockAddr,
    options: &AddrOptions,
    cx: &dyn ProcessView,
) -> Result<Name, Errno> {
    match (domain, addr) {
        (Domain::Unix, SockAddr::Unix(unix_addr)) => {
            let (lease, addr) = unix::bind(unix_addr, kind, cx)?;
            Ok(Name {
                addr: SockAddr::Unix(addr),
                lease: Lease::Unix(lease),
            })
        }
        (Domain::Inet, SockAddr::Inet(a)) | (Domain::Inet6, SockAddr::Inet6(a)) => {
            let lease = inet::bind(kind, domain, *a, options)?;
            Ok(Name {
                addr: domain.inet_addr(InetAddr {
                    ip: a.ip,
                    port: lease.port(),
                }),
                lease: Lease::Inet(lease),
            })
        }
        (Domain::Inet | Domain::Inet6, _) => Err(Errno::EAFNOSUPPORT),
        _ => Err(Errno::EINVAL),
    }
}

/// The caller's credentials (`SO_PEERCRED`): its effective ids.
pub fn cred_of(cx: &dyn ProcessView) -> Ucred {
    let (uid, gid) = cx.caller().map_or((0, 0), |c| {
        let creds = c.task.group.creds.lock();
        (creds.euid, creds.egid)
    });
    Ucred {
        pid: cx.pid(),
        uid,
        gid,
    }
}

/// The IP of an inet address (unspecified for anything else).
pub fn name_ip(addr: &SockAddr) -> Ip {
    match addr {
        SockAddr::Inet(a) | SockAddr::Inet6(a) => a.ip,
        _ => Ip::V4_ANY,
    }
}

/// The options that decide how a socket takes an address: all a
/// transport consults.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddrOptions {
    /// `SO_REUSEADDR`.
    pub reuse_addr: bool,
    /// `IPV6_V6ONLY`.
    pub v6only: bool,
}

/// Socket options: what `setsockopt` set, for `getsockopt` to show (and
/// [`AddrOptions`] for the transports). Options that change nothing
/// inside the guest (keep-alives, Nagle) are kept all the same, so a
/// program reads back what it wrote.
#[derive(Clone, Default)]
pub struct Options {
    addr: AddrOptions,
    sndbuf: Option<u32>,
    rcvbuf: Option<u32>,
    linger: Linger,
    /// `SO_RCVTIMEO` and `SO_SNDTIMEO` as given (what `getsockopt` shows).
    timeouts: [[u8; 16]; 2],
    /// The same in nanoseconds: how long a blocking receive (`accept`) and
    /// send (`connect`) wait before EAGAIN; None waits for ever.
    timeout_ns: [Option<u64>; 2],
    /// Other integer options by (level, name).
    ints: BTreeMap<(u64, u64), i32>,
}

/// Integer options kept as they are set, with Linux's defaults, and
/// whether a value is a boolean (read back as 0 or 1).
fn int_option(domain: Domain, kind: Kind, level: u64, name: u64) -> Option<(i32, bool)> {
    let inet = domain != Domain::Unix;
    let tcp = inet && kind == Kind::Stream;
    Some(match (level, name) {
        (SOL_SOCKET, SO_KEEPALIVE | SO_BROADCAST | SO_OOBINLINE | SO_DEBUG) => (0, true),
        (SOL_SOCKET, SO_DONTROUTE | SO_REUSEPORT | SO_PASSCRED) => (0, true),
        (SOL_SOCKET, SO_PRIORITY) => (0, false),
        (SOL_SOCKET, SO_RCVLOWAT | SO_SNDLOWAT) => (1, false),
        (IPPROTO_TCP, TCP_NODELAY | TCP_CORK) if tcp => (0, true),
        (IPPROTO_TCP, TCP_QUICKACK) if tcp => (1, true),
        (IPPROTO_TCP, TCP_KEEPIDLE) if tcp => (7200, false),
        (IPPROTO_TCP, TCP_KEEPINTVL) if tcp => (75, false),
        (IPPROTO_TCP, TCP_KEEPCNT) if tcp => (9, false),
        (IPPROTO_TCP, TCP_MAXSEG) if tcp => (536, false),
        (IPPROTO_IP, IP_TOS) if domain == Domain::Inet => (0, false),
        (IPPROTO_IP, IP_TTL) if domain == Domain::Inet => (64, false),
        _ => return None,
    })
}

/// What a receive delivered: `len` bytes copied, `full_len` the size of
/// the datagram (more than `len` when it was cut), its sender, and the
/// ancillary data that came with the bytes (AF_UNIX).
#[derive(Debug, Default)]
pub struct Received {
    pub len: usize,
    pub full_len: usize,
    pub from: Option<SockAddr>,
    pub ancillary: Ancillary,
}

/// Ancillary data riding with AF_UNIX bytes: open files passed
/// (`SCM_RIGHTS`: the descriptions themselves, so the receiver's new
/// descriptors share offsets and flags), and the sender's credentials
/// (`SCM_CREDENTIALS`).
#[derive(Clone, Default)]
pub struct Ancillary {
    pub files: alloc::vec::Vec<Arc<crate::fs::file::OpenFile>>,
    pub cred: Option<Ucred>,
}

impl core::fmt::Debug for Ancillary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ancillary")
            .field("files", &self.files.len())
            .field("cred", &self.cred)
            .finish()
    }
}

/// How a `connect` runs.
pub struct ConnectCall<'a> {
    pub cx: &'a dyn ProcessView,
    pub nonblocking: bool,
}

/// A connection `accept` took: the new socket's transport and its queue.
pub struct Accepted {
    pub transport: Box<dyn Transport>,
    pub queue: Arc<WaitQueue>,
}

/// The bytes of one socket: what carries them (a local stream or
/// datagram socket now; the host proxy later). Calls never wait: EAGAIN
/// means "not now", and the system call layer waits on the socket's queue
/// (see the module comment).
pub trait Transport: Send + Sync {
    fn bind(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno>;

    fn listen(
        &self,
        _backlog: u32,
        _options: &AddrOptions,
        _cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// The next connection (EAGAIN: none yet).
    fn accept(&self) -> Result<Accepted, Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// EINPROGRESS, EALREADY and EISCONN as Linux gives them; EAGAIN
    /// when a blocking connect must wait.
    fn connect(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        call: ConnectCall<'_>,
    ) -> Result<(), Errno>;

    /// Sends `data` (to `to`, for a datagram); returns how much went.
    fn send(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
    ) -> Result<usize, Errno>;

    /// Receives into `buf` (`MSG_PEEK`, `MSG_WAITALL`, `MSG_TRUNC` in
    /// `flags`).
    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno>;

    /// Sends `data` with ancillary data (an AF_UNIX socket carries it; the
    /// others have no use for it).
    fn send_ancillary(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
        ancillary: Ancillary,
    ) -> Result<usize, Errno> {
        drop(ancillary);
        self.send(data, to, options)
    }

    /// Receives with the ancillary data that came with the bytes;
    /// `passcred` (the receiver's `SO_PASSCRED`) keeps bytes of different
    /// senders apart, as Linux does.
    fn recv_ancillary(
        &self,
        buf: &mut [u8],
        flags: u32,
        passcred: bool,
    ) -> Result<Received, Errno> {
        let _ = passcred;
        self.recv(buf, flags)
    }

    fn shutdown(&self, how: u64) -> Result<(), Errno>;

    fn local_addr(&self) -> SockAddr;

    fn peer_addr(&self) -> Result<SockAddr, Errno>;

    /// Every `POLL*` bit that holds now.
    fn poll(&self) -> u16;

    /// The pending error (`SO_ERROR`), cleared.
    fn take_error(&self) -> Option<Errno>;

    fn is_listening(&self) -> bool {
        false
    }

    /// `FIONREAD`: bytes ready (a stream), or the next datagram's size.
    fn readable_bytes(&self) -> usize;

    /// The peer's credentials at connect time (`SO_PEERCRED`).
    fn peer_cred(&self) -> Option<Ucred> {
        None
    }

    /// Neither connected, connecting nor listening: the socket may still
    /// take another transport (see `routed`).
    fn is_idle(&self) -> bool {
        false
    }

    /// A `setsockopt` the socket took (`value` as the workload gave it),
    /// for a transport that applies options elsewhere.
    fn set_option(&self, _level: u64, _name: u64, _value: &[u8]) {}
}

/// A socket: the open-file object behind a socket descriptor.
pub struct Socket {
    pub domain: Domain,
    pub kind: Kind,
    ino: u64,
    queue: Arc<WaitQueue>,
    options: Mutex<Options>,
    transport: Box<dyn Transport>,
}

impl Socket {
    /// A new, unbound socket (ENOBUFS when the kernel heap is low).
    pub fn new(domain: Domain, kind: Kind) -> Result<Arc<Self>, Errno> {
        check_heap()?;
        let queue = Arc::new(WaitQueue::new());
        let transport: Box<dyn Transport> = match (domain, kind) {
            (Domain::Inet | Domain::Inet6, _) => {
                Box::new(routed::RoutedSocket::new(domain, kind, Arc::clone(&queue)))
            }
            (Domain::Unix, Kind::Stream) => {
                Box::new(stream::StreamSocket::new(domain, Arc::clone(&queue)))
            }
            (Domain::Unix, Kind::Seqpacket) => {
                Box::new(stream::StreamSocket::new_seqpacket(Arc::clone(&queue)))
            }
            (Domain::Unix, Kind::Dgram) => {
                Box::new(dgram::DgramSocket::new(domain, Arc::clone(&queue)))
            }
        };
        Ok(Self::with_transport(
            domain,
            kind,
            queue,
            transport,
            Options::default(),
        ))
    }

    fn with_transport(
        domain: Domain,
        kind: Kind,
        queue: Arc<WaitQueue>,
        transport: Box<dyn Transport>,
        options: Options,
    ) -> Arc<Self> {
        Arc::new(Self {
            domain,
            kind,
            ino: crate::fs::vfs::next_ino(),
            queue,
            options: Mutex::new(options),
            transport,
        })
    }

    /// `socketpair`: two AF_UNIX sockets connected to each other, made by
    /// the process whose credentials are `cred`.
    pub fn pair(kind: Kind, cred: Ucred) -> Result<(Arc<Self>, Arc<Self>), Errno> {
        check_heap()?;
        let queues = [Arc::new(WaitQueue::new()), Arc::new(WaitQueue::new())];
        let [a, b]: [Box<dyn Transport>; 2] = match kind {
            Kind::Stream | Kind::Seqpacket => {
                let packets = kind == Kind::Seqpacket;
                let (a, b) = stream::StreamSocket::pair(queues.clone(), cred, packets);
                [Box::new(a), Box::new(b)]
            }
            Kind::Dgram => {
                let (a, b) = dgram::DgramSocket::pair(queues.clone(), cred);
                [Box::new(a), Box::new(b)]
            }
        };
        let [qa, qb] = queues;
        Ok((
            Self::with_transport(Domain::Unix, kind, qa, a, Options::default()),
            Self::with_transport(Domain::Unix, kind, qb, b, Options::default()),
        ))
    }

    /// How long a blocking send (`sending`) or receive may wait
    /// (`SO_SNDTIMEO`, `SO_RCVTIMEO`); None: for ever.
    pub fn timeout_ns(&self, sending: bool) -> Option<u64> {
        self.options.lock().timeout_ns[usize::from(sending)]
    }

    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// Whether EPIPE from a send comes with SIGPIPE: for streams; a
    /// datagram socket's EPIPE comes alone (Linux signals only in
    /// `unix_stream_sendmsg` and `sk_stream_error`).
    pub fn raises_sigpipe(&self) -> bool {
        self.kind == Kind::Stream
    }

    pub fn bind(&self, addr: &SockAddr, cx: &dyn ProcessView) -> Result<(), Errno> {
        let options = self.options.lock().addr;
        self.transport.bind(addr, &options, cx)
    }

    pub fn listen(&self, backlog: u32, cx: &dyn ProcessView) -> Result<(), Errno> {
        let options = self.options.lock().addr;
        self.transport.listen(backlog, &options, cx)
    }

    /// The next connection as a new socket (it inherits this one's options,
    /// as Linux's accepted sockets do).
    pub fn accept(&self) -> Result<Arc<Socket>, Errno> {
        let accepted = self.transport.accept()?;
        let options = self.options.lock().clone();
        Ok(Self::with_transport(
            self.domain,
            self.kind,
            accepted.queue,
            accepted.transport,
            options,
        ))
    }

    pub fn connect(&self, addr: &SockAddr, call: ConnectCall<'_>) -> Result<(), Errno> {
        let options = self.options.lock().addr;
        self.transport.connect(addr, &options, call)
    }

    pub fn send(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
    ) -> Result<usize, Errno> {
        let options = self.options.lock().addr;
        self.transport.send(data, to, &options)
    }

    pub fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        self.transport.recv(buf, flags)
    }

    /// [`Self::send`] with ancillary data.
    pub fn send_ancillary(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        ancillary: Ancillary,
    ) -> Result<usize, Errno> {
        let options = self.options.lock().addr;
        self.transport.send_ancillary(data, to, &options, ancillary)
    }

    /// [`Self::recv`] with the ancillary data, the credentials only with
    /// `SO_PASSCRED`.
    pub fn recv_ancillary(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        let passcred = self.passcred();
        let mut received = self.transport.recv_ancillary(buf, flags, passcred)?;
        if passcred {
            // Bytes that came with no credentials of their own (none
            // recorded): the peer's, as `SO_PEERCRED` has them.
            if received.ancillary.cred.is_none() {
                received.ancillary.cred = Some(self.transport.peer_cred().unwrap_or(Ucred {
                    pid: 0,
                    uid: u32::MAX,
                    gid: u32::MAX,
                }));
            }
        } else {
            received.ancillary.cred = None;
        }
        Ok(received)
    }

    /// `SO_PASSCRED`.
    pub fn passcred(&self) -> bool {
        self.options
            .lock()
            .ints
            .get(&(SOL_SOCKET, SO_PASSCRED))
            .is_some_and(|&value| value != 0)
    }

    pub fn shutdown(&self, how: u64) -> Result<(), Errno> {
        if how > SHUT_RDWR {
            return Err(Errno::EINVAL);
        }
        self.transport.shutdown(how)
    }

    pub fn local_addr(&self) -> SockAddr {
        self.transport.local_addr()
    }

    /// Bytes ready to read (a stream), or the next datagram's size.
    pub fn readable_bytes(&self) -> usize {
        self.transport.readable_bytes()
    }

    pub fn peer_addr(&self) -> Result<SockAddr, Errno> {
        self.transport.peer_addr()
    }

    /// `setsockopt`: `value` is the option's bytes as the workload gave
    /// them.
    pub fn set_option(&self, level: u64, name: u64, value: &[u8]) -> Result<(), Errno> {
        self.keep_option(level, name, value)?;
        self.transport.set_option(level, name, value);
        Ok(())
    }

    /// `setsockopt` as the guest answers it: the option is checked and
    /// kept for `getsockopt`.
    fn keep_option(&self, level: u64, name: u64, value: &[u8]) -> Result<(), Errno> {
        let int = || -> Result<i32, Errno> {
            let bytes: [u8; 4] = value
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(Errno::EINVAL)?;
            Ok(i32::from_le_bytes(bytes))
        };
        let mut options = self.options.lock();
        match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => options.addr.reuse_addr = int()? != 0,
            (SOL_SOCKET, SO_SNDBUF | SO_SNDBUFFORCE) => {
                options.sndbuf = Some(buffer_size(int()?, SNDBUF_MIN));
            }
            (SOL_SOCKET, SO_RCVBUF | SO_RCVBUFFORCE) => {
                options.rcvbuf = Some(buffer_size(int()?, RCVBUF_MIN));
            }
            (SOL_SOCKET, SO_LINGER) => {
                let bytes: [u8; Linger::SIZE] = value
                    .get(..Linger::SIZE)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Errno::EINVAL)?;
                let linger = Linger::from_bytes(&bytes);
                options.linger = Linger {
                    onoff: i32::from(linger.onoff != 0),
                    linger: linger.linger.max(0),
                };
            }
            (SOL_SOCKET, SO_RCVTIMEO | SO_SNDTIMEO) => {
                let bytes: [u8; 16] = value
                    .get(..16)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Errno::EINVAL)?;
                let usec = i64::from_le_bytes(bytes[8..].try_into().expect("8 bytes"));
                if !(0..1_000_000).contains(&usec) {
                    return Err(Errno::EDOM);
                }
                let which = usize::from(name == SO_SNDTIMEO);
                options.timeouts[which] = bytes;
                let sec = i64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
                // `sock_set_timeout`: zero waits for ever, a negative time
                // not at all.
                options.timeout_ns[which] = match u64::try_from(sec) {
                    Err(_) => Some(0),
                    Ok(0) if usec == 0 => None,
                    Ok(sec) => Some(
                        sec.saturating_mul(1_000_000_000)
                            .saturating_add(usec as u64 * 1000),
                    ),
                };
            }
            (IPPROTO_IPV6, IPV6_V6ONLY) if self.domain == Domain::Inet6 => {
                options.addr.v6only = int()? != 0;
            }
            (IPPROTO_TCP, TCP_KEEPIDLE | TCP_KEEPINTVL | TCP_KEEPCNT)
                if !(1..=32_767).contains(&int()?) =>
            {
                return Err(Errno::EINVAL);
            }
            (SOL_SOCKET, SO_TYPE | SO_ERROR | SO_ACCEPTCONN | SO_PROTOCOL | SO_DOMAIN) => {
                return Err(Errno::ENOPROTOOPT);
            }
            _ => match int_option(self.domain, self.kind, level, name) {
                Some((_, boolean)) => {
                    let v = int()?;
                    options
                        .ints
                        .insert((level, name), if boolean { i32::from(v != 0) } else { v });
                }
                None => return Err(self.unknown_option(level)),
            },
        }
        Ok(())
    }

    /// `getsockopt`: the option's bytes, at their full size (the caller
    /// cuts them to the workload's length).
    pub fn get_option(&self, level: u64, name: u64) -> Result<alloc::vec::Vec<u8>, Errno> {
        let int = |v: i32| Ok(v.to_le_bytes().to_vec());
        let options = self.options.lock();
        let tcp = self.domain != Domain::Unix && self.kind == Kind::Stream;
        match (level, name) {
            (SOL_SOCKET, SO_TYPE) => int(self.kind.sock_type() as i32),
            (SOL_SOCKET, SO_DOMAIN) => int(i32::from(self.domain.family())),
            (SOL_SOCKET, SO_PROTOCOL) => int(match (self.domain, self.kind) {
                (Domain::Unix, _) => 0,
                (_, Kind::Stream) => IPPROTO_TCP as i32,
                (_, Kind::Dgram | Kind::Seqpacket) => IPPROTO_UDP as i32,
            }),
            (SOL_SOCKET, SO_ERROR) => int(self.transport.take_error().map_or(0, |e| e as i32)),
            (SOL_SOCKET, SO_ACCEPTCONN) => int(i32::from(self.transport.is_listening())),
            (SOL_SOCKET, SO_REUSEADDR) => int(i32::from(options.addr.reuse_addr)),
            (SOL_SOCKET, SO_SNDBUF) => {
                int(options
                    .sndbuf
                    .unwrap_or(if tcp { TCP_SNDBUF_DEFAULT } else { BUF_MAX })
                    as i32)
            }
            (SOL_SOCKET, SO_RCVBUF) => {
                int(options
                    .rcvbuf
                    .unwrap_or(if tcp { TCP_RCVBUF_DEFAULT } else { BUF_MAX })
                    as i32)
            }
            (SOL_SOCKET, SO_LINGER) => Ok(options.linger.to_bytes().to_vec()),
            (SOL_SOCKET, SO_RCVTIMEO | SO_SNDTIMEO) => {
                Ok(options.timeouts[usize::from(name == SO_SNDTIMEO)].to_vec())
            }
            (SOL_SOCKET, SO_PEERCRED) if self.domain == Domain::Unix => {
                let cred = self.transport.peer_cred().unwrap_or(Ucred {
                    pid: 0,
                    uid: u32::MAX,
                    gid: u32::MAX,
                });
                Ok(cred.to_bytes().to_vec())
            }
            (IPPROTO_IPV6, IPV6_V6ONLY) if self.domain == Domain::Inet6 => {
                int(i32::from(options.addr.v6only))
            }
            _ => match int_option(self.domain, self.kind, level, name) {
                Some((default, _)) => {
                    int(options.ints.get(&(level, name)).copied().unwrap_or(default))
                }
                None => Err(self.unknown_option(level)),
            },
        }
    }

    /// Linux's answer for an option it does not know: ENOPROTOOPT at a
    /// level the socket has (SOL_SOCKET, its protocol's, IP's), and
    /// EOPNOTSUPP at any other (TCP options on AF_UNIX or UDP).
    fn unknown_option(&self, level: u64) -> Errno {
        let own = match (self.domain, self.kind, level) {
            (_, _, SOL_SOCKET) => true,
            (Domain::Unix, _, _) => false,
            (_, Kind::Stream, IPPROTO_TCP) | (_, Kind::Dgram, IPPROTO_UDP) => true,
            (_, _, IPPROTO_IP) => true,
            (Domain::Inet6, _, IPPROTO_IPV6) => true,
            _ => false,
        };
        if own {
            Errno::ENOPROTOOPT
        } else {
            Errno::EOPNOTSUPP
        }
    }
}

/// Linux doubles a buffer size for its bookkeeping, within bounds.
fn buffer_size(requested: i32, min: u32) -> u32 {
    let requested = requested.max(0) as u32;
    (requested.min(BUF_MAX) * 2).max(min)
}

impl FileObject for Socket {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.recv(buf, 0).map(|r| r.len)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        self.send(data, None)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            st_dev: SOCKFS_DEV,
            st_ino: self.ino,
            st_nlink: 1,
            st_mode: SOCKET_MODE,
            st_blksize: crate::arch::phys::PAGE_SIZE as i64,
            ..Stat::default()
        })
    }

    fn ioctl(
        &self,
        request: u64,
        arg: u64,
        mm: &mut crate::mm::vm::AddressSpace,
    ) -> Result<u64, Errno> {
        match request {
            FIONREAD => {
                let n = self.transport.readable_bytes().min(i32::MAX as usize) as u32;
                mm.copy_out(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, _events: u16) -> u16 {
        self.transport.poll()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn as_socket(&self) -> Option<&Socket> {
        Some(self)
    }
}
