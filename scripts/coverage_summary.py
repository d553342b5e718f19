#!/usr/bin/env python3
"""Line coverage per subsystem from `llvm-cov export -summary-only` JSON on stdin.

A subsystem is a folder src/<S>/; its files' line counts are summed (nested folders
included). Files directly in src/ are reported as src/. Usage:
  llvm-cov export -summary-only ... | coverage_summary.py --root REPO
"""
import argparse
import json
import os
import sys


def subsystem(path, src):
    rel = os.path.relpath(os.path.realpath(path), src)
    if rel.startswith(".."):
        return None
    parts = rel.split(os.sep)
    return "src/" if len(parts) == 1 else f"src/{parts[0]}/"


def per_subsystem(export, root):
    """{"src/<S>/": (lines, covered lines)} from llvm-cov's export JSON."""
    src = os.path.realpath(os.path.join(root, "src"))
    totals = {}
    for data in export.get("data", []):
        for f in data.get("files", []):
            name = subsystem(f["filename"], src)
            if name is None:
                continue
            lines = f["summary"]["lines"]
            count, covered = totals.get(name, (0, 0))
            totals[name] = (count + lines["count"], covered + lines["covered"])
    return totals


def percent(count, covered):
    return 100.0 * covered / count if count else 100.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="repository root")
    args = parser.parse_args()
    totals = per_subsystem(json.load(sys.stdin), args.root)
    if not totals:
        print("  (no files under src/ in the coverage data)")
        return 1
    width = max(len(name) for name in totals)
    for name in sorted(totals):
        count, covered = totals[name]
        print(f"  {name.ljust(width)}  {percent(count, covered):6.2f}%  ({covered}/{count} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
