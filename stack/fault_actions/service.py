"""Faults of the service area: misconfigurations of the sample service's API, auth and WebSocket.

Most of them are deployment settings: the service reads ``<run>/service/overrides.json`` at startup
(``stack/service/app.py``, ``Overrides``), so applying or healing one rewrites that file from the active
markers and restarts the service when it changed. One is nginx's (``ws-proxy-read-timeout``), rendered by
``stack/config.py`` and reloaded by ``converge``. Data (expect_fail, messages): stack/faults.d/service.toml.
"""

from __future__ import annotations

import json
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect as ws_connect

from stack import config
from stack.faults import Action
from stack.layout import LOOPBACK
from stack.parts import Context, ServicePart

__all__ = ["ACTIONS", "overrides_for"]

TIMEOUT = 3.0
CLOSED_PORT = 1  # tcpmux: nothing listens there on this machine
WRONG_VERSION = "1.3.9"
DEFAULT_SECRET = "changeme"
FOREIGN_ORIGIN = "https://evil.example"
DECOY_ENV = "# decoy written by the dotenv-exposed fault: no real value\nJWT_SECRET=decoy-not-a-secret\n"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Fault name -> the deployment settings it changes. Values computed per apply are filled in below.
_SETTINGS: dict[str, dict[str, Any]] = {
    "health-db-wrong-port": {"pg_port": CLOSED_PORT},
    "version-mismatch": {"version": WRONG_VERSION},
    "docs-exposed": {"docs": True},
    "api-items-empty": {"items_visible": False},
    "api-latency": {"api_extra_latency_ms": 400},
    "validation-500": {"validation_errors_as_500": True},
    "app-password-rotated": {"app_password": None},
    "login-error-500": {"failed_login_crashes": True},
    "token-lifetime-too-long": {"access_ttl": 30 * 86400},
    "refresh-wrong-key": {"refresh_signing_key": None},
    "jwt-verification-disabled": {"verify_tokens": False},
    "ws-auth-disabled": {"ws_secure_requires_token": False},
    "ws-origin-unchecked": {"ws_origin_check": False},
    "jwt-default-secret": {"jwt_secret": DEFAULT_SECRET},
    "default-admin-enabled": {"default_admin_enabled": True},
    "dotenv-exposed": {"static_dir": None},
}


def _overrides_file(ctx: Context) -> Path:
    return ctx.lay.service / "overrides.json"


def _public_dir(ctx: Context) -> Path:
    return ctx.lay.service / "public"


def overrides_for(ctx: Context, active: set[str]) -> dict[str, Any]:
    """overrides.json content for the active faults (empty: the healthy service)."""
    out: dict[str, Any] = {}
    for name in sorted(active & set(_SETTINGS)):
        for key, value in _SETTINGS[name].items():
            if value is None and key == "static_dir":
                value = str(_public_dir(ctx))
            elif value is None:
                # A fresh random value nobody else knows: the inventory's credentials no longer match.
                value = secrets.token_urlsafe(32)
            out[key] = value
    return out


def _sync(ctx: Context) -> None:
    """Write overrides.json for the active markers; restart the running service when it changed."""
    wanted = overrides_for(ctx, ctx.active_faults())
    path = _overrides_file(ctx)
    current: dict[str, Any] = {}
    if path.exists():
        current = json.loads(path.read_text())
    # Random values differ at every render: keep the written ones while the same keys stay active.
    for key in ("app_password", "refresh_signing_key"):
        if key in wanted and key in current:
            wanted[key] = current[key]
    if "static_dir" in wanted:
        _public_dir(ctx).mkdir(parents=True, exist_ok=True)
        config.write_if_changed(_public_dir(ctx) / ".env", DECOY_ENV, mode=0o600)
    changed = wanted != current
    if wanted:
        config.write_if_changed(path, json.dumps(wanted, indent=2, sort_keys=True) + "\n", mode=0o600)
    else:
        path.unlink(missing_ok=True)
    service = ServicePart(ctx)
    if changed and service.running() is not None:
        service.restart()


# ---------------------------------------------------------------------------- observations


def _request(
    ctx: Context, path: str, *, body: Any = None, token: str | None = None
) -> tuple[int, bytes, float]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://{LOOPBACK}:{ctx.ports.service}{path}", data=data, headers=headers)
    start = time.monotonic()
    try:
        with _OPENER.open(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.read(), time.monotonic() - start
    except urllib.error.HTTPError as err:
        return err.code, err.read(), time.monotonic() - start


def _login(ctx: Context) -> dict[str, Any]:
    password = ctx.secrets()["INFRAGATE_LOCAL_APP_PASSWORD"]
    status, body, _ = _request(ctx, "/auth/login", body={"username": "demo", "password": password})
    answer: dict[str, Any] = json.loads(body) if status == 200 else {}
    return answer


def _forged(secret: str, **extra: Any) -> str:
    now = int(time.time())
    claims = {"sub": "demo", "iat": now, "exp": now + 300, "type": "access", **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


def _ws_accepts(ctx: Context, *, origin: str | None, token: bool) -> bool:
    url = f"ws://{LOOPBACK}:{ctx.ports.service}/ws/secure"
    if token:
        url += "?token=" + _login(ctx)["access_token"]
    try:
        with ws_connect(url, origin=origin, open_timeout=TIMEOUT) as ws:  # type: ignore[arg-type]
            ws.send("ping")
            return ws.recv(timeout=TIMEOUT) == "pong"
    except (InvalidStatus, WebSocketException, OSError, TimeoutError):
        return False


def _idle_ws_survives(ctx: Context) -> bool:
    context = ssl.create_default_context(cafile=str(ctx.tls.ca))
    url = f"wss://localhost:{ctx.ports.nginx_https}/ws"
    try:
        with ws_connect(url, ssl=context, open_timeout=TIMEOUT, ping_interval=None) as ws:
            time.sleep(1.6)  # longer than the faulty 1 s proxy_read_timeout
            ws.send("ping")
            return ws.recv(timeout=TIMEOUT) == "pong"
    except (WebSocketException, OSError, TimeoutError):
        return False


Observation = Callable[[Context], bool]

# Fault name -> True while its effect is visible on the live service.
_OBSERVE: dict[str, Observation] = {
    "health-db-wrong-port": lambda ctx: _request(ctx, "/health?detailed=true")[0] == 503,
    "version-mismatch": lambda ctx: json.loads(_request(ctx, "/version")[1]).get("version") == WRONG_VERSION,
    "docs-exposed": lambda ctx: _request(ctx, "/openapi.json")[0] == 200,
    "api-items-empty": lambda ctx: json.loads(_request(ctx, "/api/items")[1]) == [],
    "api-latency": lambda ctx: _request(ctx, "/api/items")[2] >= 0.35,
    "validation-500": lambda ctx: _request(ctx, "/api/items", body={"price": "x"})[0] == 500,
    "app-password-rotated": lambda ctx: "access_token" not in _login(ctx),
    "login-error-500": lambda ctx: (
        _request(ctx, "/auth/login", body={"username": "demo", "password": "wrong-password"})[0] == 500
    ),
    "token-lifetime-too-long": lambda ctx: _login(ctx).get("expires_in", 0) > 86400,
    "refresh-wrong-key": lambda ctx: (
        _request(
            ctx,
            "/api/me",
            token=json.loads(
                _request(ctx, "/auth/refresh", body={"refresh_token": _login(ctx)["refresh_token"]})[1]
            )["access_token"],
        )[0]
        == 401
    ),
    "jwt-verification-disabled": lambda ctx: _request(ctx, "/api/me", token=_forged("not-the-key"))[0] == 200,
    "ws-auth-disabled": lambda ctx: _ws_accepts(ctx, origin=None, token=False),
    "ws-origin-unchecked": lambda ctx: _ws_accepts(ctx, origin=FOREIGN_ORIGIN, token=True),
    "jwt-default-secret": lambda ctx: _request(ctx, "/api/me", token=_forged(DEFAULT_SECRET))[0] == 200,
    "default-admin-enabled": lambda ctx: (
        _request(ctx, "/auth/login", body={"username": "admin", "password": "admin123"})[0] == 200
    ),
    "dotenv-exposed": lambda ctx: _request(ctx, "/.env")[0] == 200,
}


def _service_ok(ctx: Context) -> bool:
    return _request(ctx, "/health")[0] == 200


def _healthy(observe: Observation) -> Observation:
    return lambda ctx: _service_ok(ctx) and not observe(ctx)


ACTIONS: dict[str, Action] = {
    name: Action(
        needs=("service",),
        broken=observe,
        healthy=_healthy(observe),
        on_apply=_sync,
        on_heal=_sync,
    )
    for name, observe in _OBSERVE.items()
}
ACTIONS[config.WS_READ_TIMEOUT_FAULT] = Action(
    needs=("nginx", "service"),
    broken=lambda ctx: not _idle_ws_survives(ctx),
    healthy=_idle_ws_survives,
)
