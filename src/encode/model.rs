//! The record seen as checks of named, typed fields: the one place that says which fields the
//! structured formats (JSON, InfluxDB line protocol, Prometheus) carry, under which names and in
//! which units. Each renderer walks this list with its own syntax, so a field added here appears
//! in all three. (The native `np1` line and the Nagios output are compact, hand-made views.)

use heapless::Vec;

use crate::probe::clock as kclock;
use crate::record::{Active, Linger, Record, SyncFile, MAX_MOUNTS, MAX_SERVICES, MAX_USERS};
use crate::verdict::{self, Status, Thresholds, Verdict};

/// A field's value. `Null` is unknown (JSON `null`; left out by InfluxDB and Prometheus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V<'a> {
    Int(i64),
    /// `Dec(n, d)` is n / 10^d.
    Dec(i64, u8),
    Bool(bool),
    Text(&'a [u8]),
    Null,
}

fn int(n: u64) -> V<'static> {
    V::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn opt(n: Option<u64>) -> V<'static> {
    n.map_or(V::Null, int)
}

/// A field: its JSON key and InfluxDB field name, and its Prometheus metric and help, packed in
/// one string (`NAME \x1f PROM \x1f HELP`: one pointer per field instead of three).
#[derive(Debug)]
pub struct Spec {
    packed: &'static str,
    /// The Prometheus value is the value / 10^shift (µs → s: 6, percent → ratio: 2).
    pub shift: u8,
}

impl Spec {
    fn part(&self, index: usize) -> &'static str {
        let mut parts = self.packed.split('\x1f');
        parts.nth(index).unwrap_or("")
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
}

macro_rules! spec {
    ($name:expr, $prom:expr, $help:expr, $shift:expr $(,)?) => {
        Spec {
            packed: concat!($name, "\x1f", $prom, "\x1f", $help),
            shift: $shift,
        }
    };
}

/// A kind of check: its names and fields.
#[derive(Debug)]
pub struct Kind {
    /// `check` tag and label value.
    pub check: &'static str,
    /// JSON member (an array when `list`).
    pub json: &'static str,
    pub list: bool,
    pub specs: &'static [Spec],
}

pub static NODE: Kind = Kind {
    check: "node",
    json: "system",
    list: false,
    specs: &[
        spec!("uptime_s", "uptime_seconds", "Time since boot.", 0),
        spec!("load1", "load1", "1-minute load average.", 0),
        spec!("load5", "load5", "5-minute load average.", 0),
        spec!("load15", "load15", "15-minute load average.", 0),
        spec!("boot_id", "boot_info", "Boot id, changes at every boot.", 0),
        spec!("kernel", "kernel_info", "Kernel release.", 0),
        spec!("arch", "arch_info", "CPU of the agent binary.", 0),
    ],
};

pub static CLOCK: Kind = Kind {
    check: "clock",
    json: "clock",
    list: false,
    specs: &[
        spec!(
            "sync",
            "clock_sync_info",
            "Rule that found the clock synchronized: systemd, busybox or no.",
            0,
        ),
        spec!(
            "sd_synced",
            "clock_systemd_synced",
            "1 if maxerror < 16 s (timedatectl's rule).",
            0,
        ),
        spec!(
            "ne_synced",
            "clock_node_exporter_synced",
            "1 if adjtimex did not return TIME_ERROR (node_exporter's rule).",
            0,
        ),
        spec!(
            "kstate",
            "clock_kernel_state",
            "adjtimex return value, 0 TIME_OK to 5 TIME_ERROR.",
            0,
        ),
        spec!(
            "kstatus",
            "clock_kernel_status_flags",
            "adjtimex STA_* flags.",
            0,
        ),
        spec!(
            "offset_us",
            "clock_offset_seconds",
            "Remaining kernel PLL offset.",
            6,
        ),
        spec!(
            "freq_ppm",
            "clock_frequency_adjustment_ratio",
            "Kernel frequency correction.",
            6,
        ),
        spec!(
            "maxerror_us",
            "clock_maxerror_seconds",
            "Kernel maximum error.",
            6,
        ),
        spec!(
            "esterror_us",
            "clock_esterror_seconds",
            "Kernel estimated error.",
            6,
        ),
        spec!("tai_s", "clock_tai_offset_seconds", "TAI minus UTC.", 0),
        spec!("errno", "", "", 0),
    ],
};

pub static TIMESYNC: Kind = Kind {
    check: "timesync",
    json: "timesync",
    list: false,
    specs: &[
        spec!(
            "daemon",
            "timesync_daemon_info",
            "Time daemon found running.",
            0,
        ),
        spec!(
            "synced_age_s",
            "timesync_last_sync_age_seconds",
            "Time since timesyncd's last accepted sample.",
            0,
        ),
    ],
};

pub static LINGER: Kind = Kind {
    check: "linger",
    json: "users",
    list: true,
    specs: &[
        spec!("uid", "", "", 0),
        spec!("linger", "", "", 0),
        spec!(
            "",
            "user_linger_enabled",
            "1 if logind keeps the user's manager without a session.",
            0,
        ),
        spec!("state", "user_state_info", "logind's state of the user.", 0),
    ],
};

pub static SERVICE: Kind = Kind {
    check: "service",
    json: "services",
    list: true,
    specs: &[
        spec!("via", "", "", 0),
        spec!("", "service_active", "1 if the unit or process runs.", 0),
        spec!("pid", "", "", 0),
        spec!(
            "start_cs",
            "service_start_after_boot_seconds",
            "Start of the main process after boot; changes on a restart.",
            2,
        ),
    ],
};

pub static DISK: Kind = Kind {
    check: "disk",
    json: "disks",
    list: true,
    specs: &[
        spec!("size_bytes", "disk_size_bytes", "Filesystem size.", 0),
        spec!(
            "avail_bytes",
            "disk_avail_bytes",
            "Space available to unprivileged users.",
            0,
        ),
        spec!(
            "used_pct",
            "disk_used_ratio",
            "Space used, as df's Use%.",
            2,
        ),
        spec!(
            "inodes_used_pct",
            "disk_inodes_used_ratio",
            "Inodes used.",
            2,
        ),
        spec!("read_only", "disk_read_only", "1 if mounted read-only.", 0),
        spec!("errno", "", "", 0),
    ],
};

pub static MEMORY: Kind = Kind {
    check: "memory",
    json: "memory",
    list: false,
    specs: &[
        spec!("total_bytes", "memory_total_bytes", "MemTotal.", 0),
        spec!(
            "avail_bytes",
            "memory_available_bytes",
            "MemAvailable (estimated before Linux 3.14).",
            0,
        ),
        spec!("avail_estimated", "", "", 0),
        spec!("swap_total_bytes", "swap_total_bytes", "SwapTotal.", 0),
        spec!("swap_free_bytes", "swap_free_bytes", "SwapFree.", 0),
    ],
};

/// Most fields of any kind.
pub const MAX_FIELDS: usize = 11;
/// Most checks in a record.
pub const MAX_CHECKS: usize = 4 + MAX_USERS + MAX_SERVICES + MAX_MOUNTS;

/// One check of a record: kind, instance labels, verdict, field values (aligned with
/// `kind.specs`).
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
    fn new(kind: &'static Kind, verdict: Verdict, values: &[V<'a>]) -> Check<'a> {
        let mut all = [V::Null; MAX_FIELDS];
        for (slot, v) in all.iter_mut().zip(values) {
            *slot = *v;
        }
        Check {
            kind,
            labels: [("", b""), ("", b"")],
            verdict,
            values: all,
        }
    }

    fn label(mut self, i: usize, name: &'static str, value: &'a [u8]) -> Check<'a> {
        if let Some(slot) = self.labels.get_mut(i) {
            *slot = (name, value);
        }
        self
    }

    /// The labels in use.
    pub fn labels(&self) -> impl Iterator<Item = &(&'static str, &'a [u8])> {
        self.labels.iter().filter(|(name, _)| !name.is_empty())
    }

    /// `(spec, value)` pairs.
    pub fn fields(&self) -> impl Iterator<Item = (&'static Spec, V<'a>)> + '_ {
        self.kind.specs.iter().zip(self.values.iter().copied())
    }
}

/// The checks of a record, in record order: node first, then every check that ran.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn checks<'a>(r: &'a Record, t: &Thresholds, status: Status) -> Vec<Check<'a>, MAX_CHECKS> {
    let mut out = Vec::new();
    let mut push = |c: Check<'a>| {
        let _ = out.push(c);
    };
    let now_s = (r.wall_ms / 1000) as i64;
    let overall = Verdict { status, why: "" };
    let load = |i: usize| {
        r.system.as_ref().and_then(|s| s.load).map_or(V::Null, |l| {
            V::Dec(i64::try_from(l[i]).unwrap_or(i64::MAX), 2)
        })
    };
    let sys = r.system.as_ref();
    push(Check::new(
        &NODE,
        overall,
        &[
            opt(sys.and_then(|s| s.uptime_s)),
            load(0),
            load(1),
            load(2),
            sys.and_then(|s| s.boot_id.as_ref())
                .map_or(V::Null, |b| V::Text(b)),
            sys.and_then(|s| s.kernel.as_deref())
                .map_or(V::Null, V::Text),
            if sys.is_some() {
                V::Text(super::line::ARCH.as_bytes())
            } else {
                V::Null
            },
        ],
    ));

    let daemon = verdict::daemon_of(r);
    if let Some(c) = &r.clock {
        let v = verdict::clock(c, daemon, t);
        push(match &c.timex {
            Ok(tx) => Check::new(
                &CLOCK,
                v,
                &[
                    V::Text(verdict::sync_rule(tx, daemon).as_str().as_bytes()),
                    V::Bool(kclock::systemd_synced(tx)),
                    V::Bool(kclock::node_exporter_synced(tx)),
                    V::Int(i64::from(tx.state)),
                    V::Int(i64::from(tx.status)),
                    V::Int(kclock::offset_us(tx)),
                    V::Dec(kclock::freq_ppb(tx), 3),
                    V::Int(tx.maxerror),
                    V::Int(tx.esterror),
                    V::Int(i64::from(tx.tai)),
                ],
            ),
            Err(errno) => {
                let mut values = [V::Null; 11];
                values[10] = V::Int(i64::from(*errno));
                Check::new(&CLOCK, v, &values)
            }
        });
    }

    if let Some(ts) = &r.timesync {
        let age = match ts.sync_file {
            SyncFile::Present { mtime_s } => V::Int(now_s.saturating_sub(mtime_s).max(0)),
            _ => V::Null,
        };
        push(Check::new(
            &TIMESYNC,
            verdict::timesync(ts, now_s, t),
            &[V::Text(ts.daemon.as_str().as_bytes()), age],
        ));
    }

    for u in r.users.iter().flatten() {
        let enabled = match u.linger {
            Linger::On => V::Bool(true),
            Linger::Off => V::Bool(false),
            _ => V::Null,
        };
        let values = [
            opt(u.uid.map(u64::from)),
            V::Text(u.linger.as_str().as_bytes()),
            enabled,
            V::Text(u.login.as_str().as_bytes()),
        ];
        push(Check::new(&LINGER, verdict::user(u), &values).label(0, "user", u.name));
    }

    for s in r.services.iter().flatten() {
        let active = match s.active {
            Active::Yes => V::Bool(true),
            Active::No => V::Bool(false),
            Active::Unknown => V::Null,
        };
        let values = [
            V::Text(s.via.as_str().as_bytes()),
            active,
            opt(s.pid.map(u64::from)),
            opt(s.start_cs),
        ];
        push(
            Check::new(&SERVICE, verdict::service(s), &values)
                .label(0, "service", s.name)
                .label(1, "user", s.user.unwrap_or(b"")),
        );
    }

    for d in r.disks.iter().flatten() {
        let values = match &d.stat {
            Ok(st) => [
                int(st.size_b),
                int(st.avail_b),
                int(u64::from(st.used_pct)),
                opt(st.inodes_used_pct.map(u64::from)),
                V::Bool(st.read_only),
                V::Null,
            ],
            Err(errno) => [
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Int(i64::from(*errno)),
            ],
        };
        push(Check::new(&DISK, verdict::disk(d, t), &values).label(0, "mount", d.path));
    }

    if let Some(m) = &r.memory {
        let values = match &m.stat {
            Some(st) => [
                int(st.total_kb.saturating_mul(1024)),
                int(st.avail_kb.saturating_mul(1024)),
                V::Bool(st.avail_estimated),
                int(st.swap_total_kb.saturating_mul(1024)),
                int(st.swap_free_kb.saturating_mul(1024)),
            ],
            None => [V::Null; 5],
        };
        push(Check::new(&MEMORY, verdict::memory(m, t), &values));
    }
    out
}
