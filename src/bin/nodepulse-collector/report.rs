//! The fleet in the Prometheus text format (the `--prom-out` file for node_exporter's textfile
//! collector, and the fleet part of `/metrics`), and InfluxDB line protocol for the forwarder.
//! (`status` and the API are in [`crate::view`].)

use crate::fleet::{Drop, Fleet, Node, Obs, Problem};
use std::fmt::Write as _;

fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// Escapes a Prometheus label value.
pub fn label(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\\', '"', '\n']) {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .into()
    } else {
        s.into()
    }
}

/// The Prometheus text file (node_exporter textfile collector): per node up, last seen, skew,
/// status, problems; fleet totals and drop counters.
/// Written to `w` in chunks (no buffer of the whole file).
pub fn prom_to(w: &mut dyn std::io::Write, fleet: &Fleet, now_ms: u64) -> std::io::Result<()> {
    let mut s = String::with_capacity(1 << 16);
    let mut nodes: Vec<(&str, &Node)> = fleet.nodes.iter().collect();
    nodes.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let spill = |s: &mut String, w: &mut dyn std::io::Write, force: bool| {
        if force || s.len() > 60_000 {
            let r = w.write_all(s.as_bytes());
            s.clear();
            r
        } else {
            Ok(())
        }
    };

    type Per = fn(&Node, u64) -> String;
    let per_node: [(&str, &str, Per); 6] = [
        (
            "nodepulse_fleet_up",
            "1 if the node's last record arrived within offline-factor times its interval.",
            |n, _| u8::from(!n.has(Problem::Offline)).to_string(),
        ),
        (
            "nodepulse_fleet_last_seen_timestamp_seconds",
            "When the collector received the node's last record.",
            |n, _| seconds(n.seen_ms as i64),
        ),
        (
            "nodepulse_fleet_last_seen_age_seconds",
            "Seconds since the node's last record, when this file was written.",
            |n, now| seconds(now.saturating_sub(n.seen_ms) as i64),
        ),
        (
            "nodepulse_fleet_skew_seconds",
            "Node clock minus the collector's receive time, last record.",
            |n, _| seconds(n.skew_ms()),
        ),
        (
            "nodepulse_fleet_status",
            "Overall status of the last record: 0 ok, 1 warning, 2 critical, 3 unknown.",
            |n, _| n.status.to_string(),
        ),
        (
            "nodepulse_fleet_problems",
            "Number of active problems (see nodepulse_fleet_problem_since_timestamp_seconds).",
            |n, _| n.problems.count_ones().to_string(),
        ),
    ];
    for (name, help, f) in per_node {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (h, n) in &nodes {
            let _ = writeln!(s, "{name}{{host=\"{}\"}} {}", label(h), f(n, now_ms));
            spill(&mut s, w, false)?;
        }
    }
    let name = "nodepulse_fleet_problem_since_timestamp_seconds";
    let _ = writeln!(
        s,
        "# HELP {name} When each active problem began (offline, skewed, rebooted, lost_records, flapping, unsynced, clock, timesync, linger_off, service_down, disk, memory).\n# TYPE {name} gauge"
    );
    for (h, n) in &nodes {
        for p in Problem::ALL {
            if let Some(since) = n.since(p) {
                let _ = writeln!(
                    s,
                    "{name}{{host=\"{}\",problem=\"{}\"}} {since}",
                    label(h),
                    p.as_str()
                );
            }
        }
        spill(&mut s, w, false)?;
    }
    let name = "nodepulse_fleet_lost_records_total";
    let _ = writeln!(
        s,
        "# HELP {name} Records lost (seq gaps) per node.\n# TYPE {name} counter"
    );
    for (h, n) in &nodes {
        let _ = writeln!(s, "{name}{{host=\"{}\"}} {}", label(h), n.lost);
        spill(&mut s, w, false)?;
    }
    let (up, offline) = fleet.census();
    let _ = writeln!(
        s,
        "# HELP nodepulse_fleet_nodes Nodes tracked, by state.\n# TYPE nodepulse_fleet_nodes gauge\nnodepulse_fleet_nodes{{state=\"up\"}} {up}\nnodepulse_fleet_nodes{{state=\"offline\"}} {offline}"
    );
    let _ = writeln!(
        s,
        "# HELP nodepulse_fleet_records_accepted_total Records accepted.\n# TYPE nodepulse_fleet_records_accepted_total counter\nnodepulse_fleet_records_accepted_total {}",
        fleet.counters.accepted
    );
    let name = "nodepulse_fleet_datagrams_dropped_total";
    let _ = writeln!(
        s,
        "# HELP {name} Datagrams dropped, by reason (node_limit: a new host past --max-nodes).\n# TYPE {name} counter"
    );
    for d in Drop::ALL {
        let _ = writeln!(
            s,
            "{name}{{reason=\"{}\"}} {}",
            d.as_str(),
            fleet.counters.dropped[d as usize]
        );
    }
    spill(&mut s, w, true)
}

/// The Prometheus text in memory.
#[cfg(test)]
pub fn prom(fleet: &Fleet, now_ms: u64) -> String {
    let mut v = Vec::new();
    prom_to(&mut v, fleet, now_ms).unwrap();
    String::from_utf8(v).unwrap()
}

/// Escapes a line-protocol tag value (`,`, `=`, space).
fn tag(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        if matches!(b, b',' | b'=' | b' ' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// One accepted record as an InfluxDB line: measurement `nodepulse_fleet`, tag `host`
/// (percent-encoded as in np1), integer fields, the collector's receive time in ns.
pub fn influx_line(out: &mut Vec<u8>, obs: &Obs, node: &Node, now_ms: u64) {
    let m = &obs.metrics;
    out.extend_from_slice(b"nodepulse_fleet,host=");
    tag(out, &obs.host);
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, name: &str, v: &dyn std::fmt::Display, suffix: &str| {
        out.push(if first { b' ' } else { b',' });
        first = false;
        let _ = write!(out_str(out), "{name}={v}{suffix}");
    };
    field(out, "status", &obs.status, "i");
    field(out, "skew_ms", &node.skew_ms(), "i");
    field(out, "problems", &node.problems.count_ones(), "i");
    field(out, "problem_bits", &node.problems, "i");
    field(out, "lost_total", &node.lost, "i");
    if let Some(v) = obs.seq {
        field(out, "seq", &v, "i");
    }
    if let Some(v) = m.uptime_s {
        field(out, "uptime_s", &v, "i");
    }
    if let Some([a, b, c]) = m.load {
        for (name, v) in [("load1", a), ("load5", b), ("load15", c)] {
            field(out, name, &format_args!("{}.{:02}", v / 100, v % 100), "");
        }
    }
    let statuses = [
        ("clock_status", m.clock),
        ("timesync_status", m.timesync),
        ("linger_status", m.linger),
        ("service_status", m.service),
        ("disk_status", m.disk),
        ("memory_status", m.memory),
    ];
    for (name, v) in statuses {
        if let Some(v) = v {
            field(out, name, &v, "i");
        }
    }
    if m.service.is_some() {
        field(out, "services_down", &m.services_down, "i");
    }
    let numbers = [
        ("clock_offset_us", m.clock_offset_us),
        ("clock_maxerror_ms", m.clock_maxerror_ms),
        ("disk_used_pct_max", m.disk_used_pct_max.map(|v| v as i64)),
        ("memory_total_mb", m.memory_total_mb.map(|v| v as i64)),
        ("memory_avail_mb", m.memory_avail_mb.map(|v| v as i64)),
    ];
    for (name, v) in numbers {
        if let Some(v) = v {
            field(out, name, &v, "i");
        }
    }
    let _ = writeln!(out_str(out), " {}", u128::from(now_ms) * 1_000_000);
}

/// `std::fmt::Write` over a byte vector.
fn out_str(out: &mut Vec<u8>) -> impl std::fmt::Write + '_ {
    struct W<'a>(&'a mut Vec<u8>);
    impl std::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    W(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_strings() {
        assert_eq!(seconds(-600_000), "-600.000");
        assert_eq!(seconds(-5), "-0.005");
        assert_eq!(seconds(1_500), "1.500");
        assert_eq!(seconds(0), "0.000");
    }

    #[test]
    fn prom_escapes_labels_and_types_every_metric() {
        let mut f = Fleet::new(crate::fleet::Policy::default());
        let o = crate::ingest::parse(b"np1 host=a\"b\\c t=1000 st=crit svc.x=crit:down").unwrap();
        f.ingest(&o, 2000);
        let text = prom(&f, 3000);
        assert!(
            text.contains("nodepulse_fleet_up{host=\"a\\\"b\\\\c\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "nodepulse_fleet_problem_since_timestamp_seconds{host=\"a\\\"b\\\\c\",problem=\"service_down\"} 2\n"
        ));
        assert!(text.contains("nodepulse_fleet_skew_seconds{host=\"a\\\"b\\\\c\"} -1.000\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} has no TYPE"
            );
        }
    }

    #[test]
    fn influx_line_shape() {
        let o = crate::ingest::parse(
            b"np1 host=a%20b t=1 st=crit up=5 load=0.12,1.00,2.5 svc.x=crit:down,via:cg seq=3",
        )
        .unwrap();
        let n = Node::default();
        let mut out = Vec::new();
        influx_line(&mut out, &o, &n, 2000);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "nodepulse_fleet,host=a%20b status=2i,skew_ms=0i,problems=0i,problem_bits=0i,lost_total=0i,seq=3i,uptime_s=5i,load1=0.12,load5=1.00,load15=2.50,service_status=2i,services_down=1i 2000000000\n"
        );
    }
}
