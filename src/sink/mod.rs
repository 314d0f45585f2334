//! Sinks: the only I/O on the way out. A record (already encoded) goes to stdout, replaces a
//! file atomically, is appended to a capped log, or is sent as one UDP datagram.
//!
//! Each sink reports its own failure as a [`SinkError`]; the agent tells the user in one line
//! and goes on with the other sinks.
//!
//! [`mac`] (no I/O) is the tag a keyed `np1` record ends with, and its check.

pub mod file;
pub mod mac;
pub mod udp;

use rustix::io::Errno;

/// Why a sink failed: the step and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkError {
    pub step: Step,
    pub errno: Option<Errno>,
}

impl SinkError {
    pub fn new(step: Step, errno: Errno) -> SinkError {
        SinkError {
            step,
            errno: Some(errno),
        }
    }
    pub fn plain(step: Step) -> SinkError {
        SinkError { step, errno: None }
    }
}

/// The step of a sink that failed (a byte, not a string, in every error returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Path,
    CreateTemporary,
    Chmod,
    Write,
    Fsync,
    Rename,
    Open,
    Stat,
    Rotate,
    OpenAfterRotation,
    Socket,
    Send,
    ShortSend,
    RecordTooLong,
    LineTooLong,
    NameNotFound,
}

impl Step {
    /// What the user reads, in the order of the variants.
    pub fn as_str(self) -> &'static str {
        const TEXTS: &str = "path|create temporary file|chmod|write|fsync|rename|open|stat|rotate|\
            open after rotation|socket|send|short send|record larger than 1232 bytes, not sent|\
            a line longer than 1232 bytes, not sent|name not found in /etc/hosts";
        crate::num::part(TEXTS, b'|', self as usize)
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

#[cfg(test)]
mod tests {
    use super::Step;

    /// The text table follows the variants.
    #[test]
    fn step_texts() {
        for (step, text) in [
            (Step::Path, "path"),
            (Step::CreateTemporary, "create temporary file"),
            (Step::Chmod, "chmod"),
            (Step::Write, "write"),
            (Step::Fsync, "fsync"),
            (Step::Rename, "rename"),
            (Step::Open, "open"),
            (Step::Stat, "stat"),
            (Step::Rotate, "rotate"),
            (Step::OpenAfterRotation, "open after rotation"),
            (Step::Socket, "socket"),
            (Step::Send, "send"),
            (Step::ShortSend, "short send"),
            (Step::RecordTooLong, "record larger than 1232 bytes, not sent"),
            (Step::LineTooLong, "a line longer than 1232 bytes, not sent"),
            (Step::NameNotFound, "name not found in /etc/hosts"),
        ] {
            assert_eq!(step.as_str(), text, "{step:?}");
        }
    }
}
