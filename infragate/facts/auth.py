"""Auth and security facts, on each ``[[auth]]`` entry's declared contract (``infragate.inventory.auth``).

One login per account per run: ``login(auth)`` is cached once per session by the facts fixture and every
check reads its tokens from there; the ``login_ledger`` (one per session) counts the service account's
logins against ``max_logins`` and refuses to spend more. Wrong-password and lockout probes log in as the
entry's ``probe_account``, never as the service account. Secrets (passwords, keys, tokens) are read at
the call and appear in no message: evidence is redacted with every secret value the call used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact, host_side, url_endpoint
from infragate.inventory.auth import auth_entry
from infragate.probes import api
from infragate.probes import auth as contract
from infragate.probes.conditions import evidence
from infragate.probes.exchange import Outgoing
from infragate.probes.http import HttpAnswer

if TYPE_CHECKING:
    from infragate.inventory import Auth
    from infragate.inventory.auth import ApiKey, ErrorCase

__all__ = ["authorized", "key_secrets", "login_outgoing", "protected", "secrets_of", "with_key"]

_WRONG_PASSWORD = "infragate-wrong-password"
_WRONG_KEY = "infragate-wrong-key"
# Which declared refusal each invalid-token kind must meet.
_CASE = {"missing": "missing", "tampered": "invalid", "unsigned": "invalid", "expired": "expired"}


def _login_url(auth: Auth, *_: Any) -> tuple[str, int]:
    return url_endpoint(auth.login_url)


def _attr_url(attr: str) -> Any:
    return lambda entry, *_: url_endpoint(getattr(entry, attr) or "")


def secrets_of(auth: Auth) -> tuple[str, ...]:
    found = [auth.password_env.value]
    if auth.signing_secret_env is not None:
        found.append(auth.signing_secret_env.value)
    if auth.probe_account is not None and auth.probe_account.password_env is not None:
        found.append(auth.probe_account.password_env.value)
    found.extend(k.key_env.value for k in auth.api_keys)
    return tuple(found)


def login_outgoing(auth: Auth, username: str, password: str) -> Outgoing:
    """The entry's login request for any account (its body kind, field names or template, extras)."""
    return contract.login_request(
        auth.login_url,
        username,
        password,
        body=auth.login_body,
        username_field=auth.username_field,
        password_field=auth.password_field,
        template=auth.login_template,
        extra=auth.login_extra,
    )


# ---------------------------------------------------------------------------- the one login per account


@fact(endpoint=host_side)
def login_ledger(ctx: Context) -> contract.LoginLedger:
    """The run's login counts per account (one ledger per session: the facts cache keeps it)."""
    return contract.LoginLedger()


@fact(endpoint=_login_url)
def login(ctx: Context, auth: Auth) -> contract.LoginOutcome:
    """The service account's one login of this run, read against the entry's token paths."""
    ledger: contract.LoginLedger = ctx.get("login_ledger")
    if not ledger.spend(auth.name, auth.max_logins):
        why = f"login budget spent: max_logins = {auth.max_logins} already used in this run"
        return contract.LoginOutcome(None, contract.Tokens(None, None, None), why, why)
    out = login_outgoing(auth, auth.username, auth.password_env.value)
    return contract.login(
        out, auth.tokens, timeout=ctx.timeout, cafile=ctx.trust(auth), secrets=secrets_of(auth)
    )


@fact(endpoint=_login_url)
def access_token(ctx: Context, auth: Auth) -> str | None:
    """The access token of the entry's service account (None: the login gave none)."""
    outcome: contract.LoginOutcome = ctx.get("login", auth)
    return outcome.tokens.access


def authorized(ctx: Context, out: Outgoing, name: str | None = None) -> Outgoing | str:
    """``out`` carrying the access token of the ``[[auth]]`` entry ``name`` (None: the first) the way
    that entry presents it; a string says why there is none (no such entry, the login failed)."""
    auth = auth_entry(ctx.target.auth, name)
    if auth is None:
        return f"no [[auth]] entry named {name!r}" if name else "the target declares no [auth]"
    outcome: contract.LoginOutcome = ctx.get("login", auth)
    if outcome.tokens.access is None:
        return f"no access token from auth {auth.name}: {outcome.problem}"
    return contract.present(out, auth.present, outcome.tokens.access)


# ---------------------------------------------------------------------------- tokens and refusals


@dataclass(frozen=True)
class Refusal:
    """An answer that should be a refusal, judged against the declared case (``problem`` None: it is)."""

    answer: HttpAnswer | None
    expected: str
    evidence: str
    problem: str | None


def _refusal(answer: HttpAnswer, case: ErrorCase, secrets: tuple[str, ...]) -> Refusal:
    seen = evidence(answer, secrets)
    if answer.status == contract.RATE_LIMITED:
        return Refusal(answer, case.describe(), seen, f"rate-limited: login budget spent ({seen})")
    problem = contract.refusal_problem(answer, case)
    return Refusal(answer, case.describe(), seen, None if problem is None else f"{problem}: {seen}")


@fact(endpoint=_login_url)
def wrong_password(ctx: Context, auth: Auth) -> Refusal:
    """The login's answer to the probe account with a wrong password (never the service account)."""
    assert auth.probe_account is not None, "parametrized only with entries that declare probe_account"
    out = login_outgoing(auth, auth.probe_account.username, _WRONG_PASSWORD)
    answer = ctx.send(out, auth)
    return _refusal(answer, auth.errors.bad_credentials, secrets_of(auth))


@dataclass(frozen=True)
class ClaimsRead:
    """The access token's claims (None with ``why`` when there is no token to read)."""

    claims: api.TokenClaims | None
    why: str | None = None


@fact(endpoint=_login_url)
def token_claims(ctx: Context, auth: Auth) -> ClaimsRead:
    """The claims of the service account's access token, read without verifying it."""
    outcome: contract.LoginOutcome = ctx.get("login", auth)
    if outcome.tokens.access is None:
        return ClaimsRead(None, f"no access token: {outcome.problem}")
    return ClaimsRead(api.read_claims(outcome.tokens.access))


def protected(ctx: Context, auth: Auth, token: str | None) -> HttpAnswer:
    out = Outgoing(auth.protected_url or "")
    if token is not None:
        out = contract.present(out, auth.present, token)
    return ctx.send(out, auth)


@dataclass(frozen=True)
class Refreshed:
    """The refresh exchange and the protected URL's answer to the new token (``problem`` None: it works)."""

    evidence: str
    problem: str | None


@fact(endpoint=_attr_url("refresh_url"))
def refreshed(ctx: Context, auth: Auth) -> Refreshed:
    """Send the login's refresh token the declared way, then present the new access token."""
    outcome: contract.LoginOutcome = ctx.get("login", auth)
    secrets = secrets_of(auth)
    if outcome.tokens.refresh is None:
        return Refreshed(
            outcome.evidence, f"no refresh token at {auth.tokens.refresh!r} of the login: {outcome.evidence}"
        )
    out = contract.refresh_request(
        auth.refresh_url or "",
        outcome.tokens.refresh,
        send_as=auth.refresh.send,
        field_name=auth.refresh.field,
        method=auth.refresh.method,
    )
    answer = ctx.send(out, auth)
    seen = f"refresh: {evidence(answer, secrets)}"
    new = contract.tokens_in(answer, auth.refresh_tokens).access
    if answer.status is None or not 200 <= answer.status < 300 or new is None:
        return Refreshed(seen, f"no access token at {auth.refresh_tokens.access!r}")
    if auth.protected_url is None:
        return Refreshed(seen, None)
    used = protected(ctx, auth, new)
    seen += f"; {auth.protected_url} with the new token: {evidence(used, secrets)}"
    ok = used.status is not None and 200 <= used.status < 300
    return Refreshed(seen, None if ok else "the new access token is refused")


@dataclass(frozen=True)
class InvalidTokenAnswer:
    """The protected URL's answer to a token made invalid on purpose, judged against the error contract."""

    kind: str
    refusal: Refusal | None
    error: str | None = None
    # Why this case cannot be made on this target (not a failure of the service's token checks).
    not_applicable: str | None = None

    @property
    def accepted(self) -> bool:
        """The bad token got a 2xx: the service does not check it."""
        answer = self.refusal.answer if self.refusal is not None else None
        return answer is not None and answer.status is not None and 200 <= answer.status < 300


@fact(endpoint=_attr_url("protected_url"))
def invalid_token(ctx: Context, auth: Auth, kind: str) -> InvalidTokenAnswer:
    """Present a missing, tampered, unsigned or expired token (derived from the real one)."""
    token: str | None = None
    if kind != "missing":
        real: str | None = ctx.get("access_token", auth)
        if real is None:
            outcome: contract.LoginOutcome = ctx.get("login", auth)
            return InvalidTokenAnswer(
                kind, None, f"could not run: no real token to derive from ({outcome.problem})"
            )
        if kind == "tampered":
            token = contract.tampered(real, auth.claims.subject)
        elif kind == "unsigned":
            token = api.unsigned(real)
        elif auth.signing_secret_env is not None:
            if not api.verifies(real, auth.signing_secret_env.value):
                # A token signed with another key than the service's is refused as invalid whatever its
                # exp: "expired" cannot be tested. The service's key differing from the declared one is
                # SEC-DEFAULT-SECRETS' finding when it is a placeholder (fault jwt-default-secret).
                return InvalidTokenAnswer(
                    kind,
                    None,
                    not_applicable=f"the service's own token does not verify with the secret from "
                    f"${auth.signing_secret_env.env}: it signs with another key, so no token that is only "
                    "expired can be made (SEC-DEFAULT-SECRETS tells whether that key is a placeholder)",
                )
            token = api.expired(real, auth.signing_secret_env.value)
    answer = protected(ctx, auth, token)
    case = getattr(auth.errors, _CASE[kind])
    return InvalidTokenAnswer(kind, _refusal(answer, case, secrets_of(auth) + ((token,) if token else ())))


# ---------------------------------------------------------------------------- API keys, rate limit


@dataclass(frozen=True)
class KeyAnswer:
    """A protected URL's answer to one way of presenting an API key (``shown`` names it, never a secret)."""

    shown: str
    answer: HttpAnswer
    evidence: str

    @property
    def accepted(self) -> bool:
        """A 2xx: the URL let the request through."""
        return self.answer.status is not None and 200 <= self.answer.status < 300


def key_secrets(entry: ApiKey) -> tuple[str, ...]:
    return (entry.key_env.value,)


def with_key(ctx: Context, entry: ApiKey, url: str, key: str | None) -> HttpAnswer:
    out = Outgoing(url)
    if key is not None:
        out = contract.present(out, entry.placement, key)
    return ctx.send(out, entry)


@fact(endpoint=lambda entry, url, *_: url_endpoint(url))
def api_key_answer(ctx: Context, entry: ApiKey, url: str, case: str) -> KeyAnswer:
    """``url`` with the real key (``valid``), none (``missing``), a wrong one or a published default."""
    if case == "valid":
        key, shown = entry.key_env.value, f"the key from ${entry.key_env.env}"
    elif case == "missing":
        key, shown = None, "no key"
    elif case == "wrong":
        key, shown = _WRONG_KEY, "a wrong key"
    else:
        key = entry.published_keys[int(case.removeprefix("published-"))]
        shown = f"the published default key {key!r}"
    answer = with_key(ctx, entry, url, key)
    return KeyAnswer(shown, answer, evidence(answer, key_secrets(entry)))


@dataclass(frozen=True)
class Burst:
    """A bounded burst of failed logins of the probe account: where 429 came, and what came after."""

    limit: int
    sent: int
    limited_at: int | None
    retry_after: str | None
    spoofed: str | None
    right_password: str | None
    evidence: str


@fact(endpoint=_login_url)
def login_burst(ctx: Context, auth: Auth) -> Burst:
    """Failed logins of the probe account until 429 (at most max_attempts + 1), then a spoofed
    X-Forwarded-For, then (when declared) the probe account's right password: both must stay 429."""
    assert auth.probe_account is not None and auth.rate_limit is not None
    # The checks that need a login or a refusal first: the burst spends this client's attempts.
    ctx.get("login", auth)
    ctx.get("wrong_password", auth)
    limit, probe, secrets = auth.rate_limit, auth.probe_account, secrets_of(auth)
    out = login_outgoing(auth, probe.username, _WRONG_PASSWORD)
    sent, last = 1, ctx.send(out, auth)
    # Bounded: at most max_attempts + 1 requests, whatever the service answers.
    while last.status not in (None, contract.RATE_LIMITED) and sent <= limit.max_attempts:
        sent, last = sent + 1, ctx.send(out, auth)
    seen = evidence(last, secrets)
    if last.status != contract.RATE_LIMITED:
        return Burst(limit.max_attempts, sent, None, None, None, None, seen)
    spoofed_out = Outgoing(
        out.url, out.method, {limit.spoof_header: limit.spoof_value}, json=out.json, form=out.form
    )
    spoofed = ctx.send(spoofed_out, auth)
    right: str | None = None
    if probe.password_env is not None:
        good = ctx.send(login_outgoing(auth, probe.username, probe.password_env.value), auth)
        right = evidence(good, secrets)
    return Burst(
        limit.max_attempts,
        sent,
        sent,
        last.headers.get("retry-after"),
        evidence(spoofed, secrets),
        right,
        seen,
    )
