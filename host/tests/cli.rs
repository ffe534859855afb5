//! The `lamina` binary against a fake kernel (`tests/fake-kernel/`): a PVH
//! ELF that speaks the console framing with canned behaviours, so the CLI's
//! console routing, exit codes and QEMU handling are tested without the real
//! kernel. Skipped (with a note) where gcc, ld or QEMU are missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const LAMINA: &str = env!("CARGO_BIN_EXE_lamina");
const FAKE_KERNEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-kernel");

/// Behaviours of the fake kernel (see `fake_kernel.S`).
const HELLO_EXIT_7: u32 = 0;
const PANIC: u32 = 1;
const SILENT_STOP: u32 = 2;
const HANG: u32 = 3;
const ECHO_STDIN: u32 = 4;
const GARBAGE_THEN_SIGSEGV: u32 = 5;
const OUT_OF_MEMORY: u32 = 6;
const MODES: u32 = 7;

struct FakeKernels {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds every mode once per test binary; `None` when the tools are missing.
fn fake_kernels() -> &'static FakeKernels {
    static KERNELS: OnceLock<FakeKernels> = OnceLock::new();
    KERNELS.get_or_init(|| {
            // Missing tools fail the test (never a silent skip): scripts/setup installs them.
            assert!(
                have("gcc") && have("ld") && have("qemu-system-x86_64"),
                "these tests need gcc, ld and qemu-system-x86_64: apt-get install gcc binutils qemu-system-x86 (scripts/setup does)"
            );
            let dir = tempfile::tempdir().unwrap();
            let source = Path::new(FAKE_KERNEL_DIR).join("fake_kernel.S");
            let script = Path::new(FAKE_KERNEL_DIR).join("link.ld");
            let paths = (0..MODES)
                .map(|mode| {
                    let object = dir.path().join(format!("k{mode}.o"));
                    let elf = dir.path().join(format!("k{mode}.elf"));
                    let status = Command::new("gcc")
                        .args(["-c", "-x", "assembler-with-cpp"])
                        .arg(format!("-DMODE={mode}"))
                        .arg(&source)
                        .arg("-o")
                        .arg(&object)
                        .status()
                        .unwrap();
                    assert!(status.success(), "assembling mode {mode}");
                    let status = Command::new("ld")
                        .args(["-m", "elf_x86_64", "--no-warn-rwx-segments", "-T"])
                        .arg(&script)
                        .arg("-o")
                        .arg(&elf)
                        .arg(&object)
                        .status()
                        .unwrap();
                    assert!(status.success(), "linking mode {mode}");
                    elf
                })
                .collect();
            FakeKernels { _dir: dir, paths }
        })
}

/// `lamina run --kernel <fake mode> [extra...] <a static ELF>`; the fake
/// kernel ELF doubles as the static PROGRAM.
fn lamina(mode: u32, extra: &[&str], stdin: &[u8]) -> Output {
    let kernels = fake_kernels();
    let kernel = &kernels.paths[mode as usize];
    let mut child = Command::new(LAMINA)
        .arg("run")
        .arg("--kernel")
        .arg(kernel)
        .args(extra)
        .arg(&kernels.paths[0])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn stdout_stderr_and_exit_code() {
    for machine in ["microvm", "pc", "q35"] {
        let out = lamina(HELLO_EXIT_7, &["--machine", machine, "--accel", "tcg"], b"");
        assert_eq!(
            out.status.code(),
            Some(7),
            "{machine}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "hello\n", "{machine}");
        assert_eq!(text(&out.stderr), "oops\n", "{machine}");
    }
}

#[test]
fn verbose_shows_the_kernel_log() {
    let out = lamina(HELLO_EXIT_7, &["--verbose"], b"");
    assert_eq!(out.status.code(), Some(7));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("fake kernel up"), "{stderr}");
    assert!(stderr.contains("accelerator"), "{stderr}");
}

#[test]
fn panic_prints_the_log_and_exits_125() {
    let out = lamina(PANIC, &[], b"");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "fake kernel up\npanicked at fake.rs:1: on purpose\nlamina: guest kernel panic\n"
    );
}

#[test]
fn silent_stop_exits_125_with_the_log() {
    let out = lamina(SILENT_STOP, &[], b"");
    assert_eq!(out.status.code(), Some(125));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("fake kernel going away\n"), "{stderr}");
    assert!(
        stderr.contains("lamina: guest kernel stopped without reporting an exit status"),
        "{stderr}"
    );
}

#[test]
fn timeout_kills_the_vm() {
    let out = lamina(HANG, &["--timeout", "300ms"], b"");
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(text(&out.stderr), "lamina: timed out after 300ms\n");
}

#[test]
fn stdin_reaches_the_guest_binary_safe() {
    let input: Vec<u8> = (0..50_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let out = lamina(ECHO_STDIN, &[], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout == input, "echoed stdin differs");
}

#[test]
fn garbage_frames_are_skipped() {
    let out = lamina(GARBAGE_THEN_SIGSEGV, &[], b"");
    assert_eq!(out.status.code(), Some(139));
    assert_eq!(text(&out.stdout), "one\ntwo\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn out_of_memory_names_the_size() {
    let out = lamina(OUT_OF_MEMORY, &["-m", "64M"], b"");
    assert_eq!(out.status.code(), Some(137));
    assert_eq!(
        text(&out.stderr),
        "lamina: workload killed: guest out of memory (-m 64M); raise --memory\n"
    );
}

#[test]
fn sigterm_kills_the_vm_and_exits_143() {
    let kernels = fake_kernels();
    let child = Command::new(LAMINA)
        .arg("run")
        .arg("--kernel")
        .arg(&kernels.paths[HANG as usize])
        .arg(&kernels.paths[0])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
}

#[test]
fn forced_kvm_failure_is_125() {
    let kernels = fake_kernels();
    let out = Command::new(LAMINA)
        .env("LAMINA_KVM_DEVICE", "/nonexistent/kvm")
        .args(["run", "--accel", "kvm", "--kernel"])
        .arg(&kernels.paths[0])
        .arg(&kernels.paths[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "lamina: cannot use KVM: /nonexistent/kvm: No such file or directory\n"
    );
}

#[test]
fn missing_qemu_is_125() {
    let kernels = fake_kernels();
    let out = Command::new(LAMINA)
        .env("PATH", "/nonexistent")
        .args(["run", "--accel", "tcg", "--kernel"])
        .arg(&kernels.paths[0])
        .arg(&kernels.paths[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "lamina: qemu-system-x86_64 not found; install it with: apt-get install qemu-system-x86\n"
    );
}

#[test]
fn program_errors() {
    let run = |program: &str| {
        Command::new(LAMINA)
            .args(["run", "--accel", "tcg", program])
            .output()
            .unwrap()
    };
    let out = run("./surely-not-here");
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        text(&out.stderr),
        "lamina: ./surely-not-here: no such file\n"
    );
    let out = run("/");
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(text(&out.stderr), "lamina: /: is a directory\n");
    let out = run(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli.rs"));
    assert_eq!(out.status.code(), Some(126));
    assert!(text(&out.stderr).ends_with(": not an ELF file\n"));
}

#[test]
fn usage_errors_are_one_line_and_125() {
    let out = Command::new(LAMINA)
        .args(["run", "-m", "7M", "prog"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("lamina: "), "{stderr}");
}
