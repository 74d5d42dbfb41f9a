"""The command each diagnostic kind runs: placeholders filled from the inventory entry, the read-only
command line built here (as arguments, never shell text), run on the target's ``[host]`` transport or
against the entry's address (a SELECT, ``INFO``, a TLS handshake). Split from ``diagnostics.py`` (the run's
session: budgets, reuse, redaction), which calls ``plans_for`` for each diagnostic.
"""

from __future__ import annotations

import math
import re
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from infragate.diagnostic_kinds import HOST_KINDS, PLACEHOLDER, Diagnostic, Limits, Runner

__all__ = ["NotApplicable", "Plan", "fill", "plans_for"]


# ------------------------------------------------------------------------------------------ placeholders


class NotApplicable(Exception):
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
            raise NotApplicable(f"the entry has no {dotted.strip('.')}")
    return value


def fill(template: str, entry: Any) -> str:
    """``template`` with each ``{entry.<field>}`` replaced by the entry's value (one line, no leading -)."""

    def one(match: re.Match[str]) -> str:
        value = _lookup(entry, match.group(1))
        text = str(value)
        if "\n" in text or "\0" in text:
            raise NotApplicable(f"entry.{match.group(1).strip('.')} spans lines")
        return text

    text = PLACEHOLDER.sub(one, template)
    if text.startswith("-"):
        # Never an option: every value is passed as an argument, but `tail -n 5 -x` would still parse -x.
        raise NotApplicable(f"{text!r} starts with '-'")
    return text


# ------------------------------------------------------------------------------------------ the kinds

# One fixed script: the command's arguments follow as "$@", each quoted by the transport. The output is
# cut on the host; the exit status follows on a line of its own (lost only when the output was cut).
_SCRIPT = '{ "$@" 2>&1; rc=$?; echo; echo "infragate-rc=$rc"; } | head -c %d'
_RC = re.compile(r"\n?\n?infragate-rc=(\d+)\s*\Z")


@dataclass
class Plan:
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


def plans_for(
    spec: Diagnostic, entry: Any, target: Any, runner: Callable[[], Runner], limits: Limits
) -> list[Plan]:
    p = spec.params
    host = getattr(target, "host", None)
    if spec.kind in HOST_KINDS and host is None:
        raise NotApplicable("the target declares no [host] transport")

    def host_plan(
        title: str, argv: list[str], *, keep_end: bool = False, post: Callable[[str], str] | None = None
    ) -> Plan:
        def run(seconds: float) -> tuple[str, str]:
            text, note = _host_call(runner(), argv, seconds, limits)
            return (post(text) if post else text), note

        return Plan(title, (spec.kind, *argv), run, keep_end)

    lines = str(p.get("lines", 50))
    if spec.kind == "log_tail":
        if p["path"] == "declared":
            paths = [str(log.path) for log in (host.logs if host else ())][:4]
            if not paths:
                raise NotApplicable("the target declares no [[host.logs]]")
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
            raise NotApplicable("the target declares no nginx [proxy]")
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
            raise NotApplicable(f"pattern is not a regex: {exc}") from None

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
    raise NotApplicable(f"unknown kind {spec.kind}")  # parse_diagnostics refuses these first


def _sql_plan(spec: Diagnostic, entry: Any, limits: Limits) -> Plan:
    if not all(hasattr(entry, a) for a in ("dbname", "user", "host", "port")):
        raise NotApplicable("the entry is not a [[postgres]] entry")
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
    return Plan(f"psql {entry.name}: {flat}", ("sql", entry.host, entry.port, entry.dbname, flat), run)


def _redis_plan(spec: Diagnostic, entry: Any) -> Plan:
    if not all(hasattr(entry, a) for a in ("host", "port", "db")) or hasattr(entry, "dbname"):
        raise NotApplicable("the entry is not a [[redis]] entry")
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

    return Plan(
        f"redis-cli -h {entry.host} -p {entry.port} INFO {section}",
        ("redis", entry.host, entry.port, section),
        run,
    )


def _tls_plan(entry: Any, target: Any) -> Plan:
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

    return Plan(
        f"TLS handshake with {host}:{port} (SNI {server_name}), verification off: the served certificate",
        ("tls", host, port, server_name),
        run,
    )
