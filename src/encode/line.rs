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

use crate::model::{Model, Spec, HEX, IF_TRUE, MEBI, MILLI, V};
use super::Out;

/// The format version, first token of every record.
pub const VERSION: &str = "np1";

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

/// One field of a check: `,KEY:VALUE` (top-level ` KEY=VALUE` for the node's). Unknown
/// values (but for a [`V::Word`]), and false [`IF_TRUE`] booleans, are left out.
#[inline(never)]
fn field(out: &mut Out, spec: &Spec, v: V, node: bool) {
    let key = spec.line();
    if key.is_empty() || matches!(v, V::Null) || (matches!(v, V::Bool(false)) && spec.np1 & IF_TRUE != 0) {
        return;
    }
    if key != "," {
        out.str(if node { " " } else { "," });
        out.str(key);
        out.str(if node { "=" } else { ":" });
    } else {
        out.str(",");
    }
    match v {
        V::Int(n) if spec.np1 & HEX != 0 => out.hex(n as u32),
        V::Int(n) if spec.np1 & MILLI != 0 => out.i64(n / 1000),
        V::Int(n) if spec.np1 & MEBI != 0 => out.i64(n >> 20),
        V::Int(n) => out.i64(n),
        V::Dec(n, d) => out.fixed(n, u32::from(d)),
        V::Bool(b) => out.str(if spec.np1 & IF_TRUE != 0 { "1" } else if b { "y" } else { "n" }),
        V::Text(t) => escaped(out, t),
        V::Word(w) => out.str(w),
        V::Null => {}
    }
}

/// Encodes the model as one `np1` line ending in `\n`.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn encode(m: &Model, out: &mut Out) {
    out.str(VERSION);
    out.str(" host=");
    match m.host {
        Some(h) => escaped(out, h),
        None => out.str("-"),
    }
    out.str(" t=");
    out.u64(m.t_ms);
    out.str(" st=");
    out.str(m.status.as_str());
    if let Some(h) = m.history {
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

    for c in &m.sections {
        let key = c.kind.line;
        let node = key.is_empty();
        if !node {
            // ` KEY[.NAME[:NAME]]=STATUS[:REASON]`: a service's user, then its unit.
            out.str(" ");
            out.str(key);
            let mut sep = ".";
            for (_, name) in c.labels().rev().filter(|(_, v)| !v.is_empty()) {
                out.str(sep);
                escaped(out, name);
                sep = ":";
            }
            out.str("=");
            out.str(c.verdict.status.as_str());
            if let Some(why) = c.verdict.why {
                out.str(":");
                out.str(why.as_str());
            }
        }
        for (spec, v) in c.fields() {
            field(out, &spec, v, node);
        }
    }

    for f in m.fixes {
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
    use crate::verdict::Status;

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
        };
        let t = crate::verdict::Thresholds::default();
        let judged = crate::verdict::judge(&record, &t);
        let model = crate::model::build(&record, &judged, &t, None, &[]);
        let status = model.status;
        assert_eq!(status, Status::Crit, "the worst check: the service is down");
        let mut buf = [0u8; 2048];
        let mut out = Out::new(&mut buf);
        encode(&model, &mut out);
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
            judged.users[0].status
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
        assert_eq!(checks[3].field(b"ino"), None, "unknown: left out");
        assert_eq!(checks[4].why, b"meminfo");
    }
}
