"""R/F/M scores, grid segments and value tiers of purchasers.

Scores are quantiles of *ranks*, not of raw values: ``score = ceil(bins *
min_rank / n)`` where tied customers share the lowest rank of their group
(pandas ``rank(method="min")``). Ties therefore always share a score, the
lowest tie group (say 60 % one-time buyers) all get 1, and there are no
"bin edges must be unique" failures as with ``qcut``. 5 is best: most recent,
most frequent, highest spend.

Value tiers split positive revenue: customers sorted by net amount, each tier
is decided by the share of revenue of the customers strictly ahead of it, so
the top customer is always ``key`` and equal amounts always share a tier.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

VALUE_TIERS = ("key", "important", "ordinary", "small")
NEGATIVE_TIER = "negative"


def rank_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """Scores 1..bins, higher for higher values; ties share the lowest rank."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    min_rank = np.searchsorted(np.sort(values), values, side="left") + 1
    # Integer ceil(min_rank * bins / n): exact, no float rounding at the edges.
    return (min_rank.astype(np.int64) * bins + n - 1) // n


def rfm_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Strings like "545" (one digit per score, bins <= 9)."""
    packed = r * 100 + f * 10 + m
    return packed.astype(str).astype(object)


def grid_segments(
    r: np.ndarray, f: np.ndarray, grid: Mapping[str, tuple[int, ...]], bins: int
) -> np.ndarray:
    """Segment code of each (r, f) pair by looking it up in the R×F grid."""
    codes = list(grid)
    table = np.empty((bins + 1, bins + 1), dtype=np.int64)
    for index, (r_min, r_max, f_min, f_max) in enumerate(grid.values()):
        table[r_min : r_max + 1, f_min : f_max + 1] = index
    return np.asarray(codes, dtype=object)[table[r, f]]


def value_tiers(monetary: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Tier per purchaser; ``negative`` when the net amount is not positive."""
    tiers = np.full(len(monetary), NEGATIVE_TIER, dtype=object)
    positive = monetary > 0
    if not positive.any():
        return tiers
    values = monetary[positive]
    ascending = np.sort(values)
    descending_cumsum = np.cumsum(ascending[::-1])
    total = descending_cumsum[-1]
    ahead = len(values) - np.searchsorted(ascending, values, side="right")
    revenue_ahead = np.where(
        ahead > 0, descending_cumsum[np.maximum(ahead - 1, 0)], 0.0
    )
    tier_index = np.searchsorted(np.asarray(cuts), revenue_ahead / total, side="right")
    tiers[positive] = np.asarray(VALUE_TIERS, dtype=object)[tier_index]
    return tiers
