//! The command line: `lamina run [OPTIONS] PROGRAM [ARGS...]`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use std::net::IpAddr;

use clap::{Parser, Subcommand, ValueEnum};

use crate::policy::{parse_dns, AddHost, AllowTarget, Hostname, NetMode, Publish};
use crate::trace::TraceFormat;

#[derive(Debug, Parser)]
#[command(
    name = "lamina",
    version,
    about = "Run one static Linux x86_64 binary in a lamina utility VM (QEMU, Cloud Hypervisor or Firecracker)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot a VM that runs PROGRAM with ARGS; its stdout, stderr and exit
    /// status become lamina's.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
#[command(override_usage = "lamina run [OPTIONS] PROGRAM [ARGS]...")]
pub struct RunArgs {
    /// Set a variable of the workload's environment, or with KEY alone pass
    /// the host's value (repeatable; added to docker's defaults: PATH,
    /// HOSTNAME, HOME, TERM with a terminal)
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<OsString>,

    /// Read environment variables from FILE (docker's format: KEY=VALUE
    /// lines, `#` comments, KEY alone for the host's value); repeatable;
    /// -e values override
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Run as USER[:GROUP] (names or numbers, as docker's -u; names from the
    /// root's /etc/passwd and /etc/group, so with --rootfs only)
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]", value_parser = crate::identity::parse_user)]
    pub user: Option<crate::identity::UserSpec>,

    /// Guest RAM, with a K, M or G suffix (at least 8M: the kernel image and its heap take about 5)
    #[arg(short = 'm', long, value_name = "SIZE", default_value = "256M")]
    pub memory: MemorySize,

    /// Share host directory DIR as the guest's / over virtio-9p (QEMU only);
    /// PROGRAM is then a guest path, looked up in the workload's PATH when it
    /// has no slash, and may be dynamically linked
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,

    /// The workload's working directory in the guest (absolute; created if
    /// missing; default /)
    #[arg(short = 'w', long, value_name = "DIR", value_parser = parse_workdir)]
    pub workdir: Option<OsString>,

    /// Share --rootfs read-only
    #[arg(long, requires = "rootfs")]
    pub read_only: bool,

    /// Share host directory HOST at guest path GUEST, as docker's -v (`:ro`
    /// read-only); repeatable; QEMU only
    #[arg(short = 'v', long = "volume", value_name = "HOST:GUEST[:ro]", value_parser = parse_volume)]
    pub volumes: Vec<Volume>,

    /// An in-memory file system at guest path PATH (repeatable); without
    /// --rootfs /tmp is in memory anyway, with it /tmp is the root's own
    /// unless `--tmpfs /tmp`
    #[arg(long = "tmpfs", value_name = "PATH", value_parser = parse_guest_path)]
    pub tmpfs: Vec<String>,

    /// The size of /dev/shm (a tmpfs), as docker's --shm-size: bytes, or
    /// with a K, M or G suffix
    #[arg(long = "shm-size", value_name = "SIZE", default_value = "64M")]
    pub shm_size: ShmSize,

    /// Accelerator; auto = KVM if /dev/kvm opens and is hardware-assisted, else TCG
    #[arg(long, value_enum, default_value_t = AccelChoice::Auto)]
    pub accel: AccelChoice,

    /// The VMM that runs the VM; cloud-hypervisor and firecracker need KVM
    /// and run a static PROGRAM with stdio only (files and sockets there
    /// come with their virtio-vsock transport)
    #[arg(long, value_enum, default_value_t = Vmm::Qemu)]
    pub vmm: Vmm,

    /// QEMU machine type (default microvm; --vmm qemu only)
    #[arg(long, value_enum)]
    pub machine: Option<Machine>,

    /// Kill the VM after this long (e.g. 30s, 2m) and exit 124
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Boot this lamina kernel ELF instead of the built-in one
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,

    /// Show the kernel log, the VMM's stderr and lamina's decisions on stderr
    /// (and, at exit, the system calls and ioctls lamina lacks)
    #[arg(long)]
    pub verbose: bool,

    /// Trace every system call of every task, strace -f -T style, with the
    /// 9P requests and socket messages they cause, to lamina's stderr or to
    /// FILE (created or truncated); at exit, name the calls lamina lacks
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub trace: Option<Option<PathBuf>>,

    /// How --trace writes: text (strace style) or json (one object per line)
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = TraceFormat::Text, requires = "trace")]
    pub trace_format: TraceFormat,

    #[command(flatten)]
    pub net: NetArgs,

    /// Program to run (a host path to a static x86_64 ELF, or with --rootfs a
    /// guest path), then its ARGS, passed verbatim
    #[arg(
        value_name = "PROGRAM",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub command: Vec<OsString>,
}

/// The network flags (QEMU only): sockets are forwarded to the host
/// under a policy that allows nothing unless named.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Network (QEMU only)")]
pub struct NetArgs {
    /// Let the workload's sockets reach TARGET: *, *:PORT, IP, CIDR,
    /// IP:PORT, [IPV6]:PORT, HOST:PORT (loopback and private ranges only when
    /// named; 10.0.2.2 in the guest is the host's loopback); repeatable
    #[arg(long = "allow-net", value_name = "TARGET")]
    pub allow: Vec<AllowTarget>,

    /// `none`: no network at all (sockets fail with ENETUNREACH)
    #[arg(long = "net", value_name = "MODE")]
    pub mode: Option<NetMode>,

    /// Publish the guest's TCP port GUESTPORT on the host, as docker's -p; repeatable
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "[HOSTIP:]HOSTPORT:GUESTPORT"
    )]
    pub publish: Vec<Publish>,

    /// The guest's hostname (default lamina)
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<Hostname>,

    /// Add NAME to the guest's /etc/hosts (IP may be host-gateway); repeatable
    #[arg(long = "add-host", value_name = "NAME:IP")]
    pub add_hosts: Vec<AddHost>,

    /// The upstream DNS server for the guest's resolver (default: the
    /// host's); repeatable
    #[arg(long = "dns", value_name = "IP", value_parser = parse_dns)]
    pub dns: Vec<IpAddr>,
}

impl NetArgs {
    /// The first net flag given, as the user would name it.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (!self.allow.is_empty(), "--allow-net"),
            (self.mode.is_some(), "--net"),
            (!self.publish.is_empty(), "--publish"),
            (self.hostname.is_some(), "--hostname"),
            (!self.add_hosts.is_empty(), "--add-host"),
            (!self.dns.is_empty(), "--dns"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}

impl RunArgs {
    /// PROGRAM as the user typed it.
    pub fn program(&self) -> &OsString {
        &self.command[0]
    }

    /// The arguments after PROGRAM.
    pub fn args(&self) -> &[OsString] {
        &self.command[1..]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccelChoice {
    Auto,
    Kvm,
    Tcg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vmm {
    /// QEMU (qemu-system-x86_64): KVM or TCG, microvm, pc or q35
    Qemu,
    /// Cloud Hypervisor (cloud-hypervisor on PATH), under KVM
    CloudHypervisor,
    /// Firecracker (firecracker on PATH), under KVM
    Firecracker,
}

impl Vmm {
    /// The name users know it by, as `--vmm` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Qemu => "qemu",
            Self::CloudHypervisor => "cloud-hypervisor",
            Self::Firecracker => "firecracker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Machine {
    /// virtio-MMIO, no PCI, no firmware (fast)
    Microvm,
    /// i440FX with SeaBIOS (slower to start)
    Pc,
    /// Q35 with SeaBIOS (slower to start)
    Q35,
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// Below this the kernel has no room for itself, the bundle and a workload.
pub const MIN_MEMORY_BYTES: u64 = 8 * MIB;

/// Guest RAM in bytes, always a whole number of KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySize {
    bytes: u64,
}

impl MemorySize {
    #[cfg(test)]
    pub fn bytes(self) -> u64 {
        self.bytes
    }

    /// Whole MiB, rounded up (Firecracker's `mem_size_mib`).
    pub fn megabytes_rounded_up(self) -> u64 {
        self.bytes.div_ceil(MIB)
    }

    /// The size as QEMU's `-m` takes it.
    pub fn qemu_arg(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MemorySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bytes.is_multiple_of(GIB) {
            write!(f, "{}G", self.bytes / GIB)
        } else if self.bytes.is_multiple_of(MIB) {
            write!(f, "{}M", self.bytes / MIB)
        } else {
            write!(f, "{}K", self.bytes / KIB)
        }
    }
}

impl FromStr for MemorySize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected =
            || format!("expected a size like 256M or 1G (suffix K, M or G), not '{text}'");
        // A bare count is not a memory size (docker's -m needs a unit).
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(expected());
        }
        let bytes = parse_size(text).ok_or_else(expected)??;
        if bytes < MIN_MEMORY_BYTES {
            return Err(format!("{text} is below the minimum of 8M"));
        }
        Ok(Self { bytes })
    }
}

/// A count of bytes with an optional B, K, M or G suffix (any case, KB
/// and KiB too): None when it does not parse, an error when it overflows.
fn parse_size(text: &str) -> Option<Result<u64, String>> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let unit = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => KIB,
        "M" | "MB" | "MIB" => MIB,
        "G" | "GB" | "GIB" => GIB,
        _ => return None,
    };
    let count: u64 = digits.parse().ok()?;
    Some(
        count
            .checked_mul(unit)
            .ok_or_else(|| format!("{text} is too large")),
    )
}

/// `--shm-size`: /dev/shm's size in bytes (docker's syntax: a count of
/// bytes, or with a b, k, m or g suffix in either case; more than zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmSize {
    pub bytes: u64,
}

impl FromStr for ShmSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected =
            || format!("expected a size like 64M or 1G (suffix K, M or G), not '{text}'");
        let bytes = parse_size(text).ok_or_else(expected)??;
        if bytes == 0 {
            return Err(format!("--shm-size {text}: the size must be above zero"));
        }
        Ok(Self { bytes })
    }
}

/// `--volume HOST:GUEST[:ro]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub host: PathBuf,
    pub guest: String,
    pub read_only: bool,
}

fn parse_volume(text: &str) -> Result<Volume, String> {
    let (rest, read_only) = match text.rsplit_once(':') {
        Some((rest, "ro")) => (rest, true),
        Some((rest, "rw")) => (rest, false),
        _ => (text, false),
    };
    let (host, guest) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("'{text}': expected HOST:GUEST or HOST:GUEST:ro"))?;
    if host.is_empty() {
        return Err(format!("'{text}': the host directory is empty"));
    }
    Ok(Volume {
        host: host.into(),
        guest: parse_guest_path(guest)?,
        read_only,
    })
}

/// A guest path for a mount: absolute, without `.` or `..`, normalized.
fn parse_guest_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!("guest path '{text}' is not absolute"));
    }
    let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(format!("guest path '{text}' has . or .. in it"));
    }
    if parts.is_empty() {
        return Err(format!("guest path '{text}' is the root: use --rootfs"));
    }
    if text.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    Ok(format!("/{}", parts.join("/")))
}

fn parse_workdir(text: &str) -> Result<OsString, String> {
    if !text.starts_with('/') {
        return Err(format!("'{text}' is not an absolute path"));
    }
    if text.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    Ok(text.into())
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|err| format!("expected a duration like 30s or 2m: {err}"))?;
    if duration.is_zero() {
        return Err("the timeout must be longer than zero".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> Result<u64, String> {
        text.parse::<MemorySize>().map(MemorySize::bytes)
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(size("256M"), Ok(256 * MIB));
        assert_eq!(size("256m"), Ok(256 * MIB));
        assert_eq!(size("1G"), Ok(GIB));
        assert_eq!(size("2GiB"), Ok(2 * GIB));
        assert_eq!(size("16M"), Ok(16 * MIB));
        assert_eq!(size("65536K"), Ok(64 * MIB));
        assert_eq!(size("20000K"), Ok(20000 * KIB));
    }

    #[test]
    fn memory_sizes_rejected() {
        for bad in [
            "", "M", "256", "256X", "-1M", "1.5G", "7M", "0G", "1M2", " 1G",
        ] {
            assert!(size(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(size("99999999999999999999G").is_err());
        assert!(size("18446744073709551615G")
            .unwrap_err()
            .contains("too large"));
        assert!(size("7M").unwrap_err().contains("minimum of 8M"));
    }

    #[test]
    fn memory_display_is_the_qemu_form() {
        assert_eq!("256M".parse::<MemorySize>().unwrap().qemu_arg(), "256M");
        assert_eq!("1024M".parse::<MemorySize>().unwrap().qemu_arg(), "1G");
        assert_eq!("20000K".parse::<MemorySize>().unwrap().qemu_arg(), "20000K");
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("0s").is_err());
    }

    #[test]
    fn trailing_arguments_pass_through_verbatim() {
        let cli = Cli::try_parse_from([
            "lamina", "run", "-m", "64M", "-e", "A=1", "./prog", "-v", "--memory", "x", "--",
        ])
        .unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.program(), "./prog");
        assert_eq!(run.args(), ["-v", "--memory", "x", "--"]);
        assert!(!run.verbose);
        assert_eq!(run.memory.bytes(), 64 * MIB);
        assert_eq!(run.env, ["A=1"]);
        assert_eq!(run.accel, AccelChoice::Auto);
        assert_eq!(run.vmm, Vmm::Qemu);
        assert_eq!(run.machine, None);
    }

    #[test]
    fn defaults_and_verify() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["lamina", "run", "prog"]).unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.memory.bytes(), 256 * MIB);
        assert!(run.args().is_empty());
        // A mistyped option before PROGRAM is an error, not a program name.
        assert!(Cli::try_parse_from(["lamina", "run", "--memroy", "1G", "prog"]).is_err());
        assert!(Cli::try_parse_from(["lamina", "run"]).is_err());
        let cli = Cli::try_parse_from(["lamina", "run", "--", "-odd", "-x"]).unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.program(), "-odd");
        assert_eq!(run.args(), ["-x"]);
        assert!(run.timeout.is_none());
    }

    #[test]
    fn net_flags() {
        let cli = Cli::try_parse_from([
            "lamina",
            "run",
            "--allow-net",
            "*:443",
            "--allow-net",
            "10.0.0.0/8",
            "-p",
            "8080:80",
            "--publish",
            "127.0.0.1:2222:22",
            "--hostname",
            "web.example.com",
            "--add-host",
            "db:10.1.2.3",
            "--dns",
            "1.1.1.1",
            "--dns",
            "[2606:4700::1111]",
            "prog",
            "-p",
        ])
        .unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.net.allow.len(), 2);
        assert_eq!(run.net.publish.len(), 2);
        assert_eq!(run.net.publish[1].guest_port, 22);
        assert_eq!(
            run.net.hostname.as_ref().map(Hostname::as_str),
            Some("web.example.com")
        );
        assert_eq!(run.net.add_hosts[0].name, "db");
        assert_eq!(run.net.dns.len(), 2);
        assert_eq!(run.net.mode, None);
        assert_eq!(run.net.first_given(), Some("--allow-net"));
        // `-p` after PROGRAM is the workload's.
        assert_eq!(run.args(), ["-p"]);

        let cli = Cli::try_parse_from(["lamina", "run", "--net", "none", "prog"]).unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.net.mode, Some(NetMode::None));
        assert_eq!(run.net.first_given(), Some("--net"));
        let cli = Cli::try_parse_from(["lamina", "run", "prog"]).unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.net.first_given(), None);

        for bad in [
            &["--net", "host"][..],
            &["--allow-net", ""],
            &["-p", "80"],
            &["-p", "1-3:1-3"],
            &["--hostname", "bad_name!"],
            &["--add-host", "nocolon"],
            &["--dns", "resolver.example"],
            &["--dns", "0.0.0.0"],
        ] {
            let mut argv = vec!["lamina", "run"];
            argv.extend_from_slice(bad);
            argv.push("prog");
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn trace_flags() {
        let parse = |argv: &[&str]| {
            let mut full = vec!["lamina", "run"];
            full.extend_from_slice(argv);
            Cli::try_parse_from(full).map(|cli| {
                let Command::Run(run) = cli.command;
                run
            })
        };
        let run = parse(&["prog"]).unwrap();
        assert_eq!(run.trace, None);
        assert_eq!(run.trace_format, TraceFormat::Text);
        let run = parse(&["--trace", "prog", "--trace=x"]).unwrap();
        assert_eq!(run.trace, Some(None));
        assert_eq!(run.program(), "prog");
        assert_eq!(run.args(), ["--trace=x"]);
        let run = parse(&["--trace=/tmp/t.txt", "--trace-format", "json", "prog"]).unwrap();
        assert_eq!(run.trace, Some(Some(PathBuf::from("/tmp/t.txt"))));
        assert_eq!(run.trace_format, TraceFormat::Json);
        // The format needs a trace; formats are named.
        assert!(parse(&["--trace-format", "json", "prog"]).is_err());
        assert!(parse(&["--trace", "--trace-format", "xml", "prog"]).is_err());
    }

    #[test]
    fn workdir_is_absolute() {
        let cli = Cli::try_parse_from(["lamina", "run", "-w", "/srv/app", "prog"]).unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(
            run.workdir.as_deref(),
            Some(std::ffi::OsStr::new("/srv/app"))
        );
        assert!(Cli::try_parse_from(["lamina", "run", "-w", "srv", "prog"]).is_err());
    }

    #[test]
    fn volumes_and_tmpfs() {
        let v = parse_volume("/srv/data:/data:ro").unwrap();
        assert_eq!(
            v,
            Volume {
                host: "/srv/data".into(),
                guest: "/data".into(),
                read_only: true
            }
        );
        let v = parse_volume("rel/dir:/var//lib/").unwrap();
        assert_eq!(
            (v.host.to_str(), v.guest.as_str(), v.read_only),
            (Some("rel/dir"), "/var/lib", false)
        );
        // A colon in the host path is kept; the last one splits.
        assert_eq!(parse_volume("/a:b:/c").unwrap().host, PathBuf::from("/a:b"));
        for bad in [
            "/srv",
            "/srv:data",
            ":/data",
            "/srv:/",
            "/srv:/a/../b",
            "/srv:/data:xx",
        ] {
            assert!(parse_volume(bad).is_err(), "{bad} was accepted");
        }
        let cli = Cli::try_parse_from([
            "lamina",
            "run",
            "-v",
            "/h:/g",
            "--tmpfs",
            "/scratch",
            "--verbose",
            "prog",
        ])
        .unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.volumes.len(), 1);
        assert_eq!(run.tmpfs, ["/scratch"]);
        assert!(run.verbose);
        assert!(parse_guest_path("scratch").is_err());
        // /tmp may get a tmpfs like any other path (over the root's own).
        let cli = Cli::try_parse_from(["lamina", "run", "--tmpfs", "/tmp", "prog"]).unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.tmpfs, ["/tmp"]);
    }

    #[test]
    fn shm_sizes() {
        let shm = |argv: &[&str]| {
            let mut all = vec!["lamina", "run"];
            all.extend_from_slice(argv);
            all.push("prog");
            let Command::Run(run) = Cli::try_parse_from(&all).unwrap().command;
            run.shm_size.bytes
        };
        assert_eq!(shm(&[]), 64 << 20, "docker's default");
        assert_eq!(shm(&["--shm-size", "1G"]), 1 << 30);
        assert_eq!(shm(&["--shm-size", "512k"]), 512 << 10);
        assert_eq!(shm(&["--shm-size", "8m"]), 8 << 20);
        assert_eq!(shm(&["--shm-size", "4096"]), 4096);
        assert_eq!(shm(&["--shm-size", "4096b"]), 4096);
        for bad in ["", "0", "0M", "M", "-1M", "1.5G", "12X", "99999999999999G"] {
            assert!(bad.parse::<ShmSize>().is_err(), "{bad:?} was accepted");
        }
    }
}
