"""Extracts as they arrive, against every command (csvkit-style, issue 16).

Each case is a file under ``tests/fixtures/extracts/<good input>/`` named
after what it holds (written by ``tests/make_extract_fixtures.py`` from the
command's good input in ``tests/commands.py``). A case must give the same
result as the plain CSV it was made from; a case with missing values must
give the same result as the same file with those cells left blank, after a
``N missing in COL`` report on stderr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import pytest

from tests.commands import CASES, CommandCase
from tests.conftest import FIXTURES
from tests.make_extract_fixtures import MARKERS
from tests.test_contract import assert_one_line_error

EXTRACTS = FIXTURES / "extracts"
#: Options that make a command keep going past missing values (its own null policy).
NULL_POLICY = {"cluster": ("--drop-nulls",)}


@dataclass(frozen=True)
class Extract:
    file: str
    args: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()  # missing-value markers the file holds

    def __str__(self) -> str:
        return self.file


SAME_AS_PLAIN = [
    Extract("semicolon.csv"), Extract("tab_separated.csv"), Extract("pipe_separated.csv"),
    Extract("semicolon_decimal_comma.csv", ("--decimal-comma",)), Extract("bom_crlf.csv"),
    Extract("quoted_fields.csv"), Extract("gzip.csv.gz"), Extract("first_sheet.xlsx"),
    Extract("named_sheet.xlsx", ("--sheet", "data")),
]
SAME_AS_BLANKS = [Extract("na_markers.csv", markers=MARKERS),
                  Extract("question_mark_nulls.csv", ("--null-values", "?"), markers=("?",))]
ID_ROLE = [c for c in CASES if c.column_option is not None]


def folder(case: CommandCase):
    return EXTRACTS / case.good_input.removesuffix(".csv")


def _run(cli, case: CommandCase, path, *extra: str):
    args = [*case.name.split(), str(path), *case.args, *extra]
    if case.name == "info":
        args.append("--json")
    return cli(args)


def _result(result) -> tuple:
    """What must agree: exit status, the data, the error line (never the file's name or hash)."""
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    data = result.stdout
    if data.startswith("{"):  # info --json
        record = json.loads(data)
        data = (record["rows"], record["schema"])
    return result.exit_code, data, errors


@pytest.mark.parametrize("extract", SAME_AS_PLAIN, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_extract_gives_the_same_result_as_the_plain_csv(cli, case, extract):
    plain = _run(cli, case, FIXTURES / case.good_input)
    got = _run(cli, case, folder(case) / extract.file, *extract.args)
    assert got.exit_code == 0, got.stderr
    assert _result(got) == _result(plain)


def _blank_twin(path, markers, tmp_path):
    lines = path.read_text().splitlines()
    blank = [",".join("" if field in markers else field for field in line.split(",")) for line in lines]
    twin = tmp_path / "blanks.csv"
    twin.write_text("\n".join(blank) + "\n")
    return twin


@pytest.mark.parametrize("extract", SAME_AS_BLANKS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_missing_value_markers_are_missing_values_and_reported(cli, case, extract, tmp_path):
    path = folder(case) / extract.file
    policy = NULL_POLICY.get(case.name, ())
    blanks = _run(cli, case, _blank_twin(path, extract.markers, tmp_path), *policy)
    got = _run(cli, case, path, *extract.args, *policy)
    assert _result(got) == _result(blanks)
    if case.name != "info":  # info reads, and applies no policy
        assert " missing in '" in got.stderr, got.stderr


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "info"], ids=str)
def test_a_one_column_read_names_the_separator_to_use(cli, case):
    result = _run(cli, case, folder(case) / "semicolon.csv", "--separator", ",")
    assert_one_line_error(result, "reads as one column", "--separator ';'")


@pytest.mark.parametrize("case", [c for c in CASES if c.name in ("cluster", "rules", "validate-segment")], ids=str)
def test_row_numbers_stand_in_for_a_missing_id_column(cli, case):
    args = [a for a in case.args]
    result = cli([*case.name.split(), str(folder(case) / "no_id.csv"), *args, "--id", "@row"])
    assert result.exit_code == 0, result.stderr
    assert "numbered from 1" in result.stderr
    if case.name == "cluster":  # the others write rules or outcomes, not customers
        out = pl.read_csv(result.stdout_bytes)
        assert out["@row"].sort().to_list() == list(range(1, out.height + 1))


def _spaced(args: tuple[str, ...], names: list[str]) -> list[str]:
    """The arguments with every column name written as in spaces_in_names.csv."""
    out = []
    for arg in args:
        parts = arg.split(",")
        out.append(",".join(p.replace("_", " ") if p in names else p for p in parts))
    return out


@pytest.mark.parametrize("case", ID_ROLE, ids=str)
def test_column_names_with_spaces(cli, case):
    names = pl.read_csv(FIXTURES / case.good_input, n_rows=1).columns
    plain = _run(cli, case, FIXTURES / case.good_input)
    args = [*case.name.split(), str(folder(case) / "spaces_in_names.csv"), *_spaced(case.args, names)]
    if case.column_option not in case.args:
        args += [case.column_option, case.column_value.replace("_", " ")]
    result = cli(args)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(plain.stdout.splitlines())


@pytest.mark.parametrize("case", [c for c in CASES if c.writes_table], ids=str)
def test_dev_null_runs_only_the_checks(cli, case):
    result = _run(cli, case, FIXTURES / case.good_input, "-o", "/dev/null")
    assert result.exit_code == 0, result.stderr


def test_misspelt_name_with_two_spaces_is_shown_exactly(cli):
    cluster = next(c for c in CASES if c.name == "cluster")
    result = cli(["cluster", str(folder(cluster) / "spaces_in_names.csv"), "--id", "customer  id"])
    assert_one_line_error(result, "'customer\u2423\u2423id' not found", "did you mean 'customer\u2423id'?")
