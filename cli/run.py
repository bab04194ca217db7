"""What every command does around its one library call.

A command body reads like::

    with Run("rfm") as run:
        tx = run.read(input, fmt=from_, string_columns=[id])
        result = rfm(tx.frame, id=id, ...)
        run.write(result.table, output, to)
        run.summary(render.table(...))

:class:`Run` records the inputs and the command's options (as parsed from
the command line, see :func:`given_options`) for provenance, shows library
warnings and progress on stderr, writes outputs atomically with provenance
metadata, and shows a preview instead of raw CSV when stdout is a terminal.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from typer._click.globals import get_current_context  # Typer vendors click

import segment
from .project import project_record
from .reading import current_dialect
from segment import io as sio
from segment.columns import ROW_ID, number_rows
from segment.errors import OptionError, OutputError, SegmentWarning
from segment.spark import is_spark

# Options that change where or how loudly output goes, never what it is:
# they stay out of provenance so that the same run gives the same bytes.
_NOT_PROVENANCE = {"input", "inputs", "output", "to", "verbose", "quiet"}

stderr_console = Console(stderr=True, highlight=False, soft_wrap=False)


def _is_stdin(path: str) -> bool:
    """True when *path* is the regular file redirected to stdin (``< file``)."""
    try:
        a, b = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISREG(a.st_mode) and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def given_options() -> dict[str, Any]:
    """The running command's parameters, in declared order: the user's values or the defaults.

    Read from the parsed command line rather than from the command body, so
    that a variable the body defines never ends up in provenance.
    """
    ctx = get_current_context()
    out = {}
    for param in ctx.command.params:
        if param.name not in ctx.params:
            continue
        value = ctx.params[param.name]
        # Click gives () for a repeatable option left out; the command receives its default.
        if getattr(param, "multiple", False) and not value and param.default is None:
            value = None
        out[param.name] = value
    return out


# Columns read as numbers from text in this process: a value that fails to parse
# surfaces lazily, after the command has left its Run (see cli/errors.py).
_READ_AS_NUMBERS: list[str] = []


def numbers_read_from_text() -> list[str]:
    """The columns of this process's inputs read as numbers from text (for error messages)."""
    return list(dict.fromkeys(_READ_AS_NUMBERS))


class SparkInput:
    """An input read by Spark: the (lazy) Spark DataFrame as ``frame``, and the provenance of the input."""

    def __init__(self, frame: Any, name: str, provenance: dict[str, Any] | None):
        self.frame, self.name, self.provenance = frame, name, provenance
        self.format = "spark"

    def describe(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "format": self.format}
        if self.provenance:
            entry["provenance"] = self.provenance
        return entry


class Run:
    """Context of one command invocation (see module docstring).

    *options* default to :func:`given_options`; tests and callers outside a
    command pass them explicitly.
    """

    def __init__(self, command: str, options: dict[str, Any] | None = None, *, verbose: bool | None = None,
                 quiet: bool | None = None):
        self.command = command
        options = given_options() if options is None else options
        self.options = {k: _plain(v) for k, v in options.items()
                        if k not in _NOT_PROVENANCE and not k.startswith("_")}
        self.verbose = bool(options.get("verbose", False) if verbose is None else verbose)
        self.quiet = bool(options.get("quiet", False) if quiet is None else quiet)
        self.inputs: list[sio.Table] = []
        self.input_paths: list[str] = []
        _READ_AS_NUMBERS.clear()  # a new command (tests run many in one process)
        self.console = stderr_console
        self._warnings: contextlib.ExitStack | None = None
        self.started = time.perf_counter()

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Run:
        self._warnings = contextlib.ExitStack()
        self._warnings.enter_context(warnings.catch_warnings())
        warnings.simplefilter("always", SegmentWarning)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            if issubclass(category, SegmentWarning):
                self.warn(str(message))
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._warnings is not None
        self._warnings.close()

    # ------------------------------------------------------------ messages
    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    def warn(self, message: str) -> None:
        """A one-line warning on stderr (shown even with --quiet)."""
        text = " ".join(message.split())
        sys.stderr.write(f"warning: {text}\n")
        sys.stderr.flush()

    def note(self, message: str) -> None:
        """A detail for people, on stderr, unless --quiet."""
        if not self.quiet:
            self.console.print(message, markup=False)

    def summary(self, *renderables: Any) -> None:
        """Rich tables / text for people, on stderr, unless --quiet.

        A callable is called only when the summary is shown, so that costly
        summaries are skipped with ``-q``.
        """
        if self.quiet:
            return
        for r in renderables:
            self.console.print(r() if callable(r) else r)

    @contextlib.contextmanager
    def progress(self, description: str = "working") -> Iterator[Callable[[str, int, int | None], None]]:
        """Yield a ``progress(task, done, total)`` callback for the library.

        A rich progress bar when stderr is a terminal, plain lines every 10%
        with ``--verbose`` in a pipe, silence otherwise.
        """
        if self.interactive and not self.quiet:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=self.console, transient=True)
            tasks: dict[str, Any] = {}

            def report(task: str, done: int, total: int | None) -> None:
                if task not in tasks:
                    tasks[task] = bar.add_task(task, total=total)
                bar.update(tasks[task], completed=done, total=total)

            with bar:
                yield report
        elif self.verbose:
            last: dict[str, int] = {}

            def report(task: str, done: int, total: int | None) -> None:
                step = int(10 * done / total) if total else 0
                if last.get(task) != step:
                    last[task] = step
                    pct = f"{100 * done / total:.0f}%" if total else str(done)
                    sys.stderr.write(f"{task}: {pct}\n")

            yield report
        else:
            yield lambda task, done, total: None

    # ------------------------------------------------------------ reading
    def read(self, path: str | None, *, fmt: Any = None, string_columns: list[str] | tuple = (),
             header_only: bool = False) -> sio.Table:
        """Read an input table the way the reading options say, and remember it for provenance.

        ``--id @row`` adds the row number (from 1, in input order) as column
        ``@row``; the command then uses it as its customer key.
        """
        table = sio.read_table(path, format=_plain(fmt), string_columns=string_columns, dialect=current_dialect(),
                               header_only=header_only)
        if self.options.get("id") == ROW_ID:
            if ROW_ID in table.columns:  # numbered by an earlier --id @row step: keep those numbers
                self.warn(f"--id {ROW_ID}: customers are the input's {ROW_ID!r} column")
            else:
                table.frame = number_rows(table.frame)
                self.warn(f"--id {ROW_ID}: customers are rows, numbered from 1 in input order (column {ROW_ID!r})")
        self.inputs.append(table)
        self.input_paths.append(str(path) if path is not None else "-")
        _READ_AS_NUMBERS.extend(table.numbers_from_text)
        return table

    def read_engine(self, path: str | None, *, engine: Any = None, spark_master: str | None = None,
                    spark_conf: list[str] | None = None, spark_table: str | None = None, fmt: Any = None,
                    string_columns: list[str] | tuple = ()) -> sio.Table | SparkInput:
        """:meth:`read` with the polars engine; with ``--engine spark`` a Spark DataFrame, as ``.frame``."""
        if _plain(engine) != "spark":
            if spark_table:
                raise OptionError("--spark-table reads from a Spark catalog: add --engine spark")
            return self.read(path, fmt=fmt, string_columns=string_columns)
        from segment import spark

        session = spark.session(spark_master, spark.parse_conf(spark_conf or ()))
        source = f"table:{spark_table}" if spark_table else str(path)
        table = SparkInput(spark.read(session, None if spark_table else path, table=spark_table), source,
                           spark.input_provenance(path) if path and not spark_table else None)
        self.inputs.append(table)  # type: ignore[arg-type]
        self.input_paths.append(source)
        return table

    # ------------------------------------------------------------ writing
    def provenance(self, rows: int | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "tool": "segment",
            "version": segment.__version__,
            "command": self.command,
            "options": self.options,
            "inputs": [t.describe() for t in self.inputs],
            "rows": rows,
        }
        project = project_record(get_current_context(silent=True))
        if project:
            record["project"] = project
        if extra:
            record["details"] = _plain(extra)
        return record

    def check_outputs(self, output: str | None, *sides: str | None, to: Any = None,
                      documents: tuple[str | None, ...] = ()) -> None:
        """Fail before any work if an output would overwrite an input, go nowhere, or has
        an extension with no table format (the main output may name its format with ``--to``;
        *documents* such as ``--json`` files are not tables)."""
        seen: dict[Path, str] = {}
        for k, p in enumerate((output, *sides, *documents)):
            if p is None or (k == 0 and sio.is_stdio(p)):
                continue
            flag = "-o" if k == 0 else self._flag_of(p, skip=set(seen.values()))
            if sio.is_stdio(p):
                raise OutputError(f"{flag} needs a file path; stdout carries the main result")
            if sio.is_device(p):  # e.g. /dev/null: run the checks, keep nothing
                continue
            if Path(p).is_dir():
                raise OutputError(f"{flag} {p!r} is a folder; give a file name")
            if _is_stdin(p) and "-" in self.input_paths:
                raise OutputError(f"{flag} {p!r} is the file read from stdin; write to another file")
            key = Path(p).resolve()
            if key in seen:
                raise OutputError(f"{seen[key]} and {flag} name the same file {p!r}; give each its own path")
            seen[key] = flag
            if k == 0:
                sio.output_format(p, _plain(to))
            elif k <= len(sides):
                sio.format_from_path(p)
            sio.check_not_an_input(p, self.input_paths)
            folder = Path(p).parent
            if str(folder) and not folder.is_dir():
                raise OutputError(f"output folder {str(folder)!r} does not exist")

    def check_dataset(self, output: str | None, *sides: str | None, to: Any = None,
                      documents: tuple[str | None, ...] = ()) -> None:
        """:meth:`check_outputs` for ``--engine spark``, whose ``-o`` is a Parquet directory."""
        from segment.spark import check_dataset_target

        if sio.is_stdio(output):
            raise OutputError("--engine spark writes a Parquet directory: give it with -o PATH")
        if _plain(to) not in (None, "parquet"):
            raise OutputError(f"--engine spark writes Parquet, not {_plain(to)}; leave out --to")
        check_dataset_target(str(output), self.input_paths)
        self.check_outputs(None, *sides, documents=documents)

    def _flag_of(self, value: str, skip: set[str] = frozenset()) -> str:  # type: ignore[assignment]
        """The option that was given *value* (for messages), e.g. ``--merge-map``."""
        flags = ["--json" if k == "json_path" else "--" + k.replace("_", "-")
                 for k, v in self.options.items() if v == value and k not in ("input", "output")]
        return next((f for f in flags if f not in skip), "a side output")

    def write(self, frame: pl.DataFrame | pl.LazyFrame, output: str | None, to: Any = None,
              *, details: dict[str, Any] | None = None, rows: int | None = None) -> None:
        """Write the command's main result to ``-o`` or stdout (a Spark DataFrame: a Parquet directory at ``-o``)."""
        fmt = _plain(to)
        if is_spark(frame):
            from segment.spark import write_dataset

            write_dataset(frame, str(output), self.provenance(rows, details))
            return
        if isinstance(frame, pl.LazyFrame) and (sio.is_stdio(output) or fmt == "arrow"):
            frame = frame.collect()
        # A LazyFrame streamed to disk has no row count before it is written;
        # its provenance says null rather than a guess.
        rows = frame.height if isinstance(frame, pl.DataFrame) else None
        record = self.provenance(rows, details)
        if sio.is_stdio(output):
            if fmt is None and sys.stdout.isatty():
                self._preview(frame)  # type: ignore[arg-type]
                return
            sio.write_table(frame, sys.stdout.buffer, format=fmt or "csv", provenance=record)
            return
        sio.write_table(frame, output, format=fmt, provenance=record, inputs=self.input_paths)

    def write_side(self, frame: pl.DataFrame, path: str, *, role: str,
                   details: dict[str, Any] | None = None) -> None:
        """Write a secondary table (``--thresholds``, ``--profile`` ...) atomically."""
        if sio.is_stdio(path):
            raise OutputError(f"--{role} needs a file path; stdout carries the main result")
        record = self.provenance(frame.height, {"role": role, **(details or {})})
        sio.write_table(frame, path, provenance=record, inputs=self.input_paths)

    def write_json(self, data: dict[str, Any], path: str, *, role: str, rows: int,
                   details: dict[str, Any] | None = None) -> None:
        """Write a JSON document (``--json``) atomically, provenance under ``"provenance"``."""
        if sio.is_stdio(path):
            raise OutputError(f"--{role} needs a file path; stdout carries the main result")
        record = self.provenance(rows, {"role": role, **(details or {})})
        sio.write_json({"provenance": record, **data}, path, inputs=self.input_paths)

    def write_tables(self, chunks: Iterable[dict[str, pl.DataFrame]], folder: str, names: Iterable[str],
                     to: Any = None, *, details: dict[str, Any] | None = None) -> dict[str, int]:
        """Stream several tables chunk by chunk into ``folder/<name>.<format>`` (default Parquet).

        The folder is created if missing (its parent must exist) and removed
        again if the command fails before writing anything. Every file is
        written atomically with provenance (``details`` plus the table name);
        all are committed together at the end. Returns rows per table.
        """
        fmt = _plain(to) or "parquet"
        if sio.is_stdio(folder):
            raise OutputError("--out needs a folder: several tables cannot share stdout")
        target = Path(folder)
        if target.exists() and not target.is_dir():
            raise OutputError(f"--out {folder!r} is a file, not a folder")
        created = not target.exists()
        if created:
            if not target.parent.is_dir():
                raise OutputError(f"cannot create {folder!r}: folder {str(target.parent)!r} does not exist")
            target.mkdir()
        paths = {name: sio.table_path(target, name, fmt) for name in names}
        records = {name: self.provenance(-1, {"table": name, **(details or {})}) for name in paths}
        try:
            return sio.write_chunks(chunks, paths, format=fmt, provenance=records, inputs=self.input_paths)
        except BaseException:
            if created and not any(target.iterdir()):
                target.rmdir()
            raise

    def _preview(self, df: pl.DataFrame) -> None:
        console = Console(highlight=False)
        with pl.Config(tbl_rows=20, tbl_cols=16, fmt_str_lengths=40, tbl_hide_dataframe_shape=True):
            console.print(str(df), markup=False)
        console.print(
            f"{df.height:,} rows x {df.width} columns (preview; use -o FILE or a pipe for the data)",
            markup=False, style="dim",
        )
