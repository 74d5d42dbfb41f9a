"""HTTP endpoints, service APIs and CORS policies (probes: http, api, cors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from infragate.inventory._validate import HttpUrl, Invalid, LocalFile, StatusCode
from infragate.inventory.request import Expect, Request
from infragate.jsonpath import PathError, compile_path

__all__ = ["ROLES", "ApiEndpoint", "Cors", "Http", "HttpEndpoint", "JsonAssertion", "Upload"]

# What an endpoint is decides which checks judge it: a health page (HTTP-HEALTH, HTTP-HEALTH-DETAILED),
# an API call (its `expect` under HTTP-JSON-ASSERT, the running-app debug probe), a frontend page or a
# static file behind the proxy (HTTP-NOT-BAD-GATEWAY).
ROLES = ("health", "api", "frontend", "static")


@dataclass(frozen=True)
class JsonAssertion:
    """One assertion on a JSON answer: ``path`` (dotted, list indexes) exists and satisfies the rest."""

    path: str
    equals: Any = None
    contains: Any = None
    min_count: int | None = None


@dataclass(frozen=True)
class HttpEndpoint:
    """An HTTP(S) URL to probe: what it is (``role``), the request to send and what the answer must be.

    ``role`` None: ``frontend`` if ``frontend = true`` (the older key), else ``health``. ``request``
    (method, headers, JSON or form body, ``auth``) defaults to a plain GET of ``url``; ``expect`` adds
    conditions (status, JMESPath values, headers, body text) to the role's own.
    """

    name: str
    url: HttpUrl
    role: Literal["health", "api", "frontend", "static"] | None = None
    request: Request | None = None
    expect: Expect | None = None
    frontend: bool = False
    expect_status: StatusCode | None = None
    max_response_ms: float | None = None
    ca_bundle: LocalFile | None = None
    # service area (fixtures/service.py)
    detailed_url: HttpUrl | None = None
    # The detailed page as a request (auth, headers); its url None: detailed_url, else the endpoint's url.
    detailed: Request | None = None
    health_components: tuple[str, ...] = ()
    # component -> JMESPath of its status in the detailed document ({ db = "checks.db.status" }).
    components: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    healthy_values: tuple[str, ...] | None = None
    # The running-app debug probe (CONFIG-DEBUG-OFF): None means on for role api.
    debug_probe: bool | None = None
    json_asserts: tuple[JsonAssertion, ...] = ()
    expect_version: str | None = None
    version_field: str = "version"
    docs: Literal["served", "hidden"] | None = None
    max_median_ms: float | None = None
    samples: int | None = None

    def __post_init__(self) -> None:
        if self.samples is not None and self.samples < 1:
            raise Invalid("samples", f"must be at least 1, got {self.samples}")
        if self.frontend and self.role not in (None, "frontend"):
            raise Invalid("frontend", f"frontend = true contradicts role = {self.role!r}: keep one")
        if self.components and self.health_components:
            raise Invalid("components", "components and health_components are exclusive: write components")
        if self.detailed is not None and self.detailed_url is not None and self.detailed.url is not None:
            raise Invalid("detailed", "give the detailed page's URL once: detailed.url or detailed_url")
        for name, path in self.components.items():
            if not isinstance(path, str):
                raise Invalid(f"components.{name}", "expected a JMESPath string")
            try:
                compile_path(path)
            except PathError as exc:
                raise Invalid(f"components.{name}", str(exc)) from None

    @property
    def kind(self) -> str:
        """The endpoint's role, with the older ``frontend = true`` mapped."""
        return self.role or ("frontend" if self.frontend else "health")

    @property
    def call(self) -> Request:
        """The request to send: the declared one with its url defaulted to the endpoint's (a GET)."""
        declared = self.request or Request()
        return replace(declared, url=declared.url or self.url)

    @property
    def detailed_call(self) -> Request | None:
        """The detailed health page's request, or None when no component is declared."""
        if not (self.components or self.health_components):
            return None
        if self.detailed is not None:
            return replace(self.detailed, url=self.detailed.url or self.detailed_url or self.url)
        if self.detailed_url is not None:
            return Request(url=self.detailed_url)
        return self.call

    @property
    def component_paths(self) -> Mapping[str, str]:
        """Component -> JMESPath of its status (``health_components``: ``components.<name>.status``)."""
        if self.components:
            return self.components
        return MappingProxyType({n: f"components.{n}.status" for n in self.health_components})

    @property
    def probes_debug(self) -> bool:
        """Whether the running-app debug probe applies (declared, else role api)."""
        return self.debug_probe if self.debug_probe is not None else self.kind == "api"


@dataclass(frozen=True)
class ApiEndpoint:
    """An API endpoint that validates its body: a malformed one must get 422 with a ``detail`` list."""

    name: str
    url: HttpUrl
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    invalid_body: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Upload:
    """HTTP-UPLOAD-LIMIT (intrusive): an upload endpoint and the largest file it takes (``max_bytes``).

    Two uploads of generated bytes: ``max_bytes + 1`` must meet ``expect`` (default: HTTP 413; declare
    the application's documented error, e.g. its JSON code), ``max_bytes - 1`` must not be refused
    (no 413, no 5xx; ``accept`` narrows it, e.g. ``{ status = [200, 201] }``). ``body``: a multipart
    form with the file under ``field``, or the raw bytes as the request body. ``auth`` names an
    ``[[auth]]`` entry whose token goes with both uploads.
    """

    name: str
    url: HttpUrl
    max_bytes: int
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    body: Literal["multipart", "raw"] = "multipart"
    # Before `field` below: that attribute's name shadows dataclasses.field in the class body.
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    field: str = "file"
    filename: str = "infragate-upload.bin"
    content_type: str = "application/octet-stream"
    auth: str | None = None
    expect: Expect | None = None
    accept: Expect | None = None
    ca_bundle: LocalFile | None = None

    def __post_init__(self) -> None:
        # Bounded: the check sends about twice this many bytes on every run.
        if not 2 <= self.max_bytes <= 1024**3:
            raise Invalid("max_bytes", f"must be 2..1073741824 (1 GiB), got {self.max_bytes}")


@dataclass(frozen=True)
class Http:
    """HTTP checks of a target."""

    endpoints: tuple[HttpEndpoint, ...] = ()
    api: tuple[ApiEndpoint, ...] = ()
    upload: tuple[Upload, ...] = ()


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
