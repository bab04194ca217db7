"""The report opened in a real headless Chromium, offline, as a manager would open the mail attachment.

Skips (one line) where Debian's ``chromium`` is not installed; ``.ci/run``
installs it when it runs as root. Runs in one xdist group, so that two
browsers never compete for the machine's two cores.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.browser import chromium, visit
from tests.test_report import ALL, source

pytestmark = [
    pytest.mark.skipif(chromium() is None, reason="no Chromium: apt-get install chromium chromium-driver"),
    pytest.mark.xdist_group("browser"),
]

# Per chart: its name, the SVGs/canvases in its container, and the marks drawn in them.
PROBE = """Array.from(document.querySelectorAll('.chart')).map(c => ({
  chart: c.dataset.chart,
  drawings: c.querySelectorAll('svg, canvas').length,
  marks: c.querySelectorAll('svg .role-mark > *').length,
  width: c.getBoundingClientRect().width,
}))"""


def distinct_bytes(png: bytes) -> int:
    """How many different byte values the decoded image data holds (a blank page has a handful)."""
    pos, idat = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    from segment.report import report

    rep = report([source(n) for n in ALL], title="Browser check")
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(rep.html)
    return rep, visit(path, PROBE)


def test_no_console_errors(opened):
    _, seen = opened
    assert seen.errors() == []


def test_no_request_leaves_the_file(opened):
    _, seen = opened
    assert seen.requests and all(url.startswith("file://") for url in seen.requests), seen.requests
    assert seen.failed == []


def test_every_chart_has_rendered_with_marks(opened):
    rep, seen = opened
    assert [c["chart"] for c in seen.result] == [c.name for c in rep.charts]
    for chart in seen.result:
        assert chart["drawings"] == 1 and chart["marks"] > 0 and chart["width"] > 50, chart


def test_screenshot_is_not_blank(opened):
    _, seen = opened
    assert seen.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert distinct_bytes(seen.screenshot) > 50


def test_a_page_that_reaches_out_is_caught(tmp_path):
    # The checks above can fail: a CDN script is blocked, and both the request and the error are seen.
    page = tmp_path / "cdn.html"
    page.write_text('<!DOCTYPE html><html><body><div class="chart"></div>'
                    '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script></body></html>')
    seen = visit(page, PROBE)
    assert any(url.startswith("https://") for url in seen.requests)
    assert seen.errors()
    assert seen.result[0]["drawings"] == 0
