"""The service's own endpoints: the current user and a flat health document."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class MeView(APIView):  # type: ignore[misc]
    """The authenticated user (JWTAuthentication + IsAuthenticated from settings)."""

    def get(self, request: Request) -> Response:
        """{id, email, username} of the token's user."""
        user = request.user
        return Response({"id": user.pk, "email": user.email, "username": user.get_username()})


def health(_request: HttpRequest) -> JsonResponse:
    """Flat health document: a real query on the database and a cache round trip."""
    doc: dict[str, Any] = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM auth_user")
            cursor.fetchone()
        doc["database"] = "connected"
    except Exception as err:  # any database error is the answer, not a crash
        doc["database"] = f"error: {type(err).__name__}"
        ok = False
    try:
        cache.set("health-probe", "1", 10)
        doc["cache"] = "ok" if cache.get("health-probe") == "1" else "error: round trip lost"
    except Exception as err:
        doc["cache"] = f"error: {type(err).__name__}"
    ok = ok and doc["cache"] == "ok"
    return JsonResponse(doc, status=200 if ok else 503)
