//! The command line: input split on NUL bytes into argv (argv[0] included).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::cli::{self, Command};

fuzz_target!(|data: &[u8]| {
    let args: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let _ = cli::config_path(&args);
    for bytes in [None, Some(&b""[..]), Some(&b"mount = /a\nuser = node\nudp = 127.0.0.1:9\n"[..])] {
        let file = bytes.map(|bytes| cli::ConfigFile { path: b"fuzz.conf", bytes });
        match cli::parse(&args, file) {
            Ok(Command::Run(cfg)) => {
                assert!(!cfg.mounts.is_empty());
                assert!(cfg.sinks.len() <= cli::MAX_SINKS);
            }
            Err(e) => {
                let mut buf = [0u8; 1024];
                e.write(&mut nodepulse::encode::Out::new(&mut buf));
            }
            Ok(_) => {}
        }
    }
});
