//! InfluxDB line protocol: one line per check, measurement `nodepulse`, tags `host` and `check`
//! (plus `user`, `service` or `mount` for the check's instance), typed fields (integers with
//! `i`, booleans, quoted strings), timestamp in nanoseconds. Unknown fields are left out.
//!
//! ```text
//! nodepulse,host=edge-01,check=node status=2i,uptime_s=86400i,load1=0.12,... 1764000000123000000
//! nodepulse,host=edge-01,check=disk,mount=/data status=0i,size_bytes=...i,... 1764000000123000000
//! ```
//!
//! VictoriaMetrics stores each field as the series `nodepulse_FIELD{host=..,check=..}`.
//!
//! # References
//! - InfluxDB line protocol reference (escaping of measurements, tag keys and values, strings)

use super::text::{influx_string_escape, influx_tag_escape, lossy};
use super::{Full, Out};
use crate::probe::clock as kclock;
use crate::record::{Record, SyncFile};
use crate::verdict::{self, Status, Thresholds, Verdict};

/// One line in progress: tracks whether a field was written, to place commas.
struct Line<'o, 'b> {
    out: &'o mut Out<'b>,
    fields: usize,
}

impl<'o, 'b> Line<'o, 'b> {
    /// Starts `nodepulse,host=H,check=C[,TAG=V]... ` and writes the status field.
    fn start(out: &'o mut Out<'b>, host: &[u8], check: &str, tags: &[(&str, &[u8])], v: Option<Verdict>) -> Result<Self, Full> {
        out.str("nodepulse,check=")?;
        out.str(check)?;
        out.str(",host=")?;
        lossy(out, if host.is_empty() { b"-" } else { host }, influx_tag_escape)?;
        for (name, value) in tags {
            out.str(",")?;
            out.str(name)?;
            out.str("=")?;
            lossy(out, if value.is_empty() { b"-" } else { value }, influx_tag_escape)?;
        }
        out.str(" ")?;
        let mut line = Line { out, fields: 0 };
        if let Some(v) = v {
            line.int("status", i64::from(v.status.code()))?;
            if !v.why.is_empty() {
                line.string("why", v.why.as_bytes())?;
            }
        }
        Ok(line)
    }

    fn name(&mut self, name: &str) -> Result<(), Full> {
        if self.fields > 0 {
            self.out.str(",")?;
        }
        self.fields += 1;
        self.out.str(name)?;
        self.out.str("=")
    }

    fn int(&mut self, name: &str, v: i64) -> Result<(), Full> {
        self.name(name)?;
        self.out.i64(v)?;
        self.out.str("i")
    }

    fn opt_int(&mut self, name: &str, v: Option<u64>) -> Result<(), Full> {
        match v {
            Some(n) => self.int(name, i64::try_from(n).unwrap_or(i64::MAX)),
            None => Ok(()),
        }
    }

    fn float(&mut self, name: &str, value: i64, decimals: u32) -> Result<(), Full> {
        self.name(name)?;
        self.out.fixed(value, decimals)
    }

    fn boolean(&mut self, name: &str, b: bool) -> Result<(), Full> {
        self.name(name)?;
        self.out.str(if b { "true" } else { "false" })
    }

    fn string(&mut self, name: &str, s: &[u8]) -> Result<(), Full> {
        self.name(name)?;
        self.out.str("\"")?;
        lossy(self.out, s, influx_string_escape)?;
        self.out.str("\"")
    }

    /// Ends the line with the timestamp.
    fn end(self, ns: &[u8]) -> Result<(), Full> {
        if self.fields == 0 {
            // Line protocol needs one field; an all-unknown check still says so.
            self.out.str("unknown=true")?;
        }
        self.out.str(" ")?;
        self.out.bytes(ns)?;
        self.out.str("\n")
    }
}

/// Encodes the record as line protocol, one line per check.
pub fn encode(r: &Record, t: &Thresholds, status: Status, out: &mut Out) -> Result<(), Full> {
    let host: &[u8] = r.host.as_deref().unwrap_or(b"-");
    let mut ts_buf = [0u8; 32];
    let mut ts_out = Out::new(&mut ts_buf);
    ts_out.u64(r.wall_ms)?;
    ts_out.str("000000")?;
    let ns = ts_out.as_bytes();

    let mut line = Line::start(out, host, "node", &[], Some(Verdict { status, why: "" }))?;
    if let Some(s) = &r.system {
        line.opt_int("uptime_s", s.uptime_s)?;
        if let Some([a, b, c]) = s.load {
            line.float("load1", i64::try_from(a).unwrap_or(i64::MAX), 2)?;
            line.float("load5", i64::try_from(b).unwrap_or(i64::MAX), 2)?;
            line.float("load15", i64::try_from(c).unwrap_or(i64::MAX), 2)?;
        }
        if let Some(id) = &s.boot_id {
            line.string("boot_id", id)?;
        }
        if let Some(k) = &s.kernel {
            line.string("kernel", k)?;
        }
        line.string("arch", super::line::ARCH.as_bytes())?;
    }
    line.end(ns)?;

    let daemon = verdict::daemon_of(r);
    if let Some(c) = &r.clock {
        let mut line = Line::start(out, host, "clock", &[], Some(verdict::clock(c, daemon, t)))?;
        match &c.timex {
            Ok(tx) => {
                line.string("sync", verdict::sync_rule(tx, daemon).as_str().as_bytes())?;
                line.boolean("sd_synced", kclock::systemd_synced(tx))?;
                line.boolean("ne_synced", kclock::node_exporter_synced(tx))?;
                line.int("kstate", i64::from(tx.state))?;
                line.int("kstatus", i64::from(tx.status))?;
                line.int("offset_us", kclock::offset_us(tx))?;
                line.float("freq_ppm", kclock::freq_ppb(tx), 3)?;
                line.int("maxerror_us", tx.maxerror)?;
                line.int("esterror_us", tx.esterror)?;
                line.int("tai_s", i64::from(tx.tai))?;
            }
            Err(errno) => line.int("errno", i64::from(*errno))?,
        }
        line.end(ns)?;
    }

    if let Some(ts) = &r.timesync {
        let now_s = (r.wall_ms / 1000) as i64;
        let mut line = Line::start(out, host, "timesync", &[], Some(verdict::timesync(ts, now_s, t)))?;
        line.string("daemon", ts.daemon.as_str().as_bytes())?;
        if let SyncFile::Present { mtime_s } = ts.sync_file {
            line.int("synced_age_s", now_s.saturating_sub(mtime_s).max(0))?;
        }
        line.end(ns)?;
    }

    for u in r.users.iter().flatten() {
        let mut line = Line::start(out, host, "linger", &[("user", u.name)], Some(verdict::user(u)))?;
        line.opt_int("uid", u.uid.map(u64::from))?;
        line.string("linger", u.linger.as_str().as_bytes())?;
        line.string("state", u.login.as_str().as_bytes())?;
        line.end(ns)?;
    }

    for s in r.services.iter().flatten() {
        let tags: &[(&str, &[u8])] = match s.user {
            Some(user) => &[("service", s.name), ("user", user)],
            None => &[("service", s.name)],
        };
        let mut line = Line::start(out, host, "service", tags, Some(verdict::service(s)))?;
        line.string("via", s.via.as_str().as_bytes())?;
        line.opt_int("pid", s.pid.map(u64::from))?;
        line.opt_int("start_cs", s.start_cs)?;
        line.end(ns)?;
    }

    for d in r.disks.iter().flatten() {
        let mut line = Line::start(out, host, "disk", &[("mount", d.path)], Some(verdict::disk(d, t)))?;
        match &d.stat {
            Ok(st) => {
                line.opt_int("size_bytes", Some(st.size_b))?;
                line.opt_int("avail_bytes", Some(st.avail_b))?;
                line.int("used_pct", i64::from(st.used_pct))?;
                line.opt_int("inodes_used_pct", st.inodes_used_pct.map(u64::from))?;
                line.boolean("read_only", st.read_only)?;
            }
            Err(errno) => line.int("errno", i64::from(*errno))?,
        }
        line.end(ns)?;
    }

    if let Some(m) = &r.memory {
        let mut line = Line::start(out, host, "memory", &[], Some(verdict::memory(m, t)))?;
        if let Some(st) = &m.stat {
            line.opt_int("total_bytes", Some(st.total_kb.saturating_mul(1024)))?;
            line.opt_int("avail_bytes", Some(st.avail_kb.saturating_mul(1024)))?;
            line.opt_int("swap_total_bytes", Some(st.swap_total_kb.saturating_mul(1024)))?;
            line.opt_int("swap_free_bytes", Some(st.swap_free_kb.saturating_mul(1024)))?;
        }
        line.end(ns)?;
    }
    Ok(())
}
