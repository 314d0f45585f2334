//! The collector's datagram parser: parse, then every accessor on what it accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::encode::line as np1;

fuzz_target!(|data: &[u8]| {
    let mut buf = [0u8; 256];
    let _ = np1::decode(data, &mut buf);
    let Ok(r) = np1::parse(data) else { return };
    assert!(data.starts_with(b"np1 "));
    assert!(data.len() <= np1::MAX_LEN + 1);
    let host = r.host().expect("accepted without host");
    assert!(!host.is_empty());
    r.t_ms().expect("accepted without t");
    r.status().expect("accepted without st");
    if let Some(b) = r.boot() {
        assert_eq!(b.len(), 32);
    }
    let _ = np1::decode(host, &mut buf);
    for (k, v) in r.tokens() {
        assert!(!k.is_empty());
        assert!(!v.contains(&b' '));
        assert_eq!(r.get(k).is_some(), true);
    }
    for c in r.checks() {
        let _ = np1::decode(c.name, &mut buf);
        let _ = np1::decode(c.why, &mut buf);
        for f in [&b"pid"[..], b"uid", b"mb", b"off_us", b"", b"x"] {
            if let Some(v) = c.field(f) {
                assert!(!v.contains(&b','));
            }
        }
    }
});
