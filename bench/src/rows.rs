//! The rows of the comparison, as data. A new benchmark is usually one more
//! `Source::Program` entry here plus its program in `bench/programs/`.

/// Which of the three places a row is measured in.
#[derive(Debug, Clone, Copy)]
pub struct Sides {
    pub lamina: bool,
    pub linux: bool,
    pub native: bool,
}

/// lamina and the Linux guest only: rows that only make sense for a VM.
pub const VMS: Sides = Sides {
    lamina: true,
    linux: true,
    native: false,
};
pub const ALL: Sides = Sides {
    lamina: true,
    linux: true,
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
    /// Smallest `-m` in MiB at which `program` still exits 0, by bisection.
    MinMemory { program: &'static str },
    /// What the host must ship to boot the guest (KiB).
    ImageSize,
}

#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub label: &'static str,
    /// Short name for the chart's axis.
    pub short: &'static str,
    pub unit: &'static str,
    pub source: Source,
    pub sides: Sides,
}

/// The program whose boot-to-exit runs give the `Boot*` rows.
pub const BOOT_PROGRAM: &str = "hello";

pub const ROWS: &[Row] = &[
    Row {
        label: "boot to exit, hello (wall time of the VM run)",
        short: "boot wall",
        unit: "ms",
        source: Source::BootWall,
        sides: VMS,
    },
    Row {
        label: "in-guest boot: kernel entry to first user instruction",
        short: "in-guest boot",
        unit: "ms",
        source: Source::BootInGuest,
        sides: VMS,
    },
    Row {
        label: "syscall round trip (getppid)",
        short: "syscall",
        unit: "ns/call",
        source: Source::Program {
            program: "syscall",
            args: &["10000"],
            key: "syscall_getppid",
        },
        sides: ALL,
    },
    Row {
        label: "anonymous page fault (first touch of 64 MiB)",
        short: "page fault",
        unit: "ns/page",
        source: Source::Program {
            program: "pagefault",
            args: &["64"],
            key: "pagefault_anon",
        },
        sides: ALL,
    },
    Row {
        label: "smallest guest memory that runs hello",
        short: "min -m",
        unit: "MiB",
        source: Source::MinMemory { program: "hello" },
        sides: VMS,
    },
    Row {
        label: "image size (lamina kernel ELF; vmlinuz + initramfs)",
        short: "image",
        unit: "KiB",
        source: Source::ImageSize,
        sides: VMS,
    },
    Row {
        label: "peak host RSS of QEMU, hello",
        short: "QEMU RSS",
        unit: "MiB",
        source: Source::BootPeakRss,
        sides: VMS,
    },
];
