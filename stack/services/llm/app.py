"""OpenAI-compatible backend: GET /v1/models and POST /v1/chat/completions with recorded answers.

Answers have the documented OpenAI shapes (chat.completion, the list of models, the error object). The key
is INFRAGATE_LOCAL_LLM_API_KEY (``Authorization: Bearer``); CHAT_FAILS=true in INFRAGATE_LLM_ENV_FILE makes
every completion a 500 server_error, as an overloaded or crashed inference server answers.
Run: ``uvicorn stack.services.llm.app:create_app --factory``.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from stack.services import read_env_file

RECORDED = Path(__file__).resolve().parent / "recorded.json"


class Message(BaseModel):
    """One chat message."""

    role: str
    content: str


class ChatRequest(BaseModel):
    """The part of OpenAI's request body that the recorded backend reads."""

    model: str
    messages: list[Message]
    max_tokens: int | None = None
    stream: bool = False


def _error(status: int, message: str, kind: str, code: str | None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status
    )


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def create_app() -> FastAPI:
    """The backend, configured from the environment."""
    recorded: dict[str, Any] = json.loads(RECORDED.read_text())
    model: str = recorded["model"]
    key = os.environ["INFRAGATE_LOCAL_LLM_API_KEY"]
    fails = read_env_file(os.environ.get("INFRAGATE_LLM_ENV_FILE")).get("CHAT_FAILS", "false") == "true"
    app = FastAPI(title="recorded OpenAI-compatible backend", docs_url=None, redoc_url=None, openapi_url=None)

    def authorized(header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), key)

    def refused() -> JSONResponse:
        return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")

    @app.get("/health")
    def health() -> Response:
        """Liveness as vLLM answers it: 200, empty body."""
        return Response(status_code=200)

    @app.get("/v1/models", response_model=None)
    def models(authorization: Annotated[str | None, Header()] = None) -> Any:
        """The one recorded model."""
        if not authorized(authorization):
            return refused()
        entry = {"id": model, "object": "model", "created": recorded["created"], "owned_by": "infragate"}
        return {"object": "list", "data": [entry]}

    @app.post("/v1/chat/completions", response_model=None)
    def completions(body: ChatRequest, authorization: Annotated[str | None, Header()] = None) -> Any:
        """A chat.completion whose content is the answer recorded for the last user message."""
        if not authorized(authorization):
            return refused()
        if body.model != model:
            return _error(
                404, f"The model `{body.model}` does not exist.", "invalid_request_error", "model_not_found"
            )
        if body.stream:
            return _error(
                400, "stream is not supported by the recorded backend", "invalid_request_error", None
            )
        if fails:
            return _error(500, "The server had an error while processing your request.", "server_error", None)
        prompt = next((m.content for m in reversed(body.messages) if m.role == "user"), "")
        content: str = recorded["answers"].get(prompt, recorded["default"])
        prompt_tokens = sum(_tokens(m.content) for m in body.messages)
        completion_tokens = _tokens(content)
        return {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    return app
