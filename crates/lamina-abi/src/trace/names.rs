//! Names of flag bits and values as strace prints them. Values that the
//! kernel also uses come from [`crate::flags`] and [`crate::socket`]; the
//! rest are only ever shown, so they live here with their header's name.

use crate::flags::*;
use crate::socket::*;

/// A flag set: `(bits, name)`, multi-bit entries before the bits they
/// contain (they are matched in order).
pub(super) type Flags = &'static [(u64, &'static str)];
/// A value: `(value, name)`.
pub(super) type Values = &'static [(u64, &'static str)];

pub(super) fn value_name(table: Values, v: u64) -> Option<&'static str> {
    table.iter().find(|&&(x, _)| x == v).map(|&(_, n)| n)
}

/// The name of signal `signo` (`SIGINT`, `SIGRTMIN`, `SIGRT_3`), as strace
/// numbers the real-time signals (from the kernel's 32, not the C
/// library's).
pub fn signal_name(signo: u64) -> Option<&'static str> {
    const NAMES: [&str; 65] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
        "SIGRTMIN",
        "SIGRT_1",
        "SIGRT_2",
        "SIGRT_3",
        "SIGRT_4",
        "SIGRT_5",
        "SIGRT_6",
        "SIGRT_7",
        "SIGRT_8",
        "SIGRT_9",
        "SIGRT_10",
        "SIGRT_11",
        "SIGRT_12",
        "SIGRT_13",
        "SIGRT_14",
        "SIGRT_15",
        "SIGRT_16",
        "SIGRT_17",
        "SIGRT_18",
        "SIGRT_19",
        "SIGRT_20",
        "SIGRT_21",
        "SIGRT_22",
        "SIGRT_23",
        "SIGRT_24",
        "SIGRT_25",
        "SIGRT_26",
        "SIGRT_27",
        "SIGRT_28",
        "SIGRT_29",
        "SIGRT_30",
        "SIGRT_31",
        "SIGRT_32",
    ];
    match signo {
        1..=64 => Some(NAMES[signo as usize]),
        _ => None,
    }
}

/// The name of an ioctl request (`TCGETS`), for the trace and for the
/// "not implemented" summary.
pub fn ioctl_name(request: u64) -> Option<&'static str> {
    value_name(IOCTLS, request & 0xffff_ffff)
}

const IOCTLS: Values = &[
    (TCGETS, "TCGETS"),
    (TCSETS, "TCSETS"),
    (TCSETSW, "TCSETSW"),
    (TCSETSF, "TCSETSF"),
    (0x5405, "TCGETA"),
    (0x5406, "TCSETA"),
    (0x5407, "TCSETAW"),
    (0x5408, "TCSETAF"),
    (0x5409, "TCSBRK"),
    (0x540a, "TCXONC"),
    (0x540b, "TCFLSH"),
    (0x540c, "TIOCEXCL"),
    (0x540d, "TIOCNXCL"),
    (TIOCSCTTY, "TIOCSCTTY"),
    (TIOCGPGRP, "TIOCGPGRP"),
    (TIOCSPGRP, "TIOCSPGRP"),
    (0x5411, "TIOCOUTQ"),
    (0x5412, "TIOCSTI"),
    (TIOCGWINSZ, "TIOCGWINSZ"),
    (TIOCSWINSZ, "TIOCSWINSZ"),
    (0x5415, "TIOCMGET"),
    (0x5416, "TIOCMBIS"),
    (0x5417, "TIOCMBIC"),
    (0x5418, "TIOCMSET"),
    (0x5419, "TIOCGSOFTCAR"),
    (0x541a, "TIOCSSOFTCAR"),
    (FIONREAD, "FIONREAD"),
    (0x541c, "TIOCLINUX"),
    (0x541d, "TIOCCONS"),
    (0x541e, "TIOCGSERIAL"),
    (0x541f, "TIOCSSERIAL"),
    (0x5420, "TIOCPKT"),
    (FIONBIO, "FIONBIO"),
    (TIOCNOTTY, "TIOCNOTTY"),
    (0x5423, "TIOCSETD"),
    (0x5424, "TIOCGETD"),
    (0x5425, "TCSBRKP"),
    (0x5427, "TIOCSBRK"),
    (0x5428, "TIOCCBRK"),
    (0x5429, "TIOCGSID"),
    (0x802c_542a, "TCGETS2"),
    (0x402c_542b, "TCSETS2"),
    (0x402c_542c, "TCSETSW2"),
    (0x402c_542d, "TCSETSF2"),
    (0x8004_5430, "TIOCGPTN"),
    (0x4004_5431, "TIOCSPTLCK"),
    (0x8004_5432, "TIOCGDEV"),
    (0x4004_5436, "TIOCSIG"),
    (0x5437, "TIOCVHANGUP"),
    (0x8004_5438, "TIOCGPKT"),
    (0x8004_5439, "TIOCGPTLCK"),
    (0x8004_5440, "TIOCGEXCL"),
    (0x5441, "TIOCGPTPEER"),
    (FIONCLEX, "FIONCLEX"),
    (FIOCLEX, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x5456, "TIOCGLCKTRMIOS"),
    (0x5457, "TIOCSLCKTRMIOS"),
    (0x5459, "TIOCSERGETLSR"),
    (0x5460, "FIOQSIZE"),
    (0x8901, "FIOSETOWN"),
    (0x8902, "SIOCSPGRP"),
    (0x8903, "FIOGETOWN"),
    (0x8904, "SIOCGPGRP"),
    (0x8905, "SIOCATMARK"),
    (0x8910, "SIOCGIFNAME"),
    (0x8912, "SIOCGIFCONF"),
    (0x8913, "SIOCGIFFLAGS"),
    (0x8914, "SIOCSIFFLAGS"),
    (0x8915, "SIOCGIFADDR"),
    (0x891b, "SIOCGIFNETMASK"),
    (0x8921, "SIOCGIFMTU"),
    (0x8927, "SIOCGIFHWADDR"),
    (0x8933, "SIOCGIFINDEX"),
    (0x8008_6601, "FS_IOC_GETFLAGS"),
    (0x4008_6602, "FS_IOC_SETFLAGS"),
    (0x4004_9409, "FICLONE"),
    (0x8008_1272, "BLKGETSIZE64"),
    (0x8004_5200, "RNDGETENTCNT"),
];

pub(super) const OPEN_FLAGS: Flags = &[
    (O_CREAT as u64, "O_CREAT"),
    (O_EXCL as u64, "O_EXCL"),
    (O_NOCTTY as u64, "O_NOCTTY"),
    (O_TRUNC as u64, "O_TRUNC"),
    (O_APPEND as u64, "O_APPEND"),
    (O_NONBLOCK as u64, "O_NONBLOCK"),
    (O_SYNC as u64, "O_SYNC"),
    (O_DSYNC as u64, "O_DSYNC"),
    (O_ASYNC as u64, "O_ASYNC"),
    (O_DIRECT as u64, "O_DIRECT"),
    (O_LARGEFILE as u64, "O_LARGEFILE"),
    (O_TMPFILE as u64, "O_TMPFILE"),
    (O_DIRECTORY as u64, "O_DIRECTORY"),
    (O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (O_NOATIME as u64, "O_NOATIME"),
    (O_CLOEXEC as u64, "O_CLOEXEC"),
    (O_PATH as u64, "O_PATH"),
];

pub(super) const ACCESS_MODES: Values = &[
    (O_RDONLY as u64, "O_RDONLY"),
    (O_WRONLY as u64, "O_WRONLY"),
    (O_RDWR as u64, "O_RDWR"),
    (O_ACCMODE as u64, "O_ACCMODE"),
];

/// `R_OK` and friends of `access`; 0 is `F_OK`.
pub(super) const ACCESS_BITS: Flags = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

pub(super) const AT_FLAGS: Flags = &[
    (AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
    (AT_REMOVEDIR as u64, "AT_REMOVEDIR"),
    (AT_SYMLINK_FOLLOW as u64, "AT_SYMLINK_FOLLOW"),
    (AT_NO_AUTOMOUNT as u64, "AT_NO_AUTOMOUNT"),
    (AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
    (AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"),
    (AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"),
    (0x8000, "AT_RECURSIVE"),
];
/// `faccessat2` reads 0x200 as `AT_EACCESS`, not `AT_REMOVEDIR`.
pub(super) const ACCESS_AT_FLAGS: Flags = &[
    (AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
    (AT_EACCESS as u64, "AT_EACCESS"),
    (AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
];
pub(super) const AT_STATX_FORCE_SYNC: u64 = 0x2000;
pub(super) const AT_STATX_DONT_SYNC: u64 = 0x4000;
pub(super) const AT_STATX_SYNC_TYPE: u64 = AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC;

pub(super) const STATX_MASK: Flags = &[
    (0xfff, "STATX_ALL"),
    (STATX_BASIC_STATS as u64, "STATX_BASIC_STATS"),
    (STATX_TYPE as u64, "STATX_TYPE"),
    (STATX_MODE as u64, "STATX_MODE"),
    (STATX_NLINK as u64, "STATX_NLINK"),
    (STATX_UID as u64, "STATX_UID"),
    (STATX_GID as u64, "STATX_GID"),
    (STATX_ATIME as u64, "STATX_ATIME"),
    (STATX_MTIME as u64, "STATX_MTIME"),
    (STATX_CTIME as u64, "STATX_CTIME"),
    (STATX_INO as u64, "STATX_INO"),
    (STATX_SIZE as u64, "STATX_SIZE"),
    (STATX_BLOCKS as u64, "STATX_BLOCKS"),
    (STATX_BTIME as u64, "STATX_BTIME"),
    (STATX_MNT_ID as u64, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
];

pub(super) const FILE_TYPES: Values = &[
    (S_IFSOCK as u64, "S_IFSOCK"),
    (S_IFLNK as u64, "S_IFLNK"),
    (S_IFREG as u64, "S_IFREG"),
    (S_IFBLK as u64, "S_IFBLK"),
    (S_IFDIR as u64, "S_IFDIR"),
    (S_IFCHR as u64, "S_IFCHR"),
    (S_IFIFO as u64, "S_IFIFO"),
];
pub(super) const MODE_SPECIAL_BITS: Flags = &[
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
];

pub(super) const PROT: Flags = &[
    (MmapProt::READ.bits(), "PROT_READ"),
    (MmapProt::WRITE.bits(), "PROT_WRITE"),
    (MmapProt::EXEC.bits(), "PROT_EXEC"),
    (MmapProt::SEM.bits(), "PROT_SEM"),
    (MmapProt::GROWSDOWN.bits(), "PROT_GROWSDOWN"),
    (MmapProt::GROWSUP.bits(), "PROT_GROWSUP"),
];

pub(super) const MAP_SHARING: Values = &[
    (MmapFlags::SHARED.bits(), "MAP_SHARED"),
    (MmapFlags::PRIVATE.bits(), "MAP_PRIVATE"),
    (MmapFlags::SHARED_VALIDATE.bits(), "MAP_SHARED_VALIDATE"),
];
pub(super) const MAP_FLAGS: Flags = &[
    (MmapFlags::FIXED.bits(), "MAP_FIXED"),
    (MmapFlags::ANONYMOUS.bits(), "MAP_ANONYMOUS"),
    (MmapFlags::LOW32.bits(), "MAP_32BIT"),
    (MmapFlags::GROWSDOWN.bits(), "MAP_GROWSDOWN"),
    (MmapFlags::DENYWRITE.bits(), "MAP_DENYWRITE"),
    (MmapFlags::EXECUTABLE.bits(), "MAP_EXECUTABLE"),
    (MmapFlags::LOCKED.bits(), "MAP_LOCKED"),
    (MmapFlags::NORESERVE.bits(), "MAP_NORESERVE"),
    (MmapFlags::POPULATE.bits(), "MAP_POPULATE"),
    (MmapFlags::NONBLOCK.bits(), "MAP_NONBLOCK"),
    (MmapFlags::STACK.bits(), "MAP_STACK"),
    (MmapFlags::HUGETLB.bits(), "MAP_HUGETLB"),
    (MmapFlags::SYNC.bits(), "MAP_SYNC"),
    (MmapFlags::FIXED_NOREPLACE.bits(), "MAP_FIXED_NOREPLACE"),
];
pub(super) const MREMAP_FLAGS: Flags = &[
    (MremapFlags::MAYMOVE.bits(), "MREMAP_MAYMOVE"),
    (MremapFlags::FIXED.bits(), "MREMAP_FIXED"),
    (MremapFlags::DONTUNMAP.bits(), "MREMAP_DONTUNMAP"),
];
pub(super) const MSYNC_FLAGS: Flags = &[(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")];
pub(super) const MADVICE: Values = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (100, "MADV_HWPOISON"),
];
pub(super) const MLOCKALL_FLAGS: Flags =
    &[(1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT")];

pub(super) const CLONE_FLAGS: Flags = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x1_0000, "CLONE_THREAD"),
    (0x2_0000, "CLONE_NEWNS"),
    (0x4_0000, "CLONE_SYSVSEM"),
    (0x8_0000, "CLONE_SETTLS"),
    (0x10_0000, "CLONE_PARENT_SETTID"),
    (0x20_0000, "CLONE_CHILD_CLEARTID"),
    (0x40_0000, "CLONE_DETACHED"),
    (0x80_0000, "CLONE_UNTRACED"),
    (0x100_0000, "CLONE_CHILD_SETTID"),
    (0x200_0000, "CLONE_NEWCGROUP"),
    (0x400_0000, "CLONE_NEWUTS"),
    (0x800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
    (0x1_0000_0000, "CLONE_CLEAR_SIGHAND"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
];
pub(super) const CLONE_PIDFD: u64 = 0x1000;
pub(super) const CLONE_SETTLS: u64 = 0x8_0000;
pub(super) const CLONE_PARENT_SETTID: u64 = 0x10_0000;
pub(super) const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
pub(super) const CLONE_CHILD_SETTID: u64 = 0x100_0000;
/// The low byte of `clone`'s flags: the signal sent to the parent at exit.
pub(super) const CSIGNAL: u64 = 0xff;

pub(super) const WAIT_OPTIONS: Flags = &[
    (WNOHANG, "WNOHANG"),
    (WUNTRACED, "WUNTRACED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x100_0000, "WNOWAIT"),
    (0x2000_0000, "__WNOTHREAD"),
    (0x4000_0000, "__WALL"),
    (0x8000_0000, "__WCLONE"),
];
pub(super) const IDTYPES: Values = &[(0, "P_ALL"), (1, "P_PID"), (2, "P_PGID"), (3, "P_PIDFD")];

pub(super) const SIGPROCMASK_HOW: Values = &[
    (SIG_BLOCK, "SIG_BLOCK"),
    (SIG_UNBLOCK, "SIG_UNBLOCK"),
    (SIG_SETMASK, "SIG_SETMASK"),
];
pub(super) const SA_FLAGS: Flags = &[
    (SA_RESTORER, "SA_RESTORER"),
    (SA_ONSTACK, "SA_ONSTACK"),
    (SA_RESTART, "SA_RESTART"),
    (SA_NODEFER, "SA_NODEFER"),
    (SA_RESETHAND, "SA_RESETHAND"),
    (SA_SIGINFO, "SA_SIGINFO"),
    (SA_NOCLDSTOP, "SA_NOCLDSTOP"),
    (SA_NOCLDWAIT, "SA_NOCLDWAIT"),
];
pub(super) const SS_FLAGS: Flags = &[
    (SS_ONSTACK as u64, "SS_ONSTACK"),
    (SS_DISABLE as u64, "SS_DISABLE"),
];

pub(super) const FCNTL_CMDS: Values = &[
    (F_DUPFD, "F_DUPFD"),
    (F_GETFD, "F_GETFD"),
    (F_SETFD, "F_SETFD"),
    (F_GETFL, "F_GETFL"),
    (F_SETFL, "F_SETFL"),
    (F_GETLK, "F_GETLK"),
    (F_SETLK, "F_SETLK"),
    (F_SETLKW, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"),
    (F_SETPIPE_SZ, "F_SETPIPE_SZ"),
    (F_GETPIPE_SZ, "F_GETPIPE_SZ"),
    (F_ADD_SEALS, "F_ADD_SEALS"),
    (F_GET_SEALS, "F_GET_SEALS"),
];
pub(super) const F_ADD_SEALS: u64 = 1033;
pub(super) const F_GET_SEALS: u64 = 1034;
pub(super) const F_OFD_GETLK: u64 = 36;
pub(super) const F_OFD_SETLK: u64 = 37;
pub(super) const F_OFD_SETLKW: u64 = 38;
pub(super) const FD_FLAGS: Flags = &[(FD_CLOEXEC as u64, "FD_CLOEXEC")];
pub(super) const SEALS: Flags = &[
    (1, "F_SEAL_SEAL"),
    (2, "F_SEAL_SHRINK"),
    (4, "F_SEAL_GROW"),
    (8, "F_SEAL_WRITE"),
    (0x10, "F_SEAL_FUTURE_WRITE"),
];
pub(super) const LOCK_TYPES: Values = &[(0, "F_RDLCK"), (1, "F_WRLCK"), (2, "F_UNLCK")];
pub(super) const FLOCK_OPS: Flags = &[
    (1, "LOCK_SH"),
    (2, "LOCK_EX"),
    (4, "LOCK_NB"),
    (8, "LOCK_UN"),
];

pub(super) const WHENCE: Values = &[
    (SEEK_SET, "SEEK_SET"),
    (SEEK_CUR, "SEEK_CUR"),
    (SEEK_END, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

pub(super) const CLOCKS: Values = &[
    (CLOCK_REALTIME, "CLOCK_REALTIME"),
    (CLOCK_MONOTONIC, "CLOCK_MONOTONIC"),
    (CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"),
    (CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"),
    (CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"),
    (CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"),
    (CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"),
    (CLOCK_BOOTTIME, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (11, "CLOCK_TAI"),
];
pub(super) const TIMER_FLAGS: Flags = &[(TIMER_ABSTIME, "TIMER_ABSTIME")];
pub(super) const TFD_SETTIME_FLAGS: Flags =
    &[(1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")];
pub(super) const ITIMERS: Values = &[
    (0, "ITIMER_REAL"),
    (1, "ITIMER_VIRTUAL"),
    (2, "ITIMER_PROF"),
];

pub(super) const FUTEX_CMDS: Values = &[
    (FUTEX_WAIT, "FUTEX_WAIT"),
    (FUTEX_WAKE, "FUTEX_WAKE"),
    (FUTEX_FD, "FUTEX_FD"),
    (FUTEX_REQUEUE, "FUTEX_REQUEUE"),
    (FUTEX_CMP_REQUEUE, "FUTEX_CMP_REQUEUE"),
    (FUTEX_WAKE_OP, "FUTEX_WAKE_OP"),
    (FUTEX_LOCK_PI, "FUTEX_LOCK_PI"),
    (FUTEX_UNLOCK_PI, "FUTEX_UNLOCK_PI"),
    (FUTEX_TRYLOCK_PI, "FUTEX_TRYLOCK_PI"),
    (FUTEX_WAIT_BITSET, "FUTEX_WAIT_BITSET"),
    (FUTEX_WAKE_BITSET, "FUTEX_WAKE_BITSET"),
    (FUTEX_WAIT_REQUEUE_PI, "FUTEX_WAIT_REQUEUE_PI"),
    (FUTEX_CMP_REQUEUE_PI, "FUTEX_CMP_REQUEUE_PI"),
    (FUTEX_LOCK_PI2, "FUTEX_LOCK_PI2"),
];

pub(super) const RESOURCES: Values = &[
    (RLIMIT_CPU, "RLIMIT_CPU"),
    (RLIMIT_FSIZE, "RLIMIT_FSIZE"),
    (RLIMIT_DATA, "RLIMIT_DATA"),
    (RLIMIT_STACK, "RLIMIT_STACK"),
    (RLIMIT_CORE, "RLIMIT_CORE"),
    (RLIMIT_RSS, "RLIMIT_RSS"),
    (RLIMIT_NPROC, "RLIMIT_NPROC"),
    (RLIMIT_NOFILE, "RLIMIT_NOFILE"),
    (RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
    (RLIMIT_AS, "RLIMIT_AS"),
    (RLIMIT_LOCKS, "RLIMIT_LOCKS"),
    (RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
    (RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
    (RLIMIT_NICE, "RLIMIT_NICE"),
    (RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
    (RLIMIT_RTTIME, "RLIMIT_RTTIME"),
];
pub(super) const RUSAGE_WHO: Values = &[
    (0, "RUSAGE_SELF"),
    (u64::MAX, "RUSAGE_CHILDREN"),
    (1, "RUSAGE_THREAD"),
];
pub(super) const PRIO_WHICH: Values = &[(0, "PRIO_PROCESS"), (1, "PRIO_PGRP"), (2, "PRIO_USER")];

pub(super) const ARCH_PRCTL_CODES: Values = &[
    (ARCH_SET_GS, "ARCH_SET_GS"),
    (ARCH_SET_FS, "ARCH_SET_FS"),
    (ARCH_GET_FS, "ARCH_GET_FS"),
    (ARCH_GET_GS, "ARCH_GET_GS"),
    (ARCH_GET_CPUID, "ARCH_GET_CPUID"),
    (ARCH_SET_CPUID, "ARCH_SET_CPUID"),
    (0x2001, "ARCH_MAP_VDSO_X32"),
    (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"),
    (0x4001, "ARCH_GET_UNTAG_MASK"),
    (0x4002, "ARCH_ENABLE_TAGGED_ADDR"),
    (0x4003, "ARCH_GET_MAX_TAG_BITS"),
    (0x4004, "ARCH_FORCE_TAGGED_SVA"),
    (0x5001, "ARCH_SHSTK_ENABLE"),
    (0x5002, "ARCH_SHSTK_DISABLE"),
    (0x5003, "ARCH_SHSTK_LOCK"),
    (0x5004, "ARCH_SHSTK_UNLOCK"),
    (0x5005, "ARCH_SHSTK_STATUS"),
];

pub(super) const PR_SET_NAME: u64 = 15;
pub(super) const PR_GET_NAME: u64 = 16;
pub(super) const PR_SET_VMA: u64 = 0x5356_4d41;
pub(super) const PRCTL_OPTIONS: Values = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (5, "PR_GET_UNALIGN"),
    (6, "PR_SET_UNALIGN"),
    (7, "PR_GET_KEEPCAPS"),
    (8, "PR_SET_KEEPCAPS"),
    (9, "PR_GET_FPEMU"),
    (10, "PR_SET_FPEMU"),
    (11, "PR_GET_FPEXC"),
    (12, "PR_SET_FPEXC"),
    (13, "PR_GET_TIMING"),
    (14, "PR_SET_TIMING"),
    (PR_SET_NAME, "PR_SET_NAME"),
    (PR_GET_NAME, "PR_GET_NAME"),
    (19, "PR_GET_ENDIAN"),
    (20, "PR_SET_ENDIAN"),
    (21, "PR_GET_SECCOMP"),
    (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"),
    (24, "PR_CAPBSET_DROP"),
    (25, "PR_GET_TSC"),
    (26, "PR_SET_TSC"),
    (27, "PR_GET_SECUREBITS"),
    (28, "PR_SET_SECUREBITS"),
    (29, "PR_SET_TIMERSLACK"),
    (30, "PR_GET_TIMERSLACK"),
    (31, "PR_TASK_PERF_EVENTS_DISABLE"),
    (32, "PR_TASK_PERF_EVENTS_ENABLE"),
    (33, "PR_MCE_KILL"),
    (34, "PR_MCE_KILL_GET"),
    (35, "PR_SET_MM"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (40, "PR_GET_TID_ADDRESS"),
    (41, "PR_SET_THP_DISABLE"),
    (42, "PR_GET_THP_DISABLE"),
    (45, "PR_SET_FP_MODE"),
    (46, "PR_GET_FP_MODE"),
    (47, "PR_CAP_AMBIENT"),
    (53, "PR_SET_SPECULATION_CTRL"),
    (52, "PR_GET_SPECULATION_CTRL"),
    (57, "PR_SET_IO_FLUSHER"),
    (58, "PR_GET_IO_FLUSHER"),
    (59, "PR_SET_SYSCALL_USER_DISPATCH"),
    (PR_SET_VMA, "PR_SET_VMA"),
];

pub(super) const DOMAINS: Values = &[
    (AF_UNSPEC as u64, "AF_UNSPEC"),
    (AF_UNIX as u64, "AF_UNIX"),
    (AF_INET as u64, "AF_INET"),
    (AF_INET6 as u64, "AF_INET6"),
    (AF_NETLINK as u64, "AF_NETLINK"),
    (AF_PACKET as u64, "AF_PACKET"),
    (31, "AF_BLUETOOTH"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
];
pub(super) const SOCK_TYPES: Values = &[
    (SOCK_STREAM as u64, "SOCK_STREAM"),
    (SOCK_DGRAM as u64, "SOCK_DGRAM"),
    (SOCK_RAW as u64, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (SOCK_SEQPACKET as u64, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];
pub(super) const SOCK_TYPE_FLAGS: Flags = &[
    (SOCK_NONBLOCK as u64, "SOCK_NONBLOCK"),
    (SOCK_CLOEXEC as u64, "SOCK_CLOEXEC"),
];
pub(super) const IP_PROTOCOLS: Values = &[
    (IPPROTO_IP, "IPPROTO_IP"),
    (1, "IPPROTO_ICMP"),
    (IPPROTO_TCP, "IPPROTO_TCP"),
    (IPPROTO_UDP, "IPPROTO_UDP"),
    (IPPROTO_IPV6, "IPPROTO_IPV6"),
    (58, "IPPROTO_ICMPV6"),
    (132, "IPPROTO_SCTP"),
    (255, "IPPROTO_RAW"),
];
pub(super) const NETLINK_PROTOCOLS: Values = &[
    (0, "NETLINK_ROUTE"),
    (4, "NETLINK_SOCK_DIAG"),
    (9, "NETLINK_AUDIT"),
    (15, "NETLINK_KOBJECT_UEVENT"),
    (16, "NETLINK_GENERIC"),
];
pub(super) const MSG_FLAGS: Flags = &[
    (MSG_OOB as u64, "MSG_OOB"),
    (MSG_PEEK as u64, "MSG_PEEK"),
    (MSG_DONTROUTE as u64, "MSG_DONTROUTE"),
    (MSG_CTRUNC as u64, "MSG_CTRUNC"),
    (0x10, "MSG_PROXY"),
    (MSG_TRUNC as u64, "MSG_TRUNC"),
    (MSG_DONTWAIT as u64, "MSG_DONTWAIT"),
    (MSG_EOR as u64, "MSG_EOR"),
    (MSG_WAITALL as u64, "MSG_WAITALL"),
    (0x200, "MSG_FIN"),
    (0x400, "MSG_SYN"),
    (0x800, "MSG_CONFIRM"),
    (0x1000, "MSG_RST"),
    (0x2000, "MSG_ERRQUEUE"),
    (MSG_NOSIGNAL as u64, "MSG_NOSIGNAL"),
    (MSG_MORE as u64, "MSG_MORE"),
    (0x1_0000, "MSG_WAITFORONE"),
    (0x4_0000, "MSG_BATCH"),
    (0x400_0000, "MSG_ZEROCOPY"),
    (0x2000_0000, "MSG_FASTOPEN"),
    (MSG_CMSG_CLOEXEC as u64, "MSG_CMSG_CLOEXEC"),
];
pub(super) const SHUT_HOW: Values = &[
    (SHUT_RD, "SHUT_RD"),
    (SHUT_WR, "SHUT_WR"),
    (SHUT_RDWR, "SHUT_RDWR"),
];
pub(super) const SOCK_LEVELS: Values = &[
    (SOL_SOCKET, "SOL_SOCKET"),
    (IPPROTO_IP, "SOL_IP"),
    (IPPROTO_TCP, "SOL_TCP"),
    (IPPROTO_UDP, "SOL_UDP"),
    (IPPROTO_IPV6, "SOL_IPV6"),
];
pub(super) const SOCKET_OPTIONS: Values = &[
    (SO_DEBUG, "SO_DEBUG"),
    (SO_REUSEADDR, "SO_REUSEADDR"),
    (SO_TYPE, "SO_TYPE"),
    (SO_ERROR, "SO_ERROR"),
    (SO_DONTROUTE, "SO_DONTROUTE"),
    (SO_BROADCAST, "SO_BROADCAST"),
    (SO_SNDBUF, "SO_SNDBUF"),
    (SO_RCVBUF, "SO_RCVBUF"),
    (SO_KEEPALIVE, "SO_KEEPALIVE"),
    (SO_OOBINLINE, "SO_OOBINLINE"),
    (SO_PRIORITY, "SO_PRIORITY"),
    (SO_LINGER, "SO_LINGER"),
    (SO_REUSEPORT, "SO_REUSEPORT"),
    (SO_PASSCRED, "SO_PASSCRED"),
    (SO_PEERCRED, "SO_PEERCRED"),
    (SO_RCVLOWAT, "SO_RCVLOWAT"),
    (SO_SNDLOWAT, "SO_SNDLOWAT"),
    (SO_RCVTIMEO, "SO_RCVTIMEO_OLD"),
    (SO_SNDTIMEO, "SO_SNDTIMEO_OLD"),
    (SO_ACCEPTCONN, "SO_ACCEPTCONN"),
    (SO_SNDBUFFORCE, "SO_SNDBUFFORCE"),
    (SO_RCVBUFFORCE, "SO_RCVBUFFORCE"),
    (SO_PROTOCOL, "SO_PROTOCOL"),
    (SO_DOMAIN, "SO_DOMAIN"),
];
pub(super) const TCP_OPTIONS: Values = &[
    (TCP_NODELAY, "TCP_NODELAY"),
    (TCP_MAXSEG, "TCP_MAXSEG"),
    (TCP_CORK, "TCP_CORK"),
    (TCP_KEEPIDLE, "TCP_KEEPIDLE"),
    (TCP_KEEPINTVL, "TCP_KEEPINTVL"),
    (TCP_KEEPCNT, "TCP_KEEPCNT"),
    (9, "TCP_DEFER_ACCEPT"),
    (TCP_QUICKACK, "TCP_QUICKACK"),
    (23, "TCP_FASTOPEN"),
];
pub(super) const IP_OPTIONS: Values = &[(IP_TOS, "IP_TOS"), (IP_TTL, "IP_TTL")];
pub(super) const IPV6_OPTIONS: Values = &[(IPV6_V6ONLY, "IPV6_V6ONLY")];

pub(super) const POLL_EVENTS: Flags = &[
    (POLLIN as u64, "POLLIN"),
    (POLLPRI as u64, "POLLPRI"),
    (POLLOUT as u64, "POLLOUT"),
    (POLLERR as u64, "POLLERR"),
    (POLLHUP as u64, "POLLHUP"),
    (POLLNVAL as u64, "POLLNVAL"),
    (POLLRDNORM as u64, "POLLRDNORM"),
    (POLLRDBAND as u64, "POLLRDBAND"),
    (POLLWRNORM as u64, "POLLWRNORM"),
    (POLLWRBAND as u64, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (POLLRDHUP as u64, "POLLRDHUP"),
];
pub(super) const EPOLL_EVENTS: Flags = &[
    (0x1, "EPOLLIN"),
    (0x2, "EPOLLPRI"),
    (0x4, "EPOLLOUT"),
    (0x8, "EPOLLERR"),
    (0x10, "EPOLLHUP"),
    (0x20, "EPOLLNVAL"),
    (0x40, "EPOLLRDNORM"),
    (0x80, "EPOLLRDBAND"),
    (0x100, "EPOLLWRNORM"),
    (0x200, "EPOLLWRBAND"),
    (0x400, "EPOLLMSG"),
    (0x2000, "EPOLLRDHUP"),
    (1 << 28, "EPOLLEXCLUSIVE"),
    (1 << 29, "EPOLLWAKEUP"),
    (1 << 30, "EPOLLONESHOT"),
    (1 << 31, "EPOLLET"),
];
pub(super) const EPOLL_CTL_OPS: Values = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];

/// `O_CLOEXEC`, the one flag of `dup3`, `epoll_create1`, `pipe2` and the
/// `*_CLOEXEC`/`*_NONBLOCK` pairs of the newer fd-creating calls (eventfd,
/// timerfd, signalfd, inotify share the open-flag values).
pub(super) const PIPE_FLAGS: Flags = &[
    (O_CLOEXEC as u64, "O_CLOEXEC"),
    (O_NONBLOCK as u64, "O_NONBLOCK"),
    (O_DIRECT as u64, "O_DIRECT"),
    (0x1000, "O_NOTIFICATION_PIPE"),
];
pub(super) const EPOLL_CREATE_FLAGS: Flags = &[(O_CLOEXEC as u64, "EPOLL_CLOEXEC")];
pub(super) const EFD_FLAGS: Flags = &[
    (1, "EFD_SEMAPHORE"),
    (O_CLOEXEC as u64, "EFD_CLOEXEC"),
    (O_NONBLOCK as u64, "EFD_NONBLOCK"),
];
pub(super) const TFD_FLAGS: Flags = &[
    (O_CLOEXEC as u64, "TFD_CLOEXEC"),
    (O_NONBLOCK as u64, "TFD_NONBLOCK"),
];
pub(super) const SFD_FLAGS: Flags = &[
    (O_CLOEXEC as u64, "SFD_CLOEXEC"),
    (O_NONBLOCK as u64, "SFD_NONBLOCK"),
];
pub(super) const IN_INIT_FLAGS: Flags = &[
    (O_CLOEXEC as u64, "IN_CLOEXEC"),
    (O_NONBLOCK as u64, "IN_NONBLOCK"),
];
pub(super) const MFD_FLAGS: Flags = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];
pub(super) const INOTIFY_MASK: Flags = &[
    (0x1, "IN_ACCESS"),
    (0x2, "IN_MODIFY"),
    (0x4, "IN_ATTRIB"),
    (0x8, "IN_CLOSE_WRITE"),
    (0x10, "IN_CLOSE_NOWRITE"),
    (0x20, "IN_OPEN"),
    (0x40, "IN_MOVED_FROM"),
    (0x80, "IN_MOVED_TO"),
    (0x100, "IN_CREATE"),
    (0x200, "IN_DELETE"),
    (0x400, "IN_DELETE_SELF"),
    (0x800, "IN_MOVE_SELF"),
    (0x100_0000, "IN_ONLYDIR"),
    (0x200_0000, "IN_DONT_FOLLOW"),
    (0x400_0000, "IN_EXCL_UNLINK"),
    (0x1000_0000, "IN_MASK_CREATE"),
    (0x2000_0000, "IN_MASK_ADD"),
    (0x4000_0000, "IN_ISDIR"),
    (0x8000_0000, "IN_ONESHOT"),
];
pub(super) const RENAME_FLAGS: Flags = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];
pub(super) const GRND_FLAGS: Flags = &[
    (GRND_NONBLOCK, "GRND_NONBLOCK"),
    (GRND_RANDOM, "GRND_RANDOM"),
    (GRND_INSECURE, "GRND_INSECURE"),
];
pub(super) const CLOSE_RANGE_FLAGS: Flags =
    &[(2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")];
pub(super) const SPLICE_FLAGS: Flags = &[
    (1, "SPLICE_F_MOVE"),
    (2, "SPLICE_F_NONBLOCK"),
    (4, "SPLICE_F_MORE"),
    (8, "SPLICE_F_GIFT"),
];
pub(super) const FADVICE: Values = &[
    (0, "POSIX_FADV_NORMAL"),
    (1, "POSIX_FADV_RANDOM"),
    (2, "POSIX_FADV_SEQUENTIAL"),
    (3, "POSIX_FADV_WILLNEED"),
    (4, "POSIX_FADV_DONTNEED"),
    (5, "POSIX_FADV_NOREUSE"),
];
pub(super) const FALLOCATE_MODES: Flags = &[
    (1, "FALLOC_FL_KEEP_SIZE"),
    (2, "FALLOC_FL_PUNCH_HOLE"),
    (8, "FALLOC_FL_COLLAPSE_RANGE"),
    (0x10, "FALLOC_FL_ZERO_RANGE"),
    (0x20, "FALLOC_FL_INSERT_RANGE"),
    (0x40, "FALLOC_FL_UNSHARE_RANGE"),
];
pub(super) const IPC_FLAGS: Flags = &[
    (0o1000, "IPC_CREAT"),
    (0o2000, "IPC_EXCL"),
    (0o4000, "IPC_NOWAIT"),
];
pub(super) const IPC_CMDS: Values = &[
    (0, "IPC_RMID"),
    (1, "IPC_SET"),
    (2, "IPC_STAT"),
    (3, "IPC_INFO"),
    (11, "SHM_LOCK/GETPID"),
    (12, "SHM_UNLOCK/GETVAL"),
    (13, "SHM_STAT/GETALL"),
    (14, "SHM_INFO/GETNCNT"),
    (15, "GETZCNT"),
    (16, "SETVAL"),
    (17, "SETALL"),
];
pub(super) const SHMAT_FLAGS: Flags = &[
    (0o10000, "SHM_RDONLY"),
    (0o20000, "SHM_RND"),
    (0o40000, "SHM_REMAP"),
    (0o100000, "SHM_EXEC"),
];
pub(super) const MEMBARRIER_CMDS: Values = &[
    (0, "MEMBARRIER_CMD_QUERY"),
    (1, "MEMBARRIER_CMD_GLOBAL"),
    (2, "MEMBARRIER_CMD_GLOBAL_EXPEDITED"),
    (4, "MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED"),
    (8, "MEMBARRIER_CMD_PRIVATE_EXPEDITED"),
    (16, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED"),
    (32, "MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE"),
    (64, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE"),
    (128, "MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ"),
    (256, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ"),
];
pub(super) const SCHED_POLICIES: Values = &[
    (0, "SCHED_OTHER"),
    (1, "SCHED_FIFO"),
    (2, "SCHED_RR"),
    (3, "SCHED_BATCH"),
    (5, "SCHED_IDLE"),
    (6, "SCHED_DEADLINE"),
];
pub(super) const SIGEV_NOTIFY: Values = &[
    (0, "SIGEV_SIGNAL"),
    (1, "SIGEV_NONE"),
    (2, "SIGEV_THREAD"),
    (4, "SIGEV_THREAD_ID"),
];
pub(super) const UMOUNT_FLAGS: Flags = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

/// Termios output and local flags strace shows in its short form.
pub(super) const OPOST: u32 = 0o1;
pub(super) const ISIG: u32 = 0o1;
pub(super) const ICANON: u32 = 0o2;
pub(super) const ECHO: u32 = 0o10;
/// `c_cflag` bits holding the line speed.
pub(super) const CBAUD: u32 = 0o10017;
pub(super) const BAUD_RATES: Values = &[
    (0, "B0"),
    (1, "B50"),
    (2, "B75"),
    (3, "B110"),
    (4, "B134"),
    (5, "B150"),
    (6, "B200"),
    (7, "B300"),
    (8, "B600"),
    (9, "B1200"),
    (10, "B1800"),
    (11, "B2400"),
    (12, "B4800"),
    (13, "B9600"),
    (14, "B19200"),
    (15, "B38400"),
    (0o10001, "B57600"),
    (0o10002, "B115200"),
    (0o10003, "B230400"),
    (0o10004, "B460800"),
    (0o10005, "B500000"),
    (0o10006, "B576000"),
    (0o10007, "B921600"),
    (0o10010, "B1000000"),
    (0o10011, "B1152000"),
    (0o10012, "B1500000"),
    (0o10013, "B2000000"),
    (0o10014, "B2500000"),
    (0o10015, "B3000000"),
    (0o10016, "B3500000"),
    (0o10017, "B4000000"),
];
