//! Architecture support, selected in this one place. Every `unsafe` block of
//! the kernel lives below this module; the rest of the kernel denies
//! `unsafe_code` and uses the safe types exported here.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;
