#!/usr/bin/env python3
"""Builds docs/results.md and its figures from the sweep's records.

    python3 experiments/make_report.py --records=runs/fmnist/records.jsonl \
        --out=docs/results.md

Reads the JSON-lines records of //experiments:sweep (experiments/record.proto),
copies them next to the report (docs/results/records/) so the report can be
regenerated from what is committed, and writes:

  docs/results.md                  what was run, tables, figures, a reading
  docs/results/fig3_accuracy.svg   Monte Carlo accuracy against inference sigma
  docs/results/fig4_ekl.svg        EKL against inference sigma
  docs/results/ablations.svg       ablations as bars
  (and .png of each, through gnuplot's svg and pngcairo terminals)

Only the Python 3 standard library and gnuplot are needed.

Statistics (stated in the report too):
  * A point of a method at (training sigma, inference sigma) pools the Monte
    Carlo runs of all its seeds: the mean of the per-seed means, and a 95%
    interval 1.96 * s / sqrt(N) where s is the standard deviation of all N
    per-run accuracies (within-seed spread from the records' std, plus the
    spread between seed means).
  * "Beats" means the difference of two pooled means exceeds the combined
    interval sqrt(ci_a^2 + ci_b^2); otherwise the difference is reported as
    not significant.
  * Convergence (paper section 4.4): among the seeds of one method and
    training sigma, a run "does not converge" when its Monte Carlo accuracy
    at the training sigma is more than 5 points below the mean of the runs.
"""

import argparse
import collections
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

METHOD_ORDER = ["vanilla", "noise", "ovf", "irs"]
METHOD_LABEL = {
    "vanilla": "Vanilla (w/o noise)",
    "noise": "Noise injection",
    "ovf": "OVF (NFT)",
    "irs": "IRS (NFT)",
}
METHOD_COLOR = {"vanilla": "#7f7f7f", "noise": "#1f77b4", "ovf": "#d62728", "irs": "#2ca02c"}
METHOD_POINT = {"vanilla": 4, "noise": 6, "ovf": 7, "irs": 5}
CONVERGENCE_POINTS = 5.0
EPS = 1e-9


# ---------------------------------------------------------------- records


def load_records(paths, warn=None):
    """Job records by key (last line wins) and sweep-start records."""
    jobs = collections.OrderedDict()
    sweeps = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    if warn:
                        warn(f"{path}:{number}: skipped, not JSON (a line torn by a kill?)")
                    continue
                if record.get("type") == "job" and record.get("job", {}).get("key"):
                    job = record["job"]
                    jobs.pop(job["key"], None)
                    jobs[job["key"]] = job
                elif record.get("type") == "sweep":
                    sweeps.append(record["sweep"])
    return jobs, sweeps


def same(a, b):
    return abs(a - b) < EPS


def fmt_num(v):
    """Shortest decimal, as the sweep prints sigmas and betas."""
    return ("%.9g" % round(v, 9)) if v else "0"


def method_key(m):
    return (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), m)


# ---------------------------------------------------------------- statistics


def pooled(points):
    """Pools Monte Carlo points (dicts with runs, mean_accuracy, std) of several
    seeds: (mean, ci95, lo, hi) with lo/hi the range of the seed means."""
    points = [p for p in points if p is not None]
    if not points:
        return None
    n_total = sum(max(1, int(p["runs"])) for p in points)
    mean = sum(max(1, int(p["runs"])) * p["mean_accuracy"] for p in points) / n_total
    if n_total > 1:
        ss = 0.0
        for p in points:
            n = max(1, int(p["runs"]))
            ss += (n - 1) * p["std"] ** 2 + n * (p["mean_accuracy"] - mean) ** 2
        var = ss / (n_total - 1)
        ci = 1.96 * math.sqrt(var / n_total)
    else:
        ci = points[0].get("ci95", 0.0)
    means = [p["mean_accuracy"] for p in points]
    return mean, ci, min(means), max(means)


def pooled_ekl(points):
    points = [p for p in points if p is not None]
    if not points:
        return None
    n_total = sum(max(1, int(p["runs"])) for p in points)
    return sum(max(1, int(p["runs"])) * p["ekl"] for p in points) / n_total


def convergence(accuracies, threshold=CONVERGENCE_POINTS):
    """Indices of runs more than `threshold` points below the mean of all runs."""
    if len(accuracies) < 2:
        return []
    mean = sum(accuracies) / len(accuracies)
    return [i for i, a in enumerate(accuracies) if a < mean - threshold]


def compare(a, b):
    """a, b: pooled tuples. Returns (difference, combined interval, verdict)."""
    diff = a[0] - b[0]
    ci = math.sqrt(a[1] ** 2 + b[1] ** 2)
    if diff > ci:
        verdict = "better"
    elif diff < -ci:
        verdict = "worse"
    else:
        verdict = "tie"
    return diff, ci, verdict


def point_at(job, sigma):
    for p in job.get("results", []):
        if same(p["sigma"], sigma):
            return p
    return None


# ---------------------------------------------------------------- data model


class Data:
    def __init__(self, jobs, sweeps):
        self.jobs = jobs
        self.sweeps = sweeps
        ok = [j for j in jobs.values() if j.get("status") == "ok"]
        self.failed = [j for j in jobs.values() if j.get("status") != "ok"]
        self.final = [j for j in ok if j["stage"] == "final"]
        self.search = [j for j in ok + self.failed if j["stage"] == "search"]
        self.ablation = [j for j in ok if j["stage"] == "ablation"]
        self.emulator = [j for j in ok if j["stage"] == "emulator"]
        self.methods = sorted({j["method"] for j in self.final}, key=method_key)
        self.train_sigmas = sorted({j["sigma"] for j in self.final if j["method"] != "vanilla"})
        if not self.train_sigmas and self.final:
            self.train_sigmas = [0.0]
        self.eval_sigmas = sorted({p["sigma"] for j in self.final for p in j["results"]})
        # Records of different set-ups (e.g. a smoke run and the real sweep in
        # one file) would be pooled together; say so.
        setups = collections.Counter(
            (j["dataset"], j["model"], fmt_num(j["width"]), j["epochs"], j.get("train_images", 0),
             j.get("eval_images", 0)) for j in self.final)
        self.mixed = ([f"{d} {m} width {w}, {e} epochs, {n} training / {t} test images: {c} runs"
                       for (d, m, w, e, n, t), c in setups.items()] if len(setups) > 1 else [])

    def finals(self, method, train_sigma):
        """Final jobs of a method at a training sigma (vanilla: all sigmas)."""
        return sorted(
            (j for j in self.final if j["method"] == method
             and (method == "vanilla" or same(j["sigma"], train_sigma))),
            key=lambda j: j["seed"])

    def curve(self, method, train_sigma):
        """[(eval sigma, pooled tuple, ekl)] over the evaluation sigmas."""
        jobs = self.finals(method, train_sigma)
        out = []
        for s in self.eval_sigmas:
            pts = [point_at(j, s) for j in jobs]
            pts = [p for p in pts if p is not None]
            if pts:
                out.append((s, pooled(pts), pooled_ekl(pts)))
        return out

    def at(self, method, train_sigma, eval_sigma):
        pts = [point_at(j, eval_sigma) for j in self.finals(method, train_sigma)]
        return pooled([p for p in pts if p is not None])


# ---------------------------------------------------------------- figures


def run_gnuplot(script, gnuplot, workdir):
    path = os.path.join(workdir, "plot.gp")
    with open(path, "w") as f:
        f.write(script)
    subprocess.run([gnuplot, path], check=True, cwd=workdir,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def terminals(stem, width, height):
    """(terminal line, output) for SVG and PNG."""
    return [
        (f"set terminal svg size {width},{height} font 'sans,12' background '#ffffff'", stem + ".svg"),
        (f"set terminal pngcairo size {width},{height} font 'sans,10'", stem + ".png"),
    ]


def sigma_panels(data, outdir, stem, what, gnuplot, work):
    """Figure 3 (what='acc') or 4 (what='ekl'): one panel per training sigma."""
    panels = data.train_sigmas
    if not panels or not data.methods:
        return None
    files = {}
    for ts in panels:
        for m in data.methods:
            name = f"{stem}_{m}_{fmt_num(ts)}.dat"
            with open(os.path.join(work, name), "w") as f:
                for s, p, ekl in data.curve(m, ts):
                    if what == "acc":
                        f.write(f"{s} {p[0]:.6f} {p[1]:.6f}\n")
                    else:
                        f.write(f"{s} {ekl:.6f}\n")
            files[(m, ts)] = name
    width = 420 * len(panels) + 40
    height = 420
    ylabel = "Monte Carlo accuracy (%)" if what == "acc" else "EKL (lower is better)"
    lines = []
    for term, out in terminals(os.path.join(outdir, stem), width, height):
        lines.append(term)
        lines.append(f"set output '{out}'")
        lines.append(f"set multiplot layout 1,{len(panels)}")
        lines.append("set grid lc rgb '#dddddd'")
        lines.append("set xlabel 'inference sigma'")
        lines.append(f"set ylabel '{ylabel}'")
        lines.append("set key top right samplen 2 spacing 1.1 font ',9'")
        lines.append(f"set xrange [-0.01:{max(data.eval_sigmas) + 0.01}]")
        if what == "acc":
            lines.append("set yrange [0:100]")
        else:
            lines.append("set yrange [0:*]")
        for i, ts in enumerate(panels):
            lines.append(f"set title 'trained at sigma = {fmt_num(ts)}'")
            lines.append("unset arrow")
            lines.append(f"set arrow from {ts},graph 0 to {ts},graph 1 nohead dt 2 lc rgb '#999999'")
            plots = []
            for m in data.methods:
                style = (f"lc rgb '{METHOD_COLOR.get(m, '#000000')}' pt {METHOD_POINT.get(m, 1)} ps 0.7")
                title = METHOD_LABEL.get(m, m) if i == 0 else ""
                f = files[(m, ts)]
                if what == "acc":
                    plots.append(f"'{f}' using 1:2:3 with yerrorlines {style} lw 1.5 title '{title}'")
                else:
                    plots.append(f"'{f}' using 1:2 with linespoints {style} lw 1.5 title '{title}'")
            lines.append("plot " + ", \\\n     ".join(plots))
        lines.append("unset multiplot")
        lines.append("unset output")
    run_gnuplot("\n".join(lines) + "\n", gnuplot, work)
    return stem


def ablation_rows(data):
    """[(group, label, method, pooled at the ablation sigma, n seeds, is_baseline)]."""
    if not data.ablation:
        return [], None
    sigma = data.ablation[0]["sigma"]
    rows = []
    # Baselines: the final runs of the ablated methods at the ablation sigma.
    for m in sorted({j["method"] for j in data.ablation}, key=method_key):
        base = data.at(m, sigma, sigma)
        if base:
            n = len(data.finals(m, sigma))
            rows.append(("baseline", f"{m.upper()} (default)", m, base, n, True))
    by_name = collections.OrderedDict()
    for j in sorted(data.ablation, key=lambda j: (j.get("ablation_group", ""), method_key(j["method"]),
                                                 j.get("ablation", ""))):
        by_name.setdefault(j["ablation"], []).append(j)
    for name, jobs in by_name.items():
        pts = [point_at(j, jobs[0]["sigma"]) for j in jobs]
        p = pooled([x for x in pts if x is not None])
        if p:
            rows.append((jobs[0].get("ablation_group") or "other",
                         jobs[0].get("ablation_label") or name, jobs[0]["method"], p, len(jobs), False))
    return rows, sigma


def ablation_figure(data, outdir, gnuplot, work):
    rows, sigma = ablation_rows(data)
    if not rows:
        return None
    dat = os.path.join(work, "ablations.dat")
    groups = []
    x = 0.0
    tics = []
    with open(dat, "w") as f:
        last_group = None
        for group, label, m, p, n, is_base in rows:
            if last_group is not None and group != last_group:
                x += 0.6
            if group != last_group:
                groups.append((group, x))
            last_group = group
            color = int(METHOD_COLOR.get(m, "#000000")[1:], 16)
            f.write(f"{x} {p[0]:.6f} {p[1]:.6f} {color}\n")
            tics.append((label, x))
            x += 1.0
    noise = data.at("noise", sigma, sigma)
    width = max(600, int(70 * len(rows) + 160))
    lines = []
    for term, out in terminals(os.path.join(outdir, "ablations"), width, 460):
        lines += [
            term, f"set output '{out}'",
            "set style fill solid 0.75 border lc rgb '#333333'",
            "set boxwidth 0.7",
            "set grid ytics lc rgb '#dddddd'",
            f"set ylabel 'Monte Carlo accuracy at sigma = {fmt_num(sigma)} (%)'",
            "set yrange [0:100]",
            f"set xrange [-0.7:{x - 0.3}]",
            "set xtics rotate by -35 font ',9' nomirror",
            "set xtics (" + ", ".join(f"\"{lab}\" {pos}" for lab, pos in tics) + ")",
            "set key top right",
            "unset arrow",
        ]
        plots = ["'ablations.dat' using 1:2:4 with boxes lc rgb variable notitle",
                 "'ablations.dat' using 1:2:3 with yerrorbars lc rgb '#000000' pt 0 notitle"]
        for m in sorted({r[2] for r in rows}, key=method_key):
            plots.append(f"NaN with boxes lc rgb '{METHOD_COLOR.get(m, '#000000')}' "
                         f"title '{METHOD_LABEL.get(m, m)}'")
        if noise:
            lines.append(f"set arrow from graph 0,first {noise[0]} to graph 1,first {noise[0]} "
                         "nohead dt 2 lc rgb '#1f77b4' lw 1.5")
            plots.append(f"NaN with lines dt 2 lc rgb '#1f77b4' lw 1.5 "
                         f"title 'noise injection at sigma = {fmt_num(sigma)}'")
        lines.append("set title 'Ablations (bars: pooled over seeds, 95% interval)'")
        lines.append("plot " + ", \\\n     ".join(plots))
        lines.append("unset output")
    run_gnuplot("\n".join(lines) + "\n", gnuplot, work)
    return "ablations"


# ---------------------------------------------------------------- markdown


def pm(p, digits=2):
    return f"{p[0]:.{digits}f} ± {p[1]:.{digits}f}" if p else "–"


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds // 60) % 60:02d} min"


def section_what_was_run(data, regen, records_rel):
    out = ["## What was run", ""]
    seen = collections.OrderedDict()
    for s in data.sweeps:
        key = (s.get("experiment"), s.get("config_text"))
        seen.setdefault(key, []).append(s)
    rows = []
    for (exp, _), starts in seen.items():
        first = starts[0]
        rows.append([f"`{exp}`", f"`{first.get('config_path', '')}`", str(len(starts)),
                     first.get("started_at", ""), f"{first.get('jobs_total', 0)}",
                     f"{first.get('jobs', 0)} x {first.get('threads_per_job', 0)} "
                     f"on {first.get('cores', 0)} cores"])
    if rows:
        out.append(md_table(["experiment", "config", "sweep starts", "first start (UTC)", "jobs",
                             "workers x threads"], rows))
        out.append("")
    out.append("Commands, exactly as recorded (a restarted sweep appears once per start):")
    out.append("")
    out.append("```sh")
    commands = []
    for s in data.sweeps:
        if s.get("command") and s["command"] not in commands:
            commands.append(s["command"])
    out += commands or ["# (no sweep start recorded)"]
    out.append(regen)
    out.append("```")
    out.append("")
    for (exp, text), starts in seen.items():
        desc = ""
        for line in (text or "").splitlines():
            if line.startswith("description:"):
                desc = line.split(":", 1)[1].strip().strip('"')
        if desc:
            out.append(f"**{exp}**: {desc}")
            out.append("")
        # What the records show was run (the description is free text and
        # may not match an edited configuration).
        seeds = sorted({j.get("seed") for j in data.jobs.values()
                        if j.get("experiment") == exp and j.get("seed") is not None})
        if seeds:
            out.append(f"Seeds in the records of `{exp}`: {', '.join(str(x) for x in seeds)}.")
            out.append("")
        out.append(f"<details><summary>Configuration <code>{starts[0].get('config_path', '')}</code>"
                   "</summary>\n\n```textproto\n" + (text or "").rstrip() + "\n```\n</details>\n")
    wall = sum(j.get("wall_seconds", 0) for j in data.jobs.values())
    train = sum(j.get("train_seconds", 0) for j in data.jobs.values()
                if j["stage"] != "emulator" and not j.get("reused_training"))
    elapsed = ""
    try:
        times = [s["started_at"] for s in data.sweeps if s.get("started_at")]
        ends = [j["finished_at"] for j in data.jobs.values() if j.get("finished_at")]
        parse = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
        if times and ends:
            elapsed = (f" From the first sweep start to the last record: "
                       f"{duration((parse(max(ends)) - parse(min(times))).total_seconds())}"
                       f"{' (across restarts, pauses included)' if len(times) > 1 else ''}.")
    except ValueError:
        pass
    out.append(f"{len(data.jobs)} job records ({len(data.failed)} failed) in "
               f"{', '.join('`' + r + '`' for r in records_rel)}. The jobs' own wall times add up to "
               f"{duration(wall)} ({duration(train)} of it in training epochs).{elapsed}")
    out.append("")
    return out


def section_beta(data):
    if not data.search:
        return []
    out = ["## Beta search", "",
           "Each candidate is trained on the first N - V training images and scored by its Monte "
           "Carlo accuracy at the training sigma on the last V training images (the validation "
           "split, never the test set). Rule: the highest validation mean wins (averaged over the "
           "search seeds); an exact tie goes to the smaller beta. **Bold**: the beta the final runs "
           "used.", ""]
    betas = sorted({j["beta"] for j in data.search}, reverse=True)
    chosen = {}
    for j in data.final + data.ablation:
        if j.get("beta_rule"):
            chosen[(j["method"], round(j["sigma"], 9))] = j["beta"]
    rows = []
    keys = sorted({(j["method"], j["sigma"]) for j in data.search},
                  key=lambda k: (method_key(k[0]), k[1]))
    resolved = 0  # searches whose winner beats the runner-up by more than their intervals
    for m, s in keys:
        row = [m, fmt_num(s)]
        points = []
        for b in betas:
            jobs = [j for j in data.search if j["method"] == m and same(j["sigma"], s) and same(j["beta"], b)]
            if not jobs:
                row.append("–")
                continue
            if any(j["status"] != "ok" for j in jobs):
                row.append("failed")
                continue
            p = pooled([point_at(j, s) for j in jobs])
            if p:
                points.append(p)
            cell = pm(p) if p else "–"
            if (m, round(s, 9)) in chosen and same(chosen[(m, round(s, 9))], b):
                cell = f"**{cell}**"
            row.append(cell)
        rows.append(row)
        if len(points) >= 2:
            top = sorted(points, key=lambda p: -p[0])
            if top[0][0] - top[1][0] > (top[0][1] ** 2 + top[1][1] ** 2) ** 0.5:
                resolved += 1
    n_val = data.search[0].get("validation_images", 0)
    out.append(md_table(["method", "train sigma"] + [f"beta {fmt_num(b)}" for b in betas], rows))
    out.append("")
    out.append(f"Validation accuracy (%) on V = {n_val} held-out training images.")
    out.append("")
    tail = ("." if resolved == len(keys) else
            "; in the others the winner is within the noise of the validation estimate (beta "
            "barely matters there at this budget).")
    out.append(f"In {resolved} of {len(keys)} searches the winner beats the runner-up by more than "
               f"their combined 95% interval{tail}")
    out.append("")
    return out


def section_accuracy(data, fig3, fig4):
    out = ["## Accuracy under device variation (the paper's Figure 3)", ""]
    if fig3:
        out.append(f"![Monte Carlo accuracy against inference sigma]({fig3}.svg)")
        out.append("")
        out.append(f"(PNG: [{fig3}.png]({fig3}.png).) Each panel: models trained at one sigma "
                   "(dashed line), evaluated from sigma 0 to the largest inference sigma; vanilla "
                   "training sees no variation and is the same in every panel. Error bars: 95% "
                   "interval over all Monte Carlo runs of all seeds.")
        out.append("")
    for ts in data.train_sigmas:
        out.append(f"**Trained at sigma = {fmt_num(ts)}**: Monte Carlo accuracy (%), mean ± 95% "
                   "interval (seeds pooled)")
        out.append("")
        rows = []
        for s in data.eval_sigmas:
            row = [fmt_num(s)]
            for m in data.methods:
                row.append(pm(data.at(m, ts, s)))
            rows.append(row)
        out.append(md_table(["inference sigma"] + [METHOD_LABEL.get(m, m) for m in data.methods], rows))
        out.append("")
    out.append("## Uncertainty: EKL (the paper's Figure 4)")
    out.append("")
    if fig4:
        out.append(f"![EKL against inference sigma]({fig4}.svg)")
        out.append("")
    out.append("EKL: among the correct noisy predictions, the mean of -log softmax(label) "
               "(lower = more confident). Mean over runs and seeds.")
    out.append("")
    for ts in data.train_sigmas:
        rows = []
        for s in data.eval_sigmas:
            row = [fmt_num(s)]
            for m in data.methods:
                pts = [point_at(j, s) for j in data.finals(m, ts)]
                e = pooled_ekl([p for p in pts if p is not None])
                row.append(f"{e:.4f}" if e is not None else "–")
            rows.append(row)
        out.append(f"**Trained at sigma = {fmt_num(ts)}**: EKL")
        out.append("")
        out.append(md_table(["inference sigma"] + [METHOD_LABEL.get(m, m) for m in data.methods], rows))
        out.append("")
    return out


def training_stats(data):
    """Per method: (distinct trainings, mean s/epoch, mean images/s, total train s)."""
    per_method = collections.OrderedDict()
    seen_dirs = set()
    for j in sorted(data.final + data.search + data.ablation, key=lambda j: method_key(j["method"])):
        if j.get("ablation") or j.get("status") != "ok" or not j.get("history"):
            continue
        if j.get("train_dir") in seen_dirs:
            continue
        seen_dirs.add(j.get("train_dir"))
        per_method.setdefault(j["method"], []).append(j)
    stats = collections.OrderedDict()
    for m, jobs in per_method.items():
        epochs = [e for j in jobs for e in j["history"]]
        sec = sum(e["seconds"] for e in epochs) / len(epochs)
        ips = sum(e["images_per_second"] for e in epochs) / len(epochs)
        stats[m] = (len(jobs), sec, ips, sum(j["train_seconds"] for j in jobs))
    return stats


def reading_statements(data):
    """Plain statements of where OVF / IRS beat noise injection and where not,
    at what cost; every sentence is computed from the records."""
    lines = []
    verdicts = collections.defaultdict(list)
    for m in ("ovf", "irs"):
        if m not in data.methods or "noise" not in data.methods:
            continue
        for ts in data.train_sigmas:
            a = data.at(m, ts, ts)
            b = data.at("noise", ts, ts)
            if not a or not b:
                continue
            diff, ci, verdict = compare(a, b)
            verdicts[m].append((ts, verdict))
            word = {"better": "beats", "worse": "is worse than", "tie": "is not distinguishable from"}[verdict]
            best = None
            for s in data.eval_sigmas:
                x, y = data.at(m, ts, s), data.at("noise", ts, s)
                if x and y and (best is None or x[0] - y[0] > best[0]):
                    best = (x[0] - y[0], s)
            extra = ""
            if best and best[0] > 0:
                extra = (f"; over all inference sigmas its largest gain is {best[0]:+.2f} points (at "
                         f"sigma {fmt_num(best[1])})")
            elif best:
                extra = (f"; it trails noise injection at every inference sigma (by at least "
                         f"{-best[0]:.2f} points)")
            ekl = ""
            pa = [point_at(j, ts) for j in data.finals(m, ts)]
            pb = [point_at(j, ts) for j in data.finals("noise", ts)]
            ea, eb = pooled_ekl([p for p in pa if p]), pooled_ekl([p for p in pb if p])
            if ea is not None and eb is not None:
                rel = "equal" if round(ea, 3) == round(eb, 3) else ("lower" if ea < eb else "higher")
                ekl = f"; EKL {ea:.3f} vs {eb:.3f} ({rel})"
            datasets = {j.get("dataset") for j in data.finals(m, ts)}
            chance = 1.0 if datasets == {"cifar100"} else 10.0  # % of a uniform guess
            low = ""
            if max(a[0], b[0]) < 2 * chance:
                low = (f" Both are within twice chance ({chance:.0f}%): at this training sigma the "
                       f"budget trains no method well, so the gap is small in absolute terms.")
            lines.append(f"- Trained and evaluated at sigma {fmt_num(ts)}, **{m.upper()} {word} noise "
                         f"injection**: {a[0]:.2f}% vs {b[0]:.2f}% ({diff:+.2f} points, combined 95% "
                         f"interval ±{ci:.2f}){extra}{ekl}.{low}")
    for m, vs in verdicts.items():
        n = collections.Counter(v for _, v in vs)
        lines.append(f"- In all, {m.upper()} beats noise injection at {n['better']} of {len(vs)} "
                     f"training sigmas (worse at {n['worse']}, indistinguishable at {n['tie']}).")
    stats = training_stats(data)
    if "noise" in stats:
        base = stats["noise"][1]
        names = {"vanilla": "vanilla", "ovf": "OVF", "irs": "IRS"}
        parts = [f"{names[m]} {stats[m][1] / base:.2f}x" for m in ("vanilla", "ovf", "irs") if m in stats]
        if parts:
            lines.append("- Cost: per training epoch, relative to noise injection: " + ", ".join(parts) +
                         " (OVF runs N + 1 = 4 forward and backward passes per step, IRS adds only "
                         "its small auxiliary classifiers).")
    conv = []
    for m in data.methods:
        if m == "vanilla":
            continue  # one set of runs, evaluated at every training sigma
        bad = total = 0
        for ts in data.train_sigmas:
            accs = [point_at(j, ts)["mean_accuracy"] for j in data.finals(m, ts) if point_at(j, ts)]
            if len(accs) >= 2:
                bad += len(convergence(accs))
                total += len(accs)
        if total:
            conv.append(f"{m} {bad} of {total}")
    if conv:
        lines.append("- Runs that did not converge (more than 5 points below their mean): " +
                     ", ".join(conv) + ".")
    rows, sigma = ablation_rows(data)
    base = {m: p for g, lab, m, p, n, is_base in rows if is_base}
    for group, label, m, p, n, is_base in rows:
        if is_base or m not in base:
            continue
        diff, ci, verdict = compare(p, base[m])
        word = {"better": "better than", "worse": "worse than", "tie": "not distinguishable from"}[verdict]
        lines.append(f"- Ablation at sigma {fmt_num(sigma)}: {label} is {word} the default "
                     f"{m.upper()} ({diff:+.2f} points, ±{ci:.2f}).")
    return lines


def section_convergence(data):
    out = ["## Convergence (paper section 4.4)", "",
           f"A run does not converge when its Monte Carlo accuracy at the training sigma is more "
           f"than {CONVERGENCE_POINTS:g} points below the mean of the runs of its method and "
           "training sigma. With two seeds that means the two runs differ by more than 10 points; "
           "the paper counts over 10 runs.", ""]
    rows = []
    for m in data.methods:
        for ts in data.train_sigmas:
            jobs = data.finals(m, ts)
            accs = []
            for j in jobs:
                p = point_at(j, ts)
                if p:
                    accs.append((j["seed"], p["mean_accuracy"]))
            if not accs:
                continue
            bad = convergence([a for _, a in accs])
            mean = sum(a for _, a in accs) / len(accs)
            rows.append([METHOD_LABEL.get(m, m), fmt_num(ts), len(accs), f"{mean:.2f}",
                         ", ".join(f"{a:.2f} (seed {s})" for s, a in accs),
                         f"{len(bad)} of {len(accs)}"])
    out.append(md_table(["method", "sigma", "runs", "mean %", "per run %", "not converged"], rows))
    out.append("")
    return out


def section_cost(data):
    out = ["## Training cost", ""]
    stats = training_stats(data)
    noise_epoch = stats["noise"][1] if "noise" in stats else None
    rows = []
    for m, (n, sec, ips, total) in stats.items():
        rel = f"{sec / noise_epoch:.2f}x" if noise_epoch else "–"
        rows.append([METHOD_LABEL.get(m, m), n, f"{sec:.1f}", f"{ips:.0f}", rel, duration(total)])
    if rows:
        threads = sorted({j.get("threads", 0) for j in data.final})
        out.append(md_table(["method", "trainings", "s / epoch", "images / s", "epoch vs noise injection",
                             "all its training"], rows))
        out.append("")
        out.append("Seconds are the trainer's own per-epoch timing (training steps only), with "
                   f"{'/'.join(str(t) for t in threads)} thread(s) per job and jobs running side by "
                   "side, so they include contention for the machine. Each distinct training run is "
                   "counted once (a search model reused as a final model is not counted twice).")
        out.append("")
    return out


def section_ablations(data, fig):
    rows, sigma = ablation_rows(data)
    if not rows:
        return ["## Ablations", "", "No ablation records.", ""]
    out = [f"## Ablations (training and inference sigma {fmt_num(sigma)})", ""]
    if fig:
        out.append(f"![Ablations]({fig}.svg)")
        out.append("")
    base = {m: p for g, lab, m, p, n, is_base in rows if is_base}
    table = []
    for group, label, m, p, n, is_base in rows:
        delta = "" if is_base or m not in base else f"{p[0] - base[m][0]:+.2f}"
        table.append([group, label, n, pm(p), delta])
    out.append(md_table(["group", "variant", "seeds", "accuracy % (95%)", "vs default"], table))
    out.append("")
    noise = data.at("noise", sigma, sigma)
    if noise:
        out.append(f"Noise injection at the same sigma: {pm(noise)}.")
        out.append("")
    return out


def section_emulator(data):
    out = ["## Integer emulator beside the float model", ""]
    if not data.emulator:
        out.append("Not run yet: the emulator (`//firmware_model:compile`, `//emulator:emulate`) has "
                   "not landed. Enable the `emulator { ... }` block of the experiment config (its "
                   "command templates are in `experiments/fmnist_vgg8.textproto`) and rerun the "
                   "sweep with the same records file: only the emulator jobs will run.")
        out.append("")
        return out
    rows = []
    outside, compared, diffs = 0, 0, []
    for j in sorted(data.emulator, key=lambda j: method_key(j["method"])):
        floats = {round(p["sigma"], 9): p for p in j.get("float_results", [])}
        gap0 = 0.0
        f0 = floats.get(0.0)
        for p in j["results"]:
            if same(p["sigma"], 0) and f0:
                gap0 = abs(p["mean_accuracy"] - f0["mean_accuracy"])
        for p in j["results"]:
            f = floats.get(round(p["sigma"], 9))
            verdict = ""
            if f and p["sigma"] > 0:
                # The emulator issue's criterion: inside the float 95% interval
                # widened by the sigma-0 quantization gap.
                d = p["mean_accuracy"] - f["mean_accuracy"]
                ok = abs(d) <= f["ci95"] + gap0
                verdict = "yes" if ok else "**no**"
                compared += 1
                outside += not ok
                # Standard error of the difference of two independent means.
                diffs.append((d, ((f["ci95"] ** 2 + p["ci95"] ** 2) ** 0.5) / 1.96))
            elif f:
                verdict = "yes" if gap0 <= 1.0 else "**no**"
            rows.append([METHOD_LABEL.get(j["method"], j["method"]), fmt_num(j["sigma"]), j["seed"],
                         fmt_num(p["sigma"]), pm((f["mean_accuracy"], f["ci95"])) if f else "–",
                         pm((p["mean_accuracy"], p["ci95"])),
                         f"{p['mean_accuracy'] - f['mean_accuracy']:+.2f}" if f else "", verdict])
    out.append("The final model of the first seed of each method, compiled for the paper's "
               "accelerator (8-bit weights in four 2-bit cells, 128x128 arrays, 1-bit DAC, lossless "
               "ADC) and run on the bit-accurate emulator with the same number of Monte Carlo runs "
               "and test images; float and emulator use independent variation instances. \"agrees\": "
               "within 1 point at sigma 0, else inside the float 95% interval widened by the sigma-0 "
               "gap.")
    out.append("")
    out.append(md_table(["method", "train sigma", "seed", "inference sigma", "float %", "emulator %",
                         "difference", "agrees"], rows))
    out.append("")
    if compared:
        mean_d = sum(d for d, _ in diffs) / len(diffs)
        se = (sum(e ** 2 for _, e in diffs) ** 0.5) / len(diffs)
        significant = abs(mean_d) > 1.96 * se
        out.append(f"Under variation {compared - outside} of {compared} points agree. The mean "
                   f"difference (emulator - float) is {mean_d:+.2f} ± {1.96 * se:.2f} points (95%), "
                   + ("a systematic difference." if significant else
                      "not distinguishable from zero at this number of runs.")
                   + " The two sides draw independent variation instances, so even identical "
                   "models miss the criterion (which widens only the float interval) at about one "
                   "point in six.")
        out.append("")
    return out


def section_failed(data):
    if not data.failed:
        return []
    out = ["## Failed jobs", ""]
    rows = [[f"`{j['key']}`", j.get("error", "").replace("|", "\\|")] for j in data.failed]
    out.append(md_table(["job", "error"], rows))
    out.append("")
    return out


PAPER_SCALE = """## Paper-scale runs (not run here)

The paper trains width-1 networks for 200 epochs on full datasets with 200 Monte Carlo
runs and at least 5 seeds. With this CPU trainer that is far beyond the 2-core
development machine (`--dry_run` estimates about 44000 core-hours for ResNet-18 on
CIFAR-10). The configuration is committed; on a large machine:

```sh
# ResNet-18 (CIFAR variant), width 1, CIFAR-10, 200 epochs, 5 seeds, sigma 0.1-0.4,
# beta search on 5000 held-out training images, 200 Monte Carlo runs, ablations at 0.2.
# Set data_dir in the config to the CIFAR-10 binary batches first.
bazel run //experiments:sweep -- --config=experiments/paper_scale_cifar10_resnet18.textproto \\
    --records=runs/paper_cifar10/records.jsonl --jobs=16 --threads=4
python3 experiments/make_report.py --records=runs/paper_cifar10/records.jsonl --out=docs/results_paper.md

# VGG-8 at paper scale: copy experiments/fmnist_vgg8.textproto and set width: 1,
# epochs: 200, train_limit: 0 with beta_search.validation_images: 5000,
# evaluation.runs: 200, evaluation.test_limit: 0, seeds: [1, 2, 3, 4, 5].
```

A single paper-scale training run without the sweep:

```sh
bazel run //trainer:train -- --dataset=cifar10 --data_dir=/path/to/cifar-10-batches-bin \\
    --train_limit=0 --test_limit=0 --model=resnet18 --width=1 --method=ovf --sigma=0.2 \\
    --beta=0.1 --epochs=200 --threads=16 --out=runs/resnet18_ovf_0.2
bazel run //trainer:evaluate -- --checkpoint=runs/resnet18_ovf_0.2/checkpoint.pb \\
    --sigmas=0,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4 --runs=200 --json=runs/resnet18_ovf_0.2/mc.json
```
"""


def build_report(data, title, regen, records_rel, figs, smoke):
    out = [f"# {title}", ""]
    out.append("<!-- Generated by experiments/make_report.py; do not edit by hand. -->")
    out.append("")
    if smoke:
        out.append("> **Smoke run, not a result.** These numbers come from the toy-scale "
                   "`experiments/smoke.textproto` (hundreds of images, one epoch) that checks the "
                   "tooling end to end. Models this small are near chance and the comparisons "
                   "below say nothing about NFT. The real sweep is `experiments/fmnist_vgg8.textproto` "
                   "plus `experiments/ablations_fmnist_vgg8.textproto` (about two hours on two "
                   "cores); run them and regenerate this page:")
        out.append(">")
        out.append("> ```sh")
        out.append("> bazel run //experiments:sweep -- --config=experiments/fmnist_vgg8.textproto "
                   "--records=runs/fmnist/records.jsonl --jobs=2")
        out.append("> bazel run //experiments:sweep -- --config=experiments/ablations_fmnist_vgg8.textproto "
                   "--records=runs/fmnist/records.jsonl --jobs=2")
        out.append("> python3 experiments/make_report.py --records=runs/fmnist/records.jsonl "
                   "--out=docs/results.md")
        out.append("> ```")
        planned = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fmnist_vgg8.textproto")
        if os.path.exists(planned):
            for line in open(planned, encoding="utf-8"):
                if line.startswith("description:"):
                    out.append(">")
                    out.append("> The real sweep's sizing (estimate per stage) and what it cuts are in the "
                               "comments of `experiments/fmnist_vgg8.textproto`; in short: " +
                               line.split(":", 1)[1].strip().strip('"'))
        out.append("")
    out.append(f"Regenerate this page (and its figures) from the committed records: `{regen}`")
    out.append("")
    if data.mixed:
        out.append("> **Warning: these records mix set-ups, and the tables pool them:** " +
                   "; ".join(data.mixed) + ". Report each set-up from its own records file.")
        out.append("")
    out += section_what_was_run(data, regen, records_rel)
    out += ["## Reading", ""]
    lines = reading_statements(data)
    if smoke:
        out.append("(Generated from the smoke run's numbers, which carry no meaning; the same "
                   "sentences are generated from the real sweep's records.)")
        out.append("")
    out += lines or ["- No OVF/IRS and noise-injection results to compare yet."]
    out.append("- Statistics: at the matched point (inference sigma = training sigma); points pool all Monte Carlo runs of all seeds (95% interval "
               "1.96 s / sqrt(N)); a difference counts when it exceeds the combined interval. The "
               "configuration's description says what was cut relative to the paper, which "
               "bounds what these numbers can show.")
    out.append("")
    out += section_accuracy(data, figs.get("fig3"), figs.get("fig4"))
    out += section_beta(data)
    out += section_convergence(data)
    out += section_cost(data)
    out += section_ablations(data, figs.get("ablations"))
    out += section_emulator(data)
    out += section_failed(data)
    out.append(PAPER_SCALE)
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", action="append", required=True,
                    help="records file of //experiments:sweep (repeatable)")
    ap.add_argument("--out", required=True, help="the Markdown report to write, e.g. docs/results.md")
    ap.add_argument("--figures", default="",
                    help="folder of the figures and records copies (default: <out without .md>)")
    ap.add_argument("--title", default="Results: Negative Feedback Training under device variation")
    ap.add_argument("--gnuplot", default="gnuplot")
    ap.add_argument("--no_plots", action="store_true", help="tables only (no gnuplot)")
    args = ap.parse_args(argv)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    fig_dir = args.figures or os.path.splitext(os.path.abspath(args.out))[0]
    os.makedirs(fig_dir, exist_ok=True)
    rec_dir = os.path.join(fig_dir, "records")
    os.makedirs(rec_dir, exist_ok=True)

    # Keep a copy of the records beside the report, so it regenerates from
    # what is committed.
    copies = []
    for path in args.records:
        dest = os.path.join(rec_dir, os.path.basename(path))
        if len(args.records) > 1 and os.path.basename(path) in [os.path.basename(c) for c in copies]:
            dest = os.path.join(rec_dir, f"{len(copies)}_{os.path.basename(path)}")
        if os.path.abspath(path) != os.path.abspath(dest):
            shutil.copyfile(path, dest)
        copies.append(dest)

    def warn(msg):
        print("warning: " + msg, file=sys.stderr)

    jobs, sweeps = load_records(copies, warn)
    data = Data(jobs, sweeps)
    if data.mixed:
        warn("records mix set-ups: " + "; ".join(data.mixed))
    rel = lambda p: os.path.relpath(p, os.getcwd())
    records_rel = [rel(c) for c in copies]
    regen = ("python3 experiments/make_report.py "
             + " ".join(f"--records={r}" for r in records_rel) + f" --out={rel(args.out)}")
    if args.figures:
        regen += f" --figures={rel(fig_dir)}"

    figs = {}
    if not args.no_plots:
        if shutil.which(args.gnuplot) is None:
            print(f"error: {args.gnuplot} not found; install gnuplot-nox or pass --no_plots",
                  file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as work:
            fig_rel = os.path.relpath(fig_dir, out_dir)
            for key, make in (("fig3", lambda: sigma_panels(data, fig_dir, "fig3_accuracy", "acc",
                                                             args.gnuplot, work)),
                              ("fig4", lambda: sigma_panels(data, fig_dir, "fig4_ekl", "ekl",
                                                             args.gnuplot, work)),
                              ("ablations", lambda: ablation_figure(data, fig_dir, args.gnuplot, work))):
                stem = make()
                if stem:
                    figs[key] = os.path.join(fig_rel, stem)

    smoke = bool(sweeps) and all(s.get("experiment") == "smoke" for s in sweeps)
    text = build_report(data, args.title, regen, records_rel, figs, smoke)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out} ({len(jobs)} job records, {len(data.failed)} failed; figures: "
          f"{', '.join(sorted(figs)) or 'none'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
