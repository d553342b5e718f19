"""Findings: crashing, hanging or memory-hungry inputs, deduplicated by stack signature.

Every input a worker reports goes through triage():
  1. its report is parsed (from the worker's log, or by running it again with the libFuzzer
     build when another engine found it) into a kind and a signature (crash_report.py);
  2. a signature seen before only counts one more hit: nothing is minimized or stored again;
  3. a new one is first compared with the committed regression inputs that still fail (the
     bug may be known and not fixed yet); otherwise the input is minimized with libFuzzer's
     -minimize_crash, the result is kept only if it still fails with the same signature; a
     small result is then made 1-minimal (no single byte can be deleted and still fail the
     same way: libFuzzer's random deletions do not promise that, and under load its few
     seconds may run out before the last byte goes); it is stored once as
     <corpus>/<target>/regressions/<sha1[:12]>.
The store (findings.json in the fuzz output folder) keeps, per signature: kind, frames, count,
first and last time seen, the stored input and the command that reproduces it.
"""
import datetime
import hashlib
import json
import subprocess
import threading
import time
from pathlib import Path

from . import crash_report

# A finding's reproduction run may take the target's timeout plus this much (startup, report).
REPRODUCE_SLACK_S = 30
# Inputs up to this size get the byte-by-byte deletion pass after libFuzzer's minimization
# (a run per byte and per pass).
ONE_MINIMAL_MAX_BYTES = 64


def now_text():
    return datetime.datetime.now().isoformat(timespec="seconds")


def run_input(target, path, extra=(), limit_s=None):
    """Runs the libFuzzer build on one input; returns (exit status, combined output)."""
    command = [str(target.binary)] + target.limit_flags() + list(extra) + [str(path)]
    limit = limit_s or target.timeout_s + REPRODUCE_SLACK_S
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=limit)
        return done.returncode, done.stdout.decode("utf-8", errors="replace")
    except subprocess.TimeoutExpired as e:
        out = (e.output or b"").decode("utf-8", errors="replace")
        return "killed", out + f"\n(reproduction killed after {limit}s)\n"


class Store:
    """findings.json: {signature ident: record}. Thread-safe; saved after every change."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.Lock()
        try:
            self.records = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.records = {}

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.records, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)

    def get(self, ident):
        with self.lock:
            return self.records.get(ident)

    def hit(self, ident, run_id):
        """One more sighting of a known finding; returns its record."""
        with self.lock:
            record = self.records[ident]
            record["count"] += 1
            record["last_seen"] = now_text()
            record.setdefault("runs", {})
            record["runs"][run_id] = record["runs"].get(run_id, 0) + 1
            self.save()
            return dict(record)

    def add(self, ident, record, run_id):
        with self.lock:
            record.update(count=1, first_seen=now_text(), last_seen=now_text(),
                          runs={run_id: 1})
            self.records[ident] = record
            self.save()
            return dict(record)


class Triage:
    """Turns failing inputs of one target into findings (see the module comment)."""

    def __init__(self, target, store, root, run_id, scratch, minimize_s, log):
        self.target = target
        self.store = store
        self.root = str(root)
        self.run_id = run_id
        self.scratch = Path(scratch)
        self.minimize_s = minimize_s
        self.log = log                  # callable(str): progress messages
        self.lock = threading.Lock()    # one triage at a time per target
        self.unreproduced = []          # inputs an engine reported that did not fail here
        self._failing_regressions = None

    def triage(self, artifact, report_text=None, engine="libfuzzer"):
        """Files one failing input; returns (ident, record, is_new), or (None, None, False)
        when it does not fail when run again."""
        with self.lock:
            report = crash_report.parse(report_text, self.root) if report_text else None
            if report is None:
                _, out = run_input(self.target, artifact)
                report = crash_report.parse(out, self.root)
            if report is None:
                self.unreproduced.append(str(artifact))
                self.log(f"{self.target.name}: {engine} reported {artifact} but it does not fail"
                         " with the libFuzzer build; kept in the run folder, not filed")
                return None, None, False
            ident = report.ident()
            if self.store.get(ident):
                return ident, self.store.hit(ident, self.run_id), False
            record = {"target": self.target.name, "kind": report.kind, "detail": report.detail,
                      "frames": report.frames, "message": report.message,
                      "signature": report.signature(), "engine": engine}
            known = self._committed_with(ident)
            if known:
                record.update(stored=str(known), already_committed=True,
                              reproduce=self.target.reproduce_command(known, self.root))
                self.log(f"{self.target.name}: {report.kind} {ident} is the known regression "
                         f"input {known} (still failing)")
                return ident, self.store.add(ident, record, self.run_id), True
            stored, original, minimized = self._minimize_and_store(Path(artifact), ident)
            record.update(stored=str(stored), original_bytes=original, minimized_bytes=minimized,
                          reproduce=self.target.reproduce_command(stored, self.root))
            self.log(f"{self.target.name}: NEW {report.kind} {ident}: {report.signature()}")
            self.log(f"{self.target.name}:   stored {stored} ({original} -> {minimized} bytes);"
                     f" reproduce: {record['reproduce']}")
            return ident, self.store.add(ident, record, self.run_id), True

    def _committed_with(self, ident):
        """The committed regression input that fails with signature `ident`, if any."""
        if self._failing_regressions is None:
            self._failing_regressions = {}
            inputs = sorted(p for p in self.target.regressions_dir.glob("*") if p.is_file()) \
                if self.target.regressions_dir.is_dir() else []
            if inputs:
                rc, _ = run_input(self.target, self.target.regressions_dir, ["-runs=0"],
                                  limit_s=self.target.timeout_s * len(inputs) + REPRODUCE_SLACK_S)
                if rc != 0:  # some still fail: which, and how
                    for path in inputs:
                        _, out = run_input(self.target, path)
                        report = crash_report.parse(out, self.root)
                        if report:
                            self._failing_regressions[report.ident()] = path
        return self._failing_regressions.get(ident)

    def _minimize_and_store(self, artifact, ident):
        original = artifact.stat().st_size
        self.scratch.mkdir(parents=True, exist_ok=True)
        minimized = self.scratch / f"minimized-{ident}"
        chosen = artifact
        command_extra = ["-minimize_crash=1", f"-max_total_time={self.minimize_s}",
                         f"-exact_artifact_path={minimized}"]
        self.log(f"{self.target.name}: minimizing {artifact.name} ({original} bytes,"
                 f" at most {self.minimize_s}s)")
        # Non-zero also when nothing smaller fails; the file tells what happened.
        _, out = run_input(self.target, artifact, command_extra,
                           limit_s=self.minimize_s + self.target.timeout_s + REPRODUCE_SLACK_S)
        (self.scratch / f"minimize-{ident}.log").write_text(out, encoding="utf-8")
        if minimized.is_file() and minimized.stat().st_size < original:
            _, out = run_input(self.target, minimized)
            again = crash_report.parse(out, self.root)
            if again is not None and again.ident() == ident:
                chosen = minimized
        data = self._delete_bytes_while_failing(chosen.read_bytes(), ident)
        dest_dir = self.target.regressions_dir
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / hashlib.sha1(data).hexdigest()[:12]
        if not dest.exists():
            dest.write_bytes(data)
        return dest, original, len(data)

    def _delete_bytes_while_failing(self, data, ident):
        """Deletes single bytes from a small failing input for as long as what is left fails
        with signature `ident`, within the minimization time; returns the shortest input
        found."""
        if len(data) > ONE_MINIMAL_MAX_BYTES:
            return data
        deadline = time.monotonic() + self.minimize_s
        candidate_path = self.scratch / f"candidate-{ident}"
        before = len(data)
        changed = True
        # Passes until one deletes nothing: a deletion can make an earlier byte unneeded.
        while changed and len(data) > 1:
            changed = False
            i = 0
            while i < len(data) and len(data) > 1:
                if time.monotonic() >= deadline:
                    changed = False
                    break
                candidate = data[:i] + data[i + 1:]
                candidate_path.write_bytes(candidate)
                _, out = run_input(self.target, candidate_path)
                report = crash_report.parse(out, self.root)
                if report is not None and report.ident() == ident:
                    data, changed = candidate, True  # byte i was not needed; try the next one there
                else:
                    i += 1
        candidate_path.unlink(missing_ok=True)
        if len(data) < before:
            self.log(f"{self.target.name}:   deleting single bytes: {before} -> {len(data)}")
        return data
