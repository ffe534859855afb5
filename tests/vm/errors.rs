//! lamina's own failures: one line on stderr and the documented status.

use super::*;

#[test]
fn missing_program_is_127() {
    let missing = scratch_dir("missing").join("does-not-exist");
    let run = LaminaRun::new(default_target(), &missing, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_FOUND, "does-not-exist").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn text_file_is_126() {
    let text = scratch_dir("text").join("notes.txt");
    fs::write(&text, "this is not a program\n").expect("write the text file");
    fs::set_permissions(&text, fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = LaminaRun::new(default_target(), &text, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_EXECUTABLE, "").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn foreign_architecture_is_126() {
    let w = workloads();
    let mut image = fs::read(w.c("hello", CBuild::MuslStatic)).expect("read hello");
    image[ELF_E_MACHINE_OFFSET..ELF_E_MACHINE_OFFSET + 2]
        .copy_from_slice(&EM_AARCH64.to_le_bytes());
    let foreign = scratch_dir("foreign").join("hello-aarch64");
    fs::write(&foreign, image).expect("write the patched ELF");
    fs::set_permissions(&foreign, fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = LaminaRun::new(default_target(), &foreign, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_EXECUTABLE, "").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn dynamic_executable_is_126() {
    let w = workloads();
    let run = LaminaRun::new(default_target(), &w.dynamic_hello, &[]).run();
    expect_one_line_error(&run, EXIT_NOT_EXECUTABLE, "dynamic").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn qemu_not_on_path_is_125() {
    let w = workloads();
    let empty = scratch_dir("empty-path");
    let path = empty.to_str().expect("the target directory is UTF-8");
    let run = LaminaRun {
        host_env: &[("PATH", path)],
        ..LaminaRun::new(default_target(), &w.c("hello", CBuild::MuslStatic), &[])
    }
    .run();
    expect_one_line_error(
        &run,
        EXIT_CANNOT_START_VM,
        "apt-get install qemu-system-x86",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The other VMMs need KVM and their binary; asking for them otherwise is
/// one line and 125, before anything starts.
#[test]
fn other_vmm_errors_are_125() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let empty = scratch_dir("empty-path");
    let empty = empty.to_str().expect("the target directory is UTF-8");
    let lamina = |args: &[&str], host_env: &[(&str, &str)]| {
        let mut command = Command::new(LAMINA);
        command
            .arg("run")
            .args(args)
            .arg(&hello)
            .envs(host_env.iter().copied());
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run")
    };
    struct Case<'a> {
        args: &'a [&'a str],
        host_env: &'a [(&'a str, &'a str)],
        needle: &'a str,
    }
    let cases = [
        Case {
            args: &["--vmm", "firecracker", "--allow-net", "*:443"],
            host_env: &[],
            needle: "--allow-net is not available with --vmm firecracker",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor", "-p", "8080:80"],
            host_env: &[],
            needle: "--publish is not available with --vmm cloud-hypervisor",
        },
        Case {
            args: &["--net", "none", "--dns", "1.1.1.1"],
            host_env: &[],
            needle: "--net none conflicts with --dns",
        },
        Case {
            args: &["--allow-net", "no-such-host.invalid:80"],
            host_env: &[],
            needle: "cannot resolve 'no-such-host.invalid'",
        },
        Case {
            args: &["--vmm", "firecracker", "--accel", "tcg"],
            host_env: &[],
            needle: "runs only under KVM",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor", "--machine", "pc"],
            host_env: &[],
            needle: "--machine applies to --vmm qemu only",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor"],
            host_env: &[("LAMINA_KVM_DEVICE", "/nonexistent")],
            needle: "cannot use KVM: /nonexistent",
        },
        Case {
            args: &["--vmm", "cloud-hypervisor"],
            host_env: &[("PATH", empty)],
            needle: "cloud-hypervisor not found",
        },
        Case {
            args: &["--vmm", "firecracker"],
            host_env: &[("PATH", empty)],
            needle: "firecracker not found",
        },
    ];
    for Case {
        args,
        host_env,
        needle,
    } in cases
    {
        // Without KVM the check for it comes first; the rest need it.
        if !kvm_usable() && needle.contains("not found") {
            continue;
        }
        expect_one_line_error(&lamina(args, host_env), EXIT_CANNOT_START_VM, needle)
            .unwrap_or_else(|e| panic!("lamina run {args:?}: {e}"));
    }
}

/// A bad `--rootfs` is one line and 125 before anything starts, and
/// nothing is created in its place.
#[test]
fn rootfs_errors_are_125() {
    let w = workloads();
    let hello = w.c("hello", CBuild::MuslStatic);
    let scratch = scratch_dir("rootfs-errors");
    let missing = scratch.join("missing");
    let file = scratch.join("a-file");
    fs::write(&file, "not a directory\n").expect("write the file");
    let unreadable = scratch.join("unreadable");
    fs::create_dir_all(&unreadable).expect("create the directory");
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).expect("chmod");
    let lamina = |args: &[&OsStr]| {
        let mut command = Command::new(LAMINA);
        command.arg("run").args(args).arg(&hello);
        run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run")
    };
    let mut cases: Vec<(Vec<&OsStr>, &str)> = vec![
        (
            vec!["--rootfs".as_ref(), missing.as_os_str()],
            "missing: no such directory",
        ),
        (
            vec!["--rootfs".as_ref(), file.as_os_str()],
            "a-file: not a directory",
        ),
        (
            vec![
                "--vmm".as_ref(),
                "firecracker".as_ref(),
                "--rootfs".as_ref(),
                scratch.as_os_str(),
            ],
            "files on that VMM come with its virtio-vsock transport",
        ),
        (
            vec![
                "--vmm".as_ref(),
                "cloud-hypervisor".as_ref(),
                "--rootfs".as_ref(),
                scratch.as_os_str(),
            ],
            "files on that VMM come with its virtio-vsock transport",
        ),
    ];
    let missing_volume = format!("{}:/data", missing.display());
    let relative_guest = format!("{}:data", scratch.display());
    let volume_on_fc = format!("{}:/data", scratch.display());
    cases.extend([
        (vec!["-v".as_ref(), OsStr::new(&missing_volume)], "--volume"),
        (
            vec!["--volume".as_ref(), OsStr::new(&relative_guest)],
            "is not absolute",
        ),
        (
            vec!["--tmpfs".as_ref(), "scratch".as_ref()],
            "is not absolute",
        ),
        (
            vec![
                "--vmm".as_ref(),
                "firecracker".as_ref(),
                "-v".as_ref(),
                OsStr::new(&volume_on_fc),
            ],
            "files on that VMM come with its virtio-vsock transport",
        ),
    ]);
    // Root reads every directory, so "unreadable" needs another user.
    if !rustix::process::geteuid().is_root() {
        cases.push((
            vec!["--rootfs".as_ref(), unreadable.as_os_str()],
            "unreadable: cannot list it: Permission denied",
        ));
    }
    for (args, needle) in cases {
        expect_one_line_error(&lamina(&args), EXIT_CANNOT_START_VM, needle)
            .unwrap_or_else(|e| panic!("lamina run {args:?}: {e}"));
    }
    assert!(!missing.exists(), "lamina created the missing --rootfs");
    // `--read-only` alone is a usage error too.
    expect_one_line_error(
        &lamina(&["--read-only".as_ref()]),
        EXIT_CANNOT_START_VM,
        "--rootfs <DIR>",
    )
    .unwrap_or_else(|e| panic!("lamina run --read-only: {e}"));
}

#[test]
fn unusable_kvm_is_125() {
    let w = workloads();
    let target = Target {
        accel: Accel::Kvm,
        ..default_target()
    };
    let run = LaminaRun {
        host_env: &[("LAMINA_KVM_DEVICE", "/nonexistent")],
        ..LaminaRun::new(target, &w.c("hello", CBuild::MuslStatic), &[])
    }
    .run();
    expect_one_line_error(&run, EXIT_CANNOT_START_VM, "").unwrap_or_else(|e| panic!("{e}"));
}
