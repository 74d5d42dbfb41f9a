"""Security facts: published defaults (logins, API keys, PostgreSQL roles, signing secrets) tried on the
live service through each ``[[auth]]`` entry's own contract; a refused request shape is "could not run".

Split from ``infragate.facts.auth`` (the service account's own login, tokens and refusals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infragate.facts import Context, fact, host_side
from infragate.facts.auth import key_secrets, login_outgoing, protected, secrets_of, with_key
from infragate.probes import auth as contract
from infragate.probes import postgres
from infragate.probes.conditions import evidence
from infragate.probes.http import HttpAnswer

if TYPE_CHECKING:
    from infragate.inventory import Postgres, Security


@dataclass(frozen=True)
class Tried:
    """A published default tried on one entry: ``accepted``, ``refused`` or ``could not run``."""

    where: str
    verdict: str
    evidence: str


@dataclass(frozen=True)
class DefaultsTried:
    """One published default tried everywhere it applies."""

    what: str
    tried: tuple[Tried, ...]

    def listed(self, verdict: str) -> str:
        """``where: evidence; ...`` of the entries with ``verdict`` (empty: none)."""
        return "; ".join(f"{t.where}: {t.evidence}" for t in self.tried if t.verdict == verdict)


def _verdict(answer: HttpAnswer, accepted: bool) -> str:
    if (
        answer.status is None
        or answer.status in contract.SHAPE_REFUSED
        or answer.status == contract.RATE_LIMITED
    ):
        return "could not run"
    return "accepted" if accepted else "refused"


@fact(endpoint=host_side)
def default_login(ctx: Context, security: Security, pair: str) -> DefaultsTried:
    """A published ``user:password`` posted with every [[auth]] entry's login contract."""
    username, _, password = pair.partition(":")
    tried = []
    for auth in ctx.target.auth:
        answer = ctx.send(login_outgoing(auth, username, password), auth)
        got = contract.tokens_in(answer, auth.tokens).access is not None
        ok = answer.status is not None and 200 <= answer.status < 300 and got
        tried.append(
            Tried(
                f"auth {auth.name} ({auth.login_url})",
                _verdict(answer, ok),
                evidence(answer, secrets_of(auth)),
            )
        )
    return DefaultsTried(f"the published login {username!r}", tuple(tried))


@fact(endpoint=host_side)
def default_api_key(ctx: Context, security: Security, key: str) -> DefaultsTried:
    """A published default API key presented to every URL of every auth.api_keys entry."""
    tried = []
    for auth in ctx.target.auth:
        for entry in auth.api_keys:
            for url in entry.urls:
                answer = with_key(ctx, entry, url, key)
                ok = answer.status is not None and 200 <= answer.status < 300
                seen = evidence(answer, key_secrets(entry))
                tried.append(Tried(f"api key {entry.name} ({url})", _verdict(answer, ok), seen))
    return DefaultsTried(f"the published API key {key!r}", tuple(tried))


@fact()
def pg_login_as(ctx: Context, entry: Postgres, role: str, password: str) -> postgres.PgStatus:
    """A login to ``entry`` as ``role`` (not the declared user): guarded like every fact of its endpoint."""
    return postgres.status(
        entry.host,
        entry.port,
        dbname=entry.dbname,
        user=role,
        password=password,
        sslmode=entry.sslmode,
        timeout=ctx.timeout.connect,
    )


@fact(endpoint=host_side)
def default_pg_role(ctx: Context, security: Security, pair: str) -> DefaultsTried:
    """A published PostgreSQL ``role:password`` tried on every [[postgres]] entry."""
    role, _, password = pair.partition(":")
    tried = []
    entry: Postgres
    for entry in ctx.target.postgres:
        got = ctx.get("pg_login_as", entry, role, password)
        if got.ready:
            verdict, seen = "accepted", f"connected as {role!r} to {entry.dbname}"
        elif got.unreachable:
            verdict, seen = "could not run", f"no connection: {got.error}"
        else:
            verdict, seen = "refused", got.error or "refused"
        tried.append(Tried(f"postgres {entry.name} ({entry.host}:{entry.port})", verdict, seen))
    return DefaultsTried(f"the published PostgreSQL role {role!r}", tuple(tried))


@fact(endpoint=host_side)
def placeholder_tokens(ctx: Context, security: Security) -> DefaultsTried:
    """Each entry's real access token re-signed with each placeholder secret, presented to its API."""
    tried = []
    for auth in ctx.target.auth:
        if auth.protected_url is None:
            continue
        where = f"auth {auth.name} ({auth.protected_url})"
        real: str | None = ctx.get("access_token", auth)
        if real is None:
            outcome: contract.LoginOutcome = ctx.get("login", auth)
            tried.append(Tried(where, "could not run", f"no real token to re-sign: {outcome.problem}"))
            continue
        baseline = protected(ctx, auth, real)
        if baseline.status is None or not 200 <= baseline.status < 300:
            seen = f"the real token itself is refused: {evidence(baseline, secrets_of(auth))}"
            tried.append(Tried(where, "could not run", seen))
            continue
        for placeholder in security.placeholder_secrets:
            answer = protected(ctx, auth, contract.resigned(real, placeholder))
            ok = answer.status is not None and 200 <= answer.status < 300
            verdict = "accepted" if ok else "refused"
            tried.append(
                Tried(
                    f"{where} signed with the placeholder {placeholder!r}",
                    verdict,
                    evidence(answer, secrets_of(auth)),
                )
            )
    return DefaultsTried("tokens signed with a placeholder secret", tuple(tried))


_DEFAULTS = {"login": "default_login", "api-key": "default_api_key", "postgres": "default_pg_role"}


@fact(endpoint=host_side)
def published_default(ctx: Context, security: Security, kind: str, value: str) -> DefaultsTried:
    """A published default of one kind (``login``, ``api-key``, ``postgres``) tried where it applies."""
    tried: DefaultsTried = ctx.get(_DEFAULTS[kind], security, value)
    return tried
