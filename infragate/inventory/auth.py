"""Token authentication of a service as a contract, and its security checks (probes: auth, security).

A service's auth contract is data: how it logs in (URL, JSON or form body, field names or a body template,
extra fields), where the tokens are in its answers (JMESPath), how a token is presented (an Authorization
scheme, a custom header, a cookie, a query parameter), how refresh works, what the claims must say and
what each refusal looks like. Every default describes the reference stack's sample service, so
``[auth]`` with only a URL and an account keeps meaning what it meant; other services declare theirs::

    [[auth]]
    name = "drf"
    login_url = "https://api.example.com/api/token/"
    username_field = "email"
    tokens = { access = "access", refresh = "refresh" }
    claims = { subject = "user_id", required = ["exp", "iat", "jti"] }
    errors.invalid = { status = 401, code_path = "code", code = "token_not_valid" }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from infragate.inventory._validate import HttpUrl, Invalid, LocalFile, Secret, StatusCode
from infragate.jsonpath import PathError, compile_path

__all__ = [
    "ApiKey",
    "Auth",
    "Claims",
    "ErrorCase",
    "Errors",
    "LoginRateLimit",
    "ProbeAccount",
    "Refresh",
    "Security",
    "TokenPaths",
    "TokenPresentation",
    "UsersTable",
    "auth_entry",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _check_path(key: str, expression: str | None) -> None:
    if expression is None:
        return
    try:
        compile_path(expression)
    except PathError as exc:
        raise Invalid(key, str(exc)) from None


@dataclass(frozen=True)
class TokenPresentation:
    """How a token travels with a request.

    ``header``: ``<name>: <scheme> <token>`` (default ``Authorization: Bearer``; ``scheme = ""`` sends the
    bare token, e.g. ``X-Auth-Token``); ``cookie``: cookie ``name``; ``query``: parameter ``name``.
    ``subprotocol`` and ``auth_payload`` are WebSocket placements (Sec-WebSocket-Protocol, the Socket.IO
    CONNECT auth payload under ``name``): HTTP checks cannot present a token that way.
    """

    kind: Literal["header", "cookie", "query", "subprotocol", "auth_payload"] = "header"
    name: str = "Authorization"
    scheme: str = "Bearer"

    def describe(self) -> str:
        """``Authorization: Bearer <token>``, ``cookie session``, ``query ?token=``."""
        if self.kind == "header":
            return f"{self.name}: {self.scheme + ' ' if self.scheme else ''}<token>"
        if self.kind == "query":
            return f"query ?{self.name}=<token>"
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class TokenPaths:
    """Where an answer carries the tokens (JMESPath; an empty string: the service gives none)."""

    access: str = "access_token"
    refresh: str = "refresh_token"
    expires_in: str = ""

    def __post_init__(self) -> None:
        for key in ("access", "refresh", "expires_in"):
            _check_path(key, getattr(self, key) or None)


@dataclass(frozen=True)
class Refresh:
    """The refresh exchange: where the refresh token goes (``send``, under ``field``) and where the new
    tokens come back (``tokens``; default: the login's paths)."""

    send: Literal["json", "form", "query", "cookie"] = "json"
    field: str = "refresh_token"
    method: Literal["POST", "GET", "PUT"] = "POST"
    tokens: TokenPaths | None = None


@dataclass(frozen=True)
class Claims:
    """What an access token must say: the subject claim, the claims it must carry."""

    subject: str = "sub"
    required: tuple[str, ...] = ("sub", "iat", "exp")


@dataclass(frozen=True)
class ErrorCase:
    """One refusal: its status and, optionally, the code at ``code_path`` (JMESPath) of its JSON body."""

    status: StatusCode = 401
    code_path: str | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        _check_path("code_path", self.code_path)
        if (self.code is None) != (self.code_path is None):
            raise Invalid("code", "code and code_path go together: where the code is, and which it is")

    def describe(self) -> str:
        """``HTTP 401 with detail.code = 'MISSING_TOKEN'``."""
        if self.code is None:
            return f"HTTP {self.status}"
        return f"HTTP {self.status} with {self.code_path} = {self.code!r}"


@dataclass(frozen=True)
class Errors:
    """The error contract: the refusal for each case. A declared case replaces its default whole."""

    missing: ErrorCase = ErrorCase(401, "detail.code", "MISSING_TOKEN")
    invalid: ErrorCase = ErrorCase(401, "detail.code", "INVALID_TOKEN")
    expired: ErrorCase = ErrorCase(401, "detail.code", "TOKEN_EXPIRED")
    bad_credentials: ErrorCase = ErrorCase(401, "detail.code", "INVALID_CREDENTIALS")


@dataclass(frozen=True)
class ProbeAccount:
    """An account that exists to be refused: wrong-password and lockout probes log in as it, never as
    the service account (a locked service account is an outage). ``password_env`` (optional) is its real
    password: AUTH-RATE-LIMIT then checks that a locked-out client is refused even the right password."""

    username: str
    password_env: Secret | None = None


@dataclass(frozen=True)
class LoginRateLimit:
    """AUTH-RATE-LIMIT: failed logins of the probe account meet 429 within ``max_attempts``."""

    max_attempts: int = 5
    # The burst is bounded: never more than max_attempts + 1 requests, whatever the service answers.
    spoof_header: str = "X-Forwarded-For"
    spoof_value: str = "203.0.113.7"

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 50:
            raise Invalid("max_attempts", f"must be 1..50 (a bounded burst), got {self.max_attempts}")


@dataclass(frozen=True)
class ApiKey:
    """AUTH-API-KEY: URLs that need a key sent in a header (default ``X-API-Key``) or a query parameter.

    ``key_env`` is the real key (accepted); no key, a wrong key and every ``published_keys`` value
    (defaults shipped in the service's repository or docs) must be refused with ``refuse_status``.
    """

    name: str
    urls: tuple[HttpUrl, ...]
    key_env: Secret
    header: str | None = None  # default X-API-Key
    query: str | None = None
    published_keys: tuple[str, ...] = ()
    refuse_status: tuple[StatusCode, ...] = (401, 403)
    ca_bundle: LocalFile | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise Invalid("urls", "name at least one URL the key protects")
        if self.header is not None and self.query is not None:
            raise Invalid("query", "a key goes in a header or in a query parameter, not both")

    @property
    def url(self) -> str:
        """The first protected URL (where failure messages say the checks went)."""
        return self.urls[0]

    @property
    def placement(self) -> TokenPresentation:
        """The key's place: a header (bare value) or a query parameter."""
        if self.query:
            return TokenPresentation("query", self.query, "")
        return TokenPresentation("header", self.header or "X-API-Key", "")


@dataclass(frozen=True)
class UsersTable:
    """AUTH-ADMIN-EXISTS: the service's admin account, seen by logging in or in its users table.

    ``password_env``: the admin logs in through this entry's login contract (its own account, never the
    service account); ``database`` (a ``[[postgres]]`` name) with ``table`` and columns: one read-only
    query finds the admin's row and reads its active (and admin) flag. Declare either or both.
    """

    admin: str = "admin"
    name: str = "users"
    password_env: Secret | None = None
    database: str | None = None
    table: str = "users"  # schema-qualified or not: "public.users"
    username_column: str = "username"
    # "" when the table has no such column (TOML has no null).
    active_column: str | None = "is_active"
    admin_column: str | None = "is_admin"

    def __post_init__(self) -> None:
        if self.password_env is None and self.database is None:
            raise Invalid(
                "users", "declare how to find the admin: password_env (a login) or database (its users table)"
            )


@dataclass(frozen=True)
class Auth:
    """Token authentication of a service: its account, its login, refresh, claims and error contract.

    ``signing_secret_env`` (optional, test stacks) lets the checks sign an expired token with the
    service's own key. ``max_logins`` bounds the service account's logins per run (one is enough: every
    check shares it).
    """

    login_url: HttpUrl
    username: str
    password_env: Secret
    name: str = "auth"
    login_body: Literal["json", "form"] = "json"
    username_field: str = "username"
    password_field: str = "password"
    # A body template instead of the two fields: "{username}" and "{password}" in its strings are filled in.
    login_template: Mapping[str, Any] | None = None
    login_extra: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    tokens: TokenPaths = TokenPaths()
    present: TokenPresentation = TokenPresentation()
    refresh_url: HttpUrl | None = None
    refresh: Refresh = Refresh()
    protected_url: HttpUrl | None = None
    token_ttl_s: float | None = None
    claims: Claims = Claims()
    errors: Errors = Errors()
    max_logins: int = 1
    probe_account: ProbeAccount | None = None
    rate_limit: LoginRateLimit | None = None
    api_keys: tuple[ApiKey, ...] = ()
    signing_secret_env: Secret | None = None
    ca_bundle: LocalFile | None = None
    users: UsersTable | None = None

    def __post_init__(self) -> None:
        if self.max_logins < 1:
            raise Invalid("max_logins", "must be at least 1 (every check shares one login)")
        template = self.login_template
        if (
            template is not None
            and self.login_body == "form"
            and any(not isinstance(v, str) for v in template.values())
        ):
            raise Invalid("login_template", "a form body is flat: every value must be a string")
        if self.rate_limit is not None and self.probe_account is None:
            raise Invalid("rate_limit", "needs probe_account: the burst never uses the service account")

    @property
    def url(self) -> str:
        """Where the probes connect (the login endpoint)."""
        return self.login_url

    @property
    def refresh_tokens(self) -> TokenPaths:
        """Where the refresh answer carries the new tokens."""
        return self.refresh.tokens or self.tokens


def auth_entry(entries: tuple[Auth, ...], name: str | None = None) -> Auth | None:
    """The ``[[auth]]`` entry called ``name`` (None: the first one), or None."""
    for entry in entries:
        if name is None or entry.name == name:
            return entry
    return None


@dataclass(frozen=True)
class Security:
    """Security checks: published defaults refused, sensitive files not served, no placeholder key.

    Default logins are tried with every ``[[auth]]`` entry's login contract, default API keys on every
    ``auth.api_keys`` entry, default PostgreSQL roles on every ``[[postgres]]`` entry; forged tokens are
    the claims of each entry's real token re-signed with each placeholder secret.
    """

    name: str = "security"
    base_urls: tuple[HttpUrl, ...] = ()
    sensitive_paths: tuple[str, ...] = ("/.env", "/.git/config", "/settings.toml", "/config.toml")
    default_credentials: tuple[str, ...] = ("admin:admin123", "admin:admin", "user:password")
    default_api_keys: tuple[str, ...] = ()
    # "role:password" pairs published for PostgreSQL (docker images, tutorials).
    postgres_defaults: tuple[str, ...] = ()
    placeholder_secrets: tuple[str, ...] = (
        "changeme",
        "change-me",
        "secret",
        "your-secret-key",
        "your-secret-key-here",
        "your-256-bit-secret-here-change-this-in-production",
    )
    ca_bundle: LocalFile | None = None

    def __post_init__(self) -> None:
        for key in ("default_credentials", "postgres_defaults"):
            for i, pair in enumerate(getattr(self, key)):
                if ":" not in pair:
                    raise Invalid(f"{key}[{i}]", "must be 'user:password'")

    @property
    def url(self) -> str:
        """The first base URL (where failure messages say the checks went)."""
        return self.base_urls[0] if self.base_urls else ""
