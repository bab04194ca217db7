"""segment synth on the command line: files, formats, bytes, provenance, errors.

``synth`` reads no input table, so the shared input-contract cases in
``tests/commands.py`` (empty file, header only, stdin, misspelt column) do not
apply to it; its output side of the contract is checked here.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from segment.errors import SegmentError
from segment.io import PROVENANCE_KEY, read_table
from segment.synth._synth import TABLES, Synth, synth
from tests.conftest import ROOT, digest, run_segment

SAMPLE = ROOT / "examples" / "data" / "synth"
#: The command documented in docs/synth.md and examples/data/synth/README.md.
SAMPLE_ARGS = ["synth", "--customers", "2000", "--months", "24", "--seed", "1"]
EXT = {"parquet": "parquet", "csv": "csv", "tsv": "tsv", "arrow": "arrow", "ndjson": "ndjson"}


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert result.stdout == ""


@pytest.fixture(scope="module")
def small() -> dict[str, pl.DataFrame]:
    return synth(customers=300, months=12, seed=4).frames()


@pytest.mark.parametrize("fmt", list(EXT))
def test_writes_every_table_in_each_format(cli, tmp_path, small, fmt):
    out = tmp_path / "data"
    result = cli(["synth", "--customers", "300", "--months", "12", "--seed", "4", "--out", out, "--to", fmt, "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.{EXT[fmt]}" for t in TABLES)
    for name in TABLES:
        back = read_table(out / f"{name}.{EXT[fmt]}").frame.collect()
        assert back.height == small[name].height, name
        if fmt in ("parquet", "arrow"):
            assert back.equals(small[name]), name
        else:
            assert back.columns == small[name].columns, name


def test_format_is_also_accepted_as_format(cli, tmp_path):
    result = cli(["synth", "--customers", "50", "--months", "12", "--out", tmp_path, "--format", "csv", "-q",
                  "--tables", "customers"])
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["customers.csv"]


def test_same_seed_same_bytes_and_provenance(cli, tmp_path):
    for d in ("a", "b"):
        assert cli(["synth", "--customers", "400", "--months", "12", "--seed", "2", "--out", tmp_path / d,
                    "-q"]).exit_code == 0
    for name in TABLES:
        assert digest(tmp_path / "a" / f"{name}.parquet") == digest(tmp_path / "b" / f"{name}.parquet"), name
    meta = pl.read_parquet_metadata(tmp_path / "a" / "panel.parquet")
    prov = json.loads(meta[PROVENANCE_KEY])
    assert prov["command"] == "synth" and prov["tool"] == "segment"
    assert prov["details"]["table"] == "panel" and prov["details"]["seed"] == 2
    assert prov["rows"] == read_table(tmp_path / "a" / "panel.parquet").rows()
    assert prov["details"]["truth_rules"]["drop"] == 0.3
    assert "output" not in prov["options"]  # where it went does not change what it is


def test_provenance_holds_no_function_addresses_regression(cli, tmp_path):
    # A library function imported before Run(NAME, locals()) ended up in the
    # options as "<function synth at 0x...>", so bytes differed between processes.
    assert cli(["synth", "--customers", "20", "--months", "12", "--out", tmp_path, "-q"]).exit_code == 0
    prov = read_table(tmp_path / "panel.parquet").provenance
    assert "<function" not in json.dumps(prov)
    assert set(prov["options"]) == {"customers", "months", "seed", "start", "tables"}


def test_arrow_files_carry_provenance(cli, tmp_path):
    result = cli(["synth", "--customers", "50", "--months", "12", "--out", tmp_path, "--to", "arrow", "-q"])
    assert result.exit_code == 0, result.stderr
    prov = read_table(tmp_path / "customers.arrow").provenance
    assert prov["command"] == "synth" and prov["details"]["table"] == "customers"


@pytest.mark.parametrize("args, needle", [
    (["--customers", "0"], "--customers must be at least 1"),
    (["--months", "0"], "--months must be between 1 and 240"),
    (["--start", "2023-13"], "--start must be a month"),
    (["--tables", "panel,panels"], "unknown table 'panels'"),
    (["--seed", "-3"], "--seed must be zero or positive"),
    (["--to", "xlsx"], "'xlsx' is not one of"),
])
def test_bad_options_are_one_line_errors_and_write_nothing(cli, tmp_path, args, needle):
    out = tmp_path / "out"
    assert_one_line_error(cli(["synth", "--out", out, *args]), needle)
    assert not out.exists()


def test_out_is_required(cli):
    assert_one_line_error(cli(["synth", "--customers", "10"]), "--out")


def test_out_dash_is_refused_not_a_folder_named_dash(cli, tmp_path, monkeypatch):
    """Regression: --out - created a folder literally named '-'."""
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(cli(["synth", "--customers", "10", "--out", "-"]), "--out needs a folder")
    assert list(tmp_path.iterdir()) == []


def test_out_must_be_a_folder_whose_parent_exists(cli, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert_one_line_error(cli(["synth", "--out", f]), "is a file")
    assert_one_line_error(cli(["synth", "--out", tmp_path / "no" / "such"]), "does not exist")
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_a_failure_midway_leaves_earlier_files_untouched(cli, tmp_path, monkeypatch):
    out = tmp_path / "data"
    assert cli(["synth", "--customers", "100", "--months", "12", "--out", out, "-q"]).exit_code == 0
    before = {p.name: digest(p) for p in out.iterdir()}
    real = Synth.chunks

    def failing(self, progress=None):
        for i, chunk in enumerate(real(self, progress)):
            yield chunk
            if i == 0:
                raise SegmentError("disk on fire")

    monkeypatch.setattr(Synth, "chunks", failing)
    assert_one_line_error(cli(["synth", "--customers", "25000", "--months", "12", "--out", out]), "disk on fire")
    assert {p.name: digest(p) for p in out.iterdir()} == before  # no .part files, nothing replaced
    fresh = tmp_path / "fresh"
    assert_one_line_error(cli(["synth", "--customers", "25000", "--months", "12", "--out", fresh]), "disk on fire")
    assert not fresh.exists()  # a folder the failed run created is removed again


def test_summary_and_progress_go_to_stderr(cli, tmp_path):
    result = cli(["synth", "--customers", "200", "--months", "12", "--out", tmp_path, "-v"])
    assert result.exit_code == 0 and result.stdout == ""
    assert "generating customers: 100%" in result.stderr
    assert "200 customers;" in result.stderr and "maturity" in result.stderr


def test_rfm_runs_on_the_generated_transactions(tmp_path):
    run_segment(["synth", "--customers", "200", "--months", "12", "--out", tmp_path, "-q"], check=True)
    proc = run_segment(["rfm", tmp_path / "transactions.parquet", "-q", "-o", tmp_path / "rfm.parquet"], check=True)
    assert proc.stdout == b""
    assert read_table(tmp_path / "rfm.parquet").rows() > 150


def test_the_committed_sample_regenerates_byte_for_byte(cli, tmp_path):
    assert sorted(p.name for p in SAMPLE.glob("*.parquet")) == sorted(f"{t}.parquet" for t in TABLES)
    result = cli([*SAMPLE_ARGS, "--out", tmp_path, "-q"])
    assert result.exit_code == 0, result.stderr
    for name in TABLES:
        assert digest(tmp_path / f"{name}.parquet") == digest(SAMPLE / f"{name}.parquet"), (
            f"{name}: regenerate the sample with `segment {' '.join(SAMPLE_ARGS)} --out examples/data/synth`")
