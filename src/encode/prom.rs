//! Prometheus text exposition (format 0.0.4) for node_exporter's textfile collector: metric
//! names `nodepulse_*`, base units (seconds, bytes, ratios), one `# HELP` and `# TYPE` per
//! family with all its samples together, label values escaped. Unknown values are left out.
//!
//! # References
//! - Prometheus "Exposition formats" (text format), metric and label naming conventions
//! - node_exporter textfile collector (`*.prom` files, written atomically)

use super::text::{lossy, prom_escape};
use super::{Full, Out};
use crate::probe::clock as kclock;
use crate::record::{Active, Linger, Record, SyncFile};
use crate::verdict::{self, Status, Thresholds, Verdict};

/// A sample value: an integer, or a fixed-point decimal `(value, decimals)`.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Fixed(i64, u32),
}

fn family(out: &mut Out, name: &str, help: &str) -> Result<(), Full> {
    out.str("# HELP ")?;
    out.str(name)?;
    out.str(" ")?;
    out.str(help)?;
    out.str("\n# TYPE ")?;
    out.str(name)?;
    out.str(" gauge\n")
}

fn sample(out: &mut Out, name: &str, labels: &[(&str, &[u8])], value: Num) -> Result<(), Full> {
    out.str(name)?;
    for (i, (label, v)) in labels.iter().enumerate() {
        out.str(if i == 0 { "{" } else { "," })?;
        out.str(label)?;
        out.str("=\"")?;
        lossy(out, v, prom_escape)?;
        out.str("\"")?;
    }
    if !labels.is_empty() {
        out.str("}")?;
    }
    out.str(" ")?;
    match value {
        Num::Int(n) => out.i64(n)?,
        Num::Fixed(n, d) => out.fixed(n, d)?,
    }
    out.str("\n")
}

/// A family with one unlabelled sample.
fn single(out: &mut Out, name: &str, help: &str, value: Num) -> Result<(), Full> {
    family(out, name, help)?;
    sample(out, name, &[], value)
}

fn int(v: u64) -> Num {
    Num::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn code(v: Verdict) -> Num {
    Num::Int(i64::from(v.status.code()))
}

/// Encodes the record as a Prometheus text file.
pub fn encode(r: &Record, t: &Thresholds, status: Status, out: &mut Out) -> Result<(), Full> {
    let now_s = (r.wall_ms / 1000) as i64;
    let daemon = verdict::daemon_of(r);

    const STATUS: &str = "nodepulse_status";
    family(out, STATUS, "Check status: 0 ok, 1 warning, 2 critical, 3 unknown (check=\"node\" is the worst).")?;
    sample(out, STATUS, &[("check", b"node")], Num::Int(i64::from(status.code())))?;
    if let Some(c) = &r.clock {
        sample(out, STATUS, &[("check", b"clock")], code(verdict::clock(c, daemon, t)))?;
    }
    if let Some(ts) = &r.timesync {
        sample(out, STATUS, &[("check", b"timesync")], code(verdict::timesync(ts, now_s, t)))?;
    }
    for u in r.users.iter().flatten() {
        sample(out, STATUS, &[("check", b"linger"), ("user", u.name)], code(verdict::user(u)))?;
    }
    for s in r.services.iter().flatten() {
        sample(out, STATUS, &[("check", b"service"), ("service", s.name), ("user", s.user.unwrap_or(b""))], code(verdict::service(s)))?;
    }
    for d in r.disks.iter().flatten() {
        sample(out, STATUS, &[("check", b"disk"), ("mount", d.path)], code(verdict::disk(d, t)))?;
    }
    if let Some(m) = &r.memory {
        sample(out, STATUS, &[("check", b"memory")], code(verdict::memory(m, t)))?;
    }

    single(out, "nodepulse_last_run_timestamp_seconds", "When the agent ran (wall clock).", Num::Fixed(i64::try_from(r.wall_ms).unwrap_or(i64::MAX), 3))?;

    if let Some(s) = &r.system {
        family(out, "nodepulse_info", "Node identity; the value is always 1.")?;
        sample(
            out,
            "nodepulse_info",
            &[
                ("host", r.host.as_deref().unwrap_or(b"")),
                ("kernel", s.kernel.as_deref().unwrap_or(b"")),
                ("boot_id", s.boot_id.as_ref().map_or(&b""[..], |b| &b[..])),
                ("arch", super::line::ARCH.as_bytes()),
            ],
            Num::Int(1),
        )?;
        if let Some(up) = s.uptime_s {
            single(out, "nodepulse_uptime_seconds", "Time since boot.", int(up))?;
        }
        if let Some([a, b, c]) = s.load {
            single(out, "nodepulse_load1", "1-minute load average.", Num::Fixed(i64::try_from(a).unwrap_or(0), 2))?;
            single(out, "nodepulse_load5", "5-minute load average.", Num::Fixed(i64::try_from(b).unwrap_or(0), 2))?;
            single(out, "nodepulse_load15", "15-minute load average.", Num::Fixed(i64::try_from(c).unwrap_or(0), 2))?;
        }
    }

    if let Some(Ok(tx)) = r.clock.as_ref().map(|c| &c.timex) {
        const SYNCED: &str = "nodepulse_clock_synced";
        family(out, SYNCED, "1 if the clock is synchronized by the rule: systemd (maxerror < 16 s), node_exporter (adjtimex != TIME_ERROR), nodepulse (the verdict's).")?;
        sample(out, SYNCED, &[("rule", b"systemd")], Num::Int(i64::from(kclock::systemd_synced(tx))))?;
        sample(out, SYNCED, &[("rule", b"node_exporter")], Num::Int(i64::from(kclock::node_exporter_synced(tx))))?;
        let ours = verdict::sync_rule(tx, daemon) != verdict::SyncRule::No;
        sample(out, SYNCED, &[("rule", b"nodepulse")], Num::Int(i64::from(ours)))?;
        single(out, "nodepulse_clock_kernel_state", "adjtimex return value (0 TIME_OK ... 5 TIME_ERROR).", Num::Int(i64::from(tx.state)))?;
        single(out, "nodepulse_clock_kernel_status_flags", "adjtimex STA_* status flags.", Num::Int(i64::from(tx.status)))?;
        single(out, "nodepulse_clock_offset_seconds", "Remaining kernel PLL offset.", Num::Fixed(kclock::offset_us(tx), 6))?;
        single(out, "nodepulse_clock_frequency_adjustment_ratio", "Kernel frequency correction.", Num::Fixed(kclock::freq_ppb(tx), 9))?;
        single(out, "nodepulse_clock_maxerror_seconds", "Kernel maximum error estimate.", Num::Fixed(tx.maxerror, 6))?;
        single(out, "nodepulse_clock_esterror_seconds", "Kernel estimated error.", Num::Fixed(tx.esterror, 6))?;
        single(out, "nodepulse_clock_tai_offset_seconds", "TAI minus UTC.", Num::Int(i64::from(tx.tai)))?;
    }

    if let Some(ts) = &r.timesync {
        family(out, "nodepulse_timesync_daemon_info", "The time daemon found running; the value is always 1.")?;
        sample(out, "nodepulse_timesync_daemon_info", &[("daemon", ts.daemon.as_str().as_bytes())], Num::Int(1))?;
        if let SyncFile::Present { mtime_s } = ts.sync_file {
            single(out, "nodepulse_timesync_last_sync_age_seconds", "Time since systemd-timesyncd's last accepted sample.", Num::Int(now_s.saturating_sub(mtime_s).max(0)))?;
        }
    }

    if let Some(users) = &r.users {
        const LINGER: &str = "nodepulse_user_linger_enabled";
        family(out, LINGER, "1 if logind keeps the user's manager running without a session (linger).")?;
        for u in users.iter() {
            if let Linger::On | Linger::Off = u.linger {
                sample(out, LINGER, &[("user", u.name)], Num::Int(i64::from(u.linger == Linger::On)))?;
            }
        }
        const STATE: &str = "nodepulse_user_state_info";
        family(out, STATE, "logind's state of the user; the value is always 1.")?;
        for u in users.iter() {
            sample(out, STATE, &[("user", u.name), ("state", u.login.as_str().as_bytes())], Num::Int(1))?;
        }
    }

    if let Some(services) = &r.services {
        const ACTIVE: &str = "nodepulse_service_active";
        family(out, ACTIVE, "1 if the unit or process is running.")?;
        for s in services.iter() {
            if s.active != Active::Unknown {
                sample(out, ACTIVE, &[("service", s.name), ("user", s.user.unwrap_or(b""))], Num::Int(i64::from(s.active == Active::Yes)))?;
            }
        }
        const START: &str = "nodepulse_service_start_after_boot_seconds";
        family(out, START, "When the service's main process started, counted from boot (changes on a restart).")?;
        for s in services.iter() {
            if let Some(cs) = s.start_cs {
                sample(out, START, &[("service", s.name), ("user", s.user.unwrap_or(b""))], Num::Fixed(i64::try_from(cs).unwrap_or(i64::MAX), 2))?;
            }
        }
    }

    if let Some(disks) = &r.disks {
        let stats = || disks.iter().filter_map(|d| d.stat.ok().map(|st| (d.path, st)));
        family(out, "nodepulse_disk_size_bytes", "Filesystem size.")?;
        for (path, st) in stats() {
            sample(out, "nodepulse_disk_size_bytes", &[("mount", path)], int(st.size_b))?;
        }
        family(out, "nodepulse_disk_avail_bytes", "Space available to unprivileged users.")?;
        for (path, st) in stats() {
            sample(out, "nodepulse_disk_avail_bytes", &[("mount", path)], int(st.avail_b))?;
        }
        family(out, "nodepulse_disk_used_ratio", "Space used, as df's Use%.")?;
        for (path, st) in stats() {
            sample(out, "nodepulse_disk_used_ratio", &[("mount", path)], Num::Fixed(i64::from(st.used_pct), 2))?;
        }
        family(out, "nodepulse_disk_inodes_used_ratio", "Inodes used.")?;
        for (path, st) in stats() {
            if let Some(pct) = st.inodes_used_pct {
                sample(out, "nodepulse_disk_inodes_used_ratio", &[("mount", path)], Num::Fixed(i64::from(pct), 2))?;
            }
        }
        family(out, "nodepulse_disk_read_only", "1 if mounted read-only.")?;
        for (path, st) in stats() {
            sample(out, "nodepulse_disk_read_only", &[("mount", path)], Num::Int(i64::from(st.read_only)))?;
        }
    }

    if let Some(st) = r.memory.as_ref().and_then(|m| m.stat) {
        single(out, "nodepulse_memory_total_bytes", "MemTotal.", int(st.total_kb.saturating_mul(1024)))?;
        single(out, "nodepulse_memory_available_bytes", "MemAvailable (estimated before Linux 3.14).", int(st.avail_kb.saturating_mul(1024)))?;
        single(out, "nodepulse_swap_total_bytes", "SwapTotal.", int(st.swap_total_kb.saturating_mul(1024)))?;
        single(out, "nodepulse_swap_free_bytes", "SwapFree.", int(st.swap_free_kb.saturating_mul(1024)))?;
    }
    Ok(())
}
