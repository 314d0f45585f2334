//! /proc/meminfo: total, and `available_or_estimate` agrees with the fields it reads.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::meminfo;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let m = meminfo::parse(data);
    match m.available_or_estimate() {
        Some((kb, false)) => assert_eq!(Some(kb), m.available_kb),
        Some((_, true)) => assert!(m.available_kb.is_none() && m.free_kb.is_some()),
        None => assert!(m.available_kb.is_none()),
    }
    for (value, key) in [
        (m.total_kb, &b"MemTotal:"[..]),
        (m.available_kb, b"MemAvailable:"),
        (m.free_kb, b"MemFree:"),
        (m.buffers_kb, b"Buffers:"),
        (m.cached_kb, b"Cached:"),
        (m.swap_total_kb, b"SwapTotal:"),
        (m.swap_free_kb, b"SwapFree:"),
    ] {
        if value.is_some() {
            assert!(contains(data, key), "{key:?} parsed but not in input");
        }
    }
});
