//! Running one command with a bound on its wall time, and measuring it.

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How often an unfinished child is polled; the wall-time resolution.
const POLL_INTERVAL: Duration = Duration::from_micros(200);

#[derive(Debug)]
pub struct Outcome {
    /// The exit status, or `None` when the bound ran out (or a signal ended it).
    pub status: Option<i32>,
    pub timed_out: bool,
    pub wall: Duration,
    pub stdout: String,
    pub stderr: String,
    /// ru_maxrss of the child as `wait4` reports it: the largest resident set
    /// of the child and of every descendant it waited for (so for `lamina
    /// run` it is max(lamina, its QEMU)).
    pub peak_rss_kib: u64,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status == Some(0)
    }

    /// One line on why a run did not count.
    pub fn failure(&self, bound: Duration) -> String {
        if self.timed_out {
            return format!("did not finish within {} s", bound.as_secs());
        }
        let last = self
            .stderr
            .lines()
            .chain(self.stdout.lines())
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        match self.status {
            Some(code) => format!("exit status {code}: {last}"),
            None => format!("killed by a signal: {last}"),
        }
    }
}

fn drain(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `command` in its own process group with no stdin; past `bound` the
/// whole group (including a QEMU that lamina started) is killed.
pub fn bounded(command: &mut Command, bound: Duration) -> io::Result<Outcome> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));

    let mut timed_out = false;
    let (raw_status, usage) = loop {
        let mut raw_status = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if timed_out { 0 } else { libc::WNOHANG };
        // SAFETY: `pid` is our own unreaped child (std never waits for it:
        // `child` is only dropped), and both pointers are to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut raw_status, flags, &mut usage) };
        if reaped == pid {
            break (raw_status, usage);
        }
        if reaped < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        if !timed_out && started.elapsed() > bound {
            timed_out = true;
            // SAFETY: plain syscall; the group is the one the child leads.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            continue;
        }
        thread::sleep(POLL_INTERVAL);
    };
    let wall = started.elapsed();
    if !timed_out {
        // Leave nothing of the run behind (e.g. a QEMU orphaned by a crash).
        // SAFETY: plain syscall on the group the child led.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let status = libc::WIFEXITED(raw_status).then(|| libc::WEXITSTATUS(raw_status));
    Ok(Outcome {
        status: if timed_out { None } else { status },
        timed_out,
        wall,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_output_and_bound() {
        let done = bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(done.status, Some(3));
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.stderr, "err\n");
        assert!(done.peak_rss_kib > 0);

        let hung = bounded(
            Command::new("sh").args(["-c", "sleep 5"]),
            Duration::from_millis(100),
        )
        .unwrap();
        assert!(hung.timed_out);
        assert!(hung.wall < Duration::from_secs(4));
        assert!(hung
            .failure(Duration::from_secs(1))
            .contains("did not finish"));
    }
}
