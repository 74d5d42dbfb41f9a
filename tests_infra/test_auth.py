"""Token authentication on each declared contract: the service account logs in (once per run), the probe
account's wrong password is refused, tokens carry the declared claims and lifetime, refresh works and
bad tokens are refused the way the error contract says.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("AUTH-LOGIN")
def test_auth_login_returns_tokens(auth, facts, explain):
    outcome = facts.login(auth)
    wants_refresh = auth.refresh_url is not None and bool(auth.tokens.refresh)
    missing_refresh = wants_refresh and outcome.problem is None and outcome.tokens.refresh is None
    wanted = f"an access token at {auth.tokens.access!r}" + (
        f" and a refresh token at {auth.tokens.refresh!r}" if wants_refresh else ""
    )
    assert outcome.problem is None and not missing_refresh, explain(
        expected=f"{auth.login_url} to log {auth.username!r} in (password from ${auth.password_env.env}) "
        f"with {wanted}",
        seen=outcome.problem or f"no refresh token at {auth.tokens.refresh!r}: {outcome.evidence}",
    )


@pytest.mark.check("AUTH-BAD-CREDENTIALS")
def test_auth_wrong_password_refused(auth_probe, facts, explain):
    refused = facts.wrong_password(auth_probe)
    assert refused.problem is None, explain(
        expected=f"{refused.expected} for the probe account {auth_probe.probe_account.username!r} with "
        "a wrong password (never 500)",
        seen=refused.problem,
    )


@pytest.mark.check("AUTH-TOKEN-CLAIMS")
def test_auth_token_claims_sane(auth, facts, explain):
    read = facts.token_claims(auth)
    claims = read.claims
    wanted = tuple(dict.fromkeys((auth.claims.subject, *auth.claims.required)))
    missing = [k for k in wanted if claims is None or k not in claims.claims]
    assert claims is not None and claims.error is None, explain(
        expected="a JWT access token", seen=read.why or (claims.error if claims else "")
    )
    assert not missing and claims.algorithm not in (None, "none"), explain(
        expected=f"a signed JWT (alg not 'none') with the claims {', '.join(wanted)}",
        seen=f"alg {claims.algorithm!r}, missing {', '.join(missing) or 'nothing'}",
    )


@pytest.mark.check("AUTH-TOKEN-CLAIMS")
def test_auth_token_lifetime_as_declared(auth, facts, threshold, explain):
    ttl, tolerance = threshold("token_ttl_s"), threshold("tolerance_s")
    read = facts.token_claims(auth)
    lifetime = read.claims.lifetime_s if read.claims is not None else None
    assert lifetime is not None and abs(lifetime - ttl) <= tolerance, explain(
        expected=f"an access token lifetime (exp - iat) of {ttl:g} s (within {tolerance:g} s)",
        seen=read.why or "no exp/iat in the token" if lifetime is None else f"lifetime {lifetime:.0f} s",
    )


@pytest.mark.check("AUTH-REFRESH")
def test_auth_refresh_gives_working_token(auth_refresh, facts, explain):
    result = facts.refreshed(auth_refresh)
    assert result.problem is None, explain(
        expected=f"{auth_refresh.refresh_url} to exchange the refresh token (sent as "
        f"{auth_refresh.refresh.send} {auth_refresh.refresh.field!r}) for an access token the API accepts",
        seen=f"{result.problem}; {result.evidence}",
    )


@pytest.mark.check("AUTH-REJECT-INVALID")
def test_auth_rejects_invalid_token(invalid_token, facts, explain):
    auth, kind = invalid_token
    result = facts.invalid_token(auth, kind)
    if result.not_applicable:
        pytest.skip(f"not applicable: {result.not_applicable}")
    refusal = result.refusal
    assert refusal is not None, explain(expected=f"a token to present ({kind})", seen=result.error)
    accepted = f": the {kind} token was accepted" if result.accepted else ""
    assert refusal.problem is None, explain(
        expected=f"{refusal.expected} from {auth.protected_url} for the token case {kind!r} "
        f"(presented as {auth.present.describe()})",
        seen=f"{refusal.problem}{accepted}",
    )
