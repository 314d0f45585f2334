//! The fleet table: one compact [`Node`] per host, updated by each accepted record and by a
//! periodic sweep (offline, flapping, and the end of "recent" problems).
//!
//! A node keeps only what the verdicts need (about 210 bytes plus its name), never the record:
//! times, skew, boot id, seq, the learned interval and the gaps it is learned from, the record's
//! problem bits and, for every problem, the second it began, and one byte per record for the
//! last [`STRIP`] records' statuses.
//!
//! # Interval learning
//! A node's interval is learned from the gaps between its records' own `t` (per `seq` step when
//! it sends `seq`), skipped after an outage and when the node clock and the receive times
//! disagree (a clock step). Gaps shorter than half the current interval are a burst (a retry
//! loop, a backlog flushed, a replay): they are gathered until they span half the interval and
//! then count as one sample, the longest gap among them, so a burst never shortens the
//! interval. The interval is the median of the last [`GAPS`] samples, trusted once there are
//! [`TRUST`] of them (until then `--interval`), clamped to 1 s – 1 day.

use crate::nodes::Nodes;
use nodepulse::verdict::Status;
use std::borrow::Cow;

/// One problem a node can have; the index into [`Node::since`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Problem {
    /// No record for more than `offline_factor` × interval.
    Offline,
    /// |node clock − receive time| above the threshold.
    Skewed,
    /// `boot` changed (kept for `--recent` seconds).
    Rebooted,
    /// `seq` jumped (kept for `--recent` seconds).
    Lost,
    /// At least `--flap-threshold` offline/online transitions in the last hour.
    Flapping,
    /// The record says: `clock=crit:unsynced`.
    Unsynced,
    /// Clock offset or maxerror over the agent's thresholds.
    Clock,
    /// Time daemon missing or not syncing (`ntp=warn...`).
    Timesync,
    /// Linger off for a user with a user service.
    Linger,
    /// A service is not running.
    Service,
    Disk,
    Memory,
}

pub const PROBLEMS: usize = 12;

impl Problem {
    pub const ALL: [Problem; PROBLEMS] = [
        Problem::Offline,
        Problem::Skewed,
        Problem::Rebooted,
        Problem::Lost,
        Problem::Flapping,
        Problem::Unsynced,
        Problem::Clock,
        Problem::Timesync,
        Problem::Linger,
        Problem::Service,
        Problem::Disk,
        Problem::Memory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Offline => "offline",
            Problem::Skewed => "skewed",
            Problem::Rebooted => "rebooted",
            Problem::Lost => "lost_records",
            Problem::Flapping => "flapping",
            Problem::Unsynced => "unsynced",
            Problem::Clock => "clock",
            Problem::Timesync => "timesync",
            Problem::Linger => "linger_off",
            Problem::Service => "service_down",
            Problem::Disk => "disk",
            Problem::Memory => "memory",
        }
    }

    pub fn bit(self) -> u16 {
        1 << (self as u8)
    }

    /// Alertmanager's `alertname` for this problem.
    pub fn alertname(self) -> &'static str {
        match self {
            Problem::Offline => "NodepulseOffline",
            Problem::Skewed => "NodepulseClockSkewed",
            Problem::Rebooted => "NodepulseRebooted",
            Problem::Lost => "NodepulseLostRecords",
            Problem::Flapping => "NodepulseFlapping",
            Problem::Unsynced => "NodepulseClockUnsynced",
            Problem::Clock => "NodepulseClock",
            Problem::Timesync => "NodepulseTimesync",
            Problem::Linger => "NodepulseLingerOff",
            Problem::Service => "NodepulseServiceDown",
            Problem::Disk => "NodepulseDisk",
            Problem::Memory => "NodepulseMemory",
        }
    }

    /// `critical` for what takes a node's service down or makes its data wrong, else `warning`.
    pub fn severity(self) -> &'static str {
        match self {
            Problem::Offline | Problem::Unsynced | Problem::Linger | Problem::Service => "critical",
            _ => "warning",
        }
    }

    /// Order of the fleet views: a node's worst problem by this rank (offline first).
    pub const RANKED: [Problem; PROBLEMS] = [
        Problem::Offline,
        Problem::Unsynced,
        Problem::Skewed,
        Problem::Linger,
        Problem::Service,
        Problem::Rebooted,
        Problem::Flapping,
        Problem::Lost,
        Problem::Clock,
        Problem::Timesync,
        Problem::Disk,
        Problem::Memory,
    ];

    /// The problems a record itself reports (not the collector's own observations).
    pub const FROM_RECORD: u16 = (1 << Problem::Unsynced as u8)
        | (1 << Problem::Clock as u8)
        | (1 << Problem::Timesync as u8)
        | (1 << Problem::Linger as u8)
        | (1 << Problem::Service as u8)
        | (1 << Problem::Disk as u8)
        | (1 << Problem::Memory as u8);
}

/// A check status code, the agent's prom/influx encoding (0 ok, 1 warn, 2 crit, 3 unknown), as
/// the library's [`Status`]; a code past 3 counts as unknown.
fn status_of(code: u8) -> Status {
    (Status::ALL.get(usize::from(code)).copied()).unwrap_or(Status::Unknown)
}

/// The word of a status code (`ok`, `warn`, `crit`, `unknown`).
pub fn status_str(code: u8) -> &'static str {
    status_of(code).as_str()
}

/// Worse of two status codes, ranked by the agent's own [`Status::worst`] (crit > warn >
/// unknown > ok).
pub fn worse(a: u8, b: u8) -> u8 {
    status_of(a).worst(status_of(b)).code()
}

/// Numbers a record carries that the influx forwarder re-sends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub uptime_s: Option<u64>,
    /// 1, 5, 15 min load in hundredths.
    pub load: Option<[u64; 3]>,
    pub clock: Option<u8>,
    pub clock_offset_us: Option<i64>,
    pub clock_maxerror_ms: Option<i64>,
    pub timesync: Option<u8>,
    pub linger: Option<u8>,
    pub service: Option<u8>,
    pub services_down: u32,
    pub disk: Option<u8>,
    pub disk_used_pct_max: Option<u64>,
    pub memory: Option<u8>,
    pub memory_total_mb: Option<u64>,
    pub memory_avail_mb: Option<u64>,
}

/// What one accepted datagram says, whatever its format.
#[derive(Debug, Clone, PartialEq)]
pub struct Obs<'a> {
    /// Hostname percent-encoded as in `np1` (the table's key).
    pub host: Cow<'a, str>,
    pub t_ms: u64,
    pub status: u8,
    pub boot: Option<[u8; 16]>,
    pub seq: Option<u64>,
    /// [`Problem::FROM_RECORD`] bits.
    pub problems: u16,
    pub metrics: Metrics,
}

/// What the collector keeps per host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Receive time of the last record, ms since the epoch.
    pub seen_ms: u64,
    /// The node's own `t` in that record.
    pub t_ms: u64,
    /// Last `seq`, `u64::MAX` when the node sends none.
    pub seq: u64,
    /// First 64 bits of `boot_id` (random per boot: enough to see a change); 0 when unknown.
    pub boot: u64,
    /// Records lost (sum of seq gaps).
    pub lost: u32,
    /// Records accepted.
    pub records: u32,
    /// Learned interval between records, ms; 0 until learned.
    pub interval_ms: u32,
    /// Active problems ([`Problem::bit`]).
    pub problems: u16,
    /// Overall status of the last record (0–3).
    pub status: u8,
    /// Next slot in `flaps`.
    pub flap_next: u8,
    /// For each active problem, the second it began (epoch seconds).
    pub since: [u32; PROBLEMS],
    /// Epoch seconds of the last offline/online transitions (ring; 0 = empty).
    pub flaps: [u32; FLAP_RING],
    /// Interval samples, ms (ring; 0 = empty): see the module doc.
    pub gaps: [u32; GAPS],
    /// Next slot in `gaps`.
    pub gap_next: u8,
    /// Short gaps gathered so far: their sum and the longest, ms.
    pub burst_ms: u32,
    pub burst_max_ms: u32,
    /// Next slot in `strip`.
    pub strip_next: u8,
    /// The last records' statuses (ring): [`strip_byte`]; 0 = empty.
    pub strip: [u8; STRIP],
}

impl Default for Node {
    fn default() -> Node {
        Node {
            seen_ms: 0,
            t_ms: 0,
            seq: u64::MAX,
            boot: 0,
            lost: 0,
            records: 0,
            interval_ms: 0,
            problems: 0,
            status: 0,
            flap_next: 0,
            since: [0; PROBLEMS],
            flaps: [0; FLAP_RING],
            gaps: [0; GAPS],
            gap_next: 0,
            burst_ms: 0,
            burst_max_ms: 0,
            strip_next: 0,
            strip: [0; STRIP],
        }
    }
}

pub const FLAP_RING: usize = 8;
/// Interval samples kept per node.
pub const GAPS: usize = 5;
/// Samples needed before the learned interval replaces `--interval`.
pub const TRUST: usize = 3;
/// Records whose statuses a node keeps (the page's strip).
pub const STRIP: usize = 48;
/// In a strip byte: this record ended an offline period.
pub const AFTER_OFFLINE: u8 = 0x80;

/// A strip byte: the record's status code + 1 (1–4), with [`AFTER_OFFLINE`].
pub fn strip_byte(status: u8, after_offline: bool) -> u8 {
    (status.min(3) + 1) | if after_offline { AFTER_OFFLINE } else { 0 }
}

impl Node {
    pub fn has(&self, p: Problem) -> bool {
        self.problems & p.bit() != 0
    }

    fn set(&mut self, p: Problem, since_s: u32) {
        if !self.has(p) {
            self.problems |= p.bit();
            self.since[p as usize] = since_s;
        }
    }

    fn clear(&mut self, p: Problem) {
        self.problems &= !p.bit();
        self.since[p as usize] = 0;
    }

    /// When `p` began (epoch seconds), if active.
    pub fn since(&self, p: Problem) -> Option<u32> {
        self.has(p).then_some(self.since[p as usize])
    }

    fn push_flap(&mut self, now_s: u32) {
        let i = usize::from(self.flap_next) % FLAP_RING;
        self.flaps[i] = now_s;
        self.flap_next = ((i + 1) % FLAP_RING) as u8;
    }

    fn flaps_within_hour(&self, now_s: u32) -> u32 {
        self.flaps
            .iter()
            .filter(|&&t| t != 0 && now_s.saturating_sub(t) < 3600)
            .count() as u32
    }

    /// The interval the offline rule uses: learned, else the flag.
    pub fn interval_ms(&self, policy: &Policy) -> u64 {
        if self.interval_ms > 0 {
            u64::from(self.interval_ms)
        } else {
            policy.interval_ms
        }
    }

    pub fn boot_known(&self) -> bool {
        self.boot != 0
    }

    /// The strip's bytes, oldest first, empty slots left out.
    pub fn history(&self) -> impl Iterator<Item = u8> + '_ {
        let at = usize::from(self.strip_next) % STRIP;
        self.strip[at..]
            .iter()
            .chain(&self.strip[..at])
            .copied()
            .filter(|&b| b != 0)
    }

    fn push_strip(&mut self, byte: u8) {
        let i = usize::from(self.strip_next) % STRIP;
        self.strip[i] = byte;
        self.strip_next = ((i + 1) % STRIP) as u8;
    }

    /// One gap between records (ms, per seq step), folded into the samples (module doc).
    fn learn_gap(&mut self, gap_ms: u64, policy: &Policy) {
        let gap = u32::try_from(gap_ms).unwrap_or(u32::MAX);
        self.burst_ms = self.burst_ms.saturating_add(gap);
        self.burst_max_ms = self.burst_max_ms.max(gap);
        if u64::from(self.burst_ms) < self.interval_ms(policy) / 2 {
            return;
        }
        let i = usize::from(self.gap_next) % GAPS;
        self.gaps[i] = self.burst_max_ms.clamp(1000, 86_400_000);
        self.gap_next = ((i + 1) % GAPS) as u8;
        self.burst_ms = 0;
        self.burst_max_ms = 0;
        let mut v: Vec<u32> = self.gaps.iter().copied().filter(|&g| g != 0).collect();
        if v.len() >= TRUST {
            v.sort_unstable();
            // The median (of an even count, the upper middle: the longer is the safer for the
            // offline rule).
            self.interval_ms = v[v.len() / 2];
        }
    }

    /// Node clock minus receive time, last record.
    pub fn skew_ms(&self) -> i64 {
        let d = i128::from(self.t_ms) - i128::from(self.seen_ms);
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// The rules, from the command line (and saved with the state for `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub interval_ms: u64,
    pub offline_factor: u64,
    pub skew_threshold_ms: u64,
    pub flap_threshold: u32,
    /// How long "rebooted" and "lost records" stay problems.
    pub recent_ms: u64,
    pub max_nodes: usize,
    /// Learn each node's interval from consecutive records.
    pub learn: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            interval_ms: 60_000,
            offline_factor: 3,
            skew_threshold_ms: 300_000,
            flap_threshold: 4,
            recent_ms: 3_600_000,
            max_nodes: 100_000,
            learn: true,
        }
    }
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Drop {
    Empty,
    Oversize,
    Utf8,
    Version,
    Syntax,
    MissingHost,
    MissingT,
    MissingStatus,
    Json,
    HostTooLong,
    NodeLimit,
    /// `--key-file` is set and the record has no `mac=` (or is JSON, which is never tagged).
    NoMac,
    /// The `mac=` does not match the record under the shared key.
    BadMac,
    /// Not newer than the last record accepted from that host (`t`, or `seq` when sent).
    Replay,
    /// A JSON integer field (`t_ms`, `seq`, a byte count...) that is not an exact integer in its
    /// range: `1.5`, `1e-3`, `-1` for a count (`1.9e3` is 1900, exact, and kept).
    Inexact,
}

pub const DROPS: usize = 15;

impl Drop {
    pub const ALL: [Drop; DROPS] = [
        Drop::Empty,
        Drop::Oversize,
        Drop::Utf8,
        Drop::Version,
        Drop::Syntax,
        Drop::MissingHost,
        Drop::MissingT,
        Drop::MissingStatus,
        Drop::Json,
        Drop::HostTooLong,
        Drop::NodeLimit,
        Drop::NoMac,
        Drop::BadMac,
        Drop::Replay,
        Drop::Inexact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Drop::Empty => "empty",
            Drop::Oversize => "oversize",
            Drop::Utf8 => "not_utf8",
            Drop::Version => "version",
            Drop::Syntax => "syntax",
            Drop::MissingHost => "missing_host",
            Drop::MissingT => "missing_t",
            Drop::MissingStatus => "missing_status",
            Drop::Json => "json",
            Drop::HostTooLong => "host_too_long",
            Drop::NodeLimit => "node_limit",
            Drop::NoMac => "no_mac",
            Drop::BadMac => "bad_mac",
            Drop::Replay => "replay",
            Drop::Inexact => "inexact_number",
        }
    }
}

/// Counters since the state was created (they survive restarts through the state file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub accepted: u64,
    pub dropped: [u64; DROPS],
}

impl Counters {
    pub fn drop(&mut self, why: Drop) {
        self.dropped[why as usize] += 1;
    }
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

#[derive(Clone)]
pub struct Fleet {
    pub nodes: Nodes,
    pub policy: Policy,
    pub counters: Counters,
}

pub fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

impl Fleet {
    pub fn new(policy: Policy) -> Fleet {
        Fleet {
            nodes: Nodes::new(),
            policy,
            counters: Counters::default(),
        }
    }

    /// With a shared key: a record that is not newer than the last one accepted from its host
    /// (a higher `seq`, or else a later `t`) is a replay. Records are never reordered by a
    /// sender, so an older one arriving late is stale as well.
    pub fn is_replay(&self, obs: &Obs) -> bool {
        let Some(node) = self.nodes.get(obs.host.as_ref()) else {
            return false;
        };
        match (obs.seq, node.seq) {
            (Some(seq), last) if last != u64::MAX && seq != last => {
                seq < last && obs.t_ms <= node.t_ms
            }
            _ => obs.t_ms <= node.t_ms,
        }
    }

    /// Applies one record received at `now_ms`; `None` when refused (the node table is full).
    #[cfg(test)]
    pub fn ingest(&mut self, obs: &Obs, now_ms: u64) -> Option<&Node> {
        let (len, max) = (self.nodes.len(), self.policy.max_nodes);
        self.ingest_if(obs, now_ms, || len < max)
    }

    /// [`Fleet::ingest`] where `room()` says whether a new host may be added (it is asked only
    /// for a host not in the table): one lookup, and the key is allocated only for a new host.
    pub fn ingest_if(
        &mut self,
        obs: &Obs,
        now_ms: u64,
        room: impl FnOnce() -> bool,
    ) -> Option<&Node> {
        let Some(node) = self.nodes.get_or_add(obs.host.as_ref(), room) else {
            self.counters.drop(Drop::NodeLimit);
            return None;
        };
        self.counters.accepted += 1;
        update(node, obs, now_ms, &self.policy);
        Some(node)
    }

    /// Time-driven verdicts: offline, flapping, and the end of recent reboots and losses.
    pub fn sweep(&mut self, now_ms: u64) {
        let policy = &self.policy;
        for node in self.nodes.values_mut() {
            sweep_node(node, now_ms, policy);
        }
    }

    /// Nodes up (not offline) and offline.
    pub fn census(&self) -> (usize, usize) {
        let offline = self
            .nodes
            .values()
            .filter(|n| n.has(Problem::Offline))
            .count();
        (self.nodes.len() - offline, offline)
    }

    /// Hosts sorted problems first: by the worst problem in [`Problem::RANKED`] order
    /// (offline, unsynced, skewed, linger off, service down, rebooted, ...), then by number of
    /// problems, then by name.
    pub fn sorted(&self) -> Vec<(&str, &Node)> {
        let mut v: Vec<(&str, &Node)> = self.nodes.iter().collect();
        v.sort_by(|a, b| {
            let key = |n: &Node| {
                let worst = Problem::RANKED
                    .iter()
                    .position(|p| n.has(*p))
                    .unwrap_or(PROBLEMS);
                (worst, std::cmp::Reverse(n.problems.count_ones()))
            };
            key(a.1).cmp(&key(b.1)).then(a.0.cmp(b.0))
        });
        v
    }
}

fn update(node: &mut Node, obs: &Obs, now_ms: u64, policy: &Policy) {
    let now_s = secs(now_ms);
    let first = node.records == 0;
    let was_offline = node.has(Problem::Offline);

    if was_offline {
        node.clear(Problem::Offline);
        node.push_flap(now_s);
    }

    // Learn the interval from consecutive node timestamps (module doc).
    if policy.learn && !first && !was_offline && obs.t_ms > node.t_ms {
        let dt = obs.t_ms - node.t_ms;
        let recv_dt = now_ms.saturating_sub(node.seen_ms);
        let steps = match (obs.seq, node.seq) {
            (Some(s), last) if last != u64::MAX && s > last => s - last,
            _ => 1,
        };
        if dt.abs_diff(recv_dt) <= (dt / 2).max(1000) {
            node.learn_gap(dt / steps, policy);
        }
    }
    node.push_strip(strip_byte(obs.status, was_offline));

    // Reboot: a different boot id than the last known one.
    if let Some(id) = obs.boot {
        let boot =
            u64::from_be_bytes([id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]]).max(1);
        if node.boot_known() && node.boot != boot {
            node.clear(Problem::Rebooted);
            node.set(Problem::Rebooted, now_s);
        }
        node.boot = boot;
    }

    // Lost records: a forward jump of seq (a backward one is a restarted counter).
    if let Some(seq) = obs.seq {
        if node.seq != u64::MAX && seq > node.seq.saturating_add(1) {
            let gap = seq - node.seq - 1;
            node.lost = node
                .lost
                .saturating_add(u32::try_from(gap).unwrap_or(u32::MAX));
            node.clear(Problem::Lost);
            node.set(Problem::Lost, now_s);
        }
        node.seq = seq;
    } else {
        node.seq = u64::MAX;
    }

    // Skew of the node's clock against ours.
    node.seen_ms = now_ms;
    node.t_ms = obs.t_ms;
    if node.skew_ms().unsigned_abs() > policy.skew_threshold_ms {
        node.set(Problem::Skewed, now_s);
    } else {
        node.clear(Problem::Skewed);
    }

    // What the record says: set new bits (from now), keep the start of those still there.
    for p in Problem::ALL {
        if p.bit() & Problem::FROM_RECORD != 0 {
            if obs.problems & p.bit() != 0 {
                node.set(p, now_s);
            } else {
                node.clear(p);
            }
        }
    }

    node.status = obs.status;
    node.records = node.records.saturating_add(1);
    update_flapping(node, now_s, policy);
}

fn update_flapping(node: &mut Node, now_s: u32, policy: &Policy) {
    if node.flaps_within_hour(now_s) >= policy.flap_threshold {
        node.set(Problem::Flapping, now_s);
    } else {
        node.clear(Problem::Flapping);
    }
}

pub fn sweep_node(node: &mut Node, now_ms: u64, policy: &Policy) {
    let now_s = secs(now_ms);
    let deadline = node.seen_ms.saturating_add(
        policy
            .offline_factor
            .saturating_mul(node.interval_ms(policy)),
    );
    if now_ms > deadline && !node.has(Problem::Offline) {
        // Offline since the last record: that is when it went silent.
        node.set(Problem::Offline, secs(node.seen_ms));
        node.push_flap(now_s);
    }
    let recent_s = secs(policy.recent_ms);
    for p in [Problem::Rebooted, Problem::Lost] {
        if let Some(since) = node.since(p) {
            if now_s.saturating_sub(since) >= recent_s {
                node.clear(p);
            }
        }
    }
    update_flapping(node, now_s, policy);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(host: &str, t_ms: u64) -> Obs<'static> {
        Obs {
            host: Cow::Owned(host.to_string()),
            t_ms,
            status: 0,
            boot: Some([1; 16]),
            seq: None,
            problems: 0,
            metrics: Metrics::default(),
        }
    }

    fn policy() -> Policy {
        Policy {
            interval_ms: 1000,
            offline_factor: 3,
            skew_threshold_ms: 300_000,
            flap_threshold: 2,
            recent_ms: 10_000,
            max_nodes: 2,
            learn: true,
        }
    }

    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn offline_then_back_then_flapping() {
        let mut f = Fleet::new(policy());
        assert!(f.ingest(&obs("a", T0), T0).is_some());
        f.sweep(T0 + 3000);
        assert!(!f.nodes["a"].has(Problem::Offline));
        f.sweep(T0 + 3001);
        let n = &f.nodes["a"];
        assert_eq!(n.since(Problem::Offline), Some(secs(T0)));
        // Two transitions (offline, online) reach the threshold of 2.
        f.ingest(&obs("a", T0 + 5000), T0 + 5000);
        let n = &f.nodes["a"];
        assert!(!n.has(Problem::Offline));
        assert!(n.has(Problem::Flapping));
        // An hour later those transitions age out: one new one (offline again) is not flapping.
        f.sweep(T0 + 5000 + 3_600_000);
        let n = &f.nodes["a"];
        assert!(n.has(Problem::Offline));
        assert!(!n.has(Problem::Flapping));
    }

    #[test]
    fn skew_reboot_seq_and_limit() {
        let mut f = Fleet::new(policy());
        f.ingest(&obs("a", T0 - 600_000), T0);
        assert_eq!(f.nodes["a"].skew_ms(), -600_000);
        assert_eq!(f.nodes["a"].since(Problem::Skewed), Some(secs(T0)));
        let mut o = obs("a", T0 + 1000);
        o.boot = Some([2; 16]);
        o.seq = Some(5);
        f.ingest(&o, T0 + 1000);
        let n = &f.nodes["a"];
        assert!(!n.has(Problem::Skewed));
        assert!(n.has(Problem::Rebooted));
        o.seq = Some(9);
        o.t_ms += 4000;
        f.ingest(&o, T0 + 5000);
        let n = &f.nodes["a"];
        assert_eq!((n.lost, n.has(Problem::Lost)), (3, true));
        f.sweep(T0 + 11_000);
        assert!(!f.nodes["a"].has(Problem::Rebooted));
        assert!(f.nodes["a"].has(Problem::Lost));
        f.ingest(&obs("b", T0), T0);
        assert!(f.ingest(&obs("c", T0), T0).is_none());
        assert_eq!(f.counters.dropped[Drop::NodeLimit as usize], 1);
        assert_eq!(f.nodes.len(), 2);
    }

    #[test]
    fn learns_the_interval() {
        let mut f = Fleet::new(policy());
        for i in 0..10 {
            f.ingest(&obs("a", T0 + i * 5000), T0 + i * 5000);
        }
        assert_eq!(f.nodes["a"].interval_ms, 5000);
        f.sweep(T0 + 45_000 + 15_000);
        assert!(!f.nodes["a"].has(Problem::Offline));
        f.sweep(T0 + 45_000 + 15_001);
        assert!(f.nodes["a"].has(Problem::Offline));
    }

    fn policy_60s() -> Policy {
        Policy {
            interval_ms: 60_000,
            ..policy()
        }
    }

    /// Records every `step` ms from `*t`, `n` of them.
    fn send(f: &mut Fleet, t: &mut u64, n: u64, step: u64) {
        for _ in 0..n {
            *t += step;
            f.ingest(&obs("a", *t), *t);
        }
    }

    #[test]
    fn a_burst_does_not_shorten_the_interval() {
        // Not yet learned: the burst is gathered, no sample, the flag's 60 s holds.
        let mut f = Fleet::new(policy_60s());
        let mut t = T0;
        send(&mut f, &mut t, 1, 0);
        send(&mut f, &mut t, 12, 500);
        assert_eq!(f.nodes["a"].interval_ms, 0);
        f.sweep(t + 12_000);
        assert!(!f.nodes["a"].has(Problem::Offline));
        // Learned 60 s, then the same burst: still 60 s, not offline 12 s (or 170 s) later.
        let mut f = Fleet::new(policy_60s());
        let mut t = T0;
        send(&mut f, &mut t, 8, 60_000);
        assert_eq!(f.nodes["a"].interval_ms, 60_000);
        send(&mut f, &mut t, 12, 500);
        assert_eq!(f.nodes["a"].interval_ms, 60_000);
        f.sweep(t + 12_000);
        f.sweep(t + 170_000);
        assert!(!f.nodes["a"].has(Problem::Offline));
        // A node that sends bursts of 12 every minute is judged by its longest gap.
        send(&mut f, &mut t, 1, 54_500);
        for _ in 0..6 {
            send(&mut f, &mut t, 11, 500);
            send(&mut f, &mut t, 1, 54_500);
        }
        assert_eq!(f.nodes["a"].interval_ms, 54_500);
    }

    #[test]
    fn a_real_change_of_interval_is_learned() {
        let mut f = Fleet::new(policy_60s());
        let mut t = T0;
        send(&mut f, &mut t, 8, 60_000);
        // Now every 5 s: gathered 30 s at a time, the median moves after three samples.
        send(&mut f, &mut t, 6 * 2, 5000);
        assert_eq!(f.nodes["a"].interval_ms, 60_000);
        send(&mut f, &mut t, 6, 5000);
        assert_eq!(f.nodes["a"].interval_ms, 5000);
        // Slower again: every sample is long enough to count at once.
        send(&mut f, &mut t, 3, 20_000);
        assert_eq!(f.nodes["a"].interval_ms, 20_000);
    }

    #[test]
    fn strip_keeps_the_last_records_oldest_first() {
        let mut f = Fleet::new(policy());
        let mut o = obs("a", T0);
        for i in 0..(STRIP as u64 + 2) {
            o.t_ms = T0 + i * 1000;
            o.status = (i % 3) as u8;
            f.ingest(&o, o.t_ms);
        }
        let h: Vec<u8> = f.nodes["a"].history().collect();
        assert_eq!(h.len(), STRIP);
        assert_eq!(h[0], strip_byte(2, false));
        assert_eq!(h[STRIP - 1], strip_byte(((STRIP + 1) % 3) as u8, false));
        // Back after an outage: marked.
        f.sweep(o.t_ms + 10_000);
        o.t_ms += 11_000;
        f.ingest(&o, o.t_ms);
        assert_eq!(
            f.nodes["a"].history().last(),
            Some(strip_byte(o.status, true))
        );
    }

    #[test]
    fn sorted_by_worst_problem() {
        let mut f = Fleet::new(Policy {
            max_nodes: 10,
            ..policy()
        });
        let mut o = obs("a-service", T0);
        o.problems = Problem::Service.bit() | Problem::Disk.bit();
        f.ingest(&o, T0);
        o.host = Cow::Borrowed("b-unsynced");
        o.problems = Problem::Unsynced.bit();
        f.ingest(&o, T0);
        o.host = Cow::Borrowed("c-ok");
        o.problems = 0;
        f.ingest(&o, T0);
        f.ingest(&obs("d-off", T0 - 10_000), T0 - 10_000);
        f.sweep(T0);
        let order: Vec<&str> = f.sorted().into_iter().map(|(h, _)| h).collect();
        assert_eq!(order, ["d-off", "b-unsynced", "a-service", "c-ok"]);
    }

    #[test]
    fn record_problems_keep_their_start() {
        let mut f = Fleet::new(policy());
        let mut o = obs("a", T0);
        o.problems = Problem::Service.bit() | Problem::Linger.bit();
        f.ingest(&o, T0);
        o.t_ms += 1000;
        o.problems = Problem::Service.bit();
        f.ingest(&o, T0 + 1000);
        let n = &f.nodes["a"];
        assert_eq!(n.since(Problem::Service), Some(secs(T0)));
        assert_eq!(n.since(Problem::Linger), None);
        assert_eq!(n.problems, Problem::Service.bit());
    }

    #[test]
    fn worse_ranks_crit_over_warn_over_unknown_over_ok() {
        // want[a][b] for the codes 0 ok, 1 warn, 2 crit, 3 unknown.
        let want = [
            [0, 1, 2, 3], // ok
            [1, 1, 2, 1], // warn
            [2, 2, 2, 2], // crit
            [3, 1, 2, 3], // unknown
        ];
        for (a, row) in (0u8..).zip(want) {
            for (b, worst) in (0u8..).zip(row) {
                assert_eq!(worse(a, b), worst, "worse({a}, {b})");
            }
        }
        // A code past 3 counts as unknown.
        assert_eq!((worse(9, 0), worse(9, 1)), (3, 1));
    }

    /// The problems a record reports, as the agent's checks raise them.
    const RECORD_PROBLEMS: [Problem; 7] = [
        Problem::Unsynced,
        Problem::Clock,
        Problem::Timesync,
        Problem::Linger,
        Problem::Service,
        Problem::Disk,
        Problem::Memory,
    ];

    #[test]
    fn each_record_problem_lasts_while_the_records_report_it() {
        let bits = RECORD_PROBLEMS.iter().fold(0, |b, p| b | p.bit());
        assert_eq!(Problem::FROM_RECORD, bits);
        for p in RECORD_PROBLEMS {
            let mut f = Fleet::new(policy());
            let mut o = obs("a", T0);
            o.problems = p.bit();
            f.ingest(&o, T0);
            assert_eq!(f.nodes["a"].since(p), Some(secs(T0)), "{p:?}");
            assert_eq!(f.nodes["a"].problems, p.bit(), "{p:?}");
            o.t_ms += 1000;
            o.problems = 0;
            f.ingest(&o, T0 + 1000);
            assert_eq!(f.nodes["a"].problems, 0, "{p:?} not cleared");
        }
        // What the collector observes itself, a record cannot claim.
        for p in Problem::ALL
            .into_iter()
            .filter(|p| !RECORD_PROBLEMS.contains(p))
        {
            let mut f = Fleet::new(policy());
            let mut o = obs("a", T0);
            o.problems = p.bit();
            f.ingest(&o, T0);
            assert!(!f.nodes["a"].has(p), "{p:?} taken from a record");
        }
    }

    #[test]
    fn a_replay_is_a_record_not_newer_than_the_last_one() {
        let mut f = Fleet::new(policy());
        assert!(!f.is_replay(&obs("a", T0)), "an unknown host");
        let mut o = obs("a", T0);
        o.seq = Some(10);
        f.ingest(&o, T0);
        let replay = |seq: Option<u64>, t_ms: u64| {
            let mut o = obs("a", t_ms);
            o.seq = seq;
            f.is_replay(&o)
        };
        // The same record again, or an older one.
        assert!(replay(Some(10), T0));
        assert!(replay(Some(10), T0 - 1));
        assert!(replay(Some(9), T0 - 1000));
        assert!(replay(None, T0));
        // Newer: a later time with the same seq, a higher seq whatever the node's clock says
        // (stepped back), a lower seq at a later time (the agent's counter started again).
        assert!(!replay(Some(10), T0 + 1));
        assert!(!replay(Some(11), T0 - 60_000));
        assert!(!replay(Some(11), T0 + 1000));
        assert!(!replay(Some(3), T0 + 1000));
        assert!(!replay(None, T0 + 1));
        // A node that sent no seq is judged by time alone.
        f.ingest(&obs("b", T0), T0);
        let mut o = obs("b", T0);
        o.seq = Some(5);
        assert!(f.is_replay(&o));
        o.t_ms += 1;
        assert!(!f.is_replay(&o));
    }

    #[test]
    fn census_counts_nodes_up_and_offline() {
        let mut f = Fleet::new(Policy {
            max_nodes: 10,
            ..policy()
        });
        f.ingest(&obs("old", T0 - 10_000), T0 - 10_000);
        f.ingest(&obs("a", T0), T0);
        f.ingest(&obs("b", T0), T0);
        f.sweep(T0);
        assert_eq!(f.census(), (2, 1));
    }

    #[test]
    fn dropped_total_counts_every_reason() {
        let mut c = Counters::default();
        assert_eq!(c.dropped_total(), 0);
        c.drop(Drop::Json);
        c.drop(Drop::Json);
        c.drop(Drop::BadMac);
        assert_eq!(c.dropped_total(), 3);
    }

    #[test]
    fn skew_is_a_problem_only_past_the_threshold() {
        let mut f = Fleet::new(policy());
        f.ingest(&obs("a", T0 - 300_000), T0);
        assert!(!f.nodes["a"].has(Problem::Skewed), "exactly the threshold");
        f.ingest(&obs("a", T0 + 1000 - 300_001), T0 + 1000);
        assert!(f.nodes["a"].has(Problem::Skewed));
    }

    // With the flag's 60 s, gaps from 30 s on count at once (shorter ones are a burst).

    #[test]
    fn the_interval_is_trusted_after_three_gaps_and_not_learned_when_off() {
        let mut f = Fleet::new(policy_60s());
        let mut t = T0;
        send(&mut f, &mut t, 3, 40_000);
        assert_eq!(f.nodes["a"].interval_ms, 0, "two gaps are not enough");
        send(&mut f, &mut t, 1, 40_000);
        assert_eq!(f.nodes["a"].interval_ms, 40_000);
        let mut f = Fleet::new(Policy {
            learn: false,
            ..policy_60s()
        });
        let mut t = T0;
        send(&mut f, &mut t, 10, 40_000);
        assert_eq!(f.nodes["a"].interval_ms, 0);
        assert_eq!(f.nodes["a"].gaps, [0; GAPS]);
    }

    #[test]
    fn an_outage_and_a_clock_step_teach_no_gap() {
        let mut f = Fleet::new(policy_60s());
        let mut t = T0;
        send(&mut f, &mut t, 4, 40_000);
        assert_eq!(f.nodes["a"].interval_ms, 40_000);
        // Offline, then back 5 minutes later: that gap is the outage, not the interval.
        f.sweep(t + 121_000);
        assert!(f.nodes["a"].has(Problem::Offline));
        send(&mut f, &mut t, 1, 300_000);
        assert!(!f.nodes["a"].has(Problem::Offline));
        assert!(!f.nodes["a"].gaps.contains(&300_000));
        // The node's clock jumps 60 s ahead while the record came 40 s after the last one.
        t += 40_000;
        f.ingest(&obs("a", t + 60_000), t);
        assert!(!f.nodes["a"].gaps.contains(&100_000));
        // Receive times that wander by 1.5 s around the node's 40 s are still its interval.
        let mut f = Fleet::new(policy_60s());
        f.ingest(&obs("a", T0), T0);
        for (i, late) in [1500, 0, 1500].into_iter().enumerate() {
            let node_t = T0 + (i as u64 + 1) * 40_000;
            f.ingest(&obs("a", node_t), node_t + late);
        }
        assert_eq!(f.nodes["a"].interval_ms, 40_000);
    }

    #[test]
    fn records_lost_between_two_count_as_steps_of_the_interval() {
        let mut f = Fleet::new(policy_60s());
        let mut t = T0;
        let at = |f: &mut Fleet, seq: u64, t: u64| {
            let mut o = obs("a", t);
            o.seq = Some(seq);
            f.ingest(&o, t);
        };
        for seq in 1..=5 {
            t += 40_000;
            at(&mut f, seq, t);
        }
        assert_eq!(f.nodes["a"].interval_ms, 40_000);
        // Every other record lost: 80 s between those that arrive, 2 seq steps each.
        for seq in (7..=15).step_by(2) {
            t += 80_000;
            at(&mut f, seq, t);
        }
        assert_eq!(f.nodes["a"].interval_ms, 40_000);
        assert_eq!(f.nodes["a"].lost, 5);
        // The same seq again, then a counter that started over: one step each.
        t += 40_000;
        at(&mut f, 15, t);
        t += 40_000;
        at(&mut f, 1, t);
        assert_eq!(f.nodes["a"].gaps, [40_000; GAPS]);
    }

    #[test]
    fn node_is_compact() {
        assert!(
            std::mem::size_of::<Node>() <= 216,
            "{}",
            std::mem::size_of::<Node>()
        );
    }
}
