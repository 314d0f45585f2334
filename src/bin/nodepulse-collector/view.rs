//! The fleet as people and programs read it: the JSON of `status --json`, `/api/v1/nodes` and
//! `/api/v1/nodes/HOST` (one set of serde types, written from the table and read back by
//! `status --connect`), and the text of `status`.
//!
//! The whole fleet is serialized node by node from the table ([`Nodes`]): a request for
//! 100 000 nodes never builds them all as values first.

use crate::fleet::{status_str, Drop, Fleet, Node, Problem, AFTER_OFFLINE};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `2026-11-25T08:00:00Z` from epoch seconds.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// ms → seconds with 3 decimals, as a JSON number.
fn secs_f64(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The whole fleet; `N` is [`Nodes`] when written from the table, `Vec<NodeView>` when read.
#[derive(Debug, Serialize, Deserialize)]
pub struct FleetView<N> {
    pub now_ms: u64,
    /// When the state file was written (`status --state`), or the snapshot taken (`--http`).
    pub saved_ms: u64,
    pub nodes_total: usize,
    pub nodes_up: usize,
    pub nodes_offline: usize,
    pub accepted: u64,
    /// Datagrams dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Problems first (offline first), then by name.
    pub nodes: N,
}

/// The fleet as read back (`status --connect`).
pub type FleetRead = FleetView<Vec<NodeView>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// Percent-encoded as in np1 (the table's key).
    pub host: String,
    /// The decoded hostname, when it decodes to UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub up: bool,
    pub status: String,
    pub last_seen_ms: u64,
    pub age_s: u64,
    pub t_ms: u64,
    pub skew_s: f64,
    pub interval_s: f64,
    pub records: u32,
    pub lost: u32,
    pub seq: Option<u64>,
    pub boot: Option<String>,
    pub problems: Vec<ProblemView>,
    /// The last records' statuses, oldest first, one letter each: `o` ok, `w` warn, `c` crit,
    /// `u` unknown; upper case when the record ended an offline period.
    pub history: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemView {
    pub problem: String,
    pub since: String,
    pub since_s: u32,
}

/// One strip byte as its letter (see [`NodeView::history`]).
fn history_letter(b: u8) -> char {
    let c = match (b & !AFTER_OFFLINE).saturating_sub(1) {
        0 => 'o',
        1 => 'w',
        2 => 'c',
        _ => 'u',
    };
    if b & AFTER_OFFLINE != 0 {
        c.to_ascii_uppercase()
    } else {
        c
    }
}

impl NodeView {
    pub fn of(host: &str, n: &Node, fleet: &Fleet, now_ms: u64) -> NodeView {
        let mut buf = [0u8; 256];
        let name = nodepulse::encode::line::decode(host.as_bytes(), &mut buf)
            .and_then(|d| std::str::from_utf8(d).ok())
            .map(String::from);
        NodeView {
            host: host.to_string(),
            name,
            up: !n.has(Problem::Offline),
            status: status_str(n.status).to_string(),
            last_seen_ms: n.seen_ms,
            age_s: now_ms.saturating_sub(n.seen_ms) / 1000,
            t_ms: n.t_ms,
            skew_s: secs_f64(n.skew_ms()),
            interval_s: secs_f64(n.interval_ms(&fleet.policy) as i64),
            records: n.records,
            lost: n.lost,
            seq: (n.seq != u64::MAX).then_some(n.seq),
            boot: n.boot_known().then(|| format!("{:016x}", n.boot)),
            problems: Problem::ALL
                .iter()
                .filter_map(|&p| {
                    n.since(p).map(|since| ProblemView {
                        problem: p.as_str().to_string(),
                        since: rfc3339(u64::from(since)),
                        since_s: since,
                    })
                })
                .collect(),
            history: n.history().map(history_letter).collect(),
        }
    }

    /// The node's problems are none.
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The table's nodes in view order, serialized one at a time.
pub struct Nodes<'a> {
    fleet: &'a Fleet,
    now_ms: u64,
}

impl Serialize for Nodes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sorted = self.fleet.sorted();
        let mut seq = s.serialize_seq(Some(sorted.len()))?;
        for (host, n) in sorted {
            seq.serialize_element(&NodeView::of(host, n, self.fleet, self.now_ms))?;
        }
        seq.end()
    }
}

/// The fleet, ready to serialize.
pub fn fleet(fleet: &Fleet, now_ms: u64, saved_ms: u64) -> FleetView<Nodes<'_>> {
    let (up, offline) = fleet.census();
    FleetView {
        now_ms,
        saved_ms,
        nodes_total: fleet.nodes.len(),
        nodes_up: up,
        nodes_offline: offline,
        accepted: fleet.counters.accepted,
        dropped: Drop::ALL
            .iter()
            .map(|d| (d.as_str().to_string(), fleet.counters.dropped[*d as usize]))
            .collect(),
        nodes: Nodes { fleet, now_ms },
    }
}

/// The same, as owned values (for the text view and the tests).
pub fn read(fleet: &Fleet, now_ms: u64, saved_ms: u64) -> FleetRead {
    let v = self::fleet(fleet, now_ms, saved_ms);
    FleetView {
        now_ms: v.now_ms,
        saved_ms: v.saved_ms,
        nodes_total: v.nodes_total,
        nodes_up: v.nodes_up,
        nodes_offline: v.nodes_offline,
        accepted: v.accepted,
        dropped: v.dropped,
        nodes: fleet
            .sorted()
            .into_iter()
            .map(|(h, n)| NodeView::of(h, n, fleet, now_ms))
            .collect(),
    }
}

/// Human-readable fleet, problems first.
pub fn text(v: &FleetRead) -> String {
    let mut s = String::new();
    let with_problems = v.nodes.iter().filter(|n| !n.healthy()).count();
    let _ = writeln!(
        s,
        "{} nodes: {} up, {} offline, {with_problems} with problems; {} records accepted, {} datagrams dropped",
        v.nodes_total,
        v.nodes_up,
        v.nodes_offline,
        v.accepted,
        v.dropped.values().sum::<u64>()
    );
    for n in &v.nodes {
        let _ = write!(
            s,
            "{} {} st={} seen={}s ago skew={:.3}s",
            n.host,
            if n.up { "up" } else { "OFFLINE" },
            n.status,
            n.age_s,
            n.skew_s
        );
        for p in &n.problems {
            let _ = write!(s, " {}@{}", p.problem, p.since);
        }
        if n.lost > 0 {
            let _ = write!(s, " lost={}", n.lost);
        }
        s.push('\n');
    }
    let drops: Vec<String> = v
        .dropped
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    if !drops.is_empty() {
        let _ = writeln!(s, "dropped: {}", drops.join(" "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Policy;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_526_382), "2026-11-24T13:19:42Z");
        // Around a leap day, past 2038, and the century rules (2100 is not a leap year).
        assert_eq!(rfc3339(1_583_020_799), "2020-02-29T23:59:59Z");
        assert_eq!(rfc3339(1_583_020_800), "2020-03-01T00:00:00Z");
        assert_eq!(rfc3339(2_147_483_648), "2038-01-19T03:14:08Z");
        assert_eq!(rfc3339(4_107_456_000), "2100-02-28T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(13_569_465_599), "2399-12-31T23:59:59Z");
    }

    #[test]
    fn each_strip_byte_has_its_letter() {
        use crate::fleet::strip_byte;
        let letters: String = [0, 1, 2, 3, 7]
            .into_iter()
            .flat_map(|st| [strip_byte(st, false), strip_byte(st, true)])
            .map(history_letter)
            .collect();
        assert_eq!(letters, "oOwWcCuUuU");
    }

    #[test]
    fn text_counts_the_nodes_with_problems_and_shows_lost_records() {
        let mut f = Fleet::new(Policy::default());
        let t = 1_800_000_000_000;
        for rec in [
            "np1 host=a t=1800000000000 st=ok seq=1",
            "np1 host=b t=1800000000000 st=ok",
            "np1 host=c t=1800000000000 st=ok seq=1",
            "np1 host=c t=1800000060000 st=ok seq=5",
        ] {
            f.ingest(&crate::ingest::parse(rec.as_bytes()).unwrap(), t);
        }
        let text = text(&read(&f, t, t));
        assert!(
            text.starts_with("3 nodes: 3 up, 0 offline, 1 with problems;"),
            "{text}"
        );
        let lost: Vec<&str> = text.lines().filter(|l| l.contains("lost=")).collect();
        assert_eq!(lost.len(), 1, "{text}");
        assert!(
            lost[0].starts_with("c up ") && lost[0].ends_with(" lost=3"),
            "{text}"
        );
    }

    #[test]
    fn written_json_reads_back_the_same() {
        let mut f = Fleet::new(Policy::default());
        let t = 1_800_000_000_000;
        for (i, rec) in [
            "np1 host=edge%20a t=1799999400000 st=crit svc.x=crit:down seq=4",
            "np1 host=b t=1800000000000 st=ok boot=0123456789abcdef0123456789abcdef",
        ]
        .iter()
        .enumerate()
        {
            let o = crate::ingest::parse(rec.as_bytes()).unwrap();
            f.ingest(&o, t + i as u64);
        }
        f.counters.drop(Drop::Utf8);
        let json = serde_json::to_string(&fleet(&f, t + 5000, t)).unwrap();
        let back: FleetRead = serde_json::from_str(&json).unwrap();
        let want = read(&f, t + 5000, t);
        assert_eq!(back.nodes, want.nodes);
        assert_eq!(back.dropped["not_utf8"], 1);
        let a = &back.nodes[0];
        assert_eq!(
            (a.host.as_str(), a.name.as_deref()),
            ("edge%20a", Some("edge a"))
        );
        assert_eq!(
            (a.skew_s, a.seq, a.history.as_str()),
            (-600.0, Some(4), "c")
        );
        let problems: Vec<&str> = a.problems.iter().map(|p| p.problem.as_str()).collect();
        assert_eq!(problems, ["skewed", "service_down"]);
        assert_eq!(back.nodes[1].boot.as_deref(), Some("0123456789abcdef"));
        let text = text(&back);
        assert!(
            text.starts_with("2 nodes: 2 up, 0 offline, 1 with problems"),
            "{text}"
        );
        assert!(
            text.contains("\nedge%20a up st=crit seen=5s ago skew=-600.000s skewed@"),
            "{text}"
        );
        assert!(text.ends_with("dropped: not_utf8=1\n"), "{text}");
    }
}
