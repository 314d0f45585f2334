//! `--alertmanager URL`: a thread that tells Alertmanager (API v2, `POST /api/v2/alerts`) when
//! a node's problem begins and ends.
//!
//! Every second it takes a fresh snapshot of the table and compares each node's problems with
//! the previous second's: a problem that began is an alert (labels `alertname` — one per
//! problem, [`Problem::alertname`] — `host`, `problem`, `severity`; `startsAt` when it began;
//! annotations with the details), one that ended is sent again with `endsAt`. Firing alerts are
//! re-sent every [`RESEND`] (well inside Alertmanager's default `resolve_timeout` of 5 min,
//! which resolves an alert nobody re-sends). Each Alertmanager has its own queue: a POST that
//! fails is retried with a backoff doubling from 1 s to [`MAX_BACKOFF`], resolved alerts wait
//! for it (at most [`MAX_RESOLVED`]), and nothing here ever waits on the receive loop beyond
//! asking for a snapshot. Failures show in `/metrics`.

use crate::fleet::{Fleet, Problem};
use crate::now_ms;
use crate::serve::Shared;
use crate::view::rfc3339;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const RESEND: Duration = Duration::from_secs(60);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
pub const MAX_RESOLVED: usize = 100_000;
/// Alerts per POST.
const CHUNK: usize = 1000;
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// One alert as Alertmanager's API v2 takes it (`postableAlert`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub labels: BTreeMap<&'static str, String>,
    pub annotations: BTreeMap<&'static str, String>,
    pub starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// A node's problem, as the alert's identity.
type Key = (Box<str>, Problem);

/// The active problems of the fleet and when each began (epoch seconds).
fn active(fleet: &Fleet) -> HashMap<Key, u32> {
    let mut out = HashMap::new();
    for (host, n) in &fleet.nodes {
        if n.problems == 0 {
            continue;
        }
        for p in Problem::ALL {
            if let Some(since) = n.since(p) {
                out.insert((Box::from(host), p), since);
            }
        }
    }
    out
}

fn alert(fleet: &Fleet, key: &Key, since: u32, ends_s: Option<u64>) -> Alert {
    let (host, p) = key;
    let mut labels = BTreeMap::new();
    labels.insert("alertname", p.alertname().to_string());
    labels.insert("host", host.to_string());
    labels.insert("problem", p.as_str().to_string());
    labels.insert("severity", p.severity().to_string());
    let mut annotations = BTreeMap::new();
    let since_text = rfc3339(u64::from(since));
    annotations.insert(
        "summary",
        format!("{host}: {} since {since_text}", p.as_str()),
    );
    if let Some(n) = fleet.nodes.get(host) {
        annotations.insert("last_record", rfc3339(n.seen_ms / 1000));
        annotations.insert("status", crate::fleet::status_str(n.status).to_string());
        annotations.insert("skew_s", format!("{:.3}", n.skew_ms() as f64 / 1000.0));
        if n.lost > 0 {
            annotations.insert("lost_records", n.lost.to_string());
        }
    }
    Alert {
        labels,
        annotations,
        starts_at: since_text,
        ends_at: ends_s.map(rfc3339),
    }
}

struct Target {
    url: String,
    /// Resolved alerts not yet delivered.
    resolved: Vec<Alert>,
    /// Something began since the last delivery.
    dirty: bool,
    last_ok: Option<Instant>,
    next_try: Instant,
    backoff: Duration,
}

pub fn spawn(urls: Vec<String>, shared: Arc<Shared>) {
    std::thread::Builder::new()
        .name("alertmanager".into())
        .spawn(move || run(urls, &shared))
        .expect("spawn the alertmanager thread");
}

fn post(agent: &ureq::Agent, url: &str, alerts: &[Alert]) -> Result<(), String> {
    let body = serde_json::to_vec(alerts).map_err(|e| e.to_string())?;
    let resp = agent
        .post(format!("{url}/api/v2/alerts"))
        .header("Content-Type", "application/json")
        .send(&body[..])
        .map_err(|e| e.to_string())?;
    match resp.status().as_u16() {
        200..=299 => Ok(()),
        code => Err(format!("HTTP {code}")),
    }
}

fn run(urls: Vec<String>, shared: &Shared) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(POST_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let now = Instant::now();
    let mut targets: Vec<Target> = urls
        .into_iter()
        .map(|url| Target {
            url,
            resolved: Vec::new(),
            dirty: true,
            last_ok: None,
            next_try: now,
            backoff: Duration::from_secs(1),
        })
        .collect();
    let mut prev: HashMap<Key, u32> = HashMap::new();
    loop {
        let tick = Instant::now();
        let snap = shared.fresh(900, Duration::from_secs(1));
        let fleet = &snap.fleet;
        let cur = active(fleet);
        let now_s = now_ms() / 1000;
        let mut began = false;
        for (key, since) in &prev {
            // Ended, or ended and began again (a new start time): resolve the old one.
            if cur.get(key) != Some(since) {
                let a = alert(fleet, key, *since, Some(now_s));
                for t in &mut targets {
                    if t.resolved.len() < MAX_RESOLVED {
                        t.resolved.push(a.clone());
                    }
                }
            }
        }
        for (key, since) in &cur {
            if prev.get(key) != Some(since) {
                began = true;
            }
        }
        prev = cur;
        shared.stats.alerts_active.store(prev.len() as u64, Relaxed);

        let firing: Vec<Alert> = if targets.iter().any(|t| due(t, began)) {
            let mut v: Vec<(&Key, &u32)> = prev.iter().collect();
            v.sort_unstable_by(|a, b| a.0.cmp(b.0));
            v.into_iter()
                .map(|(k, s)| alert(fleet, k, *s, None))
                .collect()
        } else {
            Vec::new()
        };
        for t in &mut targets {
            t.dirty |= began;
            if !due(t, false) || Instant::now() < t.next_try {
                continue;
            }
            let all: Vec<&Alert> = t.resolved.iter().chain(&firing).collect();
            let mut result = Ok(());
            for chunk in all.chunks(CHUNK) {
                let owned: Vec<Alert> = chunk.iter().map(|a| (*a).clone()).collect();
                result = post(&agent, &t.url, &owned);
                if result.is_err() {
                    break;
                }
            }
            match result {
                Ok(()) => {
                    shared.stats.alert_posts_ok.fetch_add(1, Relaxed);
                    t.resolved.clear();
                    t.dirty = false;
                    t.last_ok = Some(Instant::now());
                    t.backoff = Duration::from_secs(1);
                }
                Err(e) => {
                    shared.stats.alert_posts_failed.fetch_add(1, Relaxed);
                    eprintln!(
                        "nodepulse-collector: alertmanager {}: {e} (retry in {} s)",
                        t.url,
                        t.backoff.as_secs()
                    );
                    t.next_try = Instant::now() + t.backoff;
                    t.backoff = (t.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        let pending: usize = targets.iter().map(|t| t.resolved.len()).sum();
        shared
            .stats
            .alerts_resolved_pending
            .store(pending as u64, Relaxed);
        std::thread::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed()));
    }
}

/// A target has something to send: news, resolved alerts, or the re-send is due.
fn due(t: &Target, began: bool) -> bool {
    began || t.dirty || !t.resolved.is_empty() || t.last_ok.is_none_or(|at| at.elapsed() >= RESEND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Policy;

    #[test]
    fn alerts_for_each_problem_with_labels() {
        let mut f = Fleet::new(Policy::default());
        let t = 1_800_000_000_000;
        let o = crate::ingest::parse(
            b"np1 host=edge-1 t=1800000000000 st=crit linger.node=crit:linger-off svc.x=crit:down",
        )
        .unwrap();
        f.ingest(&o, t);
        let a = active(&f);
        assert_eq!(a.len(), 2);
        let key: Key = ("edge-1".into(), Problem::Linger);
        assert_eq!(a[&key], 1_800_000_000);
        let al = alert(&f, &key, a[&key], None);
        assert_eq!(al.labels["alertname"], "NodepulseLingerOff");
        assert_eq!(al.labels["host"], "edge-1");
        assert_eq!(al.labels["severity"], "critical");
        assert_eq!(al.starts_at, "2027-01-15T08:00:00Z");
        let j = serde_json::to_string(&al).unwrap();
        assert!(j.contains("\"startsAt\":\"2027-01-15T08:00:00Z\""), "{j}");
        assert!(!j.contains("endsAt"));
        let done = alert(&f, &key, a[&key], Some(1_800_000_060));
        assert_eq!(done.ends_at.as_deref(), Some("2027-01-15T08:01:00Z"));
    }
}
