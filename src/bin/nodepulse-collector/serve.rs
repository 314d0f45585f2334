//! The running collector: `--threads` ingest threads receive datagrams into the sharded fleet
//! table ([`Table`]), each from its own socket per `--listen` address (with more than one
//! thread the sockets share the address through `SO_REUSEPORT`, and the kernel spreads the
//! records over them by host name, [`net::spread_by_host`], or with `--spread cpu` by the CPU
//! that received them, [`net::spread_by_cpu`], each thread pinned to its CPUs); the control
//! thread (the main one) runs the timers and copies the table for everything else, which
//! reads only copies.
//!
//! - An ingest thread never waits for a reader, only, for one record, for its host's shard.
//!   The HTTP and Alertmanager threads ask for a fresh [`Snapshot`] through [`Shared::fresh`]
//!   (a flag and a wake-up datagram); the control thread copies the table shard by shard, at
//!   most one copy per request burst.
//! - Persisting: the control thread hands a snapshot to the writer thread, which writes,
//!   fsyncs and renames the `--state` and `--prom-out` files. One persist at a time: while the
//!   writer is busy, a persist that falls due is skipped (and counted), never queued.
//! - Memory on the receive path is fixed: per thread one `recvmmsg` batch of 64 datagrams and
//!   a forwarder buffer; per socket the kernel's receive buffer (`--rcvbuf`).

use crate::cli::{Serve, Spread};
use crate::fleet::{Drop, Fleet, DROPS};
use crate::stats::Stats;
use crate::table::Table;
use crate::{alert, fail, http, ingest, net, now_ms, report, state};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A copy of the table at one moment.
pub struct Snapshot {
    pub fleet: Fleet,
    pub taken_ms: u64,
}

/// What the receive loop shares with the other threads.
pub struct Shared {
    snap: Mutex<Arc<Snapshot>>,
    fresh: Condvar,
    wanted: AtomicBool,
    /// Wakes the control thread's `poll` when a snapshot is wanted.
    wake: UnixDatagram,
    pub stats: Stats,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<Snapshot>> {
        self.snap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A snapshot taken at most `max_age_ms` ago: asks the receive loop for one and waits up to
    /// `wait` for it; the latest there is when none comes in time.
    pub fn fresh(&self, max_age_ms: u64, wait: Duration) -> Arc<Snapshot> {
        let now = now_ms();
        let young = |s: &Snapshot| s.taken_ms.saturating_add(max_age_ms) >= now;
        let mut g = self.lock();
        if young(&g) {
            return g.clone();
        }
        if !self.wanted.swap(true, Ordering::SeqCst) {
            let _ = self.wake.send(&[1]);
        }
        let deadline = Instant::now() + wait;
        while !young(&g) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            g = self
                .fresh
                .wait_timeout(g, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        g.clone()
    }

    fn publish(&self, fleet: Fleet, now: u64) -> Arc<Snapshot> {
        let snap = Arc::new(Snapshot {
            fleet,
            taken_ms: now,
        });
        *self.lock() = snap.clone();
        self.fresh.notify_all();
        self.stats.snapshots.fetch_add(1, Ordering::Relaxed);
        snap
    }
}

/// Line protocol batched into datagrams of whole lines (≤ 1232 bytes, as the agent sends).
struct Forwarder {
    sock: UdpSocket,
    buf: Vec<u8>,
    line: Vec<u8>,
    errors: u64,
}

const FORWARD_MAX: usize = 1232;

impl Forwarder {
    fn new(to: SocketAddr) -> std::io::Result<Forwarder> {
        let any: SocketAddr = match to {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let sock = UdpSocket::bind(any)?;
        sock.connect(to)?;
        Ok(Forwarder {
            sock,
            buf: Vec::with_capacity(FORWARD_MAX),
            line: Vec::with_capacity(512),
            errors: 0,
        })
    }

    fn push(&mut self) {
        if !self.buf.is_empty() && self.buf.len() + self.line.len() > FORWARD_MAX {
            self.flush();
        }
        self.buf.extend_from_slice(&self.line);
        self.line.clear();
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            if self.sock.send(&self.buf).is_err() {
                self.errors += 1;
            }
            self.buf.clear();
        }
    }
}

/// The files a persist writes.
#[derive(Clone)]
struct Files {
    state: Option<PathBuf>,
    prom: Option<PathBuf>,
}

impl Files {
    fn any(&self) -> bool {
        self.state.is_some() || self.prom.is_some()
    }

    /// Writes each file atomically ([`state::begin`], fill, [`state::commit`]); false when one
    /// failed (reported on stderr; its previous version stays).
    fn write(&self, snap: &Snapshot, stats: &Stats) -> bool {
        let t0 = Instant::now();
        let mut ok = true;
        let fleet = &snap.fleet;
        let now = snap.taken_ms;
        if let Some(p) = &self.state {
            ok &= write_one(p, |w| state::serialize_to(w, fleet, now));
        }
        if let Some(p) = &self.prom {
            ok &= write_one(p, |w| report::prom_to(w, fleet, now));
        }
        stats
            .persist
            .observe(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
        if !ok {
            stats.persist_failures.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }
}

fn write_one(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> bool {
    let result = state::begin(path).and_then(|mut pending| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut pending.file);
        let written = fill(&mut w).and_then(|_| w.flush());
        drop(w);
        match written {
            Ok(()) => state::commit(pending),
            Err(e) => {
                state::abandon(pending);
                Err(e)
            }
        }
    });
    match result {
        Ok(()) => true,
        Err(e) => {
            eprintln!("nodepulse-collector: writing {}: {e}", path.display());
            false
        }
    }
}

/// Reloads `--state` into `fleet`; `Err` is the exit code.
fn load(fleet: &mut Fleet, path: &Path, max_nodes: usize) -> Result<(), ExitCode> {
    match std::fs::read_to_string(path) {
        Ok(text) => match state::parse(&text) {
            Ok(l) => {
                fleet.counters = l.counters;
                for (host, node) in l.nodes.into_iter().take(max_nodes) {
                    fleet.nodes.insert(&host, node);
                }
                eprintln!(
                    "nodepulse-collector: loaded {} nodes from {} ({} unreadable lines)",
                    fleet.nodes.len(),
                    path.display(),
                    l.bad_lines
                );
                Ok(())
            }
            Err(e) => Err(fail(&format!(
                "{}: {e} (move it away to start empty)",
                path.display()
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(&format!("{}: {e}", path.display()))),
    }
}

pub fn run(o: Serve) -> ExitCode {
    let files = Files {
        state: o.state.clone(),
        prom: o.prom_out.clone(),
    };
    for p in files.state.iter().chain(&files.prom) {
        match state::remove_leftovers(p) {
            Ok(0) => {}
            Ok(n) => eprintln!(
                "nodepulse-collector: removed {n} temporary files an earlier run left beside {}",
                p.display()
            ),
            Err(e) => {
                return fail(&format!(
                    "{}: removing old temporary files: {e}",
                    p.display()
                ))
            }
        }
    }
    let mut fleet = Fleet::new(o.policy.clone());
    if let Some(path) = &o.state {
        if let Err(code) = load(&mut fleet, path, o.policy.max_nodes) {
            return code;
        }
    }

    // One socket per thread on each address: socks[address][thread].
    let threads = o.threads.max(1);
    let mut socks: Vec<Vec<UdpSocket>> = Vec::new();
    for addr in &o.listen {
        let mut group = Vec::new();
        let mut bind_to = *addr;
        let mut got = 0;
        for _ in 0..threads {
            match net::udp_bind(bind_to, o.rcvbuf, threads > 1) {
                Ok((s, size)) => {
                    if group.is_empty() {
                        got = size;
                        // Port 0: the others join the port the first one got.
                        if let Ok(a) = s.local_addr() {
                            bind_to.set_port(a.port());
                        }
                    }
                    group.push(s);
                }
                Err(e) => return fail(&format!("--listen {addr}: {e}")),
            }
        }
        if threads > 1 {
            // Records by host name or by the receiving CPU, not by sender.
            let spread = match o.spread {
                Spread::Host => {
                    net::spread_by_host(&group[0], threads).map(|()| "records spread by host name")
                }
                Spread::Cpu => net::spread_by_cpu(&group[0], threads)
                    .map(|()| "records spread by the CPU that received them"),
            };
            let spread = match spread {
                Ok(how) => how,
                Err(e) => {
                    eprintln!("nodepulse-collector: --listen {addr}: SO_ATTACH_REUSEPORT_CBPF: {e} (the kernel spreads the senders by address and port)");
                    "records spread by sender"
                }
            };
            eprintln!(
                "nodepulse-collector: listening on udp {addr} ({threads} sockets with SO_REUSEPORT, one per ingest thread, {spread}; receive buffer {got} bytes each)"
            );
        } else {
            eprintln!("nodepulse-collector: listening on udp {addr} (receive buffer {got} bytes)");
        }
        socks.push(group);
    }
    let mut forwarders = Vec::new();
    for _ in 0..threads {
        forwarders.push(match o.forward {
            Some(to) => match Forwarder::new(to) {
                Ok(f) => Some(f),
                Err(e) => return fail(&format!("--forward-influx {to}: {e}")),
            },
            None => None,
        });
    }
    let mut listeners = Vec::new();
    for addr in &o.http {
        match TcpListener::bind(addr) {
            Ok(l) => {
                eprintln!(
                    "nodepulse-collector: serving http on {}",
                    l.local_addr().map_or(*addr, |a| a)
                );
                listeners.push(l);
            }
            Err(e) => return fail(&format!("--http {addr}: {e}")),
        }
    }
    if let Err(e) = net::install_signals() {
        return fail(&format!("signal handlers: {e}"));
    }
    let (wake_tx, wake_rx) = match nonblocking_pair() {
        Ok(p) => p,
        Err(e) => return fail(&format!("socketpair: {e}")),
    };

    let (stop_tx, stop_rx) = match nonblocking_pair() {
        Ok(p) => p,
        Err(e) => return fail(&format!("socketpair: {e}")),
    };

    let mut now = now_ms();
    fleet.sweep(now);
    let shared = Arc::new(Shared {
        snap: Mutex::new(Arc::new(Snapshot {
            fleet: fleet.clone(),
            taken_ms: now,
        })),
        fresh: Condvar::new(),
        wanted: AtomicBool::new(false),
        wake: wake_tx,
        stats: Stats::new(),
    });
    let table = Arc::new(Table::new(fleet));
    // The first files right away (before the loop: readiness for whoever waits for them).
    if files.any() {
        files.write(&shared.lock(), &shared.stats);
    }
    // SIGTERM and SIGINT go to this thread only: the threads below start with them blocked.
    let unblock = net::block_signals();
    let (persist_tx, persist_rx) = mpsc::sync_channel::<Arc<Snapshot>>(0);
    let writer = files.any().then(|| {
        let files = files.clone();
        let shared = shared.clone();
        std::thread::spawn(move || {
            for snap in persist_rx {
                files.write(&snap, &shared.stats);
            }
        })
    });
    http::spawn(listeners, shared.clone());
    if !o.alertmanager.is_empty() {
        alert::spawn(o.alertmanager.clone(), shared.clone());
    }
    let key: Option<Arc<[u8]>> = o.key.as_deref().map(Arc::from);
    // With --spread cpu, each thread runs on the CPUs whose datagrams its sockets get.
    let pinned = o.spread == Spread::Cpu && threads > 1;
    let allowed = if pinned {
        match net::allowed_cpus() {
            Ok(cpus) => cpus,
            Err(e) => return fail(&format!("--spread cpu: sched_getaffinity: {e}")),
        }
    } else {
        Vec::new()
    };
    let mut ingesters = Vec::new();
    for (index, forward) in forwarders.into_iter().enumerate().rev() {
        let mine: Vec<UdpSocket> = socks.iter_mut().filter_map(Vec::pop).collect();
        let cpus = net::share_of(&allowed, index, threads);
        if pinned {
            if cpus.is_empty() {
                eprintln!("nodepulse-collector: --spread cpu: ingest-{index} gets no CPU this process may run on (allowed: {allowed:?}): it is not pinned");
            } else {
                eprintln!("nodepulse-collector: --spread cpu: ingest-{index} on CPUs {cpus:?}");
            }
        }
        let worker = Ingest {
            index,
            cpus,
            socks: mine,
            stop: stop_rx.as_raw_fd(),
            forward,
            key: key.clone(),
        };
        let (table, shared) = (table.clone(), shared.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("ingest-{index}"))
            .spawn(move || worker.run(&table, &shared));
        match spawned {
            Ok(h) => ingesters.push(h),
            Err(e) => return fail(&format!("ingest thread: {e}")),
        }
    }
    unblock();

    let sweep_every = (o.policy.interval_ms / 4).clamp(100, 1000);
    let mut next_sweep = now + sweep_every;
    let mut next_persist = now + o.persist_ms;
    while !net::stopping() {
        let wait = next_sweep
            .min(next_persist)
            .saturating_sub(now_ms())
            .min(1000);
        net::poll_readable(&[wake_rx.as_raw_fd()], wait as i32);
        now = now_ms();
        if now >= next_sweep {
            table.sweep(now);
            next_sweep = now + sweep_every;
        }
        if shared.wanted.swap(false, Ordering::SeqCst) {
            while wake_rx.recv(&mut [0u8; 16]).is_ok() {}
            shared.publish(table.snapshot(now), now);
        }
        if now >= next_persist {
            if files.any() {
                let snap = shared.publish(table.snapshot(now), now);
                if persist_tx.try_send(snap).is_err() {
                    shared.stats.persist_skipped.fetch_add(1, Ordering::Relaxed);
                }
            }
            next_persist = now + o.persist_ms;
        }
    }

    // The ingest threads see the stop flag once woken; then the writer's current file, then
    // the last files, written here.
    let _ = stop_tx.send(&[1]);
    for h in ingesters {
        let _ = h.join();
    }
    drop(persist_tx);
    if let Some(w) = writer {
        let _ = w.join();
    }
    now = now_ms();
    let fleet = table.snapshot(now);
    let (up, offline) = fleet.census();
    let (nodes, accepted, dropped) = (
        fleet.nodes.len(),
        fleet.counters.accepted,
        fleet.counters.dropped_total(),
    );
    let snap = shared.publish(fleet, now);
    if files.any() {
        files.write(&snap, &shared.stats);
    }
    eprintln!(
        "nodepulse-collector: stopping: {nodes} nodes ({up} up, {offline} offline), {accepted} records accepted, {dropped} dropped, {} forward errors, {:.3} s CPU",
        shared.stats.forward_errors.load(Ordering::Relaxed),
        net::cpu_seconds()
    );
    ExitCode::SUCCESS
}

/// One ingest thread: its sockets (one per `--listen` address), its batch, its forwarder.
struct Ingest {
    index: usize,
    /// The CPUs to run on (`--spread cpu`); empty: wherever the scheduler puts it.
    cpus: Vec<usize>,
    socks: Vec<UdpSocket>,
    /// Readable once the collector stops.
    stop: i32,
    forward: Option<Forwarder>,
    key: Option<Arc<[u8]>>,
}

impl Ingest {
    fn run(mut self, table: &Table, shared: &Shared) {
        if let Err(e) = net::pin_to_share(&self.cpus) {
            eprintln!(
                "nodepulse-collector: ingest-{}: sched_setaffinity {:?}: {e} (runs unpinned)",
                self.index, self.cpus
            );
        }
        let mut fds: Vec<i32> = self.socks.iter().map(|s| s.as_raw_fd()).collect();
        fds.push(self.stop);
        let mut batch = net::Batch::new(64, ingest::MAX_DATAGRAM + 1);
        let mut dropped = [0u64; DROPS];
        let key = self.key.as_deref();
        while !net::stopping() {
            net::poll_readable(&fds, 1000);
            for sock in &self.socks {
                // Drain each socket in batches, a bounded number per round so that the stop
                // flag and the forwarder's flush still come round.
                for _ in 0..256 {
                    let n = match batch.recv(sock.as_raw_fd()) {
                        Ok(n) => n,
                        Err(e) => {
                            eprintln!("nodepulse-collector: recvmmsg: {e}");
                            0
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    shared.stats.batch.observe(n as u64);
                    let t = now_ms();
                    for i in 0..n {
                        let (bytes, truncated) = batch.get(i);
                        let parsed = if truncated {
                            Err(Drop::Oversize)
                        } else if let Some(key) = key {
                            ingest::verify(bytes, key).and_then(ingest::parse)
                        } else {
                            ingest::parse(bytes)
                        };
                        match parsed {
                            Ok(obs) => {
                                let forward = &mut self.forward;
                                table.ingest(&obs, t, key.is_some(), |node| {
                                    if let Some(f) = forward.as_mut() {
                                        report::influx_line(&mut f.line, &obs, node, t);
                                    }
                                });
                                if let Some(f) = self.forward.as_mut() {
                                    if !f.line.is_empty() {
                                        f.push();
                                    }
                                }
                            }
                            Err(why) => dropped[why as usize] += 1,
                        }
                    }
                    if n < 64 {
                        break;
                    }
                }
            }
            table.add_drops(self.index, &mut dropped);
            if let Some(f) = self.forward.as_mut() {
                f.flush();
                let errors = std::mem::take(&mut f.errors);
                if errors > 0 {
                    shared
                        .stats
                        .forward_errors
                        .fetch_add(errors, Ordering::Relaxed);
                }
            }
        }
    }
}

/// A connected pair of non-blocking Unix datagram sockets: a wake-up line between threads.
fn nonblocking_pair() -> std::io::Result<(UnixDatagram, UnixDatagram)> {
    let (a, b) = UnixDatagram::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}
