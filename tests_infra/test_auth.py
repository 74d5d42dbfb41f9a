"""Token authentication: the service account logs in, bad passwords and bad tokens are refused, tokens
carry sane claims and refresh works.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import http_seen

# Error codes the service documents for refused tokens (runbook 003 § JWT).
_TOKEN_CODES = {
    "missing": "MISSING_TOKEN",
    "tampered": "INVALID_TOKEN",
    "unsigned": "INVALID_TOKEN",
    "expired": "TOKEN_EXPIRED",
}


@pytest.mark.check("AUTH-LOGIN")
def test_auth_login_returns_tokens(auth, facts, explain):
    answer = facts.login(auth)
    tokens = facts.tokens(auth)
    wanted = ["access_token"] + (["refresh_token"] if auth.refresh_url else [])
    missing = [k for k in wanted if not isinstance(tokens.get(k), str)]
    assert answer.status == 200 and not missing, explain(
        expected=f"HTTP 200 with {' and '.join(wanted)} for {auth.username!r} "
        f"(password from ${auth.password_env.env})",
        seen=http_seen(answer) + (f", missing {', '.join(missing)}" if answer.status == 200 else ""),
    )


@pytest.mark.check("AUTH-BAD-CREDENTIALS")
def test_auth_wrong_password_refused(auth, facts, explain):
    refused = facts.wrong_password(auth)
    answer, code = refused.answer, refused.code
    assert answer.status == 401 and code == auth.bad_credentials_code, explain(
        expected=f"HTTP 401 {auth.bad_credentials_code} for a wrong password (never 500)",
        seen=f"{http_seen(answer)} {code or ''}".rstrip(),
    )


@pytest.mark.check("AUTH-TOKEN-CLAIMS")
def test_auth_token_claims_sane(auth, facts, explain):
    claims = facts.token_claims(auth)
    missing = [k for k in ("sub", "iat", "exp") if claims is None or k not in claims.claims]
    assert (
        claims is not None and claims.error is None and not missing and claims.algorithm not in (None, "none")
    ), explain(
        expected="a signed JWT (alg not 'none') with sub, iat and exp",
        seen="no access token"
        if claims is None
        else claims.error or f"alg {claims.algorithm!r}, missing {missing}",
    )


@pytest.mark.check("AUTH-TOKEN-CLAIMS")
def test_auth_token_lifetime_as_declared(auth, facts, threshold, explain):
    ttl, tolerance = threshold("token_ttl_s"), threshold("tolerance_s")
    claims = facts.token_claims(auth)
    lifetime = claims.lifetime_s if claims is not None else None
    assert lifetime is not None and abs(lifetime - ttl) <= tolerance, explain(
        expected=f"an access token lifetime (exp - iat) of {ttl:g} s (within {tolerance:g} s)",
        seen="no lifetime (no token, or no exp/iat)" if lifetime is None else f"lifetime {lifetime:.0f} s",
    )


@pytest.mark.check("AUTH-REFRESH")
def test_auth_refresh_gives_working_token(auth_refresh, facts, explain):
    result = facts.refreshed(auth_refresh)
    seen = f"refresh: {http_seen(result.answer)}"
    if result.used is not None:
        seen += f"; {auth_refresh.protected_url} with the new token: {http_seen(result.used)}"
    ok = result.answer.status == 200 and result.token is not None
    assert ok and (result.used is None or result.used.status == 200), explain(
        expected=f"{auth_refresh.refresh_url} to exchange the refresh token for an access token "
        "the API accepts",
        seen=seen,
    )


@pytest.mark.check("AUTH-REJECT-INVALID")
def test_auth_rejects_invalid_token(invalid_token, facts, explain):
    auth, kind = invalid_token
    result = facts.invalid_token(auth, kind)
    code = _TOKEN_CODES[kind]
    assert result.answer is not None, explain(expected=f"a {kind} token to present", seen=result.error)
    seen = f"{http_seen(result.answer)} {result.code or ''}".rstrip()
    if result.answer.status is not None and 200 <= result.answer.status < 300:
        seen += f": the {kind} token was accepted"
    assert result.answer.status == 401 and result.code == code, explain(
        expected=f"HTTP 401 {code} from {auth.protected_url} for a {kind} token", seen=seen
    )
