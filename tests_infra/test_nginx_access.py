"""The proxy's access log shows few 5xx answers since the run started (runbook 002 § Logs d'Accès).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-NGINX-ACCESS-5XX")
@pytest.mark.observes_run
def test_nginx_access_log_few_server_errors(access_log, facts, threshold, explain):
    stats = facts.access_5xx(access_log)
    limit = threshold("max_5xx_ratio")
    assert stats.error is None, explain(expected=f"{access_log.path} readable", seen=stats.error)
    assert stats.ratio <= limit, explain(
        expected=f"at most {limit:.1%} 5xx answers in {access_log.path.name} since the run started",
        seen=f"{stats.server_errors} of {stats.total} answers were 5xx ({stats.ratio:.1%}), "
        f"e.g. {'; '.join(stats.examples)}",
    )
