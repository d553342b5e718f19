"""Line coverage per subsystem that a set of corpora reaches, with the coverage preset's
builds of the fuzz targets (clang source-based coverage)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import coverage_summary  # noqa: E402  (scripts/coverage_summary.py)


def measure(root, coverage_bin_dir, corpora, scratch, profdata_tool, cov_tool):
    """corpora: {target: [folders]}. Returns {"src/<S>/": [lines, covered]} or raises."""
    scratch = Path(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    profiles = scratch / "profiles"
    profiles.mkdir(parents=True)
    objects = []
    for target, folders in corpora.items():
        binary = Path(coverage_bin_dir) / f"{target}_fuzzer"
        folders = [str(f) for f in folders if Path(f).is_dir()]
        if not folders:
            continue
        objects.append(str(binary))
        env = {"LLVM_PROFILE_FILE": str(profiles / f"{target}-%p-%m.profraw")}
        with open(scratch / f"replay-{target}.log", "w") as log:
            # A failing input stops the replay early; the coverage counts what ran.
            subprocess.run([str(binary), "-runs=0"] + folders, stdout=log,
                           stderr=subprocess.STDOUT, env={**os.environ, **env}, timeout=3600)
    raws = sorted(str(p) for p in profiles.glob("*.profraw"))
    if not raws:
        raise RuntimeError(f"no coverage profiles were written under {profiles}")
    merged = scratch / "merged.profdata"
    subprocess.run([profdata_tool, "merge", "-sparse", *raws, "-o", str(merged)], check=True)
    command = [cov_tool, "export", "-summary-only", f"-instr-profile={merged}", objects[0]]
    for extra in objects[1:]:
        command += ["-object", extra]
    command.append(str(Path(root) / "src"))
    export = subprocess.run(command, check=True, stdout=subprocess.PIPE).stdout
    totals = coverage_summary.per_subsystem(json.loads(export), root)
    return {name: list(v) for name, v in sorted(totals.items())}
