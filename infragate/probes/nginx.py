"""nginx on a host: ``nginx -t`` (does the configuration load?) and ``nginx -T`` (the effective directives).

Run through a testinfra-like backend (see ``infragate.probes.host``); nothing here asserts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infragate.probes.host import Runner

__all__ = ["ConfigTest", "Location", "config_test", "location", "parse_duration_s"]


@dataclass(frozen=True)
class ConfigTest:
    """Outcome of ``nginx -t``: ok, and nginx's own words (it names the file and line)."""

    ok: bool
    output: str


def _argv(binary: str, conf: str, prefix: str | None) -> tuple[str, list[str]]:
    command, args = "%s", [binary]
    if prefix is not None:
        command += " -p %s"
        args.append(prefix.rstrip("/") + "/")
    command += " -c %s"
    args.append(conf)
    return command, args


def config_test(host: Runner, binary: str, conf: str, prefix: str | None = None) -> ConfigTest:
    """``nginx [-p PREFIX] -c CONF -t``."""
    command, args = _argv(binary, conf, prefix)
    out = host.run(command + " -t", *args)
    text = " ".join((out.stderr + out.stdout).split())
    return ConfigTest(out.rc == 0, text[-600:])


@dataclass(frozen=True)
class Location:
    """The directives of one ``location`` block of ``nginx -T`` (name -> list of argument strings)."""

    found: bool
    directives: dict[str, list[str]]
    error: str | None = None

    def values(self, name: str) -> list[str]:
        """Every argument string of directive ``name`` (several for repeated directives)."""
        return self.directives.get(name, [])


def _blocks(text: str, match: str) -> list[str]:
    """Bodies of every ``location <match> {`` block (nested braces respected)."""
    bodies = []
    head = re.compile(r"^\s*location\s+(?:=\s*|\^~\s*)?" + re.escape(match) + r"\s*\{", re.MULTILINE)
    for found in head.finditer(text):
        depth, i = 1, found.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        bodies.append(text[found.end() : i - 1])
    return bodies


def location(host: Runner, binary: str, conf: str, match: str, prefix: str | None = None) -> Location:
    """The directives of ``location <match>`` in the effective configuration (``nginx -T``)."""
    command, args = _argv(binary, conf, prefix)
    out = host.run(command + " -T", *args)
    if out.rc != 0:
        return Location(False, {}, error=" ".join(out.stderr.split())[-400:])
    bodies = _blocks(out.stdout, match)
    if not bodies:
        return Location(False, {}, error=f"no 'location {match}' block in nginx -T")
    directives: dict[str, list[str]] = {}
    # Only the block's own statements: nested blocks (if, limit_except) are dropped.
    flat = re.sub(r"\{[^{}]*\}", ";", bodies[0])
    for statement in flat.split(";"):
        words = statement.split("#", 1)[0].split(None, 1)
        if words:
            directives.setdefault(words[0], []).append(words[1].strip() if len(words) > 1 else "")
    return Location(True, directives)


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_s(value: str) -> float | None:
    """An nginx time (``3600s``, ``1h``, ``60``) in seconds; None if unreadable."""
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d)?", value.strip()):
        total += int(number) * _UNITS[unit or "s"]
    return total if re.fullmatch(r"(\d+(ms|s|m|h|d)?)+", value.strip()) else None
