#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
"""Write the seed corpus of test/fuzz/fuzz_api.c into test/fuzz/corpus/.

Each seed is a sequence of operations in fuzz_api.c's input format (its
file comment); they start the fuzzer off with every operation, every kind
of size and both lcores. Re-run after changing the format."""

import os
import struct

(MALLOC, ZMALLOC, CALLOC, REALLOC, ALIGNED, FREE, FREE_SIZED, MALLOC_BULK,
 FREE_BULK, FLUSH, TRIM, MALLOC_SOCKET, ZMALLOC_SOCKET, ALIGNED_SOCKET,
 FREE_INTERIOR, FOREIGN, USABLE_WRITE) = range(17)
WORKER = 0x20


def size(kind, v, delta=0):
    """kind: small, class, chunks, x64, never, x256; delta -1/0/+1."""
    k = {"small": 0, "class": 2, "chunks": 4, "x64": 5, "never": 6, "x256": 7}[kind]
    return bytes([k | (delta + 1) << 4]) + struct.pack("<H", v)


def op(code, *fields, worker=False):
    return bytes([code | (WORKER if worker else 0)]) + b"".join(
        f if isinstance(f, bytes) else bytes([f]) for f in fields)


seeds = {}
s = b""
s += op(MALLOC, 0, size("small", 100))
s += op(ZMALLOC, 1, size("class", 20))
s += op(CALLOC, 5, 2, size("small", 64))
s += op(REALLOC, 0, size("x64", 300))
s += op(ALIGNED, 12, 3, size("small", 200))
s += op(ALIGNED, 0x85, 4, size("small", 200))            # align 15: EINVAL
s += op(FREE_SIZED, 0, 1)
s += op(MALLOC_BULK, 8, 10, size("class", 5))
s += op(FREE_BULK, 4, 10)
s += op(MALLOC_SOCKET, 0, 20, size("small", 500))
s += op(MALLOC_SOCKET, 3, 21, size("small", 500))         # invalid socket
s += op(ZMALLOC_SOCKET, 1, 22, size("x64", 1000))
s += op(ALIGNED_SOCKET, 21, 1, 23, size("chunks", 0))
s += op(FREE_INTERIOR, 8, 0, 20)
s += op(FOREIGN, 3)
s += op(USABLE_WRITE, 22)
s += op(FLUSH) + op(TRIM, 0) + op(TRIM, 3)
seeds["all_ops"] = s

s = b""
for i in range(24):
    s += op(MALLOC, i, size("class", i * 3))
for i in range(24):
    s += op(FREE if i % 2 else FREE_SIZED, *( (i,) if i % 2 else (i & 1, i) ), worker=True)
s += op(FLUSH, worker=True)
for i in range(16):
    s += op(MALLOC, i, size("x64", 50 + i * 40), worker=True)
for i in range(16):
    s += op(FREE, i)
seeds["cross_lcore"] = s

s = b""
for c in range(0, 60, 2):
    s += op(MALLOC, c % 64, size("class", c, -1))
    s += op(MALLOC, (c + 1) % 64, size("class", c, +1))
    s += op(FREE_SIZED, 1, c % 64)
seeds["class_boundaries"] = s

s = b""
for i, (k, v) in enumerate([("small", 10), ("small", 1000), ("x64", 100), ("x64", 20000),
                            ("chunks", 1), ("chunks", 2), ("x64", 5000), ("small", 3)]):
    s += op(REALLOC, 7, size(k, v), worker=bool(i % 3 == 2))
s += op(REALLOC, 7, size("small", 0))                     # realloc(p, 0) frees
s += op(REALLOC, 8, size("never", 5))
seeds["realloc_chain"] = s

s = b""
for a in range(0, 26):
    s += op(ALIGNED, a, a, size("small", 1 + a * 37))
s += op(ALIGNED, 0x80, 40, size("small", 10))             # align 0
for a in (6, 12, 20, 21, 22):
    s += op(ALIGNED_SOCKET, a, 0, 41, size("chunks", 0, +1))
seeds["aligned"] = s

s = b""
for k in range(5):
    for d in (-1, 0, 1):
        s += op(MALLOC, k * 3 + d + 1, size("chunks", k, d))
s += op(MALLOC, 30, size("never", 0)) + op(CALLOC, 16, 31, size("never", 1))
for i in range(16):
    s += op(FREE, i, worker=bool(i % 2))
s += op(FLUSH) + op(FLUSH, worker=True) + op(TRIM, 0)
seeds["huge_and_trim"] = s

s = b""
s += op(MALLOC_BULK, 16, 0, size("small", 48)) + op(MALLOC_BULK, 16, 16, size("x64", 600))
s += op(FREE_BULK, 16, 8, worker=True) + op(MALLOC_BULK, 16, 32, size("x256", 60000))
s += op(FREE_BULK, 16, 0) + op(FREE_BULK, 16, 24)
seeds["bulk"] = s

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
