//! lamina: a minimal guest kernel that runs a Linux x86_64 workload.
//!
//! Boot order: serial console, CPU tables, heap, PVH start info, frames,
//! the virtio probe, then the workload from the boot bundle (a PVH
//! module). The workload's exit status travels to the host as a console
//! frame, then the kernel powers the VM off.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

#[allow(unsafe_code)]
mod arch;
mod channel;
mod console;
mod drivers;
mod exec;
mod fs;
mod mm;
mod net;
mod process;
mod random;
mod syscall;
mod task;
mod time;
mod trace;

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use lamina_abi::cred::Credentials;
use lamina_abi::errno::Errno;
use lamina_boot::{StartInfo, MEMMAP_TYPE_RAM, START_INFO_LEN};
use lamina_proto::bundle::Bundle;
use lamina_proto::frame::ExitStatus;

use arch::phys;
use process::{Image, Ttys};

/// Longest kernel command line read.
const CMDLINE_MAX: usize = 4096;

/// TSC when the workload is about to run its first instruction.
static USER_ENTRY_TSC: AtomicU64 = AtomicU64::new(0);

/// Called by the process just before its first entry to ring 3.
pub fn boot_report_ready() {
    let _ = USER_ENTRY_TSC.compare_exchange(
        0,
        arch::cpu::rdtsc(),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
}

fn parse_u64(bytes: Option<&[u8]>) -> Option<u64> {
    core::str::from_utf8(bytes?).ok()?.parse().ok()
}

/// Called by the PVH trampoline (`boot/src/entry.s`) on the boot stack.
// The unmangled name is the trampoline's only way in.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn lamina_kernel_main(start_info_paddr: u64, entry_tsc: u64) -> ! {
    arch::port::serial_init();

    let mut raw = [0u8; START_INFO_LEN];
    phys::read(start_info_paddr, &mut raw);
    let info = StartInfo::parse(&raw).unwrap_or_else(|e| panic!("bad PVH start info: {e:?}"));

    let mut cmdline = [0u8; CMDLINE_MAX];
    if info.cmdline_paddr != 0 {
        phys::read(info.cmdline_paddr, &mut cmdline);
    }
    let cmdline = lamina_boot::cmdline(&cmdline);
    let value = |key: &[u8]| lamina_boot::cmdline_value(cmdline, key);
    console::set_verbose(value(b"verbose") == Some(b"1"));
    trace::enable(value(b"trace") == Some(b"1"));
    task::sched::set_preempt_at_syscalls(value(b"preempt") == Some(b"syscall"));
    arch::trap::allow_sysret(value(b"sysret") == Some(b"1"));
    arch::init();
    mm::heap::init();

    let tty_mask = parse_u64(value(b"tty")).unwrap_or(0);
    let ttys = Ttys {
        stdin: tty_mask & 1 != 0,
        stdout: tty_mask & 2 != 0,
        stderr: tty_mask & 4 != 0,
    };
    let features = arch::cpu::features();
    time::init(
        entry_tsc,
        parse_u64(value(b"epoch_ns")).unwrap_or(0),
        parse_u64(value(b"tsc_khz")).or(features.tsc_khz),
    );

    let mut memmap = vec![0; info.memmap_len()];
    phys::read(info.memmap_paddr, &mut memmap);
    let mut modlist = vec![0; info.modlist_len()];
    phys::read(info.modlist_paddr, &mut modlist);
    let modules: Vec<_> = lamina_boot::parse_modlist(&modlist).collect();

    let mut reserved = Vec::from([arch::kernel_phys_range()]);
    reserved.extend(modules.iter().map(|m| (m.paddr, m.paddr + m.size)));
    let ram = lamina_boot::parse_memmap(&memmap)
        .filter(|r| r.kind == MEMMAP_TYPE_RAM)
        .map(|r| (r.addr, r.addr + r.size));
    mm::frame::init(mm::frame::FrameAllocator::new(ram, &reserved));
    drivers::probe(cmdline);
    match value(b"selftest") {
        Some(b"kernel-fault") => {
            arch::selftest_kernel_fault();
        }
        Some(b"write-text") => arch::selftest_write_text(),
        Some(b"virtio-9p") => drivers::selftest_9p(),
        // A broken guest: bytes that are no frame on a channel (the host
        // must end that channel with one error line and survive).
        Some(b"ctl-garbage") => channel::selftest_garbage(lamina_proto::channel::Channel::Control),
        Some(b"net-garbage") => channel::selftest_garbage(lamina_proto::channel::Channel::Net),
        _ => {}
    }

    let root = value(b"rootfs").map(mount_root);
    fs::init(root, ttys.stdin && ttys.stdout);
    // The console is a terminal (job control, the host's window size)
    // when a standard stream is one on the host.
    let echo_to = if ttys.stdout {
        Some(lamina_proto::control::Output::Stdout)
    } else {
        ttys.stderr.then_some(lamina_proto::control::Output::Stderr)
    };
    fs::tty::init(
        ttys.stdin || ttys.stdout || ttys.stderr,
        ttys.stdin,
        echo_to,
        value(b"winsize").and_then(parse_winsize),
    );

    let module = modules
        .first()
        .unwrap_or_else(|| panic!("no boot bundle: start lamina with `lamina run`"));
    let bundle_bytes = phys::boot_slice(module.paddr, module.size as usize);
    let bundle = Bundle::decode(bundle_bytes).unwrap_or_else(|e| panic!("boot bundle: {e}"));
    for line in &bundle.mounts {
        mount_extra(line);
    }
    for (path, content) in &bundle.files {
        if let Err(err) = fs::place_file(path, content) {
            log!(
                "{}: not placed: {}",
                core::str::from_utf8(path).unwrap_or("?"),
                err.name()
            );
        }
        if *path == b"/etc/hostname" {
            syscall::set_hostname(content.trim_ascii_end());
        }
    }
    let creds = workload_credentials(value(lamina_proto::identity::KEY));
    let status = start(&bundle, ttys, creds);
    report_boot_time();
    finish(status)
}

/// The 9P2000.L message size asked of the server: 512 KiB of data (the
/// system calls' transfer chunk) plus a page for the message header, so a
/// large read or write is one request per chunk; each direction is one
/// contiguous DMA buffer of this size.
const NINE_P_MSIZE: u32 = (512 << 10) + 4096;

/// The root of the 9P share tagged `tag`; the host made the device, so a
/// share that cannot be reached is lamina's fault, and a panic.
fn nine_p_root(tag: &[u8]) -> fs::vfs::NodeRef {
    let tag = core::str::from_utf8(tag).unwrap_or("");
    let device = drivers::take_9p(tag)
        .unwrap_or_else(|| panic!("no virtio-9p device with mount tag {tag:?}"));
    fs::p9::Client::connect(alloc::boxed::Box::new(device), NINE_P_MSIZE)
        .and_then(|client| {
            log!("fs: {tag} over 9P2000.L, msize {}", client.msize());
            client.root()
        })
        .unwrap_or_else(|e| panic!("mounting the 9P share {tag:?}: {}", e.name()))
}

/// Mounts the 9P share tagged `tag` (`rootfs=` on the command line) as
/// the root.
fn mount_root(tag: &[u8]) -> (fs::vfs::NodeRef, &'static [u8]) {
    (nine_p_root(tag), b"9p")
}

/// One of the bundle's mount lines: `9p TAG PATH` (a `--volume`),
/// `tmpfs - PATH` (a `--tmpfs`) or `tmpfs size=BYTES PATH` (/dev/shm's
/// `--shm-size`). The host checked PATH: absolute and normalised.
fn mount_extra(line: &[u8]) {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (kind, tag, path) = (parts.next(), parts.next(), parts.next());
    let size = tag
        .and_then(|tag| tag.strip_prefix(b"size="))
        .and_then(|digits| core::str::from_utf8(digits).ok()?.parse::<u64>().ok());
    match (kind, tag, path) {
        (Some(b"9p"), Some(tag), Some(path)) => fs::vfs::mount(path, nine_p_root(tag), b"9p"),
        (Some(b"tmpfs"), Some(_), Some(path)) => {
            let root = match size {
                Some(bytes) => fs::tmpfs::TmpNode::new_sized_fs(bytes),
                None => fs::tmpfs::TmpNode::new_fs(),
            };
            fs::vfs::mount(path, root, b"tmpfs")
        }
        _ => panic!(
            "boot bundle: bad mount line {:?}",
            core::str::from_utf8(line)
        ),
    }
}

/// Loads the workload (from the bundle, or from the root when the bundle
/// names it) and runs it; a workload that cannot start exits as a shell
/// reports it, with the reason on its stderr.
/// Who the workload starts as: the command line's `user=` token
/// (`lamina run --user`), else the container's root. The host wrote the
/// token, so a malformed one is lamina's bug.
fn workload_credentials(token: Option<&[u8]>) -> Credentials {
    let Some(token) = token else {
        return Credentials::container_root();
    };
    let identity = lamina_proto::identity::Identity::parse(token)
        .unwrap_or_else(|| panic!("bad user= token {:?}", core::str::from_utf8(token)));
    Credentials::container_user(identity.uid, identity.gid, &identity.groups)
        .unwrap_or_else(|e| panic!("user= token: {}", e.name()))
}

fn start(bundle: &Bundle<'static>, ttys: process::Ttys, creds: Credentials) -> ExitStatus {
    let cwd = bundle.cwd;
    if let Err(e) = fs::make_dirs(cwd) {
        console::stderr_line(format_args!(
            "lamina: workdir {}: {}\n",
            core::str::from_utf8(cwd).unwrap_or("?"),
            e.name()
        ));
        return ExitStatus::Exited(126);
    }
    let (image, interpreter, exe_path) = if bundle.program.is_empty() {
        match exec::load(bundle.exe_path, cwd, &bundle.envp) {
            Ok(program) => (program.image, program.interpreter, program.path),
            Err(err) => {
                console::stderr_line(format_args!(
                    "lamina: exec: {}: {err}\n",
                    core::str::from_utf8(bundle.exe_path).unwrap_or("?")
                ));
                return ExitStatus::Exited(err.status());
            }
        }
    } else {
        (bundle.program, None, bundle.exe_path.to_vec())
    };
    exec::register_boot_program(&exe_path, image, interpreter);
    match Image::load(
        image,
        interpreter,
        &bundle.argv,
        &bundle.envp,
        &exe_path,
        &creds,
    ) {
        Ok(image) => {
            let task = process::first_task(image, &exe_path, &bundle.argv, cwd, ttys);
            *task.group.creds.lock() = creds;
            task::sched::run(task)
        }
        Err(err) => {
            // What a shell prints when exec fails, on the workload's stderr.
            let status = match err {
                process::LoadError::Memory(Errno::ENOMEM) => ExitStatus::OutOfMemory,
                _ => ExitStatus::Exited(126),
            };
            console::stderr_line(format_args!("lamina: exec: {err}\n"));
            status
        }
    }
}

/// `ROWSxCOLS`, the host terminal's size at start.
fn parse_winsize(value: &[u8]) -> Option<(u16, u16)> {
    let at = value.iter().position(|&b| b == b'x')?;
    let number = |digits: &[u8]| u16::try_from(parse_u64(Some(digits))?).ok();
    Some((number(&value[..at])?, number(&value[at + 1..])?))
}

fn report_boot_time() {
    let user = USER_ENTRY_TSC.load(Ordering::Relaxed);
    if console::verbose() {
        let (free, total) = mm::frame::stats();
        let f = arch::cpu::features();
        log!(
            "memory: {} of {} KiB free; smep {} smap {}",
            free * 4,
            total * 4,
            f.smep,
            f.smap
        );
    }
    if console::verbose() && fs::p9::requests_sent() > 0 {
        log!("fs: {} 9P requests", fs::p9::requests_sent());
    }
    if console::verbose() && user != 0 {
        let cycles = user - time::entry_tsc();
        log!(
            "boot: entry to user mode in {} us ({} cycles)",
            time::cycles_to_ns(cycles) / 1000,
            cycles
        );
    }
}

/// Reports `status` to the host and powers off (the status is on the wire
/// first: the power-off may end the VM at once).
fn finish(status: ExitStatus) -> ! {
    if status != ExitStatus::KernelPanic {
        trace::report_missing();
    }
    console::send_exit(status);
    arch::port::serial_drain();
    arch::port::power_off();
    arch::cpu::halt_forever()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::log_line(format_args!("kernel panic: {info}"));
    finish(ExitStatus::KernelPanic)
}
