//! Ancillary data of `sendmsg` and `recvmsg` (`cmsg(3)`): the control
//! buffer's layout, parsed as Linux's `__scm_send` checks it, and written
//! as `put_cmsg` and `scm_detach_fds` fill it (including how a short
//! buffer truncates).

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::socket::{Ucred, SOL_SOCKET};

pub const SCM_RIGHTS: u32 = 1;
pub const SCM_CREDENTIALS: u32 = 2;
/// The most descriptors one message carries (`SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;
/// `struct cmsghdr`: `cmsg_len` (8 bytes), `cmsg_level`, `cmsg_type`.
pub const CMSG_HDR_LEN: usize = 16;
/// A credentials message's data: `struct ucred`.
const UCRED_LEN: usize = 12;

/// Data lengths round up to 8 bytes (`CMSG_ALIGN`).
pub const fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// `CMSG_LEN`: a message's header and `data_len` bytes.
pub const fn cmsg_len(data_len: usize) -> usize {
    CMSG_HDR_LEN + data_len
}

/// `CMSG_SPACE`: what a message takes in the buffer.
pub const fn cmsg_space(data_len: usize) -> usize {
    CMSG_HDR_LEN + cmsg_align(data_len)
}

/// What a `sendmsg` control buffer asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendControl {
    /// `SCM_RIGHTS`: descriptors to pass, in order.
    pub fds: Vec<i32>,
    /// `SCM_CREDENTIALS`: the credentials the sender gives.
    pub cred: Option<Ucred>,
}

/// Parses a `sendmsg` control buffer: EINVAL for a malformed message, an
/// unknown `SOL_SOCKET` type or more than [`SCM_MAX_FD`] descriptors;
/// messages of other levels are skipped, as Linux does.
pub fn parse(buf: &[u8]) -> Result<SendControl, Errno> {
    let mut control = SendControl::default();
    let mut at = 0;
    while buf.len() - at >= CMSG_HDR_LEN {
        let header = &buf[at..at + CMSG_HDR_LEN];
        let len = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let level = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        let kind = u32::from_le_bytes(header[12..16].try_into().expect("4 bytes"));
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len < CMSG_HDR_LEN || len > buf.len() - at {
            return Err(Errno::EINVAL);
        }
        let data = &buf[at + CMSG_HDR_LEN..at + len];
        if u64::from(level) == SOL_SOCKET {
            match kind {
                SCM_RIGHTS => {
                    let fds = data
                        .chunks_exact(4)
                        .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")));
                    control.fds.extend(fds);
                    if control.fds.len() > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                }
                SCM_CREDENTIALS => {
                    if data.len() != UCRED_LEN {
                        return Err(Errno::EINVAL);
                    }
                    let word = |i: usize| {
                        u32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
                    };
                    control.cred = Some(Ucred {
                        pid: word(0),
                        uid: word(1),
                        gid: word(2),
                    });
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        // The next message starts aligned (`CMSG_NXTHDR`).
        at = at.saturating_add(cmsg_align(len)).min(buf.len());
    }
    Ok(control)
}

/// A `recvmsg` control buffer being filled: `room` bytes at most, as the
/// workload gave `msg_controllen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveControl {
    room: usize,
    pub bytes: Vec<u8>,
    /// Something did not fit (`MSG_CTRUNC`).
    pub truncated: bool,
}

impl ReceiveControl {
    pub fn new(room: usize) -> Self {
        Self {
            room,
            bytes: Vec::new(),
            truncated: false,
        }
    }

    fn left(&self) -> usize {
        self.room - self.bytes.len()
    }

    /// `put_cmsg`: the message, cut to what is left (then truncated);
    /// nothing at all when not even a header fits.
    fn put(&mut self, kind: u32, data: &[u8]) {
        let left = self.left();
        if left < CMSG_HDR_LEN {
            self.truncated = true;
            return;
        }
        let mut len = cmsg_len(data.len());
        if left < len {
            self.truncated = true;
            len = left;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&(len as u64).to_le_bytes());
        self.bytes
            .extend_from_slice(&(SOL_SOCKET as u32).to_le_bytes());
        self.bytes.extend_from_slice(&kind.to_le_bytes());
        self.bytes.extend_from_slice(&data[..len - CMSG_HDR_LEN]);
        let space = cmsg_space(data.len()).min(left);
        self.bytes.resize(start + space, 0);
    }

    /// `SCM_CREDENTIALS` (`scm_recv` with `SO_PASSCRED`).
    pub fn credentials(&mut self, cred: Ucred) {
        let mut data = [0u8; UCRED_LEN];
        data[..4].copy_from_slice(&cred.pid.to_le_bytes());
        data[4..8].copy_from_slice(&cred.uid.to_le_bytes());
        data[8..].copy_from_slice(&cred.gid.to_le_bytes());
        self.put(SCM_CREDENTIALS, &data);
    }

    /// How many of `count` passed descriptors fit (`scm_detach_fds`); the
    /// caller installs that many, then calls [`Self::rights`] with them.
    pub fn rights_room(&self, count: usize) -> usize {
        let left = self.left();
        let fit = if left > CMSG_HDR_LEN {
            (left - CMSG_HDR_LEN) / 4
        } else {
            0
        };
        fit.min(count)
    }

    /// `SCM_RIGHTS` with the descriptors installed (`fds`) out of `count`
    /// passed: the rest were closed, which is `MSG_CTRUNC`.
    pub fn rights(&mut self, fds: &[i32], count: usize) {
        if !fds.is_empty() {
            let data: Vec<u8> = fds.iter().flat_map(|fd| fd.to_le_bytes()).collect();
            let truncated = self.truncated;
            self.put(SCM_RIGHTS, &data);
            // The descriptors fit by construction: only their padding may not.
            self.truncated = truncated;
        }
        if fds.len() < count {
            self.truncated = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn message(level: u32, kind: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(cmsg_len(data.len()) as u64).to_le_bytes());
        out.extend_from_slice(&level.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(data);
        out.resize(cmsg_space(data.len()), 0);
        out
    }

    #[test]
    fn parses_rights_and_credentials() {
        let mut buf = message(1, SCM_RIGHTS, &[3, 0, 0, 0, 7, 0, 0, 0]);
        buf.extend(message(
            1,
            SCM_CREDENTIALS,
            &[5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        ));
        buf.extend(message(6, 99, &[1, 2, 3]));
        let control = parse(&buf).unwrap();
        assert_eq!(control.fds, vec![3, 7]);
        assert_eq!(
            control.cred,
            Some(Ucred {
                pid: 5,
                uid: 0,
                gid: 1
            })
        );
        assert_eq!(parse(&[]).unwrap(), SendControl::default());
        // A buffer shorter than a header holds nothing.
        assert_eq!(parse(&[0; 15]).unwrap(), SendControl::default());
    }

    #[test]
    fn rejects_what_linux_rejects() {
        // A length past the buffer, below a header, an unknown type, bad
        // credentials, too many descriptors.
        let mut long = message(1, SCM_RIGHTS, &[0; 4]);
        long[0] = 64;
        assert_eq!(parse(&long), Err(Errno::EINVAL));
        let mut short = message(1, SCM_RIGHTS, &[0; 4]);
        short[0] = 8;
        assert_eq!(parse(&short), Err(Errno::EINVAL));
        assert_eq!(parse(&message(1, 77, &[])), Err(Errno::EINVAL));
        assert_eq!(
            parse(&message(1, SCM_CREDENTIALS, &[0; 8])),
            Err(Errno::EINVAL)
        );
        let many = vec![0u8; (SCM_MAX_FD + 1) * 4];
        assert_eq!(parse(&message(1, SCM_RIGHTS, &many)), Err(Errno::EINVAL));
    }

    #[test]
    fn receive_truncates_as_linux() {
        let cred = Ucred {
            pid: 9,
            uid: 0,
            gid: 0,
        };
        // Room for both.
        let mut control = ReceiveControl::new(cmsg_space(12) + cmsg_space(8));
        control.credentials(cred);
        assert_eq!(control.rights_room(2), 2);
        control.rights(&[4, 5], 2);
        assert!(!control.truncated);
        assert_eq!(control.bytes.len(), cmsg_space(12) + cmsg_space(8));
        assert_eq!(
            &control.bytes[cmsg_space(12)..],
            &message(1, SCM_RIGHTS, &[4, 0, 0, 0, 5, 0, 0, 0])[..]
        );
        // Room for one descriptor of two.
        let mut control = ReceiveControl::new(cmsg_len(4));
        assert_eq!(control.rights_room(2), 1);
        control.rights(&[4], 2);
        assert!(control.truncated);
        assert_eq!(control.bytes.len(), cmsg_len(4));
        // No room at all.
        let mut control = ReceiveControl::new(0);
        assert_eq!(control.rights_room(1), 0);
        control.rights(&[], 1);
        control.credentials(cred);
        assert!(control.truncated);
        assert!(control.bytes.is_empty());
        // A credentials message cut short.
        let mut control = ReceiveControl::new(20);
        control.credentials(cred);
        assert!(control.truncated);
        assert_eq!(control.bytes.len(), 20);
        assert_eq!(control.bytes[0], 20);
    }
}
