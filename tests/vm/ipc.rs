//! Memory and synchronisation shared between processes: POSIX shared
//! memory on `/dev/shm` (and its `--shm-size`), and SysV IPC (shared
//! memory segments, semaphore sets, message queues), against Linux.

use super::*;

/// shm_open + MAP_SHARED is one copy for every process and for
/// read/write of the object; process-shared and named semaphores work
/// across fork (tests/workloads/shm.c).
#[test]
fn posix_shm_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("shm", build), &[], &[]))
    });
}

/// SysV IPC against Linux (tests/workloads/sysv.c): a producer/consumer
/// ring on a shared segment and a semaphore set across fork, segment
/// lifetime and nattch, SHM_RDONLY, semctl's commands, SEM_UNDO, EIDRM
/// to a blocked waiter, message queues by type, blocking both ways, and
/// the errno cases.
#[test]
fn sysv_ipc_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("sysv", build), &[], &[]))
    });
}

/// `--shm-size` bounds /dev/shm: statfs reports the size, and a write
/// beyond it fails with ENOSPC; the default is docker's 64 MiB.
#[test]
fn shm_size_bounds_dev_shm() {
    let busybox = Path::new(BUSYBOX);
    let script = "df -k /dev/shm | tail -n 1; \
                  dd if=/dev/zero of=/dev/shm/fill bs=1M count=3 2>&1 | grep -o 'No space left on device'; \
                  ls -l /dev/shm/fill | awk '{print $5}'";
    let run = LaminaRun {
        flags: &["--shm-size", "2M"],
        ..LaminaRun::new(default_target(), busybox, &["sh", "-c", script])
    }
    .run();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let ok = lines.len() == 3
        && lines[0].split_whitespace().nth(1) == Some("2048")
        && lines[1] == "No space left on device"
        && lines[2] == (2 << 20).to_string();
    assert!(ok, "{}", describe("lamina --shm-size 2M", &run));
    let default = LaminaRun::new(
        default_target(),
        busybox,
        &["sh", "-c", "df -k /dev/shm | tail -n 1"],
    )
    .run();
    assert_eq!(
        default.stdout.split_whitespace().nth(1),
        Some("65536"),
        "{}",
        describe("lamina", &default)
    );
}
