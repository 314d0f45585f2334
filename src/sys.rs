//! `adjtimex`—reads the kernel's clock discipline state. The one call rustix does not wrap.
//!
//! Called with `modes = 0`, which only reads: the kernel checks `CAP_SYS_TIME` only when
//! `modes != 0` (`kernel/time/timekeeping.c`, `do_adjtimex()` → `ntp_validate_timex()`), so any
//! user may call it. This is the only module besides the binary's `main` shim with `unsafe`.
//!
//! # References
//! - adjtimex(2)
//! - Linux `kernel/time/ntp.c`, `__do_adjtimex()`

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

/// `struct timex` as the `adjtimex` system call takes it (`include/uapi/linux/timex.h`): every
/// field a C `long` or `int`, on 32- and 64-bit CPUs alike. Calling the system call directly
/// spares musl's 32-bit wrapper, which converts a 64-bit-time copy (1 KiB of code on i686).
#[repr(C)]
struct KernelTimex {
    modes: core::ffi::c_uint,
    offset: core::ffi::c_long,
    freq: core::ffi::c_long,
    maxerror: core::ffi::c_long,
    esterror: core::ffi::c_long,
    status: core::ffi::c_int,
    constant: core::ffi::c_long,
    precision: core::ffi::c_long,
    tolerance: core::ffi::c_long,
    time: [core::ffi::c_long; 2],
    tick: core::ffi::c_long,
    ppsfreq: core::ffi::c_long,
    jitter: core::ffi::c_long,
    shift: core::ffi::c_int,
    stabil: core::ffi::c_long,
    jitcnt: core::ffi::c_long,
    calcnt: core::ffi::c_long,
    errcnt: core::ffi::c_long,
    stbcnt: core::ffi::c_long,
    tai: core::ffi::c_int,
    padding: [core::ffi::c_int; 11],
}

/// Reads the clock state; on failure returns the errno.
pub fn read_timex() -> Result<Timex, i32> {
    // SAFETY: `KernelTimex` is plain integers, for which all-zero is valid (modes = 0: read only).
    let mut tx: KernelTimex = unsafe { core::mem::zeroed() };
    // SAFETY: `tx` is a valid, exclusively borrowed `struct timex` of the kernel's layout for the
    // duration of the call; `adjtimex` with modes = 0 only writes into it.
    let state = unsafe { libc::syscall(libc::SYS_adjtimex, &mut tx as *mut KernelTimex) };
    if state < 0 {
        // SAFETY: `__errno_location` returns this thread's errno slot, valid to read.
        return Err(unsafe { *libc::__errno_location() });
    }
    Ok(Timex {
        state: state as i32,
        status: tx.status,
        offset: tx.offset as i64,
        freq: tx.freq as i64,
        maxerror: tx.maxerror as i64,
        esterror: tx.esterror as i64,
        tai: tx.tai,
    })
}

/// Standard output. If the process was started with fd 1 closed, writes fail (`EBADF`) or go
/// to whatever the kernel put there; the agent opens files read-only, so nothing is damaged.
pub fn stdout() -> rustix::fd::BorrowedFd<'static> {
    // SAFETY: fd 1 is only borrowed for writes; an invalid fd yields an error, not UB in
    // the kernel interface rustix wraps.
    unsafe { rustix::stdio::stdout() }
}

/// Standard error, as [`stdout`].
pub fn stderr() -> rustix::fd::BorrowedFd<'static> {
    // SAFETY: as in `stdout`.
    unsafe { rustix::stdio::stderr() }
}

extern "C" {
    /// inet_pton(3), in musl and glibc; the libc crate does not declare it.
    fn inet_pton(
        af: core::ffi::c_int,
        src: *const core::ffi::c_char,
        dst: *mut core::ffi::c_void,
    ) -> core::ffi::c_int;
}

/// Parses an IPv4 (`a.b.c.d`) or IPv6 literal with musl's `inet_pton` (already linked for the
/// start-up code; core's parser costs 3 KiB of code).
pub fn parse_ip(text: &[u8]) -> Option<core::net::IpAddr> {
    let mut buf = [0u8; 64];
    let c = buf.get_mut(..text.len())?;
    c.copy_from_slice(text);
    if text.contains(&0) {
        return None;
    }
    let mut addr = [0u8; 16];
    for (family, len) in [(libc::AF_INET, 4), (libc::AF_INET6, 16)] {
        // SAFETY: `buf` is NUL-terminated (zeroed past `text`, which has no NUL), `addr` has room
        // for an in6_addr (16 bytes), the largest result.
        if unsafe { inet_pton(family, buf.as_ptr().cast(), addr.as_mut_ptr().cast()) } == 1 {
            return Some(if len == 4 {
                core::net::IpAddr::from([addr[0], addr[1], addr[2], addr[3]])
            } else {
                core::net::IpAddr::from(addr)
            });
        }
    }
    None
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970), from
/// `clock_gettime(CLOCK_REALTIME)`. musl answers from the vDSO without a syscall; rustix's own
/// vDSO lookup would first ask the kernel for the auxiliary vector (`prctl(PR_GET_AUXV)`).
pub fn wall_ms() -> u64 {
    // SAFETY: all-zero is a valid `timespec`.
    let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
    // SAFETY: `ts` is a valid, exclusively borrowed `timespec`.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) } != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let ms = u64::try_from(ts.tv_nsec / 1_000_000).unwrap_or(0);
    secs.saturating_mul(1000).saturating_add(ms)
}
