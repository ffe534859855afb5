//! Who the workload starts as (`lamina run --user`), carried on the
//! kernel command line as one token, `user=UID:GID` or
//! `user=UID:GID:G1,G2,...` with the supplementary groups.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The command-line key.
pub const KEY: &[u8] = b"user";
/// The most supplementary groups the token carries (the kernel command
/// line is bounded; a user of more groups is refused on the host).
pub const MAX_GROUPS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Identity {
    /// The token's value (after `user=`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "{}:{}", self.uid, self.gid);
        for (i, group) in self.groups.iter().enumerate() {
            let _ = write!(out, "{}{group}", if i == 0 { ':' } else { ',' });
        }
        out
    }

    /// Parses the token's value; None when malformed or beyond
    /// [`MAX_GROUPS`].
    pub fn parse(value: &[u8]) -> Option<Self> {
        let text = core::str::from_utf8(value).ok()?;
        let mut parts = text.splitn(3, ':');
        let uid = parts.next()?.parse().ok()?;
        let gid = parts.next()?.parse().ok()?;
        let mut groups = Vec::new();
        if let Some(list) = parts.next() {
            for group in list.split(',') {
                if groups.len() == MAX_GROUPS {
                    return None;
                }
                groups.push(group.parse().ok()?);
            }
        }
        Some(Self { uid, gid, groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        for identity in [
            Identity {
                uid: 1000,
                gid: 100,
                groups: vec![],
            },
            Identity {
                uid: 0,
                gid: 0,
                groups: vec![4, 27, 4294967294],
            },
        ] {
            assert_eq!(
                Identity::parse(identity.render().as_bytes()),
                Some(identity)
            );
        }
        assert_eq!(
            Identity {
                uid: 7,
                gid: 8,
                groups: vec![9, 10]
            }
            .render(),
            "7:8:9,10"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..],
            b"1",
            b"1:",
            b"x:1",
            b"1:2:",
            b"1:2:3,,4",
            b"-1:2",
            b"4294967296:0",
        ] {
            assert_eq!(Identity::parse(bad), None, "{bad:?}");
        }
        let many: String = (0..=MAX_GROUPS).map(|g| alloc::format!(",{g}")).collect();
        assert_eq!(
            Identity::parse(alloc::format!("1:1:0{many}").as_bytes()),
            None
        );
    }
}
