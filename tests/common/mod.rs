//! Helpers for the integration tests: find the built static agent, run it bounded in time,
//! pick tokens out of its record.
//!
//! `NODEPULSE_BIN` names the binary to test (default: the x86_64 musl release build, which the
//! README's test command builds first); `NODEPULSE_RUNNER` runs it through an emulator such as
//! `qemu-aarch64-static`.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    let path = std::env::var_os("NODEPULSE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/x86_64-unknown-linux-musl/release/nodepulse"));
    assert!(path.exists(), "agent binary {} missing: build it with `cargo build --release --target x86_64-unknown-linux-musl` (the test command does)", path.display());
    path
}

pub fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs the agent with `args`, killing it after 20 s (a hang fails the test).
pub fn run(args: &[&str]) -> Run {
    run_in(args, None)
}

pub fn run_in(args: &[&str], cwd: Option<&Path>) -> Run {
    let mut cmd = match std::env::var_os("NODEPULSE_RUNNER") {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("start the agent");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("agent did not finish within 20 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        stdout,
        stderr,
        code: status.code().expect("exited, not killed by a signal"),
    }
}

/// The record with its wall-clock timestamp replaced by `T`.
pub fn masked(record: &str) -> String {
    record
        .split(' ')
        .map(|tok| {
            if tok.starts_with("t=") {
                "t=T".to_string()
            } else {
                tok.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of `key=` in a record.
pub fn token<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    record.trim_end().split(' ').find_map(|tok| {
        tok.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// The value of `name:` inside a check's value (`ok,why:x,name:value,...`).
pub fn field<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(',').find_map(|part| {
        part.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}
