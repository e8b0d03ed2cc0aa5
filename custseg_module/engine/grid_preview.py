# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What-if preview of a new R×F grid or a new number of score bins.

The Odoo layer counts the latest run's customers per current segment and
scores (or per last purchase day and frequency, when the bins change); this
module says which segment each group would land in and how many customers
move from each segment to each other. Nothing here writes anything.

Input ``groups``: one row per group of customers, columns ``segment`` (code
today), ``customers`` (how many), ``locked`` (bool: a manually set segment,
which a run keeps), and either ``r_score`` / ``f_score`` (same bins) or
``last_day`` (ordinal of the last purchase day) / ``frequency`` (purchase
days) to score anew. Output: columns ``from``, ``to``, ``customers``, one row
per pair with customers, moves and stays alike, sorted by ``from`` then ``to``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .config import validate_grid
from .scoring import _group_starts, grid_segments


def weighted_rank_scores(
    values: np.ndarray, weights: np.ndarray, bins: int
) -> np.ndarray:
    """:func:`.scoring.rank_scores` of a population given as distinct values
    and how many customers hold each: the same scores, without one row per
    customer."""
    values = np.asarray(values)
    weights = np.asarray(weights, dtype=np.int64)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if (weights < 0).any():
        raise ValueError("customers: must not be negative")
    order = np.argsort(values, kind="stable")
    sorted_weights = weights[order]
    below = np.cumsum(sorted_weights) - sorted_weights
    # Ties share the rank of the first customer of their value.
    min_rank_sorted = below[_group_starts(values[order])] + 1
    n = int(weights.sum())
    scores = np.empty(len(values), dtype=np.int64)
    scores[order] = (min_rank_sorted * bins + n - 1) // max(n, 1)
    return scores


def segment_moves(
    groups: pd.DataFrame, grid: Mapping[str, tuple[int, ...]], bins: int
) -> pd.DataFrame:
    """Customers per (current segment, segment under ``grid``); see module."""
    validate_grid(grid, bins)
    missing = {"segment", "customers", "locked"} - set(groups.columns)
    if missing:
        raise ValueError(f"groups: missing columns {sorted(missing)}")
    customers = groups["customers"].to_numpy(dtype=np.int64)
    if {"r_score", "f_score"} <= set(groups.columns):
        r = groups["r_score"].to_numpy(dtype=np.int64)
        f = groups["f_score"].to_numpy(dtype=np.int64)
        if len(r) and (min(r.min(), f.min()) < 1 or max(r.max(), f.max()) > bins):
            raise ValueError(f"r_score, f_score: must be within 1..{bins}")
    elif {"last_day", "frequency"} <= set(groups.columns):
        r = weighted_rank_scores(groups["last_day"].to_numpy(), customers, bins)
        f = weighted_rank_scores(groups["frequency"].to_numpy(), customers, bins)
    else:
        raise ValueError("groups: needs r_score and f_score, or last_day and frequency")
    current = groups["segment"].astype(object).to_numpy()
    new = grid_segments(r, f, grid, bins) if len(r) else current.copy()
    locked = groups["locked"].to_numpy(dtype=bool)
    new = np.where(locked, current, new)
    frame = pd.DataFrame({"from": current, "to": new, "customers": customers})
    moves = frame.groupby(["from", "to"], sort=True, as_index=False)["customers"].sum()
    return moves[moves["customers"] > 0].reset_index(drop=True)
