"""Diagnostics a failing check attaches: the runbook's read-only "look here next" commands, as data.

A catalog entry may list ``diagnostics`` (``[{kind: log_tail, path: "{entry.path}"}, {kind: sql, query:
"SELECT ... FROM pg_stat_activity"}, ...]``). Each ``kind`` is one of a fixed allow-list
(``diagnostic_kinds.py``), and each kind builds its own command line (``diagnostic_commands.py``): neither
the catalog nor the inventory ever supplies shell text. Inventory values reach a command only through
``{entry.<field>}`` placeholders, as single quoted arguments, never starting with ``-`` and never spanning
lines. Every kind only reads: a log tail, ``journalctl``, ``docker logs``, ``nginx -T``, ``ss``, ``ps``,
``df``, a SELECT in a READ ONLY transaction with a statement timeout, ``INFO <section>``, a TLS handshake
that reads the served certificate.

Bounds: each diagnostic has a hard wall-clock deadline (``timeout`` on the host and a guard thread here),
its output is capped in bytes on the host and in lines/characters here (saying so), and a run spends at
most ``Limits.run_s`` on diagnostics in total. Output is redacted: the inventory's secret values and
anything shaped like a credential (``password=...``, ``Bearer ...``, a URL's password, a JWT, a private
key block). Host-side kinds run through the target's ``[host] transport`` (testinfra), and only when the
target declares ``[host]``: otherwise they would read the machine pytest runs on, not the target.

This module is the run's side: the session (budgets, reuse, hung addresses, redaction, bounds) and the
rendered text; it re-exports the names of the other two.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from infragate.diagnostic_commands import NotApplicable, Plan, plans_for
from infragate.diagnostic_kinds import (
    HOST_KINDS,
    KINDS,
    Diagnostic,
    DiagnosticError,
    Limits,
    Runner,
    parse_diagnostics,
)
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
                plans = plans_for(spec, entry, target, runner, self.limits)
            except NotApplicable as why:
                outputs.append(Output(spec.kind, "", f"not run: {why}"))
                continue
            except Exception as exc:  # an inventory shape this kind did not expect: say so, go on
                outputs.append(Output(spec.kind, "", f"not run: {type(exc).__name__}: {exc}"[:300]))
                continue
            for plan in plans:
                on_host = plan.key[0] in HOST_KINDS
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

    def _run(self, plan: Plan, seconds: float) -> Output:
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
