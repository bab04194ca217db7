"""One vocabulary for options shared by commands, and what a command records as its options."""

from __future__ import annotations

import json

import pytest
from typer.main import get_command

from segment_cli.app import app
from segment.io import read_table
from tests.conftest import FIXTURES


def _options_by_flag() -> dict[str, dict[str, object]]:
    """flag -> {command path: click option} for every command and subcommand."""
    out: dict[str, dict[str, object]] = {}

    def walk(command, path):
        for sub in getattr(command, "commands", {}).values():
            walk(sub, f"{path} {sub.name}".strip())
        for param in getattr(command, "params", []):
            for flag in getattr(param, "opts", []):
                out.setdefault(flag, {})[path] = param

    walk(get_command(app), "")
    return out


def test_correction_offers_the_same_methods_everywhere():
    flags = _options_by_flag()["--correction"]
    assert {"rules", "validate-segment"} <= set(flags)
    choices = {tuple(c.value for c in p.type_descriptor.annotation) for p in flags.values()}
    assert choices == {("holm", "bh", "bonferroni", "none")}


@pytest.mark.parametrize("flag, kind", [("--alpha", float), ("--seed", int), ("--min-size", int)])
def test_shared_options_are_one_flag_of_one_type(flag, kind):
    flags = _options_by_flag()
    uses = flags[flag]
    assert len(uses) >= 2, f"{flag} is used by one command only: {list(uses)}"
    assert {p.type_descriptor.annotation for p in uses.values()} == {kind}
    # No command spells the same idea another way.
    assert "--min-cluster-size" not in flags and "--significance" not in flags


def test_rules_takes_bonferroni_and_validate_segment_takes_none(cli):
    r = cli(["rules", FIXTURES / "rules_small.csv", "--target", "churn", "--correction", "bonferroni", "-q"])
    assert r.exit_code == 0, r.stderr
    r = cli(["validate-segment", FIXTURES / "validate_segment_three_plans.csv", "--segment", "plan",
             "--outcome", "churn,arpu", "--correction", "none", "-q"])
    assert r.exit_code == 0, r.stderr


def test_min_cluster_size_still_works_with_a_deprecation_warning(cli, tmp_path):
    old = cli(["cluster", FIXTURES / "cluster_customers.csv", "--min-cluster-size=12", "-o", tmp_path / "a.csv", "-q"])
    assert old.exit_code == 0, old.stderr
    assert old.stderr.splitlines()[0] == ("warning: --min-cluster-size is deprecated and will be removed in the "
                                          "next release; use --min-size")
    new = cli(["cluster", FIXTURES / "cluster_customers.csv", "--min-size", "12", "-o", tmp_path / "b.csv", "-q"])
    assert new.exit_code == 0 and "deprecated" not in new.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_a_value_after_double_dash_is_not_respelled():
    from segment_cli.errors import respell

    assert respell(["--min-cluster-size", "3", "--", "--min-cluster-size"], {"--min-cluster-size": "--min-size"}) \
        == ["--min-size", "3", "--", "--min-cluster-size"]


def test_lifecycle_subcommands_share_the_panel_and_rule_options():
    flags = _options_by_flag()
    for flag in ("--month", "--voice", "--metric", "--status-values", "--window", "--drop", "--winback"):
        assert {"lifecycle stages", "lifecycle transitions"} <= set(flags[flag]), flag


def test_provenance_records_the_options_not_the_command_locals_regression(cli, tmp_path):
    # Run(NAME, locals()) recorded whatever the command body had defined by then.
    out = tmp_path / "stages.parquet"
    r = cli(["lifecycle", FIXTURES / "lifecycle_small.csv", "--voice", "voice_min", "--metric", "data_mb",
             "-o", out, "-q"])
    assert r.exit_code == 0, r.stderr
    options = read_table(out).provenance["options"]
    assert options["metric"] == ["data_mb"] and options["voice"] == "voice_min" and options["window"] == 3
    assert not {"panel", "run", "table", "lifecycle", "report", "result"} & set(options)
    assert "<function" not in json.dumps(options)


def test_only_reader_compute_errors_are_called_unreadable_input_regression(cli, monkeypatch):
    # Every polars ComputeError used to become "cannot read input", bugs included.
    import polars as pl

    from segment_cli.errors import is_read_error

    assert is_read_error(pl.exceptions.ComputeError("found more fields than defined in 'Schema'"))
    assert not is_read_error(pl.exceptions.ComputeError("cannot compare string with numeric type (i64)"))

    def broken(*args, **kwargs):
        raise pl.exceptions.ComputeError("cannot compare string with numeric type (i64)")

    monkeypatch.setattr("segment.rfm.rfm", broken)
    with pytest.raises(pl.exceptions.ComputeError):
        cli(["rfm", FIXTURES / "tx_small.csv", "-q"])

    def unreadable(*args, **kwargs):
        # Scanning is lazy: a late parse failure surfaces inside the library call.
        raise pl.exceptions.ComputeError("could not parse `12 EUR` as dtype `i64` at column 'amount'\n\nmore")

    monkeypatch.setattr("segment.rfm.rfm", unreadable)
    r = cli(["rfm", FIXTURES / "tx_small.csv", "-q"])
    assert r.exit_code == 2
    assert r.stderr == "error: cannot read input: could not parse `12 EUR` as dtype `i64` at column 'amount'\n"
