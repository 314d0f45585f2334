//! The static agent cross-built for aarch64, armv7 (32-bit hard-float ARM) and i686 by
//! `bash cross/build.sh` (which tests/run.sh runs first), each run under qemu-user against every
//! fixture root and a few edge cases: the same record (timestamp masked), stderr and exit code as
//! the x86_64 build for the same arguments. And every build, x86_64 included, is a static,
//! stripped executable for its machine, of at most 65,536 bytes (the size gate).
//!
//! A missing binary, emulator or `file` fails the test: nothing here is skipped.

mod common;
use common::{fixture, masked, repo, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

const X86_64: &str = "x86_64-unknown-linux-musl";

struct Target {
    triple: &'static str,
    /// The qemu-user emulator that runs it (Debian's qemu-user-static).
    qemu: &'static str,
    /// ELF e_machine, and the ELF class: 1 for 32-bit, 2 for 64-bit.
    machine: u16,
    class: u8,
}

const AARCH64: Target = Target {
    triple: "aarch64-unknown-linux-musl",
    qemu: "qemu-aarch64-static",
    machine: 183,
    class: 2,
};
const ARMV7: Target = Target {
    triple: "armv7-unknown-linux-musleabihf",
    qemu: "qemu-arm-static",
    machine: 40,
    class: 1,
};
const I686: Target = Target {
    triple: "i686-unknown-linux-musl",
    qemu: "qemu-i386-static",
    machine: 3,
    class: 1,
};

/// Fixture root (under tests/fixtures) and the arguments after `--root ROOT --skip clock,disk`:
/// the scenarios of tests/fixtures.rs. Every directory under tests/fixtures must appear here.
const SCENARIOS: &[(&str, &[&str])] = &[
    (
        "systemd-ok",
        &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "chrony",
        ],
    ),
    ("systemd-ghost", &["--user-service", "node:openclaw-node"]),
    (
        "systemd-transitions",
        &[
            "--user-service",
            "node:openclaw-node",
            "--user-service",
            "node:backup",
            "--user",
            "claw",
            "--service",
            "np-starting",
            "--service",
            "np-restart",
        ],
    ),
    (
        "systemd-linger-off",
        &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "openclaw-node",
            "--only",
            "linger,service",
        ],
    ),
    (
        "systemd-linger-off",
        &["--user", "node", "--only", "linger"],
    ),
    ("busybox", &["--user", "node", "--service", "openclaw-node"]),
    (
        "busybox-down",
        &["--service", "openclaw-node", "--only", "service,timesync"],
    ),
    ("broken", &["--user-service", "node:openclaw-node"]),
    ("does-not-exist", &["--service", "x"]),
    // Thresholds: percentages computed on 32-bit as on 64-bit.
    (
        "systemd-ok",
        &[
            "--mem-avail-warn",
            "61",
            "--mem-avail-crit",
            "60",
            "--only",
            "memory,system",
        ],
    ),
];

/// Whole command lines, without a fixture root: usage errors, help, and statfs(2) of pseudo
/// filesystems whose figures do not move between two runs.
const COMMANDS: &[&[&str]] = &[
    &["--help"],
    &["--version"],
    &["--no-such-flag"],
    &["--only"],
    &[
        "--only", "disk", "--mount", "/proc", "--mount", "/sys", "--mount", "/dev",
    ],
];

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo().join(dir),
        None => repo().join("target"),
    }
}

fn binary(triple: &str) -> PathBuf {
    let path = target_dir().join(triple).join("release/nodepulse");
    assert!(
        path.is_file(),
        "{triple}: agent binary {} missing: build it with `bash cross/build.sh {triple}` (tests/run.sh builds every target)",
        path.display()
    );
    path
}

/// The emulator's path on PATH.
fn emulator(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| panic!("{name} not found on PATH: install Debian's qemu-user-static (`bash cross/build.sh` does)"))
}

/// Runs `program args`, killing it after 30 s (a hang fails the test); stdin is empty.
fn run_bounded(program: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args);
    common::run_command(cmd, 30)
}

/// A root built at run time with what git cannot hold (as in tests/fixtures.rs): a FIFO, a
/// 1 MiB file, a symlink loop, a directory for a file, a non-ASCII hostname.
fn hostile_root(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("np-cross-hostile-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in [
        "proc/sys/kernel/random",
        "etc",
        "run/systemd/system",
        "run/systemd/users",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let mut big = b"MemTotal: 2048 kB\nMemAvailable: 1024 kB\n".to_vec();
    big.resize(1 << 20, b'x');
    std::fs::write(root.join("proc/meminfo"), big).unwrap();
    assert!(Command::new("mkfifo")
        .arg(root.join("proc/uptime"))
        .status()
        .expect("run mkfifo")
        .success());
    std::os::unix::fs::symlink("passwd", root.join("etc/passwd")).unwrap();
    std::fs::create_dir(root.join("proc/loadavg")).unwrap();
    std::fs::write(root.join("proc/sys/kernel/hostname"), "h\u{e9}te=1\n").unwrap();
    std::fs::write(root.join("run/systemd/users/0"), "STATE=hibernating\n").unwrap();
    root
}

/// Every scenario and command, run by the x86_64 build and by `target`'s under its emulator:
/// all differences are reported at once.
fn same_as_x86_64(target: &Target) {
    let reference = binary(X86_64);
    let cross = binary(target.triple);
    let qemu = emulator(target.qemu);

    let hostile = hostile_root(target.triple.split('-').next().unwrap());
    let mut cases: Vec<Vec<String>> = Vec::new();
    for (root, extra) in SCENARIOS {
        let mut args = vec![
            "--root".to_string(),
            fixture(root),
            "--skip".into(),
            "clock,disk".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        cases.push(args);
    }
    let hostile_s = hostile.to_str().unwrap().to_string();
    cases.push(vec![
        "--root".into(),
        hostile_s,
        "--skip".into(),
        "clock,disk".into(),
        "--user".into(),
        "node".into(),
    ]);
    for cmd in COMMANDS {
        cases.push(cmd.iter().map(|a| a.to_string()).collect());
    }

    let mut diffs = Vec::new();
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let want = run_bounded(&reference, &args);
        let mut qemu_args = vec![cross.to_str().unwrap()];
        qemu_args.extend_from_slice(&args);
        let got = run_bounded(&qemu, &qemu_args);
        let (mut want_out, got_out) = (masked(&want.stdout), masked(&got.stdout));
        if args == ["--version"] {
            // `nodepulse 0.1.0 (record np1, x86_64)`: the one output that names the build's arch.
            want_out = want_out.replace("x86_64", target.triple.split('-').next().unwrap());
        }
        if want_out != got_out || want.stderr != got.stderr || want.code != got.code {
            diffs.push(format!(
                "args {args:?}\n  x86_64: exit {} stdout {want_out:?} stderr {:?}\n  {}: exit {} stdout {got_out:?} stderr {:?}",
                want.code, want.stderr, target.triple, got.code, got.stderr
            ));
        }
    }
    std::fs::remove_dir_all(&hostile).unwrap();
    assert!(
        diffs.is_empty(),
        "{} under {} differs from x86_64 in {} of {} runs (stale build? `bash cross/build.sh` rebuilds all):\n{}",
        target.triple,
        target.qemu,
        diffs.len(),
        cases.len(),
        diffs.join("\n")
    );
}

#[test]
fn aarch64_under_qemu_gives_the_x86_64_records() {
    same_as_x86_64(&AARCH64);
}

#[test]
fn armv7_hard_float_under_qemu_gives_the_x86_64_records() {
    same_as_x86_64(&ARMV7);
}

#[test]
fn i686_under_qemu_gives_the_x86_64_records() {
    same_as_x86_64(&I686);
}

#[test]
fn every_fixture_root_is_compared() {
    let mut roots: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    roots.sort();
    let missing: Vec<&String> = roots
        .iter()
        .filter(|r| !SCENARIOS.iter().any(|(s, _)| s == r))
        .collect();
    assert!(
        missing.is_empty(),
        "fixture roots without a scenario in tests/cross.rs: {missing:?}"
    );
}

/// The size gate: every target's agent is at most 64 KiB (it is copied onto each node's flash).
#[test]
fn every_build_fits_in_64_kib() {
    const GATE: u64 = 65_536;
    let mut sizes = Vec::new();
    for triple in [X86_64, AARCH64.triple, ARMV7.triple, I686.triple] {
        let size = std::fs::metadata(binary(triple)).unwrap().len();
        sizes.push(format!("{triple} {size}"));
        assert!(
            size <= GATE,
            "{triple}: {size} bytes, over the {GATE}-byte gate ({})",
            sizes.join(", ")
        );
    }
    eprintln!("agent sizes: {}", sizes.join(", "));
}

#[test]
fn every_build_is_static_stripped_and_for_its_machine() {
    let x86_64 = Target {
        triple: X86_64,
        qemu: "",
        machine: 62,
        class: 2,
    };
    for target in [&x86_64, &AARCH64, &ARMV7, &I686] {
        let path = binary(target.triple);
        let out = Command::new("file")
            .arg("-b")
            .arg(&path)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run file(1): {e}: install Debian's file (`bash cross/build.sh` does)"
                )
            });
        let desc = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "file {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            desc.contains("statically linked"),
            "{}: not statically linked: {desc}",
            target.triple
        );
        // cross/link.sh drops the section headers of a stripped build: `file` then says so
        // instead of `stripped` (no sections, no symbol table).
        assert!(
            desc.contains("no section header"),
            "{}: section headers left (not linked through cross/link.sh?): {desc}",
            target.triple
        );

        // The ELF header: little-endian, the right class and machine, a plain executable (not
        // static-pie); armv7 with the EABI5 hard-float ABI.
        let elf = std::fs::read(&path).unwrap();
        assert_eq!(&elf[..4], b"\x7fELF", "{}: not ELF", target.triple);
        assert_eq!(
            (elf[4], elf[5]),
            (target.class, 1),
            "{}: ELF class / endianness",
            target.triple
        );
        let half = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]);
        assert_eq!(half(16), 2, "{}: e_type is not ET_EXEC", target.triple);
        assert_eq!(half(18), target.machine, "{}: e_machine", target.triple);
        if target.triple.starts_with("armv7") {
            let flags = u32::from_le_bytes(elf[36..40].try_into().unwrap());
            assert_eq!(
                flags & 0xff00_0000,
                0x0500_0000,
                "armv7: not EABI5: e_flags {flags:#x}"
            );
            assert_ne!(
                flags & 0x400,
                0,
                "armv7: not hard-float (EF_ARM_ABI_FLOAT_HARD): e_flags {flags:#x}"
            );
        }
    }
}
