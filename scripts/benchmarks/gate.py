"""The regression gate: Google Benchmark's own compare.py (Debian libbenchmark-tools) compares
a baseline with a new run, repetition by repetition, with its two-sided Mann-Whitney U test
(scipy). A bench of ours fails the gate when its median time is more than `threshold` slower
than the baseline's and the U test's p-value is below `alpha`. The time is the one the bench
measures: real time for benches that use it (real_time in the name: multi-threaded ones), CPU
time for the others, which on a loaded machine keeps the time a process spends waiting for a
core out of a single-threaded bench. Peers (glibc, memcpy...) are reported but never fail
it: when a peer moves, the machine did.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from . import names

COMPARE_PY = Path("/usr/share/benchmark/compare.py")


def run_compare(base, now):
    """compare.py's table (text) and its JSON difference report."""
    if not COMPARE_PY.is_file():
        raise FileNotFoundError(f"{COMPARE_PY} is missing (Debian package libbenchmark-tools)")
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "diff.json"
        done = subprocess.run([sys.executable, str(COMPARE_PY), "-a", "--no-color", "-d",
                               str(dump), "benchmarks", str(base), str(now)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text = done.stdout.decode("utf-8", errors="replace")
        if done.returncode != 0 or not dump.is_file():
            raise RuntimeError(f"compare.py failed (exit {done.returncode}):\n{text}")
        return text, json.loads(dump.read_text())


def verdicts(diff, threshold, alpha):
    """One row per benchmark compared: name, ours, change (+0.10 = 10% slower), p-value,
    repetitions, and verdict: "slower", "faster", "same", or "untested" (no U test)."""
    medians = {d["name"]: d for d in diff if d.get("aggregate_name") == "median"}
    rows = []
    for d in diff:
        if d.get("run_type") == "aggregate" or d["name"] == "OVERALL_GEOMEAN":
            continue
        real = names.uses_real_time(d["name"])
        field = "time" if real else "cpu"
        median = medians.get(d["name"] + "_median")
        if median:
            change = median["measurements"][0][field]
        else:
            changes = [m[field] for m in d["measurements"]]
            change = sum(changes) / len(changes)
        utest = d.get("utest") or {}
        p = utest.get("time_pvalue" if real else "cpu_pvalue")
        if p is None:
            verdict = "untested"
        elif p < alpha and change > threshold:
            verdict = "slower"
        elif p < alpha and change < -threshold:
            verdict = "faster"
        else:
            verdict = "same"
        rows.append({"name": d["name"], "ours": names.parse(d["name"]).ours or
                     not names.parse(d["name"]).impl, "metric": "real" if real else "cpu",
                     "change": change, "p": p,
                     "reps": (utest.get("nr_of_repetitions"), utest.get("nr_of_repetitions_other")),
                     "verdict": verdict})
    return rows


def report(rows, threshold, alpha, baseline_label):
    """The gate's verdict as text, and whether it failed."""
    out = []
    failed = [r for r in rows if r["ours"] and r["verdict"] == "slower"]

    def line(r):
        reps = f"{r['reps'][0]} vs {r['reps'][1]}" if r["reps"][0] else "-"
        p = f"{r['p']:.4f}" if r["p"] is not None else "-"
        return (f"  {r['name']:<64} {r['change'] * 100:+7.1f}% {r['metric']:>4} time  p={p}"
                f"  repetitions {reps}")

    out.append(f"\ngate: a bench of ours fails when its median time (real time for real_time"
               f" benches, else CPU time) is more than {threshold * 100:.0f}% slower than"
               f" {baseline_label} and compare.py's Mann-Whitney U test gives p < {alpha}")
    for title, pick in (("SLOWER (fails the gate)", lambda r: r["ours"] and r["verdict"] == "slower"),
                        ("faster", lambda r: r["ours"] and r["verdict"] == "faster"),
                        ("peers that moved (not gated: the machine did)",
                         lambda r: not r["ours"] and r["verdict"] in ("slower", "faster"))):
        chosen = [r for r in rows if pick(r)]
        if chosen:
            out.append(f"{title}:")
            out += [line(r) for r in chosen]
    untested = [r for r in rows if r["verdict"] == "untested"]
    if untested:
        out.append(f"without a U test (fewer than 2 repetitions on a side): {len(untested)} benches")
    gated = sum(1 for r in rows if r["ours"])
    out.append(f"gate: {'FAILED' if failed else 'passed'}: {len(failed)} of {gated} benches of ours"
               f" slower ({len(rows)} compared)")
    return "\n".join(out) + "\n", bool(failed)
