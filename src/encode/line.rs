//! The native record, format `np1`: one line of space-separated `key=value` tokens.
//!
//! ```text
//! np1 host=edge-01 t_ms=1764000000123 status=crit up_s=86400 load=0.12,0.34,0.56 boot=0b6f... \
//!   kernel=6.1.0-28-arm64 arch=aarch64 clock=crit,why:unsynced,sync:no,sd:n,ne:n,... \
//!   timesync=warn,why:no-daemon,daemon:none,synced_age_s:n/a linger.node=crit,... \
//!   svc.node:openclaw-node=crit,why:down,... disk./=ok,... mem=ok,...
//! ```
//!
//! The first token names the format version. Each check is one token whose value starts with its
//! status (`ok`, `warn`, `crit`, `unknown`), then `why:REASON` when not ok, then `field:value`
//! pairs separated by commas. A skipped check has no token. Unknown numbers are `-`. Names taken
//! from the node or the command line (host, user, unit, mount path) are percent-encoded outside
//! `[A-Za-z0-9._/@+~-]`, so a value never contains a space, `=`, `,` or `:` of its own.
//! Every key and unit is listed in the README.

use super::Out;
use crate::probe::clock as kclock;
use crate::record::{Record, SyncFile};
use crate::verdict::{self, Status, Thresholds, Verdict};

/// The format version, first token of every record.
pub const VERSION: &str = "np1";

/// The CPU architecture the binary was built for.
pub const ARCH: &str = if cfg!(target_arch = "x86_64") {
    "x86_64"
} else if cfg!(target_arch = "aarch64") {
    "aarch64"
} else if cfg!(target_arch = "arm") {
    "armv7"
} else if cfg!(target_arch = "x86") {
    "i686"
} else {
    "other"
};

/// Writes `name` percent-encoded outside the safe set.
pub fn escaped(out: &mut Out, name: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@' | b'+' | b'~')
        {
            out.bytes(&[b]);
        } else {
            out.bytes(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

fn opt_u64(out: &mut Out, v: Option<u64>) {
    match v {
        Some(n) => out.u64(n),
        None => out.str("-"),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "y"
    } else {
        "n"
    }
}

/// Starts a check token: ` KEY[.NAME[:NAME]]=STATUS[:REASON]`.
fn check(out: &mut Out, key: &str, names: &[&[u8]], v: Verdict) {
    out.str(" ");
    out.str(key);
    for (i, name) in names.iter().enumerate() {
        out.str(if i == 0 { "." } else { ":" });
        escaped(out, name);
    }
    out.str("=");
    out.str(v.status.as_str());
    if !v.why.is_empty() {
        out.str(":");
        out.str(v.why);
    }
}

/// ` ,field:` separator.
fn field(out: &mut Out, name: &str) {
    out.str(",");
    out.str(name);
    out.str(":")
}

/// Encodes the record as one `np1` line ending in `\n`.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn encode(r: &Record, t: &Thresholds, status: Status, out: &mut Out) {
    out.str(VERSION);
    out.str(" host=");
    match &r.host {
        Some(h) => escaped(out, h),
        None => out.str("-"),
    }
    out.str(" t=");
    out.u64(r.wall_ms);
    out.str(" st=");
    out.str(status.as_str());
    if let Some(h) = &r.history {
        out.str(" seq=");
        out.u64(h.seq);
        match h.prev {
            Ok(p) => {
                out.str(" gap_s=");
                out.u64(p.gap_ms / 1000);
                if p.rebooted {
                    out.str(" reboot=1");
                }
            }
            Err(problem) => {
                out.str(" prev=");
                out.str(problem.as_str());
            }
        }
        if let Some(errno) = h.save_errno {
            out.str(" save_errno=");
            out.i64(i64::from(errno));
        }
    }

    if let Some(s) = &r.system {
        out.str(" up=");
        opt_u64(out, s.uptime_s);
        out.str(" load=");
        match s.load {
            Some([a, b, c]) => {
                for (i, l) in [a, b, c].into_iter().enumerate() {
                    if i > 0 {
                        out.str(",");
                    }
                    out.fixed(i64::try_from(l).unwrap_or(i64::MAX), 2);
                }
            }
            None => out.str("-"),
        }
        out.str(" boot=");
        match &s.boot_id {
            Some(id) => out.bytes(id),
            None => out.str("-"),
        }
        out.str(" kern=");
        match &s.kernel {
            Some(k) => escaped(out, k),
            None => out.str("-"),
        }
    }

    let daemon = verdict::daemon_of(r);
    if let Some(c) = &r.clock {
        check(out, "clock", &[], verdict::clock(c, daemon, t));
        match &c.timex {
            Ok(tx) => {
                field(out, "sd");
                out.str(yes_no(kclock::systemd_synced(tx)));
                field(out, "ne");
                out.str(yes_no(kclock::node_exporter_synced(tx)));
                field(out, "ks");
                out.i64(i64::from(tx.state));
                field(out, "kf");
                out.hex(tx.status as u32);
                field(out, "off_us");
                out.i64(kclock::offset_us(tx));
                field(out, "ppm");
                out.fixed(kclock::freq_ppb(tx), 3);
                field(out, "maxe_ms");
                out.i64(tx.maxerror / 1000);
                field(out, "este_ms");
                out.i64(tx.esterror / 1000);
                field(out, "tai");
                out.i64(i64::from(tx.tai));
            }
            Err(errno) => {
                field(out, "errno");
                out.i64(i64::from(*errno));
            }
        }
        match &c.sntp {
            Some(Ok(reply)) => {
                field(out, "ntp_off_us");
                out.i64(reply.offset_ns / 1000);
                field(out, "ntp_rtt_us");
                out.i64(reply.delay_ns / 1000);
                field(out, "ntp_st");
                out.u64(u64::from(reply.stratum));
            }
            Some(Err(failure)) => {
                field(out, "ntp");
                out.str(failure.as_str());
            }
            None => {}
        }
        if let Some(since) = r.history.and_then(|h| h.clock_bad_since_ms) {
            field(out, "bad_since");
            out.u64(since);
        }
    }

    if let Some(ts) = &r.timesync {
        check(
            out,
            "ntp",
            &[],
            verdict::timesync(ts, (r.wall_ms / 1000) as i64, t),
        );
        field(out, "d");
        out.str(ts.daemon.as_str());
        field(out, "age_s");
        match ts.sync_file {
            SyncFile::Present { mtime_s } => {
                out.i64(((r.wall_ms / 1000) as i64).saturating_sub(mtime_s).max(0))
            }
            SyncFile::Missing => out.str("none"),
            SyncFile::NotApplicable => out.str("n/a"),
            SyncFile::Unknown => out.str("-"),
        }
    }

    for u in r.users.iter().flatten() {
        check(out, "linger", &[u.name], verdict::user(u));
        field(out, "uid");
        opt_u64(out, u.uid.map(u64::from));
        field(out, "lg");
        out.str(u.linger.as_str());
        field(out, "st");
        out.str(u.login.as_str());
    }

    for (i, s) in r.services.iter().flatten().enumerate() {
        let v = verdict::service(s);
        match s.user {
            Some(user) => check(out, "svc", &[user, s.name], v),
            None => check(out, "svc", &[s.name], v),
        }
        field(out, "via");
        out.str(s.via.as_str());
        field(out, "pid");
        opt_u64(out, s.pid.map(u64::from));
        field(out, "start_cs");
        opt_u64(out, s.start_cs);
        if let Some(h) = r.history.as_ref().and_then(|h| h.services.get(i)) {
            if h.restarted {
                field(out, "rs");
                out.str("1");
            }
            if let Some(since) = h.down_since_ms {
                field(out, "down_since");
                out.u64(since);
            }
        }
    }

    for d in r.disks.iter().flatten() {
        check(out, "disk", &[d.path], verdict::disk(d, t));
        match &d.stat {
            Ok(st) => {
                field(out, "mb");
                out.u64(st.size_b >> 20);
                field(out, "free_mb");
                out.u64(st.avail_b >> 20);
                field(out, "use");
                out.u64(u64::from(st.used_pct));
                field(out, "ino");
                opt_u64(out, st.inodes_used_pct.map(u64::from));
                if st.read_only {
                    field(out, "ro");
                    out.str("1");
                }
            }
            Err(errno) => {
                field(out, "errno");
                out.i64(i64::from(*errno));
            }
        }
    }

    if let Some(m) = &r.memory {
        check(out, "mem", &[], verdict::memory(m, t));
        if let Some(st) = &m.stat {
            field(out, "mb");
            out.u64(st.total_kb >> 10);
            field(out, "avail_mb");
            out.u64(st.avail_kb >> 10);
            field(out, "swap_mb");
            out.u64(st.swap_total_kb >> 10);
            field(out, "swfree_mb");
            out.u64(st.swap_free_kb >> 10);
            if st.avail_estimated {
                field(out, "est");
                out.str("1");
            }
        }
    }
    for f in r.fixes.iter().flatten() {
        out.str(" fix.");
        out.str(f.step.as_str());
        if let Some(user) = f.user {
            out.str(".");
            escaped(out, user);
        }
        out.str("=");
        match f.outcome {
            crate::fix::Outcome::Ran(code) => out.i64(i64::from(code)),
            other => out.str(match other {
                crate::fix::Outcome::DryRun => "dry",
                crate::fix::Outcome::NoSystemd if f.user.is_some() => "no-logind",
                crate::fix::Outcome::NoSystemd => "no-systemd",
                crate::fix::Outcome::NotRoot => "not-root",
                crate::fix::Outcome::NoProgram => "no-program",
                crate::fix::Outcome::Timeout => "timeout",
                crate::fix::Outcome::Failed => "failed",
                _ => "planned",
            }),
        }
    }
    out.str("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::np1;
    use crate::record::*;

    /// Encode → parse → the same values: the strongest test of the encoder.
    #[test]
    fn round_trip_through_the_parser() {
        let mut users = heapless::Vec::new();
        users
            .push(User {
                name: b"no de,=x",
                uid: Some(1000),
                linger: Linger::Off,
                login: Login::Unknown,
                needs_linger: true,
            })
            .unwrap();
        let mut services = heapless::Vec::new();
        services
            .push(Service {
                user: Some(b"no de,=x"),
                name: b"app:1 %",
                active: Active::No,
                via: Via::Invocation,
                pid: None,
                start_cs: None,
            })
            .unwrap();
        let mut disks = heapless::Vec::new();
        disks
            .push(Disk {
                path: b"/data dir",
                stat: Ok(DiskStat {
                    size_b: 10 << 20,
                    avail_b: 1 << 20,
                    used_pct: 90,
                    inodes_used_pct: None,
                    read_only: true,
                }),
            })
            .unwrap();
        let record = Record {
            host: Some(Word::from_slice(b"h\xc3\xa9 1").unwrap()),
            wall_ms: 1_764_000_000_123,
            system: None,
            clock: Some(Clock { timex: Err(1), sntp: None }),
            timesync: None,
            users: Some(users),
            services: Some(services),
            disks: Some(disks),
            memory: Some(Memory { stat: None }),
            timed_out: false,
            history: None,
            fixes: None,
        };
        let t = Thresholds::default();
        let status = verdict::overall(&record, &t);
        let mut buf = [0u8; 2048];
        let mut out = Out::new(&mut buf);
        encode(&record, &t, status, &mut out);
        let bytes = out.finish().unwrap();
        let parsed = np1::parse(bytes).unwrap();
        let mut name = [0u8; 64];
        assert_eq!(
            np1::decode(parsed.host().unwrap(), &mut name),
            Some(&b"h\xc3\xa9 1"[..])
        );
        assert_eq!(parsed.t_ms(), Some(1_764_000_000_123));
        assert_eq!(parsed.status(), Some(status));
        let checks: std::vec::Vec<np1::Check> = parsed.checks().collect();
        let kinds: std::vec::Vec<&[u8]> = checks.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [&b"clock"[..], b"linger", b"svc", b"disk", b"mem"]);
        assert_eq!(
            (checks[0].status, checks[0].field(b"errno")),
            (Status::Unknown, Some(&b"1"[..]))
        );
        assert_eq!(
            checks[1].status,
            verdict::user(&record.users.as_ref().unwrap()[0]).status
        );
        assert_eq!(
            np1::decode(checks[1].name, &mut name),
            Some(&b"no de,=x"[..])
        );
        // `svc.USER:UNIT`: the separator is a literal colon, a colon inside a name is encoded.
        let (user, unit) = checks[2]
            .name
            .split_at(checks[2].name.iter().position(|&b| b == b':').unwrap());
        assert_eq!(np1::decode(user, &mut name), Some(&b"no de,=x"[..]));
        assert_eq!(np1::decode(&unit[1..], &mut name), Some(&b"app:1 %"[..]));
        assert_eq!(
            (checks[2].status, checks[2].why),
            (Status::Crit, &b"down"[..])
        );
        assert_eq!(checks[3].field(b"mb"), Some(&b"10"[..]));
        assert_eq!(checks[3].field(b"ro"), Some(&b"1"[..]));
        assert_eq!(checks[3].field(b"ino"), Some(&b"-"[..]));
        assert_eq!(checks[4].why, b"meminfo");
    }
}
