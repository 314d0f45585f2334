//! `/etc/passwd`: the uid of a user name, one line at a time.
//!
//! A line is `name:password:uid:gid:gecos:home:shell`. Comments (`#`), blank lines, NIS
//! compat entries (`+name`, `-name`) and lines with a non-numeric uid are skipped; the first
//! matching line wins, as in glibc's and musl's `getpwnam`.
//!
//! # References
//! - passwd(5)

use crate::num::{parse_u32, trim};

/// Returns the uid if `line` is a well-formed passwd entry for `name`.
pub fn uid_in_line(line: &[u8], name: &[u8]) -> Option<u32> {
    let line = trim(line);
    if name.is_empty() || matches!(line.first(), None | Some(b'#' | b'+' | b'-')) {
        return None;
    }
    let mut parts = crate::num::pieces(line, b':');
    if parts.next()? != name {
        return None;
    }
    let _password = parts.next()?;
    parse_u32(parts.next()?)
}

/// Searches a whole passwd file held in memory.
pub fn find_uid(bytes: &[u8], name: &[u8]) -> Option<u32> {
    crate::num::lines(bytes).find_map(|line| uid_in_line(line, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n# comment:x:5:5\n\n+nis::::::\nnode:x:1000:1000:Node,,,:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbad:x:notanumber:1::/:/bin/sh\nbig:x:4294967296:1::/:/bin/sh\nnode:x:2000:2000::/:/bin/sh\ncrlf:x:42:42::/:/bin/sh\r\n";

    #[test]
    fn finds_users() {
        assert_eq!(find_uid(PASSWD, b"root"), Some(0));
        assert_eq!(find_uid(PASSWD, b"node"), Some(1000), "first entry wins");
        assert_eq!(find_uid(PASSWD, b"nobody"), Some(65534));
        assert_eq!(find_uid(PASSWD, b"crlf"), Some(42));
    }

    #[test]
    fn rejects_bad_entries() {
        assert_eq!(find_uid(PASSWD, b"bad"), None);
        assert_eq!(find_uid(PASSWD, b"big"), None);
        assert_eq!(find_uid(PASSWD, b"missing"), None);
        assert_eq!(find_uid(PASSWD, b"nis"), None);
        assert_eq!(find_uid(PASSWD, b""), None);
        assert_eq!(find_uid(PASSWD, b"# comment"), None);
        // A prefix of a name is not the name.
        assert_eq!(find_uid(PASSWD, b"nod"), None);
    }

    #[test]
    fn truncated_and_garbage() {
        assert_eq!(find_uid(b"node:x:10", b"node"), Some(10));
        assert_eq!(find_uid(b"node:x", b"node"), None);
        assert_eq!(find_uid(b"node", b"node"), None);
        assert_eq!(find_uid(b"\x00\xff:\xfe::", b"node"), None);
        assert_eq!(find_uid(b"", b"node"), None);
    }
}
