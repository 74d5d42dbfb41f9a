"""infragate.stats: the one percentile definition (nearest rank), on samples and on Locust's histograms."""

from __future__ import annotations

import random

import pytest

from infragate.stats import histogram_percentile, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 1.0) == 100.0
    assert percentile(values, 0.0) == 1.0
    assert percentile([7.0], 0.99) == 7.0


def test_percentile_takes_samples_in_any_order() -> None:
    assert percentile([30.0, 10.0, 20.0, 40.0], 0.5) == 20.0  # a measured value, never 25 (no interpolation)


def test_percentile_is_not_fooled_by_binary_fractions() -> None:
    # 0.07 * 100 is 7.000000000000001 in floating point: still rank 7, not 8.
    assert percentile(range(1, 101), 0.07) == 7


def test_histogram_percentile_walks_the_buckets() -> None:
    histogram = {10: 50, 20: 30, 30: 15, 40: 5}
    got = [histogram_percentile(histogram, q) for q in (0.5, 0.8, 0.9, 0.95, 0.99, 1.0)]
    assert got == [10, 20, 30, 30, 40, 40]
    assert histogram_percentile({10: 51, 20: 49}, 0.5) == 10
    assert histogram_percentile({10: 50, 20: 50}, 0.51) == 20


def test_histogram_and_samples_agree() -> None:
    rng = random.Random(8)
    histogram: dict[int, int] = {}
    for _ in range(2000):
        bucket = rng.choice((3, 12, 147, 512, 1230))
        histogram[bucket] = histogram.get(bucket, 0) + 1
    samples = [bucket for bucket, count in histogram.items() for _ in range(count)]
    for q in (0.0, 0.5, 0.66, 0.9, 0.95, 0.99, 0.999, 1.0):
        assert histogram_percentile(histogram, q) == percentile(samples, q), q


@pytest.mark.parametrize("q", [-0.1, 1.5, 95])
def test_q_is_a_fraction(q: float) -> None:
    with pytest.raises(ValueError, match=r"q must be in 0\.\.1"):
        percentile([1.0], q)


def test_no_values_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="no values"):
        histogram_percentile({}, 0.5)
