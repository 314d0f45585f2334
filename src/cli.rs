//! Command line and `--config` file → [`Config`]. Pure: takes the arguments and the config
//! file's bytes, returns the configuration or one [`CliError`] that names the flag, the value
//! and what is allowed. No allocation; no input makes it panic.
//!
//! A flag takes its value as `--flag VALUE` or `--flag=VALUE`. A config file holds lines
//! `key = value` with the flags' names (no `--`), `#` comments and blank lines; a `#` after
//! whitespace ends a value (an inline comment), and a value may not be quoted. Flags override
//! the file: a scalar given on the command line wins, and a list flag (`--user`, `--service`,
//! `--user-service`, `--mount`, and the sinks `--out`, `--append`, `--udp` as one list) given on
//! the command line replaces the file's list.
//!
//! Each flag is declared once: its name in [`Flag`] (the thresholds' in [`Limit`]), whether it
//! is a switch, takes a value or adds to a list in [`Flag::takes`], and what it sets, through
//! which validator, in `set`'s `match`; the compiler asks for the last two when a name is added.
//! An error is a [`CliError`]: the flag, the offending bytes and a [`Problem`] whose message
//! names what is allowed (`--timeout: 0 is outside 1..3600`).

use heapless::Vec;

use crate::encode::{Format, Out};
use crate::fix::{Repair, Repairs};
use crate::num::{parse_u64, trim, Set, Word};
use crate::probe::Plan;
use crate::record::{Check, Checks, MAX_MOUNTS, MAX_SERVICES, MAX_USERS};
use crate::verdict::{Limit, Thresholds, Worse};

/// Longest user name, unit name and path accepted.
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
pub use crate::record::ServiceName as ServiceArg;

/// Most sinks (`--out`, `--append`, `--udp` together).
pub const MAX_SINKS: usize = 8;

pub use crate::sink::{SinkArg, SinkKind};

/// The agent's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config<'a> {
    pub root: &'a [u8],
    pub users: Vec<&'a [u8], MAX_USERS>,
    pub services: Vec<ServiceArg<'a>, MAX_SERVICES>,
    pub mounts: Vec<&'a [u8], MAX_MOUNTS>,
    /// The checks to run (`--skip`, `--only`).
    pub checks: Checks,
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
    /// `--fix linger,timesync`: the repairs to make.
    pub fixes: Repairs,
    /// `--fix-dry-run`: say which commands `--fix` would run, run none.
    pub fix_dry_run: bool,
    /// `--ntp-server ADDR[:PORT]`: measure the clock offset with one SNTP request.
    pub ntp_server: Option<&'a [u8]>,
    /// `--state PATH`; `Some(b"none")` keeps no state; `None`: [`DEFAULT_STATE`] when the root
    /// is `/` and the record goes to a sink (`--out`, `--append`, `--udp`: a run from cron or a
    /// timer); none for a run that only prints its record (an admin's hand run must not advance
    /// cron's `seq` or reset its `gap_s`), nor below another root (fixture trees).
    pub state: Option<&'a [u8]>,
}

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
            checks: Checks::all(),
            thresholds: Thresholds::default(),
            format: Format::Line,
            sinks: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            key_file: None,
            timeout_s: 5,
            state: None,
            ntp_server: None,
            fixes: Repairs::EMPTY,
            fix_dry_run: false,
        }
    }
}

impl<'a> Config<'a> {
    /// What the probes are to look at.
    pub fn plan(&'a self) -> Plan<'a> {
        Plan {
            root: self.root,
            checks: self.checks,
            users: &self.users,
            services: &self.services,
            mounts: &self.mounts,
            ntp_server: self.ntp_server,
            // SNTP's share of the run's deadline.
            ntp_wait_ms: crate::probe::sntp::WAIT_MS.min(self.timeout_s * 500),
        }
    }

    /// Whether `check` runs (`--skip`, `--only`).
    pub fn runs(&self, check: Check) -> bool {
        self.checks.contains(check)
    }

    /// Where the state file is kept, if anywhere.
    pub fn state_path(&self) -> Option<&[u8]> {
        match self.state {
            Some(b"none") => None,
            Some(path) => Some(path),
            None => (self.root == b"/" && !self.sinks.is_empty()).then_some(DEFAULT_STATE),
        }
    }

    /// Empties `list`: the first of its flags on the command line replaces the file's list.
    fn clear(&mut self, list: List) {
        match list {
            List::Users => self.users.clear(),
            List::Services | List::UserServices => {
                let of_users = list == List::UserServices;
                self.services.retain(|s| s.user.is_some() != of_users)
            }
            List::Mounts => self.mounts.clear(),
            List::Sinks => self.sinks.clear(),
        }
    }
}

crate::words! {
    /// Every flag but the thresholds ([`Limit`]), as the command line (`--NAME`, `-h`, `-V`) and
    /// the config file (`NAME = VALUE`) name it.
    pub enum Flag {
        Help = "help",
        H = "h",
        Version = "version",
        V = "V",
        FixDryRun = "fix-dry-run",
        Root = "root",
        Config = "config",
        User = "user",
        Service = "service",
        UserService = "user-service",
        Mount = "mount",
        Skip = "skip",
        Only = "only",
        Format = "format",
        Out = "out",
        Append = "append",
        Udp = "udp",
        MaxBytes = "max-bytes",
        KeyFile = "key-file",
        Timeout = "timeout",
        State = "state",
        NtpServer = "ntp-server",
        Fix = "fix",
    }
}

crate::words! {
    /// The lists of [`Config`] that flags add to.
    pub enum List {
        Users = "users",
        Services = "services",
        UserServices = "user services",
        Mounts = "mounts",
        /// `--out`, `--append` and `--udp` together.
        Sinks = "sinks",
    }
}

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// Nothing: a switch, which is no config file key.
    Nothing,
    /// One value; given again, the last one wins.
    Value,
    /// One value of a list; repeatable.
    ListItem(List),
}

impl Flag {
    pub fn takes(self) -> Takes {
        use Flag::*;
        match self {
            Help | H | Version | V | FixDryRun => Takes::Nothing,
            Root | Config | Skip | Only | Format | MaxBytes | KeyFile | Timeout | State
            | NtpServer | Fix => Takes::Value,
            User => Takes::ListItem(List::Users),
            Service => Takes::ListItem(List::Services),
            UserService => Takes::ListItem(List::UserServices),
            Mount => Takes::ListItem(List::Mounts),
            Out | Append | Udp => Takes::ListItem(List::Sinks),
        }
    }
}

/// A flag or config key: a [`Flag`] or a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Flag(Flag),
    Limit(Limit),
}

impl Key {
    fn of(name: &[u8]) -> Option<Key> {
        match Flag::from_word(name) {
            Some(flag) => Some(Key::Flag(flag)),
            None => Limit::from_word(name).map(Key::Limit),
        }
    }

    fn takes(self) -> Takes {
        match self {
            Key::Flag(flag) => flag.takes(),
            Key::Limit(_) => Takes::Value,
        }
    }
}

/// A rejected argument, value or config line. [`CliError::write`] prints it as
/// `[FILE:LINE: ][--]FLAG: PROBLEM` (`--` on the command line), e.g.
/// `--timeout: 0 is outside 1..3600` or `/etc/nodepulse.conf:3: unknown key 'monut'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CliError<'a> {
    /// The config file line it is on; `None`: the command line, or the settings together
    /// (too many users, a warning threshold beyond its critical one).
    pub at: Option<FileLine<'a>>,
    /// The flag or key it is about, without `--`; empty when the argument or line is the problem.
    pub flag: &'a [u8],
    /// The offending bytes: the value, the bad word of a list, the argument or the line.
    pub value: &'a [u8],
    pub problem: Problem,
}

/// A line of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLine<'a> {
    /// [`ConfigFile::path`].
    pub path: &'a [u8],
    /// From 1.
    pub line: usize,
}

/// Declares an enum whose variants (with or without one payload) each have a message on their
/// line, in the manner of [`words!`](crate::words): `text()` gives it, the messages being kept
/// in one string.
macro_rules! messages {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident $(($($payload:ty),+))? = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant $(($($payload),+))? ),+
        }

        impl $name {
            /// Every message, in declaration order, each followed by `\x1f`.
            const TEXTS: &'static str = concat!($($text, "\x1f"),+);

            /// The message (its holes: [`CliError::write`]).
            pub fn text(self) -> &'static str {
                /// The variants' positions.
                #[allow(dead_code)]
                enum Position {
                    $($variant),+
                }
                let position = match self {
                    $( $name::$variant { .. } => Position::$variant as usize ),+
                };
                crate::num::part(Self::TEXTS, 0x1f, position)
            }
        }
    };
}

messages! {
    /// What is wrong with [`CliError::value`], and what is allowed instead.
    pub enum Problem {
        /// An argument that is neither `--FLAG` nor `-F`.
        NotAFlag = "unexpected argument '{v}'",
        UnknownFlag = "unknown flag '{v}'",
        UnknownKey = "unknown key '{v}'",
        /// A config file line that is not `key = value`.
        NotKeyValue = "expected KEY = VALUE, got '{v}'",
        /// A switch, or `config`, in the config file.
        NotInFile = "not allowed in a config file",
        MissingValue = "missing value",
        /// A switch given `=VALUE`.
        TakesNoValue = "takes no value, got '{v}'",
        NotANumber = "'{v}' is not a number",
        /// Below the smallest number the flag takes, which takes any larger.
        BelowMin(u64) = "{v} is below the minimum {n}",
        /// Above the largest number the flag takes, which takes any smaller.
        AboveMax(u64) = "{v} is above the maximum {n}",
        /// Outside the numbers the flag takes.
        Outside(u64, u64) = "{v} is outside {n}..{m}",
        /// Not one of the words of a vocabulary.
        NotIn(&'static Vocabulary) = "unknown {s} '{v}' ({w})",
        /// Empty, longer than [`PATH_MAX`] or holding a NUL byte.
        NotAPath = "'{v}' is not a path (1 to {n} bytes, no NUL)",
        NotAbsolute = "'{v}' is not an absolute path",
        /// Not a user or unit name of 1 to this many bytes: empty, `.`, `..`, or with a `/` or a
        /// control character.
        NotAName(usize) = "'{v}' is not a name (1 to {n} bytes; no '/', control characters, '.' or '..')",
        /// Not of this form (`ADDR:PORT`, ...).
        Expected(&'static str) = "expected {s}, got '{v}'",
        /// One value too many for a list of this capacity.
        TooMany(usize) = "'{v}' is one too many (at most {n})",
        /// One user too many: `--user` names and `--user-service` owners share [`MAX_USERS`].
        TooManyUsers = "'{v}' is one user too many (at most {n} --user names and --user-service owners)",
        /// A warning threshold of a free percent below its critical one, this [`Limit`] (the
        /// error's flag is the warning's).
        WarnBelowCrit(Limit) = "must be at least --{s}",
        /// A warning threshold of a limit above its critical one, this [`Limit`].
        WarnAboveCrit(Limit) = "must be at most --{s}",
        /// A config file value that starts or ends with `"` or `'` (write it bare).
        Quoted = "quotes are not allowed",
    }
}

/// How messages name the words of a [`words!`](crate::words) enum:
/// `unknown NOUN 'x' (PLURAL: a, b)`.
#[derive(Debug, PartialEq, Eq)]
pub struct Vocabulary {
    pub noun: &'static str,
    pub plural: &'static str,
    /// The enum's `WORDS`.
    pub words: &'static str,
}

/// A [`words!`](crate::words) enum whose values a flag takes.
pub trait Named: Word {
    const VOCABULARY: &'static Vocabulary;
}

impl Named for Check {
    const VOCABULARY: &'static Vocabulary = &Vocabulary {
        noun: "check",
        plural: "checks",
        words: <Check as Word>::WORDS,
    };
}

impl Named for Format {
    const VOCABULARY: &'static Vocabulary = &Vocabulary {
        noun: "format",
        plural: "formats",
        words: <Format as Word>::WORDS,
    };
}

impl Named for Repair {
    const VOCABULARY: &'static Vocabulary = &Vocabulary {
        noun: "fix",
        plural: "fixes",
        words: <Repair as Word>::WORDS,
    };
}

impl CliError<'_> {
    /// The numbers in the message (`{n}`, `{m}`): the bounds the value crossed, the longest
    /// name or path, or the capacity of a list.
    pub fn numbers(&self) -> (u64, u64) {
        match self.problem {
            Problem::BelowMin(min) => (min, 0),
            Problem::AboveMax(max) => (max, 0),
            Problem::Outside(min, max) => (min, max),
            Problem::NotAName(n) | Problem::TooMany(n) => (n as u64, 0),
            Problem::NotAPath => (PATH_MAX as u64, 0),
            Problem::TooManyUsers => (MAX_USERS as u64, 0),
            _ => (0, 0),
        }
    }

    /// The message, without `nodepulse: ` before it or a newline after it.
    pub fn write(&self, out: &mut Out) {
        if let Some(at) = self.at {
            out.bytes(at.path);
            out.str(":");
            out.u64(at.line as u64);
            out.str(": ");
        }
        if !self.flag.is_empty() {
            if self.at.is_none() {
                out.str("--");
            }
            out.bytes(self.flag);
            out.str(": ");
        }
        // The holes: `{v}` the offending value, `{s}` the problem's name, `{n}` and `{m}` its
        // numbers, `{w}` the vocabulary's words ([`Problem::words`]).
        let (n, m) = self.numbers();
        out.fill(self.problem.text(), &mut |out, hole| match hole {
            b'v' => out.bytes(self.value),
            b's' => out.str(self.problem.name()),
            b'n' => out.u64(n),
            b'm' => out.u64(m),
            _ => self.problem.words(out),
        });
    }
}

impl Problem {
    /// The name in the message (`{s}`): the vocabulary's noun, the form, the critical threshold.
    pub fn name(self) -> &'static str {
        match self {
            Problem::NotIn(vocabulary) => vocabulary.noun,
            Problem::Expected(form) => form,
            Problem::WarnBelowCrit(crit) | Problem::WarnAboveCrit(crit) => crit.as_str(),
            _ => "",
        }
    }

    /// The vocabulary's words in the message (`{w}`): `PLURAL: a, b, c`.
    fn words(self, out: &mut Out) {
        if let Problem::NotIn(vocabulary) = self {
            out.str(vocabulary.plural);
            let mut sep = ": ";
            for word in
                crate::num::pieces(vocabulary.words.as_bytes(), 0x1f).filter(|w| !w.is_empty())
            {
                out.str(sep);
                out.bytes(word);
                sep = ", ";
            }
        }
    }
}

/// An error about `value` (of the flag `flag`, when not empty).
fn bad<'a, T>(flag: &'a [u8], value: &'a [u8], problem: Problem) -> Result<T, CliError<'a>> {
    Err(CliError {
        at: None,
        flag,
        value,
        problem,
    })
}

/// What a validator refused: the bytes and why (the caller knows the flag and the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rejected<'a> {
    value: &'a [u8],
    problem: Problem,
}

impl<'a> Rejected<'a> {
    /// The error of the flag (or key) `flag`.
    fn of(self, flag: &'a [u8]) -> CliError<'a> {
        CliError {
            at: None,
            flag,
            value: self.value,
            problem: self.problem,
        }
    }
}

fn reject<T>(value: &[u8], problem: Problem) -> Result<T, Rejected<'_>> {
    Err(Rejected { value, problem })
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

/// The `--config` file: its path (for messages) and its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigFile<'a> {
    pub path: &'a [u8],
    pub bytes: &'a [u8],
}

/// What the command line asks for besides a run's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Run,
    Help,
    Version,
}

/// Parses `args` (with `args[0]` the program name) over the config file, if any.
pub fn parse<'a>(
    args: &[&'a [u8]],
    config_file: Option<ConfigFile<'a>>,
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
    config_file: Option<ConfigFile<'a>>,
    cfg: &mut Config<'a>,
) -> Result<Action, CliError<'a>> {
    if let Some(file) = config_file {
        for (i, line) in crate::num::lines(file.bytes).enumerate() {
            let at = Some(FileLine {
                path: file.path,
                line: i + 1,
            });
            config_line(cfg, line).map_err(|e| CliError { at, ..e })?;
        }
    }
    let mut replaced = Set::<List>::EMPTY;
    let mut it = args.get(1..).unwrap_or(&[]).iter();
    while let Some(&arg) = it.next() {
        let flag = match arg {
            [b'-', b'-', flag @ ..] => flag,
            [b'-', letter] => core::slice::from_ref(letter),
            _ => return bad(b"", arg, Problem::NotAFlag),
        };
        let (name, inline) = match flag.iter().position(|&b| b == b'=') {
            Some(eq) => (flag.get(..eq).unwrap_or(&[]), flag.get(eq + 1..)),
            None => (flag, None),
        };
        let Some(key) = Key::of(name) else {
            return bad(b"", arg, Problem::UnknownFlag);
        };
        let value = match (key.takes(), inline, it.as_slice().first()) {
            (Takes::Nothing, None, _) => &[][..],
            (Takes::Nothing, Some(v), _) => return bad(name, v, Problem::TakesNoValue),
            (_, Some(v), _) => v,
            (_, None, Some(&v)) => {
                it.next();
                v
            }
            (_, None, None) => return bad(name, b"", Problem::MissingValue),
        };
        if let Takes::ListItem(list) = key.takes() {
            if !replaced.contains(list) {
                replaced = replaced.with(list);
                cfg.clear(list);
            }
        }
        let action = apply(cfg, key, name, value)?;
        if let Some(action) = action {
            return Ok(action);
        }
    }
    // --user's names (distinct already) and the owners of user services share MAX_USERS slots.
    let mut distinct = cfg.users.clone();
    for name in cfg.services.iter().filter_map(|s| s.user) {
        if !distinct.contains(&name) && distinct.push(name).is_err() {
            return bad(
                Flag::UserService.as_str().as_bytes(),
                name,
                Problem::TooManyUsers,
            );
        }
    }
    if cfg.mounts.is_empty() {
        let _ = cfg.mounts.push(b"/");
    }
    if let Some(pair) = cfg.thresholds.misordered() {
        let problem = match pair.worse {
            Worse::Lower => Problem::WarnBelowCrit(pair.crit),
            Worse::Higher => Problem::WarnAboveCrit(pair.crit),
        };
        return bad(pair.warn.as_str().as_bytes(), b"", problem);
    }
    Ok(Action::Run)
}

/// One config file line: `key = value`, blank, or a comment (from a `#` at the start or after
/// whitespace to the end of the line). A value that starts or ends with a quote is refused
/// ([`Problem::Quoted`]), never kept with its quotes.
fn config_line<'a>(cfg: &mut Config<'a>, line: &'a [u8]) -> Result<(), CliError<'a>> {
    // A comment starts at a `#` that begins the line or follows whitespace; `a#b` keeps its `#`.
    let mut prev = b' ';
    let comment = line.iter().position(|&b| {
        let starts = b == b'#' && prev.is_ascii_whitespace();
        prev = b;
        starts
    });
    let line = trim(line.get(..comment.unwrap_or(line.len())).unwrap_or(line));
    if line.is_empty() {
        return Ok(());
    }
    let Some(eq) = line.iter().position(|&b| b == b'=') else {
        return bad(b"", line, Problem::NotKeyValue);
    };
    let name = trim(line.get(..eq).unwrap_or(&[]));
    let value = trim(line.get(eq + 1..).unwrap_or(&[]));
    // Quotes would silently become part of the value (a user named `"root"`).
    if let [b'"' | b'\'', ..] | [.., b'"' | b'\''] = value {
        return bad(name, value, Problem::Quoted);
    }
    match Key::of(name) {
        None => bad(b"", name, Problem::UnknownKey),
        Some(Key::Flag(Flag::Config)) => bad(name, b"", Problem::NotInFile),
        Some(key) if key.takes() == Takes::Nothing => bad(name, b"", Problem::NotInFile),
        Some(key) => apply(cfg, key, name, value).map(drop),
    }
}

/// [`set`], the error naming the flag as it was written (`name`): one conversion of the error
/// for the command line and the config file.
fn apply<'a>(
    cfg: &mut Config<'a>,
    key: Key,
    name: &'a [u8],
    value: &'a [u8],
) -> Result<Option<Action>, CliError<'a>> {
    set(cfg, key, value).map_err(|r| r.of(name))
}

/// Sets what `key` sets from `value`, through its validator; `--help` and `--version` end the
/// parse with their [`Action`].
fn set<'a>(
    cfg: &mut Config<'a>,
    key: Key,
    value: &'a [u8],
) -> Result<Option<Action>, Rejected<'a>> {
    let flag = match key {
        Key::Flag(flag) => flag,
        Key::Limit(limit) => {
            *cfg.thresholds.field(limit) = number(value, 0, limit.max())?;
            return Ok(None);
        }
    };
    match flag {
        Flag::Help | Flag::H => return Ok(Some(Action::Help)),
        Flag::Version | Flag::V => return Ok(Some(Action::Version)),
        Flag::FixDryRun => cfg.fix_dry_run = true,
        Flag::Root => {
            path(value)?;
            cfg.root = value;
        }
        // Read by the caller, who found it with config_path().
        Flag::Config => path(value)?,
        Flag::User => {
            name(value, NAME_MAX)?;
            add(&mut cfg.users, value, value)?
        }
        Flag::Service => {
            name(value, UNIT_MAX)?;
            add(
                &mut cfg.services,
                ServiceArg {
                    user: None,
                    name: value,
                },
                value,
            )?
        }
        Flag::UserService => {
            let Some(colon) = value.iter().position(|&b| b == b':') else {
                return reject(value, Problem::Expected("USER:NAME"));
            };
            let user = value.get(..colon).unwrap_or(&[]);
            let unit = value.get(colon + 1..).unwrap_or(&[]);
            name(user, NAME_MAX)?;
            name(unit, UNIT_MAX)?;
            add(
                &mut cfg.services,
                ServiceArg {
                    user: Some(user),
                    name: unit,
                },
                value,
            )?
        }
        Flag::Mount => {
            absolute_path(value)?;
            add(&mut cfg.mounts, value, value)?
        }
        Flag::Skip | Flag::Only => {
            let named: Checks = list(value)?;
            cfg.checks = if flag == Flag::Skip {
                cfg.checks.minus(named)
            } else {
                named
            };
        }
        Flag::Format => {
            cfg.format = Format::from_word(value).ok_or(not_in::<Format>(value))?;
        }
        Flag::Out => add_sink(cfg, SinkKind::Replace, value)?,
        Flag::Append => add_sink(cfg, SinkKind::Append, value)?,
        Flag::Udp => add_sink(cfg, SinkKind::Udp, value)?,
        Flag::MaxBytes => cfg.max_bytes = number(value, 1024, u64::MAX)?,
        Flag::KeyFile => {
            path(value)?;
            cfg.key_file = Some(value);
        }
        Flag::Timeout => cfg.timeout_s = number(value, 1, 3600)?,
        Flag::State => {
            path(value)?;
            cfg.state = Some(value);
        }
        Flag::NtpServer => {
            ntp_server(value)?;
            cfg.ntp_server = Some(value);
        }
        Flag::Fix => cfg.fixes = list(value)?,
    }
    Ok(None)
}

/// A path the agent may open: not empty, at most [`PATH_MAX`] bytes, no NUL.
fn path(value: &[u8]) -> Result<(), Rejected<'_>> {
    if value.is_empty() || value.len() > PATH_MAX || crate::num::has(value, 0) {
        return reject(value, Problem::NotAPath);
    }
    Ok(())
}

/// A [`path`] that starts at `/`.
fn absolute_path(value: &[u8]) -> Result<(), Rejected<'_>> {
    path(value)?;
    match value {
        [b'/', ..] => Ok(()),
        _ => reject(value, Problem::NotAbsolute),
    }
}

/// A user or unit name: 1 to `max` bytes, not `.` or `..`, no `/` or control character.
fn name(value: &[u8], max: usize) -> Result<(), Rejected<'_>> {
    let fine = !value.is_empty()
        && value.len() <= max
        && value != b"."
        && value != b".."
        && !value.iter().any(|&b| b == b'/' || b < b' ' || b == 0x7f);
    if fine {
        Ok(())
    } else {
        reject(value, Problem::NotAName(max))
    }
}

/// A decimal in `min..=max`.
fn number(value: &[u8], min: u64, max: u64) -> Result<u64, Rejected<'_>> {
    let problem = match parse_u64(value) {
        None => Problem::NotANumber,
        Some(n) if (min..=max).contains(&n) => return Ok(n),
        // The message names the bound that is set, or both.
        Some(_) if max == u64::MAX => Problem::BelowMin(min),
        Some(_) if min == 0 => Problem::AboveMax(max),
        Some(_) => Problem::Outside(min, max),
    };
    reject(value, problem)
}

/// The error for `word`, which is not one of `E`'s words.
fn not_in<E: Named>(word: &[u8]) -> Rejected<'_> {
    Rejected {
        value: word,
        problem: Problem::NotIn(E::VOCABULARY),
    }
}

/// A comma-separated list of `E`'s words (`clock,disk`).
fn list<E: Named>(value: &[u8]) -> Result<Set<E>, Rejected<'_>> {
    Set::parse_list(value).map_err(not_in::<E>)
}

/// `--ntp-server ADDR[:PORT]`.
#[inline(never)] // out of line: measured smaller on i686 and x86_64
fn ntp_server(value: &[u8]) -> Result<(), Rejected<'_>> {
    let mut buf = [0u8; crate::parse::addr::SERVER_CAP];
    let target = crate::parse::addr::with_ntp_port(value, &mut buf);
    if target.is_none_or(crate::parse::addr::is_syntax_error) {
        return reject(value, Problem::Expected("ADDR[:PORT]"));
    }
    Ok(())
}

/// Adds `item` to `list` unless it is there already; a full list refuses `value`.
fn add<'a, T: PartialEq, const N: usize>(
    list: &mut Vec<T, N>,
    item: T,
    value: &'a [u8],
) -> Result<(), Rejected<'a>> {
    if !list.contains(&item) && list.push(item).is_err() {
        return reject(value, Problem::TooMany(N));
    }
    Ok(())
}

/// `--out`, `--append` (a [`path`]) or `--udp` (`ADDR:PORT`), each `[FORMAT:]TARGET`.
fn add_sink<'a>(cfg: &mut Config<'a>, kind: SinkKind, value: &'a [u8]) -> Result<(), Rejected<'a>> {
    let (format, target) = split_format(value);
    if kind != SinkKind::Udp {
        path(target)?;
    } else if crate::parse::addr::is_syntax_error(target) {
        return reject(value, Problem::Expected("ADDR:PORT"));
    }
    let sink = SinkArg {
        kind,
        format,
        target,
    };
    cfg.sinks
        .push(sink)
        .or(reject(value, Problem::TooMany(MAX_SINKS)))
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

/// `--help`.
pub const HELP: &str = "\
nodepulse - one-shot health record of a Linux edge node (every flag: README.md)
  --root DIR  --config FILE  --user NAME  --service NAME  --user-service USER:NAME
  --mount PATH  --skip/--only clock,timesync,linger,service,disk,memory,system
  --format line|json|influx|prom|nagios|text  --out|--append|--udp [FORMAT:]TARGET
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
    use crate::verdict::Pair;

    fn run<'a>(args: &[&'a str], file: Option<&'a str>) -> Result<Config<'a>, CliError<'a>> {
        let mut argv: std::vec::Vec<&[u8]> = vec![b"nodepulse"];
        argv.extend(args.iter().map(|a| a.as_bytes()));
        let file = file.map(|f| ConfigFile {
            path: b"/etc/nodepulse.conf",
            bytes: f.as_bytes(),
        });
        match parse(&argv, file)? {
            Command::Run(cfg) => Ok(cfg),
            other => panic!("expected run, got {other:?}"),
        }
    }

    /// The message the agent prints after `nodepulse: `.
    fn message(args: &[&str], file: Option<&str>) -> String {
        let e = run(args, file).expect_err("an error");
        let mut buf = [0u8; 1024];
        let mut out = Out::new(&mut buf);
        e.write(&mut out);
        String::from_utf8(out.finish().expect("fits").to_vec()).unwrap()
    }

    fn checks(names: &[Check]) -> Checks {
        names.iter().fold(Checks::EMPTY, |set, &c| set.with(c))
    }

    /// Every flag's word lands on its own flag; what each takes is declared by name.
    #[test]
    fn the_flag_table() {
        assert_eq!(SinkKind::Replace.flag(), "--out");
        assert_eq!(SinkKind::Append.flag(), "--append");
        assert_eq!(SinkKind::Udp.flag(), "--udp");
        for &flag in Flag::ALL {
            assert_eq!(
                Key::of(flag.as_str().as_bytes()),
                Some(Key::Flag(flag)),
                "{flag:?}"
            );
        }
        for &limit in Limit::ALL {
            assert_eq!(
                Key::of(limit.as_str().as_bytes()),
                Some(Key::Limit(limit)),
                "{limit:?}"
            );
            assert_eq!(Key::Limit(limit).takes(), Takes::Value);
        }
        assert_eq!(Key::of(b"roo"), None);
        assert_eq!(Key::of(b""), None);
        assert_eq!(Flag::from_word(b"user-service"), Some(Flag::UserService));
        assert_eq!(Flag::Help.takes(), Takes::Nothing);
        assert_eq!(Flag::FixDryRun.takes(), Takes::Nothing);
        assert_eq!(Flag::Timeout.takes(), Takes::Value);
        assert_eq!(Flag::Mount.takes(), Takes::ListItem(List::Mounts));
        assert_eq!(
            Flag::Udp.takes(),
            Flag::Out.takes(),
            "the sinks are one list"
        );
        assert_ne!(Flag::Service.takes(), Flag::UserService.takes());
        assert_eq!(Format::from_word(b"nagios"), Some(Format::Nagios));
        assert_eq!(Format::from_word(b"line json"), None);
    }

    #[test]
    fn defaults() {
        let cfg = run(&[], None).unwrap();
        assert_eq!(cfg.root, b"/");
        assert_eq!(cfg.mounts.as_slice(), &[b"/" as &[u8]]);
        assert_eq!(cfg.checks, Checks::all());
        assert!(Check::ALL.iter().all(|&c| cfg.runs(c)));
        assert_eq!(cfg.fixes, Repairs::EMPTY);
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
                "--fix",
                "timesync, linger",
                "--timeout=3600",
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
        assert_eq!(
            cfg.checks,
            Checks::all().without(Check::Clock).without(Check::System)
        );
        assert!(!cfg.runs(Check::Clock) && cfg.runs(Check::Disk));
        assert_eq!(cfg.fixes, Repairs::all());
        assert_eq!(cfg.timeout_s, 3600);
        assert_eq!(
            run(&["--only", "disk"], None).unwrap().checks,
            checks(&[Check::Disk])
        );
        assert_eq!(
            run(&["--fix", "linger"], None).unwrap().fixes,
            Repairs::EMPTY.with(Repair::Linger)
        );
        let limits = [
            "--inodes-free-crit",
            "1",
            "--ntp-offset-warn-ms=1",
            "--ntp-offset-crit-ms=2",
            "--sync-age-warn-s",
            "9",
        ];
        let t = run(&limits, None).unwrap().thresholds;
        assert_eq!(
            (
                t.inodes_free_crit_pct,
                t.ntp_offset_crit_ms,
                t.sync_age_warn_s
            ),
            (1, 2, 9)
        );
        assert!(
            run(
                &["--offset-warn-ms", "1000", "--disk-free-crit", "10"],
                None
            )
            .is_ok(),
            "equal is fine"
        );
        assert_eq!(
            run(&["--offset-crit-ms", "1000000000000"], None)
                .unwrap()
                .thresholds
                .offset_crit_ms,
            1_000_000_000_000
        );
    }

    /// Every message form, byte for byte.
    #[test]
    fn messages_name_what_is_allowed() {
        for (args, want) in [
            (&["--max-bytes", "1000"][..], "--max-bytes: 1000 is below the minimum 1024"),
            (&["--disk-free-warn", "101"], "--disk-free-warn: 101 is above the maximum 100"),
            (&["--offset-warn-ms", "1000000000001"], "--offset-warn-ms: 1000000000001 is above the maximum 1000000000000"),
            (&["--timeout", "0"], "--timeout: 0 is outside 1..3600"),
            (&["--timeout=3601"], "--timeout: 3601 is outside 1..3600"),
            (&["--timeout", "x"], "--timeout: 'x' is not a number"),
            (&["--disk-free-warn", "-1"], "--disk-free-warn: '-1' is not a number"),
            (&["--offset-warn-ms", "99999999999999999999"], "--offset-warn-ms: '99999999999999999999' is not a number"),
            (
                &["--skip", "memroy"],
                "--skip: unknown check 'memroy' (checks: clock, timesync, linger, service, disk, memory, system)",
            ),
            (
                &["--only", "clock, memroy"],
                "--only: unknown check 'memroy' (checks: clock, timesync, linger, service, disk, memory, system)",
            ),
            (&["--format", "xml"], "--format: unknown format 'xml' (formats: line, json, influx, prom, nagios, text)"),
            (&["--fix", "x"], "--fix: unknown fix 'x' (fixes: linger, timesync)"),
            (&["--fix", "linger,"], "--fix: unknown fix '' (fixes: linger, timesync)"),
            (&["--frobnicate"], "unknown flag '--frobnicate'"),
            (&["--frob=1"], "unknown flag '--frob=1'"),
            (&["-x"], "unknown flag '-x'"),
            (&["stray"], "unexpected argument 'stray'"),
            (&["-hx"], "unexpected argument '-hx'"),
            (&["--root"], "--root: missing value"),
            (&["--fix-dry-run=1"], "--fix-dry-run: takes no value, got '1'"),
            (&["--root", ""], "--root: '' is not a path (1 to 256 bytes, no NUL)"),
            (&["--state", ""], "--state: '' is not a path (1 to 256 bytes, no NUL)"),
            (&["--key-file="], "--key-file: '' is not a path (1 to 256 bytes, no NUL)"),
            (&["--append", "prom:"], "--append: '' is not a path (1 to 256 bytes, no NUL)"),
            (&["--mount", "relative"], "--mount: 'relative' is not an absolute path"),
            (
                &["--user", "../etc"],
                "--user: '../etc' is not a name (1 to 64 bytes; no '/', control characters, '.' or '..')",
            ),
            (
                &["--user-service", "node:"],
                "--user-service: '' is not a name (1 to 200 bytes; no '/', control characters, '.' or '..')",
            ),
            (&["--user-service", "nocolon"], "--user-service: expected USER:NAME, got 'nocolon'"),
            (&["--udp", "nocolon"], "--udp: expected ADDR:PORT, got 'nocolon'"),
            (&["--udp", "influx:host:99999"], "--udp: expected ADDR:PORT, got 'influx:host:99999'"),
            (&["--ntp-server", "[::1"], "--ntp-server: expected ADDR[:PORT], got '[::1'"),
            (&["--disk-free-warn", "3"], "--disk-free-warn: must be at least --disk-free-crit"),
            (&["--inodes-free-crit", "50"], "--inodes-free-warn: must be at least --inodes-free-crit"),
            (&["--mem-avail-warn", "4"], "--mem-avail-warn: must be at least --mem-avail-crit"),
            (&["--offset-warn-ms", "2000"], "--offset-warn-ms: must be at most --offset-crit-ms"),
            (&["--maxerror-crit-ms", "100"], "--maxerror-warn-ms: must be at most --maxerror-crit-ms"),
            (&["--ntp-offset-warn-ms", "60001"], "--ntp-offset-warn-ms: must be at most --ntp-offset-crit-ms"),
        ] {
            assert_eq!(message(args, None), want, "{args:?}");
        }
        let mut many: std::vec::Vec<&str> = std::vec::Vec::new();
        for user in ["a", "b", "c", "d", "e"] {
            many.extend(["--user", user]);
        }
        assert_eq!(
            message(&many, None),
            "--user: 'e' is one too many (at most 4)"
        );
        let mut sinks: std::vec::Vec<&str> = std::vec::Vec::new();
        for _ in 0..9 {
            sinks.extend(["--udp", "127.0.0.1:9"]);
        }
        assert_eq!(
            message(&sinks, None),
            "--udp: '127.0.0.1:9' is one too many (at most 8)"
        );
        // Users and the owners of user services count together; each name once.
        let owners = [
            "--user",
            "a",
            "--user",
            "b",
            "--user-service",
            "a:x",
            "--user-service",
            "c:x",
            "--user-service",
            "c:y",
            "--user-service",
            "d:x",
        ];
        assert!(run(&owners, None).is_ok());
        assert_eq!(
            message(&[&owners[..], &["--user-service", "e:x"]].concat(), None),
            "--user-service: 'e' is one user too many (at most 4 --user names and --user-service owners)"
        );
    }

    /// Config file errors name the file and the line (from 1), and the key as written there.
    #[test]
    fn config_file_messages() {
        for (file, want) in [
            ("user = node\n# x\nmonut = /data\n", "/etc/nodepulse.conf:3: unknown key 'monut'"),
            ("\n\nuser alice\n", "/etc/nodepulse.conf:3: expected KEY = VALUE, got 'user alice'"),
            ("help = 1\n", "/etc/nodepulse.conf:1: help: not allowed in a config file"),
            ("config = /x\n", "/etc/nodepulse.conf:1: config: not allowed in a config file"),
            ("fix-dry-run = 1\n", "/etc/nodepulse.conf:1: fix-dry-run: not allowed in a config file"),
            ("timeout = 0\n", "/etc/nodepulse.conf:1: timeout: 0 is outside 1..3600"),
            ("a = 1", "/etc/nodepulse.conf:1: unknown key 'a'"),
            ("mount = /\nskip = memroy\r\n", "/etc/nodepulse.conf:2: skip: unknown check 'memroy' (checks: clock, timesync, linger, service, disk, memory, system)"),
            ("\nuser = \"root\"\n", "/etc/nodepulse.conf:2: user: quotes are not allowed"),
            ("user = 'root' # me\n", "/etc/nodepulse.conf:1: user: quotes are not allowed"),
            ("mount = /data\"\n", "/etc/nodepulse.conf:1: mount: quotes are not allowed"),
            ("user = # nobody\n", "/etc/nodepulse.conf:1: user: '' is not a name (1 to 64 bytes; no '/', control characters, '.' or '..')"),
        ] {
            assert_eq!(message(&[], Some(file)), want, "{file:?}");
        }
        // Settings judged together are nobody's line.
        assert_eq!(
            message(&[], Some("disk-free-crit = 20\n")),
            "--disk-free-warn: must be at least --disk-free-crit"
        );
    }

    /// A comment starts at a `#` after whitespace; a `#` inside a value stays.
    #[test]
    fn config_file_inline_comments() {
        let file = "user = root # me\nuser = a#b\t# tab before it\nmount = /data/a#b\nmount=/x #\nkey-file = /k#\n";
        let cfg = run(&[], Some(file)).unwrap();
        assert_eq!(cfg.users.as_slice(), &[b"root" as &[u8], b"a#b"]);
        assert_eq!(cfg.mounts.as_slice(), &[b"/data/a#b" as &[u8], b"/x"]);
        assert_eq!(cfg.key_file, Some(&b"/k#"[..]));
        let e = run(&[], Some("user = \"root\"")).unwrap_err();
        assert_eq!(
            (e.flag, e.value, e.problem),
            (&b"user"[..], &b"\"root\""[..], Problem::Quoted)
        );
        // Quotes inside a value are part of it; the command line is the shell's business.
        assert_eq!(
            run(&[], Some("user = o'brien\n")).unwrap().users.as_slice(),
            &[b"o'brien" as &[u8]]
        );
        assert_eq!(
            run(&["--user", "\"root\""], None).unwrap().users.as_slice(),
            &[b"\"root\"" as &[u8]]
        );
    }

    /// The errors as values: the flag, the offending bytes, the problem and where.
    #[test]
    fn errors_as_values() {
        let e = run(&["--skip", "clock,bogus"], None).unwrap_err();
        assert_eq!((e.at, e.flag, e.value), (None, &b"skip"[..], &b"bogus"[..]));
        assert_eq!(e.problem, Problem::NotIn(Check::VOCABULARY));
        assert_eq!(
            run(&["--timeout", "0"], None).unwrap_err().problem,
            Problem::Outside(1, 3600)
        );
        assert_eq!(
            run(&["--max-bytes", "10"], None).unwrap_err().problem,
            Problem::BelowMin(1024)
        );
        assert_eq!(
            run(&["--mem-avail-crit", "101"], None).unwrap_err().problem,
            Problem::AboveMax(100)
        );
        let e = run(&[], Some("\nbogus = 1\n")).unwrap_err();
        assert_eq!(
            e.at,
            Some(FileLine {
                path: b"/etc/nodepulse.conf",
                line: 2
            })
        );
        assert_eq!(
            (e.flag, e.value, e.problem),
            (&b""[..], &b"bogus"[..], Problem::UnknownKey)
        );
        let e = run(&["--offset-warn-ms", "2000"], None).unwrap_err();
        assert_eq!(e.problem, Problem::WarnAboveCrit(Limit::OffsetCritMs));
        assert_eq!(
            Thresholds {
                offset_warn_ms: 2000,
                ..Thresholds::default()
            }
            .misordered(),
            Some(Pair {
                warn: Limit::OffsetWarnMs,
                crit: Limit::OffsetCritMs,
                worse: Worse::Higher
            })
        );
        assert_eq!(Problem::NotAFlag.text(), "unexpected argument '{v}'");
        assert_eq!(
            Problem::WarnAboveCrit(Limit::OffsetCritMs).text(),
            "must be at most --{s}"
        );
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
            cfg.sinks.as_slice(),
            &[
                SinkArg {
                    kind: SinkKind::Replace,
                    format: Some(Format::Prom),
                    target: b"/var/lib/ne/np.prom"
                },
                SinkArg {
                    kind: SinkKind::Udp,
                    format: Some(Format::Influx),
                    target: b"[::1]:8089"
                },
                SinkArg {
                    kind: SinkKind::Udp,
                    format: None,
                    target: b"127.0.0.1:9"
                },
                SinkArg {
                    kind: SinkKind::Append,
                    format: None,
                    target: b"/var/log/np.log"
                },
            ]
        );
        assert_eq!(cfg.max_bytes, 4096);
        // A prefix that is not a format is part of the path.
        assert_eq!(
            run(&["--out", "data:x"], None).unwrap().sinks[0].target,
            b"data:x"
        );
        assert!(
            run(&["--udp", "collector:8089"], None).is_ok(),
            "names are resolved when sending"
        );
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(&[b"np", b"--help"], None), Ok(Command::Help));
        assert_eq!(parse(&[b"np", b"-V"], None), Ok(Command::Version));
        assert_eq!(parse(&[b"np", b"-h"], None), Ok(Command::Help));
        assert_eq!(parse(&[b"np", b"--version"], None), Ok(Command::Version));
        assert_eq!(
            parse(&[b"np", b"--root", b"/x", b"--help", b"--bogus"], None),
            Ok(Command::Help)
        );
        assert!(run(&["--fix-dry-run"], None).unwrap().fix_dry_run);
    }

    #[test]
    fn config_file_and_overrides() {
        let file = "# nodepulse\nuser = alice\nuser = bob\nmount = /data\n\ndisk-free-warn = 30\nservice = chrony\nuser-service = alice:app\nudp = 127.0.0.1:9\nappend = /var/log/np.log\n";
        let cfg = run(&[], Some(file)).unwrap();
        assert_eq!(cfg.users.as_slice(), &[b"alice" as &[u8], b"bob"]);
        assert_eq!(cfg.thresholds.disk_free_warn_pct, 30);
        assert_eq!(cfg.services.len(), 2);
        assert_eq!(cfg.sinks.len(), 2);
        // Flags win: a scalar is overridden, a list is replaced (only that list; the three sink
        // flags are one list).
        let cfg = run(
            &[
                "--disk-free-warn",
                "15",
                "--user",
                "carol",
                "--service",
                "sshd",
                "--out",
                "/tmp/np",
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
            cfg.sinks.as_slice(),
            &[SinkArg {
                kind: SinkKind::Replace,
                format: None,
                target: b"/tmp/np"
            }]
        );
        // A second flag of a replaced list adds to it.
        let cfg = run(
            &[
                "--user-service",
                "x:a",
                "--user-service",
                "y:b",
                "--udp",
                "127.0.0.1:1",
            ],
            Some(file),
        )
        .unwrap();
        assert_eq!(cfg.services.len(), 3, "chrony from the file, x:a and y:b");
        assert_eq!(cfg.sinks.len(), 1);
        assert_eq!(
            config_path(&[b"np", b"--config", b"/etc/np.conf"]),
            Some(&b"/etc/np.conf"[..])
        );
        assert_eq!(config_path(&[b"np", b"--config=/x"]), Some(&b"/x"[..]));
    }

    /// The default state file is kept only on `/` by a run with a sink (cron's, not a hand
    /// run's); `--state PATH` always wins, `--state none` keeps none.
    #[test]
    fn state_path_default_only_on_the_real_root_with_a_sink() {
        let state = |args: &[&str]| run(args, None).unwrap().state_path().map(<[u8]>::to_vec);
        assert_eq!(state(&[]), None, "a hand run that only prints");
        assert_eq!(state(&["--out", "/x"]), Some(DEFAULT_STATE.to_vec()));
        assert_eq!(state(&["--append", "/x"]), Some(DEFAULT_STATE.to_vec()));
        assert_eq!(
            state(&["--udp", "127.0.0.1:9"]),
            Some(DEFAULT_STATE.to_vec())
        );
        assert_eq!(
            state(&["--root", "/tmp/r", "--out", "/x"]),
            None,
            "another root"
        );
        assert_eq!(state(&["--state", "/s"]), Some(b"/s".to_vec()));
        assert_eq!(
            state(&["--root", "/tmp/r", "--state", "/s"]),
            Some(b"/s".to_vec())
        );
        assert_eq!(state(&["--state", "none", "--out", "/x"]), None);
    }
}
