"""Published defaults do not work on the live service, and settings files are not served.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("SEC-DEFAULT-SECRETS")
def test_tokens_signed_with_placeholder_refused(security, facts, explain):
    forged = facts.placeholder_tokens(security)
    assert forged.url is not None, explain(
        expected="security protected_url (or [auth] protected_url)", seen="none declared"
    )
    assert not forged.accepted, explain(
        expected=f"{forged.url} to refuse tokens signed with documented placeholder secrets",
        seen=f"a token signed with the placeholder {', '.join(forged.accepted)} was accepted: "
        "the signing key is a default",
    )


@pytest.mark.check("SEC-DEFAULT-CREDENTIALS")
def test_default_credentials_refused(default_credential, facts, explain):
    security, pair = default_credential
    username, _, password = pair.partition(":")
    tried = facts.default_login(security, username, password)
    assert tried.url is not None, explain(
        expected="security login_url (or an [auth] section)", seen="none declared"
    )
    assert not tried.got_token, explain(
        expected=f"the published default login {username!r} refused at {tried.url}",
        seen=f"HTTP {tried.answer.status}: the default credentials of {username!r} log in",
    )


@pytest.mark.check("SEC-ENV-NOT-EXPOSED")
def test_sensitive_file_not_served(sensitive_url, facts, explain):
    security, url = sensitive_url
    answer = facts.sensitive(url, security)
    # No answer (TLS error, 502) is not a served file; an unreachable host fails through the fact cache.
    assert answer.status != 200, explain(
        expected=f"{url} not served (403/404)",
        seen=f"no response: {answer.error}"
        if answer.status is None
        else f"HTTP {answer.status}"
        + (f": {url} is downloadable ({len(answer.body)} bytes)" if answer.status == 200 else ""),
    )
