//! /proc/PID/stat, /proc/uptime, /proc/loadavg, boot_id, one-word files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::procfs;

fuzz_target!(|data: &[u8]| {
    if let Some(s) = procfs::parse_stat(data) {
        // comm is a sub-slice of the input, between the first '(' and the last ')'.
        let start = s.comm.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start >= 1 && start + s.comm.len() < data.len());
        assert_eq!(data[start - 1], b'(');
        assert_eq!(data[start + s.comm.len()], b')');
        assert!(!s.state.is_ascii_whitespace());
    }
    if let Some(up) = procfs::parse_uptime(data) {
        assert!(up <= u64::MAX / 100);
    }
    let _ = procfs::parse_loadavg(data);
    if let Some(id) = procfs::parse_boot_id(data) {
        assert!(id.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
    }
    let max = data.first().copied().unwrap_or(0) as usize;
    for m in [max, 0, 64, usize::MAX] {
        if let Some(w) = procfs::parse_word(data, m) {
            assert!(!w.is_empty() && w.len() <= m);
            // Spaces inside are kept (hostnames with spaces are escaped by the encoders).
            assert!(w.iter().all(|&b| b >= b' ' && b != 0x7f));
            assert_eq!(w.first().map(u8::is_ascii_whitespace), Some(false));
            assert_eq!(w.last().map(u8::is_ascii_whitespace), Some(false));
        }
    }
});
