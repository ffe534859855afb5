//! Named pipes (FIFOs): a `mknod(S_IFIFO)` node (in tmpfs: QEMU's 9P
//! server refuses special files) is a guest-side object. Opening it gives
//! an end of one pipe shared by every open of that node (keyed, as Linux
//! keys it by inode, by file system and inode number). Linux's open rules: a read-only open waits for a writer and a
//! write-only open for a reader unless O_NONBLOCK (then a write-only open
//! with no reader is ENXIO); O_RDWR never waits. A waiting open counts as
//! an end of its side already (Linux's `wait_for_partner`), so the other
//! side neither waits for it nor sees end of file. The pipe's bytes go
//! when its last end closes.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use lamina_abi::errno::Errno;
use lamina_abi::flags::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY};
use lamina_abi::types::Stat;
use spin::Mutex;

use super::file::FileObject;
use super::pipe::{Pipe, PipeEnd};
use crate::task::wait::WaitQueue;
use crate::task::Tid;

/// A FIFO node: its file system and inode.
type Key = (usize, u64);

/// What the opens of one FIFO share.
#[derive(Default)]
struct Fifo {
    /// The pipe while some end is open or some open waits.
    pipe: Mutex<Weak<Pipe>>,
    opens: Mutex<Opens>,
    /// Opens waiting for the other side wait here.
    queue: WaitQueue,
}

#[derive(Default)]
struct Opens {
    /// How many read (write) ends were opened: a waiting open goes on
    /// once the other side's count moved.
    readers_opened: u64,
    writers_opened: u64,
    /// Tasks waiting in an open, whether for writing, and the pipe they
    /// count in (which they keep alive).
    waiting: BTreeMap<Tid, (bool, Arc<Pipe>)>,
}

/// The FIFOs some task has open or waits for.
static FIFOS: Mutex<BTreeMap<Key, Arc<Fifo>>> = Mutex::new(BTreeMap::new());

/// The FIFO of `key`, made on first use. FIFOs nobody uses any more are
/// forgotten on the way, and so are waits that ended without their open
/// running again (a signal interrupted them, the task is gone).
fn fifo(key: Key, caller: Tid) -> Arc<Fifo> {
    let mut fifos = FIFOS.lock();
    for fifo in fifos.values() {
        let mut opens = fifo.opens.lock();
        opens.waiting.retain(|&tid, (write, pipe)| {
            let waits = tid == caller
                || crate::task::with_tables(|t| {
                    t.tasks
                        .get(&tid)
                        .is_some_and(|task| task.state == crate::task::State::Blocked)
                });
            if !waits {
                pipe.count_pending(*write, false);
            }
            waits
        });
    }
    fifos.retain(|_, f| f.pipe.lock().strong_count() > 0);
    Arc::clone(fifos.entry(key).or_default())
}

impl Fifo {
    /// The pipe, made afresh (empty) when no end is open.
    fn pipe(&self, ino: u64) -> Arc<Pipe> {
        let mut slot = self.pipe.lock();
        if let Some(pipe) = slot.upgrade() {
            return pipe;
        }
        let pipe = super::pipe::unopened(ino);
        *slot = Arc::downgrade(&pipe);
        pipe
    }
}

/// Opens the FIFO whose node has `stat`, with the `open` flags `flags`,
/// for the task `tid`. `again` and `seen` are the call's restart state
/// (whether this is a run after a wait; the other side's open count the
/// first run saw, kept across the runs). ERESTARTSYS: wait.
pub fn open(
    fs_id: usize,
    stat: &Stat,
    flags: u32,
    tid: Tid,
    again: bool,
    seen: &mut u64,
) -> Result<Arc<dyn FileObject>, Errno> {
    let fifo = fifo((fs_id, stat.st_ino), tid);
    let pipe = fifo.pipe(stat.st_ino);
    let nonblock = flags & O_NONBLOCK != 0;
    let mut opens = fifo.opens.lock();
    // A run after a wait: this open no longer counts as one to come.
    if let Some((write, pipe)) = opens.waiting.remove(&tid) {
        pipe.count_pending(write, false);
    }
    let access = flags & O_ACCMODE;
    if access == O_RDONLY || access == O_WRONLY {
        let write = access == O_WRONLY;
        let (others, others_opened) = if write {
            (pipe.readers(), opens.readers_opened)
        } else {
            (pipe.writers(), opens.writers_opened)
        };
        let other_came = again && others_opened != *seen;
        if others == 0 && !other_came {
            if nonblock && write {
                return Err(Errno::ENXIO);
            }
            if !nonblock {
                if !again {
                    *seen = others_opened;
                }
                pipe.count_pending(write, true);
                opens.waiting.insert(tid, (write, Arc::clone(&pipe)));
                return Err(crate::task::wait::block_on(tid, &[&fifo.queue]));
            }
        }
        if write {
            opens.writers_opened += 1;
        } else {
            opens.readers_opened += 1;
        }
        drop(opens);
        let end = PipeEnd::open(&pipe, write);
        fifo.queue.wake_all();
        return Ok(end);
    }
    // O_RDWR: both ends at once, never waiting (Linux's rule).
    opens.readers_opened += 1;
    opens.writers_opened += 1;
    drop(opens);
    let both = Arc::new(BothEnds {
        read: PipeEnd::open(&pipe, false),
        write: PipeEnd::open(&pipe, true),
    });
    fifo.queue.wake_all();
    Ok(both)
}

/// A FIFO opened O_RDWR: reads from its read end, writes to its write end.
struct BothEnds {
    read: Arc<PipeEnd>,
    write: Arc<PipeEnd>,
}

impl FileObject for BothEnds {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.read.read(offset, buf)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        self.write.write(offset, data)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.read.stat()
    }

    fn ioctl(
        &self,
        request: u64,
        arg: u64,
        mm: &mut crate::mm::vm::AddressSpace,
    ) -> Result<u64, Errno> {
        self.read.ioctl(request, arg, mm)
    }

    fn poll(&self, events: u16) -> u16 {
        self.read.poll(events) | self.write.poll(events)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        self.read.wait_queue()
    }

    fn pipe_capacity(&self) -> Option<usize> {
        self.read.pipe_capacity()
    }
}
