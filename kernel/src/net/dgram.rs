//! Datagrams inside the guest: AF_UNIX `SOCK_DGRAM` and the loopback's
//! UDP. Each socket has an [`Inbox`]: a bounded queue of whole messages
//! (their bytes in a ring of guest frames, their lengths and senders in a
//! short list), which senders find through the socket's name or its
//! connection.
//!
//! A full queue makes an AF_UNIX sender wait (or EAGAIN), as Linux's
//! `unix_dgram_sendmsg`; UDP drops the datagram, as a full socket buffer
//! does. A connected UDP socket takes datagrams from its peer only, and a
//! datagram it sends to a port nobody has bound comes back as ECONNREFUSED
//! on its next call (Linux's ICMP port unreachable).

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::socket::*;
use spin::Mutex;

use super::{
    bind_name, check_heap, cred_of, inet, name_ip, remember_waiter, unix, AddrOptions, ConnectCall,
    Domain, Endpoint, Kind, Name, Received, Transport,
};
use crate::fs::vfs::ProcessView;
use crate::mm::ring::Ring;
use crate::task::wait::WaitQueue;

/// Bytes of queued datagrams per socket (`net.core.rmem_default`).
const INBOX_CAPACITY: usize = 212_992;
/// Messages queued per socket, whatever their size (their headers live in
/// the kernel heap).
const INBOX_MESSAGES: usize = 512;
/// The largest AF_UNIX datagram: the send buffer less Linux's overhead.
const UNIX_MAX_DATAGRAM: usize = 212_992 - 32;
/// The largest UDP payloads: 65535 less the UDP and IP headers.
const UDP_MAX_V4: usize = 65_507;
const UDP_MAX_V6: usize = 65_527;

struct Message {
    len: usize,
    /// None for an unnamed AF_UNIX sender (`recvfrom` gives no address).
    from: Option<SockAddr>,
    /// Passed files and the sender's credentials (AF_UNIX).
    ancillary: super::Ancillary,
}

struct InboxState {
    ring: Ring,
    messages: VecDeque<Message>,
    shut_rd: bool,
    /// The pending error (`SO_ERROR`).
    error: Option<Errno>,
    /// A connected UDP socket's peer: datagrams from anyone else are
    /// dropped.
    only_from: Option<InetAddr>,
    /// Senders waiting for room: their sockets' queues.
    waiting: Vec<Weak<WaitQueue>>,
}

/// A datagram socket's receive queue.
pub struct Inbox {
    /// The socket waits here.
    queue: Arc<WaitQueue>,
    state: Mutex<InboxState>,
}

impl Inbox {
    fn new(queue: Arc<WaitQueue>) -> Self {
        Self {
            queue,
            state: Mutex::new(InboxState {
                ring: Ring::new(INBOX_CAPACITY),
                messages: VecDeque::new(),
                shut_rd: false,
                error: None,
                only_from: None,
                waiting: Vec::new(),
            }),
        }
    }

    fn is_full(state: &InboxState, len: usize) -> bool {
        state.messages.len() >= INBOX_MESSAGES || state.ring.room() < len
    }

    /// Queues `data` from `from`. A full queue is EAGAIN for AF_UNIX (the
    /// sender's queue is woken when room comes) and a silent drop for UDP.
    fn deliver(
        &self,
        data: &[u8],
        from: Option<SockAddr>,
        sender_queue: &Arc<WaitQueue>,
        udp: bool,
        ancillary: super::Ancillary,
    ) -> Result<(), Errno> {
        {
            let mut state = self.state.lock();
            if udp {
                let filtered = match (&state.only_from, &from) {
                    (Some(peer), Some(SockAddr::Inet(a) | SockAddr::Inet6(a))) => {
                        peer.port != a.port || peer.ip.unmapped() != a.ip.unmapped()
                    }
                    _ => false,
                };
                if filtered || state.shut_rd || Self::is_full(&state, data.len()) {
                    return Ok(());
                }
            } else if Self::is_full(&state, data.len()) {
                remember_waiter(&mut state.waiting, sender_queue);
                return Err(Errno::EAGAIN);
            }
            if check_heap().is_err() {
                // UDP drops what it has no memory for; AF_UNIX says so.
                return if udp { Ok(()) } else { Err(Errno::ENOBUFS) };
            }
            state.ring.push(data)?;
            state.messages.push_back(Message {
                len: data.len(),
                from,
                ancillary,
            });
        }
        self.queue.wake_all();
        Ok(())
    }

    fn has_room(&self) -> bool {
        !Self::is_full(&self.state.lock(), 1)
    }

    fn set_error(&self, error: Errno) {
        self.state.lock().error = Some(error);
        self.queue.wake_all();
    }
}

/// Where a connected datagram socket sends.
enum Peer {
    /// An AF_UNIX socket, held weakly (its closing ends the connection).
    Unix { inbox: Weak<Inbox> },
    /// A UDP address (looked up at each send: a socket may bind it later).
    Inet(InetAddr),
}

struct Inner {
    name: Option<Name>,
    peer: Option<Peer>,
    /// The peer as `getpeername` shows it.
    peer_addr: Option<SockAddr>,
    /// UDP: the source address `connect` chose (`getsockname`).
    connected_local: Option<SockAddr>,
    shut_wr: bool,
    peer_cred: Option<Ucred>,
}

/// A datagram socket (AF_UNIX, or UDP on the guest's loopback).
pub struct DgramSocket {
    domain: Domain,
    queue: Arc<WaitQueue>,
    inbox: Arc<Inbox>,
    inner: Mutex<Inner>,
}

impl DgramSocket {
    pub fn new(domain: Domain, queue: Arc<WaitQueue>) -> Self {
        Self {
            domain,
            inbox: Arc::new(Inbox::new(Arc::clone(&queue))),
            queue,
            inner: Mutex::new(Inner {
                name: None,
                peer: None,
                peer_addr: None,
                connected_local: None,
                shut_wr: false,
                peer_cred: None,
            }),
        }
    }

    /// `socketpair(AF_UNIX, SOCK_DGRAM)`: each end connected to the other.
    pub fn pair(queues: [Arc<WaitQueue>; 2], cred: Ucred) -> (Self, Self) {
        let [qa, qb] = queues;
        let a = Self::new(Domain::Unix, qa);
        let b = Self::new(Domain::Unix, qb);
        for (from, to) in [(&a, &b), (&b, &a)] {
            let mut inner = from.inner.lock();
            inner.peer = Some(Peer::Unix {
                inbox: Arc::downgrade(&to.inbox),
            });
            inner.peer_addr = Some(SockAddr::Unix(UnixAddr::Unnamed));
            inner.peer_cred = Some(cred);
        }
        (a, b)
    }

    fn udp(&self) -> bool {
        self.domain != Domain::Unix
    }

    fn max_datagram(&self) -> usize {
        match self.domain {
            Domain::Unix => UNIX_MAX_DATAGRAM,
            Domain::Inet => UDP_MAX_V4,
            Domain::Inet6 => UDP_MAX_V6,
        }
    }

    /// UDP: binds an ephemeral port if the socket has none (a send or a
    /// connect does, as Linux's autobind).
    fn autobind(
        &self,
        inner: &mut Inner,
        options: &AddrOptions,
        cx: Option<&dyn ProcessView>,
    ) -> Result<(), Errno> {
        if inner.name.is_some() {
            return Ok(());
        }
        let name = bind_name(
            self.domain,
            Kind::Dgram,
            &self.domain.unbound(),
            options,
            cx.unwrap_or(&crate::fs::vfs::NoProcess),
        )?;
        name.set_endpoint(Endpoint::Inbox(Arc::downgrade(&self.inbox)));
        inner.name = Some(name);
        Ok(())
    }

    fn send_unix(
        &self,
        inner: &mut Inner,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        ancillary: super::Ancillary,
    ) -> Result<usize, Errno> {
        let target = match to {
            Some((SockAddr::Unix(addr), cx)) => match unix::find(addr, Kind::Dgram, cx)? {
                Endpoint::Inbox(inbox) => inbox.upgrade().ok_or(Errno::ECONNREFUSED)?,
                _ => return Err(Errno::ECONNREFUSED),
            },
            Some(_) => return Err(Errno::EINVAL),
            None => match &inner.peer {
                Some(Peer::Unix { inbox }) => match inbox.upgrade() {
                    Some(inbox) => inbox,
                    None => {
                        // The peer has gone: the connection ends here.
                        inner.peer = None;
                        return Err(Errno::ECONNREFUSED);
                    }
                },
                _ => return Err(Errno::ENOTCONN),
            },
        };
        let from = inner.name.as_ref().map(|n| n.addr.clone());
        target.deliver(data, from, &self.queue, false, ancillary)?;
        Ok(data.len())
    }

    fn send_udp(
        &self,
        inner: &mut Inner,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
    ) -> Result<usize, Errno> {
        let (dst, connected) = match to {
            Some((SockAddr::Inet(a), _)) if self.domain == Domain::Inet => (*a, false),
            Some((SockAddr::Inet6(a), _)) if self.domain == Domain::Inet6 => (*a, false),
            Some((SockAddr::Unspec, _)) | None => match &inner.peer {
                Some(Peer::Inet(a)) => (*a, true),
                _ => return Err(Errno::EDESTADDRREQ),
            },
            Some(_) => return Err(Errno::EAFNOSUPPORT),
        };
        let route = inet::route(self.domain, dst.ip, options.v6only)?;
        if dst.port == 0 {
            return Err(Errno::EINVAL);
        }
        self.autobind(inner, options, to.map(|(_, cx)| cx))?;
        let name = inner.name.as_ref().expect("bound above");
        let port = name.inet().map_or(0, inet::Lease::port);
        let source = inet::source_for(name_ip(&name.addr), route);
        match inet::find_inbox(route, dst.port) {
            Some((inbox, receiver_domain)) => {
                let from = receiver_domain.inet_addr(InetAddr { ip: source, port });
                inbox.deliver(
                    data,
                    Some(from),
                    &self.queue,
                    true,
                    super::Ancillary::default(),
                )?;
            }
            None if connected => self.inbox.set_error(Errno::ECONNREFUSED),
            None => {}
        }
        Ok(data.len())
    }
}

impl Transport for DgramSocket {
    fn bind(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        if inner.name.is_some() {
            return Err(Errno::EINVAL);
        }
        let name = bind_name(self.domain, Kind::Dgram, addr, options, cx)?;
        name.set_endpoint(Endpoint::Inbox(Arc::downgrade(&self.inbox)));
        inner.name = Some(name);
        Ok(())
    }

    fn connect(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        call: ConnectCall<'_>,
    ) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        if *addr == SockAddr::Unspec {
            inner.peer = None;
            inner.peer_addr = None;
            inner.connected_local = None;
            self.inbox.state.lock().only_from = None;
            return Ok(());
        }
        match (self.domain, addr) {
            (Domain::Unix, SockAddr::Unix(target)) => {
                let inbox = match unix::find(target, Kind::Dgram, call.cx)? {
                    Endpoint::Inbox(inbox) => inbox,
                    _ => return Err(Errno::ECONNREFUSED),
                };
                if inbox.upgrade().is_none() {
                    return Err(Errno::ECONNREFUSED);
                }
                inner.peer = Some(Peer::Unix { inbox });
                inner.peer_addr = Some(addr.clone());
                inner.peer_cred = Some(cred_of(call.cx));
                Ok(())
            }
            (Domain::Inet, SockAddr::Inet(dst)) | (Domain::Inet6, SockAddr::Inet6(dst)) => {
                let route = inet::route(self.domain, dst.ip, options.v6only)?;
                self.autobind(&mut inner, options, Some(call.cx))?;
                let name = inner.name.as_ref().expect("bound above");
                let port = name.inet().map_or(0, inet::Lease::port);
                let source = inet::source_for(name_ip(&name.addr), route);
                let peer = InetAddr {
                    ip: route,
                    port: dst.port,
                };
                inner.connected_local = Some(self.domain.inet_addr(InetAddr { ip: source, port }));
                inner.peer = Some(Peer::Inet(peer));
                inner.peer_addr = Some(self.domain.inet_addr(peer));
                self.inbox.state.lock().only_from = Some(peer);
                Ok(())
            }
            (Domain::Unix, _) => Err(Errno::EINVAL),
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    fn send(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
    ) -> Result<usize, Errno> {
        let mut inner = self.inner.lock();
        if inner.shut_wr {
            return Err(Errno::EPIPE);
        }
        if self.udp() {
            if let Some(e) = self.inbox.state.lock().error.take() {
                return Err(e);
            }
        }
        if data.len() > self.max_datagram() {
            return Err(Errno::EMSGSIZE);
        }
        if self.udp() {
            self.send_udp(&mut inner, data, to, options)
        } else {
            self.send_unix(&mut inner, data, to, super::Ancillary::default())
        }
    }

    fn send_ancillary(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
        ancillary: super::Ancillary,
    ) -> Result<usize, Errno> {
        if self.udp() {
            return self.send(data, to, options);
        }
        let mut inner = self.inner.lock();
        if inner.shut_wr {
            return Err(Errno::EPIPE);
        }
        if data.len() > self.max_datagram() {
            return Err(Errno::EMSGSIZE);
        }
        self.send_unix(&mut inner, data, to, ancillary)
    }

    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        let waiting = {
            let mut state = self.inbox.state.lock();
            if let Some(e) = state.error.take() {
                return Err(e);
            }
            let Some(message) = state.messages.front() else {
                return if state.shut_rd {
                    Ok(Received::default())
                } else {
                    Err(Errno::EAGAIN)
                };
            };
            let len = message.len.min(buf.len());
            state.ring.peek(0, &mut buf[..len]);
            let mut received = Received {
                len,
                full_len: message.len,
                from: message.from.clone(),
                ancillary: message.ancillary.clone(),
            };
            if flags & MSG_PEEK != 0 {
                return Ok(received);
            }
            let full = message.len;
            // The files go to this receiver alone.
            if let Some(message) = state.messages.front_mut() {
                received.ancillary.files = core::mem::take(&mut message.ancillary.files);
            }
            state.ring.discard(full);
            state.messages.pop_front();
            (received, core::mem::take(&mut state.waiting))
        };
        let (received, waiting) = waiting;
        for queue in waiting.iter().filter_map(Weak::upgrade) {
            queue.wake_all();
        }
        Ok(received)
    }

    fn shutdown(&self, how: u64) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        if how != SHUT_RD {
            inner.shut_wr = true;
        }
        if how != SHUT_WR {
            self.inbox.state.lock().shut_rd = true;
        }
        let connected = inner.peer.is_some();
        drop(inner);
        self.queue.wake_all();
        if self.udp() && !connected {
            // `inet_shutdown` of an unconnected socket: the flags are set
            // all the same.
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }

    fn local_addr(&self) -> SockAddr {
        let inner = self.inner.lock();
        if let Some(local) = &inner.connected_local {
            return local.clone();
        }
        inner
            .name
            .as_ref()
            .map_or_else(|| self.domain.unbound(), |n| n.addr.clone())
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        self.inner.lock().peer_addr.clone().ok_or(Errno::ENOTCONN)
    }

    /// `datagram_poll` and `unix_dgram_poll`.
    fn poll(&self) -> u16 {
        let (shut_wr, peer) = {
            let inner = self.inner.lock();
            let peer = match &inner.peer {
                Some(Peer::Unix { inbox }) => inbox.upgrade(),
                _ => None,
            };
            (inner.shut_wr, peer)
        };
        let mut mask = 0;
        {
            let state = self.inbox.state.lock();
            if state.error.is_some() {
                mask |= POLLERR;
            }
            if state.shut_rd {
                mask |= POLLIN | POLLRDNORM | POLLRDHUP;
                if shut_wr {
                    mask |= POLLHUP;
                }
            }
            if !state.messages.is_empty() {
                mask |= POLLIN | POLLRDNORM;
            }
        }
        // An AF_UNIX socket whose peer's queue is full may not write.
        if peer.is_none_or(|inbox| Arc::ptr_eq(&inbox, &self.inbox) || inbox.has_room()) {
            mask |= POLLOUT | POLLWRNORM;
        }
        mask
    }

    fn take_error(&self) -> Option<Errno> {
        self.inbox.state.lock().error.take()
    }

    fn readable_bytes(&self) -> usize {
        self.inbox
            .state
            .lock()
            .messages
            .front()
            .map_or(0, |m| m.len)
    }

    fn peer_cred(&self) -> Option<Ucred> {
        self.inner.lock().peer_cred
    }

    fn is_idle(&self) -> bool {
        self.inner.lock().peer.is_none()
    }
}
