//! Real programs from a Debian bookworm root (issue 14's acceptance): the
//! tool chain, git, tar, Python and redis, each run in lamina from the
//! root that `scripts/debian-root` builds once and caches outside the
//! repository, and where it makes sense compared with the same program run
//! natively under `chroot` into that root.
//!
//! The cached root is never written: lamina shares it `--read-only`, with a
//! fresh temporary volume at `/mnt` (the programs' working directory and
//! `HOME`) and a tmpfs at `/tmp` for what the programs write. The native run
//! sees the same: in a private mount namespace (`unshare --mount`), the root
//! is bind-mounted read-only over itself, its own temporary volume at
//! `/mnt`, a tmpfs at `/tmp` and `/dev/shm`, `/proc`, then `chroot`. Where the root
//! cannot be had (not root, no mirror) or a package is missing from it,
//! the tests say so on stderr and skip.

use super::*;

/// Builds the root when missing and prints its path (see the script).
const DEBIAN_ROOT_SCRIPT: &str = "scripts/debian-root";
/// The file in the root that names the packages the build could not
/// install, one a line.
const MISSING_PACKAGES: &str = "lamina-missing-packages";
/// Bound on building the root (debootstrap plus the packages take 3-5
/// minutes on a good line).
const ROOT_BUILD_WALL_LIMIT: Duration = Duration::from_secs(1200);
/// The workload's environment, docker's default PATH and a HOME in the
/// volume (git and Python write there).
const GUEST_ENV: &[(&str, &str)] = &[
    ("HOME", "/mnt"),
    ("LC_ALL", "C"),
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
];
/// Where the temporary volume appears in the guest (and in the chroot).
const VOLUME: &str = "/mnt";

/// A note the test runner shows even when it captures the test's output
/// (`eprintln!` would be captured): the reason a test skips.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "note: {text}");
}

/// The cached Debian root, built on first use; None, with a note, where
/// it cannot be built.
fn debian_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let mut command = Command::new(repo_root().join(DEBIAN_ROOT_SCRIPT));
        let built = run_bounded(&mut command, ROOT_BUILD_WALL_LIMIT, DEBIAN_ROOT_SCRIPT);
        let path = built.stdout.lines().last().map(PathBuf::from);
        match path {
            Some(path) if built.status == 0 && path.is_dir() => Some(path),
            _ => {
                note(&format!(
                    "the Debian root could not be built ({DEBIAN_ROOT_SCRIPT} exited with {}); \
                     the tests of tests/vm/debian.rs are skipped\n{}",
                    built.status,
                    truncate(&built.stderr)
                ));
                None
            }
        }
    })
    .as_deref()
}

/// The root, if it has every one of `packages`; else None with a note
/// naming what is missing.
fn root_with(test: &str, packages: &[&str]) -> Option<&'static Path> {
    // The comparison runs under chroot, in a mount namespace of its own.
    if !rustix::process::geteuid().is_root() {
        note(&format!("{test} skipped: the chroot comparison needs root"));
        return None;
    }
    let root = debian_root()?;
    let missing_list = fs::read_to_string(root.join(MISSING_PACKAGES)).unwrap_or_default();
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| missing_list.lines().any(|line| line.trim() == *p))
        .collect();
    if missing.is_empty() {
        return Some(root);
    }
    note(&format!(
        "{test} skipped: the Debian root lacks {} (the package could not be installed)",
        missing.join(" ")
    ));
    None
}

/// A fresh, empty temporary directory (removed by [`Volume`]'s drop).
struct Volume(PathBuf);

impl Volume {
    fn new(name: &str) -> Self {
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "lamina-debian-{name}-{}-{stamp}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        // The guest's programs may run as another user (redis drops to no
        // one; git checks ownership): the volume is theirs to write.
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o777));
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `bash -c script` in lamina from `root` (read-only), with `volume`
/// at [`VOLUME`] as the working directory and a tmpfs at /tmp.
fn run_in_lamina(target: Target, root: &Path, volume: &Path, script: &str) -> Finished {
    let volume_arg = format!("{}:{VOLUME}", volume.display());
    let flags = ["-v", &volume_arg, "-w", VOLUME, "--tmpfs", "/tmp"];
    LaminaRun {
        env: GUEST_ENV,
        flags: &flags,
        rootfs: Some((root, true)),
        ..LaminaRun::new(target, Path::new("/bin/bash"), &["-c", script])
    }
    .run()
}

/// Runs `bash -c script` natively, chrooted into `root` as
/// [`run_in_lamina`] runs it: the root read-only, `volume` at [`VOLUME`],
/// tmpfs at /tmp, /proc; all in a private mount namespace, so the host's
/// mounts and the cached root stay as they were.
fn run_in_chroot(root: &Path, volume: &Path, script: &str) -> Finished {
    let root_arg = root.display().to_string();
    let mounts = format!(
        "set -e; r=\"$1\"; v=\"$2\"; shift 2
mount --bind \"$r\" \"$r\"
mount -o remount,bind,ro \"$r\"
mount --bind \"$v\" \"$r{VOLUME}\"
mount -t tmpfs tmpfs \"$r/tmp\"
mount -t tmpfs tmpfs \"$r/dev/shm\"
mount -t proc proc \"$r/proc\"
exec chroot \"$r\" \"$@\""
    );
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &mounts,
            "sh",
        ])
        .arg(&root_arg)
        .arg(volume)
        .args(["/usr/bin/env", "-i"])
        .args(GUEST_ENV.iter().map(|(k, v)| format!("{k}={v}")))
        .args(["/bin/bash", "-c"])
        .arg(format!("cd {VOLUME}\n{script}"));
    run_bounded(&mut command, LAMINA_WALL_LIMIT, "chroot run")
}

/// `script` under bash in lamina and under chroot, each in a fresh volume:
/// stdout and exit status must be identical (and the status 0).
fn assert_same_as_chroot(
    target: Target,
    root: &Path,
    name: &str,
    script: &str,
) -> Result<(), String> {
    let native_volume = Volume::new(&format!("{name}-native"));
    let native = run_in_chroot(root, native_volume.path(), script);
    let lamina_volume = Volume::new(&format!("{name}-lamina"));
    let lamina = run_in_lamina(target, root, lamina_volume.path(), script);
    if native.status == 0 && native.stdout == lamina.stdout && native.status == lamina.status {
        return Ok(());
    }
    Err(format!(
        "{name}: bash -c {script:?} differs between chroot and lamina on {target}\n{}\n{}",
        describe("chroot", &native),
        describe("lamina", &lamina)
    ))
}

/// git init, add, commit, log, status, diff in a volume.
#[test]
fn debian_git_matches_chroot() {
    let Some(root) = root_with("debian_git_matches_chroot", &["git"]) else {
        return;
    };
    let script = "set -e
git init -q repo && cd repo
git config user.email dev@example.com && git config user.name Dev
printf 'one\\ntwo\\n' > a.txt && mkdir sub && echo nested > sub/b.txt
git add -A && git commit -q -m first
echo three >> a.txt && echo new > c.txt
git status --short
git add -A && git commit -q -m second
git log --format='%s by %an'
git diff --stat HEAD~1 HEAD
git ls-files
git status --short && echo clean";
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "git", script)
    });
}

/// tar czf of a tree, tar xzf elsewhere, identical hashes.
#[test]
fn debian_tar_round_trip_matches_chroot() {
    let Some(root) = root_with("debian_tar_round_trip_matches_chroot", &["tar", "gzip"]) else {
        return;
    };
    let script = "set -e
mkdir -p src/d/e && head -c 300000 /usr/bin/bash > src/big && echo small > src/d/small
ln -s big src/link && printf '' > src/d/e/empty
tar czf t.tgz src && mkdir out && tar xzf t.tgz -C out
cd src && find . -type f | sort | xargs sha256sum > ../a.sum
cd ../out/src && sha256sum -c --quiet ../../a.sum && echo hashes match
readlink link; tar tzf ../../t.tgz | sort";
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "tar", script)
    });
}

/// Python's subprocess with pipes, tempfile and shutil.
#[test]
fn debian_python_subprocess_matches_chroot() {
    let Some(root) = root_with("debian_python_subprocess_matches_chroot", &["python3"]) else {
        return;
    };
    let script = r#"python3 - <<'EOF'
import os, shutil, subprocess, tempfile
p = subprocess.run(["tr", "a-z", "A-Z"], input=b"piped through tr\n", capture_output=True)
print(p.returncode, p.stdout)
p = subprocess.Popen("cat; echo err >&2; exit 3", shell=True, stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = p.communicate(b"x" * 100000)
print(p.returncode, len(out), err)
print(subprocess.check_output(["sh", "-c", "echo $0 $1", "a", "b"]))
for where in (None, "/mnt"):
    d = tempfile.mkdtemp(dir=where)
    with tempfile.NamedTemporaryFile("w", dir=d, delete=False) as f:
        f.write("data")
    shutil.copytree(d, d + ".copy")
    shutil.move(d + ".copy", d + ".moved")
    print(sorted(len(n) > 0 for n in os.listdir(d + ".moved")), open(os.path.join(d + ".moved", os.listdir(d)[0])).read())
    shutil.rmtree(d); shutil.rmtree(d + ".moved")
    print(os.path.exists(d))
EOF"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "python-subprocess", script)
    });
}

/// SQLite through Python's sqlite3 module, on the volume.
#[test]
fn debian_python_sqlite_matches_chroot() {
    let Some(root) = root_with("debian_python_sqlite_matches_chroot", &["python3"]) else {
        return;
    };
    let script = r#"python3 - <<'EOF'
import sqlite3
c = sqlite3.connect("/mnt/t.db")
c.execute("create table t(k integer primary key, v text)")
c.executemany("insert into t(v) values (?)", [("row %d" % i,) for i in range(2000)])
c.commit()
c.execute("create index tv on t(v)")
print(c.execute("select count(*), sum(k), max(v) from t").fetchone())
c.execute("delete from t where k % 2 = 0"); c.commit(); c.execute("vacuum")
print(c.execute("pragma integrity_check").fetchone(), c.execute("select count(*) from t").fetchone())
c.close()
print(sqlite3.connect("/mnt/t.db").execute("select v from t where k = 1999").fetchone())
EOF"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "python-sqlite", script)
    });
}

/// gcc compiles, links (collect2, ld) and the program runs, inside.
#[test]
fn debian_gcc_matches_chroot() {
    let Some(root) = root_with("debian_gcc_matches_chroot", &["gcc", "libc6-dev"]) else {
        return;
    };
    let script = r#"set -e
cat > lib.c <<'EOF'
int square(int x) { return x * x; }
EOF
cat > main.c <<'EOF'
#include <stdio.h>
#include <math.h>
int square(int);
int main(void) { printf("%d %.3f\n", square(12), sqrt(2.0)); return 0; }
EOF
gcc -O2 -c lib.c && ar rcs libsq.a lib.o
gcc -O2 -o prog main.c -L. -lsq -lm && ./prog
gcc -static -o prog-static main.c lib.c -lm && ./prog-static"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "gcc", script)
    });
}

/// An asyncio TCP server and 20 concurrent clients over the guest's
/// loopback (an ephemeral port, so the chroot run binds nothing fixed).
#[test]
fn debian_python_asyncio_matches_chroot() {
    let Some(root) = root_with("debian_python_asyncio_matches_chroot", &["python3"]) else {
        return;
    };
    let script = r#"python3 - <<'EOF'
import asyncio
async def handle(reader, writer):
    line = await reader.readline()
    writer.write(line.upper() * 2)
    await writer.drain()
    writer.close()
async def client(port, i):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"client %d\n" % i)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    replies = await asyncio.gather(*(client(port, i) for i in range(20)))
    print(len(replies), all(r == (b"CLIENT %d\n" % i) * 2 for i, r in enumerate(replies)))
    server.close()
    await server.wait_closed()
asyncio.run(main())
EOF"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "python-asyncio", script)
    });
}

/// redis-server with persistence: SAVE writes dump.rdb into the volume, a
/// second run (a new VM) loads it. Over a unix socket, so the chroot run
/// binds no host port.
#[test]
fn debian_redis_persists_across_runs() {
    let Some(root) = root_with("debian_redis_persists_across_runs", &["redis-server"]) else {
        return;
    };
    let start = "redis-server --port 0 --unixsocket /tmp/redis.sock --dir /mnt --daemonize no \
                 --logfile /mnt/redis.log &
for i in $(seq 100); do [ -S /tmp/redis.sock ] && break; sleep 0.2; done
cli() { redis-cli -s /tmp/redis.sock \"$@\"; }";
    let first = format!(
        "{start}
cli set greeting hello; cli rpush list a b c; cli save
ls dump.rdb
cli shutdown nosave; wait; echo stopped"
    );
    let second = format!(
        "{start}
cli get greeting; cli lrange list 0 -1; cli dbsize
cli shutdown nosave; wait; echo stopped"
    );
    let expected_first = "OK\n3\nOK\ndump.rdb\nstopped\n";
    let expected_second = "hello\na\nb\nc\n2\nstopped\n";
    on_targets(Depth::Full, |target| {
        let runs = [
            ("chroot", Volume::new("redis-native")),
            ("lamina", Volume::new("redis-lamina")),
        ];
        for (how, volume) in &runs {
            for (script, expected) in [(&first, expected_first), (&second, expected_second)] {
                let run = if *how == "chroot" {
                    run_in_chroot(root, volume.path(), script)
                } else {
                    run_in_lamina(target, root, volume.path(), script)
                };
                if run.status != 0 || run.stdout != expected {
                    let log =
                        fs::read_to_string(volume.path().join("redis.log")).unwrap_or_default();
                    return Err(format!(
                        "redis under {how}: expected {expected:?}\n{}\n--- redis.log ---\n{}",
                        describe(how, &run),
                        truncate(&log)
                    ));
                }
            }
        }
        Ok(())
    });
}

/// A shell's plumbing: a named pipe in /tmp between two processes,
/// process substitution, xargs running jobs in parallel.
#[test]
fn debian_shell_plumbing_matches_chroot() {
    let Some(root) = root_with("debian_shell_plumbing_matches_chroot", &["bash"]) else {
        return;
    };
    let script = "set -e
mkfifo /tmp/fifo && ls -l /tmp/fifo | cut -c1
(seq 1 1000 > /tmp/fifo &)
sum=0; while read n; do sum=$((sum + n)); done < /tmp/fifo; echo \"sum $sum\"
diff <(seq 1 5) <(seq 1 5) && echo same
printf '%s\\n' 3 1 2 | xargs -P2 -I{} sh -c 'echo job {}' | sort
rm /tmp/fifo && echo removed";
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "shell-plumbing", script)
    });
}
// They use the helpers of tests/vm/debian.rs as committed.

/// make -j2 of a small project: two objects compiled in parallel, linked,
/// run; then a rebuild after touching one source rebuilds only that one.
#[test]
fn debian_make_parallel_matches_chroot() {
    let Some(root) = root_with("debian_make_parallel_matches_chroot", &["make", "gcc"]) else {
        return;
    };
    let script = r#"set -e
printf 'int f(void);\nint g(void);\nint main(void) { return f() + g(); }\n' > main.c
printf '#include <stdio.h>\nint f(void) { puts("f"); return 0; }\n' > f.c
printf '#include <stdio.h>\nint g(void) { puts("g"); return 0; }\n' > g.c
printf 'prog: main.o f.o g.o\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O2 -c $< -o $@\n.PHONY: run\nrun: prog\n\t./prog\n' > Makefile
make -j2 -s run
touch -d 2001-01-01 *.c && touch -d 2002-01-01 *.o prog && touch -d 2003-01-01 g.c
make -j2 | sort
make -q prog && echo up to date"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "make", script)
    });
}

/// A free TCP port on the host's loopback (bound, then released).
fn free_host_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port")
}

/// One HTTP/1.0 GET of `path` from the host's `port`: the whole answer.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// A server from the read-only root (`program args`, a tmpfs at /tmp and
/// `flags`) in lamina, its `guest_port` published on a free port of the
/// host's loopback (returned): the port is bound before the VM boots, so
/// a connection waits in the guest's backlog until the server accepts.
fn published_server(
    target: Target,
    root: &Path,
    program: &str,
    args: &[&str],
    flags: &[&str],
    guest_port: u16,
) -> Result<(ChildGuard, u16), String> {
    let port = free_host_port();
    let publish = format!("127.0.0.1:{port}:{guest_port}");
    let mut all_flags = vec!["-p", &publish, "--tmpfs", "/tmp"];
    all_flags.extend_from_slice(flags);
    let mut command = LaminaRun {
        env: GUEST_ENV,
        flags: &all_flags,
        rootfs: Some((root, true)),
        timeout: "100s",
        ..LaminaRun::new(target, Path::new(program), args)
    }
    .command();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let server = ChildGuard::spawn(&mut command).map_err(|e| e.to_string())?;
    Ok((server, port))
}

/// nginx (master and one worker, `daemon off;`) serves a `-v` directory
/// through `-p`; 50 concurrent requests are all answered with the file.
#[test]
fn debian_nginx_serves_concurrent_requests() {
    let Some(root) = root_with("debian_nginx_serves_concurrent_requests", &["nginx-light"]) else {
        return;
    };
    const REQUESTS: usize = 50;
    on_targets(Depth::Full, |target| {
        let volume = Volume::new("nginx");
        let www = volume.path().join("www");
        fs::create_dir_all(&www).map_err(|e| e.to_string())?;
        let body = "served by nginx in lamina\n".repeat(100);
        fs::write(www.join("index.html"), &body).map_err(|e| e.to_string())?;
        // Everything nginx writes goes to the volume: the root is read-only.
        let conf = "daemon off;
worker_processes 1;
error_log /mnt/error.log info;
pid /mnt/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path /mnt/body;
    proxy_temp_path /mnt/proxy;
    fastcgi_temp_path /mnt/fastcgi;
    uwsgi_temp_path /mnt/uwsgi;
    scgi_temp_path /mnt/scgi;
    server { listen 80; root /mnt/www; }
}
";
        fs::write(volume.path().join("nginx.conf"), conf).map_err(|e| e.to_string())?;
        let volume_arg = format!("{}:{VOLUME}", volume.path().display());
        let args = ["-e", "/mnt/error.log", "-c", "/mnt/nginx.conf"];
        let (mut server, port) = published_server(
            target,
            root,
            "/usr/sbin/nginx",
            &args,
            &["-v", &volume_arg],
            80,
        )?;
        let error_log = || fs::read_to_string(volume.path().join("error.log")).unwrap_or_default();
        // The port is published before the VM boots: a request waits in
        // the guest's backlog until nginx accepts it.
        let started = Instant::now();
        let first = loop {
            match http_get(port, "/index.html") {
                Ok(answer) if answer.starts_with("HTTP/1.1 200") => break answer,
                _ if started.elapsed() > Duration::from_secs(60) => {
                    return Err(format!(
                        "nginx never answered\n--- error.log ---\n{}",
                        error_log()
                    ));
                }
                _ => thread::sleep(Duration::from_millis(200)),
            }
        };
        if !first.ends_with(&body) {
            return Err(format!("first answer lacks the file: {}", truncate(&first)));
        }
        let clients: Vec<_> = (0..REQUESTS)
            .map(|_| thread::spawn(move || http_get(port, "/index.html")))
            .collect();
        let answered = clients
            .into_iter()
            .filter_map(|client| client.join().ok()?.ok())
            .filter(|answer| answer.starts_with("HTTP/1.1 200") && answer.ends_with(&body))
            .count();
        let _ = server.child.kill();
        if answered != REQUESTS {
            return Err(format!(
                "{answered} of {REQUESTS} concurrent requests answered\n--- error.log ---\n{}",
                error_log()
            ));
        }
        Ok(())
    });
}

/// memcached set/get from the host through `-p`.
#[test]
fn debian_memcached_set_get_through_publish() {
    let Some(root) = root_with("debian_memcached_set_get_through_publish", &["memcached"]) else {
        return;
    };
    on_targets(Depth::Full, |target| {
        let args = ["-u", "root", "-l", "0.0.0.0", "-p", "11211"];
        let (mut server, port) =
            published_server(target, root, "/usr/bin/memcached", &args, &[], 11211)?;
        let talk = || -> std::io::Result<String> {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            stream.write_all(b"set greeting 0 0 5\r\nhello\r\nget greeting\r\nquit\r\n")?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        let expected = "STORED\r\nVALUE greeting 0 5\r\nhello\r\nEND\r\n";
        let started = Instant::now();
        let result = loop {
            match talk() {
                Ok(answer) if !answer.is_empty() => break answer,
                _ if started.elapsed() > Duration::from_secs(60) => break String::new(),
                _ => thread::sleep(Duration::from_millis(200)),
            }
        };
        let _ = server.child.kill();
        if result != expected {
            let _ = server.child.wait();
            let mut stderr = String::new();
            if let Some(mut e) = server.child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            return Err(format!(
                "memcached answered {result:?}, expected {expected:?}\n{stderr}"
            ));
        }
        Ok(())
    });
}

/// multiprocessing Pool and Queue (SemLock needs /dev/shm).
#[test]
fn debian_python_multiprocessing_matches_chroot() {
    let Some(root) = root_with("debian_python_multiprocessing_matches_chroot", &["python3"]) else {
        return;
    };
    let script = r#"python3 - <<'EOF'
import multiprocessing as mp
def square(x):
    return x * x
def produce(q):
    for i in range(5):
        q.put(i)
    q.put(None)
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print(sum(pool.map(square, range(100))))
    q = mp.Queue()
    p = mp.Process(target=produce, args=(q,))
    p.start()
    print(list(iter(q.get, None)))
    p.join()
    print(p.exitcode)
EOF"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "python-multiprocessing", script)
    });
}

/// node (Debian's nodejs): `child_process.execSync`, a worker thread,
/// `fs.watch` seeing a file the program itself writes (inotify), and an
/// http server answering the program's own request on the loopback.
#[test]
fn debian_node_matches_chroot() {
    let Some(root) = root_with("debian_node_matches_chroot", &["nodejs"]) else {
        return;
    };
    let script = r#"set -e
cat > t.js <<'JS'
const http = require('http'), cp = require('child_process'), fs = require('fs');
const { Worker } = require('worker_threads');
console.log(cp.execSync('echo from-child').toString().trim());
const w = new Worker('require("worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
w.on('message', (m) => {
  console.log('worker', m);
  const watcher = fs.watch('.', (event, name) => {
    if (name !== 'x.txt') return;
    console.log('watch', event, name);
    watcher.close();
    const server = http.createServer((q, r) => r.end('hello ' + q.url)).listen(0, '127.0.0.1', () => {
      http.get({ port: server.address().port, host: '127.0.0.1', path: '/p' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => { console.log('http', res.statusCode, body); server.close(); });
      });
    });
  });
  fs.writeFileSync('x.txt', 'hi');
});
JS
node t.js"#;
    on_targets(Depth::Full, |target| {
        assert_same_as_chroot(target, root, "node", script)
    });
}

/// PostgreSQL 15 as the `postgres` user (`--user postgres`): initdb on a
/// volume, `pg_ctl start`, psql over the unix socket in the guest, then
/// from the host over TCP through `-p` (the root's own psql under chroot,
/// which shares the host's network), and a clean `pg_ctl stop`.
#[test]
fn debian_postgresql_as_its_user() {
    let Some(root) = root_with("debian_postgresql_as_its_user", &["postgresql-15"]) else {
        return;
    };
    on_targets(Depth::Full, |target| {
        let volume = Volume::new("postgresql");
        // The postgres user creates its data directory in the volume.
        fs::set_permissions(volume.path(), fs::Permissions::from_mode(0o777))
            .map_err(|e| e.to_string())?;
        let port = free_host_port();
        let publish = format!("127.0.0.1:{port}:5432");
        let volume_arg = format!("{}:{VOLUME}", volume.path().display());
        // The host's query comes between the guest's, when `ready` is
        // there; the guest stops the server once `done` is.
        let script = "set -e
B=/usr/lib/postgresql/15/bin
$B/initdb -D /mnt/data -A trust >/dev/null
# Published connections come from the host's side (10.0.2.2), as docker's
# come from its bridge: let them in, as the postgres image does.
echo 'host all all all trust' >> /mnt/data/pg_hba.conf
$B/pg_ctl -D /mnt/data -l /mnt/log -o '-k /tmp -c listen_addresses=*' -w start >/dev/null
$B/psql -h /tmp -d postgres -Atc 'create table t(a int); insert into t values (1), (2); select sum(a) from t;'
touch /mnt/ready
while [ ! -e /mnt/done ]; do sleep 0.2; done
$B/psql -h /tmp -d postgres -Atc 'select count(*), sum(a) from t'
$B/pg_ctl -D /mnt/data -m fast -w stop >/dev/null
echo stopped";
        // PostgreSQL's 128 MiB of shared buffers are mapped whole in
        // lamina (a MAP_SHARED tmpfs mapping is filled when made).
        let flags = [
            "-m",
            "1G",
            "-v",
            &volume_arg,
            "-p",
            &publish,
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/var/run/postgresql",
            "--user",
            "postgres",
        ];
        let mut command = LaminaRun {
            env: GUEST_ENV,
            flags: &flags,
            rootfs: Some((root, true)),
            timeout: "140s",
            ..LaminaRun::new(target, Path::new("/bin/bash"), &["-c", script])
        }
        .command();
        let server =
            thread::spawn(move || run_bounded(&mut command, LAMINA_WALL_LIMIT, "lamina run"));
        let started = Instant::now();
        while !volume.path().join("ready").exists()
            && !server.is_finished()
            && started.elapsed() < Duration::from_secs(120)
        {
            thread::sleep(Duration::from_millis(200));
        }
        let mut host_query = Command::new("chroot");
        host_query.arg(root).args([
            "/usr/lib/postgresql/15/bin/psql",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            "insert into t values (39); select sum(a) from t",
        ]);
        let host = run_bounded(&mut host_query, NATIVE_WALL_LIMIT, "psql through -p");
        fs::write(volume.path().join("done"), b"").map_err(|e| e.to_string())?;
        let finished = server
            .join()
            .map_err(|_| "the lamina run panicked".to_string())?;
        let log = fs::read_to_string(volume.path().join("log")).unwrap_or_default();
        if host.stdout != "INSERT 0 1\n42\n"
            || finished.stdout != "CREATE TABLE\nINSERT 0 2\n3\n3|42\nstopped\n"
            || finished.status != 0
        {
            return Err(format!(
                "PostgreSQL in lamina\n{}\n{}\n--- server log ---\n{}",
                describe("host psql through -p", &host),
                describe("lamina", &finished),
                truncate(&log)
            ));
        }
        Ok(())
    });
}

/// Least share of the root's programs whose `--version` must match
/// chroot's (issue 14: above 99 %).
const CORPUS_MIN_IDENTICAL: f64 = 0.99;
/// The corpus run's bound (some 400 programs, each at most 10 s).
const CORPUS_WALL_LIMIT: Duration = Duration::from_secs(960);
/// Programs whose `--version` output depends on the machine, not lamina:
/// hostname (lamina's default "lamina" vs the host's), uname's node.
const CORPUS_MACHINE_DEPENDENT: &[&str] = &["hostname", "uname", "dnsdomainname", "domainname"];

/// Every ELF program in the root's /usr/bin and /usr/sbin run with
/// `--version` (stdin /dev/null, at most 10 s each) in lamina and under
/// chroot: at least [`CORPUS_MIN_IDENTICAL`] of them print the same and
/// exit with the same status; the others are listed.
#[test]
fn debian_version_corpus_matches_chroot() {
    let Some(root) = root_with("debian_version_corpus_matches_chroot", &["coreutils"]) else {
        return;
    };
    let mut programs = Vec::new();
    for dir in ["usr/bin", "usr/sbin"] {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_elf = fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
                && fs::read(&path).is_ok_and(|bytes| bytes.starts_with(b"\x7fELF"));
            if is_elf && !CORPUS_MACHINE_DEPENDENT.contains(&name.as_str()) {
                programs.push(format!("/{dir}/{name}"));
            }
        }
    }
    programs.sort();
    let script = format!(
        "for p in {}; do echo \"=== $p\"; timeout -s KILL 10 \"$p\" --version </dev/null 2>/dev/null | head -c 2000; echo \"status ${{PIPESTATUS[0]}}\"; done",
        programs.join(" ")
    );
    on_targets(Depth::Full, |target| {
        let native_volume = Volume::new("corpus-native");
        let native = run_in_chroot(root, native_volume.path(), &script);
        let lamina_volume = Volume::new("corpus-lamina");
        // run_in_lamina's options, with time for some 400 programs.
        let volume_arg = format!("{}:{VOLUME}", lamina_volume.path().display());
        let flags = ["-v", &volume_arg, "-w", VOLUME, "--tmpfs", "/tmp"];
        let mut command = LaminaRun {
            env: GUEST_ENV,
            flags: &flags,
            rootfs: Some((root, true)),
            timeout: "900s",
            ..LaminaRun::new(target, Path::new("/bin/bash"), &["-c", &script])
        }
        .command();
        let lamina = run_bounded(&mut command, CORPUS_WALL_LIMIT, "lamina run (corpus)");
        let split = |out: &str| -> std::collections::BTreeMap<String, String> {
            out.split("=== ")
                .filter_map(|block| block.split_once('\n'))
                .map(|(name, rest)| (name.to_string(), rest.to_string()))
                .collect()
        };
        let (native, lamina) = (split(&native.stdout), split(&lamina.stdout));
        let differing: Vec<&String> = native
            .iter()
            .filter(|(name, out)| lamina.get(*name) != Some(out))
            .map(|(name, _)| name)
            .collect();
        let identical = native.len() - differing.len();
        let share = identical as f64 / native.len().max(1) as f64;
        note(&format!(
            "--version corpus on {target}: {identical} of {} identical to chroot; differing: {differing:?}",
            native.len()
        ));
        if native.len() < programs.len() * 9 / 10 || share < CORPUS_MIN_IDENTICAL {
            return Err(format!(
                "--version corpus: {identical} of {} programs identical to chroot ({:.1} %, at least {:.0} % wanted; {} programs listed); differing: {differing:?}",
                native.len(),
                share * 100.0,
                CORPUS_MIN_IDENTICAL * 100.0,
                programs.len()
            ));
        }
        Ok(())
    });
}

/// node's http server in the guest, reached from the host through `-p`.
#[test]
fn debian_node_http_through_publish() {
    let Some(root) = root_with("debian_node_http_through_publish", &["nodejs"]) else {
        return;
    };
    on_targets(Depth::Full, |target| {
        let server_js = "require('http').createServer((q, r) => r.end('hello from node ' + q.url)).listen(8080)";
        let (mut server, port) =
            published_server(target, root, "/usr/bin/node", &["-e", server_js], &[], 8080)?;
        let started = Instant::now();
        let answer = loop {
            match http_get(port, "/x") {
                Ok(answer) if answer.starts_with("HTTP/1.1 200") => break answer,
                _ if started.elapsed() > Duration::from_secs(60) => break String::new(),
                _ => thread::sleep(Duration::from_millis(200)),
            }
        };
        let _ = server.child.kill();
        if !answer.ends_with("hello from node /x") {
            return Err(format!("node through -p answered {:?}", truncate(&answer)));
        }
        Ok(())
    });
}
