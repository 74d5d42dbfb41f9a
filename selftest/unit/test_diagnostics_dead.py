"""Issue 10, diagnostics against a dead target: a network diagnostic (TLS handshake, SQL, Redis INFO) at an
address that hangs costs at most one deadline per run, not one per failing check; a refused address is
still tried (it answers at once, and its error is the information)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fixtures.diagnostics import _known_hung
from infragate.diagnostics import Limits, Session, parse_diagnostics
from selftest.unit.servers import accept_silent, closed_port


@dataclass(frozen=True)
class _Tls:
    name: str
    host: str
    port: int
    server_name: str | None = None


@dataclass(frozen=True)
class _Target:
    name: str = "t"
    host: Any = None


def _no_host() -> Any:
    raise AssertionError("a network diagnostic needs no host transport")


TLS = parse_diagnostics([{"kind": "tls_peer"}], "X")


def test_silent_address_waits_once_for_the_session() -> None:
    with accept_silent() as port:
        session = Session(limits=Limits(each_s=0.5))
        (first,) = session.collect(TLS, _Tls("proxy", "127.0.0.1", port), _Target(), _no_host)
        # Our deadline or the socket's own timeout, whichever fires first: both say it timed out.
        assert first.text == "" and "timed out" in first.note, first.note
        # Another endpoint at the same address (another SNI, so not the same command): not attempted.
        other = _Tls("proxy-2", "127.0.0.1", port, server_name="other.test")
        (second,) = session.collect(TLS, other, _Target(), _no_host)
        assert second.note == (
            f"not run: 127.0.0.1:{port} did not answer an earlier diagnostic ({first.title}: {first.note})"
        )
        assert second.title.startswith(f"TLS handshake with 127.0.0.1:{port} (SNI other.test)")
        assert second.seconds == 0.0


def test_address_the_run_found_hung_is_not_attempted() -> None:
    with accept_silent() as port:
        memory = {f"127.0.0.1:{port}": ("tests_infra/test_tls.py::test_x[A]", "timed out")}
        session = Session(limits=Limits(each_s=0.5), hung=lambda host, p: _known_hung(memory, host, p))
        # localhost and 127.0.0.1 are one address for the fail-fast memory (infragate.facts.tcp_key).
        (out,) = session.collect(TLS, _Tls("proxy", "localhost", port), _Target(), _no_host)
        assert out.note == (
            f"not run: 127.0.0.1:{port} unreachable or hung (first seen in "
            "tests_infra/test_tls.py::test_x[A]): timed out; not retried"
        )
        assert out.text == "" and out.seconds == 0.0


def test_refused_address_is_still_tried() -> None:
    port = closed_port()
    memory = {f"127.0.0.1:{port}": ("tests_infra/test_x.py::test_y[B]", "[Errno 111] Connection refused")}
    assert _known_hung(memory, "127.0.0.1", port) is None
    assert _known_hung({}, "127.0.0.1", port) is None
    session = Session(limits=Limits(each_s=2.0), hung=lambda host, p: _known_hung(memory, host, p))
    (out,) = session.collect(TLS, _Tls("proxy", "127.0.0.1", port), _Target(), _no_host)
    assert out.note.startswith("failed: ConnectionRefusedError"), out.note
    # A refusal is no wait: the next diagnostic there runs too (and says the same).
    (again,) = session.collect(TLS, _Tls("proxy-2", "127.0.0.1", port, "b.test"), _Target(), _no_host)
    assert again.note.startswith("failed: ConnectionRefusedError"), again.note
