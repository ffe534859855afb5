//! `lamina run`: boot the VM, serve its console, turn the way it ended into
//! lamina's exit code.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus as ProcessStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use lamina_proto::frame::ExitStatus;

use crate::accel::{self, Accel, Probe};
use crate::cli::{self, AccelChoice, Machine, RunArgs, Vmm};
use crate::console::{self, ConsoleReport, Router};
use crate::error::{os_reason, UserError, EXIT_LAUNCH_FAILED, EXIT_SIGNAL_BASE, EXIT_TIMED_OUT};
use crate::kernel_image;
use crate::program;
use crate::qemu::{KernelCmdline, Share, VmConfig, QEMU_BINARY, ROOTFS_MOUNT_TAG};
use crate::vmm::{self, VmSpec, VmmProcess};

/// Extra kernel command-line tokens, for debugging and for the tests that
/// drive the kernel's self-tests (`selftest=kernel-fault`).
const KERNEL_APPEND_ENV: &str = "LAMINA_KERNEL_APPEND";

/// How often the supervisor looks at the VMM, the clock and the signals. Every
/// wait is latency added to a run (`lamina run hello` lasts ~40 ms), so it
/// is short; the wake-ups cost well under 1 % of a core.
const POLL_INTERVAL: Duration = Duration::from_micros(250);
/// How long the VMM may keep running after the guest reported its exit status.
const EXIT_GRACE: Duration = Duration::from_secs(2);
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
            Self::NoExitStatus { .. } => EXIT_LAUNCH_FAILED,
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

/// Signals that make lamina kill the VM; the handler only records which.
const TERMINATING_SIGNALS: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

fn install_signal_flag() -> anyhow::Result<Arc<AtomicUsize>> {
    let flag = Arc::new(AtomicUsize::new(0));
    for signo in TERMINATING_SIGNALS {
        signal_hook::flag::register_usize(signo, Arc::clone(&flag), signo as usize)
            .context("installing a signal handler")?;
    }
    Ok(flag)
}

/// Runs the workload; returns lamina's exit code, or the one-line error.
pub fn run(args: RunArgs) -> Result<u8, UserError> {
    let signal = install_signal_flag()?;
    let env = args
        .env
        .iter()
        .map(cli::parse_env)
        .collect::<Result<Vec<_>, _>>()
        .map_err(UserError::Usage)?;
    let shares = check_shares(&args)?;
    let rootfs = shares.iter().find(|share| share.tag == ROOTFS_MOUNT_TAG);
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
    // "tmpfs - PATH" per --tmpfs (PATH last: it may hold spaces).
    let mounts: Vec<Vec<u8>> = args
        .volumes
        .iter()
        .zip(shares.iter().filter(|share| share.tag != ROOTFS_MOUNT_TAG))
        .map(|(volume, share)| format!("9p {} {}", share.tag, volume.guest).into_bytes())
        .chain(
            args.tmpfs
                .iter()
                .map(|path| format!("tmpfs - {path}").into_bytes()),
        )
        .collect();
    let bundle = program::bundle(args.program(), args.args(), &env, workdir, &mounts, source)?;

    if args.machine.is_some() && args.vmm != Vmm::Qemu {
        return Err(UserError::Usage(format!(
            "--machine applies to --vmm qemu only, not --vmm {}",
            args.vmm.name()
        )));
    }
    let accel = select_accel(&args)?;

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
            tsc_khz: crate::tsc::host_tsc_khz(kernel_image::cache_dir().as_deref()),
            extra: std::env::var(KERNEL_APPEND_ENV).ok(),
            rootfs_tag: rootfs.map(|_| ROOTFS_MOUNT_TAG),
            preempt_at_syscalls: accel == Accel::Kvm && accel::user_vectors_unsaved(),
        },
    };
    let (vmm, console) = launch(&args, accel, spec, shares, workdir.path())?;

    let (outcome, console) = supervise(vmm, console, &args, &signal)?;
    drop(workdir);
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

/// Where the guest's console bytes arrive.
enum Console {
    /// QEMU connects to this socket once it has started.
    Listen(UnixListener),
    /// Cloud Hypervisor listens on this socket once it has started.
    Connect(PathBuf),
    /// The VMM's own stdout and stdin (Firecracker reads a serial input
    /// only from a terminal or a pipe).
    Connected(ConsoleStreams),
}

/// The two directions of the guest's console.
struct ConsoleStreams {
    from_guest: Box<dyn io::Read + Send>,
    to_guest: Box<dyn io::Write + Send>,
}

impl ConsoleStreams {
    fn socket(stream: UnixStream) -> anyhow::Result<Self> {
        stream
            .set_nonblocking(false)
            .context("configuring the console socket")?;
        let to_guest = stream.try_clone().context("cloning the console socket")?;
        Ok(Self {
            from_guest: Box::new(stream),
            to_guest: Box::new(to_guest),
        })
    }
}

/// Starts the VMM `args.vmm` on `spec`, its files in `dir`.
fn launch(
    args: &RunArgs,
    accel: Accel,
    spec: VmSpec,
    shares: Vec<Share>,
    dir: &Path,
) -> Result<(VmmProcess, Console), UserError> {
    let mut log_file = None;
    let (command, console) = match args.vmm {
        Vmm::Qemu => {
            let console_socket = dir.join("console.sock");
            let listener = UnixListener::bind(&console_socket)
                .with_context(|| format!("listening on {}", console_socket.display()))?;
            listener
                .set_nonblocking(true)
                .context("configuring the console socket")?;
            let vm = VmConfig {
                machine: args.machine.unwrap_or(Machine::Microvm),
                accel,
                spec,
                console_socket,
                shares,
            };
            let mut command = vm.command(QEMU_BINARY.as_ref());
            command.stdin(Stdio::null()).stdout(Stdio::null());
            (command, Some(Console::Listen(listener)))
        }
        Vmm::CloudHypervisor => {
            let console_socket = dir.join("console.sock");
            let mut command = Command::new(Vmm::CloudHypervisor.binary());
            command
                .args(vmm::cloud_hypervisor_args(&spec, &console_socket))
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            (command, Some(Console::Connect(console_socket)))
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
                    Console::Connected(ConsoleStreams {
                        from_guest: Box::new(from_guest),
                        to_guest: Box::new(to_guest),
                    })
                }
            };
            Ok((vmm, console))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(UserError::VmmNotFound(args.vmm)),
        Err(err) => Err(anyhow::Error::new(err)
            .context(format!("cannot start {}", args.vmm.binary()))
            .into()),
    }
}

/// Why the supervisor stopped waiting.
enum Stop {
    QemuExited(ProcessStatus),
    TimedOut(Duration),
    Interrupted(i32),
    /// Whoever reads lamina's stdout went away (`lamina run yes | head`).
    StdoutClosed,
}

/// What the console thread tells the supervisor.
enum ConsoleEvent {
    /// The guest reported the workload's exit status.
    Exited,
    /// lamina's stdout is a closed pipe.
    StdoutClosed,
}

/// SIGPIPE: what a native process writing to a closed pipe dies of.
const SIGPIPE: u8 = 13;

/// Watches the VMM until it exits, the timeout expires or a signal arrives.
fn supervise(
    mut qemu: VmmProcess,
    console: Console,
    args: &RunArgs,
    signal: &AtomicUsize,
) -> Result<(Outcome, ConsoleReport), UserError> {
    let started = Instant::now();
    let deadline = args.timeout.map(|timeout| (started + timeout, timeout));
    let mut reader: Option<JoinHandle<ConsoleReport>> = None;
    let (events_tx, events_rx) = std::sync::mpsc::channel::<ConsoleEvent>();
    let mut events_tx = Some(events_tx);
    let mut exit_reported_at: Option<Instant> = None;
    let pending = match console {
        Console::Connected(streams) => {
            let tx = events_tx.take().expect("not yet taken");
            reader = Some(start_console(streams, args.verbose, tx)?);
            None
        }
        pending => Some(pending),
    };

    let stop = loop {
        if let Some(signo) = match signal.load(Ordering::Relaxed) {
            0 => None,
            signo => Some(signo as i32),
        } {
            break Stop::Interrupted(signo);
        }
        if let Some(status) = qemu.try_wait().context("waiting for the VMM")? {
            break Stop::QemuExited(status);
        }
        if let Some((deadline, timeout)) = deadline {
            if Instant::now() >= deadline {
                break Stop::TimedOut(timeout);
            }
        }
        if let (None, Some(pending)) = (&reader, &pending) {
            if let Some(stream) = console_connection(pending)? {
                tracing::info!("the console is connected");
                let tx = events_tx.take().expect("connected once");
                reader = Some(start_console(
                    ConsoleStreams::socket(stream)?,
                    args.verbose,
                    tx,
                )?);
            }
        }
        match events_rx.try_recv() {
            Ok(ConsoleEvent::Exited) => exit_reported_at = Some(Instant::now()),
            Ok(ConsoleEvent::StdoutClosed) => break Stop::StdoutClosed,
            Err(_) => {}
        }
        if let Some(at) = exit_reported_at {
            if at.elapsed() > EXIT_GRACE {
                tracing::warn!(
                    "the VMM is still running {EXIT_GRACE:?} after the guest exited; killing it"
                );
                qemu.kill();
                continue;
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    };

    let outcome_without_guest = match stop {
        Stop::Interrupted(signo) => {
            qemu.kill();
            return Ok((Outcome::Interrupted(signo), join_console(reader)));
        }
        Stop::TimedOut(after) => {
            qemu.kill();
            return Ok((Outcome::TimedOut(after), join_console(reader)));
        }
        Stop::StdoutClosed => {
            // Natively the workload would die of SIGPIPE on its next write;
            // the guest cannot see the host's pipe, so end it here.
            qemu.kill();
            let console = join_console(reader);
            return Ok((Outcome::Guest(ExitStatus::Signaled(SIGPIPE)), console));
        }
        Stop::QemuExited(status) => status,
    };
    // The VMM is gone, so the console socket is at end of file: the reader
    // finishes once it has written out everything the guest sent.
    let console = join_console(reader);
    if let Some(status) = console.exit {
        return Ok((Outcome::Guest(status), console));
    }
    // The VMM may have died of the same Ctrl-C that lamina got.
    std::thread::sleep(POLL_INTERVAL);
    if let signo @ 1.. = signal.load(Ordering::Relaxed) {
        return Ok((Outcome::Interrupted(signo as i32), console));
    }
    tracing::info!(
        "{} exited with {outcome_without_guest} and no exit status from the guest",
        args.vmm.binary()
    );
    let vmm_error = qemu.failure_line();
    Ok((
        Outcome::NoExitStatus {
            vmm_error,
            vmm_status: Some(format!("{} {outcome_without_guest}", args.vmm.name())),
        },
        console,
    ))
}

/// The console's socket, once the VMM has connected to lamina's (QEMU) or
/// listens on its own (Cloud Hypervisor); None while it is not there yet.
fn console_connection(pending: &Console) -> Result<Option<UnixStream>, UserError> {
    let result = match pending {
        Console::Listen(listener) => listener.accept().map(|(stream, _)| stream),
        Console::Connect(path) => UnixStream::connect(path),
        Console::Connected(_) => return Ok(None),
    };
    match result {
        Ok(stream) => Ok(Some(stream)),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock
                    | io::ErrorKind::NotFound
                    | io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(anyhow::Error::new(err)
            .context("connecting the console")
            .into()),
    }
}

fn join_console(reader: Option<JoinHandle<ConsoleReport>>) -> ConsoleReport {
    reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or(ConsoleReport {
            exit: None,
            log_tail: Vec::new(),
            malformed_frames: 0,
        })
}

/// Starts the two console threads: guest output to lamina's stdout and
/// stderr (returns the report when the guest side closes), and lamina's
/// stdin to the guest. `events` says when the exit status arrives and when
/// lamina's stdout turns out to be closed.
fn start_console(
    ConsoleStreams {
        from_guest: mut stream,
        to_guest,
    }: ConsoleStreams,
    verbose: bool,
    events: std::sync::mpsc::Sender<ConsoleEvent>,
) -> anyhow::Result<JoinHandle<ConsoleReport>> {
    let (stdin_wanted_tx, stdin_wanted_rx) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let wanted = move || stdin_wanted_rx.recv().is_ok();
            console::forward_stdin(wanted, io::stdin().lock(), to_guest)
        })
        .context("starting the stdin thread")?;
    let mut stdin_wanted_tx = Some(stdin_wanted_tx);
    let reader = std::thread::Builder::new()
        .name("console".into())
        .spawn(move || {
            let mut router = Router::new(io::stdout(), io::stderr(), verbose);
            let mut buf = vec![0u8; 64 * 1024];
            let (mut exit_sent, mut closed_sent) = (false, false);
            loop {
                match io::Read::read(&mut stream, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => router.feed(&buf[..n]),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    // QEMU exited with stdin frames unread: everything the
                    // guest sent has been read by now.
                    Err(err) if err.kind() == io::ErrorKind::ConnectionReset => break,
                    Err(err) => {
                        tracing::info!("console read failed: {err}");
                        break;
                    }
                }
                if router.stdin_wanted() {
                    if let Some(tx) = stdin_wanted_tx.take() {
                        let _ = tx.send(());
                    }
                }
                if !exit_sent && router.exit().is_some() {
                    exit_sent = true;
                    let _ = events.send(ConsoleEvent::Exited);
                }
                if !closed_sent && router.stdout_closed() {
                    closed_sent = true;
                    let _ = events.send(ConsoleEvent::StdoutClosed);
                }
            }
            router.report()
        })
        .context("starting the console thread")?;
    Ok(reader)
}

/// Bit 0: stdin, bit 1: stdout, bit 2: stderr is a terminal.
fn tty_mask() -> u8 {
    use std::io::IsTerminal;
    u8::from(io::stdin().is_terminal())
        | u8::from(io::stdout().is_terminal()) << 1
        | u8::from(io::stderr().is_terminal()) << 2
}

#[cfg(test)]
mod tests {
    use super::*;

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
