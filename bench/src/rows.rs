//! The rows of the comparison, as data. A new benchmark is usually one more
//! `Source::Program` entry here plus its program in `bench/programs/`.

/// Which of the four places a row is measured in: lamina, the Linux guest,
/// gVisor (`runsc`, the sandbox a user would pick instead) and natively.
#[derive(Debug, Clone, Copy)]
pub struct Sides {
    pub lamina: bool,
    pub linux: bool,
    pub gvisor: bool,
    pub native: bool,
}

/// lamina and the Linux guest only: rows that only make sense for a VM.
pub const VMS: Sides = Sides {
    lamina: true,
    linux: true,
    gvisor: false,
    native: false,
};
/// The VMs and gVisor: a whole run of a program (boot to exit).
pub const SANDBOXES: Sides = Sides {
    gvisor: true,
    ..VMS
};
/// The VMs and natively: rows gVisor is not measured on (net, stdout).
pub const VMS_AND_NATIVE: Sides = Sides {
    native: true,
    ..VMS
};
pub const ALL: Sides = Sides {
    lamina: true,
    linux: true,
    gvisor: true,
    native: true,
};

/// Where a row's figure comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Wall time of a whole VM run of `hello`, from spawn to exit (ms).
    BootWall,
    /// The guest's own account of kernel entry to the first user instruction
    /// in the same runs (ms).
    BootInGuest,
    /// Peak host RSS of the QEMU process in the same runs (MiB).
    BootPeakRss,
    /// The `key` line that `program ARGS` prints, in its own unit.
    Program {
        program: &'static str,
        args: &'static [&'static str],
        key: &'static str,
    },
    /// The `key` line of `program ARGS` run on the shared directory (see
    /// `setup::Share`): lamina's root over 9P (`--rootfs`), mounted by the
    /// Linux guest with `linux_cache`, the working directory natively.
    /// ARGS are relative to that directory.
    Shared {
        program: &'static str,
        args: &'static [&'static str],
        key: &'static str,
        linux_cache: LinuxCache,
    },
    /// The `key` line of `netclient ADDR PORT mode COUNT SECONDS` against the
    /// bench's server on the host's 127.0.0.1 (`crate::server`): natively
    /// ADDR is 127.0.0.1; the guests dial 10.0.2.2 (lamina's forwarded
    /// sockets with `--allow-net 127.0.0.1:PORT`, the Linux guest's
    /// virtio-net on QEMU's user networking).
    Net {
        mode: &'static str,
        count: &'static str,
        key: &'static str,
    },
    /// The program's bulk stdout as it reaches the host (MB/s):
    /// `zeros BLOCK COUNT` with lamina's stdout (over the ctl channel, or
    /// with `lamina_serial` over the serial line: `LAMINA_NO_CHANNELS=1`),
    /// the Linux guest's serial console (QEMU's stdout), a pipe natively;
    /// read on the host by `run::count_zeros`.
    Stdout {
        block: &'static str,
        count: &'static str,
        lamina_serial: bool,
    },
    /// Smallest `-m` in MiB at which `program` still exits 0, by bisection.
    MinMemory { program: &'static str },
    /// What the host must ship to boot the guest (KiB).
    ImageSize,
}

/// The Linux guest's v9fs `cache=` mode for a `Source::Shared` row; the
/// rest of its mount options are [`V9FS_OPTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinuxCache {
    /// Every read, write and lookup goes to the host.
    None,
    /// Page cache and dentry/attribute caching (the best v9fs does here).
    Loose,
}

impl LinuxCache {
    pub fn name(self) -> &'static str {
        match self {
            LinuxCache::None => "none",
            LinuxCache::Loose => "loose",
        }
    }

    /// The `mount -t 9p -o` options.
    pub fn mount_options(self) -> String {
        format!("{V9FS_OPTIONS},cache={}", self.name())
    }
}

/// The Linux guest's v9fs mount options besides `cache=`: the same protocol
/// and message size as lamina's client.
pub const V9FS_OPTIONS: &str = "trans=virtio,version=9p2000.L,msize=524288";

/// The sequential-I/O file size in MiB and the small-file and tree counts
/// (`setup::Share` prepares the tree with exactly `TREE_ENTRIES` entries).
pub const SEQ_MIB: u64 = 256;
pub const TREE_ENTRIES: u64 = 20_000;

/// The groups that `--rows` selects rows by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Boot to exit, in-guest boot, smallest `-m`, image size, QEMU's RSS.
    Boot,
    /// System call round trip and anonymous page fault.
    Core,
    /// The file rows on the shared 9P directory (issue 7).
    File,
    /// fork, execve, pipes and context switches (issue 8).
    Process,
    /// TCP to a server on the host's loopback (issue 9).
    Net,
    /// Bulk stdout through the console (issue 9's ctl channel).
    Stdout,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::Boot,
        Group::Core,
        Group::File,
        Group::Process,
        Group::Net,
        Group::Stdout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Boot => "boot",
            Group::Core => "core",
            Group::File => "file",
            Group::Process => "process",
            Group::Net => "net",
            Group::Stdout => "stdout",
        }
    }

    pub fn parse(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub group: Group,
    pub label: &'static str,
    /// Short name for the chart's axis.
    pub short: &'static str,
    pub unit: &'static str,
    pub source: Source,
    pub sides: Sides,
    /// A rate (MB/s, ops/s): more is better, so the chart inverts its ratio.
    pub higher_is_better: bool,
}

/// The process rows' loops stop after this many rounds or seconds, whichever
/// comes first (see `bench/programs/fork.c`): bounded runs under TCG and
/// under a slow KVM alike.
const PROCESS_ROUNDS: &str = "20000";
const PROCESS_SECONDS: &str = "2";
const PINGPONG_ROUNDS: &str = "200000";
/// The pipe row's writer stops after this many MiB (or the seconds).
const PIPE_MIB: &str = "512";
/// What the fork+execve row executes, relative to the shared directory,
/// where `setup::Share` copies every benchmark program into `bin/`.
pub const EXEC_TARGET: &str = "bin/true";

/// The net rows: at most this many ping-pong round trips, this many MiB of
/// bulk, or this many seconds of either (see `bench/programs/netclient.c`).
const NET_ROUNDS: &str = "2000";
const NET_MIB: &str = "64";
pub const NET_SECONDS: &str = "3";
/// The stdout rows: 256 MiB in all, of which the host counts at most
/// [`STDOUT_MAX_BYTES`] or [`STDOUT_WINDOW`] and then ends the run.
const STDOUT_64K_COUNT: &str = "4096";
const STDOUT_4K_COUNT: &str = "65536";
pub const STDOUT_MAX_BYTES: u64 = 256 << 20;
pub const STDOUT_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);

/// The program whose boot-to-exit runs give the `Boot*` rows.
pub const BOOT_PROGRAM: &str = "hello";

pub const ROWS: &[Row] = &[
    Row {
        group: Group::Boot,
        label: "boot to exit, hello (wall time of the VM run)",
        short: "boot wall",
        unit: "ms",
        source: Source::BootWall,
        sides: SANDBOXES,
        higher_is_better: false,
    },
    Row {
        group: Group::Boot,
        label: "in-guest boot: kernel entry to first user instruction",
        short: "in-guest boot",
        unit: "ms",
        source: Source::BootInGuest,
        sides: VMS,
        higher_is_better: false,
    },
    Row {
        group: Group::Core,
        label: "syscall round trip (getppid)",
        short: "syscall",
        unit: "ns/call",
        source: Source::Program {
            program: "syscall",
            args: &["10000"],
            key: "syscall_getppid",
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Core,
        label: "anonymous page fault (first touch of 64 MiB)",
        short: "page fault",
        unit: "ns/page",
        source: Source::Program {
            program: "pagefault",
            args: &["64"],
            key: "pagefault_anon",
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Boot,
        label: "smallest guest memory that runs hello",
        short: "min -m",
        unit: "MiB",
        source: Source::MinMemory { program: "hello" },
        sides: VMS,
        higher_is_better: false,
    },
    Row {
        group: Group::Boot,
        label: "image size (lamina kernel ELF; vmlinuz + initramfs)",
        short: "image",
        unit: "KiB",
        source: Source::ImageSize,
        sides: VMS,
        higher_is_better: false,
    },
    Row {
        group: Group::Boot,
        label: "peak host RSS of QEMU, hello",
        short: "QEMU RSS",
        unit: "MiB",
        source: Source::BootPeakRss,
        sides: VMS,
        higher_is_better: false,
    },
    Row {
        group: Group::File,
        label: "sequential read of a 256 MiB file, 1 MiB read()s; Linux v9fs cache=none",
        short: "read, none",
        unit: "MB/s",
        source: Source::Shared {
            program: "fsread",
            args: &["data/seq-256m"],
            key: "fs_seqread",
            linux_cache: LinuxCache::None,
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::File,
        label: "sequential read of a 256 MiB file, 1 MiB read()s; Linux v9fs cache=loose",
        short: "read, loose",
        unit: "MB/s",
        source: Source::Shared {
            program: "fsread",
            args: &["data/seq-256m"],
            key: "fs_seqread",
            linux_cache: LinuxCache::Loose,
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::File,
        label: "sequential write of a 256 MiB file, 1 MiB write()s + fsync; Linux v9fs cache=none",
        short: "write, none",
        unit: "MB/s",
        source: Source::Shared {
            program: "fswrite",
            args: &["scratch/seq-256m", "256"],
            key: "fs_seqwrite",
            linux_cache: LinuxCache::None,
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::File,
        label: "sequential write of a 256 MiB file, 1 MiB write()s + fsync; Linux v9fs cache=loose",
        short: "write, loose",
        unit: "MB/s",
        source: Source::Shared {
            program: "fswrite",
            args: &["scratch/seq-256m", "256"],
            key: "fs_seqwrite",
            linux_cache: LinuxCache::Loose,
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::File,
        label: "create+stat+unlink of 5,000 small files (one op = one file's three); Linux v9fs cache=none",
        short: "files, none",
        unit: "ops/s",
        source: Source::Shared {
            program: "fsmeta",
            args: &["scratch/meta", "5000"],
            key: "fs_meta",
            linux_cache: LinuxCache::None,
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::File,
        label: "create+stat+unlink of 5,000 small files (one op = one file's three); Linux v9fs cache=loose",
        short: "files, loose",
        unit: "ops/s",
        source: Source::Shared {
            program: "fsmeta",
            args: &["scratch/meta", "5000"],
            key: "fs_meta",
            linux_cache: LinuxCache::Loose,
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::File,
        label: "`ls -lR` walk of a 20,000-entry tree (readdir + lstat); Linux v9fs cache=none",
        short: "walk, none",
        unit: "ms",
        source: Source::Shared {
            program: "fswalk",
            args: &["data/tree", "20000"],
            key: "fs_walk",
            linux_cache: LinuxCache::None,
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::File,
        label: "`ls -lR` walk of a 20,000-entry tree (readdir + lstat); Linux v9fs cache=loose",
        short: "walk, loose",
        unit: "ms",
        source: Source::Shared {
            program: "fswalk",
            args: &["data/tree", "20000"],
            key: "fs_walk",
            linux_cache: LinuxCache::Loose,
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Process,
        label: "fork+exit+wait (the child _exits at once)",
        short: "fork",
        unit: "µs",
        source: Source::Program {
            program: "fork",
            args: &[PROCESS_ROUNDS, PROCESS_SECONDS],
            key: "fork_exit_wait",
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Process,
        label: "fork+execve+wait of a static /bin/true from the shared directory; Linux v9fs cache=none",
        short: "exec, none",
        unit: "µs",
        source: Source::Shared {
            program: "forkexec",
            args: &[EXEC_TARGET, PROCESS_ROUNDS, PROCESS_SECONDS],
            key: "fork_exec_wait",
            linux_cache: LinuxCache::None,
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Process,
        label: "fork+execve+wait of a static /bin/true from the shared directory; Linux v9fs cache=loose",
        short: "exec, loose",
        unit: "µs",
        source: Source::Shared {
            program: "forkexec",
            args: &[EXEC_TARGET, PROCESS_ROUNDS, PROCESS_SECONDS],
            key: "fork_exec_wait",
            linux_cache: LinuxCache::Loose,
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Process,
        label: "pipe throughput, parent reads what a child writes in 64 KiB write()s",
        short: "pipe",
        unit: "MB/s",
        source: Source::Program {
            program: "pipe",
            args: &[PIPE_MIB, PROCESS_SECONDS],
            key: "pipe_throughput",
        },
        sides: ALL,
        higher_is_better: true,
    },
    Row {
        group: Group::Process,
        label: "context-switch ping-pong, one byte each way over two pipes (per round trip)",
        short: "ping-pong",
        unit: "µs",
        source: Source::Program {
            program: "pingpong",
            args: &[PINGPONG_ROUNDS, PROCESS_SECONDS],
            key: "pingpong_round_trip",
        },
        sides: ALL,
        higher_is_better: false,
    },
    Row {
        group: Group::Net,
        label: "TCP round trip to a host server on 127.0.0.1, 1-byte ping-pong (median of up to 2,000)",
        short: "tcp rtt",
        unit: "µs",
        source: Source::Net {
            mode: "rtt",
            count: NET_ROUNDS,
            key: "net_rtt",
        },
        sides: VMS_AND_NATIVE,
        higher_is_better: false,
    },
    Row {
        group: Group::Net,
        label: "TCP bulk, guest → host server, 64 MiB in 64 KiB writes",
        short: "tcp send",
        unit: "MB/s",
        source: Source::Net {
            mode: "send",
            count: NET_MIB,
            key: "net_send",
        },
        sides: VMS_AND_NATIVE,
        higher_is_better: true,
    },
    Row {
        group: Group::Net,
        label: "TCP bulk, host server → guest, 64 MiB in 64 KiB reads",
        short: "tcp recv",
        unit: "MB/s",
        source: Source::Net {
            mode: "recv",
            count: NET_MIB,
            key: "net_recv",
        },
        sides: VMS_AND_NATIVE,
        higher_is_better: true,
    },
    Row {
        group: Group::Stdout,
        label: "stdout, 64 KiB write()s of zeros: lamina over the ctl channel; Linux's ttyS0; native a pipe",
        short: "stdout 64k",
        unit: "MB/s",
        source: Source::Stdout {
            block: "65536",
            count: STDOUT_64K_COUNT,
            lamina_serial: false,
        },
        sides: VMS_AND_NATIVE,
        higher_is_better: true,
    },
    Row {
        group: Group::Stdout,
        label: "stdout, 4 KiB write()s of zeros: lamina over the ctl channel; Linux's ttyS0; native a pipe",
        short: "stdout 4k",
        unit: "MB/s",
        source: Source::Stdout {
            block: "4096",
            count: STDOUT_4K_COUNT,
            lamina_serial: false,
        },
        sides: VMS_AND_NATIVE,
        higher_is_better: true,
    },
    Row {
        group: Group::Stdout,
        label: "stdout, 64 KiB write()s: lamina over the serial line (LAMINA_NO_CHANNELS=1, the before); Linux's ttyS0",
        short: "stdout 64k serial",
        unit: "MB/s",
        source: Source::Stdout {
            block: "65536",
            count: STDOUT_64K_COUNT,
            lamina_serial: true,
        },
        sides: VMS,
        higher_is_better: true,
    },
    Row {
        group: Group::Stdout,
        label: "stdout, 4 KiB write()s: lamina over the serial line (LAMINA_NO_CHANNELS=1, the before); Linux's ttyS0",
        short: "stdout 4k serial",
        unit: "MB/s",
        source: Source::Stdout {
            block: "4096",
            count: STDOUT_4K_COUNT,
            lamina_serial: true,
        },
        sides: VMS,
        higher_is_better: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared rows' arguments agree with what `setup::Share` prepares,
    /// and every rate row says so.
    #[test]
    fn shared_rows_match_the_prepared_share() {
        let seq = SEQ_MIB.to_string();
        let tree = TREE_ENTRIES.to_string();
        let mut shared = 0;
        for row in ROWS {
            if let Source::Shared { program, args, .. } = row.source {
                shared += 1;
                match program {
                    "fswrite" => assert_eq!(args[1], seq),
                    "fswalk" => assert_eq!(args[1], tree),
                    _ => {}
                }
                for arg in args {
                    assert!(!arg.starts_with('/'), "{arg}: relative to the share");
                }
            }
            let rate = row.unit.ends_with("/s");
            assert_eq!(row.higher_is_better, rate, "{}", row.label);
        }
        assert_eq!(shared, 10);
    }

    /// The exec row's target is one of the benchmark programs, copied into
    /// the share's `bin/` as `Share::guest_program` says.
    #[test]
    fn exec_target_is_a_bench_program() {
        let name = EXEC_TARGET.strip_prefix("bin/").expect("in bin/");
        assert_eq!(
            crate::setup::Share::guest_program(name),
            format!("/{EXEC_TARGET}")
        );
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("programs")
            .join(format!("{name}.c"));
        assert!(source.is_file(), "{}", source.display());
    }

    /// gVisor is measured on the core, process and file rows and on boot to
    /// exit; not on the rows of a VM's own (in-guest boot, `-m`, image,
    /// QEMU's RSS), nor on the net and stdout rows.
    #[test]
    fn gvisor_rows() {
        for row in ROWS {
            let expected = match row.group {
                Group::Core | Group::Process | Group::File => true,
                Group::Boot => matches!(row.source, Source::BootWall),
                Group::Net | Group::Stdout => false,
            };
            assert_eq!(row.sides.gvisor, expected, "{}", row.label);
            assert!(row.sides.lamina, "{}", row.label);
        }
        assert_eq!(ROWS.iter().filter(|row| row.sides.gvisor).count(), 16);
    }

    #[test]
    fn groups_by_name() {
        for group in Group::ALL {
            assert_eq!(Group::parse(group.name()), Some(group));
            assert!(ROWS.iter().any(|row| row.group == group));
        }
        assert_eq!(Group::parse("nope"), None);
    }
}
