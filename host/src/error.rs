//! Failures of lamina itself, each with the exit code it maps to.
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0..=255 | the workload's own exit status (`exit_group`) |
//! | 128+N | the workload was killed by signal N |
//! | 137 | the guest ran out of memory (reported as SIGKILL) |
//! | 124 | `--timeout` expired; QEMU was killed |
//! | 125 | lamina could not run the VM: bad option, the VMM missing or failing, KVM unavailable, guest kernel panic or no exit status, the guest broke the control channel |
//! | 126 | PROGRAM is not runnable: not a regular file, unreadable, not ELF, not x86_64, dynamically linked |
//! | 127 | PROGRAM does not exist |
//! | 129 / 130 / 143 | lamina got SIGHUP / SIGINT / SIGTERM and killed the VM |

use std::io;

/// `lamina` could not start or run the VM.
pub const EXIT_LAUNCH_FAILED: u8 = 125;
/// PROGRAM exists but cannot be run.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// PROGRAM does not exist.
pub const EXIT_NOT_FOUND: u8 = 127;
/// `--timeout` expired (as `timeout(1)`).
pub const EXIT_TIMED_OUT: u8 = 124;
/// Shell convention for "killed by signal N".
pub const EXIT_SIGNAL_BASE: u8 = 128;

/// An error the user can cause (or fix): printed as one line, `lamina: ...`.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}: no such file")]
    ProgramNotFound(String),
    /// Not a regular file, unreadable, or not a static x86_64 ELF.
    #[error("{program}: {reason}")]
    ProgramNotExecutable { program: String, reason: String },
    /// The VMM's program is not on PATH.
    #[error("{} not found; {}", .0.binary(), .0.install_hint())]
    VmmNotFound(crate::cli::Vmm),
    #[error(transparent)]
    KvmUnavailable(#[from] crate::accel::KvmUnavailable),
    /// A bad option value that clap could not check on its own.
    #[error("{0}")]
    Usage(String),
    /// Anything else that stopped the VM from starting.
    #[error("{0:#}")]
    Launch(#[from] anyhow::Error),
}

impl UserError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ProgramNotFound(_) => EXIT_NOT_FOUND,
            Self::ProgramNotExecutable { .. } => EXIT_NOT_EXECUTABLE,
            Self::VmmNotFound(_) | Self::KvmUnavailable(_) | Self::Usage(_) | Self::Launch(_) => {
                EXIT_LAUNCH_FAILED
            }
        }
    }
}

/// The OS's words for an I/O error, without Rust's " (os error N)" suffix.
pub fn os_reason(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_reason_drops_the_errno_suffix() {
        let err = io::Error::from_raw_os_error(13);
        assert_eq!(os_reason(&err), "Permission denied");
        let err = io::Error::other("plain");
        assert_eq!(os_reason(&err), "plain");
    }

    #[test]
    fn codes() {
        assert_eq!(UserError::ProgramNotFound("x".into()).exit_code(), 127);
        let err = UserError::ProgramNotExecutable {
            program: "./p".into(),
            reason: "not an ELF file".into(),
        };
        assert_eq!(err.exit_code(), 126);
        assert_eq!(err.to_string(), "./p: not an ELF file");
        let err = UserError::VmmNotFound(crate::cli::Vmm::Qemu);
        assert_eq!(
            err.to_string(),
            "qemu-system-x86_64 not found; install it with: apt-get install qemu-system-x86"
        );
        assert_eq!(err.exit_code(), 125);
        let err = UserError::Launch(anyhow::anyhow!("inner").context("outer"));
        assert_eq!(err.to_string(), "outer: inner");
        assert_eq!(err.exit_code(), 125);
    }
}
