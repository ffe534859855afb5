//! The messages: `size[4] type[1] tag[2]` followed by the fields of the
//! type, as diod's `protocol.md` lays them out (field order and widths
//! agree with the format strings of Linux `net/9p/client.c` and QEMU
//! `hw/9pfs/9p.c`).
//!
//! Encoding writes into a caller's buffer: [`Tmsg::encode`] into a fixed
//! `&mut [u8]` (the guest's virtqueue buffer of `msize` bytes; a message
//! that does not fit is an error, never a reallocation), or
//! [`Tmsg::encode_to_vec`] appending to a reused `Vec` (the host).
//! Decoding borrows strings and data from the received bytes.

use crate::consts::*;
use crate::walk::{WalkNames, WalkQids};
use crate::wire::{Counter, Qid, Reader, Sink, SliceWriter};
use crate::Error;
use alloc::vec::Vec;

/// The fixed start of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the whole message, this field included.
    pub size: u32,
    pub msg_type: u8,
    pub tag: u16,
}

impl Header {
    /// Reads the header at the start of `buf` and checks `size` against
    /// the header length and `msize`. A stream transport reads this first
    /// to learn how many bytes the message has.
    pub fn decode(buf: &[u8], msize: u32) -> Result<Self, Error> {
        let mut r = Reader::new(buf);
        let header = Self {
            size: r.u32()?,
            msg_type: r.u8()?,
            tag: r.u16()?,
        };
        const MIN_SIZE: u32 = HEADER_LEN as u32;
        if header.size < MIN_SIZE {
            return Err(Error::BadSize(header.size));
        }
        if header.size > msize {
            return Err(Error::TooLarge {
                size: header.size,
                msize,
            });
        }
        Ok(header)
    }
}

/// The header and a reader over the body: `buf` must hold the whole
/// message; bytes after `size` are not looked at.
fn open(buf: &[u8], msize: u32) -> Result<(Header, Reader<'_>), Error> {
    let header = Header::decode(buf, msize)?;
    let size = usize::try_from(header.size).map_err(|_| Error::Truncated)?;
    let body = buf.get(HEADER_LEN..size).ok_or(Error::Truncated)?;
    Ok((header, Reader::new(body)))
}

/// `setattr` fields (Tsetattr); `valid` holds `SETATTR_*` bits saying
/// which of the others apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub valid: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime_sec: u64,
    pub atime_nsec: u64,
    pub mtime_sec: u64,
    pub mtime_nsec: u64,
}

impl SetAttr {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            valid: r.u32()?,
            mode: r.u32()?,
            uid: r.u32()?,
            gid: r.u32()?,
            size: r.u64()?,
            atime_sec: r.u64()?,
            atime_nsec: r.u64()?,
            mtime_sec: r.u64()?,
            mtime_nsec: r.u64()?,
        })
    }

    fn put<S: Sink>(&self, s: &mut S) -> Result<(), Error> {
        s.u32(self.valid)?;
        s.u32(self.mode)?;
        s.u32(self.uid)?;
        s.u32(self.gid)?;
        s.u64(self.size)?;
        s.u64(self.atime_sec)?;
        s.u64(self.atime_nsec)?;
        s.u64(self.mtime_sec)?;
        s.u64(self.mtime_nsec)
    }
}

/// `getattr` fields (Rgetattr); `valid` holds `GETATTR_*` bits saying
/// which of the others the server filled in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attr {
    pub valid: u64,
    pub qid: Qid,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime_sec: u64,
    pub atime_nsec: u64,
    pub mtime_sec: u64,
    pub mtime_nsec: u64,
    pub ctime_sec: u64,
    pub ctime_nsec: u64,
    pub btime_sec: u64,
    pub btime_nsec: u64,
    pub gen: u64,
    pub data_version: u64,
}

impl Attr {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            valid: r.u64()?,
            qid: r.qid()?,
            mode: r.u32()?,
            uid: r.u32()?,
            gid: r.u32()?,
            nlink: r.u64()?,
            rdev: r.u64()?,
            size: r.u64()?,
            blksize: r.u64()?,
            blocks: r.u64()?,
            atime_sec: r.u64()?,
            atime_nsec: r.u64()?,
            mtime_sec: r.u64()?,
            mtime_nsec: r.u64()?,
            ctime_sec: r.u64()?,
            ctime_nsec: r.u64()?,
            btime_sec: r.u64()?,
            btime_nsec: r.u64()?,
            gen: r.u64()?,
            data_version: r.u64()?,
        })
    }

    fn put<S: Sink>(&self, s: &mut S) -> Result<(), Error> {
        s.u64(self.valid)?;
        s.qid(&self.qid)?;
        s.u32(self.mode)?;
        s.u32(self.uid)?;
        s.u32(self.gid)?;
        for v in [
            self.nlink,
            self.rdev,
            self.size,
            self.blksize,
            self.blocks,
            self.atime_sec,
            self.atime_nsec,
            self.mtime_sec,
            self.mtime_nsec,
            self.ctime_sec,
            self.ctime_nsec,
            self.btime_sec,
            self.btime_nsec,
            self.gen,
            self.data_version,
        ] {
            s.u64(v)?;
        }
        Ok(())
    }
}

/// `statfs(2)` of the file system holding a fid (Rstatfs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatFs {
    pub fs_type: u32,
    pub bsize: u32,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub namelen: u32,
}

impl StatFs {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            fs_type: r.u32()?,
            bsize: r.u32()?,
            blocks: r.u64()?,
            bfree: r.u64()?,
            bavail: r.u64()?,
            files: r.u64()?,
            ffree: r.u64()?,
            fsid: r.u64()?,
            namelen: r.u32()?,
        })
    }

    fn put<S: Sink>(&self, s: &mut S) -> Result<(), Error> {
        s.u32(self.fs_type)?;
        s.u32(self.bsize)?;
        for v in [
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.fsid,
        ] {
            s.u64(v)?;
        }
        s.u32(self.namelen)
    }
}

/// A request, client to server. Strings are bytes (Linux names need not
/// be UTF-8); `Write::data` is the caller's slice, not a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tmsg<'a> {
    Version {
        msize: u32,
        version: &'a [u8],
    },
    Flush {
        oldtag: u16,
    },
    Attach {
        fid: u32,
        afid: u32,
        uname: &'a [u8],
        aname: &'a [u8],
        n_uname: u32,
    },
    Walk {
        fid: u32,
        newfid: u32,
        names: WalkNames<'a>,
    },
    Lopen {
        fid: u32,
        flags: u32,
    },
    Lcreate {
        fid: u32,
        name: &'a [u8],
        flags: u32,
        mode: u32,
        gid: u32,
    },
    Read {
        fid: u32,
        offset: u64,
        count: u32,
    },
    Write {
        fid: u32,
        offset: u64,
        data: &'a [u8],
    },
    Clunk {
        fid: u32,
    },
    Remove {
        fid: u32,
    },
    Getattr {
        fid: u32,
        request_mask: u64,
    },
    Setattr {
        fid: u32,
        attr: SetAttr,
    },
    Readdir {
        fid: u32,
        offset: u64,
        count: u32,
    },
    Mkdir {
        dfid: u32,
        name: &'a [u8],
        mode: u32,
        gid: u32,
    },
    Unlinkat {
        dirfid: u32,
        name: &'a [u8],
        flags: u32,
    },
    Renameat {
        olddirfid: u32,
        oldname: &'a [u8],
        newdirfid: u32,
        newname: &'a [u8],
    },
    Symlink {
        dfid: u32,
        name: &'a [u8],
        target: &'a [u8],
        gid: u32,
    },
    Readlink {
        fid: u32,
    },
    Link {
        dfid: u32,
        fid: u32,
        name: &'a [u8],
    },
    Fsync {
        fid: u32,
        datasync: u32,
    },
    Statfs {
        fid: u32,
    },
    Mknod {
        dfid: u32,
        name: &'a [u8],
        mode: u32,
        major: u32,
        minor: u32,
        gid: u32,
    },
}

/// A reply, server to client. `Read::data` and `Readdir::data` borrow the
/// receive buffer; [`DirEntries`](crate::DirEntries) parses the latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rmsg<'a> {
    Version {
        msize: u32,
        version: &'a [u8],
    },
    /// The request failed with Linux errno `ecode`.
    Lerror {
        ecode: u32,
    },
    Flush,
    Attach {
        qid: Qid,
    },
    Walk {
        qids: WalkQids,
    },
    Lopen {
        qid: Qid,
        iounit: u32,
    },
    Lcreate {
        qid: Qid,
        iounit: u32,
    },
    Read {
        data: &'a [u8],
    },
    Write {
        count: u32,
    },
    Clunk,
    Remove,
    Getattr(Attr),
    Setattr,
    Readdir {
        data: &'a [u8],
    },
    Mkdir {
        qid: Qid,
    },
    Unlinkat,
    Renameat,
    Symlink {
        qid: Qid,
    },
    Readlink {
        target: &'a [u8],
    },
    Link,
    Fsync,
    Statfs(StatFs),
    Mknod {
        qid: Qid,
    },
}

/// What the framing needs of a message: its type and its body.
trait Body {
    fn msg_type(&self) -> u8;
    fn put_body<S: Sink>(&self, s: &mut S) -> Result<(), Error>;
}

/// Length of the whole message, checked to fit the `size[4]` field.
fn frame_len(msg: &impl Body) -> Result<usize, Error> {
    let mut counter = Counter(HEADER_LEN);
    msg.put_body(&mut counter)?;
    u32::try_from(counter.0).map_err(|_| Error::MessageTooLong(counter.0))?;
    Ok(counter.0)
}

fn put_frame<S: Sink>(msg: &impl Body, tag: u16, len: usize, s: &mut S) -> Result<(), Error> {
    s.u32(u32::try_from(len).map_err(|_| Error::MessageTooLong(len))?)?;
    s.u8(msg.msg_type())?;
    s.u16(tag)?;
    msg.put_body(s)
}

fn encode_into(msg: &impl Body, tag: u16, buf: &mut [u8]) -> Result<usize, Error> {
    let len = frame_len(msg)?;
    if len > buf.len() {
        return Err(Error::BufferTooSmall {
            needed: len,
            available: buf.len(),
        });
    }
    put_frame(msg, tag, len, &mut SliceWriter::new(buf))?;
    Ok(len)
}

fn encode_to_vec(msg: &impl Body, tag: u16, out: &mut Vec<u8>) -> Result<(), Error> {
    let len = frame_len(msg)?;
    out.reserve(len);
    put_frame(msg, tag, len, out)
}

impl Tmsg<'_> {
    /// Bytes [`encode`](Self::encode) will write.
    pub fn encoded_len(&self) -> Result<usize, Error> {
        frame_len(self)
    }

    /// Writes the message with `tag` at the start of `buf`; returns its length.
    pub fn encode(&self, tag: u16, buf: &mut [u8]) -> Result<usize, Error> {
        encode_into(self, tag, buf)
    }

    /// Appends the message with `tag` to `out`.
    pub fn encode_to_vec(&self, tag: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_to_vec(self, tag, out)
    }
}

impl Rmsg<'_> {
    /// Bytes [`encode`](Self::encode) will write.
    pub fn encoded_len(&self) -> Result<usize, Error> {
        frame_len(self)
    }

    /// Writes the message with `tag` at the start of `buf`; returns its length.
    pub fn encode(&self, tag: u16, buf: &mut [u8]) -> Result<usize, Error> {
        encode_into(self, tag, buf)
    }

    /// Appends the message with `tag` to `out`.
    pub fn encode_to_vec(&self, tag: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_to_vec(self, tag, out)
    }
}

impl Body for Tmsg<'_> {
    fn msg_type(&self) -> u8 {
        match self {
            Self::Version { .. } => TVERSION,
            Self::Flush { .. } => TFLUSH,
            Self::Attach { .. } => TATTACH,
            Self::Walk { .. } => TWALK,
            Self::Lopen { .. } => TLOPEN,
            Self::Lcreate { .. } => TLCREATE,
            Self::Read { .. } => TREAD,
            Self::Write { .. } => TWRITE,
            Self::Clunk { .. } => TCLUNK,
            Self::Remove { .. } => TREMOVE,
            Self::Getattr { .. } => TGETATTR,
            Self::Setattr { .. } => TSETATTR,
            Self::Readdir { .. } => TREADDIR,
            Self::Mkdir { .. } => TMKDIR,
            Self::Unlinkat { .. } => TUNLINKAT,
            Self::Renameat { .. } => TRENAMEAT,
            Self::Symlink { .. } => TSYMLINK,
            Self::Readlink { .. } => TREADLINK,
            Self::Link { .. } => TLINK,
            Self::Fsync { .. } => TFSYNC,
            Self::Statfs { .. } => TSTATFS,
            Self::Mknod { .. } => TMKNOD,
        }
    }

    fn put_body<S: Sink>(&self, s: &mut S) -> Result<(), Error> {
        match *self {
            Self::Version { msize, version } => {
                s.u32(msize)?;
                s.string(version)
            }
            Self::Flush { oldtag } => s.u16(oldtag),
            Self::Attach {
                fid,
                afid,
                uname,
                aname,
                n_uname,
            } => {
                s.u32(fid)?;
                s.u32(afid)?;
                s.string(uname)?;
                s.string(aname)?;
                s.u32(n_uname)
            }
            Self::Walk { fid, newfid, names } => {
                s.u32(fid)?;
                s.u32(newfid)?;
                // WalkNames holds at most MAXWELEM names.
                s.u16(
                    u16::try_from(names.len()).map_err(|_| Error::TooManyWalkElems(names.len()))?,
                )?;
                names.iter().try_for_each(|name| s.string(name))
            }
            Self::Lopen { fid, flags } => {
                s.u32(fid)?;
                s.u32(flags)
            }
            Self::Lcreate {
                fid,
                name,
                flags,
                mode,
                gid,
            } => {
                s.u32(fid)?;
                s.string(name)?;
                s.u32(flags)?;
                s.u32(mode)?;
                s.u32(gid)
            }
            Self::Read { fid, offset, count } | Self::Readdir { fid, offset, count } => {
                s.u32(fid)?;
                s.u64(offset)?;
                s.u32(count)
            }
            Self::Write { fid, offset, data } => {
                s.u32(fid)?;
                s.u64(offset)?;
                s.data(data)
            }
            Self::Clunk { fid }
            | Self::Remove { fid }
            | Self::Readlink { fid }
            | Self::Statfs { fid } => s.u32(fid),
            Self::Getattr { fid, request_mask } => {
                s.u32(fid)?;
                s.u64(request_mask)
            }
            Self::Setattr { fid, ref attr } => {
                s.u32(fid)?;
                attr.put(s)
            }
            Self::Mkdir {
                dfid,
                name,
                mode,
                gid,
            } => {
                s.u32(dfid)?;
                s.string(name)?;
                s.u32(mode)?;
                s.u32(gid)
            }
            Self::Unlinkat {
                dirfid,
                name,
                flags,
            } => {
                s.u32(dirfid)?;
                s.string(name)?;
                s.u32(flags)
            }
            Self::Renameat {
                olddirfid,
                oldname,
                newdirfid,
                newname,
            } => {
                s.u32(olddirfid)?;
                s.string(oldname)?;
                s.u32(newdirfid)?;
                s.string(newname)
            }
            Self::Symlink {
                dfid,
                name,
                target,
                gid,
            } => {
                s.u32(dfid)?;
                s.string(name)?;
                s.string(target)?;
                s.u32(gid)
            }
            Self::Link { dfid, fid, name } => {
                s.u32(dfid)?;
                s.u32(fid)?;
                s.string(name)
            }
            Self::Fsync { fid, datasync } => {
                s.u32(fid)?;
                s.u32(datasync)
            }
            Self::Mknod {
                dfid,
                name,
                mode,
                major,
                minor,
                gid,
            } => {
                s.u32(dfid)?;
                s.string(name)?;
                s.u32(mode)?;
                s.u32(major)?;
                s.u32(minor)?;
                s.u32(gid)
            }
        }
    }
}

impl<'a> Tmsg<'a> {
    /// Decodes the request at the start of `buf`, which must hold all of
    /// it; returns its tag and the message. `msize` bounds the `size`
    /// field, and every length inside is bounded by the bytes present.
    pub fn decode(buf: &'a [u8], msize: u32) -> Result<(u16, Self), Error> {
        let (header, mut r) = open(buf, msize)?;
        let r = &mut r;
        let msg = match header.msg_type {
            TVERSION => Self::Version {
                msize: r.u32()?,
                version: r.string()?,
            },
            TFLUSH => Self::Flush { oldtag: r.u16()? },
            TATTACH => Self::Attach {
                fid: r.u32()?,
                afid: r.u32()?,
                uname: r.string()?,
                aname: r.string()?,
                n_uname: r.u32()?,
            },
            TWALK => Self::Walk {
                fid: r.u32()?,
                newfid: r.u32()?,
                names: WalkNames::read(r)?,
            },
            TLOPEN => Self::Lopen {
                fid: r.u32()?,
                flags: r.u32()?,
            },
            TLCREATE => Self::Lcreate {
                fid: r.u32()?,
                name: r.string()?,
                flags: r.u32()?,
                mode: r.u32()?,
                gid: r.u32()?,
            },
            TREAD => Self::Read {
                fid: r.u32()?,
                offset: r.u64()?,
                count: r.u32()?,
            },
            TWRITE => Self::Write {
                fid: r.u32()?,
                offset: r.u64()?,
                data: r.data()?,
            },
            TCLUNK => Self::Clunk { fid: r.u32()? },
            TREMOVE => Self::Remove { fid: r.u32()? },
            TGETATTR => Self::Getattr {
                fid: r.u32()?,
                request_mask: r.u64()?,
            },
            TSETATTR => Self::Setattr {
                fid: r.u32()?,
                attr: SetAttr::read(r)?,
            },
            TREADDIR => Self::Readdir {
                fid: r.u32()?,
                offset: r.u64()?,
                count: r.u32()?,
            },
            TMKDIR => Self::Mkdir {
                dfid: r.u32()?,
                name: r.string()?,
                mode: r.u32()?,
                gid: r.u32()?,
            },
            TUNLINKAT => Self::Unlinkat {
                dirfid: r.u32()?,
                name: r.string()?,
                flags: r.u32()?,
            },
            TRENAMEAT => Self::Renameat {
                olddirfid: r.u32()?,
                oldname: r.string()?,
                newdirfid: r.u32()?,
                newname: r.string()?,
            },
            TSYMLINK => Self::Symlink {
                dfid: r.u32()?,
                name: r.string()?,
                target: r.string()?,
                gid: r.u32()?,
            },
            TREADLINK => Self::Readlink { fid: r.u32()? },
            TLINK => Self::Link {
                dfid: r.u32()?,
                fid: r.u32()?,
                name: r.string()?,
            },
            TFSYNC => Self::Fsync {
                fid: r.u32()?,
                datasync: r.u32()?,
            },
            TSTATFS => Self::Statfs { fid: r.u32()? },
            TMKNOD => Self::Mknod {
                dfid: r.u32()?,
                name: r.string()?,
                mode: r.u32()?,
                major: r.u32()?,
                minor: r.u32()?,
                gid: r.u32()?,
            },
            other => return Err(Error::UnexpectedType(other)),
        };
        r.finish()?;
        Ok((header.tag, msg))
    }
}

impl Body for Rmsg<'_> {
    fn msg_type(&self) -> u8 {
        match self {
            Self::Version { .. } => RVERSION,
            Self::Lerror { .. } => RLERROR,
            Self::Flush => RFLUSH,
            Self::Attach { .. } => RATTACH,
            Self::Walk { .. } => RWALK,
            Self::Lopen { .. } => RLOPEN,
            Self::Lcreate { .. } => RLCREATE,
            Self::Read { .. } => RREAD,
            Self::Write { .. } => RWRITE,
            Self::Clunk => RCLUNK,
            Self::Remove => RREMOVE,
            Self::Getattr(_) => RGETATTR,
            Self::Setattr => RSETATTR,
            Self::Readdir { .. } => RREADDIR,
            Self::Mkdir { .. } => RMKDIR,
            Self::Unlinkat => RUNLINKAT,
            Self::Renameat => RRENAMEAT,
            Self::Symlink { .. } => RSYMLINK,
            Self::Readlink { .. } => RREADLINK,
            Self::Link => RLINK,
            Self::Fsync => RFSYNC,
            Self::Statfs(_) => RSTATFS,
            Self::Mknod { .. } => RMKNOD,
        }
    }

    fn put_body<S: Sink>(&self, s: &mut S) -> Result<(), Error> {
        match *self {
            Self::Version { msize, version } => {
                s.u32(msize)?;
                s.string(version)
            }
            Self::Lerror { ecode } => s.u32(ecode),
            Self::Attach { qid }
            | Self::Mkdir { qid }
            | Self::Symlink { qid }
            | Self::Mknod { qid } => s.qid(&qid),
            Self::Walk { ref qids } => {
                let qids = qids.as_slice();
                s.u16(u16::try_from(qids.len()).map_err(|_| Error::TooManyWalkElems(qids.len()))?)?;
                qids.iter().try_for_each(|qid| s.qid(qid))
            }
            Self::Lopen { qid, iounit } | Self::Lcreate { qid, iounit } => {
                s.qid(&qid)?;
                s.u32(iounit)
            }
            Self::Read { data } | Self::Readdir { data } => s.data(data),
            Self::Write { count } => s.u32(count),
            Self::Getattr(ref attr) => attr.put(s),
            Self::Readlink { target } => s.string(target),
            Self::Statfs(ref statfs) => statfs.put(s),
            Self::Flush
            | Self::Clunk
            | Self::Remove
            | Self::Setattr
            | Self::Unlinkat
            | Self::Renameat
            | Self::Link
            | Self::Fsync => Ok(()),
        }
    }
}

impl<'a> Rmsg<'a> {
    /// Decodes the reply at the start of `buf`, which must hold all of it;
    /// returns its tag and the message. Any reply may be
    /// [`Rmsg::Lerror`]; matching a reply to its request (by tag and type)
    /// is the caller's.
    pub fn decode(buf: &'a [u8], msize: u32) -> Result<(u16, Self), Error> {
        let (header, mut r) = open(buf, msize)?;
        let r = &mut r;
        let msg = match header.msg_type {
            RVERSION => Self::Version {
                msize: r.u32()?,
                version: r.string()?,
            },
            RLERROR => Self::Lerror { ecode: r.u32()? },
            RFLUSH => Self::Flush,
            RATTACH => Self::Attach { qid: r.qid()? },
            RWALK => {
                let count = r.u16()?;
                if usize::from(count) > MAXWELEM {
                    return Err(Error::TooManyWalkElems(usize::from(count)));
                }
                let mut qids = WalkQids::new(&[])?;
                for _ in 0..count {
                    qids.push(r.qid()?)?;
                }
                Self::Walk { qids }
            }
            RLOPEN => Self::Lopen {
                qid: r.qid()?,
                iounit: r.u32()?,
            },
            RLCREATE => Self::Lcreate {
                qid: r.qid()?,
                iounit: r.u32()?,
            },
            RREAD => Self::Read { data: r.data()? },
            RWRITE => Self::Write { count: r.u32()? },
            RCLUNK => Self::Clunk,
            RREMOVE => Self::Remove,
            RGETATTR => Self::Getattr(Attr::read(r)?),
            RSETATTR => Self::Setattr,
            RREADDIR => Self::Readdir { data: r.data()? },
            RMKDIR => Self::Mkdir { qid: r.qid()? },
            RUNLINKAT => Self::Unlinkat,
            RRENAMEAT => Self::Renameat,
            RSYMLINK => Self::Symlink { qid: r.qid()? },
            RREADLINK => Self::Readlink {
                target: r.string()?,
            },
            RLINK => Self::Link,
            RFSYNC => Self::Fsync,
            RSTATFS => Self::Statfs(StatFs::read(r)?),
            RMKNOD => Self::Mknod { qid: r.qid()? },
            other => return Err(Error::UnexpectedType(other)),
        };
        r.finish()?;
        Ok((header.tag, msg))
    }
}
