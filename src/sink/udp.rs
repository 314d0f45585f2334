//! `--udp ADDR:PORT`: one datagram per record, to an IPv4 literal (`192.0.2.1:8089`), an IPv6
//! literal in brackets (`[2001:db8::1]:8089`) or a name found in `/etc/hosts` (no DNS: the node
//! may have none). A record longer than [`MAX_PAYLOAD`] is an error, never truncated; the one
//! exception is InfluxDB line protocol, where every line is a complete point: it is sent as
//! several datagrams of whole lines ([`send`]), as Telegraf and InfluxDB's UDP listener
//! expect, and only a single line over the limit is an error.

use core::net::{IpAddr, SocketAddr};

use rustix::net::{self, AddressFamily, SendFlags, SocketFlags, SocketType};

use super::{SinkError, Step};
use crate::num::parse_u32;

/// The largest payload sent: 1280 (IPv6 minimum MTU) - 40 (IPv6) - 8 (UDP), safe on any path.
pub const MAX_PAYLOAD: usize = 1232;

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
        [b'[', v6 @ .., b']'] => match crate::parse::hosts::parse_ip(v6) {
            Some(ip @ IpAddr::V6(_)) => ip,
            _ => return Err(AddrError::Syntax),
        },
        _ if host.is_empty() || host.contains(&b':') || host.contains(&b'[') => {
            return Err(AddrError::Syntax)
        }
        _ => match crate::parse::hosts::parse_ip(host) {
            Some(ip @ IpAddr::V4(_)) => ip,
            Some(IpAddr::V6(_)) => return Err(AddrError::Syntax),
            None => hosts
                .and_then(|h| crate::parse::hosts::find(h, host))
                .ok_or(AddrError::Unresolved)?,
        },
    };
    Ok(SocketAddr::new(ip, port))
}

/// Sends `bytes` as one datagram; or, `lines` (line protocol), as datagrams of whole lines,
/// each at most [`MAX_PAYLOAD`]. Nothing is sent if the record (`lines`: one line alone) is
/// too long.
#[inline(never)] // out of line: inlined into the agent's record writing it costs ~100 bytes
pub fn send(addr: &SocketAddr, bytes: &[u8], lines: bool) -> Result<(), SinkError> {
    if !lines && bytes.len() > MAX_PAYLOAD {
        return Err(SinkError::plain(Step::RecordTooLong));
    }
    if lines && bytes.split(|&b| b == b'\n').any(|line| line.len() + 1 > MAX_PAYLOAD) {
        return Err(SinkError::plain(Step::LineTooLong));
    }
    let fd = socket(addr)?;
    let mut rest = bytes;
    loop {
        // All that is left when it fits (always, without `lines`), else the longest run of
        // whole lines that fits.
        let cut = if rest.len() <= MAX_PAYLOAD {
            rest.len()
        } else {
            let window = rest.get(..MAX_PAYLOAD).unwrap_or(rest);
            window
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(window.len(), |nl| nl + 1)
        };
        let (chunk, tail) = rest.split_at(cut);
        sendto(&fd, addr, chunk)?;
        rest = tail;
        if rest.is_empty() {
            return Ok(());
        }
    }
}

/// A close-on-exec UDP socket of `addr`'s family (also the SNTP client's).
pub fn socket(addr: &SocketAddr) -> Result<rustix::fd::OwnedFd, SinkError> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    net::socket_with(family, SocketType::DGRAM, SocketFlags::CLOEXEC, None)
        .map_err(|e| SinkError::new(Step::Socket, e))
}

fn sendto(fd: &rustix::fd::OwnedFd, addr: &SocketAddr, bytes: &[u8]) -> Result<(), SinkError> {
    match net::sendto(fd, bytes, SendFlags::empty(), addr) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(SinkError::plain(Step::ShortSend)),
        Err(e) => Err(SinkError::new(Step::Send, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_whole_datagrams() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let addr = rx.local_addr().unwrap();
        let line = format!("{}\n", "x".repeat(499));
        let text = line.repeat(5); // 2500 bytes: 2 + 2 + 1 lines
        send(&addr, text.as_bytes(), true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        for _ in 0..3 {
            let n = rx.recv(&mut buf).unwrap();
            assert!(n <= MAX_PAYLOAD && buf[..n].ends_with(b"\n"));
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, text.as_bytes());
        let long = format!("{}\n", "y".repeat(1300));
        assert!(send(&addr, long.as_bytes(), true).is_err());
        assert!(send(&addr, text.as_bytes(), false).is_err());
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
        assert_eq!(resolve(b"\xff:1", Some(hosts)), Err(AddrError::Unresolved));
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
