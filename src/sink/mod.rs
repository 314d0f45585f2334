//! Sinks: the only I/O on the way out. A judged record's model is encoded for each sink (its own
//! format or the run's), tagged when a key is given ([`mac`]), and goes to stdout, replaces a
//! file atomically, is appended to a capped log, or is sent as UDP datagrams ([`deliver`]).
//! Messages for the user go to stderr as one line each ([`say`]).
//!
//! Each sink reports its own failure as a [`SinkError`]; [`deliver`] tells the user in one line
//! and goes on with the other sinks. Nothing here allocates.

pub mod file;
pub mod mac;
pub mod udp;

use rustix::io::Errno;

use crate::encode::{Format, Out};
use crate::model::Model;

crate::words! {
    /// Where a record goes besides stdout, named by its flag.
    pub enum SinkKind {
        /// `--out PATH`: replace the file atomically.
        Replace = "--out",
        /// `--append PATH`: append, rotating at `--max-bytes`.
        Append = "--append",
        /// `--udp ADDR:PORT`: one datagram (line protocol: datagrams of whole lines).
        Udp = "--udp",
    }
}

impl SinkKind {
    /// The flag that names this kind of sink (`--out`, `--append`, `--udp`).
    pub fn flag(self) -> &'static str {
        self.as_str()
    }
}

/// One sink: its kind, its own format (`FORMAT:` prefix) and its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkArg<'a> {
    pub kind: SinkKind,
    pub format: Option<Format>,
    pub target: &'a [u8],
}

/// Why a sink failed: the step and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkError {
    pub step: Step,
    pub errno: Option<Errno>,
}

impl SinkError {
    pub fn new(step: Step, errno: Errno) -> SinkError {
        SinkError {
            step,
            errno: Some(errno),
        }
    }
    pub fn plain(step: Step) -> SinkError {
        SinkError { step, errno: None }
    }
}

crate::words! {
    /// The step of a sink that failed, as the user reads it.
    pub enum Step {
        Path = "path",
        CreateTemporary = "create temporary file",
        Chmod = "chmod",
        Write = "write",
        Fsync = "fsync",
        Rename = "rename",
        Open = "open",
        Stat = "stat",
        Rotate = "rotate",
        OpenAfterRotation = "open after rotation",
        Socket = "socket",
        Send = "send",
        ShortSend = "short send",
        RecordTooLong = "record larger than 1232 bytes, not sent",
        LineTooLong = "a line longer than 1232 bytes, not sent",
        NameNotFound = "name not found in /etc/hosts",
    }
}

/// Size of the output buffer: far above the longest record the capacities allow.
pub const OUT_CAP: usize = 16384;

/// Where and how the records of a run go.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The sinks; stdout when there are none.
    pub sinks: &'a [SinkArg<'a>],
    /// The format of stdout and of sinks without their own.
    pub format: Format,
    /// The `--key-file` key for np1's ` mac=` tag.
    pub key: Option<&'a [u8]>,
    /// Cap of an `--append` file before it rotates.
    pub max_bytes: u64,
    /// `/etc/hosts`, read by the caller when a `--udp` target is a name ([`needs_hosts`]).
    pub hosts: Option<&'a [u8]>,
}

/// Whether a `--udp` target names a host rather than an address: then `/etc/hosts` is needed.
pub fn needs_hosts(sinks: &[SinkArg]) -> bool {
    let named = |s: &&SinkArg| crate::parse::addr::resolve(s.target, None).is_err();
    sinks
        .iter()
        .filter(|s| s.kind == SinkKind::Udp)
        .any(|s| named(&s))
}

/// Encodes `model` for each sink and writes it there; every failure is told on stderr in one
/// line (`--udp 192.0.2.1:9: send: network unreachable`) and the other sinks still get the
/// record. `buf` holds each sink's encoding in turn. `true` when every sink took it.
pub fn deliver(model: &Model, to: &Delivery, buf: &mut [u8; OUT_CAP]) -> bool {
    if to.sinks.is_empty() {
        let Some(bytes) = render(model, to.format, to.key, buf) else {
            return false;
        };
        if let Err(e) = write_all(crate::sys::stdout(), bytes) {
            say(&[b"cannot write the record to stdout: ", errno_text(e)]);
            return false;
        }
        return true;
    }
    let mut delivered = true;
    for sink in to.sinks {
        let format = sink.format.unwrap_or(to.format);
        let Some(bytes) = render(model, format, to.key, buf) else {
            return false;
        };
        let result = match sink.kind {
            SinkKind::Replace => file::replace(sink.target, bytes),
            SinkKind::Append => file::append(sink.target, bytes, to.max_bytes),
            SinkKind::Udp => match crate::parse::addr::resolve(sink.target, to.hosts) {
                Ok(addr) => udp::send(&addr, bytes, format == Format::Influx),
                Err(_) => Err(SinkError::plain(Step::NameNotFound)),
            },
        };
        if let Err(e) = result {
            delivered = false;
            report(sink.kind.flag(), sink.target, e);
        }
    }
    delivered
}

/// Tells the user in one line where a record (or the state file) could not go, and why:
/// `--udp 192.0.2.1:9: send: network unreachable`.
pub fn report(flag: &str, target: &[u8], e: SinkError) {
    say(&[
        flag.as_bytes(),
        b" ",
        target,
        b": ",
        e.step.as_str().as_bytes(),
        if e.errno.is_some() { b": " } else { b"" },
        e.errno.map_or(&b""[..], errno_text),
    ]);
}

/// Encodes `model` in `format` into `buf`, np1 tagged with `key`; a record too large for the
/// buffer is told on stderr and `None`.
pub fn render<'b>(
    model: &Model,
    format: Format,
    key: Option<&[u8]>,
    buf: &'b mut [u8; OUT_CAP],
) -> Option<&'b [u8]> {
    let mut out = Out::new(buf);
    format.encode(model, &mut out);
    if let (Format::Line, Some(key)) = (format, key) {
        // ` mac=HEX` before the newline: HMAC-SHA256 of everything before it.
        let line = out.as_bytes();
        let tag = mac::tag(key, line.strip_suffix(b"\n").unwrap_or(line));
        out.truncate(out.len().saturating_sub(1));
        out.str(" mac=");
        out.bytes(&tag);
        out.str("\n");
    }
    if out.finish().is_err() {
        say(&[b"record longer than the output buffer"]);
        return None;
    }
    let len = out.len();
    Some(buf.get(..len).unwrap_or(&[]))
}

/// Writes one line on stderr: `nodepulse: ` + parts, each byte that is not printable ASCII as
/// `?` (a name from the node cannot move the cursor or forge a second line).
pub fn say(parts: &[&[u8]]) {
    let mut buf = [0u8; 1024];
    let mut out = Out::new(&mut buf);
    out.bytes(b"nodepulse: ");
    for part in parts {
        for &b in part.iter() {
            out.bytes(if b.is_ascii_graphic() || b == b' ' {
                core::slice::from_ref(&b)
            } else {
                b"?"
            });
        }
    }
    out.bytes(b"\n");
    let _ = write_all(crate::sys::stderr(), out.as_bytes());
}

crate::words! {
    /// The errors a user can fix, as [`errno_text`] names them.
    enum Known {
        NoEnt = "no such file",
        Access = "permission denied",
        IsDir = "is a directory",
        NameTooLong = "path too long",
        NoSpc = "no space left on device",
        Rofs = "read-only filesystem",
        Pipe = "broken pipe",
        Exist = "file exists",
        Loop = "symlink in the way",
        ConnRefused = "connection refused",
        NetUnreach = "network unreachable",
        NoReader = "no reader (a FIFO) or no device",
        Other = "I/O error",
    }
}

/// The errnos a user can fix, and how [`errno_text`] names them.
const KNOWN: [(Errno, Known); 13] = [
    (Errno::NOENT, Known::NoEnt),
    (Errno::ACCESS, Known::Access),
    (Errno::PERM, Known::Access),
    (Errno::ISDIR, Known::IsDir),
    (Errno::NAMETOOLONG, Known::NameTooLong),
    (Errno::NOSPC, Known::NoSpc),
    (Errno::ROFS, Known::Rofs),
    (Errno::PIPE, Known::Pipe),
    (Errno::EXIST, Known::Exist),
    (Errno::LOOP, Known::Loop),
    (Errno::CONNREFUSED, Known::ConnRefused),
    (Errno::NETUNREACH, Known::NetUnreach),
    (Errno::NXIO, Known::NoReader),
];

/// A short description of an errno a user can fix; `I/O error` for the others.
pub fn errno_text(e: Errno) -> &'static [u8] {
    let known = KNOWN
        .iter()
        .find(|(errno, _)| *errno == e)
        .map_or(Known::Other, |(_, known)| *known);
    known.as_str().as_bytes()
}

/// Writes all of `bytes` to `fd`, retrying short writes and `EINTR`.
pub fn write_all(fd: rustix::fd::BorrowedFd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words follow the variants.
    #[test]
    fn step_texts() {
        for (step, text) in [
            (Step::Path, "path"),
            (Step::CreateTemporary, "create temporary file"),
            (Step::OpenAfterRotation, "open after rotation"),
            (
                Step::RecordTooLong,
                "record larger than 1232 bytes, not sent",
            ),
            (Step::NameNotFound, "name not found in /etc/hosts"),
        ] {
            assert_eq!(step.as_str(), text, "{step:?}");
        }
        assert_eq!(Step::ALL.len(), 16);
        assert_eq!(SinkKind::Udp.flag(), "--udp");
        assert_eq!(SinkKind::from_word(b"--append"), Some(SinkKind::Append));
    }

    /// The errno table names the right errors (rustix's constants are the reference).
    #[test]
    fn errno_texts() {
        for (e, text) in [
            (Errno::NOENT, "no such file"),
            (Errno::ACCESS, "permission denied"),
            (Errno::PERM, "permission denied"),
            (Errno::ISDIR, "is a directory"),
            (Errno::NAMETOOLONG, "path too long"),
            (Errno::NOSPC, "no space left on device"),
            (Errno::ROFS, "read-only filesystem"),
            (Errno::PIPE, "broken pipe"),
            (Errno::EXIST, "file exists"),
            (Errno::LOOP, "symlink in the way"),
            (Errno::CONNREFUSED, "connection refused"),
            (Errno::NETUNREACH, "network unreachable"),
            (Errno::IO, "I/O error"),
            (Errno::NOMEM, "I/O error"),
        ] {
            assert_eq!(errno_text(e), text.as_bytes(), "{e:?}");
        }
    }
}
