"""The README is generated where it can be and checked where it cannot."""

from __future__ import annotations

import re

from tests.cli_reference import BEGIN, END, commands, reference
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    lines = [ln.split("#")[0].strip() for ln in first_block.strip().splitlines()]
    assert lines == ["make demo", "make test"]
    assert README.index("```sh") < README.index("\n## ")


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in script.splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert lines[-1] == "make test"
    # Before it only the install of Debian's Chromium for the report's browser test, as root and when missing.
    assert lines[:-1] == ['if [ "$(id -u)" = 0 ] && ! [ -x /usr/bin/chromium ]; then',
                          "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver",
                          "fi"]


def test_cli_reference_is_current():
    current = README.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert current == reference().strip(), "README CLI reference is stale: run `make docs`"


def test_every_command_has_a_walkthrough_section():
    for name in commands():
        assert f"### `segment {name}`" in README.split("## CLI reference")[0], name


def test_use_it_from_python_example_runs():
    import doctest

    section = README.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```pycon\n(.*?)```", section, re.S)
    assert blocks, "the section has no example"
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "README: Use it from Python", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert test.examples and runner.summarize(verbose=False).attempted == len(test.examples)
