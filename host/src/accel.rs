//! Choosing the accelerator.
//!
//! KVM is the production accelerator, but the development machines have a
//! nested KVM without hardware virtualization (`kvm_pvm`), where every ring
//! transition exits to the host and TCG is faster (see "Accelerators" in the
//! design). `auto` therefore takes KVM only where it is hardware-assisted.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::cli::AccelChoice;

/// The KVM device; `LAMINA_KVM_DEVICE` overrides it (tests use this to make
/// KVM unavailable).
pub const KVM_DEVICE: &str = "/dev/kvm";
pub const KVM_DEVICE_VARIABLE: &str = "LAMINA_KVM_DEVICE";
/// Present when the host's KVM is the page-table-based `kvm_pvm` module.
pub const KVM_PVM_MODULE: &str = "/sys/module/kvm_pvm";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Kvm => "kvm",
            Self::Tcg => "tcg",
        }
    }
}

/// Where the probes look; parameters so tests can point them at fakes.
#[derive(Debug, Clone)]
pub struct Probe {
    pub kvm_device: PathBuf,
    pub kvm_pvm_module: PathBuf,
}

impl Probe {
    /// The real host paths, with the KVM device taken from
    /// `LAMINA_KVM_DEVICE` when set.
    pub fn from_env() -> Self {
        let kvm_device = std::env::var_os(KVM_DEVICE_VARIABLE)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(KVM_DEVICE));
        Self {
            kvm_device,
            kvm_pvm_module: PathBuf::from(KVM_PVM_MODULE),
        }
    }
}

/// `--accel kvm` was asked for and the device does not open.
#[derive(Debug, thiserror::Error)]
#[error("cannot use KVM: {}: {}", .device.display(), crate::error::os_reason(.source))]
pub struct KvmUnavailable {
    pub device: PathBuf,
    pub source: io::Error,
}

fn open_read_write(device: &Path) -> io::Result<()> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .map(drop)
}

/// Resolves the user's choice to an accelerator, with the reason (logged
/// with `-v`).
pub fn select(choice: AccelChoice, probe: &Probe) -> Result<(Accel, String), KvmUnavailable> {
    match choice {
        AccelChoice::Tcg => Ok((Accel::Tcg, "asked for with --accel tcg".into())),
        AccelChoice::Kvm => match open_read_write(&probe.kvm_device) {
            Ok(()) => Ok((Accel::Kvm, "asked for with --accel kvm".into())),
            Err(source) => Err(KvmUnavailable {
                device: probe.kvm_device.clone(),
                source,
            }),
        },
        AccelChoice::Auto => Ok(match open_read_write(&probe.kvm_device) {
            Err(err) => (
                Accel::Tcg,
                format!(
                    "{} does not open read-write ({})",
                    probe.kvm_device.display(),
                    crate::error::os_reason(&err)
                ),
            ),
            Ok(()) if probe.kvm_pvm_module.exists() => (
                Accel::Tcg,
                format!(
                    "the host KVM is kvm_pvm ({} exists), which is not hardware-assisted and slower than TCG",
                    probe.kvm_pvm_module.display()
                ),
            ),
            Ok(()) => (
                Accel::Kvm,
                format!(
                    "{} opens and the host KVM is hardware-assisted",
                    probe.kvm_device.display()
                ),
            ),
        }),
    }
}

/// Whether the guest kernel cannot save the user's AVX registers: under
/// `kvm_pvm` user code runs with the host's CPUID and XCR0 (AVX and
/// AVX-512 work, and glibc uses them) while the guest kernel's `xsave`
/// and AVX instructions stop the vCPU. Then a task must only be switched
/// where no vector register is live: at its system calls.
pub fn user_vectors_unsaved() -> bool {
    std::path::Path::new(KVM_PVM_MODULE).exists()
}

/// Whether the guest may return to user mode with `sysretq` under
/// `accel`: everywhere but `kvm_pvm`, where it triple-faults on Intel
/// hosts (design.md); under TCG it is far cheaper than `iretq`.
pub fn sysret_allowed(accel: Accel) -> bool {
    accel == Accel::Tcg || !std::path::Path::new(KVM_PVM_MODULE).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fakes {
        dir: tempfile::TempDir,
    }

    impl Fakes {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn probe(&self, device_exists: bool, pvm_exists: bool) -> Probe {
            let kvm_device = self.dir.path().join("kvm");
            let kvm_pvm_module = self.dir.path().join("kvm_pvm");
            if device_exists {
                std::fs::write(&kvm_device, b"").unwrap();
            }
            if pvm_exists {
                std::fs::create_dir(&kvm_pvm_module).unwrap();
            }
            Probe {
                kvm_device,
                kvm_pvm_module,
            }
        }
    }

    #[test]
    fn auto_prefers_hardware_kvm() {
        let fakes = Fakes::new();
        let (accel, why) = select(AccelChoice::Auto, &fakes.probe(true, false)).unwrap();
        assert_eq!(accel, Accel::Kvm, "{why}");
    }

    #[test]
    fn auto_avoids_kvm_pvm() {
        let fakes = Fakes::new();
        let (accel, why) = select(AccelChoice::Auto, &fakes.probe(true, true)).unwrap();
        assert_eq!(accel, Accel::Tcg);
        assert!(why.contains("kvm_pvm"), "{why}");
    }

    #[test]
    fn auto_falls_back_without_device() {
        let fakes = Fakes::new();
        let (accel, why) = select(AccelChoice::Auto, &fakes.probe(false, false)).unwrap();
        assert_eq!(accel, Accel::Tcg);
        assert!(why.contains("does not open"), "{why}");
    }

    #[test]
    fn explicit_choices() {
        let fakes = Fakes::new();
        let (accel, _) = select(AccelChoice::Tcg, &fakes.probe(true, false)).unwrap();
        assert_eq!(accel, Accel::Tcg);
        // An explicit --accel kvm is honoured even on kvm_pvm.
        let fakes = Fakes::new();
        let (accel, _) = select(AccelChoice::Kvm, &fakes.probe(true, true)).unwrap();
        assert_eq!(accel, Accel::Kvm);
    }

    #[test]
    fn explicit_kvm_without_device_is_an_error() {
        let fakes = Fakes::new();
        let probe = fakes.probe(false, false);
        let err = select(AccelChoice::Kvm, &probe).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("cannot use KVM: "), "{text}");
        assert!(text.ends_with("No such file or directory"), "{text}");
    }
}
