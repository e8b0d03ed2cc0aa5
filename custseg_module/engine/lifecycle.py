# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Lifecycle stage of each customer, in order of precedence.

1. ``prospect``: no purchase day in the window.
2. ``churned``: recency above ``churn_days``.
3. ``at_risk``: recency above the customer's own threshold,
   ``at_risk_gap_multiple`` × typical gap clipped to
   [``at_risk_min_days``, ``at_risk_max_days``]. One-time buyers have no gap of
   their own and use the median typical gap of the repeat buyers
   (``at_risk_max_days`` when there are none).
4. ``reactivated``: the customer's last purchase day came more than
   ``churn_days`` after the purchase day before it: it had churned and bought
   again. It lasts until the customer's next purchase day (the last gap is then
   short), or until it is at risk or churned again. It depends only on the
   purchase history up to the as-of date, never on earlier runs, so running
   twice on the same day gives the same stage.
5. ``loyal`` (frequency >= ``loyal_min_frequency``), ``repeat`` (>= 2),
   ``new`` (1 purchase day).
"""

from __future__ import annotations

import numpy as np

from .config import SegmentationConfig


def population_gap(
    typical_gap: np.ndarray, purchaser: np.ndarray, config: SegmentationConfig
) -> float:
    """The gap one-time buyers are judged by: the repeat buyers' median."""
    known = purchaser & ~np.isnan(typical_gap)
    if known.any():
        return float(np.median(typical_gap[known]))
    return config.at_risk_max_days / config.at_risk_gap_multiple


def at_risk_thresholds(
    typical_gap: np.ndarray, purchaser: np.ndarray, config: SegmentationConfig
) -> np.ndarray:
    """Days of silence after which each customer counts as at risk."""
    known = purchaser & ~np.isnan(typical_gap)
    gap = np.where(known, typical_gap, population_gap(typical_gap, purchaser, config))
    return np.clip(
        config.at_risk_gap_multiple * gap,
        config.at_risk_min_days,
        config.at_risk_max_days,
    )


def lifecycle_stages(
    frequency: np.ndarray,
    recency: np.ndarray,
    typical_gap: np.ndarray,
    comeback_gap: np.ndarray,
    config: SegmentationConfig,
) -> np.ndarray:
    """Stage codes (object array of str) aligned with the inputs.

    ``comeback_gap``: days between each customer's last purchase day and the
    purchase day before it, over its whole history (0 when there is none)."""
    purchaser = frequency > 0
    threshold = at_risk_thresholds(typical_gap, purchaser, config)
    churned = purchaser & (recency > config.churn_days)
    conditions = [
        ~purchaser,
        churned,
        recency > threshold,
        comeback_gap > config.churn_days,
        frequency >= config.loyal_min_frequency,
        frequency >= 2,
    ]
    choices = [
        "prospect",
        "churned",
        "at_risk",
        "reactivated",
        "loyal",
        "repeat",
        "new",
    ]
    # Select on indices, then map: np.select on strings is slow at 1M rows.
    index = np.select(conditions, range(len(conditions)), default=len(conditions))
    return np.asarray(choices, dtype=object)[index]
