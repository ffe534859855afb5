//! The 9P2000.L codec shared by the guest kernel (client) and the host
//! (server): every T-message lamina's file system needs and its R-message,
//! both encoded and decoded, plus the directory entries inside Rreaddir.
//!
//! Pure: encoding writes into the caller's buffer, decoding borrows from
//! the received bytes and allocates nothing; every length from the wire is
//! bounded by `msize` and by the bytes present before it is used, and any
//! malformed input is an [`Error`], never a panic.
//!
//! Sources: diod's `protocol.md` for the layouts, Linux
//! `include/net/9p/9p.h` for the numbers.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod consts;
mod dirent;
mod error;
mod message;
mod summary;
mod walk;
mod wire;

pub use consts::*;
pub use dirent::{DirEntries, DirEntry};
pub use error::Error;
pub use message::{Attr, Header, Rmsg, SetAttr, StatFs, Tmsg};
pub use walk::{WalkNames, WalkNamesIter, WalkQids};
pub use wire::{Qid, QID_LEN};

#[cfg(test)]
mod tests;
