//! The kernel's own behaviour: unimplemented calls, exceptions, W^X, the
//! memory floor, sleeping without spinning, signals for CPU exceptions,
//! out of memory and `--timeout`.

use super::*;

/// Unimplemented calls return ENOSYS; with -v each is named once in the
/// kernel log, however often the workload makes it.
#[test]
fn unimplemented_syscalls_are_enosys_and_named_once() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let binary = w.c("enosys", CBuild::MuslStatic);
        let run = LaminaRun {
            verbose: true,
            ..LaminaRun::new(target, &binary, &[])
        }
        .run();
        let expected_stdout =
            "syscall 9999: -1 errno 38\n".repeat(3) + &"syscall 163: -1 errno 38\n".repeat(2);
        let named = |needle: &str| run.stderr.lines().filter(|l| l.contains(needle)).count();
        if run.status == 0
            && run.stdout == expected_stdout
            && named("unknown (9999) is not implemented") == 1
            && named("acct (163) is not implemented") == 1
        {
            return Ok(());
        }
        Err(format!(
            "expected ENOSYS results and one log line per call on {target}\n{}",
            describe("lamina", &run)
        ))
    });
}

/// Runs hello with a kernel self-test on the command line and expects the
/// kernel's page-fault report (with `cr2` and `error code` as given), the
/// panic line and status 125.
fn expect_kernel_fault(
    target: Target,
    selftest: &str,
    cr2: &str,
    error_code: &str,
) -> Result<(), String> {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let append = format!("selftest={selftest}");
    let run = LaminaRun {
        host_env: &[("LAMINA_KERNEL_APPEND", &append)],
        ..LaminaRun::new(target, &hello, &[])
    }
    .run();
    let report = run
        .stderr
        .lines()
        .find(|l| l.contains("kernel exception 14 (page fault)"))
        .unwrap_or("");
    if run.status == 125
        && run.stdout.is_empty()
        && report.contains("at rip 0xffffffff8")
        && report.contains(&format!("cr2 {cr2}"))
        && report.contains(&format!("error code {error_code},"))
        && run.stderr.lines().last() == Some("lamina: guest kernel panic")
    {
        return Ok(());
    }
    Err(format!(
        "expected a kernel page-fault report (cr2 {cr2}, error code {error_code}) and status 125 on {target}\n{}",
        describe("lamina", &run)
    ))
}

/// A fault in the kernel itself (its self-test reads an unmapped address)
/// is reported with vector, RIP, CR2 and error code, and lamina exits 125.
#[test]
fn kernel_exception_is_reported() {
    on_targets(Depth::Representative, |target| {
        expect_kernel_fault(target, "kernel-fault", "0xffffc000deadb000", "0x0")
    });
}

/// The kernel's code is not writable (W^X): its self-test's write to its
/// own text faults as "present, write" (error code 0x3).
#[test]
fn kernel_text_is_read_only() {
    on_targets(Depth::Representative, |target| {
        expect_kernel_fault(target, "write-text", "0xffffffff8", "0x3")
    });
}

/// The smallest memory `lamina run` accepts (8M) still runs a workload.
#[test]
fn runs_in_the_smallest_memory_accepted() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let hello = w.c("hello", CBuild::GlibcStatic);
        let native = run_native(&hello, &[], &[]);
        let lamina = LaminaRun {
            memory: Some("8M"),
            ..LaminaRun::new(target, &hello, &[])
        }
        .run();
        if lamina.status == native.status && lamina.stdout == native.stdout {
            return Ok(());
        }
        Err(format!(
            "hello with -m 8M on {target}\n{}",
            describe("lamina", &lamina)
        ))
    });
}

/// A program linked below vm.mmap_min_addr cannot be mapped in a container
/// (no CAP_SYS_RAWIO): exec fails with 126 and one line saying why.
#[test]
fn segment_below_mmap_min_addr_is_126() {
    // Checks for musl-gcc (failing with the package to install) first.
    workloads();
    let dir = scratch_dir("low-segment");
    let low = dir.join("hello-low");
    let source = repo_root().join("tests/workloads/hello.c");
    let argv: Vec<OsString> = [
        "musl-gcc",
        "-static",
        "-O2",
        "-Wl,-Ttext-segment=0x1000",
        "-o",
    ]
    .iter()
    .map(OsString::from)
    .chain([low.clone().into_os_string(), source.into_os_string()])
    .collect();
    compile_if_stale(&argv, &low).unwrap_or_else(|e| panic!("{e}"));
    on_targets(Depth::Full, |target| {
        let run = LaminaRun::new(target, &low, &[]).run();
        expect_one_line_error(&run, 126, "below the lowest mappable address 0x10000")
    });
}

/// A sleeping workload leaves the host's CPU alone: `busybox sleep 1`
/// costs lamina and QEMU together well under the second a spinning guest
/// would burn (bash's `times` reports the children's CPU time).
#[test]
fn sleep_does_not_spin() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let lamina = LaminaRun::new(target, &w.busybox, &["sleep", "1"]).command();
        let script = format!("{}; status=$?; times; exit $status", shell_command(&lamina));
        let mut bash = Command::new("bash");
        bash.args(["-c", &script]);
        let run = run_bounded(&mut bash, LAMINA_WALL_LIMIT, "bash");
        let cpu_seconds: f64 = run
            .stdout
            .lines()
            .nth(1)
            .into_iter()
            .flat_map(|line| line.split_whitespace())
            .filter_map(|t| {
                let (min, sec) = t.trim_end_matches('s').split_once('m')?;
                Some(min.parse::<f64>().ok()? * 60.0 + sec.parse::<f64>().ok()?)
            })
            .sum();
        if run.status == 0 && cpu_seconds > 0.0 && cpu_seconds < 0.6 {
            return Ok(());
        }
        Err(format!(
            "busybox sleep 1 took {cpu_seconds:.2} s of CPU on {target} (expected < 0.6)\n{}",
            describe("bash", &run)
        ))
    });
}

/// `lamina run yes | head -2` ends like the native pipeline: once the
/// reader is gone, the workload is done for, with SIGPIPE's status (141).
#[test]
fn closed_stdout_ends_the_workload() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let lamina = LaminaRun::new(target, &w.busybox, &["yes"]).command();
        let script = format!(
            "{} | head -2; echo \"status ${{PIPESTATUS[0]}}\"",
            shell_command(&lamina)
        );
        let mut bash = Command::new("bash");
        bash.args(["-c", &script]);
        let run = run_bounded(&mut bash, LAMINA_WALL_LIMIT, "bash");
        if run.stdout == "y\ny\nstatus 141\n" {
            return Ok(());
        }
        Err(format!(
            "yes | head -2 on {target}\n{}",
            describe("bash", &run)
        ))
    });
}

/// CPU exceptions in user mode: the status matches the native signal.
#[test]
fn cpu_exceptions_are_signals() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        ["int3", "ud2", "div0", "rodata"]
            .iter()
            .try_for_each(|what| {
                assert_same_as_native(target, &w.c("traps", CBuild::MuslStatic), &[what], &[])
            })
    });
}

#[test]
fn out_of_memory_is_clean() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let binary = w.c("oom", CBuild::MuslStatic);
        let run = LaminaRun {
            memory: Some("48M"),
            ..LaminaRun::new(target, &binary, &[])
        }
        .run();
        let killed = run.status == EXIT_OUT_OF_MEMORY && run.stderr.contains("out of memory");
        let got_null = run.status == 0 && run.stdout.contains("got NULL after");
        if killed || got_null {
            Ok(())
        } else {
            Err(format!(
                "expected status {EXIT_OUT_OF_MEMORY} with \"out of memory\" on stderr, \
                 or status 0 with \"got NULL after N MiB\"\n{}",
                describe("lamina", &run)
            ))
        }
    });
}

#[test]
fn timeout_kills_the_vm() {
    let w = workloads();
    on_every_vmm(Depth::Full, |target| {
        let run = LaminaRun {
            timeout: "3s",
            ..LaminaRun::new(target, &w.busybox, &["sleep", "600"])
        }
        .run();
        if run.status == EXIT_TIMEOUT && run.elapsed < Duration::from_secs(60) {
            Ok(())
        } else {
            Err(format!(
                "expected status {EXIT_TIMEOUT} soon after 3 s\n{}",
                describe("lamina", &run)
            ))
        }
    });
}
