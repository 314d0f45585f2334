//! JSON: one object per line, numbers as numbers, nested by check; unknown values are `null`,
//! a skipped check is absent. Strings are UTF-8 (an invalid byte becomes U+FFFD).
//!
//! ```text
//! {"v":"np1","host":"edge-01","t_ms":1764000000123,"status":"crit",
//!  "system":{"uptime_s":86400,"load":[0.12,0.34,0.56],"boot_id":"0b6f...","kernel":"6.1.0","arch":"x86_64"},
//!  "clock":{"status":"crit","why":"unsynced","sync":"no","sd_synced":false,...},
//!  "timesync":{...},"users":[...],"services":[...],"disks":[...],"memory":{...}}
//! ```

use super::text::{json_escape, lossy};
use super::{Full, Out};
use crate::probe::clock as kclock;
use crate::record::{Record, SyncFile};
use crate::verdict::{self, Status, Thresholds, Verdict};

fn string(out: &mut Out, bytes: &[u8]) -> Result<(), Full> {
    out.str("\"")?;
    lossy(out, bytes, json_escape)?;
    out.str("\"")
}

fn opt_u64(out: &mut Out, v: Option<u64>) -> Result<(), Full> {
    match v {
        Some(n) => out.u64(n),
        None => out.str("null"),
    }
}

/// `,"key":` (or `"key":` first in an object).
fn key(out: &mut Out, first: bool, name: &str) -> Result<(), Full> {
    if !first {
        out.str(",")?;
    }
    out.str("\"")?;
    out.str(name)?;
    out.str("\":")
}

fn bool(out: &mut Out, b: bool) -> Result<(), Full> {
    out.str(if b { "true" } else { "false" })
}

/// `"status":"crit","why":"unsynced"` at the start of a check's object.
fn verdict(out: &mut Out, v: Verdict) -> Result<(), Full> {
    key(out, true, "status")?;
    string(out, v.status.as_str().as_bytes())?;
    if !v.why.is_empty() {
        key(out, false, "why")?;
        string(out, v.why.as_bytes())?;
    }
    Ok(())
}

/// Encodes the record as one JSON object and a newline.
pub fn encode(r: &Record, t: &Thresholds, status: Status, out: &mut Out) -> Result<(), Full> {
    out.str("{\"v\":\"np1\",\"host\":")?;
    match &r.host {
        Some(h) => string(out, h)?,
        None => out.str("null")?,
    }
    key(out, false, "t_ms")?;
    out.u64(r.wall_ms)?;
    key(out, false, "status")?;
    string(out, status.as_str().as_bytes())?;

    if let Some(s) = &r.system {
        key(out, false, "system")?;
        out.str("{")?;
        key(out, true, "uptime_s")?;
        opt_u64(out, s.uptime_s)?;
        key(out, false, "load")?;
        match s.load {
            Some(load) => {
                out.str("[")?;
                for (i, l) in load.into_iter().enumerate() {
                    if i > 0 {
                        out.str(",")?;
                    }
                    out.fixed(i64::try_from(l).unwrap_or(i64::MAX), 2)?;
                }
                out.str("]")?;
            }
            None => out.str("null")?,
        }
        key(out, false, "boot_id")?;
        match &s.boot_id {
            Some(id) => string(out, id)?,
            None => out.str("null")?,
        }
        key(out, false, "kernel")?;
        match &s.kernel {
            Some(k) => string(out, k)?,
            None => out.str("null")?,
        }
        key(out, false, "arch")?;
        string(out, super::line::ARCH.as_bytes())?;
        out.str("}")?;
    }

    let daemon = verdict::daemon_of(r);
    if let Some(c) = &r.clock {
        key(out, false, "clock")?;
        out.str("{")?;
        verdict(out, verdict::clock(c, daemon, t))?;
        match &c.timex {
            Ok(tx) => {
                key(out, false, "sync")?;
                string(out, verdict::sync_rule(tx, daemon).as_str().as_bytes())?;
                key(out, false, "sd_synced")?;
                bool(out, kclock::systemd_synced(tx))?;
                key(out, false, "ne_synced")?;
                bool(out, kclock::node_exporter_synced(tx))?;
                key(out, false, "kstate")?;
                out.i64(i64::from(tx.state))?;
                key(out, false, "kstatus")?;
                out.i64(i64::from(tx.status))?;
                key(out, false, "offset_us")?;
                out.i64(kclock::offset_us(tx))?;
                key(out, false, "freq_ppm")?;
                out.fixed(kclock::freq_ppb(tx), 3)?;
                key(out, false, "maxerror_us")?;
                out.i64(tx.maxerror)?;
                key(out, false, "esterror_us")?;
                out.i64(tx.esterror)?;
                key(out, false, "tai_s")?;
                out.i64(i64::from(tx.tai))?;
            }
            Err(errno) => {
                key(out, false, "errno")?;
                out.i64(i64::from(*errno))?;
            }
        }
        out.str("}")?;
    }

    if let Some(ts) = &r.timesync {
        key(out, false, "timesync")?;
        out.str("{")?;
        verdict(out, verdict::timesync(ts, (r.wall_ms / 1000) as i64, t))?;
        key(out, false, "daemon")?;
        string(out, ts.daemon.as_str().as_bytes())?;
        key(out, false, "synced_age_s")?;
        match ts.sync_file {
            SyncFile::Present { mtime_s } => out.i64(((r.wall_ms / 1000) as i64).saturating_sub(mtime_s).max(0))?,
            _ => out.str("null")?,
        }
        key(out, false, "sync_file")?;
        string(out, match ts.sync_file {
            SyncFile::Present { .. } => b"present",
            SyncFile::Missing => b"missing",
            SyncFile::NotApplicable => b"n/a",
            SyncFile::Unknown => b"unknown",
        })?;
        out.str("}")?;
    }

    if let Some(users) = &r.users {
        key(out, false, "users")?;
        out.str("[")?;
        for (i, u) in users.iter().enumerate() {
            out.str(if i == 0 { "{" } else { ",{" })?;
            verdict(out, verdict::user(u))?;
            key(out, false, "name")?;
            string(out, u.name)?;
            key(out, false, "uid")?;
            opt_u64(out, u.uid.map(u64::from))?;
            key(out, false, "linger")?;
            string(out, u.linger.as_str().as_bytes())?;
            key(out, false, "state")?;
            string(out, u.login.as_str().as_bytes())?;
            out.str("}")?;
        }
        out.str("]")?;
    }

    if let Some(services) = &r.services {
        key(out, false, "services")?;
        out.str("[")?;
        for (i, s) in services.iter().enumerate() {
            out.str(if i == 0 { "{" } else { ",{" })?;
            verdict(out, verdict::service(s))?;
            key(out, false, "name")?;
            string(out, s.name)?;
            key(out, false, "user")?;
            match s.user {
                Some(u) => string(out, u)?,
                None => out.str("null")?,
            }
            key(out, false, "via")?;
            string(out, s.via.as_str().as_bytes())?;
            key(out, false, "pid")?;
            opt_u64(out, s.pid.map(u64::from))?;
            key(out, false, "start_cs")?;
            opt_u64(out, s.start_cs)?;
            out.str("}")?;
        }
        out.str("]")?;
    }

    if let Some(disks) = &r.disks {
        key(out, false, "disks")?;
        out.str("[")?;
        for (i, d) in disks.iter().enumerate() {
            out.str(if i == 0 { "{" } else { ",{" })?;
            verdict(out, verdict::disk(d, t))?;
            key(out, false, "path")?;
            string(out, d.path)?;
            match &d.stat {
                Ok(st) => {
                    key(out, false, "size_bytes")?;
                    out.u64(st.size_b)?;
                    key(out, false, "avail_bytes")?;
                    out.u64(st.avail_b)?;
                    key(out, false, "used_pct")?;
                    out.u64(u64::from(st.used_pct))?;
                    key(out, false, "inodes_used_pct")?;
                    opt_u64(out, st.inodes_used_pct.map(u64::from))?;
                    key(out, false, "read_only")?;
                    bool(out, st.read_only)?;
                }
                Err(errno) => {
                    key(out, false, "errno")?;
                    out.i64(i64::from(*errno))?;
                }
            }
            out.str("}")?;
        }
        out.str("]")?;
    }

    if let Some(m) = &r.memory {
        key(out, false, "memory")?;
        out.str("{")?;
        verdict(out, verdict::memory(m, t))?;
        if let Some(st) = &m.stat {
            key(out, false, "total_kb")?;
            out.u64(st.total_kb)?;
            key(out, false, "avail_kb")?;
            out.u64(st.avail_kb)?;
            key(out, false, "avail_estimated")?;
            bool(out, st.avail_estimated)?;
            key(out, false, "swap_total_kb")?;
            out.u64(st.swap_total_kb)?;
            key(out, false, "swap_free_kb")?;
            out.u64(st.swap_free_kb)?;
        }
        out.str("}")?;
    }
    out.str("}\n")
}
