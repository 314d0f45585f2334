//! A unit's cgroup files: `cgroup.events` (`populated 0|1`, cgroup v2) and `cgroup.procs`
//! (one pid per line, v1 and v2).
//!
//! `populated 1` means the cgroup or one of its descendants holds a live process.
//!
//! # References
//! - Linux `Documentation/admin-guide/cgroup-v2.rst`, "populated" in `cgroup.events`
//! - systemd `src/core/cgroup.c`, `unit_check_cgroup_events()`

use crate::num::{fields, lines, parse_u32};

/// Parses `cgroup.events`; `None` when the `populated` line is missing or not 0/1.
pub fn parse_populated(bytes: &[u8]) -> Option<bool> {
    lines(bytes).find_map(|line| {
        let mut parts = fields(line);
        if parts.next()? != b"populated" {
            return None;
        }
        match parts.next()? {
            b"1" => Some(true),
            b"0" => Some(false),
            _ => None,
        }
    })
}

/// The first pid listed in `cgroup.procs`, `None` when the file lists none.
pub fn first_pid(bytes: &[u8]) -> Option<u32> {
    lines(bytes).find_map(|line| parse_u32(crate::num::trim(line)).filter(|&pid| pid > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        assert_eq!(parse_populated(b"populated 1\nfrozen 0\n"), Some(true));
        assert_eq!(parse_populated(b"frozen 0\npopulated 0\n"), Some(false));
        assert_eq!(parse_populated(b"populated 2\n"), None);
        assert_eq!(parse_populated(b""), None);
        assert_eq!(parse_populated(b"popul"), None);
    }

    #[test]
    fn procs() {
        assert_eq!(first_pid(b"812\n813\n"), Some(812));
        assert_eq!(first_pid(b""), None);
        assert_eq!(first_pid(b"x\n0\n9\n"), Some(9));
    }
}
