//! Memory mappings: anonymous mmap; munmap, mprotect, mremap and madvise
//! on any region (anonymous, or the program image's segments).

use lamina_abi::args::{decode_mmap, is_page_aligned, page_round_down, page_round_up};
use lamina_abi::errno::Errno;
use lamina_abi::flags::{MmapFlags, MmapProt, MremapFlags};

use super::SysResult;
use crate::mm::vm::Prot;
use crate::process::Process;

/// Linux's default `vm.mmap_min_addr`.
const MMAP_MIN_ADDR: u64 = 0x10000;
const MADV_DONTNEED: u64 = 4;
const MADV_FREE: u64 = 8;

fn prot_from(bits: MmapProt) -> Prot {
    Prot {
        read: bits.contains(MmapProt::READ),
        write: bits.contains(MmapProt::WRITE),
        exec: bits.contains(MmapProt::EXEC),
    }
}

fn aligned_range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    if !is_page_aligned(addr) {
        return Err(Errno::EINVAL);
    }
    let len = page_round_up(len).ok_or(Errno::ENOMEM)?;
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    if end > crate::mm::vm::USER_END {
        return Err(Errno::ENOMEM);
    }
    Ok((addr, end))
}

pub fn mmap(
    p: &mut Process,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> SysResult {
    let req = decode_mmap(addr, len, prot, flags, fd, offset)?;
    let file = if req.is_anonymous() {
        None
    } else {
        let file = p.fds.file(u64::from(req.fd as u32))?;
        if !file.readable() {
            return Err(Errno::EACCES);
        }
        if !file.object.seekable() || file.object.node().is_none() {
            return Err(Errno::ENODEV);
        }
        // A shared writable mapping writes the file: it must be open for
        // writing (Linux's rule).
        if req.flags.contains(MmapFlags::SHARED)
            && req.prot.contains(MmapProt::WRITE)
            && !file.writable()
        {
            return Err(Errno::EACCES);
        }
        if req.flags.contains(MmapFlags::SHARED) && req.prot.contains(MmapProt::WRITE) {
            super::fdkinds::check_shared_write_map(&file)?;
        }
        Some(file)
    };
    let prot = prot_from(req.prot);
    let start = if req.is_fixed() {
        if req.addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        let end = req.addr.checked_add(req.len).ok_or(Errno::ENOMEM)?;
        if req.flags.contains(MmapFlags::FIXED_NOREPLACE) && !p.mm.is_free(req.addr, end) {
            return Err(Errno::EEXIST);
        }
        unmap_writing_back(p, req.addr, end);
        req.addr
    } else {
        let hint = page_round_down(req.addr);
        match hint.checked_add(req.len) {
            Some(end) if hint != 0 && p.mm.is_free(hint, end) => hint,
            _ => p.mm.find_free(req.len).ok_or(Errno::ENOMEM)?,
        }
    };
    // A shared mapping's pages stay shared with a forked child.
    if req.flags.contains(MmapFlags::SHARED) {
        p.mm.insert_shared(start, start + req.len, prot)?;
    } else {
        p.mm.insert(start, start + req.len, prot)?;
    }
    if let Some(file) = file {
        if req.flags.contains(MmapFlags::SHARED) {
            if let Some(result) = map_tmpfs_pages(p, &file, start, req.len, req.offset) {
                if let Err(e) = result {
                    p.mm.unmap_range(start, start + req.len);
                    return Err(e);
                }
                // A file sealed against writes maps read-only for good,
                // as Linux clears VM_MAYWRITE then.
                let sealed = super::fdkinds::check_shared_write_map(&file).is_err();
                match file.object.node() {
                    Some(node) if file.writable() && !sealed => {
                        p.shared_maps
                            .add_writable_file(start, start + req.len, node)
                    }
                    _ => p.shared_maps.add_read_only(start, start + req.len),
                }
                return Ok(start);
            }
        }
        if let Err(e) = fill_from_file(p, &file, start, req.len, req.offset) {
            p.mm.unmap_range(start, start + req.len);
            return Err(e);
        }
        // A shared mapping of a file open for writing goes back to it
        // (mprotect may make a read-only one writable later).
        if req.flags.contains(MmapFlags::SHARED) && file.writable() {
            p.shared_maps.add(start, start + req.len, file, req.offset);
        }
    }
    Ok(start)
}

/// A `MAP_SHARED` mapping of a tmpfs file (`/dev/shm`, `/tmp` without a
/// root) maps the file's own frames: processes that map it (a
/// `shm_open` segment, a POSIX semaphore's page) and `read`/`write` of
/// the file all see one copy at once, with nothing to write back. None
/// for a file of another file system (its pages are copies, see
/// `crate::mm::shared`). Pages past the file's end are the mapping's own.
fn map_tmpfs_pages(
    p: &mut Process,
    file: &crate::fs::file::OpenFile,
    start: u64,
    len: u64,
    offset: u64,
) -> Option<Result<(), Errno>> {
    let node = file.object.node()?;
    let tmp = node.as_any().downcast_ref::<crate::fs::tmpfs::TmpNode>()?;
    Some(
        tmp.shared_frames(offset, len)
            .and_then(|frames| p.mm.map_shared_frames(start, &frames)),
    )
}

/// `msync`: writes the range's shared file pages back now.
pub fn msync(p: &mut Process, addr: u64, len: u64, flags: u64) -> SysResult {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == (MS_ASYNC | MS_SYNC)
    {
        return Err(Errno::EINVAL);
    }
    let (start, end) = aligned_range(addr, len)?;
    if p.mm.prot_at(start).is_none() && start != end {
        return Err(Errno::ENOMEM);
    }
    p.shared_maps.write_back(&mut p.mm, start, end)?;
    Ok(0)
}

/// A private file mapping's contents, read now: the file's bytes from
/// `offset`, zeros past its end. (Read at mmap time, not on first touch:
/// what the dynamic loader maps, it uses.)
fn fill_from_file(
    p: &mut Process,
    file: &crate::fs::file::OpenFile,
    start: u64,
    len: u64,
    offset: u64,
) -> Result<(), Errno> {
    const CHUNK: usize = 256 << 10;
    let size = file.object.size()?;
    let available = size.saturating_sub(offset).min(len);
    let mut buf = alloc::vec![0u8; (available as usize).min(CHUNK)];
    let mut done = 0u64;
    while done < available {
        let want = ((available - done) as usize).min(buf.len());
        let n = file.read_at(offset + done, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        p.mm.write_initial(start + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

pub fn munmap(p: &mut Process, addr: u64, len: u64) -> SysResult {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let (start, end) = aligned_range(addr, len).map_err(|_| Errno::EINVAL)?;
    unmap_writing_back(p, start, end);
    Ok(0)
}

/// Unmaps `[start, end)`; shared file pages there go back to their files
/// first.
fn unmap_writing_back(p: &mut Process, start: u64, end: u64) {
    let written = p.shared_maps.write_back(&mut p.mm, start, end);
    p.shared_maps.remove(start, end);
    p.mm.unmap_range(start, end);
    if let Err(e) = written {
        crate::log!("munmap: writing shared pages back failed: {}", e.name());
    }
}

pub fn mprotect(p: &mut Process, addr: u64, len: u64, prot: u64) -> SysResult {
    let bits = MmapProt::from_bits(prot).ok_or(Errno::EINVAL)?;
    let (start, end) = aligned_range(addr, len)?;
    if start == end {
        return Ok(0);
    }
    if bits.contains(MmapProt::WRITE) && p.shared_maps.forbids_write(start, end) {
        return Err(Errno::EACCES);
    }
    p.mm.protect_range(start, end, prot_from(bits))?;
    Ok(0)
}

pub fn mremap(
    p: &mut Process,
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    _new_addr: u64,
) -> SysResult {
    let flags = MremapFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
    if flags.intersects(MremapFlags::FIXED | MremapFlags::DONTUNMAP) {
        // Moving to a caller-chosen address is not supported yet.
        return Err(Errno::EINVAL);
    }
    let (old, old_end) = aligned_range(old, old_len)?;
    let new_len = page_round_up(new_len)
        .filter(|&l| l != 0)
        .ok_or(Errno::EINVAL)?;
    let old_len = old_end - old;
    let (_, region_end, prot) = p.mm.prot_at(old).ok_or(Errno::EFAULT)?;
    if old_end > region_end || old_len == 0 {
        return Err(Errno::EFAULT);
    }
    if new_len <= old_len {
        unmap_writing_back(p, old + new_len, old_end);
        return Ok(old);
    }
    let new_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
    if p.mm.is_free(old_end, new_end) {
        p.mm.grow(old_end, new_end)?;
        return Ok(old);
    }
    if !flags.contains(MremapFlags::MAYMOVE) {
        return Err(Errno::ENOMEM);
    }
    let new = p.mm.find_free(new_len).ok_or(Errno::ENOMEM)?;
    if p.mm.is_shared(old) {
        p.mm.insert_shared(new, new + new_len, prot)?;
    } else {
        p.mm.insert(new, new + new_len, prot)?;
    }
    // A moved shared file mapping is written back first and then is
    // anonymous shared memory: its pages no longer reach the file.
    let written = p.shared_maps.write_back(&mut p.mm, old, old_end);
    p.shared_maps.remove(old, old_end);
    written?;
    p.mm.move_pages(old, new, old_len)?;
    Ok(new)
}

pub fn madvise(p: &mut Process, addr: u64, len: u64, advice: u64) -> SysResult {
    let (start, end) = aligned_range(addr, len).map_err(|_| Errno::EINVAL)?;
    if matches!(advice, MADV_DONTNEED | MADV_FREE) {
        // The pages read as at first afterwards, as on Linux for private
        // memory: zeros, or the program image's bytes.
        p.mm.discard(start, end);
    }
    Ok(0)
}

/// Whether every page of `[start, end)` is mapped (the mlock calls answer
/// ENOMEM for a hole, as Linux does).
fn fully_mapped(p: &Process, start: u64, end: u64) -> bool {
    let mut at = start;
    while at < end {
        match p.mm.prot_at(at) {
            Some((_, region_end, _)) => at = region_end,
            None => return false,
        }
    }
    true
}

/// The range `mlock`/`munlock` work on: whole pages around `[addr,
/// addr + len)` (Linux rounds the start down).
fn lock_range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    let start = page_round_down(addr);
    let end = addr
        .checked_add(len)
        .and_then(page_round_up)
        .ok_or(Errno::ENOMEM)?;
    if end > crate::mm::vm::USER_END {
        return Err(Errno::ENOMEM);
    }
    Ok((start, end))
}

/// `mlock`, `mlock2` and `munlock`: lamina never pages memory out, so
/// every mapped page stays resident already; the calls check the range
/// (ENOMEM for unmapped pages) and `mlock2`'s flags.
pub fn mlock2(p: &mut Process, addr: u64, len: u64, flags: u64) -> SysResult {
    const MLOCK_ONFAULT: u64 = 1;
    if flags & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    munlock(p, addr, len)
}

pub fn munlock(p: &mut Process, addr: u64, len: u64) -> SysResult {
    let (start, end) = lock_range(addr, len)?;
    if !fully_mapped(p, start, end) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// `mlockall(flags)`: MCL_CURRENT and/or MCL_FUTURE, optionally with
/// MCL_ONFAULT; as for `mlock`, residency holds already.
pub fn mlockall(flags: u64) -> SysResult {
    const MCL_CURRENT: u64 = 1;
    const MCL_FUTURE: u64 = 2;
    const MCL_ONFAULT: u64 = 4;
    if flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0
        || flags & (MCL_CURRENT | MCL_FUTURE) == 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
