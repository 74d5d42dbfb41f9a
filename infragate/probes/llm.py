"""Model servers: the model listing and one short, bounded generation.

Two APIs: Ollama's (``GET /api/tags``, ``POST /api/generate``) and the OpenAI-compatible one that many
servers and hosted providers speak (``GET /v1/models``, ``POST /v1/chat/completions``, key as
``Authorization: Bearer``). ``kind`` picks the API; the results
have one shape, so the checks do not care which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from infragate.probes._base import Failure, Timeout
from infragate.probes.conditions import redact
from infragate.probes.exchange import Outgoing, send
from infragate.probes.http import HttpAnswer

__all__ = ["Generation", "Kind", "ModelList", "api_url", "generate", "models"]

Kind = Literal["ollama", "openai"]

_PATHS = {
    "ollama": ("/api/tags", "/api/generate"),
    "openai": ("/v1/models", "/v1/chat/completions"),
}


def api_url(base: str, kind: Kind, which: int) -> str:
    """The listing (0) or generation (1) URL under ``base``; an OpenAI base may already end in /v1."""
    path = _PATHS[kind][which]
    root = base.rstrip("/")
    if kind == "openai" and urlsplit(root).path.endswith("/v1"):
        path = path.removeprefix("/v1")
    return root + path


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _error_text(answer: HttpAnswer, token: str | None) -> str:
    """``HTTP 401: Incorrect API key provided`` from either API's error shape (key redacted)."""
    body = answer.json()
    detail: Any = None
    if isinstance(body, dict):
        detail = body.get("error")
        if isinstance(detail, dict):  # OpenAI's {"error": {"message", "type", "code"}}
            detail = detail.get("message") or detail.get("code")
    text = str(detail) if detail else " ".join(answer.body.split())[:200]
    return redact(f"HTTP {answer.status}: {text}", [token] if token else [])


@dataclass(frozen=True)
class ModelList:
    """The server's model listing (``url`` the listing asked)."""

    status: int | None
    names: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None
    url: str = ""
    kind: str = "ollama"

    def has(self, model: str) -> bool:
        """Listed under that name (Ollama: ``name`` alone means ``name:latest``, as ``ollama pull`` does)."""
        if self.kind == "ollama" and ":" not in model:
            return f"{model}:latest" in self.names or model in self.names
        return model in self.names


def models(
    base: str,
    *,
    timeout: Timeout,
    cafile: Path | None = None,
    kind: Kind = "ollama",
    token: str | None = None,
) -> ModelList:
    """GET the listing: Ollama's ``models[].name`` or OpenAI's ``data[].id``."""
    url = api_url(base, kind, 0)
    answer = send(Outgoing(url, headers=_headers(token)), timeout=timeout, cafile=cafile)
    if answer.status is None:
        return ModelList(
            None,
            error=answer.error,
            unreachable=answer.unreachable,
            failure=answer.failure,
            elapsed_ms=answer.elapsed_ms,
            url=url,
            kind=kind,
        )
    body = answer.json()
    key, field = ("models", "name") if kind == "ollama" else ("data", "id")
    items = body.get(key) if isinstance(body, dict) else None
    if answer.status != 200 or not isinstance(items, list):
        error = _error_text(answer, token) if answer.status != 200 else f"HTTP 200, not a {kind} model list"
        return ModelList(answer.status, error=error, elapsed_ms=answer.elapsed_ms, url=url, kind=kind)
    names = tuple(str(m.get(field, "")) for m in items if isinstance(m, dict))
    return ModelList(answer.status, names, answer.elapsed_ms, url=url, kind=kind)


@dataclass(frozen=True)
class Generation:
    """One non-streaming generation: wall time, the server's own duration (Ollama), the reply."""

    model: str
    status: int | None
    elapsed_s: float
    server_s: float | None = None
    reply: str = ""
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None
    url: str = ""


def generate(
    base: str,
    model: str,
    prompt: str,
    *,
    timeout: Timeout,
    budget_s: float,
    cafile: Path | None = None,
    kind: Kind = "ollama",
    token: str | None = None,
    max_tokens: int = 8,
) -> Generation:
    """One short, non-streaming generation of at most ``max_tokens``; waits at most ``budget_s`` + 1 s."""
    url = api_url(base, kind, 1)
    payload: dict[str, Any]
    if kind == "ollama":
        payload = {"model": model, "prompt": prompt, "stream": False, "options": {"num_predict": max_tokens}}
    else:
        payload = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "stream": False,
        }
    answer = send(
        Outgoing(url, "POST", headers=_headers(token), json=payload),
        timeout=Timeout(timeout.connect, budget_s + 1.0),
        cafile=cafile,
    )
    elapsed = answer.elapsed_ms / 1000
    if answer.status is None:
        return Generation(
            model,
            None,
            elapsed,
            error=answer.error,
            unreachable=answer.unreachable,
            failure=answer.failure,
            url=url,
        )
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict):
        return Generation(model, answer.status, elapsed, error=_error_text(answer, token), url=url)
    if kind == "ollama":
        total = body.get("total_duration")
        server_s = total / 1e9 if isinstance(total, (int, float)) else None
        return Generation(model, 200, elapsed, server_s, str(body.get("response", ""))[:200], url=url)
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message") if isinstance(first.get("message"), dict) else {}
    reply = message.get("content") if isinstance(message, dict) else None
    if not isinstance(reply, str):
        return Generation(model, 200, elapsed, error="HTTP 200 without choices[0].message.content", url=url)
    return Generation(model, 200, elapsed, reply=reply[:200], url=url)
