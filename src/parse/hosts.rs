//! `/etc/hosts`: the address of a name, for `--udp NAME:PORT` without DNS.
//!
//! Lines are `ADDRESS NAME [ALIAS...]` with `#` comments; the first line naming the host wins,
//! as in glibc's and musl's files lookup. Malformed addresses are skipped.
//!
//! # References
//! - hosts(5)

use core::net::IpAddr;

use crate::num::{fields, lines};

/// Longest IP literal `inet_pton` accepts: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`.
pub const IP_TEXT_MAX: usize = 45;

/// An IPv4 or IPv6 literal. Longer text is rejected before [`crate::sys::parse_ip`], which
/// copies it into a 64-byte buffer for `inet_pton`: 64 bytes exactly filled that buffer with no
/// NUL terminator left, and `inet_pton` was handed an unterminated string (found by
/// `fuzz/fuzz_targets/hosts.rs` under ASan `strict_string_checks`).
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if text.len() > IP_TEXT_MAX {
        return None;
    }
    crate::sys::parse_ip(text)
}

/// The first address listed for `name` (case-insensitive, as host names are).
pub fn find(bytes: &[u8], name: &[u8]) -> Option<IpAddr> {
    lines(bytes).find_map(|line| {
        let line = line.split(|&b| b == b'#').next().unwrap_or(&[]);
        let mut parts = fields(line);
        let addr: IpAddr = parse_ip(parts.next()?)?;
        parts
            .any(|alias| alias.eq_ignore_ascii_case(name))
            .then_some(addr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &[u8] = b"127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # v6\n# 10.0.0.1 collector\n10.0.0.9 Collector collector.lan\nnot-an-ip broken\n2001:db8::5 v6only\n";

    #[test]
    fn lookups() {
        assert_eq!(
            find(HOSTS, b"localhost"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(find(HOSTS, b"ip6-localhost"), Some("::1".parse().unwrap()));
        assert_eq!(find(HOSTS, b"collector"), Some("10.0.0.9".parse().unwrap()));
        assert_eq!(
            find(HOSTS, b"COLLECTOR.LAN"),
            Some("10.0.0.9".parse().unwrap())
        );
        assert_eq!(find(HOSTS, b"v6only"), Some("2001:db8::5".parse().unwrap()));
        assert_eq!(find(HOSTS, b"broken"), None);
        assert_eq!(find(HOSTS, b"missing"), None);
        assert_eq!(find(b"\xff\xfe garbage", b"garbage"), None);
    }

    /// Fuzz crash (hosts target): a first field of exactly 64 bytes reached inet_pton without a
    /// NUL terminator. Minimized input: `\xce2.1[6007\xff\xff\xff\xff.1.17.0n.0.0.1.17.0.0.1\xff\xffun7.0.0.1nrun.0.0.1nrunrun`.
    #[test]
    fn regression_fuzz_64_byte_address() {
        let crash: &[u8] = b"\xce2.1[6007\xff\xff\xff\xff.1.17.0n.0.0.1.17.0.0.1\xff\xffun7.0.0.1nrun.0.0.1nrunrun";
        assert_eq!(crash.len(), 64);
        assert_eq!(find(crash, b"localhost"), None);
        for len in [45, 46, 63, 64, 65, 200] {
            let mut line = vec![b'1'; len];
            line.extend_from_slice(b" name\n");
            assert_eq!(find(&line, b"name"), None, "{len}-byte address");
        }
        let longest = b"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 name\n";
        assert_eq!(
            find(longest, b"name"),
            Some(
                "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
                    .parse()
                    .unwrap()
            )
        );
        assert_eq!(parse_ip(&[b'1'; 64]), None);
    }
}
