"""Expectations on an HTTP answer, declared as data (Gatus's conditions, Tavern's response stage).

An ``Expect`` (see ``infragate.inventory.request``) says which status, which JSON values (JMESPath),
headers and body text are acceptable. ``problems`` lists what an answer breaks, in words an on-call
engineer reads; ``evidence`` shows the answer itself (status, content type, a redacted body excerpt) so a
"400" is never shown without the body that says which field was missing.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from infragate.jsonpath import MISSING, search

__all__ = ["ConditionLike", "ExpectLike", "evidence", "problems", "redact"]

EXCERPT = 300
# Values of these JSON keys are credentials whatever the framework calls them.
_SECRET_KEYS = re.compile(
    r"token|secret|password|passwd|api[_-]?key|authorization|cookie|^access$|^refresh$", re.I
)
# A JWT anywhere in a text (three base64url parts, the first one a JSON header).
_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")


class ConditionLike(Protocol):
    """One JSON condition (``infragate.inventory.request.Condition``); read-only members, so frozen
    dataclasses satisfy it."""

    @property
    def path(self) -> str: ...
    @property
    def equals(self) -> Any: ...
    @property
    def one_of(self) -> tuple[Any, ...]: ...
    @property
    def matches(self) -> str | None: ...
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def min_count(self) -> int | None: ...
    @property
    def contains(self) -> Any: ...
    @property
    def absent(self) -> bool: ...


class ExpectLike(Protocol):
    """What an answer must look like (``infragate.inventory.request.Expect``); read-only members."""

    @property
    def status(self) -> tuple[int, ...]: ...
    @property
    def json(self) -> Sequence[ConditionLike]: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body_matches(self) -> str | None: ...
    @property
    def body_not_matches(self) -> str | None: ...


class AnswerLike(Protocol):
    """What ``problems`` and ``evidence`` read of an answer (``infragate.probes.http.HttpAnswer``)."""

    # Read-only members: frozen answers (HttpAnswer) satisfy the protocol.
    @property
    def status(self) -> int | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    def json(self) -> Any: ...


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def condition_problem(doc: Any, cond: ConditionLike) -> str | None:
    """What ``doc`` breaks of one condition, or None."""
    path = cond.path or "@"
    value = search(doc, cond.path)
    if cond.absent:
        return None if value is MISSING else f"{path} present ({_short(value)}), expected absent"
    if value is MISSING:
        return f"{path} missing"
    if cond.equals is not None and value != cond.equals:
        return f"{path} = {_short(value)}, expected {cond.equals!r}"
    if cond.one_of and value not in cond.one_of:
        return f"{path} = {_short(value)}, expected one of {', '.join(map(repr, cond.one_of))}"
    if cond.matches is not None and not re.search(cond.matches, str(value)):
        return f"{path} = {_short(value)} does not match /{cond.matches}/"
    if cond.contains is not None and (not isinstance(value, (list, str, dict)) or cond.contains not in value):
        return f"{path} = {_short(value)} does not contain {cond.contains!r}"
    if cond.min is not None or cond.max is not None:
        number = _number(value)
        if number is None:
            return f"{path} = {_short(value)} is not a number"
        if (cond.min is not None and number < cond.min) or (cond.max is not None and number > cond.max):
            return f"{path} = {number:g} outside [{cond.min}, {cond.max}]"
    if cond.min_count is not None:
        count = len(value) if isinstance(value, (list, dict, str)) else 0
        if count < cond.min_count:
            return f"{path} has {count} items, expected at least {cond.min_count}"
    return None


def problems(answer: AnswerLike, expect: ExpectLike) -> tuple[str, ...]:
    """Everything ``answer`` breaks of ``expect`` (empty: it meets it)."""
    if answer.status is None:
        return (f"no response: {answer.error}",)
    found: list[str] = []
    if expect.status and answer.status not in expect.status:
        wanted = " or ".join(map(str, expect.status))
        found.append(f"HTTP {answer.status}, expected {wanted}")
    if expect.json:
        doc = answer.json()
        if doc is None:
            found.append(f"the body is not JSON ({answer.content_type or 'no content type'})")
        else:
            found.extend(p for c in expect.json if (p := condition_problem(doc, c)) is not None)
    for name, pattern in expect.headers.items():
        value = answer.headers.get(name.lower())
        if value is None or not re.search(pattern, value):
            found.append(f"header {name}: {value!r} does not match /{pattern}/")
    if expect.body_matches is not None and not re.search(expect.body_matches, answer.body):
        found.append(f"the body does not match /{expect.body_matches}/")
    if expect.body_not_matches is not None:
        hit = re.search(expect.body_not_matches, answer.body)
        if hit is not None:
            found.append(f"the body matches /{expect.body_not_matches}/: {redact(hit.group(0))[:80]!r}")
    return tuple(found)


def _short(value: Any) -> str:
    text = redact(jsonlib.dumps(value) if not isinstance(value, str) else repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEYS.search(str(k)) else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with JWTs and the given secret values replaced by ``***``."""
    text = _JWT.sub("***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def evidence(answer: AnswerLike, secrets: Iterable[str] = ()) -> str:
    """``HTTP 400 application/json: {"email": ["This field is required."]}``: what came back, redacted."""
    if answer.status is None:
        return f"no response: {answer.error}"
    doc = answer.json()
    body = jsonlib.dumps(_redact_json(doc)) if doc is not None else " ".join(answer.body.split())
    body = redact(body, secrets)
    if len(body) > EXCERPT:
        body = body[: EXCERPT - 3] + "..."
    return f"HTTP {answer.status} {answer.content_type or 'no content type'}: {body or '(empty body)'}"
