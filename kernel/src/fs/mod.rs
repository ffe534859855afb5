//! Files: open-file objects, the descriptor table that refers to them, the
//! VFS (mounts and path walk) and the file systems below it.

pub mod console;
pub mod devfs;
pub mod epoll;
pub mod eventfd;
pub mod fd;
pub mod fifo;
pub mod file;
pub mod inotify;
pub mod owner;
pub mod p9;
pub mod pipe;
pub mod procfs;
pub mod signalfd;
pub mod synth;
pub mod sysfs;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;
pub mod vfs;

use vfs::{Node as _, NodeRef};

/// Builds the namespace: `root` at `/` (a fresh tmpfs when there is no
/// shared root), then /dev, /dev/shm, /proc and /sys. A shared root's own
/// `/tmp` is the workload's `/tmp` (as docker and `podman --rootfs` give
/// it: what a program leaves there stays in the root); only a root
/// without one gets a tmpfs there, so `/tmp` always exists. `--tmpfs /tmp`
/// (a bundle mount line, mounted later) puts a tmpfs over it all the same.
pub fn init(root: Option<(NodeRef, &'static [u8])>, console_is_tty: bool) {
    let (root, kind) = root.unwrap_or_else(|| {
        let tmp = tmpfs::TmpNode::new_fs();
        // The empty root is root's 0755 as a container's `/` (a `--user`
        // workload cannot write there); a new tmpfs is otherwise 1777.
        let _ = vfs::Node::setattr(
            &*tmp,
            &vfs::SetAttr {
                mode: Some(0o755),
                ..vfs::SetAttr::default()
            },
        );
        for dir in [&b"dev"[..], b"proc", b"sys"] {
            tmp.add_dir(dir);
        }
        // World-writable and sticky, as every /tmp.
        let _ = tmp.mkdir(b"tmp", 0o1777);
        (tmp as NodeRef, b"tmpfs")
    });
    vfs::mount(b"/", root, kind);
    vfs::mount(b"/dev", devfs::new(console_is_tty), b"devtmpfs");
    vfs::mount(
        b"/dev/shm",
        tmpfs::TmpNode::new_sized_fs(tmpfs::DEFAULT_SHM_BYTES),
        b"tmpfs",
    );
    vfs::mount(b"/proc", procfs::new(), b"proc");
    vfs::mount(b"/sys", sysfs::new(), b"sysfs");
    let root_has_tmp = vfs::resolve(b"/", b"/tmp", vfs::Last::Follow, &vfs::NoProcess)
        .is_ok_and(|found| found.node.kind() == vfs::NodeKind::Directory);
    if !root_has_tmp {
        vfs::mount(b"/tmp", tmpfs::TmpNode::new_fs() as NodeRef, b"tmpfs");
    }
}

/// Puts a file holding `content` at the absolute `path`, in memory over
/// whatever the root has there (as docker bind-mounts its `/etc/hosts`):
/// writable, never written to the root below. A missing parent directory
/// appears as an empty tmpfs directory (on the empty root or a root
/// without `/etc`), again without touching the root.
pub fn place_file(path: &[u8], content: &[u8]) -> Result<(), lamina_abi::errno::Errno> {
    use lamina_abi::errno::Errno;
    let split = path.iter().rposition(|&b| b == b'/').ok_or(Errno::EINVAL)?;
    let (dir, name) = (&path[..split.max(1)], &path[split + 1..]);
    match vfs::resolve(b"/", dir, vfs::Last::Follow, &vfs::NoProcess) {
        Ok(found) if found.node.kind() == vfs::NodeKind::Directory => {}
        Ok(_) => return Err(Errno::ENOTDIR),
        Err(Errno::ENOENT) if dir.len() > 1 => {
            vfs::mount(dir, tmpfs::TmpNode::new_fs() as vfs::NodeRef, b"tmpfs");
        }
        Err(err) => return Err(err),
    }
    let holder = tmpfs::TmpNode::new_fs();
    let node = holder.add_file(name, content)?;
    vfs::mount(path, node, b"tmpfs");
    Ok(())
}

/// Creates `path` and its missing parents, as `mkdir -p` (the workload's
/// `--workdir`, which need not exist yet).
pub fn make_dirs(path: &[u8]) -> Result<(), lamina_abi::errno::Errno> {
    use lamina_abi::errno::Errno;
    let mut at = alloc::vec::Vec::new();
    for component in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        let parent = if at.is_empty() {
            b"/".to_vec()
        } else {
            at.clone()
        };
        at.push(b'/');
        at.extend_from_slice(component);
        match vfs::resolve(b"/", &at, vfs::Last::Follow, &vfs::NoProcess) {
            Ok(found) if found.node.kind() == vfs::NodeKind::Directory => continue,
            Ok(_) => return Err(Errno::ENOTDIR),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let dir = vfs::resolve(b"/", &parent, vfs::Last::Follow, &vfs::NoProcess)?;
        match dir.node.mkdir(component, 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
