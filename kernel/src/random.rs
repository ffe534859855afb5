//! Random bytes for `getrandom` and `AT_RANDOM`: `rdrand` when the CPU has
//! it, else a xorshift generator seeded from the TSC.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::cpu;

static STATE: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    if let Some(v) = cpu::rdrand() {
        return v;
    }
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = cpu::rdtsc() | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let v = next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}
