"""Stage flows: the month-to-month transition matrix, projections, and monthly KPIs.

The transition matrix counts, over every pair of consecutive months of every
line, which stage the line moved from and to, and divides each row by its
total (Pfeifer & Carraway's customer-migration model: a time-homogeneous
Markov chain). Exit is absorbing in the data's own terms: a line leaves it
only when its usage comes back (reactivation) or when the person comes back
on a new line (re-entry; the move is counted from the old line's stage to
the new line's first stage, and the old line is followed no further).

Examples
--------
>>> import numpy as np
>>> chain = Chain(np.array([[0, 9, 0, 1, 0], [0, 0, 8, 1, 1], [0, 0, 9, 1, 0],
...                         [0, 0, 2, 6, 2], [1, 0, 0, 0, 9]]), np.array([10, 5, 40, 5, 20]))
>>> chain.matrix[4].round(2).tolist()
[0.1, 0.0, 0.0, 0.0, 0.9]
>>> chain.project(1)[1].round(1).tolist()
[2.0, 9.0, 41.0, 8.5, 19.5]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from segment.lifecycle._panel import Grid, month_date
from segment.lifecycle._rules import NONE, STAGES, Stages

STAGE_DTYPE = pl.Enum(STAGES)


@dataclass
class Chain:
    """A stage transition matrix estimated from counts, and the stage counts to project.

    Attributes
    ----------
    counts : np.ndarray
        ``(K, K)`` moves from stage i (row) to stage j (column), in the
        order of *names* (:data:`~segment.lifecycle._rules.STAGES` by default).
    current : np.ndarray
        Customers per stage in the last month (lines taken over by a
        re-entered person's new line left out).
    names : tuple
        The stage vocabulary.
    """

    counts: np.ndarray
    current: np.ndarray
    names: tuple[str, ...] = STAGES

    @property
    def matrix(self) -> np.ndarray:
        """Row-stochastic matrix; a stage never left in the data keeps its customers."""
        totals = self.counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(totals > 0, self.counts / np.maximum(totals, 1), 0.0)
        p[totals[:, 0] == 0] = np.eye(len(self.names))[totals[:, 0] == 0]
        return p

    def project(self, months: int) -> np.ndarray:
        """Expected customers per stage 0..*months* months ahead, ``(months + 1, K)``."""
        out = np.empty((months + 1, len(self.names)))
        out[0] = self.current
        p = self.matrix
        for t in range(1, months + 1):
            out[t] = out[t - 1] @ p
        return out


def chain(grid: Grid, st: Stages) -> Chain:
    """Count month-to-month moves between stages (see module docstring)."""
    stage, k, m = st.stage, grid.k, grid.m
    n_stages = len(st.names)
    same = k[1:] == k[:-1]
    a, b = stage[:-1], stage[1:]
    keep = same & (a >= 0) & (b >= 0)
    taken = st.successor >= 0
    if taken.any():
        cut = st.successor_month[k[1:]]
        keep &= ~((cut != NONE) & (m[1:] >= cut))
    counts = np.bincount(a[keep].astype(np.int64) * n_stages + b[keep],
                         minlength=n_stages * n_stages).reshape(n_stages, n_stages)
    old = np.flatnonzero(taken)
    if old.size:
        new = st.successor[old]
        when = st.successor_month[old]
        before = stage[grid.start[old] + (when - 1 - grid.first_seen[old])]
        after = stage[grid.start[new] + (when - grid.first_seen[new])]
        np.add.at(counts, (before, after), 1)
    last = grid.last_slots()
    now = stage[last]
    now = now[(now >= 0) & ~taken]
    current = np.bincount(now, minlength=n_stages).astype(np.float64)
    return Chain(counts=counts.astype(np.int64), current=current, names=st.names)


def transition_table(ch: Chain) -> pl.DataFrame:
    """Long table: from, to, moves, probability (K x K rows, stage order)."""
    p = ch.matrix
    n_stages = len(ch.names)
    idx = np.arange(n_stages * n_stages)
    names = pl.Series(ch.names, dtype=pl.Enum(ch.names))
    return pl.DataFrame({
        "from": names.gather(idx // n_stages),
        "to": names.gather(idx % n_stages),
        "moves": ch.counts.reshape(-1),
        "probability": np.round(p.reshape(-1), 6),
    })


def projection_table(ch: Chain, months: int, as_of: int) -> pl.DataFrame:
    """Long table: month, months_ahead, stage, customers, share."""
    proj = ch.project(months)
    n_stages = len(ch.names)
    total = proj.sum(axis=1, keepdims=True)
    share = np.where(total > 0, proj / np.maximum(total, 1e-300), 0.0)
    ahead = np.repeat(np.arange(months + 1), n_stages)
    return pl.DataFrame({
        "month": [month_date(as_of + int(a)) for a in ahead],
        "months_ahead": ahead.astype(np.int32),
        "stage": pl.Series(ch.names, dtype=pl.Enum(ch.names)).gather(np.tile(np.arange(n_stages), months + 1)),
        "customers": np.round(proj.reshape(-1), 6),
        "share": np.round(share.reshape(-1), 6),
    })


def kpi_table(grid: Grid, st: Stages, revenue: str | None, acquisition: int, with_activation: bool,
              cost: str | None = None) -> pl.DataFrame:
    """The first-level indicators per month and stage (see :mod:`segment.lifecycle._lifecycle`).

    With *cost* (and *revenue*), also cost and profit (revenue minus cost)
    per stage, and revenue, cost and profit per customer-month of the stage.
    """
    counts = kpi_counts(grid, st, revenue, acquisition, cost)
    return kpi_finish(counts, names=st.names, exit_code=st.exit_code, new_code=st.new_code,
                      first_month=grid.first_month, months=grid.as_of - grid.first_month + 1,
                      has_identity=grid.identity is not None, reentry=st.reentry is not None,
                      with_activation=with_activation,
                      revenue=revenue is not None, cost=cost)


#: The additive parts of the KPIs, per (month, stage) cell or (``_MONTHLY``) per month.
KPI_COUNTS = ("customers", "entered", "leaving", "swaps", "staying", "revenue", "cost")
_MONTHLY = ("brand_new", "re_entered")


def kpi_counts(grid: Grid, st: Stages, revenue: str | None, acquisition: int,
               cost: str | None = None) -> dict[str, np.ndarray]:
    """Sums behind :func:`kpi_table`: per cell ``month * K + stage`` (:data:`KPI_COUNTS`), or per month.

    Additive over customers (over persons, with an identity, when each
    person's lines are counted together), so that parts of a panel can be
    counted apart and summed (the Spark engine counts each partition).
    """
    stage, k, m = st.stage, grid.k, grid.m
    n_stages, exit_code = len(st.names), st.exit_code
    m0 = grid.first_month
    months = grid.as_of - m0 + 1
    on = stage >= 0
    cell = (m[on] - m0).astype(np.int64) * n_stages + stage[on]
    size = months * n_stages

    def per_cell(weights: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        c = cell if mask is None else cell[mask[on]]
        w = None if weights is None else (weights[on] if mask is None else weights[on & mask])
        return np.bincount(c, weights=w, minlength=size)

    customers = per_cell().astype(np.int64)
    prev_k = np.concatenate([[-1], k[:-1]])
    prev_stage = np.concatenate([[-2], stage[:-1]])
    entered = per_cell(mask=(prev_k != k) | (prev_stage != stage)).astype(np.int64)
    next_k = np.concatenate([k[1:], [-1]])
    has_next = next_k == k
    churned = np.concatenate([st.churned()[1:], [False]])
    swap_code = st.labels.index("exit_swap")
    swapped = np.concatenate([(stage[1:] == exit_code) & (st.subtype[1:] == swap_code), [False]])
    if grid.identity is None:
        leaving = per_cell(mask=has_next & churned & (stage != exit_code))
        swaps = per_cell(mask=has_next & swapped & (stage != exit_code))
        staying = per_cell(mask=has_next)
    else:
        # Persons, not lines: a person with two lines in a stage counts once.
        person = grid.identity.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)[k]
        slot_cell = np.full(grid.size, -1, dtype=np.int64)
        slot_cell[on] = cell

        def persons(mask: np.ndarray) -> np.ndarray:
            pairs = np.unique(slot_cell[mask & on] * (int(person.max()) + 1) + person[mask & on])
            return np.bincount(pairs // (int(person.max()) + 1), minlength=size).astype(np.float64)

        leaving = persons(has_next & churned & (stage != exit_code))
        swaps = persons(has_next & swapped & (stage != exit_code))
        staying = persons(has_next)
    fa = st.first_active[k]
    new = on & (m == fa) & (st.tenure <= acquisition)
    re = st.reentry[k] if st.reentry is not None else np.zeros(grid.size, dtype=bool)
    zero = np.zeros(size)
    return {
        "customers": customers, "entered": entered, "leaving": leaving, "swaps": swaps, "staying": staying,
        "revenue": per_cell(weights=grid.x[revenue]) if revenue is not None else zero,
        "cost": per_cell(weights=grid.x[cost]) if revenue is not None and cost is not None else zero,
        "brand_new": np.bincount(m[new & ~re] - m0, minlength=months),
        "re_entered": np.bincount(m[new & re] - m0, minlength=months),
    }


def kpi_finish(counts: dict[str, np.ndarray], *, names: tuple[str, ...], exit_code: int, new_code: int,
               first_month: int, months: int, has_identity: bool, reentry: bool, with_activation: bool,
               revenue: bool, cost: str | None = None) -> pl.DataFrame:
    """The KPI table from the sums of :func:`kpi_counts` (shares and rates are ratios of the sums).

    *reentry*: re-entries are known (an identity was given).
    """
    n_stages = len(names)
    m0 = first_month
    customers, entered = counts["customers"].astype(np.int64), counts["entered"].astype(np.int64)
    leaving, swaps, staying = counts["leaving"], counts["swaps"], counts["staying"]
    total = customers.reshape(months, n_stages).sum(axis=1).repeat(n_stages)
    month_of = np.repeat(np.arange(months), n_stages)
    stage_of = np.tile(np.arange(n_stages), months)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, customers / np.maximum(total, 1), np.nan)
        churn = np.where(staying > 0, leaving / np.maximum(staying, 1), np.nan)
        swap = np.where(staying > 0, swaps / np.maximum(staying, 1), np.nan)
    churn[(stage_of == exit_code) | (month_of == months - 1)] = np.nan
    swap[(stage_of == exit_code) | (month_of == months - 1) | (not has_identity)] = np.nan
    first_month_ = month_of == 0
    acq = stage_of == new_code
    columns = {
        "month": [month_date(m0 + int(i)) for i in month_of],
        "stage": pl.Series(names, dtype=pl.Enum(names)).gather(stage_of),
        "customers": customers,
        "share": np.round(share, 6),
        # In the panel's first month every customer "enters": nothing is known before it.
        "entered": pl.Series(entered).set(pl.Series(first_month_), None),
        "churn_next_month": np.round(churn, 6),
        "swap_next_month": np.round(swap, 6),
    }
    if revenue:
        columns["revenue"] = np.round(counts["revenue"], 6)
    if revenue and cost is not None:
        money = {"revenue": counts["revenue"], "cost": counts["cost"]}
        money["profit"] = money["revenue"] - money["cost"]
        columns["cost"] = np.round(money["cost"], 6)
        columns["profit"] = np.round(money["profit"], 6)
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, total_ in money.items():
                columns[f"{name}_per_customer_month"] = np.round(
                    np.where(customers > 0, total_ / np.maximum(customers, 1), np.nan), 6)
    unknown = first_month_ if not with_activation else np.zeros_like(first_month_)
    for name in _MONTHLY:
        values = pl.Series(name, counts[name].astype(np.int64)[month_of], dtype=pl.Int64)
        columns[name] = values.set(pl.Series(~acq | unknown), None)
    if not reentry:
        columns["re_entered"] = pl.Series("re_entered", [None] * len(month_of), dtype=pl.Int64)
    return pl.DataFrame(columns).with_columns(pl.col(pl.Float64).fill_nan(None))
