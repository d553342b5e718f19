#!/usr/bin/env python3
"""Runs ./suite fuzz once the binaries are built: every target in turn on every worker, then
coverage, then the report. Exit status: 0 no finding, 1 findings, 3 the pipeline itself failed
(a worker or merge that could not run). See scripts/fuzzing/campaign.py for how a target is
fuzzed and scripts/fuzzing/findings.py for how findings are filed.
"""
import argparse
import datetime
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import campaign, corpus_coverage, findings, report  # noqa: E402
from fuzzing.progress import Progress  # noqa: E402
from fuzzing.targets import Target  # noqa: E402

KEEP_RUNS = 10


@dataclass
class Settings:
    root: Path
    run_dir: Path
    work_root: Path
    run_id: str
    seconds: int
    jobs: int
    engine: str
    merge_every_s: int
    minimize_s: int


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, type=Path, help="repository root")
    p.add_argument("--out", required=True, type=Path, help="output folder (build/fuzz)")
    p.add_argument("--corpus", required=True, type=Path, help="holds <target>/{seed,regressions}")
    p.add_argument("--bin-dir", required=True, type=Path, help="libFuzzer builds <target>_fuzzer")
    p.add_argument("--config-dir", action="append", type=Path, default=[],
                   help="where <target>.options and <target>.dict are (first match wins)")
    p.add_argument("--afl-bin-dir", type=Path, help="AFL++ builds, for --engine afl")
    p.add_argument("--coverage-bin-dir", type=Path, help="coverage builds; none: no coverage")
    p.add_argument("--profdata", default="llvm-profdata")
    p.add_argument("--cov", default="llvm-cov")
    p.add_argument("--build-dir", type=Path, help="CMake build folder described in the report")
    p.add_argument("--seconds", required=True, type=int, help="total budget, split over targets")
    p.add_argument("--jobs", required=True, type=int)
    p.add_argument("--engine", choices=("libfuzzer", "afl"), default="libfuzzer")
    p.add_argument("--minimize-seconds", type=int, default=120)
    p.add_argument("--merge-every", type=int, help="seconds between corpus merges")
    p.add_argument("targets", nargs="+")
    return p.parse_args()


def prune_runs(runs_dir):
    runs = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    for old in runs[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)


def main():
    a = parse_args()
    root = a.root.resolve()
    run_id = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = a.out / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    per_target = a.seconds // len(a.targets)
    settings = Settings(root=root, run_dir=run_dir, work_root=a.out / "corpus-work",
                        run_id=run_id, seconds=per_target, jobs=a.jobs, engine=a.engine,
                        merge_every_s=a.merge_every or campaign.merge_interval(per_target),
                        minimize_s=a.minimize_seconds)
    store = findings.Store(a.out / "findings.json")
    progress = Progress()
    config_dirs = a.config_dir or [root / "fuzz"]
    summaries = []
    interrupted = False
    for name in a.targets:
        target = Target.find(name, a.bin_dir, config_dirs, a.corpus, a.afl_bin_dir)
        progress.message(f"==> {name}: {a.engine}, {a.jobs} workers, {per_target} s, corpus"
                         f" merged every {settings.merge_every_s} s"
                         f" (logs: {run_dir / name / 'logs'})")
        summary = campaign.Campaign(target, settings, store, progress).run()
        (run_dir / name / "summary.json").write_text(json.dumps(summary, indent=1))
        summaries.append(summary)
        if summary["interrupted"]:
            interrupted = True
            break

    coverage = None
    if a.coverage_bin_dir and not interrupted:
        progress.message("==> line coverage of the committed and the working corpora")
        coverage = {}
        try:
            for key, dirs in (("committed", lambda t: [a.corpus / t / "seed",
                                                         a.corpus / t / "regressions"]),
                              ("after", lambda t: [settings.work_root / t])):
                coverage[key] = corpus_coverage.measure(
                    root, a.coverage_bin_dir, {t: dirs(t) for t in a.targets},
                    run_dir / f"coverage-{key}", a.profdata, a.cov)
        except Exception as e:  # the fuzzing results still get their report
            progress.message(f"coverage failed: {e}")
            for s in summaries:
                s["errors"].append(f"line coverage could not be measured: {e}")
            coverage = {}
        (run_dir / "coverage.json").write_text(json.dumps(coverage, indent=1))

    text = report.write(run_id, summaries, store, coverage, a.out / "report", root, a.build_dir)
    shutil.copy(a.out / "report" / "report.txt", run_dir / "report.txt")
    print()
    print(text, end="")
    prune_runs(a.out / "runs")
    if any(s["findings"] for s in summaries):
        return 1
    if interrupted or any(s["errors"] for s in summaries):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
