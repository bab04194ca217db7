"""Benchmark ``segment cluster`` against plain hdbscan (run by hand, never by pytest).

    .venv/bin/python benchmarks/bench_cluster.py            # full run, about 30 minutes
    .venv/bin/python benchmarks/bench_cluster.py --n 200000 --default-n 50000 --repeats 2   # quick look

Every contender is a whole process measured by benchmarks/harness.py
(round-robin, per-round paired ratios; memory is the summed resident set of
the process and its workers, since hdbscan starts worker processes).
Three groups, each its own round-robin:

1. N customers (1,000,000): ``segment cluster`` with its defaults against
   plain hdbscan ``min_samples=10`` on all customers, the full fit that
   sample-and-assign approximates.
2. --default-n customers (100,000, a size where hdbscan's default
   ``min_samples`` fits in shared memory): ``segment cluster`` with its
   default and smaller ``--fit-sample``, plain hdbscan ``min_samples=10`` and
   plain hdbscan with its defaults (``min_samples = min_cluster_size``).
3. The assignment step: two processes fit the same seeded hdbscan model on
   50,000 customers and assign 100,000 others, one with hdbscan's
   ``approximate_predict``, one with segment's ``TreeAssigner``; the fit is
   the same work in both, so the difference is the assignment.

Plain hdbscan gets exactly the matrix segment clusters on (same log1p and
robust scaling, rows in id order) and the same ``min_cluster_size`` (1 % of
customers). Data: ``tests/blobs.planted``, 4 features, 6 planted clusters
(one of 1.5 %), spreads x1.3, 5 % noise. The script checks that the labels
agree (adjusted Rand index) and prints Markdown for docs/cluster.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

ROOT = harness.ROOT
sys.path.insert(0, str(ROOT))
ME = [sys.executable, __file__]
#: ARI with the full fit that docs/cluster.md promises for sample-and-assign.
MIN_ARI = 0.99


def generate(path: Path, n: int, seed: int) -> None:
    """A folder with customers.parquet and the planted truth (truth.npy, -1 = noise)."""
    import numpy as np

    from tests.blobs import planted

    path.mkdir()
    frame, truth = planted(n, seed=seed, clusters=6, overlap=1.3, noise=0.05)
    frame.write_parquet(path / "customers.parquet")
    np.save(path / "truth.npy", truth)


# ---------------------------------------------------------------- subcommands run as contenders


def plain(data: str, min_samples: int | None, labels_out: str) -> None:
    """Plain hdbscan on segment's own feature matrix; labels saved in id order."""
    import hdbscan
    import numpy as np
    import polars as pl

    from segment.cluster._cluster import default_min_cluster_size
    from segment.cluster._features import prepare

    _, feats = prepare(pl.scan_parquet(data))
    x = feats.matrix
    model = hdbscan.HDBSCAN(min_cluster_size=default_min_cluster_size(x.shape[0]), min_samples=min_samples)
    np.save(labels_out, model.fit(x).labels_)


def assign(data: str, fit_rows: int, points: int, method: str, labels_out: str) -> None:
    """Fit hdbscan as segment does on a seeded sample, then assign *points* others by *method*."""
    import hdbscan
    import numpy as np
    import polars as pl
    from hdbscan.prediction import approximate_predict

    from segment.cluster._assign import TreeAssigner
    from segment.cluster._cluster import default_min_cluster_size
    from segment.cluster._features import prepare

    _, feats = prepare(pl.scan_parquet(data))
    x = feats.matrix
    rows = np.random.default_rng(0).permutation(x.shape[0])
    fit, new = x[np.sort(rows[:fit_rows])], x[rows[fit_rows:fit_rows + points]]
    size = round(default_min_cluster_size(x.shape[0]) * fit_rows / x.shape[0])
    model = hdbscan.HDBSCAN(min_cluster_size=size, min_samples=10, core_dist_n_jobs=1,
                            prediction_data=True).fit(fit)
    if method == "approximate_predict":
        labels, _ = approximate_predict(model, new)
    else:
        labels, _, _ = TreeAssigner(model, fit).assign(new)
    np.save(labels_out, labels)


# ---------------------------------------------------------------- agreement


def labels_of(source: Path):
    """Cluster labels in id order from a segment output (.parquet) or a saved array (.npy)."""
    import numpy as np
    import polars as pl

    if source.suffix == ".parquet":
        return pl.read_parquet(source).sort("customer_id")["cluster"].to_numpy()
    return np.load(source)


def ari(a, b) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def truth_in_id_order(folder: Path):
    import numpy as np
    import polars as pl

    ids = pl.read_parquet(folder / "customers.parquet", columns=["customer_id"])["customer_id"].to_numpy()
    return np.load(folder / "truth.npy")[np.argsort(ids)]


def truth_ari(labels, truth) -> float:
    """ARI against the planted clusters, over customers that are not planted noise."""
    return ari(truth[truth >= 0], labels[truth >= 0])


# ---------------------------------------------------------------- the run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--default-n", type=int, default=100_000,
                    help="size for hdbscan's default min_samples (200,000 peaked at 12.5 GB: not safe when shared)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--assign-points", type=int, default=100_000)
    ap.add_argument("--groups", default="big,small,assign", help="which groups to run")
    args = ap.parse_args()
    out = harness.OUT / "cluster"
    out.mkdir(parents=True, exist_ok=True)
    code = [ROOT / "tests" / "blobs.py"]
    big = harness.cached("cluster", generate, {"n": args.n, "seed": 2024}, code=code, suffix="")
    small = harness.cached("cluster", generate, {"n": args.default_n, "seed": 2025}, code=code, suffix="")
    groups = args.groups.split(",")

    def seg(name: str, folder: Path, output: Path, *extra: str) -> harness.Contender:
        return harness.Contender(name, harness.segment("cluster", str(folder / "customers.parquet"), "-o",
                                                       str(output), "-q", *extra), tree=True)

    def hdb(name: str, folder: Path, min_samples: str, output: Path) -> harness.Contender:
        return harness.Contender(name, [*ME, "plain", str(folder / "customers.parquet"), min_samples, str(output)],
                                 tree=True)

    if "big" in groups:
        seg_big, full_big = out / "segment_big.parquet", out / "plain10_big.npy"
        res = harness.rounds([seg("segment cluster (defaults)", big, seg_big),
                              hdb("plain hdbscan, min_samples=10", big, "10", full_big)], args.repeats)
        checks = harness.Checks()
        truth = truth_in_id_order(big)
        ours, full = labels_of(seg_big), labels_of(full_big)
        a = ari(ours, full)
        checks.add(f"segment cluster against the full fit: ARI >= {MIN_ARI}", a >= MIN_ARI, f"ARI {a:.4f}")
        checks.note("against the planted groups (noise aside), segment / full fit",
                    f"ARI {truth_ari(ours, truth):.4f} / {truth_ari(full, truth):.4f}")
        harness.report("cluster_1m", f"`segment cluster`: {args.n:,} customers x 4 features", res,
                       peer="plain hdbscan, min_samples=10", checks=checks, targets=[
                           harness.Target("`cluster` <= 60 s", "absolute", "segment cluster (defaults)", 60.0),
                           harness.Target("`cluster` <= 2 GB (with workers)", "absolute",
                                          "segment cluster (defaults)", 2048.0, metric="rss"),
                       ])

    if "small" in groups:
        seg_small, full_small, dflt_small = out / "segment_small.parquet", out / "plain10.npy", out / "plaindflt.npy"
        sweep = [(fs, out / f"segment_fs{fs}.parquet") for fs in (10_000, 25_000) if fs < args.default_n]
        res = harness.rounds([
            seg("segment cluster (defaults: --fit-sample 50,000)", small, seg_small),
            *[seg(f"segment cluster --fit-sample {fs:,}", small, path, "--fit-sample", str(fs))
              for fs, path in sweep],
            hdb("plain hdbscan, min_samples=10", small, "10", full_small),
            hdb("plain hdbscan, defaults (min_samples = min_cluster_size)", small, "none", dflt_small),
        ], args.repeats)
        checks = harness.Checks()
        truth = truth_in_id_order(small)
        full = labels_of(full_small)
        a = ari(labels_of(seg_small), full)
        checks.add(f"segment cluster (defaults) against the full fit: ARI >= {MIN_ARI}", a >= MIN_ARI,
                   f"ARI {a:.4f}; against the planted groups {truth_ari(labels_of(seg_small), truth):.4f}")
        for fs, path in sweep:  # smaller samples trade agreement for time: shown, not checked
            checks.note(f"segment cluster --fit-sample {fs:,} against the full fit",
                        f"ARI {ari(labels_of(path), full):.4f}; against the planted groups "
                        f"{truth_ari(labels_of(path), truth):.4f}")
        checks.note("hdbscan defaults against the full fit (different parameters)",
                    f"ARI {ari(labels_of(dflt_small), full):.4f}; full fit against the planted groups "
                   f"{truth_ari(full, truth):.4f}")
        harness.report("cluster_100k", f"`segment cluster`: {args.default_n:,} customers x 4 features", res,
                       peer="plain hdbscan, min_samples=10", checks=checks)

    if "assign" in groups:
        fit_rows = min(50_000, args.n // 2)
        points = min(args.assign_points, args.n - fit_rows)
        paths = {m: out / f"assign_{m}.npy" for m in ("approximate_predict", "tree")}
        res = harness.rounds([
            harness.Contender("fit + hdbscan approximate_predict",
                              [*ME, "assign", str(big / "customers.parquet"), str(fit_rows), str(points),
                               "approximate_predict", str(paths["approximate_predict"])]),
            harness.Contender("fit + segment TreeAssigner",
                              [*ME, "assign", str(big / "customers.parquet"), str(fit_rows), str(points), "tree",
                               str(paths["tree"])]),
        ], args.repeats)
        checks = harness.Checks()
        same = float((labels_of(paths["approximate_predict"]) == labels_of(paths["tree"])).mean())
        checks.add("TreeAssigner gives approximate_predict's labels", same == 1.0, f"{same:.4%} identical")
        harness.report("cluster_assign", f"Assigning {points:,} customers to a model fitted on {fit_rows:,}", res,
                       peer="fit + hdbscan approximate_predict", checks=checks,
                       notes="Both processes read the data and fit the same seeded model; only the assignment "
                             "differs.")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "plain":
        plain(sys.argv[2], None if sys.argv[3] == "none" else int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "assign":
        assign(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        main()
