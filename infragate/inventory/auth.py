"""Token authentication of a service and its security checks (probes: auth, security)."""

from __future__ import annotations

from dataclasses import dataclass

from infragate.inventory._validate import HttpUrl, LocalFile, Secret

__all__ = ["Auth", "Security"]


@dataclass(frozen=True)
class Auth:
    """Token authentication of a service: the account that logs in and where tokens are used.

    ``signing_secret_env`` (optional) lets the checks sign an expired token with the service's own key.
    """

    login_url: HttpUrl
    username: str
    password_env: Secret
    name: str = "auth"
    refresh_url: HttpUrl | None = None
    protected_url: HttpUrl | None = None
    token_ttl_s: float | None = None
    signing_secret_env: Secret | None = None
    bad_credentials_code: str = "INVALID_CREDENTIALS"
    ca_bundle: LocalFile | None = None

    @property
    def url(self) -> str:
        """Where the probes connect (the login endpoint)."""
        return self.login_url


@dataclass(frozen=True)
class Security:
    """Security checks: published defaults refused, sensitive files not served, no placeholder key."""

    name: str = "security"
    base_urls: tuple[HttpUrl, ...] = ()
    login_url: HttpUrl | None = None
    protected_url: HttpUrl | None = None
    token_subject: str = "admin"
    sensitive_paths: tuple[str, ...] = ("/.env", "/.git/config", "/settings.toml", "/config.toml")
    default_credentials: tuple[str, ...] = ("admin:admin123", "admin:admin", "user:password")
    placeholder_secrets: tuple[str, ...] = (
        "changeme",
        "change-me",
        "secret",
        "your-secret-key",
        "your-secret-key-here",
        "your-256-bit-secret-here-change-this-in-production",
    )
    ca_bundle: LocalFile | None = None

    @property
    def url(self) -> str:
        """The first base URL (where failure messages say the checks went)."""
        return self.base_urls[0] if self.base_urls else ""
