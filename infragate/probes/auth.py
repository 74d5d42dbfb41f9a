"""Token auth as a declared contract: build the login and refresh requests, read the tokens, present them.

Nothing here knows a framework: field names, body kind, token paths, presentation and refusal shapes
come from the inventory (``infragate.inventory.auth``), passed in as plain values. The same functions
serve the checks and any other client that must log in the way the service expects (the load flow).
Secrets travel in ``Outgoing`` bodies and headers only; results carry redacted evidence, never a value.
"""

from __future__ import annotations

import base64
import json as jsonlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from infragate.jsonpath import MISSING, search
from infragate.lazy import lazy_module
from infragate.probes import api
from infragate.probes._base import Timeout
from infragate.probes.conditions import evidence
from infragate.probes.exchange import Outgoing, send
from infragate.probes.http import HttpAnswer

if TYPE_CHECKING:
    import jwt
else:
    jwt = lazy_module("jwt")

__all__ = [
    "RATE_LIMITED",
    "SHAPE_REFUSED",
    "LoginLedger",
    "LoginOutcome",
    "Tokens",
    "fill_template",
    "judge_login",
    "login",
    "login_request",
    "present",
    "refresh_request",
    "refusal_problem",
    "resigned",
    "tampered",
    "tokens_in",
]

# Statuses that say "your request has the wrong shape", not "your credentials are wrong": a check that
# meets one could not run, it did not pass.
SHAPE_REFUSED = (400, 404, 405, 415, 422)
RATE_LIMITED = 429


class Presentation(Protocol):
    """How a token travels (``infragate.inventory.auth.TokenPresentation``)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def scheme(self) -> str: ...


class Paths(Protocol):
    """Where an answer carries the tokens (``infragate.inventory.auth.TokenPaths``)."""

    @property
    def access(self) -> str: ...

    @property
    def refresh(self) -> str: ...

    @property
    def expires_in(self) -> str: ...


class Case(Protocol):
    """One refusal of the error contract (``infragate.inventory.auth.ErrorCase``)."""

    @property
    def status(self) -> int: ...

    @property
    def code_path(self) -> str | None: ...

    @property
    def code(self) -> str | None: ...


def fill_template(template: Any, username: str, password: str) -> Any:
    """``template`` with ``{username}`` and ``{password}`` filled in every string (lists, tables kept)."""
    if isinstance(template, str):
        return template.replace("{username}", username).replace("{password}", password)
    if isinstance(template, Mapping):
        return {k: fill_template(v, username, password) for k, v in template.items()}
    if isinstance(template, list | tuple):
        return [fill_template(v, username, password) for v in template]
    return template


def login_request(
    url: str,
    username: str,
    password: str,
    *,
    body: str = "json",
    username_field: str = "username",
    password_field: str = "password",
    template: Mapping[str, Any] | None = None,
    extra: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Outgoing:
    """The login POST the contract describes: a JSON or form body from field names or a template."""
    if template is not None:
        fields: dict[str, Any] = dict(fill_template(template, username, password))
    else:
        fields = {username_field: username, password_field: password}
    fields.update(extra or {})
    if body == "form":
        return Outgoing(url, "POST", headers=dict(headers or {}), form={k: str(v) for k, v in fields.items()})
    return Outgoing(url, "POST", headers=dict(headers or {}), json=fields)


def present(out: Outgoing, how: Presentation, token: str) -> Outgoing:
    """``out`` carrying ``token`` the way the contract presents it (header, cookie or query)."""
    if how.kind == "header":
        value = f"{how.scheme} {token}" if how.scheme else token
        return replace(out, headers={**out.headers, how.name: value})
    if how.kind == "cookie":
        return replace(out, cookies={**out.cookies, how.name: token})
    if how.kind == "query":
        return replace(out, params={**out.params, how.name: token})
    raise ValueError(f"a token presented as {how.kind} cannot go with an HTTP request")


def refresh_request(url: str, token: str, *, send_as: str, field_name: str, method: str = "POST") -> Outgoing:
    """The refresh exchange: the refresh token in a JSON field, a form field, the query or a cookie."""
    if send_as == "form":
        return Outgoing(url, method, form={field_name: token})
    if send_as == "query":
        return Outgoing(url, method, params={field_name: token})
    if send_as == "cookie":
        return Outgoing(url, method, cookies={field_name: token})
    return Outgoing(url, method, json={field_name: token})


def _text(doc: Any, path: str) -> str | None:
    if not path:
        return None
    value = search(doc, path)
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Tokens:
    """The tokens an answer carries at the declared paths (None: not there); never in a repr."""

    access: str | None = field(repr=False)
    refresh: str | None = field(repr=False)
    expires_in: float | None


def tokens_in(answer: HttpAnswer, paths: Paths) -> Tokens:
    """Read the access and refresh tokens (and ``expires_in``) where the contract says they are."""
    doc = answer.json() if answer.status is not None else None
    expires: Any = search(doc, paths.expires_in) if paths.expires_in and doc is not None else MISSING
    number = float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else None
    return Tokens(_text(doc, paths.access), _text(doc, paths.refresh), number)


@dataclass(frozen=True)
class LoginOutcome:
    """One login and what came of it. ``problem`` None: a token came back; else why not, in words."""

    answer: HttpAnswer | None
    tokens: Tokens
    evidence: str
    problem: str | None = None

    @property
    def unreachable(self) -> bool:
        """The endpoint did not answer at all (read by the fail-fast cache)."""
        return bool(self.answer is not None and self.answer.unreachable)

    @property
    def failure(self) -> Any:
        """The failure kind of the answer (read by the fail-fast cache)."""
        return self.answer.failure if self.answer is not None else None

    @property
    def error(self) -> str | None:
        """What went wrong, for the fail-fast note."""
        return self.answer.error if self.answer is not None else self.problem


def judge_login(answer: HttpAnswer, paths: Paths, secrets: Iterable[str]) -> LoginOutcome:
    """A login answer read against the contract: a token at the access path, or why there is none."""
    tokens = tokens_in(answer, paths)
    seen = evidence(answer, secrets)
    if answer.status is None:
        return LoginOutcome(answer, tokens, seen, seen)
    if answer.status == RATE_LIMITED:
        retry = answer.headers.get("retry-after")
        after = f", Retry-After {retry}" if retry else ""
        return LoginOutcome(answer, tokens, seen, f"rate-limited: login budget spent ({seen}{after})")
    if not 200 <= answer.status < 300:
        return LoginOutcome(answer, tokens, seen, seen)
    if tokens.access is None:
        return LoginOutcome(answer, tokens, seen, f"no access token at {paths.access!r}: {seen}")
    return LoginOutcome(answer, tokens, seen)


def login(
    out: Outgoing, paths: Paths, *, timeout: Timeout, cafile: Path | None, secrets: Iterable[str] = ()
) -> LoginOutcome:
    """Send the login and read its tokens."""
    return judge_login(send(out, timeout=timeout, cafile=cafile), paths, secrets)


def refusal_problem(answer: HttpAnswer, case: Case) -> str | None:
    """What ``answer`` breaks of one declared refusal (status, then the code at its path), or None."""
    if answer.status != case.status:
        return f"HTTP {answer.status}, expected {case.status}" if answer.status else "no response"
    if case.code_path is None or case.code is None:
        return None
    code = search(answer.json(), case.code_path)
    if code is MISSING:
        return f"no {case.code_path} in the body (expected {case.code!r})"
    if code != case.code:
        return f"{case.code_path} = {code!r}, expected {case.code!r}"
    return None


# ---------------------------------------------------------------------------- forged tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tampered(token: str, subject: str) -> str:
    """The token with its subject claim changed and the original signature kept."""
    head, _, rest = token.partition(".")
    _, _, signature = rest.partition(".")
    claims = dict(jwt.decode(token, options={"verify_signature": False}))
    claims[subject] = f"{claims.get(subject, '')}-x"
    payload = _b64(jsonlib.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{payload}.{signature}"


def resigned(token: str, secret: str) -> str:
    """The real token's own claims (all of them, whatever the service names them) signed with ``secret``."""
    return api.signed(token, secret)


# ---------------------------------------------------------------------------- the run's login budget


@dataclass
class LoginLedger:
    """Logins a run spent per account, against each account's budget (``max_logins``)."""

    spent: dict[str, int] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def spend(self, account: str, limit: int) -> bool:
        """Count one login of ``account``; False (and nothing counted) when its budget is spent."""
        with self._lock:
            self.budget[account] = limit
            if self.spent.get(account, 0) >= limit:
                return False
            self.spent[account] = self.spent.get(account, 0) + 1
            return True

    def summary(self) -> str:
        """``admin 1, api 1 (budget 1 each)``, or an empty string when no login happened."""
        if not self.budget:
            return ""
        counts = ", ".join(f"{name} {self.spent.get(name, 0)}" for name in sorted(self.budget))
        limits = set(self.budget.values())
        if len(limits) == 1:
            return f"{counts} (budget {limits.pop()} each)"
        return f"{counts} (budgets " + ", ".join(f"{n} {b}" for n, b in sorted(self.budget.items())) + ")"
