"""Token authentication: the service account logs in, bad passwords and bad tokens are refused, tokens
carry sane claims and refresh works.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from infragate.probes import api

# Error codes the service documents for refused tokens (runbook 003 § JWT).
_TOKEN_CODES = {"missing": "MISSING_TOKEN", "tampered": "INVALID_TOKEN", "unsigned": "INVALID_TOKEN"}
_TOKEN_CODES["expired"] = "TOKEN_EXPIRED"


def _code(answer):
    doc = answer.json()
    detail = doc.get("detail") if isinstance(doc, dict) else None
    if isinstance(detail, dict):
        return detail.get("code")
    return doc.get("code") if isinstance(doc, dict) else None


def _seen(answer):
    if answer.status is None:
        return f"no response: {answer.error}"
    code = _code(answer)
    return f"HTTP {answer.status}" + (f" {code}" if code else "")


@pytest.mark.check("AUTH-LOGIN")
def test_auth_login_returns_tokens(auth, service, explain):
    answer = service.login(auth)
    tokens = service.tokens(auth)
    wanted = ["access_token"] + (["refresh_token"] if auth.refresh_url else [])
    missing = [k for k in wanted if not isinstance(tokens.get(k), str)]
    assert answer.status == 200 and not missing, explain(
        expected=f"HTTP 200 with {' and '.join(wanted)} for {auth.username!r} "
        f"(password from ${auth.password_env.env})",
        seen=_seen(answer) + (f", missing {', '.join(missing)}" if answer.status == 200 else ""),
    )


@pytest.mark.check("AUTH-BAD-CREDENTIALS")
def test_auth_wrong_password_refused(auth, service, explain):
    answer = service.login(auth, password="infragate-wrong-password")
    code = _code(answer)
    assert answer.status == 401 and code == auth.bad_credentials_code, explain(
        expected=f"HTTP 401 {auth.bad_credentials_code} for a wrong password (never 500)", seen=_seen(answer)
    )


@pytest.mark.check("AUTH-TOKEN-CLAIMS")
def test_auth_token_claims_sane(auth, service, explain):
    token = service.tokens(auth).get("access_token")
    claims = api.read_claims(token) if isinstance(token, str) else None
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
def test_auth_token_lifetime_as_declared(auth, service, threshold, explain):
    ttl, tolerance = threshold("token_ttl_s"), threshold("tolerance_s")
    token = service.tokens(auth).get("access_token")
    lifetime = api.read_claims(token).lifetime_s if isinstance(token, str) else None
    assert lifetime is not None and abs(lifetime - ttl) <= tolerance, explain(
        expected=f"an access token lifetime (exp - iat) of {ttl:g} s (within {tolerance:g} s)",
        seen="no lifetime (no token, or no exp/iat)" if lifetime is None else f"lifetime {lifetime:.0f} s",
    )


@pytest.mark.check("AUTH-REFRESH")
def test_auth_refresh_gives_working_token(auth_refresh, service, explain):
    answer = service.refresh(auth_refresh)
    doc = answer.json()
    token = doc.get("access_token") if isinstance(doc, dict) else None
    used = (
        service.protected(auth_refresh, token, "refreshed") if token and auth_refresh.protected_url else None
    )
    ok = answer.status == 200 and isinstance(token, str) and (used is None or used.status == 200)
    seen = f"refresh: {_seen(answer)}"
    if used is not None:
        seen += f"; {auth_refresh.protected_url} with the new token: {_seen(used)}"
    assert ok, explain(
        expected=f"{auth_refresh.refresh_url} to exchange the refresh token for an access token "
        "the API accepts",
        seen=seen,
    )


def _invalid(auth, kind, service):
    if kind == "missing":
        return None
    token = service.tokens(auth).get("access_token")
    if not isinstance(token, str):
        pytest.fail(f"no access token from {auth.login_url} to derive a {kind} token from", pytrace=False)
    if kind == "tampered":
        return api.tampered(token)
    if kind == "unsigned":
        return api.unsigned(token)
    return api.expired(token, auth.signing_secret_env.value)


@pytest.mark.check("AUTH-REJECT-INVALID")
def test_auth_rejects_invalid_token(invalid_token, service, explain):
    auth, kind = invalid_token
    answer = service.protected(auth, _invalid(auth, kind, service), kind)
    code = _TOKEN_CODES[kind]
    seen = _seen(answer)
    if answer.status is not None and 200 <= answer.status < 300:
        seen += f": the {kind} token was accepted"
    assert answer.status == 401 and _code(answer) == code, explain(
        expected=f"HTTP 401 {code} from {auth.protected_url} for a {kind} token", seen=seen
    )
