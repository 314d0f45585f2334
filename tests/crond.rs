//! The agent under a real cron daemon: Debian's BusyBox crond (`busybox-static`) runs it every
//! minute with an empty environment (`env -i`: no PATH, HOME or TTY), as the README's crontab
//! line does, and the records it appends must show two consecutive runs a minute apart.

mod common;

use common::{bin, fixture, token, TempDir};
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

    // crond fires at the top of each minute: start it late in a minute so two runs come
    // within ~70 s (one at the next minute boundary, one a minute later).
    let wait_start = Instant::now();
    loop {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let sec = now.as_secs() % 60;
        if sec >= 50 || wait_start.elapsed() > Duration::from_secs(62) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }

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
