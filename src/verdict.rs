//! Thresholds → ok / warn / crit / unknown for each check, and the process exit code.
//!
//! [`judge`] is the one place that decides a status: a pure function of the [`Record`] and the
//! [`Thresholds`], called once per run. Every default is documented on [`Thresholds`] and in the
//! README. The overall status follows the monitoring-plugins convention, exit 0/1/2/3 for
//! OK/WARNING/CRITICAL/UNKNOWN, with CRITICAL > WARNING > UNKNOWN > OK: an unreadable source
//! never hides a real problem elsewhere, and never passes for OK.
//!
//! # The clock rule
//! Synchronized when systemd's rule holds (`maxerror < 16 s`: timesyncd, chrony with or without
//! `rtcsync`, ntpd all keep maxerror small while synced), or when BusyBox ntpd runs and the kernel
//! PLL is on (`STA_PLL`, no `STA_CLOCKERR`): BusyBox ntpd never writes maxerror, so the kernel's
//! flags cannot speak for it. Unsynchronized is CRITICAL. A synchronized clock is then held to
//! the offset and maxerror thresholds. adjtimex failing is UNKNOWN, never OK.

use crate::kernel as clock;
use heapless::Vec;

use crate::record::{
    Active, Clock, Daemon, Disk, Linger, Login, Memory, Record, Service, SyncFile, Timesync, User,
    MAX_MOUNTS, MAX_SERVICES, MAX_USERS,
};

crate::words! {
    /// A check's result, declared in exit-code order (0 OK ... 3 UNKNOWN).
    pub enum Status {
        Ok = "ok",
        Warn = "warn",
        Crit = "crit",
        Unknown = "unknown",
    }
}

impl Status {
    /// The monitoring-plugins exit code.
    pub fn code(self) -> u8 {
        self as u8 // declared in exit-code order
    }

    /// The monitoring-plugins state word (`CRITICAL`), which the Nagios and text formats show.
    pub fn plugin_word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARNING",
            Status::Crit => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warn => 2,
            Status::Crit => 3,
        }
    }

    /// The more severe of two statuses (CRITICAL > WARNING > UNKNOWN > OK).
    pub fn worst(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

crate::words! {
    /// Why a check is not OK: the word in every format (`why:down`, `"why":"down"`) but
    /// `text`, which says it in plain words.
    pub enum Reason {
        /// No rule finds the clock synchronized.
        Unsynced = "unsynced",
        /// The kernel PLL offset.
        Offset = "offset",
        /// The kernel's maximum error.
        Maxerror = "maxerror",
        /// The offset measured from `--ntp-server`.
        NtpOffset = "ntp-offset",
        /// adjtimex failed.
        Adjtimex = "adjtimex",
        /// No time daemon runs.
        NoDaemon = "no-daemon",
        /// timesyncd runs but never accepted a sample.
        NeverSynced = "never-synced",
        /// timesyncd's last sample is old.
        SyncAge = "sync-age",
        /// `/proc` could not be read: the time daemon is unknown.
        Proc = "proc",
        /// Linger is off for a user whose user service needs it.
        LingerOff = "linger-off",
        /// The user is not in `/etc/passwd`.
        NoSuchUser = "no-such-user",
        /// The linger file could not be read.
        Linger = "linger",
        /// logind's user file could not be read.
        Logind = "logind",
        /// The service is not running.
        Down = "down",
        /// Whether the service runs could not be read.
        Unreadable = "unreadable",
        /// Free disk space.
        Space = "space",
        /// Free inodes.
        Inodes = "inodes",
        /// `statvfs` failed.
        Statvfs = "statvfs",
        /// The disk did not answer before the deadline.
        Timeout = "timeout",
        /// Available memory.
        Available = "available",
        /// `/proc/meminfo` could not be read.
        Meminfo = "meminfo",
    }
}

/// A check's status and, when not OK, its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub why: Option<Reason>,
}

impl Verdict {
    pub const OK: Verdict = Verdict {
        status: Status::Ok,
        why: None,
    };
    const fn new(status: Status, why: Reason) -> Verdict {
        Verdict {
            status,
            why: Some(why),
        }
    }
}

/// Thresholds and their defaults (flag names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Free disk space below this percent is WARNING [`--disk-free-warn`, 10].
    pub disk_free_warn_pct: u64,
    /// ... and below this CRITICAL [`--disk-free-crit`, 5].
    pub disk_free_crit_pct: u64,
    /// Free inodes below this percent is WARNING [`--inodes-free-warn`, 10].
    pub inodes_free_warn_pct: u64,
    /// ... and below this CRITICAL [`--inodes-free-crit`, 5].
    pub inodes_free_crit_pct: u64,
    /// MemAvailable below this percent of MemTotal is WARNING [`--mem-avail-warn`, 10].
    pub mem_avail_warn_pct: u64,
    /// ... and below this CRITICAL [`--mem-avail-crit`, 5].
    pub mem_avail_crit_pct: u64,
    /// |kernel offset| at or above this is WARNING [`--offset-warn-ms`, 100].
    pub offset_warn_ms: u64,
    /// ... and CRITICAL [`--offset-crit-ms`, 1000].
    pub offset_crit_ms: u64,
    /// maxerror at or above this is WARNING [`--maxerror-warn-ms`, 5000]. timesyncd at its
    /// longest poll (2048 s) lets maxerror grow to ~1 s between samples, so 5 s leaves room.
    pub maxerror_warn_ms: u64,
    /// ... and CRITICAL [`--maxerror-crit-ms`, 16000: the kernel's own unsynchronized limit].
    pub maxerror_crit_ms: u64,
    /// timesyncd's last accepted sample older than this is WARNING [`--sync-age-warn-s`, 7200].
    pub sync_age_warn_s: u64,
    /// |offset measured from `--ntp-server`| at or above this is WARNING
    /// [`--ntp-offset-warn-ms`, 1000].
    pub ntp_offset_warn_ms: u64,
    /// ... and CRITICAL [`--ntp-offset-crit-ms`, 60000: well inside a gateway's 5-minute rule].
    pub ntp_offset_crit_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds::DEFAULT
    }
}

impl Thresholds {
    /// The defaults, as the flags' docs above give them (one table in read-only memory, copied).
    pub const DEFAULT: Thresholds = Thresholds {
        disk_free_warn_pct: 10,
        disk_free_crit_pct: 5,
        inodes_free_warn_pct: 10,
        inodes_free_crit_pct: 5,
        mem_avail_warn_pct: 10,
        mem_avail_crit_pct: 5,
        offset_warn_ms: 100,
        offset_crit_ms: 1000,
        maxerror_warn_ms: 5000,
        maxerror_crit_ms: 16000,
        sync_age_warn_s: 7200,
        ntp_offset_warn_ms: 1000,
        ntp_offset_crit_ms: 60_000,
    };
}

crate::words! {
    /// The flags (and config keys) that set a threshold, each the [`Thresholds`] field of its
    /// name ([`Thresholds::field`]).
    pub enum Limit {
        DiskFreeWarn = "disk-free-warn",
        DiskFreeCrit = "disk-free-crit",
        InodesFreeWarn = "inodes-free-warn",
        InodesFreeCrit = "inodes-free-crit",
        MemAvailWarn = "mem-avail-warn",
        MemAvailCrit = "mem-avail-crit",
        OffsetWarnMs = "offset-warn-ms",
        OffsetCritMs = "offset-crit-ms",
        MaxerrorWarnMs = "maxerror-warn-ms",
        MaxerrorCritMs = "maxerror-crit-ms",
        SyncAgeWarnS = "sync-age-warn-s",
        NtpOffsetWarnMs = "ntp-offset-warn-ms",
        NtpOffsetCritMs = "ntp-offset-crit-ms",
    }
}

/// Which way a measured value gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    /// A free percent: below the threshold is bad.
    Lower,
    /// A limit: at or above the threshold is bad.
    Higher,
}

/// A warning threshold and its critical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub warn: Limit,
    pub crit: Limit,
    pub worse: Worse,
}

impl Limit {
    /// The largest value: 100 for a percent, 10^12 for a limit in ms or s (so it can be scaled
    /// to µs without overflow).
    pub fn max(self) -> u64 {
        use Limit::*;
        match self {
            DiskFreeWarn | DiskFreeCrit | InodesFreeWarn | InodesFreeCrit | MemAvailWarn
            | MemAvailCrit => 100,
            OffsetWarnMs | OffsetCritMs | MaxerrorWarnMs | MaxerrorCritMs | SyncAgeWarnS
            | NtpOffsetWarnMs | NtpOffsetCritMs => 1_000_000_000_000,
        }
    }
}

impl Thresholds {
    /// The warning/critical pairs (`--sync-age-warn-s` has no critical one).
    pub const PAIRS: [Pair; 6] = [
        Pair {
            warn: Limit::DiskFreeWarn,
            crit: Limit::DiskFreeCrit,
            worse: Worse::Lower,
        },
        Pair {
            warn: Limit::InodesFreeWarn,
            crit: Limit::InodesFreeCrit,
            worse: Worse::Lower,
        },
        Pair {
            warn: Limit::MemAvailWarn,
            crit: Limit::MemAvailCrit,
            worse: Worse::Lower,
        },
        Pair {
            warn: Limit::OffsetWarnMs,
            crit: Limit::OffsetCritMs,
            worse: Worse::Higher,
        },
        Pair {
            warn: Limit::MaxerrorWarnMs,
            crit: Limit::MaxerrorCritMs,
            worse: Worse::Higher,
        },
        Pair {
            warn: Limit::NtpOffsetWarnMs,
            crit: Limit::NtpOffsetCritMs,
            worse: Worse::Higher,
        },
    ];

    /// The field `limit` sets.
    pub fn field(&mut self, limit: Limit) -> &mut u64 {
        match limit {
            Limit::DiskFreeWarn => &mut self.disk_free_warn_pct,
            Limit::DiskFreeCrit => &mut self.disk_free_crit_pct,
            Limit::InodesFreeWarn => &mut self.inodes_free_warn_pct,
            Limit::InodesFreeCrit => &mut self.inodes_free_crit_pct,
            Limit::MemAvailWarn => &mut self.mem_avail_warn_pct,
            Limit::MemAvailCrit => &mut self.mem_avail_crit_pct,
            Limit::OffsetWarnMs => &mut self.offset_warn_ms,
            Limit::OffsetCritMs => &mut self.offset_crit_ms,
            Limit::MaxerrorWarnMs => &mut self.maxerror_warn_ms,
            Limit::MaxerrorCritMs => &mut self.maxerror_crit_ms,
            Limit::SyncAgeWarnS => &mut self.sync_age_warn_s,
            Limit::NtpOffsetWarnMs => &mut self.ntp_offset_warn_ms,
            Limit::NtpOffsetCritMs => &mut self.ntp_offset_crit_ms,
        }
    }

    /// The first pair whose warning threshold is beyond its critical one, if any (equal ones
    /// are allowed).
    pub fn misordered(&mut self) -> Option<Pair> {
        Self::PAIRS.iter().copied().find(|pair| {
            let (warn, crit) = (*self.field(pair.warn), *self.field(pair.crit));
            match pair.worse {
                Worse::Lower => warn < crit,
                Worse::Higher => warn > crit,
            }
        })
    }
}

crate::words! {
    /// Which rule found the clock synchronized.
    pub enum SyncRule {
        /// systemd's `maxerror < 16 s`.
        Systemd = "systemd",
        /// BusyBox ntpd running with the kernel PLL on.
        Busybox = "busybox",
        /// Neither: unsynchronized.
        No = "no",
    }
}

/// Decides whether the clock is synchronized, and by which rule.
fn sync_rule(tx: &crate::kernel::Timex, daemon: Option<Daemon>) -> SyncRule {
    if clock::systemd_synced(tx) {
        SyncRule::Systemd
    } else if daemon == Some(Daemon::BusyboxNtpd)
        && tx.status & clock::STA_PLL != 0
        && tx.status & clock::STA_CLOCKERR == 0
    {
        SyncRule::Busybox
    } else {
        SyncRule::No
    }
}

/// `value` against warn/crit limits where larger is worse.
fn upper(value: u64, warn: u64, crit: u64, why: Reason) -> Verdict {
    if value >= crit {
        Verdict::new(Status::Crit, why)
    } else if value >= warn {
        Verdict::new(Status::Warn, why)
    } else {
        Verdict::OK
    }
}

/// `free` percent against warn/crit limits where smaller is worse.
#[inline(never)] // one copy for every free percent: disks, inodes, memory
fn lower(free_pct: u64, warn: u64, crit: u64, why: Reason) -> Verdict {
    if free_pct < crit {
        Verdict::new(Status::Crit, why)
    } else if free_pct < warn {
        Verdict::new(Status::Warn, why)
    } else {
        Verdict::OK
    }
}

/// The clock check. `rule` is [`sync_rule`]'s answer when adjtimex answered (`None`: it failed).
#[inline(never)] // out of line: measured smaller on i686 and x86_64
fn clock(c: &Clock, rule: Option<SyncRule>, t: &Thresholds) -> Verdict {
    // An offset measured from an NTP server (`--ntp-server`) is the truth the kernel's flags
    // cannot give (BusyBox ntpd, chrony without rtcsync): the verdict rests on it.
    if let Some(Ok(reply)) = &c.sntp {
        return upper(
            reply.offset_ns.unsigned_abs() / 1_000_000,
            t.ntp_offset_warn_ms,
            t.ntp_offset_crit_ms,
            Reason::NtpOffset,
        );
    }
    let (Ok(tx), Some(rule)) = (&c.timex, rule) else {
        return Verdict::new(Status::Unknown, Reason::Adjtimex);
    };
    if rule == SyncRule::No {
        return Verdict::new(Status::Crit, Reason::Unsynced);
    }
    // In whole ms, as the thresholds are: `us / 1000 >= ms` exactly when `us >= ms * 1000`.
    let offset = upper(
        clock::offset_us(tx).unsigned_abs() / 1000,
        t.offset_warn_ms,
        t.offset_crit_ms,
        Reason::Offset,
    );
    if offset.status != Status::Ok || rule == SyncRule::Busybox {
        return offset;
    }
    upper(
        u64::try_from(tx.maxerror).unwrap_or(0) / 1000,
        t.maxerror_warn_ms,
        t.maxerror_crit_ms,
        Reason::Maxerror,
    )
}

/// The timesync check; `now_s` is the wall clock in seconds.
fn timesync(ts: &Timesync, now_s: i64, t: &Thresholds) -> Verdict {
    match ts.daemon {
        Daemon::Unknown => Verdict::new(Status::Unknown, Reason::Proc),
        Daemon::None => Verdict::new(Status::Warn, Reason::NoDaemon),
        Daemon::Timesyncd => match ts.sync_file {
            SyncFile::Missing => Verdict::new(Status::Warn, Reason::NeverSynced),
            SyncFile::Present { mtime_s } => upper(
                now_s.saturating_sub(mtime_s).max(0) as u64,
                t.sync_age_warn_s,
                u64::MAX,
                Reason::SyncAge,
            ),
            SyncFile::Unknown | SyncFile::NotApplicable => Verdict::OK,
        },
        _ => Verdict::OK,
    }
}

/// The linger check for one user.
fn user(u: &User) -> Verdict {
    match u.linger {
        Linger::Off if u.needs_linger => Verdict::new(Status::Crit, Reason::LingerOff),
        // A user the node does not know is unknown, with or without systemd.
        _ if u.uid.is_none() => Verdict::new(Status::Unknown, Reason::NoSuchUser),
        Linger::NotApplicable => Verdict::OK,
        Linger::Unknown => Verdict::new(Status::Unknown, Reason::Linger),
        _ if u.login == Login::Unknown => Verdict::new(Status::Unknown, Reason::Logind),
        _ => Verdict::OK,
    }
}

/// The service check for one unit.
fn service(s: &Service) -> Verdict {
    match s.active {
        Active::Yes => Verdict::OK,
        Active::No => Verdict::new(Status::Crit, Reason::Down),
        Active::Unknown => Verdict::new(Status::Unknown, Reason::Unreadable),
    }
}

/// The disk check for one mount.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
fn disk(d: &Disk, t: &Thresholds) -> Verdict {
    let st = match &d.stat {
        Ok(st) => st,
        Err(crate::record::TIMED_OUT) => return Verdict::new(Status::Unknown, Reason::Timeout),
        Err(_) => return Verdict::new(Status::Unknown, Reason::Statvfs),
    };
    let space = lower(
        100 - u64::from(st.used_pct),
        t.disk_free_warn_pct,
        t.disk_free_crit_pct,
        Reason::Space,
    );
    if space.status == Status::Crit {
        return space;
    }
    let inodes = match st.inodes_used_pct {
        Some(used) => lower(
            100 - u64::from(used),
            t.inodes_free_warn_pct,
            t.inodes_free_crit_pct,
            Reason::Inodes,
        ),
        None => Verdict::OK,
    };
    // The worse of the two, space first when they are as bad.
    if space.status.worst(inodes.status) == space.status {
        space
    } else {
        inodes
    }
}

/// MemAvailable as a percent of MemTotal, rounded down.
pub fn mem_avail_pct(st: &crate::record::MemStat) -> u64 {
    crate::num::percent(st.avail_kb, st.total_kb, false)
}

/// The memory check.
fn memory(m: &Memory, t: &Thresholds) -> Verdict {
    let Some(st) = &m.stat else {
        return Verdict::new(Status::Unknown, Reason::Meminfo);
    };
    let avail_pct = mem_avail_pct(st);
    lower(
        avail_pct,
        t.mem_avail_warn_pct,
        t.mem_avail_crit_pct,
        Reason::Available,
    )
}

/// The worst of the checks' statuses; UNKNOWN for a run cut short by its deadline (the record
/// is incomplete).
fn overall(statuses: impl Iterator<Item = Status>, timed_out: bool) -> Status {
    let worst = statuses.fold(Status::Ok, Status::worst);
    if timed_out {
        Status::Unknown
    } else {
        worst
    }
}

/// Every check of a record judged, once: what the model, the encoders and the exit code read.
/// Each list follows the record's list (`users[i]` is the verdict of `record.users[i]`); a
/// check that did not run is `None` (or an empty list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The worst of the checks' statuses; UNKNOWN for a run cut short by its deadline.
    pub status: Status,
    pub clock: Option<Verdict>,
    /// The rule that found the clock synchronized, when adjtimex answered.
    pub sync_rule: Option<SyncRule>,
    pub timesync: Option<Verdict>,
    pub users: Vec<Verdict, MAX_USERS>,
    pub services: Vec<Verdict, MAX_SERVICES>,
    pub disks: Vec<Verdict, MAX_MOUNTS>,
    pub memory: Option<Verdict>,
}

impl Judged {
    /// The monitoring-plugins exit code of the run.
    pub fn exit_code(&self) -> u8 {
        self.status.code()
    }

    /// The state file could not be saved: an OK run is WARNING (the next record's `seq`,
    /// `gap_s` and `reboot` rest on a file that was not written); a worse one stays as it is.
    pub fn state_not_saved(&mut self) {
        if self.status == Status::Ok {
            self.status = Status::Warn;
        }
    }

    /// Whether the clock check passed: `None` when it did not run or could not tell.
    pub fn clock_ok(&self) -> Option<bool> {
        match self.clock?.status {
            Status::Ok => Some(true),
            Status::Unknown => None,
            _ => Some(false),
        }
    }
}

/// Judges every check of `r` against `t`: the one place that decides a status.
#[inline(never)] // out of line: one copy for every caller
pub fn judge(r: &Record, t: &Thresholds) -> Judged {
    let daemon = r.timesync.map(|ts| ts.daemon);
    let now_s = (r.wall_ms / 1000) as i64;
    let rule = r
        .clock
        .as_ref()
        .and_then(|c| c.timex.as_ref().ok())
        .map(|tx| sync_rule(tx, daemon));
    let mut judged = Judged {
        status: Status::Ok,
        clock: r.clock.as_ref().map(|c| clock(c, rule, t)),
        sync_rule: rule,
        timesync: r.timesync.as_ref().map(|ts| timesync(ts, now_s, t)),
        users: Vec::new(),
        services: Vec::new(),
        disks: Vec::new(),
        memory: r.memory.as_ref().map(|m| memory(m, t)),
    };
    // Each list has the capacity of the record's.
    for u in r.users() {
        let _ = judged.users.push(user(u));
    }
    for s in r.services() {
        let _ = judged.services.push(service(s));
    }
    for d in r.disks() {
        let _ = judged.disks.push(disk(d, t));
    }
    let singles = [judged.clock, judged.timesync, judged.memory];
    let lists = judged
        .users
        .iter()
        .chain(&judged.services)
        .chain(&judged.disks);
    let statuses = singles.iter().flatten().chain(lists).map(|v| v.status);
    judged.status = overall(statuses, r.timed_out);
    judged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{STA_NANO, STA_PLL, STA_UNSYNC, TIME_ERROR};
    use crate::record::Record;
    use crate::record::{DiskStat, MemStat, Timex};

    fn tx(state: i32, status: i32, offset: i64, maxerror: i64) -> Clock {
        Clock {
            sntp: None,
            timex: Ok(Timex {
                state,
                status,
                offset,
                freq: 0,
                maxerror,
                esterror: 0,
                tai: 0,
            }),
        }
    }
    fn st(v: Verdict) -> Status {
        v.status
    }
    /// The clock check as [`judge`] makes it: the sync rule of `daemon`, then the verdict.
    fn clock(c: &Clock, daemon: Option<Daemon>, t: &Thresholds) -> Verdict {
        super::clock(c, c.timex.as_ref().ok().map(|tx| sync_rule(tx, daemon)), t)
    }

    #[test]
    fn clock_per_daemon() {
        let t = Thresholds::default();
        // timesyncd just synced: maxerror small, STA_UNSYNC clear.
        assert_eq!(
            clock(
                &tx(0, STA_PLL | STA_NANO, 2_000_000, 20_000),
                Some(Daemon::Timesyncd),
                &t
            ),
            Verdict::OK
        );
        // chrony without rtcsync: STA_UNSYNC set, TIME_ERROR returned, maxerror good → synced.
        assert_eq!(
            clock(
                &tx(TIME_ERROR, STA_PLL | STA_UNSYNC, 50, 120_000),
                Some(Daemon::Chronyd),
                &t
            ),
            Verdict::OK
        );
        // ntpd that lost its servers: maxerror grew to the cap.
        assert_eq!(
            st(clock(
                &tx(TIME_ERROR, STA_PLL | STA_UNSYNC, 0, 16_000_000),
                Some(Daemon::Ntpd),
                &t
            )),
            Status::Crit
        );
        // BusyBox ntpd disciplining: maxerror at the cap, but the PLL is on.
        let bb = tx(TIME_ERROR, STA_PLL | STA_UNSYNC, 300, 16_000_000);
        assert_eq!(clock(&bb, Some(Daemon::BusyboxNtpd), &t), Verdict::OK);
        assert_eq!(
            sync_rule(bb.timex.as_ref().unwrap(), Some(Daemon::BusyboxNtpd)),
            SyncRule::Busybox
        );
        // ... the same kernel state without BusyBox ntpd running is unsynchronized.
        assert_eq!(st(clock(&bb, None, &t)), Status::Crit);
        // BusyBox ntpd running but never disciplined (no STA_PLL).
        assert_eq!(
            st(clock(
                &tx(TIME_ERROR, STA_UNSYNC, 0, 16_000_000),
                Some(Daemon::BusyboxNtpd),
                &t
            )),
            Status::Crit
        );
        // This VM: no daemon, TIME_ERROR, maxerror 16 s.
        assert_eq!(
            clock(
                &tx(TIME_ERROR, STA_UNSYNC, 0, 16_000_000),
                Some(Daemon::None),
                &t
            ),
            Verdict {
                status: Status::Crit,
                why: Some(Reason::Unsynced)
            }
        );
    }

    #[test]
    fn clock_thresholds() {
        let t = Thresholds::default();
        assert_eq!(
            clock(&tx(0, 0, 150_000, 1000), None, &t),
            Verdict {
                status: Status::Warn,
                why: Some(Reason::Offset)
            }
        );
        assert_eq!(
            st(clock(&tx(0, STA_NANO, -2_000_000_000, 1000), None, &t)),
            Status::Crit
        );
        assert_eq!(
            clock(&tx(0, 0, 0, 6_000_000), None, &t),
            Verdict {
                status: Status::Warn,
                why: Some(Reason::Maxerror)
            }
        );
        assert_eq!(
            clock(
                &Clock {
                    timex: Err(1),
                    sntp: None
                },
                None,
                &t
            ),
            Verdict {
                status: Status::Unknown,
                why: Some(Reason::Adjtimex)
            }
        );
        // Extreme offsets do not overflow.
        assert_eq!(st(clock(&tx(0, 0, i64::MIN, 0), None, &t)), Status::Crit);
    }

    #[test]
    fn timesync_rules() {
        let t = Thresholds::default();
        let ts = |daemon, sync_file| Timesync { daemon, sync_file };
        assert_eq!(
            st(timesync(&ts(Daemon::None, SyncFile::NotApplicable), 0, &t)),
            Status::Warn
        );
        assert_eq!(
            st(timesync(&ts(Daemon::Unknown, SyncFile::Missing), 0, &t)),
            Status::Unknown
        );
        assert_eq!(
            st(timesync(&ts(Daemon::Timesyncd, SyncFile::Missing), 0, &t)),
            Status::Warn
        );
        assert_eq!(
            timesync(
                &ts(Daemon::Timesyncd, SyncFile::Present { mtime_s: 1000 }),
                2000,
                &t
            ),
            Verdict::OK
        );
        assert_eq!(
            st(timesync(
                &ts(Daemon::Timesyncd, SyncFile::Present { mtime_s: 0 }),
                8000,
                &t
            )),
            Status::Warn
        );
        assert_eq!(
            timesync(&ts(Daemon::Chronyd, SyncFile::Missing), 0, &t),
            Verdict::OK
        );
    }

    #[test]
    fn linger_rules() {
        let u = |linger, needs_linger| User {
            name: b"node",
            uid: Some(1000),
            linger,
            login: Login::State(crate::parse::logind::LoginState::Active),
            needs_linger,
        };
        assert_eq!(st(user(&u(Linger::Off, true))), Status::Crit);
        assert_eq!(user(&u(Linger::Off, false)), Verdict::OK);
        assert_eq!(user(&u(Linger::On, true)), Verdict::OK);
        assert_eq!(user(&u(Linger::NotApplicable, true)), Verdict::OK);
        let mut nobody = u(Linger::On, true);
        nobody.uid = None;
        assert_eq!(st(user(&nobody)), Status::Unknown);
    }

    #[test]
    fn disk_and_memory() {
        let t = Thresholds::default();
        let d = |used_pct, inodes| Disk {
            path: b"/",
            stat: Ok(DiskStat {
                size_b: 1,
                avail_b: 1,
                used_pct,
                inodes_used_pct: inodes,
                read_only: false,
            }),
        };
        assert_eq!(disk(&d(50, Some(50)), &t), Verdict::OK);
        assert_eq!(
            disk(&d(91, Some(10)), &t),
            Verdict {
                status: Status::Warn,
                why: Some(Reason::Space)
            }
        );
        assert_eq!(
            disk(&d(96, None), &t),
            Verdict {
                status: Status::Crit,
                why: Some(Reason::Space)
            }
        );
        assert_eq!(
            disk(&d(91, Some(99)), &t),
            Verdict {
                status: Status::Crit,
                why: Some(Reason::Inodes)
            }
        );
        assert_eq!(
            st(disk(
                &Disk {
                    path: b"/",
                    stat: Err(2)
                },
                &t
            )),
            Status::Unknown
        );
        let m = |avail_kb| Memory {
            stat: Some(MemStat {
                total_kb: 1000,
                avail_kb,
                avail_estimated: false,
                swap_total_kb: 0,
                swap_free_kb: 0,
            }),
        };
        assert_eq!(memory(&m(500), &t), Verdict::OK);
        assert_eq!(st(memory(&m(99), &t)), Status::Warn);
        assert_eq!(st(memory(&m(49), &t)), Status::Crit);
        assert_eq!(st(memory(&Memory { stat: None }, &t)), Status::Unknown);
    }

    #[test]
    fn overall_is_the_worst_unless_cut_short() {
        use Status::*;
        assert_eq!(overall([].into_iter(), false), Ok);
        assert_eq!(overall([Ok, Unknown, Warn].into_iter(), false), Warn);
        assert_eq!(overall([Unknown, Crit, Ok].into_iter(), false), Crit);
        assert_eq!(overall([Crit].into_iter(), true), Unknown);
    }

    #[test]
    fn judge_once_for_every_check() {
        let t = Thresholds::default();
        let mut r = Record::default();
        assert_eq!(
            judge(&r, &t).status,
            Status::Ok,
            "nothing ran: nothing wrong"
        );
        r.clock = Some(tx(TIME_ERROR, STA_UNSYNC, 0, 16_000_000));
        r.timesync = Some(Timesync {
            daemon: Daemon::Chronyd,
            sync_file: SyncFile::NotApplicable,
        });
        r.memory = Some(Memory { stat: None });
        let mut disks = Vec::new();
        for stat in [Err(2), Err(crate::record::TIMED_OUT)] {
            disks.push(Disk { path: b"/", stat }).unwrap();
        }
        r.disks = Some(disks);
        let j = judge(&r, &t);
        assert_eq!(
            j.clock,
            Some(Verdict {
                status: Status::Crit,
                why: Some(Reason::Unsynced)
            })
        );
        assert_eq!(j.sync_rule, Some(SyncRule::No));
        assert_eq!(j.clock_ok(), Some(false));
        assert_eq!(j.timesync, Some(Verdict::OK));
        assert_eq!(j.memory.map(st), Some(Status::Unknown));
        assert_eq!(
            j.disks.iter().map(|v| v.why).collect::<std::vec::Vec<_>>(),
            [Some(Reason::Statvfs), Some(Reason::Timeout)]
        );
        assert!(j.users.is_empty() && j.services.is_empty());
        assert_eq!((j.status, j.exit_code()), (Status::Crit, 2));
        r.timed_out = true;
        assert_eq!(judge(&r, &t).exit_code(), 3, "cut short: UNKNOWN");
        r.timed_out = false;
        r.clock = Some(Clock {
            timex: Err(1),
            sntp: None,
        });
        let j = judge(&r, &t);
        assert_eq!(
            (j.clock_ok(), j.sync_rule, j.status),
            (None, None, Status::Unknown)
        );
        r.clock = Some(tx(0, STA_PLL, 0, 1000));
        r.disks = None;
        r.memory = None;
        let j = judge(&r, &t);
        assert_eq!(
            (j.clock_ok(), j.sync_rule, j.status),
            (Some(true), Some(SyncRule::Systemd), Status::Ok)
        );
        r.clock = Some(tx(0, STA_PLL, 200_000, 1000));
        assert_eq!(judge(&r, &t).clock_ok(), Some(false), "a warning is not OK");
        // The last sync's age is taken against the record's wall clock, in seconds.
        r.wall_ms = 1_764_000_000_123;
        let sync = |age_s: i64| Timesync {
            daemon: Daemon::Timesyncd,
            sync_file: SyncFile::Present {
                mtime_s: 1_764_000_000 - age_s,
            },
        };
        r.timesync = Some(sync(10));
        assert_eq!(judge(&r, &t).timesync, Some(Verdict::OK));
        r.timesync = Some(sync(7200));
        assert_eq!(
            judge(&r, &t).timesync.and_then(|v| v.why),
            Some(Reason::SyncAge)
        );
    }

    /// Every limit at, just below and just above its threshold: `>=` for the upper limits,
    /// `<` for the free percents.
    #[test]
    fn boundaries() {
        let t = Thresholds::default();
        let why = |v: Verdict| (v.status, v.why);
        assert_eq!(
            why(upper(99, 100, 1000, Reason::Offset)),
            (Status::Ok, None)
        );
        assert_eq!(
            why(upper(100, 100, 1000, Reason::Offset)),
            (Status::Warn, Some(Reason::Offset))
        );
        assert_eq!(
            why(upper(999, 100, 1000, Reason::Offset)),
            (Status::Warn, Some(Reason::Offset))
        );
        assert_eq!(
            why(upper(1000, 100, 1000, Reason::Offset)),
            (Status::Crit, Some(Reason::Offset))
        );
        assert_eq!(why(lower(10, 10, 5, Reason::Space)), (Status::Ok, None));
        assert_eq!(
            why(lower(9, 10, 5, Reason::Space)),
            (Status::Warn, Some(Reason::Space))
        );
        assert_eq!(
            why(lower(5, 10, 5, Reason::Space)),
            (Status::Warn, Some(Reason::Space))
        );
        assert_eq!(
            why(lower(4, 10, 5, Reason::Space)),
            (Status::Crit, Some(Reason::Space))
        );
        // The clock: 100 ms offset warns, 1 s is critical; maxerror 5 s warns, 16 s is not synced.
        assert_eq!(clock(&tx(0, 0, 99_999, 1000), None, &t), Verdict::OK);
        assert_eq!(st(clock(&tx(0, 0, 100_000, 1000), None, &t)), Status::Warn);
        assert_eq!(
            st(clock(&tx(0, 0, -1_000_000, 1000), None, &t)),
            Status::Crit
        );
        assert_eq!(clock(&tx(0, 0, 0, 4_999_999), None, &t), Verdict::OK);
        assert_eq!(st(clock(&tx(0, 0, 0, 5_000_000), None, &t)), Status::Warn);
        assert_eq!(
            st(clock(&tx(0, 0, 0, 15_999_999), None, &t)),
            Status::Warn,
            "16 s: unsynced first"
        );
        let tight = Thresholds {
            maxerror_crit_ms: 10_000,
            ..t
        };
        assert_eq!(
            why(clock(&tx(0, 0, 0, 10_000_000), None, &tight)),
            (Status::Crit, Some(Reason::Maxerror))
        );
        assert_eq!(
            st(clock(&tx(0, 0, 0, 9_999_999), None, &tight)),
            Status::Warn
        );
        assert_eq!(
            clock(&tx(0, 0, 0, 16_000_000), None, &t).why,
            Some(Reason::Unsynced)
        );
        // STA_NANO: the offset is in ns.
        assert_eq!(
            clock(&tx(0, STA_NANO, 99_999_000, 1000), None, &t),
            Verdict::OK
        );
        assert_eq!(
            st(clock(&tx(0, STA_NANO, 100_000_000, 1000), None, &t)),
            Status::Warn
        );
        // BusyBox: the offset still counts, maxerror does not; STA_CLOCKERR is not synced.
        let bb = Some(Daemon::BusyboxNtpd);
        assert_eq!(
            clock(&tx(TIME_ERROR, STA_PLL, 150_000, 16_000_000), bb, &t).why,
            Some(Reason::Offset)
        );
        let clockerr = crate::kernel::STA_CLOCKERR;
        assert_eq!(
            clock(&tx(TIME_ERROR, STA_PLL | clockerr, 0, 16_000_000), bb, &t).why,
            Some(Reason::Unsynced)
        );
        // An SNTP answer decides: 1 s warns, 60 s is critical, the kernel is not asked.
        let sntp = |offset_ns: i64| Clock {
            timex: Err(1),
            sntp: Some(Ok(crate::parse::sntp::Reply {
                leap: 0,
                version: 4,
                stratum: 1,
                offset_ns,
                delay_ns: 0,
            })),
        };
        assert_eq!(clock(&sntp(999_999_999), None, &t), Verdict::OK);
        assert_eq!(
            why(clock(&sntp(-1_000_000_000), None, &t)),
            (Status::Warn, Some(Reason::NtpOffset))
        );
        assert_eq!(st(clock(&sntp(60_000_000_000), None, &t)), Status::Crit);
        let failed = Clock {
            timex: Err(1),
            sntp: Some(Err(crate::record::SntpFailure::Timeout)),
        };
        assert_eq!(
            clock(&failed, None, &t).why,
            Some(Reason::Adjtimex),
            "a failed SNTP falls back"
        );
        // timesyncd's last sync: 7200 s is old.
        let ts = Timesync {
            daemon: Daemon::Timesyncd,
            sync_file: SyncFile::Present { mtime_s: 1000 },
        };
        assert_eq!(timesync(&ts, 8199, &t), Verdict::OK);
        assert_eq!(
            why(timesync(&ts, 8200, &t)),
            (Status::Warn, Some(Reason::SyncAge))
        );
        assert_eq!(
            timesync(&ts, 0, &t),
            Verdict::OK,
            "a file from the future is fresh"
        );
        let ts = |daemon| Timesync {
            daemon,
            sync_file: SyncFile::Unknown,
        };
        assert_eq!(timesync(&ts(Daemon::Timesyncd), 0, &t), Verdict::OK);
        assert_eq!(timesync(&ts(Daemon::Ntpd), 0, &t), Verdict::OK);
        assert_eq!(timesync(&ts(Daemon::BusyboxNtpd), 0, &t), Verdict::OK);
        assert_eq!(
            timesync(&ts(Daemon::None), 0, &t).why,
            Some(Reason::NoDaemon)
        );
        assert_eq!(
            timesync(&ts(Daemon::Unknown), 0, &t).why,
            Some(Reason::Proc)
        );
        // Memory: the percent is rounded down.
        let m = |avail_kb| Memory {
            stat: Some(MemStat {
                total_kb: 1000,
                avail_kb,
                avail_estimated: false,
                swap_total_kb: 0,
                swap_free_kb: 0,
            }),
        };
        assert_eq!(mem_avail_pct(&m(109).stat.unwrap()), 10);
        assert_eq!(memory(&m(100), &t), Verdict::OK);
        assert_eq!(
            why(memory(&m(99), &t)),
            (Status::Warn, Some(Reason::Available))
        );
        assert_eq!(
            why(memory(&m(50), &t)),
            (Status::Warn, Some(Reason::Available))
        );
        assert_eq!(
            why(memory(&m(49), &t)),
            (Status::Crit, Some(Reason::Available))
        );
        assert_eq!(
            memory(&Memory { stat: None }, &t).why,
            Some(Reason::Meminfo)
        );
    }

    #[test]
    fn every_reason_of_users_services_and_disks() {
        let t = Thresholds::default();
        let login = Login::State(crate::parse::logind::LoginState::Active);
        let u = |uid, linger, login, needs_linger| User {
            name: b"node",
            uid,
            linger,
            login,
            needs_linger,
        };
        assert_eq!(
            user(&u(Some(1), Linger::Off, login, true)).why,
            Some(Reason::LingerOff)
        );
        assert_eq!(
            user(&u(None, Linger::Off, login, true)).why,
            Some(Reason::LingerOff),
            "linger off wins"
        );
        assert_eq!(
            user(&u(Some(1), Linger::Unknown, login, true)).why,
            Some(Reason::Linger)
        );
        assert_eq!(
            user(&u(None, Linger::On, login, true)).why,
            Some(Reason::NoSuchUser)
        );
        assert_eq!(
            user(&u(None, Linger::Off, login, false)).why,
            Some(Reason::NoSuchUser)
        );
        assert_eq!(
            user(&u(None, Linger::NotApplicable, login, true)).why,
            Some(Reason::NoSuchUser),
            "without systemd too"
        );
        assert_eq!(
            user(&u(Some(1), Linger::On, Login::Unknown, true)).why,
            Some(Reason::Logind)
        );
        assert_eq!(
            user(&u(Some(1), Linger::Off, Login::NotApplicable, false)),
            Verdict::OK
        );
        assert_eq!(
            user(&u(None, Linger::On, login, true)).status,
            Status::Unknown
        );
        assert_eq!(
            user(&u(Some(1), Linger::Off, login, true)).status,
            Status::Crit
        );
        let s = |active| Service {
            user: None,
            name: b"x",
            active,
            via: crate::record::Via::None,
            pid: None,
            start_cs: None,
            link_ino: None,
        };
        assert_eq!(service(&s(Active::Yes)), Verdict::OK);
        assert_eq!(
            service(&s(Active::No)),
            Verdict {
                status: Status::Crit,
                why: Some(Reason::Down)
            }
        );
        assert_eq!(
            service(&s(Active::Unknown)),
            Verdict {
                status: Status::Unknown,
                why: Some(Reason::Unreadable)
            }
        );
        let d = |used_pct, inodes| Disk {
            path: b"/",
            stat: Ok(DiskStat {
                size_b: 1,
                avail_b: 1,
                used_pct,
                inodes_used_pct: inodes,
                read_only: false,
            }),
        };
        assert_eq!(
            disk(&d(90, Some(90)), &t),
            Verdict::OK,
            "10% free is not below 10"
        );
        assert_eq!(disk(&d(91, Some(10)), &t).status, Status::Warn);
        assert_eq!(
            disk(&d(95, None), &t).status,
            Status::Warn,
            "5% free is not below 5"
        );
        assert_eq!(disk(&d(96, None), &t).status, Status::Crit);
        assert_eq!(
            disk(&d(10, Some(91)), &t),
            Verdict {
                status: Status::Warn,
                why: Some(Reason::Inodes)
            }
        );
        assert_eq!(
            disk(&d(10, Some(96)), &t),
            Verdict {
                status: Status::Crit,
                why: Some(Reason::Inodes)
            }
        );
        assert_eq!(
            disk(&d(91, Some(91)), &t).why,
            Some(Reason::Space),
            "equal: space first"
        );
        assert_eq!(
            disk(&d(96, Some(99)), &t).why,
            Some(Reason::Space),
            "critical space stops there"
        );
        let failed = |errno| Disk {
            path: b"/",
            stat: Err(errno),
        };
        assert_eq!(
            disk(&failed(crate::record::TIMED_OUT), &t).why,
            Some(Reason::Timeout)
        );
        assert_eq!(disk(&failed(13), &t).why, Some(Reason::Statvfs));
    }

    #[test]
    fn statuses_and_codes() {
        let codes: std::vec::Vec<u8> = Status::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        assert_eq!(Status::Warn.as_str(), "warn");
        assert_eq!(Status::from_word(b"unknown"), Some(Status::Unknown));
        assert_eq!(Reason::NoSuchUser.as_str(), "no-such-user");
        assert_eq!(SyncRule::Busybox.as_str(), "busybox");
        for a in Status::ALL {
            for b in Status::ALL {
                let w = a.worst(*b);
                assert_eq!(w, b.worst(*a), "{a:?} {b:?}");
                assert!(w == *a || w == *b);
            }
        }
        assert_eq!(Status::Warn.worst(Status::Crit), Status::Crit);
        assert_eq!(Status::Ok.worst(Status::Ok), Status::Ok);
    }

    #[test]
    fn worst_order() {
        assert_eq!(Status::Ok.worst(Status::Unknown), Status::Unknown);
        assert_eq!(Status::Unknown.worst(Status::Warn), Status::Warn);
        assert_eq!(Status::Crit.worst(Status::Unknown), Status::Crit);
    }

    /// Each threshold flag sets the field of its name; each pair is a warning and its critical
    /// one, lower being worse for the free percents.
    #[test]
    fn limits_by_name() {
        let mut t = Thresholds::default();
        for (n, &limit) in (1..).zip(Limit::ALL) {
            *t.field(limit) = n;
        }
        let want = Thresholds {
            disk_free_warn_pct: 1,
            disk_free_crit_pct: 2,
            inodes_free_warn_pct: 3,
            inodes_free_crit_pct: 4,
            mem_avail_warn_pct: 5,
            mem_avail_crit_pct: 6,
            offset_warn_ms: 7,
            offset_crit_ms: 8,
            maxerror_warn_ms: 9,
            maxerror_crit_ms: 10,
            sync_age_warn_s: 11,
            ntp_offset_warn_ms: 12,
            ntp_offset_crit_ms: 13,
        };
        assert_eq!(t, want);
        for &limit in Limit::ALL {
            let percent = limit.as_str().ends_with("-warn") || limit.as_str().ends_with("-crit");
            assert_eq!(
                limit.max(),
                if percent { 100 } else { 1_000_000_000_000 },
                "{limit:?}"
            );
        }
        for pair in Thresholds::PAIRS {
            assert_eq!(
                pair.warn.as_str().replace("-warn", "-crit"),
                pair.crit.as_str()
            );
            assert_eq!(
                pair.worse == Worse::Lower,
                pair.warn.max() == 100,
                "{pair:?}"
            );
        }
        assert_eq!(
            Limit::from_word(b"sync-age-warn-s"),
            Some(Limit::SyncAgeWarnS)
        );
        let mut t = Thresholds::default();
        assert_eq!(t.misordered(), None);
        t.mem_avail_warn_pct = 4;
        assert_eq!(t.misordered().map(|p| p.warn), Some(Limit::MemAvailWarn));
        t.mem_avail_warn_pct = 5;
        assert_eq!(t.misordered(), None, "equal is fine");
        t.maxerror_warn_ms = 16001;
        assert_eq!(
            t.misordered().map(|p| (p.crit, p.worse)),
            Some((Limit::MaxerrorCritMs, Worse::Higher))
        );
    }
}
