//! Byte-level primitives of the channel messages: little-endian integers
//! and socket addresses, read by a cursor that never reads past its slice.

use crate::channel::{check_data, ChannelError};
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `AF_UNSPEC`: "no address" where an address is optional.
pub(crate) const AF_UNSPEC: u16 = 0;
/// `AF_INET` (`include/linux/socket.h`).
pub(crate) const AF_INET: u16 = 2;
/// `AF_INET6` (`include/linux/socket.h`).
pub(crate) const AF_INET6: u16 = 10;

/// A cursor over one received frame body.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ChannelError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(ChannelError::Truncated)?;
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ChannelError> {
        self.array().map(u8::from_le_bytes)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ChannelError> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ChannelError> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, ChannelError> {
        self.array().map(i32::from_le_bytes)
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], ChannelError> {
        let (head, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(ChannelError::Truncated)?;
        self.rest = rest;
        Ok(head)
    }

    /// The rest of the body.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// The rest of the body as a data payload: at most [`MAX_DATA`](crate::channel::MAX_DATA)
    /// bytes, as the sender may send (the frame bound leaves a little more).
    pub(crate) fn data(&mut self) -> Result<&'a [u8], ChannelError> {
        let data = self.rest();
        check_data(data)?;
        Ok(data)
    }

    /// `family[2]` then, for `AF_INET`, `port[2] addr[4]`, for `AF_INET6`,
    /// `port[2] flowinfo[4] addr[16] scope_id[4]`; `AF_UNSPEC` is `None`.
    pub(crate) fn socket_addr_opt(&mut self) -> Result<Option<SocketAddr>, ChannelError> {
        match self.u16()? {
            AF_UNSPEC => Ok(None),
            AF_INET => {
                let port = self.u16()?;
                let ip = Ipv4Addr::from(self.array::<4>()?);
                Ok(Some(SocketAddr::V4(SocketAddrV4::new(ip, port))))
            }
            AF_INET6 => {
                let port = self.u16()?;
                let flowinfo = self.u32()?;
                let ip = Ipv6Addr::from(self.array::<16>()?);
                let scope_id = self.u32()?;
                Ok(Some(SocketAddr::V6(SocketAddrV6::new(
                    ip, port, flowinfo, scope_id,
                ))))
            }
            _ => Err(ChannelError::BadValue("address family")),
        }
    }

    pub(crate) fn socket_addr(&mut self) -> Result<SocketAddr, ChannelError> {
        self.socket_addr_opt()?
            .ok_or(ChannelError::BadValue("address family"))
    }

    /// Every byte of the body must belong to a field.
    pub(crate) fn finish(&self) -> Result<(), ChannelError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(ChannelError::TrailingBytes(n)),
        }
    }
}

/// Appends fields to a frame body.
pub(crate) struct Writer<'v> {
    pub(crate) out: &'v mut Vec<u8>,
}

impl Writer<'_> {
    pub(crate) fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub(crate) fn socket_addr_opt(&mut self, addr: Option<&SocketAddr>) {
        match addr {
            None => self.u16(AF_UNSPEC),
            Some(SocketAddr::V4(a)) => {
                self.u16(AF_INET);
                self.u16(a.port());
                self.bytes(&a.ip().octets());
            }
            Some(SocketAddr::V6(a)) => {
                self.u16(AF_INET6);
                self.u16(a.port());
                self.u32(a.flowinfo());
                self.bytes(&a.ip().octets());
                self.u32(a.scope_id());
            }
        }
    }

    pub(crate) fn socket_addr(&mut self, addr: &SocketAddr) {
        self.socket_addr_opt(Some(addr));
    }
}
