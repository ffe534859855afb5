//! `lamina run`: boot the VM, serve its console, turn the way it ended into
//! lamina's exit code.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use lamina_proto::channel::Channel;
use lamina_proto::frame::ExitStatus;
use signal_hook_mio::v1_0::Signals;

use crate::accel::{self, Accel, Probe};
use crate::cli::{self, AccelChoice, Machine, RunArgs, Vmm};
use crate::console::ConsoleReport;
use crate::error::{os_reason, UserError, EXIT_LAUNCH_FAILED, EXIT_SIGNAL_BASE, EXIT_TIMED_OUT};
use crate::kernel_image;
use crate::policy::{self, AddHost, HostResolvConf, Hostname, NetMode, NetOptions, Policy};
use crate::program;
use crate::proxy::{self, Proxy};
use crate::qemu::{ChannelSocket, KernelCmdline, Share, VmConfig, QEMU_BINARY, ROOTFS_MOUNT_TAG};
use crate::service::ChannelService;
use crate::supervisor::{
    self, ChannelListeners, ConsoleSetup, Supervision, NET_SERVICE_TOKENS, TERMINATING_SIGNALS,
};
use crate::trace::{self, SharedTrace, TraceWriter};
use crate::vmm::{self, VmSpec, VmmProcess};
use crate::{environment, identity};

/// Extra kernel command-line tokens, for debugging and for the tests that
/// drive the kernel's self-tests (`selftest=kernel-fault`).
const KERNEL_APPEND_ENV: &str = "LAMINA_KERNEL_APPEND";

/// `LAMINA_NO_CHANNELS=1` leaves QEMU's virtio-serial device (the ctl and
/// net ports) out, so the kernel falls back to the serial line for stdout,
/// stdin and the exit status, as before the channels. Not a user option
/// (sockets then have no channel): it is the "before" row of
/// `scripts/bench-compare --rows stdout`.
const NO_CHANNELS_ENV: &str = "LAMINA_NO_CHANNELS";

/// Whether the value of [`NO_CHANNELS_ENV`] switches the channels off.
fn channels_disabled(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| v == "1")
}

/// Kernel log lines shown when the guest stops without an exit status.
const LOG_LINES_ON_FAILURE: usize = 10;

/// How the VM ended, before it is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The guest reported how the workload ended.
    Guest(ExitStatus),
    TimedOut(Duration),
    /// lamina got this signal and killed the VMM.
    Interrupted(i32),
    /// The guest sent something malformed or out of order on the ctl
    /// channel; lamina killed the VMM.
    ControlBroken(String),
    /// The VMM exited without an exit status from the guest.
    NoExitStatus {
        vmm_error: Option<String>,
        vmm_status: Option<String>,
    },
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Guest(status) => status.shell_code(),
            Self::TimedOut(_) => EXIT_TIMED_OUT,
            Self::Interrupted(signo) => EXIT_SIGNAL_BASE.wrapping_add(*signo as u8),
            Self::ControlBroken(_) | Self::NoExitStatus { .. } => EXIT_LAUNCH_FAILED,
        }
    }

    /// Writes what the user needs to know to `stderr` (nothing for a
    /// workload that exited normally).
    pub fn report(
        &self,
        console: &ConsoleReport,
        memory: cli::MemorySize,
        verbose: bool,
        stderr: &mut dyn Write,
    ) -> io::Result<()> {
        let log_lines = |stderr: &mut dyn Write, count: usize| -> io::Result<()> {
            if verbose {
                return Ok(()); // already shown as it arrived
            }
            let skip = console.log_tail.len().saturating_sub(count);
            for line in &console.log_tail[skip..] {
                writeln!(stderr, "{line}")?;
            }
            Ok(())
        };
        match self {
            Self::Guest(ExitStatus::Exited(_)) => Ok(()),
            Self::Guest(ExitStatus::Signaled(signo)) if verbose => writeln!(
                stderr,
                "lamina: workload killed by signal {signo}{}",
                signal_name(*signo)
                    .map(|name| format!(" ({name})"))
                    .unwrap_or_default()
            ),
            Self::Guest(ExitStatus::Signaled(_)) => Ok(()),
            Self::Guest(ExitStatus::OutOfMemory) => writeln!(
                stderr,
                "lamina: workload killed: guest out of memory (-m {memory}); raise --memory"
            ),
            Self::Guest(ExitStatus::KernelPanic) => {
                log_lines(stderr, console.log_tail.len())?;
                writeln!(stderr, "lamina: guest kernel panic")
            }
            Self::TimedOut(after) => writeln!(
                stderr,
                "lamina: timed out after {}",
                humantime::format_duration(*after)
            ),
            Self::Interrupted(_) => Ok(()),
            Self::ControlBroken(err) => {
                writeln!(stderr, "lamina: the guest broke the control channel: {err}")
            }
            Self::NoExitStatus {
                vmm_error: Some(line),
                ..
            } => writeln!(stderr, "lamina: {line}"),
            Self::NoExitStatus {
                vmm_error: None,
                vmm_status,
            } => {
                log_lines(stderr, LOG_LINES_ON_FAILURE)?;
                let status = vmm_status
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                writeln!(
                    stderr,
                    "lamina: guest kernel stopped without reporting an exit status{status}"
                )
            }
        }
    }
}

fn signal_name(signo: u8) -> Option<&'static str> {
    Some(match signo {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// Runs the workload; returns lamina's exit code, or the one-line error.
pub fn run(args: RunArgs) -> Result<u8, UserError> {
    // From here on a Ctrl-C is recorded, not fatal: the supervisor sees it.
    let signals = Signals::new(TERMINATING_SIGNALS).context("installing signal handlers")?;
    if crate::terminal::any_is_terminal() {
        // The terminal's resizes go to the guest.
        signals
            .add_signal(signal_hook::consts::SIGWINCH)
            .context("installing signal handlers")?;
    }
    let shares = check_shares(&args)?;
    let rootfs = shares.iter().find(|share| share.tag == ROOTFS_MOUNT_TAG);
    let user = identity::resolve_in_root(args.user.as_ref(), args.rootfs.as_deref())
        .map_err(UserError::Usage)?;
    let env = workload_env(&args, &user.home)?;
    let source = if rootfs.is_some() {
        program::Source::GuestRoot
    } else {
        program::Source::Host
    };
    let workdir = args
        .workdir
        .as_deref()
        .map_or(&b"/"[..], |dir| dir.as_bytes());
    // What the guest mounts besides its root: "9p TAG PATH" per volume,
    // "tmpfs - PATH" per --tmpfs (PATH last: it may hold spaces), and
    // "tmpfs size=BYTES /dev/shm" for --shm-size.
    let mounts: Vec<Vec<u8>> = args
        .volumes
        .iter()
        .zip(shares.iter().filter(|share| share.tag != ROOTFS_MOUNT_TAG))
        .map(|(volume, share)| format!("9p {} {}", share.tag, volume.guest).into_bytes())
        .chain(std::iter::once(shm_mount_line(args.shm_size)))
        .chain(
            args.tmpfs
                .iter()
                .map(|path| format!("tmpfs - {path}").into_bytes()),
        )
        .collect();
    let trace = trace_writer(&args)?;
    let net = net_setup(&args)?;
    let files = name_files(net.as_ref());
    let bundle = program::bundle(
        args.program(),
        args.args(),
        &env,
        workdir,
        (&mounts, &files),
        source,
    )?;

    if args.machine.is_some() && args.vmm != Vmm::Qemu {
        return Err(UserError::Usage(format!(
            "--machine applies to --vmm qemu only, not --vmm {}",
            args.vmm.name()
        )));
    }
    let accel = select_accel(&args)?;
    let poll = mio::Poll::new().context("creating the event loop")?;
    let net_service = net_service(net, poll.registry())?;

    let kernel = match &args.kernel {
        Some(path) => {
            if !path.is_file() {
                return Err(UserError::Usage(format!(
                    "--kernel {}: no such file",
                    path.display()
                )));
            }
            path.clone()
        }
        None => kernel_image::cached_kernel_path(kernel_image::EMBEDDED_KERNEL)?,
    };

    let workdir = tempfile::Builder::new()
        .prefix("lamina-")
        .tempdir()
        .context("creating a temporary directory")?;
    let bundle_path = workdir.path().join("bundle");
    std::fs::write(&bundle_path, &bundle)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    drop(bundle);

    let epoch_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or(0);
    let spec = VmSpec {
        memory: args.memory,
        kernel,
        bundle: bundle_path,
        kernel_cmdline: KernelCmdline {
            verbose: args.verbose,
            epoch_ns,
            tty_mask: tty_mask(),
            winsize: crate::terminal::window_size().map(|size| (size.rows, size.cols)),
            tsc_khz: crate::tsc::host_tsc_khz(kernel_image::cache_dir().as_deref()),
            extra: std::env::var(KERNEL_APPEND_ENV).ok(),
            rootfs_tag: rootfs.map(|_| ROOTFS_MOUNT_TAG),
            preempt_at_syscalls: accel == Accel::Kvm && accel::user_vectors_unsaved(),
            sysret: accel::sysret_allowed(accel),
            trace: args.trace.is_some(),
            user: Some(user.identity),
        },
    };
    let (vmm, console, channels) = launch(&args, accel, spec, shares, workdir.path())?;
    // Raw until the supervisor returns; the report below is cooked again.
    let raw_mode = crate::terminal::RawMode::enter();
    let supervised = supervisor::supervise(Supervision {
        vmm,
        vmm_name: args.vmm.binary(),
        console,
        channels,
        net_service,
        poll,
        signals,
        timeout: args.timeout,
        verbose: args.verbose,
        trace: trace.clone(),
    });
    drop(raw_mode);
    let (outcome, console) = supervised?;
    drop(workdir);
    if let Some(trace) = &trace {
        let report_missing = args.trace.is_some() || args.verbose;
        trace
            .borrow_mut()
            .finish(report_missing, &mut io::stderr().lock());
    }
    if console.malformed_frames > 0 {
        tracing::info!(
            "ignored {} malformed console frames",
            console.malformed_frames
        );
    }
    let _ = outcome.report(
        &console,
        args.memory,
        args.verbose,
        &mut io::stderr().lock(),
    );
    Ok(outcome.exit_code())
}

/// The trace writer for `--trace` (its file opened now, so a bad path
/// stops the run before the VM starts), or for `--verbose`'s summary of
/// missing calls; `None` when neither is asked for.
fn trace_writer(args: &RunArgs) -> Result<Option<SharedTrace>, UserError> {
    let writer = match &args.trace {
        Some(file) => {
            let (sink, to_stderr) = trace::open_sink(file.as_deref()).map_err(UserError::Usage)?;
            TraceWriter::new(Some(sink), to_stderr, args.trace_format)
        }
        None if args.verbose => TraceWriter::new(None, false, args.trace_format),
        None => return Ok(None),
    };
    Ok(Some(writer.shared()))
}

/// The network of the VM, from the net flags: what the net proxy takes.
#[derive(Debug)]
pub struct NetSetup {
    pub policy: Policy,
    pub hostname: Hostname,
    pub add_hosts: Vec<AddHost>,
    /// The host's resolv.conf, for the guest's search list and options.
    pub host_resolv_conf: HostResolvConf,
}

/// The host's resolver configuration (resolv.conf(5)).
const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";

/// Checks the net flags and builds the policy (resolving `--allow-net`
/// host names) before anything starts. Only QEMU has the net channel.
/// The bundle's mount line for /dev/shm: a tmpfs of `--shm-size` bytes
/// (the kernel has one of docker's 64 MiB before it reads the bundle).
fn shm_mount_line(size: cli::ShmSize) -> Vec<u8> {
    format!("tmpfs size={} /dev/shm", size.bytes).into_bytes()
}

fn net_setup(args: &RunArgs) -> Result<Option<NetSetup>, UserError> {
    let net = &args.net;
    if args.vmm != Vmm::Qemu {
        if let Some(flag) = net.first_given() {
            return Err(UserError::Usage(format!(
                "{flag} is not available with --vmm {}: sockets on that VMM come with its virtio-vsock transport",
                args.vmm.name()
            )));
        }
        return Ok(None);
    }
    let options = NetOptions {
        mode: net.mode.unwrap_or_default(),
        allow: net.allow.clone(),
        publish: net.publish.clone(),
        dns: net.dns.clone(),
    };
    // A missing or unreadable resolv.conf names no servers: DNS then
    // needs --dns, and the proxy says so when the guest asks.
    let host_resolv_conf = std::fs::read_to_string(HOST_RESOLV_CONF)
        .map(|text| HostResolvConf::parse(&text))
        .unwrap_or_default();
    let policy = Policy::new(
        &options,
        &host_resolv_conf.nameservers,
        policy::resolve_host,
    )
    .map_err(|err| UserError::Usage(err.to_string()))?;
    Ok(Some(NetSetup {
        policy,
        hostname: net.hostname.clone().unwrap_or_default(),
        add_hosts: net.add_hosts.clone(),
        host_resolv_conf,
    }))
}

/// The host end of the net channel, given the network setup.
/// Its host sockets go on the loop's `registry` under
/// [`NET_SERVICE_TOKENS`]; the published ports listen from here on, so a
/// port that cannot be had fails the run before the VM starts.
fn net_service(
    net: Option<NetSetup>,
    registry: &mio::Registry,
) -> Result<Option<Box<dyn ChannelService>>, UserError> {
    let Some(net) = net else {
        return Ok(None);
    };
    let mut proxy = Proxy::new(net.policy, proxy::Limits::default(), NET_SERVICE_TOKENS);
    proxy
        .publish(registry)
        .map_err(|err| UserError::Usage(err.to_string()))?;
    Ok(Some(Box::new(proxy)))
}

/// The files lamina puts in the guest's `/etc` (in guest memory, over
/// the root's own), as docker does for a container: `hosts` and
/// `hostname` always, `resolv.conf` where there is a net channel to
/// reach its resolver.
fn name_files(net: Option<&NetSetup>) -> Vec<(String, String)> {
    let default_hostname = Hostname::default();
    let hostname = net.map_or(&default_hostname, |net| &net.hostname);
    let add_hosts = net.map_or(&[][..], |net| &net.add_hosts);
    let mut files = vec![
        (
            "/etc/hosts".to_string(),
            policy::render_hosts(hostname, add_hosts),
        ),
        (
            "/etc/hostname".to_string(),
            policy::render_hostname(hostname),
        ),
    ];
    if let Some(net) = net {
        files.push((
            "/etc/resolv.conf".to_string(),
            policy::render_resolv_conf(&net.host_resolv_conf, net.policy.upstream_dns()),
        ));
    }
    files
}

/// `--rootfs DIR` and the `--volume`s, checked before anything starts:
/// readable directories, on QEMU (the only VMM with a 9P server of its
/// own). Commas in their paths are fine: the QEMU command line doubles
/// them. The root comes first, tagged "root"; volumes are "vol0", ...
fn check_shares(args: &RunArgs) -> Result<Vec<Share>, UserError> {
    let mut shares = Vec::new();
    if let Some(dir) = &args.rootfs {
        shares.push(Share {
            tag: ROOTFS_MOUNT_TAG.into(),
            path: check_share_dir(args, "--rootfs", dir)?,
            read_only: args.read_only,
        });
    }
    for (index, volume) in args.volumes.iter().enumerate() {
        shares.push(Share {
            tag: format!("vol{index}"),
            path: check_share_dir(args, "--volume", &volume.host)?,
            read_only: volume.read_only,
        });
    }
    Ok(shares)
}

fn check_share_dir(args: &RunArgs, flag: &str, dir: &Path) -> Result<PathBuf, UserError> {
    if args.vmm != Vmm::Qemu {
        return Err(UserError::Usage(format!(
            "{flag} is not available with --vmm {}: files on that VMM come with its virtio-vsock transport",
            args.vmm.name()
        )));
    }
    let shown = dir.display();
    let metadata = std::fs::metadata(dir).map_err(|err| {
        UserError::Usage(match err.kind() {
            io::ErrorKind::NotFound => format!("{flag} {shown}: no such directory"),
            _ => format!("{flag} {shown}: {}", os_reason(&err)),
        })
    })?;
    if !metadata.is_dir() {
        return Err(UserError::Usage(format!("{flag} {shown}: not a directory")));
    }
    std::fs::read_dir(dir).map_err(|err| {
        UserError::Usage(format!(
            "{flag} {shown}: cannot list it: {}",
            os_reason(&err)
        ))
    })?;
    std::fs::canonicalize(dir)
        .map_err(|err| UserError::Usage(format!("{flag} {shown}: {}", os_reason(&err))))
}

/// The accelerator: the user's choice for QEMU; KVM for the VMMs that
/// have nothing else.
fn select_accel(args: &RunArgs) -> Result<Accel, UserError> {
    let probe = Probe::from_env();
    let (accel, why) = match (args.vmm, args.accel) {
        (Vmm::Qemu, choice) => accel::select(choice, &probe)?,
        (vmm, AccelChoice::Tcg) => {
            return Err(UserError::Usage(format!(
                "--vmm {} runs only under KVM; drop --accel tcg, or use --vmm qemu",
                vmm.name()
            )))
        }
        (vmm, AccelChoice::Auto | AccelChoice::Kvm) => {
            let (accel, _) = accel::select(AccelChoice::Kvm, &probe).map_err(|err| {
                UserError::Usage(format!("{err} (--vmm {} needs KVM)", vmm.name()))
            })?;
            (accel, format!("--vmm {} runs under KVM only", vmm.name()))
        }
    };
    tracing::info!("accelerator {}: {why}", accel.name());
    Ok(accel)
}

/// Starts the VMM `args.vmm` on `spec`, its files in `dir`; returns it
/// with what the supervisor watches besides.
fn launch(
    args: &RunArgs,
    accel: Accel,
    spec: VmSpec,
    shares: Vec<Share>,
    dir: &Path,
) -> Result<(VmmProcess, ConsoleSetup, Option<ChannelListeners>), UserError> {
    let mut log_file = None;
    let mut channels = None;
    let (command, console) = match args.vmm {
        Vmm::Qemu => {
            let console_socket = dir.join("console.sock");
            let listener = listen(&console_socket, "the console socket")?;
            let mut channel_sockets = Vec::new();
            if !channels_disabled(std::env::var_os(NO_CHANNELS_ENV).as_deref()) {
                let ctl_socket = dir.join("ctl.sock");
                let net_socket = dir.join("net.sock");
                // `--net none`: no net port, so the guest has no channel
                // to forward a socket on and answers ENETUNREACH itself.
                let with_net = args.net.mode != Some(NetMode::None);
                channels = Some(ChannelListeners {
                    ctl: listen(&ctl_socket, "the ctl channel's socket")?,
                    net: match with_net {
                        true => Some(listen(&net_socket, "the net channel's socket")?),
                        false => None,
                    },
                });
                channel_sockets.push(ChannelSocket {
                    channel: Channel::Control,
                    path: ctl_socket,
                });
                if with_net {
                    channel_sockets.push(ChannelSocket {
                        channel: Channel::Net,
                        path: net_socket,
                    });
                }
            }
            let vm = VmConfig {
                machine: args.machine.unwrap_or(Machine::Microvm),
                accel,
                spec,
                console_socket,
                shares,
                channels: channel_sockets,
            };
            let mut command = vm.command(QEMU_BINARY.as_ref());
            command.stdin(Stdio::null()).stdout(Stdio::null());
            (command, Some(ConsoleSetup::Listen(listener)))
        }
        Vmm::CloudHypervisor => {
            let console_socket = dir.join("console.sock");
            let mut command = Command::new(Vmm::CloudHypervisor.binary());
            command
                .args(vmm::cloud_hypervisor_args(&spec, &console_socket))
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            (command, Some(ConsoleSetup::Connect(console_socket)))
        }
        Vmm::Firecracker => {
            let config = dir.join("firecracker.json");
            std::fs::write(&config, vmm::firecracker_config(&spec))
                .with_context(|| format!("writing {}", config.display()))?;
            let log = dir.join("firecracker.log");
            std::fs::write(&log, b"").with_context(|| format!("creating {}", log.display()))?;
            let mut command = Command::new(Vmm::Firecracker.binary());
            command
                .args(vmm::firecracker_args(&config, &log))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            log_file = Some(log);
            (command, None)
        }
    };
    match VmmProcess::spawn(command, args.verbose, log_file) {
        Ok(mut vmm) => {
            let console = match console {
                Some(console) => console,
                None => {
                    let (to_guest, from_guest) = vmm.take_stdio().expect("stdio is piped");
                    ConsoleSetup::Pipes {
                        to_guest,
                        from_guest,
                    }
                }
            };
            Ok((vmm, console, channels))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(UserError::VmmNotFound(args.vmm)),
        Err(err) => Err(anyhow::Error::new(err)
            .context(format!("cannot start {}", args.vmm.binary()))
            .into()),
    }
}

/// A non-blocking unix socket the VMM connects to once it has started.
fn listen(path: &Path, what: &str) -> anyhow::Result<UnixListener> {
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    listener
        .set_nonblocking(true)
        .with_context(|| format!("configuring {what}"))?;
    Ok(listener)
}

/// Bit 0: stdin, bit 1: stdout, bit 2: stderr is a terminal.
/// The workload's environment: docker's defaults, then `--env-file`s,
/// then `-e`s (see [`environment`]).
fn workload_env(args: &RunArgs, home: &str) -> Result<Vec<Vec<u8>>, UserError> {
    let host = |name: &str| std::env::var_os(name);
    let mut entries = Vec::new();
    for file in &args.env_files {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|err| UserError::Usage(format!("--env-file {shown}: {}", os_reason(&err))))?;
        entries
            .extend(environment::parse_env_file(&text, &shown, &host).map_err(UserError::Usage)?);
    }
    for arg in &args.env {
        entries.extend(environment::env_arg(arg, &host).map_err(UserError::Usage)?);
    }
    let hostname = args.net.hostname.clone().unwrap_or_default();
    let defaults = environment::Defaults {
        hostname: hostname.as_str(),
        home,
        terminal: tty_mask() & 0b11 == 0b11,
    };
    Ok(environment::container_env(&defaults, entries))
}

fn tty_mask() -> u8 {
    use std::io::IsTerminal;
    u8::from(io::stdin().is_terminal())
        | u8::from(io::stdout().is_terminal()) << 1
        | u8::from(io::stderr().is_terminal()) << 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_mount_line_names_the_size_in_bytes() {
        let size: cli::ShmSize = "128M".parse().unwrap();
        assert_eq!(shm_mount_line(size), b"tmpfs size=134217728 /dev/shm");
    }

    fn report(outcome: &Outcome, console: &ConsoleReport, verbose: bool) -> String {
        let mut out = Vec::new();
        outcome
            .report(console, "256M".parse().unwrap(), verbose, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn console_with_logs(lines: &[&str]) -> ConsoleReport {
        ConsoleReport {
            exit: None,
            log_tail: lines.iter().map(|s| s.to_string()).collect(),
            malformed_frames: 0,
        }
    }

    #[test]
    fn only_one_switches_the_channels_off() {
        assert!(channels_disabled(Some("1".as_ref())));
        for value in [None, Some(""), Some("0"), Some("yes"), Some("11")] {
            assert!(!channels_disabled(value.map(AsRef::as_ref)), "{value:?}");
        }
    }

    #[test]
    fn exit_codes() {
        let cases = [
            (Outcome::Guest(ExitStatus::Exited(0)), 0),
            (Outcome::Guest(ExitStatus::Exited(42)), 42),
            (Outcome::Guest(ExitStatus::Exited(255)), 255),
            (Outcome::Guest(ExitStatus::Signaled(11)), 139),
            (Outcome::Guest(ExitStatus::OutOfMemory), 137),
            (Outcome::Guest(ExitStatus::KernelPanic), 125),
            (Outcome::TimedOut(Duration::from_secs(30)), 124),
            (Outcome::Interrupted(2), 130),
            (Outcome::Interrupted(15), 143),
            (Outcome::Interrupted(1), 129),
            (Outcome::ControlBroken("bad".into()), 125),
            (
                Outcome::NoExitStatus {
                    vmm_error: None,
                    vmm_status: None,
                },
                125,
            ),
        ];
        for (outcome, code) in cases {
            assert_eq!(outcome.exit_code(), code, "{outcome:?}");
        }
    }

    #[test]
    fn messages() {
        let quiet = console_with_logs(&[]);
        assert_eq!(
            report(&Outcome::Guest(ExitStatus::Exited(1)), &quiet, true),
            ""
        );
        assert_eq!(
            report(&Outcome::Guest(ExitStatus::Signaled(11)), &quiet, false),
            ""
        );
        assert_eq!(
            report(&Outcome::Guest(ExitStatus::Signaled(11)), &quiet, true),
            "lamina: workload killed by signal 11 (SIGSEGV)\n"
        );
        assert_eq!(
            report(&Outcome::Guest(ExitStatus::OutOfMemory), &quiet, false),
            "lamina: workload killed: guest out of memory (-m 256M); raise --memory\n"
        );
        assert_eq!(
            report(&Outcome::TimedOut(Duration::from_secs(30)), &quiet, false),
            "lamina: timed out after 30s\n"
        );
        assert_eq!(
            report(
                &Outcome::ControlBroken("unknown message type 9".into()),
                &quiet,
                false
            ),
            "lamina: the guest broke the control channel: unknown message type 9\n"
        );
        let qemu_failed = Outcome::NoExitStatus {
            vmm_error: Some("qemu-system-x86_64: -accel kvm: failed".into()),
            vmm_status: Some("exit status: 1".into()),
        };
        assert_eq!(
            report(&qemu_failed, &quiet, false),
            "lamina: qemu-system-x86_64: -accel kvm: failed\n"
        );
    }

    #[test]
    fn panic_shows_the_log_even_without_verbose() {
        let logs = console_with_logs(&["booting", "panicked at mm.rs:3"]);
        assert_eq!(
            report(&Outcome::Guest(ExitStatus::KernelPanic), &logs, false),
            "booting\npanicked at mm.rs:3\nlamina: guest kernel panic\n"
        );
        // With -v the lines were already printed as they came.
        assert_eq!(
            report(&Outcome::Guest(ExitStatus::KernelPanic), &logs, true),
            "lamina: guest kernel panic\n"
        );
    }

    #[test]
    fn silent_guest_death_shows_the_last_log_lines() {
        let lines: Vec<String> = (0..30).map(|i| format!("log {i}")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let logs = console_with_logs(&refs);
        let text = report(
            &Outcome::NoExitStatus {
                vmm_error: None,
                vmm_status: Some("qemu exit status: 0".into()),
            },
            &logs,
            false,
        );
        let shown: Vec<&str> = text.lines().collect();
        assert_eq!(shown.len(), LOG_LINES_ON_FAILURE + 1);
        assert_eq!(shown[0], "log 20");
        assert_eq!(
            shown[LOG_LINES_ON_FAILURE],
            "lamina: guest kernel stopped without reporting an exit status (qemu exit status: 0)"
        );
    }
}
