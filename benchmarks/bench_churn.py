"""Benchmark: segment churn fit, score and features (issue 18).

    .venv/bin/python benchmarks/bench_churn.py fit      [--rows 1000000] [--repeats 2]
    .venv/bin/python benchmarks/bench_churn.py score    [--rows 10000000]
    .venv/bin/python benchmarks/bench_churn.py features [--customers 1330000] [--repeats 2]

Each part is one heavy run (under the shared lock, about 10 minutes at most).

``fit``: 1M customers x 50 numeric features with a planted logistic churn
(10 features carry signal, one pair interacts). Targets: ``segment churn
fit`` costs at most 1.25x plain LightGBM with the same parameters on the
same file. Two peers read the same Parquet file and build the same float32
matrix. The issue's peer trains with the same parameters for as many
rounds as ``fit`` trained in total (its best round plus the 50 of
early-stopping patience, at most ``--rounds``), on all rows; ``fit`` trains
on its 56% training share but also calibrates, validates and explains. The
like-for-like peer does exactly ``fit``'s LightGBM work: training on the
same rows with early stopping on the same calibration rows (it must write
the same trees), then raw scores of the calibration and validation rows and
TreeSHAP contributions of 2,000 validation rows (the drivers); against it
the ratio is what ``fit`` adds to LightGBM (the feature summary, the split,
Platt scaling, thresholds, the evaluation tables and the model folder).

``score``: 10M customers, the same 50 features; the model from ``fit``
alerts the top 10% (``--alert-top 5%,10%``), whose reasons are computed
(path attribution: ``--contrib auto`` uses TreeSHAP up to 50,000 customers).
Targets: under 2 minutes and 4 GB, whole process. The peer is LightGBM's raw
prediction of every row, read 1M rows at a time with both threads (no
calibration, reasons or output).

``features``: ``segment churn features`` against ``segment lifecycle`` on
the same synth panel (1.33M lines x 24 months is about 24M rows). Target:
at most 1.5x lifecycle.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from bench_lifecycle import COLUMNS, synth_panel  # noqa: E402  (the same panel, cached once for both)

OUT = harness.ROOT / "benchmarks" / "out"
FEATURES = 50
PARAMS = ["--rounds", "150", "--seed", "1", "--alert-top", "5%,10%"]


def make_customers(path: Path, rows: int, seed: int) -> None:
    """*rows* customers x 50 float32 features and a planted churn label, written 1M rows at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = np.linspace(0.8, 0.2, 10)
    writer = None
    for lo in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - lo)
        x = rng.standard_normal((n, FEATURES), dtype=np.float32)
        logit = -3.0 + x[:, :10] @ w + 0.5 * x[:, 10] * x[:, 11]
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        cols = {"customer_id": pa.array([f"c{i:08d}" for i in range(lo, lo + n)])}
        cols.update({f"f{j:02d}": pa.array(x[:, j]) for j in range(FEATURES)})
        cols["churn"] = pa.array(y)
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(str(path), table.schema, compression="zstd")
        writer.write_table(table)
    assert writer is not None
    writer.close()


PLAIN_FIT = """
import json, os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import lightgbm as lgb, numpy as np, polars as pl
spec = json.load(open(sys.argv[2]))
df = pl.read_parquet(sys.argv[1])
names = [f["name"] for f in spec["features"]]
x = df.select(names).to_numpy().astype(np.float32)
y = df["churn"].to_numpy()
params = {k: v for k, v in spec["params"].items() if k not in ("num_boost_round", "early_stopping_rounds")}
rounds = int(sys.argv[3])
b = lgb.train(params, lgb.Dataset(x, y, params={"max_bin": 255, "verbosity": -1}), num_boost_round=rounds)
open(sys.argv[4], "w").write(b.model_to_string())
"""

SAME_FIT = """
import json, os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import lightgbm as lgb, numpy as np, polars as pl
spec = json.load(open(sys.argv[2]))
masks = np.load(sys.argv[3])
df = pl.read_parquet(sys.argv[1])
names = [f["name"] for f in spec["features"]]
x = df.select(names).to_numpy().astype(np.float32)
y = df["churn"].to_numpy()
params = {k: v for k, v in spec["params"].items() if k not in ("num_boost_round", "early_stopping_rounds")}
train, cal = masks["train"], masks["cal"]
model_names = [f["model_name"] for f in spec["features"]]
dtrain = lgb.Dataset(x[train], y[train], feature_name=model_names, params={"max_bin": 255, "verbosity": -1})
dcal = lgb.Dataset(x[cal], y[cal], reference=dtrain)
b = lgb.train(params, dtrain, num_boost_round=int(sys.argv[4]), valid_sets=[dcal],
              callbacks=[lgb.early_stopping(50, verbose=False)])
best = b.best_iteration or int(sys.argv[4])
open(sys.argv[5], "w").write(b.model_to_string(num_iteration=best))
raw_cal = b.predict(x[cal], raw_score=True, num_iteration=best)
raw_valid = b.predict(x[masks["valid"]], raw_score=True, num_iteration=best)
contrib = b.predict(x[np.flatnonzero(masks["valid"])[:2000]], pred_contrib=True, num_iteration=best)
"""

PLAIN_PREDICT = """
import os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import lightgbm as lgb, numpy as np, polars as pl
b = lgb.Booster(model_file=sys.argv[2])
lf = pl.scan_parquet(sys.argv[1])
names = b.feature_name()
n = lf.select(pl.len()).collect().item()
total = 0.0
for lo in range(0, n, 1_000_000):
    x = lf.slice(lo, 1_000_000).select(names).collect().to_numpy().astype(np.float32)
    total += float(b.predict(x, raw_score=True, num_threads=2).sum())
print(total)
"""


def fit_part(args: argparse.Namespace) -> None:
    data = harness.cached("churn_customers", make_customers, {"rows": args.rows, "seed": 1})
    model = OUT / "churn_model"
    # One untimed fit tells how many rounds fit trains, so that the peer trains as many.
    subprocess.run(harness.segment("churn", "fit", str(data), "-o", str(model), *PARAMS, "-q"), check=True)
    spec = json.loads((model / "model.json").read_text())
    best = spec["params"]["num_boost_round"]
    trained = min(150, best + 50)
    masks = OUT / "churn_split.npz"
    write_split(data, masks)
    c = harness.Contender
    peer = "peer: plain LightGBM, same parameters and file"
    like = "peer: plain LightGBM doing fit's LightGBM work"
    results = harness.rounds([
        c(peer, harness.python(PLAIN_FIT, str(data), str(model / "model.json"), str(trained),
                               str(OUT / "plain_model.txt"))),
        c(like, harness.python(SAME_FIT, str(data), str(model / "model.json"), str(masks), "150",
                               str(OUT / "same_model.txt"))),
        c("segment churn fit", harness.segment("churn", "fit", str(data), "-o", str(OUT / "churn_model_timed"),
                                               *PARAMS, "-q")),
    ], args.repeats)
    checks = harness.Checks()
    same = (OUT / "churn_model_timed" / "model.txt").read_text() == (model / "model.txt").read_text()
    checks.add("the timed fit wrote the same model bytes as the first fit", same)
    checks.add("the like-for-like peer trained the same trees as fit",
               tree_text(OUT / "same_model.txt") == tree_text(model / "model.txt"))
    metrics = json.loads((model / "metrics.json").read_text())
    checks.note("validation AUC (planted logistic churn)", f"{metrics['auc']:.3f}; best round {best}, "
                f"trained {trained}; peer trains {trained} rounds on all {args.rows:,} rows")
    targets = [harness.Target("`churn fit` <= 1.25x plain LightGBM", "ratio", "segment churn fit", 1.25, peer=peer),
               harness.Target("`churn fit` <= 1.25x plain LightGBM doing fit's LightGBM work", "ratio",
                              "segment churn fit", 1.25, peer=like)]
    harness.report("churn_fit", f"`segment churn fit`: {args.rows:,} customers x {FEATURES} features", results,
                   peer=peer, checks=checks, targets=targets,
                   notes="Options: " + " ".join(PARAMS) + ". LightGBM 4.7.0, 2 threads, deterministic, row-wise.")


def write_split(data: Path, path: Path) -> None:
    """fit's training and calibration rows (untimed), for the like-for-like peer."""
    import numpy as np
    import polars as pl

    from segment.churn._evaluate import target_values
    from segment.churn._model import _split

    frame = pl.read_parquet(data, columns=["churn"])
    train, cal, valid, _ = _split(frame, target_values(frame["churn"], "churn"), None, 1)
    np.savez(path, train=train, cal=cal, valid=valid)


def tree_text(path: Path) -> str:
    """A LightGBM model text from its first tree to the end of the trees (the header names the parameters)."""
    text = path.read_text()
    return text[text.index("Tree=0"):text.index("end of trees")]


def score_part(args: argparse.Namespace) -> None:
    model = OUT / "churn_model"
    if not (model / "model.json").exists():
        raise SystemExit("run the fit part first (it writes benchmarks/out/churn_model)")
    data = harness.cached("churn_customers", make_customers, {"rows": args.rows, "seed": 2})
    c = harness.Contender
    peer = "peer: LightGBM raw prediction of every row"
    results = harness.rounds([
        c(peer, harness.python(PLAIN_PREDICT, str(data), str(model / "model.txt"))),
        c("segment churn score", harness.segment("churn", "score", str(data), "--model", str(model), "-o",
                                                 str(OUT / "churn_scores.parquet"), "-q")),
    ], args.repeats)
    import polars as pl

    out = pl.scan_parquet(OUT / "churn_scores.parquet")
    stats = out.select(pl.len(), pl.col("reason_1").is_not_null().sum(),
                       (pl.col("alert") != "green").sum()).collect().row(0)
    checks = harness.Checks()
    checks.add("one row per customer", stats[0] == args.rows, f"{stats[0]:,} rows")
    checks.note("customers alerted (red or amber) / with reasons", f"{stats[2]:,} / {stats[1]:,}")
    name = "segment churn score"
    targets = [harness.Target("`churn score` < 120 s", "absolute", name, 120.0),
               harness.Target("`churn score` <= 4 GB", "absolute", name, 4096.0, metric="rss")]
    harness.report("churn_score", f"`segment churn score`: {args.rows:,} customers, reasons for the top 10%", results,
                   peer=peer, checks=checks, targets=targets, notes="Model: the `fit` part's (1M x 50).")


def features_part(args: argparse.Namespace) -> None:
    folder = harness.cached("synth_panel", synth_panel, {"customers": args.customers, "months": 24, "seed": 1},
                            code=[harness.ROOT / "segment" / "synth", harness.ROOT / "cli" / "synth.py"], suffix="")
    panel = folder / "panel.parquet"
    import polars as pl

    rows = pl.scan_parquet(panel).select(pl.len()).collect().item()
    c = harness.Contender
    peer = "segment lifecycle (snapshot)"
    results = harness.rounds([
        c(peer, harness.segment("lifecycle", str(panel), *COLUMNS, "-o", str(OUT / "stages.parquet"), "-q")),
        c("segment churn features", harness.segment("churn", "features", str(panel), "--as-of", "2024-12",
                                                    *COLUMNS, "-o", str(OUT / "churn_features.parquet"), "-q")),
    ], args.repeats)
    checks = harness.Checks()
    feats = pl.scan_parquet(OUT / "churn_features.parquet").select(pl.len()).collect().item()
    stages = pl.scan_parquet(OUT / "stages.parquet").filter(pl.col("stage") != "exit").select(pl.len()).collect().item()
    checks.note("customers with features / lifecycle customers not exited", f"{feats:,} / {stages:,} "
                "(features also leave out lines silent in the as-of month)")
    targets = [harness.Target("`churn features` <= 1.5x lifecycle", "ratio", "segment churn features", 1.5, peer=peer)]
    harness.report("churn_features", f"`segment churn features`: {rows:,} customer-months", results, peer=peer,
                   checks=checks, targets=targets,
                   notes=f"Panel: `segment synth --customers {args.customers:,} --months 24 --seed 1 --tables panel`.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=("fit", "score", "features"))
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--customers", type=int, default=1_330_000)
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.part == "fit":
        args.rows = args.rows or 1_000_000
        args.repeats = args.repeats or 2
        fit_part(args)
    elif args.part == "score":
        args.rows = args.rows or 10_000_000
        args.repeats = args.repeats or 1
        score_part(args)
    else:
        args.repeats = args.repeats or 2
        features_part(args)


if __name__ == "__main__":
    main()
