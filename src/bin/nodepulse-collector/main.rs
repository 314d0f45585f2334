//! `nodepulse-collector`: receives the agents' records over UDP, keeps the latest state of every
//! node, and says who is offline, whose clock is off, who rebooted, lost records or flaps.
//!
//! Unlike the agent this binary uses std (threads, collections, formatting); it shares the
//! record parser with the agent ([`nodepulse::encode::line`]). Modules:
//! - `ingest`: a datagram → an observation (np1 or the agent's JSON) or a drop reason;
//! - `fleet`: the compact per-node table and its verdicts (offline, skew, reboot, seq, flapping);
//! - `state`: the state file (atomic writes, reload); `report`: status, Prometheus, influx;
//! - `net`: sockets, `recvmmsg`, `poll`, signals.

mod fleet;
mod ingest;
mod json;
mod net;
mod report;
mod state;

use fleet::{Drop, Fleet, Policy};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HELP: &str = "nodepulse-collector - fleet state from the nodepulse agents' UDP records

Usage: nodepulse-collector --listen ADDR:PORT [FLAGS]
       nodepulse-collector status [--json] [--state PATH | --connect ADDR:PORT]

  --listen ADDR:PORT        UDP address to receive records on: 0.0.0.0:8089, [::]:8089
                            (repeatable: one IPv4 and one IPv6 socket may share a port)
  --state PATH              keep the fleet table in PATH (atomic writes); reloaded on start
  --persist-interval S      write --state and --prom-out every S seconds (default 30) and on
                            SIGTERM/SIGINT
  --prom-out PATH           Prometheus text file of fleet state (node_exporter textfile dir)
  --forward-influx ADDR:PORT re-send each accepted record as InfluxDB line protocol over UDP
  --control ADDR:PORT       TCP address (loopback!) where `status --connect` reads live state
  --interval S              expected seconds between a node's records (default 60); learned
                            per node from its timestamps unless --no-learn
  --no-learn                always use --interval
  --offline-factor K        offline after K intervals without a record (default 3)
  --skew-threshold S        |node clock - receive time| above S seconds is skewed (default 300)
  --flap-threshold N        N offline/online transitions in an hour is flapping (1-8, default 4)
  --recent S                rebooted / lost records stay problems for S seconds (default 3600)
  --max-nodes N             nodes tracked; records from new hosts past it are refused (default 100000)
  --rcvbuf BYTES            socket receive buffer (default 33554432)
  --key-file FILE           shared key: drop records without a valid mac= and replays
  -h, --help / -V, --version

Accepts np1 records (the agent's default format) and the agent's --format json objects, one
per datagram. Malformed, oversized, non-UTF-8 datagrams are counted by reason and dropped.
`status` prints the fleet, problems first; exit 0 when no node has a problem, 1 when some
do, 3 when the state cannot be read.
";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("nodepulse-collector: {msg}");
    ExitCode::from(3)
}

/// Decimal seconds → ms (`0.5` → 500); positive and finite.
fn seconds_ms(v: &str) -> Option<u64> {
    let s: f64 = v.parse().ok()?;
    (s.is_finite() && s > 0.0 && s < 1e9).then(|| (s * 1000.0).round().max(1.0) as u64)
}

struct Opts {
    listen: Vec<SocketAddr>,
    state: Option<PathBuf>,
    persist_ms: u64,
    prom_out: Option<PathBuf>,
    forward: Option<SocketAddr>,
    control: Option<SocketAddr>,
    rcvbuf: usize,
    policy: Policy,
    /// Shared key (`--key-file`): records need a valid `mac=` and must not be replays.
    key: Option<Vec<u8>>,
}

/// The key file's bytes without a final newline, as the agent reads it.
fn read_key(path: &str) -> Result<Vec<u8>, String> {
    let mut key = std::fs::read(path).map_err(|e| format!("--key-file {path}: {e}"))?;
    if key.last() == Some(&b'\n') {
        key.pop();
    }
    if key.is_empty() || key.len() > 255 {
        return Err(format!("--key-file {path}: the key must be 1 to 255 bytes"));
    }
    Ok(key)
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        listen: Vec::new(),
        state: None,
        persist_ms: 30_000,
        prom_out: None,
        forward: None,
        control: None,
        rcvbuf: 32 << 20,
        policy: Policy::default(),
        key: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--no-learn" {
            o.policy.learn = false;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag}: missing value (or unknown flag)"))?;
        let bad = || format!("{flag}: bad value `{value}`");
        let addr = || value.parse::<SocketAddr>().map_err(|_| bad());
        let count = || value.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(bad);
        match flag.as_str() {
            "--listen" => o.listen.push(addr()?),
            "--state" => o.state = Some(PathBuf::from(value)),
            "--persist-interval" => o.persist_ms = seconds_ms(value).ok_or_else(bad)?,
            "--prom-out" => o.prom_out = Some(PathBuf::from(value)),
            "--forward-influx" => o.forward = Some(addr()?),
            "--control" => o.control = Some(addr()?),
            "--interval" => o.policy.interval_ms = seconds_ms(value).ok_or_else(bad)?,
            "--offline-factor" => o.policy.offline_factor = count()?,
            "--skew-threshold" => o.policy.skew_threshold_ms = seconds_ms(value).ok_or_else(bad)?,
            "--flap-threshold" => {
                o.policy.flap_threshold = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=fleet::FLAP_RING as u32).contains(n))
                    .ok_or_else(bad)?
            }
            "--recent" => o.policy.recent_ms = seconds_ms(value).ok_or_else(bad)?,
            "--max-nodes" => o.policy.max_nodes = count()? as usize,
            "--rcvbuf" => o.rcvbuf = value.parse().map_err(|_| bad())?,
            "--key-file" => o.key = Some(read_key(value)?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if o.listen.is_empty() {
        return Err("--listen ADDR:PORT is required (see --help)".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("nodepulse-collector {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("status") => status(&args[1..]),
        _ => match parse_opts(&args) {
            Ok(o) => serve(o),
            Err(e) => fail(&e),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// status

fn status(args: &[String]) -> ExitCode {
    let mut as_json = false;
    let mut state = None;
    let mut connect = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => as_json = true,
            "--state" => state = it.next().cloned(),
            "--connect" => connect = it.next().cloned(),
            _ => return fail(&format!("status: unknown argument {a}")),
        }
    }
    let text = match (state, connect) {
        (Some(path), None) => match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => return fail(&format!("status: {path}: {e}")),
        },
        (None, Some(addr)) => {
            let Ok(addr) = addr.parse::<SocketAddr>() else {
                return fail(&format!("status: --connect: bad address `{addr}`"));
            };
            let mut text = String::new();
            let got =
                TcpStream::connect_timeout(&addr, Duration::from_secs(5)).and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_secs(10)))?;
                    s.read_to_string(&mut text)
                });
            if let Err(e) = got {
                return fail(&format!("status: {addr}: {e}"));
            }
            text
        }
        _ => return fail("status: give one of --state PATH or --connect ADDR:PORT"),
    };
    let loaded = match state::parse(&text) {
        Ok(l) => l,
        Err(e) => return fail(&format!("status: {e}")),
    };
    let mut fleet = Fleet::new(loaded.policy);
    fleet.counters = loaded.counters;
    for (host, node) in loaded.nodes {
        fleet.nodes.insert(host.into_boxed_str(), node);
    }
    let now = now_ms();
    fleet.sweep(now);
    let out = if as_json {
        report::json(&fleet, now, loaded.saved_ms)
    } else {
        report::text(&fleet, now)
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).is_err() {
        return ExitCode::from(3);
    }
    if fleet.nodes.values().any(|n| n.problems != 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------------------------------------
// serve

/// Line protocol batched into datagrams of whole lines (≤ 1232 bytes, as the agent sends).
struct Forwarder {
    sock: UdpSocket,
    buf: Vec<u8>,
    line: Vec<u8>,
    errors: u64,
}

const FORWARD_MAX: usize = 1232;

impl Forwarder {
    fn new(to: SocketAddr) -> std::io::Result<Forwarder> {
        let any: SocketAddr = match to {
            SocketAddr::V4(_) => "0.0.0.0:0".parse().unwrap(),
            SocketAddr::V6(_) => "[::]:0".parse().unwrap(),
        };
        let sock = UdpSocket::bind(any)?;
        sock.connect(to)?;
        Ok(Forwarder {
            sock,
            buf: Vec::with_capacity(FORWARD_MAX),
            line: Vec::with_capacity(512),
            errors: 0,
        })
    }

    fn push(&mut self) {
        if !self.buf.is_empty() && self.buf.len() + self.line.len() > FORWARD_MAX {
            self.flush();
        }
        self.buf.extend_from_slice(&self.line);
        self.line.clear();
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            if self.sock.send(&self.buf).is_err() {
                self.errors += 1;
            }
            self.buf.clear();
        }
    }
}

/// Files written in the receive loop (to the page cache, in chunks) and made durable off it:
/// the writer thread fsyncs and renames them.
fn writer_thread(rx: mpsc::Receiver<state::Pending>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for pending in rx {
            let path = pending.path().display().to_string();
            if let Err(e) = state::commit(pending) {
                eprintln!("nodepulse-collector: writing {path}: {e}");
            }
        }
    })
}

/// Fills the temporary file for `path` with `fill`'s output.
fn stage(
    path: &std::path::Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Option<state::Pending> {
    let mut pending = match state::begin(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("nodepulse-collector: writing {}: {e}", path.display());
            return None;
        }
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut pending.file);
    let written = fill(&mut w).and_then(|_| w.flush());
    drop(w);
    match written {
        Ok(()) => Some(pending),
        Err(e) => {
            eprintln!("nodepulse-collector: writing {}: {e}", path.display());
            state::abandon(pending);
            None
        }
    }
}

fn serve(o: Opts) -> ExitCode {
    let mut fleet = Fleet::new(o.policy.clone());
    if let Some(path) = &o.state {
        match std::fs::read_to_string(path) {
            Ok(text) => match state::parse(&text) {
                Ok(l) => {
                    fleet.counters = l.counters;
                    let total = l.nodes.len();
                    for (host, node) in l.nodes.into_iter().take(o.policy.max_nodes) {
                        fleet.nodes.insert(host.into_boxed_str(), node);
                    }
                    eprintln!(
                        "nodepulse-collector: loaded {} nodes from {} ({} unreadable lines)",
                        fleet.nodes.len().min(total),
                        path.display(),
                        l.bad_lines
                    );
                }
                Err(e) => {
                    return fail(&format!(
                        "{}: {e} (move it away to start empty)",
                        path.display()
                    ))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return fail(&format!("{}: {e}", path.display())),
        }
    }

    let mut socks = Vec::new();
    for addr in &o.listen {
        match net::udp_bind(*addr, o.rcvbuf) {
            Ok((s, got)) => {
                eprintln!(
                    "nodepulse-collector: listening on udp {addr} (receive buffer {got} bytes)"
                );
                socks.push(s);
            }
            Err(e) => return fail(&format!("--listen {addr}: {e}")),
        }
    }
    let mut forward = match o.forward {
        Some(to) => match Forwarder::new(to) {
            Ok(f) => Some(f),
            Err(e) => return fail(&format!("--forward-influx {to}: {e}")),
        },
        None => None,
    };
    let control = match o.control {
        Some(addr) => match TcpListener::bind(addr).and_then(|l| {
            l.set_nonblocking(true)?;
            Ok(l)
        }) {
            Ok(l) => Some(l),
            Err(e) => return fail(&format!("--control {addr}: {e}")),
        },
        None => None,
    };
    if let Err(e) = net::install_signals() {
        return fail(&format!("signal handlers: {e}"));
    }

    let (tx, rx) = mpsc::sync_channel::<state::Pending>(4);
    let writer = writer_thread(rx);
    let persist = |fleet: &Fleet, now: u64, tx: &mpsc::SyncSender<state::Pending>| {
        let mut staged = Vec::new();
        if let Some(p) = &o.state {
            staged.extend(stage(p, |w| state::serialize_to(w, fleet, now)));
        }
        if let Some(p) = &o.prom_out {
            staged.extend(stage(p, |w| report::prom_to(w, fleet, now)));
        }
        for pending in staged {
            // Blocks only while the writer still syncs the previous four files.
            let _ = tx.send(pending);
        }
    };

    let mut fds: Vec<i32> = socks.iter().map(|s| s.as_raw_fd()).collect();
    if let Some(l) = &control {
        fds.push(l.as_raw_fd());
    }
    let mut batch = net::Batch::new(64, ingest::MAX_DATAGRAM + 1);
    let sweep_every = (o.policy.interval_ms / 4).clamp(100, 1000);
    let mut now = now_ms();
    fleet.sweep(now);
    let mut next_sweep = now + sweep_every;
    let mut next_persist = now + o.persist_ms;
    persist(&fleet, now, &tx);

    while !net::stopping() {
        let wait = next_sweep
            .min(next_persist)
            .saturating_sub(now_ms())
            .min(1000);
        net::poll_readable(&fds, wait as i32);
        for sock in &socks {
            // Drain each socket in batches, a bounded number per round so the timers still run.
            for _ in 0..256 {
                let n = match batch.recv(sock.as_raw_fd()) {
                    Ok(n) => n,
                    Err(e) => {
                        eprintln!("nodepulse-collector: recvmmsg: {e}");
                        0
                    }
                };
                if n == 0 {
                    break;
                }
                let t = now_ms();
                for i in 0..n {
                    let (bytes, truncated) = batch.get(i);
                    let parsed = if truncated {
                        Err(Drop::Oversize)
                    } else if let Some(key) = &o.key {
                        ingest::verify(bytes, key)
                            .and_then(ingest::parse)
                            .and_then(|obs| if fleet.is_replay(&obs) { Err(Drop::Replay) } else { Ok(obs) })
                    } else {
                        ingest::parse(bytes)
                    };
                    match parsed {
                        Ok(obs) => {
                            if let Some(node) = fleet.ingest(&obs, t) {
                                if let Some(f) = forward.as_mut() {
                                    report::influx_line(&mut f.line, &obs, node, t);
                                    f.push();
                                }
                            }
                        }
                        Err(why) => fleet.counters.drop(why),
                    }
                }
                if n < 64 {
                    break;
                }
            }
        }
        if let Some(f) = forward.as_mut() {
            f.flush();
        }
        if let Some(l) = &control {
            // The live state, streamed in the loop (about 20 ms per 100 000 nodes).
            while let Ok((stream, _)) = l.accept() {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
                let mut w = std::io::BufWriter::with_capacity(1 << 16, stream);
                let _ = state::serialize_to(&mut w, &fleet, now_ms()).and_then(|_| w.flush());
            }
        }
        now = now_ms();
        if now >= next_sweep {
            fleet.sweep(now);
            next_sweep = now + sweep_every;
        }
        if now >= next_persist {
            persist(&fleet, now, &tx);
            next_persist = now + o.persist_ms;
        }
    }

    now = now_ms();
    fleet.sweep(now);
    persist(&fleet, now, &tx);
    drop(tx);
    let _ = writer.join();
    let (up, offline) = fleet.census();
    eprintln!(
        "nodepulse-collector: stopping: {} nodes ({up} up, {offline} offline), {} records accepted, {} dropped, {} forward errors, {:.3} s CPU",
        fleet.nodes.len(),
        fleet.counters.accepted,
        fleet.counters.dropped_total(),
        forward.map_or(0, |f| f.errors),
        net::cpu_seconds()
    );
    ExitCode::SUCCESS
}
