"""The whole suite against a dead target (closed port) and a blackholed one (listens, never answers).

Every endpoint of inventory/local.toml is pointed at one address. With fast failure the run costs about
one timeout plus overhead, not one timeout per test. Prints both times and their ratio to the timeout.
Needs nothing running.
"""

from __future__ import annotations

import re
import socket
import tempfile
from pathlib import Path

from _common import ROOT, run_suite  # type: ignore[import-not-found]


def _inventory(port: int, connect_timeout: float, read_timeout: float) -> str:
    text = (ROOT / "inventory" / "local.toml").read_text()
    text = re.sub(r"\b184\d\d\b", str(port), text)
    text = re.sub(r"connect_timeout = [\d.]+", f"connect_timeout = {connect_timeout}", text)
    text = re.sub(r"read_timeout = [\d.]+", f"read_timeout = {read_timeout}", text)
    # No CA bundle (the stack need not have run): the system store; handshakes time out first anyway.
    text = re.sub(r"(?m)^ca_bundle = .*$", "", text)
    return text.replace('"../.run/', f'"{ROOT}/.run/')


def main() -> None:
    """Time the suite against the closed port and the blackhole."""
    connect_timeout, read_timeout = 2.0, 5.0
    env = {"INFRAGATE_LOCAL_PG_PASSWORD": "unused", "INFRAGATE_LOCAL_REDIS_PASSWORD": "unused"}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(1024)  # accepts into the backlog, never reads: the blackhole
    hole_port = hole.getsockname()[1]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            (out / "dead.toml").write_text(_inventory(dead_port, connect_timeout, read_timeout))
            (out / "blackhole.toml").write_text(_inventory(hole_port, connect_timeout, read_timeout))
            dead = run_suite("--host=dead", f"--inventory={out}", env=env, out=out)
            black = run_suite("--host=blackhole", f"--inventory={out}", env=env, out=out)
    finally:
        hole.close()
    print(f"timeouts: connect {connect_timeout:g} s, read {read_timeout:g} s")
    for label, (secs, code, tests, failed) in (("closed port", dead), ("blackhole", black)):
        print(
            f"{label:12} {secs:6.2f} s  {tests} tests, {failed} failed (exit {code}); "
            f"{secs / connect_timeout:.2f} x connect timeout, {secs / tests if tests else 0:.3f} s/test"
        )
    print(f"naive bound (one connect timeout per test): {black[2] * connect_timeout:.0f} s")


if __name__ == "__main__":
    main()
