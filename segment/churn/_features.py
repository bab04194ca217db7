"""Churn features as of a month, and the label that follows after a gap.

One row per customer active at the as-of month ``t``. Features use months
``<= t`` only: tenure, lifecycle stage and subtype (from
:func:`segment.lifecycle.lifecycle`, whose rules look back only, so its
month-``t`` row equals a snapshot taken at ``t``), and for each usage metric
the last value, the 3- and 6-month means, the trend (mean of the last 3
months against the 3 before them, minus 1) and the months since the metric
was last above zero; complaints summed over 3 and 6 months; and the value of
any category column in the customer's last row up to ``t``.

The label ``churn`` is 1 when a churn event falls in months
``t + gap + 1 .. t + gap + horizon``. The event is dated at its start: the
first month of the run of silent months that ends in an exit of subtype
``churn`` (number swaps and re-entries of the same identity are not churn),
or the cancellation month when the line still had usage in it. Dating the
event at the confirmed exit instead would let "months since last use" at
``t`` give the label away. Customers silent (no usage) or exited at ``t`` are
left out. A label needs the panel to reach ``t + gap + horizon`` plus the
months that confirm an exit by silence (``exit_after - 1``); without them the
as-of month gets no label.

Examples
--------
>>> import polars as pl
>>> panel = pl.DataFrame({
...     "customer_id": ["a"] * 8 + ["b"] * 8,
...     "month": [f"2024-{m:02d}" for m in range(1, 9)] * 2,
...     "voice": [100.0, 90, 110, 100, 0, 0, 0, 0] + [50.0] * 8,
... })
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     f = churn_features(panel, voice="voice", as_of="2024-02", horizon=2, gap=1)
>>> f.table.select("customer_id", "as_of", "voice_last", "voice_mean3", "churn")
shape: (2, 5)
┌─────────────┬────────────┬────────────┬─────────────┬───────┐
│ customer_id ┆ as_of      ┆ voice_last ┆ voice_mean3 ┆ churn │
│ ---         ┆ ---        ┆ ---        ┆ ---         ┆ ---   │
│ str         ┆ date       ┆ f64        ┆ f64         ┆ i8    │
╞═════════════╪════════════╪════════════╪═════════════╪═══════╡
│ a           ┆ 2024-02-01 ┆ 90.0       ┆ 95.0        ┆ 1     │
│ b           ┆ 2024-02-01 ┆ 50.0       ┆ 50.0        ┆ 0     │
└─────────────┴────────────┴────────────┴─────────────┴───────┘

Customer "a" falls silent in May (the event month; the exit is confirmed in
July): as of February the window is April-May, as of January March-April:

>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     churn_features(panel, voice="voice", as_of="2024-01").table["churn"].to_list()
[0, 0]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from segment.columns import require_columns
from segment.errors import ColumnTypeError, DataError, OptionError, SegmentWarning
from segment.lifecycle import STAGES, lifecycle, month_label, months_expr, parse_month_option

Progress = Callable[[str, int, int | None], None]

#: Name of the label column.
LABEL = "churn"
#: Name of the as-of column (first day of the month).
AS_OF = "as_of"
_EXIT = STAGES.index("exit")
_M = "__churn_month__"


@dataclass
class Features:
    """What :func:`churn_features` returns.

    Attributes
    ----------
    table : pl.DataFrame
        One row per customer and as-of month.
    feature_columns : list of str
        The feature columns (what ``fit`` may learn from).
    labelled : list of str
        As-of months (``YYYY-MM``) that have a label.
    stats : dict
        Rows per as-of month, churners, customers left out as silent or exited.
    """

    table: pl.DataFrame
    id: str
    feature_columns: list[str]
    labelled: list[str]
    params: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """What ``fit`` reads back from the output's metadata: features, label and its window."""
        return {**self.params, "features": self.feature_columns, "label": LABEL if self.labelled else None,
                "after_as_of": [LABEL] if self.labelled else [], "labelled": self.labelled, "stats": self.stats}


def parse_as_of(value: str | date) -> list[int]:
    """``2024-06`` or a range ``2023-10..2024-06`` as integer months.

    >>> [month_label(m) for m in parse_as_of("2024-11..2025-01")]
    ['2024-11', '2024-12', '2025-01']
    """
    if isinstance(value, date):
        return [parse_month_option(value)]  # type: ignore[list-item]
    lo, sep, hi = str(value).partition("..")
    first = parse_month_option(lo.strip(), "--as-of")
    if not sep:
        return [first]  # type: ignore[list-item]
    last = parse_month_option(hi.strip(), "--as-of")
    if last < first:  # type: ignore[operator]
        raise OptionError(f"--as-of {value}: the range ends before it starts; write FIRST..LAST")
    return list(range(first, last + 1))  # type: ignore[arg-type]


def churn_features(
    panel: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: str | date,
    id: str = "customer_id",
    month: str = "month",
    voice: str | None = None,
    data: str | None = None,
    revenue: str | None = None,
    metrics: Sequence[str] = (),
    status: str | None = None,
    status_values: dict[str, list[str]] | None = None,
    identity: str | None = None,
    activation: str | None = None,
    complaints: str | None = None,
    categories: Sequence[str] = (),
    date_format: str | None = None,
    dedupe: str = "error",
    horizon: int = 2,
    gap: int = 1,
    progress: Progress | None = None,
) -> Features:
    """Features as of one or more months, and the churn label after a gap (see module docstring).

    Parameters
    ----------
    panel
        Monthly panel, one row per customer and month (the lifecycle panel).
    as_of
        ``YYYY-MM``, or ``FIRST..LAST`` to stack several months (one row per
        customer and month).
    voice, data, revenue, metrics, status, status_values, identity, activation, date_format, dedupe
        As for :func:`segment.lifecycle.lifecycle`.
    complaints
        Optional count column (complaints, service calls): summed over 3 and 6 months.
    categories
        Columns whose value in the customer's last row up to the as-of month
        becomes a categorical feature (plan, channel, contract ...).
    horizon, gap
        The label window: months ``as_of + gap + 1 .. as_of + gap + horizon``.
    """
    if not 1 <= horizon <= 24:
        raise OptionError(f"--horizon must be a number of months from 1 to 24, got {horizon}")
    if not 0 <= gap <= 12:
        raise OptionError(f"--gap must be a number of months from 0 to 12, got {gap}")
    months_wanted = parse_as_of(as_of)
    lf = panel.lazy()
    extra = [c for c in (complaints, *categories) if c]
    require_columns(lf, {**({"complaints": complaints} if complaints else {}),
                         **{f"category {i + 1}": c for i, c in enumerate(categories)}})
    for c in categories:
        if c in (id, month, voice, data, revenue, *metrics, complaints):
            raise OptionError(f"--category {c!r} is already used as another column")
    report = progress or (lambda task, done, total: None)
    with warnings.catch_warnings():
        # Left-censoring and "later rows left out" are lifecycle's concerns; the features say what they use.
        warnings.filterwarnings("ignore", message=r".*already active in the panel's first month.*")
        result = lifecycle(lf, id=id, month=month, voice=voice, data=data, revenue=revenue, metrics=metrics,
                           status=status, status_values=status_values, identity=identity, activation=activation,
                           date_format=date_format, dedupe=dedupe, progress=progress)
    grid, st = result.grid, result.stages
    for t in months_wanted:
        if t < grid.first_month or t > grid.as_of:
            raise OptionError(f"--as-of {month_label(t)} is outside the panel's months "
                              f"{month_label(grid.first_month)} to {month_label(grid.as_of)}")
    usage = list(result.metrics)
    activity = np.zeros(grid.size, dtype=bool)
    for c in usage:
        activity |= grid.x[c] > 0
    events = _churn_events(grid, st, activity)
    confirm = result.rules.exit_after - 1
    sides = _side_columns(lf, id, month, date_format, complaints, list(categories)) if extra else None
    frames, labelled, stats = [], [], {"rows": {}, "churners": {}, "left_out": {}}
    for i, t in enumerate(months_wanted):
        report("features", i, len(months_wanted))
        has_label = grid.as_of >= t + gap + horizon + confirm
        frame, left_out = _one_month(grid, st, usage, activity, t, id)
        if has_label:
            frame = frame.with_columns(pl.Series(LABEL, _labels(events, grid.n, t + gap + 1, t + gap + horizon)
                                                 [frame["__k"].to_numpy()], dtype=pl.Int8))
            labelled.append(month_label(t))
            stats["churners"][month_label(t)] = int(frame[LABEL].sum())
        if sides is not None:
            frame = frame.join(_side_features(sides, id, t, complaints, list(categories)), on=id, how="left",
                               maintain_order="left")
        stats["rows"][month_label(t)] = frame.height
        stats["left_out"][month_label(t)] = left_out
        frames.append(frame.drop("__k"))
    report("features", len(months_wanted), len(months_wanted))
    if labelled and len(labelled) < len(months_wanted):
        missing = [month_label(t) for t in months_wanted if month_label(t) not in labelled]
        need = gap + horizon + confirm
        warnings.warn(f"no label for as-of {', '.join(missing)}: a label needs {need} months after as-of "
                      f"(gap {gap} + horizon {horizon} + {confirm} to confirm a silent exit) and the panel ends "
                      f"{month_label(grid.as_of)}", SegmentWarning, stacklevel=2)
    table = pl.concat(frames, how="diagonal_relaxed")
    if labelled and LABEL in table.columns:
        table = table.with_columns(pl.col(LABEL).cast(pl.Int8))
    features = [c for c in table.columns if c not in (id, AS_OF, LABEL)]
    params = {"as_of": [month_label(t) for t in months_wanted], "horizon": horizon, "gap": gap,
              "panel_months": [month_label(grid.first_month), month_label(grid.as_of)],
              "rules": result.rules.as_dict(), "metrics": result.metrics}
    return Features(table=table, id=id, feature_columns=features, labelled=labelled, params=params, stats=stats)


def _churn_events(grid: Any, st: Any, activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer, month) of every churn event, dated at the start of its silent run (see module docstring)."""
    churned = st.churned()
    exit_ = st.stage == _EXIT
    first = churned.copy()
    first[1:] &= ~exit_[:-1]
    first[grid.start] = churned[grid.start]
    runs = np.flatnonzero(first)
    idx = np.arange(grid.size)
    last_active = np.maximum.accumulate(np.where(activity, idx, -1))
    before = np.where(runs > grid.start[grid.k[runs]], last_active[np.maximum(runs - 1, 0)], -1)
    own = before >= grid.start[grid.k[runs]]
    slot = np.where(own, before + 1, runs)
    slot = np.minimum(slot, runs)
    return grid.k[runs], grid.m[slot]


def _labels(events: tuple[np.ndarray, np.ndarray], n: int, lo: int, hi: int) -> np.ndarray:
    k, m = events
    out = np.zeros(n, dtype=np.int8)
    out[k[(m >= lo) & (m <= hi)]] = 1
    return out


def _window(cs: np.ndarray, s: np.ndarray, start: np.ndarray, back: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the slots ``s - back - width + 1 .. s - back`` within each customer."""
    hi = s - back
    lo = np.maximum(hi - width + 1, start)
    count = np.maximum(hi - lo + 1, 0)
    total = np.where(count > 0, cs[np.maximum(hi, -1) + 1] - cs[np.minimum(lo, hi + 1)], 0.0)
    return total, count


def _one_month(grid: Any, st: Any, usage: list[str], activity: np.ndarray, t: int,
               id: str) -> tuple[pl.DataFrame, int]:
    present = np.flatnonzero(grid.first_seen <= t)
    s_all = grid.start[present] + (t - grid.first_seen[present])
    keep = activity[s_all] & (st.stage[s_all] != _EXIT) & (st.stage[s_all] >= 0)
    k = present[keep]
    s = s_all[keep]
    start = grid.start[k]
    labels = st.labels
    sub = st.subtype[s]
    cols: dict[str, Any] = {
        id: grid.ids.gather(k),
        AS_OF: pl.Series([month_label(t) + "-01"] * len(k), dtype=pl.String).str.to_date(),
        "tenure": pl.Series(np.where(st.tenure[s] > 0, st.tenure[s], 0), dtype=pl.Int32),
        "stage": pl.Series([STAGES[i] for i in st.stage[s]], dtype=pl.String),
        "subtype": pl.Series([labels[i] or "none" for i in sub], dtype=pl.String),
        "months_in_stage": pl.Series(st.in_stage[s], dtype=pl.Int32),
    }
    idx = np.arange(grid.size)
    for c in usage:
        x = grid.x[c]
        cs = np.concatenate([[0.0], np.cumsum(x)])
        last = x[s]
        sum3, n3 = _window(cs, s, start, 0, 3)
        sum6, n6 = _window(cs, s, start, 0, 6)
        prev, np_ = _window(cs, s, start, 3, 3)
        mean3 = sum3 / np.maximum(n3, 1)
        mean6 = sum6 / np.maximum(n6, 1)
        pmean = np.where(np_ > 0, prev / np.maximum(np_, 1), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            trend = np.where(pmean > 0, mean3 / pmean - 1, np.nan)
        used = np.maximum.accumulate(np.where(x > 0, idx, -1))[s]
        idle = np.where(used >= start, s - used, np.nan)
        cols[f"{c}_last"] = _clean(last)
        cols[f"{c}_mean3"] = _clean(mean3)
        cols[f"{c}_mean6"] = _clean(mean6)
        cols[f"{c}_trend"] = _clean(trend)
        cols[f"{c}_idle"] = _clean(idle)
    cols["__k"] = k
    return pl.DataFrame(cols), int(len(present) - len(k))


def _clean(values: np.ndarray) -> pl.Series:
    # Means of extract values carry binary noise; six decimals keep them exact to the unit used.
    return pl.Series(np.round(values.astype(np.float64), 6)).fill_nan(None)


def _side_columns(lf: pl.LazyFrame, id: str, month: str, date_format: str | None, complaints: str | None,
                  categories: list[str]) -> pl.DataFrame:
    """Complaints and category columns with integer months, read once for every as-of month."""
    schema = lf.collect_schema()
    if complaints and not (schema[complaints].is_numeric()):
        raise ColumnTypeError(f"--complaints column {complaints!r} must hold counts (numbers), "
                              f"but it is {schema[complaints]}")
    cols = [pl.col(id), months_expr(lf, month, date_format).alias(_M)]
    if complaints:
        cols.append(pl.col(complaints).cast(pl.Float64))
    cols += [pl.col(c).cast(pl.String) for c in categories]
    return lf.select(cols).collect().sort(id, _M, maintain_order=True)


def _side_features(sides: pl.DataFrame, id: str, t: int, complaints: str | None,
                   categories: list[str]) -> pl.DataFrame:
    upto = sides.filter(pl.col(_M) <= t)
    aggs: list[pl.Expr] = []
    if complaints:
        c = pl.col(complaints)
        aggs += [c.filter(pl.col(_M) > t - 3).sum().alias(f"{complaints}_3m"),
                 c.filter(pl.col(_M) > t - 6).sum().alias(f"{complaints}_6m")]
    aggs += [pl.col(c).last() for c in categories]
    return upto.group_by(id, maintain_order=True).agg(aggs)


#: Column names that say a value was computed after the as-of month (lifecycle's next-month
#: columns, synth's truth tables, a label window): fit refuses them as features.
LEAKY_NAMES = re.compile(r"^(next_|future_|true_|latent_)|_next_month$|(^|_)next_stage$|_after$")


def leaky_name(name: str) -> bool:
    """True when *name* says the column was computed after the as-of month.

    >>> [leaky_name(c) for c in ("churn_next_month", "next_stage", "true_stage", "voice_min_trend")]
    [True, True, True, False]
    """
    return bool(LEAKY_NAMES.search(name))


def check_unique(table: pl.DataFrame, id: str) -> None:
    """Refuse an id that appears twice in one as-of month (or twice at all without an as-of column)."""
    keys = [id, AS_OF] if AS_OF in table.columns else [id]
    dup = table.select(keys).is_duplicated()
    if dup.any():
        row = int(dup.arg_true()[0])
        where = f" in as-of month {table[AS_OF][row]}" if AS_OF in table.columns else ""
        raise DataError(f"customer {table[id][row]!r} appears more than once{where} (row {row + 1}); "
                        "one row per customer and as-of month")
