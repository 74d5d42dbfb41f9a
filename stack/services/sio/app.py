"""Socket.IO server (python-socketio, ASGI under uvicorn) that authenticates on CONNECT.

The client's CONNECT packet carries ``auth = {"token": ...}``: a JWT of the form service (HS256,
INFRAGATE_LOCAL_FORM_JWT_SECRET, with ``sub`` and ``exp``) or the static INFRAGATE_LOCAL_SOCKETIO_TOKEN.
Anything else is refused with CONNECT_ERROR {"message": "authentication failed"}. AUTH_REQUIRED=false in
INFRAGATE_SIO_ENV_FILE turns the check off (the socketio-auth-disabled fault).
Run: ``uvicorn stack.services.sio.app:create_app --factory``.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

import jwt
import socketio

from stack.services import read_env_file

REFUSED = "authentication failed"


def token_valid(token: object, *, jwt_secret: str, static_token: str) -> bool:
    """True for the static token or an unexpired HS256 JWT of the form service with a subject."""
    if not isinstance(token, str) or not token:
        return False
    if hmac.compare_digest(token, static_token):
        return True
    try:
        claims = jwt.decode(token, jwt_secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return False
    return bool(claims.get("sub"))


def create_app() -> socketio.ASGIApp:
    """The ASGI application (Engine.IO at /socket.io/)."""
    jwt_secret = os.environ["INFRAGATE_LOCAL_FORM_JWT_SECRET"]
    static_token = os.environ["INFRAGATE_LOCAL_SOCKETIO_TOKEN"]
    settings = read_env_file(os.environ.get("INFRAGATE_SIO_ENV_FILE"))
    auth_required = settings.get("AUTH_REQUIRED", "true").lower() == "true"
    # Origin checks stay python-socketio's default (same origin as Host); clients without Origin pass.
    sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        if auth_required and not token_valid(token, jwt_secret=jwt_secret, static_token=static_token):
            raise socketio.exceptions.ConnectionRefusedError(REFUSED)
        return True

    async def ping(sid: str, data: Any = None) -> Any:
        # The reply is a `pong` event with the same data (and the same data as the ack, for emit-with-ack).
        await sio.emit("pong", data, to=sid)
        return data

    # sio.on(name, handler) rather than the @sio.event decorator, which is untyped.
    sio.on("connect", connect)
    sio.on("ping", ping)
    return socketio.ASGIApp(sio)
