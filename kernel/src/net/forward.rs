//! Sockets forwarded to the host proxy over the "net" channel
//! (`lamina_proto::net`): the transports of AF_INET and AF_INET6 sockets
//! whose peers lie outside the guest's loopback, and the host half of a
//! guest listener that published ports (`-p`) lead to.
//!
//! Each forwarded socket is a [`Conn`], shared by its transport and
//! found by its [`SocketId`] in one table, which [`receive`] consults for
//! every message from the host (weakly: the transport owns the socket).
//! Requests carry tags; the table remembers what each outstanding tag
//! was for, so a reply finds its socket and its meaning. The host
//! proxy's choices (host/src/proxy) shape the steps:
//!
//! - A socket exists on the host only from its Socket reply on; every
//!   other request waits for it (an id the host does not know ends the
//!   channel). So a connect is Socket, then (options, Bind, Connect)
//!   when its reply comes, then GetSockName, whose reply completes the
//!   connect with the local address the host chose. A blocking call
//!   waits on the socket's queue through all of it, re-run at each wake;
//!   the progress lives here, in the [`Conn`].
//! - Bytes flow within credit ([`lamina_proto::flow`]). Bytes from the
//!   host land in a ring of guest frames as large as the window granted,
//!   so they never grow the kernel heap; the window reopens as the
//!   workload reads.
//! - Frames that cannot go when they are made (the transport has no
//!   room, or older frames wait) queue in a bounded backlog, flushed in
//!   order when the channel has room ([`channel_room`]); a sender that
//!   finds no room waits on its socket's queue, woken from there too.
//! - Closing: the last reference sends Close (after the Socket reply if
//!   that is still on its way); the id is free again when Close is
//!   answered, and until then whatever the host still sends for it is
//!   dropped.
//!
//! Anything inconsistent from the host (an id or tag it was never given,
//! data past its credit) is a protocol error: [`receive`] fails and the
//! channel closes, never the kernel. Once the channel is down every
//! forwarded socket fails (ENETDOWN, ECONNRESET, EPIPE) and its waiters
//! wake.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::socket::*;
use lamina_proto::channel::{Channel, ChannelError, Frame, LEN_FIELD, MAX_DATA};
use lamina_proto::flow::{RecvWindow, SendCredit};
use lamina_proto::net::{
    Family, GuestMsg, HostMsg, Readiness, ReplyValue, Shutdown, SockOpt, SockOptName, SockOptValue,
    SockType, SocketFlags, SocketId, Tag,
};
use lamina_proto::trace::TraceKind;
use spin::Mutex;

use super::{check_heap, remember_waiter, Accepted, Domain, Received, Transport};
use crate::channel;
use crate::mm::ring::Ring;
use crate::task::wait::WaitQueue;

/// Forwarded sockets at once (the host proxy's default limit too); one
/// more is EMFILE.
const MAX_SOCKETS: usize = 1024;
/// A stream's receive window, and the ring that holds it.
pub const STREAM_WINDOW: usize = 256 * 1024;
/// A datagram socket's receive window in bytes of datagrams.
const DGRAM_WINDOW: usize = 256 * 1024;
/// Datagrams queued per socket, whatever their size (their headers live
/// in the kernel heap); more are dropped, as a full buffer drops them.
const MAX_DATAGRAMS: usize = 512;
/// Datagrams a socket holds while its host socket opens.
const MAX_EARLY_DATAGRAMS: usize = 8;
/// Bytes of frames waiting for room in the channel.
const BACKLOG_MAX: usize = 256 * 1024;
/// A listener's window in connections: its backlog, within bounds.
const MAX_LISTEN_WINDOW: u32 = 4096;

/// What a forwarded socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Stream,
    Dgram,
    Listener,
}

/// How far a socket has come with the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet.
    Fresh,
    /// Socket sent, its reply not here yet.
    Opening,
    /// The host has the socket.
    Open,
    /// Connect sent.
    Connecting,
    /// Connected; GetSockName sent for the local address.
    Naming,
    Connected,
    /// Listen answered, credit granted.
    Listening,
    /// The socket, its connect or its listen failed with this errno.
    Failed(Errno),
}

/// What a tagged request was, for its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Socket,
    Connect,
    SockName,
    Listen,
    Close,
    /// A request whose reply only matters when it fails (logged).
    Other(&'static str),
}

/// One datagram queued for the workload.
struct Message {
    len: usize,
    from: SockAddr,
}

struct State {
    phase: Phase,
    /// The host has the socket (its Socket was answered, or the host
    /// made it): it must hear Close.
    host_has: bool,
    /// The pending error (`SO_ERROR`).
    error: Option<Errno>,
    /// The connection broke (reset, or the host's error): no more
    /// writes, reads end after the bytes buffered.
    broken: bool,
    /// The peer sent its last byte.
    eof: bool,
    shut_rd: bool,
    shut_wr: bool,
    /// Linux's `SS_CONNECTING`: a connect began that no `connect` call has
    /// seen end yet.
    connecting: bool,
    /// A blocking datagram connect waits for its reply.
    connect_waiting: bool,
    /// Where the socket connects once the host has it.
    connect_to: Option<SocketAddr>,
    /// The guest's bind address (sent as Bind once the host has the socket).
    bind: Option<SocketAddr>,
    /// A listener's backlog (sent as Listen).
    backlog: u32,
    /// Options to apply once the host has the socket.
    opts: Vec<SockOpt>,
    local: Option<SockAddr>,
    peer: Option<SockAddr>,
    /// What the host lets us send (bytes; datagram bytes).
    credit: SendCredit,
    /// What we let the host send (bytes; datagram bytes; connections).
    window: RecvWindow,
    rx: Ring,
    messages: VecDeque<Message>,
    /// Datagrams sent before the host socket opened: address and bytes.
    early: VecDeque<(SocketAddr, Vec<u8>)>,
    /// A listener's connections not yet accepted.
    accepted: VecDeque<Arc<Conn>>,
}

/// One forwarded socket.
pub struct Conn {
    id: SocketId,
    role: Role,
    domain: Domain,
    queue: Arc<WaitQueue>,
    state: Mutex<State>,
}

struct Entry {
    conn: Weak<Conn>,
    /// Closed while its Socket reply was on its way: send Close when it
    /// comes.
    close_when_open: bool,
    /// A listener closing: the connections the host may still push (its
    /// unspent credit); one more is the host's protocol error.
    accept_credit: u32,
}

struct Table {
    socks: BTreeMap<u32, Entry>,
    tags: BTreeMap<Tag, (SocketId, Op)>,
    next_id: u32,
    next_tag: Tag,
    /// Frames waiting for room in the channel, in order.
    backlog: VecDeque<Vec<u8>>,
    backlog_bytes: usize,
    /// Sockets waiting for room in the channel.
    stalled: Vec<Weak<WaitQueue>>,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    socks: BTreeMap::new(),
    tags: BTreeMap::new(),
    next_id: 1,
    next_tag: 1,
    backlog: VecDeque::new(),
    backlog_bytes: 0,
    stalled: Vec::new(),
});

/// Whether sockets may be forwarded now.
pub fn available() -> bool {
    channel::is_up(Channel::Net)
}

impl Table {
    fn alloc_id(&mut self) -> Result<SocketId, Errno> {
        if self.socks.len() >= MAX_SOCKETS {
            return Err(Errno::EMFILE);
        }
        loop {
            let id = self.next_id;
            self.next_id = match id + 1 {
                n if n & SocketId::HOST_ASSIGNED != 0 => 1,
                n => n,
            };
            if !self.socks.contains_key(&id) {
                return Ok(SocketId(id));
            }
        }
    }

    fn alloc_tag(&mut self, sock: SocketId, op: Op) -> Tag {
        loop {
            let tag = self.next_tag;
            self.next_tag = self.next_tag.wrapping_add(1);
            if let alloc::collections::btree_map::Entry::Vacant(slot) = self.tags.entry(tag) {
                slot.insert((sock, op));
                return tag;
            }
        }
    }

    /// Sends what waits, in order, while the channel has room.
    fn flush(&mut self) {
        while let Some(frame) = self.backlog.front() {
            match channel::send(Channel::Net, frame) {
                Ok(()) => {
                    self.backlog_bytes -= frame.len();
                    self.backlog.pop_front();
                }
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    // The channel is gone: nothing will be read.
                    self.backlog.clear();
                    self.backlog_bytes = 0;
                    return;
                }
            }
        }
    }

    /// Sends `frame` now or after the frames that wait. EPIPE when the
    /// channel is down, ENOBUFS when too much waits already.
    fn post(&mut self, frame: Vec<u8>) -> Result<(), Errno> {
        self.post_bounded(frame, true)
    }

    /// As [`Self::post`], for the frames that must never be dropped
    /// (Close, Credit: losing one leaks a host socket or shrinks a window
    /// for good). They wait past the backlog's bound, which stays bounded:
    /// one Close per socket, a Credit per half window read.
    fn post_essential(&mut self, msg: &GuestMsg<'_>) -> Result<(), Errno> {
        crate::trace::forwarded_message(TraceKind::Net, "> ", msg);
        let mut frame = Vec::new();
        msg.encode(&mut frame).map_err(|_| Errno::EINVAL)?;
        self.post_bounded(frame, false)
    }

    fn post_bounded(&mut self, frame: Vec<u8>, bounded: bool) -> Result<(), Errno> {
        if !available() {
            return Err(Errno::EPIPE);
        }
        self.flush();
        if self.backlog.is_empty() {
            match channel::send(Channel::Net, &frame) {
                Ok(()) => return Ok(()),
                Err(Errno::EAGAIN) => {}
                Err(e) => return Err(e),
            }
        }
        if bounded && self.backlog_bytes + frame.len() > BACKLOG_MAX {
            return Err(Errno::ENOBUFS);
        }
        self.backlog_bytes += frame.len();
        self.backlog.push_back(frame);
        Ok(())
    }

    /// Sends a message (see [`Self::post`]).
    fn post_msg(&mut self, msg: &GuestMsg<'_>) -> Result<(), Errno> {
        crate::trace::forwarded_message(TraceKind::Net, "> ", msg);
        let mut frame = Vec::new();
        msg.encode(&mut frame).map_err(|_| Errno::EINVAL)?;
        self.post(frame)
    }

    /// Sends a tagged request for `sock`; the tag is forgotten again if
    /// it cannot go.
    fn request(
        &mut self,
        sock: SocketId,
        op: Op,
        msg: impl FnOnce(Tag) -> GuestMsg<'static>,
    ) -> Result<(), Errno> {
        // A host that never replies would otherwise grow the tag table
        // with every request.
        check_heap()?;
        let tag = self.alloc_tag(sock, op);
        let result = self.post_msg(&msg(tag));
        if result.is_err() {
            self.tags.remove(&tag);
        }
        result
    }

    /// Sends data frames (`header` then `data`) now, or EAGAIN with the
    /// socket remembered for [`channel_room`]: data never waits in the
    /// backlog, so its socket's credit paces it.
    fn send_data(
        &mut self,
        header: &[u8],
        data: &[u8],
        queue: &Arc<WaitQueue>,
    ) -> Result<(), Errno> {
        if !available() {
            return Err(Errno::EPIPE);
        }
        self.flush();
        let result = if self.backlog.is_empty() {
            channel::send_parts(Channel::Net, &[header, data])
        } else {
            Err(Errno::EAGAIN)
        };
        if result == Err(Errno::EAGAIN) {
            remember_waiter(&mut self.stalled, queue);
        }
        result
    }

    fn close(&mut self, id: SocketId) {
        let tag = self.alloc_tag(id, Op::Close);
        if self
            .post_essential(&GuestMsg::Close { tag, sock: id })
            .is_err()
        {
            // The channel is down: the host has forgotten it too.
            self.tags.remove(&tag);
            self.socks.remove(&id.0);
        }
    }
}

/// The channel took bytes: frames that waited go, senders that waited
/// try again. (`crate::channel` calls this after servicing the device.)
pub fn channel_room() {
    let stalled = {
        let mut table = TABLE.lock();
        if table.backlog.is_empty() && table.stalled.is_empty() {
            return;
        }
        table.flush();
        core::mem::take(&mut table.stalled)
    };
    for queue in stalled.iter().filter_map(Weak::upgrade) {
        queue.wake_all();
    }
}

/// The channel has closed: every forwarded socket fails, and its waiters
/// wake to see it.
pub fn channel_closed() {
    let conns: Vec<Arc<Conn>> = {
        let mut table = TABLE.lock();
        table.backlog.clear();
        table.backlog_bytes = 0;
        table.tags.clear();
        let conns = table
            .socks
            .values()
            .filter_map(|e| e.conn.upgrade())
            .collect();
        table.socks.clear();
        conns
    };
    for conn in &conns {
        conn.queue.wake_all();
    }
    drop(conns);
}

/// `addr` as the wire carries it, in the family of a socket of `domain`
/// (an IPv4 peer of an AF_INET6 socket stays v4-mapped).
pub fn to_wire(domain: Domain, addr: &SockAddr) -> Option<SocketAddr> {
    match (domain, addr) {
        (Domain::Inet, SockAddr::Inet(a)) => match a.ip.unmapped() {
            Ip::V4(ip) => Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(ip),
                a.port,
            ))),
            Ip::V6(_) => None,
        },
        (Domain::Inet6, SockAddr::Inet6(a)) => Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(a.ip.mapped()),
            a.port,
            0,
            0,
        ))),
        _ => None,
    }
}

/// An address from the wire as a socket of `domain` shows it.
pub fn from_wire(domain: Domain, addr: SocketAddr) -> SockAddr {
    let ip = match addr {
        SocketAddr::V4(a) => Ip::V4(a.ip().octets()),
        SocketAddr::V6(a) => Ip::V6(a.ip().octets()).unmapped(),
    };
    domain.inet_addr(InetAddr {
        ip,
        port: addr.port(),
    })
}

fn family(domain: Domain) -> Family {
    match domain {
        Domain::Inet6 => Family::Inet6,
        _ => Family::Inet,
    }
}

/// The socket option a `setsockopt` sets on the host socket, if any:
/// those that change what the host's TCP or UDP does.
pub fn host_option(level: u64, name: u64, value: &[u8]) -> Option<SockOpt> {
    let name = SockOptName::from_linux(u32::try_from(level).ok()?, u32::try_from(name).ok()?)?;
    let int = |at: usize| -> Option<i32> {
        Some(i32::from_le_bytes(value.get(at..at + 4)?.try_into().ok()?))
    };
    let value = match name {
        SockOptName::Error
        | SockOptName::ReuseAddr
        | SockOptName::ReusePort
        | SockOptName::Ipv6V6Only => return None,
        SockOptName::Linger => SockOptValue::Linger {
            onoff: int(0)?,
            seconds: int(4)?,
        },
        _ => SockOptValue::Int(int(0)?),
    };
    Some(SockOpt { name, value })
}

/// A frame's header for `msg` whose data (empty in `msg`) is `len` bytes.
fn data_header(msg: &GuestMsg<'_>, len: usize) -> Result<Vec<u8>, Errno> {
    let mut header = Vec::new();
    msg.encode(&mut header).map_err(|_| Errno::EINVAL)?;
    let frame_len = u32::from_le_bytes(header[..LEN_FIELD].try_into().expect("4 bytes"));
    let frame_len = frame_len + u32::try_from(len).map_err(|_| Errno::EMSGSIZE)?;
    header[..LEN_FIELD].copy_from_slice(&frame_len.to_le_bytes());
    Ok(header)
}

impl Conn {
    /// As [`Self::new`], with the address the guest bound and the options
    /// it set before the socket left the guest, to apply on the host.
    fn prepared(
        domain: Domain,
        role: Role,
        queue: Arc<WaitQueue>,
        bind: Option<SocketAddr>,
        opts: Vec<SockOpt>,
    ) -> Result<Arc<Self>, Errno> {
        let conn = Self::new(domain, role, queue)?;
        {
            let mut state = conn.state.lock();
            state.bind = bind;
            state.opts = opts;
        }
        Ok(conn)
    }

    /// A new forwarded socket of `role`, waiting on `queue` (its id taken
    /// now; the host learns of it with its first request).
    pub fn new(domain: Domain, role: Role, queue: Arc<WaitQueue>) -> Result<Arc<Self>, Errno> {
        check_heap()?;
        let mut table = TABLE.lock();
        let id = table.alloc_id()?;
        let conn = Arc::new(Self::with_id(id, domain, role, queue));
        table.socks.insert(
            id.0,
            Entry {
                conn: Arc::downgrade(&conn),
                close_when_open: false,
                accept_credit: 0,
            },
        );
        Ok(conn)
    }

    fn with_id(id: SocketId, domain: Domain, role: Role, queue: Arc<WaitQueue>) -> Self {
        let window = match role {
            Role::Stream => STREAM_WINDOW,
            Role::Dgram => DGRAM_WINDOW,
            Role::Listener => 1,
        };
        Self {
            id,
            role,
            domain,
            queue,
            state: Mutex::new(State {
                phase: Phase::Fresh,
                host_has: false,
                error: None,
                broken: false,
                eof: false,
                shut_rd: false,
                shut_wr: false,
                connecting: false,
                connect_waiting: false,
                connect_to: None,
                bind: None,
                backlog: 0,
                opts: Vec::new(),
                local: None,
                peer: None,
                credit: SendCredit::new(),
                window: RecvWindow::new(window as u32),
                rx: Ring::new(if role == Role::Listener {
                    crate::arch::phys::PAGE_SIZE as usize
                } else {
                    window
                }),
                messages: VecDeque::new(),
                early: VecDeque::new(),
                accepted: VecDeque::new(),
            }),
        }
    }

    /// Opens the host socket (Socket), unless that has begun; `setup`
    /// fills in what follows its reply.
    fn open(&self, state: &mut State) -> Result<(), Errno> {
        if state.phase != Phase::Fresh {
            return Ok(());
        }
        let id = self.id;
        let ty = match self.role {
            Role::Dgram => SockType::Dgram,
            _ => SockType::Stream,
        };
        let family = family(self.domain);
        TABLE
            .lock()
            .request(id, Op::Socket, |tag| GuestMsg::Socket {
                tag,
                sock: id,
                family,
                ty,
                flags: SocketFlags::default(),
            })?;
        state.phase = Phase::Opening;
        Ok(())
    }

    /// The host has the socket: options, Bind, then Connect or Listen.
    fn on_open(&self, state: &mut State) {
        state.host_has = true;
        let id = self.id;
        let mut table = TABLE.lock();
        let mut result = Ok(());
        if self.role == Role::Dgram {
            // Datagrams may come as soon as one is sent.
            let amount = state.window.open();
            result = table.post_msg(&GuestMsg::Credit { sock: id, amount });
        }
        for opt in core::mem::take(&mut state.opts) {
            result = result.and(table.request(id, Op::Other("setsockopt"), |tag| {
                GuestMsg::SetSockOpt { tag, sock: id, opt }
            }));
        }
        if let Some(addr) = state.bind {
            result = result.and(table.request(id, Op::Other("bind"), |tag| GuestMsg::Bind {
                tag,
                sock: id,
                addr,
            }));
        }
        state.phase = Phase::Open;
        if let Some(addr) = state.connect_to {
            result = result.and(table.request(id, Op::Connect, |tag| GuestMsg::Connect {
                tag,
                sock: id,
                addr,
            }));
            state.phase = Phase::Connecting;
        } else if self.role == Role::Listener {
            let backlog = state.backlog;
            result = result.and(table.request(id, Op::Listen, |tag| GuestMsg::Listen {
                tag,
                sock: id,
                backlog,
            }));
        }
        if let Err(e) = result {
            state.phase = Phase::Failed(e);
            state.error = Some(e);
        }
    }

    /// The pending error, cleared (`SO_ERROR`).
    pub fn take_error(&self) -> Option<Errno> {
        self.state.lock().error.take()
    }

    /// Frees `n` bytes (or connections) of the receive window; a Credit
    /// goes when the window is worth reopening.
    fn consumed(&self, state: &mut State, n: usize) {
        if let Some(amount) = state.window.consume(n) {
            let msg = GuestMsg::Credit {
                sock: self.id,
                amount,
            };
            let _ = TABLE.lock().post_essential(&msg);
        }
    }

    /// Sends what datagrams waited for the host socket, within credit
    /// (those past the backlog's bound are dropped, as UDP may).
    fn send_early(&self, state: &mut State) {
        let mut table = TABLE.lock();
        while let Some((to, data)) = state.early.front() {
            if !state.credit.take_exact(data.len()) {
                return;
            }
            let msg = GuestMsg::Datagram {
                sock: self.id,
                to: Some(*to),
                data,
            };
            let _ = table.post_msg(&msg);
            state.early.pop_front();
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        let (phase, host_has) = (state.phase, state.host_has);
        let accept_credit = match self.role {
            Role::Listener => state.window.granted(),
            _ => 0,
        };
        let mut table = TABLE.lock();
        if !table.socks.contains_key(&self.id.0) {
            return;
        }
        if let Some(entry) = table.socks.get_mut(&self.id.0) {
            entry.accept_credit = accept_credit;
        }
        if host_has {
            table.close(self.id);
        } else if phase == Phase::Opening {
            if let Some(entry) = table.socks.get_mut(&self.id.0) {
                entry.close_when_open = true;
            }
        } else {
            table.socks.remove(&self.id.0);
        }
    }
}

/// A message from the host on the net channel (`crate::channel` calls
/// this). An error closes the channel.
pub fn receive(frame: Frame<'_>) -> Result<(), ChannelError> {
    let msg = HostMsg::decode(frame)?;
    if crate::trace::enabled() {
        match msg {
            HostMsg::Data { sock, data } => crate::trace::forwarded_message(
                TraceKind::Net,
                "< ",
                &format_args!("Data {{ sock: {sock:?}, len: {} }}", data.len()),
            ),
            _ => crate::trace::forwarded_message(TraceKind::Net, "< ", &msg),
        }
    }
    match msg {
        HostMsg::Reply { tag, result } => {
            let (id, op) = TABLE
                .lock()
                .tags
                .remove(&tag)
                .ok_or(ChannelError::BadValue("reply tag"))?;
            on_reply(id, op, result)
        }
        HostMsg::Accepted {
            listener,
            sock,
            local,
            peer,
        } => on_accepted(listener, sock, local, peer),
        HostMsg::Event {
            sock,
            readiness,
            error,
        } => {
            let Some(conn) = find(sock)? else {
                return Ok(());
            };
            {
                let mut state = conn.state.lock();
                if let Some(e) = error {
                    state.error = Some(e);
                }
                if readiness.contains(Readiness::READ_HANGUP) {
                    state.eof = true;
                }
                let reset = Readiness::ERROR | Readiness::HANGUP;
                if conn.role == Role::Stream && readiness.contains(reset) {
                    state.broken = true;
                }
            }
            conn.queue.wake_all();
            Ok(())
        }
        HostMsg::Data { sock, data } => {
            let Some(conn) = find(sock)? else {
                return Ok(());
            };
            if conn.role != Role::Stream {
                return Err(ChannelError::BadValue(
                    "data on a socket that is not a stream",
                ));
            }
            {
                let mut state = conn.state.lock();
                state.window.receive(data.len())?;
                if state.shut_rd {
                    // Read side shut: the bytes are dropped, their window
                    // given back.
                    conn.consumed(&mut state, data.len());
                } else if state.rx.push(data).is_err() {
                    // No guest memory for them: the stream cannot go on.
                    state.error = Some(Errno::ENOBUFS);
                    state.broken = true;
                    state.eof = true;
                }
            }
            conn.queue.wake_all();
            Ok(())
        }
        HostMsg::Datagram { sock, from, data } => {
            let Some(conn) = find(sock)? else {
                return Ok(());
            };
            if conn.role != Role::Dgram {
                return Err(ChannelError::BadValue("datagram on a stream socket"));
            }
            {
                let mut state = conn.state.lock();
                state.window.receive(data.len())?;
                let full = state.messages.len() >= MAX_DATAGRAMS || check_heap().is_err();
                if full || state.shut_rd || state.rx.push(data).is_err() {
                    conn.consumed(&mut state, data.len());
                } else {
                    let from = from_wire(conn.domain, from);
                    state.messages.push_back(Message {
                        len: data.len(),
                        from,
                    });
                }
            }
            conn.queue.wake_all();
            Ok(())
        }
        HostMsg::Credit { sock, amount } => {
            let Some(conn) = find(sock)? else {
                return Ok(());
            };
            {
                let mut state = conn.state.lock();
                state.credit.grant(amount)?;
                conn.send_early(&mut state);
            }
            conn.queue.wake_all();
            Ok(())
        }
    }
}

/// The live socket `id` names: None when it is closing (what the host
/// sent crossed our Close), a protocol error when the host never had it.
fn find(id: SocketId) -> Result<Option<Arc<Conn>>, ChannelError> {
    let table = TABLE.lock();
    let entry = table
        .socks
        .get(&id.0)
        .ok_or(ChannelError::BadValue("socket id"))?;
    Ok(entry.conn.upgrade())
}

fn on_reply(id: SocketId, op: Op, result: Result<ReplyValue, Errno>) -> Result<(), ChannelError> {
    let conn = {
        let mut table = TABLE.lock();
        if op == Op::Close {
            table.socks.remove(&id.0);
            return Ok(());
        }
        let Some(entry) = table.socks.get(&id.0) else {
            return Err(ChannelError::BadValue("reply for a closed socket"));
        };
        match entry.conn.upgrade() {
            Some(conn) => conn,
            None => {
                if op == Op::Socket && entry.close_when_open {
                    if result.is_ok() {
                        table.close(id);
                    } else {
                        table.socks.remove(&id.0);
                    }
                }
                return Ok(());
            }
        }
    };
    {
        let mut state = conn.state.lock();
        match (op, result) {
            (Op::Socket, Ok(_)) => conn.on_open(&mut state),
            (Op::Socket | Op::Connect | Op::Listen, Err(e)) => {
                if op == Op::Listen || conn.role == Role::Listener {
                    crate::log!("net: a published port cannot reach the listener: {e:?}");
                }
                state.phase = Phase::Failed(e);
                state.error = Some(e);
                state.connect_waiting = false;
            }
            (Op::Connect, Ok(_)) => {
                let sock = conn.id;
                let mut table = TABLE.lock();
                if conn.role == Role::Dgram {
                    state.connect_waiting = false;
                } else {
                    // The stream is open: the host may send this much.
                    let amount = state.window.open();
                    let _ = table.post_msg(&GuestMsg::Credit { sock, amount });
                }
                let asked = table.request(sock, Op::SockName, |tag| GuestMsg::GetSockName {
                    tag,
                    sock,
                });
                drop(table);
                state.phase = if asked.is_ok() {
                    Phase::Naming
                } else {
                    Phase::Connected
                };
            }
            (Op::SockName, result) => {
                if let Ok(ReplyValue::Addr(addr)) = result {
                    state.local = Some(from_wire(conn.domain, addr));
                }
                if state.phase == Phase::Naming {
                    state.phase = Phase::Connected;
                }
            }
            (Op::Listen, Ok(_)) => {
                let amount = state.window.open();
                let msg = GuestMsg::Credit {
                    sock: conn.id,
                    amount,
                };
                state.phase = match TABLE.lock().post_msg(&msg) {
                    Ok(()) => Phase::Listening,
                    Err(e) => Phase::Failed(e),
                };
            }
            (Op::Other(what), Err(e)) => {
                crate::log!("net: {what} on a forwarded socket: {e:?}");
            }
            (Op::Other(_) | Op::Close, _) => {}
        }
    }
    conn.queue.wake_all();
    drop(conn);
    Ok(())
}

fn on_accepted(
    listener: SocketId,
    sock: SocketId,
    local: SocketAddr,
    peer: SocketAddr,
) -> Result<(), ChannelError> {
    let mut table = TABLE.lock();
    if table.socks.contains_key(&sock.0) {
        return Err(ChannelError::BadValue("accepted socket id in use"));
    }
    let entry = table
        .socks
        .get_mut(&listener.0)
        .ok_or(ChannelError::BadValue("listener id"))?;
    let Some(listening) = entry.conn.upgrade() else {
        // Closing: the connection closes too, within the credit the
        // listener left (a host pushing more would grow the table).
        if entry.accept_credit == 0 {
            return Err(ChannelError::BadValue(
                "accepted past a closing listener's credit",
            ));
        }
        entry.accept_credit -= 1;
        table.socks.insert(
            sock.0,
            Entry {
                conn: Weak::new(),
                close_when_open: false,
                accept_credit: 0,
            },
        );
        table.close(sock);
        drop(table);
        return Ok(());
    };
    if listening.role != Role::Listener {
        drop(table);
        return Err(ChannelError::BadValue(
            "accepted on a socket that is not listening",
        ));
    }
    let mut state = listening.state.lock();
    if let Err(e) = state.window.receive(1) {
        drop(state);
        drop(table);
        return Err(e);
    }
    let domain = listening.domain;
    let conn = Arc::new(Conn::with_id(
        sock,
        domain,
        Role::Stream,
        Arc::new(WaitQueue::new()),
    ));
    table.socks.insert(
        sock.0,
        Entry {
            conn: Arc::downgrade(&conn),
            close_when_open: false,
            accept_credit: 0,
        },
    );
    {
        let mut new = conn.state.lock();
        new.phase = Phase::Connected;
        new.host_has = true;
        new.local = Some(from_wire(domain, local));
        new.peer = Some(from_wire(domain, peer));
        let amount = new.window.open();
        let _ = table.post_essential(&GuestMsg::Credit { sock, amount });
    }
    drop(table);
    if check_heap().is_err() {
        // No memory for another connection: it closes (its drop says so).
        drop(state);
        drop(conn);
        listening.consumed_one();
        return Ok(());
    }
    state.accepted.push_back(conn);
    drop(state);
    listening.queue.wake_all();
    Ok(())
}

impl Conn {
    /// A listener's connection was taken (or refused): one more may come.
    fn consumed_one(&self) {
        let mut state = self.state.lock();
        self.consumed(&mut state, 1);
    }
}

/// A Data frame's header: len, type, socket id.
const DATA_HEADER_LEN: usize = LEN_FIELD + 1 + 4;

/// Stream bytes from `data` within credit, as frames of at most
/// [`MAX_DATA`]; returns how many went (EAGAIN: none could).
fn send_stream(conn: &Conn, state: &mut State, data: &[u8]) -> Result<usize, Errno> {
    let mut sent = 0;
    while sent < data.len() {
        // A full frame (header and data) is exactly one 64 KiB transmit
        // buffer of the channel.
        let n = (state.credit.available() as usize)
            .min(MAX_DATA - DATA_HEADER_LEN)
            .min(data.len() - sent);
        if n == 0 {
            break;
        }
        let chunk = &data[sent..sent + n];
        let header = data_header(
            &GuestMsg::Data {
                sock: conn.id,
                data: &[],
            },
            n,
        )?;
        match TABLE.lock().send_data(&header, chunk, &conn.queue) {
            Ok(()) => {
                state.credit.take(n);
                sent += n;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    if sent == 0 {
        return Err(Errno::EAGAIN);
    }
    Ok(sent)
}

/// The transport of a forwarded TCP socket: one [`Conn`].
pub struct ForwardStream {
    conn: Arc<Conn>,
}

impl ForwardStream {
    /// A stream to be connected, bound to `bind` (as the guest named it)
    /// with `opts` to apply on the host.
    pub fn new(
        domain: Domain,
        queue: Arc<WaitQueue>,
        bind: Option<SocketAddr>,
        opts: Vec<SockOpt>,
    ) -> Result<Self, Errno> {
        Ok(Self {
            conn: Conn::prepared(domain, Role::Stream, queue, bind, opts)?,
        })
    }

    /// An accepted connection.
    pub fn accepted(conn: Arc<Conn>) -> Accepted {
        Accepted {
            queue: Arc::clone(&conn.queue),
            transport: alloc::boxed::Box::new(Self { conn }),
        }
    }

    /// `connect`: EINPROGRESS (non-blocking) or EAGAIN (blocking: wait)
    /// until the host answers; then the outcome once, as Linux's
    /// `__inet_stream_connect`.
    pub fn connect(&self, addr: &SockAddr, nonblocking: bool) -> Result<(), Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
        match state.phase {
            Phase::Fresh => {
                let dst = to_wire(conn.domain, addr).ok_or(Errno::EAFNOSUPPORT)?;
                state.connect_to = Some(dst);
                state.peer = Some(addr.clone());
                conn.open(&mut state)?;
                state.connecting = true;
                Err(if nonblocking {
                    Errno::EINPROGRESS
                } else {
                    Errno::EAGAIN
                })
            }
            Phase::Opening | Phase::Open | Phase::Connecting | Phase::Naming => {
                if !available() {
                    state.connecting = false;
                    return Err(Errno::ENETDOWN);
                }
                Err(if nonblocking {
                    Errno::EALREADY
                } else {
                    Errno::EAGAIN
                })
            }
            Phase::Connected => {
                if state.connecting {
                    state.connecting = false;
                    Ok(())
                } else {
                    Err(Errno::EISCONN)
                }
            }
            Phase::Failed(e) => {
                state.connecting = false;
                Err(state.error.take().unwrap_or(e))
            }
            Phase::Listening => Err(Errno::EINVAL),
        }
    }

    pub fn send(&self, data: &[u8]) -> Result<usize, Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
        match state.phase {
            Phase::Connected => {}
            Phase::Opening | Phase::Open | Phase::Connecting | Phase::Naming => {
                return Err(if available() {
                    Errno::EAGAIN
                } else {
                    Errno::EPIPE
                });
            }
            _ => return Err(state.error.take().unwrap_or(Errno::EPIPE)),
        }
        if state.broken {
            return Err(state.error.take().unwrap_or(Errno::EPIPE));
        }
        if state.shut_wr || !available() {
            return Err(Errno::EPIPE);
        }
        if data.is_empty() {
            return Ok(0);
        }
        send_stream(conn, &mut state, data)
    }

    pub fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
        let connected = state.phase == Phase::Connected;
        let down = connected && !available();
        let ended = state.eof || state.shut_rd || state.broken || down;
        let available_bytes = state.rx.len();
        if available_bytes > 0 && !buf.is_empty() {
            let peek = flags & MSG_PEEK != 0;
            let wanted = buf.len().min(state.rx.capacity());
            if flags & MSG_WAITALL != 0 && !peek && available_bytes < wanted && !ended {
                return Err(Errno::EAGAIN);
            }
            let len = if peek {
                state.rx.peek(0, buf)
            } else {
                let n = state.rx.pop(buf);
                conn.consumed(&mut state, n);
                n
            };
            return Ok(Received {
                len,
                full_len: len,
                from: None,
                ..Received::default()
            });
        }
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        match state.phase {
            Phase::Connected if ended => {
                if down && !state.eof && !state.shut_rd {
                    return Err(Errno::ECONNRESET);
                }
                Ok(Received::default())
            }
            Phase::Connected if buf.is_empty() => Ok(Received::default()),
            Phase::Connected => Err(Errno::EAGAIN),
            Phase::Opening | Phase::Open | Phase::Connecting | Phase::Naming if available() => {
                Err(Errno::EAGAIN)
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    pub fn shutdown(&self, how: u64) -> Result<(), Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
        if state.phase != Phase::Connected {
            return Err(Errno::ENOTCONN);
        }
        let how = match how {
            SHUT_RD => Shutdown::Read,
            SHUT_WR => Shutdown::Write,
            _ => Shutdown::Both,
        };
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            state.shut_rd = true;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            state.shut_wr = true;
        }
        let sock = conn.id;
        // Ordered after every byte sent before it; a channel that has
        // gone has nothing left to shut.
        let _ = TABLE
            .lock()
            .request(sock, Op::Other("shutdown"), |tag| GuestMsg::Shutdown {
                tag,
                sock,
                how,
            });
        drop(state);
        conn.queue.wake_all();
        Ok(())
    }

    pub fn local_addr(&self) -> Option<SockAddr> {
        self.conn.state.lock().local.clone()
    }

    /// `tcp_poll`'s bits.
    pub fn poll(&self) -> u16 {
        let state = self.conn.state.lock();
        let up = available();
        let mut mask = 0;
        if state.error.is_some() {
            mask |= POLLERR;
        }
        match state.phase {
            Phase::Connected => {}
            Phase::Opening | Phase::Open | Phase::Connecting | Phase::Naming if up => return mask,
            _ => return mask | POLLOUT | POLLWRNORM | POLLHUP,
        }
        let read_end = state.eof || state.shut_rd || state.broken || !up;
        let write_end = state.shut_wr || state.broken || !up;
        if read_end {
            mask |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        if read_end && write_end {
            mask |= POLLHUP;
        }
        if !state.rx.is_empty() {
            mask |= POLLIN | POLLRDNORM;
        }
        if write_end {
            mask |= POLLOUT | POLLWRNORM;
        } else if state.credit.available() > 0 {
            // Writable only when a send would go now: with the channel
            // full it would be EAGAIN, and a non-blocking loop would spin
            // on poll. The channel's room wakes the socket then.
            if channel::room(Channel::Net) > lamina_proto::channel::HEADER_LEN {
                mask |= POLLOUT | POLLWRNORM;
            } else {
                remember_waiter(&mut TABLE.lock().stalled, &self.conn.queue);
            }
        }
        mask
    }
}

impl Transport for ForwardStream {
    fn bind(
        &self,
        _addr: &SockAddr,
        _options: &super::AddrOptions,
        _cx: &dyn crate::fs::vfs::ProcessView,
    ) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn listen(
        &self,
        _backlog: u32,
        _options: &super::AddrOptions,
        _cx: &dyn crate::fs::vfs::ProcessView,
    ) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn accept(&self) -> Result<Accepted, Errno> {
        Err(Errno::EINVAL)
    }

    fn connect(
        &self,
        addr: &SockAddr,
        _options: &super::AddrOptions,
        call: super::ConnectCall<'_>,
    ) -> Result<(), Errno> {
        ForwardStream::connect(self, addr, call.nonblocking)
    }

    fn send(
        &self,
        data: &[u8],
        _to: Option<(&SockAddr, &dyn crate::fs::vfs::ProcessView)>,
        _options: &super::AddrOptions,
    ) -> Result<usize, Errno> {
        ForwardStream::send(self, data)
    }

    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        ForwardStream::recv(self, buf, flags)
    }

    fn shutdown(&self, how: u64) -> Result<(), Errno> {
        ForwardStream::shutdown(self, how)
    }

    fn local_addr(&self) -> SockAddr {
        ForwardStream::local_addr(self).unwrap_or_else(|| self.conn.domain.unbound())
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        let state = self.conn.state.lock();
        match state.phase {
            Phase::Connected => state.peer.clone().ok_or(Errno::ENOTCONN),
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn poll(&self) -> u16 {
        ForwardStream::poll(self)
    }

    fn take_error(&self) -> Option<Errno> {
        self.conn.take_error()
    }

    fn readable_bytes(&self) -> usize {
        self.conn.state.lock().rx.len()
    }

    fn set_option(&self, level: u64, name: u64, value: &[u8]) {
        set_host_option(&self.conn, level, name, value);
    }
}

/// Applies a `setsockopt` to the host socket (or keeps it for when the
/// host has the socket). Best effort: the guest already answered.
fn set_host_option(conn: &Conn, level: u64, name: u64, value: &[u8]) {
    let Some(opt) = host_option(level, name, value) else {
        return;
    };
    let mut state = conn.state.lock();
    match state.phase {
        Phase::Fresh | Phase::Opening => {
            state.opts.retain(|o| o.name != opt.name);
            state.opts.push(opt);
        }
        Phase::Failed(_) => {}
        _ => {
            let sock = conn.id;
            let _ =
                TABLE
                    .lock()
                    .request(sock, Op::Other("setsockopt"), |tag| GuestMsg::SetSockOpt {
                        tag,
                        sock,
                        opt,
                    });
        }
    }
}

/// The transport of a forwarded UDP socket.
pub struct ForwardDgram {
    conn: Arc<Conn>,
}

impl ForwardDgram {
    pub fn new(
        domain: Domain,
        queue: Arc<WaitQueue>,
        bind: Option<SocketAddr>,
        opts: Vec<SockOpt>,
    ) -> Result<Self, Errno> {
        Ok(Self {
            conn: Conn::prepared(domain, Role::Dgram, queue, bind, opts)?,
        })
    }

    /// `connect` to `addr`: blocking waits for the host's answer (a
    /// policy denial is EPERM); non-blocking returns at once and a
    /// failure becomes the pending error.
    pub fn connect(&self, addr: &SockAddr, nonblocking: bool) -> Result<(), Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
        if state.connect_waiting {
            if !available() {
                state.connect_waiting = false;
                return Err(Errno::ENETDOWN);
            }
            return Err(Errno::EAGAIN);
        }
        if state.connecting {
            // The blocking connect this call is the rerun of has its answer.
            state.connecting = false;
            if let Phase::Failed(e) = state.phase {
                state.error = None;
                state.peer = None;
                return Err(e);
            }
            return Ok(());
        }
        if *addr == SockAddr::Unspec {
            // Dissolving the association: the guest stops using it (the
            // host keeps hearing from the old peer, which the guest
            // takes like any other sender).
            state.peer = None;
            state.connect_to = None;
            state.local = None;
            return Ok(());
        }
        let dst = to_wire(conn.domain, addr).ok_or(Errno::EAFNOSUPPORT)?;
        state.peer = Some(addr.clone());
        state.connect_to = Some(dst);
        match state.phase {
            Phase::Fresh => conn.open(&mut state)?,
            Phase::Opening => {}
            Phase::Failed(e) => return Err(e),
            _ => {
                let sock = conn.id;
                TABLE
                    .lock()
                    .request(sock, Op::Connect, |tag| GuestMsg::Connect {
                        tag,
                        sock,
                        addr: dst,
                    })?;
                state.phase = Phase::Connecting;
            }
        }
        if nonblocking {
            return Ok(());
        }
        state.connect_waiting = true;
        state.connecting = true;
        Err(Errno::EAGAIN)
    }

    /// Sends one datagram to `to` (or the connected peer).
    pub fn send(&self, data: &[u8], to: Option<&SockAddr>) -> Result<usize, Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        if state.shut_wr {
            return Err(Errno::EPIPE);
        }
        if data.len() > MAX_DATA {
            return Err(Errno::EMSGSIZE);
        }
        let dst = match to {
            Some(addr) => to_wire(conn.domain, addr).ok_or(Errno::EAFNOSUPPORT)?,
            None => state
                .connect_to
                .filter(|_| state.peer.is_some())
                .ok_or(Errno::EDESTADDRREQ)?,
        };
        if dst.port() == 0 {
            return Err(Errno::EINVAL);
        }
        if !available() {
            return Err(Errno::ENETDOWN);
        }
        match state.phase {
            Phase::Failed(e) => return Err(e),
            Phase::Fresh | Phase::Opening => {
                conn.open(&mut state)?;
                if state.early.len() >= MAX_EARLY_DATAGRAMS {
                    return Err(Errno::EAGAIN);
                }
                check_heap()?;
                state.early.push_back((dst, data.to_vec()));
                return Ok(data.len());
            }
            _ => {}
        }
        if !state.early.is_empty() || !state.credit.take_exact(data.len()) {
            return Err(Errno::EAGAIN);
        }
        let header = data_header(
            &GuestMsg::Datagram {
                sock: conn.id,
                to: Some(dst),
                data: &[],
            },
            data.len(),
        )?;
        match TABLE.lock().send_data(&header, data, &conn.queue) {
            Ok(()) => Ok(data.len()),
            Err(e) => {
                // Not sent: the credit is still ours.
                let _ = state.credit.grant(data.len() as u32);
                Err(e)
            }
        }
    }

    pub fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        let conn = &self.conn;
        let mut state = conn.state.lock();
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
        let full = message.len;
        let from = message.from.clone();
        let len = full.min(buf.len());
        state.rx.peek(0, &mut buf[..len]);
        if flags & MSG_PEEK == 0 {
            state.rx.discard(full);
            state.messages.pop_front();
            conn.consumed(&mut state, full);
        }
        Ok(Received {
            len,
            full_len: full,
            from: Some(from),
            ..Received::default()
        })
    }

    pub fn shutdown(&self, how: u64) -> Result<(), Errno> {
        let mut state = self.conn.state.lock();
        if how != SHUT_RD {
            state.shut_wr = true;
        }
        if how != SHUT_WR {
            state.shut_rd = true;
        }
        let connected = state.peer.is_some();
        drop(state);
        self.conn.queue.wake_all();
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }

    pub fn local_addr(&self) -> Option<SockAddr> {
        self.conn.state.lock().local.clone()
    }

    pub fn peer_addr(&self) -> Result<SockAddr, Errno> {
        self.conn.state.lock().peer.clone().ok_or(Errno::ENOTCONN)
    }

    /// `datagram_poll`'s bits.
    pub fn poll(&self) -> u16 {
        let state = self.conn.state.lock();
        let mut mask = 0;
        if state.error.is_some() {
            mask |= POLLERR;
        }
        if state.shut_rd {
            mask |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        if !state.messages.is_empty() {
            mask |= POLLIN | POLLRDNORM;
        }
        let writable = match state.phase {
            Phase::Fresh | Phase::Opening => state.early.len() < MAX_EARLY_DATAGRAMS,
            Phase::Failed(_) => true,
            _ => state.early.is_empty() && state.credit.available() > 0,
        };
        if writable || !available() {
            mask |= POLLOUT | POLLWRNORM;
        }
        mask
    }

    pub fn take_error(&self) -> Option<Errno> {
        self.conn.take_error()
    }

    pub fn readable_bytes(&self) -> usize {
        self.conn.state.lock().messages.front().map_or(0, |m| m.len)
    }

    pub fn set_option(&self, level: u64, name: u64, value: &[u8]) {
        set_host_option(&self.conn, level, name, value);
    }
}

/// The host half of a guest listener: connections to a published port
/// that leads to it.
pub struct ForwardListener {
    conn: Arc<Conn>,
}

impl ForwardListener {
    /// Registers a listener on `addr` (its port is what `-p` names) with
    /// the host; the listen goes on in the background and a failure only
    /// means no published connection arrives.
    pub fn start(
        domain: Domain,
        queue: Arc<WaitQueue>,
        addr: SocketAddr,
        backlog: u32,
    ) -> Result<Self, Errno> {
        let conn = Conn::new(domain, Role::Listener, queue)?;
        {
            let mut state = conn.state.lock();
            state.bind = Some(addr);
            state.backlog = backlog;
            state.window = RecvWindow::new(backlog.clamp(1, MAX_LISTEN_WINDOW));
            conn.open(&mut state)?;
        }
        Ok(Self { conn })
    }

    /// The next published connection (EAGAIN: none).
    pub fn accept(&self) -> Result<Accepted, Errno> {
        let conn = {
            let mut state = self.conn.state.lock();
            let conn = state.accepted.pop_front().ok_or(Errno::EAGAIN)?;
            self.conn.consumed(&mut state, 1);
            conn
        };
        Ok(ForwardStream::accepted(conn))
    }

    pub fn has_ready(&self) -> bool {
        !self.conn.state.lock().accepted.is_empty()
    }
}
