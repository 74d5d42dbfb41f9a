"""Small real servers on loopback for offline probe tests (no mocks: real sockets, real TLS)."""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextmanager
def http_server(
    handle: Handler, *, tls: ssl.SSLContext | None = None, protocol: str = "HTTP/1.0"
) -> Iterator[int]:
    """Serve every request with ``handle`` on 127.0.0.1 (status lines in ``protocol``); yields the port."""

    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = protocol

        def do_GET(self) -> None:
            handle(self)

        do_OPTIONS = do_POST = do_GET

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def blackhole() -> Iterator[int]:
    """A listening socket that never accepts nor answers: connects succeed, reads time out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def accept_silent() -> Iterator[int]:
    """A server that accepts every connection and never sends a byte (a hung TLS or HTTP server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:  # closed at the end
                return
            held.append(conn)  # kept open and never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        thread.join(5)
        for conn in held:
            conn.close()


@contextmanager
def full_backlog() -> Iterator[int]:
    """A loopback blackhole: a listener with a full accept queue drops new SYNs (connect times out)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port: int = sock.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(4):  # listen(0) queues one or two connections; more fill it for sure
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        sock.close()


def closed_port() -> int:
    """A port nothing listens on (bound then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def reply(status: int, body: str = "", headers: dict[str, str] | None = None) -> Handler:
    """A handler answering every request the same way."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        data = body.encode()
        req.send_response(status)
        for name, value in (headers or {}).items():
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    return handle
