"""Prometheus histograms as vLLM exports them (cumulative buckets ending with +Inf): differences between two
scrapes, sums over engines and PromQL's histogram_quantile."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Histogram:
    """A cumulative Prometheus histogram: (upper bound, cumulative count) pairs ending with +Inf."""

    buckets: tuple[tuple[float, float], ...]
    count: float = 0.0
    sum: float = 0.0

    def minus(self, older: Histogram | None) -> Histogram:
        """The observations since `older` (a counter reset, i.e. a restarted server, gives self)."""
        if older is None or [b for b, _ in older.buckets] != [b for b, _ in self.buckets] or older.count > self.count:
            return self
        return Histogram(tuple((le, max(0.0, c - o)) for (le, c), (_, o) in zip(self.buckets, older.buckets)),
                         max(0.0, self.count - older.count), max(0.0, self.sum - older.sum))

    def quantile(self, q: float) -> float | None:
        """Like PromQL's histogram_quantile: linear interpolation inside the bucket that holds the rank."""
        return histogram_quantile(q, self.buckets)

    def plus(self, other: Histogram) -> Histogram:
        if [b for b, _ in other.buckets] != [b for b, _ in self.buckets]:
            return self
        return Histogram(tuple((le, c + o) for (le, c), (_, o) in zip(self.buckets, other.buckets)),
                         self.count + other.count, self.sum + other.sum)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """PromQL semantics: None without observations; a rank in the +Inf bucket gives the highest finite bound."""
    if not buckets or math.isnan(q):
        return None
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for i, (le, count) in enumerate(buckets):
        if count >= rank:
            if math.isinf(le):
                return buckets[i - 1][0] if i > 0 else None
            if i == 0 and le <= 0:
                return le
            in_bucket = count - prev_count
            if in_bucket <= 0:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / in_bucket
        prev_le, prev_count = le, count
    return buckets[-1][0]
