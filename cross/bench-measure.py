#!/usr/bin/env python3
"""Measurements for cross/bench.sh that a shell pipeline cannot make honestly.

  trace FILE PROC_DIR          parse `strace -f -o FILE` of one run: per-process /proc work

Every figure printed is measured; output is `key=value` lines for the shell to read. A
command that cannot be measured exits non-zero with a reason on stderr.
"""
import re
import sys


def die(msg):
    sys.stderr.write(f"bench-measure: {msg}\n")
    sys.exit(1)


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


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "trace":
        trace(args[0], args[1])
    else:
        die(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
