"""The FastAPI sample service of the reference stack."""

from __future__ import annotations
