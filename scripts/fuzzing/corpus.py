"""The working corpus of a target: a folder of inputs all workers read and write.

It starts as the committed seed and regression inputs and is kept minimal by libFuzzer's
-merge=1 (the smallest set of inputs with the features of all of them). Merging runs each
input in a child process that is restarted after a crash, so inputs that crash, hang or
exhaust memory never enter the working corpus (they would stop every worker at startup).
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

from . import libfuzzer_output


def files(folder):
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_file()]


def size(folder):
    """(number of inputs, total bytes) directly in folder."""
    entries = files(folder)
    return len(entries), sum(p.stat().st_size for p in entries)


def _snapshot(work, snapshot):
    """Hard links of work's files in `snapshot`: a view that stays whole while workers delete
    inputs they have reduced (libFuzzer's -reduce_inputs) from the live folder."""
    shutil.rmtree(snapshot, ignore_errors=True)
    snapshot.mkdir(parents=True)
    for p in files(work):
        try:
            os.link(p, snapshot / p.name)
        except FileNotFoundError:
            continue  # deleted by a worker just now
        except OSError:
            try:
                shutil.copyfile(p, snapshot / p.name)
            except FileNotFoundError:
                continue
    return {p.name for p in files(snapshot)}


def merge(target, work, sources, log_path, limit_s=None):
    """Makes `work` the -merge=1 minimization of work + sources, in place, so that workers
    fuzzing from it may keep running. The merge reads a snapshot of work (hard links); then the
    inputs of the snapshot it leaves out are removed from work, and the new inputs it takes
    from `sources` are added. Inputs workers add meanwhile stay; inputs they delete meanwhile
    stay deleted. Inputs are named by the SHA-1 of their content (libFuzzer names both the ones
    it writes and the merge's output that way), so a name is a content.

    Returns {"cov", "ft", "files", "bytes", "seconds"} for the merged corpus, or None when the
    merge failed (then `work` is left as it was and the log says why)."""
    work = Path(work)
    fresh = work.with_name(f".{work.name}.merging")
    snapshot = work.with_name(f".{work.name}.snapshot")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    work.mkdir(parents=True, exist_ok=True)
    before = _snapshot(work, snapshot)
    inputs = [str(snapshot)] + [str(s) for s in sources if Path(s).is_dir()]
    start = time.monotonic()
    command = [str(target.binary), "-merge=1"] + target.options + [str(fresh)] + inputs
    with open(log_path, "w", encoding="utf-8", errors="replace") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        try:
            rc = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                timeout=limit_s).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    text = Path(log_path).read_text(encoding="utf-8", errors="replace")
    coverage = libfuzzer_output.parse_merge(text)
    if rc != 0 or coverage is None:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(snapshot, ignore_errors=True)
        return None
    kept = {p.name for p in files(fresh)}
    for name in before - kept:
        (work / name).unlink(missing_ok=True)
    for name in kept - before:
        if not (work / name).exists():
            shutil.copyfile(fresh / name, work / name)
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(snapshot, ignore_errors=True)
    count, total = size(work)
    return dict(coverage, files=count, bytes=total, seconds=round(time.monotonic() - start, 1))
