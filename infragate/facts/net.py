"""Network facts: TCP ports, HTTP answers, TLS handshakes, CORS preflights (WebSocket: facts/websocket.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact, url_endpoint
from infragate.inventory.auth import auth_entry
from infragate.inventory.request import Expect, Request
from infragate.probes import conditions, cors, debug_pages, health, http, tcp, tls
from infragate.probes._base import Failure
from infragate.probes.exchange import Outgoing
from infragate.probes.http import HttpAnswer

if TYPE_CHECKING:
    from infragate.inventory import Cors, HttpEndpoint, Port, TlsEndpoint
    from infragate.probes.cors import CorsAnswer
    from infragate.probes.tcp import TcpConnect
    from infragate.probes.tls import Certificate, Handshake, ProtocolProbe


@fact("tcp")
def tcp_connect(ctx: Context, port: Port) -> TcpConnect:
    """TCP connect to a declared port."""
    return tcp.connect(port.host, port.port, timeout=ctx.timeout.connect)


@dataclass(frozen=True)
class Prepared:
    """A declared request made ready to send: the token of its ``auth`` entry placed, or why it cannot be.

    ``secrets`` are the values sent that no output may show (the token, header values).
    """

    out: Outgoing | None
    secrets: tuple[str, ...] = ()
    error: str | None = None

    def __repr__(self) -> str:
        # Outgoing's repr is the request line only; the secrets are never shown.
        return f"Prepared({self.out!r}, error={self.error!r})"


def prepare(ctx: Context, request: Request) -> Prepared:
    """The Outgoing for ``request`` (url already set): headers, body and, for ``auth``, that [[auth]] entry's
    token placed as its contract says (header with scheme, cookie or query parameter)."""
    headers = dict(request.headers)
    params: dict[str, str] = {}
    cookies: dict[str, str] = {}
    secrets = [v for v in headers.values() if len(v) >= 8]
    if request.auth is not None:
        entry = auth_entry(ctx.target.auth, request.auth)
        if entry is None:
            return Prepared(None, error=f"request.auth names no [[auth]] entry {request.auth!r}")
        token = ctx.get("access_token", entry)
        if not isinstance(token, str) or not token:
            return Prepared(None, error=f"no access token from [[auth]] {entry.name!r} to present")
        secrets.append(token)
        present = entry.present
        if present.kind == "header":
            headers[present.name] = f"{present.scheme} {token}" if present.scheme else token
        elif present.kind == "cookie":
            cookies[present.name] = token
        elif present.kind == "query":
            params[present.name] = token
        else:
            return Prepared(
                None, error=f"[[auth]] {entry.name!r} presents its token by {present.kind}: not HTTP"
            )
    out = Outgoing(
        request.url or "",
        request.method,
        headers=headers,
        params=params,
        cookies=cookies,
        json=request.json,
        form=request.form,
    )
    return Prepared(out, tuple(secrets))


def _not_sent(request: Request, why: str) -> HttpAnswer:
    return HttpAnswer(request.url or "", request.method, None, 0.0, error=why, failure=Failure.OTHER)


@fact("http")
def http_get(ctx: Context, endpoint: HttpEndpoint) -> HttpAnswer:
    """The endpoint's declared request (default: a GET of its url; redirects not followed)."""
    call = endpoint.call
    if call.method == "GET" and not call.headers and call.auth is None:
        return http.request(endpoint.url, timeout=ctx.timeout, cafile=ctx.trust(endpoint))
    ready = prepare(ctx, call)
    if ready.out is None:
        return _not_sent(call, ready.error or "not sent")
    return ctx.send(ready.out, endpoint)


@dataclass(frozen=True)
class Judged:
    """An endpoint's answer against its expectation: ``problems`` empty when it meets it."""

    request: str
    expected: str
    answer: HttpAnswer
    problems: tuple[str, ...]
    evidence: str


def _secrets_of(ctx: Context, request: Request) -> tuple[str, ...]:
    return prepare(ctx, request).secrets if request.auth is not None or request.headers else ()


@fact()
def http_judged(
    ctx: Context, endpoint: HttpEndpoint, default_status: int, unhealthy: tuple[str, ...] = ()
) -> Judged:
    """The endpoint's answer judged by its ``expect`` (status defaulting to ``default_status``); with
    ``unhealthy`` and no declared JSON condition, a top-level ``status`` in those words is a problem too."""
    answer: HttpAnswer = ctx.get("http", endpoint)
    declared = endpoint.expect or Expect()
    expect = declared if declared.status else replace(declared, status=(default_status,))
    found = list(conditions.problems(answer, expect))
    if answer.status is not None and unhealthy and not declared.json:
        word = health.status_word(answer.json(), unhealthy)
        if word is not None:
            found.append(f"the body says status {word!r}")
    call = endpoint.call
    return Judged(
        f"{call.method} {call.url}",
        expect.describe(),
        answer,
        tuple(found),
        conditions.evidence(answer, _secrets_of(ctx, call)),
    )


@dataclass(frozen=True)
class DebugReport:
    """The provoked errors of a running app and the debug-page signatures they showed."""

    probes: tuple[debug_pages.DebugProbe, ...]
    findings: tuple[str, ...]
    answered: int
    errors: tuple[str, ...]


@fact()
def debug_probe(ctx: Context, endpoint: HttpEndpoint, signatures: Mapping[str, Any]) -> DebugReport:
    """A missing page and a malformed request to the endpoint, scanned for debug-page ``signatures``."""
    probes = debug_pages.probe(
        endpoint.url,
        {str(k): str(v) for k, v in signatures.items()},
        timeout=ctx.timeout,
        cafile=ctx.trust(endpoint),
    )
    findings = tuple(
        f"{p.what}: HTTP {p.answer.status} {p.answer.content_type or 'no content type'} shows "
        f"{', '.join(p.found)}: {p.excerpt!r}"
        for p in probes
        if p.found
    )
    errors = tuple(f"{p.what}: {p.answer.error}" for p in probes if p.answer.status is None)
    return DebugReport(probes, findings, len(probes) - len(errors), errors)


@fact("redirect", endpoint=lambda e: url_endpoint(e.redirect_from or ""))
def redirect(ctx: Context, endpoint: TlsEndpoint) -> HttpAnswer:
    """GET on the plain-HTTP URL that should redirect to HTTPS."""
    return http.request(endpoint.redirect_from or "", timeout=ctx.timeout)


@fact("tls")
def handshake(ctx: Context, endpoint: TlsEndpoint) -> Handshake:
    """TLS handshake facts of an endpoint (chain, verification, leaf)."""
    return tls.handshake(
        endpoint.host,
        endpoint.port,
        server_name=endpoint.sni,
        cafile=ctx.trust(endpoint),
        timeout=ctx.timeout.connect,
        read_timeout=ctx.timeout.read,
    )


@fact("tls_version")
def tls_version(ctx: Context, endpoint: TlsEndpoint, version: str) -> ProtocolProbe:
    """Whether an endpoint completes a handshake pinned to ``version``."""
    return tls.protocol_accepted(
        endpoint.host,
        endpoint.port,
        version,
        server_name=endpoint.sni,
        timeout=ctx.timeout.connect,
        read_timeout=ctx.timeout.read,
    )


@fact("cors")
def preflight(ctx: Context, policy: Cors, origin: str) -> CorsAnswer:
    """The CORS preflight answer for one origin."""
    return cors.preflight(
        policy.url,
        origin=origin,
        method=policy.method,
        request_headers=policy.request_headers,
        timeout=ctx.timeout,
        cafile=ctx.trust(policy),
    )


@dataclass(frozen=True)
class ServedVsFile:
    """The served leaf and the first certificate of the file the inventory says is deployed."""

    served: Certificate | None
    on_disk: Certificate | None
    handshake_error: str | None

    @property
    def same(self) -> bool:
        """The server serves the certificate on disk (not an older one it was never reloaded for)."""
        return (
            self.served is not None and self.on_disk is not None and self.served.sha256 == self.on_disk.sha256
        )


@fact()
def served_vs_file(ctx: Context, endpoint: TlsEndpoint) -> ServedVsFile:
    """Compare the served leaf with the certificate file read where pytest runs."""
    hs: Handshake = ctx.get("tls", endpoint)
    on_disk = tls.load_certificates(endpoint.cert_file) if endpoint.cert_file is not None else ()
    return ServedVsFile(hs.leaf, on_disk[0] if on_disk else None, hs.error)


_ORDER = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


@fact()
def tls_accepted_from(ctx: Context, endpoint: TlsEndpoint, minimum: str) -> tuple[str, ...]:
    """Protocol versions from ``minimum`` upwards that complete a handshake."""
    newer = _ORDER[_ORDER.index(minimum) :] if minimum in _ORDER else _ORDER
    return tuple(v for v in newer if ctx.get("tls_version", endpoint, v).accepted)
