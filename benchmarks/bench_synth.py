"""Benchmark ``segment synth``: whole-process wall time and peak memory (run by hand, not by pytest).

Contenders, each a whole process measured by benchmarks/harness.py
(round-robin, per-round paired ratios):

- ``segment synth`` writing all six tables (Parquet) for N customers x 24 months;
- ``segment synth --tables panel`` (what a lifecycle benchmark needs);
- the peer: plain numpy + polars building ONE in-memory frame with the
  panel's 12 columns and N x 24 rows of random values and writing it with
  ``write_parquet``: the cost of merely materialising and writing a panel of
  that size, with no generative model and no chunking.

The script checks that the peer writes the panel's columns with the panel's
types, and that synth's output is the same in every round (it is seeded).

    .venv/bin/python benchmarks/bench_synth.py --sizes 100000,1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.OUT / "synth"

PEER = r"""
import sys, numpy as np, polars as pl
n, months, out = int(sys.argv[1]), 24, sys.argv[2]
rng = np.random.default_rng(1)
rows = n * months
cid = pl.Series(np.repeat(np.arange(n), months)).cast(pl.String).str.zfill(7)
offsets = np.tile(np.arange(months), n).astype("timedelta64[M]")
month = pl.Series((np.datetime64("2023-01", "M") + offsets).astype("datetime64[D]"))
df = pl.DataFrame({
    "customer_id": "C" + cid, "month": month,
    "voice_min": np.round(rng.lognormal(5, 1, rows), 1), "data_mb": np.round(rng.lognormal(7, 1.5, rows), 1),
    "sms": rng.poisson(20, rows).astype(np.int32), "revenue": np.round(rng.lognormal(2.5, 0.8, rows), 2),
    "status": pl.Series(["active", "suspended", "cancelled"]).gather(rng.integers(0, 3, rows)),
    "plan": pl.Series(["prepaid_basic", "postpaid_m", "unlimited"]).gather(rng.integers(0, 3, rows)),
    "channel": pl.Series(["retail_store", "online", "dealer"]).gather(rng.integers(0, 3, rows)),
    "identity": pl.Series(np.repeat(rng.integers(0, 2**62, n), months)).cast(pl.String),
    "complaints": rng.poisson(0.05, rows).astype(np.int32),
    "activation": month,
})
df.write_parquet(out, compression="zstd")
"""

PEER_NAME = "peer: polars in-memory panel"


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.iterdir()) / 2**20


def digest(folder: Path) -> str:
    """Digest of the decoded tables (provenance metadata holds a timestamp, so not the bytes)."""
    import polars as pl

    h = hashlib.sha256()
    for table in sorted(folder.glob("*.parquet")):
        h.update(table.name.encode())
        h.update(pl.read_parquet(table).hash_rows().to_numpy().tobytes())
    return h.hexdigest()


def main() -> None:
    import polars as pl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for n in (int(s) for s in args.sizes.split(",")):
        full, panel, peer = OUT / f"all_{n}", OUT / f"panel_{n}", OUT / f"peer_{n}.parquet"
        digests: dict[str, set[str]] = {"all": set(), "panel": set()}

        def synth(folder: Path, *extra: str) -> list[str]:
            return harness.segment("synth", "--customers", str(n), "--out", str(folder), "-q", *extra)

        c = harness.Contender
        contenders = [c("segment synth (6 tables)", synth(full)),
                      c("segment synth --tables panel", synth(panel, "--tables", "panel")),
                      c(PEER_NAME, harness.python(PEER, str(n), str(peer)))]

        def run_and_record(contender: harness.Contender) -> harness.Run:
            if not contender.name.startswith("segment"):
                return harness.measure(contender)
            folder = full if "6 tables" in contender.name else panel
            # A fresh folder each round (outside the timing): stale tables would hide a missing one.
            shutil.rmtree(folder, ignore_errors=True)
            one = harness.measure(contender)
            digests["all" if folder == full else "panel"].add(digest(folder))
            return one

        results = harness.rounds(contenders, args.repeats, run=run_and_record)
        checks = harness.Checks()
        ours, theirs = pl.read_parquet_schema(panel / "panel.parquet"), pl.read_parquet_schema(peer)
        checks.add("the peer writes the panel's columns with the panel's types", dict(ours) == dict(theirs),
                   ", ".join(f"{k} {v}" for k, v in ours.items()) if dict(ours) == dict(theirs)
                   else f"synth {dict(ours)} against peer {dict(theirs)}")
        for key, found in digests.items():
            checks.add(f"synth ({key}) writes the same tables in every round", len(found) == 1,
                       f"{len(found)} distinct")
        rows = pl.scan_parquet(panel / "panel.parquet").select(pl.len()).collect().item()
        checks.note("output size", f"6 tables {size_mb(full):,.1f} MB, panel {size_mb(panel):,.1f} MB "
                                   f"({rows:,} rows), peer {size_mb(peer):,.1f} MB ({n * 24:,} rows)")
        targets = [harness.Target(f"`synth` ({which}) within 24 GB", "absolute", name, 24 * 1024.0, metric="rss")
                   for which, name in (("6 tables", contenders[0].name), ("panel", contenders[1].name))]
        harness.report(f"synth_{n}", f"`segment synth`: {n:,} customers x 24 months", results, peer=PEER_NAME,
                       checks=checks, targets=targets)
        for path in (full, panel):
            shutil.rmtree(path, ignore_errors=True)
        peer.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
