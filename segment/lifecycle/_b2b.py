"""The six-stage relationship lifecycle of group (enterprise) accounts (``scheme="b2b"``).

Operators stage their group customers, not single lines, in six stages:
potential, development, growth, maturity, decline and termination
(``../shared/DOMAIN.md``). Each month an account's lines are rolled up
(:func:`account_panel`): active lines, revenue, usage, products held and
cost. The account-month panel then goes through the same grid, window,
decline, exit and win-back machinery as the telecom scheme
(:func:`segment.lifecycle._rules.assign`, decline judged on active lines
and revenue), and :func:`stage_accounts` relabels its stages:

potential
    Before the first purchase: the account has rows, but no active line and
    no revenue yet (its lines are prospects or on trial).
development
    From the first purchase month through ``development`` months (tenure
    counts from the earliest line activation if given, else from the first
    purchase month).
growth
    After development, when active lines, products held or revenue have a
    mean over the last ``window`` months above ``1 + grow`` times the mean of
    the ``window`` months before.
maturity
    After development, neither growing nor declining.
decline
    Revenue or active lines fell to at most ``1 - drop`` of their own earlier
    level (the telecom rule: subtype ``lines-drop`` or ``revenue-drop``);
    overrides tenure, development included.
termination
    No active line and no revenue for ``exit_after`` months, or every line
    cancelled (a contract end, carried over months without rows).

A line is active in a month when its status (if given) is active and it
has revenue or usage. Status ``prospect`` (name others with
``status_values={"prospect": [...]}``) marks a known line that has not
bought: it is never active.

Examples
--------
>>> import polars as pl
>>> rows = pl.DataFrame({"account": ["A"] * 4, "line": ["1", "2", "1", "2"],
...                      "month": ["2024-01", "2024-01", "2024-02", "2024-02"],
...                      "status": ["prospect", "prospect", "active", "prospect"],
...                      "revenue": [0.0, 0.0, 50.0, 0.0], "cost": [30.0, 0.0, 20.0, 5.0]})
>>> account_panel(rows, account="account", month="month", revenue="revenue", status="status",
...               cost="cost").frame.select("account", "month", "active_lines", "revenue", "cost")
shape: (2, 5)
┌─────────┬────────────┬──────────────┬─────────┬──────┐
│ account ┆ month      ┆ active_lines ┆ revenue ┆ cost │
│ ---     ┆ ---        ┆ ---          ┆ ---     ┆ ---  │
│ str     ┆ date       ┆ i64          ┆ f64     ┆ f64  │
╞═════════╪════════════╪══════════════╪═════════╪══════╡
│ A       ┆ 2024-01-01 ┆ 0            ┆ 0.0     ┆ 30.0 │
│ A       ┆ 2024-02-01 ┆ 1            ┆ 50.0    ┆ 25.0 │
└─────────┴────────────┴──────────────┴─────────┴──────┘
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from segment.columns import parse_dates, require_columns, require_numeric
from segment.errors import OptionError
from segment.lifecycle._durations import _month_dates
from segment.lifecycle._panel import _M, ACTIVE, CANCELLED, STATUS_NAMES, Grid, _precheck, _status_expr, months_expr
from segment.lifecycle._rules import (ACQUISITION, BUILD_UP, DECLINE, EXIT, MATURITY, Rules, Stages, WindowMeans,
                                      _Months, assign, months_in_stage)

B2B_STAGES = ("potential", "development", "growth", "maturity", "decline", "termination")
POTENTIAL, DEVELOPMENT, GROWTH, MATURE, DECLINING, TERMINATION = range(6)
#: Account-month columns made from the lines.
LINES, PRODUCTS = "active_lines", "products"
#: Line statuses under this scheme: the panel's three, and a line that has not bought.
STATUSES = (*STATUS_NAMES, "prospect")
#: Relative slack in "rises by more than --grow", as for --drop.
_TOLERANCE = 1e-9


@dataclass
class Accounts:
    """What :func:`account_panel` returns: one row per account and month with a line row.

    ``frame`` holds the account key, ``month`` (first day), ``active_lines``,
    ``products`` (with product columns), revenue, the usage and cost columns
    summed over lines, ``status`` (``cancelled`` when every line row of the
    month is cancelled, else ``active``; with a status column only) and the
    earliest line activation. ``columns`` maps each summed column to its role
    for the grid; ``rows`` counts the line rows read.
    """

    frame: pl.DataFrame
    columns: dict[str, str]
    status: str | None
    activation: str | None
    rows: int


def account_panel(
    panel: pl.LazyFrame | pl.DataFrame,
    *,
    account: str,
    month: str,
    revenue: str,
    usage: Sequence[str] = (),
    status: str | None = None,
    status_values: Mapping[str, list[str]] | None = None,
    products: Sequence[str] = (),
    cost: str | None = None,
    activation: str | None = None,
    date_format: str | None = None,
) -> Accounts:
    """Roll a line-month panel up to accounts (see the module docstring for the columns)."""
    lf = panel.lazy()
    roles = {"account": account, "month": month, "revenue": revenue, **{f"usage {c}": c for c in usage},
             **{f"product {c}": c for c in products}}
    roles.update({k: v for k, v in (("status", status), ("cost", cost), ("activation", activation)) if v})
    require_columns(lf, roles)
    amounts = [revenue, *usage, *([cost] if cost else [])]
    for col in amounts:
        lf = require_numeric(lf, col, option="--cost" if col == cost else
                             "--revenue" if col == revenue else "--metric")
    schema = lf.collect_schema()
    exprs = [pl.col(account).cast(pl.String), months_expr(lf, month, date_format), *(pl.col(c) for c in amounts)]
    if status:
        exprs.append(_status_expr(lf, status, status_values, STATUSES))
    if activation:
        lf = parse_dates(lf, activation, date_format)
        exprs.append(pl.col(activation).dt.month_start())
    exprs += [pl.col(c).alias(f"__product_{i}") for i, c in enumerate(products)]
    df = lf.select(exprs).collect()
    _precheck(lf, df, account, month, amounts, status, None, None, STATUSES)
    for name in (LINES, PRODUCTS, "month", "status", "activation"):
        if name in (revenue, *usage, cost, *products):
            raise OptionError(f"column {name!r} is a name the account roll-up uses; rename it in the input")
    df = _by_account(df, account)
    # Integer cells (account, month) and sums by bincount: a group-by on text keys over tens of millions
    # of line rows is several times slower.
    new = df[account].ne_missing(df[account].shift(1)).fill_null(True).to_numpy()
    begins = np.flatnonzero(new)
    code = np.cumsum(new) - 1
    m = df[_M].to_numpy().astype(np.int64)
    lo = int(m.min())
    span = int(m.max()) - lo + 1
    cell = code * span + (m - lo)
    cells = begins.size * span
    # A line counts when it is in service (or no status says otherwise) and shows revenue or usage.
    active = np.zeros(df.height, dtype=bool)
    for c in (revenue, *usage):
        active |= df[c].to_numpy() > 0
    if status:
        active &= df["__status__"].to_numpy() == ACTIVE
    rows = np.bincount(cell, minlength=cells)
    at = np.flatnonzero(rows)
    cols: dict[str, Any] = {
        account: df[account].gather(begins).gather(at // span),
        "month": _month_dates(at % span + lo),
        LINES: np.bincount(cell, weights=active, minlength=cells)[at].astype(np.int64),
    }
    if products:
        held = np.zeros(at.size, dtype=np.int64)
        for i, c in enumerate(products):
            held += _held(df[f"__product_{i}"], cell, active, cells)[at]
        cols[PRODUCTS] = held
    for c in amounts:
        cols[c] = np.bincount(cell, weights=df[c].to_numpy(), minlength=cells)[at]
    if status:
        others = np.bincount(cell, weights=df["__status__"].to_numpy() != CANCELLED, minlength=cells)[at]
        cols["status"] = pl.select(pl.when(pl.lit(pl.Series(others == 0))).then(pl.lit("cancelled"))
                                   .otherwise(pl.lit("active"))).to_series()
    if activation:
        # The account's relationship starts with its earliest line activation (one value per account).
        none = np.iinfo(np.int32).max
        days = df[activation].to_physical().fill_null(none).to_numpy()
        earliest = np.minimum.reduceat(days, begins)[at // span]
        cols["activation"] = pl.Series(earliest).set(pl.Series(earliest == none), None).cast(pl.Int32).cast(pl.Date)
    out = pl.DataFrame(cols)
    columns = {LINES: "metric", **({PRODUCTS: "metric"} if products else {}), revenue: "revenue",
               **{c: "metric" for c in (*usage, *([cost] if cost else []))}}
    keep = [account, "month", *columns, *(["status"] if status else []), *(["activation"] if activation else [])]
    return Accounts(frame=out.select(keep), columns=columns, status="status" if status else None,
                    activation="activation" if activation else None, rows=df.height)


def _by_account(df: pl.DataFrame, account: str) -> pl.DataFrame:
    """Rows with each account's rows together, accounts in order (extracts usually come so: then no sort)."""
    new = df[account].ne_missing(df[account].shift(1)).fill_null(True)
    heads = df[account].filter(new)
    if len(heads) < 2 or bool((heads.slice(1) > heads.slice(0, len(heads) - 1)).all()):
        return df
    return df.sort(account, maintain_order=True)


def _held(values: pl.Series, cell: np.ndarray, active: np.ndarray, cells: int) -> np.ndarray:
    """Per cell: distinct non-null values among active rows (text), or 1 if an active row is above zero."""
    if values.dtype.is_numeric():
        return (np.bincount(cell, weights=active & (values.fill_null(0).to_numpy() > 0), minlength=cells) > 0
                ).astype(np.int64)
    codes = values.cast(pl.String).cast(pl.Categorical).to_physical()
    kinds = int(codes.max() or 0) + 1
    keep = active & codes.is_not_null().to_numpy()
    pairs = cell[keep] * kinds + codes.fill_null(0).to_numpy()[keep].astype(np.int64)
    if cells * kinds <= 200_000_000:
        seen = np.zeros(cells * kinds, dtype=bool)
        seen[pairs] = True
        return seen.reshape(cells, kinds).sum(axis=1)
    return np.bincount(np.unique(pairs) // kinds, minlength=cells)


def stage_accounts(grid: Grid, rules: Rules, revenue: str, products: bool,
                   progress: Callable[[str, int, int | None], None] | None = None) -> Stages:
    """The six B2B stages of every account-month of *grid* (an :func:`account_panel` grid)."""
    telecom = replace(rules, scheme="telecom", acquisition=rules.development, build_up=rules.development)
    st = assign(grid, {LINES: "metric", revenue: "revenue"}, telecom, progress, keep_h=True)
    old = st.stage
    # Every slot is from the account's first row on: before the first purchase it is a known prospect.
    stage = np.full(grid.size, POTENTIAL, dtype=np.int8)
    stage[(old == ACQUISITION) | (old == BUILD_UP)] = DEVELOPMENT
    mature = old == MATURITY
    stage[mature] = MATURE
    assert st.h is not None
    stage[mature & _grows(grid, st.h, rules, [LINES, *([PRODUCTS] if products else []), revenue])] = GROWTH
    stage[old == DECLINE] = DECLINING
    stage[old == EXIT] = TERMINATION
    st.tenure[old < 0] = -1
    st.labels = tuple("lines-drop" if x == f"single-drop:{LINES}" else x for x in st.labels)
    st.in_stage = months_in_stage(grid, _Months(grid), stage, np.ones(grid.size, dtype=bool)).astype(np.int32)
    st.stage, st.h = stage, None
    st.names, st.exit_code, st.new_code = B2B_STAGES, TERMINATION, DEVELOPMENT
    return st


def _grows(grid: Grid, h: np.ndarray, rules: Rules, columns: Sequence[str]) -> np.ndarray:
    """Where some column's window mean is above ``1 + grow`` times the window before it."""
    means = WindowMeans(h, rules.window, rules.window)
    out = np.zeros(grid.size, dtype=bool)
    factor = (1 + rules.grow) * (1 + _TOLERANCE)
    for col in columns:
        win, base = means(grid.x[col])
        out |= (base > 0) & (win > base * factor)
    out &= h >= 2
    return out
