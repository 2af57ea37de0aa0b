"""One-shot front against the train-every-candidate front (experiments/supernet/search.sh).

  compare.py pick <oneshot front.json> <n>      genomes of n members evenly spread over the front
  compare.py compare <oneshot front.json> <retrained.txt> <trained front.json> [K]
      each retrained one-shot member (stand-alone accuracy, latency) against the trained front:
      dominated or not, and both fronts' hypervolume for one reference point. With K: against the
      front of the trained run's first K candidates (its candidates.jsonl) instead, the front a
      run with budget K and the same seed would have found.
  compare.py prefix <trained run dir> <its user s> <budget user s>
      the smallest K whose first K candidates cost at least the budget, their user time
      estimated as the run's user time shared out by each candidate's eval_s.
"""
import json
import sys


def front(path):
    return json.load(open(path))["front"]


def lat(c):
    return next(v for k, v in c["metrics"].items() if k.startswith("latency_ms@"))


def dominated(p, pts):
    """p = (accuracy, latency): some point has accuracy >= and latency <=, one strictly."""
    return any(a >= p[0] and l <= p[1] and (a > p[0] or l < p[1]) for a, l in pts)


def hypervolume(pts, ref):
    """accuracy max, latency min; ref = (accuracy floor, latency ceiling)."""
    pts = sorted((l, a) for a, l in pts if a > ref[0] and l < ref[1])
    hv, best = 0.0, ref[0]
    for i, (l, a) in enumerate(pts):
        best = max(best, a)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref[1]
        hv += (best - ref[0]) * (nxt - l)
    return hv


def first_front(run_dir, k):
    """The non-dominated (accuracy, latency) points of a run's first k evaluated candidates."""
    cands = [json.loads(line) for line in open(run_dir + "/candidates.jsonl")][:k]
    pts = [(c["metrics"]["accuracy"], lat(c)) for c in cands if c["status"] == "ok"]
    return [p for p in pts if not dominated(p, pts)]


if sys.argv[1] == "prefix":
    cands = [json.loads(line) for line in open(sys.argv[2] + "/candidates.jsonl")]
    scale = float(sys.argv[3]) / sum(c["eval_s"] for c in cands)
    spent = 0.0
    for k, c in enumerate(cands, 1):
        spent += c["eval_s"] * scale
        if spent >= float(sys.argv[4]):
            break
    print(f"first {k} of {len(cands)} candidates: {spent:.1f} s user (estimated), "
          f"{spent / float(sys.argv[4]):.2f}x the budget of {float(sys.argv[4]):.1f} s")
    sys.exit(0)

if sys.argv[1] == "pick":
    f = front(sys.argv[2])
    n = min(int(sys.argv[3]), len(f))
    for k in range(n):
        c = f[round((len(f) - 1) * k / max(1, n - 1))]
        print(",".join(str(int(v)) if float(v).is_integer() else str(v) for v in c["genome"]))
    sys.exit(0)

one = {",".join(str(int(v)) for v in c["genome"]): c for c in front(sys.argv[2])}
if len(sys.argv) > 5:
    trained = first_front(sys.argv[4].rsplit("/", 1)[0], int(sys.argv[5]))
else:
    trained = [(c["metrics"]["accuracy"], lat(c)) for c in front(sys.argv[4])]
rows = []
for line in open(sys.argv[3]):
    parts = line.split()
    if len(parts) < 5 or parts[0] == "genome":
        continue
    g, acc = parts[0], float(parts[3])
    c = one[g]
    rows.append((g, c["metrics"]["accuracy"], acc, lat(c)))
print(f"{'genome':32s} {'inherited':>9s} {'retrained':>9s} {'latency_ms':>10s}  vs the trained front")
for g, inh, acc, l in rows:
    print(f"{g:32s} {inh:9.4f} {acc:9.4f} {l:10.4f}  {'dominated' if dominated((acc, l), trained) else 'on or beyond it'}")
print("trained front:", " ".join(f"({a:.4f}, {l:.4f} ms)" for a, l in sorted(trained, key=lambda p: p[1])))
pts = [(acc, l) for _, _, acc, l in rows]
ref = (min(a for a, _ in pts + trained) - 0.01, max(l for _, l in pts + trained) * 1.1)
print(f"hypervolume (accuracy x latency, reference {ref[0]:.4f}, {ref[1]:.4f} ms): retrained one-shot "
      f"{hypervolume(pts, ref):.6g}, trained {hypervolume(trained, ref):.6g}")
