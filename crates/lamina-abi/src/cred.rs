//! Process credentials as Linux keeps them (`struct cred`): real,
//! effective, saved and file-system user and group ids, supplementary
//! groups and capability sets, with the rules by which the `set*id`
//! calls, `capset`, `prctl` and `execve` change them (kernel/sys.c,
//! kernel/capability.c, security/commoncap.c) and the permission check
//! of a file's mode bits (`generic_permission`, fs/namei.c).
//!
//! lamina runs one container: every id is in its one user namespace,
//! whose root is uid 0 (capabilities count there as Linux's
//! `ns_capable` does).

use alloc::vec::Vec;

use crate::errno::Errno;

/// Linux's capability numbers (include/uapi/linux/capability.h).
pub mod cap {
    pub const CHOWN: u32 = 0;
    pub const DAC_OVERRIDE: u32 = 1;
    pub const DAC_READ_SEARCH: u32 = 2;
    pub const FOWNER: u32 = 3;
    pub const FSETID: u32 = 4;
    pub const KILL: u32 = 5;
    pub const SETGID: u32 = 6;
    pub const SETUID: u32 = 7;
    pub const SETPCAP: u32 = 8;
    pub const NET_BIND_SERVICE: u32 = 10;
    pub const NET_RAW: u32 = 13;
    pub const SYS_CHROOT: u32 = 18;
    pub const MKNOD: u32 = 27;
    pub const AUDIT_WRITE: u32 = 29;
    pub const SETFCAP: u32 = 31;
    pub const MAC_OVERRIDE: u32 = 32;
    /// The highest capability this ABI knows (`CAP_CHECKPOINT_RESTORE`).
    pub const LAST_CAP: u32 = 40;
}

/// One bit per capability.
pub type CapSet = u64;

pub const fn cap_bit(cap: u32) -> CapSet {
    1 << cap
}

/// Every capability Linux defines (`CAP_VALID_MASK`).
pub const ALL_CAPS: CapSet = (1 << (cap::LAST_CAP + 1)) - 1;

/// What docker gives a container's root (moby's `DefaultCapabilities`):
/// its permitted, effective and bounding sets (`CapEff: 00000000a80425fb`).
pub const DOCKER_DEFAULT_CAPS: CapSet = cap_bit(cap::CHOWN)
    | cap_bit(cap::DAC_OVERRIDE)
    | cap_bit(cap::FSETID)
    | cap_bit(cap::FOWNER)
    | cap_bit(cap::MKNOD)
    | cap_bit(cap::NET_RAW)
    | cap_bit(cap::SETGID)
    | cap_bit(cap::SETUID)
    | cap_bit(cap::SETFCAP)
    | cap_bit(cap::SETPCAP)
    | cap_bit(cap::NET_BIND_SERVICE)
    | cap_bit(cap::SYS_CHROOT)
    | cap_bit(cap::KILL)
    | cap_bit(cap::AUDIT_WRITE);

/// The capabilities that follow the file-system uid (`CAP_FS_SET`).
const FS_CAPS: CapSet = cap_bit(cap::CHOWN)
    | cap_bit(cap::MKNOD)
    | cap_bit(cap::DAC_OVERRIDE)
    | cap_bit(cap::DAC_READ_SEARCH)
    | cap_bit(cap::FOWNER)
    | cap_bit(cap::FSETID)
    | cap_bit(cap::MAC_OVERRIDE);

/// The root of the container's user namespace.
pub const ROOT_ID: u32 = 0;
/// `(uid_t)-1`: "leave unchanged" to the `set*id` calls, never an id.
pub const NO_ID: u32 = u32::MAX;
/// `NGROUPS_MAX`: the most supplementary groups a process has.
pub const NGROUPS_MAX: usize = 65536;

/// `capget`/`capset` header versions (`_LINUX_CAPABILITY_VERSION_*`).
pub const CAP_VERSION_1: u32 = 0x1998_0330;
pub const CAP_VERSION_2: u32 = 0x2007_1026;
pub const CAP_VERSION_3: u32 = 0x2008_0522;

/// How many 32-bit `__user_cap_data_struct`s a header version transfers;
/// None for a version Linux does not know (it then writes version 3
/// into the header and fails with EINVAL).
pub fn cap_data_words(version: u32) -> Option<usize> {
    match version {
        CAP_VERSION_1 => Some(1),
        CAP_VERSION_2 | CAP_VERSION_3 => Some(2),
        _ => None,
    }
}

/// Permission bits asked of a file (`MAY_EXEC`, `MAY_WRITE`, `MAY_READ`).
pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// Which ids changed, for the capability fix-ups (`LSM_SETID_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UidChange {
    /// setuid, setreuid, setresuid.
    Process,
    /// setfsuid.
    FileSystem,
}

/// A file's owner and mode, as its `stat` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOwner {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    /// Supplementary groups, sorted (Linux sorts them in `setgroups`).
    pub groups: Vec<u32>,
    pub cap_inheritable: CapSet,
    pub cap_permitted: CapSet,
    pub cap_effective: CapSet,
    pub cap_bounding: CapSet,
    pub cap_ambient: CapSet,
    /// `PR_SET_KEEPCAPS` (`SECBIT_KEEP_CAPS`): capabilities survive the
    /// uids leaving 0; cleared by execve.
    pub keep_caps: bool,
    /// `PR_SET_NO_NEW_PRIVS`: once set, never cleared, kept by fork and exec.
    pub no_new_privs: bool,
}

impl Credentials {
    /// A docker container's root: uid and gid 0, no supplementary
    /// groups, docker's default capabilities permitted, effective and
    /// bounding, none inheritable.
    pub fn container_root() -> Self {
        Self {
            uid: ROOT_ID,
            euid: ROOT_ID,
            suid: ROOT_ID,
            fsuid: ROOT_ID,
            gid: ROOT_ID,
            egid: ROOT_ID,
            sgid: ROOT_ID,
            fsgid: ROOT_ID,
            groups: Vec::new(),
            cap_inheritable: 0,
            cap_permitted: DOCKER_DEFAULT_CAPS,
            cap_effective: DOCKER_DEFAULT_CAPS,
            cap_bounding: DOCKER_DEFAULT_CAPS,
            cap_ambient: 0,
            keep_caps: false,
            no_new_privs: false,
        }
    }

    /// What a container started with `--user uid:gid` runs as: the
    /// runtime (runc) sets the groups, then the gids, then the uids from
    /// root, then execs the workload; a uid other than 0 loses every
    /// capability but keeps the bounding set, as under docker.
    pub fn container_user(uid: u32, gid: u32, groups: &[u32]) -> Result<Self, Errno> {
        let mut creds = Self::container_root();
        creds.setgroups(groups.to_vec())?;
        creds.setresgid(gid, gid, gid)?;
        creds.setresuid(uid, uid, uid)?;
        creds.exec();
        Ok(creds)
    }

    pub fn capable(&self, cap: u32) -> bool {
        self.cap_effective & cap_bit(cap) != 0
    }

    /// Whether `gid` is the file-system gid or a supplementary group
    /// (`in_group_p`).
    pub fn in_group(&self, gid: u32) -> bool {
        gid == self.fsgid || self.groups.binary_search(&gid).is_ok()
    }

    // -- uids ---------------------------------------------------------------

    pub fn setuid(&mut self, uid: u32) -> Result<(), Errno> {
        if uid == NO_ID {
            return Err(Errno::EINVAL);
        }
        let old = self.clone();
        if self.capable(cap::SETUID) {
            self.uid = uid;
            self.suid = uid;
        } else if uid != self.uid && uid != self.suid {
            return Err(Errno::EPERM);
        }
        self.euid = uid;
        self.fsuid = uid;
        self.fix_caps_after_uid_change(&old, UidChange::Process);
        Ok(())
    }

    pub fn setreuid(&mut self, ruid: u32, euid: u32) -> Result<(), Errno> {
        let old = self.clone();
        let privileged = self.capable(cap::SETUID);
        if ruid != NO_ID && !privileged && ruid != old.uid && ruid != old.euid {
            return Err(Errno::EPERM);
        }
        if euid != NO_ID && !privileged && ![old.uid, old.euid, old.suid].contains(&euid) {
            return Err(Errno::EPERM);
        }
        if ruid != NO_ID {
            self.uid = ruid;
        }
        if euid != NO_ID {
            self.euid = euid;
        }
        if ruid != NO_ID || (euid != NO_ID && euid != old.uid) {
            self.suid = self.euid;
        }
        self.fsuid = self.euid;
        self.fix_caps_after_uid_change(&old, UidChange::Process);
        Ok(())
    }

    pub fn setresuid(&mut self, ruid: u32, euid: u32, suid: u32) -> Result<(), Errno> {
        let old = self.clone();
        if !self.capable(cap::SETUID) {
            let allowed = [old.uid, old.euid, old.suid];
            if [ruid, euid, suid]
                .iter()
                .any(|&id| id != NO_ID && !allowed.contains(&id))
            {
                return Err(Errno::EPERM);
            }
        }
        if ruid != NO_ID {
            self.uid = ruid;
        }
        if euid != NO_ID {
            self.euid = euid;
        }
        if suid != NO_ID {
            self.suid = suid;
        }
        self.fsuid = self.euid;
        self.fix_caps_after_uid_change(&old, UidChange::Process);
        Ok(())
    }

    /// Returns the previous file-system uid whether or not it changed (as
    /// Linux's setfsuid, which has no error return).
    pub fn setfsuid(&mut self, fsuid: u32) -> u32 {
        let old = self.clone();
        if fsuid != NO_ID
            && ([old.uid, old.euid, old.suid, old.fsuid].contains(&fsuid)
                || self.capable(cap::SETUID))
            && fsuid != old.fsuid
        {
            self.fsuid = fsuid;
            self.fix_caps_after_uid_change(&old, UidChange::FileSystem);
        }
        old.fsuid
    }

    /// `cap_emulate_setxuid` and the fsuid rule of `cap_task_fix_setuid`.
    fn fix_caps_after_uid_change(&mut self, old: &Self, change: UidChange) {
        match change {
            UidChange::Process => {
                let was_root = [old.uid, old.euid, old.suid].contains(&ROOT_ID);
                let now_root = [self.uid, self.euid, self.suid].contains(&ROOT_ID);
                if was_root && !now_root && !self.keep_caps {
                    self.cap_permitted = 0;
                    self.cap_effective = 0;
                }
                if was_root && !now_root {
                    self.cap_ambient = 0;
                }
                if old.euid == ROOT_ID && self.euid != ROOT_ID {
                    self.cap_effective = 0;
                }
                if old.euid != ROOT_ID && self.euid == ROOT_ID {
                    self.cap_effective = self.cap_permitted;
                }
            }
            UidChange::FileSystem => {
                if old.fsuid == ROOT_ID && self.fsuid != ROOT_ID {
                    self.cap_effective &= !FS_CAPS;
                }
                if old.fsuid != ROOT_ID && self.fsuid == ROOT_ID {
                    self.cap_effective |= self.cap_permitted & FS_CAPS;
                }
            }
        }
    }

    // -- gids ---------------------------------------------------------------

    pub fn setgid(&mut self, gid: u32) -> Result<(), Errno> {
        if gid == NO_ID {
            return Err(Errno::EINVAL);
        }
        if self.capable(cap::SETGID) {
            self.gid = gid;
            self.sgid = gid;
        } else if gid != self.gid && gid != self.sgid {
            return Err(Errno::EPERM);
        }
        self.egid = gid;
        self.fsgid = gid;
        Ok(())
    }

    pub fn setregid(&mut self, rgid: u32, egid: u32) -> Result<(), Errno> {
        let old = self.clone();
        let privileged = self.capable(cap::SETGID);
        if rgid != NO_ID && !privileged && rgid != old.gid && rgid != old.egid {
            return Err(Errno::EPERM);
        }
        if egid != NO_ID && !privileged && ![old.gid, old.egid, old.sgid].contains(&egid) {
            return Err(Errno::EPERM);
        }
        if rgid != NO_ID {
            self.gid = rgid;
        }
        if egid != NO_ID {
            self.egid = egid;
        }
        if rgid != NO_ID || (egid != NO_ID && egid != old.gid) {
            self.sgid = self.egid;
        }
        self.fsgid = self.egid;
        Ok(())
    }

    pub fn setresgid(&mut self, rgid: u32, egid: u32, sgid: u32) -> Result<(), Errno> {
        if !self.capable(cap::SETGID) {
            let allowed = [self.gid, self.egid, self.sgid];
            if [rgid, egid, sgid]
                .iter()
                .any(|&id| id != NO_ID && !allowed.contains(&id))
            {
                return Err(Errno::EPERM);
            }
        }
        if rgid != NO_ID {
            self.gid = rgid;
        }
        if egid != NO_ID {
            self.egid = egid;
        }
        if sgid != NO_ID {
            self.sgid = sgid;
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// Returns the previous file-system gid (see [`Self::setfsuid`]).
    pub fn setfsgid(&mut self, fsgid: u32) -> u32 {
        let old = self.fsgid;
        if fsgid != NO_ID
            && ([self.gid, self.egid, self.sgid, self.fsgid].contains(&fsgid)
                || self.capable(cap::SETGID))
        {
            self.fsgid = fsgid;
        }
        old
    }

    /// `setgroups`: the caller checked the count against [`NGROUPS_MAX`].
    pub fn setgroups(&mut self, mut groups: Vec<u32>) -> Result<(), Errno> {
        if !self.capable(cap::SETGID) {
            return Err(Errno::EPERM);
        }
        if groups.contains(&NO_ID) {
            return Err(Errno::EINVAL);
        }
        groups.sort_unstable();
        self.groups = groups;
        Ok(())
    }

    // -- capabilities -------------------------------------------------------

    /// `capset` on the caller itself (`cap_capset`); the sets are already
    /// limited to the capabilities Linux defines.
    pub fn capset(
        &mut self,
        effective: CapSet,
        permitted: CapSet,
        inheritable: CapSet,
    ) -> Result<(), Errno> {
        let (effective, permitted, inheritable) = (
            effective & ALL_CAPS,
            permitted & ALL_CAPS,
            inheritable & ALL_CAPS,
        );
        // Without CAP_SETPCAP the inheritable set only takes what is permitted.
        if !self.capable(cap::SETPCAP)
            && inheritable & !(self.cap_inheritable | self.cap_permitted) != 0
        {
            return Err(Errno::EPERM);
        }
        if inheritable & !(self.cap_inheritable | self.cap_bounding) != 0 {
            return Err(Errno::EPERM);
        }
        if permitted & !self.cap_permitted != 0 || effective & !permitted != 0 {
            return Err(Errno::EPERM);
        }
        self.cap_effective = effective;
        self.cap_permitted = permitted;
        self.cap_inheritable = inheritable;
        self.cap_ambient &= permitted & inheritable;
        Ok(())
    }

    /// `PR_CAPBSET_DROP`.
    pub fn drop_bounding(&mut self, cap: u64) -> Result<(), Errno> {
        if !self.capable(cap::SETPCAP) {
            return Err(Errno::EPERM);
        }
        if cap > u64::from(cap::LAST_CAP) {
            return Err(Errno::EINVAL);
        }
        self.cap_bounding &= !(1 << cap);
        Ok(())
    }

    /// `PR_CAP_AMBIENT_RAISE`: only a capability both permitted and inheritable.
    pub fn raise_ambient(&mut self, cap: u32) -> Result<(), Errno> {
        let bit = cap_bit(cap);
        if self.cap_permitted & bit == 0 || self.cap_inheritable & bit == 0 {
            return Err(Errno::EPERM);
        }
        self.cap_ambient |= bit;
        Ok(())
    }

    /// What `execve` makes of the credentials (`cap_bprm_creds_from_file`
    /// for a file without capabilities and without set-id bits: lamina
    /// does not honour the set-user-id bit): root (real or effective)
    /// gets its bounding and inheritable sets permitted, effective when
    /// the euid is 0; anyone else keeps only the ambient set. The saved
    /// and file-system ids follow the effective ones.
    pub fn exec(&mut self) {
        let mut permitted = 0;
        if self.euid == ROOT_ID || self.uid == ROOT_ID {
            permitted = self.cap_bounding | self.cap_inheritable;
        }
        self.suid = self.euid;
        self.fsuid = self.euid;
        self.sgid = self.egid;
        self.fsgid = self.egid;
        self.cap_permitted = permitted | self.cap_ambient;
        self.cap_effective = if self.euid == ROOT_ID {
            self.cap_permitted
        } else {
            self.cap_ambient
        };
        self.keep_caps = false;
    }

    // -- files --------------------------------------------------------------

    /// The credentials `access()` checks with: the real ids, and the
    /// capabilities of the real uid (`access_override_creds`).
    pub fn for_access(&self) -> Self {
        let mut creds = self.clone();
        creds.fsuid = creds.uid;
        creds.fsgid = creds.gid;
        creds.cap_effective = if creds.uid == ROOT_ID {
            creds.cap_permitted
        } else {
            0
        };
        creds
    }

    /// Whether the capabilities alone grant `mask` without looking at the
    /// file's mode (a fast path: most checks are root's): CAP_DAC_OVERRIDE
    /// grants anything on a directory, and reading and writing elsewhere.
    pub fn overrides(&self, mask: u32, directory: bool) -> bool {
        (directory || mask & MAY_EXEC == 0) && self.capable(cap::DAC_OVERRIDE)
    }

    /// `generic_permission`: may these credentials do `mask` (MAY_*) to
    /// `file`? `directory` says whether it is one (execute means search).
    pub fn may_access(&self, file: FileOwner, mask: u32, directory: bool) -> bool {
        let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
        let bits = if self.fsuid == file.uid {
            file.mode >> 6
        } else if self.in_group(file.gid) {
            file.mode >> 3
        } else {
            file.mode
        };
        if mask & !bits & 7 == 0 {
            return true;
        }
        if directory {
            if mask & MAY_WRITE == 0 && self.capable(cap::DAC_READ_SEARCH) {
                return true;
            }
            return self.capable(cap::DAC_OVERRIDE);
        }
        if mask == MAY_READ && self.capable(cap::DAC_READ_SEARCH) {
            return true;
        }
        // Execute needs some execute bit even for the privileged.
        (mask & MAY_EXEC == 0 || file.mode & 0o111 != 0) && self.capable(cap::DAC_OVERRIDE)
    }

    /// The owner or CAP_FOWNER (`inode_owner_or_capable`): chmod, utimes
    /// with explicit times.
    pub fn owns_or_capable(&self, file_uid: u32) -> bool {
        self.fsuid == file_uid || self.capable(cap::FOWNER)
    }

    /// Whether `chown(file, uid, gid)` is allowed (`chown_ok`,
    /// `chgrp_ok`; NO_ID leaves that id alone): the owner may give the
    /// file to one of its own groups, anything else needs CAP_CHOWN.
    pub fn may_chown(&self, file: FileOwner, uid: u32, gid: u32) -> bool {
        if self.capable(cap::CHOWN) {
            return true;
        }
        let uid_ok = uid == NO_ID || (self.fsuid == file.uid && uid == file.uid);
        let gid_ok =
            gid == NO_ID || (self.fsuid == file.uid && (self.in_group(gid) || gid == file.gid));
        uid_ok && gid_ok
    }

    /// In a sticky directory only the file's owner, the directory's owner
    /// or CAP_FOWNER may remove or rename an entry (`check_sticky`).
    pub fn may_delete_in_sticky(&self, dir_uid: u32, file_uid: u32) -> bool {
        self.fsuid == file_uid || self.fsuid == dir_uid || self.capable(cap::FOWNER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn docker_root_capabilities() {
        let root = Credentials::container_root();
        assert_eq!(DOCKER_DEFAULT_CAPS, 0xa804_25fb);
        assert_eq!(root.cap_effective, 0xa804_25fb);
        assert!(root.capable(cap::SETUID));
        assert!(!root.capable(cap::DAC_READ_SEARCH));
    }

    #[test]
    fn dropping_to_a_user_clears_capabilities_for_good() {
        let mut c = Credentials::container_root();
        c.setgroups(vec![27, 4, 4]).unwrap();
        assert_eq!(c.groups, [4, 4, 27]);
        c.setresgid(1000, 1000, 1000).unwrap();
        c.setresuid(1000, 1000, 1000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 1000, 1000, 1000));
        assert_eq!((c.cap_permitted, c.cap_effective), (0, 0));
        assert_eq!(c.cap_bounding, DOCKER_DEFAULT_CAPS);
        assert_eq!(c.setuid(0), Err(Errno::EPERM));
        assert_eq!(c.setresuid(NO_ID, 0, NO_ID), Err(Errno::EPERM));
        assert_eq!(c.setgroups(vec![]), Err(Errno::EPERM));
        assert_eq!(c.setgid(0), Err(Errno::EPERM));
        // Unchanged or own ids are always allowed.
        assert_eq!(c.setresuid(1000, NO_ID, 1000), Ok(()));
        assert_eq!(c.setuid(1000), Ok(()));
        assert_eq!(c.setfsuid(0), 1000);
        assert_eq!(c.fsuid, 1000);
    }

    #[test]
    fn saved_uid_lets_a_daemon_switch_back() {
        let mut c = Credentials::container_root();
        c.setresuid(NO_ID, 33, NO_ID).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (0, 33, 0));
        assert_eq!(c.cap_effective, 0);
        assert_eq!(c.cap_permitted, DOCKER_DEFAULT_CAPS);
        c.setresuid(NO_ID, 0, NO_ID).unwrap();
        assert_eq!(c.cap_effective, DOCKER_DEFAULT_CAPS);
        // setreuid with a new euid moves the saved uid along.
        c.setreuid(NO_ID, 5).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (0, 5, 5));
        c.setreuid(0, NO_ID).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (0, 5, 5));
        assert_eq!(c.cap_effective, 0);
    }

    #[test]
    fn unprivileged_setuid_changes_only_effective() {
        let mut c = Credentials::container_user(1000, 1000, &[]).unwrap();
        c.setresuid(1000, 1000, 2000).ok();
        assert_eq!(c.setresuid(1000, 1000, 2000), Err(Errno::EPERM));
        let mut c = Credentials::container_root();
        c.setresuid(1000, 1000, 2000).unwrap();
        c.setuid(2000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (1000, 2000, 2000));
        assert_eq!(c.setuid(NO_ID), Err(Errno::EINVAL));
    }

    #[test]
    fn keep_caps_keeps_permitted_across_the_drop() {
        let mut c = Credentials::container_root();
        c.keep_caps = true;
        c.setresuid(1000, 1000, 1000).unwrap();
        assert_eq!(c.cap_permitted, DOCKER_DEFAULT_CAPS);
        assert_eq!(c.cap_effective, 0);
        c.exec();
        assert_eq!(c.cap_permitted, 0);
        assert!(!c.keep_caps);
    }

    #[test]
    fn fsuid_drops_the_file_capabilities() {
        let mut c = Credentials::container_root();
        assert_eq!(c.setfsuid(1000), 0);
        assert!(!c.capable(cap::DAC_OVERRIDE));
        assert!(c.capable(cap::SETUID));
        assert_eq!(c.setfsuid(0), 1000);
        assert!(c.capable(cap::DAC_OVERRIDE));
        assert_eq!(c.setfsgid(50), 0);
        assert_eq!(c.fsgid, 50);
    }

    #[test]
    fn capset_rules() {
        let mut c = Credentials::container_root();
        let kill = cap_bit(cap::KILL);
        assert_eq!(c.capset(kill, kill, 0), Ok(()));
        assert_eq!(c.cap_permitted, kill);
        // Never regained; effective within permitted.
        assert_eq!(
            c.capset(kill, kill | cap_bit(cap::CHOWN), 0),
            Err(Errno::EPERM)
        );
        assert_eq!(c.capset(cap_bit(cap::CHOWN), kill, 0), Err(Errno::EPERM));
        // Inheritable beyond permitted needs CAP_SETPCAP, which is gone.
        assert_eq!(c.capset(0, kill, cap_bit(cap::CHOWN)), Err(Errno::EPERM));
        assert_eq!(c.capset(0, kill, kill), Ok(()));
    }

    #[test]
    fn bounding_set_drop_and_exec() {
        let mut c = Credentials::container_root();
        c.drop_bounding(u64::from(cap::NET_RAW)).unwrap();
        assert_eq!(c.drop_bounding(99), Err(Errno::EINVAL));
        c.exec();
        assert_eq!(
            c.cap_permitted,
            DOCKER_DEFAULT_CAPS & !cap_bit(cap::NET_RAW)
        );
        let mut user = Credentials::container_user(7, 7, &[]).unwrap();
        assert_eq!(user.drop_bounding(1), Err(Errno::EPERM));
        user.exec();
        assert_eq!(user.cap_effective, 0);
    }

    #[test]
    fn mode_bits_and_capabilities() {
        let user = Credentials::container_user(1000, 100, &[20]).unwrap();
        let secret = FileOwner {
            mode: 0o100600,
            uid: 0,
            gid: 0,
        };
        assert!(!user.may_access(secret, MAY_READ, false));
        let group_readable = FileOwner {
            mode: 0o100640,
            uid: 0,
            gid: 20,
        };
        assert!(user.may_access(group_readable, MAY_READ, false));
        assert!(!user.may_access(group_readable, MAY_WRITE, false));
        let own = FileOwner {
            mode: 0o100600,
            uid: 1000,
            gid: 1,
        };
        assert!(user.may_access(own, MAY_READ | MAY_WRITE, false));
        // The owner's bits decide even when "other" would allow.
        let odd = FileOwner {
            mode: 0o100007,
            uid: 1000,
            gid: 1,
        };
        assert!(!user.may_access(odd, MAY_READ, false));
        let root = Credentials::container_root();
        assert!(root.may_access(secret, MAY_READ | MAY_WRITE, false));
        assert!(!root.may_access(secret, MAY_EXEC, false));
        assert!(root.may_access(
            FileOwner {
                mode: 0o40700,
                ..secret
            },
            MAY_EXEC,
            true
        ));
        // access() uses the real ids.
        let mut switched = Credentials::container_root();
        switched.setresuid(NO_ID, 1000, NO_ID).unwrap();
        assert!(!switched.may_access(secret, MAY_READ, false));
        assert!(switched.for_access().may_access(secret, MAY_READ, false));
    }

    #[test]
    fn chown_rules() {
        let user = Credentials::container_user(1000, 100, &[20]).unwrap();
        let own = FileOwner {
            mode: 0o100644,
            uid: 1000,
            gid: 100,
        };
        assert!(user.may_chown(own, NO_ID, 20));
        assert!(user.may_chown(own, 1000, 100));
        assert!(!user.may_chown(own, 0, NO_ID));
        assert!(!user.may_chown(own, NO_ID, 0));
        assert!(!user.may_chown(FileOwner { uid: 1, ..own }, NO_ID, 20));
        assert!(Credentials::container_root().may_chown(own, 5, 5));
    }
}
