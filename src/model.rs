//! The model: the named fields of a judged record, history and fix outcomes included: the one
//! place that says which fields the formats carry, under which names and in which units. JSON,
//! InfluxDB line protocol, Prometheus and the native `np1` line each walk these sections with
//! their own syntax, so a field added here appears in all of them (np1 under a short name, in
//! its compact units). Statuses come from [`crate::verdict::judge`]; nothing here decides one.
//!
//! Each kind's fields are declared once, in a `fields!` table, which also generates a named
//! index per field (`clock::MAXERROR_US`): [`build`] fills values by those names.

use heapless::Vec;

use crate::fix::{Fix, MAX_FIXES};
use crate::kernel;
use crate::record::{Active, Linger, Record, SyncFile, MAX_MOUNTS, MAX_SERVICES, MAX_USERS};
use crate::state::History;
use crate::verdict::{Judged, Status, Thresholds, Verdict};

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

/// `fields! { mod KIND { CONST = (NAME, PROM, HELP, SHIFT), ... } }`; a field np1 carries adds
/// `; NP1 [, NP1_FLAGS]`. Generates `mod KIND` with one `pub const CONST: usize` per field (its
/// index, in declaration order) and `FIELDS`, the kind's [`Fields`].
macro_rules! fields {
    (
        $(#[$meta:meta])*
        mod $module:ident {
            $( $const:ident = ($name:expr, $prom:expr, $help:expr, $shift:expr $(; $line:expr $(, $flags:expr)?)? $(,)?) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub mod $module {
            #[allow(unused_imports)]
            use super::{Fields, HEX, IF_TRUE, MEBI, MILLI};

            #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
            enum Index { $($const),* }
            $(
                #[doc = concat!("Index of `", $name, "` (`nodepulse_", $prom, "`).")]
                pub const $const: usize = Index::$const as usize;
            )*

            pub const FIELDS: Fields = Fields {
                packed: concat!($($name, "\x1f", $prom, "\x1f", $help, "\x1f", $($line,)? "\x1e",)*),
                units: &[$($shift | ((0 $($(| $flags)?)?) << 3)),*],
            };
        }
    };
}

/// A kind of section: its names and fields.
#[derive(Debug)]
pub struct Kind {
    /// The `check` tag and label value (InfluxDB, Prometheus), the Nagios summary's word.
    pub check: &'static str,
    /// The JSON member (an array when `list`).
    pub json: &'static str,
    /// The np1 key (`clock`, `svc`...); empty for the node, whose fields are top-level tokens.
    pub line: &'static str,
    /// One section per instance (user, service, mount, fix step).
    pub list: bool,
    /// The section has a verdict of its own: every check, and the node (the record's overall
    /// status). The run's history and the fix steps have none: no `status`, no Nagios summary.
    pub judged: bool,
    pub fields: Fields,
}

fields! {
    /// The node's fields (`system` in JSON, top-level tokens in np1).
    mod node {
        UPTIME_S = ("uptime_s", "uptime_seconds", "Time since boot.", 0; "up"),
        // np1: `load=1,5,15` (a `,` key continues the token before it).
        LOAD1 = ("load1", "load1", "Load average, 1 min.", 0; "load"),
        LOAD5 = ("load5", "load5", "Load average, 5 min.", 0; ","),
        LOAD15 = ("load15", "load15", "Load average, 15 min.", 0; ","),
        BOOT_ID = ("boot_id", "boot_info", "Boot id.", 0; "boot"),
        KERNEL = ("kernel", "kernel_info", "Kernel release.", 0; "kern"),
        ARCH = ("arch", "arch_info", "Agent's CPU.", 0),
    }
}

fields! {
    /// The clock check's fields.
    mod clock {
        SYNC = ("sync", "clock_sync_info", "Rule that found it synced.", 0),
        SD_SYNCED = ("sd_synced", "clock_systemd_synced", "maxerror < 16 s (timedatectl).", 0; "sd"),
        NE_SYNCED = ("ne_synced", "clock_node_exporter_synced", "Not TIME_ERROR (node_exporter).", 0; "ne"),
        KSTATE = ("kstate", "clock_kernel_state", "adjtimex return value.", 0; "ks"),
        KSTATUS = ("kstatus", "clock_kernel_status_flags", "adjtimex STA_* flags.", 0; "kf", HEX),
        OFFSET_US = ("offset_us", "clock_offset_seconds", "Kernel PLL offset.", 6; "off_us"),
        FREQ_PPM = ("freq_ppm", "clock_frequency_adjustment_ratio", "Kernel frequency correction.", 6; "ppm"),
        MAXERROR_US = ("maxerror_us", "clock_maxerror_seconds", "Kernel maximum error.", 6; "maxe_ms", MILLI),
        ESTERROR_US = ("esterror_us", "clock_esterror_seconds", "Kernel estimated error.", 6; "este_ms", MILLI),
        TAI_S = ("tai_s", "clock_tai_offset_seconds", "TAI minus UTC.", 0; "tai"),
        ERRNO = ("errno", "", "", 0; "errno"),
        NTP_OFFSET_US = ("ntp_offset_us", "clock_ntp_offset_seconds", "Offset from --ntp-server.", 6; "ntp_off_us"),
        NTP_DELAY_US = ("ntp_delay_us", "clock_ntp_delay_seconds", "Round trip to --ntp-server.", 6; "ntp_rtt_us"),
        NTP_STRATUM = ("ntp_stratum", "clock_ntp_stratum", "--ntp-server stratum.", 0; "ntp_st"),
        NTP_ERROR = ("ntp_error", "clock_ntp_error_info", "Why --ntp-server failed.", 0; "ntp"),
        BAD_SINCE_MS = ("bad_since_ms", "clock_bad_since_timestamp_seconds", "Clock bad since.", 3; "bad_since"),
    }
}

fields! {
    /// The timesync check's fields.
    mod timesync {
        DAEMON = ("daemon", "timesync_daemon_info", "Time daemon found running.", 0; "d"),
        SYNCED_AGE_S = ("synced_age_s", "timesync_last_sync_age_seconds", "Since timesyncd's last sync.", 0; "age_s"),
    }
}

fields! {
    /// One user's linger check.
    mod linger {
        UID = ("uid", "", "", 0; "uid"),
        LINGER = ("linger", "", "", 0; "lg"),
        ENABLED = ("", "user_linger_enabled", "Linger on.", 0),
        STATE = ("state", "user_state_info", "logind user state.", 0; "st"),
    }
}

fields! {
    /// One service's check.
    mod service {
        VIA = ("via", "", "", 0; "via"),
        ACTIVE = ("", "service_active", "Service runs.", 0),
        PID = ("pid", "", "", 0; "pid"),
        START_CS = ("start_cs", "service_start_after_boot_seconds", "Main process start after boot.", 2; "start_cs"),
        RESTARTED = ("restarted", "service_restarted", "Restarted since the last run.", 0; "rs", IF_TRUE),
        DOWN_SINCE_MS = ("down_since_ms", "service_down_since_timestamp_seconds", "Service down since.", 3; "down_since"),
    }
}

fields! {
    /// One mount's disk check.
    mod disk {
        SIZE_BYTES = ("size_bytes", "disk_size_bytes", "Filesystem size.", 0; "mb", MEBI),
        AVAIL_BYTES = ("avail_bytes", "disk_avail_bytes", "Space available to users.", 0; "free_mb", MEBI),
        USED_PCT = ("used_pct", "disk_used_ratio", "Space used (df Use%).", 2; "use"),
        INODES_USED_PCT = ("inodes_used_pct", "disk_inodes_used_ratio", "Inodes used.", 2; "ino"),
        READ_ONLY = ("read_only", "disk_read_only", "Read-only.", 0; "ro", IF_TRUE),
        ERRNO = ("errno", "", "", 0; "errno"),
    }
}

fields! {
    /// The memory check's fields.
    mod memory {
        TOTAL_BYTES = ("total_bytes", "memory_total_bytes", "MemTotal.", 0; "mb", MEBI),
        AVAIL_BYTES = ("avail_bytes", "memory_available_bytes", "MemAvailable.", 0; "avail_mb", MEBI),
        SWAP_TOTAL_BYTES = ("swap_total_bytes", "swap_total_bytes", "SwapTotal.", 0; "swap_mb", MEBI),
        SWAP_FREE_BYTES = ("swap_free_bytes", "swap_free_bytes", "SwapFree.", 0; "swfree_mb", MEBI),
        AVAIL_ESTIMATED = ("avail_estimated", "", "", 0; "est", IF_TRUE),
    }
}

fields! {
    /// What this run learned from the previous one (`--state`): top-level tokens in np1, `run`
    /// in JSON, fields of the node's line in InfluxDB.
    mod run {
        SEQ = ("seq", "run_seq", "Run number (--state).", 0; "seq"),
        GAP_S = ("gap_s", "run_gap_seconds", "Since the previous run.", 0; "gap_s"),
        REBOOT = ("reboot", "reboot", "Boot id changed since.", 0; "reboot", IF_TRUE),
        PREV = ("prev", "run_prev_info", "Previous state unusable.", 0; "prev"),
        SAVE_ERRNO = ("save_errno", "state_save_errno", "State save failed.", 0; "save_errno"),
    }
}

fields! {
    /// One `--fix`/`--fix-dry-run` step (np1 writes these as `fix.STEP[.USER]=CODE|WORD`).
    mod fix {
        EXIT_CODE = ("exit_code", "fix_exit_code", "Repair step exit code.", 0),
        OUTCOME = ("outcome", "fix_outcome_info", "Repair step outcome.", 0),
    }
}

pub static NODE: Kind = Kind {
    judged: true,
    check: "node",
    json: "system",
    line: "",
    list: false,
    fields: node::FIELDS,
};
pub static CLOCK: Kind = Kind {
    judged: true,
    check: "clock",
    json: "clock",
    line: "clock",
    list: false,
    fields: clock::FIELDS,
};
pub static TIMESYNC: Kind = Kind {
    judged: true,
    check: "timesync",
    json: "timesync",
    line: "ntp",
    list: false,
    fields: timesync::FIELDS,
};
pub static LINGER: Kind = Kind {
    judged: true,
    check: "linger",
    json: "users",
    line: "linger",
    list: true,
    fields: linger::FIELDS,
};
pub static SERVICE: Kind = Kind {
    judged: true,
    check: "service",
    json: "services",
    line: "svc",
    list: true,
    fields: service::FIELDS,
};
pub static DISK: Kind = Kind {
    judged: true,
    check: "disk",
    json: "disks",
    line: "disk",
    list: true,
    fields: disk::FIELDS,
};
pub static MEMORY: Kind = Kind {
    judged: true,
    check: "memory",
    json: "memory",
    line: "mem",
    list: false,
    fields: memory::FIELDS,
};

pub static RUN: Kind = Kind {
    check: "run",
    json: "run",
    line: "",
    list: false,
    judged: false,
    fields: run::FIELDS,
};
pub static FIX: Kind = Kind {
    check: "fix",
    json: "fixes",
    line: "",
    list: true,
    judged: false,
    fields: fix::FIELDS,
};

/// The CPU architecture the binary was built for, as a literal (for `concat!`).
#[cfg(target_arch = "x86_64")]
#[macro_export]
macro_rules! arch {
    () => {
        "x86_64"
    };
}
#[cfg(target_arch = "aarch64")]
#[macro_export]
macro_rules! arch {
    () => {
        "aarch64"
    };
}
#[cfg(target_arch = "arm")]
#[macro_export]
macro_rules! arch {
    () => {
        "armv7"
    };
}
#[cfg(target_arch = "x86")]
#[macro_export]
macro_rules! arch {
    () => {
        "i686"
    };
}
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "x86"
)))]
#[macro_export]
macro_rules! arch {
    () => {
        "other"
    };
}

/// The CPU architecture the binary was built for.
pub const ARCH: &str = arch!();

/// Most fields of any kind.
pub const MAX_FIELDS: usize = 16;
/// Most sections in a record: the node, the run, clock, timesync, memory, and one per user,
/// service, mount and fix step.
pub const MAX_SECTIONS: usize = 5 + MAX_USERS + MAX_SERVICES + MAX_MOUNTS + MAX_FIXES;

/// One section of a record: the node's, a check's, or one instance's (a user, a service, a
/// mount): kind, instance labels, verdict, field values (`values[clock::OFFSET_US]`...).
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    pub kind: &'static Kind,
    /// Instance labels (`user`, `service`, `mount`); an empty name ends the list, an empty
    /// value is a system unit's missing user.
    pub labels: [(&'static str, &'a [u8]); 2],
    /// The judged status and reason (the node's: the record's overall status).
    pub verdict: Verdict,
    pub values: [V<'a>; MAX_FIELDS],
}

impl<'a> Section<'a> {
    /// The labels in use.
    #[inline(never)] // out of line: measured smaller on i686 and x86_64 (five encoders call it)
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &(&'static str, &'a [u8])> {
        self.labels.iter().filter(|(name, _)| !name.is_empty())
    }

    /// `(spec, value)` pairs.
    pub fn fields(&self) -> impl Iterator<Item = (Spec, V<'a>)> + '_ {
        let kind = self.kind;
        (0..kind.fields.len()).map(move |i| {
            (
                kind.fields.spec(i),
                self.values.get(i).copied().unwrap_or(V::Null),
            )
        })
    }
}

/// A judged record as the formats see it.
#[derive(Debug)]
pub struct Model<'a> {
    /// The record's name (`/proc/sys/kernel/hostname`), `None` when unreadable.
    pub host: Option<&'a [u8]>,
    /// Wall clock at the start of the run, ms since the epoch.
    pub t_ms: u64,
    /// The overall status (the exit code's).
    pub status: Status,
    /// What this run learned from the previous one (`--state`); `None` when no state is kept.
    pub history: Option<&'a History>,
    /// What `--fix`/`--fix-dry-run` ran or would run (empty without them).
    pub fixes: &'a [Fix<'a>],
    /// The node first (its verdict the overall status), then the run's history (with
    /// `--state`), every check that ran in record order, and the fix steps.
    pub sections: Vec<Section<'a>, MAX_SECTIONS>,
    /// The record itself and the thresholds, for the Nagios perfdata (values against limits).
    pub record: &'a Record<'a>,
    pub thresholds: &'a Thresholds,
}

/// Appends a section of `kind` without labels and with every value unknown, and returns it for
/// the caller to fill in: an instance's labels, then the values (`None` only when `out` is
/// full, which [`MAX_SECTIONS`] rules out). The caller writes them in place, not into a
/// section that is then copied.
fn add<'v, 'a>(
    out: &'v mut Vec<Section<'a>, MAX_SECTIONS>,
    kind: &'static Kind,
    verdict: Verdict,
) -> Option<&'v mut Section<'a>> {
    out.push(Section {
        kind,
        labels: NONE,
        verdict,
        values: [V::Null; MAX_FIELDS],
    })
    .ok()?;
    out.last_mut()
}

/// No instance labels.
const NONE: [(&str, &[u8]); 2] = [("", b""), ("", b"")];

/// A verdict the judge did not give (a list shorter than the record's; the run and the fix steps,
/// which have none of their own): never OK.
const UNJUDGED: Verdict = Verdict {
    status: Status::Unknown,
    why: None,
};

/// The model of `r` as `judged` judged it, with the run's history and fixes, handed to `then`.
/// Each section starts with every value unknown and gets the values its source knows. The
/// model, the run's largest value (11 KiB on a 64-bit CPU), stays in this frame: returned, it
/// would be copied into the caller's.
pub fn build<'a, R>(
    r: &'a Record<'a>,
    judged: &Judged,
    t: &'a Thresholds,
    history: Option<&'a History>,
    fixes: &'a [Fix<'a>],
    then: impl FnOnce(&Model<'a>) -> R,
) -> R {
    let mut model = Model {
        host: r.host.as_deref(),
        t_ms: r.wall_ms,
        status: judged.status,
        history,
        fixes,
        sections: Vec::new(),
        record: r,
        thresholds: t,
    };
    let out = &mut model.sections;
    let now_s = (r.wall_ms / 1000) as i64;

    let node_verdict = Verdict {
        status: judged.status,
        why: None,
    };
    let node = add(out, &NODE, node_verdict);
    if let (Some(section), Some(s)) = (node, &r.system) {
        let v = &mut section.values;
        v[node::UPTIME_S] = opt(s.uptime_s);
        if let Some(load) = &s.load {
            for (slot, &l) in v[node::LOAD1..=node::LOAD15].iter_mut().zip(load) {
                *slot = V::Dec(i64::try_from(l).unwrap_or(i64::MAX), 2);
            }
        }
        if let Some(b) = &s.boot_id {
            v[node::BOOT_ID] = V::Text(b);
        }
        if let Some(k) = &s.kernel {
            v[node::KERNEL] = V::Text(k);
        }
        v[node::ARCH] = V::Text(ARCH.as_bytes());
    }

    if let Some(h) = history {
        if let Some(section) = add(out, &RUN, UNJUDGED) {
            let v = &mut section.values;
            v[run::SEQ] = int(h.seq);
            match h.prev {
                Ok(p) => {
                    v[run::GAP_S] = int(p.gap_ms / 1000);
                    v[run::REBOOT] = V::Bool(p.rebooted);
                }
                Err(problem) => v[run::PREV] = V::Text(problem.as_str().as_bytes()),
            }
            v[run::SAVE_ERRNO] = h.save_errno().map_or(V::Null, |e| V::Int(i64::from(e)));
        }
    }

    if let Some(c) = &r.clock {
        if let Some(section) = add(out, &CLOCK, judged.clock.unwrap_or(UNJUDGED)) {
            let v = &mut section.values;
            match &c.timex {
                Ok(tx) => {
                    if let Some(rule) = judged.sync_rule {
                        v[clock::SYNC] = V::Text(rule.as_str().as_bytes());
                    }
                    v[clock::SD_SYNCED] = V::Bool(kernel::systemd_synced(tx));
                    v[clock::NE_SYNCED] = V::Bool(kernel::node_exporter_synced(tx));
                    v[clock::KSTATE] = V::Int(i64::from(tx.state));
                    v[clock::KSTATUS] = V::Int(i64::from(tx.status));
                    v[clock::OFFSET_US] = V::Int(kernel::offset_us(tx));
                    v[clock::FREQ_PPM] = V::Dec(kernel::freq_ppb(tx), 3);
                    v[clock::MAXERROR_US] = V::Int(tx.maxerror);
                    v[clock::ESTERROR_US] = V::Int(tx.esterror);
                    v[clock::TAI_S] = V::Int(i64::from(tx.tai));
                }
                Err(errno) => v[clock::ERRNO] = V::Int(i64::from(*errno)),
            }
            match &c.sntp {
                Some(Ok(reply)) => {
                    v[clock::NTP_OFFSET_US] =
                        V::Int(crate::num::div_toward_zero(reply.offset_ns, 1000));
                    v[clock::NTP_DELAY_US] =
                        V::Int(crate::num::div_toward_zero(reply.delay_ns, 1000));
                    v[clock::NTP_STRATUM] = V::Int(i64::from(reply.stratum));
                }
                Some(Err(failure)) => v[clock::NTP_ERROR] = V::Text(failure.as_str().as_bytes()),
                None => {}
            }
            v[clock::BAD_SINCE_MS] = opt(history.and_then(|h| h.clock_bad_since_ms));
        }
    }

    if let Some(ts) = &r.timesync {
        if let Some(section) = add(out, &TIMESYNC, judged.timesync.unwrap_or(UNJUDGED)) {
            let v = &mut section.values;
            v[timesync::DAEMON] = V::Text(ts.daemon.as_str().as_bytes());
            v[timesync::SYNCED_AGE_S] = match ts.sync_file {
                SyncFile::Present { mtime_s } => V::Int(now_s.saturating_sub(mtime_s).max(0)),
                SyncFile::Missing => V::Word("none"),
                SyncFile::NotApplicable => V::Word("n/a"),
                SyncFile::Unknown => V::Null,
            };
        }
    }

    for (i, u) in r.users().iter().enumerate() {
        let verdict = judged.users.get(i).copied().unwrap_or(UNJUDGED);
        if let Some(section) = add(out, &LINGER, verdict) {
            section.labels[0] = ("user", u.name);
            let v = &mut section.values;
            v[linger::UID] = opt(u.uid.map(u64::from));
            v[linger::LINGER] = V::Text(u.linger.as_str().as_bytes());
            v[linger::ENABLED] = match u.linger {
                Linger::On => V::Bool(true),
                Linger::Off => V::Bool(false),
                _ => V::Null,
            };
            v[linger::STATE] = V::Text(u.login.as_str().as_bytes());
        }
    }

    for (i, s) in r.services().iter().enumerate() {
        let verdict = judged.services.get(i).copied().unwrap_or(UNJUDGED);
        if let Some(section) = add(out, &SERVICE, verdict) {
            section.labels = [("service", s.name), ("user", s.user.unwrap_or(b""))];
            let v = &mut section.values;
            let seen = history.and_then(|h| h.services.get(i));
            v[service::VIA] = V::Text(s.via.as_str().as_bytes());
            v[service::ACTIVE] = match s.active {
                Active::Yes => V::Bool(true),
                Active::No => V::Bool(false),
                Active::Unknown => V::Null,
            };
            v[service::PID] = opt(s.pid.map(u64::from));
            v[service::START_CS] = opt(s.start_cs);
            v[service::RESTARTED] = seen.map_or(V::Null, |h| V::Bool(h.restarted));
            v[service::DOWN_SINCE_MS] = opt(seen.and_then(|h| h.down_since_ms));
        }
    }

    for (i, d) in r.disks().iter().enumerate() {
        let verdict = judged.disks.get(i).copied().unwrap_or(UNJUDGED);
        if let Some(section) = add(out, &DISK, verdict) {
            section.labels[0] = ("mount", d.path);
            let v = &mut section.values;
            match &d.stat {
                Ok(st) => {
                    v[disk::SIZE_BYTES] = int(st.size_b);
                    v[disk::AVAIL_BYTES] = int(st.avail_b);
                    v[disk::USED_PCT] = int(u64::from(st.used_pct));
                    v[disk::INODES_USED_PCT] = opt(st.inodes_used_pct.map(u64::from));
                    v[disk::READ_ONLY] = V::Bool(st.read_only);
                }
                Err(errno) => v[disk::ERRNO] = V::Int(i64::from(*errno)),
            }
        }
    }

    if let Some(m) = &r.memory {
        let section = add(out, &MEMORY, judged.memory.unwrap_or(UNJUDGED));
        if let (Some(section), Some(st)) = (section, &m.stat) {
            let v = &mut section.values;
            let bytes = |kb: u64| int(crate::num::saturating_mul(kb, 1024));
            v[memory::TOTAL_BYTES] = bytes(st.total_kb);
            v[memory::AVAIL_BYTES] = bytes(st.avail_kb);
            v[memory::SWAP_TOTAL_BYTES] = bytes(st.swap_total_kb);
            v[memory::SWAP_FREE_BYTES] = bytes(st.swap_free_kb);
            v[memory::AVAIL_ESTIMATED] = V::Bool(st.avail_estimated);
        }
    }

    for f in fixes {
        if let Some(section) = add(out, &FIX, UNJUDGED) {
            section.labels = [
                ("step", f.step.as_str().as_bytes()),
                ("user", f.user.unwrap_or(b"")),
            ];
            let v = &mut section.values;
            v[fix::EXIT_CODE] = f
                .outcome
                .exit_code()
                .map_or(V::Null, |c| V::Int(i64::from(c)));
            v[fix::OUTCOME] = V::Text(f.outcome_word().as_bytes());
        }
    }

    then(&model)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's packed names and units line up, and the values `checks` fills fit.
    #[test]
    fn field_tables_line_up() {
        for kind in [
            &NODE, &RUN, &CLOCK, &TIMESYNC, &LINGER, &SERVICE, &DISK, &MEMORY, &FIX,
        ] {
            let records = kind.fields.packed.matches('\x1e').count();
            assert_eq!(records, kind.fields.len(), "{}", kind.check);
            assert!(kind.fields.len() <= MAX_FIELDS, "{}", kind.check);
            for i in 0..kind.fields.len() {
                let spec = kind.fields.spec(i);
                assert_eq!(spec.packed.matches('\x1f').count(), 3, "{} {i}", kind.check);
                assert!(
                    !(spec.name().is_empty() && spec.prom().is_empty()),
                    "{} {i}",
                    kind.check
                );
                assert!(
                    spec.prom().is_empty() || !spec.help().is_empty(),
                    "{} {i}",
                    kind.check
                );
            }
        }
        let maxerror = CLOCK.fields.spec(clock::MAXERROR_US);
        assert_eq!(
            (
                maxerror.name(),
                maxerror.line(),
                maxerror.shift,
                maxerror.np1
            ),
            ("maxerror_us", "maxe_ms", 6, MILLI)
        );
        assert_eq!(DISK.fields.spec(disk::READ_ONLY).np1, IF_TRUE);
        assert_eq!(
            MEMORY.fields.spec(MAX_FIELDS).name(),
            "",
            "past the end: empty"
        );
        assert_eq!(
            CLOCK.fields.len(),
            clock::BAD_SINCE_MS + 1,
            "indices follow the declaration"
        );
        assert!(!NODE.fields.is_empty());
        assert!(Fields {
            packed: "",
            units: &[]
        }
        .is_empty());
    }

    /// A record with every list at its capacity gets a section for each entry: the node, the
    /// clock, timesync and memory, then every user, service and mount.
    #[test]
    fn room_for_every_section() {
        use crate::record::{Clock, Disk, Login, Memory, Service, User, Via};
        let user = User {
            name: b"u",
            uid: Some(1),
            linger: Linger::On,
            login: Login::Unknown,
            needs_linger: false,
        };
        let service = Service {
            user: None,
            name: b"s",
            active: Active::Yes,
            via: Via::Process,
            pid: None,
            start_cs: None,
            link_ino: None,
        };
        let disk = Disk {
            path: b"/",
            stat: Err(5),
        };
        let record = Record {
            clock: Some(Clock {
                timex: Err(1),
                sntp: None,
            }),
            timesync: Some(crate::record::Timesync {
                daemon: crate::record::Daemon::None,
                sync_file: SyncFile::Missing,
            }),
            users: Some(Vec::from_slice(&[user; MAX_USERS]).unwrap()),
            services: Some(Vec::from_slice(&[service; MAX_SERVICES]).unwrap()),
            disks: Some(Vec::from_slice(&[disk; MAX_MOUNTS]).unwrap()),
            memory: Some(Memory { stat: None }),
            ..Record::default()
        };
        let t = Thresholds::default();
        let judged = crate::verdict::judge(&record, &t);
        build(&record, &judged, &t, None, &[], |model| {
            // Without history and fixes: all but the run's section and the fix steps'.
            assert_eq!(model.sections.len(), MAX_SECTIONS - 1 - MAX_FIXES);
            let last = model.sections.last().unwrap();
            assert!(
                core::ptr::eq(last.kind, &MEMORY),
                "the memory section comes last, after every mount"
            );
        });
    }
}
