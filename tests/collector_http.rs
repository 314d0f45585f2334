//! `nodepulse-collector --http` and `--alertmanager` against real peers on loopback: a real
//! Prometheus scrapes `/metrics` (and `promtool check metrics` accepts it), headless Chromium
//! renders the page with the offline node first (a screenshot is kept), a real Alertmanager
//! shows and resolves the alerts; idle and never-reading HTTP clients do not delay ingest;
//! planted symlinks at temporary names are never followed and no temporary file survives a
//! restart; a burst does not make a 60 s node offline; `status --help` and `status --connect`'s
//! limits; the README's systemd unit passes `systemd-analyze verify`.
//!
//! Peers (`prometheus`, `promtool`, `prometheus-alertmanager`, `chromium`, `systemd-analyze`)
//! are Debian packages that tests/run.sh installs; a missing one fails the test. Every wait is
//! bounded.

mod common;
use common::{agent_send, free_tcp_port, free_udp_port, http_get, now_ms, sample, tool, TempDir};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COLLECTOR: &str = env!("CARGO_BIN_EXE_nodepulse-collector");

/// A child process killed when dropped, its output in a log file.
struct Proc {
    child: Child,
    log: PathBuf,
    what: String,
}

impl Proc {
    fn start(what: &str, program: &str, args: &[String], log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({program}; the Debian package tests/run.sh installs): {e}"));
        Proc {
            child,
            log,
            what: what.to_string(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn assert_running(&mut self) {
        if let Some(s) = self.child.try_wait().unwrap() {
            panic!("{} exited early ({s}):\n{}", self.what, self.log());
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) },
            0
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no exit within 10 s of SIGTERM",
                self.what
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 50 ms until it gives a value, within `secs`.
fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Collector {
    p: Proc,
    udp: u16,
    http: u16,
}

impl Collector {
    fn start(dir: &TempDir, extra: &[&str]) -> Collector {
        let udp = free_udp_port();
        let http = free_tcp_port();
        let mut args: Vec<String> = vec![
            "--listen".into(),
            format!("127.0.0.1:{udp}"),
            "--http".into(),
            format!("127.0.0.1:{http}"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = dir.join(&format!("collector-{}.log", now_ms()));
        let mut c = Collector {
            p: Proc::start("the collector", COLLECTOR, &args, log),
            udp,
            http,
        };
        wait_for(10, "the collector serving http", || {
            c.p.assert_running();
            http_get(c.http, "/api/v1/nodes").filter(|(code, _)| *code == 200)
        });
        c
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.udp)
    }

    fn send(&self, bytes: &[u8]) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(bytes, self.addr()).unwrap();
    }

    /// `/api/v1/nodes/HOST` as JSON, when the node is known.
    fn node(&self, host: &str) -> Option<serde_json::Value> {
        match http_get(self.http, &format!("/api/v1/nodes/{host}"))? {
            (200, body) => Some(serde_json::from_str(&body).expect("node JSON")),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn prometheus_scrapes_metrics_that_promtool_accepts() {
    let dir = TempDir::new("http-prom");
    let c = Collector::start(&dir, &[]);
    for root in ["systemd-ok", "systemd-ghost", "systemd-linger-off"] {
        agent_send(root, &c.addr());
    }
    c.send(b"\xff not utf-8");
    let body = wait_for(10, "three nodes in /metrics", || {
        let (_, b) = http_get(c.http, "/metrics")?;
        (sample(&b, "nodepulse_fleet_records_accepted_total") == Some(3.0)).then_some(b)
    });
    let check = tool("promtool", &["check", "metrics"], body.as_bytes(), None, 20);
    assert!(
        check.status.success(),
        "promtool check metrics: {}{}\n{body}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        sample(
            &body,
            "nodepulse_fleet_datagrams_dropped_total{reason=\"not_utf8\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "nodepulse_fleet_up{host=\"edge-ghost\"}"),
        Some(1.0)
    );
    assert!(sample(&body, "nodepulse_collector_ingest_batch_datagrams_count").unwrap() >= 1.0);
    for name in [
        "nodepulse_collector_persist_duration_seconds_count",
        "nodepulse_collector_persist_failures_total",
        "nodepulse_collector_http_requests_total",
    ] {
        assert!(sample(&body, name).is_some(), "{name} missing:\n{body}");
    }

    // A real Prometheus scrapes it every second.
    let web = free_tcp_port();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: nodepulse\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            c.http
        ),
    )
    .unwrap();
    let mut prom = Proc::start(
        "prometheus",
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{web}"),
        ],
        dir.join("prometheus.log"),
    );
    let query = |q: &str| -> Option<f64> {
        let (code, body) = http_get(web, &format!("/api/v1/query?query={q}"))?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        if code != 200 {
            return None;
        }
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    wait_for(60, "Prometheus scraping the collector", || {
        prom.assert_running();
        (query("up%7Bjob%3D%22nodepulse%22%7D") == Some(1.0)).then_some(())
    });
    let ghost = wait_for(30, "a fleet series in Prometheus", || {
        query("nodepulse_fleet_status%7Bhost%3D%22edge-ghost%22%7D")
    });
    assert_eq!(ghost, 2.0, "edge-ghost is critical");
    assert_eq!(query("nodepulse_fleet_records_accepted_total"), Some(3.0));
    assert!(query("nodepulse_collector_ingest_batch_datagrams_count").unwrap_or(0.0) >= 1.0);
}

#[test]
fn chromium_renders_the_page_with_the_offline_node_first() {
    let dir = TempDir::new("http-page");
    let c = Collector::start(&dir, &["--interval", "1"]);
    // edge-gone reports, then falls silent: offline after 3 s. The others keep reporting.
    c.send(format!("np1 host=edge-gone t={} st=ok", now_ms()).as_bytes());
    wait_for(15, "edge-gone offline", || {
        for root in ["systemd-ok", "systemd-ghost"] {
            agent_send(root, &c.addr());
        }
        let n = c.node("edge-gone")?;
        (n["up"] == false).then_some(())
    });
    // The others keep reporting while Chromium starts and renders (a loaded machine may take
    // longer than their 3 s to offline): a feeder sends their records every 500 ms until the
    // page is checked.
    let feeding = std::sync::atomic::AtomicBool::new(true);
    std::thread::scope(|scope| {
        let to = c.addr();
        let feeding = &feeding;
        scope.spawn(move || {
            while feeding.load(std::sync::atomic::Ordering::Relaxed) {
                for root in ["systemd-ok", "systemd-ghost"] {
                    agent_send(root, &to);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        });
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_page(&c)));
        feeding.store(false, std::sync::atomic::Ordering::Relaxed);
        if let Err(panic) = checked {
            std::panic::resume_unwind(panic);
        }
    });
}

/// The page of `c` in headless Chromium: the DOM order, then a screenshot.
fn check_page(c: &Collector) {
    let dir = TempDir::new("http-page-chromium");
    let url = format!("http://127.0.0.1:{}/", c.http);
    let chromium = |extra: &[String]| {
        let profile = TempDir::new("chromium-profile");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend_from_slice(extra);
        args.push(url.clone());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tool("chromium", &refs, b"", Some(dir.path()), 90);
        assert!(
            out.status.success(),
            "chromium {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let dom = String::from_utf8(chromium(&["--dump-dom".to_string()]).stdout).unwrap();
    let pos = |h: &str| {
        dom.find(&format!("data-host=\"{h}\""))
            .unwrap_or_else(|| panic!("{h} not in the rendered DOM:\n{dom}"))
    };
    assert!(
        pos("edge-gone") < pos("edge-ghost"),
        "offline node first:\n{dom}"
    );
    assert!(
        pos("edge-ghost") < pos("edge-ok"),
        "problems before healthy nodes:\n{dom}"
    );
    assert!(
        dom.contains("<tr class=\"node offline\" id=\"node-edge-gone\""),
        "{dom}"
    );
    assert!(dom.contains("OFFLINE"));
    assert!(dom.contains("class=\"strip\""));
    // The screenshot is kept for a person to look at.
    let shot = common::repo().join("target/collector-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1400,600".to_string(),
    ]);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5000,
        "{} bytes",
        png.len()
    );
    eprintln!("page screenshot: {}", shot.display());
}

/// Alertmanager's active alerts as (alertname, host) pairs.
fn am_alerts(port: u16) -> Option<Vec<(String, String)>> {
    let (code, body) = http_get(port, "/api/v2/alerts")?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(
        v.as_array()?
            .iter()
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                    a["labels"]["host"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect(),
    )
}

#[test]
fn alertmanager_shows_then_resolves_the_alerts() {
    let dir = TempDir::new("http-am");
    let am_port = free_tcp_port();
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let mut am = Proc::start(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", dir.join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".to_string(),
        ],
        dir.join("alertmanager.log"),
    );
    wait_for(20, "alertmanager ready", || {
        am.assert_running();
        http_get(am_port, "/-/ready").filter(|(code, _)| *code == 200)
    });
    let url = format!("http://127.0.0.1:{am_port}");
    let c = Collector::start(&dir, &["--interval", "1", "--alertmanager", &url]);
    let has = |alerts: &[(String, String)], name: &str, host: &str| {
        alerts.iter().any(|(a, h)| a == name && h == host)
    };

    // A record with linger off arrives: the alert is in Alertmanager.
    agent_send("systemd-linger-off", &c.addr());
    wait_for(15, "NodepulseLingerOff in Alertmanager", || {
        let a = am_alerts(am_port)?;
        has(&a, "NodepulseLingerOff", "edge-lingeroff").then_some(())
    });
    // It falls silent: offline, and that alert appears too.
    wait_for(20, "NodepulseOffline in Alertmanager", || {
        let a = am_alerts(am_port)?;
        has(&a, "NodepulseOffline", "edge-lingeroff").then_some(())
    });
    // It comes back (linger still off): offline resolves, linger off stays.
    let back = Instant::now();
    let alerts = wait_for(20, "NodepulseOffline resolved", || {
        agent_send("systemd-linger-off", &c.addr());
        let a = am_alerts(am_port)?;
        (!has(&a, "NodepulseOffline", "edge-lingeroff")).then_some(a)
    });
    assert!(
        has(&alerts, "NodepulseLingerOff", "edge-lingeroff"),
        "{alerts:?}"
    );
    eprintln!(
        "offline alert resolved {:?} after the node came back",
        back.elapsed()
    );
    let (_, metrics) = http_get(c.http, "/metrics").unwrap();
    assert!(
        sample(
            &metrics,
            "nodepulse_collector_alertmanager_posts_total{result=\"ok\"}"
        )
        .unwrap()
            >= 3.0
    );
    assert_eq!(
        sample(
            &metrics,
            "nodepulse_collector_alertmanager_posts_failed_total"
        ),
        Some(0.0)
    );
}

#[test]
fn a_failing_alertmanager_is_retried_and_counted_without_delaying_ingest() {
    let dir = TempDir::new("http-am-down");
    // Nothing listens there.
    let url = format!("http://127.0.0.1:{}", free_tcp_port());
    let c = Collector::start(&dir, &["--alertmanager", &url]);
    agent_send("systemd-linger-off", &c.addr());
    let t0 = Instant::now();
    wait_for(5, "the record despite the dead Alertmanager", || {
        c.node("edge-lingeroff")
    });
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    let failed = wait_for(10, "a failed POST counted", || {
        let (_, m) = http_get(c.http, "/metrics")?;
        sample(&m, "nodepulse_collector_alertmanager_posts_failed_total").filter(|n| *n >= 2.0)
    });
    // Backoff: 1 s, 2 s, 4 s, ...: not one attempt per second.
    std::thread::sleep(Duration::from_secs(4));
    let (_, m) = http_get(c.http, "/metrics").unwrap();
    let later = sample(&m, "nodepulse_collector_alertmanager_posts_failed_total").unwrap();
    assert!(
        later - failed <= 2.0,
        "{failed} then {later} failures in 4 s"
    );
}

#[test]
fn idle_and_unread_http_clients_do_not_delay_ingest() {
    let dir = TempDir::new("http-hostile");
    let c = Collector::start(&dir, &[]);
    // A fleet big enough that /api/v1/nodes fills a socket's buffers.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = now_ms();
    for i in 0..3000 {
        s.send_to(
            format!("np1 host=bulk-{i:05} t={t} st=ok").as_bytes(),
            c.addr(),
        )
        .unwrap();
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    wait_for(10, "the bulk nodes", || {
        let (_, m) = http_get(c.http, "/metrics")?;
        (sample(&m, "nodepulse_fleet_records_accepted_total")? >= 2900.0).then_some(())
    });
    // 50 connections that send nothing, and clients that ask and never read.
    let addr = ("127.0.0.1", c.http);
    let idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut stuck = Vec::new();
    for path in ["/api/v1/nodes", "/metrics", "/"] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        stuck.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    // A record now is in the API within 1 s.
    for round in 0..3 {
        let host = format!("probe-{round}");
        let sent = Instant::now();
        c.send(format!("np1 host={host} t={} st=warn", now_ms()).as_bytes());
        wait_for(5, "the probe record", || c.node(&host));
        let took = sent.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "ingest to API took {took:?} with 53 hostile clients"
        );
        eprintln!("probe {round}: in the API after {took:?}");
    }
    // Past 128 open connections, new ones are closed at once (and counted).
    let more: Vec<TcpStream> = (0..90)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(more);
    drop(idle);
    drop(stuck);
    let m = wait_for(15, "the connections released", || {
        let (_, m) = http_get(c.http, "/metrics")?;
        (sample(&m, "nodepulse_collector_http_open_connections")? <= 1.0).then_some(m)
    });
    assert!(
        sample(&m, "nodepulse_collector_http_rejected_connections_total").unwrap() >= 1.0,
        "{m}"
    );
}

#[test]
fn http_refuses_oversized_and_odd_requests() {
    let dir = TempDir::new("http-odd");
    let c = Collector::start(&dir, &[]);
    let ask = |raw: &[u8]| -> String {
        let mut s = TcpStream::connect(("127.0.0.1", c.http)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let _ = s.write_all(raw);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.resize(20_000, b'a');
    assert!(ask(&big).starts_with("HTTP/1.1 431 "));
    assert!(
        ask(b"POST /api/v1/nodes HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
            .starts_with("HTTP/1.1 405 ")
    );
    assert!(ask(b"GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    assert!(ask(b"GET /api/v1/nodes/nobody HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    let head = ask(b"GET / HTTP/1.1\r\n\r\n");
    assert!(
        head.contains("Content-Security-Policy: default-src 'none'"),
        "{head}"
    );
    // A client that sends half a head is cut off at the deadline (10 s), not kept forever.
    let t0 = Instant::now();
    let slow = ask(b"GET / HTTP/1.1\r\nHost");
    assert_eq!(slow, "");
    assert!(
        t0.elapsed() >= Duration::from_secs(9) && t0.elapsed() < Duration::from_secs(14),
        "{:?}",
        t0.elapsed()
    );
    // A host with an escape in its name is found by its np1 key and by its plain name.
    c.send(format!("np1 host=edge-b%20c t={} st=ok", now_ms()).as_bytes());
    let n = wait_for(5, "edge-b c", || c.node("edge-b%20c"));
    assert_eq!(n["name"], "edge-b c");
    assert_eq!(c.node("edge-b%2520c").unwrap()["host"], "edge-b%20c");
}

#[test]
fn a_burst_does_not_make_a_60s_node_offline() {
    let dir = TempDir::new("http-burst");
    let c = Collector::start(&dir, &["--interval", "60"]);
    let t0 = now_ms();
    for i in 0..12u64 {
        c.send(format!("np1 host=edge-burst t={} st=ok seq={}", t0 + i * 500, i + 1).as_bytes());
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(12));
    let n = c.node("edge-burst").expect("edge-burst known");
    assert_eq!(n["records"], 12);
    assert_eq!(n["up"], true, "{n}");
    assert_eq!(n["interval_s"], 60.0, "{n}");
}

/// The names in `dir` that contain `.tmp.`.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    v.sort();
    v
}

#[test]
fn planted_symlinks_are_never_followed_and_no_temporary_file_survives() {
    let dir = TempDir::new("http-tmp");
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // What a user who can write the directory plants: symlinks at the old predictable names
    // (every pid the next processes may get) and at new-style ones, plus a killed run's files.
    let next_pid = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1);
    for name in ["state", "fleet.prom"] {
        for pid in next_pid..next_pid + 200 {
            std::os::unix::fs::symlink(&victim, files.join(format!("{name}.tmp.{pid}"))).unwrap();
            std::os::unix::fs::symlink(&victim, files.join(format!("{name}.tmp.{pid}.0.0")))
                .unwrap();
        }
        std::fs::write(files.join(format!("{name}.tmp.1.2.3")), b"left by kill -9").unwrap();
    }
    let state = files.join("state");
    let prom = files.join("fleet.prom");
    let (state_s, prom_s) = (state.to_str().unwrap(), prom.to_str().unwrap());
    let args = [
        "--state",
        state_s,
        "--prom-out",
        prom_s,
        "--persist-interval",
        "0.1",
    ];
    let mut c = Collector::start(&dir, &args);
    assert!(
        c.p.log().contains("removed 401 temporary files"),
        "{}",
        c.p.log()
    );
    for i in 0..20 {
        c.send(format!("np1 host=edge-{i} t={} st=ok", now_ms()).as_bytes());
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for(5, "the state with 20 nodes", || {
        let t = std::fs::read_to_string(&state).ok()?;
        (t.matches("\nnode ").count() == 20).then_some(())
    });
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!std::fs::symlink_metadata(&state)
        .unwrap()
        .file_type()
        .is_symlink());
    // kill -9 in the middle of persisting (every 0.1 s), then a restart: nothing left over.
    unsafe { libc::kill(c.p.child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = c.p.child.wait();
    let mut c = Collector::start(&dir, &args);
    c.send(format!("np1 host=edge-late t={} st=ok", now_ms()).as_bytes());
    wait_for(5, "edge-late", || c.node("edge-late"));
    assert!(c.p.terminate().success());
    assert_eq!(temporaries(&files), Vec::<String>::new());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let out = tool(COLLECTOR, &["status", "--state", state_s], b"", None, 10);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("21 nodes"));
}

#[test]
fn status_help_and_connect_limits() {
    for args in [&["--help"][..], &["status", "--help"], &["help", "status"]] {
        let out = tool(COLLECTOR, args, b"", None, 10);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: nodepulse-collector"), "{text}");
    }
    let out = tool(COLLECTOR, &["status", "--help"], b"", None, 10);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--connect <ADDR:PORT>"));
    let out = tool(COLLECTOR, &["status", "--bogus"], b"", None, 10);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

    // A server that streams forever: refused at --max-bytes, memory stays small.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[");
                let chunk = vec![b' '; 1 << 16];
                while s.write_all(&chunk).is_ok() {}
            });
        }
    });
    let to = format!("127.0.0.1:{port}");
    let t0 = Instant::now();
    let out = tool(
        COLLECTOR,
        &["status", "--connect", &to, "--max-bytes", "1000000"],
        b"",
        None,
        20,
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    // One that never answers: the timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = silent.local_addr().unwrap().to_string();
    let t0 = Instant::now();
    let out = tool(
        COLLECTOR,
        &["status", "--connect", &to, "--timeout", "1"],
        b"",
        None,
        20,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    drop(silent);
}

#[test]
fn readme_systemd_unit_passes_systemd_analyze_verify() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let start = readme
        .find("# /etc/systemd/system/nodepulse-collector.service")
        .expect("the collector's unit in the README");
    let block: String = readme[start..]
        .lines()
        .take_while(|l| l.starts_with("    ") || l.starts_with('#'))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    for want in [
        "DynamicUser=yes",
        "StateDirectory=nodepulse",
        "ProtectSystem=strict",
        "--http 127.0.0.1:",
    ] {
        assert!(block.contains(want), "unit lacks {want}:\n{block}");
    }
    let dir = TempDir::new("unit");
    let unit = dir.join("nodepulse-collector.service");
    // The built binary stands in for /usr/local/bin's (verify checks that it exists).
    std::fs::write(
        &unit,
        block.replace("/usr/local/bin/nodepulse-collector", COLLECTOR) + "\n",
    )
    .unwrap();
    let out = tool(
        "systemd-analyze",
        &["verify", unit.to_str().unwrap()],
        b"",
        None,
        30,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("nodepulse-collector.service:"),
        "systemd-analyze verify: {err}\n{block}"
    );
}
