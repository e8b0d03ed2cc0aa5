"""Each customer's "why" (engine/explain.py) is true to the figures."""

import numpy as np
import pandas as pd
import pytest

from custseg_module.engine import SegmentationConfig, segment_customers
from custseg_module.engine.explain import explain, share_above, share_below

AS_OF = pd.Timestamp("2024-06-30")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(7)
    rows = []
    for pid in range(1, 801):
        rate = rng.gamma(1.0, 1 / 50)
        day = int(rng.integers(0, 700))
        while day < 800:
            rows.append((pid, AS_OF - pd.Timedelta(days=800 - day), rng.gamma(2, 40)))
            if rng.random() < 0.15:
                break
            day += max(1, int(rng.exponential(1 / rate)))
    rows.append((900, AS_OF - pd.Timedelta(days=5), -30.0))  # refunds only
    return pd.DataFrame(rows, columns=["partner_id", "date", "amount"])


@pytest.fixture(scope="module")
def result(frame):
    return segment_customers(frame, AS_OF, SegmentationConfig(), partners=[901])


def customer(result, pid):
    return result.loc[pid].to_dict()


def gaps_of(frame, pid):
    """Days between the customer's purchase days, from the raw rows."""
    days = np.sort(frame.loc[frame["partner_id"] == pid, "date"].unique())
    return np.diff(days).astype("timedelta64[D]").astype(int)


def test_shares_are_lower_bounds_of_the_true_shares():
    values = np.random.default_rng(1).integers(1, 30, 999).astype(float)
    percentiles = np.percentile(values, np.linspace(0, 100, 101), method="inverted_cdf")
    for value in range(0, 32):
        below = share_below(percentiles, value)
        above = share_above(percentiles, value)
        assert (values < value).mean() * 100 >= below - 1e-9
        assert (values > value).mean() * 100 >= above - 1e-9


def test_every_fact_matches_the_figures(result, frame):
    profile = result.attrs["population"]
    buyers = result[result["frequency"] > 0]
    stages = set()
    for pid in result.index:
        facts = explain(customer(result, pid), profile)
        row = result.loc[pid]
        if row["frequency"] == 0:
            assert facts == [{"fact": "prospect"}]
            continue
        assert 2 <= len(facts) <= 4
        first = facts[0]
        stages.add(first["fact"])
        assert first["recency"] == row["recency_days"]
        if first["fact"] == "churned":
            assert row["lifecycle_stage"] == "churned"
            assert row["recency_days"] > first["days"] == 365
        elif first["fact"] == "at_risk_once":
            assert row["lifecycle_stage"] == "at_risk" and row["frequency"] == 1
            assert row["recency_days"] > first["days"]
        elif first["fact"] == "at_risk":
            # The rule's own gap and threshold: the stage follows from them.
            assert row["lifecycle_stage"] == "at_risk"
            assert first["gap"] == round(np.median(gaps_of(frame, pid)))
            assert row["recency_days"] > first["days"] >= 30
        else:
            share = (buyers["recency_days"] > row["recency_days"]).mean() * 100
            assert share >= first["share"] - 1e-9
        by_code = {fact["fact"]: fact for fact in facts}
        if "frequency" in by_code:
            share = (buyers["frequency"] < row["frequency"]).mean() * 100
            assert share >= by_code["frequency"]["share"] - 1e-9
        else:
            assert row["frequency"] == 1 and "one_purchase" in by_code
        if "monetary_top" in by_code:
            fact = by_code["monetary_top"]
            assert fact["amount"] == row["monetary"]
            assert (buyers["monetary"] >= row["monetary"]).mean() * 100 <= fact[
                "top"
            ] + 1e-9
        else:
            assert row["monetary"] < by_code["monetary_low"]["median"]
            below = (buyers["monetary"] <= by_code["monetary_low"]["median"]).mean()
            assert below >= 0.5
        likelihood = by_code["likelihood"]
        assert likelihood["probability"] == row["purchase_probability"]
        lower = (buyers["purchase_probability"] < row["purchase_probability"]).mean()
        assert lower * 100 >= likelihood["share"] - 1e-9
    assert {"churned", "at_risk", "at_risk_once", "recency"} <= stages


def test_one_time_threshold_is_the_engines(result):
    """One-time buyers at risk exactly beyond the profiled threshold."""
    days = result.attrs["population"]["one_time_at_risk_days"]
    once = result[(result["frequency"] == 1) & (result["recency_days"] <= 365)]
    at_risk = once["lifecycle_stage"] == "at_risk"
    assert at_risk.any()
    assert (once.loc[at_risk, "recency_days"] > days).all()
    assert (once.loc[~at_risk, "recency_days"] <= days).all()


def test_lapsing_threshold_is_the_engines(result):
    """Repeat buyers: the stated threshold separates at risk from the rest
    exactly as the engine's rule did (recency above it, churn aside)."""
    profile = result.attrs["population"]
    repeat = result[(result["frequency"] > 1) & (result["recency_days"] <= 365)]
    stated = repeat.apply(
        lambda row: np.clip(
            profile["at_risk_gap_multiple"] * row["purchase_gap"],
            profile["at_risk_min_days"],
            profile["at_risk_max_days"],
        ),
        axis=1,
    )
    at_risk = repeat["lifecycle_stage"] == "at_risk"
    assert at_risk.any() and (~at_risk).any()
    assert (repeat["purchase_gap"] > 0).all()
    assert (repeat.loc[at_risk, "recency_days"] > stated[at_risk]).all()
    assert (repeat.loc[~at_risk, "recency_days"] <= stated[~at_risk]).all()
    assert (result.loc[result["frequency"] <= 1, "purchase_gap"] == 0).all()
