# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``segment_customers``: the one entry point the Odoo layer calls.

Input ``transactions``: a DataFrame with ``partner_id`` (integers), ``date``
(date, datetime, datetime64 or ISO string; time of day and time zone are
dropped) and ``amount`` (float, company currency, refunds negative); other
columns are ignored. Rows may be invoices or day totals: they are summed per
partner and day. NaN/infinite amounts, missing ids or dates and missing
columns raise ``ValueError`` naming the column (a zero-row frame is accepted
as it is). Rows dated after ``as_of`` are dropped as if absent.

The result has one row per partner with a row dated on or before ``as_of``
or listed in ``partners``: index ``partner_id`` (int64, ascending), columns
(:data:`RESULT_COLUMNS`, in this order):

=====================  ==============  ========================================
column                 dtype           meaning
=====================  ==============  ========================================
first_purchase         datetime64[ns]  first purchase day in the window
last_purchase          datetime64[ns]  last purchase day in the window
recency_days           int64           days from last purchase day to as_of
frequency              int64           purchase days (positive net) in window
monetary               float64         net amount in the window
avg_order_value        float64         monetary / frequency
r_score, f_score,      int64           1..bins rank quantiles, 5 is best
m_score
rfm_code               str             e.g. "545"
segment                str             R×F grid code, or "prospect"
value_tier             str             key/important/ordinary/small/negative
lifecycle_stage        str             see :mod:`.lifecycle`
purchase_gap           float64         usual gap: median days between purchase days (the
                                       lapsing rule's own gap), 0 below two
purchase_probability   float64         P(purchase within horizon_days), 0..1
predicted_clv          float64         net revenue over clv_days, >= 0
cluster                int64           0..k-1, 0 = best centroid
cluster_label          str             e.g. "recent · frequent · high spend"
=====================  ==============  ========================================

Partners without a purchase day in the window are *prospects*. Sentinels, so
that no output is NaN:

* ``first_purchase`` / ``last_purchase``: NaT (the only missing values);
* ``recency_days``, ``frequency``, ``avg_order_value``, the scores,
  ``purchase_gap`` (also for one-time buyers),
  ``purchase_probability``, ``predicted_clv``: 0 (a score of 0 means "no
  score", real scores are 1..bins);
* ``monetary``: their net amount in the window, i.e. 0 unless the window holds
  only refunds for them;
* ``rfm_code``, ``value_tier``, ``cluster_label``: ""; ``cluster``: -1;
* ``segment`` and ``lifecycle_stage``: "prospect".

``previous`` (optional) is the last run's frame indexed by ``partner_id``,
with ``segment`` (None allowed): it drives ``quality["ari_previous"]``. No
figure depends on it: the ``reactivated`` stage is read from the purchase
history, so that a second run on the same day gives the same result.

The result's ``attrs`` hold ``quality`` (see :mod:`.quality`), ``model``
(prediction method and its parameters), ``backtest`` (the model-quality card
of :mod:`.backtest`; its ``fallback_reason`` says why the run fell back to
BG/NBD, if it did), ``population`` (percentiles and thresholds for each
customer's "why", see :mod:`.explain`), ``cluster_model`` (the clusters'
fitted model, or the one given; None without clustering), ``timings``
(seconds per phase) and
``as_of`` (ISO date). The same inputs give the same result, bit for bit,
whatever the row order.
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter

import numpy as np
import pandas as pd

from .backtest import backtest_likelihood
from .clustering import cluster_customers
from .config import PROSPECT, SegmentationConfig
from .explain import population_profile
from .lifecycle import lifecycle_stages
from .metrics import comeback_gaps, customer_metrics, daily_ledger
from .prediction import predict
from .quality import evaluate_segmentation
from .scoring import grid_segments, rank_scores, rfm_codes, value_tiers
from .threads import single_thread
from .validation import day_to_datetime, prepare_transactions, to_day

RESULT_COLUMNS = (
    "first_purchase",
    "last_purchase",
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "r_score",
    "f_score",
    "m_score",
    "rfm_code",
    "segment",
    "value_tier",
    "lifecycle_stage",
    "purchase_gap",
    "purchase_probability",
    "predicted_clv",
    "cluster",
    "cluster_label",
)


class _Clock:
    """Seconds spent per phase, for ``result.attrs["timings"]``."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = self._last = perf_counter()

    def lap(self, phase: str) -> None:
        now = perf_counter()
        self.timings[phase] = round(now - self._last, 4)
        self._last = now

    def total(self) -> dict[str, float]:
        self.timings["total"] = round(perf_counter() - self._start, 4)
        return self.timings


def _check_previous(previous: pd.DataFrame | None) -> None:
    if previous is not None and not isinstance(previous, pd.DataFrame):
        raise ValueError("previous: must be a pandas DataFrame indexed by partner_id")


def _scores(values: np.ndarray, rows: np.ndarray, bins: int) -> np.ndarray:
    scores = np.zeros(len(values), dtype=np.int64)
    scores[rows] = rank_scores(values[rows], bins)
    return scores


def segment_customers(
    transactions: pd.DataFrame,
    as_of: object,
    config: SegmentationConfig | None = None,
    previous: pd.DataFrame | None = None,
    partners: Iterable[int] | None = None,
    cluster_model: dict | None = None,
) -> pd.DataFrame:
    """Segment every partner of ``transactions`` and ``partners`` at ``as_of``;
    with ``cluster_model`` (an earlier result's ``attrs["cluster_model"]``)
    the clusters are assigned with it instead of fitted anew."""
    with single_thread():
        return _segment(transactions, as_of, config, previous, partners, cluster_model)


def _segment(
    transactions, as_of, config, previous, partners, cluster_model
) -> pd.DataFrame:
    config = config or SegmentationConfig()
    clock = _Clock()
    as_of_day = to_day(as_of)
    tx = prepare_transactions(transactions, as_of_day, partners)
    ids, n = tx.ids, len(tx.ids)
    _check_previous(previous)
    clock.lap("prepare")

    ledger = daily_ledger(tx.code, tx.day, tx.amount)
    del tx
    clock.lap("daily")
    start_day = as_of_day - config.lookback_days if config.lookback_days else None
    m = customer_metrics(ledger, n, as_of_day, start_day, with_gaps=True)
    buyer = m.purchaser
    rows = np.flatnonzero(buyer)
    recency = np.where(buyer, as_of_day - m.last_day, 0).astype(np.int64)
    clock.lap("metrics")

    r_score = _scores(-recency, rows, config.bins)
    f_score = _scores(m.frequency, rows, config.bins)
    m_score = _scores(m.monetary, rows, config.bins)
    rfm_code = np.full(n, "", dtype=object)
    rfm_code[rows] = rfm_codes(r_score[rows], f_score[rows], m_score[rows])
    segment = np.full(n, PROSPECT, dtype=object)
    segment[rows] = grid_segments(
        r_score[rows], f_score[rows], config.segment_grid, config.bins
    )
    tier = np.full(n, "", dtype=object)
    tier[rows] = value_tiers(m.monetary[rows], config.tier_cuts)
    stage = lifecycle_stages(
        m.frequency, recency, m.typical_gap, comeback_gaps(ledger, n, as_of_day), config
    )
    clock.lap("scores")

    card = backtest_likelihood(ledger, m, as_of_day, config)
    clock.lap("backtest")
    prediction = predict(ledger, m, as_of_day, config, card["fallback_reason"])
    del ledger
    clock.lap("prediction")
    clusters = cluster_customers(
        recency, m.frequency, m.monetary, buyer, config, cluster_model
    )
    clock.lap("clustering")

    with np.errstate(divide="ignore", invalid="ignore"):
        order_value = np.where(buyer, m.monetary / np.maximum(m.frequency, 1), 0.0)
    purchase_gap = np.where(buyer & ~np.isnan(m.typical_gap), m.typical_gap, 0.0)
    result = pd.DataFrame(
        {
            "first_purchase": day_to_datetime(m.first_day, buyer),
            "last_purchase": day_to_datetime(m.last_day, buyer),
            "recency_days": recency,
            "frequency": m.frequency,
            "monetary": m.monetary,
            "avg_order_value": order_value,
            "r_score": r_score,
            "f_score": f_score,
            "m_score": m_score,
            "rfm_code": rfm_code,
            "segment": segment,
            "value_tier": tier,
            "lifecycle_stage": stage,
            "purchase_gap": purchase_gap,
            "purchase_probability": prediction.probability,
            "predicted_clv": prediction.clv,
            "cluster": clusters.cluster,
            "cluster_label": clusters.label,
        },
        index=pd.Index(ids, dtype=np.int64, name="partner_id"),
    )
    result.attrs["as_of"] = str(pd.Timestamp(as_of_day, unit="D").date())
    result.attrs["model"] = prediction.info
    result.attrs["backtest"] = card
    result.attrs["cluster_model"] = clusters.model
    clock.lap("frame")
    result.attrs["quality"] = evaluate_segmentation(result, previous, config)
    result.attrs["population"] = population_profile(result, m.typical_gap, config)
    clock.lap("quality")
    result.attrs["timings"] = clock.total()
    return result
