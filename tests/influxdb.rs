//! The agent's InfluxDB line protocol read back by a real InfluxDB 1.x (Debian's `influxdb`),
//! started on loopback for the test: names with systemd's `\x2d`, spaces, commas, `=`, quotes,
//! a backslash at the end, `%` and bytes that are not UTF-8, sent over HTTP `/write` and over
//! its UDP listener; `SHOW TAG VALUES` and a `WHERE` on the exact name read them back.
//!
//! A missing `influxd` fails the test (tests/run.sh installs it). Every wait is bounded.

mod common;
use common::{fixture_copy, free_tcp_port, free_udp_port, influx_tag_name, run, TempDir};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `influxd` on loopback with its own directories, killed when dropped.
struct Influx {
    child: Child,
    http: u16,
    udp: u16,
    _dir: TempDir,
}

impl Influx {
    fn start() -> Influx {
        let dir = TempDir::new("influxd");
        let (http, rpc, udp) = (free_tcp_port(), free_tcp_port(), free_udp_port());
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n\
             [[udp]]\n  enabled = true\n  bind-address = \"127.0.0.1:{udp}\"\n  database = \"udp\"\n  \
             batch-size = 1\n  batch-timeout = \"10ms\"\n",
            d = dir.path().display()
        );
        std::fs::write(dir.join("influxdb.conf"), config).unwrap();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let child = Command::new("influxd")
            .arg("-config")
            .arg(dir.join("influxdb.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start influxd: {e}; it is a required test peer: install the Debian package `influxdb` (tests/run.sh does)"));
        let mut db = Influx {
            child,
            http,
            udp,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while db.request("GET", "/ping", "").map(|(code, _)| code) != Some(204) {
            if let Some(status) = db.child.try_wait().unwrap() {
                panic!("influxd exited ({status}): {}", db.log());
            }
            assert!(
                Instant::now() < deadline,
                "influxd not up in 30 s: {}",
                db.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        db.query("CREATE DATABASE tcp");
        db.query("CREATE DATABASE udp");
        db
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.join("log")).unwrap_or_default()
    }

    /// One HTTP/1.0 request; the status code and body.
    fn request(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let mut s =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.http).into(), Duration::from_secs(2))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body.as_bytes()).ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let code = text.split(' ').nth(1)?.parse().ok()?;
        Some((code, text.split_once("\r\n\r\n")?.1.to_string()))
    }

    /// An InfluxQL statement on the database the HTTP writes go to; its JSON result.
    fn query(&self, q: &str) -> serde_json::Value {
        self.query_db("tcp", q)
    }

    /// An InfluxQL statement on database `db`; its JSON result.
    fn query_db(&self, db: &str, q: &str) -> serde_json::Value {
        let body: String = form_urlencoded(&[("q", q)]);
        let (code, text) = self
            .request("POST", &format!("/query?db={db}"), &body)
            .expect("influxd answers /query");
        assert_eq!(code, 200, "{q}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Every value of tag `key` in database `db`.
    fn tag_values(&self, db: &str, key: &str) -> Vec<String> {
        let v = self.query_db(
            db,
            &format!("SHOW TAG VALUES FROM nodepulse WITH KEY = \"{key}\""),
        );
        v["results"][0]["series"][0]["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r[1].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Influx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An InfluxQL string literal: single quotes, backslash and quote escaped.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

const FSCK: &str = r"systemd-fsck@dev-disk-by\x2dlabel-data.service";
const ODD_SERVICE: &str = r#"my svc,x=1"q'\"#;
const MOUNT: &str = r#"/m a,b=c"d 100%\"#;

/// The agent's influx record for a node named `host`, with the odd names above.
fn record(host: &[u8], udp: Option<u16>) -> String {
    let node = fixture_copy("systemd-ok", "influx-node");
    let root = node.join("root");
    let mut hostname = host.to_vec();
    hostname.push(b'\n');
    std::fs::write(root.join("proc/sys/kernel/hostname"), hostname).unwrap();
    std::fs::create_dir_all(root.join(&MOUNT[1..])).unwrap();
    let out = node.join("record.influx");
    let mut args: Vec<String> = [
        "--root",
        root.to_str().unwrap(),
        "--skip",
        "clock",
        "--state",
        "none",
        "--service",
        FSCK,
        "--service",
        ODD_SERVICE,
        "--user-service",
        "node:a b,c=d",
        "--mount",
        MOUNT,
        "--out",
        &format!("influx:{}", out.display()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(port) = udp {
        args.extend(["--udp".to_string(), format!("influx:127.0.0.1:{port}")]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&refs);
    assert!(
        r.stderr.is_empty() && (0..=2).contains(&r.code),
        "agent: {r:?}"
    );
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn influxdb_reads_every_name_back_exactly_over_http_and_udp() {
    let db = Influx::start();
    let hosts: [&[u8]; 2] = [b"edge-\xff", b"edge-\xfe"];
    for host in hosts {
        let lines = record(host, Some(db.udp));
        let (code, text) = db
            .request("POST", "/write?db=tcp&precision=ns", &lines)
            .expect("influxd answers /write");
        assert_eq!(code, 204, "/write refused the record: {text}\n{lines}");
    }

    // HTTP: every name exactly as the agent's rule says (the fsck unit as systemd names it).
    let want_hosts: Vec<String> = {
        let mut h: Vec<String> = hosts.iter().map(|h| influx_tag_name(h)).collect();
        h.sort();
        h
    };
    assert_eq!(want_hosts, ["edge-%FE", "edge-%FF"]);
    assert_eq!(
        db.tag_values("tcp", "host"),
        want_hosts,
        "two hosts stay two"
    );
    let mut services = vec![
        FSCK.to_string(),
        influx_tag_name(ODD_SERVICE.as_bytes()),
        "a b,c=d".to_string(),
    ];
    services.sort();
    assert_eq!(db.tag_values("tcp", "service"), services);
    assert_eq!(
        influx_tag_name(FSCK.as_bytes()),
        FSCK,
        "systemd's escapes are kept as they are"
    );
    assert_eq!(
        db.tag_values("tcp", "mount"),
        [influx_tag_name(MOUNT.as_bytes())]
    );

    // A WHERE on the real unit name finds the unit, on each host.
    let rows = db.query(&format!(
        "SELECT status FROM nodepulse WHERE service = {} AND host = {}",
        literal(FSCK),
        literal("edge-%FF")
    ));
    let values = &rows["results"][0]["series"][0]["values"];
    assert_eq!(values.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(values[0][1], 2, "the unit is down: CRITICAL {rows}");

    // Strings come back exactly: the service's `why`, the kernel release.
    let rows = db.query(&format!(
        "SELECT why FROM nodepulse WHERE service = {}",
        literal(&influx_tag_name(ODD_SERVICE.as_bytes()))
    ));
    assert_eq!(
        rows["results"][0]["series"][0]["values"][0][1], "down",
        "{rows}"
    );

    // UDP: the same points arrive in the listener's database (batches of one, 10 ms).
    let deadline = Instant::now() + Duration::from_secs(15);
    while db.tag_values("udp", "host") != want_hosts {
        assert!(
            Instant::now() < deadline,
            "UDP points never all arrived: {:?}\n{}",
            db.tag_values("udp", "host"),
            db.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(db.tag_values("udp", "service"), services);
    assert_eq!(
        db.tag_values("udp", "mount"),
        [influx_tag_name(MOUNT.as_bytes())]
    );
}

/// Two runs with one state file, then a reboot, written to InfluxDB: the node's points carry
/// `seq` 1, 2, 3, `gap_s` from the second on, and `reboot` true only after the boot id changed.
#[test]
fn influxdb_stores_the_run_history_of_the_node() {
    let db = Influx::start();
    let node = fixture_copy("systemd-ok", "influx-history");
    let root = node.join("root");
    let state = node.join("state");
    for run_no in 0..3 {
        if run_no == 2 {
            std::fs::write(
                root.join("proc/sys/kernel/random/boot_id"),
                "11111111-2222-3333-4444-555555555555\n",
            )
            .unwrap();
        }
        let r = run(&[
            "--root",
            root.to_str().unwrap(),
            "--skip",
            "clock",
            "--state",
            state.to_str().unwrap(),
            "--format",
            "influx",
        ]);
        assert!(
            r.stderr.is_empty() && (0..=2).contains(&r.code),
            "agent: {r:?}"
        );
        let (code, text) = db
            .request("POST", "/write?db=tcp&precision=ns", &r.stdout)
            .expect("influxd answers /write");
        assert_eq!(code, 204, "/write refused: {text}\n{}", r.stdout);
        // Distinct timestamps (ms) for the three points.
        std::thread::sleep(Duration::from_millis(5));
    }
    let rows = db.query(
        "SELECT seq, gap_s, reboot, prev FROM nodepulse WHERE \"check\" = 'node' ORDER BY time",
    );
    let values = rows["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("no node points: {rows}"))
        .clone();
    let seen: Vec<(i64, bool, Option<bool>, Option<String>)> = values
        .iter()
        .map(|v| {
            (
                v[1].as_i64().unwrap(),
                v[2].is_i64(),
                v[3].as_bool(),
                v[4].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, false, None, Some("new".to_string())),
            (2, true, Some(false), None),
            (3, true, Some(true), None),
        ],
        "{rows}"
    );
}
