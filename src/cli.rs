//! Command line and `--config` file → [`Config`]. Pure: takes the arguments and the config
//! file's bytes, returns the configuration or one error naming the offending flag or value.
//!
//! A flag takes its value as `--flag VALUE` or `--flag=VALUE`. A config file holds lines
//! `key = value` with the flags' names (no `--`), `#` comments and blank lines. Flags override
//! the file: a scalar given on the command line wins, and a list flag (`--user`, `--service`,
//! `--user-service`, `--mount`) given on the command line replaces the file's list.

use heapless::Vec;

use crate::encode::Format;
use crate::num::{parse_u64, trim};
use crate::record::{MAX_MOUNTS, MAX_SERVICES, MAX_USERS};
use crate::verdict::{Limit, Thresholds};

/// The checks, as named by `--skip` and `--only`: the check at position i is bit `1 << i` of
/// [`Config::checks`].
pub const CHECKS: &str = "clock timesync linger service disk memory system";
pub const CLOCK: u8 = 1;
pub const TIMESYNC: u8 = 2;
pub const LINGER: u8 = 4;
pub const SERVICE: u8 = 8;
pub const DISK: u8 = 16;
pub const MEMORY: u8 = 32;
pub const SYSTEM: u8 = 64;
pub const ALL_CHECKS: u8 = 127;

/// Longest user name, unit name and mount path accepted.
pub const NAME_MAX: usize = 64;
pub const UNIT_MAX: usize = 200;
pub const PATH_MAX: usize = 256;

/// What to do. (`Run` is large and unboxed: the agent has no allocator.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    Run(Config<'a>),
    Help,
    Version,
}

/// One unit to check: `user` is `None` for a system unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceArg<'a> {
    pub user: Option<&'a [u8]>,
    pub name: &'a [u8],
}

/// Most sinks (`--out`, `--append`, `--udp` together).
pub const MAX_SINKS: usize = 8;

/// Where a record goes besides stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// `--out PATH`: replace the file atomically.
    Replace,
    /// `--append PATH`: append, rotating at `--max-bytes`.
    Append,
    /// `--udp ADDR:PORT`: one datagram.
    Udp,
}

impl SinkKind {
    /// The flag that names this kind of sink (`--out`, `--append`, `--udp`).
    pub fn flag(self) -> &'static str {
        crate::num::word_at("--out --append --udp", self as usize)
    }
}

/// One sink: its kind, its own format (`FORMAT:` prefix) and its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkArg<'a> {
    pub kind: SinkKind,
    pub format: Option<Format>,
    pub target: &'a [u8],
}

/// The agent's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config<'a> {
    pub root: &'a [u8],
    pub users: Vec<&'a [u8], MAX_USERS>,
    pub services: Vec<ServiceArg<'a>, MAX_SERVICES>,
    pub mounts: Vec<&'a [u8], MAX_MOUNTS>,
    /// Bit set of [`CHECKS`] to run.
    pub checks: u8,
    pub thresholds: Thresholds,
    /// Format of stdout and of sinks without their own.
    pub format: Format,
    /// Sinks; stdout is used when there are none.
    pub sinks: Vec<SinkArg<'a>, MAX_SINKS>,
    /// Cap of an `--append` file before it rotates.
    pub max_bytes: u64,
    /// File holding the key for the records' HMAC-SHA256 tag (`--key-file`).
    pub key_file: Option<&'a [u8]>,
    /// Every run ends within this many seconds (`--timeout`).
    pub timeout_s: u64,
    /// `--fix linger,timesync`: bit set of [`FIX_LINGER`], [`FIX_TIMESYNC`].
    pub fixes: u8,
    /// `--fix-dry-run`: say which commands `--fix` would run, run none.
    pub fix_dry_run: bool,
    /// `--ntp-server ADDR[:PORT]`: measure the clock offset with one SNTP request.
    pub ntp_server: Option<&'a [u8]>,
    /// `--state PATH`; `Some(b"none")` keeps no state; `None`: [`DEFAULT_STATE`] when the root
    /// is `/`, none below another root (fixture trees, another system's files).
    pub state: Option<&'a [u8]>,
}

/// `--fix linger`: `loginctl enable-linger USER` when a user service needs linger and it is off.
pub const FIX_LINGER: u8 = 1;
/// `--fix timesync`: restart systemd-timesyncd and `timedatectl set-ntp true` when unsynced.
pub const FIX_TIMESYNC: u8 = 2;
/// The fixes, as named by `--fix`: the fix at position i is bit `1 << i` of [`Config::fixes`].
const FIXES: &str = "linger timesync";

/// Default `--state` (for `--root /`).
pub const DEFAULT_STATE: &[u8] = b"/var/lib/nodepulse/state";

/// Default `--max-bytes`: 256 KiB, small enough for a node's flash.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024;

impl Default for Config<'_> {
    fn default() -> Self {
        Config {
            root: b"/",
            users: Vec::new(),
            services: Vec::new(),
            mounts: Vec::new(),
            checks: ALL_CHECKS,
            thresholds: Thresholds::default(),
            format: Format::Line,
            sinks: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            key_file: None,
            timeout_s: 5,
            state: None,
            ntp_server: None,
            fixes: 0,
            fix_dry_run: false,
        }
    }
}

impl Config<'_> {
    pub fn runs(&self, check: u8) -> bool {
        self.checks & check != 0
    }

    /// Where the state file is kept, if anywhere.
    pub fn state_path(&self) -> Option<&[u8]> {
        match self.state {
            Some(b"none") => None,
            Some(path) => Some(path),
            None => (self.root == b"/").then_some(DEFAULT_STATE),
        }
    }
}

/// A rejected flag or value: printed as `nodepulse: WHAT: DETAIL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CliError<'a> {
    pub what: &'static str,
    pub detail: &'a [u8],
}

fn err<'a, T>(what: &'static str, detail: &'a [u8]) -> Result<T, CliError<'a>> {
    Err(CliError { what, detail })
}

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    File,
    Cli,
}

/// Flags that take no value (and `config`): not allowed as config file keys. On the command
/// line, words 0 and 1 ask for help, 2 and 3 for the version, 4 sets `fix_dry_run`.
const SWITCHES: &str = "help h version V fix-dry-run config";

/// The flags that take a value, besides the thresholds ([`Thresholds::by_flag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Root,
    Config,
    User,
    Service,
    UserService,
    Mount,
    Skip,
    Only,
    Format,
    Out,
    Append,
    Udp,
    MaxBytes,
    KeyFile,
    Timeout,
    State,
    NtpServer,
    Fix,
}

/// The names of [`FLAGS`], in order.
const FLAG_NAMES: &str = "root config user service user-service mount skip only format out \
                          append udp max-bytes key-file timeout state ntp-server fix";
const FLAGS: [Flag; 18] = [
    Flag::Root,
    Flag::Config,
    Flag::User,
    Flag::Service,
    Flag::UserService,
    Flag::Mount,
    Flag::Skip,
    Flag::Only,
    Flag::Format,
    Flag::Out,
    Flag::Append,
    Flag::Udp,
    Flag::MaxBytes,
    Flag::KeyFile,
    Flag::Timeout,
    Flag::State,
    Flag::NtpServer,
    Flag::Fix,
];

fn flag_of(name: &[u8]) -> Option<Flag> {
    FLAGS.get(crate::num::word_index(FLAG_NAMES, name)?).copied()
}

/// The path given with `--config`, if any (the caller reads it, then calls [`parse`]).
pub fn config_path<'a>(args: &[&'a [u8]]) -> Option<&'a [u8]> {
    let mut it = args.get(1..).unwrap_or(&[]).iter();
    let mut path = None;
    while let Some(arg) = it.next() {
        if *arg == b"--config" {
            path = it.next().copied();
        } else if let Some(p) = arg.strip_prefix(b"--config=") {
            path = Some(p);
        }
    }
    path
}

/// What the command line asks for besides a run's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Run,
    Help,
    Version,
}

/// Parses `args` (with `args[0]` the program name) over the contents of the config file.
pub fn parse<'a>(
    args: &[&'a [u8]],
    config_file: Option<&'a [u8]>,
) -> Result<Command<'a>, CliError<'a>> {
    let mut cfg = Config::default();
    Ok(match parse_into(args, config_file, &mut cfg)? {
        Action::Run => Command::Run(cfg),
        Action::Help => Command::Help,
        Action::Version => Command::Version,
    })
}

/// [`parse`] into the caller's `cfg` (which starts as `Config::default()`): the agent's
/// configuration is filled where it lives, not copied out of a returned value.
pub fn parse_into<'a>(
    args: &[&'a [u8]],
    config_file: Option<&'a [u8]>,
    cfg: &mut Config<'a>,
) -> Result<Action, CliError<'a>> {
    let mut replaced = [false; 5];
    if let Some(bytes) = config_file {
        for line in crate::num::lines(bytes) {
            let line = trim(line);
            if line.is_empty() || line.first() == Some(&b'#') {
                continue;
            }
            let Some(eq) = line.iter().position(|&b| b == b'=') else {
                return err("config line without '='", line);
            };
            let key = trim(line.get(..eq).unwrap_or(&[]));
            let value = trim(line.get(eq + 1..).unwrap_or(&[]));
            if crate::num::word_index(SWITCHES, key).is_some() {
                return err("not allowed in a config file", key);
            }
            apply(cfg, &mut replaced, key, value, Source::File)?;
        }
    }
    let mut it = args.get(1..).unwrap_or(&[]).iter();
    while let Some(&arg) = it.next() {
        let flag = match arg {
            [b'-', b'-', flag @ ..] => flag,
            [b'-', letter] => core::slice::from_ref(letter),
            _ => return err("unexpected argument", arg),
        };
        let (name, inline) = match flag.iter().position(|&b| b == b'=') {
            Some(eq) => (flag.get(..eq).unwrap_or(&[]), flag.get(eq + 1..)),
            None => (flag, None),
        };
        match crate::num::word_index(SWITCHES, name) {
            Some(0 | 1) => return Ok(Action::Help),
            Some(2 | 3) => return Ok(Action::Version),
            Some(4) if inline.is_none() => {
                cfg.fix_dry_run = true;
                continue;
            }
            _ if flag_of(name).is_none() && Limit::from_word(name).is_none() => {
                return err("unknown flag", arg)
            }
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => match it.next() {
                Some(v) => v,
                None => return err("missing value for", arg),
            },
        };
        apply(cfg, &mut replaced, name, value, Source::Cli)?;
    }
    // --user's names (distinct already) and the owners of user services share MAX_USERS slots.
    let mut distinct = cfg.users.clone();
    for name in cfg.services.iter().filter_map(|s| s.user) {
        if !distinct.contains(&name) && distinct.push(name).is_err() {
            return err(
                "too many users (--user and --user-service owners, max 4)",
                name,
            );
        }
    }
    if cfg.mounts.is_empty() {
        let _ = cfg.mounts.push(b"/");
    }
    if let Some(pair) = cfg.thresholds.misordered() {
        return err("warning threshold beyond its critical one", pair.warn.as_str().as_bytes());
    }
    Ok(Action::Run)
}

/// A path the agent may open: not empty, at most [`PATH_MAX`] bytes, no NUL.
fn valid_path(path: &[u8]) -> bool {
    !path.is_empty() && path.len() <= PATH_MAX && !path.contains(&0)
}

fn valid_name(name: &[u8], max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name != b"."
        && name != b".."
        && !name.iter().any(|&b| b == b'/' || b < b' ' || b == 0x7f)
}

/// A comma-separated `list` of words from `names` → the bit set with bit `1 << i` for the word
/// at position i; `None` for a word not in `names` (or an empty one).
fn mask(names: &str, list: &[u8]) -> Option<u8> {
    let mut mask = 0;
    for name in list.split(|&b| b == b',') {
        mask |= 1 << crate::num::word_index(names, trim(name))?;
    }
    Some(mask)
}

/// `[FORMAT:]TARGET` → the format (if the prefix names one) and the target.
fn split_format(value: &[u8]) -> (Option<Format>, &[u8]) {
    if let Some(colon) = value.iter().position(|&b| b == b':') {
        if let Some(format) = Format::from_word(value.get(..colon).unwrap_or(&[])) {
            return (Some(format), value.get(colon + 1..).unwrap_or(&[]));
        }
    }
    (None, value)
}

fn apply<'a>(
    cfg: &mut Config<'a>,
    replaced: &mut [bool; 5],
    key: &'a [u8],
    value: &'a [u8],
    source: Source,
) -> Result<(), CliError<'a>> {
    // A list flag on the command line replaces the config file's list (slot per list).
    let mut fresh = |slot: usize| {
        let first = source == Source::Cli && !replaced[slot];
        if source == Source::Cli {
            replaced[slot] = true;
        }
        first
    };
    let bad = CliError {
        what: "bad value",
        detail: key,
    };
    let full = CliError {
        what: "too many values for",
        detail: key,
    };
    if let Some(limit) = Limit::from_word(key) {
        let max = limit.max();
        *cfg.thresholds.field(limit) = parse_u64(value).filter(|&v| v <= max).ok_or(bad)?;
        return Ok(());
    }
    let Some(flag) = flag_of(key) else {
        let what = if source == Source::Cli {
            "unknown flag"
        } else {
            "unknown key in config file"
        };
        return err(what, key);
    };
    match flag {
        Flag::Config => {} // read by the caller through config_path()
        Flag::Root => {
            if value.is_empty() || value.len() > PATH_MAX {
                return Err(bad);
            }
            cfg.root = value;
        }
        Flag::User => {
            if !valid_name(value, NAME_MAX) {
                return Err(bad);
            }
            if fresh(0) {
                cfg.users.clear();
            }
            if !cfg.users.contains(&value) {
                cfg.users.push(value).map_err(|_| full)?;
            }
        }
        Flag::Service | Flag::UserService => {
            let arg = if flag == Flag::Service {
                ServiceArg {
                    user: None,
                    name: value,
                }
            } else {
                let Some(colon) = value.iter().position(|&b| b == b':') else {
                    return err("expected USER:NAME for --user-service", value);
                };
                ServiceArg {
                    user: value.get(..colon),
                    name: value.get(colon + 1..).unwrap_or(&[]),
                }
            };
            if !valid_name(arg.name, UNIT_MAX)
                || !arg.user.is_none_or(|u| valid_name(u, NAME_MAX))
            {
                return err("bad value", value);
            }
            if fresh(if arg.user.is_some() { 2 } else { 1 }) {
                cfg.services
                    .retain(|s| s.user.is_some() == (flag == Flag::Service));
            }
            if !cfg.services.contains(&arg) {
                cfg.services.push(arg).map_err(|_| full)?;
            }
        }
        Flag::Mount => {
            if value.first() != Some(&b'/') || value.len() > PATH_MAX {
                return err("mount must be an absolute path", value);
            }
            if fresh(3) {
                cfg.mounts.clear();
            }
            if !cfg.mounts.contains(&value) {
                cfg.mounts.push(value).map_err(|_| full)?;
            }
        }
        Flag::Format => {
            cfg.format = Format::from_word(value).ok_or(CliError {
                what: "unknown format (line, json, influx, prom, nagios)",
                detail: value,
            })?
        }
        Flag::Out | Flag::Append | Flag::Udp => {
            let (format, target) = split_format(value);
            let kind = match flag {
                Flag::Out => SinkKind::Replace,
                Flag::Append => SinkKind::Append,
                _ => SinkKind::Udp,
            };
            if !valid_path(target) {
                return err("bad value", value);
            }
            if kind == SinkKind::Udp && crate::parse::addr::is_syntax_error(target) {
                return err("expected ADDR:PORT for --udp", value);
            }
            if fresh(4) {
                cfg.sinks.clear();
            }
            cfg.sinks
                .push(SinkArg {
                    kind,
                    format,
                    target,
                })
                .map_err(|_| full)?;
        }
        Flag::MaxBytes => cfg.max_bytes = parse_u64(value).filter(|&n| n >= 1024).ok_or(bad)?,
        Flag::KeyFile if value.is_empty() => return Err(bad),
        Flag::KeyFile => cfg.key_file = Some(value),
        Flag::State if !valid_path(value) => return Err(bad),
        Flag::State => cfg.state = Some(value),
        Flag::Fix => {
            cfg.fixes = mask(FIXES, value).ok_or(CliError {
                what: "unknown fix (linger, timesync) in",
                detail: value,
            })?
        }
        Flag::NtpServer => {
            let mut buf = [0u8; crate::parse::addr::SERVER_CAP];
            let target = crate::parse::addr::with_ntp_port(value, &mut buf);
            if target.is_some_and(crate::parse::addr::is_syntax_error) {
                return err("expected ADDR[:PORT] for --ntp-server", value);
            }
            cfg.ntp_server = Some(value);
        }
        Flag::Timeout => cfg.timeout_s = parse_u64(value).filter(|s| (1..=3600).contains(s)).ok_or(bad)?,
        Flag::Skip | Flag::Only => {
            let mask = mask(CHECKS, value).ok_or(CliError {
                what: "unknown check in",
                detail: value,
            })?;
            cfg.checks = if flag == Flag::Skip {
                cfg.checks & !mask
            } else {
                mask
            };
        }
    }
    Ok(())
}

/// `--help`.
pub const HELP: &str = "\
nodepulse - one-shot health record of a Linux edge node (every flag: README.md)
  --root DIR  --config FILE  --user NAME  --service NAME  --user-service USER:NAME
  --mount PATH  --skip/--only clock,timesync,linger,service,disk,memory,system
  --format line|json|influx|prom|nagios  --out|--append|--udp [FORMAT:]TARGET
  --max-bytes N  --key-file FILE  --timeout SECS  --state PATH|none
  --ntp-server ADDR[:PORT]  --ntp-offset-{warn,crit}-ms MS
  --fix linger,timesync  --fix-dry-run   (opt-in repair; needs root)
  --{disk-free,inodes-free,mem-avail}-{warn,crit} PCT  --sync-age-warn-s S
  --{offset,maxerror}-{warn,crit}-ms MS
Exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn run<'a>(args: &[&'a str], file: Option<&'a str>) -> Result<Config<'a>, CliError<'a>> {
        let mut argv: std::vec::Vec<&[u8]> = vec![b"nodepulse"];
        argv.extend(args.iter().map(|a| a.as_bytes()));
        match parse(&argv, file.map(str::as_bytes))? {
            Command::Run(cfg) => Ok(cfg),
            other => panic!("expected run, got {other:?}"),
        }
    }

    /// The name tables are one string each: every name lands on its own flag, check or slot.
    #[test]
    fn name_tables_line_up() {
        assert_eq!(SinkKind::Replace.flag(), "--out");
        assert_eq!(SinkKind::Append.flag(), "--append");
        assert_eq!(SinkKind::Udp.flag(), "--udp");
        assert_eq!(FLAG_NAMES.split(' ').count(), FLAGS.len());
        for (name, flag) in [
            ("root", Flag::Root),
            ("user-service", Flag::UserService),
            ("max-bytes", Flag::MaxBytes),
            ("ntp-server", Flag::NtpServer),
            ("fix", Flag::Fix),
        ] {
            assert_eq!(flag_of(name.as_bytes()), Some(flag), "{name}");
        }
        assert_eq!(flag_of(b"roo"), None);
        assert_eq!(flag_of(b""), None);
        assert_eq!(mask(CHECKS, b"clock,system"), Some(CLOCK | SYSTEM));
        assert_eq!(mask(CHECKS, b"memory"), Some(MEMORY));
        assert_eq!(mask(FIXES, b"timesync, linger"), Some(FIX_LINGER | FIX_TIMESYNC));
        assert_eq!(mask(FIXES, b"linger,"), None);
        assert_eq!(CHECKS.split(' ').count(), 7);
        assert_eq!(Limit::ALL.len(), 13);
        assert_eq!(Format::from_word(b"nagios"), Some(Format::Nagios));
        assert_eq!(Format::from_word(b"line json"), None);
    }

    #[test]
    fn defaults() {
        let cfg = run(&[], None).unwrap();
        assert_eq!(cfg.root, b"/");
        assert_eq!(cfg.mounts.as_slice(), &[b"/" as &[u8]]);
        assert_eq!(cfg.checks, ALL_CHECKS);
        assert_eq!(cfg.thresholds, Thresholds::default());
    }

    #[test]
    fn flags_and_values() {
        let cfg = run(
            &[
                "--root",
                "/tmp/x",
                "--user=node",
                "--user-service",
                "node:openclaw-node",
                "--service",
                "chrony",
                "--mount",
                "/data",
                "--disk-free-warn",
                "20",
                "--skip",
                "clock,system",
            ],
            None,
        )
        .unwrap();
        assert_eq!(cfg.root, b"/tmp/x");
        assert_eq!(cfg.users.as_slice(), &[b"node" as &[u8]]);
        assert_eq!(
            cfg.services[0],
            ServiceArg {
                user: Some(b"node"),
                name: b"openclaw-node"
            }
        );
        assert_eq!(
            cfg.services[1],
            ServiceArg {
                user: None,
                name: b"chrony"
            }
        );
        assert_eq!(cfg.mounts.as_slice(), &[b"/data" as &[u8]]);
        assert_eq!(cfg.thresholds.disk_free_warn_pct, 20);
        assert_eq!(cfg.checks, ALL_CHECKS & !CLOCK & !SYSTEM);
        assert_eq!(run(&["--only", "disk"], None).unwrap().checks, DISK);
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(
            run(&["--frobnicate"], None).unwrap_err(),
            CliError {
                what: "unknown flag",
                detail: b"--frobnicate"
            }
        );
        assert_eq!(
            run(&["--disk-free-warn", "101"], None).unwrap_err().detail,
            b"disk-free-warn"
        );
        assert_eq!(
            run(&["--disk-free-warn", "x"], None).unwrap_err().what,
            "bad value"
        );
        assert_eq!(
            run(&["--root"], None).unwrap_err().what,
            "missing value for"
        );
        assert_eq!(
            run(&["--skip", "clock,bogus"], None).unwrap_err().what,
            "unknown check in"
        );
        assert_eq!(
            run(&["--user-service", "nocolon"], None)
                .unwrap_err()
                .detail,
            b"nocolon"
        );
        assert_eq!(
            run(&["--user", "../etc"], None).unwrap_err().what,
            "bad value"
        );
        assert_eq!(
            run(&["--mount", "relative"], None).unwrap_err().what,
            "mount must be an absolute path"
        );
        assert_eq!(
            run(&["stray"], None).unwrap_err().what,
            "unexpected argument"
        );
        // Each warning threshold past its critical one is named.
        for (args, name) in [
            (&["--disk-free-warn", "3"][..], "disk-free-warn"),
            (&["--inodes-free-crit", "50"][..], "inodes-free-warn"),
            (&["--mem-avail-warn", "4"][..], "mem-avail-warn"),
            (&["--offset-warn-ms", "2000"][..], "offset-warn-ms"),
            (&["--maxerror-crit-ms", "100"][..], "maxerror-warn-ms"),
            (&["--ntp-offset-warn-ms", "60001"][..], "ntp-offset-warn-ms"),
        ] {
            let e = run(args, None).unwrap_err();
            assert_eq!((e.what, e.detail), ("warning threshold beyond its critical one", name.as_bytes()));
        }
        assert!(run(&["--offset-warn-ms", "1000", "--disk-free-crit", "10"], None).is_ok(), "equal is fine");
        assert!(run(&["--offset-warn-ms", "99999999999999999999"], None).is_err());
        let many = [
            "--user", "a", "--user", "b", "--user", "c", "--user", "d", "--user", "e",
        ];
        assert_eq!(run(&many, None).unwrap_err().what, "too many values for");
        // Users and the owners of user services count together; each name once.
        let owners = [
            "--user", "a", "--user", "b", "--user-service", "a:x", "--user-service", "c:x",
            "--user-service", "c:y", "--user-service", "d:x",
        ];
        assert!(run(&owners, None).is_ok());
        let e = run(&[&owners[..], &["--user-service", "e:x"]].concat(), None).unwrap_err();
        assert_eq!(e, CliError {
            what: "too many users (--user and --user-service owners, max 4)",
            detail: b"e",
        });
    }

    #[test]
    fn formats_and_sinks() {
        let cfg = run(
            &[
                "--format",
                "json",
                "--out",
                "prom:/var/lib/ne/np.prom",
                "--udp",
                "influx:[::1]:8089",
                "--udp",
                "127.0.0.1:9",
                "--append",
                "/var/log/np.log",
                "--max-bytes",
                "4096",
            ],
            None,
        )
        .unwrap();
        assert_eq!(cfg.format, Format::Json);
        assert_eq!(
            cfg.sinks[0],
            SinkArg {
                kind: SinkKind::Replace,
                format: Some(Format::Prom),
                target: b"/var/lib/ne/np.prom"
            }
        );
        assert_eq!(
            cfg.sinks[1],
            SinkArg {
                kind: SinkKind::Udp,
                format: Some(Format::Influx),
                target: b"[::1]:8089"
            }
        );
        assert_eq!(
            cfg.sinks[2],
            SinkArg {
                kind: SinkKind::Udp,
                format: None,
                target: b"127.0.0.1:9"
            }
        );
        assert_eq!(
            cfg.sinks[3],
            SinkArg {
                kind: SinkKind::Append,
                format: None,
                target: b"/var/log/np.log"
            }
        );
        assert_eq!(cfg.max_bytes, 4096);
        // A prefix that is not a format is part of the path.
        assert_eq!(
            run(&["--out", "data:x"], None).unwrap().sinks[0].target,
            b"data:x"
        );
        assert_eq!(run(&["--format", "xml"], None).unwrap_err().detail, b"xml");
        assert_eq!(
            run(&["--udp", "nocolon"], None).unwrap_err().what,
            "expected ADDR:PORT for --udp"
        );
        assert_eq!(
            run(&["--udp", "host:99999"], None).unwrap_err().what,
            "expected ADDR:PORT for --udp"
        );
        assert!(
            run(&["--udp", "collector:8089"], None).is_ok(),
            "names are resolved when sending"
        );
        assert_eq!(
            run(&["--max-bytes", "10"], None).unwrap_err().what,
            "bad value"
        );
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(&[b"np", b"--help"], None), Ok(Command::Help));
        assert_eq!(parse(&[b"np", b"-V"], None), Ok(Command::Version));
        assert_eq!(parse(&[b"np", b"-h"], None), Ok(Command::Help));
        assert_eq!(parse(&[b"np", b"--version"], None), Ok(Command::Version));
        assert!(run(&["--fix-dry-run"], None).unwrap().fix_dry_run);
        assert_eq!(run(&["--fix-dry-run=1"], None).unwrap_err().what, "unknown flag");
    }

    #[test]
    fn config_file_and_overrides() {
        let file = "# nodepulse\nuser = alice\nuser = bob\nmount = /data\n\ndisk-free-warn = 30\nservice = chrony\nuser-service = alice:app\n";
        let cfg = run(&[], Some(file)).unwrap();
        assert_eq!(cfg.users.as_slice(), &[b"alice" as &[u8], b"bob"]);
        assert_eq!(cfg.thresholds.disk_free_warn_pct, 30);
        assert_eq!(cfg.services.len(), 2);
        // Flags win: a scalar is overridden, a list is replaced (only that list).
        let cfg = run(
            &[
                "--disk-free-warn",
                "15",
                "--user",
                "carol",
                "--service",
                "sshd",
            ],
            Some(file),
        )
        .unwrap();
        assert_eq!(cfg.thresholds.disk_free_warn_pct, 15);
        assert_eq!(cfg.users.as_slice(), &[b"carol" as &[u8]]);
        assert_eq!(
            cfg.services.as_slice(),
            &[
                ServiceArg {
                    user: Some(b"alice"),
                    name: b"app"
                },
                ServiceArg {
                    user: None,
                    name: b"sshd"
                }
            ]
        );
        assert_eq!(cfg.mounts.as_slice(), &[b"/data" as &[u8]]);
        assert_eq!(
            run(&[], Some("bogus = 1\n")).unwrap_err().what,
            "unknown key in config file"
        );
        assert_eq!(
            run(&[], Some("user alice\n")).unwrap_err().what,
            "config line without '='"
        );
        assert_eq!(
            run(&[], Some("help = 1\n")).unwrap_err().what,
            "not allowed in a config file"
        );
        assert_eq!(
            config_path(&[b"np", b"--config", b"/etc/np.conf"]),
            Some(&b"/etc/np.conf"[..])
        );
        assert_eq!(config_path(&[b"np", b"--config=/x"]), Some(&b"/x"[..]));
    }
}
