//! The QEMU command line and the kernel command line every VMM passes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::accel::Accel;
use crate::cli::Machine;
use crate::vmm::VmSpec;

pub const QEMU_BINARY: &str = "qemu-system-x86_64";
/// `isa-debug-exit` port: the guest leaves QEMU by writing here.
pub const DEBUG_EXIT_IOBASE: &str = "0xf4";
pub const DEBUG_EXIT_IOSIZE: &str = "0x04";
/// The CPU model under KVM: the host's CPU without IA32_ARCH_CAPABILITIES
/// (MSR 0x10a). QEMU hands that Intel MSR to `-cpu host` (and `max`) guests
/// on every vendor, and a KVM that does not emulate it on AMD (our nested
/// `kvm_pvm`) refuses the write, so QEMU aborts before the guest runs
/// ("failed to set MSR 0x10a"). lamina never reads the MSR, so dropping it
/// costs nothing on Intel and makes AMD hosts boot.
pub const KVM_CPU_MODEL: &str = "host,-arch-capabilities";
/// The chardev that carries the console frames.
const CONSOLE_CHARDEV_ID: &str = "console";
/// The virtio-console multiport device that carries the channels; its
/// ports are on the bus `channels.0`.
const CHANNELS_DEVICE_ID: &str = "channels";
/// Ports of the channels device: QEMU keeps port 0 for a `virtconsole`,
/// so the two named ports ("ctl", "net") are 1 and 2, and this is the
/// smallest count that holds them. The guest sizes its queues by it
/// (two per port plus the control pair, virtio 1.2 section 5.3.2).
pub const CHANNEL_MAX_PORTS: u32 = 3;

/// The fsdev id and 9P mount tag of the shared root; volumes are `vol0`,
/// `vol1`, ...
pub const ROOTFS_MOUNT_TAG: &str = "root";

/// A host directory exported by QEMU's own 9P server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The fsdev id and the mount tag the guest finds it by.
    pub tag: String,
    pub path: PathBuf,
    pub read_only: bool,
}

/// Everything that goes into one VM's QEMU command line.
#[derive(Debug, Clone)]
pub struct VmConfig {
    pub machine: Machine,
    pub accel: Accel,
    pub spec: VmSpec,
    /// Unix socket lamina listens on; QEMU connects to it as a client.
    pub console_socket: PathBuf,
    /// `--rootfs` and `--volume`s, over virtio-9p.
    pub shares: Vec<Share>,
    /// The channels, each a named virtio-console port whose chardev
    /// connects to a unix socket lamina listens on (none: no device).
    pub channels: Vec<ChannelSocket>,
}

/// One channel's port: the port name is the channel's, and so is the
/// chardev id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSocket {
    pub channel: lamina_proto::channel::Channel,
    pub path: PathBuf,
}

/// The kernel command line: space-separated `key=value` tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCmdline {
    pub verbose: bool,
    /// Nanoseconds since the Unix epoch at launch: the guest's
    /// `CLOCK_REALTIME` base.
    pub epoch_ns: u128,
    /// Which of lamina's stdin, stdout, stderr (bits 0, 1, 2) are
    /// terminals, so the workload's `isatty` answers as it would natively.
    pub tty_mask: u8,
    /// The size of lamina's stdin terminal at start (rows, columns).
    pub winsize: Option<(u16, u16)>,
    /// The host's TSC rate, which the guest's TSC shares.
    pub tsc_khz: Option<u64>,
    /// Extra tokens from `LAMINA_KERNEL_APPEND` (debugging and tests).
    pub extra: Option<String>,
    /// The mount tag of the 9P share the guest mounts as `/` (`--rootfs`).
    pub rootfs_tag: Option<&'static str>,
    /// The user's vector registers beyond SSE cannot be saved by the
    /// kernel (`kvm_pvm`: see [`crate::accel::user_vectors_unsaved`]), so
    /// the kernel switches tasks at system calls rather than anywhere.
    pub preempt_at_syscalls: bool,
    /// The guest may return to user mode with `sysretq`
    /// ([`crate::accel::sysret_allowed`]).
    pub sysret: bool,
    /// `--trace`: the kernel reports every system call (`trace=1`, read
    /// with `cmdline_value` as `verbose=1` is).
    pub trace: bool,
    /// `--user`: who the workload starts as (None: root, no groups).
    pub user: Option<lamina_proto::identity::Identity>,
}

impl KernelCmdline {
    pub fn render(&self) -> String {
        let mut tokens = Vec::new();
        if self.verbose {
            tokens.push("verbose=1".to_string());
        }
        tokens.push(format!("epoch_ns={}", self.epoch_ns));
        if self.tty_mask != 0 {
            tokens.push(format!("tty={}", self.tty_mask));
        }
        if let Some((rows, cols)) = self.winsize {
            tokens.push(format!("winsize={rows}x{cols}"));
        }
        if let Some(khz) = self.tsc_khz {
            tokens.push(format!("tsc_khz={khz}"));
        }
        if let Some(tag) = self.rootfs_tag {
            tokens.push(format!("rootfs={tag}"));
        }
        if self.preempt_at_syscalls {
            tokens.push("preempt=syscall".to_string());
        }
        if self.sysret {
            tokens.push("sysret=1".to_string());
        }
        if self.trace {
            tokens.push("trace=1".to_string());
        }
        if let Some(user) = &self.user {
            let key = String::from_utf8_lossy(lamina_proto::identity::KEY);
            tokens.push(format!("{key}={}", user.render()));
        }
        if let Some(extra) = self.extra.as_deref().filter(|e| !e.trim().is_empty()) {
            tokens.push(extra.trim().to_string());
        }
        tokens.join(" ")
    }
}

/// QEMU splits option values at commas; a literal comma is written twice.
fn escape_option_value(path: &Path) -> OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut out = Vec::new();
    for &byte in path.as_os_str().as_bytes() {
        out.push(byte);
        if byte == b',' {
            out.push(b',');
        }
    }
    OsString::from_vec(out)
}

fn joined(parts: &[&str]) -> OsString {
    OsString::from(parts.join(","))
}

impl VmConfig {
    /// The `-M` value.
    fn machine_arg(&self) -> &'static str {
        match self.machine {
            // No option ROMs, no RTC: nothing the kernel uses. The PIT and
            // PIC stay for early timekeeping; isa-serial is the console.
            // `acpi=off`: only then does QEMU announce its virtio-MMIO
            // devices on the kernel command line (`virtio_mmio.device=`),
            // the one place lamina looks for them (it reads no ACPI).
            Machine::Microvm => {
                "microvm,x-option-roms=off,rtc=off,pit=on,pic=on,isa-serial=on,acpi=off"
            }
            Machine::Pc => "pc",
            Machine::Q35 => "q35",
        }
    }

    /// `-accel` and `-cpu`: under TCG `max` so the guest sees SMEP, SMAP,
    /// NX and FSGSBASE; under KVM the host's CPU ([`KVM_CPU_MODEL`]).
    fn accel_args(&self) -> [&'static str; 4] {
        match self.accel {
            Accel::Kvm => ["-accel", "kvm", "-cpu", KVM_CPU_MODEL],
            Accel::Tcg => ["-accel", "tcg", "-cpu", "max"],
        }
    }

    /// `-fsdev` and `-device` for a share.
    ///
    /// `security_model=none`: QEMU runs as the user who ran lamina and
    /// creates files as that user, so what the workload creates is owned
    /// by them, and root in the guest can never become root on the host.
    /// (`mapped-xattr` would keep guest owners and modes in xattrs, but it
    /// also stores a guest symlink as a regular file on the host, which
    /// breaks the directory for everything outside the VM.)
    fn share_args(&self, share: &Share) -> [OsString; 4] {
        let mut fsdev = OsString::from(format!("local,id={},path=", share.tag));
        fsdev.push(escape_option_value(&share.path));
        fsdev.push(",security_model=none");
        if share.read_only {
            fsdev.push(",readonly=on");
        }
        let device = match self.machine {
            Machine::Microvm => "virtio-9p-device",
            Machine::Pc | Machine::Q35 => "virtio-9p-pci",
        };
        [
            "-fsdev".into(),
            fsdev,
            "-device".into(),
            joined(&[
                device,
                &format!("fsdev={}", share.tag),
                &format!("mount_tag={}", share.tag),
            ]),
        ]
    }

    /// The virtio-console multiport device and one `virtserialport` per
    /// channel, each on a chardev that connects to lamina's socket.
    fn channel_args(&self) -> Vec<OsString> {
        if self.channels.is_empty() {
            return Vec::new();
        }
        let device = match self.machine {
            Machine::Microvm => "virtio-serial-device",
            Machine::Pc | Machine::Q35 => "virtio-serial-pci",
        };
        let mut args: Vec<OsString> = vec![
            "-device".into(),
            joined(&[
                device,
                &format!("id={CHANNELS_DEVICE_ID}"),
                &format!("max_ports={CHANNEL_MAX_PORTS}"),
            ]),
        ];
        for socket in &self.channels {
            let name = socket.channel.name();
            let mut chardev = OsString::from(format!("socket,id={name},path="));
            chardev.push(escape_option_value(&socket.path));
            args.extend([
                "-chardev".into(),
                chardev,
                "-device".into(),
                joined(&[
                    "virtserialport",
                    &format!("bus={CHANNELS_DEVICE_ID}.0"),
                    &format!("chardev={name}"),
                    &format!("name={name}"),
                ]),
            ]);
        }
        args
    }

    /// The arguments after the program name.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&["-M", self.machine_arg()]);
        push(&self.accel_args());
        push(&["-m", &self.spec.memory.qemu_arg(), "-smp", "1"]);
        // `-display none`, not `-nographic`: the latter also points
        // SeaBIOS's serial console at COM1 (fw_cfg `etc/sercon-port`) on
        // pc/q35, and its banner would corrupt the console framing.
        push(&[
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ]);
        args.push("-kernel".into());
        args.push(self.spec.kernel.clone().into());
        args.push("-initrd".into());
        args.push(self.spec.bundle.clone().into());
        args.push("-append".into());
        args.push(self.spec.kernel_cmdline.render().into());
        args.push("-chardev".into());
        let mut chardev = OsString::from(format!("socket,id={CONSOLE_CHARDEV_ID},path="));
        chardev.push(escape_option_value(&self.console_socket));
        args.push(chardev);
        args.push("-serial".into());
        args.push(format!("chardev:{CONSOLE_CHARDEV_ID}").into());
        args.push("-device".into());
        args.push(joined(&[
            "isa-debug-exit",
            &format!("iobase={DEBUG_EXIT_IOBASE}"),
            &format!("iosize={DEBUG_EXIT_IOSIZE}"),
        ]));
        args.extend(self.channel_args());
        for share in &self.shares {
            args.extend(self.share_args(share));
        }
        args
    }

    pub fn command(&self, qemu: &Path) -> Command {
        let mut command = Command::new(qemu);
        command.args(self.args());
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_proto::channel::Channel;

    fn config(machine: Machine, accel: Accel) -> VmConfig {
        VmConfig {
            machine,
            accel,
            spec: VmSpec {
                memory: "256M".parse().unwrap(),
                kernel: "/cache/kernel".into(),
                bundle: "/tmp/x/bundle".into(),
                kernel_cmdline: KernelCmdline {
                    verbose: false,
                    epoch_ns: 1_700_000_000_000_000_000,
                    tty_mask: 0,
                    winsize: None,
                    tsc_khz: None,
                    extra: None,
                    rootfs_tag: None,
                    preempt_at_syscalls: false,
                    sysret: false,
                    trace: false,
                    user: None,
                },
            },
            console_socket: "/tmp/x/console.sock".into(),
            shares: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn with_channels(mut vm: VmConfig) -> VmConfig {
        vm.channels = vec![
            ChannelSocket {
                channel: Channel::Control,
                path: "/tmp/x/ctl.sock".into(),
            },
            ChannelSocket {
                channel: Channel::Net,
                path: "/tmp/x,y/net.sock".into(),
            },
        ];
        vm
    }

    const CHANNEL_PORTS: &[&str] = &[
        "-chardev",
        "socket,id=ctl,path=/tmp/x/ctl.sock",
        "-device",
        "virtserialport,bus=channels.0,chardev=ctl,name=ctl",
        "-chardev",
        "socket,id=net,path=/tmp/x,,y/net.sock",
        "-device",
        "virtserialport,bus=channels.0,chardev=net,name=net",
    ];

    #[test]
    fn channels_on_microvm_are_virtio_mmio_ports() {
        let vm = with_channels(config(Machine::Microvm, Accel::Tcg));
        let args = strings(vm.args());
        let mut expected = vec!["-device", "virtio-serial-device,id=channels,max_ports=3"];
        expected.extend(CHANNEL_PORTS);
        assert_eq!(tail(&args, 10), expected);
        assert_eq!(
            args[..args.len() - 10],
            strings(config(Machine::Microvm, Accel::Tcg).args())[..]
        );
    }

    #[test]
    fn channels_on_pc_and_q35_are_virtio_pci_ports_before_the_shares() {
        for machine in [Machine::Pc, Machine::Q35] {
            let mut vm = with_channels(config(machine, Accel::Kvm));
            vm.shares.push(Share {
                tag: ROOTFS_MOUNT_TAG.into(),
                path: "/r".into(),
                read_only: false,
            });
            let args = strings(vm.args());
            let at = args
                .iter()
                .position(|a| a.starts_with("virtio-serial"))
                .unwrap();
            assert_eq!(args[at], "virtio-serial-pci,id=channels,max_ports=3");
            assert_eq!(args[at + 1..at + 9], CHANNEL_PORTS[..]);
            assert_eq!(args[at + 9], "-fsdev");
        }
    }

    /// Without channels (`LAMINA_NO_CHANNELS=1`) there is no virtio-serial
    /// device and no port: the guest's stdout takes the serial line.
    #[test]
    fn no_channels_no_serial_device() {
        for machine in [Machine::Microvm, Machine::Pc, Machine::Q35] {
            let args = strings(config(machine, Accel::Tcg).args());
            assert!(
                !args
                    .iter()
                    .any(|a| a.contains("virtio-serial") || a.contains("virtserialport")),
                "{args:?}"
            );
        }
    }

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    const COMMON_TAIL: &[&str] = &[
        "-m",
        "256M",
        "-smp",
        "1",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-kernel",
        "/cache/kernel",
        "-initrd",
        "/tmp/x/bundle",
        "-append",
        "epoch_ns=1700000000000000000",
        "-chardev",
        "socket,id=console,path=/tmp/x/console.sock",
        "-serial",
        "chardev:console",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ];

    fn expected(machine: &str, accel: &str, cpu: &str) -> Vec<String> {
        ["-M", machine, "-accel", accel, "-cpu", cpu]
            .iter()
            .chain(COMMON_TAIL)
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn microvm_tcg() {
        assert_eq!(
            strings(config(Machine::Microvm, Accel::Tcg).args()),
            expected(
                "microvm,x-option-roms=off,rtc=off,pit=on,pic=on,isa-serial=on,acpi=off",
                "tcg",
                "max"
            )
        );
    }

    #[test]
    fn microvm_kvm() {
        assert_eq!(
            strings(config(Machine::Microvm, Accel::Kvm).args()),
            expected(
                "microvm,x-option-roms=off,rtc=off,pit=on,pic=on,isa-serial=on,acpi=off",
                "kvm",
                "host,-arch-capabilities"
            )
        );
    }

    #[test]
    fn pc_and_q35() {
        for (machine, name) in [(Machine::Pc, "pc"), (Machine::Q35, "q35")] {
            for (accel, accel_name, cpu) in [
                (Accel::Tcg, "tcg", "max"),
                (Accel::Kvm, "kvm", "host,-arch-capabilities"),
            ] {
                assert_eq!(
                    strings(config(machine, accel).args()),
                    expected(name, accel_name, cpu)
                );
            }
        }
    }

    #[test]
    fn verbose_cmdline_and_memory() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        vm.spec.kernel_cmdline.verbose = true;
        vm.spec.memory = "1G".parse().unwrap();
        let args = strings(vm.args());
        let at = args.iter().position(|a| a == "-append").unwrap();
        assert_eq!(args[at + 1], "verbose=1 epoch_ns=1700000000000000000");
        let at = args.iter().position(|a| a == "-m").unwrap();
        assert_eq!(args[at + 1], "1G");
    }

    #[test]
    fn trace_reaches_the_kernel() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        let cmdline = |vm: &VmConfig| {
            let args = strings(vm.args());
            let at = args.iter().position(|a| a == "-append").unwrap();
            args[at + 1].clone()
        };
        assert!(!cmdline(&vm).contains("trace"));
        vm.spec.kernel_cmdline.trace = true;
        assert!(cmdline(&vm).split(' ').any(|t| t == "trace=1"));
    }

    #[test]
    fn preemption_at_system_calls_reaches_the_kernel() {
        let mut vm = config(Machine::Microvm, Accel::Kvm);
        vm.spec.kernel_cmdline.preempt_at_syscalls = true;
        let args = strings(vm.args());
        let at = args.iter().position(|a| a == "-append").unwrap();
        assert!(args[at + 1].split(' ').any(|t| t == "preempt=syscall"));
    }

    #[test]
    fn the_user_reaches_the_kernel() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        vm.spec.kernel_cmdline.user = Some(lamina_proto::identity::Identity {
            uid: 1000,
            gid: 100,
            groups: vec![27, 4],
        });
        let args = strings(vm.args());
        let at = args.iter().position(|a| a == "-append").unwrap();
        assert!(args[at + 1].split(' ').any(|t| t == "user=1000:100:27,4"));
    }

    #[test]
    fn commas_in_paths_are_escaped() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        vm.console_socket = "/tmp/a,b/console.sock".into();
        let args = strings(vm.args());
        assert!(args.contains(&"socket,id=console,path=/tmp/a,,b/console.sock".to_string()));
    }

    fn tail(args: &[String], count: usize) -> Vec<&str> {
        args[args.len() - count..]
            .iter()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn rootfs_on_microvm_is_virtio_mmio() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        vm.shares.push(Share {
            tag: ROOTFS_MOUNT_TAG.into(),
            path: "/srv/root".into(),
            read_only: false,
        });
        let args = strings(vm.args());
        assert_eq!(
            tail(&args, 4),
            [
                "-fsdev",
                "local,id=root,path=/srv/root,security_model=none",
                "-device",
                "virtio-9p-device,fsdev=root,mount_tag=root",
            ]
        );
        // Everything before is the plain command line.
        assert_eq!(
            args[..args.len() - 4],
            strings(config(Machine::Microvm, Accel::Tcg).args())[..]
        );
    }

    #[test]
    fn rootfs_tag_reaches_the_kernel_command_line() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        vm.spec.kernel_cmdline.rootfs_tag = Some(ROOTFS_MOUNT_TAG);
        let args = strings(vm.args());
        let at = args.iter().position(|a| a == "-append").unwrap();
        assert_eq!(args[at + 1], "epoch_ns=1700000000000000000 rootfs=root");
    }

    #[test]
    fn rootfs_on_pc_and_q35_is_virtio_pci_and_read_only_works() {
        for machine in [Machine::Pc, Machine::Q35] {
            let mut vm = config(machine, Accel::Kvm);
            vm.shares.push(Share {
                tag: ROOTFS_MOUNT_TAG.into(),
                path: "/srv/a,b".into(),
                read_only: true,
            });
            let args = strings(vm.args());
            assert_eq!(
                tail(&args, 4),
                [
                    "-fsdev",
                    "local,id=root,path=/srv/a,,b,security_model=none,readonly=on",
                    "-device",
                    "virtio-9p-pci,fsdev=root,mount_tag=root",
                ]
            );
        }
    }

    #[test]
    fn volumes_follow_the_root_each_with_its_tag() {
        let mut vm = config(Machine::Microvm, Accel::Tcg);
        for (tag, path, read_only) in [
            ("root", "/r", false),
            ("vol0", "/data", true),
            ("vol1", "/logs", false),
        ] {
            vm.shares.push(Share {
                tag: tag.into(),
                path: path.into(),
                read_only,
            });
        }
        let args = strings(vm.args());
        assert_eq!(
            tail(&args, 12),
            [
                "-fsdev",
                "local,id=root,path=/r,security_model=none",
                "-device",
                "virtio-9p-device,fsdev=root,mount_tag=root",
                "-fsdev",
                "local,id=vol0,path=/data,security_model=none,readonly=on",
                "-device",
                "virtio-9p-device,fsdev=vol0,mount_tag=vol0",
                "-fsdev",
                "local,id=vol1,path=/logs,security_model=none",
                "-device",
                "virtio-9p-device,fsdev=vol1,mount_tag=vol1",
            ]
        );
    }
}
