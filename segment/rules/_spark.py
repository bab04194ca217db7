"""``rules`` on Spark: the items and the family are counted on the executors.

What runs where:

executors
    Each item column is cleaned and classified row by row with the same
    polars code as on one machine (:func:`segment.spark.map_polars`), then
    every row becomes one item code per column (a column gives a customer at
    most one item). The family is counted level by level (Apriori): the
    driver sends the candidate antecedents of length *k* (every set whose
    subsets of length *k - 1* are in the family), each partition counts,
    over its rows, the customers holding each candidate and how many of them
    have the target, and Spark sums those counts across partitions (one
    small shuffle per level, keyed by candidate).
driver
    Column summaries (empty rows, extremes, kinds), category values held by
    the minimum count, bin breaks (:func:`segment.spark.tie_breaks`), the
    candidates and their counts: tables that grow with items and
    antecedents, never with customers. From those counts the tests,
    corrections, redundancy and output are the polars engine's code.

Rules of one consequent covering the same customers (``same_as``) are found
from a digest summed on the executors: per rule, the count and the sums of
two 64-bit hashes of the customer ids of the customers it covers.

Examples
--------
>>> _candidates([(0,), (1,), (2,)], 2).tolist()
[[0, 1], [0, 2], [1, 2]]
>>> _candidates([(0, 1), (0, 2), (1, 2), (1, 3)], 3).tolist()
[[0, 1, 2]]
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment import spark as engine
from segment.columns import missing_text, number_from_text, warn_missing
from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError, SegmentWarning
from segment.rules._bits import warn_empty
from segment.rules._items import _NOT_APPLICABLE, bin_label, check_item_options, code_warning, item_columns
from segment.rules._mining import Family, Found, _padded, _sorted
from segment.rules._target import NO, YES, Target, cleaned, is_text, resolve_target, split_target, value_text

#: Distinct values of a number column counted exactly before :func:`segment.spark.tie_breaks` windows them.
EXACT_DISTINCT = engine.EXACT_DISTINCT
#: Distinct target values brought to the driver at most (resolve_target reads them all).
MAX_TARGET_VALUES = 10_000
#: Word classes of a text value: a yes word, a no word, ``No ... service``, anything else.
_YES, _NO, _NA, _WORD = 0, 1, 2, 3
#: Number classes of a text value: a finite number, a missing-value marker (or NaN), not a number.
_NUMBER, _MARKER, _OTHER = 0, 1, 2


def refused(*, long: bool = False, text: str | None = None, complaints: object = None) -> None:
    """Refuse the options the Spark engine cannot honour, before any work."""
    if text is not None or complaints is not None:
        raise OptionError("--text (complaint terms) runs on one machine only: leave out --engine spark")
    if long:
        raise OptionError("--long input runs on one machine only: leave out --engine spark")


@dataclass
class SparkItems:
    """The items counted on Spark: what :func:`segment.rules.rules` reads of an item matrix."""

    labels: list[str]
    columns: list[str]
    pos_counts: np.ndarray
    neg_counts: np.ndarray
    n_pos: int
    n_neg: int
    breaks: dict[str, list[float]] = field(default_factory=dict)
    coded: Any = None
    cached: Any = None

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg

    def release(self) -> None:
        """Drop the item codes cached on the executors."""
        if self.cached is not None:
            self.cached.unpersist()

    def coverage(self, itemsets: np.ndarray) -> list[bytes]:
        """A digest of the customers holding each itemset, summed on the executors."""
        sums = _count(self.coded, itemsets, len(self.labels), digest=True)
        return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in sums]


@dataclass
class _Column:
    """How one item column becomes item codes on the executors."""

    name: str
    kind: str  # text, number (categories), flag_text, flag_number, bins
    values: list = field(default_factory=list)  # category values, or bin edges
    first: int = 0  # candidate code of the first item
    yes: int = -1
    no: int = -1

    @property
    def size(self) -> int:
        if self.kind in ("flag_text", "flag_number"):
            return 2
        return len(self.values) + (1 if self.kind == "bins" else 0)


def spark_counts(frame: Any, *, target: str, id: str, items: Sequence[str] | None, exclude: Sequence[str] | None,
                 long: bool, text: str | None, bins: int, breaks: dict[str, list[float]] | None, with_no: bool,
                 categorical: Sequence[str] | None, max_categories: int, min_count_of: Callable[[int], int],
                 max_len: int, negative: bool,
                 progress: Callable[[str, int, int | None], None] | None) -> tuple[SparkItems, Target, Family, int]:
    """Items, target, family and minimum count of a Spark snapshot (see module docstring)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from segment.rules._rules import no_items

    refused(long=long, text=text)
    if not engine.is_spark(frame):
        raise OptionError("--engine spark needs a Spark DataFrame (the command line reads one with --engine spark)")
    names = list(frame.columns)
    if id not in names:
        raise ColumnNotFoundError(id, names, role="id")
    column, _ = split_target(names, target)
    columns = item_columns(names, id, column, items, exclude)
    schema = engine.to_polars(frame.select(*[F.col(f"`{c}`") for c in dict.fromkeys([id, column, *columns])])
                              .limit(0)).schema
    key = F.col(f"`{id}`")
    n, nulls, distinct = frame.agg(F.count(F.lit(1)), F.count(F.when(key.isNull(), 1)), F.countDistinct(key)).first()
    if n == 0:
        raise DataError(f"the snapshot has no rows (columns: {', '.join(names)})")
    minc = min_count_of(n)
    _check_ids(frame, id, n, nulls, distinct)
    breaks = dict(breaks or {})
    categorical = list(dict.fromkeys(categorical or ()))
    if progress is not None:
        progress("counting items on Spark", 0, None)
    clean = _cleaned(frame, id, column, columns, schema).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        tgt = _target(clean, target, column)
        check_item_options(columns, breaks, categorical)  # after the target, as on polars
        specs, empty, codes_read = _specs(clean, n, columns, schema, minc, bins, breaks, with_no, categorical,
                                          max_categories)
        cached = _coded(clean, tgt, specs).persist(StorageLevel.MEMORY_AND_DISK)
        total_cands = sum(s.size for s in specs)
        # Every candidate item alone, and the empty itemset first: all customers, and those with the target.
        single = np.arange(-1, total_cands, dtype=np.int32)[:, None]
        counts = _count(cached, single, total_cands)  # fills the cache while the cleaned rows are still cached
    finally:
        clean.unpersist()
    try:
        n_pos = int(counts[0, 1])
        total, pos = counts[1:, 0], counts[1:, 1]
        kept = np.flatnonzero(total >= minc)
        labels, owners, empty_cols = _labels(specs, kept)
        if codes_read:
            warnings.warn(code_warning(codes_read, max_categories), SegmentWarning, stacklevel=3)
        warn_missing(empty, then="those customers get no item from it", stacklevel=3)
        warn_empty(empty_cols, bool(labels), stacklevel=3)
        no_items(labels, minc, n)
        remap = np.full(total_cands, -1, dtype=np.int32)
        remap[kept] = np.arange(kept.size, dtype=np.int32)
        result = SparkItems(labels, owners, pos[kept].astype(np.int64), (total - pos)[kept].astype(np.int64),
                            n_pos, n - n_pos, {s.name: list(s.values) for s in specs if s.kind == "bins"},
                            _remapped(cached, remap, specs), cached)
        family = _family(result, minc, max_len, negative, progress, f"mining rules -> {tgt.positive_label}")
    except BaseException:
        cached.unpersist()
        raise
    return result, tgt, family, minc


def _cleaned(frame: Any, id: str, column: str, columns: list[str], schema: pl.Schema) -> Any:
    """Per row: the target cleaned (``_y``), two hashes of the id, and per item column ``v<i>`` (the cleaned
    value: text, or a number) and for text ``n<i>`` (as a number), ``w<i>`` and ``k<i>`` (word and number
    classes)."""
    from pyspark.sql import functions as F

    out: dict[str, pl.DataType] = {"_y": _clean_type(schema[column]), "_h1": pl.Int64, "_h2": pl.Int64}
    for i, col in enumerate(columns):
        if is_text(schema[col]):
            out.update({f"v{i}": pl.String, f"n{i}": pl.Float64, f"w{i}": pl.Int8, f"k{i}": pl.Int8})
        else:
            out[f"v{i}"] = pl.Float64
    texts = {i for i, col in enumerate(columns) if is_text(schema[col])}

    def run(batch: pl.DataFrame) -> pl.DataFrame:
        made = {"_y": cleaned(batch["_y"]), "_h1": batch["_h1"], "_h2": batch["_h2"]}
        for i in range(len(columns)):
            value = cleaned(batch[f"c{i}"])
            if i in texts:
                made.update(_classes(value, i))
            elif not _usable(value.dtype):  # refused later, in the polars engine's order
                made[f"v{i}"] = pl.Series([None] * batch.height, dtype=pl.Float64)
            else:
                made[f"v{i}"] = value.cast(pl.Float64).fill_nan(None)
        return pl.DataFrame(made)

    key = F.col(f"`{id}`").cast("string")
    selected = frame.select(F.col(f"`{column}`").alias("_y"), F.xxhash64(key).alias("_h1"),
                            F.xxhash64(key, F.lit("segment-rules")).alias("_h2"),
                            *[F.col(f"`{c}`").alias(f"c{i}") for i, c in enumerate(columns)])
    return engine.map_polars(selected, run, out)


def _usable(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Boolean or is_text(dtype)


def _clean_type(dtype: pl.DataType) -> pl.DataType:
    if is_text(dtype):
        return pl.String
    return pl.Int64 if dtype == pl.UInt32 else dtype


def _classes(value: pl.Series, i: int) -> dict[str, pl.Series]:
    """A text column's value, number, word class and number class (see :func:`segment.rules._items._kind`)."""
    frame = value.rename("v").to_frame()
    word = pl.col("v").str.to_lowercase()
    parsed = number_from_text("v")
    out = frame.select(
        pl.col("v").alias(f"v{i}"),
        parsed.fill_nan(None).alias(f"n{i}"),
        pl.when(word.is_in(list(YES))).then(_YES).when(word.is_in(list(NO))).then(_NO)
        .when(word.str.contains(_NOT_APPLICABLE.pattern)).then(_NA).otherwise(_WORD).cast(pl.Int8).alias(f"w{i}"),
        pl.when(pl.col("v").is_null()).then(None)
        .when(missing_text("v").is_null() | parsed.is_nan()).then(_MARKER)
        .when(parsed.is_null() | parsed.is_infinite()).then(_OTHER)
        .otherwise(_NUMBER).cast(pl.Int8).alias(f"k{i}"),
    )
    return {name: out[name] for name in out.columns}


def _check_ids(frame: Any, id: str, n: int, nulls: int, distinct: int) -> None:
    """One row per customer, with the polars engine's messages (row numbers in input order)."""
    from pyspark.sql import functions as F

    if nulls:
        row = _rows(frame.select(F.col(f"`{id}`").isNull().alias("_bad")), 1)[0]
        raise DataError(f"column {id!r} is empty in row {row}; every customer needs an id")
    if distinct < n:
        dup = frame.groupBy(F.col(f"`{id}`").alias("_id")).count().where(F.col("count") > 1).select("_id")
        # A join loses row order: number the rows first.
        numbered = _numbered(frame.select(F.col(f"`{id}`").alias("_v")))
        hits = (numbered.join(dup, numbered["_v"] == dup["_id"], "inner").orderBy("_row").limit(2)
                .select("_v", "_row").collect())
        raise DataError(f"customer id {hits[0][0]!r} appears more than once (rows "
                        f"{hits[0][1]} and {hits[1][1]}); a snapshot needs one row per "
                        "customer (use --long for one row per customer and item)")


def _numbered(frame: Any) -> Any:
    """*frame* with ``_row``, the row number from 1 in input order (an error path: zipWithIndex is a pass)."""
    from pyspark.sql.types import LongType, StructField, StructType

    schema = StructType([*frame.schema.fields, StructField("_row", LongType())])
    return frame.sparkSession.createDataFrame(frame.rdd.zipWithIndex().map(lambda r: (*r[0], r[1] + 1)), schema)


def _rows(flags: Any, limit: int) -> list[int]:
    """Row numbers (from 1) where the one boolean column ``_bad`` holds."""
    from pyspark.sql import functions as F

    numbered = _numbered(flags)
    return [r[0] for r in numbered.where(F.col("_bad")).orderBy("_row").limit(limit).select("_row").collect()]


def _target(clean: Any, target: str, column: str) -> Target:
    """:func:`segment.rules._target.resolve_target` over the distinct target values (few, or an error)."""
    from pyspark.sql import functions as F

    # resolve_target reads the distinct values; a target column has few (two, or a handful of codes).
    values = engine.to_polars(clean.select("_y").distinct().limit(MAX_TARGET_VALUES + 2))
    if values["_y"].null_count():
        nulls = clean.where(F.col("_y").isNull()).count()
        row = _rows(clean.select(F.col("_y").isNull().alias("_bad")), 1)[0]
        raise DataError(f"target column {column!r} is empty in {nulls:,} rows, first in row {row}; "
                        "fill or drop those rows")
    if values.height > MAX_TARGET_VALUES:
        raise OptionError(f"target column {column!r} has more than {MAX_TARGET_VALUES:,} values; a target is a "
                          f"yes/no or a few codes: name another column with --target")
    return resolve_target(values.rename({"_y": column}), target)


def _specs(clean: Any, n: int, columns: list[str], schema: pl.Schema, minc: int, bins: int,
           breaks: dict[str, list[float]], with_no: bool, categorical: list[str],
           max_categories: int) -> tuple[list[_Column], dict[str, int], list[str]]:
    """How each column becomes items (the polars engine's :class:`segment.rules._items.Encoded`, from aggregates)."""
    from pyspark.sql import functions as F

    aggs = []
    for i, col in enumerate(columns):
        if not _usable(schema[col]):
            aggs += [F.lit(0), F.lit(None), F.lit(None), F.lit(0), F.lit(0)]
            continue
        v = F.col(f"v{i}")
        aggs += [F.count(v), F.min(v), F.max(v)]
        if is_text(schema[col]):
            w, k, num = F.col(f"w{i}"), F.col(f"k{i}"), F.col(f"n{i}")
            aggs += [F.count(F.when(w == _WORD, 1)), F.count(F.when(w.isin(_YES, _NO), 1)),
                     F.count(F.when(k == _OTHER, 1)), F.count(F.when(k == _NUMBER, 1)),
                     F.count(F.when(k == _MARKER, 1)), F.count(F.when(num != F.floor(num), 1))]
        else:
            aggs += [F.count(F.when(~v.isin(0.0, 1.0), 1)), F.count(F.when(v != F.floor(v), 1))]
    row = list(clean.agg(*aggs).first())
    kinds: list[tuple[str, str, bool]] = []  # kind, value column, whole numbers
    empty: dict[str, int] = {}
    for i, col in enumerate(columns):
        dtype = schema[col]
        if not _usable(dtype):
            raise ColumnTypeError(f"column {col!r} is {dtype}; items come from text, yes/no or number "
                                  f"columns: leave it out with --exclude {col}")
        count, low, high = row[:3]
        del row[:3]
        nulls = n - count
        if count == 0:
            raise DataError(f"column {col!r} is empty in every row; leave it out with --exclude {col}")
        if is_text(dtype):
            words, flags, other, numbers, markers, fractions = row[:6]
            del row[:6]
            if low == high:
                raise DataError(f"column {col!r} holds one value ({low!r}) in every row, so it cannot tell "
                                f"customers apart; leave it out with --exclude {col}")
            if words == 0 and flags > 0:
                kind = "flag"
            elif numbers == 0 or other > 0:
                kind = "category"
            else:
                kind = "number"
                nulls += markers
        else:
            not01, fractions = row[:2]
            del row[:2]
            if low == high:
                shown = value_text(bool(low)) if dtype == pl.Boolean else value_text(float(low))
                raise DataError(f"column {col!r} holds one value ({shown!r}) in every row, so it cannot tell "
                                f"customers apart; leave it out with --exclude {col}")
            kind = "flag" if dtype == pl.Boolean or not01 == 0 else "number"
        if nulls:
            empty[col] = nulls
        if col in breaks and kind != "number":
            holds = {"category": "categories", "flag": "yes/no values"}[kind]
            raise OptionError(f"--breaks names {col!r}, which holds {holds}, not numbers")
        value = f"n{i}" if is_text(dtype) and kind == "number" else f"v{i}"
        if col in categorical:
            kind = "category" if is_text(dtype) and kind != "number" else "code"
        kinds.append((kind, value, fractions == 0))
    # Whole-number columns of at most max_categories values are codes: their distinct values, counted at once.
    whole = [i for i, (kind, _, is_whole) in enumerate(kinds)
             if kind == "number" and is_whole and columns[i] not in breaks and max_categories > 0]
    codes_read: list[str] = []
    if whole:
        few = _distinct_counts(clean, [(i, kinds[i][1]) for i in whole])
        for i in whole:
            if few.get(i, 0) <= max_categories:
                kinds[i] = ("code", kinds[i][1], True)
                codes_read.append(columns[i])
    held = _held_values(clean, [(i, value, kind) for i, (kind, value, _) in enumerate(kinds)
                                if kind in ("category", "code")], minc)
    specs: list[_Column] = []
    first = 0
    for i, col in enumerate(columns):
        kind, value, _ = kinds[i]
        if kind in ("category", "code"):
            spec = _Column(col, "text" if kind == "category" else "number", held.get(i, []), first)
        elif kind == "flag":
            spec = _Column(col, "flag_text" if is_text(schema[col]) else "flag_number", [], first, yes=first,
                           no=first + 1 if with_no else -1)
        else:
            edges = breaks.get(col)
            if edges is None:
                edges = engine.tie_breaks(clean.select(F.col(value).alias("x")), "x", bins,
                                          exact_distinct=EXACT_DISTINCT)
            spec = _Column(col, "bins", [float(e) for e in edges], first)
        specs.append(spec)
        first += spec.size
    return specs, empty, codes_read


def _distinct_counts(clean: Any, columns: list[tuple[int, str]]) -> dict[int, int]:
    """Distinct values of each (index, number column), in one job (one row per column comes back)."""
    from pyspark.sql import functions as F

    pairs = clean.select(F.explode(F.array(*[F.struct(F.lit(i).alias("i"), F.col(c).cast("double").alias("d"))
                                               for i, c in columns])).alias("p")).select("p.i", "p.d")
    counted = pairs.where(F.col("d").isNotNull()).distinct().groupBy("i").count()
    return {int(r[0]): int(r[1]) for r in counted.collect()}


def _held_values(clean: Any, columns: list[tuple[int, str, str]], minc: int) -> dict[int, list]:
    """Per (index, value column, kind): its values held by at least *minc* customers, sorted, in one job.

    No more than n / minc values per column can be held so often: the table stays small.
    """
    from pyspark.sql import functions as F

    if not columns:
        return {}
    structs = [F.struct(F.lit(i).alias("i"),
                        (F.col(c) if kind == "category" else F.lit(None).cast("string")).alias("s"),
                        (F.col(c).cast("double") if kind == "code" else F.lit(None).cast("double")).alias("d"))
               for i, c, kind in columns]
    pairs = clean.select(F.explode(F.array(*structs)).alias("p")).select("p.i", "p.s", "p.d")
    counted = (pairs.where(F.col("s").isNotNull() | F.col("d").isNotNull()).groupBy("i", "s", "d").count()
               .where(F.col("count") >= minc).select("i", "s", "d"))
    out: dict[int, list] = {}
    for i, text, number in counted.collect():
        out.setdefault(int(i), []).append(text if text is not None else number)
    return {i: sorted(values) for i, values in out.items()}


def _labels(specs: list[_Column], kept: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    """Labels and source columns of the kept candidates, and the columns giving none (polars engine's order)."""
    keep = set(kept.tolist())
    labels: list[str] = []
    owners: list[str] = []
    empty: list[str] = []
    for spec in specs:
        if spec.kind in ("text", "number"):
            names = [f"{spec.name}={value_text(v)}" for v in spec.values]
        elif spec.kind in ("flag_text", "flag_number"):
            names = [f"{spec.name}=yes", f"{spec.name}=no"]
        else:
            names = [bin_label(spec.name, spec.values, b) for b in range(len(spec.values) + 1)] if spec.values else []
        held = [label for k, label in enumerate(names) if spec.first + k in keep]
        if not held:
            empty.append(spec.name)
        labels += held
        owners += [spec.name] * len(held)
    return labels, owners, empty


def _coded(clean: Any, tgt: Target, specs: list[_Column]) -> Any:
    """Per row: ``_t`` (has the target), the two id hashes, and ``c<i>``, the candidate item of column *i* or -1."""
    out: dict[str, pl.DataType] = {"_t": pl.Boolean, "_h1": pl.Int64, "_h2": pl.Int64,
                                   **{f"c{i}": pl.Int32 for i in range(len(specs))}}
    columns = list(clean.columns)
    positive = tgt.positive

    def run(batch: pl.DataFrame) -> pl.DataFrame:
        made = {"_t": (batch["_y"] == positive).fill_null(False), "_h1": batch["_h1"], "_h2": batch["_h2"]}
        for i, spec in enumerate(specs):
            made[f"c{i}"] = pl.Series(_codes(batch, columns, i, spec), dtype=pl.Int32)
        return pl.DataFrame(made)

    return engine.map_polars(clean, run, out)


def _codes(batch: pl.DataFrame, columns: list[str], i: int, spec: _Column) -> np.ndarray:
    """Candidate codes of column *i* for the rows of a batch (-1: no item)."""
    if spec.kind in ("text", "number") and not spec.values:
        return np.full(batch.height, -1)
    if spec.kind == "text":
        return batch[f"v{i}"].replace_strict(spec.values, list(range(spec.first, spec.first + len(spec.values))),
                                             default=-1, return_dtype=pl.Int32).to_numpy()
    if spec.kind == "flag_text":
        word = batch[f"w{i}"].fill_null(_WORD).to_numpy()
        return np.where(word == _YES, spec.yes, np.where(word == _NO, spec.no, -1))
    name = f"n{i}" if f"n{i}" in columns and spec.kind != "flag_number" else f"v{i}"
    numbers = batch[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if spec.kind == "flag_number":
        return np.where(numbers == 1, spec.yes, np.where(numbers == 0, spec.no, -1))
    values = np.asarray(spec.values, dtype=np.float64)
    if spec.kind == "number":
        at = np.minimum(np.searchsorted(values, numbers), values.size - 1)
        return np.where(values[at] == numbers, spec.first + at, -1)
    if not spec.values:
        return np.full(numbers.size, -1)
    scores = np.searchsorted(values, numbers, side="right")
    return np.where(np.isnan(numbers), -1, spec.first + scores)


def _remapped(coded: Any, remap: np.ndarray, specs: list[_Column]) -> Any:
    """Candidate codes to item indices (-1 for candidates under the minimum count), as one array column."""
    from pyspark.sql import functions as F

    lookup = F.array(*[F.lit(int(v)) for v in remap]) if remap.size else F.array()
    codes = [F.when(F.col(f"c{i}") >= 0, F.element_at(lookup, F.col(f"c{i}") + 1)).otherwise(F.lit(-1))
             for i in range(len(specs))]
    return coded.select("_t", "_h1", "_h2", *[c.alias(f"c{i}") for i, c in enumerate(codes)])


def _count(coded: Any, itemsets: np.ndarray, n_items: int, *, digest: bool = False) -> np.ndarray:
    """Per itemset (rows of item indices, padded with -1): customers holding it and those with the target.

    With *digest*: customers holding it and the sums of the 32-bit halves of both id hashes over them.
    Each partition counts its rows; Spark sums the partitions (one shuffle keyed by itemset).
    """
    from pyspark.sql import functions as F

    width = 5 if digest else 2
    if itemsets.shape[0] == 0:
        return np.zeros((0, width), dtype=np.int64)
    spark = coded.sparkSession
    shared = spark.sparkContext.broadcast(np.ascontiguousarray(itemsets, dtype=np.int32))
    code_columns = [c for c in coded.columns if c.startswith("c")]

    def run(batches: Iterable[Any]) -> Iterable[Any]:
        import pyarrow as pa

        from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

        sets = shared.value
        acc = np.zeros((sets.shape[0], width), dtype=np.int64)
        # One BLAS thread per Python worker: Spark runs a worker per core already.
        limits = threadpool_limits(1, user_api="blas")
        for batch in batches:
            if batch.num_rows == 0:
                continue
            codes = np.column_stack([batch.column(c).to_numpy(zero_copy_only=False) for c in code_columns]) \
                if code_columns else np.zeros((batch.num_rows, 0), dtype=np.int32)
            dense = np.zeros((batch.num_rows, n_items + 1), dtype=bool)
            dense[np.arange(batch.num_rows)[:, None], np.where(codes >= 0, codes, n_items)] = True
            if digest:
                hashes = np.column_stack([batch.column(h).to_numpy(zero_copy_only=False).view(np.uint64)
                                          for h in ("_h1", "_h2")])
                extra = np.column_stack([hashes & 0xFFFFFFFF, hashes >> 32]).astype(np.int64)
            else:
                extra = batch.column("_t").to_numpy(zero_copy_only=False).astype(np.int64)[:, None]
            _accumulate(dense, sets, extra, acc)
        limits.restore_original_limits()
        rows = np.flatnonzero(acc[:, 0] > 0)
        arrays = [pa.array(rows.astype(np.int64))] + [pa.array(acc[rows, j]) for j in range(width)]
        yield pa.RecordBatch.from_arrays(arrays, names=["_k", *[f"s{j}" for j in range(width)]])

    ddl = ", ".join(["_k bigint", *[f"s{j} bigint" for j in range(width)]])
    summed = coded.mapInArrow(run, ddl).groupBy("_k").agg(*[F.sum(f"s{j}").alias(f"s{j}") for j in range(width)])
    table = engine.to_polars(summed)
    shared.unpersist()
    out = np.zeros((itemsets.shape[0], width), dtype=np.int64)
    if table.height:
        out[table["_k"].to_numpy()] = table.select([f"s{j}" for j in range(width)]).to_numpy()
    return out


def _accumulate(dense: np.ndarray, sets: np.ndarray, extra: np.ndarray, acc: np.ndarray) -> None:
    """Add one batch's counts: column 0 the rows holding each itemset, the others *extra* summed over them.

    Itemsets sharing all but their last two items are counted together: over the rows holding that prefix,
    the product ``S.T @ S`` of the 0/1 matrix S of their last items counts every pair (the polars engine's
    last-levels trick, see :mod:`segment.rules._mining`), and ``(S * w).T @ S`` sums a weight *w* over them.
    Float64 products are exact here: blocks of at most 2**20 rows of weights below 2**32 stay under 2**53.
    """
    lengths = (sets >= 0).sum(axis=1)
    for length in np.unique(lengths).tolist():
        at = np.flatnonzero(lengths == length)
        if length == 0:
            acc[at, 0] += dense.shape[0]
            acc[at, 1:] += extra.sum(axis=0)
            continue
        if length == 1:
            block = dense[:, sets[at, 0]]
            acc[at, 0] += block.sum(axis=0)
            acc[at, 1:] += block.T.astype(np.int64) @ extra
            continue
        if length == 2:
            heads, group = np.zeros((1, 0), dtype=sets.dtype), np.zeros(at.size, dtype=np.int64)
        else:
            heads, group = np.unique(sets[at, :length - 2], axis=0, return_inverse=True)
        group = group.ravel()
        for g, head in enumerate(heads):
            members = at[group == g]
            rows = np.flatnonzero(dense[:, head].all(axis=1)) if head.size else np.arange(dense.shape[0])
            a, b = sets[members, length - 2], sets[members, length - 1]
            cols, where = np.unique(np.concatenate([a, b]), return_inverse=True)
            ia, ib = where[:a.size], where[a.size:]
            for start in range(0, rows.size, 1 << 20):
                part = rows[start:start + (1 << 20)]
                block = dense[np.ix_(part, cols)].astype(np.float64)
                acc[members, 0] += np.rint((block.T @ block)[ia, ib]).astype(np.int64)
                for j in range(extra.shape[1]):
                    weighted = block * extra[part, j:j + 1].astype(np.float64)
                    acc[members, 1 + j] += np.rint((weighted.T @ block)[ia, ib]).astype(np.int64)


def _candidates(frequent: list[tuple[int, ...]], length: int) -> np.ndarray:
    """Sets of *length* items all of whose subsets one item shorter are *frequent* (Apriori's join and prune)."""
    known = set(frequent)
    by_prefix: dict[tuple[int, ...], list[int]] = {}
    for s in sorted(frequent):
        by_prefix.setdefault(s[:-1], []).append(s[-1])
    out = []
    for prefix, lasts in by_prefix.items():
        for a_at, a in enumerate(lasts):
            for b in lasts[a_at + 1:]:
                cand = (*prefix, a, b)
                if all(cand[:k] + cand[k + 1:] in known for k in range(length - 2)):
                    out.append(cand)
    return np.array(out, dtype=np.int32).reshape(-1, length)


def _family(items: SparkItems, minc: int, max_len: int, negative: bool,
            progress: Callable[[str, int, int | None], None] | None, task: str) -> Family:
    """The fixed family, level by level, and the rules of each consequent in it."""
    n_items = len(items.labels)
    total = (items.pos_counts + items.neg_counts).astype(np.int64)
    frequent = np.flatnonzero(total >= minc)
    levels = [(frequent[:, None].astype(np.int32), total[frequent], items.pos_counts[frequent].astype(np.int64))]
    for length in range(2, max_len + 1):
        if progress is not None:
            progress(task, length - 1, max_len)
        cands = _candidates([tuple(s) for s in levels[-1][0].tolist()], length)
        if cands.shape[0] == 0:
            break
        counts = _count(items.coded, cands, n_items)
        ok = counts[:, 0] >= minc
        levels.append((cands[ok], counts[ok, 0], counts[ok, 1]))
    if progress is not None:
        progress(task, max_len, max_len)
    by_length = [int(level[0].shape[0]) for level in levels] + [0] * (max_len - len(levels))
    found = []
    for side in (0, 1) if negative else (0,):
        sets: list[tuple[int, ...]] = []
        n_rule: list[int] = []
        n_x: list[int] = []
        for level_sets, level_total, level_pos in levels:
            c = level_pos if side == 0 else level_total - level_pos
            ok = np.flatnonzero(c >= minc)
            sets += [tuple(s) for s in level_sets[ok].tolist()]
            n_rule += c[ok].tolist()
            n_x += level_total[ok].tolist()
        found.append(_sorted(Found(_padded(sets, max_len), np.asarray(n_rule, dtype=np.int64),
                                   np.asarray(n_x, dtype=np.int64))))
    return Family(int(sum(by_length)), by_length, found)
