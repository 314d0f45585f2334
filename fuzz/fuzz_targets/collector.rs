//! The collector's datagram path: HMAC check (`ingest::verify`), then `ingest::parse` (np1 or
//! the agent's JSON object, through serde_json). The collector is a binary, so its modules are
//! compiled in here.
//!
//! Input: byte 0 = key length k (mod 97), bytes 1..=k = key, the rest = the datagram.
//! Properties: no panic; a tag computed with `sink::mac::tag` always verifies and returns the
//! body, a tag with one digit changed never does; `sink::mac::verify` accepts the tag of the body
//! and refuses the datagram's own trailing bytes unless they are that tag.
#![no_main]
#![allow(dead_code)]

#[path = "../../src/bin/nodepulse-collector/fleet.rs"]
mod fleet;
#[path = "../../src/bin/nodepulse-collector/ingest.rs"]
mod ingest;
#[path = "../../src/bin/nodepulse-collector/nodes.rs"]
mod nodes;

use libfuzzer_sys::fuzz_target;
use nodepulse::sink::mac;

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(k % 97).min(rest.len());
    let (key, datagram) = rest.split_at(k);

    // What the collector does with a datagram, with and without a key.
    let _ = ingest::parse(datagram);
    if let Ok(body) = ingest::verify(datagram, key) {
        assert!(datagram.starts_with(body));
        let _ = ingest::parse(body);
    }
    let _ = ingest::escape_host(datagram);

    // An honest agent's tag verifies; a forged one does not.
    let body = datagram.strip_suffix(b"\n").unwrap_or(datagram);
    let tag = mac::tag(key, body);
    let mut tagged = body.to_vec();
    tagged.extend_from_slice(b" mac=");
    tagged.extend_from_slice(&tag);
    assert_eq!(ingest::verify(&tagged, key).ok(), Some(body));
    tagged.push(b'\n');
    assert_eq!(ingest::verify(&tagged, key).ok(), Some(body));
    tagged.pop();
    let last = tagged.len() - 1;
    tagged[last] = if tagged[last] == b'0' { b'1' } else { b'0' };
    assert!(ingest::verify(&tagged, key).is_err());

    // mac::verify on any bytes as the tag: only the tag itself passes.
    assert!(mac::verify(key, body, &tag));
    let n = body.len().min(64);
    let (head, tail) = body.split_at(body.len() - n);
    assert_eq!(mac::verify(key, head, tail), tail == mac::tag(key, head));
});
