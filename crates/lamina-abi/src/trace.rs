//! strace-style text for one system call, for `lamina run --trace`.
//!
//! [`format_syscall`] writes a call's arguments as strace shows them
//! (`AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC`), [`format_result`] what
//! strace puts after a successful result (`(flags O_RDWR)`). Both run after
//! the call, so buffers the call filled (read's data, a stat structure,
//! pipe's fds) are shown when it succeeded; on failure an output argument is
//! its address, as strace shows it. The arguments of `execve`/`execveat` do
//! not depend on the result: the kernel may format them before the call
//! replaces the memory they live in.
//!
//! Every system call in [`crate::nr`] has its argument count and kinds in
//! [`signature`]; an unknown number shows its six registers in hex. Reads of
//! user memory go through [`UserMemory`] and are bounded (strings to
//! [`STRING_SHOWN`] or [`PATH_SHOWN`] bytes, arrays to a few elements), so a
//! hostile argument costs little and never faults.

mod names;

pub use names::{ioctl_name, signal_name};

use crate::nr;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use names::*;

/// The workload's memory, as the formatter may read it.
pub trait UserMemory {
    /// Copies from user address `addr` into `buf`; returns how many bytes
    /// were readable (0 on a bad pointer).
    fn read(&self, addr: u64, buf: &mut [u8]) -> usize;
}

/// Bytes of a data buffer or string argument shown before `...` (strace's
/// default `-s 32`).
pub const STRING_SHOWN: usize = 32;
/// Bytes of a path shown before `...`: strace shows paths whole; this keeps
/// a record bounded and still shows real paths in full.
pub const PATH_SHOWN: usize = 256;
/// Elements of an array argument shown before `...` (iovecs, pollfds,
/// epoll events, argv).
const ELEMENTS_SHOWN: usize = 8;
/// Most environment entries counted for execve's `/* N vars */`.
const ENV_COUNTED: usize = 4096;
/// Most directory entries counted for getdents.
const DIRENTS_COUNTED: usize = 4096;
/// `UTIME_NOW`/`UTIME_OMIT` of `utimensat`.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;
/// `sockaddr` bytes read at most (`sizeof(struct sockaddr_storage)`).
const SOCKADDR_READ: usize = crate::socket::SOCKADDR_STORAGE_LEN;

/// Appends the arguments of system call `nr` (Linux x86_64 number) as
/// strace shows them, without the parentheses, e.g. `AT_FDCWD,
/// "/etc/passwd", O_RDONLY|O_CLOEXEC`, given its six raw argument registers
/// and its raw result (negative errno on error), so output buffers (read's
/// data, stat structs' key fields, pipe's fds, ...) can be shown after the
/// call.
pub fn format_syscall(
    nr: u64,
    args: &[u64; 6],
    result: i64,
    mem: &dyn UserMemory,
    out: &mut String,
) {
    let call = Call { args, result, mem };
    let Some(kinds) = signature(nr) else {
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            hex(out, *arg);
        }
        return;
    };
    let mut first = true;
    for (i, &kind) in kinds.iter().enumerate() {
        let mark = out.len();
        if !first {
            out.push_str(", ");
        }
        if call.arg(i, kind, out) {
            first = false;
        } else {
            out.truncate(mark);
        }
    }
}

/// Appends the decoration strace puts after a successful result when it
/// has one (e.g. fcntl F_GETFL flags `(flags O_RDWR)`, or nothing).
pub fn format_result(nr: u64, args: &[u64; 6], result: i64, out: &mut String) {
    if result < 0 {
        return;
    }
    let value = result as u64;
    match nr {
        nr::FCNTL => match args[1] & 0xffff_ffff {
            crate::flags::F_GETFD if value != 0 => {
                out.push_str("(flags ");
                flags(out, value, FD_FLAGS);
                out.push(')');
            }
            crate::flags::F_GETFL => {
                out.push_str("(flags ");
                open_flags(out, value);
                out.push(')');
            }
            F_GET_SEALS if value != 0 => {
                out.push_str("(seals ");
                flags(out, value, SEALS);
                out.push(')');
            }
            _ => {}
        },
        nr::POLL | nr::PPOLL | nr::SELECT | nr::PSELECT6 if value == 0 => out.push_str("(Timeout)"),
        _ => {}
    }
}

/// Whether strace shows this call's successful result as an address
/// (`mmap(...) = 0x7f...`) rather than a number.
pub fn returns_address(nr: u64) -> bool {
    matches!(nr, nr::MMAP | nr::BRK | nr::MREMAP | nr::SHMAT)
}

/// How one argument is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// A C `int`, decimal.
    Int,
    /// An `unsigned int`, decimal.
    Uint,
    /// A `long`/`off_t`, decimal.
    Long,
    /// A `size_t`/`unsigned long`, decimal.
    Size,
    /// A value shown in hex (`0` for zero), as strace's `%#lx`.
    Hex,
    /// An address: `NULL` or hex.
    Ptr,
    /// A register the call does not use (the high half of a split offset).
    Skip,
    Fd,
    /// A `*at` directory fd: `AT_FDCWD` or the fd.
    DirFd,
    /// A NUL-terminated path, up to [`PATH_SHOWN`] bytes.
    Path,
    /// A NUL-terminated string, up to [`STRING_SHOWN`] bytes.
    Str,
    /// open flags, access mode first.
    OpenFlags,
    /// open's mode, shown only when the previous argument (the flags) has
    /// O_CREAT or O_TMPFILE.
    OpenMode,
    /// Permission bits in octal (`0644`).
    Mode,
    /// File type and permissions (`S_IFIFO|0644`).
    FileMode,
    /// `major`/`minor` of a device number, shown only when the previous
    /// argument (the mode) makes a character or block device.
    Dev,
    /// A uid or gid (`-1` for "unchanged").
    Id,
    /// `F_OK` or `R_OK|W_OK|X_OK`.
    AccessMode,
    /// Data the call reads, as many bytes as the next argument says.
    InBuf,
    /// Data the call wrote, as many bytes as the result says.
    OutBuf,
    /// A string the call wrote without a NUL, result bytes (readlink).
    OutPath,
    /// getcwd's buffer: a NUL-terminated string of result bytes.
    Cwd,
    /// getrandom's buffer: result bytes, in hex.
    RandomOut,
    TimespecIn,
    TimespecOut,
    TimevalIn,
    TimevalOut,
    ItimervalIn,
    ItimervalOut,
    ItimerspecIn,
    ItimerspecOut,
    /// utimensat's two timespecs.
    UtimensIn,
    SigeventIn,
    Signal,
    SigsetIn,
    SigsetOut,
    SigactionIn,
    SigactionOut,
    SigHow,
    StackIn,
    StackOut,
    StatOut,
    StatxOut,
    StatxFlags,
    StatxMask,
    AtFlags,
    AccessAtFlags,
    Whence,
    Prot,
    MapFlags,
    MremapFlags,
    /// mremap's new address, shown only with MREMAP_FIXED.
    MremapNewAddress,
    MsyncFlags,
    Madvice,
    MlockallFlags,
    Clock,
    TimerFlags,
    Itimer,
    Resource,
    RlimitIn,
    RlimitOut,
    RusageWho,
    PrioWhich,
    SchedPolicy,
    IoctlRequest,
    /// ioctl's third argument, decoded by request.
    IoctlThird,
    FcntlCmd,
    /// fcntl's third argument, decoded by command (omitted when it has none).
    FcntlThird,
    FlockOp,
    FutexOp,
    /// futex's fourth, fifth and sixth arguments, by operation.
    FutexArg4,
    FutexArg5,
    FutexArg6,
    /// clone's arguments, named as strace names them.
    Clone,
    /// clone3's `struct clone_args`.
    CloneArgs,
    CloneFlags,
    /// An `int[2]` the call filled (pipe, socketpair).
    FdPairOut,
    /// An `int` the call filled, `[N]`.
    IntOut,
    /// A `u32` id the call filled, `[N]`.
    IdOut,
    /// `gid_t[]` given (count in the previous argument) or filled (count
    /// is the result).
    GroupsIn,
    GroupsOut,
    /// A CPU mask given (size in the previous argument) or filled (size is
    /// the result).
    CpuMaskIn,
    CpuMaskOut,
    WaitStatus,
    WaitOptions,
    IdType,
    Argv,
    Envp,
    PrctlOption,
    PrctlRest,
    ArchPrctlCode,
    Dirents,
    UtsnameOut,
    SockDomain,
    SockType,
    /// SOCK_NONBLOCK/SOCK_CLOEXEC of accept4.
    SockFlags,
    /// socket's protocol, named by the domain (first argument).
    SockProtocol,
    /// A sockaddr the call reads; its length is the next argument.
    SockAddrIn,
    /// A sockaddr the call filled; the next argument points to its length.
    SockAddrOut,
    SockLevel,
    SockOption,
    /// setsockopt's value; its length is the next argument.
    SockOptIn,
    /// getsockopt's value; the next argument points to its length.
    SockOptOut,
    MsgFlags,
    MsgHdrIn,
    MsgHdrOut,
    ShutHow,
    /// An iovec array; the count is the next argument.
    IovIn,
    /// An iovec array the call filled, result bytes in all.
    IovOut,
    /// A pollfd array; the count is the next argument.
    PollFds,
    EpollOp,
    EpollEventIn,
    /// The events epoll_wait filled; the count is the result.
    EpollEventsOut,
    EpollCreateFlags,
    /// O_CLOEXEC/O_NONBLOCK of pipe2, dup3, userfaultfd.
    PipeFlags,
    EfdFlags,
    TfdFlags,
    TfdSettimeFlags,
    SfdFlags,
    InInitFlags,
    InotifyMask,
    MfdFlags,
    RenameFlags,
    GrndFlags,
    SpliceFlags,
    FallocateMode,
    Fadvice,
    IpcFlags,
    IpcCmd,
    ShmatFlags,
    MembarrierCmd,
    UmountFlags,
    CloseRangeFlags,
    /// openat2's `struct open_how`.
    OpenHow,
}

use Arg::*;

/// The arguments of system call `nr`, in order; `None` for a number that
/// names no call.
fn signature(nr: u64) -> Option<&'static [Arg]> {
    Some(match nr {
        nr::READ => &[Fd, OutBuf, Size],
        nr::WRITE => &[Fd, InBuf, Size],
        nr::OPEN => &[Path, OpenFlags, OpenMode],
        nr::CLOSE => &[Fd],
        nr::STAT | nr::LSTAT => &[Path, StatOut],
        nr::FSTAT => &[Fd, StatOut],
        nr::POLL => &[PollFds, Uint, Int],
        nr::LSEEK => &[Fd, Long, Whence],
        nr::MMAP => &[Ptr, Size, Prot, MapFlags, Fd, Hex],
        nr::MPROTECT => &[Ptr, Size, Prot],
        nr::MUNMAP => &[Ptr, Size],
        nr::BRK => &[Ptr],
        nr::RT_SIGACTION => &[Signal, SigactionIn, SigactionOut, Size],
        nr::RT_SIGPROCMASK => &[SigHow, SigsetIn, SigsetOut, Size],
        nr::RT_SIGRETURN => &[],
        nr::IOCTL => &[Fd, IoctlRequest, IoctlThird],
        nr::PREAD64 => &[Fd, OutBuf, Size, Long],
        nr::PWRITE64 => &[Fd, InBuf, Size, Long],
        nr::READV => &[Fd, IovOut, Int],
        nr::WRITEV => &[Fd, IovIn, Int],
        nr::ACCESS => &[Path, AccessMode],
        nr::PIPE => &[FdPairOut],
        nr::SELECT => &[Int, Ptr, Ptr, Ptr, TimevalIn],
        nr::SCHED_YIELD => &[],
        nr::MREMAP => &[Ptr, Size, Size, MremapFlags, MremapNewAddress],
        nr::MSYNC => &[Ptr, Size, MsyncFlags],
        nr::MINCORE => &[Ptr, Size, Ptr],
        nr::MADVISE => &[Ptr, Size, Madvice],
        nr::SHMGET => &[Hex, Size, IpcFlags],
        nr::SHMAT => &[Int, Ptr, ShmatFlags],
        nr::SHMCTL => &[Int, IpcCmd, Ptr],
        nr::DUP => &[Fd],
        nr::DUP2 => &[Fd, Fd],
        nr::PAUSE => &[],
        nr::NANOSLEEP => &[TimespecIn, Ptr],
        nr::GETITIMER => &[Itimer, ItimervalOut],
        nr::ALARM => &[Uint],
        nr::SETITIMER => &[Itimer, ItimervalIn, ItimervalOut],
        nr::GETPID => &[],
        nr::SENDFILE => &[Fd, Fd, Ptr, Size],
        nr::SOCKET => &[SockDomain, SockType, SockProtocol],
        nr::CONNECT | nr::BIND => &[Fd, SockAddrIn, Uint],
        nr::ACCEPT | nr::GETSOCKNAME | nr::GETPEERNAME => &[Fd, SockAddrOut, IntOut],
        nr::SENDTO => &[Fd, InBuf, Size, MsgFlags, SockAddrIn, Uint],
        nr::RECVFROM => &[Fd, OutBuf, Size, MsgFlags, SockAddrOut, IntOut],
        nr::SENDMSG => &[Fd, MsgHdrIn, MsgFlags],
        nr::RECVMSG => &[Fd, MsgHdrOut, MsgFlags],
        nr::SHUTDOWN => &[Fd, ShutHow],
        nr::LISTEN => &[Fd, Int],
        nr::SOCKETPAIR => &[SockDomain, SockType, SockProtocol, FdPairOut],
        nr::SETSOCKOPT => &[Fd, SockLevel, SockOption, SockOptIn, Uint],
        nr::GETSOCKOPT => &[Fd, SockLevel, SockOption, SockOptOut, IntOut],
        nr::CLONE => &[Clone],
        nr::FORK | nr::VFORK => &[],
        nr::EXECVE => &[Path, Argv, Envp],
        nr::EXIT | nr::EXIT_GROUP => &[Int],
        nr::WAIT4 => &[Int, WaitStatus, WaitOptions, Ptr],
        nr::KILL | nr::TKILL => &[Int, Signal],
        nr::UNAME => &[UtsnameOut],
        nr::SEMGET => &[Hex, Int, IpcFlags],
        nr::SEMOP => &[Int, Ptr, Size],
        nr::SEMCTL => &[Int, Int, IpcCmd, Hex],
        nr::SHMDT => &[Ptr],
        nr::MSGGET => &[Hex, IpcFlags],
        nr::MSGSND => &[Int, Ptr, Size, IpcFlags],
        nr::MSGRCV => &[Int, Ptr, Size, Long, IpcFlags],
        nr::MSGCTL => &[Int, IpcCmd, Ptr],
        nr::FCNTL => &[Fd, FcntlCmd, FcntlThird],
        nr::FLOCK => &[Fd, FlockOp],
        nr::FSYNC | nr::FDATASYNC | nr::FCHDIR | nr::SYNCFS => &[Fd],
        nr::TRUNCATE => &[Path, Long],
        nr::FTRUNCATE => &[Fd, Long],
        nr::GETDENTS | nr::GETDENTS64 => &[Fd, Dirents, Uint],
        nr::GETCWD => &[Cwd, Size],
        nr::CHDIR | nr::RMDIR | nr::UNLINK | nr::CHROOT | nr::ACCT | nr::USELIB | nr::SWAPOFF => {
            &[Path]
        }
        nr::RENAME | nr::LINK | nr::SYMLINK | nr::PIVOT_ROOT => &[Path, Path],
        nr::MKDIR | nr::CREAT | nr::CHMOD => &[Path, Mode],
        nr::READLINK => &[Path, OutPath, Size],
        nr::FCHMOD => &[Fd, Mode],
        nr::CHOWN | nr::LCHOWN => &[Path, Id, Id],
        nr::FCHOWN => &[Fd, Id, Id],
        nr::UMASK => &[Mode],
        nr::GETTIMEOFDAY => &[TimevalOut, Ptr],
        nr::GETRLIMIT => &[Resource, RlimitOut],
        nr::GETRUSAGE => &[RusageWho, Ptr],
        nr::SYSINFO
        | nr::TIMES
        | nr::TIME
        | nr::SYSCTL
        | nr::ADJTIMEX
        | nr::SET_THREAD_AREA
        | nr::GET_THREAD_AREA
        | nr::GET_KERNEL_SYMS => &[Ptr],
        nr::PTRACE => &[Long, Int, Ptr, Ptr],
        nr::SYSLOG => &[Int, Ptr, Int],
        nr::GETUID
        | nr::GETGID
        | nr::GETEUID
        | nr::GETEGID
        | nr::GETPPID
        | nr::GETPGRP
        | nr::SETSID
        | nr::GETTID
        | nr::MUNLOCKALL
        | nr::VHANGUP
        | nr::SYNC
        | nr::INOTIFY_INIT
        | nr::RESTART_SYSCALL => &[],
        nr::SETUID | nr::SETGID | nr::SETFSUID | nr::SETFSGID => &[Id],
        nr::SETPGID => &[Int, Int],
        nr::SETREUID | nr::SETREGID => &[Id, Id],
        nr::GETGROUPS => &[Int, GroupsOut],
        nr::SETGROUPS => &[Int, GroupsIn],
        nr::SETRESUID | nr::SETRESGID => &[Id, Id, Id],
        nr::GETRESUID | nr::GETRESGID => &[IdOut, IdOut, IdOut],
        nr::GETPGID
        | nr::GETSID
        | nr::SCHED_GETSCHEDULER
        | nr::IOPL
        | nr::EPOLL_CREATE
        | nr::TIMER_GETOVERRUN
        | nr::TIMER_DELETE
        | nr::PKEY_FREE => &[Int],
        nr::CAPGET | nr::CAPSET => &[Ptr, Ptr],
        nr::RT_SIGPENDING => &[SigsetOut, Size],
        nr::RT_SIGTIMEDWAIT => &[SigsetIn, Ptr, TimespecIn, Size],
        nr::RT_SIGQUEUEINFO => &[Int, Signal, Ptr],
        nr::RT_SIGSUSPEND => &[SigsetIn, Size],
        nr::SIGALTSTACK => &[StackIn, StackOut],
        nr::UTIME | nr::UTIMES => &[Path, Ptr],
        nr::MKNOD => &[Path, FileMode, Dev],
        nr::PERSONALITY => &[Hex],
        nr::USTAT => &[Hex, Ptr],
        nr::STATFS => &[Path, Ptr],
        nr::FSTATFS => &[Fd, Ptr],
        nr::SYSFS => &[Int, Hex, Hex],
        nr::GETPRIORITY => &[PrioWhich, Int],
        nr::SETPRIORITY => &[PrioWhich, Int, Int],
        nr::SCHED_SETPARAM | nr::SCHED_GETPARAM => &[Int, Ptr],
        nr::SCHED_SETSCHEDULER => &[Int, SchedPolicy, Ptr],
        nr::SCHED_GET_PRIORITY_MAX | nr::SCHED_GET_PRIORITY_MIN => &[SchedPolicy],
        nr::SCHED_RR_GET_INTERVAL => &[Int, TimespecOut],
        nr::MLOCK | nr::MUNLOCK => &[Ptr, Size],
        nr::MLOCKALL => &[MlockallFlags],
        nr::MODIFY_LDT => &[Int, Ptr, Size],
        nr::PRCTL => &[PrctlOption, PrctlRest, PrctlRest, PrctlRest, PrctlRest],
        nr::ARCH_PRCTL => &[ArchPrctlCode, Hex],
        nr::SETRLIMIT => &[Resource, RlimitIn],
        nr::SETTIMEOFDAY => &[TimevalIn, Ptr],
        nr::MOUNT => &[Path, Path, Str, Hex, Ptr],
        nr::UMOUNT2 => &[Path, UmountFlags],
        nr::SWAPON => &[Path, Hex],
        nr::REBOOT => &[Hex, Hex, Hex, Ptr],
        nr::SETHOSTNAME | nr::SETDOMAINNAME => &[InBuf, Size],
        nr::IOPERM => &[Hex, Hex, Int],
        nr::CREATE_MODULE => &[Str, Size],
        nr::INIT_MODULE => &[Ptr, Size, Str],
        nr::DELETE_MODULE => &[Str, Hex],
        nr::QUERY_MODULE => &[Str, Int, Ptr, Size, Ptr],
        nr::QUOTACTL => &[Hex, Path, Int, Ptr],
        nr::NFSSERVCTL => &[Int, Ptr, Ptr],
        nr::GETPMSG | nr::PUTPMSG | nr::AFS_SYSCALL | nr::VSERVER => &[Hex, Hex, Hex, Hex, Hex],
        nr::TUXCALL | nr::SECURITY => &[Hex, Hex, Hex],
        nr::READAHEAD => &[Fd, Long, Size],
        nr::SETXATTR | nr::LSETXATTR => &[Path, Str, InBuf, Size, Hex],
        nr::FSETXATTR => &[Fd, Str, InBuf, Size, Hex],
        nr::GETXATTR | nr::LGETXATTR => &[Path, Str, OutBuf, Size],
        nr::FGETXATTR => &[Fd, Str, OutBuf, Size],
        nr::LISTXATTR | nr::LLISTXATTR => &[Path, OutBuf, Size],
        nr::FLISTXATTR => &[Fd, OutBuf, Size],
        nr::REMOVEXATTR | nr::LREMOVEXATTR => &[Path, Str],
        nr::FREMOVEXATTR => &[Fd, Str],
        nr::FUTEX => &[Ptr, FutexOp, Int, FutexArg4, FutexArg5, FutexArg6],
        nr::SCHED_SETAFFINITY => &[Int, Uint, CpuMaskIn],
        nr::SCHED_GETAFFINITY => &[Int, Uint, CpuMaskOut],
        nr::IO_SETUP => &[Uint, Ptr],
        nr::IO_DESTROY => &[Hex],
        nr::IO_GETEVENTS => &[Hex, Long, Long, Ptr, TimespecIn],
        nr::IO_SUBMIT => &[Hex, Long, Ptr],
        nr::IO_CANCEL => &[Hex, Ptr, Ptr],
        nr::LOOKUP_DCOOKIE => &[Hex, Ptr, Size],
        nr::EPOLL_CTL_OLD | nr::EPOLL_WAIT_OLD => &[Hex, Hex, Hex, Hex],
        nr::REMAP_FILE_PAGES => &[Ptr, Size, Prot, Size, MapFlags],
        nr::SET_TID_ADDRESS => &[Ptr],
        nr::SEMTIMEDOP => &[Int, Ptr, Size, TimespecIn],
        nr::FADVISE64 => &[Fd, Long, Long, Fadvice],
        nr::TIMER_CREATE => &[Clock, SigeventIn, IntOut],
        nr::TIMER_SETTIME => &[Int, TimerFlags, ItimerspecIn, ItimerspecOut],
        nr::TIMER_GETTIME => &[Int, ItimerspecOut],
        nr::CLOCK_SETTIME => &[Clock, TimespecIn],
        nr::CLOCK_GETTIME | nr::CLOCK_GETRES => &[Clock, TimespecOut],
        nr::CLOCK_NANOSLEEP => &[Clock, TimerFlags, TimespecIn, Ptr],
        nr::EPOLL_WAIT => &[Fd, EpollEventsOut, Int, Int],
        nr::EPOLL_CTL => &[Fd, EpollOp, Fd, EpollEventIn],
        nr::TGKILL => &[Int, Int, Signal],
        nr::MBIND => &[Ptr, Size, Int, Ptr, Size, Hex],
        nr::SET_MEMPOLICY => &[Int, Ptr, Size],
        nr::GET_MEMPOLICY => &[Ptr, Ptr, Size, Ptr, Hex],
        nr::MQ_OPEN => &[Str, OpenFlags, OpenMode, Ptr],
        nr::MQ_UNLINK => &[Str],
        nr::MQ_TIMEDSEND => &[Fd, InBuf, Size, Uint, TimespecIn],
        nr::MQ_TIMEDRECEIVE => &[Fd, OutBuf, Size, Ptr, TimespecIn],
        nr::MQ_NOTIFY => &[Fd, Ptr],
        nr::MQ_GETSETATTR => &[Fd, Ptr, Ptr],
        nr::KEXEC_LOAD => &[Hex, Uint, Ptr, Hex],
        nr::WAITID => &[IdType, Int, Ptr, WaitOptions, Ptr],
        nr::ADD_KEY => &[Str, Str, Ptr, Size, Int],
        nr::REQUEST_KEY => &[Str, Str, Str, Int],
        nr::KEYCTL => &[Int, Hex, Hex, Hex, Hex],
        nr::IOPRIO_SET => &[Int, Int, Int],
        nr::IOPRIO_GET => &[Int, Int],
        nr::INOTIFY_ADD_WATCH => &[Fd, Path, InotifyMask],
        nr::INOTIFY_RM_WATCH => &[Fd, Int],
        nr::MIGRATE_PAGES => &[Int, Size, Ptr, Ptr],
        nr::OPENAT => &[DirFd, Path, OpenFlags, OpenMode],
        nr::MKDIRAT | nr::FCHMODAT => &[DirFd, Path, Mode],
        nr::MKNODAT => &[DirFd, Path, FileMode, Dev],
        nr::FCHOWNAT => &[DirFd, Path, Id, Id, AtFlags],
        nr::FUTIMESAT => &[DirFd, Path, Ptr],
        nr::NEWFSTATAT => &[DirFd, Path, StatOut, AtFlags],
        nr::UNLINKAT => &[DirFd, Path, AtFlags],
        nr::RENAMEAT => &[DirFd, Path, DirFd, Path],
        nr::LINKAT => &[DirFd, Path, DirFd, Path, AtFlags],
        nr::SYMLINKAT => &[Path, DirFd, Path],
        nr::READLINKAT => &[DirFd, Path, OutPath, Size],
        nr::FACCESSAT => &[DirFd, Path, AccessMode],
        nr::PSELECT6 => &[Int, Ptr, Ptr, Ptr, TimespecIn, Ptr],
        nr::PPOLL => &[PollFds, Uint, TimespecIn, SigsetIn, Size],
        nr::UNSHARE => &[CloneFlags],
        nr::SET_ROBUST_LIST => &[Ptr, Size],
        nr::GET_ROBUST_LIST => &[Int, Ptr, Ptr],
        nr::SPLICE => &[Fd, Ptr, Fd, Ptr, Size, SpliceFlags],
        nr::TEE => &[Fd, Fd, Size, SpliceFlags],
        nr::SYNC_FILE_RANGE => &[Fd, Long, Long, Hex],
        nr::VMSPLICE => &[Fd, IovIn, Size, SpliceFlags],
        nr::MOVE_PAGES => &[Int, Size, Ptr, Ptr, Ptr, Hex],
        nr::UTIMENSAT => &[DirFd, Path, UtimensIn, AtFlags],
        nr::EPOLL_PWAIT => &[Fd, EpollEventsOut, Int, Int, SigsetIn, Size],
        nr::SIGNALFD => &[Fd, SigsetIn, Size],
        nr::TIMERFD_CREATE => &[Clock, TfdFlags],
        nr::EVENTFD => &[Uint],
        nr::FALLOCATE => &[Fd, FallocateMode, Long, Long],
        nr::TIMERFD_SETTIME => &[Fd, TfdSettimeFlags, ItimerspecIn, ItimerspecOut],
        nr::TIMERFD_GETTIME => &[Fd, ItimerspecOut],
        nr::ACCEPT4 => &[Fd, SockAddrOut, IntOut, SockFlags],
        nr::SIGNALFD4 => &[Fd, SigsetIn, Size, SfdFlags],
        nr::EVENTFD2 => &[Uint, EfdFlags],
        nr::EPOLL_CREATE1 => &[EpollCreateFlags],
        nr::DUP3 => &[Fd, Fd, PipeFlags],
        nr::PIPE2 => &[FdPairOut, PipeFlags],
        nr::INOTIFY_INIT1 => &[InInitFlags],
        nr::PREADV => &[Fd, IovOut, Int, Long, Skip],
        nr::PWRITEV => &[Fd, IovIn, Int, Long, Skip],
        nr::RT_TGSIGQUEUEINFO => &[Int, Int, Signal, Ptr],
        nr::PERF_EVENT_OPEN => &[Ptr, Int, Int, Fd, Hex],
        nr::RECVMMSG => &[Fd, Ptr, Uint, MsgFlags, TimespecIn],
        nr::FANOTIFY_INIT => &[Hex, Hex],
        nr::FANOTIFY_MARK => &[Fd, Hex, Hex, DirFd, Path],
        nr::PRLIMIT64 => &[Int, Resource, RlimitIn, RlimitOut],
        nr::NAME_TO_HANDLE_AT => &[DirFd, Path, Ptr, Ptr, AtFlags],
        nr::OPEN_BY_HANDLE_AT => &[Fd, Ptr, OpenFlags],
        nr::CLOCK_ADJTIME => &[Clock, Ptr],
        nr::SENDMMSG => &[Fd, Ptr, Uint, MsgFlags],
        nr::SETNS => &[Fd, CloneFlags],
        nr::GETCPU => &[IdOut, IdOut, Ptr],
        nr::PROCESS_VM_READV | nr::PROCESS_VM_WRITEV => &[Int, Ptr, Size, Ptr, Size, Hex],
        nr::KCMP => &[Int, Int, Int, Hex, Hex],
        nr::FINIT_MODULE => &[Fd, Str, Hex],
        nr::SCHED_SETATTR => &[Int, Ptr, Hex],
        nr::SCHED_GETATTR => &[Int, Ptr, Uint, Hex],
        nr::RENAMEAT2 => &[DirFd, Path, DirFd, Path, RenameFlags],
        nr::SECCOMP => &[Uint, Hex, Ptr],
        nr::GETRANDOM => &[RandomOut, Size, GrndFlags],
        nr::MEMFD_CREATE => &[Str, MfdFlags],
        nr::KEXEC_FILE_LOAD => &[Fd, Fd, Size, Str, Hex],
        nr::BPF => &[Int, Ptr, Uint],
        nr::EXECVEAT => &[DirFd, Path, Argv, Envp, AtFlags],
        nr::USERFAULTFD => &[PipeFlags],
        nr::MEMBARRIER => &[MembarrierCmd, Hex, Int],
        nr::MLOCK2 => &[Ptr, Size, Hex],
        nr::COPY_FILE_RANGE => &[Fd, Ptr, Fd, Ptr, Size, Hex],
        nr::PREADV2 => &[Fd, IovOut, Int, Long, Skip, Hex],
        nr::PWRITEV2 => &[Fd, IovIn, Int, Long, Skip, Hex],
        nr::PKEY_MPROTECT => &[Ptr, Size, Prot, Int],
        nr::PKEY_ALLOC => &[Hex, Hex],
        nr::STATX => &[DirFd, Path, StatxFlags, StatxMask, StatxOut],
        nr::IO_PGETEVENTS => &[Hex, Long, Long, Ptr, TimespecIn, Ptr],
        nr::RSEQ => &[Ptr, Hex, Int, Hex],
        nr::PIDFD_SEND_SIGNAL => &[Fd, Signal, Ptr, Hex],
        nr::IO_URING_SETUP => &[Uint, Ptr],
        nr::IO_URING_ENTER => &[Fd, Uint, Uint, Hex, Ptr, Size],
        nr::IO_URING_REGISTER => &[Fd, Uint, Ptr, Uint],
        nr::OPEN_TREE | nr::FSPICK => &[DirFd, Path, Hex],
        nr::MOVE_MOUNT => &[DirFd, Path, DirFd, Path, Hex],
        nr::FSOPEN => &[Str, Hex],
        nr::FSCONFIG => &[Fd, Uint, Str, Ptr, Int],
        nr::FSMOUNT => &[Fd, Hex, Hex],
        nr::PIDFD_OPEN => &[Int, Hex],
        nr::CLONE3 => &[CloneArgs, Size],
        nr::CLOSE_RANGE => &[Uint, Uint, CloseRangeFlags],
        nr::OPENAT2 => &[DirFd, Path, OpenHow, Size],
        nr::PIDFD_GETFD => &[Fd, Fd, Hex],
        nr::FACCESSAT2 => &[DirFd, Path, AccessMode, AccessAtFlags],
        nr::PROCESS_MADVISE => &[Fd, Ptr, Size, Madvice, Hex],
        nr::EPOLL_PWAIT2 => &[Fd, EpollEventsOut, Int, TimespecIn, SigsetIn, Size],
        nr::MOUNT_SETATTR => &[DirFd, Path, Hex, Ptr, Size],
        nr::QUOTACTL_FD => &[Fd, Hex, Int, Ptr],
        nr::LANDLOCK_CREATE_RULESET => &[Ptr, Size, Hex],
        nr::LANDLOCK_ADD_RULE => &[Fd, Int, Ptr, Hex],
        nr::LANDLOCK_RESTRICT_SELF => &[Fd, Hex],
        nr::MEMFD_SECRET => &[Hex],
        nr::PROCESS_MRELEASE => &[Fd, Hex],
        nr::FUTEX_WAITV => &[Ptr, Uint, Hex, TimespecIn, Clock],
        nr::SET_MEMPOLICY_HOME_NODE => &[Ptr, Size, Hex, Hex],
        nr::CACHESTAT => &[Fd, Ptr, Ptr, Hex],
        nr::FCHMODAT2 => &[DirFd, Path, Mode, AtFlags],
        nr::MAP_SHADOW_STACK => &[Ptr, Size, Hex],
        nr::FUTEX_WAKE => &[Ptr, Hex, Int, Hex],
        nr::FUTEX_WAIT => &[Ptr, Hex, Hex, Hex, TimespecIn, Clock],
        nr::FUTEX_REQUEUE => &[Ptr, Hex, Int, Int],
        nr::STATMOUNT | nr::LISTMOUNT => &[Ptr, Ptr, Size, Hex],
        nr::LSM_GET_SELF_ATTR => &[Uint, Ptr, Ptr, Hex],
        nr::LSM_SET_SELF_ATTR => &[Uint, Ptr, Size, Hex],
        nr::LSM_LIST_MODULES => &[Ptr, Ptr, Hex],
        nr::MSEAL => &[Ptr, Size, Hex],
        _ => return None,
    })
}

/// One call being formatted.
struct Call<'a> {
    args: &'a [u64; 6],
    result: i64,
    mem: &'a dyn UserMemory,
}

impl Call<'_> {
    fn succeeded(&self) -> bool {
        self.result >= 0
    }

    /// The result as a byte count (0 on error).
    fn result_len(&self) -> u64 {
        self.result.max(0) as u64
    }

    /// Writes argument `i` shown as `kind`; false when the argument is not
    /// shown at all (the caller then drops its separator).
    fn arg(&self, i: usize, kind: Arg, out: &mut String) -> bool {
        let v = self.args[i];
        let prev = if i > 0 { self.args[i - 1] } else { 0 };
        let next = self.args.get(i + 1).copied().unwrap_or(0);
        let ok = self.succeeded();
        match kind {
            Int | Fd => int(out, v),
            Uint => uint(out, v),
            Long => {
                let _ = write!(out, "{}", v as i64);
            }
            Size => {
                let _ = write!(out, "{v}");
            }
            Hex => hex(out, v),
            Ptr => ptr(out, v),
            Skip => return false,
            DirFd => dirfd(out, v),
            Path => self.string(out, v, PATH_SHOWN),
            Str => self.string(out, v, STRING_SHOWN),
            OpenFlags => open_flags(out, v & 0xffff_ffff),
            OpenMode => {
                let flags_arg = prev as u32;
                let creates = flags_arg & crate::flags::O_CREAT != 0
                    || flags_arg & crate::flags::O_TMPFILE == crate::flags::O_TMPFILE;
                if !creates {
                    return false;
                }
                mode(out, v)
            }
            Mode => mode(out, v),
            FileMode => file_mode(out, v),
            Dev => {
                let file_type = prev as u32 & crate::flags::S_IFMT;
                if file_type != crate::flags::S_IFCHR && file_type != crate::flags::S_IFBLK {
                    return false;
                }
                makedev(out, v)
            }
            Id => id(out, v),
            AccessMode => {
                if v == 0 {
                    out.push_str("F_OK")
                } else {
                    flags(out, v, ACCESS_BITS)
                }
            }
            InBuf => self.buffer(out, v, next, false),
            OutBuf if ok => self.buffer(out, v, self.result_len(), false),
            RandomOut if ok => self.buffer(out, v, self.result_len(), true),
            OutPath if ok => {
                let len = self.result_len();
                let mut data = vec![0; (len as usize).min(PATH_SHOWN)];
                if self.mem.read(v, &mut data) < data.len() {
                    hex(out, v);
                } else {
                    quote(out, &data, false);
                    if len as usize > PATH_SHOWN {
                        out.push_str("...");
                    }
                }
            }
            Cwd if ok => self.string(out, v, PATH_SHOWN),
            TimespecIn => self.timespec(out, v),
            TimespecOut if ok => self.timespec(out, v),
            TimevalIn => self.timeval(out, v),
            TimevalOut if ok => self.timeval(out, v),
            ItimervalIn => self.itimer(out, v, "tv_usec"),
            ItimervalOut if ok => self.itimer(out, v, "tv_usec"),
            ItimerspecIn => self.itimer(out, v, "tv_nsec"),
            ItimerspecOut if ok => self.itimer(out, v, "tv_nsec"),
            UtimensIn => self.utimens(out, v),
            SigeventIn => self.sigevent(out, v),
            Signal => signal(out, v),
            SigsetIn => self.sigset(out, v),
            SigsetOut if ok => self.sigset(out, v),
            SigactionIn => self.sigaction(out, v),
            SigactionOut if ok => self.sigaction(out, v),
            SigHow => value(out, v, SIGPROCMASK_HOW, int),
            StackIn => self.stack(out, v),
            StackOut if ok => self.stack(out, v),
            StatOut if ok => self.stat(out, v),
            StatxOut if ok => self.statx(out, v),
            StatxFlags => {
                if v & AT_STATX_SYNC_TYPE == 0 {
                    out.push_str("AT_STATX_SYNC_AS_STAT");
                    if v != 0 {
                        out.push('|');
                        flags(out, v, AT_FLAGS);
                    }
                } else {
                    flags(out, v, AT_FLAGS)
                }
            }
            StatxMask => flags(out, v & 0xffff_ffff, STATX_MASK),
            AtFlags => flags(out, v & 0xffff_ffff, AT_FLAGS),
            AccessAtFlags => flags(out, v & 0xffff_ffff, ACCESS_AT_FLAGS),
            Whence => value(out, v, WHENCE, uint),
            Prot => {
                if v == 0 {
                    out.push_str("PROT_NONE")
                } else {
                    flags(out, v, PROT)
                }
            }
            MapFlags => {
                let sharing = v & crate::flags::MAP_TYPE;
                let rest = v & !crate::flags::MAP_TYPE;
                match value_name(MAP_SHARING, sharing) {
                    Some(name) => out.push_str(name),
                    None => hex(out, sharing),
                }
                if rest != 0 {
                    out.push('|');
                    flags(out, rest, MAP_FLAGS);
                }
            }
            MremapFlags => flags(out, v, MREMAP_FLAGS),
            MremapNewAddress => {
                if prev & crate::flags::MremapFlags::FIXED.bits() == 0 {
                    return false;
                }
                ptr(out, v)
            }
            MsyncFlags => flags(out, v, MSYNC_FLAGS),
            Madvice => value(out, v, MADVICE, int),
            MlockallFlags => flags(out, v, MLOCKALL_FLAGS),
            Clock => value(out, v & 0xffff_ffff, CLOCKS, int),
            TimerFlags => flags(out, v, TIMER_FLAGS),
            Itimer => value(out, v, ITIMERS, int),
            Resource => value(out, v & 0xffff_ffff, RESOURCES, uint),
            RlimitIn => self.rlimit(out, v),
            RlimitOut if ok => self.rlimit(out, v),
            RusageWho => value(out, v as i32 as i64 as u64, RUSAGE_WHO, int),
            PrioWhich => value(out, v, PRIO_WHICH, int),
            SchedPolicy => value(out, v, SCHED_POLICIES, int),
            IoctlRequest => match ioctl_name(v) {
                Some(name) => out.push_str(name),
                None => hex(out, v & 0xffff_ffff),
            },
            IoctlThird => return self.ioctl_arg(out, prev & 0xffff_ffff, v),
            FcntlCmd => value(out, v & 0xffff_ffff, FCNTL_CMDS, int),
            FcntlThird => return self.fcntl_arg(out, prev & 0xffff_ffff, v),
            FlockOp => flags(out, v, FLOCK_OPS),
            FutexOp => futex_op(out, v),
            FutexArg4 | FutexArg5 | FutexArg6 => return self.futex_arg(out, i, v),
            Clone => self.clone(out),
            CloneArgs => self.clone_args(out, v, next),
            CloneFlags => flags(out, v, CLONE_FLAGS),
            FdPairOut if ok => self.ints(out, v, 2),
            IntOut if ok => self.ints(out, v, 1),
            IdOut if ok => self.ids(out, v, 1),
            GroupsIn => self.ids(out, v, prev as u32 as usize),
            GroupsOut if ok => self.ids(out, v, self.result_len() as usize),
            CpuMaskIn => self.cpu_mask(out, v, prev as u32 as usize),
            CpuMaskOut if ok => self.cpu_mask(out, v, self.result_len() as usize),
            WaitStatus if self.result > 0 => self.wait_status(out, v),
            WaitOptions => flags(out, v, WAIT_OPTIONS),
            IdType => value(out, v, IDTYPES, int),
            Argv => self.argv(out, v),
            Envp => self.envp(out, v),
            PrctlOption => value(out, v & 0xffff_ffff, PRCTL_OPTIONS, int),
            PrctlRest => return self.prctl_arg(out, i, v),
            ArchPrctlCode => value(out, v, ARCH_PRCTL_CODES, hex),
            Dirents if ok => self.dirents(out, v),
            UtsnameOut if ok => self.utsname(out, v),
            SockDomain => value(out, v, DOMAINS, int),
            SockType => sock_type(out, v),
            SockFlags => flags(out, v & 0xffff_ffff, SOCK_TYPE_FLAGS),
            SockProtocol => {
                let table = match self.args[0] as u16 {
                    crate::socket::AF_INET | crate::socket::AF_INET6 => IP_PROTOCOLS,
                    crate::socket::AF_NETLINK => NETLINK_PROTOCOLS,
                    _ => &[],
                };
                value(out, v, table, int)
            }
            SockAddrIn => self.sockaddr(out, v, next),
            SockAddrOut if ok && v != 0 => {
                let mut len = [0u8; 4];
                if next == 0 || self.mem.read(next, &mut len) < 4 {
                    hex(out, v)
                } else {
                    self.sockaddr(out, v, u64::from(u32::from_le_bytes(len)))
                }
            }
            SockLevel => value(out, v, SOCK_LEVELS, int),
            SockOption => {
                let table = match prev {
                    crate::socket::SOL_SOCKET => SOCKET_OPTIONS,
                    crate::socket::IPPROTO_TCP => TCP_OPTIONS,
                    crate::socket::IPPROTO_IP => IP_OPTIONS,
                    crate::socket::IPPROTO_IPV6 => IPV6_OPTIONS,
                    _ => &[],
                };
                value(out, v, table, int)
            }
            SockOptIn => self.sockopt_value(out, v, next),
            SockOptOut if ok => {
                let mut len = [0u8; 4];
                if next == 0 || self.mem.read(next, &mut len) < 4 {
                    hex(out, v)
                } else {
                    self.sockopt_value(out, v, u64::from(u32::from_le_bytes(len)))
                }
            }
            MsgFlags => flags(out, v & 0xffff_ffff, MSG_FLAGS),
            MsgHdrIn => self.msghdr(out, v, None),
            MsgHdrOut if ok => self.msghdr(out, v, Some(self.result_len())),
            ShutHow => value(out, v, SHUT_HOW, int),
            IovIn => self.iovecs(out, v, next, None),
            IovOut if ok => self.iovecs(out, v, next, Some(self.result_len())),
            PollFds => self.pollfds(out, v, next),
            EpollOp => value(out, v, EPOLL_CTL_OPS, int),
            EpollEventIn => self.epoll_events(out, v, 1, false),
            EpollEventsOut if ok => self.epoll_events(out, v, self.result_len(), true),
            EpollCreateFlags => flags(out, v, EPOLL_CREATE_FLAGS),
            PipeFlags => flags(out, v, PIPE_FLAGS),
            EfdFlags => flags(out, v, EFD_FLAGS),
            TfdFlags => flags(out, v, TFD_FLAGS),
            TfdSettimeFlags => flags(out, v, TFD_SETTIME_FLAGS),
            SfdFlags => flags(out, v, SFD_FLAGS),
            InInitFlags => flags(out, v, IN_INIT_FLAGS),
            InotifyMask => flags(out, v & 0xffff_ffff, INOTIFY_MASK),
            MfdFlags => flags(out, v, MFD_FLAGS),
            RenameFlags => flags(out, v, RENAME_FLAGS),
            GrndFlags => flags(out, v, GRND_FLAGS),
            SpliceFlags => flags(out, v, SPLICE_FLAGS),
            FallocateMode => flags(out, v, FALLOCATE_MODES),
            Fadvice => value(out, v, FADVICE, int),
            IpcFlags => {
                let perms = v & 0o777;
                let rest = v & !0o777;
                if rest != 0 {
                    flags(out, rest, IPC_FLAGS);
                    out.push('|');
                }
                mode(out, perms);
            }
            IpcCmd => value(out, v & 0xff, IPC_CMDS, int),
            ShmatFlags => flags(out, v, SHMAT_FLAGS),
            MembarrierCmd => value(out, v, MEMBARRIER_CMDS, int),
            UmountFlags => flags(out, v, UMOUNT_FLAGS),
            CloseRangeFlags => flags(out, v, CLOSE_RANGE_FLAGS),
            OpenHow => self.open_how(out, v),
            // An output argument of a failed call: its address.
            OutBuf | RandomOut | OutPath | Cwd | TimespecOut | TimevalOut | ItimervalOut
            | ItimerspecOut | SigsetOut | SigactionOut | StackOut | StatOut | StatxOut
            | RlimitOut | FdPairOut | IntOut | IdOut | GroupsOut | CpuMaskOut | WaitStatus
            | Dirents | UtsnameOut | SockAddrOut | SockOptOut | MsgHdrOut | IovOut
            | EpollEventsOut => ptr(out, v),
        }
        true
    }

    /// Reads exactly `buf.len()` bytes at `addr`.
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> bool {
        addr != 0 && self.mem.read(addr, buf) == buf.len()
    }

    fn read_u32(&self, addr: u64) -> Option<u32> {
        let mut b = [0; 4];
        self.read_exact(addr, &mut b).then(|| u32::from_le_bytes(b))
    }

    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0; 8];
        self.read_exact(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    /// A NUL-terminated string at `addr`: its first `max` bytes and whether
    /// it goes on. `None` when nothing at `addr` is readable.
    fn read_cstr(&self, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
        const CHUNK: usize = 64;
        if addr == 0 {
            return None;
        }
        let mut bytes = Vec::new();
        let mut chunk = [0u8; CHUNK];
        loop {
            let at = addr.checked_add(bytes.len() as u64)?;
            let got = self.mem.read(at, &mut chunk);
            if got == 0 && bytes.is_empty() {
                return None;
            }
            if let Some(end) = chunk[..got].iter().position(|&b| b == 0) {
                bytes.extend_from_slice(&chunk[..end]);
                break;
            }
            bytes.extend_from_slice(&chunk[..got]);
            if got < CHUNK || bytes.len() > max {
                break;
            }
        }
        let more = bytes.len() > max;
        bytes.truncate(max);
        Some((bytes, more))
    }

    fn string(&self, out: &mut String, addr: u64, max: usize) {
        match self.read_cstr(addr, max) {
            Some((bytes, more)) => {
                quote(out, &bytes, false);
                if more {
                    out.push_str("...");
                }
            }
            None => ptr(out, addr),
        }
    }

    /// `len` bytes at `addr`, the first [`STRING_SHOWN`] of them.
    fn buffer(&self, out: &mut String, addr: u64, len: u64, force_hex: bool) {
        let shown = (len as usize).min(STRING_SHOWN);
        let mut data = [0u8; STRING_SHOWN];
        if !self.read_exact(addr, &mut data[..shown]) && shown > 0 {
            return ptr(out, addr);
        }
        if addr == 0 && shown == 0 {
            return ptr(out, addr);
        }
        quote(out, &data[..shown], force_hex);
        if len as usize > shown {
            out.push_str("...");
        }
    }

    fn timespec(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 16];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let (sec, nsec) = split_i64_pair(&b);
        let _ = write!(out, "{{tv_sec={sec}, tv_nsec={nsec}}}");
    }

    fn timeval(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 16];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let (sec, usec) = split_i64_pair(&b);
        let _ = write!(out, "{{tv_sec={sec}, tv_usec={usec}}}");
    }

    /// `struct itimerval` or `struct itimerspec` (same layout, named by
    /// the unit of the second field).
    fn itimer(&self, out: &mut String, addr: u64, sub: &str) {
        let mut b = [0u8; 32];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let (isec, isub) = split_i64_pair(&b[..16]);
        let (vsec, vsub) = split_i64_pair(&b[16..]);
        let _ = write!(
            out,
            "{{it_interval={{tv_sec={isec}, {sub}={isub}}}, it_value={{tv_sec={vsec}, {sub}={vsub}}}}}"
        );
    }

    fn utimens(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 32];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        out.push('[');
        for (n, half) in b.chunks(16).enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            let (sec, nsec) = split_i64_pair(half);
            let _ = write!(out, "{{tv_sec={sec}, tv_nsec=");
            match nsec {
                UTIME_NOW => out.push_str("UTIME_NOW"),
                UTIME_OMIT => out.push_str("UTIME_OMIT"),
                n => {
                    let _ = write!(out, "{n}");
                }
            }
            out.push('}');
        }
        out.push(']');
    }

    /// `struct sigevent`: value[8] signo[4] notify[4] tid[4].
    fn sigevent(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 20];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let sival = le_u64(&b, 0);
        let signo = le_u32(&b, 8);
        let notify = le_u32(&b, 12);
        let _ = write!(
            out,
            "{{sigev_value={{sival_int={}, sival_ptr={sival:#x}}}, sigev_signo=",
            sival as i32
        );
        signal(out, u64::from(signo));
        out.push_str(", sigev_notify=");
        value(out, u64::from(notify), SIGEV_NOTIFY, int);
        if notify == 4 {
            let _ = write!(out, ", sigev_notify_thread_id={}", le_u32(&b, 16) as i32);
        }
        out.push('}');
    }

    fn sigset(&self, out: &mut String, addr: u64) {
        match self.read_u64(addr) {
            Some(mask) => sigset(out, mask),
            None => ptr(out, addr),
        }
    }

    fn sigaction(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; crate::types::KernelSigaction::SIZE];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let act = crate::types::KernelSigaction::from_bytes(&b);
        out.push_str("{sa_handler=");
        match act.handler {
            crate::flags::SIG_DFL => out.push_str("SIG_DFL"),
            crate::flags::SIG_IGN => out.push_str("SIG_IGN"),
            h => hex(out, h),
        }
        out.push_str(", sa_mask=");
        sigset(out, act.mask);
        out.push_str(", sa_flags=");
        flags(out, act.flags, SA_FLAGS);
        if act.flags & crate::flags::SA_RESTORER != 0 {
            out.push_str(", sa_restorer=");
            ptr(out, act.restorer);
        }
        out.push('}');
    }

    /// `stack_t`: sp[8] flags[4] pad[4] size[8].
    fn stack(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 24];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        out.push_str("{ss_sp=");
        ptr(out, le_u64(&b, 0));
        out.push_str(", ss_flags=");
        flags(out, u64::from(le_u32(&b, 8)), SS_FLAGS);
        let _ = write!(out, ", ss_size={}}}", le_u64(&b, 16));
    }

    /// `struct stat`: st_mode at 24, st_rdev at 40, st_size at 48.
    fn stat(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 56];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let mode = le_u32(&b, 24);
        out.push_str("{st_mode=");
        file_mode(out, u64::from(mode));
        let file_type = mode & crate::flags::S_IFMT;
        if file_type == crate::flags::S_IFCHR || file_type == crate::flags::S_IFBLK {
            out.push_str(", st_rdev=");
            makedev(out, le_u64(&b, 40));
        } else {
            let _ = write!(out, ", st_size={}", le_u64(&b, 48) as i64);
        }
        out.push_str(", ...}");
    }

    /// `struct statx`: mask at 0, attributes at 8, mode at 28, size at 40.
    fn statx(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 48];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        out.push_str("{stx_mask=");
        flags(out, u64::from(le_u32(&b, 0)), STATX_MASK);
        out.push_str(", stx_attributes=");
        hex(out, le_u64(&b, 8));
        out.push_str(", stx_mode=");
        file_mode(out, u64::from(u16::from_le_bytes([b[28], b[29]])));
        let _ = write!(out, ", stx_size={}, ...}}", le_u64(&b, 40));
    }

    fn rlimit(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 16];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        out.push_str("{rlim_cur=");
        rlim(out, le_u64(&b, 0));
        out.push_str(", rlim_max=");
        rlim(out, le_u64(&b, 8));
        out.push('}');
    }

    /// `count` ints at `addr`: `[3, 4]`.
    fn ints(&self, out: &mut String, addr: u64, count: usize) {
        self.u32_list(out, addr, count, |out, v| int(out, u64::from(v)));
    }

    fn ids(&self, out: &mut String, addr: u64, count: usize) {
        self.u32_list(out, addr, count, |out, v| id(out, u64::from(v)));
    }

    fn u32_list(&self, out: &mut String, addr: u64, count: usize, show: fn(&mut String, u32)) {
        let shown = count.min(ELEMENTS_SHOWN * 2);
        let mut values = Vec::with_capacity(shown);
        for n in 0..shown {
            match self.read_u32(addr.wrapping_add(4 * n as u64)) {
                Some(v) => values.push(v),
                None => return ptr(out, addr),
            }
        }
        out.push('[');
        for (n, v) in values.into_iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            show(out, v);
        }
        if count > shown {
            out.push_str(", ...");
        }
        out.push(']');
    }

    /// A CPU mask of `len` bytes: the set CPUs, `[0 1]`.
    fn cpu_mask(&self, out: &mut String, addr: u64, len: usize) {
        const MASK_READ: usize = 128;
        let mut b = [0u8; MASK_READ];
        let len = len.min(MASK_READ);
        if !self.read_exact(addr, &mut b[..len]) {
            return ptr(out, addr);
        }
        out.push('[');
        let mut first = true;
        for cpu in 0..len * 8 {
            if b[cpu / 8] & (1 << (cpu % 8)) != 0 {
                if !first {
                    out.push(' ');
                }
                first = false;
                let _ = write!(out, "{cpu}");
            }
        }
        out.push(']');
    }

    fn wait_status(&self, out: &mut String, addr: u64) {
        let Some(status) = self.read_u32(addr) else {
            return ptr(out, addr);
        };
        let signal_bits = status & 0x7f;
        out.push_str("[{");
        if signal_bits == 0 {
            let _ = write!(
                out,
                "WIFEXITED(s) && WEXITSTATUS(s) == {}",
                (status >> 8) & 0xff
            );
        } else if status & 0xff == 0x7f {
            out.push_str("WIFSTOPPED(s) && WSTOPSIG(s) == ");
            signal(out, u64::from((status >> 8) & 0xff));
        } else if status == 0xffff {
            out.push_str("WIFCONTINUED(s)");
        } else {
            out.push_str("WIFSIGNALED(s) && WTERMSIG(s) == ");
            signal(out, u64::from(signal_bits));
            if status & 0x80 != 0 {
                out.push_str(" && WCOREDUMP(s)");
            }
        }
        out.push_str("}]");
    }

    fn argv(&self, out: &mut String, addr: u64) {
        if addr == 0 {
            return ptr(out, addr);
        }
        let mut items = Vec::new();
        let mut more = false;
        for n in 0..=ELEMENTS_SHOWN {
            let Some(p) = self.read_u64(addr.wrapping_add(8 * n as u64)) else {
                return ptr(out, addr);
            };
            if p == 0 {
                break;
            }
            if n == ELEMENTS_SHOWN {
                more = true;
                break;
            }
            items.push(p);
        }
        out.push('[');
        for (n, p) in items.into_iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            self.string(out, p, STRING_SHOWN);
        }
        if more {
            out.push_str(", ...");
        }
        out.push(']');
    }

    fn envp(&self, out: &mut String, addr: u64) {
        ptr(out, addr);
        if addr == 0 {
            return;
        }
        let mut count = 0;
        while count < ENV_COUNTED {
            match self.read_u64(addr.wrapping_add(8 * count as u64)) {
                Some(0) => break,
                Some(_) => count += 1,
                None => return,
            }
        }
        let _ = write!(
            out,
            " /* {count} var{} */",
            if count == 1 { "" } else { "s" }
        );
    }

    /// The entries of a getdents buffer of result bytes, counted by their
    /// `d_reclen` (at offset 16 in both layouts).
    fn dirents(&self, out: &mut String, addr: u64) {
        const RECLEN_OFFSET: u64 = 16;
        let len = self.result_len();
        let mut at = 0u64;
        let mut count = 0;
        while at < len && count < DIRENTS_COUNTED {
            let mut reclen = [0u8; 2];
            if !self.read_exact(addr.wrapping_add(at + RECLEN_OFFSET), &mut reclen) {
                break;
            }
            let reclen = u16::from_le_bytes(reclen);
            if reclen == 0 {
                break;
            }
            at += u64::from(reclen);
            count += 1;
        }
        ptr(out, addr);
        let _ = write!(
            out,
            " /* {count} entr{} */",
            if count == 1 { "y" } else { "ies" }
        );
    }

    fn utsname(&self, out: &mut String, addr: u64) {
        const FIELD: usize = crate::types::UTSNAME_FIELD_LEN;
        let mut b = [0u8; 2 * FIELD];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let field = |n: usize| {
            let f = &b[n * FIELD..(n + 1) * FIELD];
            &f[..f.iter().position(|&c| c == 0).unwrap_or(FIELD)]
        };
        out.push_str("{sysname=");
        quote(out, field(0), false);
        out.push_str(", nodename=");
        quote(out, field(1), false);
        out.push_str(", ...}");
    }

    /// A sockaddr of `len` bytes at `addr`.
    fn sockaddr(&self, out: &mut String, addr: u64, len: u64) {
        let len = (len as usize).min(SOCKADDR_READ);
        let mut b = [0u8; SOCKADDR_READ];
        if addr == 0 || len < 2 || !self.read_exact(addr, &mut b[..len]) {
            return ptr(out, addr);
        }
        sockaddr(out, &b[..len]);
    }

    fn sockopt_value(&self, out: &mut String, addr: u64, len: u64) {
        match len {
            4 => match self.read_u32(addr) {
                Some(v) => {
                    let _ = write!(out, "[{}]", v as i32);
                }
                None => ptr(out, addr),
            },
            8 if self.args[2] == crate::socket::SO_LINGER => {
                let mut b = [0u8; 8];
                if !self.read_exact(addr, &mut b) {
                    return ptr(out, addr);
                }
                let _ = write!(
                    out,
                    "{{l_onoff={}, l_linger={}}}",
                    le_u32(&b, 0) as i32,
                    le_u32(&b, 4) as i32
                );
            }
            16 if matches!(
                self.args[2],
                crate::socket::SO_RCVTIMEO | crate::socket::SO_SNDTIMEO
            ) =>
            {
                self.timeval(out, addr)
            }
            _ => ptr(out, addr),
        }
    }

    /// `struct msghdr`; `received` is recvmsg's byte count.
    fn msghdr(&self, out: &mut String, addr: u64, received: Option<u64>) {
        let mut b = [0u8; crate::socket::MsgHdr::SIZE];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let hdr = crate::socket::MsgHdr::from_bytes(&b);
        out.push_str("{msg_name=");
        if hdr.name == 0 {
            out.push_str("NULL");
        } else {
            self.sockaddr(out, hdr.name, u64::from(hdr.namelen));
        }
        let _ = write!(out, ", msg_namelen={}, msg_iov=", hdr.namelen);
        self.iovecs(out, hdr.iov, hdr.iovlen, received);
        let _ = write!(out, ", msg_iovlen={}", hdr.iovlen);
        if hdr.controllen > 0 {
            out.push_str(", msg_control=");
            self.cmsgs(out, hdr.control, hdr.controllen);
        }
        let _ = write!(out, ", msg_controllen={}, msg_flags=", hdr.controllen);
        flags(out, u64::from(hdr.flags), MSG_FLAGS);
        out.push('}');
    }

    /// Control messages: level, type, and the fds of SCM_RIGHTS or the
    /// credentials of SCM_CREDENTIALS.
    fn cmsgs(&self, out: &mut String, addr: u64, len: u64) {
        const CMSG_HEADER: u64 = 16;
        const SCM_RIGHTS: u32 = 1;
        const SCM_CREDENTIALS: u32 = 2;
        let mut at = 0u64;
        let mut shown = 0;
        out.push('[');
        while at + CMSG_HEADER <= len && shown < ELEMENTS_SHOWN {
            let mut h = [0u8; CMSG_HEADER as usize];
            if !self.read_exact(addr.wrapping_add(at), &mut h) {
                break;
            }
            let cmsg_len = le_u64(&h, 0);
            let level = le_u32(&h, 8);
            let kind = le_u32(&h, 12);
            if cmsg_len < CMSG_HEADER || at + cmsg_len > len {
                break;
            }
            if shown > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{{cmsg_len={cmsg_len}, cmsg_level=");
            value(out, u64::from(level), SOCK_LEVELS, int);
            let data = addr.wrapping_add(at + CMSG_HEADER);
            let data_len = (cmsg_len - CMSG_HEADER) as usize;
            if level as u64 == crate::socket::SOL_SOCKET && kind == SCM_RIGHTS {
                out.push_str(", cmsg_type=SCM_RIGHTS, cmsg_data=");
                self.ints(out, data, data_len / 4);
            } else if level as u64 == crate::socket::SOL_SOCKET && kind == SCM_CREDENTIALS {
                let mut c = [0u8; 12];
                out.push_str(", cmsg_type=SCM_CREDENTIALS, cmsg_data=");
                if data_len >= 12 && self.read_exact(data, &mut c) {
                    let _ = write!(
                        out,
                        "{{pid={}, uid={}, gid={}}}",
                        le_u32(&c, 0) as i32,
                        le_u32(&c, 4),
                        le_u32(&c, 8)
                    );
                } else {
                    ptr(out, data);
                }
            } else {
                let _ = write!(out, ", cmsg_type={kind:#x}");
            }
            out.push('}');
            shown += 1;
            // CMSG_ALIGN: the next header starts 8-aligned.
            at += (cmsg_len + 7) & !7;
        }
        out.push(']');
    }

    /// An iovec array of `count` entries; `data_len` is how many bytes the
    /// call filled (None: the call read them, show each buffer's start).
    fn iovecs(&self, out: &mut String, addr: u64, count: u64, data_len: Option<u64>) {
        if addr == 0 {
            return ptr(out, addr);
        }
        let mut remaining = data_len.unwrap_or(u64::MAX);
        out.push('[');
        let shown = count.min(ELEMENTS_SHOWN as u64);
        for n in 0..shown {
            let mut b = [0u8; 16];
            if !self.read_exact(addr.wrapping_add(16 * n), &mut b) {
                break;
            }
            let (base, len) = (le_u64(&b, 0), le_u64(&b, 8));
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str("{iov_base=");
            let filled = len.min(remaining);
            remaining -= filled;
            self.buffer(out, base, filled, false);
            let _ = write!(out, ", iov_len={len}}}");
        }
        if count > shown {
            out.push_str(", ...");
        }
        out.push(']');
    }

    fn pollfds(&self, out: &mut String, addr: u64, count: u64) {
        if addr == 0 {
            return ptr(out, addr);
        }
        out.push('[');
        let shown = count.min(ELEMENTS_SHOWN as u64);
        for n in 0..shown {
            let mut b = [0u8; 8];
            if !self.read_exact(addr.wrapping_add(8 * n), &mut b) {
                break;
            }
            if n > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{{fd={}, events=", le_u32(&b, 0) as i32);
            flags(
                out,
                u64::from(u16::from_le_bytes([b[4], b[5]])),
                POLL_EVENTS,
            );
            out.push('}');
        }
        if count > shown {
            out.push_str(", ...");
        }
        out.push(']');
    }

    /// `count` packed `struct epoll_event`s (events[4] data[8]); `array`
    /// shows them in brackets.
    fn epoll_events(&self, out: &mut String, addr: u64, count: u64, array: bool) {
        const EVENT_SIZE: u64 = 12;
        if addr == 0 {
            return ptr(out, addr);
        }
        if array {
            out.push('[');
        }
        let shown = count.min(ELEMENTS_SHOWN as u64);
        for n in 0..shown {
            let mut b = [0u8; EVENT_SIZE as usize];
            if !self.read_exact(addr.wrapping_add(EVENT_SIZE * n), &mut b) {
                if !array {
                    return ptr(out, addr);
                }
                break;
            }
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str("{events=");
            flags(out, u64::from(le_u32(&b, 0)), EPOLL_EVENTS);
            let data = le_u64(&b, 4);
            let _ = write!(out, ", data={{u32={}, u64={data}}}}}", data as u32);
        }
        if count > shown {
            out.push_str(", ...");
        }
        if array {
            out.push(']');
        }
    }

    fn ioctl_arg(&self, out: &mut String, request: u64, v: u64) -> bool {
        use crate::flags::*;
        let ok = self.succeeded();
        match request {
            TIOCNOTTY | FIOCLEX | FIONCLEX | 0x540c | 0x540d | 0x5437 | 0x5427 | 0x5428
            | 0x541d => return false,
            TCGETS if ok => self.termios(out, v),
            TCSETS | TCSETSW | TCSETSF => self.termios(out, v),
            TIOCGWINSZ if ok => self.winsize(out, v),
            TIOCSWINSZ => self.winsize(out, v),
            FIONREAD | TIOCGPGRP | 0x8004_5430 | 0x5429 | 0x5424 if ok => self.ints(out, v, 1),
            FIONBIO | TIOCSPGRP | 0x4004_5431 | 0x5452 | 0x5423 => self.ints(out, v, 1),
            TIOCSCTTY | 0x5409 | 0x540a | 0x540b => int(out, v),
            0x4004_5436 => signal(out, v),
            _ => hex(out, v),
        }
        true
    }

    /// strace's short form: speed and the four flags that matter most.
    fn termios(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 16];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let oflag = le_u32(&b, 4);
        let cflag = le_u32(&b, 8);
        let lflag = le_u32(&b, 12);
        out.push('{');
        value(out, u64::from(cflag & CBAUD), BAUD_RATES, hex);
        let mut bit = |on: bool, name: &str| {
            out.push(' ');
            if !on {
                out.push('-');
            }
            out.push_str(name);
        };
        bit(oflag & OPOST != 0, "opost");
        bit(lflag & ISIG != 0, "isig");
        bit(lflag & ICANON != 0, "icanon");
        bit(lflag & ECHO != 0, "echo");
        out.push_str(" ...}");
    }

    fn winsize(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 8];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let w = crate::types::Winsize::from_bytes(&b);
        let _ = write!(
            out,
            "{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}",
            w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel
        );
    }

    fn fcntl_arg(&self, out: &mut String, cmd: u64, v: u64) -> bool {
        use crate::flags::*;
        match cmd {
            F_GETFD | F_GETFL | 9 | 11 | 1025 | F_GETPIPE_SZ | F_GET_SEALS => return false,
            F_SETFD => flags(out, v, FD_FLAGS),
            F_SETFL => open_flags(out, v & 0xffff_ffff),
            F_DUPFD | F_DUPFD_CLOEXEC | 8 | F_SETPIPE_SZ | 1026 => int(out, v),
            10 => signal(out, v),
            1024 => value(out, v, LOCK_TYPES, int),
            F_ADD_SEALS => flags(out, v, SEALS),
            F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
                self.flock(out, v)
            }
            _ => hex(out, v),
        }
        true
    }

    /// `struct flock`: type[2] whence[2] pad[4] start[8] len[8] pid[4].
    fn flock(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 32];
        if !self.read_exact(addr, &mut b[..28]) {
            return ptr(out, addr);
        }
        out.push_str("{l_type=");
        value(
            out,
            u64::from(u16::from_le_bytes([b[0], b[1]])),
            LOCK_TYPES,
            int,
        );
        out.push_str(", l_whence=");
        value(
            out,
            u64::from(u16::from_le_bytes([b[2], b[3]])),
            WHENCE,
            int,
        );
        let _ = write!(
            out,
            ", l_start={}, l_len={}",
            le_u64(&b, 8) as i64,
            le_u64(&b, 16) as i64
        );
        if self.args[1] & 0xffff_ffff == crate::flags::F_GETLK
            || self.args[1] & 0xffff_ffff == F_OFD_GETLK
        {
            let _ = write!(out, ", l_pid={}", le_u32(&b, 24) as i32);
        }
        out.push('}');
    }

    /// futex's arguments after `val`, which ones depending on the operation.
    fn futex_arg(&self, out: &mut String, i: usize, v: u64) -> bool {
        use crate::flags::*;
        let cmd = self.args[1] & FUTEX_CMD_MASK;
        let timeout_ops = [
            FUTEX_WAIT,
            FUTEX_WAIT_BITSET,
            FUTEX_WAKE_BITSET,
            FUTEX_LOCK_PI,
            FUTEX_LOCK_PI2,
            FUTEX_WAIT_REQUEUE_PI,
        ];
        let requeue_ops = [
            FUTEX_REQUEUE,
            FUTEX_CMP_REQUEUE,
            FUTEX_CMP_REQUEUE_PI,
            FUTEX_WAKE_OP,
        ];
        match i {
            3 if timeout_ops.contains(&cmd) => self.timespec(out, v),
            3 if requeue_ops.contains(&cmd) => uint(out, v),
            4 if requeue_ops.contains(&cmd) || cmd == FUTEX_WAIT_REQUEUE_PI => ptr(out, v),
            5 if cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET => {
                if v as u32 == FUTEX_BITSET_MATCH_ANY {
                    out.push_str("FUTEX_BITSET_MATCH_ANY")
                } else {
                    hex(out, v & 0xffff_ffff)
                }
            }
            5 if cmd == FUTEX_CMP_REQUEUE || cmd == FUTEX_CMP_REQUEUE_PI => uint(out, v),
            5 if cmd == FUTEX_WAKE_OP => hex(out, v & 0xffff_ffff),
            _ => return false,
        }
        true
    }

    /// clone(flags, stack, parent_tid, child_tid, tls), as strace names them.
    fn clone(&self, out: &mut String) {
        let [flags_arg, stack, parent_tid, child_tid, tls, _] = *self.args;
        out.push_str("child_stack=");
        ptr(out, stack);
        out.push_str(", flags=");
        clone_flags(out, flags_arg);
        if flags_arg & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
            out.push_str(", parent_tid=");
            if self.succeeded() {
                self.ints(out, parent_tid, 1);
            } else {
                ptr(out, parent_tid);
            }
        }
        if flags_arg & CLONE_SETTLS != 0 {
            out.push_str(", tls=");
            ptr(out, tls);
        }
        if flags_arg & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
            out.push_str(", child_tidptr=");
            ptr(out, child_tid);
        }
    }

    /// `struct clone_args` (the first 64 bytes: flags, pidfd, child_tid,
    /// parent_tid, exit_signal, stack, stack_size, tls).
    fn clone_args(&self, out: &mut String, addr: u64, size: u64) {
        let mut b = [0u8; 64];
        if size < 64 || !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        let field = |n: usize| le_u64(&b, 8 * n);
        let flags_arg = field(0);
        out.push_str("{flags=");
        flags(out, flags_arg, CLONE_FLAGS);
        if flags_arg & CLONE_PIDFD != 0 {
            out.push_str(", pidfd=");
            ptr(out, field(1));
        }
        if flags_arg & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
            out.push_str(", child_tid=");
            ptr(out, field(2));
        }
        if flags_arg & CLONE_PARENT_SETTID != 0 {
            out.push_str(", parent_tid=");
            ptr(out, field(3));
        }
        out.push_str(", exit_signal=");
        signal(out, field(4));
        out.push_str(", stack=");
        ptr(out, field(5));
        out.push_str(", stack_size=");
        hex(out, field(6));
        if flags_arg & CLONE_SETTLS != 0 {
            out.push_str(", tls=");
            ptr(out, field(7));
        }
        out.push('}');
    }

    /// prctl's arguments after the option; strace shows only those the
    /// option uses when it knows the option.
    fn prctl_arg(&self, out: &mut String, i: usize, v: u64) -> bool {
        let option = self.args[0] & 0xffff_ffff;
        // Options that take no argument.
        const NO_ARGS: [u64; 9] = [2, 3, 5, 7, 21, 27, 30, 39, 42];
        if NO_ARGS.contains(&option) {
            return false;
        }
        match option {
            PR_SET_NAME => {
                if i != 1 {
                    return false;
                }
                self.string(out, v, STRING_SHOWN);
            }
            PR_GET_NAME => {
                if i != 1 {
                    return false;
                }
                if self.succeeded() {
                    self.string(out, v, STRING_SHOWN)
                } else {
                    ptr(out, v)
                }
            }
            1 => {
                if i != 1 {
                    return false;
                }
                signal(out, v);
            }
            // PR_CAPBSET_READ/DROP: a capability number.
            23 | 24 => {
                if i != 1 {
                    return false;
                }
                uint(out, v);
            }
            _ if value_name(PRCTL_OPTIONS, option).is_some() => {
                let _ = write!(out, "{v}");
            }
            _ => hex(out, v),
        }
        true
    }

    /// `struct open_how`: flags[8] mode[8] resolve[8].
    fn open_how(&self, out: &mut String, addr: u64) {
        let mut b = [0u8; 24];
        if !self.read_exact(addr, &mut b) {
            return ptr(out, addr);
        }
        out.push_str("{flags=");
        open_flags(out, le_u64(&b, 0));
        out.push_str(", mode=");
        mode(out, le_u64(&b, 8));
        out.push_str(", resolve=");
        hex(out, le_u64(&b, 16));
        out.push('}');
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn split_i64_pair(b: &[u8]) -> (i64, i64) {
    (le_u64(b, 0) as i64, le_u64(b, 8) as i64)
}

fn int(out: &mut String, v: u64) {
    let _ = write!(out, "{}", v as i32);
}

fn uint(out: &mut String, v: u64) {
    let _ = write!(out, "{}", v as u32);
}

/// strace's `%#lx`: `0` for zero, else `0x...`.
fn hex(out: &mut String, v: u64) {
    if v == 0 {
        out.push('0');
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

fn ptr(out: &mut String, v: u64) {
    if v == 0 {
        out.push_str("NULL");
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

fn dirfd(out: &mut String, v: u64) {
    if v as i32 == crate::flags::AT_FDCWD {
        out.push_str("AT_FDCWD");
    } else {
        int(out, v);
    }
}

fn id(out: &mut String, v: u64) {
    if v as u32 == u32::MAX {
        out.push_str("-1");
    } else {
        uint(out, v);
    }
}

/// Permission bits as C's `%#03o`: `0644`, `000`.
fn mode(out: &mut String, v: u64) {
    let _ = if v < 0o10 {
        write!(out, "00{v:o}")
    } else {
        write!(out, "0{v:o}")
    };
}

/// `S_IFREG|0644`, `S_IFDIR|S_ISVTX|0777`.
fn file_mode(out: &mut String, v: u64) {
    let file_type = v & u64::from(crate::flags::S_IFMT);
    if file_type != 0 {
        match value_name(FILE_TYPES, file_type) {
            Some(name) => out.push_str(name),
            None => hex(out, file_type),
        }
        out.push('|');
    }
    let special = v & 0o7000;
    if special != 0 {
        flags(out, special, MODE_SPECIAL_BITS);
        out.push('|');
    }
    mode(out, v & 0o777);
}

/// Linux's device number encoding, as strace's `makedev(0x1, 0x3)`.
fn makedev(out: &mut String, dev: u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    out.push_str("makedev(");
    hex(out, major);
    out.push_str(", ");
    hex(out, minor);
    out.push(')');
}

fn rlim(out: &mut String, v: u64) {
    if v == crate::flags::RLIM_INFINITY {
        out.push_str("RLIM64_INFINITY");
    } else if v > 1024 && v.is_multiple_of(1024) {
        let _ = write!(out, "{}*1024", v / 1024);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// The names of the bits of `v` in `table` joined by `|`, unknown bits in
/// hex after them, `0` when none is set.
fn flags(out: &mut String, v: u64, table: Flags) {
    let mut rest = v;
    let mut first = true;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            if !first {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bits;
            first = false;
        }
    }
    if rest != 0 {
        if !first {
            out.push('|');
        }
        let _ = write!(out, "{rest:#x}");
    } else if first {
        out.push('0');
    }
}

/// The name of `v` in `table`, or `v` as `fallback` shows it.
fn value(out: &mut String, v: u64, table: Values, fallback: fn(&mut String, u64)) {
    match value_name(table, v) {
        Some(name) => out.push_str(name),
        None => fallback(out, v),
    }
}

/// The access mode's name, then the other open flags.
fn open_flags(out: &mut String, v: u64) {
    let access = v & u64::from(crate::flags::O_ACCMODE);
    value(out, access, ACCESS_MODES, hex);
    let rest = v & !u64::from(crate::flags::O_ACCMODE);
    if rest != 0 {
        out.push('|');
        flags(out, rest, OPEN_FLAGS);
    }
}

fn signal(out: &mut String, v: u64) {
    match signal_name(v & 0xffff_ffff) {
        Some(name) => out.push_str(name),
        None => int(out, v),
    }
}

/// A signal mask: `[INT TERM]`, or `~[...]` of the signals not in it when
/// it holds more than half of them.
fn sigset(out: &mut String, mask: u64) {
    let (mask, prefix) = if mask.count_ones() > 32 {
        (!mask, "~[")
    } else {
        (mask, "[")
    };
    out.push_str(prefix);
    let mut first = true;
    for signo in 1..=64u64 {
        if mask & (1 << (signo - 1)) != 0 {
            if !first {
                out.push(' ');
            }
            first = false;
            match signal_name(signo) {
                Some(name) => out.push_str(name.trim_start_matches("SIG")),
                None => {
                    let _ = write!(out, "{signo}");
                }
            }
        }
    }
    out.push(']');
}

fn futex_op(out: &mut String, v: u64) {
    use crate::flags::{FUTEX_CLOCK_REALTIME, FUTEX_CMD_MASK, FUTEX_PRIVATE_FLAG};
    let Some(name) = value_name(FUTEX_CMDS, v & FUTEX_CMD_MASK) else {
        return hex(out, v);
    };
    out.push_str(name);
    if v & FUTEX_PRIVATE_FLAG != 0 {
        out.push_str("_PRIVATE");
    }
    if v & FUTEX_CLOCK_REALTIME != 0 {
        out.push_str("|FUTEX_CLOCK_REALTIME");
    }
}

/// clone's flags: the flag bits, then the exit signal in the low byte.
fn clone_flags(out: &mut String, v: u64) {
    let signo = v & CSIGNAL;
    let bits = v & !CSIGNAL;
    if bits != 0 {
        flags(out, bits, CLONE_FLAGS);
        if signo != 0 {
            out.push('|');
        }
    }
    if signo != 0 || bits == 0 {
        signal(out, signo);
    }
}

fn sock_type(out: &mut String, v: u64) {
    let base = v & u64::from(crate::socket::SOCK_TYPE_MASK);
    value(out, base, SOCK_TYPES, int);
    let rest = v & !u64::from(crate::socket::SOCK_TYPE_MASK) & 0xffff_ffff;
    if rest != 0 {
        out.push('|');
        flags(out, rest, SOCK_TYPE_FLAGS);
    }
}

/// A sockaddr as strace shows it, from its bytes.
fn sockaddr(out: &mut String, b: &[u8]) {
    use crate::socket::{AF_INET, AF_INET6, AF_UNIX};
    let family = u16::from_le_bytes([b[0], b[1]]);
    out.push_str("{sa_family=");
    value(out, u64::from(family), DOMAINS, uint);
    match family {
        AF_INET if b.len() >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = core::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            let _ = write!(
                out,
                ", sin_port=htons({port}), sin_addr=inet_addr(\"{ip}\")"
            );
        }
        AF_INET6 if b.len() >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let flowinfo = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&b[8..24]);
            let ip = core::net::Ipv6Addr::from(octets);
            let _ = write!(
                out,
                ", sin6_port=htons({port}), sin6_flowinfo=htonl({flowinfo}), inet_pton(AF_INET6, \"{ip}\", &sin6_addr)"
            );
            if b.len() >= 28 {
                let _ = write!(out, ", sin6_scope_id={}", le_u32(b, 24));
            }
        }
        AF_UNIX if b.len() > 2 => {
            let path = &b[2..];
            out.push_str(", sun_path=");
            if path[0] == 0 {
                out.push('@');
                quote(out, &path[1..], false);
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                quote(out, &path[..end], false);
            }
        }
        AF_UNIX => {}
        _ => out.push_str(", ..."),
    }
    out.push('}');
}

/// `bytes` in double quotes, escaped as strace escapes them: C escapes for
/// `\t\n\v\f\r`, octal for other unprintable bytes (three digits when a
/// digit follows), or `\xNN` for every byte when `force_hex`.
fn quote(out: &mut String, bytes: &[u8], force_hex: bool) {
    out.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        if force_hex {
            let _ = write!(out, "\\x{b:02x}");
            continue;
        }
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let digit_follows = bytes.get(i + 1).is_some_and(|c| (b'0'..=b'7').contains(c));
                if digit_follows {
                    let _ = write!(out, "\\{b:03o}");
                } else {
                    let _ = write!(out, "\\{b:o}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
