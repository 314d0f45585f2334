//! Escaping shared by the text formats: bytes from the node (host, unit, user, mount) may be
//! anything, and each format has its own quoting rules.

use super::Out;

/// Writes `bytes` as UTF-8 text: valid UTF-8 as is, each invalid byte as U+FFFD. `escape`
/// returns the replacement for a byte that the format must quote (or `None` to keep it); the
/// replacement [`U00`] is followed by the byte's two hex digits (JSON's `\u00XX`).
pub fn lossy(out: &mut Out, bytes: &[u8], escape: fn(u8) -> Option<&'static [u8]>) {
    for chunk in bytes.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match escape(b) {
                Some(replacement) => {
                    out.bytes(replacement);
                    if replacement == U00 {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        out.bytes(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                    }
                }
                None => out.bytes(core::slice::from_ref(&b)),
            }
        }
        if !chunk.invalid().is_empty() {
            out.str("\u{fffd}");
        }
    }
}

/// The start of JSON's `\u00XX`: [`lossy`] adds the two hex digits.
pub const U00: &[u8] = b"\\u00";

/// Quotes, backslashes and control bytes (as `\u00XX`), for JSON strings.
pub fn json_escape(b: u8) -> Option<&'static [u8]> {
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        0..=0x1f | 0x7f => Some(U00),
        _ => None,
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
        assert_eq!(run(b"\x1f\x7f\x00", json_escape), "\\u001f\\u007f\\u0000");
        assert_eq!(
            run(b"caf\xc3\xa9 \xff!", json_escape),
            "caf\u{e9} \u{fffd}!"
        );
        assert_eq!(run(b"a,b=c d", influx_tag_escape), "a\\,b\\=c\\ d");
        assert_eq!(run(b"say \"hi\"", influx_string_escape), "say \\\"hi\\\"");
        assert_eq!(run(b"x\"\\\n", prom_escape), "x\\\"\\\\\\n");
        assert_eq!(run(b"\xe2\x82", json_escape), "\u{fffd}");
        assert_eq!(
            run(b"\xe2\x82A\xc0\x80\xf0\x9f\x98\x80", json_escape),
            "\u{fffd}A\u{fffd}\u{fffd}\u{1f600}"
        );
        assert_eq!(
            run(b"\xed\xa0\x80z\xf4\x90\x80\x80", json_escape),
            "\u{fffd}\u{fffd}\u{fffd}z\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
        );
    }
}
