#!/usr/bin/env python3
"""Prints criterion results as a markdown table: each orderwire figure beside
its peer's from the same run, with the ratio (peer time / orderwire time).

Usage: scripts/bench_table.py GROUP [GROUP ...]   (after `cargo bench`)
Reads target/criterion/<group>/<function>/<param>/new/estimates.json and
reports medians, since these machines are noisy.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median_ns(path):
    data = json.loads((path / "new" / "estimates.json").read_text())
    return data["median"]["point_estimate"]


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.1f} ns"


def table(group):
    base = ROOT / group
    if not base.is_dir():
        sys.exit(f"no criterion results for {group} under {ROOT}")
    functions = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name != "report")
    ours = "orderwire"
    peers = [f for f in functions if f != ours]
    params = sorted((p.name for p in (base / ours).iterdir() if p.is_dir() and p.name != "report"),
                    key=lambda s: (len(s), s))
    elements = {}
    for param in params:
        bench = json.loads((base / ours / param / "new" / "benchmark.json").read_text())
        tp = bench.get("throughput") or {}
        elements[param] = tp.get("Elements")
    print(f"\n{group} (median time per iteration; ratio = peer / orderwire, higher is better for orderwire)\n")
    header = "| size | orderwire | " + " | ".join(peers) + " | " + " | ".join(f"ratio vs {p}" for p in peers) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(peers)))
    for param in params:
        mine = median_ns(base / ours / param)
        per = elements.get(param)
        row = [param + (f" (x{per} msgs)" if per else ""), fmt(mine) + (f" ({mine / per:.1f} ns/msg)" if per else "")]
        ratios = []
        for peer in peers:
            theirs = median_ns(base / peer / param)
            row.append(fmt(theirs) + (f" ({theirs / per:.1f} ns/msg)" if per else ""))
            ratios.append(f"{theirs / mine:.2f}x")
        print("| " + " | ".join(row + ratios) + " |")


for g in sys.argv[1:] or ["ws_decode", "ws_decode_batched", "ws_encode"]:
    table(g)
