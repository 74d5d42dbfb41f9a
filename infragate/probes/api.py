"""HTTP APIs and token auth: JSON requests, repeated timings, JSON paths and JWT inspection.

Tokens are inspected, never trusted: claims are read without verifying the signature (the service's key
is not ours), and the forged variants (tampered, unsigned, expired) exist to be refused by the service.
"""

from __future__ import annotations

import base64
import json as jsonlib
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import httpx

from infragate.lazy import lazy_module
from infragate.probes._base import (
    Attempt,
    Failure,
    Timeout,
    classify,
    client_context,
    describe_error,
    is_unreachable,
    monotonic_ms,
    run_within,
)
from infragate.probes.exchange import Outgoing
from infragate.probes.http import HttpAnswer
from infragate.stats import percentile

if TYPE_CHECKING:
    import jwt
    from jwt import warnings as jwt_warnings
else:
    jwt = lazy_module("jwt")
    jwt_warnings = lazy_module("jwt.warnings")

__all__ = [
    "Timings",
    "TokenClaims",
    "call",
    "expired",
    "forged",
    "read_claims",
    "send_json",
    "sign_claims",
    "signed",
    "tampered",
    "timed",
    "timed_gets",
    "unsigned",
    "verifies",
]


def _limits(timeout: Timeout) -> httpx.Timeout:
    return httpx.Timeout(connect=timeout.connect, read=timeout.read, write=timeout.read, pool=timeout.connect)


def call(
    url: str,
    *,
    timeout: Timeout,
    method: str = "GET",
    body: Any = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    cafile: Path | None = None,
) -> HttpAnswer:
    """One request with an optional JSON body and bearer token; the answer as ``http.HttpAnswer``."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    start = monotonic_ms()
    try:
        with httpx.Client(verify=client_context(cafile), timeout=_limits(timeout)) as client:
            content = None
            if body is not None:
                sent["Content-Type"] = "application/json"
                content = jsonlib.dumps(body).encode()
            response = client.request(method, url, headers=sent, content=content)
            return HttpAnswer(
                url=url,
                method=method,
                status=response.status_code,
                elapsed_ms=monotonic_ms() - start,
                headers=MappingProxyType({k.lower(): v for k, v in response.headers.items()}),
                body=response.text[: 256 * 1024],
            )
    except (httpx.HTTPError, OSError) as exc:
        return HttpAnswer(
            url=url,
            method=method,
            status=None,
            elapsed_ms=monotonic_ms() - start,
            error=describe_error(exc),
            unreachable=is_unreachable(exc),
        )


def send_json(
    url: str, body: Any, *, timeout: Timeout, method: str = "POST", cafile: Path | None = None
) -> HttpAnswer:
    """Send ``body`` as JSON (``curl -X POST -H 'Content-Type: application/json' -d ...``)."""
    return call(url, timeout=timeout, method=method, body=body, cafile=cafile)


@dataclass(frozen=True)
class Timings:
    """Elapsed times of N sequential requests after ``warmup`` unmeasured ones; ``statuses`` in order,
    None for no answer. ``warmup_ms``: what the warm-up requests took (shown, never judged)."""

    url: str
    elapsed_ms: tuple[float, ...]
    statuses: tuple[int | None, ...]
    error: str | None = None
    unreachable: bool = False
    warmup_ms: tuple[float, ...] = ()
    failure: Failure | None = None

    @property
    def median_ms(self) -> float:
        """Median elapsed time: the nearest-rank p50, a measured time (inf when nothing was measured)."""
        return percentile(self.elapsed_ms, 0.5) if self.elapsed_ms else float("inf")

    def describe(self) -> str:
        """``median 12 ms over [11, 12, 15] ms (warm-up 780 ms)`` or why nothing was measured."""
        measured = ", ".join(f"{ms:.0f}" for ms in self.elapsed_ms)
        warm = f" (warm-up {', '.join(f'{ms:.0f}' for ms in self.warmup_ms)} ms, not judged)"
        if self.error is not None:
            return f"no response after {len(self.elapsed_ms)} measured requests: {self.error}"
        return f"median {self.median_ms:.0f} ms over [{measured}] ms" + (warm if self.warmup_ms else "")


def timed_gets(
    url: str, count: int, *, timeout: Timeout, cafile: Path | None = None, warmup: int = 0
) -> Timings:
    """``count`` sequential GETs on one keep-alive connection, after ``warmup`` unmeasured ones."""
    return timed(Outgoing(url), count, timeout=timeout, cafile=cafile, warmup=warmup)


def timed(
    out: Outgoing, count: int, *, timeout: Timeout, cafile: Path | None = None, warmup: int = 1
) -> Timings:
    """``warmup`` requests (not measured: a first call after a restart pays imports, caches, the TLS
    handshake), then ``count`` measured ones, all on one keep-alive connection, under one hard deadline."""
    elapsed: list[float] = []
    warm: list[float] = []
    statuses: list[int | None] = []
    content = jsonlib.dumps(out.json).encode() if out.json is not None else out.content
    headers = dict(out.headers)
    if out.json is not None:
        headers.setdefault("Content-Type", "application/json")

    def work(attempt: Attempt) -> Timings:
        try:
            with httpx.Client(
                verify=client_context(cafile), timeout=_limits(timeout), cookies=dict(out.cookies)
            ) as client:
                for i in range(warmup + count):
                    start = time.perf_counter()
                    response = client.request(
                        out.method,
                        out.url,
                        headers=headers,
                        params=dict(out.params) or None,
                        content=content,
                        data=dict(out.form) if out.form is not None else None,
                    )
                    response.read()
                    attempt.connected = attempt.answered = True
                    (warm if i < warmup else elapsed).append((time.perf_counter() - start) * 1000)
                    if i >= warmup:
                        statuses.append(response.status_code)
        except (httpx.HTTPError, OSError) as exc:
            failure = classify(exc, connected=attempt.connected or None)
            return Timings(
                out.url,
                tuple(elapsed),
                tuple(statuses),
                describe_error(exc),
                failure.connect_level,
                tuple(warm),
                failure,
            )
        return Timings(out.url, tuple(elapsed), tuple(statuses), warmup_ms=tuple(warm))

    def expired(attempt: Attempt) -> Timings:
        failure = attempt.expired_failure()
        return Timings(
            out.url,
            tuple(elapsed),
            tuple(statuses),
            attempt.expired_text(),
            failure.connect_level,
            tuple(warm),
            failure,
        )

    # Each request has its own connect/read budget; the whole series is bounded by their sum.
    return run_within(timeout.total * (warmup + count), work, expired=expired, name="timed")


# ---------------------------------------------------------------------------- JWT


@dataclass(frozen=True)
class TokenClaims:
    """What a token says about itself (read without verifying the signature)."""

    algorithm: str | None
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    error: str | None = None

    @property
    def lifetime_s(self) -> float | None:
        """exp - iat, when both are numbers."""
        exp, iat = self.claims.get("exp"), self.claims.get("iat")
        if isinstance(exp, (int, float)) and isinstance(iat, (int, float)):
            return float(exp - iat)
        return None


def read_claims(token: str) -> TokenClaims:
    """Header algorithm and payload claims of a JWT; ``error`` when it is not a JWT at all."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return TokenClaims(None, error=f"not a JWT ({exc})")
    return TokenClaims(header.get("alg"), MappingProxyType(dict(claims)))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tampered(token: str) -> str:
    """The token with its payload changed (subject appended with '-x') and the original signature kept."""
    head, _, rest = token.partition(".")
    _, _, signature = rest.partition(".")
    claims = dict(jwt.decode(token, options={"verify_signature": False}))
    claims["sub"] = f"{claims.get('sub', '')}-x"
    payload = _b64(jsonlib.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{payload}.{signature}"


def unsigned(token: str) -> str:
    """The token's claims re-issued with ``alg: none`` and no signature."""
    claims = jwt.decode(token, options={"verify_signature": False})
    header = _b64(jsonlib.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(jsonlib.dumps(claims).encode())}."


def signed(token: str, secret: str, **changes: Any) -> str:
    """The token's claims with ``changes``, signed HS256 with ``secret``."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return sign_claims(claims, secret)


def sign_claims(claims: Mapping[str, Any], secret: str) -> str:
    """``claims`` signed HS256 with ``secret`` (placeholders are short on purpose: no key-length warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt_warnings.InsecureKeyLengthWarning)
        return jwt.encode(dict(claims), secret, algorithm="HS256")


def forged(subject: str, secret: str, *, ttl_s: int = 300, kind: str = "access") -> str:
    """A fresh token for ``subject`` signed with ``secret`` (a guess at the service's key)."""
    now = int(time.time())
    return sign_claims({"sub": subject, "iat": now, "exp": now + ttl_s, "type": kind}, secret)


def verifies(token: str, secret: str) -> bool:
    """Whether ``token`` carries a valid HMAC signature made with ``secret`` (its claims not judged)."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm not in ("HS256", "HS384", "HS512"):
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt_warnings.InsecureKeyLengthWarning)
            jwt.decode(
                token,
                secret,
                algorithms=[algorithm],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
    except jwt.PyJWTError:
        return False
    return True


def expired(token: str, secret: str, *, ago_s: int = 3600) -> str:
    """The token's claims, expired ``ago_s`` seconds ago, correctly signed with ``secret``."""
    now = int(time.time())
    return signed(token, secret, iat=now - ago_s - 60, exp=now - ago_s)
