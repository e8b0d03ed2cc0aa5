"""Each customer's "why": the 2-4 facts that set their stage, segment and
likelihood, derived from the figures and the thresholds the engine used.

:func:`population_profile` summarises a run for later explanations (stored on
the run, a few kB): the percentiles 0..100 of the purchasers' recency,
frequency, net revenue and likelihood, and the lifecycle thresholds.
:func:`explain` turns one customer's figures into facts, each a dict with a
``fact`` code and its numbers; the Odoo layer words them (translated, money
with ``format_amount``). Shares are read off the percentiles so that every
statement is true: "more than k %" means at least k % of purchasers have a
strictly lower value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .config import SegmentationConfig
from .lifecycle import population_gap

PERCENTILES = np.linspace(0.0, 100.0, 101)
PROFILED = ("recency_days", "frequency", "monetary", "purchase_probability")


def population_profile(
    result, typical_gap: np.ndarray, config: SegmentationConfig
) -> dict:
    """JSON-serialisable summary of a :func:`segment_customers` result."""
    buyers = (result["frequency"] > 0).to_numpy()
    profile: dict = {
        "churn_days": config.churn_days,
        "at_risk_gap_multiple": config.at_risk_gap_multiple,
        "at_risk_min_days": config.at_risk_min_days,
        "at_risk_max_days": config.at_risk_max_days,
        "horizon_days": config.horizon_days,
        "bins": config.bins,
        "one_time_at_risk_days": float(
            np.clip(
                config.at_risk_gap_multiple
                * population_gap(typical_gap, buyers, config),
                config.at_risk_min_days,
                config.at_risk_max_days,
            )
        ),
    }
    for column in PROFILED:
        values = result[column].to_numpy()[buyers]
        profile[column] = (
            # inverted_cdf: real values, so P(X <= q[k]) >= k % holds exactly.
            np.percentile(values, PERCENTILES, method="inverted_cdf").tolist()
            if len(values)
            else []
        )
    return profile


def share_below(percentiles, value: float) -> int:
    """k such that at least k % of purchasers have a value strictly below."""
    if not len(percentiles):
        return 0
    return max(int(np.searchsorted(percentiles, value, side="left")) - 1, 0)


def share_above(percentiles, value: float) -> int:
    """k such that at least k % of purchasers have a value strictly above."""
    if not len(percentiles):
        return 0
    return max(100 - int(np.searchsorted(percentiles, value, side="right")), 0)


def explain(customer: Mapping, profile: Mapping) -> list[dict]:
    """Facts about one customer.

    ``customer``: ``recency_days``, ``frequency``, ``monetary``,
    ``lifecycle_stage``, ``purchase_probability`` and ``purchase_gap``
    (0 when unknown: the stage is then stated by recency alone), as of the
    profiled run.
    """
    frequency = int(customer["frequency"])
    if frequency <= 0:
        return [{"fact": "prospect"}]
    recency = int(customer["recency_days"])
    stage = customer["lifecycle_stage"]
    facts = []
    if stage == "churned":
        facts.append(
            {"fact": "churned", "recency": recency, "days": profile["churn_days"]}
        )
    elif stage == "at_risk" and frequency == 1:
        facts.append(
            {
                "fact": "at_risk_once",
                "recency": recency,
                "days": round(profile["one_time_at_risk_days"]),
            }
        )
    elif stage == "at_risk" and float(customer.get("purchase_gap") or 0) > 0:
        # The rule's own figures (engine/lifecycle.py): the median gap, times
        # the multiple, clipped to the settings' bounds.
        gap = float(customer["purchase_gap"])
        facts.append(
            {
                "fact": "at_risk",
                "recency": recency,
                "gap": round(gap),
                "days": round(
                    min(
                        max(
                            profile["at_risk_gap_multiple"] * gap,
                            profile["at_risk_min_days"],
                        ),
                        profile["at_risk_max_days"],
                    )
                ),
            }
        )
    else:
        facts.append(
            {
                "fact": "recency",
                "recency": recency,
                "share": share_above(profile["recency_days"], recency),
            }
        )
    if frequency == 1:
        facts.append({"fact": "one_purchase"})
    else:
        facts.append(
            {
                "fact": "frequency",
                "frequency": frequency,
                "share": share_below(profile["frequency"], frequency),
            }
        )
    monetary = float(customer["monetary"])
    median = profile["monetary"][50]
    if monetary >= median:
        below = share_below(profile["monetary"], monetary)
        facts.append({"fact": "monetary_top", "amount": monetary, "top": 100 - below})
    else:
        facts.append(
            {
                "fact": "monetary_low",
                "amount": monetary,
                "median": median,
            }
        )
    probability = float(customer["purchase_probability"])
    facts.append(
        {
            "fact": "likelihood",
            "probability": probability,
            "days": profile["horizon_days"],
            "share": share_below(profile["purchase_probability"], probability),
        }
    )
    return facts
