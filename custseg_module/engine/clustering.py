# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Data-driven clusters of purchasers, next to the rule-based segments.

Features are ``log1p`` of recency, frequency and monetary (clipped at 0),
standardised. KMeans (``n_init`` fixed, seeded) is fitted for each k in
[k_min, k_max] on a fixed random sample of at most 5,000 purchasers; the k
with the best silhouette on a 2,000-point sample wins (ties: smaller k) and
labels every purchaser. Fitting on a sample keeps 1M customers within
seconds; three log-scaled dimensions need no more points for stable centroids.

Cluster ids are renumbered from best to worst centroid (recent, frequent,
high spend first). Labels read the centroid's rank on each dimension among
all centroids, e.g. "recent · frequent · high spend" or
"lapsed · occasional · low spend"; equal labels get a " #2" suffix.

Prospects get cluster -1 and label "". With clustering disabled, or fewer
than k_min + 1 distinct purchasers, every purchaser is in cluster 0,
labelled "all customers".

A fit returns its model (:func:`cluster_customers`' ``model``): the feature
means and scales, the ordered centroids and their labels. Given back on a
later day, it only assigns customers to the nearest centroid: KMeans' flat
objective lets a refit on one more day of recency land on another partition
(7 % of 1M customers relabelled in one night), while a kept model moves
only the customers who crossed a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, silhouette_score

from .config import SegmentationConfig

FIT_SAMPLE = 5_000
SELECTION_SAMPLE = 2_000
N_INIT = 3
SINGLE_LABEL = "all customers"
NO_CLUSTER = -1

_GOOD_DIRECTION = np.array([-1.0, 1.0, 1.0])  # low recency is good
_WORDS = (
    ("lapsed", "cooling", "recent"),
    ("occasional", "regular", "frequent"),
    ("low spend", "mid spend", "high spend"),
)


@dataclass
class Clusters:
    cluster: np.ndarray  # int64 per customer, -1 for prospects
    label: np.ndarray  # object array of str, "" for prospects
    n_clusters: int | None  # None when no clustering was fitted
    # JSON-serialisable: "mean", "scale", "centroids" (best first), "labels";
    # None when no clustering was fitted.
    model: dict | None = None


def _log_features(
    recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> np.ndarray:
    return np.column_stack(
        [np.log1p(recency), np.log1p(frequency), np.log1p(np.maximum(monetary, 0.0))]
    ).astype(np.float64)


def _standardisation(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(raw) == 0:
        return np.zeros(3), np.ones(3)
    scale = raw.std(axis=0)
    return raw.mean(axis=0), np.where(scale > 0, scale, 1.0)


def cluster_features(
    recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> np.ndarray:
    """Standardised log features; also used by the quality metrics."""
    raw = _log_features(recency, frequency, monetary)
    mean, scale = _standardisation(raw)
    return (raw - mean) / scale


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


def _labels(centroids: np.ndarray) -> list[str]:
    """Readable label per centroid from its rank on each dimension."""
    k = len(centroids)
    goodness = centroids * _GOOD_DIRECTION
    ranks = goodness.argsort(axis=0).argsort(axis=0)  # 0 = worst
    labels, seen = [], {}
    for row in ranks:
        position = row / max(k - 1, 1)  # 0 = worst centroid, 1 = best
        level = (position > 1 / 3).astype(int) + (position > 2 / 3).astype(int)
        words = [_WORDS[d][level[d]] for d in range(3)]
        label = " · ".join(words)
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return labels


def cluster_customers(
    recency: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    purchaser: np.ndarray,
    config: SegmentationConfig,
    model: dict | None = None,
) -> Clusters:
    """Fit clusters, or with ``model`` (a previous fit's) assign to them."""
    n = len(purchaser)
    cluster = np.full(n, NO_CLUSTER, dtype=np.int64)
    label = np.full(n, "", dtype=object)
    rows = np.flatnonzero(purchaser)
    raw = _log_features(recency[rows], frequency[rows], monetary[rows])
    if model is not None:
        centroids = np.asarray(model["centroids"], dtype=np.float64)
        X = (raw - np.asarray(model["mean"])) / np.asarray(model["scale"])
        assigned = pairwise_distances(X, centroids).argmin(axis=1)
        cluster[rows] = assigned
        label[rows] = np.asarray(model["labels"], dtype=object)[assigned]
        return Clusters(cluster, label, len(centroids), model)
    mean, scale = _standardisation(raw)
    X = (raw - mean) / scale
    rng = np.random.default_rng(config.random_state)
    X_fit = X[_sample(len(X), FIT_SAMPLE, rng)]
    distinct = len(np.unique(X_fit, axis=0))
    model = None
    if config.clustering and distinct >= config.k_min + 1:
        X_sel = X_fit[_sample(len(X_fit), SELECTION_SAMPLE, rng)]
        model = _best_kmeans(X_fit, X_sel, min(config.k_max, distinct - 1), config)
    if model is None:
        cluster[rows] = 0
        label[rows] = SINGLE_LABEL
        return Clusters(cluster, label, None)
    centroids = model.cluster_centers_
    # Renumber: 0 = best centroid (sum of standardised goodness), for stable ids.
    order = np.argsort(-(centroids * _GOOD_DIRECTION).sum(axis=1), kind="stable")
    new_id = np.empty(len(order), dtype=np.int64)
    new_id[order] = np.arange(len(order))
    names = np.asarray(_labels(centroids[order]), dtype=object)
    assigned = new_id[model.predict(X)]
    cluster[rows] = assigned
    label[rows] = names[assigned]
    fitted = {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "centroids": centroids[order].tolist(),
        "labels": names.tolist(),
    }
    return Clusters(cluster, label, len(order), fitted)


def _best_kmeans(
    X_fit: np.ndarray, X_sel: np.ndarray, k_max: int, config: SegmentationConfig
) -> KMeans | None:
    """The KMeans with the best silhouette on ``X_sel`` (ties: smaller k)."""
    best, best_score = None, -np.inf
    # The sample is the same for every k: compute its distances only once.
    distances = pairwise_distances(X_sel)
    for k in range(config.k_min, k_max + 1):
        model = KMeans(n_clusters=k, n_init=N_INIT, random_state=config.random_state)
        model.fit(X_fit)
        labels = model.predict(X_sel)
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette_score(distances, labels, metric="precomputed")
        if score > best_score:
            best, best_score = model, score
    return best
