"""Upload limits: an upload just above the limit is refused (413 or the documented error), one just
below is not refused by the proxy; the proxy's client_max_body_size is at least the application's limit.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HTTP-UPLOAD-LIMIT")
def test_upload_above_limit_refused(upload, facts, explain):
    sent = facts.upload_answer(upload, "above")
    wanted = upload.expect.describe() if upload.expect is not None else "HTTP 413"
    assert sent.problem is None, explain(
        expected=f"{wanted} to a {upload.body} upload of {sent.size} bytes (limit {upload.max_bytes})",
        seen=f"{sent.problem} ({sent.evidence})",
    )


@pytest.mark.check("HTTP-UPLOAD-LIMIT")
def test_upload_below_limit_not_refused(upload, facts, explain):
    sent = facts.upload_answer(upload, "below")
    wanted = upload.accept.describe() if upload.accept is not None else "no 413 and no 5xx"
    assert sent.problem is None, explain(
        expected=f"{wanted} to a {upload.body} upload of {sent.size} bytes (limit {upload.max_bytes})",
        seen=f"{sent.problem} ({sent.evidence})",
    )


@pytest.mark.check("CONFIG-UPLOAD-LIMITS")
def test_proxy_body_limit_covers_app_limit(proxy_upload, facts, explain):
    proxy, entry = proxy_upload
    limits = facts.upload_limits(proxy, entry)
    expected = (
        f"client_max_body_size at location {entry.location} of {proxy.nginx_conf} at least the "
        "application's upload limit"
    )
    assert limits.error is None, explain(expected=expected, seen=f"could not read it: {limits.error}")
    assert not limits.proxy_refuses_below_app, explain(
        expected=f"{expected} ({limits.app_shown})",
        seen=f"client_max_body_size {limits.proxy_written} ({limits.proxy_bytes} bytes) < "
        f"{limits.app_bytes} bytes",
    )
