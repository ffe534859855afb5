//! The kernel built into this binary, written once to a cache file that
//! QEMU's `-kernel` can name.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The lamina kernel, built by `build.rs`.
pub static EMBEDDED_KERNEL: &[u8] = include_bytes!(env!("LAMINA_KERNEL_ELF"));

/// FNV-1a, 64 bit: a stable content hash for the cache file name (std's
/// hasher may change between Rust releases).
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// The user's lamina cache directory, if the environment names one.
pub fn cache_dir() -> Option<PathBuf> {
    let env_path = |name| std::env::var_os(name).map(PathBuf::from);
    user_cache_dir(env_path("XDG_CACHE_HOME"), env_path("HOME"))
}

/// `$XDG_CACHE_HOME/lamina`, else `$HOME/.cache/lamina`.
fn user_cache_dir(xdg_cache_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let absolute = |p: &PathBuf| p.is_absolute();
    xdg_cache_home
        .filter(absolute)
        .or_else(|| home.filter(absolute).map(|home| home.join(".cache")))
        .map(|base| base.join("lamina"))
}

/// The cache file for `kernel`, written if missing or different. The file is
/// written under a temporary name and renamed, so concurrent runs never see
/// half a kernel.
pub fn cached_kernel_path(kernel: &[u8]) -> anyhow::Result<PathBuf> {
    let name = format!("kernel-{:016x}-{}.elf", fnv1a64(kernel), kernel.len());
    let mut candidates: Vec<PathBuf> = cache_dir().into_iter().collect();
    candidates.push(std::env::temp_dir());
    let mut last_error = None;
    for dir in candidates {
        match install(&dir, &name, kernel) {
            Ok(path) => return Ok(path),
            Err(err) => {
                tracing::info!("kernel cache in {} unusable: {err:#}", dir.display());
                last_error = Some(err);
            }
        }
    }
    Err(last_error
        .expect("at least one candidate")
        .context("cannot write the kernel image"))
}

fn install(dir: &Path, name: &str, kernel: &[u8]) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    if std::fs::read(&path).is_ok_and(|existing| existing == kernel) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".kernel-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    temp.write_all(kernel)
        .and_then(|()| temp.flush())
        .with_context(|| format!("writing {}", temp.path().display()))?;
    // Readable by all, like any installed kernel image (the fallback
    // directory may be shared).
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting permissions of {}", temp.path().display()))?;
    temp.persist(&path)
        .with_context(|| format!("renaming to {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_golden() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn cache_dir_choice() {
        let some = |p: &str| Some(PathBuf::from(p));
        assert_eq!(
            user_cache_dir(some("/x"), some("/home/u")),
            some("/x/lamina")
        );
        assert_eq!(
            user_cache_dir(None, some("/home/u")),
            some("/home/u/.cache/lamina")
        );
        assert_eq!(
            user_cache_dir(some("relative"), some("/home/u")),
            some("/home/u/.cache/lamina")
        );
        assert_eq!(user_cache_dir(None, None), None);
    }

    #[test]
    fn install_is_idempotent_and_repairs() {
        let dir = tempfile::tempdir().unwrap();
        let path = install(dir.path(), "k.elf", b"kernel bytes").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"kernel bytes");
        assert_eq!(install(dir.path(), "k.elf", b"kernel bytes").unwrap(), path);
        std::fs::write(&path, b"corrupt").unwrap();
        install(dir.path(), "k.elf", b"kernel bytes").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"kernel bytes");
        // Only the kernel is left behind: no temporary files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
