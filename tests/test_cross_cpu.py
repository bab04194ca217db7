"""What the README promises across machines holds when the CPU's SIMD changes.

numpy picks SIMD kernels (AVX2/FMA3, AVX-512) at run time, polars splits sums
over threads, and OpenBLAS picks kernels by core type. Each can move the last
bits of a float, and a last bit was enough to move hdbscan labels and the
committed synth sample on an AVX-512 machine. This test runs the same
commands (tests/cross_cpu.py) natively and then as a CPU without AVX-512 and
as a CPU without AVX2/FMA3 with one polars thread and another OpenBLAS core
type, and compares every output file by digest, decoding only files whose
digests differ. The README's "Reproducibility" section states the promise
this checks: identical files, except that rules' and validate-segment's
floats (p-values, statistics) agree to 12 significant digits.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cross_cpu")]


def _dispatch() -> list[str]:
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return list(__cpu_dispatch__)


def variants() -> dict[str, dict[str, str]]:
    """Environment changes that make this machine compute like another CPU."""
    targets = _dispatch()
    wide = [t for t in targets if t.startswith("AVX512") or t in ("X86_V4",)]
    out: dict[str, dict[str, str]] = {}
    if wide:
        out["no AVX-512"] = {"NPY_DISABLE_CPU_FEATURES": " ".join(wide)}
    oldest = {"NPY_DISABLE_CPU_FEATURES": " ".join(targets), "POLARS_MAX_THREADS": "1"}
    # A machine that needs OPENBLAS_CORETYPE set (older OpenBLAS on new cores) keeps it.
    if platform.machine() in ("x86_64", "AMD64") and "OPENBLAS_CORETYPE" not in os.environ:
        oldest["OPENBLAS_CORETYPE"] = "Prescott"
    out["no SIMD dispatch, 1 thread"] = oldest
    return out


def _run(out: Path, extra: dict[str, str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    proc = subprocess.run([sys.executable, "-m", "tests.cross_cpu", str(out)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# Files whose floats are promised to 12 significant digits rather than to the bit:
# p-values and statistics from exp/log tails (numpy's SIMD exp and log differ by
# an ulp between CPUs). Counts, labels and every decision are still exact.
TWELVE_DIGITS = ("rules.csv", "value_check.csv", "value_check.json", "value_pairs.csv",
                 "value_merges.csv", "calls.csv", "model.json", "survival.parquet")
RTOL = 1e-12
# Maximum-likelihood fits (clv) stop at the optimiser's tolerance, and the path
# there follows the last bits of exp/log: parameters agree to about 7 digits,
# standard errors (from a numerical Hessian) to about 5.
FOUR_DIGITS = ("clv.parquet", "clv_params.json")
RTOL_FIT = 1e-4


def _rtol(name: str) -> float | None:
    return RTOL if name in TWELVE_DIGITS else RTOL_FIT if name in FOUR_DIGITS else None


def _decode(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema_length=None)


def broken_promise(a: Path, b: Path) -> str | None:
    """What differs beyond the README's promise, decoded only after digests differ (never a byte diff)."""
    if a.suffix == ".json":
        x, y = json.loads(a.read_text()), json.loads(b.read_text())
        return _json_diff(x, y, _rtol(a.name), a.name)
    x, y = _decode(a), _decode(b)
    if x.shape != y.shape or x.columns != y.columns:
        return f"{a.name}: shape {x.shape} vs {y.shape}"
    bad = []
    for c in x.columns:
        if x[c].equals(y[c]):
            continue
        if _rtol(a.name) and x[c].dtype.is_float() and y[c].dtype.is_float():
            u, v = x[c].to_numpy(), y[c].to_numpy()
            if np.allclose(u, v, rtol=_rtol(a.name), atol=0, equal_nan=True):
                continue
        bad.append(c)
    if bad:
        return f"{a.name}: columns {bad} differ"
    return None if _rtol(a.name) else f"{a.name}: same data, other bytes (metadata)"


def _json_diff(x, y, rtol: float | None, where: str) -> str | None:
    if isinstance(x, dict) and isinstance(y, dict):
        if x.keys() != y.keys():
            return f"{where}: keys differ"
        return next((d for k in x if (d := _json_diff(x[k], y[k], rtol, f"{where}.{k}"))), None)
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return f"{where}: lengths differ"
        return next((d for i, (u, v) in enumerate(zip(x, y)) if (d := _json_diff(u, v, rtol, f"{where}[{i}]"))),
                    None)
    if rtol and isinstance(x, float) and isinstance(y, float) and np.isclose(x, y, rtol=rtol, atol=0):
        return None
    return None if x == y else f"{where}: {x!r} vs {y!r}"


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("native")
    _run(out, {})
    return out


@pytest.mark.parametrize("name", list(variants()))
def test_outputs_are_identical_on_another_cpu(native, tmp_path, name):
    _run(tmp_path, variants()[name])
    mine, theirs = digests(native), digests(tmp_path)
    assert mine.keys() == theirs.keys()
    differ = [d for f in mine if mine[f] != theirs[f] and (d := broken_promise(native / f, tmp_path / f))]
    assert not differ, f"{name}: " + "; ".join(differ)


def test_the_variants_really_change_the_kernels():
    """The check above is only worth something if the variants switch something off."""
    if not _dispatch():
        pytest.skip("numpy dispatches no SIMD targets on this CPU")
    code = "from numpy._core._multiarray_umath import __cpu_features__ as f; print(sorted(k for k, v in f.items() if v))"
    env = {**os.environ, **variants()["no SIMD dispatch, 1 thread"]}
    native = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    reduced = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             check=True).stdout
    assert native != reduced


def test_cluster_labels_survive_last_bit_noise_in_the_features():
    """The general promise: inputs that differ in the last bits give ARI >= 0.99."""
    from sklearn.metrics import adjusted_rand_score

    from segment.cluster import cluster

    customers = pl.read_parquet(ROOT / "examples" / "data" / "synth" / "customers.parquet")
    features = ["avg_voice_min", "avg_data_mb", "avg_sms", "arpu"]
    rng = np.random.default_rng(0)
    # One ulp up or down, as another CPU's kernels would give; zeros stay zero (no sign flip).
    ulp = np.where(rng.random(customers.height) < 0.5, -1.0, 1.0) * np.finfo(np.float64).eps
    noisy = customers.with_columns(pl.Series(c, customers[c].to_numpy() * (1 + ulp)) for c in features)
    a = cluster(customers, id="customer_id", features=features, seed=1).table["cluster"].to_numpy()
    b = cluster(noisy, id="customer_id", features=features, seed=1).table["cluster"].to_numpy()
    assert adjusted_rand_score(a, b) >= 0.99
