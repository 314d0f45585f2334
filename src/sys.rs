//! `adjtimex`—reads the kernel's clock discipline state. The one call rustix does not wrap.
//!
//! Called with `modes = 0`, which only reads: the kernel checks `CAP_SYS_TIME` only when
//! `modes != 0` (`kernel/time/timekeeping.c`, `do_adjtimex()` → `ntp_validate_timex()`), so any
//! user may call it. This is the only module besides the binary's `main` shim with `unsafe`.
//!
//! # References
//! - adjtimex(2)
//! - Linux `kernel/time/ntp.c`, `__do_adjtimex()`

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

use crate::kernel::Timex;

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

/// Milliseconds since the Unix epoch (0 if the clock is before 1970), from
/// `clock_gettime(CLOCK_REALTIME)`.
pub fn wall_ms() -> u64 {
    wall_ns() / 1_000_000
}

/// Nanoseconds since the Unix epoch (0 before 1970), for SNTP's timestamps.
pub fn wall_ns() -> u64 {
    clock_ns(true)
}

/// Monotonic milliseconds, for the run's deadline.
pub fn monotonic_ms() -> u64 {
    clock_ns(false) / 1_000_000
}

/// Both clocks from the vDSO, without a system call. musl's lookup on x86_64, ARM; on i686,
/// rustix's, which it already links to reach `__kernel_vsyscall` (musl's would be a second
/// copy, 600 bytes); it first asks the kernel for the auxiliary vector (`prctl(PR_GET_AUXV)`).
fn clock_ns(realtime: bool) -> u64 {
    #[cfg(target_arch = "x86")]
    let (secs, nanos) = {
        use rustix::time::{clock_gettime, ClockId};
        let ts = clock_gettime(if realtime { ClockId::Realtime } else { ClockId::Monotonic });
        (ts.tv_sec, ts.tv_nsec)
    };
    #[cfg(not(target_arch = "x86"))]
    let (secs, nanos) = {
        // SAFETY: all-zero is a valid `timespec`.
        let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
        let id = if realtime { libc::CLOCK_REALTIME } else { libc::CLOCK_MONOTONIC };
        // SAFETY: `ts` is a valid, exclusively borrowed `timespec`.
        if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
            return 0;
        }
        (ts.tv_sec, ts.tv_nsec)
    };
    let secs = u64::try_from(secs).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(u64::try_from(nanos).unwrap_or(0))
}

/// Waits at most `ms` for `fd` to become readable; `false` on timeout, EINTR or error (the
/// callers go round their deadline loop again).
pub fn poll_readable(fd: rustix::fd::BorrowedFd, ms: u64) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let nap = rustix::event::Timespec { tv_sec: (ms / 1000) as _, tv_nsec: ((ms % 1000) * 1_000_000) as _ };
    matches!(poll(&mut fds, Some(&nap)), Ok(n) if n > 0)
}

/// A close-on-exec UDP socket of `addr`'s family: the `--udp` sink's and the SNTP client's.
pub fn udp_socket(addr: &core::net::SocketAddr) -> Result<rustix::fd::OwnedFd, rustix::io::Errno> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    rustix::net::socket_with(family, SocketType::DGRAM, SocketFlags::CLOEXEC, None)
}

/// How a job given to [`each_with_deadline`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every step ran before the deadline.
    Finished,
    /// It did not: the child was sent SIGKILL and abandoned (a process asleep in a dead NFS
    /// server's `statvfs` cannot be woken by any signal, so nothing waits for it).
    TimedOut,
}

/// Results published by [`each_with_deadline`]'s steps, one slot per step, in memory shared
/// with the child that runs them.
pub struct Slots<T, const N: usize> {
    items: [core::mem::MaybeUninit<T>; N],
    done: core::sync::atomic::AtomicUsize,
}

impl<T: Copy, const N: usize> Slots<T, N> {
    const fn new() -> Self {
        Slots {
            items: [const { core::mem::MaybeUninit::uninit() }; N],
            done: core::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Step `i`'s result, if it was published.
    pub fn get(&self, i: usize) -> Option<T> {
        let done = self.published();
        // SAFETY: every slot below `done` was initialised before `done` was raised past it
        // (Release/Acquire), and is never written again.
        self.items
            .get(..done)?
            .get(i)
            .map(|v| unsafe { v.assume_init() })
    }

    /// How many steps published their result.
    fn published(&self) -> usize {
        self.done.load(core::sync::atomic::Ordering::Acquire).min(N)
    }

    /// Runs the steps, publishing each result before the next starts.
    fn run<C>(&mut self, ctx: &C, count: usize, step: fn(&C, usize) -> T) {
        for i in 0..count.min(N) {
            if let Some(slot) = self.items.get_mut(i) {
                *slot = core::mem::MaybeUninit::new(step(ctx, i));
                self.done
                    .store(i + 1, core::sync::atomic::Ordering::Release);
            }
        }
    }
}

/// Runs `step(ctx, 0..count)` in a child process (a plain `fork` through `clone`) that
/// publishes each result in a page shared with this process (`mmap(MAP_SHARED)`), and waits
/// for it until `deadline_ms` (monotonic; `poll` on the child's pidfd, `CLONE_PIDFD`, Linux
/// 5.2; without one, `waitpid` every 10 ms). Then returns `then(how it ended, results)`.
/// After a timeout the child is sent SIGKILL and abandoned; it may still publish later, so
/// `then` reads only what is published. When `mmap` or `clone` fails (memory, process limit),
/// the steps run here without a deadline.
///
/// The child closes its copies of fds 0-2 first (`close_range`, Linux 5.9; one by one
/// before), so that a reader waiting for the end of the agent's output (NRPE, a shell pipe) is
/// not held open by a child stuck in the kernel.
///
/// Cost in the normal case: `mmap`, `clone` and `poll` here, `close_range` and `exit_group`
/// there. (A `CLONE_VM` child would spare the `mmap`, but it needs its own stack and musl's
/// `clone`, ~900 bytes of code, and qemu-user refuses it.)
pub fn each_with_deadline<C, T: Copy, const N: usize>(
    ctx: &C,
    count: usize,
    step: fn(&C, usize) -> T,
    deadline_ms: u64,
    then: impl FnOnce(Ended, &Slots<T, N>) -> u8,
) -> u8 {
    if count == 0 {
        return then(Ended::Finished, &Slots::new());
    }
    let size = core::mem::size_of::<Slots<T, N>>();
    // SAFETY: a fresh anonymous shared mapping, not aliased by anything else.
    let page = unsafe {
        use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
        let prot = ProtFlags::READ | ProtFlags::WRITE;
        mmap_anonymous(core::ptr::null_mut(), size, prot, MapFlags::SHARED)
    };
    let slots = match page {
        Ok(p) if !p.is_null() => p.cast::<Slots<T, N>>(),
        _ => {
            let mut here = Slots::new();
            here.run(ctx, count, step);
            return then(Ended::Finished, &here);
        }
    };
    // SAFETY: the mapping is page-aligned (enough for any `Slots`), `size` bytes long and
    // writable; it is never unmapped, so the reference below lives as long as the process.
    unsafe { slots.write(Slots::new()) };
    let child = fork();
    if let Some((0, _)) = child {
        close_stdio();
        // SAFETY: in the child, the shared mapping is written by this process only.
        unsafe { (*slots).run(ctx, count, step) };
        exit_now(0);
    }
    // SAFETY: from here on the mapping is only read through `&` (the child writes its slots
    // before publishing them with a Release store; `get` reads only published slots).
    let shared = unsafe { &*slots };
    let Some((pid, pidfd)) = child else {
        // SAFETY: no child exists; this process is the only writer.
        unsafe { (*slots).run(ctx, count, step) };
        return then(Ended::Finished, shared);
    };
    match wait_child(pid, pidfd, deadline_ms, false) {
        Some(_) => then(Ended::Finished, shared),
        None => then(Ended::TimedOut, shared),
    }
}

/// `fork(2)` through `clone` (musl's `fork` would also run its at-fork machinery): `Some((0,
/// _))` in the child; in the parent the child's pid and, when the kernel (5.2) and qemu-user
/// allow `CLONE_PIDFD`, a pidfd left open until exit (a `close` would cost a system call);
/// `None` when it failed.
fn fork() -> Option<(i32, Option<rustix::fd::BorrowedFd<'static>>)> {
    let mut pidfd: core::ffi::c_int = -1;
    // SAFETY: clone(SIGCHLD [| CLONE_PIDFD]) with no new stack is fork(2) that also stores a
    // pidfd in `pidfd` (the third argument on every Linux ABI). The child gets a copy of this
    // single-threaded process.
    let clone = |flags: core::ffi::c_int, pidfd: &mut core::ffi::c_int| unsafe {
        libc::syscall(libc::SYS_clone, flags as libc::c_long, 0usize, pidfd as *mut core::ffi::c_int, 0usize, 0usize)
    };
    let mut pid = clone(libc::SIGCHLD | libc::CLONE_PIDFD, &mut pidfd);
    if pid < 0 {
        // qemu-user 7 refuses CLONE_PIDFD (EINVAL): a plain fork, waited for by polling.
        pidfd = -1;
        pid = clone(libc::SIGCHLD, &mut pidfd);
    }
    // SAFETY: the kernel stored a new file descriptor this process owns and never closes; -1
    // (a kernel older than 5.2 ignores the flag) gives `None`.
    let pidfd = (pid > 0 && pidfd >= 0).then(|| unsafe { rustix::fd::BorrowedFd::borrow_raw(pidfd) });
    (pid >= 0).then_some((pid as i32, pidfd))
}

/// Waits for the child `pid` until `deadline_ms` (monotonic): `Some(exit code)` (`reap`: the
/// code from `waitpid`, else 0) when it ended, `None` when the deadline passed: the child is
/// then sent SIGKILL and abandoned.
fn wait_child(pid: i32, pidfd: Option<rustix::fd::BorrowedFd>, deadline_ms: u64, reap: bool) -> Option<i32> {
    use rustix::process::{waitpid, Pid, WaitOptions};
    let pid = Pid::from_raw(pid)?;
    let code = |status: rustix::process::WaitStatus| {
        status.exit_status().map_or(128 + status.terminating_signal().unwrap_or(0), |c| c)
    };
    loop {
        let left = deadline_ms.saturating_sub(monotonic_ms());
        match pidfd {
            Some(fd) => {
                if poll_readable(fd, left) {
                    if !reap {
                        return Some(0);
                    }
                    return Some(waitpid(Some(pid), WaitOptions::empty()).ok().flatten().map_or(-1, |(_, st)| code(st)));
                }
            }
            // No pidfd: ask every 10 ms.
            None => {
                if let Ok(Some((_, status))) = waitpid(Some(pid), WaitOptions::NOHANG) {
                    return Some(code(status));
                }
                if left > 0 {
                    let _ = rustix::thread::nanosleep(&rustix::thread::Timespec { tv_sec: 0, tv_nsec: 10_000_000 });
                }
            }
        }
        if left == 0 {
            // The child, and the process group a `run_program` child leads (a script's own
            // children hold our output open otherwise).
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            return None;
        }
    }
}

/// Most arguments of a [`run_program`] command, program included.
pub const MAX_ARGV: usize = 4;
const ARG_CAP: usize = 320;

/// Why a program could not give an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramError {
    /// An argument too long or holding a NUL, or too many.
    Argument,
    /// `fork` failed.
    Fork,
    /// Still running at the deadline: killed.
    Timeout,
}

/// Runs `argv[0]` (an absolute path; no shell, no `PATH` search) with `argv` and a minimal
/// environment, its stdout sent to our stderr (our stdout carries the record), and waits for
/// it until `deadline_ms` (monotonic). Returns its exit code (127: it could not be executed; 128 + N: killed by
/// signal N).
pub fn run_program(argv: &[&[u8]], deadline_ms: u64) -> Result<i32, ProgramError> {
    let mut bufs = [[0u8; ARG_CAP]; MAX_ARGV];
    let mut ptrs: [*const core::ffi::c_char; MAX_ARGV + 1] = [core::ptr::null(); MAX_ARGV + 1];
    if argv.is_empty() || argv.len() > MAX_ARGV {
        return Err(ProgramError::Argument);
    }
    for ((arg, buf), ptr) in argv.iter().zip(bufs.iter_mut()).zip(ptrs.iter_mut()) {
        if arg.len() >= ARG_CAP || arg.contains(&0) {
            return Err(ProgramError::Argument);
        }
        buf.get_mut(..arg.len()).ok_or(ProgramError::Argument)?.copy_from_slice(arg);
        *ptr = buf.as_ptr().cast();
    }
    let env: [*const core::ffi::c_char; 2] = [c"PATH=/usr/sbin:/usr/bin:/sbin:/bin".as_ptr(), core::ptr::null()];
    match fork() {
        None => Err(ProgramError::Fork),
        Some((0, _)) => {
            let _ = rustix::process::setsid();
            let _ = rustix::stdio::dup2_stdout(stderr());
            // SAFETY: `ptrs` and `env` are NULL-terminated arrays of NUL-terminated strings
            // that live until `execve` replaces this process.
            unsafe { libc::execve(ptrs[0], ptrs.as_ptr(), env.as_ptr()) };
            exit_now(127)
        }
        Some((pid, pidfd)) => wait_child(pid, pidfd, deadline_ms, true).ok_or(ProgramError::Timeout),
    }
}

/// Ends the process at once (`_exit`), running nothing else.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: `_exit` ends the process; nothing is left to run.
    unsafe { libc::_exit(i32::from(code)) }
}

/// In [`each_with_deadline`]'s child: closes fds 0, 1 and 2.
fn close_stdio() {
    // SAFETY: closes this process's own standard fds, which the child never uses.
    let done = unsafe { libc::syscall(libc::SYS_close_range, 0u32, 2u32, 0u32) } == 0;
    if !done {
        for fd in 0..3 {
            // SAFETY: as above; an already closed fd gives EBADF, ignored.
            unsafe { rustix::io::close(fd) };
        }
    }
}
