//! The `disk` check: `statvfs` of each `--mount` below the root.
//!
//! Used percent follows `df`: `used / (used + available)` rounded up, where used is
//! `blocks - bfree` and available is `bavail` (what an unprivileged user may still write).
//!
//! # References
//! - statvfs(3); coreutils `src/df.c` (Use% computation)

use super::fs::{relative, Root};
use crate::record::{Disk, DiskStat};

pub use crate::record::TIMED_OUT;

/// `part * 100 / whole` rounded up (as `df`), 0 for an empty whole, capped at 100.
pub fn percent_ceil(part: u64, whole: u64) -> u8 {
    crate::num::percent(part, whole, true) as u8
}

/// Computes the reported figures from raw `statvfs` fields.
pub fn from_statvfs(
    frsize: u64,
    blocks: u64,
    bfree: u64,
    bavail: u64,
    files: u64,
    ffree: u64,
    read_only: bool,
) -> DiskStat {
    let used = blocks.saturating_sub(bfree);
    DiskStat {
        size_b: crate::num::saturating_mul(blocks, frsize),
        avail_b: crate::num::saturating_mul(bavail, frsize),
        used_pct: percent_ceil(used, used.saturating_add(bavail)),
        inodes_used_pct: (files > 0).then(|| percent_ceil(files.saturating_sub(ffree), files)),
        read_only,
    }
}

pub fn probe<'a>(root: &Root, path: &'a [u8]) -> Disk<'a> {
    let stat = root
        .statvfs(&[relative(path)])
        .map_err(|e| e.raw_os_error())
        .map(|v| {
            let frsize = if v.f_frsize > 0 {
                v.f_frsize
            } else {
                v.f_bsize
            };
            let read_only = v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY);
            from_statvfs(
                frsize, v.f_blocks, v.f_bfree, v.f_bavail, v.f_files, v.f_ffree, read_only,
            )
        });
    Disk { path, stat }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_df() {
        // 1000 blocks of 4 KiB, 400 free, 350 available to users: used 600, Use% = 600/950.
        let d = from_statvfs(4096, 1000, 400, 350, 100, 90, false);
        assert_eq!(d.size_b, 4_096_000);
        assert_eq!(d.avail_b, 1_433_600);
        assert_eq!(d.used_pct, 64);
        assert_eq!(d.inodes_used_pct, Some(10));
    }

    #[test]
    fn edge_cases() {
        let d = from_statvfs(4096, 0, 0, 0, 0, 0, true);
        assert_eq!(
            (d.used_pct, d.inodes_used_pct, d.read_only),
            (0, None, true)
        );
        // Absurd values saturate instead of overflowing.
        let d = from_statvfs(u64::MAX, u64::MAX, 0, u64::MAX, u64::MAX, u64::MAX, false);
        assert_eq!(d.size_b, u64::MAX);
        assert!(d.used_pct <= 100);
        assert_eq!(percent_ceil(1, 3), 34);
    }
}
