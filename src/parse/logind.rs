//! logind's per-user state file, `/run/systemd/users/UID`: the user's `STATE`.
//!
//! logind writes `KEY=value` lines (`NAME`, `STATE`, `STOPPING`, `RUNTIME`, `SERVICE_JOB`,
//! `SESSIONS`, `SEATS`, `ACTIVE_SESSIONS`, ...) to a temporary file and renames it into place,
//! so a reader sees a whole file or none. A missing file means "offline" (what
//! `sd_uid_get_state()` answers). The file begins "This is private data. Do not parse.":
//! only `STATE` and `SESSIONS` are read, and an unknown `STATE` value is kept as "other".
//! logind saves the file when a session starts closing, not when it is gone: after the last
//! logout it may say `closing` for good while `loginctl` says `lingering` (the probe checks
//! `/run/systemd/sessions/ID` for the ids listed here).
//!
//! # References
//! - systemd `src/login/logind-user.c`, `user_save_internal()`, `user_state_to_string()`
//! - systemd `src/libsystemd/sd-login/sd-login.c`, `sd_uid_get_state()`

use crate::num::{lines, trim};

crate::words! {
    /// A user's state as logind names it (`user_state_to_string()`).
    pub enum LoginState {
        Offline = "offline",
        Opening = "opening",
        Lingering = "lingering",
        Online = "online",
        Active = "active",
        Closing = "closing",
        /// A value this version does not know (a newer systemd).
        Other = "other",
    }
}

impl LoginState {
    /// The state logind wrote; [`LoginState::Other`] for a word this version does not know
    /// (`other` itself included: logind never writes it).
    pub fn from_bytes(value: &[u8]) -> LoginState {
        match LoginState::from_word(value) {
            Some(LoginState::Other) | None => LoginState::Other,
            Some(state) => state,
        }
    }
}

/// What the agent reads from a user file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFile {
    /// `None` when the file has no `STATE=` line (truncated or not a logind file).
    pub state: Option<LoginState>,
    /// Number of session ids in `SESSIONS=` (0 when the key is absent).
    pub sessions: u32,
}

/// The user's `STATE` in the contents of `/run/systemd/users/UID` (the first `STATE=` line);
/// `None` when there is none (truncated or not a logind file).
pub fn state(bytes: &[u8]) -> Option<LoginState> {
    value(bytes, b"STATE=").map(LoginState::from_bytes)
}

/// The session ids of the first `SESSIONS=` line; none when the key is absent.
pub fn sessions(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    crate::num::fields(value(bytes, b"SESSIONS=").unwrap_or_default())
}

/// What follows `key` (`NAME=`) on the first line that starts with it.
fn value<'a>(bytes: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    lines(bytes).find_map(|line| trim(line).strip_prefix(key))
}

/// Parses the contents of `/run/systemd/users/UID`.
pub fn parse_user(bytes: &[u8]) -> UserFile {
    UserFile {
        state: state(bytes),
        sessions: u32::try_from(sessions(bytes).count()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(state: &str) -> String {
        format!("# This is private data. Do not parse.\nNAME=node\nSTATE={state}\nSTOPPING=no\nRUNTIME=/run/user/1000\nSERVICE_JOB=\nREALTIME=1700000000000000\nMONOTONIC=1234\nLAST_SESSION_TIMESTAMP=1700000000000000\nSESSIONS=3 5\nSEATS=\nACTIVE_SESSIONS=3\n")
    }

    #[test]
    fn every_state_logind_writes() {
        for (text, state) in [
            ("offline", LoginState::Offline),
            ("opening", LoginState::Opening),
            ("lingering", LoginState::Lingering),
            ("online", LoginState::Online),
            ("active", LoginState::Active),
            ("closing", LoginState::Closing),
            ("hibernating", LoginState::Other),
            ("", LoginState::Other),
        ] {
            let parsed = parse_user(file(text).as_bytes());
            assert_eq!(parsed.state, Some(state), "STATE={text}");
            assert_eq!(parsed.sessions, 2);
            if state != LoginState::Other {
                assert_eq!(LoginState::from_bytes(state.as_str().as_bytes()), state);
            }
        }
    }

    #[test]
    fn lingering_user_without_sessions() {
        let parsed = parse_user(b"NAME=node\nSTATE=lingering\nSTOPPING=no\n");
        assert_eq!(
            parsed,
            UserFile {
                state: Some(LoginState::Lingering),
                sessions: 0
            }
        );
    }

    #[test]
    fn session_ids() {
        let text = file("closing");
        let ids: Vec<&[u8]> = sessions(text.as_bytes()).collect();
        assert_eq!(ids, [&b"3"[..], b"5"]);
        assert_eq!(sessions(b"STATE=closing\nSESSIONS=\n").count(), 0);
        assert_eq!(sessions(b"STATE=lingering\n").count(), 0);
        assert_eq!(sessions(b"SESSIONS=c1 \xff\n").count(), 2);
    }

    #[test]
    fn truncated_empty_garbage() {
        assert_eq!(parse_user(b"").state, None);
        assert_eq!(parse_user(b"NAME=node\nSTA").state, None);
        assert_eq!(parse_user(b"STATE=act").state, Some(LoginState::Other));
        assert_eq!(
            parse_user(b"\xff\xfe\x00\nSTATE=\xff\n").state,
            Some(LoginState::Other)
        );
    }
}
