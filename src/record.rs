//! One run's observations: a fixed-size value filled by the probes, read by the verdict and the
//! encoders. `None` for a whole check means it was skipped (`--skip`/`--only`); inside a check,
//! each field says on its own whether it is known, unknown or not applicable.
//!
//! Capacities are chosen here, in one place: names and lists come from the command line and are
//! borrowed, so the record itself holds only small copies (hostname, kernel release).

use heapless::Vec;

pub use crate::kernel::Timex;
use crate::parse::logind::LoginState;

/// Most `--user` names (each `--user-service` user counts once).
pub const MAX_USERS: usize = 4;
/// Most `--service` plus `--user-service` units.
pub const MAX_SERVICES: usize = 8;
/// Most `--mount` paths.
pub const MAX_MOUNTS: usize = 8;
/// Longest hostname or kernel release kept (Linux allows 64).
pub const WORD_MAX: usize = 64;

/// A short text copied out of a file (hostname, kernel release).
pub type Word = Vec<u8, WORD_MAX>;

crate::words! {
    /// The checks, as `--skip` and `--only` name them.
    pub enum Check {
        Clock = "clock",
        Timesync = "timesync",
        Linger = "linger",
        Service = "service",
        Disk = "disk",
        Memory = "memory",
        System = "system",
    }
}

/// The checks a run makes.
pub type Checks = crate::num::Set<Check>;

/// Everything one run saw.
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    /// `/proc/sys/kernel/hostname`; always read, it names the record.
    pub host: Option<Word>,
    /// Wall clock at the start of the run, milliseconds since the Unix epoch.
    pub wall_ms: u64,
    pub system: Option<System>,
    pub clock: Option<Clock>,
    pub timesync: Option<Timesync>,
    pub users: Option<Vec<User<'a>, MAX_USERS>>,
    pub services: Option<Vec<Service<'a>, MAX_SERVICES>>,
    pub disks: Option<Vec<Disk<'a>, MAX_MOUNTS>>,
    pub memory: Option<Memory>,
    /// The run hit its deadline (`--timeout`): the disks did not answer in time.
    pub timed_out: bool,
}

impl<'a> Record<'a> {
    /// The users the linger check looked at (none when it did not run).
    pub fn users(&self) -> &[User<'a>] {
        self.users.as_deref().unwrap_or(&[])
    }

    /// The services the service check looked at (none when it did not run).
    #[inline(never)] // out of line: measured smaller on i686 and x86_64
    pub fn services(&self) -> &[Service<'a>] {
        self.services.as_deref().unwrap_or(&[])
    }

    /// The mounts the disk check looked at (none when it did not run).
    #[inline(never)] // out of line: measured smaller on i686 and x86_64
    pub fn disks(&self) -> &[Disk<'a>] {
        self.disks.as_deref().unwrap_or(&[])
    }
}

/// The `system` check: identity and load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct System {
    pub kernel: Option<Word>,
    pub uptime_s: Option<u64>,
    /// 1, 5 and 15 minute load averages in hundredths.
    pub load: Option<[u64; 3]>,
    /// `boot_id` as 32 lowercase hex digits.
    pub boot_id: Option<[u8; 32]>,
}

/// The `clock` check: what `adjtimex(modes = 0)` returned, or its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub timex: Result<Timex, i32>,
    /// The offset measured from `--ntp-server`, when one is given.
    pub sntp: Option<Result<crate::parse::sntp::Reply, SntpFailure>>,
}

/// Why `--ntp-server` gave no offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SntpFailure {
    /// No valid answer before the wait ended.
    Timeout,
    /// The name is not an address and not in `/etc/hosts`.
    Unresolved,
    /// A socket call failed (errno).
    Os(i32),
    /// Answers came, none valid (the last one's reason).
    Wire(crate::parse::sntp::Error),
}

impl SntpFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            SntpFailure::Timeout => "timeout",
            SntpFailure::Unresolved => "unresolved",
            SntpFailure::Os(_) => "socket",
            SntpFailure::Wire(e) => e.as_str(),
        }
    }
}

crate::words! {
    /// Which time daemon runs, from one pass over `/proc/*/stat`.
    pub enum Daemon {
        None = "none",
        Timesyncd = "timesyncd",
        Chronyd = "chronyd",
        /// ntp.org ntpd, ntpsec or OpenNTPD (all `ntpd`), or a BusyBox ntpd we could not
        /// identify.
        Ntpd = "ntpd",
        BusyboxNtpd = "busybox-ntpd",
        /// `/proc` could not be read.
        Unknown = "unknown",
    }
}

/// `/run/systemd/timesync/synchronized`, touched by timesyncd after each accepted sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncFile {
    /// No systemd on this node.
    NotApplicable,
    Missing,
    /// Present; its mtime, seconds since the epoch.
    Present {
        mtime_s: i64,
    },
    Unknown,
}

/// The `timesync` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timesync {
    pub daemon: Daemon,
    pub sync_file: SyncFile,
}

crate::words! {
    /// Whether `/var/lib/systemd/linger/NAME` exists.
    pub enum Linger {
        On = "on",
        Off = "off",
        /// No systemd/logind on this node.
        NotApplicable = "n/a",
        Unknown = "unknown",
    }
}

/// logind's view of a user (`/run/systemd/users/UID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    State(LoginState),
    NotApplicable,
    Unknown,
}

impl Login {
    pub fn as_str(self) -> &'static str {
        match self {
            Login::State(s) => s.as_str(),
            Login::NotApplicable => "n/a",
            Login::Unknown => "unknown",
        }
    }
}

/// One `--user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User<'a> {
    pub name: &'a [u8],
    pub uid: Option<u32>,
    pub linger: Linger,
    pub login: Login,
    /// A `--user-service` runs in this user's manager, so it needs linger.
    pub needs_linger: bool,
}

/// Tri-state activity of a unit or process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Active {
    Yes,
    No,
    Unknown,
}

crate::words! {
    /// Which source decided `Active`.
    pub enum Via {
        /// systemd's `invocation:UNIT` link in `/run`.
        Invocation = "inv",
        /// The unit's cgroup (`cgroup.events` or `cgroup.procs`).
        Cgroup = "cg",
        /// A process whose `comm` matches (no systemd).
        Process = "proc",
        None = "none",
    }
}

/// A service as the user named it: `--service NAME` (`user` is `None`) or
/// `--user-service USER:NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceName<'a> {
    pub user: Option<&'a [u8]>,
    pub name: &'a [u8],
}

/// One `--service` (system unit) or `--user-service USER:NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service<'a> {
    /// The user whose manager runs it; `None` for a system unit.
    pub user: Option<&'a [u8]>,
    /// As given on the command line.
    pub name: &'a [u8],
    pub active: Active,
    pub via: Via,
    pub pid: Option<u32>,
    /// Process start, centiseconds since boot (changes when the service restarts), for a
    /// service its unit's invocation link does not settle (no `/proc/PID` is read for one it
    /// does).
    pub start_cs: Option<u64>,
    /// The inode of the unit's `invocation:` link. systemd writes the link anew (a new inode)
    /// each time it starts the unit, so another one is a restart. Not written in the record.
    pub link_ino: Option<u64>,
}

/// The errno a disk's `statvfs` is given when the run's deadline passed first (`ETIMEDOUT`).
pub const TIMED_OUT: i32 = 110;

/// One `--mount`: `statvfs` or its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disk<'a> {
    pub path: &'a [u8],
    pub stat: Result<DiskStat, i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskStat {
    pub size_b: u64,
    /// Available to unprivileged users (`f_bavail`), as `df` shows.
    pub avail_b: u64,
    /// `used / (used + avail)` rounded up, as `df` prints Use%.
    pub used_pct: u8,
    /// Inodes in use, percent; `None` when the filesystem has no inode count.
    pub inodes_used_pct: Option<u8>,
    pub read_only: bool,
}

/// The `memory` check; `None` inside when `/proc/meminfo` could not be read or lacks MemTotal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub stat: Option<MemStat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemStat {
    pub total_kb: u64,
    pub avail_kb: u64,
    /// `avail_kb` is the pre-3.14 estimate, not `MemAvailable`.
    pub avail_estimated: bool,
    pub swap_total_kb: u64,
    pub swap_free_kb: u64,
}
