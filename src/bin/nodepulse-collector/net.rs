//! The system calls std does not offer: UDP sockets with `IPV6_V6ONLY` and a large receive
//! buffer, `recvmmsg` batches, `poll`, and SIGTERM/SIGINT into a flag.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGTERM and SIGINT set a flag (no `SA_RESTART`: `poll` returns at once).
pub fn install_signals() -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic, which is
        // async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Blocks SIGTERM and SIGINT in this thread (the threads it starts inherit that); the returned
/// function unblocks them again here, so that only this thread takes them.
pub fn block_signals() -> impl FnOnce() {
    // SAFETY: a zeroed sigset_t is filled by sigemptyset; pthread_sigmask only reads `set`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        move || {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

pub fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

fn get_int(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes of the sizes given.
    check(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// A non-blocking UDP socket bound to `addr` (IPv6 sockets are IPv6-only, so `0.0.0.0:P` and
/// `[::]:P` can both be bound), with a receive buffer of `rcvbuf` bytes if the kernel allows
/// (`SO_RCVBUFFORCE` as root, else `SO_RCVBUF` up to `net.core.rmem_max`). Returns the socket
/// and the buffer size the kernel reports. With `reuseport`, `SO_REUSEPORT`: the ingest threads'
/// sockets share the address, and the kernel hands each sender (source address and port) to
/// one of them.
pub fn udp_bind(
    addr: SocketAddr,
    rcvbuf: usize,
    reuseport: bool,
) -> io::Result<(UdpSocket, usize)> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain system call.
    let fd = check(unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: `fd` is a fresh socket we own; UdpSocket closes it on drop (also on error below).
    let sock = unsafe { UdpSocket::from_raw_fd(fd) };
    if rcvbuf > 0 {
        let want = libc::c_int::try_from(rcvbuf / 2).unwrap_or(libc::c_int::MAX / 2);
        if set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, want).is_err() {
            let _ = set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, want);
        }
    }
    if reuseport {
        set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sin` is a valid sockaddr_in of the size passed.
            check(unsafe {
                libc::bind(
                    fd,
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            })?;
        }
        SocketAddr::V6(a) => {
            set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
            // SAFETY: all-zero is a valid sockaddr_in6; the fields are then set.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: `sin6` is a valid sockaddr_in6 of the size passed.
            check(unsafe {
                libc::bind(
                    fd,
                    (&sin6 as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            })?;
        }
    }
    let got = get_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).unwrap_or(0);
    Ok((sock, usize::try_from(got).unwrap_or(0)))
}

/// Receive buffers for one `recvmmsg` call.
pub struct Batch {
    size: usize,
    bufs: Vec<u8>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    n: usize,
}

impl Batch {
    /// `count` datagrams of up to `size` bytes each.
    pub fn new(count: usize, size: usize) -> Batch {
        Batch {
            size,
            bufs: vec![0; count * size],
            iov: Vec::with_capacity(count),
            hdrs: Vec::with_capacity(count),
            n: 0,
        }
    }

    /// Receives up to `count` datagrams without blocking; 0 when none is waiting.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let count = self.bufs.len() / self.size;
        self.iov.clear();
        self.hdrs.clear();
        let base = self.bufs.as_mut_ptr();
        for i in 0..count {
            self.iov.push(libc::iovec {
                // SAFETY: `i * size` is within `bufs`.
                iov_base: unsafe { base.add(i * self.size) }.cast(),
                iov_len: self.size,
            });
        }
        for i in 0..count {
            // SAFETY: all-zero is a valid mmsghdr (null name, no control data).
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            // SAFETY: `i < count == iov.len()`.
            h.msg_hdr.msg_iov = unsafe { self.iov.as_mut_ptr().add(i) };
            h.msg_hdr.msg_iovlen = 1;
            self.hdrs.push(h);
        }
        // SAFETY: `hdrs` holds `count` headers whose iovecs point into `bufs`, all of which stay
        // alive and unmoved for the call.
        let rc = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT as _,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            self.n = 0;
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        self.n = rc as usize;
        Ok(self.n)
    }

    /// Datagram `i` of the last call and whether the kernel truncated it.
    pub fn get(&self, i: usize) -> (&[u8], bool) {
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(self.size);
        let start = i * self.size;
        let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        (&self.bufs[start..start + len], truncated)
    }
}

/// Waits until one of `fds` is readable or `timeout_ms` passes (or a signal arrives).
pub fn poll_readable(fds: &[RawFd], timeout_ms: i32) {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `pfds` is a valid array of `len` pollfds.
    unsafe {
        libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms);
    }
}

/// CPU time used by this process, seconds (user + system), for the log.
pub fn cpu_seconds() -> f64 {
    // SAFETY: all-zero is a valid rusage, filled by the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid for writes.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
