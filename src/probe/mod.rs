//! The probes: the only I/O on the way in. Each reads one source below the `--root` prefix and
//! fills its part of the [`Record`]; the bytes go to the pure parsers in [`crate::parse`]. A
//! missing or unreadable source becomes an "unknown" field, never an error that stops the run.
//!
//! [`collect`] runs them all from a [`Plan`] (plain values: a root, names, the checks to make);
//! the disks' `statvfs` calls are [`disk_step`]s, which the agent runs in a child under the
//! run's deadline (a dead NFS server never wakes from one).

pub mod clock;
pub mod disk;
pub mod fs;
pub mod memory;
pub mod procs;
pub mod services;
pub mod sntp;
pub mod system;
pub mod timesync;
pub mod users;

use heapless::Vec;

use crate::record::{Check, Checks, Disk, DiskStat, Record, ServiceName, Timesync, MAX_MOUNTS};
use fs::Root;

/// What a run looks at: plain values, from the command line and config file.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// `--root`: every source is read below it.
    pub root: &'a [u8],
    pub checks: Checks,
    pub users: &'a [&'a [u8]],
    pub services: &'a [ServiceName<'a>],
    pub mounts: &'a [&'a [u8]],
    /// `--ntp-server`, asked for at most `ntp_wait_ms`.
    pub ntp_server: Option<&'a [u8]>,
    pub ntp_wait_ms: u64,
}

/// Runs every planned probe but the disks' ([`disk_step`], run under the deadline) and fills
/// the record (in place: a returned `Record` is copied). `hosts_buf` holds `/etc/hosts` when
/// the NTP server is a name found there.
pub fn collect<'a>(plan: &Plan<'a>, rec: &mut Record<'a>, hosts_buf: &mut [u8; fs::HOSTS_CAP]) {
    let root = Root::new(plan.root);
    let runs = |check| plan.checks.contains(check);
    rec.wall_ms = crate::sys::wall_ms();
    rec.host = system::hostname(&root);
    if runs(Check::System) {
        rec.system = Some(system::probe(&root));
    }
    if runs(Check::Clock) {
        let mut c = clock::probe();
        if let Some(server) = plan.ntp_server {
            c.sntp = Some(sntp::measure_named(server, plan.ntp_wait_ms, hosts_buf));
        }
        rec.clock = Some(c);
    }
    let asks_systemd = Checks::EMPTY
        .with(Check::Timesync)
        .with(Check::Linger)
        .with(Check::Service);
    let systemd = plan.checks.any_of(asks_systemd) && systemd_booted(&root);
    let users = if runs(Check::Linger) || runs(Check::Service) {
        users::of(&root, systemd, plan.users, plan.services)
    } else {
        Vec::new()
    };
    let wanted = if runs(Check::Service) {
        plan.services
    } else {
        &[]
    };
    let found = services::resolve(&root, systemd, runs(Check::Timesync), wanted, &users);
    if let Some(daemon) = found.daemon {
        rec.timesync = Some(Timesync {
            daemon,
            sync_file: timesync::sync_file(&root, systemd),
        });
    }
    if runs(Check::Linger) {
        rec.users = Some(users);
    }
    if runs(Check::Service) {
        rec.services = Some(found.services);
    }
    if runs(Check::Memory) {
        rec.memory = Some(memory::probe(&root));
    }
}

/// The `statvfs` of mount `i` of the plan: one step of the deadline child.
pub fn disk_step(plan: &Plan, i: usize) -> Result<DiskStat, i32> {
    let mount = plan.mounts.get(i).copied().unwrap_or(b"/");
    disk::probe(&Root::new(plan.root), mount).stat
}

/// The disk check's part of the record: each mount's result as `stat(i)` gives it (`None`: not
/// published before the deadline, `timeout`).
pub fn disks<'a>(
    plan: &Plan<'a>,
    stat: impl Fn(usize) -> Option<Result<DiskStat, i32>>,
) -> Vec<Disk<'a>, MAX_MOUNTS> {
    let mut disks = Vec::new();
    for (i, path) in plan.mounts.iter().enumerate() {
        let stat = stat(i).unwrap_or(Err(crate::record::TIMED_OUT));
        let _ = disks.push(Disk { path, stat });
    }
    disks
}

/// `sd_booted()`: systemd is PID 1 iff `/run/systemd/system/` exists (a directory).
/// Without it there is no logind and no unit state in `/run`.
///
/// # References
/// - systemd `src/libsystemd/sd-daemon/sd-daemon.c`, `sd_booted()`
pub fn systemd_booted(root: &Root) -> bool {
    root.lstat(&[b"run/systemd/system"])
        .map(|st| rustix::fs::FileType::from_raw_mode(st.mode) == rustix::fs::FileType::Directory)
        .unwrap_or(false)
}
