"""rfm on real data: CDNOW (against lifetimes' BTYD summary) and Online Retail.

The bundled samples in examples/data always run; the full sets in
../shared/data run where that folder exists (CI) and skip elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from segment.io import read_table
from segment.rfm._rfm import rfm
from tests.conftest import ROOT, shared

CDNOW_SAMPLE = ROOT / "examples" / "data" / "cdnow_2500.txt"
RETAIL_SAMPLE = ROOT / "examples" / "data" / "online_retail_sample.csv.gz"


def cdnow_paths():
    return [pytest.param(lambda: CDNOW_SAMPLE, id="bundled-2500"),
            pytest.param(lambda: shared("cdnow", "CDNOW_master.txt"), id="shared-master")]


def retail_paths():
    return [pytest.param(lambda: RETAIL_SAMPLE, id="bundled-sample"),
            pytest.param(lambda: shared("online-retail", "online_retail.csv.gz"), id="shared-full")]


def _cdnow_pandas(path: Path) -> pd.DataFrame:
    # How the PROVENANCE note says to read it: whitespace runs, ids as text.
    df = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


def _independent_btyd(df: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Daily-period BTYD summary written from the definitions, not from lifetimes."""
    daily = df.groupby(["customer_id", "date"], as_index=False)["dollar_value"].sum()
    rows = {}
    for cid, g in daily.groupby("customer_id"):
        g = g.sort_values("date")
        first, last = g["date"].iloc[0], g["date"].iloc[-1]
        repeat = g["dollar_value"].iloc[1:]
        rows[cid] = (len(g) - 1, (last - first).days, (as_of - first).days,
                     float(repeat.mean()) if len(repeat) else 0.0)
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["frequency", "recency", "T", "monetary_value"])


@pytest.mark.parametrize("get_path", cdnow_paths())
def test_cdnow_btyd_columns_equal_lifetimes_and_an_independent_computation(get_path):
    path = get_path()
    table = read_table(path, format="ws", string_columns=["customer_id"])
    res = rfm(table.frame, amount="dollar_value", btyd=True)
    ours = res.table.to_pandas().set_index("customer_id")
    raw = _cdnow_pandas(path)
    as_of = pd.Timestamp(res.as_of)
    assert as_of == raw["date"].max() + pd.Timedelta(days=1)

    independent = _independent_btyd(raw, as_of)
    from lifetimes.utils import summary_data_from_transaction_data

    lt = summary_data_from_transaction_data(raw, "customer_id", "date", monetary_value_col="dollar_value",
                                            observation_period_end=as_of, freq="D")
    for expected in (independent, lt):
        expected = expected.loc[ours.index]
        assert len(expected) == raw["customer_id"].nunique() == len(ours)
        np.testing.assert_array_equal(ours["frequency_btyd"], expected["frequency"].astype(int))
        np.testing.assert_array_equal(ours["recency_btyd"], expected["recency"].astype(int))
        np.testing.assert_array_equal(ours["T"], expected["T"].astype(int))
        np.testing.assert_allclose(ours["monetary_value"], expected["monetary_value"], rtol=1e-9, atol=1e-9)
    # Classic RFM columns on the same data: transactions, net spend, days since last.
    counts = raw.groupby("customer_id").agg(n=("date", "size"), spend=("dollar_value", "sum"),
                                            last=("date", "max")).loc[ours.index]
    np.testing.assert_array_equal(ours["frequency"], counts["n"])
    # monetary is rounded to 6 decimals (float noise), hence the absolute tolerance.
    np.testing.assert_allclose(ours["monetary"], counts["spend"], rtol=0, atol=5e-7)
    np.testing.assert_array_equal(ours["recency"], (as_of - counts["last"]).dt.days)


@pytest.mark.parametrize("get_path", retail_paths())
def test_online_retail_end_to_end(get_path, cli, tmp_path):
    path = get_path()
    out = tmp_path / "rfm.parquet"
    result = cli(["rfm", path, "--id", "CustomerID", "--date", "InvoiceDate", "--amount", "UnitPrice",
                  "--quantity", "Quantity", "-o", out, "--thresholds", tmp_path / "th.csv"])
    assert result.exit_code == 0, result.stderr
    raw = pl.read_csv(path, infer_schema_length=None,
                      schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String,
                                        "CustomerID": pl.String})
    null_ids = raw["CustomerID"].null_count()
    assert f"dropped {null_ids:,} rows with an empty 'CustomerID'" in result.stderr
    got = pl.read_parquet(out)

    known = raw.filter(pl.col("CustomerID").is_not_null()).with_columns(
        amount=pl.col("Quantity") * pl.col("UnitPrice"),
        day=pl.col("InvoiceDate").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.date())
    expected = (known.group_by("CustomerID")
                .agg(frequency=(pl.col("amount") >= 0).sum(), monetary=pl.col("amount").sum(),
                     last=pl.col("day").filter(pl.col("amount") >= 0).max())
                .filter(pl.col("frequency") > 0).sort("CustomerID"))
    last_day = known["day"].max()
    assert got["CustomerID"].to_list() == expected["CustomerID"].to_list()
    np.testing.assert_array_equal(got["frequency"], expected["frequency"])
    np.testing.assert_allclose(got["monetary"], expected["monetary"], rtol=0, atol=5e-7)
    recency = expected.select((pl.lit(last_day) - pl.col("last")).dt.total_days() + 1)
    np.testing.assert_array_equal(got["recency"], recency.to_series())
    # Cancellations (negative quantity) made some customers' net spend negative; they still score.
    assert got["segment"].null_count() == 0 and got["rfm_cell"].str.len_chars().eq(3).all()
    th = pl.read_csv(tmp_path / "th.csv")
    assert th.group_by("metric").agg(pl.col("n").sum())["n"].to_list() == [got.height] * 3
