#!/usr/bin/env python3
"""Writes the HTML bench report (index.html) from Google Benchmark JSON files and prints the
ratio table. See benchmarks/report.py for what it shows.

  bench_report.py --out DIR --root REPO [--build-dir DIR] [--note TEXT] RESULT.json...
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks import report, results  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--root", required=True, type=Path)
    p.add_argument("--build-dir", type=Path)
    p.add_argument("--note", default="")
    p.add_argument("files", nargs="+", type=Path)
    a = p.parse_args()
    found, contexts, errors = results.load(a.files)
    if not found:
        print("bench_report: no benchmark results in " + " ".join(map(str, a.files)),
              file=sys.stderr)
        return 1
    page, text = report.render(found, contexts, errors, a.root, a.build_dir, a.note)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "index.html").write_text(page, encoding="utf-8")
    (a.out / "ratios.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"\nreport: {a.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
