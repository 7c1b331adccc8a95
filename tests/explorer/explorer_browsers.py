"""Real headless browsers for the explorer's end-to-end tests, behind one small interface.

- Chromium: Debian's ``chromium``, driven by Playwright (``executable_path``: Playwright's
  own browser downloads are not reachable from CI).
- Firefox: Debian's ``firefox-esr``, driven through the WebDriver BiDi protocol that
  Firefox itself serves (``--remote-debugging-port``), over a websocket. Playwright's
  Firefox needs Playwright's patched build, and its BiDi mode ("moz-firefox") sends
  commands this Firefox ESR does not know yet; Selenium needs geckodriver, which Debian
  12 does not package. BiDi needs neither.

Each browser opens a page, presses keys, clicks, evaluates JavaScript (results come
back as JSON) and takes screenshots. `unavailable(name)` says why a browser cannot run.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

VIEWPORT = {"width": 1400, "height": 850}
CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"


def unavailable(name: str) -> str | None:
    """Why browser `name` cannot run here, or None when it can."""
    executable, package = (CHROMIUM, "playwright") if name == "chromium" else (FIREFOX, "websocket")
    if not Path(executable).exists():
        debian = "chromium" if name == "chromium" else "firefox-esr"
        return f"{executable} is not installed (apt-get install {debian}; .ci/run does)"
    if importlib.util.find_spec(package) is None:
        return f"the Python package {package} is missing (pip install -e '.[test]')"
    return None


def launch(name: str):
    return Chromium() if name == "chromium" else Firefox()


class Chromium:
    """Debian's Chromium through Playwright."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM)
        self.page = None
        self.errors: list[str] = []
        self.requests: list[str] = []

    def open(self, path: Path) -> None:
        if self.page is not None:
            self.page.close()
        self.page = self._browser.new_page(viewport=VIEWPORT)
        self.errors, self.requests = [], []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(path.as_uri())

    def press(self, key: str) -> None:
        self.page.keyboard.press("Space" if key == " " else key)

    def click(self, selector: str) -> None:
        self.page.click(selector)

    def evaluate(self, expression: str):
        return self.page.evaluate(f"async () => ({expression})")

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()


# WebDriver's codes of the keys the explorer uses.
_KEYS = {"ArrowRight": "\ue014", "ArrowLeft": "\ue012", "Home": "\ue011", "End": "\ue010", " ": " "}


class Firefox:
    """Debian's Firefox ESR through its own WebDriver BiDi server."""

    def __init__(self) -> None:
        import websocket

        self._profile = tempfile.mkdtemp(prefix="chainrule-firefox-")
        self._process = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--profile", self._profile,
             "--remote-debugging-port=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: queue.Queue = queue.Queue()
        self._pump = threading.Thread(target=_pump, args=(self._process.stderr, lines), daemon=True)
        self._pump.start()
        url = None
        while url is None:
            line = lines.get(timeout=60)
            if line is None:
                raise RuntimeError(f"{FIREFOX} exited before serving WebDriver BiDi")
            match = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
            url = match and match[1]
        # Firefox refuses a websocket handshake that names an Origin.
        self._socket = websocket.create_connection(
            url + "/session", timeout=60, suppress_origin=True
        )
        self._id = 0
        self._send("session.new", capabilities={})
        self._context = self._send("browsingContext.getTree")["contexts"][0]["context"]
        self._send("browsingContext.setViewport", context=self._context, viewport=VIEWPORT)

    def _send(self, method: str, **params):
        self._id += 1
        self._socket.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") != self._id:
                continue  # an event
            if message.get("type") == "error":
                raise RuntimeError(f"Firefox: {method}: {message.get('message')}")
            return message["result"]

    def open(self, path: Path) -> None:
        self._send("browsingContext.navigate", context=self._context, url=path.as_uri(),
                   wait="complete")  # fmt: skip

    def press(self, key: str) -> None:
        code = _KEYS[key]
        actions = [{"type": "keyDown", "value": code}, {"type": "keyUp", "value": code}]
        self._send("input.performActions", context=self._context,
                   actions=[{"type": "key", "id": "keyboard", "actions": actions}])  # fmt: skip

    def click(self, selector: str) -> None:
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = (round(v) for v in box)
        actions = [
            {"type": "pointerMove", "x": x, "y": y},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        self._send("input.performActions", context=self._context,
                   actions=[{"type": "pointer", "id": "mouse", "actions": actions}])  # fmt: skip

    def evaluate(self, expression: str):
        result = self._send(
            "script.evaluate",
            expression=f"(async () => JSON.stringify(await ({expression})))()",
            target={"context": self._context},
            awaitPromise=True,
        )
        if result["type"] != "success":
            raise RuntimeError(f"Firefox: {expression}: {result.get('exceptionDetails')}")
        value = result["result"]
        return None if value["type"] == "undefined" else json.loads(value["value"])

    def screenshot(self, path: Path) -> None:
        data = self._send("browsingContext.captureScreenshot", context=self._context)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self._send("session.end")
            self._socket.close()
        finally:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._pump.join(timeout=30)
            self._process.stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)


def _pump(stream, lines: queue.Queue) -> None:
    """Read Firefox's stderr to its end (a full pipe would block it), line by line."""
    for line in stream:
        lines.put(line)
    lines.put(None)
