//! cgroup.events `populated` and cgroup.procs first pid.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::cgroup;

fuzz_target!(|data: &[u8]| {
    if cgroup::parse_populated(data).is_some() {
        assert!(data.windows(9).any(|w| w == b"populated"));
    }
    if let Some(pid) = cgroup::first_pid(data) {
        assert!(pid > 0);
    }
});
