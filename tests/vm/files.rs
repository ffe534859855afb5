//! Files: the open-file model and the VFS against Linux (on tmpfs and on
//! the 9P root), `--rootfs` over virtio-9p with every change checked on the
//! host, volumes, `--tmpfs`, dynamic programs from the root, SQLite.

use super::*;

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
/// and `--tmpfs PATH` an in-memory file system; /proc/mounts lists them
/// (and the tmpfs at /tmp that a root without its own /tmp gets).
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
    // Not /etc/hostname: lamina puts its own over the root's.
    fs::create_dir_all(root.join("etc")).expect("mkdir etc");
    fs::write(root.join("etc/marker"), "inside\n").expect("write");
    std::os::unix::fs::symlink("/", root.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../../../../..", root.join("up")).expect("symlink");
    let busybox = Path::new("/bin/busybox");
    on_targets(Depth::Full, |target| {
        for path in [
            "/../../../etc/marker",
            "/abs/etc/marker",
            "/up/etc/marker",
            "/bin/../../etc/marker",
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

/// /proc has a directory per process: `ps` lists the workload as PID 1,
/// `ls /proc` shows it beside `self`, and /proc/self/stat is Linux's line
/// (52 fields; the caller running, its only thread).
#[test]
fn proc_shows_the_workload() {
    let busybox = Path::new(BUSYBOX);
    on_targets(Depth::Full, |target| {
        let ps = LaminaRun::new(target, busybox, &["ps"]).run();
        let listed = ps.stdout.lines().any(|line| {
            line.split_whitespace().next() == Some("1") && line.ends_with("busybox ps")
        });
        if ps.status != 0 || !ps.stdout.starts_with("PID") || !listed {
            return Err(format!("no PID 1 from ps\n{}", describe("lamina", &ps)));
        }
        let ls = LaminaRun::new(target, busybox, &["ls", "-1", "/proc"]).run();
        let names: Vec<&str> = ls.stdout.lines().collect();
        if ls.status != 0
            || !["1", "self", "thread-self", "meminfo"]
                .iter()
                .all(|n| names.contains(n))
        {
            return Err(format!("ls /proc\n{}", describe("lamina", &ls)));
        }
        let stat = LaminaRun::new(target, busybox, &["cat", "/proc/self/stat"]).run();
        match parse_proc_stat(&stat.stdout) {
            Some((1, "busybox", fields))
                if fields.len() == 50
                    && fields[0] == "R"
                    && fields[1] == "0"
                    && fields[17] == "1"
                    && fields[1..].iter().all(|f| f.parse::<i128>().is_ok()) =>
            {
                Ok(())
            }
            _ => Err(format!(
                "/proc/self/stat is not pid 1 (busybox) R, parent 0, one thread\n{}",
                describe("lamina", &stat)
            )),
        }
    });
}

/// A /proc/PID/stat line's pid, comm and the fields after comm (from
/// the state on).
fn parse_proc_stat(line: &str) -> Option<(u32, &str, Vec<&str>)> {
    let (pid, rest) = line.trim_end().split_once(" (")?;
    let (comm, fields) = rest.rsplit_once(") ")?;
    Some((pid.parse().ok()?, comm, fields.split(' ').collect()))
}

/// With `--rootfs`, `/tmp` is the root's own (as docker and `podman
/// --rootfs`): a file written there stays in DIR/tmp after the run;
/// `--tmpfs /tmp` puts an in-memory file system over it instead.
#[test]
fn rootfs_tmp_is_the_roots_own() {
    let root = build_rootfs("rootfs-tmp", &[(Path::new(BUSYBOX), "/bin/busybox")]);
    fs::create_dir_all(root.join("tmp")).expect("mkdir tmp");
    let busybox = Path::new("/bin/busybox");
    let write = |flags: &[&str], name: &str| {
        let script = format!("echo kept > /tmp/{name} && cat /tmp/{name}");
        LaminaRun {
            flags,
            ..LaminaRun::new(default_target(), busybox, &["sh", "-c", &script])
        }
        .in_root(&root)
        .run()
    };
    let run = write(&[], "file");
    assert_eq!(run.stdout, "kept\n", "{}", describe("lamina", &run));
    assert_eq!(
        fs::read_to_string(root.join("tmp/file")).unwrap_or_default(),
        "kept\n",
        "the file written to /tmp is not in the root's tmp"
    );
    let run = write(&["--tmpfs", "/tmp"], "in-memory");
    assert_eq!(run.stdout, "kept\n", "{}", describe("lamina", &run));
    assert!(
        !root.join("tmp/in-memory").exists(),
        "--tmpfs /tmp wrote to the root"
    );
    fs::remove_dir_all(&root).expect("remove the root");
}

/// The /proc and /sys files runtimes read (tests/workloads/procsys.c):
/// /sys's CPU lists and transparent huge pages, /proc/self/status fields,
/// limits, environ, mountinfo against /proc/mounts and stat, /proc/stat,
/// loadavg, filesystems and /proc/sys, each parsed in Linux's format and
/// checked against the system calls; writes refused as Linux refuses them.
#[test]
fn proc_and_sys_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                assert_same_as_native(
                    target,
                    &w.c("procsys", build),
                    &[],
                    &[("A", "1"), ("B", "2")],
                )
            })
    });
}

/// Named pipes and mknod against Linux (tests/workloads/fifo.c) in the
/// guest's /tmp (a tmpfs): mkfifo, mknod of FIFOs, sockets and regular
/// files, the blocking and O_NONBLOCK open rules with another process,
/// the bytes gone with the last end, errnos.
#[test]
fn fifo_matches_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("fifo", build), &[], &[]))
    });
}
