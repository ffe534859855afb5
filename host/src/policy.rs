//! The network policy, enforced on the host (issue 9): which destinations
//! the workload's forwarded sockets may reach, the ports published into
//! the guest, and the name files lamina puts in the guest's `/etc`.
//!
//! Nothing leaves unless allowed. `--allow-net` names destinations as the
//! host sees them; the guest reaches the host's loopback through the
//! alias 10.0.2.2 and the host's resolver through 10.0.2.3 (the addresses
//! QEMU's user networking uses). Loopback and private ranges are reached
//! only when a rule names them: `*` and broad CIDRs such as `0.0.0.0/0`
//! mean public addresses only.
//!
//! Everything here is pure: option values in, decisions and file contents
//! out. The net proxy and the CLI flags come with the net channel.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use lamina_proto::net::Errno;

/// The guest's alias for the host's loopback (QEMU user networking's
/// gateway address).
pub const GUEST_HOST_ALIAS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The guest's resolver: lamina forwards it to the host's own (or `--dns`).
pub const GUEST_RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
/// Port 53, UDP and TCP (RFC 1035 section 4.2).
pub const DNS_PORT: u16 = 53;
/// The address the guest's own hostname resolves to: a loopback address
/// the guest serves itself, as Debian gives a machine with no permanent
/// address (its 127/8 is the guest's own loopback).
pub const GUEST_SELF_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 1, 1);
/// The hostname when `--hostname` is not given.
pub const DEFAULT_HOSTNAME: &str = "lamina";
/// `HOST_NAME_MAX` on Linux.
const HOST_NAME_MAX: usize = 64;
/// docker's `--add-host NAME:host-gateway`: the address of the host.
const HOST_GATEWAY: &str = "host-gateway";

/// An IP network: an address with its host bits cleared and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network of `addr` with `prefix` bits; `None` when `prefix` is
    /// longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = match addr {
            IpAddr::V4(a) if prefix <= 32 => IpAddr::V4((u32::from(a) & mask32(prefix)).into()),
            IpAddr::V6(a) if prefix <= 128 => IpAddr::V6((u128::from(a) & mask128(prefix)).into()),
            _ => return None,
        };
        Some(Self { addr, prefix })
    }

    /// The network of exactly one address.
    pub fn host(addr: IpAddr) -> Self {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Self { addr, prefix }
    }

    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self {
            addr: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` (of the same family) lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// Whether every address of `other` lies in this network.
    pub fn covers(&self, other: &IpNet) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpNet {
    type Err = String;

    /// `ADDR/PREFIX`; host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a CIDR (ADDRESS/PREFIX)"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{text}': '{addr}' is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        prefix
            .parse::<u8>()
            .ok()
            .filter(|p| prefix.bytes().all(|b| b.is_ascii_digit()) && *p <= max)
            .and_then(|p| IpNet::new(addr, p))
            .ok_or_else(|| format!("'{text}': the prefix length must be 0 to {max}"))
    }
}

/// Ranges that are not public: only a rule inside one reaches it
/// (IANA's IPv4 and IPv6 special-purpose address registries, RFC 6890).
/// IPv4-mapped and NAT64 IPv6 addresses are judged by their IPv4 address.
const SPECIAL_RANGES: &[(IpNet, &str)] = &[
    (IpNet::v4(0, 0, 0, 0, 8), "\"this network\" (0.0.0.0/8)"),
    (IpNet::v4(10, 0, 0, 0, 8), "private (RFC 1918)"),
    (
        IpNet::v4(100, 64, 0, 0, 10),
        "shared address space (CGNAT, 100.64.0.0/10)",
    ),
    (IpNet::v4(127, 0, 0, 0, 8), "loopback"),
    (IpNet::v4(169, 254, 0, 0, 16), "link-local"),
    (IpNet::v4(172, 16, 0, 0, 12), "private (RFC 1918)"),
    (IpNet::v4(192, 0, 0, 0, 24), "IETF protocol assignments"),
    (IpNet::v4(192, 0, 2, 0, 24), "documentation"),
    (IpNet::v4(192, 88, 99, 0, 24), "6to4 relay anycast"),
    (IpNet::v4(192, 168, 0, 0, 16), "private (RFC 1918)"),
    (IpNet::v4(198, 18, 0, 0, 15), "benchmarking"),
    (IpNet::v4(198, 51, 100, 0, 24), "documentation"),
    (IpNet::v4(203, 0, 113, 0, 24), "documentation"),
    (IpNet::v4(224, 0, 0, 0, 4), "multicast"),
    (IpNet::v4(240, 0, 0, 0, 4), "reserved (and broadcast)"),
    (IpNet::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (IpNet::v6([0; 8], 96), "IPv4-compatible (deprecated)"),
    (
        IpNet::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        "local-use NAT64",
    ),
    (IpNet::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only"),
    (
        IpNet::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments",
    ),
    (
        IpNet::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "documentation",
    ),
    (
        IpNet::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        "documentation",
    ),
    (
        IpNet::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "unique local (ULA)",
    ),
    (IpNet::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (
        IpNet::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "site-local (deprecated)",
    ),
    (IpNet::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// The well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4
/// address the translator reaches.
const NAT64: IpNet = IpNet::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

/// The address a destination really names: IPv4-mapped and NAT64 IPv6
/// addresses are their IPv4 address, so `::ffff:127.0.0.1` is loopback.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None if NAT64.contains(ip) => {
                IpAddr::V4(Ipv4Addr::from((u128::from(v6) & 0xffff_ffff) as u32))
            }
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// The special-purpose range `ip` lies in, and its name; `None` for a
/// public address. Call with a [`canonical`] address.
pub fn special_range(ip: IpAddr) -> Option<(IpNet, &'static str)> {
    // Ranges nest (::/96 holds ::1): the longest prefix names it.
    SPECIAL_RANGES
        .iter()
        .filter(|(net, _)| net.contains(ip))
        .max_by_key(|(net, _)| net.prefix())
        .copied()
}

#[cfg(test)]
pub fn is_public(ip: IpAddr) -> bool {
    special_range(canonical(ip)).is_none()
}

/// One `--allow-net TARGET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowTarget {
    /// `*` or `*:PORT`: any public address.
    AnyPublic { port: Option<u16> },
    /// `CIDR`, `CIDR:PORT`, `IP`, `IP:PORT`, `[IPV6]:PORT`, `[CIDR6]:PORT`.
    Net { net: IpNet, port: Option<u16> },
    /// `HOST:PORT` with a host name, resolved when the policy is built.
    Host { name: String, port: u16 },
}

fn parse_port(text: &str, whole: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|&p| p != 0 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("'{whole}': '{text}' is not a port (1-65535)"))
}

/// An IP address or a CIDR, without a port.
fn parse_net(text: &str, whole: &str) -> Result<IpNet, String> {
    if text.contains('/') {
        return text.parse().map_err(|err| format!("{err} (in '{whole}')"));
    }
    text.parse::<IpAddr>()
        .map(IpNet::host)
        .map_err(|_| format!("'{whole}': '{text}' is not an IP address or CIDR"))
}

/// `[ADDR]` or `[ADDR]:REST` at the start of `text`: the IPv6 part and
/// what follows the colon, if anything.
fn split_brackets<'t>(text: &'t str, whole: &str) -> Result<(&'t str, Option<&'t str>), String> {
    let inner_and_rest = text.strip_prefix('[').unwrap_or(text);
    let (inner, rest) = inner_and_rest
        .split_once(']')
        .ok_or_else(|| format!("'{whole}': '[' without ']'"))?;
    match rest {
        "" => Ok((inner, None)),
        _ => match rest.strip_prefix(':') {
            Some(after) => Ok((inner, Some(after))),
            None => Err(format!("'{whole}': expected ':' after ']'")),
        },
    }
}

impl FromStr for AllowTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the --allow-net target is empty".into());
        }
        if text == "*" {
            return Ok(Self::AnyPublic { port: None });
        }
        if let Some(port) = text.strip_prefix("*:") {
            return Ok(Self::AnyPublic {
                port: Some(parse_port(port, text)?),
            });
        }
        if text.starts_with('[') {
            let (inner, port) = split_brackets(text, text)?;
            let net = parse_net(inner, text)?;
            if net.addr().is_ipv4() {
                return Err(format!("'{text}': brackets are for IPv6 addresses"));
            }
            let port = port.map(|p| parse_port(p, text)).transpose()?;
            return Ok(Self::Net { net, port });
        }
        // A CIDR, with a port after its prefix length (`10.0.0.0/8:443`).
        if let Some((addr, prefix_port)) = text.split_once('/') {
            let (prefix, port) = match prefix_port.split_once(':') {
                Some((prefix, port)) => (prefix, Some(parse_port(port, text)?)),
                None => (prefix_port, None),
            };
            let net = parse_net(&format!("{addr}/{prefix}"), text)?;
            return Ok(Self::Net { net, port });
        }
        match text.matches(':').count() {
            0 => match text.parse::<Ipv4Addr>() {
                Ok(ip) => Ok(Self::Net {
                    net: IpNet::host(ip.into()),
                    port: None,
                }),
                Err(_) => {
                    check_hostname(text).map_err(|err| {
                        format!("'{text}': expected an IP, a CIDR or HOST:PORT ({err})")
                    })?;
                    Err(format!("'{text}': a host name needs a port: HOST:PORT"))
                }
            },
            1 => {
                let (host, port) = text.split_once(':').unwrap_or((text, ""));
                let port = parse_port(port, text)?;
                match host.parse::<Ipv4Addr>() {
                    Ok(ip) => Ok(Self::Net {
                        net: IpNet::host(ip.into()),
                        port: Some(port),
                    }),
                    Err(_) => {
                        let name =
                            check_hostname(host).map_err(|err| format!("'{text}': {err}"))?;
                        // Names are case-insensitive (RFC 4343); one spelling for the logs.
                        Ok(Self::Host {
                            name: name.to_ascii_lowercase(),
                            port,
                        })
                    }
                }
            }
            _ => match text.parse::<Ipv6Addr>() {
                Ok(ip) => Ok(Self::Net {
                    net: IpNet::host(ip.into()),
                    port: None,
                }),
                Err(_) => Err(format!(
                    "'{text}': not an IPv6 address; put one in brackets to give a port: [::1]:8000"
                )),
            },
        }
    }
}

/// Checks a host name (RFC 1123 labels: letters, digits and inner
/// hyphens, 1-63 bytes each, 253 in all, the last not all digits so it
/// cannot be read as an address). Returns it without a trailing dot.
fn check_hostname(text: &str) -> Result<String, String> {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() {
        return Err("the host name is empty".into());
    }
    if name.len() > 253 {
        return Err(format!("host name '{text}' is longer than 253 bytes"));
    }
    for label in name.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "'{text}' is not a valid host name (letters, digits and '-' between dots)"
            ));
        }
    }
    if name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("'{text}' is neither an IP address nor a host name"));
    }
    Ok(name.to_string())
}

/// `--net`: only `none` (no network at all); without it, sockets are
/// forwarded under `--allow-net`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NetMode {
    #[default]
    Forward,
    None,
}

impl FromStr for NetMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Self::None),
            _ => Err(format!(
                "'{text}': --net takes only 'none' (without it, sockets are forwarded under --allow-net)"
            )),
        }
    }
}

/// `-p/--publish [HOSTIP:]HOSTPORT:GUESTPORT[/tcp]`, as docker spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    /// The host address to listen on; `None` is every interface (docker's
    /// default: 0.0.0.0 and ::).
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub guest_port: u16,
}

impl FromStr for Publish {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || format!("'{text}': expected [HOSTIP:]HOSTPORT:GUESTPORT");
        let spec = match text.rsplit_once('/') {
            Some((spec, "tcp")) => spec,
            Some((_, "udp" | "sctp")) => {
                return Err(format!("'{text}': only TCP ports can be published"))
            }
            Some(_) => return Err(expected()),
            None => text,
        };
        if spec.contains('-') {
            return Err(format!(
                "'{text}': port ranges are not supported; publish each port"
            ));
        }
        let (host_ip, ports) = if spec.starts_with('[') {
            let (ip, rest) = split_brackets(spec, text)?;
            let ip: Ipv6Addr = ip
                .parse()
                .map_err(|_| format!("'{text}': '{ip}' is not an IPv6 address"))?;
            (Some(IpAddr::V6(ip)), rest.ok_or_else(expected)?)
        } else {
            match spec.split(':').count() {
                2 => (None, spec),
                3 => {
                    let (ip, ports) = spec.split_once(':').ok_or_else(expected)?;
                    let ip: Ipv4Addr = ip.parse().map_err(|_| {
                        format!("'{text}': '{ip}' is not an IP address (IPv6 goes in brackets)")
                    })?;
                    (Some(IpAddr::V4(ip)), ports)
                }
                _ => return Err(expected()),
            }
        };
        let (host_port, guest_port) = ports.split_once(':').ok_or_else(expected)?;
        Ok(Self {
            host_ip,
            host_port: parse_port(host_port, text)?,
            guest_port: parse_port(guest_port, text)?,
        })
    }
}

/// `--add-host NAME:IP` (or `NAME=IP`; `IP` may be `[IPV6]` or
/// `host-gateway`, the host as the guest reaches it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddHost {
    pub name: String,
    pub ip: IpAddr,
}

impl FromStr for AddHost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, ip) = text
            .split_once(['=', ':'])
            .ok_or_else(|| format!("'{text}': expected NAME:IP"))?;
        let name = check_hostname(name).map_err(|err| format!("'{text}': {err}"))?;
        let ip = if ip == HOST_GATEWAY {
            IpAddr::V4(GUEST_HOST_ALIAS)
        } else {
            let bare = ip
                .strip_prefix('[')
                .and_then(|ip| ip.strip_suffix(']'))
                .unwrap_or(ip);
            bare.parse()
                .map_err(|_| format!("'{text}': '{ip}' is not an IP address (or {HOST_GATEWAY})"))?
        };
        Ok(Self { name, ip })
    }
}

/// `--hostname NAME`: the guest's hostname (at most 64 bytes, as Linux
/// allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

impl Hostname {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first label: `web` for `web.example.com`.
    fn short(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

impl Default for Hostname {
    fn default() -> Self {
        Self(DEFAULT_HOSTNAME.into())
    }
}

impl FromStr for Hostname {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let name = check_hostname(text)?;
        if name.len() > HOST_NAME_MAX {
            return Err(format!(
                "hostname '{text}' is longer than {HOST_NAME_MAX} bytes"
            ));
        }
        Ok(Self(name))
    }
}

/// `--dns IP`: an upstream server for the guest's resolver.
pub fn parse_dns(text: &str) -> Result<IpAddr, String> {
    let bare = text
        .strip_prefix('[')
        .and_then(|ip| ip.strip_suffix(']'))
        .unwrap_or(text);
    match bare.parse::<IpAddr>() {
        Ok(ip) if !ip.is_unspecified() => Ok(ip),
        Ok(_) => Err(format!("'{text}': not a DNS server address")),
        Err(_) => Err(format!("'{text}': --dns takes an IP address")),
    }
}

/// The network options of `lamina run`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetOptions {
    pub mode: NetMode,
    pub allow: Vec<AllowTarget>,
    pub publish: Vec<Publish>,
    pub dns: Vec<IpAddr>,
}

/// What makes a set of network options unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("--net none conflicts with {0}: drop one of them")]
    NetNoneConflict(&'static str),
    #[error("--allow-net {name}:{port}: cannot resolve '{name}': {reason}")]
    Unresolved {
        name: String,
        port: u16,
        reason: String,
    },
    #[error("-p {0}: host port {1} is published twice")]
    DuplicatePublish(String, u16),
}

/// One allow rule, with host names resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    /// `None`: any public address.
    net: Option<IpNet>,
    port: Option<u16>,
}

impl Rule {
    /// Whether this rule lets `dest` through; `ip` is its canonical address.
    fn allows(&self, ip: IpAddr, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let special = special_range(ip);
        match (self.net, special) {
            (None, special) => special.is_none(),
            (Some(net), None) => net.contains(ip),
            // A private or loopback address only through a rule that lies
            // inside its range: 0.0.0.0/0 does not name 127.0.0.1.
            (Some(net), Some((range, _))) => net.contains(ip) && range.covers(&net),
        }
    }
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// `--net none`.
    NoNetwork,
    /// No rule allows it; `range` names the special range it lies in.
    NotAllowed {
        dest: SocketAddr,
        range: Option<&'static str>,
    },
    /// 0.0.0.0 or ::, which the host would take as its own loopback.
    Unspecified(SocketAddr),
    /// The guest's own loopback (127/8, ::1): served inside the guest,
    /// never by the host.
    GuestLoopback(SocketAddr),
    /// The resolver alias, with no upstream server to forward to.
    NoResolver,
}

impl Denial {
    /// The errno the workload's call fails with: EPERM, as Linux gives
    /// when a local firewall rejects; ENETUNREACH when there is no network.
    pub fn errno(&self) -> Errno {
        match self {
            Self::NoNetwork | Self::NoResolver => Errno::ENETUNREACH,
            Self::NotAllowed { .. } | Self::Unspecified(_) | Self::GuestLoopback(_) => Errno::EPERM,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoNetwork => f.write_str("--net none: the workload has no network"),
            Self::NotAllowed { dest, range: None } => {
                write!(f, "{dest} denied: no --allow-net allows it")
            }
            Self::NotAllowed {
                dest,
                range: Some(range),
            } => write!(
                f,
                "{dest} denied: it is {range}, allowed only by an --allow-net that names it"
            ),
            Self::Unspecified(dest) => write!(f, "{dest} denied: not a destination address"),
            Self::GuestLoopback(dest) => {
                write!(
                    f,
                    "{dest} denied: the guest's loopback never leaves the guest"
                )
            }
            Self::NoResolver => f.write_str(
                "DNS denied: the host's /etc/resolv.conf names no server; give one with --dns",
            ),
        }
    }
}

/// The decisions of one VM's net proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    mode: NetMode,
    rules: Vec<Rule>,
    /// Where 10.0.2.3:53 goes: `--dns`, else the host's resolvers.
    upstream_dns: Vec<IpAddr>,
    publish: Vec<Publish>,
}

impl Policy {
    /// Builds the policy, resolving the host names of `--allow-net
    /// HOST:PORT` with `resolve` (the system resolver: [`resolve_host`]);
    /// `host_resolvers` are the host's own name servers
    /// ([`HostResolvConf::nameservers`]).
    pub fn new(
        options: &NetOptions,
        host_resolvers: &[IpAddr],
        mut resolve: impl FnMut(&str) -> io::Result<Vec<IpAddr>>,
    ) -> Result<Self, PolicyError> {
        if options.mode == NetMode::None {
            let conflict = [
                (!options.allow.is_empty(), "--allow-net"),
                (!options.publish.is_empty(), "--publish"),
                (!options.dns.is_empty(), "--dns"),
            ];
            if let Some((_, flag)) = conflict.into_iter().find(|(given, _)| *given) {
                return Err(PolicyError::NetNoneConflict(flag));
            }
        }
        let mut rules = Vec::new();
        for target in &options.allow {
            match target {
                AllowTarget::AnyPublic { port } => rules.push(Rule {
                    net: None,
                    port: *port,
                }),
                AllowTarget::Net { net, port } => rules.push(Rule {
                    net: Some(canonical_net(*net)),
                    port: *port,
                }),
                AllowTarget::Host { name, port } => {
                    let unresolved = |reason: String| PolicyError::Unresolved {
                        name: name.clone(),
                        port: *port,
                        reason,
                    };
                    let ips =
                        resolve(name).map_err(|err| unresolved(crate::error::os_reason(&err)))?;
                    if ips.is_empty() {
                        return Err(unresolved("no addresses".into()));
                    }
                    rules.extend(ips.into_iter().map(|ip| Rule {
                        net: Some(IpNet::host(canonical(ip))),
                        port: Some(*port),
                    }));
                }
            }
        }
        for (i, p) in options.publish.iter().enumerate() {
            let clash = options.publish[..i].iter().any(|q| {
                q.host_port == p.host_port
                    && (q.host_ip.is_none() || p.host_ip.is_none() || q.host_ip == p.host_ip)
            });
            if clash {
                let shown = match p.host_ip {
                    Some(IpAddr::V6(ip)) => format!("[{ip}]:{}:{}", p.host_port, p.guest_port),
                    Some(ip) => format!("{ip}:{}:{}", p.host_port, p.guest_port),
                    None => format!("{}:{}", p.host_port, p.guest_port),
                };
                return Err(PolicyError::DuplicatePublish(shown, p.host_port));
            }
        }
        let upstream_dns = if options.dns.is_empty() {
            host_resolvers.to_vec()
        } else {
            options.dns.clone()
        };
        Ok(Self {
            mode: options.mode,
            rules,
            upstream_dns,
            publish: options.publish.clone(),
        })
    }

    /// Where a guest's connect or sendto goes, as the host sees it, or
    /// why it may not. 10.0.2.2 is the host's loopback; 10.0.2.3:53 is the
    /// upstream DNS server, reachable whenever any `--allow-net` is given;
    /// everything else is the address itself. The returned address keeps
    /// the guest's family (an IPv4-mapped destination stays mapped).
    pub fn route(&self, guest_dest: SocketAddr) -> Result<SocketAddr, Denial> {
        if self.mode == NetMode::None {
            return Err(Denial::NoNetwork);
        }
        let port = guest_dest.port();
        match canonical(guest_dest.ip()) {
            IpAddr::V4(ip) if ip == GUEST_HOST_ALIAS => {
                let host = with_ip(guest_dest, IpAddr::V4(Ipv4Addr::LOCALHOST));
                self.decide(host).map(|()| host)
            }
            IpAddr::V4(ip) if ip == GUEST_RESOLVER => {
                if port != DNS_PORT || self.rules.is_empty() {
                    return Err(Denial::NotAllowed {
                        dest: guest_dest,
                        range: special_range(ip.into()).map(|(_, name)| name),
                    });
                }
                let server = *self.upstream_dns.first().ok_or(Denial::NoResolver)?;
                Ok(with_ip(guest_dest, server))
            }
            ip if ip.is_loopback() => Err(Denial::GuestLoopback(guest_dest)),
            _ => self.decide(guest_dest).map(|()| guest_dest),
        }
    }

    /// The decision on a destination as the host sees it.
    pub fn decide(&self, dest: SocketAddr) -> Result<(), Denial> {
        if self.mode == NetMode::None {
            return Err(Denial::NoNetwork);
        }
        let ip = canonical(dest.ip());
        if ip.is_unspecified() {
            return Err(Denial::Unspecified(dest));
        }
        if self.rules.iter().any(|rule| rule.allows(ip, dest.port())) {
            return Ok(());
        }
        Err(Denial::NotAllowed {
            dest,
            range: special_range(ip).map(|(_, name)| name),
        })
    }

    /// The ports the host listens on for the guest.
    pub fn published(&self) -> &[Publish] {
        &self.publish
    }

    /// The upstream DNS servers, in order.
    pub fn upstream_dns(&self) -> &[IpAddr] {
        &self.upstream_dns
    }
}

/// A rule's network in canonical form: `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
fn canonical_net(net: IpNet) -> IpNet {
    match (net.addr, canonical(net.addr)) {
        (IpAddr::V6(_), IpAddr::V4(v4)) if net.prefix >= 96 => {
            IpNet::new(IpAddr::V4(v4), net.prefix - 96).unwrap_or(net)
        }
        _ => net,
    }
}

/// `dest` with `ip`, in `dest`'s family: an IPv4 `ip` becomes
/// IPv4-mapped for an IPv6 destination.
fn with_ip(dest: SocketAddr, ip: IpAddr) -> SocketAddr {
    let ip = match (dest, ip) {
        (SocketAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        _ => ip,
    };
    SocketAddr::new(ip, dest.port())
}

/// The system resolver, for [`Policy::new`].
pub fn resolve_host(name: &str) -> io::Result<Vec<IpAddr>> {
    Ok((name, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// What lamina takes from the host's `/etc/resolv.conf`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostResolvConf {
    pub nameservers: Vec<IpAddr>,
    /// The `search` (or older `domain`) list.
    pub search: Vec<String>,
    /// `options` words (`ndots:2`, `edns0`, ...).
    pub options: Vec<String>,
}

impl HostResolvConf {
    /// Parses resolv.conf(5) text; lines it cannot use are skipped, as
    /// the C library does. A later `search` or `domain` replaces an
    /// earlier one.
    pub fn parse(text: &str) -> Self {
        let mut conf = Self::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    // A scoped link-local server (fe80::1%eth0) cannot be
                    // forwarded as an address alone.
                    if let Some(Ok(ip)) = words.next().map(str::parse) {
                        conf.nameservers.push(ip);
                    }
                }
                Some("search" | "domain") => conf.search = words.map(String::from).collect(),
                Some("options") => conf.options.extend(words.map(String::from)),
                _ => {}
            }
        }
        conf
    }
}

/// The guest's `/etc/hosts`, as docker writes a container's: the
/// loopback names, then `--add-host` entries, then the guest's own name.
pub fn render_hosts(hostname: &Hostname, extra: &[AddHost]) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    for host in extra {
        out.push_str(&format!("{}\t{}\n", host.ip, host.name));
    }
    let name = hostname.as_str();
    let short = hostname.short();
    if short == name {
        out.push_str(&format!("{GUEST_SELF_ADDR}\t{name}\n"));
    } else {
        out.push_str(&format!("{GUEST_SELF_ADDR}\t{name} {short}\n"));
    }
    out
}

/// The guest's `/etc/hostname`.
pub fn render_hostname(hostname: &Hostname) -> String {
    format!("{}\n", hostname.as_str())
}

/// The guest's `/etc/resolv.conf`: the resolver alias, with the host's
/// search list and options, as docker writes it for its internal resolver.
pub fn render_resolv_conf(host: &HostResolvConf, upstream: &[IpAddr]) -> String {
    let upstream: Vec<String> = upstream.iter().map(IpAddr::to_string).collect();
    let mut out = format!(
        "# Generated by lamina: {GUEST_RESOLVER} forwards to {}.\nnameserver {GUEST_RESOLVER}\n",
        match upstream.is_empty() {
            true => "no server (the host names none)".to_string(),
            false => upstream.join(", "),
        }
    );
    if !host.search.is_empty() {
        out.push_str(&format!("search {}\n", host.search.join(" ")));
    }
    if !host.options.is_empty() {
        out.push_str(&format!("options {}\n", host.options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests;
