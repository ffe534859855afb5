//! Programs and processes: loading an ELF (and its interpreter) into a
//! fresh address space with its initial stack, the first task, and the
//! view a system call has of its caller ([`Process`]).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::args::{page_round_down, page_round_up};
use lamina_abi::auxv::*;
use lamina_abi::cred::Credentials;
use lamina_abi::errno::Errno;
use lamina_abi::stack::{build_initial_stack, StackArgs};
use lamina_abi::types::{KernelSigaction, StackT};
use lamina_elf::{Elf, ElfKind};
use spin::{Mutex, MutexGuard};

use crate::arch::cpu;
use crate::arch::phys::PAGE_SIZE;
use crate::arch::user::UserContext;
use crate::fs::fd::FdTable;
use crate::mm::shared::SharedMappings;
use crate::mm::vm::{AddressSpace, ImageBacking, Prot, MMAP_MIN, STACK_SIZE, STACK_TOP};
use crate::task::{FsContext, Group, Memory, Task, SIGNALS};

/// Where a static-PIE (ET_DYN) image is placed: Linux's ELF_ET_DYN_BASE
/// without randomisation.
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Cap on argv + envp + auxv on the initial stack (Linux: a quarter of the stack rlimit).
const MAX_ARG_BYTES: usize = (STACK_SIZE / 4) as usize;
/// Clock ticks a second (`AT_CLKTCK`), the unit of /proc's times.
pub const USER_HZ: u64 = 100;
/// What a container's init starts with.
const DEFAULT_UMASK: u32 = 0o022;

pub use crate::fs::fd::Ttys;

/// What a system call works on: the calling task, with the parts it
/// shares with other tasks locked for the call (one CPU, and a call never
/// blocks inside: nothing else can want them meanwhile).
pub struct Process<'a> {
    pub task: &'a mut Task,
    pub mm: MutexGuard<'a, AddressSpace>,
    pub shared_maps: MutexGuard<'a, SharedMappings>,
    pub fds: MutexGuard<'a, FdTable>,
    pub fs: MutexGuard<'a, FsContext>,
}

impl core::ops::Deref for Process<'_> {
    type Target = Task;
    fn deref(&self) -> &Task {
        self.task
    }
}

impl core::ops::DerefMut for Process<'_> {
    fn deref_mut(&mut self) -> &mut Task {
        self.task
    }
}

/// A loaded program: its address space and first registers.
pub struct Image {
    pub mm: AddressSpace,
    pub ctx: UserContext,
}

/// Why the workload cannot start.
#[derive(Debug)]
pub enum LoadError {
    Elf(lamina_elf::ElfError),
    /// A segment below `vm.mmap_min_addr`, which a container cannot map.
    BelowMinAddress(u64),
    Memory(Errno),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Elf(e) => write!(f, "{e}"),
            Self::BelowMinAddress(addr) => write!(
                f,
                "a segment at {addr:#x} is below the lowest mappable address {MMAP_MIN:#x} (vm.mmap_min_addr)"
            ),
            Self::Memory(Errno::E2BIG) => f.write_str("argument list too long"),
            Self::Memory(Errno::ENOMEM) => f.write_str("out of memory"),
            Self::Memory(e) => write!(f, "cannot load the program ({})", e.name()),
        }
    }
}

impl From<Errno> for LoadError {
    fn from(e: Errno) -> Self {
        Self::Memory(e)
    }
}

fn union(a: Prot, b: Prot) -> Prot {
    Prot {
        read: a.read || b.read,
        write: a.write || b.write,
        exec: a.exec || b.exec,
    }
}

fn prot_of(flags: lamina_elf::SegmentFlags) -> Prot {
    Prot {
        read: flags.read,
        write: flags.write,
        exec: flags.exec,
    }
}

/// Maps `elf`'s segments at `bias` into `mm`: each page filled from its
/// segment on first touch (a program uses a small part of its image), a
/// page two segments share written now with the union of their rights.
/// Returns the end of the highest segment.
fn map_elf(mm: &mut AddressSpace, elf: &Elf<'static>, bias: u64) -> Result<u64, LoadError> {
    // Regions first. Segments are sorted by address (ELF requires it).
    let mut regions: Vec<(u64, u64, Prot, Option<ImageBacking>)> = Vec::new();
    for seg in elf.load_segments() {
        let mut start = page_round_down(bias + seg.vaddr);
        // lamina-elf keeps every segment below the user limit: no overflow.
        let end = page_round_up(bias + seg.vaddr + seg.memsz).unwrap_or(u64::MAX);
        let prot = prot_of(seg.flags);
        if let Some(last) = regions.last_mut() {
            if start < last.1 && start >= last.0 {
                // Two segments' bytes in one page: no single backing
                // describes it, so it is written below, now.
                let shared = (start, last.1.min(end), union(last.2, prot), None);
                last.1 = start;
                regions.push(shared);
                start = shared.1;
            }
        }
        if start < end {
            let image = ImageBacking {
                vaddr: bias + seg.vaddr,
                data: elf.segment_data(&seg),
            };
            regions.push((start, end, prot, Some(image)));
        }
    }
    regions.retain(|&(s, e, _, _)| s < e);
    for &(s, e, p, image) in &regions {
        if s < MMAP_MIN {
            return Err(LoadError::BelowMinAddress(s));
        }
        if !mm.is_free(s, e) {
            return Err(LoadError::Elf(lamina_elf::ElfError::BadSegment));
        }
        match image {
            Some(image) => mm.insert_image(s, e, p, image)?,
            None => mm.insert(s, e, p)?,
        }
    }
    for seg in elf.load_segments() {
        let segment = ImageBacking {
            vaddr: bias + seg.vaddr,
            data: elf.segment_data(&seg),
        };
        for &(s, e, _, _) in regions.iter().filter(|r| r.3.is_none()) {
            if let Some((at, bytes)) = segment.bytes_in(s, e) {
                mm.write_initial(at, bytes)?;
            }
        }
    }
    Ok(regions.iter().map(|r| r.1).max().unwrap_or(PIE_BASE))
}

impl Image {
    /// Loads `image` and prepares its first instruction. The image must
    /// outlive the process: its pages are read from it on demand.
    pub fn load(
        image: &'static [u8],
        interpreter: Option<&'static [u8]>,
        argv: &[&[u8]],
        envp: &[&[u8]],
        exe_path: &[u8],
        creds: &Credentials,
    ) -> Result<Self, LoadError> {
        let elf = if interpreter.is_some() {
            Elf::parse_dynamic(image)
        } else {
            Elf::parse(image)
        }
        .map_err(LoadError::Elf)?;
        let bias = match elf.kind() {
            ElfKind::Exec => 0,
            ElfKind::DynPie => PIE_BASE - elf.span().0,
        };
        let mut mm = AddressSpace::new()?;
        let image_end = map_elf(&mut mm, &elf, bias)?;
        mm.set_brk_base(image_end);
        // The interpreter goes where mmap would put it (top down), as
        // Linux's loader does; it starts first and loads the libraries.
        let (entry, interp_base) = match interpreter {
            None => (bias + elf.entry(), 0),
            Some(interp_image) => {
                let interp = Elf::parse(interp_image).map_err(LoadError::Elf)?;
                let (lo, hi) = interp.span();
                let len = page_round_up(hi - page_round_down(lo)).ok_or(Errno::ENOMEM)?;
                let base = mm.find_free(len).ok_or(Errno::ENOMEM)?;
                let interp_bias = base - page_round_down(lo);
                map_elf(&mut mm, &interp, interp_bias)?;
                (interp_bias + interp.entry(), interp_bias)
            }
        };

        mm.insert(
            STACK_TOP - STACK_SIZE,
            STACK_TOP,
            Prot {
                read: true,
                write: true,
                exec: false,
            },
        )?;
        let features = cpu::features();
        let auxv = [
            (AT_PHDR, bias + elf.phdr_vaddr().unwrap_or(0)),
            (AT_PHENT, u64::from(elf.phentsize())),
            (AT_PHNUM, u64::from(elf.phnum())),
            (AT_PAGESZ, PAGE_SIZE),
            (AT_BASE, interp_base),
            (AT_FLAGS, 0),
            (AT_ENTRY, bias + elf.entry()),
            (AT_UID, u64::from(creds.uid)),
            (AT_EUID, u64::from(creds.euid)),
            (AT_GID, u64::from(creds.gid)),
            (AT_EGID, u64::from(creds.egid)),
            (AT_SECURE, 0),
            (AT_HWCAP, u64::from(features.hwcap)),
            (AT_HWCAP2, 0),
            (AT_CLKTCK, USER_HZ),
        ];
        let mut random = [0u8; 16];
        crate::random::fill(&mut random);
        let stack = build_initial_stack(
            STACK_TOP,
            &StackArgs {
                argv,
                envp,
                execfn: argv.first().copied().unwrap_or(exe_path),
                platform: b"x86_64",
                random,
                auxv: &auxv,
            },
            MAX_ARG_BYTES,
        )?;
        mm.write_initial(stack.sp, &stack.bytes)?;
        // The strings sit at the top of the stack in the order the
        // builder places them: argv's, envp's, the platform, execfn.
        let strings_len =
            |strings: &[&[u8]]| strings.iter().map(|s| s.len() as u64 + 1).sum::<u64>();
        let execfn = argv.first().copied().unwrap_or(exe_path);
        let strings_start =
            STACK_TOP - strings_len(argv) - strings_len(envp) - strings_len(&[b"x86_64", execfn]);
        let env_start = strings_start + strings_len(argv);
        mm.set_env_range(env_start, env_start + strings_len(envp));

        let ctx = UserContext {
            rip: entry,
            rsp: stack.sp,
            ..UserContext::default()
        };
        Ok(Image { mm, ctx })
    }
}

/// A new process's task (the first one: PID 1) for `image`.
pub fn first_task(
    image: Image,
    exe_path: &[u8],
    argv: &[&[u8]],
    cwd: &[u8],
    ttys: Ttys,
) -> Box<Task> {
    let cmdline = argv
        .iter()
        .flat_map(|arg| arg.iter().copied().chain([0]))
        .collect();
    let pid = crate::task::with_tables(|t| t.alloc_tid());
    Box::new(Task {
        tid: pid,
        group: Group::new(
            pid,
            exe_path.to_vec(),
            cmdline,
            crate::syscall::default_rlimits(),
        ),
        ctx: image.ctx,
        fpu: crate::task::signal::initial_fpu(),
        fs_base: 0,
        gs_base: 0,
        sigmask: 0,
        pending: 0,
        saved_sigmask: None,
        altstack: StackT {
            ss_flags: lamina_abi::flags::SS_DISABLE,
            ..StackT::default()
        },
        clear_child_tid: 0,
        robust_list: (0, 0),
        rseq: None,
        mem: Memory::new(image.mm),
        files: Arc::new(Mutex::new(FdTable::standard(ttys))),
        fs: Arc::new(Mutex::new(FsContext {
            cwd: cwd.to_vec(),
            umask: DEFAULT_UMASK,
        })),
        sigactions: Arc::new(Mutex::new([KernelSigaction::default(); SIGNALS])),
        state: crate::task::State::Runnable,
        in_syscall: false,
        restart: Default::default(),
        vfork_parent: None,
        mark_tsc: 0,
        yield_after_call: false,
    })
}

impl crate::fs::vfs::ProcessView for Process<'_> {
    fn caller(&self) -> Option<crate::fs::vfs::Caller<'_>> {
        Some(crate::fs::vfs::Caller {
            task: self.task,
            mm: &self.mm,
            fds: &self.fds,
            fs: &self.fs,
        })
    }

    fn fd_object(&self, fd: u64) -> Option<alloc::sync::Arc<dyn crate::fs::file::FileObject>> {
        self.fds
            .file(fd)
            .ok()
            .map(|file| alloc::sync::Arc::clone(&file.object))
    }
}
