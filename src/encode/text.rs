//! Escaping shared by the text formats: bytes from the node (host, unit, user, mount) may be
//! anything, and each format has its own quoting rules.
//!
//! Every format writes a name so that its bytes can be recovered exactly, and the same way: valid
//! UTF-8 as it is, escaped by the format's own rules; a byte that is not part of valid UTF-8, a
//! byte the format cannot carry (a control byte with no escape of its own, a backslash that would
//! escape an InfluxDB tag's separator), and `%` itself as `%XX` (uppercase hex), as np1 writes
//! them. Two hosts `edge-\xff` and `edge-\xfe` stay two in every format; `%` is the one printable
//! character a name shows changed (`%25`).

use super::Out;

/// How a format writes one byte of valid UTF-8, given the byte after it (`None` at the end of
/// the text): `None` keeps it; else its replacement, or [`U00`] / [`PERCENT`], which [`write_text`]
/// follows with the byte's two hex digits.
pub type Escape = fn(u8, Option<u8>) -> Option<&'static [u8]>;

/// Writes `bytes` as UTF-8 text in a format's escaping (`escape`), every byte recoverable: see
/// the module's rule.
pub fn write_text(out: &mut Out, bytes: &[u8], escape: Escape) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let hex = |out: &mut Out, prefix: &[u8], b: u8| {
        out.bytes(prefix);
        out.bytes(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    };
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        let invalid = chunk.invalid();
        for (i, &b) in valid.iter().enumerate() {
            // The next byte written: an invalid one follows as `%XX`.
            let next = valid.get(i + 1).copied().or(invalid.first().map(|_| b'%'));
            match if b == b'%' {
                Some(PERCENT)
            } else {
                escape(b, next)
            } {
                Some(prefix @ (U00 | PERCENT)) => hex(out, prefix, b),
                Some(replacement) => out.bytes(replacement),
                None => out.bytes(core::slice::from_ref(&b)),
            }
        }
        for &b in invalid {
            hex(out, PERCENT, b);
        }
    }
}

/// JSON's `\u00XX`: [`write_text`] adds the two hex digits.
pub const U00: &[u8] = b"\\u00";
/// `%XX`, the byte-exact escape of every format: [`write_text`] adds the two hex digits.
pub const PERCENT: &[u8] = b"%";

/// Quotes, backslashes and control bytes (as `\u00XX`), for JSON strings.
pub fn json_escape(b: u8, _: Option<u8>) -> Option<&'static [u8]> {
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        0..=0x1f | 0x7f => Some(U00),
        _ => None,
    }
}

/// Prometheus label values: backslash, double quote and newline; other control bytes `%XX`.
pub fn prom_escape(b: u8, _: Option<u8>) -> Option<&'static [u8]> {
    match b {
        b'\\' => Some(b"\\\\"),
        b'"' => Some(b"\\\""),
        b'\n' => Some(b"\\n"),
        0..=0x1f | 0x7f => Some(PERCENT),
        _ => None,
    }
}

/// InfluxDB tag values, as its line-protocol reference says: comma, equals sign and space get a
/// backslash; a backslash is written as it is (`\x2d` stays `\x2d`, which InfluxDB 1.x and
/// VictoriaMetrics both read as written) except where a reader would take it as an escape:
/// before a backslash, a comma, `=` or a space, or at the end (InfluxDB refuses the line), where
/// it is `%5C`. Control bytes `%XX`.
pub fn influx_tag_escape(b: u8, next: Option<u8>) -> Option<&'static [u8]> {
    match b {
        b',' => Some(b"\\,"),
        b'=' => Some(b"\\="),
        b' ' => Some(b"\\ "),
        b'\\' if matches!(next, None | Some(b'\\' | b',' | b'=' | b' ')) => Some(PERCENT),
        0..=0x1f | 0x7f => Some(PERCENT),
        _ => None,
    }
}

/// InfluxDB string field values: double quote and backslash get a backslash; control bytes
/// `%XX`.
pub fn influx_string_escape(b: u8, _: Option<u8>) -> Option<&'static [u8]> {
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        0..=0x1f | 0x7f => Some(PERCENT),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8], escape: Escape) -> String {
        let mut buf = [0u8; 256];
        let mut out = Out::new(&mut buf);
        write_text(&mut out, bytes, escape);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    /// The module's rule read backwards: `%XX` to its byte, everything else as it is.
    fn unpercent(text: &str) -> Vec<u8> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn escapes() {
        assert_eq!(
            run(b"a\"b\\c\n\x01", json_escape),
            "a\\\"b\\\\c\\u000A\\u0001"
        );
        assert_eq!(run(b"\x1f\x7f\x00", json_escape), "\\u001F\\u007F\\u0000");
        assert_eq!(run(b"caf\xc3\xa9 \xff!", json_escape), "caf\u{e9} %FF!");
        assert_eq!(run(b"a,b=c d", influx_tag_escape), "a\\,b\\=c\\ d");
        assert_eq!(run(b"say \"hi\"", influx_string_escape), "say \\\"hi\\\"");
        assert_eq!(run(b"x\"\\\n\t", prom_escape), "x\\\"\\\\\\n%09");
        assert_eq!(run(b"\xe2\x82", json_escape), "%E2%82");
        assert_eq!(
            run(b"\xe2\x82A\xc0\x80\xf0\x9f\x98\x80", json_escape),
            "%E2%82A%C0%80\u{1f600}"
        );
        assert_eq!(run(b"50% \xed\xa0\x80z", json_escape), "50%25 %ED%A0%80z");
    }

    /// systemd's `\x2d` stays as written; a backslash a reader would take as an escape does not.
    #[test]
    fn influx_tag_backslashes() {
        let cases: [(&[u8], &str); 7] = [
            (b"by\\x2dlabel", "by\\x2dlabel"),
            (b"end\\", "end%5C"),
            (b"a\\\\b", "a%5C\\b"),
            (b"a\\,b", "a%5C\\,b"),
            (b"a\\ b=c", "a%5C\\ b\\=c"),
            (b"a\\\xff", "a\\%FF"),
            (b"%\n", "%25%0A"),
        ];
        for (name, want) in cases {
            assert_eq!(run(name, influx_tag_escape), want);
        }
    }

    /// Whatever the bytes, `%XX` decoding gives them back (after the format's own unescaping,
    /// which these names do not need).
    #[test]
    fn every_name_is_recoverable() {
        let names: [&[u8]; 5] = [b"edge-\xff", b"edge-\xfe", b"100%", b"\xc3", b"ok-\xc3\xa9"];
        for name in names {
            for escape in [
                json_escape as Escape,
                prom_escape,
                influx_tag_escape,
                influx_string_escape,
            ] {
                assert_eq!(unpercent(&run(name, escape)), name);
            }
        }
        assert_ne!(
            run(b"edge-\xff", json_escape),
            run(b"edge-\xfe", json_escape)
        );
    }
}
