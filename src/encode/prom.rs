//! Prometheus text exposition (format 0.0.4) for node_exporter's textfile collector: metric
//! names `nodepulse_*`, base units (seconds, bytes, ratios), one `# HELP` and `# TYPE` per
//! family with all its samples together, label values escaped, unknown values left out. A text
//! field becomes an info metric: `nodepulse_timesync_daemon_info{daemon="chronyd"} 1`.
//! Fields and units: [`crate::model`].
//!
//! # References
//! - Prometheus "Exposition formats" (text format), metric and label naming conventions
//! - node_exporter textfile collector (`*.prom` files, written atomically)

use super::text::{prom_escape, write_text};
use super::Out;
use crate::model::{Model, Section, Spec, V};

fn family(out: &mut Out, name: &str, help: &str) {
    out.str("# HELP nodepulse_");
    out.str(name);
    out.str(" ");
    out.str(help);
    out.str("\n# TYPE nodepulse_");
    out.str(name);
    out.str(" gauge\n")
}

/// `nodepulse_NAME{check's labels[,extra]} ` (the value follows).
fn sample<'c>(
    out: &mut Out,
    name: &str,
    c: &Section<'c>,
    check_label: bool,
    extra: Option<(&'static str, &'c [u8])>,
) {
    out.str("nodepulse_");
    out.str(name);
    let mut sep = "{";
    if check_label {
        label(out, &mut sep, "check", c.kind.check.as_bytes());
    }
    for (name, v) in c.labels() {
        label(out, &mut sep, name, v);
    }
    if let Some((name, v)) = extra {
        label(out, &mut sep, name, v);
    }
    out.str(if sep == "{" { " " } else { "} " })
}

/// `{name="value"` for the first label, `,name="value"` for the others.
fn label(out: &mut Out, sep: &mut &str, name: &str, value: &[u8]) {
    out.str(sep);
    *sep = ",";
    out.str(name);
    out.str("=\"");
    write_text(out, value, prom_escape);
    out.str("\"");
}

/// One sample of a field; nothing for an unknown value. A text becomes an info metric's label.
fn field<'c>(out: &mut Out, spec: &Spec, c: &Section<'c>, v: V<'c>) {
    let shift = u32::from(spec.shift);
    let info = match v {
        V::Null | V::Word(_) => return,
        V::Text(text) => {
            let name = if spec.name().is_empty() {
                "value"
            } else {
                spec.name()
            };
            Some((name, text))
        }
        _ => None,
    };
    sample(out, spec.prom(), c, false, info);
    match v {
        V::Int(n) => out.fixed(n, shift),
        V::Dec(n, d) => out.fixed(n, u32::from(d) + shift),
        V::Bool(b) => out.str(if b { "1" } else { "0" }),
        _ => out.str("1"), // an info metric
    }
    out.str("\n")
}

/// Encodes the record as a Prometheus text file.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn encode<'a>(m: &Model<'a>, out: &mut Out) {
    let checks = m.sections.as_slice();
    family(
        out,
        "status",
        "Check status: 0 ok, 1 warning, 2 critical, 3 unknown; check=\"node\" is the worst.",
    );
    for c in checks.iter().filter(|c| c.kind.judged) {
        sample(out, "status", c, true, None);
        out.u64(u64::from(c.verdict.status.code()));
        out.str("\n");
    }
    family(out, "last_run_timestamp_seconds", "When the agent ran.");
    out.str("nodepulse_last_run_timestamp_seconds ");
    out.fixed(i64::try_from(m.t_ms).unwrap_or(i64::MAX), 3);
    out.str("\n");
    // Checks of one kind are adjacent: each field is one family over all of them.
    for group in checks.chunk_by(|a, b| core::ptr::eq(a.kind, b.kind)) {
        let Some(first) = group.first() else { continue };
        for i in 0..first.kind.fields.len() {
            let spec = first.kind.fields.spec(i);
            let value = |c: &Section<'a>| c.values.get(i).copied().unwrap_or(V::Null);
            if spec.prom().is_empty() || group.iter().all(|c| value(c).is_null()) {
                continue;
            }
            family(out, spec.prom(), spec.help());
            for c in group {
                field(out, &spec, c, value(c));
            }
        }
    }
}
