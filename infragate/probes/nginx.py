"""nginx on a host: ``nginx -t`` (does the configuration load?) and ``nginx -T`` (the effective directives).

``nginx -T`` prints every configuration file nginx read, each after a ``# configuration file PATH:`` line.
Each file is parsed with crossplane (NGINX's own parser: quotes, escapes, comments, nested blocks) and the
``include`` directives are then replaced by the parsed files they name, so the tree is the one nginx
loaded. Why per file and not ``crossplane.parse(main)`` on a copy: crossplane follows ``include`` by
globbing the local file system, so an absolute include (``/etc/nginx/conf.d/*.conf``) would read this
machine's files, not the checked host's; ``single=True`` keeps each file to itself and the dump already
holds every included file. Run through a testinfra-like backend; nothing here asserts.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import crossplane

from infragate.probes.host import Runner

__all__ = [
    "ConfigTest",
    "Location",
    "NginxConfig",
    "WsLocationCheck",
    "config_test",
    "dump",
    "parse_dump",
    "parse_duration_s",
    "ws_location_check",
]

Directive = dict[str, Any]  # crossplane's shape: {"directive", "args", "line", "block"?}


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
class NginxConfig:
    """The configuration nginx loaded, includes expanded (crossplane's directive dicts), or why not."""

    tree: list[Directive] = field(default_factory=list)
    files: tuple[str, ...] = ()
    error: str | None = None

    def locations(self, match: str) -> Iterator[tuple[list[list[Directive]], Directive]]:
        """Every ``location ... <match>`` block, with the directive lists enclosing it (outermost first)."""
        yield from _find(self.tree, match, [self.tree])


def _find(
    block: list[Directive], match: str, levels: list[list[Directive]]
) -> Iterator[tuple[list[list[Directive]], Directive]]:
    for d in block:
        inner = d.get("block")
        if inner is None:
            continue
        if d["directive"] == "location" and d["args"] and d["args"][-1] == match:
            yield levels, d
        if d["directive"] in ("http", "server", "location"):
            yield from _find(inner, match, [*levels, inner])


_FILE_LINE = re.compile(r"^# configuration file (.+):$", re.MULTILINE)


def _parse_one(text: str, workdir: Path, index: int) -> tuple[list[Directive], str | None]:
    path = workdir / f"{index}.conf"
    path.write_text(text)
    # check_ctx/check_args off: a third-party module's directive is not an error of ours (nginx -T
    # already accepted the configuration).
    payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False)
    config = payload["config"][0] if payload["config"] else {"parsed": [], "errors": []}
    errors = config.get("errors") or payload.get("errors") or []
    if not errors:
        return config.get("parsed", []), None
    # crossplane names our temporary copy ("... in /tmp/x/0.conf:2"): the caller names the real file.
    message = re.sub(r" in \S+:\d+$", "", str(errors[0].get("error", "")))
    return [], f"line {errors[0].get('line', '?')}: {message}"


def _expand(
    block: list[Directive], files: dict[str, list[Directive]], conf_dir: str, active: tuple[str, ...]
) -> list[Directive]:
    out: list[Directive] = []
    for d in block:
        if d["directive"] == "include" and d["args"]:
            pattern = posixpath.join(conf_dir, d["args"][0])  # relative: to the main file's directory
            for name in sorted(files):  # glob(3) order, as nginx includes them
                if name not in active and (name == pattern or PurePosixPath(name).match(pattern)):
                    out.extend(_expand(files[name], files, conf_dir, (*active, name)))
        elif "block" in d:
            out.append({**d, "block": _expand(d["block"], files, conf_dir, active)})
        else:
            out.append(d)
    return out


def parse_dump(text: str) -> NginxConfig:
    """The output of ``nginx -T`` as one tree (the first file is the main one, includes expanded)."""
    parts = _FILE_LINE.split(text)
    names, bodies = parts[1::2], parts[2::2]
    if not names:
        return NginxConfig(error="no '# configuration file' section in the nginx -T output")
    parsed: dict[str, list[Directive]] = {}
    with tempfile.TemporaryDirectory(prefix="infragate-nginx-") as tmp:
        for index, (name, body) in enumerate(zip(names, bodies, strict=True)):
            tree, error = _parse_one(body.removeprefix("\n"), Path(tmp), index)
            if error is not None:
                return NginxConfig(files=tuple(names), error=f"{name}: {error}")
            parsed[name] = tree
    main = names[0]
    tree = _expand(parsed[main], parsed, posixpath.dirname(main), (main,))
    return NginxConfig(tree, tuple(names))


def dump(host: Runner, binary: str, conf: str, prefix: str | None = None) -> NginxConfig:
    """``nginx [-p PREFIX] -c CONF -T``, parsed."""
    command, args = _argv(binary, conf, prefix)
    out = host.run(command + " -T", *args)
    if out.rc != 0:
        return NginxConfig(error=" ".join(out.stderr.split())[-400:] or f"nginx -T exited {out.rc}")
    return parse_dump(out.stdout)


@dataclass(frozen=True)
class Location:
    """The directives in effect in one ``location`` block: name -> the argument lists of each occurrence.

    nginx inherits a directive from the enclosing ``server`` and ``http`` levels unless the location sets
    it; for array directives (``proxy_set_header``) one occurrence in the location replaces all inherited
    ones. Both follow from "the innermost level that sets the name wins".
    """

    found: bool
    directives: dict[str, list[tuple[str, ...]]]
    error: str | None = None

    def values(self, name: str) -> list[str]:
        """Every occurrence of directive ``name`` as one string of its arguments."""
        return [" ".join(args) for args in self.directives.get(name, [])]


def location(config: NginxConfig, match: str) -> Location:
    """The effective directives of the first ``location <match>`` block of a parsed configuration."""
    if config.error is not None:
        return Location(False, {}, config.error)
    found = next(config.locations(match), None)
    if found is None:
        return Location(False, {}, f"no 'location {match}' block in nginx -T ({len(config.files)} files)")
    levels, block = found
    effective: dict[str, list[tuple[str, ...]]] = {}
    for level in [*levels[1:], block["block"]]:  # http, server(s), the location: outermost first
        own: dict[str, list[tuple[str, ...]]] = {}
        for d in level:
            if "block" not in d:
                own.setdefault(d["directive"], []).append(tuple(d["args"]))
        effective.update(own)
    return Location(True, effective)


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_s(value: str) -> float | None:
    """An nginx time (``3600s``, ``1h``, ``60``) in seconds; None if unreadable."""
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d)?", value.strip()):
        total += int(number) * _UNITS[unit or "s"]
    return total if re.fullmatch(r"(\d+(ms|s|m|h|d)?)+", value.strip()) else None


@dataclass(frozen=True)
class WsLocationCheck:
    """Runbook 000's WebSocket directives missing from a location (found False: no such location)."""

    found: bool
    missing: tuple[str, ...] = ()
    error: str | None = None


NGINX_DEFAULT_READ_TIMEOUT_S = 60.0


def ws_location_check(loc: Location, min_read_timeout_s: float) -> WsLocationCheck:
    """What a WebSocket location lacks: HTTP/1.1, Upgrade and Connection forwarded, no buffering, and a
    read timeout of at least ``min_read_timeout_s`` (nginx's default is 60 s)."""
    if not loc.found:
        return WsLocationCheck(False, (), loc.error)
    headers = {h.lower(): v for h, _, v in (s.partition(" ") for s in loc.values("proxy_set_header"))}
    timeouts = [parse_duration_s(v) for v in loc.values("proxy_read_timeout")]
    read_timeout = timeouts[-1] if timeouts else NGINX_DEFAULT_READ_TIMEOUT_S
    missing = []
    if "1.1" not in loc.values("proxy_http_version"):
        missing.append("proxy_http_version 1.1")
    if "$http_upgrade" not in headers.get("upgrade", ""):
        missing.append("proxy_set_header Upgrade $http_upgrade")
    if "upgrade" not in headers.get("connection", "").lower():
        missing.append('proxy_set_header Connection "upgrade"')
    if "off" not in loc.values("proxy_buffering"):
        missing.append("proxy_buffering off")
    if read_timeout is None or read_timeout < min_read_timeout_s:
        shown = "unreadable" if read_timeout is None else f"{read_timeout:g}s"
        missing.append(f"proxy_read_timeout >= {min_read_timeout_s:g}s (is {shown})")
    return WsLocationCheck(True, tuple(missing))
