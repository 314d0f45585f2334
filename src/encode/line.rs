//! The native record, format `np1`: one line of space-separated `key=value` tokens.
//!
//! ```text
//! np1 host=edge-17 t=1764000000123 st=crit up=86400 load=0.12,0.34,1.56 boot=0b6f3a1c... \
//!   kern=6.1.0-28-arm64 seq=1 prev=corrupt save_errno=28 \
//!   clock=crit:unsynced,sd:n,ne:n,ks:5,kf:40,off_us:0,ppm:-18.837,maxe_ms:16000,... \
//!   ntp=warn:no-daemon,d:none,age_s:9000 linger.claw=crit:linger-off,uid:1001,lg:off,st:unknown \
//!   svc.node:openclaw-node=ok,via:inv,pid:812,start_cs:98765 disk./=ok,mb:8192,free_mb:4095,... \
//!   mem=warn:available,mb:976,... fix.enable-linger.claw=0
//! ```
//!
//! The first token names the format version; `t` is the wall clock in ms, `st` the overall
//! status; `seq`, `gap_s`, `reboot`, `prev` and `save_errno` come from the state file. Each
//! check is one token whose value starts with its status (`ok`, `warn`, `crit`, `unknown`),
//! then `:REASON` when not ok, then `,field:value` pairs. A skipped check has no token; a value
//! that could not be read is left out (`host=-` alone stands for an unreadable hostname). Names
//! taken from the node or the command line (host, user, unit, mount path) are percent-encoded
//! outside `[A-Za-z0-9._/@+~-]`, so a value never contains a space, `=`, `,` or `:` of its own.
//! Every key and unit is listed in the README.
//!
//! # Reading it back
//! [`parse`] is what the collector receives from agents: it validates the shape once, then
//! hands out slices of the input ([`Np1`], [`Check`]); [`decode`] undoes the percent-encoding.
//! It is total and allocation-free: no input can make it panic. Encoder and parser live
//! together so that the round-trip tests below hold them to one another.

use super::text::{write_text, PERCENT};
use super::Out;
use crate::model::{Model, Spec, HEX, IF_TRUE, MEBI, MILLI, V};
use crate::num::{parse_u64, trim};
use crate::verdict::Status;

/// The format version, first token of every record.
pub const VERSION: &str = "np1";

/// np1's escaping for [`write_text`]: every byte outside `[A-Za-z0-9._/@+~-]` as `%XX` (the bytes of
/// a non-ASCII character too), so a value never holds a space, `=`, `,` or `:` of its own.
fn np1_escape(b: u8, _: Option<u8>) -> Option<&'static [u8]> {
    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@' | b'+' | b'~') {
        None
    } else {
        Some(PERCENT)
    }
}

/// Writes `name` percent-encoded outside the safe set.
pub fn escaped(out: &mut Out, name: &[u8]) {
    write_text(out, name, np1_escape)
}

/// One field of a check: `,KEY:VALUE` (top-level ` KEY=VALUE` for the node's). Unknown
/// values (but for a [`V::Word`]), and false [`IF_TRUE`] booleans, are left out.
#[inline(never)]
fn field(out: &mut Out, spec: &Spec, v: V, node: bool) {
    let key = spec.line();
    if key.is_empty()
        || matches!(v, V::Null)
        || (matches!(v, V::Bool(false)) && spec.np1 & IF_TRUE != 0)
    {
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
        V::Int(n) if spec.np1 & MILLI != 0 => out.i64(crate::num::div_toward_zero(n, 1000)),
        V::Int(n) if spec.np1 & MEBI != 0 => out.i64(n >> 20),
        V::Int(n) => out.i64(n),
        V::Dec(n, d) => out.fixed(n, u32::from(d)),
        V::Bool(b) => out.str(if spec.np1 & IF_TRUE != 0 {
            "1"
        } else if b {
            "y"
        } else {
            "n"
        }),
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
        match f.outcome.exit_code() {
            Some(code) => out.i64(i64::from(code)),
            None => out.str(f.outcome_word()),
        }
    }
    out.str("\n")
}

// ---- reading np1 back ----------------------------------------------------------------

/// Longest record accepted (the agent's output buffer).
pub const MAX_LEN: usize = 16384;

/// Why bytes are not an `np1` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Empty,
    TooLong,
    /// The first token is not `np1`.
    Version,
    /// A token without `=`, an empty key, a control or non-ASCII byte, or more than one line.
    Syntax,
    /// A required key (`host`, `t`, `st`) is missing or malformed.
    Missing(&'static str),
}

/// A validated record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Np1<'a> {
    /// The tokens after `np1`, space-separated, no trailing newline.
    body: &'a [u8],
}

/// One check token: `KEY[.NAME]=STATUS[:WHY][,field:value]...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check<'a> {
    /// `clock`, `ntp`, `linger`, `svc`, `disk`, `mem`, ...
    pub kind: &'a [u8],
    /// The instance after the first `.` (percent-encoded as sent), empty for none.
    pub name: &'a [u8],
    pub status: Status,
    pub why: &'a [u8],
    fields: &'a [u8],
}

impl<'a> Check<'a> {
    /// The value of `field:` in this check.
    pub fn field(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.fields.split(|&b| b == b',').find_map(|pair| {
            let colon = pair.iter().position(|&b| b == b':')?;
            (pair.get(..colon)? == name)
                .then(|| pair.get(colon + 1..))
                .flatten()
        })
    }
}

/// The status a record's word names (`ok`, `warn`, `crit`, `unknown`), as np1 writes it: the
/// collector reads JSON's `status` with the same rule.
pub fn status_of(word: &[u8]) -> Option<Status> {
    match word {
        b"ok" => Some(Status::Ok),
        b"warn" => Some(Status::Warn),
        b"crit" => Some(Status::Crit),
        b"unknown" => Some(Status::Unknown),
        _ => None,
    }
}

/// Parses and validates one record (a trailing `\n` is allowed).
pub fn parse(bytes: &[u8]) -> Result<Np1<'_>, Error> {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if trim(line).is_empty() {
        return Err(Error::Empty);
    }
    if line.len() > MAX_LEN {
        return Err(Error::TooLong);
    }
    let body = line.strip_prefix(b"np1 ").ok_or(Error::Version)?;
    if !line.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
        return Err(Error::Syntax);
    }
    for token in body.split(|&b| b == b' ') {
        let eq = token.iter().position(|&b| b == b'=').ok_or(Error::Syntax)?;
        if eq == 0 {
            return Err(Error::Syntax);
        }
    }
    let record = Np1 { body };
    record.host().ok_or(Error::Missing("host"))?;
    record.t_ms().ok_or(Error::Missing("t"))?;
    record.status().ok_or(Error::Missing("st"))?;
    Ok(record)
}

impl<'a> Np1<'a> {
    /// `(key, value)` of every token.
    pub fn tokens(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        self.body.split(|&b| b == b' ').filter_map(|token| {
            let eq = token.iter().position(|&b| b == b'=')?;
            Some((token.get(..eq)?, token.get(eq + 1..)?))
        })
    }

    /// The value of the first token named `key`.
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.tokens().find_map(|(k, v)| (k == key).then_some(v))
    }

    /// Hostname as sent (percent-encoded); `-` when the agent could not read it.
    pub fn host(&self) -> Option<&'a [u8]> {
        self.get(b"host").filter(|h| !h.is_empty())
    }

    /// The agent's wall clock, ms since the epoch.
    pub fn t_ms(&self) -> Option<u64> {
        self.get(b"t").and_then(parse_u64)
    }

    /// Overall status.
    pub fn status(&self) -> Option<Status> {
        self.get(b"st").and_then(status_of)
    }

    /// `boot_id` (32 hex digits) when the system check ran.
    pub fn boot(&self) -> Option<&'a [u8]> {
        self.get(b"boot")
            .filter(|b| b.len() == 32 && b.iter().all(u8::is_ascii_hexdigit))
    }

    /// Every check token, in record order (tokens whose value starts with a status word).
    pub fn checks(&self) -> impl Iterator<Item = Check<'a>> {
        self.tokens().filter_map(|(key, value)| {
            if key == b"st" {
                return None;
            }
            let (head, fields) = match value.iter().position(|&b| b == b',') {
                Some(comma) => (value.get(..comma)?, value.get(comma + 1..)?),
                None => (value, &b""[..]),
            };
            let (word, why) = match head.iter().position(|&b| b == b':') {
                Some(colon) => (head.get(..colon)?, head.get(colon + 1..)?),
                None => (head, &b""[..]),
            };
            let status = status_of(word)?;
            let (kind, name) = match key.iter().position(|&b| b == b'.') {
                Some(dot) => (key.get(..dot)?, key.get(dot + 1..)?),
                None => (key, &b""[..]),
            };
            Some(Check {
                kind,
                name,
                status,
                why,
                fields,
            })
        })
    }
}

/// Decodes a percent-encoded name into `buf`; `None` if malformed or too long.
pub fn decode<'b>(name: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let mut len = 0;
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        let byte = if b == b'%' {
            let hex = core::str::from_utf8(name.get(i + 1..i + 3)?).ok()?;
            i += 3;
            u8::from_str_radix(hex, 16).ok()?
        } else {
            i += 1;
            b
        };
        *buf.get_mut(len)? = byte;
        len += 1;
    }
    buf.get(..len)
}

#[cfg(test)]
mod tests {
    use super as np1;
    use super::*;
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
                link_ino: None,
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
            clock: Some(Clock {
                timex: Err(1),
                sntp: None,
            }),
            timesync: None,
            users: Some(users),
            services: Some(services),
            disks: Some(disks),
            memory: Some(Memory { stat: None }),
            timed_out: false,
        };
        let t = crate::verdict::Thresholds::default();
        let judged = crate::verdict::judge(&record, &t);
        let mut buf = [0u8; 2048];
        let (status, len) = crate::model::build(&record, &judged, &t, None, &[], |model| {
            let mut out = Out::new(&mut buf);
            encode(model, &mut out);
            (model.status, out.finish().unwrap().len())
        });
        assert_eq!(status, Status::Crit, "the worst check: the service is down");
        let bytes = &buf[..len];
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
        assert_eq!(checks[1].status, judged.users[0].status);
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

    // ---- the parser on its own

    const RECORD: &[u8] = b"np1 host=edge-ok t=1795525250067 st=crit up=86400 load=0.12,0.34,0.56 boot=0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 clock=crit:unsynced,sd:n,ne:n,ks:5,kf:40,off_us:0,ppm:0.000,maxe_ms:16000,este_ms:16000,tai:0 ntp=ok,d:chronyd,age_s:none linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:inv,pid:812,start_cs:98765 disk./=ok,mb:258019,free_mb:80719,use:14,ino:3 mem=ok,mb:976,avail_mb:585,swap_mb:100,swfree_mb:97\n";

    #[test]
    fn reads_a_record() {
        let r = parse(RECORD).unwrap();
        assert_eq!(r.host(), Some(&b"edge-ok"[..]));
        assert_eq!(r.t_ms(), Some(1_795_525_250_067));
        assert_eq!(r.status(), Some(Status::Crit));
        assert_eq!(r.boot(), Some(&b"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c"[..]));
        let checks: Vec<super::Check> = r.checks().collect();
        assert_eq!(checks.len(), 6);
        assert_eq!(
            (checks[0].kind, checks[0].status, checks[0].why),
            (&b"clock"[..], Status::Crit, &b"unsynced"[..])
        );
        assert_eq!(checks[0].field(b"maxe_ms"), Some(&b"16000"[..]));
        assert_eq!(checks[3].name, b"node:openclaw-node");
        assert_eq!(checks[3].field(b"pid"), Some(&b"812"[..]));
        assert_eq!(checks[4].name, b"/");
        assert_eq!(checks[0].field(b"nope"), None);
    }

    #[test]
    fn rejects_what_is_not_a_record() {
        assert_eq!(parse(b""), Err(Error::Empty));
        assert_eq!(parse(b"np2 host=a t=1 st=ok"), Err(Error::Version));
        assert_eq!(
            parse(b"np1 host=a t=1 st=ok\nnp1 host=b t=1 st=ok"),
            Err(Error::Syntax)
        );
        assert_eq!(parse(b"np1 host=a t=1 st=ok junk"), Err(Error::Syntax));
        assert_eq!(parse(b"np1 host=a t=1 st=ok =x"), Err(Error::Syntax));
        assert_eq!(parse(b"np1 host=a t=x st=ok"), Err(Error::Missing("t")));
        assert_eq!(parse(b"np1 t=1 st=ok"), Err(Error::Missing("host")));
        assert_eq!(parse(b"np1 host=a t=1 st=fine"), Err(Error::Missing("st")));
        assert_eq!(parse(b"np1 host=\xff t=1 st=ok"), Err(Error::Syntax));
        assert_eq!(parse(&[b'x'; MAX_LEN + 1]), Err(Error::TooLong));
        assert!(parse(b"np1 host=a t=1 st=ok").is_ok());
    }

    #[test]
    fn percent_decoding() {
        let mut buf = [0u8; 16];
        assert_eq!(
            decode(b"h%C3%A9te%3D1", &mut buf),
            Some(&b"h\xc3\xa9te=1"[..])
        );
        assert_eq!(decode(b"bad%zz", &mut buf), None);
        assert_eq!(decode(b"cut%4", &mut buf), None);
        assert_eq!(decode(b"0123456789abcdefg", &mut buf), None);
    }
}
