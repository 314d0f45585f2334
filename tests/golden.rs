//! Golden records: every fixture root and a few built records, in every format, compared byte
//! for byte with `tests/golden/NAME.FORMAT`. The wall clock is fixed (and timesyncd's last
//! sync put 60 s before it), the clock and disk checks are skipped on fixture roots (they would
//! be this machine's); the built records carry a clock, disks, history and fixes instead.
//!
//! These run through the library (not the binary), so `cargo mutants` sees a planted bug in
//! the verdict, the model or an encoder. `GOLDEN_UPDATE=1 cargo test --test golden` rewrites
//! the files: review the diff, it is the behaviour change.

use std::path::PathBuf;

use nodepulse::record::*;

/// The run's wall clock in every golden record.
const WALL_MS: u64 = 1_764_000_000_123;

const FORMATS: [(&str, nodepulse::encode::Format); 6] = [
    ("line", nodepulse::encode::Format::Line),
    ("json", nodepulse::encode::Format::Json),
    ("influx", nodepulse::encode::Format::Influx),
    ("prom", nodepulse::encode::Format::Prom),
    ("nagios", nodepulse::encode::Format::Nagios),
    ("text", nodepulse::encode::Format::Text),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The record of `args` run against the fixture root `root`, clock fixed.
fn collect<'a>(cfg: &'a nodepulse::cli::Config<'a>) -> Record<'a> {
    let mut rec = Record::default();
    nodepulse::probe::collect(
        &cfg.plan(),
        &mut rec,
        &mut [0; nodepulse::probe::fs::HOSTS_CAP],
    );
    rec.wall_ms = WALL_MS;
    if let Some(ts) = rec.timesync.as_mut() {
        if let SyncFile::Present { .. } = ts.sync_file {
            ts.sync_file = SyncFile::Present {
                mtime_s: (WALL_MS / 1000) as i64 - 60,
            };
        }
    }
    rec
}

/// What a run adds to its record: the history from the state file and the fixes' outcomes.
#[derive(Default)]
struct Extra {
    history: Option<nodepulse::state::History>,
    fixes: Vec<nodepulse::fix::Fix<'static>>,
}

/// The one place that knows how the library turns a record into bytes: judge, model, encode.
fn encode(
    rec: &Record,
    extra: &Extra,
    t: &nodepulse::verdict::Thresholds,
    format: nodepulse::encode::Format,
) -> (Vec<u8>, u8) {
    let judged = nodepulse::verdict::judge(rec, t);
    let bytes = nodepulse::model::build(
        rec,
        &judged,
        t,
        extra.history.as_ref(),
        &extra.fixes,
        |model| {
            let mut buf = vec![0u8; 65536];
            let mut out = nodepulse::encode::Out::new(&mut buf);
            format.encode(model, &mut out);
            out.finish().expect("fits").to_vec()
        },
    );
    (bytes, judged.exit_code())
}

/// Compares (or with `GOLDEN_UPDATE=1` writes) every format of `rec`; the exit code is the
/// first line of the `.code` file.
fn check(
    name: &str,
    rec: &Record,
    extra: &Extra,
    t: &nodepulse::verdict::Thresholds,
) -> Vec<String> {
    let dir = repo().join("tests/golden");
    let update = std::env::var_os("GOLDEN_UPDATE").is_some();
    let mut wrong = Vec::new();
    let mut code = 0;
    for (ext, format) in FORMATS {
        let (bytes, c) = encode(rec, extra, t, format);
        code = c;
        let path = dir.join(format!("{name}.{ext}"));
        if update {
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if want != bytes {
                wrong.push(format!(
                    "{}:\n  want {}\n  got  {}",
                    path.display(),
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&bytes)
                ));
            }
        }
    }
    let path = dir.join(format!("{name}.code"));
    let text = format!("{code}\n");
    if update {
        std::fs::write(&path, &text).unwrap();
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        wrong.push(format!("{}: exit code {code}", path.display()));
    }
    wrong
}

fn fixture(name: &str) -> String {
    let root = repo().join("tests/fixtures").join(name);
    root.to_string_lossy().into_owned()
}

/// (golden name, fixture root, flags)
const SCENARIOS: &[(&str, &str, &[&str])] = &[
    (
        "systemd-ok",
        "systemd-ok",
        &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "chrony",
        ],
    ),
    (
        "systemd-ghost",
        "systemd-ghost",
        &["--user-service", "node:openclaw-node"],
    ),
    (
        "systemd-linger-off",
        "systemd-linger-off",
        &[
            "--user-service",
            "node:openclaw-node",
            "--service",
            "openclaw-node",
            "--user",
            "watch",
        ],
    ),
    (
        "systemd-linger-watch-only",
        "systemd-linger-off",
        &["--user", "node", "--only", "linger"],
    ),
    (
        "busybox",
        "busybox",
        &["--user", "node", "--service", "openclaw-node"],
    ),
    (
        "busybox-down",
        "busybox-down",
        &["--service", "openclaw-node", "--only", "service,timesync"],
    ),
    (
        "broken",
        "broken",
        &["--user-service", "node:openclaw-node"],
    ),
    (
        "systemd-transitions",
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
            "np-stopping",
            "--service",
            "np-restart",
        ],
    ),
    (
        "missing-root",
        "does-not-exist",
        &["--service", "x", "--user", "node"],
    ),
];

#[test]
fn fixture_roots_in_every_format() {
    let mut wrong = Vec::new();
    for (name, root, flags) in SCENARIOS {
        let root = fixture(root);
        let mut argv: Vec<&[u8]> = vec![
            b"nodepulse",
            b"--root",
            root.as_bytes(),
            b"--skip",
            b"clock,disk",
        ];
        argv.extend(flags.iter().map(|f| f.as_bytes()));
        let cfg = match nodepulse::cli::parse(&argv, None).unwrap() {
            nodepulse::cli::Command::Run(cfg) => cfg,
            other => panic!("{other:?}"),
        };
        let rec = collect(&cfg);
        wrong.extend(check(name, &rec, &Extra::default(), &cfg.thresholds));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn timex(state: i32, status: i32, offset: i64, maxerror: i64) -> Timex {
    Timex {
        state,
        status,
        offset,
        freq: -1_234_567,
        maxerror,
        esterror: 2_500,
        tai: 37,
    }
}

fn disk(path: &'static [u8], used_pct: u8, inodes: Option<u8>) -> Disk<'static> {
    Disk {
        path,
        stat: Ok(DiskStat {
            size_b: 8 << 30,
            avail_b: (8u64 << 30) / 100 * (100 - u64::from(used_pct)),
            used_pct,
            inodes_used_pct: inodes,
            read_only: path == b"/boot",
        }),
    }
}

fn system() -> System {
    System {
        kernel: Some(Word::from_slice(b"6.1.0-28-arm64").unwrap()),
        uptime_s: Some(86_400),
        load: Some([12, 34, 156]),
        boot_id: Some(*b"0b6f3a1c2d4e4f5a8b9c0d1e2f3a4b5c"),
    }
}

/// A record with every check and every kind of value: what the fixture roots cannot give.
fn full(clock: Clock, daemon: Daemon, disks: &[Disk<'static>]) -> Record<'static> {
    let mut users = heapless::Vec::new();
    users
        .push(User {
            name: b"node",
            uid: Some(1000),
            linger: Linger::On,
            login: Login::State(nodepulse::parse::logind::LoginState::Lingering),
            needs_linger: true,
        })
        .unwrap();
    users
        .push(User {
            name: b"claw",
            uid: Some(1001),
            linger: Linger::Off,
            login: Login::Unknown,
            needs_linger: true,
        })
        .unwrap();
    users
        .push(User {
            name: b"ghost",
            uid: None,
            linger: Linger::Off,
            login: Login::Unknown,
            needs_linger: false,
        })
        .unwrap();
    let mut services = heapless::Vec::new();
    for (user, name, active, via, pid, start_cs) in [
        (
            Some(&b"node"[..]),
            &b"openclaw-node"[..],
            Active::Yes,
            Via::Invocation,
            Some(812),
            Some(98_765),
        ),
        (
            None,
            b"systemd-fsck@dev-disk-by\\x2dlabel-data.service",
            Active::No,
            Via::Cgroup,
            None,
            None,
        ),
        (None, b"chrony", Active::Unknown, Via::None, None, None),
        (
            None,
            b"crond",
            Active::Yes,
            Via::Process,
            Some(77),
            Some(150),
        ),
    ] {
        services
            .push(Service {
                user,
                name,
                active,
                via,
                pid,
                start_cs,
                link_ino: None,
            })
            .unwrap();
    }
    Record {
        host: Some(Word::from_slice(b"edge-17").unwrap()),
        wall_ms: WALL_MS,
        system: Some(system()),
        clock: Some(clock),
        timesync: Some(Timesync {
            daemon,
            sync_file: SyncFile::Present {
                mtime_s: (WALL_MS / 1000) as i64 - 9000,
            },
        }),
        users: Some(users),
        services: Some(services),
        disks: Some(heapless::Vec::from_slice(disks).unwrap()),
        memory: Some(Memory {
            stat: Some(MemStat {
                total_kb: 1_000_000,
                avail_kb: 80_000,
                avail_estimated: true,
                swap_total_kb: 102_400,
                swap_free_kb: 99_000,
            }),
        }),
        timed_out: false,
    }
}

const STA_PLL: i32 = 0x0001;
const STA_UNSYNC: i32 = 0x0040;
const STA_NANO: i32 = 0x2000;
const TIME_ERROR: i32 = 5;

#[test]
fn built_records_in_every_format() {
    let t = nodepulse::verdict::Thresholds::default();
    let mut wrong = Vec::new();
    let disks = [
        disk(b"/", 50, Some(20)),
        disk(b"/data", 93, Some(96)),
        disk(b"/boot", 97, None),
    ];

    // Synced under timesyncd, warning offset; history of a second run after a reboot.
    let synced = Clock {
        timex: Ok(timex(0, STA_PLL | STA_NANO, 150_000_000, 20_000)),
        sntp: None,
    };
    let rec = full(synced, Daemon::Timesyncd, &disks);
    let mut services = [nodepulse::state::ServiceHistory {
        restarted: false,
        down_since_ms: None,
    }; MAX_SERVICES];
    services[0].restarted = true;
    services[1].down_since_ms = Some(WALL_MS - 3_600_000);
    let history = Some(nodepulse::state::History {
        seq: 42,
        prev: Ok(nodepulse::state::Prev {
            gap_ms: 3_601_500,
            rebooted: true,
        }),
        clock_bad_since_ms: None,
        services,
        save_error: None,
    });
    wrong.extend(check(
        "full-synced",
        &rec,
        &Extra {
            history,
            fixes: vec![],
        },
        &t,
    ));

    // Unsynchronized (this VM's kernel state), a failed save, the fixes planned and run.
    let unsynced = Clock {
        timex: Ok(timex(TIME_ERROR, STA_UNSYNC, 0, 16_000_000)),
        sntp: None,
    };
    let rec = full(unsynced, Daemon::None, &disks[..1]);
    let history = Some(nodepulse::state::History {
        seq: 1,
        prev: Err(nodepulse::state::Problem::Corrupt),
        clock_bad_since_ms: Some(WALL_MS - 120_000),
        services: [nodepulse::state::ServiceHistory {
            restarted: false,
            down_since_ms: None,
        }; MAX_SERVICES],
        save_error: Some(nodepulse::sink::SinkError::new(
            nodepulse::sink::Step::Write,
            rustix::io::Errno::NOSPC,
        )),
    });
    let mut fixes = Vec::new();
    use nodepulse::fix::{Fix, Outcome, Step};
    for (step, user, outcome) in [
        (Step::EnableLinger, Some(&b"claw"[..]), Outcome::Ran(0)),
        (Step::EnableLinger, Some(&b"node"[..]), Outcome::NoSystemd),
        (Step::RestartTimesyncd, None, Outcome::DryRun),
        (Step::SetNtp, None, Outcome::Timeout),
    ] {
        fixes.push(Fix {
            step,
            user,
            outcome,
        });
    }
    wrong.extend(check("full-unsynced", &rec, &Extra { history, fixes }, &t));

    // BusyBox ntpd with the PLL on; maxerror at its cap does not count. A run cut short.
    let busybox = Clock {
        timex: Ok(timex(TIME_ERROR, STA_PLL | STA_UNSYNC, -300, 16_000_000)),
        sntp: None,
    };
    let mut rec = full(
        busybox,
        Daemon::BusyboxNtpd,
        &[
            disk(b"/", 10, Some(1)),
            Disk {
                path: b"/nfs",
                stat: Err(nodepulse::record::TIMED_OUT),
            },
        ],
    );
    rec.timed_out = true;
    rec.users = None;
    wrong.extend(check("full-busybox-timeout", &rec, &Extra::default(), &t));

    // An SNTP measurement decides the clock; adjtimex failed; memory unreadable.
    let reply = nodepulse::parse::sntp::Reply {
        leap: 0,
        version: 4,
        stratum: 2,
        offset_ns: -1_500_000_000,
        delay_ns: 2_345_678,
    };
    let measured = Clock {
        timex: Err(1),
        sntp: Some(Ok(reply)),
    };
    let mut rec = full(
        measured,
        Daemon::Chronyd,
        &[Disk {
            path: b"/",
            stat: Err(13),
        }],
    );
    rec.memory = Some(Memory { stat: None });
    rec.system = None;
    wrong.extend(check("full-sntp", &rec, &Extra::default(), &t));

    // An SNTP failure, and names that need escaping in every format.
    let failed = Clock {
        timex: Ok(timex(0, STA_PLL, 5, 1_000)),
        sntp: Some(Err(nodepulse::record::SntpFailure::Timeout)),
    };
    let mut rec = full(
        failed,
        Daemon::Ntpd,
        &[disk(b"/mnt/my disk,=\"x\"\\", 40, Some(40))],
    );
    rec.host = Some(Word::from_slice(b"edge \"17\",=\\\xff").unwrap());
    wrong.extend(check("full-escapes", &rec, &Extra::default(), &t));

    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every field the model knows reaches every structured format under its name: a kind an
/// encoder forgot (the run's history, a fix step) fails here, whatever its golden file says.
#[test]
fn every_known_field_reaches_every_structured_format() {
    use nodepulse::encode::Format;
    use nodepulse::fix::{Fix, Outcome, Step};
    let t = nodepulse::verdict::Thresholds::default();
    let clock = Clock {
        timex: Ok(timex(0, STA_PLL | STA_NANO, 150_000_000, 20_000)),
        sntp: None,
    };
    let rec = full(clock, Daemon::Timesyncd, &[disk(b"/", 50, Some(20))]);
    let history = |prev| nodepulse::state::History {
        seq: 7,
        prev,
        clock_bad_since_ms: Some(WALL_MS - 1),
        services: [nodepulse::state::ServiceHistory {
            restarted: true,
            down_since_ms: Some(WALL_MS - 2),
        }; MAX_SERVICES],
        save_error: Some(nodepulse::sink::SinkError::new(
            nodepulse::sink::Step::Write,
            rustix::io::Errno::NOSPC,
        )),
    };
    let fixes = [
        Fix {
            step: Step::EnableLinger,
            user: Some(&b"claw"[..]),
            outcome: Outcome::Ran(1),
        },
        Fix {
            step: Step::SetNtp,
            user: None,
            outcome: Outcome::DryRun,
        },
    ];
    let prevs = [
        Ok(nodepulse::state::Prev {
            gap_ms: 61_000,
            rebooted: true,
        }),
        Err(nodepulse::state::Problem::Foreign),
    ];
    let mut checked = 0;
    for prev in prevs {
        let h = history(prev);
        let judged = nodepulse::verdict::judge(&rec, &t);
        nodepulse::model::build(&rec, &judged, &t, Some(&h), &fixes, |model| {
            let text = |format: Format| {
                let mut buf = vec![0u8; 65536];
                let mut out = nodepulse::encode::Out::new(&mut buf);
                format.encode(model, &mut out);
                String::from_utf8(out.finish().expect("fits").to_vec()).unwrap()
            };
            let (json, influx, prom) =
                (text(Format::Json), text(Format::Influx), text(Format::Prom));
            let kinds: Vec<&str> = model.sections.iter().map(|c| c.kind.check).collect();
            for want in ["node", "run", "clock", "service", "disk", "fix"] {
                assert!(
                    kinds.contains(&want),
                    "the model has a {want} section: {kinds:?}"
                );
            }
            for c in &model.sections {
                for (spec, _) in c.fields().filter(|(_, v)| !v.is_null()) {
                    let (name, metric) = (spec.name(), spec.prom());
                    if !name.is_empty() {
                        assert!(
                            json.contains(&format!("\"{name}\":")),
                            "{} {name} missing from JSON: {json}",
                            c.kind.check
                        );
                        assert!(
                            influx.contains(&format!(",{name}="))
                                || influx.contains(&format!(" {name}=")),
                            "{} {name} missing from InfluxDB: {influx}",
                            c.kind.check
                        );
                    }
                    if !metric.is_empty() {
                        assert!(
                            prom.contains(&format!("\nnodepulse_{metric}")),
                            "{} {metric} missing from Prometheus: {prom}",
                            c.kind.check
                        );
                    }
                    assert!(
                        !(name.is_empty() && metric.is_empty()),
                        "a field no format writes"
                    );
                    checked += 1;
                }
            }
        });
    }
    assert!(checked > 60, "{checked} known values checked");
}
