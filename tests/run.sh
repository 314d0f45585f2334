#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what it needs (Rust targets,
# Debian packages for the real peers), builds the static agent, runs every test.
# Usage: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }

# Debian packages of the real peers the tests start.
# debootstrap and systemd-container: the systemd oracle (tests/oracle.rs) boots a Debian tree;
# prometheus-alertmanager, chromium and systemd (systemd-analyze): the collector's HTTP tests;
# llvm (llvm-objcopy): cross/link.sh, the agent's link driver.
# influxdb (1.x): the line-protocol round trip (tests/influxdb.rs); python3-nagiosplugin: the
# Nagios perfdata reader (tests/formats.rs).
packages=(adjtimex busybox-static chrony strace file time prometheus prometheus-node-exporter victoria-metrics jq curl python3
          prometheus-alertmanager chromium systemd debootstrap systemd-container influxdb python3-nagiosplugin
          llvm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Another apt (unattended upgrades, another checkout's suite) may hold the locks: wait for
  # them, at most 5 minutes, instead of failing at once.
  for try in $(seq 1 60); do
    $sudo apt-get -o DPkg::Lock::Timeout=5 update -qq && break
    [ "$try" -lt 60 ] || { echo "apt-get update failed for 5 minutes"; exit 1; }
    sleep 5
  done
  # The tests start every peer themselves, on loopback. Keep the packages' own services (above
  # all chronyd, which would discipline this machine's clock) from starting at install.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
  [ -z "$policy" ] || $sudo rm -f "$policy"
fi

log "rust targets"
rustup target add x86_64-unknown-linux-musl >/dev/null

log "build the static agent (x86_64 musl, release)"
cargo build --release --locked --no-default-features --target x86_64-unknown-linux-musl --bin nodepulse
file target/x86_64-unknown-linux-musl/release/nodepulse | grep -q "statically linked" || { echo "agent is not static"; exit 1; }

# ---- cross targets (issue 6) ----------------------------------------------------------------
# The static agent for aarch64, armv7 (hard-float) and i686 too; tests/cross.rs runs each under
# qemu-user against the fixture roots. A target that cannot be built fails the suite.
log "cross targets (cross/build.sh: aarch64, armv7, i686; x86_64 is built above)"
# Each binary's size: tests/cross.rs fails a target over the 65,536-byte gate.
bins=$(bash cross/build.sh)
for bin in $bins; do
  printf '   %6d bytes  %s\n' "$(stat -c %s "$bin")" "${bin#"$PWD"/}"
done
# ---- end cross targets ------------------------------------------------------------------------

log "unit and integration tests"
# --no-fail-fast: every test binary runs even when one fails; the summary adds them all up.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
cargo test --locked --no-fail-fast 2>&1 | tee "$out" || rc=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$out"
exit "$rc"
