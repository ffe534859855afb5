//! Byte streams inside the guest: AF_UNIX `SOCK_STREAM` and the loopback's
//! TCP, one mechanism with the few differences Linux shows between them.
//!
//! A connection ([`Conn`]) is two bounded rings in guest frames, one per
//! direction, with each end's shutdown and close state; each socket holds
//! one end ([`ConnEnd`]). A listener keeps the connections made to it
//! until `accept` takes them (at most backlog + 1, as Linux); a TCP
//! connect beyond that waits as Linux's does while its SYN is retried,
//! an AF_UNIX one waits for room (or is EAGAIN).
//!
//! Where the two differ (Linux's `unix_stream_*` against `tcp_*`): a TCP
//! write to a peer that has closed is taken (the peer answers with a
//! reset) and the next one fails with EPIPE, where AF_UNIX fails at once;
//! AF_UNIX treats the peer's `SHUT_RD` as the end of writing, TCP does
//! not; a non-blocking TCP connect answers EINPROGRESS, an AF_UNIX one
//! completes at once; readiness follows `tcp_poll` and `unix_poll`.

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::socket::*;
use spin::Mutex;

use super::{
    bind_name, check_heap, cred_of, inet, name_ip, remember_waiter, unix, Accepted, AddrOptions,
    ConnectCall, Domain, Endpoint, Kind, Name, Received, Transport,
};
use crate::fs::vfs::ProcessView;
use crate::mm::ring::Ring;
use crate::task::wait::WaitQueue;

/// Bytes in flight toward one end: `net.core.wmem_default` (52 pages),
/// what a Linux AF_UNIX writer may have unread before it waits.
pub const STREAM_CAPACITY: usize = 212_992;
/// Linux's `somaxconn`: the most a backlog asks for.
pub const SOMAXCONN: u32 = 4096;
/// TCP connects waiting for room in one listener's backlog (Linux's SYN
/// queue bound); past it a connect is EAGAIN.
const MAX_PENDING: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Unix,
    Tcp,
}

/// One end's state within a connection.
struct Side {
    /// Bytes toward this end.
    rx: Ring,
    /// The end's socket is gone.
    closed: bool,
    /// `shutdown(SHUT_RD)` (or closed).
    shut_rd: bool,
    /// `shutdown(SHUT_WR)` (or closed): the other end reads EOF after the
    /// bytes in flight.
    shut_wr: bool,
    /// The pending error (`SO_ERROR`; a read or write reports it once).
    error: Option<Errno>,
    /// The end's socket waits here.
    queue: Arc<WaitQueue>,
    /// Ancillary data of the bytes toward this end, by their place in the
    /// stream (AF_UNIX): where passed files ride and senders change.
    records: VecDeque<Record>,
    /// Bytes pushed into and popped out of `rx` since the start: the
    /// stream positions of `records`.
    pushed: u64,
    popped: u64,
    /// The credentials of the last bytes pushed, and of the bytes at
    /// `popped` (before the first record: none known).
    last_cred: Option<Ucred>,
    read_cred: Option<Ucred>,
}

/// The ancillary data of one send's bytes, `start..end` in the stream.
struct Record {
    start: u64,
    end: u64,
    /// Passed files, taken by the read that starts at `start`.
    files: Vec<Arc<crate::fs::file::OpenFile>>,
    cred: Option<Ucred>,
}

/// Records one end holds at most: past it a send with files waits, and a
/// change of sender is not recorded (its bytes read as the last one's).
const MAX_RECORDS: usize = 1024;
/// The largest `SOCK_SEQPACKET` record: the send buffer less Linux's
/// overhead (as `unix_dgram_sendmsg` bounds it).
const MAX_PACKET: usize = STREAM_CAPACITY - 32;

impl Side {
    fn new(queue: Arc<WaitQueue>) -> Self {
        Self {
            rx: Ring::new(STREAM_CAPACITY),
            closed: false,
            shut_rd: false,
            shut_wr: false,
            error: None,
            queue,
            records: VecDeque::new(),
            pushed: 0,
            popped: 0,
            last_cred: None,
            read_cred: None,
        }
    }

    /// How much a read at `popped` may take (at most `limit`), and which
    /// record's files it takes: a read that reaches bytes files ride with
    /// takes them and ends with that send's bytes; with `passcred` it
    /// stops where the sender changes. Also the credentials of the bytes
    /// read.
    fn read_extent(
        &self,
        mut limit: usize,
        passcred: bool,
    ) -> (usize, Option<usize>, Option<Ucred>) {
        let pos = self.popped;
        let mut cred = self.read_cred;
        for (index, record) in self.records.iter().enumerate() {
            if record.start <= pos {
                cred = record.cred.or(cred);
                if record.start == pos && !record.files.is_empty() {
                    let rest = usize::try_from(record.end - pos).unwrap_or(usize::MAX);
                    return (limit.min(rest), Some(index), cred);
                }
                continue;
            }
            let offset = usize::try_from(record.start - pos).unwrap_or(usize::MAX);
            if offset >= limit {
                break;
            }
            // Bytes of different senders never share a read (SO_PASSCRED).
            if passcred && record.cred != cred {
                limit = offset;
                break;
            }
            // A read that reaches passed files takes them and ends with
            // their send's bytes, as `unix_stream_read_generic`.
            if !record.files.is_empty() {
                let end = usize::try_from(record.end - pos).unwrap_or(usize::MAX);
                return (limit.min(end), Some(index), record.cred.or(cred));
            }
        }
        (limit, None, cred)
    }

    /// `n` bytes were read: records behind the read position go.
    fn consumed(&mut self, n: usize) {
        self.popped += n as u64;
        while let Some(record) = self.records.front() {
            if record.start > self.popped {
                break;
            }
            self.read_cred = record.cred.or(self.read_cred);
            if record.end > self.popped {
                break;
            }
            self.records.pop_front();
        }
    }
}

/// Which side of a connection a listener makes is which: the connecting
/// socket's and the one `accept` hands out.
const CLIENT: usize = 0;
const SERVER: usize = 1;

/// A connection between two ends.
struct Conn {
    flavor: Flavor,
    /// `SOCK_SEQPACKET`: every send is a record a read takes whole.
    packets: bool,
    /// TCP: false while the connect waits for room in the backlog.
    established: bool,
    sides: [Side; 2],
}

impl Conn {
    /// End `i` has nothing more to read after what is buffered.
    fn rcv_shutdown(&self, i: usize) -> bool {
        self.sides[i].shut_rd || self.sides[1 - i].shut_wr
    }

    /// End `i` can write no more.
    fn snd_shutdown(&self, i: usize) -> bool {
        let peer = &self.sides[1 - i];
        self.sides[i].shut_wr || (self.flavor == Flavor::Unix && (peer.shut_rd || peer.closed))
    }
}

/// One end of a connection, held by its socket (or by a listener until
/// `accept`). Dropping it closes that end.
pub struct ConnEnd {
    conn: Arc<Mutex<Conn>>,
    side: usize,
    /// Close with a reset whatever is buffered (a connection a listener
    /// never handed out).
    abort: bool,
}

impl ConnEnd {
    /// A connection's two ends, waiting on `queues`.
    fn pair(
        flavor: Flavor,
        queues: [Arc<WaitQueue>; 2],
        established: bool,
        packets: bool,
    ) -> (Self, Self) {
        let [a, b] = queues;
        let conn = Arc::new(Mutex::new(Conn {
            flavor,
            packets,
            established,
            sides: [Side::new(a), Side::new(b)],
        }));
        (
            Self {
                conn: Arc::clone(&conn),
                side: 0,
                abort: false,
            },
            Self {
                conn,
                side: 1,
                abort: false,
            },
        )
    }

    fn queue(&self) -> Arc<WaitQueue> {
        Arc::clone(&self.conn.lock().sides[self.side].queue)
    }

    /// Closes the end with a reset, whatever is buffered.
    fn reset(mut self) {
        self.abort = true;
    }

    fn established(&self) -> bool {
        self.conn.lock().established
    }

    /// A connection that was never established and whose other end has
    /// gone (the listener, for a connect; the client, for a backlog's
    /// waiting entry).
    fn failed(&self) -> bool {
        let conn = self.conn.lock();
        !conn.established && conn.sides[1 - self.side].closed
    }

    fn establish(&self) {
        let queue = {
            let mut conn = self.conn.lock();
            conn.established = true;
            Arc::clone(&conn.sides[1 - self.side].queue)
        };
        queue.wake_all();
    }

    fn take_error(&self) -> Option<Errno> {
        self.conn.lock().sides[self.side].error.take()
    }

    fn readable_bytes(&self) -> usize {
        self.conn.lock().sides[self.side].rx.len()
    }

    fn send(&self, data: &[u8], ancillary: super::Ancillary) -> Result<usize, Errno> {
        let (i, j) = (self.side, 1 - self.side);
        let mut conn = self.conn.lock();
        let flavor = conn.flavor;
        if flavor == Flavor::Tcp {
            if let Some(e) = conn.sides[i].error.take() {
                return Err(e);
            }
        }
        if conn.sides[i].shut_wr {
            return Err(Errno::EPIPE);
        }
        if !conn.established {
            return Err(Errno::EAGAIN);
        }
        if flavor == Flavor::Unix && (conn.sides[j].closed || conn.sides[j].shut_rd) {
            return Err(Errno::EPIPE);
        }
        if flavor == Flavor::Tcp && conn.sides[j].closed {
            // The peer answers these bytes with a reset: they are lost,
            // and the next write fails (`tcp_reset` in CLOSE_WAIT).
            let side = &mut conn.sides[i];
            side.error = Some(Errno::EPIPE);
            side.shut_wr = true;
            side.shut_rd = true;
            return Ok(data.len());
        }
        if data.is_empty() && !conn.packets {
            return Ok(0);
        }
        let packets = conn.packets;
        if packets && data.len() > MAX_PACKET {
            return Err(Errno::EMSGSIZE);
        }
        let peer = &mut conn.sides[j];
        let n = peer.rx.room().min(data.len());
        let has_files = !ancillary.files.is_empty();
        let full = if packets {
            // A record goes whole or waits.
            n < data.len() || peer.records.len() >= MAX_RECORDS
        } else {
            n == 0 || (has_files && peer.records.len() >= MAX_RECORDS)
        };
        if full {
            return Err(Errno::EAGAIN);
        }
        peer.rx.push(&data[..n])?;
        let start = peer.pushed;
        peer.pushed += n as u64;
        let new_sender = ancillary.cred.is_some() && ancillary.cred != peer.last_cred;
        if packets || has_files || (new_sender && peer.records.len() < MAX_RECORDS) {
            // The files go with the first bytes a partial send moved.
            peer.records.push_back(Record {
                start,
                end: start + n as u64,
                files: ancillary.files,
                cred: ancillary.cred.or(peer.last_cred),
            });
        }
        if ancillary.cred.is_some() {
            peer.last_cred = ancillary.cred;
        }
        let queue = Arc::clone(&peer.queue);
        drop(conn);
        queue.wake_all();
        Ok(n)
    }

    fn recv(
        &self,
        buf: &mut [u8],
        flags: u32,
        passcred: bool,
    ) -> Result<(usize, usize, super::Ancillary), Errno> {
        let (i, j) = (self.side, 1 - self.side);
        let mut conn = self.conn.lock();
        if conn.packets && conn.established {
            return self.recv_packet(conn, buf, flags);
        }
        if !conn.established {
            return match conn.sides[i].error.take() {
                Some(e) => Err(e),
                None => Err(Errno::EAGAIN),
            };
        }
        if buf.is_empty() {
            return Ok((0, 0, super::Ancillary::default()));
        }
        let eof = conn.rcv_shutdown(i);
        let side = &mut conn.sides[i];
        let available = side.rx.len();
        if available > 0 {
            let peek = flags & MSG_PEEK != 0;
            let wanted = buf.len().min(side.rx.capacity());
            if flags & MSG_WAITALL != 0
                && !peek
                && available < wanted
                && !eof
                && side.error.is_none()
            {
                return Err(Errno::EAGAIN);
            }
            let (limit, with_files, cred) = side.read_extent(buf.len().min(available), passcred);
            let buf = &mut buf[..limit];
            if peek {
                // A peek sees the files too (new descriptors each time).
                let files = with_files.map_or_else(Vec::new, |k| side.records[k].files.clone());
                let n = side.rx.peek(0, buf);
                return Ok((n, n, super::Ancillary { files, cred }));
            }
            let n = side.rx.pop(buf);
            let files =
                with_files.map_or_else(Vec::new, |k| core::mem::take(&mut side.records[k].files));
            side.consumed(n);
            // Room for the writer.
            let queue = Arc::clone(&conn.sides[j].queue);
            drop(conn);
            queue.wake_all();
            return Ok((n, n, super::Ancillary { files, cred }));
        }
        if let Some(e) = side.error.take() {
            return Err(e);
        }
        if eof {
            return Ok((0, 0, super::Ancillary::default()));
        }
        Err(Errno::EAGAIN)
    }

    /// A `SOCK_SEQPACKET` read: the next record whole, cut to `buf` (the
    /// rest is dropped; its full length tells MSG_TRUNC).
    fn recv_packet(
        &self,
        mut conn: spin::MutexGuard<'_, Conn>,
        buf: &mut [u8],
        flags: u32,
    ) -> Result<(usize, usize, super::Ancillary), Errno> {
        let (i, j) = (self.side, 1 - self.side);
        let eof = conn.rcv_shutdown(i);
        let side = &mut conn.sides[i];
        let Some(record) = side.records.front_mut() else {
            if let Some(e) = side.error.take() {
                return Err(e);
            }
            return if eof {
                Ok((0, 0, super::Ancillary::default()))
            } else {
                Err(Errno::EAGAIN)
            };
        };
        let full = usize::try_from(record.end - record.start).unwrap_or(usize::MAX);
        let cred = record.cred;
        let n = full.min(buf.len());
        if flags & MSG_PEEK != 0 {
            let files = record.files.clone();
            side.rx.peek(0, &mut buf[..n]);
            return Ok((n, full, super::Ancillary { files, cred }));
        }
        let files = core::mem::take(&mut record.files);
        side.rx.pop(&mut buf[..n]);
        side.rx.discard(full - n);
        // This record alone (an empty one ends where the next starts).
        side.popped += full as u64;
        side.records.pop_front();
        side.read_cred = cred.or(side.read_cred);
        let queue = Arc::clone(&conn.sides[j].queue);
        drop(conn);
        queue.wake_all();
        Ok((n, full, super::Ancillary { files, cred }))
    }

    fn shutdown(&self, read: bool, write: bool) {
        let queues = {
            let mut conn = self.conn.lock();
            let side = &mut conn.sides[self.side];
            side.shut_rd |= read;
            side.shut_wr |= write;
            [
                Arc::clone(&conn.sides[0].queue),
                Arc::clone(&conn.sides[1].queue),
            ]
        };
        for queue in queues {
            queue.wake_all();
        }
    }

    /// Readiness as `tcp_poll` and `unix_poll` report it.
    fn poll(&self) -> u16 {
        let (i, j) = (self.side, 1 - self.side);
        let conn = self.conn.lock();
        let side = &conn.sides[i];
        let peer = &conn.sides[j];
        let rcv_shut = conn.rcv_shutdown(i);
        let snd_shut = conn.snd_shutdown(i);
        let mut mask = 0;
        if side.error.is_some() {
            mask |= POLLERR;
        }
        if !conn.established {
            // A connect still waiting (SYN_SENT): nothing yet, unless it failed.
            if peer.closed {
                mask |= POLLHUP;
            }
            return mask;
        }
        if rcv_shut && snd_shut {
            mask |= POLLHUP;
        }
        if rcv_shut {
            mask |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        if !side.rx.is_empty() || (conn.packets && !side.records.is_empty()) {
            mask |= POLLIN | POLLRDNORM;
        }
        let in_flight = peer.rx.len();
        let writable = match conn.flavor {
            // `unix_writable`: at most a quarter of the buffer unread.
            Flavor::Unix => in_flight * 4 <= STREAM_CAPACITY,
            // `sk_stream_is_writeable`: free space at least half the used.
            Flavor::Tcp => snd_shut || (STREAM_CAPACITY - in_flight) * 2 >= in_flight,
        };
        if writable {
            mask |= POLLOUT | POLLWRNORM;
        }
        mask
    }
}

impl Drop for ConnEnd {
    /// The end's socket is closed: the other end reads what was sent and
    /// then EOF; if this end had bytes unread (or was never accepted), the
    /// other end gets ECONNRESET, as Linux's reset (TCP) and
    /// `unix_release_sock` give.
    fn drop(&mut self) {
        let (i, j) = (self.side, 1 - self.side);
        let queue = {
            let mut conn = self.conn.lock();
            let flavor = conn.flavor;
            let established = conn.established;
            let side = &mut conn.sides[i];
            let reset = self.abort || !side.rx.is_empty();
            side.closed = true;
            side.shut_rd = true;
            side.shut_wr = true;
            side.rx = Ring::new(STREAM_CAPACITY);
            // Files passed to this end and never read close with it.
            side.records.clear();
            let peer = &mut conn.sides[j];
            if !established {
                // A connect still waiting: the listener went away.
                if i == SERVER {
                    peer.error = Some(Errno::ECONNREFUSED);
                }
            } else if reset {
                peer.error = Some(Errno::ECONNRESET);
                if flavor == Flavor::Tcp {
                    peer.shut_rd = true;
                    peer.shut_wr = true;
                }
            }
            Arc::clone(&peer.queue)
        };
        queue.wake_all();
    }
}

/// A connection waiting in a listener's backlog.
struct Embryo {
    /// The listener's end.
    end: ConnEnd,
    /// The connecting socket's address, and the address it connected to
    /// (the accepted socket's own).
    peer: SockAddr,
    local: SockAddr,
    cred: Ucred,
}

struct ListenState {
    /// Connections `accept` may take: at most `backlog + 1`.
    ready: VecDeque<Embryo>,
    /// TCP connects waiting for room in `ready`.
    pending: VecDeque<Embryo>,
    backlog: usize,
    /// False once the listener stops (closed, or `shutdown(SHUT_RD)`).
    open: bool,
    /// AF_UNIX connects waiting for room: their sockets' queues.
    waiting: Vec<Weak<WaitQueue>>,
}

/// A listening stream socket's backlog.
pub struct Listener {
    flavor: Flavor,
    /// Its connections keep record boundaries (`SOCK_SEQPACKET`).
    packets: bool,
    /// The listening socket waits here.
    queue: Arc<WaitQueue>,
    /// Its own address (what a client's `getpeername` shows for AF_UNIX).
    local: SockAddr,
    /// Who listens (`SO_PEERCRED` of the clients).
    cred: Ucred,
    state: Mutex<ListenState>,
}

fn backlog_len(backlog: u32) -> usize {
    // A negative int backlog arrives huge, and is capped like any other.
    backlog.min(SOMAXCONN) as usize
}

impl Listener {
    fn new(
        flavor: Flavor,
        packets: bool,
        queue: Arc<WaitQueue>,
        local: SockAddr,
        backlog: u32,
        cred: Ucred,
    ) -> Self {
        Self {
            flavor,
            packets,
            queue,
            local,
            cred,
            state: Mutex::new(ListenState {
                ready: VecDeque::new(),
                pending: VecDeque::new(),
                backlog: backlog_len(backlog),
                open: true,
                waiting: Vec::new(),
            }),
        }
    }

    /// A connection from a socket waiting on `client_queue`: the client's
    /// end. ECONNREFUSED once the listener has stopped; EAGAIN for an
    /// AF_UNIX connect while the backlog is full (the client's queue is
    /// woken when room comes).
    fn connect(
        &self,
        client_queue: &Arc<WaitQueue>,
        peer: SockAddr,
        local: SockAddr,
        cred: Ucred,
    ) -> Result<ConnEnd, Errno> {
        let mut state = self.state.lock();
        if !state.open {
            return Err(Errno::ECONNREFUSED);
        }
        let full = state.ready.len() > state.backlog;
        if full && self.flavor == Flavor::Unix {
            remember_waiter(&mut state.waiting, client_queue);
            return Err(Errno::EAGAIN);
        }
        check_heap()?;
        if full && state.pending.len() >= MAX_PENDING {
            return Err(Errno::EAGAIN);
        }
        let server_queue = Arc::new(WaitQueue::new());
        let mut queues = [Arc::clone(client_queue), Arc::clone(client_queue)];
        queues[SERVER] = server_queue;
        let (client, server) = ConnEnd::pair(self.flavor, queues, !full, self.packets);
        debug_assert_eq!((client.side, server.side), (CLIENT, SERVER));
        let embryo = Embryo {
            end: server,
            peer,
            local,
            cred,
        };
        if full {
            state.pending.push_back(embryo);
        } else {
            state.ready.push_back(embryo);
            drop(state);
            self.queue.wake_all();
        }
        Ok(client)
    }

    /// The next connection; EAGAIN when there is none, EINVAL once the
    /// listener has stopped.
    fn accept(&self) -> Result<Embryo, Errno> {
        let (embryo, promoted, waiting) = {
            let mut state = self.state.lock();
            if !state.open {
                return Err(Errno::EINVAL);
            }
            let embryo = state.ready.pop_front().ok_or(Errno::EAGAIN)?;
            // Connects given up while they waited never reach the backlog.
            let mut promoted = None;
            while let Some(next) = state.pending.pop_front() {
                if !next.end.failed() {
                    promoted = Some(next);
                    break;
                }
            }
            let waiting = core::mem::take(&mut state.waiting);
            (embryo, promoted, waiting)
        };
        if let Some(promoted) = promoted {
            promoted.end.establish();
            self.state.lock().ready.push_back(promoted);
        }
        for queue in waiting.iter().filter_map(Weak::upgrade) {
            queue.wake_all();
        }
        Ok(embryo)
    }

    fn has_ready(&self) -> bool {
        !self.state.lock().ready.is_empty()
    }

    fn set_backlog(&self, backlog: u32) {
        self.state.lock().backlog = backlog_len(backlog);
    }

    /// Stops listening: connections not yet accepted are reset, waiting
    /// connects refused.
    fn close(&self) {
        let (ready, pending, waiting) = {
            let mut state = self.state.lock();
            state.open = false;
            (
                core::mem::take(&mut state.ready),
                core::mem::take(&mut state.pending),
                core::mem::take(&mut state.waiting),
            )
        };
        for embryo in ready.into_iter().chain(pending) {
            embryo.end.reset();
        }
        for queue in waiting.iter().filter_map(Weak::upgrade) {
            queue.wake_all();
        }
        self.queue.wake_all();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.close();
    }
}

/// What a stream socket is doing.
enum Role {
    Idle,
    Listening(Arc<Listener>),
    Connected {
        end: ConnEnd,
        local: SockAddr,
        peer: SockAddr,
        peer_cred: Ucred,
    },
}

struct Inner {
    /// The bound name (and for TCP its port).
    name: Option<Name>,
    role: Role,
    /// Linux's `SS_CONNECTING`: a non-blocking connect was started and no
    /// later `connect` has seen it end yet.
    connecting: bool,
    /// An error outside a connection (a refused non-blocking connect).
    error: Option<Errno>,
}

/// A stream socket (AF_UNIX, or TCP on the guest's loopback).
pub struct StreamSocket {
    domain: Domain,
    flavor: Flavor,
    /// `SOCK_SEQPACKET`.
    packets: bool,
    queue: Arc<WaitQueue>,
    inner: Mutex<Inner>,
}

impl StreamSocket {
    pub fn new(domain: Domain, queue: Arc<WaitQueue>) -> Self {
        Self::with_packets(domain, queue, false)
    }

    fn with_packets(domain: Domain, queue: Arc<WaitQueue>, packets: bool) -> Self {
        Self {
            domain,
            flavor: if domain == Domain::Unix {
                Flavor::Unix
            } else {
                Flavor::Tcp
            },
            packets,
            queue,
            inner: Mutex::new(Inner {
                name: None,
                role: Role::Idle,
                connecting: false,
                error: None,
            }),
        }
    }

    /// `socket(AF_UNIX, SOCK_SEQPACKET)`.
    pub fn new_seqpacket(queue: Arc<WaitQueue>) -> Self {
        Self::with_packets(Domain::Unix, queue, true)
    }

    /// The socket type its names and connections are of.
    fn kind(&self) -> Kind {
        if self.packets {
            Kind::Seqpacket
        } else {
            Kind::Stream
        }
    }

    fn connected(
        domain: Domain,
        end: ConnEnd,
        local: SockAddr,
        peer: SockAddr,
        peer_cred: Ucred,
    ) -> Self {
        let queue = end.queue();
        let packets = end.conn.lock().packets;
        let socket = Self::with_packets(domain, queue, packets);
        socket.inner.lock().role = Role::Connected {
            end,
            local,
            peer,
            peer_cred,
        };
        socket
    }

    /// `socketpair(AF_UNIX, SOCK_STREAM)` (or `SOCK_SEQPACKET`: `packets`).
    pub fn pair(queues: [Arc<WaitQueue>; 2], cred: Ucred, packets: bool) -> (Self, Self) {
        let (a, b) = ConnEnd::pair(Flavor::Unix, queues, true, packets);
        let unnamed = || SockAddr::Unix(UnixAddr::Unnamed);
        (
            Self::connected(Domain::Unix, a, unnamed(), unnamed(), cred),
            Self::connected(Domain::Unix, b, unnamed(), unnamed(), cred),
        )
    }

    fn connect_unix(
        &self,
        inner: &mut Inner,
        addr: &SockAddr,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        let SockAddr::Unix(target) = addr else {
            return Err(Errno::EINVAL);
        };
        let listener = match unix::find(target, self.kind(), cx)? {
            Endpoint::Listener(listener) => listener.upgrade().ok_or(Errno::ECONNREFUSED)?,
            _ => return Err(Errno::ECONNREFUSED),
        };
        let local = inner
            .name
            .as_ref()
            .map_or(SockAddr::Unix(UnixAddr::Unnamed), |n| n.addr.clone());
        let end = listener.connect(
            &self.queue,
            local.clone(),
            listener.local.clone(),
            cred_of(cx),
        )?;
        inner.role = Role::Connected {
            end,
            local,
            peer: listener.local.clone(),
            peer_cred: listener.cred,
        };
        Ok(())
    }

    fn connect_inet(
        &self,
        inner: &mut Inner,
        addr: &SockAddr,
        options: &AddrOptions,
        call: &ConnectCall<'_>,
    ) -> Result<(), Errno> {
        let dst = match (self.domain, addr) {
            (Domain::Inet, SockAddr::Inet(a)) | (Domain::Inet6, SockAddr::Inet6(a)) => *a,
            // Dissolving a stream's connection (AF_UNSPEC): not yet.
            (_, SockAddr::Unspec) => return Err(Errno::EOPNOTSUPP),
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        let route = inet::route(self.domain, dst.ip, options.v6only)?;
        // The socket's own address: the bound one, or an ephemeral port
        // taken now (given back if the connect fails).
        let autobound = inner.name.is_none();
        if autobound {
            inner.name = Some(bind_name(
                self.domain,
                Kind::Stream,
                &self.domain.unbound(),
                options,
                call.cx,
            )?);
        }
        let name = inner.name.as_ref().expect("bound above");
        let port = name.inet().map_or(0, inet::Lease::port);
        let local_ip = inet::source_for(name_ip(&name.addr), route);
        let refused = |inner: &mut Inner| {
            if autobound {
                inner.name = None;
            }
            if call.nonblocking {
                inner.connecting = true;
                inner.error = Some(Errno::ECONNREFUSED);
                Err(Errno::EINPROGRESS)
            } else {
                Err(Errno::ECONNREFUSED)
            }
        };
        let Some(listener) = inet::find_listener(route, dst.port) else {
            return refused(inner);
        };
        let shown = |domain: Domain, ip| domain.inet_addr(InetAddr { ip, port: 0 });
        let with_port = |addr: SockAddr, port| match addr {
            SockAddr::Inet(a) => SockAddr::Inet(InetAddr { port, ..a }),
            SockAddr::Inet6(a) => SockAddr::Inet6(InetAddr { port, ..a }),
            other => other,
        };
        let listener_domain = match &listener.local {
            SockAddr::Inet6(_) => Domain::Inet6,
            _ => Domain::Inet,
        };
        let end = match listener.connect(
            &self.queue,
            with_port(shown(listener_domain, local_ip), port),
            with_port(shown(listener_domain, route), dst.port),
            cred_of(call.cx),
        ) {
            Ok(end) => end,
            Err(Errno::ECONNREFUSED) => return refused(inner),
            Err(e) => {
                if autobound {
                    inner.name = None;
                }
                return Err(e);
            }
        };
        let established = end.established();
        inner.role = Role::Connected {
            end,
            local: with_port(shown(self.domain, local_ip), port),
            peer: with_port(shown(self.domain, route), dst.port),
            peer_cred: listener.cred,
        };
        if established && !call.nonblocking {
            return Ok(());
        }
        inner.connecting = true;
        Err(if call.nonblocking {
            Errno::EINPROGRESS
        } else {
            Errno::EAGAIN
        })
    }
}

impl Transport for StreamSocket {
    fn bind(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        if inner.name.is_some() || !matches!(inner.role, Role::Idle) {
            return Err(Errno::EINVAL);
        }
        inner.name = Some(bind_name(self.domain, self.kind(), addr, options, cx)?);
        Ok(())
    }

    fn listen(
        &self,
        backlog: u32,
        options: &AddrOptions,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        match &inner.role {
            Role::Listening(listener) => {
                listener.set_backlog(backlog);
                return Ok(());
            }
            Role::Connected { .. } => return Err(Errno::EINVAL),
            Role::Idle => {}
        }
        if inner.name.is_none() {
            if self.flavor == Flavor::Unix {
                return Err(Errno::EINVAL);
            }
            inner.name = Some(bind_name(
                self.domain,
                Kind::Stream,
                &self.domain.unbound(),
                options,
                cx,
            )?);
        }
        let name = inner.name.as_ref().expect("bound above");
        if let Some(lease) = name.inet() {
            lease.listen()?;
        }
        let listener = Arc::new(Listener::new(
            self.flavor,
            self.packets,
            Arc::clone(&self.queue),
            name.addr.clone(),
            backlog,
            cred_of(cx),
        ));
        name.set_endpoint(Endpoint::Listener(Arc::downgrade(&listener)));
        inner.role = Role::Listening(listener);
        inner.connecting = false;
        Ok(())
    }

    fn accept(&self) -> Result<Accepted, Errno> {
        let listener = match &self.inner.lock().role {
            Role::Listening(listener) => Arc::clone(listener),
            _ => return Err(Errno::EINVAL),
        };
        let embryo = listener.accept()?;
        let socket = StreamSocket::connected(
            self.domain,
            embryo.end,
            embryo.local,
            embryo.peer,
            embryo.cred,
        );
        Ok(Accepted {
            queue: Arc::clone(&socket.queue),
            transport: alloc::boxed::Box::new(socket),
        })
    }

    fn connect(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        call: ConnectCall<'_>,
    ) -> Result<(), Errno> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let ended = match &inner.role {
            Role::Listening(_) => {
                return Err(match self.flavor {
                    Flavor::Tcp => Errno::EISCONN,
                    Flavor::Unix => Errno::EINVAL,
                })
            }
            Role::Connected { end, .. } => {
                if !inner.connecting {
                    return Err(Errno::EISCONN);
                }
                if end.established() {
                    inner.connecting = false;
                    return Ok(());
                }
                if !end.failed() {
                    return Err(if call.nonblocking {
                        Errno::EALREADY
                    } else {
                        Errno::EAGAIN
                    });
                }
                Some(end.take_error().unwrap_or(Errno::ECONNREFUSED))
            }
            Role::Idle => None,
        };
        if let Some(error) = ended {
            let role = core::mem::replace(&mut inner.role, Role::Idle);
            inner.connecting = false;
            drop(guard);
            drop(role);
            return Err(error);
        }
        if inner.connecting {
            // A non-blocking connect that failed: this call reports it.
            inner.connecting = false;
            return Err(inner.error.take().unwrap_or(Errno::ECONNABORTED));
        }
        match self.domain {
            Domain::Unix => self.connect_unix(inner, addr, call.cx),
            Domain::Inet | Domain::Inet6 => self.connect_inet(inner, addr, options, &call),
        }
    }

    fn send(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        _options: &AddrOptions,
    ) -> Result<usize, Errno> {
        let mut inner = self.inner.lock();
        if let Role::Connected { end, .. } = &inner.role {
            if to.is_some() && self.flavor == Flavor::Unix {
                return Err(Errno::EISCONN);
            }
            return end.send(data, super::Ancillary::default());
        }
        match self.flavor {
            Flavor::Unix if to.is_some() => Err(Errno::EOPNOTSUPP),
            Flavor::Unix => Err(Errno::ENOTCONN),
            // `sk_stream_wait_connect`: a pending error, else EPIPE.
            Flavor::Tcp => Err(inner.error.take().unwrap_or(Errno::EPIPE)),
        }
    }

    fn send_ancillary(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
        ancillary: super::Ancillary,
    ) -> Result<usize, Errno> {
        if self.flavor != Flavor::Unix {
            return self.send(data, to, options);
        }
        let inner = self.inner.lock();
        match &inner.role {
            Role::Connected { .. } if to.is_some() => Err(Errno::EISCONN),
            Role::Connected { end, .. } => end.send(data, ancillary),
            _ => {
                drop(inner);
                self.send(data, to, options)
            }
        }
    }

    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        self.recv_ancillary(buf, flags, false)
    }

    fn recv_ancillary(
        &self,
        buf: &mut [u8],
        flags: u32,
        passcred: bool,
    ) -> Result<Received, Errno> {
        let mut inner = self.inner.lock();
        let from = match &inner.role {
            Role::Connected { peer, .. } if self.flavor == Flavor::Unix => {
                (peer != &SockAddr::Unix(UnixAddr::Unnamed)).then(|| peer.clone())
            }
            _ => None,
        };
        match &inner.role {
            Role::Connected { end, .. } => {
                let (len, full_len, ancillary) = end.recv(buf, flags, passcred)?;
                Ok(Received {
                    len,
                    full_len,
                    from,
                    ancillary,
                })
            }
            _ => match self.flavor {
                Flavor::Unix => Err(Errno::EINVAL),
                Flavor::Tcp => Err(inner.error.take().unwrap_or(Errno::ENOTCONN)),
            },
        }
    }

    fn shutdown(&self, how: u64) -> Result<(), Errno> {
        let read = how != SHUT_WR;
        let write = how != SHUT_RD;
        let mut inner = self.inner.lock();
        match &inner.role {
            Role::Connected { end, .. } => {
                end.shutdown(read, write);
                Ok(())
            }
            Role::Listening(listener) if read && self.flavor == Flavor::Tcp => {
                // `tcp_disconnect` of a listener: it stops.
                listener.close();
                if let Some(name) = &inner.name {
                    name.set_endpoint(Endpoint::None);
                }
                inner.role = Role::Idle;
                Ok(())
            }
            Role::Listening(_) => Ok(()),
            Role::Idle => match self.flavor {
                Flavor::Unix => Ok(()),
                Flavor::Tcp => Err(Errno::ENOTCONN),
            },
        }
    }

    fn local_addr(&self) -> SockAddr {
        let inner = self.inner.lock();
        match (&inner.role, &inner.name) {
            (Role::Connected { local, .. }, _) => local.clone(),
            (_, Some(name)) => name.addr.clone(),
            (_, None) => self.domain.unbound(),
        }
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        let inner = self.inner.lock();
        match &inner.role {
            Role::Connected { end, peer, .. } => {
                if self.flavor == Flavor::Tcp && !end.established() {
                    return Err(Errno::ENOTCONN);
                }
                Ok(peer.clone())
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn poll(&self) -> u16 {
        let inner = self.inner.lock();
        match &inner.role {
            Role::Connected { end, .. } => end.poll(),
            Role::Listening(listener) => {
                if listener.has_ready() {
                    POLLIN | POLLRDNORM
                } else {
                    0
                }
            }
            // A socket with no connection: Linux's TCP_CLOSE state.
            Role::Idle => {
                let error = if inner.error.is_some() { POLLERR } else { 0 };
                POLLOUT | POLLWRNORM | POLLHUP | error
            }
        }
    }

    fn take_error(&self) -> Option<Errno> {
        let mut inner = self.inner.lock();
        if let Some(e) = inner.error.take() {
            return Some(e);
        }
        match &inner.role {
            Role::Connected { end, .. } => end.take_error(),
            _ => None,
        }
    }

    fn is_listening(&self) -> bool {
        matches!(self.inner.lock().role, Role::Listening(_))
    }

    fn readable_bytes(&self) -> usize {
        match &self.inner.lock().role {
            Role::Connected { end, .. } => end.readable_bytes(),
            _ => 0,
        }
    }

    fn peer_cred(&self) -> Option<Ucred> {
        match &self.inner.lock().role {
            Role::Connected { peer_cred, .. } => Some(*peer_cred),
            _ => None,
        }
    }

    fn is_idle(&self) -> bool {
        let inner = self.inner.lock();
        matches!(inner.role, Role::Idle) && !inner.connecting
    }
}

impl Drop for StreamSocket {
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        if let Role::Listening(listener) = &inner.role {
            listener.close();
        }
    }
}
