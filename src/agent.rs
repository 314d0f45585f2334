//! The agent's run, wiring only: command line and config file -> probes -> judge -> repairs and
//! history -> model -> sinks -> exit code. Every rule lives in the layer it belongs to; this
//! module passes values between them. The binary's `main` turns `argv` into byte slices and
//! calls [`main`].

use crate::cli::{self, Action, Config};
use crate::probe;
use crate::probe::fs::{read_whole, FileError, HOSTS_CAP};
use crate::record::{Check, Record};
use crate::sink::{self, say, Delivery};
use crate::{fix, model, state, sys, verdict};

/// Largest config file read.
pub const CONFIG_CAP: usize = 16384;
/// Longest command-line error message written (it ends before the first part that does not
/// fit).
const ERROR_CAP: usize = 1000;
// The message is written in the start of the records' buffer.
const _: () = assert!(ERROR_CAP <= sink::OUT_CAP);
/// Longest key read from `--key-file` (longer keys are hashed by HMAC anyway).
const KEY_CAP: usize = 256;

/// The run's large buffers, 40 KiB. The binary keeps them in `.bss`, not on the stack: cron on
/// a small node may run the agent under `ulimit -s 64` (64 KiB of stack, its environment
/// included).
pub struct Buffers {
    /// The config file's bytes, which the configuration borrows.
    pub config: [u8; CONFIG_CAP],
    /// Each sink's encoded record.
    pub out: [u8; sink::OUT_CAP],
    /// `/etc/hosts`, for an `--ntp-server` or `--udp` target given by name.
    pub hosts: [u8; HOSTS_CAP],
    /// The `--key-file` bytes.
    pub key: [u8; KEY_CAP],
}

impl Buffers {
    /// All zero, for a `static`.
    pub const ZERO: Buffers = Buffers {
        config: [0; CONFIG_CAP],
        out: [0; sink::OUT_CAP],
        hosts: [0; HOSTS_CAP],
        key: [0; KEY_CAP],
    };
}

/// Runs the agent with `args` (`args[0]` is the program name) and returns the exit code.
pub fn main(args: &[&[u8]], bufs: &mut Buffers) -> u8 {
    let Buffers {
        config: config_buf,
        out,
        hosts,
        key,
    } = bufs;
    let config_file = match cli::config_path(args) {
        None => None,
        Some(path) => match read_whole(path, config_buf) {
            Ok(bytes) => Some(cli::ConfigFile { path, bytes }),
            Err(e) => {
                say(&[
                    b"cannot read config file ",
                    path,
                    b": ",
                    file_error(e, b"larger than 16 KiB"),
                ]);
                return 3;
            }
        },
    };
    let mut cfg = Config::default();
    let text = match cli::parse_into(args, config_file, &mut cfg) {
        Ok(Action::Help) => cli::HELP,
        Ok(Action::Version) => {
            concat!(
                "nodepulse ",
                env!("CARGO_PKG_VERSION"),
                " (record np1, ",
                crate::arch!(),
                ")\n"
            )
        }
        Ok(Action::Run) => return run(&cfg, out, hosts, key),
        Err(e) => {
            // The message is written in the start of the records' buffer (no run follows).
            let mut message = crate::encode::Out::new(&mut out[..ERROR_CAP]);
            e.write(&mut message);
            say(&[message.as_bytes()]);
            return 3;
        }
    };
    sink::write_all(sys::stdout(), text.as_bytes()).map_or(3, |_| 0)
}

/// What a whole-file read error says to the user.
fn file_error(e: FileError, too_large: &'static [u8]) -> &'static [u8] {
    match e {
        FileError::Os(errno) => sink::errno_text(errno),
        FileError::TooLarge => too_large,
    }
}

/// The key: the file's bytes without a final newline; empty or longer than 255 bytes is refused.
fn read_key<'b>(path: &[u8], buf: &'b mut [u8; KEY_CAP]) -> Result<&'b [u8], &'static [u8]> {
    let bytes = read_whole(path, buf).map_err(|e| file_error(e, b"key longer than 255 bytes"))?;
    let key = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if key.is_empty() {
        return Err(b"empty key");
    }
    Ok(key)
}

/// Collects the record, judges it, repairs and remembers, and delivers it (each sink's record
/// encoded in `out`; `hosts_buf` holds `/etc/hosts` when the NTP server or a sink needs it,
/// `key_buf` the `--key-file`); the exit code.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
pub fn run(
    cfg: &Config,
    out: &mut [u8; sink::OUT_CAP],
    hosts_buf: &mut [u8; HOSTS_CAP],
    key_buf: &mut [u8; KEY_CAP],
) -> u8 {
    let key = match cfg.key_file.map(|path| read_key(path, key_buf)) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(what)) => {
            say(&[
                b"cannot use --key-file ",
                cfg.key_file.unwrap_or(b""),
                b": ",
                what,
            ]);
            return 3;
        }
    };
    let started = sys::monotonic_ms();
    let plan = cfg.plan();
    let mut rec = Record::default();
    probe::collect(&plan, &mut rec, hosts_buf);
    // The deadline (--timeout). `statvfs` on a dead NFS server sleeps uninterruptibly, so the
    // agent never makes that call itself: a child makes them, and at the deadline it is
    // abandoned; mounts it had not answered say `timeout`, exit 3, and the record is still
    // written.
    let deadline = started.saturating_add(cfg.timeout_s * 1000);
    let disks = plan.checks.contains(Check::Disk);
    let mounts = if disks { cfg.mounts.len() } else { 0 };
    sys::each_with_deadline(
        &plan,
        mounts,
        probe::disk_step,
        deadline,
        |ended, stats: &DiskStats| {
            if disks {
                rec.disks = Some(probe::disks(&plan, |i| stats.get(i)));
                rec.timed_out = ended == sys::Ended::TimedOut;
            }
            let mut judged = verdict::judge(&rec, &cfg.thresholds);
            let ask = fix::Ask {
                root: cfg.root,
                repairs: cfg.fixes,
                dry_run: cfg.fix_dry_run,
            };
            let users = rec.users();
            let daemon = rec.timesync.map(|ts| ts.daemon);
            let fixes = fix::run(&ask, users, judged.clock_ok(), daemon, deadline);
            let state_path = cfg.state_path();
            let history = state_path.map(|path| state::remember(path, &rec, judged.clock_ok()));
            if let (Some(path), Some(e)) = (state_path, history.as_ref().and_then(|h| h.save_error))
            {
                sink::report("--state", path, e);
                judged.state_not_saved();
            }
            let hosts =
                sink::needs_hosts(&cfg.sinks).then(|| crate::probe::fs::read_hosts(hosts_buf));
            let to = Delivery {
                sinks: &cfg.sinks,
                format: cfg.format,
                key,
                max_bytes: cfg.max_bytes,
                hosts,
            };
            let delivered = model::build(
                &rec,
                &judged,
                &cfg.thresholds,
                history.as_ref(),
                &fixes,
                |model| sink::deliver(model, &to, out),
            );
            if delivered {
                judged.exit_code()
            } else {
                3
            }
        },
    )
}

/// Each mount's `statvfs` result, as the deadline child publishes them.
type DiskStats = sys::Slots<Result<crate::record::DiskStat, i32>, { crate::record::MAX_MOUNTS }>;
