"""The purchase model on data simulated from BG/NBD itself.

Here BG/NBD is the true model, so lifetimes' BG/NBD fit is the benchmark to
match: the engine's regression must not lose to it (CDNOW shows it can win
on real data). Run with ``-s`` to print the numbers quoted in VALIDATION.md.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from custseg_module.engine import SegmentationConfig, segment_customers

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*chained_assignment")
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import calibration_and_holdout_data

START = pd.Timestamp("2020-01-01")
CALIBRATION_DAYS = 730
HOLDOUT_DAYS = 180


def simulate(customers, seed, r, alpha, a, b):
    """BG/NBD purchases: gamma rates, drop-out with beta probability after
    each purchase; customers arrive over the first year."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    end = CALIBRATION_DAYS + HOLDOUT_DAYS
    time = rng.integers(0, 365, customers).astype(float)
    ids, days = [np.arange(customers)], [time.copy()]
    active = np.ones(customers, dtype=bool)
    while active.any():
        active &= rng.random(customers) >= dropout
        time = time + rng.exponential(1.0, customers) / rate
        active &= time < end
        ids.append(np.flatnonzero(active))
        days.append(time[active])
    ids, days = np.concatenate(ids), np.concatenate(days).astype(int)
    return pd.DataFrame(
        {
            "partner_id": ids + 1,
            "date": START + pd.to_timedelta(days, unit="D"),
            "amount": np.round(rng.gamma(2.0, 25.0, len(ids)), 2),
        }
    )


@pytest.mark.parametrize(
    ("seed", "params"),
    [
        (1, {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 3.0}),
        (2, {"r": 0.25, "alpha": 10.0, "a": 0.5, "b": 2.0}),
    ],
)
def test_matches_bgnbd_on_bgnbd_data(seed, params):
    transactions = simulate(3000, seed, **params)
    calibration_end = START + pd.Timedelta(days=CALIBRATION_DAYS)
    end = calibration_end + pd.Timedelta(days=HOLDOUT_DAYS)
    config = SegmentationConfig(
        horizon_days=HOLDOUT_DAYS, clv_days=HOLDOUT_DAYS, clustering=False
    )
    ours = segment_customers(transactions, calibration_end, config=config)
    ours = ours[ours["frequency"] > 0]
    daily = transactions.groupby(["partner_id", "date"], as_index=False).sum()
    summary = calibration_and_holdout_data(
        daily,
        "partner_id",
        "date",
        calibration_period_end=calibration_end,
        observation_period_end=end,
        freq="D",
        monetary_value_col="amount",
    ).reindex(ours.index)
    bought = summary["frequency_holdout"] > 0
    fitter = BetaGeoFitter().fit(
        summary["frequency_cal"], summary["recency_cal"], summary["T_cal"]
    )
    bgnbd_score = fitter.conditional_expected_number_of_purchases_up_to_time(
        HOLDOUT_DAYS, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"]
    )
    auc = roc_auc_score(bought, ours["purchase_probability"])
    bgnbd_auc = roc_auc_score(bought, bgnbd_score)
    print(
        f"\nsimulated BG/NBD {params}: {len(ours)} customers, "
        f"{bought.mean():.3f} buy; AUC ours {auc:.4f} vs BG/NBD {bgnbd_auc:.4f}"
    )
    assert ours.attrs["quality"]["likelihood_method"] == "logistic_regression+bg_nbd"
    assert auc >= bgnbd_auc - 0.005
