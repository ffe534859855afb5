//! Sockets inside the guest: AF_UNIX streams and datagrams (socketpair,
//! paths, abstract names), and TCP and UDP on the guest's own loopback
//! (127.0.0.0/8, ::1), each C program checking the calls against Linux
//! with the same binary run natively. Native runs use only this host's
//! loopback; the one check of another destination runs in lamina alone
//! (natively it would send a packet), and must fail before anything
//! leaves: ENETUNREACH, until the host proxy forwards such sockets.

use super::*;

/// The two libcs; the PIE builds add nothing the socket calls see.
const BUILDS: [CBuild; 2] = [CBuild::MuslStatic, CBuild::GlibcStatic];

fn same_as_native_with(name: &str, args: &[&str]) {
    same_as_native_at(Depth::Full, name, args);
}

fn same_as_native_at(depth: Depth, name: &str, args: &[&str]) {
    let w = workloads();
    on_targets(depth, |target| {
        BUILDS
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c(name, build), args, &[]))
    });
}

/// Whether this host has IPv6 on its loopback (`::1` in
/// `/proc/net/if_inet6`): the IPv6 checks need it natively.
fn host_has_ipv6_loopback() -> bool {
    fs::read_to_string("/proc/net/if_inet6").is_ok_and(|table| {
        table
            .lines()
            .any(|line| line.starts_with("00000000000000000000000000000001"))
    })
}

/// The IPv6 argument the inet workloads take, where the host can run it.
fn ipv6_args() -> &'static [&'static str] {
    if host_has_ipv6_loopback() {
        &["ipv6"]
    } else {
        eprintln!("net: this host has no IPv6 loopback; the IPv6 checks are left out");
        &[]
    }
}

/// socketpair against Linux (tests/workloads/netpair.c): a ping-pong
/// across fork, the socket object, MSG_PEEK/MSG_DONTWAIT, iovecs,
/// shutdown, EPIPE with and without SIGPIPE, ECONNRESET, datagrams. On
/// `pc` and under KVM too (a few seconds there).
#[test]
fn socketpair_matches_linux() {
    same_as_native_at(Depth::Representative, "netpair", &[]);
}

/// AF_UNIX names against Linux (tests/workloads/netunix.c): a stream
/// server and clients across fork on a path (a socket node in /tmp's
/// tmpfs) and on an abstract name, bind and connect errors, autobind,
/// datagrams with their senders' addresses.
#[test]
fn unix_sockets_match_linux() {
    same_as_native_with("netunix", &[]);
}

/// Socket timeouts and AF_UNIX ancillary data against Linux
/// (tests/workloads/netmsg.c): SO_RCVTIMEO and SO_SNDTIMEO on every
/// kind of socket, SCM_RIGHTS and SCM_CREDENTIALS, SOCK_SEQPACKET.
#[test]
fn socket_timeouts_and_ancillary_data_match_linux() {
    same_as_native_with("netmsg", &[]);
}

/// AF_UNIX paths on the 9P root: the binding stays in the guest (no
/// socket file is made on the host), and connect, EADDRINUSE and unlink
/// behave as Linux's (the checks of the node itself are left out; see
/// `kernel/src/net/unix.rs`).
#[test]
fn unix_sockets_on_the_9p_root() {
    let w = workloads();
    let root = build_rootfs(
        "rootfs-netunix",
        &[(&w.c("netunix", CBuild::MuslStatic), "/netunix")],
    );
    on_targets(Depth::Full, |target| {
        assert_same_in_root(target, &root, "/netunix", &["cwd"], &[])?;
        let left: Vec<_> = fs::read_dir(&root)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|name| name != "netunix")
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("the run left {left:?} in the root"))
        }
    });
}

/// TCP on the loopback against Linux (tests/workloads/nettcp.c): 10 MiB
/// between two processes with a checksum, addresses, non-blocking
/// connect, ECONNREFUSED, EADDRINUSE, resets, EPIPE, options, and ::1 and
/// dual-stack listeners where the host has IPv6.
#[test]
fn tcp_loopback_matches_linux() {
    same_as_native_with("nettcp", ipv6_args());
}

/// UDP on the loopback against Linux (tests/workloads/netudp.c): a round
/// trip with a child, connected sockets, ECONNREFUSED from a closed port,
/// message boundaries, EMSGSIZE.
#[test]
fn udp_loopback_matches_linux() {
    same_as_native_with("netudp", ipv6_args());
}

/// sendmmsg and recvmmsg against Linux (tests/workloads/mmsg.c): batches
/// over an AF_UNIX datagram pair and UDP on the loopback, msg_len,
/// MSG_TRUNC, MSG_WAITFORONE, errnos.
#[test]
fn mmsg_matches_linux() {
    same_as_native_with("mmsg", &[]);
}

/// A non-blocking echo server on poll() and on select() serving TCP and
/// AF_UNIX clients at once, against Linux (tests/workloads/netpoll.c).
#[test]
fn poll_echo_server_matches_linux() {
    same_as_native_with("netpoll", &[]);
}

/// Bad input to the socket calls, full backlogs, EINTR, against Linux
/// (tests/workloads/neterrors.c).
#[test]
fn socket_errors_match_linux() {
    same_as_native_with("neterrors", &[]);
}

/// With `--net none` a destination outside the guest is unreachable:
/// connect and sendto fail at once (lamina only: a native run would send
/// the packets).
#[test]
fn other_destinations_are_unreachable() {
    let w = workloads();
    let expected = "-- unreachable\n\
                    connect 192.0.2.1: ENETUNREACH\n\
                    sendto 192.0.2.1: ENETUNREACH\n\
                    connect 2001:db8::1: ENETUNREACH\n";
    on_targets(Depth::Full, |target| {
        // `--net none`: no net channel, so the guest itself answers (a
        // denied destination with the channel is EPERM: netfwd.rs).
        let program = w.c("nettcp", CBuild::MuslStatic);
        let run = LaminaRun {
            flags: &["--net", "none"],
            ..LaminaRun::new(target, &program, &["unreachable"])
        }
        .run();
        if run.status == 0 && run.stdout == expected {
            Ok(())
        } else {
            Err(format!(
                "expected:\n{expected}\n{}",
                describe("lamina", &run)
            ))
        }
    });
}

/// Sockets opened, used and closed 200 times leave guest frames and the
/// kernel heap where they were (tests/workloads/netleak.c; lamina only).
#[test]
fn sockets_do_not_leak_memory() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        let run = LaminaRun::new(target, &w.c("netleak", CBuild::MuslStatic), &[]).run();
        if run.status == 0 && run.stdout.ends_with("no leak\n") {
            Ok(())
        } else {
            Err(format!(
                "expected \"no leak\" and status 0\n{}",
                describe("lamina", &run)
            ))
        }
    });
}

/// busybox applets the server script calls, linked in its root.
const SERVER_APPLETS: &[&str] = &[
    "sh", "httpd", "wget", "cmp", "dd", "mkdir", "echo", "kill", "sleep", "rm",
];

/// A free TCP port on this host's loopback (for the native run of a
/// script that listens; lamina's guest has its own ports).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// A real server on the guest's loopback: busybox `httpd` serves a page,
/// a 2 MiB file (through sendfile) and a 404 to busybox `wget`; the same
/// script natively, in the same root.
#[test]
fn busybox_httpd_serves_wget() {
    let root = build_rootfs(
        "rootfs-net-busybox",
        &[(Path::new(BUSYBOX), "/bin/busybox")],
    );
    for applet in SERVER_APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
            .unwrap_or_else(|e| panic!("linking applet {applet}: {e}"));
    }
    // Relative paths: natively the script runs in the root, as lamina's `/`.
    let script = r#"
        rm -rf www got
        mkdir www
        echo hello from httpd > www/index.html
        dd if=/dev/urandom of=www/big bs=1024 count=2048 2>/dev/null
        httpd -f -p 127.0.0.1:$PORT -h www &
        server=$!
        for i in 1 2 3 4 5 6 7 8 9 10; do
            wget -q -O /dev/null http://127.0.0.1:$PORT/index.html 2>/dev/null && break
            sleep 0.2
        done
        wget -q -O - http://127.0.0.1:$PORT/index.html
        wget -q -O got http://127.0.0.1:$PORT/big && cmp got www/big && echo 2 MiB intact
        wget -q -O - http://127.0.0.1:$PORT/missing 2>/dev/null || echo missing page: wget fails
        kill $server
        wait
        rm -rf www got
    "#;
    on_targets(Depth::Full, |target| {
        let port = free_port().to_string();
        assert_same_in_root(
            target,
            &root,
            "/bin/sh",
            &["-c", script],
            &[("PATH", "/bin"), ("PORT", &port)],
        )
    });
}
