//! ELF64 parsing for static x86_64 Linux executables.
//!
//! Used by the kernel's program loader and by the host CLI, which rejects a
//! program it cannot run with the same reason the guest would give. Every
//! offset and length read from the file is checked against the file before it
//! is used: hostile input yields an [`ElfError`], never a panic.
//!
//! References: System V ABI "ELF-64 Object File Format" and the x86-64 psABI.
#![no_std]
#![deny(unsafe_code)]

use core::fmt;

/// Size of the ELF64 file header (`Elf64_Ehdr`).
const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header (`Elf64_Phdr`).
const PHDR_SIZE: usize = 56;

const ELFMAG: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const EI_NIDENT: usize = 16;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

/// `e_machine` of x86_64 (`EM_X86_64`).
pub const EM_X86_64: u16 = 62;

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;

const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// Page size segments must be congruent to (`p_vaddr ≡ p_offset mod 4096`).
pub const PAGE_SIZE: u64 = 4096;

/// First address past the lower canonical half: user mappings live below it.
pub const USER_ADDR_LIMIT: u64 = 0x0000_8000_0000_0000;

/// Why a file is not a program lamina can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// The file does not start with the ELF magic.
    NotElf,
    /// `EI_CLASS` is not `ELFCLASS64`.
    Not64Bit,
    /// `EI_DATA` is not `ELFDATA2LSB`.
    NotLittleEndian,
    /// `e_machine` is not `EM_X86_64`.
    NotX86_64 { machine: u16 },
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    NotExecutable { e_type: u16 },
    /// The program has a `PT_INTERP`: it needs a dynamic loader.
    Dynamic,
    /// A header, the program header table or segment data lies past the end
    /// of the file.
    Truncated,
    /// The program header table is malformed (wrong entry size, offset
    /// overflow).
    BadProgramHeaders,
    /// No `PT_LOAD` segment.
    NoLoadableSegments,
    /// A `PT_LOAD` segment is malformed (`filesz > memsz`, address overflow
    /// or outside user space, misaligned with its file offset).
    BadSegment,
}

/// The usual name of an ELF `e_machine` value, for error messages.
pub fn machine_name(machine: u16) -> Option<&'static str> {
    Some(match machine {
        0 => "no machine",
        2 => "SPARC",
        3 => "i386 (32-bit x86)",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "ARM (32-bit)",
        43 => "SPARC V9",
        50 => "IA-64",
        62 => "x86_64",
        183 => "aarch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => return None,
    })
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::NotElf => f.write_str("not an ELF file"),
            ElfError::Not64Bit => f.write_str("not a 64-bit ELF file"),
            ElfError::NotLittleEndian => f.write_str("not a little-endian ELF file"),
            ElfError::NotX86_64 { machine } => match machine_name(machine) {
                Some(name) => write!(f, "built for {name} (machine {machine}), not x86_64"),
                None => write!(f, "built for machine {machine}, not x86_64"),
            },
            ElfError::NotExecutable { e_type } => {
                write!(f, "not an executable (ELF type {e_type})")
            }
            ElfError::Dynamic => f.write_str(
                "dynamically linked (it needs an ELF interpreter); \
                 run it from its root file system with --rootfs DIR",
            ),
            ElfError::Truncated => f.write_str("truncated ELF file"),
            ElfError::BadProgramHeaders => f.write_str("malformed ELF program header table"),
            ElfError::NoLoadableSegments => f.write_str("ELF file has no loadable segments"),
            ElfError::BadSegment => f.write_str("malformed loadable segment in ELF file"),
        }
    }
}

/// Whether [`Elf::parse_with`] takes a program that names an interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interpreter {
    Refuse,
    Accept,
}

/// What kind of executable: fixed-address or static position-independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: loaded at the addresses in its program headers.
    Exec,
    /// `ET_DYN`: a static PIE (or, with an interpreter, a PIE or the
    /// interpreter itself), loaded at a chosen bias.
    DynPie,
}

/// Access permissions of a segment (`p_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentFlags {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl SegmentFlags {
    fn from_p_flags(p_flags: u32) -> Self {
        SegmentFlags {
            read: p_flags & PF_R != 0,
            write: p_flags & PF_W != 0,
            exec: p_flags & PF_X != 0,
        }
    }
}

/// One segment as described by its program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub flags: SegmentFlags,
}

/// A program header, decoded from its 56 bytes.
#[derive(Clone, Copy)]
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
}

impl Phdr {
    fn segment(&self) -> Segment {
        Segment {
            vaddr: self.p_vaddr,
            memsz: self.p_memsz,
            offset: self.p_offset,
            filesz: self.p_filesz,
            flags: SegmentFlags::from_p_flags(self.p_flags),
        }
    }
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    let mut v = [0u8; 4];
    v.copy_from_slice(b);
    Some(u32::from_le_bytes(v))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut v = [0u8; 8];
    v.copy_from_slice(b);
    Some(u64::from_le_bytes(v))
}

fn decode_phdr(entry: &[u8]) -> Option<Phdr> {
    Some(Phdr {
        p_type: read_u32(entry, 0)?,
        p_flags: read_u32(entry, 4)?,
        p_offset: read_u64(entry, 8)?,
        p_vaddr: read_u64(entry, 16)?,
        p_filesz: read_u64(entry, 32)?,
        p_memsz: read_u64(entry, 40)?,
    })
}

fn align_down(x: u64, align: u64) -> u64 {
    x & !(align - 1)
}

/// A validated ELF64 x86_64 executable, borrowing the file's bytes.
#[derive(Clone, Copy)]
pub struct Elf<'a> {
    bytes: &'a [u8],
    /// The program header table: exactly `phnum * 56` bytes inside `bytes`.
    phdrs: &'a [u8],
    kind: ElfKind,
    entry: u64,
    phoff: u64,
    phnum: u16,
}

impl fmt::Debug for Elf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elf")
            .field("len", &self.bytes.len())
            .field("kind", &self.kind)
            .field("entry", &format_args!("{:#x}", self.entry))
            .field("phnum", &self.phnum)
            .finish()
    }
}

impl<'a> Elf<'a> {
    /// Validates `bytes` as a static x86_64 executable.
    ///
    /// Checks, in order: the ELF magic, class 64, little endian, the file
    /// header length, `e_machine == EM_X86_64`, `e_type` EXEC or DYN,
    /// `e_phentsize == 56`, the program header table inside the file, no
    /// `PT_INTERP`, and every `PT_LOAD` (data inside the file,
    /// `filesz <= memsz`, `vaddr + memsz` below [`USER_ADDR_LIMIT`],
    /// `vaddr ≡ offset (mod 4096)`); at least one `PT_LOAD`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ElfError> {
        Self::parse_with(bytes, Interpreter::Refuse)
    }

    /// As [`Elf::parse`], but a `PT_INTERP` is accepted: a dynamically
    /// linked program, whose interpreter [`Elf::interpreter`] names (a
    /// kernel with a root file system loads it).
    pub fn parse_dynamic(bytes: &'a [u8]) -> Result<Self, ElfError> {
        Self::parse_with(bytes, Interpreter::Accept)
    }

    fn parse_with(bytes: &'a [u8], interpreter: Interpreter) -> Result<Self, ElfError> {
        if bytes.get(..ELFMAG.len()) != Some(&ELFMAG[..]) {
            // A file shorter than the magic is not recognisable as ELF.
            return Err(ElfError::NotElf);
        }
        if bytes.len() < EI_NIDENT {
            return Err(ElfError::Truncated);
        }
        if bytes[EI_CLASS] != ELFCLASS64 {
            return Err(ElfError::Not64Bit);
        }
        if bytes[EI_DATA] != ELFDATA2LSB {
            return Err(ElfError::NotLittleEndian);
        }
        if bytes.len() < EHDR_SIZE {
            return Err(ElfError::Truncated);
        }
        let field16 = |at| read_u16(bytes, at).ok_or(ElfError::Truncated);
        let field64 = |at| read_u64(bytes, at).ok_or(ElfError::Truncated);
        let e_type = field16(16)?;
        let machine = field16(18)?;
        let entry = field64(24)?;
        let phoff = field64(32)?;
        let phentsize = field16(54)?;
        let phnum = field16(56)?;

        if machine != EM_X86_64 {
            return Err(ElfError::NotX86_64 { machine });
        }
        let kind = match e_type {
            ET_EXEC => ElfKind::Exec,
            ET_DYN => ElfKind::DynPie,
            _ => return Err(ElfError::NotExecutable { e_type }),
        };
        if usize::from(phentsize) != PHDR_SIZE {
            return Err(ElfError::BadProgramHeaders);
        }
        if phnum == 0 {
            return Err(ElfError::NoLoadableSegments);
        }
        let table_len = usize::from(phnum) * PHDR_SIZE;
        let start = usize::try_from(phoff).map_err(|_| ElfError::BadProgramHeaders)?;
        let end = start
            .checked_add(table_len)
            .ok_or(ElfError::BadProgramHeaders)?;
        let phdrs = bytes.get(start..end).ok_or(ElfError::Truncated)?;

        let elf = Elf {
            bytes,
            phdrs,
            kind,
            entry,
            phoff,
            phnum,
        };
        // PT_INTERP first: "needs a dynamic loader" is the most useful reason
        // whatever else is wrong with such a file.
        if interpreter == Interpreter::Refuse && elf.phdrs().any(|ph| ph.p_type == PT_INTERP) {
            return Err(ElfError::Dynamic);
        }
        if interpreter == Interpreter::Accept
            && elf.phdrs().any(|ph| ph.p_type == PT_INTERP)
            && elf.interpreter().is_none()
        {
            return Err(ElfError::BadSegment);
        }
        let mut loads = 0usize;
        for ph in elf.phdrs().filter(|ph| ph.p_type == PT_LOAD) {
            check_load(&ph, bytes.len())?;
            loads += 1;
        }
        if loads == 0 {
            return Err(ElfError::NoLoadableSegments);
        }
        Ok(elf)
    }

    fn phdrs(&self) -> impl Iterator<Item = Phdr> + '_ {
        self.phdrs.chunks_exact(PHDR_SIZE).filter_map(decode_phdr)
    }

    /// The `PT_INTERP` path (without its NUL), if the program has one and
    /// it lies inside the file.
    pub fn interpreter(&self) -> Option<&'a [u8]> {
        let ph = self.phdrs().find(|ph| ph.p_type == PT_INTERP)?;
        let start = usize::try_from(ph.p_offset).ok()?;
        let len = usize::try_from(ph.p_filesz).ok()?;
        let path = self.bytes.get(start..start.checked_add(len)?)?;
        let path = path.strip_suffix(&[0]).unwrap_or(path);
        (!path.is_empty() && !path.contains(&0)).then_some(path)
    }

    /// Fixed-address executable or static PIE.
    pub fn kind(&self) -> ElfKind {
        self.kind
    }

    /// `e_entry` (for a static PIE, relative to the load bias).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Number of program headers (`AT_PHNUM`).
    pub fn phnum(&self) -> u16 {
        self.phnum
    }

    /// Size of one program header (`AT_PHENT`); always 56 once parsed.
    pub fn phentsize(&self) -> u16 {
        PHDR_SIZE as u16
    }

    /// The `PT_LOAD` segments, in file order.
    pub fn load_segments(&self) -> impl Iterator<Item = Segment> + '_ {
        self.phdrs()
            .filter(|ph| ph.p_type == PT_LOAD)
            .map(|ph| ph.segment())
    }

    /// The `filesz` bytes of `seg` in the file. Empty if `seg` does not lie
    /// inside the file (never for a segment this `Elf` returned from
    /// [`Elf::load_segments`]).
    pub fn segment_data(&self, seg: &Segment) -> &'a [u8] {
        let range = usize::try_from(seg.offset).ok().and_then(|start| {
            let len = usize::try_from(seg.filesz).ok()?;
            Some(start..start.checked_add(len)?)
        });
        range.and_then(|r| self.bytes.get(r)).unwrap_or(&[])
    }

    /// Virtual address of the program header table, for `AT_PHDR`: the
    /// `PT_PHDR` address if there is one, else the address `e_phoff` is
    /// mapped at by the `PT_LOAD` that contains the whole table.
    pub fn phdr_vaddr(&self) -> Option<u64> {
        if let Some(ph) = self.phdrs().find(|ph| ph.p_type == PT_PHDR) {
            return Some(ph.p_vaddr);
        }
        let table_end = self.phoff.checked_add(self.phdrs.len() as u64)?;
        self.load_segments()
            .find(|seg| {
                seg.offset <= self.phoff
                    && seg
                        .offset
                        .checked_add(seg.filesz)
                        .is_some_and(|end| table_end <= end)
            })
            .and_then(|seg| seg.vaddr.checked_add(self.phoff - seg.offset))
    }

    /// Page-aligned address range `[start, end)` covering every `PT_LOAD`.
    pub fn span(&self) -> (u64, u64) {
        let mut lo = u64::MAX;
        let mut hi = 0u64;
        for seg in self.load_segments() {
            lo = lo.min(seg.vaddr);
            // Validated by `parse`: no overflow, below USER_ADDR_LIMIT.
            hi = hi.max(seg.vaddr.saturating_add(seg.memsz));
        }
        let start = align_down(lo, PAGE_SIZE);
        let end = align_down(hi.saturating_add(PAGE_SIZE - 1), PAGE_SIZE);
        (start, end)
    }

    /// The `PT_TLS` segment, if any (the TLS initialisation image).
    pub fn tls_segment(&self) -> Option<Segment> {
        self.phdrs()
            .find(|ph| ph.p_type == PT_TLS)
            .map(|ph| ph.segment())
    }
}

fn check_load(ph: &Phdr, file_len: usize) -> Result<(), ElfError> {
    let data_end = ph
        .p_offset
        .checked_add(ph.p_filesz)
        .ok_or(ElfError::BadSegment)?;
    if data_end > file_len as u64 {
        return Err(ElfError::Truncated);
    }
    if ph.p_filesz > ph.p_memsz {
        return Err(ElfError::BadSegment);
    }
    let mem_end = ph
        .p_vaddr
        .checked_add(ph.p_memsz)
        .ok_or(ElfError::BadSegment)?;
    if mem_end > USER_ADDR_LIMIT {
        return Err(ElfError::BadSegment);
    }
    // Wrapping is exact here: 4096 divides 2^64.
    if !ph
        .p_vaddr
        .wrapping_sub(ph.p_offset)
        .is_multiple_of(PAGE_SIZE)
    {
        return Err(ElfError::BadSegment);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
