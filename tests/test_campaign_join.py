"""``segment join``: exact on a hand-made case, provenance of every input kept, duplicate ids refused."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from segment import io as sio
from segment.campaign import join
from segment.errors import DataError, OptionError


def run_cli(*args: str, input: str | None = None):
    from segment_cli.app import app

    return CliRunner().invoke(app, list(args), input=input)


def _write(frame: pl.DataFrame, path, command: str | None) -> str:
    sio.write_table(frame, path, provenance={"tool": "segment", "command": command} if command else None)
    return str(path)


@pytest.fixture()
def hand_made(tmp_path):
    rfm = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "segment": ["Champions", "Lost", "Loyal", "Lost"],
                        "monetary": [900.0, 20.0, 400.0, 15.0]})
    stages = pl.DataFrame({"customer_id": ["d", "b", "a", "e"], "stage": ["exit", "decline", "maturity", "acquisition"],
                           "segment": ["s4", "s2", "s1", "s5"]})
    scores = pl.DataFrame({"customer_id": ["b", "a", "c", "e"], "p_churn": [0.6, 0.1, 0.2, 0.3],
                           "decile": [1, 3, 2, 2], "monetary": [21.0, 899.0, 401.0, 5.0]})
    return (_write(rfm, tmp_path / "rfm.parquet", "rfm"), _write(stages, tmp_path / "stages.parquet", "lifecycle"),
            _write(scores, tmp_path / "scores.parquet", "churn score"))


def test_join_is_exact_on_a_hand_made_case(tmp_path, hand_made):
    out = tmp_path / "customers.parquet"
    r = run_cli("join", *hand_made, "-o", str(out))
    assert r.exit_code == 0, r.stderr
    got = pl.read_parquet(out)
    want = pl.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "rfm_segment": ["Champions", "Lost", "Loyal", "Lost"], "rfm_monetary": [900.0, 20.0, 400.0, 15.0],
        "stage": ["maturity", "decline", None, "exit"], "lifecycle_segment": ["s1", "s2", None, "s4"],
        "p_churn": [0.1, 0.6, 0.2, None], "decile": [3, 1, 2, None], "churn_monetary": [899.0, 21.0, 401.0, None],
    })
    assert got.equals(want), got
    text = " ".join(r.stderr.split())
    # The union is a-e: rfm lacks e, the stages lack c, the scores lack d; e is left out.
    assert "1 of 5 customers are missing from" in text and text.count("customers are missing from") == 3
    assert "1 customers are left out (--how left" in text


def test_inner_keeps_the_customers_every_input_has(tmp_path, hand_made):
    out = tmp_path / "inner.csv"
    r = run_cli("join", *hand_made, "--how", "inner", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert pl.read_csv(out)["customer_id"].to_list() == ["a", "b"]
    assert "3 customers are left out (--how inner" in " ".join(r.stderr.split())


def test_join_carries_every_inputs_provenance(tmp_path, hand_made):
    out = tmp_path / "customers.parquet"
    run_cli("join", *hand_made, "-o", str(out))
    record = sio.read_table(str(out)).provenance
    assert record["command"] == "join"
    assert [i["name"] for i in record["inputs"]] == list(hand_made)
    assert [i["provenance"]["command"] for i in record["inputs"]] == ["rfm", "lifecycle", "churn score"]
    assert record["details"]["columns"][hand_made[2]] == {"p_churn": "p_churn", "decile": "decile",
                                                          "monetary": "churn_monetary"}


def test_duplicate_ids_in_one_input_are_refused_naming_the_file(tmp_path, hand_made):
    twice = _write(pl.DataFrame({"customer_id": ["a", "b", "b"], "x": [1, 2, 3]}), tmp_path / "history.parquet", None)
    out = tmp_path / "never.parquet"
    r = run_cli("join", hand_made[0], twice, "-o", str(out))
    assert r.exit_code == 2
    assert "history.parquet: customer 'b' appears 2 times" in r.stderr
    assert not out.exists()


def test_inputs_without_provenance_are_prefixed_by_file_name_and_same_command_inputs_apart(tmp_path):
    a = tmp_path / "march.csv"
    b = tmp_path / "april.csv"
    pl.DataFrame({"customer_id": ["1", "2"], "arpu": [10, 20]}).write_csv(a)
    pl.DataFrame({"customer_id": [2, 1], "arpu": [21, 11]}).write_csv(b)
    r = join([pl.read_csv(a, schema_overrides={"customer_id": pl.String}), pl.read_csv(b)], names=[str(a), str(b)],
             id="customer_id")
    assert r.table.columns == ["customer_id", "march_arpu", "april_arpu"]
    assert r.table.rows() == [("1", 10, 11), ("2", 20, 21)]  # ids read as numbers and as text still meet
    r = join([pl.read_csv(a), pl.read_csv(a)], names=["x/a.csv", "y/a.csv"], commands=["rfm", "rfm"], id="customer_id")
    assert r.table.columns == ["customer_id", "a1_arpu", "a2_arpu"]


def test_join_refuses_bad_usage():
    one = pl.DataFrame({"customer_id": ["a"], "x": [1]})
    with pytest.raises(OptionError, match="at least two"):
        join([one], names=["one.csv"], id="customer_id")
    with pytest.raises(OptionError, match="--how"):
        join([one, one], names=["a", "b"], id="customer_id", how="outer")
    clash = pl.DataFrame({"customer_id": ["a"], "rfm_x": [2]})
    with pytest.raises(DataError, match="'rfm_x'"):
        join([one, one.rename({"x": "y"}).with_columns(x=1), clash], names=["p", "q", "r"],
             commands=["rfm", "cluster", None], id="customer_id")
