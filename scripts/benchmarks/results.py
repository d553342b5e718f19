"""Google Benchmark JSON files loaded per benchmark: every repetition's times and counters.

Aggregates (mean, median, stddev, cv) in the files are ignored: statistics are computed here
from the repetitions, so a file written with or without --benchmark_report_aggregates_only
reads the same.
"""
import json
import re
import statistics
from dataclasses import dataclass, field

from . import names

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
_STANDARD = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
             "repetitions", "repetition_index", "threads", "iterations", "real_time",
             "cpu_time", "time_unit", "aggregate_name", "aggregate_unit", "label",
             "error_occurred", "error_message"}
PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)(?:_(ns|us|ms|s))?$")


@dataclass
class Result:
    name: names.BenchName
    real_ns: list = field(default_factory=list)     # one per repetition
    cpu_ns: list = field(default_factory=list)
    counters: dict = field(default_factory=dict)    # counter -> [value per repetition]

    @property
    def measured_ns(self):
        """The time the bench measures: real time for real_time benches, else CPU time."""
        return self.real_ns if names.uses_real_time(self.name.full) else self.cpu_ns

    def median(self, values=None):
        return statistics.median(values if values is not None else self.measured_ns)

    def counter(self, key):
        values = self.counters.get(key)
        return statistics.median(values) if values else None

    def percentiles(self):
        """{percentile: latency in ns} from counters named p50_ns, p99.9_us, p99 (ns)..."""
        out = {}
        for key in self.counters:
            m = PERCENTILE.match(key)
            if m:
                out[float(m.group(1))] = self.counter(key) * TO_NS[m.group(2) or "ns"]
        return dict(sorted(out.items()))


def load(paths):
    """({run name: Result}, [context of each file], [(name, error message)])."""
    results, contexts, errors = {}, [], []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        contexts.append(dict(data.get("context", {}), file=str(path)))
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate":
                continue
            run_name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                errors.append((run_name, b.get("error_message", "")))
                continue
            r = results.get(run_name)
            if r is None:
                r = results[run_name] = Result(names.parse(run_name, int(b.get("threads", 1))))
            scale = TO_NS[b.get("time_unit", "ns")]
            r.real_ns.append(float(b["real_time"]) * scale)
            r.cpu_ns.append(float(b["cpu_time"]) * scale)
            for key, value in b.items():
                if key not in _STANDARD and isinstance(value, (int, float)):
                    r.counters.setdefault(key, []).append(float(value))
    return results, contexts, errors
