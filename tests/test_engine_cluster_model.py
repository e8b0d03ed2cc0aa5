"""A kept cluster model (issue #20: a next-day run rewrites few partners):
KMeans refitted on one more day of recency can land on another partition,
a kept model only moves the customers who crossed a boundary."""

import json

import numpy as np
import pandas as pd

from custseg_module.engine import SegmentationConfig, segment_customers
from custseg_module.engine.clustering import cluster_customers

CONFIG = SegmentationConfig()


def customers(seed=0, n=20_000):
    rng = np.random.default_rng(seed)
    recency = np.floor(rng.exponential(150, n))
    frequency = 1 + rng.negative_binomial(3, 0.35, n).astype(float)
    monetary = frequency * rng.lognormal(np.log(50), 0.7, n)
    refund = rng.random(n) < 0.025
    monetary[refund] = -rng.lognormal(np.log(80), 1, refund.sum())
    return recency, frequency, monetary, np.ones(n, bool)


def test_the_model_reproduces_its_fit_after_a_json_round_trip():
    recency, frequency, monetary, buyer = customers()
    fitted = cluster_customers(recency, frequency, monetary, buyer, CONFIG)
    model = json.loads(json.dumps(fitted.model))
    kept = cluster_customers(recency, frequency, monetary, buyer, CONFIG, model)
    assert kept.n_clusters == fitted.n_clusters >= 2
    np.testing.assert_array_equal(kept.cluster, fitted.cluster)
    np.testing.assert_array_equal(kept.label, fitted.label)


def test_a_kept_model_moves_only_boundary_customers_a_day_later():
    recency, frequency, monetary, buyer = customers()
    today = cluster_customers(recency, frequency, monetary, buyer, CONFIG)
    refit = cluster_customers(recency + 1, frequency, monetary, buyer, CONFIG)
    kept = cluster_customers(
        recency + 1, frequency, monetary, buyer, CONFIG, today.model
    )
    refit_moved = (refit.label != today.label).mean()
    kept_moved = (kept.label != today.label).mean()
    # This data's refit relabels a large share of customers; the kept model
    # only those whose one more day of recency crossed a boundary.
    assert refit_moved > 0.05
    assert kept_moved < 0.01
    # Every kept assignment is the nearest centroid of the kept model.
    raw = np.column_stack(
        [np.log1p(recency + 1), np.log1p(frequency), np.log1p(np.maximum(monetary, 0))]
    )
    X = (raw - today.model["mean"]) / today.model["scale"]
    distances = ((X[:, None, :] - np.asarray(today.model["centroids"])) ** 2).sum(-1)
    np.testing.assert_array_equal(kept.cluster, distances.argmin(axis=1))


def test_segment_customers_keeps_the_model_it_is_given():
    rng = np.random.default_rng(3)
    n = 3_000
    frame = pd.DataFrame(
        {
            "partner_id": rng.integers(1, 800, n),
            "date": pd.Timestamp("2024-06-30")
            - pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "amount": rng.lognormal(4, 1, n),
        }
    )
    first = segment_customers(frame, "2024-06-30")
    model = first.attrs["cluster_model"]
    assert model and len(model["labels"]) == len(model["centroids"])
    later = segment_customers(frame, "2024-07-01", cluster_model=model)
    assert later.attrs["cluster_model"] is model
    assert set(later["cluster_label"]) - {""} <= set(model["labels"])
    off = segment_customers(frame, "2024-06-30", SegmentationConfig(clustering=False))
    assert off.attrs["cluster_model"] is None


def test_a_kept_model_on_two_customers_gives_no_undefined_scores():
    """Customers merged away: the kept model may put each of the two
    remaining customers in its own cluster; the run's quality scores are
    then left empty, not an error."""
    recency, frequency, monetary, buyer = customers()
    model = cluster_customers(recency, frequency, monetary, buyer, CONFIG).model
    frame = pd.DataFrame(
        {
            "partner_id": [1, 2],
            "date": pd.to_datetime(["2024-06-29", "2022-01-01"]),
            "amount": [5000.0, 10.0],
        }
    )
    result = segment_customers(frame, "2024-06-30", cluster_model=model)
    assert result["cluster"].nunique() == 2
    quality = result.attrs["quality"]
    assert quality["n_clusters"] == 2
    assert quality["silhouette"] is None and quality["davies_bouldin"] is None
