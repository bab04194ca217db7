"""Seeded, stratified control groups for a call list.

A retention campaign can only be measured against customers who were worth
calling and were not called. :func:`assign_control` holds back a seeded share
of the eligible rows as ``control`` and marks the rest ``treat``, stratified
(by risk decile by default) so that the control has the same risk mix as the
treated group. Used by ``segment sample`` and ``segment churn score --control``.

The assignment depends on the seed and on the set of rows, not on their
order: the eligible rows are ordered by stratum and id before the random
draw. Each stratum gets ``share x size`` controls, rounded so that the total
is ``round(share x eligible)`` (largest remainders, ties broken by the seed).

Examples
--------
>>> import polars as pl
>>> calls = pl.DataFrame({"customer_id": [f"C{i}" for i in range(20)],
...                       "decile": [1] * 10 + [2] * 10, "call": [True] * 18 + [False] * 2})
>>> out = assign_control(calls, id="customer_id", share=0.2, seed=1)
>>> out.group_by("decile", "group").len().sort("decile", "group").rows()
[(1, 'control', 2), (1, 'treat', 8), (2, None, 2), (2, 'control', 2), (2, 'treat', 6)]
>>> out.equals(assign_control(calls.reverse(), id="customer_id", share=0.2, seed=1).reverse())
True
>>> parse_share("10%"), parse_share("0.25")
(0.1, 0.25)
"""

from __future__ import annotations

import math
import re

import numpy as np
import polars as pl

from segment.columns import count_missing, flag_values, warn_missing
from segment.errors import ColumnNotFoundError, DataError, OptionError, shown

#: Smallest and largest control share: below 1% no campaign is measurable,
#: above 50% more customers are held back than called.
MIN_SHARE, MAX_SHARE = 0.01, 0.50
TREAT, CONTROL = "treat", "control"


def share_value(text: str | float, option: str) -> float:
    """A share written as ``10%`` or ``0.1`` (0 to 1; ``10`` without ``%`` is refused, not read as 1000%).

    The one reader of shares for every option that takes them (``--control``,
    ``--alert-top``), so that they accept and refuse the same spellings.

    >>> share_value("12.5%", "--control"), share_value("0.2", "--control")
    (0.125, 0.2)
    >>> share_value("15", "--alert-top")
    Traceback (most recent call last):
    ...
    segment.errors.OptionError: --alert-top expects a share such as 10% or 0.1, got '15' (write 15% for percent)
    """
    raw = str(text).strip()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(%?)", raw)
    if m is None:
        raise OptionError(f"{option} expects a share such as 10% or 0.1, got {raw!r}")
    value = float(m.group(1)) / (100 if m.group(2) else 1)
    if not m.group(2) and value >= 1:
        raise OptionError(f"{option} expects a share such as 10% or 0.1, got {raw!r} (write {raw}% for percent)")
    return value


def parse_share(text: str | float, option: str = "--control") -> float:
    """A share written as ``10%`` or ``0.1``, checked to lie within 1-50%.

    >>> parse_share("60%")
    Traceback (most recent call last):
    ...
    segment.errors.OptionError: --control must be between 1% and 50% of the call list, got 60%
    """
    raw = str(text).strip()
    value = share_value(raw, option)
    if not MIN_SHARE - 1e-12 <= value <= MAX_SHARE + 1e-12:
        raise OptionError(f"{option} must be between 1% and 50% of the call list, got {raw}")
    return value


def assign_control(frame: pl.DataFrame | pl.LazyFrame, *, id: str, share: float, seed: int = 0,
                   strata: str | None = "decile", eligible: str | None = "call",
                   group: str = "group") -> pl.DataFrame:
    """Add column *group*: ``control`` for a seeded stratified share of eligible rows, ``treat`` for the rest.

    Parameters
    ----------
    frame
        The call list, one row per customer.
    id
        Customer key; an id twice is an error.
    share
        Control share of the eligible rows, 0.01-0.50.
    seed
        Random seed; same rows and seed, same assignment.
    strata
        Column to stratify by (each value gets its share of controls), or
        None for a simple random sample.
    eligible
        Boolean column marking whom to call; rows where it is false get a
        null *group*. When the column is absent every row is eligible.
    group
        Name of the added column (must not exist yet).
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if not MIN_SHARE - 1e-12 <= share <= MAX_SHARE + 1e-12:
        raise OptionError(f"--control must be between 1% and 50% of the call list, got {share:.1%}")
    if id not in df.columns:
        raise ColumnNotFoundError(id, df.columns, role="--id")
    if strata is not None and strata not in df.columns:
        raise ColumnNotFoundError(strata, df.columns, role="--strata (or --strata none)")
    if group in df.columns:
        raise DataError(f"the call list already has a {shown(group)} column: it was assigned before; "
                        "drop the column to draw a new control group")
    dup = df.filter(pl.col(id).is_duplicated()).head(1)
    if dup.height:
        raise DataError(f"customer {dup[id][0]!r} appears twice in {shown(id)}: a call list has one row per customer")
    has_flag = eligible is not None and eligible in df.columns
    warn_missing(count_missing(df, [c for c in (strata,) if c]),
                 then="those customers are sampled as a stratum of their own")
    warn_missing(count_missing(df, [eligible] if has_flag else []), then="those customers are not called")
    ok = flag_values(df, eligible, role="call").fill_null(False) if has_flag \
        else pl.Series([True] * df.height)
    index = pl.Series("__row", np.arange(df.height))
    key = df.select(pl.col(strata) if strata else pl.lit(0), pl.col(id)).with_columns(index).filter(ok)
    key = key.sort(key.columns[:2], nulls_last=True)
    stratum = key[:, 0].rle_id().to_numpy()
    n = key.height
    rng = np.random.default_rng(seed)
    draw = rng.random(n)
    counts = np.bincount(stratum) if n else np.zeros(0, dtype=np.int64)
    quota = _allocate(counts, share, rng)
    # Rank within stratum by the random draw; the first quota[s] are controls.
    order = np.lexsort((draw, stratum))
    rank = np.empty(n, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n else np.zeros(0, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    is_control = rank < quota[stratum] if n else np.zeros(0, dtype=bool)
    labels = np.full(df.height, None, dtype=object)
    labels[key["__row"].to_numpy()] = np.where(is_control, CONTROL, TREAT)
    return df.with_columns(pl.Series(group, labels.tolist(), dtype=pl.String))


def _allocate(counts: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Controls per stratum: floor of share x size, plus one for the largest remainders up to the total.

    >>> _allocate(np.array([5, 5, 5, 5]), 0.1, np.random.default_rng(0)).sum()
    np.int64(2)
    """
    if counts.size == 0:
        return counts
    exact = share * counts
    base = np.floor(exact + 1e-9).astype(np.int64)
    total = int(math.floor(share * counts.sum() + 0.5))
    extra = max(total - int(base.sum()), 0)
    if extra:
        rest = exact - base
        order = np.lexsort((rng.random(counts.size), -rest))
        base[order[:extra]] += 1
    return base
