//! Linux x86_64 ABI types shared by the kernel's syscall layer.
//!
//! Pure and host-tested: errno values, syscall numbers, auxiliary vector
//! keys, the initial process stack, signal frames, `#[repr(C)]` structures
//! with explicit little-endian serialisation, flag sets and checked argument
//! decoding.
//! Nothing here touches user memory: the kernel copies bytes in and out and
//! hands them to these functions.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod args;
pub mod auxv;
pub mod cmsg;
pub mod cred;
pub mod dirent;
pub mod errno;
pub mod fdkinds;
pub mod flags;
pub mod ldisc;
pub mod nr;
pub mod signal;
pub mod socket;
pub mod stack;
pub mod trace;
pub mod types;

pub use errno::Errno;
