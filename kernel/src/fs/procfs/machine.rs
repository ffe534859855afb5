//! The machine-wide files of /proc: `stat`, `loadavg`, `filesystems` and
//! the read-only `sys` tree of the settings programs read (proc(5)). Each
//! value is what lamina does, not a guess: its limits where it has one,
//! Linux's default where lamina behaves as that default.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::sync::atomic::Ordering;

use super::{SynthFile, SynthFs, NS_PER_TICK};
use crate::fs::synth::SynthDir;
use crate::fs::vfs::NodeRef;
use crate::task::{self, State, CPU_COUNT};
use crate::time;

/// The file system types lamina mounts, as /proc/filesystems lists them
/// (none needs a block device).
pub const FILESYSTEMS: &[u8] =
    b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tproc\nnodev\t9p\n";

/// Linux's defaults for what lamina does the way the default says:
/// demand paging without a commit limit is the heuristic overcommit mode;
/// 65,536 supplementary groups; capabilities up to
/// CAP_CHECKPOINT_RESTORE (as /proc/PID/status reports them).
const OVERCOMMIT_HEURISTIC: u32 = 0;
const NGROUPS_MAX: u32 = 65_536;
const CAP_LAST_CAP: u32 = 40;
/// inotify's default watch limit (`fs.inotify.max_user_watches`).
const INOTIFY_MAX_USER_WATCHES: u32 = 8192;

/// `/proc/stat`: CPU time in clock ticks (the processes' user and system
/// time; idle the rest of the uptime), the boot time, the threads made
/// since boot and those running now.
pub fn stat() -> Vec<u8> {
    let (user_ns, system_ns, running) = task::with_tables(|t| {
        let (user, system) = t.procs.values().fold((0u64, 0u64), |(u, s), entry| {
            let g = &entry.group;
            (
                u + g.user_ns.load(Ordering::Relaxed) + g.children_user_ns.load(Ordering::Relaxed),
                s + g.system_ns.load(Ordering::Relaxed)
                    + g.children_system_ns.load(Ordering::Relaxed),
            )
        });
        // The caller is on the CPU, out of the table.
        let runnable = t
            .tasks
            .values()
            .filter(|task| task.state == State::Runnable);
        (user, system, runnable.count() as u64 + 1)
    });
    let processes = task::with_tables(|t| t.tids_handed_out());
    let uptime_ns = time::monotonic_ns();
    let user = user_ns / NS_PER_TICK;
    let system = system_ns / NS_PER_TICK;
    let idle = (uptime_ns / NS_PER_TICK).saturating_sub(user + system);
    let boot_secs = time::realtime_ns().saturating_sub(uptime_ns) / time::NS_PER_SEC;
    let mut out = String::new();
    let cpu_line = |out: &mut String, name: &str| {
        let _ = writeln!(out, "{name} {user} 0 {system} {idle} 0 0 0 0 0 0");
    };
    cpu_line(&mut out, "cpu ");
    for cpu in 0..CPU_COUNT {
        cpu_line(&mut out, &format!("cpu{cpu}"));
    }
    let _ = write!(
        out,
        "intr 0\nctxt 0\nbtime {boot_secs}\nprocesses {processes}\nprocs_running {running}\n\
         procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"
    );
    out.into_bytes()
}

/// `/proc/loadavg`: lamina keeps no load average (its three figures read
/// 0.00, as in gVisor), then running/total threads and the last id.
pub fn loadavg() -> Vec<u8> {
    let (running, total, last) = task::with_tables(|t| {
        let runnable = t
            .tasks
            .values()
            .filter(|task| task.state == State::Runnable);
        (runnable.count() + 1, t.task_count, t.tids_handed_out())
    });
    format!("0.00 0.00 0.00 {running}/{total} {last}\n").into_bytes()
}

/// A fresh random UUID (version 4) as text.
fn uuid() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    crate::random::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out.push('\n');
    out.into_bytes()
}

/// This boot's id, made once (`kernel.random.boot_id`).
fn boot_id() -> Vec<u8> {
    static BOOT_ID: spin::Once<Vec<u8>> = spin::Once::new();
    BOOT_ID.call_once(uuid).clone()
}

/// `/proc/sys`: read-only, each file one value and a newline.
pub fn sys(fs: SynthFs) -> NodeRef {
    let number =
        |n: u64| -> NodeRef { SynthFile::new(fs, move |_| Ok(format!("{n}\n").into_bytes())) };
    let text = |t: &'static [u8]| -> NodeRef { SynthFile::new(fs, move |_| Ok(t.to_vec())) };
    let dir = |entries: Vec<(&'static [u8], NodeRef)>| -> NodeRef { SynthDir::new(fs, entries) };
    let random = dir(vec![
        (b"boot_id", SynthFile::new(fs, |_| Ok(boot_id()))),
        (b"uuid", SynthFile::new(fs, |_| Ok(uuid()))),
    ]);
    let kernel = dir(vec![
        (b"cap_last_cap", number(CAP_LAST_CAP.into())),
        (
            b"hostname",
            SynthFile::new(fs, |_| {
                let mut name = crate::syscall::hostname();
                name.push(b'\n');
                Ok(name)
            }),
        ),
        (b"ngroups_max", number(NGROUPS_MAX.into())),
        (
            b"osrelease",
            SynthFile::new(fs, |_| {
                let mut release = crate::syscall::KERNEL_RELEASE.to_vec();
                release.push(b'\n');
                Ok(release)
            }),
        ),
        (b"ostype", text(b"Linux\n")),
        (b"pid_max", number(task::PID_MAX.into())),
        (b"random", random),
        (
            b"threads-max",
            SynthFile::new(fs, |_| Ok(format!("{}\n", task::max_tasks()).into_bytes())),
        ),
    ]);
    let vm = dir(vec![
        (
            b"max_map_count",
            number(crate::mm::vm::MAX_MAP_COUNT as u64),
        ),
        (b"overcommit_memory", number(OVERCOMMIT_HEURISTIC.into())),
    ]);
    let max_fds = crate::fs::fd::MAX_FDS as u64;
    let inotify = dir(vec![(
        b"max_user_watches",
        number(INOTIFY_MAX_USER_WATCHES.into()),
    )]);
    let fs_dir = dir(vec![
        (b"file-max", number(max_fds)),
        (b"inotify", inotify),
        (b"nr_open", number(max_fds)),
    ]);
    let core = dir(vec![(
        b"somaxconn",
        number(crate::net::stream::SOMAXCONN.into()),
    )]);
    let net = dir(vec![(b"core", core)]);
    let sys: Arc<SynthDir> = SynthDir::new(
        fs,
        vec![
            (&b"fs"[..], fs_dir),
            (b"kernel", kernel),
            (b"net", net),
            (b"vm", vm),
        ],
    );
    sys
}
