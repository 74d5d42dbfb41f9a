"""LOAD-WS-CONCURRENT: raw WebSocket sessions through the proxy, authenticated, exchanging, held open.

websocket-client is a blocking client; under Locust's gevent monkey patching its sockets (and TLS)
are cooperative, so thousands of sessions each block in their own greenlet in one process.
Every connect, message and hold is reported through ``environment.events.request`` so it shows in
Locust's statistics, CSV and HTML like any HTTP request:

* ``WS-CONNECT <path>``: the handshake (TCP, TLS, upgrade); a failure is a failed handshake;
* ``WS-ECHO <path>``: one message round trip;
* ``WS-HOLD <path>``: one per session that stayed open for hold_s (a failure if it dropped before);
* ``WS-OPEN <path>``: one per session open at once when the last session has been held hold_s.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import gevent
import gevent.lock
import websocket
from _infragate import Spec, client_ssl_context, rebase, redact, scenario_source
from locust import User, events, task
from locust.env import Environment

from infragate.load import WS_CONNECT, WS_ECHO, WS_HOLD, WS_OPEN

# Sessions open in this process, reported at the end as WS-OPEN (per process; Locust sums workers).
_OPEN: set[WebSocketSessionUser] = set()
# Set when Locust has spawned every user (workers hear it from the master), plus one message interval.
_ALL_OPEN_AFTER: float | None = None


class _TokenCache:
    """One login per generator process and scenario: the WebSocket load is about sessions, not logins."""

    def __init__(self) -> None:
        self._lock = gevent.lock.Semaphore()
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, environment: Environment, spec: Spec) -> str:
        """A valid access token for the scenario's token_url, logging in when needed."""
        with self._lock:  # 5,000 greenlets starting at once must not log in 5,000 times
            cached = self._tokens.get(spec["name"])
            if cached and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = _login(environment, spec)
            self._tokens[spec["name"]] = (token, time.monotonic() + 0.8 * lifetime)
            return token


_TOKENS = _TokenCache()


def _login(environment: Environment, spec: Spec) -> tuple[str, float]:
    """POST username/password (from the environment variable the inventory names) to token_url."""
    url = spec["token_url"]
    password = os.environ.get(spec["password_env"] or "", "")
    body = json.dumps({"username": spec["username"], "password": password}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    context = client_ssl_context(spec["ca_bundle"]) if url.startswith("https:") else None
    start = time.perf_counter()
    error: Exception | None = None
    data: dict[str, Any] = {}
    try:
        with urllib.request.urlopen(request, timeout=float(spec["timeout_s"]), context=context) as resp:
            data = json.loads(resp.read())
    except Exception as exc:  # reported as a failed request, then raised
        error = RuntimeError(redact(f"login failed: {exc}", password))
    environment.events.request.fire(
        request_type="POST",
        name=f"{urlsplit(url).path} (ws token)",
        response_time=(time.perf_counter() - start) * 1000,
        response_length=0,
        exception=error,
        context={},
    )
    if error is not None:
        raise error
    return str(data["access_token"]), float(data.get("expires_in") or 300)


class WebSocketSessionUser(User):
    """One WebSocket session: connect (authenticated), echo a message every interval, stay open."""

    checks = ("LOAD-WS-CONCURRENT",)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.spec = scenario_source().next_for(self.checks)
        self.url = rebase(self.spec["url"], environment.host)
        self.path = urlsplit(self.url).path or "/"
        self.ws: websocket.WebSocket | None = None
        self.token: str | None = None
        self.opened_at = 0.0
        self.held = False

    def wait_time(self) -> float:
        """The task paces itself."""
        return 0.0

    def _report(
        self,
        kind: str,
        elapsed_ms: float,
        error: Exception | None = None,
        length: int = 0,
        name: str | None = None,
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name or self.path,
            response_time=elapsed_ms,
            response_length=length,
            exception=error,
            context={},
        )

    def _connect_url(self) -> str:
        if not self.spec.get("token_url"):
            return self.url
        token = self.token = _TOKENS.get(self.environment, self.spec)
        parts = urlsplit(self.url)
        query = "&".join(q for q in (parts.query, urlencode({self.spec["token_param"]: token})) if q)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

    def on_start(self) -> None:
        """Open the session: one attempt; a failed handshake is counted and never retried."""
        start = time.perf_counter()
        try:
            url = self._connect_url()
            context = client_ssl_context(self.spec["ca_bundle"]) if url.startswith("wss:") else None
            self.ws = websocket.create_connection(
                url,
                timeout=float(self.spec["timeout_s"]),
                sslopt={"context": context} if context else None,
                enable_multithread=False,
                # websocket-client invents "Origin: https://<host>" by default; a server that checks Origin
                # (WS-ORIGIN-CHECK) rightly refuses it. Send the declared origin, or none (a non-browser).
                origin=self.spec.get("origin"),
                suppress_origin=self.spec.get("origin") is None,
            )
        except Exception as exc:
            self._report(WS_CONNECT, (time.perf_counter() - start) * 1000, self._error("handshake", exc))
            return
        self._report(WS_CONNECT, (time.perf_counter() - start) * 1000)
        self.opened_at = time.monotonic()
        _OPEN.add(self)
        # Spread the first messages over one interval: sessions opened together must not echo in lockstep.
        gevent.sleep(random.uniform(0, float(self.spec["message_interval_s"])))

    def _error(self, what: str, exc: Exception) -> Exception:
        """A short, groupable failure text: the status for a refused upgrade, never the token."""
        if isinstance(exc, websocket.WebSocketBadStatusException):
            return RuntimeError(f"{what}: HTTP {exc.status_code} instead of 101 Switching Protocols")
        text = redact(f"{what}: {type(exc).__name__}: {exc}", self.token)
        return RuntimeError(text[:200])

    @task
    def exchange(self) -> None:
        """Send one message, expect it back; after hold_s report the session as held."""
        ws = self.ws
        if ws is None:
            # A session that failed or dropped stays an idle user: ending it would make Locust's ramp-up
            # spawn a replacement, turning one failed handshake into a retry storm.
            gevent.sleep(3600)
            return
        payload = f"{self.spec['message']} {id(self):x} {time.monotonic():.6f}"
        start = time.perf_counter()
        try:
            ws.send(payload)
            reply = ws.recv()
            if reply != payload:
                raise RuntimeError(f"unexpected reply ({len(reply)} bytes)")
        except Exception as exc:
            self._report(WS_ECHO, (time.perf_counter() - start) * 1000, self._error("message", exc))
            self._drop(exc)
            return
        elapsed = (time.perf_counter() - start) * 1000
        # Messages sent once every session is open are also filed under "<path> (all open)": the figure
        # a capacity run wants (the plain line includes the ramp-up, when handshakes compete for CPU).
        steady = _ALL_OPEN_AFTER is not None and time.monotonic() >= _ALL_OPEN_AFTER
        self._report(WS_ECHO, elapsed, length=len(reply), name=f"{self.path} (all open)" if steady else None)
        held_for = time.monotonic() - self.opened_at
        if not self.held and held_for >= float(self.spec["hold_s"]):
            self.held = True
            self._report(WS_HOLD, held_for * 1000)
        gevent.sleep(float(self.spec["message_interval_s"]))

    def _drop(self, exc: Exception) -> None:
        """A session that broke: not held (if it had not been yet), and closed; no reconnection."""
        if not self.held:
            held_for = time.monotonic() - self.opened_at
            self._report(WS_HOLD, held_for * 1000, self._error(f"dropped after {held_for:.0f} s", exc))
        self.on_stop()

    def on_stop(self) -> None:
        """Close the session."""
        _OPEN.discard(self)
        ws, self.ws = self.ws, None
        if ws is not None:
            # A close frame, then the socket closed without waiting for the server's answer: at the end
            # of a run thousands of sessions close at once, and a distributed worker must send its final
            # statistics to the master within half a second of being told to quit.
            with contextlib.suppress(Exception):  # closing a broken socket: nothing to report
                ws.send_close()
            with contextlib.suppress(Exception):
                ws.shutdown()


def _count_open() -> None:
    """One WS-OPEN per session open right now (summed over workers by Locust's regular reports)."""
    for user in list(_OPEN):
        if user.ws is not None and user.ws.connected:
            user._report(WS_OPEN, 0.0)


@events.spawning_complete.add_listener
def _all_spawned(user_count: int, **_kwargs: Any) -> None:
    """Every user is spawned: schedule the "all open" mark and the count of open sessions."""
    global _ALL_OPEN_AFTER
    specs = scenario_source().for_checks(("LOAD-WS-CONCURRENT",))
    interval = max((float(s["message_interval_s"]) for s in specs), default=0.0)
    hold = max((float(s["hold_s"]) for s in specs), default=0.0)
    # One message interval after the last spawn, every session that will open is open.
    _ALL_OPEN_AFTER = time.monotonic() + interval
    # When the last session has been held hold_s, count the sessions open at that moment. Counted
    # mid-run on purpose: at the very end, a distributed worker's last report can miss the master.
    gevent.spawn_later(hold, _count_open)
