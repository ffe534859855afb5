//! Files: open-file objects and the descriptor table that refers to them.

pub mod console;
pub mod fd;
pub mod file;
