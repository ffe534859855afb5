//! Wire formats shared by the guest kernel and the host CLI.
//!
//! Both sides link this crate, so the formats cannot drift. Everything here
//! is pure: encode and decode over byte slices, with every length that comes
//! from the other side bounded before it is trusted.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod bundle;
pub mod frame;

/// Hostile input: random bytes and random corruptions of valid encodings
/// must come back as errors, never as panics (the host decodes whatever
/// the guest sends, and the guest decodes what the host sends).
#[cfg(test)]
mod hostile_input {
    use crate::bundle::Bundle;
    use crate::frame::{self, Decoder, ExitStatus};
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
            program: &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0],
        }
        .encode();
        let mut frames = Vec::new();
        frame::encode(1, b"hello", |p| frames.extend_from_slice(p));
        frame::encode(4, &ExitStatus::Exited(3).encode(), |p| {
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
                }
            }
        }
    }
}
