//! The `timesync` check: which time daemon runs and when systemd-timesyncd last accepted a
//! sample (`/run/systemd/timesync/synchronized`).
//!
//! On a systemd node the daemon comes from its unit's `invocation:UNIT` link in
//! `/run/systemd/units/` (present while the unit is activating, active or deactivating; see
//! [`super::services`]): no process is looked at. Only when no known unit has one (no systemd,
//! a systemd older than 236, a daemon started some other way) does the shared `/proc` pass
//! look for the daemons' `comm`.
//!
//! timesyncd touches that empty file after each accepted sample, so its mtime is the last
//! sync; the directory goes away when timesyncd stops. BusyBox `ntpd` and ntp.org `ntpd` both
//! have `comm` "ntpd": the link `/proc/PID/exe` tells them apart when it can be read (root, or
//! the same user); a target named `busybox*` is BusyBox.
//!
//! # References
//! - systemd `src/timesync/timesyncd-manager.c`, `manager_adjust_clock()`; systemd-timesyncd(8)
//! - BusyBox `networking/ntpd.c`

use super::fs::Root;
use super::procs::Want;
use crate::record::{Daemon, SyncFile};

/// The `comm` of each daemon, in the order they are preferred when several run.
pub const DAEMONS: [(&[u8], Daemon); 3] = [
    (b"chronyd", Daemon::Chronyd),
    (b"ntpd", Daemon::Ntpd),
    (b"systemd-timesyn", Daemon::Timesyncd),
];

/// The services (`NAME.service`) of the known time daemons, in the order of [`DAEMONS`]: Debian's and Fedora's
/// chrony, ntp.org's ntpd, NTPsec, OpenNTPD, systemd's own.
const UNITS: [(&[u8], Daemon); 6] = [
    (b"chrony", Daemon::Chronyd),
    (b"chronyd", Daemon::Chronyd),
    (b"ntp", Daemon::Ntpd),
    (b"ntpsec", Daemon::Ntpd),
    (b"openntpd", Daemon::Ntpd),
    (b"systemd-timesyncd", Daemon::Timesyncd),
];

/// On a systemd node: the daemon whose unit has an invocation link, `None` when no known unit
/// has one (the `/proc` pass then looks).
pub fn daemon_of_units(root: &Root) -> Option<Daemon> {
    UNITS
        .iter()
        .find(|(unit, _)| {
            root.lstat(&[b"run/systemd/units/invocation:", unit, b".service"])
                .is_ok()
        })
        .map(|&(_, daemon)| daemon)
}

/// The wants this probe adds to the shared process scan, in `DAEMONS` order.
pub fn wants() -> impl Iterator<Item = Want<'static>> {
    DAEMONS.iter().map(|&(comm, _)| Want::new(comm, None))
}

/// Picks the daemon from the scan's results: `wants` are the ones [`wants`] gave, after the
/// scan (in `DAEMONS` order).
pub fn daemon(root: &Root, wants: &[Want]) -> Daemon {
    for ((_, daemon), want) in DAEMONS.iter().zip(wants) {
        let Some(process) = want.found else { continue };
        if *daemon == Daemon::Ntpd && is_busybox(root, process.pid) {
            return Daemon::BusyboxNtpd;
        }
        return *daemon;
    }
    Daemon::None
}

fn is_busybox(root: &Root, pid: u32) -> bool {
    let mut digits = [0u8; 20];
    let mut target = [0u8; 256];
    let Ok(target) = root.readlink(
        &[
            b"proc/",
            crate::num::decimal(u64::from(pid), &mut digits),
            b"/exe",
        ],
        &mut target,
    ) else {
        return false;
    };
    let file = target.rsplit(|&b| b == b'/').next().unwrap_or(target);
    file.starts_with(b"busybox")
}

/// The state of timesyncd's `synchronized` file.
pub fn sync_file(root: &Root, systemd: bool) -> SyncFile {
    if !systemd {
        return SyncFile::NotApplicable;
    }
    match root.lstat(&[b"run/systemd/timesync/synchronized"]) {
        Ok(st) => SyncFile::Present {
            mtime_s: st.mtime_s,
        },
        Err(rustix::io::Errno::NOENT) => SyncFile::Missing,
        Err(_) => SyncFile::Unknown,
    }
}
