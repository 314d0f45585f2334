//! Pure parsers over the bytes of the files the probes read.
//!
//! Each function takes `&[u8]` and returns a value; none allocates, none panics on any input,
//! none does I/O. The probes in [`crate::probe`] read the files and hand the bytes here.

pub mod addr;
pub mod cgroup;
pub mod hosts;
pub mod logind;
pub mod meminfo;
pub mod passwd;
pub mod procfs;
pub mod sntp;
