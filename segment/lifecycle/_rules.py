"""The stage rules, applied to every slot of a :class:`~segment.lifecycle._panel.Grid` at once.

Everything here is vectorised over the flat grid (customers one after the
other, months in order): "the last month where X held, within this
customer" is a running maximum of ``customer * span + month`` keys, and
"the sum of the last w months" comes from running sums of shifted copies,
taken only where they stay within the customer's active months. No Python
loop runs per customer or per row; loops run over window lengths only.

Examples
--------
A customer who uses 100 minutes, then 40 in the second month (a fall of 60%
against the first month: decline overrides acquisition), then nothing for
three months (exit on the third silent month):

>>> import polars as pl
>>> from segment.lifecycle._panel import load_panel
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from segment.errors import OptionError
from segment.lifecycle._panel import CANCELLED, NO_MONTH, SUSPENDED, Grid

STAGES = ("acquisition", "build-up", "maturity", "decline", "exit")
#: Rule schemes: telecom usage panels, shop purchases judged by each customer's rhythm, or group
#: (enterprise) accounts in six stages (:mod:`segment.lifecycle._b2b`).
SCHEMES = ("telecom", "purchases", "b2b")
#: Subtypes after the decline kinds, in every scheme.
_OTHER_SUBTYPES = ("winback", "churn", "re-entry", "exit_swap")
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
        The win-back window: months a suspended line has before cancellation;
        a return after 1 to ``winback`` silent months is a win-back.
    scheme
        ``telecom`` (usage falls and silent months) or ``purchases`` (each
        customer's own gap between purchases; see :func:`_cadence`).
    overdue
        Purchases scheme: decline once ``overdue`` times the customer's median
        gap has passed without a purchase.
    development, grow
        B2B scheme: months from the first purchase that are development, and
        the rise of a window mean over the window before it that is growth.
    """

    window: int = 3
    baseline: int = 3
    drop: float = 0.30
    exit_after: int = 3
    acquisition: int = 3
    build_up: int = 6
    winback: int = 3
    scheme: str = "telecom"
    overdue: float = 2.0
    development: int = 6
    grow: float = 0.10

    def check(self) -> Rules:
        if self.scheme not in SCHEMES:
            raise OptionError(f"--scheme must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not 1 <= self.overdue <= 24:
            raise OptionError(f"--overdue must be a number of median gaps from 1 to 24 (2 = twice the customer's "
                              f"usual gap between purchases), got {self.overdue!r}")
        if not 0 < self.grow <= 10:
            raise OptionError(f"--grow must be a fraction above 0 (0.1 = a rise of 10%), got {self.grow!r}")
        for name in ("window", "baseline", "exit_after", "winback", "development"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 60:
                raise OptionError(f"--{name.replace('_', '-')} must be a whole number of months from 1 to 60, "
                                  f"got {value!r}")
        if not 0 < self.drop < 1:
            raise OptionError(f"--drop must be a fraction between 0 and 1 (0.3 = a fall of 30%), got {self.drop!r}")
        if not 0 <= self.acquisition <= self.build_up:
            raise OptionError(f"--acquisition ({self.acquisition}) must be between 0 and --build-up ({self.build_up})")
        return self

    def as_dict(self) -> dict[str, float | int]:
        out = asdict(self)
        if self.scheme != "b2b":
            del out["development"], out["grow"]
        return out


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
    Under the purchases scheme, ``gap`` (the median months between purchases
    judged against, NaN before the first purchase) and ``since`` (months since
    the last purchase, -1 before it) per slot. ``names`` is the stage
    vocabulary the codes index (:data:`STAGES`, or the six B2B stages), with
    the codes of its exit stage and of its stage of new customers; ``h``
    (months since the first activity or the latest win-back, 0 before it)
    is kept when :func:`assign` is asked to.
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
    gap: np.ndarray | None = None
    since: np.ndarray | None = None
    names: tuple[str, ...] = STAGES
    exit_code: int = EXIT
    new_code: int = ACQUISITION
    h: np.ndarray | None = None

    def churned(self) -> np.ndarray:
        """Per slot: an exit that is a churn (not a re-entry or a number swap of the same identity)."""
        return (self.stage == self.exit_code) & (self.subtype == self.labels.index("churn"))


class _Months:
    """Running "last slot where a condition held" within each customer, as month keys.

    A slot's key is ``customer * span + month - m0``: keys grow along the grid
    and jump between customers, so a running maximum of the keys where a
    condition held never reaches into an earlier customer (whose keys are
    all below this customer's ``floor``), and the difference of two keys of
    one customer is their distance in months.
    """

    def __init__(self, grid: Grid):
        self.m0 = int(grid.m.min())
        span = int(grid.m.max()) - self.m0 + 2
        # int32 keys halve the memory traffic; large grids need int64.
        dtype = np.int32 if (grid.n + 1) * span < np.iinfo(np.int32).max else np.int64
        self.base = grid.k.astype(dtype) * dtype(span)
        self.key = self.base + (grid.m - self.m0).astype(dtype)
        self.floor = self.base - 1

    def last(self, mask: np.ndarray) -> np.ndarray:
        """Key of the latest slot at or before each slot (same customer) where *mask*; ``floor`` if none."""
        run = np.where(mask, self.key, self.floor)
        return np.maximum.accumulate(run, out=run)

    def month(self, keys: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Months of *keys* taken at *slots* (NONE where the key is a floor)."""
        rel = keys[slots] - self.base[slots]
        return np.where(rel >= 0, rel + self.m0, NONE).astype(np.int32)


def assign(grid: Grid, metrics: Mapping[str, str], rules: Rules,
           progress: Callable[[str, int, int | None], None] | None = None, keep_h: bool = False) -> Stages:
    """Stage, subtype, tenure, months in stage and win-back months of every slot.

    *metrics* maps usage columns to roles (``voice``, ``data``, ``metric``,
    ``revenue``). See :mod:`segment.lifecycle._lifecycle` for the rules.
    With *keep_h*, the months since the first activity (or the latest
    win-back) stay in ``Stages.h`` for rules built on top of these.
    """
    report = progress or (lambda task, done, total: None)
    steps = 4 + len(metrics)
    k, m = grid.k, grid.m
    months = _Months(grid)
    big = np.iinfo(np.int32).max
    active = np.zeros(grid.size, dtype=bool)
    for col in metrics:
        active |= grid.x[col] > 0
    first = np.minimum.reduceat(np.where(active, m, big), grid.start)
    first_active = np.where(first == big, NONE, first).astype(np.int32)
    staged = m >= first[k]
    del first
    origin = first_active if grid.activation is None else np.where(grid.activation != NONE, grid.activation,
                                                                     first_active)
    origin = origin[k]
    tenure = np.where(origin != NONE, m - origin + 1, -1).astype(np.int32)
    del origin
    report("stages", 1, steps)

    last_use = months.last(active)
    cadence = None
    if rules.scheme == "purchases":
        cadence = _cadence(grid, months, active, last_use, staged, rules)
        returns = cadence.winback
    else:
        returns = _winbacks(grid, months, active, last_use, rules.winback)
    # Months since the first activity, or since the latest win-back: a return restarts the decline window
    # (the purchases scheme has no decline window: its h only feeds the snapshot's means).
    restart = (m == first_active[k]) | (returns if cadence is None else False)
    h = months.key - months.last(restart)
    del restart
    h += 1
    h[~staged] = 0
    if cadence is None:
        exit_ = months.key - last_use
        exit_ = staged & (exit_ >= rules.exit_after)
    else:
        exit_ = staged & cadence.exit
    if grid.status is not None:
        # A line cancelled before any usage is an exit too, not "no stage".
        exit_ |= months.last(grid.status == CANCELLED) > months.last((grid.status >= 0) & (grid.status != CANCELLED))
    report("stages", 2, steps)

    last = grid.last_slots()
    fell, recent, baseline = _falls(grid, metrics, rules, h, staged, last,
                                    lambda i: report("stages", 3 + i, steps))
    kept = h if keep_h else None
    del h
    if cadence is None:
        labels, subtype = _decline_subtypes(fell, metrics, grid.size)
    else:
        labels = (None, "overdue", *_OTHER_SUBTYPES)
        subtype = cadence.overdue.astype(np.int16)
    decline = staged & ~exit_ & (subtype > 0)
    del fell

    stage = np.full(grid.size, MATURITY, dtype=np.int8)
    stage[tenure <= rules.build_up] = BUILD_UP
    stage[tenure <= rules.acquisition] = ACQUISITION
    stage[decline] = DECLINE
    stage[exit_] = EXIT
    staged |= exit_
    stage[~staged] = -1
    subtype[~decline] = 0
    subtype[returns & staged & ~exit_] = labels.index("winback")
    del decline, returns
    report("stages", steps - 1, steps)

    exits = np.flatnonzero(exit_)
    reentry, successor, successor_month = _reentries(grid, months, exits, months.month(last_use, exits),
                                                     first_active, subtype, labels)
    del exit_
    in_stage = months_in_stage(grid, months, stage, staged)
    # Tenure stops at exit: every month of an exit run keeps the tenure of its first month.
    held = (stage == EXIT) & (tenure != -1)
    tenure[held] -= (in_stage[held] - 1).astype(np.int32)
    del held
    winback = np.full(grid.size, -1, dtype=np.int8)
    if grid.status is not None:
        suspended = grid.status == SUSPENDED
        # Months suspended in a row: back to the last other month, or to the month before the first row.
        since = np.maximum(months.last(~suspended), months.key[grid.start][k] - 1)
        held = months.key - since
        winback = np.where(suspended, np.maximum(rules.winback - held, 0), -1).astype(np.int8)
    last_active = months.month(last_use, last)
    report("stages", steps, steps)
    return Stages(stage=stage, subtype=subtype, labels=labels, tenure=tenure, in_stage=in_stage.astype(np.int32),
                  winback=winback, first_active=first_active, last_active=last_active, reentry=reentry,
                  successor=successor, successor_month=successor_month, recent=recent, baseline=baseline,
                  gap=None if cadence is None else cadence.gap, since=None if cadence is None else cadence.since,
                  h=kept)


def months_in_stage(grid: Grid, months: _Months, stage: np.ndarray, staged: np.ndarray) -> np.ndarray:
    """Months in the current stage, this one included (0 where not *staged*)."""
    changed = np.empty(grid.size, dtype=bool)
    changed[0] = True
    np.not_equal(stage[1:], stage[:-1], out=changed[1:])
    changed[grid.start] = True
    changed &= staged
    in_stage = months.key - months.last(changed)
    in_stage += 1
    in_stage[~staged] = 0
    return in_stage


@dataclass
class _Cadence:
    """Per slot, under the purchases scheme (see :func:`_cadence`)."""

    overdue: np.ndarray
    exit: np.ndarray
    winback: np.ndarray
    gap: np.ndarray
    since: np.ndarray


def _cadence(grid: Grid, months: _Months, active: np.ndarray, last_use: np.ndarray, staged: np.ndarray,
             rules: Rules) -> _Cadence:
    """Decline and exit judged against each customer's own purchase rhythm.

    The gap of a purchase month is the months since the customer's previous
    purchase month; a customer's rhythm at month t is the median of their
    gaps up to t. A customer with one purchase month so far is judged
    against the median of every customer's gaps up to t (1 month before any
    is known). With ``s`` months since the last purchase and ``g`` that
    median, the month is ``overdue`` (a decline) from ``s >= overdue * g`` on
    and an exit from ``s >= overdue * g + winback`` on: the decline lasts the
    win-back window. A purchase month right after an overdue month is a
    win-back; after an exit it is a reactivation.
    """
    idx = np.arange(grid.size)
    # The slot of the latest purchase at or before each slot (same customer), or -1.
    last_slot = np.maximum.accumulate(np.where(active, idx, -1))
    last_slot = np.where(last_slot >= grid.start[grid.k], last_slot, -1)
    since = np.where(last_slot >= 0, months.key - last_use, -1).astype(np.int32)
    buys = np.flatnonzero(active)
    prev = np.empty(buys.size, dtype=np.int64)
    prev[:1] = -1
    prev[1:] = buys[:-1]
    own = (prev >= 0) & (grid.k[np.maximum(prev, 0)] == grid.k[buys])
    gaps = np.where(own, grid.m[buys] - grid.m[np.maximum(prev, 0)], 0).astype(np.int64)
    median = (pl.DataFrame({"k": grid.k[buys], "gap": pl.Series(gaps).set(pl.Series(~own), None)})
              .select(pl.col("gap").cumulative_eval(pl.element().median()).over("k"))
              .to_series().fill_null(np.nan).to_numpy())
    gap = np.full(grid.size, np.nan)
    at = last_slot >= 0
    # Where the last purchase is the first one, the rhythm of everybody up to this month.
    gap[at] = median[np.searchsorted(buys, last_slot[at])]
    population = _population_gaps(grid, grid.m[buys[own]], gaps[own])
    unknown = at & np.isnan(gap)
    gap[unknown] = population[grid.m[unknown] - grid.first_month]
    due = rules.overdue * gap
    overdue = staged & at & (since >= due)
    exit_ = staged & at & (since >= due + rules.winback)
    overdue &= ~exit_
    was_overdue = np.zeros(grid.size, dtype=bool)
    was_overdue[1:] = overdue[:-1]
    was_overdue[grid.start] = False
    return _Cadence(overdue=overdue, exit=exit_, winback=active & was_overdue, gap=gap, since=since)


def _population_gaps(grid: Grid, month: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Median of all gaps ending in or before each month of the grid (1.0 before any)."""
    span = grid.as_of - grid.first_month + 1
    out = np.ones(span)
    if gaps.size == 0:
        return out
    counts = np.zeros((span, int(gaps.max()) + 1), dtype=np.int64)
    np.add.at(counts, (month - grid.first_month, gaps), 1)
    counts = np.cumsum(counts, axis=0)
    for t in range(span):  # months, not rows
        cum = np.cumsum(counts[t])
        n = int(cum[-1])
        if n:
            lo = int(np.searchsorted(cum, (n - 1) // 2 + 1))
            hi = int(np.searchsorted(cum, n // 2 + 1))
            out[t] = (lo + hi) / 2
    return out


def _winbacks(grid: Grid, months: _Months, active: np.ndarray, last_use: np.ndarray, window: int) -> np.ndarray:
    """Return months: usage again after 1 to *window* silent months (a longer silence stays a reactivation)."""
    before = np.empty_like(last_use)
    before[1:] = last_use[:-1]
    before[grid.start] = months.floor[grid.start]
    silent = months.key - before
    silent -= 1
    return active & (before > months.floor) & (silent >= 1) & (silent <= window)


def _falls(grid: Grid, metrics: Mapping[str, str], rules: Rules, h: np.ndarray, staged: np.ndarray,
           last: np.ndarray, done: Callable[[int], None]
           ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per metric: where it fell by ``drop``, and its window / baseline means at each customer's last slot.

    *h* is months since the first activity (0 before it). The window holds
    ``min(window, h - 1)`` months (at least 1) and the baseline the
    ``min(baseline, h - window)`` months before it.
    """
    means = WindowMeans(h, rules.window, rules.baseline)
    comparable = h >= 2
    at = last[staged[last]]
    ok = at[comparable[at]]
    threshold = (1 - rules.drop) * (1 + _TOLERANCE)
    fell: dict[str, np.ndarray] = {}
    recent: dict[str, np.ndarray] = {}
    baseline: dict[str, np.ndarray] = {}
    def one(col: str) -> None:
        win, base = means(grid.x[col])
        recent[col] = np.full(grid.n, np.nan)
        baseline[col] = np.full(grid.n, np.nan)
        recent[col][grid.k[at]] = win[at]
        baseline[col][grid.k[ok]] = base[ok]
        f = base > 0
        f &= comparable
        base *= threshold
        f &= win <= base
        fell[col] = f

    # numpy releases the GIL on whole-array operations, so two metrics run
    # on two cores; each holds about 6 float arrays of the grid's size.
    # Keys are placed first so that the dicts keep the metrics' order
    # whichever thread finishes first.
    for d in (fell, recent, baseline):
        d.update(dict.fromkeys(metrics))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, _ in enumerate(pool.map(one, metrics)):
            done(i)
    return fell, recent, baseline


class WindowMeans:
    """Window and baseline means of a metric per slot, shortened in a customer's first months.

    *h* is months since the first activity (0 before it). The window holds
    ``min(window, h - 1)`` months (at least 1) and the baseline the
    ``min(baseline, h - window)`` months before it (mean 0 where it holds none).
    """

    def __init__(self, h: np.ndarray, window: int, baseline: int):
        self.window, self.baseline = window, baseline
        self.win_n = np.clip(h - 1, 1, window).astype(np.int8)
        self.base_div = np.maximum(np.clip(h - self.win_n, 0, baseline), 1).astype(np.int8)
        reach = window + baseline
        young = np.minimum(h, reach)
        self.groups = {c: np.flatnonzero(young == c) for c in range(1, reach)}

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        win, base = _window_sums(x, self.groups, self.window, self.baseline)
        np.divide(win, self.win_n, out=win)  # sums -> means, in place
        np.divide(base, self.base_div, out=base)
        return win, base


def _decline_subtypes(fell: dict[str, np.ndarray], metrics: Mapping[str, str],
                      size: int) -> tuple[tuple[str | None, ...], np.ndarray]:
    """Subtype labels and codes: two or more usage metrics fell, one did, or only revenue did."""
    usage_cols = [c for c, role in metrics.items() if role != "revenue"]
    labels: tuple[str | None, ...] = (None, "double-drop", *(f"single-drop:{c}" for c in usage_cols),
                                      "revenue-drop", *_OTHER_SUBTYPES)
    subtype = np.zeros(size, dtype=np.int16)
    n_fell = np.zeros(size, dtype=np.int8)
    for c in usage_cols:
        n_fell += fell[c]
    for j, c in enumerate(usage_cols):
        subtype[fell[c] & (n_fell == 1)] = 2 + j
    subtype[n_fell >= 2] = 1
    revenue_fell = np.zeros(size, dtype=bool)
    for c, role in metrics.items():
        if role == "revenue":
            revenue_fell |= fell[c]
    subtype[revenue_fell & (n_fell == 0)] = labels.index("revenue-drop")
    return labels, subtype


def _window_sums(x: np.ndarray, groups: dict[int, np.ndarray], window: int,
                 baseline: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of the last ``win_n`` values and of the ``base_n`` values before them, per slot.

    ``S_w`` (the sum of the last w values along the flat grid) is built for
    w = 1..max(window, baseline) by adding shifted copies. From a customer's
    ``window + baseline``-th active month on the window sum is ``S_window``
    and the baseline sum ``S_baseline`` taken ``window`` slots earlier; the
    younger months (*groups*: months since first activity -> slots) take
    their shorter sums from the same ``S``. No sum reaches the previous
    customer's slots in a month where it is used.
    """
    top = max(window, baseline)
    sums = [np.zeros(0), x]
    for w in range(2, top + 1):
        nxt = np.empty_like(x)
        nxt[: w - 1] = sums[-1][: w - 1]
        np.add(sums[-1][w - 1:], x[: len(x) - w + 1], out=nxt[w - 1:])
        sums.append(nxt)
    win = sums[window].copy() if window == 1 else sums[window]
    base = np.zeros_like(x)
    if len(x) > window:
        base[window:] = sums[baseline][: len(x) - window]
    spans = {c: (min(window, max(c - 1, 1)), min(baseline, c - min(window, max(c - 1, 1)))) for c in groups}
    # Baselines first: they read the sums that the window fix-ups below overwrite in place.
    for c, idx in groups.items():
        w, b = spans[c]
        base[idx] = sums[b][idx - w] if b > 0 else 0.0
    for c, idx in groups.items():
        win[idx] = sums[spans[c][0]][idx]
    return win, base


def _reentries(grid: Grid, months: _Months, rows: np.ndarray, used: np.ndarray, first_active: np.ndarray,
               subtype: np.ndarray, labels: tuple[str | None, ...]
               ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Exit subtypes (churn / re-entry / exit_swap) and the links from exited lines to new ones.

    An exit is a number swap when another line of the same identity became
    active for the first time after the exited line's first active month and
    no later than its last active month (the new line overlaps the old one);
    else a re-entry when another line of the identity becomes active for the
    first time after the exited line's last active month (up to the grid's
    end). Each exit episode is keyed by (customer, last active month before
    it). Only re-entries link the old line to a successor: a swap's new line
    is already followed on its own.
    """
    churn, again, swap = labels.index("churn"), labels.index("re-entry"), labels.index("exit_swap")
    successor = np.full(grid.n, -1, dtype=np.int64)
    successor_month = np.full(grid.n, NONE, dtype=np.int32)
    subtype[rows] = churn
    if grid.identity is None or rows.size == 0:
        return (None if grid.identity is None else np.zeros(grid.n, dtype=bool)), successor, successor_month
    # A line cancelled before any use: a new line after its cancellation month is a re-entry.
    # Exit rows are in grid order; a run of them starts where the previous slot is not one of them.
    starts_run = np.ones(rows.size, dtype=bool)
    starts_run[1:] = rows[1:] != rows[:-1] + 1
    starts_run |= rows == grid.start[grid.k[rows]]
    run_first = rows[np.maximum.accumulate(np.where(starts_run, np.arange(rows.size), 0))]
    since = np.where(used != NONE, used, grid.m[run_first])
    key = months.base[rows] + (since - months.m0)
    new = np.concatenate([[True], key[1:] != key[:-1]])
    episode = np.cumsum(new) - 1
    first = rows[new]
    old = grid.k[first]
    after = since[new] + 1
    # Integer person codes; then lines sorted by (person, first active month, line) and, for each
    # episode, a binary search for the first line of the person active from `after` on.
    person = grid.identity.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    span = np.int64(grid.as_of - months.m0 + 3)
    lines = np.flatnonzero(first_active != NONE)
    if lines.size == 0:
        return np.zeros(grid.n, dtype=bool), successor, successor_month
    order = np.lexsort((lines, first_active[lines], person[lines]))
    lines = lines[order]
    line_key = person[lines] * span + (first_active[lines] - months.m0)
    pos = np.searchsorted(line_key, person[old] * span + (after - months.m0))
    # A never-used line can find itself (its own first use comes after its cancellation): skip it.
    inside = pos < lines.size
    pos[inside & (lines[np.minimum(pos, lines.size - 1)] == old)] += 1
    inside = pos < lines.size
    hit_line = lines[np.minimum(pos, lines.size - 1)]
    found = inside & (person[hit_line] == person[old])
    # Number swaps: the first line of the person active from the old line's second month on, if it
    # started by the old line's last active month.
    lower = np.where(first_active[old] != NONE, first_active[old] + 1, months.m0)
    spos = np.minimum(np.searchsorted(line_key, person[old] * span + (lower - months.m0)), lines.size - 1)
    swapped = ((person[lines[spos]] == person[old]) & (first_active[lines[spos]] >= lower)
               & (first_active[lines[spos]] <= since[new]))
    found &= ~swapped
    hit = pl.DataFrame({"_e": np.flatnonzero(found), "_k": old[found], "_fa": first_active[hit_line[found]],
                        "_next": hit_line[found]})
    linked = np.zeros(first.size, dtype=bool)
    linked[hit["_e"].to_numpy()] = True
    subtype[rows[linked[episode]]] = again
    subtype[rows[swapped[episode]]] = swap
    reentry = np.zeros(grid.n, dtype=bool)
    reentry[hit["_next"].to_numpy()] = True
    # The earliest take-over per exited line: the person is followed on the new line from then on.
    earliest = hit.sort("_fa", "_next").unique("_k", keep="first", maintain_order=True)
    successor[earliest["_k"].to_numpy()] = earliest["_next"].to_numpy()
    successor_month[earliest["_k"].to_numpy()] = earliest["_fa"].to_numpy()
    return reentry, successor, successor_month
