#!/usr/bin/env bash
# Real systemd oracle for nodepulse (manual; slow; needs root and a kernel that can boot
# systemd under systemd-nspawn). Not part of tests/run.sh.
#
#   sudo tests/oracle/nspawn.sh            # build root (cached), boot, compare, stop
#
# 1. Builds (once, cached) a Debian bookworm root with debootstrap under $ORACLE_DIR
#    (default /var/tmp/nodepulse-oracle/rootfs): systemd, dbus, user `node` (uid 1000) and the
#    user unit ~node/.config/systemd/user/openclaw-node.service (ExecStart=/bin/sleep infinity).
#    The only network traffic is debootstrap talking to $MIRROR.
# 2. Boots it with `systemd-nspawn -b --private-network` in the background (bounded by
#    timeout(1)), finds the container's init by its root directory, and enters it with nsenter.
# 3. Steps: linger off -> enable-linger -> start unit -> stop unit -> start + disable-linger.
#    After each step it runs the agent inside the container and compares its tokens with
#      linger.node lg:on|off   <-> loginctl show-user node -p Linger   (yes|no)
#      linger.node st:STATE    <-> loginctl show-user node -p State    (no user record: offline)
#      svc.node:openclaw-node  <-> systemctl --user is-active          (ok <-> active)
#      clock sd:y|n            <-> timedatectl show -p NTPSynchronized (yes|no)
#    prints a table and exits 1 on any disagreement (2 on a setup failure).
# The container is stopped on every exit path (SIGTERM to nspawn = orderly poweroff, then
# SIGKILL of nspawn and of the container's init, which takes its whole PID namespace with it).
#
# With ORACLE_CLOCK=1 two more steps set the HOST kernel's maxerror (adjtimex ADJ_MAXERROR only,
# via python3 ctypes; the container has no CAP_SYS_TIME and shares the kernel clock) to 0.1 s and
# to 16 s, so both branches of NTPSynchronized are compared, then restore the value read at the
# start. STA_UNSYNC is left alone, so the kernel never starts writing the RTC; a running NTP
# daemon on the host may overwrite maxerror in between (then the step may show a false mismatch).
#
# Environment: ORACLE_DIR, MIRROR, NODEPULSE_BIN (skip the cargo build), BOOT_TIMEOUT (seconds
# the container may live, default 300), NSPAWN_EXTRA (extra systemd-nspawn flags), ORACLE_CLOCK,
# KEEP_LOG=1 (keep the run directory with nspawn's console log and the agent records).
set -euo pipefail

ORACLE_DIR=${ORACLE_DIR:-/var/tmp/nodepulse-oracle}
ROOT=$ORACLE_DIR/rootfs
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=x86_64-unknown-linux-musl
NODEPULSE_BIN=${NODEPULSE_BIN:-}
RUN_DIR=$(mktemp -d /tmp/nodepulse-oracle.XXXXXX)
NSPAWN_LOG=$RUN_DIR/nspawn.log
NSPAWN_PID=
LEADER=
ORACLE_CLOCK=${ORACLE_CLOCK:-0}
MAXERROR_SAVED=

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'oracle: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, systemd-nspawn, nsenter)"
case "$ORACLE_DIR" in "$REPO"|"$REPO"/*) die "ORACLE_DIR must be outside the repository";; esac

# ---------------------------------------------------------------- tools
need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v systemd-nspawn >/dev/null || need_pkgs+=(systemd-container)
command -v nsenter >/dev/null || need_pkgs+=(util-linux)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing ${need_pkgs[*]}"
    timeout 600 apt-get install -y "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
fi

# ---------------------------------------------------------------- cleanup
cleanup() {
    local rc=$?
    set +e
    if [ -n "$MAXERROR_SAVED" ]; then
        maxerror "$MAXERROR_SAVED" >/dev/null && say "host maxerror restored to ${MAXERROR_SAVED} us"
    fi
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        say "stopping container (nspawn pid $NSPAWN_PID)"
        kill -TERM "$NSPAWN_PID" 2>/dev/null
        for _ in $(seq 1 40); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$NSPAWN_PID" 2>/dev/null
    fi
    if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
        kill -KILL "$LEADER" 2>/dev/null
    fi
    # An init that never became our LEADER (SIGKILL of a PID namespace's init ends all of it).
    for p in $(container_pids); do kill -KILL "$p" 2>/dev/null; done
    [ -n "$NSPAWN_PID" ] && wait "$NSPAWN_PID" 2>/dev/null
    if [ "${KEEP_LOG:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
        say "logs kept in $RUN_DIR"
    else
        rm -rf "$RUN_DIR"
    fi
    exit "$rc"
}

# Host PIDs of the init of every container booted from $ROOT: a child of a systemd-nspawn whose
# command line names $ROOT, and PID 1 in its own (nested) PID namespace. An init whose nspawn
# was killed is reparented and no longer found here: the cleanup kills LEADER itself.
container_pids() {
    local p pp ns
    for p in /proc/[0-9]*; do
        ns=$(awk '/^NSpid:/ {print NF - 1, $NF}' "$p/status" 2>/dev/null) || continue
        [ "$ns" = "2 1" ] || continue
        pp=$(awk '/^PPid:/ {print $2}' "$p/status" 2>/dev/null) || continue
        [ "$(cat "/proc/$pp/comm" 2>/dev/null)" = systemd-nspawn ] || continue
        tr '\0' '\n' <"/proc/$pp/cmdline" 2>/dev/null | grep -qxF "$ROOT" && echo "${p#/proc/}"
    done
    return 0
}
# maxerror [US]: prints the host kernel's maxerror (µs); with US, sets it first (ADJ_MAXERROR).
maxerror() {
    timeout 10 python3 - "$@" <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(512)          # struct timex (208 bytes on LP64)
LONG = ctypes.sizeof(ctypes.c_long)
OFF_MAXERROR = 8 + 2 * LONG if LONG == 8 else 4 + 2 * LONG  # modes, [pad], offset, freq
if len(sys.argv) > 1:
    ctypes.c_uint.from_buffer(buf, 0).value = 0x0004      # ADJ_MAXERROR
    ctypes.c_long.from_buffer(buf, OFF_MAXERROR).value = int(sys.argv[1])
if libc.adjtimex(buf) < 0:
    sys.exit("adjtimex: errno %d" % ctypes.get_errno())
print(ctypes.c_long.from_buffer(buf, OFF_MAXERROR).value)
PY
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- root filesystem (cached)
build_root() {
    local tmp=$ORACLE_DIR/rootfs.tmp
    say "debootstrap bookworm into $tmp (mirror $MIRROR)"
    mkdir -p "$ORACLE_DIR"
    rm -rf "$tmp"
    timeout 1800 debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,systemd-timesyncd,procps,util-linux \
        bookworm "$tmp" "$MIRROR" >"$ORACLE_DIR/debootstrap.log" 2>&1 \
        || { tail -20 "$ORACLE_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $ORACLE_DIR/debootstrap.log)"; }
    configure_root "$tmp"
    mv "$tmp" "$ROOT"
}

configure_root() {
    local r=$1
    echo nodepulse-oracle >"$r/etc/hostname"
    # A fresh machine-id per root; systemd creates it at first boot if the file is empty.
    : >"$r/etc/machine-id"
    timeout 60 chroot "$r" /usr/sbin/useradd -m -u 1000 -s /bin/bash node
    install -d -o 1000 -g 1000 "$r/home/node/.config" "$r/home/node/.config/systemd" \
        "$r/home/node/.config/systemd/user"
    cat >"$r/home/node/.config/systemd/user/openclaw-node.service" <<'EOF'
[Unit]
Description=nodepulse oracle stand-in for the openclaw node

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=default.target
EOF
    chown 1000:1000 "$r/home/node/.config/systemd/user/openclaw-node.service"
    # Nothing in the container needs a console login or the network.
    ln -sf /dev/null "$r/etc/systemd/system/console-getty.service"
    ln -sf /dev/null "$r/etc/systemd/system/getty@.service"
    ln -sf /dev/null "$r/etc/systemd/system/apt-daily.timer"
    ln -sf /dev/null "$r/etc/systemd/system/apt-daily-upgrade.timer"
    touch "$r/.nodepulse-oracle-ready"
}

if [ ! -e "$ROOT/.nodepulse-oracle-ready" ]; then
    rm -rf "$ROOT"
    build_root
else
    say "using cached root $ROOT"
fi

# ---------------------------------------------------------------- agent
if [ -z "$NODEPULSE_BIN" ]; then
    say "cargo build --release --target $TARGET --bin nodepulse"
    (cd "$REPO" && timeout 900 cargo build --release --target "$TARGET" --bin nodepulse >&2) \
        || die "cargo build failed"
    NODEPULSE_BIN=$REPO/target/$TARGET/release/nodepulse
fi
[ -x "$NODEPULSE_BIN" ] || die "no agent binary at $NODEPULSE_BIN"
install -m 0755 "$NODEPULSE_BIN" "$ROOT/usr/local/bin/nodepulse"

if [ -n "$(container_pids)" ]; then
    die "processes already run in $ROOT (a previous run still alive?): $(container_pids | tr '\n' ' ')"
fi
# Every run starts from the same state: linger off, no stale runtime files.
rm -f "$ROOT/var/lib/systemd/linger/node"
rm -rf "$ROOT/run" && mkdir -p "$ROOT/run"

# ---------------------------------------------------------------- boot
# --register=no --keep-unit: no machined/host systemd needed. --private-network: the container
# has only its own loopback. --system-call-filter=@clock: nspawn's seccomp filter otherwise
# answers adjtimex() with EPERM inside the container (it lacks CAP_SYS_TIME), so timedated says
# NTPSynchronized=no whatever the kernel state (seen here: agent sd:y, timedatectl "no"); with
# the syscall allowed, reading works and setting still fails for lack of the capability.
# shellcheck disable=SC2086
NSPAWN_ARGS=(-q -b -D "$ROOT" -M nodepulse-oracle --register=no --keep-unit --private-network
             --system-call-filter=@clock --console=passive ${NSPAWN_EXTRA:-})
say "booting: systemd-nspawn ${NSPAWN_ARGS[*]} (at most ${BOOT_TIMEOUT}s)"
timeout --signal=TERM --kill-after=20 "$BOOT_TIMEOUT" \
    systemd-nspawn "${NSPAWN_ARGS[@]}" </dev/null >"$NSPAWN_LOG" 2>&1 &
NSPAWN_PID=$!

# The container's init (NSPAWN_PID is timeout(1); its child is systemd-nspawn, whose child is init).
for _ in $(seq 1 60); do
    LEADER=$(container_pids | head -1)
    [ -n "$LEADER" ] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.5
done
if [ -z "$LEADER" ]; then
    say "systemd-nspawn output:"; cat "$NSPAWN_LOG" >&2
    die "the container did not start (no init found in $ROOT)"
fi
say "container init is host pid $LEADER"

# Runs a command inside the container (all its namespaces and root), bounded.
in_ct() {
    timeout --kill-after=5 "${T:-30}" nsenter -t "$LEADER" -a -r -w \
        /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$@"
}
# As user node, talking to node's systemd --user manager.
as_node() {
    in_ct /usr/sbin/runuser -u node -- /usr/bin/env XDG_RUNTIME_DIR=/run/user/1000 \
        DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus "$@"
}

say "waiting for the system manager"
state=$(T=120 in_ct systemctl is-system-running --wait 2>/dev/null || true)
if [ -z "$state" ] || [ "$state" = offline ] || [ "$state" = unknown ]; then
    say "systemd-nspawn output:"; cat "$NSPAWN_LOG" >&2
    die "system manager did not come up (is-system-running: '${state:-no answer}')"
fi
say "system manager: $state"
[ "$state" = running ] || in_ct systemctl --failed --no-legend >&2 || true

# ---------------------------------------------------------------- comparisons
FAIL=0
ROWS=()
row() { # step check nodepulse systemd agree
    ROWS+=("$(printf '%-22s %-10s %-26s %-30s %s' "$@")")
    [ "$5" = yes ] || FAIL=1
}
token() { # record key -> value of key=... (empty if missing)
    tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1
}
field() { # token-value name -> value of name:... among comma-separated fields
    tr ',' '\n' <<<"$1" | sed -n "s/^$2://p" | head -1
}

user_active() { # user manager of node: active|inactive|...
    in_ct systemctl is-active user@1000.service 2>/dev/null || true
}
wait_user_manager() { # active|inactive
    for _ in $(seq 1 60); do
        [ "$(user_active)" = "$1" ] && return 0
        sleep 0.5
    done
    say "user@1000.service did not become $1 (now $(user_active))"
}

check_step() {
    local step=$1 rec np_lg np_st np_svc np_sd sd_lg sd_st sd_act sd_ntp out
    sleep 1 # let logind write its state files
    rec=$(in_ct nodepulse --user-service node:openclaw-node --only clock,linger,service,timesync || true)
    echo "$step: $rec" >>"$RUN_DIR/records.txt"
    local lin svc clk
    lin=$(token "$rec" linger.node)
    svc=$(token "$rec" svc.node:openclaw-node)
    clk=$(token "$rec" clock)
    np_lg=$(field "$lin" lg); np_st=$(field "$lin" st)
    np_svc=${svc%%[,:]*}
    np_sd=$(field "$clk" sd)

    if out=$(in_ct loginctl show-user node -p Linger -p State 2>&1); then
        sd_lg=$(sed -n 's/^Linger=//p' <<<"$out"); sd_st=$(sed -n 's/^State=//p' <<<"$out")
    else
        # "User node is not logged in or lingering": logind has no record, i.e. offline.
        sd_lg="no(no record)"; sd_st="offline(no record)"
    fi
    # Not `systemctl --user -M node@`: that starts node's user manager (user@1000.service) when
    # it is not running, which changes the very state under test. runuser only connects to the
    # manager's bus, and fails when there is none.
    sd_act=$(as_node systemctl --user is-active openclaw-node 2>/dev/null) || true
    case "$sd_act" in
        active|inactive|failed|activating|deactivating|reloading) ;;
        *) sd_act="inactive(no manager)" ;;
    esac
    sd_ntp=$(in_ct timedatectl show -p NTPSynchronized --value 2>/dev/null || echo "?")

    local want
    want=$([ "${sd_lg%%(*}" = yes ] && echo on || echo off)
    row "$step" linger "lg:$np_lg" "Linger=$sd_lg" "$([ "$np_lg" = "$want" ] && echo yes || echo NO)"
    row "$step" state "st:$np_st" "State=$sd_st" "$([ "$np_st" = "${sd_st%%(*}" ] && echo yes || echo NO)"
    want=$([ "$sd_act" = active ] && echo ok || echo crit)
    row "$step" service "svc=$np_svc" "is-active=$sd_act" "$([ "$np_svc" = "$want" ] && echo yes || echo NO)"
    want=$([ "$sd_ntp" = yes ] && echo y || echo n)
    row "$step" clock "sd:$np_sd" "NTPSynchronized=$sd_ntp" "$([ "$np_sd" = "$want" ] && echo yes || echo NO)"
}

check_step "1 linger off"

in_ct loginctl enable-linger node
wait_user_manager active
check_step "2 enable-linger"

as_node systemctl --user start openclaw-node || say "start failed"
check_step "3 start unit"

as_node systemctl --user stop openclaw-node || say "stop failed"
check_step "4 stop unit"

as_node systemctl --user start openclaw-node || say "start failed"
in_ct loginctl disable-linger node
wait_user_manager inactive
check_step "5 disable-linger"

if [ "$ORACLE_CLOCK" = 1 ]; then
    command -v python3 >/dev/null || die "ORACLE_CLOCK=1 needs python3 on the host"
    MAXERROR_SAVED=$(maxerror) || die "cannot read the host's adjtimex"
    say "host maxerror was ${MAXERROR_SAVED} us"
    maxerror 100000 >/dev/null || die "cannot set maxerror"
    check_step "6 maxerror=0.1s"
    maxerror 16000000 >/dev/null || die "cannot set maxerror"
    check_step "7 maxerror=16s"
fi

# ---------------------------------------------------------------- report
printf '%-22s %-10s %-26s %-30s %s\n' step check nodepulse systemd agree
printf '%s\n' "${ROWS[@]}"
echo
echo "agent records:"; sed 's/^/  /' "$RUN_DIR/records.txt"
if [ "$FAIL" = 0 ]; then
    echo "oracle: all agree"
else
    echo "oracle: DISAGREEMENT"
    exit 1
fi
