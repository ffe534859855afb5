//! `/sys`: the few read-only files the C library and language runtimes
//! read about the machine. glibc's `get_nprocs` reads
//! `devices/system/cpu/online`, libuv and the JVM count `cpuN`
//! directories and read `possible`, the Go runtime and the JVM read
//! `kernel/mm/transparent_hugepage`; `fs/cgroup` exists (empty) for the
//! runtimes that look for cgroup limits and find none. Every file is made
//! from what the kernel knows (its CPU count), nothing else is there:
//! writes fail as on Linux (EACCES opening a file for writing, EROFS
//! creating anything).

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::synth::{SynthDir, SynthFile, SynthFs};
use super::vfs::NodeRef;
use crate::task::CPU_COUNT;

/// `SYSFS_MAGIC` for `statfs`.
const SYSFS_MAGIC: i64 = 0x6265_6572;
/// Transparent huge pages: lamina maps 4 KiB pages only.
const THP_MODE: &[u8] = b"always madvise [never]\n";
/// The huge page size the runtimes read even when THP is off (2 MiB).
const HPAGE_PMD_BYTES: u64 = 2 << 20;

/// The CPUs as Linux's cpu lists write them: "0", "0-3".
pub fn cpu_list() -> Vec<u8> {
    match CPU_COUNT {
        0 | 1 => b"0\n".to_vec(),
        n => format!("0-{}\n", n - 1).into_bytes(),
    }
}

/// Builds `/sys`.
pub fn new() -> NodeRef {
    let fs = SynthFs::new(SYSFS_MAGIC);
    let text =
        |content: &'static [u8]| -> NodeRef { SynthFile::new(fs, move |_| Ok(content.to_vec())) };
    let cpus = || -> NodeRef { SynthFile::new(fs, |_| Ok(cpu_list())) };
    // One `cpuN` directory per CPU; their names must be 'static.
    const CPU_NAMES: [&[u8]; 8] = [
        b"cpu0", b"cpu1", b"cpu2", b"cpu3", b"cpu4", b"cpu5", b"cpu6", b"cpu7",
    ];
    let mut cpu_entries: Vec<(&'static [u8], NodeRef)> = vec![
        (b"online", cpus()),
        (b"possible", cpus()),
        (b"present", cpus()),
        (
            b"kernel_max",
            SynthFile::new(fs, |_| Ok(format!("{}\n", CPU_COUNT - 1).into_bytes())),
        ),
    ];
    for name in CPU_NAMES.iter().take(CPU_COUNT as usize) {
        cpu_entries.push((name, SynthDir::new(fs, Vec::new())));
    }
    let cpu = SynthDir::new(fs, cpu_entries);
    let system = SynthDir::new(fs, vec![(&b"cpu"[..], cpu as NodeRef)]);
    let devices = SynthDir::new(fs, vec![(&b"system"[..], system as NodeRef)]);
    let thp = SynthDir::new(
        fs,
        vec![
            (&b"enabled"[..], text(THP_MODE)),
            (
                b"defrag",
                text(b"always defer defer+madvise madvise [never]\n"),
            ),
            (
                b"hpage_pmd_size",
                SynthFile::new(fs, |_| Ok(format!("{HPAGE_PMD_BYTES}\n").into_bytes())),
            ),
        ],
    );
    let mm = SynthDir::new(fs, vec![(&b"transparent_hugepage"[..], thp as NodeRef)]);
    let kernel = SynthDir::new(fs, vec![(&b"mm"[..], mm as NodeRef)]);
    let cgroup = SynthDir::new(fs, Vec::new());
    let fs_dir = SynthDir::new(fs, vec![(&b"cgroup"[..], cgroup as NodeRef)]);
    SynthDir::new(
        fs,
        vec![
            (&b"devices"[..], devices as NodeRef),
            (b"fs", fs_dir as NodeRef),
            (b"kernel", kernel as NodeRef),
        ],
    )
}
