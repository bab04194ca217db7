"""Synthetic telecom data with planted ground truth, at any scale.

:func:`synth` describes a data set (customers, months, seed, first month);
iterating :meth:`Synth.chunks` generates it block by block (10,000 customers
per block) as polars frames, so that millions of customers never sit in
memory at once. Every block has its own random stream derived from
``(seed, block number)``: the same seed gives the same data whatever the
writer does with the chunks.

Tables (see ``docs/synth.md`` for every column and the planted process):

``panel``
    One row per customer-month from the activation month (or the first panel
    month) to the last month or the cancellation row.
``customers``
    One row per customer (line): a snapshot as of its last row, with plan,
    contract, add-ons, payment method, demographics, charges, usage
    averages and the churn flag.
``transactions``
    Bill payments, recharges and refunds; each month's amounts sum to the
    panel's revenue.
``truth_panel``, ``truth_customers``, ``truth_effects``
    The planted answers, kept apart from the inputs.

Examples
--------
>>> data = synth(customers=300, months=12, seed=7).frames()
>>> sorted(data)
['customers', 'panel', 'transactions', 'truth_customers', 'truth_effects', 'truth_panel']
>>> data["customers"].height, data["panel"].columns[:4]
(300, ['customer_id', 'month', 'voice_min', 'data_mb'])
>>> data["panel"].height == data["truth_panel"].height
True
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from segment import synth_world as w
from segment.errors import OptionError, SegmentWarning
from segment.synth_effects import truth_effects
from segment.synth_lines import (ADDONS, AGE_BANDS, CHANNELS, CONTRACTS, GENDERS, PAYMENTS, Lines, draw_lines,
                                 identity_keys)
from segment.synth_observe import Observed, observe
from segment.synth_paths import (KINDS, STATUSES, Paths, activation_dates, draw_paths, match_reentries,
                                 month_start)
from segment.synth_truth import DECLINE_SUBTYPES, EXIT, EXIT_SUBTYPES, STAGES, lifecycle_truth
from segment.synth_tx import KINDS as TX_KINDS
from segment.synth_tx import payments

TABLES = ("panel", "customers", "transactions", "truth_panel", "truth_customers", "truth_effects")
#: Customers per generated block; fixed so that the data do not depend on how they are written.
BLOCK = 10_000
MAX_MONTHS = 240
Progress = Callable[[str, int, int | None], None]

S, F, I32, D = pl.String, pl.Float64, pl.Int32, pl.Date
SCHEMAS: dict[str, dict[str, Any]] = {
    "panel": {"customer_id": S, "month": D, "voice_min": F, "data_mb": F, "sms": I32, "revenue": F,
              "status": S, "plan": S, "channel": S, "identity": S, "complaints": I32, "activation": D},
    # Like the public churn sets: one row per line, no keys or dates that give the churn flag away.
    "customers": {"customer_id": S, "plan": S, "contract": S, **dict.fromkeys(ADDONS, S),
                  "payment_method": S, "channel": S, "gender": S, "age_band": S, "tenure_months": I32,
                  "monthly_charges": F,
                  "total_charges": F, "avg_voice_min": F, "avg_data_mb": F, "avg_sms": F, "arpu": F,
                  "churn": S},
    "transactions": {"customer_id": S, "date": D, "amount": F, "kind": S},
    "truth_panel": {"customer_id": S, "month": D, "true_stage": S, "true_decline_subtype": S,
                    "true_exit_subtype": S, "true_tenure": I32, "latent_voice_min": F, "latent_data_mb": F,
                    "latent_revenue": F},
    "truth_customers": {"customer_id": S, "identity": S, "true_cluster": I32, "true_group": S,
                        "true_churn_probability": F, "true_path": S, "true_path_start": D,
                        "true_exit_subtype": S, "reentry_of": S, "reentered_as": S},
}


@dataclass
class Synth:
    """A synthetic data set, generated on demand (see :func:`synth`).

    Attributes
    ----------
    stats : dict
        Filled while :meth:`chunks` runs: customers, churned, re-entries, rows
        per table, and panel rows per true stage.
    """

    customers: int
    months: int
    seed: int
    start: date
    tables: tuple[str, ...]
    stats: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """Parameters and rules, for provenance metadata."""
        return {"customers": self.customers, "months": self.months, "seed": self.seed,
                "start": self.start.isoformat()[:7], "tables": list(self.tables), "block": BLOCK,
                "truth_rules": w.TRUTH_RULES}

    @property
    def blocks(self) -> int:
        return -(-self.customers // BLOCK)

    def chunks(self, progress: Progress | None = None) -> Iterator[dict[str, pl.DataFrame]]:
        """Yield one dict of frames (table name -> rows of this block) per block.

        ``truth_effects`` is small and comes whole with the first block.
        """
        self.stats = {"customers": 0, "churned": 0, "reentries": 0, "rows": dict.fromkeys(self.tables, 0),
                      "stages": dict.fromkeys(STAGES, 0)}
        width = max(7, len(str(self.customers - 1)))
        for k in range(self.blocks):
            first = k * BLOCK
            n = min(BLOCK, self.customers - first)
            out = _block(self, k, first, n, width)
            if k == 0 and "truth_effects" in self.tables:
                out["truth_effects"] = truth_effects()
            for name, frame in out.items():
                self.stats["rows"][name] += frame.height
            if progress is not None:
                progress("generating customers", first + n, self.customers)
            yield out

    def frames(self, progress: Progress | None = None) -> dict[str, pl.DataFrame]:
        """All tables in memory (for small data sets, tests and notebooks)."""
        parts: dict[str, list[pl.DataFrame]] = {t: [] for t in self.tables}
        for chunk in self.chunks(progress):
            for name, frame in chunk.items():
                parts[name].append(frame)
        return {name: pl.concat(frames) for name, frames in parts.items()}


def synth(customers: int = 2000, months: int = 24, *, seed: int = 0, start: str | date = "2023-01",
          tables: Sequence[str] | None = None) -> Synth:
    """Describe a synthetic telecom data set with planted ground truth.

    Parameters
    ----------
    customers
        Number of customer lines (``customer_id``), re-entered persons'
        new lines included.
    months
        Number of panel months (1-240; at least 12 for the lifecycle paths
        to unfold).
    seed
        Random seed (non-negative); same seed, same data.
    start
        First panel month, ``YYYY-MM`` (or a date; its month is used).
    tables
        Which of :data:`TABLES` to produce (default all).

    Returns
    -------
    Synth
        Call :meth:`Synth.chunks` to stream the tables or
        :meth:`Synth.frames` to collect them.
    """
    if customers < 1:
        raise OptionError(f"--customers must be at least 1, got {customers}")
    if not 1 <= months <= MAX_MONTHS:
        raise OptionError(f"--months must be between 1 and {MAX_MONTHS}, got {months}")
    if seed < 0:
        raise OptionError(f"--seed must be zero or positive, got {seed}")
    first = _parse_start(start)
    chosen = tuple(tables) if tables else TABLES
    unknown = [t for t in chosen if t not in TABLES]
    if unknown:
        raise OptionError(f"unknown table {unknown[0]!r} in --tables; choose from {', '.join(TABLES)}")
    chosen = tuple(t for t in TABLES if t in chosen)
    if months < 12:
        warnings.warn(f"with {months} months most planted declines, suspensions and exits do not fit; "
                      "use --months 12 or more for lifecycle work", SegmentWarning, stacklevel=2)
    return Synth(customers, months, seed, first, chosen)


def _parse_start(value: str | date) -> date:
    if isinstance(value, date):
        return value.replace(day=1)
    m = re.fullmatch(r"\s*(\d{4})-?(\d{2})(?:-\d{2})?\s*", str(value))
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise OptionError(f"--start must be a month like 2023-01, got {value!r}")
    return date(int(m.group(1)), int(m.group(2)), 1)


# ---------------------------------------------------------------- one block


def _labels(labels: Sequence[str | None], codes: np.ndarray) -> pl.Series:
    """Text labels for integer codes; code -1 gives null."""
    table = pl.Series([*labels, None], dtype=pl.String)
    idx = np.where(codes < 0, len(labels), codes).astype(np.int64)
    return table.gather(idx)


def _block(spec: Synth, k: int, first: int, n: int, width: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([spec.seed, k])
    M, y, mo = spec.months, spec.start.year, spec.start.month
    lines = draw_lines(rng, first=first, n=n, months=M)
    paths = draw_paths(rng, lines, M, start_year=y, start_month=mo)
    reentry_of, reentered_as = match_reentries(rng, lines, paths, M)
    obs = observe(rng, lines, paths, start_month=mo)
    stage, sub, tenure = lifecycle_truth(paths.voice, paths.data, paths.revenue, paths.status, paths.exists,
                                         first=paths.first, activation=lines.activation)

    person = np.where(reentry_of >= 0, lines.index[np.maximum(reentry_of, 0)], lines.index)
    ids = (pl.lit("C") + pl.Series(lines.index).cast(pl.String).str.zfill(width))
    line = pl.DataFrame({"i": lines.index}).select(customer_id=ids).with_columns(
        identity=pl.Series(identity_keys(spec.seed, person)).cast(pl.String),
        plan=_labels(w.PLANS, lines.plan),
        channel=_labels(CHANNELS, lines.channel),
        activation=pl.Series(activation_dates(lines, y, mo)[0]),
    )
    months = pl.Series(month_start(y, mo, np.arange(M)))
    li, mj = np.nonzero(paths.exists)
    reentered = reentered_as >= 0
    exit_code = reentered.astype(np.int64)  # into EXIT_SUBTYPES

    out: dict[str, pl.DataFrame] = {}
    rows = line.select(pl.all().gather(pl.Series(li)))
    if "panel" in spec.tables:
        out["panel"] = _panel(rows, months, li, mj, paths, obs)
    if "truth_panel" in spec.tables:
        ex = paths.exists
        stage_rows = stage[ex]
        out["truth_panel"] = pl.DataFrame({
            "customer_id": rows["customer_id"],
            "month": months.gather(mj),
            "true_stage": _labels(STAGES, stage_rows.astype(np.int64)),
            "true_decline_subtype": _labels(DECLINE_SUBTYPES[1:], sub[ex].astype(np.int64) - 1),
            "true_exit_subtype": _labels(EXIT_SUBTYPES, np.where(stage_rows == EXIT, exit_code[li], -1)),
            "true_tenure": pl.Series(tenure[ex], dtype=pl.Int32),
            "latent_voice_min": paths.voice[ex], "latent_data_mb": paths.data[ex],
            "latent_revenue": paths.revenue[ex],
        }, schema=SCHEMAS["truth_panel"])
    if "customers" in spec.tables:
        out["customers"] = _customers(line, lines, paths, obs)
    if "truth_customers" in spec.tables:
        ids_s = line["customer_id"]
        out["truth_customers"] = pl.DataFrame({
            "customer_id": ids_s, "identity": line["identity"],
            "true_cluster": pl.Series(lines.group, dtype=pl.Int32),
            "true_group": _labels([g.name for g in w.GROUPS], lines.group.astype(np.int64)).fill_null("noise"),
            "true_churn_probability": 1 / (1 + np.exp(-lines.churn_logit)),
            "true_path": _labels(KINDS, paths.kind.astype(np.int64)),
            "true_path_start": months.gather(np.maximum(paths.start, 0)).to_frame("d").select(
                pl.when(pl.Series(paths.start >= 0)).then(pl.col("d"))).to_series(),
            "true_exit_subtype": _labels(EXIT_SUBTYPES, np.where(paths.churn, exit_code, -1)),
            "reentry_of": ids_s.gather(np.maximum(reentry_of, 0)).to_frame("x").select(
                pl.when(pl.Series(reentry_of >= 0)).then(pl.col("x"))).to_series(),
            "reentered_as": ids_s.gather(np.maximum(reentered_as, 0)).to_frame("x").select(
                pl.when(pl.Series(reentered)).then(pl.col("x"))).to_series(),
        }, schema=SCHEMAS["truth_customers"])
    if "transactions" in spec.tables:
        out["transactions"] = _transactions(rng, rows, months, li, mj, lines, paths, obs)

    spec.stats["customers"] += n
    spec.stats["churned"] += int(paths.churn.sum())
    spec.stats["reentries"] += int(reentered.sum())
    counts = np.bincount(stage[paths.exists], minlength=len(STAGES))
    for s, c in zip(STAGES, counts, strict=True):
        spec.stats["stages"][s] += int(c)
    return out


def _panel(rows: pl.DataFrame, months: pl.Series, li: np.ndarray, mj: np.ndarray, paths: Paths,
           obs: Observed) -> pl.DataFrame:
    ex = paths.exists
    return pl.DataFrame({
        "customer_id": rows["customer_id"],
        "month": months.gather(mj),
        "voice_min": obs.voice[ex],
        "data_mb": obs.data[ex],
        "sms": pl.Series(obs.sms[ex]).fill_nan(None).cast(pl.Int32),
        "revenue": obs.revenue[ex],
        "status": _labels(STATUSES, paths.status[ex].astype(np.int64)),
        "plan": rows["plan"],
        "channel": rows["channel"],
        "identity": rows["identity"],
        "complaints": pl.Series(obs.complaints[ex], dtype=pl.Int32),
        "activation": rows["activation"],
    }, schema=SCHEMAS["panel"])


def _customers(line: pl.DataFrame, lines: Lines, paths: Paths, obs: Observed) -> pl.DataFrame:
    M = paths.exists.shape[1]
    j = np.arange(M)[None, :]
    tenure = j - lines.activation[:, None] + 1
    rows = paths.exists.sum(axis=1)
    # Usage averages: months active with some usage, leaving out the (partial)
    # activation month unless it is the only one.
    used = paths.exists & (paths.status == 0) & (obs.voice + obs.data > 0)
    typical = used & ~((tenure == 1) & (rows > 1)[:, None])
    typical = np.where(typical.any(axis=1)[:, None], typical, used)

    def mean(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        mask = mask & ~np.isnan(x)
        cnt = mask.sum(axis=1)
        tot = np.where(mask, x, 0.0).sum(axis=1)
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)

    fees = np.array([w.PLAN_FEE[p] for p in w.PLANS])[lines.plan]
    fees = fees + lines.addons.astype(np.float64) @ np.array([v[2] for v in w.ADDONS.values()])
    revenue_sum = np.where(paths.exists, obs.revenue, 0.0).sum(axis=1)
    before = np.maximum(-lines.activation, 0)  # months billed before the panel started
    total = np.round(revenue_sum + before * lines.level[:, 3], 2)
    last_tenure = paths.last - lines.activation + 1
    yes_no = pl.Series(["no", "yes"])
    return pl.DataFrame({
        "customer_id": line["customer_id"], "plan": line["plan"],
        "contract": _labels(CONTRACTS, lines.contract),
        **{a: yes_no.gather(lines.addons[:, i].astype(np.int64)) for i, a in enumerate(ADDONS)},
        "payment_method": _labels(PAYMENTS, lines.payment),
        "channel": line["channel"],
        "gender": _labels(GENDERS, lines.gender),
        "age_band": _labels(AGE_BANDS, lines.age),
        "tenure_months": pl.Series(last_tenure, dtype=pl.Int32),
        "monthly_charges": np.round(fees, 2),
        # As in billing extracts, a line in its first month has no total yet.
        "total_charges": pl.Series(np.where(last_tenure > 1, total, np.nan)).fill_nan(None),
        "avg_voice_min": np.round(mean(obs.voice, typical), 2),
        "avg_data_mb": np.round(mean(obs.data, typical), 2),
        "avg_sms": np.round(mean(obs.sms, typical), 2),
        "arpu": np.round(mean(obs.revenue, typical), 2),
        "churn": yes_no.gather(paths.churn.astype(np.int64)),
    }, schema=SCHEMAS["customers"])


def _transactions(rng: np.random.Generator, rows: pl.DataFrame, months: pl.Series, li: np.ndarray,
                  mj: np.ndarray, lines: Lines, paths: Paths, obs: Observed) -> pl.DataFrame:
    revenue = obs.revenue[paths.exists]
    billed = np.flatnonzero(revenue > 0)
    cents = np.round(revenue[billed] * 100).astype(np.int64)
    row, day, amount, kind = payments(rng, line=billed, cents=cents, days=paths.days[mj[billed]],
                                      prepaid=lines.prepaid[li[billed]])
    dates = months.to_numpy()[mj[row]] + (day - 1).astype("timedelta64[D]")
    return pl.DataFrame({
        "customer_id": rows["customer_id"].gather(row),
        "date": pl.Series(dates),
        "amount": amount / 100,
        "kind": _labels(TX_KINDS, kind.astype(np.int64)),
    }, schema=SCHEMAS["transactions"])
