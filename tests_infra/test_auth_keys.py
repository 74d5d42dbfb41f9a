"""API keys and login rate limits: protected URLs take the configured key and refuse every other, and a
burst of failed logins meets 429 (with Retry-After) that a spoofed client address does not reset.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("AUTH-API-KEY")
def test_api_key_accepted(api_key_url, facts, explain):
    entry, url = api_key_url
    got = facts.api_key_answer(entry, url, "valid")
    assert got.accepted, explain(
        expected=f"{url} to answer 2xx to {got.shown} in {entry.placement.describe()}", seen=got.evidence
    )


@pytest.mark.check("AUTH-API-KEY")
def test_api_key_refused(api_key_refusal, facts, explain):
    entry, url, case = api_key_refusal
    got = facts.api_key_answer(entry, url, case)
    wanted = " or ".join(map(str, entry.refuse_status))
    accepted = f": {got.shown} was accepted" if got.accepted else ""
    assert got.answer.status in entry.refuse_status, explain(
        expected=f"{url} to refuse {got.shown} with HTTP {wanted}", seen=f"{got.evidence}{accepted}"
    )


@pytest.mark.check("AUTH-RATE-LIMIT")
def test_login_burst_meets_429(auth_rate_limit, facts, explain):
    burst = facts.login_burst(auth_rate_limit)
    limit = burst.limit
    assert burst.limited_at is not None, explain(
        expected=f"HTTP 429 within {limit} failed logins of the probe account",
        seen=f"no 429 after {burst.sent} failed logins (last: {burst.evidence})",
    )
    assert burst.retry_after is not None, explain(
        expected="a Retry-After header on the 429", seen=f"none after {burst.sent} logins: {burst.evidence}"
    )


@pytest.mark.check("AUTH-RATE-LIMIT")
def test_login_limit_not_reset_by_spoofed_address(auth_rate_limit, facts, explain):
    burst = facts.login_burst(auth_rate_limit)
    header = auth_rate_limit.rate_limit.spoof_header
    assert burst.spoofed is not None, explain(
        expected="a rate limit to test", seen=f"no 429 after {burst.sent} failed logins: {burst.evidence}"
    )
    assert burst.spoofed.startswith("HTTP 429"), explain(
        expected=f"HTTP 429 still, with a spoofed {header}", seen=f"{burst.spoofed}: the limit was reset"
    )


@pytest.mark.check("AUTH-RATE-LIMIT")
def test_login_limit_holds_for_right_password(auth_lockout, facts, explain):
    burst = facts.login_burst(auth_lockout)
    assert burst.right_password is not None and burst.right_password.startswith("HTTP 429"), explain(
        expected="HTTP 429 for the probe account's right password while it is locked out",
        seen=burst.right_password or f"no 429 after {burst.sent} failed logins: {burst.evidence}",
    )
