#!/usr/bin/env bash
# Mutation testing of the core, by hand (not run by CI; about 40 minutes on two cores, 7 for
# the verdict alone): plants small bugs with cargo-mutants and counts how many the tests catch.
#
#   core         src/verdict.rs, the model (src/model.rs, or src/encode/model.rs before it
#                moved), src/parse/**, src/state.rs; tests: `--lib --test golden`
#   verdict-lib  src/verdict*, tests: `--lib` (the verdict's own unit tests, alone)
#   collector    the collector's fleet, record reader, table, state file and views
#                (src/bin/nodepulse-collector/{fleet,ingest,state,table,nodes,view,report}.rs);
#                tests: `--bin nodepulse-collector --test collector` (about 20 minutes), with
#                NODEPULSE_BIN set to the prebuilt agent, which tests/collector.rs runs
#
# Why only those tests: the other integration tests in tests/*.rs run the prebuilt static
# binary (NODEPULSE_BIN, default target/x86_64-unknown-linux-musl/release/nodepulse), which
# cargo-mutants does not rebuild, so a mutant would be tested against the unmutated agent and
# always "survive" or always be "caught" for nothing. tests/golden.rs calls the library itself
# and pins every format byte for byte; the unit tests sit beside the code.
#
# For each run it prints caught, missed, unviable and timeout counts, the caught share of the
# viable mutants (caught / (caught + missed + timeout)), and the missed mutants. Survivors
# judged harmless are listed, with why, in tests/mutants-survivors.md.
#
# Usage: bash tests/mutants.sh [FILE_GLOB...]
#   FILE_GLOBs replace the core run's files (e.g. `bash tests/mutants.sh src/verdict.rs`).
# Environment: MUTANTS_OUT (default target/mutants; each run writes RUN/mutants.out there,
# outside the source tree), MUTANTS_JOBS (default 2), MUTANTS_TIMEOUT (seconds per test run,
# default 60; the tests take about 2 s), MUTANTS_RUNS (default "core verdict-lib"; "collector" to add the collector's run).
# Needs: cargo install cargo-mutants --locked
set -euo pipefail
cd "$(dirname "$0")/.."

out=${MUTANTS_OUT:-target/mutants}
jobs=${MUTANTS_JOBS:-2}
timeout=${MUTANTS_TIMEOUT:-60}
runs=${MUTANTS_RUNS:-core verdict-lib}

command -v cargo-mutants >/dev/null || { echo "cargo-mutants missing: cargo install cargo-mutants --locked" >&2; exit 1; }

model=src/model.rs
[ -e "$model" ] || model=src/encode/model.rs
if (($#)); then
  core=("$@")
else
  core=(src/verdict.rs "$model" 'src/parse/**' src/state.rs)
fi

# The collector's judgement of the fleet and what feeds it: the records read, the table, the
# state file and the views (not its sockets, HTTP server and Alertmanager client, which the
# peer tests in tests/collector_http.rs cover).
c=src/bin/nodepulse-collector
collector=("$c/fleet.rs" "$c/ingest.rs" "$c/state.rs" "$c/table.rs" "$c/nodes.rs" "$c/view.rs" "$c/report.rs")
agent=$(realpath -m "${NODEPULSE_BIN:-target/x86_64-unknown-linux-musl/release/nodepulse}")

# run NAME FILE_GLOBS... -- CARGO_TEST_ARGS...: one cargo-mutants run and its figures.
run() {
  local name=$1
  shift
  local files=()
  while (($#)) && [ "$1" != -- ]; do
    files+=(--file "$1")
    shift
  done
  shift
  local dir=$out/$name
  mkdir -p "$dir"
  printf '== %s: %s; cargo test %s\n' "$name" "${files[*]}" "$*"
  # Exit codes: 0 all caught, 2 some missed, 3 some timed out; anything else (1 usage, 4 the
  # unmutated tests fail) is a failure of the run itself.
  local rc=0
  cargo mutants "${files[@]}" --output "$dir" --jobs "$jobs" --timeout "$timeout" \
    --build-timeout 600 -- "$@" >"$dir/stdout.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && [ "$rc" -ne 3 ]; then
    tail -20 "$dir/stdout.log" >&2
    echo "cargo mutants failed (exit $rc); see $dir/stdout.log" >&2
    return 1
  fi
  local m=$dir/mutants.out n
  count() { n=$(grep -c . "$m/$1.txt" 2>/dev/null || true); echo "${n:-0}"; }
  local caught missed unviable timeouts
  caught=$(count caught)
  missed=$(count missed)
  unviable=$(count unviable)
  timeouts=$(count timeout)
  local viable=$((caught + missed + timeouts))
  printf 'caught %d, missed %d, unviable %d, timeout %d; caught %s%% of %d viable\n' \
    "$caught" "$missed" "$unviable" "$timeouts" \
    "$(awk -v c="$caught" -v v="$viable" 'BEGIN { printf "%.1f", v ? 100 * c / v : 0 }')" "$viable"
  if ((missed)); then
    echo "missed:"
    sed 's/^/  /' "$m/missed.txt"
  fi
  if ((timeouts)); then
    echo "timeout:"
    sed 's/^/  /' "$m/timeout.txt"
  fi
  echo
}

for r in $runs; do
  case $r in
    core) run core "${core[@]}" -- --lib --test golden ;;
    verdict-lib) run verdict-lib 'src/verdict*' -- --lib ;;
    collector)
      # The collector's tests/collector.rs sends records with the static agent, which
      # cargo-mutants does not rebuild (and none of these mutants touch): an absolute path.
      [ -x "$agent" ] || { echo "collector run: no agent at $agent (cargo build --release --target x86_64-unknown-linux-musl --bin nodepulse --no-default-features)" >&2; exit 1; }
      NODEPULSE_BIN=$agent run collector "${collector[@]}" -- --bin nodepulse-collector --test collector ;;
    *) echo "unknown run $r (core, verdict-lib, collector)" >&2; exit 1 ;;
  esac
done
