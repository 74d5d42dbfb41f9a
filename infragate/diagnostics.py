"""Diagnostics a failing check attaches: the runbook's read-only "look here next" commands, as data.

A catalog entry may list ``diagnostics`` (``[{kind: log_tail, path: "{entry.path}"}, {kind: sql, query:
"SELECT ... FROM pg_stat_activity"}, ...]``). Each ``kind`` is one of a fixed allow-list below, and each
kind builds its own command line in this module: neither the catalog nor the inventory ever supplies
shell text. Inventory values reach a command only through ``{entry.<field>}`` placeholders, as single
quoted arguments, never starting with ``-`` and never spanning lines. Every kind only reads: a log tail,
``journalctl``, ``docker logs``, ``nginx -T``, ``ss``, ``ps``, ``df``, a SELECT in a READ ONLY transaction
with a statement timeout, ``INFO <section>``, a TLS handshake that reads the served certificate.

Bounds: each diagnostic has a hard wall-clock deadline (``timeout`` on the host and a guard thread here),
its output is capped in bytes on the host and in lines/characters here (saying so), and a run spends at
most ``Limits.run_s`` on diagnostics in total. Output is redacted: the inventory's secret values and
anything shaped like a credential (``password=...``, ``Bearer ...``, a URL's password, a JWT, a private
key block). Host-side kinds run through the target's ``[host] transport`` (testinfra), and only when the
target declares ``[host]``: otherwise they would read the machine pytest runs on, not the target.
"""

from __future__ import annotations

import math
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit

from infragate.probes._base import run_within
from infragate.redaction import redact_output, secret_values

__all__ = [
    "KINDS",
    "Diagnostic",
    "DiagnosticError",
    "Limits",
    "Output",
    "Runner",
    "Session",
    "parse_diagnostics",
    "redact_output",
    "render",
    "secret_values",
]


class DiagnosticError(ValueError):
    """A catalog ``diagnostics`` item is malformed (unknown kind or key, bad value)."""


class Runner(Protocol):
    """The host transport: testinfra's ``Host.run(command, *args)`` quotes each ``%s`` argument."""

    def run(self, command: str, *args: str) -> Any: ...


# kind -> (allowed keys, required keys). Values may hold ``{entry.<field>}`` placeholders where noted.
_HOST_KINDS = {
    "log_tail": ({"path", "lines"}, {"path"}),  # path: a placeholder, or "declared" = every [[host.logs]]
    "journal": ({"unit", "lines"}, {"unit"}),
    "docker_logs": ({"container", "lines"}, {"container"}),
    "nginx_config": ({"match"}, {"match"}),  # match: a regex (catalog text) selecting nginx -T lines
    "listeners": ({"port"}, {"port"}),
    "processes": ({"pattern"}, {"pattern"}),
    "pidfile": ({"pidfile"}, {"pidfile"}),
    "disk": ({"path"}, {"path"}),
}
_NETWORK_KINDS = {
    "sql": ({"query", "rows"}, {"query"}),  # the entry is a [[postgres]] entry
    "redis_info": ({"section"}, {"section"}),  # the entry is a [[redis]] entry
    "tls_peer": (set(), set()),  # the entry has host/port (or a URL): the certificate it serves
}
KINDS: Mapping[str, tuple[set[str], set[str]]] = MappingProxyType({**_HOST_KINDS, **_NETWORK_KINDS})
_PLACEHOLDER = re.compile(r"\{entry((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}")
_ANY_BRACE = re.compile(r"[{}]")
MAX_LINES = 200


@dataclass(frozen=True)
class Diagnostic:
    """One catalog diagnostic: an allow-listed kind and its parameters (placeholders not yet filled)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def _parse_one(raw: Any, where: str) -> Diagnostic:
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise DiagnosticError(f"{where}: a diagnostic is a mapping with a kind")
    kind = raw["kind"]
    if kind not in KINDS:
        raise DiagnosticError(f"{where}: kind {kind!r} is not one of {sorted(KINDS)}")
    allowed, required = KINDS[kind]
    params = {k: v for k, v in raw.items() if k != "kind"}
    unknown, missing = set(params) - allowed, required - set(params)
    if unknown or missing:
        raise DiagnosticError(f"{where}: {kind}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    lines = params.get("lines", 50)
    if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= MAX_LINES:
        raise DiagnosticError(f"{where}: {kind}: lines must be an integer in 1..{MAX_LINES}")
    if kind == "sql":
        query = str(params["query"])
        # A plain SELECT (it runs in a READ ONLY transaction anyway): no statement list, no writes.
        if not re.match(r"(?is)\s*(select|with)\b", query) or ";" in query:
            raise DiagnosticError(f"{where}: sql: query must be one SELECT statement without ';'")
    if kind == "redis_info" and not re.fullmatch(r"[a-z]+", str(params["section"])):
        raise DiagnosticError(f"{where}: redis_info: section must be one INFO section name")
    if kind == "nginx_config":
        try:
            re.compile(str(params["match"]))
        except re.error as exc:
            raise DiagnosticError(f"{where}: nginx_config: match is not a regex: {exc}") from None
    for key, value in params.items():
        if isinstance(value, str) and key not in ("query", "match"):
            leftover = _ANY_BRACE.search(_PLACEHOLDER.sub("", value))
            if leftover:
                raise DiagnosticError(
                    f"{where}: {kind}.{key}: only {{entry.<field>}} placeholders are allowed"
                )
    return Diagnostic(kind, MappingProxyType(params))


def parse_diagnostics(raw: Any, where: str) -> tuple[Diagnostic, ...]:
    """The ``diagnostics`` list of a catalog entry, validated against the allow-list."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise DiagnosticError(f"{where}: diagnostics must be a list")
    return tuple(_parse_one(item, f"{where}.diagnostics[{i}]") for i, item in enumerate(raw))


# ------------------------------------------------------------------------------------------ bounds


@dataclass(frozen=True)
class Limits:
    """How much a diagnostic may cost: seconds each, seconds per failing test and per run, output size."""

    each_s: float = 5.0
    test_s: float = 15.0
    run_s: float = 60.0
    max_lines: int = 60
    max_chars: int = 4000
    # What the host command may print before it is cut on the host (so a huge `nginx -T` never travels).
    host_bytes: int = 256 * 1024


@dataclass(frozen=True)
class Output:
    """One diagnostic's result: the command as shown, its (redacted, bounded) text and a note."""

    title: str
    text: str
    note: str = ""
    seconds: float = 0.0


def _bound(text: str, limits: Limits, *, keep_end: bool) -> tuple[str, str]:
    lines = text.rstrip("\n").splitlines()
    total = len(lines)
    if total > limits.max_lines:
        lines = lines[-limits.max_lines :] if keep_end else lines[: limits.max_lines]
    out = "\n".join(lines)
    cut_chars = len(out) > limits.max_chars
    if cut_chars:
        out = out[-limits.max_chars :] if keep_end else out[: limits.max_chars]
    if total > limits.max_lines or cut_chars:
        which = "last" if keep_end else "first"
        return (
            out,
            f"truncated: {which} {len(out.splitlines())} of {total} lines (at most {limits.max_chars} chars)",
        )
    return out, ""


# ------------------------------------------------------------------------------------------ placeholders


class _NotApplicable(Exception):
    """The entry lacks what this diagnostic needs (a service without a unit has no journal)."""


def _lookup(entry: Any, dotted: str) -> Any:
    value = entry
    for name in dotted.strip(".").split("."):
        nxt = getattr(value, name, None)
        if nxt is None and name in ("host", "port") and isinstance(getattr(value, "url", None), str):
            # An endpoint declared by URL: its host and port are the URL's (scheme default port).
            parts = urlsplit(value.url)
            default = 443 if parts.scheme in ("https", "wss") else 80
            nxt = parts.hostname if name == "host" else (parts.port or default)
        value = nxt
        if value is None:
            raise _NotApplicable(f"the entry has no {dotted.strip('.')}")
    return value


def fill(template: str, entry: Any) -> str:
    """``template`` with each ``{entry.<field>}`` replaced by the entry's value (one line, no leading -)."""

    def one(match: re.Match[str]) -> str:
        value = _lookup(entry, match.group(1))
        text = str(value)
        if "\n" in text or "\0" in text:
            raise _NotApplicable(f"entry.{match.group(1).strip('.')} spans lines")
        return text

    text = _PLACEHOLDER.sub(one, template)
    if text.startswith("-"):
        # Never an option: every value is passed as an argument, but `tail -n 5 -x` would still parse -x.
        raise _NotApplicable(f"{text!r} starts with '-'")
    return text


# ------------------------------------------------------------------------------------------ the kinds

# One fixed script: the command's arguments follow as "$@", each quoted by the transport. The output is
# cut on the host; the exit status follows on a line of its own (lost only when the output was cut).
_SCRIPT = '{ "$@" 2>&1; rc=$?; echo; echo "infragate-rc=$rc"; } | head -c %d'
_RC = re.compile(r"\n?\n?infragate-rc=(\d+)\s*\Z")


@dataclass
class _Plan:
    """A resolved diagnostic: what to show as its title, and how to run it."""

    title: str
    key: tuple[Any, ...]
    run: Callable[[float], tuple[str, str]]  # seconds -> (text, note)
    keep_end: bool = False


def _host_call(runner: Runner, argv: Sequence[str], seconds: float, limits: Limits) -> tuple[str, str]:
    whole = max(1, math.ceil(seconds))
    # coreutils timeout on the host: the command dies there at the deadline, not only our wait for it.
    full = ["timeout", "-k", "1", str(whole), *argv]
    command = " ".join(["sh", "-c", "%s", "sh", *(["%s"] * len(full))])
    result = runner.run(command, _SCRIPT % limits.host_bytes, *full)
    text = str(getattr(result, "stdout", "") or "")
    found = _RC.search(text)
    if found is None:
        return text, f"cut on the host at {limits.host_bytes} bytes"
    text, rc = text[: found.start()], int(found.group(1))
    if rc in (124, 137):
        return text, f"timed out after {whole} s"
    if rc == 127:
        return text, f"{argv[0]}: command not found on the host"
    return text, f"exit status {rc}" if rc else ""


def _plan(
    spec: Diagnostic, entry: Any, target: Any, runner: Callable[[], Runner], limits: Limits
) -> list[_Plan]:
    p = spec.params
    host = getattr(target, "host", None)
    if spec.kind in _HOST_KINDS and host is None:
        raise _NotApplicable("the target declares no [host] transport")

    def host_plan(
        title: str, argv: list[str], *, keep_end: bool = False, post: Callable[[str], str] | None = None
    ) -> _Plan:
        def run(seconds: float) -> tuple[str, str]:
            text, note = _host_call(runner(), argv, seconds, limits)
            return (post(text) if post else text), note

        return _Plan(title, (spec.kind, *argv), run, keep_end)

    lines = str(p.get("lines", 50))
    if spec.kind == "log_tail":
        if p["path"] == "declared":
            paths = [str(log.path) for log in (host.logs if host else ())][:4]
            if not paths:
                raise _NotApplicable("the target declares no [[host.logs]]")
        else:
            paths = [fill(str(p["path"]), entry)]
        return [
            host_plan(f"tail -n {lines} -- {path}", ["tail", "-n", lines, "--", path], keep_end=True)
            for path in paths
        ]
    if spec.kind == "journal":
        unit = fill(str(p["unit"]), entry)
        argv = ["journalctl", "--no-pager", "-o", "short-iso", "-n", lines, f"--unit={unit}"]
        return [host_plan(" ".join(argv), argv, keep_end=True)]
    if spec.kind == "docker_logs":
        name = fill(str(p["container"]), entry)
        argv = ["docker", "logs", "--timestamps", "--tail", lines, name]
        return [host_plan(" ".join(argv), argv, keep_end=True)]
    if spec.kind == "nginx_config":
        declared = getattr(target, "proxy", None)
        # One [proxy] table, or a list of proxies of several kinds: the nginx ones (with nginx_conf).
        proxies = (
            declared if isinstance(declared, (tuple, list)) else (() if declared is None else (declared,))
        )
        nginx = [x for x in proxies if getattr(x, "nginx_conf", None) is not None]
        if not nginx:
            raise _NotApplicable("the target declares no nginx [proxy]")
        proxy = nginx[0]
        argv = [str(getattr(proxy, "nginx_binary", "nginx")), "-T", "-q"]
        if getattr(proxy, "nginx_prefix", None) is not None:
            argv += ["-p", f"{str(proxy.nginx_prefix).rstrip('/')}/"]
        argv += ["-c", str(proxy.nginx_conf)]
        wanted = re.compile(str(p["match"]))

        def excerpt(text: str) -> str:
            # Matching directives (not comments) under the header of the file they are in; a file with
            # none is left out. nginx's own error (a config that does not load) is always kept.
            kept: list[str] = []
            header = ""
            for line in text.splitlines():
                if line.startswith("# configuration file"):
                    header = line
                elif "emerg" in line or (not line.lstrip().startswith("#") and wanted.search(line)):
                    if header:
                        kept.append(header)
                        header = ""
                    kept.append(line)
            return "\n".join(kept) if kept else f"(no line matches /{wanted.pattern}/)"

        return [host_plan(f"{' '.join(argv)}  (lines matching /{wanted.pattern}/)", argv, post=excerpt)]
    if spec.kind == "listeners":
        port = fill(str(p["port"]), entry)

        def on_port(text: str) -> str:
            kept = [line for line in text.splitlines() if re.search(rf":{re.escape(port)}\s", line)]
            return "\n".join(kept) if kept else f"nothing listens on TCP port {port}"

        return [host_plan(f"ss -Htlnp  (port {port})", ["ss", "-Htlnp"], post=on_port)]
    if spec.kind == "processes":
        pattern = fill(str(p["pattern"]), entry)
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise _NotApplicable(f"pattern is not a regex: {exc}") from None

        def matching(text: str) -> str:
            rows = text.splitlines()
            kept = rows[:1] + [row for row in rows[1:] if regex.search(row)]
            return "\n".join(kept) if len(kept) > 1 else f"no process matches /{pattern}/"

        argv = ["ps", "-ww", "-eo", "pid,etime,rss,args"]
        return [host_plan(f"ps -ww -eo pid,etime,rss,args  (matching /{pattern}/)", argv, post=matching)]
    if spec.kind == "pidfile":
        path = fill(str(p["pidfile"]), entry)
        argv = ["sh", "-c", 'cat -- "$1" && ps -ww -o pid,etime,rss,args -p "$(cat -- "$1")"', "sh", path]
        return [host_plan(f"cat {path}; ps -p <pid>", argv)]
    if spec.kind == "disk":
        path = fill(str(p["path"]), entry)
        return [host_plan(f"df -hP -- {path}", ["df", "-hP", "--", path])]
    if spec.kind == "sql":
        return [_sql_plan(spec, entry, limits)]
    if spec.kind == "redis_info":
        return [_redis_plan(spec, entry)]
    if spec.kind == "tls_peer":
        return [_tls_plan(entry, target)]
    raise _NotApplicable(f"unknown kind {spec.kind}")  # parse_diagnostics refuses these first


def _sql_plan(spec: Diagnostic, entry: Any, limits: Limits) -> _Plan:
    if not all(hasattr(entry, a) for a in ("dbname", "user", "host", "port")):
        raise _NotApplicable("the entry is not a [[postgres]] entry")
    query = str(spec.params["query"])
    rows = int(spec.params.get("rows", 20))

    def run(seconds: float) -> tuple[str, str]:
        import psycopg

        password = entry.password_env.value if getattr(entry, "password_env", None) else None
        ms = int(seconds * 1000)
        with psycopg.connect(
            host=entry.host,
            port=entry.port,
            dbname=entry.dbname,
            user=entry.user,
            password=password,
            sslmode=getattr(entry, "sslmode", "prefer"),
            connect_timeout=max(2, math.ceil(seconds)),
            # Read-only by the server's rule, not ours: any write in the query fails.
            options=f"-c statement_timeout={ms} -c default_transaction_read_only=on",
            application_name="infragate-diagnostics",
            autocommit=True,
        ) as conn:
            cur = conn.execute(query)
            names = [d.name for d in cur.description or ()]
            found = cur.fetchmany(rows + 1)
        table = [names] + [
            ["" if v is None else " ".join(str(v).split()) for v in row] for row in found[:rows]
        ]
        widths = [min(60, max(len(r[i]) for r in table)) for i in range(len(names))]
        text = "\n".join(
            "  ".join(c[:60].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
        )
        note = f"first {rows} rows" if len(found) > rows else ""
        return (text if found else f"{' | '.join(names)}\n(no rows)"), note

    flat = " ".join(query.split())
    return _Plan(f"psql {entry.name}: {flat}", ("sql", entry.host, entry.port, entry.dbname, flat), run)


def _redis_plan(spec: Diagnostic, entry: Any) -> _Plan:
    if not all(hasattr(entry, a) for a in ("host", "port", "db")) or hasattr(entry, "dbname"):
        raise _NotApplicable("the entry is not a [[redis]] entry")
    section = str(spec.params["section"])

    def run(seconds: float) -> tuple[str, str]:
        import redis as redislib
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redislib.Redis(
            host=entry.host,
            port=entry.port,
            db=entry.db,
            username=getattr(entry, "username", None),
            password=entry.password_env.value if getattr(entry, "password_env", None) else None,
            ssl=bool(getattr(entry, "tls", False)),
            socket_connect_timeout=seconds,
            socket_timeout=seconds,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            info = client.info(section)
        finally:
            client.close()
        return "\n".join(f"{k}:{v}" for k, v in info.items()) or f"(INFO {section} is empty)", ""

    return _Plan(
        f"redis-cli -h {entry.host} -p {entry.port} INFO {section}",
        ("redis", entry.host, entry.port, section),
        run,
    )


def _tls_plan(entry: Any, target: Any) -> _Plan:
    host, port = _lookup(entry, "host"), int(_lookup(entry, "port"))
    server_name = getattr(entry, "server_name", None) or host

    def run(seconds: float) -> tuple[str, str]:
        from cryptography import x509

        # Verification off on purpose: the diagnostic shows what is served, above all when it is wrong.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection((host, port), timeout=seconds) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            der, version, cipher = tls.getpeercert(binary_form=True), tls.version(), tls.cipher()
        if not der:
            return "the server sent no certificate", ""
        cert = x509.load_der_x509_certificate(der)
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = ", ".join(str(n.value) for n in sans)
        except x509.ExtensionNotFound:
            names = "(none)"
        return "\n".join(
            [
                f"protocol: {version}, cipher: {cipher[0] if cipher else '?'}",
                f"subject: {cert.subject.rfc4514_string()}",
                f"issuer: {cert.issuer.rfc4514_string()}",
                f"not before: {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                f"not after: {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
                f"subject alternative names: {names}",
            ]
        ), ""

    return _Plan(
        f"TLS handshake with {host}:{port} (SNI {server_name}), verification off: the served certificate",
        ("tls", host, port, server_name),
        run,
    )


# ------------------------------------------------------------------------------------------ a run


@dataclass
class Session:
    """Diagnostics of one run: the secrets to redact, the run's time budget, outputs already taken.

    The same command for two failing tests runs once: the second test gets the first one's output (an
    unreachable service fails ten checks; its log tail is read once). A dead address costs at most one
    deadline, not one per diagnostic: network kinds (sql, redis_info, tls_peer) are not attempted at an
    address ``hung`` names (the run's fail-fast memory: connect timeout or accepted-and-silent), nor at one
    where an earlier network diagnostic of this session ran out of time without an answer.
    """

    secrets: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    spent_s: float = 0.0
    # (host, port) -> why the run already knows that address hangs, else None.
    hung: Callable[[str, int], str | None] | None = None
    _done: dict[tuple[Any, ...], tuple[Output, str]] = field(default_factory=dict)
    # host name -> why its transport hung: one dead ssh link costs one deadline, not one per command,
    # and never stops the diagnostics of the fleet's other hosts.
    _host_hung: dict[str, str] = field(default_factory=dict)
    _net_hung: dict[tuple[str, int], str] = field(default_factory=dict)

    def collect(
        self,
        specs: Sequence[Diagnostic],
        entry: Any,
        target: Any,
        runner: Callable[[], Runner],
        *,
        who: str = "",
        host: str = "",
    ) -> list[Output]:
        """Run ``specs`` for a failing check's ``entry`` on ``host`` (its name, for host-side kinds: the
        same command on two hosts of a fleet is two outputs); never raises (a failing one says why)."""
        outputs: list[Output] = []
        test_left = self.limits.test_s
        for spec in specs:
            try:
                plans = _plan(spec, entry, target, runner, self.limits)
            except _NotApplicable as why:
                outputs.append(Output(spec.kind, "", f"not run: {why}"))
                continue
            except Exception as exc:  # an inventory shape this kind did not expect: say so, go on
                outputs.append(Output(spec.kind, "", f"not run: {type(exc).__name__}: {exc}"[:300]))
                continue
            for plan in plans:
                on_host = plan.key[0] in _HOST_KINDS
                key = (host, *plan.key) if on_host else plan.key
                if key in self._done:
                    first, first_who = self._done[key]
                    note = "; ".join(x for x in (first.note, f"output taken for {first_who}") if x)
                    outputs.append(Output(first.title, first.text, note, 0.0))
                    continue
                budget = min(self.limits.each_s, test_left, self.limits.run_s - self.spent_s)
                if budget < 0.5:
                    outputs.append(Output(plan.title, "", "not run: the diagnostics time budget is spent"))
                    continue
                if on_host and host in self._host_hung:
                    # A dead ssh link costs one deadline, not one per command (the facts' fail-fast rule).
                    outputs.append(
                        Output(plan.title, "", f"not run: the host transport hung ({self._host_hung[host]})")
                    )
                    continue
                # Network kinds' keys are (kind, host, port, ...): the address they connect to.
                address = None if on_host else (str(plan.key[1]), int(plan.key[2]))
                hung = self._address_hung(address)
                if hung is not None:
                    outputs.append(Output(redact_output(plan.title, self.secrets), "", f"not run: {hung}"))
                    continue
                out = self._run(plan, budget)
                if on_host and out.note.startswith("timed out") and not out.text:
                    self._host_hung[host] = f"{plan.title}: {out.note}"
                if address is not None and not out.text and _waited(out.note):
                    self._net_hung[address] = f"{out.title}: {out.note}"
                test_left -= out.seconds
                self.spent_s += out.seconds
                self._done[key] = (out, who)
                outputs.append(out)
        return outputs

    def _address_hung(self, address: tuple[str, int] | None) -> str | None:
        """Why a network diagnostic at ``address`` would only wait (None: try it)."""
        if address is None:
            return None
        seen = self._net_hung.get(address)
        if seen is not None:
            return f"{address[0]}:{address[1]} did not answer an earlier diagnostic ({seen})"
        return self.hung(*address) if self.hung is not None else None

    def _run(self, plan: _Plan, seconds: float) -> Output:
        start = time.monotonic()

        def work(_attempt: Any) -> tuple[str, str]:
            return plan.run(seconds)

        def expired(_attempt: Any) -> tuple[str, str]:
            return "", f"timed out after {seconds:g} s"

        try:
            text, note = run_within(seconds, work, expired=expired, name="diagnostic")
        except Exception as exc:  # a diagnostic's failure is itself information, never a crash
            text, note = "", f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        text = redact_output(text.replace("\r", ""), self.secrets)
        note = redact_output(note, self.secrets)
        text, cut = _bound(text, self.limits, keep_end=plan.keep_end)
        return Output(
            redact_output(plan.title, self.secrets),
            text,
            "; ".join(x for x in (note, cut) if x),
            time.monotonic() - start,
        )


# A network diagnostic's note when it waited for an answer that never came: our deadline, or the client's
# own connect/read timeout (psycopg "connection timeout expired", redis "Timeout connecting", socket
# "timed out"). A refusal is not a wait: such an address is tried again (it answers at once).
_WAITED = re.compile(r"(?i)timed? ?out")


def _waited(note: str) -> bool:
    return bool(_WAITED.search(note))


def render(outputs: Sequence[Output], heading: str) -> str:
    """The text attached to a failing test: a heading, then each command, its note and its output."""
    parts = [f"{heading} (read-only diagnostics, secrets redacted)"]
    for out in outputs:
        parts.append(f"$ {out.title}" + (f"  [{out.note}]" if out.note else ""))
        parts.append(out.text or "(no output)")
    return "\n".join(parts) + "\n"
