extern crate std;

use super::*;
use std::format;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

/// A program header for the test builder.
#[derive(Clone, Copy)]
struct Ph {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn load(offset: u64, vaddr: u64, filesz: u64, memsz: u64, flags: u32) -> Ph {
    Ph {
        p_type: PT_LOAD,
        flags,
        offset,
        vaddr,
        filesz,
        memsz,
    }
}

/// Builds an ELF64 image: header, program headers at offset 64, then zero
/// padding to `file_len`.
fn build(e_type: u16, machine: u16, entry: u64, phdrs: &[Ph], file_len: usize) -> Vec<u8> {
    let mut b = vec![0u8; file_len.max(EHDR_SIZE + phdrs.len() * PHDR_SIZE)];
    b[..4].copy_from_slice(&ELFMAG);
    b[EI_CLASS] = ELFCLASS64;
    b[EI_DATA] = ELFDATA2LSB;
    b[6] = 1; // EV_CURRENT
    b[16..18].copy_from_slice(&e_type.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[20..24].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&entry.to_le_bytes());
    b[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
    b[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    b[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    b[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for (i, ph) in phdrs.iter().enumerate() {
        let at = EHDR_SIZE + i * PHDR_SIZE;
        let e = &mut b[at..at + PHDR_SIZE];
        e[0..4].copy_from_slice(&ph.p_type.to_le_bytes());
        e[4..8].copy_from_slice(&ph.flags.to_le_bytes());
        e[8..16].copy_from_slice(&ph.offset.to_le_bytes());
        e[16..24].copy_from_slice(&ph.vaddr.to_le_bytes());
        e[24..32].copy_from_slice(&ph.vaddr.to_le_bytes());
        e[32..40].copy_from_slice(&ph.filesz.to_le_bytes());
        e[40..48].copy_from_slice(&ph.memsz.to_le_bytes());
        e[48..56].copy_from_slice(&PAGE_SIZE.to_le_bytes());
    }
    b
}

/// A typical static executable: text (containing the headers) and data+bss.
fn static_exec() -> Vec<u8> {
    let mut b = build(
        ET_EXEC,
        EM_X86_64,
        0x40_1000,
        &[
            load(0, 0x40_0000, 0x1800, 0x1800, PF_R | PF_X),
            load(0x1800, 0x40_2800, 0x100, 0x2000, PF_R | PF_W),
            Ph {
                p_type: PT_TLS,
                flags: PF_R,
                offset: 0x1800,
                vaddr: 0x40_2800,
                filesz: 0x10,
                memsz: 0x40,
            },
        ],
        0x1900,
    );
    // Recognisable segment contents.
    b[0x1800..0x1900].fill(0xab);
    b
}

fn static_pie() -> Vec<u8> {
    build(
        ET_DYN,
        EM_X86_64,
        0x1040,
        &[
            Ph {
                p_type: PT_PHDR,
                flags: PF_R,
                offset: 64,
                vaddr: 64,
                filesz: 3 * 56,
                memsz: 3 * 56,
            },
            load(0, 0, 0x2000, 0x2000, PF_R | PF_X),
            load(0x2000, 0x3000, 0x10, 0x1000, PF_R | PF_W),
        ],
        0x2010,
    )
}

#[test]
fn parses_static_exec() {
    let bytes = static_exec();
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.kind(), ElfKind::Exec);
    assert_eq!(elf.entry(), 0x40_1000);
    assert_eq!(elf.phnum(), 3);
    assert_eq!(elf.phentsize(), 56);
    let segs: Vec<Segment> = elf.load_segments().collect();
    assert_eq!(
        segs,
        [
            Segment {
                vaddr: 0x40_0000,
                memsz: 0x1800,
                offset: 0,
                filesz: 0x1800,
                flags: SegmentFlags {
                    read: true,
                    write: false,
                    exec: true
                },
            },
            Segment {
                vaddr: 0x40_2800,
                memsz: 0x2000,
                offset: 0x1800,
                filesz: 0x100,
                flags: SegmentFlags {
                    read: true,
                    write: true,
                    exec: false
                },
            },
        ]
    );
    let data = elf.segment_data(&segs[1]);
    assert_eq!(data.len(), 0x100);
    assert!(data.iter().all(|&b| b == 0xab));
    assert_eq!(elf.segment_data(&segs[0]).len(), 0x1800);
    // No PT_PHDR: found through the first PT_LOAD, which maps offset 0.
    assert_eq!(elf.phdr_vaddr(), Some(0x40_0040));
    assert_eq!(elf.span(), (0x40_0000, 0x40_5000));
    let tls = elf.tls_segment().unwrap();
    assert_eq!((tls.filesz, tls.memsz), (0x10, 0x40));
}

#[test]
fn parses_static_pie() {
    let bytes = static_pie();
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.kind(), ElfKind::DynPie);
    assert_eq!(elf.entry(), 0x1040);
    assert_eq!(elf.phdr_vaddr(), Some(64));
    assert_eq!(elf.span(), (0, 0x4000));
    assert_eq!(elf.load_segments().count(), 2);
    assert_eq!(elf.tls_segment(), None);
}

#[test]
fn phdr_vaddr_none_when_table_not_loaded() {
    // The only PT_LOAD starts past the program header table.
    let bytes = build(
        ET_EXEC,
        EM_X86_64,
        0x40_1000,
        &[load(0x1000, 0x40_1000, 0x10, 0x10, PF_R | PF_X)],
        0x1010,
    );
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.phdr_vaddr(), None);
}

#[test]
fn segment_data_out_of_file_is_empty() {
    let bytes = static_exec();
    let elf = Elf::parse(&bytes).unwrap();
    let mut seg = elf.load_segments().next().unwrap();
    seg.offset = u64::MAX;
    assert!(elf.segment_data(&seg).is_empty());
    seg.offset = 0;
    seg.filesz = u64::MAX;
    assert!(elf.segment_data(&seg).is_empty());
}

#[test]
fn rejects_non_elf() {
    assert_eq!(Elf::parse(b"").unwrap_err(), ElfError::NotElf);
    assert_eq!(Elf::parse(b"\x7fEL").unwrap_err(), ElfError::NotElf);
    assert_eq!(
        Elf::parse(b"#!/bin/sh\necho hi\n").unwrap_err(),
        ElfError::NotElf
    );
}

#[test]
fn rejects_32_bit() {
    let mut b = static_exec();
    b[EI_CLASS] = 1; // ELFCLASS32
    assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::Not64Bit);
}

#[test]
fn rejects_big_endian() {
    let mut b = static_exec();
    b[EI_DATA] = 2; // ELFDATA2MSB
    assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::NotLittleEndian);
}

#[test]
fn rejects_wrong_machine() {
    let b = build(
        ET_EXEC,
        183,
        0x40_1000,
        &[load(0, 0x40_0000, 0x100, 0x100, PF_R | PF_X)],
        0x100,
    );
    let err = Elf::parse(&b).unwrap_err();
    assert_eq!(err, ElfError::NotX86_64 { machine: 183 });
    assert_eq!(
        err.to_string(),
        "built for aarch64 (machine 183), not x86_64"
    );
    assert_eq!(
        ElfError::NotX86_64 { machine: 9999 }.to_string(),
        "built for machine 9999, not x86_64"
    );
}

#[test]
fn rejects_non_executable_types() {
    for e_type in [0u16, 1, 4, 0xfe00] {
        let b = build(
            e_type,
            EM_X86_64,
            0,
            &[load(0, 0, 0x100, 0x100, PF_R)],
            0x100,
        );
        assert_eq!(
            Elf::parse(&b).unwrap_err(),
            ElfError::NotExecutable { e_type }
        );
    }
    assert_eq!(
        ElfError::NotExecutable { e_type: 1 }.to_string(),
        "not an executable (ELF type 1)"
    );
}

#[test]
fn rejects_interp() {
    let b = build(
        ET_DYN,
        EM_X86_64,
        0x1040,
        &[
            Ph {
                p_type: PT_INTERP,
                flags: PF_R,
                offset: 0x200,
                vaddr: 0x200,
                filesz: 28,
                memsz: 28,
            },
            load(0, 0, 0x300, 0x300, PF_R | PF_X),
        ],
        0x300,
    );
    let err = Elf::parse(&b).unwrap_err();
    assert_eq!(err, ElfError::Dynamic);
    assert!(err.to_string().contains("dynamically linked"));
    assert!(err.to_string().contains("--rootfs"));
}

#[test]
fn dynamic_programs_name_their_interpreter() {
    let interp = b"/lib64/ld-linux-x86-64.so.2\0";
    let ph = |filesz| Ph {
        p_type: PT_INTERP,
        flags: PF_R,
        offset: 0x200,
        vaddr: 0x200,
        filesz,
        memsz: filesz,
    };
    let mut b = build(
        ET_DYN,
        EM_X86_64,
        0x1040,
        &[
            ph(interp.len() as u64),
            load(0, 0, 0x300, 0x300, PF_R | PF_X),
        ],
        0x300,
    );
    b[0x200..0x200 + interp.len()].copy_from_slice(interp);
    let elf = Elf::parse_dynamic(&b).unwrap();
    assert_eq!(elf.interpreter(), Some(&b"/lib64/ld-linux-x86-64.so.2"[..]));
    // A static program has none.
    assert_eq!(
        Elf::parse_dynamic(&static_exec()).unwrap().interpreter(),
        None
    );
    // A PT_INTERP outside the file, or empty, is malformed.
    let b = build(
        ET_DYN,
        EM_X86_64,
        0x1040,
        &[ph(0x1000), load(0, 0, 0x300, 0x300, PF_R | PF_X)],
        0x300,
    );
    assert_eq!(Elf::parse_dynamic(&b).unwrap_err(), ElfError::BadSegment);
}

#[test]
fn rejects_bad_program_header_table() {
    let mut b = static_exec();
    b[54..56].copy_from_slice(&32u16.to_le_bytes());
    assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::BadProgramHeaders);

    let mut b = static_exec();
    b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        Elf::parse(&b).unwrap_err(),
        ElfError::BadProgramHeaders | ElfError::Truncated
    ));

    let mut b = static_exec();
    let near_end = b.len() as u64 - 8;
    b[32..40].copy_from_slice(&near_end.to_le_bytes());
    assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::Truncated);
}

#[test]
fn rejects_no_loads() {
    let note = Ph {
        p_type: 4, // PT_NOTE
        flags: PF_R,
        offset: 0,
        vaddr: 0,
        filesz: 0,
        memsz: 0,
    };
    let b = build(ET_EXEC, EM_X86_64, 0, &[note], 0x100);
    assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::NoLoadableSegments);
    let b = build(ET_EXEC, EM_X86_64, 0, &[], 0x100);
    assert_eq!(Elf::parse(&b).unwrap_err(), ElfError::NoLoadableSegments);
}

#[test]
fn rejects_bad_segments() {
    let case = |ph: Ph| Elf::parse(&build(ET_EXEC, EM_X86_64, 0, &[ph], 0x2000)).unwrap_err();
    // Data past the end of the file.
    assert_eq!(
        case(load(0x1000, 0x40_1000, 0x1001, 0x2000, PF_R)),
        ElfError::Truncated
    );
    // offset + filesz overflows.
    assert_eq!(
        case(load(u64::MAX, 0x40_1000, 2, 2, PF_R)),
        ElfError::BadSegment
    );
    // filesz > memsz.
    assert_eq!(
        case(load(0, 0x40_0000, 0x100, 0x10, PF_R)),
        ElfError::BadSegment
    );
    // vaddr + memsz overflows.
    assert_eq!(
        case(load(0, 0xffff_ffff_ffff_f000, 0, 0x2000, PF_R)),
        ElfError::BadSegment
    );
    // Reaches into the kernel half.
    assert_eq!(
        case(load(0, USER_ADDR_LIMIT - 0x1000, 0, 0x2000, PF_R)),
        ElfError::BadSegment
    );
    // vaddr not congruent to offset modulo the page size.
    assert_eq!(
        case(load(0x10, 0x40_0000, 0x10, 0x10, PF_R)),
        ElfError::BadSegment
    );
    // Exactly up to the limit is fine.
    let ok = build(
        ET_EXEC,
        EM_X86_64,
        0,
        &[load(0, USER_ADDR_LIMIT - 0x2000, 0, 0x2000, PF_R)],
        0x100,
    );
    assert!(Elf::parse(&ok).is_ok());
}

#[test]
fn messages_are_one_phrase() {
    let all = [
        ElfError::NotElf,
        ElfError::Not64Bit,
        ElfError::NotLittleEndian,
        ElfError::NotX86_64 { machine: 3 },
        ElfError::NotExecutable { e_type: 1 },
        ElfError::Dynamic,
        ElfError::Truncated,
        ElfError::BadProgramHeaders,
        ElfError::NoLoadableSegments,
        ElfError::BadSegment,
    ];
    for e in all {
        let s = e.to_string();
        assert!(
            !s.is_empty() && !s.contains('\n') && !s.ends_with('.'),
            "{s}"
        );
    }
    assert_eq!(ElfError::NotElf.to_string(), "not an ELF file");
    assert_eq!(ElfError::Not64Bit.to_string(), "not a 64-bit ELF file");
    assert_eq!(ElfError::Truncated.to_string(), "truncated ELF file");
}

/// Exercises every accessor so that a bug that only shows after parsing
/// (an unchecked index) panics inside the fuzz loops too.
fn poke(bytes: &[u8]) {
    if let Ok(elf) = Elf::parse(bytes) {
        let _ = (elf.kind(), elf.entry(), elf.phnum(), elf.phentsize());
        for seg in elf.load_segments() {
            assert_eq!(elf.segment_data(&seg).len() as u64, seg.filesz);
        }
        let _ = elf.phdr_vaddr();
        let (lo, hi) = elf.span();
        assert!(lo <= hi && hi <= USER_ADDR_LIMIT);
        if let Some(tls) = elf.tls_segment() {
            let _ = elf.segment_data(&tls);
        }
        let _ = format!("{elf:?}");
    }
}

#[test]
fn every_prefix_is_rejected_without_panic() {
    for full in [static_exec(), static_pie()] {
        for len in 0..full.len() {
            let prefix = &full[..len];
            let r = Elf::parse(prefix);
            // The last segment's data reaches the end of the file, so every
            // strict prefix is missing something.
            assert!(r.is_err(), "prefix of {len} bytes parsed");
            poke(prefix);
        }
        assert!(Elf::parse(&full).is_ok());
    }
}

/// xorshift64: deterministic, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[test]
fn random_mutations_do_not_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let seeds = [static_exec(), static_pie()];
    for round in 0..20_000 {
        let mut b = seeds[round % seeds.len()].clone();
        let mutations = 1 + rng.next() % 8;
        for _ in 0..mutations {
            // Bias mutations towards the headers, where the parser looks.
            let span = if rng.next().is_multiple_of(4) {
                b.len()
            } else {
                64 + 3 * 56
            };
            let at = (rng.next() as usize) % span;
            match rng.next() % 3 {
                0 => b[at] = rng.next() as u8,
                1 => b[at] ^= 1 << (rng.next() % 8),
                _ => {
                    let v = rng.next().to_le_bytes();
                    let end = (at + 8).min(b.len());
                    b[at..end].copy_from_slice(&v[..end - at]);
                }
            }
        }
        if rng.next().is_multiple_of(8) {
            let len = (rng.next() as usize) % (b.len() + 1);
            b.truncate(len);
        }
        poke(&b);
    }
    // Pure garbage too.
    for _ in 0..2_000 {
        let len = (rng.next() % 512) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if b.len() >= 4 && rng.next().is_multiple_of(2) {
            b[..4].copy_from_slice(&ELFMAG);
        }
        poke(&b);
    }
}

#[test]
fn parses_busybox_if_present() {
    let path = "/bin/busybox";
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            std::eprintln!("skipping: cannot read {path}: {e}");
            return;
        }
    };
    match Elf::parse(&bytes) {
        Ok(elf) => {
            let (lo, hi) = elf.span();
            assert!(lo < hi);
            std::eprintln!("{path}: {elf:?}");
            let entry = elf.entry();
            // The entry point lies inside an executable PT_LOAD.
            assert!(elf
                .load_segments()
                .any(|s| s.flags.exec && s.vaddr <= entry && entry < s.vaddr + s.memsz));
            assert!(elf.phdr_vaddr().is_some());
            poke(&bytes);
        }
        // A distribution may ship a dynamically linked busybox.
        Err(ElfError::Dynamic) => std::eprintln!("{path} is dynamically linked"),
        Err(e) => panic!("{path}: {e}"),
    }
}
