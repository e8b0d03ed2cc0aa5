"""Recommendations validated on the real Online Retail II log (first year).

Calibrate before 2010-09-09, hold out the following 3 months. Every figure is
computed here, baselines included; tests/VALIDATION.md reports them.
"""

import numpy as np
import pandas as pd
import pytest
from online_retail import read_log

from custseg_module.engine import segment_customers
from custseg_module.engine.recommend import recommend_products

CUT = pd.Timestamp("2010-09-09")
HOLDOUT_END = CUT + pd.DateOffset(months=3)
RECENT_DAYS = 14


@pytest.fixture(scope="module")
def split():
    raw = read_log()
    # Missing customers, cancellations (C...) and adjustments (A...), and
    # non-positive quantities or prices are not purchases.
    lines = raw.dropna(subset=["customer_id"])
    lines = lines[
        ~lines["invoice"].str.startswith(("C", "A"))
        & (lines["price"] > 0)
        & (lines["quantity"] > 0)
    ].copy()
    lines["date"] = pd.to_datetime(lines["date"])
    lines["partner_id"] = lines["customer_id"].astype(np.int64)
    lines["product_id"] = pd.factorize(lines["product"], sort=True)[0] + 1
    lines["amount"] = lines["quantity"] * lines["price"]
    calibration = lines[lines["date"] < CUT]
    holdout = lines[(lines["date"] >= CUT) & (lines["date"] < HOLDOUT_END)]
    as_of = CUT - pd.Timedelta(days=1)
    segments = segment_customers(calibration[["partner_id", "date", "amount"]], as_of)[
        "segment"
    ]
    known = holdout[holdout["partner_id"].isin(calibration["partner_id"])]
    truth = known.groupby("partner_id")["product_id"].apply(set)
    return calibration, truth, segments, as_of


def _lists(frame):
    return frame.groupby("partner_id")["product_id"].apply(list).to_dict()


def _figures(recommended, truth):
    hits, recalls = [], []
    for partner, bought in truth.items():
        items = recommended.get(partner, [])
        hits.append(bool(set(items[:5]) & bought))
        recalls.append(len(set(items[:10]) & bought) / len(bought))
    return float(np.mean(hits)), float(np.mean(recalls))


def _popularity_lists(calibration, truth, as_of, segments=None):
    """Most-bought products (by customers), the same rule applied as to the
    recommendations: nothing bought in the last RECENT_DAYS."""
    last = calibration.groupby(["partner_id", "product_id"])["date"].max()
    recent = set(last[last > as_of - pd.Timedelta(days=RECENT_DAYS)].index)
    buyers = calibration.groupby("product_id")["partner_id"].nunique()
    overall = buyers.sort_values(ascending=False, kind="mergesort").index.tolist()
    by_segment = {}
    if segments is not None:
        with_segment = calibration.assign(
            segment=segments.reindex(calibration["partner_id"]).to_numpy()
        )
        for name, group in with_segment.groupby("segment"):
            counts = group.groupby("product_id")["partner_id"].nunique()
            by_segment[name] = counts.sort_values(
                ascending=False, kind="mergesort"
            ).index.tolist()
    raw, filtered = {}, {}
    for partner in truth.index:
        ranking = overall
        if segments is not None:
            ranking = by_segment.get(segments.get(partner), overall)
        raw[partner] = ranking[:10]
        filtered[partner] = [p for p in ranking if (partner, p) not in recent][:10]
    return raw, filtered


def test_recommendations_beat_popularity_on_online_retail(split):
    calibration, truth, segments, as_of = split
    recommended = recommend_products(
        calibration, as_of, segments=segments, recent_days=RECENT_DAYS, top_n=10
    )
    ours = _figures(_lists(recommended), truth)
    global_raw, global_same = (
        _figures(lists, truth) for lists in _popularity_lists(calibration, truth, as_of)
    )
    segment_raw, segment_same = (
        _figures(lists, truth)
        for lists in _popularity_lists(calibration, truth, as_of, segments)
    )
    print(
        f"\ncustomers in holdout: {len(truth)}\n"
        f"recommendations: hit@5 {ours[0]:.3f} recall@10 {ours[1]:.3f}\n"
        f"global popularity, same exclusion: {global_same[0]:.3f} "
        f"{global_same[1]:.3f}\n"
        f"global popularity, raw: {global_raw[0]:.3f} {global_raw[1]:.3f}\n"
        f"segment popularity, same exclusion: {segment_same[0]:.3f} "
        f"{segment_same[1]:.3f}\n"
        f"segment popularity, raw: {segment_raw[0]:.3f} {segment_raw[1]:.3f}"
    )
    assert len(truth) > 1500
    # Issue #18: at least 1.5x global popularity. The engine's weights were
    # chosen on earlier cut-offs, never on this holdout (tests/VALIDATION.md).
    assert ours[0] >= 1.5 * global_same[0]
    assert ours[0] > segment_same[0]
    assert ours[1] > global_same[1] and ours[1] > segment_same[1]
