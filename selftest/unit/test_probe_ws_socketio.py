"""The Socket.IO conversation (open, CONNECT with auth, CONNECT_ERROR, event round trip, heartbeats while
idle), reply matchers and token placement, against a real python-socketio server under uvicorn."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import socketio
import uvicorn

from infragate.facts.websocket import dial
from infragate.inventory import InventoryError
from infragate.inventory._validate import build
from infragate.inventory.request import Condition
from infragate.inventory.websocket import Reply, WebSocketEndpoint
from infragate.probes import websocket, ws_session
from infragate.probes._base import Failure
from infragate.probes.ws_socketio import SocketIo, engineio_url
from selftest.unit.test_probe_ws_session import ws_server

TOKEN = "s3cret-token"
ALLOWED = "http://app.example.test"


def _app() -> Any:
    # Heartbeats every 0.2 s, 0.2 s to answer: a client that ignores them is cut within half a second.
    sio = socketio.AsyncServer(
        async_mode="asgi", cors_allowed_origins=[ALLOWED], ping_interval=0.2, ping_timeout=0.2
    )

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if not isinstance(auth, dict) or auth.get("token") != TOKEN:
            raise socketio.exceptions.ConnectionRefusedError("authentication failed")
        return True

    def pinger(namespace: str) -> Any:
        async def ping(sid: str, data: Any = None) -> Any:
            await sio.emit("pong", data, to=sid, namespace=namespace)
            return {"echo": data}

        return ping

    for namespace in ("/", "/chat"):
        sio.on("connect", connect, namespace=namespace)
        sio.on("ping", pinger(namespace), namespace=namespace)
    return socketio.ASGIApp(sio)


@contextmanager
def sio_server() -> Iterator[int]:
    """python-socketio's AsyncServer (ASGI) under uvicorn on 127.0.0.1, in a thread; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_app(), log_level="error", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.02)  # polling for start-up, not timing a result
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/socket.io/"


def _sio(token: str | None = TOKEN, **kw: Any) -> SocketIo:
    return SocketIo(auth=None if token is None else {"token": token}, event="ping", **kw)


def test_event_round_trip_with_valid_token() -> None:
    with sio_server() as port:
        ex = websocket.round_trip(
            _url(port),
            message="hello",
            timeout=3,
            conversation=_sio(expect_event="pong"),
            reply=Reply(equals="hello"),
        )
    assert ex.connected and ex.refused is None and ex.received == "hello" and ex.mismatch is None


def test_acknowledgement_is_the_reply_when_no_event_is_awaited() -> None:
    with sio_server() as port:
        ex = websocket.round_trip(
            _url(port),
            message="hi",
            timeout=3,
            conversation=_sio(),
            reply=Reply(json=(Condition(path="echo", equals="hi"),)),
        )
    assert ex.received == '{"echo": "hi"}' and ex.mismatch is None


def test_namespace_is_joined() -> None:
    with sio_server() as port:
        ex = websocket.round_trip(
            _url(port), message="ns", timeout=3, conversation=_sio(namespace="/chat", expect_event="pong")
        )
    assert ex.received == "ns" and ex.refused is None


@pytest.mark.parametrize("token", [None, "not-a-valid-token"], ids=["missing", "bad"])
def test_connect_error_is_a_refusal_not_an_outage(token: str | None) -> None:
    with sio_server() as port:
        s = ws_session.session(_url(port), message="x", timeout=3, conversation=_sio(token))
        ex = websocket.round_trip(_url(port), message="x", timeout=3, conversation=_sio(token), reply=Reply())
    assert not s.accepted and s.status == 101 and not s.unreachable and s.failure is Failure.PROTOCOL
    assert "CONNECT_ERROR" in s.refusal and "authentication failed" in s.refusal
    assert ex.connected and ex.refused is not None and ex.mismatch == ex.refused
    assert "CONNECT_ERROR" in ex.evidence


def test_session_with_valid_token_is_accepted_with_its_reply() -> None:
    with sio_server() as port:
        s = ws_session.session(_url(port), message="x", timeout=3, conversation=_sio(expect_event="pong"))
    assert s.accepted and s.reply == "x" and s.refusal.startswith("CONNECT accepted")


def test_foreign_origin_is_refused_at_the_upgrade() -> None:
    with sio_server() as port:
        bad = ws_session.session(_url(port), timeout=3, origin="https://evil.example", conversation=_sio())
        good = ws_session.session(_url(port), timeout=3, origin=ALLOWED, conversation=_sio())
    assert not bad.accepted and bad.status is not None and bad.status >= 400 and not bad.unreachable
    assert good.accepted


def test_idle_hold_answers_heartbeats_and_survives() -> None:
    # 1 s idle is five heartbeats: a client that did not answer them would be cut by the server.
    with sio_server() as port:
        target = ws_session.HoldTarget(_url(port), "idle", conversation=_sio(expect_event="pong"))
        (held,) = ws_session.hold_idle_many([target], hold_s=1.0, timeout=3)
    assert held.connected and held.survived, held.error


def test_idle_hold_refused_connect_does_not_survive() -> None:
    with sio_server() as port:
        target = ws_session.HoldTarget(_url(port), conversation=_sio(None))
        (held,) = ws_session.hold_idle_many([target], hold_s=0.1, timeout=3)
    assert held.connected and not held.survived and "CONNECT_ERROR" in (held.error or "")


def test_raw_websocket_server_is_not_mistaken_for_socketio() -> None:
    with ws_server() as port:
        s = ws_session.session(f"ws://127.0.0.1:{port}/", timeout=0.5, conversation=_sio())
    assert not s.accepted and s.failure is Failure.WS_SILENT and "no Engine.IO open packet" in (s.error or "")


def test_engineio_url_adds_the_websocket_transport() -> None:
    url = engineio_url("wss://h.example/socket.io/?tenant=a&EIO=3")
    assert url == "wss://h.example/socket.io/?tenant=a&EIO=4&transport=websocket"


@pytest.mark.parametrize(
    ("reply", "text", "problem"),
    [
        (Reply(equals="pong"), "pong", None),
        (Reply(equals="pong"), "pang", "expected 'pong'"),
        (Reply(prefix="pong:"), "pong: 3", None),
        (Reply(prefix="pong:"), "ping", "does not start with"),
        (Reply(matches=r"^\d+$"), "42", None),
        (Reply(matches=r"^\d+$"), "x", "does not match"),
        (Reply(json=(Condition(path="status", one_of=("ok",)),)), '{"status": "ok"}', None),
        (Reply(json=(Condition(path="status", equals="ok"),)), '{"status": "down"}', "status = 'down'"),
        (Reply(json=(Condition(path="a"),)), "not json", "is not JSON"),
        (Reply(), None, "no reply"),
    ],
)
def test_reply_matchers(reply: Reply, text: str | None, problem: str | None) -> None:
    found = websocket.reply_problem(text, reply)
    assert found == problem if problem is None else problem in (found or "")


def _endpoint(**keys: Any) -> WebSocketEndpoint:
    data = {"name": "e", "url": "ws://h.example/ws?v=1", **keys}
    return build(WebSocketEndpoint, data, "websocket.endpoints[0]", Path("."))


def test_token_placements() -> None:
    assert dial(_endpoint(auth=True), "T").url == "ws://h.example/ws?v=1&token=T"
    assert dial(_endpoint(auth=True, token_param="jwt"), "T").url.endswith("&jwt=T")
    header = dial(_endpoint(auth="app", token_in="header"), "T")
    assert header.headers == {"Authorization": "Bearer T"} and header.url == "ws://h.example/ws?v=1"
    custom = dial(
        _endpoint(auth=True, token_in="header", token_header="X-Token", token_format="{token}"), "T"
    )
    assert custom.headers == {"X-Token": "T"}
    assert dial(_endpoint(auth=True, token_in="subprotocol"), "T").subprotocols == ("T",)
    pair = _endpoint(auth=True, token_in="subprotocol", subprotocols=["access_token", "{token}"])
    assert dial(pair, "T").subprotocols == ("access_token", "T")
    assert dial(pair, None).subprotocols == ("access_token",)  # "missing": the token item is left out
    sio = dial(_endpoint(protocol="socketio", auth=True, token_in="auth", token_field="jwt"), "T")
    assert isinstance(sio.conversation, SocketIo) and sio.conversation.auth == {"jwt": "T"}
    missing = dial(_endpoint(protocol="socketio", auth=True, token_in="auth"), None).conversation
    assert isinstance(missing, SocketIo) and missing.auth is None


def test_defaults_keep_raw_query_echo() -> None:
    e = _endpoint()
    assert e.protocol == "raw" and e.token_in == "query" and not e.needs_token
    assert e.expected_reply == Reply(equals="ping")
    assert _endpoint(expect_reply="pong").expected_reply == Reply(equals="pong")


@pytest.mark.parametrize(
    ("keys", "rule"),
    [
        ({"token_in": "auth", "auth": True}, "needs protocol = 'socketio'"),
        ({"auth": True, "token_env": "H9_WS_TOKEN"}, "exclusive"),
        ({"reply": {"equals": "a"}, "expect_reply": "a"}, "exclusive"),
        ({"token_in": "header", "token_format": "Bearer"}, "must contain {token}"),
        ({"auth": 3}, "name of an auth entry"),
        ({"protocol": "stomp"}, "expected one of raw, socketio"),
        ({"reply": {"matches": "("}}, "valid regular expression"),
    ],
)
def test_bad_endpoint_keys_are_one_line_errors(
    keys: dict[str, Any], rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(os.environ, "H9_WS_TOKEN", "x")
    with pytest.raises(InventoryError, match=r"websocket\.endpoints\[0\]") as info:
        _endpoint(**keys)
    assert rule in str(info.value)
