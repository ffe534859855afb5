//! Sockets: the constants of `<sys/socket.h>`, `<netinet/in.h>` and
//! `<linux/un.h>`, socket addresses decoded from and encoded to the bytes
//! the workload passes, and `struct msghdr`.
//!
//! Decoding follows Linux's checks (`unix_validate_addr`,
//! `inet_bind`/`__inet_stream_connect`, `inet6_bind`): a short or
//! malformed address is an errno here, before the kernel acts on it.

use alloc::vec::Vec;

use crate::errno::Errno;

// Address families (`AF_*`, a C `int` / `sa_family_t`).
pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const AF_NETLINK: u16 = 16;
pub const AF_PACKET: u16 = 17;

// Socket types (the low bits of `socket`'s type argument) and the flags
// that may be or-ed in.
pub const SOCK_STREAM: u32 = 1;
pub const SOCK_DGRAM: u32 = 2;
pub const SOCK_RAW: u32 = 3;
pub const SOCK_SEQPACKET: u32 = 5;
pub const SOCK_TYPE_MASK: u32 = 0xf;
pub const SOCK_NONBLOCK: u32 = 0o4000;
pub const SOCK_CLOEXEC: u32 = 0o2_000_000;

// `send`/`recv` flags.
pub const MSG_OOB: u32 = 0x1;
pub const MSG_PEEK: u32 = 0x2;
pub const MSG_DONTROUTE: u32 = 0x4;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_EOR: u32 = 0x80;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_MORE: u32 = 0x8000;
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

// `shutdown`'s `how`.
pub const SHUT_RD: u64 = 0;
pub const SHUT_WR: u64 = 1;
pub const SHUT_RDWR: u64 = 2;

// Protocol levels of `[gs]etsockopt`.
pub const SOL_SOCKET: u64 = 1;
pub const IPPROTO_IP: u64 = 0;
pub const IPPROTO_TCP: u64 = 6;
pub const IPPROTO_UDP: u64 = 17;
pub const IPPROTO_IPV6: u64 = 41;

// `SOL_SOCKET` options.
pub const SO_DEBUG: u64 = 1;
pub const SO_REUSEADDR: u64 = 2;
pub const SO_TYPE: u64 = 3;
pub const SO_ERROR: u64 = 4;
pub const SO_DONTROUTE: u64 = 5;
pub const SO_BROADCAST: u64 = 6;
pub const SO_SNDBUF: u64 = 7;
pub const SO_RCVBUF: u64 = 8;
pub const SO_KEEPALIVE: u64 = 9;
pub const SO_OOBINLINE: u64 = 10;
pub const SO_PRIORITY: u64 = 12;
pub const SO_LINGER: u64 = 13;
pub const SO_REUSEPORT: u64 = 15;
pub const SO_PASSCRED: u64 = 16;
pub const SO_PEERCRED: u64 = 17;
pub const SO_RCVLOWAT: u64 = 18;
pub const SO_SNDLOWAT: u64 = 19;
pub const SO_RCVTIMEO: u64 = 20;
pub const SO_SNDTIMEO: u64 = 21;
pub const SO_ACCEPTCONN: u64 = 30;
pub const SO_SNDBUFFORCE: u64 = 32;
pub const SO_RCVBUFFORCE: u64 = 33;
pub const SO_PROTOCOL: u64 = 38;
pub const SO_DOMAIN: u64 = 39;

// `IPPROTO_TCP` options.
pub const TCP_NODELAY: u64 = 1;
pub const TCP_MAXSEG: u64 = 2;
pub const TCP_CORK: u64 = 3;
pub const TCP_KEEPIDLE: u64 = 4;
pub const TCP_KEEPINTVL: u64 = 5;
pub const TCP_KEEPCNT: u64 = 6;
pub const TCP_QUICKACK: u64 = 12;

// `IPPROTO_IP` and `IPPROTO_IPV6` options.
pub const IP_TOS: u64 = 1;
pub const IP_TTL: u64 = 2;
pub const IPV6_V6ONLY: u64 = 26;

/// `sizeof(struct sockaddr_un)`: the family and 108 bytes of path.
pub const SOCKADDR_UN_LEN: usize = 110;
pub const UNIX_PATH_MAX: usize = 108;
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;
/// The shortest `sockaddr_in6` Linux takes (RFC 2133's, without scope id).
pub const SOCKADDR_IN6_MIN_LEN: usize = 24;
/// The largest address the kernel copies in (`sizeof(struct
/// sockaddr_storage)`); a longer `addrlen` is EINVAL.
pub const SOCKADDR_STORAGE_LEN: usize = 128;
/// `sizeof(sa_family_t)`.
const FAMILY_LEN: usize = 2;

/// An AF_UNIX address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnixAddr {
    /// No name: an unbound socket, or `bind` with only the family
    /// (autobind).
    Unnamed,
    /// A file system path (without the terminating NUL).
    Path(Vec<u8>),
    /// A name in the abstract namespace (the bytes after the leading NUL).
    Abstract(Vec<u8>),
}

/// An IPv4 or IPv6 address with its port. An IPv6 address keeps its
/// flow info and scope id only as far as `getsockname` shows zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct InetAddr {
    pub ip: Ip,
    pub port: u16,
}

/// An IP address as the socket layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Ip {
    pub const V4_ANY: Ip = Ip::V4([0; 4]);
    pub const V4_LOOPBACK: Ip = Ip::V4([127, 0, 0, 1]);
    pub const V6_ANY: Ip = Ip::V6([0; 16]);
    pub const V6_LOOPBACK: Ip = Ip::V6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

    /// The wildcard address (`INADDR_ANY`, `in6addr_any`).
    pub fn is_unspecified(&self) -> bool {
        match self {
            Ip::V4(a) => *a == [0; 4],
            Ip::V6(a) => *a == [0; 16],
        }
    }

    /// 127.0.0.0/8 or ::1 (also as a v4-mapped address).
    pub fn is_loopback(&self) -> bool {
        match self.unmapped() {
            Ip::V4(a) => a[0] == 127,
            Ip::V6(a) => a == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        }
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 one.
    pub fn unmapped(self) -> Ip {
        match self {
            Ip::V6(a) if a[..10] == [0; 10] && a[10..12] == [0xff, 0xff] => {
                Ip::V4([a[12], a[13], a[14], a[15]])
            }
            other => other,
        }
    }

    /// The address as an AF_INET6 socket shows it: IPv4 as v4-mapped.
    pub fn mapped(self) -> [u8; 16] {
        match self {
            Ip::V4(a) => [
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3],
            ],
            Ip::V6(a) => a,
        }
    }
}

/// A decoded `struct sockaddr`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SockAddr {
    /// `AF_UNSPEC` (connect's "dissolve the association").
    Unspec,
    Unix(UnixAddr),
    Inet(InetAddr),
    Inet6(InetAddr),
}

impl SockAddr {
    /// Decodes the `addrlen` bytes the workload passed (at most
    /// [`SOCKADDR_STORAGE_LEN`]; the caller checks that before copying).
    ///
    /// - `EINVAL`: shorter than the family field, or than the family's
    ///   address; an AF_UNIX address longer than `sockaddr_un`.
    /// - `EAFNOSUPPORT`: a family lamina has no sockets for.
    pub fn decode(bytes: &[u8]) -> Result<Self, Errno> {
        if bytes.len() < FAMILY_LEN {
            return Err(Errno::EINVAL);
        }
        let family = u16::from_le_bytes([bytes[0], bytes[1]]);
        match family {
            AF_UNSPEC => Ok(SockAddr::Unspec),
            AF_UNIX => decode_unix(bytes).map(SockAddr::Unix),
            AF_INET => {
                if bytes.len() < SOCKADDR_IN_LEN {
                    return Err(Errno::EINVAL);
                }
                Ok(SockAddr::Inet(InetAddr {
                    port: u16::from_be_bytes([bytes[2], bytes[3]]),
                    ip: Ip::V4([bytes[4], bytes[5], bytes[6], bytes[7]]),
                }))
            }
            AF_INET6 => {
                if bytes.len() < SOCKADDR_IN6_MIN_LEN {
                    return Err(Errno::EINVAL);
                }
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&bytes[8..24]);
                Ok(SockAddr::Inet6(InetAddr {
                    port: u16::from_be_bytes([bytes[2], bytes[3]]),
                    ip: Ip::V6(ip),
                }))
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// Decodes an address given to a socket of family `domain`, with
    /// Linux's checks in its order for that family (the length first, then
    /// the family): an AF_INET socket takes AF_INET (and AF_UNSPEC, which
    /// `connect` uses to dissolve an association, and `bind` takes as
    /// INADDR_ANY), an AF_INET6 socket AF_INET6 (and AF_UNSPEC), an AF_UNIX
    /// socket AF_UNIX only (anything else is EINVAL there).
    pub fn decode_for(domain: u16, bytes: &[u8]) -> Result<Self, Errno> {
        if bytes.len() < FAMILY_LEN {
            return Err(Errno::EINVAL);
        }
        let family = u16::from_le_bytes([bytes[0], bytes[1]]);
        match domain {
            AF_UNIX if family != AF_UNIX => Err(Errno::EINVAL),
            AF_INET | AF_INET6 if family == AF_UNSPEC => Ok(SockAddr::Unspec),
            AF_INET if bytes.len() < SOCKADDR_IN_LEN => Err(Errno::EINVAL),
            AF_INET if family != AF_INET => Err(Errno::EAFNOSUPPORT),
            AF_INET6 if bytes.len() < SOCKADDR_IN6_MIN_LEN => Err(Errno::EINVAL),
            AF_INET6 if family != AF_INET6 => Err(Errno::EAFNOSUPPORT),
            _ => Self::decode(bytes),
        }
    }

    /// The bytes `getsockname`, `getpeername`, `accept` and `recvfrom`
    /// hand back, as long as Linux makes them (an unnamed AF_UNIX socket:
    /// the family alone; a path: with its NUL; an abstract name: without).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            SockAddr::Unspec => out.extend_from_slice(&AF_UNSPEC.to_le_bytes()),
            SockAddr::Unix(addr) => {
                out.extend_from_slice(&AF_UNIX.to_le_bytes());
                match addr {
                    UnixAddr::Unnamed => {}
                    UnixAddr::Path(path) => {
                        out.extend_from_slice(path);
                        out.push(0);
                    }
                    UnixAddr::Abstract(name) => {
                        out.push(0);
                        out.extend_from_slice(name);
                    }
                }
            }
            SockAddr::Inet(addr) => {
                let ip = match addr.ip.unmapped() {
                    Ip::V4(a) => a,
                    Ip::V6(_) => [0; 4],
                };
                out.extend_from_slice(&AF_INET.to_le_bytes());
                out.extend_from_slice(&addr.port.to_be_bytes());
                out.extend_from_slice(&ip);
                out.extend_from_slice(&[0; 8]);
            }
            SockAddr::Inet6(addr) => {
                out.extend_from_slice(&AF_INET6.to_le_bytes());
                out.extend_from_slice(&addr.port.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&addr.ip.mapped());
                out.extend_from_slice(&[0; 4]);
            }
        }
        out
    }
}

/// `unix_validate_addr` and `unix_mkname_bsd`: the path ends at its first
/// NUL or at `addrlen`, whichever comes first; a leading NUL makes the
/// rest (to `addrlen`) an abstract name.
fn decode_unix(bytes: &[u8]) -> Result<UnixAddr, Errno> {
    if bytes.len() > SOCKADDR_UN_LEN {
        return Err(Errno::EINVAL);
    }
    let path = &bytes[FAMILY_LEN..];
    match path.first() {
        None => Ok(UnixAddr::Unnamed),
        Some(0) => Ok(UnixAddr::Abstract(path[1..].to_vec())),
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            Ok(UnixAddr::Path(path[..end].to_vec()))
        }
    }
}

/// `struct msghdr` (56 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
    pub flags: u32,
}

impl MsgHdr {
    pub const SIZE: usize = 56;
    /// Where the kernel writes back what it filled in (`recvmsg`).
    pub const NAMELEN_OFFSET: u64 = 8;
    pub const CONTROLLEN_OFFSET: u64 = 40;
    pub const FLAGS_OFFSET: u64 = 48;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        Self {
            name: u64_at(0),
            namelen: u32_at(8),
            iov: u64_at(16),
            iovlen: u64_at(24),
            control: u64_at(32),
            controllen: u64_at(40),
            flags: u32_at(48),
        }
    }
}

/// `struct linger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Linger {
    pub onoff: i32,
    pub linger: i32,
}

impl Linger {
    pub const SIZE: usize = 8;

    pub fn to_bytes(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.onoff.to_le_bytes());
        out[4..].copy_from_slice(&self.linger.to_le_bytes());
        out
    }

    pub fn from_bytes(b: &[u8; 8]) -> Self {
        Self {
            onoff: i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            linger: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// `struct ucred` (`SO_PEERCRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ucred {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    pub const SIZE: usize = 12;

    pub fn to_bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.pid.to_le_bytes());
        out[4..8].copy_from_slice(&self.uid.to_le_bytes());
        out[8..].copy_from_slice(&self.gid.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests;
