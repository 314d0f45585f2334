//! Small `/proc` files: `/proc/PID/comm`, `/proc/PID/stat`, `/proc/uptime`, `/proc/loadavg`, `boot_id` and
//! one-line text such as `/proc/sys/kernel/hostname`.
//!
//! `/proc/PID/stat` puts `comm` in parentheses, and `comm` may itself contain spaces and `)`,
//! so the fields after it are found from the *last* `)`. `starttime` (field 22) counts clock
//! ticks since boot; Linux exports it in `USER_HZ`, which is 100 on every architecture the agent
//! targets, so one tick is one centisecond.
//!
//! # References
//! - proc(5): `/proc/pid/stat`, `/proc/uptime`, `/proc/loadavg`,
//!   `/proc/sys/kernel/random/boot_id`
//! - Linux `fs/proc/array.c`, `do_task_stat()`

use crate::num::{fields, parse_hundredths, parse_u64, trim};

/// Longest `comm` the kernel keeps (`TASK_COMM_LEN` - 1).
pub const COMM_MAX: usize = 15;

/// Room for `/proc/PID/comm`: the name and its newline, and one byte more, so that a file
/// longer than a name can be is seen as one (it matches no name).
pub const COMM_FILE_CAP: usize = COMM_MAX + 2;

/// The name in `/proc/PID/comm`: the file less the newline the kernel ends it with (a name may
/// hold any byte but NUL, a newline too: only the last one goes).
pub fn parse_comm(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\n").unwrap_or(bytes)
}

/// The fields of `/proc/PID/stat` the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat<'a> {
    pub comm: &'a [u8],
    /// Process state letter (`R`, `S`, `Z`, ...).
    pub state: u8,
    /// Start time in clock ticks (centiseconds) since boot.
    pub start_cs: u64,
}

/// Parses `/proc/PID/stat`.
pub fn parse_stat(bytes: &[u8]) -> Option<ProcStat<'_>> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let comm = bytes.get(open + 1..close)?;
    let mut rest = fields(bytes.get(close + 1..)?);
    let state = *rest.next()?.first()?;
    // After the state come ppid (4) ... itrealvalue (21); starttime is field 22.
    let start_cs = parse_u64(rest.nth(18)?)?;
    Some(ProcStat {
        comm,
        state,
        start_cs,
    })
}

/// Parses `/proc/uptime` into whole seconds since boot.
pub fn parse_uptime(bytes: &[u8]) -> Option<u64> {
    let first = fields(bytes).next()?;
    parse_hundredths(first).map(|cs| cs / 100)
}

/// Parses `/proc/loadavg` into the 1, 5 and 15 minute averages, in hundredths.
pub fn parse_loadavg(bytes: &[u8]) -> Option<[u64; 3]> {
    let mut parts = fields(bytes);
    let mut load = [0u64; 3];
    for slot in &mut load {
        *slot = parse_hundredths(parts.next()?)?;
    }
    Some(load)
}

/// Parses `boot_id` (`8-4-4-4-12` lowercase hex) into its 32 hex digits without dashes.
pub fn parse_boot_id(bytes: &[u8]) -> Option<[u8; 32]> {
    let text = trim(bytes);
    let mut out = [0u8; 32];
    let mut n = 0;
    for (i, &b) in text.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        if !b.is_ascii_hexdigit() {
            return None;
        }
        *out.get_mut(n)? = b.to_ascii_lowercase();
        n += 1;
    }
    // 32 digits and, at the four places checked above, the dashes: 36 bytes exactly (a 37th
    // found no slot).
    (n == 32).then_some(out)
}

/// Parses a one-line text file (hostname, kernel release): trimmed, non-empty, at most `max`
/// bytes, no control bytes inside (`sethostname` accepts any byte; the encoders escape).
pub fn parse_word(bytes: &[u8], max: usize) -> Option<&[u8]> {
    let text = trim(bytes);
    let clean = text.iter().all(|&b| b >= b' ' && b != 0x7f);
    (!text.is_empty() && text.len() <= max && clean).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_the_file_less_its_last_newline() {
        assert_eq!(parse_comm(b"chronyd\n"), b"chronyd");
        assert_eq!(parse_comm(b"two\nlines\n"), b"two\nlines");
        assert_eq!(parse_comm(b"no-newline"), b"no-newline");
        assert_eq!(parse_comm(b""), b"");
    }

    const STAT: &[u8] = b"1234 (openclaw-node) S 1 1234 1234 0 -1 4194560 1500 0 0 0 12 5 0 0 20 0 3 0 987654 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_plain() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.comm, b"openclaw-node");
        assert_eq!(s.state, b'S');
        assert_eq!(s.start_cs, 987_654);
    }

    #[test]
    fn stat_hostile_comm() {
        let s =
            parse_stat(b"7 (a) b) (c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0\n").unwrap();
        assert_eq!(s.comm, b"a) b) (c");
        assert_eq!(s.state, b'R');
        assert_eq!(s.start_cs, 42);
    }

    #[test]
    fn stat_broken() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"1234 (x"), None);
        assert_eq!(parse_stat(b"1234 (x) S 1 2 3"), None);
        assert_eq!(parse_stat(b") (x"), None);
        assert_eq!(
            parse_stat(b"1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0"),
            None
        );
        assert_eq!(parse_stat(b"\xff(\xfe)\x00"), None);
    }

    #[test]
    fn uptime_and_load() {
        assert_eq!(parse_uptime(b"350735.47 234388.90\n"), Some(350_735));
        assert_eq!(parse_uptime(b"garbage"), None);
        assert_eq!(parse_uptime(b""), None);
        assert_eq!(
            parse_loadavg(b"0.12 0.34 1.56 1/123 4567\n"),
            Some([12, 34, 156])
        );
        assert_eq!(parse_loadavg(b"0.12 0.34"), None);
        assert_eq!(parse_loadavg(b"0.12 -1 0.1"), None);
    }

    #[test]
    fn boot_id() {
        let id = parse_boot_id(b"0b6f3a1c-2d4e-4f5a-8b9c-0d1e2f3a4b5c\n").unwrap();
        assert_eq!(&id, b"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c");
        assert_eq!(parse_boot_id(b"0b6f3a1c-2d4e-4f5a-8b9c-0d1e2f3a4b5"), None);
        assert_eq!(parse_boot_id(b"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c"), None);
        assert_eq!(
            parse_boot_id(b"0b6f3a1c-2d4e-4f5a-8b9c-0d1e2f3a4b5c0000"),
            None
        );
        assert_eq!(parse_boot_id(b"zb6f3a1c-2d4e-4f5a-8b9c-0d1e2f3a4b5c"), None);
        assert_eq!(parse_boot_id(b""), None);
    }

    #[test]
    fn words() {
        assert_eq!(parse_word(b"edge-01\n", 64), Some(&b"edge-01"[..]));
        assert_eq!(parse_word(b"two words\n", 64), Some(&b"two words"[..]));
        assert_eq!(parse_word(b"\n", 64), None);
        assert_eq!(parse_word(b"abcdef", 3), None);
        assert_eq!(parse_word(b"a\x01b", 64), None);
    }
}
