//! `lamina run --trace`: a record of every system call each task makes
//! and of the operations it caused on the host (9P requests, socket
//! messages), and the calls lamina answered ENOSYS or ENOTTY because it
//! lacks them.
//!
//! Off unless the command line says `trace=1`; then [`syscall`] wraps the
//! dispatcher. A call is recorded when it completes, with the time of its
//! first run (a call that waits runs again on waking: see
//! `crate::task::wait`), its arguments formatted by
//! `lamina_abi::trace` from the registers and the task's memory, and its
//! result. Records travel as `lamina_proto::trace` messages to the host,
//! which prints them (text or JSON). The records of a workload's run are
//! never lost: when the channel is full the tracing task waits in place
//! for the host to take them, as a task under strace waits for strace.
//!
//! The report of what is missing is kept whether or not tracing is on
//! (it costs nothing until a call is missing) and sent at exit with
//! `--trace` or `--verbose`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use lamina_abi::nr;
use lamina_abi::trace::UserMemory;
use lamina_proto::trace::{Missing, MissingKind, TraceKind, TraceRecord};
use spin::Mutex;

use crate::mm::vm::AddressSpace;
use crate::syscall::Flow;
use crate::task::{Task, Tid};
use crate::time;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The task whose system call runs now (forwarded operations are its).
static CURRENT_TID: AtomicU32 = AtomicU32::new(0);
static CURRENT_PID: AtomicU32 = AtomicU32::new(0);

/// When each waiting call first ran (monotonic ns), by task.
static STARTED: Mutex<BTreeMap<Tid, u64>> = Mutex::new(BTreeMap::new());

/// Distinct missing calls remembered at most (a workload cycling through
/// random numbers cannot grow the table).
const MAX_MISSING: usize = 256;
/// The longest text a forwarded operation's record carries.
const MAX_OP_TEXT: usize = 160;

/// Counts of what lamina answered ENOSYS (calls) or ENOTTY (ioctl
/// requests) for want of it, by name, in the order first seen.
static MISSING: Mutex<Vec<(MissingKind, &'static str, u64, u32)>> = Mutex::new(Vec::new());

pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether `--trace` is on (one load: the dispatcher asks on every call).
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The calls whose arguments must be read before they run: after an
/// `execve` the memory is the new program's, and `exit` does not return.
fn formats_before(n: u64) -> bool {
    matches!(
        n,
        nr::EXECVE | nr::EXECVEAT | nr::EXIT | nr::EXIT_GROUP | nr::RT_SIGRETURN
    )
}

/// What strace shows for a call that a signal interrupted to restart it.
const ERESTARTSYS: i64 = -512;
/// `syscall` is two bytes; a restart moves the user's rip back over it.
const SYSCALL_INSN_LEN: u64 = 2;

/// Runs the system call in `task`'s registers through `run` and records
/// it.
pub fn syscall(task: &mut Task, run: impl FnOnce(&mut Task) -> Flow) -> Flow {
    let n = task.ctx.rax;
    let c = &task.ctx;
    let args = [c.rdi, c.rsi, c.rdx, c.r10, c.r8, c.r9];
    let rip = c.rip;
    let tid = task.tid;
    let pid = task.pid();
    let start_ns = STARTED
        .lock()
        .remove(&tid)
        .unwrap_or_else(time::monotonic_ns);
    CURRENT_TID.store(tid, Ordering::Relaxed);
    CURRENT_PID.store(pid, Ordering::Relaxed);
    let mut text = String::new();
    if formats_before(n) {
        format_call(task, n, &args, 0, &mut text);
        if matches!(n, nr::EXIT | nr::EXIT_GROUP) {
            // It never returns: strace's `= ?`.
            emit_syscall(pid, tid, n, start_ns, 0, &text, "", None);
        }
    }
    let flow = run(task);
    match flow {
        Flow::Block => {
            STARTED.lock().insert(tid, start_ns);
        }
        Flow::Exit => {}
        Flow::Continue | Flow::Yield => {
            let restarted = task.ctx.rip == rip.wrapping_sub(SYSCALL_INSN_LEN) && task.ctx.rax == n;
            let result = if restarted {
                ERESTARTSYS
            } else {
                task.ctx.rax as i64
            };
            if !formats_before(n) {
                format_call(task, n, &args, result, &mut text);
            }
            let mut decoration = String::new();
            lamina_abi::trace::format_result(n, &args, result, &mut decoration);
            let duration = time::monotonic_ns().saturating_sub(start_ns);
            emit_syscall(
                pid,
                tid,
                n,
                start_ns,
                duration,
                &text,
                &decoration,
                Some(result),
            );
        }
    }
    CURRENT_TID.store(0, Ordering::Relaxed);
    flow
}

/// A task's memory as the formatter reads it: page by page, so a string
/// that runs into an unmapped page still shows its readable part.
struct TaskMemory<'a>(&'a Mutex<AddressSpace>);

impl UserMemory for TaskMemory<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> usize {
        const PAGE: u64 = 4096;
        let mut space = self.0.lock();
        let mut done = 0;
        while done < buf.len() {
            let at = addr.wrapping_add(done as u64);
            let in_page = (PAGE - at % PAGE) as usize;
            let n = in_page.min(buf.len() - done);
            if space.copy_in(at, &mut buf[done..done + n]).is_err() {
                break;
            }
            done += n;
        }
        done
    }
}

fn format_call(task: &Task, n: u64, args: &[u64; 6], result: i64, out: &mut String) {
    let memory = TaskMemory(&task.mem.space);
    lamina_abi::trace::format_syscall(n, args, result, &memory, out);
}

#[allow(clippy::too_many_arguments)]
fn emit_syscall(
    pid: Tid,
    tid: Tid,
    n: u64,
    start_ns: u64,
    duration_ns: u64,
    args: &str,
    decoration: &str,
    result: Option<i64>,
) {
    let mut unknown = String::new();
    let name = match nr::name(n) {
        Some(name) => name,
        None => {
            let _ = write!(unknown, "syscall_{n}");
            &unknown
        }
    };
    send(&TraceRecord {
        kind: TraceKind::Syscall,
        pid,
        tid,
        start_ns,
        duration_ns,
        result: result.unwrap_or(0),
        name,
        args,
        decoration,
    });
}

/// Records an operation on the host that the running call caused (or,
/// outside a call, that the host sent): `name` is the message (`Twalk`,
/// `connect`), `args` its fields.
pub fn forwarded(kind: TraceKind, name: &str, args: &str, start_ns: u64, result: i64) {
    if !enabled() {
        return;
    }
    let args = match args.char_indices().nth(MAX_OP_TEXT) {
        Some((cut, _)) => &args[..cut],
        None => args,
    };
    send(&TraceRecord {
        kind,
        pid: CURRENT_PID.load(Ordering::Relaxed),
        tid: CURRENT_TID.load(Ordering::Relaxed),
        start_ns,
        duration_ns: time::monotonic_ns().saturating_sub(start_ns),
        result,
        name,
        args,
        decoration: "",
    });
}

/// Records a message to or from the host whose `Debug` form says what it
/// is (`Connect { tag: 3, .. }`: the name, then the fields), cut at
/// [`MAX_OP_TEXT`] without formatting the rest.
pub fn forwarded_message(kind: TraceKind, direction: &str, message: &dyn core::fmt::Debug) {
    if !enabled() {
        return;
    }
    struct Bounded(String);
    impl Write for Bounded {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let room = MAX_OP_TEXT.saturating_sub(self.0.len());
            if s.len() > room {
                let mut cut = room;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.0.push_str(&s[..cut]);
                return Err(core::fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let mut text = Bounded(String::new());
    let _ = write!(text, "{message:?}");
    let text = text.0;
    let (name, fields) = match text.find([' ', '(']) {
        Some(at) => (
            &text[..at],
            text[at..].trim_matches([' ', '{', '}', '(', ')']),
        ),
        None => (text.as_str(), ""),
    };
    let mut named = String::from(direction);
    named.push_str(name);
    forwarded(kind, &named, fields, time::monotonic_ns(), 0);
}

fn send(record: &TraceRecord<'_>) {
    crate::console::send_trace(record);
}

/// Notes that lamina answered a call (`kind` Syscall: number `code`) or an
/// ioctl request (`code`) with ENOSYS/ENOTTY because it lacks it.
pub fn missing(kind: MissingKind, name: &'static str, code: u64) {
    let mut missing = MISSING.lock();
    if let Some(entry) = missing
        .iter_mut()
        .find(|(k, _, c, _)| *k == kind && *c == code)
    {
        entry.3 = entry.3.saturating_add(1);
    } else if missing.len() < MAX_MISSING {
        missing.push((kind, name, code, 1));
    }
}

/// Sends the missing-call report (at exit, with `--trace` or `--verbose`).
pub fn report_missing() {
    if !enabled() && !crate::console::verbose() {
        return;
    }
    let missing = core::mem::take(&mut *MISSING.lock());
    for (kind, name, code, count) in missing {
        let mut text = String::new();
        let _ = match (kind, name.is_empty()) {
            (MissingKind::Syscall, false) => write!(text, "{name}"),
            (MissingKind::Syscall, true) => write!(text, "syscall {code}"),
            (MissingKind::Ioctl, false) => write!(text, "ioctl {name}"),
            (MissingKind::Ioctl, true) => write!(text, "ioctl {code:#x}"),
        };
        crate::console::send_missing(&Missing {
            kind,
            name: &text,
            count,
        });
    }
}
