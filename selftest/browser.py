"""Headless Chromium (Debian ``chromium``) for the report page's self-tests: what a person sees.

``look(page)`` opens a file in a real browser and returns what is rendered: the visible text (CSS
applied: ``innerText``), where elements land on the screen and their computed colours, read over the
DevTools protocol. ``screenshot(page, png)`` saves a picture of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

__all__ = ["CHROMIUM", "look", "screenshot"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# No sandbox: the self-tests run as root in a container. No GPU, no first-run UI, no network fetches.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--mute-audio"]

# Runs in the page: what a person sees, positions in CSS pixels of the first screen.
PROBE = """(() => {
  const box = (sel) => { const e = document.querySelector(sel); if (!e) return null;
    const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, text: e.innerText}; };
  const causes = [...document.querySelectorAll('article.cause h3')].map(e => e.innerText);
  const header = document.querySelector('header');
  return JSON.stringify({
    title: document.title, text: document.body.innerText, viewport: window.innerHeight,
    verdict: box('header .verdict'), reason: box('header .reason'), causes: causes,
    firstCause: box('article.cause'), grid: box('#grid'), load: box('#load'),
    headerColour: header ? getComputedStyle(header).backgroundColor : null,
    failedCells: document.querySelectorAll('td.cell.failed').length,
    blockedCells: document.querySelectorAll('td.cell.blocked').length,
    passedCells: document.querySelectorAll('td.cell.passed').length,
  });
})()"""


def _devtools_port(proc: subprocess.Popen[str], deadline: float) -> int:
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
        if found:
            return int(found.group(1))
    raise RuntimeError("chromium did not open its DevTools port")


def look(page: Path, *, width: int = 1280, height: int = 900, timeout: float = 60.0) -> dict[str, Any]:
    """Render ``page`` in headless Chromium and return what the PROBE reads from the rendered page."""
    if CHROMIUM is None:
        raise RuntimeError("chromium is not installed (stack/debian-packages.txt)")
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--window-size={width},{height}",
            page.resolve().as_uri(),
        ]
        # The context manager closes the stderr pipe; the browser is stopped by its own PID.
        with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
            try:
                port = _devtools_port(proc, deadline)
                return _evaluate(port, page, deadline)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _evaluate(port: int, page: Path, deadline: float) -> dict[str, Any]:
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
            targets = json.load(answer)
        tabs = [t for t in targets if t.get("type") == "page" and t.get("url", "").endswith(page.name)]
        if tabs or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # polling for the tab to exist, up to the deadline
    if not tabs:
        raise RuntimeError(f"chromium opened no tab for {page}: {targets}")
    with connect(tabs[0]["webSocketDebuggerUrl"], open_timeout=10, max_size=None) as ws:
        ask = 0

        def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal ask
            ask += 1
            ws.send(json.dumps({"id": ask, "method": method, "params": params}))
            while True:
                message = json.loads(ws.recv(timeout=max(1.0, deadline - time.monotonic())))
                if message.get("id") == ask:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return dict(message.get("result") or {})

        ready = "document.readyState === 'complete' && document.querySelector('main') !== null"
        while True:  # polling until the page's document is complete, up to the deadline
            state = call("Runtime.evaluate", expression=ready, returnByValue=True)
            if state.get("result", {}).get("value") is True or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        found = call("Runtime.evaluate", expression=PROBE, returnByValue=True)
        if "exceptionDetails" in found or "value" not in found.get("result", {}):
            raise RuntimeError(f"reading the rendered page failed: {found}")
        result: dict[str, Any] = json.loads(found["result"]["value"])
        return result


def screenshot(
    page: Path, png: Path, *, width: int = 1280, height: int = 1000, timeout: float = 60.0
) -> Path:
    """Save what headless Chromium shows of ``page`` (the first ``height`` pixels) to ``png``."""
    if CHROMIUM is None:
        raise RuntimeError("chromium is not installed (stack/debian-packages.txt)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            page.resolve().as_uri(),
        ]
        subprocess.run(cmd, capture_output=True, timeout=timeout, check=True)
    return png
