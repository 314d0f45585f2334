#!/usr/bin/env bash
# Static, stripped musl builds of the agent, on a Debian machine, for
#   x86_64-unknown-linux-musl        host cc and ld
#   i686-unknown-linux-musl          host cc (rustc passes -m32) driving ld.lld (rustup's musl
#                                    start files)
#   aarch64-unknown-linux-musl       host cc driving ld.lld (rustup's musl start files)
#   armv7-unknown-linux-musleabihf   32-bit hard-float ARM: rustup ships no std for it here, so
#                                    core is built from rust-src (-Zbuild-std, RUSTC_BOOTSTRAP=1)
#                                    and musl comes from Debian's musl-dev:armhf, unpacked (not
#                                    installed) under target/musl-armhf; host cc driving ld.lld
# The link settings live in .cargo/config.toml; every link goes through cross/link.sh (cc, then
# llvm-objcopy --strip-sections); ld.lld is rust's own (rust-lld, which cross/link.sh puts on PATH).
#
# Installs what is missing (rustup targets, rust-src, Debian packages, musl's armhf files), builds
# `cargo build --release --target T --bin nodepulse` for each TARGET (default: all four), checks
# each binary is statically linked, and prints each binary's path on stdout, one per line (the
# rest goes to stderr). Quick when everything is installed and built.
#
# Usage: bash cross/build.sh [TARGET...]      (as root or with sudo; no stdin needed)
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'cross/build.sh: %s\n' "$*" >&2; exit 1; }

all=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf i686-unknown-linux-musl)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
armv7=""
for t in "${targets[@]}"; do
  case " ${all[*]} " in *" $t "*) ;; *) die "unknown target $t (known: ${all[*]})" ;; esac
  [ "$t" = armv7-unknown-linux-musleabihf ] && armv7=1
done
target_dir="${CARGO_TARGET_DIR:-target}"

# ---------------------------------------------------------------- Debian packages
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
updated=""
apt_update() {
  [ -n "$updated" ] && return 0
  log "apt-get update"
  # An index that fails (a mirror mid-sync) is not fatal: what is needed may still be there.
  # Another apt (unattended upgrades, the test suite's) may hold the locks: wait up to 5 minutes.
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq </dev/null >&2 || log "apt-get update reported errors; going on"
  updated=1
}
apt_install() {
  apt_update
  log "installing $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" </dev/null >&2
}

# command -> package: file (the static check), the qemu-user emulators (tests/cross.rs), cc (the
# link driver of every target), llvm-objcopy (cross/link.sh drops the section headers).
declare -A need=([file]=file [qemu-aarch64-static]=qemu-user-static [cc]=gcc [llvm-objcopy]=llvm)
missing=()
for c in "${!need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${need[$c]}"); done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  apt_install "${missing[@]}"
fi

# ---------------------------------------------------------------- Rust
host="$(rustc -vV | sed -n 's/^host: //p')"
sysroot="$(rustc --print sysroot)"
installed="$(rustup target list --installed)"
for t in "${targets[@]}"; do
  [ "$t" = armv7-unknown-linux-musleabihf ] && continue
  grep -qx "$t" <<<"$installed" || { log "rustup target add $t"; rustup target add "$t" </dev/null >&2; }
done
if [ -n "$armv7" ] && [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
  log "rustup component add rust-src"
  rustup component add rust-src </dev/null >&2
fi

# ld.lld for aarch64, armv7 and i686 (.cargo/config.toml: -fuse-ld=lld): rust's own, which
# cross/link.sh puts on PATH for the link, else Debian's.
if [ ! -x "$sysroot/lib/rustlib/$host/bin/gcc-ld/ld.lld" ] && ! command -v ld.lld >/dev/null 2>&1; then
  apt_install lld
fi

# ---------------------------------------------------------------- musl for armv7
# .cargo/config.toml links crt1.o, crti.o, crtn.o and libc.a from here (relative paths).
musl_root=target/musl-armhf
musl_lib="$musl_root/usr/lib/arm-linux-musleabihf"
musl_ok() { for f in crt1.o crti.o crtn.o libc.a; do [ -f "$musl_lib/$f" ] || return 1; done; }
if [ -n "$armv7" ] && ! musl_ok; then
  log "musl-dev:armhf -> $musl_root"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  sandbox=()
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
  download() { (cd "$tmp" && apt-get "${sandbox[@]}" download -qq musl-dev:armhf </dev/null >&2); }
  if ! download 2>/dev/null; then
    # apt knows armhf packages only once the architecture is added and the lists fetched again.
    # Added here, it is removed once the package is downloaded: the machine's apt is left as it
    # was (an armhf index a mirror serves half-synced would otherwise fail every apt-get update).
    added=""
    if ! dpkg --print-foreign-architectures | grep -qx armhf; then
      log "dpkg --add-architecture armhf (until musl-dev:armhf is downloaded)"
      $sudo dpkg --add-architecture armhf
      added=1
    fi
    updated=""
    apt_update
    ok=1
    download || ok=""
    if [ -n "$added" ]; then
      $sudo dpkg --remove-architecture armhf
      log "dpkg --remove-architecture armhf"
    fi
    [ -n "$ok" ] || die "cannot download musl-dev:armhf"
  fi
  rm -rf "$musl_root"
  mkdir -p "$musl_root"
  dpkg -x "$tmp"/musl-dev_*_armhf.deb "$musl_root"
  musl_ok || die "musl-dev:armhf has no crt1.o, crti.o, crtn.o, libc.a in /usr/lib/arm-linux-musleabihf"
fi

# ---------------------------------------------------------------- build
for t in "${targets[@]}"; do
  log "build $t"
  if [ "$t" = armv7-unknown-linux-musleabihf ]; then
    # Its own target directory: RUSTC_BOOTSTRAP=1 would otherwise make every other build redo
    # the host's proc-macro crates (proc-macro2 reruns its build script when it changes). The
    # binary is copied to the same place as the other targets'.
    RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir/build-std" \
      cargo build --release --locked --no-default-features --target "$t" --bin nodepulse \
      -Zbuild-std=core,compiler_builtins -Zunstable-options --artifact-dir "$target_dir/$t/release" </dev/null
  else
    cargo build --release --locked --no-default-features --target "$t" --bin nodepulse </dev/null
  fi
  bin="$target_dir/$t/release/nodepulse"
  case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
  file -b "$bin" | grep -q "statically linked" || die "$bin is not statically linked: $(file -b "$bin")"
  printf '%s\n' "$bin"
done
