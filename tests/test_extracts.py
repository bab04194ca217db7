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
import re
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
    if data.startswith("<!DOCTYPE html>"):  # a report names its input: compare what it shows of it
        data = re.sub(r'/[^<" ]*\.(?:csv|tsv|xlsx)(?:\.gz)?', "<input>", data)
    if data.startswith("{"):  # info --json
        record = json.loads(data)
        data = (record["rows"], record["schema"])
    return result.exit_code, data, errors


_PLAIN: dict[str, tuple] = {}


def _plain(cli, case: CommandCase) -> tuple:
    """The command's result on its good input, computed once per test process."""
    if str(case) not in _PLAIN:
        _PLAIN[str(case)] = _result(_run(cli, case, FIXTURES / case.good_input))
    return _PLAIN[str(case)]


@pytest.mark.parametrize("extract", SAME_AS_PLAIN, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_extract_gives_the_same_result_as_the_plain_csv(cli, case, extract):
    got = _run(cli, case, folder(case) / extract.file, *extract.args)
    assert got.exit_code == 0, got.stderr
    assert _result(got) == _plain(cli, case)


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
    if case.name not in ("info", "join"):  # they read, and apply no policy (join carries values as they are)
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
    if not case.free_names:
        pytest.skip("the column names come from a fitted model")
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


# ------------------------------------------------------------------ reports for a manager: xlsx


@pytest.mark.parametrize("case", [c for c in CASES if c.name in ("rfm", "rules", "validate-segment")], ids=str)
def test_xlsx_report_opens_with_provenance_on_a_second_sheet(cli, case, tmp_path):
    import fastexcel

    target = tmp_path / "report.xlsx"
    result = _run(cli, case, FIXTURES / case.good_input, "-o", target)
    assert result.exit_code == 0, result.stderr
    book = fastexcel.read_excel(target.read_bytes())
    assert book.sheet_names == ["data", "provenance"]
    data = book.load_sheet("data").to_polars()
    plain = pl.read_csv(_run(cli, case, FIXTURES / case.good_input).stdout_bytes)
    assert data.columns == plain.columns and data.height == plain.height
    facts = dict(book.load_sheet("provenance").to_polars().iter_rows())
    assert facts["command"] == case.name and facts["inputs.0.name"].endswith(case.good_input)


def test_rfm_reads_an_xlsx_of_transactions_and_writes_an_xlsx_report(cli, tmp_path):
    target = tmp_path / "rfm.xlsx"
    result = cli(["rfm", str(EXTRACTS / "tx_small" / "first_sheet.xlsx"), "-o", target])
    assert result.exit_code == 0, result.stderr
    from segment.io import read_table

    back = read_table(target, string_columns=["customer_id"])
    assert back.provenance["inputs"][0]["format"] == "xlsx"
    plain = pl.read_csv(cli(["rfm", str(FIXTURES / "tx_small.csv")]).stdout_bytes)
    assert back.frame.collect()["customer_id"].to_list() == plain["customer_id"].to_list()


# ------------------------------------------------------------------ the project file


def test_project_file_names_the_columns_once_and_the_command_line_wins(tmp_path):
    from tests.conftest import run_segment

    (tmp_path / "tx.csv").write_bytes((EXTRACTS / "tx_small" / "spaces_in_names.csv").read_bytes())
    (tmp_path / "segment.toml").write_text('[columns]\nid = "customer id"\n\n[read]\nnull_values = ["?"]\n')
    done = run_segment(["rfm", "tx.csv", "-o", "rfm.parquet", "-q"], cwd=tmp_path, check=True)
    assert done.returncode == 0
    from segment.io import read_table

    prov = read_table(tmp_path / "rfm.parquet").provenance
    assert prov["options"]["id"] == "customer id" and prov["options"]["null_values"] == ["?"]
    assert prov["project"] == {"path": "segment.toml", "columns": {"id": "customer id"},
                               "read": {"null_values": ["?"]}}
    wrong = run_segment(["rfm", "tx.csv", "--id", "nope"], cwd=tmp_path)
    assert wrong.returncode == 2 and b"'nope' not found" in wrong.stderr
    shown = run_segment(["info", "--config"], cwd=tmp_path, check=True).stdout.decode()
    assert "project: segment.toml" in shown and "id: 'customer id'" in shown


def test_config_option_names_another_project_file(cli, tmp_path):
    project = tmp_path / "telco.toml"
    project.write_text('[columns]\nid = "customer id"\nvoice = "voice min"\ndata = "data mb"\nrevenue = "revenue"\n')
    result = cli(["--config", project, "lifecycle", EXTRACTS / "lifecycle_small" / "spaces_in_names.csv"])
    assert result.exit_code == 0, result.stderr
    plain = cli(["lifecycle", FIXTURES / "lifecycle_small.csv", "--voice", "voice_min", "--data", "data_mb",
                 "--revenue", "revenue"])
    named = result.stdout
    for spaced in ("customer id", "voice min", "data mb"):  # names also appear in values (drop:voice_min)
        named = named.replace(spaced, spaced.replace(" ", "_"))
    assert named == plain.stdout


def test_project_file_with_an_unknown_role_is_refused(cli, tmp_path):
    project = tmp_path / "p.toml"
    project.write_text('[columns]\ncustomer = "id"\n')
    assert_one_line_error(cli(["--config", project, "rfm", FIXTURES / "tx_small.csv"]),
                          "unknown role 'customer'", "roles are id, date")


# ------------------------------------------------------------------ messages


def test_top_20_says_10_of_20_in_the_console_table(cli):
    result = cli(["rules", FIXTURES / "rules_small.csv", "--target", "churn", "--top", "20", "--keep-insignificant",
                  "--keep-redundant", "--min-lift", "0"])
    assert result.exit_code == 0, result.stderr
    assert len(pl.read_csv(result.stdout_bytes)) == 20
    assert "10 of 20 rows shown" in " ".join(result.stderr.split())


def test_breaks_for_a_column_name_with_spaces(cli):
    result = cli(["rules", EXTRACTS / "rules_small" / "spaces_in_names.csv", "--id", "customer id",
                  "--breaks", "monthly charges=50,80", "--item-table", "/dev/null", "--keep-insignificant",
                  "--min-lift", "0"])
    assert result.exit_code == 0, result.stderr
    assert "monthly charges=[50,80)" in result.stdout


def test_breaks_with_spaces_between_entries_still_work_with_a_warning(cli):
    result = cli(["rfm", FIXTURES / "tx_small.csv", "--breaks", "r=30,60,90,120 f=2,3,4,5"])
    assert result.exit_code == 0, result.stderr
    assert "warning: --breaks entries separated by spaces are deprecated" in result.stderr
    same = cli(["rfm", FIXTURES / "tx_small.csv", "--breaks", "r=30,60,90,120; f=2,3,4,5"])
    assert same.stdout == result.stdout and "deprecated" not in same.stderr


@pytest.mark.parametrize("late, fix", [("unknown", "unknown"), ("n/a", "n/a")])
def test_a_value_after_the_first_rows_names_a_fix_that_works(cli, tmp_path, late, fix):
    """The first 100,000 rows decide a column's type; a later stray word, or another marker,
    stops the read with an --null-values hint, and that hint then reads the file."""
    rows = [f"{i},{i % 3},{'NA' if i % 7 == 0 else i}" for i in range(100_500)]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(["id,seg,rev", *rows, f"x,1,{late}"]) + "\n")
    args = ["validate-segment", path, "--segment", "seg", "--outcome", "rev", "-q"]
    assert_one_line_error(cli(args), f"--null-values {fix!r}")
    fixed = cli([*args, "--null-values", fix])
    assert fixed.exit_code == 0, fixed.stderr
    assert pl.read_csv(fixed.stdout_bytes)["n"][0] == 100_500 - len(range(0, 100_500, 7))
