//! Opt-in repair (`--fix`, `--fix-dry-run`) on copies of the fixture roots, with `loginctl`,
//! `systemctl` and `timedatectl` replaced below the root by small scripts that record their
//! arguments: what would run, what ran with which exit code, a hung command at the deadline,
//! a missing program, no systemd, not root.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{run, token, TempDir};

/// The clock check fails on any machine with a 0 ms maxerror threshold.
const UNSYNCED: [&str; 4] = ["--maxerror-warn-ms", "0", "--maxerror-crit-ms", "0"];

struct Node {
    dir: TempDir,
}

impl Node {
    fn new(fixture: &str) -> Node {
        Node {
            dir: common::fixture_copy(fixture, "fix"),
        }
    }

    fn root(&self) -> String {
        self.dir.str("root")
    }

    /// A stand-in for `program` in `/usr/bin` below the root: appends its arguments to
    /// `ROOT/ran.log`, then runs `tail` (`exit 0`, `exit 3`, `sleep 30`).
    fn program(&self, program: &str, tail: &str) -> String {
        let bin = Path::new(&self.root()).join("usr/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join(program);
        let log = Path::new(&self.root()).join("ran.log");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{program} $*\" >> {}\n{tail}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn ran(&self) -> String {
        std::fs::read_to_string(Path::new(&self.root()).join("ran.log")).unwrap_or_default()
    }
}

#[test]
fn linger_off_dry_run_then_fixed() {
    let node = Node::new("systemd-ghost");
    let loginctl = node.program("loginctl", "exit 0");
    let root = node.root();
    let r = run(&[
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--fix",
        "linger",
        "--fix-dry-run",
    ]);
    assert_eq!(
        token(&r.stdout, "fix.enable-linger.node"),
        Some("dry"),
        "{r:?}"
    );
    assert_eq!(
        r.stderr,
        format!("nodepulse: would run: {loginctl} enable-linger node\n")
    );
    assert_eq!(node.ran(), "", "a dry run runs nothing");
    assert_eq!(
        r.code, 2,
        "the verdict is what was seen: linger off is CRITICAL"
    );
    let r = run(&[
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--fix",
        "linger",
    ]);
    assert_eq!(
        (
            token(&r.stdout, "fix.enable-linger.node"),
            r.stderr.as_str()
        ),
        (Some("0"), ""),
        "{r:?}"
    );
    assert_eq!(node.ran(), "loginctl enable-linger node\n");
    // Without --fix nothing is planned, nothing runs.
    let r = run(&["--root", &root, "--user-service", "node:openclaw-node"]);
    assert!(!r.stdout.contains(" fix."), "{}", r.stdout);
    assert_eq!(node.ran(), "loginctl enable-linger node\n");
}

#[test]
fn timesync_restart_and_set_ntp_when_unsynced_under_timesyncd() {
    let node = Node::new("systemd-ghost");
    let systemctl = node.program("systemctl", "exit 0");
    let timedatectl = node.program("timedatectl", "exit 3");
    let root = node.root();
    let mut args = vec!["--root", &root, "--fix", "timesync", "--fix-dry-run"];
    args.extend(UNSYNCED);
    let r = run(&args);
    assert_eq!(
        r.stderr,
        format!("nodepulse: would run: {systemctl} restart systemd-timesyncd\nnodepulse: would run: {timedatectl} set-ntp true\n")
    );
    assert_eq!(
        (
            token(&r.stdout, "fix.restart-timesyncd"),
            token(&r.stdout, "fix.set-ntp")
        ),
        (Some("dry"), Some("dry"))
    );
    args.retain(|a| *a != "--fix-dry-run");
    let r = run(&args);
    // Each command's own exit code is recorded.
    assert_eq!(
        (
            token(&r.stdout, "fix.restart-timesyncd"),
            token(&r.stdout, "fix.set-ntp")
        ),
        (Some("0"), Some("3")),
        "{r:?}"
    );
    assert_eq!(
        node.ran(),
        "systemctl restart systemd-timesyncd\ntimedatectl set-ntp true\n"
    );
}

#[test]
fn a_hung_command_is_killed_at_the_deadline_and_a_missing_one_reported() {
    let node = Node::new("systemd-ghost");
    node.program("loginctl", "sleep 30");
    let root = node.root();
    let started = Instant::now();
    let r = run(&[
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--fix",
        "linger",
        "--timeout",
        "2",
        "--skip",
        "clock",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        token(&r.stdout, "fix.enable-linger.node"),
        Some("timeout"),
        "{r:?}"
    );
    let node = Node::new("systemd-ghost");
    let root = node.root();
    let r = run(&[
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--fix",
        "linger,timesync",
        "--skip",
        "clock",
    ]);
    assert_eq!(
        token(&r.stdout, "fix.enable-linger.node"),
        Some("no-program"),
        "{r:?}"
    );
}

#[test]
fn without_systemd_nothing_is_pretended() {
    let node = Node::new("busybox");
    node.program("loginctl", "exit 0");
    let root = node.root();
    let mut args = vec![
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--fix",
        "linger,timesync",
    ];
    args.extend(UNSYNCED);
    let r = run(&args);
    assert_eq!(
        token(&r.stdout, "fix.enable-linger.node"),
        Some("no-logind"),
        "{r:?}"
    );
    assert_eq!(
        token(&r.stdout, "fix.restart-timesyncd"),
        Some("no-systemd"),
        "{r:?}"
    );
    assert_eq!(r.stderr, "nodepulse: cannot fix linger of node: no logind\nnodepulse: cannot fix timesync: no systemd\n");
    assert_eq!(node.ran(), "");
}

#[test]
fn not_root_says_so_once_and_still_writes_the_record() {
    let node = Node::new("systemd-ghost");
    let loginctl = node.program("loginctl", "exit 0");
    node.program("systemctl", "exit 0");
    node.program("timedatectl", "exit 0");
    let root = node.root();
    let mut args = vec![
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--fix",
        "linger,timesync",
    ];
    args.extend(UNSYNCED);
    let out = Command::new("timeout")
        .args([
            "20",
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
        ])
        .arg(common::bin())
        .args(&args)
        .output()
        .expect("setpriv (util-linux)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        stderr,
        format!("nodepulse: --fix needs root, not run: {loginctl} enable-linger node\n")
    );
    assert!(stdout.starts_with("np1 "), "{stdout}");
    for key in [
        "fix.enable-linger.node",
        "fix.restart-timesyncd",
        "fix.set-ntp",
    ] {
        assert_eq!(token(&stdout, key), Some("not-root"), "{stdout}");
    }
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(node.ran(), "");
}
