"""Benchmark ``segment cluster`` against plain hdbscan (run by hand, never by pytest).

    .venv/bin/python benchmarks/bench_cluster.py            # full run, about 20 minutes
    .venv/bin/python benchmarks/bench_cluster.py --n 200000 --default-n 50000   # quick look

Every contender runs as its own process under ``/usr/bin/time -v``, so the
numbers are whole-process wall time and peak resident memory (imports,
reading, preprocessing and writing included). Contenders:

- ``segment cluster`` with its defaults on N customers (median of --repeats runs);
- plain hdbscan, ``min_samples=10``, on all N customers: the full fit that
  sample-and-assign approximates (one run: it is slow);
- plain hdbscan with its default ``min_samples`` (= ``min_cluster_size``) at
  a size that fits safely in shared memory (--default-n), next to
  ``segment cluster`` and hdbscan ``min_samples=10`` at that size;
- the assignment step alone: hdbscan's ``approximate_predict`` against
  :class:`segment.cluster_assign.TreeAssigner` on the same fitted model;
- ``--fit-sample`` settings at --default-n, against the full fit.

Plain hdbscan gets exactly the matrix segment clusters on (same log1p and
robust scaling, rows in id order) and the same ``min_cluster_size`` (1 % of
customers), so only the clustering differs. Data: ``tests/blobs.planted``,
4 features, 6 planted clusters (one of 1.5 %), spreads x1.3, 5 % noise.
The script prints Markdown tables for docs/cluster.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
SEGMENT = [PY, "-m", "cli", "cluster"]


def generate(n: int, path: Path, seed: int) -> None:
    import numpy as np

    from tests.blobs import planted

    if path.exists():
        return
    frame, truth = planted(n, seed=seed, clusters=6, overlap=1.3, noise=0.05)
    frame.write_parquet(path)
    np.save(path.with_suffix(".truth.npy"), truth)


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process, from GNU time."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    h, m, s = wall.groups()  # type: ignore[union-attr]
    return int(h or 0) * 3600 + int(m) * 60 + float(s), int(rss.group(1)) / 1024  # type: ignore[union-attr]


def repeat(cmd: list[str], times: int) -> tuple[float, float, list[float]]:
    runs = [measure(cmd) for _ in range(times)]
    walls = [w for w, _ in runs]
    return statistics.median(walls), statistics.median(r for _, r in runs), walls


# ---------------------------------------------------------------- subcommands run as contenders


def plain(data: str, min_samples: int | None, labels_out: str) -> None:
    """Plain hdbscan on segment's own feature matrix; labels saved in id order."""
    import hdbscan
    import numpy as np
    import polars as pl

    from segment.cluster import default_min_cluster_size
    from segment.cluster_features import prepare

    _, feats = prepare(pl.scan_parquet(data))
    x = feats.matrix
    model = hdbscan.HDBSCAN(min_cluster_size=default_min_cluster_size(x.shape[0]), min_samples=min_samples)
    np.save(labels_out, model.fit(x).labels_)


def assign(data: str, fit_rows: int, points: int, result_out: str) -> None:
    """approximate_predict vs TreeAssigner on one model (fit as segment does, on a sample)."""
    import hdbscan
    import numpy as np
    import polars as pl
    from hdbscan.prediction import approximate_predict

    from segment.cluster import default_min_cluster_size
    from segment.cluster_assign import TreeAssigner
    from segment.cluster_features import prepare

    _, feats = prepare(pl.scan_parquet(data))
    x = feats.matrix
    rng = np.random.default_rng(0)
    rows = rng.permutation(x.shape[0])
    fit, new = x[np.sort(rows[:fit_rows])], x[rows[fit_rows:fit_rows + points]]
    size = round(default_min_cluster_size(x.shape[0]) * fit_rows / x.shape[0])
    model = hdbscan.HDBSCAN(min_cluster_size=size, min_samples=10, core_dist_n_jobs=1,
                            prediction_data=True).fit(fit)
    t = time.perf_counter()
    ref, _ = approximate_predict(model, new)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    ours, _, _ = TreeAssigner(model, fit).assign(new)
    t_ours = time.perf_counter() - t
    Path(result_out).write_text(json.dumps({"approximate_predict": t_ref, "tree_assigner": t_ours,
                                            "identical": float((ref == ours).mean()), "points": points,
                                            "fit_rows": fit_rows}))


# ---------------------------------------------------------------- the run


def labels_of(source) -> "np.ndarray":
    """Cluster labels from a segment output (.parquet), a saved array (.npy) or an array."""
    import numpy as np
    import polars as pl

    if isinstance(source, Path):
        return pl.read_parquet(source)["cluster"].to_numpy() if source.suffix == ".parquet" else np.load(source)
    return source


def ari(a, b) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(labels_of(a), labels_of(b)))


def truth_ari(source, data: Path) -> float:
    """ARI against the planted clusters, over customers that are not planted noise."""
    import numpy as np
    import polars as pl

    frame = pl.read_parquet(data, columns=["customer_id"])
    truth = np.load(data.with_suffix(".truth.npy"))[np.argsort(frame["customer_id"].to_numpy())]
    return ari(truth[truth >= 0], labels_of(source)[truth >= 0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--default-n", type=int, default=200_000, help="size for hdbscan's default min_samples")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--assign-points", type=int, default=100_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    big, small = out / f"customers_{args.n}.parquet", out / f"customers_{args.default_n}.parquet"
    generate(args.n, big, seed=2024)
    generate(args.default_n, small, seed=2025)
    me = [PY, __file__]
    rows: list[tuple[str, str, float, float, str]] = []
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731

    # 1. Large N: segment cluster (repeated) vs the full min_samples=10 fit (once).
    seg_big = out / "segment_big.parquet"
    log(f"segment cluster, n={args.n:,} x{args.repeats}")
    w, r, walls = repeat([*SEGMENT, str(big), "-o", str(seg_big), "-q"], args.repeats)
    rows.append(("segment cluster (fit sample 50k + assign)", f"{args.n:,}", w, r,
                 f"median of {args.repeats}: " + ", ".join(f"{x:.1f}" for x in walls)))
    peer_big = w
    log(f"plain hdbscan min_samples=10, n={args.n:,}")
    full_big = out / "plain10_big.npy"
    w10, r10 = measure([*me, "plain", str(big), "10", str(full_big)])
    rows.append(("plain hdbscan, min_samples=10 (full fit)", f"{args.n:,}", w10, r10, "1 run"))

    # 2. Safe size: hdbscan defaults next to min_samples=10 and segment.
    seg_small = out / "segment_small.parquet"
    log(f"segment cluster, n={args.default_n:,} x{args.repeats}")
    ws, rs, walls_s = repeat([*SEGMENT, str(small), "-o", str(seg_small), "-q"], args.repeats)
    rows.append(("segment cluster (fit sample 50k + assign)", f"{args.default_n:,}", ws, rs,
                 f"median of {args.repeats}: " + ", ".join(f"{x:.1f}" for x in walls_s)))
    log(f"plain hdbscan min_samples=10, n={args.default_n:,}")
    full_small = out / "plain10_small.npy"
    w10s, r10s = measure([*me, "plain", str(small), "10", str(full_small)])
    rows.append(("plain hdbscan, min_samples=10 (full fit)", f"{args.default_n:,}", w10s, r10s, "1 run"))
    log(f"plain hdbscan defaults, n={args.default_n:,}")
    dflt_small = out / "plaindefault_small.npy"
    wd, rd = measure([*me, "plain", str(small), "none", str(dflt_small)])
    rows.append(("plain hdbscan, default min_samples (= min_cluster_size)", f"{args.default_n:,}", wd, rd, "1 run"))

    # 3. Assignment alone.
    log("approximate_predict vs TreeAssigner")
    res = out / "assign.json"
    measure([*me, "assign", str(big), "50000", str(args.assign_points), str(res)])
    a = json.loads(res.read_text())

    # 4. fit-sample sweep at the safe size, against the full fit there.
    sweep = []
    for fs in (25_000, 50_000, 100_000):
        if fs >= args.default_n:
            continue
        path = out / f"segment_fs{fs}.parquet"
        log(f"segment cluster --fit-sample {fs:,}, n={args.default_n:,}")
        wf, rf = measure([*SEGMENT, str(small), "-o", str(path), "-q", "--fit-sample", str(fs)])
        sweep.append((fs, wf, rf, ari(path, full_small), truth_ari(path, small)))

    stamp = datetime.date.today().isoformat()
    print(f"### segment cluster benchmark ({stamp})\n")
    print("Machine: 2 cores, 24 GiB, shared with four other agents working at the same time, "
          "so wall times are noisy; peer ratios come from the same run.\n")
    print("| contender | customers | wall s | peak RSS MB | runs |")
    print("|---|---:|---:|---:|---|")
    for name, n, w_, r_, note in rows:
        print(f"| {name} | {n} | {w_:.1f} | {r_:.0f} | {note} |")
    print()
    print("| comparison | value |")
    print("|---|---:|")
    print(f"| wall time, plain hdbscan min_samples=10 / segment, {args.n:,} | {w10 / peer_big:.1f}x |")
    print(f"| peak RSS, plain hdbscan min_samples=10 / segment, {args.n:,} | {r10 / r:.1f}x |")
    print(f"| wall time, plain hdbscan defaults / segment, {args.default_n:,} | {wd / ws:.1f}x |")
    print(f"| peak RSS, plain hdbscan defaults / segment, {args.default_n:,} | {rd / rs:.1f}x |")
    print(f"| ARI segment vs full fit (min_samples=10), {args.n:,} | {ari(seg_big, full_big):.4f} |")
    print(f"| ARI segment vs full fit (min_samples=10), {args.default_n:,} | {ari(seg_small, full_small):.4f} |")
    print(f"| ARI segment vs hdbscan defaults, {args.default_n:,} | {ari(seg_small, dflt_small):.4f} |")
    print(f"| ARI full fit min_samples=10 vs hdbscan defaults, {args.default_n:,} | "
          f"{ari(full_small, dflt_small):.4f} |")
    print(f"| ARI vs planted truth (non-noise), segment, {args.n:,} | {truth_ari(seg_big, big):.4f} |")
    print()
    per = lambda t: t / a["points"] * 1e6  # noqa: E731
    print(f"Assignment of {a['points']:,} customers to a model fitted on {a['fit_rows']:,} "
          f"(one process, same model):\n")
    print("| method | seconds | us per customer | labels identical |")
    print("|---|---:|---:|---:|")
    print(f"| hdbscan approximate_predict | {a['approximate_predict']:.1f} | {per(a['approximate_predict']):.0f} | |")
    print(f"| segment TreeAssigner | {a['tree_assigner']:.2f} | {per(a['tree_assigner']):.1f} | "
          f"{a['identical']:.4%} |")
    print(f"| ratio | {a['approximate_predict'] / a['tree_assigner']:.0f}x | | |")
    print()
    print(f"`--fit-sample` at {args.default_n:,} customers (one run each):\n")
    print("| fit sample | wall s | peak RSS MB | ARI vs full fit | ARI vs truth (non-noise) |")
    print("|---:|---:|---:|---:|---:|")
    for fs, wf, rf, a_full, a_truth in sweep:
        print(f"| {fs:,} | {wf:.1f} | {rf:.0f} | {a_full:.4f} | {a_truth:.4f} |")
    print(f"| {args.default_n:,} (full fit, plain hdbscan) | {w10s:.1f} | {r10s:.0f} | 1 | "
          f"{truth_ari(full_small, small):.4f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "plain":
        plain(sys.argv[2], None if sys.argv[3] == "none" else int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "assign":
        assign(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
