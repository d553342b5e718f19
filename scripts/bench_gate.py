#!/usr/bin/env python3
"""./suite bench --compare: compare.py's table, then the gate (see benchmarks/gate.py).

  bench_gate.py --threshold PCT --alpha A --label TEXT BASELINE.json NOW.json [...pairs]

Exit 0 when no bench of ours is significantly slower, 1 when one is, 2 on a usage or tool
error."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks import gate  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threshold", type=float, default=10.0, help="percent (default 10)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--label", default="the baseline")
    p.add_argument("files", nargs="+", help="BASELINE.json NOW.json, one pair per bench binary")
    a = p.parse_args()
    if len(a.files) % 2:
        p.error("files come in pairs: BASELINE.json NOW.json")
    rows = []
    try:
        for base, now in zip(a.files[::2], a.files[1::2]):
            text, diff = gate.run_compare(base, now)
            print(f"compare.py benchmarks {base} {now}")
            print(text, end="")
            rows += gate.verdicts(diff, a.threshold / 100, a.alpha)
    except (OSError, RuntimeError) as e:
        print(f"bench_gate: {e}", file=sys.stderr)
        return 2
    text, failed = gate.report(rows, a.threshold / 100, a.alpha, a.label)
    print(text, end="")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
