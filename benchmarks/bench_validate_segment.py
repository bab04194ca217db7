"""Benchmark ``segment validate-segment``: 1M rows x 50 segments x 5 outcomes.

Run by hand (never by pytest): ``.venv/bin/python benchmarks/bench_validate_segment.py``.
Each contender runs as its own process under ``/usr/bin/time -v``; the table
gives the median wall time and peak RSS of ``--repeat`` runs and the ratio to
the peer measured in the same run: a minimal scipy script that computes only
the omnibus tests (``kruskal`` per numeric outcome over 50 per-segment arrays,
``chi2_contingency`` per categorical one) from the same Parquet file.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"

PEER = """
import sys
import numpy as np, polars as pl
from scipy import stats
df = pl.read_parquet(sys.argv[1])
seg = df["segment"].to_numpy()
order = np.argsort(seg, kind="stable")
s = seg[order]
cuts = np.flatnonzero(s[1:] != s[:-1]) + 1
for col in ("arpu", "mou", "data_gb"):
    groups = np.split(df[col].to_numpy()[order], cuts)
    print(col, stats.kruskal(*groups).pvalue)
for col in ("churn", "channel"):
    table = df.group_by("segment", col).len().pivot(on=col, index="segment", values="len").fill_null(0)
    print(col, stats.chi2_contingency(table.drop("segment").to_numpy(), correction=False).pvalue)
"""


def make_data(path: Path, rows: int, segments: int, seed: int = 0) -> None:
    """Customers in *segments* segments; outcomes depend on the segment a little."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, segments, rows)
    lift = rng.normal(0, 0.3, segments)[seg]
    df = pl.DataFrame({
        "customer_id": np.arange(rows).astype(str),
        "segment": np.char.add("s", seg.astype(str)),
        "churn": rng.random(rows) < 1 / (1 + np.exp(1.5 - lift)),
        "arpu": np.round(rng.gamma(2.0, 20.0, rows) * np.exp(lift / 3), 2),
        "mou": np.round(rng.gamma(1.5, 150.0, rows) * np.exp(lift / 4)),
        "data_gb": np.round(rng.lognormal(1.0 + lift / 5, 1.0, rows), 3),
        "channel": np.array(["shop", "web", "app", "partner"])[rng.integers(0, 4, rows)],
    })
    df.write_parquet(path)


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    h, m, s = wall.groups()  # type: ignore[union-attr]
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return seconds, int(rss.group(1)) / 1024  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"validate_{args.rows}x{args.segments}.parquet"
    if not data.exists():
        make_data(data, args.rows, args.segments)
    base = [sys.executable, "-m", "cli", "validate-segment", str(data), "--segment", "segment",
            "--outcome", "churn,arpu,mou,data_gb,channel", "--id", "customer_id", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        peer_script = Path(tmp) / "peer.py"
        peer_script.write_text(PEER)
        contenders = {
            "scipy omnibus tests only (peer)": [sys.executable, str(peer_script), str(data)],
            "validate-segment": [*base, "-o", f"{tmp}/a.csv"],
            "validate-segment --bootstrap 200": [*base, "--bootstrap", "200", "-o", f"{tmp}/b.csv"],
            "validate-segment --holdout 0.5 --pairs --merge-map --json": [
                *base, "--holdout", "0.5", "--pairs", f"{tmp}/p.parquet", "--merge-map", f"{tmp}/m.csv",
                "--json", f"{tmp}/all.json", "-o", f"{tmp}/c.csv"],
        }
        results = {}
        for name, cmd in contenders.items():
            runs = [measure(cmd) for _ in range(args.repeat)]
            results[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
            print(f"{name}: {results[name][0]:.2f} s, {results[name][1]:.0f} MiB", file=sys.stderr)
    peer_wall, peer_rss = results["scipy omnibus tests only (peer)"]
    print(f"{args.rows:,} rows x {args.segments} segments x 5 outcomes (1 binary, 3 numeric, 1 categorical); "
          f"median of {args.repeat} runs; {date.today().isoformat()}\n")
    print("| contender | wall s | peak RSS MiB | wall / peer | RSS / peer |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, rss) in results.items():
        print(f"| {name} | {wall:.2f} | {rss:.0f} | {wall / peer_wall:.2f} | {rss / peer_rss:.2f} |")


if __name__ == "__main__":
    main()
