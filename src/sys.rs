//! The system calls the library makes itself, each behind a safe function. This is the only
//! module besides the binary's `main` shim with `unsafe`; the rest of the library denies it.
//!
//! - `adjtimex`—[`read_timex`] reads the kernel's clock discipline state. The one call rustix
//!   does not wrap. Called with `modes = 0`, which only reads: the kernel checks `CAP_SYS_TIME`
//!   only when `modes != 0` (`kernel/time/timekeeping.c`, `do_adjtimex()` →
//!   `ntp_validate_timex()`), so any user may call it.
//! - `clock_gettime`—[`wall_ms`], [`wall_ns`] and [`monotonic_ms`] read the real-time and
//!   monotonic clocks with the system call itself (64-bit seconds on every CPU).
//! - `fstatat64`, `fstat64`—[`lstat`] and [`fstat`] read a file's status on i686 and armv7
//!   with the system calls themselves (rustix's 32-bit `stat` is `statx` and a fallback to
//!   these, each converted); elsewhere they are rustix's.
//! - Standard fds—[`stdout`] and [`stderr`] borrow fds 1 and 2 for the sinks and messages.
//! - `poll`—[`poll_readable`] waits, bounded, for one fd to become readable (the SNTP reply,
//!   the deadline child's pidfd); with no fd, it is the 10 ms nap of a kernel without pidfds.
//! - `socket`—[`udp_socket`] opens the close-on-exec UDP socket of the `--udp` sink and the
//!   SNTP client; [`kernel_addr`] encodes the address their `sendto` and `connect` take.
//! - `mmap`, `clone`, pidfd `poll`, `waitpid`, `kill`—[`each_with_deadline`] runs steps that
//!   may sleep in the kernel for ever (`statvfs` on a dead NFS server) in a child that shares
//!   the agent's memory (`CLONE_VM`; a fork where that is refused) and publishes each result in
//!   [`Slots`], and abandons it at the deadline.
//! - `clone`, `setsid`, `execve`—[`run_program`] runs a repair program (no shell, minimal
//!   environment) and kills its process group at the deadline; [`exit_now`] is `_exit`.
//!
//! Nothing here allocates or panics; a failed call is returned as a value (an errno, `None`,
//! `false`, 0 for a clock before 1970) or, for the deadline child, falls back to running here.
//!
//! # References
//! - adjtimex(2); Linux `kernel/time/ntp.c`, `__do_adjtimex()`
//! - clock_gettime(2); Linux `include/uapi/asm-generic/unistd.h` (`__NR_clock_gettime64`)
//! - clone(2) (`CLONE_VM`, `CLONE_PIDFD`), pidfd_open(2), poll(2), waitpid(2), close_range(2),
//!   mmap(2)
//! - execve(2), setsid(2), \_exit(2)

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
use rustix::mm::MapFlags;

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

/// What the agent reads of a file's status: its type and permissions, owner, size, inode and
/// modification time (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub mode: u32,
    pub uid: u32,
    pub size: u64,
    pub ino: u64,
    pub mtime_s: i64,
}

/// `lstat` of `path` (not following a final symlink; a relative path from the working directory).
pub fn lstat(path: &core::ffi::CStr) -> Result<FileStat, rustix::io::Errno> {
    #[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
    {
        use rustix::fs::{statat, AtFlags, CWD};
        statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW).map(|st| FileStat::of(&st))
    }
    #[cfg(any(target_arch = "x86", target_arch = "arm"))]
    {
        let mut st = core::mem::MaybeUninit::<KernelStat64>::uninit();
        // SAFETY: `path` is NUL-terminated and `st` an exclusively borrowed `struct stat64` of
        // the kernel's layout, which `fstatat64` fills.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_fstatat64,
                libc::AT_FDCWD,
                path.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        stat64_result(ret, &st)
    }
}

/// `fstat` of `fd`.
pub fn fstat(fd: rustix::fd::BorrowedFd) -> Result<FileStat, rustix::io::Errno> {
    #[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
    {
        rustix::fs::fstat(fd).map(|st| FileStat::of(&st))
    }
    #[cfg(any(target_arch = "x86", target_arch = "arm"))]
    {
        use rustix::fd::AsRawFd;
        let mut st = core::mem::MaybeUninit::<KernelStat64>::uninit();
        // SAFETY: `st` is an exclusively borrowed `struct stat64` of the kernel's layout, which
        // `fstat64` fills.
        let ret = unsafe { libc::syscall(libc::SYS_fstat64, fd.as_raw_fd(), st.as_mut_ptr()) };
        stat64_result(ret, &st)
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
impl FileStat {
    fn of(st: &rustix::fs::Stat) -> FileStat {
        FileStat {
            mode: st.st_mode,
            uid: st.st_uid,
            size: st.st_size as u64,
            ino: st.st_ino,
            mtime_s: st.st_mtime,
        }
    }
}

/// The kernel's `struct stat64`, as `fstatat64` and `fstat64` fill it on i686 and armv7
/// (linux-raw-sys's bindings of `arch/*/include/uapi/asm/stat.h`). The calls are made directly,
/// as rustix's 32-bit `stat` falls back to them on kernels without `statx`: rustix asks `statx`
/// first and converts either answer to its own `Stat` (800 bytes of code on i686). The times
/// are the kernel's unsigned 32-bit seconds, right until 2106.
#[cfg(any(target_arch = "x86", target_arch = "arm"))]
type KernelStat64 = linux_raw_sys::general::stat64;

/// The status a `fstatat64` or `fstat64` call returning `ret` filled into `st`, or its errno.
#[cfg(any(target_arch = "x86", target_arch = "arm"))]
fn stat64_result(
    ret: core::ffi::c_long,
    st: &core::mem::MaybeUninit<KernelStat64>,
) -> Result<FileStat, rustix::io::Errno> {
    if ret < 0 {
        // SAFETY: `__errno_location` returns this thread's errno slot, valid to read.
        return Err(rustix::io::Errno::from_raw_os_error(unsafe {
            *libc::__errno_location()
        }));
    }
    // SAFETY: the call succeeded, so the kernel filled the whole struct.
    let st = unsafe { st.assume_init_ref() };
    Ok(FileStat {
        mode: st.st_mode,
        uid: st.st_uid as u32,
        size: st.st_size as u64,
        ino: st.st_ino,
        mtime_s: i64::from(st.st_mtime),
    })
}

/// Standard output. If the process was started with fd 1 closed, writes fail (`EBADF`) or go
/// to whatever the kernel put there; the agent opens files read-only, so nothing is damaged.
#[inline(never)] // out of line: measured smaller on i686 (x86_64 the same)
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

/// `struct __kernel_timespec`: 64-bit seconds and nanoseconds on every CPU.
#[repr(C)]
struct KernelTimespec {
    secs: i64,
    nanos: i64,
}

/// `clock_gettime64`, the same system call number on every 32-bit CPU (Linux 5.1).
#[cfg(target_pointer_width = "32")]
const SYS_CLOCK_GETTIME64: core::ffi::c_long = 403;

/// The clock in nanoseconds, by the system call itself. A run reads the clocks a handful of
/// times, so the vDSO (which spares the system call) is not worth its lookup code: musl's on
/// 64-bit CPUs, rustix's `clock_gettime` wrapper on i686. On a 32-bit CPU `clock_gettime64`
/// (64-bit seconds, past 2038), and where the kernel is older than 5.1 the 32-bit call.
fn clock_ns(realtime: bool) -> u64 {
    let id = if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    let mut ts = KernelTimespec { secs: 0, nanos: 0 };
    #[cfg(target_pointer_width = "64")]
    // SAFETY: `ts` is a valid, exclusively borrowed `__kernel_timespec`, which the 64-bit
    // `clock_gettime` fills.
    let failed = unsafe { libc::syscall(libc::SYS_clock_gettime, id, &mut ts) } != 0;
    #[cfg(target_pointer_width = "32")]
    let failed = {
        // SAFETY: as above, for `clock_gettime64`.
        let time64 = unsafe { libc::syscall(SYS_CLOCK_GETTIME64, id, &mut ts) };
        if time64 != 0 {
            // SAFETY: the 32-bit call fills a `timespec` of two C longs, as musl declares it.
            let mut old: [core::ffi::c_long; 2] = [0; 2];
            let failed = unsafe { libc::syscall(libc::SYS_clock_gettime, id, &mut old) } != 0;
            ts = KernelTimespec {
                secs: i64::from(old[0]),
                nanos: i64::from(old[1]),
            };
            failed
        } else {
            false
        }
    };
    if failed {
        return 0;
    }
    let secs = u64::try_from(ts.secs).unwrap_or(0);
    crate::num::saturating_mul(secs, 1_000_000_000)
        .saturating_add(u64::try_from(ts.nanos).unwrap_or(0))
}

/// Waits at most `ms` for `fd` to become readable; `false` on timeout, EINTR or error (the
/// callers go round their deadline loop again).
pub fn poll_readable(fd: rustix::fd::BorrowedFd, ms: u64) -> bool {
    use rustix::event::{PollFd, PollFlags};
    poll_ms(&mut [PollFd::new(&fd, PollFlags::IN)], ms) > 0
}

/// `poll` for at most `ms`: how many of `fds` are ready (0 on timeout, EINTR or error). With
/// no descriptors it sleeps.
fn poll_ms(fds: &mut [rustix::event::PollFd], ms: u64) -> usize {
    // In 32 bits (49 days): a 32-bit CPU divides them without a 64-bit division routine.
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    let nap = rustix::event::Timespec {
        tv_sec: (ms / 1000).into(),
        tv_nsec: ((ms % 1000) * 1_000_000).into(),
    };
    rustix::event::poll(fds, Some(&nap)).unwrap_or(0)
}

/// A close-on-exec UDP socket of `addr`'s family: the `--udp` sink's and the SNTP client's.
pub fn udp_socket(addr: &core::net::SocketAddr) -> Result<rustix::fd::OwnedFd, rustix::io::Errno> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    rustix::net::socket_with(family, SocketType::DGRAM, SocketFlags::CLOEXEC, None)
}

/// `addr` in the kernel's form (`sockaddr_in` or `sockaddr_in6`), for `sendto` and `connect`:
/// one encoder for the `--udp` sink and the SNTP client, each call then passes the bytes.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
pub fn kernel_addr(addr: &core::net::SocketAddr) -> rustix::net::SocketAddrAny {
    rustix::net::SocketAddrAny::from(*addr)
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
///
/// The child writes the slots while the parent holds a `&Slots`, so every slot is an
/// [`UnsafeCell`](core::cell::UnsafeCell) (writes behind a shared reference are allowed there
/// and only there). The protocol that keeps it free of data races: each slot is written once,
/// before a Release store raises `done` past it; [`get`](Self::get) loads `done` with Acquire
/// and reads only slots below it; nothing hands out a reference into a slot (`T: Copy` is read
/// out by value). `UnsafeCell` also makes `Slots` `!Sync`: no second thread can share it.
pub struct Slots<T, const N: usize> {
    items: [core::cell::UnsafeCell<core::mem::MaybeUninit<T>>; N],
    done: core::sync::atomic::AtomicUsize,
}

impl<T: Copy, const N: usize> Slots<T, N> {
    const fn new() -> Self {
        Slots {
            items: [const { core::cell::UnsafeCell::new(core::mem::MaybeUninit::uninit()) }; N],
            done: core::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Step `i`'s result, if it was published.
    pub fn get(&self, i: usize) -> Option<T> {
        let slot = self.items.get(..self.published())?.get(i)?;
        // SAFETY: every slot below `done` was initialised before `done` was raised past it
        // (Release in `run`, Acquire in `published`), and is never written again, so this
        // read races with no write.
        Some(unsafe { slot.get().read().assume_init() })
    }

    /// How many steps published their result.
    fn published(&self) -> usize {
        self.done.load(core::sync::atomic::Ordering::Acquire).min(N)
    }

    /// Runs the steps, publishing each result before the next starts.
    ///
    /// # Safety
    /// At most one `run` per `Slots`, by its only writer (in this process or, for a shared
    /// mapping, in one child process); everyone else reads it through [`get`](Self::get) alone.
    unsafe fn run<C>(&self, ctx: &C, count: usize, step: fn(&C, usize) -> T) {
        for (i, slot) in self.items.iter().take(count).enumerate() {
            let value = step(ctx, i);
            // SAFETY: slot `i` is not yet published (`done` is `i`), so no `get` reads it;
            // the caller promises no other writer, and it is written this once.
            unsafe { slot.get().write(core::mem::MaybeUninit::new(value)) };
            self.done
                .store(i + 1, core::sync::atomic::Ordering::Release);
        }
    }
}

/// Runs `step(ctx, 0..count)` in a child process that publishes each result in slots this
/// process reads, and waits for it until `deadline_ms` (monotonic; `poll` on the child's
/// pidfd, `CLONE_PIDFD`, Linux 5.2; without one, `waitpid` every 10 ms). Then returns
/// `then(how it ended, results)`. After a timeout the child is sent SIGKILL and abandoned; it
/// may still publish later, so `then` reads only what is published. When `mmap` or `clone`
/// fails (memory, process limit), the steps run here without a deadline.
///
/// The child closes its copies of fds 0-2 first (`close_range`, Linux 5.9; one by one
/// before), so that a reader waiting for the end of the agent's output (NRPE, a shell pipe) is
/// not held open by a child stuck in the kernel.
///
/// The child shares this process's memory (`CLONE_VM`, through the C library's `__clone`),
/// with its slots and its stack in one private mapping: no page tables to copy and no
/// copy-on-write faults afterwards (a forked child cost some 80 µs of a 190 µs run on the
/// systemd fixture; this one about 40), and no shmem file made and destroyed on each run, as
/// a shared mapping would be (some 20 µs more). It reads the steps' context where this
/// process keeps it, which stays in place until the child has ended or been sent SIGKILL (a
/// process with SIGKILL pending never runs its own code again). Where `CLONE_VM` is refused
/// (qemu-user takes it only for a thread), the child is a plain fork, with its own copy of
/// everything, and its slots in a second, shared mapping.
///
/// Cost in the normal case: `mmap`, `clone`, `poll` and one `waitpid` (which reaps the child)
/// here, `close_range` and `exit` there.
pub fn each_with_deadline<C, T: Copy, const N: usize>(
    ctx: &C,
    count: usize,
    step: fn(&C, usize) -> T,
    deadline_ms: u64,
    then: impl FnOnce(Ended, &Slots<T, N>) -> u8,
) -> u8 {
    // The slots the steps use when they run in this process. `then` is called once, here,
    // not on each way the steps can end: one copy of the caller's continuation.
    let here = Slots::new();
    let (ended, slots) = run_with_deadline(ctx, count, step, deadline_ms, &here);
    then(ended, slots)
}

/// [`each_with_deadline`] up to `then`: how the steps ended and where their results are (the
/// child's mapping, or `here` when they ran in this process).
#[inline(never)] // out of line: measured smaller on i686 and x86_64
fn run_with_deadline<'s, C, T: Copy, const N: usize>(
    ctx: &C,
    count: usize,
    step: fn(&C, usize) -> T,
    deadline_ms: u64,
    here: &'s Slots<T, N>,
) -> (Ended, &'s Slots<T, N>) {
    if count == 0 {
        return (Ended::Finished, here);
    }
    // The child that shares this memory writes the slots where this process reads them: a
    // private mapping, the slots then the child's stack (its top 16-byte aligned, as every
    // ABI wants). A shared mapping would cost a shmem file made and destroyed on every run.
    let slots_size = core::mem::size_of::<Slots<T, N>>().next_multiple_of(16);
    let size = slots_size + CHILD_STACK;
    let job = |slots| Job {
        ctx,
        count,
        step,
        slots,
    };
    let vm = fresh_slots(size, MapFlags::PRIVATE).map(|(slots, end)| (job(slots), slots, end));
    // The child reads `job` where it is, in this frame, which outlives it (`wait_child` below
    // returns once it has ended or been sent SIGKILL). Its stack is the mapping's last
    // CHILD_STACK bytes, which nothing else uses.
    let child = vm
        .as_ref()
        .and_then(|(job, slots, end)| Some((clone_vm(job, *end)?, *slots)));
    // Where `CLONE_VM` is refused, a fork writes them in a mapping shared with it.
    let child = child.or_else(|| {
        let (slots, _) = fresh_slots(slots_size, MapFlags::SHARED)?;
        match fork()? {
            (0, _) => {
                job(slots).run_in_child();
                exit_now(0)
            }
            forked => Some((forked, slots)),
        }
    });
    let Some(((pid, pidfd), slots)) = child else {
        // No child: the steps run here, without a deadline. SAFETY: `here` is only used here,
        // and this is its only `run`; `then` reads it afterwards.
        unsafe { here.run(ctx, count, step) };
        return (Ended::Finished, here);
    };
    match wait_child(pid, pidfd, deadline_ms) {
        Some(_) => (Ended::Finished, slots),
        None => (Ended::TimedOut, slots),
    }
}

/// A fresh anonymous mapping of `size` bytes (`flags`: private or shared) holding empty slots
/// at its start, and the mapping's end; never unmapped: a child abandoned at the deadline may
/// still write there. `None` when `mmap` fails.
fn fresh_slots<'s, T: Copy, const N: usize>(
    size: usize,
    flags: MapFlags,
) -> Option<(&'s Slots<T, N>, *mut u8)> {
    // SAFETY: a fresh anonymous mapping, not aliased by anything else.
    let page = unsafe {
        let prot = rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE;
        rustix::mm::mmap_anonymous(core::ptr::null_mut(), size, prot, flags)
    };
    let base = page.ok().filter(|p| !p.is_null())?.cast::<u8>();
    let slots = base.cast::<Slots<T, N>>();
    // SAFETY: the mapping is page-aligned (enough for any `Slots`), at least a `Slots` long
    // (every caller's `size` is) and writable, and nothing refers to it yet. It is never
    // unmapped, so the reference lives as long as the process; all later writes (a child's,
    // or this process's) go through the slots' `UnsafeCell`s or the atomic, which a shared
    // reference permits.
    unsafe {
        slots.write(Slots::new());
        Some((&*slots, base.add(size)))
    }
}

/// The deadline child's stack: its steps' own needs (a `statvfs` and a path) with room to spare.
const CHILD_STACK: usize = 32 * 1024;

/// What the `CLONE_VM` child of [`each_with_deadline`] runs.
struct Job<'a, C, T, const N: usize> {
    ctx: &'a C,
    count: usize,
    step: fn(&C, usize) -> T,
    slots: &'a Slots<T, N>,
}

impl<C, T: Copy, const N: usize> Job<'_, C, T, N> {
    /// In the deadline child (either kind): closes its standard fds and runs the steps into
    /// the slots.
    fn run_in_child(&self) {
        close_stdio();
        // SAFETY: the child is the slots' only writer and runs once; the parent only reads
        // them through `get`, which reads a slot only after the Release store of `done` that
        // publishes it (Acquire on its side).
        unsafe { self.slots.run(self.ctx, self.count, self.step) };
    }
}

/// The `CLONE_VM` child: runs the job, then returns, upon which `__clone` ends it (`exit`).
extern "C" fn run_job<C, T: Copy, const N: usize>(job: *mut core::ffi::c_void) -> core::ffi::c_int {
    // SAFETY: `job` is the `Job` that `clone_vm` was given, which the parent keeps in place
    // until this child has ended or been sent SIGKILL (`wait_child`).
    unsafe { &*job.cast::<Job<C, T, N>>() }.run_in_child();
    0
}

/// Starts `job` in a child that shares this process's memory, on the stack below `stack_top`:
/// in the parent `Some((pid, pidfd))` as [`fork`] gives them; `None` when `CLONE_VM` is
/// refused (the caller forks instead). The child never returns here: it runs [`run_job`].
fn clone_vm<C, T: Copy, const N: usize>(
    job: &Job<C, T, N>,
    stack_top: *mut u8,
) -> Option<(i32, Option<rustix::fd::BorrowedFd<'static>>)> {
    extern "C" {
        /// The C library's own start of a child on a new stack: the routine its `clone`
        /// and `pthread_create` call (musl's `src/thread/*/clone.s`, glibc's `__clone`).
        /// It calls `func(arg)` in the child and ends the child with `func`'s return value.
        /// (musl's `clone` itself would add its fork machinery, locks and at-fork handlers
        /// for the flags without `CLONE_VM`, about 850 bytes of code used by nothing here.)
        /// Returns the child's pid, or a negative value when it failed.
        fn __clone(
            func: extern "C" fn(*mut core::ffi::c_void) -> core::ffi::c_int,
            stack: *mut core::ffi::c_void,
            flags: core::ffi::c_int,
            arg: *mut core::ffi::c_void,
            parent_tid: *mut core::ffi::c_int,
            tls: *mut core::ffi::c_void,
            child_tid: *mut core::ffi::c_int,
        ) -> core::ffi::c_int;
    }
    let mut pidfd: core::ffi::c_int = -1;
    let flags = libc::CLONE_VM | libc::SIGCHLD | libc::CLONE_PIDFD;
    // SAFETY: `run_job` runs on the given stack, which nothing else uses, and reads `job`
    // only while the parent keeps it (see `run_job`). CLONE_PIDFD stores the pidfd where the
    // parent-tid pointer points; no flag reads tls or the child-tid pointer.
    let pid = unsafe {
        __clone(
            run_job::<C, T, N>,
            stack_top.cast(),
            flags,
            (job as *const Job<C, T, N>).cast_mut().cast(),
            &mut pidfd,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    };
    (pid > 0).then(|| (pid, child_pidfd(pid, pidfd)))
}

/// The pidfd `CLONE_PIDFD` stored for the child `pid` (> 0: this is the parent), if any: -1
/// (a kernel older than 5.2 ignores the flag) or a failed clone gives `None`.
fn child_pidfd(
    pid: impl Into<i64>,
    pidfd: core::ffi::c_int,
) -> Option<rustix::fd::BorrowedFd<'static>> {
    // SAFETY: the kernel stored a new file descriptor this process owns and never closes.
    (pid.into() > 0 && pidfd >= 0).then(|| unsafe { rustix::fd::BorrowedFd::borrow_raw(pidfd) })
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
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_long,
            0usize,
            pidfd as *mut core::ffi::c_int,
            0usize,
            0usize,
        )
    };
    let mut pid = clone(libc::SIGCHLD | libc::CLONE_PIDFD, &mut pidfd);
    if pid < 0 {
        // qemu-user 7 refuses CLONE_PIDFD (EINVAL): a plain fork, waited for by polling.
        pidfd = -1;
        pid = clone(libc::SIGCHLD, &mut pidfd);
    }
    (pid >= 0).then(|| (pid as i32, child_pidfd(pid, pidfd)))
}

/// Waits for the child `pid` until `deadline_ms` (monotonic): `Some(exit code)` when it ended,
/// reaped by `waitpid` (no zombie is left behind), `None` when the deadline passed: the child
/// is then sent SIGKILL and abandoned. With a pidfd, `poll` wakes when the child ends; without
/// one, the loop asks every 10 ms.
fn wait_child(pid: i32, pidfd: Option<rustix::fd::BorrowedFd>, deadline_ms: u64) -> Option<i32> {
    use rustix::process::{waitpid, Pid, WaitOptions};
    let pid = Pid::from_raw(pid)?;
    // With a pidfd, the first question is `poll`: a child just started has not ended yet.
    let mut ask = pidfd.is_none();
    loop {
        if ask {
            if let Ok(Some((_, status))) = waitpid(Some(pid), WaitOptions::NOHANG) {
                return Some(
                    status
                        .exit_status()
                        .map_or(128 + status.terminating_signal().unwrap_or(0), |c| c),
                );
            }
        }
        let left = deadline_ms.saturating_sub(monotonic_ms());
        if left == 0 {
            // The child, and the process group a `run_program` child leads (a script's own
            // children hold our output open otherwise).
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            return None;
        }
        match pidfd {
            Some(fd) => {
                poll_readable(fd, left);
            }
            None => {
                poll_ms(&mut [], left.min(10));
            }
        }
        ask = true;
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
        if arg.len() >= ARG_CAP || crate::num::has(arg, 0) {
            return Err(ProgramError::Argument);
        }
        buf.get_mut(..arg.len())
            .ok_or(ProgramError::Argument)?
            .copy_from_slice(arg);
        *ptr = buf.as_ptr().cast();
    }
    let env: [*const core::ffi::c_char; 2] = [
        c"PATH=/usr/sbin:/usr/bin:/sbin:/bin".as_ptr(),
        core::ptr::null(),
    ];
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
        Some((pid, pidfd)) => wait_child(pid, pidfd, deadline_ms).ok_or(ProgramError::Timeout),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn square(base: &u32, i: usize) -> u32 {
        base + (i as u32) * (i as u32)
    }

    fn stall(_: &u32, i: usize) -> u32 {
        if i == 1 {
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
        i as u32
    }

    /// The in-process fallback (`mmap` or `clone` failed): a local `Slots`, run here.
    #[test]
    fn slots_run_in_process_publish_every_step() {
        let here: Slots<u32, 4> = Slots::new();
        assert_eq!(here.get(0), None);
        // SAFETY: a local `Slots`, run once, read only through `get`.
        unsafe { here.run(&10, 3, square) };
        assert_eq!(
            [here.get(0), here.get(1), here.get(2)],
            [Some(10), Some(11), Some(14)]
        );
        assert_eq!(here.get(3), None, "not run: not published");
        assert_eq!(here.get(4), None, "beyond N");
    }

    #[test]
    fn slots_run_stops_at_capacity() {
        let here: Slots<u32, 2> = Slots::new();
        // SAFETY: as above.
        unsafe { here.run(&0, 5, square) };
        assert_eq!(here.published(), 2);
        assert_eq!(
            [here.get(0), here.get(1), here.get(2)],
            [Some(0), Some(1), None]
        );
    }

    #[test]
    fn each_with_deadline_child_publishes_every_step() {
        let deadline = monotonic_ms() + 10_000;
        let code = each_with_deadline(&100, 3, square, deadline, |ended, slots: &Slots<u32, 4>| {
            assert_eq!(ended, Ended::Finished);
            assert_eq!(
                [slots.get(0), slots.get(1), slots.get(2), slots.get(3)],
                [Some(100), Some(101), Some(104), None]
            );
            7
        });
        assert_eq!(code, 7);
    }

    #[test]
    fn each_with_deadline_none_to_run() {
        let code = each_with_deadline(&0, 0, square, 0, |ended, slots: &Slots<u32, 4>| {
            assert_eq!((ended, slots.get(0)), (Ended::Finished, None));
            1
        });
        assert_eq!(code, 1);
    }

    #[test]
    fn each_with_deadline_abandons_a_stuck_child_and_keeps_what_it_published() {
        let deadline = monotonic_ms() + 500;
        each_with_deadline(&0, 3, stall, deadline, |ended, slots: &Slots<u32, 4>| {
            assert_eq!(ended, Ended::TimedOut);
            assert_eq!(
                [slots.get(0), slots.get(1), slots.get(2)],
                [Some(0), None, None]
            );
            0
        });
    }
}
