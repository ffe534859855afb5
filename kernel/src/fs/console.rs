//! The standard streams as open-file objects: stdin, stdout and stderr
//! travel over the console line (`crate::console`) and look, to the
//! workload, like a terminal when the host's stream is one, else like a
//! pipe.

use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::Stat;

use lamina_proto::control::Output;

use super::file::FileObject;
use crate::console;
use crate::mm::vm::AddressSpace;

const TTY_MAJOR: u64 = 136;
const PIPE_MODE: u32 = S_IFIFO | 0o600;
const TTY_MODE: u32 = S_IFCHR | 0o620;
/// Device numbers the workload sees: the pty file system's and the pipe
/// file system's, as on a Linux host.
const TTY_DEV: u64 = 0x16;
const PIPE_DEV: u64 = 0xd;
const BLOCK_SIZE: i64 = 4096;

/// Which standard stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdin,
    Stdout,
    Stderr,
    /// `/dev/tty`: reads stdin, writes stdout.
    Terminal,
}

/// One standard stream.
#[derive(Debug)]
pub struct ConsoleStream {
    stream: Stream,
    /// The host's stream is a terminal.
    tty: bool,
}

impl ConsoleStream {
    pub fn new(stream: Stream, tty: bool) -> Self {
        Self { stream, tty }
    }

    /// Whether this stream is the terminal (`crate::fs::tty`).
    pub fn is_tty(&self) -> bool {
        self.tty
    }

    /// Whether reads and writes go through the terminal's discipline.
    fn disciplined(&self) -> bool {
        self.tty && super::tty::active()
    }
}

impl FileObject for ConsoleStream {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if !matches!(self.stream, Stream::Stdin | Stream::Terminal) {
            return Err(Errno::EBADF);
        }
        if self.disciplined() {
            return super::tty::read(buf);
        }
        console::try_read_stdin(buf).ok_or(Errno::EAGAIN)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if self.disciplined() {
            return match self.stream {
                Stream::Stdout | Stream::Terminal => super::tty::write(Output::Stdout, data),
                Stream::Stderr => super::tty::write(Output::Stderr, data),
                Stream::Stdin => Err(Errno::EBADF),
            };
        }
        match self.stream {
            Stream::Stdout | Stream::Terminal => console::write_output(Output::Stdout, data),
            Stream::Stderr => console::write_output(Output::Stderr, data),
            Stream::Stdin => Err(Errno::EBADF),
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            st_dev: if self.tty { TTY_DEV } else { PIPE_DEV },
            st_ino: self.stream as u64 + 1,
            st_nlink: 1,
            st_mode: if self.tty { TTY_MODE } else { PIPE_MODE },
            st_rdev: if self.tty { TTY_MAJOR << 8 } else { 0 },
            st_blksize: BLOCK_SIZE,
            ..Stat::default()
        })
    }

    /// A terminal's requests are `crate::fs::tty::ioctl`'s (they need the
    /// caller's process group); a stream that is not one answers ENOTTY.
    fn ioctl(&self, request: u64, arg: u64, mm: &mut AddressSpace) -> Result<u64, Errno> {
        match request {
            FIONREAD if matches!(self.stream, Stream::Stdin | Stream::Terminal) => {
                let waiting = console::stdin_pending() as u32;
                mm.copy_out(arg, &waiting.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    /// Readers wait for stdin, writers for room on the channel (`/dev/tty`
    /// does both on stdin's queue, which the channel wakes too).
    fn wait_queue(&self) -> Option<&crate::task::wait::WaitQueue> {
        match self.stream {
            Stream::Stdin | Stream::Terminal => Some(&console::STDIN_QUEUE),
            Stream::Stdout | Stream::Stderr => console::output_queue(),
        }
    }

    fn poll(&self, events: u16) -> u16 {
        let (data, hung_up) = match self.stream {
            Stream::Stdin | Stream::Terminal if self.disciplined() => {
                let (_, readable, hung_up) = super::tty::input_state();
                (readable, hung_up)
            }
            Stream::Stdin | Stream::Terminal => console::stdin_poll(),
            Stream::Stdout | Stream::Stderr => (false, false),
        };
        // As for a pipe: readable while bytes wait, hung up (whatever was
        // asked) once the writer is gone.
        let readable = if data { events & POLLIN } else { 0 };
        let stopped = self.disciplined() && super::tty::output_stopped();
        let writable = if self.stream == Stream::Stdin || !console::output_writable() || stopped {
            0
        } else {
            events & POLLOUT
        };
        readable | writable | if hung_up { POLLHUP } else { 0 }
    }
}
