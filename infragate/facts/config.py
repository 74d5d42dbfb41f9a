"""Configuration facts read on the machine: .env against .env.example, settings (required, ranges,
debug), config files that must parse, and nginx's own view of its configuration (``nginx -t``/``-T``).

Files are read through ``[host] transport``; their text is parsed in ``infragate.probes.config`` and
``infragate.probes.nginx``. Values of settings are never part of a fact except a range check's offender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact, host_side
from infragate.probes import config, nginx
from infragate.probes.host import read_file

if TYPE_CHECKING:
    from collections.abc import Mapping

    from infragate.inventory import ConfigFile, EnvFile, Proxy, SettingsSource, WsLocation
    from infragate.probes.config import ConfigParse, DebugState, EnvFileState, SettingsCheck
    from infragate.probes.nginx import ConfigTest, NginxConfig, WsLocationCheck


@dataclass(frozen=True)
class SettingsDocument:
    """A settings source read on the host and parsed, or why it could not be."""

    data: Mapping[str, Any] | None
    error: str | None = None


@fact(endpoint=host_side)
def env_file(ctx: Context, env: EnvFile) -> EnvFileState:
    """Keys of the .env.example left unset or empty in the .env (key names only, never values)."""
    example, why = read_file(ctx.machine(), str(env.example))
    if example is None:
        return config.EnvFileState((), f"{env.example} unreadable: {why}")
    actual, why = read_file(ctx.machine(), str(env.path))
    if actual is None:
        return config.EnvFileState((), f"{env.path} missing: {why}")
    return config.env_file_state(actual, example)


@fact(endpoint=host_side)
def settings_document(ctx: Context, source: SettingsSource) -> SettingsDocument:
    """A declared settings source, read on the host and parsed (shared by the settings facts)."""
    text, why = read_file(ctx.machine(), str(source.path))
    if text is None:
        return SettingsDocument(None, f"unreadable: {why}")
    try:
        return SettingsDocument(config.parse_config(text, source.format))
    except ValueError as exc:
        return SettingsDocument(None, f"does not parse: {exc}")


@fact(endpoint=host_side)
def settings_check(ctx: Context, source: SettingsSource) -> SettingsCheck:
    """Required settings missing and range settings whose typed value is outside its bounds."""
    doc: SettingsDocument = ctx.get("settings_document", source)
    if doc.data is None:
        return config.SettingsCheck(error=doc.error)
    return config.settings_check(doc.data, source.required, source.ranges)


@fact(endpoint=host_side)
def debug_settings(ctx: Context, source: SettingsSource) -> DebugState:
    """Debug switches on, log levels at DEBUG, or no switch at all where the framework's default is on."""
    doc: SettingsDocument = ctx.get("settings_document", source)
    if doc.data is None:
        return config.DebugState(error=doc.error)
    return config.debug_state(doc.data, source.debug_keys, default_on=source.debug_default == "on")


@fact(endpoint=host_side)
def config_syntax(ctx: Context, file: ConfigFile) -> ConfigParse:
    """A declared config file parsed in its format; then its check command run on the host, if any."""
    text, why = read_file(ctx.machine(), str(file.path))
    if text is None:
        return config.ConfigParse(False, f"unreadable: {why}")
    try:
        config.parse_config(text, file.format)
    except ValueError as exc:
        return config.ConfigParse(False, str(exc))
    if file.check_command:
        argv = file.check_command
        out = ctx.machine().run(" ".join(["%s"] * len(argv)), *argv)
        if out.rc != 0:
            said = " ".join((out.stderr + out.stdout).split())[-300:]
            return config.ConfigParse(False, f"{' '.join(argv)} exited {out.rc}: {said}")
    return config.ConfigParse(True, "parses")


def _prefix(proxy: Proxy) -> str | None:
    return str(proxy.nginx_prefix) if proxy.nginx_prefix is not None else None


@fact(endpoint=host_side)
def nginx_config_test(ctx: Context, proxy: Proxy) -> ConfigTest:
    """``nginx -t`` on the proxy's configuration."""
    return nginx.config_test(ctx.machine(), proxy.nginx_binary, str(proxy.nginx_conf), _prefix(proxy))


@fact(endpoint=host_side)
def nginx_config(ctx: Context, proxy: Proxy) -> NginxConfig:
    """The configuration nginx loads (``nginx -T``), parsed by crossplane with its includes expanded."""
    return nginx.dump(ctx.machine(), proxy.nginx_binary, str(proxy.nginx_conf), _prefix(proxy))


@fact(endpoint=host_side)
def proxy_ws_location(
    ctx: Context, proxy: Proxy, location: WsLocation, min_read_timeout_s: float
) -> WsLocationCheck:
    """Runbook 000's WebSocket directives missing from a location of the effective configuration."""
    found = nginx.location(ctx.get("nginx_config", proxy), location.location)
    return nginx.ws_location_check(found, min_read_timeout_s)
