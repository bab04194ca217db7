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

from segment.synth import _tables as tables
from segment.synth import _world as w
from segment.errors import OptionError, SegmentWarning
from segment.synth._complaints import TABLES as COMPLAINT_TABLES
from segment.synth._complaints import complaint_tables
from segment.synth._effects import truth_effects
from segment.synth._lines import CHANNELS, draw_lines, identity_keys
from segment.synth._observe import observe
from segment.synth._paths import activation_dates, draw_paths, match_reentries, month_start
from segment.synth._tables import SCHEMAS
from segment.synth._truth import STAGES, lifecycle_truth

__all__ = ["BLOCK", "SCHEMAS", "TABLES", "Synth", "synth"]

TABLES = ("panel", "customers", "transactions", "truth_panel", "truth_customers", "truth_effects")
#: Customers per generated block; fixed so that the data do not depend on how they are written.
BLOCK = 10_000
MAX_MONTHS = 240
Progress = Callable[[str, int, int | None], None]

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
    complaints: float = 0.0

    def params(self) -> dict[str, Any]:
        """Parameters and rules, for provenance metadata."""
        out = {"customers": self.customers, "months": self.months, "seed": self.seed,
               "start": self.start.isoformat()[:7], "tables": list(self.tables), "block": BLOCK,
               "truth_rules": w.TRUTH_RULES}
        return {**out, "complaints": self.complaints} if self.complaints else out

    @property
    def blocks(self) -> int:
        return -(-self.customers // BLOCK)

    def chunks(self, progress: Progress | None = None) -> Iterator[dict[str, pl.DataFrame]]:
        """Yield one dict of frames (table name -> rows of this block) per block.

        ``truth_effects`` is small and comes whole with the first block.
        """
        self.stats = {"customers": 0, "churned": 0, "reentries": 0, "swaps": 0, "rows": dict.fromkeys(self.tables, 0),
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
          tables: Sequence[str] | None = None, complaints: float = 0.0) -> Synth:
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
        Which of :data:`TABLES` to produce (default all), and with
        *complaints* also ``complaints`` and ``truth_complaints``.
    complaints
        Complaint texts with planted themes (:mod:`segment.synth._complaints`):
        the rate at which customers who do not churn mention the themes
        (0, the default, writes no complaint tables).

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
    if not 0 <= complaints <= 1:
        raise OptionError(f"--complaints is a share of customers between 0 and 1, got {complaints}")
    known = TABLES + COMPLAINT_TABLES if complaints else TABLES
    chosen = tuple(tables) if tables else known
    unknown = [t for t in chosen if t not in known]
    if unknown:
        hint = "; complaint tables need --complaints SHARE" if unknown[0] in COMPLAINT_TABLES else ""
        raise OptionError(f"unknown table {unknown[0]!r} in --tables; choose from {', '.join(known)}{hint}")
    chosen = tuple(t for t in known if t in chosen)
    if months < 12:
        warnings.warn(f"with {months} months most planted declines, suspensions and exits do not fit; "
                      "use --months 12 or more for lifecycle work", SegmentWarning, stacklevel=2)
    return Synth(customers, months, seed, first, chosen, complaints=complaints)


def _parse_start(value: str | date) -> date:
    if isinstance(value, date):
        return value.replace(day=1)
    m = re.fullmatch(r"\s*(\d{4})-?(\d{2})(?:-\d{2})?\s*", str(value))
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise OptionError(f"--start must be a month like 2023-01, got {value!r}")
    return date(int(m.group(1)), int(m.group(2)), 1)


# ---------------------------------------------------------------- one block


def _block(spec: Synth, k: int, first: int, n: int, width: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([spec.seed, k])
    M, y, mo = spec.months, spec.start.year, spec.start.month
    lines = draw_lines(rng, first=first, n=n, months=M)
    paths = draw_paths(rng, lines, M, start_year=y, start_month=mo)
    links = match_reentries(rng, lines, paths, M)
    reentry_of, reentered_as, swap_of, swapped_as = links
    obs = observe(rng, lines, paths, start_month=mo)
    stage, sub, tenure, winback = lifecycle_truth(paths.voice, paths.data, paths.revenue, paths.status, paths.exists,
                                         first=paths.first, activation=lines.activation)

    person = np.where(reentry_of >= 0, lines.index[np.maximum(reentry_of, 0)], lines.index)
    person = np.where(swap_of >= 0, lines.index[np.maximum(swap_of, 0)], person)
    ids = (pl.lit("C") + pl.Series(lines.index).cast(pl.String).str.zfill(width))
    line = pl.DataFrame({"i": lines.index}).select(customer_id=ids).with_columns(
        identity=pl.Series(identity_keys(spec.seed, person)).cast(pl.String),
        plan=tables.labels(w.PLANS, lines.plan),
        channel=tables.labels(CHANNELS, lines.channel),
        activation=pl.Series(activation_dates(lines, y, mo)[0]),
    )
    months = pl.Series(month_start(y, mo, np.arange(M)))
    li, mj = np.nonzero(paths.exists)
    reentered = reentered_as >= 0
    exit_kind = np.where(swapped_as >= 0, 2, reentered.astype(np.int64))

    out: dict[str, pl.DataFrame] = {}
    rows = line.select(pl.all().gather(pl.Series(li)))
    if "panel" in spec.tables:
        out["panel"] = tables.panel(rows, months, li, mj, paths, obs)
    if "truth_panel" in spec.tables:
        out["truth_panel"] = tables.truth_panel(rows, months, li, mj, paths, stage, sub, tenure, winback, exit_kind)
    if "customers" in spec.tables:
        out["customers"] = tables.customers(line, lines, paths, obs)
    if "truth_customers" in spec.tables:
        out["truth_customers"] = tables.truth_customers(line, months, lines, paths, exit_kind, links)
    if "transactions" in spec.tables:
        out["transactions"] = tables.transactions(rng, rows, months, li, mj, lines, paths, obs)
    if spec.complaints and set(COMPLAINT_TABLES) & set(spec.tables):
        texts = complaint_tables(spec.seed, k, line["customer_id"], paths.churn, paths.exists, months,
                                 spec.complaints)
        out.update({name: texts[name] for name in COMPLAINT_TABLES if name in spec.tables})

    spec.stats["customers"] += n
    spec.stats["churned"] += int(paths.churn.sum())
    spec.stats["reentries"] += int(reentered.sum())
    spec.stats["swaps"] += int((swapped_as >= 0).sum())
    counts = np.bincount(stage[paths.exists], minlength=len(STAGES))
    for s, c in zip(STAGES, counts, strict=True):
        spec.stats["stages"][s] += int(c)
    return out
