//! JSON: one object per line, numbers as numbers, nested by check; unknown values are `null`,
//! a skipped check is absent. Strings are UTF-8; a name's bytes that are not, and `%`, are `%XX`
//! ([`super::text`]).
//!
//! ```text
//! {"v":"np1","host":"edge-01","t_ms":1764000000123,"status":"crit",
//!  "system":{"uptime_s":86400,"load1":0.12,...},"clock":{"status":"crit","why":"unsynced",...},
//!  "run":{"seq":2,"gap_s":60,"reboot":false,"prev":null,"save_errno":null},
//!  "users":[{"user":"node","status":"ok","uid":1000,...}],"services":[...],"disks":[...],"memory":{...},
//!  "fixes":[{"step":"enable-linger","user":"claw","exit_code":0,"outcome":"ran"}]}
//! ```
//! Fields and units: [`crate::model`].

use super::text::{json_escape, write_text};
use super::Out;
use crate::model::{Model, Section, NODE, V};

fn string(out: &mut Out, bytes: &[u8]) {
    out.str("\"");
    write_text(out, bytes, json_escape);
    out.str("\"")
}

/// `"key":` preceded by a comma unless first.
fn key(out: &mut Out, first: &mut bool, name: &str) {
    if !*first {
        out.str(",");
    }
    *first = false;
    out.str("\"");
    out.str(name);
    out.str("\":")
}

pub fn value(out: &mut Out, v: V) {
    match v {
        V::Int(n) => out.i64(n),
        V::Dec(n, d) => out.fixed(n, u32::from(d)),
        V::Bool(b) => out.str(if b { "true" } else { "false" }),
        V::Text(s) => string(out, s),
        V::Null | V::Word(_) => out.str("null"),
    }
}

/// One check's object: labels, status, why, fields.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
fn object(out: &mut Out, c: &Section) {
    out.str("{");
    let mut first = true;
    for (name, v) in c.labels() {
        key(out, &mut first, name);
        value(out, if v.is_empty() { V::Null } else { V::Text(v) });
    }
    // The node's status is the record's, at the top.
    if c.kind.judged && !core::ptr::eq(c.kind, &NODE) {
        key(out, &mut first, "status");
        string(out, c.verdict.status.as_str().as_bytes());
        if let Some(why) = c.verdict.why {
            key(out, &mut first, "why");
            string(out, why.as_str().as_bytes());
        }
    }
    for (spec, v) in c.fields().filter(|(s, _)| !s.name().is_empty()) {
        key(out, &mut first, spec.name());
        value(out, v);
    }
    out.str("}")
}

/// Encodes the record as one JSON object and a newline.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn encode(m: &Model, out: &mut Out) {
    let checks = &m.sections;
    out.str("{\"v\":\"np1\",\"host\":");
    value(out, m.host.map_or(V::Null, V::Text));
    out.str(",\"t_ms\":");
    out.u64(m.t_ms);
    out.str(",\"status\":");
    string(out, m.status.as_str().as_bytes());
    let mut prev: Option<&Section> = None;
    for (i, c) in checks.iter().enumerate() {
        let opens = prev.is_none_or(|p| !core::ptr::eq(p.kind, c.kind));
        let skipped_system = core::ptr::eq(c.kind, &NODE) && m.record.system.is_none();
        if !skipped_system {
            if opens {
                out.str(",\"");
                out.str(c.kind.json);
                out.str(if c.kind.list { "\":[" } else { "\":" });
            } else {
                out.str(",");
            }
            object(out, c);
            let closes = checks
                .get(i + 1)
                .is_none_or(|n| !core::ptr::eq(n.kind, c.kind));
            if c.kind.list && closes {
                out.str("]");
            }
        }
        prev = Some(c);
    }
    out.str("}\n")
}
