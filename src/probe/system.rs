//! The `system` check and the hostname: `/proc/sys/kernel/hostname`, `.../osrelease`,
//! `/proc/uptime`, `/proc/loadavg`, `/proc/sys/kernel/random/boot_id`, and the wall clock.
//!
//! Reading the files (not `uname`/`sysinfo`) keeps every value below `--root`, so fixtures
//! decide them in tests. The wall clock is [`crate::sys::wall_ms`].

use super::fs::Root;
use crate::parse::procfs;
use crate::record::{System, Word, WORD_MAX};

fn word(root: &Root, path: &[u8]) -> Option<Word> {
    let mut buf = [0u8; 256];
    let text = procfs::parse_word(root.read(&[path], &mut buf).ok()?, WORD_MAX)?;
    Word::from_slice(text).ok()
}

/// The node's hostname.
pub fn hostname(root: &Root) -> Option<Word> {
    word(root, b"proc/sys/kernel/hostname")
}

#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn probe(root: &Root) -> System {
    let mut buf = [0u8; 256];
    // Filled where it is returned from, field by field, not assembled from copies at the end.
    let mut system = System {
        kernel: word(root, b"proc/sys/kernel/osrelease"),
        ..System::default()
    };
    system.uptime_s = root
        .read(&[b"proc/uptime"], &mut buf)
        .ok()
        .and_then(procfs::parse_uptime);
    system.load = root
        .read(&[b"proc/loadavg"], &mut buf)
        .ok()
        .and_then(procfs::parse_loadavg);
    system.boot_id = root
        .read(&[b"proc/sys/kernel/random/boot_id"], &mut buf)
        .ok()
        .and_then(procfs::parse_boot_id);
    system
}
