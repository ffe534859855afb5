//! The channels to the host (issue 9): the workload's stdio and exit
//! status over the virtio-console "ctl" port, what happens when the guest
//! breaks a channel, and the name files lamina puts in the guest's /etc.

use super::*;

/// Runs `command` with its stdout and stderr on one pipe, as `2>&1`
/// does: what a user sees in a terminal, in the order it was written.
fn run_merged(command: &mut Command) -> (Vec<u8>, i32) {
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone().expect("a second writer"))
        .stderr(writer);
    let mut child = command.spawn().expect("the command starts");
    // Our copies of the writer went with `command`'s: end of file comes
    // when the child and its children have closed theirs.
    drop(std::mem::replace(command, Command::new("true")));
    let mut out = Vec::new();
    reader.read_to_end(&mut out).expect("reading the pipe");
    let status = child.wait().expect("the command ends");
    (out, status_code(status))
}

/// Output and errors interleaved line by line reach the host in the order
/// they were written (both travel on the one ctl stream).
#[test]
fn stdout_and_stderr_keep_their_order() {
    let w = workloads();
    let script =
        "i=0; while [ $i -lt 300 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; exit 5";
    let mut native = Command::new(&w.busybox);
    native.args(["sh", "-c", script]).env_clear();
    let (native_out, native_status) = run_merged(&mut native);
    on_targets(Depth::Smoke, |target| {
        let mut lamina = LaminaRun::new(target, &w.busybox, &["sh", "-c", script]).command();
        let (out, status) = run_merged(&mut lamina);
        if out == native_out && status == native_status {
            return Ok(());
        }
        Err(format!(
            "merged stdout+stderr differ on {target}: status {status} vs {native_status}, {} vs {} bytes\nlamina: {}",
            out.len(),
            native_out.len(),
            truncate(&String::from_utf8_lossy(&out))
        ))
    });
}

/// Bulk output arrives whole and exact (64 KiB frames over the port, with
/// back-pressure from the host's reader).
#[test]
fn bulk_stdout_is_exact() {
    let w = workloads();
    let args = [
        "sh",
        "-c",
        "yes 'lamina bulk line' | head -c 2000000; echo; echo end",
    ];
    on_targets(Depth::Smoke, |target| {
        // The other VMMs carry stdio on the serial line, a byte per port
        // write: far too slow for this much.
        if !matches!(target.vmm, Vmm::Qemu(_)) {
            return Ok(());
        }
        assert_same_as_native(target, &w.busybox, &args, &[])
    });
}

/// A guest that sends bytes that are no frame on ctl: one clear line, 125,
/// and lamina itself is fine.
#[test]
fn a_broken_control_channel_is_one_line_and_125() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        if target.vmm != Vmm::Qemu(Machine::Microvm) && target.vmm != Vmm::Qemu(Machine::Pc) {
            return Ok(());
        }
        let run = LaminaRun {
            host_env: &[("LAMINA_KERNEL_APPEND", "selftest=ctl-garbage")],
            ..LaminaRun::new(target, &w.busybox, &["sleep", "30"])
        }
        .run();
        expect_one_line_error(&run, EXIT_CANNOT_START_VM, "broke the control channel")
            .map_err(|e| format!("on {target}: {e}"))
    });
}

/// Garbage on the net channel closes that channel (one line on stderr);
/// the workload runs on, its sockets fail at once instead of waiting for
/// a host that no longer reads, and its output and status arrive.
#[test]
fn a_broken_net_channel_leaves_the_workload_running() {
    let w = workloads();
    let netfwd = w.c("netfwd", CBuild::MuslStatic);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let allow = format!("127.0.0.1:{port}");
    let run = LaminaRun {
        host_env: &[("LAMINA_KERNEL_APPEND", "selftest=net-garbage")],
        flags: &["--allow-net", &allow],
        timeout: "20s",
        ..LaminaRun::new(default_target(), &netfwd, &["refused", &port])
    }
    .run();
    let lines: Vec<&str> = run.stderr.lines().collect();
    let first = run.stdout.lines().next().unwrap_or("");
    assert!(
        run.status == 0
            && first.starts_with("connect 10.0.2.2:")
            && first.contains(": -1 ")
            && !first.contains("refused")
            && lines.len() == 1
            && lines[0].contains("broke the net channel"),
        "{}",
        describe("lamina", &run)
    );
}

/// docker's name files: /etc/hosts, /etc/hostname and /etc/resolv.conf
/// made by lamina, in guest memory; `--hostname` is also the UTS name.
#[test]
fn name_files_follow_the_flags() {
    let w = workloads();
    let script = "cat /etc/hostname; hostname; grep -c . /etc/hosts; grep db /etc/hosts; \
                  grep box /etc/hosts; grep ^nameserver /etc/resolv.conf; \
                  echo changed > /etc/hosts && cat /etc/hosts";
    let run = LaminaRun {
        flags: &["--hostname", "box", "--add-host", "db:192.0.2.7"],
        ..LaminaRun::new(default_target(), &w.busybox, &["sh", "-c", script])
    }
    .run();
    let expected = "box\nbox\n8\n192.0.2.7\tdb\n127.0.1.1\tbox\nnameserver 10.0.2.3\nchanged\n";
    assert!(
        run.status == 0 && run.stdout == expected,
        "{}",
        describe("lamina", &run)
    );
}

/// Over a root from the host, lamina's /etc files cover the root's own,
/// which stay as they were on the host.
#[test]
fn name_files_never_touch_the_rootfs() {
    let w = workloads();
    let root = build_rootfs("name-files", &[(w.busybox.as_path(), "bin/busybox")]);
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/hosts"), "10.9.9.9 mine\n").unwrap();
    let run = LaminaRun::new(
        default_target(),
        Path::new("/bin/busybox"),
        &[
            "sh",
            "-c",
            "grep -c mine /etc/hosts; echo x >> /etc/hosts; cat /etc/hostname",
        ],
    )
    .in_root(&root)
    .run();
    let on_host = fs::read_to_string(root.join("etc/hosts")).unwrap();
    assert!(
        run.stdout == "0\nlamina\n" && on_host == "10.9.9.9 mine\n",
        "host file now {on_host:?}\n{}",
        describe("lamina", &run)
    );
}
