//! `--udp ADDR:PORT`: one datagram per record, to an address the agent resolved with
//! [`crate::parse::addr`]. A record longer than [`MAX_PAYLOAD`] is an error, never truncated; the one
//! exception is InfluxDB line protocol, where every line is a complete point: it is sent as
//! several datagrams of whole lines ([`send`]), as Telegraf and InfluxDB's UDP listener
//! expect, and only a single line over the limit is an error.

use core::net::SocketAddr;

use rustix::net::{self, SendFlags, SocketAddrAny};

use super::{SinkError, Step};

/// The largest payload sent: 1280 (IPv6 minimum MTU) - 40 (IPv6) - 8 (UDP), safe on any path.
pub const MAX_PAYLOAD: usize = 1232;

/// Sends `bytes` as one datagram; or, `lines` (line protocol), as datagrams of whole lines,
/// each at most [`MAX_PAYLOAD`]. Nothing is sent if the record (`lines`: one line alone) is
/// too long.
// Out of line on 64-bit CPUs, inlined on 32-bit ones: each measured smaller (on x86_64 and
// i686).
#[cfg_attr(target_pointer_width = "64", inline(never))]
pub fn send(addr: &SocketAddr, bytes: &[u8], lines: bool) -> Result<(), SinkError> {
    if !lines && bytes.len() > MAX_PAYLOAD {
        return Err(SinkError::plain(Step::RecordTooLong));
    }
    if lines && crate::num::lines(bytes).any(|line| line.len() + 1 > MAX_PAYLOAD) {
        return Err(SinkError::plain(Step::LineTooLong));
    }
    let fd = crate::sys::udp_socket(addr).map_err(|e| SinkError::new(Step::Socket, e))?;
    let to = crate::sys::kernel_addr(addr);
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
        sendto(&fd, &to, chunk)?;
        rest = tail;
        if rest.is_empty() {
            return Ok(());
        }
    }
}

fn sendto(fd: &rustix::fd::OwnedFd, addr: &SocketAddrAny, bytes: &[u8]) -> Result<(), SinkError> {
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
}
