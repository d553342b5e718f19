import unittest

from helpers import SCRIPTS  # noqa: F401  (puts scripts/ on the path)
import alloc_compare


def measured(seconds, kib, differs=False, runs=None):
    return {"time_s": seconds, "rss_kib": kib, "runs_s": runs or [seconds],
            "output_differs": differs}


class TableTest(unittest.TestCase):
    def test_ratios_are_to_the_best_peer_and_diffs_are_marked(self):
        results = {"churn": {"vmmem": measured(0.5, 2048), "glibc": measured(1.0, 1024),
                             "mimalloc": measured(0.25, 4096, differs=True)}}
        table = alloc_compare.format_table(results, ["vmmem", "glibc", "mimalloc"],
                                           ["glibc", "mimalloc"], 3).splitlines()
        self.assertIn("median of 3 runs", table[0])
        row = table[2].split()
        self.assertEqual(row[0], "churn")
        self.assertEqual(row[-3:-1], ["2.00", "2.00"])  # 0.5 / 0.25 s, 2048 / 1024 KiB
        self.assertIn("0.250 / 4.0 DIFF", table[2])

    def test_runs_column_pairs_each_run_with_the_fastest_peer_of_the_same_run(self):
        # Medians: vmmem 0.5, glibc 0.4 (the fastest), mimalloc 0.6. Run by run against glibc:
        # 0.45/0.5, 0.5/0.4, 0.7/0.35 -> 0.90, 1.25, 2.00.
        results = {"larson": {
            "vmmem": measured(0.5, 1024, runs=[0.45, 0.5, 0.7]),
            "glibc": measured(0.4, 1024, runs=[0.5, 0.4, 0.35]),
            "mimalloc": measured(0.6, 1024, runs=[0.3, 0.6, 0.9])}}
        table = alloc_compare.format_table(results, ["vmmem", "glibc", "mimalloc"],
                                           ["glibc", "mimalloc"], 3).splitlines()
        row = table[2].split()
        self.assertEqual(row[-3], "1.25")
        self.assertEqual(row[-1], "0.90-2.00")

    def test_cachegrind_summary_is_parsed_from_the_last_report(self):
        report = ("==1== I   refs:      1,000\n==1== D1  misses:    10\n==1== LLd misses:     2\n"
                  "==2== I   refs:      338,363,649\n"
                  "==2== D1  misses:     13,280,235  (  9,000,000 rd   +  4,280,235 wr)\n"
                  "==2== LLd misses:      7,883,608  (  7,000 rd   +  7,876,608 wr)\n")
        self.assertEqual(alloc_compare.parse_cachegrind(report),
                         {"instructions": 338363649, "d1_misses": 13280235,
                          "ll_misses": 7883608})
        with self.assertRaises(RuntimeError):
            alloc_compare.parse_cachegrind("==3== I   refs:      5\n")

    def test_cachegrind_table_gives_each_counter_over_its_lowest_peer(self):
        def counts(instructions, d1, ll, differs=False):
            return {"instructions": instructions, "d1_misses": d1, "ll_misses": ll,
                    "output_differs": differs}
        results = {"churn": {"vmmem": counts(300e6, 12e6, 8e6),
                             "glibc": counts(600e6, 6e6, 9e6),
                             "mimalloc": counts(200e6, 16e6, 4e6, differs=True)}}
        table = alloc_compare.format_cachegrind_table(
            results, ["vmmem", "glibc", "mimalloc"], ["glibc", "mimalloc"]).splitlines()
        self.assertEqual(table[2].split(), ["churn", "vmmem", "300.00", "12.00", "8.00"])
        self.assertIn("mimalloc DIFF", table[4])
        self.assertEqual(table[5].split(), ["churn", "vmmem/best", "1.50", "2.00", "2.00"])

    def test_unknown_allocator_is_refused(self):
        import sys
        argv = sys.argv
        sys.argv = ["alloc_compare", "--against", "glibc,foo", "--shim", "x", "--workloads",
                    "y", "--root", "z"]
        try:
            with self.assertRaises(SystemExit) as raised:
                alloc_compare.main()
            self.assertIn("unknown allocator 'foo'", str(raised.exception.code))
        finally:
            sys.argv = argv


if __name__ == "__main__":
    unittest.main()
