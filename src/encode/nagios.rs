//! Monitoring-plugins output, for Nagios, Icinga or NRPE running the agent as a check:
//! `NODEPULSE STATE - summary | 'label'=value[UOM];warn;crit;min;max ...` on one line, and the
//! exit code 0/1/2/3. The summary names every check that is not OK. Perfdata thresholds are
//! plain numbers, as `check_disk` writes them: a low-is-bad value (free space, available
//! memory) is published as the amount used, against the used amount its threshold allows
//! (`'disk_used_/'=93%;90;95;0;100`), so no item needs a range, which Icinga 2 ignores.
//!
//! # References
//! - Monitoring Plugins Development Guidelines: plugin output, performance data, ranges

use super::text::write_text;
use super::Out;
use crate::kernel;
use crate::model::Model;
use crate::verdict::{self, Status};

/// Perfdata labels and summary names: keep them free of quotes, `=`, `|` and spaces.
fn label_escape(b: u8, _: Option<u8>) -> Option<&'static [u8]> {
    match b {
        b'\'' | b'=' | b'|' | b' ' | 0..=0x1f | 0x7f => Some(b"_"),
        _ => None,
    }
}

/// The perfdata part of the line: `|` right after the text before the first item (so a record
/// without perfdata has no dangling pipe), then `'LABEL'=value[UOM];warn;crit;min;max` items
/// separated by spaces.
struct Perfdata<'o, 'b> {
    out: &'o mut Out<'b>,
    started: bool,
}

impl<'b> Perfdata<'_, 'b> {
    /// ` 'LABELNAME'=`, the start of an item (the caller writes `value[UOM];warn;crit;min;max`):
    /// a label of ours, then the instance's name from the node (a mount path, or empty)
    /// through `label_escape`.
    fn item(&mut self, label: &str, name: &[u8]) -> &mut Out<'b> {
        self.out.str(if self.started { " '" } else { "|'" });
        self.started = true;
        self.out.str(label);
        write_text(self.out, name, label_escape);
        self.out.str("'=");
        self.out
    }

    /// A used share, `used_pct`, of something whose free share alerts below `free_warn` or
    /// `free_crit` percent: `used%;100-free_warn;100-free_crit;0;100` (alert above the used
    /// share they allow).
    fn percent_used(
        &mut self,
        label: &str,
        name: &[u8],
        used_pct: u64,
        free_warn: u64,
        free_crit: u64,
    ) {
        let used = |free: u64| 100u64.saturating_sub(free);
        let out = self.item(label, name);
        out.u64(used_pct);
        out.str("%;");
        out.u64(used(free_warn));
        out.str(";");
        out.u64(used(free_crit));
        out.str(";0;100");
    }

    /// A time in seconds from microseconds, its thresholds in milliseconds, then `min_max`
    /// (`;MIN;MAX`, trailing empty fields left out).
    fn seconds(&mut self, label: &str, us: i64, warn_ms: u64, crit_ms: u64, min_max: &str) {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let out = self.item(label, b"");
        out.fixed(us, 6);
        out.str("s;");
        out.fixed(ms(warn_ms), 3);
        out.str(";");
        out.fixed(ms(crit_ms), 3);
        out.str(min_max);
    }
}

/// Encodes the model as one plugin output line: the checks' verdicts in
/// the summary, the values against `t` in the perfdata.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn encode(m: &Model, out: &mut Out) {
    let (r, t) = (m.record, m.thresholds);
    out.str("NODEPULSE ");
    out.str(m.status.plugin_word());
    out.str(" - ");
    // `check[ name] status[ (why)]` for each check that is not OK, comma-separated.
    let mut sep = "";
    for c in m
        .sections
        .iter()
        .skip(1)
        .filter(|c| c.kind.judged && c.verdict.status != Status::Ok)
    {
        out.str(sep);
        sep = ", ";
        out.str(c.kind.check);
        if let Some((_, name)) = c.labels().next() {
            out.str(" ");
            write_text(out, name, label_escape);
        }
        out.str(" ");
        out.str(c.verdict.status.as_str());
        if let Some(why) = c.verdict.why {
            out.str(" (");
            out.str(why.as_str());
            out.str(")");
        }
    }
    if sep.is_empty() {
        out.str("all checks ok on ");
        write_text(out, m.host.unwrap_or(b"-"), label_escape);
    }

    let mut perf = Perfdata {
        out,
        started: false,
    };
    if let Some(Ok(tx)) = r.clock.as_ref().map(|c| &c.timex) {
        // The offset may be negative: no minimum.
        let (offset, maxerror) = (kernel::offset_us(tx), tx.maxerror);
        perf.seconds(
            "clock_offset",
            offset,
            t.offset_warn_ms,
            t.offset_crit_ms,
            "",
        );
        perf.seconds(
            "clock_maxerror",
            maxerror,
            t.maxerror_warn_ms,
            t.maxerror_crit_ms,
            ";0",
        );
    }
    for d in r.disks() {
        if let Ok(st) = &d.stat {
            let (warn, crit) = (t.disk_free_warn_pct, t.disk_free_crit_pct);
            perf.percent_used("disk_used_", d.path, u64::from(st.used_pct), warn, crit);
            let out = perf.item("disk_avail_", d.path);
            out.u64(st.avail_b);
            out.str("B;;;0;");
            out.u64(st.size_b);
        }
    }
    if let Some(st) = r.memory.as_ref().and_then(|m| m.stat) {
        let used = 100u64.saturating_sub(verdict::mem_avail_pct(&st));
        perf.percent_used(
            "mem_used",
            b"",
            used,
            t.mem_avail_warn_pct,
            t.mem_avail_crit_pct,
        );
    }
    if let Some(load) = r.system.as_ref().and_then(|s| s.load.as_ref()) {
        for (name, &l) in ["load1", "load5", "load15"].iter().zip(load) {
            let out = perf.item(name, b"");
            out.fixed(i64::try_from(l).unwrap_or(0), 2);
            out.str(";;;0");
        }
    }
    perf.out.str("\n")
}
