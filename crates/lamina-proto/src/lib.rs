//! Wire formats shared by the guest kernel and the host CLI.
//!
//! Both sides link this crate, so the formats cannot drift. Everything here
//! is pure: encode and decode over byte slices, with every length that comes
//! from the other side bounded before it is trusted.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod bundle;
pub mod frame;
