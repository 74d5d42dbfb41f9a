"""Model servers (Ollama API): the model listing (/api/tags) and one short generation (/api/generate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from infragate.probes import http
from infragate.probes._base import Timeout, client_context, describe_error, is_unreachable, monotonic_ms

__all__ = ["Generation", "ModelList", "generate", "models"]


@dataclass(frozen=True)
class ModelList:
    """GET /api/tags: the models the server has pulled."""

    status: int | None
    names: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    error: str | None = None
    unreachable: bool = False

    def has(self, model: str) -> bool:
        """Listed under that name (``name`` alone means ``name:latest``, as ``ollama pull`` does)."""
        wanted = model if ":" in model else f"{model}:latest"
        return wanted in self.names or model in self.names


def models(base: str, *, timeout: Timeout, cafile: Path | None = None) -> ModelList:
    """GET /api/tags."""
    answer = http.request(base.rstrip("/") + "/api/tags", timeout=timeout, cafile=cafile)
    if answer.status is None:
        return ModelList(
            None, error=answer.error, unreachable=answer.unreachable, elapsed_ms=answer.elapsed_ms
        )
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict) or not isinstance(body.get("models"), list):
        return ModelList(
            answer.status,
            error=f"HTTP {answer.status}, not an Ollama model list",
            elapsed_ms=answer.elapsed_ms,
        )
    names = tuple(str(m.get("name", "")) for m in body["models"])
    return ModelList(answer.status, names, answer.elapsed_ms)


@dataclass(frozen=True)
class Generation:
    """One non-streaming /api/generate: wall time, the server's own total_duration, the reply."""

    model: str
    status: int | None
    elapsed_s: float
    server_s: float | None = None
    reply: str = ""
    error: str | None = None
    unreachable: bool = False


def generate(
    base: str, model: str, prompt: str, *, timeout: Timeout, budget_s: float, cafile: Path | None = None
) -> Generation:
    """POST /api/generate with stream=false and a small num_predict; waits at most ``budget_s`` + 1 s."""
    start = monotonic_ms()
    limits = httpx.Timeout(
        connect=timeout.connect, read=budget_s + 1.0, write=timeout.read, pool=timeout.connect
    )
    payload = {"model": model, "prompt": prompt, "stream": False, "options": {"num_predict": 8}}
    try:
        with httpx.Client(verify=client_context(cafile), timeout=limits) as client:
            response = client.post(base.rstrip("/") + "/api/generate", json=payload)
    except (httpx.HTTPError, OSError) as exc:
        elapsed = (monotonic_ms() - start) / 1000
        return Generation(
            model,
            None,
            elapsed,
            error=describe_error(exc),
            unreachable=is_unreachable(exc) and not isinstance(exc, httpx.ReadTimeout),
        )
    elapsed = (monotonic_ms() - start) / 1000
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        detail = body.get("error") if isinstance(body, dict) else response.text[:200]
        return Generation(
            model, response.status_code, elapsed, error=f"HTTP {response.status_code}: {detail}"
        )
    total = body.get("total_duration")
    return Generation(
        model,
        200,
        elapsed,
        server_s=total / 1e9 if isinstance(total, (int, float)) else None,
        reply=str(body.get("response", ""))[:200],
    )
