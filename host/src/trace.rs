//! `lamina run --trace`: the guest's trace records, written as strace -f -T
//! writes them (or as JSON lines), and the summary of calls lamina lacks.
//!
//! The ctl channel ([`crate::control`]) and the serial console
//! ([`crate::console`]) hand every record to one [`TraceWriter`]. A
//! forwarded operation (a 9P request, a socket message) is shown indented
//! under the system call that caused it: the guest reports a call when it
//! ends, so operations that arrive before their call wait for it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::rc::Rc;

use clap::ValueEnum;
use lamina_abi::errno::{errno_name, errno_text};
use lamina_proto::trace::{Missing, TraceKind, TraceRecord};

/// How trace lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum TraceFormat {
    /// strace -f -T style: `[TID] name(args) = result <seconds>`
    #[default]
    Text,
    /// One JSON object per line
    Json,
}

/// The one writer both transports share (the supervisor is one thread).
pub type SharedTrace = Rc<RefCell<TraceWriter>>;

/// Forwarded operations held back, per thread, while they wait for their
/// call; past this they are written at once.
const HELD_PER_THREAD: usize = 256;
/// The largest magnitude of a raw result that is `-errno` (Linux's
/// `MAX_ERRNO`).
const MAX_ERRNO: i64 = 4095;
/// Kernel-internal restart codes (`ERESTARTSYS`, `ERESTARTNOINTR`,
/// `ERESTARTNOHAND`, `ERESTART_RESTARTBLOCK`): strace shows the result as
/// `?`, the call having been interrupted rather than failed.
const RESTART_ERRNOS: [i32; 4] = [512, 513, 514, 516];

/// A forwarded operation waiting for the call it belongs to.
struct Held {
    start_ns: u64,
    line: String,
}

/// What the last call of one thread covered, to place forwarded operations.
#[derive(Default)]
struct ThreadState {
    /// The last call reported: start and end in guest nanoseconds.
    last_call: Option<(u64, u64)>,
    held: Vec<Held>,
}

/// Where trace lines go, and what is left to say at the end.
pub struct TraceWriter {
    /// `None` without `--trace`: records are dropped (only missing calls
    /// are kept, for `--verbose`).
    sink: Option<Box<dyn Write>>,
    /// Whether the sink is lamina's own stderr (`--trace` without FILE).
    sink_is_stderr: bool,
    format: TraceFormat,
    threads: HashMap<u32, ThreadState>,
    /// Missing calls by name, in the order first seen.
    missing: Vec<(String, u64)>,
    /// The first write error; the trace then stops, the run goes on.
    write_failed: bool,
}

impl std::fmt::Debug for TraceWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceWriter")
            .field("tracing", &self.sink.is_some())
            .field("format", &self.format)
            .field("missing", &self.missing)
            .finish()
    }
}

impl TraceWriter {
    /// A writer to `sink` (`None`: only missing calls are collected).
    pub fn new(sink: Option<Box<dyn Write>>, sink_is_stderr: bool, format: TraceFormat) -> Self {
        Self {
            sink,
            sink_is_stderr,
            format,
            threads: HashMap::new(),
            missing: Vec::new(),
            write_failed: false,
        }
    }

    pub fn shared(self) -> SharedTrace {
        Rc::new(RefCell::new(self))
    }

    /// One record from the guest.
    pub fn record(&mut self, record: &TraceRecord<'_>) {
        if self.sink.is_none() {
            return;
        }
        let line = self.line(record);
        match record.kind {
            TraceKind::Syscall => {
                let end = record.start_ns.saturating_add(record.duration_ns);
                let state = self.threads.entry(record.tid).or_default();
                state.last_call = Some((record.start_ns, end));
                let held = std::mem::take(&mut state.held);
                let (before, under): (Vec<Held>, Vec<Held>) =
                    held.into_iter().partition(|h| h.start_ns < record.start_ns);
                for h in before {
                    self.write_line(&h.line);
                }
                self.write_line(&line);
                for h in under {
                    self.write_line(&h.line);
                }
            }
            TraceKind::P9 | TraceKind::Net => {
                let state = self.threads.entry(record.tid).or_default();
                // Sent after its call (which covers it), or by a thread
                // with no call yet: write it now. Otherwise it belongs to
                // a call still running.
                let wait = match state.last_call {
                    Some((_, end)) => record.start_ns > end,
                    None => false,
                };
                if wait && state.held.len() < HELD_PER_THREAD {
                    state.held.push(Held {
                        start_ns: record.start_ns,
                        line,
                    });
                } else {
                    self.write_line(&line);
                }
            }
        }
    }

    /// A call lamina lacks; counts add up per name.
    pub fn missing(&mut self, missing: &Missing<'_>) {
        let count = u64::from(missing.count);
        match self
            .missing
            .iter_mut()
            .find(|(name, _)| name == missing.name)
        {
            Some((_, total)) => *total = total.saturating_add(count),
            None => self.missing.push((missing.name.to_string(), count)),
        }
    }

    /// The end of the run: writes what is still held, then one line per
    /// missing call to `stderr` when `report_missing` (`--trace` or
    /// `--verbose`), and into the trace when it is a file.
    pub fn finish(&mut self, report_missing: bool, stderr: &mut dyn Write) {
        let mut held: Vec<Held> = self
            .threads
            .values_mut()
            .flat_map(|state| std::mem::take(&mut state.held))
            .collect();
        held.sort_by_key(|h| h.start_ns);
        for h in held {
            self.write_line(&h.line);
        }
        if report_missing {
            for (name, count) in &self.missing {
                let _ = writeln!(stderr, "lamina: not implemented: {name} x{count}");
            }
            if self.sink.is_some() && !self.sink_is_stderr {
                let lines: Vec<String> = self
                    .missing
                    .iter()
                    .map(|(name, count)| self.missing_line(name, *count))
                    .collect();
                for line in lines {
                    self.write_line(&line);
                }
            }
        }
        if let Some(sink) = &mut self.sink {
            let _ = sink.flush();
        }
    }

    fn write_line(&mut self, line: &str) {
        if self.write_failed {
            return;
        }
        if let Some(sink) = &mut self.sink {
            if writeln!(sink, "{line}").is_err() {
                self.write_failed = true;
                tracing::info!("the trace could not be written; stopping it");
            }
        }
    }

    fn line(&self, record: &TraceRecord<'_>) -> String {
        match self.format {
            TraceFormat::Text => text_line(record),
            TraceFormat::Json => json_line(record),
        }
    }

    fn missing_line(&self, name: &str, count: u64) -> String {
        match self.format {
            TraceFormat::Text => format!("lamina: not implemented: {name} x{count}"),
            TraceFormat::Json => serde_json::json!({
                "kind": "missing",
                "name": name,
                "count": count,
            })
            .to_string(),
        }
    }
}

/// The errno of a raw result, if it is one.
fn errno_of(result: i64) -> Option<i32> {
    (-MAX_ERRNO..0).contains(&result).then(|| (-result) as i32)
}

/// `[TID] name(args) = RESULT <0.000123>`, forwarded operations indented
/// and named by their transport.
pub fn text_line(record: &TraceRecord<'_>) -> String {
    let mut line = format!("[{}] ", record.tid);
    match record.kind {
        TraceKind::Syscall => {}
        TraceKind::P9 => line.push_str("  9p "),
        TraceKind::Net => line.push_str("  net "),
    }
    let _ = write!(line, "{}({}) = ", record.name, record.args);
    match errno_of(record.result) {
        Some(errno) => {
            let name = errno_name(errno);
            let shown_result = if RESTART_ERRNOS.contains(&errno) {
                "?"
            } else {
                "-1"
            };
            match (name, errno_text(errno)) {
                (Some(name), Some(text)) => {
                    let _ = write!(line, "{shown_result} {name} ({text})");
                }
                _ => {
                    let _ = write!(line, "{shown_result} (errno {errno})");
                }
            }
        }
        None if record.kind == TraceKind::Syscall && never_returns(record.name) => line.push('?'),
        None if record.kind == TraceKind::Syscall && returns_address(record.name) => {
            let _ = write!(line, "{:#x}", record.result);
        }
        None => {
            let _ = write!(line, "{}", record.result);
        }
    }
    if !record.decoration.is_empty() {
        line.push(' ');
        line.push_str(record.decoration);
    }
    let _ = write!(
        line,
        " <{}.{:06}>",
        record.duration_ns / 1_000_000_000,
        record.duration_ns % 1_000_000_000 / 1_000
    );
    line
}

/// `{"ts_ns":..,"pid":..,"tid":..,"kind":..,"name":..,"args":..,"result":..,
/// "errno":..,"duration_ns":..,"decoration":..}`.
pub fn json_line(record: &TraceRecord<'_>) -> String {
    let kind = match record.kind {
        TraceKind::Syscall => "syscall",
        TraceKind::P9 => "9p",
        TraceKind::Net => "net",
    };
    serde_json::json!({
        "ts_ns": record.start_ns,
        "pid": record.pid,
        "tid": record.tid,
        "kind": kind,
        "name": record.name,
        "args": record.args,
        "result": record.result,
        "errno": errno_of(record.result).and_then(errno_name),
        "duration_ns": record.duration_ns,
        "decoration": record.decoration,
    })
    .to_string()
}

/// `exit` and `exit_group` never return: strace shows `= ?`.
fn never_returns(name: &str) -> bool {
    matches!(name, "exit" | "exit_group")
}

/// Whether strace shows the call's result as an address (`mmap`, `brk`).
fn returns_address(name: &str) -> bool {
    lamina_abi::nr::ALL
        .iter()
        .find(|&&(_, n)| n == name)
        .is_some_and(|&(nr, _)| lamina_abi::trace::returns_address(nr))
}

/// Opens the `--trace` destination: lamina's stderr, or FILE created or
/// truncated. The error is the one line the user sees.
pub fn open_sink(file: Option<&std::path::Path>) -> Result<(Box<dyn Write>, bool), String> {
    match file {
        None => Ok((Box::new(io::LineWriter::new(io::stderr())), true)),
        Some(path) => std::fs::File::create(path)
            .map(|f| (Box::new(io::BufWriter::new(f)) as Box<dyn Write>, false))
            .map_err(|err| {
                format!(
                    "--trace={}: {}",
                    path.display(),
                    crate::error::os_reason(&err)
                )
            }),
    }
}

/// A text trace into a buffer, for the transports' tests: the writer and
/// what it wrote so far.
#[cfg(test)]
pub(crate) fn test_writer() -> (SharedTrace, impl Fn() -> String) {
    #[derive(Clone, Default)]
    struct Sink(Rc<RefCell<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = TraceWriter::new(Some(Box::new(sink.clone())), false, TraceFormat::Text).shared();
    let shared = writer.clone();
    let written = move || {
        shared.borrow_mut().finish(true, &mut io::sink());
        String::from_utf8(sink.0.borrow().clone()).unwrap()
    };
    (writer, written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_proto::trace::MissingKind;

    fn syscall(name: &'static str, args: &'static str, result: i64) -> TraceRecord<'static> {
        TraceRecord {
            kind: TraceKind::Syscall,
            pid: 1,
            tid: 1,
            start_ns: 1_000,
            duration_ns: 123_456,
            result,
            name,
            args,
            decoration: "",
        }
    }

    #[test]
    fn text_lines_look_like_strace() {
        assert_eq!(
            text_line(&syscall(
                "openat",
                "AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC",
                3
            )),
            "[1] openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3 <0.000123>"
        );
        assert_eq!(
            text_line(&syscall("openat", "AT_FDCWD, \"/x\", O_RDONLY", -2)),
            "[1] openat(AT_FDCWD, \"/x\", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000123>"
        );
        let fcntl = TraceRecord {
            decoration: "(flags O_RDWR)",
            duration_ns: 2_500_000_000,
            ..syscall("fcntl", "3, F_GETFL", 2)
        };
        assert_eq!(
            text_line(&fcntl),
            "[1] fcntl(3, F_GETFL) = 2 (flags O_RDWR) <2.500000>"
        );
        assert_eq!(
            text_line(&syscall("mmap", "NULL, 8192", 0x7f00_0000_1000)),
            "[1] mmap(NULL, 8192) = 0x7f0000001000 <0.000123>"
        );
        assert_eq!(
            text_line(&syscall("mmap", "NULL, 8192", -12)),
            "[1] mmap(NULL, 8192) = -1 ENOMEM (Cannot allocate memory) <0.000123>"
        );
        assert_eq!(
            text_line(&syscall("exit_group", "0", 0)),
            "[1] exit_group(0) = ? <0.000123>"
        );
        assert_eq!(
            text_line(&syscall("read", "0, 0x1000, 10", -512)),
            "[1] read(0, 0x1000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <0.000123>"
        );
        assert_eq!(
            text_line(&syscall("ioctl", "1, 0x5499", -4000)),
            "[1] ioctl(1, 0x5499) = -1 (errno 4000) <0.000123>"
        );
        let walk = TraceRecord {
            kind: TraceKind::P9,
            tid: 7,
            ..syscall("Twalk", "fid=1, newfid=2, \"etc\"", 0)
        };
        assert_eq!(
            text_line(&walk),
            "[7]   9p Twalk(fid=1, newfid=2, \"etc\") = 0 <0.000123>"
        );
        let connect = TraceRecord {
            kind: TraceKind::Net,
            ..syscall("connect", "id=3, 127.0.0.1:80", -111)
        };
        assert_eq!(
            text_line(&connect),
            "[1]   net connect(id=3, 127.0.0.1:80) = -1 ECONNREFUSED (Connection refused) <0.000123>"
        );
    }

    #[test]
    fn json_lines_parse_with_every_field() {
        let line = json_line(&syscall("openat", "AT_FDCWD, \"/x\"", -2));
        assert_eq!(
            line,
            r#"{"args":"AT_FDCWD, \"/x\"","decoration":"","duration_ns":123456,"errno":"ENOENT","kind":"syscall","name":"openat","pid":1,"result":-2,"tid":1,"ts_ns":1000}"#
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["errno"], "ENOENT");
        let ok = json_line(&TraceRecord {
            kind: TraceKind::P9,
            ..syscall("Tread", "fid=3", 10)
        });
        let value: serde_json::Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(value["errno"], serde_json::Value::Null);
        assert_eq!(value["kind"], "9p");
        assert_eq!(value["result"], 10);
    }

    /// A writer into a buffer the test can read.
    #[derive(Clone, Default)]
    struct Buffer(Rc<RefCell<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).unwrap()
        }
    }

    #[test]
    fn forwarded_operations_go_under_their_call() {
        let buffer = Buffer::default();
        let mut writer = TraceWriter::new(Some(Box::new(buffer.clone())), false, TraceFormat::Text);
        let call = |start_ns, name| TraceRecord {
            start_ns,
            duration_ns: 1_000,
            ..syscall(name, "", 0)
        };
        let walk = |start_ns| TraceRecord {
            kind: TraceKind::P9,
            start_ns,
            duration_ns: 10,
            ..syscall("Twalk", "", 0)
        };
        // A thread's first forwarded operation has no call to wait for.
        writer.record(&walk(5));
        writer.record(&call(10, "getpid"));
        // Sent while openat runs, before openat's own record.
        writer.record(&walk(2_000));
        writer.record(&call(1_900, "openat"));
        // Sent after its call (the call covers it): written at once.
        writer.record(&walk(2_500));
        let mut stderr = Vec::new();
        writer.finish(true, &mut stderr);
        let lines: Vec<String> = buffer
            .text()
            .lines()
            .map(|l| l.split(" = ").next().unwrap().to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "[1]   9p Twalk()",
                "[1] getpid()",
                "[1] openat()",
                "[1]   9p Twalk()",
                "[1]   9p Twalk()"
            ]
        );
        assert!(stderr.is_empty());
    }

    #[test]
    fn missing_calls_are_summed_once_per_name() {
        let buffer = Buffer::default();
        let mut writer = TraceWriter::new(Some(Box::new(buffer.clone())), false, TraceFormat::Text);
        for (kind, name, count) in [
            (MissingKind::Syscall, "eventfd2", 1),
            (MissingKind::Ioctl, "ioctl TIOCSTI", 1),
            (MissingKind::Syscall, "eventfd2", 2),
        ] {
            writer.missing(&Missing { kind, name, count });
        }
        let mut stderr = Vec::new();
        writer.finish(true, &mut stderr);
        let expected =
            "lamina: not implemented: eventfd2 x3\nlamina: not implemented: ioctl TIOCSTI x1\n";
        assert_eq!(String::from_utf8(stderr).unwrap(), expected);
        // The trace file ends with the same lines.
        assert_eq!(buffer.text(), expected);

        // JSON traces end with JSON lines.
        let buffer = Buffer::default();
        let mut writer = TraceWriter::new(Some(Box::new(buffer.clone())), false, TraceFormat::Json);
        writer.missing(&Missing {
            kind: MissingKind::Syscall,
            name: "pause",
            count: 4,
        });
        writer.finish(true, &mut Vec::new());
        assert_eq!(
            buffer.text(),
            "{\"count\":4,\"kind\":\"missing\",\"name\":\"pause\"}\n"
        );
    }

    #[test]
    fn missing_calls_are_silent_unless_asked_and_said_once_on_stderr() {
        let mut writer = TraceWriter::new(None, false, TraceFormat::Text);
        let missing = Missing {
            kind: MissingKind::Syscall,
            name: "eventfd2",
            count: 1,
        };
        writer.missing(&missing);
        writer.record(&syscall("getpid", "", 1));
        let mut stderr = Vec::new();
        writer.finish(false, &mut stderr);
        assert!(stderr.is_empty());
        // `--trace` to stderr: the summary is not written twice there.
        let buffer = Buffer::default();
        let mut writer = TraceWriter::new(Some(Box::new(buffer.clone())), true, TraceFormat::Text);
        writer.missing(&missing);
        let mut stderr = Vec::new();
        writer.finish(true, &mut stderr);
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            "lamina: not implemented: eventfd2 x1\n"
        );
        assert_eq!(buffer.text(), "");
    }

    #[test]
    fn an_unwritable_trace_file_is_one_line() {
        let err = match open_sink(Some(std::path::Path::new("/nonexistent-dir/trace.txt"))) {
            Err(err) => err,
            Ok(_) => panic!("opened"),
        };
        assert_eq!(
            err,
            "--trace=/nonexistent-dir/trace.txt: No such file or directory"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.txt");
        std::fs::write(&path, "old contents").unwrap();
        let (mut sink, to_stderr) = open_sink(Some(&path)).unwrap();
        assert!(!to_stderr);
        writeln!(sink, "new").unwrap();
        drop(sink);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }
}
