#!/usr/bin/env python3
"""Report table for ./suite fuzz.

Arguments: build/fuzz/logs/<T>.summary files (key=value lines written by scripts/fuzz.sh).
Each names its libFuzzer log, from which come total execs and average exec/s (the
-print_final_stats lines stat::number_of_executed_units / stat::average_exec_per_sec) and
the final cov and ft (the last status line). Without final stats (-fork runs, crashes) the
last status line stands in.
"""
import re
import sys

STATUS = re.compile(
    r"^#(?P<execs>\d+):?\s+(?:\w+\s+)?cov: (?P<cov>\d+) ft: (?P<ft>\d+).*?exec/s:? (?P<eps>\d+)"
)
STAT = re.compile(r"^stat::(\w+):\s*(\d+)")


def read_summary(path):
    summary = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                summary[key] = value
    return summary


def parse_log(path):
    last, stats = None, {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = STATUS.match(line)
                if m:
                    last = m
                    continue
                m = STAT.match(line)
                if m:
                    stats[m.group(1)] = int(m.group(2))
    except FileNotFoundError:
        pass
    row = {"execs": None, "eps": None, "cov": None, "ft": None}
    if last:
        row.update(execs=int(last["execs"]), eps=int(last["eps"]),
                   cov=int(last["cov"]), ft=int(last["ft"]))
    if "number_of_executed_units" in stats:
        row["execs"] = stats["number_of_executed_units"]
    if "average_exec_per_sec" in stats:
        row["eps"] = stats["average_exec_per_sec"]
    return row


def num(value):
    return "-" if value is None else f"{value:,}"


def main(paths):
    if not paths:
        sys.exit("usage: fuzz_report.py SUMMARY...")
    header = ("target", "seconds", "execs", "exec/s", "cov", "ft", "corpus", "crashes", "result")
    rows = []
    for path in paths:
        try:
            s = read_summary(path)
        except FileNotFoundError:
            rows.append((path, "-", "-", "-", "-", "-", "-", "-", "no summary (run aborted?)"))
            continue
        r = parse_log(s.get("log", ""))
        rows.append((s.get("target", "?"), s.get("seconds", "-"), num(r["execs"]),
                     num(r["eps"]), num(r["cov"]), num(r["ft"]),
                     s.get("corpus_files", "-"), s.get("crashes_stored", "-"),
                     s.get("status", "?")))
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    for n, row in enumerate([header] + rows):
        cells = [str(c).ljust(w) if i in (0, len(header) - 1) else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main(sys.argv[1:])
