#!/usr/bin/env python3
"""Tests of experiments/make_report.py: the statistics, and the report built
from a fixed records file (experiments/testdata/report_records.jsonl, numbers
chosen by hand) with golden checks on its tables."""
import importlib.util
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_report", os.path.join(HERE, "make_report.py"))
mr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mr)
RECORDS = os.path.join(HERE, "testdata", "report_records.jsonl")


def pt(acc, std=2.0, runs=20):
    return {"sigma": 0.1, "runs": runs, "mean_accuracy": acc, "std": std, "ci95": 1.96 * std / runs ** 0.5,
            "ekl": 0.1}


class StatisticsTest(unittest.TestCase):
    def test_pooled_over_seeds(self):
        # Two seeds of 20 runs, means 50 and 60, std 2: all 40 runs have mean
        # 55 and variance (19*4*2 + 20*25*2) / 39.
        mean, ci, lo, hi = mr.pooled([pt(50), pt(60)])
        self.assertAlmostEqual(mean, 55)
        self.assertAlmostEqual(ci, 1.96 * ((152 + 1000) / 39 / 40) ** 0.5)
        self.assertEqual((lo, hi), (50, 60))
        # One seed: its own interval.
        mean, ci, _, _ = mr.pooled([pt(70)])
        self.assertAlmostEqual(ci, 1.96 * 2 / 20 ** 0.5)
        self.assertIsNone(mr.pooled([]))

    def test_convergence_count(self):
        self.assertEqual(mr.convergence([70, 70, 55]), [2])     # mean 65, 55 < 60
        self.assertEqual(mr.convergence([70, 70, 63]), [])      # 63 > 67.67 - 5
        self.assertEqual(mr.convergence([80, 60]), [1])         # two seeds 20 apart
        self.assertEqual(mr.convergence([80, 70]), [])          # exactly 5 below is not more
        self.assertEqual(mr.convergence([50]), [])
        paper = [90] * 4 + [80] * 6                             # mean 84: the six 80s are 4 below
        self.assertEqual(mr.convergence(paper), [])

    def test_compare(self):
        self.assertEqual(mr.compare((70, 1, 0, 0), (60, 1, 0, 0))[2], "better")
        self.assertEqual(mr.compare((60, 1, 0, 0), (70, 1, 0, 0))[2], "worse")
        self.assertEqual(mr.compare((61, 1, 0, 0), (60, 1, 0, 0))[2], "tie")

    def test_fmt_num(self):
        self.assertEqual(mr.fmt_num(0.15000000000000002), "0.15")
        self.assertEqual(mr.fmt_num(0), "0")
        self.assertEqual(mr.fmt_num(1e-4), "0.0001")


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.out = os.path.join(cls.tmp, "docs", "results.md")
        os.makedirs(os.path.dirname(cls.out))
        cls.plots = shutil.which("gnuplot") is not None
        args = ["--records", RECORDS, "--out", cls.out] + ([] if cls.plots else ["--no_plots"])
        cwd = os.getcwd()
        os.chdir(cls.tmp)
        try:
            assert mr.main(args) == 0
        finally:
            os.chdir(cwd)
        cls.md = open(cls.out, encoding="utf-8").read()

    def assertIn(self, member, container, msg=None):  # shorter failure output
        if member not in container:
            self.fail(msg or f"missing from the report: {member!r}")

    def test_accuracy_table(self):
        self.assertIn("| 0.1 | 30.00 ± 0.61 | 55.00 ± 1.68 | 70.00 ± 0.61 | 55.00 ± 0.63 |", self.md)
        self.assertIn("| 0.2 | 15.00 ± 0.61 | 40.00 ± 0.61 | 65.00 ± 1.87 | 30.00 ± 0.61 |", self.md)

    def test_reading(self):
        self.assertIn("Trained and evaluated at sigma 0.1, **OVF beats noise injection**: 70.00% vs "
                      "55.00% (+15.00 points, combined 95% interval ±1.79)", self.md)
        self.assertIn("**IRS is not distinguishable from noise injection**: 55.00% vs 55.00%", self.md)
        self.assertIn("**IRS is worse than noise injection**: 30.00% vs 40.00%", self.md)
        self.assertIn("it trails noise injection at every inference sigma (by at least 10.00 points)",
                      self.md)
        self.assertIn("In all, OVF beats noise injection at 2 of 2 training sigmas", self.md)
        self.assertIn("Cost: per training epoch, relative to noise injection: vanilla 0.95x, OVF 3.30x, "
                      "IRS 1.70x", self.md)
        self.assertIn("noise 0 of 4, ovf 1 of 5, irs 0 of 4", self.md)
        self.assertIn("OVF N=1 is worse than the default OVF (-5.00 points", self.md)

    def test_beta_table_marks_the_choice_and_failures(self):
        self.assertIn("| ovf | 0.1 | 60.00 ± 1.86 | **65.00 ± 1.86** |", self.md)
        self.assertIn("| irs | 0.1 | **58.00 ± 1.86** | 57.00 ± 1.86 |", self.md)
        self.assertIn("| irs | 0.2 | failed | **33.00 ± 1.86** |", self.md)

    def test_convergence_table(self):
        self.assertIn("| OVF (NFT) | 0.2 | 3 | 65.00 | 70.00 (seed 1), 70.00 (seed 2), 55.00 (seed 3) | "
                      "1 of 3 |", self.md)
        self.assertIn("| Noise injection | 0.1 | 2 | 55.00 | 50.00 (seed 1), 60.00 (seed 2) | 0 of 2 |",
                      self.md)

    def test_cost_counts_each_training_once(self):
        # 4 OVF search runs + 3 final runs that are not the reused search model.
        self.assertIn("| OVF (NFT) | 7 | 33.0 | 30 | 3.30x | 7 min 42 s |", self.md)

    def test_ablations_emulator_failures(self):
        self.assertIn("| baseline | OVF (default) | 3 | 65.00 ± 1.87 |  |", self.md)
        self.assertIn("| feedbacks | OVF N=1 | 2 | 60.00 ± 0.61 | -5.00 |", self.md)  # last record wins
        self.assertIn("| OVF (NFT) | 0.2 | 1 | 0.2 | 70.00 ± 0.88 | 69.00 ± 0.88 | -1.00 |", self.md)
        self.assertIn("| `final/noise/sigma=0.3/seed=1#deadbeef` | training failed: exit status 2 |", self.md)
        self.assertNotIn("killed by signal 9", self.md)

    def test_what_was_run(self):
        self.assertIn("bazel run //experiments:sweep -- --config=experiments/synthetic.textproto", self.md)
        self.assertIn("# A made-up experiment for the report's test.", self.md)
        self.assertIn("**synthetic**: Synthetic numbers chosen by hand.", self.md)
        self.assertIn("29 job records (2 failed)", self.md)
        self.assertNotIn("Smoke run", self.md)
        self.assertNotIn("records mix set-ups", self.md)

    def test_mixed_setups_are_flagged(self):
        jobs, sweeps = mr.load_records([RECORDS])
        other = dict(next(j for j in jobs.values() if j["stage"] == "final"), key="x", epochs=9)
        jobs["x"] = other
        data = mr.Data(jobs, sweeps)
        self.assertEqual(len(data.mixed), 2)
        self.assertIn("9 epochs", " ".join(data.mixed))

    def test_regenerates_from_the_copied_records(self):
        copy = os.path.join(self.tmp, "docs", "results", "records", "report_records.jsonl")
        self.assertTrue(os.path.exists(copy))
        self.assertIn("python3 experiments/make_report.py --records=docs/results/records/report_records.jsonl "
                      "--out=docs/results.md", self.md)
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            self.assertEqual(mr.main(["--records", "docs/results/records/report_records.jsonl",
                                      "--out", "docs/results.md", "--no_plots"]), 0)
        finally:
            os.chdir(cwd)
        again = open(self.out, encoding="utf-8").read()
        strip = lambda t: "\n".join(l for l in t.splitlines() if l and "![" not in l and "(PNG:" not in l)
        self.assertEqual(strip(again), strip(self.md))

    def test_figures(self):
        if not self.plots:
            self.skipTest("gnuplot not installed")
        for stem in ("fig3_accuracy", "fig4_ekl", "ablations"):
            for ext in ("svg", "png"):
                path = os.path.join(self.tmp, "docs", "results", f"{stem}.{ext}")
                self.assertTrue(os.path.exists(path), path)
                self.assertLess(os.path.getsize(path), 200 * 1024, path)
            self.assertIn(f"](results/{stem}.svg)", self.md)
        with open(os.path.join(self.tmp, "docs", "results", "fig3_accuracy.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
