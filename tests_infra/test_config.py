"""Configuration as deployed: .env complete, settings in range, files parse, DEBUG off, nginx valid.

Runbooks 000/002/004: ``cp .env.example .env``, ``tomllib.load(settings)``, ``nginx -t``, the WebSocket
location of runbook 000 read back from ``nginx -T``.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("CONFIG-ENV-PRESENT")
def test_env_file_sets_every_example_key(env_file, facts, explain):
    state = facts.env_file(env_file)
    assert state.error is None, explain(
        expected=f"{env_file.path} and {env_file.example} readable", seen=state.error
    )
    assert not state.unset, explain(
        expected=f"every key of {env_file.example.name} set in {env_file.path.name}",
        seen=f"missing or empty: {', '.join(state.unset)}",
    )


@pytest.mark.check("CONFIG-REQUIRED-SETTINGS")
def test_settings_present_and_in_range(settings_source, facts, explain):
    found = facts.settings_check(settings_source)
    assert found.error is None, explain(expected=f"{settings_source.path} readable", seen=found.error)
    assert not found.problems, explain(
        expected=f"required settings present and within range in {settings_source.path.name}",
        seen="; ".join(found.problems),
    )


@pytest.mark.check("CONFIG-SYNTAX")
def test_config_file_parses(config_file, facts, explain):
    parsed = facts.config_syntax(config_file)
    assert parsed.ok, explain(
        expected=f"{config_file.path} to parse as {config_file.format.upper()}",
        seen=f"syntax error: {parsed.detail}",
    )


@pytest.mark.check("CONFIG-DEBUG-OFF")
def test_debug_off(settings_source, facts, explain):
    debug = facts.debug_settings(settings_source)
    assert debug.error is None, explain(expected=f"{settings_source.path} readable", seen=debug.error)
    assert not debug.on, explain(
        expected=f"debug off and log level above DEBUG in {settings_source.path.name}",
        seen=f"debug enabled: {', '.join(debug.on)}",
    )


@pytest.mark.check("CONFIG-NGINX-VALID")
def test_nginx_config_valid(proxy, facts, explain):
    result = facts.nginx_config_test(proxy)
    assert result.ok, explain(
        expected=f"nginx -t to accept {proxy.nginx_conf}", seen=f"nginx -t failed: {result.output}"
    )


@pytest.mark.check("CONFIG-PROXY-WS")
def test_proxy_ws_location_upgrades(ws_location, facts, threshold, explain):
    proxy, loc = ws_location
    found = facts.proxy_ws_location(proxy, loc, threshold("min_read_timeout_s", loc))
    assert found.found, explain(
        expected=f"location {loc.location} in nginx -T", seen=found.error, entry=proxy
    )
    assert not found.missing, explain(
        expected=f"location {loc.location} to proxy WebSocket upgrades (runbook 000's directives)",
        seen=f"missing: {'; '.join(found.missing)}",
        entry=proxy,
    )
