"""Lifecycle stage of each customer, in order of precedence.

1. ``prospect``: no purchase day in the window.
2. ``churned``: recency above ``churn_days``.
3. ``reactivated``: the previous run said ``churned`` and the customer is not
   churned any more (it bought again). It lasts one run: the next run sees
   ``reactivated`` as the previous stage and falls through to the rules below.
4. ``at_risk``: recency above the customer's own threshold,
   ``at_risk_gap_multiple`` × typical gap clipped to
   [``at_risk_min_days``, ``at_risk_max_days``]. One-time buyers have no gap of
   their own and use the median typical gap of the repeat buyers
   (``at_risk_max_days`` when there are none).
5. ``loyal`` (frequency >= ``loyal_min_frequency``), ``repeat`` (>= 2),
   ``new`` (1 purchase day).
"""

from __future__ import annotations

import numpy as np

from .config import SegmentationConfig

STAGES = ("prospect", "new", "repeat", "loyal", "at_risk", "churned", "reactivated")


def at_risk_thresholds(
    typical_gap: np.ndarray, purchaser: np.ndarray, config: SegmentationConfig
) -> np.ndarray:
    """Days of silence after which each customer counts as at risk."""
    known = purchaser & ~np.isnan(typical_gap)
    population_gap = (
        float(np.median(typical_gap[known]))
        if known.any()
        else config.at_risk_max_days / config.at_risk_gap_multiple
    )
    gap = np.where(known, typical_gap, population_gap)
    return np.clip(
        config.at_risk_gap_multiple * gap,
        config.at_risk_min_days,
        config.at_risk_max_days,
    )


def lifecycle_stages(
    frequency: np.ndarray,
    recency: np.ndarray,
    typical_gap: np.ndarray,
    previous_stage: np.ndarray | None,
    config: SegmentationConfig,
) -> np.ndarray:
    """Stage codes (object array of str) aligned with the inputs."""
    purchaser = frequency > 0
    threshold = at_risk_thresholds(typical_gap, purchaser, config)
    churned = purchaser & (recency > config.churn_days)
    was_churned = (
        np.zeros(len(frequency), dtype=bool)
        if previous_stage is None
        else previous_stage == "churned"
    )
    conditions = [
        ~purchaser,
        churned,
        was_churned,
        recency > threshold,
        frequency >= config.loyal_min_frequency,
        frequency >= 2,
    ]
    choices = [
        "prospect",
        "churned",
        "reactivated",
        "at_risk",
        "loyal",
        "repeat",
        "new",
    ]
    # Select on indices, then map: np.select on strings is slow at 1M rows.
    index = np.select(conditions, range(len(conditions)), default=len(conditions))
    return np.asarray(choices, dtype=object)[index]
