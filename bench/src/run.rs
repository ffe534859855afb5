//! Running one command with a bound on its wall time, and measuring it.

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    let (outcome, stdout) = bounded_reading(command, bound, |mut out, _stop| {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })?;
    Ok(Outcome { stdout, ..outcome })
}

/// What [`count_zeros`] saw on a run's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ZeroCount {
    /// NUL bytes after the first read that had any.
    pub bytes_after_first_read: u64,
    /// From the end of that first read to the end of the last counted one.
    pub elapsed: Duration,
}

impl ZeroCount {
    /// MB/s (10^6 bytes), once more than one read counted.
    pub fn rate_mb_s(&self) -> Option<f64> {
        (self.bytes_after_first_read > 0 && !self.elapsed.is_zero())
            .then(|| self.bytes_after_first_read as f64 / self.elapsed.as_secs_f64() / 1e6)
    }
}

/// Runs `command` as [`bounded`] does and counts the NUL bytes on its stdout
/// as they arrive (a guest's console also carries kernel text, which is not
/// counted) until `max_bytes` or `window` after the first, or EOF; then the
/// run is killed. The outcome's stdout is empty.
pub fn count_zeros(
    command: &mut Command,
    max_bytes: u64,
    window: Duration,
    bound: Duration,
) -> io::Result<(Outcome, ZeroCount)> {
    bounded_reading(command, bound, move |mut out, stop| {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut first: Option<Instant> = None;
        let mut last = None;
        let mut bytes = 0u64;
        while let Ok(n) = out.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let zeros = buffer[..n].iter().filter(|&&b| b == 0).count() as u64;
            if zeros == 0 {
                continue;
            }
            let now = Instant::now();
            match first {
                None => first = Some(now),
                Some(start) => {
                    bytes += zeros;
                    last = Some(now);
                    if bytes >= max_bytes || now - start >= window {
                        break;
                    }
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        // Whatever else comes is drained until the kill closes the pipe.
        let _ = io::copy(&mut out, &mut io::sink());
        ZeroCount {
            bytes_after_first_read: bytes,
            elapsed: match (first, last) {
                (Some(first), Some(last)) => last - first,
                _ => Duration::ZERO,
            },
        }
    })
}

/// The common part: spawn in a process group, stderr drained, stdout given
/// to `read_stdout` on a thread of its own; the group is killed past `bound`
/// or once `read_stdout` sets its stop flag.
fn bounded_reading<T: Send + Default + 'static>(
    command: &mut Command,
    bound: Duration,
    read_stdout: impl FnOnce(ChildStdout, Arc<AtomicBool>) -> T + Send + 'static,
) -> io::Result<(Outcome, T)> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let stop = Arc::new(AtomicBool::new(false));
    let stdout = {
        let out = child.stdout.take().expect("piped stdout");
        let stop = Arc::clone(&stop);
        thread::spawn(move || read_stdout(out, stop))
    };
    let stderr = drain(child.stderr.take().expect("piped stderr"));

    let mut timed_out = false;
    let mut stopped = false;
    let (raw_status, usage) = loop {
        let mut raw_status = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if timed_out || stopped {
            0
        } else {
            libc::WNOHANG
        };
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
        if !timed_out && !stopped {
            if started.elapsed() > bound {
                timed_out = true;
            } else if stop.load(Ordering::Relaxed) {
                stopped = true;
            }
            if timed_out || stopped {
                // SAFETY: plain syscall; the group is the one the child leads.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                continue;
            }
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
    let outcome = Outcome {
        status: if timed_out { None } else { status },
        timed_out,
        wall,
        stdout: String::new(),
        stderr: stderr.join().unwrap_or_default(),
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    };
    Ok((outcome, stdout.join().unwrap_or_default()))
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

    #[test]
    fn zeros_counted_after_the_first_read() {
        let (outcome, count) = count_zeros(
            Command::new("sh").args([
                "-c",
                "echo text; head -c 300000 /dev/zero; sleep 0.05; head -c 100000 /dev/zero",
            ]),
            u64::MAX,
            Duration::from_secs(60),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(outcome.status, Some(0));
        // The first read with zeros is not counted, the rest is.
        assert!(count.bytes_after_first_read >= 100_000);
        assert!(count.bytes_after_first_read < 400_000);
        assert!(count.rate_mb_s().is_some());

        let (cut, count) = count_zeros(
            Command::new("sh").args(["-c", "cat /dev/zero"]),
            1 << 20,
            Duration::from_secs(60),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(!cut.timed_out, "stopped once enough arrived");
        assert!(count.bytes_after_first_read >= 1 << 20);
    }
}
