//! `/etc/hosts`: the address of a name, for `--udp NAME:PORT` without DNS.
//!
//! Lines are `ADDRESS NAME [ALIAS...]` with `#` comments; the first line naming the host wins,
//! as in glibc's and musl's files lookup. Malformed addresses are skipped.
//!
//! # References
//! - hosts(5)

use core::net::IpAddr;

use crate::num::{fields, lines};

/// Longest IP literal: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`.
pub const IP_TEXT_MAX: usize = 45;

/// An IPv4 (`a.b.c.d`, no leading zeros) or IPv6 literal (groups of 1–4 hex digits, one `::`
/// at most, an IPv4 tail allowed), as `inet_pton(3)` reads them. Total: slices are taken with
/// `get`, counts are checked before each store.
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if text.len() > IP_TEXT_MAX {
        return None;
    }
    match parse_v4(text) {
        Some(v4) => Some(IpAddr::from(v4)),
        None => parse_v6(text).map(IpAddr::from),
    }
}

fn parse_v4(text: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = crate::num::pieces(text, b'.');
    for slot in out.iter_mut() {
        let part = parts.next()?;
        // No leading zero (inet_pton refuses them); an empty or too large part is no u8.
        if part.len() > 1 && part.first() == Some(&b'0') {
            return None;
        }
        *slot = u8::try_from(crate::num::parse_u64(part)?).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn parse_v6(text: &[u8]) -> Option<[u8; 16]> {
    // `HEAD::TAIL` (either may be empty) or, without `::`, eight groups in all.
    let gap = text.windows(2).position(|w| w == b"::");
    let (head, tail) = match gap {
        Some(at) => (text.get(..at)?, text.get(at + 2..)),
        None => (text, None),
    };
    let mut out = [0u8; 16];
    let head_len = groups(head, &mut out, tail.is_none())?;
    let Some(tail) = tail else {
        return (head_len == 16).then_some(out);
    };
    let mut end = [0u8; 16];
    let tail_len = groups(tail, &mut end, true)?;
    // `::` stands for one zero group at least.
    if head_len + tail_len > 14 {
        return None;
    }
    out.get_mut(16 - tail_len..)?
        .copy_from_slice(end.get(..tail_len)?);
    Some(out)
}

/// Colon-separated groups of 1-4 hex digits (the last may be an IPv4 tail when `v4_last`)
/// written into `out` from the start; the number of bytes, `None` for a malformed or too long
/// list. Empty text is no group.
fn groups(text: &[u8], out: &mut [u8; 16], v4_last: bool) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut parts = crate::num::pieces(text, b':').peekable();
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        if last && v4_last && crate::num::has(part, b'.') {
            out.get_mut(n..n + 4)?.copy_from_slice(&parse_v4(part)?);
            return Some(n + 4);
        }
        if part.is_empty() || part.len() > 4 {
            return None;
        }
        let mut word = 0u16;
        for &b in part {
            word = word << 4 | char::from(b).to_digit(16)? as u16;
        }
        out.get_mut(n..n + 2)?.copy_from_slice(&word.to_be_bytes());
        n += 2;
    }
    Some(n)
}

/// The first address listed for `name` (case-insensitive, as host names are).
pub fn find(bytes: &[u8], name: &[u8]) -> Option<IpAddr> {
    lines(bytes).find_map(|line| {
        let line = crate::num::pieces(line, b'#').next().unwrap_or(&[]);
        let mut parts = fields(line);
        let addr: IpAddr = parse_ip(parts.next()?)?;
        parts.any(|alias| same_name(alias, name)).then_some(addr)
    })
}

/// `a.eq_ignore_ascii_case(b)`, a byte at a time: core's compares 16 bytes per step, which on
/// x86_64 is three loops for names of a few bytes.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
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

    /// The hand parser agrees with std's (the reference) on every literal form and on broken
    /// ones.
    #[test]
    fn parse_ip_agrees_with_std() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            ".1.2.3",
            "1.2.3.4.",
            "::",
            "::1",
            "1::",
            "1::2",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7",
            ":1",
            "1:",
            ":::",
            "1:::2",
            "1::2::3",
            "12345::",
            "abcd:EF01::",
            "g::",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3",
            "fe80::1%eth0",
            "[::1]",
            "",
            " ",
            "1.2.3.4 ",
            "+1.2.3.4",
            "0x1.2.3.4",
            "::ffff:01.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1::2:3:4:5:6:7",
            "1:2::3:",
            ":1::2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every split of a full address into head `::` tail.
        let groups = ["0", "a", "ff", "1234", "ABCD", "0000", "00000"];
        for i in 0..9 {
            for j in 0..9 {
                if i + j <= 8 {
                    let head: Vec<&str> = (0..i).map(|k| groups[k % groups.len()]).collect();
                    let tail: Vec<&str> = (0..j).map(|k| groups[(k + 3) % groups.len()]).collect();
                    cases.push(format!("{}::{}", head.join(":"), tail.join(":")));
                    cases.push(format!("{}:{}", head.join(":"), tail.join(":")));
                }
            }
        }
        for case in &cases {
            let reference: Option<IpAddr> = case.parse().ok();
            assert_eq!(parse_ip(case.as_bytes()), reference, "{case:?}");
        }
    }
}
