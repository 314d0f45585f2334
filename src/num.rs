//! Number and text helpers shared by the parsers: decimal parsing over bytes and trimming.
//!
//! Every function is total: no indexing can panic and every arithmetic step is checked, so a
//! hostile file yields `None`, never a panic or a wrapped value.

/// Strips ASCII whitespace (space, tab, newline, CR) from both ends.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Parses an unsigned decimal integer made only of ASCII digits (no sign, no spaces).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// Parses an unsigned decimal that must fit in `u32`.
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

/// Parses a signed decimal integer with an optional leading `-` or `+`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    match s {
        [b'-', digits @ ..] => {
            let magnitude = parse_u64(digits)?;
            if magnitude == 1u64 << 63 {
                Some(i64::MIN)
            } else {
                i64::try_from(magnitude).ok().map(|m| -m)
            }
        }
        [b'+', digits @ ..] => i64::try_from(parse_u64(digits)?).ok(),
        _ => i64::try_from(parse_u64(s)?).ok(),
    }
}

/// Parses a non-negative decimal with up to two fraction digits into hundredths:
/// `"0.12"` is 12, `"12345.6"` is 1234560, `"7"` is 700. Extra fraction digits are truncated.
pub fn parse_hundredths(s: &[u8]) -> Option<u64> {
    let (int_part, frac_part) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (s.get(..dot)?, s.get(dot + 1..)?),
        None => (s, &b""[..]),
    };
    let whole = parse_u64(int_part)?;
    if !frac_part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut frac: u64 = 0;
    for i in 0..2 {
        frac = frac * 10 + frac_part.get(i).map_or(0, |&d| u64::from(d - b'0'));
    }
    whole.checked_mul(100)?.checked_add(frac)
}

/// `part * 100 / whole`, rounded up when `up`, capped at 100, 0 for an empty whole. Values
/// too large for the product are scaled down first (64-bit only: no u128 code on 32-bit CPUs).
pub fn percent(part: u64, whole: u64, up: bool) -> u64 {
    if whole == 0 {
        return 0;
    }
    // Keep whole below 2^57 so that part * 100 (part <= whole) stays below 2^64.
    let shift = (64 - whole.leading_zeros()).saturating_sub(57);
    let (part, whole) = (part.min(whole) >> shift, (whole >> shift).max(1));
    let scaled = part * 100;
    let pct = if up { scaled.div_ceil(whole) } else { scaled / whole };
    pct.min(100)
}

/// Splits on runs of ASCII whitespace, skipping empty pieces.
pub fn fields(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty())
}

/// The position of `name` among the space-separated words of `list` (`"a bc d"`, `b"bc"` → 1).
/// Name tables are kept as one string: one pointer instead of one per name.
pub fn word_index(list: &str, name: &[u8]) -> Option<usize> {
    list.as_bytes().split(|&b| b == b' ').position(|w| w == name)
}

/// The word at `index` in the space-separated `list` (the inverse of [`word_index`]); empty
/// past the end. Enums name their values this way: one string instead of a table of pointers.
pub fn word_at(list: &'static str, index: usize) -> &'static str {
    part(list, b' ', index)
}

/// The piece at `index` of `list` split at `sep`; empty past the end. A byte loop, not
/// `str::split`: a few bytes instead of the generic splitter.
pub fn part(list: &'static str, sep: u8, index: usize) -> &'static str {
    let (mut start, mut n) = (0, 0);
    for (i, &b) in list.as_bytes().iter().enumerate() {
        if b == sep {
            if n == index {
                return list.get(start..i).unwrap_or("");
            }
            n += 1;
            start = i + 1;
        }
    }
    if n == index {
        list.get(start..).unwrap_or("")
    } else {
        ""
    }
}

/// Splits into lines at `\n` (a trailing `\r` is kept: callers trim).
pub fn lines(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_tables() {
        assert_eq!(word_index("a bc d", b"bc"), Some(1));
        assert_eq!(word_index("a bc d", b"b"), None);
        assert_eq!(word_index("a bc d", b""), None);
        assert_eq!((word_at("a bc d", 0), word_at("a bc d", 2), word_at("a bc d", 3)), ("a", "d", ""));
        assert_eq!(part("x\x1fy\x1f", 0x1f, 2), "");
        assert_eq!(part("x\x1fy\x1f", 0x1f, 1), "y");
    }

    #[test]
    fn unsigned() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b" 1"), None);
        assert_eq!(parse_u32(b"4294967296"), None);
    }

    #[test]
    fn signed() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"+5"), Some(5));
    }

    #[test]
    fn hundredths() {
        assert_eq!(parse_hundredths(b"0.12"), Some(12));
        assert_eq!(parse_hundredths(b"12345.678"), Some(1_234_567));
        assert_eq!(parse_hundredths(b"7"), Some(700));
        assert_eq!(parse_hundredths(b"7."), Some(700));
        assert_eq!(parse_hundredths(b".5"), None);
        assert_eq!(parse_hundredths(b"1.x"), None);
        assert_eq!(parse_hundredths(b"184467440737095516.15"), Some(u64::MAX));
        assert_eq!(parse_hundredths(b"184467440737095516.16"), None);
    }

    #[test]
    fn percents() {
        assert_eq!(percent(1, 3, true), 34);
        assert_eq!(percent(1, 3, false), 33);
        assert_eq!(percent(5, 0, true), 0);
        assert_eq!(percent(7, 5, false), 100);
        assert_eq!(percent(u64::MAX, u64::MAX, true), 100);
        assert_eq!(percent(u64::MAX / 2, u64::MAX, false), 49);
        assert_eq!(percent(600, 950, true), 64);
    }

    #[test]
    fn trimming() {
        assert_eq!(trim(b"  a b\n\r"), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
    }
}
