"""The running application shows no debug page: a missing page and a malformed request are answered
without the framework's developer pages (settings, URL patterns, source, tracebacks).

Which text gives a debug page away is data: the catalog's CONFIG-DEBUG-OFF ``debug_pages`` table
(name -> regex), overridable in ``[thresholds.CONFIG-DEBUG-OFF]``. The configuration-file side of
CONFIG-DEBUG-OFF is in test_config.py.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("CONFIG-DEBUG-OFF")
def test_running_app_shows_no_debug_page(debug_endpoint, facts, threshold, explain):
    report = facts.debug_probe(debug_endpoint, threshold("debug_pages"))
    assert report.answered and not report.findings, explain(
        expected=f"error answers from {debug_endpoint.url} without a debug page (a missing page and a "
        "malformed JSON body, scanned for the debug_pages signatures)",
        seen="; ".join(report.findings) or "no answer: " + "; ".join(report.errors),
    )
