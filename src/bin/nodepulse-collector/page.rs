//! `GET /`: the fleet as one HTML page, for a person. Nothing external: inline CSS, no script,
//! no image or font (it works on an air-gapped network; the server's Content-Security-Policy
//! forbids anything else), and it reloads itself every [`REFRESH_S`] seconds.
//!
//! Nodes come in the views' order: problems first (offline, unsynced, skewed, linger off,
//! service down, rebooted, ...), each row with when each problem began, the last record's age,
//! the clock skew, the interval, and a strip of its last records' statuses, oldest first, with a
//! mark where it came back after being offline, so that flapping and ghost-offline nodes show
//! at a glance. At most [`MAX_ROWS`] rows (the API has them all).

use crate::view::{rfc3339, FleetRead, NodeView};
use std::fmt::Write as _;

pub const REFRESH_S: u32 = 10;
pub const MAX_ROWS: usize = 1000;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}
.summary{margin:0 0 1em;color:#444}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#eee;font-weight:600}
tr.offline{background:#fde8e8}
tr.problem{background:#fff6e0}
td.host{font-weight:600;white-space:nowrap}
td.state{font-weight:600}
tr.offline td.state{color:#b71c1c}
.problem-tag{display:inline-block;margin:0 .5em .1em 0;padding:0 .4em;border-radius:3px;background:#f3d2d2;white-space:nowrap}
.problem-tag small{color:#555}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.strip{font-family:monospace;letter-spacing:-1px;white-space:nowrap}
.s-o{color:#2e7d32}.s-w{color:#f9a825}.s-c{color:#c62828}.s-u{color:#757575}
.back{color:#000;font-weight:bold}
.more{color:#555;margin-top:.6em}
";

/// Escapes text for HTML content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`.
fn ago(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

fn strip(s: &mut String, history: &str) {
    let _ = write!(s, "<td class=\"strip\" title=\"{}\">", esc(history));
    let mut run: Option<char> = None;
    for c in history.chars() {
        let kind = c.to_ascii_lowercase();
        let back = c.is_ascii_uppercase();
        if back || run != Some(kind) {
            if run.is_some() {
                s.push_str("</span>");
            }
            if back {
                s.push_str("<span class=\"back\" title=\"back after being offline\">|</span>");
            }
            let _ = write!(s, "<span class=\"s-{kind}\">");
            run = Some(kind);
        }
        s.push('\u{2588}');
    }
    if run.is_some() {
        s.push_str("</span>");
    }
    s.push_str("</td>");
}

fn row(s: &mut String, n: &NodeView, now_ms: u64) {
    let class = if !n.up {
        "node offline"
    } else if !n.healthy() {
        "node problem"
    } else {
        "node"
    };
    let problems: Vec<&str> = n.problems.iter().map(|p| p.problem.as_str()).collect();
    let _ = write!(
        s,
        "<tr class=\"{class}\" id=\"node-{}\" data-host=\"{}\" data-problems=\"{}\"><td class=\"host\">{}</td><td class=\"state\">{}</td><td class=\"problems\">",
        esc(&n.host),
        esc(&n.host),
        problems.join(","),
        esc(n.name.as_deref().unwrap_or(&n.host)),
        if n.up { "up" } else { "OFFLINE" },
    );
    let now_s = now_ms / 1000;
    for p in &n.problems {
        let _ = write!(
            s,
            "<span class=\"problem-tag\">{} <small>since <time datetime=\"{}\">{}</time> ({} ago)</small></span>",
            esc(&p.problem),
            esc(&p.since),
            esc(&p.since),
            ago(now_s.saturating_sub(u64::from(p.since_s)))
        );
    }
    let _ = write!(
        s,
        "</td><td class=\"num\">{} ago</td><td class=\"num\">{:.1} s</td><td class=\"num\">{} s</td><td>{}</td>",
        ago(n.age_s),
        n.skew_s,
        n.interval_s,
        esc(&n.status)
    );
    strip(s, &n.history);
    s.push_str("</tr>\n");
}

/// The page for `v`, rendered at `now_ms`.
pub fn render(v: &FleetRead, now_ms: u64) -> String {
    let with_problems = v.nodes.iter().filter(|n| !n.healthy()).count();
    let mut s = String::with_capacity(4096 + v.nodes.len().min(MAX_ROWS) * 900);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_S}\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>nodepulse: {} offline, {with_problems} with problems of {}</title><style>{STYLE}</style></head>\n<body>\
<h1>nodepulse fleet</h1><p class=\"summary\" id=\"summary\">{} nodes: {} up, <b>{} offline</b>, {with_problems} with problems; {} records accepted, {} datagrams dropped. As of <time datetime=\"{t}\">{t}</time>, reloads every {REFRESH_S} s.</p>\n\
<table id=\"fleet\"><thead><tr><th>node</th><th>state</th><th>problems (since)</th><th>last record</th><th>skew</th><th>interval</th><th>status</th><th>last {} records (oldest first)</th></tr></thead>\n<tbody>\n",
        v.nodes_offline,
        v.nodes_total,
        v.nodes_total,
        v.nodes_up,
        v.nodes_offline,
        v.accepted,
        v.dropped.values().sum::<u64>(),
        crate::fleet::STRIP,
        t = rfc3339(now_ms / 1000),
    );
    for n in v.nodes.iter().take(MAX_ROWS) {
        row(&mut s, n, now_ms);
    }
    s.push_str("</tbody></table>\n");
    if v.nodes.len() > MAX_ROWS {
        let _ = writeln!(
            s,
            "<p class=\"more\">and {} more nodes without worse problems: see <a href=\"/api/v1/nodes\">/api/v1/nodes</a>.</p>",
            v.nodes.len() - MAX_ROWS
        );
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{Fleet, Policy};

    #[test]
    fn offline_first_escaped_and_self_contained() {
        let mut f = Fleet::new(Policy::default());
        let t = 1_800_000_000_000;
        for rec in [
            "np1 host=a-ok t=1800000000000 st=ok",
            "np1 host=%3Cscript%3E t=1800000000000 st=crit linger.n=crit:linger-off",
            "np1 host=z-off t=1799999000000 st=ok",
        ] {
            let o = crate::ingest::parse(rec.as_bytes()).unwrap();
            let at = if rec.contains("z-off") {
                t - 1_000_000
            } else {
                t
            };
            f.ingest(&o, at);
        }
        f.sweep(t);
        let html = render(&crate::view::read(&f, t, t), t);
        let pos = |h: &str| html.find(&format!("data-host=\"{h}\"")).unwrap();
        assert!(pos("z-off") < pos("%3Cscript%3E") && pos("%3Cscript%3E") < pos("a-ok"));
        assert!(
            html.contains("<td class=\"host\">&lt;script&gt;</td>"),
            "{html}"
        );
        assert!(!html.contains("<script"));
        assert!(html.contains("<meta http-equiv=\"refresh\""));
        for external in ["src=", "http://", "https://", "url("] {
            assert!(!html.contains(external), "{external} in the page");
        }
        assert!(html.contains("offline <small>since <time"));
    }

    #[test]
    fn strip_runs_and_marks() {
        let mut s = String::new();
        strip(&mut s, "ooCc");
        assert_eq!(
            s,
            "<td class=\"strip\" title=\"ooCc\"><span class=\"s-o\">\u{2588}\u{2588}</span><span class=\"back\" title=\"back after being offline\">|</span><span class=\"s-c\">\u{2588}\u{2588}</span></td>"
        );
        assert_eq!(ago(59), "59s");
        assert_eq!(ago(3661), "1h 1m");
        assert_eq!(ago(90_000), "1d 1h");
    }
}
