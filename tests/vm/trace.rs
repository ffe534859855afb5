//! `lamina run --trace`: the system calls of the workload as strace shows
//! them, JSON lines, and the calls lamina lacks named at exit.

use super::*;

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

/// hello's trace: its write as strace shows it, the last call
/// `exit_group(0) = ?`, every line `[TID] name(args) = result <seconds>`;
/// its own output unchanged and nothing more on stderr.
#[test]
#[ignore = "needs the kernel side of --trace (issue 14)"]
fn trace_of_hello_shows_its_calls() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let file = scratch_dir("trace").join("hello.txt");
    let flag = format!("--trace={}", file.display());
    let run = LaminaRun {
        flags: &[&flag],
        ..LaminaRun::new(default_target(), &hello, &[])
    }
    .run();
    let trace = fs::read_to_string(&file).unwrap_or_default();
    let _ = fs::remove_file(&file);
    let calls: Vec<&str> = trace.lines().filter(|l| !l.contains("]   ")).collect();
    let well_formed =
        |line: &&str| line.starts_with('[') && line.contains(") = ") && line.ends_with('>');
    let ok = run.status == 0
        && run.stdout == "Hello from lamina!\n"
        && run.stderr.is_empty()
        && calls.iter().all(well_formed)
        && calls
            .iter()
            .any(|l| l.contains(r#"write(1, "Hello from lamina!\n", 19) = 19 <"#))
        && calls
            .last()
            .is_some_and(|l| l.contains("exit_group(0) = ? <"));
    assert!(ok, "{}\n--- trace ---\n{trace}", describe("lamina", &run));
}

/// `--trace-format json`: one object per line, each with the documented
/// fields.
#[test]
#[ignore = "needs the kernel side of --trace (issue 14)"]
fn json_trace_lines_parse() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let file = scratch_dir("trace").join("hello.json");
    let flag = format!("--trace={}", file.display());
    let run = LaminaRun {
        flags: &[&flag, "--trace-format", "json"],
        ..LaminaRun::new(default_target(), &hello, &[])
    }
    .run();
    let trace = fs::read_to_string(&file).unwrap_or_default();
    let _ = fs::remove_file(&file);
    let mut writes = 0;
    for line in trace.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
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
            assert!(value.get(key).is_some(), "{line} has no {key}");
        }
        if value["name"] == "write" && value["result"] == 19 {
            writes += 1;
        }
    }
    assert!(
        run.status == 0 && writes == 1,
        "{}\n--- trace ---\n{trace}",
        describe("lamina", &run)
    );
}

/// The calls lamina lacks are named once each at exit with `--trace` or
/// `--verbose`, never otherwise.
#[test]
#[ignore = "needs the kernel side of --trace (issue 14)"]
fn missing_calls_are_named_at_exit() {
    let w = workloads();
    let binary = w.c("enosys", CBuild::MuslStatic);
    let named = |run: &Finished| {
        run.stderr
            .lines()
            .filter(|l| *l == "lamina: not implemented: acct x2")
            .count()
    };
    let file = scratch_dir("trace").join("enosys.txt");
    let flag = format!("--trace={}", file.display());
    let traced = LaminaRun {
        flags: &[&flag],
        ..LaminaRun::new(default_target(), &binary, &[])
    }
    .run();
    let trace = fs::read_to_string(&file).unwrap_or_default();
    let _ = fs::remove_file(&file);
    assert!(
        traced.status == 0
            && named(&traced) == 1
            && trace
                .lines()
                .any(|l| l == "lamina: not implemented: acct x2"),
        "{}\n--- trace ---\n{trace}",
        describe("lamina --trace", &traced)
    );
    let verbose = LaminaRun {
        verbose: true,
        ..LaminaRun::new(default_target(), &binary, &[])
    }
    .run();
    assert_eq!(
        named(&verbose),
        1,
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
