"""Compares the job records of two sweeps of the same experiment: the same
keys, statuses, chosen betas and Monte Carlo results (bit for bit: runs are
deterministic), whatever ran them (local processes or Slurm jobs)."""
import json
import sys


def jobs(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if r.get("type") == "job":
            out[r["job"]["key"]] = r["job"]
    return out


FIELDS = ["stage", "status", "method", "sigma", "beta", "seed", "eval_split", "eval_images",
          "results", "float_results", "beta_candidates"]


def main():
    a, b = jobs(sys.argv[1]), jobs(sys.argv[2])
    problems = []
    if set(a) != set(b):
        problems.append("keys differ: only in first %s, only in second %s"
                        % (sorted(set(a) - set(b)), sorted(set(b) - set(a))))
    for k in sorted(set(a) & set(b)):
        for f in FIELDS:
            if a[k].get(f) != b[k].get(f):
                problems.append("%s: %s differs: %r vs %r" % (k, f, a[k].get(f), b[k].get(f)))
        ha = [(p["epoch"], p["train_loss"], p["clean_test_accuracy"]) for p in a[k].get("history", [])]
        hb = [(p["epoch"], p["train_loss"], p["clean_test_accuracy"]) for p in b[k].get("history", [])]
        if ha != hb:
            problems.append("%s: training history differs: %r vs %r" % (k, ha, hb))
    for p in problems[:20]:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("same %d jobs, same results" % len(a))


if __name__ == "__main__":
    main()
