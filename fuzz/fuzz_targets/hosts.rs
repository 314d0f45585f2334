//! /etc/hosts lookup and `--udp ADDR:PORT` resolution: input = TARGET \0 HOSTS.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nodepulse::parse::hosts;
use nodepulse::parse::addr;

fuzz_target!(|data: &[u8]| {
    let (target, file) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    if let Some(file) = file {
        let _ = hosts::find(file, target);
        // The target's host part as a name, too.
        let name = target.split(|&b| b == b':').next().unwrap_or(&[]);
        let _ = hosts::find(file, name);
    }
    let _ = hosts::find(data, b"localhost");
    if let Ok(addr) = addr::resolve(target, file) {
        assert_ne!(addr.port(), 0);
    }
    let _ = addr::resolve(target, None);
    let _ = addr::resolve(data, Some(b""));
});
