//! The "net" channel: the workload's sockets, forwarded at the socket
//! level to the host proxy (design.md, issue 9). The guest has no NIC and
//! no TCP/IP stack; the host opens real sockets where its policy allows.
//!
//! The guest names its sockets with [`SocketId`]s it picks, and tags each
//! request with a [`Tag`] the host's [`HostMsg::Reply`] echoes, so calls on
//! different sockets (or threads) complete in any order. Bytes flow with
//! credits ([`crate::flow`]): the host pushes [`HostMsg::Data`] as it
//! reads its socket, up to the window the guest granted, so `recv`, poll
//! and epoll readiness are answered inside the guest; the guest sends
//! [`GuestMsg::Data`] up to the host's window. A listening host socket
//! pushes [`HostMsg::Accepted`] connections the same way, with the backlog
//! as its window, and so do the published ports (`-p`).
//!
//! Numbers on the wire are Linux's (address families, socket types and
//! flags, option levels and names, errno, poll bits), so the guest passes
//! the workload's values through and the host hands them to its own
//! kernel. Layouts, after the frame header (`len[4] type[1]`, see
//! [`crate::channel`]), every integer little-endian:
//!
//! ```text
//! addr     family[2] = 0 (none, where optional)
//!                    | 2  port[2] ip[4]
//!                    | 10 port[2] flowinfo[4] ip[16] scope_id[4]
//! sockopt  level[4] optname[4] value: int[4] | onoff[4] seconds[4] (SO_LINGER)
//!
//! guest -> host                           host -> guest
//!  1 Socket      tag sock family[2]        1 Reply     tag errno[2], and when errno is 0:
//!                type[4] flags[4]                      kind[1] = 0 done | 1 addr | 2 sockopt
//!  2 Connect     tag sock addr             2 Accepted  listener sock local:addr peer:addr
//!  3 Bind        tag sock addr             3 Event     sock readiness[2] errno[2]
//!  4 Listen      tag sock backlog[4]      16 Data      sock data...
//!  5 Shutdown    tag sock how[1]          17 Datagram  sock from:addr data...
//!  6 Close       tag sock                 18 Credit    sock amount[4]
//!  7 GetSockName tag sock
//!  8 GetPeerName tag sock
//!  9 SetSockOpt  tag sock sockopt
//! 10 GetSockOpt  tag sock level[4] optname[4]
//! 16 Data        sock data...
//! 17 Datagram    sock to:addr-or-none data...
//! 18 Credit      sock amount[4]
//! ```
//! (`tag` and `sock` are 4 bytes; data runs to the end of the frame.)

use crate::channel::{check_data, encode_frame, ChannelError, Frame};
use crate::wire::{Reader, Writer};
use alloc::vec::Vec;
use core::net::SocketAddr;
use lamina_abi::flags::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP};

pub use lamina_abi::Errno;

/// Matches a reply to its request; the guest picks it, the host echoes it.
pub type Tag = u32;

/// A forwarded socket. The guest picks the ids of the sockets it creates
/// (bit 31 clear), so it can pipeline a Socket with its Connect; the host
/// picks the ids of the connections it accepts for the guest (bit 31 set),
/// so the two never collide. An id is free again once the host has
/// replied to its Close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub u32);

impl SocketId {
    /// The bit that marks an id the host assigned.
    pub const HOST_ASSIGNED: u32 = 1 << 31;

    pub const fn is_host_assigned(self) -> bool {
        self.0 & Self::HOST_ASSIGNED != 0
    }
}

// Linux values: include/linux/socket.h, include/linux/net.h,
// include/uapi/asm-generic/socket.h, include/uapi/linux/in.h, tcp.h, in6.h.
const SOCK_STREAM: u32 = 1;
const SOCK_DGRAM: u32 = 2;
const SOCK_NONBLOCK: u32 = 0o4000;
const SOCK_CLOEXEC: u32 = 0o2000000;
const SHUT_RD: u8 = 0;
const SHUT_WR: u8 = 1;
const SHUT_RDWR: u8 = 2;
const SOL_SOCKET: u32 = 1;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_IPV6: u32 = 41;

/// An address family the proxy forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub const fn linux(self) -> u16 {
        match self {
            Self::Inet => crate::wire::AF_INET,
            Self::Inet6 => crate::wire::AF_INET6,
        }
    }

    pub const fn from_linux(domain: u32) -> Option<Self> {
        match domain {
            2 => Some(Self::Inet),
            10 => Some(Self::Inet6),
            _ => None,
        }
    }

    /// The family of an address.
    pub const fn of(addr: &SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(_) => Self::Inet,
            SocketAddr::V6(_) => Self::Inet6,
        }
    }
}

/// A socket type the proxy forwards (the low bits of socket(2)'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SockType {
    Stream,
    Dgram,
}

impl SockType {
    pub const fn linux(self) -> u32 {
        match self {
            Self::Stream => SOCK_STREAM,
            Self::Dgram => SOCK_DGRAM,
        }
    }

    pub const fn from_linux(ty: u32) -> Option<Self> {
        match ty {
            SOCK_STREAM => Some(Self::Stream),
            SOCK_DGRAM => Some(Self::Dgram),
            _ => None,
        }
    }
}

/// The flags socket(2) and accept4(2) take in their `type`/`flags`
/// argument. They act in the guest (the fd's O_NONBLOCK and FD_CLOEXEC);
/// the host learns them for its log and for connect's EINPROGRESS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SocketFlags {
    pub nonblock: bool,
    pub cloexec: bool,
}

impl SocketFlags {
    pub const fn linux(self) -> u32 {
        (if self.nonblock { SOCK_NONBLOCK } else { 0 })
            | (if self.cloexec { SOCK_CLOEXEC } else { 0 })
    }

    /// `None` when `bits` has any other bit set.
    pub const fn from_linux(bits: u32) -> Option<Self> {
        if bits & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return None;
        }
        Some(Self {
            nonblock: bits & SOCK_NONBLOCK != 0,
            cloexec: bits & SOCK_CLOEXEC != 0,
        })
    }
}

/// shutdown(2)'s `how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

impl Shutdown {
    pub const fn linux(self) -> u8 {
        match self {
            Self::Read => SHUT_RD,
            Self::Write => SHUT_WR,
            Self::Both => SHUT_RDWR,
        }
    }

    pub const fn from_linux(how: u32) -> Option<Self> {
        match how {
            0 => Some(Self::Read),
            1 => Some(Self::Write),
            2 => Some(Self::Both),
            _ => None,
        }
    }
}

macro_rules! sockopts {
    ($($(#[$doc:meta])* $name:ident = ($level:expr, $optname:literal),)*) => {
        /// The socket options common programs set, forwarded to the host
        /// socket. (SO_TYPE, SO_RCVTIMEO and the like are answered in the
        /// guest.)
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SockOptName {
            $($(#[$doc])* $name,)*
        }

        impl SockOptName {
            pub const ALL: &'static [SockOptName] = &[$(SockOptName::$name,)*];

            /// `(level, optname)` as setsockopt(2) takes them.
            pub const fn linux(self) -> (u32, u32) {
                match self {
                    $(Self::$name => ($level, $optname),)*
                }
            }

            pub const fn from_linux(level: u32, optname: u32) -> Option<Self> {
                $(if level == $level && optname == $optname {
                    return Some(Self::$name);
                })*
                None
            }
        }
    };
}

sockopts! {
    ReuseAddr = (SOL_SOCKET, 2),
    /// Read only: the pending error, cleared by reading it.
    Error = (SOL_SOCKET, 4),
    Broadcast = (SOL_SOCKET, 6),
    SndBuf = (SOL_SOCKET, 7),
    RcvBuf = (SOL_SOCKET, 8),
    KeepAlive = (SOL_SOCKET, 9),
    /// The one option whose value is a `struct linger`.
    Linger = (SOL_SOCKET, 13),
    ReusePort = (SOL_SOCKET, 15),
    TcpNoDelay = (IPPROTO_TCP, 1),
    TcpKeepIdle = (IPPROTO_TCP, 4),
    TcpKeepIntvl = (IPPROTO_TCP, 5),
    TcpKeepCnt = (IPPROTO_TCP, 6),
    Ipv6V6Only = (IPPROTO_IPV6, 26),
}

/// A socket option's value: an `int`, or for SO_LINGER a `struct linger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SockOptValue {
    Int(i32),
    Linger { onoff: i32, seconds: i32 },
}

/// An option and its value; the value's kind must fit the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockOpt {
    pub name: SockOptName,
    pub value: SockOptValue,
}

/// The bits of poll(2)'s `revents` (the same values in epoll).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Readiness(u16);

impl Readiness {
    pub const NONE: Self = Self(0);
    /// POLLIN.
    pub const READABLE: Self = Self(POLLIN);
    /// POLLOUT.
    pub const WRITABLE: Self = Self(POLLOUT);
    /// POLLERR: a pending error, as SO_ERROR would read it.
    pub const ERROR: Self = Self(POLLERR);
    /// POLLHUP: both directions are closed.
    pub const HANGUP: Self = Self(POLLHUP);
    /// POLLRDHUP: the peer sent all its data (end of file after the
    /// Data already received).
    pub const READ_HANGUP: Self = Self(POLLRDHUP);
    const ALL_BITS: u16 = POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP;

    pub const fn bits(self) -> u16 {
        self.0
    }

    /// `None` when `bits` has a bit other than the five above.
    pub const fn from_bits(bits: u16) -> Option<Self> {
        if bits & !Self::ALL_BITS != 0 {
            return None;
        }
        Some(Self(bits))
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Readiness {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// What a successful request returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyValue {
    /// Socket, Connect, Bind, Listen, Shutdown, Close, SetSockOpt.
    Done,
    /// GetSockName, GetPeerName.
    Addr(SocketAddr),
    /// GetSockOpt.
    Opt(SockOpt),
}

/// Guest to host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestMsg<'a> {
    /// socket(2): a host socket the guest names `sock` (bit 31 clear).
    Socket {
        tag: Tag,
        sock: SocketId,
        family: Family,
        ty: SockType,
        flags: SocketFlags,
    },
    /// connect(2). The reply comes when the host's connect completes; a
    /// non-blocking guest socket has already returned EINPROGRESS.
    Connect {
        tag: Tag,
        sock: SocketId,
        addr: SocketAddr,
    },
    Bind {
        tag: Tag,
        sock: SocketId,
        addr: SocketAddr,
    },
    /// listen(2). The guest then grants credit in connections, up to
    /// `backlog`, and the host pushes Accepted within it.
    Listen {
        tag: Tag,
        sock: SocketId,
        backlog: u32,
    },
    /// shutdown(2). After every Data before it has been written.
    Shutdown {
        tag: Tag,
        sock: SocketId,
        how: Shutdown,
    },
    /// The last guest reference is gone. The guest does not wait for the
    /// reply, but reuses `sock` only after it.
    Close {
        tag: Tag,
        sock: SocketId,
    },
    GetSockName {
        tag: Tag,
        sock: SocketId,
    },
    GetPeerName {
        tag: Tag,
        sock: SocketId,
    },
    SetSockOpt {
        tag: Tag,
        sock: SocketId,
        opt: SockOpt,
    },
    GetSockOpt {
        tag: Tag,
        sock: SocketId,
        name: SockOptName,
    },
    /// Stream bytes, within the host's credit.
    Data {
        sock: SocketId,
        data: &'a [u8],
    },
    /// One datagram, within the host's credit; `to` is sendto's address
    /// (`None` on a connected socket).
    Datagram {
        sock: SocketId,
        to: Option<SocketAddr>,
        data: &'a [u8],
    },
    /// The guest's reader made room: the host may push `amount` more.
    Credit {
        sock: SocketId,
        amount: u32,
    },
}

/// Host to guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMsg<'a> {
    /// The outcome of the request tagged `tag`: a value or a Linux errno.
    Reply {
        tag: Tag,
        result: Result<ReplyValue, Errno>,
    },
    /// A connection arrived on `listener` (the guest's listening socket,
    /// or the one a published port leads to): `sock` is its id, picked by
    /// the host (bit 31 set). Costs one unit of the listener's credit.
    Accepted {
        listener: SocketId,
        sock: SocketId,
        local: SocketAddr,
        peer: SocketAddr,
    },
    /// A change the guest cannot see by itself: the peer's end of data
    /// (after the Data already sent), hang-up, or a pending error.
    Event {
        sock: SocketId,
        readiness: Readiness,
        error: Option<Errno>,
    },
    /// Stream bytes, within the guest's credit.
    Data { sock: SocketId, data: &'a [u8] },
    /// One datagram and its source, within the guest's credit (the host
    /// drops datagrams that do not fit, as a full socket buffer would).
    Datagram {
        sock: SocketId,
        from: SocketAddr,
        data: &'a [u8],
    },
    /// The host wrote guest bytes out: the guest may send `amount` more.
    Credit { sock: SocketId, amount: u32 },
}

// Message types, guest to host.
const G_SOCKET: u8 = 1;
const G_CONNECT: u8 = 2;
const G_BIND: u8 = 3;
const G_LISTEN: u8 = 4;
const G_SHUTDOWN: u8 = 5;
const G_CLOSE: u8 = 6;
const G_GETSOCKNAME: u8 = 7;
const G_GETPEERNAME: u8 = 8;
const G_SETSOCKOPT: u8 = 9;
const G_GETSOCKOPT: u8 = 10;
// Host to guest.
const H_REPLY: u8 = 1;
const H_ACCEPTED: u8 = 2;
const H_EVENT: u8 = 3;
// Both directions.
const DATA: u8 = 16;
const DATAGRAM: u8 = 17;
const CREDIT: u8 = 18;

const REPLY_DONE: u8 = 0;
const REPLY_ADDR: u8 = 1;
const REPLY_OPT: u8 = 2;

/// Errno 0 on the wire: success, or no error.
const NO_ERRNO: u16 = 0;

fn errno_to_wire(errno: Errno) -> Result<u16, ChannelError> {
    match u16::try_from(errno.as_i32()) {
        // Kernel-internal: never leaves the guest kernel.
        Ok(_) if errno == Errno::ERESTARTSYS => Err(ChannelError::BadValue("errno")),
        Ok(raw) => Ok(raw),
        Err(_) => Err(ChannelError::BadValue("errno")),
    }
}

fn errno_from_wire(raw: u16) -> Result<Errno, ChannelError> {
    match Errno::from_raw(i32::from(raw)) {
        Some(errno) if errno != Errno::ERESTARTSYS => Ok(errno),
        _ => Err(ChannelError::BadValue("errno")),
    }
}

fn guest_id(sock: SocketId) -> Result<SocketId, ChannelError> {
    match sock.is_host_assigned() {
        false => Ok(sock),
        true => Err(ChannelError::BadValue("socket id (bit 31 is the host's)")),
    }
}

fn host_id(sock: SocketId) -> Result<SocketId, ChannelError> {
    match sock.is_host_assigned() {
        true => Ok(sock),
        false => Err(ChannelError::BadValue(
            "socket id (bit 31 clear is the guest's)",
        )),
    }
}

impl Reader<'_> {
    fn sock(&mut self) -> Result<SocketId, ChannelError> {
        self.u32().map(SocketId)
    }

    fn opt_name(&mut self) -> Result<SockOptName, ChannelError> {
        let level = self.u32()?;
        let optname = self.u32()?;
        SockOptName::from_linux(level, optname).ok_or(ChannelError::BadValue("socket option"))
    }

    fn sockopt(&mut self) -> Result<SockOpt, ChannelError> {
        let name = self.opt_name()?;
        let value = match name {
            SockOptName::Linger => SockOptValue::Linger {
                onoff: self.i32()?,
                seconds: self.i32()?,
            },
            _ => SockOptValue::Int(self.i32()?),
        };
        Ok(SockOpt { name, value })
    }
}

impl Writer<'_> {
    fn opt_name(&mut self, name: SockOptName) {
        let (level, optname) = name.linux();
        self.u32(level);
        self.u32(optname);
    }

    fn sockopt(&mut self, opt: &SockOpt) -> Result<(), ChannelError> {
        self.opt_name(opt.name);
        match (opt.name, opt.value) {
            (SockOptName::Linger, SockOptValue::Linger { onoff, seconds }) => {
                self.i32(onoff);
                self.i32(seconds);
            }
            (SockOptName::Linger, SockOptValue::Int(_)) | (_, SockOptValue::Linger { .. }) => {
                return Err(ChannelError::BadValue("socket option value"))
            }
            (_, SockOptValue::Int(v)) => self.i32(v),
        }
        Ok(())
    }

    fn data(&mut self, data: &[u8]) -> Result<(), ChannelError> {
        check_data(data)?;
        self.bytes(data);
        Ok(())
    }
}

impl<'a> GuestMsg<'a> {
    /// Appends this message's frame to `out` (unchanged on error).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ChannelError> {
        match *self {
            Self::Socket {
                tag,
                sock,
                family,
                ty,
                flags,
            } => encode_frame(out, G_SOCKET, |w| {
                w.u32(tag);
                w.u32(guest_id(sock)?.0);
                w.u16(family.linux());
                w.u32(ty.linux());
                w.u32(flags.linux());
                Ok(())
            }),
            Self::Connect { tag, sock, addr } => tag_sock_addr(out, G_CONNECT, tag, sock, &addr),
            Self::Bind { tag, sock, addr } => tag_sock_addr(out, G_BIND, tag, sock, &addr),
            Self::Listen { tag, sock, backlog } => encode_frame(out, G_LISTEN, |w| {
                w.u32(tag);
                w.u32(sock.0);
                w.u32(backlog);
                Ok(())
            }),
            Self::Shutdown { tag, sock, how } => encode_frame(out, G_SHUTDOWN, |w| {
                w.u32(tag);
                w.u32(sock.0);
                w.u8(how.linux());
                Ok(())
            }),
            Self::Close { tag, sock } => tag_sock(out, G_CLOSE, tag, sock),
            Self::GetSockName { tag, sock } => tag_sock(out, G_GETSOCKNAME, tag, sock),
            Self::GetPeerName { tag, sock } => tag_sock(out, G_GETPEERNAME, tag, sock),
            Self::SetSockOpt { tag, sock, opt } => encode_frame(out, G_SETSOCKOPT, |w| {
                w.u32(tag);
                w.u32(sock.0);
                w.sockopt(&opt)
            }),
            Self::GetSockOpt { tag, sock, name } => encode_frame(out, G_GETSOCKOPT, |w| {
                w.u32(tag);
                w.u32(sock.0);
                w.opt_name(name);
                Ok(())
            }),
            Self::Data { sock, data } => encode_data(out, sock, data),
            Self::Datagram { sock, to, data } => encode_datagram(out, sock, to.as_ref(), data),
            Self::Credit { sock, amount } => encode_credit(out, sock, amount),
        }
    }

    /// Decodes one frame from the guest; data borrows from it.
    pub fn decode(frame: Frame<'a>) -> Result<Self, ChannelError> {
        let mut r = frame.reader();
        let msg = match frame.msg_type {
            G_SOCKET => Self::Socket {
                tag: r.u32()?,
                sock: guest_id(r.sock()?)?,
                family: Family::from_linux(u32::from(r.u16()?))
                    .ok_or(ChannelError::BadValue("address family"))?,
                ty: SockType::from_linux(r.u32()?).ok_or(ChannelError::BadValue("socket type"))?,
                flags: SocketFlags::from_linux(r.u32()?)
                    .ok_or(ChannelError::BadValue("socket flags"))?,
            },
            G_CONNECT => Self::Connect {
                tag: r.u32()?,
                sock: r.sock()?,
                addr: r.socket_addr()?,
            },
            G_BIND => Self::Bind {
                tag: r.u32()?,
                sock: r.sock()?,
                addr: r.socket_addr()?,
            },
            G_LISTEN => Self::Listen {
                tag: r.u32()?,
                sock: r.sock()?,
                backlog: r.u32()?,
            },
            G_SHUTDOWN => Self::Shutdown {
                tag: r.u32()?,
                sock: r.sock()?,
                how: Shutdown::from_linux(u32::from(r.u8()?))
                    .ok_or(ChannelError::BadValue("shutdown how"))?,
            },
            G_CLOSE => Self::Close {
                tag: r.u32()?,
                sock: r.sock()?,
            },
            G_GETSOCKNAME => Self::GetSockName {
                tag: r.u32()?,
                sock: r.sock()?,
            },
            G_GETPEERNAME => Self::GetPeerName {
                tag: r.u32()?,
                sock: r.sock()?,
            },
            G_SETSOCKOPT => Self::SetSockOpt {
                tag: r.u32()?,
                sock: r.sock()?,
                opt: r.sockopt()?,
            },
            G_GETSOCKOPT => Self::GetSockOpt {
                tag: r.u32()?,
                sock: r.sock()?,
                name: r.opt_name()?,
            },
            DATA => Self::Data {
                sock: r.sock()?,
                data: r.data()?,
            },
            DATAGRAM => Self::Datagram {
                sock: r.sock()?,
                to: r.socket_addr_opt()?,
                data: r.data()?,
            },
            CREDIT => Self::Credit {
                sock: r.sock()?,
                amount: r.u32()?,
            },
            other => return Err(ChannelError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

impl<'a> HostMsg<'a> {
    /// Appends this message's frame to `out` (unchanged on error).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ChannelError> {
        match *self {
            Self::Reply { tag, result } => encode_frame(out, H_REPLY, |w| {
                w.u32(tag);
                match result {
                    Err(errno) => w.u16(errno_to_wire(errno)?),
                    Ok(value) => {
                        w.u16(NO_ERRNO);
                        match value {
                            ReplyValue::Done => w.u8(REPLY_DONE),
                            ReplyValue::Addr(addr) => {
                                w.u8(REPLY_ADDR);
                                w.socket_addr(&addr);
                            }
                            ReplyValue::Opt(opt) => {
                                w.u8(REPLY_OPT);
                                w.sockopt(&opt)?;
                            }
                        }
                    }
                }
                Ok(())
            }),
            Self::Accepted {
                listener,
                sock,
                local,
                peer,
            } => encode_frame(out, H_ACCEPTED, |w| {
                w.u32(listener.0);
                w.u32(host_id(sock)?.0);
                w.socket_addr(&local);
                w.socket_addr(&peer);
                Ok(())
            }),
            Self::Event {
                sock,
                readiness,
                error,
            } => encode_frame(out, H_EVENT, |w| {
                w.u32(sock.0);
                w.u16(readiness.bits());
                w.u16(match error {
                    Some(errno) => errno_to_wire(errno)?,
                    None => NO_ERRNO,
                });
                Ok(())
            }),
            Self::Data { sock, data } => encode_data(out, sock, data),
            Self::Datagram { sock, from, data } => encode_datagram(out, sock, Some(&from), data),
            Self::Credit { sock, amount } => encode_credit(out, sock, amount),
        }
    }

    /// Decodes one frame from the host; data borrows from it.
    pub fn decode(frame: Frame<'a>) -> Result<Self, ChannelError> {
        let mut r = frame.reader();
        let msg = match frame.msg_type {
            H_REPLY => {
                let tag = r.u32()?;
                let result = match r.u16()? {
                    NO_ERRNO => Ok(match r.u8()? {
                        REPLY_DONE => ReplyValue::Done,
                        REPLY_ADDR => ReplyValue::Addr(r.socket_addr()?),
                        REPLY_OPT => ReplyValue::Opt(r.sockopt()?),
                        _ => return Err(ChannelError::BadValue("reply kind")),
                    }),
                    raw => Err(errno_from_wire(raw)?),
                };
                Self::Reply { tag, result }
            }
            H_ACCEPTED => Self::Accepted {
                listener: r.sock()?,
                sock: host_id(r.sock()?)?,
                local: r.socket_addr()?,
                peer: r.socket_addr()?,
            },
            H_EVENT => Self::Event {
                sock: r.sock()?,
                readiness: Readiness::from_bits(r.u16()?)
                    .ok_or(ChannelError::BadValue("readiness"))?,
                error: match r.u16()? {
                    NO_ERRNO => None,
                    raw => Some(errno_from_wire(raw)?),
                },
            },
            DATA => Self::Data {
                sock: r.sock()?,
                data: r.data()?,
            },
            DATAGRAM => Self::Datagram {
                sock: r.sock()?,
                from: r.socket_addr()?,
                data: r.data()?,
            },
            CREDIT => Self::Credit {
                sock: r.sock()?,
                amount: r.u32()?,
            },
            other => return Err(ChannelError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

fn tag_sock(out: &mut Vec<u8>, ty: u8, tag: Tag, sock: SocketId) -> Result<(), ChannelError> {
    encode_frame(out, ty, |w| {
        w.u32(tag);
        w.u32(sock.0);
        Ok(())
    })
}

fn tag_sock_addr(
    out: &mut Vec<u8>,
    ty: u8,
    tag: Tag,
    sock: SocketId,
    addr: &SocketAddr,
) -> Result<(), ChannelError> {
    encode_frame(out, ty, |w| {
        w.u32(tag);
        w.u32(sock.0);
        w.socket_addr(addr);
        Ok(())
    })
}

fn encode_data(out: &mut Vec<u8>, sock: SocketId, data: &[u8]) -> Result<(), ChannelError> {
    encode_frame(out, DATA, |w| {
        w.u32(sock.0);
        w.data(data)
    })
}

fn encode_datagram(
    out: &mut Vec<u8>,
    sock: SocketId,
    addr: Option<&SocketAddr>,
    data: &[u8],
) -> Result<(), ChannelError> {
    encode_frame(out, DATAGRAM, |w| {
        w.u32(sock.0);
        w.socket_addr_opt(addr);
        w.data(data)
    })
}

fn encode_credit(out: &mut Vec<u8>, sock: SocketId, amount: u32) -> Result<(), ChannelError> {
    encode_frame(out, CREDIT, |w| {
        w.u32(sock.0);
        w.u32(amount);
        Ok(())
    })
}

#[cfg(test)]
pub(crate) mod tests;
