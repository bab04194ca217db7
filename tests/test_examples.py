"""The example recipe (examples/Makefile) behaves as Make users expect.

It runs on the bundled data in a scratch copy of examples/, with this
checkout's CLI: builds everything with -j2, does nothing the second time,
re-runs only what depends on a touched input, stops at a failing gate
without leaving a target, and gives byte-identical outputs when rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_reference import commands
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
MAKEFILE = (EXAMPLES / "Makefile").read_text()


def _copy(dest: Path) -> Path:
    work = dest / "examples"
    work.mkdir()
    for name in ("Makefile", "summary.py"):
        shutil.copy2(EXAMPLES / name, work / name)
    shutil.copytree(EXAMPLES / "data", work / "data")
    return work


def make(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    argv = ["make", "--no-print-directory", f"SEGMENT={sys.executable} -m segment_cli", f"PYTHON={sys.executable}", *args]
    return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900)


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = _copy(tmp_path_factory.mktemp("recipe"))
    proc = make(work, "-j2", "all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work


def test_every_command_is_in_the_recipe():
    used = set(re.findall(r"\$\(SEGMENT\) ([a-z-]+)", MAKEFILE))
    assert set(commands()) <= used, set(commands()) - used


def test_recipe_builds_every_output(built):
    out = built / "out"
    for name in ("value_rfm.parquet", "value_clusters.parquet", "value_check.csv", "publish/value_profile.csv",
                 "publish/value_provenance.txt", "retail_rfm.parquet", "cdnow_rfm.parquet", "telco_rules.csv",
                 "synth_rules.csv", "contract_check.csv", "stages.parquet", "kpis.csv", "transitions.csv",
                 "stages_check.csv", "retail_stages.parquet", "pipeline_check.csv", "b2b_stages.parquet", "b2b_kpis.csv",
                 "b2b_profit_check.csv", "telco_survival.csv", "stage_survival.csv", "stage_calendar.csv"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.rglob("*.part")), "temporary files left behind"


def test_second_run_does_nothing(built):
    assert make(built, "-q", "all").returncode == 0  # -q: exit 0 when everything is up to date
    assert "Nothing to be done" in make(built, "all").stdout


def test_touching_an_input_reruns_only_what_depends_on_it(built):
    telco = built / "data" / "telco_churn.csv"
    stat = telco.stat()
    # Newer than every output, however old the checkout's files are (copytree keeps their mtimes).
    newer = max(p.stat().st_mtime for p in (built / "out").rglob("*")) + 60
    os.utime(telco, (stat.st_atime, newer))
    try:
        planned = make(built, "-n", "all").stdout
        steps = [ln for ln in planned.splitlines() if " -m segment_cli " in ln]
        reads = [s for s in steps if "telco_churn.csv" in s]
        # The three steps that read it, then the report that shows their outputs.
        assert len(reads) == 3 and [s for s in steps if s not in reads] == [steps[-1]], planned
        assert " report " in steps[-1] and "report.html" in steps[-1], planned
    finally:
        os.utime(telco, (stat.st_atime, stat.st_mtime))


def test_failing_gate_stops_the_chain_and_leaves_no_target(built):
    out = built / "out"
    for name in ("value_check.csv", "value_check.json", "publish/value_profile.csv"):
        (out / name).unlink()
    # Recency scores as the segmentation: real, but five groups are too fine for the data.
    proc = make(built, "VALUE_SEGMENT=r_score", "value")
    assert proc.returncode != 0
    assert "check failed: verdict is over-fine" in proc.stderr
    assert not (out / "value_check.csv").exists() and not (out / "value_check.json").exists()
    assert not (out / "publish" / "value_profile.csv").exists()
    assert make(built, "value").returncode == 0  # the real segmentation passes the gate again
    assert (out / "publish" / "value_profile.csv").exists()


def test_summary_reads_like_a_report(built):
    proc = make(built, "summary")
    assert proc.returncode == 0, proc.stderr
    assert "gate: VALID" in proc.stdout and "contract as a segment: VALID" in proc.stdout
    assert "stages:" in proc.stdout and "significant productive rules" in proc.stdout
    assert "month-to-month median lifetime 35 months" in proc.stdout


def test_rebuilding_from_scratch_gives_identical_bytes(built, tmp_path):
    again = _copy(tmp_path)
    proc = make(again, "all")  # serial this time: the order of the steps must not matter
    assert proc.returncode == 0, proc.stderr
    first, second = digests(built / "out"), digests(again / "out")
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, differing
