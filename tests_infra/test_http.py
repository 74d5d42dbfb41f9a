"""Endpoints answer as declared: health pages (status, body, median time), pages behind the proxy (not
502s, not blank) and API calls (their declared request and expectation).

An endpoint's ``role`` decides which of these judge it. Every failure shows the answer itself: status,
content type and a redacted body excerpt.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import http_seen

_GATEWAY_ERRORS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _problems(judged):
    return f"{'; '.join(judged.problems)} ({judged.evidence})"


@pytest.mark.check("HTTP-HEALTH")
def test_http_endpoint_answers_as_expected(http_endpoint, facts, threshold, explain):
    judged = facts.http_judged(
        http_endpoint, threshold("expect_status"), tuple(threshold("unhealthy_values"))
    )
    assert not judged.problems, explain(
        expected=f"{judged.expected} from {judged.request}", seen=_problems(judged)
    )


@pytest.mark.check("HTTP-HEALTH")
def test_http_endpoint_answers_within_budget(http_endpoint, facts, threshold, explain):
    samples = int(threshold("samples"))
    budget = threshold("max_response_ms")
    timings = facts.timings(http_endpoint, samples)
    assert timings.error is None and timings.median_ms < budget, explain(
        expected=f"a median answer time under {budget:g} ms over {samples} requests after one warm-up",
        seen=timings.describe(),
    )


@pytest.mark.check("HTTP-NOT-BAD-GATEWAY")
def test_frontend_not_bad_gateway(gateway_endpoint, facts, explain):
    judged = facts.http_judged(gateway_endpoint, 200)
    seen = _problems(judged)
    if judged.answer.status in _GATEWAY_ERRORS:
        gateway = _GATEWAY_ERRORS[judged.answer.status]
        seen = (
            f"HTTP {judged.answer.status} {gateway}: the proxy cannot reach the backend ({judged.evidence})"
        )
    assert not judged.problems, explain(expected=f"{judged.expected} from {judged.request}", seen=seen)


@pytest.mark.check("HTTP-NOT-BAD-GATEWAY")
def test_frontend_serves_html(frontend, facts, explain):
    answer = facts.http(frontend)
    has_html = answer.content_type == "text/html" and "<html" in answer.body.lower()
    assert answer.status == 200 and has_html and answer.body.strip(), explain(
        expected="a non-empty HTML page (not a blank page)",
        seen=f"{http_seen(answer)}, content-type {answer.content_type or 'none'!r}, {len(answer.body)} bytes",
    )


@pytest.mark.check("HTTP-JSON-ASSERT")
def test_http_api_answers_as_expected(api_call, facts, threshold, explain):
    judged = facts.http_judged(api_call, threshold("expect_status"))
    assert not judged.problems, explain(
        expected=f"{judged.expected} from {judged.request}", seen=_problems(judged)
    )
