//! A real SNTP server for the tests: Debian's `chronyd`, on 127.0.0.1 and a free UDP port,
//! answering from its own clock (`local stratum 8`) and never touching this machine's (`-x`).
//!
//! Every file chronyd writes (drift, pid) is in a temporary directory; its command port and
//! command socket are off. It runs in the foreground (`-d`, log on stderr, kept in the
//! directory) as root without dropping privileges (`-u root`), and exits by itself after
//! `-t 300` s should a killed test leave it behind.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nodepulse::parse::sntp;

const CHRONYD: &str = "/usr/sbin/chronyd";
/// The stratum chronyd is configured with; it sends it unchanged in its replies.
pub const STRATUM: u8 = 8;

/// A running chronyd, killed on drop.
pub struct Chronyd {
    pub port: u16,
    child: Child,
    dir: common::TempDir,
}

impl Chronyd {
    /// Starts chronyd and waits (at most 10 s) until it answers an SNTP request.
    pub fn start() -> Chronyd {
        assert!(
            Path::new(CHRONYD).exists(),
            "{CHRONYD} missing: install Debian's chrony (apt-get install -y chrony); it is a required test peer"
        );
        let dir = common::TempDir::new("chronyd");
        let port = common::free_udp_port();
        let conf = format!(
            "port {port}\n\
             bindaddress 127.0.0.1\n\
             allow 127.0.0.1\n\
             local stratum {STRATUM}\n\
             cmdport 0\n\
             bindcmdaddress /\n\
             driftfile {drift}\n\
             pidfile {pid}\n\
             logdir {dir}\n\
             dumpdir {dir}\n",
            drift = dir.str("drift"),
            pid = dir.str("chronyd.pid"),
            dir = dir.path().display(),
        );
        std::fs::write(dir.join("chrony.conf"), conf).unwrap();
        let log = std::fs::File::create(dir.join("chronyd.log")).unwrap();
        let child = Command::new(CHRONYD)
            .args(["-x", "-d", "-t", "300", "-u", "root", "-f"])
            .arg(dir.join("chrony.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHRONYD}: {e}; install Debian's chrony"));
        let mut peer = Chronyd { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if peer.query().is_some() {
                return peer;
            }
            if let Some(status) = peer.child.try_wait().unwrap() {
                panic!(
                    "chronyd exited ({status}) before answering:\n{}",
                    peer.log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "chronyd did not answer on 127.0.0.1:{port} within 10 s:\n{}",
                    peer.log()
                );
            }
        }
    }

    /// One SNTP exchange: the reply parsed against the request, or `None` on timeout (200 ms).
    pub fn query(&self) -> Option<Result<sntp::Reply, sntp::Error>> {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let t1 = now_ns();
        let sent = sntp::request(t1);
        sock.send_to(&sent, ("127.0.0.1", self.port)).ok()?;
        let mut buf = [0u8; 512];
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let t4 = now_ns();
        Some(sntp::parse_reply(&buf[..n], &sent, t1, t4))
    }

    /// What chronyd has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("chronyd.log")).unwrap_or_default()
    }
}

impl Drop for Chronyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn chronyd_answers_sntp_on_loopback() {
    let peer = Chronyd::start();
    let reply = peer
        .query()
        .unwrap_or_else(|| panic!("no reply from chronyd:\n{}", peer.log()))
        .unwrap_or_else(|e| panic!("chronyd's reply rejected: {}\n{}", e.as_str(), peer.log()));
    assert_eq!(reply.stratum, STRATUM, "{reply:?}");
    assert_eq!(reply.version, 4, "{reply:?}");
    assert_eq!(reply.leap, 0, "{reply:?}");
    assert!(reply.offset_ns.abs() < 1_000_000_000, "{reply:?}");
    assert!((0..1_000_000_000).contains(&reply.delay_ns), "{reply:?}");
}

/// The agent's `--ntp-server` against the real chronyd: the measured offset is in the record and
/// the clock verdict rests on it, whatever the kernel's flags say (this machine's kernel clock
/// reports unsynchronized).
#[test]
fn the_agent_measures_its_offset_from_chronyd_and_judges_the_clock_by_it() {
    let chronyd = Chronyd::start();
    let server = format!("127.0.0.1:{}", chronyd.port);
    let r = common::run(&["--only", "clock", "--ntp-server", &server]);
    let clock =
        common::token(&r.stdout, "clock").unwrap_or_else(|| panic!("{r:?}\n{}", chronyd.log()));
    let off: i64 = common::field(clock, "ntp_off_us")
        .unwrap_or_else(|| panic!("{clock}\n{}", chronyd.log()))
        .parse()
        .unwrap();
    let rtt: i64 = common::field(clock, "ntp_rtt_us").unwrap().parse().unwrap();
    assert!(
        off.abs() < 1_000_000 && (0..1_000_000).contains(&rtt),
        "{clock}"
    );
    assert_eq!(common::field(clock, "ntp_st"), Some("8"));
    assert!(
        clock.starts_with("ok,"),
        "a small measured offset is OK even on an unsynced kernel: {clock}"
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    // Every format carries the measurement (one field table): JSON numbers, a Prometheus gauge.
    let r = common::run(&[
        "--only",
        "clock",
        "--ntp-server",
        &server,
        "--format",
        "json",
    ]);
    let clock_json = r
        .stdout
        .split("\"clock\":")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(clock_json.contains("\"ntp_stratum\":8"), "{}", r.stdout);
    assert!(clock_json.contains("\"ntp_error\":null"), "{}", r.stdout);
    let r = common::run(&[
        "--only",
        "clock",
        "--ntp-server",
        &server,
        "--format",
        "prom",
    ]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l == "nodepulse_clock_ntp_stratum 8"),
        "{}",
        r.stdout
    );
    let offset_s: f64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("nodepulse_clock_ntp_offset_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(offset_s.abs() < 1.0, "{}", r.stdout);
    // The thresholds apply to the measured offset.
    let r = common::run(&[
        "--only",
        "clock",
        "--ntp-server",
        &server,
        "--ntp-offset-warn-ms",
        "0",
    ]);
    assert!(
        common::token(&r.stdout, "clock")
            .unwrap()
            .starts_with("warn:ntp-offset,"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 1);
    // A config file line works like the flag.
    let dir = common::TempDir::new("ntpcfg");
    std::fs::write(
        dir.join("conf"),
        format!("ntp-server = {server}\nonly = clock\n"),
    )
    .unwrap();
    let r = common::run(&["--config", &dir.str("conf")]);
    assert!(
        common::field(common::token(&r.stdout, "clock").unwrap(), "ntp_st") == Some("8"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_silent_or_absent_ntp_server_is_unknown_for_that_field_not_a_failed_run() {
    // A socket that never answers: the request is sent, the wait ends at 1 s.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let r = common::run(&["--only", "clock,system", "--ntp-server", &server]);
    let took = started.elapsed();
    let clock = common::token(&r.stdout, "clock").unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(common::field(clock, "ntp"), Some("timeout"), "{clock}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The kernel's flags decide then, as without --ntp-server.
    assert!(!clock.contains("ntp-offset"), "{clock}");
    assert!(
        r.stdout.starts_with("np1 ") && r.stderr.is_empty() && r.code <= 3,
        "{r:?}"
    );
    // Nothing listens: the same, at once.
    drop(silent);
    let r = common::run(&["--only", "clock", "--ntp-server", &server]);
    let clock = common::token(&r.stdout, "clock").unwrap();
    assert!(
        matches!(
            common::field(clock, "ntp"),
            Some("socket") | Some("timeout")
        ),
        "{clock}"
    );
    // Not an address: one line on stderr, exit 3.
    let r = common::run(&["--ntp-server", "[::1"]);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""));
    assert_eq!(
        r.stderr,
        "nodepulse: --ntp-server: expected ADDR[:PORT], got '[::1'\n"
    );
}
