//! Helpers for the integration tests: find the built static agent, run it bounded in time,
//! pick tokens out of its record.
//!
//! `NODEPULSE_BIN` names the binary to test (default: the x86_64 musl release build, which the
//! README's test command builds first); `NODEPULSE_RUNNER` runs it through an emulator such as
//! `qemu-aarch64-static`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    let path = std::env::var_os("NODEPULSE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/x86_64-unknown-linux-musl/release/nodepulse"));
    assert!(path.exists(), "agent binary {} missing: build it with `cargo build --release --target x86_64-unknown-linux-musl` (the test command does)", path.display());
    path
}

pub fn fixture(name: &str) -> String {
    let root = repo().join("tests/fixtures").join(name);
    // timesyncd's last-sync file is judged by its age: git gives it the checkout's mtime, so
    // keep it fresh, or a suite run two hours after the checkout finds "sync-age".
    let synced = root.join("run/systemd/timesync/synchronized");
    if let Ok(file) = std::fs::File::options().write(true).open(&synced) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
    root.to_string_lossy().into_owned()
}

/// A writable copy of the fixture root `name` in `DIR/root` of a fresh temporary directory
/// (mode 0755, so that `nobody` can read it), for tests that change the node between runs.
#[allow(dead_code)] // not every test binary uses every helper
pub fn fixture_copy(name: &str, tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::create_dir(dir.join("root")).unwrap();
    let out = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", fixture(name)))
        .arg(dir.join("root"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cp -a: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(dir.path(), mode).unwrap();
    dir
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs the agent with `args`, killing it after 20 s (a hang fails the test).
pub fn run(args: &[&str]) -> Run {
    run_in(args, None)
}

pub fn run_in(args: &[&str], cwd: Option<&Path>) -> Run {
    let mut cmd = match std::env::var_os("NODEPULSE_RUNNER") {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    run_command(cmd, 20)
}

/// Runs a prepared command with empty stdin, killing it after `secs` (a hang fails the test).
pub fn run_command(mut cmd: Command, secs: u64) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{:?}", cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{what} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("{what} killed by a signal"));
    Run {
        stdout,
        stderr,
        code,
    }
}

/// The record with its wall-clock timestamp replaced by `T`, and without what depends on the
/// previous run (`--state` on the real root: `seq`, `gap_s`, `prev`, `reboot`, `save_errno`,
/// the clock's `bad_since`).
pub fn masked(record: &str) -> String {
    record
        .split(' ')
        .filter(|tok| {
            !["seq=", "gap_s=", "prev=", "reboot=", "save_errno="]
                .iter()
                .any(|k| tok.starts_with(k))
        })
        .map(|tok| {
            if tok.starts_with("t=") {
                "t=T".to_string()
            } else if let Some(at) = tok.find(",bad_since:") {
                let end = tok[at + 1..].find(',').map_or(tok.len(), |e| at + 1 + e);
                format!("{}{}", &tok[..at], &tok[end..])
            } else {
                tok.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of `key=` in a record.
pub fn token<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    record.trim_end().split(' ').find_map(|tok| {
        tok.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// The value of `name:` inside a check's value (`ok,why:x,name:value,...`).
pub fn field<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(',').find_map(|part| {
        part.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "np-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn str(&self, name: &str) -> String {
        self.join(name).to_string_lossy().into_owned()
    }
    /// The names in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a program (a test peer such as promtool or jq) to completion with `stdin` in `cwd`,
/// killing it after `secs`. A program that cannot start fails the test: peers are required.
pub fn tool(program: &str, args: &[&str], stdin: &[u8], cwd: Option<&Path>, secs: u64) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot start {program}: {e}; it is a required test peer (tests/run.sh installs it)")
    });
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    feeder.join().unwrap();
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The kernel hands out ports from `ip_local_port_range` (32768-60999 by default) to every socket
/// bound to port 0: an agent's or a test's sending socket can take a port that was checked free a
/// moment ago, before the peer meant to listen there binds it ("Address already in use"). Test
/// ports therefore come from below that range, each handed out once per test process (a counter
/// started from the pid, so two suites running at once rarely meet), and only when both TCP and
/// UDP can bind it right now.
fn spare_port() -> u16 {
    use std::sync::atomic::AtomicU32;
    const FIRST: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|&low| low > FIRST + 1_000)
        .unwrap_or(32_768);
    let span = ephemeral_low - FIRST;
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port in {FIRST}-{ephemeral_low} on 127.0.0.1");
}

/// A port on 127.0.0.1 free for TCP (and UDP: VictoriaMetrics' influx listener takes both), outside
/// the ephemeral range.
pub fn free_tcp_port() -> u16 {
    spare_port()
}

/// A UDP port on 127.0.0.1, free a moment ago and outside the ephemeral range.
pub fn free_udp_port() -> u16 {
    spare_port()
}

/// `GET path` over HTTP/1.0 on 127.0.0.1: the status code and body; `None` while nothing listens.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// The wall clock in ms since the epoch, as records carry it.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One agent run on a fixture root, sending its record to `to` (`[FORMAT:]ADDR:PORT`) and
/// printing nothing.
pub fn agent_send(root: &str, to: &str) {
    let r = run(&[
        "--root",
        &fixture(root),
        "--skip",
        "clock,disk",
        "--user-service",
        "node:openclaw-node",
        "--udp",
        to,
    ]);
    assert!(
        r.code == 0 || r.code == 2,
        "agent on {root}: exit {} stderr {}",
        r.code,
        r.stderr
    );
    assert_eq!(r.stdout, "", "agent printed with --udp");
}

/// The value of the sample `series` (exactly as written) in Prometheus text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A name as the agent writes it in an InfluxDB tag value, once line protocol's own escapes are
/// undone (src/encode/text.rs): `%` as `%25`, a byte that is not UTF-8 as `%XX`, and a backslash
/// a reader would take as an escape (before a backslash, comma, `=` or space, or at the end) as
/// `%5C`.
pub fn influx_tag_name(name: &[u8]) -> String {
    let mut out = String::new();
    for chunk in name.utf8_chunks() {
        let valid = chunk.valid();
        for (i, c) in valid.char_indices() {
            let next = valid.as_bytes().get(i + 1).copied();
            let next = next.or(chunk.invalid().first().map(|_| b'%'));
            match c {
                '%' => out.push_str("%25"),
                '\\' if matches!(next, None | Some(b'\\' | b',' | b'=' | b' ')) => {
                    out.push_str("%5C")
                }
                _ => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
