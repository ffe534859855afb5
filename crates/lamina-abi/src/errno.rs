//! Linux error numbers (`include/uapi/asm-generic/errno-base.h`, `errno.h`).

macro_rules! errnos {
    ($($name:ident = $val:literal,)*) => {
        /// A Linux error number. A failing syscall returns `-errno` in `rax`
        /// ([`Errno::to_return`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum Errno {
            $($name = $val,)*
        }

        impl Errno {
            /// Every variant, in ascending order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            /// The symbolic name, e.g. `"ENOENT"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The variant for a positive error number, if lamina knows it.
            pub const fn from_raw(raw: i32) -> Option<Errno> {
                match raw {
                    $($val => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    ENODATA = 61,
    ETIME = 62,
    EPROTO = 71,
    EBADMSG = 74,
    EOVERFLOW = 75,
    EILSEQ = 84,
    ERESTART = 85,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EPFNOSUPPORT = 96,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ENETRESET = 102,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ESHUTDOWN = 108,
    ETOOMANYREFS = 109,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
    ESTALE = 116,
    EDQUOT = 122,
    ECANCELED = 125,
    EOWNERDEAD = 130,
    ENOTRECOVERABLE = 131,
    // Kernel-internal (never returned to user space): the call must wait
    // and then run again (Linux's own value).
    ERESTARTSYS = 512,
}

impl Errno {
    /// `EWOULDBLOCK` is `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `ENOTSUP` is `EOPNOTSUPP` on Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;
    /// `EDEADLOCK` is `EDEADLK` on x86_64.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// The positive error number.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The value a failing syscall leaves in `rax`: `-errno` as two's
    /// complement, in `0xffff_ffff_ffff_f001..=0xffff_ffff_ffff_ffff`.
    pub const fn to_return(self) -> u64 {
        (-(self as i64)) as u64
    }

    /// Decodes a raw syscall return value: `Some(errno)` if `rax` holds
    /// `-errno` for a known error (the range `-4095..=-1`), `None` for a
    /// success value.
    pub const fn from_return(rax: u64) -> Option<Errno> {
        let v = rax as i64;
        if v < 0 && v >= -4095 {
            Errno::from_raw((-v) as i32)
        } else {
            None
        }
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_are_negative_errno() {
        assert_eq!(Errno::EPERM.to_return(), u64::MAX);
        assert_eq!(Errno::ENOENT.to_return(), 0xffff_ffff_ffff_fffe);
        assert_eq!(Errno::ENOSYS.to_return() as i64, -38);
        assert_eq!(Errno::ENOTRECOVERABLE.to_return() as i64, -131);
        for &e in Errno::ALL {
            assert_eq!(Errno::from_return(e.to_return()), Some(e));
            assert_eq!(Errno::from_raw(e.as_i32()), Some(e));
        }
        assert_eq!(Errno::from_return(0), None);
        assert_eq!(Errno::from_return(4096), None);
        assert_eq!(Errno::from_return((-4096i64) as u64), None);
    }

    #[test]
    fn names_and_values() {
        assert_eq!(Errno::EAGAIN.name(), "EAGAIN");
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::ETIMEDOUT as i32, 110);
        assert_eq!(Errno::ECONNREFUSED as i32, 111);
        assert_eq!(Errno::EOVERFLOW as i32, 75);
        assert_eq!(Errno::ENODATA as i32, 61);
        assert_eq!(Errno::from_raw(0), None);
        assert_eq!(Errno::from_raw(41), None);
        // ALL is sorted and unique.
        assert!(Errno::ALL.windows(2).all(|w| (w[0] as i32) < (w[1] as i32)));
    }
}
