#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpmalloc authors
"""Turn the CSV written by dpm_perf into one PNG chart.

    bench_chart.py bench.csv bench.png [--title TEXT]

Panels: the pair size sweep (lines), batches/bulk/bursts, churn, the
pipeline variants (objects/s and consumer cycles per object), passive
false sharing, scaling with remote frees and lcore-local, and footprint.
Bars are medians, whiskers span min..max of the repetitions. Time panels
are in ns per operation (lower is better, log scale); throughput panels
in millions of operations per second (higher is better).
"""

import argparse
import csv
import math
import sys
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402

# One colour per allocator, the same in every panel.
COLOURS = {
    "dpmalloc": "#d62728",
    "dpmalloc_inline": "#ff9896",
    "dpmalloc_sized": "#8c564b",
    "rte_malloc": "#1f77b4",
    "mempool_fixed": "#17becf",
    "mempool_general": "#9edae5",
    "glibc": "#7f7f7f",
    "jemalloc": "#2ca02c",
    "mimalloc": "#ff7f0e",
    "tcmalloc": "#9467bd",
    "ring_only": "#000000",
}


def num(text):
    """A CSV number, or NaN for an empty field."""
    return float(text) if text else math.nan


def load(path):
    """The CSV rows as dicts with numeric fields converted."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for key in ("median", "min", "max", "median_ns", "ratio_to_dpm",
                    "ratio_to_1lcore"):
            r[key] = num(r.get(key, ""))
    return rows


def allocators(rows):
    """Allocator names in the order they first appear (dpmalloc first)."""
    return list(OrderedDict.fromkeys(r["allocator"] for r in rows))


def size_label(param):
    """16384 -> 16K, 1048576 -> 1M; other params unchanged."""
    if not param.isdigit():
        return param
    v = int(param)
    for unit, shift in (("M", 20), ("K", 10)):
        if v >= 1 << shift and v % (1 << shift) == 0:
            return "%d%s" % (v >> shift, unit)
    return param


def value(row, field, to_ns):
    """A row's field, converted from cycles to ns when to_ns."""
    v = row[field]
    if to_ns and row["median"]:
        v *= row["median_ns"] / row["median"]
    return v


def grouped_bars(ax, rows, groups, names, to_ns, scale=1.0, unit=None):
    """Bars for each (group, allocator): median with min..max whiskers."""
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        xs, meds, lo, hi = [], [], [], []
        for g, (workload, param) in enumerate(groups):
            match = [r for r in rows if r["workload"] == workload and
                     r["param"] == param and r["allocator"] == name and
                     (unit is None or r["unit"] == unit)]
            if not match:
                continue
            r = match[0]
            med = value(r, "median", to_ns) / scale
            xs.append(g - 0.4 + width * (i + 0.5))
            meds.append(med)
            lo.append(med - value(r, "min", to_ns) / scale)
            hi.append(value(r, "max", to_ns) / scale - med)
        if xs:
            ax.bar(xs, meds, width, yerr=[lo, hi], capsize=1.5,
                   color=COLOURS.get(name, None), label=name,
                   error_kw={"elinewidth": 0.6})


def panel_bars(ax, rows, workloads, title, ylabel, to_ns, log=True,
               scale=1.0, label=None, unit=None):
    """A grouped-bar panel over the params of the given workloads."""
    sel = [r for r in rows if r["workload"] in workloads and
           (unit is None or r["unit"] == unit)]
    groups = list(OrderedDict.fromkeys((r["workload"], r["param"])
                                       for r in sel))
    names = [n for n in allocators(sel) if n != "ring_only"]
    if not groups:
        ax.set_visible(False)
        return
    grouped_bars(ax, sel, groups, names, to_ns, scale, unit)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label(w, p) if label else size_label(p)
                        for w, p in groups], fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", which="both", alpha=0.3)


def panel_pairs(ax, rows):
    """ns per alloc+free pair against the object size, one line each."""
    sel = [r for r in rows if r["workload"] == "pair"]
    if not sel:
        ax.set_visible(False)
        return
    for name in allocators(sel):
        pts = sorted((int(r["param"]), value(r, "median", True))
                     for r in sel if r["allocator"] == name)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                markersize=3, linewidth=1.2, color=COLOURS.get(name, None),
                label=name)
    sizes = sorted({int(r["param"]) for r in sel})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_label(str(v)) for v in sizes], fontsize=7)
    ax.set_yscale("log")
    ax.set_title("alloc+write+free pairs (lower is better)", fontsize=10)
    ax.set_xlabel("object size", fontsize=8)
    ax.set_ylabel("ns per pair", fontsize=8)
    ax.grid(which="both", alpha=0.3)


PIPES = ("pipeline", "pipeline_prefetch", "pipeline_bulk")


def pipe_label(w, p):
    return {"pipeline": "per object", "pipeline_prefetch": "prefetch",
            "pipeline_bulk": "bulk"}.get(w, w) + "\n%s B records" % p


def panel_pipeline(ax, rows):
    """Pipeline throughput bars, with the ring alone as a dashed line."""
    panel_bars(ax, rows, PIPES,
               "pipeline: alloc+write on lcore A, read+free on B "
               "(higher is better)", "Mobjects/s", False, log=True,
               scale=1e6, label=pipe_label, unit="ops/s")
    ring = [r for r in rows if r["workload"] == "pipeline" and
            r["allocator"] == "ring_only" and r["unit"] == "ops/s"]
    if ring:
        ax.axhline(ring[0]["median"] / 1e6, color="black", linestyle="--",
                   linewidth=1, label="ring alone")


def panel_pipeline_cycles(ax, rows):
    """The pipeline consumer's busy cycles per object."""
    panel_bars(ax, rows, PIPES,
               "pipeline consumer: cycles per record read and freed "
               "(lower is better)", "cycles per object", False, log=True,
               label=pipe_label, unit="cycles/obj")
    ring = [r for r in rows if r["workload"] == "pipeline" and
            r["allocator"] == "ring_only" and r["unit"] == "cycles/obj"]
    if ring:
        ax.axhline(ring[0]["median"], color="black", linestyle="--",
                   linewidth=1, label="ring alone")


def panel_scaling(ax, rows, workload, title):
    """Total churn throughput against the number of lcores."""
    sel = [r for r in rows if r["workload"] == workload]
    if not sel:
        ax.set_visible(False)
        return
    for name in allocators(sel):
        pts = sorted((int(r["param"]), r["median"] / 1e6,
                      r["min"] / 1e6, r["max"] / 1e6)
                     for r in sel if r["allocator"] == name)
        xs = [p[0] for p in pts]
        ax.errorbar(xs, [p[1] for p in pts],
                    yerr=[[p[1] - p[2] for p in pts],
                          [p[3] - p[1] for p in pts]],
                    marker="o", markersize=3, capsize=2, linewidth=1.2,
                    color=COLOURS.get(name, None), label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({int(r["param"]) for r in sel}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("lcores", fontsize=8)
    ax.set_ylabel("total Mops/s", fontsize=8)
    ax.grid(which="both", alpha=0.3)


def panel_footprint(ax, rows):
    """Reserved/live on the mixed workload: mean and peak per allocator."""
    sel = [r for r in rows if r["workload"] == "footprint"]
    if not sel:
        ax.set_visible(False)
        return
    names = list(OrderedDict.fromkeys(r["allocator"] for r in sel
                                      if r["unit"] == "ratio_mean"))
    for i, unit in enumerate(("ratio_mean", "ratio_peak")):
        vals = []
        for name in names:
            m = [r["median"] for r in sel
                 if r["allocator"] == name and r["unit"] == unit]
            vals.append(m[0] if m else 0.0)
        ax.bar([g - 0.2 + 0.4 * i for g in range(len(names))], vals, 0.4,
               color=[COLOURS.get(n, "#bbbbbb") for n in names],
               alpha=1.0 if i == 0 else 0.5, edgecolor="black",
               label=unit.replace("ratio_", "") + " over the run")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, fontsize=7)
    ax.set_title("footprint: reserved / live bytes, 8 lcores, mixed sizes "
                 "(lower is better; dark: mean, light: peak)", fontsize=10)
    ax.set_ylabel("reserved / live", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--title", default="dpmalloc vs. alternatives (dpm_perf)")
    args = ap.parse_args()

    rows = load(args.csv)
    if not rows:
        sys.exit("bench_chart: %s has no rows" % args.csv)
    fig, axes = plt.subplots(5, 2, figsize=(16, 26))
    ax = axes.flatten()
    panel_pairs(ax[0], rows)
    panel_bars(ax[1], rows, ("batch_lifo", "batch_fifo", "bulk_lifo",
                             "bulk_fifo", "burst"),
               "batches of 64 (per object, bulk) and bursts of 400-1600 "
               "(lower is better)", "ns per object", True,
               label=lambda w, p: "%s\n%s B" % (w.replace("_", " "), p))
    panel_bars(ax[2], rows, ("churn",),
               "churn: random replacement in a live set (lower is better)",
               "ns per free+alloc", True,
               label=lambda w, p: "sizes %s B" % p)
    panel_bars(ax[3], rows, ("false_sharing",),
               "passive false sharing: 2 lcores, 1 B objects (lower is better)",
               "ms", False, log=True, scale=1e-3,
               label=lambda w, p: "%s B objects" % p)
    panel_pipeline(ax[4], rows)
    panel_pipeline_cycles(ax[5], rows)
    panel_scaling(ax[6], rows, "scaling", "scaling: churn on N lcores, "
                  "1 free in 8 on another lcore (higher is better)")
    panel_scaling(ax[7], rows, "scaling_local", "scaling: churn on N lcores, "
                  "every free local (higher is better)")
    panel_footprint(ax[8], rows)
    ax[9].set_visible(False)
    # One legend for all panels: every allocator (and the ring) once.
    handles, labels = [], []
    for a in ax[:8]:
        if not a.get_visible():
            continue
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if labels:
        fig.legend(handles, labels, loc="upper center",
                   ncol=min(len(labels), 11), fontsize=9,
                   bbox_to_anchor=(0.5, 0.965))
    fig.suptitle(args.title, fontsize=13)
    fig.text(0.5, 0.005, "medians of repeated runs; whiskers: min..max; "
             "source: %s" % args.csv, ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.01, 1, 0.94))
    fig.savefig(args.png, dpi=100)
    print("bench_chart: wrote %s" % args.png)


if __name__ == "__main__":
    main()
