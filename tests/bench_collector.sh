#!/usr/bin/env bash
# Benchmark of nodepulse-collector (figures, not a test): load generators (examples/loadgen.rs)
# send np1 records (~420 bytes) from synthetic hosts over loopback. Every figure printed is
# measured in this run; node and record counts are read back from the collector's /metrics.
#   0. anchor: VictoriaMetrics ingesting the same records as InfluxDB line protocol over UDP
#      (loadgen --format influx: 7 lines per record, one datagram per record) at RATE records/s
#      for SECS s, twice (the second pass, whose series exist, is the anchor); records it
#      received (its own counter) per CPU second of its process;
#   then for --threads 1, --threads 2 (--spread host, the default) and --threads 2 --spread cpu:
#   1. capacity: the collector is stopped (SIGSTOP) while SENDERS senders (each its own socket
#      and share of the hosts) put BLAST records from HOSTS hosts into its socket buffers, then
#      continued: records accepted per CPU second of the process and per wall second of the
#      drain (no sender runs then: both cores are free for it), how the kernel queued them over
#      the sockets, each ingest thread's CPU (user and system), and the CPU the 2 cores spent
#      meanwhile: the collector's, the other processes' and the kernel's, and the softirq part;
#      and each CPU's function-call interrupts and NET_RX softirqs meanwhile; with 2 threads,
#      how many cores each drain kept busy (busy CPU s / wall s). (Linux 6.18 frees
#      a received datagram's buffer on the CPU that allocated it, on loopback the sender's: a
#      receiver on another CPU queues it there and kicks that CPU with a function-call
#      interrupt, whose NET_RX softirq frees the queue. With one ingest thread the other core
#      does that; with two, both cores run ingest threads and the freeing runs in them, counted
#      as their system time.)
#   2. memory: VmRSS empty and with the nodes tracked (before any reader asked for a copy of
#      the table, and after /metrics made one), bytes per node;
#   3. loss at RATE records/s for SECS s from the same hosts (as the anchor): sent vs accepted,
#      the kernel's UDP RcvbufErrors, records per CPU second beside the anchor's.
# Targets (issue 15; printed, not asserted): >= 250 000 records per CPU second with one thread,
# >= 1.8x that with 2 ingest threads where 2 cores are free, zero loss at 50 000/s, <= 300
# bytes per node.
# Usage: bash tests/bench_collector.sh   (builds the release collector and the load generator;
# needs victoria-metrics on PATH for the anchor, else the anchor is reported as not measured)
set -euo pipefail
cd "$(dirname "$0")/.."

HOSTS=${HOSTS:-100000}
BLAST=${BLAST:-500000}
RATE=${RATE:-50000}
SECS=${SECS:-5}
SENDERS=${SENDERS:-16}
INFLUX_LINES=7

cargo build --release --bin nodepulse-collector --example loadgen >&2
C=target/release/nodepulse-collector
L=target/release/examples/loadgen

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_tcp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
cpu_s() { awk -v hz="$hz" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# CPU seconds of each ingest thread, "name user system" per line.
thread_cpu() {
  for t in /proc/"$1"/task/*; do
    name=$(cat "$t/comm" 2>/dev/null) || continue
    case $name in ingest-*) awk -v n="$name" -v hz="$hz" '{ sub(/^.*\) /, ""); print n, $12 / hz, $13 / hz }' "$t/stat" ;; esac
  done | sort
}
rcvbuf_errors() { awk '/^Udp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) col[$i] = i; else print $col["RcvbufErrors"]}' /proc/net/snmp; }
# Bytes queued on the UDP sockets bound to port $1 (all of them: SO_REUSEPORT).
rx_queue() {
  awk -v p="$(printf '%04X' "$1")" 'function hex(h,  i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", toupper(substr(h, i, 1))) - 1; return v }
    NR > 1 { split($2, a, ":"); if (a[2] == p) { split($5, q, ":"); s += hex(q[2]) } } END { print s + 0 }' /proc/net/udp
}
# The same per socket, in /proc/net/udp's order, comma-separated: how the kernel spread them.
rx_queues() {
  awk -v p="$(printf '%04X' "$1")" 'function hex(h,  i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", toupper(substr(h, i, 1))) - 1; return v }
    NR > 1 { split($2, a, ":"); if (a[2] == p) { split($5, q, ":"); s = s (n++ ? ", " : "") hex(q[2]) } } END { print s }' /proc/net/udp
}
# Waits (at most 120 s) until nothing is queued on port $2 and process $1's CPU time stands.
settle() {
  local last=-1 now i
  for i in $(seq 240); do
    now=$(cpu_s "$1")
    [ "$(rx_queue "$2")" = 0 ] && [ "$now" = "$last" ] && return
    last=$now
    sleep 0.5
  done
  echo "(did not settle in 120 s)" >&2
}
# The senders: loadgen ARGS... split over $SENDERS processes, each its own share of the hosts.
# $1 = first host, $2 = hosts, $3 = records (or "rate:R:S" for R records/s over S s).
send() {
  local start=$1 hosts=$2 what=$3; shift 3
  local per=$((hosts / SENDERS)) outs=() i
  for i in $(seq 0 $((SENDERS - 1))); do
    case $what in
      rate:*) IFS=: read -r _ rr rs <<<"$what"; $L "$@" --hosts "$per" --start $((start + i * per)) --rate $((rr / SENDERS)) --duration "$rs" >"$dir/send.$i" & ;;
      *) $L "$@" --hosts "$per" --start $((start + i * per)) --count $((what / SENDERS)) >"$dir/send.$i" & ;;
    esac
    outs+=($!)
  done
  wait "${outs[@]}"
  cat "$dir"/send.* | awk '{ n += $2; if ($4 + 0 > s) s = $4 } END { printf "sent %d in %.3f s\n", n, s }'
  rm -f "$dir"/send.*
}
# Continues the stopped process $1 and waits until nothing is queued on port $2, from one
# python process that reads /proc/net/udp every 5 ms (a shell loop of awk and sleep took a
# third of a core, one of the two the ingest threads drain on). Prints the wall times of the
# SIGCONT and of the empty queue, then the CPU seconds all processes used in between
# (/proc/stat: user, nice, system, irq, softirq, steal), the softirq part of them, and process
# $1's part, then the function-call interrupts (/proc/interrupts, CAL) and the NET_RX softirqs
# (/proc/softirqs) of each CPU in between, comma-separated (all read at the same moments).
drain() {
  python3 - "$1" "$2" "$hz" <<'EOF'
import os, signal, sys, time
pid, port, hz = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
want = ":%04X" % port
def queued():
    n = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            w = line.split()
            if w[1].endswith(want):
                n += int(w[4].split(":")[1], 16)
    return n
def cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz, v[6] / hz, (int(w[11]) + int(w[12])) / hz
ncpu = os.cpu_count()
def per_cpu(path, name):
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0] == name:
                return [int(x) for x in w[1:ncpu + 1]]
    return [0] * ncpu
def kicks():
    return per_cpu("/proc/interrupts", "CAL:"), per_cpu("/proc/softirqs", "NET_RX:")
k0, r0 = kicks()
b0, s0, c0 = cpu()
t0 = time.time()
os.kill(pid, signal.SIGCONT)
while queued():
    time.sleep(0.005)
t1 = time.time()
b1, s1, c1 = cpu()
k1, r1 = kicks()
diff = lambda a, b: ",".join(str(y - x) for x, y in zip(a, b))
print("%.6f %.6f %.2f %.2f %.2f %s %s" % (t0, t1, b1 - b0, s1 - s0, c1 - c0, diff(k0, k1), diff(r0, r1)))
EOF
}
metric() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }

# ---- the anchor: VictoriaMetrics, InfluxDB line protocol over UDP -----------------------------
anchor=""
echo "== anchor: VictoriaMetrics, $RATE records/s ($((RATE * INFLUX_LINES)) influx lines/s) for $SECS s from $HOSTS hosts over UDP, twice"
if command -v victoria-metrics >/dev/null; then
  vport=$(free_port)
  vhttp=$(free_tcp)
  victoria-metrics -storageDataPath "$dir/vm" -httpListenAddr "127.0.0.1:$vhttp" \
    -influxListenAddr "127.0.0.1:$vport" -loggerLevel ERROR >"$dir/vm.log" 2>&1 &
  vpid=$!
  pids+=("$vpid")
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$vhttp/health" >/dev/null 2>&1 && break; sleep 0.05; done
  # Datagrams (= records) and lines VictoriaMetrics read from UDP, from its /metrics.
  vm_counts() { curl -sf "http://127.0.0.1:$vhttp/metrics" | awk '
    index($0, "vm_ingestserver_requests_total{type=\"influx\", name=\"write\", net=\"udp\"} ") == 1 { d = $NF }
    index($0, "vm_protoparser_rows_read_total{type=\"influx\"} ") == 1 { r = $NF }
    END { print d + 0, r + 0 }'; }
  # Twice the same hosts: the first pass creates their series (cold), the second is the
  # steady state of a fleet that reports again and again (warm): the anchor.
  for pass in cold warm; do
    read -r d0 l0 < <(vm_counts)
    c0=$(cpu_s "$vpid")
    out=$(send 0 "$HOSTS" "rate:$RATE:$SECS" --to "127.0.0.1:$vport" --format influx)
    settle "$vpid" "$vport"
    c1=$(cpu_s "$vpid")
    read -r d1 l1 < <(vm_counts)
    sent=$(echo "$out" | awk '{print $2}')
    per=$(awk -v r="$((d1 - d0))" -v c0="$c0" -v c1="$c1" 'BEGIN { printf "%.0f", r / (c1 - c0) }')
    awk -v p="$pass" -v s="$sent" -v r="$((d1 - d0))" -v l="$((l1 - l0))" -v c0="$c0" -v c1="$c1" -v a="$per" 'BEGIN {
      printf "%s: VictoriaMetrics received %d of %d records (%d lines); CPU %.2f s: %d records per CPU second\n", p, r, s, l, c1 - c0, a }'
  done
  anchor=$per
  echo "anchor (warm): $anchor records per CPU second"
  kill "$vpid"; wait "$vpid" 2>/dev/null || true
else
  echo "victoria-metrics not on PATH: anchor not measured"
fi
ratio() { if [ -n "$anchor" ]; then awk -v a="$1" -v b="$anchor" 'BEGIN { printf "%.2fx the anchor", a / b }'; else echo "no anchor"; fi; }

# ---- the collector: 1 ingest thread, then 2 by host name (the default), then 2 by CPU ---------
declare -A wall cores
for run in 1-host 2-host 2-cpu; do
  threads=${run%-*}
  spread=${run#*-}
  port=$(free_port)
  ctl=$(free_tcp)
  log="$dir/log.$run"
  "$C" --listen "127.0.0.1:$port" --http "127.0.0.1:$ctl" --state "$dir/state.$run" \
    --persist-interval 3600 --max-nodes 1000000 --interval 60 --threads "$threads" \
    --spread "$spread" --rcvbuf $((1 << 30)) 2>"$log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do grep -q listening "$log" 2>/dev/null && break; sleep 0.05; done
  # The ingest threads start after that line: all of them before the figures begin.
  for _ in $(seq 100); do [ "$(thread_cpu "$pid" | wc -l)" = "$threads" ] && break; sleep 0.05; done
  echo "== collector --threads $threads --spread $spread: $(grep listening "$log" | sed 's/^nodepulse-collector: //')"
  grep -- '--spread cpu:' "$log" | sed 's/^nodepulse-collector: /  /' || true
  rss0=$(rss_kb "$pid")
  read_metrics() { curl -sf --max-time 60 "http://127.0.0.1:$ctl/metrics" >"$dir/metrics"; }

  echo "-- capacity: $BLAST records from $HOSTS hosts queued by $SENDERS senders while the collector is stopped, then drained"
  e0=$(rcvbuf_errors)
  kill -STOP "$pid"
  send 0 "$HOSTS" "$BLAST" --to "127.0.0.1:$port" >/dev/null
  e1=$(rcvbuf_errors)
  queued=$(rx_queue "$port")
  per_socket=$(rx_queues "$port")
  cpu0=$(cpu_s "$pid")
  thread_cpu "$pid" >"$dir/t0"
  read -r t0 t1 busy softirq cpud calls netrx < <(drain "$pid" "$port")
  settle "$pid" "$port"
  cpu1=$(cpu_s "$pid")
  thread_cpu "$pid" >"$dir/t1"
  rss1=$(rss_kb "$pid")
  read_metrics
  rss2=$(rss_kb "$pid")
  n1=$(metric "$dir/metrics" nodepulse_fleet_records_accepted_total)
  nodes1=$(( $(metric "$dir/metrics" 'nodepulse_fleet_nodes{state="up"}') + $(metric "$dir/metrics" 'nodepulse_fleet_nodes{state="offline"}') ))
  per_cpu=$(awk -v n="$n1" -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.0f", n / (b - a) }')
  wall[$run]=$(awk -v n="$n1" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
  echo "accepted $n1 of $BLAST sent (read back from /metrics; kernel RcvbufErrors +$((e1 - e0)) while queuing, $queued bytes queued: $per_socket per socket)"
  awk -v c="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" -v r="$per_cpu" 'BEGIN {
    printf "collector CPU %.2f s: %d records per CPU second (target with 1 thread >= 250000)", c, r }'
  echo ", $(ratio "$per_cpu") (the anchor was paced)"
  join "$dir/t0" "$dir/t1" | awk '{ printf "  %s: %.2f s CPU (user %.2f, system %.2f)\n", $1, $4 + $5 - $2 - $3, $4 - $2, $5 - $3 }'
  awk -v a="$t0" -v b="$t1" -v r="${wall[$run]}" -v all="$busy" -v c="$cpud" -v si="$softirq" 'BEGIN {
    printf "drained in %.2f s: the 2 cores were busy %.2f CPU s of %.2f (the collector %.2f, the other processes and the kernel %.2f; softirq %.2f of it all): %d records per wall second", b - a, all, 2 * (b - a), c, all - c, si, r }'
  # How many cores the drain kept busy (the collector's threads and all the kernel did beside
  # them, its freeing of the buffers included).
  cores[$run]=$(awk -v all="$busy" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", all / (b - a) }')
  if [ "$threads" -gt 1 ]; then
    awk -v a="${wall[$run]}" -v b="${wall[1-host]}" 'BEGIN { printf ", %.2fx --threads 1 (target >= 1.8x where 2 cores are free)", a / b }'
  fi
  echo
  if [ "$threads" -gt 1 ]; then
    awk -v one="${cores[1-host]}" -v two="${cores[$run]}" 'BEGIN {
      printf "  cores kept busy: %.2f by the --threads 1 drain (its thread and the kernel beside it), %.2f by this one\n", one, two }'
  fi
  echo "  the kernel meanwhile, per CPU: function-call interrupts $calls, NET_RX softirqs $netrx"
  # The cores were not free if the busy time beyond the collector and all softirqs (which may
  # run in the collector's threads or beside them) is more than the drain's own monitor takes.
  awk -v all="$busy" -v c="$cpud" -v si="$softirq" 'BEGIN {
    if (all - c - si > 0.2) printf "  (not on free cores: other processes used about %.2f CPU s meanwhile)\n", all - c - si }'

  echo "-- memory: $nodes1 nodes tracked (read back from /metrics)"
  awk -v a="$rss0" -v b="$rss1" -v c="$rss2" -v h="$nodes1" 'BEGIN {
    printf "VmRSS %d KiB empty, %d KiB with %d nodes: %.0f bytes per node (target <= 300)\n", a, b, h, (b - a) * 1024 / h
    printf "VmRSS %d KiB once /metrics made the readers'\'' copy: %.0f bytes per node\n", c, (c - a) * 1024 / h }'

  echo "-- loss: $RATE records/s for $SECS s from the same $HOSTS hosts (as the anchor's warm pass)"
  e0=$(rcvbuf_errors)
  cpu0=$(cpu_s "$pid")
  out=$(send 0 "$HOSTS" "rate:$RATE:$SECS" --to "127.0.0.1:$port")
  echo "$out"
  sent=$(echo "$out" | awk '{print $2}')
  settle "$pid" "$port"
  cpu1=$(cpu_s "$pid")
  e1=$(rcvbuf_errors)
  read_metrics
  n2=$(metric "$dir/metrics" nodepulse_fleet_records_accepted_total)
  nodes2=$(( $(metric "$dir/metrics" 'nodepulse_fleet_nodes{state="up"}') + $(metric "$dir/metrics" 'nodepulse_fleet_nodes{state="offline"}') ))
  awk -v s="$sent" -v a="$((n2 - n1))" -v e="$((e1 - e0))" -v c="$(awk -v x="$cpu0" -v y="$cpu1" 'BEGIN{print y-x}')" -v secs="$SECS" 'BEGIN {
    printf "sent %d, accepted %d, lost %d (%.4f%%; kernel RcvbufErrors +%d); collector CPU %.1f%% of one core (target: zero loss)\n", s, a, s - a, (s - a) * 100 / s, e, c * 100 / secs }'
  paced=$(awk -v a="$((n2 - n1))" -v x="$cpu0" -v y="$cpu1" 'BEGIN { printf "%.0f", a / (y - x) }')
  echo "at $RATE records/s: $paced records per CPU second, $(ratio "$paced") (VictoriaMetrics at the same rate)"
  echo "nodes now: $nodes2 (read back from /metrics): VmRSS $(rss_kb "$pid") KiB"

  kill -TERM "$pid"; wait "$pid"
  tail -1 "$log"
  echo "state file: $(stat -c %s "$dir/state.$run") bytes, $(grep -c '^node ' "$dir/state.$run" || true) node lines"
done
