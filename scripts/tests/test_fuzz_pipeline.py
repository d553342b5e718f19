import tempfile
import types
import unittest
from pathlib import Path

from helpers import SCRIPTS
from fuzzing import findings, libfuzzer_output, report, targets


class TargetsTest(unittest.TestCase):
    def test_options_limits_and_reproduce_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "t.options").write_text("# comment\n-max_len=64\n\n-timeout=7  # seconds\n")
            (tmp / "t.dict").write_text('a="x"\n')
            t = targets.Target.find("t", tmp / "bin", [tmp / "none", tmp], tmp / "corpus")
            self.assertEqual(t.options, ["-max_len=64", "-timeout=7"])
            self.assertEqual((t.timeout_s, t.rss_limit_mb), (7, targets.DEFAULT_RSS_LIMIT_MB))
            self.assertEqual(t.limit_flags(), ["-timeout=7"])
            self.assertIn(f"-dict={tmp / 't.dict'}", t.fuzz_flags())
            self.assertEqual(t.reproduce_command(tmp / "corpus/t/regressions/ab", tmp),
                             "bin/t_fuzzer -timeout=7 corpus/t/regressions/ab")
            (tmp / "bad.options").write_text("max_len=3\n")
            with self.assertRaises(ValueError):
                targets.read_options(tmp / "bad.options")


class OutputTest(unittest.TestCase):
    def test_status_lines_and_merge_result(self):
        s = libfuzzer_output.parse_status(
            "#524288\tpulse  cov: 1226 ft: 6512 corp: 512/38Kb lim: 4096 exec/s: 1234 rss: 400Mb")
        self.assertEqual((s["execs"], s["cov"], s["ft"], s["corp"], s["corp_bytes"], s["eps"]),
                         (524288, 1226, 6512, 512, 38 * 1024, 1234))
        merge = "#9\tpulse  cov: 9 ft: 9 exec/s: 0 rss: 1Mb\n#9\tDONE   cov: 1058 ft: 2500 exec/s: 0\n"
        self.assertEqual(libfuzzer_output.parse_merge(merge), {"cov": 1058, "ft": 2500})


class DeletionPassTest(unittest.TestCase):
    """The byte-deletion pass after libFuzzer's minimization, on a fake target whose inputs
    fail exactly when they contain both "BU" and "G!" in that order."""

    def test_small_inputs_end_one_minimal_and_keep_their_signature(self):
        class Report:
            def __init__(self, ident):
                self._ident = ident

            def ident(self):
                return self._ident

        runs = []

        def fake_run(target, path, extra=(), limit_s=None):
            data = Path(path).read_bytes()
            runs.append(data)
            return 1, data.decode("latin-1")

        def fake_parse(out, root):
            if "BU" in out and "G!" in out[out.index("BU") + 2:]:
                return Report("bug")
            return Report("other") if "X" in out else None

        saved = findings.run_input, findings.crash_report.parse
        findings.run_input, findings.crash_report.parse = fake_run, fake_parse
        try:
            with tempfile.TemporaryDirectory() as tmp:
                triage = findings.Triage(types.SimpleNamespace(name="fake"), None, tmp, "run", tmp, 60,
                                        lambda m: None)
                self.assertEqual(triage._delete_bytes_while_failing(b"aBUxG!b", "bug"), b"BUG!")
                # "X" keeps it failing, but with another signature: that byte cannot go.
                self.assertEqual(triage._delete_bytes_while_failing(b"BUX", "other"), b"X")
                big = b"BUG!" + b"." * findings.ONE_MINIMAL_MAX_BYTES
                runs.clear()
                self.assertEqual(triage._delete_bytes_while_failing(big, "bug"), big)
                self.assertEqual(runs, [])
                triage.minimize_s = 0
                self.assertEqual(triage._delete_bytes_while_failing(b"aBUG!", "bug"), b"aBUG!")
        finally:
            findings.run_input, findings.crash_report.parse = saved


class StoreAndReportTest(unittest.TestCase):
    def test_the_report_lists_this_runs_findings_with_reproducers(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            store = findings.Store(tmp / "findings.json")
            store.add("abc", {"target": "mem", "kind": "crash", "detail": "abort", "frames": ["f"],
                              "message": "m", "signature": "abort | f | m", "engine": "libfuzzer",
                              "stored": "corpus/mem/regressions/0123", "original_bytes": 90,
                              "minimized_bytes": 9, "reproduce": "bin/mem_fuzzer x"}, "run1")
            store.hit("abc", "run1")
            self.assertEqual(findings.Store(tmp / "findings.json").records["abc"]["count"], 2)
            summary = {
                "target": "mem", "engine": "libfuzzer", "jobs": 2, "budget_s": 60, "seconds": 60,
                "wall_seconds": 70, "interrupted": False, "options": ["-timeout=10"],
                "timeout_s": 10, "rss_limit_mb": 2048, "execs": 1000, "eps": 16.7,
                "workers": [{"worker": 0, "execs": 600, "seconds": 60, "eps": 10, "restarts": 1},
                            {"worker": 1, "execs": 400, "seconds": 60, "eps": 6.7, "restarts": 0}],
                "samples": [{"t": t, "worker": w, "execs": 10 * t, "cov": 100 + t, "ft": 200 + t,
                             "corp": 5} for t in range(0, 60, 5) for w in (0, 1)],
                "merges": [{"t": 0, "cov": 100, "ft": 200, "files": 5, "bytes": 50, "seconds": 1},
                           {"t": 60, "cov": 170, "ft": 270, "files": 9, "bytes": 90, "seconds": 1}],
                "incarnations": [], "corpus_before_run": {"files": 0, "bytes": 0},
                "corpus_before": {"files": 5, "bytes": 50}, "corpus_after": {"files": 9, "bytes": 90},
                "work_corpus": "w", "findings": {"abc": 2}, "new_findings": ["abc"],
                "unreproduced": [], "errors": []}
            coverage = {"committed": {"src/mem/": [100, 80]}, "after": {"src/mem/": [100, 90]}}
            text = report.write("run1", [summary], store, coverage, tmp / "report",
                                SCRIPTS.parent, None)
            html = (tmp / "report" / "index.html").read_text()
        self.assertIn("reproduce: bin/mem_fuzzer x", text)
        self.assertIn("cov 100 -> 170, ft 200 -> 270", text)
        self.assertRegex(text, r"src/mem/\s+80\.00% \(80/100\)\s+90\.00% \(90/100\)")
        for needle in ("<svg", "Findings", "abort", "Line coverage per subsystem", "Machine"):
            self.assertIn(needle, html)


if __name__ == "__main__":
    unittest.main()
