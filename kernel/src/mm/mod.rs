//! Memory management: physical frames, the kernel heap, user address spaces.

pub mod frame;
pub mod heap;
pub mod ring;
pub mod shared;
pub mod vm;
