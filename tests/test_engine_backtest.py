"""The model-quality card (engine/backtest.py) and its fallback."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

from custseg_module.engine import segment_customers
from custseg_module.engine.backtest import (
    MIN_HISTORY_DAYS,
    MIN_TRAINING_BUYERS,
    calibration_bins,
    expected_calibration_error,
)

AS_OF = pd.Timestamp("2024-06-30")


def simulated(customers, days, seed=5):
    """Customers with gamma-distributed rates who may drop out after a purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for pid in range(1, customers + 1):
        rate = rng.gamma(1.0, 1 / 40)
        day = int(rng.integers(0, days // 2))
        while day < days:
            rows.append((pid, AS_OF - pd.Timedelta(days=days - day), rng.gamma(2, 30)))
            if rng.random() < 0.1:
                break
            day += max(1, int(rng.exponential(1 / rate)))
    return pd.DataFrame(rows, columns=["partner_id", "date", "amount"])


def test_ece_matches_sklearn_calibration_curve():
    rng = np.random.default_rng(0)
    probability = rng.beta(2, 5, 5_000)
    bought = rng.random(5_000) < probability**0.8
    observed, predicted = calibration_curve(
        bought, probability, n_bins=10, strategy="quantile"
    )
    table = calibration_bins(bought, probability)
    assert [row["count"] for row in table] == [500] * 10
    np.testing.assert_allclose([r["observed"] for r in table], observed)
    np.testing.assert_allclose([r["predicted"] for r in table], predicted)
    assert expected_calibration_error(bought, probability) == pytest.approx(
        np.mean(np.abs(observed - predicted))
    )


def test_card_on_enough_history_compares_with_recency_alone():
    result = segment_customers(simulated(3_000, 900), AS_OF)
    card = result.attrs["backtest"]
    json.dumps(card)  # stored as is by the Odoo run
    assert card["fallback_reason"] is None
    assert card["beats_baseline"] is True
    assert card["auc"] > card["baseline_auc"] > 0.5
    assert card["training_buyers"] >= MIN_TRAINING_BUYERS
    assert card["cutoff"] == str((AS_OF - pd.Timedelta(days=90)).date())
    assert len(card["bins"]) == 10
    assert sum(row["count"] for row in card["bins"]) == card["customers"]
    predicted = [row["predicted"] for row in card["bins"]]
    assert predicted == sorted(predicted)
    bought_share = sum(r["observed"] * r["count"] for r in card["bins"])
    assert bought_share == pytest.approx(card["buyers"])
    assert result.attrs["model"]["likelihood_method"] == "logistic_regression+bg_nbd"


def test_thin_history_falls_back_to_bg_nbd_and_says_why():
    data = simulated(3_000, 900)
    short = data[data["date"] > AS_OF - pd.Timedelta(days=150)]
    result = segment_customers(short, AS_OF)
    card = result.attrs["backtest"]
    assert card["history_days"] < MIN_HISTORY_DAYS
    assert card["auc"] is None and card["bins"] == []
    assert "days of purchase history" in card["fallback_reason"]
    model = result.attrs["model"]
    assert model["likelihood_method"] == "bg_nbd"
    assert model["likelihood_fallback_reason"] == card["fallback_reason"]
    assert result.attrs["quality"]["likelihood_fallback_reason"]


def test_few_buyers_fall_back_to_bg_nbd():
    result = segment_customers(simulated(400, 900), AS_OF)
    card = result.attrs["backtest"]
    assert card["training_buyers"] < MIN_TRAINING_BUYERS
    assert f"only {card['training_buyers']} customers bought" in card["fallback_reason"]
    assert result.attrs["model"]["likelihood_method"] == "bg_nbd"
    # The figures behind the fallback are still shown.
    assert card["auc"] is not None and len(card["bins"]) == 10
