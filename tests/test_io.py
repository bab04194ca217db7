"""The I/O contract in the library: formats, sniffing, atomic writes, provenance."""

from __future__ import annotations

import gzip
import io
import os
import pty
import subprocess
import sys
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from segment.errors import EmptyInputError, InputError, OptionError, OutputError
from segment.columns import null_markers
from segment.io import (FORMATS, Dialect, format_from_path, numbers_from_text, read_error, read_table, sniff_format,
                        write_table)
from tests.conftest import FIXTURES, ROOT, digest

FRAME = pl.DataFrame({
    "customer_id": ["007", "042", "100"],
    "day": [date(2024, 1, 1), date(2024, 2, 29), date(2024, 3, 31)],
    "amount": [1.5, -2.25, 1e6],
    "n": pl.Series([1, 2, 3], dtype=pl.UInt32),
    "segment": ["A", None, "C"],
})


@pytest.mark.parametrize("name, expected", [
    ("a.csv", ("csv", False)), ("a.CSV.GZ", ("csv", True)), ("a.tsv", ("tsv", False)),
    ("a.parquet", ("parquet", False)), ("a.ipc", ("arrow", False)), ("a.feather", ("arrow", False)),
    ("a.arrow", ("arrow", False)), ("a.jsonl", ("ndjson", False)), ("dir.v2/a.ndjson.gz", ("ndjson", True)),
])
def test_format_from_extension(name, expected):
    assert format_from_path(name) == expected


def test_unknown_extension_says_what_to_do():
    with pytest.raises(OptionError, match="--to/--from"):
        format_from_path("report.xls")


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_typed_formats_round_trip_types_and_provenance(tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    write_table(FRAME, path, provenance={"command": "x", "n": 1})
    table = read_table(path)
    assert_frame_equal(table.frame.collect(), FRAME)
    assert table.provenance == {"command": "x", "n": 1}
    assert table.rows() == 3


@pytest.mark.parametrize("fmt", ["csv", "tsv", "ndjson"])
def test_text_formats_round_trip_values(tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    write_table(FRAME, path)
    back = read_table(path, string_columns=["customer_id"]).frame.collect()
    assert back["customer_id"].to_list() == ["007", "042", "100"]  # leading zeros kept
    assert back["amount"].to_list() == FRAME["amount"].to_list()
    assert back["segment"].to_list() == ["A", None, "C"]


def test_gzip_output_is_reproducible_and_readable(tmp_path):
    a, b = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    write_table(FRAME, a)
    write_table(FRAME, b)
    assert digest(a) == digest(b)
    assert gzip.decompress(a.read_bytes()).startswith(b"customer_id,day,amount")
    assert read_table(a).frame.collect().height == 3


def _bytes(fmt: str, stream: bool = False) -> bytes:
    buf = io.BytesIO()
    if fmt == "arrow" and stream:
        FRAME.write_ipc_stream(buf)
    else:
        write_table(FRAME, buf, format=fmt)
        if fmt == "arrow":  # file format, not the stdout stream format
            buf = io.BytesIO()
            FRAME.write_ipc(buf)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, stream, sniffed", [
    ("parquet", False, "parquet"), ("arrow", False, "arrow"), ("arrow", True, "arrow"),
    ("csv", False, "csv"), ("tsv", False, "tsv"), ("ndjson", False, "ndjson"),
])
def test_stdin_is_sniffed(fmt, stream, sniffed):
    data = _bytes(fmt, stream)
    table = read_table("-", stdin=io.BytesIO(data))
    assert table.format == sniffed
    assert table.frame.collect().height == 3
    gz = read_table("-", stdin=io.BytesIO(gzip.compress(data)))
    assert gz.frame.collect().height == 3


def test_sniff_magic_bytes():
    assert sniff_format(b"PAR1abc") == "parquet"
    assert sniff_format(b"ARROW1\x00\x00") == "arrow"
    assert sniff_format(b"\xff\xff\xff\xff") == "arrow-stream"
    assert sniff_format(b"a,b\n1,2") == "csv"


def test_whitespace_text_like_cdnow(tmp_path):
    path = tmp_path / "ws.txt"
    path.write_bytes(b" customer_id  date  dollar_value\r\n 00001 19970101   11.77\r\n 00002 19970112  12.00\r\n")
    df = read_table(path, format="ws", string_columns=["customer_id"]).frame.collect()
    assert df.columns == ["customer_id", "date", "dollar_value"]
    assert df["customer_id"].to_list() == ["00001", "00002"] and df["dollar_value"].sum() == 23.77


@pytest.mark.parametrize("content, error, needle", [
    (b"", EmptyInputError, "empty"),
    (b"   \n", EmptyInputError, "empty"),
    (b"a,b\n", EmptyInputError, "no data rows"),
])
def test_empty_inputs(tmp_path, content, error, needle):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(error, match=needle):
        read_table(path)


def test_wrong_content_for_extension(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("not,parquet\n1,2\n")
    with pytest.raises(InputError, match="cannot read 'x.parquet'|cannot read '.*x.parquet' as parquet"):
        read_table(path).frame.collect()


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_table(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_bad_gzip(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(InputError, match="not valid gzip"):
        read_table(path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")

    bad = pl.LazyFrame({"a": ["x"]}).select(pl.col("a").cast(pl.Int64))  # fails only when collected
    with pytest.raises(pl.exceptions.PolarsError):
        write_table(bad, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_output_permissions_follow_umask(tmp_path):
    target = tmp_path / "o.csv"
    write_table(FRAME, target)
    mask = os.umask(0)
    os.umask(mask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~mask)


def test_refuses_to_overwrite_input(tmp_path):
    path = tmp_path / "in.csv"
    FRAME.write_csv(path)
    with pytest.raises(OutputError, match="also an input"):
        write_table(FRAME, path, inputs=[str(path)])


def test_lazy_frames_stream_to_parquet_and_csv(tmp_path):
    lazy = FRAME.lazy()
    for fmt in ("parquet", "csv"):
        write_table(lazy, tmp_path / f"l.{fmt}", provenance={"k": 1})
        assert read_table(tmp_path / f"l.{fmt}").frame.collect().height == 3
    assert read_table(tmp_path / "l.parquet").provenance == {"k": 1}


def test_every_output_format_is_writable(tmp_path):
    for fmt in FORMATS:
        buf = io.BytesIO()
        write_table(FRAME, buf, format=fmt)
        assert read_table(buf.getvalue()).frame.collect().height == 3


def test_terminal_stdout_gets_a_preview_not_csv():
    main, replica = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "segment_cli", "rfm", str(FIXTURES / "tx_small.csv"), "-q"],
                            stdout=replica, stderr=subprocess.PIPE, env=env)
    os.close(replica)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    text = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "8 rows x 10 columns" in text and "customer_id,recency" not in text


# ---------------------------------------------------------------- reading extracts (issue 16)

EXTRACTS = FIXTURES / "extracts"


@pytest.mark.parametrize("case, separator", [
    ("semicolon.csv", ";"), ("tab_separated.csv", "\t"), ("pipe_separated.csv", "|"), ("bom_crlf.csv", ","),
    ("quoted_fields.csv", ","), ("gzip.csv.gz", ","),
])
def test_separator_is_detected_and_values_match_the_plain_csv(case, separator):
    plain = read_table(FIXTURES / "tx_small.csv", string_columns=["customer_id"]).frame.collect()
    table = read_table(EXTRACTS / "tx_small" / case, string_columns=["customer_id"])
    assert table.separator == separator
    assert_frame_equal(table.frame.collect(), plain)


def test_semicolon_with_decimal_comma_reads_the_same_numbers():
    plain = read_table(FIXTURES / "cluster_customers.csv").frame.collect()
    table = read_table(EXTRACTS / "cluster_customers" / "semicolon_decimal_comma.csv",
                       dialect=Dialect(decimal_comma=True))
    assert_frame_equal(table.frame.collect(), plain)


def test_decimal_comma_with_a_comma_separated_header_is_refused():
    with pytest.raises(OptionError, match="--decimal-comma needs a separator other than ','"):
        read_table(FIXTURES / "tx_small.csv", dialect=Dialect(decimal_comma=True))


def test_one_column_whose_name_holds_a_separator_names_the_separator_to_use():
    with pytest.raises(InputError, match=r"reads as one column named 'customer_id;date;amount'.*--separator ';'"):
        read_table(EXTRACTS / "tx_small" / "semicolon.csv", dialect=Dialect(separator=","))


def test_na_markers_are_missing_in_numeric_columns_only():
    data = b"id,plan,revenue,age\n1,NA,12.5,30\n2,basic,NA,n/a\n3,-,-,null\n4,plus, 7 ,NaN\n"
    df = read_table(data, string_columns=["id"]).frame.collect()
    assert df["revenue"].to_list() == [12.5, None, None, 7.0]
    assert df["age"].to_list() == [30.0, None, None, None]
    assert df["plan"].to_list() == ["NA", "basic", "-", "plus"]  # text keeps its values


def test_null_values_add_to_or_replace_the_markers():
    data = b"id,revenue\n1,12\n2,?\n3,NA\n"
    added = read_table(data, dialect=Dialect(null_values=null_markers(["?"]))).frame.collect()
    assert added["revenue"].to_list() == [12.0, None, None]
    only = read_table(data, dialect=Dialect(null_values=null_markers(["?"], replace=True))).frame.collect()
    assert only["revenue"].to_list() == ["12", "?", "NA"]  # NA is text again, so the column is too


def test_key_columns_are_never_read_as_numbers():
    table = read_table(b"id,x\n001,1\nNA,2\n", string_columns=["id"])
    assert table.frame.collect()["id"].to_list() == ["001", "NA"] and table.numbers_from_text == []


def test_a_bad_value_after_the_sample_stops_the_read_naming_it():
    frame, converted = numbers_from_text(
        pl.LazyFrame({"revenue": ["1.5", "NA", "unknown"]}), sample=2)
    assert converted == ["revenue"]
    with pytest.raises(pl.exceptions.InvalidOperationError) as info:
        frame.collect()
    assert read_error(info.value, converted) == ("column 'revenue' holds 'unknown', which is not a number or a missing-value "
                                      "marker; clean it, or pass --null-values 'unknown' if it marks a missing value")


def test_xlsx_reads_the_first_sheet_or_the_one_named(tmp_path):
    first = read_table(EXTRACTS / "tx_small" / "first_sheet.xlsx", string_columns=["customer_id"])
    assert first.format == "xlsx" and first.columns == ["customer_id", "date", "amount"]
    named = read_table(EXTRACTS / "tx_small" / "named_sheet.xlsx", dialect=Dialect(sheet="data"),
                       string_columns=["customer_id"])
    assert_frame_equal(named.frame.collect(), first.frame.collect())
    by_number = read_table(EXTRACTS / "tx_small" / "named_sheet.xlsx", dialect=Dialect(sheet="2"))
    assert by_number.columns == first.columns
    with pytest.raises(OptionError, match=r"--sheet 'Data' is not in .*'notes', 'data'"):
        read_table(EXTRACTS / "tx_small" / "named_sheet.xlsx", dialect=Dialect(sheet="Data"))


def test_xlsx_output_has_the_table_first_and_provenance_on_a_second_sheet(tmp_path):
    import fastexcel

    path = tmp_path / "report.xlsx"
    write_table(FRAME, path, provenance={"command": "rfm", "options": {"id": "Customer ID"}})
    book = fastexcel.read_excel(path.read_bytes())
    assert book.sheet_names == ["data", "provenance"]
    rows = dict(book.load_sheet("provenance").to_polars().iter_rows())
    assert rows["command"] == "rfm" and rows["options.id"] == "Customer ID"
    back = read_table(path, string_columns=["customer_id"])
    assert back.provenance == {"command": "rfm", "options": {"id": "Customer ID"}}
    assert back.frame.collect()["customer_id"].to_list() == ["007", "042", "100"]
    again = tmp_path / "again.xlsx"
    write_table(FRAME, again, provenance={"command": "rfm", "options": {"id": "Customer ID"}})
    assert again.read_bytes() == path.read_bytes()


def test_dev_null_is_written_in_place_never_replaced(tmp_path):
    write_table(FRAME, "/dev/null")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_atomic_path_to_dev_null_keeps_the_device():
    """Regression: `segment plot -o /dev/null` renamed its temporary file over /dev/null."""
    from pathlib import Path

    from segment.io import atomic_path

    with atomic_path("/dev/null") as tmp:
        Path(tmp).write_bytes(b"<svg/>")
    assert not os.path.isfile("/dev/null") and not os.path.exists(tmp)


def test_names_differing_only_in_whitespace_are_marked():
    from segment.errors import ColumnNotFoundError

    message = str(ColumnNotFoundError("Call  Failure", ["Call Failure", "Churn"], role="id"))
    assert message.startswith("id column 'Call\u2423\u2423Failure' not found; did you mean 'Call\u2423Failure'?")


def test_row_ids_number_rows_from_one():
    from segment.columns import number_rows

    df = number_rows(pl.LazyFrame({"x": ["a", "b", "c"]})).collect()
    assert df.columns == ["@row", "x"] and df["@row"].to_list() == [1, 2, 3]
    kept = number_rows(pl.LazyFrame({"@row": [7, 9], "x": ["a", "b"]})).collect()
    assert kept["@row"].to_list() == [7, 9]


def test_quoted_newlines_bom_and_crlf_in_a_semicolon_extract():
    data = '\ufeffid;note;revenue\r\n1;"two\r\nlines; here";12,5\r\n2;plain;NA\r\n'.encode()
    table = read_table(data, dialect=Dialect(decimal_comma=True), string_columns=["id"])
    df = table.frame.collect()
    assert table.separator == ";" and df.columns == ["id", "note", "revenue"]
    assert df["note"][0] == "two\r\nlines; here" and df["revenue"].to_list() == [12.5, None]


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("to_path", [True, False])
def test_output_bytes_do_not_depend_on_in_memory_chunks(tmp_path, fmt, lazy, to_path):
    """Regression: Parquet row groups (and Arrow batches) were cut at the frame's chunk boundaries,
    so a large output chunked differently by a threaded query had other bytes from run to run."""
    import hashlib
    import io as _io

    from segment.io import write_table

    n = 600_000
    whole = pl.DataFrame({"id": pl.int_range(0, n, eager=True), "x": pl.int_range(0, n, eager=True) * 0.5})
    digests = set()
    for cut in (100_000, 450_000):
        frame = pl.concat([whole.slice(0, cut), whole.slice(cut)], rechunk=False)
        assert frame.n_chunks() == 2
        source = frame.lazy() if lazy else frame
        if to_path:
            path = tmp_path / f"out{cut}.{fmt}"
            write_table(source, path)
            data = path.read_bytes()
        else:
            buf = _io.BytesIO()
            write_table(source, buf, format=fmt)
            data = buf.getvalue()
        digests.add(hashlib.sha256(data).hexdigest())
    assert len(digests) == 1
