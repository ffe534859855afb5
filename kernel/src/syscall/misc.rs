//! Process identity and environment: arch_prctl, tid/robust-list/rseq
//! registration, uname, rlimits, getrandom, affinity, cwd.

use alloc::vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::{Rlimit, Utsname};

use super::SysResult;
use crate::arch::user;
use crate::mm::vm::{STACK_SIZE, USER_END};
use crate::process::Process;

const ROBUST_LIST_HEAD_LEN: u64 = 24;
const RSEQ_MIN_LEN: u64 = 32;
const RSEQ_ALIGN: u64 = 32;
const RSEQ_FLAG_UNREGISTER: u64 = 1;
const RLIMITS: u64 = 16;
/// Linux returns at most this much from one getrandom call.
const GETRANDOM_MAX: u64 = (32 << 20) - 1;

pub fn arch_prctl(p: &mut Process, code: u64, addr: u64) -> SysResult {
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= USER_END {
                return Err(Errno::EPERM);
            }
            if code == ARCH_SET_FS {
                p.fs_base = addr;
                user::set_fs_base(addr);
            } else {
                p.gs_base = addr;
                user::set_gs_base(addr);
            }
            Ok(0)
        }
        ARCH_GET_FS => {
            let value = p.task.fs_base;
            p.mm.copy_out(addr, &value.to_le_bytes()).map(|()| 0)
        }
        ARCH_GET_GS => {
            let value = p.task.gs_base;
            p.mm.copy_out(addr, &value.to_le_bytes()).map(|()| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn set_tid_address(p: &mut Process, addr: u64) -> SysResult {
    p.clear_child_tid = addr;
    Ok(u64::from(p.task.tid))
}

pub fn set_robust_list(p: &mut Process, head: u64, len: u64) -> SysResult {
    if len != ROBUST_LIST_HEAD_LEN {
        return Err(Errno::EINVAL);
    }
    p.robust_list = (head, len);
    Ok(0)
}

/// Registers the rseq area. With one CPU and no preemption yet, the only
/// duty is to report CPU 0 in `cpu_id_start` and `cpu_id`.
pub fn rseq(p: &mut Process, area: u64, len: u64, flags: u64) -> SysResult {
    if flags & RSEQ_FLAG_UNREGISTER != 0 {
        return match p.rseq.take() {
            Some(registered) if registered == area => Ok(0),
            other => {
                p.rseq = other;
                Err(Errno::EINVAL)
            }
        };
    }
    if flags != 0 || len < RSEQ_MIN_LEN || !area.is_multiple_of(RSEQ_ALIGN) {
        return Err(Errno::EINVAL);
    }
    if p.rseq.is_some() {
        return Err(Errno::EBUSY);
    }
    p.mm.copy_out(area, &[0u8; 8])?;
    p.rseq = Some(area);
    Ok(0)
}

/// `HOST_NAME_MAX`.
const HOST_NAME_MAX: usize = 64;

/// The UTS name (`uname -n`): `/etc/hostname` as lamina made it
/// (`--hostname`), or what the workload set. The VM is the workload's
/// own UTS namespace, so root in it may change it, as in a container.
static HOSTNAME: spin::Mutex<HostName> = spin::Mutex::new(HostName::new(b"lamina"));

/// A host name in a fixed buffer (no heap: set once at boot).
struct HostName {
    bytes: [u8; HOST_NAME_MAX],
    len: usize,
}

impl HostName {
    const fn new(name: &[u8]) -> Self {
        let mut bytes = [0; HOST_NAME_MAX];
        let mut i = 0;
        while i < name.len() && i < bytes.len() {
            bytes[i] = name[i];
            i += 1;
        }
        Self { bytes, len: i }
    }

    fn get(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The kernel release `uname` and /proc/sys/kernel/osrelease report.
pub const KERNEL_RELEASE: &[u8] = b"6.1.0-lamina";

/// The UTS name, for /proc/sys/kernel/hostname.
pub fn hostname() -> alloc::vec::Vec<u8> {
    HOSTNAME.lock().get().to_vec()
}

/// Sets the UTS name at boot (from `/etc/hostname`).
pub fn set_hostname(name: &[u8]) {
    if !name.is_empty() && name.len() <= HOST_NAME_MAX {
        *HOSTNAME.lock() = HostName::new(name);
    }
}

/// `sethostname(2)`.
pub fn sethostname(p: &mut Process, name: u64, len: u64) -> SysResult {
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len > HOST_NAME_MAX {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; HOST_NAME_MAX];
    p.mm.copy_in(name, &mut buf[..len])?;
    *HOSTNAME.lock() = HostName::new(&buf[..len]);
    Ok(0)
}

pub fn uname(p: &mut Process, buf: u64) -> SysResult {
    let hostname = HOSTNAME.lock();
    let uts = Utsname::new(
        b"Linux",
        hostname.get(),
        KERNEL_RELEASE,
        b"#1 SMP lamina",
        b"x86_64",
        b"(none)",
    );
    p.mm.copy_out(buf, &uts.to_bytes())?;
    Ok(0)
}

pub fn default_rlimits() -> [Rlimit; RLIMITS as usize] {
    let unlimited = Rlimit {
        rlim_cur: RLIM_INFINITY,
        rlim_max: RLIM_INFINITY,
    };
    let mut limits = [unlimited; RLIMITS as usize];
    limits[RLIMIT_STACK as usize] = Rlimit {
        rlim_cur: STACK_SIZE,
        rlim_max: RLIM_INFINITY,
    };
    limits[RLIMIT_NOFILE as usize] = Rlimit {
        rlim_cur: crate::fs::fd::MAX_FDS as u64,
        rlim_max: crate::fs::fd::MAX_FDS as u64,
    };
    limits
}

pub fn prlimit64(p: &mut Process, pid: u64, resource: u64, new: u64, old: u64) -> SysResult {
    if pid != 0 && pid != u64::from(p.task.pid()) {
        return Err(Errno::ESRCH);
    }
    if resource >= RLIMITS {
        return Err(Errno::EINVAL);
    }
    let current = p.task.group.rlimits.lock()[resource as usize];
    let wanted = if new != 0 {
        let limit = Rlimit::from_bytes(&p.mm.read_array(new)?);
        if limit.rlim_cur > limit.rlim_max {
            return Err(Errno::EINVAL);
        }
        Some(limit)
    } else {
        None
    };
    if old != 0 {
        p.mm.copy_out(old, &current.to_bytes())?;
    }
    if let Some(limit) = wanted {
        p.task.group.rlimits.lock()[resource as usize] = limit;
    }
    Ok(0)
}

pub fn getrandom(p: &mut Process, buf: u64, len: u64, flags: u64) -> SysResult {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.min(GETRANDOM_MAX) as usize;
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len());
        crate::random::fill(&mut chunk[..n]);
        p.mm.copy_out(buf + done as u64, &chunk[..n])?;
        done += n;
    }
    Ok(len as u64)
}

pub fn sched_getaffinity(p: &mut Process, pid: u64, len: u64, mask: u64) -> SysResult {
    if pid != 0
        && !crate::task::with_tables(|t| t.procs.contains_key(&(pid as u32)))
        && pid != u64::from(p.task.tid)
    {
        return Err(Errno::ESRCH);
    }
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; 8];
    bytes[0] = 1;
    p.mm.copy_out(mask, &bytes)?;
    Ok(8)
}

pub fn getcwd(p: &mut Process, buf: u64, size: u64) -> SysResult {
    let mut cwd = p.fs.cwd.clone();
    cwd.push(0);
    if (size as usize) < cwd.len() {
        return Err(Errno::ERANGE);
    }
    p.mm.copy_out(buf, &cwd)?;
    Ok(cwd.len() as u64)
}

/// `sysinfo`: uptime, memory (in bytes: mem_unit 1) and the process count.
pub fn sysinfo(p: &mut Process, info: u64) -> SysResult {
    const SYSINFO_LEN: usize = 112;
    let (free, total) = crate::mm::frame::stats();
    let procs = crate::task::with_tables(|t| t.procs.len()) as u16;
    let mut out = [0u8; SYSINFO_LEN];
    let uptime = crate::time::monotonic_ns() / crate::time::NS_PER_SEC;
    out[0..8].copy_from_slice(&uptime.to_le_bytes());
    out[32..40].copy_from_slice(&(total * 4096).to_le_bytes());
    out[40..48].copy_from_slice(&(free * 4096).to_le_bytes());
    out[80..82].copy_from_slice(&procs.to_le_bytes());
    out[104..108].copy_from_slice(&1u32.to_le_bytes());
    p.mm.copy_out(info, &out)?;
    Ok(0)
}

/// `personality(2)`: the query value 0xffffffff reads it; any other value
/// is kept (Linux's answer for every value) and the old one returned. The
/// flags change nothing here: lamina does not randomize addresses and
/// has one execution domain.
pub fn personality(p: &mut Process, persona: u64) -> SysResult {
    use core::sync::atomic::Ordering;
    const QUERY: u32 = 0xffff_ffff;
    let persona = persona as u32;
    let group = &p.task.group;
    let old = if persona == QUERY {
        group.personality.load(Ordering::Relaxed)
    } else {
        group.personality.swap(persona, Ordering::Relaxed)
    };
    Ok(u64::from(old))
}

/// `getcpu(cpu, node, cache)`: one CPU, one NUMA node.
pub fn getcpu(p: &mut Process, cpu: u64, node: u64) -> SysResult {
    const ONLY_CPU: u32 = 0;
    const ONLY_NODE: u32 = 0;
    if cpu != 0 {
        p.mm.copy_out(cpu, &ONLY_CPU.to_le_bytes())?;
    }
    if node != 0 {
        p.mm.copy_out(node, &ONLY_NODE.to_le_bytes())?;
    }
    Ok(0)
}

/// `sched_setaffinity(pid, len, mask)`: the mask must allow CPU 0, the
/// one CPU there is (EINVAL otherwise, Linux's answer for a mask of no
/// online CPU); the task then runs there, as before.
pub fn sched_setaffinity(p: &mut Process, pid: u64, len: u64, mask: u64) -> SysResult {
    if pid != 0
        && !crate::task::with_tables(|t| t.tasks.contains_key(&(pid as u32)))
        && !crate::task::with_tables(|t| t.procs.contains_key(&(pid as u32)))
        && pid != u64::from(p.task.tid)
    {
        return Err(Errno::ESRCH);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let first: [u8; 1] = p.mm.read_array(mask)?;
    if first[0] & 1 == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `membarrier(cmd, flags, cpu_id)`. With one CPU every barrier holds by
/// the time the call returns (a system call orders memory on its CPU), so
/// the commands only keep Linux's rules: the private expedited ones need
/// their registration first (EPERM), unknown commands and flags EINVAL.
pub fn membarrier(p: &mut Process, cmd: u64, flags: u64) -> SysResult {
    use core::sync::atomic::Ordering;
    const QUERY: u64 = 0;
    const GLOBAL: u64 = 1;
    const GLOBAL_EXPEDITED: u64 = 1 << 1;
    const REGISTER_GLOBAL_EXPEDITED: u64 = 1 << 2;
    const PRIVATE_EXPEDITED: u64 = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: u64 = 1 << 4;
    const PRIVATE_EXPEDITED_SYNC_CORE: u64 = 1 << 5;
    const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 1 << 6;
    const PRIVATE_EXPEDITED_RSEQ: u64 = 1 << 7;
    const REGISTER_PRIVATE_EXPEDITED_RSEQ: u64 = 1 << 8;
    const FLAG_CPU: u64 = 1;
    const SUPPORTED: u64 = GLOBAL
        | GLOBAL_EXPEDITED
        | REGISTER_GLOBAL_EXPEDITED
        | PRIVATE_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED
        | PRIVATE_EXPEDITED_SYNC_CORE
        | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
        | PRIVATE_EXPEDITED_RSEQ
        | REGISTER_PRIVATE_EXPEDITED_RSEQ;
    let flags_allowed = if cmd == PRIVATE_EXPEDITED_RSEQ {
        FLAG_CPU
    } else {
        0
    };
    if flags & !flags_allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let registered = &p.task.mem.membarrier_registered;
    // Each private command and the registration it needs.
    let needs = |command: u64| match command {
        PRIVATE_EXPEDITED => Some(REGISTER_PRIVATE_EXPEDITED),
        PRIVATE_EXPEDITED_SYNC_CORE => Some(REGISTER_PRIVATE_EXPEDITED_SYNC_CORE),
        PRIVATE_EXPEDITED_RSEQ => Some(REGISTER_PRIVATE_EXPEDITED_RSEQ),
        _ => None,
    };
    match cmd {
        QUERY => Ok(SUPPORTED),
        GLOBAL | GLOBAL_EXPEDITED => Ok(0),
        REGISTER_GLOBAL_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
        | REGISTER_PRIVATE_EXPEDITED_RSEQ => {
            registered.fetch_or(cmd as u32, Ordering::Relaxed);
            Ok(0)
        }
        _ => match needs(cmd) {
            Some(registration) if registered.load(Ordering::Relaxed) & registration as u32 != 0 => {
                Ok(0)
            }
            Some(_) => Err(Errno::EPERM),
            None => Err(Errno::EINVAL),
        },
    }
}
