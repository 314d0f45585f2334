//! Load generator for `nodepulse-collector` (tests/bench_collector.sh): sends realistic `np1`
//! records (about 420 bytes, the fixture node's checks) from N synthetic hosts over UDP.
//!
//!     cargo run --release --example loadgen -- --to 127.0.0.1:8089 --hosts 100000 \
//!         [--count N] [--rate PER_S] [--duration S] [--start K] [--format np1|influx]
//!
//! Hosts are `synth-NNNNNNN` in turn, starting at K (default 0). With `--rate` the sends are
//! paced in batches of 32; without it they go as fast as `sendmmsg` allows. Prints
//! `sent N in S s (R/s)`.
//!
//! `--format influx` sends the same record as the agent's InfluxDB line protocol (its
//! `--format influx`: one line per check, [`INFLUX_LINES`] lines, one datagram per record), the
//! benchmark's anchor for a time-series database's UDP ingest of the same data.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SUFFIX: &str = " st=ok up=86400 load=0.12,0.34,0.56 boot=0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 clock=ok,sd:y,ne:y,ks:0,kf:2001,off_us:-12,ppm:-3.125,maxe_ms:12,este_ms:0,tai:37 ntp=ok,d:chronyd,age_s:none linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:inv,pid:812,start_cs:98765 disk./=ok,mb:258019,free_mb:80719,use:69,ino:3 mem=ok,mb:976,avail_mb:585,swap_mb:100,swfree_mb:97\n";

/// The same record as the agent's `--format influx` lines (`HOST` and `T_NS` are filled in).
const INFLUX: &str = "\
nodepulse,check=node,host=HOST status=0i,uptime_s=86400i,load1=0.12,load5=0.34,load15=0.56,boot_id=\"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c\",kernel=\"6.1.0-28-arm64\",arch=\"aarch64\" T_NS
nodepulse,check=clock,host=HOST status=0i,sync=\"systemd\",sd_synced=true,ne_synced=true,kstate=0i,kstatus=8193i,offset_us=-12i,freq_ppm=-3.125,maxerror_us=12000i,esterror_us=0i,tai_s=37i T_NS
nodepulse,check=timesync,host=HOST status=0i,daemon=\"chronyd\" T_NS
nodepulse,check=linger,host=HOST,user=node status=0i,uid=1000i,linger=\"on\",state=\"lingering\" T_NS
nodepulse,check=service,host=HOST,service=openclaw-node,user=node status=0i,via=\"inv\",pid=812i,start_cs=98765i,restarted=false T_NS
nodepulse,check=disk,host=HOST,mount=/ status=0i,size_bytes=270553174016i,avail_bytes=84640000000i,used_pct=69i,inodes_used_pct=3i,read_only=false T_NS
nodepulse,check=memory,host=HOST status=0i,total_bytes=1023410176i,avail_bytes=613416960i,swap_total_bytes=104857600i,swap_free_bytes=101711872i,avail_estimated=false T_NS
";
/// Lines (rows) per record in `--format influx`.
pub const INFLUX_LINES: usize = 7;

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
    // One template per batch slot; the host numbers and times are patched in place.
    let influx = match arg(&args, "--format").as_deref() {
        None | Some("np1") => false,
        Some("influx") => true,
        Some(f) => panic!("--format {f}: np1 or influx"),
    };
    let (template, host_at, t_at, t_len) = if influx {
        let t = INFLUX
            .replace("HOST", "synth-0000000")
            .replace("T_NS", "0000000000000000000");
        let hosts: Vec<usize> = t.match_indices("synth-").map(|(i, _)| i + 6).collect();
        let times: Vec<usize> = t
            .match_indices(" 0000000000000000000\n")
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!((hosts.len(), times.len()), (INFLUX_LINES, INFLUX_LINES));
        (t, hosts, times, 19)
    } else {
        const HOST_AT: usize = "np1 host=synth-".len();
        const T_AT: usize = HOST_AT + 7 + " t=".len();
        let t = format!("np1 host=synth-0000000 t=0000000000000{SUFFIX}");
        (t, vec![HOST_AT], vec![T_AT], 13)
    };
    let len = template.len();
    let mut bufs = vec![[0u8; 1500]; BATCH];
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
            let t = if influx { t * 1_000_000 } else { t };
            for &at in &host_at {
                digits(&mut buf[at..at + 7], host);
            }
            for &at in &t_at {
                digits(&mut buf[at..at + t_len], t as u64);
            }
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
