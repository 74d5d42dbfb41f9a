"""simplejwt's pair serializer with the email address as login field."""

from __future__ import annotations

from rest_framework_simplejwt.serializers import TokenObtainPairSerializer


class EmailTokenObtainPairSerializer(TokenObtainPairSerializer):
    """POST {email, password} -> {access, refresh}."""

    username_field = "email"
