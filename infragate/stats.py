"""Percentiles: the one definition every check and load verdict uses.

The nearest-rank method: the q-th percentile of n values is the value at rank ``ceil(q * n)`` (1-based) of
the values in ascending order, i.e. the smallest value with at least a fraction ``q`` of the values at or
below it. It is always one of the measured values (never an interpolation), so a reported p95 is a
response time that really happened.

Two shapes of the same data, one definition:

* ``percentile(values, q)``: raw samples (PING round trips, sequential GET timings);
* ``histogram_percentile(histogram, q)``: Locust's bucketed response times (``{bucket_ms: count}``),
  which is the same as expanding every bucket into ``count`` samples.

Locust's own report counts *strictly* more than ``q * n`` values, so where ``q * n`` is a whole number and
the two neighbouring ranks fall in different buckets its HTML may show the next bucket up; with thousands
of requests per run that is rare and never more than one rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

__all__ = ["histogram_percentile", "percentile"]


def _rank(q: float, n: int) -> int:
    """The 1-based nearest rank of ``q`` among ``n`` values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"percentile q must be in 0..1, got {q!r}")
    if n < 1:
        raise ValueError("percentile of no values")
    # round(): 0.07 * 100 is 7.000000000000001 in binary floating point, whose ceiling would be rank 8.
    return max(1, math.ceil(round(q * n, 9)))


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (``q`` in 0..1) of non-empty samples, in any order."""
    ordered = sorted(values)
    return ordered[_rank(q, len(ordered)) - 1]


def histogram_percentile(histogram: Mapping[int, int], q: float) -> int:
    """The nearest-rank ``q`` percentile of bucketed samples ``{value: count}`` (non-empty)."""
    rank = _rank(q, sum(histogram.values()))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    raise AssertionError("unreachable: rank <= total count")  # pragma: no cover
