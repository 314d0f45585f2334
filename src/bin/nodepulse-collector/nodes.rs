//! The nodes of a [`Fleet`](crate::fleet::Fleet) by host name, stored densely: the [`Node`]s in
//! chunks of [`CHUNK`], each next to where its name is in one byte arena shared by all names,
//! and a hash table of their positions (hashbrown's `HashTable<u32>` with foldhash, seeded at
//! random per table). Nodes are never removed from a table.
//!
//! A `HashMap<Box<str>, Node>` keeps, per bucket, the node and a 16-byte pointer to a name
//! allocated apart (at least 32 bytes with glibc's malloc), and at its load factor (7/8 at
//! most, 7/16 right after it doubles) a quarter or more of its buckets are empty, each as
//! large as a node; growing copies them all into a table twice as large. Here an empty bucket
//! is 5 bytes (a position and hashbrown's control byte), a name costs its own bytes, and a
//! node is never moved once added: a full chunk stays where it is and the next one is
//! allocated (at most one partly filled chunk per table), so the memory follows the number of
//! nodes, not the powers of two it passed.

use crate::fleet::Node;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// One node and where its name is in [`Nodes::names`].
#[derive(Clone)]
struct Slot {
    node: Node,
    name_at: u32,
    name_len: u32,
}

/// Nodes per chunk (a chunk is about 14 KiB).
const CHUNK: usize = 64;

#[derive(Clone, Default)]
pub struct Nodes {
    /// Positions in `slots`, by the hash of the name.
    index: HashTable<u32>,
    /// Chunks of at most [`CHUNK`] slots, all full but the last: position `i` is
    /// `chunks[i / CHUNK][i % CHUNK]`.
    chunks: Vec<Vec<Slot>>,
    len: usize,
    /// Every name, back to back.
    names: Vec<u8>,
    hasher: DefaultHashBuilder,
}

fn name<'a>(names: &'a [u8], slot: &Slot) -> &'a [u8] {
    let at = slot.name_at as usize;
    &names[at..at + slot.name_len as usize]
}

fn at(chunks: &[Vec<Slot>], i: u32) -> &Slot {
    let i = i as usize;
    &chunks[i / CHUNK][i % CHUNK]
}

fn as_str(bytes: &[u8]) -> &str {
    // Only whole `&str`s are ever copied into the arena.
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl Nodes {
    pub fn new() -> Nodes {
        Nodes::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, i: usize) -> &Slot {
        &self.chunks[i / CHUNK][i % CHUNK]
    }

    fn slot_mut(&mut self, i: usize) -> &mut Slot {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }

    /// Room for `additional` more nodes without growing.
    pub fn reserve(&mut self, additional: usize) {
        let (chunks, names) = (&self.chunks, &self.names);
        let hasher = &self.hasher;
        self.index
            .reserve(additional, |&i| hasher.hash_one(name(names, at(chunks, i))));
        self.chunks
            .reserve((self.len % CHUNK + additional).div_ceil(CHUNK));
    }

    fn find(&self, host: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(host.as_bytes());
        let (chunks, names) = (&self.chunks, &self.names);
        self.index
            .find(hash, |&i| name(names, at(chunks, i)) == host.as_bytes())
            .map(|&i| i as usize)
    }

    pub fn get(&self, host: &str) -> Option<&Node> {
        self.find(host).map(|i| &self.slot(i).node)
    }

    /// The stored name (as the key) and the node.
    pub fn get_key_value(&self, host: &str) -> Option<(&str, &Node)> {
        self.find(host).map(|i| {
            let slot = self.slot(i);
            (as_str(name(&self.names, slot)), &slot.node)
        })
    }

    #[cfg(test)]
    pub fn get_mut(&mut self, host: &str) -> Option<&mut Node> {
        self.find(host).map(|i| &mut self.slot_mut(i).node)
    }

    /// Adds `host`, not in the table yet; `None` when the arena of names is full (4 GiB).
    fn push(&mut self, host: &str, node: Node) -> Option<usize> {
        let name_at = u32::try_from(self.names.len()).ok()?;
        let name_len = u32::try_from(host.len()).ok()?;
        name_at.checked_add(name_len)?;
        let i = u32::try_from(self.len).ok()?;
        self.names.extend_from_slice(host.as_bytes());
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let slot = Slot {
            node,
            name_at,
            name_len,
        };
        // The last chunk has room (a new one was just added when the others were full).
        if let Some(last) = self.chunks.last_mut() {
            last.push(slot);
        }
        self.len += 1;
        let hash = self.hasher.hash_one(host.as_bytes());
        let (chunks, names) = (&self.chunks, &self.names);
        let hasher = &self.hasher;
        self.index
            .insert_unique(hash, i, |&j| hasher.hash_one(name(names, at(chunks, j))));
        Some(i as usize)
    }

    /// The node of `host`; a new one ([`Node::default`]) if `room()` allows, else `None`.
    /// `room` is asked only for a host not in the table.
    pub fn get_or_add(&mut self, host: &str, room: impl FnOnce() -> bool) -> Option<&mut Node> {
        let i = match self.find(host) {
            Some(i) => i,
            None if room() => self.push(host, Node::default())?,
            None => return None,
        };
        Some(&mut self.slot_mut(i).node)
    }

    /// Sets the node of `host` (replacing the one there was); false when it cannot be added
    /// (see [`Nodes::push`]).
    pub fn insert(&mut self, host: &str, node: Node) -> bool {
        match self.find(host) {
            Some(i) => {
                self.slot_mut(i).node = node;
                true
            }
            None => self.push(host, node).is_some(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> + '_ {
        self.chunks
            .iter()
            .flatten()
            .map(|s| (as_str(name(&self.names, s)), &s.node))
    }

    pub fn values(&self) -> impl Iterator<Item = &Node> + '_ {
        self.chunks.iter().flatten().map(|s| &s.node)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Node> + '_ {
        self.chunks.iter_mut().flatten().map(|s| &mut s.node)
    }

    /// Adds every node of `other` (none of whose hosts is here yet: the table's shards).
    pub fn extend_disjoint(&mut self, other: &Nodes) {
        self.reserve(other.len());
        self.names.reserve(other.names.len());
        for (host, node) in other.iter() {
            self.push(host, node.clone());
        }
    }
}

impl<'a> IntoIterator for &'a Nodes {
    type Item = (&'a str, &'a Node);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Node)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
impl std::ops::Index<&str> for Nodes {
    type Output = Node;
    fn index(&self, host: &str) -> &Node {
        self.get(host).expect("no such host")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_adds_and_replaces() {
        let mut n = Nodes::new();
        for i in 0..5000u32 {
            let node = Node {
                records: i,
                ..Node::default()
            };
            assert!(n.insert(&format!("host-{i}"), node));
        }
        assert_eq!(n.len(), 5000);
        assert_eq!(n["host-4321"].records, 4321);
        assert!(n.get("host-5000").is_none());
        assert!(n.get("host-432").is_some_and(|x| x.records == 432));
        // Replacing keeps one node per host.
        n.insert(
            "host-7",
            Node {
                records: 70,
                ..Node::default()
            },
        );
        assert_eq!((n.len(), n["host-7"].records), (5000, 70));
        assert_eq!(n.get_key_value("host-7").map(|(k, _)| k), Some("host-7"));
        // No room: refused, nothing added; an existing host is found without asking.
        assert!(n.get_or_add("new", || false).is_none());
        assert!(n.get_or_add("host-1", || unreachable!()).is_some());
        n.get_or_add("new", || true).unwrap().records = 9;
        assert_eq!(n["new"].records, 9);
        // The empty name and names sharing a prefix are distinct keys.
        n.insert("", Node::default());
        assert_eq!(n.len(), 5002);
        let mut all: Vec<&str> = n.iter().map(|(k, _)| k).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 5002);
        // A copy into another table (another seed) finds the same nodes.
        let mut c = Nodes::new();
        c.extend_disjoint(&n);
        for (k, v) in n.iter() {
            assert_eq!(c.get(k), Some(v));
        }
        if let Some(x) = c.get_mut("host-9") {
            x.records = 1;
        }
        assert_eq!((c["host-9"].records, n["host-9"].records), (1, 9));
    }
}
