//! One pass over `/proc/[0-9]*`, shared by every check that looks for a process: the time
//! daemons systemd could not name and the services it cannot vouch for.
//!
//! Each process costs one `openat` + `read` + `close` of its `comm` file, the smallest file
//! that answers "is it one we want?" (the kernel formats `stat`'s 52 fields for every read of
//! it). Only a process whose `comm` matches, or whose pid is wanted, costs more: its `stat` for
//! the state (zombies do not count) and the start time, and an `lstat` of `/proc/PID` for its
//! owner when one is wanted. When several processes match, the oldest is kept: it is the
//! service's main process, its start time changes on a restart.
//!
//! # References
//! - proc(5): `/proc/pid/comm`, `/proc/pid/stat`; [`crate::parse::procfs::parse_stat`]

use core::mem::MaybeUninit;

use rustix::fs::RawDir;
use rustix::io::Errno;

use rustix::fd::AsFd;

use super::fs::{read_at, Root};
use crate::num::parse_u32;
use crate::parse::procfs::{self, COMM_MAX};

/// A process found by the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub pid: u32,
    pub start_cs: u64,
}

/// A process the scan looks for: by name (and owner), or by pid.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    /// Compared with `comm` after both are cut to 15 bytes (the kernel's `TASK_COMM_LEN` - 1).
    pub comm: &'a [u8],
    /// When set, this pid is wanted and `comm` is ignored (pid 0 never matches).
    pub pid: Option<u32>,
    /// Only processes owned by this uid, when set.
    pub uid: Option<u32>,
    pub found: Option<Found>,
}

impl<'a> Want<'a> {
    pub fn new(comm: &'a [u8], uid: Option<u32>) -> Want<'a> {
        Want {
            comm: comm.get(..COMM_MAX).unwrap_or(comm),
            pid: None,
            uid,
            found: None,
        }
    }

    /// Wants the process `pid` (its start time); `by_pid(0)` is a placeholder that never matches.
    pub fn by_pid(pid: u32) -> Want<'static> {
        Want {
            comm: b"",
            pid: Some(pid),
            uid: None,
            found: None,
        }
    }

    /// Whether this want looks for a name (the pid wants alone do not justify a scan).
    pub fn by_name(&self) -> bool {
        self.pid.is_none()
    }
}

/// Scans `/proc` once and fills `found` in each want.
pub fn scan(root: &Root, wants: &mut [Want]) -> Result<(), Errno> {
    let dir = root.open_dir(&[b"proc"])?;
    let mut dirbuf = [MaybeUninit::<u8>::uninit(); 8192];
    let mut entries = RawDir::new(&dir, &mut dirbuf);
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        let Some(pid) = parse_u32(name) else { continue };
        // `PID/comm`, opened relative to the `/proc` descriptor: a shorter path walk for the
        // kernel than the full path below the root.
        let mut comm_buf = [0u8; procfs::COMM_FILE_CAP];
        let Ok(comm) = read_at(dir.as_fd(), &[name, b"/comm"], &mut comm_buf) else {
            continue;
        };
        let comm = procfs::parse_comm(comm);
        let wanted = |want: &Want| match want.pid {
            Some(wanted) => wanted == pid,
            None => comm == want.comm,
        };
        if !wants.iter().any(wanted) {
            continue;
        }
        let mut buf = [0u8; 512];
        let Ok(bytes) = read_at(dir.as_fd(), &[name, b"/stat"], &mut buf) else {
            continue;
        };
        let Some(stat) = procfs::parse_stat(bytes) else {
            continue;
        };
        if stat.state == b'Z' {
            continue;
        }
        let mut owner: Option<Option<u32>> = None;
        for want in wants.iter_mut() {
            if !wanted(want) {
                continue;
            }
            if let Some(uid) = want.uid {
                let got = *owner
                    .get_or_insert_with(|| root.lstat(&[b"proc/", name]).ok().map(|st| st.uid));
                if got != Some(uid) {
                    continue;
                }
            }
            let older = want
                .found
                .is_none_or(|f| (stat.start_cs, pid) < (f.start_cs, f.pid));
            if older {
                want.found = Some(Found {
                    pid,
                    start_cs: stat.start_cs,
                });
            }
        }
    }
    // The directory stays open to the end of this one-shot process (see `fs::read_cstr`).
    core::mem::forget(dir);
    Ok(())
}

/// Start time of one process (`/proc/PID/stat`), for a pid learnt elsewhere (a cgroup).
pub fn start_of(root: &Root, pid: u32) -> Option<u64> {
    let mut digits = [0u8; 20];
    let mut buf = [0u8; 512];
    let bytes = root
        .read(
            &[
                b"proc/",
                crate::num::decimal(u64::from(pid), &mut digits),
                b"/stat",
            ],
            &mut buf,
        )
        .ok()?;
    procfs::parse_stat(bytes).map(|s| s.start_cs)
}
