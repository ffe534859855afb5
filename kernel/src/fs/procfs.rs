//! `/proc`: what workloads and their tools read about themselves and the
//! machine. The one process is PID 1; `self` links to it.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use lamina_abi::dirent::DT_LNK;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};

use super::file::FileObject;
use super::synth::{self, SynthDir, SynthFile, SynthFs, SynthLink};
use super::vfs::{self, DirEntry, DirFile, Node, NodeKind, NodeRef, ProcessView};
use crate::time;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const PID_NAME: &[u8] = b"1";
/// Inode numbers of /proc/1/fd's entries: any nonzero, stable value.
const FD_INO_BASE: u64 = 0x1000;

/// Builds `/proc`.
pub fn new() -> NodeRef {
    let fs = SynthFs::new(PROC_SUPER_MAGIC);
    let fd_dir: NodeRef = Arc::new(FdDir {
        fs,
        ino: vfs::next_ino(),
    });
    let pid_dir: NodeRef = SynthDir::new(
        fs,
        vec![
            (
                &b"exe"[..],
                SynthLink::new(fs, |ctx| Ok(ctx.exe_path())) as NodeRef,
            ),
            (b"fd", fd_dir),
            (b"maps", SynthFile::new(fs, |ctx| Ok(ctx.maps()))),
            (b"cmdline", SynthFile::new(fs, |ctx| Ok(ctx.cmdline()))),
            (b"mounts", SynthFile::new(fs, |_| Ok(mounts()))),
        ],
    );
    SynthDir::new(
        fs,
        vec![
            (PID_NAME, pid_dir),
            (b"self", SynthLink::fixed(fs, PID_NAME)),
            (b"meminfo", SynthFile::new(fs, |_| Ok(meminfo()))),
            (b"cpuinfo", SynthFile::new(fs, |_| Ok(cpuinfo()))),
            (b"mounts", SynthFile::new(fs, |_| Ok(mounts()))),
            (b"uptime", SynthFile::new(fs, |_| Ok(uptime()))),
        ],
    )
}

fn meminfo() -> Vec<u8> {
    let (free, total) = crate::mm::frame::stats();
    let kib = |frames: u64| frames * 4;
    format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\n\
         Buffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\n\
         SwapFree:              0 kB\n",
        kib(total),
        kib(free),
        kib(free)
    )
    .into_bytes()
}

fn cpuinfo() -> Vec<u8> {
    let (vendor, brand) = crate::arch::cpu::identity();
    let text = |bytes: &[u8]| {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        core::str::from_utf8(&bytes[..end])
            .unwrap_or("")
            .trim()
            .into()
    };
    let vendor: alloc::string::String = text(&vendor);
    let brand: alloc::string::String = text(&brand);
    let mhz = time::tsc_khz() / 1000;
    format!(
        "processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: {brand}\ncpu MHz\t\t: {mhz}.000\n\
         cpu cores\t: 1\nsiblings\t: 1\nflags\t\t: fpu tsc cx8 cmov mmx fxsr sse sse2 syscall nx lm\n\n"
    )
    .into_bytes()
}

fn mounts() -> Vec<u8> {
    let mut out = Vec::new();
    for (path, kind) in vfs::mount_table() {
        out.extend_from_slice(kind);
        out.push(b' ');
        out.extend_from_slice(&path);
        out.push(b' ');
        out.extend_from_slice(kind);
        out.extend_from_slice(b" rw 0 0\n");
    }
    out
}

fn uptime() -> Vec<u8> {
    let ns = time::monotonic_ns();
    let centis = ns / 10_000_000;
    format!("{}.{:02} 0.00\n", centis / 100, centis % 100).into_bytes()
}

/// `/proc/1/fd`: one symlink per open descriptor.
struct FdDir {
    fs: SynthFs,
    ino: u64,
}

fn fd_entries(ctx: &dyn ProcessView) -> Vec<(u64, Vec<u8>)> {
    ctx.fd_targets()
}

impl Node for FdDir {
    fn kind(&self) -> NodeKind {
        NodeKind::Directory
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.stat(self.ino, S_IFDIR | 0o500, 2))
    }

    fn lookup(&self, name: &[u8], ctx: &dyn ProcessView) -> Result<NodeRef, Errno> {
        let fd: u64 = core::str::from_utf8(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or(Errno::ENOENT)?;
        let target = fd_entries(ctx)
            .into_iter()
            .find(|(n, _)| *n == fd)
            .map(|(_, target)| target)
            .ok_or(Errno::ENOENT)?;
        Ok(SynthLink::new(self.fs, move |_| Ok(target.clone())))
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        // The listing is taken now: descriptors are the process's, which a
        // later getdents64 cannot see.
        let mut entries = Vec::new();
        synth::list(
            self.ino,
            fd_entries(ctx)
                .into_iter()
                // A zero inode would mark the entry deleted (libc skips it).
                .map(|(fd, _)| (format!("{fd}").into_bytes(), FD_INO_BASE + fd, DT_LNK)),
            0,
            &mut |entry: DirEntry| {
                entries.push(entry);
                true
            },
        );
        Ok(DirFile::with_listing(self, entries))
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.fs.statfs())
    }

    fn fs_id(&self) -> usize {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}
