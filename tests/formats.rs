//! The output formats against the real programs that consume them: `promtool check metrics`
//! (Prometheus text format), Prometheus node_exporter's textfile collector, VictoriaMetrics'
//! InfluxDB line-protocol listener over UDP, `python3 -m json.tool` and `jq` (JSON), and the
//! Monitoring Plugins output convention (nagios).
//!
//! Every peer is a Debian package (`prometheus`, `prometheus-node-exporter`, `victoria-metrics`,
//! `jq`, `python3`; tests/run.sh installs them). A missing peer fails the test, never skips it.
//! Servers listen on 127.0.0.1 on a port picked free just before, are killed when the test ends
//! (also on a panic), and keep their data in a temporary directory removed afterwards.

mod common;
use common::{fixture, free_tcp_port, http_get, influx_tag_name, run, token, tool, Run, TempDir};

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Harness: deadlines, temporary directories, peers killed on drop, bounded tools, HTTP.

/// A test's overall time budget.
struct Deadline(Instant, &'static str);

impl Deadline {
    fn new(what: &'static str, secs: u64) -> Deadline {
        Deadline(Instant::now() + Duration::from_secs(secs), what)
    }
    fn expired(&self) -> bool {
        Instant::now() > self.0
    }
    fn check(&self, doing: &str) {
        assert!(
            !self.expired(),
            "{}: over the test's time budget while {doing}",
            self.1
        );
    }
}

fn missing(program: &str, package: &str, e: std::io::Error) -> ! {
    panic!("cannot start {program}: {e}; it is a required test peer: install the Debian package `{package}` (tests/run.sh does)")
}

/// A server started for the test, killed (and reaped) when dropped; its output goes to a log.
struct Peer {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Peer {
    fn start(program: &str, package: &str, args: &[String], log: PathBuf) -> Peer {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| missing(program, package, e));
        Peer {
            child,
            name: program.to_string(),
            log,
        }
    }
    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "{} exited early ({status}); its log:\n{}",
                self.name,
                self.log()
            );
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET path` until it answers 200 (and `ok(body)`), within the deadline.
fn wait_http(
    peer: &mut Peer,
    port: u16,
    path: &str,
    ok: impl Fn(&str) -> bool,
    deadline: &Deadline,
) -> String {
    loop {
        peer.assert_running();
        if let Some((200, body)) = http_get(port, path) {
            if ok(&body) {
                return body;
            }
        }
        assert!(
            !deadline.expired(),
            "{} never answered GET {path} on port {port}; its log:\n{}",
            peer.name,
            peer.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Percent-encodes a URL query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Scenarios: every fixture root, plus this machine and a missing root.

struct Scenario {
    name: &'static str,
    /// Fixture directory, or `None` for this machine's real root.
    root: Option<&'static str>,
    args: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "systemd-ok",
        root: Some("systemd-ok"),
        args: &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "chrony",
        ],
    },
    Scenario {
        name: "systemd-ghost",
        root: Some("systemd-ghost"),
        args: &["--user-service", "node:openclaw-node"],
    },
    Scenario {
        name: "systemd-ghost (timesync only)",
        root: Some("systemd-ghost"),
        args: &[],
    },
    Scenario {
        name: "systemd-linger-off",
        root: Some("systemd-linger-off"),
        args: &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "openclaw-node",
        ],
    },
    Scenario {
        name: "busybox",
        root: Some("busybox"),
        args: &["--user", "node", "--service", "openclaw-node"],
    },
    Scenario {
        name: "busybox-down",
        root: Some("busybox-down"),
        args: &["--service", "openclaw-node"],
    },
    Scenario {
        name: "broken",
        root: Some("broken"),
        args: &["--user-service", "node:openclaw-node"],
    },
    Scenario {
        name: "missing root",
        root: Some("does-not-exist"),
        args: &["--service", "x"],
    },
    Scenario {
        name: "this machine",
        root: None,
        args: &[
            "--user",
            "root",
            "--service",
            "openclaw-node",
            "--mount",
            "/",
            "--mount",
            "/tmp",
        ],
    },
];

fn scenario_args(s: &Scenario, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if let Some(root) = s.root {
        args.extend([
            "--root".to_string(),
            fixture(root),
            "--skip".to_string(),
            "clock,disk".to_string(),
        ]);
    }
    args.extend(s.args.iter().map(|a| a.to_string()));
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn agent(args: &[String]) -> Run {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

/// The agent in `format` on stdout: one clean run.
fn agent_format(s: &Scenario, format: &str) -> Run {
    let r = agent(&scenario_args(s, &["--format", format]));
    assert!(
        r.stderr.is_empty(),
        "{} --format {format}: stderr {:?}",
        s.name,
        r.stderr
    );
    assert!(
        (0..=3).contains(&r.code),
        "{} --format {format}: exit {}",
        s.name,
        r.code
    );
    assert!(
        r.stdout.ends_with('\n'),
        "{} --format {format}: output does not end with a newline: {:?}",
        s.name,
        r.stdout
    );
    r
}

/// Exit code of a record's `st=` word.
fn status_code(st: &str) -> i32 {
    match st {
        "ok" => 0,
        "warn" => 1,
        "crit" => 2,
        "unknown" => 3,
        other => panic!("unknown status word {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format: a small parser for samples.

type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

/// Parses the sample lines of the Prometheus text format (comments skipped). Labels with an
/// empty value are dropped: Prometheus treats them as absent, and node_exporter's textfile
/// collector adds them for the labels other samples of the family have.
fn parse_prom(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {line:?}"));
        let name = line[..name_end].to_string();
        let mut labels = Labels::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let mut end = None;
            loop {
                // key
                let mut key = String::new();
                while let Some(&(i, c)) = chars.peek() {
                    if c == '}' && key.is_empty() {
                        end = Some(i + 1);
                        chars.next();
                        break;
                    }
                    if c == '=' {
                        chars.next();
                        break;
                    }
                    if c != ',' || !key.is_empty() {
                        key.push(c);
                    }
                    chars.next();
                }
                if end.is_some() {
                    break;
                }
                assert_eq!(
                    chars.next().map(|(_, c)| c),
                    Some('"'),
                    "label value not quoted: {line:?}"
                );
                let mut value = String::new();
                loop {
                    match chars
                        .next()
                        .unwrap_or_else(|| panic!("unterminated label value: {line:?}"))
                    {
                        (_, '\\') => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            other => panic!("bad escape {other:?} in {line:?}"),
                        },
                        (_, '"') => break,
                        (_, c) => value.push(c),
                    }
                }
                if !value.is_empty() {
                    labels.insert(key.trim().to_string(), value);
                }
                match chars.peek().map(|&(_, c)| c) {
                    Some(',') => {
                        chars.next();
                    }
                    Some('}') => {}
                    other => panic!("expected , or }} after a label, got {other:?}: {line:?}"),
                }
            }
            rest = &body[end.unwrap()..];
        }
        let mut parts = rest.split_whitespace();
        let value_text = parts.next().unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = value_text
            .parse()
            .unwrap_or_else(|_| panic!("value {value_text:?} is not a number: {line:?}"));
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn same_number(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &Labels) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|s| s.name == name && &s.labels == labels)
}

// ---------------------------------------------------------------------------------------------
// 1. promtool

/// Every scenario's `--format prom` passes `promtool check metrics` without a lint problem, and
/// its `nodepulse_status{check="node"}` is the exit code.
#[test]
fn prom_passes_promtool_for_every_scenario() {
    let deadline = Deadline::new("promtool", 30);
    for s in SCENARIOS {
        deadline.check(s.name);
        let r = agent_format(s, "prom");
        let out = tool(
            "promtool",
            &["check", "metrics"],
            r.stdout.as_bytes(),
            None,
            20,
        );
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{}: promtool check metrics: {}\n{said}\n--- input:\n{}",
            s.name,
            out.status,
            r.stdout
        );
        let samples = parse_prom(&r.stdout);
        let node = find(&samples, "nodepulse_status", &labels(&[("check", "node")]))
            .unwrap_or_else(|| panic!("{}: no nodepulse_status{{check=\"node\"}}", s.name));
        assert_eq!(
            node.value, r.code as f64,
            "{}: node status vs exit code",
            s.name
        );
        // Line format of the same scenario agrees on the verdict.
        let line = agent_format(s, "line");
        assert_eq!(
            status_code(token(&line.stdout, "st").unwrap()),
            r.code,
            "{}: st= vs prom exit code",
            s.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. node_exporter's textfile collector

/// `--out prom:DIR/nodepulse.prom` is read by node_exporter's textfile collector without an
/// error, and every sample we wrote comes back from its /metrics with the same labels and value.
#[test]
fn node_exporter_textfile_collector_serves_every_sample() {
    let deadline = Deadline::new("node_exporter", 30);
    let dir = TempDir::new("textfile");
    let prom_dir = dir.join("textfile");
    std::fs::create_dir(&prom_dir).unwrap();
    let file = prom_dir.join("nodepulse.prom");
    let s = &SCENARIOS[0];
    // Two runs with one state file: the second's history is served too.
    let state = dir.join("state");
    for _ in 0..2 {
        let r = agent(&scenario_args(
            s,
            &[
                "--out",
                &format!("prom:{}", file.display()),
                "--state",
                state.to_str().unwrap(),
            ],
        ));
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (0, "", ""),
            "--out prom: run"
        );
    }
    let written = std::fs::read_to_string(&file).unwrap();
    let ours = parse_prom(&written);
    assert!(ours.len() > 10, "too few samples written:\n{written}");

    let port = free_tcp_port();
    let args = vec![
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--collector.disable-defaults".to_string(),
        "--collector.textfile".to_string(),
        format!("--collector.textfile.directory={}", prom_dir.display()),
    ];
    let mut ne = Peer::start(
        "prometheus-node-exporter",
        "prometheus-node-exporter",
        &args,
        dir.join("node_exporter.log"),
    );
    let body = wait_http(
        &mut ne,
        port,
        "/metrics",
        |b| b.contains("node_textfile_scrape_error"),
        &deadline,
    );
    let scraped = parse_prom(&body);

    let err = find(&scraped, "node_textfile_scrape_error", &Labels::new())
        .expect("node_textfile_scrape_error");
    assert_eq!(
        err.value,
        0.0,
        "node_exporter could not parse our file; its log:\n{}\n--- file:\n{written}",
        ne.log()
    );
    let mtime = find(
        &scraped,
        "node_textfile_mtime_seconds",
        &labels(&[("file", file.to_str().unwrap())]),
    )
    .or_else(|| {
        find(
            &scraped,
            "node_textfile_mtime_seconds",
            &labels(&[("file", "nodepulse.prom")]),
        )
    })
    .expect("node_textfile_mtime_seconds for our file");
    assert!(mtime.value > 0.0);

    // The values the fixture fixes, independently of our own file.
    for (name, l, want) in [
        ("nodepulse_status", labels(&[("check", "node")]), 0.0),
        (
            "nodepulse_service_active",
            labels(&[("service", "openclaw-node"), ("user", "node")]),
            1.0,
        ),
        (
            "nodepulse_service_active",
            labels(&[("service", "chrony")]),
            1.0,
        ),
        ("nodepulse_memory_total_bytes", Labels::new(), 1.024e9),
        (
            "nodepulse_memory_available_bytes",
            Labels::new(),
            614_400_000.0,
        ),
        ("nodepulse_uptime_seconds", Labels::new(), 86400.0),
        ("nodepulse_load15", Labels::new(), 0.56),
        ("nodepulse_run_seq", Labels::new(), 2.0),
        ("nodepulse_reboot", Labels::new(), 0.0),
    ] {
        let got = find(&scraped, name, &l)
            .unwrap_or_else(|| panic!("{name}{l:?} not served by node_exporter:\n{body}"));
        assert!(
            same_number(got.value, want),
            "{name}{l:?}: node_exporter serves {}, want {want}",
            got.value
        );
    }
    // And everything we wrote, as we wrote it.
    for sample in &ours {
        let got = find(&scraped, &sample.name, &sample.labels).unwrap_or_else(|| {
            panic!(
                "{} {:?} written but not served by node_exporter",
                sample.name, sample.labels
            )
        });
        assert!(
            same_number(got.value, sample.value),
            "{} {:?}: wrote {}, node_exporter serves {}",
            sample.name,
            sample.labels,
            sample.value,
            got.value
        );
    }
    ne.assert_running();
}

// ---------------------------------------------------------------------------------------------
// 3 and 5. VictoriaMetrics' InfluxDB line-protocol listener over UDP

/// One line of InfluxDB line protocol, unescaped.
#[derive(Debug)]
struct Point {
    measurement: String,
    tags: Labels,
    /// Numeric fields as VictoriaMetrics stores them (`1i` → 1, `true` → 1); strings apart.
    numbers: BTreeMap<String, f64>,
    strings: BTreeMap<String, String>,
    timestamp_ns: u64,
}

/// A strict line-protocol parser: panics on anything malformed (an unescaped space, comma or
/// equals sign in a tag, a bad field value, a missing timestamp).
fn parse_influx_line(line: &str) -> Point {
    let bytes: Vec<char> = line.chars().collect();
    let mut i = 0;
    // An escaped token up to one of `stops` (unescaped).
    let token = |i: &mut usize, stops: &[char]| -> String {
        let mut out = String::new();
        while *i < bytes.len() {
            let c = bytes[*i];
            // The reference's escapes in names: a backslash before a space, comma or `=`.
            if c == '\\' && *i + 1 < bytes.len() && [' ', ',', '='].contains(&bytes[*i + 1]) {
                out.push(bytes[*i + 1]);
                *i += 2;
                continue;
            }
            if stops.contains(&c) {
                break;
            }
            assert!(c != '\n' && c != '\r', "newline inside {line:?}");
            out.push(c);
            *i += 1;
        }
        out
    };
    let measurement = token(&mut i, &[',', ' ']);
    assert!(!measurement.is_empty(), "empty measurement: {line:?}");
    let mut tags = Labels::new();
    while i < bytes.len() && bytes[i] == ',' {
        i += 1;
        let key = token(&mut i, &['=', ',', ' ']);
        assert!(
            i < bytes.len() && bytes[i] == '=',
            "tag without '=': {line:?}"
        );
        i += 1;
        let value = token(&mut i, &[',', ' ', '=']);
        assert!(
            i < bytes.len() && bytes[i] != '=',
            "unescaped '=' in a tag value: {line:?}"
        );
        assert!(
            !key.is_empty() && !value.is_empty(),
            "empty tag key or value: {line:?}"
        );
        assert!(tags.insert(key, value).is_none(), "duplicate tag: {line:?}");
    }
    assert!(i < bytes.len() && bytes[i] == ' ', "no field set: {line:?}");
    i += 1;
    let mut numbers = BTreeMap::new();
    let mut strings = BTreeMap::new();
    loop {
        let key = token(&mut i, &['=', ',', ' ']);
        assert!(
            !key.is_empty() && i < bytes.len() && bytes[i] == '=',
            "bad field key: {line:?}"
        );
        i += 1;
        if bytes.get(i) == Some(&'"') {
            i += 1;
            let mut s = String::new();
            loop {
                match bytes.get(i) {
                    Some('\\') if matches!(bytes.get(i + 1), Some('"') | Some('\\')) => {
                        s.push(bytes[i + 1]);
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        s.push(c);
                        i += 1;
                    }
                    None => panic!("unterminated string field: {line:?}"),
                }
            }
            strings.insert(key, s);
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != ',' && bytes[i] != ' ' {
                i += 1;
            }
            let raw: String = bytes[start..i].iter().collect();
            let value = match raw.as_str() {
                "t" | "T" | "true" | "True" | "TRUE" => 1.0,
                "f" | "F" | "false" | "False" | "FALSE" => 0.0,
                r if r.ends_with('i') => r[..r.len() - 1]
                    .parse::<i64>()
                    .unwrap_or_else(|_| panic!("bad integer {r:?}: {line:?}"))
                    as f64,
                r if r.ends_with('u') => r[..r.len() - 1]
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("bad unsigned {r:?}: {line:?}"))
                    as f64,
                r => {
                    let v: f64 = r
                        .parse()
                        .unwrap_or_else(|_| panic!("bad float {r:?}: {line:?}"));
                    assert!(
                        v.is_finite()
                            && !r.contains(|c: char| c.is_ascii_alphabetic()
                                && c != 'e'
                                && c != 'E'),
                        "bad float {r:?}: {line:?}"
                    );
                    v
                }
            };
            numbers.insert(key, value);
        }
        match bytes.get(i) {
            Some(',') => i += 1,
            Some(' ') => break,
            other => panic!("expected , or space after a field, got {other:?}: {line:?}"),
        }
    }
    i += 1;
    let ts: String = bytes[i..].iter().collect();
    let timestamp_ns = ts
        .parse()
        .unwrap_or_else(|_| panic!("bad timestamp {ts:?}: {line:?}"));
    Point {
        measurement,
        tags,
        numbers,
        strings,
        timestamp_ns,
    }
}

fn parse_influx(text: &str) -> Vec<Point> {
    assert!(
        text.ends_with('\n'),
        "influx output does not end with a newline"
    );
    text.lines().map(parse_influx_line).collect()
}

/// A series as VictoriaMetrics exports it: its labels (without `__name__`), last value and
/// timestamp.
#[derive(Debug)]
struct Series {
    name: String,
    labels: Labels,
    value: f64,
    timestamp_ms: u64,
}

struct Victoria {
    peer: Peer,
    http: u16,
    influx: u16,
    _dir: TempDir,
}

impl Victoria {
    fn start(deadline: &Deadline) -> Victoria {
        let dir = TempDir::new("vm");
        let http = free_tcp_port();
        let mut influx = free_tcp_port();
        while influx == http {
            influx = free_tcp_port();
        }
        let args = vec![
            format!("-storageDataPath={}", dir.str("data")),
            format!("-httpListenAddr=127.0.0.1:{http}"),
            format!("-influxListenAddr=127.0.0.1:{influx}"),
            "-loggerLevel=WARN".to_string(),
        ];
        let mut peer = Peer::start(
            "victoria-metrics",
            "victoria-metrics",
            &args,
            dir.join("vm.log"),
        );
        wait_http(&mut peer, http, "/health", |b| b.trim() == "OK", deadline);
        Victoria {
            peer,
            http,
            influx,
            _dir: dir,
        }
    }

    /// Every series matching `selector`, via /api/v1/export turned by jq into
    /// `name␟value␞name␟value...␝value␝timestamp` lines (label values are arbitrary text).
    fn export(&mut self, selector: &str) -> Vec<Series> {
        self.peer.assert_running();
        let _ = http_get(self.http, "/internal/force_flush");
        let Some((200, body)) = http_get(
            self.http,
            &format!("/api/v1/export?match[]={}", urlencode(selector)),
        ) else {
            return Vec::new();
        };
        let jq = tool(
            "jq",
            &[
                "-j",
                r#"(.metric | to_entries | map(.key + "\u001f" + .value) | join("\u001e")) + "\u001d" + (.values[-1] | tostring) + "\u001d" + (.timestamps[-1] | tostring) + "\n""#,
            ],
            body.as_bytes(),
            None,
            10,
        );
        assert!(
            jq.status.success(),
            "jq on VictoriaMetrics' export: {}\n{body}",
            String::from_utf8_lossy(&jq.stderr)
        );
        String::from_utf8(jq.stdout)
            .unwrap()
            .lines()
            .map(|line| {
                let mut parts = line.split('\u{1d}');
                let mut labels: Labels = parts
                    .next()
                    .unwrap()
                    .split('\u{1e}')
                    .map(|kv| {
                        kv.split_once('\u{1f}')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .unwrap()
                    })
                    .collect();
                let name = labels.remove("__name__").unwrap();
                let value = parts.next().unwrap().parse().unwrap();
                let timestamp_ms = parts.next().unwrap().parse().unwrap();
                Series {
                    name,
                    labels,
                    value,
                    timestamp_ms,
                }
            })
            .collect()
    }

    /// Sends with the agent (`--udp influx:...`, and the same record `--out` to a file to know
    /// what was sent) until `want` series named nodepulse_* have arrived: the first datagram may
    /// beat the UDP listener's start. Returns the series and the points sent last.
    fn send_and_collect(
        &mut self,
        agent_args: &[String],
        want: usize,
        deadline: &Deadline,
    ) -> (Vec<Series>, Vec<Point>) {
        let dir = TempDir::new("sent");
        let sent_file = dir.join("sent.influx");
        loop {
            let mut args = agent_args.to_vec();
            args.extend([
                "--udp".to_string(),
                format!("influx:127.0.0.1:{}", self.influx),
            ]);
            args.extend([
                "--out".to_string(),
                format!("influx:{}", sent_file.display()),
            ]);
            let r = agent(&args);
            assert!(
                r.stdout.is_empty() && r.stderr.is_empty(),
                "--udp influx: stdout {:?} stderr {:?}",
                r.stdout,
                r.stderr
            );
            assert!((0..=2).contains(&r.code), "--udp influx: exit {}", r.code);
            let sent = parse_influx(&std::fs::read_to_string(&sent_file).unwrap());
            let until = Instant::now() + Duration::from_secs(3);
            let mut series = Vec::new();
            while Instant::now() < until {
                series = self.export(r#"{__name__=~"nodepulse_.*"}"#);
                if series.len() >= want {
                    return (series, sent);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(!deadline.expired(), "VictoriaMetrics has {} of {want} series after resending for the whole budget: {series:#?}\nits log:\n{}", series.len(), self.peer.log());
        }
    }
}

/// Checks that each numeric field of `points` arrived as series `measurement_field` with the
/// point's tags, with the same value.
fn assert_points_stored(points: &[Point], series: &[Series]) {
    for p in points {
        for (field, &value) in &p.numbers {
            let name = format!("{}_{}", p.measurement, field);
            let got = series
                .iter()
                .find(|s| s.name == name && s.labels == p.tags)
                .unwrap_or_else(|| {
                    panic!(
                        "{name}{:?} not stored by VictoriaMetrics; it has: {:#?}",
                        p.tags,
                        series
                            .iter()
                            .map(|s| (&s.name, &s.labels))
                            .collect::<Vec<_>>()
                    )
                });
            assert!(
                same_number(got.value, value),
                "{name}{:?}: sent {value}, VictoriaMetrics has {}",
                p.tags,
                got.value
            );
            assert_eq!(
                got.timestamp_ms,
                p.timestamp_ns / 1_000_000,
                "{name}: timestamp"
            );
            assert_eq!(
                p.timestamp_ns % 1_000_000,
                0,
                "{name}: timestamp in ns is not whole ms (the record's t)"
            );
        }
    }
}

fn series_value(series: &[Series], name: &str, l: &Labels) -> f64 {
    series
        .iter()
        .find(|s| s.name == name && &s.labels == l)
        .unwrap_or_else(|| panic!("{name}{l:?} not in VictoriaMetrics"))
        .value
}

/// `--udp influx:127.0.0.1:PORT` into VictoriaMetrics: every numeric field of every line is
/// stored as `nodepulse_FIELD{tags}` with the fixture's values.
#[test]
fn influx_over_udp_into_victoriametrics() {
    let deadline = Deadline::new("VictoriaMetrics", 30);
    let mut vm = Victoria::start(&deadline);
    let s = &SCENARIOS[0];
    let reference = agent_format(s, "influx");
    let points = parse_influx(&reference.stdout);
    let want: usize = points.iter().map(|p| p.numbers.len()).sum();
    let (series, sent) = vm.send_and_collect(&scenario_args(s, &[]), want, &deadline);
    let node = sent
        .iter()
        .find(|p| p.tags.get("check").map(String::as_str) == Some("node"))
        .unwrap();
    assert_eq!(
        node.strings.get("boot_id").map(String::as_str),
        Some("0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c")
    );
    assert_eq!(
        node.strings.get("kernel").map(String::as_str),
        Some("6.1.0-28-arm64")
    );

    let host = ("host", "edge-ok");
    assert_eq!(
        series_value(
            &series,
            "nodepulse_status",
            &labels(&[("check", "node"), host])
        ),
        reference.code as f64
    );
    assert_eq!(reference.code, 0);
    let svc = labels(&[
        ("check", "service"),
        host,
        ("service", "openclaw-node"),
        ("user", "node"),
    ]);
    assert_eq!(series_value(&series, "nodepulse_pid", &svc), 812.0);
    // Its restarts come from its invocation link: no process start time is read for it.
    assert!(
        !series
            .iter()
            .any(|s| s.name == "nodepulse_start_cs" && s.labels == svc),
        "a unit settled by its invocation link has no start_cs"
    );
    assert_eq!(
        series_value(
            &series,
            "nodepulse_pid",
            &labels(&[("check", "service"), host, ("service", "chrony")])
        ),
        600.0
    );
    assert_eq!(
        series_value(
            &series,
            "nodepulse_total_bytes",
            &labels(&[("check", "memory"), host])
        ),
        1_024_000_000.0
    );
    assert_eq!(
        series_value(
            &series,
            "nodepulse_uid",
            &labels(&[("check", "linger"), host, ("user", "node")])
        ),
        1000.0
    );
    assert!(same_number(
        series_value(
            &series,
            "nodepulse_load5",
            &labels(&[("check", "node"), host])
        ),
        0.34
    ));
    assert_points_stored(&sent, &series);
}

fn copy_tree(from: &str, to: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(format!("{from}/."))
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cp -a: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The run's history on the node's line reaches VictoriaMetrics: after a first run with the
/// same state file, the point sent carries `seq` >= 2, `gap_s` and `reboot`, and VictoriaMetrics
/// stores each as `nodepulse_FIELD{check="node",host}` with the value sent.
#[test]
fn run_history_reaches_victoriametrics() {
    let deadline = Deadline::new("VictoriaMetrics history", 30);
    let mut vm = Victoria::start(&deadline);
    let dir = TempDir::new("vm-history");
    let state = dir.str("state");
    let args = scenario_args(&SCENARIOS[0], &["--state", &state]);
    let first = agent(&args);
    assert!(first.stdout.contains(" seq=1 "), "{}", first.stdout);
    let mut reference = args.clone();
    reference.extend(["--format".to_string(), "influx".to_string()]);
    let want: usize = parse_influx(&agent(&reference).stdout)
        .iter()
        .map(|p| p.numbers.len())
        .sum();
    let (series, sent) = vm.send_and_collect(&args, want, &deadline);
    let node = sent
        .iter()
        .find(|p| p.tags.get("check").map(String::as_str) == Some("node"))
        .unwrap();
    assert!(node.numbers["seq"] >= 3.0, "{:?}", node.numbers);
    assert!(
        node.numbers.contains_key("gap_s") && node.numbers["reboot"] == 0.0,
        "{:?}",
        node.numbers
    );
    let host = labels(&[("check", "node"), ("host", "edge-ok")]);
    assert_eq!(
        series_value(&series, "nodepulse_seq", &host),
        node.numbers["seq"]
    );
    assert_eq!(series_value(&series, "nodepulse_reboot", &host), 0.0);
    assert_points_stored(&sent, &series);
}

/// Names with the characters line protocol must escape (space, comma, equals sign, double
/// quote, backslash, systemd's `\x2d`) in the hostname, a service, a user service and a mount:
/// the output parses, and VictoriaMetrics reads the tag values back as written: exactly, but
/// for a backslash at the end (`%5C`, see `common::influx_tag_name`).
#[test]
fn influx_hostile_names_round_trip_through_victoriametrics() {
    let deadline = Deadline::new("influx hostile names", 30);
    let root = TempDir::new("hostile-root");
    copy_tree(&fixture("systemd-ok"), root.path());
    // The kernel hostname may hold any byte; the agent takes one whitespace-free word, so the
    // space goes into the unit and mount names instead.
    let host = r#"edge,a=b"c\d"#;
    std::fs::write(root.join("proc/sys/kernel/hostname"), format!("{host}\n")).unwrap();
    let mount = "/m a,b=c\"d\\";
    std::fs::create_dir(root.join(&mount[1..])).unwrap();
    let service = r#"my svc,x=1"q\x2d\"#;
    let user_service = "a b,c=d";
    let args: Vec<String> = [
        "--root",
        root.path().to_str().unwrap(),
        "--skip",
        "clock",
        "--service",
        service,
        "--user-service",
        &format!("node:{user_service}"),
        "--mount",
        mount,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    let mut stdout_args = args.clone();
    stdout_args.extend(["--format".to_string(), "influx".to_string()]);
    let reference = agent(&stdout_args);
    assert!(reference.stderr.is_empty(), "{}", reference.stderr);
    let points = parse_influx(&reference.stdout);
    // Our own parser reads the names back.
    let tags_of = |check: &str| {
        points
            .iter()
            .filter(|p| p.tags.get("check").map(String::as_str) == Some(check))
            .map(|p| p.tags.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        points
            .iter()
            .all(|p| p.tags.get("host").map(String::as_str) == Some(host)),
        "host tag: {}",
        reference.stdout
    );
    assert_eq!(
        tags_of("service")
            .iter()
            .map(|t| t["service"].as_str())
            .collect::<Vec<_>>(),
        [
            influx_tag_name(service.as_bytes()),
            influx_tag_name(user_service.as_bytes())
        ],
        "{}",
        reference.stdout
    );
    assert_eq!(
        tags_of("disk")
            .iter()
            .map(|t| t["mount"].as_str())
            .collect::<Vec<_>>(),
        [influx_tag_name(mount.as_bytes())],
        "{}",
        reference.stdout
    );

    let mut vm = Victoria::start(&deadline);
    let want: usize = points.iter().map(|p| p.numbers.len()).sum();
    let (series, sent) = vm.send_and_collect(&args, want, &deadline);
    assert_eq!(
        series_value(
            &series,
            "nodepulse_status",
            &labels(&[
                ("check", "service"),
                ("host", host),
                ("service", &influx_tag_name(service.as_bytes()))
            ])
        ),
        2.0
    );
    assert_eq!(
        series_value(
            &series,
            "nodepulse_status",
            &labels(&[
                ("check", "service"),
                ("host", host),
                ("service", &influx_tag_name(user_service.as_bytes())),
                ("user", "node")
            ])
        ),
        2.0
    );
    assert!(
        series_value(
            &series,
            "nodepulse_size_bytes",
            &labels(&[
                ("check", "disk"),
                ("host", host),
                ("mount", &influx_tag_name(mount.as_bytes()))
            ])
        ) > 0.0
    );
    assert_eq!(
        series_value(
            &series,
            "nodepulse_total_bytes",
            &labels(&[("check", "memory"), ("host", host)])
        ),
        1_024_000_000.0
    );
    assert_points_stored(&sent, &series);
}

// ---------------------------------------------------------------------------------------------
// 4. JSON

/// Checks a document read from stdin (argv[1] = scenario): strict JSON (no NaN, no duplicate
/// key), numbers as numbers (no number in a string, no `-` placeholder), and per scenario the
/// fixture's values with their JSON types.
const JSON_CHECK: &str = r#"
import json, re, sys
name = sys.argv[1]
def no_constant(c): raise ValueError("non-JSON constant " + c)
def no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)): raise ValueError("duplicate key in %r" % keys)
    return dict(pairs)
text = sys.stdin.read()
doc = json.loads(text, parse_constant=no_constant, object_pairs_hook=no_dupes)
errors = []
number = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items(): walk(x, path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v): walk(x, "%s[%d]" % (path, i))
    elif isinstance(v, str):
        if v == "-" or (number.match(v) and not path.endswith((".kernel", ".host", ".name", ".service", ".user", ".path"))):
            errors.append("%s is the string %r, not a number or null" % (path, v))
walk(doc, "$")
def want(path, value):
    v = doc
    try:
        for p in path:
            v = v[p]
    except (KeyError, IndexError, TypeError) as e:
        errors.append("%r missing (%r)" % (path, e)); return
    if type(v) is not type(value) or v != value:
        errors.append("%r is %r (%s), want %r (%s)" % (path, v, type(v).__name__, value, type(value).__name__))
if not isinstance(doc, dict): errors.append("not an object")
want(("v",), "np1")
if not isinstance(doc.get("t_ms"), int) or isinstance(doc.get("t_ms"), bool): errors.append("t_ms not an integer: %r" % doc.get("t_ms"))
if name == "systemd-ok":
    want(("host",), "edge-ok")
    want(("status",), "ok")
    want(("services", 0, "pid"), 812)
    want(("services", 0, "start_cs"), None)
    want(("services", 1, "pid"), 600)
    want(("users", 0, "uid"), 1000)
    want(("system", "uptime_s"), 86400)
    # The schema allows either spelling of the load and memory keys.
    if "load" in doc["system"]:
        want(("system", "load"), [0.12, 0.34, 0.56])
    else:
        want(("system", "load1"), 0.12); want(("system", "load5"), 0.34); want(("system", "load15"), 0.56)
    if "total_kb" in doc["memory"]:
        want(("memory", "total_kb"), 1000000)
    else:
        want(("memory", "total_bytes"), 1024000000)
    want(("memory", "avail_estimated"), False)
    want(("timesync", "synced_age_s"), None)
if name == "broken":
    want(("host",), None)
    for k in ("uptime_s", "boot_id", "kernel"): want(("system", k), None)
    for k in ("load", "load1", "load5", "load15"):
        if k in doc["system"]: want(("system", k), None)
    if not any(k in doc["system"] for k in ("load", "load1")): errors.append("no load key in system")
    want(("users", 0, "uid"), None)
    want(("services", 0, "pid"), None)
    want(("services", 0, "start_cs"), None)
    want(("timesync", "synced_age_s"), None)
    want(("memory", "status"), "unknown")
if name == "this machine":
    for k in ("offset_us", "maxerror_us", "esterror_us"):
        v = doc.get("clock", {}).get(k)
        if not isinstance(v, int) or isinstance(v, bool): errors.append("clock.%s is %r, want an integer" % (k, v))
    for d in doc.get("disks", []):
        for k in ("size_bytes", "avail_bytes"):
            if not isinstance(d.get(k), int): errors.append("disk %r %s is %r" % (d.get("path"), k, d.get(k)))
if errors:
    print("\n".join(errors)); sys.exit(1)
"#;

/// Every scenario's `--format json` is one line that `python3 -m json.tool` and `jq -e .`
/// accept, with numbers as JSON numbers and unknowns as null.
#[test]
fn json_is_valid_and_typed_for_every_scenario() {
    let deadline = Deadline::new("json", 30);
    for s in SCENARIOS {
        deadline.check(s.name);
        let r = agent_format(s, "json");
        assert_eq!(
            r.stdout.matches('\n').count(),
            1,
            "{}: not one line: {:?}",
            s.name,
            r.stdout
        );
        let tool_out = tool(
            "python3",
            &["-m", "json.tool"],
            r.stdout.as_bytes(),
            None,
            10,
        );
        assert!(
            tool_out.status.success(),
            "{}: python3 -m json.tool: {}\n{}",
            s.name,
            String::from_utf8_lossy(&tool_out.stderr),
            r.stdout
        );
        let jq = tool("jq", &["-e", "."], r.stdout.as_bytes(), None, 10);
        assert!(
            jq.status.success(),
            "{}: jq -e . exit {}: {}\n{}",
            s.name,
            jq.status,
            String::from_utf8_lossy(&jq.stderr),
            r.stdout
        );
        let check = tool(
            "python3",
            &["-c", JSON_CHECK, s.name],
            r.stdout.as_bytes(),
            None,
            10,
        );
        assert!(
            check.status.success(),
            "{}: {}{}\n--- json:\n{}",
            s.name,
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr),
            r.stdout
        );
        // The verdict agrees with the exit code.
        let status = tool("jq", &["-r", ".status"], r.stdout.as_bytes(), None, 10);
        assert_eq!(
            status_code(String::from_utf8_lossy(&status.stdout).trim()),
            r.code,
            "{}: .status vs exit code",
            s.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. nagios

/// Splits ` 'label'=value ...` into perfdata items; `Err` on anything else.
fn perfdata_items(mut rest: &str) -> Result<Vec<(String, String)>, String> {
    let mut items = Vec::new();
    while !rest.is_empty() {
        // Items are separated by one space; the first follows the `|`.
        let r = if items.is_empty() {
            Some(rest)
        } else {
            rest.strip_prefix(' ')
        }
        .and_then(|r| r.strip_prefix('\''))
        .ok_or_else(|| format!("perfdata item does not start with \"'\": {rest:?}"))?;
        let close = r.find('\'').ok_or("unterminated label")?;
        let label = &r[..close];
        if label.is_empty() {
            return Err("empty label".into());
        }
        let r = r[close + 1..]
            .strip_prefix('=')
            .ok_or_else(|| format!("no '=' after label {label:?}"))?;
        let end = r.find(' ').unwrap_or(r.len());
        let value = &r[..end];
        if value.is_empty() {
            return Err(format!("empty value for {label:?}"));
        }
        items.push((label.to_string(), value.to_string()));
        rest = &r[end..];
    }
    Ok(items)
}

/// A plugin line read back: the exit code its state word means, the perfdata items (label,
/// value), and whether the line has a `|`.
type PluginLine = (i32, Vec<(String, String)>, bool);

/// `NODEPULSE STATE - summary | perfdata`: the state word and the exit code, `Err` if the
/// line does not have the plugin shape. The perfdata after `|` may be empty here.
fn nagios_parse(out: &str) -> Result<PluginLine, String> {
    let line = out.strip_suffix('\n').ok_or("no trailing newline")?;
    if line.contains('\n') {
        return Err("more than one line".into());
    }
    let rest = line
        .strip_prefix("NODEPULSE ")
        .ok_or("does not start with \"NODEPULSE \"")?;
    let (word, rest) = rest.split_once(" - ").ok_or("no \" - \" after the state")?;
    let code = match word {
        "OK" => 0,
        "WARNING" => 1,
        "CRITICAL" => 2,
        "UNKNOWN" => 3,
        other => return Err(format!("state word {other:?}")),
    };
    match rest.split_once('|') {
        None => {
            if rest.is_empty() {
                return Err("empty summary".into());
            }
            Ok((code, Vec::new(), false))
        }
        Some((summary, perf)) => {
            if summary.is_empty() || perf.contains('|') {
                return Err("empty summary or a second '|'".into());
            }
            if summary.ends_with(' ') || perf.starts_with(' ') {
                return Err("a space around '|'".into());
            }
            Ok((code, perfdata_items(perf)?, true))
        }
    }
}

/// Every scenario's `--format nagios` is `NODEPULSE STATE - summary | 'label'=value...`, its
/// state word matches the exit code, and both match the line record's `st=`.
#[test]
fn nagios_shape_and_exit_code_for_every_scenario() {
    for s in SCENARIOS {
        let r = agent_format(s, "nagios");
        let (code, perf, _) =
            nagios_parse(&r.stdout).unwrap_or_else(|e| panic!("{}: {e}: {:?}", s.name, r.stdout));
        assert_eq!(
            code, r.code,
            "{}: state word vs exit code: {:?}",
            s.name, r.stdout
        );
        let line = agent_format(s, "line");
        assert_eq!(
            status_code(token(&line.stdout, "st").unwrap()),
            r.code,
            "{}: nagios exit vs line st=",
            s.name
        );
        // Perfdata: value[UOM] then up to four `;`-separated plain numbers (no ranges).
        for (label, value) in &perf {
            let fields: Vec<&str> = value.split(';').collect();
            assert!(
                fields.len() <= 5,
                "{}: {label}: too many fields {value:?}",
                s.name
            );
            let num = fields[0].trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
            assert!(
                num.parse::<f64>().is_ok(),
                "{}: {label}: value {value:?} not a number",
                s.name
            );
            for f in &fields[1..] {
                assert!(
                    f.chars().all(|c| c.is_ascii_digit() || ".-".contains(c)),
                    "{}: {label}: bad field {f:?} in {value:?}",
                    s.name
                );
            }
        }
        // Fixtures with memory and load give the same perfdata labels.
        if s.root.is_some() && s.name != "broken" && s.name != "missing root" {
            let labels: Vec<&str> = perf.iter().map(|(l, _)| l.as_str()).collect();
            assert_eq!(
                labels,
                ["mem_used", "load1", "load5", "load15"],
                "{}: {:?}",
                s.name,
                r.stdout
            );
            assert_eq!(perf[0].1, "40%;90;95;0;100", "{}", s.name);
        }
    }
}

/// Reads a plugin output line (stdin) with Debian's python3-nagiosplugin: every perfdata item
/// becomes a `Performance` whose text is the item's, every threshold a `Range` that is a plain
/// number (0..N); prints each item's state as that library's evaluation gives it (`label state`).
const NAGIOSPLUGIN_READ: &str = r#"
import re, sys
from nagiosplugin import Performance, Range
line = sys.stdin.read().rstrip("\n")
text, sep, perf = line.partition("|")
assert sep, "no perfdata: %r" % line
assert not text.endswith(" ") and not perf.startswith(" "), "space around |: %r" % line
for item in re.findall(r"'[^']*'=\S*|[^' ]+=\S*", perf):
    label, _, rest = item.rpartition("=")
    label = label[1:-1] if label.startswith("'") else label
    fields = (rest.split(";") + [""] * 5)[:5]
    m = re.fullmatch(r"(-?[0-9.]+)([a-zA-Z%]*)", fields[0])
    assert m, "value of %r" % item
    warn, crit = fields[1], fields[2]
    for t in (warn, crit):
        # A plain number: the range 0..t, alerting above it (no `N:`, `~`, `@`).
        r = Range(t) if t else None
        assert r is None or (re.fullmatch(r"-?[0-9.]+", t) and r.start == 0 and r.end == float(t) and not r.invert), "threshold %r of %r" % (t, item)
    p = Performance(label, m.group(1), m.group(2), warn, crit, fields[3], fields[4])
    quoted = str(p) if str(p).startswith("'") else "'%s'%s" % (label, str(p)[len(label):])
    assert quoted == item, "nagiosplugin writes %r for %r" % (str(p), item)
    v = float(m.group(1))
    state = "ok"
    if crit and not Range(crit).match(v): state = "critical"
    elif warn and not Range(warn).match(v): state = "warning"
    print(label, state)
"#;

fn nagiosplugin_states(output: &str) -> BTreeMap<String, String> {
    let out = tool(
        "/usr/bin/python3",
        &["-c", NAGIOSPLUGIN_READ],
        output.as_bytes(),
        None,
        30,
    );
    assert!(
        out.status.success(),
        "python3-nagiosplugin refused {output:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (label, state) = l.rsplit_once(' ').unwrap();
            (label.to_string(), state.to_string())
        })
        .collect()
}

/// A real perfdata reader (python3-nagiosplugin) reads every item of every scenario with its
/// thresholds, and its evaluation of them agrees with the agent's verdicts on the golden record.
#[test]
fn nagiosplugin_reads_every_perfdata_item_and_agrees_with_the_verdicts() {
    for s in SCENARIOS {
        let r = agent_format(s, "nagios");
        if r.stdout.contains('|') {
            nagiosplugin_states(&r.stdout);
        }
    }
    let golden =
        std::fs::read_to_string(common::repo().join("tests/golden/full-synced.nagios")).unwrap();
    let states = nagiosplugin_states(&golden);
    for (label, want) in [
        ("clock_offset", "warning"), // clock warn (offset)
        ("clock_maxerror", "ok"),
        ("disk_used_/", "ok"),           // 50% used
        ("disk_used_/data", "warning"),  // 7% free: space warns (inodes make it critical)
        ("disk_used_/boot", "critical"), // disk /boot crit (space)
        ("mem_used", "warning"),         // memory warn (available)
        ("load1", "ok"),
    ] {
        assert_eq!(
            states.get(label).map(String::as_str),
            Some(want),
            "{label}: {states:?}\n{golden}"
        );
    }
}

/// The plugin guidelines' shape when there is no performance data: no `|` at all (`text |`
/// with nothing after it is not `text | perfdata`).
#[test]
fn nagios_without_perfdata_has_no_dangling_pipe() {
    let ok = Scenario {
        name: "systemd-ok, service only",
        root: Some("systemd-ok"),
        args: &["--service", "chrony", "--only", "service"],
    };
    for s in [&SCENARIOS[6], &SCENARIOS[7], &ok] {
        let r = agent_format(s, "nagios");
        let (_, perf, pipe) =
            nagios_parse(&r.stdout).unwrap_or_else(|e| panic!("{}: {e}: {:?}", s.name, r.stdout));
        assert!(
            perf.is_empty(),
            "{}: expected no perfdata: {:?}",
            s.name,
            r.stdout
        );
        assert!(
            !pipe,
            "{}: '|' with no performance data after it: {:?}",
            s.name, r.stdout
        );
    }
}

/// The line record and the nagios output name the same host (a sanity link between formats).
#[test]
fn nagios_ok_summary_names_the_host() {
    let r = agent_format(&SCENARIOS[0], "nagios");
    assert!(
        r.stdout
            .starts_with("NODEPULSE OK - all checks ok on edge-ok|"),
        "{:?}",
        r.stdout
    );
    let line = agent_format(&SCENARIOS[0], "line");
    assert_eq!(token(&line.stdout, "host"), Some("edge-ok"));
}

/// `--format text`: one line per check, worst first, with the record's exit code. For every
/// scenario, the lines' state words are the checks' statuses that the InfluxDB lines carry (one
/// per check, in severity order), a line that is not OK says what is wrong, why it matters and
/// the fix (`what: why - fix`), and the exit code is the np1 record's.
#[test]
fn text_has_a_line_per_check_worst_first_and_the_record_exit_code() {
    // Severity order of the lines, and each state's exit code.
    let state = |word: &str| match word {
        "CRITICAL" => (0, 2),
        "WARNING" => (1, 1),
        "UNKNOWN" => (2, 3),
        "OK" => (3, 0),
        other => panic!("unknown state word {other:?}"),
    };
    for s in SCENARIOS {
        let text = agent_format(s, "text");
        let line = agent_format(s, "line");
        assert_eq!(text.code, line.code, "{}: text exit vs line exit", s.name);
        assert_eq!(
            status_code(token(&line.stdout, "st").unwrap()),
            text.code,
            "{}: text exit vs line st=",
            s.name
        );
        let mut ranks = Vec::new();
        for l in text.stdout.lines() {
            let (word, rest) = l
                .split_once(' ')
                .unwrap_or_else(|| panic!("{}: {l:?}", s.name));
            let (rank, _) = state(word);
            ranks.push(rank);
            if word != "OK" {
                let (what, rest) = rest
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{}: {l:?}", s.name));
                let (why, fix) = rest
                    .split_once(" - ")
                    .unwrap_or_else(|| panic!("{}: {l:?}", s.name));
                assert!(
                    !what.is_empty() && !why.is_empty() && !fix.is_empty(),
                    "{}: {l:?}",
                    s.name
                );
            }
        }
        assert!(
            ranks.windows(2).all(|w| w[0] <= w[1]),
            "{}: not worst first: {:?}",
            s.name,
            text.stdout
        );
        // The worst line's state is the exit code's (UNKNOWN only when nothing is worse).
        let worst = text
            .stdout
            .lines()
            .next()
            .map_or(0, |l| state(l.split(' ').next().unwrap()).1);
        assert_eq!(worst, text.code, "{}: {:?}", s.name, text.stdout);
        // The same checks as the InfluxDB lines (all but the node's), status for status.
        let influx = agent_format(s, "influx");
        let mut statuses: Vec<i32> = parse_influx(&influx.stdout)
            .iter()
            .filter(|p| {
                p.tags.get("check").is_some_and(|c| c != "node") && p.numbers.contains_key("status")
            })
            .map(|p| p.numbers["status"] as i32)
            .collect();
        let order = |code: &i32| match code {
            2 => 0,
            1 => 1,
            3 => 2,
            _ => 3,
        };
        statuses.sort_by_key(order);
        let from_text: Vec<i32> = text
            .stdout
            .lines()
            .map(|l| state(l.split(' ').next().unwrap()).1)
            .collect();
        assert_eq!(from_text, statuses, "{}: {:?}", s.name, text.stdout);
    }
}
