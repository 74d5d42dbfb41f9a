"""The auth-contract probe (login/refresh requests, token presentation, refusals, forged tokens, the login
budget) against a real loopback server that echoes what it received."""

from __future__ import annotations

import http.server
import json
import time
import urllib.parse
from typing import Any

import jwt

from infragate.inventory.auth import ErrorCase, TokenPaths, TokenPresentation
from infragate.probes import auth as contract
from infragate.probes._base import Timeout
from infragate.probes.exchange import Outgoing, send
from selftest.unit.servers import http_server, reply

FAST = Timeout(connect=0.5, read=1.0)
KEY = "k" * 32


def _echo(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Answer what came in: method, query, headers of interest, the body parsed as JSON or a form."""
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length).decode() if length else ""
    kind = handler.headers.get("Content-Type") or ""
    body: Any = json.loads(raw) if "json" in kind else dict(urllib.parse.parse_qsl(raw)) if raw else None
    seen = {
        "method": handler.command,
        "query": dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(handler.path).query)),
        "authorization": handler.headers.get("Authorization"),
        "x_auth": handler.headers.get("X-Auth-Token"),
        "cookie": handler.headers.get("Cookie"),
        "content_type": kind,
        "body": body,
    }
    data = json.dumps(seen).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _sent(out: Outgoing) -> dict[str, Any]:
    with http_server(_echo) as port:
        url = out.url.replace("PORT", str(port))
        answer = send(
            Outgoing(url, out.method, out.headers, out.params, out.cookies, out.json, out.form), timeout=FAST
        )
    doc: dict[str, Any] = answer.json()
    return doc


def test_login_json_with_declared_field_names_and_extras() -> None:
    out = contract.login_request(
        "http://127.0.0.1:PORT/api/token/", "a@b.test", "pw", username_field="email", extra={"client": "web"}
    )
    seen = _sent(out)
    assert seen["method"] == "POST" and "application/json" in seen["content_type"]
    assert seen["body"] == {"email": "a@b.test", "password": "pw", "client": "web"}


def test_login_form_encoded() -> None:
    seen = _sent(contract.login_request("http://127.0.0.1:PORT/token", "demo", "p&w=1", body="form"))
    assert "x-www-form-urlencoded" in seen["content_type"]
    assert seen["body"] == {"username": "demo", "password": "p&w=1"}


def test_login_body_template_filled_everywhere() -> None:
    template = {"user": {"login": "{username}", "secret": "{password}"}, "scopes": ["read:{username}"]}
    seen = _sent(contract.login_request("http://127.0.0.1:PORT/login", "demo", "pw", template=template))
    assert seen["body"] == {"user": {"login": "demo", "secret": "pw"}, "scopes": ["read:demo"]}


def test_token_presented_as_declared() -> None:
    base = Outgoing("http://127.0.0.1:PORT/me")
    assert _sent(contract.present(base, TokenPresentation(), "t1"))["authorization"] == "Bearer t1"
    bare = TokenPresentation("header", "X-Auth-Token", "")
    assert _sent(contract.present(base, bare, "t2"))["x_auth"] == "t2"
    assert (
        _sent(contract.present(base, TokenPresentation("cookie", "session", ""), "t3"))["cookie"]
        == "session=t3"
    )
    assert _sent(contract.present(base, TokenPresentation("query", "token", ""), "t4"))["query"] == {
        "token": "t4"
    }


def test_refresh_token_sent_where_declared() -> None:
    url = "http://127.0.0.1:PORT/refresh"
    assert _sent(contract.refresh_request(url, "r", send_as="json", field_name="refresh"))["body"] == {
        "refresh": "r"
    }
    assert _sent(contract.refresh_request(url, "r", send_as="form", field_name="rt"))["body"] == {"rt": "r"}
    assert _sent(contract.refresh_request(url, "r", send_as="query", field_name="rt"))["query"] == {"rt": "r"}
    assert _sent(contract.refresh_request(url, "r", send_as="cookie", field_name="rt"))["cookie"] == "rt=r"


def _answer(status: int, body: str, headers: dict[str, str] | None = None) -> Any:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    with http_server(reply(status, body, hdrs)) as port:
        return send(Outgoing(f"http://127.0.0.1:{port}/login", "POST", json={}), timeout=FAST)


def test_login_reads_tokens_at_declared_paths() -> None:
    answer = _answer(200, json.dumps({"data": {"access": "A.B.C", "refresh": "R"}, "expires": 300}))
    outcome = contract.judge_login(answer, TokenPaths("data.access", "data.refresh", "expires"), ())
    assert outcome.problem is None
    assert (outcome.tokens.access, outcome.tokens.refresh, outcome.tokens.expires_in) == ("A.B.C", "R", 300.0)


def test_login_400_shows_the_body_that_says_why() -> None:
    outcome = contract.judge_login(_answer(400, '{"email": ["This field is required."]}'), TokenPaths(), ())
    assert outcome.problem is not None and "HTTP 400" in outcome.problem
    assert "This field is required" in outcome.problem and "email" in outcome.problem


def test_login_429_is_a_spent_budget_never_bad_credentials() -> None:
    outcome = contract.judge_login(
        _answer(429, '{"detail": "slow down"}', {"Retry-After": "9"}), TokenPaths(), ()
    )
    assert outcome.problem is not None
    assert (
        outcome.problem.startswith("rate-limited: login budget spent") and "Retry-After 9" in outcome.problem
    )


def test_login_evidence_redacts_the_password_and_tokens() -> None:
    answer = _answer(401, '{"detail": "bad password hunter22", "access_token": "secret-token"}')
    outcome = contract.judge_login(answer, TokenPaths(), ("hunter22",))
    assert "hunter22" not in outcome.evidence and "secret-token" not in outcome.evidence


def test_refusal_judged_on_status_and_code_path() -> None:
    answer = _answer(401, '{"detail": "x", "code": "token_not_valid"}')
    assert contract.refusal_problem(answer, ErrorCase(401, "code", "token_not_valid")) is None
    assert contract.refusal_problem(answer, ErrorCase(401)) is None
    wrong = contract.refusal_problem(answer, ErrorCase(401, "detail.code", "INVALID_TOKEN"))
    assert wrong is not None and "detail.code" in wrong
    assert contract.refusal_problem(answer, ErrorCase(403)) == "HTTP 401, expected 403"


def test_forged_tokens_keep_the_real_claims() -> None:
    now = int(time.time())
    real = jwt.encode({"user_id": "1", "token_type": "access", "iat": now, "exp": now + 300}, KEY, "HS256")
    tampered = contract.tampered(real, "user_id")
    assert jwt.decode(tampered, options={"verify_signature": False})["user_id"] == "1-x"
    assert real.rsplit(".", 1)[1] == tampered.rsplit(".", 1)[1]  # the original signature kept
    placeholder = "your-256-bit-secret-here-change-this-in-production"
    resigned = contract.resigned(real, placeholder)
    claims = jwt.decode(resigned, placeholder, algorithms=["HS256"])
    assert claims == jwt.decode(real, options={"verify_signature": False})


def test_login_ledger_never_exceeds_the_budget() -> None:
    ledger = contract.LoginLedger()
    assert ledger.spend("drf", 1) and not ledger.spend("drf", 1)
    assert ledger.spend("form", 1)
    assert ledger.summary() == "drf 1, form 1 (budget 1 each)"
