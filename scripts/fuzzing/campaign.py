"""One target fuzzed on every worker for a time budget: the heart of ./suite fuzz.

libFuzzer engine: every worker is a libFuzzer process on the shared working corpus for the
whole budget (-reload=1: each picks up what the others add); a worker that stops on a finding
is triaged and restarted for the rest of the budget, so one bad input never stops the others.
Every merge interval the working corpus is merged in place (-merge=1) while the workers run;
each merge gives the union coverage of everything found so far.

AFL++ engine: one afl-fuzz instance per worker (-M for the first, -S for the rest) runs for the
whole budget from a copy of the working corpus; every merge interval their queues are merged
into the working corpus with the libFuzzer build, so both engines share one corpus and the
coverage points are in the same units. Crashes and hangs AFL++ saves are reproduced with the
libFuzzer build and triaged like libFuzzer's.
"""
import datetime
import os
import queue
import re
import shutil
import threading
import time
from pathlib import Path

from . import corpus, workers
from .findings import Triage

# A status sample is kept when this long has passed since the last one of the same worker.
SAMPLE_EVERY_S = 2.0
# Give up restarting a worker after this many exits in a row without a finding.
MAX_SILENT_FAILURES = 3
TICK_S = 0.25
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\)B")


def merge_interval(seconds):
    """An eighth of the budget, at least two minutes, at most half an hour (a merge re-runs
    the whole corpus on one core)."""
    return min(1800, max(120, seconds // 8))


class Campaign:
    def __init__(self, target, settings, store, progress):
        self.target = target
        self.s = settings
        self.store = store
        self.progress = progress
        self.dir = Path(settings.run_dir) / target.name
        self.logs = self.dir / "logs"
        self.artifacts = self.dir / "artifacts"
        for d in (self.logs, self.artifacts):
            d.mkdir(parents=True, exist_ok=True)
        self.work = Path(settings.work_root) / target.name
        self.lock = threading.Lock()
        self.samples = []            # {t, worker, execs, cov, ft, corp}
        self.merges = []             # {t, cov, ft, files, bytes, seconds}
        self.merge_count = 0
        self.merge_thread = None
        self.running = {}            # worker -> its engine process now
        self.incarnations = []       # finished libFuzzer processes
        self.errors = []
        self.found = {}              # ident -> hits in this run
        self.new = []                # idents first seen in this run
        self.live = {}               # worker -> {"execs", "cov", "ft", "corp"} now
        self.done_execs = {}         # worker -> execs of its finished incarnations
        self.last_sample_t = {}
        self.stopping = False
        self.triage = Triage(target, store, settings.root, settings.run_id,
                             self.dir / "minimize", settings.minimize_s, self.progress.message)
        self.triage_queue = queue.Queue()
        self.triage_thread = threading.Thread(target=self._triage_loop, daemon=True)
        self.t0 = None

    # ---- shared bookkeeping ------------------------------------------------------------------

    def now(self):
        return time.monotonic() - self.t0

    def _triage_loop(self):
        while True:
            item = self.triage_queue.get()
            if item is None:
                self.triage_queue.task_done()
                return
            artifact, text, engine = item
            try:
                ident, _, is_new = self.triage.triage(artifact, text, engine)
                if ident is not None:
                    with self.lock:
                        self.found[ident] = self.found.get(ident, 0) + 1
                        if is_new:
                            self.new.append(ident)
            except Exception as e:  # a triage failure must not stop the campaign
                with self.lock:
                    self.errors.append(f"triage of {artifact} failed: {e!r}")
            finally:
                self.triage_queue.task_done()

    def _merge(self, sources=()):
        with self.lock:
            number = self.merge_count
            self.merge_count += 1
        log = self.logs / f"merge-{number}.log"
        started = round(self.now(), 1)  # the union is that of the corpus when the merge began
        limit = max(1800, self.target.timeout_s * 4)
        result = corpus.merge(self.target, self.work, list(sources), log, limit_s=limit)
        with self.lock:
            if result is None:
                self.errors.append(f"merging the working corpus failed (log: {log})")
                return None
            result["t"] = started
            self.merges.append(result)
        return result

    def _merge_in_background(self, sources=()):
        """Starts a merge unless one still runs; the workers and this loop go on meanwhile."""
        if self.merge_thread is not None and self.merge_thread.is_alive():
            return
        self.merge_thread = threading.Thread(target=self._merge, args=(list(sources),),
                                             daemon=True)
        self.merge_thread.start()

    def _on_status(self, worker, status):
        with self.lock:
            execs = self.done_execs.get(worker, 0) + status["execs"]
            self.live[worker] = {"execs": execs, "cov": status["cov"], "ft": status["ft"],
                                 "corp": status.get("corp")}
            t = self.now()
            if (t - self.last_sample_t.get(worker, -1e9) >= SAMPLE_EVERY_S
                    or status["event"] in ("INITED", "DONE")):
                self.last_sample_t[worker] = t
                self.samples.append({"t": round(t, 2), "worker": worker, "execs": execs,
                                     "cov": status["cov"], "ft": status["ft"],
                                     "corp": status.get("corp")})

    def _show(self, deadline):
        with self.lock:
            live = dict(self.live)
            findings = sum(self.found.values())
            execs = sum(live[w]["execs"] if w in live else self.done_execs.get(w, 0)
                        for w in set(live) | set(self.done_execs))
        elapsed = time.monotonic() - self.fuzz_t0
        self.progress.update(self.target.name, time.monotonic() - self.fuzz_t0,
                             deadline - self.fuzz_t0, len(live), execs,
                             execs / elapsed if elapsed > 0 else 0,
                             max((v["cov"] for v in live.values()), default=0),
                             max((v["ft"] or 0 for v in live.values()), default=0),
                             max((v["corp"] or 0 for v in live.values()), default=0), findings)

    # ---- the run -------------------------------------------------------------------------------

    def run(self):
        started = datetime.datetime.now().isoformat(timespec="seconds")
        self.t0 = time.monotonic()
        self.wall_t0 = time.time()
        self.triage_thread.start()
        before_any = corpus.size(self.work)
        # The committed inputs join the working corpus (minimized, failing ones left out).
        first = self._merge(self.target.committed_dirs())
        before = corpus.size(self.work)
        interrupted = False
        # The budget is fuzzing time: it starts after the first merge.
        fuzz_start = self.fuzz_t0 = time.monotonic()
        try:
            if first is None:
                self.errors.append("the working corpus could not be built from the committed"
                                   " inputs; not fuzzing this target")
            else:
                if self.s.engine == "afl":
                    self._run_afl()
                else:
                    self._run_libfuzzer()
        except KeyboardInterrupt:
            interrupted = True
            self.stopping = True
            self.progress.message(f"{self.target.name}: interrupted; stopping the workers")
            self._stop_all()
        fuzz_seconds = time.monotonic() - fuzz_start
        self.progress.finish()
        self.triage_queue.join()
        self.triage_queue.put(None)
        if self.merge_thread is not None:
            self.merge_thread.join()
        self._merge(self._afl_queues() if self.s.engine == "afl" else ())
        after = corpus.size(self.work)
        return self._summary(started, fuzz_seconds, before_any, before, after, interrupted)

    def _stop_all(self):
        for proc in list(self.running.values()):
            rc = proc.stop()
            if isinstance(proc, workers.LibFuzzerIncarnation):
                self._finish_worker(proc, rc)  # its execs still count
        self.running = {}

    # ---- libFuzzer -----------------------------------------------------------------------------

    def _run_libfuzzer(self):
        deadline = self.fuzz_t0 + self.s.seconds
        self.running = {w: self._start_worker(w, deadline) for w in range(self.s.jobs)}
        silent_failures = {w: 0 for w in range(self.s.jobs)}
        hard_stop = deadline + self.target.timeout_s + 15
        next_merge = time.monotonic() + self.s.merge_every_s
        while self.running:
            time.sleep(TICK_S)
            self._show(deadline)
            for worker, proc in list(self.running.items()):
                rc = proc.poll()
                if rc is None:
                    if time.monotonic() <= hard_stop:
                        continue
                    self.errors.append(f"worker {worker} ran past its time; killed")
                    rc = proc.stop()
                del self.running[worker]
                had_finding = self._finish_worker(proc, rc)
                if rc != 0 and not had_finding:
                    silent_failures[worker] += 1
                    tail = proc.text().splitlines()[-15:]
                    self.errors.append(f"worker {worker} exited with status {rc} and no finding"
                                       f" ({proc.log_path}):\n    " + "\n    ".join(tail))
                    if silent_failures[worker] >= MAX_SILENT_FAILURES:
                        self.errors.append(f"worker {worker}: {MAX_SILENT_FAILURES} failures in a"
                                           " row without a finding; not restarted")
                        continue
                else:
                    silent_failures[worker] = 0
                if not self.stopping and deadline - time.monotonic() >= 1:
                    self.running[worker] = self._start_worker(worker, deadline)
            now = time.monotonic()
            if self.running and now >= next_merge and deadline - now > self.s.merge_every_s / 2:
                self._merge_in_background()
                next_merge = now + self.s.merge_every_s

    def _start_worker(self, worker, deadline):
        number = sum(1 for i in self.incarnations if i["worker"] == worker) + 1
        remaining = max(1, int(deadline - time.monotonic()))
        prefix = self.artifacts / f"w{worker}.{number}-"
        command = ([self.target.binary] + self.target.fuzz_flags() +
                   [f"-max_total_time={remaining}", "-print_final_stats=1", "-reload=1",
                    f"-artifact_prefix={prefix}", self.work])
        log = self.logs / f"w{worker}.{number}.log"
        return workers.LibFuzzerIncarnation(worker, number, command, log, prefix,
                                            self._on_status)

    def _finish_worker(self, proc, rc):
        found = proc.artifacts()
        executed = proc.executed()
        with self.lock:
            self.done_execs[proc.worker] = self.done_execs.get(proc.worker, 0) + executed
            self.live.pop(proc.worker, None)
            t = round(proc.ended - self.t0, 2)
            self.samples.append({"t": t, "worker": proc.worker,
                                 "execs": self.done_execs[proc.worker],
                                 "cov": proc.last_status["cov"] if proc.last_status else None,
                                 "ft": proc.last_status["ft"] if proc.last_status else None,
                                 "corp": None})
        self.incarnations.append({
            "worker": proc.worker, "number": proc.number, "start": round(proc.started - self.t0, 2),
            "end": t, "execs": executed, "rc": rc,
            "findings": len(found), "log": str(proc.log_path)})
        if found:
            text = proc.text()
            for artifact in found:
                self.triage_queue.put((artifact, text, "libfuzzer"))
        return bool(found)

    # ---- AFL++ ---------------------------------------------------------------------------------

    def _afl_dir(self):
        return self.dir / "afl"

    def _afl_queues(self):
        return sorted(self._afl_dir().glob("w*/queue"))

    def _afl_env(self):
        env = dict(os.environ)
        rss = self.target.rss_limit_mb
        env.update({
            "AFL_NO_UI": "1", "AFL_SKIP_CPUFREQ": "1", "AFL_NO_AFFINITY": "1",
            "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1", "AFL_SHUFFLE_QUEUE": "0",
            # afl-fuzz insists on these two; the limits stand in for libFuzzer's -rss_limit_mb.
            "ASAN_OPTIONS": "abort_on_error=1:symbolize=0:detect_leaks=0:"
                            f"hard_rss_limit_mb={rss}:malloc_limit_mb={rss}",
            "UBSAN_OPTIONS": "halt_on_error=1:abort_on_error=1:symbolize=0",
            "LSAN_OPTIONS": "symbolize=0", "AFL_NO_COLOR": "1",
        })
        return env

    def _run_afl(self):
        if self.target.afl_binary is None or not self.target.afl_binary.is_file():
            self.errors.append(f"no AFL++ build of {self.target.name}: {self.target.afl_binary}")
            return
        seeds = self.dir / "afl-input"
        shutil.rmtree(seeds, ignore_errors=True)
        shutil.copytree(self.work, seeds)
        out = self._afl_dir()
        deadline = self.fuzz_t0 + self.s.seconds
        self.running = {}
        for w in range(self.s.jobs):
            role = ["-M", f"w{w}"] if w == 0 else ["-S", f"w{w}"]
            command = (["afl-fuzz", "-i", seeds, "-o", out] + role +
                       ["-V", str(max(1, int(deadline - time.monotonic()))),
                        "-t", str(self.target.timeout_s * 1000), "-m", "none"])
            if self.target.dict_path:
                command += ["-x", self.target.dict_path]
            command += ["--", self.target.afl_binary]
            self.running[w] = workers.Process(command, self.logs / f"afl-w{w}.log",
                                              env=self._afl_env())
        seen = set()
        next_merge = time.monotonic() + self.s.merge_every_s
        while self.running:
            time.sleep(1)
            self._afl_progress(out, deadline)
            self._afl_triage_new(out, seen)
            for w, proc in list(self.running.items()):
                rc = proc.poll()
                stopped = False
                if rc is None and time.monotonic() > deadline:
                    # -V counts from the end of AFL++'s calibration; the budget from our start.
                    rc = proc.stop(grace_s=30)
                    stopped = True
                if rc is not None:
                    del self.running[w]
                    if rc != 0 and not stopped:
                        tail = [ANSI.sub("", line) for line in proc.text().splitlines()[-15:]]
                        self.errors.append(f"afl-fuzz w{w} exited with status {rc}"
                                           f" ({proc.log_path}):\n    " + "\n    ".join(tail))
            now = time.monotonic()
            if self.running and now >= next_merge and deadline - now > self.s.merge_every_s / 2:
                self._merge_in_background(self._afl_queues())
                next_merge = now + self.s.merge_every_s
        self._afl_triage_new(out, seen)

    def _afl_triage_new(self, out, seen):
        for folder in ("crashes", "hangs"):
            for path in sorted(out.glob(f"w*/{folder}/id:*")):
                if path not in seen:
                    seen.add(path)
                    self.triage_queue.put((path, None, "afl++"))

    def _afl_progress(self, out, deadline):
        with self.lock:
            for w in range(self.s.jobs):
                stats = workers.read_afl_stats(out / f"w{w}" / "fuzzer_stats")
                if stats:
                    self.live[w] = {"execs": int(stats.get("execs_done", 0)),
                                    "cov": int(stats.get("edges_found", 0)), "ft": None,
                                    "corp": int(stats.get("corpus_count", 0))}
        self._show(deadline)

    def _afl_workers(self):
        rows, samples = [], []
        for w in range(self.s.jobs):
            inst = self._afl_dir() / f"w{w}"
            stats = workers.read_afl_stats(inst / "fuzzer_stats")
            if not stats:
                continue
            execs, seconds = int(stats.get("execs_done", 0)), int(stats.get("run_time", 0))
            rows.append({"worker": w, "execs": execs, "seconds": seconds,
                         "eps": execs / seconds if seconds else 0,
                         "afl_execs_per_sec": float(stats.get("execs_per_sec", 0)),
                         "edges_found": int(stats.get("edges_found", 0)),
                         "bitmap_cvg": stats.get("bitmap_cvg"), "restarts": 0})
            start = int(stats.get("start_time", 0))
            offset = start - self.wall_t0 if start else 0
            for row in workers.read_afl_plot(inst / "plot_data"):
                samples.append({"t": round(offset + row.get("relative_time", 0), 2),
                                "worker": w, "execs": int(row.get("total_execs", 0)),
                                "cov": int(row.get("edges_found", 0)), "ft": None,
                                "corp": int(row.get("corpus_count", 0)),
                                "eps": row.get("execs_per_sec")})
        return rows, samples

    # ---- summary -------------------------------------------------------------------------------

    def _libfuzzer_workers(self):
        rows = []
        for w in range(self.s.jobs):
            mine = [i for i in self.incarnations if i["worker"] == w]
            execs = sum(i["execs"] for i in mine)
            seconds = sum(i["end"] - i["start"] for i in mine)
            rows.append({"worker": w, "execs": execs, "seconds": round(seconds, 1),
                         "eps": execs / seconds if seconds else 0,
                         "restarts": sum(1 for i in mine if i["findings"] or i["rc"] != 0)})
        return rows

    def _summary(self, started, fuzz_seconds, before_any, before, after, interrupted):
        if self.s.engine == "afl":
            rows, samples = self._afl_workers()
        else:
            rows, samples = self._libfuzzer_workers(), self.samples
        execs = sum(r["execs"] for r in rows)
        return {
            "target": self.target.name, "engine": self.s.engine, "jobs": self.s.jobs,
            "started": started, "budget_s": self.s.seconds, "seconds": round(fuzz_seconds, 1),
            "wall_seconds": round(self.now(), 1),
            "interrupted": interrupted, "options": self.target.options,
            "dict": str(self.target.dict_path or ""),
            "timeout_s": self.target.timeout_s, "rss_limit_mb": self.target.rss_limit_mb,
            "execs": execs, "eps": execs / fuzz_seconds if fuzz_seconds else 0, "workers": rows,
            "samples": samples, "merges": self.merges, "incarnations": self.incarnations,
            "corpus_before_run": {"files": before_any[0], "bytes": before_any[1]},
            "corpus_before": {"files": before[0], "bytes": before[1]},
            "corpus_after": {"files": after[0], "bytes": after[1]},
            "work_corpus": str(self.work),
            "findings": dict(self.found), "new_findings": list(self.new),
            "unreproduced": list(self.triage.unreproduced), "errors": list(self.errors),
        }
