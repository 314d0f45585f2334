//! `nodepulse-collector`: receives the agents' records over UDP, keeps the latest state of every
//! node, and says who is offline, whose clock is off, who rebooted, lost records or flaps: on
//! the command line (`status`), over HTTP (`--http`: Prometheus metrics, a JSON API, one HTML
//! page) and to Alertmanager (`--alertmanager`).
//!
//! Unlike the agent this binary uses std (threads, collections, formatting); it shares the
//! record parser with the agent ([`nodepulse::encode::line`]). Modules:
//! - `cli`: the command line (clap);
//! - `ingest`: a datagram → an observation (np1 or the agent's JSON) or a drop reason;
//! - `fleet`: the compact per-node table and its verdicts (offline, skew, reboot, seq, flapping);
//!   `nodes`: its nodes by host name (one vector, one arena of names, an index);
//! - `state`: the state file (atomic writes, reload); `report`: Prometheus text, influx lines;
//! - `view`: the JSON and text views (`status`, the API); `page`: the HTML page;
//! - `serve`: the ingest threads, the control thread's timers and the snapshots it publishes,
//!   the writer thread; `table`: the sharded live table the ingest threads update;
//! - `http`: the HTTP server on its own threads; `alert`: the Alertmanager client thread;
//! - `stats`: the collector's own counters; `net`: sockets, `recvmmsg`, `poll`, signals.

mod alert;
mod cli;
mod fleet;
mod http;
mod ingest;
mod net;
mod nodes;
mod page;
mod report;
mod serve;
mod state;
mod stats;
mod table;
mod view;

use fleet::Fleet;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn fail(msg: &str) -> ExitCode {
    eprintln!("nodepulse-collector: {msg}");
    ExitCode::from(3)
}

fn main() -> ExitCode {
    match cli::parse() {
        Ok(cli::Command::Serve(o)) => serve::run(o),
        Ok(cli::Command::Status(s)) => status(s),
        Err(code) => code,
    }
}

/// `status`: the fleet from a state file or a running collector's `/api/v1/nodes`.
fn status(s: cli::Status) -> ExitCode {
    let fleet = match (&s.state, &s.connect) {
        (Some(path), None) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => return fail(&format!("status: {}: {e}", path.display())),
            };
            let loaded = match state::parse(&text) {
                Ok(l) => l,
                Err(e) => return fail(&format!("status: {e}")),
            };
            let mut fleet = Fleet::new(loaded.policy);
            fleet.counters = loaded.counters;
            for (host, node) in loaded.nodes {
                fleet.nodes.insert(&host, node);
            }
            let now = now_ms();
            fleet.sweep(now);
            view::read(&fleet, now, loaded.saved_ms)
        }
        (None, Some(to)) => {
            match fetch_nodes(to, s.max_bytes, Duration::from_millis(s.timeout_ms)) {
                Ok(v) => v,
                Err(e) => return fail(&format!("status: {e}")),
            }
        }
        _ => return fail("status: give one of --state PATH or --connect ADDR:PORT (see --help)"),
    };
    let out = if s.json {
        match serde_json::to_string(&fleet) {
            Ok(mut j) => {
                j.push('\n');
                j
            }
            Err(e) => return fail(&format!("status: {e}")),
        }
    } else {
        view::text(&fleet)
    };
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(3);
    }
    if fleet.nodes.iter().any(|n| !n.healthy()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `GET /api/v1/nodes` of a running collector, at most `max_bytes`, within `timeout`.
fn fetch_nodes(to: &str, max_bytes: u64, timeout: Duration) -> Result<view::FleetRead, String> {
    let base = if to.starts_with("http://") || to.starts_with("https://") {
        to.trim_end_matches('/').to_string()
    } else {
        format!("http://{to}")
    };
    let url = format!("{base}/api/v1/nodes");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
    let code = resp.status();
    let body = resp
        .body_mut()
        .with_config()
        .limit(max_bytes)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))?;
    if code != 200 {
        return Err(format!(
            "{url}: HTTP {code}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not the collector's JSON: {e}"))
}
