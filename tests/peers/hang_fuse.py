#!/usr/bin/env python3
"""A FUSE filesystem whose statfs never answers: `statvfs` on it sleeps (killable) like one on a
dead NFS server. Speaks the kernel's FUSE protocol directly over /dev/fuse (no libfuse).

Usage: hang_fuse.py MOUNTPOINT   (root; prints "ready" once mounted; runs until killed)
"""
import ctypes
import os
import struct
import sys

FUSE_INIT, FUSE_STATFS, FUSE_FORGET, FUSE_INTERRUPT, FUSE_BATCH_FORGET = 26, 17, 2, 36, 42
ENOSYS = 38

mountpoint = sys.argv[1]
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
options = f"fd={fd},rootmode=40000,user_id=0,group_id=0".encode()
if libc.mount(b"np-hang", mountpoint.encode(), b"fuse", 0, options) != 0:
    print("mount failed:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)
print("ready", flush=True)

while True:
    try:
        request = os.read(fd, 1 << 20)
    except OSError:
        break  # unmounted
    _length, opcode, unique = struct.unpack_from("<IIQ", request)
    if opcode == FUSE_INIT:
        # fuse_init_out, protocol 7.31: major, minor, max_readahead, flags, max_background,
        # congestion_threshold, max_write, time_gran, max_pages, map_alignment, flags2,
        # max_stack_depth, then 6 unused words: 64 bytes.
        body = struct.pack("<IIIIHHIIHHII", 7, 31, 0, 0, 0, 0, 4096, 1, 0, 0, 0, 0) + bytes(24)
        os.write(fd, struct.pack("<IiQ", 16 + len(body), 0, unique) + body)
    elif opcode in (FUSE_STATFS, FUSE_FORGET, FUSE_INTERRUPT, FUSE_BATCH_FORGET):
        continue  # statfs: never answered; the others take no reply
    else:
        os.write(fd, struct.pack("<IiQ", 16, -ENOSYS, unique))
