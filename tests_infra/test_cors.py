"""Preflights from allowed origins are echoed (never '*' with credentials); other origins get nothing.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _headers(answer):
    if answer.status is None:
        return f"no response: {answer.error}"
    return (
        f"HTTP {answer.status}, Access-Control-Allow-Origin {answer.allow_origin!r}, "
        f"Allow-Credentials {str(answer.allow_credentials).lower()}"
    )


@pytest.mark.check("CORS-ALLOWED-ORIGIN")
def test_cors_allowed_origin_echoed(cors_allowed, facts, explain):
    policy, origin = cors_allowed
    answer = facts.cors(policy, origin)
    assert answer.allow_origin == origin, explain(
        expected=f"Access-Control-Allow-Origin {origin!r} for a {policy.method} preflight",
        seen=_headers(answer),
    )


@pytest.mark.check("CORS-ALLOWED-ORIGIN")
def test_cors_no_wildcard_with_credentials(cors_allowed, facts, explain):
    policy, origin = cors_allowed
    answer = facts.cors(policy, origin)
    assert answer.status is not None, explain(expected="a preflight answer", seen=_headers(answer))
    assert not (answer.allow_origin == "*" and answer.allow_credentials), explain(
        expected="an echoed origin when credentials are allowed (browsers reject '*' with credentials)",
        seen=f"wildcard with credentials: {_headers(answer)}",
    )


@pytest.mark.check("CORS-ALLOWED-ORIGIN")
def test_cors_allowed_origin_gets_method_and_headers(cors_allowed, facts, explain):
    policy, origin = cors_allowed
    answer = facts.cors(policy, origin)
    missing = [policy.method] if not answer.allows_method(policy.method) else []
    missing += [h for h in policy.request_headers if not answer.allows_header(h)]
    if policy.credentials and not answer.allow_credentials:
        missing.append("Access-Control-Allow-Credentials: true")
    assert answer.status is not None and not missing, explain(
        expected=f"{policy.method} with headers {', '.join(policy.request_headers) or 'none'} allowed",
        seen=f"not allowed: {', '.join(missing)} ({_headers(answer)}, methods {answer.allow_methods}, "
        f"headers {answer.allow_headers})"
        if answer.status is not None
        else _headers(answer),
    )


@pytest.mark.check("CORS-DENIED-ORIGIN")
def test_cors_unknown_origin_denied(cors_denied, facts, explain):
    policy, origin = cors_denied
    answer = facts.cors(policy, origin)
    assert answer.status is not None, explain(
        expected=f"an answer without CORS grant for {origin!r}", seen=_headers(answer)
    )
    assert answer.allow_origin not in (origin, "*"), explain(
        expected=f"no Access-Control-Allow-Origin for {origin!r} (not in the allow-list)",
        seen=_headers(answer),
    )
