"""The form-login service: FastAPI's OAuth2PasswordRequestForm, PyJWT, X-API-Key routes, /api/chat.

Run: ``uvicorn stack.services.formapi.app:create_app --factory``. Secrets come from the environment
(INFRAGATE_LOCAL_FORM_*), switches from the settings file INFRAGATE_FORM_ENV_FILE (stack/config.py).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

from stack.services import read_env_file

ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_S = 1800  # the FastAPI tutorial's 30 minutes
USERNAME = "demo"
LLM_MODEL = "infragate-recorded-1"
LLM_TIMEOUT_S = 30.0
ITEMS = (("alpha", 3), ("beta", 5), ("gamma", 8))
# Login rate limit: at most this many failed logins per username within the window;
# further attempts (even with the right password) get 429 with Retry-After until the oldest one ages out.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 10.0


@dataclass(frozen=True)
class Settings:
    """Everything the service reads at startup."""

    password_hash: bytes
    salt: bytes
    jwt_secret: str
    api_keys: frozenset[str]
    api_key_required: bool
    db_path: str
    health_query: str
    health_failure_status: int
    llm_url: str
    llm_api_key: str
    login_rate_limit: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        """Secrets from the environment, switches from the settings file."""
        file = read_env_file(os.environ.get("INFRAGATE_FORM_ENV_FILE"))
        salt = secrets.token_bytes(16)
        extra = {k.strip() for k in file.get("EXTRA_API_KEYS", "").split(",") if k.strip()}
        return cls(
            password_hash=_hash(os.environ["INFRAGATE_LOCAL_FORM_PASSWORD"], salt),
            salt=salt,
            jwt_secret=os.environ["INFRAGATE_LOCAL_FORM_JWT_SECRET"],
            api_keys=frozenset({os.environ["INFRAGATE_LOCAL_FORM_API_KEY"], *extra}),
            api_key_required=file.get("API_KEY_REQUIRED", "true").lower() == "true",
            db_path=os.environ["INFRAGATE_FORM_DB"],
            health_query=file.get("HEALTH_DB_QUERY", "SELECT count(*) FROM items"),
            health_failure_status=int(file.get("HEALTH_FAILURE_STATUS", "503")),
            llm_url=os.environ["INFRAGATE_FORM_LLM_URL"].rstrip("/"),
            llm_api_key=os.environ["INFRAGATE_LOCAL_LLM_API_KEY"],
            login_rate_limit=file.get("LOGIN_RATE_LIMIT", "true").lower() == "true",
        )


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)


def _init_db(path: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS items (name TEXT PRIMARY KEY, quantity INTEGER NOT NULL)")
        db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?)", ITEMS)


class LoginLimiter:
    """A sliding window of failed logins per username (the account under attack), in process.

    Not keyed by client address: uvicorn takes the client address from X-Forwarded-For when the peer is a
    trusted proxy (127.0.0.1 by default), so on loopback any caller could reset a per-address limit with
    a header it writes itself (what AUTH-RATE-LIMIT's spoofed X-Forwarded-For probe catches).
    """

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str) -> int | None:
        """Seconds until the next attempt is allowed, or None when it is allowed now."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return None
            return max(1, int(self.window_s - (now - times[0]) + 0.999))

    def failed(self, key: str) -> None:
        """Count one failed login."""
        now = time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)


# Module level, not inside create_app: FastAPI resolves the (postponed) annotations of dependencies in
# the module's globals.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def settings(request: Request) -> Settings:
    """The running application's settings."""
    cfg: Settings = request.app.state.settings
    return cfg


def current_user(
    token: Annotated[str, Depends(oauth2_scheme)], cfg: Annotated[Settings, Depends(settings)]
) -> str:
    """The subject of a valid Bearer token, else 401 {"detail": "Could not validate credentials"}."""
    refused = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        claims = jwt.decode(token, cfg.jwt_secret, algorithms=[ALGORITHM], options={"require": ["exp"]})
    except jwt.InvalidTokenError:
        raise refused from None
    if claims.get("sub") != USERNAME:
        raise refused
    return USERNAME


def require_api_key(
    key: Annotated[str | None, Depends(api_key_header)], cfg: Annotated[Settings, Depends(settings)]
) -> None:
    """401 without X-API-Key, 403 with a key that is not one of the configured ones."""
    if not cfg.api_key_required:
        return
    if not key:
        raise HTTPException(status_code=401, detail="Missing API key", headers={"WWW-Authenticate": "APIKey"})
    if not any(hmac.compare_digest(key, valid) for valid in cfg.api_keys):
        raise HTTPException(status_code=403, detail="Invalid API key")


class ChatIn(BaseModel):
    """Body of POST /api/chat."""

    message: str


def create_app() -> FastAPI:
    """The application, configured from the environment."""
    cfg = Settings.from_env()
    _init_db(cfg.db_path)
    # No interactive docs in a deployed service (the sample's docs-exposed fault is the counter-example).
    app = FastAPI(title="infragate form-login service", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = cfg

    limiter = LoginLimiter(LOGIN_MAX_FAILURES, LOGIN_WINDOW_S)

    @app.post("/token")
    def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
        """Form-encoded username + password -> {access_token, token_type}; 429 once over the limit."""
        key = form.username
        wait = limiter.retry_after(key) if cfg.login_rate_limit else None
        if wait is not None:
            raise HTTPException(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                detail="Too many failed logins, try again later",
                headers={"Retry-After": str(wait)},
            )
        good_user = hmac.compare_digest(form.username, USERNAME)
        good_password = hmac.compare_digest(_hash(form.password, cfg.salt), cfg.password_hash)
        if not (good_user and good_password):
            if cfg.login_rate_limit:
                limiter.failed(key)
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Incorrect username or password",
                headers={"WWW-Authenticate": "Bearer"},
            )
        now = int(time.time())
        claims = {"sub": USERNAME, "iat": now, "exp": now + ACCESS_TOKEN_EXPIRE_S}
        return {
            "access_token": jwt.encode(claims, cfg.jwt_secret, algorithm=ALGORITHM),
            "token_type": "bearer",
        }

    @app.get("/users/me")
    def me(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
        """The user of the Bearer token."""
        return {"username": user}

    @app.get("/v1/data", dependencies=[Depends(require_api_key)])
    def data() -> dict[str, Any]:
        """The item table, for API-key holders."""
        with sqlite3.connect(cfg.db_path) as db:
            rows = db.execute("SELECT name, quantity FROM items ORDER BY name").fetchall()
        return {"items": [{"name": n, "quantity": q} for n, q in rows]}

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """{"status": "ok", "checks": {"db": {"status": "up"}}}, or unhealthy with the failure status."""
        try:
            with sqlite3.connect(f"file:{cfg.db_path}?mode=rw", uri=True, timeout=2) as db:
                db.execute(cfg.health_query).fetchone()
        except sqlite3.Error as err:
            doc = {"status": "unhealthy", "checks": {"db": {"status": "down", "error": type(err).__name__}}}
            return JSONResponse(doc, status_code=cfg.health_failure_status)
        return JSONResponse({"status": "ok", "checks": {"db": {"status": "up"}}})

    @app.post("/api/chat")
    async def chat(body: ChatIn) -> dict[str, str]:
        """Ask the OpenAI-compatible backend; {"reply": ...}.

        On a backend failure this answers 200 {"error": "model call failed: ..."}: the defect seen in real
        services, which a health check on the status code alone does not catch.
        """
        request = {
            "model": LLM_MODEL,
            "messages": [{"role": "user", "content": body.message}],
            "max_tokens": 256,
        }
        headers = {"Authorization": f"Bearer {cfg.llm_api_key}"}
        try:
            async with httpx.AsyncClient(timeout=LLM_TIMEOUT_S, trust_env=False) as client:
                answer = await client.post(
                    f"{cfg.llm_url}/v1/chat/completions", json=request, headers=headers
                )
            if answer.status_code != 200:
                message = _error_message(answer)
                return {"error": f"model call failed: HTTP {answer.status_code} {message}".rstrip()}
            return {"reply": answer.json()["choices"][0]["message"]["content"]}
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as err:
            return {"error": f"model call failed: {type(err).__name__}"}

    return app


def _error_message(response: httpx.Response) -> str:
    """The message of an OpenAI error object ({"error": {"message": ...}}), else ''."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message", "")) if isinstance(error, dict) else ""
