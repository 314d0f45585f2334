//! The config file (`key = value` lines) under a fixed command line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::cli::{self, Command};

fn check(cmd: &Result<Command<'_>, cli::CliError<'_>>) {
    if let Err(e) = cmd {
        // Any error's message is written without a panic, also into a buffer too small for it.
        let mut buf = [0u8; 64];
        e.write(&mut nodepulse::encode::Out::new(&mut buf));
    }
    if let Ok(Command::Run(cfg)) = cmd {
        assert!(!cfg.mounts.is_empty());
        assert!(!cfg.root.is_empty());
        let t = &cfg.thresholds;
        assert!(t.disk_free_warn_pct >= t.disk_free_crit_pct);
        assert!(t.mem_avail_warn_pct >= t.mem_avail_crit_pct);
    }
}

fuzz_target!(|data: &[u8]| {
    let file = Some(cli::ConfigFile { path: b"fuzz.conf", bytes: data });
    check(&cli::parse(&[b"nodepulse"], file));
    check(&cli::parse(
        &[
            b"nodepulse",
            b"--root",
            b"/srv/fixture",
            b"--user-service",
            b"node:openclaw-node",
            b"--mount=/data",
        ],
        file,
    ));
});
