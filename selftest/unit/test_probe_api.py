"""The API/auth probe (JSON requests, timings, JSON paths, JWT helpers) against real loopback servers."""

from __future__ import annotations

import http.server
import json
import time

import jwt
import pytest

from infragate.jsonpath import MISSING, PathError, compile_path, search
from infragate.probes import api
from infragate.probes._base import Timeout
from selftest.unit.servers import closed_port, http_server

FAST = Timeout(connect=0.5, read=0.5)
KEY = "k" * 32


def _echo_json(handler: http.server.BaseHTTPRequestHandler) -> None:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    seen = {
        "method": handler.command,
        "authorization": handler.headers.get("Authorization"),
        "content_type": handler.headers.get("Content-Type"),
        "body": json.loads(body) if body else None,
    }
    data = json.dumps(seen).encode()
    handler.send_response(422 if seen["body"] == {"bad": True} else 200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def test_send_json_posts_a_json_body() -> None:
    with http_server(_echo_json) as port:
        answer = api.send_json(f"http://127.0.0.1:{port}/items", {"bad": True}, timeout=FAST)
    assert answer.status == 422
    assert answer.json() == {
        "method": "POST",
        "authorization": None,
        "content_type": "application/json",
        "body": {"bad": True},
    }


def test_call_sends_bearer_token() -> None:
    with http_server(_echo_json) as port:
        answer = api.call(f"http://127.0.0.1:{port}/me", token="abc", timeout=FAST)
    assert answer.status == 200 and answer.json()["authorization"] == "Bearer abc"


def test_call_refused_is_unreachable() -> None:
    answer = api.call(f"http://127.0.0.1:{closed_port()}/", timeout=FAST)
    assert answer.status is None and answer.unreachable


def test_timed_gets_measures_each_request() -> None:
    def slow(handler: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(0.05)
        _echo_json(handler)

    with http_server(slow) as port:
        timings = api.timed_gets(f"http://127.0.0.1:{port}/", 3, timeout=FAST)
    assert timings.statuses == (200, 200, 200) and timings.error is None
    # The server waits 50 ms before answering: a measure below that is wrong. No upper bound: how fast a
    # busy machine answers is not this probe's behaviour (bench/ measures speed).
    assert timings.median_ms >= 50


def test_timed_gets_reports_failure() -> None:
    timings = api.timed_gets(f"http://127.0.0.1:{closed_port()}/", 3, timeout=FAST)
    assert timings.elapsed_ms == () and timings.unreachable and timings.median_ms == float("inf")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", {"a": [{"b": 1}]}),
        ("@", {"a": [{"b": 1}]}),
        ("a[0].b", 1),
        ("a[-1].b", 1),
        ("length(a)", 1),
        ("a[1].b", MISSING),
        ("x", MISSING),
        ("a.b", MISSING),
    ],
)
def test_jmespath_search(path: str, expected: object) -> None:
    found = search({"a": [{"b": 1}]}, path)
    assert found is expected if expected is MISSING else found == expected


def test_jmespath_syntax_error_is_one_line() -> None:
    with pytest.raises(PathError, match="not a JMESPath expression 'a\\[\\['"):
        compile_path("a[[")


def _token(**extra: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "demo", "iat": now, "exp": now + 900, **extra}, KEY, algorithm="HS256")


def test_read_claims_reports_algorithm_and_lifetime() -> None:
    claims = api.read_claims(_token())
    assert claims.algorithm == "HS256" and claims.lifetime_s == 900 and claims.claims["sub"] == "demo"


def test_read_claims_of_garbage() -> None:
    claims = api.read_claims("not-a-token")
    assert claims.error is not None and claims.lifetime_s is None


def test_tampered_token_fails_verification() -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(api.tampered(_token()), KEY, algorithms=["HS256"])


def test_unsigned_token_has_alg_none() -> None:
    token = api.unsigned(_token())
    assert jwt.get_unverified_header(token)["alg"] == "none" and token.endswith(".")
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(token, KEY, algorithms=["HS256"])


def test_expired_token_is_signed_but_expired() -> None:
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(api.expired(_token(), KEY), KEY, algorithms=["HS256"])


def test_verifies_tells_which_key_signed_a_token() -> None:
    # The expired case of AUTH-REJECT-INVALID is only made when the declared key signs the service's tokens.
    assert api.verifies(_token(), KEY)
    assert api.verifies(api.expired(_token(), KEY), KEY)  # expiry is not its question
    assert not api.verifies(api.signed(_token(), "changeme"), KEY)  # a placeholder-keyed service
    assert api.verifies(api.signed(_token(), "changeme"), "changeme")  # short key: no warning raised
    assert not api.verifies(api.tampered(_token()), KEY)
    assert not api.verifies(api.unsigned(_token()), KEY)
    assert not api.verifies("not-a-token", KEY)


def test_forged_token_with_short_placeholder_key() -> None:
    token = api.forged("admin", "changeme")
    claims = jwt.decode(token, "changeme", algorithms=["HS256"], options={"verify_signature": False})
    assert claims["sub"] == "admin" and claims["type"] == "access"
