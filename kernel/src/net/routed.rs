//! An AF_INET or AF_INET6 socket: inside the guest (`stream`, `dgram`)
//! while it deals with the guest's loopback, forwarded to the host proxy
//! (`forward`) once it connects or sends anywhere else.
//!
//! The guest's own transport is always there and keeps the socket's
//! name (its port lease); the forwarded one is added when the socket
//! first leaves the guest, and only if the net channel is up (without
//! it the guest's transport answers ENETUNREACH, as before):
//! - a stream that connects to an outside address becomes a forwarded
//!   stream (a connect that fails for good turns it back, so the socket
//!   may connect again);
//! - a datagram socket that connects or sends outside gets a forwarded
//!   half; sends to the loopback still go inside the guest, and receives
//!   take from both;
//! - a stream listening on the wildcard also listens on the host, where
//!   the published ports (`-p`) lead: `accept` takes the guest's own
//!   connections and the published ones from one socket, and poll shows
//!   both.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::socket::*;
use lamina_proto::net::SockOpt;
use spin::Mutex;

use super::forward::{self, ForwardDgram, ForwardListener, ForwardStream};
use super::{Accepted, AddrOptions, ConnectCall, Domain, Kind, Received, Transport};
use crate::fs::vfs::ProcessView;
use crate::task::wait::WaitQueue;

enum Route {
    /// Inside the guest only.
    Local,
    Stream(ForwardStream),
    Dgram(ForwardDgram),
    /// Listening in the guest and on the host.
    Listening(ForwardListener),
}

pub struct RoutedSocket {
    domain: Domain,
    kind: Kind,
    queue: Arc<WaitQueue>,
    local: Box<dyn Transport>,
    route: Mutex<Route>,
    /// Options the host socket takes, for when there is one.
    host_opts: Mutex<Vec<SockOpt>>,
}

/// A connect's answer that ends it for good (a new connect may start).
fn connect_failed(result: &Result<(), Errno>) -> bool {
    matches!(result, Err(e) if !matches!(
        e,
        Errno::EINPROGRESS | Errno::EALREADY | Errno::EAGAIN | Errno::EISCONN
    ))
}

impl RoutedSocket {
    pub fn new(domain: Domain, kind: Kind, queue: Arc<WaitQueue>) -> Self {
        let local: Box<dyn Transport> = match kind {
            // (No inet SOCK_SEQPACKET: `socket` refuses it.)
            Kind::Stream | Kind::Seqpacket => {
                Box::new(super::stream::StreamSocket::new(domain, Arc::clone(&queue)))
            }
            Kind::Dgram => Box::new(super::dgram::DgramSocket::new(domain, Arc::clone(&queue))),
        };
        Self {
            domain,
            kind,
            queue,
            local,
            route: Mutex::new(Route::Local),
            host_opts: Mutex::new(Vec::new()),
        }
    }

    /// Whether `addr` lies outside the guest and the host can take it.
    fn leaves_guest(&self, addr: &SockAddr, options: &AddrOptions) -> bool {
        let a = match (self.domain, addr) {
            (Domain::Inet, SockAddr::Inet(a)) | (Domain::Inet6, SockAddr::Inet6(a)) => a,
            _ => return false,
        };
        let ip = a.ip.unmapped();
        if ip.is_unspecified() || ip.is_loopback() {
            return false;
        }
        if self.domain == Domain::Inet6 && matches!(ip, Ip::V4(_)) && options.v6only {
            return false;
        }
        forward::available()
    }

    /// The name the host records for the socket: its port, where the
    /// guest bound one on the wildcard.
    fn host_bind(&self) -> Option<core::net::SocketAddr> {
        let name = self.local.local_addr();
        match &name {
            SockAddr::Inet(a) | SockAddr::Inet6(a) if a.port != 0 && a.ip.is_unspecified() => {
                forward::to_wire(self.domain, &name)
            }
            _ => None,
        }
    }
}

impl Transport for RoutedSocket {
    fn bind(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        if !matches!(*self.route.lock(), Route::Local) {
            return Err(Errno::EINVAL);
        }
        self.local.bind(addr, options, cx)
    }

    fn listen(
        &self,
        backlog: u32,
        options: &AddrOptions,
        cx: &dyn ProcessView,
    ) -> Result<(), Errno> {
        let mut route = self.route.lock();
        if matches!(*route, Route::Stream(_) | Route::Dgram(_)) {
            return Err(Errno::EINVAL);
        }
        self.local.listen(backlog, options, cx)?;
        if !matches!(*route, Route::Local) || !forward::available() {
            return Ok(());
        }
        // A wildcard listener is reachable from outside: the host's
        // published ports may lead to it.
        if let Some(addr) = self.host_bind() {
            match ForwardListener::start(self.domain, Arc::clone(&self.queue), addr, backlog) {
                Ok(listener) => *route = Route::Listening(listener),
                Err(e) => crate::log!("net: listener on {addr} stays inside the guest: {e:?}"),
            }
        }
        Ok(())
    }

    fn accept(&self) -> Result<Accepted, Errno> {
        match &*self.route.lock() {
            Route::Listening(listener) => match self.local.accept() {
                Err(Errno::EAGAIN) => listener.accept(),
                other => other,
            },
            Route::Local => self.local.accept(),
            Route::Stream(_) | Route::Dgram(_) => Err(Errno::EINVAL),
        }
    }

    fn connect(
        &self,
        addr: &SockAddr,
        options: &AddrOptions,
        call: ConnectCall<'_>,
    ) -> Result<(), Errno> {
        let mut route = self.route.lock();
        match &*route {
            Route::Stream(stream) => {
                let result = stream.connect(addr, call.nonblocking);
                if connect_failed(&result) {
                    *route = Route::Local;
                }
                return result;
            }
            Route::Dgram(dgram) => {
                if self.leaves_guest(addr, options) || *addr == SockAddr::Unspec {
                    return dgram.connect(addr, call.nonblocking);
                }
            }
            Route::Listening(_) | Route::Local => {}
        }
        let idle = matches!(*route, Route::Local) && self.local.is_idle();
        if !(idle && self.leaves_guest(addr, options)) {
            drop(route);
            return self.local.connect(addr, options, call);
        }
        let bind = self.host_bind();
        let opts = self.host_opts.lock().clone();
        let queue = Arc::clone(&self.queue);
        match self.kind {
            Kind::Stream | Kind::Seqpacket => {
                let stream = ForwardStream::new(self.domain, queue, bind, opts)?;
                let result = stream.connect(addr, call.nonblocking);
                if !connect_failed(&result) {
                    *route = Route::Stream(stream);
                }
                result
            }
            Kind::Dgram => {
                let dgram = ForwardDgram::new(self.domain, queue, bind, opts)?;
                let result = dgram.connect(addr, call.nonblocking);
                if !connect_failed(&result) {
                    *route = Route::Dgram(dgram);
                }
                result
            }
        }
    }

    fn send(
        &self,
        data: &[u8],
        to: Option<(&SockAddr, &dyn ProcessView)>,
        options: &AddrOptions,
    ) -> Result<usize, Errno> {
        let mut route = self.route.lock();
        match &*route {
            Route::Stream(stream) => return stream.send(data),
            Route::Dgram(dgram) => match to {
                Some((addr, _)) if !self.leaves_guest(addr, options) => {}
                _ => return dgram.send(data, to.map(|(addr, _)| addr)),
            },
            Route::Listening(_) => {}
            Route::Local => {
                let outside = self.kind == Kind::Dgram
                    && to.is_some_and(|(addr, _)| self.leaves_guest(addr, options))
                    && self.local.is_idle();
                if outside {
                    let bind = self.host_bind();
                    let opts = self.host_opts.lock().clone();
                    let dgram =
                        ForwardDgram::new(self.domain, Arc::clone(&self.queue), bind, opts)?;
                    let result = dgram.send(data, to.map(|(addr, _)| addr));
                    *route = Route::Dgram(dgram);
                    return result;
                }
            }
        }
        drop(route);
        self.local.send(data, to, options)
    }

    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        match &*self.route.lock() {
            Route::Stream(stream) => stream.recv(buf, flags),
            Route::Dgram(dgram) => match dgram.recv(buf, flags) {
                Err(Errno::EAGAIN) => self.local.recv(buf, flags),
                other => other,
            },
            Route::Listening(_) | Route::Local => self.local.recv(buf, flags),
        }
    }

    fn shutdown(&self, how: u64) -> Result<(), Errno> {
        let mut route = self.route.lock();
        match &*route {
            Route::Stream(stream) => stream.shutdown(how),
            Route::Dgram(dgram) => dgram.shutdown(how),
            Route::Listening(_) => {
                let result = self.local.shutdown(how);
                if how != SHUT_WR {
                    // The listener stops (`tcp_disconnect`): on the host too.
                    *route = Route::Local;
                }
                result
            }
            Route::Local => self.local.shutdown(how),
        }
    }

    fn local_addr(&self) -> SockAddr {
        let known = match &*self.route.lock() {
            Route::Stream(stream) => stream.local_addr(),
            Route::Dgram(dgram) => dgram.local_addr(),
            Route::Listening(_) | Route::Local => None,
        };
        known.unwrap_or_else(|| self.local.local_addr())
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        match &*self.route.lock() {
            Route::Stream(stream) => stream.peer_addr(),
            Route::Dgram(dgram) => dgram.peer_addr(),
            Route::Listening(_) | Route::Local => self.local.peer_addr(),
        }
    }

    fn poll(&self) -> u16 {
        match &*self.route.lock() {
            Route::Stream(stream) => stream.poll(),
            Route::Dgram(dgram) => dgram.poll() | (self.local.poll() & (POLLIN | POLLRDNORM)),
            Route::Listening(listener) => {
                let published = if listener.has_ready() {
                    POLLIN | POLLRDNORM
                } else {
                    0
                };
                self.local.poll() | published
            }
            Route::Local => self.local.poll(),
        }
    }

    fn take_error(&self) -> Option<Errno> {
        match &*self.route.lock() {
            Route::Stream(stream) => stream.take_error(),
            Route::Dgram(dgram) => dgram.take_error().or_else(|| self.local.take_error()),
            Route::Listening(_) | Route::Local => self.local.take_error(),
        }
    }

    fn is_listening(&self) -> bool {
        self.local.is_listening()
    }

    fn readable_bytes(&self) -> usize {
        match &*self.route.lock() {
            Route::Stream(stream) => stream.readable_bytes(),
            Route::Dgram(dgram) => match dgram.readable_bytes() {
                0 => self.local.readable_bytes(),
                n => n,
            },
            Route::Listening(_) | Route::Local => self.local.readable_bytes(),
        }
    }

    fn peer_cred(&self) -> Option<Ucred> {
        match &*self.route.lock() {
            Route::Local | Route::Listening(_) => self.local.peer_cred(),
            Route::Stream(_) | Route::Dgram(_) => None,
        }
    }

    fn set_option(&self, level: u64, name: u64, value: &[u8]) {
        if let Some(opt) = forward::host_option(level, name, value) {
            let mut opts = self.host_opts.lock();
            opts.retain(|o| o.name != opt.name);
            opts.push(opt);
        }
        match &*self.route.lock() {
            Route::Stream(stream) => stream.set_option(level, name, value),
            Route::Dgram(dgram) => dgram.set_option(level, name, value),
            Route::Listening(_) | Route::Local => {}
        }
    }
}
