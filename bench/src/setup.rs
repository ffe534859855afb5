//! Everything the comparison needs, fetched and built into `bench/cache` and
//! `target/`: Debian's kernel and busybox (unpacked, never installed), the
//! Linux guest's initramfs, the benchmark programs and lamina itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cpio;
use crate::gvisor::{self, Gvisor};
use crate::rows::{SEQ_MIB, TREE_ENTRIES};
use crate::Error;

/// The Debian package that always depends on the current kernel image.
const KERNEL_META_PACKAGE: &str = "linux-image-amd64";
const BUSYBOX_PACKAGE: &str = "busybox-static";
const FONT_PACKAGE: &str = "fonts-dejavu-core";
const FONT_PATH: &str = "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Modules a Kata-style utility VM loads: the virtio transports, the 9P
/// stack, virtio-net and vsock. Their dependencies come along; names the
/// kernel does not have as modules (built in, or absent) are skipped.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_mmio",
    "virtio_pci",
    "fscache",
    "netfs",
    "9pnet",
    "9pnet_virtio",
    "9p",
    "virtio_net",
    "vsock",
    "vmw_vsock_virtio_transport",
];

/// The guest's /init: mount, note when the kernel started it, load the
/// modules, with `--share OPTIONS` first mount the shared directory (9P tag
/// [`SHARE_TAG`]) on /mnt and work there, with `--net` first bring up eth0
/// as QEMU's user networking expects it (10.0.2.15/24, the host at
/// 10.0.2.2), run its arguments with their output marked (with `--console`
/// their stdout straight to the console instead), power off.
const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B dmesg | $B sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/@@ linux_kernel_to_init \1 s/p'
failed=0
for m in $($B cat /lib/modules/load-order); do
    $B insmod /lib/modules/$m.ko 2>/dev/null || { failed=$((failed + 1)); echo "insmod $m failed"; }
done
echo "@@ insmod_failed $failed modules"
if [ "$1" = "--share" ]; then
    $B mount -t 9p -o "$2" share /mnt || { echo "mount -t 9p -o $2 failed"; $B poweroff -f; }
    shift 2
    cd /mnt
fi
if [ "$1" = "--net" ]; then
    shift
    $B ip link set lo up
    $B ip link set eth0 up && $B ip addr add 10.0.2.15/24 dev eth0 || echo "@@ eth0 setup failed"
fi
if [ "$1" = "--console" ]; then
    shift
    "$@" 2>/tmp/out
    status=$?
else
    "$@" >/tmp/out 2>&1
    status=$?
fi
$B sed 's/^/@@ /' /tmp/out
echo "@@ exit_status $status code"
$B poweroff -f
"#;

/// Paths of everything a run needs.
#[derive(Debug)]
pub struct Prepared {
    pub lamina: PathBuf,
    pub lamina_kernel: PathBuf,
    pub vmlinuz: PathBuf,
    pub initramfs: PathBuf,
    pub programs: BTreeMap<String, PathBuf>,
    pub font: Option<PathBuf>,
    pub modules: Vec<String>,
    pub share: Share,
    /// gVisor's runsc, or why it cannot be measured here (or is not wanted).
    pub gvisor: Result<Gvisor, String>,
    /// Where the output of each failed VM run is kept, one file per run.
    pub failed_logs: PathBuf,
}

/// The 9P mount tag of the shared directory in both guests' QEMU.
pub const SHARE_TAG: &str = "share";

/// The host directory the `Source::Shared` rows work in: lamina's `--rootfs`,
/// the Linux guest's 9P mount, the native runs' working directory. It holds
/// `bin/` (the benchmark programs: for lamina, and what the fork+execve row
/// executes on every side), `data/seq-256m` (the
/// sequential-read file), `data/tree/` (the walked tree) and `scratch/`,
/// emptied before every run.
#[derive(Debug)]
pub struct Share {
    pub dir: PathBuf,
}

impl Share {
    /// Where the benchmark programs are inside the share, as a guest path.
    pub fn guest_program(program: &str) -> String {
        format!("/bin/{program}")
    }

    /// A new, empty `scratch/` for the next run's writes.
    pub fn fresh_scratch(&self) -> Result<(), Error> {
        let scratch = self.dir.join("scratch");
        match fs::remove_dir_all(&scratch) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error(format!("{}: {err}", scratch.display()))),
        }
        fs::create_dir(&scratch)?;
        Ok(())
    }
}

/// The sequential-read file: `SEQ_MIB` MiB of xorshift bytes (no holes, no
/// runs a compressor or dedup could shortcut), made once and kept.
fn seq_file(path: &Path) -> Result<(), Error> {
    let bytes = SEQ_MIB << 20;
    if fs::metadata(path).is_ok_and(|m| m.len() == bytes) {
        return Ok(());
    }
    step(&format!("write the {SEQ_MIB} MiB read file"));
    let partial = path.with_extension("partial");
    let mut out = std::io::BufWriter::new(fs::File::create(&partial)?);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..SEQ_MIB {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        out.write_all(&chunk)?;
    }
    out.into_inner()
        .map_err(|err| Error(err.to_string()))?
        .sync_all()?;
    fs::rename(&partial, path)?;
    Ok(())
}

/// `TREE_ENTRIES` entries under `dir`: 20 directories, each with 9
/// subdirectories of 110 empty files (20 + 180 + 19,800).
pub const TREE_SHAPE: (u64, u64, u64) = (20, 9, 110);

fn tree(dir: &Path) -> Result<(), Error> {
    let (top, sub, files) = TREE_SHAPE;
    let done = dir.with_extension("done");
    if done.exists() {
        return Ok(());
    }
    step(&format!("make the {TREE_ENTRIES}-entry tree"));
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    for t in 0..top {
        for s in 0..sub {
            let leaf = dir.join(format!("d{t:02}")).join(format!("s{s}"));
            fs::create_dir_all(&leaf)?;
            for f in 0..files {
                fs::File::create(leaf.join(format!("f{f:03}")))?;
            }
        }
    }
    fs::write(&done, b"")?;
    Ok(())
}

/// Reads `path` once so that every side reads it from the host's page cache.
fn warm(path: &Path) -> Result<(), Error> {
    let mut file = fs::File::open(path)?;
    std::io::copy(&mut file, &mut std::io::sink())?;
    Ok(())
}

/// The share with every program in `bin/`; with `file_data`, also the file
/// rows' `data/` (written once, then kept).
fn prepare_share(
    layout: &Layout,
    programs: &BTreeMap<String, PathBuf>,
    file_data: bool,
) -> Result<Share, Error> {
    let share = Share {
        dir: layout.build.join("share"),
    };
    let bin = share.dir.join("bin");
    let data = share.dir.join("data");
    fs::create_dir_all(&bin)?;
    fs::create_dir_all(&data)?;
    for (name, path) in programs {
        fs::copy(path, bin.join(name))?;
    }
    if file_data {
        let seq = data.join("seq-256m");
        seq_file(&seq)?;
        warm(&seq)?;
        tree(&data.join("tree"))?;
    }
    share.fresh_scratch()?;
    Ok(share)
}

pub struct Layout {
    pub root: PathBuf,
    pub cache: PathBuf,
    pub build: PathBuf,
}

impl Layout {
    pub fn new() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("bench/ has a parent")
            .to_path_buf();
        Layout {
            cache: root.join("bench").join("cache"),
            build: root.join("target").join("bench-compare"),
            root,
        }
    }
}

pub fn step(message: &str) {
    eprintln!("==> {message}");
}

fn run(command: &mut Command) -> Result<String, Error> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|err| Error(format!("cannot start {shown}: {err}")))?;
    if !output.status.success() {
        return Err(Error(format!(
            "{shown} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn require_tools() -> Result<(), Error> {
    let tools = [
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("musl-gcc", "musl-tools"),
        ("gzip", "gzip"),
        ("apt-get", "apt"),
        ("dpkg", "dpkg"),
    ];
    for (tool, package) in tools {
        let found = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
            .unwrap_or(false);
        if !found {
            return Err(Error(format!(
                "{tool} is not on PATH; install it with: apt-get install {package}"
            )));
        }
    }
    Ok(())
}

/// Downloads `package` with apt (updating the lists once if they do not know
/// it) and unpacks it under the cache; returns the unpacked tree.
pub fn unpacked_deb(layout: &Layout, package: &str) -> Result<PathBuf, Error> {
    let tree = layout.cache.join("pkg").join(package);
    let done = tree.join(".unpacked");
    if done.exists() {
        return Ok(tree);
    }
    let debs = layout.cache.join("debs");
    fs::create_dir_all(&debs)?;
    step(&format!("apt-get download {package}"));
    let download = || {
        run(Command::new("apt-get")
            .arg("download")
            .arg(package)
            .current_dir(&debs))
    };
    if download().is_err() {
        run(Command::new("apt-get").arg("update"))?;
        download()?;
    }
    let prefix = format!("{package}_");
    let deb = fs::read_dir(&debs)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .max()
        .ok_or_else(|| Error(format!("apt-get download {package} left no .deb")))?;
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir_all(&tree)?;
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&tree))?;
    fs::write(&done, b"")?;
    Ok(tree)
}

/// The versioned kernel image package behind the meta package.
fn kernel_package() -> Result<String, Error> {
    let depends = run(Command::new("apt-cache").args(["depends", KERNEL_META_PACKAGE]));
    let depends = match depends {
        Ok(text) if text.contains("Depends:") => text,
        _ => {
            run(Command::new("apt-get").arg("update"))?;
            run(Command::new("apt-cache").args(["depends", KERNEL_META_PACKAGE]))?
        }
    };
    depends
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| name.starts_with("linux-image-"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error(format!(
                "apt-cache depends {KERNEL_META_PACKAGE}: no linux-image-* dependency"
            ))
        })
}

fn only_entry(dir: &Path, prefix: &str) -> Result<PathBuf, Error> {
    fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| {
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .starts_with(prefix)
        })
        .ok_or_else(|| Error(format!("no {prefix}* in {}", dir.display())))
}

/// A module's name as the kernel spells it (`-` and `_` are one).
fn module_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let stem = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|suffix| file.strip_suffix(suffix))?;
    Some(stem.replace('-', "_"))
}

fn index_modules(dir: &Path, index: &mut BTreeMap<String, PathBuf>) -> Result<(), Error> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            index_modules(&path, index)?;
        } else if let Some(name) = module_name(&path) {
            index.insert(name, path);
        }
    }
    Ok(())
}

/// The module's bytes, decompressed: busybox's insmod takes plain ELF only.
fn module_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    let decompressor = match path.extension().and_then(|e| e.to_str()) {
        Some("xz") => "xz",
        Some("zst") => "zstd",
        Some("gz") => "gzip",
        _ => return Ok(fs::read(path)?),
    };
    let output = Command::new(decompressor)
        .arg("-dc")
        .arg(path)
        .output()
        .map_err(|err| Error(format!("{decompressor} -dc {}: {err}", path.display())))?;
    if !output.status.success() {
        return Err(Error(format!(
            "{decompressor} -dc {} failed",
            path.display()
        )));
    }
    Ok(output.stdout)
}

/// `depends=` from the module's `.modinfo` strings (what depmod reads; the
/// unpacked package has no modules.dep, as depmod runs at install time).
pub fn modinfo_depends(module: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"\0depends=";
    let Some(at) = module.windows(KEY.len()).position(|w| w == KEY) else {
        return Vec::new();
    };
    let rest = &module[at + KEY.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| name.replace('-', "_"))
        .collect()
}

/// The wanted modules and their dependencies, dependencies first.
fn resolve_modules(
    index: &BTreeMap<String, PathBuf>,
    wanted: &[&str],
) -> Result<Vec<(String, Vec<u8>)>, Error> {
    fn visit(
        name: &str,
        index: &BTreeMap<String, PathBuf>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<(), Error> {
        if !seen.insert(name.to_string()) {
            return Ok(());
        }
        let Some(path) = index.get(name) else {
            return Ok(()); // built in, or not in this kernel
        };
        let bytes = module_bytes(path)?;
        for dependency in modinfo_depends(&bytes) {
            visit(&dependency, index, seen, order)?;
        }
        order.push((name.to_string(), bytes));
        Ok(())
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for name in wanted {
        visit(name, index, &mut seen, &mut order)?;
    }
    Ok(order)
}

fn build_initramfs(
    layout: &Layout,
    busybox: &Path,
    modules: &[(String, Vec<u8>)],
    programs: &BTreeMap<String, PathBuf>,
) -> Result<PathBuf, Error> {
    let mut archive = cpio::Archive::default();
    for dir in [
        "bin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "mnt",
        "bench",
        "lib",
        "lib/modules",
    ] {
        archive.dir(dir);
    }
    archive.char_device("dev/console", 5, 1);
    archive.file("bin/busybox", 0o755, &fs::read(busybox)?);
    archive.file("init", 0o755, INIT_SCRIPT.as_bytes());
    for (name, path) in programs {
        archive.file(&format!("bench/{name}"), 0o755, &fs::read(path)?);
    }
    let mut load_order = String::new();
    for (name, bytes) in modules {
        archive.file(&format!("lib/modules/{name}.ko"), 0o644, bytes);
        load_order.push_str(name);
        load_order.push('\n');
    }
    archive.file("lib/modules/load-order", 0o644, load_order.as_bytes());

    let out = layout.cache.join("initramfs.cpio.gz");
    let mut gzip = Command::new("gzip")
        .args(["-9", "-n"])
        .stdin(Stdio::piped())
        .stdout(fs::File::create(&out)?)
        .spawn()?;
    gzip.stdin
        .take()
        .expect("piped stdin")
        .write_all(&archive.finish())?;
    if !gzip.wait()?.success() {
        return Err(Error("gzip of the initramfs failed".into()));
    }
    Ok(out)
}

fn build_programs(layout: &Layout) -> Result<BTreeMap<String, PathBuf>, Error> {
    let sources = layout.root.join("bench").join("programs");
    fs::create_dir_all(&layout.build)?;
    let mut programs = BTreeMap::new();
    for entry in fs::read_dir(&sources)? {
        let source = entry?.path();
        if source.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let name = source
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| Error(format!("odd program name {}", source.display())))?
            .to_string();
        let binary = layout.build.join(&name);
        let fresh = match (fs::metadata(&binary), fs::metadata(&source)) {
            (Ok(built), Ok(src)) => built.modified()? >= src.modified()?,
            _ => false,
        };
        if !fresh {
            step(&format!("musl-gcc -static -O2 {name}.c"));
            run(Command::new("musl-gcc")
                .args(["-static", "-O2", "-Wall", "-o"])
                .arg(&binary)
                .arg(&source))?;
        }
        programs.insert(name, binary);
    }
    Ok(programs)
}

/// Everything a run needs; `file_data`: the file rows' data in the share too;
/// `gvisor`: find (or unpack) runsc and see that it runs here.
pub fn prepare(
    layout: &Layout,
    build_lamina: bool,
    file_data: bool,
    gvisor: bool,
) -> Result<Prepared, Error> {
    require_tools()?;
    fs::create_dir_all(&layout.cache)?;
    if build_lamina {
        step("cargo build --release");
        run(Command::new("cargo")
            .args(["build", "--release"])
            .current_dir(&layout.root)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit()))?;
    }
    let lamina = layout.root.join("target/release/lamina");
    let lamina_kernel = layout
        .root
        .join("target/kernel/x86_64-unknown-none/release/lamina-kernel");
    for path in [&lamina, &lamina_kernel] {
        if !path.is_file() {
            return Err(Error(format!(
                "{} is missing; run cargo build --release at the repo root",
                path.display()
            )));
        }
    }

    let failed_logs = layout.build.join("failed");
    match fs::remove_dir_all(&failed_logs) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(Error(format!("{}: {err}", failed_logs.display()))),
    }
    let programs = build_programs(layout)?;
    let share = prepare_share(layout, &programs, file_data)?;
    let gvisor = if gvisor {
        step("gVisor: runsc runs hello");
        gvisor::prepare(layout, &share)
    } else {
        Err("no gVisor row selected".into())
    };

    let kernel_tree = unpacked_deb(layout, &kernel_package()?)?;
    let vmlinuz = only_entry(&kernel_tree.join("boot"), "vmlinuz-")?;
    let modules_root = only_entry(&kernel_tree.join("lib/modules"), "")?;
    let mut index = BTreeMap::new();
    index_modules(&modules_root.join("kernel"), &mut index)?;
    let modules = resolve_modules(&index, GUEST_MODULES)?;

    let busybox = unpacked_deb(layout, BUSYBOX_PACKAGE)?.join("bin/busybox");
    step("build the Linux guest's initramfs");
    let initramfs = build_initramfs(layout, &busybox, &modules, &programs)?;

    let system_font = Path::new("/").join(FONT_PATH);
    let font = if system_font.is_file() {
        Some(system_font)
    } else {
        unpacked_deb(layout, FONT_PACKAGE)
            .ok()
            .map(|tree| tree.join(FONT_PATH))
            .filter(|path| path.is_file())
    };

    Ok(Prepared {
        lamina,
        lamina_kernel,
        vmlinuz,
        initramfs,
        programs,
        font,
        modules: modules.into_iter().map(|(name, _)| name).collect(),
        share,
        gvisor,
        failed_logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_shape_gives_the_entry_count() {
        let (top, sub, files) = TREE_SHAPE;
        assert_eq!(top + top * sub + top * sub * files, TREE_ENTRIES);
    }

    #[test]
    fn tree_and_scratch() {
        let dir = std::env::temp_dir().join(format!("lamina-bench-share-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let share = Share { dir: dir.clone() };
        share.fresh_scratch().unwrap();
        fs::write(dir.join("scratch/left-over"), b"x").unwrap();
        share.fresh_scratch().unwrap();
        assert_eq!(fs::read_dir(dir.join("scratch")).unwrap().count(), 0);

        let small = dir.join("tree");
        fs::create_dir_all(small.join("d00/s0")).unwrap();
        tree(&small).unwrap();
        fn count(dir: &Path) -> u64 {
            fs::read_dir(dir)
                .unwrap()
                .map(|e| {
                    let path = e.unwrap().path();
                    1 + if path.is_dir() { count(&path) } else { 0 }
                })
                .sum()
        }
        assert_eq!(count(&small), TREE_ENTRIES);
        assert_eq!(Share::guest_program("fsread"), "/bin/fsread");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn depends_from_modinfo() {
        let module = b"\x7fELF...\0license=GPL\0depends=virtio,virtio_ring\0retpoline=Y\0";
        assert_eq!(modinfo_depends(module), ["virtio", "virtio_ring"]);
        assert!(modinfo_depends(b"\0depends=\0name=virtio\0").is_empty());
        assert_eq!(
            module_name(Path::new("/x/vmw_vsock_virtio_transport.ko.xz")).as_deref(),
            Some("vmw_vsock_virtio_transport")
        );
    }
}
