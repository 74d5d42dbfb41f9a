"""A running application's error pages: does a missing page or a malformed request show a debug page?

Frameworks in debug mode answer errors with pages meant for their developers (settings, URL patterns,
source code, local variables). Which text gives each one away is DATA, passed in by the caller (the
catalog's CONFIG-DEBUG-OFF ``debug_pages``, overridable per target): this module knows no framework.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from infragate.probes._base import Timeout
from infragate.probes.conditions import redact
from infragate.probes.exchange import Outgoing, send
from infragate.probes.http import HttpAnswer

__all__ = ["MALFORMED_BODY", "MISSING_SEGMENT", "DebugProbe", "missing_url", "probe"]

# A path segment no application routes; fixed, so the access log shows what the probe asked.
MISSING_SEGMENT = "infragate-no-such-page"
# JSON cut short: a parser error, reaching the application's error handling.
MALFORMED_BODY = b'{"infragate": '


@dataclass(frozen=True)
class DebugProbe:
    """One provoked error: what was sent, what came back, which debug-page signatures it shows."""

    what: str
    answer: HttpAnswer
    found: tuple[str, ...] = ()
    excerpt: str = ""


def missing_url(url: str) -> str:
    """A URL under the endpoint's path that does not exist (query dropped)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    path = path + MISSING_SEGMENT + "/" if path.endswith("/") else f"{path}/{MISSING_SEGMENT}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _scan(what: str, answer: HttpAnswer, signatures: Mapping[str, str]) -> DebugProbe:
    found: list[str] = []
    excerpt = ""
    for name, pattern in signatures.items():
        hit = re.search(pattern, answer.body)
        if hit is not None:
            found.append(name)
            if not excerpt:
                start = max(0, hit.start() - 40)
                excerpt = redact(" ".join(answer.body[start : hit.end() + 80].split()))[:160]
    return DebugProbe(what, answer, tuple(found), excerpt)


def probe(
    url: str, signatures: Mapping[str, str], *, timeout: Timeout, cafile: Path | None = None
) -> tuple[DebugProbe, ...]:
    """GET a page that does not exist and POST a malformed JSON body to ``url``; scan both answers."""
    missing = missing_url(url)
    lost = send(Outgoing(missing), timeout=timeout, cafile=cafile)
    broken = send(
        Outgoing(url, "POST", headers={"Content-Type": "application/json"}, content=MALFORMED_BODY),
        timeout=timeout,
        cafile=cafile,
    )
    return (
        _scan(f"GET {missing}", lost, signatures),
        _scan(f"POST {url} with malformed JSON", broken, signatures),
    )
