#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
"""Print the README's benchmark tables (markdown) from dpm_perf CSVs.

Usage: devtools/bench_table.py [--readme README.md] [CSV[=LABEL] ...]

With no CSV, doc/bench.csv. The first CSV gives the table of numbers; the
goals table has one column per CSV (e.g. this machine and a 16-core one:
doc/bench.csv=2-vCPU doc/bench-16.csv=16-core). With --readme, the text
between the markers

    <!-- bench_table:begin -->
    <!-- bench_table:end -->

in that file is replaced by the tables, instead of printing them.

Which dpmalloc column each goal compares: against mempool_fixed (inline
rte_mempool_get/put) the inline dpmalloc_inline column; against the
general allocators, reached through their exported functions, the
'dpmalloc' column (exported functions, called the same way); bulk goals the
exported bulk functions (there is no inline bulk).
"""

import csv
import math
import re
import sys

COLS = ["dpmalloc", "dpmalloc_inline", "dpmalloc_sized", "rte_malloc",
        "mempool_fixed", "mempool_general", "glibc", "jemalloc", "mimalloc",
        "tcmalloc"]
GENERAL = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]
BEGIN, END = "<!-- bench_table:begin -->", "<!-- bench_table:end -->"


def size_label(p):
    v = int(p)
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if v >= 1 << shift and v % (1 << shift) == 0:
            return "%d %s" % (v >> shift, unit)
    return "%d B" % v


class Bench:
    """One CSV: medians by (workload, param, allocator, unit)."""

    def __init__(self, path, label):
        self.path, self.label = path, label
        self.med = {}
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r["median"]:
                    self.med[(r["workload"], r["param"], r["allocator"],
                              r["unit"])] = float(r["median"])

    def get(self, w, p, a, unit=None):
        for (w2, p2, a2, u2), v in self.med.items():
            if (w2, p2, a2) == (w, p, a) and (unit is None or u2 == unit):
                return v
        return None

    def params(self, w):
        return sorted({k[1] for k in self.med if k[0] == w},
                      key=lambda p: int(p) if p.isdigit() else 0)

    def best(self, w, p, names, unit=None, higher=False):
        """(value, name) of the best of names, or (None, None)."""
        vals = [(self.get(w, p, a, unit), a) for a in names]
        vals = [v for v in vals if v[0] is not None]
        if not vals:
            return None, None
        return (max if higher else min)(vals)

    def max_lcores(self, w):
        ps = [int(p) for p in self.params(w) if p.isdigit()]
        return str(max(ps)) if ps else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r, ok):
    if r is None:
        return "–"
    return "%.2f× %s" % (r, "✓" if ok(r) else "✗")


def goals(b):
    """[(goal, cell)] for one CSV: the measured ratio and whether it is met."""
    out = []
    le = lambda lim: (lambda r: r <= lim)
    ge = lambda lim: (lambda r: r >= lim)

    def add(goal, r, ok, extra=""):
        cell = fmt_ratio(r, ok)
        out.append((goal, cell + (" " + extra if extra and r is not None else "")))

    g, gname = b.best("pair", "64", GENERAL)
    add("64 B pair, dpm_free: ≤ 1.0× mempool_fixed (inline vs inline)",
        ratio(b.get("pair", "64", "dpmalloc_inline"),
              b.get("pair", "64", "mempool_fixed")), le(1.0))
    add("64 B pair, dpm_free: ≤ 1.0× best general (exported vs exported)",
        ratio(b.get("pair", "64", "dpmalloc"), g), le(1.0), "(%s)" % gname)
    add("64 B pair, dpm_free_sized (inline): ≤ 0.8× best general",
        ratio(b.get("pair", "64", "dpmalloc_sized"), g), le(0.8), "(%s)" % gname)
    for order in ("lifo", "fifo"):
        add("64 × 64 B batch %s, per object: ≤ 1.2× mempool_fixed" % order.upper(),
            ratio(b.get("batch_" + order, "64", "dpmalloc_inline"),
                  b.get("batch_" + order, "64", "mempool_fixed")), le(1.2))
    for order in ("lifo", "fifo"):
        add("64 × 64 B bulk %s: ≤ 1.5× mempool get_bulk/put_bulk" % order.upper(),
            ratio(b.get("bulk_" + order, "64", "dpmalloc"),
                  b.get("bulk_" + order, "64", "mempool_fixed")), le(1.5))
        add("64 × 64 B bulk %s: ≤ 1.0× per-object dpm_malloc/dpm_free" % order.upper(),
            ratio(b.get("bulk_" + order, "64", "dpmalloc"),
                  b.get("batch_" + order, "64", "dpmalloc")), le(1.0))
    for w, dpm, what in (("pipeline", "dpmalloc_inline", "per object"),
                         ("pipeline_prefetch", "dpmalloc_inline", "prefetch"),
                         ("pipeline_bulk", "dpmalloc", "bulk")):
        p = (b.params(w) or ["64"])[0]
        d = b.get(w, p, dpm, "ops/s")
        cyc = ratio(b.get(w, p, dpm, "cycles/obj"),
                    b.get(w, p, "mempool_fixed", "cycles/obj"))
        prod = ratio(b.get(w, p, dpm, "prod_cycles/obj"),
                     b.get(w, p, "mempool_fixed", "prod_cycles/obj"))
        sides = []
        if cyc:
            sides.append("consumer cycles/obj %.2f×" % cyc)
        if prod:
            sides.append("producer %.2f×" % prod)
        add("pipeline %s, records read: ≥ 1.1× mempool_fixed objects/s" % what,
            ratio(d, b.get(w, p, "mempool_fixed", "ops/s")), ge(1.1),
            "(%s)" % ", ".join(sides) if sides else "")
        if w == "pipeline":
            add("pipeline per object: ≥ 4× jemalloc objects/s",
                ratio(d, b.get(w, p, "jemalloc", "ops/s")), ge(4.0))
    worst, worst_p, worst_a = None, None, None
    for p in b.params("pair"):
        if not 16 <= int(p) <= 1 << 20:
            continue
        v, a = b.best("pair", p, GENERAL)
        r = ratio(b.get("pair", p, "dpmalloc"), v)
        if r is not None and (worst is None or r > worst):
            worst, worst_p, worst_a = r, p, a
    add("every size 16 B–1 MiB: ≤ 1.2× best general (worst size)", worst,
        le(1.2), "(%s, %s)" % (size_label(worst_p), worst_a) if worst_p else "")
    k = b.max_lcores("scaling")
    add("scaling, %s lcores, 1 free in 8 remote: ≥ 1.0× tcmalloc ops/s" % k,
        ratio(b.get("scaling", k, "dpmalloc"), b.get("scaling", k, "tcmalloc")),
        ge(1.0))
    k = b.max_lcores("scaling_local")
    v, a = b.best("scaling_local", k, GENERAL, higher=True)
    add("scaling, %s lcores, lcore-local: ≥ 0.95× best general ops/s" % k,
        ratio(b.get("scaling_local", k, "dpmalloc"), v), ge(0.95), "(%s)" % a)
    p = (b.params("false_sharing") or ["1"])[0]
    add("passive false sharing: ≤ 1.0× glibc's time",
        ratio(b.get("false_sharing", p, "dpmalloc"),
              b.get("false_sharing", p, "glibc")), le(1.0))
    p = (b.params("burst") or ["64"])[0]
    v, a = b.best("burst", p, GENERAL)
    add("bursts of 400–1600 (no bar; compare best general)",
        ratio(b.get("burst", p, "dpmalloc"), v), lambda r: r <= 1.0, "(%s)" % a)
    return out


def goals_table(benches):
    rows = [goals(b) for b in benches]
    lines = ["| goal (issue 10) | " + " | ".join(b.label for b in benches) + " |",
             "| --- |" + " --- |" * len(benches)]
    for i, (goal, _) in enumerate(rows[0]):
        lines.append("| %s | %s |" % (goal, " | ".join(r[i][1] for r in rows)))
    return lines


def cell(v, w, unit):
    if v is None:
        return "–"
    if unit == "ops/s":
        return "%.1f" % (v / 1e6)
    if unit == "s":
        return "%.1f" % (v * 1e3)
    return "%.1f" % v if v < 10000 else "%.0f" % v


def numbers_table(b):
    rows = []
    for p in b.params("pair"):
        rows.append(("pair", p, "cycles/op", "pair %s" % size_label(p)))
    for w, label in (("batch_lifo", "batch 64 × %s, LIFO"),
                     ("batch_fifo", "batch 64 × %s, FIFO"),
                     ("bulk_lifo", "bulk 64 × %s, LIFO"),
                     ("bulk_fifo", "bulk 64 × %s, FIFO"),
                     ("burst", "bursts of 400–1600 × %s")):
        for p in b.params(w)[:1]:
            rows.append((w, p, "cycles/op", label % size_label(p)))
    for p in b.params("churn"):
        rows.append(("churn", p, "cycles/op", "churn %s B" % p))
    for w, label in (("pipeline", "pipeline"),
                     ("pipeline_prefetch", "pipeline, prefetch"),
                     ("pipeline_bulk", "pipeline, bulk")):
        for p in b.params(w):
            rows.append((w, p, "ops/s", "%s %s B: Mobj/s ↑" % (label, p)))
            rows.append((w, p, "cycles/obj", "… consumer cycles/obj"))
            rows.append((w, p, "prod_cycles/obj", "… producer cycles/obj"))
    for p in b.params("false_sharing"):
        rows.append(("false_sharing", p, "s", "passive false sharing: ms"))
    for w, label in (("scaling", "scaling, 1 in 8 remote"),
                     ("scaling_local", "scaling, lcore-local")):
        for p in b.params(w):
            rows.append((w, p, "ops/s", "%s, %s lcores: Mops/s ↑" % (label, p)))
    lines = ["| workload | " + " | ".join(COLS) + " |",
             "| --- |" + " --- |" * len(COLS)]
    for w, p, unit, label in rows:
        cells = [cell(b.get(w, p, a, unit), w, unit) for a in COLS]
        if all(c == "–" for c in cells):
            continue
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    if b.get("pipeline", "64", "ring_only", "ops/s"):
        lines.append("")
        lines.append("The ring alone (records from a static slab, never freed) moves "
                     "%.1f M objects/s, at %.1f consumer cycles per object." % (
                         b.get("pipeline", "64", "ring_only", "ops/s") / 1e6,
                         b.get("pipeline", "64", "ring_only", "cycles/obj") or math.nan))
    return lines


def main():
    args = sys.argv[1:]
    readme = None
    if args[:1] == ["--readme"]:
        readme, args = args[1], args[2:]
    if not args:
        args = ["doc/bench.csv"]
    benches = []
    for a in args:
        path, _, label = a.partition("=")
        benches.append(Bench(path, label or path))
    lines = ["Generated by `devtools/bench_table.py %s` from `%s`. Cycles per operation "
             "(lower is better) unless marked ↑; medians of interleaved repetitions." %
             (" ".join(args), benches[0].path), ""]
    lines += numbers_table(benches[0])
    lines += ["", "Goals of the fast-path issue, as ratios measured in one run "
              "(✓ met, ✗ not met):", ""]
    lines += goals_table(benches)
    text = "\n".join(lines)
    if readme is None:
        print(text)
        return
    with open(readme) as f:
        doc = f.read()
    pat = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pat.search(doc):
        sys.exit("bench_table: %s has no %s ... %s markers" % (readme, BEGIN, END))
    doc = pat.sub(lambda m: BEGIN + "\n" + text + "\n" + END, doc, count=1)
    with open(readme, "w") as f:
        f.write(doc)
    print("bench_table: updated %s" % readme)


if __name__ == "__main__":
    main()
