//! The `memory` check: `/proc/meminfo` (first 8 KiB; the keys read sit in its first lines).

use super::fs::Root;
use crate::parse::meminfo;
use crate::record::{MemStat, Memory};

#[inline(never)] // out of line: measured smaller on i686 and x86_64
pub fn probe(root: &Root) -> Memory {
    let mut buf = [0u8; 8192];
    let Ok(bytes) = root.read(&[b"proc/meminfo"], &mut buf) else {
        return Memory { stat: None };
    };
    let info = meminfo::parse(bytes);
    let stat = (|| {
        let (avail_kb, avail_estimated) = info.available_or_estimate()?;
        Some(MemStat {
            total_kb: info.total_kb.filter(|&t| t > 0)?,
            avail_kb,
            avail_estimated,
            swap_total_kb: info.swap_total_kb.unwrap_or(0),
            swap_free_kb: info.swap_free_kb.unwrap_or(0),
        })
    })();
    Memory { stat }
}
