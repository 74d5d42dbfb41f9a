"""Configuration as deployed: .env complete, settings in range, files parse, DEBUG off, nginx valid.

Runbooks 000/002/004: ``cp .env.example .env``, ``tomllib.load(settings)``, ``nginx -t``, the WebSocket
location of runbook 000 read back from ``nginx -T``.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from infragate.probes.host import lookup
from infragate.probes.nginx import parse_duration_s

TRUE_WORDS = {"1", "true", "yes", "on"}


@pytest.mark.check("CONFIG-ENV-PRESENT")
def test_env_file_sets_every_example_key(env_file, env_file_state, explain):
    assert env_file_state.error is None, explain(
        expected=f"{env_file.path} and {env_file.example} readable", seen=env_file_state.error
    )
    assert not env_file_state.unset, explain(
        expected=f"every key of {env_file.example.name} set in {env_file.path.name}",
        seen=f"missing or empty: {', '.join(env_file_state.unset)}",
    )


@pytest.mark.check("CONFIG-REQUIRED-SETTINGS")
def test_settings_present_and_in_range(settings_source, settings_document, explain):
    doc = settings_document
    assert doc.data is not None, explain(expected=f"{settings_source.path} readable", seen=doc.error)
    problems = []
    for key in settings_source.required:
        if not lookup(doc.data, key)[0]:
            problems.append(f"{key} missing")
    for key, bounds in settings_source.ranges.items():
        found, value = lookup(doc.data, key)
        low, high = bounds
        if not found:
            problems.append(f"{key} missing")
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"{key} = {value!r} out of range [{low}, {high}]")
    assert not problems, explain(
        expected=f"required settings present and within range in {settings_source.path.name}",
        seen="; ".join(dict.fromkeys(problems)),
    )


@pytest.mark.check("CONFIG-SYNTAX")
def test_config_file_parses(config_file, config_parse, explain):
    assert config_parse.ok, explain(
        expected=f"{config_file.path} to parse as {config_file.format.upper()}",
        seen=f"syntax error: {config_parse.detail}",
    )


@pytest.mark.check("CONFIG-DEBUG-OFF")
def test_debug_off(settings_source, settings_document, explain):
    doc = settings_document
    assert doc.data is not None, explain(expected=f"{settings_source.path} readable", seen=doc.error)
    on = []
    for key in settings_source.debug_keys:
        found, value = lookup(doc.data, key)
        text = str(value).strip().lower()
        is_level = "level" in key.lower()
        if found and ((is_level and text == "debug") or (not is_level and text in TRUE_WORDS)):
            on.append(f"{key} = {value!r}")
    assert not on, explain(
        expected=f"debug off and log level above DEBUG in {settings_source.path.name}",
        seen=f"debug enabled: {', '.join(on)}",
    )


@pytest.mark.check("CONFIG-NGINX-VALID")
def test_nginx_config_valid(proxy, nginx_config_test, explain):
    assert nginx_config_test.ok, explain(
        expected=f"nginx -t to accept {proxy.nginx_conf}", seen=f"nginx -t failed: {nginx_config_test.output}"
    )


@pytest.mark.check("CONFIG-PROXY-WS")
def test_proxy_ws_location_upgrades(ws_location, nginx_ws_location, threshold, explain):
    proxy, loc = ws_location
    found = nginx_ws_location
    assert found.found, explain(
        expected=f"location {loc.location} in nginx -T", seen=found.error, entry=proxy
    )
    headers = {h.lower(): v for h, _, v in (s.partition(" ") for s in found.values("proxy_set_header"))}
    minimum = threshold("min_read_timeout_s", loc)
    read_timeouts = [parse_duration_s(v) for v in found.values("proxy_read_timeout")]
    read_timeout = read_timeouts[-1] if read_timeouts else 60.0  # nginx's default
    missing = []
    if "1.1" not in found.values("proxy_http_version"):
        missing.append("proxy_http_version 1.1")
    if "$http_upgrade" not in headers.get("upgrade", ""):
        missing.append("proxy_set_header Upgrade $http_upgrade")
    if "upgrade" not in headers.get("connection", "").lower():
        missing.append('proxy_set_header Connection "upgrade"')
    if "off" not in found.values("proxy_buffering"):
        missing.append("proxy_buffering off")
    if read_timeout is None or read_timeout < minimum:
        missing.append(f"proxy_read_timeout >= {minimum:g}s (is {read_timeout})")
    assert not missing, explain(
        expected=f"location {loc.location} to proxy WebSocket upgrades (runbook 000's directives)",
        seen=f"missing: {'; '.join(missing)}",
        entry=proxy,
    )
