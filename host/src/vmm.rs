//! The VMMs that boot lamina, and the guard that owns the VMM process.
//!
//! QEMU, Cloud Hypervisor and Firecracker all start a PVH ELF kernel with
//! the boot bundle as its first module and carry the guest's COM1 to
//! lamina, each its own way: QEMU connects its serial chardev to a unix
//! socket lamina listens on, Cloud Hypervisor listens on one that lamina
//! connects to, and Firecracker uses its stdin and stdout, which lamina
//! makes pipes. The console reader sees the same byte stream from all.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::cli::{MemorySize, Vmm};
use crate::qemu::KernelCmdline;

/// What every VMM is given.
#[derive(Debug, Clone)]
pub struct VmSpec {
    pub memory: MemorySize,
    pub kernel: PathBuf,
    pub bundle: PathBuf,
    pub kernel_cmdline: KernelCmdline,
}

impl Vmm {
    /// The program started for this VMM, looked up on PATH.
    pub fn binary(self) -> &'static str {
        match self {
            Self::Qemu => crate::qemu::QEMU_BINARY,
            Self::CloudHypervisor => "cloud-hypervisor",
            Self::Firecracker => "firecracker",
        }
    }

    /// How to get the binary, for the "not found" line.
    pub fn install_hint(self) -> &'static str {
        match self {
            Self::Qemu => "install it with: apt-get install qemu-system-x86",
            Self::CloudHypervisor => {
                "put Cloud Hypervisor's static binary on PATH \
                 (github.com/cloud-hypervisor/cloud-hypervisor/releases)"
            }
            Self::Firecracker => {
                "put Firecracker's binary on PATH \
                 (github.com/firecracker-microvm/firecracker/releases)"
            }
        }
    }
}

/// Cloud Hypervisor's command line (its CLI, no API socket): one vCPU,
/// no virtio console, COM1 on a unix socket it listens on (it takes serial
/// input on `--serial tty` only from a terminal; on a socket it keeps what
/// the guest writes before lamina connects and replays it).
pub fn cloud_hypervisor_args(spec: &VmSpec, console_socket: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    args.extend(["--kernel".into(), spec.kernel.clone().into()]);
    args.extend(["--initramfs".into(), spec.bundle.clone().into()]);
    args.extend(["--cmdline".into(), spec.kernel_cmdline.render().into()]);
    for word in [
        "--cpus",
        "boot=1",
        "--memory",
        &format!("size={}", spec.memory.megabytes_rounded_up() << 20),
        "--console",
        "off",
        "--serial",
    ] {
        args.push(word.into());
    }
    let mut serial = OsString::from("socket=");
    serial.push(console_socket);
    args.push(serial);
    args
}

/// Firecracker's `--config-file` (its documented JSON, no API socket): the
/// kernel, the bundle as initrd, one vCPU and the memory in MiB. COM1 goes
/// to Firecracker's stdout and takes its stdin.
pub fn firecracker_config(spec: &VmSpec) -> String {
    serde_json::json!({
        "boot-source": {
            "kernel_image_path": spec.kernel,
            "initrd_path": spec.bundle,
            "boot_args": spec.kernel_cmdline.render(),
        },
        "drives": [],
        "machine-config": {
            "vcpu_count": 1,
            "mem_size_mib": spec.memory.megabytes_rounded_up(),
        },
    })
    .to_string()
}

/// Firecracker without its API (`--no-api --config-file`); its own log
/// goes to `log` instead of stdout, where the console is.
pub fn firecracker_args(config: &Path, log: &Path) -> Vec<OsString> {
    vec![
        "--no-api".into(),
        "--config-file".into(),
        config.into(),
        "--log-path".into(),
        log.into(),
        "--level".into(),
        "Warning".into(),
    ]
}

/// How many of the VMM's stderr lines are kept for error messages.
const STDERR_TAIL_LINES: usize = 20;

/// The running VMM. Dropping it kills the process, so no error path leaks
/// a VM.
#[derive(Debug)]
pub struct VmmProcess {
    child: Option<Child>,
    stderr_tail: Arc<Mutex<Vec<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
    log_file: Option<PathBuf>,
    verbose: bool,
}

impl VmmProcess {
    /// Starts `command` with its stderr captured (echoed when `verbose`);
    /// the caller has set its stdin and stdout. `log_file` is where the VMM
    /// writes its log instead (Firecracker), read when it fails.
    pub fn spawn(
        mut command: Command,
        verbose: bool,
        log_file: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        command.stderr(Stdio::piped());
        tracing::info!("starting {}", render_command(&command));
        let mut child = command.spawn()?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr_tail);
        let stderr_reader = std::thread::Builder::new()
            .name("vmm-stderr".into())
            .spawn(move || {
                for line in BufReader::new(stderr).split(b'\n') {
                    let Ok(line) = line else { break };
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    if verbose {
                        eprintln!("{line}");
                    }
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.len() == STDERR_TAIL_LINES {
                        tail.remove(0);
                    }
                    tail.push(line);
                }
            })?;
        Ok(Self {
            child: Some(child),
            stderr_tail,
            stderr_reader: Some(stderr_reader),
            log_file,
            verbose,
        })
    }

    /// The VMM's stdin and stdout, when they are pipes (once).
    pub fn take_stdio(&mut self) -> Option<(ChildStdin, ChildStdout)> {
        let child = self.child.as_mut()?;
        Some((child.stdin.take()?, child.stdout.take()?))
    }

    /// The VMM's process id, while it has not been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// The exit status, if the VMM has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => child.try_wait(),
            None => Ok(None),
        }
    }

    /// Kills the VMM (if still running) and reaps it.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// The stderr line that says why the VMM failed ([`failure_line`]),
    /// once it has exited (waits for the stderr reader to drain).
    pub fn failure_line(&mut self) -> Option<String> {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let mut lines = self
            .stderr_tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        lines.extend(self.log_lines());
        failure_line(&lines)
    }

    /// The last lines of the VMM's log file, if it keeps one.
    fn log_lines(&self) -> Vec<String> {
        let Some(text) = self
            .log_file
            .as_ref()
            .and_then(|path| std::fs::read(path).ok())
        else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let skip = lines.len().saturating_sub(STDERR_TAIL_LINES);
        lines[skip..].iter().map(|line| line.to_string()).collect()
    }
}

impl Drop for VmmProcess {
    fn drop(&mut self) {
        self.kill();
        if self.verbose {
            for line in self.log_lines() {
                eprintln!("{line}");
            }
        }
    }
}

/// Which of a VMM's last stderr lines says why it died: the first that
/// calls itself an error (QEMU names the cause first, as in "error: failed
/// to set MSR 0x10a", and may follow it with the assertion that aborted),
/// else the last line that is not a warning.
pub fn failure_line(lines: &[String]) -> Option<String> {
    let is_warning = |line: &&String| line.contains("warning:");
    lines
        .iter()
        .find(|line| line.to_ascii_lowercase().contains("error") && !is_warning(line))
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|line| !line.trim().is_empty() && !is_warning(line))
        })
        .cloned()
}

/// `command` as one shell-like line, for `--verbose`: words with spaces or
/// quotes are single-quoted.
pub fn render_command(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| {
            let word = word.to_string_lossy();
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=,./:@%+".contains(c));
            if plain {
                word.into_owned()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(memory: &str) -> VmSpec {
        VmSpec {
            memory: memory.parse().unwrap(),
            kernel: "/cache/kernel".into(),
            bundle: "/tmp/x/bundle".into(),
            kernel_cmdline: KernelCmdline {
                verbose: false,
                epoch_ns: 7,
                tty_mask: 0,
                winsize: None,
                tsc_khz: Some(2_000_000),
                extra: None,
                rootfs_tag: None,
                preempt_at_syscalls: false,
                sysret: false,
                trace: false,
                user: None,
            },
        }
    }

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn cloud_hypervisor_command_line() {
        assert_eq!(
            strings(cloud_hypervisor_args(
                &spec("256M"),
                Path::new("/w/console.sock")
            )),
            [
                "--kernel",
                "/cache/kernel",
                "--initramfs",
                "/tmp/x/bundle",
                "--cmdline",
                "epoch_ns=7 tsc_khz=2000000",
                "--cpus",
                "boot=1",
                "--memory",
                "size=268435456",
                "--console",
                "off",
                "--serial",
                "socket=/w/console.sock",
            ]
        );
    }

    #[test]
    fn firecracker_configuration() {
        // Firecracker takes whole MiB: 20000K rounds up to 20 MiB.
        let config: serde_json::Value =
            serde_json::from_str(&firecracker_config(&spec("20000K"))).unwrap();
        assert_eq!(
            config,
            serde_json::json!({
                "boot-source": {
                    "kernel_image_path": "/cache/kernel",
                    "initrd_path": "/tmp/x/bundle",
                    "boot_args": "epoch_ns=7 tsc_khz=2000000",
                },
                "drives": [],
                "machine-config": {"vcpu_count": 1, "mem_size_mib": 20},
            })
        );
        assert_eq!(
            strings(firecracker_args(
                Path::new("/w/fc.json"),
                Path::new("/w/fc.log")
            )),
            [
                "--no-api",
                "--config-file",
                "/w/fc.json",
                "--log-path",
                "/w/fc.log",
                "--level",
                "Warning"
            ]
        );
    }

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|line| line.to_string()).collect()
    }

    #[test]
    fn the_cause_is_the_line_shown() {
        // QEMU on an AMD host with `-cpu host`: the cause, then the abort.
        let amd = lines(&[
            "qemu-system-x86_64: warning: host doesn't support requested feature",
            "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69",
            "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion failed.",
        ]);
        assert_eq!(
            failure_line(&amd).as_deref(),
            Some("qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69")
        );
        let plain = lines(&[
            "qemu-system-x86_64: -accel kvm: Could not access KVM kernel module",
            "qemu-system-x86_64: warning: something",
            "",
        ]);
        assert_eq!(
            failure_line(&plain).as_deref(),
            Some("qemu-system-x86_64: -accel kvm: Could not access KVM kernel module")
        );
        assert_eq!(failure_line(&lines(&["a warning: x", " "])), None);
    }

    #[test]
    fn command_line_for_verbose() {
        let mut command = Command::new("qemu-system-x86_64");
        command.args([
            "-append",
            "verbose=1 epoch_ns=5",
            "-cpu",
            "host,-arch-capabilities",
        ]);
        command.arg("it's");
        assert_eq!(
            render_command(&command),
            "qemu-system-x86_64 -append 'verbose=1 epoch_ns=5' -cpu host,-arch-capabilities 'it'\\''s'"
        );
    }
}
