//! The agent binary: `no_std`, `no_main`, no allocator, started by musl's C runtime.
//!
//! `main` hands rustix the auxiliary vector, turns `argv` into byte slices once and hands them,
//! with the run's large buffers (static, not on the stack), to [`nodepulse::agent::main`]. A panic (which the library is written never to reach) prints
//! one line and exits 3 (UNKNOWN).

#![no_std]
#![no_main]

use core::ffi::{c_char, c_int, CStr};

// musl's libc.a (start-up, adjtimex, mem*): with `#![no_std]` nothing else asks the linker for it.
#[cfg(target_env = "musl")]
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

/// The run's large buffers, in `.bss` (zero pages the kernel maps on first use, no bytes in
/// the file) rather than on a stack that `ulimit -s` may have made small.
static mut BUFFERS: nodepulse::agent::Buffers = nodepulse::agent::Buffers::ZERO;

/// Most arguments accepted; more is an error, not a truncation.
const MAX_ARGS: usize = 256;

// The C runtime's entry point: the pointers come from the kernel's argv, checked below.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
#[no_mangle]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *mut *mut u8) -> c_int {
    // SAFETY: `envp` is the environment block the kernel set up, as the C runtime passes it;
    // rustix finds the auxiliary vector after it (page size, the vDSO that i686 makes every
    // syscall through) instead of asking the kernel with prctl or /proc/self/auxv.
    unsafe { rustix::param::init(envp) };
    let mut args: heapless::Vec<&'static [u8], MAX_ARGS> = heapless::Vec::new();
    let count = usize::try_from(argc).unwrap_or(0);
    for i in 0..count {
        // SAFETY: the C runtime passes `argc` valid pointers in `argv`, each to a NUL-terminated
        // string that lives, unmodified, until the process exits.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes();
        if args.push(arg).is_err() {
            nodepulse::sink::say(&[b"too many arguments (max 256)"]);
            return 3;
        }
    }
    // SAFETY: `main` runs once, on the only thread; this is the one reference to BUFFERS.
    let bufs = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    c_int::from(nodepulse::agent::main(&args, bufs))
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    let _ = nodepulse::sink::write_all(
        nodepulse::sys::stderr(),
        b"nodepulse: internal error (panic)\n",
    );
    // SAFETY: `_exit` ends the process at once; nothing needs to run after a panic.
    unsafe { libc::_exit(3) }
}

/// The prebuilt `compiler_builtins` of targets that unwind reference this symbol even in a
/// `panic = "abort"` binary (rust-lang/rust#106864); nothing unwinds here.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
