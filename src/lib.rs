//! nodepulse: a health agent for constrained Linux edge nodes.
//!
//! The data flows one way, and the modules show it:
//!
//! ```text
//! probe/  (reads the kernel and files below --root: the only I/O on the way in)
//!   -> parse/   (pure parsers over the bytes the probes read)
//!   -> record   (one fixed-size value: what this run saw)
//!   -> verdict  (thresholds -> ok/warn/crit/unknown, exit code)
//!   -> encode/  (pure: record -> bytes in a caller's buffer)
//! agent       (wires them together and writes the record)
//! ```
//!
//! The library is `no_std` and never allocates; it is tested with `std`. `unsafe` code lives
//! only in [`sys`] (adjtimex) and in the binary's `main` shim.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

pub mod agent;
pub mod cli;
pub mod encode;
pub mod fix;
pub mod num;
pub mod parse;
pub mod probe;
pub mod record;
pub mod sink;
pub mod state;
#[allow(unsafe_code)]
pub mod sys;
pub mod verdict;
