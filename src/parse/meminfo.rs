//! `/proc/meminfo`: total, available, free and swap memory, in KiB as the kernel prints them.
//!
//! Lines look like `MemAvailable:    1234 kB`. Unknown keys are ignored, a malformed line is
//! skipped, a missing key stays `None`. `MemAvailable` exists since Linux 3.14; older kernels
//! get an estimate (`MemFree + Buffers + Cached`, what `free` printed before 3.14).
//!
//! # References
//! - proc(5), `/proc/meminfo`
//! - Linux `fs/proc/meminfo.c`, `meminfo_proc_show()`

use crate::num::{fields, lines, parse_u64};

/// The fields of `/proc/meminfo` the agent reports, in KiB.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    pub total_kb: Option<u64>,
    pub available_kb: Option<u64>,
    pub free_kb: Option<u64>,
    pub buffers_kb: Option<u64>,
    pub cached_kb: Option<u64>,
    pub swap_total_kb: Option<u64>,
    pub swap_free_kb: Option<u64>,
}

impl MemInfo {
    /// `MemAvailable`, or the pre-3.14 estimate when the kernel does not print it.
    /// The flag says whether the value is the estimate.
    pub fn available_or_estimate(&self) -> Option<(u64, bool)> {
        if let Some(kb) = self.available_kb {
            return Some((kb, false));
        }
        let estimate = self
            .free_kb?
            .checked_add(self.buffers_kb.unwrap_or(0))?
            .checked_add(self.cached_kb.unwrap_or(0))?;
        Some((estimate, true))
    }
}

crate::words! {
    /// The keys read, as the kernel prints them.
    enum Key {
        Total = "MemTotal:",
        Available = "MemAvailable:",
        Free = "MemFree:",
        Buffers = "Buffers:",
        Cached = "Cached:",
        SwapTotal = "SwapTotal:",
        SwapFree = "SwapFree:",
    }
}

/// Parses the contents of `/proc/meminfo`.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
pub fn parse(bytes: &[u8]) -> MemInfo {
    let mut info = MemInfo::default();
    for line in lines(bytes) {
        let mut parts = fields(line);
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Some(key) = Key::from_word(key) else {
            continue;
        };
        let slot = match key {
            Key::Total => &mut info.total_kb,
            Key::Available => &mut info.available_kb,
            Key::Free => &mut info.free_kb,
            Key::Buffers => &mut info.buffers_kb,
            Key::Cached => &mut info.cached_kb,
            Key::SwapTotal => &mut info.swap_total_kb,
            Key::SwapFree => &mut info.swap_free_kb,
        };
        // The first occurrence wins; a value that is not a number leaves the field unknown.
        if slot.is_none() {
            *slot = parse_u64(value);
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux 6.1 (Debian 12), abridged to the lines around the keys we read.
    const LINUX_6_1: &[u8] = b"MemTotal:       24558524 kB\nMemFree:        21432108 kB\nMemAvailable:   23516940 kB\nBuffers:           61600 kB\nCached:          2148324 kB\nSwapCached:            0 kB\nActive:           703340 kB\nSwapTotal:       1048572 kB\nSwapFree:        1048000 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n";
    /// Linux 3.2 (no MemAvailable).
    const LINUX_3_2: &[u8] = b"MemTotal:         509788 kB\nMemFree:          120244 kB\nBuffers:           31200 kB\nCached:           200100 kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
    /// Linux 4.19 on a 512 MiB ARM board.
    const LINUX_4_19_ARM: &[u8] = b"MemTotal:         493316 kB\nMemFree:           28880 kB\nMemAvailable:     301212 kB\nBuffers:           20588 kB\nCached:           270032 kB\nSwapCached:          100 kB\nActive:           185160 kB\nInactive:         205116 kB\nSwapTotal:        102396 kB\nSwapFree:          98044 kB\nCmaTotal:           8192 kB\n";

    #[test]
    fn linux_6_1() {
        let m = parse(LINUX_6_1);
        assert_eq!(m.total_kb, Some(24_558_524));
        assert_eq!(m.available_or_estimate(), Some((23_516_940, false)));
        assert_eq!(m.swap_total_kb, Some(1_048_572));
        assert_eq!(m.swap_free_kb, Some(1_048_000));
    }

    #[test]
    fn linux_3_2_estimates_available() {
        let m = parse(LINUX_3_2);
        assert_eq!(m.available_kb, None);
        assert_eq!(
            m.available_or_estimate(),
            Some((120_244 + 31_200 + 200_100, true))
        );
        assert_eq!(m.swap_total_kb, Some(0));
    }

    #[test]
    fn linux_4_19_arm() {
        let m = parse(LINUX_4_19_ARM);
        assert_eq!(m.total_kb, Some(493_316));
        assert_eq!(m.available_kb, Some(301_212));
        assert_eq!(m.swap_free_kb, Some(98_044));
    }

    #[test]
    fn empty_truncated_garbage() {
        assert_eq!(parse(b""), MemInfo::default());
        // Truncated in the middle of a line: the number before the cut is still a number.
        let m = parse(b"MemTotal:       2455");
        assert_eq!(m.total_kb, Some(2455));
        let m = parse(b"MemTotal:\nMemAvailable: lots kB\n\xff\xfe\x00garbage\n");
        assert_eq!(m, MemInfo::default());
        // Overflowing numbers are unknown, not wrapped.
        let m = parse(b"MemTotal: 99999999999999999999999 kB\n");
        assert_eq!(m.total_kb, None);
    }

    #[test]
    fn duplicate_key_first_wins() {
        let m = parse(b"MemTotal: 10 kB\nMemTotal: 20 kB\n");
        assert_eq!(m.total_kb, Some(10));
    }
}
