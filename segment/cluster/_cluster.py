"""Customer clusters with hdbscan (or k-means), at the scale of a customer base.

:func:`cluster` checks and transforms the features
(:mod:`segment.cluster._features`), fits the engine
(:mod:`segment.cluster._engines`) on at most ``fit_sample`` customers drawn
with the seed, gives every other customer the cluster hdbscan's
``approximate_predict`` would give (:mod:`segment.cluster._assign`, same rule,
vectorised), renumbers clusters by size, and describes them
(:mod:`segment.cluster._profile`).

Reproducibility: rows are sorted by the customer id before anything else,
ids must be unique and non-empty (so there are no ties to break), and every
random choice comes from ``numpy.random.default_rng(seed)``. The same input,
options and seed give the same labels whatever the input's row order.
Clusters are numbered 0, 1, ... by size, largest first; equal sizes are
ordered by their smallest customer id. Noise is -1.

Examples
--------
>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(7)
>>> spend = np.concatenate([rng.normal(20, 2, 150), rng.normal(80, 5, 90)])
>>> calls = np.concatenate([rng.normal(300, 20, 150), rng.normal(60, 8, 90)])
>>> customers = pl.DataFrame({"customer_id": [f"c{i:03d}" for i in range(240)],
...                           "spend": spend, "calls": calls})
>>> res = cluster(customers, min_cluster_size=30, seed=1)
>>> res.table.group_by("cluster").len().sort("cluster").rows()
[(0, 150), (1, 90)]
>>> res.profile.select("cluster", "customers", "distinctive").rows()
[(0, 150, 'spend -18.9, calls +15.2'), (1, 90, 'spend +18.9, calls -15.2')]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from segment.cluster._engines import HDBSCANEngine, KMeansEngine, check_hdbscan_options
from segment.cluster._features import OUTPUT_COLUMNS, prepare
from segment.cluster._profile import bootstrap_stability, profile
from segment.errors import DataError, OptionError, SegmentWarning
from segment.spark import is_spark

Progress = Callable[[str, int, int | None], None]

#: Rows fitted directly; the rest are assigned. Chosen from measurements
#: (docs/cluster.md): on 2 cores a 50,000-row Boruvka fit takes about 6 s and
#: agrees with a full fit at ARI >= 0.99 on planted customer data, while
#: fit time grows faster than linearly (about 50 s at 200,000 rows).
DEFAULT_FIT_SAMPLE = 50_000
DEFAULT_MIN_SAMPLES = 10
#: Default smallest cluster: 1 % of customers, at least 30. Smaller groups
#: are rarely worth a campaign and inflate the number of segments.
MIN_CLUSTER_SHARE, MIN_CLUSTER_FLOOR = 0.01, 30


@dataclass
class ClusterResult:
    """What :func:`cluster` returns.

    Attributes
    ----------
    table : pl.DataFrame
        The input rows, sorted by id, plus ``cluster``,
        ``cluster_probability``, ``outlier_score`` (and ``nearest_cluster``
        with ``noise="nearest"``).
    profile : pl.DataFrame
        One row per cluster (see :mod:`segment.cluster._profile`).
    params : dict
        Every resolved setting (features, transforms, sizes, sample).
    stats : dict
        Counts: customers, clusters, noise, fitted and assigned rows.
    """

    table: pl.DataFrame
    profile: pl.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


def default_min_cluster_size(n: int) -> int:
    """``max(30, ceil(1 % of n))``.

    >>> default_min_cluster_size(1_000), default_min_cluster_size(250_000)
    (30, 2500)
    """
    return max(MIN_CLUSTER_FLOOR, math.ceil(MIN_CLUSTER_SHARE * n))


def cluster(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    id: str = "customer_id",
    features: Sequence[str] | None = None,
    log: str | Sequence[str] = "auto",
    scale: Literal["robust", "standard", "none"] = "robust",
    algorithm: Literal["hdbscan", "kmeans"] = "hdbscan",
    min_cluster_size: int | None = None,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    selection: Literal["eom", "leaf"] = "eom",
    epsilon: float = 0.0,
    k: int | None = None,
    noise: Literal["keep", "nearest"] = "keep",
    fit_sample: int = DEFAULT_FIT_SAMPLE,
    stability: int = 0,
    drop_nulls: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
) -> ClusterResult:
    """Cluster customers on their numeric features.

    Parameters
    ----------
    frame
        One row per customer; a Spark DataFrame runs on Spark
        (:mod:`segment.cluster._spark`: the sample is fitted on the driver,
        every row assigned on the executors; ``table`` is then a Spark
        DataFrame).
    id
        Customer key (unique, non-empty).
    features
        Columns to cluster on; default every numeric column except the id
        and score / label / result columns (named, or ending in, ``score``,
        ``cell``, ``cluster``, ``label``, ``segment``, ``stage``, ``id``).
    log
        ``"auto"`` (log1p for non-negative features with skewness above 1),
        ``"none"``, or the features to log1p.
    scale
        ``"robust"`` (median / IQR), ``"standard"`` (mean / sd) or ``"none"``.
    algorithm
        ``"hdbscan"`` or ``"kmeans"`` (needs *k*).
    min_cluster_size
        Smallest cluster, in customers of the whole input (default
        ``max(30, 1 % of customers)``); scaled to the fit sample.
    min_samples, selection, epsilon
        hdbscan's ``min_samples``, ``cluster_selection_method`` and
        ``cluster_selection_epsilon`` (in scaled units).
    k
        Number of groups for k-means.
    noise
        ``"nearest"`` adds ``nearest_cluster``: the cluster of the nearest
        clustered customer, for noise; the own cluster for everyone else.
    fit_sample
        Fit on at most this many customers (a seeded random sample) and
        assign the rest.
    stability
        Bootstrap refits for the stability column of the profile (0: none).
    drop_nulls
        Drop customers with an empty feature (with a warning) instead of
        stopping with an error.
    seed
        Seed for the sample, the bootstrap and k-means.
    progress
        ``progress(task, done, total)`` callback.
    """
    if is_spark(frame):
        from segment.cluster._spark import cluster_spark

        return cluster_spark(frame, id=id, features=features, log=log, scale=scale, algorithm=algorithm,
                             min_cluster_size=min_cluster_size, min_samples=min_samples, selection=selection,
                             epsilon=epsilon, k=k, noise=noise, fit_sample=fit_sample, stability=stability,
                             drop_nulls=drop_nulls, seed=seed, progress=progress)
    _check_options(algorithm, k, noise, fit_sample, stability, min_samples, selection, epsilon,
                   min_cluster_size)
    table, feats = prepare(frame.lazy(), id=id, features=features, log=log, scale=scale,
                           drop_nulls=drop_nulls)
    X, n = feats.matrix, table.height
    rng = np.random.default_rng(seed)
    fit_rows = sample_rows(n, fit_sample, rng)
    engine, sizes = _engine(algorithm, n, fit_rows.size, min_cluster_size, min_samples, selection,
                            epsilon, k, seed)

    if progress:
        progress("fit", 0, 1)
    engine.fit(X[fit_rows])
    if progress:
        progress("fit", 1, 1)
    labels = np.empty(n, dtype=np.int64)
    prob, outlier = np.empty(n), np.empty(n)
    labels[fit_rows], prob[fit_rows], outlier[fit_rows] = engine.labels_, engine.probabilities_, engine.outlier_scores_
    rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
    if rest.size:
        labels[rest], prob[rest], outlier[rest] = engine.assign(X[rest], progress)
    _check_found(labels, algorithm)

    renumber = _renumbering(labels)
    labels = renumber[labels + 1]
    fit_labels = renumber[engine.labels_ + 1]
    columns = {"cluster": pl.Series(labels, dtype=pl.Int32),
               "cluster_probability": pl.Series(prob, dtype=pl.Float64),
               "outlier_score": pl.Series(outlier, dtype=pl.Float64)}
    if noise == "nearest":
        nearest = labels.copy()
        lost = np.flatnonzero(labels < 0)
        if lost.size:
            nearest[lost] = renumber[engine.nearest_cluster(X[lost]) + 1]
        columns["nearest_cluster"] = pl.Series(nearest, dtype=pl.Int32)

    scores = None
    if stability:
        def refit(rows_x: np.ndarray, b: int) -> np.ndarray:
            return engine.clone(seed=seed + b + 1).fit(rows_x).labels_

        scores = bootstrap_stability(X[fit_rows], fit_labels, refit, stability, rng, progress)

    clash = [c for c in OUTPUT_COLUMNS if c in table.columns]
    if clash:
        warnings.warn(f"replaced the input's {', '.join(repr(c) for c in clash)} column(s) with new results",
                      SegmentWarning, stacklevel=2)
    table = table.drop(clash).with_columns(**columns)
    prof = profile(feats.raw, X, labels, feats.names, scores)
    params = {
        "algorithm": algorithm, "scale": scale, **feats.params(), **sizes, "seed": seed, "noise": noise,
        "fit_sample": fit_sample, "fit_rows": int(fit_rows.size), "assigned_rows": int(rest.size),
        "order": f"rows sorted by {id!r} (unique) before fitting; clusters numbered by size, "
                 "ties by smallest id",
        "stability_rounds": stability,
    }
    stats = {"customers": n, "clusters": int(labels.max()) + 1, "noise": int((labels < 0).sum()),
             "fit_rows": int(fit_rows.size), "assigned_rows": int(rest.size),
             "rows_dropped_for_nulls": feats.dropped}
    return ClusterResult(table, prof, params, stats)


def _check_options(algorithm: str, k: int | None, noise: str, fit_sample: int, stability: int,
                   min_samples: int, selection: str, epsilon: float, min_cluster_size: int | None) -> None:
    if algorithm not in ("hdbscan", "kmeans"):
        raise OptionError(f"--algorithm must be hdbscan or kmeans, got {algorithm!r}")
    if algorithm == "kmeans":
        if k is None:
            raise OptionError("--algorithm kmeans needs --k, the number of groups (e.g. --k 5)")
        if k < 2:
            raise OptionError(f"--k must be 2 or more, got {k}")
    elif k is not None:
        raise OptionError("--k only applies to --algorithm kmeans; hdbscan finds the number of clusters")
    else:
        check_hdbscan_options(min_cluster_size or 2, min_samples, selection, epsilon)
    if noise not in ("keep", "nearest"):
        raise OptionError(f"--noise must be keep or nearest, got {noise!r}")
    if fit_sample < 100:
        raise OptionError(f"--fit-sample must be at least 100, got {fit_sample}")
    if stability < 0:
        raise OptionError(f"--stability must be 0 or more, got {stability}")


def _engine(algorithm: str, n: int, n_fit: int, min_cluster_size: int | None, min_samples: int,
            selection: str, epsilon: float, k: int | None, seed: int):
    if algorithm == "kmeans":
        if n < k:  # type: ignore[operator]
            raise DataError(f"only {n:,} customers, fewer than --k {k}; lower --k")
        return KMeansEngine(k=k, seed=seed), {"k": k}  # type: ignore[arg-type]
    size = default_min_cluster_size(n) if min_cluster_size is None else min_cluster_size
    if size < 2:
        raise OptionError(f"--min-size must be 2 or more, got {size}")
    if n < size:
        raise DataError(f"only {n:,} customers, fewer than --min-size {size:,}, so no cluster "
                        "can form; lower --min-size")
    in_fit = size if n_fit == n else max(2, round(size * n_fit / n))
    if in_fit < min_samples:
        if n_fit == n:
            advice = f"--min-size {size:,} is below --min-samples {min_samples}; clusters that small " \
                     "are hard to tell from noise: raise --min-size or lower --min-samples"
        else:
            advice = f"--min-size {size:,} is only {in_fit} rows of the {n_fit:,}-row fit sample; " \
                     "clusters that small are hard to tell from noise: raise --fit-sample"
        warnings.warn(advice, SegmentWarning, stacklevel=3)
    engine = HDBSCANEngine(min_cluster_size=in_fit, min_samples=min_samples, selection=selection,
                           epsilon=epsilon)
    return engine, {"min_cluster_size": size, "min_cluster_size_in_fit": in_fit,
                    "min_samples": min_samples, "selection": selection, "epsilon": epsilon}


def sample_rows(n: int, fit_sample: int, rng: np.random.Generator) -> np.ndarray:
    """Positions (in id order) of the rows fitted directly: all of them, or a seeded sample of *fit_sample*.

    >>> sample_rows(5, 100, np.random.default_rng(0)).tolist()
    [0, 1, 2, 3, 4]
    """
    return np.arange(n) if n <= fit_sample else np.sort(rng.choice(n, size=fit_sample, replace=False))


def _check_found(labels: np.ndarray, algorithm: str) -> None:
    check_found(np.unique(labels[labels >= 0]).size, int((labels < 0).sum()), labels.size, algorithm)


def check_found(found: int, noise: int, total: int, algorithm: str) -> None:
    """Refuse a clustering with fewer than two clusters (hdbscan), from the counts."""
    if found >= 2 or algorithm == "kmeans":
        return
    hint = ("try a smaller --min-size or --min-samples, --selection leaf, other --features, "
            "or --algorithm kmeans --k K for a fixed number of groups")
    if found == 0:
        raise DataError(f"no clusters found: at these settings the {total:,} customers form a single "
                        "group without denser sub-groups, and hdbscan never returns the whole input as one "
                        f"cluster (all are noise); {hint}")
    raise DataError(f"only a single cluster found ({total - noise:,} customers, {noise:,} noise): "
                    f"the data shows no group structure at these settings; {hint}")


def _renumbering(labels: np.ndarray) -> np.ndarray:
    """Lookup ``old + 1 -> new``: by size descending, then by first row (rows are in id order)."""
    old, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    return renumbering(old, first, sizes)


def renumbering(old: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Lookup ``old + 1 -> new`` from each label's first row (in id order) and size (noise, -1, stays -1).

    >>> renumbering(np.array([-1, 0, 1]), np.array([0, 3, 1]), np.array([4, 2, 2])).tolist()
    [-1, 1, 0]
    """
    old, first, sizes = (np.asarray(a, dtype=np.int64) for a in (old, first, sizes))
    keep = old >= 0
    old, first, sizes = old[keep], first[keep], sizes[keep]
    order = np.lexsort((first, -sizes))
    lookup = np.full(int(old.max(initial=-1)) + 2, -1, dtype=np.int64)
    lookup[old[order] + 1] = np.arange(old.size)
    return lookup
