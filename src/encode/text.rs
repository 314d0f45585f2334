//! Escaping shared by the text formats: bytes from the node (host, unit, user, mount) may be
//! anything, and each format has its own quoting rules.

use super::Out;

/// Writes `bytes` as UTF-8 text: valid UTF-8 as is, each invalid byte as U+FFFD. `escape`
/// returns the replacement for a byte that the format must quote (or `None` to keep it).
pub fn lossy(out: &mut Out, bytes: &[u8], escape: fn(u8) -> Option<&'static [u8]>) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match core::str::from_utf8(rest) {
            Ok(s) => (s.as_bytes(), 0),
            Err(e) => (
                rest.get(..e.valid_up_to()).unwrap_or(&[]),
                e.error_len().unwrap_or(rest.len() - e.valid_up_to()),
            ),
        };
        for &b in valid {
            match escape(b) {
                Some(replacement) => out.bytes(replacement),
                None => out.bytes(core::slice::from_ref(&b)),
            }
        }
        if bad > 0 {
            out.str("\u{fffd}");
        }
        rest = rest.get(valid.len() + bad..).unwrap_or(&[]);
    }
}

/// Control bytes as `\u00XX` (JSON).
pub fn json_escape(b: u8) -> Option<&'static [u8]> {
    // `\u00XX` for every control byte, six bytes each, in one string (no table of pointers).
    const CONTROL: &[u8; 192] = b"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f";
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        0x7f => Some(b"\\u007f"),
        _ => CONTROL.get(usize::from(b) * 6..usize::from(b) * 6 + 6),
    }
}

/// Prometheus label values: backslash, double quote and newline; other control bytes as `?`.
pub fn prom_escape(b: u8) -> Option<&'static [u8]> {
    match b {
        b'\\' => Some(b"\\\\"),
        b'"' => Some(b"\\\""),
        b'\n' => Some(b"\\n"),
        0..=0x1f | 0x7f => Some(b"?"),
        _ => None,
    }
}

/// InfluxDB tag values: comma, equals sign and space get a backslash; control bytes `?`.
pub fn influx_tag_escape(b: u8) -> Option<&'static [u8]> {
    match b {
        b',' => Some(b"\\,"),
        b'=' => Some(b"\\="),
        b' ' => Some(b"\\ "),
        b'\\' => Some(b"\\\\"),
        0..=0x1f | 0x7f => Some(b"?"),
        _ => None,
    }
}

/// InfluxDB string field values: double quote and backslash get a backslash.
pub fn influx_string_escape(b: u8) -> Option<&'static [u8]> {
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        0..=0x1f | 0x7f => Some(b"?"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8], escape: fn(u8) -> Option<&'static [u8]>) -> String {
        let mut buf = [0u8; 256];
        let mut out = Out::new(&mut buf);
        lossy(&mut out, bytes, escape);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn escapes() {
        assert_eq!(
            run(b"a\"b\\c\n\x01", json_escape),
            "a\\\"b\\\\c\\u000a\\u0001"
        );
        assert_eq!(
            run(b"caf\xc3\xa9 \xff!", json_escape),
            "caf\u{e9} \u{fffd}!"
        );
        assert_eq!(run(b"a,b=c d", influx_tag_escape), "a\\,b\\=c\\ d");
        assert_eq!(run(b"say \"hi\"", influx_string_escape), "say \\\"hi\\\"");
        assert_eq!(run(b"x\"\\\n", prom_escape), "x\\\"\\\\\\n");
        assert_eq!(run(b"\xe2\x82", json_escape), "\u{fffd}");
    }
}
