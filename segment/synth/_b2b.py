"""Synthetic group (enterprise) accounts with the six B2B lifecycle stages planted.

:func:`b2b` describes a data set of accounts, each with several lines, over
a number of months; :meth:`B2BSynth.chunks` streams it in blocks of
:data:`B2B_BLOCK` accounts, each block with its own random stream from
``(seed, block)``, so the data do not depend on how they are written.

Planted relationships (shares of accounts): stock accounts already customers
before the first panel month (55%), accounts that buy during the panel (25%),
prospects whose lines go on trial and then buy (12%) and prospects who never
buy (8%). A buying account starts with 3 + Poisson(7) lines; it may grow (1
or 2 lines a month for 3 to 8 months, some with a new product), decline (40%
to 70% of its lines cancelled over one or two months) and terminate (a
contract end: every line cancelled; or going silent: lines suspended for two
months, then no rows), mostly after a decline.

Tables:

``b2b_panel``
    One row per line and month: ``account_id``, ``line_id``, ``month``,
    ``status`` (active, suspended, cancelled, prospect, trial), ``product``,
    ``voice_min``, ``data_mb``, ``revenue``, ``cost``, ``activation``.
    Revenue is the line's price with 2% noise; cost is 45% of the price per
    active line plus the account's costs on its first row of the month:
    sales (300 a month while a prospect, 15 per trial line), onboarding (150
    a month in development), an account manager (50 a month once a
    customer), installation (250 per added line) and retention offers (20 a
    month in decline). Profit therefore follows an inverted U over the
    stages: that is planted here, not a finding about real accounts.
``truth_b2b``
    One row per account and month from the account's first row to the last
    month: ``true_stage``, ``true_tenure``, ``true_active_lines``,
    ``true_products`` and ``true_revenue`` (the noise-free revenue the
    stage rules were applied to).

The truth is the rules of ``segment lifecycle --scheme b2b`` (defaults,
``docs/lifecycle.md``) applied to the noise-free account-months, by an
implementation of their own here (a loop over months).

Examples
--------
>>> data = b2b(accounts=50, months=24, seed=1).frames()
>>> sorted(data), data["b2b_panel"].columns[:4]
(['b2b_panel', 'truth_b2b'], ['account_id', 'line_id', 'month', 'status'])
>>> data["truth_b2b"]["true_stage"].unique().sort().to_list()  # doctest: +NORMALIZE_WHITESPACE
['potential', 'development', 'growth', 'maturity', 'decline', 'termination']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from segment.errors import OptionError
from segment.synth._paths import month_start
from segment.synth._synth import Synth, _parse_start

B2B_TABLES = ("b2b_panel", "truth_b2b")
B2B_STAGES = ("potential", "development", "growth", "maturity", "decline", "termination")
POTENTIAL, DEVELOPMENT, GROWTH, MATURE, DECLINING, TERMINATION = range(6)
#: Accounts per generated block.
B2B_BLOCK = 2_000
STATUSES = ("active", "suspended", "cancelled", "prospect", "trial")
ACTIVE, SUSPENDED, CANCELLED, PROSPECT, TRIAL = range(5)
PRODUCTS = ("mobile", "data", "iot", "fixed", "cloud")
#: The stage rules' defaults the truth applies (those of ``segment lifecycle --scheme b2b``).
RULES = {"window": 3, "baseline": 3, "drop": 0.30, "grow": 0.10, "exit_after": 3, "development": 6}
#: Account costs per month (see the module docstring).
COSTS = {"line_share": 0.45, "sales": 300.0, "trial_line": 15.0, "onboarding": 150.0, "manager": 50.0,
         "install": 250.0, "retention": 20.0}
Progress = Callable[[str, int, int | None], None]


@dataclass
class B2BSynth:
    """A synthetic B2B data set, generated on demand (see :func:`b2b`)."""

    accounts: int
    months: int
    seed: int
    start: date
    tables: tuple[str, ...] = B2B_TABLES
    stats: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """Parameters and rules, for provenance metadata."""
        return {"b2b": True, "accounts": self.accounts, "months": self.months, "seed": self.seed,
                "start": self.start.isoformat()[:7], "tables": list(self.tables), "block": B2B_BLOCK,
                "truth_rules": RULES, "costs": COSTS}

    def chunks(self, progress: Progress | None = None) -> Iterator[dict[str, pl.DataFrame]]:
        """Yield one dict of frames (table name -> rows of this block) per block of accounts."""
        self.stats = {"accounts": 0, "lines": 0, "rows": dict.fromkeys(self.tables, 0),
                      "stages": dict.fromkeys(B2B_STAGES, 0)}
        width = max(6, len(str(self.accounts - 1)))
        for k in range(-(-self.accounts // B2B_BLOCK)):
            first = k * B2B_BLOCK
            n = min(B2B_BLOCK, self.accounts - first)
            out = _block(self, k, first, n, width)
            for name, frame in out.items():
                self.stats["rows"][name] += frame.height
            if progress is not None:
                progress("generating accounts", first + n, self.accounts)
            yield out

    #: All tables in memory (small data sets, tests): the same collection as the line-level data set's.
    frames = Synth.frames


def b2b(accounts: int = 500, months: int = 24, *, seed: int = 0, start: str | date = "2023-01",
        tables: tuple[str, ...] | list[str] | None = None) -> B2BSynth:
    """Describe a synthetic data set of group accounts (see the module docstring).

    Parameters
    ----------
    accounts
        Number of accounts (prospects included).
    months
        Panel months (12-240: the relationships need room to unfold).
    seed
        Random seed (non-negative).
    start
        First panel month, ``YYYY-MM`` (or a date).
    tables
        Which of :data:`B2B_TABLES` to produce (default both).
    """
    if accounts < 1:
        raise OptionError(f"--customers (accounts under --b2b) must be at least 1, got {accounts}")
    if not 12 <= months <= 240:
        raise OptionError(f"--months must be between 12 and 240 under --b2b, got {months}")
    if seed < 0:
        raise OptionError(f"--seed must be zero or positive, got {seed}")
    chosen = tuple(tables) if tables else B2B_TABLES
    unknown = [t for t in chosen if t not in B2B_TABLES]
    if unknown:
        raise OptionError(f"unknown table {unknown[0]!r} in --tables under --b2b; choose from "
                          f"{', '.join(B2B_TABLES)}")
    return B2BSynth(accounts, months, seed, _parse_start(start), tuple(t for t in B2B_TABLES if t in chosen))


# ---------------------------------------------------------------- one block


@dataclass
class _Lines:
    """One entry per line: the months it has rows and what they hold."""

    account: list[int] = field(default_factory=list)
    first: list[int] = field(default_factory=list)   # first month with a row
    active: list[int] = field(default_factory=list)  # months of active (or prospect/trial) rows from first
    kind: list[int] = field(default_factory=list)    # status of those rows: ACTIVE, PROSPECT or TRIAL
    tail: list[int] = field(default_factory=list)    # status of the rows after them: CANCELLED, SUSPENDED or -1
    tail_n: list[int] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    product: list[int] = field(default_factory=list)
    activation: list[int] = field(default_factory=list)  # month (may be before the panel); -10**6 = none
    added: list[bool] = field(default_factory=list)  # a line added by growth (installation cost)

    def add(self, a: int, first: int, active: int, kind: int, tail: int, tail_n: int, price: float, product: int,
            activation: int, added: bool = False) -> None:
        for name, v in (("account", a), ("first", first), ("active", active), ("kind", kind), ("tail", tail),
                        ("tail_n", tail_n), ("price", price), ("product", product), ("activation", activation),
                        ("added", added)):
            getattr(self, name).append(v)


def _plan(rng: np.random.Generator, n: int, M: int) -> _Lines:
    """Draw every account's lines (see the module docstring for the planted shares)."""
    lines = _Lines()
    kinds = rng.choice(4, size=n, p=[0.55, 0.25, 0.12, 0.08])
    for a in range(n):
        kind = int(kinds[a])
        if kind == 3 or kind == 2:  # prospects: 1-3 lines, some on trial
            buy = int(rng.integers(2, M - 3)) if kind == 2 else M
            p0 = max(0, buy - int(rng.integers(1, 6))) if kind == 2 else int(rng.integers(0, M - 1))
            p1 = buy if kind == 2 else int(rng.integers(p0 + 1, M + 1))
            for _ in range(int(rng.integers(1, 4))):
                lines.add(a, p0, p1 - p0, TRIAL if rng.random() < 0.4 else PROSPECT, -1, 0,
                          0.0, int(rng.integers(0, 3)), -10**6)
            if kind == 3:
                continue
        elif kind == 1:
            buy = int(rng.integers(1, M - 3))
        else:
            buy = 0
        origin = buy if kind != 0 else -int(rng.integers(1, 61))
        n0 = 3 + int(rng.poisson(7))
        home = rng.choice(len(PRODUCTS), size=int(rng.integers(1, 4)), replace=False)
        # Month each line ends (M = still active at the end), and the month it started.
        ends = [M] * n0
        starts = [buy] * n0
        prods = [int(rng.choice(home)) for _ in range(n0)]
        if rng.random() < 0.4:  # growth
            g0 = buy + int(rng.integers(0, M))
            step = 2 if n0 > 12 else 1
            for t in range(g0, min(g0 + int(rng.integers(3, 9)), M)):
                new_product = int(rng.integers(0, len(PRODUCTS))) if rng.random() < 0.5 else int(rng.choice(home))
                for _ in range(step):
                    ends.append(M)
                    starts.append(t)
                    prods.append(new_product)
        term, silent = M, False
        declined = rng.random() < 0.3
        if declined:
            d0 = int(rng.integers(buy + 1, M + 4))
            alive = [i for i in range(len(ends)) if starts[i] < d0]
            cut = rng.permutation(alive)[: int(round(len(alive) * rng.uniform(0.4, 0.7)))]
            for j, i in enumerate(cut):
                ends[int(i)] = d0 + (j % 2 if rng.random() < 0.5 else 0)
            if rng.random() < 0.5:
                term = d0 + int(rng.integers(2, 8))
        elif rng.random() < 0.04:
            term = int(rng.integers(buy + 2, M + 4))
        if term < M:
            silent = rng.random() < 0.5
        for i in range(len(ends)):
            s, e = starts[i], min(ends[i], term)
            if s >= M or s >= term:
                continue
            if e <= s:
                continue
            first = max(s, 0)
            act = (origin if i < n0 and kind == 0 else s)
            if e < term:  # cancelled line: one cancelled row in its end month
                tail, tail_n = CANCELLED, 1
            elif term < M:
                tail, tail_n = (SUSPENDED, 2) if silent else (CANCELLED, 1)
            else:
                tail, tail_n = -1, 0
            lines.add(a, first, min(e, M) - first, ACTIVE, tail, tail_n,
                      float(np.exp(rng.normal(np.log(40.0), 0.3))), prods[i], act, i >= n0)
    return lines


def _block(spec: B2BSynth, k: int, first: int, n: int, width: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([spec.seed, k, 2])
    M = spec.months
    plan = _plan(rng, n, M)
    L = {name: np.asarray(getattr(plan, name)) for name in plan.__dataclass_fields__}
    # Rows: each line's run of main rows, then its tail rows (cut at the panel's end).
    tail_n = np.minimum(L["tail_n"], np.maximum(M - (L["first"] + L["active"]), 0))
    per_line = L["active"] + tail_n
    line_of = np.repeat(np.arange(per_line.size), per_line)
    offset = np.arange(line_of.size) - np.repeat(np.cumsum(per_line) - per_line, per_line)
    month = L["first"][line_of] + offset
    in_tail = offset >= L["active"][line_of]
    status = np.where(in_tail, L["tail"][line_of], L["kind"][line_of]).astype(np.int8)
    acct = L["account"][line_of]
    price = L["price"][line_of]
    live = status == ACTIVE
    trial = status == TRIAL
    noise = rng.normal(0.0, 0.02, size=line_of.size)
    revenue = np.where(live, np.round(price * (1 + noise), 2), 0.0)
    voice = np.where(live | trial, np.round(rng.gamma(4.0, 60.0, size=line_of.size), 1), 0.0)
    data = np.where(live | trial, np.round(rng.gamma(2.0, 900.0, size=line_of.size), 1), 0.0)

    # Noise-free account-months, the truth, then the account costs that depend on it.
    cell = acct * M + month
    size = n * M
    lines_n = np.bincount(cell, weights=live, minlength=size).reshape(n, M)
    rev_true = np.bincount(cell, weights=np.where(live, price, 0.0), minlength=size).reshape(n, M)
    prod_seen = np.zeros((size, len(PRODUCTS)), dtype=bool)
    prod_seen[cell[live], L["product"][line_of][live]] = True
    products = prod_seen.sum(axis=1).reshape(n, M)
    exists = np.bincount(cell, minlength=size).reshape(n, M) > 0
    cancelled_all = (np.bincount(cell, weights=status != CANCELLED, minlength=size).reshape(n, M) == 0) & exists
    act_month = np.full(n, 10**6)
    np.minimum.at(act_month, L["account"], np.where(L["activation"] > -10**6, L["activation"], 10**6))
    stage, tenure, in_grid = _truth(lines_n, rev_true, products, exists, cancelled_all, act_month)

    added = np.zeros(size)
    starts_main = offset == 0
    np.add.at(added, cell[starts_main & live & L["added"][line_of]], 1.0)
    trials = np.bincount(cell, weights=trial, minlength=size)
    s = stage.reshape(-1)
    account_cost = (np.where(s == POTENTIAL, COSTS["sales"] + COSTS["trial_line"] * trials, 0.0)
                    + np.where(s == DEVELOPMENT, COSTS["onboarding"], 0.0)
                    + np.where((s >= DEVELOPMENT) & (s < TERMINATION), COSTS["manager"], 0.0)
                    + np.where(s == DECLINING, COSTS["retention"], 0.0)
                    + COSTS["install"] * added)
    # The account's costs go on its first row of the month (rows are in line order within an account).
    order = np.lexsort((line_of, cell))
    head = np.ones(order.size, dtype=bool)
    head[1:] = cell[order][1:] != cell[order][:-1]
    first_row = np.zeros(line_of.size, dtype=bool)
    first_row[order[head]] = True
    cost = np.round(np.where(live, COSTS["line_share"] * price, 0.0)
                    + np.where(first_row, account_cost[cell], 0.0), 2)

    y, mo = spec.start.year, spec.start.month
    months = pl.Series(month_start(y, mo, np.arange(M)))
    account_ids = ("A" + pl.Series(first + np.arange(n)).cast(pl.String).str.zfill(width))
    out: dict[str, pl.DataFrame] = {}
    if "b2b_panel" in spec.tables:
        line_no = np.arange(per_line.size) - np.searchsorted(L["account"], L["account"])
        act = L["activation"][line_of]
        act_dates = pl.Series(month_start(y, mo, np.where(act > -10**6, act, 0)))
        frame = pl.DataFrame({
            "account_id": account_ids.gather(acct),
            "line_id": account_ids.gather(acct) + "-" + pl.Series(line_no[line_of] + 1).cast(pl.String).str.zfill(3),
            "month": months.gather(month),
            "status": pl.Series(STATUSES).gather(status),
            "product": pl.Series(PRODUCTS).gather(L["product"][line_of]),
            "voice_min": voice, "data_mb": data, "revenue": revenue, "cost": cost,
            "activation": act_dates.set(pl.Series(act <= -10**6), None),
        })
        out["b2b_panel"] = frame.sort("account_id", "line_id", "month")
    a_idx, m_idx = np.nonzero(in_grid)
    if "truth_b2b" in spec.tables:
        out["truth_b2b"] = pl.DataFrame({
            "account_id": account_ids.gather(a_idx),
            "month": months.gather(m_idx),
            "true_stage": pl.Series(B2B_STAGES).gather(stage[a_idx, m_idx]).cast(pl.Enum(B2B_STAGES)),
            "true_tenure": pl.Series(tenure[a_idx, m_idx]).set(pl.Series(tenure[a_idx, m_idx] <= 0), None),
            "true_active_lines": lines_n[a_idx, m_idx].astype(np.int64),
            "true_products": products[a_idx, m_idx].astype(np.int64),
            "true_revenue": np.round(rev_true[a_idx, m_idx], 6),
        })
    spec.stats["accounts"] += n
    spec.stats["lines"] += int((L["kind"] == ACTIVE).sum())
    counts = np.bincount(stage[in_grid], minlength=len(B2B_STAGES))
    for name, c in zip(B2B_STAGES, counts, strict=True):
        spec.stats["stages"][name] += int(c)
    return out


def _truth(lines: np.ndarray, revenue: np.ndarray, products: np.ndarray, exists: np.ndarray,
           cancelled: np.ndarray, activation: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage, tenure and grid membership per account x month, by the rules in :data:`RULES`.

    One pass over the months, all accounts at once; no win-back is planted,
    so the history of an account runs from its first active month.
    """
    n, M = lines.shape
    w, b, exit_after, dev = RULES["window"], RULES["baseline"], RULES["exit_after"], RULES["development"]
    drop, grow = RULES["drop"], RULES["grow"]
    has_row = np.cumsum(exists, axis=1) > 0
    act = (lines > 0) | (revenue > 0)
    stage = np.full((n, M), -1, dtype=np.int8)
    tenure = np.zeros((n, M), dtype=np.int64)
    first = np.full(n, -1)
    last = np.full(n, -1)
    ended = np.zeros(n, dtype=bool)  # cancelled status carried over months without a row

    rows = np.arange(n)
    sums = {id(x): np.concatenate([np.zeros((n, 1)), np.cumsum(x, axis=1)], axis=1)
            for x in (lines, revenue, products)}

    def means(x: np.ndarray, t: int, h: np.ndarray, width: int, back: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean of the last ``min(width, h - 1)`` months and of the ``min(back, h - window)`` before them."""
        cs = sums[id(x)]
        wn = np.clip(h - 1, 1, width)
        bn = np.clip(h - wn, 0, back)
        cut = np.maximum(t + 1 - wn, 0)
        win = (cs[:, t + 1] - cs[rows, cut]) / wn
        base = (cs[rows, cut] - cs[rows, np.maximum(cut - bn, 0)]) / np.maximum(bn, 1)
        return win, base

    for t in range(M):
        newly = act[:, t] & (first < 0)
        first[newly] = t
        last[act[:, t]] = t
        ended = np.where(exists[:, t], cancelled[:, t], ended)
        bought = first >= 0
        h = np.where(bought, t - first + 1, 0)
        origin = np.where(activation < 10**6, activation, first)
        ten = np.where(bought, t - origin + 1, 0)
        fell = np.zeros(n, dtype=bool)
        rises = np.zeros(n, dtype=bool)
        ok = bought & (h >= 2)
        for x in (lines, revenue):
            win, base = means(x, t, np.maximum(h, 1), w, b)
            fell |= ok & (base > 0) & (win <= (1 - drop) * base * (1 + 1e-9))
        for x in (lines, products, revenue):
            win, base = means(x, t, np.maximum(h, 1), w, w)
            rises |= ok & (base > 0) & (win > (1 + grow) * base * (1 + 1e-9))
        s = np.where(ten <= dev, DEVELOPMENT, np.where(rises, GROWTH, MATURE))
        s = np.where(fell, DECLINING, s)
        term = (bought & (t - last >= exit_after)) | ended
        s = np.where(term, TERMINATION, s)
        s = np.where(bought | term, s, POTENTIAL)
        stage[:, t] = np.where(has_row[:, t], s, -1)
        tenure[:, t] = np.where(bought, ten, 0)
    # Tenure stops at termination: a run of termination months keeps its first month's tenure.
    for t in range(1, M):
        held = (stage[:, t] == TERMINATION) & (stage[:, t - 1] == TERMINATION)
        tenure[held, t] = tenure[held, t - 1]
    return stage, tenure, has_row
