//! A cpio archive in the `newc` format the kernel unpacks as an initramfs
//! (Documentation/driver-api/early-userspace/buffer-format.rst).

const MAGIC: &str = "070701";
const TRAILER: &str = "TRAILER!!!";
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

#[derive(Debug, Default)]
pub struct Archive {
    bytes: Vec<u8>,
    next_inode: u32,
}

impl Archive {
    pub fn dir(&mut self, path: &str) {
        self.entry(path, S_IFDIR | 0o755, 2, (0, 0), &[]);
    }

    pub fn file(&mut self, path: &str, permissions: u32, data: &[u8]) {
        self.entry(path, S_IFREG | permissions, 1, (0, 0), data);
    }

    pub fn char_device(&mut self, path: &str, major: u32, minor: u32) {
        self.entry(path, S_IFCHR | 0o600, 1, (major, minor), &[]);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry(TRAILER, 0, 1, (0, 0), &[]);
        self.bytes
    }

    fn entry(&mut self, path: &str, mode: u32, links: u32, rdev: (u32, u32), data: &[u8]) {
        self.next_inode += 1;
        let name_len = path.len() + 1; // with its NUL
        let fields = [
            self.next_inode,
            mode,
            0, // uid
            0, // gid
            links,
            0, // mtime: fixed, so the archive is reproducible
            u32::try_from(data.len()).expect("initramfs member under 4 GiB"),
            0, // dev major
            0, // dev minor
            rdev.0,
            rdev.1,
            u32::try_from(name_len).expect("short path"),
            0, // check: unused by newc
        ];
        self.bytes.extend_from_slice(MAGIC.as_bytes());
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(path.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    /// Header plus name, and data, each end on a 4-byte boundary.
    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout() {
        let mut archive = Archive::default();
        archive.file("init", 0o755, b"#!x\n");
        let bytes = archive.finish();
        // 110-byte header, "init\0" padded to 116, 4 data bytes, then trailer.
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(&bytes[14..22], b"000081ed");
        assert_eq!(&bytes[110..115], b"init\0");
        assert_eq!(&bytes[116..120], b"#!x\n");
        assert_eq!(&bytes[120..126], b"070701");
        assert_eq!(bytes.len() % 4, 0);
    }
}
