//! The tag an agent appends to its `np1` record when it shares a key with the collector
//! (`--key-file`), and the collector's check of it.
//!
//! The tag is ` mac=` followed by 64 lowercase hex digits: HMAC-SHA256 (RFC 2104, FIPS 180-4)
//! under the key of every byte of the line before ` mac=`, that is the line without its final
//! newline. [`tag`] gives the 64 digits; the caller writes ` mac=` and the newline around them.
//! [`verify`] checks 64 digits in constant time.
//!
//! SHA-256 and HMAC are RustCrypto's `sha2` and `hmac` crates. No allocation, no panic.
//!
//! # References
//! - RFC 2104 (HMAC); RFC 4231 (HMAC-SHA256 test vectors); FIPS 180-4 (SHA-256)

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of `line` under `key`, or `None` if the key is refused. HMAC takes a key of any
/// length (a longer one than the hash's block is hashed first), so it never is. (The agent's
/// [`tag`] keeps its MAC where it made it: returned in an `Option`, the state is copied.)
fn hmac(key: &[u8], line: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(line);
    Some(mac)
}

/// The 64 lowercase hex digits of HMAC-SHA256(`key`, `line`); `line` is the record without
/// its final newline. (Were the key refused, 64 zeros, which [`verify`] never accepts.)
pub fn tag(key: &[u8], line: &[u8]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; 64];
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
        mac.update(line);
        for (pair, byte) in out.chunks_exact_mut(2).zip(mac.finalize().into_bytes()) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 15)];
        }
    }
    out
}

/// Whether `hex_tag` is [`tag`]`(key, line)`: exactly 64 lowercase hex digits (anything else is
/// refused), compared with the computed HMAC in time independent of where they differ.
pub fn verify(key: &[u8], line: &[u8], hex_tag: &[u8]) -> bool {
    let Some(want) = unhex(hex_tag) else {
        return false;
    };
    hmac(key, line).is_some_and(|mac| mac.verify_slice(&want).is_ok())
}

/// The 32 bytes of 64 lowercase hex digits.
fn unhex(hex: &[u8]) -> Option<[u8; 32]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(key: &[u8], data: &[u8]) -> String {
        String::from_utf8(tag(key, data).to_vec()).unwrap()
    }

    /// RFC 4231, section 4: the HMAC-SHA256 of every test case.
    #[test]
    fn rfc4231_vectors() {
        // 1
        assert_eq!(
            hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // 2: a key shorter than the output
        assert_eq!(
            hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // 3
        assert_eq!(
            hex(&[0xaa; 20], &[0xdd; 50]),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        );
        // 4
        let key: Vec<u8> = (0x01..=0x19).collect();
        assert_eq!(
            hex(&key, &[0xcd; 50]),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        );
        // 5: the RFC gives only the first 128 bits
        assert!(hex(&[0x0c; 20], b"Test With Truncation")
            .starts_with("a3b6167473100ee06e0c796c2955552b"));
        // 6: a key longer than the block (hashed first)
        assert_eq!(
            hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // 7: a key and data longer than the block
        assert_eq!(
            hex(
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size \
                  data. The key needs to be hashed before being used by the HMAC algorithm."
            ),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
    }

    /// The tag the hand-written SHA-256/HMAC this module replaced gave for a golden `np1` line
    /// (tests/golden/busybox-down.line, newline stripped) under a key file's bytes: agents
    /// built before and after tag a record alike.
    #[test]
    fn same_tag_as_before() {
        let line = b"np1 host=edge-bbdown t=1764000000123 st=crit ntp=ok,d:ntpd,age_s:n/a \
                     svc.openclaw-node=crit:down,via:proc";
        assert_eq!(
            hex(b"edge-fleet-key\n", line),
            "04366e8cdf021bcda0e2b09fb683d0c93efa041608d5be5adb791c84fc710f03"
        );
        assert_eq!(
            hex(&[0x5a; 100], line),
            "ee4c16d6030784d7ed06cd71a789544eed500f612e6b80f8f86bf62411a2b705"
        );
    }

    #[test]
    fn verify_accepts_only_the_tag() {
        let (key, line) = (b"k3y", b"np1 host=a t=1 st=ok");
        let good = tag(key, line);
        assert!(verify(key, line, &good));
        assert!(!verify(b"other", line, &good));
        assert!(!verify(key, b"np1 host=b t=1 st=ok", &good));
        // One digit changed, in every place.
        for i in 0..64 {
            let mut bad = good;
            bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
            assert!(!verify(key, line, &bad), "digit {i}");
        }
        // Wrong length, not hex, upper case.
        assert!(!verify(key, line, b""));
        assert!(!verify(key, line, &good[..63]));
        assert!(!verify(key, line, &[&good[..], b"0"].concat()));
        let mut x = good;
        x[10] = b'g';
        assert!(!verify(key, line, &x));
        let upper = good.to_ascii_uppercase();
        assert_ne!(upper, good, "the tag has a digit a-f");
        assert!(!verify(key, line, &upper));
        // The empty key and the empty line are keys and lines like any other.
        assert!(verify(b"", b"", &tag(b"", b"")));
    }

    #[test]
    fn unhex_digits() {
        assert_eq!(unhex(&[b'0'; 64]), Some([0; 32]));
        assert_eq!(unhex(&[b'f'; 64]), Some([0xff; 32]));
        assert_eq!(unhex(&[b'a'; 64]), Some([0xaa; 32]));
        assert_eq!(unhex(&[b'9'; 64]), Some([0x99; 32]));
        for c in [b'/', b':', b'`', b'g', b'A', b'F', b' ', 0, 0xff] {
            let mut t = [b'0'; 64];
            t[63] = c;
            assert_eq!(unhex(&t), None, "{c}");
        }
    }
}
