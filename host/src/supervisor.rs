//! The supervisor: one thread, one `mio` event loop, from the VMM's start
//! to its end. It watches
//!
//! - the VMM, through a pidfd (its exit status then from `try_wait`);
//! - SIGINT, SIGTERM and SIGHUP (signal-hook's self-pipe), and SIGWINCH
//!   when stdin is a terminal (its new size goes to the guest on ctl);
//! - `--timeout` and the grace after the exit status, as the poll timeout;
//! - the serial console: the kernel log, and the workload's stdio framed
//!   ([`crate::console`]) where there is no ctl channel (Cloud Hypervisor,
//!   Firecracker, a kernel that does not open it);
//! - the "ctl" channel ([`crate::control`]) and the "net" channel (fed to a
//!   [`ChannelService`]), QEMU's virtio-console ports;
//! - lamina's stdin, read only as far as the guest asked for it.
//!
//! Sockets and pipes are non-blocking, and each turn reads a bounded amount
//! from every ready source, so a chatty guest cannot starve the signals or
//! the timeout. Writes to lamina's own stdout and stderr block: the
//! workload's output goes no faster than lamina's reader takes it, which
//! is the back-pressure the guest gets (the loop stalls meanwhile, and a
//! Ctrl-C is seen once the write returns). The VMM's stderr is read by a
//! thread of its own ([`VmmProcess`]).

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener as StdUnixListener;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::PathBuf;
use std::process::{ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use anyhow::Context;
use lamina_proto::frame::ExitStatus;
use mio::event::Source;
use mio::net::{UnixListener, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use signal_hook_mio::v1_0::Signals;

use crate::console::{self, ConsoleReport, Router};
use crate::control::{Control, ControlError};
use crate::error::UserError;
use crate::run::Outcome;
use crate::service::{ChannelService, TokenRange};
use crate::stdin::{read_stdin, StdinRead};
use crate::trace::SharedTrace;
use crate::vmm::VmmProcess;

/// Signals that make lamina kill the VM and exit 128 + N.
pub const TERMINATING_SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// The tokens the net service registers its own sources under.
pub const NET_SERVICE_TOKENS: TokenRange = TokenRange {
    first: 1000,
    count: 1 << 20,
};

const SIGNALS: Token = Token(0);
const VMM_EXIT: Token = Token(1);
const STDIN: Token = Token(2);
const CONSOLE_LISTENER: Token = Token(3);
const CONSOLE_FROM_GUEST: Token = Token(4);
const CONSOLE_TO_GUEST: Token = Token(5);
const CTL_LISTENER: Token = Token(6);
const CTL: Token = Token(7);
const NET_LISTENER: Token = Token(8);
const NET: Token = Token(9);

/// How long the VMM may keep running after the guest reported its exit status.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How often lamina tries to connect to Cloud Hypervisor's console socket
/// while it is starting, and looks at the VMM where there is no pidfd.
const RETRY_INTERVAL: Duration = Duration::from_millis(1);
/// How long lamina waits for a signal after the VMM died without an exit
/// status: the VMM may have died of the same Ctrl-C that lamina got.
const SIGNAL_RACE: Duration = Duration::from_millis(1);
/// Reads from one source per turn of the loop, before the others get theirs.
const READS_PER_TURN: usize = 16;
/// Bytes for the guest the net service may hold unwritten before the loop
/// stops reading the guest's requests (data is bounded by credit already;
/// this bounds replies).
const NET_OUTPUT_MAX: usize = 1 << 20;
/// One read's buffer.
const READ_BUF_BYTES: usize = 64 * 1024;
/// SIGPIPE: what a native process writing to a closed pipe dies of.
const SIGPIPE: u8 = 13;

/// Where the guest's serial console arrives.
pub enum ConsoleSetup {
    /// QEMU connects to this socket once it has started.
    Listen(StdUnixListener),
    /// Cloud Hypervisor listens on this socket once it has started.
    Connect(PathBuf),
    /// The VMM's own stdin and stdout (Firecracker reads serial input only
    /// from a terminal or a pipe).
    Pipes {
        to_guest: ChildStdin,
        from_guest: ChildStdout,
    },
}

/// The sockets QEMU's virtio-console ports connect to.
pub struct ChannelListeners {
    pub ctl: StdUnixListener,
    /// None with `--net none`: the guest then has no net channel at all.
    pub net: Option<StdUnixListener>,
}

/// What the supervisor is given.
pub struct Supervision {
    pub vmm: VmmProcess,
    /// The VMM's program, for the log.
    pub vmm_name: &'static str,
    pub console: ConsoleSetup,
    /// QEMU's channels; `None` on the VMMs without a multiport console.
    pub channels: Option<ChannelListeners>,
    /// The net channel's host end, registered under [`NET_SERVICE_TOKENS`].
    pub net_service: Option<Box<dyn ChannelService>>,
    /// The loop's poll, made before the VM starts so that services could
    /// register their sources (published ports) first.
    pub poll: Poll,
    pub signals: Signals,
    pub timeout: Option<Duration>,
    pub verbose: bool,
    /// Where trace records and missing calls go (`--trace`, `--verbose`).
    pub trace: Option<SharedTrace>,
}

/// A source the loop reads from.
trait ReadSource: Read + Source {}
impl<T: Read + Source> ReadSource for T {}
/// A source the loop writes to.
trait WriteSource: Write + Source {}
impl<T: Write + Source> WriteSource for T {}

/// How a turn of reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEnd {
    /// Read to `WouldBlock`: wait for the next edge.
    Drained,
    /// Stopped after [`READS_PER_TURN`] (or `limit`): more may be there.
    More,
    /// End of file, or the connection failed.
    Closed,
}

/// Reads from `source` up to `limit` times, handing each piece to `sink`.
fn read_turn(
    source: &mut dyn Read,
    buf: &mut [u8],
    limit: usize,
    mut sink: impl FnMut(&[u8]),
) -> ReadEnd {
    let mut reads = 0;
    while reads < limit {
        match source.read(buf) {
            Ok(0) => return ReadEnd::Closed,
            Ok(n) => {
                reads += 1;
                sink(&buf[..n]);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return ReadEnd::Drained,
            // QEMU exited with stdin frames unread: what the guest sent
            // has been read by now.
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => return ReadEnd::Closed,
            Err(err) => {
                tracing::info!("a read from the guest failed: {err}");
                return ReadEnd::Closed;
            }
        }
    }
    ReadEnd::More
}

/// Writes what `sink` takes of `out` now and removes it from the front;
/// an error means the other end has gone.
fn write_some(sink: &mut dyn Write, out: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    let result = loop {
        if written == out.len() {
            break Ok(());
        }
        match sink.write(&out[written..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(err) => break Err(err),
        }
    };
    out.drain(..written);
    result
}

/// The serial console once connected.
struct SerialConsole {
    from_guest: Box<dyn ReadSource>,
    /// `None` once the guest stopped taking input.
    to_guest: Option<Box<dyn WriteSource>>,
    /// An edge said there is input not yet read to `WouldBlock`.
    readable: bool,
    open: bool,
    /// Stdin frames not yet written.
    out: Vec<u8>,
}

/// A channel connection (ctl or net).
struct ChannelConn {
    stream: UnixStream,
    readable: bool,
    open: bool,
}

impl ChannelConn {
    fn accept(listener: &UnixListener, registry: &Registry, token: Token) -> Option<Self> {
        match listener.accept() {
            Ok((mut stream, _)) => {
                if let Err(err) =
                    registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                {
                    tracing::warn!("cannot watch a channel: {err}");
                    return None;
                }
                Some(Self {
                    stream,
                    readable: true,
                    open: true,
                })
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => None,
            Err(err) => {
                tracing::info!("accepting a channel failed: {err}");
                None
            }
        }
    }
}

/// Which carrier lamina's stdin goes over: the first the guest asked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StdinCarrier {
    Undecided,
    Serial,
    Ctl,
    /// End of file sent, or the carrier has gone.
    Done,
}

/// Why the loop stopped.
enum Stop {
    VmmExited(std::process::ExitStatus),
    /// The VMM outlived the exit status by [`EXIT_GRACE`]; it was killed.
    GraceExpired(ExitStatus),
    TimedOut(Duration),
    Interrupted(i32),
    /// Whoever reads lamina's stdout went away (`lamina run yes | head`).
    StdoutClosed,
    ControlBroken(ControlError),
}

struct Supervisor {
    poll: Poll,
    vmm: VmmProcess,
    vmm_name: &'static str,
    /// `None` where the kernel has no pidfds: the VMM is then looked at
    /// every [`RETRY_INTERVAL`].
    pidfd: Option<OwnedFd>,
    signals: Signals,
    deadline: Option<(Instant, Duration)>,
    /// When the VMM is killed if it is still running.
    grace_end: Option<Instant>,
    pending_console: Option<ConsoleSetup>,
    /// QEMU's console socket, until QEMU connects.
    console_listener: Option<StdUnixListener>,
    console: Option<SerialConsole>,
    router: Router<io::Stdout, io::Stderr>,
    ctl_listener: Option<UnixListener>,
    ctl: Option<(ChannelConn, Control)>,
    net_listener: Option<UnixListener>,
    net: Option<ChannelConn>,
    net_service: Option<Box<dyn ChannelService>>,
    stdin_carrier: StdinCarrier,
    /// The last turn stopped moving stdin while it still moved.
    stdin_more: bool,
    buf: Vec<u8>,
    trace: Option<SharedTrace>,
}

/// Watches the VMM until it exits, the timeout expires or a signal arrives.
pub fn supervise(setup: Supervision) -> Result<(Outcome, ConsoleReport), UserError> {
    let mut supervisor = Supervisor::new(setup)?;
    let stop = supervisor.run()?;
    Ok(supervisor.finish(stop))
}

impl Supervisor {
    fn new(setup: Supervision) -> anyhow::Result<Self> {
        let Supervision {
            vmm,
            vmm_name,
            console,
            channels,
            net_service,
            poll,
            mut signals,
            timeout,
            verbose,
            trace,
        } = setup;
        let registry = poll.registry();
        registry
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .context("watching signals")?;
        let pidfd = vmm.id().and_then(|pid| {
            let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
            match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
                Ok(fd) => Some(fd),
                Err(err) => {
                    tracing::info!(
                        "no pidfd for the VMM ({err}); looking at it every {RETRY_INTERVAL:?}"
                    );
                    None
                }
            }
        });
        if let Some(fd) = &pidfd {
            registry
                .register(&mut SourceFd(&fd.as_raw_fd()), VMM_EXIT, Interest::READABLE)
                .context("watching the VMM")?;
        }
        // A regular file or /dev/null cannot be watched (EPERM): it is
        // always readable, and reads of it never block.
        if let Err(err) = registry.register(
            &mut SourceFd(&rustix::stdio::stdin().as_raw_fd()),
            STDIN,
            Interest::READABLE,
        ) {
            tracing::info!("stdin is read whenever the guest asks ({err})");
        }
        let mut supervisor = Self {
            vmm,
            vmm_name,
            pidfd,
            signals,
            deadline: timeout.map(|timeout| (Instant::now() + timeout, timeout)),
            grace_end: None,
            pending_console: None,
            console_listener: None,
            console: None,
            router: Router::new(io::stdout(), io::stderr(), verbose),
            ctl_listener: None,
            ctl: None,
            net_listener: None,
            net: None,
            net_service,
            stdin_carrier: StdinCarrier::Undecided,
            stdin_more: false,
            buf: vec![0; READ_BUF_BYTES],
            poll,
            trace,
        };
        if let Some(trace) = &supervisor.trace {
            supervisor.router.set_trace(trace.clone());
        }
        let registry = supervisor.poll.registry();
        match console {
            ConsoleSetup::Listen(listener) => {
                registry
                    .register(
                        &mut SourceFd(&listener.as_raw_fd()),
                        CONSOLE_LISTENER,
                        Interest::READABLE,
                    )
                    .context("watching the console socket")?;
                supervisor.console_listener = Some(listener);
            }
            pending @ ConsoleSetup::Connect(_) => supervisor.pending_console = Some(pending),
            ConsoleSetup::Pipes {
                to_guest,
                from_guest,
            } => {
                let to_guest = mio::unix::pipe::Sender::from(to_guest);
                let from_guest = mio::unix::pipe::Receiver::from(from_guest);
                to_guest
                    .set_nonblocking(true)
                    .and_then(|()| from_guest.set_nonblocking(true))
                    .context("configuring the console pipes")?;
                supervisor.connect_console(Box::new(from_guest), Box::new(to_guest))?;
            }
        }
        if let Some(ChannelListeners { ctl, net }) = channels {
            let registry = supervisor.poll.registry();
            let mut ctl = UnixListener::from_std(ctl);
            registry
                .register(&mut ctl, CTL_LISTENER, Interest::READABLE)
                .context("watching the ctl channel's socket")?;
            supervisor.ctl_listener = Some(ctl);
            if let Some(net) = net {
                let mut net = UnixListener::from_std(net);
                registry
                    .register(&mut net, NET_LISTENER, Interest::READABLE)
                    .context("watching the net channel's socket")?;
                supervisor.net_listener = Some(net);
            }
        }
        Ok(supervisor)
    }

    fn connect_console(
        &mut self,
        mut from_guest: Box<dyn ReadSource>,
        mut to_guest: Box<dyn WriteSource>,
    ) -> anyhow::Result<()> {
        let registry = self.poll.registry();
        registry
            .register(&mut *from_guest, CONSOLE_FROM_GUEST, Interest::READABLE)
            .and_then(|()| registry.register(&mut *to_guest, CONSOLE_TO_GUEST, Interest::WRITABLE))
            .context("watching the console")?;
        tracing::info!("the console is connected");
        self.console = Some(SerialConsole {
            from_guest,
            to_guest: Some(to_guest),
            readable: true,
            open: true,
            out: Vec::new(),
        });
        Ok(())
    }

    /// A connected socket's two directions, each its own source.
    fn socket_halves(
        stream: StdUnixStream,
    ) -> anyhow::Result<(Box<dyn ReadSource>, Box<dyn WriteSource>)> {
        stream
            .set_nonblocking(true)
            .context("configuring the console socket")?;
        let writer = stream.try_clone().context("cloning the console socket")?;
        Ok((
            Box::new(UnixStream::from_std(stream)),
            Box::new(UnixStream::from_std(writer)),
        ))
    }

    /// The loop; returns why it stopped, with the VMM dead or killed.
    fn run(&mut self) -> Result<Stop, UserError> {
        let mut events = Events::with_capacity(64);
        loop {
            let timeout = self.poll_timeout();
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(anyhow::Error::new(err).context("waiting for events").into())
                }
            }
            let mut vmm_event = self.pidfd.is_none();
            for event in events.iter() {
                match event.token() {
                    SIGNALS => {
                        let pending: Vec<i32> = self.signals.pending().collect();
                        for signo in pending {
                            if signo == signal_hook::consts::SIGWINCH {
                                self.window_resized();
                                continue;
                            }
                            self.vmm.kill();
                            return Ok(Stop::Interrupted(signo));
                        }
                    }
                    VMM_EXIT => vmm_event = true,
                    CONSOLE_LISTENER => self.accept_console()?,
                    CONSOLE_FROM_GUEST => {
                        if let Some(console) = &mut self.console {
                            console.readable = true;
                        }
                    }
                    CTL_LISTENER => self.accept_ctl(),
                    CTL => {
                        if let Some((conn, _)) = &mut self.ctl {
                            conn.readable |= event.is_readable() || event.is_read_closed();
                        }
                    }
                    NET_LISTENER => self.accept_net(),
                    NET => {
                        if let Some(conn) = &mut self.net {
                            conn.readable |= event.is_readable() || event.is_read_closed();
                        }
                    }
                    token if NET_SERVICE_TOKENS.contains(token) => {
                        if let Some(service) = &mut self.net_service {
                            service.ready(self.poll.registry(), event);
                        }
                    }
                    // stdin and the writable edges: every turn below
                    // tries them anyway.
                    _ => {}
                }
            }
            if let Some(stop) = self.turn(READS_PER_TURN)? {
                return Ok(stop);
            }
            if vmm_event {
                if let Some(status) = self.vmm.try_wait().context("waiting for the VMM")? {
                    return Ok(Stop::VmmExited(status));
                }
            }
            let now = Instant::now();
            if let Some((deadline, timeout)) = self.deadline {
                if now >= deadline {
                    self.vmm.kill();
                    return Ok(Stop::TimedOut(timeout));
                }
            }
            if let (Some(end), Some(status)) = (self.grace_end, self.exit_status()) {
                if now >= end {
                    tracing::warn!(
                        "the VMM is still running {EXIT_GRACE:?} after the guest exited; killing it"
                    );
                    self.vmm.kill();
                    return Ok(Stop::GraceExpired(status));
                }
            }
        }
    }

    /// lamina's terminal was resized: the guest's terminal takes the new
    /// size (and its foreground job gets SIGWINCH) over ctl; the next turn
    /// writes it.
    fn window_resized(&mut self) {
        let Some(size) = crate::terminal::window_size() else {
            return;
        };
        if let Some((_, control)) = &mut self.ctl {
            control.window_size(size);
        }
    }

    /// The poll timeout: the nearest deadline, zero while a source has
    /// input left over from the last turn.
    fn poll_timeout(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let more_input = self.console.as_ref().is_some_and(|c| c.readable && c.open)
            || self.ctl.as_ref().is_some_and(|(c, _)| c.readable && c.open)
            || (self.net.as_ref().is_some_and(|c| c.readable && c.open) && !self.net_output_full())
            || self.stdin_more;
        if more_input {
            return Some(Duration::ZERO);
        }
        [
            self.deadline
                .map(|(at, _)| at.saturating_duration_since(now)),
            self.grace_end.map(|at| at.saturating_duration_since(now)),
            (self.pending_console.is_some() || self.pidfd.is_none()).then_some(RETRY_INTERVAL),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One turn of work after the events: connects, reads (at most
    /// `reads` per source), stdin, writes.
    fn turn(&mut self, reads: usize) -> Result<Option<Stop>, UserError> {
        self.connect_pending_console()?;
        self.read_console(reads);
        if let Some(stop) = self.read_ctl(reads) {
            self.vmm.kill();
            return Ok(Some(stop));
        }
        self.read_net(reads);
        if self.router.stdout_closed() {
            self.vmm.kill();
            return Ok(Some(Stop::StdoutClosed));
        }
        if self.grace_end.is_none() && self.exit_status().is_some() {
            self.grace_end = Some(Instant::now() + EXIT_GRACE);
        }
        self.move_stdin_and_write();
        Ok(None)
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        self.ctl
            .as_ref()
            .and_then(|(_, control)| control.exit())
            .or(self.router.exit())
    }

    fn accept_console(&mut self) -> anyhow::Result<()> {
        let Some(listener) = &self.console_listener else {
            return Ok(());
        };
        match listener.accept() {
            Ok((stream, _)) => {
                // Closing the listener takes it out of the loop.
                self.console_listener = None;
                let (reader, writer) = Self::socket_halves(stream)?;
                self.connect_console(reader, writer)
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(err) => Err(anyhow::Error::new(err).context("connecting the console")),
        }
    }

    /// Cloud Hypervisor creates its console socket once it has started.
    fn connect_pending_console(&mut self) -> anyhow::Result<()> {
        let Some(ConsoleSetup::Connect(path)) = &self.pending_console else {
            return Ok(());
        };
        match StdUnixStream::connect(path) {
            Ok(stream) => {
                self.pending_console = None;
                let (reader, writer) = Self::socket_halves(stream)?;
                self.connect_console(reader, writer)
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(anyhow::Error::new(err).context("connecting the console")),
        }
    }

    fn accept_ctl(&mut self) {
        let Some(listener) = &self.ctl_listener else {
            return;
        };
        if let Some(conn) = ChannelConn::accept(listener, self.poll.registry(), CTL) {
            tracing::info!("the ctl channel is connected");
            let mut control = Control::new();
            if let Some(trace) = &self.trace {
                control.set_trace(trace.clone());
            }
            self.ctl = Some((conn, control));
            self.ctl_listener = None;
        }
    }

    fn accept_net(&mut self) {
        let Some(listener) = &self.net_listener else {
            return;
        };
        if let Some(conn) = ChannelConn::accept(listener, self.poll.registry(), NET) {
            tracing::info!("the net channel is connected");
            self.net = Some(conn);
            self.net_listener = None;
        }
    }

    fn read_console(&mut self, reads: usize) {
        let Some(console) = &mut self.console else {
            return;
        };
        if !(console.readable && console.open) {
            return;
        }
        let router = &mut self.router;
        match read_turn(&mut *console.from_guest, &mut self.buf, reads, |bytes| {
            router.feed(bytes)
        }) {
            ReadEnd::Drained => console.readable = false,
            ReadEnd::More => {}
            ReadEnd::Closed => console.open = false,
        }
    }

    /// Reads the ctl channel; a protocol error stops the run.
    fn read_ctl(&mut self, reads: usize) -> Option<Stop> {
        let (conn, control) = self.ctl.as_mut()?;
        if !(conn.readable && conn.open) {
            return None;
        }
        let mut result = Ok(());
        let (mut stdout, mut stderr) = (io::stdout(), io::stderr());
        let end = read_turn(&mut conn.stream, &mut self.buf, reads, |bytes| {
            if result.is_ok() {
                result = control.receive(bytes, &mut stdout, &mut stderr);
            }
        });
        match end {
            ReadEnd::Drained => conn.readable = false,
            ReadEnd::More => {}
            ReadEnd::Closed => {
                conn.open = false;
                // Cut inside a frame: an error only if the exit status
                // never came (the VMM's end is checked in `finish`).
                if result.is_ok() && control.exit().is_none() {
                    if let Err(err) = control.finish() {
                        tracing::info!("the ctl channel ended inside a frame: {err}");
                    }
                }
            }
        }
        if let Err(err) = result {
            return Some(Stop::ControlBroken(err));
        }
        control.stdout_closed().then_some(Stop::StdoutClosed)
    }

    fn read_net(&mut self, reads: usize) {
        if self.net_output_full() {
            // The guest is not taking what it asked for: read nothing more
            // from it until it does (a writable edge runs the next turn).
            return;
        }
        let Some(conn) = &mut self.net else {
            return;
        };
        if !(conn.readable && conn.open) {
            return;
        }
        let registry = self.poll.registry();
        let service = &mut self.net_service;
        let mut failed = None;
        let end = read_turn(&mut conn.stream, &mut self.buf, reads, |bytes| {
            if failed.is_some() {
                return;
            }
            if let Some(svc) = service {
                if let Err(err) = svc.from_guest(registry, bytes) {
                    failed = Some(err);
                }
            }
            // Without a service the bytes are dropped: the guest's
            // sockets get no answer.
        });
        match end {
            ReadEnd::Drained => conn.readable = false,
            ReadEnd::More => {}
            ReadEnd::Closed => conn.open = false,
        }
        if let Some(err) = failed {
            eprintln!("lamina: the guest broke the net channel: {err}");
            self.close_net();
        } else if !conn.open {
            tracing::info!("the net channel closed");
            self.close_net();
        }
    }

    /// Whether the net service's replies wait unwritten past
    /// [`NET_OUTPUT_MAX`]: a guest that sends requests but does not read
    /// the answers must not grow the host's memory.
    fn net_output_full(&mut self) -> bool {
        self.net_service
            .as_mut()
            .is_some_and(|service| service.output().len() > NET_OUTPUT_MAX)
    }

    /// Closes the net channel and its service's host sources; the VM runs on.
    fn close_net(&mut self) {
        if let Some(mut service) = self.net_service.take() {
            service.shutdown(self.poll.registry());
        }
        if let Some(mut conn) = self.net.take() {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }

    /// Writes every output and moves stdin, in turns: a write that
    /// empties a carrier's queue (after a writable edge, say) makes room
    /// for more stdin, and no event would say so.
    fn move_stdin_and_write(&mut self) {
        self.stdin_more = false;
        for _ in 0..READS_PER_TURN {
            self.write_all_outputs();
            if !self.pump_stdin() {
                self.write_all_outputs();
                return;
            }
        }
        self.write_all_outputs();
        self.stdin_more = true;
    }

    /// Moves lamina's stdin to the guest, over the carrier it asked on,
    /// as far as that carrier takes it now; whether anything moved.
    fn pump_stdin(&mut self) -> bool {
        if self.stdin_carrier == StdinCarrier::Undecided {
            if self.ctl.as_ref().is_some_and(|(_, c)| c.stdin_wanted()) {
                tracing::info!("stdin goes over the ctl channel");
                self.stdin_carrier = StdinCarrier::Ctl;
            } else if self.router.stdin_wanted() {
                self.stdin_carrier = StdinCarrier::Serial;
            }
        }
        // Once the workload is gone, its stdin stays unread.
        if self.exit_status().is_some() {
            return false;
        }
        match self.stdin_carrier {
            StdinCarrier::Ctl => match &mut self.ctl {
                Some((conn, control)) if conn.open => control.pump_stdin(&mut self.buf, read_stdin),
                _ => {
                    self.stdin_carrier = StdinCarrier::Done;
                    false
                }
            },
            StdinCarrier::Serial => match &mut self.console {
                Some(SerialConsole {
                    to_guest: Some(_),
                    out,
                    ..
                }) => match console::pump_stdin(out, &mut self.buf, read_stdin) {
                    StdinRead::NotReady => false,
                    StdinRead::Data(_) => true,
                    StdinRead::Eof => {
                        self.stdin_carrier = StdinCarrier::Done;
                        true
                    }
                },
                _ => {
                    self.stdin_carrier = StdinCarrier::Done;
                    false
                }
            },
            StdinCarrier::Undecided | StdinCarrier::Done => false,
        }
    }

    /// Writes every queued output as far as its socket takes it now; the
    /// rest waits for the socket's writable edge.
    fn write_all_outputs(&mut self) {
        if let Some(console) = &mut self.console {
            if let Some(to_guest) = &mut console.to_guest {
                if let Err(err) = write_some(&mut **to_guest, &mut console.out) {
                    tracing::info!("the guest no longer takes stdin: {err}");
                    console.to_guest = None;
                    console.out.clear();
                }
            }
        }
        if let Some((conn, control)) = &mut self.ctl {
            if let Err(err) = write_some(&mut conn.stream, control.output()) {
                tracing::info!("the ctl channel no longer takes input: {err}");
                control.output().clear();
            }
        }
        let mut net_gone = false;
        if let (Some(conn), Some(service)) = (&mut self.net, &mut self.net_service) {
            if let Err(err) = write_some(&mut conn.stream, service.output()) {
                tracing::info!("the net channel no longer takes input: {err}");
                net_gone = true;
            }
        }
        if net_gone {
            self.close_net();
        }
    }

    /// Reads what the guest sent before the VMM died: its sockets and
    /// pipes are at end of file once their buffers are read.
    fn drain(&mut self) {
        if let Some(console) = &mut self.console {
            console.readable = true;
        }
        if let Some((conn, _)) = &mut self.ctl {
            conn.readable = true;
        }
        self.read_console(usize::MAX);
        let _ = self.read_ctl(usize::MAX);
    }

    /// The outcome, once the loop stopped and the VMM is gone.
    fn finish(mut self, stop: Stop) -> (Outcome, ConsoleReport) {
        // After a protocol error the ctl stream is not read again.
        if let Stop::ControlBroken(_) = stop {
            if let Some((mut conn, _)) = self.ctl.take() {
                let _ = self.poll.registry().deregister(&mut conn.stream);
            }
        }
        self.drain();
        self.close_net();
        let report = self.router.report();
        let outcome = match stop {
            Stop::Interrupted(signo) => Outcome::Interrupted(signo),
            Stop::TimedOut(after) => Outcome::TimedOut(after),
            // Natively the workload would die of SIGPIPE on its next
            // write; the guest cannot see the host's pipe, so end it here.
            Stop::StdoutClosed => Outcome::Guest(ExitStatus::Signaled(SIGPIPE)),
            Stop::ControlBroken(err) => Outcome::ControlBroken(err.to_string()),
            Stop::GraceExpired(status) => Outcome::Guest(status),
            Stop::VmmExited(status) => self.outcome_after_exit(status),
        };
        (outcome, report)
    }

    /// The VMM exited by itself.
    fn outcome_after_exit(&mut self, status: std::process::ExitStatus) -> Outcome {
        let ctl_stdout_closed = self
            .ctl
            .as_ref()
            .is_some_and(|(_, control)| control.stdout_closed());
        if self.router.stdout_closed() || ctl_stdout_closed {
            return Outcome::Guest(ExitStatus::Signaled(SIGPIPE));
        }
        if let Some(status) = self.exit_status() {
            return Outcome::Guest(status);
        }
        if let Some((_, control)) = &self.ctl {
            if let Err(err) = control.finish() {
                return Outcome::ControlBroken(err.to_string());
            }
        }
        if let Some(signo) = self.signal_after_exit() {
            return Outcome::Interrupted(signo);
        }
        tracing::info!(
            "{} exited with {status} and no exit status from the guest",
            self.vmm_name
        );
        Outcome::NoExitStatus {
            vmm_error: self.vmm.failure_line(),
            vmm_status: Some(format!("{} {status}", self.vmm_name)),
        }
    }

    /// A terminating signal that arrived with the VMM's death, or just
    /// after it.
    fn signal_after_exit(&mut self) -> Option<i32> {
        let terminating = |signo: &i32| *signo != signal_hook::consts::SIGWINCH;
        if let Some(signo) = self.signals.pending().find(terminating) {
            return Some(signo);
        }
        let end = Instant::now() + SIGNAL_RACE;
        let mut events = Events::with_capacity(16);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = self.poll.poll(&mut events, Some(left));
            if events.iter().any(|event| event.token() == SIGNALS) {
                if let Some(signo) = self.signals.pending().find(terminating) {
                    return Some(signo);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_proto::channel::{Channel, Hello};
    use lamina_proto::control::GuestMsg;
    use lamina_proto::frame::GuestKind;
    use std::process::Command;

    /// A stand-in for the VMM: a process that lives for `seconds`, and
    /// the guest's ends of the console and the channels, connected to
    /// lamina's sockets before the loop starts (as QEMU connects at start).
    struct FakeVm {
        setup: Supervision,
        console: StdUnixStream,
        ctl: StdUnixStream,
        _net: StdUnixStream,
        _dir: tempfile::TempDir,
    }

    fn fake_vm(seconds: &str, timeout: Option<Duration>) -> FakeVm {
        let dir = tempfile::tempdir().unwrap();
        let listen = |name: &str| {
            let path = dir.path().join(name);
            let listener = StdUnixListener::bind(&path).unwrap();
            listener.set_nonblocking(true).unwrap();
            let client = StdUnixStream::connect(&path).unwrap();
            (listener, client)
        };
        let (console_listener, console) = listen("console.sock");
        let (ctl_listener, ctl) = listen("ctl.sock");
        let (net_listener, net) = listen("net.sock");
        let mut command = Command::new("sleep");
        command.arg(seconds);
        let vmm = VmmProcess::spawn(command, false, None).unwrap();
        FakeVm {
            setup: Supervision {
                vmm,
                vmm_name: "sleep",
                console: ConsoleSetup::Listen(console_listener),
                channels: Some(ChannelListeners {
                    ctl: ctl_listener,
                    net: Some(net_listener),
                }),
                net_service: None,
                poll: Poll::new().unwrap(),
                signals: Signals::new([signal_hook::consts::SIGUSR2]).unwrap(),
                timeout,
                verbose: false,
                trace: None,
            },
            console,
            ctl,
            _net: net,
            _dir: dir,
        }
    }

    fn ctl_bytes(msgs: &[GuestMsg<'_>]) -> Vec<u8> {
        let mut wire = Vec::new();
        Hello::new(Channel::Control).encode(&mut wire);
        for msg in msgs {
            msg.encode(&mut wire).unwrap();
        }
        wire
    }

    fn serial_exit(status: ExitStatus) -> Vec<u8> {
        let mut wire = Vec::new();
        lamina_proto::frame::encode(GuestKind::Exit as u8, &status.encode(), |piece| {
            wire.extend_from_slice(piece)
        });
        wire
    }

    #[test]
    fn the_ctl_exit_status_wins_over_the_serial_one() {
        let mut vm = fake_vm("0.3", Some(Duration::from_secs(20)));
        vm.console
            .write_all(&serial_exit(ExitStatus::Exited(3)))
            .unwrap();
        vm.ctl
            .write_all(&ctl_bytes(&[GuestMsg::Exit(ExitStatus::Exited(42))]))
            .unwrap();
        let (outcome, report) = supervise(vm.setup).unwrap();
        assert_eq!(outcome, Outcome::Guest(ExitStatus::Exited(42)));
        assert_eq!(report.exit, Some(ExitStatus::Exited(3)));
        // lamina's Hello reached the guest, and nothing else.
        let mut hello = Vec::new();
        vm.ctl.read_to_end(&mut hello).unwrap();
        let mut expected = Vec::new();
        Hello::new(Channel::Control).encode(&mut expected);
        assert_eq!(hello, expected);
    }

    #[test]
    fn without_ctl_the_serial_exit_status_counts() {
        let vm = fake_vm("0.3", None);
        let FakeVm {
            setup,
            mut console,
            ctl,
            ..
        } = vm;
        drop(ctl);
        console
            .write_all(&serial_exit(ExitStatus::Signaled(11)))
            .unwrap();
        let (outcome, _) = supervise(setup).unwrap();
        assert_eq!(outcome, Outcome::Guest(ExitStatus::Signaled(11)));
    }

    #[test]
    fn a_broken_ctl_channel_kills_the_vm_and_says_why() {
        let mut vm = fake_vm("30", Some(Duration::from_secs(20)));
        let mut wire = ctl_bytes(&[]);
        wire.extend([1, 0, 0, 0, 9]);
        vm.ctl.write_all(&wire).unwrap();
        let started = Instant::now();
        let (outcome, _) = supervise(vm.setup).unwrap();
        assert_eq!(
            outcome,
            Outcome::ControlBroken("unknown message type 9".into())
        );
        assert_eq!(outcome.exit_code(), 125);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_timeout_kills_the_vm() {
        let vm = fake_vm("30", Some(Duration::from_millis(200)));
        let started = Instant::now();
        let (outcome, _) = supervise(vm.setup).unwrap();
        assert_eq!(outcome, Outcome::TimedOut(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_vmm_that_dies_silently_has_no_exit_status() {
        let vm = fake_vm("0.1", None);
        let (outcome, _) = supervise(vm.setup).unwrap();
        assert!(
            matches!(outcome, Outcome::NoExitStatus { .. }),
            "{outcome:?}"
        );
    }
}
