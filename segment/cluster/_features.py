"""Choose, check and transform the features a clustering runs on.

Clustering measures distances, so every feature must be numeric, present
for every customer, not constant, and on a comparable scale:

- ``log="auto"`` applies ``log1p`` to each non-negative feature with more
  than two distinct values whose skewness is above 1 (usage and revenue
  are heavy-tailed: without it the top 1 % of customers decide the
  distances);
- ``scale="robust"`` centres on the median and divides by the
  interquartile range (falling back to the standard deviation, with a
  warning, when more than half the customers share one value);
  ``"standard"`` uses mean and standard deviation; ``"none"`` leaves values.

Rows are sorted by the customer id before anything is computed, so the
result does not depend on the input's row order.

Examples
--------
>>> import polars as pl
>>> df = pl.DataFrame({"customer_id": ["b", "a", "c", "d"], "spend": [10.0, 1.0, 100.0, 1000.0],
...                    "tenure": [3, 1, 2, 4], "r_score": [1, 2, 3, 4]})
>>> table, feats = prepare(df.lazy(), id="customer_id")
>>> feats.names, feats.log
(['spend', 'tenure'], ['spend'])
>>> table["customer_id"].to_list()
['a', 'b', 'c', 'd']
>>> feats.matrix.round(2).tolist()
[[-0.87, -1.0], [-0.34, 0.33], [0.34, -0.33], [1.06, 1.0]]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from segment.columns import (first_offender, missing_text, not_a_number_hint, number_from_text, require_columns,
                             require_numeric, warn_missing)
from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError, SegmentWarning

#: Columns that hold results of segment commands, never behaviour to cluster on.
OUTPUT_COLUMNS = ("cluster", "cluster_probability", "outlier_score", "nearest_cluster")
_LABEL_LIKE = re.compile(r"(^|_)(score|cell|cluster|label|segment|stage|id)$", re.IGNORECASE)
SKEW_THRESHOLD = 1.0


@dataclass
class Features:
    """The feature matrix and how it was made.

    Attributes
    ----------
    names : list of str
    matrix : np.ndarray
        ``(customers, features)`` float64 after log1p and scaling, rows in id order.
    raw : np.ndarray
        The same values before any transformation (for profiles).
    log : list of str
        Features that were log1p-transformed.
    scaling : dict
        Per feature: ``center``, ``scale`` and the ``method`` used.
    dropped : int
        Rows left out by ``drop_nulls``.
    """

    names: list[str]
    matrix: np.ndarray
    raw: np.ndarray
    log: list[str]
    scaling: dict[str, dict[str, float | str]] = field(default_factory=dict)
    dropped: int = 0

    def params(self) -> dict:
        return {"features": self.names, "log1p": self.log, "scaling": self.scaling,
                "rows_dropped_for_nulls": self.dropped}


def default_features(schema: pl.Schema, id: str) -> list[str]:
    """Numeric columns except the id and score / label / result columns."""
    return [name for name, dtype in schema.items()
            if dtype.is_numeric() and name != id and name not in OUTPUT_COLUMNS
            and not _LABEL_LIKE.search(name)]


def prepare(frame: pl.LazyFrame, *, id: str = "customer_id", features: Sequence[str] | None = None,
            log: str | Sequence[str] = "auto", scale: str = "robust",
            drop_nulls: bool = False) -> tuple[pl.DataFrame, Features]:
    """Check the input and build the feature matrix.

    Returns the input table (all columns, sorted by *id*, rows with null
    features removed when *drop_nulls*) and its :class:`Features`.
    """
    if scale not in ("robust", "standard", "none"):
        raise OptionError(f"--scale must be robust, standard or none, got {scale!r}")
    schema = frame.collect_schema()
    require_columns(frame, {"id": id})
    names = _choose(schema, id, features)
    frame = frame.with_row_index("__row__", offset=1)
    if features is None:
        _check_left_out(frame, schema, id)
    for name in names:
        frame = require_numeric(frame, name, option="--features")  # blanks and NA markers become nulls there
        infinite = first_offender(frame, pl.col(name).is_infinite(), name)
        if infinite is not None:
            raise DataError(f"feature {name!r} is infinite ({infinite[1]}) in row {infinite[0]}; "
                            "fix or drop those rows")
        frame = frame.with_columns(pl.col(name).fill_nan(None))
    _check_ids(frame, id)
    frame, dropped = _check_nulls(frame, names, drop_nulls)
    table = frame.sort(id).collect()
    rows = table["__row__"].to_numpy()
    table = table.drop("__row__")
    if table.height == 0:
        raise DataError("no customers left after dropping rows with empty features")
    raw = np.column_stack([table[name].to_numpy().astype(np.float64) for name in names])
    for j, name in enumerate(names):
        if raw[:, j].min() == raw[:, j].max():
            raise DataError(f"feature {name!r} is constant (every value is {raw[0, j]:g}), so it cannot "
                            "separate customers; leave it out with --features")
    logged = _log_choice(raw, names, log, rows)
    matrix = log1p(raw, names, logged)
    centers, spreads, scaling = [], [], {}
    for j, name in enumerate(names):
        col = matrix[:, j]
        q1, median, q3 = np.percentile(col, [25, 50, 75]) if scale == "robust" else (0.0, 0.0, 0.0)
        center, spread, scaling[name] = scale_choice(name, scale, q1, median, q3, col.mean(), col.std())
        centers.append(center)
        spreads.append(spread)
    return table, Features(names, rescale(matrix, centers, spreads), raw, logged, scaling, dropped)


def log1p(raw: np.ndarray, names: Sequence[str], logged: Sequence[str]) -> np.ndarray:
    """*raw* with ``log1p`` applied to the *logged* features (a copy).

    The one place the transform happens, on the driver and, with
    ``--engine spark``, on the executors: the same numpy kernels give the
    same bits.
    """
    matrix = np.array(raw, dtype=np.float64)
    for j, name in enumerate(names):
        if name in logged:
            matrix[:, j] = np.log1p(matrix[:, j])
    return matrix


def rescale(matrix: np.ndarray, centers: Sequence[float], spreads: Sequence[float]) -> np.ndarray:
    """``(x - center) / spread`` per feature, quantised (:func:`quantise`).

    >>> rescale(np.array([[1.0, 4.0]]), [0.0, 2.0], [2.0, 4.0]).tolist()
    [[0.5, 0.5]]
    """
    out = np.empty_like(matrix, dtype=np.float64)
    for j, (center, spread) in enumerate(zip(centers, spreads, strict=True)):
        out[:, j] = (matrix[:, j] - center) / spread
    return quantise(out)


def auto_log(minimum: float, skewness: float, more_than_two_values: bool) -> bool:
    """``log="auto"``: log1p a non-negative feature with skewness above 1 and more than two values.

    Two-valued features (flags) are skewed but gain nothing from a log.
    """
    return minimum >= 0 and skewness > SKEW_THRESHOLD and more_than_two_values


QUANTUM_DECIMALS = 9


def quantise(matrix: np.ndarray) -> np.ndarray:
    """Round scaled features to 9 decimals, so that CPUs agree on them.

    numpy picks SIMD kernels (AVX2, AVX-512) for ``log1p``, sums and means at
    run time, and they differ in the last bits (about 1e-16 relative). hdbscan
    breaks near-ties between distances by those bits, so on another CPU a few
    borderline customers changed between noise and a cluster. Scaled features
    are of order 1, so 1e-9 is far below any real difference between customers
    and far above the kernels' disagreement.

    >>> quantise(np.array([[0.1 + 0.2, 1 / 3]]))
    array([[0.3       , 0.33333333]])
    """
    return np.round(matrix, QUANTUM_DECIMALS)


def _choose(schema: pl.Schema, id: str, features: Sequence[str] | None) -> list[str]:
    if features is None:
        names = default_features(schema, id)
        if not names:
            listed = ", ".join(schema.names())
            raise ColumnTypeError(f"no numeric feature columns to cluster on (columns: {listed}); "
                                  "name them with --features")
        return names
    names = list(features)
    if not names:
        raise OptionError("--features is empty; name at least one column")
    for name in names:
        if name not in schema:
            raise ColumnNotFoundError(name, schema.names(), role="feature")
    if id in names:
        raise OptionError(f"--features includes the id column {id!r}; ids are not behaviour")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise OptionError(f"--features names {dupes[0]!r} twice")
    return names


def _check_left_out(frame: pl.LazyFrame, schema: pl.Schema, id: str) -> None:
    """Text columns left out of the default features: say so when that looks like a mistake."""
    for name, dtype in schema.items():
        if name == id or not (dtype in (pl.String, pl.Null)):
            continue
        text = missing_text(name)
        number = number_from_text(name)
        row = frame.select(present=text.is_not_null().sum(), rows=pl.len(),
                           numeric=number.is_not_null().sum()).collect().row(0)
        present, rows, numeric = row
        if present == 0:
            warnings.warn(f"column {name!r} is empty in every row, so it is not a feature", SegmentWarning,
                          stacklevel=4)
        elif numeric == present:
            # e.g. Telco's TotalCharges: numbers, but blank cells made the column text.
            blanks = " with empty cells" if present < rows else ""
            hint = " (with --drop-nulls)" if present < rows else ""
            warnings.warn(f"column {name!r} holds numbers as text{blanks}, so it is not a default feature; "
                          f"to cluster on it, name it in --features{hint}", SegmentWarning, stacklevel=4)
        elif numeric < present and numeric >= 0.9 * present:
            bad = first_offender(frame, text.is_not_null() & number.is_null(), name)
            raise ColumnTypeError(f"column {name!r} looks numeric but row {bad[0]} holds {bad[1]!r}, so it "  # type: ignore[index]
                                  "would be left out of the features; "
                                  + not_a_number_hint(bad[1], "--features"))  # type: ignore[index]


def _check_ids(frame: pl.LazyFrame, id: str) -> None:
    nulls = first_offender(frame, pl.col(id).is_null(), id)
    if nulls is not None:
        raise DataError(f"column {id!r} is empty in row {nulls[0]}; every customer needs an id "
                        "(clusters are made reproducible by sorting on it)")
    dup = (frame.group_by(id).agg(pl.col("__row__").sort().head(2).alias("rows"), pl.len().alias("n"))
           .filter(pl.col("n") > 1).sort(pl.col("rows").list.first()).head(1).collect())
    if dup.height:
        rows = dup["rows"][0].to_list()
        raise DataError(f"customer {dup[id][0]!r} appears {dup['n'][0]} times (rows {rows[0]} and "
                        f"{rows[1]}); cluster needs one row per customer")


def empty_features(nulls: dict[str, int], total: int) -> dict[str, int]:
    """The features with empty cells (warned about, once each); refuses a feature empty in every row."""
    empty = warn_missing(nulls, stacklevel=5)
    for name, count in empty.items():
        if count == total:
            raise DataError(f"feature {name!r} has no values (all {total:,} rows are empty); "
                            "leave it out with --features")
    return empty


def _check_nulls(frame: pl.LazyFrame, names: list[str], drop: bool) -> tuple[pl.LazyFrame, int]:
    counts = frame.select([pl.col(n).null_count() for n in names] + [pl.len().alias("__n__")]).collect().row(0)
    total = counts[-1]
    empty = empty_features(dict(zip(names, counts[:-1], strict=True)), total)
    if not empty:
        return frame, 0
    if not drop:
        name, count = next(iter(empty.items()))
        row, _ = first_offender(frame, pl.col(name).is_null(), name)  # type: ignore[misc]
        where = f"in row {row}" if count == 1 else f"in {count:,} rows, first in row {row}"
        raise DataError(f"feature {name!r} is empty (null or NaN) {where}; fill or drop those rows, "
                        "or pass --drop-nulls")
    kept = frame.drop_nulls(names)
    dropped = total - int(kept.select(pl.len()).collect().item())
    # The counts per feature were reported just above ("N missing in COL").
    warnings.warn(f"dropped {dropped:,} rows with empty features (--drop-nulls)", SegmentWarning, stacklevel=3)
    return kept, dropped


def _skewness(x: np.ndarray) -> float:
    centred = x - x.mean()
    sd = np.sqrt(np.mean(centred ** 2))
    # Rounded so that a skewness a few ulps from the threshold (SIMD sums
    # differ by CPU) cannot flip the log choice from one machine to another.
    return round(float(np.mean(centred ** 3) / sd ** 3), QUANTUM_DECIMALS) if sd > 0 else 0.0


def _log_choice(raw: np.ndarray, names: list[str], log: str | Sequence[str], rows: np.ndarray) -> list[str]:
    if isinstance(log, str):
        if log == "auto":
            # Two-valued features (flags) are skewed but gain nothing from a log.
            return [n for j, n in enumerate(names)
                    if auto_log(raw[:, j].min(), _skewness(raw[:, j]), np.unique(raw[:, j]).size > 2)]
        if log == "none":
            return []
        log = [part.strip() for part in log.split(",") if part.strip()]
    chosen = list(log)
    for name in chosen:
        if name not in names:
            raise ColumnNotFoundError(name, names, role="--log feature")
        j = names.index(name)
        if raw[:, j].min() < 0:
            at = int(raw[:, j].argmin())
            raise DataError(f"--log {name}: the feature has negative values ({raw[at, j]:g} in row "
                            f"{rows[at]}); log1p needs values >= 0, so leave it out of --log")
    return [n for n in names if n in chosen]


def scale_choice(name: str, method: str, q1: float, median: float, q3: float, mean: float,
                 std: float) -> tuple[float, float, dict[str, float | str]]:
    """Center, spread and the provenance record of one feature, from its quartiles, mean and (population) sd.

    >>> scale_choice("x", "robust", 1.0, 2.0, 5.0, 3.0, 2.0)
    (2.0, 4.0, {'method': 'robust', 'center': 2.0, 'scale': 4.0})
    """
    used = method
    if method == "robust":
        center, spread = median, q3 - q1
        if spread == 0:
            used, spread = "robust (std fallback)", std
            warnings.warn(f"feature {name!r} has an interquartile range of 0 (over half the customers "
                          "share one value); it is scaled by its standard deviation instead",
                          SegmentWarning, stacklevel=4)
    elif method == "standard":
        center, spread = mean, std
    else:
        center, spread = 0.0, 1.0
    # Recorded (in provenance) to 12 significant digits: the last bits of
    # a log1p'd column's quartiles differ between CPUs.
    return center, spread, {"method": used, "center": float(f"{center:.12g}"), "scale": float(f"{spread:.12g}")}
