//! A bounded byte ring in guest frames: the buffer of a pipe and of a
//! socket. Its frames are taken on first use and given back when it goes,
//! so the bytes in flight never live in the 4 MiB kernel heap.

use alloc::vec::Vec;
use lamina_abi::errno::Errno;

use crate::arch::phys::{self, PAGE_SIZE};
use crate::mm::frame;

const PAGE: usize = PAGE_SIZE as usize;

/// Bytes in flight between a writer and a reader, at most `capacity`.
pub struct Ring {
    capacity: usize,
    frames: Vec<u64>,
    /// Offset of the first unread byte.
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring of `capacity` bytes (a whole number of pages).
    pub fn new(capacity: usize) -> Self {
        debug_assert!(capacity > 0 && capacity.is_multiple_of(PAGE));
        Self {
            capacity,
            frames: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Room left.
    pub fn room(&self) -> usize {
        self.capacity - self.len
    }

    fn frame_for(&mut self, page: usize) -> Result<u64, Errno> {
        if self.frames.len() <= page {
            self.frames
                .try_reserve_exact(self.capacity / PAGE - self.frames.len())
                .map_err(|_| Errno::ENOMEM)?;
        }
        while self.frames.len() <= page {
            self.frames
                .push(frame::alloc_zeroed().ok_or(Errno::ENOMEM)?);
        }
        Ok(self.frames[page])
    }

    /// Copies `data` in at the tail; the caller has checked that it fits.
    /// ENOMEM (no frame left) leaves what was copied before it.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), Errno> {
        debug_assert!(data.len() <= self.room());
        let mut at = (self.head + self.len) % self.capacity;
        while !data.is_empty() {
            let in_page = at % PAGE;
            let n = (PAGE - in_page).min(data.len());
            let frame = self.frame_for(at / PAGE)?;
            phys::write(frame + in_page as u64, &data[..n]);
            self.len += n;
            data = &data[n..];
            at = (at + n) % self.capacity;
        }
        Ok(())
    }

    /// Copies up to `buf.len()` bytes from `skip` bytes past the head,
    /// leaving them in the ring; returns how many.
    pub fn peek(&self, skip: usize, buf: &mut [u8]) -> usize {
        let total = buf.len().min(self.len.saturating_sub(skip));
        let mut done = 0;
        let mut at = (self.head + skip) % self.capacity;
        while done < total {
            let in_page = at % PAGE;
            let n = (PAGE - in_page).min(total - done);
            phys::read(
                self.frames[at / PAGE] + in_page as u64,
                &mut buf[done..done + n],
            );
            done += n;
            at = (at + n) % self.capacity;
        }
        done
    }

    /// Drops up to `n` bytes from the head; returns how many.
    pub fn discard(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.head = (self.head + n) % self.capacity;
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        }
        n
    }

    /// Moves up to `buf.len()` bytes out from the head.
    pub fn pop(&mut self, buf: &mut [u8]) -> usize {
        let n = self.peek(0, buf);
        self.discard(n)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        for &f in &self.frames {
            frame::free(f);
        }
    }
}
