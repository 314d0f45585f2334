//! The kernel's clock discipline state as `adjtimex(modes = 0)` returns it, and how to read it:
//! the `STA_*` flags and the rules the tools people run apply to them. Pure; the probe that
//! makes the call is [`crate::probe::clock`].
//!
//! Two rules decide "synchronized" in the tools people run, and they disagree:
//! - systemd ≥ 243 (`ntp_synced()` in timedated, what `timedatectl` prints as "System clock
//!   synchronized"): `maxerror < 16 s`. It ignores `STA_UNSYNC`, which chrony leaves set unless
//!   `rtcsync` is configured (to keep the kernel's 11-minute mode off the RTC).
//! - node_exporter (`node_timex_sync_status`): the return value is not `TIME_ERROR` (5), which
//!   the kernel returns while `STA_UNSYNC` or `STA_CLOCKERR` is set.
//!
//! The kernel adds 500 µs to maxerror every second (`MAXFREQ`) and, once it passes 16 s
//! (`NTP_PHASE_LIMIT`), caps it and sets `STA_UNSYNC` (`second_overflow()` in
//! `kernel/time/ntp.c`). BusyBox ntpd writes offset, status (`STA_PLL`) and time constant but
//! never maxerror, so on a disciplined BusyBox node both rules say "unsynchronized". The verdict
//! in [`crate::verdict`] therefore also accepts a running BusyBox ntpd with `STA_PLL` set.
//!
//! # References
//! - adjtimex(2); Linux `kernel/time/ntp.c`, `second_overflow()`, `__do_adjtimex()`
//! - systemd `src/timedate/timedated.c`, `ntp_synced()`
//! - node_exporter `collector/timex.go`; BusyBox `networking/ntpd.c`, `update_local_clock()`

/// The fields of `struct timex` the agent reports, widened to fixed-size integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timex {
    /// Return value: `TIME_OK` (0) ... `TIME_ERROR` (5).
    pub state: i32,
    /// `STA_*` flags.
    pub status: i32,
    /// Remaining PLL offset, in µs, or in ns when `STA_NANO` is set.
    pub offset: i64,
    /// Frequency offset in ppm scaled by 2^16.
    pub freq: i64,
    /// Maximum error estimate, µs.
    pub maxerror: i64,
    /// Estimated error, µs.
    pub esterror: i64,
    /// TAI - UTC offset, seconds.
    pub tai: i32,
}

pub const STA_PLL: i32 = 0x0001;
pub const STA_UNSYNC: i32 = 0x0040;
pub const STA_CLOCKERR: i32 = 0x1000;
pub const STA_NANO: i32 = 0x2000;
pub const TIME_ERROR: i32 = 5;
/// `NTP_PHASE_LIMIT`: maxerror is capped here and the clock declared unsynchronized, µs.
pub const MAXERROR_LIMIT_US: i64 = 16_000_000;

/// The remaining PLL offset in µs, honouring `STA_NANO`.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
pub fn offset_us(tx: &Timex) -> i64 {
    if tx.status & STA_NANO != 0 {
        crate::num::div_toward_zero(tx.offset, 1000)
    } else {
        tx.offset
    }
}

/// The frequency offset in parts per billion (`freq` is ppm scaled by 2^16).
pub fn freq_ppb(tx: &Timex) -> i64 {
    crate::num::div_toward_zero(tx.freq.saturating_mul(1000), 65536)
}

/// systemd's rule (`timedatectl`): synchronized iff maxerror < 16 s.
pub fn systemd_synced(tx: &Timex) -> bool {
    tx.maxerror < MAXERROR_LIMIT_US
}

/// node_exporter's rule: synchronized iff adjtimex did not return `TIME_ERROR`.
pub fn node_exporter_synced(tx: &Timex) -> bool {
    tx.state != TIME_ERROR
}

/// The kernel's own flag.
pub fn kernel_unsync(tx: &Timex) -> bool {
    tx.status & STA_UNSYNC != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(state: i32, status: i32, offset: i64, maxerror: i64) -> Timex {
        Timex {
            state,
            status,
            offset,
            freq: -786_432,
            maxerror,
            esterror: 0,
            tai: 37,
        }
    }

    #[test]
    fn units() {
        assert_eq!(offset_us(&tx(0, STA_NANO, 1_500_000, 0)), 1500);
        assert_eq!(offset_us(&tx(0, 0, -1500, 0)), -1500);
        assert_eq!(freq_ppb(&tx(0, 0, 0, 0)), -12_000);
    }

    #[test]
    fn rules_disagree_for_chrony_without_rtcsync() {
        let chrony = tx(TIME_ERROR, STA_PLL | STA_UNSYNC, 20, 150_000);
        assert!(systemd_synced(&chrony));
        assert!(!node_exporter_synced(&chrony));
        assert!(kernel_unsync(&chrony));
    }

    #[test]
    fn this_vm_is_unsynced_by_both_rules() {
        let vm = tx(TIME_ERROR, STA_UNSYNC, 0, 16_000_000);
        assert!(!systemd_synced(&vm));
        assert!(!node_exporter_synced(&vm));
    }
}
