//! SNTP replies: `parse::sntp::parse_reply` against `request(t1)`. Input: t1 and t4 (8 bytes
//! each, little-endian, Unix-epoch ns), then the reply; it is parsed as is and again with its
//! originate timestamp set to the request's transmit timestamp, so the fuzzer gets past the
//! anti-spoofing check. An accepted reply passed every check of RFC 4330 section 5, and its
//! offset and delay are the RFC's formulas, computed here in i128 from the reply's bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::sntp::{parse_reply, request, Error, PACKET_LEN};

const ORIGINATE: usize = 24;
const RECEIVE: usize = 32;
const TRANSMIT: usize = 40;

/// An NTP timestamp as Unix-epoch ns: era 0 from 1970, era 1 below it; the fraction rounded.
fn unix_ns(stamp: &[u8]) -> i128 {
    let secs = i128::from(u32::from_be_bytes(stamp[..4].try_into().unwrap()));
    let fraction = i128::from(u32::from_be_bytes(stamp[4..8].try_into().unwrap()));
    let unix_secs = if secs >= 2_208_988_800 { secs - 2_208_988_800 } else { secs + (1 << 32) - 2_208_988_800 };
    unix_secs * 1_000_000_000 + (fraction * 1_000_000_000 + (1 << 31)) / (1 << 32)
}

fn check(reply: &[u8], t1: u64, t4: u64) {
    let sent = request(t1);
    match parse_reply(reply, &sent, t1, t4) {
        Ok(r) => {
            assert!(reply.len() >= PACKET_LEN);
            let (leap, version, mode) = (reply[0] >> 6, (reply[0] >> 3) & 7, reply[0] & 7);
            assert_eq!((r.leap, r.version, mode, r.stratum), (leap, version, 4, reply[1]));
            assert!((1..=4).contains(&version) && leap != 3 && (1..16).contains(&r.stratum));
            assert_eq!(reply[ORIGINATE..ORIGINATE + 8], sent[TRANSMIT..TRANSMIT + 8]);
            assert!(reply[RECEIVE..RECEIVE + 8] != [0; 8] && reply[TRANSMIT..TRANSMIT + 8] != [0; 8]);
            // Below 2^62 ns (year 2116) nothing saturates: the results are exact.
            if t1 < 1 << 62 && t4 < 1 << 62 {
                let (t1, t4) = (i128::from(t1), i128::from(t4));
                let t2 = unix_ns(&reply[RECEIVE..RECEIVE + 8]);
                let t3 = unix_ns(&reply[TRANSMIT..TRANSMIT + 8]);
                assert_eq!(i128::from(r.offset_ns), ((t2 - t1) + (t3 - t4)) / 2);
                assert_eq!(i128::from(r.delay_ns), (t4 - t1) - (t3 - t2));
            }
        }
        Err(Error::Short) => assert!(reply.len() < PACKET_LEN),
        Err(Error::Mismatch) => assert!(reply[ORIGINATE..ORIGINATE + 8] != sent[TRANSMIT..TRANSMIT + 8]),
        Err(_) => assert!(reply.len() >= PACKET_LEN),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((times, reply)) = data.split_at_checked(16) else {
        return;
    };
    let t1 = u64::from_le_bytes(times[..8].try_into().unwrap());
    let t4 = u64::from_le_bytes(times[8..].try_into().unwrap());
    check(reply, t1, t4);
    if reply.len() >= ORIGINATE + 8 {
        let mut echoed = reply.to_vec();
        echoed[ORIGINATE..ORIGINATE + 8].copy_from_slice(&request(t1)[TRANSMIT..TRANSMIT + 8]);
        check(&echoed, t1, t4);
    }
});
