"""Redis answers PING with PONG, with the declared authentication and TLS.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("REDIS-PING")
def test_redis_answers_pong(redis_server, facts, explain):
    result = facts.redis(redis_server)
    seen = f"reply {result.reply!r}" if result.error is None else result.error
    assert result.ok, explain(expected="PONG", seen=seen)
