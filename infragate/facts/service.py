"""Service facts: API answers, logins and tokens, exposed files (WebSocket: facts/websocket.py).

Secrets (the service account's password, the signing key) come from the inventory's ``*_env`` names
and are read at the call: never part of a cache key, an id or a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact, url_endpoint
from infragate.probes import api, http, jsondoc
from infragate.probes.conditions import evidence
from infragate.probes.exchange import send
from infragate.probes.health import ComponentReport, components_report
from infragate.probes.http import HttpAnswer

if TYPE_CHECKING:
    from infragate.inventory import ApiEndpoint, Auth, HttpEndpoint, Security
    from infragate.probes.api import Timings


def _url_arg(url: str, *_: Any) -> tuple[str, int]:
    return url_endpoint(url)


def _auth_url(attr: str) -> Any:
    return lambda auth, *_: url_endpoint(getattr(auth, attr) or "")


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


@fact(endpoint=_auth_url("login_url"))
def login(ctx: Context, auth: Auth, wrong_password: bool = False) -> HttpAnswer:
    """POST the login form of the declared account (or with a deliberately wrong password)."""
    password = "infragate-wrong-password" if wrong_password else auth.password_env.value
    return api.send_json(
        auth.login_url,
        {"username": auth.username, "password": password},
        timeout=ctx.timeout,
        cafile=ctx.trust(auth),
    )


@dataclass(frozen=True)
class Refusal:
    """An answer that should be a refusal, with the error code its body carries."""

    answer: HttpAnswer
    code: str | None


@fact(endpoint=_auth_url("login_url"))
def wrong_password(ctx: Context, auth: Auth) -> Refusal:
    """The login's answer to the declared account with a wrong password."""
    answer: HttpAnswer = ctx.get("login", auth, True)
    return Refusal(answer, jsondoc.error_code(answer.json()))


@fact(endpoint=_auth_url("login_url"))
def tokens(ctx: Context, auth: Auth) -> dict[str, Any]:
    """The declared account's login answer as JSON (empty when the login failed)."""
    doc = ctx.get("login", auth).json()
    return doc if isinstance(doc, dict) else {}


@fact(endpoint=_auth_url("refresh_url"))
def refresh(ctx: Context, auth: Auth) -> HttpAnswer:
    """Exchange the login's refresh token at ``refresh_url``."""
    refresh_token = ctx.get("tokens", auth).get("refresh_token", "")
    return api.send_json(
        auth.refresh_url or "", {"refresh_token": refresh_token}, timeout=ctx.timeout, cafile=ctx.trust(auth)
    )


@fact(endpoint=_auth_url("protected_url"))
def protected(ctx: Context, auth: Auth, token: str | None, label: str) -> HttpAnswer:
    """GET ``protected_url`` with ``token`` as bearer (None: no Authorization header)."""
    return api.call(auth.protected_url or "", token=token, timeout=ctx.timeout, cafile=ctx.trust(auth))


@fact(endpoint=_auth_url("login_url"))
def access_token(ctx: Context, auth: Auth) -> str | None:
    """An access token of the declared account, or None when the login gave none."""
    token = ctx.get("tokens", auth).get("access_token")
    return token if isinstance(token, str) else None


@fact(endpoint=_url_arg)
def try_login(ctx: Context, url: str, entry: Any, username: str, password: str) -> HttpAnswer:
    """POST other credentials (published defaults) to a login URL."""
    return api.send_json(
        url, {"username": username, "password": password}, timeout=ctx.timeout, cafile=ctx.trust(entry)
    )


@fact(endpoint=_url_arg)
def bearer(ctx: Context, url: str, entry: Any, token: str, label: str) -> HttpAnswer:
    """GET ``url`` with a bearer token (``label`` names it in reports, never the token itself)."""
    return api.call(url, token=token, timeout=ctx.timeout, cafile=ctx.trust(entry))


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
            send(ready.out, timeout=ctx.timeout, cafile=ctx.trust(endpoint))
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


@fact(endpoint=_auth_url("login_url"))
def token_claims(ctx: Context, auth: Auth) -> api.TokenClaims | None:
    """The claims of the declared account's access token (None: the login gave no token)."""
    token = ctx.get("access_token", auth)
    return api.read_claims(token) if token is not None else None


@dataclass(frozen=True)
class Refreshed:
    """The refresh exchange and, when it gave a token, the protected URL's answer to that token."""

    answer: HttpAnswer
    token: str | None
    used: HttpAnswer | None


@fact(endpoint=_auth_url("refresh_url"))
def refreshed(ctx: Context, auth: Auth) -> Refreshed:
    """Exchange the refresh token, then present the new access token to ``protected_url``."""
    answer: HttpAnswer = ctx.get("refresh", auth)
    doc = answer.json()
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(token, str):
        return Refreshed(answer, None, None)
    used = ctx.get("protected", auth, token, "refreshed") if auth.protected_url else None
    return Refreshed(answer, token, used)


@dataclass(frozen=True)
class InvalidTokenAnswer:
    """The protected URL's answer to a token made invalid on purpose (``error``: none could be made)."""

    kind: str
    answer: HttpAnswer | None
    code: str | None
    error: str | None = None


@fact(endpoint=_auth_url("protected_url"))
def invalid_token(ctx: Context, auth: Auth, kind: str) -> InvalidTokenAnswer:
    """Present a missing, tampered, unsigned or expired token (derived from a real one) to the API."""
    token: str | None = None
    if kind != "missing":
        real = ctx.get("access_token", auth)
        if real is None:
            return InvalidTokenAnswer(
                kind, None, None, f"no access token from {auth.login_url} to derive from"
            )
        if kind == "tampered":
            token = api.tampered(real)
        elif kind == "unsigned":
            token = api.unsigned(real)
        elif auth.signing_secret_env is not None:
            token = api.expired(real, auth.signing_secret_env.value)
    answer: HttpAnswer = ctx.get("protected", auth, token, kind)
    return InvalidTokenAnswer(kind, answer, jsondoc.error_code(answer.json()))


def _security_url(ctx: Context, security: Security, attr: str) -> str | None:
    """The security entry's own URL, else the [auth] section's."""
    own = getattr(security, attr)
    auth = ctx.target.auth
    return own if own else (getattr(auth, attr) if auth is not None else None)


@dataclass(frozen=True)
class ForgedAnswer:
    """Which documented placeholder secrets sign a token the service accepts (url None: none declared)."""

    url: str | None
    accepted: tuple[str, ...]


@fact()
def placeholder_tokens(ctx: Context, security: Security) -> ForgedAnswer:
    """Tokens signed with each documented placeholder secret, presented to the protected URL."""
    url = _security_url(ctx, security, "protected_url")
    if url is None:
        return ForgedAnswer(None, ())
    accepted = []
    for i, placeholder in enumerate(security.placeholder_secrets):
        token = api.forged(security.token_subject, placeholder)
        answer: HttpAnswer = ctx.get("bearer", url, security, token, f"placeholder-{i}")
        if answer.status is not None and 200 <= answer.status < 300:
            accepted.append(repr(placeholder))
    return ForgedAnswer(url, tuple(accepted))


@dataclass(frozen=True)
class DefaultLogin:
    """A published default login tried on the service (url None: no login URL declared)."""

    url: str | None
    answer: HttpAnswer | None
    got_token: bool


@fact()
def default_login(ctx: Context, security: Security, username: str, password: str) -> DefaultLogin:
    """POST a published default username and password to the login URL."""
    url = _security_url(ctx, security, "login_url")
    if url is None:
        return DefaultLogin(None, None, False)
    answer: HttpAnswer = ctx.get("try_login", url, security, username, password)
    doc = answer.json()
    return DefaultLogin(url, answer, isinstance(doc, dict) and "access_token" in doc)
