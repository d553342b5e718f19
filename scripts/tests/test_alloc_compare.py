import unittest

from helpers import SCRIPTS  # noqa: F401  (puts scripts/ on the path)
import alloc_compare


def measured(seconds, kib, differs=False):
    return {"time_s": seconds, "rss_kib": kib, "runs_s": [seconds], "output_differs": differs}


class TableTest(unittest.TestCase):
    def test_ratios_are_to_the_best_peer_and_diffs_are_marked(self):
        results = {"churn": {"vmmem": measured(0.5, 2048), "glibc": measured(1.0, 1024),
                             "mimalloc": measured(0.25, 4096, differs=True)}}
        table = alloc_compare.format_table(results, ["vmmem", "glibc", "mimalloc"],
                                           ["glibc", "mimalloc"], 3).splitlines()
        self.assertIn("median of 3 runs", table[0])
        row = table[2].split()
        self.assertEqual(row[0], "churn")
        self.assertEqual(row[-2:], ["2.00", "2.00"])  # 0.5 / 0.25 s, 2048 / 1024 KiB
        self.assertIn("0.250 / 4.0 DIFF", table[2])

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
