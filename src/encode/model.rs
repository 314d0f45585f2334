//! The record seen as checks of named, typed fields: the one place that says which fields the
//! formats carry, under which names and in which units. JSON, InfluxDB line protocol,
//! Prometheus and the native `np1` line each walk this list with their own syntax, so a field
//! added here appears in all of them (np1 under a short name, in its compact units). The
//! Nagios output takes the checks' verdicts from here and writes its own perfdata.

use heapless::Vec;

use crate::kernel as kclock;
use crate::record::{Active, Linger, Record, SyncFile, MAX_MOUNTS, MAX_SERVICES, MAX_USERS};
use crate::verdict::{self, Thresholds, Verdict};

/// A field's value. `Null` is unknown (JSON `null`; left out by InfluxDB and Prometheus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V<'a> {
    Int(i64),
    /// `Dec(n, d)` is n / 10^d.
    Dec(i64, u8),
    Bool(bool),
    Text(&'a [u8]),
    Null,
    /// Unknown, for a reason worth a word in np1 (`age_s:none`); `null` everywhere else.
    Word(&'static str),
}

impl V<'_> {
    /// Unknown (`Null` or `Word`): JSON `null`, left out by InfluxDB, Prometheus and np1.
    pub fn is_null(self) -> bool {
        matches!(self, V::Null | V::Word(_))
    }
}

fn int(n: u64) -> V<'static> {
    V::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn opt(n: Option<u64>) -> V<'static> {
    n.map_or(V::Null, int)
}

/// A field: its JSON key and InfluxDB field name, its Prometheus metric and help, its np1 name
/// (`NAME \x1f PROM \x1f HELP \x1f NP1`, a piece of its kind's [`Fields`] string) and units.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    packed: &'static str,
    /// The Prometheus value is the value / 10^shift (µs → s: 6, percent → ratio: 2).
    pub shift: u8,
    /// How np1 writes the value: [`MILLI`], [`MEBI`], [`HEX`], [`IF_TRUE`] (0: as it is).
    pub np1: u8,
}

/// np1 writes the value / 1000 (µs → ms).
pub const MILLI: u8 = 1;
/// np1 writes the value / 2^20 (bytes → MiB).
pub const MEBI: u8 = 2;
/// np1 writes the value in lowercase hex.
pub const HEX: u8 = 4;
/// np1 writes a boolean as `1` when true and leaves it out when false (other booleans: `y`/`n`).
pub const IF_TRUE: u8 = 8;

impl Spec {
    fn part(&self, index: usize) -> &'static str {
        crate::num::part(self.packed, 0x1f, index)
    }

    /// JSON key and InfluxDB field name; empty for a Prometheus-only field.
    pub fn name(&self) -> &'static str {
        self.part(0)
    }

    /// Metric name after `nodepulse_`; empty when not exported. A text field becomes an info
    /// metric (`{NAME="text"} 1`).
    pub fn prom(&self) -> &'static str {
        self.part(1)
    }

    pub fn help(&self) -> &'static str {
        self.part(2)
    }

    /// Key in the np1 line; empty when np1 leaves the field out.
    pub fn line(&self) -> &'static str {
        self.part(3)
    }
}

/// The fields of a kind: every [`Spec`]'s names in one string (`\x1e` between fields) and one
/// byte of units per field (`shift | np1 << 3`): two pointers per kind, not one per field.
#[derive(Debug)]
pub struct Fields {
    packed: &'static str,
    units: &'static [u8],
}

impl Fields {
    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// The field at `index` (an empty one past the end).
    pub fn spec(&self, index: usize) -> Spec {
        let units = self.units.get(index).copied().unwrap_or(0);
        Spec {
            packed: crate::num::part(self.packed, 0x1e, index),
            shift: units & 7,
            np1: units >> 3,
        }
    }
}

/// `fields![(NAME, PROM, HELP, SHIFT), ...]`; a field np1 carries adds `; NP1 [, NP1_FLAGS]`.
macro_rules! fields {
    ($( ($name:expr, $prom:expr, $help:expr, $shift:expr $(; $line:expr $(, $flags:expr)?)? $(,)?) ),* $(,)?) => {
        Fields {
            packed: concat!($($name, "\x1f", $prom, "\x1f", $help, "\x1f", $($line,)? "\x1e",)*),
            units: &[$($shift | ((0 $($(| $flags)?)?) << 3)),*],
        }
    };
}

/// A kind of check: its names and fields.
#[derive(Debug)]
pub struct Kind {
    /// `CHECK JSON LINE`, one string: the `check` tag and label value; the JSON member (an
    /// array when `list`); the np1 key (`clock`, `svc`...), empty for the node, whose fields
    /// are top-level np1 tokens.
    names: &'static str,
    pub list: bool,
    pub fields: Fields,
}

impl Kind {
    /// `check` tag and label value.
    pub fn check(&self) -> &'static str {
        crate::num::word_at(self.names, 0)
    }

    /// JSON member (an array when `list`).
    pub fn json(&self) -> &'static str {
        crate::num::word_at(self.names, 1)
    }

    /// np1 key; empty for the node.
    pub fn line(&self) -> &'static str {
        crate::num::word_at(self.names, 2)
    }
}

pub static NODE: Kind = Kind {
    names: "node system ",
    list: false,
    fields: fields![
        ("uptime_s", "uptime_seconds", "Time since boot.", 0; "up"),
        // np1: `load=1,5,15` (a `,` key continues the token before it).
        ("load1", "load1", "Load average, 1 min.", 0; "load"),
        ("load5", "load5", "Load average, 5 min.", 0; ","),
        ("load15", "load15", "Load average, 15 min.", 0; ","),
        ("boot_id", "boot_info", "Boot id.", 0; "boot"),
        ("kernel", "kernel_info", "Kernel release.", 0; "kern"),
        ("arch", "arch_info", "Agent's CPU.", 0),],
};

pub static CLOCK: Kind = Kind {
    names: "clock clock clock",
    list: false,
    fields: fields![
        (
            "sync",
            "clock_sync_info",
            "Rule that found it synced.",
            0,
        ),
        (
            "sd_synced",
            "clock_systemd_synced",
            "maxerror < 16 s (timedatectl).",
            0; "sd"
        ),
        (
            "ne_synced",
            "clock_node_exporter_synced",
            "Not TIME_ERROR (node_exporter).",
            0; "ne"
        ),
        (
            "kstate",
            "clock_kernel_state",
            "adjtimex return value.",
            0; "ks"
        ),
        ("kstatus", "clock_kernel_status_flags", "adjtimex STA_* flags.", 0; "kf", HEX),
        ("offset_us", "clock_offset_seconds", "Kernel PLL offset.", 6; "off_us"),
        (
            "freq_ppm",
            "clock_frequency_adjustment_ratio",
            "Kernel frequency correction.",
            6; "ppm"
        ),
        ("maxerror_us", "clock_maxerror_seconds", "Kernel maximum error.", 6; "maxe_ms", MILLI),
        ("esterror_us", "clock_esterror_seconds", "Kernel estimated error.", 6; "este_ms", MILLI),
        ("tai_s", "clock_tai_offset_seconds", "TAI minus UTC.", 0; "tai"),
        ("errno", "", "", 0; "errno"),
        (
            "ntp_offset_us",
            "clock_ntp_offset_seconds",
            "Offset from --ntp-server.",
            6; "ntp_off_us"
        ),
        ("ntp_delay_us", "clock_ntp_delay_seconds", "Round trip to --ntp-server.", 6; "ntp_rtt_us"),
        ("ntp_stratum", "clock_ntp_stratum", "--ntp-server stratum.", 0; "ntp_st"),
        ("ntp_error", "clock_ntp_error_info", "Why --ntp-server failed.", 0; "ntp"),
        (
            "bad_since_ms",
            "clock_bad_since_timestamp_seconds",
            "Clock bad since.",
            3; "bad_since"
        ),],
};

pub static TIMESYNC: Kind = Kind {
    names: "timesync timesync ntp",
    list: false,
    fields: fields![
        ("daemon", "timesync_daemon_info", "Time daemon found running.", 0; "d"),
        (
            "synced_age_s",
            "timesync_last_sync_age_seconds",
            "Since timesyncd's last sync.",
            0; "age_s"
        ),],
};

pub static LINGER: Kind = Kind {
    names: "linger users linger",
    list: true,
    fields: fields![
        ("uid", "", "", 0; "uid"),
        ("linger", "", "", 0; "lg"),
        (
            "",
            "user_linger_enabled",
            "Linger on.",
            0,
        ),
        ("state", "user_state_info", "logind user state.", 0; "st"),],
};

pub static SERVICE: Kind = Kind {
    names: "service services svc",
    list: true,
    fields: fields![
        ("via", "", "", 0; "via"),
        ("", "service_active", "Service runs.", 0),
        ("pid", "", "", 0; "pid"),
        (
            "start_cs",
            "service_start_after_boot_seconds",
            "Main process start after boot.",
            2; "start_cs"
        ),
        (
            "restarted",
            "service_restarted",
            "Restarted since the last run.",
            0; "rs", IF_TRUE
        ),
        (
            "down_since_ms",
            "service_down_since_timestamp_seconds",
            "Service down since.",
            3; "down_since"
        ),],
};

pub static DISK: Kind = Kind {
    names: "disk disks disk",
    list: true,
    fields: fields![
        ("size_bytes", "disk_size_bytes", "Filesystem size.", 0; "mb", MEBI),
        (
            "avail_bytes",
            "disk_avail_bytes",
            "Space available to users.",
            0; "free_mb", MEBI
        ),
        ("used_pct", "disk_used_ratio", "Space used (df Use%).", 2; "use"),
        ("inodes_used_pct", "disk_inodes_used_ratio", "Inodes used.", 2; "ino"),
        ("read_only", "disk_read_only", "Read-only.", 0; "ro", IF_TRUE),
        ("errno", "", "", 0; "errno"),],
};

pub static MEMORY: Kind = Kind {
    names: "memory memory mem",
    list: false,
    fields: fields![
        ("total_bytes", "memory_total_bytes", "MemTotal.", 0; "mb", MEBI),
        (
            "avail_bytes",
            "memory_available_bytes",
            "MemAvailable.",
            0; "avail_mb", MEBI
        ),
        ("swap_total_bytes", "swap_total_bytes", "SwapTotal.", 0; "swap_mb", MEBI),
        ("swap_free_bytes", "swap_free_bytes", "SwapFree.", 0; "swfree_mb", MEBI),
        ("avail_estimated", "", "", 0; "est", IF_TRUE),],
};

/// Most fields of any kind.
pub const MAX_FIELDS: usize = 16;
/// Most checks in a record.
pub const MAX_CHECKS: usize = 4 + MAX_USERS + MAX_SERVICES + MAX_MOUNTS;

/// One check of a record: kind, instance labels, verdict, field values (aligned with
/// `kind.fields`).
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    pub kind: &'static Kind,
    /// Instance labels (`user`, `service`, `mount`); an empty name ends the list, an empty
    /// value is a system unit's missing user.
    pub labels: [(&'static str, &'a [u8]); 2],
    pub verdict: Verdict,
    pub values: [V<'a>; MAX_FIELDS],
}

impl<'a> Check<'a> {
    /// The labels in use.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &(&'static str, &'a [u8])> {
        self.labels.iter().filter(|(name, _)| !name.is_empty())
    }

    /// `(spec, value)` pairs.
    pub fn fields(&self) -> impl Iterator<Item = (Spec, V<'a>)> + '_ {
        let kind = self.kind;
        (0..kind.fields.len()).map(move |i| {
            (kind.fields.spec(i), self.values.get(i).copied().unwrap_or(V::Null))
        })
    }
}

/// Appends a check of `kind` with every value unknown and returns its values for the caller
/// to fill in (`None` only when `out` is full, which [`MAX_CHECKS`] rules out).
fn add<'v, 'a>(
    out: &'v mut Vec<Check<'a>, MAX_CHECKS>,
    kind: &'static Kind,
    verdict: Verdict,
    labels: [(&'static str, &'a [u8]); 2],
) -> Option<&'v mut [V<'a>; MAX_FIELDS]> {
    out.push(Check { kind, labels, verdict, values: [V::Null; MAX_FIELDS] }).ok()?;
    out.last_mut().map(|c| &mut c.values)
}

/// No instance labels.
const NONE: [(&str, &[u8]); 2] = [("", b""), ("", b"")];

/// The checks of a record, in record order: node first (its status the worst of the others;
/// UNKNOWN for a run cut short by its deadline), then every check that ran. Each check starts
/// with every value unknown and gets the values its source knows.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn checks<'a>(r: &'a Record, t: &Thresholds) -> Vec<Check<'a>, MAX_CHECKS> {
    let mut out = Vec::new();
    let now_s = (r.wall_ms / 1000) as i64;

    let node = add(&mut out, &NODE, Verdict::OK, NONE);
    if let (Some(v), Some(s)) = (node, &r.system) {
        v[0] = opt(s.uptime_s);
        if let Some(load) = s.load {
            for (slot, l) in v[1..4].iter_mut().zip(load) {
                *slot = V::Dec(i64::try_from(l).unwrap_or(i64::MAX), 2);
            }
        }
        if let Some(b) = &s.boot_id {
            v[4] = V::Text(b);
        }
        if let Some(k) = &s.kernel {
            v[5] = V::Text(k);
        }
        v[6] = V::Text(super::line::ARCH.as_bytes());
    }

    let history = r.history.as_ref();
    let daemon = verdict::daemon_of(r);
    if let Some(c) = &r.clock {
        if let Some(v) = add(&mut out, &CLOCK, verdict::clock(c, daemon, t), NONE) {
            match &c.timex {
                Ok(tx) => {
                    v[0] = V::Text(verdict::sync_rule(tx, daemon).as_str().as_bytes());
                    v[1] = V::Bool(kclock::systemd_synced(tx));
                    v[2] = V::Bool(kclock::node_exporter_synced(tx));
                    v[3] = V::Int(i64::from(tx.state));
                    v[4] = V::Int(i64::from(tx.status));
                    v[5] = V::Int(kclock::offset_us(tx));
                    v[6] = V::Dec(kclock::freq_ppb(tx), 3);
                    v[7] = V::Int(tx.maxerror);
                    v[8] = V::Int(tx.esterror);
                    v[9] = V::Int(i64::from(tx.tai));
                }
                Err(errno) => v[10] = V::Int(i64::from(*errno)),
            }
            match &c.sntp {
                Some(Ok(reply)) => {
                    v[11] = V::Int(reply.offset_ns / 1000);
                    v[12] = V::Int(reply.delay_ns / 1000);
                    v[13] = V::Int(i64::from(reply.stratum));
                }
                Some(Err(failure)) => v[14] = V::Text(failure.as_str().as_bytes()),
                None => {}
            }
            v[15] = opt(history.and_then(|h| h.clock_bad_since_ms));
        }
    }

    if let Some(ts) = &r.timesync {
        if let Some(v) = add(&mut out, &TIMESYNC, verdict::timesync(ts, now_s, t), NONE) {
            v[0] = V::Text(ts.daemon.as_str().as_bytes());
            v[1] = match ts.sync_file {
                SyncFile::Present { mtime_s } => V::Int(now_s.saturating_sub(mtime_s).max(0)),
                SyncFile::Missing => V::Word("none"),
                SyncFile::NotApplicable => V::Word("n/a"),
                SyncFile::Unknown => V::Null,
            };
        }
    }

    for u in r.users.iter().flatten() {
        let labels = [("user", u.name), ("", b"")];
        if let Some(v) = add(&mut out, &LINGER, verdict::user(u), labels) {
            v[0] = opt(u.uid.map(u64::from));
            v[1] = V::Text(u.linger.as_str().as_bytes());
            v[2] = match u.linger {
                Linger::On => V::Bool(true),
                Linger::Off => V::Bool(false),
                _ => V::Null,
            };
            v[3] = V::Text(u.login.as_str().as_bytes());
        }
    }

    for (i, s) in r.services.iter().flatten().enumerate() {
        let labels = [("service", s.name), ("user", s.user.unwrap_or(b""))];
        if let Some(v) = add(&mut out, &SERVICE, verdict::service(s), labels) {
            let seen = history.and_then(|h| h.services.get(i));
            v[0] = V::Text(s.via.as_str().as_bytes());
            v[1] = match s.active {
                Active::Yes => V::Bool(true),
                Active::No => V::Bool(false),
                Active::Unknown => V::Null,
            };
            v[2] = opt(s.pid.map(u64::from));
            v[3] = opt(s.start_cs);
            v[4] = seen.map_or(V::Null, |h| V::Bool(h.restarted));
            v[5] = opt(seen.and_then(|h| h.down_since_ms));
        }
    }

    for d in r.disks.iter().flatten() {
        let labels = [("mount", d.path), ("", b"")];
        if let Some(v) = add(&mut out, &DISK, verdict::disk(d, t), labels) {
            match &d.stat {
                Ok(st) => {
                    v[0] = int(st.size_b);
                    v[1] = int(st.avail_b);
                    v[2] = int(u64::from(st.used_pct));
                    v[3] = opt(st.inodes_used_pct.map(u64::from));
                    v[4] = V::Bool(st.read_only);
                }
                Err(errno) => v[5] = V::Int(i64::from(*errno)),
            }
        }
    }

    if let Some(m) = &r.memory {
        let v = add(&mut out, &MEMORY, verdict::memory(m, t), NONE);
        if let (Some(v), Some(st)) = (v, &m.stat) {
            let kb = [st.total_kb, st.avail_kb, st.swap_total_kb, st.swap_free_kb];
            for (slot, kb) in v.iter_mut().zip(kb) {
                *slot = int(kb.saturating_mul(1024));
            }
            v[4] = V::Bool(st.avail_estimated);
        }
    }

    let status = verdict::overall(out.iter().skip(1).map(|c| c.verdict.status), r.timed_out);
    if let Some(node) = out.first_mut() {
        node.verdict.status = status;
    }
    out
}


#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's packed names and units line up, and the values `checks` fills fit.
    #[test]
    fn field_tables_line_up() {
        for kind in [&NODE, &CLOCK, &TIMESYNC, &LINGER, &SERVICE, &DISK, &MEMORY] {
            let records = kind.fields.packed.matches('\x1e').count();
            assert_eq!(records, kind.fields.len(), "{}", kind.check());
            assert!(kind.fields.len() <= MAX_FIELDS, "{}", kind.check());
            for i in 0..kind.fields.len() {
                let spec = kind.fields.spec(i);
                assert_eq!(spec.packed.matches('\x1f').count(), 3, "{} {i}", kind.check());
                assert!(!(spec.name().is_empty() && spec.prom().is_empty()), "{} {i}", kind.check());
                assert!(spec.prom().is_empty() || !spec.help().is_empty(), "{} {i}", kind.check());
            }
        }
        let maxerror = CLOCK.fields.spec(7);
        assert_eq!((maxerror.name(), maxerror.line(), maxerror.shift, maxerror.np1), ("maxerror_us", "maxe_ms", 6, MILLI));
        assert_eq!(DISK.fields.spec(4).np1, IF_TRUE);
        assert_eq!(MEMORY.fields.spec(9).name(), "", "past the end: empty");
    }
}
