//! Who the workload is: credentials and their rules against Linux
//! (`identity.c`), `--user` by number and by name, and the environment a
//! container starts with (docker's PATH, HOSTNAME, HOME; `-e`, `-e KEY`,
//! `--env-file`).

use super::*;

/// `identity.c` natively (as root on the host, in a scratch directory of
/// the host's /tmp that uid 1000 can reach) and in lamina (in the guest's
/// /tmp): ids, groups, capabilities that do not depend on the starting
/// set, errnos and permission checks must print the same.
/// Removes a host directory when the test ends, passed or not.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `identity.c` natively (as root on the host, in a scratch directory of
/// the host's /tmp that uid 1000 can reach) and in lamina (in the guest's
/// /tmp): ids, groups, capabilities that do not depend on the starting
/// set, errnos and permission checks must print the same.
#[test]
fn credentials_against_linux() {
    let w = workloads();
    let host_dir =
        RemoveOnDrop(std::env::temp_dir().join(format!("lamina-identity-{}", std::process::id())));
    fs::create_dir_all(&host_dir.0).expect("creating the scratch directory");
    // uid 1000 searches it, as the guest's /tmp.
    fs::set_permissions(
        &host_dir.0,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod the scratch directory");
    let native_dir = host_dir.0.join("d");
    let native_dir = native_dir.to_str().expect("a UTF-8 temp path");
    on_targets(Depth::Smoke, |target| {
        for build in [CBuild::MuslStatic, CBuild::GlibcStatic] {
            let binary = w.c("identity", build);
            let native = run_native(&binary, &[native_dir], &[]);
            let lamina = LaminaRun::new(target, &binary, &["/tmp/identity"]).run();
            if native.stdout != lamina.stdout || native.status != lamina.status {
                return Err(format!(
                    "identity ({build:?}) differs on {target}\n{}\n{}",
                    describe("native", &native),
                    describe("lamina", &lamina)
                ));
            }
        }
        Ok(())
    });
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
    postgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/sh\n";
const GROUP: &str =
    "root:x:0:\nssl-cert:x:109:postgres\npostgres:x:110:\nstaff:x:50:postgres,other\n";

/// A root holding busybox and an /etc/passwd and /etc/group.
fn users_root() -> PathBuf {
    let root = build_rootfs("rootfs-users", &[(Path::new(BUSYBOX), "/bin/busybox")]);
    fs::create_dir_all(root.join("etc")).expect("creating /etc");
    fs::write(root.join("etc/passwd"), PASSWD).expect("writing passwd");
    fs::write(root.join("etc/group"), GROUP).expect("writing group");
    // postgres's own directory (as root on the host; unprivileged, the
    // chown fails and the test that needs it says so).
    let pg = root.join("pg");
    fs::create_dir_all(&pg).expect("creating /pg");
    let _ = std::os::unix::fs::chown(&pg, Some(104), Some(110));
    root
}

fn lamina_ok(run: &Finished) -> Result<&str, String> {
    if run.status == 0 {
        Ok(&run.stdout)
    } else {
        Err(describe("lamina", run))
    }
}

fn expect_output(run: &Finished, expected: &str) -> Result<(), String> {
    if lamina_ok(run)? == expected {
        Ok(())
    } else {
        Err(format!(
            "expected {expected:?}\n{}",
            describe("lamina", run)
        ))
    }
}

#[test]
fn user_by_number() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        let id = |flags: &[&str]| {
            LaminaRun {
                flags,
                ..LaminaRun::new(target, &w.busybox, &["id"])
            }
            .run()
        };
        expect_output(
            &id(&["--user", "1000:1000"]),
            "uid=1000 gid=1000 groups=1000\n",
        )?;
        // A uid alone gets gid 0, as docker's.
        expect_output(&id(&["--user", "4321"]), "uid=4321 gid=0 groups=0\n")?;
        expect_output(&id(&[]), "uid=0 gid=0 groups=0\n")?;
        // /proc/PID belongs to the process (ps shows its user).
        let proc_owner = LaminaRun {
            flags: &["--user", "1000:1001"],
            ..LaminaRun::new(
                target,
                &w.busybox,
                &["stat", "-L", "-c", "%u %g", "/proc/self"],
            )
        }
        .run();
        expect_output(&proc_owner, "1000 1001\n")?;
        // The empty root is root's 0755, /tmp everyone's.
        let writes = LaminaRun {
            flags: &["--user", "1000:1000"],
            ..LaminaRun::new(
                target,
                &w.busybox,
                &[
                    "sh",
                    "-c",
                    "touch /x 2>/dev/null; echo $?; touch /tmp/x; echo $?",
                ],
            )
        }
        .run();
        expect_output(&writes, "1\n0\n")?;
        // /proc/self/status, and no capabilities left.
        let status = LaminaRun {
            flags: &["-u", "1000:1000"],
            ..LaminaRun::new(
                target,
                &w.busybox,
                &[
                    "grep",
                    "-E",
                    "^(Uid|Gid|Groups|CapEff|CapPrm|CapBnd):",
                    "/proc/self/status",
                ],
            )
        }
        .run();
        expect_output(
            &status,
            "Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t1000 \n\
             CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n",
        )
    });
}

#[test]
fn user_by_name_from_the_root() {
    let root = users_root();
    // --rootfs: QEMU only until the vsock transport.
    on_targets(Depth::Representative, |target| {
        let run = |flags: &[&str], args: &[&str]| {
            LaminaRun {
                flags,
                ..LaminaRun::new(target, Path::new("/bin/busybox"), args)
            }
            .in_root(&root)
            .run()
        };
        expect_output(
            &run(&["--user", "postgres"], &["id"]),
            "uid=104(postgres) gid=110(postgres) groups=50(staff),109(ssl-cert),110(postgres)\n",
        )?;
        expect_output(
            &run(&["--user", "postgres:staff"], &["id"]),
            "uid=104(postgres) gid=50(staff) groups=50(staff)\n",
        )?;
        expect_output(
            &run(&["--user", "postgres"], &["sh", "-c", "echo $HOME"]),
            "/var/lib/postgresql\n",
        )?;
        expect_output(&run(&[], &["sh", "-c", "echo $HOME"]), "/root\n")?;
        // Files the user creates in the root are its own, on the host too
        // (lamina runs as root here: QEMU's chown succeeds).
        let made = root.join("tmp-made-by-postgres");
        let _ = fs::remove_file(&made);
        let out = run(
            &["--user", "104:110"],
            &[
                "sh",
                "-c",
                "touch /tmp-made-by-postgres; stat -c '%u %g' /tmp-made-by-postgres",
            ],
        );
        let host_owner = fs::metadata(&made).map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.uid(), m.gid())
        });
        let _ = fs::remove_file(&made);
        // The root directory is root's 0755: uid 104 may not create there.
        if !out.stdout.is_empty() || host_owner.is_ok() {
            return Err(format!(
                "uid 104 created a file in a 0755 root directory\n{}",
                describe("lamina", &out)
            ));
        }
        let out = run(
            &["--user", "104:110"],
            &["sh", "-c", "cd /pg && touch made && stat -c '%u %g' made"],
        );
        let made = root.join("pg/made");
        let host_owner = fs::metadata(&made).map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.uid(), m.gid())
        });
        let _ = fs::remove_file(&made);
        expect_output(&out, "104 110\n")?;
        match host_owner {
            Ok((104, 110)) => {}
            other => return Err(format!("on the host the file is {other:?}, not 104:110")),
        }
        let unknown = run(&["--user", "nobody2"], &["id"]);
        expect_one_line_error(&unknown, 125, "--user nobody2: no such user in")?;
        let unknown = run(&["--user", "postgres:nogroup"], &["id"]);
        expect_one_line_error(&unknown, 125, "no such group in")
    });
}

#[test]
fn user_name_without_a_root_is_refused() {
    let w = workloads();
    let run = LaminaRun {
        flags: &["--user", "postgres"],
        ..LaminaRun::new(default_target(), &w.busybox, &["id"])
    }
    .run();
    expect_one_line_error(&run, 125, "give --rootfs, or a numeric UID")
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn container_environment() {
    let w = workloads();
    let env_file = scratch_dir("env-file").join("vars");
    fs::write(
        &env_file,
        "# comment\n\nFROM_FILE=file value\nFROM_HOST_VIA_FILE\nOVERRIDDEN=file\n",
    )
    .expect("writing the env file");
    let env_file = env_file.to_str().expect("a UTF-8 path").to_owned();
    // --hostname: QEMU only until the vsock transport.
    on_targets(Depth::Representative, |target| {
        let run = |flags: &[&str]| {
            LaminaRun {
                flags,
                host_env: &[("LAMINA_TEST_HOST_VAR", "from the host")],
                ..LaminaRun::new(target, &w.busybox, &["env"])
            }
            .run()
        };
        expect_output(
            &run(&[]),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=lamina\nHOME=/\n",
        )?;
        expect_output(
            &run(&[
                "--hostname",
                "box",
                "-e",
                "PATH=/bin",
                "-e",
                "A=1",
                "-e",
                "HOME=/h",
            ]),
            "PATH=/bin\nHOSTNAME=box\nA=1\nHOME=/h\n",
        )?;
        expect_output(
            &run(&["-e", "LAMINA_TEST_HOST_VAR", "-e", "LAMINA_TEST_UNSET_VAR"]),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=lamina\n\
             LAMINA_TEST_HOST_VAR=from the host\nHOME=/\n",
        )?;
        let with_file = LaminaRun {
            flags: &["--env-file", &env_file, "-e", "OVERRIDDEN=flag"],
            host_env: &[("FROM_HOST_VIA_FILE", "yes")],
            ..LaminaRun::new(target, &w.busybox, &["env"])
        }
        .run();
        expect_output(
            &with_file,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=lamina\n\
             FROM_FILE=file value\nFROM_HOST_VIA_FILE=yes\nOVERRIDDEN=flag\nHOME=/\n",
        )
    });
}

/// lamina run by an unprivileged host user: QEMU cannot chown, so files
/// stay that user's on the host, and the guest keeps the owner a
/// workload gave them (a non-root creator owns its files and may reopen
/// them; a root chown shows in the guest). Needs root to become another
/// user (setpriv); skipped with a note otherwise.
#[test]
fn unprivileged_host_keeps_owners_in_the_guest() {
    use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
    const HOST_UID: u32 = 65000;
    let is_root = fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let setpriv = Path::new("/usr/bin/setpriv");
    if !is_root || !setpriv.exists() {
        eprintln!("skipped: needs root and /usr/bin/setpriv to run lamina as another user");
        return;
    }
    let scratch = RemoveOnDrop(
        std::env::temp_dir().join(format!("lamina-unprivileged-{}", std::process::id())),
    );
    let root = scratch.0.join("root");
    let cache = scratch.0.join("cache");
    let lamina = scratch.0.join("lamina");
    for dir in [&root.join("bin"), &root.join("data"), &cache] {
        fs::create_dir_all(dir).expect("creating the scratch tree");
    }
    fs::copy(BUSYBOX, root.join("bin/busybox")).expect("copying busybox");
    fs::copy(LAMINA, &lamina).expect("copying lamina");
    fs::set_permissions(root.join("data"), fs::Permissions::from_mode(0o777)).expect("chmod");
    fs::set_permissions(&scratch.0, fs::Permissions::from_mode(0o755)).expect("chmod");
    for path in [
        &root,
        &root.join("bin"),
        &root.join("data"),
        &cache,
        &lamina,
    ] {
        chown(path, Some(HOST_UID), Some(HOST_UID)).expect("chown the scratch tree");
    }
    let script = "touch /data/made && echo kept > /data/made && cat /data/made && \
                  stat -c '%u %g' /data/made && chown 0 /data/made; echo chown=$?";
    let run = |flags: &[&str], script: &str| {
        let mut command = Command::new(setpriv);
        command
            .args([
                "--reuid",
                &HOST_UID.to_string(),
                "--regid",
                &HOST_UID.to_string(),
            ])
            .args(["--clear-groups", "env", "-i"])
            .arg(format!("XDG_CACHE_HOME={}", cache.display()))
            .arg("PATH=/usr/bin:/bin")
            .arg(&lamina)
            .args(["run", "--timeout", LAMINA_TIMEOUT_ARG, "--rootfs"])
            .arg(&root)
            .args(flags)
            .args(["/bin/busybox", "sh", "-c", script]);
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "unprivileged lamina run")
    };
    let user = run(&["--user", "104:110"], script);
    let host = fs::metadata(root.join("data/made")).map(|m| (m.uid(), m.gid()));
    let root_chown = run(&[], "touch /r && chown 5:6 /r && stat -c '%u %g' /r");
    let checks = [
        (
            user.stdout == "kept\n104 110\nchown=1\n",
            "uid 104 owns what it made",
        ),
        (
            host.as_ref().ok() == Some(&(HOST_UID, HOST_UID)),
            "the host file is the host user's",
        ),
        (
            root_chown.stdout == "5 6\n",
            "a root chown shows in the guest",
        ),
    ];
    for (ok, what) in checks {
        assert!(
            ok,
            "{what}: host owner {host:?}\n{}\n{}",
            describe("--user 104:110", &user),
            describe("root", &root_chown)
        );
    }
}
