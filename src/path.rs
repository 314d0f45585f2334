//! Paths the agent builds: NUL-terminated, in a caller's buffer of [`PATH_CAP`] bytes, from
//! parts joined as they are. Below both the probes (which read below `--root`) and the sinks
//! (which write where the user said). No allocation; a part holding a NUL is `EINVAL`, a path
//! too long for the buffer `ENAMETOOLONG`, never a truncated path.

use core::ffi::CStr;
use rustix::io::Errno;

/// Longest path the agent builds (root prefix plus a path below it, plus the NUL).
pub const PATH_CAP: usize = 512;

/// Appends `parts` to the first `start` bytes of `buf` and NUL-terminates. A NUL among the bytes
/// is `EINVAL` (the `CStr` check finds it).
pub fn join<'b>(
    start: usize,
    parts: &[&[u8]],
    buf: &'b mut [u8; PATH_CAP],
) -> Result<&'b CStr, Errno> {
    let mut len = start;
    for piece in parts.iter().copied() {
        let end = len + piece.len();
        buf.get_mut(len..end)
            .ok_or(Errno::NAMETOOLONG)?
            .copy_from_slice(piece);
        len = end;
    }
    *buf.get_mut(len).ok_or(Errno::NAMETOOLONG)? = 0;
    CStr::from_bytes_with_nul(buf.get(..=len).ok_or(Errno::NAMETOOLONG)?).map_err(|_| Errno::INVAL)
}

/// A path as given (not below a root), made of `parts` joined as they are, NUL-terminated.
pub fn cpath<'b>(parts: &[&[u8]], buf: &'b mut [u8; PATH_CAP]) -> Result<&'b CStr, Errno> {
    if parts.first().is_none_or(|first| first.is_empty()) {
        return Err(Errno::INVAL);
    }
    join(0, parts, buf)
}

/// Strips a leading `/` so an absolute path given by the user can be joined below the root.
pub fn relative(path: &[u8]) -> &[u8] {
    let mut path = path;
    while let [b'/', rest @ ..] = path {
        path = rest;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_as_given() {
        let mut buf = [0u8; PATH_CAP];
        assert_eq!(
            cpath(&[b"/var/lib/np", b".tmp.", b"42"], &mut buf)
                .unwrap()
                .to_bytes(),
            b"/var/lib/np.tmp.42"
        );
        assert_eq!(
            cpath(&[b""], &mut buf),
            Err(Errno::INVAL),
            "an empty path is refused"
        );
        assert_eq!(cpath(&[b"a\0b"], &mut buf), Err(Errno::INVAL));
        let long = [b'x'; PATH_CAP];
        assert_eq!(cpath(&[&long], &mut buf), Err(Errno::NAMETOOLONG));
        assert_eq!(
            cpath(&[&long[..PATH_CAP - 1]], &mut buf).map(|p| p.to_bytes().len()),
            Ok(PATH_CAP - 1)
        );
        assert_eq!(relative(b"//var/lib"), b"var/lib");
    }
}
