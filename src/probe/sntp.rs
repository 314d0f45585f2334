//! `--ntp-server`: one SNTP client request (RFC 4330) to measure this node's clock offset.
//!
//! The kernel's flags cannot tell a BusyBox-ntpd node whose clock is disciplined from one that
//! drifts (BusyBox ntpd never writes maxerror), and chrony without `rtcsync` leaves
//! `STA_UNSYNC` set. Asking a server settles it: the clock verdict then rests on the measured
//! offset. The wire format is in [`crate::parse::sntp`]; here is the socket: a connected UDP
//! socket (the kernel drops datagrams from any other address), one request, replies read until
//! one matches our transmit timestamp or the time is up. No answer is `timeout`, never a
//! failure of the run.

use rustix::fd::AsFd;
use rustix::net::{self, RecvFlags, SendFlags};

use crate::parse::addr;
use crate::parse::sntp::{self, Reply};
use crate::record::SntpFailure as Failure;

/// The longest wait for the answer (less when the run's deadline is nearer).
pub const WAIT_MS: u64 = 1000;

/// [`measure`], with `/etc/hosts` read (into `hosts_buf`) only when `server` is a name that
/// needs it.
pub fn measure_named(
    server: &[u8],
    wait_ms: u64,
    hosts_buf: &mut [u8; super::fs::HOSTS_CAP],
) -> Result<Reply, Failure> {
    let measured = measure(server, None, wait_ms);
    if !matches!(measured, Err(Failure::Unresolved)) {
        return measured;
    }
    measure(server, Some(super::fs::read_hosts(hosts_buf)), wait_ms)
}

/// Sends one request to `server` and waits at most `wait_ms` for a valid answer.
pub fn measure(server: &[u8], hosts: Option<&[u8]>, wait_ms: u64) -> Result<Reply, Failure> {
    let mut buf = [0u8; addr::SERVER_CAP];
    let target = addr::with_ntp_port(server, &mut buf).ok_or(Failure::Unresolved)?;
    let addr = addr::resolve(target, hosts).map_err(|_| Failure::Unresolved)?;
    let os = |e: rustix::io::Errno| Failure::Os(e.raw_os_error());
    let fd = crate::sys::udp_socket(&addr).map_err(os)?;
    net::connect(&fd, &crate::sys::kernel_addr(&addr)).map_err(os)?;
    let t1 = crate::sys::wall_ns();
    let request = sntp::request(t1);
    net::send(&fd, &request, SendFlags::empty()).map_err(os)?;
    let deadline = crate::sys::monotonic_ms().saturating_add(wait_ms);
    let mut last = Failure::Timeout;
    loop {
        let left = deadline.saturating_sub(crate::sys::monotonic_ms());
        if left == 0 {
            return Err(last);
        }
        if !crate::sys::poll_readable(fd.as_fd(), left) {
            continue;
        }
        let mut reply = [0u8; 128];
        match net::recv(&fd, &mut reply, RecvFlags::DONTWAIT) {
            Ok((n, _)) => {
                let t4 = crate::sys::wall_ns();
                match sntp::parse_reply(reply.get(..n).unwrap_or(&[]), &request, t1, t4) {
                    Ok(r) => return Ok(r),
                    Err(e) => last = Failure::Wire(e),
                }
            }
            // ECONNREFUSED: nothing listens there (an ICMP port unreachable came back).
            Err(e) if e != rustix::io::Errno::AGAIN && e != rustix::io::Errno::INTR => {
                return Err(os(e))
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_listening_is_a_clean_failure() {
        let free = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let server = format!("127.0.0.1:{port}");
        let r = measure(server.as_bytes(), None, 300);
        assert!(
            matches!(r, Err(Failure::Os(111)) | Err(Failure::Timeout)),
            "{r:?}"
        );
        assert_eq!(
            measure(b"no.such.name", Some(b""), 300),
            Err(Failure::Unresolved)
        );
    }

    #[test]
    fn a_silent_server_is_a_timeout() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap().to_string();
        let started = std::time::Instant::now();
        assert_eq!(measure(server.as_bytes(), None, 300), Err(Failure::Timeout));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
