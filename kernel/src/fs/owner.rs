//! Who a new file belongs to: the creating process's file-system uid and
//! gid, as Linux's `inode_init_owner` takes them from `current_fsuid()`.
//! The system call that creates a node names the creator for the length
//! of the file system's operation ([`creating_as`]); anything the kernel
//! creates on its own (the workdir, `/tmp`) belongs to root. One CPU and
//! a kernel that is not preempted: no other call runs in between.

use spin::Mutex;

/// (uid, gid) of the creator.
pub type Owner = (u32, u32);

const ROOT: Owner = (0, 0);

static CREATOR: Mutex<Owner> = Mutex::new(ROOT);

/// Runs `create` with new nodes belonging to `owner`.
pub fn creating_as<R>(owner: Owner, create: impl FnOnce() -> R) -> R {
    *CREATOR.lock() = owner;
    let result = create();
    *CREATOR.lock() = ROOT;
    result
}

/// The owner of a node being created now.
pub fn creator() -> Owner {
    *CREATOR.lock()
}
