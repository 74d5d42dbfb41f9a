"""The service's HTTP API: detailed health, JSON answers, response times, docs, validation and version.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.service import origin_of
from infragate.probes.api import MISSING, json_path


def _seen(answer):
    if answer.status is None:
        return f"no response: {answer.error}"
    return f"HTTP {answer.status}"


@pytest.mark.check("HTTP-HEALTH-DETAILED")
def test_health_detailed_components_healthy(health_detailed, service, explain):
    answer = service.get(health_detailed.detailed_url, health_detailed)
    doc = answer.json() if answer.status is not None else None
    components = json_path(doc, "components") if isinstance(doc, dict) else MISSING
    unhealthy = []
    for name in health_detailed.health_components:
        state = json_path(components, name) if isinstance(components, dict) else MISSING
        status = json_path(state, "status") if isinstance(state, dict) else MISSING
        if status not in ("ok", "healthy", "up"):
            error = json_path(state, "error") if isinstance(state, dict) else MISSING
            shown = "missing" if status is MISSING else repr(status)
            unhealthy.append(f"{name} {shown}" + ("" if error is MISSING else f" ({error})"))
    overall = json_path(doc, "status") if isinstance(doc, dict) else MISSING
    assert answer.status == 200 and not unhealthy, explain(
        expected=f"{health_detailed.detailed_url} reporting "
        f"{', '.join(health_detailed.health_components)} healthy",
        seen=f"{_seen(answer)}, status {overall if overall is not MISSING else 'missing'}; "
        f"unhealthy: {'; '.join(unhealthy) or 'none'}",
    )


def _describe(assertion):
    parts = [f"{assertion.path or '(root)'} exists"]
    if assertion.equals is not None:
        parts.append(f"equals {assertion.equals!r}")
    if assertion.contains is not None:
        parts.append(f"contains {assertion.contains!r}")
    if assertion.min_count is not None:
        parts.append(f"count >= {assertion.min_count}")
    return ", ".join(parts)


@pytest.mark.check("HTTP-JSON-ASSERT")
def test_http_json_satisfies_assertion(json_assertion, service, threshold, explain):
    endpoint, assertion = json_assertion
    answer = service.get(endpoint.url, endpoint)
    expected_status = threshold("expect_status", endpoint)
    doc = answer.json() if answer.status == expected_status else None
    value = json_path(doc, assertion.path) if doc is not None else MISSING
    ok = value is not MISSING
    seen = f"{_seen(answer)}, {assertion.path or '(root)'} missing" if not ok else f"{_seen(answer)}"
    if ok and assertion.equals is not None and value != assertion.equals:
        ok, seen = False, f"{seen}, value {value!r}"
    if (
        ok
        and assertion.contains is not None
        and (not isinstance(value, (list, str, dict)) or assertion.contains not in value)
    ):
        ok, seen = False, f"{seen}, {str(value)[:120]!r} without {assertion.contains!r}"
    if ok and assertion.min_count is not None:
        count = len(value) if isinstance(value, (list, dict, str)) else 0
        if count < assertion.min_count:
            ok, seen = False, f"{seen}, count {count}"
    assert ok, explain(
        expected=f"HTTP {expected_status} from {endpoint.url} with {_describe(assertion)}", seen=seen
    )


@pytest.mark.check("HTTP-RESPONSE-TIME")
def test_http_median_response_within_budget(timed_endpoint, service, threshold, explain):
    samples = int(threshold("samples"))
    budget = threshold("max_median_ms")
    timings = service.timings(timed_endpoint, samples)
    measured = ", ".join(f"{ms:.0f}" for ms in timings.elapsed_ms)
    seen = f"median {timings.median_ms:.0f} ms over [{measured}] ms"
    if timings.error:
        seen = f"no response after {len(timings.elapsed_ms)} requests: {timings.error}"
    assert timings.error is None and timings.median_ms < budget, explain(
        expected=f"median < {budget:g} ms over {samples} sequential GETs of {timed_endpoint.url}", seen=seen
    )


@pytest.mark.check("HTTP-DOCS")
def test_http_docs_served_as_declared(docs_path, service, explain):
    endpoint, path = docs_path
    url = origin_of(endpoint.url) + path
    answer = service.get(url, endpoint)
    served = answer.status == 200
    if endpoint.docs == "served":
        assert served, explain(expected=f"the API documentation served at {url}", seen=_seen(answer))
    else:
        assert answer.status is not None and not served, explain(
            expected=f"no API documentation at {url} (docs disabled in production: 404)",
            seen=f"{_seen(answer)}: documentation served ({len(answer.body)} bytes)"
            if served
            else _seen(answer),
        )


@pytest.mark.check("HTTP-VALIDATION-422")
def test_api_malformed_body_gets_422(api_endpoint, service, explain):
    answer = service.invalid_body(api_endpoint)
    doc = answer.json()
    detail = doc.get("detail") if isinstance(doc, dict) else None
    assert answer.status == 422 and isinstance(detail, list) and detail, explain(
        expected=f"HTTP 422 with a non-empty 'detail' list for a malformed {api_endpoint.method} "
        f"{api_endpoint.url}",
        seen=f"{_seen(answer)}, body {answer.body[:160]!r}",
    )


@pytest.mark.check("HTTP-VERSION")
def test_http_deployed_version_expected(versioned, service, record_property, explain):
    answer = service.get(versioned.url, versioned)
    doc = answer.json()
    version = json_path(doc, versioned.version_field) if doc is not None else MISSING
    if version is MISSING:
        version = answer.headers.get("x-app-version", MISSING)
    record_property("deployed_version", "unknown" if version is MISSING else str(version))
    assert version == versioned.expect_version, explain(
        expected=f"version {versioned.expect_version!r} at {versioned.url} ({versioned.version_field})",
        seen=f"{_seen(answer)}, version {'missing' if version is MISSING else repr(version)}",
    )
