//! File sinks: `--out PATH` replaces a file atomically, `--append PATH` adds a line to a log
//! capped at `--max-bytes`, rotated once to `PATH.1`.
//!
//! Replace: the record goes to `PATH.tmp.PID.NS` (the pid and the wall clock in nanoseconds: a
//! name no other run, in this PID namespace or another, has used) in the same directory (created with `O_EXCL |
//! O_NOFOLLOW`, so a planted symlink is never followed), mode 0644, is `fsync`ed, then renamed
//! over `PATH`. A reader sees the old file or the new one, never a partial one; any failure
//! (ENOSPC, EROFS, EACCES) removes the temporary file and leaves the old one intact.
//!
//! Append: opened `O_APPEND | O_NOFOLLOW | O_NONBLOCK` (a FIFO with no reader is refused, never
//! waited for), created 0644 less the umask, an existing file's mode kept; when the file plus
//! the record would pass the cap, the file is renamed to `PATH.1` (replacing the previous `.1`)
//! and a new one started: never more than two files. One run rotates at a time (`flock`, never
//! waited for), and no record of a concurrent run is lost. One `write` per record, so runs do
//! not interleave.
//!
//! # References
//! - rename(2) (atomic replacement), open(2) (`O_EXCL`, `O_NOFOLLOW`, `O_APPEND`, `O_NONBLOCK`
//!   on a FIFO: `ENXIO`), flock(2)

use rustix::fs::{self, Mode, OFlags, CWD};
use rustix::io::Errno;

use super::{write_all, SinkError, Step};
use crate::path::{cpath, PATH_CAP};

const MODE: Mode = Mode::from_bits_truncate(0o644);

/// Replaces `path` with `bytes` atomically, durably (`fsync` before the rename).
pub fn replace(path: &[u8], bytes: &[u8]) -> Result<(), SinkError> {
    replace_with(path, bytes, true)
}

/// Replaces `path` with `bytes` atomically; `durable`: `fsync` the new file before the rename
/// (a record sink). Without it (the state file) a power cut may leave an empty or old file,
/// which the next run reports once as `prev=corrupt`; the `fsync` costs milliseconds of flash
/// writes at every run.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn replace_with(path: &[u8], bytes: &[u8], durable: bool) -> Result<(), SinkError> {
    // PATH.tmp.PID.NS: the pid alone repeats across PID namespaces (containers), and a file
    // left by a run that was killed would then block every later save.
    let mut pid_digits = [0u8; 20];
    let pid = rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs();
    let pid = crate::num::decimal(u64::from(pid), &mut pid_digits);
    let mut ns_digits = [0u8; 20];
    let ns = crate::num::decimal(crate::sys::wall_ns(), &mut ns_digits);
    let mut tmp_buf = [0u8; PATH_CAP];
    let tmp = cpath(&[path, b".tmp.", pid, b".", ns], &mut tmp_buf)
        .map_err(|e| SinkError::new(Step::Path, e))?;
    let mut final_buf = [0u8; PATH_CAP];
    let target = cpath(&[path], &mut final_buf).map_err(|e| SinkError::new(Step::Path, e))?;

    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd =
        fs::openat(CWD, tmp, flags, MODE).map_err(|e| SinkError::new(Step::CreateTemporary, e))?;
    let written = (|| {
        fs::fchmod(&fd, MODE).map_err(|e| SinkError::new(Step::Chmod, e))?;
        write_all(rustix::fd::AsFd::as_fd(&fd), bytes)
            .map_err(|e| SinkError::new(Step::Write, e))?;
        if durable {
            fs::fsync(&fd).map_err(|e| SinkError::new(Step::Fsync, e))?;
        }
        drop(fd);
        fs::renameat(CWD, tmp, CWD, target).map_err(|e| SinkError::new(Step::Rename, e))
    })();
    if written.is_err() {
        let _ = fs::unlinkat(CWD, tmp, fs::AtFlags::empty());
    }
    written
}

/// Creates the directory `path` (mode 0755), for the state file's first run.
pub fn mkdir(path: &[u8]) -> Result<(), Errno> {
    let mut cbuf = [0u8; PATH_CAP];
    fs::mkdirat(
        CWD,
        cpath(&[path], &mut cbuf)?,
        Mode::from_bits_truncate(0o755),
    )
}

/// Appends `bytes` to `path`, rotating once to `PATH.1` at `max_bytes`.
///
/// A rotation is made by one run at a time, and no run waits for another: the run that would
/// pass the cap takes an exclusive `flock` on the file it opened without waiting, checks that
/// the file is still the one at `path` (the same inode number: a path names files of one
/// filesystem), renames it to `PATH.1` and appends to a new file.
/// A run that cannot take the lock (another run is rotating) or finds the file rotated
/// appends to the file it opened, now or soon `PATH.1`, which passes the cap by that record:
/// no record is lost, and a lock held for ever costs no wait. The file keeps its mode; a new
/// one is created 0644 (less the umask). `O_NONBLOCK`: a FIFO with no reader is refused
/// (`ENXIO`) instead of blocking the run.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn append(path: &[u8], bytes: &[u8], max_bytes: u64) -> Result<(), SinkError> {
    use rustix::fs::FlockOperation;
    let mut path_buf = [0u8; PATH_CAP];
    let target = cpath(&[path], &mut path_buf).map_err(|e| SinkError::new(Step::Path, e))?;
    let flags = OFlags::WRONLY
        | OFlags::APPEND
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | OFlags::NONBLOCK;
    let mut fd = fs::openat(CWD, target, flags, MODE).map_err(|e| SinkError::new(Step::Open, e))?;
    let st = crate::sys::fstat(rustix::fd::AsFd::as_fd(&fd))
        .map_err(|e| SinkError::new(Step::Stat, e))?;
    let size = st.size;
    let rotate = size > 0
        && size.saturating_add(bytes.len() as u64) > max_bytes
        && fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok()
        && crate::sys::lstat(target).is_ok_and(|now| now.ino == st.ino);
    if rotate {
        let mut old_buf = [0u8; PATH_CAP];
        let old = cpath(&[path, b".1"], &mut old_buf).map_err(|e| SinkError::new(Step::Path, e))?;
        fs::renameat(CWD, target, CWD, old).map_err(|e| SinkError::new(Step::Rotate, e))?;
        // Not O_EXCL: a run that came after the rename may have created the new file already.
        fd = fs::openat(CWD, target, flags, MODE)
            .map_err(|e| SinkError::new(Step::OpenAfterRotation, e))?;
    }
    write_once(&fd, bytes)
}

/// One `write` of a whole record (`O_APPEND`: concurrent runs' records never interleave).
fn write_once(fd: &rustix::fd::OwnedFd, bytes: &[u8]) -> Result<(), SinkError> {
    match rustix::io::write(fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(SinkError::new(Step::Write, Errno::NOSPC)),
        Err(e) => Err(SinkError::new(Step::Write, e)),
    }
}
