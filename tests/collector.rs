//! `nodepulse-collector` against the real static agent and real peers, over loopback only:
//! agents on several fixture roots send to a collector; status shows each node, a silent node
//! turns offline, a faked clock shows its skew, a boot id change shows a reboot, seq gaps count
//! lost records; SIGTERM writes the state and a restart reloads it. The Prometheus file passes
//! `promtool check metrics` and is served by node_exporter's textfile collector; the alert
//! rules pass `promtool check rules` / `promtool test rules`; hostile datagrams are counted by
//! reason while valid ones are still accepted; the influx forwarder re-sends each record.
//!
//! Peers (`promtool`, `prometheus-node-exporter`, `jq`) are Debian packages that tests/run.sh
//! installs; a missing one fails the test. Every wait is bounded.

mod common;
use common::{
    agent_send, fixture, free_tcp_port, free_udp_port, http_get, now_ms, run, sample, tool, TempDir,
};

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COLLECTOR: &str = env!("CARGO_BIN_EXE_nodepulse-collector");

// ---------------------------------------------------------------------------------------------
// Harness

fn ipv6_loopback() -> bool {
    UdpSocket::bind("[::1]:0").is_ok()
}

/// A running collector, killed when dropped.
struct Collector {
    child: Child,
    log: PathBuf,
    port: u16,
    state: PathBuf,
}

impl Collector {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn start(dir: &TempDir, port: u16, extra: &[&str]) -> Collector {
        let state = dir.join("state");
        let log = dir.join(&format!("collector-{}.log", now_ms()));
        let mut args: Vec<String> = vec![
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--state".into(),
            state.to_str().unwrap().into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(COLLECTOR)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start the collector");
        let mut c = Collector {
            child,
            log,
            port,
            state,
        };
        // Ready once it has written its first state file (right after binding).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            c.assert_running();
            if std::fs::read_to_string(&c.state)
                .map(|t| t.starts_with("nodepulse-collector-state"))
                .unwrap_or(false)
                && c.log().contains("listening")
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "collector never became ready:\n{}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn assert_running(&mut self) {
        if let Some(s) = self.child.try_wait().unwrap() {
            panic!("collector exited early ({s}):\n{}", self.log());
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn send(&self, bytes: &[u8]) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(bytes, self.addr()).unwrap();
    }

    /// SIGTERM, then the exit status within 10 s.
    fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One node as `status --json` shows it (flattened by jq).
#[derive(Debug, Clone)]
struct NodeView {
    up: bool,
    status: String,
    skew_s: f64,
    problems: Vec<String>,
    lost: u64,
    records: u64,
}

#[derive(Debug)]
struct Status {
    order: Vec<String>,
    nodes: BTreeMap<String, NodeView>,
    accepted: u64,
    dropped: BTreeMap<String, u64>,
}

const JQ_FLATTEN: &str = r#"
  "accepted \(.accepted)",
  "dropped \(.dropped | to_entries | map("\(.key)=\(.value)") | join(","))",
  (.nodes[] | "node \(.host) \(.up) \(.status) \(.skew_s) \(.lost) \(.records) \([.problems[].problem] | join(","))")
"#;

/// Runs `status --json` with `args` and reads it back through jq (which also validates it).
fn status(args: &[&str]) -> Status {
    let mut full = vec!["status", "--json"];
    full.extend_from_slice(args);
    let out = tool(COLLECTOR, &full, b"", None, 10);
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "status exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flat = tool("jq", &["-r", JQ_FLATTEN], &out.stdout, None, 10);
    assert!(
        flat.status.success(),
        "jq could not read status --json: {}\n{}",
        String::from_utf8_lossy(&flat.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let mut s = Status {
        order: Vec::new(),
        nodes: BTreeMap::new(),
        accepted: 0,
        dropped: BTreeMap::new(),
    };
    for line in String::from_utf8(flat.stdout).unwrap().lines() {
        let w: Vec<&str> = line.split(' ').collect();
        match w[0] {
            "accepted" => s.accepted = w[1].parse().unwrap(),
            "dropped" => {
                for kv in w[1].split(',') {
                    let (k, v) = kv.split_once('=').unwrap();
                    s.dropped.insert(k.to_string(), v.parse().unwrap());
                }
            }
            "node" => {
                s.order.push(w[1].to_string());
                s.nodes.insert(
                    w[1].to_string(),
                    NodeView {
                        up: w[2] == "true",
                        status: w[3].to_string(),
                        skew_s: w[4].parse().unwrap(),
                        lost: w[5].parse().unwrap(),
                        records: w[6].parse().unwrap(),
                        problems: w
                            .get(7)
                            .filter(|p| !p.is_empty())
                            .map(|p| p.split(',').map(String::from).collect())
                            .unwrap_or_default(),
                    },
                );
            }
            _ => panic!("unexpected jq line {line}"),
        }
    }
    // Problems first.
    let first_clean = s
        .order
        .iter()
        .position(|h| s.nodes[h].problems.is_empty())
        .unwrap_or(s.order.len());
    assert!(
        s.order[first_clean..]
            .iter()
            .all(|h| s.nodes[h].problems.is_empty()),
        "nodes with problems are not listed first: {s:?}"
    );
    s
}

fn state_status(c: &Collector) -> Status {
    status(&["--state", c.state.to_str().unwrap()])
}

/// Polls the state file's status until `ok` holds, within `secs`.
fn wait_status(c: &mut Collector, secs: u64, what: &str, ok: impl Fn(&Status) -> bool) -> Status {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        c.assert_running();
        let s = state_status(c);
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {secs} s; last status: {s:#?}\ncollector log:\n{}",
            c.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const ROOTS: [(&str, &str); 5] = [
    ("systemd-ok", "edge-ok"),
    ("systemd-ghost", "edge-ghost"),
    ("systemd-linger-off", "edge-lingeroff"),
    ("busybox", "edge-busybox"),
    ("busybox-down", "edge-bbdown"),
];

const BOOT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BOOT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

// ---------------------------------------------------------------------------------------------
// 1. End to end

#[test]
fn agents_to_collector_offline_skew_reboot_and_restart() {
    let start = Instant::now();
    let dir = TempDir::new("e2e");
    let port = free_udp_port();
    let ctl = free_tcp_port();
    let v6 = ipv6_loopback();
    let ctl_addr = format!("127.0.0.1:{ctl}");
    let mut extra = vec![
        "--interval",
        "1",
        "--offline-factor",
        "3",
        "--persist-interval",
        "0.2",
        "--http",
        &ctl_addr,
    ];
    let v6_listen = format!("[::1]:{port}");
    if v6 {
        extra.extend_from_slice(&["--listen", &v6_listen]);
    }
    let mut c = Collector::start(&dir, port, &extra);
    let addr = c.addr();

    // Every fixture node reports twice; edge-ok also as JSON, and over IPv6 when there is one.
    for _ in 0..2 {
        for (root, _) in ROOTS {
            agent_send(root, &addr);
        }
    }
    let stopped = Instant::now(); // edge-bbdown's last record
    agent_send("systemd-ok", &format!("json:{addr}"));
    if v6 {
        agent_send("systemd-ok", &format!("[::1]:{port}"));
    }
    // A node whose clock is 10 minutes behind; one that rebooted; one that lost records.
    let t = now_ms();
    c.send(format!("np1 host=edge-skew t={} st=ok boot={BOOT_A}", t - 600_000).as_bytes());
    c.send(format!("np1 host=edge-reboot t={t} st=ok up=100 boot={BOOT_A}").as_bytes());
    c.send(format!("np1 host=edge-reboot t={} st=ok up=1 boot={BOOT_B}", t + 1).as_bytes());
    c.send(format!("np1 host=edge-seq t={t} st=ok seq=1").as_bytes());
    c.send(format!("np1 host=edge-seq t={} st=ok seq=5", t + 1).as_bytes());

    let want_records = 10 + 1 + u64::from(v6) + 5;
    let s = wait_status(&mut c, 10, "every node in status", |s| {
        s.accepted == want_records && s.nodes.len() == 8
    });
    let n = |h: &str| s.nodes[h].clone();
    assert!(ROOTS.iter().all(|(_, h)| n(h).up), "{s:#?}");
    assert_eq!(n("edge-ok").records, 3 + u64::from(v6));
    assert_eq!(
        (n("edge-ok").status.as_str(), n("edge-ok").problems.len()),
        ("ok", 0)
    );
    assert_eq!(
        n("edge-ghost").problems,
        ["timesync", "linger_off", "service_down"],
        "ghost node: linger off, service down, timesyncd never synced"
    );
    assert_eq!(n("edge-lingeroff").problems, ["linger_off"]);
    assert_eq!(n("edge-busybox").problems, ["service_down"]);
    assert_eq!(n("edge-bbdown").status, "crit");
    let skew = n("edge-skew");
    assert!(skew.problems.contains(&"skewed".to_string()), "{skew:?}");
    assert!((skew.skew_s + 600.0).abs() < 5.0, "skew {}", skew.skew_s);
    assert!(n("edge-reboot").problems.contains(&"rebooted".to_string()));
    assert_eq!(
        (n("edge-seq").lost, n("edge-seq").problems.clone()),
        (3, vec!["lost_records".to_string()])
    );

    // The live view over HTTP (`status --connect`, /api/v1/nodes) says the same.
    let live = status(&["--connect", &ctl_addr]);
    assert_eq!(
        live.nodes.keys().collect::<Vec<_>>(),
        s.nodes.keys().collect::<Vec<_>>()
    );

    // edge-bbdown stops; the four others keep reporting. It is offline within a few seconds.
    let deadline = stopped + Duration::from_secs(10);
    let s = loop {
        for (root, _) in &ROOTS[..4] {
            agent_send(root, &addr);
        }
        let s = state_status(&c);
        if !s.nodes["edge-bbdown"].up {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "edge-bbdown never went offline: {s:#?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let took = stopped.elapsed();
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(6),
        "offline after {took:?}, want about 3 intervals of 1 s"
    );
    assert!(ROOTS[..4].iter().all(|(_, h)| s.nodes[*h].up), "{s:#?}");
    assert_eq!(s.nodes["edge-bbdown"].problems[0], "offline");
    // Offline nodes come first (edge-skew, edge-reboot and edge-seq sent once: offline too).
    let offline = s.order.iter().filter(|h| !s.nodes[*h].up).count();
    assert!(
        s.order[..offline].iter().all(|h| !s.nodes[h].up),
        "offline nodes first: {:?}",
        s.order
    );
    let text = tool(
        COLLECTOR,
        &["status", "--state", c.state.to_str().unwrap()],
        b"",
        None,
        10,
    );
    assert_eq!(
        text.status.code(),
        Some(1),
        "status exits 1 when nodes have problems"
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.lines()
            .take(1 + offline)
            .any(|l| l.starts_with("edge-bbdown OFFLINE")),
        "{text}"
    );

    // SIGTERM writes the state; a restart (with no periodic writes) reloads it.
    assert!(c.terminate().success(), "{}", c.log());
    assert!(c.log().contains("stopping"), "{}", c.log());
    let before = state_status(&c);
    let mut c = Collector::start(
        &dir,
        port,
        &[
            "--interval",
            "1",
            "--persist-interval",
            "3600",
            "--http",
            &ctl_addr,
        ],
    );
    assert!(c.log().contains("loaded 8 nodes"), "{}", c.log());
    let live = status(&["--connect", &ctl_addr]);
    assert_eq!(
        live.nodes.keys().collect::<Vec<_>>(),
        before.nodes.keys().collect::<Vec<_>>()
    );
    assert_eq!(live.accepted, before.accepted);
    assert_eq!(live.nodes["edge-seq"].lost, 3);
    // A record received just before SIGTERM is in the file written at SIGTERM.
    c.send(format!("np1 host=edge-late t={} st=warn", now_ms()).as_bytes());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !status(&["--connect", &ctl_addr])
        .nodes
        .contains_key("edge-late")
    {
        assert!(Instant::now() < deadline, "edge-late never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!state_status(&c).nodes.contains_key("edge-late"));
    assert!(c.terminate().success());
    let after = state_status(&c);
    assert_eq!(after.nodes["edge-late"].status, "warn");
    assert_eq!(after.nodes.len(), 9);
    eprintln!("end to end took {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// 2. Prometheus file: promtool and node_exporter

#[test]
fn prometheus_file_passes_promtool_and_node_exporter_serves_it() {
    let dir = TempDir::new("prom");
    let textfile = dir.join("textfile");
    std::fs::create_dir(&textfile).unwrap();
    let prom = textfile.join("nodepulse_fleet.prom");
    let port = free_udp_port();
    let mut c = Collector::start(
        &dir,
        port,
        &[
            "--prom-out",
            prom.to_str().unwrap(),
            "--persist-interval",
            "0.2",
            "--interval",
            "60",
        ],
    );
    for (root, _) in ROOTS {
        agent_send(root, &c.addr());
    }
    c.send(format!("np1 host=edge-skew t={} st=ok", now_ms() - 600_000).as_bytes());
    c.send(b"\xff\xfe not utf-8");
    wait_status(&mut c, 10, "six nodes", |s| s.nodes.len() == 6);
    let deadline = Instant::now() + Duration::from_secs(10);
    let written = loop {
        let t = std::fs::read_to_string(&prom).unwrap_or_default();
        if t.contains("edge-skew") && t.contains("reason=\"not_utf8\"} 1") {
            break t;
        }
        assert!(Instant::now() < deadline, "prom file never complete:\n{t}");
        std::thread::sleep(Duration::from_millis(50));
    };

    let check = tool(
        "promtool",
        &["check", "metrics"],
        written.as_bytes(),
        None,
        20,
    );
    assert!(
        check.status.success(),
        "promtool check metrics: {}{}\n--- file:\n{written}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let http = free_tcp_port();
    let log = std::fs::File::create(dir.join("node_exporter.log")).unwrap();
    let mut ne = Command::new("prometheus-node-exporter")
        .args([
            format!("--web.listen-address=127.0.0.1:{http}"),
            "--collector.disable-defaults".to_string(),
            "--collector.textfile".to_string(),
            format!("--collector.textfile.directory={}", textfile.display()),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start prometheus-node-exporter (Debian package prometheus-node-exporter)");
    struct Kill<'a>(&'a mut Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let ne = Kill(&mut ne);
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some((200, b)) = http_get(http, "/metrics") {
            if b.contains("nodepulse_fleet_up") {
                break b;
            }
        }
        if let Ok(Some(s)) = ne.0.try_wait() {
            panic!(
                "node_exporter exited ({s}): {}",
                std::fs::read_to_string(dir.join("node_exporter.log")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter never served our file"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        sample(&body, "node_textfile_scrape_error"),
        Some(0.0),
        "{body}"
    );
    for (_, host) in ROOTS {
        assert_eq!(
            sample(&body, &format!("nodepulse_fleet_up{{host=\"{host}\"}}")),
            Some(1.0),
            "{host}"
        );
    }
    assert_eq!(
        sample(&body, "nodepulse_fleet_status{host=\"edge-ghost\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&body, "nodepulse_fleet_status{host=\"edge-ok\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&body, "nodepulse_fleet_problems{host=\"edge-ghost\"}"),
        Some(3.0)
    );
    let skew = sample(&body, "nodepulse_fleet_skew_seconds{host=\"edge-skew\"}").unwrap();
    assert!((skew + 600.0).abs() < 5.0, "skew {skew}");
    let seen = sample(
        &body,
        "nodepulse_fleet_last_seen_timestamp_seconds{host=\"edge-ok\"}",
    )
    .unwrap();
    assert!(
        (seen - now_ms() as f64 / 1000.0).abs() < 60.0,
        "last seen {seen}"
    );
    let since = sample(
        &body,
        "nodepulse_fleet_problem_since_timestamp_seconds{host=\"edge-lingeroff\",problem=\"linger_off\"}",
    )
    .expect("linger_off problem served");
    assert!((since - seen).abs() < 60.0);
    assert!(body.contains(
        "nodepulse_fleet_problem_since_timestamp_seconds{host=\"edge-skew\",problem=\"skewed\"}"
    ));
    assert_eq!(
        sample(&body, "nodepulse_fleet_nodes{state=\"up\"}"),
        Some(6.0)
    );
    assert_eq!(
        sample(
            &body,
            "nodepulse_fleet_datagrams_dropped_total{reason=\"not_utf8\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "nodepulse_fleet_records_accepted_total"),
        Some(6.0)
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Alert rules

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let dir = common::repo().join("tests/alerts");
    let check = tool(
        "promtool",
        &["check", "rules", "nodepulse.rules.yml"],
        b"",
        Some(&dir),
        30,
    );
    assert!(
        check.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = tool(
        "promtool",
        &["test", "rules", "nodepulse.rules.test.yml"],
        b"",
        Some(&dir),
        60,
    );
    assert!(
        test.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    // Each rule the issue asks for is there, over the agent's metric names.
    let rules = std::fs::read_to_string(dir.join("nodepulse.rules.yml")).unwrap();
    for want in [
        "nodepulse_last_run_timestamp_seconds > 180",
        "nodepulse_status{check=\"node\"}",
        "nodepulse_status{check=\"clock\"} == 2",
        "nodepulse_status{check=\"linger\"} == 2",
        "nodepulse_status{check=\"service\"} == 2",
    ] {
        assert!(rules.contains(want), "rules lack {want}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile datagrams, node limit, influx forwarding

#[test]
fn hostile_datagrams_are_counted_and_valid_records_still_accepted() {
    let dir = TempDir::new("hostile");
    let port = free_udp_port();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let fwd = sink.local_addr().unwrap().to_string();
    let mut c = Collector::start(
        &dir,
        port,
        &[
            "--persist-interval",
            "0.2",
            "--max-nodes",
            "3",
            "--forward-influx",
            &fwd,
        ],
    );
    let t = now_ms();
    let long_host = format!("np1 host={} t={t} st=ok", "h".repeat(300));
    let hostile: Vec<(Vec<u8>, &str)> = vec![
        (b"garbage".to_vec(), "version"),
        (vec![b'x'; 65_000], "oversize"),
        (vec![b'n'; 20_000], "oversize"),
        (b"np1 host=\xff\xfe t=1 st=ok".to_vec(), "not_utf8"),
        (
            format!("np2 host=edge-x t={t} st=ok").into_bytes(),
            "version",
        ),
        (format!("np1 t={t} st=ok").into_bytes(), "missing_host"),
        (b"np1 host=edge-x st=ok".to_vec(), "missing_t"),
        (
            format!("np1 host=edge-x t={t} st=fine").into_bytes(),
            "missing_status",
        ),
        (
            format!("np1 host=edge-x t={t} st=ok junk").into_bytes(),
            "syntax",
        ),
        (
            format!("np1 host=edge-x t={t} st=ok\nnp1 host=y t=1 st=ok").into_bytes(),
            "syntax",
        ),
        (b"".to_vec(), "empty"),
        (b"{\"v\":\"np1\",\"host\":".to_vec(), "json"),
        (b"[1,2,3]".to_vec(), "version"),
        (
            b"{\"v\":\"np1\",\"t_ms\":1,\"status\":\"ok\"}".to_vec(),
            "missing_host",
        ),
        (long_host.into_bytes(), "host_too_long"),
        (b"\0\0\0\0".to_vec(), "version"),
        // JSON integer fields that are not exact integers: refused, not truncated.
        (
            format!("{{\"v\":\"np1\",\"host\":\"edge-x\",\"t_ms\":{t}.5,\"status\":\"ok\"}}")
                .into_bytes(),
            "inexact_number",
        ),
        (
            format!(
                "{{\"v\":\"np1\",\"host\":\"edge-x\",\"t_ms\":{t},\"status\":\"ok\",\"seq\":1e-3}}"
            )
            .into_bytes(),
            "inexact_number",
        ),
    ];
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (bytes, why) in &hostile {
        c.send(bytes);
        *want.entry(why.to_string()).or_default() += 1;
    }
    // Valid records still get in: three hosts fill --max-nodes 3, a fourth is refused.
    agent_send("systemd-ghost", &c.addr());
    c.send(format!("np1 host=edge-a t={t} st=ok seq=7").as_bytes());
    c.send(format!("np1 host=edge-b%20c t={t} st=ok").as_bytes());
    c.send(format!("np1 host=edge-refused t={t} st=ok").as_bytes());
    *want.entry("node_limit".into()).or_default() += 1;
    c.send(format!("np1 host=edge-a t={} st=crit seq=8", t + 1).as_bytes());

    let s = wait_status(&mut c, 10, "all datagrams counted", |s| {
        s.accepted + s.dropped.values().sum::<u64>() == hostile.len() as u64 + 5
    });
    assert_eq!(s.accepted, 4);
    assert_eq!(
        s.nodes.keys().collect::<Vec<_>>(),
        ["edge-a", "edge-b%20c", "edge-ghost"]
    );
    assert_eq!(s.nodes["edge-a"].status, "crit");
    for (why, n) in &s.dropped {
        assert_eq!(
            *n,
            want.get(why).copied().unwrap_or(0),
            "drop reason {why}: {s:#?}"
        );
    }
    c.assert_running();

    // Every accepted record was forwarded as line protocol.
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    while lines.len() < 4 {
        let n = sink.recv(&mut buf).expect("forwarded influx datagram");
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        lines.extend(text.lines().map(String::from));
    }
    assert_eq!(lines.len(), 4, "{lines:?}");
    let ghost = &lines[0];
    assert!(
        ghost.starts_with("nodepulse_fleet,host=edge-ghost status=2i,"),
        "{ghost}"
    );
    for field in [
        "linger_status=2i",
        "service_status=2i",
        "services_down=1i",
        "timesync_status=1i",
        "uptime_s=86400i",
        "load1=0.12",
        "problems=3i",
    ] {
        assert!(ghost.contains(field), "{field} not in {ghost}");
    }
    assert!(lines[1].starts_with("nodepulse_fleet,host=edge-a status=0i,"));
    assert!(lines[1].contains(",seq=7i"));
    assert!(lines[2].starts_with("nodepulse_fleet,host=edge-b%20c status=0i,"));
    assert!(lines[3].contains("status=2i"));
    for l in &lines {
        let ts: u128 = l.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((ts / 1_000_000).abs_diff(u128::from(t)) < 60_000, "{l}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Trust: a shared key

#[test]
fn shared_key_drops_unsigned_forged_and_replayed_records() {
    let dir = TempDir::new("trust");
    let key = dir.join("key");
    std::fs::write(&key, "fleet secret\n").unwrap();
    let key = key.to_str().unwrap().to_string();
    let port = free_udp_port();
    let mut c = Collector::start(
        &dir,
        port,
        &["--persist-interval", "0.2", "--key-file", &key],
    );
    // A real agent signs its record, and keeps a copy of what it sent.
    let copy = dir.join("sent");
    let r = run(&[
        "--root",
        &fixture("systemd-ok"),
        "--skip",
        "clock,disk",
        "--key-file",
        &key,
        "--udp",
        &c.addr(),
        "--out",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let signed = std::fs::read(&copy).unwrap();
    let s = wait_status(&mut c, 10, "the signed record", |s| s.accepted == 1);
    assert_eq!(s.nodes.keys().collect::<Vec<_>>(), ["edge-ok"]);
    // The same datagram again is a replay; unsigned, forged and wrongly keyed ones are dropped.
    c.send(&signed);
    let t = now_ms();
    c.send(format!("np1 host=edge-x t={t} st=ok").as_bytes());
    let forged = String::from_utf8(signed.clone())
        .unwrap()
        .replace("st=ok", "st=crit");
    c.send(forged.as_bytes());
    let other = dir.join("other-key");
    std::fs::write(&other, "not the fleet's").unwrap();
    let r = run(&[
        "--root",
        &fixture("systemd-ghost"),
        "--skip",
        "clock,disk",
        "--key-file",
        other.to_str().unwrap(),
        "--udp",
        &c.addr(),
    ]);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    c.send(b"{\"v\":\"np1\",\"host\":\"edge-json\",\"t_ms\":1,\"status\":\"ok\"}");
    let s = wait_status(&mut c, 10, "every datagram counted", |s| {
        s.dropped.values().sum::<u64>() == 5
    });
    assert_eq!(s.accepted, 1);
    let count = |why: &str| s.dropped.get(why).copied().unwrap_or(0);
    assert_eq!(
        (count("replay"), count("no_mac"), count("bad_mac")),
        (1, 2, 2),
        "{s:#?}"
    );
    assert_eq!(s.nodes.keys().collect::<Vec<_>>(), ["edge-ok"]);
    // A newer signed record is accepted.
    std::thread::sleep(Duration::from_millis(5));
    let r = run(&[
        "--root",
        &fixture("systemd-ok"),
        "--skip",
        "clock,disk",
        "--key-file",
        &key,
        "--udp",
        &c.addr(),
    ]);
    assert_eq!(r.code, 0);
    wait_status(&mut c, 10, "the newer record", |s| s.accepted == 2);
    // Replays stay refused after a restart (the state keeps the last t).
    assert!(c.terminate().success());
    let mut c = Collector::start(
        &dir,
        port,
        &["--persist-interval", "0.2", "--key-file", &key],
    );
    c.send(&signed);
    let s = wait_status(&mut c, 10, "the replay after restart", |s| {
        s.dropped.get("replay") == Some(&2)
    });
    assert_eq!(s.accepted, 2);
}

/// UDP sockets bound to `port` on this machine (`/proc/net/udp`).
fn udp_sockets_on(port: u16) -> usize {
    let want = format!(":{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(&want))
        })
        .count()
}

#[test]
fn two_ingest_threads_accept_every_sender_and_keep_per_host_order_gaps_and_replays() {
    two_ingest_threads("host", "records spread by host name");
    two_ingest_threads("cpu", "records spread by the CPU that received them");
}

/// A `Cpus_allowed_list` (`0-3,6`) as CPU numbers.
fn cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        cpus.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap());
    }
    cpus
}

/// The CPUs the task of a `/proc/.../status` file may run on.
fn cpus_allowed(status: &std::path::Path) -> Vec<usize> {
    let text = std::fs::read_to_string(status).unwrap();
    cpu_list(
        text.lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap(),
    )
}

/// The CPUs each `ingest-N` thread of process `pid` may run on, by thread name.
fn ingest_cpus(pid: u32) -> BTreeMap<String, Vec<usize>> {
    let mut found = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if name.trim().starts_with("ingest-") {
            found.insert(name.trim().to_string(), cpus_allowed(&path.join("status")));
        }
    }
    found
}

fn two_ingest_threads(spread: &str, says: &str) {
    const HOSTS: u64 = 40;
    const SEQS: u64 = 10;
    const SOCKETS: u64 = 32;
    let dir = TempDir::new("threads");
    let key_path = dir.join("key");
    std::fs::write(&key_path, "fleet secret\n").unwrap();
    let key = key_path.to_str().unwrap().to_string();
    let port = free_udp_port();
    let mut c = Collector::start(
        &dir,
        port,
        &[
            "--persist-interval",
            "0.2",
            "--key-file",
            &key,
            "--threads",
            "2",
            "--spread",
            spread,
            "--no-learn",
        ],
    );
    assert!(
        c.log().contains(&format!(
            "2 sockets with SO_REUSEPORT, one per ingest thread, {says}"
        )),
        "{}",
        c.log()
    );
    assert_eq!(udp_sockets_on(port), 2, "two sockets share the port");
    // With --spread cpu, thread i runs on the CPUs c with c % 2 = i, where the kernel hands it
    // the datagrams (when it gets any of this process's CPUs); by host name, on all of them.
    let mut threads = ingest_cpus(c.pid());
    for _ in 0..100 {
        if threads.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        threads = ingest_cpus(c.pid());
    }
    let mine = cpus_allowed(std::path::Path::new("/proc/self/status"));
    for i in 0..2 {
        let share: Vec<usize> = mine.iter().copied().filter(|cpu| cpu % 2 == i).collect();
        let want = if spread == "cpu" && !share.is_empty() {
            share
        } else {
            mine.clone()
        };
        assert_eq!(
            threads.get(&format!("ingest-{i}")),
            Some(&want),
            "{spread}: {threads:?}"
        );
    }
    // Many senders, each host's records from a different sender every time: the kernel gives
    // each record to the socket of its host's name (not of its sender), so the order per host
    // holds whichever senders carry it.
    let senders: Vec<UdpSocket> = (0..SOCKETS)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let t0 = now_ms();
    let record = |h: u64, seq: u64| {
        let body = format!("np1 host=mt-{h:02} t={} st=ok seq={seq}", t0 + seq * 1000);
        let tag = nodepulse::sink::mac::tag(b"fleet secret", body.as_bytes());
        let mut signed = body.into_bytes();
        signed.extend_from_slice(b" mac=");
        signed.extend_from_slice(&tag);
        signed.push(b'\n');
        signed
    };
    // Rounds of one record per host (seq 1, 2, ...; the even hosts never send seq 5), each
    // round accepted before the next goes out, so that the order per host is known.
    let mut accepted = 0;
    for seq in 1..=SEQS {
        for h in 0..HOSTS {
            if seq == 5 && h % 2 == 0 {
                continue;
            }
            let from = &senders[((h * 7 + seq) % SOCKETS) as usize];
            from.send_to(&record(h, seq), c.addr()).unwrap();
            accepted += 1;
        }
        wait_status(&mut c, 10, &format!("round {seq}"), |s| {
            s.accepted == accepted
        });
    }
    // Every host's seq 3 again, from other senders: replays, refused whichever thread takes them.
    for h in 0..HOSTS {
        let from = &senders[((h * 7 + 3 + 1) % SOCKETS) as usize];
        from.send_to(&record(h, 3), c.addr()).unwrap();
    }
    let s = wait_status(&mut c, 10, "the replays", |s| {
        s.dropped.get("replay") == Some(&HOSTS)
    });
    assert_eq!(s.accepted, HOSTS * SEQS - HOSTS / 2, "{s:#?}");
    assert_eq!(s.nodes.len() as u64, HOSTS);
    for h in 0..HOSTS {
        let n = &s.nodes[&format!("mt-{h:02}")];
        let skipped = h % 2 == 0;
        assert_eq!(n.records, SEQS - u64::from(skipped), "mt-{h:02}: {n:?}");
        assert_eq!(n.lost, u64::from(skipped), "mt-{h:02}: {n:?}");
        assert_eq!(
            n.problems.iter().any(|p| p == "lost_records"),
            skipped,
            "mt-{h:02}: {n:?}"
        );
    }
    let others: u64 = s
        .dropped
        .iter()
        .filter(|(k, _)| *k != "replay")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(others, 0, "{s:#?}");
    // SIGTERM stops every thread and writes the last state.
    assert!(c.terminate().success());
    assert!(c
        .log()
        .contains(&format!("{} records accepted", HOSTS * SEQS - HOSTS / 2)));
}

// ---------------------------------------------------------------------------------------------
// 6. Abuse: a flood of hostile datagrams while valid agents keep reporting

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap()
}

#[test]
fn flood_of_hostile_datagrams_while_agents_report() {
    let dir = TempDir::new("flood");
    let port = free_udp_port();
    let mut c = Collector::start(
        &dir,
        port,
        &["--persist-interval", "0.5", "--max-nodes", "1000"],
    );
    let pid = c.child.id();
    let before = rss_kib(pid);
    let addr = c.addr();
    // The flood: 4 s, at most 400 000 datagrams, from a seeded generator (reproducible).
    let flood = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let t = now_ms();
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut sent = 0u64;
        while Instant::now() < deadline && sent < 400_000 {
            let r = next();
            let datagram: Vec<u8> = match r % 6 {
                // random bytes of random length
                0 => (0..(r >> 8) % 1500).map(|_| next() as u8).collect(),
                // a valid record from one of 5000 hosts: the table must stop at --max-nodes
                1 => format!("np1 host=flood-{} t={t} st=ok", (r >> 8) % 5000).into_bytes(),
                // truncated, oversized, wrong version, non-UTF-8
                2 => format!("np1 host=flood-{} t=", r % 7).into_bytes(),
                3 => vec![b'n'; 20_000 + (r % 40_000) as usize],
                4 => b"np9 host=x t=1 st=ok".to_vec(),
                _ => vec![0xff, 0xfe, b'n', b'p', b'1', b' '],
            };
            let _ = s.send_to(&datagram, &addr);
            sent += 1;
        }
        sent
    });
    // Meanwhile the real agent reports every 200 ms.
    let mut agent_runs = 0;
    while !flood.is_finished() {
        agent_send("systemd-ok", &c.addr());
        agent_runs += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent = flood.join().unwrap();
    c.assert_running();
    // The agent's records got in during the flood, and one after it does too (a known host:
    // the table is full of flood hosts, so a new one would be refused, as it should).
    let during = wait_status(&mut c, 15, "the agent's records", |s| {
        s.nodes.contains_key("edge-ok")
    });
    let before_last = now_ms();
    let records = during.nodes["edge-ok"].records;
    // UDP under a flood at full speed may lose a few; most of the agent's records get in.
    assert!(
        records * 2 >= agent_runs,
        "{records} of {agent_runs} agent records accepted"
    );
    agent_send("systemd-ok", &c.addr());
    let s = wait_status(&mut c, 15, "the record after the flood", |s| {
        s.nodes["edge-ok"].records > records
    });
    assert!(
        s.nodes.len() <= 1000,
        "{} nodes tracked past --max-nodes 1000",
        s.nodes.len()
    );
    for why in ["node_limit", "oversize", "version", "not_utf8"] {
        assert!(
            s.dropped.get(why).copied().unwrap_or(0) > 0,
            "no {why} drops counted: {:?}",
            s.dropped
        );
    }
    let after = rss_kib(pid);
    eprintln!(
        "flood: {sent} datagrams in 4 s, {agent_runs} agent runs ({records} accepted); accepted {}, dropped {:?}; RSS {before} -> {after} KiB; last record {} ms after the flood",
        s.accepted,
        s.dropped,
        now_ms() - before_last
    );
    // 1000 nodes at ~300 bytes plus buffers: far below 64 MiB over the start.
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Names that are not UTF-8

/// Two real agents whose hostnames differ only in a byte that is not UTF-8 (`edge-\xff`,
/// `edge-\xfe`), each sending np1 and JSON: two nodes, `edge-%FF` and `edge-%FE`, each fed by
/// both formats (four records, none dropped).
#[test]
fn hosts_that_differ_in_invalid_utf8_stay_two_nodes_in_every_format() {
    let dir = TempDir::new("utf8");
    let port = free_udp_port();
    let mut c = Collector::start(&dir, port, &["--persist-interval", "0.2"]);
    let addr = c.addr();
    for host in [&b"edge-\xff"[..], &b"edge-\xfe"[..]] {
        let node = common::fixture_copy("systemd-ok", "utf8-node");
        let root = node.join("root");
        let mut name = host.to_vec();
        name.push(b'\n');
        std::fs::write(root.join("proc/sys/kernel/hostname"), name).unwrap();
        for to in [addr.clone(), format!("json:{addr}")] {
            let r = run(&[
                "--root",
                root.to_str().unwrap(),
                "--skip",
                "clock,disk",
                "--udp",
                &to,
            ]);
            assert!(r.code == 0 || r.code == 2, "agent: {r:?}");
        }
    }
    let s = wait_status(&mut c, 10, "four records", |s| s.accepted == 4);
    assert_eq!(
        s.nodes.keys().collect::<Vec<_>>(),
        ["edge-%FE", "edge-%FF"],
        "{s:#?}"
    );
    assert!(s.dropped.values().all(|&n| n == 0), "{s:#?}");
    assert!(
        s.nodes.values().all(|n| n.records == 2),
        "each node got both its records: {s:#?}"
    );
}

/// Starts the collector in `cwd` with `--state STATE` (as given: relative or not) and a 1 s
/// persist interval; its stderr goes to the returned log file.
fn spawn_with_state(cwd: &std::path::Path, state: &str, log: &std::path::Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(COLLECTOR)
        .current_dir(cwd)
        .args(["--listen", &format!("127.0.0.1:{}", free_udp_port())])
        .args(["--state", state, "--persist-interval", "1"])
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start the collector")
}

/// Waits up to 10 s for `done`; on timeout fails with the log.
fn wait_for(what: &str, log: &std::path::Path, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(Instant::now() < deadline, "{what} within 10 s:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_state_file(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.starts_with("nodepulse-collector-state"))
}

#[test]
fn a_state_path_relative_to_the_working_directory_or_in_a_directory_yet_to_come() {
    // Relative to the working directory: an earlier run's leftovers beside it are removed (a
    // symlink among them is removed, not followed; a directory of that name is left), and the
    // state is written there.
    let dir = TempDir::new("relstate");
    let target = dir.join("kept");
    std::fs::write(&target, "not a leftover").unwrap();
    std::fs::write(dir.join("fleet.state.tmp.1.0.0123456789abcdef"), "half").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("fleet.state.tmp.link")).unwrap();
    std::fs::create_dir(dir.join("fleet.state.tmp.dir")).unwrap();
    let log = dir.join("relative.log");
    let mut c = spawn_with_state(dir.path(), "fleet.state", &log);
    wait_for("the state file beside it", &log, || {
        is_state_file(&dir.join("fleet.state"))
    });
    let _ = c.kill();
    let _ = c.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("removed 2 temporary files an earlier run left beside fleet.state"),
        "{text}"
    );
    assert_eq!(
        dir.names(),
        ["fleet.state", "fleet.state.tmp.dir", "kept", "relative.log"]
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a leftover");

    // A directory that does not exist yet: the collector runs, says each write failed, and
    // writes the state once the directory is there.
    let later = dir.join("later");
    let state = later.join("fleet.state");
    let log = dir.join("later.log");
    let mut c = spawn_with_state(dir.path(), state.to_str().unwrap(), &log);
    wait_for("a failed write reported", &log, || {
        std::fs::read_to_string(&log).is_ok_and(|t| {
            t.contains(&format!(
                "writing {}: No such file or directory",
                state.display()
            ))
        })
    });
    assert!(c.try_wait().unwrap().is_none(), "the collector stopped");
    std::fs::create_dir(&later).unwrap();
    wait_for("the state file once its directory exists", &log, || {
        is_state_file(&state)
    });
    let _ = c.kill();
    let _ = c.wait();

    // A parent that is a file can never hold the state: refused at start, in one line.
    let log = dir.join("file.log");
    let mut c = spawn_with_state(dir.path(), "kept/fleet.state", &log);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = c.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "still running with a file as the state's directory"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{text}");
    assert!(
        text.contains("kept/fleet.state: removing old temporary files: Not a directory"),
        "{text}"
    );
}
