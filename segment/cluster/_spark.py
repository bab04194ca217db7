"""``cluster`` with ``--engine spark``: fit on the driver, assign on the executors.

The steps and the small tables that come back to the driver:

1. Checks (empty or repeated ids, empty or infinite features, constant
   features) and the log / scale choice: one aggregation per step
   (minimum, maximum, skewness, exact quartiles, mean and sd).
2. Rows are numbered in id order (a sort), and the fit sample is the same
   positions :func:`~segment.cluster._cluster.sample_rows` draws with the
   polars engine, so the same rows are fitted, in the same order, and the
   model is the same. Only those rows are collected.
3. The fitted model is broadcast; every row is transformed and assigned on
   the executors (:func:`segment.spark.map_polars`) by the same functions
   as with polars (``log1p``, ``rescale``, the engine's ``assign``);
   fitted rows keep their fitted labels.
4. Counts and first positions per label give the renumbering; per-cluster
   counts, means, squared deviations and medians give the profile through
   :func:`~segment.cluster._profile.profile_from_stats`.

Stability refits run on the driver, on the fit sample, as with polars.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl

from segment import spark as engine_
from segment.cluster._cluster import (ClusterResult, Progress, _check_options, _engine, check_found, renumbering,
                                      sample_rows)
from segment.cluster._features import OUTPUT_COLUMNS, _choose, auto_log, empty_features, log1p, rescale, scale_choice
from segment.cluster._profile import bootstrap_stability, profile_from_stats
from segment.errors import DataError, OptionError, SegmentWarning
from segment.stats.groupstats import NumericStats

ROW, LABEL, CODE = "_segment_row", "_segment_label", "_segment_code"


def cluster_spark(frame: Any, *, id: str, features: list[str] | None, log: Any, scale: str, algorithm: str,
                  min_cluster_size: int | None, min_samples: int, selection: str, epsilon: float, k: int | None,
                  noise: str, fit_sample: int, stability: int, drop_nulls: bool, seed: int,
                  progress: Progress | None = None) -> ClusterResult:
    """:func:`segment.cluster.cluster` on a Spark DataFrame; the table in the result is a Spark DataFrame."""
    from pyspark.sql import functions as F

    _check_options(algorithm, k, noise, fit_sample, stability, min_samples, selection, epsilon, min_cluster_size)
    if scale not in ("robust", "standard", "none"):
        raise OptionError(f"--scale must be robust, standard or none, got {scale!r}")
    schema = pl.from_arrow(frame.limit(0).toArrow()).schema
    if id not in schema:
        from segment.errors import ColumnNotFoundError

        raise ColumnNotFoundError(id, schema.names(), role="id")
    names = _choose(schema, id, features)
    for name in names:
        if not schema[name].is_numeric():
            raise OptionError(f"feature {name!r} is {schema[name]} in the Spark input; with --engine spark "
                              "features must be numeric columns (cast them in the table)")
    frame, dropped = _checks(frame, id, names, drop_nulls)
    raw_cols = [F.col(f"`{n}`").cast("double") for n in names]

    # Log choice on the raw values, scale on the logged ones: aggregations only.
    first = frame.agg(*[F.min(c) for c in raw_cols], *[F.max(c) for c in raw_cols],
                      *[F.skewness(c) for c in raw_cols]).first()
    p = len(names)
    low, high, skew = first[:p], first[p:2 * p], first[2 * p:]
    for j, name in enumerate(names):
        if low[j] == high[j]:
            raise DataError(f"feature {name!r} is constant (every value is {low[j]:g}), so it cannot "
                            "separate customers; leave it out with --features")
    inner = frame.agg(*[F.count(F.when((c > low[j]) & (c < high[j]), 1)) for j, c in enumerate(raw_cols)]).first()
    logged = _log_choice(log, names, low, skew, inner)
    logged_frame = engine_.map_polars(frame.select(*[c.alias(n) for c, n in zip(raw_cols, names, strict=True)]),
                                      _logger(names, logged), {n: pl.Float64 for n in names})
    centers, spreads, scaling = _scaling(logged_frame, names, scale)

    # Row positions in id order, then the same sample as the polars engine.
    indexed = _numbered(frame, id)
    n = indexed.count()
    rng = np.random.default_rng(seed)
    fit_rows = sample_rows(n, fit_sample, rng)
    model, sizes = _engine(algorithm, n, fit_rows.size, min_cluster_size, min_samples, selection, epsilon, k, seed)
    spark = frame.sparkSession
    wanted = spark.createDataFrame([(int(r),) for r in fit_rows], f"{ROW} bigint")
    sample = engine_.to_polars(indexed.join(F.broadcast(wanted), ROW).select(ROW, *raw_cols)).sort(ROW)
    X_fit = rescale(log1p(sample.select(names).to_numpy().astype(np.float64), names, logged), centers, spreads)
    if progress:
        progress("fit", 0, 1)
    model.fit(X_fit)
    if progress:
        progress("fit", 1, 1)

    fitted = spark.sparkContext.broadcast(_Fitted(model, fit_rows, names, logged, centers, spreads, noise))
    clash = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    if clash:
        warnings.warn(f"replaced the input's {', '.join(repr(c) for c in clash)} column(s) with new results",
                      SegmentWarning, stacklevel=3)
    out_schema = {ROW: pl.Int64, LABEL: pl.Int64, "cluster_probability": pl.Float64, "outlier_score": pl.Float64,
                  **({"_segment_nearest": pl.Int64} if noise == "nearest" else {}),
                  **{f"_segment_x{j}": pl.Float64 for j in range(p)}, **{f"_segment_raw{j}": pl.Float64 for j in range(p)}}
    assigned = engine_.map_polars(indexed.select(ROW, *[c.alias(nm) for c, nm in zip(raw_cols, names, strict=True)]),
                                  lambda batch: fitted.value.assign(batch), out_schema).cache()

    per_label = engine_.to_polars(assigned.groupBy(LABEL).agg(F.count(F.lit(1)).alias("n"),
                                                              F.min(ROW).alias("first"))).sort(LABEL)
    old, firsts, counts = (per_label[c].to_numpy() for c in (LABEL, "first", "n"))
    check_found(int((old >= 0).sum()), int(counts[old < 0].sum()), n, algorithm)
    lookup = renumbering(old, firsts, counts)
    renumber = F.array(*[F.lit(int(v)) for v in lookup])

    def relabel(column: str) -> Any:
        return F.element_at(renumber, F.col(column).cast("int") + 2).cast("int")

    clusters = int(lookup.max()) + 1
    code = F.when(relabel(LABEL) >= 0, relabel(LABEL)).otherwise(F.lit(clusters))
    stats = engine_.to_polars(
        assigned.groupBy(code.alias(CODE))
        .agg(F.count(F.lit(1)).alias("n"),
             *[F.avg(f"_segment_raw{j}").alias(f"raw_mean{j}") for j in range(p)],
             *[F.percentile(f"_segment_raw{j}", 0.5).alias(f"raw_median{j}") for j in range(p)],
             *[F.avg(f"_segment_x{j}").alias(f"mean{j}") for j in range(p)],
             *[(F.var_pop(f"_segment_x{j}") * F.count(F.lit(1))).alias(f"m2{j}") for j in range(p)]))
    raw_stats, scaled_stats = _numeric_stats(stats, clusters + 1, p)

    fit_labels = lookup[model.labels_ + 1]
    scores = None
    if stability:
        def refit(rows_x: np.ndarray, b: int) -> np.ndarray:
            return model.clone(seed=seed + b + 1).fit(rows_x).labels_

        scores = bootstrap_stability(X_fit, fit_labels, refit, stability, rng, progress)
    prof = profile_from_stats(raw_stats, scaled_stats, names, scores)

    columns = [relabel(LABEL).alias("cluster"), F.col("cluster_probability"), F.col("outlier_score")]
    if noise == "nearest":
        columns.append(relabel("_segment_nearest").alias("nearest_cluster"))
    table = (indexed.drop(*clash).join(assigned.select(ROW, *columns), ROW).orderBy(ROW).drop(ROW))
    feats = {"features": names, "log1p": logged, "scaling": scaling, "rows_dropped_for_nulls": dropped}
    params = {
        "algorithm": algorithm, "scale": scale, **feats, **sizes, "seed": seed, "noise": noise,
        "fit_sample": fit_sample, "fit_rows": int(fit_rows.size), "assigned_rows": int(n - fit_rows.size),
        "order": f"rows sorted by {id!r} (unique) before fitting; clusters numbered by size, "
                 "ties by smallest id",
        "stability_rounds": stability, "engine": "spark",
    }
    result_stats = {"customers": n, "clusters": clusters, "noise": int(counts[old < 0].sum()),
                    "fit_rows": int(fit_rows.size), "assigned_rows": int(n - fit_rows.size),
                    "rows_dropped_for_nulls": dropped}
    return ClusterResult(table, prof, params, result_stats)


class _Fitted:
    """What the executors need: the fitted engine, the fitted positions and their results, the transform."""

    def __init__(self, model: Any, fit_rows: np.ndarray, names: list[str], logged: list[str],
                 centers: list[float], spreads: list[float], noise: str):
        self.model, self.fit_rows, self.names, self.logged = model, fit_rows, names, logged
        self.centers, self.spreads, self.noise = centers, spreads, noise
        self.labels = model.labels_
        self.prob, self.outlier = model.probabilities_, model.outlier_scores_
        if hasattr(model, "assigner"):
            model.assigner  # built once on the driver, shipped with the broadcast  # noqa: B018

    def assign(self, batch: pl.DataFrame) -> pl.DataFrame:
        rows = batch[ROW].to_numpy()
        X = rescale(log1p(batch.select(self.names).to_numpy().astype(np.float64), self.names, self.logged),
                    self.centers, self.spreads)
        at = np.searchsorted(self.fit_rows, rows)
        is_fit = (at < self.fit_rows.size) & (self.fit_rows[np.minimum(at, self.fit_rows.size - 1)] == rows)
        labels = np.empty(rows.size, dtype=np.int64)
        prob, outlier = np.empty(rows.size), np.empty(rows.size)
        fit_at = at[is_fit]
        labels[is_fit], prob[is_fit], outlier[is_fit] = self.labels[fit_at], self.prob[fit_at], self.outlier[fit_at]
        rest = np.flatnonzero(~is_fit)
        if rest.size:
            labels[rest], prob[rest], outlier[rest] = self.model.assign(X[rest])
        out = {ROW: rows, LABEL: labels, "cluster_probability": prob, "outlier_score": outlier}
        if self.noise == "nearest":
            nearest = labels.copy()
            lost = np.flatnonzero(labels < 0)
            if lost.size:
                nearest[lost] = self.model.nearest_cluster(X[lost])
            out["_segment_nearest"] = nearest
        out.update({f"_segment_x{j}": X[:, j] for j in range(X.shape[1])})
        out.update({f"_segment_raw{j}": batch[name].cast(pl.Float64) for j, name in enumerate(self.names)})
        return pl.DataFrame(out)


def _logger(names: list[str], logged: list[str]):
    def run(batch: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame(log1p(batch.select(names).to_numpy().astype(np.float64), names, logged), schema=names,
                            orient="row")
    return run


def _checks(frame: Any, id: str, names: list[str], drop_nulls: bool) -> tuple[Any, int]:
    """Empty or repeated ids, infinite and empty features: the polars engine's rules, from counts."""
    from pyspark.sql import functions as F

    def empty(name: str) -> Any:
        c = F.col(f"`{name}`").cast("double")
        return c.isNull() | F.isnan(c)

    row = frame.agg(F.count(F.lit(1)), F.count(F.when(F.col(f"`{id}`").isNull(), 1)),
                    *[F.count(F.when(empty(nm), 1)) for nm in names],
                    *[F.count(F.when(F.abs(F.col(f"`{nm}`").cast("double")) == float("inf"), 1)) for nm in names]
                    ).first()
    total, null_ids = row[0], row[1]
    nulls, infinite = row[2:2 + len(names)], row[2 + len(names):]
    if total == 0:
        raise DataError("no customers in the input")
    if null_ids:
        raise DataError(f"column {id!r} is empty in {null_ids:,} rows; every customer needs an id "
                        "(clusters are made reproducible by sorting on it)")
    dup = frame.groupBy(f"`{id}`").count().where(F.col("count") > 1).orderBy(f"`{id}`").limit(1).collect()
    if dup:
        raise DataError(f"customer {dup[0][0]!r} appears {dup[0][1]} times; cluster needs one row per customer")
    for name, count in zip(names, infinite, strict=True):
        if count:
            raise DataError(f"feature {name!r} is infinite in {count:,} rows; fix or drop those rows")
    empty_counts = empty_features(dict(zip(names, nulls, strict=True)), total)
    if not empty_counts:
        return frame, 0
    if not drop_nulls:
        name, count = next(iter(empty_counts.items()))
        raise DataError(f"feature {name!r} is empty (null or NaN) in {count:,} rows; fill or drop those rows, "
                        "or pass --drop-nulls")
    keep = F.lit(True)
    for name in names:
        keep = keep & ~empty(name)
    kept = frame.where(keep)
    dropped = total - kept.count()
    warnings.warn(f"dropped {dropped:,} rows with empty features (--drop-nulls)", SegmentWarning, stacklevel=3)
    return kept, dropped


def _log_choice(log: Any, names: list[str], low: list[float], skew: list[float | None],
                inner: list[int]) -> list[str]:
    if isinstance(log, str):
        if log == "auto":
            # Spark's skewness is the population one, as the polars engine's; rounded the same way.
            return [n for j, n in enumerate(names)
                    if auto_log(low[j], round(float(skew[j] or 0.0), 9), inner[j] > 0)]
        if log == "none":
            return []
        log = [part.strip() for part in log.split(",") if part.strip()]
    from segment.errors import ColumnNotFoundError

    for name in log:
        if name not in names:
            raise ColumnNotFoundError(name, names, role="--log feature")
        if low[names.index(name)] < 0:
            raise DataError(f"--log {name}: the feature has negative values (down to {low[names.index(name)]:g}); "
                            "log1p needs values >= 0, so leave it out of --log")
    return [n for n in names if n in log]


def _scaling(logged: Any, names: list[str], scale: str) -> tuple[list[float], list[float], dict]:
    from pyspark.sql import functions as F

    p = len(names)
    quartiles = [F.percentile(F.col(f"`{n}`"), [0.25, 0.5, 0.75]) for n in names] if scale == "robust" else []
    row = logged.agg(*[F.avg(f"`{n}`") for n in names], *[F.stddev_pop(f"`{n}`") for n in names],
                     *quartiles).first()
    centers, spreads, scaling = [], [], {}
    for j, name in enumerate(names):
        q1, median, q3 = row[2 * p + j] if scale == "robust" else (0.0, 0.0, 0.0)
        center, spread, scaling[name] = scale_choice(name, scale, q1, median, q3, row[j], row[p + j])
        centers.append(center)
        spreads.append(spread)
    return centers, spreads, scaling


def _numbered(frame: Any, id: str) -> Any:
    """*frame* sorted by *id* with its position in that order (``zipWithIndex``: no single-partition window)."""
    from pyspark.sql.types import LongType, StructField, StructType

    ordered = frame.orderBy(f"`{id}`")
    schema = StructType([*ordered.schema.fields, StructField(ROW, LongType(), False)])
    rows = ordered.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
    return frame.sparkSession.createDataFrame(rows, schema).cache()


def _numeric_stats(stats: pl.DataFrame, k: int, p: int) -> tuple[list[NumericStats], list[NumericStats]]:
    """Per feature, :class:`NumericStats` of the raw values (means, medians) and of the clustered ones (n, means, m2)."""
    code = stats[CODE].to_numpy()
    n = np.zeros(k, dtype=np.int64)
    n[code] = stats["n"].to_numpy()

    def column(name: str) -> np.ndarray:
        out = np.full(k, np.nan)
        out[code] = stats[name].cast(pl.Float64).to_numpy()
        return out

    empty = np.zeros(k)
    raw = [NumericStats(n, column(f"raw_mean{j}"), empty, empty, column(f"raw_median{j}"), int(n.sum()), 0.0)
           for j in range(p)]
    scaled = [NumericStats(n, column(f"mean{j}"), np.nan_to_num(column(f"m2{j}")), empty, empty, int(n.sum()), 0.0)
              for j in range(p)]
    return raw, scaled
