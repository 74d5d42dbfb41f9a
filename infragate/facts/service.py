"""Service facts: API answers, exposed files (logins, tokens: facts/auth.py; WebSocket: facts/websocket.py).

Secrets (the service account's password, the signing key) come from the inventory's ``*_env`` names
and are read at the call: never part of a cache key, an id or a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact, url_endpoint
from infragate.probes import api, http, jsondoc
from infragate.probes.conditions import evidence
from infragate.probes.health import ComponentReport, components_report
from infragate.probes.http import HttpAnswer

if TYPE_CHECKING:
    from infragate.inventory import ApiEndpoint, HttpEndpoint, Security
    from infragate.probes.api import Timings


def _url_arg(url: str, *_: Any) -> tuple[str, int]:
    return url_endpoint(url)


@fact(endpoint=_url_arg)
def http_get(ctx: Context, url: str, entry: Any) -> HttpAnswer:
    """GET ``url`` with the entry's trust settings."""
    return http.request(url, timeout=ctx.timeout, cafile=ctx.trust(entry))


@fact()
def timings(ctx: Context, endpoint: HttpEndpoint, count: int) -> Timings:
    """One warm-up, then ``count`` timed sequential requests: the endpoint's declared request."""
    from infragate.facts.net import prepare

    ready = prepare(ctx, endpoint.call)
    if ready.out is None:
        return api.Timings(endpoint.url, (), (), error=ready.error)
    return api.timed(ready.out, count, warmup=1, timeout=ctx.timeout, cafile=ctx.trust(endpoint))


@dataclass(frozen=True)
class ValidationAnswer:
    """The answer to a malformed body and how many validation errors its ``detail`` list names."""

    answer: HttpAnswer
    details: int


@fact()
def invalid_body(ctx: Context, endpoint: ApiEndpoint) -> ValidationAnswer:
    """The answer to the endpoint's malformed body."""
    answer = api.send_json(
        endpoint.url,
        dict(endpoint.invalid_body),
        method=endpoint.method,
        timeout=ctx.timeout,
        cafile=ctx.trust(endpoint),
    )
    detail = jsondoc.search(answer.json(), "detail")
    return ValidationAnswer(answer, len(detail) if isinstance(detail, list) else 0)


@fact(endpoint=_url_arg)
def sensitive(ctx: Context, url: str, security: Security) -> HttpAnswer:
    """GET a URL that must not be served."""
    return http.request(url, timeout=ctx.timeout, cafile=ctx.trust(security))


@dataclass(frozen=True)
class DetailedHealth:
    """The detailed health page's answer and what it says of each declared component."""

    url: str
    answer: HttpAnswer
    report: ComponentReport
    evidence: str


def _detailed_url(endpoint: HttpEndpoint, *_: Any) -> tuple[str, int]:
    call = endpoint.detailed_call
    return url_endpoint(call.url if call is not None and call.url else endpoint.url)


@fact(endpoint=_detailed_url)
def health_detailed(ctx: Context, endpoint: HttpEndpoint, healthy_values: tuple[str, ...]) -> DetailedHealth:
    """The detailed health document (the endpoint's own answer when no detailed page is declared) and
    the components whose status, at their JMESPath, is not one of ``healthy_values``."""
    from infragate.facts.net import prepare

    call = endpoint.detailed_call or endpoint.call
    if call == endpoint.call:
        answer: HttpAnswer = ctx.get("http", endpoint)
    elif call.method == "GET" and not call.headers and call.auth is None:
        answer = ctx.get("http_get", call.url, endpoint)
    else:
        ready = prepare(ctx, call)
        answer = (
            ctx.send(ready.out, endpoint)
            if ready.out is not None
            else HttpAnswer(call.url or "", call.method, None, 0.0, error=ready.error)
        )
    doc = answer.json() if answer.status is not None else None
    report = components_report(doc, endpoint.component_paths, healthy_values)
    secrets = prepare(ctx, call).secrets if call.auth is not None or call.headers else ()
    return DetailedHealth(call.url or endpoint.url, answer, report, evidence(answer, secrets))


@dataclass(frozen=True)
class JsonCheck:
    """An endpoint's answer and what it breaks of one declared JSON assertion (None: it holds)."""

    answer: HttpAnswer
    problem: str | None


@fact()
def json_assertion(ctx: Context, endpoint: HttpEndpoint, assertion: Any, expect_status: int) -> JsonCheck:
    """One of the endpoint's ``json_asserts`` judged on its answer (to its declared request)."""
    answer: HttpAnswer = ctx.get("http", endpoint)
    if answer.status != expect_status:
        return JsonCheck(answer, f"HTTP {answer.status}" if answer.status else f"no response: {answer.error}")
    return JsonCheck(answer, jsondoc.assertion_problem(answer.json(), assertion))


@dataclass(frozen=True)
class DeployedVersion:
    """The version an endpoint reports (its JSON field, else its X-App-Version header)."""

    answer: HttpAnswer
    version: str | None


@fact()
def deployed_version(ctx: Context, endpoint: HttpEndpoint) -> DeployedVersion:
    """The deployed version read from ``version_field`` or the ``X-App-Version`` header."""
    answer: HttpAnswer = ctx.get("http", endpoint)
    return DeployedVersion(answer, jsondoc.version_of(answer.json(), answer.headers, endpoint.version_field))
