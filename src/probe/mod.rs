//! The probes: the only I/O on the way in. Each reads one source below the `--root` prefix and
//! fills its part of the [`Record`](crate::record::Record); the bytes go to the pure parsers in
//! [`crate::parse`]. A missing or unreadable source becomes an "unknown" field, never an error
//! that stops the run.

pub mod clock;
pub mod disk;
pub mod fs;
pub mod memory;
pub mod procs;
pub mod sntp;
pub mod services;
pub mod system;
pub mod timesync;
pub mod users;

use fs::Root;

/// `sd_booted()`: systemd is PID 1 iff `/run/systemd/system/` exists (a directory).
/// Without it there is no logind and no unit state in `/run`.
///
/// # References
/// - systemd `src/libsystemd/sd-daemon/sd-daemon.c`, `sd_booted()`
pub fn systemd_booted(root: &Root) -> bool {
    root.lstat(&[b"run/systemd/system"])
        .map(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        })
        .unwrap_or(false)
}
