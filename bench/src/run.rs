//! Running one command with a bound on its wall time, and measuring it.

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use wait4::Wait4;

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
    let group = rustix::process::Pid::from_raw(child.id() as i32)
        .ok_or_else(|| io::Error::other("spawned child without a pid"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stdout = {
        let out = child.stdout.take().expect("piped stdout");
        let stop = Arc::clone(&stop);
        thread::spawn(move || read_stdout(out, stop))
    };
    let stderr = drain(child.stderr.take().expect("piped stderr"));

    // The group the child leads: killing it also ends a QEMU that lamina
    // started. Once the child is reaped its group may be empty (ESRCH).
    let kill_group = || {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    };
    let mut timed_out = false;
    let mut stopped = false;
    let reaped = loop {
        if let Some(reaped) = child.try_wait4()? {
            break reaped;
        }
        if !timed_out && !stopped {
            if started.elapsed() > bound {
                timed_out = true;
            } else if stop.load(Ordering::Relaxed) {
                stopped = true;
            }
            if timed_out || stopped {
                kill_group();
                continue;
            }
        }
        thread::sleep(POLL_INTERVAL);
    };
    let wall = started.elapsed();
    if !timed_out {
        // Leave nothing of the run behind (e.g. a QEMU orphaned by a crash).
        kill_group();
    }
    let status = reaped.status.code();
    let outcome = Outcome {
        status: if timed_out { None } else { status },
        timed_out,
        wall,
        stdout: String::new(),
        stderr: stderr.join().unwrap_or_default(),
        peak_rss_kib: reaped.rusage.maxrss / 1024,
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

        // The peak RSS folds in what the child waited for: `dd`'s 32 MiB
        // buffer, touched by its read of /dev/zero, under `sh`.
        let grown = bounded(
            Command::new("sh").args([
                "-c",
                "dd if=/dev/zero of=/dev/null bs=32M count=1 2>/dev/null; exit 0",
            ]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(grown.status, Some(0));
        assert!(grown.peak_rss_kib >= 32 * 1024, "{}", grown.peak_rss_kib);

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
