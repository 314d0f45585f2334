//! Hostile input, table-driven: a valid root (a copy of tests/fixtures/systemd-ok) broken in one
//! way per case — missing /proc, empty, truncated, garbage, huge and FIFO files, symlink loops,
//! unknown logind states, a passwd without the user, absurd numbers, non-UTF-8 names. Each case
//! gives its expected tokens and exit code; none may hang, crash or write to stderr. Then the
//! hostile surroundings of a run: an endless passwd, a FIFO, leftover temporary files, concurrent
//! rotations, a small stack.

mod common;
use common::{bin, fixture, masked, run, run_command, token, TempDir};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A path in the user service's cgroup directory of systemd-ok.
macro_rules! unit_cg {
    ($file:literal) => {
        concat!("sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/openclaw-node.service", $file)
    };
}
const INVOCATION: &str = "run/user/1000/systemd/units/invocation:openclaw-node.service";
/// chrony's unit is active: systemd names the time daemon.
const CHRONY_LINK: &str = "run/systemd/units/invocation:chrony.service";

/// What to do to one path below the root.
enum Change {
    Remove,
    Write(&'static [u8]),
    Big(&'static [u8], usize),
    Fifo,
    Dir,
    Symlink(&'static str),
    /// Owner (uid) of the path, as for a process of that user.
    Chown(u32),
}

struct Case {
    name: &'static str,
    changes: &'static [(&'static str, Change)],
    /// `(key, value)` of tokens the record must hold (`None`: the token must be absent).
    expect: &'static [(&'static str, Option<&'static str>)],
    code: i32,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn apply(root: &Path, path: &str, change: &Change) {
    let p = root.join(path);
    if let Change::Chown(uid) = change {
        std::os::unix::fs::chown(&p, Some(*uid), None).unwrap();
        return;
    }
    if let Ok(meta) = std::fs::symlink_metadata(&p) {
        if meta.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    match change {
        Change::Remove => {}
        Change::Write(bytes) => std::fs::write(&p, bytes).unwrap(),
        Change::Big(head, len) => {
            let mut data = head.to_vec();
            data.resize(*len, b'x');
            std::fs::write(&p, data).unwrap();
        }
        Change::Fifo => {
            let ok = std::process::Command::new("mkfifo")
                .arg(std::ffi::OsStr::from_bytes(p.as_os_str().as_bytes()))
                .status()
                .unwrap();
            assert!(ok.success());
        }
        Change::Dir => std::fs::create_dir(&p).unwrap(),
        Change::Symlink(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
        Change::Chown(_) => unreachable!("handled above"),
    }
}

/// A copy of systemd-ok in `DIR/root` with `changes` made.
fn node(changes: &[(&str, Change)]) -> TempDir {
    let dir = TempDir::new("hostile");
    let root = dir.join("root");
    copy_tree(Path::new(&fixture("systemd-ok")), &root);
    for (path, change) in changes {
        apply(&root, path, change);
    }
    dir
}

/// The arguments of every run on such a root (fast: no clock, no disk).
fn base(root: &str) -> Vec<&str> {
    vec![
        "--root",
        root,
        "--skip",
        "clock,disk",
        "--user-service",
        "node:openclaw-node",
    ]
}

/// The agent with `args`, for [`run_command`].
fn agent(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    cmd
}

const CASES: &[Case] = &[
    // systemd names the time daemon (chrony's invocation link): /proc is not needed for it.
    Case { name: "missing /proc", changes: &[("proc", Change::Remove)], expect: &[("host", Some("-")), ("up", None), ("load", None), ("boot", None), ("ntp", Some("ok,d:chronyd,age_s:none")), ("svc.node:openclaw-node", Some("ok,via:inv,pid:812")), ("mem", Some("unknown:meminfo"))], code: 3 },
    Case { name: "missing /proc, timesyncd's unit", changes: &[("proc", Change::Remove), (CHRONY_LINK, Change::Remove), ("run/systemd/units/invocation:systemd-timesyncd.service", Change::Symlink("f00d"))], expect: &[("ntp", Some("warn:never-synced,d:timesyncd,age_s:none"))], code: 1 },
    Case { name: "timesyncd's and chrony's units: chrony, as the /proc pass prefers it", changes: &[("run/systemd/units/invocation:systemd-timesyncd.service", Change::Symlink("f00d"))], expect: &[("ntp", Some("ok,d:chronyd,age_s:none"))], code: 0 },
    Case { name: "missing /proc, no time daemon's unit", changes: &[("proc", Change::Remove), (CHRONY_LINK, Change::Remove)], expect: &[("ntp", Some("unknown:proc,d:unknown,age_s:none"))], code: 3 },
    Case { name: "empty meminfo", changes: &[("proc/meminfo", Change::Write(b""))], expect: &[("mem", Some("unknown:meminfo")), ("up", Some("86400"))], code: 3 },
    Case { name: "truncated meminfo", changes: &[("proc/meminfo", Change::Write(b"MemTotal:       1000000 kB\nMemAv"))], expect: &[("mem", Some("unknown:meminfo"))], code: 3 },
    Case { name: "garbage uptime and loadavg", changes: &[("proc/uptime", Change::Write(b"\x00\xff\xfe garbage")), ("proc/loadavg", Change::Write(b"a b c d e"))], expect: &[("up", None), ("load", None), ("st", Some("ok"))], code: 0 },
    Case { name: "1 MiB meminfo, keys past 8 KiB", changes: &[("proc/meminfo", Change::Big(b"Junk: 1 kB\n", 1 << 20))], expect: &[("mem", Some("unknown:meminfo"))], code: 3 },
    Case { name: "FIFO meminfo", changes: &[("proc/meminfo", Change::Fifo)], expect: &[("mem", Some("unknown:meminfo"))], code: 3 },
    Case { name: "directory loadavg", changes: &[("proc/loadavg", Change::Dir)], expect: &[("load", None), ("up", Some("86400"))], code: 0 },
    Case { name: "passwd symlink loop", changes: &[("etc/passwd", Change::Symlink("passwd"))], expect: &[("linger.node", Some("unknown:no-such-user,lg:on,st:unknown")), ("svc.node:openclaw-node", Some("unknown:unreadable,via:none"))], code: 3 },
    Case { name: "passwd is /dev/zero", changes: &[("etc/passwd", Change::Symlink("/dev/zero"))], expect: &[("linger.node", Some("unknown:no-such-user,lg:on,st:unknown")), ("svc.node:openclaw-node", Some("unknown:unreadable,via:none"))], code: 3 },
    Case { name: "passwd without the user", changes: &[("etc/passwd", Change::Write(b"root:x:0:0::/root:/bin/sh\n"))], expect: &[("linger.node", Some("unknown:no-such-user,lg:on,st:unknown")), ("svc.node:openclaw-node", Some("unknown:unreadable,via:none"))], code: 3 },
    Case { name: "unknown logind STATE", changes: &[("run/systemd/users/1000", Change::Write(b"NAME=node\nSTATE=hibernating\n"))], expect: &[("linger.node", Some("ok,uid:1000,lg:on,st:other"))], code: 0 },
    Case { name: "logind file is a FIFO", changes: &[("run/systemd/users/1000", Change::Fifo)], expect: &[("linger.node", Some("unknown:logind,uid:1000,lg:on,st:unknown"))], code: 3 },
    Case { name: "absurd numbers", changes: &[
        ("proc/meminfo", Change::Write(b"MemTotal: 99999999999999999999999 kB\nMemAvailable: 1 kB\n")),
        ("proc/uptime", Change::Write(b"99999999999999999999999.00 1.00\n")),
        ("proc/loadavg", Change::Write(b"1e308 NaN -1 1/1 1\n")),
        ("proc/812/stat", Change::Write(b"812 (openclaw-node) S 1 812 812 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0 0\n")),
    ], expect: &[("mem", Some("unknown:meminfo")), ("up", None), ("load", None), ("svc.node:openclaw-node", Some("ok,via:inv,pid:812"))], code: 3 },
    Case { name: "uid past u32", changes: &[("etc/passwd", Change::Write(b"node:x:99999999999:1::/:/bin/sh\n"))], expect: &[("linger.node", Some("unknown:no-such-user,lg:on,st:unknown"))], code: 3 },
    Case { name: "non-UTF-8 names", changes: &[
        ("proc/sys/kernel/hostname", Change::Write(b"edge-\xff\xfe\n")),
        ("proc/sys/kernel/osrelease", Change::Write(b"6.1\xc3\x28\n")),
        ("proc/600/stat", Change::Write(b"600 (chr\xffnyd) S 1 600 600 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1500 0 0\n")),
        ("proc/600/comm", Change::Write(b"chr\xffnyd\n")),
        (CHRONY_LINK, Change::Remove),
    ], expect: &[("host", Some("edge-%FF%FE")), ("kern", Some("6.1%C3%28")), ("ntp", Some("warn:no-daemon,d:none,age_s:none"))], code: 1 },
    Case { name: "boot_id truncated, hostname empty", changes: &[("proc/sys/kernel/random/boot_id", Change::Write(b"0b6f3a1c-2d4e")), ("proc/sys/kernel/hostname", Change::Write(b"\n"))], expect: &[("host", Some("-")), ("boot", None)], code: 0 },
    Case { name: "no systemd, the service a process of its user", changes: &[("run/systemd/system", Change::Remove), ("proc/812", Change::Chown(1000))], expect: &[("linger.node", Some("ok,uid:1000,lg:n/a,st:n/a")), ("ntp", Some("ok,d:chronyd,age_s:n/a")), ("svc.node:openclaw-node", Some("ok,via:proc,pid:812,start_cs:98765"))], code: 0 },
    // Old: an unreadable cgroup.events (EISDIR) read as "not populated": crit:down.
    Case { name: "no invocation link, cgroup.events a directory", changes: &[(INVOCATION, Change::Remove), (unit_cg!("/cgroup.events"), Change::Dir)], expect: &[("svc.node:openclaw-node", Some("unknown:unreadable,via:none"))], code: 3 },
    Case { name: "no invocation link, cgroup populated", changes: &[(INVOCATION, Change::Remove)], expect: &[("svc.node:openclaw-node", Some("ok,via:cg,pid:812,start_cs:98765"))], code: 0 },
    Case { name: "no invocation link, cgroup emptied", changes: &[(INVOCATION, Change::Remove), (unit_cg!("/cgroup.events"), Change::Write(b"populated 0\nfrozen 0\n")), (unit_cg!("/cgroup.procs"), Change::Write(b""))], expect: &[("svc.node:openclaw-node", Some("crit:down,via:cg"))], code: 2 },
    Case { name: "no invocation link, no cgroup", changes: &[(INVOCATION, Change::Remove), (unit_cg!(""), Change::Remove)], expect: &[("svc.node:openclaw-node", Some("crit:down,via:inv"))], code: 2 },
    Case { name: "no systemd, the process is another user's", changes: &[("run/systemd/system", Change::Remove)], expect: &[("svc.node:openclaw-node", Some("crit:down,via:proc"))], code: 2 },
];

#[test]
fn every_hostile_root_gives_its_record_and_exit_code() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = node(case.changes);
        let root = dir.str("root");
        let r = run(&base(&root));
        let record = masked(r.stdout.trim_end());
        if !r.stderr.is_empty() {
            failures.push(format!("{}: stderr {:?}", case.name, r.stderr));
        }
        if r.code != case.code {
            failures.push(format!(
                "{}: exit {} (want {}): {record}",
                case.name, r.code, case.code
            ));
        }
        for (key, want) in case.expect {
            let got = token(&record, key);
            if got != *want {
                failures.push(format!(
                    "{}: {key}={got:?} (want {want:?}): {record}",
                    case.name
                ));
            }
        }
        eprintln!("{}: {} -> {record}", case.name, r.code);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A `/etc/passwd` with no end (`/dev/zero`) or of 2 GiB (sparse) is refused at 4 MiB: the run
/// ends well within `--timeout 5`, with its record. (Old: /dev/zero held the run for ever, past
/// its timeout; the 2 GiB file was read to its end, some 5 s.)
#[test]
fn an_endless_or_2_gib_passwd_ends_within_the_timeout() {
    for sparse in [false, true] {
        let dir = if sparse {
            let dir = node(&[]);
            let file = std::fs::File::create(dir.join("root/etc/passwd")).unwrap();
            file.set_len(2 << 30).unwrap();
            dir
        } else {
            node(&[("etc/passwd", Change::Symlink("/dev/zero"))])
        };
        let root = dir.str("root");
        let mut args = base(&root);
        args.extend(["--timeout", "5"]);
        let start = Instant::now();
        let r = run_command(agent(&args), 10);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(5), "sparse {sparse}: {took:?}");
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (3, ""),
            "sparse {sparse}: {r:?}"
        );
        assert_eq!(
            token(&r.stdout, "linger.node"),
            Some("unknown:no-such-user,lg:on,st:unknown"),
            "{r:?}"
        );
    }
}

/// `--append` to a FIFO with no reader is refused at once: exit 3 and one stderr line. (Old:
/// the open blocked for ever.)
#[test]
fn append_to_a_fifo_with_no_reader_is_refused_at_once() {
    let dir = node(&[("fifo", Change::Fifo)]);
    let (root, fifo) = (dir.str("root"), dir.str("root/fifo"));
    let mut args = base(&root);
    args.extend(["--state", "none", "--append", &fifo]);
    let r = run_command(agent(&args), 2);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{r:?}");
    let prefix = format!("nodepulse: --append {fifo}: open: ");
    assert!(
        r.stderr.starts_with(&prefix) && r.stderr.contains("no reader"),
        "{r:?}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
}

/// `--append` keeps an existing file's mode (0600 stays 0600) and creates a new one 0644 less
/// the umask (0640 under umask 027). (Old: every append made the file 0644.)
#[test]
fn append_keeps_the_mode_of_the_file_and_honours_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = node(&[]);
    let root = dir.str("root");
    let mode = |path: &str| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let (private, new) = (dir.str("private.log"), dir.str("new.log"));
    std::fs::write(&private, "").unwrap();
    std::fs::set_permissions(&private, PermissionsExt::from_mode(0o600)).unwrap();
    for log in [&private, &new] {
        // The umask of this process is shared by the tests' threads: set it in a shell.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask 027 && exec \"$0\" \"$@\""])
            .arg(bin())
            .args(base(&root));
        cmd.args(["--state", "none", "--append", log]);
        let r = run_command(cmd, 10);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (0, "", ""),
            "{r:?}"
        );
        assert!(std::fs::read_to_string(log).unwrap().starts_with("np1 "));
    }
    assert_eq!((mode(&private), mode(&new)), (0o600, 0o640));
}

/// As pid 1 of a new PID namespace (as in a container), with `STATE.tmp.1` and `OUT.tmp.1`
/// left over (the names pid 1's temporary files used to have), every run saves its state and
/// writes its record. (Old: `save_errno=17` for ever, `seq` frozen, `--out` failed.)
#[test]
fn leftover_temporary_files_of_the_same_pid_block_nothing() {
    let dir = node(&[]);
    let root = dir.str("root");
    let (state, out) = (dir.str("state"), dir.str("out"));
    for stale in [format!("{state}.tmp.1"), format!("{out}.tmp.1")] {
        std::fs::write(stale, "stale").unwrap();
    }
    for seq in ["1", "2"] {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc"])
            .arg(bin())
            .args(base(&root));
        cmd.args(["--state", &state, "--out", &out]);
        let r = run_command(cmd, 20);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (0, "", ""),
            "{r:?}"
        );
        let record = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            (token(&record, "seq"), token(&record, "save_errno")),
            (Some(seq), None),
            "{record}"
        );
    }
    let mut temporary: Vec<String> = dir
        .names()
        .into_iter()
        .filter(|n| n.contains(".tmp."))
        .collect();
    temporary.sort();
    assert_eq!(
        temporary,
        ["out.tmp.1", "state.tmp.1"],
        "only the planted files are left"
    );
}

/// Waits for `child` at most `secs` (killing it then) and returns its exit code and stderr.
fn finish(mut child: std::process::Child, secs: u64) -> (i32, String) {
    use std::io::Read;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a run did not finish within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code().expect("killed by a signal"), stderr)
}

/// 16 rounds of 200 runs started together, appending to one file with a cap that makes exactly
/// one rotation per round: every run succeeds and all 200 records are in `PATH` and `PATH.1`.
/// (Old: some runs exited 3 with "open after rotation: file exists", or a second rotation
/// replaced the full `PATH.1` with a nearly empty file.)
#[test]
fn concurrent_appends_lose_no_record_at_the_rotation() {
    use std::process::Stdio;
    const ROUNDS: usize = 16;
    const RUNS: usize = 200;
    let dir = node(&[]);
    let root = dir.str("root");
    let mut one = base(&root);
    one.extend(["--state", "none"]);
    let len = run(&one).stdout.len();
    let cap = (len * RUNS * 6 / 10).to_string();
    for round in 0..ROUNDS {
        let log = dir.str(&format!("log{round}"));
        let children: Vec<_> = (0..RUNS)
            .map(|_| {
                let mut cmd = agent(&one);
                cmd.args(["--append", &log, "--max-bytes", &cap]);
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        for child in children {
            assert_eq!(finish(child, 60), (0, String::new()), "round {round}");
        }
        let text = std::fs::read_to_string(&log).unwrap()
            + &std::fs::read_to_string(format!("{log}.1")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), RUNS, "round {round}: records lost or doubled");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("np1 ") && l.contains(" svc.")),
            "round {round}: a broken record"
        );
    }
}

/// Under `ulimit -s 64` (64 KiB of stack, environment included) a run with many checks and
/// every kind of sink ends as the same run without the limit, its record in each sink. (Old:
/// the agent needed about 88 KiB and died of SIGSEGV, with no record.)
#[test]
fn the_agent_runs_under_ulimit_s_64() {
    let dir = node(&[]);
    let root = dir.str("root");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let udp = socket.local_addr().unwrap().to_string();
    let (json, log) = (dir.str("record.json"), dir.str("records.log"));
    let out = format!("json:{json}");
    let args = [
        "--root",
        &root,
        "--skip",
        "clock",
        "--user",
        "node",
        "--user",
        "root",
        "--user-service",
        "node:openclaw-node",
        "--service",
        "chrony",
        "--service",
        "cron",
        "--mount",
        "/",
        "--mount",
        "/tmp",
        "--state",
        "none",
        "--out",
        &out,
        "--append",
        &log,
        "--udp",
        &udp,
    ];
    let unlimited = run_command(agent(&args), 20);
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -s 64 && exec \"$0\" \"$@\""])
        .arg(bin())
        .args(args);
    // run_command fails the test if the agent is killed by a signal.
    let limited = run_command(cmd, 20);
    assert_eq!(
        (limited.code, limited.stderr.as_str()),
        (unlimited.code, unlimited.stderr.as_str()),
        "{limited:?}"
    );
    assert!(std::fs::read_to_string(&json)
        .unwrap()
        .starts_with("{\"v\":\"np1\""));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        2,
        "both runs appended"
    );
    let mut datagram = [0u8; 2048];
    for _ in 0..2 {
        let n = socket
            .recv(&mut datagram)
            .expect("a datagram from each run");
        assert!(datagram[..n].starts_with(b"np1 "));
    }
}

/// The child that makes the `statvfs` calls is reaped once it has answered: strace shows the
/// parent's `wait4` returning the pid that `clone` gave. (Old: the pidfd said it ended and
/// nothing waited for it.)
#[test]
fn the_statvfs_child_is_reaped() {
    let dir = node(&[]);
    let trace = dir.str("trace");
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=clone,clone3,wait4,waitid",
        "-o",
        &trace,
    ])
    .arg(bin());
    cmd.args([
        "--root",
        &dir.str("root"),
        "--only",
        "disk",
        "--mount",
        "/",
        "--state",
        "none",
    ]);
    let r = run_command(cmd, 30);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let result = |line: &str| {
        line.rsplit(" = ")
            .next()
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    let children: Vec<u32> = text
        .lines()
        .filter(|l| l.contains("clone"))
        .filter_map(result)
        .filter(|&p| p > 0)
        .collect();
    assert_eq!(children.len(), 1, "one statvfs child:\n{text}");
    let reaped = text.lines().any(|l| {
        l.contains(&format!("wait4({}, ", children[0])) && result(l) == children.first().copied()
    });
    assert!(reaped, "the child is not reaped:\n{text}");
}

/// The `/proc` pass, as strace sees it: on a BusyBox root every process's `comm` is read
/// (open, read, close relative to the `/proc` descriptor) and `stat` only for the processes
/// whose name is wanted (ntpd, openclaw-node), not for init or sshd; on a systemd root, where
/// the units answer, no process's entry is opened at all, by the pass or through the root (the
/// unit's restarts come from its invocation link, not its main process's start time).
#[test]
fn the_proc_pass_reads_comm_and_stat_only_for_a_match() {
    let pass = |root: &str, extra: &[&str]| {
        let dir = TempDir::new("pass");
        let trace = dir.join("trace");
        let mut cmd = Command::new("strace");
        cmd.args(["-qq", "-e", "trace=openat", "-o"])
            .arg(&trace)
            .arg(bin());
        cmd.args([
            "--root",
            &fixture(root),
            "--skip",
            "clock,disk",
            "--state",
            "none",
        ]);
        cmd.args(extra);
        let r = run_command(cmd, 30);
        assert!(r.code < 3, "{root}: {r:?}");
        let text = std::fs::read_to_string(&trace).unwrap();
        // `openat(N, "PID/FILE", ...)` relative to the /proc descriptor: (pid, file).
        let mut opened: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| {
                l.split_once("openat(")?
                    .1
                    .split_once(", \"")?
                    .1
                    .split_once('"')
            })
            // A path through the root (`ROOT/proc/PID/FILE`) counts as the same entry.
            .map(|(path, rest)| (path.rsplit_once("proc/").map_or(path, |(_, p)| p), rest))
            .filter_map(|(path, _)| path.split_once('/'))
            .filter(|(pid, _)| pid.bytes().all(|b| b.is_ascii_digit()) && !pid.is_empty())
            .map(|(pid, file)| (pid.to_string(), file.to_string()))
            .collect();
        opened.sort();
        opened
    };
    let opened = pass("busybox", &["--service", "openclaw-node"]);
    let files = |file: &str| -> Vec<&str> {
        opened
            .iter()
            .filter(|(_, f)| f == file)
            .map(|(p, _)| p.as_str())
            .collect()
    };
    assert_eq!(
        files("comm"),
        ["1", "300", "400", "401", "402", "500"],
        "{opened:?}"
    );
    assert_eq!(files("stat"), ["300", "400", "401", "402"], "{opened:?}");
    assert_eq!(opened.len(), 10, "nothing else below a process: {opened:?}");
    let opened = pass("systemd-ok", &["--user-service", "node:openclaw-node"]);
    assert_eq!(opened, [], "systemd answered: no process looked at");
}
