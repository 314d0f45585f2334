#!/usr/bin/env python3
"""Measurements for cross/bench.sh that a shell pipeline cannot make honestly.

  trace FILE PROC_DIR          parse `strace -f -o FILE` of one run: per-process /proc work
  peak RUNS -- CMD...          the command's own peak RSS: VmHWM read at its exit (ptrace),
                               RUNS times: "hwm_min hwm_max rss_min rss_max" (KiB)

Every figure printed is measured; output is `key=value` lines (or one line of numbers) for
the shell to read. A command that cannot be measured exits non-zero with a reason on stderr.
"""
import ctypes
import os
import re
import sys


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
    else:
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


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "trace":
        trace(args[0], args[1])
    elif cmd == "peak":
        peak(args)
    else:
        die(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
