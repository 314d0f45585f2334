//! `--http`: a small HTTP/1.1 server on its own threads, answering from snapshots of the table
//! (never from the table itself, so nothing a client does can delay ingest).
//!
//! - One accept thread per listener; one thread per connection, at most [`MAX_CONNECTIONS`]
//!   open (past it a connection is closed at once and counted).
//! - A request head is parsed with `httparse`, at most [`MAX_HEAD`] bytes; a request body is
//!   refused. One request per connection (`Connection: close`).
//! - Each connection has [`DEADLINE`] from accept to its last byte written, enforced on every
//!   read and write: a client that sends slowly or never reads holds only its own thread, and
//!   only that long.
//!
//! Routes (GET and HEAD): `/` the page ([`crate::page`]), `/metrics` (Prometheus text: the
//! fleet and the collector's own counters), `/api/v1/nodes` (the JSON of `status --json`),
//! `/api/v1/nodes/HOST` (one node; HOST the np1 key or the plain name, URL-encoded).

use crate::ingest::escape_host;
use crate::serve::{Shared, Snapshot};
use crate::{now_ms, page, report, view};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MAX_CONNECTIONS: u64 = 128;
pub const MAX_HEAD: usize = 8192;
pub const DEADLINE: Duration = Duration::from_secs(10);
const MAX_HEADERS: usize = 64;
/// A request is answered from a snapshot at most this old (ms), when the loop makes one in time.
const FRESH_MS: u64 = 200;

pub fn spawn(listeners: Vec<TcpListener>, shared: Arc<Shared>) {
    for l in listeners {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || accept_loop(l, shared))
            .expect("spawn the http accept thread");
    }
}

fn accept_loop(l: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match l.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of file descriptors, a reset before accept: wait a little, go on.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let stats = &shared.stats;
        if stats.http_open.fetch_add(1, Relaxed) >= MAX_CONNECTIONS {
            stats.http_open.fetch_sub(1, Relaxed);
            stats.http_rejected.fetch_add(1, Relaxed);
            let _ = stream.set_nonblocking(true);
            let _ = (&stream).write(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            continue;
        }
        let shared2 = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("http".into())
            .stack_size(256 << 10)
            .spawn(move || {
                connection(stream, &shared2);
                shared2.stats.http_open.fetch_sub(1, Relaxed);
            });
        if spawned.is_err() {
            shared.stats.http_open.fetch_sub(1, Relaxed);
            shared.stats.http_rejected.fetch_add(1, Relaxed);
        }
    }
}

/// The socket with the connection's deadline applied to each read and write.
struct Timed<'a> {
    s: &'a TcpStream,
    deadline: Instant,
}

impl Timed<'_> {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(io::ErrorKind::TimedOut, "deadline"))
        } else {
            Ok(left)
        }
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.s.set_read_timeout(Some(self.left()?))?;
        self.s.read(buf)
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.s.set_write_timeout(Some(self.left()?))?;
        self.s.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq)]
enum Request {
    Get {
        path: String,
        head: bool,
    },
    /// Refused with this status line.
    Bad(&'static str),
}

/// Reads and parses one request head (total: any bytes give a request or a refusal).
fn read_request(r: &mut impl Read) -> io::Result<Request> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        let n = r.read(&mut buf[len..])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => return Ok(judge(&req)),
            Ok(httparse::Status::Partial) if len == MAX_HEAD => {
                return Ok(Request::Bad("431 Request Header Fields Too Large"))
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Ok(Request::Bad("431 Request Header Fields Too Large"))
            }
            Err(_) => return Ok(Request::Bad("400 Bad Request")),
        }
    }
}

fn judge(req: &httparse::Request) -> Request {
    let head = match req.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Request::Bad("405 Method Not Allowed"),
    };
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let empty = h
            .value
            .iter()
            .all(|b| *b == b'0' || b.is_ascii_whitespace());
        if (name == "content-length" && !empty) || name == "transfer-encoding" {
            return Request::Bad("413 Content Too Large");
        }
    }
    let path = req.path.unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    Request::Get {
        path: path.to_string(),
        head,
    }
}

/// `%XX` decoding of a path segment; `None` when it is not UTF-8 or malformed.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A response's head.
fn head(
    w: &mut impl Write,
    status: &str,
    content_type: &str,
    len: Option<usize>,
) -> io::Result<()> {
    let mut h = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n"
    );
    if content_type.starts_with("text/html") {
        // The page loads nothing: no script, no image, no font, no other origin.
        h.push_str("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n");
    }
    if let Some(n) = len {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    h.push_str("\r\n");
    w.write_all(h.as_bytes())
}

fn connection(stream: TcpStream, shared: &Shared) {
    let mut t = Timed {
        s: &stream,
        deadline: Instant::now() + DEADLINE,
    };
    let stats = &shared.stats;
    let req = match read_request(&mut t) {
        Ok(r) => r,
        Err(_) => {
            stats.http_bad.fetch_add(1, Relaxed);
            return;
        }
    };
    let (path, head_only) = match req {
        Request::Get { path, head } => (path, head),
        Request::Bad(status) => {
            stats.http_bad.fetch_add(1, Relaxed);
            let _ = head(&mut t, status, "text/plain; charset=utf-8", Some(0));
            return;
        }
    };
    stats.http_requests.fetch_add(1, Relaxed);
    let snap = shared.fresh(FRESH_MS, Duration::from_secs(1));
    let _ = respond(&mut t, &path, head_only, &snap, shared);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

fn respond(
    w: &mut Timed,
    path: &str,
    head_only: bool,
    snap: &Snapshot,
    shared: &Shared,
) -> io::Result<()> {
    let now = now_ms();
    let fleet = &snap.fleet;
    match path {
        "/" | "/index.html" => {
            let html = page::render(&view::read(fleet, now, snap.taken_ms), now);
            send(
                w,
                "200 OK",
                "text/html; charset=utf-8",
                html.as_bytes(),
                head_only,
            )
        }
        // Both streamed (no Content-Length: the end of the body is the close), so a large fleet
        // is never one buffer per connection.
        "/metrics" => {
            head(
                w,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                None,
            )?;
            if head_only {
                return Ok(());
            }
            report::prom_to(w, fleet, now)?;
            w.write_all(shared.stats.prom().as_bytes())
        }
        "/api/v1/nodes" | "/api/v1/nodes/" => {
            head(w, "200 OK", "application/json", None)?;
            if head_only {
                return Ok(());
            }
            let mut bw = io::BufWriter::with_capacity(1 << 16, &mut *w);
            serde_json::to_writer(&mut bw, &view::fleet(fleet, now, snap.taken_ms))?;
            bw.write_all(b"\n")?;
            bw.flush()
        }
        p if p.starts_with("/api/v1/nodes/") => {
            let seg = &p["/api/v1/nodes/".len()..];
            // The np1 key as written, URL-encoded (`edge-b%2520c`), or the plain name
            // URL-encoded (`edge-b%20c`), or the key unencoded.
            let decoded = percent_decode(seg);
            let found = [
                decoded.clone(),
                decoded.map(|name| escape_host(name.as_bytes())),
            ]
            .into_iter()
            .flatten()
            .find_map(|k| fleet.nodes.get_key_value(k.as_str()))
            .or_else(|| fleet.nodes.get_key_value(seg));
            match found {
                Some((host, n)) => {
                    let mut j = serde_json::to_vec(&view::NodeView::of(host, n, fleet, now))?;
                    j.push(b'\n');
                    send(w, "200 OK", "application/json", &j, head_only)
                }
                None => send(
                    w,
                    "404 Not Found",
                    "application/json",
                    b"{\"error\":\"no such node\"}\n",
                    head_only,
                ),
            }
        }
        _ => send(
            w,
            "404 Not Found",
            "text/plain; charset=utf-8",
            b"not found: try /, /metrics, /api/v1/nodes, /api/v1/nodes/HOST\n",
            head_only,
        ),
    }
}

fn send(w: &mut Timed, status: &str, ct: &str, body: &[u8], head_only: bool) -> io::Result<()> {
    head(w, status, ct, Some(body.len()))?;
    if !head_only {
        w.write_all(body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(bytes: &[u8]) -> Request {
        read_request(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn requests_and_refusals() {
        assert_eq!(
            req(b"GET /api/v1/nodes?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Request::Get {
                path: "/api/v1/nodes".into(),
                head: false
            }
        );
        assert_eq!(
            req(b"HEAD / HTTP/1.0\r\n\r\n"),
            Request::Get {
                path: "/".into(),
                head: true
            }
        );
        assert_eq!(
            req(b"POST / HTTP/1.1\r\n\r\n"),
            Request::Bad("405 Method Not Allowed")
        );
        assert_eq!(
            req(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            Request::Bad("413 Content Too Large")
        );
        assert_eq!(
            req(b"\x00\x01 nonsense\r\n\r\n"),
            Request::Bad("400 Bad Request")
        );
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 100, b'a');
        assert_eq!(
            req(&big),
            Request::Bad("431 Request Header Fields Too Large")
        );
        let many: String = (0..100).map(|i| format!("H{i}: v\r\n")).collect();
        assert_eq!(
            req(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Request::Bad("431 Request Header Fields Too Large")
        );
        // Cut short: an error (the connection just closes), never a panic.
        assert!(read_request(&mut &b"GET / HT"[..]).is_err());
    }

    #[test]
    fn host_segments() {
        assert_eq!(percent_decode("edge-b%20c").as_deref(), Some("edge-b c"));
        assert_eq!(
            percent_decode("edge-b%2520c").as_deref(),
            Some("edge-b%20c")
        );
        assert_eq!(percent_decode("x%2"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(escape_host(b"edge-b c"), "edge-b%20c");
    }
}
