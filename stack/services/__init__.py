"""Services of the reference stack beside the sample service, each on a real framework (issue 9).

drf/ (Django REST framework + simplejwt), formapi/ (FastAPI, OAuth2 form login, API keys, chat endpoint),
sio/ (python-socketio ASGI server), llm/ (OpenAI-compatible backend with recorded answers). Their contracts
and faults: CONTRACTS.md beside this file.
"""

from __future__ import annotations

import os
from pathlib import Path


def read_env_file(path: str | os.PathLike[str] | None) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv-style settings file (comments and blank lines skipped); {} when absent.

    The process environment wins over the file, as with django-environ or pydantic-settings.
    """
    values: dict[str, str] = {}
    if path and Path(path).exists():
        for raw in Path(path).read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return {**values, **{k: os.environ[k] for k in values if k in os.environ}}
