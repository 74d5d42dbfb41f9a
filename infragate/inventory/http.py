"""HTTP endpoints, service APIs and CORS policies (probes: http, api, cors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from infragate.inventory._validate import HttpUrl, Invalid, LocalFile, StatusCode

__all__ = ["ApiEndpoint", "Cors", "Http", "HttpEndpoint", "JsonAssertion"]


@dataclass(frozen=True)
class JsonAssertion:
    """One assertion on a JSON answer: ``path`` (dotted, list indexes) exists and satisfies the rest."""

    path: str
    equals: Any = None
    contains: Any = None
    min_count: int | None = None


@dataclass(frozen=True)
class HttpEndpoint:
    """An HTTP(S) URL to probe; ``frontend`` marks a page served through the proxy."""

    name: str
    url: HttpUrl
    frontend: bool = False
    expect_status: StatusCode | None = None
    max_response_ms: float | None = None
    ca_bundle: LocalFile | None = None
    # service area (fixtures/service.py)
    detailed_url: HttpUrl | None = None
    health_components: tuple[str, ...] = ()
    json_asserts: tuple[JsonAssertion, ...] = ()
    expect_version: str | None = None
    version_field: str = "version"
    docs: Literal["served", "hidden"] | None = None
    max_median_ms: float | None = None
    samples: int | None = None

    def __post_init__(self) -> None:
        if self.samples is not None and self.samples < 1:
            raise Invalid("samples", f"must be at least 1, got {self.samples}")


@dataclass(frozen=True)
class ApiEndpoint:
    """An API endpoint that validates its body: a malformed one must get 422 with a ``detail`` list."""

    name: str
    url: HttpUrl
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    invalid_body: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Http:
    """HTTP checks of a target."""

    endpoints: tuple[HttpEndpoint, ...] = ()
    api: tuple[ApiEndpoint, ...] = ()


@dataclass(frozen=True)
class Cors:
    """A CORS policy: origins that must be allowed and origins that must not be."""

    name: str
    url: HttpUrl
    allowed_origins: tuple[str, ...]
    denied_origins: tuple[str, ...] = ("https://evil.example",)
    method: str = "GET"
    request_headers: tuple[str, ...] = ()
    credentials: bool = True
    ca_bundle: LocalFile | None = None
