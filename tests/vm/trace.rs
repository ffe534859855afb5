//! `lamina run --trace`: the system calls of the workload as strace shows
//! them, JSON lines, and the calls lamina lacks named at exit.

use super::*;

/// What `tracee` prints, natively and in lamina.
const TRACEE_STDOUT: &str = "hi\nopen=-1 errno=No such file or directory write=3 pipe=0 quotactl=-1 errno=Function not implemented\n";
/// The summary of the call lamina lacks that `tracee` makes.
const TRACEE_MISSING: &str = "lamina: not implemented: quotactl x1";

/// `tracee`'s own calls, between its two getppid markers, as strace 6.1
/// shows them (the C libraries differ in which calls they make).
fn tracee_calls(build: CBuild) -> &'static [&'static str] {
    match build {
        CBuild::MuslStatic | CBuild::MuslStaticPie => &[
            "getppid() = 0",
            r#"open("/nonexistent/tracee", O_RDONLY|O_LARGEFILE) = -1 ENOENT (No such file or directory)"#,
            r#"write(1, "hi\n", 3) = 3"#,
            "pipe([3, 4]) = 0",
            r#"quotactl(0, "/", 0, NULL) = -1 ENOSYS (Function not implemented)"#,
            "getppid() = 0",
        ],
        CBuild::GlibcStatic | CBuild::GlibcStaticPie => &[
            "getppid() = 0",
            r#"openat(AT_FDCWD, "/nonexistent/tracee", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
            r#"write(1, "hi\n", 3) = 3"#,
            "pipe2([3, 4], 0) = 0",
            r#"quotactl(0, "/", 0, NULL) = -1 ENOSYS (Function not implemented)"#,
            "getppid() = 0",
        ],
    }
}

/// The calls of a text trace from the first getppid to the second, without
/// the thread id and the duration.
fn marked_calls(trace: &str) -> Vec<String> {
    let calls: Vec<String> = trace
        .lines()
        .filter_map(|line| {
            let (_, call) = line.split_once("] ")?;
            let (call, _) = call.rsplit_once(" <")?;
            Some(call.to_string())
        })
        .collect();
    let Some(first) = calls.iter().position(|c| c.starts_with("getppid(")) else {
        return Vec::new();
    };
    let Some(len) = calls[first + 1..]
        .iter()
        .position(|c| c.starts_with("getppid("))
    else {
        return Vec::new();
    };
    calls[first..first + len + 2].to_vec()
}

/// A trace file that cannot be created is one line and 125, before the VM
/// starts.
#[test]
fn a_trace_file_that_cannot_be_created_is_125() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let missing_dir = scratch_dir("trace").join("no-such-dir");
    let flag = format!("--trace={}", missing_dir.join("trace.txt").display());
    let run = LaminaRun {
        flags: &[&flag],
        ..LaminaRun::new(default_target(), &hello, &[])
    }
    .run();
    expect_one_line_error(&run, EXIT_CANNOT_START_VM, &flag).unwrap_or_else(|e| panic!("{e}"));
    assert!(!missing_dir.exists());
}

/// `--trace=FILE`: tracee's calls in order with their decoded arguments and
/// results, as strace shows them; its output unchanged; the call lamina
/// lacks named once on stderr and as the trace's last line.
#[test]
fn trace_file_shows_each_call_decoded() {
    let w = workloads();
    for build in [CBuild::MuslStatic, CBuild::GlibcStatic] {
        let binary = w.c("tracee", build);
        let file = scratch_dir("trace").join(format!("tracee-{}.txt", build.dir_name()));
        let flag = format!("--trace={}", file.display());
        let run = LaminaRun {
            flags: &[&flag],
            ..LaminaRun::new(default_target(), &binary, &[])
        }
        .run();
        let trace = fs::read_to_string(&file).unwrap_or_default();
        let _ = fs::remove_file(&file);
        let ok = run.status == 0
            && run.stdout == TRACEE_STDOUT
            && run.stderr == format!("{TRACEE_MISSING}\n")
            && marked_calls(&trace) == tracee_calls(build)
            && trace.lines().last() == Some(TRACEE_MISSING)
            && trace
                .lines()
                .any(|l| l.starts_with("[1] exit_group(0) = ? <"));
        assert!(
            ok,
            "{}\n--- trace ---\n{trace}",
            describe(&format!("lamina {}", build.dir_name()), &run)
        );
    }
}

/// `--trace` alone: the trace on lamina's stderr, the summary said once.
#[test]
fn trace_goes_to_stderr_without_a_file() {
    let w = workloads();
    let binary = w.c("tracee", CBuild::MuslStatic);
    let run = LaminaRun {
        flags: &["--trace"],
        ..LaminaRun::new(default_target(), &binary, &[])
    }
    .run();
    let ok = run.status == 0
        && run.stdout == TRACEE_STDOUT
        && marked_calls(&run.stderr) == tracee_calls(CBuild::MuslStatic)
        && run.stderr.lines().filter(|l| *l == TRACEE_MISSING).count() == 1;
    assert!(ok, "{}", describe("lamina --trace", &run));
}

/// `--trace-format json`: one object per line with the documented fields;
/// the summary is a JSON line too.
#[test]
fn json_trace_lines_parse() {
    let w = workloads();
    let binary = w.c("tracee", CBuild::MuslStatic);
    let file = scratch_dir("trace").join("tracee.json");
    let flag = format!("--trace={}", file.display());
    let run = LaminaRun {
        flags: &[&flag, "--trace-format", "json"],
        ..LaminaRun::new(default_target(), &binary, &[])
    }
    .run();
    let trace = fs::read_to_string(&file).unwrap_or_default();
    let _ = fs::remove_file(&file);
    let lines: Vec<serde_json::Value> = trace
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let Some((summary, records)) = lines.split_last() else {
        panic!("empty trace\n{}", describe("lamina", &run));
    };
    for record in records {
        for key in [
            "ts_ns",
            "pid",
            "tid",
            "kind",
            "name",
            "args",
            "result",
            "errno",
            "duration_ns",
        ] {
            assert!(record.get(key).is_some(), "{record} has no {key}");
        }
    }
    let find = |name: &str| records.iter().find(|r| r["name"] == name);
    let write = find("write").expect("a write record");
    let open = find("open").expect("an open record");
    assert_eq!(
        (&write["args"], &write["result"], &write["errno"]),
        (
            &serde_json::json!("1, \"hi\\n\", 3"),
            &serde_json::json!(3),
            &serde_json::Value::Null
        )
    );
    assert_eq!(
        (&open["result"], &open["errno"], &open["kind"]),
        (
            &serde_json::json!(-2),
            &serde_json::json!("ENOENT"),
            &serde_json::json!("syscall")
        )
    );
    assert_eq!(
        summary,
        &serde_json::json!({"kind": "missing", "name": "quotactl", "count": 1})
    );
    assert_eq!(run.status, 0, "{}", describe("lamina", &run));
}

/// The calls lamina lacks are named once each at exit with `--verbose`,
/// never without `--trace` or `--verbose`.
#[test]
fn missing_calls_are_named_at_exit_only_when_asked() {
    let w = workloads();
    let binary = w.c("enosys", CBuild::MuslStatic);
    let verbose = LaminaRun {
        verbose: true,
        ..LaminaRun::new(default_target(), &binary, &[])
    }
    .run();
    let named = |needle: &str| verbose.stderr.lines().filter(|l| *l == needle).count();
    assert!(
        verbose.status == 0
            && named("lamina: not implemented: acct x2") == 1
            && named("lamina: not implemented: syscall 9999 x3") == 1,
        "{}",
        describe("lamina --verbose", &verbose)
    );
    let plain = LaminaRun::new(default_target(), &binary, &[]).run();
    assert!(
        plain.status == 0 && plain.stderr.is_empty(),
        "{}",
        describe("lamina", &plain)
    );
}
