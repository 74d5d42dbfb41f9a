"""The compose project's app and worker (standard library only: the image has Debian's python3).

``app``: HTTP on 127.0.0.1:$SHOP_APP_PORT, GET /health 200 when PostgreSQL and Redis accept connections.
``worker``: writes a heartbeat every second after a Redis PING. ``health`` and ``heartbeat`` are the two
healthchecks. Fault hooks (files in /faults): app-unhealthy (/health answers 503), worker-crash (the worker
logs an ERROR and exits 1: the engine restarts it), worker-hog (the worker holds 100 MiB).
"""

from __future__ import annotations

import http.server
import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

FAULTS = Path("/faults")
HEARTBEAT = Path("/tmp/heartbeat")


def log(level: str, message: str) -> None:
    """One line on stdout (docker logs), with a timestamp like the runbooks' services."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {level} {message}", flush=True)


def reachable(port: int) -> bool:
    """A TCP connection to 127.0.0.1:port succeeds within 1 s."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def redis_ping(port: int) -> bool:
    """Redis answers PING with PONG."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /health only."""

    def do_GET(self) -> None:
        if self.path != "/health":
            self.send_error(404)
            return
        problems = []
        if (FAULTS / "app-unhealthy").exists():
            problems.append("fault app-unhealthy")
        if not reachable(int(os.environ["SHOP_PG_PORT"])):
            problems.append("postgresql unreachable")
        if not redis_ping(int(os.environ["SHOP_REDIS_PORT"])):
            problems.append("redis unreachable")
        body = (b'{"status": "ok"}' if not problems else b'{"status": "error"}') + b"\n"
        if problems:
            log("ERROR", f"health: {', '.join(problems)}")
        self.send_response(503 if problems else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Access lines would drown the log; errors are logged by do_GET."""


def app() -> None:
    """Serve until stopped."""
    port = int(os.environ["SHOP_APP_PORT"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    log("INFO", f"app listening on 127.0.0.1:{port}")
    server.serve_forever()


def worker() -> None:
    """Heartbeat after each Redis PING; the fault hooks crash it or make it hold memory."""
    port = int(os.environ["SHOP_REDIS_PORT"])
    held: list[bytearray] = []
    log("INFO", "worker started")
    while True:
        if (FAULTS / "worker-crash").exists():
            log("ERROR", "worker: cannot process jobs (fault worker-crash), exiting")
            sys.exit(1)
        if (FAULTS / "worker-hog").exists() and not held:
            # 100 MiB, every page written so it is resident (and charged to the container's cgroup).
            held.extend(bytearray(b"x" * (1 << 20)) for _ in range(100))
            log("WARNING", "worker: holding 100 MiB (fault worker-hog)")
        elif not (FAULTS / "worker-hog").exists() and held:
            held.clear()
        if redis_ping(port):
            HEARTBEAT.write_text(str(time.time()))
        else:
            log("ERROR", "worker: redis unreachable")
        time.sleep(1.0)


def health() -> int:
    """Exit 0 when GET /health answers 200."""
    url = f"http://127.0.0.1:{os.environ['SHOP_APP_PORT']}/health"
    try:
        with urllib.request.urlopen(url, timeout=1.5) as answer:
            return 0 if answer.status == 200 else 1
    except OSError:
        return 1


def heartbeat() -> int:
    """Exit 0 when the worker's heartbeat is under 5 s old."""
    try:
        return 0 if time.time() - float(HEARTBEAT.read_text()) < 5.0 else 1
    except (OSError, ValueError):
        return 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "app"
    if command == "app":
        app()
    elif command == "worker":
        worker()
    elif command == "health":
        sys.exit(health())
    elif command == "heartbeat":
        sys.exit(heartbeat())
    else:
        sys.exit(f"unknown command {command}")
