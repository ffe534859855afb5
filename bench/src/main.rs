//! `lamina-bench`: lamina side by side with a Linux utility VM (Debian's
//! kernel and a busybox initramfs on the same QEMU `microvm`), with gVisor
//! and with the host, under each accelerator. Prints a markdown table, writes
//! `bench/results.md` and `bench/chart.png`. Run it through
//! `scripts/bench-compare`. gVisor (`runsc`) is the sandbox a user would
//! pick instead of lamina.

#![deny(unsafe_code)]

mod chart;
mod cpio;
mod gvisor;
mod parse;
mod report;
mod rows;
mod run;
mod server;
mod setup;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use report::{median, Cell, RowResult, Section};
use rows::{Group, LinuxCache, Row, Source, BOOT_PROGRAM, ROWS};
use setup::{step, Layout, Prepared, Share, SHARE_TAG};

/// A one-line error for the user.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error(err.to_string())
    }
}

const DEFAULT_MEMORY_MIB: u32 = 256;
/// `lamina run` refuses less (host/src/cli.rs, MIN_MEMORY_BYTES).
const LAMINA_MIN_MEMORY_MIB: u32 = 8;
const LINUX_MIN_MEMORY_MIB: u32 = 4;
const KIB: f64 = 1024.0;
const USAGE: &str = "\
usage: lamina-bench [--rows LIST] [--runs N] [--repeats N] [--accel tcg,kvm] [--bound-s S] [--file-bound-s S] [--no-build]
  --rows LIST   row groups to measure, comma-separated (default: all):
                  boot     boot to exit, in-guest boot, smallest -m, image size, QEMU RSS
                  core     syscall round trip, anonymous page fault
                  file     the file rows on the shared 9P directory
                  process  fork+exit+wait, fork+execve+wait, pipe throughput, ping-pong
                  net      TCP to a server on the host's 127.0.0.1: round trip, bulk each way
                  stdout   bulk stdout: lamina's ctl channel and serial line, Linux's ttyS0
                gVisor (runsc) is measured on the boot-to-exit, core, file and
                process rows
                (all groups write bench/results.md and bench/chart.png; a subset writes
                bench/results-GROUPS.md and bench/chart-GROUPS.png, e.g. results-process.md)
  --runs N      boot-to-exit runs per VM, interleaved (default 10, at least 10 for the record)
  --repeats N   runs of each program row per side (default 3)
  --accel LIST  accelerators to measure (default tcg,kvm; kvm is skipped if /dev/kvm does not open)
  --bound-s S   wall-time bound of one VM run in seconds (default 30)
  --file-bound-s S
                the bound of one run of a file row (9P) under TCG (default 120; under KVM
                file rows keep --bound-s: lamina's 9P requests are slow under kvm_pvm)
  --no-build    use the lamina already in target/release";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }

    /// The CPU model lamina itself asks for (host/src/qemu.rs).
    fn cpu(self) -> &'static str {
        match self {
            Accel::Tcg => "max",
            // As lamina's (host/src/qemu.rs): QEMU aborts on AMD hosts
            // handing `host`'s IA32_ARCH_CAPABILITIES to this KVM.
            Accel::Kvm => "host,-arch-capabilities",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Vm {
    Lamina,
    Linux,
    /// No VM: gVisor's sandbox (`runsc do`), measured as the third column.
    Gvisor,
}

impl Vm {
    fn name(self) -> &'static str {
        match self {
            Vm::Lamina => "lamina",
            Vm::Linux => "Linux guest",
            Vm::Gvisor => "gVisor",
        }
    }
}

struct Options {
    rows: BTreeSet<Group>,
    runs: usize,
    repeats: usize,
    accels: Vec<Accel>,
    bound: Duration,
    file_bound: Duration,
    build: bool,
}

fn parse_options() -> Result<Options, Error> {
    let mut options = Options {
        rows: Group::ALL.into_iter().collect(),
        runs: 10,
        repeats: 3,
        accels: vec![Accel::Tcg, Accel::Kvm],
        bound: Duration::from_secs(30),
        file_bound: Duration::from_secs(120),
        build: true,
    };
    let mut args = std::env::args().skip(1);
    let bad = |what: &str| Error(format!("{what}\n{USAGE}"));
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| bad(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--runs" => options.runs = value("--runs")?.parse().map_err(|_| bad("bad --runs"))?,
            "--repeats" => {
                options.repeats = value("--repeats")?
                    .parse()
                    .map_err(|_| bad("bad --repeats"))?
            }
            "--bound-s" => {
                let secs: u64 = value("--bound-s")?
                    .parse()
                    .map_err(|_| bad("bad --bound-s"))?;
                options.bound = Duration::from_secs(secs.max(1));
            }
            "--file-bound-s" => {
                let secs: u64 = value("--file-bound-s")?
                    .parse()
                    .map_err(|_| bad("bad --file-bound-s"))?;
                options.file_bound = Duration::from_secs(secs.max(1));
            }
            "--accel" => {
                options.accels = value("--accel")?
                    .split(',')
                    .map(|name| match name {
                        "tcg" => Ok(Accel::Tcg),
                        "kvm" => Ok(Accel::Kvm),
                        _ => Err(bad(&format!("unknown accelerator {name}"))),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--rows" => {
                options.rows = value("--rows")?
                    .split(',')
                    .map(|name| {
                        Group::parse(name).ok_or_else(|| bad(&format!("unknown row group {name}")))
                    })
                    .collect::<Result<_, _>>()?;
                if options.rows.is_empty() {
                    return Err(bad("--rows needs at least one group"));
                }
            }
            "--no-build" => options.build = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(bad(&format!("unknown argument {arg}"))),
        }
    }
    if options.runs == 0 || options.repeats == 0 {
        return Err(bad("--runs and --repeats must be at least 1"));
    }
    Ok(options)
}

fn kvm_opens() -> bool {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// One VM run, read.
struct VmRun {
    outcome: run::Outcome,
    ok: bool,
    results: BTreeMap<String, parse::Measurement>,
    in_guest_ms: Option<f64>,
}

/// What a VM run is wired to besides its program from the boot image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wiring {
    Plain,
    /// The shared directory: lamina's root over 9P (`--rootfs`, the program
    /// copied there); the Linux guest mounts it on /mnt with that cache mode,
    /// on the same virtio-9p device of `microvm`.
    Shared(LinuxCache),
    /// The bench's TCP server on the host's 127.0.0.1:`port`: lamina with
    /// `--allow-net 127.0.0.1:PORT`; the Linux guest with virtio-net on
    /// QEMU's user networking (10.0.2.15/24, the host at 10.0.2.2).
    Net {
        port: u16,
    },
    /// The program's stdout is the VM's output: lamina's stdout (over the
    /// ctl channel, or over the serial line with `lamina_serial`), the Linux
    /// guest's ttyS0 on QEMU's stdout.
    Console {
        lamina_serial: bool,
    },
}

impl Wiring {
    fn linux_cache(self) -> Option<LinuxCache> {
        match self {
            Wiring::Shared(cache) => Some(cache),
            _ => None,
        }
    }
}

/// Where the guests reach the host's loopback (QEMU's user networking and
/// lamina's forwarded sockets alike).
const GUEST_HOST_ADDR: &str = "10.0.2.2";
const NATIVE_HOST_ADDR: &str = "127.0.0.1";

struct Bench<'a> {
    prepared: &'a Prepared,
    accel: Accel,
    bound: Duration,
    file_bound: Duration,
    /// Why a VM stopped being run under this accelerator, once it timed out.
    gave_up: BTreeMap<&'static str, String>,
    /// VMs that have booted under this accelerator (reached their first user
    /// instruction, or finished a run): a later timeout of theirs is that
    /// row's alone and does not retire them.
    booted: BTreeSet<&'static str>,
    notes: Vec<String>,
}

impl Bench<'_> {
    /// The VM run of `program ARGS`, wired as `wiring` says.
    fn command(
        &self,
        vm: Vm,
        program: &str,
        args: &[&str],
        memory_mib: u32,
        wiring: Wiring,
    ) -> Command {
        let share = &self.prepared.share;
        match vm {
            Vm::Lamina => {
                let mut command = Command::new(&self.prepared.lamina);
                command
                    .args(["run", "--accel", self.accel.name(), "--machine", "microvm"])
                    .arg(format!("-m{memory_mib}M"))
                    .arg(format!("--timeout={}s", self.bound.as_secs()))
                    .arg("--verbose");
                match wiring {
                    Wiring::Net { port } => {
                        command.arg(format!("--allow-net={NATIVE_HOST_ADDR}:{port}"));
                    }
                    Wiring::Console {
                        lamina_serial: true,
                    } => {
                        command.env("LAMINA_NO_CHANNELS", "1");
                    }
                    _ => {}
                }
                match wiring {
                    Wiring::Shared(_) => command
                        .arg("--rootfs")
                        .arg(&share.dir)
                        .args(["-w", "/"])
                        .arg(Share::guest_program(program)),
                    _ => command.arg(&self.prepared.programs[program]),
                };
                command.args(args);
                command
            }
            Vm::Linux => {
                let mut command = Command::new("qemu-system-x86_64");
                command
                    .args(["-M", "microvm", "-accel", self.accel.name()])
                    .args(["-cpu", self.accel.cpu(), "-smp", "1"])
                    .arg("-m")
                    .arg(format!("{memory_mib}M"))
                    .args(["-nodefaults", "-no-user-config", "-display", "none"])
                    .args(["-no-reboot", "-serial", "stdio", "-kernel"])
                    .arg(&self.prepared.vmlinuz)
                    .arg("-initrd")
                    .arg(&self.prepared.initramfs);
                // microvm's ACPI tables (on by default) announce the
                // virtio-mmio device to Linux; with acpi=off QEMU would
                // append `virtio_mmio.device=` after the `--` of the
                // command line, into /init's arguments.
                let init_option = match wiring {
                    Wiring::Shared(cache) => {
                        let mut fsdev = std::ffi::OsString::from(format!(
                            "local,id={SHARE_TAG},security_model=none,path="
                        ));
                        fsdev.push(&share.dir);
                        command.arg("-fsdev").arg(fsdev).arg("-device").arg(format!(
                            "virtio-9p-device,fsdev={SHARE_TAG},mount_tag={SHARE_TAG}"
                        ));
                        format!("--share {} ", cache.mount_options())
                    }
                    Wiring::Net { .. } => {
                        command
                            .args(["-netdev", "user,id=n0"])
                            .args(["-device", "virtio-net-device,netdev=n0"]);
                        "--net ".to_string()
                    }
                    Wiring::Console { .. } => "--console ".to_string(),
                    Wiring::Plain => String::new(),
                };
                command.arg("-append").arg(format!(
                    "console=ttyS0 quiet loglevel=0 panic=-1{} -- {init_option}/bench/{program} {}",
                    self.linux_tsc_hint(),
                    args.join(" ")
                ));
                command
            }
            // Every gVisor run has the shared directory as its root (the
            // programs are in its bin/), as lamina's shared rows do;
            // `run_vm` has checked that runsc runs here.
            Vm::Gvisor => match &self.prepared.gvisor {
                Ok(gvisor) => gvisor.command(&share.dir, &Share::guest_program(program), args),
                Err(why) => unreachable!("a gVisor run without runsc ({why})"),
            },
        }
    }

    /// Under TCG the guest's TSC is the host's, and Linux's calibration of it
    /// against the PIT fails now and then on a busy host ("Unable to calibrate
    /// against PIT"), after which the guest hangs without a clocksource (lamina
    /// falls back to a default rate instead), so Linux is told the frequency.
    fn linux_tsc_hint(&self) -> String {
        match (self.accel, host_tsc_khz()) {
            (Accel::Tcg, Some(khz)) => format!(" tsc_early_khz={khz}"),
            _ => String::new(),
        }
    }

    fn run_vm(
        &mut self,
        vm: Vm,
        program: &str,
        args: &[&str],
        memory_mib: u32,
        bound: Duration,
        wiring: Wiring,
    ) -> Result<VmRun, String> {
        if let Some(why) = self.gave_up.get(vm.name()) {
            return Err(why.clone());
        }
        if let (Vm::Gvisor, Err(why)) = (vm, &self.prepared.gvisor) {
            return Err(why.clone());
        }
        if let Wiring::Shared(_) = wiring {
            self.prepared
                .share
                .fresh_scratch()
                .map_err(|err| format!("cannot empty scratch/: {err}"))?;
        }
        let mut command = self.command(vm, program, args, memory_mib, wiring);
        let outcome =
            run::bounded(&mut command, bound).map_err(|err| format!("cannot start: {err}"))?;
        let (results, ok, in_guest_ms) = match vm {
            Vm::Lamina => (
                parse::results(&outcome.stdout, None),
                outcome.succeeded(),
                parse::lamina_boot_us(&outcome.stderr).map(|us| us / 1000.0),
            ),
            Vm::Linux => {
                let results = parse::results(&outcome.stdout, Some(parse::LINUX_RESULT_MARKER));
                let exited_zero = results.get("exit_status").map(|m| m.value) == Some(0.0);
                let in_guest = results
                    .get("linux_kernel_to_init")
                    .map(|m| m.value * 1000.0);
                (results, outcome.succeeded() && exited_zero, in_guest)
            }
            // No guest kernel boots: gVisor has no in-guest boot figure.
            Vm::Gvisor => (
                parse::results(&outcome.stdout, None),
                outcome.succeeded(),
                None,
            ),
        };
        if ok || in_guest_ms.is_some() {
            self.booted.insert(vm.name());
        }
        Ok(VmRun {
            outcome,
            ok,
            results,
            in_guest_ms,
        })
    }

    /// Records a failed run: a timeout of a VM that has not yet booted
    /// retires it for the rest of this accelerator, so a guest that does not
    /// boot costs one bound; a slow row of a VM that boots costs only that
    /// row. A run that ended by itself without its figure (a non-zero exit,
    /// e.g. a system call lamina does not have yet) "fails", that row alone.
    fn failed(&mut self, vm: Vm, what: &str, run: &VmRun, bound: Duration) -> Cell {
        let mut why = run.outcome.failure(bound);
        let enosys = match vm {
            Vm::Lamina => parse::lamina_enosys(&run.outcome.stderr),
            Vm::Linux | Vm::Gvisor => Vec::new(),
        };
        if !enosys.is_empty() {
            // The last line is lamina's own log; what was missing says more.
            if let Some(status) = run.outcome.status {
                why = format!("exit status {status}");
            }
            why.push_str(&format!(
                "; lamina answered ENOSYS to {}",
                enosys.join(", ")
            ));
        }
        let mut note = format!("{} under {}: {what}: {why}", vm.name(), self.accel.name());
        if let Some(log) = self.keep_output(vm, what, &run.outcome) {
            note.push_str(&format!(" (output: {log})"));
        }
        if run.outcome.timed_out
            && !self.booted.contains(vm.name())
            && !self.gave_up.contains_key(vm.name())
        {
            self.gave_up.insert(
                vm.name(),
                format!("skipped after an earlier run did not finish ({what})"),
            );
            self.notes.push(format!(
                "{note}; its later rows under {} were skipped",
                self.accel.name()
            ));
        } else {
            self.notes.push(note);
        }
        if run.outcome.timed_out {
            Cell::DidNotFinish(why)
        } else {
            Cell::Fails(why)
        }
    }

    /// Writes a failed run's stdout and stderr to a file of their own under
    /// `Prepared::failed_logs`; returns its path relative to the repository.
    fn keep_output(&self, vm: Vm, what: &str, outcome: &run::Outcome) -> Option<String> {
        let name: String = format!("{}-{}-{what}", self.accel.name(), vm.name())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = self.prepared.failed_logs.join(format!("{name}.log"));
        let text = format!(
            "== stdout\n{}\n== stderr\n{}",
            outcome.stdout, outcome.stderr
        );
        fs::create_dir_all(&self.prepared.failed_logs).ok()?;
        fs::write(&path, text).ok()?;
        let root = setup::Layout::new().root;
        Some(
            path.strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string(),
        )
    }

    /// The cell of every gVisor row when runsc cannot run here.
    fn gvisor_unavailable(&self) -> Option<Cell> {
        self.prepared
            .gvisor
            .as_ref()
            .err()
            .map(|_| Cell::NotAvailable(GVISOR_UNAVAILABLE.into()))
    }

    /// Rows a, b and g: `hello` booted `runs` times per VM (and run in
    /// gVisor, when it runs here), interleaved.
    fn boot_runs(&mut self, runs: usize) -> BTreeMap<(BootFigure, Vm), Cell> {
        let mut wall = BTreeMap::<&str, Vec<f64>>::new();
        let mut in_guest = BTreeMap::<&str, Vec<f64>>::new();
        let mut rss = BTreeMap::<&str, Vec<f64>>::new();
        let mut failure = BTreeMap::<&str, Cell>::new();
        let sides: &[Vm] = match self.gvisor_unavailable() {
            None => &[Vm::Lamina, Vm::Linux, Vm::Gvisor],
            Some(cell) => {
                failure.insert(Vm::Gvisor.name(), cell);
                &[Vm::Lamina, Vm::Linux]
            }
        };
        for i in 0..runs {
            for &vm in sides {
                if failure.contains_key(vm.name()) && self.gave_up.contains_key(vm.name()) {
                    continue;
                }
                let bound = self.bound;
                match self.run_vm(
                    vm,
                    BOOT_PROGRAM,
                    &[],
                    DEFAULT_MEMORY_MIB,
                    bound,
                    Wiring::Plain,
                ) {
                    Ok(run) if run.ok => {
                        wall.entry(vm.name())
                            .or_default()
                            .push(run.outcome.wall.as_secs_f64() * 1000.0);
                        if let Some(ms) = run.in_guest_ms {
                            in_guest.entry(vm.name()).or_default().push(ms);
                        }
                        rss.entry(vm.name())
                            .or_default()
                            .push(run.outcome.peak_rss_kib as f64 / KIB);
                    }
                    Ok(run) => {
                        let what = format!("hello boot run {}", i + 1);
                        let cell = self.failed(vm, &what, &run, bound);
                        failure.insert(vm.name(), cell);
                    }
                    Err(why) => {
                        failure.insert(vm.name(), Cell::DidNotFinish(why));
                    }
                }
            }
        }
        let mut cells = BTreeMap::new();
        for vm in [Vm::Lamina, Vm::Linux, Vm::Gvisor] {
            for (source, samples) in [
                (BootFigure::Wall, &wall),
                (BootFigure::InGuest, &in_guest),
                (BootFigure::Rss, &rss),
            ] {
                let cell = match (samples.get(vm.name()), failure.get(vm.name())) {
                    (Some(s), _) if !s.is_empty() => Cell::Samples(s.clone()),
                    (_, Some(f)) => f.clone(),
                    _ => Cell::DidNotFinish("no samples".into()),
                };
                cells.insert((source, vm), cell);
            }
        }
        cells
    }

    /// Row e: the smallest `-m` in MiB at which `program` exits 0.
    fn min_memory(&mut self, vm: Vm, program: &str, bound: Duration) -> Cell {
        let floor = match vm {
            Vm::Lamina => LAMINA_MIN_MEMORY_MIB,
            Vm::Linux => LINUX_MIN_MEMORY_MIB,
            // A sandbox on the host's memory has no `-m` to bisect.
            Vm::Gvisor => return Cell::NotMeasured,
        };
        let passes = |mib: u32, bench: &mut Self| -> Result<bool, String> {
            let run = bench.run_vm(vm, program, &[], mib, bound, Wiring::Plain)?;
            Ok(run.ok)
        };
        match passes(DEFAULT_MEMORY_MIB, self) {
            Ok(true) => {}
            Ok(false) => {
                return Cell::Fails(format!("fails at {DEFAULT_MEMORY_MIB} MiB"));
            }
            Err(why) => return Cell::DidNotFinish(why),
        }
        if passes(floor, self) == Ok(true) {
            return Cell::AtMost(f64::from(floor));
        }
        let (mut failing, mut passing) = (floor, DEFAULT_MEMORY_MIB);
        while passing - failing > 1 {
            let mid = failing + (passing - failing) / 2;
            if passes(mid, self) == Ok(true) {
                passing = mid;
            } else {
                failing = mid;
            }
        }
        Cell::Samples(vec![f64::from(passing)])
    }

    /// A `Source::Program` or `Source::Shared` row in one VM: `repeats`
    /// runs, the `key` figure.
    fn program_row(
        &mut self,
        vm: Vm,
        program: &str,
        args: &[&str],
        key: &str,
        repeats: usize,
        wiring: Wiring,
    ) -> Cell {
        // File rows under TCG get their own bound (e.g. Linux's cache=none
        // small-file run takes a minute); under KVM the default.
        let bound = match (wiring, self.accel) {
            (Wiring::Shared(_), Accel::Tcg) => self.file_bound.max(self.bound),
            _ => self.bound,
        };
        let mut samples = Vec::new();
        for _ in 0..repeats {
            match self.run_vm(vm, program, args, DEFAULT_MEMORY_MIB, bound, wiring) {
                Ok(run) => match run.results.get(key) {
                    Some(m) if run.ok => samples.push(m.value),
                    _ => {
                        let what = match wiring.linux_cache() {
                            Some(cache) if vm == Vm::Linux => {
                                format!("{program} (cache={})", cache.name())
                            }
                            _ => program.to_string(),
                        };
                        return self.failed(vm, &what, &run, bound);
                    }
                },
                Err(why) => return Cell::DidNotFinish(why),
            }
        }
        Cell::samples(samples)
    }

    /// One run of a net or stdout row on one side (`None`: natively): its
    /// figure, or the cell that says why there is none.
    fn io_once(&mut self, side: Option<Vm>, io: IoRow, net_port: Option<u16>) -> Result<f64, Cell> {
        match io {
            IoRow::Net { mode, count, key } => {
                let Some(port) = net_port else {
                    return Err(Cell::NotAvailable("no server".into()));
                };
                let Some(vm) = side else {
                    let args = net_args(NATIVE_HOST_ADDR, port, mode, count);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    return native_once(self.prepared, NET_PROGRAM, &args, key, self.bound, false);
                };
                let args = net_args(GUEST_HOST_ADDR, port, mode, count);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let wiring = Wiring::Net { port };
                let bound = self.bound;
                let run = self
                    .run_vm(vm, NET_PROGRAM, &args, DEFAULT_MEMORY_MIB, bound, wiring)
                    .map_err(Cell::DidNotFinish)?;
                match run.results.get(key) {
                    Some(m) if run.ok => Ok(m.value),
                    _ => {
                        if let Some(why) = net_unavailable(vm, wiring, &run) {
                            self.keep_output(vm, NET_PROGRAM, &run.outcome);
                            return Err(Cell::NotAvailable(why));
                        }
                        Err(self.failed(vm, &format!("{NET_PROGRAM} {mode}"), &run, bound))
                    }
                }
            }
            IoRow::Stdout {
                block,
                count,
                lamina_serial,
            } => {
                let args = [block, count];
                let mut command = match side {
                    Some(vm) => {
                        if let Some(why) = self.gave_up.get(vm.name()) {
                            return Err(Cell::DidNotFinish(why.clone()));
                        }
                        let wiring = Wiring::Console { lamina_serial };
                        self.command(vm, STDOUT_PROGRAM, &args, DEFAULT_MEMORY_MIB, wiring)
                    }
                    None => {
                        let mut command = Command::new(&self.prepared.programs[STDOUT_PROGRAM]);
                        command.args(args);
                        command
                    }
                };
                match (count_stdout(&mut command, self.bound), side) {
                    (Ok((_, rate)), Some(vm)) => {
                        self.booted.insert(vm.name());
                        Ok(rate)
                    }
                    (Ok((_, rate)), None) => Ok(rate),
                    (Err((outcome, why)), None) => Err(Cell::Fails(format!(
                        "{why}: {}",
                        outcome.failure(self.bound)
                    ))),
                    (Err((outcome, _)), Some(vm)) => {
                        let run = VmRun {
                            outcome,
                            ok: false,
                            results: BTreeMap::new(),
                            in_guest_ms: None,
                        };
                        let bound = self.bound;
                        Err(self.failed(vm, &format!("{STDOUT_PROGRAM} {block}"), &run, bound))
                    }
                }
            }
        }
    }

    /// A net or stdout row: `repeats` rounds, each one run per wanted side
    /// in turn (lamina, the Linux guest, natively), so that a slow spell of
    /// the host falls on all three alike. A side stops at its first run
    /// without a figure. Returns the cells of lamina, Linux and native.
    fn io_row(
        &mut self,
        io: IoRow,
        sides: [bool; 3],
        repeats: usize,
        net_port: Option<u16>,
    ) -> [Cell; 3] {
        let places = [Some(Vm::Lamina), Some(Vm::Linux), None];
        let mut samples: [Vec<f64>; 3] = Default::default();
        let mut cells = [Cell::NotMeasured, Cell::NotMeasured, Cell::NotMeasured];
        for _ in 0..repeats {
            for (slot, side) in places.into_iter().enumerate() {
                if !sides[slot] || cells[slot] != Cell::NotMeasured {
                    continue;
                }
                match self.io_once(side, io, net_port) {
                    Ok(value) => samples[slot].push(value),
                    Err(cell) => cells[slot] = cell,
                }
            }
        }
        for (slot, found) in samples.into_iter().enumerate() {
            if sides[slot] && cells[slot] == Cell::NotMeasured {
                cells[slot] = Cell::samples(found);
            }
        }
        cells
    }
}

/// A net or stdout row's source, the part `Bench::io_once` needs.
#[derive(Debug, Clone, Copy)]
enum IoRow {
    Net {
        mode: &'static str,
        count: &'static str,
        key: &'static str,
    },
    Stdout {
        block: &'static str,
        count: &'static str,
        lamina_serial: bool,
    },
}

/// A gVisor cell when runsc cannot run here; the note says why.
const GVISOR_UNAVAILABLE: &str = "runsc does not run here";

/// The program of the stdout rows (`bench/programs/zeros.c`).
const STDOUT_PROGRAM: &str = "zeros";
/// The program of the net rows (`bench/programs/netclient.c`).
const NET_PROGRAM: &str = "netclient";

/// `netclient ADDR PORT MODE COUNT SECONDS`'s arguments.
fn net_args(addr: &str, port: u16, mode: &str, count: &str) -> Vec<String> {
    [addr, &port.to_string(), mode, count, rows::NET_SECONDS]
        .map(str::to_string)
        .to_vec()
}

/// The rate at which `command`'s stdout delivered zeros (MB/s), or why not.
fn count_stdout(
    command: &mut Command,
    bound: Duration,
) -> Result<(run::Outcome, f64), (run::Outcome, String)> {
    match run::count_zeros(command, rows::STDOUT_MAX_BYTES, rows::STDOUT_WINDOW, bound) {
        Ok((outcome, count)) => match count.rate_mb_s() {
            Some(rate) if !outcome.timed_out => Ok((outcome, rate)),
            _ => Err((outcome, "no stdout counted".into())),
        },
        Err(err) => Err((
            run::Outcome {
                status: None,
                timed_out: false,
                wall: Duration::ZERO,
                stdout: String::new(),
                stderr: format!("cannot start: {err}"),
                peak_rss_kib: 0,
            },
            err.to_string(),
        )),
    }
}

/// A lamina net run whose connect itself failed (`netclient` exits 3): the
/// kernel has no way to the host for this socket, so the row is n/a rather
/// than a failure of the program.
fn net_unavailable(vm: Vm, wiring: Wiring, run: &VmRun) -> Option<String> {
    if vm != Vm::Lamina || !matches!(wiring, Wiring::Net { .. }) || run.outcome.status != Some(3) {
        return None;
    }
    let error = run
        .outcome
        .stderr
        .lines()
        .chain(run.outcome.stdout.lines())
        .find_map(|line| line.split_once("netclient: connect ").map(|(_, rest)| rest))?;
    let error = error.split_once(": ").map_or(error, |(_, why)| why).trim();
    Some(format!(
        "the guest's connect() to {GUEST_HOST_ADDR} fails ({error}): no forwarded sockets in this lamina"
    ))
}

/// The figures that the boot runs give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum BootFigure {
    Wall,
    InGuest,
    Rss,
}

/// A row run natively; `shared`: in the shared directory, with a fresh
/// `scratch/` each time.
fn native_row(
    prepared: &Prepared,
    program: &str,
    args: &[&str],
    key: &str,
    repeats: usize,
    bound: Duration,
    shared: bool,
) -> Cell {
    let mut samples = Vec::new();
    for _ in 0..repeats {
        match native_once(prepared, program, args, key, bound, shared) {
            Ok(value) => samples.push(value),
            Err(cell) => return cell,
        }
    }
    Cell::samples(samples)
}

/// One native run of `program ARGS`: its `key` figure.
fn native_once(
    prepared: &Prepared,
    program: &str,
    args: &[&str],
    key: &str,
    bound: Duration,
    shared: bool,
) -> Result<f64, Cell> {
    let mut command = Command::new(&prepared.programs[program]);
    command.args(args);
    if shared {
        prepared
            .share
            .fresh_scratch()
            .map_err(|err| Cell::DidNotFinish(err.to_string()))?;
        command.current_dir(&prepared.share.dir);
    }
    let outcome =
        run::bounded(&mut command, bound).map_err(|err| Cell::DidNotFinish(err.to_string()))?;
    match parse::results(&outcome.stdout, None).get(key) {
        Some(m) if outcome.succeeded() => Ok(m.value),
        _ if outcome.timed_out => Err(Cell::DidNotFinish(outcome.failure(bound))),
        _ => Err(Cell::Fails(outcome.failure(bound))),
    }
}

/// The host's TSC frequency, which /proc/cpuinfo gives as "cpu MHz" on CPUs
/// with a constant TSC.
fn host_tsc_khz() -> Option<u64> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").ok()?;
    if !cpuinfo.contains("constant_tsc") {
        return None;
    }
    let mhz: f64 = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("cpu MHz"))?
        .split_once(':')?
        .1
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0).round() as u64)
}

fn file_kib(path: &Path) -> f64 {
    fs::metadata(path)
        .map(|m| m.len() as f64 / KIB)
        .unwrap_or(f64::NAN)
}

fn measure(
    accel: Accel,
    prepared: &Prepared,
    options: &Options,
    native: &BTreeMap<usize, Cell>,
    net_port: Option<u16>,
) -> Section {
    let mut bench = Bench {
        prepared,
        accel,
        bound: options.bound,
        file_bound: options.file_bound,
        gave_up: BTreeMap::new(),
        booted: BTreeSet::new(),
        notes: Vec::new(),
    };
    // A `Shared` row's lamina figure does not depend on the Linux cache mode:
    // its variants measure lamina once.
    let mut shared_cells = BTreeMap::<String, Cell>::new();
    let selected = || ROWS.iter().filter(|row| options.rows.contains(&row.group));
    let boot_wanted = selected().any(|row| {
        matches!(
            row.source,
            Source::BootWall | Source::BootInGuest | Source::BootPeakRss
        )
    });
    let boot = if boot_wanted {
        step(&format!(
            "{}: {} interleaved boot runs of hello per VM",
            accel.name(),
            options.runs
        ));
        bench.boot_runs(options.runs)
    } else {
        BTreeMap::new()
    };
    // Bisection runs get a tighter bound: a few boot times, not the default.
    let bisect_bound = |bench: &Bench, vm: Vm| match boot.get(&(BootFigure::Wall, vm)) {
        Some(Cell::Samples(ms)) => Duration::from_millis((median(ms) * 4.0) as u64)
            .max(Duration::from_secs(5))
            .min(bench.bound),
        _ => bench.bound,
    };

    let mut rows = Vec::new();
    for (index, row) in ROWS.iter().enumerate() {
        if !options.rows.contains(&row.group) {
            continue;
        }
        let Row { sides, .. } = *row;
        let io = match row.source {
            Source::Net { mode, count, key } => Some(IoRow::Net { mode, count, key }),
            Source::Stdout {
                block,
                count,
                lamina_serial,
            } => Some(IoRow::Stdout {
                block,
                count,
                lamina_serial,
            }),
            _ => None,
        };
        if let Some(io) = io {
            step(&format!("{}: {}, interleaved", accel.name(), row.short));
            let mut wanted = [sides.lamina, sides.linux, sides.native];
            // A serial row's Linux figure is the ttyS0 one of the row with
            // the same block (already measured, or measured here once).
            let linux_memo = match io {
                IoRow::Stdout { block, count, .. } => Some(format!("ttyS0 {block} {count}")),
                IoRow::Net { .. } => None,
            };
            let known = linux_memo
                .as_ref()
                .and_then(|m| shared_cells.get(m))
                .cloned();
            if known.is_some() {
                wanted[1] = false;
            }
            let [lamina, linux, native] = bench.io_row(io, wanted, options.repeats, net_port);
            let linux = known.unwrap_or(linux);
            if let Some(memo) = linux_memo {
                shared_cells.insert(memo, linux.clone());
            }
            rows.push(RowResult {
                label: row.label.to_string(),
                short: row.short.to_string(),
                unit: row.unit.to_string(),
                higher_is_better: row.higher_is_better,
                lamina,
                linux,
                // gVisor is measured on the core, process, file and boot
                // rows only (`rows::Sides`).
                gvisor: Cell::NotMeasured,
                native,
            });
            continue;
        }
        let mut cells = [Cell::NotMeasured, Cell::NotMeasured, Cell::NotMeasured];
        for (slot, vm) in [Vm::Lamina, Vm::Linux, Vm::Gvisor].into_iter().enumerate() {
            let wanted = match vm {
                Vm::Lamina => sides.lamina,
                Vm::Linux => sides.linux,
                Vm::Gvisor => sides.gvisor,
            };
            if !wanted {
                continue;
            }
            if let (Vm::Gvisor, Some(cell)) = (vm, bench.gvisor_unavailable()) {
                cells[slot] = cell;
                continue;
            }
            cells[slot] = match row.source {
                Source::BootWall => boot[&(BootFigure::Wall, vm)].clone(),
                Source::BootInGuest => boot[&(BootFigure::InGuest, vm)].clone(),
                Source::BootPeakRss => boot[&(BootFigure::Rss, vm)].clone(),
                Source::Program { program, args, key } => {
                    step(&format!(
                        "{}: {program} {} in {}",
                        accel.name(),
                        args.join(" "),
                        vm.name()
                    ));
                    bench.program_row(vm, program, args, key, options.repeats, Wiring::Plain)
                }
                Source::Net { .. } | Source::Stdout { .. } => {
                    unreachable!("measured by io_row above")
                }
                Source::Shared {
                    program,
                    args,
                    key,
                    linux_cache,
                } => {
                    let how = match vm {
                        Vm::Lamina => "9P root".to_string(),
                        Vm::Linux => format!("v9fs cache={}", linux_cache.name()),
                        Vm::Gvisor => "gofer root".to_string(),
                    };
                    let memo = format!("{how} {program} {args:?} {key}");
                    if let Some(cell) = shared_cells.get(&memo) {
                        cell.clone()
                    } else {
                        step(&format!(
                            "{}: {program} {} in {} ({how})",
                            accel.name(),
                            args.join(" "),
                            vm.name()
                        ));
                        let cell = bench.program_row(
                            vm,
                            program,
                            args,
                            key,
                            options.repeats,
                            Wiring::Shared(linux_cache),
                        );
                        shared_cells.insert(memo, cell.clone());
                        cell
                    }
                }
                Source::MinMemory { program } => {
                    step(&format!(
                        "{}: bisect -m for {program} in {}",
                        accel.name(),
                        vm.name()
                    ));
                    let bound = bisect_bound(&bench, vm);
                    bench.min_memory(vm, program, bound)
                }
                Source::ImageSize => match vm {
                    Vm::Lamina => Cell::Samples(vec![file_kib(&prepared.lamina_kernel)]),
                    Vm::Linux => Cell::Samples(vec![
                        file_kib(&prepared.vmlinuz) + file_kib(&prepared.initramfs),
                    ]),
                    Vm::Gvisor => Cell::NotMeasured,
                },
            };
        }
        let [lamina, linux, gvisor] = cells;
        rows.push(RowResult {
            label: row.label.to_string(),
            short: row.short.to_string(),
            unit: row.unit.to_string(),
            higher_is_better: row.higher_is_better,
            lamina,
            linux,
            gvisor,
            native: native.get(&index).cloned().unwrap_or(Cell::NotMeasured),
        });
    }
    if let Err(why) = &prepared.gvisor {
        if selected().any(|row| row.sides.gvisor) {
            bench
                .notes
                .push(format!("gVisor: {GVISOR_UNAVAILABLE}: {why}"));
        }
    }
    Section {
        title: format!("microvm, {}", accel.name().to_uppercase()),
        rows,
        notes: bench.notes,
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine_description(accels: &str) -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let qemu = command_output("qemu-system-x86_64", &["--version"]);
    let qemu = qemu.lines().next().unwrap_or("QEMU: unknown");
    format!("{model}, {cores} cores; {qemu}; accelerators: {accels}")
}

/// The first three fields of /proc/loadavg: other work on the host skews
/// every figure, the native ones too.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn accel_description(accels: &[Accel]) -> String {
    accels
        .iter()
        .map(|a| match a {
            Accel::Tcg => "TCG".to_string(),
            Accel::Kvm if Path::new("/sys/module/kvm_pvm").exists() => {
                "KVM (nested kvm_pvm: no hardware virtualization, every ring transition exits to the host)".into()
            }
            Accel::Kvm => "KVM".into(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const METHOD: &str = "\
How each row is measured (same QEMU, same `microvm` machine, `-smp 1`, 256 MiB unless bisecting;
lamina's CPU model under each accelerator is also the Linux guest's: `max` under TCG, `host` under KVM):

- *boot to exit*: wall time of the whole VM run of a static `hello`, from spawning the process
  (`lamina run -v hello`; `qemu-system-x86_64 ... -kernel vmlinuz -initrd initramfs`) to reaping it,
  runs interleaved lamina/Linux/lamina/...; median (min–max). The Linux guest's run includes qboot,
  decompressing the bzImage, booting, loading the utility VM's modules (virtio transports, 9P, virtio-net,
  vsock) and `poweroff -f`.
- *in-guest boot*: lamina: its `boot: entry to user mode` log line (TSC from kernel entry); Linux: the
  printk timestamp of `Run /init as init process` (its clock starts at early kernel setup, so it leaves out
  qboot and the bzImage decompressor, which lamina does not have).
- *syscall*, *page fault*: the same static musl binaries (`bench/programs/`) natively, in lamina and in the
  Linux guest; median (min–max) of the repeats.
- *smallest guest memory*: bisection over whole MiB of `-m` between a floor (lamina: 8, the least `lamina
  run` accepts; Linux: 4) and 256; `≤ 8` means the floor itself runs.
- *image size*: what the host ships to boot: lamina's kernel ELF; Debian's vmlinuz plus the initramfs
  (busybox, modules, init, benchmark programs; gzip -9).
- *peak host RSS*: `ru_maxrss` from `wait4` on the process spawned. For Linux that is QEMU itself; for lamina
  it is the larger of `lamina` and the QEMU it spawned and reaped (the kernel folds a reaped child's peak into
  its parent's), i.e. QEMU's.
- *file rows* (issue 7; a run's bound is `--file-bound-s`, 120 s, under TCG and `--bound-s` under KVM): one host directory, `target/bench-compare/share`, served by QEMU's own 9P server
  (`-fsdev local,security_model=none` + `-device virtio-9p-device`, mount tag `share`) to both guests:
  lamina gets it as its root (`lamina run --rootfs DIR -w / /bin/PROGRAM`, the programs copied into `DIR/bin`;
  its client asks for msize 512 KiB); the Linux guest's /init mounts it on /mnt with
  `mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=none` (row variant `cache=loose`: v9fs's
  page cache and dentry/attribute caching, its best mode here) and runs the program from the initramfs in
  /mnt (microvm's default ACPI tables announce the virtio-mmio device to Linux; lamina's own microvm line has
  `acpi=off` and reads `virtio_mmio.device=`). Natively the same binaries run with the directory as working
  directory. Arguments are relative paths in it. Prepared once: `data/seq-256m` (256 MiB of xorshift bytes,
  read once on the host first so every side reads from the host's page cache) and `data/tree` (20 × 9 × 110:
  20,000 entries, empty files); `scratch/` is emptied before every run. Each program times itself
  (CLOCK_MONOTONIC in the guest): *sequential read*: `open`, 1 MiB `read()`s to EOF, `close`; *sequential
  write*: `open(O_CREAT|O_EXCL)`, 256 × 1 MiB `write()`, `fsync`, `close` (so the bytes are in the host file
  and the host's fsync is paid by all three; the program also prints the rate without the fsync); MB is 10^6
  bytes. *small files*: one op is one file's create (`open(O_CREAT|O_EXCL)`, `write` 64 bytes, `close`),
  `stat` and `unlink`, done as three passes over 5,000 files in a new directory; ops/s over the three passes.
  *tree walk*: `opendir`/`readdir` of every directory and `lstat` of every entry by its path, as `ls -lR` does,
  without printing; ms. For the rates (MB/s, ops/s) a lamina/Linux ratio above 1 means lamina is faster; the
  chart plots their inverse so that below 1 always means lamina is better. A row's lamina and native figures
  are measured once and shown on both of its Linux cache variants.
- *process rows* (issue 8; `--rows process` measures only these): static musl programs, each timing itself
  (CLOCK_MONOTONIC) over at most a count of rounds or 2 s, whichever ends first, after a few untimed rounds;
  the mean per round, median (min–max) of the repeats. Natively each pins itself (and so its children) to one
  CPU, as the guests have one. *fork*: `fork()`, the child `_exit(0)`s, `waitpid()`; µs per round.
  *fork+execve*: the same with the child `execve()`ing `bin/true` (a static musl `int main(void){return 0;}`),
  a path relative to the shared directory as the file rows have it, so the program is read over 9P in both
  guests (lamina: its `--rootfs`; Linux: its v9fs mount with that row's cache mode, the running program from
  its initramfs) and from the host's file system natively. *pipe*: a child `write()`s 64 KiB chunks into a
  pipe until 512 MiB or 2 s, the parent `read()`s 64 KiB at a time to EOF; MB/s (10^6 bytes) from the end of
  the first chunk to EOF. *ping-pong*: parent and child bounce one byte over two pipes (write, then read the
  answer); µs per round trip, i.e. two context switches on one CPU. A cell reads *fails* when the program
  ran and exited without its figure (e.g. a system call the kernel does not have: the note says which line it
  left), *did not finish* when it ran out of its bound.
- *net rows* (issue 9; `--rows net`): one static client, `bench/programs/netclient.c`, against a server in the
  bench itself (`bench/src/server.rs`, std::net on 127.0.0.1, an ephemeral port; traffic never leaves the host's
  loopback). Natively the client dials 127.0.0.1; both guests dial 10.0.2.2: lamina's forwarded sockets
  (`lamina run --allow-net 127.0.0.1:PORT`, the host proxy connecting to the server), the Linux guest's
  virtio-net on QEMU's user networking (`-netdev user,id=n0 -device virtio-net-device,netdev=n0` on the same
  `microvm`; its /init brings up eth0 as 10.0.2.15/24). *round trip*: one byte to the server's echo and back,
  `TCP_NODELAY` on both ends, each round trip timed on its own (CLOCK_MONOTONIC), at most 2,000 or 3 s after
  100 untimed; the median of a run, and the table shows the median (min–max) of the runs' medians. *bulk*: 64
  MiB (or 3 s) in 64 KiB `write()`s to a server that reads to EOF and answers with its count (timed from the
  first write to that answer), and 64 MiB (or 3 s) the server writes, read in 64 KiB `read()`s; MB is 10^6
  bytes. A lamina cell reads *n/a* when the guest's `connect()` itself fails (a lamina without forwarded
  sockets).
- *stdout rows* (`--rows stdout`): `bench/programs/zeros.c BLOCK COUNT` writes 256 MiB of zeros to fd 1 in
  `write()`s of BLOCK bytes, as `dd if=/dev/zero bs=BLOCK` does; the bench reads the bytes where they reach the
  host, in 64 KiB reads from a pipe, counting NUL bytes only (the Linux guest's console also carries kernel
  text), from the end of the first read with any to the last, for at most 256 MiB or 3 s, then kills the run;
  MB/s. lamina: its stdout over the ctl channel (virtio-console port); *serial* rows: the same with
  `LAMINA_NO_CHANNELS=1`, which leaves QEMU's virtio-serial device out so the kernel writes stdout to the
  serial line, as before the channels. The Linux guest: its /init runs the program with stdout on
  /dev/console, `console=ttyS0`, QEMU's `-serial stdio` (the 8250 driver, default termios); both serial rows
  show that one figure. Natively: a pipe to the same reader.
- *gVisor column* (issue 14): Debian's `runsc` (the one on PATH if it runs `hello` here, else Debian's package
  unpacked into `bench/cache`), no VM and so the same under every accelerator, measured again in each
  accelerator's section among that section's runs: in the boot runs' rotation (lamina, Linux, gVisor, lamina,
  ...) and after the Linux guest's repeats of every core, process and file row. One command line:
  `runsc --root STATE --rootless --network=none --platform=ptrace do -force-overlay=false -cwd / -root SHARE
  /bin/PROGRAM ARGS`, with SHARE the file rows' shared directory (the same static musl programs in its `bin/`),
  so the file rows read and write the host directory the other columns do, through runsc's gofer (the root
  mount's default `--file-access=exclusive`: the sentry caches it as its own); `-force-overlay=false` leaves out
  `do`'s tmpfs overlay, which would keep the writes in the sandbox. Platform ptrace: this runsc has ptrace and
  kvm only, and kvm does not start under a nested `kvm_pvm`. *boot to exit* is the wall time of `runsc do
  hello` (sandbox, gofer and sentry start, the program, teardown); gVisor boots no guest kernel, so *in-guest
  boot*, *smallest guest memory*, *image size* and *QEMU RSS* are `–`, as are the net and stdout rows. The
  sandbox sees the host's CPUs (the process programs' pinning is the sentry's own affair), where the guests
  have one. `lamina/gVisor` is lamina's figure over gVisor's, as `lamina/Linux`. When no runsc runs here the
  gVisor cells read *n/a* and the note under the table says why.
";

/// Where the results and the chart go: `results.md` and `chart.png` for the
/// whole set of rows, `results-GROUPS.md` and `chart-GROUPS.png` for a subset
/// (so that measuring one group does not overwrite the full record).
fn output_names(rows: &BTreeSet<Group>) -> (String, String) {
    if rows.len() == Group::ALL.len() {
        return ("results.md".into(), "chart.png".into());
    }
    let groups = rows.iter().map(|g| g.name()).collect::<Vec<_>>().join("-");
    (
        format!("results-{groups}.md"),
        format!("chart-{groups}.png"),
    )
}

fn real_main() -> Result<(), Error> {
    let mut options = parse_options()?;
    if options.accels.contains(&Accel::Kvm) && !kvm_opens() {
        eprintln!("note: /dev/kvm does not open; measuring TCG only");
        options.accels.retain(|a| *a != Accel::Kvm);
    }
    let layout = Layout::new();
    let gvisor_wanted = ROWS
        .iter()
        .any(|row| options.rows.contains(&row.group) && row.sides.gvisor);
    let prepared = setup::prepare(
        &layout,
        options.build,
        options.rows.contains(&Group::File),
        gvisor_wanted,
    )?;
    match &prepared.gvisor {
        Ok(gvisor) => eprintln!("gVisor: {}", gvisor.description),
        Err(why) if gvisor_wanted => eprintln!("note: gVisor not measured: {why}"),
        Err(_) => {}
    }
    eprintln!(
        "Linux guest: {}; modules: {}",
        prepared.vmlinuz.display(),
        prepared.modules.join(" ")
    );

    let net_port = if options.rows.contains(&Group::Net) {
        let port = server::start()?;
        eprintln!("net rows: the server listens on 127.0.0.1:{port}");
        Some(port)
    } else {
        None
    };

    step("native runs");
    let mut native = BTreeMap::new();
    let mut native_cells = BTreeMap::<String, Cell>::new();
    for (index, row) in ROWS.iter().enumerate() {
        if !options.rows.contains(&row.group) || !row.sides.native {
            continue;
        }
        let (program, args, key, shared) = match row.source {
            Source::Program { program, args, key } => (program, args, key, false),
            Source::Shared {
                program, args, key, ..
            } => (program, args, key, true),
            _ => continue,
        };
        if !row.sides.native {
            continue;
        }
        let memo = format!("{program} {args:?} {key} {shared}");
        let cell = native_cells
            .entry(memo)
            .or_insert_with(|| {
                native_row(
                    &prepared,
                    program,
                    args,
                    key,
                    options.repeats,
                    options.bound,
                    shared,
                )
            })
            .clone();
        native.insert(index, cell);
    }

    let load_before = load_average();
    let sections: Vec<Section> = options
        .accels
        .iter()
        .map(|&accel| measure(accel, &prepared, &options, &native, net_port))
        .collect();

    let table = report::markdown(&sections);
    println!("{table}");

    let command = std::env::var("LAMINA_BENCH_COMMAND")
        .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let machine = machine_description(&accel_description(&options.accels));
    let load = format!(
        "host load average (1, 5, 15 min) when the measurements started: {load_before}; when they ended: {}",
        load_average()
    );
    let bench_dir = layout.root.join("bench");
    let (results_name, chart_name) = output_names(&options.rows);
    let chart_path = bench_dir.join(&chart_name);
    let any_ratio = sections
        .iter()
        .any(|s| s.rows.iter().any(|r| r.cost_ratio().is_some()));
    let chart_drawn = match &prepared.font {
        Some(font) if any_ratio => {
            chart::draw(&sections, font, &chart_path)?;
            true
        }
        Some(_) => {
            eprintln!("note: no row has both a lamina and a Linux figure; {chart_name} not drawn");
            false
        }
        None => {
            eprintln!("note: no DejaVuSans.ttf found or fetched; {chart_name} not drawn");
            false
        }
    };
    if !chart_drawn {
        // An older chart of this name would not match these results.
        let _ = fs::remove_file(&chart_path);
    }
    let chart_link = if chart_drawn {
        format!("![lamina/Linux ratios]({chart_name})\n\n")
    } else {
        String::new()
    };
    let gvisor = match &prepared.gvisor {
        Ok(runsc) => format!("`{}`, platform {}", runsc.description, gvisor::PLATFORM),
        Err(why) if gvisor_wanted => format!("not measured: {why}"),
        Err(_) => "no gVisor row selected".into(),
    };
    let results = format!(
        "# lamina versus a Linux utility VM and gVisor\n\n\
         Measured {date} on {machine}; {load}.\n\n\
         Command: `{command}`\n\n\
         Linux guest: Debian's `{}` with a busybox initramfs; modules loaded: {}.\n\n\
         gVisor: {gvisor}.\n\n\
         {table}{chart_link}## Method\n\n{METHOD}",
        prepared
            .vmlinuz
            .file_name()
            .unwrap_or_default()
            .to_string_lossy(),
        prepared.modules.join(", "),
    );
    fs::write(bench_dir.join(&results_name), results)?;
    if chart_drawn {
        eprintln!("wrote bench/{results_name} and bench/{chart_name}");
    } else {
        eprintln!("wrote bench/{results_name}");
    }
    Ok(())
}

fn main() {
    if let Err(err) = real_main() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
