//! The agent's run: parse the command line, run the probes, judge, encode, write, exit code.
//!
//! This is the wiring between the layers and nothing else; the binary's `main` turns `argv`
//! into byte slices and calls [`main`].

use heapless::Vec;
use rustix::io::Errno;

use crate::cli::SinkKind;
use crate::cli::{self, Action, Config};
use crate::encode::{Format, Out};
use crate::probe::fs::Root;
use crate::probe::procs::{self, Want};
use crate::probe::services::{self, CgroupTree};
use crate::probe::{self as probes, clock, disk, memory, system, timesync, users};
use crate::record::{Active, Check, Record, Service, Timesync, User, Via, MAX_SERVICES, MAX_USERS};
use crate::sink::{file, udp, write_all, SinkError};
use crate::verdict;

/// Size of the output buffer: far above the longest record the capacities allow.
pub const OUT_CAP: usize = 16384;
/// Largest config file read.
pub const CONFIG_CAP: usize = 16384;

/// Runs the agent with `args` (`args[0]` is the program name) and returns the exit code.
pub fn main(args: &[&[u8]]) -> u8 {
    let mut config_buf = [0u8; CONFIG_CAP];
    let config_file = match cli::config_path(args) {
        None => None,
        Some(path) => match read_config(path, &mut config_buf) {
            Ok(bytes) => Some(cli::ConfigFile { path, bytes }),
            Err(what) => {
                fail(&[b"cannot read config file ", path, b": ", what]);
                return 3;
            }
        },
    };
    let mut cfg = Config::default();
    let text = match cli::parse_into(args, config_file, &mut cfg) {
        Ok(Action::Help) => cli::HELP,
        Ok(Action::Version) => {
            concat!("nodepulse ", env!("CARGO_PKG_VERSION"), " (record np1, ", crate::arch!(), ")\n")
        }
        Ok(Action::Run) => return run(&cfg),
        Err(e) => {
            let mut buf = [0u8; 1000];
            let mut out = Out::new(&mut buf);
            e.write(&mut out);
            fail(&[out.as_bytes()]);
            return 3;
        }
    };
    write_all(crate::sys::stdout(), text.as_bytes()).map_or(3, |_| 0)
}

fn read_config<'b>(path: &[u8], buf: &'b mut [u8; CONFIG_CAP]) -> Result<&'b [u8], &'static [u8]> {
    let bytes = crate::probe::fs::read_path(path, buf).map_err(errno_text)?;
    if bytes.len() == CONFIG_CAP {
        return Err(b"larger than 16 KiB");
    }
    Ok(bytes)
}

/// Longest key read from `--key-file` (longer keys are hashed by HMAC anyway).
const KEY_CAP: usize = 256;

/// The key: the file's bytes without a final newline; empty or longer than 256 bytes is refused.
fn read_key<'b>(path: &[u8], buf: &'b mut [u8; KEY_CAP]) -> Result<&'b [u8], &'static [u8]> {
    let bytes = crate::probe::fs::read_path(path, buf).map_err(errno_text)?;
    if bytes.len() == KEY_CAP {
        return Err(b"key longer than 255 bytes");
    }
    let key = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if key.is_empty() {
        return Err(b"empty key");
    }
    Ok(key)
}

/// A short description of the errors a user can fix.
fn errno_text(e: Errno) -> &'static [u8] {
    // Errno values (the same on every Linux architecture) and their texts, in one string.
    const ERRNOS: [u16; 12] = [2, 13, 1, 21, 36, 28, 30, 32, 17, 40, 111, 101];
    const TEXTS: &str = "no such file|permission denied|permission denied|is a directory|\
        path too long|no space left on device|read-only filesystem|broken pipe|file exists|\
        symlink in the way|connection refused|network unreachable|I/O error";
    let raw = e.raw_os_error();
    let i = ERRNOS.iter().position(|&n| i32::from(n) == raw).unwrap_or(ERRNOS.len());
    crate::num::part(TEXTS, b'|', i).as_bytes()
}

/// Writes one line on stderr: `nodepulse: ` + parts.
pub fn fail(parts: &[&[u8]]) {
    let mut buf = [0u8; 1024];
    let mut out = Out::new(&mut buf);
    out.bytes(b"nodepulse: ");
    for part in parts {
        for &b in part.iter() {
            out.bytes(if b.is_ascii_graphic() || b == b' ' {
                core::slice::from_ref(&b)
            } else {
                b"?"
            });
        }
    }
    out.bytes(b"\n");
    let _ = write_all(crate::sys::stderr(), out.as_bytes());
}

/// Runs every enabled probe and fills the record (in place: a returned `Record` is copied).
pub fn collect<'a>(cfg: &Config<'a>, rec: &mut Record<'a>) {
    let root = Root::new(cfg.root);
    rec.wall_ms = crate::sys::wall_ms();
    rec.host = system::hostname(&root);
    if cfg.runs(Check::System) {
        rec.system = Some(system::probe(&root));
    }
    if cfg.runs(Check::Clock) {
        let mut c = clock::probe();
        if let Some(server) = cfg.ntp_server {
            let wait = crate::probe::sntp::WAIT_MS.min(cfg.timeout_s * 500);
            let mut measured = crate::probe::sntp::measure(server, None, wait);
            if measured == Err(crate::probe::sntp::Failure::Unresolved) {
                let mut hosts = [0u8; 8192];
                let hosts = crate::probe::fs::read_path(b"/etc/hosts", &mut hosts).unwrap_or(&[]);
                measured = crate::probe::sntp::measure(server, Some(hosts), wait);
            }
            c.sntp = Some(measured);
        }
        rec.clock = Some(c);
    }
    let systemd = (cfg.runs(Check::Timesync) || cfg.runs(Check::Linger) || cfg.runs(Check::Service))
        && probes::systemd_booted(&root);

    // Users: those named, plus the owner of every user service (uids are needed for both checks).
    let mut users: Vec<User<'a>, MAX_USERS> = Vec::new();
    if cfg.runs(Check::Linger) || cfg.runs(Check::Service) {
        let owners = cfg.services.iter().filter_map(|s| s.user);
        for name in cfg.users.iter().copied().chain(owners) {
            let needs_linger = cfg.services.iter().any(|s| s.user == Some(name));
            if let Some(u) = users.iter_mut().find(|u| u.name == name) {
                u.needs_linger |= needs_linger;
            } else {
                let fresh = User {
                    name,
                    uid: None,
                    linger: crate::record::Linger::Unknown,
                    login: crate::record::Login::Unknown,
                    needs_linger,
                };
                // The command line allows at most MAX_USERS distinct users in all.
                let _ = users.push(fresh);
            }
        }
        users::probe(&root, systemd, &mut users);
    }
    let uid_of = |name: &[u8]| users.iter().find(|u| u.name == name).and_then(|u| u.uid);

    // Services: systemd's files first; whatever they cannot settle goes to the process scan.
    let mut svcs: Vec<Service<'a>, MAX_SERVICES> = Vec::new();
    let mut scan_for: Vec<bool, MAX_SERVICES> = Vec::new();
    if cfg.runs(Check::Service) {
        let tree = if systemd && !cfg.services.is_empty() {
            CgroupTree::find(&root)
        } else {
            CgroupTree::None
        };
        for arg in &cfg.services {
            let mut svc = Service {
                user: arg.user,
                name: arg.name,
                active: Active::Unknown,
                via: Via::None,
                pid: None,
                start_cs: None,
            };
            let uid = arg.user.and_then(uid_of);
            let needs_scan = match services::unit_name(arg.name) {
                // A user unit whose user has no uid: no path, no process owner to look for.
                _ if arg.user.is_some() && uid.is_none() => false,
                Some(unit) if systemd => {
                    let st = services::unit_state(&root, tree, &unit, uid);
                    svc.active = st.active;
                    svc.via = st.via;
                    svc.pid = st.pid;
                    st.needs_scan
                }
                _ => true,
            };
            let _ = svcs.push(svc);
            let _ = scan_for.push(needs_scan);
        }
    }

    // One pass over /proc for the time daemons and the services left open.
    let mut wants: Vec<Want, { 3 + MAX_SERVICES }> = Vec::new();
    if cfg.runs(Check::Timesync) {
        let _ = wants.extend_from_slice(&timesync::wants());
    }
    // Per service: its name when systemd could not settle it, else its known pid (for the
    // start time, free when the scan runs anyway), else a placeholder.
    let first_service_want = wants.len();
    for (svc, &needed) in svcs.iter().zip(&scan_for) {
        let want = match (needed, svc.pid) {
            (true, _) => Want::new(services::comm_of(svc.name), svc.user.and_then(uid_of)),
            (false, Some(pid)) => Want::by_pid(pid),
            (false, None) => Want::by_pid(0),
        };
        let _ = wants.push(want);
    }
    // Did the scan run and read /proc? (It runs only when a name is wanted.)
    let scanned = wants.iter().any(Want::by_name) && procs::scan(&root, &mut wants).is_ok();

    if cfg.runs(Check::Timesync) {
        let found: [Option<procs::Found>; 3] =
            core::array::from_fn(|i| wants.get(i).and_then(|w| w.found));
        let daemon = if scanned {
            timesync::daemon(&root, &found)
        } else {
            crate::record::Daemon::Unknown
        };
        rec.timesync = Some(Timesync {
            daemon,
            sync_file: timesync::sync_file(&root, systemd),
        });
    }
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
        } else if let Some(pid) = svc.pid {
            svc.start_cs = match found {
                Some(f) => Some(f.start_cs),
                None if scanned => None, // gone since its cgroup was read
                None => procs::start_of(&root, pid),
            };
        }
    }

    if cfg.runs(Check::Linger) {
        rec.users = Some(users);
    }
    if cfg.runs(Check::Service) {
        rec.services = Some(svcs);
    }
    if cfg.runs(Check::Memory) {
        rec.memory = Some(memory::probe(&root));
    }
}

/// Each mount's `statvfs` result, as the deadline child publishes them.
type DiskStats =
    crate::sys::Slots<Result<crate::record::DiskStat, i32>, { crate::record::MAX_MOUNTS }>;

/// One `statvfs`, in the deadline child.
fn disk_step(cfg: &Config, i: usize) -> Result<crate::record::DiskStat, i32> {
    let mount = cfg.mounts.get(i).copied().unwrap_or(b"/");
    disk::probe(&Root::new(cfg.root), mount).stat
}

/// The disk check's part of the record: each mount's published result, or `timeout`.
fn disks_of<'a>(
    cfg: &Config<'a>,
    rec: &mut Record<'a>,
    ended: crate::sys::Ended,
    stats: &DiskStats,
) {
    let mut disks = Vec::new();
    for (i, mount) in cfg.mounts.iter().enumerate() {
        let stat = stats.get(i).unwrap_or(Err(disk::TIMED_OUT));
        let _ = disks.push(crate::record::Disk { path: mount, stat });
    }
    rec.timed_out = ended == crate::sys::Ended::TimedOut;
    rec.disks = Some(disks);
}

/// Collects the record, encodes it for each sink and writes it; returns the exit code.
pub fn run(cfg: &Config) -> u8 {
    let mut key_buf = [0u8; KEY_CAP];
    let key = match cfg.key_file.map(|path| read_key(path, &mut key_buf)) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(what)) => {
            fail(&[
                b"cannot use --key-file ",
                cfg.key_file.unwrap_or(b""),
                b": ",
                what,
            ]);
            return 3;
        }
    };
    let started = crate::sys::monotonic_ms();
    let mut rec = Record::default();
    collect(cfg, &mut rec);
    // The deadline (--timeout). `statvfs` on a dead NFS server sleeps uninterruptibly, so the
    // agent never makes that call itself: a child makes them, and at the
    // deadline it is abandoned; mounts it had not answered say `timeout`, exit 3, and the
    // record is still written.
    let deadline = started.saturating_add(cfg.timeout_s * 1000);
    let mounts = if cfg.runs(Check::Disk) { cfg.mounts.len() } else { 0 };
    crate::sys::each_with_deadline(cfg, mounts, disk_step, deadline, |ended, stats: &DiskStats| {
        if cfg.runs(Check::Disk) {
            disks_of(cfg, &mut rec, ended, stats);
        }
        let clock_ok = clock_ok(cfg, &rec);
        repair(cfg, &mut rec, clock_ok, deadline);
        remember(cfg, &mut rec, clock_ok);
        write_record(cfg, key, &rec)
    })
}

/// Whether the clock check passed: `None` when it did not run or could not tell.
fn clock_ok(cfg: &Config, rec: &Record) -> Option<bool> {
    let c = rec.clock.as_ref()?;
    match verdict::clock(c, verdict::daemon_of(rec), &cfg.thresholds).status {
        verdict::Status::Ok => Some(true),
        verdict::Status::Unknown => None,
        _ => Some(false),
    }
}

/// `--fix` / `--fix-dry-run`: plans the repairs the record calls for, runs (or prints) them
/// until `deadline_ms`, and puts each outcome in the record.
#[inline(never)]
fn repair<'a>(cfg: &Config<'a>, rec: &mut Record<'a>, clock_ok: Option<bool>, deadline_ms: u64) {
    use crate::fix::{self, Outcome};
    if cfg.fixes.is_empty() && !cfg.fix_dry_run {
        return;
    }
    let wanted = if cfg.fixes.is_empty() { fix::Repairs::all() } else { cfg.fixes };
    let root = Root::new(cfg.root);
    let users = rec.users.as_deref().unwrap_or(&[]);
    let systemd = probes::systemd_booted(&root);
    let mut plan = fix::plan(wanted, users, clock_ok, verdict::daemon_of(rec), systemd);
    let is_root = rustix::process::geteuid().is_root();
    let mut told = false;
    for f in plan.iter().filter(|f| f.outcome == Outcome::NoSystemd) {
        match f.user {
            Some(user) => fail(&[b"cannot fix linger of ", user, b": no logind"]),
            None => fail(&[b"cannot fix timesync: no systemd"]),
        }
    }
    for f in plan.iter_mut().filter(|f| f.outcome == Outcome::Planned) {
        let [program, verb, object] = f.step.command();
        // `PROGRAM VERB OBJECT`, the object of linger being the user.
        let object = if object.is_empty() { f.user.unwrap_or(b"") } else { object };
        let mut path_buf = [0u8; crate::probe::fs::PATH_CAP];
        let Some(path) = find_program(&root, program, &mut path_buf) else {
            f.outcome = Outcome::NoProgram;
            continue;
        };
        if cfg.fix_dry_run || !is_root {
            let what: &[u8] = if cfg.fix_dry_run { b"would run: " } else { b"--fix needs root, not run: " };
            if cfg.fix_dry_run || !told {
                fail(&[what, path, b" ", verb, b" ", object]);
            }
            told = true;
            f.outcome = if cfg.fix_dry_run { Outcome::DryRun } else { Outcome::NotRoot };
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
    rec.fixes = Some(plan);
}

/// The absolute path of `program` in `/usr/bin`, `/bin`, `/usr/sbin` or `/sbin` below the
/// root, if it is there and executable.
fn find_program<'b>(root: &Root, program: &[u8], buf: &'b mut [u8; crate::probe::fs::PATH_CAP]) -> Option<&'b [u8]> {
    for dir in "usr/bin/ bin/ usr/sbin/ sbin/".as_bytes().split(|&b| b == b' ') {
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

/// Memory across runs (`--state`): compares this run with the state file, puts what it learned
/// in the record and saves the new state. A missing, corrupt or foreign file is reported in the
/// record (`prev=`) and replaced; a failed save too (`save_errno=`). Neither stops the run.
#[inline(never)]
fn remember(cfg: &Config, rec: &mut Record, clock_ok: Option<bool>) {
    use crate::state::{self, Problem, ServiceNow};
    let Some(path) = cfg.state_path() else {
        return;
    };
    let host = state::fnv1a(&[rec.host.as_deref().unwrap_or(b"")]);
    let mut buf = [0u8; state::LEN + 1];
    let saved = match crate::probe::fs::read_path(path, &mut buf) {
        Ok(bytes) => state::parse(bytes, host),
        Err(Errno::NOENT) => Err(Problem::New),
        Err(_) => Err(Problem::Corrupt),
    };
    let mut now: Vec<ServiceNow, MAX_SERVICES> = Vec::new();
    for s in rec.services.as_deref().unwrap_or(&[]) {
        let _ = now.push(ServiceNow {
            key: state::fnv1a(&[s.user.unwrap_or(b""), b":", s.name]),
            up: match s.active {
                Active::Yes => Some(true),
                Active::No => Some(false),
                Active::Unknown => None,
            },
            pid: s.pid,
            start_cs: s.start_cs,
        });
    }
    let boot = rec.system.as_ref().and_then(|s| s.boot_id.as_ref());
    let (mut history, next) =
        state::advance(saved.as_ref().map_err(|p| *p), host, rec.wall_ms, boot, clock_ok, &now);
    let mut out = [0u8; state::LEN];
    state::encode(&next, &mut out);
    let mut saved = file::replace_with(path, &out, false);
    if saved.is_err() {
        // First run on this node: create the directory (one level, 0755), then retry.
        let dir = path.iter().rposition(|&b| b == b'/').and_then(|i| path.get(..i));
        if crate::probe::fs::mkdir(dir.unwrap_or(b"")).is_ok() {
            saved = file::replace_with(path, &out, false);
        }
    }
    history.save_errno = saved.err().map(|e| e.errno.map_or(0, |e| e.raw_os_error()));
    rec.history = Some(history);
}

/// Encodes the record for each sink and writes it; returns the exit code.
fn write_record(cfg: &Config, key: Option<&[u8]>, rec: &Record) -> u8 {
    let checks = crate::encode::model::checks(rec, &cfg.thresholds);
    let status = checks.first().map_or(verdict::Status::Unknown, |c| c.verdict.status);
    let mut buf = [0u8; OUT_CAP];
    if cfg.sinks.is_empty() {
        let Some(bytes) = encode(rec, &checks, cfg, key, cfg.format, &mut buf) else {
            return 3;
        };
        if let Err(e) = write_all(crate::sys::stdout(), bytes) {
            fail(&[b"cannot write the record to stdout: ", errno_text(e)]);
            return 3;
        }
        return status.code();
    }
    let mut hosts_buf = [0u8; 8192];
    let mut hosts: Option<&[u8]> = None;
    let mut failed = false;
    for sink in &cfg.sinks {
        let format = sink.format.unwrap_or(cfg.format);
        let Some(bytes) = encode(rec, &checks, cfg, key, format, &mut buf) else {
            return 3;
        };
        let result = match sink.kind {
            SinkKind::Replace => file::replace(sink.target, bytes),
            SinkKind::Append => file::append(sink.target, bytes, cfg.max_bytes),
            SinkKind::Udp => {
                // A name: /etc/hosts is read once, at the first sink that needs it.
                let mut addr = crate::parse::addr::resolve(sink.target, hosts);
                if addr.is_err() && hosts.is_none() {
                    hosts = Some(
                        crate::probe::fs::read_path(b"/etc/hosts", &mut hosts_buf).unwrap_or(&[]),
                    );
                    addr = crate::parse::addr::resolve(sink.target, hosts);
                }
                match addr {
                    Ok(addr) => {
                        udp::send(&addr, bytes, format == Format::Influx)
                    }
                    Err(_) => Err(SinkError::plain(crate::sink::Step::NameNotFound)),
                }
            }
        };
        if let Err(e) = result {
            failed = true;
            fail(&[
                sink.kind.flag().as_bytes(),
                b" ",
                sink.target,
                b": ",
                e.step.as_str().as_bytes(),
                if e.errno.is_some() { b": " } else { b"" },
                e.errno.map_or(&b""[..], errno_text),
            ]);
        }
    }
    if failed {
        3
    } else {
        status.code()
    }
}

/// Encodes the record in `format` into `buf`; a record too large for the buffer is reported.
fn encode<'b>(
    rec: &Record,
    checks: &[crate::encode::model::Check],
    cfg: &Config,
    key: Option<&[u8]>,
    format: Format,
    buf: &'b mut [u8; OUT_CAP],
) -> Option<&'b [u8]> {
    let mut out = Out::new(buf);
    format.encode(rec, checks, &cfg.thresholds, &mut out);
    if let (Format::Line, Some(key)) = (format, key) {
        // ` mac=HEX` before the newline: HMAC-SHA256 of everything before it.
        let line = out.as_bytes();
        let tag = crate::sha256::hex(&crate::sha256::hmac(
            key,
            &[line.strip_suffix(b"\n").unwrap_or(line)],
        ));
        out.truncate(out.len().saturating_sub(1));
        out.str(" mac=");
        out.bytes(&tag);
        out.str("\n");
    }
    if out.finish().is_err() {
        fail(&[b"record longer than the output buffer"]);
        return None;
    }
    let len = out.len();
    Some(buf.get(..len).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errno table names the right errors (rustix's constants are the reference).
    #[test]
    fn errno_texts() {
        for (e, text) in [
            (Errno::NOENT, "no such file"),
            (Errno::ACCESS, "permission denied"),
            (Errno::PERM, "permission denied"),
            (Errno::ISDIR, "is a directory"),
            (Errno::NAMETOOLONG, "path too long"),
            (Errno::NOSPC, "no space left on device"),
            (Errno::ROFS, "read-only filesystem"),
            (Errno::PIPE, "broken pipe"),
            (Errno::EXIST, "file exists"),
            (Errno::LOOP, "symlink in the way"),
            (Errno::CONNREFUSED, "connection refused"),
            (Errno::NETUNREACH, "network unreachable"),
            (Errno::IO, "I/O error"),
            (Errno::NOMEM, "I/O error"),
        ] {
            assert_eq!(errno_text(e), text.as_bytes(), "{e:?}");
        }
    }
}
