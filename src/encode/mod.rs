//! Encoders: pure functions from the [`Model`] of a judged record to bytes in a caller's
//! buffer; they decide no status (the verdicts come with the model). One file per format. A full buffer is an error ([`Full`]), never a truncated record.

pub mod console;
pub mod influx;
pub mod json;
pub mod line;
pub mod nagios;
pub mod prom;
pub mod text;

use crate::model::Model;

crate::words! {
    /// The output formats (`--format`, or a sink's `FORMAT:` prefix).
    pub enum Format {
        /// The native np1 line ([`mod@line`]).
        Line = "line",
        Json = "json",
        /// InfluxDB line protocol.
        Influx = "influx",
        /// Prometheus text exposition.
        Prom = "prom",
        /// Monitoring-plugins output.
        Nagios = "nagios",
        /// For the person at the console: a line per check in plain words ([`console`]).
        Text = "text",
    }
}

impl Format {
    /// Encodes the model in this format (check [`Out::finish`] for overflow).
    pub fn encode(self, m: &Model, out: &mut Out) {
        match self {
            Format::Line => line::encode(m, out),
            Format::Json => json::encode(m, out),
            Format::Influx => influx::encode(m, out),
            Format::Prom => prom::encode(m, out),
            Format::Nagios => nagios::encode(m, out),
            Format::Text => console::encode(m, out),
        }
    }
}

/// The caller's buffer was too small for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A cursor over a caller's buffer. A write that does not fit is dropped whole and marks the
/// output full (sticky), so encoders write without checking each step and the caller asks
/// [`Out::finish`] once: a full buffer is an error, never a truncated record.
pub struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
    full: bool,
}

impl<'b> Out<'b> {
    pub fn new(buf: &'b mut [u8]) -> Out<'b> {
        Out {
            buf,
            len: 0,
            full: false,
        }
    }

    /// The bytes written, or [`Full`] if any write did not fit.
    pub fn finish(&self) -> Result<&[u8], Full> {
        if self.full {
            Err(Full)
        } else {
            Ok(self.as_bytes())
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Drops everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&mut self, b: &[u8]) {
        match self
            .buf
            .get_mut(self.len..)
            .and_then(|spare| spare.get_mut(..b.len()))
        {
            Some(dst) if !self.full => {
                dst.copy_from_slice(b);
                self.len += b.len();
            }
            _ => self.full = true,
        }
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes())
    }

    /// Writes `template`, each hole in it (`{x}`, one letter) written by `hole(self, x)`: the
    /// messages that put values among words.
    pub fn fill(&mut self, template: &str, hole: &mut dyn FnMut(&mut Out<'b>, u8)) {
        let mut rest = template.as_bytes();
        while let Some(open) = rest.iter().position(|&c| c == b'{') {
            self.bytes(rest.get(..open).unwrap_or(&[]));
            if let Some(&letter) = rest.get(open + 1) {
                hole(self, letter);
            }
            rest = rest.get(open + 3..).unwrap_or(&[]);
        }
        self.bytes(rest);
    }

    pub fn u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.bytes(crate::num::decimal(n, &mut digits))
    }

    /// A fixed-point number without fraction digits.
    pub fn i64(&mut self, n: i64) {
        self.fixed(n, 0)
    }

    /// `value / 10^decimals` with exactly `decimals` (at most 18) fraction digits:
    /// `fixed(-12345, 3)` is `-12.345`. The digits are written once and the point put in
    /// among them: no 64-bit division by a power of ten.
    pub fn fixed(&mut self, value: i64, decimals: u32) {
        if value < 0 {
            self.bytes(b"-");
        }
        let mut digits = [b'0'; 20];
        let len = crate::num::decimal(value.unsigned_abs(), &mut digits).len();
        let decimals = decimals.min(18) as usize;
        let (int, frac) = digits.split_at(digits.len() - decimals);
        // The integer digits, or the buffer's fill of zeros: at least one before the point.
        let first = (digits.len() - len).min(int.len() - 1);
        self.bytes(int.get(first..).unwrap_or(&[]));
        if decimals > 0 {
            self.bytes(b".");
            self.bytes(frac);
        }
    }

    /// Lowercase hex, no prefix.
    pub fn hex(&mut self, n: u32) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in (0..8).rev() {
            let nibble = (n >> (shift * 4)) & 15;
            if nibble != 0 || started || shift == 0 {
                started = true;
                self.bytes(&[HEX[nibble as usize]]);
            }
        }
    }
}

impl ufmt::uWrite for Out<'_> {
    type Error = Full;
    fn write_str(&mut self, s: &str) -> Result<(), Full> {
        self.str(s);
        if self.full {
            Err(Full)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut buf = [0u8; 128];
        let mut out = Out::new(&mut buf);
        out.fixed(-12345, 3);
        out.str(" ");
        out.fixed(5, 2);
        out.str(" ");
        out.fixed(-5, 3);
        out.str(" ");
        out.fixed(120, 0);
        out.str(" ");
        out.fixed(0, 1);
        out.str(" ");
        out.fixed(i64::MIN, 18);
        out.str(" ");
        out.i64(i64::MIN);
        out.str(" ");
        out.hex(0x2041);
        out.str(" ");
        out.hex(0);
        assert_eq!(
            out.finish(),
            Ok(
                &b"-12.345 0.05 -0.005 120 0.0 -9.223372036854775808 -9223372036854775808 2041 0"[..]
            )
        );
    }

    #[test]
    fn full_is_sticky_and_an_error() {
        let mut buf = [0u8; 4];
        let mut out = Out::new(&mut buf);
        out.bytes(b"abcde");
        assert_eq!(out.len(), 0, "a write that does not fit is dropped whole");
        out.bytes(b"ab");
        assert_eq!(out.finish(), Err(Full), "and the output stays full");
    }
}
