"""Writes ``tests/fixtures/extracts/<input>/<case>.<ext>`` (run by hand:
``python -m tests.make_extract_fixtures``).

Each file is one command's good input (``tests/commands.py``) as an extract
arrives from a BI tool or Excel, named after the case it holds:
``semicolon_decimal_comma.csv``, ``na_markers.csv``, ``bom_crlf.csv``,
``no_id.csv``, ``first_sheet.xlsx``, ``spaces_in_names.csv`` ...
``tests/test_extracts.py`` runs every case against every command.
"""

from __future__ import annotations

import gzip
import re

import polars as pl

from tests.commands import CASES
from tests.conftest import FIXTURES

OUT = FIXTURES / "extracts"
#: Markers written into numeric cells of ``na_markers.csv``, in turn.
MARKERS = ("NA", "N/A", "n/a", "null", "NULL", "nan", "NaN", "-")
#: Data rows (1-based) that get a marker in every numeric column.
MARKED_ROWS = (2, 5)
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def base_inputs() -> list[str]:
    return sorted({c.good_input for c in CASES})


def as_text(name: str) -> pl.DataFrame:
    """The good input with every value as written (no type inference)."""
    return pl.read_csv(FIXTURES / name, infer_schema=False)


def numeric_columns(df: pl.DataFrame) -> list[str]:
    """Columns whose values are all numbers (ids and flags included only if they are numbers)."""
    return [c for c in df.columns[1:]
            if df[c].drop_nulls().len() and df[c].cast(pl.Float64, strict=False).null_count() == df[c].null_count()]


def csv_text(df: pl.DataFrame, separator: str = ",") -> str:
    return df.write_csv(separator=separator, line_terminator="\n")


def with_markers(df: pl.DataFrame, markers: tuple[str, ...]) -> pl.DataFrame:
    k = 0
    out = df
    for col in numeric_columns(df):
        values = out[col].to_list()
        for row in MARKED_ROWS:
            values[row - 1] = markers[k % len(markers)]
            k += 1
        out = out.with_columns(pl.Series(col, values, dtype=pl.String))
    return out


def cases(name: str) -> dict[str, bytes]:
    """Case file name -> bytes, for one good input."""
    df = as_text(name)
    plain = csv_text(df)
    decimal = df.with_columns(pl.col(c).str.replace(r"^(-?\d+)\.(\d+)$", "$1,$2") for c in df.columns)
    spaced = df.rename({c: c.replace("_", " ") for c in df.columns})
    files = {
        "semicolon.csv": csv_text(df, ";").encode(),
        "semicolon_decimal_comma.csv": csv_text(decimal, ";").encode(),
        "tab_separated.csv": csv_text(df, "\t").encode(),
        "pipe_separated.csv": csv_text(df, "|").encode(),
        "bom_crlf.csv": b"\xef\xbb\xbf" + plain.replace("\n", "\r\n").encode(),
        "quoted_fields.csv": df.write_csv(quote_style="always").encode(),
        "gzip.csv.gz": gzip.compress(plain.encode(), mtime=0),
        "na_markers.csv": csv_text(with_markers(df, MARKERS)).encode(),
        "question_mark_nulls.csv": csv_text(with_markers(df, ("?",))).encode(),
        "no_id.csv": csv_text(df.drop(df.columns[0])).encode(),
        "spaces_in_names.csv": csv_text(spaced).encode(),
    }
    typed = pl.read_csv(FIXTURES / name, schema_overrides={df.columns[0]: pl.String})
    files["first_sheet.xlsx"] = _workbook([("data", typed), ("notes", pl.DataFrame({"note": ["not data"]}))])
    files["named_sheet.xlsx"] = _workbook([("notes", pl.DataFrame({"note": ["not data"]})), ("data", typed)])
    return files


def _workbook(sheets: list[tuple[str, pl.DataFrame]]) -> bytes:
    import datetime
    import io

    import xlsxwriter

    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"in_memory": True}) as book:
        book.set_properties({"created": datetime.datetime(2000, 1, 1)})
        for sheet, frame in sheets:
            frame.write_excel(workbook=book, worksheet=sheet)
    return buf.getvalue()


def main() -> None:
    for name in base_inputs():
        folder = OUT / name.removesuffix(".csv")
        folder.mkdir(parents=True, exist_ok=True)
        for case, data in cases(name).items():
            (folder / case).write_bytes(data)


if __name__ == "__main__":
    main()
