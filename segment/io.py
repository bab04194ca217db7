"""Reading and writing tables: the I/O contract every command shares.

Formats come from the file extension (``.csv``, ``.tsv``, ``.parquet``,
``.arrow``/``.ipc``/``.feather``, ``.ndjson``/``.jsonl``, each optionally
``.gz``) or are given explicitly. Standard input is sniffed: gzip, Parquet and
Arrow IPC (file and stream) by their magic bytes, otherwise CSV (TSV when the
header has tabs and no commas).

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
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from segment.errors import EmptyInputError, InputError, OptionError, OutputError

#: Output formats a user can ask for with ``--to``.
FORMATS = ("csv", "tsv", "parquet", "arrow", "ndjson")
#: Input formats (``ws`` is whitespace-separated text such as CDNOW's).
INPUT_FORMATS = (*FORMATS, "ws")
#: Key under which provenance JSON is stored in Parquet / Arrow metadata.
PROVENANCE_KEY = "segment.provenance"

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
}
_CSV_INFER_ROWS = 100_000
_STDIO = ("-", "", None)


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
        Provenance of an upstream ``segment`` output (Parquet / Arrow only).
    """

    frame: pl.LazyFrame
    name: str
    format: str
    fingerprint: str | _Background
    provenance: dict[str, Any] | None = None
    _rows: int | None = field(default=None, repr=False)

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
    """
    if head.startswith(b"PAR1"):
        return "parquet"
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
        Columns to read as text from CSV/TSV/whitespace input, so that keys
        such as ``00042`` keep their leading zeros. Absent names are ignored.
    stdin
        Stream to use for ``"-"`` (default ``sys.stdin.buffer``).

    Raises
    ------
    InputError
        The file is missing, unreadable or not in the stated format.
    EmptyInputError
        The file is empty or holds a header but no rows.
    """
    if format is not None and format not in INPUT_FORMATS:
        raise OptionError(f"unknown input format {format!r}; use one of {', '.join(INPUT_FORMATS)}")
    string_columns = list(string_columns)
    if isinstance(source, (bytes, bytearray)):
        return _read_bytes(bytes(source), "-", format, string_columns)
    if hasattr(source, "read"):
        return _read_bytes(source.read(), getattr(source, "name", "-"), format, string_columns)  # type: ignore[union-attr]
    if is_stdio(source):
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_bytes(stream.read(), "-", format, string_columns)

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
    if gz or format == "ws":
        # Compressed and whitespace text are decoded in memory.
        return _read_bytes(path.read_bytes(), name, format, string_columns)
    digest = _Background(fingerprint_file, path)
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
            frame, provenance = _scan_delimited(path, format, string_columns), None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {name!r} as {format}: {_first_line(exc)}") from None
    return _checked(Table(frame, name, format, digest, provenance))


def _read_bytes(data: bytes, name: str, format: str | None, string_columns: list[str]) -> Table:
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
        elif fmt == "ws":
            frame = _read_whitespace(data, string_columns).lazy()
        else:
            frame = pl.read_csv(buf, **_csv_options(fmt, data, string_columns)).lazy()
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        raise InputError(f"cannot read {name!r} as {fmt}: {_first_line(exc)}") from None
    return _checked(Table(frame, name, fmt, digest, provenance))


def _checked(table: Table) -> Table:
    try:
        schema = table.frame.collect_schema()
        empty = table.frame.head(1).collect().height == 0
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read {table.name!r} as {table.format}: {_first_line(exc)}") from None
    if len(schema) == 0:
        raise EmptyInputError(f"input {table.name!r} has no columns")
    if empty:
        raise EmptyInputError(
            f"input {table.name!r} has a header but no data rows (columns: {', '.join(schema.names())})"
        )
    return table


def _csv_options(fmt: str, head: bytes, string_columns: list[str]) -> dict[str, Any]:
    sep = "\t" if fmt == "tsv" else ","
    header = head.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    names = [c.strip().strip('"') for c in header.split(sep)]
    overrides = {c: pl.String for c in string_columns if c in names}
    return {
        "separator": sep,
        "infer_schema_length": _CSV_INFER_ROWS,
        "schema_overrides": overrides or None,
        "encoding": "utf8-lossy",
    }


def _scan_delimited(path: Path, fmt: str, string_columns: list[str]) -> pl.LazyFrame:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    return pl.scan_csv(path, **_csv_options(fmt, head, string_columns))


def _read_whitespace(data: bytes, string_columns: list[str]) -> pl.DataFrame:
    """Whitespace-separated text with a header line (e.g. CDNOW_master.txt)."""
    text = data.decode("utf-8", "replace")
    lines = [re.sub(r"[ \t]+", ",", line.strip()) for line in text.splitlines() if line.strip()]
    blob = "\n".join(lines).encode()
    return pl.read_csv(io.BytesIO(blob), **_csv_options("csv", blob, string_columns))


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
    """Resolve the output format: ``--to`` wins, then the extension, then *default*."""
    if to is not None:
        if to not in FORMATS:
            raise OptionError(f"unknown output format {to!r}; use one of {', '.join(FORMATS)}")
        gz = path is not None and not is_stdio(path) and str(path).lower().endswith(".gz")
        return to, gz
    if is_stdio(path):
        return default, False
    return format_from_path(path)  # type: ignore[arg-type]


def check_not_an_input(dest: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse to overwrite a file the same command reads."""
    if is_stdio(dest):
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
    """Give the finished temporary file the usual permissions and rename it over the target."""
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
            frame.sink_parquet(path, metadata=meta, compression="zstd", statistics=True)
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
            df.write_parquet(fh, metadata=meta, compression="zstd")
        else:
            buf = io.BytesIO()
            df.write_parquet(buf, metadata=meta, compression="zstd")
            fh.write(buf.getvalue())
    elif fmt == "arrow":
        import pyarrow as pa

        table = df.to_arrow()
        schema = table.schema.with_metadata(meta or {})
        table = table.replace_schema_metadata(schema.metadata)
        opener = pa.ipc.new_file if file_format else pa.ipc.new_stream
        with opener(fh, schema) as writer:
            writer.write_table(table)
    else:  # pragma: no cover - guarded by output_format
        raise OptionError(f"unknown output format {fmt!r}")
    fh.flush()


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
        raise OptionError(f"unknown output format {format!r}; use one of {', '.join(FORMATS)}")
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
