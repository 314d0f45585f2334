//! InfluxDB line protocol: one line per check and per fix step, measurement `nodepulse`, tags `check` and
//! `host` (plus `mount`, `service` or `user` for the check's instance), typed fields (integers
//! with `i`, booleans, quoted strings), timestamp in nanoseconds. Unknown fields are left out.
//!
//! ```text
//! nodepulse,check=node,host=edge-01 status=2i,uptime_s=86400i,load1=0.12,... 1764000000123000000
//! nodepulse,check=disk,host=edge-01,mount=/data status=0i,size_bytes=...i,... 1764000000123000000
//! nodepulse,check=fix,host=edge-01,step=enable-linger,user=claw exit_code=0i,outcome="ran" 1764000000123000000
//! ```
//!
//! With `--state` the node's line also carries the run's history (`seq`, `gap_s`, `reboot`,
//! `prev`, `save_errno`). Names: [`super::text`] (`\x2d` stays as written; a trailing backslash
//! is `%5C`).
//!
//! VictoriaMetrics stores each field as the series `nodepulse_FIELD{check=..,host=..}`.
//! Fields and units: [`crate::model`].
//!
//! # References
//! - InfluxDB line protocol reference (escaping of tag values and string fields)

use super::text::{influx_string_escape, influx_tag_escape, write_text};
use super::Out;
use crate::model::{Model, V};

/// `,name=value` (no comma for the `first` of a line); nothing for an unknown value.
fn field(out: &mut Out, name: &str, v: V, first: &mut bool) {
    if v.is_null() {
        return;
    }
    if !core::mem::take(first) {
        out.str(",");
    }
    out.str(name);
    out.str("=");
    match v {
        V::Int(n) => {
            out.i64(n);
            out.str("i")
        }
        V::Dec(n, d) => out.fixed(n, u32::from(d)),
        V::Bool(b) => out.str(if b { "true" } else { "false" }),
        V::Text(s) => {
            out.str("\"");
            write_text(out, s, influx_string_escape);
            out.str("\"")
        }
        V::Null | V::Word(_) => {}
    }
}

/// Encodes the record as line protocol: one line per check with its `status`; the run's history
/// joins the node's line, each fix step is a line without a status.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn encode(m: &Model, out: &mut Out) {
    let host: &[u8] = m.host.unwrap_or(b"-");
    let mut open = false;
    for c in &m.sections {
        // A section with neither a verdict nor an instance (the run) continues the line before.
        let starts_line = c.kind.judged || c.kind.list || !open;
        if starts_line {
            if open {
                end(out, m.t_ms);
            }
            open = true;
            out.str("nodepulse,check=");
            out.str(c.kind.check);
            out.str(",host=");
            write_text(out, host, influx_tag_escape);
            for (name, v) in c.labels().filter(|(_, v)| !v.is_empty()) {
                out.str(",");
                out.str(name);
                out.str("=");
                write_text(out, v, influx_tag_escape);
            }
            out.str(" ");
            if c.kind.judged {
                out.str("status=");
                out.u64(u64::from(c.verdict.status.code()));
                out.str("i");
                if let Some(why) = c.verdict.why {
                    field(out, "why", V::Text(why.as_str().as_bytes()), &mut false);
                }
            }
        }
        // A line of its own without `status` (a fix step): its first field has no comma.
        let mut first = starts_line && !c.kind.judged;
        for (spec, v) in c.fields().filter(|(s, _)| !s.name().is_empty()) {
            field(out, spec.name(), v, &mut first);
        }
    }
    if open {
        end(out, m.t_ms);
    }
}

/// ` TIMESTAMP\n`: nanoseconds.
fn end(out: &mut Out, t_ms: u64) {
    out.str(" ");
    out.u64(t_ms);
    out.str("000000\n");
}
