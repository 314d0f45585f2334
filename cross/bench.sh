#!/usr/bin/env bash
# Benchmark of the static x86_64 agent: PRINTS figures next to their targets.
# It is not a test: a figure missing its target does not fail it; it fails only when
# something cannot be measured (a tool, the build or a run is missing or broken).
#
# Figures (targets in brackets):
#   1. stripped binary size (<= 65536 bytes); malloc/calloc/realloc/free referenced (none) and
#      core::fmt symbols present (none), from nm on an unstripped build of the same code
#   2. syscalls per run, from one `strace -f` trace per config (<= 40 + 3 x processes scanned),
#      fixture root and this machine; how many times the proc directory is opened (1: one pass;
#      0 on the systemd fixture, whose units name the time daemon and the service);
#      processes scanned and opens below a process's entry, counted relative to the proc
#      directory's descriptor as the agent opens them (`openat(9, "812/stat")`; none on the
#      systemd fixture, where systemd answers everything); syscalls of the pass per process
#      scanned (<= 3)
#   3. peak RSS: VmHWM read at the agent's exit (ptrace), 5 runs (<= 200 KiB), beside
#      `busybox true` and a one-syscall static program measured the same way
#   4. mean wall time / mean wall time of `busybox true`, both in one hyperfine invocation
#      (<= 1.5); hyperfine runs all of one command, then all of the other, it does not interleave
#   5. CPU per run (wait4 rusage, commands interleaved): the agent on the systemd fixture /
#      one node_exporter scrape on loopback (<= 0.25), beside two shares of it measured in the
#      same run: exec and exit alone (exit0) and the disk check's deadline child (the agent
#      with and without --skip disk); the /proc pass's CPU per process on
#      this machine / a floor's that opens, reads and closes every /proc/N/comm (<= 1.2)
#   6. record size, stdout bytes including the newline (<= 512); every format's size for the
#      standard config and for the largest config the capacities allow
#   7. every target (cross/build.sh): stripped size (<= 65536 each) and syscalls per run under
#      qemu-user (-strace), min-max of 5 runs (qemu refuses clone(CLONE_PIDFD), the fallback
#      polls: the count varies); with --readme, the targets table in README.md is rewritten
#
# Usage: bash cross/bench.sh [--readme]   (from any directory; as root or with sudo; no stdin)
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
update_readme=""
[ "${1:-}" = "--readme" ] && update_readme=1

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: cannot measure: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
# command -> Debian package
declare -A need=(
  [strace]=strace [hyperfine]=hyperfine [busybox]=busybox-static [file]=file
  [nm]=binutils [jq]=jq [python3]=python3 [cc]=gcc [curl]=curl
  [prometheus-node-exporter]=prometheus-node-exporter
)
missing=()
for c in "${!need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${need[$c]}"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Another apt (unattended upgrades, the test suite's) may hold the locks: wait up to 5 minutes.
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq </dev/null || log "apt-get update reported errors; going on"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
for c in "${!need[@]}"; do command -v "$c" >/dev/null 2>&1 || die "$c not installed"; done
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup first)"
if command -v rustup >/dev/null 2>&1; then
  rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 </dev/null \
    || die "rustup target add x86_64-unknown-linux-musl"
fi

# ---------------------------------------------------------------- build
target=x86_64-unknown-linux-musl
log "build the static agent (release, stripped)"
cargo build --release --no-default-features --target "$target" --bin nodepulse </dev/null >&2 || die "cargo build"
bin="$PWD/target/$target/release/nodepulse"
[ -x "$bin" ] || die "$bin missing"
file "$bin" | grep -q "statically linked" || die "$bin is not statically linked"

log "build an unstripped copy (same profile, strip = false) for nm"
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --no-default-features --target "$target" --bin nodepulse \
  --target-dir target/bench-unstripped </dev/null >&2 || die "unstripped cargo build"
unstripped="$PWD/target/bench-unstripped/$target/release/nodepulse"
[ -x "$unstripped" ] || die "$unstripped missing"

tmp=$(mktemp -d)
ne_pid=""
cleanup() {
  # node_exporter, when this script started it and a failure left it running.
  [ -z "$ne_pid" ] || kill "$ne_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The agent exits 0..3 (OK, WARNING, CRITICAL, UNKNOWN): all are measurements.
# Anything else (a signal, a crash) means the figure cannot be measured.
run_ok() { # cmd... ; stdout to $tmp/out
  local rc=0
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  ((rc <= 3)) || { cat "$tmp/err" >&2; die "'$*' exited $rc"; }
}

fixture=tests/fixtures/systemd-ok
[ -d "$fixture/proc" ] || die "$fixture/proc missing"
# Every run passes --state none: a run of the benchmark must not write (or read) the state file
# that cron's runs keep on this machine (/var/lib/nodepulse/state), whatever the defaults are.
std_args=(--root "$fixture" --user-service node:openclaw-node --mount / --mount /proc --state none)
real_args=(--user root --service cron --mount / --mount /tmp --state none)

count_pids() { # dir -> number of numeric entries
  local n=0 d
  for d in "$1"/[0-9]*; do
    [ -d "$d" ] && [[ "${d##*/}" =~ ^[0-9]+$ ]] && n=$((n + 1))
  done
  echo "$n"
}

# ---------------------------------------------------------------- 1. size, malloc, core::fmt
size=$(stat -c %s "$bin")
nm "$unstripped" >"$tmp/nm" 2>/dev/null || die "nm $unstripped"
[ -s "$tmp/nm" ] || die "nm found no symbols in the unstripped build"
alloc_syms=$(awk '{print $NF}' "$tmp/nm" | grep -Ex '(malloc|calloc|realloc|free)' | sort -u | paste -sd, -) || true
[ -n "$alloc_syms" ] || alloc_syms=none
fmt_count=$(nm -C "$unstripped" 2>/dev/null | grep -c 'core::fmt' || true)
fmt_examples=$(nm -C "$unstripped" 2>/dev/null | grep 'core::fmt' | awk '{$1="";$2="";print}' | sed 's/^ *//' | head -3 || true)

# ---------------------------------------------------------------- 2. syscalls
# One `strace -f` run per config, every syscall with its arguments. cross/bench-measure.py
# reads the trace (and counts exit_group, which strace -c's table leaves out): the agent opens the proc
# directory once and each `N/stat` relative to that descriptor (`openat(9, "812/stat")`), so
# per-process opens are counted by descriptor, not by a full path.
measure=(python3 "$PWD/cross/bench-measure.py")
declare -A std real
strace_run() { # label proc_dir cmd... -> $tmp/<label>.strace, $tmp/<label>.kv (key=value)
  local label=$1 procdir=$2; shift 2
  local rc=0
  strace -f -o "$tmp/$label.strace" "$@" >/dev/null 2>&1 </dev/null || rc=$?
  ((rc <= 3)) || die "strace $label exited $rc"
  "${measure[@]}" trace "$tmp/$label.strace" "$procdir" >"$tmp/$label.kv" || die "trace of $label"
}
load_kv() { # assoc-array-name file
  local -n arr=$1
  local k v
  while IFS='=' read -r k v; do arr[$k]=$v; done <"$2"
}

log "strace: standard config on $fixture"
std_procs=$(count_pids "$fixture/proc")
strace_run std "$fixture/proc" "$bin" "${std_args[@]}"
load_kv std "$tmp/std.kv"
std_target=$((40 + 3 * std[scanned]))

log "strace: this machine (${real_args[*]})"
real_procs=$(count_pids /proc)
strace_run real /proc "$bin" "${real_args[@]}"
real_procs_after=$(count_pids /proc)
load_kv real "$tmp/real.kv"
real_target=$((40 + 3 * real[scanned]))

# ---------------------------------------------------------------- 3. peak RSS
# The agent's own peak: VmHWM read at its exit (ptrace exit stop, cross/bench-measure.py peak),
# 5 runs each, beside anchors measured the same way in this run: `busybox true` (static glibc)
# and exit0, a static program whose whole text is one exit syscall, built here with cc.
# (/usr/bin/time's %M is not used: ru_maxrss keeps the forked `time` child's peak from before
# the exec: 436 KiB for a 3-instruction static program, issue 15.)
printf '%s\n' 'void _start(void) { __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall"); }' >"$tmp/exit0.c"
cc -O2 -static -nostdlib -o "$tmp/exit0" "$tmp/exit0.c" >&2 || die "cc -static -nostdlib exit0.c"
bb=$(command -v busybox)
rss_runs=5
peak_of() { # cmd... -> "hwm_min hwm_max rss_min rss_max" (KiB)
  "${measure[@]}" peak "$rss_runs" -- "$@" || die "peak RSS of $*"
}
log "peak RSS: VmHWM at exit (ptrace), $rss_runs runs each"
read -r std_hwm std_hwm_max std_vmrss std_vmrss_max < <(peak_of "$bin" "${std_args[@]}")
read -r real_hwm real_hwm_max real_vmrss real_vmrss_max < <(peak_of "$bin" "${real_args[@]}")
read -r bb_hwm bb_hwm_max _ _ < <(peak_of "$bb" true)
read -r exit0_hwm exit0_hwm_max _ _ < <(peak_of "$tmp/exit0")
[[ "$std_hwm_max" =~ ^[0-9]+$ && "$real_hwm_max" =~ ^[0-9]+$ && "$bb_hwm" =~ ^[0-9]+$ && "$exit0_hwm" =~ ^[0-9]+$ ]] \
  || die "no VmHWM figure"
range() { [ "$1" = "$2" ] && echo "$1" || echo "$1-$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# ---------------------------------------------------------------- 4. wall time vs busybox true
wall_warmup=20
wall_runs=300
quote() { local out="" a; for a in "$@"; do out+=" '${a//\'/\'\\\'\'}'"; done; echo "${out# }"; }
wall() { # label args... -> "agent_us agent_sd_us bb_us bb_sd_us ratio" (means, stddevs)
  local label=$1; shift
  local cmd; cmd=$(quote "$bin" "$@")
  hyperfine -N -i --style none --warmup "$wall_warmup" --runs "$wall_runs" \
    --export-json "$tmp/$label.json" "$bb true" "$cmd" </dev/null >/dev/null 2>&1 \
    || die "hyperfine $label"
  jq -r 'def r1: . * 1e7 | round / 10;
         .results as $r | ($r[0].mean) as $b | ($r[1].mean) as $a
         | "\($a | r1) \($r[1].stddev | r1) \($b | r1) \($r[0].stddev | r1) \(($a / $b) * 100 | round / 100)"' \
    "$tmp/$label.json" || die "jq on $label.json"
}
log "hyperfine: busybox true vs agent, standard config (one invocation, $wall_runs runs each)"
read -r std_agent_us std_agent_sd std_bb_us std_bb_sd std_ratio < <(wall std "${std_args[@]}")
log "hyperfine: busybox true vs agent, this machine"
read -r real_agent_us real_agent_sd real_bb_us real_bb_sd real_ratio < <(wall real "${real_args[@]}")
[ -n "${std_ratio:-}" ] && [ -n "${real_ratio:-}" ] || die "no hyperfine figure"

# ---------------------------------------------------------------- 5. CPU
# CPU time per run (user + system, wait4's rusage: exact runtime, exec and reaped children
# included), the commands interleaved run by run in one cross/bench-measure.py cpu call:
#   agent, standard config (systemd fixture), against one node_exporter scrape below
#   busybox true, an anchor
#   exit0, the exec floor: a static program whose whole text is one exit syscall
#   the agent, standard config with --skip disk: the same run without its deadline child
#   agent on this machine, with the /proc pass, and the same run with --skip timesync,service
#     (this machine has no systemd: those two checks are what asks for the pass)
#   the floor (cross/bench-floor.c, cc -O2 -static): open /proc, then openat(fd, "N/comm"),
#     read, close for every process; and `floor none`, its exec and exit alone
# The /proc pass's CPU per process is (with pass - without) / processes, for the agent and for
# the floor alike, so neither's fixed cost (exec, static start-up) counts. A run of the agent
# is a whole process, exec to exit; a scrape is one request to a process already running.
log "build the floor (cross/bench-floor.c, cc -O2 -static)"
cc -O2 -static -o "$tmp/floor" cross/bench-floor.c >&2 || die "cc -O2 -static cross/bench-floor.c (static libc: libc6-dev)"
noscan_args=("${real_args[@]}" --skip timesync,service)
declare -A floor noscan
strace_run floor /proc "$tmp/floor"
load_kv floor "$tmp/floor.kv"
strace_run noscan /proc "$bin" "${noscan_args[@]}"
load_kv noscan "$tmp/noscan.kv"
cpu_runs=500
cpu_warmup=20
log "CPU: 8 commands interleaved, $cpu_warmup warm-up + $cpu_runs runs each"
"${measure[@]}" cpu "$cpu_runs" "$cpu_warmup" -- "$bin" "${std_args[@]}" -- "$bb" true \
  -- "$tmp/exit0" -- "$bin" "${std_args[@]}" --skip disk \
  -- "$bin" "${real_args[@]}" -- "$bin" "${noscan_args[@]}" -- "$tmp/floor" -- "$tmp/floor" none \
  >"$tmp/cpu" </dev/null || die "CPU runs"
{
  read -r cpu_std cpu_std_sd _
  read -r cpu_bb cpu_bb_sd _
  read -r cpu_exit0 cpu_exit0_sd _
  read -r cpu_nodisk cpu_nodisk_sd _
  read -r cpu_real cpu_real_sd _
  read -r cpu_noscan cpu_noscan_sd _
  read -r cpu_floor cpu_floor_sd _
  read -r cpu_floor0 cpu_floor0_sd _
  read -r cpu_procs_min cpu_procs_max cpu_procs_mean
} <"$tmp/cpu"
[ -n "${cpu_procs_mean:-}" ] || die "no CPU figure"
# Each run also sees itself in /proc: the processes it scans are the entries counted before
# the round plus one.
cpu_scanned=$(awk -v m="$cpu_procs_mean" 'BEGIN { printf "%.1f", m + 1 }')
calc() { awk "BEGIN { printf \"%.${1}f\", $2 }"; }
agent_pp=$(calc 2 "($cpu_real - $cpu_noscan) / $cpu_scanned")
floor_pp=$(calc 2 "($cpu_floor - $cpu_floor0) / $cpu_scanned")
awk -v f="$floor_pp" 'BEGIN { exit !(f > 0) }' \
  || die "the floor's pass costs no CPU ($cpu_floor - $cpu_floor0 µs): too noisy to measure"
pp_ratio=$(calc 2 "$agent_pp / $floor_pp")

# One node_exporter scrape: prometheus-node-exporter on loopback with the collectors that
# cover what the agent reports, the exporter's own go_/process_ metrics off; warm-up scrapes,
# then the measured ones by one curl; its CPU from /proc/PID/stat utime + stime (clock ticks).
ne_collectors=(loadavg meminfo filesystem time timex uname stat)
ne_scrapes=2000
ne_warmup=20
ne_idle_s=2
ne_port=$("${measure[@]}" port) || die "no free port on 127.0.0.1"
log "node_exporter on 127.0.0.1:$ne_port (${ne_collectors[*]}): $ne_scrapes scrapes"
prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" --collector.disable-defaults \
  "${ne_collectors[@]/#/--collector.}" --web.disable-exporter-metrics --log.level=error \
  >"$tmp/node_exporter.log" 2>&1 </dev/null &
ne_pid=$!
ne_url="http://127.0.0.1:$ne_port/metrics"
for _ in $(seq 100); do
  curl -sf -o /dev/null "$ne_url" </dev/null 2>/dev/null && break
  kill -0 "$ne_pid" 2>/dev/null || { cat "$tmp/node_exporter.log" >&2; die "node_exporter exited"; }
  sleep 0.1
done
curl -sf -o /dev/null "$ne_url" </dev/null || { cat "$tmp/node_exporter.log" >&2; die "node_exporter does not answer on $ne_url"; }
declare -A scrape
"${measure[@]}" scrape "$ne_pid" "$ne_url" "$ne_scrapes" "$ne_warmup" >"$tmp/scrape.kv" </dev/null || die "scrapes"
load_kv scrape "$tmp/scrape.kv"
ne_idle=$("${measure[@]}" idle "$ne_pid" "$ne_idle_s" </dev/null) || die "node_exporter idle CPU"
kill "$ne_pid" 2>/dev/null || true
wait "$ne_pid" 2>/dev/null || true
ne_pid=""
awk -v s="${scrape[per_scrape_us]:-0}" 'BEGIN { exit !(s > 0) }' \
  || die "node_exporter's scrapes cost no tick of CPU: too few to measure"
scrape_ratio=$(calc 2 "$cpu_std / ${scrape[per_scrape_us]}")
exit0_ratio=$(calc 2 "$cpu_exit0 / ${scrape[per_scrape_us]}")
child_us=$(calc 1 "$cpu_std - $cpu_nodisk")
child_ratio=$(calc 2 "$child_us / ${scrape[per_scrape_us]}")

# ---------------------------------------------------------------- 6. record size
run_ok "$bin" "${std_args[@]}"
record_bytes=$(wc -c <"$tmp/out")
record_lines=$(wc -l <"$tmp/out")
((record_bytes > 0)) || die "standard config printed no record"
cp "$tmp/out" "$tmp/record"

# 6b. every format, standard config, and the largest record the capacities allow
# (4 users, 8 services, 8 mounts, 64-byte names).
long=$(printf 'n%.0s' $(seq 1 60))
max_args=(--root "$fixture" --state none)
for i in 1 2 3 4; do max_args+=(--user "${long}u$i"); done
for i in 1 2 3 4 5 6 7 8; do max_args+=(--user-service "${long}u$(( (i - 1) % 4 + 1 )):${long}s$i"); done
for m in / /proc /sys /dev /run /tmp /var /etc; do max_args+=(--mount "$m"); done
declare -A fmt_std fmt_max
for f in line json influx prom nagios; do
  run_ok "$bin" "${std_args[@]}" --format "$f"
  fmt_std[$f]=$(wc -c <"$tmp/out")
  run_ok "$bin" "${max_args[@]}" --format "$f"
  fmt_max[$f]=$(wc -c <"$tmp/out")
done

# ---------------------------------------------------------------- report
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
mark() { # value target -> ok / MISS (n/a: the value is not a number)
  [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo n/a; return; }
  if le "$1" "$2"; then echo ok; else echo MISS; fi
}
yesno_none() { [ "$1" = none ] && echo ok || echo MISS; }

echo
echo "nodepulse bench — $(uname -srm), $(nproc) CPU(s), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "binary: $bin"
file -b "$bin" | sed 's/^/  /'
echo
echo "1. size"
echo "  stripped: $size bytes (target <= 65536)"
echo "  unstripped: $(stat -c %s "$unstripped") bytes, $(wc -l <"$tmp/nm") symbols"
echo "  malloc/calloc/realloc/free referenced: $alloc_syms (target none)"
echo "  core::fmt symbols: $fmt_count (target 0)"
[ -z "$fmt_examples" ] || printf '%s\n' "$fmt_examples" | sed 's/^/    e.g. /'
echo
echo "2. syscalls (strace -f, one run per config; execve and exit_group included)"
syscall_lines() { # assoc-array-name proc_dir
  local -n a=$1
  echo "    syscalls: ${a[calls]} (${a[failed]} failed)"
  echo "    by syscall: $(sed 's/:/ /g; s/,/, /g' <<<"${a[top]}")"
  echo "    proc dir ($2) opened: ${a[proc_dir_opens]} (at most one pass; none where systemd answers), getdents64 on it: ${a[getdents]}"
  echo "    processes scanned (N/... opened relative to the proc dir): ${a[scanned]}"
  echo "    opens below a process's entry (N/...): ${a[pid_opens]} (N/stat ${a[stat_opens]}, N/comm ${a[comm_opens]}); other calls on such paths: ${a[pid_other]} (${a[pid_other_names]})"
  echo "    the pass (proc dir open .. last getdents64): ${a[pass_calls]} syscalls ($(sed 's/:/ /g; s/,/, /g' <<<"${a[pass_names]}")), ${a[pass_per_process]} per process scanned; ${a[per_process_calls]} without the listing (the /proc open and its getdents64, ${a[listing_calls]} calls)"
}
echo "  standard config: ${std_args[*]}"
echo "    processes in $fixture/proc: $std_procs -> target 40 + 3 x ${std[scanned]} scanned = $std_target"
syscall_lines std "$fixture/proc"
echo "  this machine: ${real_args[*]}"
echo "    processes in /proc: $real_procs before the run, $real_procs_after after -> target 40 + 3 x ${real[scanned]} scanned = $real_target"
syscall_lines real /proc
echo
echo "3. peak RSS: VmHWM read at exit (ptrace exit stop), KiB, min-max of $rss_runs runs"
echo "  agent, standard config: $(range "$std_hwm" "$std_hwm_max") (VmRSS at exit $(range "$std_vmrss" "$std_vmrss_max")) (target <= 200)"
echo "  agent, this machine:    $(range "$real_hwm" "$real_hwm_max") (VmRSS at exit $(range "$real_vmrss" "$real_vmrss_max")) (target <= 200)"
echo "  anchors, same way, same run: $bb true $(range "$bb_hwm" "$bb_hwm_max"); exit0 (static, one exit syscall) $(range "$exit0_hwm" "$exit0_hwm_max")"
echo "  agent / busybox true (max / min): standard config $(ratio "$std_hwm_max" "$bb_hwm"), this machine $(ratio "$real_hwm_max" "$bb_hwm")"
echo
echo "4. wall time (one hyperfine -N invocation per line: $wall_warmup warm-up + $wall_runs runs of each command; mean ± stddev)"
echo "  busybox: $bb"
echo "  standard config: agent $std_agent_us ± $std_agent_sd µs, busybox true $std_bb_us ± $std_bb_sd µs, ratio $std_ratio (target <= 1.5)"
echo "  this machine:    agent $real_agent_us ± $real_agent_sd µs, busybox true $real_bb_us ± $real_bb_sd µs, ratio $real_ratio (target <= 1.5)"
echo
echo "5. CPU per run (user + system, wait4 rusage; 8 commands interleaved, $cpu_runs runs each after $cpu_warmup warm-up; mean ± stddev)"
echo "  agent, standard config (systemd fixture): $cpu_std ± $cpu_std_sd µs"
echo "    of which the disk check's deadline child: $child_us µs (the same run with --skip disk: $cpu_nodisk ± $cpu_nodisk_sd µs)"
echo "  busybox true: $cpu_bb ± $cpu_bb_sd µs"
echo "  exit0 (static, one exit syscall: exec and exit alone): $cpu_exit0 ± $cpu_exit0_sd µs"
echo "  node_exporter $(prometheus-node-exporter --version 2>&1 | head -1 | awk '{print $3}'), collectors ${ne_collectors[*]}, no go_/process_ metrics, on 127.0.0.1:"
echo "    $ne_scrapes scrapes after $ne_warmup warm-up (one curl, one kept-alive connection, no compression, ${scrape[bytes_min]}-${scrape[bytes_max]} bytes each) in ${scrape[wall_s]} s: ${scrape[ticks]} ticks of utime + stime at ${scrape[hz]} Hz"
echo "    -> ${scrape[per_scrape_us]} µs per scrape (resolution $(calc 1 "1e6 / ${scrape[hz]} / $ne_scrapes") µs); idle afterwards: $ne_idle ticks in $ne_idle_s s"
echo "  agent (standard config) / one scrape: $scrape_ratio (target <= 0.25); exit0 / one scrape: $exit0_ratio; the deadline child / one scrape: $child_ratio"
echo "  the /proc pass, this machine (${cpu_procs_min}-${cpu_procs_max} entries in /proc before a round, mean $cpu_procs_mean; + the scanning process = $cpu_scanned scanned):"
echo "    agent with the pass $cpu_real ± $cpu_real_sd µs, with --skip timesync,service $cpu_noscan ± $cpu_noscan_sd µs (no pass: ${noscan[pid_opens]} opens below /proc/N; ${real[calls]} - ${noscan[calls]} = $((real[calls] - noscan[calls])) syscalls fewer, the pass being ${real[pass_calls]})"
echo "    floor $cpu_floor ± $cpu_floor_sd µs, floor none $cpu_floor0 ± $cpu_floor0_sd µs (floor's pass: ${floor[pass_per_process]} syscalls per process, ${floor[per_process_calls]} without the listing, $(sed 's/:/ /g; s/,/, /g' <<<"${floor[pass_names]}") for ${floor[scanned]} processes)"
echo "    per process: agent $agent_pp µs, floor $floor_pp µs, ratio $pp_ratio (target <= 1.2)"
echo
echo "6. record, standard config: $record_bytes bytes incl. newline, $record_lines line(s) (target <= 512)"
sed 's/^/  /' "$tmp/record"
echo
printf '%-28s %-12s %-12s %s\n' figure value target verdict
row() { printf '%-28s %-12s %-12s %s\n' "$1" "$2" "$3" "$4"; }
row size_bytes "$size" "<= 65536" "$(mark "$size" 65536)"
row alloc_symbols "$alloc_syms" none "$(yesno_none "$alloc_syms")"
row core_fmt_symbols "$fmt_count" "0" "$(mark "$fmt_count" 0)"
row syscalls_fixture "${std[calls]}" "<= $std_target" "$(mark "${std[calls]}" "$std_target")"
row syscalls_machine "${real[calls]}" "<= $real_target" "$(mark "${real[calls]}" "$real_target")"
# The systemd fixture: its units name the time daemon and the service, so no pass runs.
row proc_dir_opens_fixture "${std[proc_dir_opens]}" "0" "$( [ "${std[proc_dir_opens]}" = 0 ] && echo ok || echo MISS)"
row proc_dir_opens_machine "${real[proc_dir_opens]}" "1" "$( [ "${real[proc_dir_opens]}" = 1 ] && echo ok || echo MISS)"
row pid_opens_systemd_fixture "${std[pid_opens]}" "0" "$(mark "${std[pid_opens]}" 0)"
row syscalls_per_proc_machine "${real[per_process_calls]}" "<= 3" "$(mark "${real[per_process_calls]}" 3) (the listing apart: ${real[listing_calls]} calls; with it ${real[pass_per_process]} per process)"
row peak_rss_kib_fixture "$std_hwm_max" "<= 200" "$(mark "$std_hwm_max" 200)"
row peak_rss_kib_machine "$real_hwm_max" "<= 200" "$(mark "$real_hwm_max" 200)"
row peak_rss_vs_busybox_true "$(ratio "$real_hwm_max" "$bb_hwm")" "-" "(this machine's max / busybox true's min)"
row wall_ratio_fixture "$std_ratio" "<= 1.5" "$(mark "$std_ratio" 1.5)"
row wall_ratio_machine "$real_ratio" "<= 1.5" "$(mark "$real_ratio" 1.5)"
row cpu_vs_scrape "$scrape_ratio" "<= 0.25" "$(mark "$scrape_ratio" 0.25)"
row cpu_exec_floor_vs_scrape "$exit0_ratio" "-" "(exit0: exec and exit alone, / one scrape)"
row cpu_deadline_child_vs_scrape "$child_ratio" "-" "(agent - agent --skip disk, / one scrape)"
row cpu_per_proc_vs_floor "$pp_ratio" "<= 1.2" "$(mark "$pp_ratio" 1.2)"
row record_bytes "$record_bytes" "<= 512" "$(mark "$record_bytes" 512)"
for f in line json influx prom nagios; do
  row "record_${f}_std/max" "${fmt_std[$f]}/${fmt_max[$f]}" "-" "(bytes: standard config / largest config)"
done

# ---------------------------------------------------------------- 7. every target
log "build every target (cross/build.sh) and count syscalls under qemu-user"
bash cross/build.sh </dev/null >/dev/null || die "cross/build.sh"
declare -A qemu=([aarch64-unknown-linux-musl]=qemu-aarch64-static [armv7-unknown-linux-musleabihf]=qemu-arm-static [i686-unknown-linux-musl]=qemu-i386-static [x86_64-unknown-linux-musl]=qemu-x86_64-static)
declare -A boards=(
  [x86_64-unknown-linux-musl]="x86 gateways and mini PCs (64-bit)"
  [aarch64-unknown-linux-musl]="Raspberry Pi 3/4/5 with a 64-bit OS, ARM64 routers and gateways"
  [armv7-unknown-linux-musleabihf]="Raspberry Pi 2/3/4/5 with a 32-bit OS, typical ARM routers (Cortex-A7/A9/A53 in 32-bit mode)"
  [i686-unknown-linux-musl]="32-bit x86 boxes (i686 and later)"
)
echo
qemu_runs=5
echo "7. targets (standard config; syscalls counted by qemu-user -strace, which has no vDSO; $qemu_runs runs each, min-max:"
echo "   qemu refuses clone(CLONE_PIDFD) and the agent's fallback polls, so the count varies run to run)"
table="| target | binary | size (bytes) | syscalls per run (qemu-user, min-max of $qemu_runs) | boards |"$'\n'"|---|---|---|---|---|"
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf i686-unknown-linux-musl; do
  b="target/$t/release/nodepulse"
  [ -x "$b" ] || die "$b missing"
  file "$b" | grep -q "statically linked" || die "$b is not static"
  command -v "${qemu[$t]}" >/dev/null 2>&1 || die "${qemu[$t]} not installed"
  sz=$(stat -c %s "$b")
  counts=()
  for _ in $(seq "$qemu_runs"); do
    # One syscall per "PID name(" wherever it starts: the lines of the agent and of its child
    # interleave, and a call can start in the middle of a line.
    calls=$("${qemu[$t]}" -strace "$b" "${std_args[@]}" 2>&1 >/dev/null </dev/null \
      | grep -oE '[0-9]+ [a-z_][a-z_0-9]*\(' | wc -l || true)
    ((calls > 0)) || die "no syscalls counted for $t"
    counts+=("$calls")
  done
  lo=$(printf '%s\n' "${counts[@]}" | sort -n | head -1)
  hi=$(printf '%s\n' "${counts[@]}" | sort -n | tail -1)
  row "size_$t" "$sz" "<= 65536" "$(mark "$sz" 65536)"
  row "syscalls_qemu_$t" "$(range "$lo" "$hi")" "-" "(runs: ${counts[*]})"
  table+=$'\n'"| \`$t\` | \`dist/nodepulse-VERSION-$t\` | $sz | $(range "$lo" "$hi") | ${boards[$t]} |"
done
if [ -n "$update_readme" ]; then
  python3 - "$table" <<'PY' || die "README update"
import re, sys
p = "README.md"
s = open(p).read()
begin, end = "<!-- targets:begin (cross/bench.sh --readme) -->", "<!-- targets:end -->"
if begin not in s or end not in s:
    sys.exit("README.md has no targets markers")
s = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + sys.argv[1] + "\n" + end, s, flags=re.S)
open(p, "w").write(s)
PY
  log "README.md targets table rewritten"
fi
