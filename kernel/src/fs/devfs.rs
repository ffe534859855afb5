//! `/dev`: the character devices a workload expects (null, zero, full,
//! random, urandom, tty) and the links to its standard streams.

use alloc::sync::Arc;
use alloc::vec;
use core::sync::atomic::{AtomicBool, Ordering};
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Stat, Statfs};

use super::console::{ConsoleStream, Stream};
use super::file::FileObject;
use super::synth::{SynthDir, SynthFs, SynthLink};
use super::vfs::{self, Node, NodeKind, NodeRef, ProcessView};

/// devtmpfs reports TMPFS_MAGIC.
const DEVFS_MAGIC: i64 = 0x0102_1994;

/// Whether the host's stdin and stdout are terminals: `/dev/tty` opens
/// only then (else ENXIO, as for a process without a controlling terminal).
static CONSOLE_IS_TTY: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
    Tty,
    /// `/dev/console`: the same terminal, whoever opens it.
    Console,
}

impl Device {
    /// (major, minor) as Linux numbers them (`Documentation/admin-guide/devices.txt`).
    fn numbers(self) -> (u64, u64) {
        match self {
            Self::Null => (1, 3),
            Self::Zero => (1, 5),
            Self::Full => (1, 7),
            Self::Random => (1, 8),
            Self::Urandom => (1, 9),
            Self::Tty => (5, 0),
            Self::Console => (5, 1),
        }
    }
}

struct DeviceNode {
    fs: SynthFs,
    ino: u64,
    device: Device,
}

impl Node for DeviceNode {
    fn kind(&self) -> NodeKind {
        NodeKind::CharDevice
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let (major, minor) = self.device.numbers();
        Ok(Stat {
            st_rdev: major << 8 | minor,
            ..self.fs.stat(self.ino, S_IFCHR | 0o666, 1)
        })
    }

    fn open(
        self: Arc<Self>,
        flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        if matches!(self.device, Device::Tty | Device::Console) {
            if !CONSOLE_IS_TTY.load(Ordering::Relaxed) {
                return Err(Errno::ENXIO);
            }
            // `/dev/tty` is the caller's controlling terminal: none, ENXIO.
            let controlling = ctx
                .caller()
                .is_none_or(|caller| super::tty::is_controlling_terminal_of(caller.task.pid()));
            if self.device == Device::Tty && !controlling {
                return Err(Errno::ENXIO);
            }
            let stream = match flags & O_ACCMODE {
                O_RDONLY => Stream::Stdin,
                O_WRONLY => Stream::Stdout,
                _ => Stream::Terminal,
            };
            return Ok(Arc::new(ConsoleStream::new(stream, true)));
        }
        Ok(Arc::new(DeviceFile { node: self }))
    }

    fn setattr(&self, _attr: &vfs::SetAttr) -> Result<(), Errno> {
        Ok(())
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

struct DeviceFile {
    node: Arc<DeviceNode>,
}

impl FileObject for DeviceFile {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.node.device {
            Device::Null => Ok(0),
            Device::Zero | Device::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Device::Random | Device::Urandom => {
                crate::random::fill(buf);
                Ok(buf.len())
            }
            Device::Tty | Device::Console => Err(Errno::EIO),
        }
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        match self.node.device {
            Device::Full => Err(Errno::ENOSPC),
            _ => Ok(data.len()),
        }
    }

    fn seekable(&self) -> bool {
        // Seeking a character device succeeds and means nothing.
        true
    }

    fn size(&self) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn poll(&self, events: u16) -> u16 {
        events & (POLLIN | POLLOUT)
    }

    fn node(&self) -> Option<NodeRef> {
        Some(Arc::clone(&self.node) as NodeRef)
    }
}

/// `/dev/stdin`, `/dev/stdout`, `/dev/stderr`: opening one opens what the
/// process has at descriptor 0, 1 or 2 (a console stream, a file), as
/// Linux's links through /proc/self/fd do; logs written to /dev/stdout
/// reach lamina's stdout. (They are device nodes here, not symlinks.)
struct StandardStream {
    fs: SynthFs,
    ino: u64,
    fd: u64,
}

impl Node for StandardStream {
    fn kind(&self) -> NodeKind {
        NodeKind::CharDevice
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fs.stat(self.ino, S_IFCHR | 0o620, 1))
    }

    fn open(
        self: Arc<Self>,
        _flags: u32,
        ctx: &dyn ProcessView,
    ) -> Result<Arc<dyn FileObject>, Errno> {
        ctx.fd_object(self.fd).ok_or(Errno::ENXIO)
    }

    fn setattr(&self, _attr: &vfs::SetAttr) -> Result<(), Errno> {
        Ok(())
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

/// Builds `/dev`; `console_is_tty` says whether `/dev/tty` may open.
pub fn new(console_is_tty: bool) -> NodeRef {
    CONSOLE_IS_TTY.store(console_is_tty, Ordering::Relaxed);
    let fs = SynthFs::new(DEVFS_MAGIC);
    let standard = |fd| -> NodeRef {
        Arc::new(StandardStream {
            fs,
            ino: vfs::next_ino(),
            fd,
        })
    };
    let device = |device| -> NodeRef {
        Arc::new(DeviceNode {
            fs,
            ino: vfs::next_ino(),
            device,
        })
    };
    SynthDir::new(
        fs,
        vec![
            (&b"null"[..], device(Device::Null)),
            (b"zero", device(Device::Zero)),
            (b"full", device(Device::Full)),
            (b"random", device(Device::Random)),
            (b"urandom", device(Device::Urandom)),
            (b"tty", device(Device::Tty)),
            (b"console", device(Device::Console)),
            (b"fd", SynthLink::fixed(fs, b"/proc/self/fd")),
            (b"stdin", standard(0)),
            (b"stdout", standard(1)),
            (b"stderr", standard(2)),
        ],
    )
}
