//! The `service` check: is each `--service` (system unit) and `--user-service USER:NAME` (unit of
//! that user's manager) running, with which main pid and since when.
//!
//! With systemd (PID 1), in this order:
//! 1. `invocation:UNIT` in `/run/systemd/units/` (system manager, systemd ≥ 236) or
//!    `/run/user/UID/systemd/units/` (user manager, ≥ 245; the directory is 0700). systemd
//!    creates the link in `unit_export_invocation_id()` just before the unit's processes start
//!    and removes it in `unit_unlink_state_files()` when the unit becomes inactive or failed, so
//!    it exists while the unit is activating, active or deactivating.
//! 2. The unit's cgroup: `populated` in `cgroup.events` (cgroup v2, or the hybrid `unified/`
//!    tree), else a non-empty `cgroup.procs` (cgroup v1 `name=systemd` tree). User units live
//!    under `user@UID.service/app.slice/` since systemd 247, directly under `user@UID.service/`
//!    before. A unit that is not running has no cgroup directory: when the link cannot be read
//!    (another user's `/run/user/UID`, 0700) but the manager's `user@UID.service` cgroup can,
//!    a unit without one is down.
//! 3. When neither can be read (a user unit seen by another non-root user on cgroup v1):
//!    a process of that user whose `comm` matches.
//!
//! Without systemd: a process whose `comm` is the unit name without `.service` (cut to 15 bytes).
//! The pid comes from `cgroup.procs` when there is one, else from the process scan.
//!
//! Restarts: a unit's invocation link is written anew (`symlink_atomic()`, a new inode) each
//! time systemd starts the unit, so its inode tells one start from the next and no `/proc/PID`
//! is opened for the unit. Only a service without a link (settled by its cgroup or its
//! process) has its main process's start time read from `/proc/PID/stat`.
//!
//! # References
//! - systemd `src/core/unit.c`, `unit_export_invocation_id()`, `unit_unlink_state_files()`
//!   (systemd calls these links "not API": they are read as a best-effort first source)
//! - Linux `Documentation/admin-guide/cgroup-v2.rst`; systemd.special(7) (`app.slice`)

use heapless::Vec;
use rustix::io::Errno;

use super::fs::Root;
use super::procs::{self, Want};
use super::timesync;
use crate::parse::cgroup;
use crate::record::{Active, Daemon, Service, ServiceName, User, Via, MAX_SERVICES};

/// What [`resolve`] found.
#[derive(Debug, Clone, Default)]
pub struct Resolved<'a> {
    /// One per service asked for, in order.
    pub services: Vec<Service<'a>, MAX_SERVICES>,
    /// The time daemon, when asked for (`Unknown` when `/proc` could not be read).
    pub daemon: Option<Daemon>,
}

/// Settles every service: systemd's files first (invocation link, cgroup); whatever they
/// cannot settle, and the time daemon when `want_daemon` and no unit names it, from one pass
/// over `/proc`. `users`
/// gives the uid of each user service's owner.
pub fn resolve<'a>(
    root: &Root,
    systemd: bool,
    want_daemon: bool,
    asked: &[ServiceName<'a>],
    users: &[User],
) -> Resolved<'a> {
    let uid_of = |name: &[u8]| users.iter().find(|u| u.name == name).and_then(|u| u.uid);
    let mut svcs: Vec<Service<'a>, MAX_SERVICES> = Vec::new();
    let mut scan_for: Vec<bool, MAX_SERVICES> = Vec::new();
    let tree = if systemd && !asked.is_empty() {
        CgroupTree::find(root)
    } else {
        CgroupTree::None
    };
    for arg in asked {
        let mut svc = Service {
            user: arg.user,
            name: arg.name,
            active: Active::Unknown,
            via: Via::None,
            pid: None,
            start_cs: None,
            link_ino: None,
        };
        let uid = arg.user.and_then(uid_of);
        let needs_scan = match unit_suffix(arg.name) {
            // A user unit whose user has no uid: no path, no process owner to look for.
            _ if arg.user.is_some() && uid.is_none() => false,
            Some(suffix) if systemd => {
                let st = unit_state(root, tree, [arg.name, suffix], uid);
                svc.active = st.active;
                svc.via = st.via;
                svc.pid = st.pid;
                svc.link_ino = st.link_ino;
                st.needs_scan
            }
            _ => true,
        };
        let _ = svcs.push(svc);
        let _ = scan_for.push(needs_scan);
    }

    // The time daemon from its unit when systemd runs one; else one pass over /proc for the
    // time daemons and the services left open.
    let unit_daemon = if want_daemon && systemd {
        timesync::daemon_of_units(root)
    } else {
        None
    };
    let mut wants: Vec<Want, { timesync::DAEMONS.len() + MAX_SERVICES }> = Vec::new();
    if want_daemon && unit_daemon.is_none() {
        for want in timesync::wants() {
            let _ = wants.push(want);
        }
    }
    // Per service: its name when systemd could not settle it, else its known pid (for the
    // start time, free when the scan runs anyway) unless its invocation link tells its
    // restarts, else a placeholder.
    let first_service_want = wants.len();
    for (svc, &needed) in svcs.iter().zip(&scan_for) {
        let want = match (needed, svc.pid) {
            (true, _) => Want::new(comm_of(svc.name), svc.user.and_then(uid_of)),
            (false, Some(pid)) if svc.link_ino.is_none() => Want::by_pid(pid),
            (false, _) => Want::by_pid(0),
        };
        let _ = wants.push(want);
    }
    // Did the scan run and read /proc? (It runs only when a name is wanted.)
    let scanned = wants.iter().any(Want::by_name) && procs::scan(root, &mut wants).is_ok();

    let daemon = want_daemon.then(|| {
        if let Some(daemon) = unit_daemon {
            daemon
        } else if scanned {
            timesync::daemon(root, wants.get(..first_service_want).unwrap_or(&[]))
        } else {
            Daemon::Unknown
        }
    });
    for (i, svc) in svcs.iter_mut().enumerate() {
        let found = wants.get(first_service_want + i).and_then(|w| w.found);
        if scan_for.get(i) == Some(&true) {
            if let Some(f) = found {
                svc.pid = Some(f.pid);
                svc.start_cs = Some(f.start_cs);
                if svc.active == Active::Unknown {
                    svc.active = Active::Yes;
                    svc.via = Via::Process;
                }
            } else if svc.active == Active::Unknown && scanned && (svc.user.is_none() || !systemd) {
                // Without systemd (or for a unit systemd did not settle) no process means down.
                svc.active = Active::No;
                svc.via = Via::Process;
            }
        } else if let (Some(pid), None) = (svc.pid, svc.link_ino) {
            svc.start_cs = match found {
                Some(f) => Some(f.start_cs),
                None if scanned => None, // gone since its cgroup was read
                None => procs::start_of(root, pid),
            };
        }
    }
    Resolved {
        services: svcs,
        daemon,
    }
}

/// Longest unit name systemd accepts (`UNIT_NAME_MAX` - 1) plus room for `.service`.
pub const UNIT_MAX: usize = 256;

/// Unit suffixes systemd knows; a name without one gets `.service` (like `systemctl`).
const SUFFIXES: [&[u8]; 11] = [
    b".service",
    b".socket",
    b".target",
    b".device",
    b".mount",
    b".automount",
    b".swap",
    b".timer",
    b".path",
    b".slice",
    b".scope",
];

/// What follows `name` in its unit name: nothing for a name with a unit suffix, else
/// `.service` (`openclaw-node` is `openclaw-node.service`); `None` when the unit name would
/// be longer than [`UNIT_MAX`]. The unit name is the two pieces, which the paths join.
pub fn unit_suffix(name: &[u8]) -> Option<&'static [u8]> {
    let suffix: &[u8] = if SUFFIXES
        .iter()
        .any(|s| name.ends_with(s) && name.len() > s.len())
    {
        b""
    } else {
        b".service"
    };
    (name.len() + suffix.len() <= UNIT_MAX).then_some(suffix)
}

/// The process name to look for: the unit name without `.service`.
pub fn comm_of(name: &[u8]) -> &[u8] {
    name.strip_suffix(b".service").unwrap_or(name)
}

/// The cgroup trees systemd may use: unified (v2), hybrid (v1 with a v2 tree beside it), legacy
/// (v1's `name=systemd` hierarchy).
const V2: &[u8] = b"sys/fs/cgroup/";
const HYBRID: &[u8] = b"sys/fs/cgroup/unified/";
const V1: &[u8] = b"sys/fs/cgroup/systemd/";

/// Where the cgroup tree of units is, found once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupTree {
    /// `sys/fs/cgroup/` (v2) or `sys/fs/cgroup/unified/` (hybrid): has `cgroup.events`.
    Unified(&'static [u8]),
    /// `sys/fs/cgroup/systemd/` (v1): only `cgroup.procs`.
    Legacy,
    None,
}

impl CgroupTree {
    /// The first tree, of v2, hybrid and v1, that has a `system.slice`.
    pub fn find(root: &Root) -> CgroupTree {
        let has_units = |tree: CgroupTree| {
            tree.base()
                .is_some_and(|base| root.lstat(&[base, b"system.slice"]).is_ok())
        };
        // Walked by reference: a loop over the array by value copies it first.
        const TREES: [CgroupTree; 3] = [
            CgroupTree::Unified(V2),
            CgroupTree::Unified(HYBRID),
            CgroupTree::Legacy,
        ];
        for &tree in &TREES {
            if has_units(tree) {
                return tree;
            }
        }
        CgroupTree::None
    }

    #[inline(never)] // out of line: measured smaller on i686 and x86_64
    fn base(self) -> Option<&'static [u8]> {
        match self {
            CgroupTree::Unified(base) => Some(base),
            CgroupTree::Legacy => Some(V1),
            CgroupTree::None => None,
        }
    }
}

/// What systemd's files say about one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitState {
    pub active: Active,
    pub via: Via,
    pub pid: Option<u32>,
    /// [`Service::link_ino`](crate::record::Service).
    pub link_ino: Option<u64>,
    /// Nothing in `/run` or the cgroup tree could be read: ask the process scan.
    pub needs_scan: bool,
}

/// What one cgroup directory (`dir`, its base and path below it) says: `Some(populated, first
/// pid)`, `None` if it is absent; `populated` is `None` when its `cgroup.events` is there but
/// cannot be read (`EACCES`, `EISDIR`): then the directory says nothing. `dir` gets the file
/// names appended.
fn cgroup_dir(
    root: &Root,
    unified: bool,
    dir: &mut Vec<&[u8], 16>,
) -> Option<(Option<bool>, Option<u32>)> {
    let mut buf = [0u8; 1024];
    let events = if unified {
        dir.push(b"/cgroup.events").ok()?;
        let events = match root.read(dir, &mut buf) {
            Err(Errno::NOENT | Errno::NOTDIR) => return None,
            Err(_) => return Some((None, None)),
            Ok(events) => cgroup::parse_populated(events),
        };
        dir.pop();
        events
    } else {
        None
    };
    dir.push(b"/cgroup.procs").ok()?;
    let pid = root.read(dir, &mut buf).ok().and_then(cgroup::first_pid);
    Some((Some(events.unwrap_or(pid.is_some())), pid))
}

/// Checks one unit, named by its two pieces ([`unit_suffix`]). `uid` is `None` for a system
/// unit, `Some(uid)` for a user unit.
#[inline(never)] // out of line: inlining every probe and encoder into main costs ~650 bytes
pub fn unit_state(root: &Root, tree: CgroupTree, unit: [&[u8]; 2], uid: Option<u32>) -> UnitState {
    let [name, suffix] = unit;
    let mut digits = [0u8; 20];
    let uid_text: &[u8] = uid.map_or(&b""[..], |u| crate::num::decimal(u64::from(u), &mut digits));
    let link = match uid {
        None => root.lstat(&[b"run/systemd/units/invocation:", name, suffix]),
        Some(_) => root.lstat(&[
            b"run/user/",
            uid_text,
            b"/systemd/units/invocation:",
            name,
            suffix,
        ]),
    };
    // The unit's cgroup directory, below the slice that holds it; a template instance
    // (`foo@bar.service`) sits one slice deeper (`system-foo.slice`, `app-foo.slice`).
    let template = name
        .iter()
        .position(|&b| b == b'@')
        .and_then(|at| name.get(..at));
    let unified = matches!(tree, CgroupTree::Unified(_));
    let mut dir: Vec<&[u8], 16> = Vec::new();
    let cgroup = tree.base().and_then(|base| {
        let _ = dir.push(base);
        match uid {
            None => {
                let _ = dir.push(b"system.slice/");
                if let Some(prefix) = template {
                    let _ = dir.extend_from_slice(&[b"system-", prefix, b".slice/"]);
                }
                let _ = dir.extend_from_slice(&unit);
                cgroup_dir(root, unified, &mut dir)
            }
            Some(_) => {
                let _ = dir.extend_from_slice(&[
                    b"user.slice/user-",
                    uid_text,
                    b".slice/user@",
                    uid_text,
                    b".service/",
                ]);
                let manager = dir.len();
                let _ = dir.push(b"app.slice/");
                if let Some(prefix) = template {
                    let _ = dir.extend_from_slice(&[b"app-", prefix, b".slice/"]);
                }
                let _ = dir.extend_from_slice(&unit);
                cgroup_dir(root, unified, &mut dir)
                    .or_else(|| {
                        // systemd < 247 put user units directly below user@UID.service.
                        dir.truncate(manager);
                        let _ = dir.extend_from_slice(&unit);
                        cgroup_dir(root, unified, &mut dir)
                    })
                    .or_else(|| {
                        // `/run/user/UID` is 0700, but the cgroup tree is world-readable: a
                        // visible manager cgroup without the unit's means it is not running.
                        let hidden = !matches!(link, Err(Errno::NOENT));
                        (hidden && root.lstat(dir.get(..manager)?).is_ok())
                            .then_some((Some(false), None))
                    })
            }
        }
    });
    let pid = cgroup.and_then(|(_, pid)| pid);
    match (link, cgroup) {
        (Ok(st), _) => UnitState {
            active: Active::Yes,
            via: Via::Invocation,
            pid,
            // systemd writes the link anew (`symlink_atomic()`) at each start of the unit, and
            // the tmpfs of `/run` gives no two files of one boot the same inode number.
            link_ino: Some(st.ino),
            needs_scan: pid.is_none(),
        },
        (_, Some((Some(true), _))) => UnitState {
            active: Active::Yes,
            via: Via::Cgroup,
            pid,
            link_ino: None,
            needs_scan: pid.is_none(),
        },
        (_, Some((Some(false), _))) => UnitState {
            active: Active::No,
            via: Via::Cgroup,
            pid: None,
            link_ino: None,
            needs_scan: false,
        },
        // No link and no cgroup directory: not running (a tree we can see lists every running unit).
        (Err(Errno::NOENT), None) => UnitState {
            active: Active::No,
            via: Via::Invocation,
            pid: None,
            link_ino: None,
            needs_scan: false,
        },
        // No link we could read, or a cgroup that cannot be read: the process scan may tell.
        (Err(_), None) | (_, Some((None, _))) => UnitState {
            active: Active::Unknown,
            via: Via::None,
            pid: None,
            link_ino: None,
            needs_scan: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let unit = |name: &[u8]| unit_suffix(name).map(|suffix| [name, suffix].concat());
        assert_eq!(unit(b"openclaw-node").unwrap(), b"openclaw-node.service");
        assert_eq!(unit(b"chrony.service").unwrap(), b"chrony.service");
        assert_eq!(unit(b"backup.timer").unwrap(), b"backup.timer");
        assert_eq!(unit(b"node.v2").unwrap(), b"node.v2.service");
        assert_eq!(unit(b".service").unwrap(), b".service.service");
        assert_eq!(unit(&[b'a'; 248]).map(|u| u.len()), Some(256));
        assert_eq!(unit(&[b'a'; 249]), None, "longer than UNIT_MAX");
        assert_eq!(comm_of(b"openclaw-node.service"), b"openclaw-node");
    }
}
