//! The state file (`--state`): `state::parse` and `state::encode`. The host is taken from the
//! input's bytes 4..8 (else every file would be foreign), and the input is parsed a second time
//! with its magic and checksum made right, so the fuzzer gets past them to the fields.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::record::MAX_SERVICES;
use nodepulse::state::{self, fnv1a, Problem, LEN};

// The layout of src/state.rs's table.
const MAGIC: &[u8; 4] = b"nps\x01";
const COUNT_AT: usize = 64;
const SERVICES_AT: usize = 68;
const SERVICE_LEN: usize = 24;
const SUM_AT: usize = 260;

fn le32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
}

/// Parses `bytes`; an accepted file has the magic and length, is foreign to any other host, and
/// encodes back to its own bytes up to its last service (the free slots are written as zeros).
fn check(bytes: &[u8]) -> Result<(), Problem> {
    let host = le32(bytes, 4);
    let saved = state::parse(bytes, host)?;
    assert_eq!(bytes.len(), LEN);
    assert!(bytes.starts_with(MAGIC));
    assert_eq!(saved.host, host);
    assert_eq!(saved.services.len() as u32, le32(bytes, COUNT_AT));
    assert!(saved.services.len() <= MAX_SERVICES);
    assert_eq!(state::parse(bytes, host ^ 1), Err(Problem::Foreign));
    let mut again = [0u8; LEN];
    state::encode(&saved, &mut again);
    let used = SERVICES_AT + saved.services.len() * SERVICE_LEN;
    assert_eq!(again[..used], bytes[..used]);
    assert_eq!(state::parse(&again, host), Ok(saved));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    if check(data).is_ok() {
        return;
    }
    if let Some(body) = data.get(..LEN) {
        let mut fixed = [0u8; LEN];
        fixed.copy_from_slice(body);
        fixed[..4].copy_from_slice(MAGIC);
        let sum = fnv1a(&[&fixed[..SUM_AT]]);
        fixed[SUM_AT..].copy_from_slice(&sum.to_le_bytes());
        // With the magic and the checksum right, only a service count past the capacity is
        // corrupt.
        match check(&fixed) {
            Ok(()) => assert!(le32(&fixed, COUNT_AT) as usize <= MAX_SERVICES),
            Err(problem) => {
                assert_eq!(problem, Problem::Corrupt);
                assert!(le32(&fixed, COUNT_AT) as usize > MAX_SERVICES);
            }
        }
    }
});
