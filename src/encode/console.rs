//! `--format text`, for the person at the node's console, read the way the checklist script it
//! replaces was read: one line per check, worst first (CRITICAL, WARNING, UNKNOWN, then OK),
//! each saying in plain words what is wrong, why it matters and the command that fixes it:
//!
//! ```text
//! CRITICAL linger is off for claw: its user services die at logout - loginctl enable-linger claw
//! WARNING clock unsynchronized (maxerror 16 s): tokens fail "not yet valid" - systemctl restart systemd-timesyncd
//! OK disk /
//! ```
//!
//! The exit code is the record's, as in every format. Names from the node go through the
//! escaping every format shares ([`write_text`]): a control byte (a terminal's escape sequence
//! among them) or invalid UTF-8 is written `%XX`, so nothing from the node drives the terminal.

use super::text::{write_text, PERCENT};
use super::Out;
use crate::model::{clock, disk, memory, timesync, Model, Section, V};
use crate::verdict::{Reason, Status};

/// Control bytes as `%XX`: the rest of valid UTF-8 is shown as it is.
fn console_escape(b: u8, _: Option<u8>) -> Option<&'static [u8]> {
    match b {
        0..=0x1f | 0x7f => Some(PERCENT),
        _ => None,
    }
}

/// The command `--fix timesync` runs first ([`crate::fix::Step::RestartTimesyncd`]), the fix
/// of a clock that is off.
const RESTART_TIMESYNCD: &str = "systemctl restart systemd-timesyncd";

/// `advice! { REASON => "text", ... }`: [`advice`] reads one packed string (`\x1f` between
/// the texts, no table of pointers beside it) at the reason's index; `ADVISED` is the reasons in
/// the order written, which a test holds equal to [`Reason::ALL`].
macro_rules! advice {
    ($($why:ident => $text:literal,)+) => {
        const ADVICE: &str = concat!($($text, "\x1f"),+);
        #[cfg(test)]
        const ADVISED: &[Reason] = &[$(Reason::$why),+];

        /// What a reason tells the person at the console: what is wrong, why it matters, and
        /// the command that fixes it. The holes: `{n}` the instance's name (the user, service
        /// or mount), `{v}` its [`figure`], `{u}` ` --user -M USER@` for a user's service
        /// (`systemctl` then talks to that user's manager), `{t}` [`RESTART_TIMESYNCD`].
        fn advice(why: Reason) -> &'static str {
            crate::num::part(ADVICE, 0x1f, why as usize)
        }
    };
}

advice! {
    Unsynced => "clock unsynchronized (maxerror {v} s): tokens fail \"not yet valid\" - {t}",
    Offset => "clock off by {v} ms: tokens fail - {t}",
    Maxerror => "clock may be off by {v} s: tokens fail - {t}",
    NtpOffset => "clock {v} ms off the NTP server: heartbeats are dropped - {t}",
    Adjtimex => "adjtimex failed: clock state unknown - allow adjtimex",
    NoDaemon => "no time daemon: the clock drifts - systemctl enable --now systemd-timesyncd",
    NeverSynced => "timesyncd never synced: the clock drifts - timedatectl timesync-status",
    SyncAge => "last time sync {v} s ago: the clock drifts - timedatectl timesync-status",
    Proc => "/proc unreadable: time daemon unknown - mount -t proc proc /proc",
    LingerOff => "linger is off for {n}: its user services die at logout - loginctl enable-linger {n}",
    NoSuchUser => "no user {n}: its services cannot run - getent passwd {n}",
    Linger => "linger of {n} unknown: its services may die at logout - loginctl show-user {n}",
    Logind => "login state of {n} unknown: its services may be gone - loginctl show-user {n}",
    Down => "service {n} is down: the node looks offline - systemctl{u} restart {n}",
    Unreadable => "service {n} state unknown: it may be down - systemctl{u} status {n}",
    Space => "disk {n} is {v}% full: writes fail - du -xh {n} | sort -h",
    Inodes => "disk {n} uses {v}% of its inodes: new files fail - df -i {n}",
    Statvfs => "disk {n} unreadable: space unknown - df {n}",
    Timeout => "disk {n} hangs: writes to it block - check its device or server",
    Available => "{v} MiB of memory left: the OOM killer stops services - top",
    Meminfo => "/proc/meminfo unreadable: memory unknown - mount -t proc proc /proc",
}

/// Where a reason's figure (`{v}`) comes from: the field of its section, and how many of the
/// field's units make one of the unit its advice names (µs per s, bytes per MiB).
fn figure_source(why: Reason) -> Option<(usize, u32)> {
    match why {
        Reason::Unsynced | Reason::Maxerror => Some((clock::MAXERROR_US, 1_000_000)),
        Reason::Offset => Some((clock::OFFSET_US, 1000)),
        Reason::NtpOffset => Some((clock::NTP_OFFSET_US, 1000)),
        Reason::SyncAge => Some((timesync::SYNCED_AGE_S, 1)),
        Reason::Space => Some((disk::USED_PCT, 1)),
        Reason::Inodes => Some((disk::INODES_USED_PCT, 1)),
        Reason::Available => Some((memory::AVAIL_BYTES, 1 << 20)),
        _ => None,
    }
}

/// The figure of a reason's advice, in its advice's unit (`None`: unknown).
fn figure(c: &Section, why: Reason) -> Option<i64> {
    let (field, per_unit) = figure_source(why)?;
    match c.values.get(field) {
        Some(&V::Int(n)) => Some(crate::num::div_toward_zero(n, per_unit)),
        _ => None,
    }
}

/// One check's line: its state word, then its advice, or for a check without a reason its name
/// (`OK disk /`).
fn line(out: &mut Out, c: &Section) {
    out.str(c.verdict.status.plugin_word());
    out.str(" ");
    // The instance's name, and for a service its user (the second label).
    let [(_, name), (_, user)] = c.labels;
    match c.verdict.why {
        Some(why) => out.fill(advice(why), &mut |out, hole| match hole {
            b'n' => write_text(out, name, console_escape),
            b'v' => match figure(c, why) {
                Some(n) => out.i64(n),
                None => out.str("?"),
            },
            b't' => out.str(RESTART_TIMESYNCD),
            b'u' if !user.is_empty() => {
                out.str(" --user -M ");
                write_text(out, user, console_escape);
                out.str("@");
            }
            _ => {}
        }),
        None => {
            out.str(c.kind.check);
            if !name.is_empty() {
                out.str(" ");
                write_text(out, name, console_escape);
            }
        }
    }
    out.str("\n");
}

/// Encodes the model as one line per check, worst first; within a state, in record order.
#[inline(never)]
pub fn encode(m: &Model, out: &mut Out) {
    for status in [Status::Crit, Status::Warn, Status::Unknown, Status::Ok] {
        // The node's own section (the first) is the overall status, not a check.
        for c in m.sections.get(1..).unwrap_or(&[]) {
            if c.kind.judged && c.verdict.status == status {
                line(out, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Step;

    /// Every reason's advice says what is wrong before `: `, why it matters, and the fix after
    /// ` - `; it uses only the holes [`line`] fills, and `{v}` exactly when the reason has a
    /// figure to put there.
    #[test]
    fn every_reason_has_whole_advice() {
        for &why in Reason::ALL {
            let text = advice(why);
            let (wrong, rest) = text.split_once(": ").expect(text);
            let (matters, fix) = rest.split_once(" - ").expect(text);
            assert!(
                !wrong.is_empty() && !matters.is_empty() && !fix.is_empty(),
                "{text}"
            );
            for (i, _) in text.match_indices('{') {
                assert!(
                    matches!(&text[i..i + 3], "{n}" | "{v}" | "{u}" | "{t}"),
                    "{text}"
                );
            }
            assert_eq!(text.contains("{v}"), figure_source(why).is_some(), "{text}");
        }
    }

    /// The clock's fix is the command `--fix timesync` runs.
    #[test]
    fn the_clock_fix_is_the_repair_step() {
        let words: Vec<&[u8]> = RESTART_TIMESYNCD.split(' ').map(str::as_bytes).collect();
        assert_eq!(words, Step::RestartTimesyncd.command());
    }

    /// The advice is written in the order of the reasons, so each reads its own.
    #[test]
    fn advice_follows_the_reasons() {
        assert_eq!(ADVISED, Reason::ALL);
    }

    /// A control byte from the node (a terminal escape sequence) reaches the console as `%XX`.
    #[test]
    fn names_cannot_drive_the_terminal() {
        let mut buf = [0u8; 64];
        let mut out = Out::new(&mut buf);
        write_text(&mut out, b"a\x1b[2Jb\x07\xff", console_escape);
        assert_eq!(out.finish(), Ok(&b"a%1B[2Jb%07%FF"[..]));
    }
}
