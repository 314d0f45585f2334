#!/usr/bin/env bash
# The agent against a booted systemd: part of tests/run.sh (tests/oracle.rs runs it), needs root.
#
#   sudo bash tests/oracle/oracle.sh     # exit 0: all agree, 1: a disagreement, 2: setup failed
#
# 1. Installs debootstrap and systemd-container when missing (waits for the dpkg lock, bounded).
# 2. Builds once, with `debootstrap --variant=minbase`, a Debian bookworm root in
#    $ORACLE_DIR/rootfs (default target/oracle-root/rootfs; the marker file
#    .nodepulse-debootstrap says it is complete; a missing or half-built tree is rebuilt).
#    Every run then writes the users, units and logind settings below (idempotent) and clears
#    what the previous run left (linger files, /run), so each run starts from the same state.
# 3. Boots it with `systemd-nspawn -b --private-network` in the background, under timeout(1),
#    finds the container's init and runs everything inside with `nsenter -t INIT -a`, each
#    command under timeout(1). Waits for `systemctl is-system-running --wait` = running.
# 4. Scenarios. In each, the agent's token(s) and exit code are compared with what systemd's
#    own tools answer, asked without changing the state: `loginctl show-user`, `systemctl
#    is-active`, `timedatectl show`, and the user manager through `runuser -u USER` with
#    XDG_RUNTIME_DIR set (never `systemctl --user -M USER@`, which opens a PAM session and so
#    starts the user manager and its units). Prints one row per comparison.
# The container is stopped on every exit path (SIGTERM to nspawn = orderly poweroff, then
# SIGKILL of nspawn and of the container's init, which takes its whole PID namespace with it).
#
# 5. The collector as the README's systemd unit (when COLLECTOR_BIN is set, as tests/oracle.rs
#    does): `systemd-analyze verify` of the unit in this systemd, `systemctl start`, and a record
#    the agent sends it read back with `nodepulse-collector status --connect`.
#
# Environment: ORACLE_DIR, MIRROR, NODEPULSE_BIN (default: the x86_64 musl release build, which
# is built when missing), COLLECTOR_BIN (the host's collector build; the collector scenario runs
# only with it), BOOT_TIMEOUT (seconds the container may live, default 400),
# KEEP_LOG=1 (keep the run directory with nspawn's console log and the agent records).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ORACLE_DIR=${ORACLE_DIR:-$REPO/target/oracle-root}
ROOT=$ORACLE_DIR/rootfs
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-400}
TARGET=x86_64-unknown-linux-musl
NODEPULSE_BIN=${NODEPULSE_BIN:-}
COLLECTOR_BIN=${COLLECTOR_BIN:-}
RUN_DIR=$(mktemp -d /tmp/nodepulse-oracle.XXXXXX)
NSPAWN_LOG=$RUN_DIR/nspawn.log
NSPAWN_PID=
LEADER=
START=$SECONDS

say() { printf '== %3ds %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { printf 'oracle: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, systemd-nspawn, nsenter)"

# ---------------------------------------------------------------- tools
need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v systemd-nspawn >/dev/null || need_pkgs+=(systemd-container)
command -v nsenter >/dev/null || need_pkgs+=(util-linux)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing ${need_pkgs[*]}"
    # Another apt may hold the lock (unattended upgrades, a colleague): wait, at most 5 min.
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
fi

# ---------------------------------------------------------------- cleanup
cleanup() {
    local rc=$?
    set +e
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        say "stopping container (nspawn pid $NSPAWN_PID)"
        kill -TERM "$NSPAWN_PID" 2>/dev/null
        for _ in $(seq 1 40); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.25; done
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
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- root filesystem (cached)
if [ ! -e "$ROOT/.nodepulse-debootstrap" ]; then
    tmp=$ORACLE_DIR/rootfs.tmp
    say "debootstrap bookworm into $tmp (mirror $MIRROR)"
    mkdir -p "$ORACLE_DIR"
    rm -rf "$tmp" "$ROOT"
    timeout 900 debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,procps,util-linux \
        bookworm "$tmp" "$MIRROR" >"$ORACLE_DIR/debootstrap.log" 2>&1 \
        || { tail -20 "$ORACLE_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $ORACLE_DIR/debootstrap.log)"; }
    touch "$tmp/.nodepulse-debootstrap"
    mv "$tmp" "$ROOT"
else
    say "using cached root $ROOT"
fi

# The node under test, written every run (so a change here needs no new debootstrap).
# node (1000): linger scenarios; claw (1001): real logins; watch (1002): the unprivileged agent.
unit_file() { # path owner: writes stdin to path, owned by owner
    install -d -o "$2" -g "$2" "$(dirname "$1")"
    cat >"$1"
    chown "$2:$2" "$1"
}
configure_root() {
    local r=$ROOT u uid
    echo nodepulse-oracle >"$r/etc/hostname"
    [ -e "$r/etc/machine-id" ] || : >"$r/etc/machine-id"
    for u in node:1000 claw:1001 watch:1002; do
        uid=${u#*:}; u=${u%:*}
        grep -q "^$u:" "$r/etc/passwd" || timeout 60 chroot "$r" /usr/sbin/useradd -m -u "$uid" -s /bin/bash "$u"
    done
    for u in node claw; do
        uid=$(awk -F: -v u=$u '$1 == u {print $3}' "$r/etc/passwd")
        unit_file "$r/home/$u/.config/systemd/user/openclaw-node.service" "$uid" <<'EOF'
[Unit]
Description=nodepulse oracle stand-in for the openclaw node
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=default.target
EOF
        install -d -o "$uid" -g "$uid" "$r/home/$u/.config/systemd/user/default.target.wants"
        ln -sfn ../openclaw-node.service "$r/home/$u/.config/systemd/user/default.target.wants/openclaw-node.service"
        chown -h "$uid:$uid" "$r/home/$u/.config/systemd/user/default.target.wants/openclaw-node.service"
    done
    local s=$r/etc/systemd/system
    printf '[Service]\nExecStart=/bin/sleep infinity\n' >"$s/np-run.service"
    printf '[Service]\nExecStart=/bin/sleep infinity\n' >"$s/np-stopped.service"
    printf '[Service]\nExecStart=/bin/sleep infinity\n' >"$s/np-killed.service"
    printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' >"$s/np-oneshot.service"
    printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=1h\n' >"$s/np-restart.service"
    printf '[Service]\nExecStartPre=/bin/sleep 300\nExecStart=/bin/sleep infinity\nTimeoutStartSec=400\n' >"$s/np-starting.service"
    printf '[Service]\nExecStart=/bin/sleep infinity\nExecStop=/bin/sleep 300\nTimeoutStopSec=400\n' >"$s/np-stopping.service"
    # A logout stops the user manager 10 s later by default; 2 s keeps the run short.
    mkdir -p "$r/etc/systemd/logind.conf.d"
    printf '[Login]\nUserStopDelaySec=2\n' >"$r/etc/systemd/logind.conf.d/oracle.conf"
    # Nothing in the container needs a console login, the network or a timer.
    for u in console-getty.service getty@.service apt-daily.timer apt-daily-upgrade.timer \
             systemd-networkd.service e2scrub_all.timer fstrim.timer; do
        ln -sf /dev/null "$s/$u"
    done
}
configure_root

# ---------------------------------------------------------------- agent
if [ -z "$NODEPULSE_BIN" ]; then
    NODEPULSE_BIN=$REPO/target/$TARGET/release/nodepulse
    if [ ! -x "$NODEPULSE_BIN" ]; then
        say "cargo build --release --target $TARGET --bin nodepulse"
        (cd "$REPO" && timeout 900 cargo build --release --target "$TARGET" --bin nodepulse >&2) \
            || die "cargo build failed"
    fi
fi
[ -x "$NODEPULSE_BIN" ] || die "no agent binary at $NODEPULSE_BIN"
install -m 0755 "$NODEPULSE_BIN" "$ROOT/usr/local/bin/nodepulse"
# The collector and its unit exactly as the README gives it (installed, not enabled).
rm -f "$ROOT/etc/systemd/system/nodepulse-collector.service"
if [ -n "$COLLECTOR_BIN" ]; then
    [ -x "$COLLECTOR_BIN" ] || die "no collector binary at $COLLECTOR_BIN"
    install -m 0755 "$COLLECTOR_BIN" "$ROOT/usr/local/bin/nodepulse-collector"
    awk '/^    # \/etc\/systemd\/system\/nodepulse-collector.service$/ { on = 1; next }
         on && /^    / { sub(/^    /, ""); print; next }
         on { exit }' "$REPO/README.md" >"$ROOT/etc/systemd/system/nodepulse-collector.service"
    grep -q '^ExecStart=/usr/local/bin/nodepulse-collector ' "$ROOT/etc/systemd/system/nodepulse-collector.service" \
        || die "no collector unit found in README.md"
fi

# A run killed with SIGKILL (the test's timeout) leaves its container: it was booted from this
# root, so it is ours to end (SIGKILL of its init ends its PID namespace).
for p in $(container_pids); do
    say "killing a container left by an earlier run (init pid $p)"
    kill -KILL "$p" 2>/dev/null || true
done
for _ in $(seq 1 40); do [ -z "$(container_pids)" ] && break; sleep 0.25; done
[ -z "$(container_pids)" ] || die "processes still run in $ROOT: $(container_pids | tr '\n' ' ')"
# Every run starts from the same state: linger off, no stale runtime files.
rm -rf "$ROOT/var/lib/systemd/linger" "$ROOT/run" && mkdir -p "$ROOT/run"
# ... and no collector state (DynamicUser= keeps it under /var/lib/private).
rm -rf "$ROOT/var/lib/private/nodepulse" "$ROOT/var/lib/nodepulse"

# ---------------------------------------------------------------- boot
# --register=no --keep-unit: no machined/host systemd needed. --private-network: the container
# has only its own loopback. --system-call-filter=@clock: nspawn's seccomp filter otherwise
# answers adjtimex() with EPERM inside the container, so timedated would say NTPSynchronized=no
# whatever the kernel state (reading is allowed then; setting still fails: no CAP_SYS_TIME).
NSPAWN_ARGS=(-q -b -D "$ROOT" -M nodepulse-oracle --register=no --keep-unit --private-network
             --system-call-filter=@clock --console=passive)
say "booting: systemd-nspawn ${NSPAWN_ARGS[*]} (at most ${BOOT_TIMEOUT}s)"
timeout --signal=TERM --kill-after=20 "$BOOT_TIMEOUT" \
    systemd-nspawn "${NSPAWN_ARGS[@]}" </dev/null >"$NSPAWN_LOG" 2>&1 &
NSPAWN_PID=$!

for _ in $(seq 1 120); do
    LEADER=$(container_pids | head -1)
    [ -n "$LEADER" ] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.25
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
uid_of() { awk -F: -v u="$1" '$1 == u {print $3}' "$ROOT/etc/passwd"; }
# As USER, talking to USER's systemd --user manager over its bus (fails when there is none).
as_user() {
    local u=$1 uid; shift
    uid=$(uid_of "$u")
    in_ct /usr/sbin/runuser -u "$u" -- /usr/bin/env XDG_RUNTIME_DIR="/run/user/$uid" \
        DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}

say "waiting for the system manager"
# Until its private socket exists, systemctl fails at once ("Failed to connect to bus").
state=
for _ in $(seq 1 240); do
    state=$(T=120 in_ct systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running|degraded|maintenance|stopping) break;; esac
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.5
done
if [ "$state" != running ]; then
    in_ct systemctl --failed --no-legend >&2 || true
    say "systemd-nspawn output:"; cat "$NSPAWN_LOG" >&2
    die "system manager is '${state:-no answer}', not running"
fi
say "system manager: $state"

# ---------------------------------------------------------------- what systemd says
# Waits (at most SECS, default 20) until CMD... prints WANT; says so when it does not.
wait_for() {
    local want=$1 secs=${SECS:-20} got=; shift
    for _ in $(seq 1 $((secs * 4))); do
        got=$("$@" 2>/dev/null) || true
        [ "$got" = "$want" ] && return 0
        sleep 0.25
    done
    say "waited ${secs}s for '$want' from '$*': still '$got'"
}
sys_active() { in_ct systemctl is-active "$1" 2>/dev/null || true; }
# is-active, and the sub-state where it matters: a unit waiting to be restarted is "activating"
# to systemd but runs nothing (its invocation link is gone): "activating(auto-restart)".
sys_state() {
    local a sub
    a=$(sys_active "$1")
    sub=$(in_ct systemctl show -p SubState --value "$1" 2>/dev/null) || true
    if [ "$sub" = auto-restart ]; then echo "$a($sub)"; else echo "$a"; fi
}
manager_of() { sys_active "user@$(uid_of "$1").service"; }
# The user unit as its manager reports it; "none" when there is no manager to ask.
user_active() {
    local a
    a=$(as_user "$1" systemctl --user is-active "$2" 2>/dev/null) || true
    case "$a" in
        active|inactive|failed|activating|deactivating|reloading) echo "$a" ;;
        *) echo "none" ;;
    esac
}
# loginctl's Linger (yes/no) and State of USER; a user logind has no record of is neither
# logged in nor lingering: "no offline".
login_of() {
    local out
    if out=$(in_ct loginctl show-user "$1" -p Linger -p State 2>/dev/null); then
        echo "$(sed -n 's/^Linger=//p' <<<"$out") $(sed -n 's/^State=//p' <<<"$out")"
    else
        echo "no offline"
    fi
}
running() { case "$1" in active|activating|deactivating|reloading) return 0;; esac; return 1; }

# ---------------------------------------------------------------- comparisons
FAIL=0
N=0
ROWS=()
row() { # scenario what nodepulse systemd agree(yes|NO)
    N=$((N + 1))
    ROWS+=("$(printf '%-37s %-8s %-34s %-34s %s' "$@")")
    [ "$5" = yes ] || FAIL=1
}
agree() { [ "$1" = "$2" ] && echo yes || echo NO; }
token() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }  # record key -> value
field() { tr ',' '\n' <<<"$1" | sed -n "s/^$2://p" | head -1; }  # value name -> field
agent() { # [as USER] ARGS...: sets REC and CODE
    local who=()
    if [ "$1" = as ]; then who=(/usr/sbin/runuser -u "$2" --); shift 2; fi
    CODE=0
    REC=$(in_ct "${who[@]}" nodepulse --state none "$@") || CODE=$?
    echo "$SCENARIO: $REC (exit $CODE)" >>"$RUN_DIR/records.txt"
}

# A user service of USER: the agent (as root, or as `as WHO`) against loginctl and USER's manager.
check_user() { # scenario user [as who]
    SCENARIO=$1
    local u=$2 lin svc np_st np_svc lg st sd_act want_svc want_code
    sleep 0.5 # logind writes its files just after it answers
    agent "${@:3}" --user-service "$u:openclaw-node" --only linger,service
    # logind's own file, which the agent reads (and corrects for a stale STATE=closing).
    echo "    /run/systemd/users/$(uid_of "$u"):" \
        $(in_ct grep -E '^(STATE|SESSIONS)=' "/run/systemd/users/$(uid_of "$u")" 2>/dev/null || echo none) \
        "; /run/systemd/sessions:" $(in_ct ls /run/systemd/sessions 2>/dev/null) >>"$RUN_DIR/records.txt"
    lin=$(token "$REC" "linger.$u"); svc=$(token "$REC" "svc.$u:openclaw-node")
    np_svc=${svc%%[,:]*}
    read -r lg st <<<"$(login_of "$u")"
    sd_act=$(user_active "$u" openclaw-node)
    want_svc=crit; running "$sd_act" && want_svc=ok
    want_code=0; { [ "$lg" = no ] || [ $want_svc = crit ]; } && want_code=2
    if [ -z "${3:-}" ]; then # root sees logind's files; the unprivileged run is about the unit
        row "$SCENARIO" linger "lg:$(field "$lin" lg)" "Linger=$lg" "$(agree "$(field "$lin" lg)" "$([ "$lg" = yes ] && echo on || echo off)")"
        row "$SCENARIO" state "st:$(field "$lin" st)" "State=$st" "$(agree "$(field "$lin" st)" "$st")"
    else
        want_code=$([ $want_svc = ok ] && echo 0 || echo 2)
    fi
    row "$SCENARIO" service "$svc" "is-active=$sd_act" "$(agree "$np_svc" "$want_svc")"
    row "$SCENARIO" exit "$CODE" "$want_code" "$(agree "$CODE" "$want_code")"
}

# A system unit: the agent against `systemctl is-active`.
check_system() { # scenario unit
    SCENARIO=$1
    local sd want_svc want_code svc
    agent --service "$2" --only service
    svc=$(token "$REC" "svc.$2")
    sd=$(sys_state "$2")
    want_svc=crit; want_code=2; running "$sd" && { want_svc=ok; want_code=0; }
    row "$SCENARIO" service "$svc" "is-active=$sd" "$(agree "${svc%%[,:]*}" "$want_svc")"
    row "$SCENARIO" exit "$CODE" "$want_code" "$(agree "$CODE" "$want_code")"
}

# A real login of USER: `runuser -l` goes through PAM (pam_systemd), so logind opens a session
# and starts the user manager, as sshd or login would. The session lasts until its sleep dies.
LOGIN_PID=
login() {
    T=600 in_ct /usr/sbin/runuser -l "$1" -c 'exec sleep 300' </dev/null >/dev/null 2>&1 &
    LOGIN_PID=$!
    SECS=30 wait_for active manager_of "$1"
}
logout() { # user: ends the session's process; logind closes the session
    local u=$1
    in_ct pkill -KILL -u "$u" -f '^sleep 300$' || true
    wait "$LOGIN_PID" 2>/dev/null || true
    LOGIN_PID=
}

# --- user node: linger and its user unit
check_user "linger off, no session" node
in_ct loginctl enable-linger node
SECS=30 wait_for active user_active node openclaw-node
check_user "linger on, unit enabled, running" node
check_user "as watch: node's unit running" node as watch
as_user node systemctl --user stop openclaw-node
check_user "linger on, unit stopped" node
check_user "as watch: node's unit stopped" node as watch
as_user node systemctl --user start openclaw-node
as_user node systemctl --user kill -s KILL openclaw-node
wait_for failed user_active node openclaw-node
check_user "unit failed (SIGKILL)" node
as_user node systemctl --user reset-failed openclaw-node
as_user node systemctl --user start openclaw-node
in_ct loginctl disable-linger node
SECS=30 wait_for inactive manager_of node
check_user "disable-linger while it runs" node

# --- user claw: a real login, then logout, with linger off then on
login claw
wait_for active user_active claw openclaw-node
check_user "login, linger off" claw
logout claw
SECS=30 wait_for inactive manager_of claw # UserStopDelaySec=2, then the manager stops
check_user "logout, linger off (stop delay over)" claw
in_ct loginctl enable-linger claw
login claw
wait_for active user_active claw openclaw-node
check_user "login, linger on" claw
logout claw
SECS=30 wait_for "yes lingering" login_of claw
sleep 3 # past UserStopDelaySec: nothing stops
check_user "logout, linger on (survives)" claw

# --- system units
in_ct systemctl start np-run
check_system "system unit running" np-run.service

# A restart as the state file sees it (`rs:1`), against systemd's own word for a new start of
# the unit: a new InvocationID. One run to remember, one with the same start, one after
# `systemctl restart`.
restart_run() { # scenario: sets RS (the svc token's rs, or none) and INV
    SCENARIO=$1
    CODE=0
    REC=$(in_ct nodepulse --state /run/np-restart.state --service np-run.service --only service) || CODE=$?
    echo "$SCENARIO: $REC (exit $CODE)" >>"$RUN_DIR/records.txt"
    RS=$(token "$REC" svc.np-run.service | tr ',' '\n' | sed -n 's/^rs://p')
    RS=${RS:-none}
    INV=$(in_ct systemctl show -p InvocationID --value np-run.service)
    NEW=$([ "$INV" = "${inv0:-$INV}" ] && echo same || echo new)
    INO=$(in_ct stat -c %i /run/systemd/units/invocation:np-run.service)
    INO_NEW=$([ "$INO" = "${ino0:-$INO}" ] && echo same || echo new)
}
inv0= ino0=
restart_run "system unit, first run"
inv0=$INV ino0=$INO
restart_run "system unit, same start"
row "$SCENARIO" restart "rs:$RS" "InvocationID $NEW" "$(agree "$RS:$NEW" none:same)"
in_ct systemctl restart np-run
restart_run "system unit restarted"
row "$SCENARIO" restart "rs:$RS" "InvocationID $NEW" "$(agree "$RS:$NEW" 1:new)"
# What the agent reads for it: systemd wrote the invocation link anew, as another inode.
row "$SCENARIO" link "inode $INO_NEW" "InvocationID $NEW" "$(agree "$INO_NEW" "$NEW")"
in_ct systemctl start np-stopped
in_ct systemctl stop np-stopped
check_system "system unit stopped" np-stopped.service
in_ct systemctl start np-killed
in_ct systemctl kill -s KILL np-killed
wait_for failed sys_active np-killed
check_system "system unit failed (SIGKILL)" np-killed.service
in_ct systemctl start np-oneshot
check_system "oneshot, RemainAfterExit=yes" np-oneshot.service
in_ct systemctl start --no-block np-restart
wait_for activating sys_active np-restart
sleep 1
check_system "auto-restart wait" np-restart.service
in_ct systemctl start --no-block np-starting
wait_for activating sys_active np-starting
check_system "activating (ExecStartPre)" np-starting.service
in_ct systemctl start np-stopping
in_ct systemctl stop --no-block np-stopping
wait_for deactivating sys_active np-stopping
check_system "deactivating (ExecStop)" np-stopping.service
check_system "unit that does not exist" np-none.service

# --- the clock: the agent's systemd rule against timedated
SCENARIO="clock"
agent --only clock
sd_ntp=$(in_ct timedatectl show -p NTPSynchronized --value 2>/dev/null || echo "?")
np_sd=$(field "$(token "$REC" clock)" sd)
row clock sd "sd:$np_sd" "NTPSynchronized=$sd_ntp" "$(agree "$np_sd" "$([ "$sd_ntp" = yes ] && echo y || echo n)")"
if [ "$sd_ntp" = no ]; then
    row clock exit "$CODE" 2 "$(agree "$CODE" 2)"
fi

# --- the collector as the README's unit
if [ -n "$COLLECTOR_BIN" ]; then
    SCENARIO="collector unit (README)"
    unit=nodepulse-collector.service
    vrc=0
    verify=$(T=60 in_ct systemd-analyze verify "/etc/systemd/system/$unit" 2>&1) || vrc=$?
    # Warnings about other units of the tree are not the unit's; its own name would be.
    own=$(grep -c "$unit:" <<<"$verify" || true)
    echo "$SCENARIO: systemd-analyze verify: exit $vrc, $own warning(s) about it: $verify" >>"$RUN_DIR/records.txt"
    row "$SCENARIO" verify "exit:$vrc,warnings:$own" "exit:0,warnings:0" "$(agree "$vrc,$own" 0,0)"
    in_ct systemctl start "$unit" || true
    wait_for active sys_active "$unit"
    state=$(sys_active "$unit")
    row "$SCENARIO" active "$state" active "$(agree "$state" active)"
    # The agent's record over UDP to the unit's --listen, read back over its --http. `active`
    # comes when the process starts, before it binds its sockets: each try sends again.
    seen() {
        in_ct nodepulse --state none --only system --udp 127.0.0.1:8089 >/dev/null 2>&1 || true
        # status exits 1 when a node has a problem: its output is what counts here.
        local fleet
        fleet=$(in_ct nodepulse-collector status --connect 127.0.0.1:8090 --json 2>/dev/null) || true
        grep -q '"host":"nodepulse-oracle"' <<<"$fleet" && echo seen
    }
    wait_for seen seen
    got=$(seen || echo missing)
    if [ "$got" != seen ]; then
        { echo "$SCENARIO: the record was not read back; the unit's journal:"
          in_ct journalctl -u "$unit" --no-pager -n 20 2>&1 || true
          echo "status --connect said:"
          in_ct nodepulse-collector status --connect 127.0.0.1:8090 --json 2>&1 | head -c 2000 || true
          echo; } >>"$RUN_DIR/records.txt"
    fi
    row "$SCENARIO" record "$got" seen "$(agree "$got" seen)"
    in_ct systemctl stop "$unit" || true
fi

# The two units held in ExecStartPre=/ExecStop= would hold up the container's poweroff.
in_ct systemctl kill -s KILL np-starting np-stopping || true

# ---------------------------------------------------------------- report
printf '%-37s %-8s %-34s %-34s %s\n' scenario check nodepulse systemd agree
printf '%s\n' "${ROWS[@]}"
echo
echo "agent records:"; sed 's/^/  /' "$RUN_DIR/records.txt"
say "done"
if [ "$FAIL" = 0 ]; then
    echo "oracle: all $N agree"
else
    echo "oracle: DISAGREEMENT"
    exit 1
fi
