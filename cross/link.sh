#!/bin/sh
# The link driver of the static agent on every musl target (.cargo/config.toml `linker`):
#  1. puts rust's own ld.lld on PATH, for the targets that link with it (`-fuse-ld=lld`:
#     aarch64, armv7, i686), so a plain `cargo build --target T` needs no setup;
#  2. runs the host cc with rustc's arguments;
#  3. for a stripped executable (the release profile's `strip = true`, which rustc passes as
#     `-Wl,--strip-all`), drops the section header table and its names with
#     `llvm-objcopy --strip-sections`: no loader reads them (the kernel and qemu-user map the
#     program headers), only tools that inspect sections, and those need the unstripped build
#     anyway. That is 600-900 bytes of the agent's flash, per node.
# llvm-objcopy: Debian's `llvm` package (cross/build.sh and tests/run.sh install it), any
# `llvm-objcopy-N`, or rustup's llvm-tools (`rust-objcopy`). Without one the headers stay (the
# binary works, 600-900 bytes larger; the size gate of tests/cross.rs would see it), and one line
# on stderr says so.
set -eu

sysroot="$(rustc --print sysroot 2>/dev/null || true)"
if [ -n "$sysroot" ]; then
  for gcc_ld in "$sysroot"/lib/rustlib/*/bin/gcc-ld; do
    [ -x "$gcc_ld/ld.lld" ] && PATH="$gcc_ld:$PATH" && break
  done
  export PATH
fi

cc "$@"

case " $* " in
  *" -Wl,--strip-all "*) ;;
  *) exit 0 ;;
esac
out=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out="$arg"
  prev="$arg"
done
[ -n "$out" ] || { echo "cross/link.sh: no -o in the link command" >&2; exit 1; }

objcopy=""
for candidate in llvm-objcopy $(ls /usr/bin/llvm-objcopy-* 2>/dev/null | sort -t- -k3 -n -r) \
  "$sysroot"/lib/rustlib/*/bin/rust-objcopy; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" --version >/dev/null 2>&1; then
    objcopy="$candidate"
    break
  fi
done
if [ -z "$objcopy" ]; then
  echo "cross/link.sh: llvm-objcopy not found: the section headers of $out are kept (Debian: apt-get install llvm)" >&2
  exit 0
fi
exec "$objcopy" --strip-sections "$out"
