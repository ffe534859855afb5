//! Socket calls, over the socket object (`crate::net::Socket`). `read`,
//! `write`, `readv`, `writev`, `poll` and `select` reach sockets through
//! the generic paths (`io`, `poll`); these are the calls of sockets alone.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use lamina_abi::args::iovecs_total_len;
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use lamina_abi::socket::*;
use lamina_abi::types::Iovec;

use super::io::{raise_sigpipe, read_iovecs, IO_CHUNK};
use super::SysResult;
use crate::fs::fd::Entry;
use crate::fs::file::OpenFile;
use crate::net::{Ancillary, ConnectCall, Domain, Kind, Received, Socket};
use crate::process::Process;
use crate::task::wait::block_on;
use lamina_abi::cmsg;

/// The most a datagram may be (larger sends are EMSGSIZE before any
/// copy): above every family's limit.
const DATAGRAM_GATHER_MAX: usize = 256 * 1024;
/// Option values are at most a `struct timeval`.
const OPTION_MAX: usize = 16;

/// The open file behind a socket descriptor.
struct SocketFile(Arc<OpenFile>);

impl SocketFile {
    fn get(p: &Process, fd: u64) -> Result<Self, Errno> {
        let file = p.fds.file(fd)?;
        if file.object.as_socket().is_none() {
            return Err(Errno::ENOTSOCK);
        }
        Ok(Self(file))
    }

    fn socket(&self) -> &Socket {
        self.0.object.as_socket().expect("checked in get")
    }

    fn nonblocking(&self, flags: u32) -> bool {
        self.0.status() & O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0
    }
}

/// What a socket call's result means for the caller: EAGAIN on a blocking
/// socket waits on its queue (the call runs again when it wakes); EPIPE
/// from a stream's send comes with SIGPIPE unless MSG_NOSIGNAL (as `io`'s
/// writes).
fn finish(
    p: &mut Process,
    file: &SocketFile,
    flags: u32,
    sending: bool,
    result: SysResult,
) -> SysResult {
    match result {
        Err(Errno::EAGAIN) if !file.nonblocking(flags) => {
            Err(wait_on_socket(p, file.socket(), sending))
        }
        Err(Errno::EPIPE)
            if sending && flags & MSG_NOSIGNAL == 0 && file.socket().raises_sigpipe() =>
        {
            raise_sigpipe(p);
            Err(Errno::EPIPE)
        }
        other => other,
    }
}

/// A blocking call waits on the socket's queue, as long as the socket's
/// timeout for sending or receiving allows (`SO_SNDTIMEO`,
/// `SO_RCVTIMEO`, from the call's first run): EAGAIN once it has passed.
pub(super) fn wait_on_socket(p: &mut Process, socket: &Socket, sending: bool) -> Errno {
    if let Some(timeout_ns) = socket.timeout_ns(sending) {
        p.restart.deadline_after(timeout_ns);
        if p.restart.timed_out() {
            return Errno::EAGAIN;
        }
    }
    block_on(p.task.tid, &[socket.queue()])
}

/// `SOCK_NONBLOCK` and `SOCK_CLOEXEC` of a type or `accept4` flags, as
/// the open file's status and the descriptor's flag.
fn descriptor_flags(flags: u32) -> Result<(u32, bool), Errno> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let status = O_RDWR
        | if flags & SOCK_NONBLOCK != 0 {
            O_NONBLOCK
        } else {
            0
        };
    Ok((status, flags & SOCK_CLOEXEC != 0))
}

fn install(p: &mut Process, socket: Arc<Socket>, status: u32, cloexec: bool) -> SysResult {
    debug_assert_eq!(O_NONBLOCK, SOCK_NONBLOCK);
    debug_assert_eq!(O_CLOEXEC, SOCK_CLOEXEC);
    p.fds.install_from(
        0,
        Entry {
            file: OpenFile::new(socket, status),
            cloexec,
        },
    )
}

/// The kind a `socket` type asks for, checked against the protocol.
fn kind_of(domain: Domain, sock_type: u32, protocol: u64) -> Result<Kind, Errno> {
    let kind = match sock_type & SOCK_TYPE_MASK {
        SOCK_STREAM => Kind::Stream,
        SOCK_DGRAM => Kind::Dgram,
        SOCK_SEQPACKET if domain == Domain::Unix => Kind::Seqpacket,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    let protocol_ok = match (domain, kind) {
        (Domain::Unix, _) => protocol == 0 || protocol == u64::from(AF_UNIX),
        (_, Kind::Stream) => protocol == 0 || protocol == IPPROTO_TCP,
        (_, Kind::Dgram | Kind::Seqpacket) => protocol == 0 || protocol == IPPROTO_UDP,
    };
    if protocol_ok {
        Ok(kind)
    } else {
        Err(Errno::EPROTONOSUPPORT)
    }
}

pub fn socket(p: &mut Process, family: u64, sock_type: u64, protocol: u64) -> SysResult {
    let domain = Domain::from_family(family).ok_or(Errno::EAFNOSUPPORT)?;
    let sock_type = sock_type as u32;
    let (status, cloexec) = descriptor_flags(sock_type & !SOCK_TYPE_MASK)?;
    let kind = kind_of(domain, sock_type, protocol)?;
    install(p, Socket::new(domain, kind)?, status, cloexec)
}

pub fn socketpair(
    p: &mut Process,
    family: u64,
    sock_type: u64,
    protocol: u64,
    fds: u64,
) -> SysResult {
    let domain = Domain::from_family(family).ok_or(Errno::EAFNOSUPPORT)?;
    let sock_type = sock_type as u32;
    let (status, cloexec) = descriptor_flags(sock_type & !SOCK_TYPE_MASK)?;
    let kind = kind_of(domain, sock_type, protocol)?;
    if domain != Domain::Unix {
        return Err(Errno::EOPNOTSUPP);
    }
    let (a, b) = Socket::pair(kind, crate::net::cred_of(p))?;
    let fd_a = install(p, a, status, cloexec)?;
    let fd_b = match install(p, b, status, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = p.fds.close(fd_a);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(fd_a as u32).to_le_bytes());
    out[4..].copy_from_slice(&(fd_b as u32).to_le_bytes());
    if let Err(e) = p.mm.copy_out(fds, &out) {
        let _ = p.fds.close(fd_a);
        let _ = p.fds.close(fd_b);
        return Err(e);
    }
    Ok(0)
}

/// The address the workload passed, decoded for a socket of `domain`.
fn read_addr(p: &mut Process, domain: Domain, addr: u64, len: u64) -> Result<SockAddr, Errno> {
    let len = len as u32 as i32;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len > SOCKADDR_STORAGE_LEN {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; len];
    p.mm.copy_in(addr, &mut bytes)?;
    SockAddr::decode_for(domain.family(), &bytes)
}

/// An address-length argument (`socklen_t *`) read before the call acts:
/// None for a null address pointer.
fn read_addr_len(p: &mut Process, addr: u64, len_ptr: u64) -> Result<Option<usize>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let len = i32::from_le_bytes(p.mm.read_array(len_ptr)?);
    usize::try_from(len).map(Some).map_err(|_| Errno::EINVAL)
}

/// `move_addr_to_user`: as much of `addr` as the room holds, and its whole
/// length in `*len_ptr`.
fn write_addr(
    p: &mut Process,
    addr: u64,
    room: usize,
    len_ptr: u64,
    value: Option<&SockAddr>,
) -> Result<(), Errno> {
    let bytes = value.map(SockAddr::encode).unwrap_or_default();
    let n = room.min(bytes.len());
    if n > 0 {
        p.mm.copy_out(addr, &bytes[..n])?;
    }
    p.mm.copy_out(len_ptr, &(bytes.len() as u32).to_le_bytes())
}

pub fn bind(p: &mut Process, fd: u64, addr: u64, len: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let domain = file.socket().domain;
    let addr = match read_addr(p, domain, addr, len)? {
        // `inet_bind` takes AF_UNSPEC with INADDR_ANY as AF_INET's.
        SockAddr::Unspec if domain == Domain::Inet => {
            let mut raw = [0u8; SOCKADDR_IN_LEN];
            p.mm.copy_in(addr, &mut raw)?;
            if raw[4..8] != [0; 4] {
                return Err(Errno::EAFNOSUPPORT);
            }
            raw[..2].copy_from_slice(&AF_INET.to_le_bytes());
            SockAddr::decode(&raw)?
        }
        other => other,
    };
    // A path binds as a node that belongs to the binding process.
    let creator = super::cred::creator(p);
    crate::fs::owner::creating_as(creator, || file.socket().bind(&addr, p))?;
    Ok(0)
}

pub fn listen(p: &mut Process, fd: u64, backlog: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    file.socket().listen(backlog as u32, p)?;
    Ok(0)
}

pub fn accept4(p: &mut Process, fd: u64, addr: u64, len_ptr: u64, flags: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let (status, cloexec) = descriptor_flags(flags as u32)?;
    let room = read_addr_len(p, addr, len_ptr)?;
    let accepted = match file.socket().accept() {
        Ok(socket) => socket,
        Err(e) => return finish(p, &file, 0, false, Err(e)),
    };
    if let Some(room) = room {
        write_addr(p, addr, room, len_ptr, accepted.peer_addr().ok().as_ref())?;
    }
    install(p, accepted, status, cloexec)
}

pub fn connect(p: &mut Process, fd: u64, addr: u64, len: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let addr = read_addr(p, file.socket().domain, addr, len)?;
    let call = ConnectCall {
        cx: p,
        nonblocking: file.nonblocking(0),
    };
    let result = file.socket().connect(&addr, call).map(|()| 0);
    // A connect waits as long as SO_SNDTIMEO says; then a TCP connect
    // goes on in the background (EINPROGRESS), as Linux's.
    match finish(p, &file, 0, true, result) {
        Err(Errno::EAGAIN) if file.socket().domain != Domain::Unix && !file.nonblocking(0) => {
            Err(Errno::EINPROGRESS)
        }
        other => other,
    }
}

pub fn shutdown(p: &mut Process, fd: u64, how: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    file.socket().shutdown(how)?;
    Ok(0)
}

pub fn getsockname(p: &mut Process, fd: u64, addr: u64, len_ptr: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let room = read_addr_len(p, addr, len_ptr)?.unwrap_or(0);
    let local = file.socket().local_addr();
    write_addr(p, addr, room, len_ptr, Some(&local))?;
    Ok(0)
}

pub fn getpeername(p: &mut Process, fd: u64, addr: u64, len_ptr: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let room = read_addr_len(p, addr, len_ptr)?.unwrap_or(0);
    let peer = file.socket().peer_addr()?;
    write_addr(p, addr, room, len_ptr, Some(&peer))?;
    Ok(0)
}

pub fn setsockopt(
    p: &mut Process,
    fd: u64,
    level: u64,
    name: u64,
    value: u64,
    len: u64,
) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let len = usize::try_from(len as u32 as i32).map_err(|_| Errno::EINVAL)?;
    let mut bytes = vec![0u8; len.min(OPTION_MAX)];
    p.mm.copy_in(value, &mut bytes)?;
    file.socket().set_option(level, name, &bytes)?;
    Ok(0)
}

pub fn getsockopt(
    p: &mut Process,
    fd: u64,
    level: u64,
    name: u64,
    value: u64,
    len_ptr: u64,
) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let room = i32::from_le_bytes(p.mm.read_array(len_ptr)?);
    let room = usize::try_from(room).map_err(|_| Errno::EINVAL)?;
    let bytes = file.socket().get_option(level, name)?;
    let n = room.min(bytes.len());
    p.mm.copy_out(value, &bytes[..n])?;
    p.mm.copy_out(len_ptr, &(n as u32).to_le_bytes())?;
    Ok(0)
}

/// Sends the bytes of `iovecs`: a stream piece by piece until one is
/// taken short, a datagram whole.
fn send_iovecs(
    p: &mut Process,
    file: &SocketFile,
    iovecs: &[Iovec],
    to: Option<&SockAddr>,
    mut ancillary: Option<Ancillary>,
) -> Result<usize, Errno> {
    let total = iovecs_total_len(iovecs.iter().copied())? as usize;
    let socket = file.socket();
    // An AF_UNIX send always carries the sender's credentials (for a
    // receiver with SO_PASSCRED), and the files with its first bytes.
    let cred = ancillary.as_ref().and_then(|a| a.cred);
    let mut send = |p: &Process, data: &[u8]| {
        let to = to.map(|a| (a, p as &dyn crate::fs::vfs::ProcessView));
        match ancillary.take() {
            Some(ancillary) => socket.send_ancillary(data, to, ancillary),
            None if cred.is_some() => socket.send_ancillary(
                data,
                to,
                Ancillary {
                    files: Vec::new(),
                    cred,
                },
            ),
            None => socket.send(data, to),
        }
    };
    // A datagram or a record goes whole, in one send.
    if socket.kind != Kind::Stream {
        if total > DATAGRAM_GATHER_MAX {
            return Err(Errno::EMSGSIZE);
        }
        let mut data = Vec::new();
        data.try_reserve_exact(total).map_err(|_| Errno::ENOMEM)?;
        data.resize(total, 0);
        let mut at = 0;
        for v in iovecs {
            p.mm.copy_in(v.base, &mut data[at..at + v.len as usize])?;
            at += v.len as usize;
        }
        return send(p, &data);
    }
    let mut chunk = vec![0u8; total.clamp(1, IO_CHUNK)];
    let mut done = 0;
    if total == 0 {
        return send(p, &[]);
    }
    for v in iovecs {
        let mut at = 0;
        while at < v.len as usize {
            let n = (v.len as usize - at).min(IO_CHUNK);
            let step =
                p.mm.copy_in(v.base + at as u64, &mut chunk[..n])
                    .and_then(|()| send(p, &chunk[..n]));
            match step {
                Ok(sent) => {
                    done += sent;
                    at += sent;
                    if sent < n {
                        return Ok(done);
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done),
            }
        }
    }
    Ok(done)
}

/// A send, and what its result means for the caller (`finish`). A
/// blocking stream send goes on until every byte is in, as Linux's
/// (`sk_stream_wait_memory`), across as many runs as it takes: `progress`
/// counts what went in, and a signal then makes that the result.
fn send_and_finish(
    p: &mut Process,
    file: &SocketFile,
    iovecs: &[Iovec],
    to: Option<&SockAddr>,
    flags: u32,
    control: Option<Ancillary>,
) -> SysResult {
    // AF_UNIX bytes carry their sender's credentials.
    let ancillary = match control {
        Some(ancillary) => Some(ancillary),
        None if file.socket().domain == Domain::Unix => Some(Ancillary {
            files: Vec::new(),
            cred: Some(crate::net::cred_of(&*p)),
        }),
        None => None,
    };
    let waits = file.socket().kind == Kind::Stream && !file.nonblocking(flags);
    if !waits {
        let result = send_iovecs(p, file, iovecs, to, ancillary).map(|n| n as u64);
        return finish(p, file, flags, true, result);
    }
    let total = iovecs_total_len(iovecs.iter().copied())?;
    let done = p.restart.progress.min(total);
    let mut skip = done;
    let rest: Vec<Iovec> = iovecs
        .iter()
        .filter_map(|v| {
            let cut = skip.min(v.len);
            skip -= cut;
            (v.len > cut).then_some(Iovec {
                base: v.base + cut,
                len: v.len - cut,
            })
        })
        .collect();
    // Past SO_SNDTIMEO, what went in is the result.
    let wait = |p: &mut Process, done: u64| match wait_on_socket(p, file.socket(), true) {
        Errno::EAGAIN => Ok(done),
        e => Err(e),
    };
    // A send going on in a later run: its files went with its first bytes.
    let ancillary = ancillary.map(|a| Ancillary {
        files: if done == 0 { a.files } else { Vec::new() },
        cred: a.cred,
    });
    match send_iovecs(p, file, &rest, to, ancillary).map(|n| n as u64) {
        Ok(n) if n > 0 && done + n < total => {
            p.restart.progress = done + n;
            wait(p, done + n)
        }
        Ok(n) => Ok(done + n),
        Err(Errno::EAGAIN) if done > 0 => wait(p, done),
        // The connection failed part way: the bytes that went in count.
        Err(_) if done > 0 => Ok(done),
        Err(e) => finish(p, file, flags, true, Err(e)),
    }
}

/// Receives into `iovecs`: returns what came (and from whom).
fn recv_iovecs(
    p: &mut Process,
    file: &SocketFile,
    iovecs: &[Iovec],
    flags: u32,
) -> Result<Received, Errno> {
    let total = iovecs_total_len(iovecs.iter().copied())? as usize;
    // A bad buffer fails before anything is taken (the first page of
    // each is made present and writable, nothing written).
    for v in iovecs.iter().filter(|v| v.len > 0) {
        p.mm.fault(v.base, true, false).map_err(Errno::from)?;
    }
    let socket = file.socket();
    // No bigger a buffer than what is there (a stream) or the next
    // datagram's size, unless the call waits for all of it.
    let ready = socket.readable_bytes();
    let want = if flags & MSG_WAITALL != 0 {
        total.min(IO_CHUNK)
    } else {
        total.min(IO_CHUNK).min(ready.max(1))
    };
    let mut buf = vec![0u8; want];
    let received = socket.recv_ancillary(&mut buf, flags)?;
    let mut at = 0;
    for v in iovecs {
        if at >= received.len {
            break;
        }
        let n = (v.len as usize).min(received.len - at);
        p.mm.copy_out(v.base, &buf[at..at + n])?;
        at += n;
    }
    Ok(received)
}

pub fn sendto(
    p: &mut Process,
    fd: u64,
    buf: u64,
    len: u64,
    flags: u64,
    addr: u64,
    addr_len: u64,
) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let flags = flags as u32;
    let to = if addr == 0 {
        None
    } else {
        Some(read_addr(p, file.socket().domain, addr, addr_len)?)
    };
    let iovec = [Iovec { base: buf, len }];
    send_and_finish(p, &file, &iovec, to.as_ref(), flags, None)
}

pub fn recvfrom(
    p: &mut Process,
    fd: u64,
    buf: u64,
    len: u64,
    flags: u64,
    addr: u64,
    len_ptr: u64,
) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let flags = flags as u32;
    let room = read_addr_len(p, addr, len_ptr)?;
    let iovec = [Iovec { base: buf, len }];
    let received = match recv_iovecs(p, &file, &iovec, flags) {
        Ok(received) => received,
        Err(e) => return finish(p, &file, flags, false, Err(e)),
    };
    if let Some(room) = room {
        write_addr(p, addr, room, len_ptr, received.from.as_ref())?;
    }
    Ok(result_len(&received, flags))
}

/// A datagram cut short still counts whole with MSG_TRUNC.
fn result_len(received: &Received, flags: u32) -> u64 {
    if flags & MSG_TRUNC != 0 {
        received.full_len as u64
    } else {
        received.len as u64
    }
}

/// A `struct msghdr`; more iovecs than `UIO_MAXIOV` is EMSGSIZE here
/// (`__copy_msghdr`), not readv's EINVAL.
fn read_msghdr(p: &mut Process, msg: u64) -> Result<MsgHdr, Errno> {
    let header = MsgHdr::from_bytes(&p.mm.read_array(msg)?);
    if header.iovlen > lamina_abi::args::IOV_MAX as u64 {
        return Err(Errno::EMSGSIZE);
    }
    Ok(header)
}

pub fn sendmsg(p: &mut Process, fd: u64, msg: u64, flags: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let flags = flags as u32;
    let header = read_msghdr(p, msg)?;
    let control = read_control(p, &file, &header)?;
    let to = if header.name == 0 || header.namelen == 0 {
        None
    } else {
        Some(read_addr(
            p,
            file.socket().domain,
            header.name,
            u64::from(header.namelen),
        )?)
    };
    let iovecs = read_iovecs(p, header.iov, header.iovlen)?;
    send_and_finish(p, &file, &iovecs, to.as_ref(), flags, control)
}

/// The most control bytes a `sendmsg` may give (Linux's `optmem_max`).
const CONTROL_MAX: u64 = 20_480;

/// A `sendmsg`'s ancillary data, as Linux's `__scm_send` checks it on
/// AF_UNIX: open descriptors (EBADF), credentials of an existing process
/// (ESRCH) with valid ids (EINVAL); the sender's own credentials when it
/// gives none. Other families check the layout and ignore the rest.
fn read_control(
    p: &mut Process,
    file: &SocketFile,
    header: &MsgHdr,
) -> Result<Option<Ancillary>, Errno> {
    if header.controllen == 0 {
        return Ok(None);
    }
    if header.controllen > CONTROL_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut bytes = vec![0u8; header.controllen as usize];
    p.mm.copy_in(header.control, &mut bytes)?;
    let control = cmsg::parse(&bytes)?;
    if file.socket().domain != Domain::Unix {
        // `__sock_cmsg_send` of the other families ignores both.
        return Ok(None);
    }
    let files = control
        .fds
        .iter()
        .map(|&fd| {
            u64::try_from(fd)
                .map_err(|_| Errno::EBADF)
                .and_then(|fd| p.fds.file(fd))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cred = match control.cred {
        Some(cred) => {
            if cred.uid == u32::MAX || cred.gid == u32::MAX {
                return Err(Errno::EINVAL);
            }
            // Root (every lamina workload) may name any process that exists.
            let exists = crate::task::with_tables(|t| t.procs.contains_key(&cred.pid));
            if !exists {
                return Err(Errno::ESRCH);
            }
            cred
        }
        None => crate::net::cred_of(&*p),
    };
    Ok(Some(Ancillary {
        files,
        cred: Some(cred),
    }))
}

pub fn recvmsg(p: &mut Process, fd: u64, msg: u64, flags: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let flags = flags as u32;
    let header = read_msghdr(p, msg)?;
    let iovecs = read_iovecs(p, header.iov, header.iovlen)?;
    let received = match recv_iovecs(p, &file, &iovecs, flags) {
        Ok(received) => received,
        Err(e) => return finish(p, &file, flags, false, Err(e)),
    };
    if header.name != 0 {
        let room = header.namelen as i32;
        let room = usize::try_from(room).map_err(|_| Errno::EINVAL)?;
        write_addr(
            p,
            header.name,
            room,
            msg + MsgHdr::NAMELEN_OFFSET,
            received.from.as_ref(),
        )?;
    }
    let mut msg_flags = 0;
    if received.full_len > received.len {
        msg_flags |= MSG_TRUNC;
    }
    let len = result_len(&received, flags);
    let room = if header.control == 0 {
        0
    } else {
        usize::try_from(header.controllen).unwrap_or(usize::MAX)
    };
    let control = write_control(p, received.ancillary, room, flags)?;
    if !control.bytes.is_empty() {
        p.mm.copy_out(header.control, &control.bytes)?;
    }
    if control.truncated {
        msg_flags |= MSG_CTRUNC;
    }
    p.mm.copy_out(
        msg + MsgHdr::CONTROLLEN_OFFSET,
        &(control.bytes.len() as u64).to_le_bytes(),
    )?;
    p.mm.copy_out(msg + MsgHdr::FLAGS_OFFSET, &msg_flags.to_le_bytes())?;
    Ok(len)
}

/// `recvmsg`'s control buffer (`scm_recv`): the credentials first (with
/// SO_PASSCRED), then the passed files as new descriptors, as many as
/// the buffer and the descriptor table take; the others close
/// (MSG_CTRUNC).
fn write_control(
    p: &mut Process,
    ancillary: Ancillary,
    room: usize,
    flags: u32,
) -> Result<cmsg::ReceiveControl, Errno> {
    let mut control = cmsg::ReceiveControl::new(room);
    if let Some(cred) = ancillary.cred {
        control.credentials(cred);
    }
    let count = ancillary.files.len();
    if count == 0 {
        return Ok(control);
    }
    let fit = control.rights_room(count);
    let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
    let mut fds = Vec::with_capacity(fit);
    for file in ancillary.files.into_iter().take(fit) {
        match p.fds.install_from(0, Entry { file, cloexec }) {
            Ok(fd) => fds.push(fd as i32),
            Err(_) => break,
        }
    }
    control.rights(&fds, count);
    Ok(control)
}

/// `writev` on a socket: `sendmsg` without an address or flags.
pub fn sendmsg_iovecs(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let iovecs = read_iovecs(p, iov, count)?;
    send_and_finish(p, &file, &iovecs, None, 0, None)
}

/// `readv` on a socket: `recvmsg` without an address or flags.
pub fn recvmsg_iovecs(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    let file = SocketFile::get(p, fd)?;
    let iovecs = read_iovecs(p, iov, count)?;
    let result = recv_iovecs(p, &file, &iovecs, 0).map(|r| r.len as u64);
    finish(p, &file, 0, false, result)
}

/// `struct mmsghdr`: a `msghdr` and the byte count of its message.
const MMSGHDR_SIZE: u64 = 64;
const MMSGHDR_LEN_OFFSET: u64 = 56;
/// Most messages one `sendmmsg`/`recvmmsg` handles (`UIO_MAXIOV`).
const MMSG_MAX: u64 = 1024;
/// `recvmmsg`: wait for the first message only.
const MSG_WAITFORONE: u32 = 0x10000;

/// `sendmmsg(fd, msgvec, vlen, flags)`: `sendmsg` of each message in turn,
/// its byte count written to its `msg_len`. Only the first may wait: a
/// call that blocks runs again from the start, so once messages have gone
/// the rest are sent without waiting and the call returns how many went
/// (as Linux does when an error follows a message sent).
pub fn sendmmsg(p: &mut Process, fd: u64, msgvec: u64, vlen: u64, flags: u64) -> SysResult {
    SocketFile::get(p, fd)?;
    each_message(p, fd, msgvec, vlen, flags, sendmsg)
}

/// Runs `op` (`sendmsg` or `recvmsg`) on each `mmsghdr` of `msgvec` in
/// turn, its byte count written to the entry's `msg_len`; only the first
/// may wait (the rest are MSG_DONTWAIT). An error on the first is the
/// call's; a later one ends it with the count done so far, as Linux.
fn each_message(
    p: &mut Process,
    fd: u64,
    msgvec: u64,
    vlen: u64,
    flags: u64,
    op: fn(&mut Process, u64, u64, u64) -> SysResult,
) -> SysResult {
    let count = vlen.min(MMSG_MAX);
    for i in 0..count {
        let entry = msgvec + i * MMSGHDR_SIZE;
        let flags = if i == 0 {
            flags
        } else {
            flags | u64::from(MSG_DONTWAIT)
        };
        match op(p, fd, entry, flags) {
            Ok(n) => {
                p.mm.copy_out(entry + MMSGHDR_LEN_OFFSET, &(n as u32).to_le_bytes())?
            }
            Err(e) if i == 0 => return Err(e),
            Err(_) => return Ok(i),
        }
    }
    Ok(count)
}

/// `recvmmsg(fd, msgvec, vlen, flags, timeout)`: `recvmsg` into each
/// message in turn. Only the first may wait (a call that blocks runs again
/// from the start, which would lose the messages taken): after it, the
/// call takes what is there and returns, which is MSG_WAITFORONE's rule
/// and, for a `timeout`, what Linux's check after each message gives
/// once the time is short.
pub fn recvmmsg(
    p: &mut Process,
    fd: u64,
    msgvec: u64,
    vlen: u64,
    flags: u64,
    timeout: u64,
) -> SysResult {
    const NSEC_PER_SEC: i64 = 1_000_000_000;
    SocketFile::get(p, fd)?;
    if timeout != 0 {
        let raw: [u8; 16] = p.mm.read_array(timeout)?;
        let sec = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
        let nsec = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
        if sec < 0 || !(0..NSEC_PER_SEC).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
    }
    let flags = flags & !u64::from(MSG_WAITFORONE);
    each_message(p, fd, msgvec, vlen, flags, recvmsg)
}
