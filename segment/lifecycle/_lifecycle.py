"""Lifecycle stages (acquisition, build-up, maturity, decline, exit) from a monthly usage panel.

Rules (defaults; each is a keyword of :func:`lifecycle`):

tenure
    Months since activation, the activation month being tenure 1 (the
    ``activation`` column's month, else the customer's first month with
    usage). Acquisition while tenure <= 3, build-up while <= 6, maturity after.
decline
    Overrides the tenure stage when, for some metric, the mean of the last
    ``window`` months (this one included) is at most ``1 - drop`` times the
    mean of the ``baseline`` months before the window (which must be above
    zero). Young customers use what they have: with ``h`` months since the
    first activity, the window holds ``min(window, h - 1)`` months and the
    baseline the ``min(baseline, h - window)`` months before it, so a second
    month can already be a decline against the first. Subtype:
    ``double-drop`` when two usage metrics fell (voice and data),
    ``single-drop:<column>`` when one did, ``revenue-drop`` when only revenue
    did.
exit
    Overrides both: the status is cancelled (carried over months without a
    row until a row shows another status), or the line had no usage (every
    metric zero, or no row) in this month and the ``exit_after - 1`` before
    it. Subtype ``exit_swap`` when another line of the same identity became
    active for the first time after this line's first and no later than its
    last active month (a number swap); else ``re-entry`` when another line of
    the identity becomes active for the first time after this line's last
    active month (anywhere up to ``as_of``); else ``churn``. Tenure stops at
    exit: it keeps the value of the exit's first month.
win-back
    Usage again after 1 to ``winback`` silent months: subtype ``winback``
    in the return month, which is never a decline, because the decline window
    starts again there (``h`` counts from the return). A longer silence is
    a reactivation, judged as any other month.
churn
    ``churn_next_month`` and the KPI churn rate count exits of subtype
    ``churn`` only (re-entries and swaps keep the person); the KPI rate
    counts persons when an identity is given.
before the first activity
    No stage, unless the line is cancelled (then exit).
scheme="purchases"
    Decline (subtype ``overdue``) and exit from each customer's own gap
    between purchase months instead of usage falls (see
    :func:`segment.lifecycle._rules._cadence`).
scheme="b2b"
    Group (enterprise) accounts instead of lines, in six stages: potential,
    development, growth, maturity, decline, termination (see
    :mod:`segment.lifecycle._b2b`).

Months without a row between a customer's first row and ``as_of`` count as
zero usage. Every rule looks only at the months up to the one it labels
(except the re-entry subtype, which looks up to ``as_of``), so the history
row of month t equals the snapshot as of t.

Examples
--------
>>> import polars as pl
>>> panel = pl.DataFrame({
...     "customer_id": ["a"] * 8 + ["b"] * 3,
...     "month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08",
...               "2024-06", "2024-07", "2024-08"],
...     "voice": [100.0, 100, 100, 100, 100, 100, 40, 40, 10, 12, 11],
...     "data": [500.0, 500, 500, 500, 500, 500, 500, 500, 0, 0, 0],
... })
>>> import warnings
>>> with warnings.catch_warnings():  # "a" is already active in the first month: left-censored
...     warnings.simplefilter("ignore")
...     res = lifecycle(panel, voice="voice", data="data")
>>> res.snapshot().select("customer_id", "stage", "subtype", "tenure", "months_in_stage", "voice_change")
shape: (2, 6)
┌─────────────┬─────────────┬───────────────────┬────────┬─────────────────┬──────────────┐
│ customer_id ┆ stage       ┆ subtype           ┆ tenure ┆ months_in_stage ┆ voice_change │
│ ---         ┆ ---         ┆ ---               ┆ ---    ┆ ---             ┆ ---          │
│ str         ┆ enum        ┆ enum              ┆ i32    ┆ i32             ┆ f64          │
╞═════════════╪═════════════╪═══════════════════╪════════╪═════════════════╪══════════════╡
│ a           ┆ decline     ┆ single-drop:voice ┆ 8      ┆ 1               ┆ -0.4         │
│ b           ┆ acquisition ┆ null              ┆ 3      ┆ 3               ┆ 0.15         │
└─────────────┴─────────────┴───────────────────┴────────┴─────────────────┴──────────────┘
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from segment.errors import DataError, OptionError, SegmentWarning
from segment.spark import is_spark
from segment.lifecycle._b2b import B2B_STAGES, LINES, PRODUCTS, account_panel, stage_accounts
from segment.lifecycle._markov import Chain, chain, kpi_table, projection_table, transition_table
from segment.lifecycle._panel import Grid, load_panel, month_date, month_label, parse_month_option
from segment.lifecycle._rules import NONE, STAGES, Rules, Stages, assign

Progress = Callable[[str, int, int | None], None]

__all__ = ["B2B_STAGES", "STAGES", "Lifecycle", "Rules", "durations", "lifecycle"]


@dataclass
class Lifecycle:
    """What :func:`lifecycle` returns: the stages of every customer-month, and tables built from them.

    Attributes
    ----------
    grid : Grid
        The panel as a complete customer x month grid.
    stages : Stages
        Stage, subtype, tenure ... per grid slot.
    metrics : dict
        Usage column -> role (voice, data, metric, revenue).
    rules : Rules
    stats : dict
        Counts: rows, customers, grid slots, gap slots filled with zero usage.
    amounts : dict
        B2B scheme: output column -> account-month column of the grid shown
        in the snapshot and the history (active lines, products, revenue,
        cost; profit is added when cost is known).
    cost : str or None
        B2B scheme: the cost column (KPIs then add cost and profit).
    """

    grid: Grid
    stages: Stages
    id: str
    metrics: dict[str, str]
    rules: Rules
    stats: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, str] = field(default_factory=dict)
    cost: str | None = None
    _warned: bool = field(default=False, repr=False)

    @property
    def as_of(self) -> date:
        return month_date(self.grid.as_of)

    def params(self) -> dict[str, Any]:
        """Resolved rules and metric roles, for output metadata."""
        return {"as_of": month_label(self.grid.as_of), "first_month": month_label(self.grid.first_month),
                "rules": self.rules.as_dict(), "metrics": self.metrics, "stages": list(self.stages.names)}

    # ------------------------------------------------------------ tables
    def snapshot(self) -> pl.DataFrame:
        """One row per customer as of the last month (sorted by id)."""
        self._warn_limits()
        g, st = self.grid, self.stages
        last = g.last_slots()
        staged = st.stage[last] >= 0
        cols: dict[str, Any] = {
            self.id: g.ids,
            "stage": self._stage_labels(st.stage[last]),
            "subtype": _labels(st.labels, np.where(staged, st.subtype[last], 0), self._subtype_dtype()),
            "tenure": _where(staged & (st.tenure[last] > 0), st.tenure[last], pl.Int32),
            "months_in_stage": _where(staged, st.in_stage[last], pl.Int32),
            **self._amounts(last),
        }
        if st.reentry is not None:
            entry = np.where(st.reentry, 1, 0)
            cols["entry"] = _labels((None, "brand-new", "re-entry"), np.where(st.first_active != NONE, entry + 1, 0))
        cols["first_active"] = _months(st.first_active)
        cols["last_active"] = _months(st.last_active)
        if g.status is not None:
            cols["winback_months_left"] = _where(st.winback[last] >= 0, st.winback[last], pl.Int8)
        if st.gap is not None and st.since is not None:
            cols["purchase_gap"] = _rounded(st.gap[last])
            cols["months_since_purchase"] = _where(st.since[last] >= 0, st.since[last], pl.Int32)
        for col in self.metrics:
            recent, base = st.recent[col], st.baseline[col]
            with np.errstate(invalid="ignore", divide="ignore"):
                change = np.where(base > 0, recent / np.where(base > 0, base, 1.0) - 1, np.nan)
            cols[f"{col}_recent"] = _rounded(recent)
            cols[f"{col}_baseline"] = _rounded(base)
            cols[f"{col}_change"] = _rounded(change)
        return pl.DataFrame(cols)

    def history(self, month: str | date | None = None) -> pl.DataFrame:
        """One row per customer-month from the customer's first row to the last month.

        With *month*, only that month's rows: one row per customer, with the
        stage then and what followed (``next_stage``, ``churn_next_month``),
        so that rows are independent customers, as tests of the stages
        against the next month's churn assume.
        """
        self._warn_limits()
        g, st = self.grid, self.stages
        # What happened next month, so that stages can be checked against it
        # (e.g. `segment validate-segment --segment stage --outcome churn_next_month`).
        # Null in the panel's last month, and for customers not at risk of exiting.
        has_next = np.concatenate([g.k[1:] == g.k[:-1], [False]])
        nxt = np.concatenate([st.stage[1:], [-1]])
        nxt = np.where(has_next, nxt, -1)
        # Churn is an exit of the person: a re-entry or a number swap keeps them (see churned()).
        churned = np.concatenate([st.churned()[1:], [False]])
        rows: slice | np.ndarray = slice(None)
        if month is not None:
            rows = np.flatnonzero(g.m == at_month(month, g.first_month, g.as_of))
        stage, nxt, has_next, churned = st.stage[rows], nxt[rows], has_next[rows], churned[rows]
        staged = stage >= 0
        cols: dict[str, Any] = {
            self.id: g.ids.gather(g.k[rows]),
            "month": _months(g.m[rows]),
            "stage": self._stage_labels(stage),
            "subtype": _labels(st.labels, st.subtype[rows], self._subtype_dtype()),
            "tenure": _where(staged & (st.tenure[rows] > 0), st.tenure[rows], pl.Int32),
            "months_in_stage": _where(staged, st.in_stage[rows], pl.Int32),
            **self._amounts(rows),
        }
        if g.status is not None:
            cols["winback_months_left"] = _where(st.winback[rows] >= 0, st.winback[rows], pl.Int8)
        cols["next_stage"] = self._stage_labels(nxt)
        at_risk = has_next & staged & (stage != st.exit_code) & (nxt >= 0)
        cols["churn_next_month"] = pl.Series(churned).set(pl.Series(~at_risk), None)
        return pl.DataFrame(cols)

    def durations(self, since: str | date | None = None, event: str = "churn") -> pl.DataFrame:
        """Per line: how long it lived and whether it left (see :mod:`segment.lifecycle._durations`)."""
        from segment.lifecycle._durations import durations_table

        return durations_table(self, since=since, event=event)

    def kpis(self) -> pl.DataFrame:
        """Per month and stage: customers, share, entered, next-month churn, revenue, new customers.

        With a cost column (B2B scheme), also cost and profit, and revenue,
        cost and profit per customer-month.
        """
        revenue = next((c for c, r in self.metrics.items() if r == "revenue"), None)
        new = self.rules.development if self.rules.scheme == "b2b" else self.rules.acquisition
        return kpi_table(self.grid, self.stages, revenue, new, with_activation=self.grid.activation is not None,
                         cost=self.cost)

    def stage_totals(self) -> pl.DataFrame:
        """Per stage over every month: customer-months, and revenue, cost and profit in total and per month.

        The KPIs summed over months; this is where the course of profit over
        the stages shows (the inverted U of the B2B scheme).
        """
        k = self.kpis()
        money = [c for c in ("revenue", "cost", "profit") if c in k.columns]
        out = (k.group_by("stage", maintain_order=True)
               .agg(pl.col("customers").sum().alias("customer_months"), *(pl.col(c).sum() for c in money)))
        return out.with_columns(
            (pl.col(c) / pl.col("customer_months")).round(6).fill_nan(None).alias(f"{c}_per_customer_month")
            for c in money).sort("stage")

    def chain(self) -> Chain:
        """Stage transition counts and the current stage counts (see :mod:`segment.lifecycle._markov`)."""
        check_two_months(self.grid.first_month, self.grid.as_of)
        return chain(self.grid, self.stages)

    def transitions(self) -> pl.DataFrame:
        """Long transition table: from, to, moves, probability."""
        return transition_table(self.chain())

    def projection(self, months: int) -> pl.DataFrame:
        """Customers per stage projected *months* ahead with the transition matrix."""
        if months < 1:
            raise OptionError(f"--project must be at least 1 month, got {months}")
        return projection_table(self.chain(), months, self.grid.as_of)

    def counts(self) -> pl.DataFrame:
        """Customers per stage and subtype in the last month (stage order, then most frequent subtype)."""
        last = self.grid.last_slots()
        df = pl.DataFrame({"stage": self._stage_labels(self.stages.stage[last]),
                           "subtype": _labels(self.stages.labels, self.stages.subtype[last], self._subtype_dtype())})
        return sort_counts(df.filter(pl.col("stage").is_not_null()).group_by("stage", "subtype")
                           .agg(customers=pl.len()))

    def _warn_limits(self) -> None:
        """Say which rules a short panel cannot apply (once, when stages are first asked for)."""
        if self._warned:
            return
        self._warned = True
        warn_limits(self.grid.first_month, self.grid.as_of, self.rules, self.grid.status is not None)

    def _stage_labels(self, codes: np.ndarray) -> pl.Series:
        names = self.stages.names
        return _labels(names, codes, pl.Enum(names))

    def _amounts(self, rows: np.ndarray | slice) -> dict[str, pl.Series]:
        """B2B account-month columns at *rows*: active lines, products, revenue, cost, profit."""
        x = self.grid.x
        out = {name: _rounded(x[col][rows]) for name, col in self.amounts.items()}
        for name in (LINES, PRODUCTS):
            if name in out:
                out[name] = out[name].cast(pl.Int64)
        revenue = next((c for c, r in self.metrics.items() if r == "revenue"), None)
        if self.cost is not None and revenue is not None:
            out["profit"] = _rounded(x[revenue][rows] - x[self.cost][rows])
        return out

    def _subtype_dtype(self) -> pl.Enum:
        return pl.Enum([x for x in self.stages.labels if x is not None])


def lifecycle(
    panel: pl.LazyFrame | pl.DataFrame,
    *,
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
    date_format: str | None = None,
    as_of: str | date | None = None,
    dedupe: str = "error",
    window: int = 3,
    baseline: int = 3,
    drop: float = 0.30,
    exit_after: int = 3,
    acquisition: int = 3,
    build_up: int = 6,
    winback: int = 3,
    scheme: str = "telecom",
    overdue: float = 2.0,
    account: str | None = None,
    products: Sequence[str] = (),
    cost: str | None = None,
    development: int = 6,
    grow: float = 0.10,
    progress: Progress | None = None,
) -> Lifecycle:
    """Assign every customer-month of a usage panel its lifecycle stage.

    Parameters
    ----------
    panel
        One row per customer and month (gaps allowed: they count as zero usage).
    id, month
        Customer key and month column (a date, ``YYYY-MM``, ``YYYYMM`` ...).
    voice, data, revenue, metrics
        Usage columns (non-negative numbers): voice minutes, data volume,
        revenue (ARPU), and any other activity measure. At least one.
    status, status_values
        Optional line status column and the values meaning active / suspended
        / cancelled (default: those words, any case).
    identity
        Optional person key: an exit is a re-entry when the person comes back
        on a new line.
    activation
        Optional activation date column (else, and where it is empty, the
        first month with usage).
    as_of
        Last month to analyse (default: the last month in the panel); later
        rows are left out with a warning.
    dedupe
        ``error`` or ``sum`` for more than one row per customer and month.
    window, baseline, drop, exit_after, acquisition, build_up, winback
        The rules' thresholds (:class:`~segment.lifecycle._rules.Rules`).
    scheme
        ``telecom`` (default: usage falls and silent months) or ``purchases``
        (shop purchase logs: decline and exit from each customer's own gap
        between purchase months; *window*, *baseline*, *drop* and
        *exit_after* then do not apply).
    overdue
        Purchases scheme: decline once this many median gaps have passed
        without a purchase; exit *winback* months later.
    account, products, cost, development, grow
        B2B scheme (*account* required, *revenue* too): the account key the
        lines (one row per line and month; *id* is not used) roll up to; product or service
        columns (distinct text values, or numbers above zero, held by active
        lines); a cost column (KPIs add cost and profit); months of
        development after the first purchase; the rise over the previous
        window that is growth. *status* may then also hold ``prospect``.
    progress
        Optional ``progress(task, done, total)`` callback.

    A PySpark DataFrame runs on its Spark session (telecom scheme;
    :mod:`segment.lifecycle._spark`): the result then has the same methods,
    with the snapshot and history as Spark DataFrames.
    """
    rules = Rules(window=window, baseline=baseline, drop=drop, exit_after=exit_after, acquisition=acquisition,
                  build_up=build_up, winback=winback, scheme=scheme, overdue=overdue, development=development,
                  grow=grow).check()
    _check_scheme_options(scheme, account=account, products=products, cost=cost, identity=identity,
                          revenue=revenue)
    roles = _roles(voice, data, revenue, metrics)
    if is_spark(panel):
        from segment.lifecycle._spark import lifecycle_spark

        return lifecycle_spark(panel, id=id, month=month, roles=roles, status=status,  # type: ignore[return-value]
                               status_values=status_values, identity=identity, activation=activation,
                               date_format=date_format, as_of=as_of, dedupe=dedupe, rules=rules)
    report = progress or (lambda task, done, total: None)
    if scheme == "b2b":
        assert account is not None and revenue is not None
        report("reading panel", 0, None)
        acc = account_panel(panel, account=account, month=month, revenue=revenue,
                            usage=[c for c in roles if c != revenue], status=status, status_values=status_values,
                            products=products, cost=cost, activation=activation, date_format=date_format)
        grid = load_panel(acc.frame, id=account, month="month", metrics=acc.columns, status=acc.status,
                          activation=acc.activation, as_of=as_of)
        grid.stats["rows"] = acc.rows
        report("reading panel", 1, 1)
        st = stage_accounts(grid, rules, revenue, bool(products), progress)
        _check_activation(grid, st)
        _warn_left_censored(grid, st, activation is not None)
        amounts = {LINES: LINES, **({PRODUCTS: PRODUCTS} if products else {}), revenue: revenue,
                   **({cost: cost} if cost else {})}
        return Lifecycle(grid=grid, stages=st, id=account, metrics={LINES: "metric", revenue: "revenue"},
                         rules=rules, stats=dict(grid.stats), amounts=amounts, cost=cost)
    report("reading panel", 0, None)
    grid = load_panel(panel, id=id, month=month, metrics=roles, status=status, status_values=status_values,
                      identity=identity, activation=activation, date_format=date_format, as_of=as_of,
                      dedupe=dedupe)
    report("reading panel", 1, 1)
    st = assign(grid, roles, rules, progress)
    _check_activation(grid, st)
    _warn_left_censored(grid, st, activation is not None)
    return Lifecycle(grid=grid, stages=st, id=id, metrics=roles, rules=rules, stats=dict(grid.stats))


def sort_counts(counts: pl.DataFrame) -> pl.DataFrame:
    """Stage order, then the most frequent subtype first (:meth:`Lifecycle.counts`)."""
    return counts.sort(["stage", "customers", "subtype"], descending=[False, True, False], nulls_last=False)


def warn_limits(first_month: int, as_of: int, rules: Rules, has_status: bool) -> None:
    """Say which rules a panel of these months cannot apply."""
    months = as_of - first_month + 1
    if months == 1:
        source = "tenure and status" if has_status else "tenure"
        warnings.warn(f"the panel has one month ({month_label(as_of)}): stages come from {source} only; "
                      f"decline needs 2 months, exit by inactivity {rules.exit_after}, transitions 2",
                      SegmentWarning, stacklevel=4)
    elif months < rules.exit_after:
        warnings.warn(f"the panel has {months} months: exit by inactivity needs {rules.exit_after}"
                      + ("" if has_status else " and there is no --status, so nobody can exit"),
                      SegmentWarning, stacklevel=4)


def _check_scheme_options(scheme: str, *, account: str | None, products: Sequence[str], cost: str | None,
                          identity: str | None, revenue: str | None) -> None:
    """The B2B options go with ``--scheme b2b``, and it needs an account and a revenue column."""
    if scheme != "b2b":
        given = [o for o, v in (("--account", account), ("--product", products), ("--cost", cost)) if v]
        if given:
            raise OptionError(f"{given[0]} applies to group accounts: add --scheme b2b (or leave {given[0]} out)")
        return
    if not account:
        raise OptionError("--scheme b2b stages group accounts: name the account column with --account")
    if not revenue:
        raise OptionError("--scheme b2b needs the revenue column (--revenue): a purchase is revenue or an active line")
    if identity:
        raise OptionError("--identity does not apply to --scheme b2b: the account is the customer")


def durations(panel: pl.LazyFrame | pl.DataFrame, *, since: str | date | None = None, event: str = "churn",
              **options: Any) -> pl.DataFrame:
    """Per line of a usage panel: ``cohort``, ``end``, ``duration``, ``event``, ``entry`` (and ``stage`` with *since*).

    The lifetimes that survival curves and retention models need, by the
    lifecycle rules: *options* are :func:`lifecycle`'s keywords (``id``,
    ``voice``, ``status``, ``exit_after`` ...). See
    :mod:`segment.lifecycle._durations` for what each column means.

    Parameters
    ----------
    since
        A month: count lifetimes from it, for the lines in a stage other than
        exit then (``stage`` column).
    event
        ``churn`` (an exit of subtype churn; re-entries and number swaps are
        censored at their exit) or ``exit`` (any exit).

    Examples
    --------
    >>> panel = pl.DataFrame({"id": ["a"] * 5 + ["b"] * 2, "month": [1, 2, 3, 4, 5, 4, 5],
    ...                       "calls": [3.0, 3, 0, 0, 0, 2, 2], "activated": ["2023-12-15"] * 5 + ["2024-04-02"] * 2})
    >>> panel = panel.with_columns(pl.col("month").map_elements(lambda m: f"2024-{m:02d}", return_dtype=pl.String))
    >>> durations(panel, id="id", metrics=["calls"], activation="activated").select("id", "duration", "event", "entry").rows()
    [('a', 3, True, 1), ('b', 2, False, 0)]
    """
    return lifecycle(panel, **options).durations(since=since, event=event)


def _roles(voice: str | None, data: str | None, revenue: str | None, metrics: Sequence[str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for col, role in ((voice, "voice"), (data, "data"), *((c, "metric") for c in metrics), (revenue, "revenue")):
        if not col:
            continue
        if col in roles:
            raise OptionError(f"column {col!r} is given twice (as {roles[col]} and as {role})")
        roles[col] = role
    if not roles:
        raise OptionError("name at least one usage column: --voice, --data, --revenue or --metric")
    return roles


def _check_activation(grid: Grid, st: Stages) -> None:
    if grid.activation is None:
        return
    early = np.flatnonzero((st.first_active != NONE) & (grid.activation != NONE) & (st.first_active < grid.activation))
    if early.size:
        i = int(early[0])
        raise DataError(f"customer {grid.ids[i]!r} has usage in {month_label(st.first_active[i])}, before its "
                        f"activation month {month_label(grid.activation[i])} ({early.size:,} customers like this); "
                        "fix the activation column or leave --activation out")


def _warn_left_censored(grid: Grid, st: Stages, has_activation: bool) -> None:
    if has_activation or grid.as_of == grid.first_month:
        return
    warn_stock(int(np.count_nonzero(st.first_active == grid.first_month)), grid.n, grid.first_month)


def warn_stock(first: int, customers: int, first_month: int) -> None:
    """Warn about the *first* of *customers* already active in the panel's first month (left-censored)."""
    if first:
        warnings.warn(f"{first:,} of {customers:,} customers ({first / customers:.0%}) are already active in the "
                      f"panel's first month {month_label(first_month)}; without --activation their tenure starts "
                      "there (use an activation date column for stock customers)", SegmentWarning, stacklevel=4)


def check_two_months(first_month: int, as_of: int) -> None:
    """Transitions need a month to move from and one to move to."""
    if as_of == first_month:
        raise DataError(f"transitions need at least two months; the panel has only {month_label(first_month)}")


def at_month(month: str | date, first_month: int, as_of: int) -> int:
    """``--at`` as an integer month, refused outside the panel's months."""
    code = parse_month_option(month, "--at")
    if not first_month <= code <= as_of:  # type: ignore[operator]
        raise OptionError(f"--at {month_label(code)} is outside the panel's months "
                          f"{month_label(first_month)} to {month_label(as_of)}")
    return code  # type: ignore[return-value]


# ---------------------------------------------------------------- helpers


def _labels(labels: Sequence[str | None], codes: np.ndarray, dtype: pl.DataType | None = None) -> pl.Series:
    """Text for integer codes; negative codes and None labels give null."""
    names = [x for x in labels if x is not None]
    index = np.array([names.index(x) if x is not None else -1 for x in labels])
    if isinstance(codes, np.ndarray) and codes.size:
        mapped = np.where(codes >= 0, index[np.clip(codes, 0, len(labels) - 1)], -1)
    else:
        mapped = np.array([], dtype=np.int64)
    idx = pl.Series(mapped).cast(pl.Int64)
    idx = pl.select(pl.when(idx >= 0).then(idx)).to_series()
    return pl.Series(names, dtype=dtype or pl.String).gather(idx)


def _where(mask: np.ndarray, values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    s = pl.Series(values).cast(dtype)
    return pl.select(pl.when(pl.lit(pl.Series(mask))).then(pl.lit(s))).to_series()


def _months(values: np.ndarray) -> pl.Series:
    """Integer months as dates (first of the month); NONE gives null."""
    known = values != NONE
    if not known.all():
        return _months(np.where(known, values, values[known].min() if known.any() else 1970 * 12)).scatter(
            np.flatnonzero(~known), None)
    if not values.size:
        return pl.Series([], dtype=pl.Date)
    # A panel spans a few dozen distinct months: convert those once and look
    # each row up (converting 24M datetime64 values one by one takes seconds).
    lo = int(values.min())
    firsts = (np.arange(lo, int(values.max()) + 1) - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")
    return pl.Series(firsts.astype(np.int32)[values - lo]).cast(pl.Date)


def _rounded(values: np.ndarray) -> pl.Series:
    # Means of extract values carry binary noise; six decimals keep them exact to the unit used.
    return pl.Series(np.round(values, 6)).fill_nan(None)
