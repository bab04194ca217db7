"""``segment matrix``: cells counted by hand, levers by pattern, bad lever files refused."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from segment.campaign import matrix, parse_levers
from segment.errors import DataError, InputError

LEVERS = """
[[lever]]
row = "maturity"
col = "Champ*"
name = "cross-sell"

[[lever]]
row = "decline"
name = "retain"

[[lever]]
col = "lost"
name = "let go"
"""


def run_cli(*args: str):
    from segment_cli.app import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture()
def customers(tmp_path):
    frame = pl.DataFrame({
        "customer_id": [f"c{i}" for i in range(8)],
        "stage": ["maturity", "maturity", "maturity", "decline", "decline", "exit", "acquisition", None],
        "segment": ["Champions", "Champions", "Lost", "Champions", "Lost", "Lost", "Champions", "Lost"],
        "clv": [100.0, 300.0, 10.0, 80.0, 5.0, 0.0, 50.0, 1.0],
        "churn": ["no", "no", "yes", "yes", "yes", "yes", "no", "no"],
    })
    path = tmp_path / "customers.csv"
    frame.write_csv(path)
    return path


def test_cells_are_counted_exactly(customers, tmp_path):
    out, each = tmp_path / "matrix.csv", tmp_path / "each.csv"
    levers = tmp_path / "levers.toml"
    levers.write_text(LEVERS)
    r = run_cli("matrix", str(customers), "--value", "clv", "--outcome", "churn", "--levers", str(levers),
                "--customers", str(each), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    got = pl.read_csv(out)
    assert got.select("stage", "segment", "customers", "value_total", "churn_rate", "lever").rows() == [
        ("acquisition", "Champions", 1, 50.0, 0.0, None),
        ("maturity", "Champions", 2, 400.0, 0.0, "cross-sell"),
        ("maturity", "Lost", 1, 10.0, 1.0, "let go"),
        ("decline", "Champions", 1, 80.0, 1.0, "retain"),
        ("decline", "Lost", 1, 5.0, 1.0, "retain"),  # the first matching rule wins
        ("exit", "Lost", 1, 0.0, 1.0, "let go"),
        ("(none)", "Lost", 1, 1.0, 0.0, "let go"),
    ]
    assert got["share"].sum() == pytest.approx(1.0)
    assert pl.read_csv(each)["lever"].to_list() == [
        "cross-sell", "cross-sell", "let go", "retain", "retain", "let go", None, "let go"]
    assert "stage x segment" in r.stderr


def test_a_lever_matching_no_cell_is_warned_about(customers):
    frame = pl.read_csv(customers)
    with pytest.warns(UserWarning, match="lever 'retain' .*'declne'.* matches no cell"):
        matrix(frame, rows="stage", cols="segment", levers=parse_levers('[[lever]]\nrow = "declne"\nname = "retain"'))


@pytest.mark.parametrize("text, needle", [
    ("lever = 3", "[[lever]] tables"),
    ('[[lever]]\nrow = "x"', "needs a name"),
    ('[[lever]]\nname = "retain"', "needs a row or a col"),
    ('[[lever]]\nrow = "x"\nname = "y"\ncolumn = "z"', "unknown key 'column'"),
    ("[[lever]\n", "not valid TOML"),
])
def test_bad_lever_files_are_refused(text, needle):
    with pytest.raises(InputError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        parse_levers(text)


def test_a_measure_is_not_a_segmentation(customers):
    frame = pl.DataFrame({"stage": ["maturity"] * 40, "clv": [float(i) for i in range(40)]})
    with pytest.raises(DataError, match="40 distinct values"):
        matrix(frame, rows="stage", cols="clv")


def test_customers_needs_levers(customers, tmp_path):
    r = run_cli("matrix", str(customers), "--customers", str(tmp_path / "x.csv"))
    assert r.exit_code == 2 and "--levers" in r.stderr
