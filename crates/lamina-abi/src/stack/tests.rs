use super::*;
use crate::auxv::{AT_ENTRY, AT_PAGESZ, AT_PHDR};
use alloc::vec::Vec;

const TOP: u64 = 0x7fff_ffff_f000;

/// Reads the image back the way a libc `_start` does.
struct Decoded {
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    auxv: Vec<(u64, u64)>,
}

fn word(st: &InitialStack, addr: u64) -> u64 {
    let off = (addr - st.sp) as usize;
    u64::from_le_bytes(st.bytes[off..off + 8].try_into().unwrap())
}

fn cstr(st: &InitialStack, addr: u64) -> Vec<u8> {
    let off = (addr - st.sp) as usize;
    let len = st.bytes[off..].iter().position(|&b| b == 0).unwrap();
    st.bytes[off..off + len].to_vec()
}

fn decode(st: &InitialStack, top: u64) -> Decoded {
    assert_eq!(st.sp % 16, 0);
    assert_eq!(st.sp + st.bytes.len() as u64, top);
    let argc = word(st, st.sp);
    let mut p = st.sp + 8;
    let mut argv = Vec::new();
    for _ in 0..argc {
        argv.push(cstr(st, word(st, p)));
        p += 8;
    }
    assert_eq!(word(st, p), 0, "argv NULL");
    p += 8;
    let mut envp = Vec::new();
    while word(st, p) != 0 {
        envp.push(cstr(st, word(st, p)));
        p += 8;
    }
    p += 8;
    let mut auxv = Vec::new();
    loop {
        let (k, v) = (word(st, p), word(st, p + 8));
        p += 16;
        if k == AT_NULL {
            assert_eq!(v, 0);
            break;
        }
        auxv.push((k, v));
    }
    Decoded { argv, envp, auxv }
}

fn aux(d: &Decoded, key: u64) -> u64 {
    let hits: Vec<u64> = d
        .auxv
        .iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(hits.len(), 1, "key {key} appears {} times", hits.len());
    hits[0]
}

fn sample_random() -> [u8; 16] {
    core::array::from_fn(|i| 0xa0 + i as u8)
}

#[test]
fn layout_decodes() {
    let argv: [&[u8]; 3] = [b"/bin/busybox", b"sh", b"-c"];
    let envp: [&[u8]; 2] = [b"PATH=/bin", b"HOME=/"];
    let auxv = [
        (AT_PHDR, 0x40_0040),
        (AT_PAGESZ, 4096),
        (AT_ENTRY, 0x40_1000),
    ];
    let args = StackArgs {
        argv: &argv,
        envp: &envp,
        execfn: b"/bin/busybox",
        platform: b"x86_64",
        random: sample_random(),
        auxv: &auxv,
    };
    let st = build_initial_stack(TOP, &args, 64 * 1024).unwrap();
    let d = decode(&st, TOP);
    assert_eq!(d.argv, argv.map(|s| s.to_vec()));
    assert_eq!(d.envp, envp.map(|s| s.to_vec()));
    // The caller's entries come first, in order, then the builder's.
    assert_eq!(&d.auxv[..3], &auxv);
    assert_eq!(
        d.auxv[3..].iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [AT_RANDOM, AT_EXECFN, AT_PLATFORM]
    );
    assert_eq!(cstr(&st, aux(&d, AT_EXECFN)), b"/bin/busybox");
    assert_eq!(cstr(&st, aux(&d, AT_PLATFORM)), b"x86_64");
    let random = aux(&d, AT_RANDOM);
    let off = (random - st.sp) as usize;
    assert_eq!(st.bytes[off..off + 16], sample_random());
    // execfn's NUL is the last byte below stack_top.
    assert_eq!(*st.bytes.last().unwrap(), 0);
    assert_eq!(aux(&d, AT_EXECFN) + b"/bin/busybox\0".len() as u64, TOP);
    // Everything lies inside the image.
    assert!(d.auxv.iter().all(|&(k, _)| k != AT_NULL));
}

#[test]
fn sp_aligned_for_every_shape() {
    // Vary argc, envc, string lengths and an unaligned stack top so every
    // parity of the vector and of the strings is hit.
    let strs: [&[u8]; 5] = [b"", b"a", b"bb", b"ccccccc", b"dddddddddddddddd"];
    for top in [TOP, TOP - 1, TOP - 8, TOP - 13] {
        for argc in 0..5 {
            for envc in 0..4 {
                for aux_n in 0..3 {
                    let argv = &strs[..argc];
                    let envp = &strs[5 - envc..];
                    let auxv_all = [(AT_PAGESZ, 4096), (AT_ENTRY, 1), (AT_PHDR, 2)];
                    let args = StackArgs {
                        argv,
                        envp,
                        execfn: strs[argc % 5],
                        platform: b"x86_64",
                        random: [7; 16],
                        auxv: &auxv_all[..aux_n],
                    };
                    let st = build_initial_stack(top, &args, 4096).unwrap();
                    let d = decode(&st, top);
                    assert_eq!(d.argv.len(), argc);
                    assert_eq!(d.envp.len(), envc);
                    assert_eq!(d.auxv.len(), aux_n + 3);
                    for (got, want) in d.argv.iter().zip(argv) {
                        assert_eq!(got, want);
                    }
                }
            }
        }
    }
}

#[test]
fn builder_keys_from_caller_are_dropped() {
    let auxv = [
        (AT_RANDOM, 1),
        (AT_PAGESZ, 4096),
        (AT_NULL, 0),
        (AT_EXECFN, 2),
        (AT_PLATFORM, 3),
    ];
    let args = StackArgs {
        argv: &[b"x"],
        envp: &[],
        execfn: b"/x",
        platform: b"x86_64",
        random: [0; 16],
        auxv: &auxv,
    };
    let st = build_initial_stack(TOP, &args, 4096).unwrap();
    let d = decode(&st, TOP);
    assert_eq!(aux(&d, AT_PAGESZ), 4096);
    assert_ne!(aux(&d, AT_RANDOM), 1);
    assert_eq!(cstr(&st, aux(&d, AT_EXECFN)), b"/x");
}

#[test]
fn e2big_when_over_max_len() {
    let big = [b'x'; 5000];
    let argv: [&[u8]; 1] = [&big];
    let args = StackArgs {
        argv: &argv,
        envp: &[],
        execfn: b"/x",
        platform: b"x86_64",
        random: [0; 16],
        auxv: &[],
    };
    assert_eq!(build_initial_stack(TOP, &args, 4096), Err(Errno::E2BIG));
    let st = build_initial_stack(TOP, &args, 8192).unwrap();
    assert!(st.bytes.len() <= 8192);
    // Exactly at the limit is allowed; one byte less is not.
    let exact = st.bytes.len();
    assert!(build_initial_stack(TOP, &args, exact).is_ok());
    assert_eq!(
        build_initial_stack(TOP, &args, exact - 1),
        Err(Errno::E2BIG)
    );
    // Many empty arguments: pointer space counts too.
    let many: Vec<&[u8]> = (0..1000).map(|_| &b""[..]).collect();
    let args = StackArgs {
        argv: &many,
        ..args
    };
    assert_eq!(build_initial_stack(TOP, &args, 8000), Err(Errno::E2BIG));
}

#[test]
fn rejects_nul_in_strings_and_low_top() {
    let argv: [&[u8]; 1] = [b"a\0b"];
    let args = StackArgs {
        argv: &argv,
        envp: &[],
        execfn: b"/x",
        platform: b"x86_64",
        random: [0; 16],
        auxv: &[],
    };
    assert_eq!(build_initial_stack(TOP, &args, 4096), Err(Errno::EINVAL));
    let args = StackArgs {
        argv: &[b"ok"],
        ..args
    };
    assert_eq!(build_initial_stack(64, &args, 4096), Err(Errno::EINVAL));
    assert!(build_initial_stack(4096, &args, 4096).is_ok());
}

/// xorshift64: deterministic, no dependencies.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let pool: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            let len = (xorshift(&mut rng) % 300) as usize;
            (0..len)
                .map(|_| {
                    let b = xorshift(&mut rng) as u8;
                    if i % 7 == 0 {
                        b
                    } else {
                        b | 1
                    }
                })
                .collect()
        })
        .collect();
    for _ in 0..3000 {
        let n_arg = (xorshift(&mut rng) % 20) as usize;
        let n_env = (xorshift(&mut rng) % 20) as usize;
        let pick = |rng: &mut u64| pool[(xorshift(rng) % 64) as usize].as_slice();
        let argv: Vec<&[u8]> = (0..n_arg).map(|_| pick(&mut rng)).collect();
        let envp: Vec<&[u8]> = (0..n_env).map(|_| pick(&mut rng)).collect();
        let auxv: Vec<(u64, u64)> = (0..xorshift(&mut rng) % 8)
            .map(|_| (xorshift(&mut rng) % 40, xorshift(&mut rng)))
            .collect();
        let top = match xorshift(&mut rng) % 4 {
            0 => xorshift(&mut rng) % 8192,
            1 => u64::MAX - xorshift(&mut rng) % 64,
            _ => TOP - xorshift(&mut rng) % 64,
        };
        let args = StackArgs {
            argv: &argv,
            envp: &envp,
            execfn: pick(&mut rng),
            platform: b"x86_64",
            random: [3; 16],
            auxv: &auxv,
        };
        let max_len = (xorshift(&mut rng) % 16384) as usize;
        if let Ok(st) = build_initial_stack(top, &args, max_len) {
            assert!(st.bytes.len() <= max_len);
            let d = decode(&st, top);
            assert_eq!(d.argv.len(), n_arg);
            assert_eq!(d.envp.len(), n_env);
        }
    }
}
