"""Faults of the service contracts of stack/services/ (issue 9): each breaks one service's own contract.

Every fault is a deployment setting: the part's settings file (``<run>/services/<part>/<part>.env``,
rendered by ``stack/config.py`` from the active markers) changes and the part restarts. Names, settings and
the observable change of each: ``stack/services/CONTRACTS.md``.

Their catalog entries (expect_fail, message) are not written yet: the fault catalog's format is being
changed. Until they exist, ``python -m stack fault NAME`` does not know these names; apply and heal them
with ``python -m stack.fault_actions.contracts apply|heal NAME`` (same marker, same actions, same waits).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import socketio

from stack import config, proc, secretstore
from stack.faults import Action
from stack.layout import LOOPBACK
from stack.parts import Context, ContractServicePart, DrfPart, FormPart, LlmPart, SocketioPart

__all__ = ["ACTIONS", "DEFAULT_API_KEY", "DRF_EMAIL", "apply", "heal", "main"]

TIMEOUT = 5.0
LIVE_TIMEOUT = 30.0
DRF_EMAIL = "demo@example.test"
DRF_ACCESS_TTL_S = 300
DEFAULT_API_KEY = "changeme"
DEBUG_PAGE_MARKER = "DEBUG = True"

_PARTS: dict[str, type[ContractServicePart]] = {
    cls.name: cls for cls in (DrfPart, FormPart, SocketioPart, LlmPart)
}


def _sync(ctx: Context) -> None:
    """Render every contract part's settings file for the active markers; restart the parts it changed."""
    for cls in _PARTS.values():
        part = cls(ctx)
        if part.write_env_file() and part.running() is not None:
            part.restart()


# ---------------------------------------------------------------------------- observations


def _url(ctx: Context, part: str, path: str) -> str:
    return f"http://{LOOPBACK}:{getattr(ctx.ports, part)}{path}"


def _client() -> httpx.Client:
    # trust_env=False: a proxy variable in the caller's environment must not route loopback calls.
    return httpx.Client(timeout=TIMEOUT, trust_env=False)


def drf_login(ctx: Context) -> httpx.Response:
    """POST /api/token/ of the DRF service with the demo user's valid credentials."""
    password = ctx.secrets()[secretstore.DRF_PASSWORD]
    with _client() as client:
        return client.post(_url(ctx, "drf", "/api/token/"), json={"email": DRF_EMAIL, "password": password})


def _drf_login_refused(ctx: Context) -> bool:
    return drf_login(ctx).status_code != 200


def _drf_access_lifetime(ctx: Context) -> int:
    answer = drf_login(ctx)
    if answer.status_code != 200:
        return 0
    claims: dict[str, Any] = jwt.decode(answer.json()["access"], options={"verify_signature": False})
    return int(claims["exp"]) - int(claims["iat"])


def _drf_debug_page(ctx: Context) -> bool:
    with _client() as client:
        answer = client.get(_url(ctx, "drf", "/no-such-page/"))
    return answer.status_code == 404 and DEBUG_PAGE_MARKER in answer.text


def _form_data_status(ctx: Context, key: str | None) -> int:
    headers = {"X-API-Key": key} if key is not None else {}
    with _client() as client:
        return client.get(_url(ctx, "form", "/v1/data"), headers=headers).status_code


def _form_health_lies(ctx: Context) -> bool:
    with _client() as client:
        answer = client.get(_url(ctx, "form", "/healthz"))
    return answer.status_code == 200 and answer.json().get("status") != "ok"


def socketio_connects(ctx: Context, auth: dict[str, Any] | None) -> bool:
    """True when the Socket.IO server accepts a CONNECT with this auth payload (python-socketio client)."""
    client = socketio.Client(reconnection=False)
    try:
        client.connect(
            f"http://{LOOPBACK}:{ctx.ports.socketio}",
            auth=auth,
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )
    except socketio.exceptions.ConnectionError:
        return False
    connected = bool(client.connected)
    client.disconnect()
    return connected


def _chat_answers_error(ctx: Context) -> bool:
    with _client() as client:
        answer = client.post(_url(ctx, "form", "/api/chat"), json={"message": "ping"})
    return answer.status_code == 200 and "error" in answer.json()


def _form_login_unlimited(ctx: Context) -> bool:
    """True when 7 failed logins of one (observer) username in a row meet no 429."""
    with _client() as client:
        for _ in range(7):
            answer = client.post(
                _url(ctx, "form", "/token"), data={"username": "rate-limit-observer", "password": "wrong"}
            )
            if answer.status_code == 429:
                return False
    return True


Observation = Callable[[Context], bool]

# Fault name -> True while its effect is visible on the live service.
_OBSERVE: dict[str, Observation] = {
    "drf-login-broken": _drf_login_refused,
    "drf-token-lifetime-long": lambda ctx: _drf_access_lifetime(ctx) > DRF_ACCESS_TTL_S,
    "drf-debug-on": _drf_debug_page,
    "form-api-key-not-enforced": lambda ctx: _form_data_status(ctx, None) == 200,
    "form-default-api-key": lambda ctx: _form_data_status(ctx, DEFAULT_API_KEY) == 200,
    "form-health-lying": _form_health_lies,
    "socketio-auth-disabled": lambda ctx: socketio_connects(ctx, None),
    "chat-backend-failing": _chat_answers_error,
    "form-login-rate-limit-off": _form_login_unlimited,
}
if set(_OBSERVE) != set(config.CONTRACT_FAULTS):  # one place names the settings, one the observations
    raise RuntimeError("stack/fault_actions/contracts.py and config.CONTRACT_FAULTS name different faults")


def _healthy(part: str, observe: Observation) -> Observation:
    def probe(ctx: Context) -> bool:
        return _PARTS[part](ctx).probe() and not observe(ctx)

    return probe


ACTIONS: dict[str, Action] = {
    name: Action(
        needs=(config.CONTRACT_FAULTS[name][0],),
        broken=observe,
        healthy=_healthy(config.CONTRACT_FAULTS[name][0], observe),
        on_apply=_sync,
        on_heal=_sync,
    )
    for name, observe in _OBSERVE.items()
}


# ---------------------------------------------------------------------------- apply/heal until cataloged


def _safe(probe: Observation, ctx: Context) -> bool:
    try:
        return probe(ctx)
    except Exception:  # an answer of the wrong shape while a part restarts: not yet observable
        return False


def _wait(probe: Observation, ctx: Context, what: str) -> float:
    start = time.monotonic()
    if not proc.wait_until(lambda: _safe(probe, ctx), LIVE_TIMEOUT, interval=0.2):
        raise RuntimeError(f"{what} not observable after {LIVE_TIMEOUT:.0f} s")
    return time.monotonic() - start


def apply(ctx: Context, name: str) -> float:
    """Mark fault NAME active, apply it and wait until observable; the seconds it took."""
    action = ACTIONS[name]
    part = _PARTS[action.needs[0]](ctx)
    if part.running() is None:
        raise RuntimeError(f"cannot apply {name}: {part.name} not running (python -m stack up)")
    ctx.lay.active_faults.mkdir(parents=True, exist_ok=True)
    (ctx.lay.active_faults / name).write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
    _sync(ctx)
    return _wait(action.broken, ctx, f"fault {name}")


def heal(ctx: Context, name: str) -> float:
    """Remove fault NAME's marker, heal and wait until healthy; the seconds it took."""
    action = ACTIONS[name]
    (ctx.lay.active_faults / name).unlink(missing_ok=True)
    _sync(ctx)
    return _wait(action.healthy, ctx, f"heal of {name}")


def main(argv: list[str] | None = None) -> int:
    """``python -m stack.fault_actions.contracts apply|heal NAME`` under the stack's lock."""
    from stack import control  # the CLI only: control imports faults, which imports this module

    parser = argparse.ArgumentParser(prog="python -m stack.fault_actions.contracts")
    parser.add_argument("command", choices=("apply", "heal"))
    parser.add_argument("name", choices=sorted(ACTIONS))
    args = parser.parse_args(argv)
    ctx = control.context()
    try:
        with control.locked(ctx):
            seconds = (apply if args.command == "apply" else heal)(ctx, args.name)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"fault {args.name} {'applied' if args.command == 'apply' else 'healed'}, live after {seconds:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
