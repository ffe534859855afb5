//! gVisor (`runsc`), the sandbox a user would pick instead of lamina: found
//! on PATH or else unpacked from Debian's package into `bench/cache` (never
//! installed, as the Linux guest's kernel and busybox), probed once with
//! `hello`, and the command line of one run.
//!
//! How runsc is invoked, as tried as root in this sandbox (Debian's runsc
//! 0.0~20221219, a host with nested `kvm_pvm`):
//! - platform `ptrace`, this version's default (it has `ptrace` and `kvm`,
//!   no `systrap` yet). `--platform=kvm` does not start here: the sandbox
//!   dies at boot ("unable to read from the sync descriptor") and `runsc do`
//!   then waits for ever.
//! - `--rootless`: runsc runs its sandbox and gofer as the calling user
//!   and sets up no cgroups, so one command line serves root and a user
//!   alike (as root it also runs without it). `--ignore-cgroups` and
//!   `--TESTONLY-unsafe-nonroot` are not needed.
//! - `--network=none`: no network stack; the rows gVisor is measured on do
//!   not use one.
//! - `--root STATE`: runsc's container state in the bench's own directory
//!   rather than /var/run/runsc; `TMPDIR` likewise, where `do` writes the
//!   OCI bundle it makes up (a killed run leaves it behind).
//! - `do -force-overlay=false -root SHARE -cwd /`: the shared directory of
//!   the file rows is the sandbox's root, served by runsc's gofer (the root
//!   mount's default `--file-access=exclusive`: the sentry caches it as its
//!   own); without `-force-overlay=false`, `do` puts a tmpfs overlay on it
//!   and the file rows' writes would stay in the sandbox's memory instead of
//!   reaching the host directory the other columns write to.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::setup::{self, Layout, Share};
use crate::{parse, run, Error};

/// Debian's package with `/usr/bin/runsc`.
pub const RUNSC_PACKAGE: &str = "runsc";
/// The probe run: a static `hello` from the shared directory.
const PROBE_PROGRAM: &str = "hello";
const PROBE_KEY: &str = "hello";
/// The probe's bound: runsc starts in well under a second, but the host may
/// be busy.
const PROBE_BOUND: Duration = Duration::from_secs(60);
/// The platform runsc runs the workload on (see the module's comment).
pub const PLATFORM: &str = "ptrace";

/// A runsc that ran `hello` here.
#[derive(Debug)]
pub struct Gvisor {
    pub runsc: PathBuf,
    /// `runsc --version`'s first line, and where the binary came from.
    pub description: String,
    /// runsc's `--root`: its container state.
    state: PathBuf,
    /// `TMPDIR` of every run.
    tmp: PathBuf,
}

impl Gvisor {
    /// The run of `program ARGS` (a path inside `root`) with `root` as the
    /// sandbox's root and working directory `/`.
    pub fn command(&self, root: &Path, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(&self.runsc);
        command
            .env("TMPDIR", &self.tmp)
            .arg("--root")
            .arg(&self.state)
            .args(["--rootless", "--network=none"])
            .arg(format!("--platform={PLATFORM}"))
            .args(["do", "-force-overlay=false", "-cwd", "/", "-root"])
            .arg(root)
            .arg(program)
            .args(args);
        command
    }
}

/// The runsc to measure: the one on PATH if it runs `hello` here, else
/// Debian's, unpacked into the cache; `Err` says why neither runs.
pub fn prepare(layout: &Layout, share: &Share) -> Result<Gvisor, String> {
    let work = layout.build.join("gvisor");
    let (state, tmp) = (work.join("state"), work.join("tmp"));
    // Left-overs of killed runs go; each run starts from empty directories.
    let _ = fs::remove_dir_all(&work);
    for dir in [&state, &tmp] {
        fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    }
    let candidate = |runsc: PathBuf, origin: &str| {
        let gvisor = Gvisor {
            description: format!("{} ({origin})", version(&runsc)),
            runsc,
            state: state.clone(),
            tmp: tmp.clone(),
        };
        probe(&gvisor, share).map(|()| gvisor)
    };
    let on_path = match find_on_path("runsc") {
        Some(runsc) => match candidate(runsc.clone(), &runsc.display().to_string()) {
            Ok(gvisor) => return Ok(gvisor),
            Err(why) => format!("{}: {why}", runsc.display()),
        },
        None => "runsc is not on PATH".to_string(),
    };
    setup::step(&format!("{on_path}; trying Debian's {RUNSC_PACKAGE}"));
    let unpacked = setup::unpacked_deb(layout, RUNSC_PACKAGE)
        .map_err(|Error(why)| format!("{on_path}; Debian's {RUNSC_PACKAGE}: {why}"))?;
    let runsc = unpacked.join("usr/bin/runsc");
    candidate(runsc, "Debian's package, unpacked into bench/cache")
        .map_err(|why| format!("{on_path}; Debian's {RUNSC_PACKAGE}: {why}"))
}

/// Runs `hello` once: `Err` says why it did not print its line.
fn probe(gvisor: &Gvisor, share: &Share) -> Result<(), String> {
    let program = Share::guest_program(PROBE_PROGRAM);
    let mut command = gvisor.command(&share.dir, &program, &[]);
    let outcome = run::bounded(&mut command, PROBE_BOUND)
        .map_err(|err| format!("cannot start {}: {err}", gvisor.runsc.display()))?;
    let printed = parse::results(&outcome.stdout, None).contains_key(PROBE_KEY);
    if outcome.succeeded() && printed {
        Ok(())
    } else if outcome.succeeded() {
        Err(format!("{PROBE_PROGRAM} printed nothing"))
    } else {
        Err(outcome.failure(PROBE_BOUND))
    }
}

fn version(runsc: &Path) -> String {
    Command::new(runsc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "runsc, version unknown".into())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gvisor(runsc: &str) -> Gvisor {
        Gvisor {
            runsc: runsc.into(),
            description: String::new(),
            state: "/s".into(),
            tmp: "/t".into(),
        }
    }

    #[test]
    fn command_line() {
        let command = gvisor("/usr/bin/runsc").command(
            Path::new("/share"),
            "/bin/fsread",
            &["data/seq-256m"],
        );
        let args: Vec<_> = command.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--root",
                "/s",
                "--rootless",
                "--network=none",
                "--platform=ptrace",
                "do",
                "-force-overlay=false",
                "-cwd",
                "/",
                "-root",
                "/share",
                "/bin/fsread",
                "data/seq-256m"
            ]
        );
        let tmpdir = command
            .get_envs()
            .find(|(key, _)| *key == "TMPDIR")
            .and_then(|(_, value)| value);
        assert_eq!(tmpdir, Some(Path::new("/t").as_os_str()));
    }

    #[test]
    fn a_runsc_that_cannot_start_says_why() {
        let share = Share {
            dir: std::env::temp_dir(),
        };
        let why = probe(&gvisor("/nonexistent/runsc"), &share).unwrap_err();
        assert!(why.starts_with("cannot start /nonexistent/runsc"), "{why}");
        assert_eq!(
            version(Path::new("/nonexistent/runsc")),
            "runsc, version unknown"
        );
        assert_eq!(find_on_path("sh").map(|p| p.is_file()), Some(true));
        assert_eq!(find_on_path("no-such-program-anywhere"), None);
    }
}
