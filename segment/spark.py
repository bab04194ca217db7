"""The Spark engine, shared by the commands that run on it (``--engine spark``).

polars on one machine stays the default engine. With Spark, the heavy steps
(per-customer aggregation, counts per segment and value) run on the cluster
and only small tables (breakpoints, counts, merge maps, verdicts) come back
to the driver; everything computed from those small tables is the same code
as with polars. Row-wise steps run the same polars expressions on the
executors, batch by batch, through :func:`map_polars` (``mapInArrow``).

pyspark is imported inside the functions that need it, so that
``import segment`` and ``segment --help`` stay fast.

Output
------
Per-customer results are written by Spark as a Parquet directory
(:func:`write_dataset`). On a local or mounted filesystem the job writes to
a temporary sibling and renames it into place, so a failed job leaves no
target; on object stores and HDFS URIs it writes in place and relies on
Spark's ``_SUCCESS`` marker (written last). The provenance record goes in a
sidecar ``_segment.json`` in the directory; ``segment info`` reads it and
refuses a directory without ``_SUCCESS`` (:func:`dataset_provenance`).

Examples
--------
>>> is_spark(object()), MASTER_ENV
(False, 'SEGMENT_SPARK_MASTER')
>>> spark_type(pl.Int8), spark_type(pl.String), spark_type(pl.Date)
('tinyint', 'string', 'date')
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import uuid
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import polars as pl

from segment.errors import ColumnNotFoundError, EngineError, InputError, OutputError, SegmentError

#: Environment variable giving the default ``--spark-master``.
MASTER_ENV = "SEGMENT_SPARK_MASTER"
#: Column of a counted table: how many rows each row stands for.
COUNT = "_n"
SUCCESS = "_SUCCESS"
SIDECAR = "_segment.json"
#: Settings every session gets unless the user sets them: dates are calendar days, so no time zone shifts them.
DEFAULT_CONF = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}

_TYPES = {pl.Int8: "tinyint", pl.Int16: "smallint", pl.Int32: "int", pl.Int64: "bigint", pl.UInt8: "smallint",
          pl.UInt16: "int", pl.UInt32: "bigint", pl.Float32: "float", pl.Float64: "double", pl.String: "string",
          pl.Boolean: "boolean", pl.Date: "date"}


def is_spark(frame: object) -> bool:
    """True for a PySpark DataFrame (without importing pyspark)."""
    return type(frame).__module__.startswith("pyspark.sql")


def default_master() -> str | None:
    """``$SEGMENT_SPARK_MASTER``, else the master ``spark-submit`` was given (None: keep it), else ``local[*]``."""
    if os.environ.get(MASTER_ENV):
        return os.environ[MASTER_ENV]
    return None if submitted() else "local[*]"


def submitted() -> bool:
    """True when ``spark-submit`` started this process: its JVM is up, with its master and settings."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def session(master: str | None = None, conf: Iterable[tuple[str, str]] = ()) -> Any:
    """A SparkSession on *master* with *conf*, or one line saying why there is none.

    Raises :class:`EngineError` when pyspark or a Java runtime is missing or
    the master cannot be reached, before Spark starts retrying.
    """
    master = master or default_master()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError("--engine spark needs pyspark: pip install 'segment[spark]'") from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        raise EngineError("--engine spark needs a Java runtime (17 or later): no java on PATH and JAVA_HOME is "
                          "not set; install one (e.g. openjdk-17-jre-headless) or set JAVA_HOME")
    if master is not None:
        _check_reachable(master)
    if master is not None and master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        # Local workers run this interpreter (its polars); a cluster's come from its own settings.
        os.environ["PYSPARK_PYTHON"] = sys.executable
    # PySpark warns that it does not fully support pandas 3 (the project's pin); no pandas path is used here.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = SparkSession.builder.appName("segment")
    if master is not None:  # None: spark-submit's --master stands
        builder = builder.master(master)
    for key, value in {**DEFAULT_CONF, **dict(conf)}.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j / pyspark raise many kinds; none is the user's data
        raise EngineError(f"cannot start Spark on master {master or 'given to spark-submit'!r}: "
                          f"{_first_line(exc)}") from None


def _check_reachable(master: str) -> None:
    """A standalone master (``spark://host:port``) that does not answer fails in seconds, not minutes."""
    if not master.startswith("spark://"):
        return
    for address in master[len("spark://"):].split(","):
        host, _, port = address.partition(":")
        try:
            socket.create_connection((host, int(port or 7077)), timeout=5).close()
            return
        except (OSError, ValueError):
            continue
    raise EngineError(f"cannot reach Spark master {master!r}: nothing answers there; check --spark-master "
                      f"or ${MASTER_ENV}")


def parse_conf(items: Iterable[str]) -> list[tuple[str, str]]:
    """``key=value`` texts (``--spark-conf``) as pairs.

    >>> parse_conf(["spark.executor.memory=4g"])
    [('spark.executor.memory', '4g')]
    """
    out = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise SegmentError(f"--spark-conf takes key=value, e.g. spark.executor.memory=4g; got {item!r}")
        out.append((key.strip(), value.strip()))
    return out


def read(spark: Any, path: str | None = None, *, table: str | None = None) -> Any:
    """A Spark DataFrame from a Parquet (or .csv / .json) path or URI, or a catalog *table*."""
    from pyspark.errors import AnalysisException

    try:
        if table:
            return spark.table(table)
        if path is None or path == "-":
            raise InputError("--engine spark reads a path or URI (or --spark-table), not stdin")
        suffix = Path(urlparse(path).path.rstrip("/")).suffix.lower()
        if suffix == ".csv":
            return spark.read.csv(path, header=True, inferSchema=True)
        if suffix in (".json", ".ndjson", ".jsonl"):
            return spark.read.json(path)
        return spark.read.parquet(path)
    except AnalysisException as exc:
        what = f"--spark-table {table!r}" if table else repr(path)
        raise InputError(f"cannot read {what}: {_first_line(exc)}") from None


def spark_type(dtype: pl.DataType) -> str:
    """The Spark SQL type a polars column becomes (unsigned integers widen: Spark has none)."""
    for key, name in _TYPES.items():
        if dtype == key:
            return name
    raise TypeError(f"no Spark type for {dtype}")


def map_polars(frame: Any, function: Callable[[pl.DataFrame], pl.DataFrame], schema: dict[str, pl.DataType]) -> Any:
    """Apply a polars function to each batch of a Spark DataFrame on the executors (``mapInArrow``).

    *function* must be row-wise (each output row depends on its input row
    only) and return the columns of *schema*; so the same polars
    expressions define a step on both engines.
    """
    ddl, emit = _output(schema)

    def run(batches: Iterable[Any]) -> Iterable[Any]:
        for batch in batches:
            yield from emit(function(pl.from_arrow(batch)))

    return frame.mapInArrow(run, ddl)


def map_partitions(frame: Any, function: Callable[[pl.DataFrame], pl.DataFrame],
                   schema: dict[str, pl.DataType]) -> Any:
    """Apply a polars function to each whole partition of a Spark DataFrame on the executors.

    As :func:`map_polars`, but *function* sees all the rows of a partition
    at once (the batches ``mapInArrow`` hands over, gathered), so it may
    relate rows to each other: after ``repartition(key)`` every row of a
    key is in one call. An empty partition gives no rows. Enum and
    Categorical columns become text.
    """
    ddl, emit = _output({name: _plain_type(dtype) for name, dtype in schema.items()})

    def run(batches: Iterable[Any]) -> Iterable[Any]:
        import pyarrow as pa

        gathered = list(batches)
        if not gathered or sum(b.num_rows for b in gathered) == 0:
            return
        part = pl.from_arrow(pa.Table.from_batches(gathered))
        del gathered
        yield from emit(function(part))

    return frame.mapInArrow(run, ddl)


def _plain_type(dtype: pl.DataType) -> pl.DataType:
    return pl.String if isinstance(dtype, pl.Enum) or dtype == pl.Categorical else dtype


def _output(schema: dict[str, pl.DataType]) -> tuple[str, Callable[[pl.DataFrame], Iterable[Any]]]:
    """The Spark DDL of *schema*, and how a polars result becomes Arrow batches of it (UInt32 widened)."""
    ddl = ", ".join(f"`{name}` {spark_type(dtype)}" for name, dtype in schema.items())
    casts = [pl.col(name).cast(pl.Int64 if dtype == pl.UInt32 else dtype) for name, dtype in schema.items()]

    def emit(out: pl.DataFrame) -> Iterable[Any]:
        return out.select(casts).to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches()

    return ddl, emit


def to_polars(frame: Any) -> pl.DataFrame:
    """Collect a (small) Spark DataFrame to the driver through Arrow."""
    return pl.from_arrow(frame.toArrow())


def _is_local(path: str) -> bool:
    return urlparse(path).scheme in ("", "file") or (len(urlparse(path).scheme) == 1)  # C:\ on Windows


def _local(path: str) -> Path:
    parsed = urlparse(path)
    return Path(parsed.path if parsed.scheme == "file" else path)


def check_dataset_target(path: str, inputs: Iterable[str] = ()) -> None:
    """Refuse an output directory that would land nowhere or overwrite something that is not ours."""
    if not _is_local(path):
        return
    target = _local(path)
    if not target.parent.is_dir():
        raise OutputError(f"output folder {str(target.parent)!r} does not exist")
    if target.is_file():
        raise OutputError(f"-o {path!r} is a file; with --engine spark the output is a directory of Parquet files")
    if target.is_dir() and any(target.iterdir()) and not (target / SIDECAR).exists():
        raise OutputError(f"-o {path!r} is a directory not written by segment; give a new path")
    if any(Path(i).resolve() == target.resolve() for i in inputs if _is_local(i)):
        raise OutputError(f"-o {path!r} is an input; write to another path")


def write_dataset(frame: Any, path: str, provenance: dict[str, Any]) -> None:
    """Write a Spark DataFrame as a Parquet directory at *path*, with ``_segment.json`` (see module docstring)."""
    text = json.dumps(provenance, indent=2, default=str) + "\n"
    if not _is_local(path):
        frame.write.mode("overwrite").parquet(path)
        _hadoop_write(frame.sparkSession, f"{path.rstrip('/')}/{SIDECAR}", text)
        return
    target = _local(path)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        frame.write.parquet(str(tmp.resolve()))
        (tmp / SIDECAR).write_text(text)
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _hadoop_write(spark: Any, path: str, text: str) -> None:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode()))
    finally:
        stream.close()


def is_dataset(path: str | Path) -> bool:
    """True for a directory written by Spark or by segment's Spark engine (``_SUCCESS`` or ``_segment.json``)."""
    folder = Path(path)
    return folder.is_dir() and ((folder / SUCCESS).exists() or (folder / SIDECAR).exists()
                                or any(folder.glob("*.parquet")))


def dataset_provenance(path: str | Path) -> dict[str, Any] | None:
    """The sidecar provenance of a finished Parquet directory; refuses one without ``_SUCCESS``."""
    folder = Path(path)
    if not (folder / SUCCESS).exists():
        raise InputError(f"{str(path)!r} has no {SUCCESS} marker: the Spark job that wrote it failed or is still "
                         "running; do not use it, run the command again")
    sidecar = folder / SIDECAR
    return json.loads(sidecar.read_text()) if sidecar.exists() else None


def input_provenance(path: str) -> dict[str, Any] | None:
    """The provenance of a local Parquet directory written by segment (its ``_segment.json``), else None."""
    if not _is_local(path) or not (_local(path) / SIDECAR).is_file():
        return None
    return json.loads((_local(path) / SIDECAR).read_text())


def segment_error(exc: BaseException, columns: Iterable[str] = ()) -> SegmentError | None:
    """The :class:`SegmentError` a Spark analysis error stands for (a missing column), else None."""
    params: dict[str, str] = {}
    try:
        params = exc.getMessageParameters() or {}  # type: ignore[attr-defined]
        condition = exc.getCondition() or ""  # type: ignore[attr-defined]
    except Exception:
        return None
    if "UNRESOLVED_COLUMN" in condition:
        name = params.get("objectName", "").strip("`")
        available = [c.strip("`").split("`.`")[-1] for c in params.get("proposal", "").split(", ") if c]
        return ColumnNotFoundError(name, list(columns) or available)
    return None


def raised_on_executor(exc: BaseException) -> SegmentError | None:
    """The :class:`SegmentError` a polars step raised on an executor (its message), else None.

    A Spark job that fails reports the Python traceback of the executor as
    text; a user error found there (a value that does not parse, say) is
    still the user's, said in one line.
    """
    hit = re.search(r"segment\.errors\.(\w+): (.+)", str(exc))
    return SegmentError(hit.group(2).strip()) if hit else None


#: What the JVM says when it runs out of memory, directly or by stopping the context mid-job.
_OUT_OF_MEMORY = ("java.lang.OutOfMemoryError", "SparkContext was shut down", "Container killed by YARN for exceeding",
                  "OOMKilled")


def out_of_memory(exc: BaseException) -> EngineError | None:
    """One line for a Spark job that ran out of memory (not the user's data, not a bug), else None.

    >>> out_of_memory(RuntimeError("Job 2 cancelled because SparkContext was shut down")) is not None
    True
    >>> out_of_memory(RuntimeError("Table or view not found")) is None
    True
    """
    text = str(exc)
    hit = next((marker for marker in _OUT_OF_MEMORY if marker in text), None)
    if hit is None:
        return None
    return EngineError(f"the Spark job stopped ({hit}; the JVM's own error is above): give it more memory "
                       "(--spark-conf spark.executor.memory=8g, or spark.driver.memory in local mode) or smaller "
                       "partitions (--spark-conf spark.sql.shuffle.partitions=...); docs/spark.md has a plan")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


#: Up to this many distinct values, :func:`tie_breaks` counts every value; above, it counts near the boundaries.
EXACT_DISTINCT = 100_000
#: Rows around each boundary whose values :func:`tie_breaks` counts exactly: a fixed number, not a share of
#: the column, so the table that comes back to the driver does not grow with the customers.
WINDOW = 4096


def tie_breaks(frame: Any, column: str, bins: int, *, spread: bool = False, exact_distinct: int | None = None,
               window: int | None = None) -> list[float]:
    """:func:`segment.binning.balanced_breaks` of a Spark column, without collecting one value per row.

    Few distinct values (at most :data:`EXACT_DISTINCT`): their counts come
    back to the driver. Many: each boundary's target rank gets a window of
    :data:`WINDOW` ranks around it, placed by approximate percentiles whose
    rank error is at most an eighth of the window. The exact counts of the
    values inside the windows, and of the rows below each window, make a
    table in which the values between windows are collapsed
    (:func:`segment.binning.breaks_from_counts`). When the rule reads a
    collapsed entry (a target outside its window, e.g. after a huge tie block
    moved the later targets), that window doubles and the counts are taken
    again. The breaks equal the polars ones exactly, and at most about
    ``bins * WINDOW`` values come to the driver however long the column. No
    sort or window function over the whole column: every pass is an
    aggregation.
    """
    from pyspark.sql import functions as F

    from segment.binning import breaks_from_counts

    exact_distinct = EXACT_DISTINCT if exact_distinct is None else exact_distinct
    window = WINDOW if window is None else window
    x = F.col(column).cast("double")
    values = frame.select(x.alias("v")).where(F.col("v").isNotNull())
    counts = to_polars(values.groupBy("v").count().limit(exact_distinct + 1)).sort("v")
    if counts.height == 0:
        return []
    if counts.height <= exact_distinct:
        return breaks_from_counts(counts["v"].to_numpy(), counts["count"].to_numpy(), bins, spread=spread)
    n = int(values.count())
    accuracy = max(10_000, -(-8 * n // window))
    half = window // 2
    # Rank spans around each equal-share target, and the top ranks (the rule's last-bins guard).
    spans = {(max(0, round(n * k / bins) - half), min(n, round(n * k / bins) + half)) for k in range(1, bins)}
    spans.add((max(0, n - window), n))
    while True:
        distinct, counts = _windowed_counts(values, sorted(spans), n, accuracy)
        trace: list[tuple[float, int, int]] = []
        breaks = breaks_from_counts(distinct, counts, bins, spread=spread, trace=trace)
        missed = [t for t, j, end in trace if distinct[j] != distinct[j] or distinct[end + 1] != distinct[end + 1]]
        top_real = len(distinct) - (np.flatnonzero(np.isnan(distinct))[-1] + 1 if np.isnan(distinct).any() else 0)
        if not missed and top_real > bins:
            return breaks
        if top_real <= bins:
            lo = min(lo for lo, hi in spans if hi == n)
            spans.add((max(0, n - 2 * (n - lo)), n))
        for target in missed:
            at = round(target)
            wide = max((hi - lo for lo, hi in spans if lo <= at <= hi), default=window)
            spans.add((max(0, at - wide), min(n, at + wide)))


def _windowed_counts(values: Any, spans: list[tuple[int, int]], n: int, accuracy: int) -> tuple[Any, Any]:
    """Exact counts of the values inside the rank spans, the rest collapsed into NaN entries."""
    from pyspark.sql import functions as F

    ends = sorted({r for span in spans for r in span if 0 < r < n})
    at = dict(zip(ends, values.agg(F.percentile_approx("v", [r / n for r in ends], accuracy)).first()[0],
                  strict=True)) if ends else {}
    # Merged by value, not by rank: a tie block spans many ranks.
    bounds: list[list[float | None]] = []
    for lo, hi in sorted(spans):
        low, high = (at[lo] if lo > 0 else None), (at[hi] if hi < n else None)
        last = bounds[-1] if bounds else None
        if last is not None and (low is None or last[1] is None or low <= last[1]):
            last[1] = None if high is None or last[1] is None else max(last[1], high)
        else:
            bounds.append([low, high])
    v = F.col("v")

    def inside(lo: float | None, hi: float | None) -> Any:
        cond = F.lit(True)
        if lo is not None:
            cond = cond & (v >= lo)
        if hi is not None:
            cond = cond & (v <= hi)
        return cond

    cond = inside(*bounds[0])
    for b in bounds[1:]:
        cond = cond | inside(*b)
    real = to_polars(values.where(cond).groupBy("v").count()).sort("v")
    below = values.agg(*[F.count(F.when(v < lo, 1)) if lo is not None else F.lit(0) for lo, _ in bounds]).first()
    distinct, counts = [], []
    seen = 0
    vals, cnts = real["v"].to_numpy(), real["count"].to_numpy()
    for (lo, hi), before in zip(bounds, below, strict=True):
        if before > seen:
            distinct.append(np.nan)
            counts.append(before - seen)
            seen = before
        keep = np.ones(vals.size, dtype=bool)
        if lo is not None:
            keep &= vals >= lo
        if hi is not None:
            keep &= vals <= hi
        distinct.extend(vals[keep].tolist())
        counts.extend(cnts[keep].tolist())
        seen += int(cnts[keep].sum())
    if seen < n:
        distinct.append(np.nan)
        counts.append(n - seen)
    return np.array(distinct, dtype=np.float64), np.array(counts, dtype=np.int64)
