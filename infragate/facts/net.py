"""Network facts: TCP ports, HTTP answers, TLS handshakes, CORS preflights (WebSocket: facts/websocket.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infragate.facts import Context, fact, url_endpoint
from infragate.probes import cors, http, tcp, tls

if TYPE_CHECKING:
    from infragate.inventory import Cors, HttpEndpoint, Port, TlsEndpoint
    from infragate.probes.cors import CorsAnswer
    from infragate.probes.http import HttpAnswer
    from infragate.probes.tcp import TcpConnect
    from infragate.probes.tls import Certificate, Handshake, ProtocolProbe


@fact("tcp")
def tcp_connect(ctx: Context, port: Port) -> TcpConnect:
    """TCP connect to a declared port."""
    return tcp.connect(port.host, port.port, timeout=ctx.timeout.connect)


@fact("http")
def http_get(ctx: Context, endpoint: HttpEndpoint) -> HttpAnswer:
    """GET on an HTTP endpoint (redirects not followed: a redirect is an answer)."""
    return http.request(endpoint.url, timeout=ctx.timeout, cafile=ctx.trust(endpoint))


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
    )


@fact("tls_version")
def tls_version(ctx: Context, endpoint: TlsEndpoint, version: str) -> ProtocolProbe:
    """Whether an endpoint completes a handshake pinned to ``version``."""
    return tls.protocol_accepted(
        endpoint.host, endpoint.port, version, server_name=endpoint.sni, timeout=ctx.timeout.connect
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
