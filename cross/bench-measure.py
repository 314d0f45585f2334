#!/usr/bin/env python3
"""Measurements for cross/bench.sh that a shell pipeline cannot make honestly.

  trace FILE PROC_DIR          parse `strace -f -o FILE` of one run: per-process /proc work
  peak RUNS -- CMD...          the command's own peak RSS: VmHWM read at its exit (ptrace),
                               RUNS times: "hwm_min hwm_max rss_min rss_max" (KiB)
  cpu RUNS WARMUP -- CMD... [-- CMD...]
                               CPU time (user + system from wait4's rusage, children reaped
                               by the command included) of each command, interleaved run by
                               run: one line per command "mean_us stddev_us median_us", then
                               "min max mean" of the /proc entries counted before each round
  port                         a free TCP port on 127.0.0.1
  scrape PID URL N WARMUP      CPU time of process PID (/proc/PID/stat utime + stime) spent on
                               N HTTP GETs of URL by one curl (one kept-alive connection)
  idle PID SECONDS             CPU ticks of process PID over SECONDS of doing nothing

Every figure printed is measured; output is `key=value` lines (or one line of numbers) for
the shell to read. A command that cannot be measured exits non-zero with a reason on stderr.
"""
import ctypes
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def die(msg):
    sys.stderr.write(f"bench-measure: {msg}\n")
    sys.exit(1)


def split_cmds(args):
    """`-- a b -- c d` -> [[a, b], [c, d]]"""
    cmds, cur = [], None
    for a in args:
        if a == "--":
            if cur:
                cmds.append(cur)
            cur = []
        elif cur is None:
            die(f"expected -- before {a!r}")
        else:
            cur.append(a)
    if cur:
        cmds.append(cur)
    if not cmds:
        die("no command")
    return cmds


# The agent exits 0..3 (OK, WARNING, CRITICAL, UNKNOWN); anything else is not a measurement.
def check_status(cmd, status):
    if os.WIFSIGNALED(status):
        die(f"{cmd[0]} killed by signal {os.WTERMSIG(status)}")
    code = os.WEXITSTATUS(status)
    if code > 3:
        die(f"{' '.join(cmd)} exited {code}")


# ------------------------------------------------------------------ trace
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(\S+)")
PATH_ARG = re.compile(r'^(AT_FDCWD|-?\d+), "((?:[^"\\]|\\.)*)"')


def trace(path, proc_dir):
    """Counts, in one `strace -f` log: every syscall (exit_group included, which strace -c's
    table leaves out) and the failed ones; the opens of PROC_DIR itself; the opens below one of
    its numeric (process) entries, by absolute path or relative to a PROC_DIR descriptor
    (`openat(9, "812/stat")`), and the other calls on such paths; the processes scanned (the
    distinct entries opened relative to the descriptor); the pass: the main process's calls
    from its PROC_DIR open to its last getdents64 of it, in all and per process scanned."""
    proc_dir = proc_dir.rstrip("/") or "/"
    pid_abs = re.compile(re.escape(proc_dir) + r"/(\d+)(/.*)?$")
    pid_rel = re.compile(r"(\d+)(/.*)?$")
    pending = {}
    calls = []  # (pid, name, args, ret)
    main = None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(\d+)\s+(.*)$", line.rstrip("\n"))
            if not m:
                continue  # not a syscall line
            pid, rest = int(m.group(1)), m.group(2)
            if rest.startswith("+++") or rest.startswith("---"):
                continue
            r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", rest)
            if r:
                rest = pending.pop(pid, "") + r.group(1)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
                continue
            c = CALL.match(rest)
            if not c:
                if rest.startswith("exit_group(") or rest.startswith("exit("):
                    calls.append((pid, rest.split("(")[0], "", "?"))
                continue
            if main is None:
                main = pid
            calls.append((pid, c.group(1), c.group(2), c.group(3)))
    if not calls:
        die(f"no syscalls in {path}")
    out = {"calls": len(calls), "failed": sum(1 for c in calls if c[3] == "-1")}
    every = {}
    for c in calls:
        every[c[1]] = every.get(c[1], 0) + 1
    out["top"] = ",".join(f"{k}:{v}" for k, v in sorted(every.items(), key=lambda kv: (-kv[1], kv[0])))
    dirfd = None
    proc_dir_opens = 0
    pid_opens = pid_other = stat_opens = comm_opens = getdents = 0
    scanned = set()
    other_names = {}
    first = last = None
    for i, (pid, name, args, ret) in enumerate(calls):
        if name == "getdents64" and dirfd is not None and args.split(",")[0] == dirfd:
            getdents += 1
            if pid == main:
                last = i
            continue
        if name == "close" and dirfd is not None and args.strip() == dirfd:
            dirfd = None
            continue
        p = PATH_ARG.match(args)
        if not p and name in ("open", "stat", "lstat", "readlink", "access", "statfs"):
            q = re.match(r'^"((?:[^"\\]|\\.)*)"', args)
            p = ("AT_FDCWD", q.group(1)) if q else None
        elif p:
            p = (p.group(1), p.group(2))
        if not p:
            continue
        base, fpath = p
        if base == "AT_FDCWD" and fpath.rstrip("/") == proc_dir and name in ("openat", "open"):
            proc_dir_opens += 1
            if ret.isdigit():
                dirfd = ret
                if pid == main and first is None:
                    first = i
            continue
        m = None
        if base == "AT_FDCWD":
            m = pid_abs.match(fpath)
        elif dirfd is not None and base == dirfd:
            m = pid_rel.match(fpath)
        if not m:
            continue
        if name in ("openat", "open"):
            pid_opens += 1
            tail = m.group(2) or ""
            stat_opens += tail == "/stat"
            comm_opens += tail == "/comm"
            if base != "AT_FDCWD":
                scanned.add(m.group(1))
        else:
            pid_other += 1
            other_names[name] = other_names.get(name, 0) + 1
    out.update(
        proc_dir_opens=proc_dir_opens,
        pid_opens=pid_opens,
        stat_opens=stat_opens,
        comm_opens=comm_opens,
        pid_other=pid_other,
        pid_other_names=",".join(f"{k}:{v}" for k, v in sorted(other_names.items())) or "none",
        getdents=getdents,
        scanned=len(scanned),
    )
    # The pass: the main process's syscalls from the /proc open to its last getdents64.
    if first is not None and last is not None and last >= first:
        window = [c for c in calls[first : last + 1] if c[0] == main]
        names = {}
        for c in window:
            names[c[1]] = names.get(c[1], 0) + 1
        out["pass_calls"] = len(window)
        out["pass_names"] = ",".join(f"{k}:{v}" for k, v in sorted(names.items(), key=lambda kv: (-kv[1], kv[0])))
        out["pass_per_process"] = f"{len(window) / len(scanned):.2f}" if scanned else "n/a"
        # The listing (the /proc open and its getdents64, one per some 40 entries) is the
        # directory's cost, not a process's: the rest of the window, per process scanned.
        listing = 1 + getdents
        out["listing_calls"] = listing
        out["per_process_calls"] = (
            f"{(len(window) - listing) / len(scanned):.2f}" if scanned else "n/a"
        )
    else:
        out["listing_calls"] = 0
        out["per_process_calls"] = "n/a"
        out["pass_calls"] = 0
        out["pass_names"] = "none"
        out["pass_per_process"] = "n/a"
    for k, v in out.items():
        print(f"{k}={v}")


# ------------------------------------------------------------------ peak RSS
PTRACE_TRACEME, PTRACE_CONT, PTRACE_SETOPTIONS = 0, 7, 0x4200
PTRACE_O_TRACEEXIT, PTRACE_EVENT_EXIT = 0x40, 6


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    die(f"no {key} in /proc/{pid}/status")


def peak_once(cmd, libc):
    """fork; the child asks to be traced and execs CMD (stdio on /dev/null); the parent waits
    for the exec stop, asks for an exit stop (PTRACE_O_TRACEEXIT), lets it run (passing on
    its signals) and at the exit stop, before the kernel frees its memory, reads VmHWM (the
    peak since exec: exec starts a new mm) and VmRSS from /proc/PID/status; then it lets
    the process exit and reaps it."""
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            if libc.ptrace(PTRACE_TRACEME, 0, None, None) != 0:
                os._exit(126)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    if not (os.WIFSTOPPED(status) and os.WSTOPSIG(status) == 5):
        die(f"{cmd[0]}: no exec stop (status {status:#x})")
    if libc.ptrace(PTRACE_SETOPTIONS, pid, None, ctypes.c_void_p(PTRACE_O_TRACEEXIT)) != 0:
        die(f"PTRACE_SETOPTIONS: errno {ctypes.get_errno()}")
    sig = 0
    hwm = rss = None
    while True:
        if libc.ptrace(PTRACE_CONT, pid, None, ctypes.c_void_p(sig)) != 0:
            die(f"PTRACE_CONT: errno {ctypes.get_errno()}")
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            break
        if os.WIFSTOPPED(status) and (status >> 8) == (5 | (PTRACE_EVENT_EXIT << 8)):
            hwm, rss = status_kib(pid, "VmHWM"), status_kib(pid, "VmRSS")
            sig = 0
            continue
        sig = os.WSTOPSIG(status) if os.WIFSTOPPED(status) else 0
        if sig == 5:
            sig = 0
    check_status(cmd, status)
    if hwm is None:
        die(f"{cmd[0]}: no exit stop")
    return hwm, rss


def peak(args):
    runs = int(args[0])
    (cmd,) = split_cmds(args[1:])
    libc = ctypes.CDLL(None, use_errno=True)
    got = [peak_once(cmd, libc) for _ in range(runs)]
    hwm = [g[0] for g in got]
    rss = [g[1] for g in got]
    print(min(hwm), max(hwm), min(rss), max(rss))


# ------------------------------------------------------------------ CPU
def count_pids(proc="/proc"):
    return sum(1 for n in os.listdir(proc) if n.isdigit())


def cpu(args):
    """Round-robin: each round runs every command once (posix_spawn, stdio on /dev/null) and
    reaps it with wait4; its rusage's user + system time is the sum of its CPU time (the
    kernel's exact runtime, split by ticks), exec included, its own reaped children too."""
    runs, warmup = int(args[0]), int(args[1])
    cmds = split_cmds(args[2:])
    acts = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
    ]
    env = dict(os.environ)
    times = [[] for _ in cmds]
    pids = []
    for r in range(warmup + runs):
        if r >= warmup:
            pids.append(count_pids())
        for i, cmd in enumerate(cmds):
            pid = os.posix_spawn(cmd[0], cmd, env, file_actions=acts)
            _, status, ru = os.wait4(pid, 0)
            check_status(cmd, status)
            if r >= warmup:
                times[i].append((ru.ru_utime + ru.ru_stime) * 1e6)
    for t in times:
        print(f"{statistics.mean(t):.1f} {statistics.stdev(t):.1f} {statistics.median(t):.1f}")
    print(f"{min(pids)} {max(pids)} {statistics.mean(pids):.1f}")


# ------------------------------------------------------------------ node_exporter
def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def port(_):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def curl(url, n, conf):
    with open(conf, "w") as f:
        for _ in range(n):
            f.write(f'url = "{url}"\noutput = "/dev/null"\n')
    p = subprocess.run(
        ["curl", "-sS", "--config", conf, "-w", "%{http_code} %{size_download}\n"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )
    lines = p.stdout.split()
    codes, sizes = lines[0::2], [int(s) for s in lines[1::2]]
    if p.returncode != 0 or len(codes) != n or any(c != "200" for c in codes):
        die(f"curl {url}: exit {p.returncode}, {p.stderr.strip()}, codes {sorted(set(codes))}")
    return sizes


def scrape(args):
    """WARMUP GETs first (not counted); then PID's utime + stime (clock ticks, all threads)
    before and after N GETs, one curl, one connection kept alive, no compression asked."""
    pid, url, n, warmup = args[0], args[1], int(args[2]), int(args[3])
    fd, conf = tempfile.mkstemp(prefix="bench-curl-", suffix=".conf")
    os.close(fd)
    try:
        curl(url, warmup, conf)
        t0, w0 = cpu_ticks(pid), time.monotonic()
        sizes = curl(url, n, conf)
        t1, w1 = cpu_ticks(pid), time.monotonic()
    finally:
        os.unlink(conf)
    hz = os.sysconf("SC_CLK_TCK")
    print(f"ticks={t1 - t0}")
    print(f"hz={hz}")
    print(f"wall_s={w1 - w0:.2f}")
    print(f"per_scrape_us={(t1 - t0) / hz * 1e6 / n:.1f}")
    print(f"bytes_min={min(sizes)}")
    print(f"bytes_max={max(sizes)}")


def idle(args):
    pid, secs = args[0], float(args[1])
    t0 = cpu_ticks(pid)
    time.sleep(secs)
    print(cpu_ticks(pid) - t0)


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "trace":
        trace(args[0], args[1])
    elif cmd == "peak":
        peak(args)
    elif cmd == "cpu":
        cpu(args)
    elif cmd == "port":
        port(args)
    elif cmd == "scrape":
        scrape(args)
    elif cmd == "idle":
        idle(args)
    else:
        die(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
