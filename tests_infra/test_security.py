"""Published defaults do not work on the live service, and settings files are not served.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from infragate.probes import api


def _login_url(security, target):
    url = security.login_url or (target.auth.login_url if target.auth else None)
    if url is None:
        pytest.fail("security needs login_url (or an [auth] section)", pytrace=False)
    return url


@pytest.mark.check("SEC-DEFAULT-SECRETS")
def test_tokens_signed_with_placeholder_refused(security, target, service, explain):
    url = security.protected_url or (target.auth.protected_url if target.auth else None)
    if url is None:
        pytest.fail("security needs protected_url (or [auth] protected_url)", pytrace=False)
    answers = [
        (
            placeholder,
            service.bearer(url, security, api.forged(security.token_subject, placeholder), f"ph{i}"),
        )
        for i, placeholder in enumerate(security.placeholder_secrets)
    ]
    accepted = [repr(p) for p, answer in answers if answer.status is not None and 200 <= answer.status < 300]
    assert not accepted, explain(
        expected=f"{url} to refuse tokens signed with documented placeholder secrets",
        seen=f"a token signed with the placeholder {', '.join(accepted)} was accepted: "
        "the signing key is a default",
    )


@pytest.mark.check("SEC-DEFAULT-CREDENTIALS")
def test_default_credentials_refused(default_credential, target, service, explain):
    security, pair = default_credential
    username, _, password = pair.partition(":")
    url = _login_url(security, target)
    answer = service.try_login(url, security, username, password)
    doc = answer.json()
    got_token = isinstance(doc, dict) and "access_token" in doc
    assert not got_token, explain(
        expected=f"the published default login {username!r} refused at {url}",
        seen=f"HTTP {answer.status}: the default credentials of {username!r} log in",
    )


@pytest.mark.check("SEC-ENV-NOT-EXPOSED")
def test_sensitive_file_not_served(sensitive_url, service, explain):
    security, url = sensitive_url
    answer = service.sensitive(security, url)
    path = url.split("://", 1)[-1].partition("/")[2]
    # No answer (TLS error, 502) is not a served file; an unreachable host fails through the probe cache.
    assert answer.status != 200, explain(
        expected=f"{url} not served (403/404)",
        seen=f"no response: {answer.error}"
        if answer.status is None
        else f"HTTP {answer.status}"
        + (f": /{path} is downloadable ({len(answer.body)} bytes)" if answer.status == 200 else ""),
    )
