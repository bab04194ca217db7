"""Open a local HTML file in Debian's headless Chromium and record what happened.

The DevTools protocol is spoken over a pipe (``--remote-debugging-pipe``:
JSON messages separated by NUL on file descriptors 3 and 4), so the test
needs no driver download, no Python package and no listening port. Host
resolution is disabled (``--host-resolver-rules``), so a page that reaches
for a CDN fails loudly instead of silently working on a connected machine.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium() -> str | None:
    """The path of a real Chromium, or None (a snap stub that cannot start counts as none)."""
    for path in (os.environ.get("SEGMENT_CHROMIUM"), *CANDIDATES, shutil.which("chromium")):
        if path and os.path.isfile(path) and os.access(path, os.X_OK) and "/snap/" not in os.path.realpath(path):
            return path
    return None


@dataclass
class Visit:
    """What the browser saw while loading one page."""

    console: list[dict[str, Any]] = field(default_factory=list)  # Runtime.consoleAPICalled / Log.entryAdded
    exceptions: list[dict[str, Any]] = field(default_factory=list)  # Runtime.exceptionThrown
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    failed: list[str] = field(default_factory=list)  # Network.loadingFailed error texts
    result: Any = None  # the value of the probe expression
    screenshot: bytes = b""  # PNG

    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions, as text."""
        out = [json.dumps(e, sort_keys=True)[:300] for e in self.exceptions]
        for entry in self.console:
            level = entry.get("type") or entry.get("level")
            if level in ("error", "assert"):
                out.append(json.dumps(entry, sort_keys=True)[:300])
        return out


class _Pipe:
    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int):
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit code {self.proc.poll()})")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)


def visit(path: str | Path, probe: str, *, width: int = 1200, height: int = 900, timeout: float = 60.0) -> Visit:
    """Load *path* (a local file) in headless Chromium, evaluate *probe* (a JavaScript
    expression whose value is returned by value) and take a full-page screenshot."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="segment-chromium-")

    def child_fds() -> None:  # the protocol pipe is fds 3 (commands in) and 4 (replies out)
        # Copies first: dup2 onto the same number would keep its close-on-exec flag.
        commands, replies = os.dup(to_browser_r), os.dup(from_browser_w)
        os.dup2(commands, 3)
        os.dup2(replies, 4)
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)

    args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={width},{height}", "about:blank"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=child_fds, close_fds=False)
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(proc, to_browser_w, from_browser_r)
    out = Visit()
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        pipe.events.clear()
        pipe.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired", timeout=timeout)
        # Let late scripts, fonts and network attempts happen before reading the page.
        pipe.send("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 300))", "awaitPromise": True},
                  session=session)
        reply = pipe.send("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session)
        out.result = reply.get("result", {}).get("value")
        shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                         session=session, timeout=timeout)
        out.screenshot = base64.b64decode(shot["data"])
        for event in pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                out.console.append({"type": params.get("type"),
                                    "text": " ".join(str(a.get("value", a.get("description", "")))
                                                     for a in params.get("args", []))})
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                out.console.append({"level": entry.get("level"), "text": entry.get("text"), "url": entry.get("url")})
            elif method == "Runtime.exceptionThrown":
                out.exceptions.append(params.get("exceptionDetails", {}))
            elif method == "Network.requestWillBeSent":
                out.requests.append(params.get("request", {}).get("url", ""))
            elif method == "Network.loadingFailed":
                out.failed.append(params.get("errorText", ""))
        try:
            pipe.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError):
            pass
    finally:
        os.close(to_browser_w)
        os.close(from_browser_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return out
