"""Every ``console`` example in docs/lifecycle.md runs and prints what the page shows.

Same conventions as the README's examples (``tests/test_readme_examples.py``):
blocks run in order in a scratch copy of ``examples/``; ``...`` on its own
line matches any lines. ``python -m tests.test_lifecycle_docs`` rewrites the
page's outputs from real runs.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest

from tests.conftest import ROOT
from tests.test_readme_examples import matches, parse_block, run_example

DOC = ROOT / "docs" / "lifecycle.md"


def blocks(text: str) -> list[tuple[str, list[str]]]:
    return [(cmd, expected) for block in re.findall(r"```console\n(.*?)```", text, re.S)
            for cmd, expected, _ in parse_block(block)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("examples")
    shutil.copytree(ROOT / "examples" / "data", work / "data")
    (work / "out").mkdir()
    return work


def test_doc_examples_run_and_match(workdir):
    examples = blocks(DOC.read_text())
    assert len(examples) >= 5
    for cmd, expected in examples:
        proc = run_example(cmd, workdir)
        assert proc.returncode == 0, f"$ {cmd}\n{proc.stderr}"
        if expected:
            actual = (proc.stdout + proc.stderr).rstrip("\n").splitlines()
            assert matches(expected, actual), (
                f"docs/lifecycle.md output differs for:\n$ {cmd}\n--- doc\n" + "\n".join(expected)
                + "\n--- actual\n" + "\n".join(actual) + "\n(python -m tests.test_lifecycle_docs rewrites it)")


def update() -> None:
    text = DOC.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "examples")
        shutil.copytree(ROOT / "examples" / "data", os.path.join(work, "data"))
        os.mkdir(os.path.join(work, "out"))
        pieces = re.split(r"(```console\n.*?```)", text, flags=re.S)
        for k, piece in enumerate(pieces):
            if not piece.startswith("```console"):
                continue
            lines: list[str] = []
            for cmd, expected, own in parse_block(piece[len("```console\n"):-3]):
                lines += own
                proc = run_example(cmd, work)
                if proc.returncode != 0:
                    raise SystemExit(f"$ {cmd}\n{proc.stderr}")
                if expected and not any(ln.strip() == "..." for ln in expected):
                    expected = [ln.rstrip() for ln in (proc.stdout + proc.stderr).rstrip("\n").splitlines()]
                lines += expected
            pieces[k] = "```console\n" + "\n".join(lines) + "\n```"
    DOC.write_text("".join(pieces))


if __name__ == "__main__":
    update()
