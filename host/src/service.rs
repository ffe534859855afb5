//! The contract between the supervisor's event loop (`run`) and the
//! services that speak a channel's protocol (the net proxy today; later
//! a 9P server over vsock). The loop owns the channel's socket and moves
//! bytes; a service owns its protocol state and its own host sources
//! (sockets, listeners), registered on the loop's `mio` registry under
//! tokens from the range the loop gave it.
//!
//! Everything runs on the loop's one thread: no locks, no tasks. A
//! service never blocks: host sockets are non-blocking and each step does
//! what is ready now.

use std::fmt;

/// A service's tokens: `first..first + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRange {
    pub first: usize,
    pub count: usize,
}

impl TokenRange {
    pub fn contains(&self, token: mio::Token) -> bool {
        (self.first..self.first + self.count).contains(&token.0)
    }
}

/// The guest broke the channel's protocol (a malformed frame, credit
/// overrun, an unknown id): the loop closes that channel and prints the
/// message as one line. Never a panic: the guest is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError(pub String);

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServiceError {}

/// One channel's host end.
pub trait ChannelService {
    /// Bytes that arrived from the guest on the channel, in order, split
    /// anywhere (the service reassembles frames).
    #[allow(
        clippy::wrong_self_convention,
        reason = "bytes from the guest, not a conversion"
    )]
    fn from_guest(&mut self, registry: &mio::Registry, bytes: &[u8]) -> Result<(), ServiceError>;

    /// Bytes for the guest, appended since the loop last took them. The
    /// loop writes what the channel takes and removes that many from the
    /// front (`drain(..n)`); what is left goes first next time.
    fn output(&mut self) -> &mut Vec<u8>;

    /// One of this service's sources (a token in its range) is ready.
    /// `mio` is edge-triggered: the service reads or writes until
    /// `WouldBlock`, or remembers that it stopped early.
    fn ready(&mut self, registry: &mio::Registry, event: &mio::event::Event);

    /// The channel has gone (the VM ended, or the guest broke the
    /// protocol): close every host source.
    fn shutdown(&mut self, registry: &mio::Registry);
}
