//! The host's TSC rate, handed to the guest on its command line.
//!
//! The guest's TSC ticks at the host's rate under both accelerators (TCG
//! reads the host TSC; KVM does not scale it), so with this the guest needs
//! no calibration of its own (which costs it 10 ms against the PIT on its
//! first clock read). Measured once per host boot, against the monotonic
//! clock over [`MEASURE_FOR`], and kept in the cache directory keyed by the
//! kernel's boot id.

use std::path::Path;
use std::time::{Duration, Instant};

const MEASURE_FOR: Duration = Duration::from_millis(20);
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
const CACHE_FILE: &str = "tsc-khz";

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` only reads the time-stamp counter; every x86_64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(target_arch = "x86_64")]
fn measure() -> Option<u64> {
    let (tsc0, t0) = (rdtsc(), Instant::now());
    std::thread::sleep(MEASURE_FOR);
    let (tsc1, t1) = (rdtsc(), Instant::now());
    let nanos = t1.duration_since(t0).as_nanos();
    let khz = u128::from(tsc1.checked_sub(tsc0)?) * 1_000_000 / nanos.max(1);
    u64::try_from(khz).ok().filter(|&k| k > 0)
}

#[cfg(not(target_arch = "x86_64"))]
fn measure() -> Option<u64> {
    None
}

/// Parses the cache file: `<boot id> <kHz>`, valid for this boot only.
fn parse_cache(text: &str, boot_id: &str) -> Option<u64> {
    let mut fields = text.split_whitespace();
    (fields.next()? == boot_id).then_some(())?;
    fields.next()?.parse().ok().filter(|&k: &u64| k > 0)
}

/// The host TSC rate in kHz: from the cache, else measured (and cached).
pub fn host_tsc_khz(cache_dir: Option<&Path>) -> Option<u64> {
    let boot_id = std::fs::read_to_string(BOOT_ID).ok()?;
    let boot_id = boot_id.trim();
    let cache = cache_dir.map(|dir| dir.join(CACHE_FILE));
    if let Some(khz) = cache
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| parse_cache(&text, boot_id))
    {
        return Some(khz);
    }
    let khz = measure()?;
    if let (Some(dir), Some(path)) = (cache_dir, cache) {
        // Best effort: a read-only cache only means measuring again next time.
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, format!("{boot_id} {khz}\n")));
    }
    tracing::info!("host TSC measured at {khz} kHz");
    Some(khz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_valid_for_its_boot_only() {
        assert_eq!(parse_cache("abc 2600000\n", "abc"), Some(2_600_000));
        assert_eq!(parse_cache("abc 2600000\n", "def"), None);
        assert_eq!(parse_cache("abc zero\n", "abc"), None);
        assert_eq!(parse_cache("abc 0\n", "abc"), None);
        assert_eq!(parse_cache("", "abc"), None);
    }

    #[test]
    fn measures_and_then_reads_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let first = host_tsc_khz(Some(dir.path())).expect("x86_64 Linux host");
        // Any real TSC runs between 100 MHz and 10 GHz.
        assert!((100_000..10_000_000).contains(&first), "{first}");
        let cached = std::fs::read_to_string(dir.path().join(CACHE_FILE)).unwrap();
        assert!(cached.trim_end().ends_with(&first.to_string()));
        assert_eq!(host_tsc_khz(Some(dir.path())), Some(first));
    }
}
