//! PVH boot: the entry trampoline and the `hvm_start_info` structures.
//!
//! The trampoline (`entry.s`, assembled only for the kernel target) takes
//! the CPU from 32-bit protected mode to long mode and calls
//! `lamina_kernel_main(start_info_paddr, entry_tsc)` in the higher half.
//! The parsing below is pure so it is unit-tested on the host: the kernel
//! hands it byte slices read through its direct map.
#![no_std]
#![deny(unsafe_code)]

// SAFETY: the trampoline runs before any Rust code, on its own boot stack
// and page tables, and hands over only through `lamina_kernel_main`'s
// `extern "C"` signature; it touches only its own `.boot.*` sections.
#[cfg(target_os = "none")]
#[allow(unsafe_code)]
mod entry {
    core::arch::global_asm!(include_str!("entry.s"));
}

/// `hvm_start_info.magic` (xen/include/public/arch-x86/hvm/start_info.h).
pub const START_INFO_MAGIC: u32 = 0x336e_c578;
/// Size of `struct hvm_start_info`, version 1.
pub const START_INFO_LEN: usize = 56;
/// Size of `struct hvm_modlist_entry`.
pub const MODLIST_ENTRY_LEN: usize = 32;
/// Size of `struct hvm_memmap_table_entry`.
pub const MEMMAP_ENTRY_LEN: usize = 24;
/// `XEN_HVM_MEMMAP_TYPE_RAM`: usable memory.
pub const MEMMAP_TYPE_RAM: u32 = 1;
/// The kernel reads at most this many memory map entries or modules.
pub const MAX_TABLE_ENTRIES: usize = 128;

/// `struct hvm_start_info`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartInfo {
    pub magic: u32,
    pub version: u32,
    pub flags: u32,
    pub nr_modules: u32,
    pub modlist_paddr: u64,
    pub cmdline_paddr: u64,
    pub rsdp_paddr: u64,
    pub memmap_paddr: u64,
    pub memmap_entries: u32,
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<StartInfo>() == START_INFO_LEN);

/// `struct hvm_modlist_entry`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Module {
    pub paddr: u64,
    pub size: u64,
    pub cmdline_paddr: u64,
    pub reserved: u64,
}
const _: () = assert!(core::mem::size_of::<Module>() == MODLIST_ENTRY_LEN);

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegion {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<MemoryRegion>() == MEMMAP_ENTRY_LEN);

/// Why the boot information cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartInfoError {
    BadMagic(u32),
    Truncated,
    TooManyEntries(u32),
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(raw)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(raw)
}

impl StartInfo {
    pub fn parse(bytes: &[u8; START_INFO_LEN]) -> Result<Self, StartInfoError> {
        let info = Self {
            magic: u32_at(bytes, 0),
            version: u32_at(bytes, 4),
            flags: u32_at(bytes, 8),
            nr_modules: u32_at(bytes, 12),
            modlist_paddr: u64_at(bytes, 16),
            cmdline_paddr: u64_at(bytes, 24),
            rsdp_paddr: u64_at(bytes, 32),
            memmap_paddr: u64_at(bytes, 40),
            memmap_entries: u32_at(bytes, 48),
            reserved: u32_at(bytes, 52),
        };
        if info.magic != START_INFO_MAGIC {
            return Err(StartInfoError::BadMagic(info.magic));
        }
        if info.nr_modules as usize > MAX_TABLE_ENTRIES {
            return Err(StartInfoError::TooManyEntries(info.nr_modules));
        }
        if info.memmap_entries as usize > MAX_TABLE_ENTRIES {
            return Err(StartInfoError::TooManyEntries(info.memmap_entries));
        }
        Ok(info)
    }

    /// Bytes of the memory map table (0 before version 1 of the protocol).
    pub fn memmap_len(&self) -> usize {
        if self.version >= 1 {
            self.memmap_entries as usize * MEMMAP_ENTRY_LEN
        } else {
            0
        }
    }

    /// Bytes of the module list.
    pub fn modlist_len(&self) -> usize {
        self.nr_modules as usize * MODLIST_ENTRY_LEN
    }
}

/// Decodes the memory map table read from `memmap_paddr`.
pub fn parse_memmap(bytes: &[u8]) -> impl Iterator<Item = MemoryRegion> + '_ {
    bytes
        .chunks_exact(MEMMAP_ENTRY_LEN)
        .map(|raw| MemoryRegion {
            addr: u64_at(raw, 0),
            size: u64_at(raw, 8),
            kind: u32_at(raw, 16),
            reserved: u32_at(raw, 20),
        })
}

/// Decodes the module list read from `modlist_paddr`.
pub fn parse_modlist(bytes: &[u8]) -> impl Iterator<Item = Module> + '_ {
    bytes.chunks_exact(MODLIST_ENTRY_LEN).map(|raw| Module {
        paddr: u64_at(raw, 0),
        size: u64_at(raw, 8),
        cmdline_paddr: u64_at(raw, 16),
        reserved: u64_at(raw, 24),
    })
}

/// The kernel command line: the bytes up to the first NUL.
pub fn cmdline(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Looks up `key=value` among the space-separated tokens of a command line.
pub fn cmdline_value<'a>(cmdline: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    cmdline.split(|&b| b == b' ').rev().find_map(|token| {
        let eq = token.iter().position(|&b| b == b'=')?;
        (&token[..eq] == key).then(|| &token[eq + 1..])
    })
}

/// A virtio-MMIO device the VMM announced on the command line
/// (`virtio_mmio.device=<size>@<addr>:<irq>`, Linux's syntax; QEMU's
/// `microvm` appends one per device when it has `acpi=off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtioMmioDevice {
    pub size: u64,
    pub paddr: u64,
    pub irq: u32,
}

const VIRTIO_MMIO_KEY: &[u8] = b"virtio_mmio.device";

/// Every well-formed `virtio_mmio.device=` token of a command line, in
/// order; malformed ones are skipped.
pub fn virtio_mmio_devices(cmdline: &[u8]) -> impl Iterator<Item = VirtioMmioDevice> + '_ {
    cmdline.split(|&b| b == b' ').filter_map(|token| {
        let value = token.strip_prefix(VIRTIO_MMIO_KEY)?.strip_prefix(b"=")?;
        parse_virtio_mmio(core::str::from_utf8(value).ok()?)
    })
}

/// `<size>@<addr>:<irq>`: size with an optional K/M/G suffix, address
/// and size in decimal or `0x` hex (Linux's `memparse`).
fn parse_virtio_mmio(value: &str) -> Option<VirtioMmioDevice> {
    let (size, rest) = value.split_once('@')?;
    let (addr, irq) = rest.split_once(':')?;
    // Linux allows a trailing `:<id>`: the platform device id.
    let irq = irq.split(':').next()?;
    Some(VirtioMmioDevice {
        size: parse_mem(size)?,
        paddr: parse_mem(addr)?,
        irq: parse_number(irq)?.try_into().ok()?,
    })
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_mem(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    parse_number(digits)?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> [u8; START_INFO_LEN] {
        let mut raw = [0u8; START_INFO_LEN];
        raw[0..4].copy_from_slice(&START_INFO_MAGIC.to_le_bytes());
        raw[4..8].copy_from_slice(&1u32.to_le_bytes());
        raw[12..16].copy_from_slice(&1u32.to_le_bytes());
        raw[16..24].copy_from_slice(&0x6000u64.to_le_bytes());
        raw[24..32].copy_from_slice(&0x7000u64.to_le_bytes());
        raw[40..48].copy_from_slice(&0x8000u64.to_le_bytes());
        raw[48..52].copy_from_slice(&3u32.to_le_bytes());
        raw
    }

    #[test]
    fn parses_the_fixed_header() {
        let info = StartInfo::parse(&sample()).unwrap();
        assert_eq!(info.nr_modules, 1);
        assert_eq!(info.modlist_paddr, 0x6000);
        assert_eq!(info.cmdline_paddr, 0x7000);
        assert_eq!(info.memmap_paddr, 0x8000);
        assert_eq!(info.memmap_len(), 72);
        assert_eq!(info.modlist_len(), 32);
    }

    #[test]
    fn rejects_bad_magic_and_huge_tables() {
        let mut raw = sample();
        raw[0] ^= 1;
        assert!(matches!(
            StartInfo::parse(&raw),
            Err(StartInfoError::BadMagic(_))
        ));
        let mut raw = sample();
        raw[48..52].copy_from_slice(&100_000u32.to_le_bytes());
        assert_eq!(
            StartInfo::parse(&raw),
            Err(StartInfoError::TooManyEntries(100_000))
        );
    }

    #[test]
    fn version_zero_has_no_memmap() {
        let mut raw = sample();
        raw[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(StartInfo::parse(&raw).unwrap().memmap_len(), 0);
    }

    #[test]
    fn decodes_tables() {
        let mut table = [0u8; 2 * MEMMAP_ENTRY_LEN + 5];
        table[8..16].copy_from_slice(&0x9fc00u64.to_le_bytes());
        table[16..20].copy_from_slice(&MEMMAP_TYPE_RAM.to_le_bytes());
        table[24..32].copy_from_slice(&0x100000u64.to_le_bytes());
        table[32..40].copy_from_slice(&0x7f00000u64.to_le_bytes());
        table[40..44].copy_from_slice(&2u32.to_le_bytes());
        let regions: [MemoryRegion; 2] = {
            let mut it = parse_memmap(&table);
            [it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(regions[0].size, 0x9fc00);
        assert_eq!(regions[0].kind, MEMMAP_TYPE_RAM);
        assert_eq!(regions[1].addr, 0x100000);
        assert_eq!(regions[1].kind, 2);
        assert_eq!(
            parse_memmap(&table).count(),
            2,
            "trailing bytes are ignored"
        );

        let mut modules = [0u8; MODLIST_ENTRY_LEN];
        modules[0..8].copy_from_slice(&0x7000000u64.to_le_bytes());
        modules[8..16].copy_from_slice(&4096u64.to_le_bytes());
        let module = parse_modlist(&modules).next().unwrap();
        assert_eq!((module.paddr, module.size), (0x7000000, 4096));
    }

    #[test]
    fn command_line_tokens() {
        let line = cmdline(b"verbose=1 epoch_ns=42 virtio_mmio.device=512@0xfeb00e00:12\0junk");
        assert_eq!(cmdline_value(line, b"verbose"), Some(&b"1"[..]));
        assert_eq!(cmdline_value(line, b"epoch_ns"), Some(&b"42"[..]));
        assert_eq!(cmdline_value(line, b"missing"), None);
        assert_eq!(cmdline_value(b"a=1 a=2", b"a"), Some(&b"2"[..]));
    }

    #[test]
    fn virtio_mmio_tokens() {
        let line = b"verbose=1 virtio_mmio.device=512@0xfeb00e00:12 x=1 \
virtio_mmio.device=4K@0xd0000000:5:3 virtio_mmio.device=junk virtio_mmio.devices=1@2:3";
        let mut found = [None; 3];
        for (slot, device) in found.iter_mut().zip(virtio_mmio_devices(line)) {
            *slot = Some(device);
        }
        assert_eq!(
            found,
            [
                Some(VirtioMmioDevice {
                    size: 512,
                    paddr: 0xfeb0_0e00,
                    irq: 12
                }),
                Some(VirtioMmioDevice {
                    size: 4096,
                    paddr: 0xd000_0000,
                    irq: 5
                }),
                None,
            ]
        );
        assert_eq!(virtio_mmio_devices(b"").count(), 0);
        assert_eq!(virtio_mmio_devices(b"virtio_mmio.device=1@2").count(), 0);
        assert_eq!(
            virtio_mmio_devices(b"virtio_mmio.device=99999999999G@0:1").count(),
            0
        );
    }
}
