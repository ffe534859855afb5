//! Integration tests that boot real lamina VMs (QEMU, Cloud Hypervisor,
//! Firecracker). This file is the shared harness; the tests are one file
//! per area: `programs.rs` (differential runs of whole programs),
//! `kernel.rs` (the kernel's own behaviour and limits), `files.rs` (the file
//! channel, `--rootfs`, volumes), `processes.rs` (fork, execve, pipes,
//! signals, threads; shells running scripts), `net.rs` (sockets inside the
//! guest), `fdkinds.rs` (eventfd, timerfd, signalfd, memfd, POSIX timers,
//! inotify), `terminal.rs` (lamina on a pty: termios, job control, window
//! size), `trace.rs` (`--trace`) and `errors.rs` (lamina's own failures).
//!
//! Every workload is an unmodified Linux binary: the C programs in
//! `tests/workloads/` built four ways (musl and glibc, static and
//! static-PIE), a Rust std program built for `x86_64-unknown-linux-musl`,
//! Debian's `busybox-static`, and this host's own dynamic programs in roots
//! assembled from their `ldd` libraries. Most tests are differential: the
//! same binary runs natively on the host and inside lamina, and stdout and
//! exit status must be identical.
//!
//! The VMM/machine/accelerator matrix is the table [`MATRIX`]; each test names
//! how deep it goes ([`Depth`]) and runs on every target of at least that
//! depth. Missing toolchains fail the tests with the package to install:
//! nothing is skipped silently. KVM targets are left out only when `/dev/kvm`
//! does not open read-write, and the other VMMs only where their binaries are
//! not found; the tests say so on stderr.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

mod channels;
mod debian;
mod errors;
mod fdkinds;
mod files;
mod identity;
mod ipc;
mod kernel;
mod net;
mod netfwd;
mod processes;
mod programs;
mod terminal;
mod trace;

/// The lamina binary cargo built for this test.
const LAMINA: &str = env!("CARGO_BIN_EXE_lamina");
/// `--timeout` handed to every `lamina run`.
const LAMINA_TIMEOUT_ARG: &str = "120s";
/// Wall-clock bound the harness enforces on one lamina run, above
/// [`LAMINA_TIMEOUT_ARG`] so lamina's own timeout fires first.
const LAMINA_WALL_LIMIT: Duration = Duration::from_secs(150);
/// Wall-clock bound on one native run or one build command.
const NATIVE_WALL_LIMIT: Duration = Duration::from_secs(60);
const BUILD_WALL_LIMIT: Duration = Duration::from_secs(600);

/// Exit statuses of `lamina run` itself (design.md, "The host CLI").
const EXIT_TIMEOUT: i32 = 124;
const EXIT_CANNOT_START_VM: i32 = 125;
const EXIT_NOT_EXECUTABLE: i32 = 126;
const EXIT_NOT_FOUND: i32 = 127;
/// 128 + SIGKILL: the workload was killed for want of memory.
const EXIT_OUT_OF_MEMORY: i32 = 137;
/// 128 + SIGKILL: the workload was killed (by itself, with `kill -9 $$`).
const EXIT_SIGKILL: i32 = 137;
/// 128 + SIGSEGV.
const EXIT_SIGSEGV: i32 = 139;

/// ELF header field offsets (System V gABI, ELF-64).
const ELF_E_TYPE_OFFSET: usize = 16;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const ELF_E_MACHINE_OFFSET: usize = 18;
const EM_AARCH64: u16 = 183;
const ELF_E_PHOFF_OFFSET: usize = 0x20;
const ELF_E_PHENTSIZE_OFFSET: usize = 0x36;
const ELF_E_PHNUM_OFFSET: usize = 0x38;
const PT_INTERP: u32 = 3;

const BUSYBOX: &str = "/bin/busybox";
const KVM_DEVICE: &str = "/dev/kvm";

// ---------------------------------------------------------------------------
// The device/accelerator matrix.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Machine {
    Microvm,
    Pc,
}

impl Machine {
    fn arg(self) -> &'static str {
        match self {
            Machine::Microvm => "microvm",
            Machine::Pc => "pc",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    fn arg(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// How much of the suite a target runs, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Depth {
    /// hello, exit codes, wild store.
    Smoke,
    /// Plus all hello builds, argv/env, busybox echo.
    Representative,
    /// Every workload.
    Full,
}

/// The VMM a target boots lamina on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vmm {
    Qemu(Machine),
    CloudHypervisor,
    Firecracker,
}

impl Vmm {
    /// `--vmm`'s spelling, which is also the binary's name for the other VMMs.
    fn name(self) -> &'static str {
        match self {
            Vmm::Qemu(_) => "qemu",
            Vmm::CloudHypervisor => "cloud-hypervisor",
            Vmm::Firecracker => "firecracker",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Target {
    vmm: Vmm,
    accel: Accel,
    depth: Depth,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.vmm {
            Vmm::Qemu(machine) => write!(f, "{}/{}", machine.arg(), self.accel.arg()),
            other => write!(f, "{}/{}", other.name(), self.accel.arg()),
        }
    }
}

/// microvm boots in milliseconds, so it runs everything under TCG and a
/// representative subset under KVM (this host's KVM is the nested
/// `kvm_pvm`: each page fault costs ~0.5 ms, so the memory-heavy workloads
/// would take minutes; it has found bugs TCG hides all the same); `pc`
/// goes through SeaBIOS (seconds) and runs the representative subset under
/// TCG and the smoke set under KVM. Cloud Hypervisor and Firecracker run
/// under KVM only, with what lamina supports there: the smoke set, plus
/// the tests that call [`on_every_vmm`] (stdin, `--timeout`).
const MATRIX: &[Target] = &[
    Target {
        vmm: Vmm::Qemu(Machine::Microvm),
        accel: Accel::Tcg,
        depth: Depth::Full,
    },
    Target {
        vmm: Vmm::Qemu(Machine::Pc),
        accel: Accel::Tcg,
        depth: Depth::Representative,
    },
    Target {
        vmm: Vmm::Qemu(Machine::Microvm),
        accel: Accel::Kvm,
        depth: Depth::Representative,
    },
    Target {
        vmm: Vmm::Qemu(Machine::Pc),
        accel: Accel::Kvm,
        depth: Depth::Smoke,
    },
    Target {
        vmm: Vmm::CloudHypervisor,
        accel: Accel::Kvm,
        depth: Depth::Smoke,
    },
    Target {
        vmm: Vmm::Firecracker,
        accel: Accel::Kvm,
        depth: Depth::Smoke,
    },
];

fn kvm_usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| {
        let usable = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(KVM_DEVICE)
            .is_ok();
        if !usable {
            eprintln!("note: {KVM_DEVICE} does not open read-write; KVM targets are not run");
        }
        usable
    })
}

/// Where the other VMMs' binaries are looked for when they are not on
/// PATH: the team's shared tools, beside the repository.
const SHARED_TOOLS: &str = "../shared/tools";

/// The directory holding `vmm`'s binary: None for QEMU (always on PATH:
/// the suite fails without it), the PATH entry or [`SHARED_TOOLS`] for the
/// others; None, with a note, where neither has it.
fn vmm_dir(vmm: Vmm) -> Option<PathBuf> {
    if let Vmm::Qemu(_) = vmm {
        return None;
    }
    static FOUND: OnceLock<[Option<PathBuf>; 2]> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        [Vmm::CloudHypervisor, Vmm::Firecracker].map(|vmm| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let dir = std::env::split_paths(&path)
                .chain([repo_root().join(SHARED_TOOLS)])
                .find(|dir| is_executable(&dir.join(vmm.name())));
            if dir.is_none() {
                eprintln!(
                    "note: {} is neither on PATH nor in {SHARED_TOOLS}; its targets are not run",
                    vmm.name()
                );
            }
            dir
        })
    });
    found[usize::from(vmm == Vmm::Firecracker)].clone()
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `target` can run on this machine.
fn runnable(target: &Target) -> bool {
    (target.accel != Accel::Kvm || kvm_usable())
        && (matches!(target.vmm, Vmm::Qemu(_)) || vmm_dir(target.vmm).is_some())
}

/// The targets a test of `depth` runs on.
fn targets(depth: Depth) -> Vec<Target> {
    MATRIX
        .iter()
        .copied()
        .filter(|t| t.depth >= depth)
        .filter(runnable)
        .collect()
}

/// Runs `check` on every target of `depth` and fails once, listing every
/// target that failed, so one broken machine does not hide another.
fn on_targets(depth: Depth, check: impl FnMut(Target) -> Result<(), String>) {
    check_all(targets(depth), check);
}

/// As [`on_targets`], and on every VMM besides QEMU too: for what lamina
/// supports on all of them.
fn on_every_vmm(depth: Depth, check: impl FnMut(Target) -> Result<(), String>) {
    let mut all = targets(depth);
    all.extend(
        MATRIX
            .iter()
            .copied()
            .filter(|t| !matches!(t.vmm, Vmm::Qemu(_)) && t.depth < depth)
            .filter(runnable),
    );
    check_all(all, check);
}

fn check_all(targets: Vec<Target>, mut check: impl FnMut(Target) -> Result<(), String>) {
    let mut failures = String::new();
    for target in targets {
        if let Err(message) = check(target) {
            let _ = writeln!(failures, "==== on {target}:\n{message}\n");
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

// ---------------------------------------------------------------------------
// Workloads and how they are built.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CBuild {
    MuslStatic,
    GlibcStatic,
    MuslStaticPie,
    GlibcStaticPie,
}

impl CBuild {
    const ALL: [CBuild; 4] = [
        CBuild::MuslStatic,
        CBuild::GlibcStatic,
        CBuild::MuslStaticPie,
        CBuild::GlibcStaticPie,
    ];

    fn dir_name(self) -> &'static str {
        match self {
            CBuild::MuslStatic => "musl-static",
            CBuild::GlibcStatic => "glibc-static",
            CBuild::MuslStaticPie => "musl-static-pie",
            CBuild::GlibcStaticPie => "glibc-static-pie",
        }
    }

    /// The compiler and link mode, before the common flags.
    fn compiler_argv(self, sources: &Path) -> Vec<OsString> {
        let words: &[&str] = match self {
            CBuild::MuslStatic => &["musl-gcc", "-static"],
            CBuild::GlibcStatic => &["gcc", "-static"],
            // musl-gcc's specs ignore -static-pie (they link Scrt1.o and ask
            // for ld-musl as interpreter), so use gcc with specs that link
            // musl's self-relocating rcrt1.o instead.
            CBuild::MuslStaticPie => {
                let mut argv: Vec<OsString> = vec!["gcc".into(), "-specs".into()];
                argv.push(sources.join(MUSL_STATIC_PIE_SPECS).into());
                argv.extend(["-static-pie".into(), "-fPIE".into()]);
                return argv;
            }
            CBuild::GlibcStaticPie => &["gcc", "-static-pie", "-fPIE"],
        };
        words.iter().map(OsString::from).collect()
    }
}

/// gcc specs for a musl static-PIE (Debian's musl-tools layout).
const MUSL_STATIC_PIE_SPECS: &str = "musl-static-pie.specs";

const C_WORKLOADS: &[&str] = &[
    "hello",
    "args",
    "exitcode",
    "bigalloc",
    "float",
    "efault",
    "wildstore",
    "syscalls",
    "oom",
    "mmapmany",
    "imagepages",
    "enosys",
    "pollstdin",
    "traps",
    "files",
    "filemap",
    "pthreads",
    "identity",
    "signals",
    "pipes",
    "exec",
    "epoll",
    "vectorswitch",
    "bigexec",
    "futexleak",
    "forkloop",
    "forkbomb",
    "netpair",
    "netunix",
    "nettcp",
    "netudp",
    "netpoll",
    "neterrors",
    "netleak",
    "netfwd",
    "tracee",
    "fdkinds",
    "shm",
    "sysv",
    "procsys",
    "tty",
    "netmsg",
    "sigio",
    "misccalls",
    "mmsg",
    "splice",
    "fifo",
    "pidfd",
];
const C_FLAGS: &[&str] = &["-O2", "-Wall", "-Wextra", "-Werror"];

struct Workloads {
    dir: PathBuf,
    rust_hello: PathBuf,
    busybox: PathBuf,
    /// `gcc` default: a dynamically linked PIE, which lamina must refuse.
    dynamic_hello: PathBuf,
}

impl Workloads {
    fn c(&self, name: &str, build: CBuild) -> PathBuf {
        self.dir.join(build.dir_name()).join(name)
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate sits one level below the repository root")
        .to_path_buf()
}

/// `target/` of this build: the lamina binary lives in `target/<profile>/`.
fn target_dir() -> PathBuf {
    Path::new(LAMINA)
        .parent()
        .and_then(Path::parent)
        .expect("lamina is built inside target/<profile>/")
        .to_path_buf()
}

/// Builds every workload once per test process.
fn workloads() -> &'static Workloads {
    static BUILT: OnceLock<Result<Workloads, String>> = OnceLock::new();
    match BUILT.get_or_init(build_workloads) {
        Ok(w) => w,
        Err(message) => panic!("building the test workloads failed:\n{message}"),
    }
}

fn build_workloads() -> Result<Workloads, String> {
    require_tool("gcc", "gcc libc6-dev")?;
    require_tool("musl-gcc", "musl-tools")?;
    let busybox = PathBuf::from(BUSYBOX);
    let image = fs::read(&busybox)
        .map_err(|e| format!("{BUSYBOX}: {e}; install it with: apt-get install busybox-static"))?;
    if elf_has_interpreter(&image) {
        return Err(format!(
            "{BUSYBOX} is dynamically linked; install the static one with: apt-get install busybox-static"
        ));
    }

    let sources = repo_root().join("tests/workloads");
    let dir = target_dir().join("workloads");
    let mut jobs: Vec<(Vec<OsString>, PathBuf)> = Vec::new();
    for name in C_WORKLOADS {
        let source = sources.join(format!("{name}.c"));
        for build in CBuild::ALL {
            let out = dir.join(build.dir_name()).join(name);
            let mut argv = build.compiler_argv(&sources);
            argv.extend(C_FLAGS.iter().map(OsString::from));
            argv.extend([
                "-o".into(),
                out.clone().into(),
                source.clone().into(),
                "-lm".into(),
            ]);
            jobs.push((argv, out));
        }
    }
    let dynamic_hello = dir.join("dynamic").join("hello");
    jobs.push((
        vec![
            "gcc".into(),
            "-O2".into(),
            "-o".into(),
            dynamic_hello.clone().into(),
            sources.join("hello.c").into(),
        ],
        dynamic_hello.clone(),
    ));

    let workers = thread::available_parallelism().map_or(2, |n| n.get());
    let chunk_len = jobs.len().div_ceil(workers);
    let results: Vec<Result<(), String>> = thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk_len)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .try_for_each(|(argv, out)| compile_if_stale(argv, out))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a compile thread panicked"))
            .collect()
    });
    results.into_iter().collect::<Result<(), String>>()?;

    let rust_hello = build_rust_hello(&dir)?;
    Ok(Workloads {
        dir,
        rust_hello,
        busybox,
        dynamic_hello,
    })
}

/// Runs `argv` to produce `out` unless `out` is newer than its inputs and was
/// built by the same command (kept beside it in `out.cmd`).
fn compile_if_stale(argv: &[OsString], out: &Path) -> Result<(), String> {
    let command_line: Vec<u8> = argv
        .iter()
        .flat_map(|a| {
            let mut bytes = a.as_bytes().to_vec();
            bytes.push(b'\n');
            bytes
        })
        .collect();
    let stamp = out.with_extension("cmd");
    let inputs_mtime = argv
        .iter()
        .map(Path::new)
        .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "specs"))
        .filter_map(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let fresh = fs::metadata(out)
        .and_then(|m| m.modified())
        .is_ok_and(|built| built >= inputs_mtime)
        && fs::read(&stamp).is_ok_and(|s| s == command_line);
    if fresh {
        return Ok(());
    }
    let parent = out.parent().expect("outputs live in a directory");
    fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let finished = run_bounded(
        Command::new(&argv[0]).args(&argv[1..]),
        BUILD_WALL_LIMIT,
        "compile",
    );
    if finished.status != 0 {
        return Err(format!(
            "{} failed with status {}:\n{}{}",
            render_argv(argv),
            finished.status,
            finished.stdout,
            finished.stderr
        ));
    }
    fs::write(&stamp, command_line).map_err(|e| format!("{}: {e}", stamp.display()))
}

fn build_rust_hello(workloads_dir: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = repo_root().join("tests/workloads/rust-hello/Cargo.toml");
    let target_dir = workloads_dir.join("rust");
    let mut command = Command::new(&cargo);
    command
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(repo_root())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    let finished = run_bounded(&mut command, BUILD_WALL_LIMIT, "cargo build rust-hello");
    if finished.status != 0 {
        return Err(format!(
            "building {} failed with status {} (is the target installed? \
             rustup target add x86_64-unknown-linux-musl):\n{}",
            manifest.display(),
            finished.status,
            finished.stderr
        ));
    }
    Ok(target_dir.join("x86_64-unknown-linux-musl/release/rust-hello"))
}

fn require_tool(tool: &str, package: &str) -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| {
        fs::metadata(dir.join(tool))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "{tool} is not on PATH; install it with: apt-get install {package}"
        ))
    }
}

fn read_u16(image: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(image.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(image: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(image.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(image: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(image.get(at..at + 8)?.try_into().ok()?))
}

/// True when an ELF-64 image has a `PT_INTERP` program header (dynamic).
fn elf_has_interpreter(image: &[u8]) -> bool {
    let headers = || -> Option<bool> {
        let phoff = usize::try_from(read_u64(image, ELF_E_PHOFF_OFFSET)?).ok()?;
        let phentsize = usize::from(read_u16(image, ELF_E_PHENTSIZE_OFFSET)?);
        let phnum = usize::from(read_u16(image, ELF_E_PHNUM_OFFSET)?);
        Some((0..phnum).any(|i| read_u32(image, phoff + i * phentsize) == Some(PT_INTERP)))
    };
    headers().unwrap_or(false)
}

// ---------------------------------------------------------------------------
// Running processes with a bound and no leaks.

/// A child process in its own process group; dropping the guard kills the
/// whole group, so a failing or hung test never leaves QEMU behind.
struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    fn spawn(command: &mut Command) -> std::io::Result<Self> {
        command.process_group(0);
        Ok(Self {
            child: command.spawn()?,
        })
    }

    /// The group id is the child's pid, which cannot be reused while the
    /// child is unreaped or while any member of its group is alive.
    fn kill_group(&self) {
        let pgid = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pgid) = pgid {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Finished {
    /// The exit status, or 128 + N when killed by signal N (the shell's rule,
    /// and lamina's).
    status: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn status_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|n| 128 + n))
        .expect("a finished process has an exit code or a signal")
}

fn drain(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}

/// Runs `command` to completion with stdin closed, panicking (after killing
/// its process group) if it outlives `wall_limit`.
fn run_bounded(command: &mut Command, wall_limit: Duration, what: &str) -> Finished {
    run_bounded_with_input(command, None, wall_limit, what)
}

/// As [`run_bounded`], with `input` (when given) written to the child's
/// stdin from a thread, then closed.
fn run_bounded_with_input(
    command: &mut Command,
    input: Option<Vec<u8>>,
    wall_limit: Duration,
    what: &str,
) -> Finished {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut guard = ChildGuard::spawn(command)
        .unwrap_or_else(|e| panic!("{what}: cannot start {command:?}: {e}"));
    if let (Some(input), Some(mut pipe)) = (input, guard.child.stdin.take()) {
        // A child that exits without reading all of it is not an error here.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let stdout = drain(guard.child.stdout.take().expect("stdout is piped"));
    let stderr = drain(guard.child.stderr.take().expect("stderr is piped"));
    let status = loop {
        match guard.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > wall_limit => break None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{what}: waiting for {command:?}: {e}"),
        }
    };
    let elapsed = started.elapsed();
    // Also reaps anything the child left running in its group (QEMU).
    guard.kill_group();
    let stdout = String::from_utf8_lossy(&stdout.join().expect("reader thread")).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().expect("reader thread")).into_owned();
    match status {
        Some(status) => Finished {
            status: status_code(status),
            stdout,
            stderr,
            elapsed,
        },
        None => panic!(
            "{what}: {command:?} still running after {wall_limit:?}; killed it.\n\
             --- stdout ---\n{}\n--- stderr ---\n{}",
            truncate(&stdout),
            truncate(&stderr)
        ),
    }
}

fn render_argv(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| format!("{:?}", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

const SHOW_BYTES: usize = 6000;
/// How much of one long argument a failure shows.
const SHOW_ARG_CHARS: usize = 1000;

fn truncate(text: &str) -> String {
    if text.len() <= SHOW_BYTES {
        return text.to_owned();
    }
    let mut cut = SHOW_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n[... {} more bytes]", &text[..cut], text.len() - cut)
}

// ---------------------------------------------------------------------------
// lamina and native runs.

/// One `lamina run` invocation.
struct LaminaRun<'a> {
    /// None: lamina's defaults for machine and accelerator.
    target: Option<Target>,
    memory: Option<&'a str>,
    timeout: &'a str,
    env: &'a [(&'a str, &'a str)],
    /// Extra variables for the lamina process itself (not the workload).
    host_env: &'a [(&'a str, &'a str)],
    /// `lamina -v`: the kernel log on stderr.
    verbose: bool,
    /// `--rootfs DIR` and whether `--read-only`.
    rootfs: Option<(&'a Path, bool)>,
    /// More `lamina run` options, before PROGRAM (`--hostname box`).
    flags: &'a [&'a str],
    program: &'a Path,
    args: &'a [&'a str],
}

impl<'a> LaminaRun<'a> {
    fn new(target: Target, program: &'a Path, args: &'a [&'a str]) -> Self {
        Self {
            target: Some(target),
            memory: None,
            timeout: LAMINA_TIMEOUT_ARG,
            env: &[],
            host_env: &[],
            verbose: false,
            rootfs: None,
            flags: &[],
            program,
            args,
        }
    }

    /// `--rootfs root`, writable: PROGRAM is then a path in it.
    fn in_root(self, root: &'a Path) -> Self {
        Self {
            rootfs: Some((root, false)),
            ..self
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(LAMINA);
        command.arg("run").args(["--timeout", self.timeout]);
        if let Some(target) = self.target {
            match target.vmm {
                Vmm::Qemu(machine) => {
                    command
                        .args(["--machine", machine.arg()])
                        .args(["--accel", target.accel.arg()]);
                }
                other => {
                    command.args(["--vmm", other.name()]);
                    if let Some(dir) = vmm_dir(other) {
                        let path = std::env::var_os("PATH").unwrap_or_default();
                        let path = std::env::join_paths(
                            std::iter::once(dir).chain(std::env::split_paths(&path)),
                        )
                        .expect("PATH entries join");
                        command.env("PATH", path);
                    }
                }
            }
        }
        if let Some(memory) = self.memory {
            command.args(["--memory", memory]);
        }
        if self.verbose {
            command.arg("--verbose");
        }
        if let Some((dir, read_only)) = self.rootfs {
            command.arg("--rootfs").arg(dir);
            if read_only {
                command.arg("--read-only");
            }
        }
        for (key, value) in self.env {
            command.arg("-e").arg(format!("{key}={value}"));
        }
        command.args(self.flags);
        // PROGRAM and ARGS go last with no `--`, as a user types them, so
        // hyphen-leading ARGS also test that option parsing stops at PROGRAM.
        command.arg(self.program).args(self.args);
        command.envs(self.host_env.iter().copied());
        command
    }

    fn run(&self) -> Finished {
        let mut command = self.command();
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run")
    }

    fn run_with_input(&self, input: &[u8]) -> Finished {
        let mut command = self.command();
        run_bounded_with_input(
            &mut command,
            Some(input.to_vec()),
            LAMINA_WALL_LIMIT,
            "lamina run",
        )
    }
}

/// docker's `PATH`, which lamina gives every workload.
const CONTAINER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// lamina's default `--hostname`, the workload's `HOSTNAME`.
const CONTAINER_HOSTNAME: &str = "lamina";

/// The environment lamina gives a workload run with `-e` for each of
/// `env` (no terminal, no `--user`, a root without /etc/passwd), in its
/// order: PATH and HOSTNAME (each replaced where it stands by an `-e` of
/// that name), the rest in order, then HOME=/ unless given.
fn container_env<'a>(env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut out = vec![("PATH", CONTAINER_PATH), ("HOSTNAME", CONTAINER_HOSTNAME)];
    for &(key, value) in env {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => *slot = (key, value),
            None => out.push((key, value)),
        }
    }
    if !out.iter().any(|(k, _)| *k == "HOME") {
        out.push(("HOME", "/"));
    }
    out
}

/// Runs `binary` natively with the environment lamina gives it for `env`
/// ([`container_env`], in that order: `env -i` sets it, where std would
/// sort it) and argv[0] as lamina would pass it (the program path as typed).
fn run_native(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = Command::new("env");
    command
        .arg("-i")
        .args(container_env(env).iter().map(|(k, v)| format!("{k}={v}")))
        .arg(binary)
        .args(args)
        .env_clear();
    run_bounded(&mut command, NATIVE_WALL_LIMIT, "native run")
}

fn describe(label: &str, run: &Finished) -> String {
    format!(
        "--- {label}: status {} after {:.2?}\n--- {label} stdout ---\n{}\n--- {label} stderr ---\n{}",
        run.status,
        run.elapsed,
        truncate(&run.stdout),
        truncate(&run.stderr)
    )
}

/// Runs `binary` natively and in lamina on `target`; stdout and exit status
/// must be identical.
fn assert_same_as_native(
    target: Target,
    binary: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    // std hands a child its environment sorted by name; pass lamina the same
    // order so that programs that print environ in order (busybox env) agree.
    let mut env = env.to_vec();
    env.sort_unstable();
    let env = env.as_slice();
    let native = run_native(binary, args, env);
    let lamina = LaminaRun {
        env,
        ..LaminaRun::new(target, binary, args)
    }
    .run();
    if native.stdout == lamina.stdout && native.status == lamina.status {
        return Ok(());
    }
    Err(format!(
        "{} {:?} (env {:?}) differs between native and lamina on {target}\n{}\n{}",
        binary.display(),
        args,
        env,
        describe("native", &native),
        describe("lamina", &lamina)
    ))
}

/// The error contract: status `expected` and exactly one line on stderr.
fn expect_one_line_error(run: &Finished, expected: i32, needle: &str) -> Result<(), String> {
    let lines: Vec<&str> = run.stderr.lines().collect();
    let ok = run.status == expected
        && lines.len() == 1
        && !lines[0].trim().is_empty()
        && run.stderr.contains(needle);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected status {expected} and one stderr line containing {needle:?}\n{}",
            describe("lamina", run)
        ))
    }
}

/// `command` as one line for `bash -c`, every word single-quoted (no
/// environment changes: the commands given here set none).
fn shell_command(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| format!("'{}'", word.to_string_lossy().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("workloads/scratch").join(name);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A root file system in the scratch area, made afresh: each `(host
/// file, guest path)` copied in, with the shared libraries `ldd` names for
/// the dynamic ones (this host's own, so nothing is downloaded).
fn build_rootfs(name: &str, files: &[(&Path, &str)]) -> PathBuf {
    let root = scratch_dir(name);
    fs::remove_dir_all(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let copy = |from: &Path, to: &str| {
        let dest = root.join(to.trim_start_matches('/'));
        fs::create_dir_all(dest.parent().expect("a guest path has a parent"))
            .unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
        fs::copy(from, &dest)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), dest.display()));
    };
    for (host, guest) in files {
        copy(host, guest);
        let image = fs::read(host).unwrap_or_else(|e| panic!("{}: {e}", host.display()));
        if !elf_has_interpreter(&image) {
            continue;
        }
        let ldd = run_bounded(Command::new("ldd").arg(host), NATIVE_WALL_LIMIT, "ldd");
        assert_eq!(ldd.status, 0, "ldd {}: {}", host.display(), ldd.stderr);
        for library in ldd
            .stdout
            .split_whitespace()
            .filter(|word| word.starts_with('/'))
        {
            copy(
                &fs::canonicalize(library).expect("ldd names existing files"),
                library,
            );
        }
    }
    root
}

/// The other way round from [`build_rootfs`]: runs `program` natively with
/// its paths inside `root` (for the differential tests, which give the
/// same arguments to both runs).
fn run_native_in(root: &Path, program: &str, args: &[&str]) -> Finished {
    run_native_in_env(root, program, args, &[])
}

/// As [`run_native_in`], with the environment `env`, in which a `PATH` is
/// the guest's: each of its directories is taken inside `root`.
fn run_native_in_env(root: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = Command::new(root.join(program.trim_start_matches('/')));
    command.current_dir(root).args(args).env_clear();
    for (key, value) in container_env(env) {
        if key == "PATH" {
            let dirs = value
                .split(':')
                .map(|dir| root.join(dir.trim_start_matches('/')));
            command.env(key, std::env::join_paths(dirs).expect("PATH entries join"));
        } else {
            command.env(key, value);
        }
    }
    run_bounded(&mut command, NATIVE_WALL_LIMIT, "native run")
}

/// Runs `program`, a path in `root`, natively there ([`run_native_in_env`])
/// and in lamina with `root` as the guest's root, with the same arguments
/// and environment; stdout and exit status must be identical.
fn assert_same_in_root(
    target: Target,
    root: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let native = run_native_in_env(root, program, args, env);
    let lamina = LaminaRun {
        env,
        ..LaminaRun::new(target, Path::new(program), args)
    }
    .in_root(root)
    .run();
    if native.stdout == lamina.stdout && native.status == lamina.status {
        return Ok(());
    }
    // A script given as an argument can be long: show its start.
    let args: Vec<String> = args
        .iter()
        .map(|arg| match arg.char_indices().nth(SHOW_ARG_CHARS) {
            Some((cut, _)) => format!("{}[... {} more bytes]", &arg[..cut], arg.len() - cut),
            None => arg.to_string(),
        })
        .collect();
    Err(format!(
        "{program} {args:?} (env {env:?}) in the root {} differs between native and lamina on {target}\n{}\n{}",
        root.display(),
        describe("native", &native),
        describe("lamina", &lamina)
    ))
}

/// The first target of the matrix (microvm/tcg): these fail before booting.
fn default_target() -> Target {
    MATRIX[0]
}

// ---------------------------------------------------------------------------
// The harness's own helpers, checked without booting anything.

/// Each build really is what its name says: static, and ET_DYN for the PIEs.
#[test]
fn harness_builds_are_static() {
    let w = workloads();
    assert!(elf_has_interpreter(
        &fs::read(&w.dynamic_hello).expect("read")
    ));
    for build in CBuild::ALL {
        let image = fs::read(w.c("hello", build)).expect("read");
        assert!(
            !elf_has_interpreter(&image),
            "{build:?} hello has PT_INTERP"
        );
        let expected = match build {
            CBuild::MuslStatic | CBuild::GlibcStatic => ET_EXEC,
            CBuild::MuslStaticPie | CBuild::GlibcStaticPie => ET_DYN,
        };
        assert_eq!(
            read_u16(&image, ELF_E_TYPE_OFFSET),
            Some(expected),
            "{build:?} hello e_type"
        );
    }
    let rust = fs::read(&w.rust_hello).expect("read");
    assert!(!elf_has_interpreter(&rust), "rust-hello has PT_INTERP");
}

#[test]
fn harness_native_signal_status() {
    let w = workloads();
    let run = run_native(&w.c("wildstore", CBuild::MuslStatic), &[], &[]);
    assert_eq!(run.status, EXIT_SIGSEGV, "{}", describe("native", &run));
    assert_eq!(run.stdout, "before\n");
}
