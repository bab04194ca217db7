"""Association rules X -> target (churn): which plans and services go with it, and which are real.

The pipeline, in order:

1. **Items.** Each column of a customer snapshot becomes items
   (:mod:`segment.rules._items`); or a long table gives them directly.
   Items that cannot reach the minimum count among target customers are
   dropped before mining.
2. **Mining.** Every antecedent X of up to ``max_len`` items with
   ``n(X and target) >= min_count`` (:mod:`segment.rules._mining`). These
   are exactly the rules mlxtend's ``fpgrowth`` (``max_len + 1``) and
   ``association_rules`` give with consequent = the target, at the same
   minimum support.
3. **Tests.** For every mined rule ("tested"), Fisher's one-sided exact test
   of X against everybody else, adjusted across all tested rules (Holm by
   default), whatever their confidence or lift: the filters on confidence and
   lift look at the outcome, so the family is fixed before them.
4. **Thresholds** on confidence and lift, then the **redundancy** and
   **productivity** judgements (:mod:`segment.rules._redundancy`).
5. **Output**: significant, non-redundant rules (unless asked to keep the
   others), sorted with significant rules first.

Examples
--------
>>> import polars as pl
>>> snap = pl.DataFrame({
...     "customer_id": [f"c{i}" for i in range(200)],
...     "contract": ["monthly"] * 100 + ["yearly"] * 100,
...     "tv": ["Yes", "No"] * 100,
...     "churn": ["Yes"] * 60 + ["No"] * 40 + ["Yes"] * 10 + ["No"] * 90,
... })
>>> res = rules(snap, target="churn", min_support=0.05)
>>> res.table.select("antecedent", "n_rule", "confidence", "lift", "significant")
shape: (1, 5)
┌──────────────────┬────────┬────────────┬──────────┬─────────────┐
│ antecedent       ┆ n_rule ┆ confidence ┆ lift     ┆ significant │
│ ---              ┆ ---    ┆ ---        ┆ ---      ┆ ---         │
│ str              ┆ i64    ┆ f64        ┆ f64      ┆ bool        │
╞══════════════════╪════════╪════════════╪══════════╪═════════════╡
│ contract=monthly ┆ 60     ┆ 0.6        ┆ 1.714286 ┆ true        │
└──────────────────┴────────┴────────────┴──────────┴─────────────┘
>>> {k: res.stats[k] for k in ("mined", "significant", "non_redundant")}
{'mined': 4, 'significant': 2, 'non_redundant': 1}

``contract=monthly & tv=yes`` is significant too, but no more confident than
``contract=monthly`` alone, so it is dropped as redundant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.errors import ColumnNotFoundError, DataError, OptionError
from segment.rules._bits import ItemMatrix
from segment.rules._items import item_columns, snapshot_items
from segment.rules._long import long_items
from segment.rules._mining import ENGINES, Found, mine
from segment.rules._redundancy import judge
from segment.rules._stats import metrics
from segment.rules._target import check_ids, resolve_target, split_target
from segment.stats.hypergeom import fisher_greater
from segment.stats.multitest import METHODS as CORRECTIONS
from segment.stats.multitest import adjust

SORTS = ("lift", "leverage", "p", "confidence")
DEFAULT_MIN_SUPPORT = 0.01
COLUMNS = ("antecedent", "consequent", "length", "n", "n_antecedent", "n_rule", "support",
           "confidence", "lift", "leverage", "conviction", "p_value", "p_adjusted", "significant",
           "p_productive", "productive", "redundant")


@dataclass
class RulesResult:
    """What :func:`rules` returns.

    Attributes
    ----------
    table : pl.DataFrame
        The rules kept, one per row (columns: :data:`COLUMNS`).
    items : pl.DataFrame
        Every item used: label, source column, customers holding it, how
        many of them have the target, and their target rate.
    stats : dict
        Counts: customers, target customers, items, mined (= tested),
        passing the confidence/lift thresholds, significant, non-redundant,
        written.
    params : dict
        Resolved parameters (target value, minimum count, bin breaks ...).
    """

    table: pl.DataFrame
    items: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def rules(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    target: str = "churn",
    id: str = "customer_id",
    items: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    long: bool = False,
    item: str = "item",
    bins: int = 4,
    breaks: dict[str, list[float]] | None = None,
    with_no: bool = False,
    negative: bool = False,
    min_support: float | None = None,
    min_count: int | None = None,
    min_confidence: float = 0.0,
    min_lift: float = 1.0,
    max_len: int = 3,
    correction: str = "holm",
    alpha: float = 0.05,
    keep_redundant: bool = False,
    keep_insignificant: bool = False,
    productive: bool = False,
    sort: str = "lift",
    top: int | None = None,
    engine: str = "mlxtend",
    progress: Callable[[str, int, int | None], None] | None = None,
) -> RulesResult:
    """Mine rules X -> target, test them, and keep the real, non-redundant ones.

    Parameters
    ----------
    frame
        A customer snapshot (one row per customer), or with ``long=True`` a
        table of (customer id, item) pairs.
    target
        Target column, optionally with its positive value: ``"churn"``
        (yes/true/1 detected) or ``"churn=Yes"``. With ``long=True``, the
        item value that marks target customers.
    id
        Customer key column (checked: no empty or repeated ids in a snapshot).
    items, exclude
        Columns to make items from (default: all but id and target), and
        columns to leave out. With ``long=True``: item values.
    long, item
        Read *frame* as long format; *item* names its item column.
    bins, breaks
        Number columns: quantile bins per column, or explicit ascending
        breaks per column name (``{"tenure": [12, 24]}``).
    with_no
        Yes/no columns also give ``column=no`` items.
    negative
        Also mine rules X -> not target (what goes with staying).
    min_support, min_count
        Minimum rule support as a fraction of all customers (default
        0.01), or as a number of customers; give one of them.
    min_confidence, min_lift
        Rules below these are not reported (they still count as tested).
    max_len
        Most items in an antecedent.
    correction, alpha
        ``holm`` (family-wise error), ``bh`` (false discovery rate),
        ``bonferroni`` or ``none``; a rule is significant when its adjusted
        p <= alpha.
    keep_redundant, keep_insignificant
        Keep redundant / non-significant rules (flagged) instead of
        dropping them.
    productive
        Keep only rules significantly better than each of their
        generalisations (Webb's productive rules), not just non-redundant.
    sort, top
        Order of the rules (``lift``, ``leverage``, ``p``, ``confidence``;
        significant rules first) and how many to keep.
    engine
        ``mlxtend`` (default: mlxtend's fpgrowth on the target's rows) or
        ``bitset`` (a numpy Eclat over packed bit vectors); same rules.
    progress
        Optional ``progress(task, done, total)`` callback.
    """
    _check_options(min_support, min_count, min_confidence, min_lift, max_len, correction, alpha,
                   sort, top, engine, bins)
    lf = frame.lazy()
    names = lf.collect_schema().names()
    if long:
        df = lf.select([c for c in (id, item) if c in names]).collect()
    else:
        if id not in names:
            raise ColumnNotFoundError(id, names, role="id")
        column, _ = split_target(names, target)
        items = item_columns(names, id, column, items, exclude)
        df = lf.select(list(dict.fromkeys([id, column, *items]))).collect()  # only what is used
    n = _customers(df, id=id, item=item, long=long)
    minc = _min_count(n, min_support, min_count)
    min_neg = minc if negative else None
    if long:
        matrix, tgt = long_items(df, target, id=id, item=item, min_pos=minc, min_neg=min_neg,
                                 items=items, exclude=exclude)
    else:
        check_ids(df, id)
        tgt = resolve_target(df, target)
        matrix = snapshot_items(df, tgt, id=id, min_pos=minc, min_neg=min_neg, items=items,
                                bins=bins, breaks=breaks, with_no=with_no)
    del df
    if not matrix.labels:
        among = "with or without the target" if negative else "with the target"
        raise DataError(f"no item reaches the minimum support of {minc:,} customers {among} "
                        f"(of {matrix.n:,}); lower --min-support or --min-count")
    sides = [(tgt.positive_label, matrix.pos, matrix.neg, matrix.n_pos)]
    if negative:
        sides.append((tgt.negative_label, matrix.neg, matrix.pos, matrix.n_neg))
    scored = [_Scored(mine(main, other, n_main=n_main, min_count=minc, max_len=max_len, engine=engine,
                           progress=progress, task=f"mining rules -> {label}"),
                      label, n_main, matrix.n, min_confidence, min_lift)
              for label, main, other, n_main in sides]
    table, mined = _tested(scored, matrix.labels, correction, alpha)
    stats = {"customers": matrix.n, "target_customers": matrix.n_pos, "items": len(matrix.labels),
             "mined": mined, "tested": mined}
    real = pl.col("significant") & ~pl.col("redundant")
    if productive:
        real = real & pl.col("productive")
    stats["passing_thresholds"] = table.height
    stats["significant"] = int(table["significant"].sum())
    stats["non_redundant"] = int(table.select(real.sum()).item())
    if not keep_insignificant:
        table = table.filter(pl.col("significant"))
    if not keep_redundant:
        table = table.filter(~pl.col("redundant") & (pl.col("productive") if productive else True))
    table = _sorted(table, sort)
    if top is not None:
        table = table.head(top)
    stats["written"] = table.height
    params = {"target": tgt.column, "positive": tgt.positive_label, "consequents": [s[0] for s in sides],
              "min_count": minc, "base_rate": matrix.n_pos / matrix.n, "breaks": matrix.breaks,
              "correction": correction, "alpha": alpha, "max_len": max_len, "engine": engine}
    return RulesResult(table.select(COLUMNS), _item_table(matrix), stats, params)


def _check_options(min_support: float | None, min_count: int | None, min_confidence: float,
                   min_lift: float, max_len: int, correction: str, alpha: float, sort: str,
                   top: int | None, engine: str, bins: int) -> None:
    if min_support is not None and min_count is not None:
        raise OptionError("give --min-support (a fraction) or --min-count (customers), not both")
    if min_support is not None and not 0 < min_support <= 1:
        raise OptionError(f"--min-support is a fraction of customers in (0, 1], got {min_support}; "
                          "use --min-count for a number of customers")
    if min_count is not None and min_count < 1:
        raise OptionError(f"--min-count must be at least 1, got {min_count}")
    if not 0 <= min_confidence <= 1:
        raise OptionError(f"--min-confidence must be between 0 and 1, got {min_confidence}")
    if min_lift < 0:
        raise OptionError(f"--min-lift cannot be negative, got {min_lift}")
    if not 1 <= max_len <= 8:
        raise OptionError(f"--max-len must be between 1 and 8, got {max_len}")
    if not 2 <= bins <= 20:
        raise OptionError(f"--bins must be between 2 and 20, got {bins}")
    if not 0 < alpha < 1:
        raise OptionError(f"--alpha must be between 0 and 1, got {alpha}")
    if top is not None and top < 1:
        raise OptionError(f"--top must be at least 1, got {top}")
    for name, value, allowed in (("correction", correction, CORRECTIONS), ("sort", sort, SORTS),
                                 ("engine", engine, ENGINES)):
        if value not in allowed:
            raise OptionError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")


def _customers(df: pl.DataFrame, *, id: str, item: str, long: bool) -> int:
    if long and id in df.columns:
        return int(df[id].drop_nulls().n_unique())
    return df.height


def _min_count(n: int, min_support: float | None, min_count: int | None) -> int:
    """The rule count that *min_support* asks for, as mlxtend's fpgrowth computes it.

    fpgrowth mines with ``ceil(min_support * n)`` customers, in floating
    point: ``0.07 * 100`` is a hair above 7, so 8 customers are needed. Give
    ``min_count`` for an exact number.
    """
    if min_count is not None:
        return int(min_count)
    support = DEFAULT_MIN_SUPPORT if min_support is None else min_support
    return max(1, math.ceil(support * n))


class _Scored:
    """Mined rules of one consequent with their metrics and Fisher p-values.

    Exact tests are run only for rules passing the confidence and lift
    thresholds (the others are never reported); the others keep p = 1 in
    the family the correction counts, which can only make it stricter.
    """

    def __init__(self, found: Found, consequent: str, n_consequent: int, n: int,
                 min_confidence: float, min_lift: float):
        self.found, self.consequent, self.n = found, consequent, n
        self.metrics = metrics(found.n_rule, found.n_antecedent, n_consequent, n)
        self.passes = (self.metrics["confidence"] >= min_confidence) & (self.metrics["lift"] >= min_lift)
        self.p = np.ones(self.passes.shape)
        self.p[self.passes] = fisher_greater(found.n_rule[self.passes], found.n_antecedent[self.passes],
                                             np.int64(n_consequent), np.int64(n))

    def judge(self, significant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Redundancy of every rule; Webb's p only where it can matter (significant rules)."""
        f = self.found
        return judge(f.itemsets, n_rule=f.n_rule, n_antecedent=f.n_antecedent, p_value=self.p,
                     wanted=significant)

    def frame(self, labels: list[str]) -> pl.DataFrame:
        """The rules passing the thresholds, as a table."""
        f, keep = self.found, self.passes
        rows = int(keep.sum())
        return pl.DataFrame({
            "antecedent": antecedent_text(f.itemsets[keep], labels),
            "consequent": pl.Series([self.consequent] * rows, dtype=pl.String),
            "length": pl.Series(f.lengths[keep], dtype=pl.Int32),
            "n": pl.Series(np.full(rows, self.n), dtype=pl.Int64),
            "n_antecedent": pl.Series(f.n_antecedent[keep], dtype=pl.Int64),
            "n_rule": pl.Series(f.n_rule[keep], dtype=pl.Int64),
            **{k: pl.Series(v[keep], dtype=pl.Float64) for k, v in self.metrics.items()},
            "p_value": pl.Series(self.p[keep], dtype=pl.Float64),
        })


def antecedent_text(itemsets: np.ndarray, labels: list[str]) -> pl.Series:
    """``a & b & c`` per row of item indices (padded with -1), items in text order."""
    text_rank = np.argsort(np.argsort(np.asarray(labels, dtype=object), kind="stable"), kind="stable")
    by_rank = np.argsort(text_rank)
    ranked = np.where(itemsets >= 0, text_rank[np.maximum(itemsets, 0)], len(labels))
    ranked.sort(axis=1)
    names = pl.Series([*labels, None], dtype=pl.String)
    parts = [names.gather(np.where(col < len(labels), by_rank[np.minimum(col, len(labels) - 1)], len(labels)))
             for col in ranked.T]
    return pl.select(pl.concat_str(parts, separator=" & ", ignore_nulls=True).alias("antecedent")).to_series()


def _tested(scored: list[_Scored], labels: list[str], correction: str,
            alpha: float) -> tuple[pl.DataFrame, int]:
    """Rules passing the thresholds, with adjusted p-values and the redundancy /
    productivity judgements; and how many rules were mined (= tested).

    One family for every consequent and every mined rule. ``p_productive`` is
    only computed for significant rules (a rule must be significant to be
    productive); it is null for the others and counts as 1 in its own
    correction, which can only make that stricter.
    """
    p_adjusted = adjust(np.concatenate([s.p for s in scored]), correction)
    significant = p_adjusted <= alpha
    bounds = np.cumsum([0] + [s.p.size for s in scored])
    judged = [s.judge(significant[a:b]) for s, a, b in zip(scored, bounds[:-1], bounds[1:], strict=True)]
    redundant = np.concatenate([r for r, _ in judged])
    p_productive = np.concatenate([p for _, p in judged])
    p_productive[~significant] = np.nan
    productive = significant & (adjust(np.nan_to_num(p_productive, nan=1.0), correction) <= alpha)
    keep = np.concatenate([s.passes for s in scored])
    table = pl.concat([s.frame(labels) for s in scored], how="vertical").with_columns(
        p_adjusted=pl.Series(p_adjusted[keep], dtype=pl.Float64),
        significant=pl.Series(significant[keep], dtype=pl.Boolean),
        p_productive=pl.Series(p_productive[keep], dtype=pl.Float64, nan_to_null=True),
        productive=pl.Series(productive[keep], dtype=pl.Boolean),
        redundant=pl.Series(redundant[keep], dtype=pl.Boolean),
    )
    return table, int(keep.size)


def _sorted(table: pl.DataFrame, sort: str) -> pl.DataFrame:
    if sort == "p":
        keys, desc = ["significant", "p_value", "lift"], [True, False, True]
    else:
        keys, desc = ["significant", sort, "p_value"], [True, True, False]
    return table.sort([*keys, "antecedent", "consequent"], descending=[*desc, False, False])


def _item_table(matrix: ItemMatrix) -> pl.DataFrame:
    pos, neg = matrix.pos_counts, matrix.neg_counts
    total = pos + neg
    return pl.DataFrame({
        "item": pl.Series(matrix.labels, dtype=pl.String),
        "column": pl.Series(matrix.columns, dtype=pl.String),
        "customers": pl.Series(total, dtype=pl.Int64),
        "with_target": pl.Series(pos, dtype=pl.Int64),
        "target_rate": pl.Series(np.divide(pos, total, out=np.zeros(len(pos)), where=total > 0),
                                 dtype=pl.Float64),
    })
