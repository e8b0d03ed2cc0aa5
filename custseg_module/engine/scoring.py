# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""R/F/M scores, grid segments and value tiers of purchasers.

Scores are quantiles of *ranks*, not of raw values: ``score = ceil(bins *
min_rank / n)`` where tied customers share the lowest rank of their group
(pandas ``rank(method="min")``). Ties therefore always share a score, the
lowest tie group (say 60 % one-time buyers) all get 1, and there are no
"bin edges must be unique" failures as with ``qcut``. 5 is best: most recent,
most frequent, highest spend. Consequences of ranking: a lone customer scores
5 on everything, and when all customers tie on a value they all score 1 on it
(their shared rank is the lowest).

Value tiers split positive revenue: customers sorted by net amount, each tier
is decided by the share of revenue of the customers strictly ahead of it, so
the top customer is always ``key`` and equal amounts always share a tier.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

VALUE_TIERS = ("key", "important", "ordinary", "small")
NEGATIVE_TIER = "negative"


def _group_starts(sorted_values: np.ndarray) -> np.ndarray:
    """For each position of a sorted array, where its run of equal values starts."""
    index = np.arange(len(sorted_values))
    new_run = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    return np.maximum.accumulate(np.where(new_run, index, 0))


def rank_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """Scores 1..bins, higher for higher values; ties share the lowest rank."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if values.dtype.kind in "iu" and int(values.max()) - int(values.min()) <= 4 * n:
        # Small integer range (days, purchase counts): counting beats sorting.
        offset = values - values.min()
        below = np.cumsum(np.bincount(offset)) - np.bincount(offset)
        min_rank = below[offset] + 1
    else:
        order = np.argsort(values)
        min_rank = np.empty(n, dtype=np.int64)
        min_rank[order] = _group_starts(values[order]) + 1
    # Integer ceil(min_rank * bins / n): exact, no float rounding at the edges.
    return (min_rank.astype(np.int64) * bins + n - 1) // n


def rfm_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Strings like "545" (one digit per score, bins <= 9)."""
    table = np.array([f"{i:03d}" for i in range(1000)], dtype=object)
    return table[r * 100 + f * 10 + m]


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
    order = np.argsort(-values)
    descending = values[order]
    cumulative = np.cumsum(descending)
    # Revenue strictly ahead of a customer = cumulative sum before its run of
    # equal amounts, so ties share a tier whatever their order.
    revenue_before = np.r_[0.0, cumulative[:-1]]
    share = revenue_before[_group_starts(descending)] / cumulative[-1]
    tier_index = np.empty(len(values), dtype=np.int64)
    tier_index[order] = np.searchsorted(np.asarray(cuts), share, side="right")
    tiers[positive] = np.asarray(VALUE_TIERS, dtype=object)[tier_index]
    return tiers
