//! The Linux system call table: one `match` keyed by x86_64 numbers, one
//! function per call returning `Result<u64, Errno>`; the `-errno`
//! conversion happens here and nowhere else.

mod cred;
mod fdkinds;
mod fs;
mod io;
pub mod ipc;
mod mem;
mod misc;
pub use misc::{hostname, set_hostname, KERNEL_RELEASE};
mod net;
mod pidfd;
pub use pidfd::process_exited;
mod poll;
mod process;
mod signal;
mod splice;
mod time;

use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use lamina_abi::errno::Errno;
use lamina_abi::nr;
use lamina_proto::trace::MissingKind;
use spin::Mutex;

use crate::fs::vfs::Last;
use crate::process::Process;
use crate::task::Task;
use fs::XattrTarget;
use lamina_abi::flags::{AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW};
pub use misc::default_rlimits;
pub use process::{futex_forget, futex_forget_memory, futex_wake_address};

/// `AT_FDCWD` as the raw argument the `*at` calls take.
const CWD: u64 = AT_FDCWD as u64;

/// What the scheduler does after a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Back to user mode with the result in rax.
    Continue,
    /// The call waits (see `crate::task::wait`); it runs again on waking.
    Block,
    /// The task gives up the rest of its slice (`sched_yield`).
    Yield,
    /// The thread has ended (`exit`, `exit_group`).
    Exit,
}

pub type SysResult = Result<u64, Errno>;

/// Handles the system call the task just made (number in rax, arguments
/// in rdi, rsi, rdx, r10, r8, r9; result back in rax). A call that must
/// wait leaves rax alone, to run again when the task wakes.
pub fn dispatch(task: &mut Task) -> Flow {
    if crate::trace::enabled() {
        return crate::trace::syscall(task, run);
    }
    run(task)
}

fn run(task: &mut Task) -> Flow {
    let c = &task.ctx;
    let n = c.rax;
    let a = [c.rdi, c.rsi, c.rdx, c.r10, c.r8, c.r9];
    // The calls that change the task itself, outside the locked view.
    match n {
        nr::EXIT => return process::exit(task, a[0]),
        nr::EXIT_GROUP => return process::exit_group(task, a[0]),
        nr::RT_SIGRETURN => {
            if crate::task::frame::sigreturn(task).is_err() {
                crate::task::signal::bad_frame(task);
            }
            return Flow::Continue;
        }
        nr::SCHED_YIELD => {
            task.ctx.rax = 0;
            return Flow::Yield;
        }
        _ => {}
    }
    // The calls that read the task alone: no locked view to build (four
    // locks and three reference counts, most of such a call's cost).
    let quick = match n {
        nr::GETPID => Some(Ok(u64::from(task.pid()))),
        nr::GETTID => Some(Ok(u64::from(task.tid))),
        nr::GETPPID => Some(process::getppid(task)),
        _ => None,
    };
    if let Some(result) = quick {
        task.ctx.rax = result.unwrap_or_else(Errno::to_return);
        return Flow::Continue;
    }
    let mem = Arc::clone(&task.mem);
    let files = Arc::clone(&task.files);
    let fs_context = Arc::clone(&task.fs);
    let result = {
        let mut view = Process {
            mm: mem.space.lock(),
            shared_maps: mem.shared.lock(),
            fds: files.lock(),
            fs: fs_context.lock(),
            task,
        };
        call(&mut view, n, a)
    };
    drop((mem, files, fs_context));
    if result == Err(Errno::ERESTARTSYS) {
        // A signal already waiting interrupts the wait before it starts.
        if task.restart.value == 0 && crate::task::signal::interrupts_call(task) {
            task.restart = Default::default();
            return Flow::Continue;
        }
        return Flow::Block;
    }
    task.restart = Default::default();
    task.ctx.rax = match result {
        Ok(value) => value,
        Err(errno) => errno.to_return(),
    };
    if core::mem::take(&mut task.yield_after_call) {
        return Flow::Yield;
    }
    Flow::Continue
}

fn call(p: &mut Process, n: u64, a: [u64; 6]) -> SysResult {
    match n {
        nr::READ => io::read(p, a[0], a[1], a[2]),
        nr::WRITE => io::write(p, a[0], a[1], a[2]),
        nr::READV => io::readv(p, a[0], a[1], a[2]),
        nr::WRITEV => io::writev(p, a[0], a[1], a[2]),
        nr::CLOSE => io::close(p, a[0]),
        nr::DUP => io::dup(p, a[0]),
        nr::DUP2 => io::dup3(p, a[0], a[1], 0, true),
        nr::DUP3 => io::dup3(p, a[0], a[1], a[2], false),
        nr::IOCTL => io::ioctl(p, a[0], a[1], a[2]),
        nr::FCNTL => io::fcntl(p, a[0], a[1], a[2]),
        nr::FSTAT => io::fstat(p, a[0], a[1]),
        nr::NEWFSTATAT => fs::newfstatat(p, a[0], a[1], a[2], a[3]),
        nr::STATX => fs::statx(p, a[0], a[1], a[2], a[3], a[4]),
        nr::STAT => fs::stat(p, a[0], a[1], Last::Follow),
        nr::LSTAT => fs::stat(p, a[0], a[1], Last::NoFollow),
        nr::STATFS => fs::statfs(p, a[0], a[1]),
        nr::FSTATFS => fs::fstatfs(p, a[0], a[1]),
        nr::POLL => poll::poll(p, a[0], a[1], a[2]),
        nr::PPOLL => poll::ppoll(p, a[0], a[1], a[2], a[3], a[4]),
        nr::SELECT => poll::select(p, a[0], a[1], a[2], a[3], a[4]),
        nr::PSELECT6 => poll::pselect6(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::EPOLL_CREATE => poll::epoll_create(p, a[0]),
        nr::EPOLL_CREATE1 => poll::epoll_create1(p, a[0]),
        nr::EPOLL_CTL => poll::epoll_ctl(p, a[0], a[1], a[2], a[3]),
        nr::EPOLL_WAIT => poll::epoll_wait(p, a[0], a[1], a[2], a[3]),
        nr::EPOLL_PWAIT => poll::epoll_pwait(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::EPOLL_PWAIT2 => poll::epoll_pwait2(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::SYSINFO => misc::sysinfo(p, a[0]),
        nr::FADVISE64 => p.fds.file(a[0]).map(|_| 0),
        nr::LSEEK => io::lseek(p, a[0], a[1], a[2]),
        nr::PREAD64 => io::pread64(p, a[0], a[1], a[2], a[3]),
        nr::PWRITE64 => io::pwrite64(p, a[0], a[1], a[2], a[3]),
        nr::OPEN => fs::open(p, a[0], a[1], a[2]),
        nr::OPENAT => fs::openat(p, a[0], a[1], a[2], a[3]),
        nr::OPENAT2 => fs::openat2(p, a[0], a[1], a[2], a[3]),
        nr::CREAT => fs::creat(p, a[0], a[1]),
        nr::ACCESS => fs::faccessat(p, CWD, a[0], a[1], 0),
        nr::FACCESSAT => fs::faccessat(p, a[0], a[1], a[2], 0),
        nr::FACCESSAT2 => fs::faccessat(p, a[0], a[1], a[2], a[3]),
        nr::GETDENTS64 => fs::getdents64(p, a[0], a[1], a[2]),
        nr::MKDIR => fs::mkdirat(p, CWD, a[0], a[1]),
        nr::MKDIRAT => fs::mkdirat(p, a[0], a[1], a[2]),
        nr::RMDIR => fs::unlinkat(p, CWD, a[0], u64::from(AT_REMOVEDIR)),
        nr::UNLINK => fs::unlinkat(p, CWD, a[0], 0),
        nr::UNLINKAT => fs::unlinkat(p, a[0], a[1], a[2]),
        nr::RENAME => fs::renameat2(p, CWD, a[0], CWD, a[1], 0),
        nr::RENAMEAT => fs::renameat2(p, a[0], a[1], a[2], a[3], 0),
        nr::RENAMEAT2 => fs::renameat2(p, a[0], a[1], a[2], a[3], a[4]),
        nr::LINK => fs::linkat(p, CWD, a[0], CWD, a[1], 0),
        nr::LINKAT => fs::linkat(p, a[0], a[1], a[2], a[3], a[4]),
        nr::SYMLINK => fs::symlinkat(p, a[0], CWD, a[1]),
        nr::SYMLINKAT => fs::symlinkat(p, a[0], a[1], a[2]),
        nr::CHMOD => fs::fchmodat(p, CWD, a[0], a[1]),
        nr::FCHMODAT => fs::fchmodat(p, a[0], a[1], a[2]),
        nr::FCHMOD => fs::fchmod(p, a[0], a[1]),
        nr::CHOWN => fs::fchownat(p, CWD, a[0], a[1], a[2], 0),
        nr::LCHOWN => fs::fchownat(p, CWD, a[0], a[1], a[2], u64::from(AT_SYMLINK_NOFOLLOW)),
        nr::FCHOWNAT => fs::fchownat(p, a[0], a[1], a[2], a[3], a[4]),
        nr::FCHOWN => fs::fchown(p, a[0], a[1], a[2]),
        nr::TRUNCATE => fs::truncate(p, a[0], a[1]),
        nr::FTRUNCATE => fs::ftruncate(p, a[0], a[1]),
        nr::FALLOCATE => fs::fallocate(p, a[0], a[1], a[2], a[3]),
        nr::FSYNC | nr::FDATASYNC | nr::SYNCFS => fs::fsync(p, a[0]),
        nr::SYNC => Ok(0),
        nr::UTIMENSAT => fs::utimensat(p, a[0], a[1], a[2], a[3]),
        nr::CHDIR => fs::chdir(p, a[0]),
        nr::FCHDIR => fs::fchdir(p, a[0]),
        nr::UMASK => fs::umask(p, a[0]),
        nr::SENDFILE => fs::sendfile(p, a[0], a[1], a[2], a[3]),
        nr::COPY_FILE_RANGE => fs::copy_file_range(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::FLOCK => fs::flock(p, a[0], a[1]),
        nr::GETXATTR => fs::getxattr(p, XattrTarget::Path(Last::Follow), a[0]),
        nr::LGETXATTR => fs::getxattr(p, XattrTarget::Path(Last::NoFollow), a[0]),
        nr::FGETXATTR => fs::getxattr(p, XattrTarget::Fd, a[0]),
        nr::LISTXATTR => fs::listxattr(p, XattrTarget::Path(Last::Follow), a[0]),
        nr::LLISTXATTR => fs::listxattr(p, XattrTarget::Path(Last::NoFollow), a[0]),
        nr::FLISTXATTR => fs::listxattr(p, XattrTarget::Fd, a[0]),
        nr::SETXATTR | nr::REMOVEXATTR => fs::setxattr(p, XattrTarget::Path(Last::Follow), a[0]),
        nr::LSETXATTR | nr::LREMOVEXATTR => {
            fs::setxattr(p, XattrTarget::Path(Last::NoFollow), a[0])
        }
        nr::FSETXATTR | nr::FREMOVEXATTR => fs::setxattr(p, XattrTarget::Fd, a[0]),
        nr::PREADV => io::preadv(p, a[0], a[1], a[2], a[3]),
        nr::PWRITEV => io::pwritev(p, a[0], a[1], a[2], a[3]),
        nr::BRK => Ok(p.mm.brk(a[0])),
        nr::MMAP => mem::mmap(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::MUNMAP => mem::munmap(p, a[0], a[1]),
        nr::MSYNC => mem::msync(p, a[0], a[1], a[2]),
        nr::MPROTECT => mem::mprotect(p, a[0], a[1], a[2]),
        nr::MREMAP => mem::mremap(p, a[0], a[1], a[2], a[3], a[4]),
        nr::MADVISE => mem::madvise(p, a[0], a[1], a[2]),
        nr::ARCH_PRCTL => misc::arch_prctl(p, a[0], a[1]),
        nr::SET_TID_ADDRESS => misc::set_tid_address(p, a[0]),
        nr::SET_ROBUST_LIST => misc::set_robust_list(p, a[0], a[1]),
        nr::RSEQ => misc::rseq(p, a[0], a[1], a[2]),
        nr::GETPGRP => process::getpgid(p, 0),
        nr::GETPGID => process::getpgid(p, a[0]),
        nr::GETSID => process::getsid(p, a[0]),
        nr::SETPGID => process::setpgid(p, a[0], a[1]),
        nr::SETSID => process::setsid(p),
        nr::CLONE => process::clone(p, a[0], a[1], a[2], a[3], a[4]),
        nr::CLONE3 => process::clone3(p, a[0], a[1]),
        nr::FORK => process::fork(p),
        nr::VFORK => process::vfork(p),
        nr::EXECVE => process::execve(p, a[0], a[1], a[2]),
        nr::EXECVEAT => process::execveat(p, a[0], a[1], a[2], a[3], a[4]),
        nr::WAIT4 => process::wait4(p, a[0], a[1], a[2], a[3]),
        nr::WAITID => process::waitid(p, a[0], a[1], a[2], a[3]),
        nr::GETRUSAGE => process::getrusage(p, a[0], a[1]),
        nr::TIMES => process::times(p, a[0]),
        nr::PRCTL => cred::prctl(p, a).unwrap_or_else(|| process::prctl(p, a[0], a[1])),
        nr::FUTEX => process::futex(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::ALARM => process::alarm(p, a[0]),
        nr::SETITIMER => process::setitimer(p, a[0], a[1], a[2]),
        nr::GETITIMER => process::getitimer(p, a[0], a[1]),
        nr::SOCKET => net::socket(p, a[0], a[1], a[2]),
        nr::SOCKETPAIR => net::socketpair(p, a[0], a[1], a[2], a[3]),
        nr::BIND => net::bind(p, a[0], a[1], a[2]),
        nr::LISTEN => net::listen(p, a[0], a[1]),
        nr::ACCEPT => net::accept4(p, a[0], a[1], a[2], 0),
        nr::ACCEPT4 => net::accept4(p, a[0], a[1], a[2], a[3]),
        nr::CONNECT => net::connect(p, a[0], a[1], a[2]),
        nr::SHUTDOWN => net::shutdown(p, a[0], a[1]),
        nr::GETSOCKNAME => net::getsockname(p, a[0], a[1], a[2]),
        nr::GETPEERNAME => net::getpeername(p, a[0], a[1], a[2]),
        nr::SETSOCKOPT => net::setsockopt(p, a[0], a[1], a[2], a[3], a[4]),
        nr::GETSOCKOPT => net::getsockopt(p, a[0], a[1], a[2], a[3], a[4]),
        nr::SENDTO => net::sendto(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::RECVFROM => net::recvfrom(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::SENDMSG => net::sendmsg(p, a[0], a[1], a[2]),
        nr::RECVMSG => net::recvmsg(p, a[0], a[1], a[2]),
        nr::PIPE => io::pipe2(p, a[0], 0),
        nr::PIPE2 => io::pipe2(p, a[0], a[1]),
        nr::PAUSE => signal::pause(p),
        nr::RT_SIGSUSPEND => signal::rt_sigsuspend(p, a[0], a[1]),
        nr::RT_SIGTIMEDWAIT => signal::rt_sigtimedwait(p, a[0], a[1], a[2], a[3]),
        nr::RT_SIGPENDING => signal::rt_sigpending(p, a[0], a[1]),
        nr::GETUID => cred::getuid(p),
        nr::GETEUID => cred::geteuid(p),
        nr::GETGID => cred::getgid(p),
        nr::GETEGID => cred::getegid(p),
        nr::SETUID => cred::setuid(p, a[0]),
        nr::SETGID => cred::setgid(p, a[0]),
        nr::SETREUID => cred::setreuid(p, a[0], a[1]),
        nr::SETREGID => cred::setregid(p, a[0], a[1]),
        nr::SETRESUID => cred::setresuid(p, a[0], a[1], a[2]),
        nr::SETRESGID => cred::setresgid(p, a[0], a[1], a[2]),
        nr::GETRESUID => cred::getresuid(p, a[0], a[1], a[2]),
        nr::GETRESGID => cred::getresgid(p, a[0], a[1], a[2]),
        nr::SETFSUID => cred::setfsuid(p, a[0]),
        nr::SETFSGID => cred::setfsgid(p, a[0]),
        nr::GETGROUPS => cred::getgroups(p, a[0], a[1]),
        nr::SETGROUPS => cred::setgroups(p, a[0], a[1]),
        nr::CAPGET => cred::capget(p, a[0], a[1]),
        nr::CAPSET => cred::capset(p, a[0], a[1]),
        nr::UNAME => misc::uname(p, a[0]),
        nr::SETHOSTNAME => misc::sethostname(p, a[0], a[1]),
        nr::PRLIMIT64 => misc::prlimit64(p, a[0], a[1], a[2], a[3]),
        nr::GETRLIMIT => misc::prlimit64(p, 0, a[0], 0, a[1]),
        nr::SETRLIMIT => misc::prlimit64(p, 0, a[0], a[1], 0),
        nr::GETRANDOM => misc::getrandom(p, a[0], a[1], a[2]),
        nr::READLINK => fs::readlinkat(p, CWD, a[0], a[1], a[2]),
        nr::READLINKAT => fs::readlinkat(p, a[0], a[1], a[2], a[3]),
        nr::SCHED_GETAFFINITY => misc::sched_getaffinity(p, a[0], a[1], a[2]),
        nr::GETCWD => misc::getcwd(p, a[0], a[1]),
        nr::RT_SIGACTION => signal::rt_sigaction(p, a[0], a[1], a[2], a[3]),
        nr::RT_SIGPROCMASK => signal::rt_sigprocmask(p, a[0], a[1], a[2], a[3]),
        nr::SIGALTSTACK => signal::sigaltstack(p, a[0], a[1]),
        nr::KILL => process::kill(p, a[0], a[1]),
        nr::TKILL => process::tkill(p, a[0], a[1]),
        nr::TGKILL => process::tgkill(p, a[0], a[1], a[2]),
        nr::RT_SIGQUEUEINFO => process::rt_sigqueueinfo(p, a[0], a[1], a[2]),
        nr::CLOCK_GETTIME => time::clock_gettime(p, a[0], a[1]),
        nr::CLOCK_GETRES => time::clock_getres(p, a[0], a[1]),
        nr::GETTIMEOFDAY => time::gettimeofday(p, a[0], a[1]),
        nr::TIME => time::time(p, a[0]),
        nr::NANOSLEEP => time::nanosleep(p, a[0]),
        nr::CLOCK_NANOSLEEP => time::clock_nanosleep(p, a[0], a[1], a[2]),
        nr::EVENTFD => fdkinds::eventfd2(p, a[0], 0),
        nr::EVENTFD2 => fdkinds::eventfd2(p, a[0], a[1]),
        nr::TIMERFD_CREATE => fdkinds::timerfd_create(p, a[0], a[1]),
        nr::TIMERFD_SETTIME => fdkinds::timerfd_settime(p, a[0], a[1], a[2], a[3]),
        nr::TIMERFD_GETTIME => fdkinds::timerfd_gettime(p, a[0], a[1]),
        nr::SIGNALFD => fdkinds::signalfd4(p, a[0], a[1], a[2], 0),
        nr::SIGNALFD4 => fdkinds::signalfd4(p, a[0], a[1], a[2], a[3]),
        nr::MEMFD_CREATE => fdkinds::memfd_create(p, a[0], a[1]),
        nr::TIMER_CREATE => fdkinds::timer_create(p, a[0], a[1], a[2]),
        nr::TIMER_SETTIME => fdkinds::timer_settime(p, a[0], a[1], a[2], a[3]),
        nr::TIMER_GETTIME => fdkinds::timer_gettime(p, a[0], a[1]),
        nr::TIMER_GETOVERRUN => fdkinds::timer_getoverrun(p, a[0]),
        nr::TIMER_DELETE => fdkinds::timer_delete(p, a[0]),
        nr::INOTIFY_INIT => fdkinds::inotify_init1(p, 0),
        nr::INOTIFY_INIT1 => fdkinds::inotify_init1(p, a[0]),
        nr::INOTIFY_ADD_WATCH => fdkinds::inotify_add_watch(p, a[0], a[1], a[2]),
        nr::INOTIFY_RM_WATCH => fdkinds::inotify_rm_watch(p, a[0], a[1]),
        nr::SHMGET => ipc::shmget(p, a[0], a[1], a[2]),
        nr::SHMAT => ipc::shmat(p, a[0], a[1], a[2]),
        nr::SHMDT => ipc::shmdt(p, a[0]),
        nr::SHMCTL => ipc::shmctl(p, a[0], a[1], a[2]),
        nr::SEMGET => ipc::semget(p, a[0], a[1], a[2]),
        nr::SEMOP => ipc::semop(p, a[0], a[1], a[2]),
        nr::SEMTIMEDOP => ipc::semtimedop(p, a[0], a[1], a[2], a[3]),
        nr::SEMCTL => ipc::semctl(p, a[0], a[1], a[2], a[3]),
        nr::MSGGET => ipc::msgget(p, a[0], a[1]),
        nr::MSGSND => ipc::msgsnd(p, a[0], a[1], a[2], a[3]),
        nr::MSGRCV => ipc::msgrcv(p, a[0], a[1], a[2], a[3], a[4]),
        nr::MSGCTL => ipc::msgctl(p, a[0], a[1], a[2]),
        nr::SENDMMSG => net::sendmmsg(p, a[0], a[1], a[2], a[3]),
        nr::RECVMMSG => net::recvmmsg(p, a[0], a[1], a[2], a[3], a[4]),
        nr::CLOSE_RANGE => io::close_range(p, a[0], a[1], a[2]),
        nr::PIDFD_OPEN => pidfd::pidfd_open(p, a[0], a[1]),
        nr::PIDFD_SEND_SIGNAL => pidfd::pidfd_send_signal(p, a[0], a[1], a[2], a[3]),
        nr::MKNOD => fs::mknodat(p, CWD, a[0], a[1], a[2]),
        nr::MKNODAT => fs::mknodat(p, a[0], a[1], a[2], a[3]),
        nr::SPLICE => splice::splice(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        nr::TEE => splice::tee(p, a[0], a[1], a[2], a[3]),
        nr::VMSPLICE => splice::vmsplice(p, a[0], a[1], a[2], a[3]),
        nr::PERSONALITY => misc::personality(p, a[0]),
        nr::GETCPU => misc::getcpu(p, a[0], a[1]),
        nr::SCHED_SETAFFINITY => misc::sched_setaffinity(p, a[0], a[1], a[2]),
        nr::MEMBARRIER => misc::membarrier(p, a[0], a[1]),
        nr::MLOCK | nr::MUNLOCK => mem::munlock(p, a[0], a[1]),
        nr::MLOCK2 => mem::mlock2(p, a[0], a[1], a[2]),
        nr::MLOCKALL => mem::mlockall(a[0]),
        nr::MUNLOCKALL => Ok(0),
        nr::UTIME => fs::utime(p, a[0], a[1]),
        nr::UTIMES => fs::futimesat(p, CWD, a[0], a[1]),
        nr::FUTIMESAT => fs::futimesat(p, a[0], a[1], a[2]),
        other => unimplemented(other),
    }
}

/// Numbers already reported, so each unimplemented call is logged once
/// (bounded: a workload cycling through random numbers cannot grow it).
static REPORTED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());
const MAX_REPORTED: usize = 512;

fn unimplemented(n: u64) -> SysResult {
    crate::trace::missing(MissingKind::Syscall, nr::name(n).unwrap_or(""), n);
    if crate::console::verbose() {
        let mut reported = REPORTED.lock();
        if reported.len() < MAX_REPORTED && reported.insert(n) {
            crate::console::log_line(format_args!(
                "syscall: {} ({}) is not implemented: ENOSYS",
                nr::name(n).unwrap_or("unknown"),
                n
            ));
        }
    }
    Err(Errno::ENOSYS)
}
