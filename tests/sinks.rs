//! The sinks against the kernel and real readers: `--out` replaced atomically while another
//! thread reads it and on a full or read-only tmpfs; `--append` rotating at `--max-bytes`;
//! `--udp` to IPv4, IPv6 and an /etc/hosts name, the 1232-byte payload limit, and a failing sink
//! not stopping the others.
//!
//! The tests run as root (the tmpfs mounts); a mount that fails is a failure, never a skip.

mod common;
use common::{bin, fixture, masked, run, token, Run, TempDir};

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Harness

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A tmpfs mounted for the test, unmounted on drop (before its directory is removed).
struct Tmpfs {
    dir: PathBuf,
    _parent: TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let parent = TempDir::new("tmpfs");
        let dir = parent.join("mnt");
        std::fs::create_dir(&dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .expect("mount(8)");
        assert!(
            out.status.success(),
            "mount -t tmpfs failed (the tests run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir,
            _parent: parent,
        }
    }
    fn remount(&self, opts: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount -o remount,{opts}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn agent(args: &[String]) -> Run {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

/// The systemd-ok fixture (clock and disk would be this machine's) plus `extra`.
fn fixture_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--root".to_string(),
        fixture("systemd-ok"),
        "--skip".to_string(),
        "clock,disk".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The fixture with one user service: a record of about 300 bytes, status OK.
fn ok_args(extra: &[&str]) -> Vec<String> {
    let mut args = fixture_args(&["--user-service", "node:openclaw-node"]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs the agent without the 5 ms polling of `common::run` (for loops of thousands of runs),
/// still bounded: killed after 20 s. Returns the exit code and stderr.
fn run_quick(args: &[String]) -> (i32, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&args);
    (r.code, r.stderr)
}

/// A complete line record: one line, `np1 ` first, a newline last.
fn whole_record(bytes: &[u8]) -> bool {
    bytes.starts_with(b"np1 ")
        && bytes.ends_with(b"\n")
        && bytes.iter().filter(|&&b| b == b'\n').count() == 1
        && bytes.len() > 40
}

/// A failed sink: exit 3, nothing on stdout, exactly one stderr line naming `flag` and `target`.
fn assert_sink_failed(r: &Run, flag: &str, target: &str, what: &str) {
    assert_eq!(r.code, 3, "{what}: exit code; stderr {:?}", r.stderr);
    assert!(
        r.stdout.is_empty(),
        "{what}: stdout written with a sink given: {:?}",
        r.stdout
    );
    assert_eq!(
        r.stderr.matches('\n').count(),
        1,
        "{what}: not one stderr line: {:?}",
        r.stderr
    );
    assert!(r.stderr.ends_with('\n'), "{what}: {:?}", r.stderr);
    assert!(
        r.stderr.contains(flag) && r.stderr.contains(target),
        "{what}: stderr does not name {flag} {target}: {:?}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// --out

/// Two writers replace the file 2000 times in all while a reader thread reads it in a loop:
/// every read is a whole record, the file never disappears, no temporary file is left.
#[test]
fn out_replace_is_atomic_under_a_concurrent_reader() {
    let dir = TempDir::new("atomic");
    let path = dir.join("np.rec");
    let args = ok_args(&["--out", path.to_str().unwrap()]);
    let (code, err) = run_quick(&args);
    assert_eq!((code, err.as_str()), (0, ""), "first write");
    assert!(whole_record(&std::fs::read(&path).unwrap()));

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let mut reads = 0usize;
            let mut distinct = std::collections::HashSet::new();
            while !stop.load(Ordering::Relaxed) {
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        assert!(
                            whole_record(&bytes),
                            "read #{reads}: partial or foreign content {:?}",
                            String::from_utf8_lossy(&bytes)
                        );
                        distinct.insert(bytes);
                        reads += 1;
                    }
                    Err(e) => panic!(
                        "read #{reads}: {e} (the file must always exist after the first write)"
                    ),
                }
            }
            (reads, distinct.len())
        })
    };
    let started = Instant::now();
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let args = args.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let (code, err) = run_quick(&args);
                    assert_eq!((code, err.as_str()), (0, ""), "write #{i}");
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "2000 rewrites took over 60 s"
                    );
                }
            })
        })
        .collect();
    let writers_ok = writers.into_iter().all(|w| w.join().is_ok());
    stop.store(true, Ordering::Relaxed);
    let (reads, distinct) = reader
        .join()
        .expect("the reader saw a partial or missing file");
    assert!(writers_ok, "a writer failed");
    assert!(
        reads >= 100 && distinct >= 10,
        "the reader barely overlapped the writers: {reads} reads, {distinct} distinct records"
    );
    assert_eq!(dir.names(), ["np.rec"], "temporary files left behind");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o644);
}

/// On a full tmpfs, then a read-only one: exit 3, one stderr line naming --out, and the old
/// file byte-identical; no temporary file left.
#[test]
fn out_on_full_and_read_only_filesystem_keeps_the_old_file() {
    let fs = Tmpfs::mount("64k");
    let path = fs.dir.join("np.rec");
    let target = path.to_str().unwrap().to_string();
    let args = ok_args(&["--out", &target]);
    let r = agent(&args);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "", ""),
        "first write"
    );
    let old = std::fs::read(&path).unwrap();
    assert!(whole_record(&old));

    // Fill every block.
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(fs.dir.join("filler")).unwrap();
        let chunk = [0x5au8; 4096];
        let mut wrote = 0usize;
        loop {
            match filler.write(&chunk) {
                Ok(0) => break,
                Ok(n) => wrote += n,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
            assert!(wrote <= 1 << 20, "a 64k tmpfs took over 1 MiB");
        }
        let _ = filler.sync_all();
        // A further write of one byte must fail: the filesystem is full.
        assert!(
            std::fs::write(fs.dir.join("probe"), b"x").is_err(),
            "the tmpfs is not full"
        );
        let _ = std::fs::remove_file(fs.dir.join("probe"));
    }
    let r = agent(&args);
    assert_sink_failed(&r, "--out", &target, "full tmpfs");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        old,
        "full tmpfs: old file changed"
    );
    assert_eq!(
        names(&fs.dir),
        ["filler", "np.rec"],
        "full tmpfs: temporary file left behind"
    );

    // Read-only (with room again, so only the mount flag stops it).
    std::fs::remove_file(fs.dir.join("filler")).unwrap();
    fs.remount("ro");
    let r = agent(&args);
    assert_sink_failed(&r, "--out", &target, "read-only tmpfs");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        old,
        "read-only tmpfs: old file changed"
    );
    assert_eq!(names(&fs.dir), ["np.rec"]);

    // And writable again: the next run replaces it.
    fs.remount("rw");
    let r = agent(&args);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(whole_record(&std::fs::read(&path).unwrap()));
}

/// When PATH is a symlink, --out replaces the link itself (rename), never writes through it;
/// the new file has mode 0644 whatever the umask and the old file's mode.
#[test]
fn out_replaces_a_symlink_and_writes_mode_0644() {
    let dir = TempDir::new("symlink");
    let other = dir.join("other");
    std::fs::write(&other, "do not touch\n").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("np.rec");
    std::os::unix::fs::symlink(&other, &link).unwrap();

    // umask 077: the agent must still give 0644 (it chmods the temporary file).
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 077 && exec \"$0\" \"$@\"")
        .arg(bin())
        .args(ok_args(&["--out", link.to_str().unwrap()]));
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty() && out.stderr.is_empty());

    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "do not touch\n",
        "written through the symlink"
    );
    assert_eq!(
        std::fs::metadata(&other).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "PATH is still a symlink");
    assert_eq!(
        meta.permissions().mode() & 0o7777,
        0o644,
        "mode of the written file"
    );
    assert_eq!(meta.uid(), 0);
    assert!(whole_record(&std::fs::read(&link).unwrap()));
    assert_eq!(dir.names(), ["np.rec", "other"]);

    // A regular file of mode 0600 replaced: 0644 too.
    std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = agent(&ok_args(&["--out", link.to_str().unwrap()]));
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        std::fs::metadata(&link).unwrap().permissions().mode() & 0o7777,
        0o644
    );
}

// ---------------------------------------------------------------------------------------------
// --append

fn lines_of(path: &Path) -> Vec<String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{}: last line incomplete: {text:?}",
                path.display()
            );
            text.lines().map(str::to_string).collect()
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// 40 runs with --max-bytes 1024 (about 4 records): PATH never passes the cap, PATH.1 appears
/// at the first rotation and holds whole records, there is never a PATH.2, and the records in
/// PATH.1 then PATH are the latest runs in order.
#[test]
fn append_rotates_once_at_max_bytes() {
    let dir = TempDir::new("append");
    let path = dir.join("np.log");
    let rotated = dir.join("np.log.1");
    let max = 1024u64;
    let args = ok_args(&[
        "--append",
        path.to_str().unwrap(),
        "--max-bytes",
        &max.to_string(),
    ]);
    let mut all_t: Vec<u64> = Vec::new();
    let mut rotations = 0;
    let mut last_size = 0;
    for i in 0..40 {
        let r = agent(&args);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (0, "", ""),
            "run {i}"
        );
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(
            size <= max,
            "run {i}: {} is {size} bytes, over --max-bytes {max}",
            path.display()
        );
        if size < last_size {
            rotations += 1;
        }
        last_size = size;
        assert!(!dir.join("np.log.2").exists(), "run {i}: a PATH.2 appeared");
        let (cur, old) = (lines_of(&path), lines_of(&rotated));
        for line in cur.iter().chain(old.iter()) {
            assert!(
                whole_record(format!("{line}\n").as_bytes()),
                "run {i}: not a whole record: {line:?}"
            );
            assert_eq!(
                masked(line),
                masked(&cur[0]),
                "run {i}: records differ beyond t="
            );
        }
        // PATH.1 then PATH: increasing t, ending with this run's record.
        let ts: Vec<u64> = old
            .iter()
            .chain(cur.iter())
            .map(|l| token(l, "t").unwrap().parse().unwrap())
            .collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "run {i}: records out of order: {ts:?}"
        );
        all_t.push(*ts.last().unwrap());
        if rotations > 0 {
            assert!(rotated.exists(), "run {i}: rotated but no PATH.1");
            assert!(std::fs::metadata(&rotated).unwrap().len() <= max);
            // Nothing lost across the rotation: PATH.1 + PATH hold the last runs, back to back.
            let n = ts.len();
            assert!(n >= 4, "run {i}: only {n} records kept in PATH.1 + PATH");
            assert_eq!(
                ts[..],
                all_t[all_t.len() - n..],
                "run {i}: PATH.1 + PATH are not the latest runs"
            );
        } else {
            assert!(!rotated.exists(), "run {i}: PATH.1 before any rotation");
            assert_eq!(ts, all_t, "run {i}: records lost before the first rotation");
        }
        for p in [&path, &rotated] {
            if p.exists() {
                assert_eq!(
                    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777,
                    0o644
                );
            }
        }
    }
    assert!(
        rotations >= 5,
        "only {rotations} rotations in 40 runs of ~200 bytes at a 1024-byte cap"
    );
    assert_eq!(dir.names(), ["np.log", "np.log.1"]);
}

/// Concurrent appenders (no rotation) never interleave: 4 × 50 runs give 200 whole lines.
#[test]
fn concurrent_appends_do_not_interleave() {
    let dir = TempDir::new("append-par");
    let path = dir.join("np.log");
    let args = ok_args(&["--append", &format!("line:{}", path.display())]);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let args = args.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert_eq!(run_quick(&args), (0, String::new()));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let lines = lines_of(&path);
    assert_eq!(lines.len(), 200);
    for line in &lines {
        assert!(
            whole_record(format!("{line}\n").as_bytes()),
            "interleaved: {line:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// --udp

fn udp_v4() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let port = s.local_addr().unwrap().port();
    (s, port)
}

fn udp_v6() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("[::1]:0").expect("bind [::1]:0 (IPv6 loopback)");
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let port = s.local_addr().unwrap().port();
    (s, port)
}

/// `recv`, retried when a signal interrupts it (EINTR is not an answer).
fn recv(s: &UdpSocket, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match s.recv(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The one datagram a socket gets; none more within 200 ms.
fn one_datagram(s: &UdpSocket, what: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 65536];
    let n = recv(s, &mut buf).unwrap_or_else(|e| panic!("{what}: no datagram: {e}"));
    buf.truncate(n);
    assert_nothing(s, what);
    buf
}

fn assert_nothing(s: &UdpSocket, what: &str) {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 2048];
    match recv(s, &mut buf) {
        Ok(n) => panic!(
            "{what}: unexpected datagram of {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{what}: {e}"
        ),
    }
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
}

/// The first host name /etc/hosts maps to 127.0.0.1 (`localhost` on any sane machine).
fn hosts_name_for_loopback() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            (f.next()? == "127.0.0.1")
                .then(|| f.next().map(str::to_string))
                .flatten()
        })
        .next()
        .expect("/etc/hosts maps no name to 127.0.0.1")
}

/// Three --udp sinks (IPv4, [IPv6], a name from /etc/hosts) each get exactly one datagram,
/// the stdout record of the same run without sinks; nothing is printed.
#[test]
fn udp_to_ipv4_ipv6_and_hosts_name() {
    let (a, pa) = udp_v4();
    let (b, pb) = udp_v6();
    let (c, pc) = udp_v4();
    let name = hosts_name_for_loopback();
    let r = agent(&ok_args(&[
        "--udp",
        &format!("127.0.0.1:{pa}"),
        "--udp",
        &format!("[::1]:{pb}"),
        "--udp",
        &format!("{name}:{pc}"),
    ]));
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "", ""));
    let reference = agent(&ok_args(&[]));
    assert_eq!(reference.code, 0);
    let want = masked(&reference.stdout);
    for (s, what) in [(&a, "IPv4"), (&b, "IPv6"), (&c, "/etc/hosts name")] {
        let got = String::from_utf8(one_datagram(s, what)).unwrap();
        assert_eq!(masked(&got), want, "{what}");
        assert!(whole_record(got.as_bytes()), "{what}: {got:?}");
    }
}

/// `--udp FORMAT:ADDR` sends that format: the same bytes as `--format FORMAT` (timestamps
/// masked).
#[test]
fn udp_with_format_prefix() {
    let (a, pa) = udp_v4();
    let (b, pb) = udp_v6();
    let r = agent(&ok_args(&[
        "--udp",
        &format!("json:127.0.0.1:{pa}"),
        "--udp",
        &format!("influx:[::1]:{pb}"),
    ]));
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "", ""));
    let mask_json = |s: &str| {
        let i = s.find("\"t_ms\":").expect("t_ms") + 7;
        let j = i + s[i..].find(|c: char| !c.is_ascii_digit()).unwrap();
        format!("{}T{}", &s[..i], &s[j..])
    };
    let mask_influx = |s: &str| {
        s.lines()
            .map(|l| l.rsplit_once(' ').unwrap().0.to_string() + " T\n")
            .collect::<String>()
    };
    let json = String::from_utf8(one_datagram(&a, "json")).unwrap();
    assert_eq!(
        mask_json(&json),
        mask_json(&agent(&ok_args(&["--format", "json"])).stdout)
    );
    let influx = String::from_utf8(one_datagram(&b, "influx")).unwrap();
    assert_eq!(
        mask_influx(&influx),
        mask_influx(&agent(&ok_args(&["--format", "influx"])).stdout)
    );
    assert!(influx.lines().count() >= 4);
}

/// Arguments for a `--only service` record of exactly `len` bytes: up to 8 services whose
/// names are padded (the record is deterministic but for t=, whose width is fixed).
fn services_of_length(len: usize) -> Vec<String> {
    let base = |names: &[String]| {
        let mut args = vec!["--only".to_string(), "service".to_string()];
        for n in names {
            args.extend(["--service".to_string(), n.clone()]);
        }
        args
    };
    let names: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    let refs: Vec<String> = base(&names);
    let r = agent(&fixture_args(
        &refs.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let short = r.stdout.len();
    assert!(
        short < len,
        "record of 8 short services is already {short} bytes"
    );
    // Each extra character in a name is one more byte in the record.
    let mut pad = len - short;
    let names: Vec<String> = names
        .iter()
        .map(|n| {
            let add = pad.min(190);
            pad -= add;
            format!("{n}{}", "x".repeat(add))
        })
        .collect();
    assert_eq!(pad, 0, "cannot reach {len} bytes");
    let args = base(&names);
    let r = agent(&fixture_args(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(
        r.stdout.len(),
        len,
        "padding did not give the length: {:?}",
        r.stdout
    );
    args
}

/// 1232 bytes is sent whole; 1233 bytes is an error (exit 3, stderr names --udp) and nothing
/// is received; 8 services with 150-character names likewise.
#[test]
fn udp_payload_limit_is_1232_bytes() {
    let (s, port) = udp_v4();
    let dest = format!("127.0.0.1:{port}");

    let fits = services_of_length(1232);
    let mut args = fixture_args(&fits.iter().map(String::as_str).collect::<Vec<_>>());
    args.extend(["--udp".to_string(), dest.clone()]);
    let r = agent(&args);
    assert_eq!(r.stderr, "");
    assert_eq!(one_datagram(&s, "1232 bytes").len(), 1232);
    assert_eq!(r.code, 2, "the padded services are down: CRITICAL");

    let over = services_of_length(1233);
    let mut args = fixture_args(&over.iter().map(String::as_str).collect::<Vec<_>>());
    args.extend(["--udp".to_string(), dest.clone()]);
    let r = agent(&args);
    assert_sink_failed(&r, "--udp", &dest, "1233 bytes");
    assert_nothing(&s, "1233 bytes");

    let mut args = fixture_args(&[]);
    for i in 0..8 {
        args.extend(["--service".to_string(), format!("{i}{}", "n".repeat(149))]);
    }
    args.extend(["--udp".to_string(), dest.clone()]);
    let r = agent(&args);
    assert_sink_failed(&r, "--udp", &dest, "8 services of 150 characters");
    assert_nothing(&s, "8 services of 150 characters");
}

/// A failing sink does not stop the ones after it: --out into a missing directory fails
/// (exit 3, one stderr line), the --udp after it still delivers.
#[test]
fn failing_sink_does_not_stop_the_next() {
    let (s, port) = udp_v4();
    let dir = TempDir::new("next");
    let good = dir.join("good.rec");
    let bad = "/nonexistent/dir/x";
    let r = agent(&ok_args(&[
        "--out",
        bad,
        "--udp",
        &format!("127.0.0.1:{port}"),
        "--append",
        good.to_str().unwrap(),
    ]));
    assert_sink_failed(&r, "--out", bad, "--out into a missing directory");
    let got = String::from_utf8(one_datagram(&s, "--udp after a failed --out")).unwrap();
    assert!(whole_record(got.as_bytes()));
    assert_eq!(
        std::fs::read_to_string(&good).unwrap(),
        got,
        "--append after a failed --out: the same record"
    );
    assert!(!Path::new("/nonexistent").exists());
}

/// A name /etc/hosts does not list: exit 3, one stderr line naming it; a good --udp given
/// with it still delivers.
#[test]
fn udp_unresolvable_name() {
    let r = run(&[
        "--root",
        &fixture("systemd-ok"),
        "--skip",
        "clock,disk",
        "--udp",
        "no-such-host-xyz:9",
    ]);
    assert_sink_failed(&r, "--udp", "no-such-host-xyz", "unresolvable name");

    let (s, port) = udp_v4();
    let r = run(&[
        "--root",
        &fixture("systemd-ok"),
        "--skip",
        "clock,disk",
        "--udp",
        "no-such-host-xyz:9",
        "--udp",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_sink_failed(
        &r,
        "--udp",
        "no-such-host-xyz",
        "unresolvable name with a good sink",
    );
    assert!(whole_record(&one_datagram(
        &s,
        "good --udp beside an unresolvable one"
    )));
}
