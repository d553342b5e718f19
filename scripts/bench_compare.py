#!/usr/bin/env python3
"""Compare two Google Benchmark JSON files: bench_compare.py BASELINE.json NOW.json

One row per benchmark: baseline real_time, now, change %. With --benchmark_repetitions the
"mean" aggregate is used when present, else the mean of the repetitions. Benchmarks present
in only one file are listed as new / gone. Times are shown in the unit that suits them.
"""
import json
import sys

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    """{benchmark name: real_time in ns}, in file order."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    means, reps = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        ns = float(b["real_time"]) * TO_NS[b.get("time_unit", "ns")]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "mean":
                means[name] = ns
        else:
            reps.setdefault(name, []).append(ns)
    times = {name: sum(v) / len(v) for name, v in reps.items()}
    times.update(means)
    return times


def fmt_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} BASELINE.json NOW.json")
    base, now = load(argv[1]), load(argv[2])
    names = list(base) + [n for n in now if n not in base]
    rows = []
    for name in names:
        b, n = base.get(name), now.get(name)
        if b is None:
            rows.append((name, "-", fmt_ns(n), "new"))
        elif n is None:
            rows.append((name, fmt_ns(b), "-", "gone"))
        else:
            change = (n - b) / b * 100 if b else 0.0
            rows.append((name, fmt_ns(b), fmt_ns(n), f"{change:+.1f}%"))
    header = ("benchmark", "baseline", "now", "change")
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(4)]
    for i, row in enumerate([header] + rows):
        print("  ".join([row[0].ljust(widths[0])] +
                        [c.rjust(w) for c, w in zip(row[1:], widths[1:])]))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if not rows:
        print("(no benchmarks in either file)")


if __name__ == "__main__":
    main(sys.argv)
