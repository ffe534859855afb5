//! The console as a terminal with job control, when lamina's stdin is a
//! terminal on the host (the host then puts its terminal in raw mode, so
//! this is the one line discipline the keystrokes meet).
//!
//! One [`Terminal`]: the `termios` settings and input buffer
//! ([`LineDiscipline`]), the window size, the session it is the
//! controlling terminal of (PID 1's at start) and that session's
//! foreground process group. Input arrives raw on the console
//! (`crate::console`), and [`pump`] runs it through the discipline as it
//! arrives (not when the workload reads), so ^C reaches the foreground
//! group of a program that never reads. The descriptors 0-2 and
//! `/dev/tty` that are terminals (`ConsoleStream`s) read and write
//! through here; the calls that need the caller's process group (reads
//! and writes from the background, the job-control ioctls) come through
//! the syscall layer's [`check_access`] and [`ioctl`].

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::ldisc::{self, LineDiscipline};
use lamina_abi::types::{Termios, Winsize};
use lamina_proto::control::Output;
use spin::Mutex;

use super::console::ConsoleStream;
use super::file::FileObject;
use crate::console;
use crate::process::Process;
use crate::task::signal::{self as sig, Info};
use crate::task::{with_tables, Tid};

/// The session that owns the terminal at start: PID 1's.
const INIT_PID: Tid = 1;
/// Input moved from the console into the discipline per step.
const INPUT_STEP: usize = 4096;
/// Output processed per step (`OPOST` at most doubles it).
const OUTPUT_STEP: usize = 16 * 1024;

/// The terminal's state.
struct Terminal {
    ldisc: LineDiscipline,
    winsize: Winsize,
    /// The session whose controlling terminal this is.
    session: Option<Tid>,
    /// That session's foreground process group.
    foreground: Option<Tid>,
    /// Processes of the session that gave the terminal up (`TIOCNOTTY`
    /// by a member that is not the leader).
    detached: BTreeSet<Tid>,
    /// Where echo goes: the first of stdout and stderr that is a
    /// terminal on the host (None: neither, echo is dropped).
    echo_to: Option<Output>,
    /// The host's terminal hung up (its stdin ended).
    hung_up: bool,
    /// ^S stopped the output (`IXON`): writes wait for ^Q, and echo
    /// waits in `held_echo` (at most [`ldisc::BUF_SIZE`] bytes).
    output_stopped: bool,
    held_echo: Vec<u8>,
}

static TERMINAL: Mutex<Option<Terminal>> = Mutex::new(None);
/// lamina's stdin is a terminal: input goes through the discipline and
/// the terminal's output through `OPOST`.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Sets the terminal up at boot: `any` says some standard stream is a
/// terminal on the host, `input` that stdin is (the host's terminal is
/// then raw), `winsize` the host's size (rows, columns).
pub fn init(any: bool, input: bool, echo_to: Option<Output>, winsize: Option<(u16, u16)>) {
    if !any {
        return;
    }
    // The size Linux gives a terminal nobody sized, when the host gave none.
    const DEFAULT_ROWS: u16 = 24;
    const DEFAULT_COLS: u16 = 80;
    let (rows, cols) = winsize.unwrap_or((DEFAULT_ROWS, DEFAULT_COLS));
    *TERMINAL.lock() = Some(Terminal {
        ldisc: LineDiscipline::new(),
        winsize: Winsize {
            ws_row: rows,
            ws_col: cols,
            ..Winsize::default()
        },
        session: Some(INIT_PID),
        foreground: Some(INIT_PID),
        detached: BTreeSet::new(),
        echo_to,
        hung_up: false,
        output_stopped: false,
        held_echo: Vec::new(),
    });
    ACTIVE.store(input, Ordering::Relaxed);
    if input {
        // Keystrokes are taken from the start: ^C must work before the
        // workload first reads.
        console::open_stdin();
    }
}

/// Whether the discipline handles the console's input and output.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Runs the input that has arrived through the discipline: stores it,
/// echoes it, and sends the signals its ^C, ^\ and ^Z ask for to the
/// foreground process group. The console calls this as input arrives.
pub fn pump() {
    if !active() {
        return;
    }
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    let mut restarted = false;
    let (echo_to, foreground) = {
        let mut guard = TERMINAL.lock();
        let Some(term) = guard.as_mut() else {
            return;
        };
        loop {
            let room = term.ldisc.input_room().min(INPUT_STEP);
            if room == 0 {
                break;
            }
            let (bytes, eof) = console::take_stdin(room);
            term.hung_up |= eof;
            if bytes.is_empty() {
                break;
            }
            for byte in bytes {
                match term.ldisc.input(byte, &mut echo, term.output_stopped) {
                    Some(ldisc::Event::Signal(signo)) => {
                        signals.push(signo);
                        // A signal character lets output go on, as Linux's.
                        restarted |= core::mem::take(&mut term.output_stopped);
                    }
                    Some(ldisc::Event::StopOutput) => term.output_stopped = true,
                    Some(ldisc::Event::StartOutput) => {
                        restarted |= core::mem::take(&mut term.output_stopped);
                    }
                    None => {}
                }
            }
        }
        if restarted {
            // Writers wait for room on the console; they try again now.
            if let Some(queue) = console::output_queue() {
                queue.wake_all();
            }
            // (`/dev/tty` writers wait on stdin's queue.)
            console::STDIN_QUEUE.wake_all();
        }
        if term.output_stopped {
            let room = ldisc::BUF_SIZE.saturating_sub(term.held_echo.len());
            term.held_echo
                .extend_from_slice(&echo[..echo.len().min(room)]);
            echo.clear();
        } else if !term.held_echo.is_empty() {
            let mut held = core::mem::take(&mut term.held_echo);
            held.append(&mut echo);
            echo = held;
        }
        if echo.is_empty() && signals.is_empty() {
            return;
        }
        let mut processed = Vec::with_capacity(echo.len());
        term.ldisc.output(&echo, &mut processed);
        echo = processed;
        (term.echo_to, term.foreground)
    };
    if let Some(stream) = echo_to {
        // Best effort, as a terminal whose output is stuck drops echo.
        let _ = console::write_output(stream, &echo);
    }
    if let Some(pgid) = foreground {
        for signo in signals {
            signal_group(pgid, signo, None);
        }
    }
    console::STDIN_QUEUE.wake_all();
}

/// Sends `signo` from the kernel to every process of group `pgid`;
/// `current` is the running task when it may be one of them.
fn signal_group(pgid: Tid, signo: u8, mut current: Option<&mut crate::task::Task>) {
    let info = Info {
        code: sig::SI_KERNEL,
        ..Info::default()
    };
    for pid in with_tables(|t| t.group_members(pgid)) {
        let me = current.as_deref_mut().filter(|task| task.pid() == pid);
        let _ = sig::send_to_process(pid, signo, info, me);
    }
}

/// A read of the terminal: what the discipline has, EAGAIN to wait, 0
/// at end of file or once the host's terminal hung up.
pub fn read(buf: &mut [u8]) -> Result<usize, Errno> {
    pump();
    let result = {
        let mut guard = TERMINAL.lock();
        let term = guard.as_mut().ok_or(Errno::EIO)?;
        match term.ldisc.read(buf) {
            ldisc::Read::Data(n) => Ok(n),
            ldisc::Read::Eof => Ok(0),
            ldisc::Read::Empty if term.hung_up => Ok(0),
            ldisc::Read::Empty => Err(Errno::EAGAIN),
        }
    };
    // The read made room for input that waited.
    pump();
    result
}

/// Bytes a read would take now (`FIONREAD`), and whether a read would
/// find something (`poll`), and whether the host's terminal hung up.
pub fn input_state() -> (usize, bool, bool) {
    pump();
    TERMINAL.lock().as_ref().map_or((0, false, true), |t| {
        (t.ldisc.pending(), t.ldisc.readable(), t.hung_up)
    })
}

/// A write to the terminal: output processing (`OPOST`), then the
/// console. Only as much as the console takes whole is processed, so a
/// partial write never splits a `\r\n`.
pub fn write(stream: Output, data: &[u8]) -> Result<usize, Errno> {
    let mut out = Vec::new();
    let taken = {
        let guard = TERMINAL.lock();
        let Some(term) = guard.as_ref() else {
            return console::write_output(stream, data);
        };
        if term.output_stopped {
            // ^S: the writer waits (on the console's queue) for ^Q.
            return Err(Errno::EAGAIN);
        }
        // Room for the worst case (every byte doubled) in one go.
        let room = console::output_room().unwrap_or(usize::MAX) / 2;
        if room == 0 {
            return Err(Errno::EAGAIN);
        }
        let n = data.len().min(room).min(OUTPUT_STEP);
        term.ldisc.output(&data[..n], &mut out);
        n
    };
    let written = console::write_output(stream, &out)?;
    if written < out.len() {
        // Cannot happen with the room checked; say what did go.
        crate::log!("tty: {} of {} output bytes written", written, out.len());
    }
    Ok(taken)
}

/// Whether ^S has stopped the terminal's output (a write would wait).
pub fn output_stopped() -> bool {
    TERMINAL.lock().as_ref().is_some_and(|t| t.output_stopped)
}

/// Whether `object` is one of the console's terminal streams.
pub fn is_terminal(object: &dyn FileObject) -> bool {
    object
        .as_any()
        .and_then(|any| any.downcast_ref::<ConsoleStream>())
        .is_some_and(ConsoleStream::is_tty)
}

/// What a call does to the terminal, for the background check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Changes the settings (`tcsetattr`, `TIOCSPGRP`, flushes).
    Change,
}

/// The caller's (pid, process group, session).
fn identity(p: &Process) -> (Tid, Tid, Tid) {
    let pid = p.task.pid();
    with_tables(|t| {
        t.procs
            .get(&pid)
            .map_or((pid, pid, pid), |e| (pid, e.pgid, e.sid))
    })
}

/// Whether this is the caller's controlling terminal.
fn is_controlling(term: &Terminal, pid: Tid, sid: Tid) -> bool {
    term.session == Some(sid) && !term.detached.contains(&pid)
}

/// Whether the terminal is process `pid`'s controlling terminal
/// (`/dev/tty` opens only then).
pub fn is_controlling_terminal_of(pid: Tid) -> bool {
    let Some(sid) = with_tables(|t| t.procs.get(&pid).map(|e| e.sid)) else {
        return false;
    };
    TERMINAL
        .lock()
        .as_ref()
        .is_some_and(|term| is_controlling(term, pid, sid))
}

/// Whether no process of group `pgid` has a parent in another group of
/// the same session (POSIX's orphaned process group: nobody is left to
/// continue it). A parent that is PID 1 counts, as in a container.
fn orphaned(pgid: Tid) -> bool {
    with_tables(|t| {
        !t.procs.values().any(|e| {
            e.pgid == pgid
                && e.zombie.is_none()
                && t.procs
                    .get(&e.parent)
                    .is_some_and(|parent| parent.pgid != pgid && parent.sid == e.sid)
        })
    })
}

/// Job control for a caller of the terminal: a background process group
/// that reads gets SIGTTIN, one that writes with `TOSTOP` or changes the
/// settings gets SIGTTOU (the call runs again once it is continued), as
/// Linux's `tty_check_change` and `n_tty_read` do; EIO where the signal
/// is ignored (reads) or the group is orphaned. Other objects pass.
pub fn check_access(p: &mut Process, object: &dyn FileObject, access: Access) -> Result<(), Errno> {
    if !is_terminal(object) {
        return Ok(());
    }
    let (pid, pgid, sid) = identity(p);
    let tostop = {
        let guard = TERMINAL.lock();
        let Some(term) = guard.as_ref() else {
            return Ok(());
        };
        if !is_controlling(term, pid, sid) || term.foreground.is_none_or(|fg| fg == pgid) {
            return Ok(());
        }
        term.ldisc.tostop()
    };
    let signo = match access {
        Access::Read => sig::SIGTTIN,
        Access::Write if !tostop => return Ok(()),
        Access::Write | Access::Change => sig::SIGTTOU,
    };
    let ignored = {
        let handler = p.task.sigactions.lock()[usize::from(signo) - 1].handler;
        handler == SIG_IGN || p.task.sigmask & sig::bit(signo) != 0
    };
    if ignored {
        return if access == Access::Read {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    if orphaned(pgid) {
        return Err(Errno::EIO);
    }
    signal_group(pgid, signo, Some(p.task));
    // The signal is pending: the call is interrupted (a stop restarts it).
    Err(Errno::ERESTARTSYS)
}

/// The terminal ioctls, for a descriptor that is a terminal.
pub fn ioctl(
    p: &mut Process,
    object: &dyn FileObject,
    request: u64,
    arg: u64,
) -> Result<u64, Errno> {
    let (pid, pgid, sid) = identity(p);
    let changes = matches!(request, TCSETS | TCSETSW | TCSETSF | TIOCSPGRP | TCFLSH);
    if changes {
        check_access(p, object, Access::Change)?;
    }
    match request {
        TCGETS => {
            let termios = with_terminal(|t| Ok(t.ldisc.termios))?;
            p.mm.copy_out(arg, &termios.to_bytes())?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF => {
            let termios = Termios::from_bytes(&p.mm.read_array::<{ Termios::SIZE }>(arg)?);
            // Output is with the host once written: nothing to drain.
            with_terminal(|t| {
                t.ldisc.set_termios(termios, request == TCSETSF);
                Ok(())
            })?;
            pump();
            Ok(0)
        }
        TCFLSH => {
            match arg {
                TCIFLUSH | TCIOFLUSH => with_terminal(|t| {
                    t.ldisc.flush_input();
                    Ok(())
                })?,
                // Written output is with the host already.
                TCOFLUSH => {}
                _ => return Err(Errno::EINVAL),
            }
            pump();
            Ok(0)
        }
        // tcdrain and tcsendbreak: output is with the host once written,
        // and a break means nothing to a forwarded terminal.
        TCSBRK | TCSBRKP => Ok(0),
        TIOCOUTQ => {
            p.mm.copy_out(arg, &0u32.to_le_bytes())?;
            Ok(0)
        }
        FIONREAD => {
            let (pending, _, _) = input_state();
            p.mm.copy_out(arg, &(pending as u32).to_le_bytes())?;
            Ok(0)
        }
        TIOCGWINSZ => {
            let winsize = with_terminal(|t| Ok(t.winsize))?;
            p.mm.copy_out(arg, &winsize.to_bytes())?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let winsize = Winsize::from_bytes(&p.mm.read_array::<{ Winsize::SIZE }>(arg)?);
            resize(winsize, Some(p.task));
            Ok(0)
        }
        TIOCGPGRP => {
            let foreground = with_terminal(|t| {
                if !is_controlling(t, pid, sid) {
                    return Err(Errno::ENOTTY);
                }
                Ok(t.foreground.unwrap_or(0))
            })?;
            p.mm.copy_out(arg, &foreground.to_le_bytes())?;
            Ok(0)
        }
        TIOCGSID => {
            let session = with_terminal(|t| {
                if !is_controlling(t, pid, sid) {
                    return Err(Errno::ENOTTY);
                }
                t.session.ok_or(Errno::ENOTTY)
            })?;
            p.mm.copy_out(arg, &session.to_le_bytes())?;
            Ok(0)
        }
        TIOCSPGRP => {
            let wanted = i32::from_le_bytes(p.mm.read_array(arg)?);
            if !with_terminal(|t| Ok(is_controlling(t, pid, sid)))? {
                return Err(Errno::ENOTTY);
            }
            let wanted = Tid::try_from(wanted).map_err(|_| Errno::EINVAL)?;
            let group_session = with_tables(|t| {
                t.procs
                    .values()
                    .find(|e| e.pgid == wanted && e.zombie.is_none())
                    .map(|e| e.sid)
            });
            match group_session {
                None => Err(Errno::ESRCH),
                Some(other) if other != sid => Err(Errno::EPERM),
                Some(_) => with_terminal(|t| {
                    t.foreground = Some(wanted);
                    Ok(0)
                }),
            }
        }
        TIOCSCTTY => {
            with_terminal(|t| {
                if is_controlling(t, pid, sid) {
                    // Already the caller's: fine for the leader.
                    return if pid == sid { Ok(0) } else { Err(Errno::EPERM) };
                }
                if pid != sid {
                    return Err(Errno::EPERM);
                }
                // Another session's: only taken by force (arg 1), which
                // needs CAP_SYS_ADMIN (every lamina workload runs as root).
                if t.session.is_some() && arg != 1 {
                    return Err(Errno::EPERM);
                }
                t.session = Some(sid);
                t.foreground = Some(pgid);
                t.detached.clear();
                Ok(0)
            })
        }
        TIOCNOTTY => {
            let hangup = with_terminal(|t| {
                if !is_controlling(t, pid, sid) {
                    return Err(Errno::ENOTTY);
                }
                if pid != sid {
                    t.detached.insert(pid);
                    return Ok(None);
                }
                t.session = None;
                t.detached.clear();
                Ok(t.foreground.take())
            })?;
            // The leader gave it up: its foreground group is hung up.
            if let Some(fg) = hangup {
                signal_group(fg, SIGHUP, Some(&mut *p.task));
                signal_group(fg, sig::SIGCONT, Some(&mut *p.task));
            }
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

const SIGHUP: u8 = 1;

fn with_terminal<R>(f: impl FnOnce(&mut Terminal) -> Result<R, Errno>) -> Result<R, Errno> {
    let mut guard = TERMINAL.lock();
    f(guard.as_mut().ok_or(Errno::ENOTTY)?)
}

/// A new window size (the host's terminal was resized, or `TIOCSWINSZ`):
/// the foreground group gets SIGWINCH when it changed, as on Linux.
pub fn resize(winsize: Winsize, current: Option<&mut crate::task::Task>) {
    let foreground = {
        let mut guard = TERMINAL.lock();
        let Some(term) = guard.as_mut() else {
            return;
        };
        if term.winsize == winsize {
            return;
        }
        term.winsize = winsize;
        term.foreground
    };
    if let Some(pgid) = foreground {
        signal_group(pgid, sig::SIGWINCH, current);
    }
}

/// The session leader `pid` ended: its terminal's foreground group is
/// hung up (SIGHUP) and the terminal free for another session, as Linux
/// does for a pty.
pub fn process_exited(pid: Tid) {
    let foreground = {
        let mut guard = TERMINAL.lock();
        let Some(term) = guard.as_mut() else {
            return;
        };
        term.detached.remove(&pid);
        if term.session != Some(pid) {
            return;
        }
        term.session = None;
        term.foreground.take()
    };
    if let Some(pgid) = foreground {
        signal_group(pgid, SIGHUP, None);
    }
}
