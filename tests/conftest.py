"""Shared fixtures: paths, a CLI runner with stdout/stderr apart, real subprocesses."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# SEGMENT_SHARED_DATA: where ../shared/data is for a checkout elsewhere (a git worktree).
SHARED_DATA = Path(os.environ.get("SEGMENT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _limit_threads() -> None:
    """Give each xdist worker its share of the cores, before polars or numpy start their pools.

    Every worker otherwise starts one polars, OpenBLAS and OpenMP thread per
    core; with two workers on two cores that is four busy threads per core
    pair, and spinning pools made the rules calibration 4x slower under -n 2
    than alone. Subprocesses (the CLI tests) inherit the limit.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = str(max(1, cores // workers))
    # The xdist controller imports this first and its workers inherit its
    # environment: a worker replaces the controller's values, never a limit
    # the user set before running pytest.
    ours = set(os.environ.get("SEGMENT_TEST_THREADS", "").split(","))
    for var in ("POLARS_MAX_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        if var in ours or var not in os.environ:
            os.environ[var] = share
            ours.add(var)
    os.environ["SEGMENT_TEST_THREADS"] = ",".join(sorted(ours - {""}))


_limit_threads()

# Stable help output: no colour, fixed width.
os.environ.setdefault("TERMINAL_WIDTH", "100")
os.environ["NO_COLOR"] = "1"
os.environ.pop("FORCE_COLOR", None)


def digest(path: Path) -> str:
    """SHA-256 of a file, for asserts on output bytes.

    Comparing digests keeps a failure fast: pytest's diff of two large binary
    files once ran for over 15 minutes.
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def shared(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test when it is absent (fresh clones)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is only beside CI checkouts)")
    return path


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def cli():
    """Invoke the app in-process: ``cli(["rfm", path], input=b"...")`` -> Result."""
    from segment_cli.app import app

    runner = CliRunner()

    def invoke(args: list[str], input: bytes | str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def run_segment(args: list[str], *, input: bytes | None = None, cwd: Path | None = None,
                check: bool = False) -> subprocess.CompletedProcess:
    """Run ``segment`` as a real process (``python -m segment_cli``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "segment_cli", *map(str, args)], input=input,
                          capture_output=True, cwd=cwd, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"segment {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stderr.decode()}")
    return proc


def shell(script: str, *, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a shell pipeline where ``segment`` is this checkout's CLI."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    prelude = f'segment() {{ "{sys.executable}" -m segment_cli "$@"; }}\nset -o pipefail 2>/dev/null || true\n'
    return subprocess.run(["bash", "-c", prelude + script], capture_output=True, cwd=cwd, env=env,
                          timeout=600)


class DriverRows:
    """Rows that Spark actions returned to the driver, by call (see the ``driver_rows`` fixture)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    @property
    def total(self) -> int:
        return sum(n for _, n in self.calls)

    @property
    def largest(self) -> int:
        return max((n for _, n in self.calls), default=0)


@pytest.fixture
def driver_rows(monkeypatch):
    """Record every row a Spark DataFrame action brings to the driver (collect, toArrow, toPandas, ...).

    The Spark engine's promise is that only small tables (counts, breakpoints,
    samples of fixed size) reach the driver: a test runs a command on a small
    and a ten times larger input and checks that these counts do not grow.
    """
    from pyspark.sql.classic.dataframe import DataFrame

    rows = DriverRows()

    def wrap(name, size):
        original = getattr(DataFrame, name)

        def recorded(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            if name == "toLocalIterator":
                out = list(out)
            rows.calls.append((name, size(out)))
            return iter(out) if name == "toLocalIterator" else out

        monkeypatch.setattr(DataFrame, name, recorded)

    wrap("collect", len)
    wrap("toArrow", lambda table: table.num_rows)
    wrap("toPandas", len)
    wrap("toLocalIterator", len)
    return rows
