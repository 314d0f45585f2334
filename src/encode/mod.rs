//! Encoders: pure functions from a [`Record`](crate::record::Record) to bytes in a caller's
//! buffer. One file per format. A full buffer is an error ([`Full`]), never a truncated record.

pub mod influx;
pub mod json;
pub mod line;
pub mod nagios;
pub mod prom;
pub mod text;

use crate::record::Record;
use crate::verdict::{Status, Thresholds};

/// The output formats (`--format`, or a sink's `FORMAT:` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Line,
    Json,
    Influx,
    Prom,
    Nagios,
}

impl Format {
    pub const ALL: [(&'static str, Format); 5] =
        [("line", Format::Line), ("json", Format::Json), ("influx", Format::Influx), ("prom", Format::Prom), ("nagios", Format::Nagios)];

    pub fn from_name(name: &[u8]) -> Option<Format> {
        Format::ALL.iter().find(|(n, _)| n.as_bytes() == name).map(|(_, f)| *f)
    }

    /// Encodes `r` in this format.
    pub fn encode(self, r: &Record, t: &Thresholds, status: Status, out: &mut Out) -> Result<(), Full> {
        match self {
            Format::Line => line::encode(r, t, status, out),
            Format::Json => json::encode(r, t, status, out),
            Format::Influx => influx::encode(r, t, status, out),
            Format::Prom => prom::encode(r, t, status, out),
            Format::Nagios => nagios::encode(r, t, status, out),
        }
    }
}

/// The caller's buffer was too small for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A cursor over a caller's buffer; every write either fits whole or fails with [`Full`].
pub struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Out<'b> {
    pub fn new(buf: &'b mut [u8]) -> Out<'b> {
        Out { buf, len: 0 }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(b.len()).ok_or(Full)?;
        self.buf.get_mut(self.len..end).ok_or(Full)?.copy_from_slice(b);
        self.len = end;
        Ok(())
    }

    pub fn str(&mut self, s: &str) -> Result<(), Full> {
        self.bytes(s.as_bytes())
    }

    pub fn u64(&mut self, n: u64) -> Result<(), Full> {
        let mut digits = [0u8; 20];
        self.bytes(crate::probe::decimal(n, &mut digits))
    }

    pub fn i64(&mut self, n: i64) -> Result<(), Full> {
        if n < 0 {
            self.bytes(b"-")?;
        }
        self.u64(n.unsigned_abs())
    }

    /// `value / 10^decimals` with exactly `decimals` fraction digits: `fixed(-12345, 3)` is
    /// `-12.345`.
    pub fn fixed(&mut self, value: i64, decimals: u32) -> Result<(), Full> {
        let scale = 10u64.pow(decimals.min(18));
        if value < 0 {
            self.bytes(b"-")?;
        }
        let magnitude = value.unsigned_abs();
        self.u64(magnitude / scale)?;
        if decimals > 0 {
            self.bytes(b".")?;
            let frac = magnitude % scale;
            let mut digits = [0u8; 20];
            let text = crate::probe::decimal(frac, &mut digits);
            for _ in text.len()..decimals as usize {
                self.bytes(b"0")?;
            }
            self.bytes(text)?;
        }
        Ok(())
    }

    /// Lowercase hex, no prefix.
    pub fn hex(&mut self, n: u32) -> Result<(), Full> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in (0..8).rev() {
            let nibble = (n >> (shift * 4)) & 15;
            if nibble != 0 || started || shift == 0 {
                started = true;
                self.bytes(&[HEX[nibble as usize]])?;
            }
        }
        Ok(())
    }
}

impl ufmt::uWrite for Out<'_> {
    type Error = Full;
    fn write_str(&mut self, s: &str) -> Result<(), Full> {
        self.str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut buf = [0u8; 128];
        let mut out = Out::new(&mut buf);
        out.fixed(-12345, 3).unwrap();
        out.str(" ").unwrap();
        out.fixed(5, 2).unwrap();
        out.str(" ").unwrap();
        out.i64(i64::MIN).unwrap();
        out.str(" ").unwrap();
        out.hex(0x2041).unwrap();
        out.str(" ").unwrap();
        out.hex(0).unwrap();
        assert_eq!(out.as_bytes(), b"-12.345 0.05 -9223372036854775808 2041 0");
    }

    #[test]
    fn full_is_an_error() {
        let mut buf = [0u8; 4];
        let mut out = Out::new(&mut buf);
        assert_eq!(out.bytes(b"abcde"), Err(Full));
        assert_eq!(out.len(), 0);
        out.bytes(b"abcd").unwrap();
        assert_eq!(out.u64(1), Err(Full));
    }
}
