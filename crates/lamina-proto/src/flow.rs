//! Credit-based flow control, per stream: a receiver grants credit for
//! what it is willing to buffer, and a sender never sends past it. Many
//! sockets share one channel, so the transport's own back-pressure would
//! let one slow reader stall every socket; with credits a slow reader only
//! stops its own stream, and neither side ever buffers more than the
//! window it chose. (The vsock and SSH channel windows work the same way.)
//!
//! Every stream starts with no credit in either direction; each side
//! opens its receive window with a first Credit message. Units are bytes,
//! except on a listening socket, where one unit is one accepted connection
//! (its backlog).

use crate::channel::ChannelError;

/// Largest window a receiver may open on one stream; credit that would
/// let the sender exceed it is a protocol error.
pub const MAX_WINDOW: u32 = 16 << 20;

/// The sender's side of one stream: how much the peer has agreed to take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCredit {
    available: u32,
}

impl SendCredit {
    /// No credit: nothing may be sent until the peer grants some.
    pub const fn new() -> Self {
        Self { available: 0 }
    }

    pub const fn available(&self) -> u32 {
        self.available
    }

    /// A Credit message arrived.
    pub fn grant(&mut self, amount: u32) -> Result<(), ChannelError> {
        match self.available.checked_add(amount) {
            Some(total) if total <= MAX_WINDOW => {
                self.available = total;
                Ok(())
            }
            _ => Err(ChannelError::CreditOverflow),
        }
    }

    /// Spends credit for up to `want` units and returns how many may go
    /// now (0: wait for a Credit; on a non-blocking socket, EAGAIN).
    pub fn take(&mut self, want: usize) -> usize {
        let n = self.available.min(u32::try_from(want).unwrap_or(u32::MAX));
        self.available -= n;
        n as usize
    }

    /// Spends credit for exactly `len` units, or none when there is not
    /// enough: for a datagram, which goes whole or not at all.
    pub fn take_exact(&mut self, len: usize) -> bool {
        match u32::try_from(len) {
            Ok(n) if n <= self.available => {
                self.available -= n;
                true
            }
            _ => false,
        }
    }
}

/// The receiver's side of one stream. It keeps
/// `granted + buffered <= window`: units the sender may still send, plus
/// units received and not yet read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvWindow {
    window: u32,
    granted: u32,
    buffered: u32,
}

impl RecvWindow {
    /// A receiver that buffers at most `window` units (clamped to
    /// `1..=`[`MAX_WINDOW`]). Nothing is granted until [`Self::open`].
    pub fn new(window: u32) -> Self {
        Self {
            window: window.clamp(1, MAX_WINDOW),
            granted: 0,
            buffered: 0,
        }
    }

    /// The first credit to send when the stream opens: the whole window.
    pub fn open(&mut self) -> u32 {
        let free = self.free();
        self.granted += free;
        free
    }

    /// `len` units arrived. More than was granted is the peer's protocol
    /// error (a hostile or broken sender), and ends the channel.
    pub fn receive(&mut self, len: usize) -> Result<(), ChannelError> {
        let exceeded = ChannelError::CreditExceeded {
            len,
            credit: self.granted,
        };
        let n = u32::try_from(len).map_err(|_| exceeded)?;
        if n > self.granted {
            return Err(exceeded);
        }
        self.granted -= n;
        self.buffered += n;
        Ok(())
    }

    /// The reader took `len` units out of the buffer. Returns the credit
    /// to send, once the free part of the window is worth a message (half
    /// of it: a bulk stream costs one Credit per half window).
    pub fn consume(&mut self, len: usize) -> Option<u32> {
        let n = u32::try_from(len).unwrap_or(u32::MAX).min(self.buffered);
        debug_assert_eq!(n as usize, len, "consumed more than was buffered");
        self.buffered -= n;
        let free = self.free();
        if free == 0 || free < self.window.div_ceil(2) {
            return None;
        }
        self.granted += free;
        Some(free)
    }

    /// Units received and not yet read.
    pub const fn buffered(&self) -> u32 {
        self.buffered
    }

    /// Units the sender may still send.
    pub const fn granted(&self) -> u32 {
        self.granted
    }

    const fn free(&self) -> u32 {
        self.window - self.granted - self.buffered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_spends_only_what_was_granted() {
        let mut credit = SendCredit::new();
        assert_eq!(credit.take(100), 0);
        credit.grant(60).unwrap();
        assert_eq!(credit.take(100), 60);
        assert_eq!(credit.take(1), 0);
        credit.grant(10).unwrap();
        assert!(!credit.take_exact(11));
        assert!(credit.take_exact(10));
        assert_eq!(credit.available(), 0);
        assert_eq!(credit.grant(MAX_WINDOW), Ok(()));
        assert_eq!(credit.grant(1), Err(ChannelError::CreditOverflow));
        assert_eq!(credit.grant(u32::MAX), Err(ChannelError::CreditOverflow));
        assert_eq!(credit.available(), MAX_WINDOW);
        assert_eq!(credit.take(usize::MAX), MAX_WINDOW as usize);
    }

    #[test]
    fn receiver_holds_the_sender_to_its_window() {
        let mut window = RecvWindow::new(1000);
        assert_eq!(
            window.receive(1),
            Err(ChannelError::CreditExceeded { len: 1, credit: 0 })
        );
        assert_eq!(window.open(), 1000);
        assert_eq!(window.open(), 0);
        window.receive(600).unwrap();
        window.receive(400).unwrap();
        assert_eq!(
            window.receive(1),
            Err(ChannelError::CreditExceeded { len: 1, credit: 0 })
        );
        assert_eq!(window.buffered(), 1000);
        // Small reads do not each cost a Credit message.
        assert_eq!(window.consume(100), None);
        assert_eq!(window.consume(399), None);
        assert_eq!(window.consume(1), Some(500));
        assert_eq!((window.granted(), window.buffered()), (500, 500));
        assert_eq!(window.consume(500), Some(500));
        assert_eq!(
            window.receive(1001),
            Err(ChannelError::CreditExceeded {
                len: 1001,
                credit: 1000
            })
        );
    }

    /// A slow reader: the sender stalls at the window, and the buffer
    /// never grows past it however much the sender wants to send.
    #[test]
    fn slow_reader_bounds_the_buffer() {
        let mut window = RecvWindow::new(4096);
        let mut credit = SendCredit::new();
        credit.grant(window.open()).unwrap();
        let mut to_send = 1usize << 20;
        let mut read = 0usize;
        while read < 1 << 20 {
            let n = credit.take(to_send.min(1500));
            if n > 0 {
                window.receive(n).unwrap();
                to_send -= n;
            }
            assert!(window.buffered() <= 4096);
            // The reader takes 100 bytes at a time.
            let r = (window.buffered() as usize).min(100);
            read += r;
            if let Some(grant) = window.consume(r) {
                credit.grant(grant).unwrap();
            }
        }
        assert_eq!(to_send, 0);
    }

    #[test]
    fn listener_backlog_of_one() {
        let mut backlog = RecvWindow::new(1);
        assert_eq!(backlog.open(), 1);
        backlog.receive(1).unwrap();
        assert!(backlog.receive(1).is_err());
        assert_eq!(backlog.consume(1), Some(1));
        assert_eq!(RecvWindow::new(0).open(), 1);
        assert_eq!(RecvWindow::new(u32::MAX).open(), MAX_WINDOW);
    }
}
