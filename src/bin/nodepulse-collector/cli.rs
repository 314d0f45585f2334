//! The command line, declared once with clap: the collector's flags, the `status` subcommand,
//! `--help` on each. A usage error prints clap's message and exits 3 (help and version: 0).

use crate::fleet::{Policy, FLAP_RING};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const ABOUT: &str = "nodepulse-collector - fleet state from the nodepulse agents' UDP records";

const AFTER: &str = "\
Accepts np1 records (the agent's default format) and the agent's --format json objects, one
per datagram. Malformed, oversized, non-UTF-8 datagrams are counted by reason and dropped.

--http serves GET / (the fleet as one HTML page), /metrics (Prometheus), /api/v1/nodes and
/api/v1/nodes/HOST (the JSON of `status --json`). It has no authentication: bind it to
loopback or a management network.";

#[derive(Parser)]
#[command(
    name = "nodepulse-collector",
    version,
    about = ABOUT,
    after_help = AFTER,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Sub {
    /// Print the fleet, problems first; exit 0 when no node has a problem, 1 when some do, 3
    /// when the state cannot be read.
    Status(StatusArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// UDP address to receive records on: 0.0.0.0:8089, [::]:8089 (repeatable: one IPv4 and
    /// one IPv6 socket may share a port)
    #[arg(long, value_name = "ADDR:PORT", required = true)]
    listen: Vec<SocketAddr>,
    /// Keep the fleet table in PATH (atomic writes); reloaded on start
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Write --state and --prom-out every S seconds and on SIGTERM/SIGINT
    #[arg(long, value_name = "S", default_value = "30", value_parser = seconds_ms)]
    persist_interval: u64,
    /// Prometheus text file of the fleet (node_exporter textfile directory)
    #[arg(long, value_name = "PATH")]
    prom_out: Option<PathBuf>,
    /// Re-send each accepted record as InfluxDB line protocol over UDP
    #[arg(long, value_name = "ADDR:PORT")]
    forward_influx: Option<SocketAddr>,
    /// Serve the page, /metrics and the API over HTTP on ADDR:PORT (repeatable; loopback or a
    /// management network: there is no authentication)
    #[arg(long, value_name = "ADDR:PORT")]
    http: Vec<SocketAddr>,
    /// Alertmanager to POST alerts to when a node's problem begins and ends, e.g.
    /// http://127.0.0.1:9093 (repeatable)
    #[arg(long, value_name = "URL", value_parser = http_url)]
    alertmanager: Vec<String>,
    /// Expected seconds between a node's records; learned per node from its timestamps
    /// unless --no-learn
    #[arg(long, value_name = "S", default_value = "60", value_parser = seconds_ms)]
    interval: u64,
    /// Always use --interval
    #[arg(long)]
    no_learn: bool,
    /// Offline after K intervals without a record
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    offline_factor: u64,
    /// |node clock - receive time| above S seconds is skewed
    #[arg(long, value_name = "S", default_value = "300", value_parser = seconds_ms)]
    skew_threshold: u64,
    /// N offline/online transitions in an hour is flapping (1-8)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=FLAP_RING as i64))]
    flap_threshold: u32,
    /// Rebooted / lost records stay problems for S seconds
    #[arg(long, value_name = "S", default_value = "3600", value_parser = seconds_ms)]
    recent: u64,
    /// Nodes tracked; records from new hosts past it are refused
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_nodes: u64,
    /// Ingest threads: each receives on its own socket per --listen address (SO_REUSEPORT, the
    /// kernel spreads the records over them: --spread) into the one shared fleet table. 1
    /// uses one core; up to the cores free for the collector scales with them
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// With --threads N: how the kernel gives the records to the threads: `host`, by host name
    /// (even shares whatever the senders: a relay, a NIC with one queue); `cpu`, by the CPU that
    /// received the datagram, thread i pinned to the CPUs c with c % N = i (no buffer freed
    /// across CPUs; for senders that the NIC spreads over the CPUs, RSS or RPS)
    #[arg(long, value_enum, value_name = "BY", default_value_t = Spread::Host)]
    spread: Spread,
    /// Socket receive buffer, bytes (for each socket: --threads of them per --listen address)
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    rcvbuf: usize,
    /// Shared key: drop records without a valid mac= and replays
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

#[derive(Args)]
struct StatusArgs {
    /// Print the JSON of /api/v1/nodes instead of text
    #[arg(long)]
    json: bool,
    /// Read the fleet from a collector's --state file
    #[arg(long, value_name = "PATH", conflicts_with = "connect")]
    state: Option<PathBuf>,
    /// Read the fleet from a running collector's --http address (ADDR:PORT or http://...)
    #[arg(long, value_name = "ADDR:PORT")]
    connect: Option<String>,
    /// With --connect: refuse an answer larger than BYTES
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    max_bytes: u64,
    /// With --connect: give up after S seconds
    #[arg(long, value_name = "S", default_value = "10", value_parser = seconds_ms)]
    timeout: u64,
}

/// How the kernel gives the records to the ingest threads' sockets (`--spread`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Spread {
    /// By the record's host name: one host's records always reach the same thread.
    Host,
    /// By the CPU that received the datagram, each thread pinned to the CPUs it is given.
    Cpu,
}

/// What the collector runs with.
pub struct Serve {
    pub listen: Vec<SocketAddr>,
    pub state: Option<PathBuf>,
    pub persist_ms: u64,
    pub prom_out: Option<PathBuf>,
    pub forward: Option<SocketAddr>,
    pub http: Vec<SocketAddr>,
    pub alertmanager: Vec<String>,
    pub rcvbuf: usize,
    /// Ingest threads (`--threads`), at least 1.
    pub threads: usize,
    /// How records are spread over them (`--spread`).
    pub spread: Spread,
    pub policy: Policy,
    /// Shared key (`--key-file`): records need a valid `mac=` and must not be replays.
    pub key: Option<Vec<u8>>,
}

pub struct Status {
    pub json: bool,
    pub state: Option<PathBuf>,
    pub connect: Option<String>,
    pub max_bytes: u64,
    pub timeout_ms: u64,
}

pub enum Command {
    Serve(Serve),
    Status(Status),
}

/// Decimal seconds → ms (`0.5` → 500); positive and finite.
fn seconds_ms(v: &str) -> Result<u64, String> {
    let s: f64 = v
        .parse()
        .map_err(|_| format!("`{v}` is not a number of seconds"))?;
    if s.is_finite() && s > 0.0 && s < 1e9 {
        Ok((s * 1000.0).round().max(1.0) as u64)
    } else {
        Err(format!("`{v}`: seconds must be above 0 and below 1e9"))
    }
}

fn http_url(v: &str) -> Result<String, String> {
    let rest = v
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{v}`: an http:// URL (there is no TLS client)"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{v}`: no host"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// The key file's bytes without a final newline, as the agent reads it.
fn read_key(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let mut key = std::fs::read(path).map_err(|e| format!("--key-file {shown}: {e}"))?;
    if key.last() == Some(&b'\n') {
        key.pop();
    }
    if key.is_empty() || key.len() > 255 {
        return Err(format!(
            "--key-file {shown}: the key must be 1 to 255 bytes"
        ));
    }
    Ok(key)
}

/// The command line of this process; `Err` is the exit code after help, version or an error
/// was printed.
pub fn parse() -> Result<Command, ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return Err(if e.use_stderr() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            });
        }
    };
    if let Some(Sub::Status(s)) = cli.command {
        return Ok(Command::Status(Status {
            json: s.json,
            state: s.state,
            connect: s.connect,
            max_bytes: s.max_bytes,
            timeout_ms: s.timeout,
        }));
    }
    let a = cli.serve;
    let key = match &a.key_file {
        Some(p) => Some(read_key(p).map_err(|e| crate::fail(&e))?),
        None => None,
    };
    Ok(Command::Serve(Serve {
        listen: a.listen,
        state: a.state,
        persist_ms: a.persist_interval,
        prom_out: a.prom_out,
        forward: a.forward_influx,
        http: a.http,
        alertmanager: a.alertmanager,
        rcvbuf: a.rcvbuf,
        threads: usize::from(a.threads),
        spread: a.spread,
        policy: Policy {
            interval_ms: a.interval,
            offline_factor: a.offline_factor,
            skew_threshold_ms: a.skew_threshold,
            flap_threshold: a.flap_threshold,
            recent_ms: a.recent,
            max_nodes: usize::try_from(a.max_nodes).unwrap_or(usize::MAX),
            learn: !a.no_learn,
        },
        key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_and_subcommand() {
        let c = Cli::try_parse_from([
            "c",
            "--listen",
            "127.0.0.1:1",
            "--interval",
            "0.5",
            "--http",
            "[::1]:2",
            "--alertmanager",
            "http://a:9093/",
        ])
        .unwrap();
        assert_eq!(c.serve.interval, 500);
        assert_eq!(c.serve.alertmanager, ["http://a:9093"]);
        assert!(Cli::try_parse_from(["c"]).is_err(), "--listen is required");
        assert!(Cli::try_parse_from(["c", "--listen", "x"]).is_err());
        assert!(
            Cli::try_parse_from(["c", "--listen", "127.0.0.1:1", "--flap-threshold", "9"]).is_err()
        );
        assert!(Cli::try_parse_from([
            "c",
            "--listen",
            "127.0.0.1:1",
            "--alertmanager",
            "https://a"
        ])
        .is_err());
        let s = Cli::try_parse_from(["c", "status", "--json", "--connect", "127.0.0.1:1"]).unwrap();
        assert!(matches!(
            s.command,
            Some(Sub::Status(StatusArgs { json: true, .. }))
        ));
        assert!(Cli::try_parse_from(["c", "status", "--state", "a", "--connect", "b"]).is_err());
        let Err(help) = Cli::try_parse_from(["c", "status", "--help"]) else {
            panic!("status --help parsed as a command");
        };
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
