//! Wire formats shared by the guest kernel and the host CLI.
//!
//! Both sides link this crate, so the formats cannot drift. Everything here
//! is pure: encode and decode over byte slices, with every length that comes
//! from the other side bounded before it is trusted.
//!
//! - [`bundle`]: the boot bundle that carries the workload in.
//! - [`frame`]: the console framing on the serial port.
//! - [`channel`]: framing and the Hello handshake of the named channels,
//!   whatever transport carries them; [`net`] (forwarded sockets) and
//!   [`control`] (stdio, exit status) are the messages on them, and
//!   [`flow`] the credit windows that bound every stream.
//! - [`trace`]: the records of `lamina run --trace`, carried on "ctl" or
//!   in console frames.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod bundle;
pub mod channel;
pub mod control;
pub mod flow;
pub mod frame;
pub mod identity;
pub mod net;
pub mod trace;
mod wire;

/// Hostile input: random bytes and random corruptions of valid encodings
/// must come back as errors, never as panics (the host decodes whatever
/// the guest sends, and the guest decodes what the host sends).
#[cfg(test)]
mod hostile_input {
    use crate::bundle::Bundle;
    use crate::channel::{Channel, ChannelError, Frame, FrameDecoder, Hello};
    use crate::frame::{self, Decoder, ExitStatus};
    use crate::trace::{Missing, TraceRecord};
    use crate::{control, net};
    use alloc::vec;
    use alloc::vec::Vec;

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_and_mutated_input_never_panics() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let valid = Bundle {
            exe_path: b"/bin/x",
            cwd: b"/",
            argv: vec![b"x".as_slice(), b"--flag".as_slice()],
            envp: vec![b"A=1".as_slice()],
            mounts: vec![b"9p vol0 /data".as_slice()],
            files: vec![(
                b"/etc/hosts".as_slice(),
                b"127.0.0.1 localhost\n".as_slice(),
            )],
            program: &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0],
        }
        .encode();
        let mut frames = Vec::new();
        frame::encode(1, b"hello", |p| frames.extend_from_slice(p));
        frame::encode(4, &ExitStatus::Exited(3).encode(), |p| {
            frames.extend_from_slice(p)
        });
        let mut record = Vec::new();
        crate::trace::tests::openat_record().encode(&mut record);
        frame::encode(frame::GuestKind::Trace as u8, &record, |p| {
            frames.extend_from_slice(p)
        });
        let mut missing = Vec::new();
        crate::trace::tests::every_missing()[0].encode(&mut missing);
        frame::encode(frame::GuestKind::Missing as u8, &missing, |p| {
            frames.extend_from_slice(p)
        });
        for round in 0..20_000 {
            let mut bytes = if round % 2 == 0 {
                valid.clone()
            } else {
                frames.clone()
            };
            for _ in 0..(rng.next() % 8) {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = rng.next() as u8;
            }
            bytes.truncate((rng.next() as usize) % (bytes.len() + 1));
            if round % 5 == 0 {
                bytes = (0..rng.next() % 300).map(|_| rng.next() as u8).collect();
            }
            let _ = Bundle::decode(&bytes);
            let mut decoder = Decoder::new();
            for &b in &bytes {
                if let Some(Ok(f)) = decoder.push(b) {
                    let _ = ExitStatus::decode(f.payload);
                    // Whatever decodes re-encodes to the same bytes.
                    let mut again = Vec::new();
                    if let Ok(r) = TraceRecord::decode(f.payload) {
                        r.encode(&mut again);
                        assert_eq!(again, f.payload);
                    }
                    again.clear();
                    if let Ok(m) = Missing::decode(f.payload) {
                        m.encode(&mut again);
                        assert_eq!(again, f.payload);
                    }
                }
            }
        }
    }

    /// Decodes one frame every way a channel can; whatever decodes must
    /// re-encode to exactly the frame's bytes. Returns whether any did.
    fn decode_frame_every_way(frame: Frame<'_>, bytes: &[u8]) -> bool {
        let mut decoded = false;
        let mut again = Vec::new();
        let mut check = |ok: bool, again: &mut Vec<u8>| {
            if ok {
                assert_eq!(again.as_slice(), bytes);
                decoded = true;
            }
            again.clear();
        };
        if let Ok(hello) = Hello::decode(frame) {
            hello.encode(&mut again);
            check(true, &mut again);
        }
        if let Ok(msg) = net::GuestMsg::decode(frame) {
            check(msg.encode(&mut again).is_ok(), &mut again);
        }
        if let Ok(msg) = net::HostMsg::decode(frame) {
            check(msg.encode(&mut again).is_ok(), &mut again);
        }
        if let Ok(msg) = control::GuestMsg::decode(frame) {
            check(msg.encode(&mut again).is_ok(), &mut again);
        }
        if let Ok(msg) = control::HostMsg::decode(frame) {
            check(msg.encode(&mut again).is_ok(), &mut again);
        }
        decoded
    }

    /// Random, corrupted and cut channel streams, fed to the stream
    /// decoder in random pieces: errors, never panics, and every message
    /// that decodes is exactly what its bytes say.
    #[test]
    fn channel_streams_never_panic() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut below = |n: usize| (rng.next() % n.max(1) as u64) as usize;
        let mut corpus: Vec<Vec<u8>> = Vec::new();
        for channel in Channel::ALL {
            let mut out = Vec::new();
            Hello::new(channel).encode(&mut out);
            corpus.push(out);
        }
        let mut push = |encoded: Result<(), ChannelError>, out: Vec<u8>| {
            encoded.unwrap();
            corpus.push(out);
        };
        for msg in net::tests::every_guest_msg() {
            let mut out = Vec::new();
            push(msg.encode(&mut out), out);
        }
        for msg in net::tests::every_host_msg() {
            let mut out = Vec::new();
            push(msg.encode(&mut out), out);
        }
        for msg in control::tests::every_guest_msg() {
            let mut out = Vec::new();
            push(msg.encode(&mut out), out);
        }
        for msg in control::tests::every_host_msg() {
            let mut out = Vec::new();
            push(msg.encode(&mut out), out);
        }
        // Short frames mutate into interesting things far more often than
        // the 64 KiB ones, so those are the ones picked.
        corpus.retain(|bytes| bytes.len() < 512);
        let mut decoded = 0;
        for round in 0..20_000 {
            // One to three frames back to back.
            let mut bytes = Vec::new();
            for _ in 0..1 + below(3) {
                bytes.extend_from_slice(&corpus[below(corpus.len())]);
            }
            match round % 5 {
                0 => {
                    for _ in 0..1 + below(4) {
                        let at = below(bytes.len());
                        bytes[at] ^= 1 << below(8);
                    }
                }
                1 => {
                    for _ in 0..1 + below(4) {
                        let at = below(bytes.len());
                        bytes[at] = below(256) as u8;
                    }
                }
                // A length field (or any 2 or 4 bytes) set huge or off by a little.
                2 => {
                    let at = below(bytes.len().saturating_sub(4));
                    let value: u32 = match below(4) {
                        0 => u32::MAX,
                        1 => 0x0001_0041,
                        2 => 0,
                        _ => (bytes.len() - at - 4 + below(8)).saturating_sub(4) as u32,
                    };
                    let width = if below(2) == 0 { 2 } else { 4 };
                    let end = (at + width).min(bytes.len());
                    bytes[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
                }
                3 => bytes.truncate(below(bytes.len() + 1)),
                // Random bytes behind a plausible header.
                _ => {
                    let len = below(100);
                    bytes = (0..len + 5).map(|_| below(256) as u8).collect();
                    bytes[..4].copy_from_slice(&(len as u32 + 1).to_le_bytes());
                    bytes[4] = below(20) as u8;
                }
            }
            // In place.
            if let Ok(Some((frame, used))) = Frame::split(&bytes) {
                decoded += usize::from(decode_frame_every_way(frame, &bytes[..used]));
            }
            // Through the stream decoder, in pieces.
            let mut decoder = FrameDecoder::new();
            let mut rest = &bytes[..];
            let mut start = 0;
            while !rest.is_empty() {
                let piece = 1 + below(rest.len());
                let (used, got) = decoder.feed(&rest[..piece]);
                rest = &rest[used..];
                match got {
                    Ok(Some(frame)) => {
                        let end = bytes.len() - rest.len();
                        decode_frame_every_way(frame, &bytes[start..end]);
                        start = end;
                    }
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
            let _ = decoder.finish();
        }
        assert!(decoded > 1000, "only {decoded} inputs decoded");
    }
}
