//! The native record, `np1`, read back: what the collector receives from agents.
//!
//! A record is one line of space-separated `key=value` tokens whose first token is `np1` (see
//! [`crate::encode::line`] and the README). A check's value is `STATUS[:REASON]` followed by
//! `,field:value` pairs. The parser is total and allocation-free: it validates the shape once,
//! then hands out slices of the input; no input can make it panic.

use crate::num::{parse_u64, trim};
use crate::verdict::Status;

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

fn status_of(word: &[u8]) -> Option<Status> {
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
    use super::*;

    const RECORD: &[u8] = b"np1 host=edge-ok t=1795525250067 st=crit up=86400 load=0.12,0.34,0.56 boot=0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 clock=crit:unsynced,sd:n,ne:n,ks:5,kf:40,off_us:0,ppm:0.000,maxe_ms:16000,este_ms:16000,tai:0 ntp=ok,d:chronyd,age_s:none linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:inv,pid:812,start_cs:98765 disk./=ok,mb:258019,free_mb:80719,use:14,ino:3 mem=ok,mb:976,avail_mb:585,swap_mb:100,swfree_mb:97\n";

    #[test]
    fn reads_a_record() {
        let r = parse(RECORD).unwrap();
        assert_eq!(r.host(), Some(&b"edge-ok"[..]));
        assert_eq!(r.t_ms(), Some(1_795_525_250_067));
        assert_eq!(r.status(), Some(Status::Crit));
        assert_eq!(r.boot(), Some(&b"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c"[..]));
        let checks: Vec<Check> = r.checks().collect();
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
