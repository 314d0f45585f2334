//! /etc/passwd: input = NAME \0 FILE. A uid found comes from a line `NAME:...`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::passwd;

fuzz_target!(|data: &[u8]| {
    let (name, file) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"node"[..], data),
    };
    if let Some(_uid) = passwd::find_uid(file, name) {
        assert!(!name.is_empty());
        let mut key = name.to_vec();
        key.push(b':');
        assert!(file.windows(key.len()).any(|w| w == key.as_slice()));
    }
    for line in file.split(|&b| b == b'\n').take(64) {
        let _ = passwd::uid_in_line(line, name);
    }
});
