//! Golden strings from strace 6.1 (`strace -f` of a C program making the
//! same calls on Linux x86_64), with the addresses of this fake memory.

use super::*;
use crate::nr;
use alloc::format;
use alloc::string::ToString;

/// User memory made of a few regions.
#[derive(Default)]
struct FakeMemory {
    regions: Vec<(u64, Vec<u8>)>,
}

impl FakeMemory {
    fn with(mut self, addr: u64, bytes: &[u8]) -> Self {
        self.regions.push((addr, bytes.to_vec()));
        self
    }
}

impl UserMemory for FakeMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> usize {
        for (start, bytes) in &self.regions {
            if addr >= *start && addr < start + bytes.len() as u64 {
                let from = &bytes[(addr - start) as usize..];
                let n = from.len().min(buf.len());
                buf[..n].copy_from_slice(&from[..n]);
                return n;
            }
        }
        0
    }
}

const A: u64 = 0x7ffd_0000_1000;
const B: u64 = 0x7ffd_0000_2000;
const C: u64 = 0x7ffd_0000_3000;

fn args(list: &[u64]) -> [u64; 6] {
    let mut a = [0; 6];
    a[..list.len()].copy_from_slice(list);
    a
}

fn show(nr: u64, list: &[u64], result: i64, mem: &FakeMemory) -> String {
    let mut out = String::new();
    format_syscall(nr, &args(list), result, mem, &mut out);
    out
}

fn decoration(nr: u64, list: &[u64], result: i64) -> String {
    let mut out = String::new();
    format_result(nr, &args(list), result, &mut out);
    out
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn none() -> FakeMemory {
    FakeMemory::default()
}

const AT_FDCWD: u64 = (-100i64) as u64;

#[test]
fn open_calls() {
    let mem = none().with(A, &cstr("/etc/hostname"));
    assert_eq!(
        show(nr::OPENAT, &[AT_FDCWD, A, 0o2000000], 3, &mem),
        r#"AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC"#
    );
    let mem = none().with(A, &cstr("/nonexistent"));
    assert_eq!(
        show(nr::OPENAT, &[AT_FDCWD, A, 0o1101, 0o644], 3, &mem),
        r#"AT_FDCWD, "/nonexistent", O_WRONLY|O_CREAT|O_TRUNC, 0644"#
    );
    assert_eq!(
        show(nr::OPEN, &[A, 0o200000], -2, &mem),
        r#""/nonexistent", O_RDONLY|O_DIRECTORY"#
    );
    // A bad pointer is its address.
    assert_eq!(
        show(nr::OPENAT, &[3, 0x10, 2], -14, &none()),
        "3, 0x10, O_RDWR"
    );
    assert_eq!(show(nr::CLOSE, &[3], 0, &none()), "3");
    assert_eq!(
        show(
            nr::ACCESS,
            &[A, 6],
            0,
            &none().with(A, &cstr("/etc/passwd"))
        ),
        r#""/etc/passwd", R_OK|W_OK"#
    );
    assert_eq!(
        show(nr::ACCESS, &[A, 0], -2, &none().with(A, &cstr("/x"))),
        r#""/x", F_OK"#
    );
}

#[test]
fn read_and_write_show_data() {
    let mem = none().with(A, b"vm\n");
    assert_eq!(show(nr::READ, &[3, A, 100], 3, &mem), r#"3, "vm\n", 100"#);
    // On error the buffer is an address.
    assert_eq!(
        show(nr::READ, &[3, A, 100], -11, &mem),
        "3, 0x7ffd00001000, 100"
    );
    let mem = none().with(A, b"hello\n\t\x01\x012 \"x\"\\\0");
    assert_eq!(
        show(nr::WRITE, &[1, A, 16], 16, &mem),
        r#"1, "hello\n\t\1\0012 \"x\"\\\0", 16"#
    );
    let mem = none().with(A, b"0123456789012345678901234567890123456789");
    assert_eq!(
        show(nr::WRITE, &[1, A, 40], 40, &mem),
        r#"1, "01234567890123456789012345678901"..., 40"#
    );
    let elf = b"\x7fELF\x02\x01\x01\x03\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0\x10t\x02\0\0\0\0\0";
    let mut data = elf.to_vec();
    data.resize(832, 0);
    assert_eq!(
        show(nr::READ, &[4, A, 832], 832, &none().with(A, &data)),
        r#"4, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0"..., 832"#
    );
    assert_eq!(show(nr::READ, &[0, A, 10], 0, &mem), r#"0, "", 10"#);
    assert_eq!(
        show(
            nr::PREAD64,
            &[3, A, 784, 64],
            4,
            &none().with(A, b"\x06\0\0\0")
        ),
        r#"3, "\6\0\0\0", 784, 64"#
    );
    assert_eq!(
        show(
            nr::GETRANDOM,
            &[A, 4, 1],
            4,
            &none().with(A, &[0xde, 0xad, 0, 1])
        ),
        r#""\xde\xad\x00\x01", 4, GRND_NONBLOCK"#
    );
}

fn stat_bytes(mode: u32, rdev: u64, size: i64) -> Vec<u8> {
    let st = crate::types::Stat {
        st_mode: mode,
        st_rdev: rdev,
        st_size: size,
        ..Default::default()
    };
    st.to_bytes().to_vec()
}

#[test]
fn stat_calls() {
    let mem = none()
        .with(A, &cstr("/dev/null"))
        .with(B, &stat_bytes(0o20666, 0x103, 0));
    assert_eq!(
        show(nr::NEWFSTATAT, &[AT_FDCWD, A, B, 0], 0, &mem),
        r#"AT_FDCWD, "/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}, 0"#
    );
    let mem = none()
        .with(A, &cstr(""))
        .with(B, &stat_bytes(0o100644, 0, 45491));
    assert_eq!(
        show(nr::NEWFSTATAT, &[3, A, B, 0x1000], 0, &mem),
        r#"3, "", {st_mode=S_IFREG|0644, st_size=45491, ...}, AT_EMPTY_PATH"#
    );
    assert_eq!(
        show(nr::FSTAT, &[3, B], 0, &mem),
        "3, {st_mode=S_IFREG|0644, st_size=45491, ...}"
    );
    assert_eq!(show(nr::STAT, &[A, B], -2, &mem), r#""", 0x7ffd00002000"#);
    let mem = none()
        .with(A, &cstr("x"))
        .with(B, &stat_bytes(0o41777, 0, 4096));
    assert_eq!(
        show(nr::LSTAT, &[A, B], 0, &mem),
        r#""x", {st_mode=S_IFDIR|S_ISVTX|0777, st_size=4096, ...}"#
    );
}

#[test]
fn fcntl_and_its_decoration() {
    let m = none();
    assert_eq!(show(nr::FCNTL, &[3, 3], 0x8000, &m), "3, F_GETFL");
    assert_eq!(
        decoration(nr::FCNTL, &[3, 3], 0x8000),
        "(flags O_RDONLY|O_LARGEFILE)"
    );
    assert_eq!(show(nr::FCNTL, &[3, 1], 1, &m), "3, F_GETFD");
    assert_eq!(decoration(nr::FCNTL, &[3, 1], 1), "(flags FD_CLOEXEC)");
    assert_eq!(decoration(nr::FCNTL, &[3, 1], 0), "");
    assert_eq!(decoration(nr::FCNTL, &[3, 1], -9), "");
    assert_eq!(show(nr::FCNTL, &[3, 2, 1], 0, &m), "3, F_SETFD, FD_CLOEXEC");
    assert_eq!(
        show(nr::FCNTL, &[3, 4, 0o4000], 0, &m),
        "3, F_SETFL, O_RDONLY|O_NONBLOCK"
    );
    assert_eq!(
        show(nr::FCNTL, &[3, 1030, 10], 11, &m),
        "3, F_DUPFD_CLOEXEC, 10"
    );
    assert_eq!(show(nr::LSEEK, &[3, 0, 0], 0, &m), "3, 0, SEEK_SET");
    assert_eq!(
        show(nr::LSEEK, &[3, (-5i64) as u64, 2], 0, &m),
        "3, -5, SEEK_END"
    );
    assert_eq!(
        show(nr::DUP3, &[4, 10, 0o2000000], 10, &m),
        "4, 10, O_CLOEXEC"
    );
    let mem = none().with(A, &[4, 0, 0, 0, 5, 0, 0, 0]);
    assert_eq!(
        show(nr::PIPE2, &[A, 0o2000000], 0, &mem),
        "[4, 5], O_CLOEXEC"
    );
    assert_eq!(show(nr::PIPE2, &[A, 0], -24, &mem), "0x7ffd00001000, 0");
}

#[test]
fn memory_calls() {
    let m = none();
    assert_eq!(
        show(
            nr::MMAP,
            &[0, 8192, 3, 0x22, u64::MAX, 0],
            0x7f00_0000_0000,
            &m
        ),
        "NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0"
    );
    assert_eq!(
        show(
            nr::MMAP,
            &[0x7f7c67dec000, 1400832, 5, 0x812, 3, 0x26000],
            0x7f7c67dec000,
            &m
        ),
        "0x7f7c67dec000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000"
    );
    assert_eq!(
        show(nr::MPROTECT, &[0x7f7c67fb2000, 4096, 0], 0, &m),
        "0x7f7c67fb2000, 4096, PROT_NONE"
    );
    assert_eq!(
        show(nr::MUNMAP, &[0x7f7c67fb2000, 8192], 0, &m),
        "0x7f7c67fb2000, 8192"
    );
    assert_eq!(show(nr::BRK, &[0], 0x5600_0000, &m), "NULL");
    assert!(returns_address(nr::MMAP) && returns_address(nr::BRK));
    assert!(!returns_address(nr::READ));
    assert_eq!(
        show(nr::MADVISE, &[0x1000, 4096, 4], 0, &m),
        "0x1000, 4096, MADV_DONTNEED"
    );
    assert_eq!(
        show(nr::MREMAP, &[0x1000, 4096, 8192, 1], 0x2000, &m),
        "0x1000, 4096, 8192, MREMAP_MAYMOVE"
    );
    assert_eq!(
        show(nr::MREMAP, &[0x1000, 4096, 8192, 3, 0x5000], 0x5000, &m),
        "0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x5000"
    );
}

#[test]
fn signal_calls() {
    let act = crate::types::KernelSigaction {
        handler: 1,
        flags: 0x0400_0000 | 0x1000_0000,
        restorer: 0x7f7c67e02050,
        mask: 1 << 14,
    };
    let mem = none().with(A, &act.to_bytes());
    assert_eq!(
        show(nr::RT_SIGACTION, &[2, A, 0, 8], 0, &mem),
        "SIGINT, {sa_handler=SIG_IGN, sa_mask=[TERM], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f7c67e02050}, NULL, 8"
    );
    let old = crate::types::KernelSigaction::default();
    let mem = none().with(B, &old.to_bytes());
    assert_eq!(
        show(nr::RT_SIGACTION, &[17, 0, B, 8], 0, &mem),
        "SIGCHLD, NULL, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8"
    );
    let mem = none().with(A, &(1u64 << 16).to_le_bytes());
    assert_eq!(
        show(nr::RT_SIGPROCMASK, &[0, A, 0, 8], 0, &mem),
        "SIG_BLOCK, [CHLD], NULL, 8"
    );
    // glibc's unblocking of its two internal signals, and a full mask.
    let mem = none()
        .with(A, &(3u64 << 31).to_le_bytes())
        .with(B, &(!(3u64 << 31)).to_le_bytes());
    assert_eq!(
        show(nr::RT_SIGPROCMASK, &[1, A, 0, 8], 0, &mem),
        "SIG_UNBLOCK, [RTMIN RT_1], NULL, 8"
    );
    assert_eq!(
        show(nr::RT_SIGPROCMASK, &[2, B, 0, 8], 0, &mem),
        "SIG_SETMASK, ~[RTMIN RT_1], NULL, 8"
    );
    assert_eq!(show(nr::KILL, &[0, 0], 0, &none()), "0, 0");
    assert_eq!(show(nr::KILL, &[18620, 9], 0, &none()), "18620, SIGKILL");
    assert_eq!(show(nr::TGKILL, &[5, 6, 6], 0, &none()), "5, 6, SIGABRT");
    assert_eq!(signal_name(34), Some("SIGRT_2"));
    assert_eq!(signal_name(65), None);
}

#[test]
fn socket_calls() {
    let m = none();
    assert_eq!(
        show(nr::SOCKET, &[2, 1 | 0o2000000, 6], 6, &m),
        "AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP"
    );
    assert_eq!(
        show(nr::SOCKET, &[1, 1, 0], 7, &m),
        "AF_UNIX, SOCK_STREAM, 0"
    );
    assert_eq!(
        show(nr::SOCKET, &[10, 2, 0], 8, &m),
        "AF_INET6, SOCK_DGRAM, IPPROTO_IP"
    );
    let sin = [2, 0, 0, 9, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        show(nr::CONNECT, &[6, A, 16], -111, &none().with(A, &sin)),
        r#"6, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16"#
    );
    let mut sun = vec![1, 0];
    sun.extend_from_slice(b"/tmp/nosock");
    sun.resize(110, 0);
    assert_eq!(
        show(nr::CONNECT, &[7, A, 110], -2, &none().with(A, &sun)),
        r#"7, {sa_family=AF_UNIX, sun_path="/tmp/nosock"}, 110"#
    );
    let abstract_name = [1, 0, 0, b'x', b'y'];
    assert_eq!(
        show(nr::BIND, &[7, A, 5], 0, &none().with(A, &abstract_name)),
        r#"7, {sa_family=AF_UNIX, sun_path=@"xy"}, 5"#
    );
    let mut sin6 = vec![10, 0, 0, 80, 0, 0, 0, 0];
    sin6.extend_from_slice(&[0; 15]);
    sin6.push(1);
    sin6.extend_from_slice(&[0; 4]);
    assert_eq!(
        show(nr::CONNECT, &[8, A, 28], 0, &none().with(A, &sin6)),
        r#"8, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28"#
    );
    let one = 1u32.to_le_bytes();
    assert_eq!(
        show(nr::SETSOCKOPT, &[6, 1, 2, A, 4], 0, &none().with(A, &one)),
        "6, SOL_SOCKET, SO_REUSEADDR, [1], 4"
    );
    let mem = none().with(A, &sin).with(B, &16u32.to_le_bytes());
    assert_eq!(
        show(nr::ACCEPT4, &[3, A, B, 0o2000000], 4, &mem),
        r#"3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC"#
    );
    assert_eq!(
        show(nr::ACCEPT, &[3, A, B], -11, &mem),
        "3, 0x7ffd00001000, 0x7ffd00002000"
    );
    assert_eq!(show(nr::ACCEPT, &[3, 0, 0], 4, &mem), "3, NULL, NULL");
    assert_eq!(
        show(
            nr::SENDTO,
            &[3, C, 2, 0x4000, 0, 0],
            2,
            &none().with(C, b"hi")
        ),
        r#"3, "hi", 2, MSG_NOSIGNAL, NULL, 0"#
    );
    assert_eq!(show(nr::SHUTDOWN, &[3, 1], 0, &none()), "3, SHUT_WR");
    assert_eq!(show(nr::LISTEN, &[3, 128], 0, &none()), "3, 128");
}

#[test]
fn msghdr_with_rights() {
    // msg_iov at B, one iovec for "abc"; control at C with SCM_RIGHTS [5].
    let mut hdr = vec![0u8; 56];
    hdr[16..24].copy_from_slice(&B.to_le_bytes());
    hdr[24..32].copy_from_slice(&1u64.to_le_bytes());
    hdr[32..40].copy_from_slice(&C.to_le_bytes());
    hdr[40..48].copy_from_slice(&24u64.to_le_bytes());
    let mut iov = Vec::new();
    iov.extend_from_slice(&(B + 0x100).to_le_bytes());
    iov.extend_from_slice(&3u64.to_le_bytes());
    let mut cmsg = Vec::new();
    cmsg.extend_from_slice(&20u64.to_le_bytes());
    cmsg.extend_from_slice(&1u32.to_le_bytes());
    cmsg.extend_from_slice(&1u32.to_le_bytes());
    cmsg.extend_from_slice(&5u32.to_le_bytes());
    cmsg.extend_from_slice(&[0; 4]);
    let mem = none()
        .with(A, &hdr)
        .with(B, &iov)
        .with(B + 0x100, b"abc")
        .with(C, &cmsg);
    assert_eq!(
        show(nr::SENDMSG, &[3, A, 0], 3, &mem),
        r#"3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="abc", iov_len=3}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, 0"#
    );
    // recvmsg shows only the bytes received.
    assert!(show(nr::RECVMSG, &[3, A, 0], 2, &mem).contains(r#"iov_base="ab", iov_len=3"#));
}

#[test]
fn ioctl_calls() {
    let m = none();
    assert_eq!(
        show(nr::IOCTL, &[1, 0x5413, A], -25, &m),
        "1, TIOCGWINSZ, 0x7ffd00001000"
    );
    assert_eq!(
        show(nr::IOCTL, &[0, 0x5401, A], -25, &m),
        "0, TCGETS, 0x7ffd00001000"
    );
    let mem = none().with(A, &1u32.to_le_bytes());
    assert_eq!(show(nr::IOCTL, &[6, 0x5421, A], 0, &mem), "6, FIONBIO, [1]");
    let ws = crate::types::Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    assert_eq!(
        show(
            nr::IOCTL,
            &[1, 0x5413, A],
            0,
            &none().with(A, &ws.to_bytes())
        ),
        "1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}"
    );
    let termios = crate::types::Termios::linux_default();
    assert_eq!(
        show(
            nr::IOCTL,
            &[0, 0x5401, A],
            0,
            &none().with(A, &termios.to_bytes())
        ),
        "0, TCGETS, {B38400 opost isig icanon echo ...}"
    );
    assert_eq!(show(nr::IOCTL, &[0, 0x5422], 0, &m), "0, TIOCNOTTY");
    assert_eq!(
        show(
            nr::IOCTL,
            &[0, 0x5410, A],
            0,
            &none().with(A, &42u32.to_le_bytes())
        ),
        "0, TIOCSPGRP, [42]"
    );
    assert_eq!(show(nr::IOCTL, &[3, 0x1234, 7], -25, &m), "3, 0x1234, 0x7");
    assert_eq!(ioctl_name(0x5412), Some("TIOCSTI"));
    assert_eq!(ioctl_name(0x1234), None);
}

#[test]
fn poll_and_epoll() {
    let mut pollfd = 4u32.to_le_bytes().to_vec();
    pollfd.extend_from_slice(&[1, 0, 0, 0]);
    let mem = none().with(A, &pollfd);
    assert_eq!(
        show(nr::POLL, &[A, 1, 0], 0, &mem),
        "[{fd=4, events=POLLIN}], 1, 0"
    );
    assert_eq!(decoration(nr::POLL, &[A, 1, 0], 0), "(Timeout)");
    assert_eq!(decoration(nr::POLL, &[A, 1, 0], 1), "");
    assert_eq!(
        show(nr::EPOLL_CREATE1, &[0o2000000], 9, &none()),
        "EPOLL_CLOEXEC"
    );
    let mut event = (1u32 | 1 << 31).to_le_bytes().to_vec();
    event.extend_from_slice(&7u64.to_le_bytes());
    let mem = none().with(A, &event);
    assert_eq!(
        show(nr::EPOLL_CTL, &[9, 1, 4, A], 0, &mem),
        "9, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLET, data={u32=7, u64=7}}"
    );
    assert_eq!(
        show(nr::EPOLL_WAIT, &[9, A, 16, u64::MAX], 1, &mem),
        "9, [{events=EPOLLIN|EPOLLET, data={u32=7, u64=7}}], 16, -1"
    );
    assert_eq!(
        show(nr::EPOLL_WAIT, &[9, A, 16, 0], 0, &mem),
        "9, [], 16, 0"
    );
}

#[test]
fn time_and_futex() {
    let ts = crate::types::Timespec {
        tv_sec: 0,
        tv_nsec: 1000,
    };
    let mem = none().with(A, &ts.to_bytes());
    assert_eq!(
        show(nr::CLOCK_NANOSLEEP, &[0, 0, A, 0], 0, &mem),
        "CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000}, NULL"
    );
    assert_eq!(
        show(nr::CLOCK_GETTIME, &[1, A], 0, &mem),
        "CLOCK_MONOTONIC, {tv_sec=0, tv_nsec=1000}"
    );
    assert_eq!(
        show(nr::NANOSLEEP, &[A, 0], 0, &mem),
        "{tv_sec=0, tv_nsec=1000}, NULL"
    );
    let m = none();
    assert_eq!(
        show(nr::FUTEX, &[0x7ffde1f614ec, 129, 1], 0, &m),
        "0x7ffde1f614ec, FUTEX_WAKE_PRIVATE, 1"
    );
    assert_eq!(
        show(
            nr::FUTEX,
            &[0x7ffde1f614ec, 9 | 128 | 256, 1, 0, 0, 0xffff_ffff],
            -11,
            &m
        ),
        "0x7ffde1f614ec, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY"
    );
    assert_eq!(
        show(nr::FUTEX, &[0x1000, 128, 2, 0], 0, &m),
        "0x1000, FUTEX_WAIT_PRIVATE, 2, NULL"
    );
    assert_eq!(
        show(
            nr::FUTEX,
            &[0x1000, 4 | 128, 1, 0x7fff_ffff, 0x2000, 0],
            0,
            &m
        ),
        "0x1000, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2147483647, 0x2000, 0"
    );
}

#[test]
fn process_calls() {
    let m = none();
    assert_eq!(
        show(nr::CLONE, &[0x1200011, 0, 0, 0x7f7c67dc3a10, 0], 18619, &m),
        "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f7c67dc3a10"
    );
    let thread_flags = 0x3d0f00;
    let mem = none().with(A, &1235u32.to_le_bytes());
    assert_eq!(
        show(nr::CLONE, &[thread_flags, 0x7f00_0000_0000, A, B, C], 1235, &mem),
        "child_stack=0x7f0000000000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[1235], tls=0x7ffd00003000, child_tidptr=0x7ffd00002000"
    );
    let mem = none().with(A, &(3u32 << 8).to_le_bytes());
    assert_eq!(
        show(nr::WAIT4, &[18619, A, 0, 0], 18619, &mem),
        "18619, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL"
    );
    let mem = none().with(A, &9u32.to_le_bytes());
    assert_eq!(
        show(nr::WAIT4, &[18620, A, 0x4000_0000, 0], 18620, &mem),
        "18620, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], __WALL, NULL"
    );
    assert_eq!(
        show(nr::WAIT4, &[u64::MAX, A, 1, 0], 0, &mem),
        "-1, 0x7ffd00001000, WNOHANG, NULL"
    );
    let mut argv = Vec::new();
    for p in [B, B + 16, 0] {
        argv.extend_from_slice(&p.to_le_bytes());
    }
    let mut envp = Vec::new();
    for p in [B, B, 0] {
        envp.extend_from_slice(&p.to_le_bytes());
    }
    let mem = none()
        .with(A, &cstr("/bin/true"))
        .with(B, &cstr("/bin/true"))
        .with(B + 16, &cstr("a b"))
        .with(C, &argv)
        .with(C + 0x100, &envp);
    assert_eq!(
        show(nr::EXECVE, &[A, C, C + 0x100], 0, &mem),
        r#""/bin/true", ["/bin/true", "a b"], 0x7ffd00003100 /* 2 vars */"#
    );
    assert_eq!(show(nr::EXIT_GROUP, &[3], 0, &none()), "3");
    assert_eq!(show(nr::GETPID, &[], 1, &none()), "");
    assert_eq!(
        show(nr::ARCH_PRCTL, &[0x1002, 0x7f7c67dc3740], 0, &none()),
        "ARCH_SET_FS, 0x7f7c67dc3740"
    );
    assert_eq!(
        show(nr::SET_ROBUST_LIST, &[0x7f7c67dc3a20, 24], 0, &none()),
        "0x7f7c67dc3a20, 24"
    );
    assert_eq!(
        show(nr::RSEQ, &[0x7f7c67dc4060, 0x20, 0, 0x53053053], 0, &none()),
        "0x7f7c67dc4060, 0x20, 0, 0x53053053"
    );
    let rl = crate::types::Rlimit {
        rlim_cur: 8192 * 1024,
        rlim_max: u64::MAX,
    };
    let mem = none().with(A, &rl.to_bytes());
    assert_eq!(
        show(nr::PRLIMIT64, &[0, 3, 0, A], 0, &mem),
        "0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
    );
    let mem = none().with(A, &cstr("worker"));
    assert_eq!(
        show(nr::PRCTL, &[15, A], 0, &mem),
        r#"PR_SET_NAME, "worker""#
    );
    assert_eq!(
        show(nr::PRCTL, &[38, 1, 0, 0, 0], 0, &mem),
        "PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0"
    );
    assert_eq!(
        show(nr::PRCTL, &[3, 0, 0, 0, 0], 1, &mem),
        "PR_GET_DUMPABLE"
    );
}

#[test]
fn path_calls() {
    let mem = none().with(A, &cstr("/nonexistent-dir"));
    assert_eq!(
        show(nr::UNLINKAT, &[AT_FDCWD, A, 0x200], -2, &mem),
        r#"AT_FDCWD, "/nonexistent-dir", AT_REMOVEDIR"#
    );
    let mem = none().with(A, &cstr("/proc/x"));
    assert_eq!(
        show(nr::MKDIRAT, &[AT_FDCWD, A, 0o755], -2, &mem),
        r#"AT_FDCWD, "/proc/x", 0755"#
    );
    let mem = none().with(A, &cstr("/tmp/trace-golden"));
    assert_eq!(
        show(nr::GETCWD, &[A, 200], 18, &mem),
        r#""/tmp/trace-golden", 200"#
    );
    let mem = none()
        .with(A, &cstr("/proc/self/exe"))
        .with(B, b"/tmp/trace-golden/tXXXX");
    assert_eq!(
        show(nr::READLINK, &[A, B, 200], 19, &mem),
        r#""/proc/self/exe", "/tmp/trace-golden/t", 200"#
    );
    assert_eq!(show(nr::UMASK, &[0o22], 0o22, &none()), "022");
    assert_eq!(
        show(nr::CHMOD, &[A, 0], 0, &mem),
        r#""/proc/self/exe", 000"#
    );
    assert_eq!(
        show(nr::FACCESSAT2, &[AT_FDCWD, A, 4, 0x200], 0, &mem),
        r#"AT_FDCWD, "/proc/self/exe", R_OK, AT_EACCESS"#
    );
    // Paths longer than PATH_SHOWN are cut.
    let long = "a".repeat(PATH_SHOWN + 10);
    let shown = show(nr::CHDIR, &[A], 0, &none().with(A, &cstr(&long)));
    assert_eq!(shown, format!("\"{}\"...", "a".repeat(PATH_SHOWN)));
    // A string that runs off readable memory shows what was readable.
    assert_eq!(
        show(nr::CHDIR, &[A], 0, &none().with(A, b"abc")),
        r#""abc""#
    );
    assert_eq!(show(nr::CHDIR, &[0], -14, &none()), "NULL");
}

#[test]
fn more_calls_as_strace_shows_them() {
    let m = none();
    // statx: its mask, attributes and the stat fields that matter.
    let mut statx = vec![0u8; 256];
    statx[0..4].copy_from_slice(&(0x7ffu32 | 0x1000).to_le_bytes());
    statx[28..30].copy_from_slice(&0o100755u16.to_le_bytes());
    statx[40..48].copy_from_slice(&3u64.to_le_bytes());
    let mem = none().with(A, &cstr("/etc/hostname")).with(B, &statx);
    assert_eq!(
        show(nr::STATX, &[AT_FDCWD, A, 0x100, 0x7ff, B], 0, &mem),
        r#"AT_FDCWD, "/etc/hostname", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, {stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFREG|0755, stx_size=3, ...}"#
    );
    let mut stack = Vec::new();
    stack.extend_from_slice(&0x7fffaf0c1660u64.to_le_bytes());
    stack.extend_from_slice(&[0; 8]);
    stack.extend_from_slice(&4096u64.to_le_bytes());
    assert_eq!(
        show(nr::SIGALTSTACK, &[A, 0], 0, &none().with(A, &stack)),
        "{ss_sp=0x7fffaf0c1660, ss_flags=0, ss_size=4096}, NULL"
    );
    let act = crate::types::KernelSigaction {
        handler: 0x5642fbe5b329,
        flags: 0x0400_0000 | 0x0800_0000 | 4,
        restorer: 0x7fc317cc8050,
        mask: 0,
    };
    assert_eq!(
        show(nr::RT_SIGACTION, &[10, A, 0, 8], 0, &none().with(A, &act.to_bytes())),
        "SIGUSR1, {sa_handler=0x5642fbe5b329, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_SIGINFO, sa_restorer=0x7fc317cc8050}, NULL, 8"
    );
    let mem = none().with(A, &[4, 0, 0, 0, 5, 0, 0, 0]);
    assert_eq!(
        show(nr::SOCKETPAIR, &[1, 1, 0, A], 0, &mem),
        "AF_UNIX, SOCK_STREAM, 0, [4, 5]"
    );
    // writev shows what it was given, readv what it filled.
    let mut iovs = Vec::new();
    for (base, len) in [(B, 2u64), (C, 10)] {
        iovs.extend_from_slice(&base.to_le_bytes());
        iovs.extend_from_slice(&len.to_le_bytes());
    }
    let mem = none()
        .with(A, &iovs)
        .with(B, b"ab")
        .with(C, b"cde\0\0\0\0\0\0\0");
    assert_eq!(
        show(nr::READV, &[5, A, 2], 5, &mem),
        r#"5, [{iov_base="ab", iov_len=2}, {iov_base="cde", iov_len=10}], 2"#
    );
    let mem = none().with(C, b"xyz");
    assert_eq!(
        show(nr::RECVFROM, &[5, C, 100, 0, 0, 0], 3, &mem),
        r#"5, "xyz", 100, 0, NULL, NULL"#
    );
    let mem = none().with(A, &[0; 4]).with(B, &4u32.to_le_bytes());
    assert_eq!(
        show(nr::GETSOCKOPT, &[4, 1, 4, A, B], 0, &mem),
        "4, SOL_SOCKET, SO_ERROR, [0], [4]"
    );
    assert_eq!(show(nr::EPOLL_CREATE1, &[0], 6, &m), "0");
    let mut its = vec![0u8; 32];
    its[16..24].copy_from_slice(&5u64.to_le_bytes());
    assert_eq!(
        show(nr::TIMERFD_SETTIME, &[8, 0, A, 0], 0, &none().with(A, &its)),
        "8, 0, {it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=5, tv_nsec=0}}, NULL"
    );
    let mut pollfd = 7u32.to_le_bytes().to_vec();
    pollfd.extend_from_slice(&[5, 0, 0, 0]);
    let mem = none().with(A, &pollfd).with(B, &[0; 16]);
    assert_eq!(
        show(nr::PPOLL, &[A, 1, B, 0, 8], 1, &mem),
        "[{fd=7, events=POLLIN|POLLOUT}], 1, {tv_sec=0, tv_nsec=0}, NULL, 8"
    );
    let mut flock = vec![0u8; 32];
    flock[0] = 1;
    assert_eq!(
        show(nr::FCNTL, &[3, 6, A], -9, &none().with(A, &flock)),
        "3, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}"
    );
    assert_eq!(
        show(nr::PREAD64, &[3, A, 10, 5], -21, &m),
        "3, 0x7ffd00001000, 10, 5"
    );
    let mut cpus = vec![0u8; 32];
    cpus[0] = 3;
    assert_eq!(
        show(
            nr::SCHED_GETAFFINITY,
            &[0, 128, A],
            32,
            &none().with(A, &cpus)
        ),
        "0, 128, [0 1]"
    );
    let rl = crate::types::Rlimit {
        rlim_cur: 1024,
        rlim_max: 4096,
    };
    assert_eq!(
        show(
            nr::PRLIMIT64,
            &[0, 7, A, 0],
            0,
            &none().with(A, &rl.to_bytes())
        ),
        "0, RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=4*1024}, NULL"
    );
    let mem = none().with(A, &cstr("/nonexistent"));
    assert_eq!(
        show(nr::CHOWN, &[A, 0xffff_ffff, 0], 0, &mem),
        r#""/nonexistent", -1, 0"#
    );
    let mut uts = vec![0u8; 390];
    uts[..5].copy_from_slice(b"Linux");
    uts[65..67].copy_from_slice(b"vm");
    assert_eq!(
        show(nr::UNAME, &[A], 0, &none().with(A, &uts)),
        r#"{sysname="Linux", nodename="vm", ...}"#
    );
}

#[test]
fn getdents_counts_entries() {
    let mut buf = vec![0u8; 72];
    for at in [0usize, 24, 48] {
        buf[at + 16..at + 18].copy_from_slice(&24u16.to_le_bytes());
    }
    let mem = none().with(A, &buf);
    assert_eq!(
        show(nr::GETDENTS64, &[3, A, 32768], 72, &mem),
        "3, 0x7ffd00001000 /* 3 entries */, 32768"
    );
    assert_eq!(
        show(nr::GETDENTS64, &[3, A, 32768], 0, &mem),
        "3, 0x7ffd00001000 /* 0 entries */, 32768"
    );
}

#[test]
fn new_families() {
    let m = none();
    assert_eq!(
        show(nr::EVENTFD2, &[0, 0o2004000], 3, &m),
        "0, EFD_CLOEXEC|EFD_NONBLOCK"
    );
    assert_eq!(
        show(nr::TIMERFD_CREATE, &[1, 0o2000000], 3, &m),
        "CLOCK_MONOTONIC, TFD_CLOEXEC"
    );
    let mem = none().with(A, &cstr("shm"));
    assert_eq!(
        show(nr::MEMFD_CREATE, &[A, 3], 3, &mem),
        r#""shm", MFD_CLOEXEC|MFD_ALLOW_SEALING"#
    );
    assert_eq!(show(nr::INOTIFY_INIT1, &[0o4000], 3, &m), "IN_NONBLOCK");
    assert_eq!(
        show(nr::CLOSE_RANGE, &[100, 0xffff_ffff, 0], 0, &m),
        "100, 4294967295, 0"
    );
    let mem = none().with(A, &cstr("/nonexistent/fifo"));
    assert_eq!(
        show(nr::MKNODAT, &[AT_FDCWD, A, 0o10644, 0], -20, &mem),
        r#"AT_FDCWD, "/nonexistent/fifo", S_IFIFO|0644"#
    );
    assert_eq!(
        show(nr::MKNOD, &[A, 0o20600, 0x103], 0, &mem),
        r#""/nonexistent/fifo", S_IFCHR|0600, makedev(0x1, 0x3)"#
    );
    assert_eq!(
        show(nr::SHMGET, &[0, 4096, 0o1600], 0, &m),
        "0, 4096, IPC_CREAT|0600"
    );
}

#[test]
fn unknown_numbers_show_six_registers() {
    assert_eq!(
        show(400, &[1, 2, 0, 0, 0, 0xff], -38, &none()),
        "0x1, 0x2, 0, 0, 0, 0xff"
    );
}

#[test]
fn every_named_call_has_a_signature() {
    for &(number, name) in nr::ALL {
        assert!(signature(number).is_some(), "{name}");
        assert!(signature(number).unwrap().len() <= 6, "{name}");
    }
    assert!(signature(335).is_none());
}

/// Random registers and random memory: whatever the workload passes, the
/// formatter returns bounded text and never panics.
#[test]
fn hostile_arguments_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut noise = vec![0u8; 4096];
    for b in noise.iter_mut() {
        *b = next() as u8;
    }
    let mem = none().with(A, &noise);
    for round in 0..20_000 {
        let (number, _) = nr::ALL[(next() as usize) % nr::ALL.len()];
        let mut regs = [0u64; 6];
        for r in regs.iter_mut() {
            *r = match next() % 4 {
                0 => A + next() % 4096,
                1 => next() % 64,
                2 => next(),
                _ => 0,
            };
        }
        let result = match round % 3 {
            0 => -((next() % 4095) as i64) - 1,
            1 => (next() % 100_000) as i64,
            _ => next() as i64,
        };
        let mut out = String::new();
        format_syscall(number, &regs, result, &mem, &mut out);
        format_result(number, &regs, result, &mut out);
        assert!(out.len() < 8192, "{} {}", number, out.len());
    }
    let _ = "x".to_string();
}
