//! One datagram → one [`Obs`], or the reason it is dropped.
//!
//! `np1` records go through the library's parser ([`nodepulse::encode::line`]); the agent's JSON
//! object (`--format json`) through serde_json (total on any input; nesting deeper than its
//! recursion limit of 128 is an error). Both give the same observation.

use crate::fleet::{worse, Drop, Metrics, Obs, Problem};
use nodepulse::encode::line as np1;
use nodepulse::num::{parse_hundredths, parse_i64, parse_u64};
use nodepulse::sink::mac;
use nodepulse::verdict::Status;
use serde_json::Value;
use std::borrow::Cow;

/// Largest datagram accepted (the parser's limit and a newline).
pub const MAX_DATAGRAM: usize = np1::MAX_LEN + 1;
/// Longest hostname kept (percent-encoded).
pub const MAX_HOST: usize = 255;

fn code(s: Status) -> u8 {
    s.code()
}

fn code_of(word: &str) -> Option<u8> {
    np1::status_of(word.as_bytes()).map(code)
}

fn hex16(hex: &[u8]) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

fn merge(slot: &mut Option<u8>, status: u8) {
    *slot = Some(match *slot {
        Some(s) => worse(s, status),
        None => status,
    });
}

/// A check's status in the node's metrics, whatever the record's format: the worst status of its
/// kind, and the problem a warning or critical one raises (a critical clock that is `unsynced` is
/// a problem of its own; every service down is counted). `kind` is np1's key (`clock`, `ntp`,
/// `linger`, `svc`, `disk`, `mem`); JSON's members map onto it.
fn count_check(m: &mut Metrics, problems: &mut u16, kind: &[u8], st: u8, why: &[u8]) {
    let (slot, problem) = match kind {
        b"clock" if st == 2 && why == b"unsynced" => (&mut m.clock, Problem::Unsynced),
        b"clock" => (&mut m.clock, Problem::Clock),
        b"ntp" => (&mut m.timesync, Problem::Timesync),
        b"linger" => (&mut m.linger, Problem::Linger),
        b"svc" => (&mut m.service, Problem::Service),
        b"disk" => (&mut m.disk, Problem::Disk),
        b"mem" => (&mut m.memory, Problem::Memory),
        _ => return,
    };
    merge(slot, st);
    if st == 1 || st == 2 {
        *problems |= problem.bit();
        if problem == Problem::Service {
            m.services_down += 1;
        }
    }
}

/// One np1 check token (`KIND[.NAME]=STATUS[:WHY][,FIELD:VALUE]...`) in the node's metrics:
/// [`count_check`], then the values the fleet keeps (`field` reads one of the token's fields).
fn np1_check<'a>(
    m: &mut Metrics,
    problems: &mut u16,
    kind: &[u8],
    status: Status,
    why: &[u8],
    field: impl Fn(&[u8]) -> Option<&'a [u8]>,
) {
    count_check(m, problems, kind, code(status), why);
    match kind {
        b"clock" => {
            m.clock_offset_us = field(b"off_us").and_then(parse_i64);
            m.clock_maxerror_ms = field(b"maxe_ms").and_then(parse_i64);
        }
        b"disk" => {
            if let Some(used) = field(b"use").and_then(parse_u64) {
                m.disk_used_pct_max = Some(m.disk_used_pct_max.unwrap_or(0).max(used));
            }
        }
        b"mem" => {
            m.memory_total_mb = field(b"mb").and_then(parse_u64);
            m.memory_avail_mb = field(b"avail_mb").and_then(parse_u64);
        }
        _ => {}
    }
}

/// Parses a datagram's bytes.
/// With a shared key: checks the ` mac=HEX` that ends an np1 record (HMAC-SHA256 of every byte
/// before it, see the agent's `--key-file`) and returns the record without it.
pub fn verify<'b>(bytes: &'b [u8], key: &[u8]) -> Result<&'b [u8], Drop> {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let at = line
        .windows(5)
        .rposition(|w| w == b" mac=")
        .ok_or(Drop::NoMac)?;
    let (body, tag) = (&line[..at], &line[at + 5..]);
    if mac::verify(key, body, tag) {
        Ok(body)
    } else {
        Err(Drop::BadMac)
    }
}

pub fn parse(bytes: &[u8]) -> Result<Obs<'_>, Drop> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(Drop::Oversize);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Drop::Utf8)?;
    let trimmed = text.trim_start();
    let obs = if trimmed.starts_with('{') {
        from_json(trimmed)?
    } else {
        from_np1(bytes)?
    };
    if obs.host.len() > MAX_HOST {
        return Err(Drop::HostTooLong);
    }
    Ok(obs)
}

fn np1_error(e: np1::Error) -> Drop {
    match e {
        np1::Error::Empty => Drop::Empty,
        np1::Error::TooLong => Drop::Oversize,
        np1::Error::Version => Drop::Version,
        np1::Error::Syntax => Drop::Syntax,
        np1::Error::Missing("host") => Drop::MissingHost,
        np1::Error::Missing("t") => Drop::MissingT,
        np1::Error::Missing(_) => Drop::MissingStatus,
    }
}

/// 32 hex digits (already checked by [`np1::Np1::boot`]) → 16 bytes.
fn hex16_checked(hex: &[u8]) -> [u8; 16] {
    fn nibble(b: u8) -> u8 {
        match b {
            b'0'..=b'9' => b - b'0',
            // A letter a-f or A-F, lowercased.
            _ => (b | 0x20).wrapping_sub(b'a').wrapping_add(10),
        }
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *o = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    out
}

/// The value of `name:` among a check's `,`-separated fields (as [`np1::Check::field`]).
fn check_field<'a>(fields: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    fields.split(|&b| b == b',').find_map(|pair| {
        let colon = memchr::memchr(b':', pair)?;
        (&pair[..colon] == name).then(|| &pair[colon + 1..])
    })
}

/// An np1 record: validated by the library's parser ([`np1::parse`]), then read in one pass over
/// its tokens. The parser's accessors ([`np1::Np1::get`], [`np1::Np1::checks`]) each scan the
/// record from its start, which made reading one record several passes over its ~400 bytes
/// (most of the collector's CPU time). The pass below gives the same values: the first token
/// of each name, and the checks as [`np1::Np1::checks`] splits them (the test
/// `one_pass_reads_what_the_accessors_read` compares both on every golden record).
fn from_np1(bytes: &[u8]) -> Result<Obs<'_>, Drop> {
    let r = np1::parse(bytes).map_err(np1_error)?;
    let host = r.host().ok_or(Drop::MissingHost)?;
    // The parser admits only printable ASCII.
    let host = std::str::from_utf8(host).map_err(|_| Drop::Syntax)?;
    let mut obs = Obs {
        host: Cow::Borrowed(host),
        t_ms: r.t_ms().ok_or(Drop::MissingT)?,
        status: r.status().map(code).ok_or(Drop::MissingStatus)?,
        boot: None,
        seq: None,
        problems: 0,
        metrics: Metrics::default(),
    };
    // The same body as the parser's: after `np1 `, without the final newline.
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let body = line.get(4..).unwrap_or_default();
    let m = &mut obs.metrics;
    let (mut seen_seq, mut seen_up, mut seen_load, mut seen_boot) = (false, false, false, false);
    let mut problems = 0u16;
    let mut rest = body;
    while !rest.is_empty() {
        let (token, next) = match memchr::memchr(b' ', rest) {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (rest, &b""[..]),
        };
        rest = next;
        // Every token has a `=` (the parser checked).
        let Some(eq) = memchr::memchr(b'=', token) else {
            continue;
        };
        let (key, value) = (&token[..eq], &token[eq + 1..]);
        match key {
            b"seq" if !seen_seq => {
                seen_seq = true;
                obs.seq = parse_u64(value);
            }
            b"up" if !seen_up => {
                seen_up = true;
                m.uptime_s = parse_u64(value);
            }
            b"load" if !seen_load => {
                seen_load = true;
                let mut parts = value.split(|&b| b == b',').map(parse_hundredths);
                if let (Some(Some(a)), Some(Some(b)), Some(Some(c))) =
                    (parts.next(), parts.next(), parts.next())
                {
                    m.load = Some([a, b, c]);
                }
            }
            b"boot" if !seen_boot => {
                seen_boot = true;
                if value.len() == 32 && value.iter().all(u8::is_ascii_hexdigit) {
                    obs.boot = Some(hex16_checked(value));
                }
            }
            b"st" => continue,
            _ => {}
        }
        // A check: `KIND[.NAME]=STATUS[:WHY][,FIELD:VALUE]...`.
        let (head, fields) = match memchr::memchr(b',', value) {
            Some(comma) => (&value[..comma], &value[comma + 1..]),
            None => (value, &b""[..]),
        };
        let (word, why) = match memchr::memchr(b':', head) {
            Some(colon) => (&head[..colon], &head[colon + 1..]),
            None => (head, &b""[..]),
        };
        let Some(status) = np1::status_of(word) else {
            continue;
        };
        let kind = match memchr::memchr(b'.', key) {
            Some(dot) => &key[..dot],
            None => key,
        };
        np1_check(m, &mut problems, kind, status, why, |name| {
            check_field(fields, name)
        });
    }
    obs.problems = problems;
    Ok(obs)
}

/// Percent-encodes a decoded name exactly as the agent's `np1` encoder does.
pub fn escape_host(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@' | b'+' | b'~')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The node's key from a JSON `host`: the agent writes a name's invalid UTF-8 bytes and `%` as
/// `%XX` in every text format, so the name's bytes come back by undoing that, then take np1's
/// encoding. `edge-%FF` and `edge-%FE` stay two nodes, and the same node as over np1. A `%`
/// that starts no `%XX` (another sender's literal name) is kept as it is.
fn json_host(text: &str) -> String {
    let mut buf = vec![0u8; text.len()];
    match np1::decode(text.as_bytes(), &mut buf) {
        Some(bytes) => escape_host(bytes),
        None => escape_host(text.as_bytes()),
    }
}

fn status_field(v: &Value) -> Option<u8> {
    v.get("status").and_then(Value::as_str).and_then(code_of)
}

/// The exact integer a JSON number's text denotes, whatever its form (`1900`, `1.9e3`,
/// `19000e-1`, `-0`), or `None` when it has a fraction (`1.5`, `1e-3`) or is past `i128`. The text
/// is serde_json's (already checked against the JSON grammar; `arbitrary_precision` keeps it as
/// written, so no digit is lost to a float on the way).
fn exact_integer(text: &str) -> Option<i128> {
    let (negative, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let scale = exp.checked_sub(frac.len() as i64)?;
    let kept = if scale >= 0 {
        digits
    } else {
        let cut = digits
            .len()
            .saturating_sub(scale.unsigned_abs().try_into().ok()?);
        if digits[cut..].bytes().any(|d| d != b'0') {
            return None;
        }
        &digits[..cut]
    };
    let mut value: i128 = if kept.is_empty() {
        0
    } else {
        kept.parse().ok()?
    };
    if value != 0 && scale > 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?;
    }
    Some(if negative { -value } else { value })
}

/// An integer field: absent (or not a number) is `None`; a number that is not an exact integer in
/// `T`'s range drops the record (`inexact_number`): `1.5` as a timestamp or a byte count is a
/// sender's bug, and truncating it would report a wrong skew or size as if it were measured.
fn int_field<T: TryFrom<i128>>(v: &Value, key: &str) -> Result<Option<T>, Drop> {
    match v.get(key) {
        Some(Value::Number(n)) => exact_integer(&n.to_string())
            .and_then(|i| T::try_from(i).ok())
            .map(Some)
            .ok_or(Drop::Inexact),
        _ => Ok(None),
    }
}

/// Hundredths of a non-negative decimal (`0.12` → 12), from the number's JSON text.
fn hundredths_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => parse_hundredths(n.to_string().as_bytes()),
        _ => None,
    }
}

fn items(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn from_json(text: &str) -> Result<Obs<'static>, Drop> {
    let v: Value = serde_json::from_str(text).map_err(|_| Drop::Json)?;
    if !v.is_object() {
        return Err(Drop::Json);
    }
    match v.get("v").and_then(Value::as_str) {
        Some("np1") => {}
        _ => return Err(Drop::Version),
    }
    let host = match v.get("host").and_then(Value::as_str) {
        Some(h) if !h.is_empty() && h != "-" => json_host(h),
        _ => return Err(Drop::MissingHost),
    };
    let t_ms = int_field::<u64>(&v, "t_ms")?.ok_or(Drop::MissingT)?;
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .and_then(code_of)
        .ok_or(Drop::MissingStatus)?;
    let mut m = Metrics::default();
    let mut problems = 0u16;
    let mut boot = None;
    if let Some(sys) = v.get("system") {
        boot = sys
            .get("boot_id")
            .and_then(Value::as_str)
            .and_then(|s| hex16(s.as_bytes()));
        m.uptime_s = int_field(sys, "uptime_s")?;
        if let (Some(a), Some(b), Some(c)) = (
            sys.get("load1").and_then(hundredths_of),
            sys.get("load5").and_then(hundredths_of),
            sys.get("load15").and_then(hundredths_of),
        ) {
            m.load = Some([a, b, c]);
        }
    }
    // Each check object (an array of them for users, services, disks) under np1's kind.
    let members = [
        ("clock", &b"clock"[..], false),
        ("timesync", b"ntp", false),
        ("users", b"linger", true),
        ("services", b"svc", true),
        ("disks", b"disk", true),
        ("memory", b"mem", false),
    ];
    for (member, kind, list) in members {
        let checks = match v.get(member) {
            Some(one) if !list => core::slice::from_ref(one),
            found => items(found),
        };
        for c in checks {
            if let Some(st) = status_field(c) {
                let why = c.get("why").and_then(Value::as_str).unwrap_or("");
                count_check(&mut m, &mut problems, kind, st, why.as_bytes());
            }
        }
    }
    if let Some(c) = v.get("clock") {
        m.clock_offset_us = int_field(c, "offset_us")?;
        m.clock_maxerror_ms = int_field::<i64>(c, "maxerror_us")?.map(|us| us / 1000);
    }
    for d in items(v.get("disks")) {
        if let Some(used) = int_field::<u64>(d, "used_pct")? {
            m.disk_used_pct_max = Some(m.disk_used_pct_max.unwrap_or(0).max(used));
        }
    }
    if let Some(mem) = v.get("memory") {
        m.memory_total_mb = int_field::<u64>(mem, "total_bytes")?.map(|b| b >> 20);
        m.memory_avail_mb = int_field::<u64>(mem, "avail_bytes")?.map(|b| b >> 20);
    }
    Ok(Obs {
        host: Cow::Owned(host),
        t_ms,
        status,
        boot,
        // `run.seq` (agents before the run's history was a section: top-level `seq`).
        seq: match v.get("run") {
            Some(run) => int_field(run, "seq")?,
            None => int_field(&v, "seq")?,
        },
        problems,
        metrics: m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GHOST: &str = "np1 host=edge-ghost t=1795526382936 st=crit up=86400 load=0.12,0.34,0.56 boot=1b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 clock=crit:unsynced,sd:n,ne:n,ks:5,kf:40,off_us:0,ppm:0.000,maxe_ms:16000,este_ms:16000,tai:0 ntp=warn:never-synced,d:timesyncd,age_s:none linger.node=crit:linger-off,uid:1000,lg:off,st:offline svc.node:openclaw-node=crit:down,via:inv,pid:-,start_cs:- disk./=ok,mb:258019,free_mb:80719,use:14,ino:3 mem=ok,mb:976,avail_mb:585,swap_mb:100,swfree_mb:97\n";

    const GHOST_JSON: &str = r#"{"v":"np1","host":"edge-ghost","t_ms":1795526382936,"status":"crit","system":{"uptime_s":86400,"load1":0.12,"load5":0.34,"load15":0.56,"boot_id":"1b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c","kernel":"6.1.0-28-arm64","arch":"x86_64"},"clock":{"status":"crit","why":"unsynced","sync":"no","sd_synced":false,"ne_synced":false,"kstate":5,"kstatus":64,"offset_us":0,"freq_ppm":0.000,"maxerror_us":16000000,"esterror_us":16000000,"tai_s":0,"errno":null},"timesync":{"status":"warn","why":"never-synced","daemon":"timesyncd","synced_age_s":null},"users":[{"user":"node","status":"crit","why":"linger-off","uid":1000,"linger":"off","state":"offline"}],"services":[{"service":"openclaw-node","user":"node","status":"crit","why":"down","via":"inv","pid":null,"start_cs":null}],"disks":[{"mount":"/","status":"ok","size_bytes":270553174016,"avail_bytes":84640000000,"used_pct":14,"inodes_used_pct":3,"read_only":false,"errno":null}],"memory":{"status":"ok","total_bytes":1023410176,"avail_bytes":613416960,"avail_estimated":false,"swap_total_bytes":104857600,"swap_free_bytes":102400000}}"#;

    /// The accessor-based reading (before the one-pass one), kept to compare against.
    fn from_np1_reference(bytes: &[u8]) -> Result<Obs<'_>, Drop> {
        let r = np1::parse(bytes).map_err(np1_error)?;
        let host = r.host().ok_or(Drop::MissingHost)?;
        // The parser admits only printable ASCII.
        let host = std::str::from_utf8(host).map_err(|_| Drop::Syntax)?;
        let mut obs = Obs {
            host: Cow::Borrowed(host),
            t_ms: r.t_ms().ok_or(Drop::MissingT)?,
            status: r.status().map(code).ok_or(Drop::MissingStatus)?,
            boot: r.boot().and_then(hex16),
            seq: r.get(b"seq").and_then(parse_u64),
            problems: 0,
            metrics: Metrics::default(),
        };
        let m = &mut obs.metrics;
        m.uptime_s = r.get(b"up").and_then(parse_u64);
        if let Some(load) = r.get(b"load") {
            let mut parts = load.split(|&b| b == b',').map(parse_hundredths);
            if let (Some(Some(a)), Some(Some(b)), Some(Some(c))) =
                (parts.next(), parts.next(), parts.next())
            {
                m.load = Some([a, b, c]);
            }
        }
        let mut problems = 0u16;
        for c in r.checks() {
            np1_check(m, &mut problems, c.kind, c.status, c.why, |name| {
                c.field(name)
            });
        }
        obs.problems = problems;
        Ok(obs)
    }

    #[test]
    fn one_pass_reads_what_the_accessors_read() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
        let mut records: Vec<Vec<u8>> = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "line") {
                records.push(std::fs::read(p).unwrap());
            }
        }
        assert!(records.len() >= 10);
        records.push(GHOST.as_bytes().to_vec());
        // First token of a name wins; a bad first value is not replaced by a later good one.
        records.push(b"np1 host=a t=1 st=ok seq=x seq=5 up=1 up=2 boot=zz boot=0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c".to_vec());
        records.push(b"np1 host=a t=1 st=ok seq=7 seq=ok load=1,2 load=1,2,3 clock=warn mem.x=crit:low,mb:5,avail_mb:1,mb:9 up=ok".to_vec());
        records.push(b"np1 host=a t=1 st=ok boot=0B6F3A1C2D4E4F5A8B9C0D1E2F3A4B5C disk=ok,use:5 disk.b=warn,use:9,use:1 svc.q=crit svc.r=warn:x:y,a:b".to_vec());
        for rec in &records {
            let mut variants = vec![rec.clone()];
            for cut in (0..rec.len()).step_by(7) {
                variants.push(rec[..cut].to_vec());
            }
            for v in variants {
                assert_eq!(
                    from_np1(&v),
                    from_np1_reference(&v),
                    "{}",
                    String::from_utf8_lossy(&v)
                );
            }
        }
    }

    #[test]
    fn np1_and_json_give_the_same_observation() {
        let a = parse(GHOST.as_bytes()).unwrap();
        let b = parse(GHOST_JSON.as_bytes()).unwrap();
        assert_eq!(a.host, "edge-ghost");
        assert_eq!(a.status, 2);
        assert_eq!(a.boot.unwrap()[0], 0x1b);
        let want = Problem::Unsynced.bit()
            | Problem::Timesync.bit()
            | Problem::Linger.bit()
            | Problem::Service.bit();
        assert_eq!(a.problems, want);
        assert_eq!(a.metrics.load, Some([12, 34, 56]));
        assert_eq!(a.metrics.disk_used_pct_max, Some(14));
        assert_eq!(a, b);
    }

    #[test]
    fn macs() {
        let key = b"k3y";
        let body = b"np1 host=a t=1 st=ok";
        let tag = mac::tag(key, body);
        let mut signed = body.to_vec();
        signed.extend_from_slice(b" mac=");
        signed.extend_from_slice(&tag);
        signed.push(b'\n');
        assert_eq!(verify(&signed, key), Ok(&body[..]));
        assert_eq!(verify(&signed, b"other"), Err(Drop::BadMac));
        assert_eq!(verify(body, key), Err(Drop::NoMac));
        let mut forged = signed.clone();
        forged[9] = b'b'; // host=b
        assert_eq!(verify(&forged, key), Err(Drop::BadMac));
        assert_eq!(verify(b"{\"v\":\"np1\"}", key), Err(Drop::NoMac));
        assert_eq!(verify(b" mac=", key), Err(Drop::BadMac));
    }

    #[test]
    fn drop_reasons() {
        assert_eq!(parse(b"").unwrap_err(), Drop::Empty);
        assert_eq!(parse(&[b'x'; 70000]).unwrap_err(), Drop::Oversize);
        assert_eq!(parse(b"np1 host=\xff t=1 st=ok").unwrap_err(), Drop::Utf8);
        assert_eq!(parse(b"np2 host=a t=1 st=ok").unwrap_err(), Drop::Version);
        assert_eq!(parse(b"np1 t=1 st=ok").unwrap_err(), Drop::MissingHost);
        assert_eq!(parse(b"np1 host=a st=ok").unwrap_err(), Drop::MissingT);
        assert_eq!(parse(b"np1 host=a t=1").unwrap_err(), Drop::MissingStatus);
        assert_eq!(parse(b"np1 host=a t=1 st=ok x").unwrap_err(), Drop::Syntax);
        assert_eq!(parse(b"{\"v\":").unwrap_err(), Drop::Json);
        assert_eq!(parse(b"{\"v\":\"np2\"}").unwrap_err(), Drop::Version);
        assert_eq!(
            parse(b"{\"v\":\"np1\",\"t_ms\":1,\"status\":\"ok\"}").unwrap_err(),
            Drop::MissingHost
        );
        let long = format!("np1 host={} t=1 st=ok", "h".repeat(300));
        assert_eq!(parse(long.as_bytes()).unwrap_err(), Drop::HostTooLong);
        let seq = parse(b"np1 host=a t=1 st=warn seq=42").unwrap();
        assert_eq!((seq.seq, seq.status, seq.boot), (Some(42), 1, None));
    }

    #[test]
    fn json_nesting_and_numbers() {
        let deep = "{\"a\":[".repeat(1000) + &"]}".repeat(1000);
        assert_eq!(parse(deep.as_bytes()).unwrap_err(), Drop::Json);
        let j = r#"{"v":"np1","host":"h","t_ms":1.9e3,"status":"ok","system":{"load1":0.5,"load5":1,"load15":2.25}}"#;
        let o = parse(j.as_bytes()).unwrap();
        assert_eq!((o.t_ms, o.metrics.load), (1900, Some([50, 100, 225])));
    }

    #[test]
    fn exact_integers_in_any_form() {
        for (text, want) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("1900", Some(1900)),
            ("1.9e3", Some(1900)),
            ("1.900E+3", Some(1900)),
            ("19000e-1", Some(1900)),
            ("1796192433e3", Some(1_796_192_433_000)),
            ("1.796192433e12", Some(1_796_192_433_000)),
            ("0.0e-7", Some(0)),
            ("0e999999", Some(0)),
            ("-25e1", Some(-250)),
            ("1.5", None),
            ("1e-3", None),
            ("1796192433000.0000000001", None),
            ("1.796e12", Some(1_796_000_000_000)),
            ("1e39", None),
            ("1e99999999999999999999", None),
        ] {
            assert_eq!(exact_integer(text), want, "{text}");
        }
    }

    #[test]
    fn inexact_integer_fields_drop_the_record() {
        let base = r#"{"v":"np1","host":"h","status":"ok","t_ms":T}"#;
        let with = |t: &str| parse(base.replace('T', t).as_bytes()).map(|o| o.t_ms);
        assert_eq!(with("1796192433e3"), Ok(1_796_192_433_000));
        for bad in [
            "17961924335e-1",
            "1.5",
            "-1",
            "1e20",
            "18446744073709551616",
        ] {
            assert_eq!(with(bad), Err(Drop::Inexact), "{bad}");
        }
        for (key, obj) in [
            ("uptime_s", "system"),
            ("offset_us", "clock"),
            ("maxerror_us", "clock"),
            ("total_bytes", "memory"),
            ("avail_bytes", "memory"),
        ] {
            let j = format!(
                r#"{{"v":"np1","host":"h","status":"ok","t_ms":1,"{obj}":{{"{key}":0.5}}}}"#
            );
            assert_eq!(parse(j.as_bytes()).unwrap_err(), Drop::Inexact, "{key}");
        }
        let j = r#"{"v":"np1","host":"h","status":"ok","t_ms":1,"disks":[{"used_pct":14.2}]}"#;
        assert_eq!(parse(j.as_bytes()).unwrap_err(), Drop::Inexact);
        let j = r#"{"v":"np1","host":"h","status":"ok","t_ms":1,"seq":2.5}"#;
        assert_eq!(parse(j.as_bytes()).unwrap_err(), Drop::Inexact);
        let j = r#"{"v":"np1","host":"h","status":"ok","t_ms":1,"run":{"seq":2.5}}"#;
        assert_eq!(parse(j.as_bytes()).unwrap_err(), Drop::Inexact);
        let j = r#"{"v":"np1","host":"h","status":"ok","t_ms":1,"run":{"seq":7,"gap_s":60}}"#;
        assert_eq!(parse(j.as_bytes()).unwrap().seq, Some(7));
        // A string where a number belongs is not a number: the field is unknown, as before.
        let j = r#"{"v":"np1","host":"h","status":"ok","t_ms":1,"seq":"2.5"}"#;
        assert_eq!(parse(j.as_bytes()).unwrap().seq, None);
    }

    #[test]
    fn json_host_is_encoded_like_np1() {
        let j = r#"{"v":"np1","host":"h\u00e9 1","t_ms":1,"status":"ok"}"#;
        assert_eq!(parse(j.as_bytes()).unwrap().host, "h%C3%A9%201");
        // Invalid UTF-8 and % arrive as %XX: the bytes, and so the node, are np1's.
        let host = |h: &str| {
            let j = format!(r#"{{"v":"np1","host":"{h}","t_ms":1,"status":"ok"}}"#);
            parse(j.as_bytes()).unwrap().host.into_owned()
        };
        assert_eq!(host("edge-%FF"), "edge-%FF");
        assert_eq!(host("edge-%FE"), "edge-%FE");
        assert_eq!(host("100%25"), "100%25");
        assert_eq!(host("odd%"), "odd%25");
        let np1 = parse(b"np1 host=edge-%FF t=1 st=ok").unwrap();
        assert_eq!(np1.host, host("edge-%FF"));
    }

    #[test]
    fn the_largest_datagram_is_read_and_one_byte_more_is_oversize() {
        // An np1 line of exactly np1::MAX_LEN bytes, and its newline: MAX_DATAGRAM bytes.
        let head = "np1 host=a t=1 st=ok x=";
        let line = format!("{head}{}", "y".repeat(np1::MAX_LEN - head.len()));
        let datagram = format!("{line}\n");
        assert_eq!(datagram.len(), MAX_DATAGRAM);
        assert_eq!(parse(datagram.as_bytes()).map(|o| o.t_ms), Ok(1));
        assert_eq!(
            parse(format!("{datagram} ").as_bytes()).unwrap_err(),
            Drop::Oversize
        );
        // JSON has no parser limit of its own: the datagram's size is the limit.
        let json = r#"{"v":"np1","host":"a","t_ms":1,"status":"ok"}"#;
        let fits = format!("{json}{}", " ".repeat(MAX_DATAGRAM - json.len()));
        assert_eq!(parse(fits.as_bytes()).map(|o| o.t_ms), Ok(1));
        assert_eq!(
            parse(format!("{fits} ").as_bytes()).unwrap_err(),
            Drop::Oversize
        );
    }

    #[test]
    fn a_host_name_of_max_host_bytes_is_kept_and_one_more_is_refused() {
        let with = |len: usize| {
            let host = "h".repeat(len);
            let np1 = parse(format!("np1 host={host} t=1 st=ok").as_bytes()).map(|o| o.host.len());
            let json = format!(r#"{{"v":"np1","host":"{host}","t_ms":1,"status":"ok"}}"#);
            (np1, parse(json.as_bytes()).map(|o| o.host.len()))
        };
        assert_eq!(with(MAX_HOST), (Ok(MAX_HOST), Ok(MAX_HOST)));
        let refused = Err(Drop::HostTooLong);
        assert_eq!(with(MAX_HOST + 1), (refused, refused));
        for host in ["", "-"] {
            let j = format!(r#"{{"v":"np1","host":"{host}","t_ms":1,"status":"ok"}}"#);
            assert_eq!(
                parse(j.as_bytes()).unwrap_err(),
                Drop::MissingHost,
                "{host:?}"
            );
        }
    }

    #[test]
    fn each_check_raises_its_own_problem_and_keeps_its_worst_status() {
        let obs = |checks: &str| {
            let record = format!("np1 host=a t=1 st=crit {checks}");
            let o = parse(record.as_bytes()).unwrap();
            (o.problems, o.metrics)
        };
        // A critical clock is unsynced only when it says so; any other bad clock is `clock`.
        for (check, problem) in [
            ("clock=crit:unsynced", Problem::Unsynced),
            ("clock=crit:offset", Problem::Clock),
            ("clock=warn:unsynced", Problem::Clock),
            ("clock=warn:maxerror", Problem::Clock),
            ("ntp=warn:no-daemon", Problem::Timesync),
            ("linger.u=crit:linger-off", Problem::Linger),
            ("svc.x=crit:down", Problem::Service),
            ("disk./=warn:space", Problem::Disk),
            ("mem=crit:available", Problem::Memory),
        ] {
            assert_eq!(obs(check).0, problem.bit(), "{check}");
        }
        let (problems, m) = obs("clock=ok ntp=ok linger.u=ok svc.x=unknown disk./=ok mem=ok");
        assert_eq!(problems, 0, "ok and unknown raise nothing");
        assert_eq!(
            (m.clock, m.timesync, m.linger, m.service, m.disk, m.memory),
            (Some(0), Some(0), Some(0), Some(3), Some(0), Some(0))
        );
        // Several checks of a kind: the worst of them, crit > warn > unknown > ok.
        for (disks, worst) in [
            ("disk./=warn disk./data=crit disk./x=unknown", 2),
            ("disk./=unknown disk./data=warn", 1),
            ("disk./=ok disk./data=unknown", 3),
            ("disk./=ok disk./data=ok", 0),
        ] {
            assert_eq!(obs(disks).1.disk, Some(worst), "{disks}");
        }
        let (problems, m) = obs("svc.a=crit:down svc.b=warn:unreadable svc.c=ok");
        assert_eq!(
            (problems, m.services_down, m.service),
            (Problem::Service.bit(), 2, Some(2))
        );
    }

    #[test]
    fn never_panics_on_prefixes_and_bit_flips() {
        for src in [GHOST, GHOST_JSON] {
            let b = src.as_bytes();
            for cut in 0..b.len() {
                let _ = parse(&b[..cut]);
            }
            let mut m = b.to_vec();
            for i in 0..m.len() {
                let old = m[i];
                for x in [0u8, b' ', b'=', b',', b':', b'"', b'{', 0xff] {
                    m[i] = x;
                    let _ = parse(&m);
                }
                m[i] = old;
            }
        }
    }
}
