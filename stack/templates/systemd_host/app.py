"""The systemd host's service unit (app.service): a tiny HTTP server on loopback, logging to the journal.

GET /health answers {"status": "ok"}. SIGUSR1 makes it log three ERROR lines (the unit-journal-errors
fault of the stack): errors that reach the journal the way a real service's do, through its stdout.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType


def log(level: str, message: str) -> None:
    # journald stamps each line itself: the level word is what an error pattern looks for.
    print(f"{level} app: {message}", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/health"
        body = json.dumps({"status": "ok"} if ok else {"error": "not found"}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log("INFO", format % args)


def errors(signum: int, frame: FrameType | None) -> None:
    for attempt in range(1, 4):
        log("ERROR", f"upstream connection refused (attempt {attempt}/3)")


def main() -> None:
    port = int(os.environ["APP_PORT"])
    signal.signal(signal.SIGUSR1, errors)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    log("INFO", f"listening on 127.0.0.1:{port}")
    server.serve_forever()


if __name__ == "__main__":
    main()
