//! The static agent on this machine, checked against the real tools that read the same
//! sources: `adjtimex --print` (Debian's adjtimex), /proc/meminfo and `df`; a nearly full tmpfs;
//! the command line's errors; the config file; the record's size.

mod common;
use common::{field, fixture, run, token};
use std::process::Command;

/// `adjtimex --print` as key → value.
fn adjtimex_tool() -> std::collections::HashMap<String, i64> {
    let out = Command::new("adjtimex")
        .arg("--print")
        .output()
        .expect("Debian's adjtimex tool (package adjtimex) must be installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(if line.contains('=') { '=' } else { ':' })?;
            Some((k.trim().to_string(), v.trim().parse::<i64>().ok()?))
        })
        .collect()
}

#[test]
fn clock_agrees_with_adjtimex_tool() {
    let before = adjtimex_tool();
    let r = run(&["--only", "clock"]);
    let after = adjtimex_tool();
    let clock = token(&r.stdout, "clock").expect("clock token");
    let num = |name: &str| field(clock, name).unwrap().parse::<i64>().unwrap();
    let status = before["status"];
    assert_eq!(status, after["status"], "status changed during the test");
    assert_eq!(field(clock, "kf").unwrap(), format!("{status:x}"));
    assert_eq!(num("ks"), before["return value"]);
    let maxerror = num("maxe_ms");
    assert!(
        before["maxerror"] / 1000 <= maxerror && maxerror <= after["maxerror"] / 1000,
        "maxerror {maxerror} ms outside [{}, {}] µs",
        before["maxerror"],
        after["maxerror"]
    );
    assert_eq!(num("este_ms"), before["esterror"] / 1000);
    let offset = if status & 0x2000 != 0 {
        before["offset"] / 1000
    } else {
        before["offset"]
    };
    assert_eq!(num("off_us"), offset);
    let ppb = before["frequency"] * 1000 / 65536;
    assert_eq!(
        field(clock, "ppm").unwrap(),
        format!(
            "{}{}.{:03}",
            if ppb < 0 { "-" } else { "" },
            ppb.abs() / 1000,
            ppb.abs() % 1000
        )
    );
    // The verdict follows systemd's rule on this machine (no BusyBox ntpd here).
    let synced = before["maxerror"] < 16_000_000;
    assert_eq!(field(clock, "sd").unwrap(), if synced { "y" } else { "n" });
    assert_eq!(
        field(clock, "ne").unwrap(),
        if before["return value"] != 5 {
            "y"
        } else {
            "n"
        }
    );
    if !synced {
        assert!(clock.starts_with("crit:unsynced,"), "{clock}");
        assert_eq!(r.code, 2);
    }
}

fn meminfo_kb(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(':')?
                .trim()
                .trim_end_matches(" kB")
                .parse()
                .ok()
        })
        .unwrap()
}

#[test]
fn memory_agrees_with_proc_meminfo() {
    let total = meminfo_kb("MemTotal");
    let avail = meminfo_kb("MemAvailable");
    let r = run(&["--only", "memory"]);
    let mem = token(&r.stdout, "mem").unwrap();
    let num = |name: &str| field(mem, name).unwrap().parse::<u64>().unwrap();
    assert_eq!(num("mb"), total >> 10);
    assert_eq!(num("swap_mb"), meminfo_kb("SwapTotal") >> 10);
    assert!(
        num("avail_mb").abs_diff(avail >> 10) < (total >> 10) / 20,
        "MemAvailable {} MiB vs {} KiB",
        num("avail_mb"),
        avail
    );
}

#[test]
fn disk_agrees_with_df() {
    let df = Command::new("df")
        .args(["-B1", "--output=size,avail,pcent", "/"])
        .output()
        .unwrap();
    let text = String::from_utf8(df.stdout).unwrap();
    let cols: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    let r = run(&["--only", "disk", "--mount", "/"]);
    let disk = token(&r.stdout, "disk./").unwrap();
    let num = |name: &str| field(disk, name).unwrap().parse::<u64>().unwrap();
    assert_eq!(num("mb"), cols[0].parse::<u64>().unwrap() >> 20);
    assert!(
        num("free_mb").abs_diff(cols[1].parse::<u64>().unwrap() >> 20) < 256,
        "avail differs by over 256 MiB"
    );
    assert!(num("use").abs_diff(cols[2].trim_end_matches('%').parse().unwrap()) <= 1);
}

/// A 1 MiB tmpfs mounted inside a temporary root, unmounted on drop.
struct Tmpfs {
    root: std::path::PathBuf,
}

impl Tmpfs {
    fn new(name: &str) -> Tmpfs {
        let root = std::env::temp_dir().join(format!("np-{name}-{}", std::process::id()));
        std::fs::create_dir_all(root.join("mnt")).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,nr_inodes=64", "tmpfs"])
            .arg(root.join("mnt"))
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        Tmpfs { root }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.root.join("mnt")).status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn nearly_full_disk_is_critical() {
    let fs = Tmpfs::new("full");
    let root = fs.root.to_str().unwrap();
    let r = run(&["--root", root, "--only", "disk", "--mount", "/mnt"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    std::fs::write(fs.root.join("mnt/fill"), vec![0u8; 1000 * 1024]).unwrap();
    let r = run(&["--root", root, "--only", "disk", "--mount", "/mnt"]);
    let disk = token(&r.stdout, "disk./mnt").unwrap();
    assert!(disk.starts_with("crit:space,mb:1,free_mb:0,"), "{disk}");
    assert_eq!(field(disk, "ro"), None);
    assert_eq!(r.code, 2);
    // Thresholds move the verdict.
    let r = run(&[
        "--root",
        root,
        "--only",
        "disk",
        "--mount",
        "/mnt",
        "--disk-free-warn",
        "3",
        "--disk-free-crit",
        "1",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // Inodes: 64 at most; fill them with empty files.
    std::fs::remove_file(fs.root.join("mnt/fill")).unwrap();
    for i in 0.. {
        if std::fs::write(fs.root.join(format!("mnt/f{i}")), b"").is_err() {
            break;
        }
    }
    let r = run(&["--root", root, "--only", "disk", "--mount", "/mnt"]);
    assert!(
        token(&r.stdout, "disk./mnt")
            .unwrap()
            .starts_with("crit:inodes"),
        "{}",
        r.stdout
    );
    // Read-only is reported.
    assert!(Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(fs.root.join("mnt"))
        .status()
        .unwrap()
        .success());
    let r = run(&["--root", root, "--only", "disk", "--mount", "/mnt"]);
    assert_eq!(
        field(token(&r.stdout, "disk./mnt").unwrap(), "ro"),
        Some("1")
    );
}

#[test]
fn missing_mount_is_unknown() {
    let r = run(&["--only", "disk", "--mount", "/no/such/mount"]);
    assert_eq!(
        token(&r.stdout, "disk./no/such/mount"),
        Some("unknown:statvfs,errno:2")
    );
    assert_eq!(r.code, 3);
}

#[test]
fn bad_flags_give_one_line_and_exit_3() {
    for (args, message) in [
        (&["--bogus"][..], "nodepulse: unknown flag '--bogus'\n"),
        (
            &["--disk-free-warn", "abc"],
            "nodepulse: --disk-free-warn: 'abc' is not a number\n",
        ),
        (&["--root"], "nodepulse: --root: missing value\n"),
        (
            &["--skip", "clock,nope"],
            "nodepulse: --skip: unknown check 'nope' (checks: clock, timesync, linger, service, disk, memory, system)\n",
        ),
        (&["extra"], "nodepulse: unexpected argument 'extra'\n"),
        (
            &["--config", "/no/such/file"],
            "nodepulse: cannot read config file /no/such/file: no such file\n",
        ),
    ] {
        let r = run(args);
        assert_eq!(
            (r.stdout.as_str(), r.stderr.as_str(), r.code),
            ("", message, 3),
            "{args:?}"
        );
    }
}

#[test]
fn help_and_version() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("nodepulse - ") && r.stdout.contains("--user-service USER:NAME"));
    let r = run(&["--version"]);
    assert_eq!(
        (r.stdout.as_str(), r.code),
        (
            concat!(
                "nodepulse ",
                env!("CARGO_PKG_VERSION"),
                " (record np1, x86_64)\n"
            ),
            0
        )
    );
}

#[test]
fn config_file_with_flag_overrides() {
    let dir = std::env::temp_dir().join(format!("np-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("nodepulse.conf");
    std::fs::write(
        &conf,
        format!(
            "# edge node\nroot = {}\nuser-service = node:openclaw-node\nonly = linger\n",
            fixture("systemd-ghost")
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    let r = run(&["--config", conf]);
    assert_eq!(
        token(&r.stdout, "linger.node"),
        Some("crit:linger-off,uid:1000,lg:off,st:offline")
    );
    assert_eq!(r.code, 2);
    let ok = fixture("systemd-ok");
    let r = run(&["--config", conf, "--root", &ok]);
    assert_eq!(
        token(&r.stdout, "linger.node"),
        Some("ok,uid:1000,lg:on,st:lingering")
    );
    assert_eq!(r.code, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A ` # comment` after a value is dropped; a quoted value is refused with the file and line,
/// never kept with its quotes (issue 17: `user = "root"` made a user named `"root"`).
#[test]
fn config_file_inline_comments_and_quotes() {
    let dir = std::env::temp_dir().join(format!("np-conf-quotes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("nodepulse.conf");
    let root = fixture("systemd-ghost");
    let write = |text: String| std::fs::write(&conf, text).unwrap();
    let path = conf.to_str().unwrap();
    write(format!("root = {root} # a fixture\nuser-service = node:openclaw-node\t# the app\nonly = linger # and nothing else\n"));
    let r = run(&["--config", path]);
    assert_eq!(
        (token(&r.stdout, "linger.node"), r.stderr.as_str(), r.code),
        (Some("crit:linger-off,uid:1000,lg:off,st:offline"), "", 2)
    );
    for (line, key) in [("user = \"node\"", "user"), ("only = 'linger'", "only")] {
        write(format!("root = {root}\n# quoted:\n{line}\n"));
        let r = run(&["--config", path]);
        assert_eq!(
            (r.stdout.as_str(), r.stderr, r.code),
            (
                "",
                format!("nodepulse: {path}:3: {key}: quotes are not allowed\n"),
                3
            ),
            "{line}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn record_fits_512_bytes_for_the_standard_config() {
    // 1 user, 1 service, 2 mounts, every check, real clock and disks.
    let root = fixture("systemd-ok");
    let r = run(&[
        "--root",
        &root,
        "--user-service",
        "node:openclaw-node",
        "--mount",
        "/",
        "--mount",
        "/proc",
    ]);
    assert!(
        r.stdout.len() <= 512,
        "{} bytes: {}",
        r.stdout.len(),
        r.stdout
    );
    assert!(r.stdout.starts_with("np1 "));
}

/// Runs the agent as `nobody` through util-linux's setpriv, bounded like `run`.
fn run_as_nobody(args: &[&str]) -> (String, i32) {
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
        .args(args)
        .output()
        .expect("setpriv (util-linux) must be installed");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn works_unprivileged_on_fixtures_and_on_this_machine() {
    assert_eq!(
        effective_uid(),
        0,
        "this test starts the agent as nobody, which needs root"
    );
    let root = fixture("systemd-ok");
    let args = [
        "--root",
        root.as_str(),
        "--skip",
        "clock,disk",
        "--user-service",
        "node:openclaw-node",
        "--service",
        "chrony",
    ];
    let (as_nobody, code) = run_as_nobody(&args);
    let as_root = run(&args);
    assert_eq!(common::masked(&as_nobody), common::masked(&as_root.stdout));
    assert_eq!(code, as_root.code);
    // On this machine: every check still reads its source (no field unknown for lack of rights).
    let (record, _) = run_as_nobody(&["--user", "root", "--mount", "/"]);
    for key in ["clock", "ntp", "linger.root", "disk./", "mem"] {
        let value = token(&record, key).unwrap_or_else(|| panic!("{key} missing: {record}"));
        assert!(!value.starts_with("unknown"), "{key}={value}");
    }
    assert!(
        !record.contains("=-") && !record.contains(":-,"),
        "an unknown value as nobody: {record}"
    );
}

fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn key_file_appends_an_hmac_that_python_verifies() {
    let dir = std::env::temp_dir().join(format!("np-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, "correct horse battery staple\n").unwrap();
    let root = fixture("systemd-ok");
    let r = run(&[
        "--root",
        &root,
        "--skip",
        "clock,disk",
        "--key-file",
        key.to_str().unwrap(),
    ]);
    let (body, mac) = r
        .stdout
        .trim_end()
        .rsplit_once(" mac=")
        .expect("a mac= token at the end");
    assert_eq!(mac.len(), 64);
    // Python's hmac module is the reference; the key is the file without its final newline.
    let check = Command::new("python3")
        .args(["-c", "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())"])
        .args(["correct horse battery staple", body])
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8(check.stdout).unwrap().trim(), mac);
    // Other formats carry no tag; a missing or empty key is an error, nothing is written.
    let r = run(&[
        "--root",
        &root,
        "--only",
        "memory",
        "--format",
        "json",
        "--key-file",
        key.to_str().unwrap(),
    ]);
    assert!(!r.stdout.contains("mac"), "{}", r.stdout);
    std::fs::write(&key, "\n").unwrap();
    let r = run(&[
        "--root",
        &root,
        "--only",
        "memory",
        "--key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!((r.stdout.as_str(), r.code), ("", 3));
    assert!(r.stderr.ends_with(": empty key\n"), "{}", r.stderr);
    let r = run(&["--only", "memory", "--key-file", "/no/such/key"]);
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str(), r.code),
        (
            "",
            "nodepulse: cannot use --key-file /no/such/key: no such file\n",
            3
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A FUSE mount whose statfs never answers (tests/peers/hang_fuse.py), inside a temporary root.
struct HangingMount {
    root: common::TempDir,
    server: std::process::Child,
}

impl HangingMount {
    fn new() -> HangingMount {
        let root = common::TempDir::new("hang");
        std::fs::create_dir(root.join("mnt")).unwrap();
        let script = common::repo().join("tests/peers/hang_fuse.py");
        let mut server = Command::new("python3")
            .arg(script)
            .arg(root.join("mnt"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(server.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(
            line, "ready\n",
            "the FUSE server (needs /dev/fuse and root)"
        );
        HangingMount { root, server }
    }
}

impl Drop for HangingMount {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.root.join("mnt"))
            .status();
    }
}

/// The i686 agent that `bash cross/build.sh` built (this kernel runs it natively); its
/// absence fails the test.
fn i686_agent() -> std::path::PathBuf {
    let i686 = common::repo().join("target/i686-unknown-linux-musl/release/nodepulse");
    assert!(
        i686.exists(),
        "{} missing: run `bash cross/build.sh`",
        i686.display()
    );
    i686
}

/// Runs `agent` with `args`, bounded.
fn run_agent(agent: &std::path::Path, args: &[&str]) -> common::Run {
    let mut cmd = Command::new(agent);
    cmd.args(args);
    common::run_command(cmd, 20)
}

#[test]
fn a_hung_statvfs_is_abandoned_at_the_deadline() {
    let hang = HangingMount::new();
    let root = hang.root.path().to_str().unwrap().to_string();
    // The x86_64 agent, and the i686 one (cross/build.sh), which this kernel runs natively:
    // the fork is a raw `clone` whose argument order differs between the two ABIs.
    let i686 = i686_agent();
    for agent in [common::bin(), i686] {
        let started = std::time::Instant::now();
        // `/` answers, `/mnt` never does; the child stuck in it must not hold our stdout open
        // either (run_command reads it to the end).
        let r = run_agent(
            &agent,
            &[
                "--root",
                &root,
                "--only",
                "disk",
                "--mount",
                "/",
                "--mount",
                "/mnt",
                "--timeout",
                "2",
            ],
        );
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_millis(3500),
            "{}: the run took {took:?}",
            agent.display()
        );
        assert!(
            took >= std::time::Duration::from_millis(1900),
            "the run did not wait for the deadline: {took:?}"
        );
        assert_eq!(
            token(&r.stdout, "disk./mnt"),
            Some("unknown:timeout,errno:110"),
            "{}",
            r.stdout
        );
        assert!(
            token(&r.stdout, "disk./").unwrap().starts_with("ok,"),
            "{}",
            r.stdout
        );
        assert_eq!(token(&r.stdout, "st"), Some("unknown"));
        assert_eq!((r.code, r.stderr.as_str()), (3, ""));
        // Every sink still gets the record: here a file.
        let out = hang.root.join("record");
        let _ = std::fs::remove_file(&out);
        let r = run_agent(
            &agent,
            &[
                "--root",
                &root,
                "--only",
                "disk",
                "--mount",
                "/mnt",
                "--timeout",
                "1",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 3);
        let record = std::fs::read_to_string(&out).unwrap();
        assert!(
            record.starts_with("np1 ") && record.contains("disk./mnt=unknown:timeout"),
            "{record}"
        );
        // A healthy mount answers long before the deadline: no timeout, no wait.
        let started = std::time::Instant::now();
        let r = run_agent(
            &agent,
            &[
                "--root",
                &root,
                "--only",
                "disk",
                "--mount",
                "/",
                "--timeout",
                "2",
            ],
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(1500));
        assert!(
            token(&r.stdout, "disk./").unwrap().starts_with("ok,"),
            "{}",
            r.stdout
        );
        assert_eq!(r.code, 0);
    }
}

/// The deadline child shares the agent's memory (`clone` with `CLONE_VM`); where that is
/// refused (qemu-user, here strace's fault injection), it is a plain fork. Either way a mount
/// that never answers is abandoned at the deadline and the one that answers is in the record.
#[test]
fn the_deadline_child_shares_memory_or_is_a_fork() {
    let hang = HangingMount::new();
    let root = hang.root.path().to_str().unwrap().to_string();
    let i686 = i686_agent();
    for agent in [common::bin(), i686] {
        for inject in [None, Some("clone:error=EINVAL:when=1")] {
            let dir = common::TempDir::new("clonevm");
            let trace = dir.join("trace");
            let mut cmd = Command::new("strace");
            // Not -f: the child stuck in the mount would hold strace (and the test) to the end.
            cmd.args(["-qq", "-e", "trace=clone,clone3,mmap,mmap2", "-o"])
                .arg(&trace);
            if let Some(inject) = inject {
                cmd.args(["-e", &format!("inject={inject}")]);
            }
            cmd.arg(&agent).args([
                "--root",
                &root,
                "--only",
                "disk",
                "--mount",
                "/",
                "--mount",
                "/mnt",
                "--timeout",
                "1",
                "--state",
                "none",
            ]);
            let r = common::run_command(cmd, 20);
            let what = format!("{} {inject:?}", agent.display());
            assert_eq!(r.code, 3, "{what}: {r:?}");
            assert_eq!(
                token(&r.stdout, "disk./mnt"),
                Some("unknown:timeout,errno:110"),
                "{what}: {}",
                r.stdout
            );
            assert!(
                token(&r.stdout, "disk./").unwrap().starts_with("ok,"),
                "{what}: {}",
                r.stdout
            );
            let text = std::fs::read_to_string(&trace).unwrap();
            let clones: Vec<&str> = text.lines().filter(|l| l.contains("clone")).collect();
            // The slots' mappings: private for the child that shares this memory (a shared
            // one is a shmem file made and destroyed on every run), shared only for a fork.
            let maps: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("mmap"))
                .map(|l| {
                    if l.contains("MAP_SHARED") {
                        "shared"
                    } else {
                        "private"
                    }
                })
                .collect();
            match inject {
                None => {
                    assert_eq!(clones.len(), 1, "{what}: one child:\n{text}");
                    assert!(clones[0].contains("CLONE_VM"), "{what}:\n{text}");
                    assert_eq!(maps, ["private"], "{what}:\n{text}");
                }
                Some(_) => {
                    assert_eq!(
                        clones.len(),
                        2,
                        "{what}: CLONE_VM refused, then a fork:\n{text}"
                    );
                    assert!(
                        clones[0].contains("CLONE_VM") && clones[0].contains("INJECTED"),
                        "{what}:\n{text}"
                    );
                    assert!(!clones[1].contains("CLONE_VM"), "{what}:\n{text}");
                    assert_eq!(maps, ["private", "shared"], "{what}:\n{text}");
                }
            }
        }
    }
}

/// The clocks are read with the system call itself: on a 32-bit CPU `clock_gettime64`, and on
/// a kernel older than 5.1, which lacks it (strace makes it fail with ENOSYS), the 32-bit call:
/// the record's `t` is still this machine's wall clock.
#[test]
fn the_clock_without_clock_gettime64() {
    let i686 = i686_agent();
    for inject in [None, Some("clock_gettime64:error=ENOSYS")] {
        let dir = common::TempDir::new("clock64");
        let trace = dir.join("trace");
        let mut cmd = std::process::Command::new("strace");
        cmd.args([
            "-f",
            "-qq",
            "-e",
            "trace=clock_gettime,clock_gettime64",
            "-o",
        ])
        .arg(&trace);
        if let Some(inject) = inject {
            cmd.args(["-e", &format!("inject={inject}")]);
        }
        cmd.arg(&i686).args(["--only", "system", "--state", "none"]);
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let r = common::run_command(cmd, 30);
        let after = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert_eq!(r.code, 0, "{inject:?}: {r:?}");
        let t: u64 = common::token(&r.stdout, "t")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        assert!(
            (before..=after).contains(&t),
            "{inject:?}: t={t} not in {before}..={after}: {}",
            r.stdout
        );
        let text = std::fs::read_to_string(&trace).unwrap();
        let old = text
            .lines()
            .filter(|l| l.contains(" clock_gettime("))
            .count();
        match inject {
            None => assert_eq!(old, 0, "clock_gettime64 alone on this kernel:\n{text}"),
            Some(_) => assert!(old >= 2, "the 32-bit call after ENOSYS:\n{text}"),
        }
    }
}
