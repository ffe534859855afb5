//! Integration tests that boot real lamina VMs under QEMU.
//!
//! Every workload is an unmodified static Linux binary: the C programs in
//! `tests/workloads/` built four ways (musl and glibc, static and
//! static-PIE), a Rust std program built for `x86_64-unknown-linux-musl`, and
//! Debian's `busybox-static`. Most tests are differential: the same binary runs
//! natively on the host and inside lamina, and stdout and exit status must be
//! identical.
//!
//! The machine/accelerator matrix is the table [`MATRIX`]; each test names how
//! deep it goes ([`Depth`]) and runs on every target of at least that depth.
//! Missing toolchains fail the tests with the package to install: nothing is
//! skipped silently. KVM targets are left out only when `/dev/kvm` does not open
//! read-write, and the tests say so on stderr.

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

    fn kill_group(&self) {
        let Ok(pgid) = i32::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        // The group id is the child's pid, which cannot be reused while the
        // child is unreaped or while any member of its group is alive.
        unsafe {
            kill(-pgid, SIGKILL);
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

const SIGKILL: i32 = 9;

unsafe extern "C" {
    /// kill(2) from the C library that std already links.
    fn kill(pid: i32, sig: i32) -> i32;
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
            program,
            args,
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

/// Runs `binary` natively with exactly `env` and argv[0] as lamina would
/// pass it (the program path as typed).
fn run_native(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = Command::new(binary);
    command
        .arg0(binary)
        .args(args)
        .env_clear()
        .envs(env.iter().copied());
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

// ---------------------------------------------------------------------------
// Differential tests.

#[test]
fn hello_in_every_build() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("hello", build), &[], &[]))
    });
}

#[test]
fn exit_codes() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        ["0", "1", "42", "255"].iter().try_for_each(|code| {
            assert_same_as_native(target, &w.c("exitcode", CBuild::MuslStatic), &[code], &[])
        })
    });
}

#[test]
fn exit_codes_glibc_static_pie() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        ["0", "42", "255"].iter().try_for_each(|code| {
            assert_same_as_native(
                target,
                &w.c("exitcode", CBuild::GlibcStaticPie),
                &[code],
                &[],
            )
        })
    });
}

#[test]
fn wild_store_is_sigsegv() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                // What the native run gives (harness_native_signal_status).
                let binary = w.c("wildstore", build);
                let run = LaminaRun::new(target, &binary, &[]).run();
                if run.status == EXIT_SIGSEGV && run.stdout == "before\n" {
                    Ok(())
                } else {
                    Err(format!(
                        "expected \"before\" then status {EXIT_SIGSEGV}\n{}",
                        describe("lamina", &run)
                    ))
                }
            })
    });
}

#[test]
fn argv_and_env() {
    let w = workloads();
    let many: Vec<String> = (0..200).map(|i| format!("arg-{i:03}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let odd_args: &[&str] = &[
        "with spaces",
        "",
        "-x",
        "--flag=value",
        "--",
        "-",
        "tab\there",
        "quote\"s and 'single'",
        "unicode-\u{e9}\u{4e16}",
        "FOO",
        "EMPTY",
        "SPACED",
        "UNSET_VAR",
        "PATH",
    ];
    let env: &[(&str, &str)] = &[
        ("FOO", "bar"),
        ("EMPTY", ""),
        ("SPACED", "a b  c"),
        ("EQUALS", "x=y=z"),
    ];
    on_targets(Depth::Representative, |target| {
        for build in CBuild::ALL {
            let binary = w.c("args", build);
            assert_same_as_native(target, &binary, odd_args, env)?;
        }
        let binary = w.c("args", CBuild::MuslStatic);
        assert_same_as_native(target, &binary, &[], &[])?;
        assert_same_as_native(target, &binary, &many, &[("FOO", "many")])
    });
}

#[test]
fn bigalloc() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("bigalloc", build), &[], &[]))
    });
}

#[test]
fn many_mappings_and_splits() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        assert_same_as_native(target, &w.c("mmapmany", CBuild::MuslStatic), &[], &[])
    });
}

/// The program's own pages are paged in from its image on demand: under
/// MADV_DONTNEED, munmap + mmap and mremap they behave as Linux's private
/// file mapping of the executable does (every build: PIE and not, both libcs).
#[test]
fn image_pages_behave_as_a_private_file_mapping() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL.iter().try_for_each(|&build| {
            assert_same_as_native(target, &w.c("imagepages", build), &[], &[])
        })
    });
}

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

/// `--rootfs` exports a host directory over virtio-9p (virtio-MMIO on
/// microvm, virtio-PCI on pc): the kernel's self-check finds the device,
/// reads its mount tag and gets QEMU's Rversion, and the workload still
/// runs. The directory's name has a comma, which QEMU's option syntax
/// takes only doubled.
#[test]
fn rootfs_is_shared_over_virtio_9p() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let native = run_native(&hello, &[], &[]);
    let rootfs = scratch_dir("rootfs,with-comma");
    fs::write(rootfs.join("file"), "shared\n").expect("write into the shared directory");
    fs::copy(&hello, rootfs.join("hello")).expect("copy hello into the root");
    let hello_in_guest = Path::new("/hello");
    on_targets(Depth::Representative, |target| {
        let read_only_too = target == default_target();
        for read_only in [false, true]
            .into_iter()
            .take(1 + usize::from(read_only_too))
        {
            let run = LaminaRun {
                verbose: true,
                rootfs: Some((&rootfs, read_only)),
                host_env: &[("LAMINA_KERNEL_APPEND", "selftest=virtio-9p")],
                ..LaminaRun::new(target, hello_in_guest, &[])
            }
            .run();
            let ok = run.status == 0
                && run.stdout == native.stdout
                && run
                    .stderr
                    .contains("virtio-9p selftest: mount tag \"root\"")
                && run
                    .stderr
                    .contains("virtio-9p selftest: Rversion msize 4194304 version 9P2000.L");
            if !ok {
                return Err(format!(
                    "--rootfs (read-only: {read_only}): expected the 9p self-check's mount tag and Rversion\n{}",
                    describe("lamina", &run)
                ));
            }
        }
        Ok(())
    });
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
    let mut command = Command::new(root.join(program.trim_start_matches('/')));
    command.current_dir(root).args(args).env_clear();
    run_bounded(&mut command, NATIVE_WALL_LIMIT, "native run")
}

/// `--rootfs`: the host directory is the guest's /, over 9P2000.L. A
/// static busybox and static C programs from the root read, write, copy,
/// move and delete there, and every change is checked on the host.
#[test]
fn rootfs_changes_land_on_the_host() {
    let w = workloads();
    let root = build_rootfs(
        "rootfs-static",
        &[
            (Path::new(BUSYBOX), "/bin/busybox"),
            (&w.c("files", CBuild::MuslStatic), "/bin/files"),
        ],
    );
    fs::create_dir_all(root.join("etc")).expect("mkdir etc");
    fs::write(root.join("etc/greeting"), "hello from the host\n").expect("write");
    let busybox = Path::new("/bin/busybox");
    on_targets(Depth::Representative, |target| {
        let _ = fs::remove_dir_all(root.join("work"));
        let run_in_root = |program: &Path, args: &[&str]| {
            LaminaRun {
                rootfs: Some((&root, false)),
                ..LaminaRun::new(target, program, args)
            }
            .run()
        };
        let steps: &[&[&str]] = &[
            &["mkdir", "-p", "/work/a/b"],
            &["cp", "/etc/greeting", "/work/a/b/copy"],
            &["mv", "/work/a/b/copy", "/work/moved"],
            &["ln", "-s", "moved", "/work/link"],
            &["rm", "-r", "/work/a"],
        ];
        for args in steps {
            let run = run_in_root(busybox, args);
            if run.status != 0 {
                return Err(format!(
                    "busybox {args:?} failed\n{}",
                    describe("lamina", &run)
                ));
            }
        }
        let host = |path: &str| fs::read_to_string(root.join(path)).unwrap_or_default();
        let link = fs::read_link(root.join("work/link")).unwrap_or_default();
        if host("work/moved") != "hello from the host\n"
            || link != Path::new("moved")
            || root.join("work/a").exists()
        {
            return Err(format!(
                "the host tree is not what the guest made: moved={:?} link={link:?} a exists={}",
                host("work/moved"),
                root.join("work/a").exists()
            ));
        }
        // The guest reads through the symlink it made, and sees the
        // file the host wrote.
        let run = run_in_root(busybox, &["cat", "/work/link", "/etc/greeting"]);
        if run.stdout != "hello from the host\nhello from the host\n" {
            return Err(describe("lamina", &run));
        }
        // The call-by-call file test, on the 9P root instead of a tmpfs,
        // against the same test natively on the host directory; on the
        // default target only: its 15,000 file operations take minutes
        // under this machine's nested KVM.
        if target != default_target() {
            return Ok(());
        }
        let native_dir = root.join("work/native");
        let native_dir = native_dir.to_str().expect("the scratch path is UTF-8");
        let native = run_native_in(&root, "/bin/files", &[native_dir]);
        let lamina = run_in_root(Path::new("/bin/files"), &["/work/guest"]);
        if native.stdout != lamina.stdout || native.status != lamina.status {
            return Err(format!(
                "files differs on the 9P root\n{}\n{}",
                describe("native", &native),
                describe("lamina", &lamina)
            ));
        }
        Ok(())
    });
}

/// Where Debian's libsqlite3-dev puts the static library.
const LIBSQLITE3_A: &str = "/usr/lib/x86_64-linux-gnu/libsqlite3.a";

/// A real database workload: SQLite, statically linked, builds and queries
/// a database in the shared root; the host's `sqlite3` then finds it intact
/// with the same contents.
#[test]
fn sqlite_database_in_the_root() {
    let sqlite3_tools = Path::new(LIBSQLITE3_A).exists()
        && Command::new("sqlite3").arg("-version").output().is_ok();
    assert!(
        sqlite3_tools,
        "this test needs {LIBSQLITE3_A} and sqlite3: apt-get install libsqlite3-dev sqlite3 (scripts/setup does)"
    );
    let program = target_dir().join("workloads/glibc-static/sqlite");
    let mut argv: Vec<OsString> = vec![
        "gcc".into(),
        "-static".into(),
        "-O2".into(),
        "-Wall".into(),
        "-Wextra".into(),
        "-o".into(),
    ];
    argv.push(program.clone().into());
    argv.push(repo_root().join("tests/workloads/sqlite.c").into());
    argv.extend(["-lsqlite3".into(), "-lm".into()]);
    compile_if_stale(&argv, &program)
        .unwrap_or_else(|e| panic!("building the SQLite workload: {e}"));
    let root = build_rootfs("rootfs-sqlite", &[(&program, "/bin/sqlite")]);
    fs::create_dir_all(root.join("db")).expect("mkdir db");
    let expected = "4500|2251500|row-1|row-999\nok\n";
    on_targets(Depth::Representative, |target| {
        let _ = fs::remove_file(root.join("db/test.db"));
        let run = LaminaRun {
            rootfs: Some((&root, false)),
            ..LaminaRun::new(target, Path::new("/bin/sqlite"), &["/db/test.db"])
        }
        .run();
        if run.status != 0 || run.stdout != expected {
            return Err(describe("lamina", &run));
        }
        let host = run_bounded(
            Command::new("sqlite3").arg(root.join("db/test.db")).arg(
                "SELECT count(*), sum(v), min(name), max(name) FROM t; PRAGMA integrity_check;",
            ),
            NATIVE_WALL_LIMIT,
            "sqlite3 on the host",
        );
        if host.status == 0 && host.stdout == expected {
            Ok(())
        } else {
            Err(format!(
                "the host's sqlite3 disagrees\n{}",
                describe("sqlite3", &host)
            ))
        }
    });
}

/// `-v HOST:GUEST[:ro]` adds shares at guest paths (as `docker run -v`)
/// and `--tmpfs PATH` an in-memory file system; /proc/mounts lists them.
#[test]
fn volumes_and_tmpfs_mounts() {
    let root = build_rootfs("rootfs-volumes", &[(Path::new(BUSYBOX), "/bin/busybox")]);
    let data = scratch_dir("volume-data");
    let _ = fs::remove_file(data.join("copy"));
    fs::write(data.join("file"), "volume data\n").expect("write");
    let rw = format!("{}:/data", data.display());
    let ro = format!("{}:/ro:ro", data.display());
    let busybox = Path::new("/bin/busybox");
    let run = |args: &[&str]| {
        let mut command = Command::new(LAMINA);
        command
            .args(["run", "--rootfs"])
            .arg(&root)
            .args([
                "-v",
                &rw,
                "--volume",
                &ro,
                "--tmpfs",
                "/scratch",
                "--timeout",
                LAMINA_TIMEOUT_ARG,
            ])
            .arg(busybox)
            .args(args);
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run")
    };
    let copy = run(&["cp", "/data/file", "/data/copy"]);
    assert_eq!(copy.status, 0, "{}", describe("lamina", &copy));
    assert_eq!(
        fs::read_to_string(data.join("copy")).unwrap_or_default(),
        "volume data\n"
    );
    let ro_write = run(&["touch", "/ro/new"]);
    assert!(
        ro_write.status != 0 && ro_write.stderr.contains("Read-only file system"),
        "{}",
        describe("lamina", &ro_write)
    );
    assert!(!data.join("new").exists(), "a :ro volume was written");
    let tmpfs = run(&[
        "sh",
        "-c",
        "echo kept > /scratch/a && read line < /scratch/a && echo $line",
    ]);
    assert_eq!(tmpfs.stdout, "kept\n", "{}", describe("lamina", &tmpfs));
    // The root (a share without these directories) lists its mount points.
    let listing = run(&["ls", "-1", "/"]);
    for name in ["bin", "data", "dev", "proc", "ro", "scratch", "tmp"] {
        assert!(
            listing.stdout.lines().any(|line| line == name),
            "no {name} in ls /:\n{}",
            listing.stdout
        );
    }
    let mounts = run(&["cat", "/proc/mounts"]);
    for line in [
        "9p / 9p",
        "9p /data 9p",
        "9p /ro 9p",
        "tmpfs /scratch tmpfs",
        "tmpfs /tmp tmpfs",
        "proc /proc proc",
    ] {
        assert!(
            mounts.stdout.contains(line),
            "no {line:?} in /proc/mounts:\n{}",
            mounts.stdout
        );
    }
}

/// `..` and absolute symlinks stop at the root: they name the rootfs's
/// own files, never the host's.
#[test]
fn rootfs_cannot_be_escaped() {
    let root = build_rootfs("rootfs-escape", &[(Path::new(BUSYBOX), "/bin/busybox")]);
    fs::create_dir_all(root.join("etc")).expect("mkdir etc");
    fs::write(root.join("etc/hostname"), "inside\n").expect("write");
    std::os::unix::fs::symlink("/", root.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../../../../..", root.join("up")).expect("symlink");
    let busybox = Path::new("/bin/busybox");
    on_targets(Depth::Full, |target| {
        for path in [
            "/../../../etc/hostname",
            "/abs/etc/hostname",
            "/up/etc/hostname",
            "/bin/../../etc/hostname",
        ] {
            let run = LaminaRun {
                rootfs: Some((&root, false)),
                ..LaminaRun::new(target, busybox, &["cat", path])
            }
            .run();
            if run.stdout != "inside\n" {
                return Err(format!(
                    "cat {path} left the root\n{}",
                    describe("lamina", &run)
                ));
            }
        }
        Ok(())
    });
}

/// `--read-only`: every write fails with EROFS, and the host tree stays
/// as it was.
#[test]
fn read_only_rootfs_is_untouched() {
    let root = build_rootfs("rootfs-ro", &[(Path::new(BUSYBOX), "/bin/busybox")]);
    fs::write(root.join("keep"), "original\n").expect("write");
    let busybox = Path::new("/bin/busybox");
    on_targets(Depth::Full, |target| {
        let cases: &[&[&str]] = &[
            &["touch", "/new"],
            &["rm", "/keep"],
            &["mkdir", "/dir"],
            &["mv", "/keep", "/moved"],
        ];
        for args in cases {
            let run = LaminaRun {
                rootfs: Some((&root, true)),
                ..LaminaRun::new(target, busybox, args)
            }
            .run();
            if run.status == 0 || !run.stderr.contains("Read-only file system") {
                return Err(format!(
                    "busybox {args:?} on a read-only root\n{}",
                    describe("lamina", &run)
                ));
            }
        }
        let untouched = fs::read_to_string(root.join("keep")).ok().as_deref() == Some("original\n")
            && !root.join("new").exists()
            && !root.join("dir").exists()
            && !root.join("moved").exists();
        if untouched {
            Ok(())
        } else {
            Err("the read-only root changed on the host".into())
        }
    });
}

/// A 64 MiB file written by the host is read whole through 9P (reads
/// split to the message size) and hashed the same as on the host.
#[test]
fn rootfs_big_file_hash() {
    let root = build_rootfs("rootfs-big", &[(Path::new(BUSYBOX), "/bin/busybox")]);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..64 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs::write(root.join("big"), &data).expect("write the big file");
    let native = run_native_in(&root, "/bin/busybox", &["md5sum", "big"]);
    on_targets(Depth::Full, |target| {
        let run = LaminaRun {
            rootfs: Some((&root, false)),
            ..LaminaRun::new(target, Path::new("/bin/busybox"), &["md5sum", "/big"])
        }
        .run();
        let hash = |out: &str| out.split_whitespace().next().unwrap_or("").to_string();
        if run.status == 0
            && hash(&run.stdout) == hash(&native.stdout)
            && !hash(&native.stdout).is_empty()
        {
            Ok(())
        } else {
            Err(format!(
                "{}\n{}",
                describe("native", &native),
                describe("lamina", &run)
            ))
        }
    });
}

/// Dynamically linked programs of this host (glibc's `ld-linux` and the
/// libraries `ldd` names) run from a root assembled from the host's own
/// files, with the same output as natively; PROGRAM without a slash is
/// found in the workload's PATH.
#[test]
fn dynamic_glibc_programs_run_from_the_root() {
    let binaries = ["/usr/bin/ls", "/usr/bin/md5sum", "/usr/bin/cat"];
    let files: Vec<(&Path, &str)> = binaries.iter().map(|b| (Path::new(*b), *b)).collect();
    let root = build_rootfs("rootfs-dynamic", &files);
    fs::create_dir_all(root.join("data/sub")).expect("mkdir");
    fs::write(root.join("data/one"), "1\n").expect("write");
    fs::write(root.join("data/two"), "22\n").expect("write");
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "/usr/bin/ls",
            &["-1a", "/data", "/usr/bin"],
            &["-1a", "data", "usr/bin"],
        ),
        (
            "/usr/bin/md5sum",
            &["/data/one", "/data/two"],
            &["data/one", "data/two"],
        ),
        (
            "cat",
            &["/data/one", "/data/two"],
            &["data/one", "data/two"],
        ),
    ];
    on_targets(Depth::Representative, |target| {
        cases
            .iter()
            .try_for_each(|(program, guest_args, host_args)| {
                let host_program = if program.starts_with('/') {
                    program.to_string()
                } else {
                    format!("/usr/bin/{program}")
                };
                let native = run_native_in(&root, &host_program, host_args);
                let lamina = LaminaRun {
                    rootfs: Some((&root, false)),
                    env: &[("PATH", "/usr/bin:/bin")],
                    ..LaminaRun::new(target, Path::new(program), guest_args)
                }
                .run();
                // Paths in the output are the guest's: compare with the host's
                // relative ones.
                let normalize = |text: &str| {
                    text.replace("/data/", "data/")
                        .replace("/usr/bin:", "usr/bin:")
                        .replace("/data:", "data:")
                };
                if lamina.status == native.status
                    && normalize(&lamina.stdout) == normalize(&native.stdout)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "{program} {guest_args:?}\n{}\n{}",
                        describe("native", &native),
                        describe("lamina", &lamina)
                    ))
                }
            })
    });
}

/// With `--rootfs`, a PROGRAM that is not there is the shell's 127, one
/// that is not runnable its 126, each with the reason on stderr.
#[test]
fn rootfs_program_errors() {
    let root = build_rootfs(
        "rootfs-errors-exec",
        &[(Path::new(BUSYBOX), "/bin/busybox")],
    );
    fs::write(root.join("text"), "not a program\n").expect("write");
    fs::set_permissions(root.join("text"), fs::Permissions::from_mode(0o755)).expect("chmod");
    let cases: &[(&str, i32, &str)] = &[
        ("/nope", EXIT_NOT_FOUND, "not found"),
        ("nope", EXIT_NOT_FOUND, "not found"),
        ("/bin", EXIT_NOT_EXECUTABLE, "is a directory"),
        ("/text", EXIT_NOT_EXECUTABLE, "not an executable"),
    ];
    for (program, status, reason) in cases {
        let run = LaminaRun {
            rootfs: Some((&root, false)),
            ..LaminaRun::new(default_target(), Path::new(program), &[])
        }
        .run();
        expect_one_line_error(&run, *status, reason).unwrap_or_else(|e| panic!("{program}: {e}"));
    }
}

/// Without a 9p device the self-check says so, and the workload runs.
#[test]
fn no_9p_device_is_reported() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    on_targets(Depth::Representative, |target| {
        let run = LaminaRun {
            verbose: true,
            host_env: &[("LAMINA_KERNEL_APPEND", "selftest=virtio-9p")],
            ..LaminaRun::new(target, &hello, &[])
        }
        .run();
        if run.status == 0
            && run
                .stderr
                .contains("virtio-9p selftest: no 9p device found")
        {
            Ok(())
        } else {
            Err(describe("lamina", &run))
        }
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
fn floating_point() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("float", build), &[], &[]))
    });
}

#[test]
fn bad_pointers_are_efault() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL.iter().try_for_each(|&build| {
            let binary = w.c("efault", build);
            assert_same_as_native(target, &binary, &[], &[])?;
            // Guard against a native run that did not produce EFAULT either.
            let native = run_native(&binary, &[], &[]);
            let faults = native.stdout.matches("Bad address").count();
            if faults >= 10 && native.stdout.ends_with("still alive\n") {
                Ok(())
            } else {
                Err(format!(
                    "native efault output is not as expected\n{}",
                    describe("native", &native)
                ))
            }
        })
    });
}

#[test]
fn startup_syscalls() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("syscalls", build), &[], &[]))
    });
}

/// File system calls on the guest's /tmp (a tmpfs) against the host's
/// /tmp: the same results and errnos, call by call (tests/workloads/files.c:
/// create, read, write, offsets shared by dup, O_APPEND/O_TRUNC, rename,
/// links, symlinks and ELOOP, *at calls, metadata, 5,000 entries in one
/// directory, /dev/null, /dev/zero, /dev/full, `..` at the root).
/// microvm/tcg only: under this machine's nested KVM each call costs
/// milliseconds and the 15,000 file operations would take minutes.
#[test]
fn file_syscalls_match_linux() {
    let w = workloads();
    let dir = format!("/tmp/lamina-files-test-{}", std::process::id());
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                let _ = fs::remove_dir_all(&dir);
                assert_same_as_native(target, &w.c("files", build), &[&dir], &[])
            })
    });
}

/// File mappings against Linux: private ones read the file and keep their
/// writes, shared ones reach the file on msync, munmap and exit; on the
/// guest's tmpfs and on a 9P root, where the host then reads what the
/// exit wrote back.
#[test]
fn file_mappings_match_linux() {
    let w = workloads();
    let native_dir = scratch_dir("filemap").join("native");
    let _ = fs::remove_dir_all(&native_dir);
    let native_dir = native_dir
        .to_str()
        .expect("the scratch path is UTF-8")
        .to_string();
    let native = run_native(&w.c("filemap", CBuild::MuslStatic), &[&native_dir], &[]);
    assert_eq!(native.status, 0, "{}", describe("native", &native));
    let root = build_rootfs(
        "rootfs-filemap",
        &[(&w.c("filemap", CBuild::MuslStatic), "/bin/filemap")],
    );
    on_targets(Depth::Full, |target| {
        let on_tmpfs = LaminaRun::new(
            target,
            &w.c("filemap", CBuild::MuslStatic),
            &["/tmp/filemap"],
        )
        .run();
        let _ = fs::remove_dir_all(root.join("maps"));
        let on_9p = LaminaRun {
            rootfs: Some((&root, false)),
            ..LaminaRun::new(target, Path::new("/bin/filemap"), &["/maps"])
        }
        .run();
        for (name, run) in [("tmpfs", &on_tmpfs), ("9P root", &on_9p)] {
            if run.stdout != native.stdout || run.status != native.status {
                return Err(format!(
                    "on the {name}\n{}\n{}",
                    describe("native", &native),
                    describe("lamina", run)
                ));
            }
        }
        match fs::read_to_string(root.join("maps/exit")) {
            Ok(text) if text == "at exit.." => Ok(()),
            other => Err(format!(
                "the exit did not write the shared mapping back: {other:?}"
            )),
        }
    });
}

/// tmpfs keeps file data in guest memory outside the kernel heap: 64 MiB
/// fit in the default 256M; filling it past half the guest's memory is
/// ENOSPC for the writer (as Linux's default tmpfs size), not an
/// out-of-memory kill.
#[test]
fn tmpfs_holds_big_files_and_fills_with_enospc() {
    let busybox = Path::new(BUSYBOX);
    on_targets(Depth::Full, |target| {
        let fits = LaminaRun::new(
            target,
            busybox,
            &["dd", "if=/dev/zero", "of=/tmp/f", "bs=1M", "count=64"],
        )
        .run();
        if fits.status != 0 || !fits.stderr.contains("64+0 records out") {
            return Err(describe("lamina", &fits));
        }
        let full = LaminaRun {
            memory: Some("64M"),
            ..LaminaRun::new(
                target,
                busybox,
                &["dd", "if=/dev/zero", "of=/tmp/f", "bs=1M", "count=100"],
            )
        }
        .run();
        if full.status == 1 && full.stderr.contains("No space left on device") {
            Ok(())
        } else {
            Err(format!(
                "expected ENOSPC from dd, status 1\n{}",
                describe("lamina", &full)
            ))
        }
    });
}

#[test]
fn rust_std_hello() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        assert_same_as_native(target, &w.rust_hello, &[], &[])?;
        assert_same_as_native(
            target,
            &w.rust_hello,
            &["one", "two words", "-h", ""],
            &[("RUST_BACKTRACE", "0"), ("GREETING", "hi there")],
        )
    });
}

#[test]
fn busybox_echo() {
    let w = workloads();
    on_targets(Depth::Representative, |target| {
        assert_same_as_native(target, &w.busybox, &["echo", "hi"], &[])
    });
}

/// The workload reads lamina's stdin: text, many lines, binary bytes, and
/// end of file; output and status must match the same pipeline natively.
#[test]
fn stdin_is_forwarded() {
    let w = workloads();
    let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let lines: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let cases: Vec<(&[&str], Vec<u8>)> = vec![
        (&["cat"], b"hello stdin\n".to_vec()),
        (&["wc", "-l"], lines.into_bytes()),
        (&["md5sum"], binary),
        (&["cat"], Vec::new()),
        (
            &["sh", "-c", "read a; read b; echo \"$b $a\"; exit 4"],
            b"one\ntwo\n".to_vec(),
        ),
    ];
    let pollstdin = w.c("pollstdin", CBuild::MuslStatic);
    // The console input path differs per VMM (QEMU's chardev socket, Cloud
    // Hypervisor's serial socket, Firecracker's stdin pipe).
    let cases: Vec<(&Path, &[&str], Vec<u8>)> = cases
        .into_iter()
        .map(|(args, input)| (w.busybox.as_path(), args, input))
        .chain([(pollstdin.as_path(), &[][..], b"ready\n".to_vec())])
        .collect();
    on_every_vmm(Depth::Representative, |target| {
        cases.iter().try_for_each(|(binary, args, input)| {
            let mut native = Command::new(binary);
            native.arg0(binary).args(*args).env_clear();
            let native = run_bounded_with_input(
                &mut native,
                Some(input.clone()),
                NATIVE_WALL_LIMIT,
                "native run",
            );
            let lamina = LaminaRun::new(target, binary, args).run_with_input(input);
            if native.stdout == lamina.stdout && native.status == lamina.status {
                return Ok(());
            }
            Err(format!(
                "{} {args:?} with {} bytes of stdin differs on {target}\n{}\n{}",
                binary.display(),
                input.len(),
                describe("native", &native),
                describe("lamina", &lamina)
            ))
        })
    });
}

#[test]
fn busybox_applets() {
    let w = workloads();
    let cases: &[&[&str]] = &[
        &["sh", "-c", "echo $((6*7)); exit 3"],
        &[
            "sh",
            "-c",
            "for i in 1 2 3; do echo \"line $i\"; done; x=abc; echo ${#x} ${x%c}",
        ],
        &["true"],
        &["false"],
        &["seq", "1", "100"],
        // Bulk output, in 16-byte bursts through the UART FIFO.
        &["seq", "1", "50000"],
        &["printf", "%s-%05d-%x|%c\\n", "word", "42", "255", "z"],
        &["echo", "-n", "no newline"],
        &["expr", "6", "*", "7"],
        &["basename", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
        &["env"],
        &["uname", "-s", "-m"],
    ];
    on_targets(Depth::Full, |target| {
        cases.iter().try_for_each(|args| {
            assert_same_as_native(target, &w.busybox, args, &[("HOME", "/"), ("FOO", "bar")])
        })
    });
}

// ---------------------------------------------------------------------------
// Resource limits.

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

// ---------------------------------------------------------------------------
// lamina's own failures: one line on stderr, documented status.

/// The first target of the matrix (microvm/tcg): these fail before booting.
fn default_target() -> Target {
    MATRIX[0]
}

#[test]
fn missing_program_is_127() {
    let missing = scratch_dir("missing").join("does-not-exist");
    let run = LaminaRun::new(default_target(), &missing, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_FOUND, "does-not-exist").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn text_file_is_126() {
    let text = scratch_dir("text").join("notes.txt");
    fs::write(&text, "this is not a program\n").expect("write the text file");
    fs::set_permissions(&text, fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = LaminaRun::new(default_target(), &text, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_EXECUTABLE, "").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn foreign_architecture_is_126() {
    let w = workloads();
    let mut image = fs::read(w.c("hello", CBuild::MuslStatic)).expect("read hello");
    image[ELF_E_MACHINE_OFFSET..ELF_E_MACHINE_OFFSET + 2]
        .copy_from_slice(&EM_AARCH64.to_le_bytes());
    let foreign = scratch_dir("foreign").join("hello-aarch64");
    fs::write(&foreign, image).expect("write the patched ELF");
    fs::set_permissions(&foreign, fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = LaminaRun::new(default_target(), &foreign, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_EXECUTABLE, "").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn dynamic_executable_is_126() {
    let w = workloads();
    let run = LaminaRun::new(default_target(), &w.dynamic_hello, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_EXECUTABLE, "dynamic").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn qemu_not_on_path_is_125() {
    let w = workloads();
    let empty = scratch_dir("empty-path");
    let path = empty.to_str().expect("the target directory is UTF-8");
    let run = LaminaRun {
        host_env: &[("PATH", path)],
        ..LaminaRun::new(default_target(), &w.c("hello", CBuild::MuslStatic), &[])
    }
    .run();
    expect_one_line_error(
        &run,
        EXIT_CANNOT_START_VM,
        "apt-get install qemu-system-x86",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The other VMMs need KVM and their binary; asking for them otherwise is
/// one line and 125, before anything starts.
#[test]
fn other_vmm_errors_are_125() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let empty = scratch_dir("empty-path");
    let empty = empty.to_str().expect("the target directory is UTF-8");
    let lamina = |args: &[&str], host_env: &[(&str, &str)]| {
        let mut command = Command::new(LAMINA);
        command
            .arg("run")
            .args(args)
            .arg(&hello)
            .envs(host_env.iter().copied());
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run")
    };
    struct Case<'a> {
        args: &'a [&'a str],
        host_env: &'a [(&'a str, &'a str)],
        needle: &'a str,
    }
    let cases = [
        Case {
            args: &["--vmm", "firecracker", "--accel", "tcg"],
            host_env: &[],
            needle: "runs only under KVM",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor", "--machine", "pc"],
            host_env: &[],
            needle: "--machine applies to --vmm qemu only",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor"],
            host_env: &[("LAMINA_KVM_DEVICE", "/nonexistent")],
            needle: "cannot use KVM: /nonexistent",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor"],
            host_env: &[("PATH", empty)],
            needle: "cloud-hypervisor not found",
        },
        Case {
            args: &["--vmm", "firecracker"],
            host_env: &[("PATH", empty)],
            needle: "firecracker not found",
        },
    ];
    for Case {
        args,
        host_env,
        needle,
    } in cases
    {
        // Without KVM the check for it comes first; the rest need it.
        if !kvm_usable() && needle.contains("not found") {
            continue;
        }
        expect_one_line_error(&lamina(args, host_env), EXIT_CANNOT_START_VM, needle)
            .unwrap_or_else(|e| panic!("lamina run {args:?}: {e}"));
    }
}

unsafe extern "C" {
    /// geteuid(2): root reads every directory, so "unreadable" needs another user.
    fn geteuid() -> u32;
}

/// A bad `--rootfs` is one line and 125 before anything starts, and
/// nothing is created in its place.
#[test]
fn rootfs_errors_are_125() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let scratch = scratch_dir("rootfs-errors");
    let missing = scratch.join("missing");
    let file = scratch.join("a-file");
    fs::write(&file, "not a directory\n").expect("write the file");
    let unreadable = scratch.join("unreadable");
    fs::create_dir_all(&unreadable).expect("create the directory");
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).expect("chmod");
    let lamina = |args: &[&OsStr]| {
        let mut command = Command::new(LAMINA);
        command.arg("run").args(args).arg(&hello);
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run")
    };
    let mut cases: Vec<(Vec<&OsStr>, &str)> = vec![
        (
            vec!["--rootfs".as_ref(), missing.as_os_str()],
            "missing: no such directory",
        ),
        (
            vec!["--rootfs".as_ref(), file.as_os_str()],
            "a-file: not a directory",
        ),
        (
            vec![
                "--vmm".as_ref(),
                "firecracker".as_ref(),
                "--rootfs".as_ref(),
                scratch.as_os_str(),
            ],
            "files on that VMM come with its virtio-vsock transport",
        ),
        (
            vec![
                "--vmm".as_ref(),
                "cloud-hypervisor".as_ref(),
                "--rootfs".as_ref(),
                scratch.as_os_str(),
            ],
            "files on that VMM come with its virtio-vsock transport",
        ),
    ];
    let missing_volume = format!("{}:/data", missing.display());
    let relative_guest = format!("{}:data", scratch.display());
    let volume_on_fc = format!("{}:/data", scratch.display());
    cases.extend([
        (vec!["-v".as_ref(), OsStr::new(&missing_volume)], "--volume"),
        (
            vec!["--volume".as_ref(), OsStr::new(&relative_guest)],
            "is not absolute",
        ),
        (
            vec!["--tmpfs".as_ref(), "scratch".as_ref()],
            "is not absolute",
        ),
        (
            vec![
                "--vmm".as_ref(),
                "firecracker".as_ref(),
                "-v".as_ref(),
                OsStr::new(&volume_on_fc),
            ],
            "files on that VMM come with its virtio-vsock transport",
        ),
    ]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { geteuid() } != 0 {
        cases.push((
            vec!["--rootfs".as_ref(), unreadable.as_os_str()],
            "unreadable: cannot list it: Permission denied",
        ));
    }
    for (args, needle) in cases {
        expect_one_line_error(&lamina(&args), EXIT_CANNOT_START_VM, needle)
            .unwrap_or_else(|e| panic!("lamina run {args:?}: {e}"));
    }
    assert!(!missing.exists(), "lamina created the missing --rootfs");
    // `--read-only` alone is a usage error too.
    expect_one_line_error(
        &lamina(&["--read-only".as_ref()]),
        EXIT_CANNOT_START_VM,
        "--rootfs <DIR>",
    )
    .unwrap_or_else(|e| panic!("lamina run --read-only: {e}"));
}

#[test]
fn unusable_kvm_is_125() {
    let w = workloads();
    let target = Target {
        accel: Accel::Kvm,
        ..default_target()
    };
    let run = LaminaRun {
        host_env: &[("LAMINA_KVM_DEVICE", "/nonexistent")],
        ..LaminaRun::new(target, &w.c("hello", CBuild::MuslStatic), &[])
    }
    .run();
    expect_one_line_error(&run, EXIT_CANNOT_START_VM, "").unwrap_or_else(|e| panic!("{e}"));
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
