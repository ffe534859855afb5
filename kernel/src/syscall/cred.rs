//! Identity calls: the uid and gid families, supplementary groups,
//! capabilities (`capget`, `capset`, the capability `prctl` options).
//! The rules themselves are `lamina_abi::cred`'s; here they meet the
//! process (its credentials live in its `Group`, shared by its threads).

use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::cred::{
    self, cap_data_words, CapSet, Credentials, FileOwner, CAP_VERSION_3, MAY_EXEC, MAY_READ,
    MAY_WRITE, NGROUPS_MAX,
};
use lamina_abi::errno::Errno;
use spin::MutexGuard;

use super::SysResult;
use crate::fs::vfs::{NodeKind, NodeRef};
use crate::process::Process;
use crate::task::with_tables;

/// `prctl` options about credentials (include/uapi/linux/prctl.h).
const PR_GET_KEEPCAPS: u64 = 7;
const PR_SET_KEEPCAPS: u64 = 8;
const PR_CAPBSET_READ: u64 = 23;
const PR_CAPBSET_DROP: u64 = 24;
const PR_GET_SECUREBITS: u64 = 27;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const PR_GET_NO_NEW_PRIVS: u64 = 39;
const PR_CAP_AMBIENT: u64 = 47;
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;
/// `SECBIT_KEEP_CAPS` as PR_GET_SECUREBITS shows it.
const SECBIT_KEEP_CAPS: u64 = 1 << 4;
/// The sticky bit: in such a directory only owners remove entries.
const S_ISVTX: u32 = 0o1000;
/// Bytes of one `__user_cap_data_struct` (effective, permitted, inheritable).
const CAP_DATA_LEN: usize = 12;

fn creds<'a>(p: &'a Process) -> MutexGuard<'a, Credentials> {
    p.task.group.creds.lock()
}

/// An id argument: the low 32 bits, as Linux's `uid_t` parameters.
fn id(arg: u64) -> u32 {
    arg as u32
}

pub fn getuid(p: &mut Process) -> SysResult {
    Ok(creds(p).uid.into())
}

pub fn geteuid(p: &mut Process) -> SysResult {
    Ok(creds(p).euid.into())
}

pub fn getgid(p: &mut Process) -> SysResult {
    Ok(creds(p).gid.into())
}

pub fn getegid(p: &mut Process) -> SysResult {
    Ok(creds(p).egid.into())
}

pub fn setuid(p: &mut Process, uid: u64) -> SysResult {
    creds(p).setuid(id(uid)).map(|()| 0)
}

pub fn setgid(p: &mut Process, gid: u64) -> SysResult {
    creds(p).setgid(id(gid)).map(|()| 0)
}

pub fn setreuid(p: &mut Process, ruid: u64, euid: u64) -> SysResult {
    creds(p).setreuid(id(ruid), id(euid)).map(|()| 0)
}

pub fn setregid(p: &mut Process, rgid: u64, egid: u64) -> SysResult {
    creds(p).setregid(id(rgid), id(egid)).map(|()| 0)
}

pub fn setresuid(p: &mut Process, ruid: u64, euid: u64, suid: u64) -> SysResult {
    creds(p).setresuid(id(ruid), id(euid), id(suid)).map(|()| 0)
}

pub fn setresgid(p: &mut Process, rgid: u64, egid: u64, sgid: u64) -> SysResult {
    creds(p).setresgid(id(rgid), id(egid), id(sgid)).map(|()| 0)
}

pub fn setfsuid(p: &mut Process, fsuid: u64) -> SysResult {
    Ok(creds(p).setfsuid(id(fsuid)).into())
}

pub fn setfsgid(p: &mut Process, fsgid: u64) -> SysResult {
    Ok(creds(p).setfsgid(id(fsgid)).into())
}

/// getresuid/getresgid: three ids written one by one, as Linux's
/// `put_user`s (a bad second pointer leaves the first written).
fn put_three(p: &mut Process, ids: [u32; 3], ptrs: [u64; 3]) -> SysResult {
    for (value, ptr) in ids.into_iter().zip(ptrs) {
        p.mm.copy_out(ptr, &value.to_le_bytes())?;
    }
    Ok(0)
}

pub fn getresuid(p: &mut Process, r: u64, e: u64, s: u64) -> SysResult {
    let ids = {
        let c = creds(p);
        [c.uid, c.euid, c.suid]
    };
    put_three(p, ids, [r, e, s])
}

pub fn getresgid(p: &mut Process, r: u64, e: u64, s: u64) -> SysResult {
    let ids = {
        let c = creds(p);
        [c.gid, c.egid, c.sgid]
    };
    put_three(p, ids, [r, e, s])
}

pub fn getgroups(p: &mut Process, size: u64, list: u64) -> SysResult {
    let groups = creds(p).groups.clone();
    let size = size as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    p.mm.copy_out(list, &bytes)?;
    Ok(groups.len() as u64)
}

pub fn setgroups(p: &mut Process, size: u64, list: u64) -> SysResult {
    // Linux checks the capability before the size.
    if !creds(p).capable(cred::cap::SETGID) {
        return Err(Errno::EPERM);
    }
    let size = size as i32;
    if size < 0 || size as usize > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut bytes = alloc::vec![0u8; size as usize * 4];
    p.mm.copy_in(list, &mut bytes)?;
    let groups = bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    creds(p).setgroups(groups).map(|()| 0)
}

/// The header's version, checked: an unknown one is answered with
/// version 3 written back and EINVAL (`cap_validate_magic`).
fn cap_header(p: &mut Process, header: u64) -> Result<(usize, i32), Errno> {
    let mut raw = [0u8; 8];
    p.mm.copy_in(header, &mut raw[..4])?;
    let version = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let Some(words) = cap_data_words(version) else {
        p.mm.copy_out(header, &CAP_VERSION_3.to_le_bytes())?;
        return Err(Errno::EINVAL);
    };
    p.mm.copy_in(header + 4, &mut raw[4..])?;
    Ok((words, i32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]])))
}

/// The credentials of process `pid` (0: the caller).
fn creds_of(p: &Process, pid: i32) -> Result<Credentials, Errno> {
    if pid == 0 || pid as u32 == p.task.pid() {
        return Ok(creds(p).clone());
    }
    let group = with_tables(|t| t.procs.get(&(pid as u32)).map(|e| Arc::clone(&e.group)))
        .ok_or(Errno::ESRCH)?;
    let creds = group.creds.lock().clone();
    Ok(creds)
}

pub fn capget(p: &mut Process, header: u64, data: u64) -> SysResult {
    let (words, pid) = match cap_header(p, header) {
        // A NULL data pointer asks only for the preferred version.
        Err(Errno::EINVAL) if data == 0 => return Ok(0),
        other => other?,
    };
    if data == 0 {
        return Ok(0);
    }
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = creds_of(p, pid)?;
    let mut out = Vec::with_capacity(words * CAP_DATA_LEN);
    for word in 0..words {
        for set in [c.cap_effective, c.cap_permitted, c.cap_inheritable] {
            out.extend_from_slice(&((set >> (32 * word)) as u32).to_le_bytes());
        }
    }
    p.mm.copy_out(data, &out)?;
    Ok(0)
}

pub fn capset(p: &mut Process, header: u64, data: u64) -> SysResult {
    let (words, pid) = cap_header(p, header)?;
    if pid != 0 && pid as u32 != p.task.pid() {
        return Err(Errno::EPERM);
    }
    let mut raw = [0u8; 2 * CAP_DATA_LEN];
    p.mm.copy_in(data, &mut raw[..words * CAP_DATA_LEN])?;
    let word = |index: usize| {
        let b = &raw[index * 4..index * 4 + 4];
        CapSet::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    // Each set is (low word, high word); the high word is 0 for version 1.
    let set = |field: usize| word(field) | word(3 + field) << 32;
    creds(p).capset(set(0), set(1), set(2)).map(|()| 0)
}

/// The credential options of `prctl`; None for any other option.
pub fn prctl(p: &mut Process, a: [u64; 6]) -> Option<SysResult> {
    let [option, arg2, arg3, arg4, arg5, _] = a;
    let mut c = creds(p);
    let valid_cap = |cap: u64| cap <= u64::from(cred::cap::LAST_CAP);
    Some(match option {
        PR_GET_KEEPCAPS => Ok(c.keep_caps.into()),
        PR_SET_KEEPCAPS => {
            if arg2 > 1 || arg3 | arg4 | arg5 != 0 {
                Err(Errno::EINVAL)
            } else {
                c.keep_caps = arg2 == 1;
                Ok(0)
            }
        }
        PR_GET_SECUREBITS => Ok(if c.keep_caps { SECBIT_KEEP_CAPS } else { 0 }),
        PR_CAPBSET_READ if valid_cap(arg2) => Ok((c.cap_bounding >> arg2) & 1),
        PR_CAPBSET_READ => Err(Errno::EINVAL),
        PR_CAPBSET_DROP => c.drop_bounding(arg2).map(|()| 0),
        PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 || arg3 | arg4 | arg5 != 0 {
                Err(Errno::EINVAL)
            } else {
                c.no_new_privs = true;
                Ok(0)
            }
        }
        PR_GET_NO_NEW_PRIVS if arg2 | arg3 | arg4 | arg5 != 0 => Err(Errno::EINVAL),
        PR_GET_NO_NEW_PRIVS => Ok(c.no_new_privs.into()),
        PR_CAP_AMBIENT => ambient(&mut c, arg2, arg3, arg4 | arg5),
        _ => return None,
    })
}

/// `PR_CAP_AMBIENT` (`cap_task_prctl`).
fn ambient(c: &mut Credentials, op: u64, cap: u64, rest: u64) -> SysResult {
    if rest != 0 || (op == PR_CAP_AMBIENT_CLEAR_ALL && cap != 0) {
        return Err(Errno::EINVAL);
    }
    if op == PR_CAP_AMBIENT_CLEAR_ALL {
        c.cap_ambient = 0;
        return Ok(0);
    }
    if cap > u64::from(cred::cap::LAST_CAP) {
        return Err(Errno::EINVAL);
    }
    match op {
        PR_CAP_AMBIENT_IS_SET => Ok((c.cap_ambient >> cap) & 1),
        PR_CAP_AMBIENT_RAISE => c.raise_ambient(cap as u32).map(|()| 0),
        PR_CAP_AMBIENT_LOWER => {
            c.cap_ambient &= !(1 << cap);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------
// file permissions

/// Whether `node` has owners worth checking: tmpfs and 9P files. The
/// synthetic /dev and /proc nodes are open to every process (docker's
/// /dev/null is 0666; Linux's /proc nodes belong to their process).
fn has_owners(node: &NodeRef) -> bool {
    let any = node.as_any();
    any.is::<crate::fs::tmpfs::TmpNode>() || any.is::<crate::fs::p9::P9Node>()
}

fn owner_of(node: &NodeRef) -> Result<FileOwner, Errno> {
    let st = node.stat()?;
    Ok(FileOwner {
        mode: st.st_mode,
        uid: st.st_uid,
        gid: st.st_gid,
    })
}

/// EACCES unless `creds` may `mask` (MAY_*) `node`.
pub fn check_access_as(creds: &Credentials, node: &NodeRef, mask: u32) -> Result<(), Errno> {
    let directory = node.kind() == NodeKind::Directory;
    if creds.overrides(mask, directory) || !has_owners(node) {
        return Ok(());
    }
    if creds.may_access(owner_of(node)?, mask, directory) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// EACCES unless the caller may `mask` (MAY_*) `node`.
pub fn check_access(p: &Process, node: &NodeRef, mask: u32) -> Result<(), Errno> {
    check_access_as(&creds(p), node, mask)
}

/// The permission `open` needs for `flags` on an existing file.
pub fn open_mask(flags: u32) -> u32 {
    use lamina_abi::flags::{O_ACCMODE, O_RDWR, O_TRUNC, O_WRONLY};
    let mut mask = match flags & O_ACCMODE {
        O_WRONLY => MAY_WRITE,
        O_RDWR => MAY_READ | MAY_WRITE,
        _ => MAY_READ,
    };
    if flags & O_TRUNC != 0 {
        mask |= MAY_WRITE;
    }
    mask
}

/// Adding or removing a name in `dir` needs write and search there.
pub fn check_dir_change(p: &Process, dir: &NodeRef) -> Result<(), Errno> {
    check_access(p, dir, MAY_WRITE | MAY_EXEC)
}

/// Making `name` in `dir`: write and search there; a name that exists is
/// EEXIST first, as Linux's lookup comes before the permission check
/// (`mkdir -p` relies on it).
pub fn check_create(p: &Process, dir: &NodeRef, name: &[u8]) -> Result<(), Errno> {
    check_dir_change(p, dir).map_err(|e| match dir.lookup(name, p) {
        Ok(_) => Errno::EEXIST,
        Err(_) => e,
    })
}

/// Removing (or renaming away) `name` from `dir`: write and search, and in
/// a sticky directory ownership of the entry or the directory (EPERM). A
/// name that is not there is ENOENT first, as Linux's lookup.
pub fn check_delete(p: &Process, dir: &NodeRef, name: &[u8]) -> Result<(), Errno> {
    check_dir_change(p, dir).map_err(|e| match dir.lookup(name, p) {
        Err(Errno::ENOENT) => Errno::ENOENT,
        _ => e,
    })?;
    if !has_owners(dir) || creds(p).capable(cred::cap::FOWNER) {
        return Ok(());
    }
    let dir_owner = owner_of(dir)?;
    if dir_owner.mode & S_ISVTX == 0 {
        return Ok(());
    }
    let victim = dir.lookup(name, p)?;
    let creds = creds(p);
    if creds.may_delete_in_sticky(dir_owner.uid, owner_of(&victim)?.uid) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// chmod and explicit times: the owner or CAP_FOWNER, else EPERM.
pub fn check_owner(p: &Process, node: &NodeRef) -> Result<(), Errno> {
    if !has_owners(node) || creds(p).capable(cred::cap::FOWNER) {
        return Ok(());
    }
    let owner = owner_of(node)?;
    if creds(p).owns_or_capable(owner.uid) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// chown: see [`Credentials::may_chown`]; EPERM otherwise.
pub fn check_chown(p: &Process, node: &NodeRef, uid: u32, gid: u32) -> Result<(), Errno> {
    let creds = creds(p);
    if creds.capable(cred::cap::CHOWN) || !has_owners(node) {
        return Ok(());
    }
    if creds.may_chown(owner_of(node)?, uid, gid) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// Who a node the caller creates belongs to.
pub fn creator(p: &Process) -> crate::fs::owner::Owner {
    let c = creds(p);
    (c.fsuid, c.fsgid)
}

/// The credentials `access()` checks with (`AT_EACCESS`: the effective ones).
pub fn access_creds(p: &Process, effective: bool) -> Credentials {
    let c = creds(p);
    if effective {
        c.clone()
    } else {
        c.for_access()
    }
}

// ---------------------------------------------------------------------------
// signals

/// Whether the caller may send `signo` to process `target`
/// (`check_kill_permission`): CAP_KILL, or the sender's real or effective
/// uid is the target's real or saved uid; SIGCONT within the session
/// always. A process that is gone is the send's own ESRCH.
pub fn may_signal(p: &Process, target: u32, signo: u8) -> bool {
    const SIGCONT: u8 = 18;
    let me = p.task.pid();
    let sender = creds(p);
    if target == me || sender.capable(cred::cap::KILL) {
        return true;
    }
    let found = with_tables(|t| {
        let session = |pid: u32| t.procs.get(&pid).map(|e| e.sid);
        let same_session = session(me).is_some() && session(me) == session(target);
        t.procs
            .get(&target)
            .map(|e| (Arc::clone(&e.group), same_session))
    });
    let Some((group, same_session)) = found else {
        return true;
    };
    if signo == SIGCONT && same_session {
        return true;
    }
    let target = group.creds.lock();
    [sender.uid, sender.euid]
        .iter()
        .any(|id| *id == target.uid || *id == target.suid)
}
