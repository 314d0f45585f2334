#!/bin/sh
# Fuzz smoke test: every target for a few seconds from its seeds (fuzz/seeds/TARGET).
# Exits non-zero if any target crashes, panics, times out or leaks; the input that did it is
# left in fuzz/artifacts/TARGET/. For developers; not part of tests/run.sh.
#
#   fuzz/smoke.sh            # every target, 5 s each
#   SECS=30 fuzz/smoke.sh np1 hosts
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -u
cd "$(dirname "$0")/.." || exit 2
SECS=${SECS:-5}
TOOLCHAIN=${TOOLCHAIN:-nightly}
# inet_pton (through sys::parse_ip) must get a NUL-terminated string: check it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-strict_string_checks=1}
if [ $# -gt 0 ]; then
    targets="$*"
else
    targets=$(cargo "+$TOOLCHAIN" fuzz list) || exit 2
fi
cargo "+$TOOLCHAIN" fuzz build || exit 2
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
failed=""
for t in $targets; do
    mkdir -p "$work/$t"
    # Seeds are read, never written: new inputs go to the temporary corpus.
    if cargo "+$TOOLCHAIN" fuzz run "$t" "$work/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$SECS" -timeout=10 -max_len=20000 >"$work/$t.log" 2>&1; then
        echo "ok    $t  $(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/$t.log" | tail -n 1)"
    else
        echo "FAIL  $t"
        grep -m 5 -E 'ERROR:|SUMMARY:|panicked at|^assertion' "$work/$t.log"
        tail -n 8 "$work/$t.log"
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz smoke failed:$failed"
    exit 1
fi
echo "fuzz smoke: all targets ok"
