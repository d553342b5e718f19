"""Engine processes: a libFuzzer worker incarnation and an AFL++ instance.

Each process's output goes to its own log file; a reader thread copies it there and hands
every libFuzzer status line, stamped with the time since the campaign started, to a callback.
"""
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import libfuzzer_output


class Process:
    """One engine process with its output copied to `log_path` by a reader thread."""

    def __init__(self, command, log_path, env=None, on_line=None, cwd=None):
        self.command = [str(c) for c in command]
        self.log_path = Path(log_path)
        self.on_line = on_line
        self.started = time.monotonic()
        self.ended = None
        log = open(self.log_path, "wb", buffering=0)
        log.write((" ".join(self.command) + "\n").encode())
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._copy, args=(log,), daemon=True)
        self.reader.start()

    def _copy(self, log):
        with log:
            pending = b""
            for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
                log.write(chunk)
                if self.on_line is None:
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self.on_line(line.decode("utf-8", errors="replace").rstrip("\r"))

    def poll(self):
        rc = self.proc.poll()
        if rc is not None and self.ended is None:
            self.reader.join(timeout=5)
            self.ended = time.monotonic()
        return rc

    def stop(self, grace_s=5):
        """SIGTERM, then SIGKILL after grace_s; to the whole process group (forked children)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        return self.poll()

    def elapsed(self):
        return (self.ended or time.monotonic()) - self.started

    def text(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class LibFuzzerIncarnation(Process):
    """One run of a libFuzzer worker: from its start to -max_total_time, a finding, or a kill.

    `on_status(worker, status)` gets each parsed status line."""

    def __init__(self, worker, number, command, log_path, artifact_prefix, on_status, env=None):
        self.worker = worker
        self.number = number
        self.artifact_prefix = str(artifact_prefix)
        self.last_status = None

        def on_line(line):
            status = libfuzzer_output.parse_status(line)
            if status is not None:
                self.last_status = status
                on_status(worker, status)

        super().__init__(command, log_path, env=env, on_line=on_line)

    def artifacts(self):
        """Files libFuzzer wrote for a finding: crash-, timeout-, oom-, leak-<sha1>."""
        prefix = Path(self.artifact_prefix)
        found = []
        for kind in ("crash", "timeout", "oom", "leak"):
            found.extend(sorted(prefix.parent.glob(f"{prefix.name}{kind}-*")))
        return found

    def executed(self):
        """Inputs run: the final statistics when libFuzzer printed them, else its last status."""
        stats = libfuzzer_output.parse_final_stats(self.text())
        if "number_of_executed_units" in stats:
            return stats["number_of_executed_units"]
        return self.last_status["execs"] if self.last_status else 0


def read_afl_stats(path):
    """AFL++'s fuzzer_stats file as {key: str}."""
    stats = {}
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                stats[key.strip()] = value.strip()
    except FileNotFoundError:
        pass
    return stats


def read_afl_plot(path):
    """AFL++'s plot_data as a list of {column: float}."""
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return rows
    header = None
    for line in lines:
        if line.startswith("#"):
            header = [c.strip() for c in line.lstrip("# ").split(",")]
            continue
        if header is None:
            continue
        values = [v.strip().rstrip("%") for v in line.split(",")]
        try:
            rows.append({k: float(v) for k, v in zip(header, values)})
        except ValueError:
            continue
    return rows
