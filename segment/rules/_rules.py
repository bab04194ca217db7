"""Association rules X -> target (churn): which plans and services go with it, and which are real.

The pipeline, in order:

1. **Items.** Each column of a customer snapshot becomes items
   (:mod:`segment.rules._items`); or a long table gives them directly.
   Items held by fewer than the minimum count of customers are dropped.
2. **Family and rules.** The family is every antecedent X of up to
   ``max_len`` items held by at least ``min_count`` customers, whoever has
   the target: it is fixed before the outcome is looked at. A member gives
   a rule when ``n(X and target) >= min_count`` (:mod:`segment.rules._mining`);
   these are exactly the rules mlxtend's ``fpgrowth`` (``max_len + 1``) and
   ``association_rules`` give with consequent = the target, at the same
   minimum support.
3. **Tests.** For every rule, Fisher's one-sided exact test of X against
   everybody else, adjusted (Holm by default) across the whole family:
   members that are not rules, or fail the confidence and lift thresholds
   (which look at the outcome), count with p = 1.
4. **Redundancy** and **productivity** judgements
   (:mod:`segment.rules._redundancy`); rules covering exactly the same
   customers become one rule, the other wordings listed in ``same_as``.
5. **Output**: significant, non-redundant rules (unless asked to keep the
   others), significant and productive rules first.

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
>>> res.table.select("antecedent", "customers", "target_customers", "confidence", "significant")
shape: (1, 5)
┌──────────────────┬───────────┬──────────────────┬────────────┬─────────────┐
│ antecedent       ┆ customers ┆ target_customers ┆ confidence ┆ significant │
│ ---              ┆ ---       ┆ ---              ┆ ---        ┆ ---         │
│ str              ┆ i64       ┆ i64              ┆ f64        ┆ bool        │
╞══════════════════╪═══════════╪══════════════════╪════════════╪═════════════╡
│ contract=monthly ┆ 100       ┆ 60               ┆ 0.6        ┆ true        │
└──────────────────┴───────────┴──────────────────┴────────────┴─────────────┘
>>> {k: res.stats[k] for k in ("family", "mined", "significant", "non_redundant")}
{'family': 8, 'mined': 6, 'significant': 3, 'non_redundant': 1}

The family is the 4 items and the 4 pairs of items from different columns,
each held by 50 customers or more; 6 of them have the 10 churners a rule
needs. ``contract=monthly & tv=yes`` (and ``& tv=no``) are significant too,
but no more confident than ``contract=monthly`` alone, so they are dropped
as redundant.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.errors import ColumnNotFoundError, DataError, OptionError
from segment.spark import is_spark
from segment.rules._bits import ItemMatrix
from segment.rules._items import item_columns, snapshot_items
from segment.rules._long import long_items
from segment.rules._mining import ENGINES, Found, search
from segment.rules._redundancy import judge
from segment.rules._stats import adjust_in_family, metrics
from segment.rules._text import DEFAULT_MIN_TERM_COUNT, LANGS, Terms, text_items
from segment.rules._target import Target, check_ids, resolve_target, split_target
from segment.stats.hypergeom import fisher_greater, log_pmf
from segment.stats.multitest import METHODS as CORRECTIONS

SORTS = ("lift", "leverage", "p", "confidence")
DEFAULT_MIN_SUPPORT = 0.01
COLUMNS = ("antecedent", "consequent", "length", "n", "customers", "target_customers", "support",
           "confidence", "lift", "leverage", "conviction", "p_value", "p_adjusted", "significant",
           "p_productive", "productive", "redundant", "same_as")
#: Column names of 0.1, readable for one more release (``segment rules --old-column-names``).
OLD_NAMES = {"customers": "n_antecedent", "target_customers": "n_rule"}


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
        Counts: customers, target customers, items, family (antecedents
        tested, per consequent), mined (rules reaching the minimum support),
        passing the confidence/lift thresholds, significant, non-redundant,
        merged as the same customers, written.
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
    with_no: bool = True,
    categorical: Sequence[str] | None = None,
    max_categories: int = 10,
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
    merge_same: bool = True,
    sort: str = "lift",
    top: int | None = None,
    engine: str = "bitset",
    text: str | None = None,
    lang: str = "auto",
    terms: Sequence[str] | None = None,
    min_term_count: int = DEFAULT_MIN_TERM_COUNT,
    complaints: pl.LazyFrame | pl.DataFrame | None = None,
    date: str = "date",
    since: str | dt.date | None = None,
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
        (yes/true/1 detected in a two-valued column) or ``"churn=Yes"``
        (required when the column has more than two values). With
        ``long=True``, the item value that marks target customers.
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
        Yes/no columns give ``column=no`` items as well as ``column=yes``
        (default); ``False`` keeps only the yes side.
    categorical, max_categories
        Columns whose values are codes, one item per value; whole-number
        columns with at most *max_categories* distinct values are read so
        too (0 turns that off).
    negative
        Also mine rules X -> not target (what goes with staying).
    min_support, min_count
        Minimum rule support as a fraction of all customers (default
        0.01), or as a number of customers; give one of them. The same
        count of customers (with or without the target) admits an
        antecedent into the tested family.
    min_confidence, min_lift
        Rules below these are not reported (they still count as tested).
    max_len
        Most items in an antecedent.
    correction, alpha
        ``holm`` (family-wise error), ``bh`` (false discovery rate),
        ``bonferroni`` or ``none``, over the whole family; a rule is
        significant when its adjusted p <= alpha.
    keep_redundant, keep_insignificant
        Keep redundant / non-significant rules (flagged) instead of
        dropping them.
    productive
        Keep only rules significantly better than each of their
        generalisations (Webb's productive rules), not just non-redundant.
    merge_same
        Rules of one consequent covering exactly the same customers are one
        row; the other wordings go in ``same_as``.
    sort, top
        Order of the rules (``lift``, ``leverage``, ``p``, ``confidence``;
        significant, then productive rules first) and how many to keep.
    engine
        ``bitset`` (default: a numpy Eclat over packed bit vectors) or
        ``mlxtend`` (mlxtend's fpgrowth on the target's rows); same rules.
    text, lang, terms, min_term_count
        A text column (complaints, notes) whose terms become items
        ``text:TERM`` (:mod:`segment.rules._text`), tokenised as ``zh``,
        ``en`` or ``auto`` (per text); *terms* are the lines of a terms file
        (``word`` a stop word, ``word=theme`` a synonym); terms held by fewer
        than *min_term_count* customers are dropped. Not with ``long``.
    complaints, date, since
        The texts as a long table instead of a snapshot column: one row per
        complaint (*id*, *text*, *date*); a customer's terms are the union
        over their complaints dated on or after *since* (all when None).
    progress
        Optional ``progress(task, done, total)`` callback.
    """
    _check_options(min_support, min_count, min_confidence, min_lift, max_len, correction, alpha,
                   sort, top, engine, bins, max_categories)
    word_list = _check_text(text, lang, long, complaints, since, min_term_count, terms)
    if engine == "spark" or is_spark(frame):
        from segment.rules._spark import spark_counts

        matrix, tgt, family, minc = spark_counts(
            frame, target=target, id=id, items=items, exclude=exclude, long=long, text=text, bins=bins,
            breaks=breaks, with_no=with_no, categorical=categorical, max_categories=max_categories,
            min_count_of=lambda n: _min_count(n, min_support, min_count), max_len=max_len, negative=negative,
            progress=progress)
        text_stats: dict = {}
        engine = "spark"
    else:
        matrix, tgt, minc, text_stats = _polars_items(
            frame, target=target, id=id, items=items, exclude=exclude, long=long, item=item, bins=bins,
            breaks=breaks, with_no=with_no, categorical=categorical, max_categories=max_categories,
            min_support=min_support, min_count=min_count, text=text, lang=lang, word_list=word_list,
            min_term_count=min_term_count, complaints=complaints, date=date, since=since, progress=progress)
        no_items(matrix.labels, minc, matrix.n)
        family = search(matrix.pos, matrix.neg, n_pos=matrix.n_pos, n_neg=matrix.n_neg, min_count=minc,
                        max_len=max_len, negative=negative, engine=engine, progress=progress,
                        task=f"mining rules -> {tgt.positive_label}")
    sides = [(tgt.positive_label, matrix.n_pos)] + ([(tgt.negative_label, matrix.n_neg)] if negative else [])
    screen = None if keep_insignificant else alpha
    scored = [_Scored(found, label, n_main, matrix.n, min_confidence, min_lift, side, screen)
              for side, (found, (label, n_main)) in enumerate(zip(family.rules, sides, strict=True))]
    table = _tested(scored, matrix.labels, correction, alpha, family.size * len(sides))
    stats = {"customers": matrix.n, "target_customers": matrix.n_pos, "items": len(matrix.labels),
             "family": family.size, "tested": family.size * len(sides),
             "mined": int(sum(s.p.size for s in scored))}
    real = pl.col("significant") & ~pl.col("redundant")
    if productive:
        real = real & pl.col("productive")
    stats["passing_thresholds"] = table.height
    stats["significant"] = int(table["significant"].sum())
    stats["productive"] = int(table["productive"].sum())
    stats["non_redundant"] = int(table.select(real.sum()).item())
    if not keep_insignificant:
        table = table.filter(pl.col("significant"))
    if not keep_redundant:
        table = table.filter(~pl.col("redundant") & (pl.col("productive") if productive else True))
    before = table.height
    table = _merged(table, scored, matrix) if merge_same else table.with_columns(
        same_as=pl.lit(None, dtype=pl.String))
    matrix.release()
    stats["merged_same_customers"] = before - table.height
    table = _sorted(table, sort)
    if top is not None:
        table = table.head(top)
    stats["written"] = table.height
    params = {"target": tgt.column, "positive": tgt.positive_label, "consequents": [s[0] for s in sides],
              "min_count": minc, "base_rate": matrix.n_pos / matrix.n, "breaks": matrix.breaks,
              "correction": correction, "alpha": alpha, "max_len": max_len, "engine": engine,
              "family_by_length": family.by_length}
    if text is not None:
        params["text"] = {"column": text, "lang": lang, "min_term_count": min_term_count,
                          "since": None if since is None else str(_since(since)), **text_stats}
    return RulesResult(table.select(COLUMNS), _item_table(matrix), stats, params)


def _polars_items(frame: pl.LazyFrame | pl.DataFrame, *, target: str, id: str, items: Sequence[str] | None,
                  exclude: Sequence[str] | None, long: bool, item: str, bins: int,
                  breaks: dict[str, list[float]] | None, with_no: bool, categorical: Sequence[str] | None,
                  max_categories: int, min_support: float | None, min_count: int | None, text: str | None,
                  lang: str, word_list: Terms, min_term_count: int, complaints: pl.LazyFrame | pl.DataFrame | None,
                  date: str, since: str | dt.date | None,
                  progress: Callable[[str, int, int | None], None] | None) -> tuple[ItemMatrix, Target, int, dict]:
    """The items as bit vectors on this machine, the target, the minimum count and the texts' counts."""
    lf = frame.lazy()
    names = lf.collect_schema().names()
    in_snapshot = text is not None and complaints is None
    text_stats: dict = {}
    if long:
        df = lf.select([c for c in (id, item) if c in names]).collect()
    else:
        if id not in names:
            raise ColumnNotFoundError(id, names, role="id")
        column, _ = split_target(names, target)
        if in_snapshot and text not in names:
            raise ColumnNotFoundError(text, names, role="text")
        if in_snapshot:
            exclude = [*(exclude or ()), text]
        items = item_columns(names, id, column, items, exclude, allow_none=text is not None)
        df = lf.select(list(dict.fromkeys([id, column, *items, *([text] if in_snapshot else [])]))).collect()
    n = _customers(df, id=id, item=item, long=long)
    minc = _min_count(n, min_support, min_count)
    if long:
        matrix, tgt = long_items(df, target, id=id, item=item, min_count=minc, items=items, exclude=exclude)
    else:
        check_ids(df, id)
        tgt = resolve_target(df, target)
        extra = None
        if text is not None:
            if progress is not None:
                progress("reading texts", 0, None)
            texts = df if complaints is None else _complaints(complaints, id, text, date, since)
            found, text_stats = text_items(df[id], texts, id=id, text=text, lang=lang, terms=word_list,
                                           min_count=max(minc, min_term_count), long=complaints is not None,
                                           date=date, since=_since(since))
            extra = (text, found)
            del texts
        matrix = snapshot_items(df, tgt, id=id, min_count=minc, items=items, exclude=exclude, bins=bins, breaks=breaks,
                                with_no=with_no, categorical=categorical, max_categories=max_categories,
                                extra=extra)
    return matrix, tgt, minc, text_stats


def no_items(labels: Sequence[str], minc: int, n: int) -> None:
    """Refuse a run in which no item reaches the minimum count (both engines)."""
    if not labels:
        raise DataError(f"no item reaches the minimum support of {minc:,} customers (of {n:,}); "
                        "lower --min-support or --min-count")


def _check_options(min_support: float | None, min_count: int | None, min_confidence: float,
                   min_lift: float, max_len: int, correction: str, alpha: float, sort: str,
                   top: int | None, engine: str, bins: int, max_categories: int) -> None:
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
    if max_categories < 0:
        raise OptionError(f"--max-categories cannot be negative, got {max_categories}")
    if top is not None and top < 1:
        raise OptionError(f"--top must be at least 1, got {top}")
    for name, value, allowed in (("correction", correction, CORRECTIONS), ("sort", sort, SORTS),
                                 ("engine", engine, (*ENGINES, "spark"))):
        if value not in allowed:
            raise OptionError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")


def _check_text(text: str | None, lang: str, long: bool, complaints: object, since: object, min_term_count: int,
                terms: Sequence[str] | None) -> Terms:
    if text is None:
        if complaints is not None or since is not None or terms:
            raise OptionError("--complaints, --since and --terms need --text COLUMN (the column of texts)")
        return Terms()
    if long:
        raise OptionError("--text reads a snapshot (one row per customer), not --long input; give the "
                          "complaints as their own table with --complaints FILE")
    if since is not None and complaints is None:
        raise OptionError("--since selects complaints by date: give them as a table with --complaints FILE")
    if lang not in LANGS:
        raise OptionError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    if min_term_count < 1:
        raise OptionError(f"--min-term-count must be at least 1, got {min_term_count}")
    return Terms.parse(list(terms or ()))


def _since(since: str | dt.date | None) -> dt.date | None:
    if since is None or isinstance(since, dt.date):
        return since
    try:
        return dt.date.fromisoformat(str(since).strip())
    except ValueError:
        raise OptionError(f"--since must be a date like 2024-01-31, got {since!r}") from None


def _complaints(complaints: pl.LazyFrame | pl.DataFrame, id: str, text: str, date: str,
                since: object) -> pl.DataFrame:
    lf = complaints.lazy()
    names = lf.collect_schema().names()
    wanted = [id, text, *([date] if since is not None else [])]
    return lf.select([c for c in dict.fromkeys(wanted) if c in names]).collect()


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
                 min_confidence: float, min_lift: float, side: int, screen_above: float | None = None):
        self.found, self.consequent, self.n, self.side = found, consequent, n, side
        self.metrics = metrics(found.n_rule, found.n_antecedent, n_consequent, n)
        self.passes = (self.metrics["confidence"] >= min_confidence) & (self.metrics["lift"] >= min_lift)
        self.p = np.ones(self.passes.shape)
        exact = self.passes.copy()
        if screen_above is not None:
            # p >= P(X = observed), one term of its tail: where that term alone is
            # above alpha the rule cannot be significant under any correction, and
            # summing its long tail (the slow part on large data) is skipped. Its
            # p stays 1, which changes no verdict and no significant rule's adjusted p.
            at = np.flatnonzero(exact)
            first = log_pmf(found.n_rule[at], np.int64(n), np.int64(n_consequent), found.n_antecedent[at])
            exact[at[first > math.log(screen_above) + 1e-9]] = False
        self.p[exact] = fisher_greater(found.n_rule[exact], found.n_antecedent[exact],
                                       np.int64(n_consequent), np.int64(n))

    def judge(self, significant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Redundancy of every rule; Webb's p only where it can matter (significant rules)."""
        f = self.found
        return judge(f.itemsets, n_rule=f.n_rule, n_antecedent=f.n_antecedent, p_value=self.p,
                     wanted=significant)

    def frame(self, labels: list[str]) -> pl.DataFrame:
        """The rules passing the thresholds, as a table (``_side``, ``_row``: where they came from)."""
        f, keep = self.found, self.passes
        rows = int(keep.sum())
        # Customers with the target value, for rules to either consequent.
        with_target = f.n_rule if self.side == 0 else f.n_antecedent - f.n_rule
        return pl.DataFrame({
            "antecedent": antecedent_text(f.itemsets[keep], labels),
            "consequent": pl.Series([self.consequent] * rows, dtype=pl.String),
            "length": pl.Series(f.lengths[keep], dtype=pl.Int32),
            "n": pl.Series(np.full(rows, self.n), dtype=pl.Int64),
            "customers": pl.Series(f.n_antecedent[keep], dtype=pl.Int64),
            "target_customers": pl.Series(with_target[keep], dtype=pl.Int64),
            **{k: pl.Series(v[keep], dtype=pl.Float64) for k, v in self.metrics.items()},
            "p_value": pl.Series(self.p[keep], dtype=pl.Float64),
            "_side": pl.Series(np.full(rows, self.side), dtype=pl.Int32),
            "_row": pl.Series(np.flatnonzero(keep), dtype=pl.Int64),
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


def _tested(scored: list[_Scored], labels: list[str], correction: str, alpha: float,
            family: int) -> pl.DataFrame:
    """Rules passing the thresholds, with adjusted p-values and the redundancy /
    productivity judgements.

    One family for every consequent: *family* tests, of which the mined rules
    are some; the others count with p = 1. ``p_productive`` is only computed
    for significant rules (a rule must be significant to be productive); it
    is null for the others and counts as 1 in its own correction, over the
    same family, which can only make that stricter.
    """
    p_adjusted = adjust_in_family(np.concatenate([s.p for s in scored]), correction, family)
    significant = p_adjusted <= alpha
    bounds = np.cumsum([0] + [s.p.size for s in scored])
    judged = [s.judge(significant[a:b]) for s, a, b in zip(scored, bounds[:-1], bounds[1:], strict=True)]
    redundant = np.concatenate([r for r, _ in judged])
    p_productive = np.concatenate([p for _, p in judged])
    p_productive[~significant] = np.nan
    productive = significant & (adjust_in_family(np.nan_to_num(p_productive, nan=1.0), correction,
                                                 family) <= alpha)
    keep = np.concatenate([s.passes for s in scored])
    return pl.concat([s.frame(labels) for s in scored], how="vertical").with_columns(
        p_adjusted=pl.Series(p_adjusted[keep], dtype=pl.Float64),
        significant=pl.Series(significant[keep], dtype=pl.Boolean),
        p_productive=pl.Series(p_productive[keep], dtype=pl.Float64, nan_to_null=True),
        productive=pl.Series(productive[keep], dtype=pl.Boolean),
        redundant=pl.Series(redundant[keep], dtype=pl.Boolean),
    )


def _merged(table: pl.DataFrame, scored: list[_Scored], matrix: ItemMatrix) -> pl.DataFrame:
    """One row per consequent and set of customers covered; other wordings in ``same_as``.

    Collinear columns (minutes and charge) give rules that differ in words
    only: same customers, same counts, same tests. The shortest wording, then
    the first in text order, stands for them.
    """
    if table.height < 2:
        return table.with_columns(same_as=pl.lit(None, dtype=pl.String))
    keys = np.empty(table.height, dtype=object)
    for side, s in enumerate(scored):
        at = np.flatnonzero(table["_side"].to_numpy() == side)
        if at.size:
            keys[at] = matrix.coverage(s.found.itemsets[table["_row"].to_numpy()[at]])
    groups = (table.with_row_index("_i").with_columns(_key=pl.Series(keys.tolist(), dtype=pl.Binary))
              .sort("length", "antecedent")
              .group_by("_side", "_key", maintain_order=True)
              .agg(pl.col("_i").first(), pl.col("antecedent").slice(1).alias("_others")))
    same = groups.select("_i", same_as=pl.when(pl.col("_others").list.len() > 0)
                         .then(pl.col("_others").list.join("; ")))
    return table.with_row_index("_i").join(same, on="_i", how="inner").drop("_i")


def _sorted(table: pl.DataFrame, sort: str) -> pl.DataFrame:
    if sort == "p":
        keys, desc = ["significant", "productive", "p_value", "lift"], [True, True, False, True]
    else:
        keys, desc = ["significant", "productive", sort, "p_value"], [True, True, True, False]
    return table.sort([*keys, "antecedent", "consequent"], descending=[*desc, False, False])


def _item_table(matrix: ItemMatrix) -> pl.DataFrame:
    pos, neg = matrix.pos_counts, matrix.neg_counts
    total = pos + neg
    return pl.DataFrame({
        "item": pl.Series(matrix.labels, dtype=pl.String),
        "column": pl.Series(matrix.columns, dtype=pl.String),
        "customers": pl.Series(total, dtype=pl.Int64),
        "target_customers": pl.Series(pos, dtype=pl.Int64),
        "target_rate": pl.Series(np.divide(pos, total, out=np.zeros(len(pos)), where=total > 0),
                                 dtype=pl.Float64),
    })
