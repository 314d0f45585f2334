//! SNTP client wire format: the 48-byte request the agent sends and the checks and arithmetic
//! on the server's reply.
//!
//! The agent sends one SNTP client request to `--ntp-server` and measures the clock offset from
//! the reply. It does so because BusyBox `ntpd` never writes the kernel's `maxerror`, so the
//! `adjtimex(2)` flags alone cannot tell a disciplined clock from a drifting one; an offset
//! measured against a server can.
//!
//! Only the fixed 48-byte header is read (no extension fields, no MAC). The request is a plain
//! client packet (LI 0, VN 4, Mode 3) with only the transmit timestamp set; the reply must echo
//! that timestamp as its originate timestamp, which is the anti-spoofing check of RFC 4330.
//! Every function is total: no panics, no allocation, no I/O.
//!
//! # References
//! - RFC 4330, section 3 (NTP timestamp format, eras), section 4 (message format), section 5
//!   (client operations: the reply checks and the offset and delay formulas), section 8
//!   (Kiss-o'-Death, stratum 0)
//! - RFC 5905, section 7.3 (packet header), section 7.4 (Kiss-o'-Death)

/// The length of an NTP header without extension fields or MAC.
pub const PACKET_LEN: usize = 48;

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
const NS_PER_S: u64 = 1_000_000_000;

/// Byte offsets of the 64-bit timestamps in the header (RFC 4330 section 4).
const ORIGINATE: usize = 24;
const RECEIVE: usize = 32;
const TRANSMIT: usize = 40;

/// A reply that passed the checks, with the offset of the server's clock from ours and the
/// round-trip delay, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Leap indicator (0 none, 1 last minute has 61 s, 2 last minute has 59 s).
    pub leap: u8,
    pub version: u8,
    pub stratum: u8,
    /// Server clock minus our clock: positive when ours is behind.
    pub offset_ns: i64,
    pub delay_ns: i64,
}

crate::words! {
    /// Why a reply was rejected, and its word in the record.
    pub enum Error {
        /// Fewer than 48 bytes.
        Short = "short",
        /// Not a server reply (mode other than 4, or version outside 1..=4).
        NotServer = "not-server",
        /// Leap indicator 3 (alarm) or stratum 16 and above: the server's clock is unsynchronized.
        Unsynchronized = "unsynced",
        /// Stratum 0: a Kiss-o'-Death packet (the server asks us to go away or back off).
        KissOfDeath = "kiss",
        /// The originate timestamp is not the transmit timestamp we sent.
        Mismatch = "mismatch",
        /// A zero receive or transmit timestamp.
        BadTime = "bad-time",
    }
}

/// A client request (LI 0, VN 4, Mode 3) whose transmit timestamp is `transmit_ns`, Unix-epoch
/// nanoseconds. Keep it: [`parse_reply`] checks the reply against it.
pub fn request(transmit_ns: u64) -> [u8; PACKET_LEN] {
    let mut packet = [0u8; PACKET_LEN];
    packet[0] = (4 << 3) | 3;
    let stamp = unix_ns_to_timestamp(transmit_ns);
    if let Some(slot) = packet.get_mut(TRANSMIT..TRANSMIT + 8) {
        slot.copy_from_slice(&stamp);
    }
    packet
}

/// Checks a server's reply to `sent` and computes the offset and delay (RFC 4330 section 5).
///
/// `t1_ns` is when we sent the request and `t4_ns` when the reply arrived, both Unix-epoch
/// nanoseconds by our clock.
pub fn parse_reply(
    bytes: &[u8],
    sent: &[u8; PACKET_LEN],
    t1_ns: u64,
    t4_ns: u64,
) -> Result<Reply, Error> {
    let first = *bytes.first().ok_or(Error::Short)?;
    if bytes.len() < PACKET_LEN {
        return Err(Error::Short);
    }
    let leap = first >> 6;
    let version = (first >> 3) & 7;
    let mode = first & 7;
    if mode != 4 || !(1..=4).contains(&version) {
        return Err(Error::NotServer);
    }
    // The originate check comes before the others, so an off-path packet cannot make us honour
    // a Kiss-o'-Death it forged.
    let originate = stamp_at(bytes, ORIGINATE).ok_or(Error::Short)?;
    let ours = stamp_at(sent, TRANSMIT).ok_or(Error::Short)?;
    if originate != ours {
        return Err(Error::Mismatch);
    }
    let stratum = *bytes.get(1).ok_or(Error::Short)?;
    if stratum == 0 {
        return Err(Error::KissOfDeath);
    }
    if leap == 3 || stratum >= 16 {
        return Err(Error::Unsynchronized);
    }
    let receive = stamp_at(bytes, RECEIVE).ok_or(Error::Short)?;
    let transmit = stamp_at(bytes, TRANSMIT).ok_or(Error::Short)?;
    if receive == [0; 8] || transmit == [0; 8] {
        return Err(Error::BadTime);
    }
    // Unix-epoch nanoseconds stay below 2^63 until 2262; 64-bit arithmetic, saturating (i128
    // would pull a 1.6 KiB division routine into the 32-bit builds).
    let ns = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let (t1, t2, t3, t4) = (
        ns(t1_ns),
        ns(timestamp_to_unix_ns(receive)),
        ns(timestamp_to_unix_ns(transmit)),
        ns(t4_ns),
    );
    let offset = crate::num::div_toward_zero(
        (t2.saturating_sub(t1)).saturating_add(t3.saturating_sub(t4)),
        2,
    );
    let delay = (t4.saturating_sub(t1)).saturating_sub(t3.saturating_sub(t2));
    Ok(Reply {
        leap,
        version,
        stratum,
        offset_ns: offset,
        delay_ns: delay,
    })
}

/// The 8 bytes at `at`, if there are that many.
fn stamp_at(bytes: &[u8], at: usize) -> Option<[u8; 8]> {
    bytes.get(at..at.checked_add(8)?)?.try_into().ok()
}

/// Unix-epoch nanoseconds as an NTP timestamp: seconds since 1900 modulo 2^32 (so times after
/// 2036 land in era 1), then a 32-bit binary fraction of a second (truncated).
fn unix_ns_to_timestamp(ns: u64) -> [u8; 8] {
    let secs = ((ns / NS_PER_S + NTP_UNIX_OFFSET) & 0xFFFF_FFFF) as u32;
    let fraction = (((ns % NS_PER_S) << 32) / NS_PER_S) as u32;
    let mut out = [0u8; 8];
    let (hi, lo) = out.split_at_mut(4);
    hi.copy_from_slice(&secs.to_be_bytes());
    lo.copy_from_slice(&fraction.to_be_bytes());
    out
}

/// An NTP timestamp as Unix-epoch nanoseconds, the fraction rounded to the nearest nanosecond
/// (so [`unix_ns_to_timestamp`] round-trips exactly). Seconds below the Unix epoch's are taken
/// as era 1 (from 2036-02-07): the result covers 1970 to 2106.
fn timestamp_to_unix_ns(stamp: [u8; 8]) -> u64 {
    let [s0, s1, s2, s3, f0, f1, f2, f3] = stamp;
    let secs = u64::from(u32::from_be_bytes([s0, s1, s2, s3]));
    let fraction = u64::from(u32::from_be_bytes([f0, f1, f2, f3]));
    let unix_secs = if secs >= NTP_UNIX_OFFSET {
        secs - NTP_UNIX_OFFSET
    } else {
        secs + (1 << 32) - NTP_UNIX_OFFSET
    };
    // Both terms are below 2^63: unix_secs < 2^32, fraction * 1e9 < 2^62.
    unix_secs * NS_PER_S + ((fraction * NS_PER_S + (1 << 31)) >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: u64 = 1_700_000_000_123_456_789;
    const MS: u64 = 1_000_000;

    /// A server reply to `sent`: receive `t2`, transmit `t3` (Unix ns), stratum 2, LI 0, VN 4.
    fn reply(sent: &[u8; 48], t2: u64, t3: u64) -> [u8; 48] {
        let mut r = [0u8; 48];
        r[0] = 0x24;
        r[1] = 2;
        r[24..32].copy_from_slice(&sent[40..48]);
        r[32..40].copy_from_slice(&unix_ns_to_timestamp(t2));
        r[40..48].copy_from_slice(&unix_ns_to_timestamp(t3));
        r
    }

    #[test]
    fn request_layout() {
        let r = request(1_700_000_000_500_000_000);
        assert_eq!(r[0], 0x23);
        assert!(r[1..40].iter().all(|&b| b == 0));
        // 1_700_000_000 + 2_208_988_800 = 3_908_988_800 = 0xE8FE_6F80; 0.5 s = 0x8000_0000.
        assert_eq!(r[40..48], [0xE8, 0xFE, 0x6F, 0x80, 0x80, 0, 0, 0]);
        assert_eq!(request(0)[40..48], [0x83, 0xAA, 0x7E, 0x80, 0, 0, 0, 0]);
    }

    #[test]
    fn offset_and_delay() {
        // Server 1.5 s ahead; 10 ms each way; 3 ms of server processing.
        let sent = request(T1);
        let t2 = T1 + 10 * MS + 1_500 * MS;
        let t3 = t2 + 3 * MS;
        let t4 = t3 - 1_500 * MS + 10 * MS;
        let r = parse_reply(&reply(&sent, t2, t3), &sent, T1, t4).unwrap();
        assert_eq!(
            r,
            Reply {
                leap: 0,
                version: 4,
                stratum: 2,
                offset_ns: 1_500_000_000,
                delay_ns: 20_000_000,
            }
        );
        // And behind: the sign flips.
        let t2 = T1 + 10 * MS - 1_500 * MS;
        let t3 = t2 + 3 * MS;
        let t4 = t3 + 1_500 * MS + 10 * MS;
        let r = parse_reply(&reply(&sent, t2, t3), &sent, T1, t4).unwrap();
        assert_eq!((r.offset_ns, r.delay_ns), (-1_500_000_000, 20_000_000));
    }

    #[test]
    fn errors() {
        let sent = request(T1);
        let good = reply(&sent, T1 + MS, T1 + 2 * MS);
        let t4 = T1 + 3 * MS;
        assert!(parse_reply(&good, &sent, T1, t4).is_ok());
        let check = |edit: &dyn Fn(&mut [u8; 48]), want: Error| {
            let mut r = good;
            edit(&mut r);
            assert_eq!(parse_reply(&r, &sent, T1, t4), Err(want), "{r:02x?}");
        };
        check(&|r| r[0] = 0x23, Error::NotServer); // client
        check(&|r| r[0] = 0x25, Error::NotServer); // broadcast
        check(&|r| r[0] = 0x2C, Error::NotServer); // version 5
        check(&|r| r[0] = 0x04, Error::NotServer); // version 0
        check(&|r| r[1] = 0, Error::KissOfDeath);
        check(&|r| r[0] = 0xE4, Error::Unsynchronized);
        check(&|r| r[1] = 16, Error::Unsynchronized);
        check(&|r| r[31] ^= 1, Error::Mismatch);
        check(&|r| r[32..40].fill(0), Error::BadTime);
        check(&|r| r[40..48].fill(0), Error::BadTime);
        // A kiss with someone else's originate is a forgery, not a kiss.
        check(
            &|r| {
                r[1] = 0;
                r[24] ^= 1;
            },
            Error::Mismatch,
        );
        // Older versions are still servers.
        let mut v3 = good;
        v3[0] = 0x1C;
        assert_eq!(parse_reply(&v3, &sent, T1, t4).unwrap().version, 3);
        assert_eq!(Error::Unsynchronized.as_str(), "unsynced");
        assert_eq!(Error::KissOfDeath.as_str(), "kiss");
    }

    #[test]
    fn truncated_and_garbage() {
        let sent = request(T1);
        let good = reply(&sent, T1 + MS, T1 + 2 * MS);
        for len in 0..48 {
            assert_eq!(parse_reply(&good[..len], &sent, T1, T1), Err(Error::Short));
        }
        // Trailing bytes (extension fields, MAC) are ignored.
        let mut long = [0u8; 68];
        long[..48].copy_from_slice(&good);
        assert!(parse_reply(&long, &sent, T1, T1 + 3 * MS).is_ok());
        assert_eq!(
            parse_reply(&[0xFF; 48], &sent, T1, T1),
            Err(Error::NotServer)
        );
        // Extreme local times saturate instead of overflowing.
        let r = parse_reply(&good, &sent, 0, u64::MAX).unwrap();
        assert!(r.delay_ns > i64::MAX / 2, "{r:?}");
        let r = parse_reply(&good, &sent, u64::MAX, 0).unwrap();
        assert!(r.delay_ns < i64::MIN / 2, "{r:?}");
    }

    #[test]
    fn era_one_round_trip() {
        // 2040-01-01T00:00:00.999999999Z: past 2036-02-07, so NTP seconds have wrapped.
        let ns = 2_208_988_800_999_999_999;
        let stamp = unix_ns_to_timestamp(ns);
        assert!(u32::from_be_bytes([stamp[0], stamp[1], stamp[2], stamp[3]]) < 0x1000_0000);
        assert_eq!(timestamp_to_unix_ns(stamp), ns);
        for ns in [
            0,
            1,
            999_999_999,
            T1,
            2_085_978_495_999_999_999,
            2_085_978_496_000_000_000,
        ] {
            assert_eq!(timestamp_to_unix_ns(unix_ns_to_timestamp(ns)), ns);
        }
        let sent = request(ns);
        let r = reply(&sent, ns + 10 * MS + 1_500 * MS, ns + 13 * MS + 1_500 * MS);
        let got = parse_reply(&r, &sent, ns, ns + 23 * MS).unwrap();
        assert_eq!((got.offset_ns, got.delay_ns), (1_500_000_000, 20_000_000));
    }
}
