"""Every bad input a new user can type is one line naming the file or option, the key and the rule; exit 4.

Each case is a real `pytest tests_infra --collect-only` in a subprocess against an inventory written here:
the plugin loads the target in pytest_configure, so a bad one stops the run before any test is collected,
and nothing here needs a live target.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = "[[redis]]\nname = 'cache'\nhost = '127.0.0.1'\nport = 6379\n"
PG = "[[postgres]]\nname = 'appdb'\nhost = '127.0.0.1'\ndbname = 'app'\nuser = 'app'\n"
PASTED = "s3cr3t-pasted-value"


@dataclass(frozen=True)
class Bad:
    """One bad input: inventory content (text or bytes), extra arguments, environment, what the line names."""

    id: str
    inventory: str | bytes
    names: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def _http(**keys: str) -> str:
    body = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return f"[[http.endpoints]]\nname = 'e'\nurl = 'http://127.0.0.1:8080/health'\n{body}"


def _nested(levels: int) -> str:
    return (
        "[[http.endpoints]]\nname = 'e'\nurl = 'http://h/'\njson_asserts = [{ path = 'a', equals = "
        + ("[" * levels + "]" * levels)
        + " }]\n"
    )


INVENTORIES = [
    # the file itself
    Bad("binary-file", bytes(range(256)) * 8, "not UTF-8 text"),
    Bad("latin-1-file", "[target]\ndescription = 'café'\n".encode("latin-1") + GOOD.encode(), "not UTF-8"),
    Bad("utf-16-file", ("[target]\ndescription = 'x'\n" + GOOD).encode("utf-16"), "UTF-16"),
    Bad("utf-8-bom", b"\xef\xbb\xbf" + GOOD.encode(), "byte-order mark"),
    Bad("nul-byte", GOOD.replace("cache", "ca\0che"), "not valid TOML"),
    Bad("not-toml", "not toml ===\n", "not valid TOML"),
    Bad("arrays-nested-5000-deep", "x = " + "[" * 5000 + "]" * 5000 + "\n", "nested more than"),
    Bad("arrays-nested-40-deep", _nested(40), "http.endpoints[0]: arrays or tables nested"),
    Bad("empty-file", "", "declares no component"),
    Bad("target-table-only", "[target]\ndescription = 'nothing declared'\n", "declares no component"),
    Bad("target-not-a-table", "target = 5\n" + GOOD, "target: expected a table"),
    Bad("name-in-file", "[target]\nname = 'x'\n" + GOOD, "target.name: set by the file name"),
    # numbers
    Bad(
        "connect-timeout-nan", "[target]\nconnect_timeout = nan\n" + GOOD, "connect_timeout: must be a finite"
    ),
    Bad(
        "connect-timeout-inf", "[target]\nconnect_timeout = inf\n" + GOOD, "connect_timeout: must be a finite"
    ),
    Bad("read-timeout-minus-inf", "[target]\nread_timeout = -inf\n" + GOOD, "read_timeout: must be a finite"),
    Bad(
        "command-timeout-nan", "[target]\ncommand_timeout = nan\n" + GOOD, "command_timeout: must be a finite"
    ),
    Bad(
        "command-timeout-zero",
        "[target]\ncommand_timeout = 0\n" + GOOD,
        "command_timeout: must be more than 0",
    ),
    Bad(
        "connect-timeout-zero",
        "[target]\nconnect_timeout = 0\n" + GOOD,
        "connect_timeout: must be more than 0",
    ),
    Bad(
        "read-timeout-negative", "[target]\nread_timeout = -1\n" + GOOD, "read_timeout: must be zero or more"
    ),
    Bad(
        "timeout-a-string",
        "[target]\nconnect_timeout = 'fast'\n" + GOOD,
        "connect_timeout: expected a number",
    ),
    Bad(
        "port-70000",
        GOOD.replace("6379", "70000"),
        "redis[0].port: must be a port number between 1 and 65535",
    ),
    Bad("port-minus-1", GOOD.replace("6379", "-1"), "redis[0].port: must be a port number"),
    Bad("port-zero", PG + "port = 0\n", "postgres[0].port: must be a port number"),
    Bad("port-a-string", GOOD.replace("6379", "'6379'"), "redis[0].port: expected an integer"),
    Bad(
        "port-a-float",
        "[[host.ports]]\nname = 'p'\nhost = 'h'\nport = 80.5\n",
        "host.ports[0].port: expected an integer",
    ),
    Bad("status-999", _http(expect_status="999"), "expect_status: must be an HTTP status code"),
    Bad("status-99", _http(expect_status="99"), "expect_status: must be an HTTP status code"),
    Bad(
        "negative-entry-threshold",
        "[[tls.endpoints]]\nname = 't'\nhost = 'h'\nmin_days = -5\n",
        "min_days: must be zero or more",
    ),
    Bad(
        "negative-target-threshold",
        "[thresholds.TLS-CERT-EXPIRY]\nmin_days = -1\n" + GOOD,
        "thresholds.TLS-CERT-EXPIRY.min_days: must be zero or more",
    ),
    Bad(
        "nan-target-threshold",
        "[thresholds.TLS-CERT-EXPIRY]\nmin_days = nan\n" + GOOD,
        "thresholds.TLS-CERT-EXPIRY.min_days: must be a finite",
    ),
    Bad(
        "ratio-above-1",
        GOOD + "max_memory_ratio = 1.5\n",
        "redis[0].max_memory_ratio: must be a ratio between 0 and 1",
    ),
    Bad(
        "percent-above-100",
        "[[host.disks]]\nname = 'd'\npath = '/'\nmax_used_pct = 150\n",
        "host.disks[0].max_used_pct: must be a percentage",
    ),
    Bad("samples-zero", GOOD + "latency_samples = 0\n", "redis[0].latency_samples: must be at least 1"),
    Bad(
        "process-max-below-min",
        "[[host.processes]]\nname = 'w'\npattern = 'w'\nmin = 3\nmax = 1\n",
        "host.processes[0].max: must be at least min",
    ),
    Bad(
        "metric-range-empty",
        "[[metrics.endpoints]]\nname = 'm'\nurl = 'http://h/metrics'\n"
        "ranges = [{ series = 's', min = 5, max = -5 }]\n",
        "metrics.endpoints[0].ranges[0].max: must be at least min",
    ),
    # URLs
    Bad(
        "url-without-scheme",
        _http().replace("http://127.0.0.1:8080/health", "localhost:8080/health"),
        "http.endpoints[0].url: must be a URL starting with http:// or https://",
    ),
    Bad(
        "url-bare-host",
        _http().replace("http://127.0.0.1:8080/health", "example.com"),
        "http.endpoints[0].url: must be a URL starting with",
    ),
    Bad(
        "url-port-70000",
        _http().replace("8080", "70000"),
        "http.endpoints[0].url: must be a URL whose port is a number 1..65535",
    ),
    Bad(
        "url-port-not-a-number",
        _http().replace("8080", "80a"),
        "http.endpoints[0].url: must be a URL whose port",
    ),
    Bad(
        "url-without-host",
        _http().replace("127.0.0.1", ""),
        "http.endpoints[0].url: must be a URL with a host",
    ),
    Bad(
        "url-with-space",
        _http().replace("/health", "/he alth"),
        "http.endpoints[0].url: must be a URL without spaces",
    ),
    Bad(
        "websocket-url-http",
        "[[websocket.endpoints]]\nname = 'w'\nurl = 'http://h/ws'\n",
        "websocket.endpoints[0].url: must be a URL starting with ws:// or wss://",
    ),
    Bad(
        "security-relative-url",
        "[security]\nbase_urls = ['/api']\n",
        "security.base_urls[0]: must be a URL starting with",
    ),
    Bad(
        "load-url-no-scheme",
        "[[load.http]]\nname = 'l'\ncheck = 'LOAD-HTTP-HEALTH'\nbase_url = 'h:443'\n",
        "load.http[0].base_url: must be a URL",
    ),
    # files
    Bad(
        "ca-bundle-missing",
        "[target]\nca_bundle = 'certs/missing.pem'\n" + GOOD,
        "ca_bundle: must be an existing file",
    ),
    Bad(
        "ca-bundle-a-directory",
        "[target]\nca_bundle = '.'\n" + GOOD,
        "ca_bundle: must be a file, not a directory",
    ),
    Bad(
        "entry-ca-bundle-missing",
        _http(ca_bundle="'nope.pem'"),
        "http.endpoints[0].ca_bundle: must be an existing file",
    ),
    # references, names, choices
    Bad(
        "alembic-unknown-database",
        PG + "[[migrations.alembic]]\nname = 'm'\nscripts = 'a'\ndatabase = 'other'\n",
        "migrations.alembic[0].database: must be the name of a [[postgres]] entry (appdb)",
    ),
    Bad(
        "schema-database-none-declared",
        "[[migrations.schema]]\nname = 's'\ndatabase = 'appdb'\n",
        "migrations.schema[0].database: must be the name of a [[postgres]] entry (none declared)",
    ),
    Bad(
        "transport-unknown-scheme",
        "[host]\ntransport = 'sshh://deploy@h'\n",
        "host.transport: must be a testinfra URL",
    ),
    Bad(
        "transport-no-scheme", "[host]\ntransport = 'localhost'\n", "host.transport: must be a testinfra URL"
    ),
    Bad("transport-no-host", "[host]\ntransport = 'ssh://'\n", "host.transport: must name a host"),
    Bad(
        "transport-client-missing",
        "[host]\ntransport = 'ssh://deploy@h'\n",
        "transport of host 'local' (ssh://) needs the program ssh, not found on this machine",
        env={"PATH": "/nonexistent"},  # no ssh client to run (every host check would fail alike)
    ),
    Bad("duplicate-names", GOOD + GOOD, "redis[1].name: names must be unique, 'cache' is also redis[0]"),
    Bad("duplicate-endpoint-names", _http() + _http(), "http.endpoints[1].name: names must be unique"),
    Bad(
        "name-with-space", GOOD.replace("'cache'", "'my cache'"), "redis[0].name: 'my cache' must be letters"
    ),
    Bad(
        "bad-regex",
        "[[host.processes]]\nname = 'w'\npattern = '(worker'\n",
        "host.processes[0].pattern: must be a valid regular expression",
    ),
    Bad(
        "file-mode-not-octal",
        "[[host.files]]\nname = 'f'\npath = '/etc/app.env'\nmode = 'rw-r--r--'\n",
        "host.files[0].mode: must be an octal mode",
    ),
    Bad(
        "literal-choice",
        "[[websocket.endpoints]]\nname = 'w'\nurl = 'ws://h/ws'\nvia = 'tunnel'\n",
        "websocket.endpoints[0].via: expected one of direct, proxy",
    ),
    Bad("bool-as-string", GOOD + "tls = 'yes'\n", "redis[0].tls: expected true or false"),
    Bad("unknown-key", GOOD + "prot = 1\n", "redis[0]: unknown key 'prot'"),
    Bad("unknown-component", GOOD + "[[mysql]]\nname = 'm'\n", "unknown key 'mysql'"),
    Bad("missing-required-key", "[[redis]]\nhost = 'h'\n", "redis[0]: missing required key 'name'"),
    Bad(
        "unknown-check-id",
        "[thresholds.NOT-A-CHECK]\nx = 1\n" + GOOD,
        "thresholds.NOT-A-CHECK: not a catalog check id",
    ),
    Bad(
        "unknown-threshold",
        "[thresholds.TLS-CERT-EXPIRY]\nmin_dayz = 3\n" + GOOD,
        "thresholds.TLS-CERT-EXPIRY.min_dayz: unknown threshold",
    ),
    # secrets: named by variable, never echoed
    Bad(
        "secret-unset",
        GOOD + "password_env = 'SELFTEST_UNSET_SECRET'\n",
        "redis[0].password_env: environment variable SELFTEST_UNSET_SECRET is not set",
    ),
    Bad(
        "secret-pasted-in-file",
        GOOD + f"password_env = '{PASTED} here'\n",
        "redis[0].password_env: expected the NAME of an environment variable",
    ),
]

COMMAND_LINES = [
    Bad("host-empty", GOOD, "--host='': empty", args=("--host=",)),
    Bad("host-env-empty", GOOD, "INFRAGATE_HOST='': empty", env={"INFRAGATE_HOST": ""}),
    Bad("host-unknown", GOOD, "--host=nope: unknown target 'nope'", args=("--host=nope",)),
    Bad(
        "host-env-unknown", GOOD, "INFRAGATE_HOST=nope: unknown target 'nope'", env={"INFRAGATE_HOST": "nope"}
    ),
    Bad(
        "host-a-file",
        GOOD,
        "--host='inventory/t.toml': a target NAME, not a file",
        args=("--host=inventory/t.toml",),
    ),
    Bad(
        "host-missing-file",
        GOOD,
        "--host='/nonexistent/prod.toml': a target NAME",
        args=("--host=/nonexistent/prod.toml",),
    ),
    Bad("host-bad-name", GOOD, "target name 'a b': must be letters", args=("--host=a b",)),
    Bad("wait-nan", GOOD, "--wait='nan': must be a number of seconds from 0 to 3600", args=("--wait=nan",)),
    Bad("wait-inf", GOOD, "--wait='inf': must be a number of seconds", args=("--wait=inf",)),
    Bad("wait-negative", GOOD, "--wait='-1': must be a number of seconds", args=("--wait=-1",)),
    Bad("wait-huge", GOOD, "--wait='1e9': must be a number of seconds", args=("--wait=1e9",)),
    Bad("wait-not-a-number", GOOD, "--wait='soon': expected a number of seconds", args=("--wait=soon",)),
    Bad("wait-empty", GOOD, "--wait='': expected a number of seconds", args=("--wait=",)),
    Bad(
        "inventory-missing-dir",
        GOOD,
        "--inventory='/nonexistent/inv': no such directory",
        args=("--inventory=/nonexistent/inv",),
    ),
    Bad(
        "inventory-env-missing-dir",
        GOOD,
        "INFRAGATE_INVENTORY='/nonexistent/inv': no such directory",
        env={"INFRAGATE_INVENTORY": "/nonexistent/inv"},
    ),
    Bad("inventory-empty", GOOD, "--inventory='': empty", args=("--inventory=",)),
    Bad("inventory-a-file", GOOD, "not a directory", args=("--inventory=pyproject.toml",)),
]


if importlib.util.find_spec("paramiko") is None:  # not one of our dependencies: missing unless installed
    INVENTORIES.append(
        Bad(
            "transport-package-missing",
            "[host]\ntransport = 'paramiko://deploy@h'\n",
            "(paramiko://) needs the Python package paramiko, not found on this machine",
        )
    )


def run_pytest(tmp_path: Path, bad: Bad) -> subprocess.CompletedProcess[str]:
    """`pytest tests_infra --collect-only` against tmp_path/t.toml holding the bad input."""
    inventory = tmp_path / "t.toml"
    if isinstance(bad.inventory, bytes):
        inventory.write_bytes(bad.inventory)
    else:
        inventory.write_text(bad.inventory, encoding="utf-8")
    # The case's own --inventory/--host come last and win (argparse keeps the last value).
    args = [f"--inventory={tmp_path}", *([] if bad.env.keys() & {"INFRAGATE_HOST"} else ["--host=t"])]
    if bad.env.keys() & {"INFRAGATE_INVENTORY"}:
        args = [a for a in args if not a.startswith("--inventory")]
    cmd = [sys.executable, "-m", "pytest", "tests_infra", "--collect-only", "-q", "-p", "no:cacheprovider"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    env.update(bad.env)
    return subprocess.run(
        [*cmd, *args, *bad.args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
    )


def _ids(cases: list[Bad]) -> list[str]:
    return [c.id for c in cases]


@pytest.mark.parametrize("bad", INVENTORIES + COMMAND_LINES, ids=_ids(INVENTORIES + COMMAND_LINES))
def test_bad_input_is_one_line_exit_4(tmp_path: Path, bad: Bad) -> None:
    result = run_pytest(tmp_path, bad)
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert result.returncode == 4, output[-2000:]
    assert len(lines) == 1, output[-2000:]
    assert bad.names in lines[0], lines[0]
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert PASTED not in output
    if bad in INVENTORIES:
        assert str(tmp_path / "t.toml") in lines[0]


def test_at_least_forty_bad_inputs_with_unique_ids() -> None:
    ids = _ids(INVENTORIES + COMMAND_LINES)
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
