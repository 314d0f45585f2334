//! The agent under a real cron daemon, Debian's BusyBox crond (`busybox-static`):
//!
//! - the README's crontab line, byte for byte but every minute, in a fresh node's root (`chroot`:
//!   BusyBox as `/bin/sh`, the agent, the README's `/etc/nodepulse.conf`, an empty `/var/lib`),
//!   must create `/var/lib/nodepulse`, keep the state file and replace the record twice, a
//!   minute apart, with nothing on stderr;
//! - the agent run every minute with an empty environment (`env -i`: no PATH, HOME or TTY) must
//!   append two consecutive records a minute apart.

mod common;

use common::{bin, fixture, repo, token, TempDir};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BUSYBOX: &str = "/bin/busybox";

/// Kills and reaps crond however the test ends.
struct Crond(Child);

impl Drop for Crond {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn records(path: &Path) -> Vec<String> {
    read(path)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// crond fires at the top of each minute: start it late in a minute so two runs come within
/// ~70 s (one at the next minute boundary, one a minute later).
fn wait_until_late_in_a_minute() {
    let wait_start = Instant::now();
    loop {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let sec = now.as_secs() % 60;
        if sec >= 50 || wait_start.elapsed() > Duration::from_secs(62) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn user() -> String {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .expect("cannot run `id -un`");
    assert!(out.status.success(), "`id -un` failed: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn busybox_crond_runs_the_agent_every_minute_with_a_bare_environment() {
    assert!(
        Path::new(BUSYBOX).exists(),
        "{BUSYBOX} missing: install Debian's busybox-static (apt-get install -y busybox-static); \
         this test needs a real crond"
    );
    let agent = bin();
    let root = fixture("systemd-ok");
    let dir = TempDir::new("crond");
    let tabs = dir.join("crontabs");
    std::fs::create_dir_all(&tabs).unwrap();
    let (state, recs, errors, cronenv, log) = (
        dir.str("state"),
        dir.join("records"),
        dir.join("errors"),
        dir.join("cronenv"),
        dir.join("crond.log"),
    );
    let crontab = format!(
        "* * * * * /usr/bin/env -i {agent} --root {root} --user-service node:openclaw-node \
         --state {state} --append {recs} 2>>{errors}\n\
         * * * * * {BUSYBOX} env > {cronenv} 2>&1; {BUSYBOX} tty >> {cronenv} 2>&1\n",
        agent = agent.display(),
        recs = recs.display(),
        errors = errors.display(),
        cronenv = cronenv.display(),
    );
    // crond reads the crontab named after the user the jobs run as.
    std::fs::write(tabs.join(user()), &crontab).unwrap();

    wait_until_late_in_a_minute();
    let child = Command::new(BUSYBOX)
        .arg("crond")
        .args(["-f", "-l", "0", "-L"])
        .arg(&log)
        .arg("-c")
        .arg(&tabs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BUSYBOX} crond: {e}"));
    let mut crond = Crond(child);
    let started = Instant::now();
    while records(&recs).len() < 2 && started.elapsed() < Duration::from_secs(75) {
        if let Some(status) = crond.0.try_wait().unwrap() {
            panic!("crond exited early ({status}); log:\n{}", read(&log));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    // Let the second minute's env/tty job finish writing too.
    std::thread::sleep(Duration::from_millis(500));
    drop(crond);

    let lines = records(&recs);
    let context = format!(
        "crontab:\n{crontab}\ncrond log:\n{}\njob environment from crond (env; tty):\n{}\n\
         errors:\n{}\nrecords:\n{}",
        read(&log),
        read(&cronenv),
        read(&errors),
        lines.join("\n")
    );
    eprintln!("{context}");

    assert!(
        lines.len() >= 2,
        "crond ran the agent {} time(s) in {:?}, want >= 2\n{context}",
        lines.len(),
        started.elapsed()
    );
    assert_eq!(
        read(&errors),
        "",
        "the agent wrote to stderr under cron\n{context}"
    );
    let env = read(&cronenv);
    assert!(
        env.contains("not a tty"),
        "a cron job should have no terminal; `tty` said otherwise\n{context}"
    );

    let mut prev: Option<(u64, u64)> = None;
    for (i, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with("np1 host=edge-ok "),
            "record {i} is not the fixture's np1 record: {line}\n{context}"
        );
        let seq: u64 = token(line, "seq")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("record {i} has no numeric seq=: {line}\n{context}"));
        let t: u64 = token(line, "t")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("record {i} has no numeric t=: {line}\n{context}"));
        match prev {
            None => assert_eq!(seq, 1, "first run under a fresh state file\n{context}"),
            Some((pseq, pt)) => {
                assert_eq!(seq, pseq + 1, "seq must step by one per run\n{context}");
                let gap_ms = t.saturating_sub(pt);
                assert!(
                    (55_000..=65_000).contains(&gap_ms),
                    "runs {} and {i} are {gap_ms} ms apart, want about a minute\n{context}",
                    i - 1
                );
            }
        }
        prev = Some((seq, t));
    }
}

/// The indented (4-space) block that follows the only README line containing `marker`: its
/// lines without the indent. Fails loudly when the marker is missing or ambiguous, or no block
/// follows it.
fn readme_block(readme: &str, marker: &str) -> Vec<String> {
    let lines: Vec<&str> = readme.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(marker))
        .collect();
    assert!(
        at.len() == 1,
        "README.md: want exactly one line containing {marker:?}, found {} (lines {:?}); \
         the test reads the block under it",
        at.len(),
        at.iter().map(|i| i + 1).collect::<Vec<_>>()
    );
    let block: Vec<String> = lines[at[0] + 1..]
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with("    "))
        .map(|l| l[4..].to_string())
        .collect();
    assert!(
        !block.is_empty(),
        "README.md line {}: no indented block follows {marker:?}",
        at[0] + 1
    );
    block
}

/// The value of the token `PREFIXpath` (or `PREFIX path`) in a shell command.
fn word_after<'a>(command: &'a str, prefix: &str) -> Option<&'a str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .find_map(|(i, w)| match w.strip_prefix(prefix)? {
            "" => words.get(i + 1).copied(),
            rest => Some(rest),
        })
}

/// `key = value` values of the config text (comments cut, as the agent reads them).
fn config_values<'a>(config: &'a str, key: &str) -> Vec<&'a str> {
    config
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.split_whitespace().next().unwrap_or(""))
        })
        .collect()
}

/// Kills crond and everything in its process group (`unshare`, the `sh` that became `chroot`
/// and then crond) however the test ends, and reaps `unshare`. crond puts each job in a process
/// group of its own; a job is one agent run, over within the second, and the mount namespace
/// (with its `/proc` mount) goes away with the last of them.
struct CrondGroup(Child);

impl Drop for CrondGroup {
    fn drop(&mut self) {
        let pgid = self.0.id() as libc::pid_t;
        // SAFETY: plain syscall; the group is the one `process_group(0)` made for this child.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// The README's crontab line, exactly as written but every minute, run by BusyBox crond as
/// root in a fresh node: nothing below `/var/lib` yet, the agent at `/usr/local/bin/nodepulse`,
/// the README's config at `/etc/nodepulse.conf`.
#[test]
fn readme_crontab_line_works_on_a_fresh_node_under_busybox_crond() {
    assert!(
        Path::new(BUSYBOX).exists(),
        "{BUSYBOX} missing: install Debian's busybox-static (apt-get install -y busybox-static); \
         this test needs a real crond"
    );
    assert_eq!(
        user(),
        "root",
        "this test runs crond in a chroot (unshare, mount, chroot): run it as root"
    );
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();

    // The crontab line: the only line of its block. Only the schedule changes, from every 5
    // minutes to every minute (so that two runs fit in the test); the command stays byte for
    // byte what the README says.
    let block = readme_block(&readme, "BusyBox crontab");
    assert!(
        block.len() == 1,
        "README.md: the block under \"BusyBox crontab\" should be one crontab line, is {block:?}"
    );
    let command = block[0].strip_prefix("*/5 * * * * ").unwrap_or_else(|| {
        panic!(
            "README.md: the crontab line does not start with `*/5 * * * * `: {:?}",
            block[0]
        )
    });
    let crontab = format!("* * * * * {command}\n");
    let errors_at = word_after(command, "2>>").unwrap_or_else(|| {
        panic!("README.md: the crontab line appends no stderr (`2>>FILE`): {command:?}")
    });
    assert!(
        errors_at.starts_with('/'),
        "the `2>>` file is not absolute: {errors_at:?}"
    );

    // The config the README shows. It names a user (`user-service = node:...`) and a mount
    // (`/data`) that exist on a node configured so: the root gets them (a passwd line, a
    // directory); the service itself is not running here, which is a verdict in the record.
    let config =
        readme_block(&readme, "`/etc/nodepulse.conf` holds the flags' names").join("\n") + "\n";
    let mut users: Vec<&str> = config_values(&config, "user");
    users.extend(
        config_values(&config, "user-service")
            .iter()
            .filter_map(|v| v.split(':').next()),
    );
    users.sort_unstable();
    users.dedup();

    // The fresh node.
    let dir = TempDir::new("crond-fresh");
    let root = dir.join("root");
    for d in [
        "bin",
        "usr/local/bin",
        "etc/crontabs",
        "var/lib",
        "var/log",
        "tmp",
        "proc",
        "root",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for mount in config_values(&config, "mount") {
        std::fs::create_dir_all(root.join(mount.trim_start_matches('/'))).unwrap();
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::copy(bin(), root.join("usr/local/bin/nodepulse")).unwrap();
    std::fs::write(root.join("etc/nodepulse.conf"), &config).unwrap();
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    for (i, u) in users.iter().enumerate() {
        passwd += &format!("{u}:x:{uid}:{uid}:{u}:/home/{u}:/bin/sh\n", uid = 1000 + i);
    }
    std::fs::write(root.join("etc/passwd"), &passwd).unwrap();
    std::fs::write(root.join("etc/crontabs/root"), &crontab).unwrap();

    let inside = |path: &str| root.join(path.trim_start_matches('/'));
    let (record, state, errors, log) = (
        inside("/var/lib/nodepulse/record"),
        inside("/var/lib/nodepulse/state"),
        inside(errors_at),
        inside("/var/log/crond.log"),
    );
    let crond_out = dir.join("crond.out");
    let out_file = std::fs::File::create(&crond_out).unwrap();

    wait_until_late_in_a_minute();

    // A mount namespace of its own, so that the /proc mount vanishes with it; crond in the
    // foreground, logging everything to the node's /var/log/crond.log. crond runs each job with
    // `$SHELL -c` (else the user's passwd shell): it gets the environment BusyBox init gives
    // it on a node (`SHELL=/bin/sh`), not this test's, whose SHELL may be a /bin/bash the node
    // does not have.
    let child = Command::new("unshare")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SHELL", "/bin/sh")
        .env("HOME", "/")
        .args(["--mount", "--fork", "sh", "-c"])
        .arg(
            "mount -t proc proc \"$1/proc\" && exec chroot \"$1\" /bin/busybox crond -f -l 0 \
             -L /var/log/crond.log -c /etc/crontabs",
        )
        .arg("sh")
        .arg(&root)
        .process_group(0)
        .stdin(Stdio::null())
        .stderr(out_file.try_clone().unwrap())
        .stdout(out_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start unshare (util-linux): {e}"));
    let mut crond = CrondGroup(child);

    // Each run replaces the record (`--out`): watch it change.
    let mut seen: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut exited = None;
    while started.elapsed() < Duration::from_secs(75) {
        let now = read(&record).trim_end().to_string();
        if !now.is_empty() && seen.last() != Some(&now) {
            seen.push(now);
        }
        if seen.iter().any(|r| token(r, "seq") == Some("2")) {
            break;
        }
        if let Some(status) = crond.0.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let crond log the second job's end.
    std::thread::sleep(Duration::from_millis(500));
    drop(crond);

    let listing = Command::new("ls")
        .args(["-la"])
        .arg(inside("/var/lib"))
        .arg(inside("/var/lib/nodepulse"))
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_default();
    let context = format!(
        "crontab (/etc/crontabs/root):\n{crontab}\n/etc/nodepulse.conf:\n{config}\n\
         crond log (/var/log/crond.log):\n{}\nunshare/crond stdout+stderr:\n{}\n\
         {errors_at} (the job's stderr):\n{}\nrecords seen at /var/lib/nodepulse/record:\n{}\n\
         {listing}",
        read(&log),
        read(&crond_out),
        read(&errors),
        seen.join("\n"),
    );
    eprintln!("{context}");

    if let Some(status) = exited {
        panic!("crond (or unshare) exited early ({status})\n{context}");
    }
    assert!(
        seen.len() >= 2,
        "crond replaced /var/lib/nodepulse/record {} time(s) in {:?}, want 2 (seq=1, seq=2)\n{context}",
        seen.len(),
        started.elapsed()
    );
    let mut prev: Option<u64> = None;
    for (i, line) in seen.iter().enumerate() {
        assert!(
            line.starts_with("np1 "),
            "record {i} is not an np1 record: {line}\n{context}"
        );
        let seq = token(line, "seq");
        assert_eq!(
            seq,
            Some((i + 1).to_string().as_str()),
            "record {i}: the state file should number the runs 1, 2\n{context}"
        );
        let t: u64 = token(line, "t")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("record {i} has no numeric t=: {line}\n{context}"));
        if let Some(pt) = prev {
            let gap_ms = t.saturating_sub(pt);
            assert!(
                (55_000..=65_000).contains(&gap_ms),
                "runs {} and {i} are {gap_ms} ms apart, want about a minute\n{context}",
                i - 1
            );
        }
        prev = Some(t);
    }
    assert_eq!(
        token(&seen[0], "prev"),
        Some("new"),
        "the first run on a fresh node finds no state file\n{context}"
    );
    let state_len = std::fs::metadata(&state).map(|m| m.len()).ok();
    assert_eq!(
        state_len,
        Some(264),
        "/var/lib/nodepulse/state should be the 264-byte state file\n{context}"
    );
    // The clock here may well be unsynchronized: that is a verdict in the record, not a line on
    // stderr. The shell creates the file; the agent writes nothing to it.
    assert!(
        errors.exists(),
        "the shell should have created {errors_at}\n{context}"
    );
    assert_eq!(
        read(&errors),
        "",
        "the agent wrote to stderr under cron\n{context}"
    );
}
