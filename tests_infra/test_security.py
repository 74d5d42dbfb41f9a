"""Published defaults do not work on the live service, and settings files are not served.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("SEC-DEFAULT-SECRETS")
def test_tokens_signed_with_placeholder_refused(security, facts, explain):
    forged = facts.placeholder_tokens(security)
    assert forged.tried, explain(
        expected="an [[auth]] entry with protected_url (its real token is re-signed)", seen="none declared"
    )
    if forged.listed("could not run"):
        pytest.fail(
            explain(
                expected="a real token of each service to re-sign with the placeholder secrets",
                seen=f"could not run: {forged.listed('could not run')}",
            ),
            pytrace=False,
        )
    assert not forged.listed("accepted"), explain(
        expected="every service to refuse its own token's claims signed with a documented placeholder secret",
        seen=f"accepted, the signing key is a default: {forged.listed('accepted')}",
    )


@pytest.mark.check("SEC-DEFAULT-CREDENTIALS")
def test_default_credentials_refused(default_credential, facts, explain):
    security, kind, value = default_credential
    tried = facts.published_default(security, kind, value)
    assert tried.tried, explain(expected=f"somewhere to try {tried.what}", seen="no entry declares one")
    if tried.listed("could not run"):
        pytest.fail(
            explain(
                expected=f"{tried.what} to be tried with each service's declared contract",
                seen="could not run (the request's shape was refused, or nothing answered): "
                + tried.listed("could not run"),
            ),
            pytrace=False,
        )
    assert not tried.listed("accepted"), explain(
        expected=f"{tried.what} refused everywhere", seen=f"accepted: {tried.listed('accepted')}"
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
