"""Basic behaviour of the engine on small hand-checked data."""

import numpy as np
import pandas as pd
import pytest

from custseg_module.engine import (
    DEFAULT_SEGMENT_GRID,
    RESULT_COLUMNS,
    SEGMENT_CODES,
    SegmentationConfig,
    evaluate_segmentation,
    grid_problems,
    segment_customers,
)
from custseg_module.engine.scoring import rank_scores, value_tiers

AS_OF = "2024-06-30"


def tx(rows):
    return pd.DataFrame(rows, columns=["partner_id", "date", "amount"])


def test_public_constants():
    assert len(SEGMENT_CODES) == 12
    assert SEGMENT_CODES[-1] == "prospect"
    assert set(SEGMENT_CODES[:-1]) == set(DEFAULT_SEGMENT_GRID)
    assert grid_problems(DEFAULT_SEGMENT_GRID, 5) == []


def test_metrics_by_hand():
    result = segment_customers(
        tx(
            [
                (1, "2024-06-01", 100.0),
                (1, "2024-06-01", 50.0),  # same day: one purchase day
                (1, "2024-06-20", 30.0),
                (1, "2024-06-25", -20.0),  # refund: not a purchase day
                (2, "2024-01-10", 10.0),
            ]
        ),
        AS_OF,
    )
    one = result.loc[1]
    assert one["frequency"] == 2
    assert one["monetary"] == pytest.approx(160.0)
    assert one["avg_order_value"] == pytest.approx(80.0)
    assert one["recency_days"] == 10
    assert one["first_purchase"] == pd.Timestamp("2024-06-01")
    assert one["last_purchase"] == pd.Timestamp("2024-06-20")
    assert (
        result.loc[2, "recency_days"]
        == (pd.Timestamp(AS_OF) - pd.Timestamp("2024-01-10")).days
    )


def test_columns_and_dtypes():
    result = segment_customers(tx([(3, "2024-01-01", 5.0)]), AS_OF, partners=[1])
    assert tuple(result.columns) == RESULT_COLUMNS
    assert result.index.name == "partner_id"
    assert result.index.dtype == np.int64
    assert list(result.index) == [1, 3]
    for column in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        assert result[column].dtype == np.int64
    for column in ("monetary", "purchase_probability", "predicted_clv"):
        assert result[column].dtype == np.float64
    assert str(result["first_purchase"].dtype) == "datetime64[ns]"


def test_prospect_sentinels():
    result = segment_customers(tx([(3, "2024-01-01", 5.0)]), AS_OF, partners=[1])
    prospect = result.loc[1]
    assert prospect["segment"] == "prospect"
    assert prospect["lifecycle_stage"] == "prospect"
    assert prospect["r_score"] == prospect["f_score"] == prospect["m_score"] == 0
    assert prospect["rfm_code"] == prospect["value_tier"] == ""
    assert prospect["cluster"] == -1
    assert prospect["cluster_label"] == ""
    assert pd.isna(prospect["first_purchase"])
    assert prospect["purchase_probability"] == prospect["predicted_clv"] == 0.0


def test_rank_scores_ties_share_lowest_rank():
    # 60 % one-time buyers all get 1; scores are quintiles of ranks.
    frequency = np.array([1] * 6 + [2, 3, 4, 5])
    assert list(rank_scores(frequency, 5)) == [1] * 6 + [4, 4, 5, 5]
    assert list(rank_scores(np.arange(10.0), 5)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_value_tiers_cumulative_share_before_customer():
    tiers = value_tiers(np.array([60.0, 25.0, 10.0, 4.0, 1.0, -3.0]), (0.5, 0.8, 0.95))
    assert list(tiers) == ["key", "important", "ordinary", "small", "small", "negative"]
    # the top customer is key even when it holds most of the revenue
    assert value_tiers(np.array([99.0, 1.0]), (0.5, 0.8, 0.95))[0] == "key"


def test_segments_follow_grid():
    rows = [(i, f"2024-06-{i:02d}", float(i)) for i in range(1, 26)]
    rows += [(i, "2024-01-01", 1.0) for i in range(20, 26) for _ in range(1)]
    result = segment_customers(tx(rows), AS_OF)
    for pid, row in result.iterrows():
        r, f = row["r_score"], row["f_score"]
        (code,) = [
            c
            for c, (r0, r1, f0, f1) in DEFAULT_SEGMENT_GRID.items()
            if r0 <= r <= r1 and f0 <= f <= f1
        ]
        assert row["segment"] == code, pid
        assert row["rfm_code"] == f"{r}{f}{row['m_score']}"


def test_lifecycle_basic():
    rows = [(1, "2024-06-29", 10.0)]  # new
    rows += [(2, "2024-06-10", 10.0), (2, "2024-06-20", 10.0)]  # repeat
    rows += [(3, f"2024-06-{d:02d}", 10.0) for d in (1, 8, 15, 22)]  # loyal
    rows += [(4, "2023-01-01", 10.0)]  # churned
    rows += [(5, "2024-01-01", 10.0), (5, "2024-01-11", 10.0)]  # gap 10 -> at risk
    stages = segment_customers(tx(rows), AS_OF)["lifecycle_stage"]
    assert stages.to_dict() == {
        1: "new",
        2: "repeat",
        3: "loyal",
        4: "churned",
        5: "at_risk",
    }


def test_quality_keys():
    rows = [
        (i % 40, f"2024-0{1 + i % 6}-{1 + i % 28:02d}", 1.0 + i) for i in range(400)
    ]
    result = segment_customers(tx(rows), AS_OF)
    quality = result.attrs["quality"]
    for key in (
        "segment_sizes",
        "segment_revenue_share",
        "silhouette",
        "davies_bouldin",
        "n_clusters",
        "ari_previous",
        "likelihood_method",
        "n_customers",
        "n_purchasers",
    ):
        assert key in quality
    assert sum(quality["segment_sizes"].values()) == len(result)
    assert sum(quality["segment_revenue_share"].values()) == pytest.approx(1.0)
    assert quality == evaluate_segmentation(result, config=SegmentationConfig())


def test_engine_does_not_import_odoo():
    import sys

    assert "odoo" not in sys.modules


def test_evaluate_segmentation_without_attrs():
    rows = [
        (i % 30, f"2024-0{1 + i % 6}-{1 + i % 28:02d}", 2.0 + i) for i in range(300)
    ]
    result = segment_customers(tx(rows), AS_OF)
    bare = result.copy()
    bare.attrs = {}
    quality = evaluate_segmentation(bare, previous=result)
    assert quality["likelihood_method"] is None
    assert quality["ari_previous"] == pytest.approx(1.0)
    assert quality["silhouette"] == result.attrs["quality"]["silhouette"]
