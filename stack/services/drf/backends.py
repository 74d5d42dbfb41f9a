"""Authentication by email address (Django's ModelBackend only looks users up by username)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class EmailBackend(ModelBackend):  # type: ignore[misc]
    """Authenticate `email` + `password` against the user table."""

    def authenticate(
        self, request: Any, email: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        """The active user with this email and password, else None."""
        if email is None or password is None:
            return None
        model = get_user_model()
        try:
            user = model.objects.get(email__iexact=email)
        except model.DoesNotExist:
            model().set_password(password)  # same cost as a real check: no user enumeration by timing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class StackPBKDF2PasswordHasher(PBKDF2PasswordHasher):  # type: ignore[misc]
    """Django's PBKDF2-SHA256 at 100,000 iterations, the cost the FastAPI sample services use.

    Django 5.2's default (1,000,000) is one second of a core per login, wrong password or default
    credential tried; the self-test logs in hundreds of times on two shared cores. The stored format and
    algorithm name are Django's own (``pbkdf2_sha256$100000$...``).
    """

    iterations = 100_000
