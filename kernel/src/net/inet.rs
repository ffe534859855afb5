//! The guest's loopback: 127.0.0.0/8 and ::1, and the TCP and UDP ports
//! bound on them.
//!
//! Binding follows Linux's rules as far as the guest can see them: a port
//! is in use when another socket holds an overlapping address on it (the
//! wildcard overlaps everything of its family; an AF_INET6 socket on `::`
//! without IPV6_V6ONLY also takes IPv4), unless both set SO_REUSEADDR and,
//! for TCP, the other is not listening; two listeners never share a port.
//! Port 0 takes an ephemeral port from Linux's default range.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::socket::{InetAddr, Ip};
use spin::Mutex;

use super::dgram::Inbox;
use super::stream::Listener;
use super::{AddrOptions, Domain, Endpoint, Kind};

/// `net.ipv4.ip_local_port_range`'s default.
const EPHEMERAL_FIRST: u16 = 32_768;
const EPHEMERAL_LAST: u16 = 60_999;

/// Where a datagram or connection to `ip` goes from a socket of `domain`:
/// the loopback address it reaches (IPv4 unmapped; the wildcard means the
/// guest itself, as on Linux). Anything else is not reachable yet: the
/// host proxy will take those.
pub fn route(domain: Domain, ip: Ip, v6only: bool) -> Result<Ip, Errno> {
    let ip = ip.unmapped();
    if domain == Domain::Inet6 && matches!(ip, Ip::V4(_)) && v6only {
        return Err(Errno::ENETUNREACH);
    }
    let ip = match ip {
        Ip::V4(_) if ip.is_unspecified() => Ip::V4_LOOPBACK,
        Ip::V6(_) if ip.is_unspecified() => Ip::V6_LOOPBACK,
        other => other,
    };
    if ip.is_loopback() {
        Ok(ip)
    } else {
        Err(Errno::ENETUNREACH)
    }
}

/// The source address of a socket bound to `bound` sending to `route`:
/// the bound address, or the loopback's own for the wildcard.
pub fn source_for(bound: Ip, route: Ip) -> Ip {
    let bound = bound.unmapped();
    if !bound.is_unspecified() {
        return bound;
    }
    match route {
        Ip::V4(_) => Ip::V4_LOOPBACK,
        Ip::V6(_) => Ip::V6_LOOPBACK,
    }
}

struct Binding {
    id: u64,
    /// The bound address (IPv4 unmapped).
    ip: Ip,
    /// An AF_INET6 wildcard that takes IPv4 too.
    dual: bool,
    reuse: bool,
    listening: bool,
    /// The socket's family (how it shows a peer's address).
    domain: Domain,
    endpoint: Endpoint,
}

impl Binding {
    /// The IPv4 and IPv6 addresses the binding covers.
    fn coverage(ip: Ip, dual: bool) -> (Option<[u8; 4]>, Option<[u8; 16]>) {
        match ip {
            Ip::V4(a) => (Some(a), None),
            Ip::V6(a) => (dual.then_some([0; 4]), Some(a)),
        }
    }

    fn overlaps(&self, ip: Ip, dual: bool) -> bool {
        let (a4, a6) = Self::coverage(self.ip, self.dual);
        let (b4, b6) = Self::coverage(ip, dual);
        let v4 = matches!((a4, b4), (Some(a), Some(b)) if a == b || a == [0; 4] || b == [0; 4]);
        let v6 = matches!((a6, b6), (Some(a), Some(b)) if a == b || a == [0; 16] || b == [0; 16]);
        v4 || v6
    }

    /// How well the binding takes traffic to `dst`: 2 exactly, 1 as a
    /// wildcard, 0 not at all.
    fn matches(&self, dst: Ip) -> u8 {
        let (v4, v6) = Self::coverage(self.ip, self.dual);
        match dst {
            Ip::V4(a) => match v4 {
                Some(b) if b == a => 2,
                Some([0, 0, 0, 0]) => 1,
                _ => 0,
            },
            Ip::V6(a) => match v6 {
                Some(b) if b == a => 2,
                Some(b) if b == [0; 16] => 1,
                _ => 0,
            },
        }
    }
}

struct Table {
    ports: BTreeMap<u16, Vec<Binding>>,
    next_ephemeral: u16,
}

impl Table {
    const fn new() -> Self {
        Self {
            ports: BTreeMap::new(),
            next_ephemeral: EPHEMERAL_FIRST,
        }
    }

    fn in_use(&self, kind: Kind, port: u16, ip: Ip, dual: bool, reuse: bool) -> bool {
        self.ports.get(&port).is_some_and(|bindings| {
            bindings.iter().any(|b| {
                let shared = reuse && b.reuse && !(kind == Kind::Stream && b.listening);
                b.overlaps(ip, dual) && !shared
            })
        })
    }

    /// A free ephemeral port for `ip`.
    fn ephemeral(&mut self, kind: Kind, ip: Ip, dual: bool) -> Option<u16> {
        let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for _ in 0..span {
            let port = self.next_ephemeral;
            self.next_ephemeral = if port >= EPHEMERAL_LAST {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            if !self.in_use(kind, port, ip, dual, false) {
                return Some(port);
            }
        }
        None
    }

    fn binding(&mut self, port: u16, id: u64) -> Option<&mut Binding> {
        self.ports.get_mut(&port)?.iter_mut().find(|b| b.id == id)
    }

    /// The best binding on `port` for traffic to `dst` that `usable` takes.
    fn find(&self, port: u16, dst: Ip, usable: impl Fn(&Binding) -> bool) -> Option<&Binding> {
        self.ports
            .get(&port)?
            .iter()
            .filter(|b| usable(b) && b.matches(dst) > 0)
            .max_by_key(|b| b.matches(dst))
    }
}

struct Tables {
    tcp: Table,
    udp: Table,
    next_id: u64,
}

impl Tables {
    fn table(&mut self, kind: Kind) -> &mut Table {
        match kind {
            // (No inet SOCK_SEQPACKET: `socket` refuses it.)
            Kind::Stream | Kind::Seqpacket => &mut self.tcp,
            Kind::Dgram => &mut self.udp,
        }
    }
}

static TABLES: Mutex<Tables> = Mutex::new(Tables {
    tcp: Table::new(),
    udp: Table::new(),
    next_id: 1,
});

/// A socket's port; dropping it frees the port.
pub struct Lease {
    kind: Kind,
    port: u16,
    id: u64,
}

impl Lease {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn set_endpoint(&self, endpoint: Endpoint) {
        let mut tables = TABLES.lock();
        if let Some(binding) = tables.table(self.kind).binding(self.port, self.id) {
            binding.endpoint = endpoint;
        }
    }

    /// Marks the port listening: EADDRINUSE while another socket listens
    /// on an overlapping address (SO_REUSEADDR or not).
    pub fn listen(&self) -> Result<(), Errno> {
        let mut tables = TABLES.lock();
        let table = tables.table(self.kind);
        let bindings = table.ports.get_mut(&self.port).ok_or(Errno::EINVAL)?;
        let (ip, dual) = bindings
            .iter()
            .find(|b| b.id == self.id)
            .map(|b| (b.ip, b.dual))
            .ok_or(Errno::EINVAL)?;
        if bindings
            .iter()
            .any(|b| b.id != self.id && b.listening && b.overlaps(ip, dual))
        {
            return Err(Errno::EADDRINUSE);
        }
        if let Some(own) = bindings.iter_mut().find(|b| b.id == self.id) {
            own.listening = true;
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut tables = TABLES.lock();
        let table = tables.table(self.kind);
        if let Some(bindings) = table.ports.get_mut(&self.port) {
            bindings.retain(|b| b.id != self.id);
            if bindings.is_empty() {
                table.ports.remove(&self.port);
            }
        }
    }
}

/// Binds `addr` for a socket of `domain`: EADDRNOTAVAIL for an address
/// that is not the guest's, EADDRINUSE for a port taken.
pub fn bind(
    kind: Kind,
    domain: Domain,
    addr: InetAddr,
    options: &AddrOptions,
) -> Result<Lease, Errno> {
    let ip = addr.ip.unmapped();
    if !ip.is_unspecified() && !ip.is_loopback() {
        return Err(Errno::EADDRNOTAVAIL);
    }
    if domain == Domain::Inet6 && matches!(ip, Ip::V4(_)) && options.v6only {
        return Err(Errno::EINVAL);
    }
    let dual = domain == Domain::Inet6 && ip == Ip::V6_ANY && !options.v6only;
    let mut tables = TABLES.lock();
    let id = tables.next_id;
    tables.next_id += 1;
    let table = tables.table(kind);
    let port = if addr.port == 0 {
        table.ephemeral(kind, ip, dual).ok_or(Errno::EADDRINUSE)?
    } else if table.in_use(kind, addr.port, ip, dual, options.reuse_addr) {
        return Err(Errno::EADDRINUSE);
    } else {
        addr.port
    };
    table.ports.entry(port).or_default().push(Binding {
        id,
        ip,
        dual,
        reuse: options.reuse_addr,
        listening: false,
        domain,
        endpoint: Endpoint::None,
    });
    Ok(Lease { kind, port, id })
}

/// The listener a TCP connect to `dst` (a loopback address) and `port`
/// reaches, if any.
pub fn find_listener(dst: Ip, port: u16) -> Option<Arc<Listener>> {
    let mut tables = TABLES.lock();
    let binding = tables
        .table(Kind::Stream)
        .find(port, dst, |b| b.listening)?;
    match &binding.endpoint {
        Endpoint::Listener(listener) => listener.upgrade(),
        _ => None,
    }
}

/// The socket a UDP datagram to `dst` and `port` reaches, if any, and its
/// family.
pub fn find_inbox(dst: Ip, port: u16) -> Option<(Arc<Inbox>, Domain)> {
    let mut tables = TABLES.lock();
    let binding = tables
        .table(Kind::Dgram)
        .find(port, dst, |b| matches!(b.endpoint, Endpoint::Inbox(_)))?;
    match &binding.endpoint {
        Endpoint::Inbox(inbox) => Some((inbox.upgrade()?, binding.domain)),
        _ => None,
    }
}
