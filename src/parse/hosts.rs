//! `/etc/hosts`: the address of a name, for `--udp NAME:PORT` without DNS.
//!
//! Lines are `ADDRESS NAME [ALIAS...]` with `#` comments; the first line naming the host wins,
//! as in glibc's and musl's files lookup. Malformed addresses are skipped.
//!
//! # References
//! - hosts(5)

use core::net::IpAddr;

use crate::num::{fields, lines};

/// The first address listed for `name` (case-insensitive, as host names are).
pub fn find(bytes: &[u8], name: &[u8]) -> Option<IpAddr> {
    lines(bytes).find_map(|line| {
        let line = line.split(|&b| b == b'#').next().unwrap_or(&[]);
        let mut parts = fields(line);
        let addr: IpAddr = crate::sys::parse_ip(parts.next()?)?;
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
}
