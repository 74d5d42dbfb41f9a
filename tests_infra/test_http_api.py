"""The service's HTTP API: detailed health, JSON answers, response times, docs, validation and version.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import http_seen
from infragate.probes.conditions import evidence
from infragate.probes.jsondoc import describe_assertion


@pytest.mark.check("HTTP-HEALTH-DETAILED")
def test_health_detailed_components_healthy(health_detailed, facts, threshold, explain):
    healthy = tuple(threshold("healthy_values"))
    health = facts.health_detailed(health_detailed, healthy)
    unhealthy = health.report.unhealthy
    assert health.answer.status == 200 and not unhealthy, explain(
        expected=f"{health.url} reporting {', '.join(health_detailed.component_paths)} healthy "
        f"(one of {', '.join(healthy)})",
        seen=f"unhealthy: {'; '.join(unhealthy) or 'none'}; overall status {health.report.overall} "
        f"({health.evidence})",
    )


@pytest.mark.check("HTTP-JSON-ASSERT")
def test_http_json_satisfies_assertion(json_assertion, facts, threshold, explain):
    endpoint, assertion = json_assertion
    expected_status = threshold("expect_status", endpoint)
    result = facts.json_assertion(endpoint, assertion, expected_status)
    assert result.problem is None, explain(
        expected=f"HTTP {expected_status} from {endpoint.url} with {describe_assertion(assertion)}",
        seen=f"{result.problem} ({evidence(result.answer)})",
    )


@pytest.mark.check("HTTP-RESPONSE-TIME")
def test_http_median_response_within_budget(timed_endpoint, facts, threshold, explain):
    samples = int(threshold("samples"))
    budget = threshold("max_median_ms")
    timings = facts.timings(timed_endpoint, samples)
    assert timings.error is None and timings.median_ms < budget, explain(
        expected=f"median < {budget:g} ms over {samples} sequential requests to {timed_endpoint.url} "
        "after one warm-up",
        seen=timings.describe(),
    )


@pytest.mark.check("HTTP-DOCS")
def test_http_docs_served_as_declared(docs_path, facts, explain):
    endpoint, url = docs_path
    answer = facts.http_get(url, endpoint)
    served = answer.status == 200
    if endpoint.docs == "served":
        assert served, explain(expected=f"the API documentation served at {url}", seen=http_seen(answer))
    else:
        assert answer.status is not None and not served, explain(
            expected=f"no API documentation at {url} (docs disabled in production: 404)",
            seen=f"{http_seen(answer)}: documentation served ({len(answer.body)} bytes)"
            if served
            else http_seen(answer),
        )


@pytest.mark.check("HTTP-VALIDATION-422")
def test_api_malformed_body_gets_422(api_endpoint, facts, explain):
    result = facts.invalid_body(api_endpoint)
    answer = result.answer
    assert answer.status == 422 and result.details > 0, explain(
        expected=f"HTTP 422 with a non-empty 'detail' list for a malformed {api_endpoint.method} "
        f"{api_endpoint.url}",
        seen=evidence(answer),
    )


@pytest.mark.check("HTTP-VERSION")
def test_http_deployed_version_expected(versioned, facts, record_property, explain):
    found = facts.deployed_version(versioned)
    record_property("deployed_version", found.version or "unknown")
    assert found.version == versioned.expect_version, explain(
        expected=f"version {versioned.expect_version!r} at {versioned.url} ({versioned.version_field})",
        seen=f"version {found.version or 'missing'} ({evidence(found.answer)})",
    )
