"""Benchmark: reading a large CSV whose number columns hold ``NA`` markers.

    .venv/bin/python benchmarks/bench_io.py [--gb 1.0] [--repeats 3]

Target (issue 16): reading a 1 GB CSV with NA markers costs at most 10% more
than before the input layer read markers as missing. The file (written once
to ``benchmarks/out``) has a customer id, a plan, three number columns with
1% ``NA`` and one with 1% ``-``, an integer and a yes/no column.

The peer is what ``read_table`` did before: polars' CSV scan with the same
options, the marker columns left as text, and the file's SHA-256 (provenance
hashes every input). The contender is ``segment.io.read_table`` (detects the
separator, reads the marker columns as numbers) collected whole, with its
SHA-256.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.ROOT / "benchmarks" / "out"

PEER = """
import hashlib, sys, polars as pl
path = sys.argv[1]
df = pl.scan_csv(path, infer_schema_length=100_000, schema_overrides={"customer_id": pl.String},
                 encoding="utf8-lossy").collect()
h = hashlib.sha256()
with open(path, "rb") as fh:
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
assert df.schema["arpu"] == pl.String  # markers kept the column text
"""

CONTENDER = """
import sys, polars as pl
from segment.io import read_table
table = read_table(sys.argv[1], string_columns=["customer_id"])
df = table.frame.collect()
table.sha256
assert df.schema["arpu"] == pl.Float64 and df["arpu"].null_count() > 0
"""


def write_extract(path: Path, gb: float) -> int:
    """A CSV of about *gb* gigabytes, written in chunks; returns its rows."""
    import numpy as np
    import polars as pl

    rows_per_chunk = 1_000_000
    rng = np.random.default_rng(16)
    written, rows = 0, 0
    with open(path, "wb") as fh:
        while written < gb * 1e9:
            n = rows_per_chunk

            def marked(values: np.ndarray, marker: str) -> pl.Series:
                text = pl.Series(np.round(values, 2)).cast(pl.String)
                return pl.select(pl.when(pl.Series(rng.random(n) < 0.01)).then(pl.lit(marker))
                                 .otherwise(text)).to_series()

            chunk = pl.DataFrame({
                "customer_id": [f"C{rows + i:09d}" for i in range(n)],
                "plan": rng.choice(["basic", "plus", "premium"], n),
                "arpu": marked(rng.gamma(2, 20, n), "NA"),
                "mou": marked(rng.gamma(2, 200, n), "NA"),
                "data_mb": marked(rng.gamma(2, 900, n), "NA"),
                "age": marked(rng.integers(18, 90, n).astype(float), "-"),
                "calls": rng.integers(0, 20, n),
                "churn": rng.choice(["Yes", "No"], n),
            })
            fh.write(chunk.write_csv(include_header=rows == 0).encode())
            written = fh.tell()
            rows += n
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"na_markers_{args.gb:g}gb.csv"
    if not path.exists():
        rows = write_extract(path, args.gb)
        print(f"wrote {path} ({rows:,} rows)", file=sys.stderr)
    contenders = {
        "peer: polars scan, NA columns as text, + sha256": harness.python(PEER) + [str(path)],
        "segment.io.read_table (NA as missing numbers)": harness.python(CONTENDER) + [str(path)],
    }
    results = harness.rounds(contenders, args.repeats)
    size = path.stat().st_size / 1e9
    print(f"\n{size:.2f} GB CSV with NA markers in 4 number columns; {datetime.date.today()}, {harness.machine()}\n")
    print(harness.table(results, peer=results[0].name))


if __name__ == "__main__":
    main()
