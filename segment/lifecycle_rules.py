"""The stage rules, applied to every slot of a :class:`~segment.lifecycle_panel.Grid` at once.

Everything here is vectorised over the flat grid (customers one after the
other, months in order): "the last month where X held, within this
customer" is a running maximum of ``customer * SPAN + month`` keys, and
"the mean of the last w months" is a sum of shifted copies masked so that it
never reaches into the previous customer. No Python loop runs per customer
or per row; loops run over window offsets only.

Examples
--------
A customer who uses 100 minutes, then 40 in the second month (a fall of 60%
against the first month: decline overrides acquisition), then nothing for
three months (exit on the third silent month):

>>> import polars as pl
>>> from segment.lifecycle_panel import load_panel
>>> panel = pl.DataFrame({"id": ["a"] * 2, "month": ["2024-01", "2024-02"], "voice": [100.0, 40.0]})
>>> grid = load_panel(panel, id="id", month="month", metrics={"voice": "voice"}, as_of="2024-05")
>>> st = assign(grid, {"voice": "voice"}, Rules())
>>> [STAGES[s] for s in st.stage]
['acquisition', 'decline', 'decline', 'decline', 'exit']
>>> [st.labels[c] for c in st.subtype]
[None, 'single-drop:voice', 'single-drop:voice', 'single-drop:voice', 'churn']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from segment.errors import OptionError
from segment.lifecycle_panel import CANCELLED, NO_MONTH, SUSPENDED, Grid

STAGES = ("acquisition", "build-up", "maturity", "decline", "exit")
ACQUISITION, BUILD_UP, MATURITY, DECLINE, EXIT = range(5)
NONE = NO_MONTH
#: Relative slack in "falls by at least --drop", so that a fall of exactly 30%
#: counts whatever the rounding of the means.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Rules:
    """The thresholds of the stage rules (all months; ``drop`` a fraction).

    Parameters
    ----------
    window, baseline
        Decline compares the mean of the last ``window`` months (this one
        included) with the mean of the ``baseline`` months before them.
    drop
        Decline when a metric's window mean is at most ``1 - drop`` times its
        baseline mean.
    exit_after
        Exit after this many consecutive months without usage.
    acquisition, build_up
        Last tenure month of acquisition and of build-up; maturity after.
    winback
        Months a suspended line has before cancellation.
    """

    window: int = 3
    baseline: int = 3
    drop: float = 0.30
    exit_after: int = 3
    acquisition: int = 3
    build_up: int = 6
    winback: int = 3

    def check(self) -> Rules:
        for name in ("window", "baseline", "exit_after", "winback"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise OptionError(f"--{name.replace('_', '-')} must be a whole number of months >= 1, got {value!r}")
        if not 0 < self.drop < 1:
            raise OptionError(f"--drop must be a fraction between 0 and 1 (0.3 = a fall of 30%), got {self.drop!r}")
        if not 0 <= self.acquisition <= self.build_up:
            raise OptionError(f"--acquisition ({self.acquisition}) must be between 0 and --build-up ({self.build_up})")
        return self

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass
class Stages:
    """Per-slot results of :func:`assign` (arrays aligned with the grid).

    ``stage`` holds indices into :data:`STAGES` (-1: before the customer's
    first activity), ``subtype`` indices into ``labels`` (0: none),
    ``tenure`` (-1 where unknown: no activation date and no usage yet) and
    ``in_stage`` months (meaningful where ``stage >= 0``),
    ``winback`` months left (-1: not suspended). Per customer:
    ``first_active`` / ``last_active`` (month or :data:`NONE`, as of the
    grid's end), ``reentry`` (the customer is a re-entered person's new line)
    and ``successor`` / ``successor_month`` (the new line that took over an
    exited line, or -1). ``recent`` / ``baseline``: metric -> window and
    baseline means at each customer's last month (NaN where undefined).
    """

    stage: np.ndarray
    subtype: np.ndarray
    labels: tuple[str | None, ...]
    tenure: np.ndarray
    in_stage: np.ndarray
    winback: np.ndarray
    first_active: np.ndarray
    last_active: np.ndarray
    reentry: np.ndarray | None
    successor: np.ndarray
    successor_month: np.ndarray
    recent: dict[str, np.ndarray]
    baseline: dict[str, np.ndarray]


class _Months:
    """Running "last month where a condition held" within each customer."""

    def __init__(self, grid: Grid):
        self.m0 = int(grid.m.min())
        span = int(grid.m.max()) - self.m0 + 2
        # int32 keys halve the memory traffic; large grids need int64.
        dtype = np.int32 if grid.n * span < np.iinfo(np.int32).max else np.int64
        self.base = grid.k.astype(dtype) * dtype(span)
        self.key = self.base + (grid.m - self.m0).astype(dtype)
        self.floor = self.base - 1

    def last(self, mask: np.ndarray) -> np.ndarray:
        """Month of the latest slot at or before each slot (same customer) where *mask*; else NONE."""
        run = np.maximum.accumulate(np.where(mask, self.key, self.floor))
        run -= self.base
        return np.where(run >= 0, run + self.m0, NONE).astype(np.int32, copy=False)


def assign(grid: Grid, metrics: Mapping[str, str], rules: Rules,
           progress: Callable[[str, int, int | None], None] | None = None) -> Stages:
    """Stage, subtype, tenure, months in stage and win-back months of every slot.

    *metrics* maps usage columns to roles (``voice``, ``data``, ``metric``,
    ``revenue``). See :mod:`segment.lifecycle` for the rules.
    """
    report = progress or (lambda task, done, total: None)
    steps = 4 + len(metrics)
    k, m = grid.k, grid.m
    months = _Months(grid)
    active = np.zeros(grid.size, dtype=bool)
    for col in metrics:
        active |= grid.x[col] > 0
    first_active = np.minimum.reduceat(np.where(active, m, np.iinfo(np.int32).max), grid.start)
    first_active = np.where(first_active == np.iinfo(np.int32).max, NONE, first_active).astype(np.int32)
    fa = first_active[k]
    staged = (fa != NONE) & (m >= fa)
    h = np.where(staged, m - fa + 1, 0)
    origin = fa if grid.activation is None else np.where(grid.activation[k] != NONE, grid.activation[k], fa)
    tenure = np.where(origin != NONE, m - origin + 1, -1).astype(np.int32)
    report("stages", 1, steps)

    last_use = months.last(active)
    exit_ = staged & (m - last_use >= rules.exit_after)
    if grid.status is not None:
        # A line cancelled before any usage is an exit too, not "no stage".
        exit_ |= months.last(grid.status == CANCELLED) > months.last((grid.status >= 0) & (grid.status != CANCELLED))
    report("stages", 2, steps)

    usage_cols = [c for c, role in metrics.items() if role != "revenue"]
    revenue_cols = [c for c, role in metrics.items() if role == "revenue"]
    win_n = np.clip(h - 1, 1, rules.window)
    base_n = np.clip(h - win_n, 0, rules.baseline)
    comparable = h >= 2
    last = grid.last_slots()
    fell: dict[str, np.ndarray] = {}
    recent: dict[str, np.ndarray] = {}
    baseline: dict[str, np.ndarray] = {}
    sums = _window_sums(grid.x, win_n.astype(np.int8), base_n.astype(np.int8), rules.window, rules.baseline)
    for i, (col, (win, base)) in enumerate(zip(metrics, sums, strict=True)):
        fell[col] = comparable & (base > 0) & (
            win / win_n <= (1 - rules.drop) * (base / np.maximum(base_n, 1)) * (1 + _TOLERANCE))
        at = last[staged[last]]
        r = np.full(grid.n, np.nan)
        b = np.full(grid.n, np.nan)
        r[k[at]] = win[at] / win_n[at]
        ok = at[comparable[at]]
        b[k[ok]] = base[ok] / base_n[ok]
        recent[col], baseline[col] = r, b
        report("stages", 3 + i, steps)
    del sums

    labels: tuple[str | None, ...] = (None, "double-drop", *(f"single-drop:{c}" for c in usage_cols),
                                      "revenue-drop", "churn", "re-entry")
    subtype = np.zeros(grid.size, dtype=np.int16)
    n_fell = np.zeros(grid.size, dtype=np.int8)
    for c in usage_cols:
        n_fell += fell[c]
    for j, c in enumerate(usage_cols):
        subtype[fell[c] & (n_fell == 1)] = 2 + j
    subtype[n_fell >= 2] = 1
    revenue_fell = np.zeros(grid.size, dtype=bool)
    for c in revenue_cols:
        revenue_fell |= fell[c]
    subtype[revenue_fell & (n_fell == 0)] = labels.index("revenue-drop")
    decline = staged & ~exit_ & (subtype > 0)
    del fell, n_fell, revenue_fell

    stage = np.where(tenure <= rules.acquisition, ACQUISITION,
                     np.where(tenure <= rules.build_up, BUILD_UP, MATURITY)).astype(np.int8)
    stage[decline] = DECLINE
    stage[exit_] = EXIT
    staged |= exit_
    stage[~staged] = -1
    subtype[~decline] = 0
    report("stages", steps - 1, steps)

    reentry, successor, successor_month = _reentries(grid, months, exit_, last_use, first_active, subtype, labels)
    prev_stage = np.concatenate([[-2], stage[:-1]])
    prev_k = np.concatenate([[-1], k[:-1]])
    changed = staged & ((prev_k != k) | (prev_stage != stage))
    in_stage = np.where(staged, m - months.last(changed) + 1, 0).astype(np.int32)
    winback = np.full(grid.size, -1, dtype=np.int8)
    if grid.status is not None:
        suspended = grid.status == SUSPENDED
        since = np.maximum(months.last(~suspended), (grid.first_seen - 1)[k])
        winback = np.where(suspended, np.maximum(rules.winback - (m - since), 0), -1).astype(np.int8)
    last_active = last_use[last]
    report("stages", steps, steps)
    return Stages(stage=stage, subtype=subtype, labels=labels, tenure=tenure, in_stage=in_stage, winback=winback,
                  first_active=first_active, last_active=last_active, reentry=reentry, successor=successor,
                  successor_month=successor_month, recent=recent, baseline=baseline)


def _window_sums(x: Mapping[str, np.ndarray], win_n: np.ndarray, base_n: np.ndarray, window: int,
                 baseline: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per metric, sums of the last ``win_n`` values and of the ``base_n`` values before them.

    The shifts run over the flat grid; callers keep ``win_n + base_n`` within
    the customer's active months, so no sum reaches the previous customer.
    Masks are built once per offset and shared by the metrics.
    """
    sums = [(np.zeros_like(v), np.zeros_like(v)) for v in x.values()]
    values = list(x.values())
    for j in range(min(window + baseline, len(win_n))):
        w, b = win_n[j:], base_n[j:]
        in_win = (w > j) if j < window else None
        in_base = (w <= j) & (w + b > j) if j >= 1 else None
        for v, (win, base) in zip(values, sums, strict=True):
            s = v[: len(v) - j] if j else v
            if in_win is not None:
                np.add(win[j:], s, out=win[j:], where=in_win)
            if in_base is not None:
                np.add(base[j:], s, out=base[j:], where=in_base)
    return sums


def _reentries(grid: Grid, months: _Months, exit_: np.ndarray, last_use: np.ndarray, first_active: np.ndarray,
               subtype: np.ndarray, labels: tuple[str | None, ...]
               ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Exit subtypes (churn / re-entry) and the links from exited lines to new ones.

    An exit is a re-entry when another line of the same identity becomes
    active for the first time after the exited line's last active month
    (up to the grid's end). Each exit episode is keyed by (customer, last
    active month before it).
    """
    churn, again = labels.index("churn"), labels.index("re-entry")
    successor = np.full(grid.n, -1, dtype=np.int64)
    successor_month = np.full(grid.n, NONE, dtype=np.int32)
    rows = np.flatnonzero(exit_)
    subtype[rows] = churn
    if grid.identity is None or rows.size == 0:
        return (None if grid.identity is None else np.zeros(grid.n, dtype=bool)), successor, successor_month
    # A line cancelled before any use: a new line after its cancellation month is a re-entry.
    prev_exit = np.concatenate([[False], exit_[:-1]]) & (np.concatenate([[-1], grid.k[:-1]]) == grid.k)
    run_start = months.last(exit_ & ~prev_exit)[rows]
    since = np.where(last_use[rows] != NONE, last_use[rows], run_start)
    key = months.base[rows] + (since - months.m0)
    new = np.concatenate([[True], key[1:] != key[:-1]])
    episode = np.cumsum(new) - 1
    first = rows[new]
    episodes = pl.DataFrame({
        "_e": np.arange(first.size), "_k": grid.k[first], "_identity": grid.identity.gather(grid.k[first]),
        "_after": since[new] + 1,
    }).sort("_after")
    starts = (pl.DataFrame({"_identity": grid.identity, "_fa": first_active, "_next": np.arange(grid.n)})
              .filter(pl.col("_fa") != NONE).sort("_identity", "_fa", "_next").with_row_index("_pos")
              .sort("_fa", "_next"))
    # Both sides are sorted on the asof keys above; polars cannot verify it within "by" groups.
    hit = episodes.join_asof(starts, left_on="_after", right_on="_fa", by="_identity", strategy="forward",
                             check_sortedness=False)
    # A never-used line can find itself (its own first use comes after its cancellation): take the
    # next line of the person in the same order instead.
    own = hit.filter(pl.col("_next") == pl.col("_k")).select("_e", "_identity", _pos=pl.col("_pos") + 1)
    following = own.join(starts, on=["_pos", "_identity"], how="inner")
    hit = pl.concat([hit.filter(pl.col("_next").is_not_null() & (pl.col("_next") != pl.col("_k")))
                     .select("_e", "_k", "_fa", "_next"),
                     following.join(episodes.select("_e", "_k"), on="_e").select("_e", "_k", "_fa", "_next")])
    linked = np.zeros(first.size, dtype=bool)
    linked[hit["_e"].to_numpy()] = True
    subtype[rows[linked[episode]]] = again
    reentry = np.zeros(grid.n, dtype=bool)
    reentry[hit["_next"].to_numpy()] = True
    # The earliest take-over per exited line: the person is followed on the new line from then on.
    earliest = hit.sort("_fa", "_next").unique("_k", keep="first", maintain_order=True)
    successor[earliest["_k"].to_numpy()] = earliest["_next"].to_numpy()
    successor_month[earliest["_k"].to_numpy()] = earliest["_fa"].to_numpy()
    return reentry, successor, successor_month
