"""Every ``console`` example in the README runs, and prints what the README shows.

Blocks are run in order, in a scratch copy of ``examples/`` (so ``data/`` and
``out/`` resolve as in the README). A line starting with ``$ `` is a command
(``\\`` continues it); the lines after it are the expected stdout and stderr
together. ``...`` on its own line matches any lines; a command with no
expected lines is only required to succeed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def parse_block(body: str) -> list[tuple[str, list[str], list[str]]]:
    """(command, expected output lines, the command's own README lines) per example."""
    out = []
    lines = body.rstrip("\n").splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise AssertionError(f"console block line is not a command: {lines[i]!r}")
        start, cmd = i, lines[i][2:]
        while cmd.endswith("\\"):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        i += 1
        own = lines[start:i]
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        out.append((cmd, expected, own))
    return out


def examples() -> list[tuple[str, list[str]]]:
    return [(cmd, expected) for block in re.findall(r"```console\n(.*?)```", README, re.S)
            for cmd, expected, _ in parse_block(block)]


def matches(expected: list[str], actual: list[str]) -> bool:
    pattern = "\n".join(".*?" if ln.strip() == "..." else re.escape(ln.rstrip()) for ln in expected)
    pattern = pattern.replace("\n.*?\n", "(\n.*?)?\n").replace(".*?", "(?s:.*?)")
    return re.fullmatch(pattern, "\n".join(ln.rstrip() for ln in actual)) is not None


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("examples")
    shutil.copytree(ROOT / "examples" / "data", work / "data")
    (work / "out").mkdir()
    return work


def test_readme_has_examples():
    assert len(examples()) >= 3


def test_readme_examples_run_and_match(workdir):
    for cmd, expected in examples():
        proc = run_example(cmd, workdir)
        assert proc.returncode == 0, f"$ {cmd}\n{proc.stderr}"
        if expected:
            actual = (proc.stdout + proc.stderr).rstrip("\n").splitlines()
            # `make docs` (python -m tests.test_readme_examples) rewrites the README outputs.
            assert matches(expected, actual), (
                f"README example output differs for:\n$ {cmd}\n--- README\n" + "\n".join(expected)
                + "\n--- actual\n" + "\n".join(actual))


def run_example(cmd: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    prelude = f'segment() {{ "{sys.executable}" -m cli "$@"; }}\n'
    return subprocess.run(["bash", "-c", prelude + cmd], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def update_readme() -> None:
    """Rewrite expected outputs in the README from real runs (blocks with ``...`` are kept)."""
    import tempfile

    text = README
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "examples")
        shutil.copytree(ROOT / "examples" / "data", os.path.join(work, "data"))
        os.mkdir(os.path.join(work, "out"))
        pieces = re.split(r"(```console\n.*?```)", text, flags=re.S)
        for k, piece in enumerate(pieces):
            if not piece.startswith("```console"):
                continue
            new_lines: list[str] = []
            for cmd, expected, own in parse_block(piece[len("```console\n"):-3]):
                new_lines += own
                proc = run_example(cmd, work)
                if proc.returncode != 0:
                    raise SystemExit(f"$ {cmd}\n{proc.stderr}")
                if expected and not any(ln.strip() == "..." for ln in expected):
                    expected = [ln.rstrip() for ln in (proc.stdout + proc.stderr).rstrip("\n").splitlines()]
                new_lines += expected
            pieces[k] = "```console\n" + "\n".join(new_lines) + "\n```"
        text = "".join(pieces)
    (ROOT / "README.md").write_text(text)


if __name__ == "__main__":
    update_readme()
