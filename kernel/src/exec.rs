//! Starting the workload from the root file system: finding PROGRAM (in
//! the workload's PATH when it has no slash), reading it and its ELF
//! interpreter, and the shell's answers when that fails.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::O_RDONLY;
use lamina_elf::Elf;
use spin::Mutex;

use crate::fs::vfs::{self, Last, NoProcess, NodeKind, Resolved};

/// Docker's default PATH, used when the environment has none.
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Bigger programs are refused: the image is held in memory whole.
const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// Why PROGRAM cannot start; the process's exit status and message are
/// the shell's.
#[derive(Debug)]
pub enum ExecError {
    NotFound,
    /// Found but not runnable (a directory, not executable, not ELF, a bad
    /// interpreter), with the reason.
    NotExecutable(&'static str),
    Io(Errno),
}

impl ExecError {
    /// 127 for a missing program, else 126, as a shell gives.
    pub fn status(&self) -> u8 {
        match self {
            Self::NotFound => 127,
            _ => 126,
        }
    }
}

impl core::fmt::Display for ExecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found"),
            Self::NotExecutable(why) => f.write_str(why),
            Self::Io(errno) => write!(f, "cannot read it ({})", errno.name()),
        }
    }
}

/// A program and its interpreter, read from the root.
pub struct Program {
    /// The canonical path (`/proc/self/exe`).
    pub path: Vec<u8>,
    pub image: &'static [u8],
    pub interpreter: Option<&'static [u8]>,
}

/// Finds `name` as `execvp` would, relative to `cwd` when it has a slash,
/// else in the `PATH` of `envp`.
pub fn find(name: &[u8], cwd: &[u8], envp: &[&[u8]]) -> Result<Resolved, ExecError> {
    if name.is_empty() {
        return Err(ExecError::NotFound);
    }
    if name.contains(&b'/') {
        return vfs::resolve(cwd, name, Last::Follow, &NoProcess).map_err(|e| match e {
            Errno::ENOENT | Errno::ENOTDIR => ExecError::NotFound,
            e => ExecError::Io(e),
        });
    }
    let path = envp
        .iter()
        .find_map(|var| var.strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
    let mut refused = None;
    for dir in path.split(|&b| b == b':') {
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let mut candidate = dir.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(name);
        match vfs::resolve(cwd, &candidate, Last::Follow, &NoProcess) {
            Ok(found) if is_executable_file(&found) => return Ok(found),
            // Found but not runnable: remembered, the search goes on.
            Ok(_) => refused = Some(ExecError::NotExecutable("permission denied")),
            Err(_) => {}
        }
    }
    Err(refused.unwrap_or(ExecError::NotFound))
}

fn is_executable_file(found: &Resolved) -> bool {
    found.node.kind() == NodeKind::Regular
        && found.node.stat().is_ok_and(|s| s.st_mode & 0o111 != 0)
}

/// The boot bundle's program: `exec` of its path (or of /proc/self/exe
/// while it runs) loads it again from the bundle, where no root has it.
struct BootProgram {
    path: Vec<u8>,
    image: &'static [u8],
    interpreter: Option<&'static [u8]>,
}

static BOOT_PROGRAM: Mutex<Option<BootProgram>> = Mutex::new(None);

pub fn register_boot_program(
    path: &[u8],
    image: &'static [u8],
    interpreter: Option<&'static [u8]>,
) {
    *BOOT_PROGRAM.lock() = Some(BootProgram {
        path: path.to_vec(),
        image,
        interpreter,
    });
}

/// The boot program, if `path` names it.
pub fn boot_program(path: &[u8]) -> Option<Program> {
    let boot = BOOT_PROGRAM.lock();
    let boot = boot.as_ref()?;
    (boot.path == path).then(|| Program {
        path: boot.path.clone(),
        image: boot.image,
        interpreter: boot.interpreter,
    })
}

/// Program images read so far, by (path, size, modification time, inode):
/// a process image is mapped page by page from its bytes for as long as
/// any process runs it, so the bytes stay; a program run again (a shell
/// running `ls` in a loop) is not read again. A changed file is a new key.
type ImageKey = (Vec<u8>, i64, i64, i64, u64);
static IMAGES: Mutex<BTreeMap<ImageKey, &'static [u8]>> = Mutex::new(BTreeMap::new());

/// Reads the whole file at `found` into memory that lives as long as the
/// kernel (see [`IMAGES`]).
pub fn read_image(found: &Resolved) -> Result<&'static [u8], ExecError> {
    if found.node.kind() == NodeKind::Directory {
        return Err(ExecError::NotExecutable("is a directory"));
    }
    if !is_executable_file(found) {
        return Err(ExecError::NotExecutable("permission denied"));
    }
    let stat = found.node.stat().map_err(ExecError::Io)?;
    let size = stat.st_size.max(0) as u64;
    if size > MAX_IMAGE_BYTES {
        return Err(ExecError::Io(Errno::E2BIG));
    }
    let key = (
        found.path.clone(),
        stat.st_size,
        stat.st_mtime,
        stat.st_mtime_nsec,
        stat.st_ino,
    );
    if let Some(image) = IMAGES.lock().get(&key) {
        return Ok(image);
    }
    let file = alloc::sync::Arc::clone(&found.node)
        .open(O_RDONLY, &NoProcess)
        .map_err(ExecError::Io)?;
    let image =
        crate::arch::phys::leak_frames(size as usize).ok_or(ExecError::Io(Errno::ENOMEM))?;
    let mut done = 0;
    while done < image.len() {
        match file.read(done as u64, &mut image[done..]) {
            Ok(0) => return Err(ExecError::Io(Errno::EIO)),
            Ok(n) => done += n,
            Err(e) => return Err(ExecError::Io(e)),
        }
    }
    IMAGES.lock().insert(key, image);
    Ok(image)
}

/// Loads PROGRAM (and the interpreter it names) from the root.
pub fn load(name: &[u8], cwd: &[u8], envp: &[&[u8]]) -> Result<Program, ExecError> {
    let found = find(name, cwd, envp)?;
    let image = read_image(&found)?;
    let elf = Elf::parse_dynamic(image)
        .map_err(|_| ExecError::NotExecutable("not an executable x86_64 ELF file"))?;
    let interpreter = match elf.interpreter() {
        None => None,
        Some(path) => {
            let interp = vfs::resolve(b"/", path, Last::Follow, &NoProcess).map_err(|_| {
                ExecError::NotExecutable("its ELF interpreter is missing from the root")
            })?;
            let interp_image = read_image(&interp)?;
            Elf::parse(interp_image).map_err(|_| {
                ExecError::NotExecutable("its ELF interpreter is not a static x86_64 ELF")
            })?;
            Some(interp_image)
        }
    };
    Ok(Program {
        path: found.path,
        image,
        interpreter,
    })
}
