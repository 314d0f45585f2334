#!/usr/bin/env bash
# Release files: builds the static agents with cross/build.sh (all four targets, or the TARGETs
# given), then writes dist/nodepulse-VERSION-TARGET for each, and dist/SHA256SUMS over them.
# VERSION is the package version in Cargo.toml. dist/ is emptied first (and is gitignored).
#
# Usage: bash cross/release.sh [TARGET...]    (as root or with sudo; no stdin needed)
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

version="$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") } pkg && /^version *=/ { print $2; exit }' Cargo.toml)"
[ -n "$version" ] || { echo "cross/release.sh: no version in Cargo.toml [package]" >&2; exit 1; }

# Not `mapfile < <(...)`: a failed build must fail the release.
bins="$(bash cross/build.sh "$@")"

rm -rf dist
mkdir dist
while IFS= read -r bin; do
  target="$(basename "$(dirname "$(dirname "$bin")")")"  # .../TARGET/release/nodepulse
  install -m 0755 "$bin" "dist/nodepulse-$version-$target"
done <<<"$bins"
(cd dist && sha256sum nodepulse-* >SHA256SUMS)

printf '== dist/\n' >&2
(cd dist && for f in nodepulse-*; do printf '%8d  %s\n' "$(stat -c %s "$f")" "$f"; done) >&2
cat dist/SHA256SUMS
