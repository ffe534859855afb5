//! lamina's stdin, read without blocking the event loop, for whichever
//! carrier the guest asked on (the ctl channel or the serial console).

use std::io;

/// What one attempt to read lamina's stdin gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinRead {
    /// This many bytes, at the start of the buffer.
    Data(usize),
    /// Nothing now; the loop waits for stdin to become readable.
    NotReady,
    /// End of file (or an error, which ends stdin the same way).
    Eof,
}

/// Reads lamina's stdin without blocking: `poll` with a zero timeout says
/// whether a `read` would block (pipes, terminals and sockets; regular
/// files and `/dev/null` are always ready). stdin's file status flags are
/// shared with whoever else holds it (the shell's terminal), so lamina
/// does not set `O_NONBLOCK` on it.
pub fn read_stdin(buf: &mut [u8]) -> StdinRead {
    use rustix::event::{poll, PollFd, PollFlags};
    let stdin = rustix::stdio::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    match poll(&mut fds, Some(&rustix::event::Timespec::default())) {
        Ok(0) => return StdinRead::NotReady,
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return StdinRead::NotReady,
        Err(err) => {
            tracing::info!("polling stdin failed: {err}; sending end of file");
            return StdinRead::Eof;
        }
    }
    loop {
        return match rustix::io::read(stdin, &mut *buf) {
            Ok(0) => StdinRead::Eof,
            Ok(n) => StdinRead::Data(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => StdinRead::NotReady,
            Err(err) => {
                let err = io::Error::from(err);
                tracing::info!("reading stdin failed: {err}; sending end of file");
                StdinRead::Eof
            }
        };
    }
}
