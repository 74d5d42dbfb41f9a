"""Redaction of secrets in anything infragate prints: the inventory's own secret values (found anywhere in
a Target) and text shaped like a credential (``password=...``, ``Bearer ...``, PEM keys, URL passwords).

Used by the diagnostics (command output) and by every failure message (fixtures/messages.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from pathlib import PurePath
from typing import Any

from infragate.probes.conditions import redact

__all__ = ["redact_output", "secret_values"]

_CREDENTIAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys (a config dump or a log may print one).
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S), "***"),
    # An HTTP credential (before key: value, which would take only the scheme word as the value).
    (re.compile(r"(?i)(\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    # key=value / key: value with a credential-like key (env files, DSNs, JSON logs, redis.conf).
    (
        re.compile(
            r"""(?ix)(\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential|auth)"""
            r"""[\w.-]*["']?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|[^\s,;&"'}]+)"""
        ),
        r"\1***",
    ),
    # SQL (ALTER ROLE ... PASSWORD 'x'), redis.conf (requirepass x), HTTP auth headers.
    (re.compile(r"(?i)(\bpassword\s+)('[^'\n]*'|\"[^\"\n]*\")"), r"\1***"),
    (re.compile(r"(?i)(\b(?:requirepass|masterauth)\s+)\S+"), r"\1***"),
    # A URL's password: scheme://user:password@host.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@", re.I), r"\1***@"),
)


def redact_output(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secret values and without anything shaped like a credential."""
    # Longest first: a secret that contains another is replaced whole.
    text = redact(text, sorted(set(secrets), key=len, reverse=True))
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_SECRETS_OF: dict[int, tuple[Any, tuple[str, ...]]] = {}


def secret_values(obj: Any) -> tuple[str, ...]:
    """Every secret value an inventory holds (``Secret.value`` anywhere in the target's tree).

    Remembered per object (a Target is frozen; every failure message and diagnostic asks again)."""
    cached = _SECRETS_OF.get(id(obj))
    if cached is not None and cached[0] is obj:
        return cached[1]
    found = _walk_secrets(obj)
    _SECRETS_OF[id(obj)] = (obj, found)
    return found


def _walk_secrets(obj: Any) -> tuple[str, ...]:
    found: list[str] = []
    seen: set[int] = set()

    def walk(value: Any) -> None:
        if id(value) in seen or isinstance(value, (str, bytes, int, float, bool, PurePath)) or value is None:
            return
        seen.add(id(value))
        if type(value).__name__ == "Secret" and isinstance(getattr(value, "value", None), str):
            found.append(value.value)
            return
        if is_dataclass(value) and not isinstance(value, type):
            for f in fields(value):
                walk(getattr(value, f.name, None))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item)

    walk(obj)
    return tuple(v for v in dict.fromkeys(found) if v)
