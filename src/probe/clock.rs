//! `adjtimex`—reads the kernel's clock discipline state (through [`crate::sys::read_timex`]).
//! What the state means is in [`crate::kernel`].

use crate::record::Clock;

/// Reads the kernel's clock state (the SNTP measurement, if any, is added by the caller).
pub fn probe() -> Clock {
    Clock {
        timex: crate::sys::read_timex(),
        sntp: None,
    }
}
