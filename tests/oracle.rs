//! The static agent against a booted systemd: `tests/oracle/oracle.sh` boots a Debian bookworm
//! tree (debootstrap, cached in `target/oracle-root`) with `systemd-nspawn -b` and compares, in
//! every scenario, the agent's tokens and exit code with `loginctl`, `systemctl` and
//! `timedatectl` (see `tests/oracle/README.md`); and runs the collector as the README's systemd
//! unit there (`systemd-analyze verify`, `systemctl start`, a record read back). It needs root and the Debian packages it
//! installs; anything missing is a failure, never a skip.

mod common;

use std::process::Command;

/// A cold run (debootstrap from the mirror) takes a few minutes; a cached one well under one.
const LIMIT_S: &str = "1500";

#[test]
fn agrees_with_a_booted_systemd() {
    let uid = Command::new("id").arg("-u").output().expect("id");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the oracle needs root (debootstrap, systemd-nspawn, nsenter): run the suite as root"
    );
    let script = common::repo().join("tests/oracle/oracle.sh");
    let out = Command::new("timeout")
        .args(["--kill-after=30", LIMIT_S, "bash"])
        .arg(&script)
        .env("NODEPULSE_BIN", common::bin())
        .env("COLLECTOR_BIN", env!("CARGO_BIN_EXE_nodepulse-collector"))
        .output()
        .expect("timeout(1) and bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    let summary = stdout.lines().last().unwrap_or("");
    assert!(
        out.status.success() && summary.starts_with("oracle: all ") && summary.ends_with(" agree"),
        "oracle failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    let disagreements: Vec<&str> = stdout.lines().filter(|l| l.ends_with(" NO")).collect();
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // Every scenario of tests/oracle/README.md ran (a script cut short cannot pass for agreement).
    let n: usize = summary
        .split(' ')
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n >= 64, "only {n} comparisons:\n{stdout}");
}
