//! The `linger` check: for each `--user`, its uid (`/etc/passwd`), whether linger is on
//! (`/var/lib/systemd/linger/NAME` exists) and logind's view (`/run/systemd/users/UID`).
//! A file left at `closing` after the last logout, with linger on and none of its sessions
//! left in `/run/systemd/sessions/`, is reported as `lingering`, what `loginctl` says.
//!
//! With linger off, logind stops `user@UID.service`, and every user service in it, when the
//! user's last session ends: the "ghost offline" node. Without systemd there is no logind, so
//! both are "n/a", never "off". logind names the linger file after the C-escaped user name
//! (`cescape()`), which for ordinary POSIX names is the name itself.
//!
//! # References
//! - systemd `src/login/logind-user.c`, `user_check_linger_file()`, `user_save_internal()`,
//!   `user_get_state()`
//! - systemd `src/login/logind-dbus.c`, `method_set_user_linger()`
//! - loginctl(1), `enable-linger`

use heapless::Vec;
use rustix::io::Errno;

use super::fs::Root;
use crate::parse::logind::{self, LoginState};
use crate::parse::passwd;
use crate::record::{Linger, Login, ServiceName, User, MAX_USERS};

/// Longest escaped user name: every byte may become `\xNN`.
const ESCAPED_MAX: usize = 4 * 64;

/// The C escapes `cescape()` writes for control bytes (`\a`, `\n`...).
const C_ESCAPES: [(u8, u8); 7] = [
    (0x07, b'a'),
    (0x08, b'b'),
    (0x0c, b'f'),
    (b'\n', b'n'),
    (b'\r', b'r'),
    (b'\t', b't'),
    (0x0b, b'v'),
];

/// systemd's `cescape()`: C escapes for control bytes, quotes and backslash, `\xNN` for bytes
/// outside printable ASCII. `None` if the result does not fit.
pub fn cescape(name: &[u8]) -> Option<Vec<u8, ESCAPED_MAX>> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::new();
    for &b in name {
        let c_escape = C_ESCAPES
            .iter()
            .find(|(byte, _)| *byte == b)
            .map(|(_, letter)| *letter);
        let escaped: &[u8] = match (b, c_escape) {
            (_, Some(letter)) => &[b'\\', letter],
            (b'\\' | b'"' | b'\'', _) => &[b'\\', b],
            (0x20..=0x7e, _) => core::slice::from_ref(&b),
            _ => &[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ],
        };
        out.extend_from_slice(escaped).ok()?;
    }
    Some(out)
}

/// The users a run looks at: those named (`--user`), then the owner of every user service
/// (each once; an owner needs linger), each probed ([`probe`]).
pub fn of<'a>(
    root: &Root,
    systemd: bool,
    names: &[&'a [u8]],
    services: &[ServiceName<'a>],
) -> Vec<User<'a>, MAX_USERS> {
    let mut users: Vec<User<'a>, MAX_USERS> = Vec::new();
    let owners = services.iter().filter_map(|s| s.user);
    for name in names.iter().copied().chain(owners) {
        let needs_linger = services.iter().any(|s| s.user == Some(name));
        if let Some(u) = users.iter_mut().find(|u| u.name == name) {
            u.needs_linger |= needs_linger;
        } else {
            let fresh = User {
                name,
                uid: None,
                linger: Linger::Unknown,
                login: Login::Unknown,
                needs_linger,
            };
            // The command line allows at most MAX_USERS distinct users in all.
            let _ = users.push(fresh);
        }
    }
    probe(root, systemd, &mut users);
    users
}

/// Fills uid, linger and login state for every user. One pass over `/etc/passwd` for all.
pub fn probe(root: &Root, systemd: bool, users: &mut [User]) {
    // `/etc/passwd` is read in `buf`, then each user's logind file.
    let mut buf = [0u8; 4096];
    let mut missing = users.len();
    let _ = root.for_each_line(&[b"etc/passwd"], &mut buf, |line| {
        for user in users.iter_mut().filter(|u| u.uid.is_none()) {
            if let Some(uid) = passwd::uid_in_line(line, user.name) {
                user.uid = Some(uid);
                missing -= 1;
            }
        }
        missing == 0
    });
    for user in users.iter_mut() {
        if !systemd {
            user.linger = Linger::NotApplicable;
            user.login = Login::NotApplicable;
            continue;
        }
        // The escaped name is borrowed where it lies, not moved (a 260-byte copy) into the map.
        let escaped = cescape(user.name);
        let linger_file = escaped
            .as_deref()
            .map(|name| root.lstat(&[b"var/lib/systemd/linger/", name]));
        user.linger = match linger_file {
            Some(Ok(_)) => Linger::On,
            Some(Err(Errno::NOENT)) => Linger::Off,
            _ => Linger::Unknown,
        };
        user.login = match user.uid {
            None => Login::Unknown,
            Some(uid) => {
                let mut digits = [0u8; 20];
                match root.read(
                    &[
                        b"run/systemd/users/",
                        crate::num::decimal(u64::from(uid), &mut digits),
                    ],
                    &mut buf,
                ) {
                    // logind does not save the file again when the last closing session
                    // goes: with linger on, `loginctl` (`user_get_state()`) says lingering.
                    Ok(bytes) => logind::state(bytes).map_or(Login::Unknown, |state| {
                        let freed = state == LoginState::Closing
                            && user.linger == Linger::On
                            && !logind::sessions(bytes)
                                .any(|id| root.lstat(&[b"run/systemd/sessions/", id]).is_ok());
                        Login::State(if freed { LoginState::Lingering } else { state })
                    }),
                    Err(Errno::NOENT) => Login::State(LoginState::Offline),
                    Err(_) => Login::Unknown,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_systemd() {
        assert_eq!(cescape(b"node").unwrap().as_slice(), b"node");
        assert_eq!(
            cescape(b"a\\b'c\"\t").unwrap().as_slice(),
            b"a\\\\b\\'c\\\"\\t"
        );
        assert_eq!(
            cescape(b"\xc3\xa9\x01").unwrap().as_slice(),
            b"\\xc3\\xa9\\x01"
        );
        assert!(cescape(&[0xffu8; 65]).is_none());
    }
}
