//! Terminals: lamina run on a pty the test drives from the host, as a user
//! at a terminal would. The C program `tty.c` checks termios, the window
//! size, the foreground process group and the background signals (its
//! transcript must be the same as natively on a pty); interactive shells
//! (busybox `sh -i`, this host's `bash -i`) run jobs: one in the background,
//! a foreground one that ^Z stops and `fg` continues, ^C that ends only the
//! foreground job, `stty size` before and after a resize, a trap on WINCH,
//! ^S and ^Q around `cat`, and `exit` with the shell's status. Each shell
//! passes the same checks natively on a pty.

use super::*;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use rustix::termios::{tcsetwinsize, Winsize};

/// The size the test gives its pty at start, and after the resize.
const START_ROWS: u16 = 30;
const START_COLS: u16 = 100;
const RESIZED_ROWS: u16 = 40;
const RESIZED_COLS: u16 = 120;
/// How long one step of a session may take (a VM under TCG on a loaded
/// machine included).
const STEP_LIMIT: Duration = Duration::from_secs(60);
const CTRL_C: &[u8] = b"\x03";
const CTRL_Z: &[u8] = b"\x1a";
const CTRL_S: &[u8] = b"\x13";
const CTRL_Q: &[u8] = b"\x11";
const CTRL_D: &[u8] = b"\x04";
/// The prompt the shells get, so that their own defaults do not matter.
const PROMPT: &str = "PROMPT> ";

/// A program running on a pty, with the pty as its controlling terminal
/// (started through `setsid --ctty`); the test holds the master.
struct PtySession {
    master: OwnedFd,
    child: Child,
    transcript: Arc<Mutex<Vec<u8>>>,
    reader: Option<thread::JoinHandle<()>>,
    /// Where the current step's output starts in the transcript.
    mark: usize,
    /// The child is lamina: it gets SIGWINCH after a resize, as from a
    /// terminal emulator (a native program's foreground group gets it
    /// from the kernel).
    is_lamina: bool,
}

impl PtySession {
    /// Starts `program`: natively with exactly `env`, or lamina (which
    /// keeps the test's environment, plus `env`).
    fn spawn(program: &Path, args: &[&str], env: &[(&str, &str)], is_lamina: bool) -> Self {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
            rustix::fs::Mode::empty(),
        )
        .expect("open the pty's slave");
        tcsetwinsize(
            &master,
            Winsize {
                ws_row: START_ROWS,
                ws_col: START_COLS,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )
        .expect("TIOCSWINSZ");
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup the slave"));
        // By its path: the native runs' PATH is the root's.
        let setsid = ["/usr/bin/setsid", "/bin/setsid"]
            .into_iter()
            .find(|p| is_executable(Path::new(p)))
            .expect("setsid is missing: apt-get install util-linux");
        let mut command = Command::new(setsid);
        command
            .arg("--ctty")
            .arg(program)
            .args(args)
            .stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave));
        if !is_lamina {
            command.env_clear();
        }
        command.envs(env.iter().copied());
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start setsid (util-linux) {program:?}: {e}"));
        drop(command);
        drop(slave);
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let transcript = Arc::clone(&transcript);
            let master = master.try_clone().expect("dup the master");
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // EIO once every slave descriptor is closed.
                while let Ok(n) = rustix::io::read(&master, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    transcript.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        Self {
            master,
            child,
            transcript,
            reader: Some(reader),
            mark: 0,
            is_lamina,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.transcript.lock().unwrap()).into_owned()
    }

    /// Types `bytes`; the step's output starts here.
    fn send(&mut self, bytes: &[u8]) {
        self.mark = self.transcript.lock().unwrap().len();
        rustix::io::write(&self.master, bytes).expect("write to the pty");
    }

    /// Waits until `needle` appears in this step's output; returns the
    /// output up to and including it.
    fn expect(&mut self, needle: &str) -> Result<String, String> {
        let started = Instant::now();
        loop {
            {
                let transcript = self.transcript.lock().unwrap();
                let step = String::from_utf8_lossy(&transcript[self.mark.min(transcript.len())..])
                    .into_owned();
                if let Some(at) = step.find(needle) {
                    return Ok(step[..at + needle.len()].to_string());
                }
            }
            if started.elapsed() > STEP_LIMIT {
                return Err(format!(
                    "{needle:?} did not appear in {STEP_LIMIT:?}; the transcript:\n{}",
                    truncate(&self.text())
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn resize(&mut self, rows: u16, cols: u16) {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(self.master.as_fd(), size).expect("TIOCSWINSZ");
        if self.is_lamina {
            // What a terminal emulator's resize does to lamina.
            let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
            rustix::process::kill_process(pid, rustix::process::Signal::WINCH).expect("SIGWINCH");
        }
    }

    /// Waits for the program to end; its status and the whole transcript.
    fn wait(mut self) -> Result<(i32, String), String> {
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if let Some(reader) = self.reader.take() {
                        let _ = reader.join();
                    }
                    return Ok((status_code(status), self.text()));
                }
                Ok(None) if started.elapsed() > STEP_LIMIT => {
                    return Err(format!(
                        "still running {STEP_LIMIT:?} after the end; the transcript:\n{}",
                        truncate(&self.text())
                    ))
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting: {e}")),
            }
        }
    }
}

impl Drop for PtySession {
    /// The program leads its session: every process of the session goes
    /// (QEMU, a native shell's background jobs), so a failing test leaves
    /// nothing running.
    fn drop(&mut self) {
        let sid = self.child.id() as i32;
        for pid in session_members(sid) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes of session `sid`, from /proc/PID/stat (field 6).
fn session_members(sid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command's closing parenthesis: state ppid pgrp session.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or("", |(_, rest)| rest)
                .split_whitespace()
                .collect();
            fields.get(3).and_then(|f| f.parse::<i32>().ok()) == Some(sid)
        })
        .collect()
}

/// `lamina run` of `program` on a pty, as [`LaminaRun::command`] builds it.
fn lamina_on_pty(run: &LaminaRun<'_>) -> PtySession {
    let command = run.command();
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let host_env: Vec<(String, String)> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    let host_env: Vec<(&str, &str)> = host_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    PtySession::spawn(Path::new(LAMINA), &args, &host_env, true)
}

/// termios, window size, foreground group and background signals
/// against Linux on a pty (tests/workloads/tty.c).
#[test]
fn terminal_ioctls_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                let binary = w.c("tty", build);
                let native = PtySession::spawn(&binary, &[], &[], false).wait()?;
                let lamina = lamina_on_pty(&LaminaRun::new(target, &binary, &[])).wait()?;
                if native == lamina {
                    Ok(())
                } else {
                    Err(format!(
                        "{build:?}: native status {} transcript:\n{}\n--- lamina status {} transcript:\n{}",
                        native.0, native.1, lamina.0, lamina.1
                    ))
                }
            })
    });
}

/// An interactive job-control session with `shell` (its path in its
/// root; `inner` runs the jobs' scripts), the same checks natively and in
/// lamina.
fn job_control_session(mut pty: PtySession, inner: &str) -> Result<(), String> {
    let check = |step: &str, segment: &str, wanted: &[&str], unwanted: &[&str]| {
        for text in wanted {
            if !segment.contains(text) {
                return Err(format!("{step}: no {text:?} in:\n{segment}"));
            }
        }
        for text in unwanted {
            if segment.contains(text) {
                return Err(format!("{step}: {text:?} in:\n{segment}"));
            }
        }
        Ok(())
    };
    pty.expect(PROMPT)?;
    // The markers are arithmetic, so the typed line (echoed) never matches.
    pty.send(b"stty size; echo A$((1+1))B\r");
    let out = pty.expect("A2B")?;
    check(
        "stty size",
        &out,
        &[&format!("{START_ROWS} {START_COLS}")],
        &[],
    )?;

    // ^S holds output and echo (IXON) until ^Q.
    pty.send(b"cat\r");
    pty.expect("cat")?;
    thread::sleep(Duration::from_millis(500));
    pty.send(CTRL_S);
    pty.send(b"HELD-LINE\r");
    thread::sleep(Duration::from_millis(1500));
    if pty.text().contains("HELD-LINE") {
        return Err(format!("output went on after ^S:\n{}", pty.text()));
    }
    pty.send(CTRL_Q);
    let out = pty.expect("HELD-LINE\r\nHELD-LINE")?;
    check("^Q", &out, &[], &[])?;
    pty.send(CTRL_D);
    pty.expect(PROMPT)?;

    pty.send(b"sleep 100 &\r");
    pty.expect(PROMPT)?;
    pty.send(b"jobs; echo C$((1+2))D\r");
    let out = pty.expect("C3D")?;
    check("a background job", &out, &["Running", "sleep 100"], &[])?;

    // A foreground job that traps WINCH and CONT and says when it runs.
    let job = format!(
        "{inner} -c 'trap \"echo W$((5+5))N\" WINCH; trap \"echo C$((4+4))T\" CONT; \
         echo G$((2+3))O; while :; do sleep 1; done'\r"
    );
    pty.send(job.as_bytes());
    pty.expect("G5O")?;
    pty.resize(RESIZED_ROWS, RESIZED_COLS);
    pty.expect("W10N")?;
    pty.send(CTRL_Z);
    pty.expect("Stopped")?;
    pty.expect(PROMPT)?;
    pty.send(b"jobs; echo J$((3+4))K\r");
    let out = pty.expect("J7K")?;
    check("^Z stopped the job", &out, &["Stopped", "Running"], &[])?;
    pty.send(b"stty size; echo S$((4+5))Z\r");
    let out = pty.expect("S9Z")?;
    check(
        "the resize",
        &out,
        &[&format!("{RESIZED_ROWS} {RESIZED_COLS}")],
        &[],
    )?;

    pty.send(b"fg\r");
    pty.expect("C8T")?;
    pty.send(CTRL_C);
    pty.expect(PROMPT)?;
    pty.send(b"echo F$?X\r");
    pty.expect("F130X")?;
    pty.send(b"jobs; echo L$((5+6))M\r");
    let out = pty.expect("L11M")?;
    check(
        "^C ended only the foreground job",
        &out,
        &["Running", "sleep 100"],
        &["Stopped"],
    )?;

    pty.send(b"kill %1; exit 3\r");
    let (status, transcript) = pty.wait()?;
    if status != 3 {
        return Err(format!(
            "exit status {status}, not 3; transcript:\n{transcript}"
        ));
    }
    Ok(())
}

/// A root with the static busybox and the applets the session uses.
fn busybox_tty_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = build_rootfs(
            "rootfs-tty-busybox",
            &[(Path::new(BUSYBOX), "/bin/busybox")],
        );
        for applet in ["sh", "sleep", "stty", "cat"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
                .unwrap_or_else(|e| panic!("linking applet {applet}: {e}"));
        }
        root
    })
}

/// This host's bash, sleep and stty with their libraries.
fn bash_tty_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let programs = [
            "/usr/bin/bash",
            "/usr/bin/sleep",
            "/usr/bin/stty",
            "/usr/bin/cat",
        ];
        for program in programs {
            assert!(
                is_executable(Path::new(program)),
                "{program} is missing: apt-get install bash coreutils"
            );
        }
        let files: Vec<(&Path, &str)> = programs.iter().map(|p| (Path::new(*p), *p)).collect();
        build_rootfs("rootfs-tty-bash", &files)
    })
}

/// Runs the session with `shell -i` natively in `root` and in lamina.
fn shell_on_pty(
    target: Target,
    root: &Path,
    shell: &str,
    args: &[&str],
    path: &str,
) -> Result<(), String> {
    let env = [("PATH", path), ("PS1", PROMPT), ("TERM", "dumb")];
    let native_path = std::env::join_paths(path.split(':').map(|d| root.join(&d[1..])))
        .expect("PATH entries join");
    let native_path = native_path.to_string_lossy().into_owned();
    let native_env = [
        ("PATH", native_path.as_str()),
        ("PS1", PROMPT),
        ("TERM", "dumb"),
    ];
    let native_shell = root.join(&shell[1..]);
    let inner_native = native_shell.to_string_lossy().into_owned();
    job_control_session(
        PtySession::spawn(&native_shell, args, &native_env, false),
        &inner_native,
    )
    .map_err(|e| format!("natively: {e}"))?;
    let run = LaminaRun {
        env: &env,
        ..LaminaRun::new(target, Path::new(shell), args)
    }
    .in_root(root);
    job_control_session(lamina_on_pty(&run), shell).map_err(|e| format!("in lamina: {e}"))
}

/// `busybox sh -i` with job control on a pty.
#[test]
fn busybox_shell_job_control_on_a_pty() {
    let root = busybox_tty_root();
    on_targets(Depth::Full, |target| {
        shell_on_pty(target, root, "/bin/sh", &["-i"], "/bin")
    });
}

/// `bash -i` with job control on a pty.
#[test]
fn bash_job_control_on_a_pty() {
    let root = bash_tty_root();
    on_targets(Depth::Full, |target| {
        // --norc: the host's /etc/bash.bashrc would set its own prompt.
        shell_on_pty(target, root, "/usr/bin/bash", &["--norc", "-i"], "/usr/bin")
    });
}
