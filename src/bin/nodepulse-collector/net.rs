//! The system calls std does not offer: UDP sockets with `IPV6_V6ONLY` and a large receive
//! buffer, the `SO_REUSEPORT` group's BPF spread (by host name or by CPU), CPU affinity,
//! `recvmmsg` batches, `poll`, and SIGTERM/SIGINT into a flag.

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

use crate::table::SHARDS;

/// Offset of a host name in an `np1` record: after `np1 host=`.
const HOST_AT: u32 = 9;
/// Bytes of a host name the program reads (one more than the longest kept name, for its space).
const HOST_READ: u32 = crate::ingest::MAX_HOST as u32 + 1;
const FNV_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;
const MIX: u32 = 0x045d_9f3b;

/// The hash of a host name (its `np1` key, percent-encoded) that both the kernel, through
/// [`spread_by_host`]'s program, and the table ([`crate::table`]) use: FNV-1a over its first
/// [`HOST_READ`] bytes, mixed so that the low bits depend on every byte. The table's shard of
/// a host is `host_hash % SHARDS`, and its socket `shard % sockets`: each ingest thread takes
/// the hosts of its own shards, so two threads never want the same shard (nor its cache lines).
pub fn host_hash(host: &[u8]) -> u32 {
    let mut h = FNV_BASIS;
    for &b in host.iter().take(HOST_READ as usize) {
        h = (h ^ u32::from(b)).wrapping_mul(FNV_PRIME);
    }
    h ^= h >> 16;
    h = h.wrapping_mul(MIX);
    h ^ (h >> 16)
}

/// The socket of `count` that [`spread_by_host`]'s program picks for an `np1` record of `host`.
#[cfg(test)]
pub fn socket_of(host: &[u8], count: u32) -> u32 {
    if count <= SHARDS as u32 {
        (host_hash(host) % SHARDS as u32) % count
    } else {
        host_hash(host) % count
    }
}

/// One classic BPF instruction.
fn op(code: u32, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// A classic BPF program for `SO_ATTACH_REUSEPORT_CBPF`: the kernel runs it on each datagram
/// for the port (from the UDP payload on) and gives the datagram to the socket it returns. For
/// an `np1` record (`np1 host=NAME ...`) that is the socket of its name's shard ([`host_hash`]
/// modulo [`SHARDS`], modulo `count`; with more sockets than shards, the hash modulo `count`);
/// anything else returns
/// an index past the group, and the kernel picks by source address and port as without it.
fn host_program(count: u32) -> Vec<libc::sock_filter> {
    use libc::{
        BPF_A, BPF_ABS, BPF_ALU, BPF_AND, BPF_B, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD,
        BPF_LDX, BPF_MISC, BPF_MOD, BPF_MUL, BPF_RET, BPF_RSH, BPF_TAX, BPF_TXA, BPF_W, BPF_X,
        BPF_XOR,
    };
    // Prologue: `np1 `, `host`, `=`, else the kernel's choice.
    let mut p = vec![
        op(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0),
        op(
            BPF_JMP | BPF_JEQ | BPF_K,
            1,
            0,
            u32::from_be_bytes(*b"np1 "),
        ),
        op(BPF_RET | BPF_K, 0, 0, u32::MAX),
        op(BPF_LD | BPF_W | BPF_ABS, 0, 0, 4),
        op(
            BPF_JMP | BPF_JEQ | BPF_K,
            1,
            0,
            u32::from_be_bytes(*b"host"),
        ),
        op(BPF_RET | BPF_K, 0, 0, u32::MAX),
        op(BPF_LD | BPF_B | BPF_ABS, 0, 0, 8),
        op(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, u32::from(b'=')),
        op(BPF_RET | BPF_K, 0, 0, u32::MAX),
        op(BPF_LDX | BPF_W | BPF_IMM, 0, 0, FNV_BASIS),
    ];
    // X = FNV-1a over the name, one byte at a time until its space (a load past the end of a
    // short datagram ends the program with 0: socket 0). The loop is unrolled: 6 instructions
    // a byte, and the `ja` to the end because a conditional jump reaches only 255 ahead.
    let body = 6;
    for i in 0..HOST_READ {
        let left = (HOST_READ - 1 - i) * body;
        p.push(op(BPF_LD | BPF_B | BPF_ABS, 0, 0, HOST_AT + i));
        p.push(op(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, u32::from(b' ')));
        p.push(op(BPF_JMP | BPF_JA, 0, 0, left + 3));
        p.push(op(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0));
        p.push(op(BPF_ALU | BPF_MUL | BPF_K, 0, 0, FNV_PRIME));
        p.push(op(BPF_MISC | BPF_TAX, 0, 0, 0));
    }
    // Mix (so that the low bits depend on every byte), then the shard, then its socket.
    p.extend([
        op(BPF_MISC | BPF_TXA, 0, 0, 0),
        op(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16),
        op(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0),
        op(BPF_ALU | BPF_MUL | BPF_K, 0, 0, MIX),
        op(BPF_MISC | BPF_TAX, 0, 0, 0),
        op(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16),
        op(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0),
    ]);
    // More sockets than shards: by the hash alone (every socket gets its share).
    if count <= SHARDS as u32 {
        p.push(op(BPF_ALU | BPF_AND | BPF_K, 0, 0, SHARDS as u32 - 1));
    }
    p.push(op(BPF_ALU | BPF_MOD | BPF_K, 0, 0, count));
    p.push(op(BPF_RET | BPF_A, 0, 0, 0));
    p
}

/// Makes the kernel spread the datagrams for `sock`'s `SO_REUSEPORT` group (its `count`
/// sockets, bound in order) by the record's host name instead of by the sender's address and
/// port: one host's records always reach the same socket, and the hosts are spread evenly
/// however few senders carry them (a relay, a few load generators).
pub fn spread_by_host(sock: &UdpSocket, count: usize) -> io::Result<()> {
    attach_reuseport_program(sock, host_program(group_size(count)?))
}

/// Makes the kernel give each datagram for `sock`'s `SO_REUSEPORT` group (its `count`
/// sockets, bound in order) to socket `cpu % count`, `cpu` being the CPU that received it:
/// the CPU its buffer was allocated on, where it is freed without a cross-CPU call when the
/// socket's thread runs there too ([`pin_to_share`]).
pub fn spread_by_cpu(sock: &UdpSocket, count: usize) -> io::Result<()> {
    use libc::{BPF_A, BPF_ABS, BPF_ALU, BPF_K, BPF_LD, BPF_MOD, BPF_RET, BPF_W};
    let cpu = (libc::SKF_AD_OFF + libc::SKF_AD_CPU) as u32;
    let program = vec![
        op(BPF_LD | BPF_W | BPF_ABS, 0, 0, cpu),
        op(BPF_ALU | BPF_MOD | BPF_K, 0, 0, group_size(count)?),
        op(BPF_RET | BPF_A, 0, 0, 0),
    ];
    attach_reuseport_program(sock, program)
}

/// `count` sockets as the programs take it: 1 to `u32::MAX`.
fn group_size(count: usize) -> io::Result<u32> {
    u32::try_from(count)
        .ok()
        .filter(|&c| c > 0)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Attaches `program` to `sock`'s `SO_REUSEPORT` group (`SO_ATTACH_REUSEPORT_CBPF`).
fn attach_reuseport_program(
    sock: &UdpSocket,
    mut program: Vec<libc::sock_filter>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: `fprog` points to `program`, alive for the call; the kernel copies the program.
    check(unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// The CPUs this process may run on (`sched_getaffinity`), in order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: a zeroed `cpu_set_t` is the empty set; the kernel fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of its size.
    check(unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) })?;
    let bits = 8 * std::mem::size_of_val(&set);
    // SAFETY: CPU_ISSET reads the set within its size (`cpu < bits`).
    Ok((0..bits)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// The CPUs of `allowed` whose datagrams [`spread_by_cpu`] gives to socket `index` of `count`:
/// those with `cpu % count == index`.
pub fn share_of(allowed: &[usize], index: usize, count: usize) -> Vec<usize> {
    (allowed.iter().copied())
        .filter(|cpu| count > 0 && cpu % count == index)
        .collect()
}

/// Pins the calling thread to `cpus` (`sched_setaffinity`); nothing to do when it is empty.
pub fn pin_to_share(cpus: &[usize]) -> io::Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    // SAFETY: a zeroed `cpu_set_t` is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: CPU_SET writes within the set (it ignores a CPU past its size).
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid `cpu_set_t` of its size.
    check(unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) }).map(|_| ())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What each of `socks` has queued, datagrams as text.
    fn drain(socks: &[UdpSocket]) -> Vec<Vec<String>> {
        socks
            .iter()
            .map(|s| {
                let mut got = Vec::new();
                let mut buf = [0u8; 2048];
                while let Ok(n) = s.recv(&mut buf) {
                    got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
                got
            })
            .collect()
    }

    #[test]
    fn each_datagram_goes_to_the_socket_of_the_cpu_that_received_it() {
        const COUNT: usize = 2;
        let (first, _) = udp_bind("127.0.0.1:0".parse().unwrap(), 1 << 20, true).unwrap();
        let addr = first.local_addr().unwrap();
        let socks = [first, udp_bind(addr, 1 << 20, true).unwrap().0];
        spread_by_cpu(&socks[0], COUNT).unwrap();
        // On loopback the sending CPU receives too: a sender pinned to CPU c hands its
        // datagrams to socket c % 2, whatever its address and port.
        let cpus = allowed_cpus().unwrap();
        assert!(!cpus.is_empty());
        for &cpu in &cpus {
            std::thread::spawn(move || {
                pin_to_share(&[cpu]).unwrap();
                let from = UdpSocket::bind("127.0.0.1:0").unwrap();
                for i in 0..50 {
                    from.send_to(format!("np1 host=h{i} cpu={cpu}").as_bytes(), addr)
                        .unwrap();
                }
            })
            .join()
            .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let got = drain(&socks);
        assert_eq!(got.iter().map(Vec::len).sum::<usize>(), 50 * cpus.len());
        for (i, records) in got.iter().enumerate() {
            for r in records {
                let cpu: usize = r.rsplit_once("cpu=").unwrap().1.parse().unwrap();
                assert_eq!(cpu % COUNT, i, "{r} on socket {i}");
            }
        }
    }

    #[test]
    fn each_thread_gets_the_cpus_whose_datagrams_it_takes() {
        assert_eq!(share_of(&[0, 1, 2, 3], 0, 2), [0, 2]);
        assert_eq!(share_of(&[0, 1, 2, 3], 1, 2), [1, 3]);
        // A cpuset that starts past 0: CPU numbers, not positions.
        assert_eq!(share_of(&[2, 3], 0, 2), [2]);
        assert_eq!(share_of(&[5], 0, 2), Vec::<usize>::new());
        assert_eq!(share_of(&[0, 1], 2, 3), Vec::<usize>::new());
        assert_eq!(share_of(&[0, 1], 0, 0), Vec::<usize>::new());
    }

    #[test]
    fn one_sender_is_spread_by_host_name() {
        spread_over(3);
        spread_over(SHARDS + 2);
    }

    fn spread_over(socks: usize) {
        let (first, _) = udp_bind("127.0.0.1:0".parse().unwrap(), 1 << 20, true).unwrap();
        let addr = first.local_addr().unwrap();
        let count = socks;
        let mut socks = vec![first];
        for _ in 1..count {
            socks.push(udp_bind(addr, 1 << 20, true).unwrap().0);
        }
        spread_by_host(&socks[1], count).unwrap();
        // One sender (one address and port): the kernel alone would give all to one socket.
        let from = UdpSocket::bind("127.0.0.1:0").unwrap();
        let long = "h".repeat(255);
        let mut hosts: Vec<String> = (0..100 * count).map(|i| format!("edge-{i}")).collect();
        hosts.extend(["a".to_string(), "%FF%20x".to_string(), long]);
        for round in 0..2 {
            for h in &hosts {
                let record = format!("np1 host={h} t={round} st=ok\n");
                from.send_to(record.as_bytes(), addr).unwrap();
            }
        }
        // Not np1, or cut short before the name's end: the kernel's choice, or socket 0.
        for other in [
            "{\"v\":\"np1\",\"host\":\"j\"}",
            "np1 host=short",
            "np2 host=x t=1",
            "np",
        ] {
            from.send_to(other.as_bytes(), addr).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let got = drain(&socks);
        assert_eq!(got.iter().map(Vec::len).sum::<usize>(), 2 * hosts.len() + 4);
        for (i, records) in got.iter().enumerate() {
            let mine = records
                .iter()
                .filter_map(|r| r.strip_prefix("np1 host=")?.split_once(' '))
                .map(|(h, _)| h)
                .collect::<Vec<_>>();
            // Every host's two records on the socket its name picks, and each socket a share.
            for h in &mine {
                assert_eq!(socket_of(h.as_bytes(), count as u32) as usize, i, "{h}");
            }
            // Twice 100 hosts each on average.
            assert!(mine.len() > 100, "socket {i} of {count}: {}", mine.len());
        }
        assert!(got[0].iter().any(|r| r == "np1 host=short"));
    }
}
