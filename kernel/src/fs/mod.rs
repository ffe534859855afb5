//! Files: open-file objects, the descriptor table that refers to them, the
//! VFS (mounts and path walk) and the file systems below it.

pub mod console;
pub mod devfs;
pub mod fd;
pub mod file;
pub mod procfs;
pub mod synth;
pub mod tmpfs;
pub mod vfs;

use vfs::NodeRef;

/// The name /proc/mounts gives the root's file system.
static ROOT_FS_TYPE: spin::Once<&'static [u8]> = spin::Once::new();

pub fn root_fs_type() -> &'static [u8] {
    ROOT_FS_TYPE.get().copied().unwrap_or(b"tmpfs")
}

/// Builds the namespace: `root` at `/` (a fresh tmpfs when there is no
/// shared root), then /dev, /proc and a tmpfs at /tmp.
pub fn init(root: Option<(NodeRef, &'static [u8])>, console_is_tty: bool) {
    let (root, kind) = root.unwrap_or_else(|| {
        let tmp = tmpfs::TmpNode::new_fs();
        for dir in [&b"dev"[..], b"proc", b"tmp"] {
            tmp.add_dir(dir);
        }
        (tmp as NodeRef, b"tmpfs")
    });
    ROOT_FS_TYPE.call_once(|| kind);
    vfs::mount(b"/", root);
    vfs::mount(b"/dev", devfs::new(console_is_tty));
    vfs::mount(b"/proc", procfs::new());
    vfs::mount(b"/tmp", tmpfs::TmpNode::new_fs() as NodeRef);
}
