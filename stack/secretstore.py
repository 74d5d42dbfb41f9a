"""Secrets of the stack: generated once, stored in <run>/secrets.env, overridden by the environment."""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

from stack.layout import Layout

PG_PASSWORD = "INFRAGATE_LOCAL_PG_PASSWORD"
REDIS_PASSWORD = "INFRAGATE_LOCAL_REDIS_PASSWORD"
JWT_SECRET = "INFRAGATE_LOCAL_JWT_SECRET"
APP_PASSWORD = "INFRAGATE_LOCAL_APP_PASSWORD"
# Services of stack/services/ (issue 9): each has its own credentials and signing keys.
DRF_SECRET_KEY = "INFRAGATE_LOCAL_DRF_SECRET_KEY"  # Django SECRET_KEY; simplejwt signs with it
DRF_PASSWORD = "INFRAGATE_LOCAL_DRF_PASSWORD"  # password of demo@example.test
FORM_PASSWORD = "INFRAGATE_LOCAL_FORM_PASSWORD"  # password of user demo (form login)
FORM_JWT_SECRET = "INFRAGATE_LOCAL_FORM_JWT_SECRET"  # PyJWT HS256 key of the form service
FORM_API_KEY = "INFRAGATE_LOCAL_FORM_API_KEY"  # X-API-Key of GET /v1/data
SOCKETIO_TOKEN = "INFRAGATE_LOCAL_SOCKETIO_TOKEN"  # static token accepted on Socket.IO CONNECT
LLM_API_KEY = "INFRAGATE_LOCAL_LLM_API_KEY"  # Bearer key of the OpenAI-compatible backend
NAMES: tuple[str, ...] = (
    PG_PASSWORD,
    REDIS_PASSWORD,
    JWT_SECRET,
    APP_PASSWORD,
    DRF_SECRET_KEY,
    DRF_PASSWORD,
    FORM_PASSWORD,
    FORM_JWT_SECRET,
    FORM_API_KEY,
    SOCKETIO_TOKEN,
    LLM_API_KEY,
)

# 32 random bytes: long enough for HS256 (PyJWT warns below 32 bytes) and URL-safe, so no quoting needed
# in redis.conf, SQL or shells for generated values.
_ENTROPY_BYTES = 32


def _parse(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def _render(values: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(values[name])}\n" for name in NAMES)


def load(lay: Layout) -> dict[str, str]:
    """The stored secrets (empty when `up` never ran), with environment values taking precedence."""
    stored = _parse(lay.secrets_file) if lay.secrets_file.exists() else {}
    values = {name: os.environ.get(name) or stored.get(name, "") for name in NAMES}
    return {name: value for name, value in values.items() if value}


def ensure(lay: Layout) -> dict[str, str]:
    """Every secret: the environment wins, then secrets.env, else a fresh random value; persisted (0600)."""
    stored = _parse(lay.secrets_file) if lay.secrets_file.exists() else {}
    values = {
        name: os.environ.get(name) or stored.get(name) or secrets.token_urlsafe(_ENTROPY_BYTES)
        for name in NAMES
    }
    if values != stored or lay.secrets_file.stat().st_mode & 0o077:
        lay.root.mkdir(parents=True, exist_ok=True)
        tmp = lay.secrets_file.with_suffix(".tmp")
        # Create with 0600 from the start: the file must never be readable by others, not even briefly.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(_render(values))
        os.chmod(tmp, 0o600)
        os.replace(tmp, lay.secrets_file)
    return values


def env_text(lay: Layout) -> str:
    """The content of secrets.env (created if missing), for `eval "$(python -m stack env)"`."""
    ensure(lay)
    return lay.secrets_file.read_text()
