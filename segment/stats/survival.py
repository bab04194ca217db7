"""Kaplan-Meier survival and the log-rank test over whole periods (months of tenure).

Durations are whole periods completed (``0, 1, 2, ...``) and the event (churn)
is seen at the end of the last one. For each period ``t`` from 0 to the
longest duration:

* ``at_risk``: lines with ``duration >= t`` (and, under left truncation,
  ``entry < t``: a line the data first saw after ``entry`` periods);
* ``events`` / ``censored``: lines whose duration is ``t``, with / without
  the event;
* ``hazard = events / at_risk``: the share of the lines still there at ``t``
  that leave at ``t`` (the monthly churn rate by tenure month);
* ``survival``: the Kaplan-Meier estimate, the product of ``1 - hazard`` up to
  ``t``;
* ``lower`` / ``upper``: the pointwise confidence band on the log(-log) scale
  with Greenwood's variance (Kalbfleisch & Prentice 2002, 4.3), lifelines'
  ``KaplanMeierFitter`` default and scipy's ``ecdf(...).sf.confidence_interval(
  method="log-log")``; 1 while survival is 1, 0 once it is 0.

The log-rank test (Mantel 1966) compares groups on the same risk sets:
observed minus expected events per group, the hypergeometric covariance, and
chi-square with k - 1 degrees of freedom; it equals lifelines'
``multivariate_logrank_test`` and, for two groups, the square of scipy's
``logrank`` statistic. The test suite checks all of these to 1e-9.

Examples
--------
>>> import numpy as np
>>> km = kaplan_meier(np.array([1, 2, 2, 3, 4]), np.array([True, True, False, True, False]))
>>> km.select("time", "at_risk", "events", "censored", pl.col("survival", "hazard").round(3)).rows()[1:]
[(1, 5, 1, 0, 0.8, 0.2), (2, 4, 1, 1, 0.6, 0.25), (3, 2, 1, 0, 0.3, 0.5), (4, 1, 0, 1, 0.3, 0.0)]
>>> median_lifetime(km), [round(s, 3) if s is not None else None for s in survival_at(km, [1, 3, 6])]
(3, [0.8, 0.3, None])
>>> round(logrank(np.array([1, 2, 3, 4, 5, 6]), np.ones(6, bool), np.array([0, 0, 0, 1, 1, 1])).pvalue, 4)
0.0246
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import polars as pl

from segment.errors import DataError
from segment.stats.multitest import adjust

#: Columns of :func:`kaplan_meier`'s table, in order.
CURVE_COLUMNS = ("time", "at_risk", "events", "censored", "survival", "lower", "upper", "hazard")


@dataclass(frozen=True)
class LogRank:
    """A log-rank test: chi-square statistic, degrees of freedom, p-value; observed and expected events per group."""

    statistic: float
    df: int
    pvalue: float
    observed: np.ndarray
    expected: np.ndarray


def _counts(duration: np.ndarray, event: np.ndarray, entry: np.ndarray | None,
            length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """at_risk, events, censored per period 0..length-1."""
    d = np.bincount(duration[event], minlength=length)[:length]
    c = np.bincount(duration[~event], minlength=length)[:length]
    left = np.concatenate([[0], np.cumsum(d + c)[:-1]])  # lines gone before t
    if entry is None:
        entered = np.full(length, len(duration))
    else:
        # Entered by t: entry < t.
        entered = np.concatenate([[0], np.cumsum(np.bincount(entry, minlength=length)[:length])[:-1]])
    return entered - left, d, c


def _check(duration: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> tuple:
    duration = np.asarray(duration, dtype=np.int64)
    event = np.asarray(event, dtype=bool)
    if duration.size and duration.min() < 0:
        raise DataError(f"durations must be 0 or more, got {int(duration.min())}")
    if entry is not None:
        entry = np.asarray(entry, dtype=np.int64)
        if entry.size and (entry.min() < 0 or (entry >= duration).any()):
            raise DataError("entry periods must be 0 or more and below the duration (a line is seen alive after entry)")
    return duration, event, entry


def kaplan_meier(duration: np.ndarray, event: np.ndarray, entry: np.ndarray | None = None, *,
                 level: float = 0.95) -> pl.DataFrame:
    """The survival table of one group: :data:`CURVE_COLUMNS`, one row per period 0..max(duration).

    Parameters
    ----------
    duration
        Whole periods completed per line (integers >= 0).
    event
        True where the line left (churned) after its last period; False: censored.
    entry
        Optional periods each line had completed before it was observed (left
        truncation); it counts at risk only from ``entry + 1`` on.
    level
        Confidence level of the ``lower`` / ``upper`` band.
    """
    from scipy.special import ndtri

    duration, event, entry = _check(duration, event, entry)
    length = int(duration.max()) + 1 if duration.size else 0
    n, d, c = _counts(duration, event, entry, length)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n > 0, d / n, np.nan)
        survival = np.cumprod(1 - np.nan_to_num(hazard))
        # Greenwood; infinite once everybody at risk has left (survival is 0 then).
        greenwood = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
        z = ndtri(1 - (1 - level) / 2)
        v = np.log(survival)
        spread = z * np.sqrt(greenwood) / v
        lower = np.exp(-np.exp(np.log(-v) - spread))
        upper = np.exp(-np.exp(np.log(-v) + spread))
    lower = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, lower))
    upper = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, upper))
    return pl.DataFrame({"time": np.arange(length, dtype=np.int64), "at_risk": n.astype(np.int64),
                         "events": d.astype(np.int64), "censored": c.astype(np.int64), "survival": survival,
                         "lower": lower, "upper": upper, "hazard": hazard}).with_columns(pl.col("hazard").fill_nan(None))


def median_lifetime(curve: pl.DataFrame) -> int | None:
    """The first period where survival is at most one half (lifelines' ``median_survival_time_``); None if never."""
    hit = curve.filter(pl.col("survival") <= 0.5)
    return int(hit["time"][0]) if hit.height else None


def survival_at(curve: pl.DataFrame, times: list[int]) -> list[float | None]:
    """Survival after each of *times* periods; None past the longest duration seen (unknown)."""
    values = curve["survival"].to_list()
    return [values[t] if 0 <= t < len(values) else None for t in times]


def logrank(duration: np.ndarray, event: np.ndarray, group: np.ndarray, entry: np.ndarray | None = None) -> LogRank:
    """Log-rank test that every group (integer codes 0..k-1 in *group*) has the same survival."""
    duration, event, entry = _check(duration, event, entry)
    group = np.asarray(group, dtype=np.int64)
    k = int(group.max()) + 1 if group.size else 0
    length = int(duration.max()) + 1 if duration.size else 0
    n = np.empty((k, length))
    d = np.empty((k, length))
    for g in range(k):
        mine = group == g
        n[g], d[g], _ = _counts(duration[mine], event[mine], None if entry is None else entry[mine], length)
    total_n, total_d = n.sum(0), d.sum(0)
    live = total_n > 0
    n, d, total_n, total_d = n[:, live], d[:, live], total_n[live], total_d[live]
    expected = (n * total_d / total_n).sum(1)
    observed = d.sum(1)
    several = total_n > 1
    w = np.where(several, total_d * (total_n - total_d) / (total_n ** 2 * np.where(several, total_n - 1, 1)), 0.0)
    cov = np.diag((n * w * total_n).sum(1)) - (n * w) @ n.T
    diff = (observed - expected)[:-1]
    sub = cov[:-1, :-1]
    from scipy.stats import chi2

    if k < 2 or not np.any(sub):
        return LogRank(float("nan"), max(k - 1, 0), float("nan"), observed, expected)
    stat = float(diff @ np.linalg.pinv(sub) @ diff)
    df = int(np.linalg.matrix_rank(sub))
    return LogRank(stat, df, float(chi2.sf(stat, df)), observed, expected)


def pairwise_logrank(duration: np.ndarray, event: np.ndarray, group: np.ndarray, names: list[str],
                     entry: np.ndarray | None = None, *, correction: str = "holm") -> pl.DataFrame:
    """Log-rank test for every pair of groups, p-values adjusted as one family (:func:`~segment.stats.multitest.adjust`).

    Columns: ``group_a``, ``group_b``, ``statistic`` (chi-square, 1 df),
    ``p_value``, ``p_adjusted``.
    """
    group = np.asarray(group, dtype=np.int64)
    rows = []
    for a, b in combinations(range(len(names)), 2):
        mine = (group == a) | (group == b)
        test = logrank(duration[mine], event[mine], (group[mine] == b).astype(np.int64),
                       None if entry is None else entry[mine])
        rows.append((names[a], names[b], test.statistic, test.pvalue))
    frame = pl.DataFrame(rows, schema={"group_a": pl.String, "group_b": pl.String, "statistic": pl.Float64,
                                       "p_value": pl.Float64}, orient="row")
    return frame.with_columns(p_adjusted=pl.Series(adjust(frame["p_value"].to_numpy(), correction), dtype=pl.Float64))
