"""Django settings: secrets from the environment, switches from the settings file (INFRAGATE_DRF_ENV_FILE)."""

from __future__ import annotations

import os
from datetime import timedelta

from stack.services import read_env_file

_FILE = read_env_file(os.environ.get("INFRAGATE_DRF_ENV_FILE"))


def _flag(name: str, default: str) -> bool:
    return _FILE.get(name, default).strip().lower() in ("1", "true", "yes", "on")


SECRET_KEY = os.environ["INFRAGATE_LOCAL_DRF_SECRET_KEY"]
DEBUG = _flag("DJANGO_DEBUG", "False")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework_simplejwt",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "stack.services.drf.urls"
ASGI_APPLICATION = "stack.services.drf.asgi.application"

# SQLite: a real query for /health/ without depending on PostgreSQL's start order (parts start in parallel).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["INFRAGATE_DRF_DB"],
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
AUTHENTICATION_BACKENDS = [
    b.strip() for b in _FILE.get("AUTHENTICATION_BACKENDS", "").split(",") if b.strip()
] or ["stack.services.drf.backends.EmailBackend"]
# Django's PBKDF2 at the other sample services' cost (backends.py says why).
PASSWORD_HASHERS = ["stack.services.drf.backends.StackPBKDF2PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(_FILE.get("ACCESS_TOKEN_LIFETIME_S", "300"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    # simplejwt's defaults, spelled out because they are the service's contract.
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "stack.services.drf.serializers.EmailTokenObtainPairSerializer",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
