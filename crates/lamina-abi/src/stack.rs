//! The initial process stack a Linux x86_64 program starts with
//! (System V x86-64 psABI §3.4.1; Linux `create_elf_tables`).
//!
//! From `stack_top` down:
//!
//! ```text
//! stack_top ->  argv strings, envp strings, platform, execfn (NUL-terminated;
//!               execfn ends at stack_top)
//!               16 random bytes (AT_RANDOM)
//!               padding to 16 bytes
//!               auxv pairs ... AT_NULL, 0
//!               NULL, envp[envc-1] .. envp[0]
//!               NULL, argv[argc-1] .. argv[0]
//! sp ->         argc                                   (sp % 16 == 0)
//! ```

use alloc::vec;
use alloc::vec::Vec;

use crate::auxv::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};
use crate::errno::Errno;

const WORD: usize = 8;
const STACK_ALIGN: u64 = 16;
const RANDOM_LEN: usize = 16;

/// What goes on a new process's stack.
#[derive(Debug, Clone, Copy)]
pub struct StackArgs<'a> {
    /// Arguments, without NUL terminators.
    pub argv: &'a [&'a [u8]],
    /// `KEY=VALUE` environment strings, without NUL terminators.
    pub envp: &'a [&'a [u8]],
    /// The program's path (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// The platform string (`AT_PLATFORM`), normally `b"x86_64"`.
    pub platform: &'a [u8],
    /// The 16 bytes `AT_RANDOM` points at (libc's stack canary seed).
    pub random: [u8; 16],
    /// Auxiliary vector entries (`AT_PHDR`, `AT_ENTRY`, ...). `AT_RANDOM`,
    /// `AT_EXECFN` and `AT_PLATFORM` are added after them, pointing into
    /// the image, then `AT_NULL`; entries here with one of those four keys
    /// are dropped.
    pub auxv: &'a [(u64, u64)],
}

/// The stack image: `bytes` is the memory from `sp` up to `stack_top`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialStack {
    /// The initial `rsp`: 16-byte aligned, pointing at `argc`.
    pub sp: u64,
    pub bytes: Vec<u8>,
}

fn is_builder_key(key: u64) -> bool {
    matches!(key, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM)
}

/// Builds the initial stack for a process whose stack ends at `stack_top`.
///
/// `E2BIG` if the image would exceed `max_len` bytes; `EINVAL` if a string
/// contains a NUL byte or the image does not fit below `stack_top`.
pub fn build_initial_stack(
    stack_top: u64,
    args: &StackArgs,
    max_len: usize,
) -> Result<InitialStack, Errno> {
    let too_big = |n: Option<usize>| match n {
        Some(n) if n <= max_len => Ok(n),
        _ => Err(Errno::E2BIG),
    };
    let strings = || {
        args.argv
            .iter()
            .chain(args.envp)
            .chain([&args.platform, &args.execfn])
    };
    if strings().any(|s| s.contains(&0)) {
        return Err(Errno::EINVAL);
    }
    let mut strings_len = 0usize;
    for s in strings() {
        strings_len = too_big(
            s.len()
                .checked_add(1)
                .and_then(|n| strings_len.checked_add(n)),
        )?;
    }
    let aux_extra = args
        .auxv
        .iter()
        .filter(|(k, _)| !is_builder_key(*k))
        .count();
    // argc, argv + NULL, envp + NULL, auxv (caller's, 3 of ours, AT_NULL).
    let words = [1, args.argv.len(), 1, args.envp.len(), 1]
        .into_iter()
        .try_fold(0usize, usize::checked_add)
        .and_then(|w| w.checked_add(aux_extra.checked_add(4)?.checked_mul(2)?));
    let vector_len = too_big(words.and_then(|w| w.checked_mul(WORD)))?;

    // Addresses, top down. Every subtraction is bounded by max_len first,
    // then checked against stack_top.
    let below = |addr: u64, len: usize| addr.checked_sub(len as u64).ok_or(Errno::EINVAL);
    let strings_start = below(stack_top, strings_len)?;
    let random_addr = below(strings_start, RANDOM_LEN)?;
    let vector_top = random_addr & !(STACK_ALIGN - 1);
    let sp = below(vector_top, vector_len)? & !(STACK_ALIGN - 1);
    let total = too_big(usize::try_from(stack_top - sp).ok())?;

    let mut image = Image {
        base: sp,
        bytes: vec![0u8; total],
    };

    // Strings, ascending from strings_start.
    let mut cursor = strings_start;
    let mut place = |s: &[u8]| {
        let at = cursor;
        image.put(at, s);
        // The NUL is already there: the image starts zeroed.
        cursor += s.len() as u64 + 1;
        at
    };
    let argv_ptrs: Vec<u64> = args.argv.iter().map(|s| place(s)).collect();
    let envp_ptrs: Vec<u64> = args.envp.iter().map(|s| place(s)).collect();
    let platform_ptr = place(args.platform);
    let execfn_ptr = place(args.execfn);
    image.put(random_addr, &args.random);

    let mut w = sp;
    let mut push = |image: &mut Image, v: u64| {
        image.put(w, &v.to_le_bytes());
        w += WORD as u64;
    };
    push(&mut image, args.argv.len() as u64);
    for p in argv_ptrs {
        push(&mut image, p);
    }
    push(&mut image, 0);
    for p in envp_ptrs {
        push(&mut image, p);
    }
    push(&mut image, 0);
    for &(k, v) in args.auxv.iter().filter(|(k, _)| !is_builder_key(*k)) {
        push(&mut image, k);
        push(&mut image, v);
    }
    for (k, v) in [
        (AT_RANDOM, random_addr),
        (AT_EXECFN, execfn_ptr),
        (AT_PLATFORM, platform_ptr),
        (AT_NULL, 0),
    ] {
        push(&mut image, k);
        push(&mut image, v);
    }
    debug_assert!(w <= random_addr);

    Ok(InitialStack {
        sp,
        bytes: image.bytes,
    })
}

/// The image under construction, addressed by user virtual address.
struct Image {
    base: u64,
    bytes: Vec<u8>,
}

impl Image {
    /// Copies `data` to address `at`. Every address passed in lies in
    /// `[base, base + len)` by construction; one that did not would be a
    /// bug here, and is ignored rather than panicking in the kernel.
    fn put(&mut self, at: u64, data: &[u8]) {
        let Some(start) = at.checked_sub(self.base).map(|o| o as usize) else {
            debug_assert!(false, "address below the image");
            return;
        };
        match start
            .checked_add(data.len())
            .and_then(|end| self.bytes.get_mut(start..end))
        {
            Some(dst) => dst.copy_from_slice(data),
            None => debug_assert!(false, "address above the image"),
        }
    }
}

#[cfg(test)]
mod tests;
