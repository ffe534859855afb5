//! Forwarded sockets (issue 9): the workload's sockets to addresses
//! outside its own loopback go to lamina's host proxy, which opens real
//! host sockets where the policy allows. Every server here is a thread of
//! this test on the host's loopback (the guest's 10.0.2.2); nothing is
//! ever sent anywhere else: the checks on other destinations assert that
//! the policy refuses them before a packet leaves.

use super::*;
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn netfwd() -> PathBuf {
    workloads().c("netfwd", CBuild::MuslStatic)
}

/// A host TCP server on 127.0.0.1 that runs `serve` on each connection.
fn host_server(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let serve = Arc::clone(&serve);
            thread::spawn(move || serve(stream));
        }
    });
    (port, accepted)
}

fn echo(mut stream: TcpStream) {
    let mut reader = stream.try_clone().unwrap();
    let _ = std::io::copy(&mut reader, &mut stream);
    let _ = stream.shutdown(Shutdown::Write);
}

/// A port nothing listens on (bound, then closed again).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn allow(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn run_with(flags: &[&str], args: &[&str]) -> Finished {
    let program = netfwd();
    LaminaRun {
        flags,
        ..LaminaRun::new(default_target(), &program, args)
    }
    .run()
}

/// busybox wget downloads 5 MB from an HTTP server on the host's loopback
/// (through 10.0.2.2), byte for byte.
#[test]
fn wget_downloads_from_the_host() {
    let w = workloads();
    let body: String = (0..400_000).map(|i| format!("{i:011}\n")).collect();
    assert!(body.len() >= 4_800_000);
    let served = body.clone();
    let (port, _) = host_server(move |mut stream| {
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let head = format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
            served.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(served.as_bytes());
    });
    let url = format!("http://10.0.2.2:{port}/file");
    on_targets(Depth::Smoke, |target| {
        // Sockets on the other VMMs wait for their vsock transport.
        if !matches!(target.vmm, Vmm::Qemu(_)) {
            return Ok(());
        }
        let allow = allow(port);
        let run = LaminaRun {
            flags: &["--allow-net", &allow],
            ..LaminaRun::new(target, &w.busybox, &["wget", "-q", "-O", "-", &url])
        }
        .run();
        if run.status == 0 && run.stdout == body {
            return Ok(());
        }
        Err(format!(
            "wget of {} bytes on {target}: got {} bytes, status {}\n{}",
            body.len(),
            run.stdout.len(),
            run.status,
            truncate(&run.stderr)
        ))
    });
}

/// A static C client echoes 10 MiB through a host echo server; the
/// checksums match, and the addresses are the guest's view.
#[test]
fn ten_mib_echo_through_the_host() {
    let (port, _) = host_server(echo);
    let allow = allow(port);
    let run = run_with(
        &["--allow-net", &allow],
        &["tcp", &port.to_string(), "10485760"],
    );
    assert!(
        run.status == 0
            && run
                .stdout
                .contains("echoed 10485760 of 10485760 bytes, sums match, then recv 0")
            && run.stdout.contains("peer: 10.0.2.2:port"),
        "{}",
        describe("lamina", &run)
    );
}

/// An allowed port with nothing behind it: ECONNREFUSED, as natively.
#[test]
fn closed_allowed_port_is_econnrefused() {
    let port = closed_port();
    let allow = allow(port);
    let run = run_with(&["--allow-net", &allow], &["refused", &port.to_string()]);
    assert!(
        run.stdout.contains("Connection refused"),
        "{}",
        describe("lamina", &run)
    );
}

/// Without `--allow-net` (or outside it) a connect fails at once with
/// EPERM and the server never sees a connection; `--net none` is
/// ENETUNREACH. The documentation address is never dialled: the policy
/// refuses it first.
#[test]
fn denied_connects_send_nothing() {
    let (port, accepted) = host_server(echo);
    let p = port.to_string();
    let other = allow(closed_port());
    let cases: &[(&[&str], &str, &str)] = &[
        (&[], "10.0.2.2", "Operation not permitted"),
        (
            &["--allow-net", &other],
            "10.0.2.2",
            "Operation not permitted",
        ),
        (
            &["--allow-net", &other],
            "192.0.2.1",
            "Operation not permitted",
        ),
        (&["--net", "none"], "10.0.2.2", "Network unreachable"),
    ];
    for (flags, ip, expected) in cases {
        let run = run_with(flags, &["denied", ip, &p]);
        assert!(
            run.stdout.contains(expected),
            "{flags:?} {ip}: expected {expected:?}\n{}",
            describe("lamina", &run)
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a denied connect reached the host"
    );
}

/// UDP to a host echo server and back, from the address the guest used.
#[test]
fn udp_round_trip() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    });
    let allow = allow(port);
    let run = run_with(&["--allow-net", &allow], &["udp", &port.to_string()]);
    let expected = format!("reply 10 'datagram 0' from 10.0.2.2:{port}");
    assert!(
        run.status == 0 && run.stdout.contains(&expected),
        "expected {expected:?}\n{}",
        describe("lamina", &run)
    );
}

/// `-p HOSTPORT:GUESTPORT`: 20 concurrent host clients of 256 KiB each
/// reach a poll()-based echo server in the guest through its accept(),
/// alongside a loopback client of its own.
#[test]
fn published_port_serves_twenty_clients() {
    let host_port = closed_port();
    let publish = format!("127.0.0.1:{host_port}:8080");
    let program = netfwd();
    let mut command = LaminaRun {
        flags: &["-p", &publish],
        ..LaminaRun::new(default_target(), &program, &["serve", "8080", "21"])
    }
    .command();
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("lamina starts");
    let payload: Arc<Vec<u8>> = Arc::new((0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect());
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let payload = Arc::clone(&payload);
            thread::spawn(move || -> Result<(), String> {
                // lamina listens before the VM boots, but only once it
                // has started: until then the port is closed.
                let started = Instant::now();
                let stream = loop {
                    match TcpStream::connect(("127.0.0.1", host_port)) {
                        Ok(stream) => break stream,
                        Err(_) if started.elapsed() < Duration::from_secs(30) => {
                            thread::sleep(Duration::from_millis(20))
                        }
                        Err(err) => return Err(err.to_string()),
                    }
                };
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                let mut writer = stream.try_clone().unwrap();
                let sent = Arc::clone(&payload);
                let send = thread::spawn(move || {
                    let _ = writer.write_all(&sent);
                    let _ = writer.shutdown(Shutdown::Write);
                });
                let mut back = Vec::new();
                (&stream)
                    .read_to_end(&mut back)
                    .map_err(|e| e.to_string())?;
                send.join().unwrap();
                if back == *payload {
                    Ok(())
                } else {
                    Err(format!(
                        "echo of {} bytes came back as {}",
                        payload.len(),
                        back.len()
                    ))
                }
            })
        })
        .collect();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let output = child.wait_with_output().expect("lamina ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        results.iter().all(Result::is_ok)
            && output.status.success()
            && stdout.contains("served 21 connections (self got 'self')")
            && stdout.matches("accepted from 10.0.2.2").count() == 20,
        "{results:?}\nstatus {:?}\nstdout: {}\nstderr: {}",
        output.status,
        truncate(&stdout),
        truncate(&String::from_utf8_lossy(&output.stderr))
    );
}

/// The guest's resolver 10.0.2.3 reaches the upstream server (`--dns`)
/// over UDP port 53: busybox `nslookup` gets the answer of a stand-in
/// server on the host's loopback. Needs port 53 on 127.0.0.1 (root, and
/// no local resolver there): where it cannot be had the test says so.
#[test]
fn resolver_alias_reaches_the_upstream_server() {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:53") else {
        eprintln!("resolver_alias_reaches_the_upstream_server: 127.0.0.1:53 unavailable, not run");
        return;
    };
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(reply) = dns_answer(&buf[..n], [192, 0, 2, 55]) {
                let _ = socket.send_to(&reply, from);
            }
        }
    });
    let w = workloads();
    let run = LaminaRun {
        flags: &["--dns", "127.0.0.1", "--allow-net", "127.0.0.1:9"],
        ..LaminaRun::new(
            default_target(),
            &w.busybox,
            &["nslookup", "-type=a", "box.example", "10.0.2.3"],
        )
    }
    .run();
    assert!(
        run.stdout.contains("192.0.2.55"),
        "{}",
        describe("lamina", &run)
    );
}

/// A DNS response (RFC 1035 section 4.1) to `query` answering its one
/// question with the A record `ip`; AAAA and other questions get an
/// empty answer. None for what is no query.
fn dns_answer(query: &[u8], ip: [u8; 4]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    // The question: labels up to the zero length, then type and class.
    let mut end = 12;
    while *query.get(end)? != 0 {
        end += 1 + usize::from(query[end]);
    }
    let question_end = end + 5;
    let qtype = query.get(end + 1..end + 3)?;
    let is_a = qtype == [0, 1];
    let mut reply = query[..question_end].to_vec();
    reply[2] = 0x81; // response, recursion desired
    reply[3] = 0x80; // recursion available, no error
    reply[6..8].copy_from_slice(&[0, u8::from(is_a)]);
    reply[8..12].copy_from_slice(&[0; 4]);
    if is_a {
        // A pointer to the question's name, type A, class IN, TTL 60.
        reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&ip);
    }
    Some(reply)
}
