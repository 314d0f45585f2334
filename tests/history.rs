//! Memory across runs (`--state`): fixture roots changed between two or three consecutive runs —
//! reboot, service restart, service killed at logout, clock unsynced since, a corrupt, foreign
//! or unwritable state file — each checked in the record.

mod common;

use std::path::Path;

use common::{run, token, TempDir};

const SERVICE: &str = "svc.node:openclaw-node";
const UNIT_DIR: &str =
    "sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/openclaw-node.service";

/// A writable copy of a fixture root, plus a state file path next to it.
struct Node {
    dir: TempDir,
}

impl Node {
    fn new(fixture: &str) -> Node {
        Node {
            dir: common::fixture_copy(fixture, "hist"),
        }
    }

    fn root(&self) -> String {
        self.dir.str("root")
    }

    fn state(&self) -> String {
        self.dir.str("state/nodepulse.state")
    }

    /// One run with the standard arguments; returns the record.
    fn run(&self, extra: &[&str]) -> common::Run {
        let (root, state) = (self.root(), self.state());
        let mut args = vec![
            "--root",
            &root,
            "--user-service",
            "node:openclaw-node",
            "--state",
            &state,
        ];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert!(
            ["np1 ", "{\"v\":\"np1\"", "# HELP ", "nodepulse,check=node,"]
                .iter()
                .any(|p| r.stdout.starts_with(p)),
            "{r:?}"
        );
        assert_eq!(r.stderr, "", "{r:?}");
        r
    }

    /// `--fix-dry-run` on the node as it is now (no state kept): what it would run, on stderr.
    fn dry_run(&self) -> String {
        let root = self.root();
        let r = run(&[
            "--root",
            &root,
            "--user-service",
            "node:openclaw-node",
            "--fix-dry-run",
        ]);
        assert!(r.stdout.starts_with("np1 "), "{r:?}");
        r.stderr
    }

    fn write(&self, rel: &str, text: &str) {
        let path = Path::new(&self.root()).join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(Path::new(&self.root()).join(rel)).unwrap();
    }
}

fn num(record: &str, key: &str) -> u64 {
    token(record, key)
        .unwrap_or_else(|| panic!("no {key} in {record}"))
        .parse()
        .unwrap()
}

fn svc_field<'a>(record: &'a str, name: &str) -> Option<&'a str> {
    common::field(token(record, SERVICE).unwrap(), name)
}

#[test]
fn sequence_and_gap_across_runs_and_no_state_below_a_fixture_root_by_default() {
    let node = Node::new("systemd-ok");
    let first = node.run(&[]).stdout;
    assert_eq!(
        (num(&first, "seq"), token(&first, "prev")),
        (1, Some("new")),
        "{first}"
    );
    assert_eq!(token(&first, "gap_s"), None);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = node.run(&[]).stdout;
    assert_eq!(
        (num(&second, "seq"), token(&second, "prev")),
        (2, None),
        "{second}"
    );
    assert!(num(&second, "gap_s") >= 1, "{second}");
    assert_eq!(token(&second, "reboot"), None);
    let third = node.run(&["--format", "json"]).stdout;
    let json: serde_like::Value = serde_like::parse(&third);
    assert_eq!(json.get("seq"), Some("3"), "{third}");
    // The state file has its fixed size and mode 0644.
    let meta = std::fs::metadata(node.state()).unwrap();
    assert_eq!(meta.len(), 264);
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o644
    );
    // Without --state, a fixture root keeps no state (it is not this node).
    let r = run(&["--root", &node.root()]);
    assert_eq!(
        (token(&r.stdout, "seq"), r.stderr.as_str()),
        (None, ""),
        "{r:?}"
    );
    // --state none: none either.
    let r = run(&["--root", &node.root(), "--state", "none"]);
    assert_eq!(token(&r.stdout, "seq"), None);
}

#[test]
fn a_reboot_between_runs() {
    let node = Node::new("systemd-ok");
    node.run(&[]);
    node.write(
        "proc/sys/kernel/random/boot_id",
        "11111111-2222-4333-8444-555555555555\n",
    );
    let r = node.run(&[]).stdout;
    assert_eq!((num(&r, "seq"), token(&r, "reboot")), (2, Some("1")), "{r}");
    // After a reboot, a new pid is not a restart.
    assert_eq!(svc_field(&r, "rs"), None, "{r}");
    let r = node.run(&[]).stdout;
    assert_eq!(token(&r, "reboot"), None, "{r}");
    assert_eq!(node.dry_run(), "", "a reboot needs no repair");
}

#[test]
fn a_service_restart_between_runs() {
    let node = Node::new("systemd-ok");
    let r = node.run(&[]).stdout;
    assert_eq!(
        (svc_field(&r, "pid"), svc_field(&r, "rs")),
        (Some("812"), None),
        "{r}"
    );
    // systemd restarted it: a new main process with a later start time.
    node.write(&format!("{UNIT_DIR}/cgroup.procs"), "900\n");
    node.write(
        "proc/900/stat",
        "900 (openclaw-node) S 1 900 900 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 1 0 99999 12345678 300 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 0 0 0 0 0 0\n",
    );
    let r = node.run(&[]).stdout;
    assert_eq!(
        (svc_field(&r, "pid"), svc_field(&r, "rs")),
        (Some("900"), Some("1")),
        "{r}"
    );
    assert!(token(&r, SERVICE).unwrap().starts_with("ok,"), "{r}");
    let r = node.run(&[]).stdout;
    assert_eq!(
        svc_field(&r, "rs"),
        None,
        "same process at the next run: {r}"
    );
    assert_eq!(node.dry_run(), "", "a restart needs no repair");
}

/// systemd restarted the unit between two runs and its main process kept its pid (a new process
/// that got the same number, or a pid namespace): the invocation link, written anew at each
/// start, still tells the restart, and no `/proc/PID` of the unit is read for it.
#[test]
fn a_unit_restart_is_told_by_its_invocation_link() {
    const LINK: &str = "run/user/1000/systemd/units/invocation:openclaw-node.service";
    let node = Node::new("systemd-ok");
    let same_start_at_the_next_run = || {
        let r = node.run(&[]).stdout;
        assert_eq!(
            svc_field(&r, "rs"),
            None,
            "the same start at the next run: {r}"
        );
    };
    let r = node.run(&[]).stdout;
    assert_eq!(
        (
            svc_field(&r, "pid"),
            svc_field(&r, "start_cs"),
            svc_field(&r, "rs")
        ),
        (Some("812"), None, None),
        "{r}"
    );
    same_start_at_the_next_run();
    // The restart: systemd writes the link anew with the new invocation ID, as a new link
    // renamed over the old one (`symlink_atomic()`).
    let (link, new) = (
        Path::new(&node.root()).join(LINK),
        Path::new(&node.root()).join(format!("{LINK}.new")),
    );
    std::os::unix::fs::symlink("0123456789abcdef0123456789abcdef", &new).unwrap();
    std::fs::rename(&new, &link).unwrap();
    let r = node.run(&[]).stdout;
    assert_eq!(
        (svc_field(&r, "pid"), svc_field(&r, "rs")),
        (Some("812"), Some("1")),
        "{r}"
    );
    same_start_at_the_next_run();
}

#[test]
fn a_user_service_killed_at_logout_with_linger_off() {
    let node = Node::new("systemd-ok");
    let first = node.run(&[]).stdout;
    assert_eq!(svc_field(&first, "down_since"), None);
    // The last session ended, linger is off: logind stopped user@1000 and every unit in it.
    node.remove("var/lib/systemd/linger/node");
    node.remove("run/user/1000/systemd/units/invocation:openclaw-node.service");
    node.write(
        &format!("{UNIT_DIR}/cgroup.events"),
        "populated 0\nfrozen 0\n",
    );
    node.write(&format!("{UNIT_DIR}/cgroup.procs"), "");
    let second = node.run(&[]);
    let t2 = num(&second.stdout, "t");
    assert_eq!(second.code, 2);
    assert!(
        token(&second.stdout, SERVICE)
            .unwrap()
            .starts_with("crit:down,"),
        "{}",
        second.stdout
    );
    assert!(
        token(&second.stdout, "linger.node")
            .unwrap()
            .starts_with("crit:linger-off,"),
        "{}",
        second.stdout
    );
    assert_eq!(
        svc_field(&second.stdout, "down_since"),
        Some(t2.to_string().as_str()),
        "{}",
        second.stdout
    );
    // Still down at the next run: down since the same moment.
    let third = node.run(&[]).stdout;
    assert_eq!(
        svc_field(&third, "down_since"),
        Some(t2.to_string().as_str()),
        "{third}"
    );
    // The repair --fix would make (no loginctl in the fixture root: it says so).
    assert_eq!(node.dry_run(), "");
    let bin = Path::new(&node.root()).join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("loginctl"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(
        bin.join("loginctl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    assert_eq!(
        node.dry_run(),
        format!(
            "nodepulse: would run: {}/usr/bin/loginctl enable-linger node\n",
            node.root()
        )
    );
    // Linger on, service back: restarted, no longer down.
    node.write("var/lib/systemd/linger/node", "");
    node.write(
        "run/user/1000/systemd/units/invocation:openclaw-node.service",
        "",
    );
    node.write(
        &format!("{UNIT_DIR}/cgroup.events"),
        "populated 1\nfrozen 0\n",
    );
    node.write(&format!("{UNIT_DIR}/cgroup.procs"), "812\n");
    let fourth = node.run(&[]).stdout;
    assert_eq!(
        (svc_field(&fourth, "down_since"), svc_field(&fourth, "rs")),
        (None, Some("1")),
        "{fourth}"
    );
}

/// `jq -c EXPR` on a JSON record: its output, trimmed.
fn jq(json: &str, expr: &str) -> String {
    let out = common::tool("jq", &["-c", expr], json.as_bytes(), None, 10);
    assert!(
        out.status.success(),
        "jq {expr} on {json}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// What the history adds to the record reaches JSON and Prometheus too (one field table).
#[test]
fn history_fields_in_json_and_prometheus() {
    let strict = ["--maxerror-warn-ms", "0", "--maxerror-crit-ms", "0"];
    let node = Node::new("systemd-ok");
    let first = node.run(&strict).stdout;
    let t1 = num(&first, "t");
    node.write(&format!("{UNIT_DIR}/cgroup.procs"), "");
    node.write(&format!("{UNIT_DIR}/cgroup.events"), "populated 0\n");
    node.remove("run/user/1000/systemd/units/invocation:openclaw-node.service");
    let mut args = strict.to_vec();
    args.extend(["--format", "json"]);
    let json = node.run(&args).stdout;
    let jq = |expr: &str| jq(&json, expr);
    assert_eq!(jq(".clock.bad_since_ms"), t1.to_string(), "{json}");
    assert_eq!(jq(".services[0].down_since_ms > 0"), "true", "{json}");
    assert_eq!(jq(".services[0].restarted"), "false", "{json}");
    assert_eq!(jq(".run.seq"), "2", "{json}");
    args.truncate(strict.len());
    args.extend(["--format", "prom"]);
    let prom = node.run(&args).stdout;
    let expect = format!(
        "nodepulse_clock_bad_since_timestamp_seconds {}.{:03}",
        t1 / 1000,
        t1 % 1000
    );
    assert!(prom.lines().any(|l| l == expect), "{expect}\n{prom}");
    assert!(prom.lines().any(|l| l.starts_with("nodepulse_service_down_since_timestamp_seconds{service=\"openclaw-node\",user=\"node\"} ")), "{prom}");
    let check = common::tool("promtool", &["check", "metrics"], prom.as_bytes(), None, 30);
    assert!(
        check.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Two runs with one state file, then a reboot: `seq` 1 then 2, `gap_s`, and `reboot` in every
/// structured format (the model's run section), as np1 carries them.
#[test]
fn history_in_every_structured_format() {
    for format in ["line", "json", "influx", "prom"] {
        let node = Node::new("systemd-ok");
        let args = ["--format", format];
        let runs: Vec<String> = (0..3)
            .map(|i| {
                if i == 2 {
                    node.write(
                        "proc/sys/kernel/random/boot_id",
                        "11111111-2222-3333-4444-555555555555\n",
                    );
                }
                node.run(&args).stdout
            })
            .collect();
        // (seq, gap_s, reboot) as each format writes them.
        let history = |out: &str| -> (String, Option<String>, Option<String>) {
            match format {
                "line" => (
                    token(out, "seq").unwrap().to_string(),
                    token(out, "gap_s").map(str::to_string),
                    Some(token(out, "reboot").unwrap_or("0").to_string()),
                ),
                "json" => {
                    let jq = |expr: &str| jq(out, expr);
                    let reboot = match jq(".run.reboot").as_str() {
                        "true" => "1".to_string(),
                        "false" => "0".to_string(),
                        other => other.to_string(),
                    };
                    (
                        jq(".run.seq"),
                        Some(jq(".run.gap_s")).filter(|g| g != "null"),
                        Some(reboot).filter(|r| r != "null"),
                    )
                }
                "influx" => {
                    let node_line = out
                        .lines()
                        .find(|l| l.starts_with("nodepulse,check=node,"))
                        .unwrap();
                    let fields = node_line.split(' ').nth(1).unwrap();
                    let get = |k: &str| {
                        fields
                            .split(',')
                            .find_map(|f| f.strip_prefix(&format!("{k}=")))
                            .map(|v| {
                                match v.trim_end_matches('i') {
                                    "true" => "1",
                                    "false" => "0",
                                    v => v,
                                }
                                .to_string()
                            })
                    };
                    (get("seq").unwrap(), get("gap_s"), get("reboot"))
                }
                _ => {
                    let get = |name: &str| {
                        out.lines()
                            .find_map(|l| l.strip_prefix(&format!("{name} ")))
                            .map(str::to_string)
                    };
                    (
                        get("nodepulse_run_seq").unwrap(),
                        get("nodepulse_run_gap_seconds"),
                        get("nodepulse_reboot"),
                    )
                }
            }
        };
        let seen: Vec<_> = runs.iter().map(|r| history(r)).collect();
        assert_eq!(seen[0].0, "1", "{format}: {}", runs[0]);
        assert_eq!(
            (seen[0].1.as_deref(), seen[0].2.as_deref()),
            (None, if format == "line" { Some("0") } else { None }),
            "{format}: the first run has no previous one: {}",
            runs[0]
        );
        assert_eq!(seen[1].0, "2", "{format}: {}", runs[1]);
        assert!(
            seen[1]
                .1
                .as_deref()
                .is_some_and(|g| g.parse::<u64>().is_ok()),
            "{format}: gap_s: {}",
            runs[1]
        );
        assert_eq!(
            seen[1].2.as_deref(),
            Some("0"),
            "{format}: no reboot yet: {}",
            runs[1]
        );
        assert_eq!(
            (seen[2].0.as_str(), seen[2].2.as_deref()),
            ("3", Some("1")),
            "{format}: the reboot: {}",
            runs[2]
        );
        if format == "prom" {
            let check = common::tool(
                "promtool",
                &["check", "metrics"],
                runs[2].as_bytes(),
                None,
                30,
            );
            assert!(
                check.status.success(),
                "promtool: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
}

#[test]
fn clock_bad_since_the_first_run_that_saw_it() {
    // Whatever this machine's clock says, a maxerror threshold of 0 ms makes the clock check
    // fail at every run, so `bad_since` is the first run's time and stays there.
    let strict = ["--maxerror-warn-ms", "0", "--maxerror-crit-ms", "0"];
    let node = Node::new("systemd-ok");
    let first = node.run(&strict).stdout;
    assert!(
        token(&first, "clock").unwrap().starts_with("crit:"),
        "{first}"
    );
    let t1 = num(&first, "t").to_string();
    assert_eq!(
        common::field(token(&first, "clock").unwrap(), "bad_since"),
        Some(t1.as_str())
    );
    let second = node.run(&strict).stdout;
    assert_eq!(
        common::field(token(&second, "clock").unwrap(), "bad_since"),
        Some(t1.as_str()),
        "{second}"
    );
    // With the clock check skipped nothing is claimed, and the memory is dropped.
    let third = node.run(&["--skip", "clock"]).stdout;
    assert_eq!(token(&third, "clock"), None);
    // chronyd is this fixture's daemon: --fix timesync (timesyncd only) has nothing to run.
    assert_eq!(node.dry_run(), "");
    let fourth = node.run(&strict).stdout;
    let t4 = num(&fourth, "t").to_string();
    assert_eq!(
        common::field(token(&fourth, "clock").unwrap(), "bad_since"),
        Some(t4.as_str()),
        "{fourth}"
    );
}

#[test]
fn corrupt_foreign_and_unwritable_state_files_are_reported_once_and_replaced() {
    let node = Node::new("systemd-ok");
    node.run(&[]);
    for (bytes, why) in [
        (b"garbage\n".to_vec(), "corrupt"),
        (vec![0u8; 264], "corrupt"),
        (vec![0xffu8; 1 << 20], "corrupt"),
        (Vec::new(), "corrupt"),
    ] {
        std::fs::write(node.state(), &bytes).unwrap();
        let r = node.run(&[]).stdout;
        assert_eq!((num(&r, "seq"), token(&r, "prev")), (1, Some(why)), "{r}");
        let r = node.run(&[]).stdout;
        assert_eq!(
            (num(&r, "seq"), token(&r, "prev")),
            (2, None),
            "replaced: {r}"
        );
    }
    // A state file of another host (an image copied between nodes).
    node.write("proc/sys/kernel/hostname", "edge-other\n");
    let r = node.run(&[]).stdout;
    assert_eq!(
        (num(&r, "seq"), token(&r, "prev")),
        (1, Some("foreign")),
        "{r}"
    );
    // A state that cannot be saved never blocks the record (it is told: see below).
    let root = node.root();
    let r = run(&["--root", &root, "--state", "/nonexistent/dir/deeper/state"]);
    assert_eq!(
        (num(&r.stdout, "seq"), token(&r.stdout, "save_errno")),
        (1, Some("2")),
        "{r:?}"
    );
    // A directory where the state file should be.
    let adir = node.dir.str("adir");
    std::fs::create_dir_all(&adir).unwrap();
    let r = run(&["--root", &root, "--state", &adir]);
    assert_eq!(token(&r.stdout, "prev"), Some("corrupt"), "{r:?}");
    assert_eq!(token(&r.stdout, "save_errno"), Some("21"), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("nodepulse: --state {adir}: rename: is a directory\n")
    );
}

/// A state file that cannot be saved is told in one stderr line and makes an OK run WARNING; a
/// CRITICAL or UNKNOWN run keeps its code. (Old: stderr empty, and an OK run exited 0.)
#[test]
fn a_state_that_cannot_be_saved_is_told_and_makes_an_ok_run_warning() {
    let node = Node::new("systemd-ok");
    let root = node.root();
    let state = "/nonexistent/dir/deeper/state";
    for (extra, code, st) in [
        (&[][..], 1, "warn"),
        (&["--service", "no-such-unit"][..], 2, "crit"),
        (&["--user", "no-such-user"][..], 3, "unknown"),
    ] {
        let mut args = vec![
            "--root",
            &root,
            "--skip",
            "clock,disk",
            "--user-service",
            "node:openclaw-node",
            "--state",
            state,
        ];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!(
            (r.code, token(&r.stdout, "st")),
            (code, Some(st)),
            "{extra:?}: {r:?}"
        );
        assert_eq!(
            (num(&r.stdout, "seq"), token(&r.stdout, "save_errno")),
            (1, Some("2")),
            "{r:?}"
        );
        assert_eq!(
            r.stderr,
            format!("nodepulse: --state {state}: create temporary file: no such file\n"),
            "{extra:?}"
        );
    }
    // The same run with a state that can be saved is OK.
    let r = run(&[
        "--root",
        &root,
        "--skip",
        "clock,disk",
        "--user-service",
        "node:openclaw-node",
        "--state",
        &node.state(),
    ]);
    assert_eq!(
        (r.code, token(&r.stdout, "st"), r.stderr.as_str()),
        (0, Some("ok"), ""),
        "{r:?}"
    );
}

/// Just enough JSON to read one top-level number (python3 -m json.tool and jq check the whole
/// format in tests/formats.rs).
mod serde_like {
    pub struct Value(String);
    pub fn parse(text: &str) -> Value {
        Value(text.to_string())
    }
    impl Value {
        pub fn get(&self, key: &str) -> Option<&str> {
            let at = self.0.find(&format!("\"{key}\":"))? + key.len() + 3;
            let rest = &self.0[at..];
            Some(&rest[..rest.find([',', '}'])?])
        }
    }
}
