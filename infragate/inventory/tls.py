"""TLS listeners (probe: tls)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infragate.inventory._validate import HttpUrl, LocalFile, PortNumber

__all__ = ["Tls", "TlsEndpoint"]


@dataclass(frozen=True)
class TlsEndpoint:
    """A TLS listener: its certificate, chain and protocol versions."""

    name: str
    host: str
    port: PortNumber = 443
    server_name: str | None = None
    ca_bundle: LocalFile | None = None
    cert_file: Path | None = None
    redirect_from: HttpUrl | None = None
    min_days: float | None = None
    min_version: Literal["TLSv1.2", "TLSv1.3"] | None = None

    @property
    def sni(self) -> str:
        """The name sent as SNI and matched against the certificate."""
        return self.server_name or self.host


@dataclass(frozen=True)
class Tls:
    """TLS checks of a target."""

    endpoints: tuple[TlsEndpoint, ...] = ()
