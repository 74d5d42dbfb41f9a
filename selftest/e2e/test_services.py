"""The services of stack/services/ (issue 9) keep their own contracts, and each contract fault breaks one.

Real calls only: httpx for HTTP (direct and through nginx's TLS server, verified against the stack's CA)
and python-socketio's client for Socket.IO. The contracts are documented in stack/services/CONTRACTS.md.
Faults are applied with ``python -m stack.fault_actions.contracts`` (their catalog entries come later).
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import requests
import socketio

from selftest.helpers import ROOT

pytestmark = pytest.mark.timeout(300)

DRF_EMAIL = "demo@example.test"
FORM_USER = "demo"
LLM_MODEL = "infragate-recorded-1"
SIO_REFUSED = "authentication failed"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Stack:
    """Where the services listen and the secrets they use."""

    direct: dict[str, str]
    proxy: str
    ca: Path
    secrets: dict[str, str]

    def url(self, part: str, path: str, *, via: str = "direct") -> str:
        """A service URL, direct on 127.0.0.1 or through nginx under the part's path prefix."""
        if via == "direct":
            return self.direct[part] + path
        prefix = {"drf": "/drf", "form": "/form", "llm": "/llm", "socketio": ""}[part]
        return f"{self.proxy}{prefix}{path}"


@pytest.fixture(scope="module")
def svc(stack: Any) -> Stack:
    """Ports, proxy URL, CA and secrets of the running stack."""
    from stack.layout import ports

    p = ports()
    direct = {name: f"http://127.0.0.1:{getattr(p, name)}" for name in ("drf", "form", "socketio", "llm")}
    return Stack(direct, f"https://localhost:{p.nginx_https}", stack.ca_file(), stack.secrets())


@pytest.fixture(scope="module")
def http(svc: Stack) -> Iterator[httpx.Client]:
    """One HTTP client trusting the stack's CA, ignoring proxy variables."""
    context = ssl.create_default_context(cafile=str(svc.ca))
    with httpx.Client(verify=context, timeout=TIMEOUT, trust_env=False) as client:
        yield client


@contextmanager
def contract_fault(name: str) -> Iterator[None]:
    """Apply a contract fault for the block, then heal it (both return once observable)."""

    def run(command: str) -> None:
        cmd = [sys.executable, "-m", "stack.fault_actions.contracts", command, name]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command} {name}: {done.stdout}{done.stderr}"

    run("apply")
    try:
        yield
    finally:
        run("heal")


def drf_login(http: httpx.Client, svc: Stack, *, via: str = "direct") -> httpx.Response:
    """simplejwt's TokenObtainPairView with the demo user's email and password."""
    body = {"email": DRF_EMAIL, "password": svc.secrets["INFRAGATE_LOCAL_DRF_PASSWORD"]}
    return http.post(svc.url("drf", "/api/token/", via=via), json=body)


def form_login(http: httpx.Client, svc: Stack) -> str:
    """The form service's access token (form-encoded OAuth2 password login)."""
    body = {"username": FORM_USER, "password": svc.secrets["INFRAGATE_LOCAL_FORM_PASSWORD"]}
    answer = http.post(svc.url("form", "/token"), data=body)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@dataclass
class SioResult:
    """What a Socket.IO session saw: connected, the CONNECT_ERROR data, the pong data."""

    connected: bool
    connect_error: Any = None
    pong: Any = None
    transport: str = ""


def sio_session(svc: Stack, auth: dict[str, Any] | None, *, via: str = "direct") -> SioResult:
    """Connect with python-socketio's client (CONNECT carries `auth`), send `ping`, wait for `pong`."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(svc.ca)
    client = socketio.Client(reconnection=False, http_session=session)
    seen: dict[str, Any] = {}
    pong = threading.Event()

    def on_connect_error(data: Any) -> None:
        seen["connect_error"] = data

    def on_pong(data: Any) -> None:
        seen["pong"] = data
        pong.set()

    client.on("connect_error", on_connect_error)
    client.on("pong", on_pong)
    base = svc.direct["socketio"] if via == "direct" else svc.proxy
    try:
        # Polling first, then the WebSocket upgrade: the path a browser takes (through nginx too).
        client.connect(base, auth=auth, wait_timeout=TIMEOUT)
    except socketio.exceptions.ConnectionError:
        return SioResult(False, seen.get("connect_error"))
    try:
        client.emit("ping", {"n": 7, "text": "hello"})
        pong.wait(TIMEOUT)
        # The upgrade from polling to WebSocket runs in the background: poll for it up to a deadline.
        deadline = time.monotonic() + TIMEOUT
        while client.transport() != "websocket" and time.monotonic() < deadline:
            time.sleep(0.05)
        return SioResult(True, None, seen.get("pong"), client.transport())
    finally:
        client.disconnect()


# ---------------------------------------------------------------------------- (a) DRF + simplejwt


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_drf_health_is_flat(http: httpx.Client, svc: Stack, via: str) -> None:
    answer = http.get(svc.url("drf", "/health/", via=via))
    assert answer.status_code == 200
    assert answer.json() == {"database": "connected", "cache": "ok"}


def test_drf_login_by_email_refresh_and_me(http: httpx.Client, svc: Stack) -> None:
    login = drf_login(http, svc, via="proxy")
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert set(tokens) == {"access", "refresh"}
    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    assert claims["token_type"] == "access" and "user_id" in claims and "sub" not in claims
    # A 5-minute access token. simplejwt counts its exp from the refresh token's creation and its iat from
    # the access token's, a moment later (RefreshToken.access_token); both truncated to the second, they
    # straddle a second on a busy machine (seen in CI: 299).
    assert 299 <= claims["exp"] - claims["iat"] <= 300
    me = http.get(
        svc.url("drf", "/api/me/", via="proxy"), headers={"Authorization": f"Bearer {tokens['access']}"}
    )
    assert me.status_code == 200 and me.json()["email"] == DRF_EMAIL

    refreshed = http.post(svc.url("drf", "/api/token/refresh/"), json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200 and set(refreshed.json()) == {"access"}
    me = http.get(
        svc.url("drf", "/api/me/"), headers={"Authorization": f"Bearer {refreshed.json()['access']}"}
    )
    assert me.status_code == 200 and me.json()["email"] == DRF_EMAIL


def test_drf_errors_are_simplejwt_format(http: httpx.Client, svc: Stack) -> None:
    missing = http.get(svc.url("drf", "/api/me/"))
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    invalid = http.get(svc.url("drf", "/api/me/"), headers={"Authorization": "Bearer not-a-token"})
    assert invalid.status_code == 401 and invalid.json()["code"] == "token_not_valid"
    wrong = http.post(svc.url("drf", "/api/token/"), json={"email": DRF_EMAIL, "password": "wrong-password"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "No active account found with the given credentials"}
    # A client posting the sample's {username, password} shape is told which field is required.
    shape = http.post(svc.url("drf", "/api/token/"), json={"username": "demo", "password": "x"})
    assert shape.status_code == 400 and shape.json() == {"email": ["This field is required."]}


def test_drf_debug_off_hides_the_technical_404(http: httpx.Client, svc: Stack) -> None:
    answer = http.get(svc.url("drf", "/no-such-page/"))
    assert answer.status_code == 404 and "DEBUG = True" not in answer.text


def test_fault_drf_login_broken(http: httpx.Client, svc: Stack) -> None:
    with contract_fault("drf-login-broken"):
        login = drf_login(http, svc, via="proxy")
        assert login.status_code == 401
        assert login.json() == {"detail": "No active account found with the given credentials"}
        assert http.get(svc.url("drf", "/health/")).json() == {"database": "connected", "cache": "ok"}
    assert drf_login(http, svc).status_code == 200


def test_fault_drf_token_lifetime_long(http: httpx.Client, svc: Stack) -> None:
    with contract_fault("drf-token-lifetime-long"):
        access = drf_login(http, svc).json()["access"]
        claims = jwt.decode(access, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 3600
    claims = jwt.decode(drf_login(http, svc).json()["access"], options={"verify_signature": False})
    # A 5-minute access token. simplejwt counts its exp from the refresh token's creation and its iat from
    # the access token's, a moment later (RefreshToken.access_token); both truncated to the second, they
    # straddle a second on a busy machine (seen in CI: 299).
    assert 299 <= claims["exp"] - claims["iat"] <= 300


def test_fault_drf_debug_on(http: httpx.Client, svc: Stack) -> None:
    with contract_fault("drf-debug-on"):
        answer = http.get(svc.url("drf", "/no-such-page/", via="proxy"))
        assert answer.status_code == 404 and "DEBUG = True" in answer.text
        env_file = Path(svc_run_dir()) / "services" / "drf" / "drf.env"
        assert "DJANGO_DEBUG=True" in env_file.read_text()
    assert "DEBUG = True" not in http.get(svc.url("drf", "/no-such-page/")).text


def svc_run_dir() -> Path:
    """The stack's run dir (INFRAGATE_RUN_DIR)."""
    from stack.layout import run_dir

    return run_dir()


# ---------------------------------------------------------------------------- (b) FastAPI form login


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_form_health_is_nested(http: httpx.Client, svc: Stack, via: str) -> None:
    answer = http.get(svc.url("form", "/healthz", via=via))
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"db": {"status": "up"}}}


def test_form_login_is_form_encoded(http: httpx.Client, svc: Stack) -> None:
    password = svc.secrets["INFRAGATE_LOCAL_FORM_PASSWORD"]
    login = http.post(
        svc.url("form", "/token", via="proxy"), data={"username": FORM_USER, "password": password}
    )
    assert login.status_code == 200 and login.json()["token_type"] == "bearer"
    claims = jwt.decode(
        login.json()["access_token"], svc.secrets["INFRAGATE_LOCAL_FORM_JWT_SECRET"], algorithms=["HS256"]
    )
    assert claims["sub"] == FORM_USER
    me = http.get(
        svc.url("form", "/users/me"), headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json() == {"username": FORM_USER}
    # JSON is not the contract: 422 naming the form fields; a wrong password is 401.
    as_json = http.post(svc.url("form", "/token"), json={"username": FORM_USER, "password": password})
    assert as_json.status_code == 422
    wrong = http.post(svc.url("form", "/token"), data={"username": FORM_USER, "password": "wrong-password"})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Incorrect username or password"}
    assert http.get(svc.url("form", "/users/me")).status_code == 401


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_form_api_key_is_enforced(http: httpx.Client, svc: Stack, via: str) -> None:
    url = svc.url("form", "/v1/data", via=via)
    assert http.get(url).status_code == 401
    assert http.get(url, headers={"X-API-Key": "wrong-key"}).status_code == 403
    assert http.get(url, headers={"X-API-Key": "changeme"}).status_code == 403
    good = http.get(url, headers={"X-API-Key": svc.secrets["INFRAGATE_LOCAL_FORM_API_KEY"]})
    assert good.status_code == 200 and len(good.json()["items"]) == 3


def test_fault_form_api_key_not_enforced(http: httpx.Client, svc: Stack) -> None:
    with contract_fault("form-api-key-not-enforced"):
        answer = http.get(svc.url("form", "/v1/data", via="proxy"))
        assert answer.status_code == 200 and answer.json()["items"]
    assert http.get(svc.url("form", "/v1/data")).status_code == 401


def test_fault_form_default_api_key(http: httpx.Client, svc: Stack) -> None:
    with contract_fault("form-default-api-key"):
        assert http.get(svc.url("form", "/v1/data"), headers={"X-API-Key": "changeme"}).status_code == 200
        assert http.get(svc.url("form", "/v1/data")).status_code == 401
    assert http.get(svc.url("form", "/v1/data"), headers={"X-API-Key": "changeme"}).status_code == 403


def test_fault_form_health_lying(http: httpx.Client, svc: Stack) -> None:
    with contract_fault("form-health-lying"):
        answer = http.get(svc.url("form", "/healthz", via="proxy"))
        assert answer.status_code == 200
        doc = answer.json()
        assert doc["status"] == "unhealthy" and doc["checks"]["db"]["status"] == "down"
    assert http.get(svc.url("form", "/healthz")).json()["status"] == "ok"


# ---------------------------------------------------------------------------- (d) OpenAI-compatible chat


def test_llm_backend_is_openai_compatible(http: httpx.Client, svc: Stack) -> None:
    auth = {"Authorization": f"Bearer {svc.secrets['INFRAGATE_LOCAL_LLM_API_KEY']}"}
    models = http.get(svc.url("llm", "/v1/models", via="proxy"), headers=auth)
    assert models.status_code == 200 and models.json()["object"] == "list"
    assert [m["id"] for m in models.json()["data"]] == [LLM_MODEL]
    refused = http.get(svc.url("llm", "/v1/models"))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    body = {"model": LLM_MODEL, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 16}
    chat = http.post(svc.url("llm", "/v1/chat/completions", via="proxy"), json=body, headers=auth)
    assert chat.status_code == 200
    doc = chat.json()
    assert doc["object"] == "chat.completion" and doc["model"] == LLM_MODEL
    assert doc["choices"][0]["message"] == {"role": "assistant", "content": "pong"}
    assert doc["usage"]["total_tokens"] == doc["usage"]["prompt_tokens"] + doc["usage"]["completion_tokens"]


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_form_chat_answers_from_the_backend(http: httpx.Client, svc: Stack, via: str) -> None:
    answer = http.post(svc.url("form", "/api/chat", via=via), json={"message": "Say hello."})
    assert answer.status_code == 200
    assert answer.json() == {"reply": "Hello! How can I help you today?"}


def test_fault_chat_backend_failing(http: httpx.Client, svc: Stack) -> None:
    auth = {"Authorization": f"Bearer {svc.secrets['INFRAGATE_LOCAL_LLM_API_KEY']}"}
    body = {"model": LLM_MODEL, "messages": [{"role": "user", "content": "ping"}]}
    with contract_fault("chat-backend-failing"):
        chat = http.post(svc.url("form", "/api/chat", via="proxy"), json={"message": "Say hello."})
        assert chat.status_code == 200  # the defect: a 200 whose body says the model call failed
        assert chat.json()["error"].startswith("model call failed: HTTP 500")
        backend = http.post(svc.url("llm", "/v1/chat/completions"), json=body, headers=auth)
        assert backend.status_code == 500 and backend.json()["error"]["type"] == "server_error"
        assert http.get(svc.url("llm", "/v1/models"), headers=auth).status_code == 200
    assert "reply" in http.post(svc.url("form", "/api/chat"), json={"message": "ping"}).json()


# ---------------------------------------------------------------------------- (c) Socket.IO


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_socketio_static_token_round_trip(svc: Stack, via: str) -> None:
    seen = sio_session(svc, {"token": svc.secrets["INFRAGATE_LOCAL_SOCKETIO_TOKEN"]}, via=via)
    assert seen.connected
    assert seen.pong == {"n": 7, "text": "hello"}
    assert seen.transport == "websocket"  # through nginx: the upgrade headers and same-origin check work


def test_socketio_accepts_a_form_service_jwt(http: httpx.Client, svc: Stack) -> None:
    seen = sio_session(svc, {"token": form_login(http, svc)}, via="proxy")
    assert seen.connected and seen.pong == {"n": 7, "text": "hello"}


# (Not named `auth`: the infragate plugin parametrizes that argument name over the inventory.)
@pytest.mark.parametrize("payload", ["no-auth", "wrong", "forged-jwt"])
def test_socketio_refuses_with_connect_error(svc: Stack, payload: str) -> None:
    forged = jwt.encode({"sub": FORM_USER, "exp": 4102444800}, "changeme-but-32-bytes-long-key!!")
    auth = {"no-auth": None, "wrong": {"token": "wrong-token"}, "forged-jwt": {"token": forged}}[payload]
    seen = sio_session(svc, auth)
    assert not seen.connected
    assert seen.connect_error == {"message": SIO_REFUSED}


def test_fault_socketio_auth_disabled(svc: Stack) -> None:
    with contract_fault("socketio-auth-disabled"):
        seen = sio_session(svc, None, via="proxy")
        assert seen.connected and seen.pong == {"n": 7, "text": "hello"}
    assert not sio_session(svc, None).connected
