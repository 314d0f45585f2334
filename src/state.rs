//! Memory across runs: the state file (`--state`, default `/var/lib/nodepulse/state`) and what a
//! run learns by comparing itself with the previous one.
//!
//! A single snapshot cannot say "the service was killed at 04:00 and came back"; this module can.
//! The file is [`LEN`] bytes, little-endian, replaced atomically by the agent after each run:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `nps` 0x01 |
//! | 4 | 4 | FNV-1a of the hostname (a file copied from another node is *foreign*) |
//! | 8 | 8 | sequence number of the run that wrote it |
//! | 16 | 8 | its wall clock, ms since the epoch |
//! | 24 | 32 | its `boot_id` (hex digits; zeros when unknown) |
//! | 56 | 8 | when the clock check was first seen not OK (0: it was OK) |
//! | 64 | 4 | number of services that follow (at most 8) |
//! | 68 | 8 × 24 | each service: FNV-1a of `USER:NAME` (4), main pid (4), its start in 1/100 s after boot (8), when it was first seen down (8; 0: up) |
//! | 260 | 4 | FNV-1a of bytes 0..260 (a damaged file is *corrupt*) |
//!
//! Parsing, encoding and [`advance`] are pure functions; [`remember`] reads the file (through
//! the probes' file layer) and replaces it (through the file sink).

use heapless::Vec;

use crate::record::MAX_SERVICES;

/// Size of the state file: always exactly this many bytes.
pub const LEN: usize = 264;
const MAGIC: [u8; 4] = *b"nps\x01";
const SERVICES_AT: usize = 68;
const SERVICE_LEN: usize = 24;
const SUM_AT: usize = SERVICES_AT + MAX_SERVICES * SERVICE_LEN;

/// FNV-1a, 32 bits: names in the state file stay short whatever their length.
pub fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// One service as the previous run saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SavedService {
    /// [`fnv1a`] of `USER:NAME` (`:NAME` for a system unit).
    pub key: u32,
    /// Main pid and [`ServiceNow::start`]; 0 when not known.
    pub pid: u32,
    pub start: u64,
    /// When the service was first seen down (ms since the epoch); 0 when it is up.
    pub down_since_ms: u64,
}

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Saved {
    pub host: u32,
    pub seq: u64,
    pub t_ms: u64,
    /// 32 hex digits, or all zero when unknown.
    pub boot: [u8; 32],
    /// When the clock check was first seen not OK; 0 when it is OK.
    pub clock_bad_since_ms: u64,
    pub services: Vec<SavedService, MAX_SERVICES>,
}

crate::words! {
    /// Why the previous run's state could not be used (`prev=` in the record).
    pub enum Problem {
        /// No state file (first run, or state kept nowhere before).
        New = "new",
        /// Not a state file of ours, or a damaged one.
        Corrupt = "corrupt",
        /// A state file of another host (an image copied between nodes).
        Foreign = "foreign",
    }
}

/// The `N` bytes at `at` (zeros past the end: [`parse`] checks the length).
fn bytes_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// The little-endian 4-byte field at `at`, as the `u32` it is (no 64-bit work on a 32-bit CPU).
fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes_at(bytes, at))
}

/// The little-endian 8-byte field at `at`.
fn le64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes_at(bytes, at))
}

/// Parses a state file written for the host whose hostname hashes to `host`.
// Out of line on 64-bit CPUs, inlined into `remember` on 32-bit ones: each measured smaller
// (on x86_64 and i686).
#[cfg_attr(target_pointer_width = "64", inline(never))]
pub fn parse(bytes: &[u8], host: u32) -> Result<Saved, Problem> {
    let body = bytes
        .get(..SUM_AT)
        .filter(|_| bytes.len() == LEN)
        .ok_or(Problem::Corrupt)?;
    if !body.starts_with(&MAGIC) || le32(bytes, SUM_AT) != fnv1a(&[body]) {
        return Err(Problem::Corrupt);
    }
    if le32(bytes, 4) != host {
        return Err(Problem::Foreign);
    }
    let mut saved = Saved {
        host,
        seq: le64(bytes, 8),
        t_ms: le64(bytes, 16),
        boot: bytes_at(bytes, 24),
        clock_bad_since_ms: le64(bytes, 56),
        services: Vec::new(),
    };
    let count = le32(bytes, 64);
    if count > MAX_SERVICES as u32 {
        return Err(Problem::Corrupt);
    }
    for i in 0..count as usize {
        let at = SERVICES_AT + i * SERVICE_LEN;
        let _ = saved.services.push(SavedService {
            key: le32(bytes, at),
            pid: le32(bytes, at + 4),
            start: le64(bytes, at + 8),
            down_since_ms: le64(bytes, at + 16),
        });
    }
    Ok(saved)
}

/// Encodes `saved` as the file's [`LEN`] bytes.
pub fn encode(saved: &Saved, buf: &mut [u8; LEN]) {
    fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
        if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
    buf.fill(0);
    put(buf, 0, &MAGIC);
    put(buf, 4, &saved.host.to_le_bytes());
    put(buf, 8, &saved.seq.to_le_bytes());
    put(buf, 16, &saved.t_ms.to_le_bytes());
    put(buf, 24, &saved.boot);
    put(buf, 56, &saved.clock_bad_since_ms.to_le_bytes());
    put(buf, 64, &(saved.services.len() as u32).to_le_bytes());
    for (i, s) in saved.services.iter().enumerate() {
        let at = SERVICES_AT + i * SERVICE_LEN;
        put(buf, at, &s.key.to_le_bytes());
        put(buf, at + 4, &s.pid.to_le_bytes());
        put(buf, at + 8, &s.start.to_le_bytes());
        put(buf, at + 16, &s.down_since_ms.to_le_bytes());
    }
    let sum = fnv1a(&[buf.get(..SUM_AT).unwrap_or(&[])]);
    put(buf, SUM_AT, &sum.to_le_bytes());
}

/// One service now, as the comparison needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceNow {
    pub key: u32,
    /// `Some(true)` running, `Some(false)` not, `None` unknown.
    pub up: Option<bool>,
    pub pid: Option<u32>,
    /// What tells this start of the service from another: the inode of its unit's invocation
    /// link when systemd has one, else its process's start time.
    pub start: Option<u64>,
}

/// What this run learned from the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceHistory {
    /// Running now under another pid or start time than at the previous run.
    pub restarted: bool,
    /// Not running now; since when (ms since the epoch; this run's time when it just went down).
    pub down_since_ms: Option<u64>,
}

/// The run's memory: the record fields it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// This run's sequence number (1 after a missing or unusable state file).
    pub seq: u64,
    /// The previous run's state, or why there is none.
    pub prev: Result<Prev, Problem>,
    /// The clock check is not OK; since when (ms since the epoch).
    pub clock_bad_since_ms: Option<u64>,
    pub services: [ServiceHistory; MAX_SERVICES],
    /// The state file could not be saved: the step and the errno.
    pub save_error: Option<crate::sink::SinkError>,
}

impl History {
    /// The errno of a failed save (`save_errno=`; 0 when the step had none).
    pub fn save_errno(&self) -> Option<i32> {
        self.save_error
            .map(|e| e.errno.map_or(0, |e| e.raw_os_error()))
    }
}

/// The previous run, seen from this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prev {
    /// Time since the previous run (a cron that stopped firing shows here).
    pub gap_ms: u64,
    /// `boot_id` changed: the node rebooted in between.
    pub rebooted: bool,
}

/// Compares this run (`now_ms`, `boot`, clock OK or not, services) with the previous state and
/// returns what it learned and the state to save.
pub fn advance(
    prev: Result<&Saved, Problem>,
    host: u32,
    now_ms: u64,
    boot: Option<&[u8; 32]>,
    clock_ok: Option<bool>,
    services: impl IntoIterator<Item = ServiceNow>,
) -> (History, Saved) {
    let rebooted = match (prev, boot) {
        // A boot id was saved (not all zero), and it is not this one.
        (Ok(p), Some(b)) => p.boot.iter().any(|&d| d != 0) && p.boot != *b,
        _ => false,
    };
    // After a reboot, pids and start times are of another boot: compare nothing but time.
    let same_boot = prev.ok().filter(|_| !rebooted);
    let clock_bad_since_ms = match clock_ok {
        Some(false) => Some(
            same_boot
                .map(|p| p.clock_bad_since_ms)
                .filter(|&t| t != 0)
                .unwrap_or(now_ms),
        ),
        _ => None,
    };
    let mut history = History {
        seq: prev.map_or(1, |p| p.seq.saturating_add(1)),
        prev: prev.map(|p| Prev {
            gap_ms: now_ms.saturating_sub(p.t_ms),
            rebooted,
        }),
        clock_bad_since_ms,
        services: [ServiceHistory {
            restarted: false,
            down_since_ms: None,
        }; MAX_SERVICES],
        save_error: None,
    };
    let mut next = Saved {
        host,
        seq: history.seq,
        t_ms: now_ms,
        boot: *boot.unwrap_or(&[0; 32]),
        clock_bad_since_ms: clock_bad_since_ms.unwrap_or(0),
        services: Vec::new(),
    };
    for (s, h) in services.into_iter().zip(history.services.iter_mut()) {
        let before = prev
            .ok()
            .and_then(|p| p.services.iter().find(|o| o.key == s.key));
        let (pid, start) = (s.pid.unwrap_or(0), s.start.unwrap_or(0));
        match s.up {
            Some(true) => {
                h.restarted = match before {
                    // Up now and at the previous run, in this boot, as another process; or
                    // down at the previous run (it came back).
                    Some(b) if same_boot.is_some() => {
                        b.down_since_ms != 0 || ((b.pid, b.start) != (pid, start) && pid != 0)
                    }
                    _ => false,
                };
            }
            Some(false) => {
                let since = before
                    .filter(|_| same_boot.is_some())
                    .map(|b| b.down_since_ms)
                    .filter(|&t| t != 0);
                h.down_since_ms = Some(since.unwrap_or(now_ms));
            }
            None => h.down_since_ms = before.map(|b| b.down_since_ms).filter(|&t| t != 0),
        }
        let saved = SavedService {
            key: s.key,
            pid,
            start,
            down_since_ms: h.down_since_ms.unwrap_or(0),
        };
        let _ = next.services.push(saved);
    }
    (history, next)
}

/// Memory across runs (`--state PATH`): compares this run with the state file, returns what it
/// learned and saves the new state. A missing, corrupt or foreign file is reported in the
/// history (`prev=`) and replaced; a failed save too (`save_errno=`). Neither stops the run.
/// The first run on a node creates the file's directory (one level, 0755).
// Out of line on 64-bit CPUs, inlined into the run on 32-bit ones: each measured smaller (on
// x86_64 and i686).
#[cfg_attr(target_pointer_width = "64", inline(never))]
pub fn remember(path: &[u8], rec: &crate::record::Record, clock_ok: Option<bool>) -> History {
    use crate::record::Active;
    let host = fnv1a(&[rec.host.as_deref().unwrap_or(b"")]);
    let mut buf = [0u8; LEN + 1];
    let saved = match crate::probe::fs::read_path(path, &mut buf) {
        Ok(bytes) => parse(bytes, host),
        Err(rustix::io::Errno::NOENT) => Err(Problem::New),
        Err(_) => Err(Problem::Corrupt),
    };
    let now = rec.services().iter().map(|s| ServiceNow {
        key: fnv1a(&[s.user.unwrap_or(b""), b":", s.name]),
        up: match s.active {
            Active::Yes => Some(true),
            Active::No => Some(false),
            Active::Unknown => None,
        },
        pid: s.pid,
        start: s.link_ino.or(s.start_cs),
    });
    let boot = rec.system.as_ref().and_then(|s| s.boot_id.as_ref());
    let (mut history, next) = advance(
        saved.as_ref().map_err(|p| *p),
        host,
        rec.wall_ms,
        boot,
        clock_ok,
        now,
    );
    let mut out = [0u8; LEN];
    encode(&next, &mut out);
    let mut written = crate::sink::file::replace_with(path, &out, false);
    if written.is_err() {
        // First run on this node: create the directory, then retry.
        let dir = path
            .iter()
            .rposition(|&b| b == b'/')
            .and_then(|i| path.get(..i));
        if crate::sink::file::mkdir(dir.unwrap_or(b"")).is_ok() {
            written = crate::sink::file::replace_with(path, &out, false);
        }
    }
    history.save_error = written.err();
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT_A: [u8; 32] = *b"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c";
    const BOOT_B: [u8; 32] = *b"ffff3a1c2d4e4f5a8b9c0d1e2f3a4b5c";

    fn svc(up: Option<bool>, pid: u32, start: u64) -> ServiceNow {
        ServiceNow {
            key: fnv1a(&[b"node", b":", b"openclaw-node"]),
            up,
            pid: Some(pid).filter(|&p| p != 0),
            start: Some(start),
        }
    }

    fn round_trip(saved: &Saved) -> Saved {
        let mut buf = [0u8; LEN];
        encode(saved, &mut buf);
        parse(&buf, saved.host).unwrap()
    }

    #[test]
    fn fnv1a_is_the_reference_function() {
        // Test vectors of the FNV reference implementation.
        assert_eq!(fnv1a(&[]), 0x811c9dc5);
        assert_eq!(fnv1a(&[b"a"]), 0xe40c292c);
        assert_eq!(fnv1a(&[b"foo", b"bar"]), fnv1a(&[b"foobar"]));
        assert_eq!(fnv1a(&[b"foobar"]), 0xbf9cf968);
    }

    #[test]
    fn encodes_to_a_fixed_size_and_parses_back() {
        let (_, full) = advance(
            Err(Problem::New),
            7,
            1000,
            Some(&BOOT_A),
            Some(false),
            [svc(Some(true), 812, 98765); MAX_SERVICES],
        );
        assert_eq!(full.services.len(), MAX_SERVICES);
        assert_eq!(round_trip(&full), full);
        let (_, empty) = advance(Err(Problem::New), u32::MAX, u64::MAX, None, None, []);
        assert_eq!(round_trip(&empty), empty);
        let mut buf = [0u8; LEN];
        encode(&full, &mut buf);
        assert_eq!(&buf[..12], b"nps\x01\x07\0\0\0\x01\0\0\0");
        // The biggest state (8 services, every number at its maximum) fits.
        let mut max = full.clone();
        for s in max.services.iter_mut() {
            *s = SavedService {
                key: u32::MAX,
                pid: u32::MAX,
                start: u64::MAX,
                down_since_ms: u64::MAX,
            };
        }
        // Every service in its own slot.
        let mut distinct = full.clone();
        for (i, s) in distinct.services.iter_mut().enumerate() {
            let i = i as u32 + 1;
            *s = SavedService {
                key: i,
                pid: 100 * i,
                start: u64::from(i) << 40,
                down_since_ms: u64::from(i),
            };
        }
        assert_eq!(round_trip(&distinct), distinct);
        (max.seq, max.t_ms, max.clock_bad_since_ms) = (u64::MAX, u64::MAX, u64::MAX);
        assert_eq!(round_trip(&max), max);
    }

    #[test]
    fn damaged_foreign_and_missing_files() {
        let (_, saved) = advance(
            Err(Problem::New),
            7,
            1000,
            Some(&BOOT_A),
            Some(true),
            [svc(Some(true), 812, 98765)],
        );
        let mut buf = [0u8; LEN];
        encode(&saved, &mut buf);
        assert_eq!(parse(&buf, 8), Err(Problem::Foreign));
        assert_eq!(
            parse(&buf[..LEN - 1], 7),
            Err(Problem::Corrupt),
            "truncated"
        );
        assert_eq!(parse(b"", 7), Err(Problem::Corrupt));
        assert_eq!(parse(&[0xff; LEN], 7), Err(Problem::Corrupt));
        let mut bad = buf;
        bad[12] ^= 1; // in seq: the checksum catches it
        assert_eq!(parse(&bad, 7), Err(Problem::Corrupt));
        let mut too_many = buf;
        too_many[64] = 9;
        let sum = fnv1a(&[&too_many[..SUM_AT]]);
        too_many[SUM_AT..].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(parse(&too_many, 7), Err(Problem::Corrupt));
        let mut longer = buf.to_vec();
        longer.push(0);
        assert_eq!(parse(&longer, 7), Err(Problem::Corrupt));
        // Every prefix and single-byte change of a valid file is rejected or parsed, never a panic.
        for i in 0..LEN {
            let _ = parse(&buf[..i], 7);
            let mut flipped = buf;
            flipped[i] ^= 0x55;
            let _ = parse(&flipped, 7);
        }
    }

    #[test]
    fn sequence_gap_reboot() {
        let (h1, s1) = advance(Err(Problem::New), 7, 60_000, Some(&BOOT_A), Some(true), []);
        assert_eq!((h1.seq, h1.prev), (1, Err(Problem::New)));
        let (h2, s2) = advance(Ok(&s1), 7, 121_000, Some(&BOOT_A), Some(true), []);
        assert_eq!(
            (h2.seq, h2.prev),
            (
                2,
                Ok(Prev {
                    gap_ms: 61_000,
                    rebooted: false
                })
            )
        );
        let (h3, _) = advance(Ok(&s2), 7, 181_000, Some(&BOOT_B), Some(true), []);
        assert_eq!(
            (h3.seq, h3.prev),
            (
                3,
                Ok(Prev {
                    gap_ms: 60_000,
                    rebooted: true
                })
            )
        );
        let (h4, _) = advance(
            Err(Problem::Corrupt),
            7,
            181_000,
            Some(&BOOT_B),
            Some(true),
            [],
        );
        assert_eq!((h4.seq, h4.prev), (1, Err(Problem::Corrupt)));
    }

    #[test]
    fn service_restarted_killed_and_back() {
        let t = |m: u64| m * 60_000;
        let (h, s) = advance(
            Err(Problem::New),
            7,
            t(1),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(true), 812, 100)],
        );
        assert_eq!(
            h.services[0],
            ServiceHistory {
                restarted: false,
                down_since_ms: None
            }
        );
        // Same process: nothing happened.
        let (h, s) = advance(
            Ok(&s),
            7,
            t(2),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(true), 812, 100)],
        );
        assert!(!h.services[0].restarted);
        // Another process: restarted between the runs.
        let (h, s) = advance(
            Ok(&s),
            7,
            t(3),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(true), 900, 5000)],
        );
        assert!(h.services[0].restarted);
        // Killed (at logout): down since this run, and still since then at the next one.
        let (h, s) = advance(
            Ok(&s),
            7,
            t(4),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(false), 0, 0)],
        );
        assert_eq!(h.services[0].down_since_ms, Some(t(4)));
        let (h, s) = advance(
            Ok(&s),
            7,
            t(5),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(false), 0, 0)],
        );
        assert_eq!(h.services[0].down_since_ms, Some(t(4)));
        let (unknown, _) = advance(
            Ok(&s),
            7,
            t(5),
            Some(&BOOT_A),
            Some(true),
            [svc(None, 0, 0)],
        );
        assert_eq!(
            unknown.services[0].down_since_ms,
            Some(t(4)),
            "still down since then, as far as is known"
        );
        // Back: restarted, no longer down.
        let (h, s) = advance(
            Ok(&s),
            7,
            t(6),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(true), 950, 9000)],
        );
        assert_eq!(
            h.services[0],
            ServiceHistory {
                restarted: true,
                down_since_ms: None
            }
        );
        // Unknown now (unreadable): a service that was up is not said to be down, one that was
        // down keeps its time.
        let (h, _) = advance(
            Ok(&s),
            7,
            t(6),
            Some(&BOOT_A),
            Some(true),
            [svc(None, 0, 0)],
        );
        assert_eq!(h.services[0].down_since_ms, None);
        // Running with its pid unknown now (unreadable): no evidence of a restart.
        let (h, _) = advance(
            Ok(&s),
            7,
            t(6),
            Some(&BOOT_A),
            Some(true),
            [svc(Some(true), 0, 9000)],
        );
        assert!(!h.services[0].restarted);
        // After a reboot every pid is new: not a restart.
        let (h, _) = advance(
            Ok(&s),
            7,
            t(7),
            Some(&BOOT_B),
            Some(true),
            [svc(Some(true), 600, 700)],
        );
        assert_eq!(
            h.services[0],
            ServiceHistory {
                restarted: false,
                down_since_ms: None
            }
        );
    }

    /// The file itself: created with its directory on the first run, read back by the next,
    /// and a file one byte longer than a state file is corrupt (the read asks for one more byte).
    #[test]
    fn remember_saves_and_reads_the_file() {
        let dir = std::env::temp_dir().join(format!("nodepulse-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state");
        let path_bytes = path.to_str().unwrap().as_bytes();
        let rec = crate::record::Record {
            wall_ms: 60_000,
            ..Default::default()
        };
        let first = remember(path_bytes, &rec, Some(true));
        assert_eq!(
            (first.seq, first.prev, first.save_error),
            (1, Err(Problem::New), None)
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            LEN as u64,
            "created, directory and all"
        );
        let rec = crate::record::Record {
            wall_ms: 120_000,
            ..Default::default()
        };
        let second = remember(path_bytes, &rec, Some(true));
        assert_eq!(
            (second.seq, second.prev),
            (
                2,
                Ok(Prev {
                    gap_ms: 60_000,
                    rebooted: false
                })
            )
        );
        let mut longer = std::fs::read(&path).unwrap();
        longer.push(b'\n');
        std::fs::write(&path, &longer).unwrap();
        assert_eq!(
            remember(path_bytes, &rec, Some(true)).prev,
            Err(Problem::Corrupt)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn clock_unsynced_since() {
        let (h, s) = advance(Err(Problem::New), 7, 1000, Some(&BOOT_A), Some(true), []);
        assert_eq!(h.clock_bad_since_ms, None);
        let (h, s) = advance(Ok(&s), 7, 2000, Some(&BOOT_A), Some(false), []);
        assert_eq!(h.clock_bad_since_ms, Some(2000));
        let (h, s) = advance(Ok(&s), 7, 3000, Some(&BOOT_A), Some(false), []);
        assert_eq!(h.clock_bad_since_ms, Some(2000));
        let (h, _) = advance(Ok(&s), 7, 4000, Some(&BOOT_A), None, []);
        assert_eq!(
            h.clock_bad_since_ms, None,
            "clock check skipped or unknown: not claimed bad"
        );
        let (h, _) = advance(Ok(&s), 7, 5000, Some(&BOOT_A), Some(true), []);
        assert_eq!(h.clock_bad_since_ms, None);
    }
}
