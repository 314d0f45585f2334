//! The state file: the fleet table as text, written atomically (temporary file, fsync, rename,
//! fsync of the directory) and read back on start and by `status`.
//!
//! Temporary files (also the `--prom-out` file's) are `NAME.tmp.PID.N.RANDOM` beside the
//! target, created with `O_CREAT|O_EXCL|O_NOFOLLOW`: a name cannot be guessed, and a file or
//! symlink planted at it makes the write fail rather than being followed or reused. Leftovers
//! of a killed run (`NAME.tmp.*`) are removed at start ([`remove_leftovers`]).
//!
//! ```text
//! nodepulse-collector-state 1
//! policy saved_ms=1800000000000 interval_ms=60000 offline_factor=3 skew_ms=300000 flap=4 recent_ms=3600000
//! counters accepted=12 empty=0 oversize=1 not_utf8=0 ...
//! node edge-ok seen=1800000000000 t=1800000000001 seq=- boot=b6f3a1c2d4e4f5a lost=0 n=3 iv=60000 st=0 p=0 since=0,0,... flaps=0,...,0/0 gaps=60000,...,0/3 burst=0,0 strip=0101...01/3
//! ```
//! Hosts are percent-encoded (no spaces). Unknown keys are ignored and a bad line is skipped,
//! so a newer or damaged file loses at most the lines it cannot read.

use crate::fleet::{Counters, Drop, Fleet, Node, Policy, FLAP_RING, GAPS, PROBLEMS, STRIP};
use std::fmt::Write as _;
#[cfg(test)]
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub const MAGIC: &str = "nodepulse-collector-state 1";

/// Writes the table as text to `w` (one short line per node: no buffer of the whole table).
pub fn serialize_to(w: &mut dyn std::io::Write, fleet: &Fleet, now_ms: u64) -> std::io::Result<()> {
    let p = &fleet.policy;
    let mut s = String::with_capacity(512);
    let _ = writeln!(s, "{MAGIC}");
    let _ = writeln!(
        s,
        "policy saved_ms={now_ms} interval_ms={} offline_factor={} skew_ms={} flap={} recent_ms={} max_nodes={} learn={}",
        p.interval_ms, p.offline_factor, p.skew_threshold_ms, p.flap_threshold, p.recent_ms, p.max_nodes, u8::from(p.learn)
    );
    let _ = write!(s, "counters accepted={}", fleet.counters.accepted);
    for d in Drop::ALL {
        let _ = write!(s, " {}={}", d.as_str(), fleet.counters.dropped[d as usize]);
    }
    s.push('\n');
    w.write_all(s.as_bytes())?;
    for (host, n) in &fleet.nodes {
        s.clear();
        let _ = write!(s, "node {host} seen={} t={} seq=", n.seen_ms, n.t_ms);
        if n.seq == u64::MAX {
            s.push('-');
        } else {
            let _ = write!(s, "{}", n.seq);
        }
        let _ = write!(
            s,
            " boot={:x} lost={} n={} iv={} st={} p={:x} since=",
            n.boot, n.lost, n.records, n.interval_ms, n.status, n.problems
        );
        for (i, t) in n.since.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{t}");
        }
        s.push_str(" flaps=");
        for (i, t) in n.flaps.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{t}");
        }
        let _ = write!(s, "/{} gaps=", n.flap_next);
        for (i, g) in n.gaps.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{g}");
        }
        let _ = write!(
            s,
            "/{} burst={},{} strip=",
            n.gap_next, n.burst_ms, n.burst_max_ms
        );
        for b in n.strip {
            let _ = write!(s, "{b:02x}");
        }
        let _ = writeln!(s, "/{}", n.strip_next);
        w.write_all(s.as_bytes())?;
    }
    Ok(())
}

/// The table as text, in memory.
#[cfg(test)]
pub fn serialize(fleet: &Fleet, now_ms: u64) -> Vec<u8> {
    let mut v = Vec::new();
    serialize_to(&mut v, fleet, now_ms).unwrap();
    v
}

fn list<const N: usize>(v: &str) -> Option<[u32; N]> {
    let mut out = [0u32; N];
    let mut parts = v.split(',');
    for slot in out.iter_mut() {
        *slot = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn parse_node(rest: &str) -> Option<(String, Node)> {
    let mut words = rest.split(' ');
    let host = words.next().filter(|h| !h.is_empty())?.to_string();
    let mut n = Node::default();
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "seen" => n.seen_ms = v.parse().ok()?,
            "t" => n.t_ms = v.parse().ok()?,
            "seq" => n.seq = if v == "-" { u64::MAX } else { v.parse().ok()? },
            "boot" => n.boot = u64::from_str_radix(v, 16).ok()?,
            "lost" => n.lost = v.parse().ok()?,
            "n" => n.records = v.parse().ok()?,
            "iv" => n.interval_ms = v.parse().ok()?,
            "st" => n.status = v.parse().ok()?,
            "p" => n.problems = u16::from_str_radix(v, 16).ok()?,
            "since" => n.since = list::<PROBLEMS>(v)?,
            "flaps" => {
                let (ring, next) = v.split_once('/')?;
                n.flaps = list::<FLAP_RING>(ring)?;
                n.flap_next = next
                    .parse()
                    .ok()
                    .filter(|&i: &u8| usize::from(i) < FLAP_RING)?;
            }
            "gaps" => {
                let (ring, next) = v.split_once('/')?;
                n.gaps = list::<GAPS>(ring)?;
                n.gap_next = next.parse().ok().filter(|&i: &u8| usize::from(i) < GAPS)?;
            }
            "burst" => {
                let (sum, max) = v.split_once(',')?;
                n.burst_ms = sum.parse().ok()?;
                n.burst_max_ms = max.parse().ok()?;
            }
            "strip" => {
                let (hex, next) = v.split_once('/')?;
                if hex.len() != 2 * STRIP {
                    return None;
                }
                for (i, slot) in n.strip.iter_mut().enumerate() {
                    *slot = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
                }
                n.strip_next = next.parse().ok().filter(|&i: &u8| usize::from(i) < STRIP)?;
            }
            _ => {}
        }
    }
    Some((host, n))
}

/// What a state file holds.
pub struct Loaded {
    pub policy: Policy,
    pub saved_ms: u64,
    pub counters: Counters,
    pub nodes: Vec<(String, Node)>,
    pub bad_lines: usize,
}

/// Reads a state file's text.
pub fn parse(text: &str) -> Result<Loaded, String> {
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(format!("not a state file (first line is not `{MAGIC}`)"));
    }
    let mut out = Loaded {
        policy: Policy::default(),
        saved_ms: 0,
        counters: Counters::default(),
        nodes: Vec::new(),
        bad_lines: 0,
    };
    for line in lines {
        if let Some(rest) = line.strip_prefix("node ") {
            match parse_node(rest) {
                Some(n) => out.nodes.push(n),
                None => out.bad_lines += 1,
            }
        } else if let Some(rest) = line.strip_prefix("policy ") {
            let p = &mut out.policy;
            for (k, v) in rest.split(' ').filter_map(|w| w.split_once('=')) {
                let num = v.parse::<u64>().ok();
                match (k, num) {
                    ("saved_ms", Some(x)) => out.saved_ms = x,
                    ("interval_ms", Some(x)) => p.interval_ms = x,
                    ("offline_factor", Some(x)) => p.offline_factor = x,
                    ("skew_ms", Some(x)) => p.skew_threshold_ms = x,
                    ("flap", Some(x)) => p.flap_threshold = x as u32,
                    ("recent_ms", Some(x)) => p.recent_ms = x,
                    ("max_nodes", Some(x)) => p.max_nodes = x as usize,
                    ("learn", Some(x)) => p.learn = x != 0,
                    _ => {}
                }
            }
        } else if let Some(rest) = line.strip_prefix("counters ") {
            for (k, v) in rest.split(' ').filter_map(|w| w.split_once('=')) {
                let Ok(x) = v.parse::<u64>() else { continue };
                if k == "accepted" {
                    out.counters.accepted = x;
                } else if let Some(d) = Drop::ALL.iter().find(|d| d.as_str() == k) {
                    out.counters.dropped[*d as usize] = x;
                }
            }
        } else if !line.is_empty() {
            out.bad_lines += 1;
        }
    }
    Ok(out)
}

/// A temporary file beside the one it will replace (`NAME.tmp.PID.N.RANDOM`).
pub struct Pending {
    pub file: std::fs::File,
    tmp: PathBuf,
    path: PathBuf,
}

/// The prefix of every temporary name of `path`: `NAME.tmp.`.
fn tmp_prefix(path: &Path) -> std::io::Result<std::ffi::OsString> {
    let mut prefix = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?
        .to_os_string();
    prefix.push(".tmp.");
    Ok(prefix)
}

/// A name nobody can guess ahead: the pid, a counter of this process and 64 random bits
/// (std's per-process hash keys, fresh for each call).
fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    format!("{}.{n}.{:016x}", std::process::id(), h.finish())
}

/// Creates a fresh temporary file in `path`'s directory (`O_CREAT|O_EXCL|O_NOFOLLOW`, so never
/// through a planted symlink nor into an existing file), to be filled then [`commit`]ted.
pub fn begin(path: &Path) -> std::io::Result<Pending> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = tmp_prefix(path)?;
    name.push(unique_suffix());
    let tmp = path.with_file_name(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    Ok(Pending {
        file,
        tmp,
        path: path.to_path_buf(),
    })
}

/// Removes the temporary files of `path` that an earlier run left (killed during a write):
/// every `NAME.tmp.*` entry of its directory. A symlink is removed, never followed. Returns how
/// many were removed.
pub fn remove_leftovers(path: &Path) -> std::io::Result<usize> {
    use std::os::unix::ffi::OsStrExt;
    let prefix = tmp_prefix(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_name().as_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        // file_type() does not follow symlinks: a directory of that name is left alone.
        if entry.file_type()?.is_dir() {
            continue;
        }
        std::fs::remove_file(entry.path())?;
        removed += 1;
    }
    Ok(removed)
}

/// fsync, rename over the target, fsync of the directory: a reader never sees a partial file,
/// and a failed write leaves the old one (the temporary file is removed).
pub fn commit(p: Pending) -> std::io::Result<()> {
    let result = p.file.sync_all().and_then(|_| {
        drop(p.file);
        std::fs::rename(&p.tmp, &p.path)
    });
    match result {
        Ok(()) => {
            let dir = match p.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&p.tmp);
            Err(e)
        }
    }
}

/// Removes an abandoned temporary file.
pub fn abandon(p: Pending) {
    drop(p.file);
    let _ = std::fs::remove_file(&p.tmp);
}

/// Replaces `path` with `bytes` atomically ([`begin`], write, [`commit`]).
#[cfg(test)]
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut p = begin(path)?;
    if let Err(e) = p.file.write_all(bytes) {
        abandon(p);
        return Err(e);
    }
    commit(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{Metrics, Obs, Problem};
    use std::borrow::Cow;

    #[test]
    fn round_trip() {
        let mut f = Fleet::new(Policy {
            interval_ms: 5000,
            ..Policy::default()
        });
        let t0 = 1_800_000_000_000;
        let mut o = Obs {
            host: Cow::Borrowed("edge%20x"),
            t_ms: t0 - 600_000,
            status: 2,
            boot: Some([0xab; 16]),
            seq: Some(7),
            problems: Problem::Service.bit(),
            metrics: Metrics::default(),
        };
        f.ingest(&o, t0);
        o.host = Cow::Borrowed("b");
        o.boot = None;
        o.seq = None;
        f.ingest(&o, t0);
        f.counters.drop(Drop::Utf8);
        f.sweep(t0 + 100_000);
        let text = serialize(&f, t0 + 100_000);
        let l = parse(std::str::from_utf8(&text).unwrap()).unwrap();
        assert_eq!(l.bad_lines, 0);
        assert_eq!(l.policy, f.policy);
        assert_eq!(l.saved_ms, t0 + 100_000);
        assert_eq!(l.counters, f.counters);
        assert_eq!(l.nodes.len(), 2);
        for (host, node) in &l.nodes {
            assert_eq!(&f.nodes[host.as_str()], node);
        }
        assert!(parse("garbage").is_err());
        let damaged = format!("{MAGIC}\nnode x seen=zz\nnode y seen=1\nwhat\n");
        let l = parse(&damaged).unwrap();
        assert_eq!((l.nodes.len(), l.bad_lines), (1, 2));
    }

    /// An OK record from `host` at `t_ms`, no boot id, no problem.
    fn ok_record(host: &'static str, t_ms: u64, seq: Option<u64>) -> Obs<'static> {
        Obs {
            host: Cow::Borrowed(host),
            t_ms,
            status: 0,
            boot: None,
            seq,
            problems: 0,
            metrics: Metrics::default(),
        }
    }

    #[test]
    fn a_restart_keeps_every_rule_and_what_each_node_learned() {
        // Every rule away from its default, so that a rule read back as the default shows.
        let policy = Policy {
            interval_ms: 30_000,
            offline_factor: 5,
            skew_threshold_ms: 1234,
            flap_threshold: 9,
            recent_ms: 777_000,
            max_nodes: 42,
            learn: false,
        };
        assert_ne!(policy, Policy::default());
        let mut f = Fleet::new(Policy {
            learn: true,
            ..policy.clone()
        });
        let t0 = 1_800_000_000_000;
        // Gaps of 40 s, then a short one: a learned interval, a gap ring and a burst.
        for (i, t) in [0, 40_000, 80_000, 120_000, 160_000, 165_000]
            .into_iter()
            .enumerate()
        {
            f.ingest(&ok_record("a", t0 + t, Some(i as u64)), t0 + t);
        }
        f.policy = policy.clone();
        let n = &f.nodes["a"];
        assert_eq!(n.interval_ms, 40_000);
        assert_ne!(n.burst_ms, 0);
        let text = serialize(&f, t0 + 200_000);
        let l = parse(std::str::from_utf8(&text).unwrap()).unwrap();
        assert_eq!(l.policy, policy);
        assert_eq!(l.nodes.len(), 1);
        assert_eq!(&l.nodes[0].1, n);
    }

    #[test]
    fn a_ring_position_past_its_ring_makes_the_line_bad() {
        let mut f = Fleet::new(Policy::default());
        f.ingest(&ok_record("a", 1, None), 1);
        let text = String::from_utf8(serialize(&f, 1)).unwrap();
        assert_eq!(parse(&text).unwrap().bad_lines, 0);
        let node = text.lines().find(|l| l.starts_with("node ")).unwrap();
        for (key, last) in [("flaps", FLAP_RING), ("gaps", GAPS), ("strip", STRIP)] {
            // The ring's next slot: the last one is read, one past it is not.
            let word = node.split(' ').find(|w| w.starts_with(key)).unwrap();
            let (ring, _) = word.rsplit_once('/').unwrap();
            for (next, bad) in [(last - 1, 0), (last, 1)] {
                let line = node.replace(word, &format!("{ring}/{next}"));
                let l = parse(&format!("{MAGIC}\n{line}\n")).unwrap();
                assert_eq!((l.nodes.len(), l.bad_lines), (1 - bad, bad), "{key}/{next}");
            }
        }
    }

    #[test]
    fn temporary_names_are_fresh_and_never_follow_a_symlink() {
        let dir = std::env::temp_dir().join(format!("npc-tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s");
        let a = begin(&p).unwrap();
        let b = begin(&p).unwrap();
        assert_ne!(a.tmp, b.tmp);
        abandon(a);
        abandon(b);
        // The open itself refuses a symlink and an existing file at the name.
        use std::os::unix::fs::OpenOptionsExt;
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.join("s.tmp.planted");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&link);
        assert!(opened.is_err());
        // Leftovers (a file, a symlink) go at start; the symlink's target stays.
        std::fs::write(dir.join("s.tmp.123"), b"old").unwrap();
        std::fs::create_dir(dir.join("s.tmp.dir")).unwrap();
        std::fs::write(dir.join("other.tmp.1"), b"not ours").unwrap();
        assert_eq!(remove_leftovers(&p).unwrap(), 2);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["other.tmp.1", "s.tmp.dir", "victim"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = std::env::temp_dir().join(format!("npc-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(write_atomic(&dir.join("no/such/dir/s"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
