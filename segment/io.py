"""Reading and writing tables: the I/O contract every command shares.

Formats come from the file extension (``.csv``, ``.tsv``, ``.parquet``,
``.arrow``/``.ipc``/``.feather``, ``.ndjson``/``.jsonl``, each optionally
``.gz``, and ``.xlsx``) or are given explicitly. Standard input is sniffed:
gzip, Parquet, Arrow IPC (file and stream) and xlsx by their magic bytes,
otherwise delimited text.

Every command reads through :func:`read_table`, so extracts as they arrive
from BI tools and Excel read the same way everywhere (:class:`Dialect`):

- the separator of delimited text is ``,`` unless the header has no comma
  and has ``;``, tab or ``|`` (or it is given);
- with ``decimal_comma``, ``1,5`` is 1.5;
- in text columns that hold numbers, missing-value markers
  (:data:`~segment.columns.MISSING_MARKERS`: ``NA``, ``n/a``, ``null``,
  ``-`` ...) and blanks are missing, and the column is read as numbers
  (:func:`~segment.columns.number_from_text`, the one rule for numbers stored
  as text);
- a file that reads as one column whose name holds a separator is an error
  that names the separator to use.

Writes are atomic: the table goes to a temporary file in the target folder
which is renamed over the target only when complete, so a failing command
never leaves a partial file and never damages an existing one.

Examples
--------
>>> import polars as pl, tempfile, os
>>> d = tempfile.mkdtemp()
>>> df = pl.DataFrame({"customer_id": ["a", "b"], "amount": [1.5, 2.0]})
>>> path = os.path.join(d, "t.parquet")
>>> write_table(df, path, provenance={"command": "demo"})
>>> table = read_table(path)
>>> table.frame.collect().shape, table.format, table.provenance["command"]
((2, 2), 'parquet', 'demo')
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from segment.columns import MISSING_MARKERS, is_text, missing_text, number_from_text
from segment.errors import EmptyInputError, InputError, OptionError, OutputError

#: Output formats a user can ask for with ``--to``.
FORMATS = ("csv", "tsv", "parquet", "arrow", "ndjson", "xlsx")
#: Input formats (``ws`` is whitespace-separated text such as CDNOW's).
INPUT_FORMATS = (*FORMATS, "ws")
#: Separators detected in a header without commas, in order of preference.
SEPARATORS = (";", "\t", "|")
#: Most data rows an xlsx worksheet holds (the header takes one of 1,048,576 rows).
XLSX_MAX_ROWS = 1_048_575
#: Rows per Parquet row group (and Arrow record batch), fixed so that the bytes of an output do
#: not depend on how the frame happened to be chunked in memory: polars otherwise cuts row
#: groups at chunk boundaries, and a streaming or threaded query chunks differently from run
#: to run. 512**2 is polars' own default, so a one-chunk frame's bytes are unchanged.
ROW_GROUP_ROWS = 262_144
#: Key under which provenance JSON is stored in Parquet / Arrow metadata.
PROVENANCE_KEY = "segment.provenance"
#: Worksheet of an xlsx output that holds its provenance (the data is on the first sheet).
PROVENANCE_SHEET = "provenance"
_JSON_KEY = "(json)"

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".feather": "arrow",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xlsx": "xlsx",
}
_CSV_INFER_ROWS = 100_000
_STDIO = ("-", "", None)


@dataclass(frozen=True)
class Dialect:
    """How to read text and spreadsheet inputs (the same in every command).

    Attributes
    ----------
    separator : str or None
        Field separator of delimited text; None detects it from the header.
    decimal_comma : bool
        Numbers are written ``1,5`` (needs a separator other than ``,``).
    null_values : tuple of str
        Text that marks a missing value in a numeric column.
    sheet : str or None
        Worksheet of an xlsx input (name, or 1-based number); None: the first.
    markers_given : bool
        The user named markers (``--null-values``): every marker is then
        looked for anywhere in a column, never only the one its first rows use.
    """

    separator: str | None = None
    decimal_comma: bool = False
    null_values: tuple[str, ...] = MISSING_MARKERS
    sheet: str | None = None
    markers_given: bool = False

    def __post_init__(self) -> None:
        if self.separator is not None and len(self.separator) != 1:
            raise OptionError(f"--separator must be one character (or 'tab'), got {self.separator!r}")
        if self.decimal_comma and self.separator == ",":
            raise OptionError("--decimal-comma needs a separator other than ',' (e.g. --separator ';')")


def separator_name(sep: str) -> str:
    """How to write *sep* on a command line.

    >>> separator_name("\\t"), separator_name(";")
    ('tab', "';'")
    """
    return "tab" if sep == "\t" else repr(sep)


def sniff_separator(header: str) -> str:
    """The separator of a delimited header line: ``,`` unless it has no comma
    (outside quotes) and has ``;``, tab or ``|`` (the most frequent wins).

    >>> sniff_separator('id;"amount, EUR";date'), sniff_separator("a|b"), sniff_separator("a,b;c")
    (';', '|', ',')
    """
    outside = re.sub(r'"[^"]*"', "", header.lstrip("\ufeff"))
    if "," in outside:
        return ","
    counts = {sep: outside.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


@dataclass
class Table:
    """A table read from a file or stdin, with what is known of its origin.

    Attributes
    ----------
    frame : pl.LazyFrame
        The data, lazily scanned where the format allows it.
    name : str
        The path as given, or ``"-"`` for stdin.
    format : str
        One of :data:`INPUT_FORMATS`.
    fingerprint : str or _Background
        SHA-256 of the bytes read (see :attr:`sha256`); for files, computed
        in a background thread while the command works.
    provenance : dict or None
        Provenance of an upstream ``segment`` output (Parquet / Arrow / xlsx).
    separator : str or None
        The separator used for delimited text.
    numbers_from_text : list of str
        Text columns read as numbers (their markers and blanks are missing).
    """

    frame: pl.LazyFrame
    name: str
    format: str
    fingerprint: str | _Background
    provenance: dict[str, Any] | None = None
    _rows: int | None = field(default=None, repr=False)
    separator: str | None = None
    numbers_from_text: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """Content fingerprint (SHA-256 hex) of the bytes read."""
        if isinstance(self.fingerprint, _Background):
            self.fingerprint = self.fingerprint.result()
        return self.fingerprint

    @property
    def columns(self) -> list[str]:
        return self.frame.collect_schema().names()

    def rows(self) -> int:
        """Number of data rows (counted once, cheaply for Parquet/Arrow)."""
        if self._rows is None:
            self._rows = int(self.frame.select(pl.len()).collect().item())
        return self._rows

    def describe(self) -> dict[str, Any]:
        """The input's entry in an output's provenance."""
        entry: dict[str, Any] = {
            "name": self.name,
            "format": self.format,
            "sha256": self.sha256,
            "rows": self.rows(),
        }
        if self.separator not in (None, ",", "\t"):
            entry["separator"] = self.separator
        if self.numbers_from_text:
            entry["numbers_from_text"] = self.numbers_from_text
        if self.provenance:
            entry["provenance"] = self.provenance
        return entry


def is_stdio(path: str | Path | None) -> bool:
    """True when *path* means stdin/stdout (``-``, empty, or None)."""
    return path is None or str(path) in ("-", "")


def format_from_path(path: str | Path) -> tuple[str, bool]:
    """Return ``(format, gzipped)`` from a file name's extensions.

    >>> format_from_path("out/rfm.csv.gz")
    ('csv', True)
    >>> format_from_path("x.feather")
    ('arrow', False)
    """
    name = Path(str(path)).name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in _EXTENSIONS:
        known = ", ".join(sorted(set(_EXTENSIONS) | {".gz"}))
        raise OptionError(
            f"cannot tell the format of {str(path)!r} from its extension; "
            f"use one of {known} or pass --to/--from"
        )
    return _EXTENSIONS[ext], gz


def sniff_format(head: bytes) -> str:
    """Guess the format of a byte stream from its first bytes.

    >>> sniff_format(b"PAR1....")
    'parquet'
    >>> sniff_format(b"ARROW1\\x00\\x00")
    'arrow'
    >>> sniff_format(b"\\xff\\xff\\xff\\xff\\x10\\x00\\x00\\x00")
    'arrow-stream'
    >>> sniff_format(b"id\\tdate\\n1\\t2020-01-01\\n")
    'tsv'
    >>> sniff_format(b'{"a": 1}\\n')
    'ndjson'
    >>> sniff_format(b"PK\\x03\\x04")
    'xlsx'
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"ARROW1"):
        return "arrow"
    # IPC stream: a continuation marker, or (pre-1.0 writers) a positive length.
    if head.startswith(b"\xff\xff\xff\xff"):
        return "arrow-stream"
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "ndjson"
    first_line = head.split(b"\n", 1)[0]
    if b"\t" in first_line and b"," not in first_line:
        return "tsv"
    return "csv"


class _Background:
    """A function run in a daemon thread; ``result()`` waits for it.

    Hashing a large input file takes about a second per 300 MB; hashlib
    releases the GIL, so it overlaps with polars reading the same file.
    A daemon thread never delays the exit of a command that fails early.
    """

    def __init__(self, fn: Any, *args: Any):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True)
        self._thread.start()

    def _run(self, fn: Any, *args: Any) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def fingerprint_file(path: str | Path) -> str:
    """SHA-256 of a file's content, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_table(
    source: str | Path | IO[bytes] | bytes | None = "-",
    *,
    format: str | None = None,
    string_columns: Iterable[str] = (),
    stdin: IO[bytes] | None = None,
    dialect: Dialect | None = None,
    header_only: bool = False,
) -> Table:
    """Open a table for reading.

    Parameters
    ----------
    source
        A path, ``"-"``/None for stdin, raw bytes, or a binary file object.
    format
        Force a format (one of :data:`INPUT_FORMATS`); default: from the
        extension, or sniffed for streams.
    string_columns
        Columns to read as text from CSV/TSV/whitespace/xlsx input, so that
        keys such as ``00042`` keep their leading zeros (and are never read
        as numbers). Absent names are ignored.
    stdin
        Stream to use for ``"-"`` (default ``sys.stdin.buffer``).
    dialect
        Separator, decimal comma, missing-value markers and worksheet
        (default: :class:`Dialect` ``()``, everything detected).
    header_only
        Accept a header without data rows (a command's output that found
        nothing, e.g. no significant rule), instead of an error.

    Raises
    ------
    InputError
        The file is missing, unreadable or not in the stated format.
    EmptyInputError
        The file is empty or (unless *header_only*) holds a header but no rows.

    Examples
    --------
    >>> table = read_table(b"id;spend;plan\\n1;2,5;a\\n2;NA;b\\n", dialect=Dialect(decimal_comma=True))
    >>> table.separator, table.frame.collect()["spend"].to_list()
    (';', [2.5, None])
    """
    if format is not None and format not in INPUT_FORMATS:
        raise OptionError(f"unknown input format {format!r}; use one of {', '.join(INPUT_FORMATS)}")
    reading = _Reading(list(string_columns), dialect or Dialect(), header_only)
    if isinstance(source, (bytes, bytearray)):
        return _read_bytes(bytes(source), "-", format, reading)
    if hasattr(source, "read"):
        return _read_bytes(source.read(), getattr(source, "name", "-"), format, reading)  # type: ignore[union-attr]
    if is_stdio(source):
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_bytes(stream.read(), "-", format, reading)

    path = Path(str(source))
    name = str(source)
    if not path.exists():
        raise InputError(f"input file {name!r} does not exist")
    if path.is_dir():
        raise InputError(f"input {name!r} is a folder, not a file")
    if path.stat().st_size == 0:
        raise EmptyInputError(f"input {name!r} is empty")
    gz = False
    if format is None:
        format, gz = format_from_path(path)
    else:
        gz = path.name.lower().endswith(".gz")
    if gz or format in ("ws", "xlsx"):
        # Compressed text, whitespace text and workbooks are decoded in memory.
        return _read_bytes(path.read_bytes(), name, format, reading)
    digest = _Background(fingerprint_file, path)
    separator = None
    try:
        if format == "parquet":
            frame = pl.scan_parquet(path)
            provenance = _provenance_from_parquet(path)
        elif format == "arrow":
            frame = pl.scan_ipc(path)
            provenance = _provenance_from_arrow_file(path)
        elif format == "ndjson":
            frame, provenance = pl.scan_ndjson(path, infer_schema_length=_CSV_INFER_ROWS), None
        else:
            with open(path, "rb") as fh:
                head = fh.read(65536)
            options = reading.csv_options(format, head)
            separator = options["separator"]
            frame, provenance = pl.scan_csv(path, **options), None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {name!r} as {format}: {_first_line(exc)}") from None
    rescan = reading.scan(path, options) if separator is not None else None
    return reading.finish(Table(frame, name, format, digest, provenance, separator=separator), rescan)


@dataclass
class _Reading:
    """What one :func:`read_table` call was asked for, applied to whichever format it reads."""

    string_columns: list[str]
    dialect: Dialect
    header_only: bool = False

    def csv_options(self, fmt: str, head: bytes) -> dict[str, Any]:
        header = head.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r").lstrip("\ufeff")
        sep = self.dialect.separator or ("\t" if fmt == "tsv" else sniff_separator(header))
        if self.dialect.decimal_comma and sep == ",":
            raise OptionError("--decimal-comma needs a separator other than ',', but the header is separated by "
                              "commas; check the file or pass --separator")
        names = [c.strip().strip('"') for c in header.split(sep)]
        overrides = {c: pl.String for c in self.string_columns if c in names}
        return {
            "separator": sep,
            "infer_schema_length": _CSV_INFER_ROWS,
            "schema_overrides": overrides or None,
            "encoding": "utf8-lossy",
            "decimal_comma": self.dialect.decimal_comma,
        }

    def scan(self, source: Path | bytes, options: dict[str, Any]) -> Rescan:
        """A delimited scan, and how to scan it again with columns read as numbers."""
        def rescan(schema: dict[str, pl.DataType], nulls: dict[str, str]) -> pl.LazyFrame:
            # The schema is known by now: giving it whole spares a second inference.
            rest = {k: v for k, v in options.items() if k not in ("schema_overrides", "infer_schema_length")}
            return pl.scan_csv(source, **rest, schema=schema, null_values=nulls or None)

        return rescan

    def finish(self, table: Table, rescan: Rescan | None = None) -> Table:
        """Check the table is not empty, not one mis-separated column; read numbers stored as text."""
        table = _checked(table, self.header_only)
        if table.format in ("csv", "tsv", "ws", "xlsx"):
            _one_column_check(table, self.dialect)
            table.frame, table.numbers_from_text = numbers_from_text(
                table.frame, markers=self.dialect.null_values, decimal_comma=self.dialect.decimal_comma,
                keep=self.string_columns, rescan=None if self.dialect.markers_given else rescan)
        return table


#: Scans delimited text again given its whole schema and null values per column.
Rescan = Callable[[dict[str, pl.DataType], dict[str, str]], pl.LazyFrame]


def numbers_from_text(frame: pl.LazyFrame, *, markers: Sequence[str] = MISSING_MARKERS,
                      decimal_comma: bool = False, keep: Iterable[str] = (),
                      sample: int = _CSV_INFER_ROWS, rescan: Rescan | None = None) -> tuple[pl.LazyFrame, list[str]]:
    """Text columns that hold numbers and missing-value markers, read as Float64.

    A text column (not in *keep*) is converted when its first *sample* rows
    hold at least one number and nothing but numbers, markers and blanks. A
    later value that is none of these stops the read with an error naming it
    (see :func:`check_numbers`), rather than becoming missing unseen.

    With *rescan* (delimited text) and the default *markers*, a column whose
    sample shows one marker and no padding is parsed as numbers by the CSV
    reader itself, that marker as its null value: reading ``NA`` then costs
    nothing more than reading a number column. A later value that is not a
    number, or another marker, is then a parse error naming it; markers
    given with ``--null-values`` always take the general path, which reads
    every marker anywhere in the column.

    >>> lf = pl.LazyFrame({"id": ["a", "b", "c"], "revenue": ["12.5", "NA", "-"], "plan": ["x", "NA", "y"]})
    >>> out, converted = numbers_from_text(lf, keep=["id"])
    >>> converted, out.collect()["revenue"].to_list(), out.collect()["plan"].to_list()
    (['revenue'], [12.5, None, None], ['x', 'NA', 'y'])
    """
    keep = set(keep)
    schema = frame.collect_schema()
    candidates = [n for n, t in schema.items() if is_text(t) and n not in keep]
    if not candidates:
        return frame, []
    head = frame.select(candidates).head(sample).collect()
    stats = head.select(
        *[number_from_text(n, markers=markers, decimal_comma=decimal_comma).is_not_null().sum().alias(f"n{i}")
          for i, n in enumerate(candidates)],
        *[missing_text(n, markers).is_not_null().sum().alias(f"t{i}") for i, n in enumerate(candidates)],
    ).row(0)
    k = len(candidates)
    chosen = [n for i, n in enumerate(candidates) if stats[i] > 0 and stats[i] == stats[k + i]]
    if not chosen:
        return frame, []
    rest = chosen
    if rescan is not None and tuple(markers) == MISSING_MARKERS:
        native = _natively_parsed(head.select(chosen), markers)
        frame = rescan({**schema, **{n: pl.Float64 for n in native}},
                       {n: m for n, m in native.items() if m is not None})
        rest = [n for n in chosen if n not in native]
    return frame.with_columns(check_numbers(n, markers=markers, decimal_comma=decimal_comma) for n in rest), chosen


def _natively_parsed(head: pl.DataFrame, markers: Sequence[str]) -> dict[str, str | None]:
    """Columns the CSV reader can parse as numbers itself -> their one marker (None: only blanks)."""
    found: dict[str, str | None] = {}
    for name in head.columns:
        values = head[name].drop_nulls()
        seen = values.filter(values.is_in([m for m in markers if m])).unique().to_list()
        padded = bool((values != values.str.strip_chars()).any())
        if len(seen) <= 1 and not padded:
            found[name] = seen[0] if seen else None
    return found


def check_numbers(column: str, *, markers: Sequence[str] = MISSING_MARKERS, decimal_comma: bool = False) -> pl.Expr:
    """*column* as numbers; a value that is neither a number nor a marker fails the read.

    The failure is a polars error at collect time whose message names the
    column and the value (:func:`read_error` makes it a one-line message).
    """
    # A strict cast raises with the offending value in its message; markers are null by then.
    return number_from_text(column, markers=markers, decimal_comma=decimal_comma, strict=True).alias(column)


def read_error(exc: BaseException, columns: Sequence[str] = ()) -> str | None:
    """A one-line message for a polars error raised while reading text lazily, else None.

    *columns* are the columns read as numbers from text (markers and all,
    :attr:`Table.numbers_from_text`): only for those does ``--null-values``
    help, since the others were typed by polars from the first rows.

    >>> message = "conversion from `str` to `f64` failed in column 'x' for 1 out of 3 values: [\\"ten\\"]"
    >>> print(read_error(Exception(message), ["revenue"]))
    column 'revenue' holds 'ten', which is not a number or a missing-value marker; clean it, or pass --null-values 'ten' if it marks a missing value
    >>> print(read_error(Exception("could not parse `n/a` as dtype `f64` at column 'age' (column number 3)"), ["age"]))
    column 'age' holds the marker 'n/a' further down, after rows that used another one; pass --null-values 'n/a' to read every marker in it
    >>> print(read_error(Exception("could not parse `n.a.` as dtype `i64` at column 'age' (column number 3)")))
    column 'age' holds 'n.a.' further down, though the first 100,000 rows held numbers only; clean the column
    """
    text = str(exc)
    parsed = re.search(r"could not parse `(.*?)` as dtype `(?:f64|i64|f32|i32)` at column '(.*?)'", text)
    cast = re.search(r"from `str` to `f64` failed in column '(.*?)' for \d+ out of \d+ values: \[(.*?)\]", text)
    if parsed:
        value, column = parsed.groups()
    elif cast:
        column, values = cast.groups()
        value = values.split(", ")[0].strip('"')
        if column not in columns:  # polars names an internal column here
            column = columns[0] if len(columns) == 1 else ""
    else:
        return None
    if column and column not in columns:
        return (f"column {column!r} holds {value!r} further down, though the first {_CSV_INFER_ROWS:,} rows held "
                "numbers only; clean the column")
    if value in MISSING_MARKERS:  # read natively with the one marker its first rows used
        return (f"column {column!r} holds the marker {value!r} further down, after rows that used another one; "
                f"pass --null-values {value!r} to read every marker in it")
    where = f"column {column!r}" if column else f"one of the columns read as numbers ({', '.join(map(repr, columns))})"
    return (f"{where} holds {value!r}, which is not a number or a missing-value marker; clean it, "
            f"or pass --null-values {value!r} if it marks a missing value")


def _one_column_check(table: Table, dialect: Dialect) -> None:
    names = table.columns
    if len(names) != 1:
        return
    used = table.separator or ","
    others = [sep for sep in (",", *SEPARATORS) if sep != used and sep in names[0]]
    if others:
        raise InputError(f"{table.name!r} reads as one column named {names[0]!r}; its fields look separated "
                         f"by {separator_name(others[0])}: pass --separator {separator_name(others[0])}")


def _read_bytes(data: bytes, name: str, format: str | None, reading: _Reading) -> Table:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"input {name!r} is not valid gzip: {exc}") from None
    if not data.strip():
        raise EmptyInputError(f"input {name!r} is empty" if name != "-" else "standard input is empty")
    digest = hashlib.sha256(data).hexdigest()
    sniffed = sniff_format(data[:16])
    fmt = format or sniffed
    if fmt == "arrow" and sniffed == "arrow-stream":
        fmt = "arrow-stream"
    provenance = None
    separator = None
    try:
        buf = io.BytesIO(data)
        if fmt == "parquet":
            frame = pl.read_parquet(buf).lazy()
            provenance = _provenance_from_parquet(io.BytesIO(data))
        elif fmt in ("arrow", "arrow-stream"):
            frame, provenance = _read_arrow_bytes(data, stream=fmt == "arrow-stream")
            fmt = "arrow"
        elif fmt == "ndjson":
            frame = pl.read_ndjson(buf, infer_schema_length=_CSV_INFER_ROWS).lazy()
        elif fmt == "xlsx":
            frame, provenance = _read_xlsx(data, name, reading)
        elif fmt == "ws":
            frame = _read_whitespace(data, reading).lazy()
        else:
            options = reading.csv_options(fmt, data[:65536])
            separator = options["separator"]
            frame = pl.scan_csv(data, **options)
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        raise InputError(f"cannot read {name!r} as {fmt}: {_first_line(exc)}") from None
    rescan = reading.scan(data, options) if separator is not None else None
    return reading.finish(Table(frame, name, fmt, digest, provenance, separator=separator), rescan)


def _checked(table: Table, header_only: bool = False) -> Table:
    try:
        schema = table.frame.collect_schema()
        empty = table.frame.head(1).collect().height == 0
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read {table.name!r} as {table.format}: {_first_line(exc)}") from None
    if len(schema) == 0:
        raise EmptyInputError(f"input {table.name!r} has no columns")
    if empty and not header_only:
        raise EmptyInputError(
            f"input {table.name!r} has a header but no data rows (columns: {', '.join(schema.names())})"
        )
    return table


def _read_whitespace(data: bytes, reading: _Reading) -> pl.DataFrame:
    """Whitespace-separated text with a header line (e.g. CDNOW_master.txt)."""
    text = data.decode("utf-8", "replace")
    lines = [re.sub(r"[ \t]+", ",", line.strip()) for line in text.splitlines() if line.strip()]
    blob = "\n".join(lines).encode()
    plain = _Reading(reading.string_columns, Dialect(separator=",", null_values=reading.dialect.null_values))
    return pl.read_csv(io.BytesIO(blob), **plain.csv_options("csv", blob))


def _read_xlsx(data: bytes, name: str, reading: _Reading) -> tuple[pl.LazyFrame, dict | None]:
    """The first worksheet (or the dialect's ``sheet``) of a workbook, and the provenance
    sheet that ``segment`` writes beside its xlsx outputs."""
    import fastexcel  # polars' xlsx engine; imported here to keep `segment --help` fast

    try:
        book = fastexcel.read_excel(data)
        sheets = list(book.sheet_names)
    except Exception as exc:  # fastexcel's exception classes are its own
        raise InputError(f"cannot read {name!r} as xlsx: {_first_line(exc)}") from None
    index = 0
    given = reading.dialect.sheet
    if given is not None:
        if given in sheets:
            index = sheets.index(given)
        elif given.isdigit() and 1 <= int(given) <= len(sheets):
            index = int(given) - 1
        else:
            raise OptionError(f"--sheet {given!r} is not in {name!r}; its sheets are {', '.join(map(repr, sheets))}")
    try:
        header = book.load_sheet(index, n_rows=1).to_polars().columns
    except Exception as exc:
        raise InputError(f"cannot read sheet {sheets[index]!r} of {name!r}: {_first_line(exc)}") from None
    if not header:
        raise EmptyInputError(f"sheet {sheets[index]!r} of {name!r} is empty")
    overrides = {c: pl.String for c in reading.string_columns if c in header}
    frame = pl.read_excel(data, sheet_id=index + 1, engine="calamine", schema_overrides=overrides or None,
                          infer_schema_length=_CSV_INFER_ROWS, raise_if_empty=False)
    provenance = None
    if PROVENANCE_SHEET in sheets and sheets[index] != PROVENANCE_SHEET:
        rows = pl.read_excel(data, sheet_name=PROVENANCE_SHEET, engine="calamine", raise_if_empty=False)
        provenance = _provenance_from_rows(rows)
    return frame.lazy(), provenance


def _read_arrow_bytes(data: bytes, *, stream: bool) -> tuple[pl.LazyFrame, dict | None]:
    import pyarrow as pa  # polars reads IPC natively, but only pyarrow exposes schema metadata

    reader = pa.ipc.open_stream(data) if stream else pa.ipc.open_file(data)
    table = reader.read_all()
    provenance = _decode_provenance(table.schema.metadata)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy(), provenance


def _provenance_from_parquet(source: Path | IO[bytes]) -> dict | None:
    try:
        meta = pl.read_parquet_metadata(source)
    except pl.exceptions.PolarsError:
        return None
    return _decode_provenance(meta)


def _provenance_from_arrow_file(path: Path) -> dict | None:
    import pyarrow as pa

    try:
        with pa.memory_map(str(path)) as src:
            return _decode_provenance(pa.ipc.open_file(src).schema.metadata)
    except (OSError, pa.ArrowInvalid):
        return None


def _provenance_rows(record: dict[str, Any]) -> pl.DataFrame:
    """Provenance as key/value rows for a person (``options.id``, ``inputs.0.sha256`` ...),
    then the whole record as JSON, for :func:`_provenance_from_rows`."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k in sorted(value):
                walk(f"{prefix}.{k}" if prefix else str(k), value[k])
        elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
            for i, v in enumerate(value):
                walk(f"{prefix}.{i}", v)
        else:
            rows.append((prefix, value if isinstance(value, str) else json.dumps(value, default=str)))

    walk("", record)
    text = json.dumps(record, sort_keys=True, default=str)
    if len(text) <= 32_767:  # the most characters an xlsx cell holds
        rows.append((_JSON_KEY, text))
    return pl.DataFrame(rows, schema={"key": pl.String, "value": pl.String}, orient="row")


def _provenance_from_rows(rows: pl.DataFrame) -> dict | None:
    if rows.width < 2:
        return None
    found = rows.filter(pl.col(rows.columns[0]) == _JSON_KEY)
    return _decode_provenance({PROVENANCE_KEY: str(found[rows.columns[1]][0])}) if found.height else None


def _decode_provenance(meta: dict | None) -> dict | None:
    if not meta:
        return None
    raw = meta.get(PROVENANCE_KEY) or meta.get(PROVENANCE_KEY.encode())
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------- writing


def output_format(path: str | Path | None, to: str | None, *, default: str = "csv") -> tuple[str, bool]:
    """Resolve the output format: ``--to`` wins, then the extension, then *default*
    (also for a device such as ``/dev/null``)."""
    if to is not None:
        if to not in FORMATS:
            raise OptionError(f"unknown output format {to!r}; use one of {', '.join(FORMATS)}")
        gz = path is not None and not is_stdio(path) and str(path).lower().endswith(".gz")
        if gz and to == "xlsx":
            raise OptionError("xlsx is compressed already; leave out the .gz")
        return to, gz
    if is_stdio(path) or is_device(path):
        return default, False
    fmt, gz = format_from_path(path)  # type: ignore[arg-type]
    if gz and fmt == "xlsx":
        raise OptionError("xlsx is compressed already; leave out the .gz")
    return fmt, gz


def is_device(path: str | Path | None) -> bool:
    """True for an existing path that is not a regular file or folder (``/dev/null``, a FIFO).

    Such a target is written in place: renaming a temporary file over
    ``/dev/null`` would replace the device.

    >>> is_device("/dev/null"), is_device("out.csv")
    (True, False)
    """
    if path is None or is_stdio(path) or not isinstance(path, (str, Path)):
        return False
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_not_an_input(dest: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse to overwrite a file the same command reads."""
    if is_stdio(dest) or is_device(dest):
        return
    target = os.path.realpath(dest)
    for src in inputs:
        if not is_stdio(src) and os.path.realpath(src) == target:
            raise OutputError(f"output {str(dest)!r} is also an input; write to another file")


def write_table(
    frame: pl.DataFrame | pl.LazyFrame,
    dest: str | Path | IO[bytes] | None,
    *,
    format: str | None = None,
    provenance: dict[str, Any] | None = None,
    inputs: Sequence[str | Path] = (),
) -> None:
    """Write *frame* to a path (atomically) or a binary stream.

    Parameters
    ----------
    frame
        The table. A LazyFrame is streamed to Parquet/CSV without being
        collected whole.
    dest
        A path, or a binary stream (stdout). ``"-"``/None means
        ``sys.stdout.buffer``.
    format
        One of :data:`FORMATS`; default from the extension, CSV for streams.
        Arrow goes to streams in the IPC *stream* format, to files in the
        IPC *file* format.
    provenance
        JSON-serialisable dict stored in Parquet/Arrow metadata under
        :data:`PROVENANCE_KEY`. Dumped with sorted keys so that the same
        inputs give the same bytes.
    inputs
        Paths read by the same command; writing over one is refused.
    """
    meta = None
    if provenance is not None:
        meta = {PROVENANCE_KEY: json.dumps(provenance, sort_keys=True, default=str)}
    if dest is None or (isinstance(dest, (str, Path)) and is_stdio(dest)):
        dest = sys.stdout.buffer
    if not isinstance(dest, (str, Path)):
        fmt = format or "csv"
        _write_stream(frame, dest, fmt, meta)
        return

    fmt, gz = output_format(dest, format)
    if is_device(dest):
        with open(dest, "wb") as fh:
            _write_stream(frame, fh, fmt, meta, file_format=True)
        return
    with atomic_path(dest, inputs) as tmp:
        if gz:
            buf = io.BytesIO()
            _write_stream(frame, buf, fmt, meta, file_format=True)
            # mtime=0 and no file name keep gzip bytes reproducible.
            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gzf:
                gzf.write(buf.getvalue())
        else:
            _write_path(frame, tmp, fmt, meta)


def checked_target(dest: str | Path, inputs: Sequence[str | Path] = ()) -> Path:
    """The target path, refused if it is an input or its folder is missing."""
    check_not_an_input(dest, inputs)
    target = Path(dest)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"output folder {str(folder)!r} does not exist")
    return target


def temp_beside(target: Path) -> str:
    """An empty temporary file in the target's folder (so the rename is atomic)."""
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    os.close(fd)
    return tmp


def publish(tmp: str, target: Path) -> None:
    """Give the finished temporary file the usual permissions and rename it over the target.

    A device target (``/dev/null``, a FIFO) gets the bytes written into it
    instead: a rename would replace the device, which as root breaks the machine.
    """
    if is_device(target):
        with open(tmp, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        discard(tmp)
        return
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


def discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def atomic_path(dest: str | Path, inputs: Sequence[str | Path] = ()) -> Iterator[str]:
    """Yield a temporary path beside *dest*; renamed over it on success, removed on failure."""
    target = checked_target(dest, inputs)
    tmp = temp_beside(target)
    try:
        yield tmp
    except BaseException:
        discard(tmp)
        raise
    publish(tmp, target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_path(frame: pl.DataFrame | pl.LazyFrame, path: str, fmt: str, meta: dict | None) -> None:
    if isinstance(frame, pl.LazyFrame):
        if fmt == "parquet":
            frame.sink_parquet(path, metadata=meta, compression="zstd", statistics=True,
                               row_group_size=ROW_GROUP_ROWS)
            return
        if fmt in ("csv", "tsv"):
            frame.sink_csv(path, separator="\t" if fmt == "tsv" else ",")
            return
        frame = frame.collect()
    with open(path, "wb") as fh:
        _write_stream(frame, fh, fmt, meta, file_format=True)


def _write_stream(
    frame: pl.DataFrame | pl.LazyFrame,
    fh: IO[bytes],
    fmt: str,
    meta: dict | None,
    *,
    file_format: bool = False,
) -> None:
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if fmt == "csv":
        df.write_csv(fh)
    elif fmt == "tsv":
        df.write_csv(fh, separator="\t")
    elif fmt == "ndjson":
        df.write_ndjson(fh)
    elif fmt == "parquet":
        if file_format:
            df.write_parquet(fh, metadata=meta, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        else:
            buf = io.BytesIO()
            df.write_parquet(buf, metadata=meta, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            fh.write(buf.getvalue())
    elif fmt == "xlsx":
        _write_xlsx(df, fh, meta)
    elif fmt == "arrow":
        import pyarrow as pa

        table = df.rechunk().to_arrow()  # one batch per chunk otherwise: bytes as variable as the chunking
        schema = table.schema.with_metadata(meta or {})
        table = table.replace_schema_metadata(schema.metadata)
        opener = pa.ipc.new_file if file_format else pa.ipc.new_stream
        with opener(fh, schema) as writer:
            writer.write_table(table)
    else:  # pragma: no cover - guarded by output_format
        raise OptionError(f"unknown output format {fmt!r}")
    fh.flush()


def _write_xlsx(df: pl.DataFrame, fh: IO[bytes], meta: dict | None) -> None:
    """The table on the first sheet, provenance (key/value rows) on a second one."""
    import datetime

    import xlsxwriter  # the writer polars' write_excel uses; imported here to keep `segment --help` fast

    if df.height > XLSX_MAX_ROWS:
        raise OutputError(f"the result has {df.height:,} rows, more than an xlsx sheet holds "
                          f"({XLSX_MAX_ROWS:,}); write csv or parquet")
    buf = io.BytesIO()
    # Missing (NaN) is an empty cell; an infinite value (e.g. a rule's conviction) shows as #DIV/0!.
    df = df.with_columns(pl.col(n).fill_nan(None) for n, t in df.schema.items() if t.is_float())
    with xlsxwriter.Workbook(buf, {"in_memory": True, "nan_inf_to_errors": True}) as book:
        # A fixed creation date keeps the same result the same bytes.
        book.set_properties({"title": "segment", "created": datetime.datetime(2000, 1, 1)})
        df.write_excel(workbook=book, worksheet="data", autofit=True, include_header=True)
        if meta:
            record = json.loads(meta[PROVENANCE_KEY])
            _provenance_rows(record).write_excel(workbook=book, worksheet=PROVENANCE_SHEET, autofit=True)
    fh.write(buf.getvalue())


def read_provenance(path: str | Path) -> dict | None:
    """Provenance stored in a ``segment`` Parquet/Arrow output, else None."""
    return read_table(path).provenance


def write_json(data: Any, dest: str | Path, *, inputs: Sequence[str | Path] = ()) -> None:
    """Write *data* as indented JSON to a file, atomically.

    Keys are sorted so that the same data gives the same bytes; NaN is
    refused (pass None for missing values).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.json")
    >>> write_json({"b": 1, "a": [1.5, None]}, path)
    >>> open(path).read()
    '{\\n  "a": [\\n    1.5,\\n    null\\n  ],\\n  "b": 1\\n}\\n'
    """
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n"
    with atomic_path(dest, inputs) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)


# ---------------------------------------------------------------- chunked writing

#: File extension written for each output format by :func:`table_path`.
FORMAT_EXTENSIONS = {"csv": ".csv", "tsv": ".tsv", "parquet": ".parquet", "arrow": ".arrow", "ndjson": ".ndjson"}


def table_path(folder: str | Path, name: str, format: str) -> Path:
    """``folder/name.<ext>`` for an output format.

    >>> str(table_path("out", "panel", "parquet"))
    'out/panel.parquet'
    """
    if format not in FORMAT_EXTENSIONS:
        raise OptionError(f"unknown output format {format!r} for a folder of tables; "
                          f"use one of {', '.join(FORMAT_EXTENSIONS)}")
    return Path(folder) / f"{name}{FORMAT_EXTENSIONS[format]}"


class ChunkedWriter:
    """Append polars frames to one file, then move it into place atomically.

    The file is written to a temporary name beside the target; :meth:`commit`
    renames it over the target, :meth:`abort` deletes it. Parquet row groups
    and Arrow record batches follow the chunks, so the same chunks give the
    same bytes. Provenance goes into Parquet metadata at the end (with the
    row count) and into Arrow schema metadata at the start (rows = -1, not
    yet known); CSV, TSV and NDJSON carry none.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> w = ChunkedWriter(os.path.join(d, "t.csv"))
    >>> w.write(pl.DataFrame({"a": [1, 2]})); w.write(pl.DataFrame({"a": [3]}))
    >>> w.commit()
    >>> open(os.path.join(d, "t.csv")).read()
    'a\\n1\\n2\\n3\\n'
    """

    def __init__(self, path: str | Path, *, format: str | None = None,
                 provenance: dict[str, Any] | None = None, inputs: Sequence[str | Path] = ()):
        self.format, gz = output_format(path, format)
        if gz:
            raise OptionError(f"cannot stream {str(path)!r} compressed; leave out the .gz")
        if self.format not in FORMAT_EXTENSIONS:
            raise OptionError(f"cannot stream {str(path)!r} as {self.format}; use one of "
                              f"{', '.join(FORMAT_EXTENSIONS)}")
        self.target = checked_target(path, inputs)
        self.provenance = provenance
        self.rows = 0
        self._tmp: str | None = None
        self._fh: IO[bytes] | None = None
        self._writer: Any = None
        self._schema: Any = None

    def _open(self, frame: pl.DataFrame) -> None:
        self._tmp = temp_beside(self.target)
        if self.format == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self._tmp, frame.to_arrow().schema, compression="zstd")
            return
        self._fh = open(self._tmp, "wb")
        if self.format == "arrow":
            import pyarrow as pa

            schema = frame.to_arrow().schema
            if self.provenance is not None:
                record = {**self.provenance, "rows": -1}
                schema = schema.with_metadata({PROVENANCE_KEY: json.dumps(record, sort_keys=True, default=str)})
            self._schema = schema
            self._writer = pa.ipc.new_file(self._fh, schema)
        elif self.format in ("csv", "tsv"):
            sep = "\t" if self.format == "tsv" else ","
            frame.head(0).write_csv(self._fh, separator=sep)

    def write(self, frame: pl.DataFrame) -> None:
        """Append *frame* (same schema every time)."""
        if self._tmp is None:
            self._open(frame)
        if frame.height == 0:
            return
        self.rows += frame.height
        if self.format == "parquet":
            self._writer.write_table(frame.to_arrow())
        elif self.format == "arrow":
            table = frame.to_arrow()
            self._writer.write_table(table.replace_schema_metadata(self._schema.metadata))
        elif self.format in ("csv", "tsv"):
            frame.write_csv(self._fh, separator="\t" if self.format == "tsv" else ",", include_header=False)
        else:
            frame.write_ndjson(self._fh)

    def _close(self) -> None:
        if self._writer is not None:
            if self.format == "parquet" and self.provenance is not None:
                record = {**self.provenance, "rows": self.rows}
                self._writer.add_key_value_metadata({PROVENANCE_KEY: json.dumps(record, sort_keys=True, default=str)})
            self._writer.close()
            self._writer = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def commit(self) -> None:
        """Finish the file and rename it over the target."""
        if self._tmp is None:
            raise OutputError(f"nothing was written to {str(self.target)!r}")
        self._close()
        publish(self._tmp, self.target)
        self._tmp = None

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        try:
            self._close()
        finally:
            if self._tmp is not None:
                discard(self._tmp)
                self._tmp = None


def write_chunks(chunks: Iterable[dict[str, pl.DataFrame]], paths: dict[str, str | Path], *,
                 format: str | None = None, provenance: dict[str, dict[str, Any]] | None = None,
                 inputs: Sequence[str | Path] = ()) -> dict[str, int]:
    """Stream several tables at once, chunk by chunk, each to its own file.

    *chunks* yields dicts of table name -> frame; *paths* names the file of
    each table (tables not in *paths* are ignored). All files are committed
    together at the end, or none if anything fails. Returns rows per table.
    """
    writers = {name: ChunkedWriter(path, format=format, provenance=(provenance or {}).get(name),
                                   inputs=inputs) for name, path in paths.items()}
    try:
        for chunk in chunks:
            for name, frame in chunk.items():
                if name in writers:
                    writers[name].write(frame)
        for writer in writers.values():
            writer.commit()
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return {name: writer.rows for name, writer in writers.items()}
