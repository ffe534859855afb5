//! A request in a line, for `lamina run --trace`: the message's name and
//! its fields (names quoted, data as a length), as the trace shows each
//! 9P request a system call caused.

use core::fmt::{self, Write};

use crate::message::Tmsg;

/// How much of a name or path the summary shows.
const MAX_SHOWN_NAME: usize = 64;

impl Tmsg<'_> {
    /// The request's name in the protocol's spelling (`Twalk`).
    pub fn name(&self) -> &'static str {
        match self {
            Tmsg::Version { .. } => "Tversion",
            Tmsg::Flush { .. } => "Tflush",
            Tmsg::Attach { .. } => "Tattach",
            Tmsg::Walk { .. } => "Twalk",
            Tmsg::Lopen { .. } => "Tlopen",
            Tmsg::Lcreate { .. } => "Tlcreate",
            Tmsg::Read { .. } => "Tread",
            Tmsg::Write { .. } => "Twrite",
            Tmsg::Clunk { .. } => "Tclunk",
            Tmsg::Remove { .. } => "Tremove",
            Tmsg::Getattr { .. } => "Tgetattr",
            Tmsg::Setattr { .. } => "Tsetattr",
            Tmsg::Readdir { .. } => "Treaddir",
            Tmsg::Mkdir { .. } => "Tmkdir",
            Tmsg::Unlinkat { .. } => "Tunlinkat",
            Tmsg::Renameat { .. } => "Trenameat",
            Tmsg::Symlink { .. } => "Tsymlink",
            Tmsg::Readlink { .. } => "Treadlink",
            Tmsg::Link { .. } => "Tlink",
            Tmsg::Fsync { .. } => "Tfsync",
            Tmsg::Statfs { .. } => "Tstatfs",
            Tmsg::Mknod { .. } => "Tmknod",
        }
    }

    /// Writes the request's fields (`fid=1, newfid=2, "etc", "passwd"`).
    pub fn write_fields(&self, out: &mut dyn Write) -> fmt::Result {
        match *self {
            Tmsg::Version { msize, version } => {
                write!(out, "msize={msize}, ")?;
                quoted(out, version)
            }
            Tmsg::Flush { oldtag } => write!(out, "oldtag={oldtag}"),
            Tmsg::Attach {
                fid,
                afid,
                uname,
                aname,
                n_uname,
            } => {
                write!(out, "fid={fid}, afid={afid}, uname=")?;
                quoted(out, uname)?;
                out.write_str(", aname=")?;
                quoted(out, aname)?;
                write!(out, ", n_uname={n_uname}")
            }
            Tmsg::Walk { fid, newfid, names } => {
                write!(out, "fid={fid}, newfid={newfid}")?;
                for name in names.iter() {
                    out.write_str(", ")?;
                    quoted(out, name)?;
                }
                Ok(())
            }
            Tmsg::Lopen { fid, flags } => write!(out, "fid={fid}, flags={flags:#o}"),
            Tmsg::Lcreate {
                fid,
                name,
                flags,
                mode,
                gid,
            } => {
                write!(out, "fid={fid}, ")?;
                quoted(out, name)?;
                write!(out, ", flags={flags:#o}, mode={mode:#o}, gid={gid}")
            }
            Tmsg::Read { fid, offset, count } | Tmsg::Readdir { fid, offset, count } => {
                write!(out, "fid={fid}, offset={offset}, count={count}")
            }
            Tmsg::Write { fid, offset, data } => {
                write!(out, "fid={fid}, offset={offset}, count={}", data.len())
            }
            Tmsg::Clunk { fid }
            | Tmsg::Remove { fid }
            | Tmsg::Readlink { fid }
            | Tmsg::Statfs { fid } => write!(out, "fid={fid}"),
            Tmsg::Getattr { fid, request_mask } => {
                write!(out, "fid={fid}, mask={request_mask:#x}")
            }
            Tmsg::Setattr { fid, attr } => write!(
                out,
                "fid={fid}, valid={:#x}, mode={:#o}, uid={}, gid={}, size={}",
                attr.valid, attr.mode, attr.uid, attr.gid, attr.size
            ),
            Tmsg::Mkdir {
                dfid,
                name,
                mode,
                gid,
            } => {
                write!(out, "dfid={dfid}, ")?;
                quoted(out, name)?;
                write!(out, ", mode={mode:#o}, gid={gid}")
            }
            Tmsg::Unlinkat {
                dirfid,
                name,
                flags,
            } => {
                write!(out, "dirfid={dirfid}, ")?;
                quoted(out, name)?;
                write!(out, ", flags={flags:#x}")
            }
            Tmsg::Renameat {
                olddirfid,
                oldname,
                newdirfid,
                newname,
            } => {
                write!(out, "olddirfid={olddirfid}, ")?;
                quoted(out, oldname)?;
                write!(out, ", newdirfid={newdirfid}, ")?;
                quoted(out, newname)
            }
            Tmsg::Symlink {
                dfid,
                name,
                target,
                gid,
            } => {
                write!(out, "dfid={dfid}, ")?;
                quoted(out, name)?;
                out.write_str(", ")?;
                quoted(out, target)?;
                write!(out, ", gid={gid}")
            }
            Tmsg::Link { dfid, fid, name } => {
                write!(out, "dfid={dfid}, fid={fid}, ")?;
                quoted(out, name)
            }
            Tmsg::Fsync { fid, datasync } => write!(out, "fid={fid}, datasync={datasync}"),
            Tmsg::Mknod {
                dfid,
                name,
                mode,
                major,
                minor,
                gid,
            } => {
                write!(out, "dfid={dfid}, ")?;
                quoted(out, name)?;
                write!(out, ", mode={mode:#o}, {major}:{minor}, gid={gid}")
            }
        }
    }
}

/// A name in double quotes: printable ASCII as it is, the rest as `\xNN`,
/// at most [`MAX_SHOWN_NAME`] bytes and then `...`.
fn quoted(out: &mut dyn Write, bytes: &[u8]) -> fmt::Result {
    out.write_char('"')?;
    for &b in bytes.iter().take(MAX_SHOWN_NAME) {
        match b {
            b'"' | b'\\' => write!(out, "\\{}", b as char)?,
            0x20..=0x7e => out.write_char(b as char)?,
            _ => write!(out, "\\x{b:02x}")?,
        }
    }
    out.write_char('"')?;
    if bytes.len() > MAX_SHOWN_NAME {
        out.write_str("...")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloc::string::String;

    use crate::{SetAttr, Tmsg, WalkNames};

    fn summary(msg: &Tmsg<'_>) -> String {
        let mut out = String::new();
        out.push_str(msg.name());
        out.push('(');
        msg.write_fields(&mut out).unwrap();
        out.push(')');
        out
    }

    #[test]
    fn walk_shows_its_names_quoted() {
        let names = WalkNames::new(&[b"etc", b"pass\"wd\n"]).unwrap();
        let msg = Tmsg::Walk {
            fid: 1,
            newfid: 7,
            names,
        };
        assert_eq!(
            summary(&msg),
            r#"Twalk(fid=1, newfid=7, "etc", "pass\"wd\x0a")"#
        );
    }

    #[test]
    fn write_shows_a_count_not_the_data() {
        let msg = Tmsg::Write {
            fid: 3,
            offset: 4096,
            data: &[0xff; 100],
        };
        assert_eq!(summary(&msg), "Twrite(fid=3, offset=4096, count=100)");
    }

    #[test]
    fn long_names_are_cut() {
        let name = [b'a'; 100];
        let msg = Tmsg::Lcreate {
            fid: 2,
            name: &name,
            flags: 0o100101,
            mode: 0o644,
            gid: 0,
        };
        let text = summary(&msg);
        assert!(text.starts_with("Tlcreate(fid=2, \"aaaa"));
        assert!(text.contains(&alloc::format!("\"{}\"...", "a".repeat(64))));
        assert!(text.ends_with(", flags=0o100101, mode=0o644, gid=0)"));
    }

    #[test]
    fn setattr_shows_what_it_sets() {
        let msg = Tmsg::Setattr {
            fid: 4,
            attr: SetAttr {
                valid: 0x8,
                size: 10,
                ..SetAttr::default()
            },
        };
        assert_eq!(
            summary(&msg),
            "Tsetattr(fid=4, valid=0x8, mode=0o0, uid=0, gid=0, size=10)"
        );
    }
}
