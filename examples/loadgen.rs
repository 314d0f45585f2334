//! Load generator for `nodepulse-collector` (tests/bench_collector.sh): sends realistic `np1`
//! records (about 420 bytes, the fixture node's checks) from N synthetic hosts over UDP.
//!
//!     cargo run --release --example loadgen -- --to 127.0.0.1:8089 --hosts 100000 \
//!         [--count N] [--rate PER_S] [--duration S] [--start K]
//!
//! Hosts are `synth-NNNNNNN` in turn, starting at K (default 0). With `--rate` the sends are
//! paced in batches of 32; without it they go as fast as `sendmmsg` allows. Prints
//! `sent N in S s (R/s)`.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SUFFIX: &str = " st=ok up=86400 load=0.12,0.34,0.56 boot=0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 clock=ok,sd:y,ne:y,ks:0,kf:2001,off_us:-12,ppm:-3.125,maxe_ms:12,este_ms:0,tai:37 ntp=ok,d:chronyd,age_s:none linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:inv,pid:812,start_cs:98765 disk./=ok,mb:258019,free_mb:80719,use:69,ino:3 mem=ok,mb:976,avail_mb:585,swap_mb:100,swfree_mb:97\n";

const BATCH: usize = 32;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let to: SocketAddr = arg(&args, "--to")
        .expect("--to ADDR:PORT")
        .parse()
        .expect("--to: an address");
    let hosts: u64 = arg(&args, "--hosts").map_or(100_000, |v| v.parse().unwrap());
    let start: u64 = arg(&args, "--start").map_or(0, |v| v.parse().unwrap());
    let rate: u64 = arg(&args, "--rate").map_or(0, |v| v.parse().unwrap());
    let duration = arg(&args, "--duration").map(|v| Duration::from_secs_f64(v.parse().unwrap()));
    let count: u64 = match (arg(&args, "--count"), duration) {
        (Some(c), _) => c.parse().unwrap(),
        (None, Some(d)) if rate > 0 => (rate as f64 * d.as_secs_f64()) as u64,
        _ => hosts,
    };

    let sock = UdpSocket::bind(if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).unwrap();
    sock.connect(to).unwrap();
    let fd = sock.as_raw_fd();
    // One template per batch slot; the host number and t are patched in place.
    const HOST_AT: usize = "np1 host=synth-".len();
    const T_AT: usize = HOST_AT + 7 + " t=".len();
    let template = format!("np1 host=synth-0000000 t=0000000000000{SUFFIX}");
    let len = template.len();
    let mut bufs = vec![[0u8; 512]; BATCH];
    for b in &mut bufs {
        b[..len].copy_from_slice(template.as_bytes());
    }
    let lens = [len; BATCH];
    fn digits(out: &mut [u8], mut v: u64) {
        for d in out.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let began = Instant::now();
    let mut sent: u64 = 0;
    while sent < count {
        if let Some(d) = duration {
            if began.elapsed() >= d && rate == 0 {
                break;
            }
        }
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let n = BATCH.min((count - sent) as usize);
        for (i, buf) in bufs.iter_mut().enumerate().take(n) {
            let host = start + (sent + i as u64) % hosts;
            digits(&mut buf[HOST_AT..HOST_AT + 7], host);
            digits(&mut buf[T_AT..T_AT + 13], t as u64);
        }
        let mut iov: Vec<libc::iovec> = (0..n)
            .map(|i| libc::iovec {
                iov_base: bufs[i].as_mut_ptr().cast(),
                iov_len: lens[i],
            })
            .collect();
        let mut hdrs: Vec<libc::mmsghdr> = (0..n)
            .map(|i| {
                // SAFETY: all-zero is a valid mmsghdr (connected socket: no name).
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_iov = &mut iov[i];
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        let mut done = 0;
        while done < n {
            // SAFETY: `hdrs[done..]` are valid headers over live buffers.
            let rc = unsafe {
                libc::sendmmsg(fd, hdrs[done..].as_mut_ptr(), (n - done) as libc::c_uint, 0)
            };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // ECONNREFUSED from an earlier ICMP error: go on.
                if e.raw_os_error() == Some(libc::ECONNREFUSED) {
                    continue;
                }
                panic!("sendmmsg: {e}");
            }
            done += rc as usize;
        }
        sent += n as u64;
        if rate > 0 {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            let el = began.elapsed();
            if due > el {
                std::thread::sleep(due - el);
            }
        }
    }
    let secs = began.elapsed().as_secs_f64();
    println!(
        "sent {sent} in {secs:.3} s ({:.0}/s)",
        sent as f64 / secs.max(1e-9)
    );
}
