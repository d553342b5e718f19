import json
import tempfile
import unittest
from pathlib import Path

from helpers import SCRIPTS
from benchmarks import gate, names, report, results


def run_json(times, reps=9, extra=None, context=None):
    """A Google Benchmark JSON document: times = {name: (real ns, threads)}; every repetition
    varies by a few percent so the U test has something to rank."""
    benchmarks = []
    for name, (ns, threads) in times.items():
        for i in range(reps):
            b = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": reps,
                 "repetition_index": i, "threads": threads, "iterations": 1000,
                 "real_time": ns * (1 + 0.01 * ((i * 7) % 5)),
                 "cpu_time": ns * (1 + 0.01 * ((i * 3) % 5)), "time_unit": "ns"}
            b.update((extra or {}).get(name, {}))
            benchmarks.append(b)
    return {"context": dict({"num_cpus": 2, "load_avg": [1.0]}, **(context or {})),
            "benchmarks": benchmarks}


class NamesTest(unittest.TestCase):
    def test_impl_case_and_parameters(self):
        n = names.parse("mem/parallel_read_u64/own_region/raw/real_time/threads:16")
        self.assertEqual((n.subsystem, n.case, n.impl, n.threads),
                         ("mem", "mem/parallel_read_u64/own_region/threads:16", "raw", 16))
        n = names.parse("alloc/small/vmmem_tc/64/threads:4")
        self.assertEqual((n.case, n.impl, n.ours), ("alloc/small/64/threads:4", "vmmem_tc", True))
        self.assertEqual(n.params, (("small", 64.0), ("threads", 4.0)))
        self.assertEqual(names.family(n, "threads"), "alloc/small/64/threads:*")
        self.assertEqual(names.parse("gc/scan/threads/8/boehm").threads, 8)
        self.assertFalse(names.parse("mem/bulk_read/4096/memcpy").ours)


class GateTest(unittest.TestCase):
    def compare(self, base, now):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = Path(tmp) / "a.json", Path(tmp) / "b.json"
            a.write_text(json.dumps(base))
            b.write_text(json.dumps(now))
            _, diff = gate.run_compare(a, b)
        return gate.report(gate.verdicts(diff, 0.10, 0.05), 0.10, 0.05, "base")

    def test_a_significant_slowdown_of_ours_fails_and_a_peer_never_does(self):
        base = {"mem/read/vmmem": (10.0, 1), "mem/read/raw": (5.0, 1)}
        text, failed = self.compare(run_json(base), run_json(base))
        self.assertFalse(failed, text)
        slow = {"mem/read/vmmem": (13.0, 1), "mem/read/raw": (5.0, 1)}
        text, failed = self.compare(run_json(base), run_json(slow))
        self.assertTrue(failed, text)
        self.assertIn("mem/read/vmmem", text.split("SLOWER")[1])
        peer_slow = {"mem/read/vmmem": (10.0, 1), "mem/read/raw": (9.0, 1)}
        text, failed = self.compare(run_json(base), run_json(peer_slow))
        self.assertFalse(failed, text)
        self.assertIn("peers that moved", text)

    def test_real_time_benches_are_gated_on_real_time_the_others_on_cpu_time(self):
        base = run_json({"mem/par/vmmem/real_time/threads:2": (10.0, 2), "mem/one/vmmem": (10.0, 1)})
        now = run_json({"mem/par/vmmem/real_time/threads:2": (10.0, 2), "mem/one/vmmem": (10.0, 1)})
        for b in now["benchmarks"]:
            b["real_time" if "one" in b["name"] else "cpu_time"] *= 2  # waiting, not working
        text, failed = self.compare(base, now)
        self.assertFalse(failed, text)
        for b in now["benchmarks"]:
            b["cpu_time" if "one" in b["name"] else "real_time"] *= 2
        text, failed = self.compare(base, now)
        self.assertTrue(failed, text)
        self.assertIn("mem/one/vmmem", text.split("SLOWER")[1])
        self.assertIn("mem/par/vmmem/real_time/threads:2", text.split("SLOWER")[1])

    def test_a_slowdown_below_the_threshold_passes(self):
        base = {"mem/read/vmmem": (10.0, 1)}
        text, failed = self.compare(run_json(base), run_json({"mem/read/vmmem": (10.5, 1)}))
        self.assertFalse(failed, text)


class ReportTest(unittest.TestCase):
    def test_every_section_appears_for_generic_names(self):
        times, extra = {}, {}
        for impl, ns in (("vmmem", 10.0), ("glibc", 12.0), ("mimalloc", 8.0)):
            times[f"alloc/small/{impl}"] = (ns, 1)
            for t in (1, 2, 4):
                name = f"alloc/parallel/{impl}/real_time/threads:{t}"
                times[name] = (ns / t, t)
                extra[name] = {"items_per_second": 1e8 * t / ns}
            name = f"alloc/latency/{impl}"
            times[name] = (ns, 1)
            extra[name] = {"p50_ns": ns, "p99_ns": ns * 5, "p99.9_ns": ns * 20}
        times["alloc/alone/vmmem"] = (3.0, 1)
        doc = run_json(times, reps=3, extra=extra,
                       context={"ratio_target alloc/small vmmem/glibc": "1.00"})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.json"
            path.write_text(json.dumps(doc))
            found, contexts, errors = results.load([path])
            html, text = report.render(found, contexts, errors, SCRIPTS.parent, None)
        self.assertEqual(found["alloc/latency/vmmem"].percentiles(),
                         {50.0: 10.0 * 1.0, 99.0: 50.0, 99.9: 200.0})
        for needle in ("vmmem against each peer", "Scaling", "alloc/parallel/threads:*",
                       "Latency percentiles", "Ratio table", "Without a peer", "Machine",
                       "<svg", "met"):
            self.assertIn(needle, html)
        self.assertNotRegex(html, r"(src|href)=[\"']?https?:")  # nothing fetched from a network
        self.assertRegex(text, r"alloc/small\s+vmmem\s+glibc\s+.*0\.8\dx\s+<= 1\.00x met")


if __name__ == "__main__":
    unittest.main()
