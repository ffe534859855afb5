//! Processes: fork, vfork, clone, execve (with `#!` scripts), wait4,
//! pipes, signals with handlers, threads and futex, `/proc/<pid>/`, and
//! lamina's exit status (the first process's code, or 128 + its signal).
//! Real shells run scripts: the static busybox `sh` in a root of applet
//! links, and this host's dynamic `dash` and `bash` in a root assembled
//! from its own files; each script's stdout and exit status must be what
//! the same shell gives natively. C programs check the system calls one
//! by one against Linux, and two run only inside lamina: a fork loop that
//! must not leak memory and a fork bomb that must end cleanly.

use super::*;

/// busybox applets the scripts call, linked to `/bin/busybox` in its root.
const BUSYBOX_APPLETS: &[&str] = &[
    "sh", "cat", "echo", "md5sum", "head", "tail", "seq", "wc", "sort", "tr", "sleep", "kill",
    "true", "false", "printf",
];

/// This host's programs the scripts call, copied into the shells' root
/// with the libraries `ldd` names.
const HOST_PROGRAMS: &[&str] = &[
    "/usr/bin/dash",
    "/usr/bin/bash",
    "/usr/bin/cat",
    "/usr/bin/echo",
    "/usr/bin/md5sum",
    "/usr/bin/head",
    "/usr/bin/tail",
    "/usr/bin/seq",
    "/usr/bin/wc",
    "/usr/bin/sort",
    "/usr/bin/tr",
    "/usr/bin/sleep",
    "/usr/bin/true",
    "/usr/bin/false",
    "/usr/bin/printf",
];

/// The workload's PATH in every root here (the native runs get the same
/// directories inside the root).
const GUEST_PATH: &str = "/usr/bin:/bin";

/// A root with the static busybox at /bin/busybox and a link to it for
/// every applet in [`BUSYBOX_APPLETS`], `/bin/sh` among them.
fn busybox_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = build_rootfs("rootfs-busybox-sh", &[(Path::new(BUSYBOX), "/bin/busybox")]);
        for applet in BUSYBOX_APPLETS {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
                .unwrap_or_else(|e| panic!("linking applet {applet}: {e}"));
        }
        root
    })
}

/// A root of this host's dynamic programs ([`HOST_PROGRAMS`]) and their
/// libraries, `/bin/sh` a link to `dash` as on Debian.
fn host_shells_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        for program in HOST_PROGRAMS {
            assert!(
                is_executable(Path::new(program)),
                "{program} is missing: apt-get install dash bash coreutils"
            );
        }
        let files: Vec<(&Path, &str)> = HOST_PROGRAMS.iter().map(|p| (Path::new(*p), *p)).collect();
        let root = build_rootfs("rootfs-shells", &files);
        fs::create_dir_all(root.join("bin")).expect("mkdir bin");
        std::os::unix::fs::symlink("../usr/bin/dash", root.join("bin/sh")).expect("link /bin/sh");
        root
    })
}

#[derive(Clone, Copy, Debug)]
enum Shell {
    /// busybox's `sh` (ash), static, in [`busybox_root`].
    Busybox,
    /// Debian's `dash`, dynamic, in [`host_shells_root`].
    Dash,
    /// GNU `bash`, dynamic, in [`host_shells_root`].
    Bash,
}

impl Shell {
    fn root(self) -> &'static Path {
        match self {
            Shell::Busybox => busybox_root(),
            Shell::Dash | Shell::Bash => host_shells_root(),
        }
    }

    /// The shell's path in its root.
    fn program(self) -> &'static str {
        match self {
            Shell::Busybox => "/bin/sh",
            Shell::Dash => "/usr/bin/dash",
            Shell::Bash => "/usr/bin/bash",
        }
    }
}

/// Runs `shell -c script` natively (in the shell's root, with the root's
/// PATH) and in lamina; stdout and exit status must match.
fn script_same_as_native(target: Target, shell: Shell, script: &str) -> Result<(), String> {
    assert_same_in_root(
        target,
        shell.root(),
        shell.program(),
        &["-c", script],
        &[("PATH", GUEST_PATH)],
    )
}

/// Runs every script with `shell` and reports all those that differ.
fn scripts_same_as_native(
    target: Target,
    shell: Shell,
    scripts: &[(&str, String)],
) -> Result<(), String> {
    let failures: Vec<String> = scripts
        .iter()
        .filter_map(|(name, script)| {
            script_same_as_native(target, shell, script)
                .err()
                .map(|e| format!("-- {shell:?}, script {name:?}:\n{e}"))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Lines of a here-document longer than a pipe holds (64 KiB), so that
/// the shells that feed here-documents through a pipe need a writer
/// process (dash, busybox) and bash a temporary file; 74 KB, below Linux's
/// 128 KiB bound on one argument (the script is one).
const BIG_HEREDOC_LINES: usize = 1300;

/// POSIX scripts every shell runs: pipelines, command substitution,
/// subshells, here-documents, background jobs and `wait`, `trap`, `exec`
/// and exit statuses. Deterministic: no PIDs in the output, and output
/// whose order depends on the scheduler is sorted.
fn posix_scripts() -> Vec<(&'static str, String)> {
    let big_heredoc: String = (0..BIG_HEREDOC_LINES)
        .map(|i| format!("line {i:05} of a here-document longer than a pipe holds\n"))
        .collect();
    let scripts = [
        (
            "pipelines",
            r#"
seq 1 200 | sort -r | head -n 3 | tr '\n' ' '; echo
echo "one two three" | wc -w
printf 'b\na\nc\n' | sort | tr -d '\n'; echo
seq 1 1000 | cat | cat | cat | cat | tail -n 1
false | true; echo "false | true: $?"
true | false; echo "true | false: $?"
printf 'x\ny\nz\n' | while read line; do echo "<$line>"; done
{ echo grouped one; echo grouped two; } | tr a-z A-Z
"#
            .to_string(),
        ),
        (
            "command substitution",
            r#"
a=$(echo hello | tr a-z A-Z); echo "$a"
b=`echo back quotes`; echo "$b"
echo "nested: $(echo outer $(echo inner))"
n=$(seq 1 10 | wc -l); echo $((n * 2))
x=$(exit 3); echo "status $?"
lines=$(printf 'l1\nl2\n\n\n'); echo "[$lines]"
i=0; while [ $i -lt 100 ]; do i=$(echo $((i + 1))); done; echo "100 substitutions: $i"
"#
            .to_string(),
        ),
        (
            "subshells",
            r#"
x=outer; (x=inner; echo "in: $x"; exit 3); echo "status $? x=$x"
(cd /tmp && pwd)
(echo sub1; (echo sub2; exit 5); echo "inner status $?")
(trap 'echo subshell exit trap' EXIT; echo in subshell); echo after
umask 022; (umask 077; umask); umask
"#
            .to_string(),
        ),
        (
            "here-documents",
            format!(
                r#"
cat <<EOF
line one
$((1 + 2)) expanded, $(echo substituted)
EOF
cat <<'EOF'
$HOME and $(not run) stay
EOF
tr a-z A-Z <<EOF
shout
EOF
cat <<-EOF
	tabs stripped
	EOF
while read a b; do echo "$b $a"; done <<EOF
1 one
2 two
EOF
md5sum <<EOF
{big_heredoc}EOF
"#
            ),
        ),
        (
            "background jobs and wait",
            r#"
{ for i in 1 2 3 4 5; do (sleep 0.$i; echo "job $i") & done; wait; } | sort
(exit 5) & p=$!; wait $p; echo "wait for one job: $?"
false & wait $!; echo "false in the background: $?"
sleep 10 & p=$!; kill $p; wait $p; echo "a killed job: $?"
true & true & true & wait; echo "wait for all: $?"
"#
            .to_string(),
        ),
        (
            "trap",
            r#"
trap 'echo got USR1' USR1
kill -USR1 $$
echo after USR1
trap 'echo got TERM' TERM
(kill -TERM $$)
echo after TERM from a subshell
(sleep 0.1; kill -USR1 $$; sleep 0.3) & wait; echo "wait interrupted by a trapped signal: $?"
wait
trap '' USR2; kill -USR2 $$; echo USR2 ignored
trap - USR1
trap 'echo exit trap, status $?' EXIT
exit 4
"#
            .to_string(),
        ),
        (
            "exec",
            r#"
(exec echo exec in a subshell); echo "status $?"
(exec sh -c 'exit 7'); echo "exec of another shell: $?"
exec 3>&1; echo "to fd 3" >&3; exec 3>&-
exec 4</dev/null; read x <&4; echo "read from /dev/null: $? [$x]"
exec echo the shell is replaced
echo not reached
"#
            .to_string(),
        ),
        (
            "exit statuses",
            r#"
sh -c 'exit 3'; echo "sh -c 'exit 3': $?"
sh -c 'kill -9 $$'; echo "killed by SIGKILL: $?"
sh -c 'kill -TERM $$'; echo "killed by SIGTERM: $?"
(exit 300); echo "exit 300: $?"
nonexistent-command 2>/dev/null; echo "not found: $?"
/dev/null 2>/dev/null; echo "not executable: $?"
exit 42
"#
            .to_string(),
        ),
    ];
    scripts.into_iter().collect()
}

/// bash's own: pipefail, PIPESTATUS, process substitution (pipes named
/// through /dev/fd), arrays from command substitution, mapfile.
fn bash_scripts() -> Vec<(&'static str, String)> {
    vec![(
        "bash features",
        r#"
set -o pipefail; false | true; echo "pipefail: $?"; set +o pipefail
true | false | true; echo "PIPESTATUS: ${PIPESTATUS[*]}"
cat <(echo process substitution)
while read l; do echo "got $l"; done < <(seq 1 3)
arr=($(seq 1 5)); echo "${#arr[@]} ${arr[4]}"
mapfile -t lines < <(printf 'a\nb\n'); echo "${lines[1]}"
echo "subshell level $BASH_SUBSHELL $(echo $BASH_SUBSHELL)"
coproc upper { tr a-z A-Z; }; echo coprocess >&"${upper[1]}"; exec {upper[1]}>&-; read -r line <&"${upper[0]}"; echo "$line"; wait
"#
        .to_string(),
    )]
}

/// A pipeline and a command substitution with busybox `sh`: the first
/// fork, execve and pipe, on more machines than the full scripts.
#[test]
fn busybox_sh_pipeline_smoke() {
    let script = "seq 1 5 | tr '\\n' +; echo; echo \"$(echo substituted)\"; exit 7";
    on_targets(Depth::Representative, |target| {
        script_same_as_native(target, Shell::Busybox, script)
    });
}

/// Preemption: a background job that never makes a system call must not
/// keep the shell from running (the timer ends its slice), and SIGTERM
/// reaches it there.
#[test]
fn busy_background_job_is_preempted() {
    let script = "while :; do :; done & sleep 0.3; kill $!; wait $!; echo \"status $?\"; \
                  (while :; do :; done) & (while :; do :; done) & sleep 0.2; kill %1 %2; wait; echo both";
    on_targets(Depth::Representative, |target| {
        script_same_as_native(target, Shell::Busybox, script)
    });
}

/// Vector registers survive task switches. Under this machine's
/// `kvm_pvm` user code runs AVX (the host's XCR0 shows through) while the
/// guest kernel cannot save those registers; there lamina switches tasks
/// at system calls only, and this program, holding a value in ymm5 across
/// busy loops while another process does the same, must see it intact.
/// Where AVX is not usable (TCG here) it says so and passes.
#[test]
fn vector_registers_survive_task_switches() {
    let w = workloads();
    on_targets(Depth::Representative, |target| {
        let run = LaminaRun::new(target, &w.c("vectorswitch", CBuild::GlibcStatic), &[]).run();
        let ok = run.status == 0
            && (run.stdout.contains("AVX not usable here")
                || run
                    .stdout
                    .contains("wrong after a switch: 0 (parent), child none"));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "vector registers changed across task switches\n{}",
                describe("lamina", &run)
            ))
        }
    });
}

/// A workload's execve with 1.5 MB of arguments (under Linux's 2 MiB)
/// either runs or is refused with E2BIG (the kernel's fixed heap holds
/// the arguments twice over), and never takes the kernel down; 300 KB
/// always runs.
#[test]
fn huge_execve_is_e2big_not_a_panic() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let binary = w.c("bigexec", CBuild::MuslStatic);
        let big = LaminaRun::new(target, &binary, &[]).run();
        let big_ok = (big.status == 0 && big.stdout == "child got 1501 args\n")
            || (big.status == 1 && big.stdout == "execv: Argument list too long\n");
        let small = LaminaRun::new(target, &binary, &["300"]).run();
        let small_ok = small.status == 0 && small.stdout == "child got 301 args\n";
        if big_ok && small_ok {
            Ok(())
        } else {
            Err(format!(
                "{}\n{}",
                describe("1,500 arguments", &big),
                describe("300 arguments", &small)
            ))
        }
    });
}

/// Futex waits that end by timeout leave nothing behind in the kernel
/// (they once left a queue each: 2.2 MB of heap for 20,000, on the way to
/// a kernel panic).
#[test]
fn timed_out_futex_waits_leave_nothing() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let run = LaminaRun::new(target, &w.c("futexleak", CBuild::MuslStatic), &[]).run();
        if run.status == 0 && run.stdout.starts_with("kernel heap flat") {
            Ok(())
        } else {
            Err(describe("lamina", &run))
        }
    });
}

/// Readiness with a timeout through select/pselect6 (bash's `read -t`).
#[test]
fn read_with_a_timeout() {
    let script = "(sleep 0.2; echo late) | { read -t 5 x; echo \"got $x\"; }; \
                  sleep 1 | { read -t 0.1 y; echo \"timed out: $?\"; }";
    on_targets(Depth::Full, |target| {
        script_same_as_native(target, Shell::Bash, script)
    });
}

#[test]
fn busybox_sh_scripts() {
    let scripts = posix_scripts();
    on_targets(Depth::Full, |target| {
        scripts_same_as_native(target, Shell::Busybox, &scripts)
    });
}

#[test]
fn dash_scripts() {
    let scripts = posix_scripts();
    on_targets(Depth::Full, |target| {
        scripts_same_as_native(target, Shell::Dash, &scripts)
    });
}

#[test]
fn bash_scripts_match_native() {
    let mut scripts = posix_scripts();
    scripts.extend(bash_scripts());
    on_targets(Depth::Full, |target| {
        scripts_same_as_native(target, Shell::Bash, &scripts)
    });
}

/// 20 MiB through pipes between processes: from /dev/zero with busybox,
/// and from `seq` through GNU `head` with dash (the writer then dies of
/// SIGPIPE); md5sum's line must be the native one.
#[test]
fn pipeline_of_20_mib_through_md5sum() {
    on_targets(Depth::Full, |target| {
        script_same_as_native(
            target,
            Shell::Busybox,
            "head -c 20971520 /dev/zero | md5sum",
        )?;
        script_same_as_native(
            target,
            Shell::Dash,
            "seq 2800000 | head -c 20971520 | md5sum",
        )
    });
}

/// `kill -9 $$`: lamina exits 137, as the shell's status natively.
#[test]
fn kill_9_self_is_137() {
    let w = workloads();
    on_every_vmm(Depth::Representative, |target| {
        let lamina =
            LaminaRun::new(target, &w.busybox, &["sh", "-c", "echo before; kill -9 $$"]).run();
        if lamina.status == EXIT_SIGKILL && lamina.stdout == "before\n" {
            Ok(())
        } else {
            Err(format!(
                "expected \"before\" and status 137 (128 + SIGKILL)\n{}",
                describe("lamina", &lamina)
            ))
        }
    });
}

/// lamina's status is the first process's, as soon as it ends: children
/// it leaves behind (a `sleep 100` here) neither change it nor keep the
/// VM up.
#[test]
fn first_process_status_ends_the_run() {
    let cases: &[(&str, i32)] = &[
        ("sleep 100 & exit 3", 3),
        ("sleep 100 & kill -9 $$", EXIT_SIGKILL),
    ];
    let root = busybox_root();
    on_targets(Depth::Full, |target| {
        cases.iter().try_for_each(|(script, status)| {
            let run = LaminaRun::new(target, Path::new("/bin/sh"), &["-c", script])
                .in_root(root)
                .run();
            if run.status == *status && run.elapsed < Duration::from_secs(60) {
                Ok(())
            } else {
                Err(format!(
                    "sh -c {script:?}: expected status {status} well before the child's 100 s\n{}",
                    describe("lamina", &run)
                ))
            }
        })
    });
}

/// POSIX threads (tests/workloads/pthreads.c: clone with CLONE_THREAD and
/// CLONE_SETTLS, futex, __thread variables, join values, exit with a
/// thread still blocked) in every build, against Linux.
#[test]
fn pthreads_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("pthreads", build), &[], &[]))
    });
}

/// Signals against Linux (tests/workloads/signals.c): siginfo, masks,
/// sigsuspend, queued real-time signals, SA_RESTART and EINTR, SIGSEGV on
/// an alternate stack, SIGCHLD, stop and continue, sigtimedwait.
#[test]
fn signals_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("signals", build), &[], &[]))
    });
}

/// Pipes between processes against Linux (tests/workloads/pipes.c):
/// flags, capacity, EAGAIN, end of file, dup2 onto stdio, EPIPE and
/// SIGPIPE, poll.
#[test]
fn pipes_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("pipes", build), &[], &[]))
    });
}

/// epoll over pipes against Linux (tests/workloads/epoll.c): readiness,
/// a wait woken by another process, one-shot, MOD, DEL, hang-up,
/// timeouts and errnos.
#[test]
fn epoll_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("epoll", build), &[], &[]))
    });
}

/// Signal-driven I/O against Linux (tests/workloads/sigio.c): FIOASYNC,
/// O_ASYNC, F_SETOWN/F_GETOWN and their _EX forms, SIGIO to the owner
/// process or group from sockets and pipes (nginx's master needs it).
#[test]
fn sigio_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("sigio", build), &[], &[]))
    });
}

/// The small calls real programs make against Linux
/// (tests/workloads/misccalls.c): close_range, personality, getcpu,
/// sched_setaffinity, membarrier, the mlock family, utime/utimes/
/// futimesat, errnos included.
#[test]
fn misc_calls_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                assert_same_as_native(target, &w.c("misccalls", build), &[], &[])
            })
    });
}

/// splice, tee and vmsplice against Linux (tests/workloads/splice.c):
/// files, pipes and sockets through pipes, offsets, a wait for another
/// process, a 200 KiB round trip, errnos.
#[test]
fn splice_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("splice", build), &[], &[]))
    });
}

/// Process file descriptors against Linux (tests/workloads/pidfd.c):
/// pidfd_open, poll until the process ends, pidfd_send_signal with and
/// without siginfo (which sigtimedwait now reports whole), errnos.
#[test]
fn pidfd_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("pidfd", build), &[], &[]))
    });
}

/// execve and its neighbours against Linux (tests/workloads/exec.c): `#!`
/// scripts, execve's errnos, what survives execve, vfork, posix_spawn,
/// wait statuses, process groups, /proc/<pid>/. The program re-executes
/// itself, so it runs from a root (with busybox as /bin/sh for its
/// `#!/bin/sh` script; natively that is the host's).
#[test]
fn exec_matches_linux() {
    let w = workloads();
    let builds = [CBuild::MuslStatic, CBuild::GlibcStatic];
    let mut files: Vec<(PathBuf, String)> = builds
        .iter()
        .map(|&build| {
            (
                w.c("exec", build),
                format!("/bin/exec-{}", build.dir_name()),
            )
        })
        .collect();
    files.push((PathBuf::from(BUSYBOX), "/bin/busybox".into()));
    let files: Vec<(&Path, &str)> = files
        .iter()
        .map(|(host, guest)| (host.as_path(), guest.as_str()))
        .collect();
    let root = build_rootfs("rootfs-exec", &files);
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).expect("link /bin/sh");
    let native_dir = scratch_dir("exec-native");
    on_targets(Depth::Full, |target| {
        builds.iter().try_for_each(|&build| {
            let program = format!("/bin/exec-{}", build.dir_name());
            let _ = fs::remove_dir_all(&native_dir);
            let native_dir = native_dir.to_str().expect("the scratch path is UTF-8");
            let native = run_native_in(&root, &program, &["run", native_dir]);
            let lamina = LaminaRun::new(target, Path::new(&program), &["run", "/tmp/exec"])
                .in_root(&root)
                .run();
            if native.status == lamina.status && native.stdout == lamina.stdout {
                Ok(())
            } else {
                Err(format!(
                    "{program} differs between native and lamina\n{}\n{}",
                    describe("native", &native),
                    describe("lamina", &lamina)
                ))
            }
        })
    });
}

/// 1,000 rounds of fork, a child that dirties copy-on-write pages and
/// exits, and waitpid leave MemFree where it was (tests/workloads/
/// forkloop.c). Inside lamina only: natively MemFree moves with the rest
/// of the machine.
#[test]
fn fork_loop_does_not_leak_memory() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                let run = LaminaRun::new(target, &w.c("forkloop", build), &[]).run();
                if run.status == 0 && run.stdout.ends_with("no leak\n") {
                    Ok(())
                } else {
                    Err(format!(
                        "{build:?} forkloop: expected \"no leak\" and status 0\n{}",
                        describe("lamina", &run)
                    ))
                }
            })
    });
}

/// `--timeout` for the fork bomb: far above what it needs, far below the
/// harness's bound, so a hang shows as 124.
const FORK_BOMB_TIMEOUT_ARG: &str = "60s";
const FORK_BOMB_TIMEOUT: Duration = Duration::from_secs(60);

/// A fork bomb in a 64M guest (tests/workloads/forkbomb.c; never run
/// natively) ends one of two documented ways, within its timeout: fork
/// fails (EAGAIN, or ENOMEM as Linux gives when memory runs out) and the
/// program kills and reaps every child, status 0; or the guest runs out of
/// memory and lamina says so, status 137. Never a hang (124) or a kernel
/// panic (125).
#[test]
fn fork_bomb_ends_cleanly() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let run = LaminaRun {
            memory: Some("64M"),
            timeout: FORK_BOMB_TIMEOUT_ARG,
            ..LaminaRun::new(target, &w.c("forkbomb", CBuild::MuslStatic), &["--in-vm"])
        }
        .run();
        let fork_failed = run.status == 0
            && (run.stdout.starts_with("fork failed: EAGAIN\n")
                || run.stdout.starts_with("fork failed: ENOMEM\n"))
            && run.stdout.ends_with("every child killed and reaped\n");
        let out_of_memory =
            run.status == EXIT_OUT_OF_MEMORY && run.stderr.contains("out of memory");
        if (fork_failed || out_of_memory) && run.elapsed < FORK_BOMB_TIMEOUT {
            Ok(())
        } else {
            Err(format!(
                "expected status 0 with \"fork failed: EAGAIN\" (or ENOMEM) and every child reaped, \
                 or status {EXIT_OUT_OF_MEMORY} with \"out of memory\" on stderr, within {FORK_BOMB_TIMEOUT_ARG}\n{}",
                describe("lamina", &run)
            ))
        }
    });
}
