//! The thin I/O layer every probe uses: paths below `--root`, and small reads into caller buffers.
//!
//! Files are opened `O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK`: a FIFO planted where a file
//! should be answers at once (empty or `EAGAIN`) instead of blocking the run. Reads stop when the
//! buffer is full or the kernel returns a short read, so a huge file costs one buffer, never more
//! memory; a file read line by line is read up to [`LINES_CAP`], so an endless one (`/dev/zero`)
//! cannot hold the run. Nothing here allocates.

use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{self, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::path::join;
pub use crate::path::{cpath, relative, PATH_CAP};

/// The most [`Root::for_each_line`] reads of one file: 4 MiB, a `/etc/passwd` of some 50,000
/// users, read in milliseconds; past it the file is refused, so a file with no end cannot
/// outlast the run's deadline.
pub const LINES_CAP: usize = 4 << 20;

/// A root directory prefix under which every probe reads (`--root`, default `/`).
#[derive(Debug, Clone, Copy)]
pub struct Root<'a> {
    /// The prefix without trailing slashes; empty for `/`.
    prefix: &'a [u8],
}

impl<'a> Root<'a> {
    pub fn new(prefix: &'a [u8]) -> Root<'a> {
        let mut prefix = prefix;
        while let [rest @ .., b'/'] = prefix {
            prefix = rest;
        }
        Root { prefix }
    }

    /// Builds `prefix + "/" + parts...` as a NUL-terminated path in `buf`.
    /// Each part is a path relative to the root (no leading `/`), joined without separators.
    pub fn path<'b>(
        &self,
        parts: &[&[u8]],
        buf: &'b mut [u8; PATH_CAP],
    ) -> Result<&'b CStr, Errno> {
        let mut len = 0;
        for piece in [self.prefix, b"/"] {
            let end = len + piece.len();
            buf.get_mut(len..end)
                .ok_or(Errno::NAMETOOLONG)?
                .copy_from_slice(piece);
            len = end;
        }
        join(len, parts, buf)
    }

    /// Reads the start of a file into `buf` and returns the bytes read.
    pub fn read<'b>(&self, parts: &[&[u8]], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        let mut path = [0u8; PATH_CAP];
        read_cstr(self.path(parts, &mut path)?, buf)
    }

    /// Calls `each` for every complete line of a file, reading it in chunks of `buf.len()`. A
    /// line longer than the buffer is skipped. `each` returns `true` to stop. A file longer than
    /// [`LINES_CAP`] (`/etc/passwd` made `/dev/zero`) is `EFBIG` once that much is read.
    #[inline(never)] // out of line: measured smaller on i686 and x86_64
    pub fn for_each_line(
        &self,
        parts: &[&[u8]],
        buf: &mut [u8],
        mut each: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), Errno> {
        let mut path = [0u8; PATH_CAP];
        let path = self.path(parts, &mut path)?;
        // Left open, as in [`read_cstr`]: one file per call site and run.
        let fd = core::mem::ManuallyDrop::new(open_read(CWD, path)?);
        let mut held = 0; // bytes of an unfinished line at the start of buf
        let mut skipping = false; // inside a line too long for the buffer
        let mut total = 0; // bytes read so far
        loop {
            let spare = buf.get_mut(held..).unwrap_or(&mut []);
            let got = match rustix::io::read(&*fd, spare) {
                Ok(n) => n,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            };
            total += got;
            if total > LINES_CAP {
                return Err(Errno::FBIG);
            }
            let filled = held + got;
            let data = buf.get(..filled).unwrap_or(&[]);
            if got == 0 {
                if !skipping && filled > 0 {
                    each(data);
                }
                return Ok(());
            }
            let mut start = 0;
            while let Some(nl) = data
                .get(start..)
                .and_then(|d| d.iter().position(|&b| b == b'\n'))
            {
                if !skipping && each(data.get(start..start + nl).unwrap_or(&[])) {
                    return Ok(());
                }
                skipping = false;
                start += nl + 1;
            }
            if start == 0 && filled == buf.len() {
                // No newline in a full buffer: drop this line up to its end.
                skipping = true;
                held = 0;
            } else {
                buf.copy_within(start..filled, 0);
                held = filled - start;
            }
        }
    }

    /// `lstat` of a path below the root (does not follow a final symlink).
    pub fn lstat(&self, parts: &[&[u8]]) -> Result<crate::sys::FileStat, Errno> {
        let mut path = [0u8; PATH_CAP];
        crate::sys::lstat(self.path(parts, &mut path)?)
    }

    /// Reads a symlink's target into `buf`.
    pub fn readlink<'b>(&self, parts: &[&[u8]], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        let mut path = [0u8; PATH_CAP];
        let path = self.path(parts, &mut path)?;
        let len = fs::readlinkat_raw(CWD, path, &mut *buf)?;
        Ok(buf.get(..len).unwrap_or(&[]))
    }

    /// `statvfs` of a path below the root.
    pub fn statvfs(&self, parts: &[&[u8]]) -> Result<fs::StatVfs, Errno> {
        let mut path = [0u8; PATH_CAP];
        let path = self.path(parts, &mut path)?;
        fs::statvfs(path)
    }

    /// Opens a directory below the root for reading its entries.
    pub fn open_dir(&self, parts: &[&[u8]]) -> Result<OwnedFd, Errno> {
        let mut path = [0u8; PATH_CAP];
        let path = self.path(parts, &mut path)?;
        fs::openat(
            CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    }
}

fn open_read(dir: BorrowedFd, path: &CStr) -> Result<OwnedFd, Errno> {
    fs::openat(
        dir,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
    )
}

/// Reads from `fd` into `buf` until it is full or a read comes back short (end of file; procfs
/// and sysfs fill the buffer as far as they can).
fn read_fd<'b>(fd: BorrowedFd, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let mut len = 0;
    while let Some(spare) = buf.get_mut(len..).filter(|s| !s.is_empty()) {
        let want = spare.len();
        let got = match rustix::io::read(fd, spare) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        len += got;
        if got < want {
            break;
        }
    }
    Ok(buf.get(..len).unwrap_or(&[]))
}

/// Opens and reads a file whose number per run is fixed. The descriptor is deliberately left
/// open: the agent is a one-shot process, the kernel closes it at exit, and a `close` per file
/// is a syscall the run does not need. Files read once per process (the `/proc` scan) go
/// through [`read_at`], which closes, since their number has no bound.
fn read_cstr<'b>(path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = open_read(CWD, path)?;
    let bytes = read_fd(fd.as_fd(), buf);
    core::mem::forget(fd);
    bytes
}

/// Reads the file named by `parts` (joined) relative to the directory `dir` and closes it.
pub fn read_at<'b>(dir: BorrowedFd, parts: &[&[u8]], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let mut path = [0u8; PATH_CAP];
    let fd = open_read(dir, join(0, parts, &mut path)?)?;
    read_fd(fd.as_fd(), buf)
}

/// Reads the start of a file named by a path as given (not below a root): the config file.
pub fn read_path<'b>(path: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let mut cbuf = [0u8; PATH_CAP];
    read_cstr(cpath(&[path], &mut cbuf)?, buf)
}

/// Why a whole file could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileError {
    Os(Errno),
    /// The file fills the whole buffer: it may be longer, and is refused rather than cut.
    TooLarge,
}

/// Reads a whole small file named by a path as given (the config file, the key file): a file
/// that fills `buf` is [`FileError::TooLarge`], never a truncated one.
pub fn read_whole<'b>(path: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], FileError> {
    let cap = buf.len();
    let bytes = read_path(path, buf).map_err(FileError::Os)?;
    if bytes.len() == cap {
        return Err(FileError::TooLarge);
    }
    Ok(bytes)
}

/// Size of the buffer `/etc/hosts` is read into (its start: a name further down is not found).
pub const HOSTS_CAP: usize = 8192;

/// This machine's `/etc/hosts` (not below `--root`: the agent sends from this machine), or
/// nothing when it cannot be read.
pub fn read_hosts(buf: &mut [u8; HOSTS_CAP]) -> &[u8] {
    read_path(b"/etc/hosts", buf).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_paths() {
        let mut buf = [0u8; PATH_CAP];
        let root = Root::new(b"/");
        assert_eq!(
            root.path(&[b"proc/meminfo"], &mut buf).unwrap().to_bytes(),
            b"/proc/meminfo"
        );
        let root = Root::new(b"tests/fixtures/a//");
        assert_eq!(
            root.path(&[b"run/user/", b"1000"], &mut buf)
                .unwrap()
                .to_bytes(),
            b"tests/fixtures/a/run/user/1000"
        );
        assert_eq!(root.path(&[b"a\0b"], &mut buf), Err(Errno::INVAL));
        let long = [b'x'; PATH_CAP];
        assert_eq!(root.path(&[&long], &mut buf), Err(Errno::NAMETOOLONG));
    }

    #[test]
    fn reads_lines_of_any_length() {
        let dir = std::env::temp_dir().join(format!("np-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("short\n");
        text.push_str(&"y".repeat(100));
        text.push_str("\nlast-no-newline");
        std::fs::write(dir.join("f"), &text).unwrap();
        let root = Root::new(dir.as_os_str().as_encoded_bytes());
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        root.for_each_line(&[b"f"], &mut buf, |l| {
            got.push(String::from_utf8_lossy(l).into_owned());
            false
        })
        .unwrap();
        assert_eq!(got, vec!["short", "last-no-newline"]);
        let mut small = [0u8; 8];
        assert_eq!(root.read(&[b"f"], &mut small).unwrap(), b"short\nyy");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
