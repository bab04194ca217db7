"""How good a churn score is: AUC, KS, the decile table, calibration, drift (PSI).

Deciles rank customers by score, highest first (decile 1 = the riskiest
tenth); ties keep input order. With ``n`` customers, the customer at rank
``r`` (0-based) is in decile ``floor(10 r / n) + 1``.

Examples
--------
>>> import numpy as np
>>> y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
>>> p = np.array([.9, .8, .7, .6, .5, .4, .3, .2, .1, .05])
>>> auc(y, p)  # 3 churners x 7 others = 21 pairs; 20 ranked right
0.9523809523809523
>>> ks(y, p)
0.8571428571428572
>>> deciles(y, p).select("decile", "churners", "churn_rate", "lift", "capture").head(4).rows()
[(1, 1, 1.0, 3.3333333333333335, 0.3333333333333333), (2, 1, 1.0, 3.3333333333333335, 0.6666666666666666), (3, 0, 0.0, 0.0, 0.6666666666666666), (4, 1, 1.0, 3.3333333333333335, 1.0)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.columns import count_missing, warn_missing
from segment.errors import ColumnNotFoundError, DataError

#: Columns of the decile table.
DECILE_COLUMNS = ("decile", "customers", "churners", "churn_rate", "lift", "cum_lift", "capture", "min_score")


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    y = np.asarray(y).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pl.Series(np.asarray(score, dtype=np.float64)).rank("average").to_numpy()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def ks(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the churners' and others' score CDFs."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    ys, ss = y[order], s[order]
    tpr = np.cumsum(ys) / pos
    fpr = np.cumsum(~ys) / neg
    # Only where the score changes: tied scores cannot be split by a threshold.
    last = np.r_[ss[1:] != ss[:-1], True]
    return float(np.max(np.abs(tpr - fpr)[last]))


def decile_of(score: np.ndarray) -> np.ndarray:
    """Decile 1-10 per row, 1 = highest score (see module docstring)."""
    n = len(score)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    out = np.empty(n, dtype=np.int8)
    out[order] = (np.arange(n) * 10 // max(n, 1) + 1).astype(np.int8)
    return out


def deciles(y: np.ndarray, score: np.ndarray) -> pl.DataFrame:
    """The decile table: customers, churners, churn rate, lift, cumulative lift, capture, lowest score."""
    y = np.asarray(y).astype(np.int64)
    d = decile_of(score)
    frame = pl.DataFrame({"decile": d, "y": y, "s": np.asarray(score, dtype=np.float64)})
    base = y.mean() if len(y) else float("nan")
    total = max(int(y.sum()), 1)
    # Scores rounded to 12 decimals: a spreadsheet round trip changes the 16th digit.
    return (frame.group_by("decile").agg(customers=pl.len(), churners=pl.col("y").sum(),
                                         min_score=pl.col("s").min().round(12))
            .sort("decile")
            .with_columns(churn_rate=pl.col("churners") / pl.col("customers"))
            .with_columns(lift=pl.col("churn_rate") / base,
                          cum_lift=(pl.col("churners").cum_sum() / pl.col("customers").cum_sum()) / base,
                          capture=pl.col("churners").cum_sum() / total)
            .select(pl.col("decile").cast(pl.Int8), pl.col("customers").cast(pl.Int64),
                    pl.col("churners").cast(pl.Int64), *DECILE_COLUMNS[3:]))


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Mean predicted probability against the observed churn rate, per score decile (highest first)."""
    d = decile_of(p) if bins == 10 else None
    frame = pl.DataFrame({"bin": d, "y": np.asarray(y, dtype=np.float64), "p": np.asarray(p, dtype=np.float64)})
    return (frame.group_by("bin").agg(customers=pl.len(), predicted=pl.col("p").mean(), observed=pl.col("y").mean())
            .sort("bin").rename({"bin": "decile"}))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared difference between the probability and the 0/1 outcome."""
    return float(np.mean((np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2))


def psi(expected: np.ndarray | pl.Series, actual: np.ndarray | pl.Series, bins: int = 10) -> float:
    """Population stability index of *actual* against *expected*.

    Numbers are cut at the deciles of *expected*; text by its values. Empty
    bins get half a count so the logarithm stays finite.

    >>> round(psi(np.arange(1000.0), np.arange(1000.0)), 6)
    0.0
    """
    e, a = pl.Series(expected), pl.Series(actual)
    if e.dtype.is_numeric():
        e = e.cast(pl.Float64).drop_nulls().drop_nans()
        a = a.cast(pl.Float64).drop_nulls().drop_nans()
        cuts = np.unique(np.quantile(e.to_numpy(), np.linspace(0, 1, bins + 1)[1:-1])) if e.len() else np.array([])
        ce = np.bincount(np.searchsorted(cuts, e.to_numpy(), side="right"), minlength=len(cuts) + 1)
        ca = np.bincount(np.searchsorted(cuts, a.to_numpy(), side="right"), minlength=len(cuts) + 1)
    else:
        levels = sorted(set(e.cast(pl.String).fill_null("(missing)").to_list())
                        | set(a.cast(pl.String).fill_null("(missing)").to_list()))
        vc_e = dict(e.cast(pl.String).fill_null("(missing)").value_counts().rows())
        vc_a = dict(a.cast(pl.String).fill_null("(missing)").value_counts().rows())
        ce = np.array([vc_e.get(v, 0) for v in levels])
        ca = np.array([vc_a.get(v, 0) for v in levels])
    pe = np.where(ce == 0, 0.5, ce) / max(ce.sum(), 1)
    pa = np.where(ca == 0, 0.5, ca) / max(ca.sum(), 1)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: summary figures and tables."""

    summary: dict[str, Any]
    deciles: pl.DataFrame
    calibration: pl.DataFrame
    drivers: pl.DataFrame
    drift: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Everything, as JSON-ready data (``metrics.json``, ``--json``)."""
        out: dict[str, Any] = {**self.summary, "deciles": _rows(self.deciles), "calibration": _rows(self.calibration),
                               "drivers": _rows(self.drivers)}
        if self.drift is not None:
            out["drift"] = _rows(self.drift)
        return out


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: (round(v, 10) if isinstance(v, float) else v) for k, v in r.items()} for r in frame.to_dicts()]


def target_values(series: pl.Series, name: str) -> np.ndarray:
    """A churn column as 0/1: numbers 0/1, booleans, or yes/no, true/false, churn words."""
    s = series
    if s.dtype == pl.Boolean:
        return s.cast(pl.Int8).to_numpy()
    if s.dtype.is_numeric():
        values = set(s.unique().to_list())
        if not values <= {0, 1}:
            raise DataError(f"target column {name!r} must be 0/1 (or yes/no, true/false); it holds "
                            f"{sorted(values)[:5]}")
        return s.cast(pl.Int8).to_numpy()
    text = s.cast(pl.String).str.strip_chars().str.to_lowercase()
    yes, no = {"1", "yes", "y", "true", "t", "churn", "churned"}, {"0", "no", "n", "false", "f", "stay", "stayed"}
    bad = [v for v in text.unique().to_list() if v not in yes | no]
    if bad:
        raise DataError(f"target column {name!r} has a value that is not yes/no or 0/1: {bad[0]!r}")
    return text.is_in(sorted(yes)).cast(pl.Int8).to_numpy()


def evaluate(scores: pl.DataFrame, *, target: str, score: str = "p_churn", previous: pl.DataFrame | None = None,
             drivers: pl.DataFrame | None = None, skip: Sequence[str] = ()) -> Evaluation:
    """AUC, KS, Brier, the decile and calibration tables, top drivers and drift of a scored table.

    Parameters
    ----------
    scores
        One row per customer with the score and the observed target.
    target
        The observed 0/1 churn column.
    score
        The probability column (``p_churn``).
    previous
        An earlier scoring: PSI of the score and of every column both share
        (other than *skip*, the target and the reason columns).
    drivers
        Mean absolute contribution per feature (from ``fit``); else read from
        the ``reason_k`` / ``contrib_k`` columns of the alerted customers.
    """
    if scores.height == 0:
        raise DataError("no rows to evaluate")
    for role, col in (("target", target), ("score", score)):
        if col not in scores.columns:
            raise ColumnNotFoundError(col, scores.columns, role=role)
    if warn_missing(count_missing(scores, [target, score]), then="those rows are left out", stacklevel=2):
        scores = scores.filter(pl.col(target).is_not_null() & pl.col(score).is_not_null()
                               & ~pl.col(score).cast(pl.Float64).is_nan())
    y = target_values(scores[target], target)
    p = scores[score].cast(pl.Float64).to_numpy()
    if np.isnan(p).any():
        raise DataError(f"score column {score!r} has {int(np.isnan(p).sum()):,} missing values")
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise DataError(f"target column {target!r} has one class only ({len(y):,} rows, {positives:,} churners); "
                        "AUC needs churners and others")
    summary = {"rows": int(len(y)), "churners": positives, "churn_rate": positives / len(y), "auc": auc(y, p),
               "ks": ks(y, p), "brier": brier(y, p)}
    table = deciles(y, p)
    top = table["churn_rate"].to_list()[:5]
    summary["monotone_top_deciles"] = all(a >= b for a, b in zip(top, top[1:], strict=False))
    drv = drivers if drivers is not None else reason_drivers(scores)
    drift = None
    if previous is not None:
        # as_of differs by construction, deciles are tenths by construction: neither says anything.
        skipped = {target, *skip, "as_of", "decile", "priority", "call",
                   *(c for c in scores.columns if re.match(r"^(reason|contrib)_\d+$", c))}
        common = [c for c in scores.columns if c in previous.columns and c not in skipped]
        drift = pl.DataFrame({"column": common, "psi": [psi(previous[c], scores[c]) for c in common]},
                             schema={"column": pl.String, "psi": pl.Float64})
        drift = drift.with_columns(level=pl.when(pl.col("psi") >= 0.25).then(pl.lit("shifted"))
                                   .when(pl.col("psi") >= 0.1).then(pl.lit("moderate")).otherwise(pl.lit("stable")))
    return Evaluation(summary=summary, deciles=table, calibration=calibration(y, p), drivers=drv, drift=drift)


_REASON = re.compile(r"^(?P<name>.*?)(?: (?:low|high) \(.*\)| = .*| missing)$")


def reason_drivers(scores: pl.DataFrame) -> pl.DataFrame:
    """Mean |contribution| per feature over the reason columns of a scored table (alerted customers)."""
    names, values = [], []
    k = 1
    while f"reason_{k}" in scores.columns and f"contrib_{k}" in scores.columns:
        for reason, contrib in zip(scores[f"reason_{k}"].to_list(), scores[f"contrib_{k}"].to_list(), strict=True):
            if reason is not None and contrib is not None:
                hit = _REASON.match(reason)
                names.append(hit.group("name") if hit else reason)
                values.append(abs(float(contrib)))
        k += 1
    frame = pl.DataFrame({"feature": names, "contrib": values}, schema={"feature": pl.String, "contrib": pl.Float64})
    return (frame.group_by("feature").agg(mean_abs_contrib=pl.col("contrib").mean(), times=pl.len())
            .sort(["mean_abs_contrib", "feature"], descending=[True, False]))
