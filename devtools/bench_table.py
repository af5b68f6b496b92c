#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
"""Print the README's benchmark table (markdown) from a dpm_perf CSV.

Usage: devtools/bench_table.py [doc/bench.csv]
"""

import csv
import sys

COLS = ["dpmalloc", "rte_malloc", "rte_mempool", "glibc", "jemalloc", "mimalloc", "tcmalloc"]
ROWS = [  # (workload, param, label)
    ("pair", "16", "pair 16 B"),
    ("pair", "64", "pair 64 B"),
    ("pair", "1024", "pair 1 KiB"),
    ("pair", "4096", "pair 4 KiB"),
    ("pair", "16384", "pair 16 KiB"),
    ("pair", "65536", "pair 64 KiB"),
    ("pair", "1048576", "pair 1 MiB"),
    ("batch_lifo", "64", "batch 64 × 64 B, LIFO"),
    ("batch_fifo", "64", "batch 64 × 64 B, FIFO"),
    ("churn", "16-1024", "churn 16–1024 B"),
    ("pipeline", "64-256", "pipeline 64–256 B (Mobj/s, higher is better)"),
    ("scaling", "1", "scaling, 1 lcore (Mops/s)"),
    ("scaling", "2", "scaling, 2 lcores"),
    ("scaling", "8", "scaling, 8 lcores on 2 cores"),
]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "doc/bench.csv"
    med = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            med[(r["workload"], r["param"], r["allocator"], r["unit"])] = float(r["median"])
    print("| workload | " + " | ".join(COLS) + " |")
    print("| --- |" + " --- |" * len(COLS))
    for w, p, label in ROWS:
        cells = []
        for a in COLS:
            v = [val for (w2, p2, a2, _u), val in med.items() if (w2, p2, a2) == (w, p, a)]
            if not v:
                cells.append("–")
            elif w in ("pipeline", "scaling"):
                cells.append(f"{v[0] / 1e6:.1f}")
            else:
                cells.append(f"{v[0]:.1f}" if v[0] < 10000 else f"{v[0]:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    fp = {k[2] + ":" + k[3]: v for k, v in med.items() if k[0] == "footprint" and k[1] == "after_churn"}
    if fp:
        print()
        print("footprint after churn (MiB): " +
              ", ".join(f"{k} {v / 2**20:.2f}" for k, v in sorted(fp.items())))


if __name__ == "__main__":
    main()
