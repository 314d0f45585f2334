//! Destinations as the command line names them: `ADDR:PORT` for `--udp`, `ADDR[:PORT]` for
//! `--ntp-server`. An IPv4 literal (`192.0.2.1:8089`), an IPv6 literal in brackets
//! (`[2001:db8::1]:8089`) or a name looked up in the `/etc/hosts` contents the caller read (no
//! DNS: the node may have none). Pure and total: no I/O, no allocation, no panic on any input.
//!
//! # References
//! - hosts(5); RFC 3986 §3.2.2 (IPv6 literals in brackets)

use core::net::{IpAddr, SocketAddr};

use super::hosts;
use crate::num::{has, parse_u32};

/// Longest `--ntp-server` value plus `:123`.
pub const SERVER_CAP: usize = 264;

/// Why a destination could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrError {
    /// Not `HOST:PORT`, or the port is not 1-65535.
    Syntax,
    /// A name that `/etc/hosts` does not list.
    Unresolved,
}

/// Parses `ADDR:PORT` (`[IPv6]:PORT`); a name is looked up in the `hosts` file contents given.
pub fn resolve(target: &[u8], hosts: Option<&[u8]>) -> Result<SocketAddr, AddrError> {
    let colon = target
        .iter()
        .rposition(|&b| b == b':')
        .ok_or(AddrError::Syntax)?;
    let (host, port) = (
        target.get(..colon).unwrap_or(&[]),
        target.get(colon + 1..).unwrap_or(&[]),
    );
    let port = parse_u32(port)
        .filter(|p| (1..=65535).contains(p))
        .ok_or(AddrError::Syntax)? as u16;
    let ip = match host {
        [b'[', v6 @ .., b']'] => match hosts::parse_ip(v6) {
            Some(ip @ IpAddr::V6(_)) => ip,
            _ => return Err(AddrError::Syntax),
        },
        _ if host.is_empty() || has(host, b':') || has(host, b'[') => {
            return Err(AddrError::Syntax)
        }
        _ => match hosts::parse_ip(host) {
            Some(ip @ IpAddr::V4(_)) => ip,
            Some(IpAddr::V6(_)) => return Err(AddrError::Syntax),
            None => hosts
                .and_then(|h| hosts::find(h, host))
                .ok_or(AddrError::Unresolved)?,
        },
    };
    Ok(SocketAddr::new(ip, port))
}

/// Whether `target` can never be an `ADDR:PORT` (a name is fine: it is resolved when used).
pub fn is_syntax_error(target: &[u8]) -> bool {
    resolve(target, Some(b"")) == Err(AddrError::Syntax)
}

/// `server` as `ADDR:PORT`: unchanged when it names a port, else with `:123` (NTP) appended;
/// `None` when it does not fit [`SERVER_CAP`].
pub fn with_ntp_port<'b>(server: &'b [u8], buf: &'b mut [u8; SERVER_CAP]) -> Option<&'b [u8]> {
    let bare_v6 = server.first() == Some(&b'[') && server.last() == Some(&b']');
    let has_port = !bare_v6
        && (server.iter().filter(|&&b| b == b':').count() == 1 || server.first() == Some(&b'['));
    if has_port {
        return Some(server);
    }
    let len = server.len() + 4;
    let out = buf.get_mut(..len)?;
    out.get_mut(..server.len())?.copy_from_slice(server);
    out.get_mut(server.len()..)?.copy_from_slice(b":123");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_port() {
        let mut buf = [0u8; SERVER_CAP];
        assert_eq!(
            with_ntp_port(b"192.0.2.1", &mut buf),
            Some(&b"192.0.2.1:123"[..])
        );
        let mut buf = [0u8; SERVER_CAP];
        assert_eq!(
            with_ntp_port(b"192.0.2.1:11123", &mut buf),
            Some(&b"192.0.2.1:11123"[..])
        );
        let mut buf = [0u8; SERVER_CAP];
        assert_eq!(with_ntp_port(b"[::1]", &mut buf), Some(&b"[::1]:123"[..]));
        let mut buf = [0u8; SERVER_CAP];
        assert_eq!(with_ntp_port(b"[::1]:9", &mut buf), Some(&b"[::1]:9"[..]));
        let mut buf = [0u8; SERVER_CAP];
        assert_eq!(
            with_ntp_port(b"ntp.lan", &mut buf),
            Some(&b"ntp.lan:123"[..])
        );
        let mut buf = [0u8; SERVER_CAP];
        assert_eq!(with_ntp_port(&[b'a'; 261], &mut buf), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            resolve(b"127.0.0.1:8089", None),
            Ok("127.0.0.1:8089".parse().unwrap())
        );
        assert_eq!(
            resolve(b"[::1]:8089", None),
            Ok("[::1]:8089".parse().unwrap())
        );
        let hosts = b"10.1.2.3 collector\n";
        assert_eq!(
            resolve(b"collector:9000", Some(hosts)),
            Ok("10.1.2.3:9000".parse().unwrap())
        );
        assert_eq!(
            resolve(b"nowhere:9000", Some(hosts)),
            Err(AddrError::Unresolved)
        );
        assert_eq!(resolve(b"collector:0", Some(hosts)), Err(AddrError::Syntax));
        assert_eq!(
            resolve(b"collector:70000", Some(hosts)),
            Err(AddrError::Syntax)
        );
        assert_eq!(resolve(b"collector", Some(hosts)), Err(AddrError::Syntax));
        assert_eq!(resolve(b"::1:8089", Some(hosts)), Err(AddrError::Syntax));
        assert_eq!(
            resolve(b":8089", Some(hosts)),
            Err(AddrError::Syntax),
            "no host"
        );
        assert_eq!(
            resolve(b"a[b:8089", Some(hosts)),
            Err(AddrError::Syntax),
            "a bracket in a name"
        );
        assert_eq!(resolve(b"\xff:1", Some(hosts)), Err(AddrError::Unresolved));
        assert!(is_syntax_error(b"host:99999"));
        assert!(!is_syntax_error(b"collector:8089"));
    }

    /// Fuzz crash (hosts target): a 64-byte host (with or without brackets) reached inet_pton
    /// without a NUL terminator.
    #[test]
    fn regression_fuzz_64_byte_host() {
        for len in [46, 62, 63, 64, 65, 300] {
            let mut v4 = vec![b'1'; len];
            v4.extend_from_slice(b":80");
            assert_eq!(resolve(&v4, None), Err(AddrError::Unresolved), "{len}");
            let mut v6 = vec![b'['];
            v6.extend(core::iter::repeat_n(b'1', len));
            v6.extend_from_slice(b"]:80");
            assert_eq!(resolve(&v6, None), Err(AddrError::Syntax), "{len}");
        }
    }
}
