"""A real HTTP file server on 127.0.0.1 for the download tests, with the faults they need.

`FileServer(files)` serves ``files`` (URL path -> bytes) from a ``ThreadingHTTPServer`` on a
free port in a background thread, and records every request. It honours ``Range: bytes=N-``
(206, or 416 past the end) unless ``honour_range=False``, and `truncate_next` makes the next
response to a path announce the whole length but stop after a few bytes: it hangs up, or it
stalls (sends nothing more until the server stops) so that the client's read times out.
"""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RANGE = re.compile(r"bytes=(\d+)-$")


class FileServer:
    """Serve `files` on ``http://127.0.0.1:<port>``; use it as a context manager."""

    def __init__(self, files: dict[str, bytes], honour_range: bool = True):
        self.files = dict(files)
        self.honour_range = honour_range
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.truncated: dict[str, tuple[int, bool]] = {}  # path -> (bytes sent, stall), once
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        # A short poll interval: shutdown() waits for one, and each test shuts a server down.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def truncate_next(self, path: str, after: int, stall: bool = False) -> None:
        """The next GET of `path` sends `after` bytes of its body, then hangs up (or stalls)."""
        self.truncated[path] = (after, stall)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked = self.headers.get("Range")
            server.requests.append((self.path, asked))
            data = server.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            match = RANGE.match(asked) if asked and server.honour_range else None
            start = int(match.group(1)) if match else 0
            if start >= len(data) > 0:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data[start:]
            self.send_response(206 if match else 200)
            if match:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            after, stall = server.truncated.pop(self.path, (len(body), False))
            self.wfile.write(body[:after])
            if stall:
                self.wfile.flush()
                server.stopping.wait(timeout=10)

        def log_message(self, format, *args) -> None:
            pass  # keep the test output clean

    return Handler


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def silent_listener() -> socket.socket:
    """A socket that accepts connections (the kernel does) but never answers: a timeout."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s
