//! Opt-in repair (`--fix linger,timesync`, `--fix-dry-run`): the two causes of "ghost offline"
//! that one command cures.
//!
//! - linger off for a user whose user service is configured: `loginctl enable-linger USER`
//!   (logind then keeps `user@UID.service` without a session, so logout no longer kills the
//!   service);
//! - the clock check not OK while systemd-timesyncd is the time daemon:
//!   `systemctl restart systemd-timesyncd` and `timedatectl set-ntp true`.
//!
//! Each program is found on the node (`/usr/bin`, `/bin`, `/usr/sbin`, `/sbin` below the root)
//! and run by absolute path, without a shell, with a timeout ([`crate::sys::run_program`]).
//! Without systemd nothing is run and the record says `no-systemd`: never pretend. Planning is a
//! pure function ([`plan`]); the agent runs the plan and puts each outcome in the record.

use heapless::Vec;

use crate::record::{Daemon, Linger, User};

crate::words! {
    /// The repairs `--fix` names.
    pub enum Repair {
        /// `loginctl enable-linger USER` for a user whose user service needs linger.
        Linger = "linger",
        /// `systemctl restart systemd-timesyncd` and `timedatectl set-ntp true` when unsynced.
        Timesync = "timesync",
    }
}

/// The repairs a run may make.
pub type Repairs = crate::num::Set<Repair>;

/// Most commands one run may plan (a linger per user, and the two for timesyncd).
pub const MAX_FIXES: usize = crate::record::MAX_USERS + 2;

crate::words! {
    /// One step of a repair, named by its record key (after `fix.`).
    pub enum Step {
        /// `loginctl enable-linger USER`.
        EnableLinger = "enable-linger",
        /// `systemctl restart systemd-timesyncd`.
        RestartTimesyncd = "restart-timesyncd",
        /// `timedatectl set-ntp true`.
        SetNtp = "set-ntp",
    }
}

impl Step {
    /// The program (found on the node) and its two arguments; the second is empty for linger,
    /// whose user comes there.
    pub fn command(self) -> [&'static [u8]; 3] {
        match self {
            Step::EnableLinger => [b"loginctl", b"enable-linger", b""],
            Step::RestartTimesyncd => [b"systemctl", b"restart", b"systemd-timesyncd"],
            Step::SetNtp => [b"timedatectl", b"set-ntp", b"true"],
        }
    }
}

/// What became of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not run yet (a plan).
    Planned,
    /// Ran; its exit code (127: could not be executed).
    Ran(i32),
    /// `--fix-dry-run`: printed, not run.
    DryRun,
    /// No systemd/logind on this node: nothing to run.
    NoSystemd,
    /// Not run: the agent is not root.
    NotRoot,
    /// The program is not on the node.
    NoProgram,
    /// Killed at the run's deadline.
    Timeout,
    /// `fork` failed or an argument was unusable.
    Failed,
}

impl Outcome {
    /// The exit code of a step that ran.
    pub fn exit_code(self) -> Option<i32> {
        match self {
            Outcome::Ran(code) => Some(code),
            _ => None,
        }
    }
}

impl Fix<'_> {
    /// How the record names the outcome of a step (`ran`, `dry`, `no-logind`...); np1 writes
    /// the exit code of one that ran instead.
    pub fn outcome_word(&self) -> &'static str {
        match self.outcome {
            Outcome::Ran(_) => "ran",
            Outcome::Planned => "planned",
            Outcome::DryRun => "dry",
            // Linger is logind's; the timesync steps need systemd itself.
            Outcome::NoSystemd if self.user.is_some() => "no-logind",
            Outcome::NoSystemd => "no-systemd",
            Outcome::NotRoot => "not-root",
            Outcome::NoProgram => "no-program",
            Outcome::Timeout => "timeout",
            Outcome::Failed => "failed",
        }
    }
}

/// One planned or done step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fix<'a> {
    pub step: Step,
    /// The user, for `enable-linger`.
    pub user: Option<&'a [u8]>,
    pub outcome: Outcome,
}

/// The steps the record calls for: `fixes` are the `--fix` repairs; `clock_ok` whether the
/// clock check passed (`None`: not run or unknown); `systemd`: `/run/systemd/system` exists.
pub fn plan<'a>(
    fixes: Repairs,
    users: &[User<'a>],
    clock_ok: Option<bool>,
    daemon: Option<Daemon>,
    systemd: bool,
) -> Vec<Fix<'a>, MAX_FIXES> {
    let mut out = Vec::new();
    // Every step needs systemd (linger: its logind).
    let outcome = if systemd {
        Outcome::Planned
    } else {
        Outcome::NoSystemd
    };
    let mut add = |step, user| {
        let _ = out.push(Fix {
            step,
            user,
            outcome,
        });
    };
    if fixes.contains(Repair::Linger) {
        for u in users.iter().filter(|u| u.needs_linger) {
            if matches!(u.linger, Linger::Off | Linger::NotApplicable) {
                add(Step::EnableLinger, Some(u.name));
            }
        }
    }
    if fixes.contains(Repair::Timesync) && clock_ok == Some(false) {
        match daemon {
            Some(Daemon::Timesyncd) => {
                add(Step::RestartTimesyncd, None);
                add(Step::SetNtp, None);
            }
            // No systemd at all: say so once, rather than stay silent.
            _ if !systemd => add(Step::RestartTimesyncd, None),
            _ => {}
        }
    }
    out
}

/// What a run asks of the repairs: plain values from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'r> {
    /// `--root`: the programs are looked for below it.
    pub root: &'r [u8],
    /// `--fix` (`--fix-dry-run` alone asks for every repair).
    pub repairs: Repairs,
    /// `--fix-dry-run`: print the commands, run none.
    pub dry_run: bool,
}

/// `--fix` / `--fix-dry-run`: plans the repairs the judged record calls for, runs (or prints)
/// them until `deadline_ms`, and returns each step's outcome. Empty when neither flag is given.
pub fn run<'a>(
    ask: &Ask,
    users: &[User<'a>],
    clock_ok: Option<bool>,
    daemon: Option<Daemon>,
    deadline_ms: u64,
) -> Vec<Fix<'a>, MAX_FIXES> {
    use crate::sink::say;
    if ask.repairs.is_empty() && !ask.dry_run {
        return Vec::new();
    }
    let wanted = if ask.repairs.is_empty() {
        Repairs::all()
    } else {
        ask.repairs
    };
    let root = crate::probe::fs::Root::new(ask.root);
    let systemd = crate::probe::systemd_booted(&root);
    let mut plan = plan(wanted, users, clock_ok, daemon, systemd);
    let is_root = rustix::process::geteuid().is_root();
    let mut told = false;
    let mut path_buf = [0u8; crate::path::PATH_CAP];
    for f in plan.iter().filter(|f| f.outcome == Outcome::NoSystemd) {
        match f.user {
            Some(user) => say(&[b"cannot fix linger of ", user, b": no logind"]),
            None => say(&[b"cannot fix timesync: no systemd"]),
        }
    }
    for f in plan.iter_mut().filter(|f| f.outcome == Outcome::Planned) {
        let [program, verb, object] = f.step.command();
        // `PROGRAM VERB OBJECT`, the object of linger being the user.
        let object = if object.is_empty() {
            f.user.unwrap_or(b"")
        } else {
            object
        };
        let Some(path) = find_program(&root, program, &mut path_buf) else {
            f.outcome = Outcome::NoProgram;
            continue;
        };
        if ask.dry_run || !is_root {
            let (what, outcome): (&[u8], _) = match ask.dry_run {
                true => (b"would run: ", Outcome::DryRun),
                false => (b"--fix needs root, not run: ", Outcome::NotRoot),
            };
            // Each command a dry run would run; the first one only, for a user who is not root.
            if outcome == Outcome::DryRun || !told {
                say(&[what, path, b" ", verb, b" ", object]);
            }
            told = true;
            f.outcome = outcome;
            continue;
        }
        let argv = [path, verb, object];
        let count = if object.is_empty() { 2 } else { 3 };
        f.outcome = match crate::sys::run_program(argv.get(..count).unwrap_or(&argv), deadline_ms) {
            Ok(code) => Outcome::Ran(code),
            Err(crate::sys::ProgramError::Timeout) => Outcome::Timeout,
            Err(_) => Outcome::Failed,
        };
    }
    plan
}

/// The absolute path of `program` in `/usr/bin`, `/bin`, `/usr/sbin` or `/sbin` below the
/// root, if it is there and executable.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
fn find_program<'b>(
    root: &crate::probe::fs::Root,
    program: &[u8],
    buf: &'b mut [u8; crate::path::PATH_CAP],
) -> Option<&'b [u8]> {
    const DIRS: [&[u8]; 4] = [b"usr/bin/", b"bin/", b"usr/sbin/", b"sbin/"];
    for dir in &DIRS {
        let exec = rustix::fs::Access::EXEC_OK;
        let found = root.path(&[dir, program], buf).ok().filter(|p| {
            rustix::fs::accessat(rustix::fs::CWD, *p, exec, rustix::fs::AtFlags::empty()).is_ok()
        });
        if let Some(path) = found {
            let len = path.to_bytes().len();
            return buf.get(..len);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Login;

    fn user(name: &'static [u8], linger: Linger, needs: bool) -> User<'static> {
        User {
            name,
            uid: Some(1000),
            linger,
            login: Login::Unknown,
            needs_linger: needs,
        }
    }

    #[test]
    fn linger_off_for_a_user_service_only() {
        let linger = Repairs::EMPTY.with(Repair::Linger);
        let users = [
            user(b"node", Linger::Off, true),
            user(b"watch", Linger::Off, false),
            user(b"ok", Linger::On, true),
        ];
        let p = plan(linger, &users, Some(false), Some(Daemon::Timesyncd), true);
        assert_eq!(
            p.as_slice(),
            [Fix {
                step: Step::EnableLinger,
                user: Some(b"node"),
                outcome: Outcome::Planned
            }]
        );
        assert!(plan(
            Repairs::EMPTY,
            &users,
            Some(false),
            Some(Daemon::Timesyncd),
            true
        )
        .is_empty());
        let p = plan(
            linger,
            &[user(b"node", Linger::NotApplicable, true)],
            None,
            None,
            false,
        );
        assert_eq!(p[0].outcome, Outcome::NoSystemd);
    }

    #[test]
    fn timesync_only_when_unsynced_under_timesyncd() {
        let timesync = Repairs::EMPTY.with(Repair::Timesync);
        let p = plan(timesync, &[], Some(false), Some(Daemon::Timesyncd), true);
        let steps: std::vec::Vec<_> = p.iter().map(|f| (f.step, f.outcome)).collect();
        assert_eq!(
            steps,
            [
                (Step::RestartTimesyncd, Outcome::Planned),
                (Step::SetNtp, Outcome::Planned)
            ]
        );
        assert!(plan(timesync, &[], Some(true), Some(Daemon::Timesyncd), true).is_empty());
        assert!(plan(timesync, &[], None, Some(Daemon::Timesyncd), true).is_empty());
        assert!(plan(timesync, &[], Some(false), Some(Daemon::Chronyd), true).is_empty());
        let p = plan(timesync, &[], Some(false), Some(Daemon::BusyboxNtpd), false);
        assert_eq!(
            (p[0].step, p[0].outcome),
            (Step::RestartTimesyncd, Outcome::NoSystemd)
        );
    }
}
