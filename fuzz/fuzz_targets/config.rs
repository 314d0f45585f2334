//! The config file (`key = value` lines) under a fixed command line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::cli::{self, Command};

fn check(cmd: &Result<Command<'_>, cli::CliError<'_>>) {
    if let Ok(Command::Run(cfg)) = cmd {
        assert!(!cfg.mounts.is_empty());
        assert!(!cfg.root.is_empty());
        let t = &cfg.thresholds;
        assert!(t.disk_free_warn_pct >= t.disk_free_crit_pct);
        assert!(t.mem_avail_warn_pct >= t.mem_avail_crit_pct);
    }
}

fuzz_target!(|data: &[u8]| {
    check(&cli::parse(&[b"nodepulse"], Some(data)));
    check(&cli::parse(
        &[
            b"nodepulse",
            b"--root",
            b"/srv/fixture",
            b"--user-service",
            b"node:openclaw-node",
            b"--mount=/data",
        ],
        Some(data),
    ));
});
