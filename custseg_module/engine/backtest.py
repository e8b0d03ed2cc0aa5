"""Model-quality card: the likelihood backtested on the company's own history.

:func:`backtest_likelihood` moves the clock back one horizon ``h``: it runs the
engine's likelihood (:func:`.prediction.predict`) on the data known at
``as_of - h`` only, and compares its P(buy within ``h``) with what the
customers did in the next ``h`` days. ``h`` is ``horizon_days``, or the
history beyond :data:`MIN_HISTORY_DAYS` when that is shorter, so that the
model at the cut-off has the history it needs. It reports:

* ``auc`` (sklearn ``roc_auc_score``): how often a buyer is ranked above a
  non-buyer; ``brier`` (``brier_score_loss``); ``ece``: the expected
  calibration error over 10 equal-count bins; ``bins``: the calibration table
  (mean predicted, observed buy rate, count per bin);
* the **recency-only baseline** in the same run: a logistic regression on
  log recency alone, its probabilities out-of-fold (5 folds) on the backtest's
  own outcomes. It is fitted on the period it is judged on, so it is the
  stronger of the two on calibration: a fair bar to clear.

Fallback: the likelihood is kept only when it can be trusted. With less than
:data:`MIN_HISTORY_DAYS` of history (no backtest then), fewer than
:data:`MIN_TRAINING_BUYERS` buyers in the last ``h`` days (the window the
model learns from; the backtest is still shown), or a backtest AUC not above
recency alone, ``fallback_reason`` says why in plain words and the run uses
BG/NBD (:mod:`.bgnbd`), the documented simpler model.
At most :data:`MAX_CUSTOMERS` customers (a fixed random sample) are
backtested, so the card costs a bounded share of a run at 1M.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from .config import SegmentationConfig
from .metrics import CustomerMetrics, DailyLedger, customer_metrics, subset
from .prediction import predict

MIN_HISTORY_DAYS = 180
MIN_TRAINING_BUYERS = 500
MAX_CUSTOMERS = 50_000
CALIBRATION_BINS = 10
MIN_CLASS = 5  # buyers and non-buyers needed to score a backtest at all


def calibration_bins(
    bought: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict]:
    """Equal-count bins by predicted probability: predicted, observed, count.

    Ties are split by customer order (stable sort), so every bin has n/bins
    customers give or take one.
    """
    order = np.argsort(probability, kind="stable")
    table = []
    for chunk in np.array_split(order, min(bins, len(order))):
        table.append(
            {
                "predicted": float(probability[chunk].mean()),
                "observed": float(bought[chunk].mean()),
                "count": len(chunk),
            }
        )
    return table


def expected_calibration_error(
    bought: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """Count-weighted mean |observed - predicted| over equal-count bins."""
    table = calibration_bins(np.asarray(bought), np.asarray(probability), bins)
    total = sum(row["count"] for row in table)
    return float(
        sum(row["count"] * abs(row["observed"] - row["predicted"]) for row in table)
        / total
    )


def _recency_baseline(recency: np.ndarray, bought: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold P(buy) of a logistic regression on log recency alone."""
    X = np.log1p(recency.astype(np.float64)).reshape(-1, 1)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return cross_val_predict(
        LogisticRegression(), X, bought, cv=folds, method="predict_proba"
    )[:, 1]


def _empty_card(history: int, horizon: int, buyers: int) -> dict:
    return {
        "history_days": history,
        "horizon_days": horizon,
        "training_buyers": buyers,
        "cutoff": None,
        "customers": 0,
        "buyers": 0,
        "method": None,
        "auc": None,
        "brier": None,
        "ece": None,
        "baseline_auc": None,
        "baseline_brier": None,
        "bins": [],
        "beats_baseline": None,
        "fallback_reason": None,
    }


def backtest_likelihood(
    ledger: DailyLedger, m: CustomerMetrics, as_of: int, config: SegmentationConfig
) -> dict:
    """The quality card (JSON-serialisable dict), see the module docstring."""
    purchasers = np.flatnonzero(m.purchaser)
    if len(purchasers) == 0:
        return _empty_card(0, 0, 0)
    history = int(as_of - m.first_day[purchasers].min())
    horizon = int(min(config.horizon_days, history - MIN_HISTORY_DAYS))
    buyers = int(np.sum(m.last_day[purchasers] > as_of - max(horizon, 1)))
    card = _empty_card(history, horizon, buyers)
    if history < MIN_HISTORY_DAYS:
        card["fallback_reason"] = (
            f"only {history} days of purchase history; the likelihood needs "
            f"{MIN_HISTORY_DAYS} to learn and be checked"
        )
        return card
    # Scored even when too few bought, so that the manager sees the figures
    # behind the fallback.
    _score(card, ledger, len(m.frequency), as_of, horizon, config)
    if buyers < MIN_TRAINING_BUYERS:
        card["fallback_reason"] = (
            f"only {buyers} customers bought in the last {horizon} days; the "
            f"likelihood needs {MIN_TRAINING_BUYERS} to learn from"
        )
    elif card["beats_baseline"] is False:
        card["fallback_reason"] = (
            "on your history the likelihood did not rank buyers better than "
            f"recency alone (AUC {card['auc']:.2f} against "
            f"{card['baseline_auc']:.2f})"
        )
    return card


def _score(card, ledger, n, as_of, horizon, config) -> None:
    """Fill ``card`` with the backtest at ``as_of - horizon``."""
    cutoff = as_of - horizon
    codes = np.arange(n)
    if n > MAX_CUSTOMERS:
        rng = np.random.default_rng(config.random_state)
        codes = np.sort(rng.choice(n, MAX_CUSTOMERS, replace=False))
        ledger = subset(ledger, codes)
    k = len(codes)
    start = cutoff - config.lookback_days if config.lookback_days else None
    past = customer_metrics(ledger, k, cutoff, start, with_gaps=True)
    rows = np.flatnonzero(past.purchaser)
    bought = customer_metrics(ledger, k, as_of, cutoff).frequency[rows] > 0
    n_bought = int(bought.sum())
    if min(n_bought, len(rows) - n_bought) < MIN_CLASS:
        return
    settings = dataclasses.replace(config, horizon_days=horizon, clv_days=horizon)
    prediction = predict(ledger, past, cutoff, settings)
    probability = prediction.probability[rows]
    baseline = _recency_baseline(
        cutoff - past.last_day[rows], bought, config.random_state
    )
    card.update(
        cutoff=str(pd.Timestamp(cutoff, unit="D").date()),
        customers=len(rows),
        buyers=n_bought,
        method=prediction.info.get("likelihood_method"),
        auc=float(roc_auc_score(bought, probability)),
        brier=float(brier_score_loss(bought, probability)),
        ece=expected_calibration_error(bought, probability),
        baseline_auc=float(roc_auc_score(bought, baseline)),
        baseline_brier=float(brier_score_loss(bought, baseline)),
        bins=calibration_bins(bought, probability),
    )
    card["beats_baseline"] = card["auc"] > card["baseline_auc"]
