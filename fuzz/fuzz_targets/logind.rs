//! /run/systemd/users/UID: STATE= and SESSIONS=.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::logind::{self, LoginState};

fuzz_target!(|data: &[u8]| {
    let f = logind::parse_user(data);
    if let Some(state) = f.state {
        assert!(data.windows(6).any(|w| w == b"STATE="));
        if state != LoginState::Other {
            assert_eq!(LoginState::from_bytes(state.as_str().as_bytes()), state);
        }
    }
    // Each session id is at least one byte, separated by at least one byte.
    assert!(f.sessions as usize <= data.len() / 2 + 1);
    if f.sessions > 0 {
        assert!(data.windows(9).any(|w| w == b"SESSIONS="));
    }
    let _ = LoginState::from_bytes(data);
});
