"""JSON paths users write in an inventory: JMESPath, one syntax everywhere.

``components.database.status``, ``[0].name``, ``length(items)``, ``checks.*.status`` are JMESPath
expressions (https://jmespath.org). The empty expression and ``@`` mean the whole document. JMESPath
answers ``null`` for a path that does not exist, so a present JSON ``null`` and a missing key read the
same: both are ``MISSING`` here (a health field that is ``null`` is not a healthy value either).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

__all__ = ["MISSING", "PathError", "compile_path", "search"]


class _Missing:
    """Sentinel for 'no value at this path'."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class PathError(ValueError):
    """An expression that is not valid JMESPath."""


@lru_cache(maxsize=512)
def compile_path(expression: str) -> ParsedResult:
    """The compiled expression; raises PathError (one line) when it does not parse."""
    try:
        return jmespath.compile(expression.strip() or "@")
    except JMESPathError as exc:
        raise PathError(f"not a JMESPath expression {expression!r}: {' '.join(str(exc).split())}") from None


def search(document: Any, expression: str) -> Any:
    """The value at ``expression`` in ``document``, or ``MISSING``."""
    try:
        value = compile_path(expression).search(document)
    except JMESPathError:
        return MISSING
    return MISSING if value is None else value
