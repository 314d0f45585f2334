//! The live fleet table that the ingest threads update: [`SHARDS`] shards chosen by a hash of the
//! host name, each a [`Fleet`] under its own lock. A record locks only its host's shard, for the
//! replay check and the update together, so a host's records are applied one at a time and in
//! the order they are taken, whichever thread (socket) received them. A host's shard is
//! [`net::host_hash`] of its name, the hash the kernel spreads the records over the ingest
//! threads' sockets by: with `--threads N` (up to [`SHARDS`]), thread `i` takes the hosts of
//! the shards `s` with `s % N == i` (of `np1` records; others may come to any thread), so the
//! threads seldom share a lock or a cache line of the table. With `--spread cpu` the kernel
//! spreads them by receiving CPU instead, and any thread may take any host: the locks keep
//! the result the same, the threads then share shards. The readers (HTTP, Alertmanager,
//! the state file) never lock it: the control thread copies it shard by shard into one
//! [`Fleet`] ([`Table::snapshot`]) and publishes that.

use crate::fleet::{Counters, Fleet, Node, Obs, Policy, DROPS};
use crate::net;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Shards of the table (a power of two): enough that a few ingest threads have several each,
/// and that the snapshot holds one lock for a small part of the table at a time.
pub const SHARDS: usize = 64;

#[repr(align(128))]
struct Count(AtomicUsize);

/// One shard, alone on its cache lines (two threads locking neighbours do not share one).
#[repr(align(128))]
struct Shard(Mutex<Fleet>);

pub struct Table {
    shards: Box<[Shard]>,
    /// Nodes in all shards, against `--max-nodes` (on a cache line of its own: the threads
    /// write it for each new host, and read `shards` beside it for every record).
    nodes: Count,
    policy: Policy,
}

impl Table {
    /// The table holding `fleet`'s nodes and counters (the reloaded state).
    pub fn new(fleet: Fleet) -> Table {
        let policy = fleet.policy.clone();
        let mut shards: Vec<Fleet> = (0..SHARDS).map(|_| Fleet::new(policy.clone())).collect();
        shards[0].counters = fleet.counters;
        let count = fleet.nodes.len();
        for (host, node) in fleet.nodes.iter() {
            let i = Self::index(host);
            shards[i].nodes.insert(host, node.clone());
        }
        Table {
            shards: shards.into_iter().map(|f| Shard(Mutex::new(f))).collect(),
            nodes: Count(AtomicUsize::new(count)),
            policy,
        }
    }

    /// The shard of `host`. The shards' own maps are seeded at random (foldhash), so the hosts
    /// of one shard are still spread over its map's buckets.
    fn index(host: &str) -> usize {
        net::host_hash(host.as_bytes()) as usize & (SHARDS - 1)
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Fleet> {
        self.shards[i]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The shard of `host`, locked.
    pub fn shard(&self, host: &str) -> MutexGuard<'_, Fleet> {
        self.lock(Self::index(host))
    }

    /// Room for one more node under `--max-nodes` (taken if there is).
    pub fn room(&self) -> bool {
        self.nodes
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.policy.max_nodes).then_some(n + 1)
            })
            .is_ok()
    }

    /// Applies an accepted record: with a shared key, refuses a replay (`Drop::Replay`); then
    /// [`Fleet::ingest_if`]. `then` sees the updated node (the forwarder's line) under the lock.
    pub fn ingest(&self, obs: &Obs, now_ms: u64, keyed: bool, then: impl FnOnce(&Node)) {
        let mut shard = self.shard(&obs.host);
        if keyed && shard.is_replay(obs) {
            shard.counters.drop(crate::fleet::Drop::Replay);
            return;
        }
        if let Some(node) = shard.ingest_if(obs, now_ms, || self.room()) {
            then(node);
        }
    }

    /// Adds an ingest thread's drop counts (datagrams with no host to pick a shard by).
    pub fn add_drops(&self, thread: usize, dropped: &mut [u64; DROPS]) {
        if dropped.iter().all(|&n| n == 0) {
            return;
        }
        let mut shard = self.lock(thread % SHARDS);
        for (total, n) in shard.counters.dropped.iter_mut().zip(dropped.iter_mut()) {
            *total += std::mem::take(n);
        }
    }

    /// The time-driven verdicts ([`Fleet::sweep`]), one shard at a time.
    pub fn sweep(&self, now_ms: u64) {
        for i in 0..SHARDS {
            self.lock(i).sweep(now_ms);
        }
    }

    /// Sweeps each shard and copies it into one [`Fleet`] (counters summed).
    pub fn snapshot(&self, now_ms: u64) -> Fleet {
        let mut out = Fleet::new(self.policy.clone());
        out.nodes.reserve(self.nodes.0.load(Ordering::Relaxed));
        let mut counters = Counters::default();
        for i in 0..SHARDS {
            let mut shard = self.lock(i);
            shard.sweep(now_ms);
            counters.accepted += shard.counters.accepted;
            for (total, n) in counters.dropped.iter_mut().zip(shard.counters.dropped) {
                *total += n;
            }
            out.nodes.extend_disjoint(&shard.nodes);
        }
        out.counters = counters;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{Drop, Metrics};
    use std::borrow::Cow;

    fn obs(host: String, t_ms: u64, seq: u64) -> Obs<'static> {
        Obs {
            host: Cow::Owned(host),
            t_ms,
            status: 0,
            boot: None,
            seq: Some(seq),
            problems: 0,
            metrics: Metrics::default(),
        }
    }

    #[test]
    fn shards_keep_the_limit_the_counters_and_each_host() {
        let policy = Policy {
            max_nodes: 500,
            ..Policy::default()
        };
        let mut loaded = Fleet::new(policy);
        loaded.ingest(&obs("old".into(), 1, 1), 1);
        loaded.counters.accepted = 7;
        let table = Table::new(loaded);
        let t0 = 1_800_000_000_000;
        std::thread::scope(|s| {
            for th in 0..4u64 {
                let table = &table;
                s.spawn(move || {
                    for i in 0..1000u64 {
                        // Every thread sends every host's seq 1..=4: three of each four copies
                        // are replays under a key.
                        let host = format!("h{}", i % 250);
                        let seq = th + 1;
                        table.ingest(&obs(host, t0 + seq, seq), t0, true, |_| {});
                    }
                });
            }
        });
        let f = table.snapshot(t0);
        assert_eq!(f.nodes.len(), 251);
        assert_eq!(
            f.counters.accepted + f.counters.dropped[Drop::Replay as usize],
            7 + 4 * 1000
        );
        // Beyond the limit: refused and counted.
        for i in 0..300 {
            table.ingest(&obs(format!("n{i}"), t0, 1), t0, false, |_| {});
        }
        let f = table.snapshot(t0);
        assert_eq!(f.nodes.len(), 500);
        assert_eq!(f.counters.dropped[Drop::NodeLimit as usize], 51);
    }
    #[test]
    fn hosts_spread_over_the_shards() {
        let used: std::collections::HashSet<usize> = (0..1000)
            .map(|i| Table::index(&format!("edge-{i}")))
            .collect();
        assert!(
            used.len() > SHARDS * 3 / 4,
            "{} of {SHARDS} shards",
            used.len()
        );
    }

    #[test]
    fn every_threads_drops_are_counted_once() {
        let table = Table::new(Fleet::new(Policy::default()));
        let mut dropped = [0u64; DROPS];
        for (i, n) in dropped.iter_mut().enumerate() {
            *n = i as u64 + 1;
        }
        let mut other = dropped;
        table.add_drops(1, &mut dropped);
        table.add_drops(SHARDS + 2, &mut other);
        assert_eq!((dropped, other), ([0; DROPS], [0; DROPS]));
        table.add_drops(3, &mut dropped);
        let f = table.snapshot(1);
        for (i, n) in f.counters.dropped.iter().enumerate() {
            assert_eq!(*n, 2 * (i as u64 + 1));
        }
    }
}
