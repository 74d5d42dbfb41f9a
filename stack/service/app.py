"""The sample service of the reference stack: small but real (health, auth, API, WebSocket, metrics, CORS)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import itertools
import json
import os
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import anyio
import jwt
import psycopg
import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, WebSocket, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

USERNAME = "demo"
ALGORITHM = "HS256"
REFRESH_TTL = 86400
LATENCY_CACHE_S = 0.5
# Runbook 002's WebSocket connection registry (HGETALL websocket_connections): one field per open session.
WS_REGISTRY_KEY = "ws:connections"
# Failed logins per client address in a fixed window: INCR, and EXPIRE on the window's first attempt.
RATE_LIMIT_PREFIX = "ratelimit:login:"
RATE_LIMIT_WINDOW_S = 60
DEFAULT_CORS: dict[str, Any] = {
    "mode": "allow-list",
    "allow_origins": ["https://app.example.test", "http://localhost:3000"],
    "allow_credentials": True,
    "allow_methods": ["GET", "POST", "OPTIONS"],
    "allow_headers": ["Authorization", "Content-Type"],
}


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"environment variable {name} is required")
    return value


def _optional_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    jwt_secret: str
    app_password: str
    pg_password: str
    redis_password: str
    pg_host: str = "127.0.0.1"
    pg_port: int = 18432
    pg_user: str = "infragate"
    pg_db: str = "appdb"
    redis_host: str = "127.0.0.1"
    redis_port: int = 18479
    access_ttl: int = 900
    chat_latency_ms: int = 800
    instance: str = "sample-service"
    # Generous on purpose: the self-tests' wrong-password probes from 127.0.0.1 must never reach it.
    login_failures_per_window: int = 1000
    cors_file: Path | None = None
    latency_file: Path | None = None
    overrides_file: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from INFRAGATE_LOCAL_* secrets and INFRAGATE_SERVICE_* tunables."""
        return cls(
            jwt_secret=_env("INFRAGATE_LOCAL_JWT_SECRET"),
            app_password=_env("INFRAGATE_LOCAL_APP_PASSWORD"),
            pg_password=_env("INFRAGATE_LOCAL_PG_PASSWORD", ""),
            redis_password=_env("INFRAGATE_LOCAL_REDIS_PASSWORD", ""),
            pg_host=_env("INFRAGATE_SERVICE_PG_HOST", "127.0.0.1"),
            pg_port=int(_env("INFRAGATE_SERVICE_PG_PORT", "18432")),
            pg_user=_env("INFRAGATE_SERVICE_PG_USER", "infragate"),
            pg_db=_env("INFRAGATE_SERVICE_PG_DB", "appdb"),
            redis_host=_env("INFRAGATE_SERVICE_REDIS_HOST", "127.0.0.1"),
            redis_port=int(_env("INFRAGATE_SERVICE_REDIS_PORT", "18479")),
            access_ttl=int(_env("INFRAGATE_SERVICE_ACCESS_TTL", "900")),
            chat_latency_ms=int(_env("INFRAGATE_SERVICE_CHAT_LATENCY_MS", "800")),
            instance=_env("INFRAGATE_SERVICE_INSTANCE", "sample-service"),
            login_failures_per_window=int(_env("INFRAGATE_SERVICE_LOGIN_FAILURES", "1000")),
            cors_file=_optional_path("INFRAGATE_SERVICE_CORS_FILE"),
            latency_file=_optional_path("INFRAGATE_SERVICE_LATENCY_FILE"),
            overrides_file=_optional_path("INFRAGATE_SERVICE_OVERRIDES_FILE"),
        )


def load_cors(path: Path | None) -> dict[str, Any]:
    """CORS configuration: the JSON file merged over the defaults (defaults when absent)."""
    cfg = dict(DEFAULT_CORS)
    if path is not None and path.exists():
        cfg.update(json.loads(path.read_text()))
    return cfg


APP_VERSION = "1.4.2"
# Published in the runbooks: a deployment that still accepts these is misconfigured (SEC-DEFAULT-CREDENTIALS).
DEFAULT_ADMIN = ("admin", "admin123")


@dataclass(frozen=True)
class Overrides:
    """Deployment settings the stack's service-area faults change (overrides.json, read at startup).

    Each field is a real misconfiguration: the healthy stack runs with every default.
    """

    version: str = APP_VERSION
    docs: bool = False
    pg_port: int | None = None
    items_visible: bool = True
    api_extra_latency_ms: int = 0
    validation_errors_as_500: bool = False
    failed_login_crashes: bool = False
    access_ttl: int | None = None
    app_password: str | None = None
    verify_tokens: bool = True
    refresh_signing_key: str | None = None
    jwt_secret: str | None = None
    default_admin_enabled: bool = False
    ws_secure_requires_token: bool = True
    ws_origin_check: bool = True
    static_dir: str | None = None

    @classmethod
    def load(cls, path: Path | None) -> Overrides:
        """The file's settings over the defaults (defaults when absent)."""
        if path is None or not path.exists():
            return cls()
        return cls(**json.loads(path.read_text()))


class Metrics:
    """Prometheus metrics in a registry of their own (several apps may live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route and status",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency by route", ["path"], registry=self.registry
        )
        self.ws_active = Gauge("ws_connections_active", "Open WebSocket connections", registry=self.registry)


class MetricsMiddleware:
    """Counts every HTTP request by route template (not raw path: bounded label cardinality)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_code = 500  # what the client gets if the app raises before answering

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status_code)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)


class WildcardCredentialsCORS:
    """The classic misconfiguration: `Access-Control-Allow-Origin: *` together with credentials allowed."""

    def __init__(self, app: ASGIApp, cfg: dict[str, Any]) -> None:
        self.app = app
        self.methods = ", ".join(cfg["allow_methods"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        preflight = "origin" in headers and "access-control-request-method" in headers
        if scope["method"] == "OPTIONS" and preflight:
            response = PlainTextResponse(
                "OK",
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Credentials": "true",
                    "Access-Control-Allow-Methods": self.methods,
                    "Access-Control-Allow-Headers": headers.get("access-control-request-headers", "*"),
                    "Access-Control-Max-Age": "600",
                },
            )
            await response(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = "*"
                out["Access-Control-Allow-Credentials"] = "true"
            await send(message)

        await self.app(scope, receive, send_wrapper)


class LatencyFault:
    """Reads the api_latency_ms fault hook, at most every 0.5 s (a stat per request would be wasteful)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._value = 0
        self._read_at = float("-inf")

    def current_ms(self) -> int:
        """Injected latency in ms (0 when the hook file is absent)."""
        now = time.monotonic()
        if self.path is not None and now - self._read_at >= LATENCY_CACHE_S:
            try:
                self._value = max(0, int(self.path.read_text().strip() or 0))
            except (FileNotFoundError, ValueError):
                self._value = 0
            self._read_at = now
        return self._value


@dataclass
class State:
    """Per-app runtime state."""

    settings: Settings
    metrics: Metrics
    latency: LatencyFault
    redis: aioredis.Redis | None = None
    alerts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    # This instance's name in the connection registry (stable across restarts: at startup its fields
    # left by a crashed predecessor are removed, since a fresh process holds no connection).
    instance: str = "sample-service"
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))


class LoginIn(BaseModel):
    """POST /auth/login body."""

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    """POST /auth/refresh body."""

    refresh_token: str = Field(min_length=1, max_length=4096)


class ItemIn(BaseModel):
    """POST /api/items body."""

    name: str = Field(min_length=1, max_length=100)
    price: float = Field(ge=0, le=1_000_000)
    tags: list[Annotated[str, Field(min_length=1, max_length=30)]] = Field(
        default_factory=list, max_length=10
    )


class ChatIn(BaseModel):
    """POST /api/chat body."""

    message: str = Field(min_length=1, max_length=4000)


ITEMS: list[dict[str, Any]] = [
    {
        "id": i,
        "name": f"item-{i:02d}",
        "price": round(1.25 * i, 2),
        "tags": ["demo", "even" if i % 2 == 0 else "odd"],
    }
    for i in range(1, 21)
]
ITEMS_BY_ID = {item["id"]: item for item in ITEMS}

INDEX_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>infragate sample service</title></head>
<body>
<h1>infragate sample service</h1>
<p>Reference target of infragate: health, auth, items API, chat, WebSocket echo and Prometheus metrics.</p>
<ul>
<li><a href="/health">/health</a> and <a href="/health?detailed=true">/health?detailed=true</a></li>
<li><a href="/api/items">/api/items</a></li>
<li><a href="/metrics">/metrics</a></li>
<li><a href="/docs">/docs</a></li>
</ul>
</body>
</html>
"""


def _auth_error(code: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"code": code, "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )


def issue_token(settings: Settings, subject: str, kind: str, ttl: int) -> str:
    """A signed JWT with sub, iat, exp, type and a unique jti."""
    now = int(time.time())
    claims = {"sub": subject, "iat": now, "exp": now + ttl, "type": kind, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def decode_token(settings: Settings, token: str, kind: str, *, verify: bool = True) -> dict[str, Any]:
    """Verify signature, expiry and type; raises a 401 HTTPException with an error code.

    ``verify=False`` is the jwt-verification-disabled fault: PyJWT then checks neither signature nor expiry.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "type"], "verify_signature": verify},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _auth_error("TOKEN_EXPIRED", "token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise _auth_error("INVALID_TOKEN", "token is invalid") from exc
    if claims.get("type") != kind:
        raise _auth_error("INVALID_TOKEN_TYPE", f"token type must be {kind}")
    return claims


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def current_user(request: Request, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Dependency: the claims of a valid access token from `Authorization: Bearer` (401 otherwise)."""
    # Module level, not a closure: with postponed annotations FastAPI resolves names in module globals.
    settings: Settings = request.app.state.settings
    token = _bearer(authorization)
    if token is None:
        raise _auth_error("MISSING_TOKEN", "a bearer token is required")
    return decode_token(settings, token, "access", verify=request.app.state.overrides.verify_tokens)


async def _timed(check: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=3)
        result: dict[str, Any] = {"status": "ok"}
    except Exception as exc:  # the component's failure is the answer, not an error of ours
        result = {"status": "error", "error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}
    result["latency_ms"] = round((time.perf_counter() - start) * 1000, 2)
    return result


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application (uvicorn: `stack.service.app:create_app --factory`)."""
    settings = settings or Settings.from_env()
    overrides = Overrides.load(settings.overrides_file)
    settings = dataclasses.replace(
        settings,
        jwt_secret=overrides.jwt_secret or settings.jwt_secret,
        access_ttl=overrides.access_ttl or settings.access_ttl,
        app_password=overrides.app_password or settings.app_password,
        pg_port=overrides.pg_port or settings.pg_port,
    )
    cors = load_cors(settings.cors_file)
    state = State(
        settings=settings,
        metrics=Metrics(),
        latency=LatencyFault(settings.latency_file),
        instance=settings.instance,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A bounded pool: 1,000 WebSocket sessions closing at once queue for 32 connections instead of
        # opening 1,000 at once, whose connect and read timeouts (1 s) then failed HDELs silently and left
        # stale registry fields (REDIS-WS-REGISTRY saw 121 fields with ws_connections_active = 0).
        pool = aioredis.BlockingConnectionPool(
            host=settings.redis_host,
            port=settings.redis_port,
            password=settings.redis_password or None,
            socket_timeout=1,
            socket_connect_timeout=1,
            # A health check reports the first failure; retries would only delay it.
            retry=Retry(NoBackoff(), 0),
            max_connections=32,
            timeout=2,  # waiting for a free connection; a hung Redis still answers health within ~3 s
        )
        state.redis = aioredis.Redis(connection_pool=pool)
        await forget_own_sessions()
        try:
            yield
        finally:
            await state.redis.aclose()
            await pool.disconnect()

    app = FastAPI(
        title="infragate sample service",
        version=overrides.version,
        lifespan=lifespan,
        # Production serves no API documentation (HTTP-DOCS); the docs-exposed fault turns it on.
        docs_url="/docs" if overrides.docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if overrides.docs else None,
    )
    app.state.settings = settings
    app.state.overrides = overrides

    if overrides.validation_errors_as_500:

        @app.exception_handler(RequestValidationError)
        async def validation_as_500(_: Request, exc: RequestValidationError) -> JSONResponse:
            # The fault: a catch-all handler that hides client errors behind a server error.
            return JSONResponse({"error": "internal server error"}, status_code=500)

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": overrides.version}

    async def check_database() -> None:
        async with await psycopg.AsyncConnection.connect(
            host=settings.pg_host,
            port=settings.pg_port,
            user=settings.pg_user,
            dbname=settings.pg_db,
            password=settings.pg_password,
            connect_timeout=2,
            application_name="sample-service-health",
        ) as conn:
            cur = await conn.execute("SELECT 1")
            await cur.fetchone()

    async def check_cache() -> None:
        assert state.redis is not None
        await state.redis.ping()

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return INDEX_HTML

    @app.get("/health")
    async def health(detailed: bool = False) -> Response:
        if not detailed:
            return JSONResponse({"status": "ok"})
        database, cache = await asyncio.gather(_timed(check_database), _timed(check_cache))
        ok = database["status"] == "ok" and cache["status"] == "ok"
        body = {"status": "ok" if ok else "degraded", "components": {"database": database, "cache": cache}}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        page = generate_latest(state.metrics.registry)
        # Fault hook (stack/fault_actions/monitoring.py): metric families a broken deploy no longer exports.
        hidden = settings.latency_file.parent / "metrics_hidden" if settings.latency_file else None
        if hidden is not None and hidden.exists():
            names = tuple(name.encode() for name in hidden.read_text().split())
            page = b"".join(
                line
                for line in page.splitlines(keepends=True)
                if not line.removeprefix(b"# HELP ").removeprefix(b"# TYPE ").startswith(names)
            )
        return Response(page, media_type=CONTENT_TYPE_LATEST)

    async def forget_own_sessions() -> None:
        """Remove this instance's registry fields left by a predecessor that died with sessions open."""
        assert state.redis is not None
        try:
            # (field, value) pairs: HSCAN's NOVALUES needs Redis 7.4, Debian ships 7.0.
            stale = [f async for f, _ in state.redis.hscan_iter(WS_REGISTRY_KEY, match=f"{state.instance}:*")]
            if stale:
                await state.redis.hdel(WS_REGISTRY_KEY, *stale)
        except (aioredis.RedisError, OSError):
            pass  # Redis down at startup: the service still starts (health reports the cache)

    async def register(session: str, path: str) -> None:
        """Add an open WebSocket session to the registry (a Redis failure leaves the session running)."""
        assert state.redis is not None
        meta = json.dumps({"instance": state.instance, "path": path, "since": int(time.time())})
        with contextlib.suppress(aioredis.RedisError, OSError):
            await state.redis.hset(WS_REGISTRY_KEY, session, meta)

    async def unregister(session: str) -> None:
        assert state.redis is not None
        with contextlib.suppress(aioredis.RedisError, OSError):
            await state.redis.hdel(WS_REGISTRY_KEY, session)

    async def too_many_failures(client: str) -> bool:
        """Count a failed login of ``client`` in its window; True when the window's limit is exceeded.

        Fails open: with Redis unavailable logins go on unlimited (the health page reports the cache).
        """
        assert state.redis is not None
        key = f"{RATE_LIMIT_PREFIX}{client}"
        try:
            pipe = state.redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, RATE_LIMIT_WINDOW_S, nx=True)  # the window starts at its first failure
            failures, _ = await pipe.execute()
        except (aioredis.RedisError, OSError):
            return False
        return int(failures) > settings.login_failures_per_window

    @app.post("/auth/login")
    async def login(body: LoginIn, request: Request) -> Any:
        # Constant-time comparisons on both fields: no timing oracle on the username either.
        user_ok = hmac.compare_digest(body.username.encode(), USERNAME.encode())
        password_ok = hmac.compare_digest(body.password.encode(), settings.app_password.encode())
        subject = USERNAME
        if overrides.default_admin_enabled and (body.username, body.password) == DEFAULT_ADMIN:
            subject, user_ok, password_ok = DEFAULT_ADMIN[0], True, True
        if not (user_ok and password_ok):
            if overrides.failed_login_crashes:
                raise RuntimeError("failed-login audit sink unavailable")
            client = request.client.host if request.client else "unknown"
            if await too_many_failures(client):
                return JSONResponse(
                    {"detail": {"code": "TOO_MANY_ATTEMPTS", "message": "too many failed logins"}},
                    status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(RATE_LIMIT_WINDOW_S)},
                )
            raise _auth_error("INVALID_CREDENTIALS", "invalid username or password")
        return {
            "access_token": issue_token(settings, subject, "access", settings.access_ttl),
            "refresh_token": issue_token(settings, subject, "refresh", REFRESH_TTL),
            "token_type": "bearer",
            "expires_in": settings.access_ttl,
        }

    @app.post("/auth/refresh")
    async def refresh(body: RefreshIn) -> dict[str, Any]:
        claims = decode_token(settings, body.refresh_token, "refresh")
        signer = settings
        if overrides.refresh_signing_key:
            signer = dataclasses.replace(settings, jwt_secret=overrides.refresh_signing_key)
        return {
            "access_token": issue_token(signer, claims["sub"], "access", settings.access_ttl),
            "token_type": "bearer",
            "expires_in": settings.access_ttl,
        }

    async def inject_latency() -> None:
        delay = state.latency.current_ms() + overrides.api_extra_latency_ms
        if delay:
            await asyncio.sleep(delay / 1000)

    api = APIRouter(prefix="/api", dependencies=[Depends(inject_latency)])

    @api.get("/me")
    async def me(claims: Annotated[dict[str, Any], Depends(current_user)]) -> dict[str, Any]:
        return {"username": claims["sub"], "issued_at": claims["iat"], "expires_at": claims["exp"]}

    @api.get("/items")
    async def list_items() -> list[dict[str, Any]]:
        return ITEMS if overrides.items_visible else []

    @api.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, Any]:
        item = ITEMS_BY_ID.get(item_id)
        if item is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail={"code": "NOT_FOUND", "message": "no such item"}
            )
        return item

    @api.post("/items", status_code=status.HTTP_201_CREATED)
    async def create_item(body: ItemIn) -> dict[str, Any]:
        # Validated and acknowledged, never stored: load tests may post without growing memory.
        return {"id": next(state.ids), **body.model_dump()}

    @api.post("/chat")
    async def chat(body: ChatIn) -> dict[str, Any]:
        start = time.perf_counter()
        await asyncio.sleep(settings.chat_latency_ms / 1000)  # stands in for an LLM call
        elapsed_ms = round((time.perf_counter() - start) * 1000)
        return {"reply": f"echo: {body.message[:200]}", "latency_ms": elapsed_ms}

    # Runbook 002's upload limit (MAX_FILE_SIZE, bytes); stack/hostfiles.py writes the same in the .env.
    upload_limit = int(os.environ.get("MAX_FILE_SIZE", "1048576"))

    def file_too_large(size: int) -> JSONResponse:
        # Runbook 002's documented error.
        message = f"Fichier trop volumineux ({size} bytes, max {upload_limit})"
        return JSONResponse({"error": {"code": "FILE_TOO_LARGE", "message": message}}, status_code=413)

    @api.post("/upload")
    async def upload(request: Request) -> Response:
        """One file (multipart field ``file``, or the raw body) up to MAX_FILE_SIZE; counted, never kept."""
        declared = int(request.headers.get("content-length") or 0)
        if declared > upload_limit + 65536:  # far above even with multipart framing: refuse unread
            return file_too_large(declared)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=1, max_fields=10) as form:  # closes the spooled file
                part = form.get("file")
                if part is None or isinstance(part, str):
                    detail = {"code": "NO_FILE", "message": "multipart field 'file' holds no file"}
                    return JSONResponse({"error": detail}, status_code=400)
                size = part.size or 0
        else:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > upload_limit:  # a chunked body has no length to refuse it by
                    return file_too_large(size)
        if size > upload_limit:
            return file_too_large(size)
        return JSONResponse({"received_bytes": size, "stored": False})

    app.include_router(api)

    @app.post("/hooks/alertmanager", include_in_schema=False)
    async def alert_hook(request: Request) -> dict[str, Any]:
        payload = await request.json()
        state.alerts.append(
            {
                "received_at": time.time(),
                "status": payload.get("status"),
                "alerts": [a.get("labels", {}) for a in payload.get("alerts", [])][:20],
            }
        )
        return {"stored": len(state.alerts)}

    @app.get("/hooks/alertmanager", include_in_schema=False)
    async def alert_log() -> list[dict[str, Any]]:
        return list(state.alerts)

    async def echo(websocket: WebSocket) -> None:
        session = f"{state.instance}:{uuid.uuid4().hex}"
        # Shielded like the unregister below: a cancellation landing while HSET is in flight would skip
        # the try/finally, and the field would stay behind.
        with anyio.CancelScope(shield=True):
            await register(session, websocket.url.path)
        state.metrics.ws_active.inc()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is not None:
                    await websocket.send_text("pong" if text == "ping" else text)
                elif message.get("bytes") is not None:
                    await websocket.send_bytes(message["bytes"])
        except WebSocketDisconnect:
            pass
        finally:
            # Gauge first, then the registry: each says the session is gone as soon as it can.
            state.metrics.ws_active.dec()
            # Shielded: when a client drops the TCP connection, the server cancels this task, and
            # Starlette/anyio cancellation is level-triggered, so an unshielded await here is cancelled
            # too and leaves the session in the registry.
            with anyio.CancelScope(shield=True):
                await unregister(session)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await echo(websocket)

    @app.websocket("/ws/secure")
    async def ws_secure(websocket: WebSocket) -> None:
        token = websocket.query_params.get("token") or _bearer(websocket.headers.get("authorization"))
        origin = websocket.headers.get("origin")
        if overrides.ws_origin_check and origin is not None and origin not in cors["allow_origins"]:
            # Closing before accept answers the handshake with HTTP 403 (cross-site WebSocket hijacking).
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
            return
        await websocket.accept()
        try:
            if token is None and overrides.ws_secure_requires_token:
                raise _auth_error("MISSING_TOKEN", "a bearer token is required")
            if token is not None:
                decode_token(settings, token, "access", verify=overrides.verify_tokens)
        except HTTPException as exc:
            # Accept then close with 1008 (policy violation): clients see an explicit WebSocket close code.
            reason = exc.detail["code"] if isinstance(exc.detail, dict) else "INVALID_TOKEN"
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
            return
        await echo(websocket)

    if overrides.static_dir:
        # The fault: the working directory mounted as static files, dotfiles included.
        app.mount("/", StaticFiles(directory=overrides.static_dir), name="files")
    if cors.get("mode") == "wildcard-credentials":
        app.add_middleware(WildcardCredentialsCORS, cfg=cors)
    else:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors["allow_origins"]),
            allow_credentials=bool(cors["allow_credentials"]),
            allow_methods=list(cors["allow_methods"]),
            allow_headers=list(cors["allow_headers"]),
        )
    # Added last, so outermost: preflights answered by the CORS layer are counted too.
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app
