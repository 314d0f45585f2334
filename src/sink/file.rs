//! File sinks: `--out PATH` replaces a file atomically, `--append PATH` adds a line to a log
//! capped at `--max-bytes`, rotated once to `PATH.1`.
//!
//! Replace: the record goes to `PATH.tmp.PID` in the same directory (created with `O_EXCL |
//! O_NOFOLLOW`, so a planted symlink is never followed), mode 0644, is `fsync`ed, then renamed
//! over `PATH`. A reader sees the old file or the new one, never a partial one; any failure
//! (ENOSPC, EROFS, EACCES) removes the temporary file and leaves the old one intact.
//!
//! Append: opened `O_APPEND | O_NOFOLLOW`, mode 0644; when the file plus the record would pass
//! the cap, the file is renamed to `PATH.1` (replacing the previous `.1`) and a new one started:
//! never more than two files. One `write` per record, so concurrent runs do not interleave.
//!
//! # References
//! - rename(2) (atomic replacement), open(2) (`O_EXCL`, `O_NOFOLLOW`, `O_APPEND`)

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
    let mut digits = [0u8; 20];
    let pid = rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs();
    let pid = crate::num::decimal(u64::from(pid), &mut digits);
    let mut tmp_buf = [0u8; PATH_CAP];
    let tmp =
        cpath(&[path, b".tmp.", pid], &mut tmp_buf).map_err(|e| SinkError::new(Step::Path, e))?;
    let mut final_buf = [0u8; PATH_CAP];
    let target = cpath(&[path], &mut final_buf).map_err(|e| SinkError::new(Step::Path, e))?;

    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, tmp, flags, MODE)
        .map_err(|e| SinkError::new(Step::CreateTemporary, e))?;
    let written = (|| {
        fs::fchmod(&fd, MODE).map_err(|e| SinkError::new(Step::Chmod, e))?;
        write_all(rustix::fd::AsFd::as_fd(&fd), bytes).map_err(|e| SinkError::new(Step::Write, e))?;
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
    fs::mkdirat(CWD, cpath(&[path], &mut cbuf)?, Mode::from_bits_truncate(0o755))
}

/// Appends `bytes` to `path`, rotating once to `PATH.1` at `max_bytes`.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn append(path: &[u8], bytes: &[u8], max_bytes: u64) -> Result<(), SinkError> {
    let mut path_buf = [0u8; PATH_CAP];
    let target = cpath(&[path], &mut path_buf).map_err(|e| SinkError::new(Step::Path, e))?;
    let flags =
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut fd = fs::openat(CWD, target, flags, MODE).map_err(|e| SinkError::new(Step::Open, e))?;
    let size = fs::fstat(&fd)
        .map_err(|e| SinkError::new(Step::Stat, e))?
        .st_size as u64;
    if size > 0 && size.saturating_add(bytes.len() as u64) > max_bytes {
        let mut old_buf = [0u8; PATH_CAP];
        let old = cpath(&[path, b".1"], &mut old_buf).map_err(|e| SinkError::new(Step::Path, e))?;
        fs::renameat(CWD, target, CWD, old).map_err(|e| SinkError::new(Step::Rotate, e))?;
        fd = fs::openat(CWD, target, flags | OFlags::EXCL, MODE)
            .map_err(|e| SinkError::new(Step::OpenAfterRotation, e))?;
    }
    fs::fchmod(&fd, MODE).map_err(|e| SinkError::new(Step::Chmod, e))?;
    match rustix::io::write(&fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(SinkError::new(Step::Write, Errno::NOSPC)),
        Err(e) => Err(SinkError::new(Step::Write, e)),
    }
}
