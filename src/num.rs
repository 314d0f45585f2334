//! Number and text helpers below every layer: decimal parsing and writing over bytes,
//! trimming, word tables (the [`words!`](crate::words) macro).
//!
//! Every function is total: no indexing can panic and every arithmetic step is checked, so a
//! hostile file yields `None`, never a panic or a wrapped value.

/// Whether `s` holds the byte `b`, a byte at a time: `<[u8]>::contains` is core's
/// word-at-a-time memchr, long code for the few bytes of a name or path checked here.
#[allow(clippy::manual_contains)] // the loop is the point, as said above
pub fn has(s: &[u8], b: u8) -> bool {
    s.iter().any(|&c| c == b)
}

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
    let pct = if up {
        scaled.div_ceil(whole)
    } else {
        scaled / whole
    };
    pct.min(100)
}

/// `n / d`, rounded toward zero as `/` rounds. A 32-bit CPU has no 64-bit division
/// instruction: there it is [`div_unsigned`], so that the binary links one 64-bit division
/// routine (`__udivdi3`, which the unsigned values need anyway) and not the signed one too.
pub fn div_toward_zero(n: i64, d: u32) -> i64 {
    if cfg!(target_pointer_width = "32") {
        div_unsigned(n, d)
    } else {
        n / i64::from(d)
    }
}

/// `a * b`, or `u64::MAX` when the product does not fit. A 32-bit CPU has no 64-bit multiply
/// instruction: there every caller shares one out-of-line copy ([`saturating_mul_of_halves`])
/// instead of each inlining the multiply and its overflow check.
pub fn saturating_mul(a: u64, b: u64) -> u64 {
    if cfg!(target_pointer_width = "32") {
        saturating_mul_of_halves(a, b)
    } else {
        a.saturating_mul(b)
    }
}

/// [`saturating_mul`] for a 32-bit CPU.
#[inline(never)] // out of line: measured smaller on i686
fn saturating_mul_of_halves(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// [`div_toward_zero`] as a division of the magnitude, the sign put back after.
#[inline(never)] // out of line: measured smaller on i686
fn div_unsigned(n: i64, d: u32) -> i64 {
    // `wrapping_neg`: `i64::MIN / 1` is `i64::MIN`, whose magnitude is no `i64`.
    let q = (n.unsigned_abs() / u64::from(d)) as i64;
    if n < 0 {
        q.wrapping_neg()
    } else {
        q
    }
}

/// Writes `n` in decimal at the end of `buf` and returns the digits; the bytes before them are
/// left as they were (`Out::fixed` relies on that to pad with zeros).
pub fn decimal(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

/// The pieces of `s` between `sep` bytes, as `split` gives them (empty ones included). One
/// closure type for every caller: one copy of the splitter in the binary, not one per call.
pub fn pieces(s: &[u8], sep: u8) -> impl DoubleEndedIterator<Item = &[u8]> + Clone {
    s.split(move |&b| b == sep)
}

/// Splits on runs of ASCII whitespace, skipping empty pieces.
pub fn fields(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty())
}

/// The position of `piece` among the pieces of `list` split at `sep` (the inverse of [`part`]).
pub fn part_index(list: &str, sep: u8, piece: &[u8]) -> Option<usize> {
    pieces(list.as_bytes(), sep).position(|p| p == piece)
}

/// The piece at `index` of `list` split at `sep`; empty past the end: skips `index` separators,
/// then takes the bytes up to the next one. (Byte searches, not `str::split`: a few bytes
/// instead of the generic splitter.)
pub fn part(list: &'static str, sep: u8, index: usize) -> &'static str {
    let mut rest = list;
    for _ in 0..index {
        match rest.bytes().position(|b| b == sep) {
            Some(at) => rest = rest.get(at + 1..).unwrap_or(""),
            None => return "",
        }
    }
    let end = rest.bytes().position(|b| b == sep).unwrap_or(rest.len());
    rest.get(..end).unwrap_or("")
}

/// An enum whose variants have words: each variant and its word on one line, both conversions
/// generated, so no table is kept in step with the enum by hand (smoltcp's `enum_with_unknown!`
/// in spirit).
///
/// ```text
/// words! {
///     /// A check's result.
///     pub enum Status {
///         Ok = "ok",
///         Warn = "warn",
///     }
/// }
/// ```
///
/// gives `Status::Ok.as_str() == "ok"`, `Status::from_word(b"warn") == Some(Status::Warn)`
/// and `Status::ALL`, in declaration order. The words are kept in one string (separated by
/// `\x1f`, so a word may hold spaces): one pointer for the whole table.
#[macro_export]
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every word, in declaration order, each followed by `\x1f`.
            pub const WORDS: &'static str = concat!($($word, "\x1f"),+);

            /// The variant's word.
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                $crate::num::part(Self::WORDS, 0x1f, self as usize)
            }

            /// The variant whose word is `word`.
            #[allow(dead_code)]
            pub fn from_word(word: &[u8]) -> Option<$name> {
                Self::ALL.get($crate::num::part_index(Self::WORDS, 0x1f, word)?).copied()
            }
        }

        impl $crate::num::Word for $name {
            const ALL: &'static [$name] = $name::ALL;
            const WORDS: &'static str = $name::WORDS;
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

/// What [`words!`](crate::words) gives every enum it declares (for [`Set`] and error texts).
pub trait Word: Copy + 'static {
    const ALL: &'static [Self];
    /// Every word, in declaration order, each followed by `\x1f`.
    const WORDS: &'static str;
    /// The variant's position in [`Word::ALL`].
    fn index(self) -> usize;
}

/// A set of the variants of a [`words!`](crate::words) enum (at most 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Set<E> {
    bits: u32,
    of: core::marker::PhantomData<E>,
}

impl<E: Word> Set<E> {
    pub const EMPTY: Set<E> = Set {
        bits: 0,
        of: core::marker::PhantomData,
    };

    /// Every variant.
    pub fn all() -> Set<E> {
        // `words!` numbers the variants 0, 1, ... in declaration order (at most 32 of them).
        let bits = ((1u64 << E::ALL.len()) - 1) as u32;
        Set {
            bits,
            of: core::marker::PhantomData,
        }
    }

    pub fn contains(self, e: E) -> bool {
        self.bits & (1 << e.index()) != 0
    }

    /// Whether any variant of `other` is in the set.
    pub fn any_of(self, other: Set<E>) -> bool {
        self.bits & other.bits != 0
    }

    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    pub fn with(self, e: E) -> Set<E> {
        Set {
            bits: self.bits | (1 << e.index()),
            of: self.of,
        }
    }

    pub fn without(self, e: E) -> Set<E> {
        Set {
            bits: self.bits & !(1 << e.index()),
            of: self.of,
        }
    }

    /// The variants of `self` not in `other`.
    pub fn minus(self, other: Set<E>) -> Set<E> {
        Set {
            bits: self.bits & !other.bits,
            of: self.of,
        }
    }

    /// Parses a comma-separated list of words (spaces around each allowed); `Err` holds the
    /// first piece that is not a word of `E` (an empty piece included).
    pub fn parse_list(list: &[u8]) -> Result<Set<E>, &[u8]> {
        let bits = list_bits(E::WORDS, E::ALL.len(), list)?;
        Ok(Set {
            bits,
            of: core::marker::PhantomData,
        })
    }
}

/// [`Set::parse_list`] for any enum (one copy of the loop): bit i for the word at position i of
/// the `\x1f`-separated `words`, of which there are `count`.
fn list_bits<'l>(words: &str, count: usize, list: &'l [u8]) -> Result<u32, &'l [u8]> {
    let mut bits = 0;
    for piece in pieces(list, b',') {
        let piece = trim(piece);
        match part_index(words, 0x1f, piece) {
            Some(i) if i < count => bits |= 1 << i,
            _ => return Err(piece),
        }
    }
    Ok(bits)
}

/// Splits into lines at `\n` (a trailing `\r` is kept: callers trim).
pub fn lines(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    pieces(s, b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::words! {
        /// A test enum.
        enum Colour {
            Red = "red",
            /// With a space.
            DarkBlue = "dark blue",
        }
    }

    #[test]
    fn words_both_ways() {
        assert_eq!(Colour::Red.as_str(), "red");
        assert_eq!(Colour::DarkBlue.as_str(), "dark blue");
        assert_eq!(Colour::from_word(b"dark blue"), Some(Colour::DarkBlue));
        assert_eq!(Colour::from_word(b"red"), Some(Colour::Red));
        assert_eq!(Colour::from_word(b""), None);
        assert_eq!(Colour::from_word(b"dark"), None);
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
    }

    #[test]
    fn sets_of_words() {
        let set = Set::<Colour>::parse_list(b"dark blue, red").unwrap();
        assert!(set.contains(Colour::Red) && set.contains(Colour::DarkBlue));
        assert_eq!(set, Set::all());
        assert_eq!(Set::<Colour>::parse_list(b"red,"), Err(&b""[..]));
        assert_eq!(Set::<Colour>::parse_list(b"red,green"), Err(&b"green"[..]));
        let red = Set::EMPTY.with(Colour::Red);
        assert!(!red.contains(Colour::DarkBlue));
        assert_eq!(Set::all().minus(red), Set::EMPTY.with(Colour::DarkBlue));
        assert!(red.any_of(Set::all()) && !red.any_of(Set::all().without(Colour::Red)));
        assert!(Set::<Colour>::EMPTY.is_empty());
        assert_eq!(Set::<Colour>::parse_list(b""), Err(&b""[..]));
        assert_eq!(Set::<Colour>::parse_list(b" red "), Ok(red));
        assert_eq!(list_bits(Colour::WORDS, 2, b"dark blue"), Ok(2));
        assert_eq!(list_bits(Colour::WORDS, 2, b"dark"), Err(&b"dark"[..]));
        assert_eq!(part_index(Colour::WORDS, 0x1f, b"dark blue"), Some(1));
    }

    #[test]
    fn word_tables() {
        assert_eq!(part_index("a bc d", b' ', b"bc"), Some(1));
        assert_eq!(part_index("a bc d", b' ', b"b"), None);
        assert_eq!(part_index("a bc d", b' ', b""), None);
        assert_eq!(
            (
                part("a bc d", b' ', 0),
                part("a bc d", b' ', 2),
                part("a bc d", b' ', 3)
            ),
            ("a", "d", "")
        );
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
    fn has_a_byte() {
        assert!(has(b"a\0b", 0));
        assert!(!has(b"ab", 0));
        assert!(!has(b"", b'a'));
    }

    /// The 32-bit CPU's division gives what `/` gives, at the ends of the range too.
    #[test]
    fn division_toward_zero() {
        for n in [
            0,
            1,
            -1,
            999,
            -999,
            1000,
            -1001,
            1999,
            -1999,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            for d in [1, 2, 1000, 65536, u32::MAX] {
                assert_eq!(div_unsigned(n, d), n / i64::from(d), "{n} / {d}");
                assert_eq!(div_toward_zero(n, d), n / i64::from(d), "{n} / {d}");
            }
        }
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
