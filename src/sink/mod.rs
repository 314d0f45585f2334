//! Sinks: the only I/O on the way out. A record (already encoded) goes to stdout, replaces a
//! file atomically, is appended to a capped log, or is sent as one UDP datagram.
//!
//! Each sink reports its own failure as a [`SinkError`]; the agent tells the user in one line
//! and goes on with the other sinks.

pub mod file;
pub mod udp;

use rustix::io::Errno;

/// Why a sink failed: the step and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkError {
    pub step: &'static str,
    pub errno: Option<Errno>,
}

impl SinkError {
    pub fn new(step: &'static str, errno: Errno) -> SinkError {
        SinkError {
            step,
            errno: Some(errno),
        }
    }
    pub fn plain(step: &'static str) -> SinkError {
        SinkError { step, errno: None }
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and `EINTR`.
pub fn write_all(fd: rustix::fd::BorrowedFd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
