"""Health endpoints answer the expected status quickly; pages behind the proxy are not 502s or blank.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

_GATEWAY_ERRORS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _seen(answer):
    if answer.status is None:
        return f"no response: {answer.error}"
    return f"HTTP {answer.status} in {answer.elapsed_ms:.0f} ms"


@pytest.mark.check("HTTP-HEALTH")
def test_http_endpoint_returns_expected_status(http_endpoint, facts, threshold, explain):
    answer = facts.http(http_endpoint)
    expected = threshold("expect_status")
    assert answer.status == expected, explain(
        expected=f"HTTP {expected} from {http_endpoint.url}", seen=_seen(answer)
    )


@pytest.mark.check("HTTP-HEALTH")
def test_http_endpoint_answers_within_budget(http_endpoint, facts, threshold, explain):
    answer = facts.http(http_endpoint)
    budget = threshold("max_response_ms")
    assert answer.status is not None and answer.elapsed_ms < budget, explain(
        expected=f"an answer within {budget:g} ms", seen=_seen(answer)
    )


@pytest.mark.check("HTTP-NOT-BAD-GATEWAY")
def test_frontend_not_bad_gateway(frontend, facts, explain):
    answer = facts.http(frontend)
    seen = _seen(answer)
    if answer.status in _GATEWAY_ERRORS:
        seen = f"HTTP {answer.status} {_GATEWAY_ERRORS[answer.status]}: the proxy cannot reach the backend"
    assert answer.status == 200, explain(expected=f"HTTP 200 from {frontend.url}", seen=seen)


@pytest.mark.check("HTTP-NOT-BAD-GATEWAY")
def test_frontend_serves_html(frontend, facts, explain):
    answer = facts.http(frontend)
    has_html = answer.content_type == "text/html" and "<html" in answer.body.lower()
    assert answer.status == 200 and has_html and answer.body.strip(), explain(
        expected="a non-empty HTML page (not a blank page)",
        seen=f"{_seen(answer)}, content-type {answer.content_type or 'none'!r}, {len(answer.body)} bytes",
    )
