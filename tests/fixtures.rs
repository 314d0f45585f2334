//! The static agent against fixture roots under tests/fixtures: each scenario's whole record
//! (timestamp masked) and exit code. `--skip clock,disk`: the clock and the filesystem would be
//! this machine's, not the fixture's (disk is tested on a tmpfs in real.rs).

mod common;
use common::{fixture, masked, run};

fn agent(root: &str, extra: &[&str]) -> (String, i32) {
    let root = fixture(root);
    let mut args = vec!["--root", root.as_str(), "--skip", "clock,disk"];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert!(r.stderr.is_empty(), "stderr: {}", r.stderr);
    assert!(
        r.stdout.ends_with('\n') && r.stdout.matches('\n').count() == 1,
        "one line: {:?}",
        r.stdout
    );
    (masked(r.stdout.trim_end()), r.code)
}

const SYSTEM: &str = "up=86400 load=0.12,0.34,0.56";
const MEM: &str = "mem=ok,mb:976,avail_mb:585,swap_mb:100,swfree_mb:97";

#[test]
fn systemd_everything_up() {
    let (rec, code) = agent(
        "systemd-ok",
        &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "chrony",
        ],
    );
    assert_eq!(rec, format!("np1 host=edge-ok t=T st=ok {SYSTEM} boot=0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 ntp=ok,d:chronyd,age_s:none linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:inv,pid:812 svc.chrony=ok,via:inv,pid:600 {MEM}"));
    assert_eq!(code, 0);
}

#[test]
fn ghost_offline_linger_off_and_user_gone() {
    let (rec, code) = agent("systemd-ghost", &["--user-service", "node:openclaw-node"]);
    assert_eq!(rec, format!("np1 host=edge-ghost t=T st=crit {SYSTEM} boot=1b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 ntp=warn:never-synced,d:timesyncd,age_s:none linger.node=crit:linger-off,uid:1000,lg:off,st:offline svc.node:openclaw-node=crit:down,via:inv {MEM}"));
    assert_eq!(code, 2);
}

#[test]
fn linger_off_while_still_logged_in() {
    // The fixture's /proc/900 belongs to whoever checked the repo out, not uid 1000: the user
    // unit is active by its invocation link, but no process of uid 1000 gives its pid.
    let (rec, code) = agent(
        "systemd-linger-off",
        &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "openclaw-node",
            "--only",
            "linger,service",
        ],
    );
    assert_eq!(rec, "np1 host=edge-lingeroff t=T st=crit linger.node=crit:linger-off,uid:1000,lg:off,st:active svc.node:openclaw-node=ok,via:inv svc.openclaw-node=crit:down,via:cg");
    assert_eq!(code, 2);
}

#[test]
fn linger_only_matters_for_user_services() {
    let (rec, code) = agent(
        "systemd-linger-off",
        &["--user", "node", "--only", "linger"],
    );
    assert_eq!(
        rec,
        "np1 host=edge-lingeroff t=T st=ok linger.node=ok,uid:1000,lg:off,st:active"
    );
    assert_eq!(code, 0);
}

#[test]
fn busybox_without_systemd() {
    let (rec, code) = agent("busybox", &["--user", "node", "--service", "openclaw-node"]);
    assert_eq!(rec, format!("np1 host=edge-busybox t=T st=ok {SYSTEM} boot=3b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c kern=6.1.0-28-arm64 ntp=ok,d:busybox-ntpd,age_s:n/a linger.node=ok,uid:1000,lg:n/a,st:n/a svc.openclaw-node=ok,via:proc,pid:401,start_cs:1800 {MEM}"));
    assert_eq!(code, 0);
}

#[test]
fn busybox_service_down() {
    let (rec, code) = agent(
        "busybox-down",
        &["--service", "openclaw-node", "--only", "service,timesync"],
    );
    assert_eq!(rec, "np1 host=edge-bbdown t=T st=crit ntp=ok,d:ntpd,age_s:n/a svc.openclaw-node=crit:down,via:proc");
    assert_eq!(code, 2);
}

#[test]
fn broken_files_are_unknown_not_fatal() {
    let (rec, code) = agent("broken", &["--user-service", "node:openclaw-node"]);
    assert_eq!(rec, "np1 host=- t=T st=crit ntp=warn:no-daemon,d:none,age_s:none linger.node=crit:linger-off,lg:off,st:unknown svc.node:openclaw-node=unknown:unreadable,via:none mem=unknown:meminfo");
    assert_eq!(code, 2);
}

#[test]
fn missing_root_is_unknown() {
    let (rec, code) = agent("does-not-exist", &["--service", "x"]);
    assert_eq!(rec, "np1 host=- t=T st=unknown ntp=unknown:proc,d:unknown,age_s:n/a svc.x=unknown:unreadable,via:none mem=unknown:meminfo");
    assert_eq!(code, 3);
}

/// A root built at run time with what git cannot hold: a FIFO, a 1 MiB file, a symlink loop.
#[test]
fn hostile_files_neither_hang_nor_crash() {
    let root = std::env::temp_dir().join(format!("np-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in [
        "proc/sys/kernel/random",
        "etc",
        "run/systemd/system",
        "run/systemd/users",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    // 1 MiB meminfo: the valid keys first, then garbage; only the first 8 KiB are read.
    let mut big = b"MemTotal: 2048 kB\nMemAvailable: 1024 kB\n".to_vec();
    big.resize(1 << 20, b'x');
    std::fs::write(root.join("proc/meminfo"), big).unwrap();
    // A FIFO nobody writes where a file should be: must not block the run.
    let fifo = root.join("proc/uptime");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // A symlink loop, a directory where a file should be, a huge number.
    std::os::unix::fs::symlink("passwd", root.join("etc/passwd")).unwrap();
    std::fs::create_dir(root.join("proc/loadavg")).unwrap();
    std::fs::write(root.join("proc/sys/kernel/hostname"), "h\u{e9}te=1\n").unwrap();
    std::fs::write(root.join("run/systemd/users/0"), "STATE=hibernating\n").unwrap();
    let root_s = root.to_str().unwrap();
    let (rec, code) = {
        let r = run(&["--root", root_s, "--skip", "clock,disk", "--user", "node"]);
        assert!(r.stderr.is_empty(), "{}", r.stderr);
        (masked(r.stdout.trim_end()), r.code)
    };
    assert_eq!(rec, "np1 host=h%C3%A9te%3D1 t=T st=warn ntp=warn:no-daemon,d:none,age_s:none linger.node=unknown:no-such-user,lg:off,st:unknown mem=ok,mb:2,avail_mb:1,swap_mb:0,swfree_mb:0");
    assert_eq!(code, 1, "WARNING outranks UNKNOWN");
    std::fs::remove_dir_all(&root).unwrap();
}

/// `systemd-transitions`, what the systemd oracle (tests/oracle.rs) saw in between states:
/// both users logged out with linger on, `node`'s user manager still runs `openclaw-node` (its
/// `backup` unit is stopped). logind left both user files at `STATE=closing`; node's session 3
/// is gone from `/run/systemd/sessions/` (loginctl: lingering), claw's session 5 is still
/// closing (loginctl: closing). System units `np-starting` (in `ExecStartPre=`, activating) and
/// `np-stopping` (in `ExecStop=`, deactivating) have their invocation link and a `sleep` in
/// their cgroup; `np-restart` waits to be restarted: no link, no cgroup.
const LOGOUT: &[&str] = &[
    "--user-service",
    "node:openclaw-node",
    "--user-service",
    "node:backup",
    "--user",
    "claw",
    "--only",
    "linger,service",
];

#[test]
fn logged_out_with_linger_on_is_lingering() {
    let (rec, code) = agent("systemd-transitions", LOGOUT);
    assert_eq!(rec, "np1 host=edge-transitions t=T st=crit linger.claw=ok,uid:1001,lg:on,st:closing linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:inv,pid:812 svc.node:backup=crit:down,via:inv");
    assert_eq!(code, 2);
}

/// The agent as `nobody` on a copy of `systemd-transitions` whose `/run/user/1000` is 0700 and
/// node's, as on a real node: the invocation links are hidden, the cgroup tree is not.
fn as_nobody(root: &std::path::Path) -> (String, i32) {
    let out = std::process::Command::new("timeout")
        .args([
            "20",
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
        ])
        .arg(common::bin())
        .arg("--root")
        .arg(root)
        .args(["--skip", "clock,disk"])
        .args(LOGOUT)
        .output()
        .expect("setpriv (util-linux)");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        masked(String::from_utf8_lossy(&out.stdout).trim_end()),
        out.status.code().unwrap_or(-1),
    )
}

fn hide_run_user(root: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("run/user/1000");
    std::os::unix::fs::chown(&dir, Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn other_users_units_by_their_cgroup_when_run_user_is_hidden() {
    let copy = common::fixture_copy("systemd-transitions", "hidden");
    let root = copy.join("root");
    hide_run_user(&root);
    let (rec, code) = as_nobody(&root);
    // The stopped unit has no cgroup below a visible user@1000.service: down, not unknown.
    assert_eq!(rec, "np1 host=edge-transitions t=T st=crit linger.claw=ok,uid:1001,lg:on,st:closing linger.node=ok,uid:1000,lg:on,st:lingering svc.node:openclaw-node=ok,via:cg,pid:812,start_cs:98765 svc.node:backup=crit:down,via:cg");
    assert_eq!(code, 2);
}

#[test]
fn other_users_unit_stays_unknown_without_its_managers_cgroup() {
    let copy = common::fixture_copy("systemd-transitions", "hidden-nomgr");
    let root = copy.join("root");
    hide_run_user(&root);
    std::fs::remove_dir_all(root.join("sys/fs/cgroup/user.slice")).unwrap();
    let (rec, code) = as_nobody(&root);
    // Nothing visible says whether backup runs (and no process of uid 1000 is called so).
    assert!(
        rec.contains(" svc.node:backup=unknown:unreadable,via:none"),
        "{rec}"
    );
    assert!(
        rec.contains(" svc.node:openclaw-node=unknown:unreadable,via:none"),
        "{rec}"
    );
    assert_eq!(code, 3);
}

#[test]
fn activating_and_deactivating_are_running_auto_restart_is_not() {
    let (rec, code) = agent(
        "systemd-transitions",
        &[
            "--service",
            "np-starting",
            "--service",
            "np-stopping",
            "--only",
            "service",
        ],
    );
    assert_eq!(rec, "np1 host=edge-transitions t=T st=ok svc.np-starting=ok,via:inv,pid:813 svc.np-stopping=ok,via:inv,pid:814");
    assert_eq!(code, 0);
    let (rec, code) = agent(
        "systemd-transitions",
        &["--service", "np-restart", "--only", "service"],
    );
    assert_eq!(
        rec,
        "np1 host=edge-transitions t=T st=crit svc.np-restart=crit:down,via:inv"
    );
    assert_eq!(code, 2);
}
