"""Probes: one small module per protocol; each call connects, measures and returns facts.

Probes never assert and never raise for a failing target: a refused connection, a timeout or a
protocol error is a fact (``error``, ``unreachable``) the tests judge. Every call takes a
keyword-only ``timeout``.
"""

from __future__ import annotations
