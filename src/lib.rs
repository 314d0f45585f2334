//! nodepulse: a health agent for constrained Linux edge nodes.
//!
//! The data flows one way, and the modules show it:
//!
//! ```text
//! parse/   pure parsers of what the probes read (bytes -> values); imports only num
//! probe/   the only input I/O, below --root       -> record (what the run saw)
//! verdict  judge(&Record, &Thresholds) -> Judged   (every status and the exit code, once)
//! fix      --fix repairs; state  --state history  (from the judged record)
//! model    the named fields of a judged record, history and fix outcomes included
//! encode/  pure formats over the model (line/np1 both directions, json, influx, prom, nagios)
//! sink/    the only output I/O: stdout, files, UDP, the HMAC tag, messages on stderr
//! agent    the wiring; cli  the command line and config file, read by the agent alone
//! ```
//!
//! Below every layer: [`num`] (numbers, word tables), [`path`] (path building), [`kernel`]
//! (the kernel clock's flags and rules) and [`sys`] (system calls rustix does not wrap, the
//! clocks, the deadline child). The library is `no_std` and never allocates; it is tested with
//! `std`. `unsafe` code lives only in [`sys`] and in the binary's `main` shim.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

pub mod agent;
pub mod cli;
pub mod encode;
pub mod fix;
pub mod kernel;
pub mod model;
pub mod num;
pub mod parse;
pub mod path;
pub mod probe;
pub mod record;
pub mod sink;
pub mod state;
#[allow(unsafe_code)]
pub mod sys;
pub mod verdict;
