"""``lifecycle`` on Spark: the polars stage rules run on each partition of customers.

Every stage rule looks along one customer's months (windows, runs of silent
months, win-backs), and the exit subtypes along one person's lines
(re-entries, number swaps). So the panel is repartitioned by the hash of
the customer key (of the person key, ``identity``, when given: a person's
lines then meet in one partition) and each partition runs the polars code
itself (:func:`~segment.lifecycle._panel.lay_out`,
:func:`~segment.lifecycle._rules.assign`) through
:func:`segment.spark.map_partitions`. No window crosses partitions, and
every edge rule is the polars rule by construction.

The rules read two panel-wide values, the first and the last month (the
``as_of``); they are computed once (an aggregation) and passed to every
partition, so that a partition's run equals the whole panel's on its
customers. Nothing else is global in the default (telecom) scheme; the
purchases scheme (the population's median gap) and the B2B scheme are not
on this engine yet.

Steps and what comes back to the driver:

1. The columns are coded (integer months, status codes) batch by batch by
   the polars expressions (:func:`~segment.lifecycle._panel.code_exprs`).
2. Checks, as aggregations: one row of counts (nulls, bad months,
   negative usage, unknown statuses, first and last month), then per
   customer-month and per customer (repeated months, one identity and one
   activation month per customer, usage before activation, stock
   customers). One row each.
3. One repartition by key; per partition, the snapshot or history rows
   (written by Spark), or the additive KPI sums per month and stage
   (:func:`~segment.lifecycle._markov.kpi_counts`) and transition counts,
   which Spark sums (months x stages rows) and the driver finishes with the
   polars code.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment import spark as engine
from segment.errors import ColumnTypeError, DataError, EmptyInputError, OptionError
from segment.lifecycle._markov import _MONTHLY, KPI_COUNTS, Chain, chain, kpi_counts, kpi_finish, projection_table
from segment.lifecycle._markov import transition_table
from segment.lifecycle._panel import (_A, _ID, _M, _S, bad_value, check_columns, code_exprs, last_month, lay_out,
                                      month_label, warn_left_out)
from segment.lifecycle._lifecycle import Lifecycle, at_month, check_two_months, sort_counts, warn_limits, warn_stock
from segment.lifecycle._rules import STAGES, Rules, assign

_BAD_MONTH, _BAD_STATUS, _ACTIVE = "__bad_month__", "__bad_status__", "__active__"
_I, _N = "i", "n"
#: Customer-months per partition of the stage rules (each is one polars grid in one Python worker).
ROWS_PER_PARTITION = 500_000


def lifecycle_spark(frame: Any, *, id: str, month: str, roles: dict[str, str], status: str | None,
                    status_values: dict[str, list[str]] | None, identity: str | None, activation: str | None,
                    date_format: str | None, as_of: Any, dedupe: str, rules: Rules) -> SparkLifecycle:
    """:func:`segment.lifecycle.lifecycle` on a Spark DataFrame (telecom scheme); see the module docstring."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if rules.scheme != "telecom":
        raise OptionError(f"--scheme {rules.scheme} is not available with --engine spark yet; "
                          "use --engine polars for it")
    check_columns(frame, id=id, month=month, metrics=roles, status=status, identity=identity,
                  activation=activation, dedupe=dedupe)
    columns = list(dict.fromkeys([id, month, *roles, *(c for c in (status, identity, activation) if c)]))
    frame = frame.select(*columns)
    schema = engine.to_polars(frame.limit(0)).schema
    for col, role in roles.items():
        if not (schema[col].is_numeric() or schema[col] == pl.Boolean or schema[col] == pl.String):
            raise ColumnTypeError(f"column {col!r} must be numeric, but it is {schema[col]}")

    def code(batch: pl.DataFrame) -> pl.DataFrame:
        from segment.columns import require_numeric

        lf = batch.lazy()
        for col, role in roles.items():
            lf = require_numeric(lf, col, option=f"--{role}" if role in ("voice", "data", "revenue") else "--metric")
        lf, exprs = code_exprs(lf, id=id, month=month, metrics=list(roles), status=status,
                               status_values=status_values, identity=identity, activation=activation,
                               date_format=date_format)
        raw = lf.collect()
        out = raw.select(exprs)
        # The raw text of what did not code, for the messages.
        extra = [pl.when(out[_M].is_null()).then(raw[month].cast(pl.String)).alias(_BAD_MONTH)]
        if status:
            extra.append(pl.when(out[_S].is_null()).then(raw[status].cast(pl.String)).alias(_BAD_STATUS))
        active = pl.lit(False)
        for col in roles:
            active = active | (pl.col(col) > 0)
        return out.with_columns(*extra, active.fill_null(False).alias(_ACTIVE))

    # Types from an empty batch: the month and activation columns fail here, before any job, as with polars.
    coded_schema = code(pl.DataFrame(schema=schema)).schema
    coded = engine.map_polars(frame, code, dict(coded_schema)).persist(StorageLevel.MEMORY_AND_DISK)
    stats, lo, end = _checked(coded, id=id, month=month, roles=roles, status=status, identity=identity,
                              as_of=as_of)
    panel = coded.where(F.col(_M) <= end) if end < stats.pop("_hi") else coded
    stats = {**_per_customer(panel, id=id, identity=identity, activation=activation, dedupe=dedupe, lo=lo, end=end,
                             has_activation=activation is not None), **stats}  # the polars engine's order
    keep = [id, _M, *roles, *([_S] if status else []), *([_ID] if identity else []), *([_A] if activation else [])]
    # Enough partitions to keep every core busy, and each partition's grid to a few hundred MB.
    n_parts = max(frame.sparkSession.sparkContext.defaultParallelism, -(-stats["slots"] // ROWS_PER_PARTITION))
    parts = panel.select(*keep).repartition(n_parts, _ID if identity else id)
    layout = dict(id=id, metrics=list(roles), first_month=lo, as_of=end, status=status, identity=identity,
                  activation=activation)
    # One row, without the shuffle: the output types are those of the polars tables of one customer.
    head = engine.to_polars(panel.select(*keep).limit(1))
    run = _Run(id=id, metrics=roles, rules=rules, layout=layout)
    return SparkLifecycle(parts=parts, head=head, run=run, id=id, metrics=roles, rules=rules, stats=stats,
                          first_month=lo, as_of_month=end, status=status is not None, identity=identity is not None,
                          activation=activation is not None, labels=run(head).stages.labels)


@dataclass(frozen=True)
class _Run:
    """The polars :class:`~segment.lifecycle.Lifecycle` of one partition's rows, with the panel-wide months.

    Plain data only: Spark ships it to the executors.
    """

    id: str
    metrics: dict[str, str]
    rules: Rules
    layout: dict[str, Any]

    def __call__(self, part: pl.DataFrame) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said once, on the driver
            grid = lay_out(part, dedupe="sum", **self.layout)
            st = assign(grid, self.metrics, self.rules)
        return Lifecycle(grid=grid, stages=st, id=self.id, metrics=self.metrics, rules=self.rules,
                         stats=dict(grid.stats), _warned=True)


def _checked(coded: Any, *, id: str, month: str, roles: dict[str, str], status: str | None, identity: str | None,
             as_of: Any) -> tuple[dict[str, int], int, int]:
    """The polars engine's row checks and ``as_of`` rules, from one row of counts (no row numbers: Spark
    rows have no order)."""
    from pyspark.sql import functions as F

    from segment.columns import warn_missing

    def count(cond: Any) -> Any:
        return F.count(F.when(cond, 1))

    aggs = [F.count(F.lit(1)).alias("rows"), F.min(_M).alias("lo"), F.max(_M).alias("hi"),
            count(F.col(id).isNull()).alias("null_id"), count(F.col(_M).isNull()).alias("bad_month"),
            F.first(_BAD_MONTH, ignorenulls=True).alias("month_value")]
    if identity:
        aggs.append(count(F.col(_ID).isNull()).alias("null_identity"))
    for i, col in enumerate(roles):
        x = F.col(col)
        bad = F.isnan(x) | (F.abs(x) == float("inf"))
        aggs += [count(x.isNull()).alias(f"null{i}"), count(bad).alias(f"nan{i}"),
                 F.first(F.when(bad, x), ignorenulls=True).alias(f"nan_value{i}"),
                 count(x < 0).alias(f"neg{i}"), F.min(F.when(x < 0, x)).alias(f"neg_value{i}")]
    if status:
        aggs += [count(F.col(_S).isNull()).alias("bad_status"),
                 F.first(_BAD_STATUS, ignorenulls=True).alias("status_value")]
    row = coded.agg(*aggs).first().asDict()
    warn_missing({col: row[f"null{i}"] for i, col in enumerate(roles)}, stacklevel=4)
    checks = [(id, "null_id", None, "null")]
    if identity:
        checks.append((identity, "null_identity", None, "null"))
    checks.append((month, "bad_month", "month_value", "month"))
    for i, col in enumerate(roles):
        checks += [(col, f"null{i}", None, "null"), (col, f"nan{i}", f"nan_value{i}", "finite"),
                   (col, f"neg{i}", f"neg_value{i}", "negative")]
    if status:
        checks.append((status, "bad_status", "status_value", "status"))
    for col, key, value_key, kind in checks:
        n = row[key]
        if not n:
            continue
        raise bad_value(col, kind, row[value_key] if value_key else None, n)
    if not row["rows"]:
        raise EmptyInputError("the panel has no rows")
    lo, hi = int(row["lo"]), int(row["hi"])
    cut, end = last_month(lo, hi, as_of)
    later = 0
    if cut is not None and hi > cut:
        later = int(coded.where(F.col(_M) > cut).count())
        warn_left_out(later, cut)
        if later == row["rows"]:
            raise EmptyInputError(f"no rows up to --as-of {month_label(end)}")
    return {"rows": int(row["rows"]), "after_as_of": later, "_hi": hi}, lo, end


def _per_customer(panel: Any, *, id: str, identity: str | None, activation: str | None, dedupe: str, lo: int,
                  end: int, has_activation: bool) -> dict[str, int]:
    """Repeated months, one identity and activation per customer, usage before activation; grid counts.

    Two aggregations (per customer-month, then per customer) and one row
    back; the first offender in id order, as the polars engine names it.
    """
    from pyspark.sql import functions as F

    per_month = panel.groupBy(id, _M).agg(
        F.count(F.lit(1)).alias("_rows"), F.max(_ACTIVE).alias("_used"),
        *([F.min(_ID).alias("_id_lo"), F.max(_ID).alias("_id_hi")] if identity else []),
        *([F.min(_A).alias("_a_lo"), F.max(_A).alias("_a_hi"), F.count(F.when(F.col(_A).isNull(), 1)).alias("_a_null")]
          if activation else []))
    dup = F.min(F.when(F.col("_rows") > 1, F.struct(F.col(id).alias("k"), F.col(_M).alias("m"))))
    per_customer = per_month.groupBy(id).agg(
        F.min(_M).alias("_first"), F.count(F.lit(1)).alias("_months"), dup.alias("_dup"),
        F.min(F.when(F.col("_used"), F.col(_M))).alias("_first_active"),
        *([F.min("_id_lo").alias("_id_lo"), F.max("_id_hi").alias("_id_hi")] if identity else []),
        *([F.min("_a_lo").alias("_a_lo"), F.max("_a_hi").alias("_a_hi"), F.sum("_a_null").alias("_a_null"),
           F.count("_a_lo").alias("_a_known")] if activation else []))
    key = F.col(id).alias("k")
    aggs = [F.count(F.lit(1)).alias("customers"), F.sum(F.lit(end + 1) - F.col("_first")).alias("slots"),
            F.sum("_months").alias("kept"), F.min("_dup").alias("dup"),
            F.count(F.when(F.col("_first_active") == lo, 1)).alias("stock")]
    if identity:
        two = F.col("_id_lo") != F.col("_id_hi")
        aggs.append(F.min(F.when(two, F.struct(key, F.col("_id_lo").alias("a"), F.col("_id_hi").alias("b"))))
                    .alias("two_identities"))
    if activation:
        # A customer whose rows give a month and leave it empty in others has two (polars compares rows).
        two = (F.col("_a_lo") != F.col("_a_hi")) | ((F.col("_a_null") > 0) & (F.col("_a_known") > 0))
        aggs.append(F.min(F.when(two, F.struct(key, F.col("_a_lo").alias("a"), F.col("_a_hi").alias("b"))))
                    .alias("two_activations"))
        early = F.col("_first_active").isNotNull() & F.col("_a_lo").isNotNull() & (F.col("_first_active")
                                                                                     < F.col("_a_lo"))
        aggs += [F.count(F.when(early, 1)).alias("early"),
                 F.min(F.when(early, F.struct(key, F.col("_first_active").alias("a"), F.col("_a_lo").alias("b"))))
                 .alias("first_early")]
    row = per_customer.agg(*aggs).first().asDict()
    if row["dup"] is not None and dedupe == "error":
        raise DataError(f"customer {row['dup']['k']!r} has more than one row for {month_label(row['dup']['m'])}; "
                        "pass --dedupe sum to add such rows up")
    if identity and row["two_identities"] is not None:
        k, a, b = row["two_identities"]
        raise DataError(f"customer {k!r} has more than one identity in column {identity!r} ({a!r} and {b!r}); "
                        "each customer must keep one identity")
    if activation and row["two_activations"] is not None:
        k, a, b = row["two_activations"]
        a, b = (month_label(v) if v is not None else None for v in (a, b))
        raise DataError(f"customer {k!r} has more than one activation month in column {activation!r} "
                        f"({a!r} and {b!r}); each customer must keep one activation month")
    if activation and row["early"]:
        k, a, b = row["first_early"]
        raise DataError(f"customer {k!r} has usage in {month_label(a)}, before its activation month "
                        f"{month_label(b)} ({row['early']:,} customers like this); "
                        "fix the activation column or leave --activation out")
    customers = int(row["customers"])
    if not has_activation and end != lo:
        warn_stock(int(row["stock"]), customers, lo)
    return {"customers": customers, "slots": int(row["slots"]), "gap_slots": int(row["slots"]) - int(row["kept"])}


@dataclass
class SparkLifecycle:
    """What :func:`lifecycle_spark` returns: :class:`~segment.lifecycle.Lifecycle`'s tables, per-customer ones as
    Spark DataFrames (computed when asked for), the others as polars tables.

    The snapshot and full history frames are persisted (memory, then
    disk) once computed, so that writing them and counting their stages
    run the rules once.
    """

    parts: Any
    head: pl.DataFrame
    run: _Run
    id: str
    metrics: dict[str, str]
    rules: Rules
    stats: dict[str, int]
    first_month: int
    as_of_month: int
    status: bool
    identity: bool
    activation: bool
    labels: tuple[str | None, ...] = ()
    cost: str | None = None
    amounts: dict[str, str] = field(default_factory=dict)
    _rows: dict[str, Any] = field(default_factory=dict, repr=False)
    _chain: Chain | None = field(default=None, repr=False)
    _warned: bool = field(default=False, repr=False)

    names = STAGES

    def params(self) -> dict[str, Any]:
        return {"as_of": month_label(self.as_of_month), "first_month": month_label(self.first_month),
                "rules": self.rules.as_dict(), "metrics": self.metrics, "stages": list(self.names)}

    def _map(self, table: Callable[[Any], pl.DataFrame]) -> Any:
        """*table* of each partition's Lifecycle, as one Spark DataFrame (types from the first customer)."""
        run = self.run

        def function(part: pl.DataFrame) -> pl.DataFrame:
            return table(run(part))

        schema = function(self.head).schema
        return engine.map_partitions(self.parts, function, dict(schema))

    def _persisted(self, key: str, table: Callable[[Any], pl.DataFrame]) -> Any:
        from pyspark import StorageLevel

        if key not in self._rows:
            self._rows[key] = self._map(table).persist(StorageLevel.MEMORY_AND_DISK)
        return self._rows[key]

    def snapshot(self) -> Any:
        """One row per customer as of the last month (a Spark DataFrame, in no particular order)."""
        self._warn_limits()
        return self._persisted("snapshot", lambda lc: lc.snapshot())

    def history(self, month: Any = None) -> Any:
        """One row per customer-month (or per customer in *month*), as :meth:`Lifecycle.history`."""
        self._warn_limits()
        if month is None:
            return self._persisted("history", lambda lc: lc.history())
        at_month(month, self.first_month, self.as_of_month)
        return self._map(lambda lc: lc.history(month))

    def counts(self) -> pl.DataFrame:
        """Customers per stage and subtype in the last month, from the persisted rows (Spark group-by)."""
        from pyspark.sql import functions as F

        if "snapshot" in self._rows or "history" not in self._rows:
            rows = self.snapshot()
        else:
            rows = self._rows["history"].where(F.col("month") == F.lit(month_label(self.as_of_month) + "-01")
                                               .cast("date"))
        got = engine.to_polars(rows.where(F.col("stage").isNotNull()).groupBy("stage", "subtype")
                               .agg(F.count(F.lit(1)).alias("customers")))
        subtypes = pl.Enum([x for x in self.labels if x is not None])
        return sort_counts(got.select(pl.col("stage").cast(pl.Enum(self.names)), pl.col("subtype").cast(subtypes),
                                      pl.col("customers").cast(pl.UInt32)))

    def kpis(self) -> pl.DataFrame:
        """Per month and stage, as :meth:`Lifecycle.kpis`: each partition's sums, summed by Spark."""
        from pyspark.sql import functions as F

        revenue = next((c for c, r in self.metrics.items() if r == "revenue"), None)
        acquisition = self.rules.acquisition
        columns = (*KPI_COUNTS, *_MONTHLY)

        def sums(lc: Any) -> pl.DataFrame:
            counts = kpi_counts(lc.grid, lc.stages, revenue, acquisition)
            size = len(counts["customers"])
            monthly = {}
            for name in _MONTHLY:  # per month: on the month's first cell
                spread = np.zeros(size)
                spread[:: len(STAGES)] = counts[name]
                monthly[name] = spread
            return pl.DataFrame({_I: np.arange(size), **{c: np.asarray({**counts, **monthly}[c], dtype=np.float64)
                                                         for c in columns}})

        summed = engine.to_polars(self._map(sums).groupBy(_I).agg(*(F.sum(c).alias(c) for c in columns)))
        months = self.as_of_month - self.first_month + 1
        dense = pl.DataFrame({_I: np.arange(months * len(STAGES))}).join(summed, on=_I, how="left").fill_null(0)
        counts = {c: dense[c].to_numpy() for c in columns}
        for name in _MONTHLY:
            counts[name] = counts[name][:: len(STAGES)].astype(np.int64)
        return kpi_finish(counts, names=self.names, exit_code=STAGES.index("exit"),
                          new_code=STAGES.index("acquisition"), first_month=self.first_month, months=months,
                          has_identity=self.identity, reentry=self.identity, with_activation=self.activation,
                          revenue=revenue is not None)

    def stage_totals(self) -> pl.DataFrame:
        return Lifecycle.stage_totals(self)  # type: ignore[arg-type]

    def chain(self) -> Chain:
        """Transition counts and current stage counts: each partition's, summed by Spark."""
        from pyspark.sql import functions as F

        check_two_months(self.first_month, self.as_of_month)
        if self._chain is not None:
            return self._chain
        k = len(self.names)

        def counts(lc: Any) -> pl.DataFrame:
            ch = chain(lc.grid, lc.stages)
            moves = np.concatenate([ch.counts.reshape(-1), ch.current.astype(np.int64)])
            return pl.DataFrame({_I: np.arange(moves.size), _N: moves.astype(np.int64)})

        summed = engine.to_polars(self._map(counts).groupBy(_I).agg(F.sum(_N).alias(_N)))
        dense = np.zeros(k * k + k, dtype=np.int64)
        dense[summed[_I].to_numpy()] = summed[_N].to_numpy()
        self._chain = Chain(counts=dense[: k * k].reshape(k, k), current=dense[k * k:].astype(np.float64),
                            names=self.names)
        return self._chain

    def transitions(self) -> pl.DataFrame:
        return transition_table(self.chain())

    def projection(self, months: int) -> pl.DataFrame:
        if months < 1:
            raise OptionError(f"--project must be at least 1 month, got {months}")
        return projection_table(self.chain(), months, self.as_of_month)

    def _warn_limits(self) -> None:
        if not self._warned:
            self._warned = True
            warn_limits(self.first_month, self.as_of_month, self.rules, self.status)


