//! Waiting: the one way a task blocks, and the in-place wait of a device.
//!
//! A system call that cannot finish yet (a pipe is empty, a child still
//! runs, a futex holds its value, a sleep has time left) registers the
//! task on the wait queues of what it waits for and returns
//! [`Errno::ERESTARTSYS`]. The dispatcher then takes the task off the CPU;
//! an event on one of the queues ([`WaitQueue::wake_all`]), a signal or
//! the deadline makes it runnable, and the call runs again from the start.
//! A blocked task therefore holds no kernel stack and no lock: nothing it
//! holds can deadlock another task, and a signal interrupts any wait the
//! same way (EINTR, or a restart with `SA_RESTART`).
//!
//! What a call must remember across its runs (a poll's deadline, a vfork
//! child's pid, whether a futex wake came) lives in the task's
//! [`Restart`] state, cleared when the call completes.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use spin::Mutex;

use super::Tid;
use crate::arch::cpu;
use crate::fs::file::OpenFile;
use crate::time;

/// Tasks waiting for one kind of event.
#[derive(Debug, Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Tid>>,
    /// Open files with `O_ASYNC` on this object: each event also signals
    /// their owners (`F_SETOWN`), Linux's `fasync` list.
    async_files: Mutex<Vec<Weak<OpenFile>>>,
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self {
            waiters: Mutex::new(Vec::new()),
            async_files: Mutex::new(Vec::new()),
        }
    }

    /// Signal-driven I/O: `file`'s owner gets SIGIO on each event from now
    /// on (`on`), or no longer.
    pub fn set_async(&self, file: &Arc<OpenFile>, on: bool) {
        let mut files = self.async_files.lock();
        files.retain(|f| f.strong_count() > 0 && !core::ptr::eq(f.as_ptr(), Arc::as_ptr(file)));
        if on {
            files.push(Arc::downgrade(file));
        }
    }

    /// Sends SIGIO to the owners of the `O_ASYNC` files on this object.
    fn signal_async_owners(&self) {
        let files: Vec<Arc<OpenFile>> = {
            let mut files = self.async_files.lock();
            if files.is_empty() {
                return;
            }
            files.retain(|f| f.strong_count() > 0);
            files.iter().filter_map(Weak::upgrade).collect()
        };
        for file in files {
            file.signal_owner();
        }
    }

    /// Adds `tid` (once) to the tasks the next event wakes.
    pub fn register(&self, tid: Tid) {
        let mut waiters = self.waiters.lock();
        if !waiters.contains(&tid) {
            waiters.push(tid);
        }
    }

    /// Makes every waiting task runnable; they re-check what they wait for.
    pub fn wake_all(&self) {
        let waiters = core::mem::take(&mut *self.waiters.lock());
        for tid in waiters {
            super::sched::wake(tid);
        }
        self.signal_async_owners();
    }

    /// Wakes at most `n` waiters (futex); returns how many.
    pub fn wake(&self, n: usize) -> usize {
        let woken: Vec<Tid> = {
            let mut waiters = self.waiters.lock();
            let n = n.min(waiters.len());
            waiters.drain(..n).collect()
        };
        for &tid in &woken {
            super::sched::wake(tid);
        }
        woken.len()
    }

    /// Moves up to `n` waiters to `other` without waking them (futex
    /// requeue); returns how many moved.
    pub fn requeue(&self, other: &WaitQueue, n: usize) -> usize {
        let moved: Vec<Tid> = {
            let mut waiters = self.waiters.lock();
            let n = n.min(waiters.len());
            waiters.drain(..n).collect()
        };
        for &tid in &moved {
            other.register(tid);
        }
        moved.len()
    }

    /// Takes `tid` off the queue (its wait ended another way).
    pub fn remove(&self, tid: Tid) {
        self.waiters.lock().retain(|&t| t != tid);
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.lock().is_empty()
    }
}

/// What a blocking system call keeps between its runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Restart {
    /// The absolute deadline (monotonic ns) fixed by the first run.
    pub deadline: Option<u64>,
    /// A queue this task waited on was woken (a futex wake, not a timeout).
    pub woken: bool,
    /// A value of the call's own (vfork: the child's tid).
    pub value: u64,
    /// Bytes a blocking write has moved in its earlier runs: a signal that
    /// interrupts it then makes this the call's result, as Linux returns a
    /// partial count.
    pub progress: u64,
    /// The call is being run again after a wait.
    pub again: bool,
}

impl Restart {
    /// The deadline the first run fixes: `now + timeout_ns`, kept as is by
    /// the later runs.
    pub fn deadline_after(&mut self, timeout_ns: u64) -> u64 {
        *self
            .deadline
            .get_or_insert_with(|| time::monotonic_ns().saturating_add(timeout_ns))
    }

    /// Whether the deadline fixed by the first run has passed.
    pub fn timed_out(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| time::monotonic_ns() >= deadline)
    }
}

/// Registers `tid` on `queues` and answers the call with "block": the
/// dispatcher sleeps the task until a queue wakes it, `deadline` (the
/// task's [`Restart::deadline`]) passes or a signal comes.
pub fn block_on(tid: Tid, queues: &[&WaitQueue]) -> Errno {
    for queue in queues {
        queue.register(tid);
    }
    Errno::ERESTARTSYS
}

/// Waits in place, without giving up the CPU, until `ready()` holds (true)
/// or the monotonic clock reaches `deadline_ns` (false): for a device
/// request that completes in microseconds (a virtio-9p reply), where the
/// requester holds the device. The CPU sleeps in `hlt` between checks.
pub fn device_wait_until(deadline_ns: Option<u64>, mut ready: impl FnMut() -> bool) -> bool {
    loop {
        if ready() {
            return true;
        }
        match deadline_ns {
            None => cpu::wait_for_interrupt(),
            Some(deadline) if time::monotonic_ns() >= deadline => return false,
            Some(deadline) => time::wait_until(deadline),
        }
    }
}
