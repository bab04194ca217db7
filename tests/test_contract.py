"""The I/O contract, checked the same way against every command (csvkit-style)."""

from __future__ import annotations

import pyarrow.ipc
import pytest

from tests.commands import CASES, CommandCase
from tests.conftest import FIXTURES, digest, shell

WRITERS = [c for c in CASES if c.writes_table]
WITH_COLUMNS = [c for c in CASES if c.column_option]
WITH_SIDES = [(c, o) for c in CASES for o in c.side_option]


def _args(case: CommandCase, path, *extra):
    return [*case.name.split(), str(path), *case.args, *extra]  # name may hold a subcommand


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("case", CASES, ids=str)
def test_empty_file_is_a_one_line_error(cli, case):
    assert_one_line_error(cli(_args(case, FIXTURES / "empty.csv")), "empty")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_header_only_file_is_a_one_line_error(cli, case):
    assert_one_line_error(cli(_args(case, FIXTURES / "header_only.csv")), "no data rows")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_empty_stdin_is_a_one_line_error(cli, case):
    assert_one_line_error(cli(_args(case, "-"), input=b""), "empty")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_missing_file_is_a_one_line_error(cli, case, tmp_path):
    assert_one_line_error(cli(_args(case, tmp_path / "nope.csv")), "does not exist")


@pytest.mark.parametrize("case", WITH_COLUMNS, ids=str)
def test_misspelt_column_suggests_the_close_match(cli, case):
    typo = case.column_value[:-1]
    args = [*case.name.split(), str(FIXTURES / case.good_input), *case.args]
    if case.column_option in args:
        args[args.index(case.column_option) + 1] = typo
    else:
        args += [case.column_option, typo]
    assert_one_line_error(cli(args), f"{typo!r} not found", f"did you mean {case.column_value!r}")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reads_stdin(cli, case):
    data = (FIXTURES / case.good_input).read_bytes()
    result = cli(_args(case, "-"), input=data)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_failure_leaves_existing_target_untouched(cli, case, tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous good result\n")
    result = cli(_args(case, FIXTURES / "empty.csv", "-o", target))
    assert result.exit_code == 2
    assert target.read_text() == "previous good result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary left behind


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_failure_writes_no_new_file(cli, case, tmp_path):
    target = tmp_path / "out.parquet"
    assert cli(_args(case, FIXTURES / "header_only.csv", "-o", target)).exit_code == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_refuses_to_overwrite_its_input(cli, case, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes((FIXTURES / case.good_input).read_bytes())
    assert_one_line_error(cli(_args(case, src, "-o", src)), "also an input")
    assert src.read_bytes() == (FIXTURES / case.good_input).read_bytes()


@pytest.mark.parametrize(("case", "option"), WITH_SIDES, ids=lambda x: str(x))
def test_side_output_to_stdout_is_refused_before_any_output(cli, case, option, tmp_path):
    """Only the main result goes to stdout: ``--profile -`` is an error, and -o is not written."""
    target = tmp_path / "out.csv"
    assert_one_line_error(cli(_args(case, FIXTURES / case.good_input, option, "-", "-o", target)),
                          option, "file path")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("case", "option"), WITH_SIDES, ids=lambda x: str(x))
def test_side_output_on_the_main_output_path_is_refused(cli, case, option, tmp_path):
    """Regression: --kpis same.csv -o same.csv kept one table and lost the other, with exit 0."""
    target = tmp_path / "same.csv"
    assert_one_line_error(cli(_args(case, FIXTURES / case.good_input, option, target, "-o", target)),
                          option, "-o", "same file")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_output_that_is_a_folder_is_refused(cli, case, tmp_path):
    """Regression: -o FOLDER gave an IsADirectoryError traceback and left a .part file."""
    folder = tmp_path / "adir"
    folder.mkdir()
    assert_one_line_error(cli(_args(case, FIXTURES / case.good_input, "-o", folder, "--to", "csv")), "is a folder")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_refuses_to_overwrite_the_file_redirected_to_stdin(case, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes((FIXTURES / case.good_input).read_bytes())
    args = " ".join(case.args)
    proc = shell(f"segment {case.name} - {args} -o '{src}' < '{src}'")
    assert proc.returncode == 2 and b"read from stdin" in proc.stderr, proc.stderr.decode()
    assert src.read_bytes() == (FIXTURES / case.good_input).read_bytes()


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_output_folder_must_exist(cli, case, tmp_path):
    assert_one_line_error(cli(_args(case, FIXTURES / case.good_input, "-o", tmp_path / "no" / "x.csv")),
                          "does not exist")


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_unknown_output_extension_is_refused(cli, case, tmp_path):
    assert_one_line_error(cli(_args(case, FIXTURES / case.good_input, "-o", tmp_path / "x.xlsx")),
                          "extension")


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_same_input_same_bytes_with_provenance(cli, case, tmp_path):
    outs = []
    for name in ("a.parquet", "b.parquet"):
        assert cli(_args(case, FIXTURES / case.good_input, "-o", tmp_path / name)).exit_code == 0
        outs.append(digest(tmp_path / name))
    assert outs[0] == outs[1]
    from segment.io import read_table

    prov = read_table(tmp_path / "a.parquet").provenance
    assert prov["command"] == case.name and prov["tool"] == "segment"
    assert prov["inputs"][0]["sha256"] and prov["inputs"][0]["rows"] > 0


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_arrow_stream_on_stdout_round_trips(cli, case):
    result = cli(_args(case, FIXTURES / case.good_input, "--to", "arrow"))
    assert result.exit_code == 0, result.stderr
    table = pyarrow.ipc.open_stream(result.stdout_bytes).read_all()
    assert table.num_rows > 0
    assert b"segment.provenance" in table.schema.metadata


@pytest.mark.parametrize("case", CASES, ids=str)
def test_closed_pipe_ends_quietly(case):
    proc = shell(f"segment {case.name} '{FIXTURES / case.good_input}' {' '.join(case.args)} | head -c 10 >/dev/null")
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr and b"Broken pipe" not in proc.stderr


@pytest.mark.parametrize("case", WRITERS, ids=str)
def test_same_bytes_across_processes(case, tmp_path):
    # Regression: provenance once held the repr of an imported function (its memory address).
    from tests.conftest import run_segment

    outs = []
    for name in ("a.parquet", "b.parquet"):
        proc = run_segment([*case.name.split(), FIXTURES / case.good_input, *case.args, "-o", tmp_path / name, "-q"])
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append(digest(tmp_path / name))
    assert outs[0] == outs[1]
