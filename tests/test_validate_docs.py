"""The console examples in docs/validate-segment.md run and print what the page shows.

Same rules as the README examples (tests/test_readme_examples.py): run in a
scratch copy of examples/, ``$ `` starts a command, the following lines are
its stdout and stderr. ``python -m tests.test_validate_docs`` rewrites the
outputs from real runs.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from tests.conftest import ROOT
from tests.test_readme_examples import matches, parse_block, run_example

DOC = ROOT / "docs" / "validate-segment.md"
_BLOCK = re.compile(r"(```console\n.*?```)", re.S)


def _scratch(folder: Path) -> Path:
    work = folder / "examples"
    shutil.copytree(ROOT / "examples" / "data", work / "data")
    (work / "out").mkdir()
    return work


def test_doc_examples_run_and_match(tmp_path):
    work = _scratch(tmp_path)
    blocks = [b for b in _BLOCK.findall(DOC.read_text())]
    assert len(blocks) >= 3
    for block in blocks:
        for cmd, expected, _ in parse_block(block[len("```console\n"):-3]):
            proc = run_example(cmd, work)
            assert proc.returncode == 0, f"$ {cmd}\n{proc.stderr}"
            actual = (proc.stdout + proc.stderr).rstrip("\n").splitlines()
            assert not expected or matches(expected, actual), (
                f"docs example output differs for:\n$ {cmd}\n--- docs\n" + "\n".join(expected)
                + "\n--- actual\n" + "\n".join(actual))


def update() -> None:
    """Rewrite the expected outputs in the page from real runs."""
    with tempfile.TemporaryDirectory() as tmp:
        work = _scratch(Path(tmp))
        pieces = _BLOCK.split(DOC.read_text())
        for k, piece in enumerate(pieces):
            if not piece.startswith("```console"):
                continue
            lines: list[str] = []
            for cmd, _, own in parse_block(piece[len("```console\n"):-3]):
                proc = run_example(cmd, work)
                if proc.returncode != 0:
                    raise SystemExit(f"$ {cmd}\n{proc.stderr}")
                lines += own + [ln.rstrip() for ln in (proc.stdout + proc.stderr).rstrip("\n").splitlines()]
            pieces[k] = "```console\n" + "\n".join(lines) + "\n```"
    DOC.write_text("".join(pieces))


if __name__ == "__main__":
    update()
