# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Quality report of a segmentation run (plain JSON-serialisable dict).

Keys: ``n_customers``, ``n_purchasers``, ``n_prospects``, ``segment_sizes``
(every grid code and ``prospect``, zeros included), ``segment_revenue_share``
(share of positive net revenue), ``lifecycle_sizes``, ``value_tier_sizes``,
``n_clusters``, ``silhouette`` (on a fixed random sample of at most 4,000
purchasers, sklearn's O(n²) cost), ``davies_bouldin`` (all purchasers),
``ari_previous`` (adjusted Rand index between this and the previous run's
segments on the partners present in both), ``likelihood_method`` and the
other fields of the prediction step. Metrics that do not apply are None.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

from .clustering import cluster_features
from .config import PROSPECT, SegmentationConfig
from .threads import single_thread

SILHOUETTE_SAMPLE = 4_000


def _sizes(values: pd.Series, codes: list[str]) -> dict[str, int]:
    counts = values.value_counts()
    keys = codes + sorted(set(counts.index) - set(codes))
    return {str(code): int(counts.get(code, 0)) for code in keys}


def _cluster_metrics(result: pd.DataFrame, random_state: int) -> dict:
    cluster = result["cluster"].to_numpy()
    rows = np.flatnonzero(cluster >= 0)  # arrays, not a filtered 1M-row frame
    labels = cluster[rows]
    n_clusters = int(len(np.unique(labels))) if len(labels) else None
    metrics = {"n_clusters": n_clusters, "silhouette": None, "davies_bouldin": None}
    if not n_clusters or n_clusters < 2:
        return metrics
    X = cluster_features(
        *(result[c].to_numpy()[rows] for c in ("recency_days", "frequency", "monetary"))
    )
    rng = np.random.default_rng(random_state)
    sample = np.arange(len(X))
    if len(X) > SILHOUETTE_SAMPLE:
        sample = np.sort(rng.choice(len(X), SILHOUETTE_SAMPLE, replace=False))
    n_sample_labels = len(np.unique(labels[sample]))
    if 2 <= n_sample_labels < len(sample):
        with single_thread():
            score = silhouette_score(X[sample], labels[sample])
        metrics["silhouette"] = float(score)
    # A kept cluster model may put each of very few customers in its own
    # cluster: neither score is defined then.
    if n_clusters < len(X):
        metrics["davies_bouldin"] = float(davies_bouldin_score(X, labels))
    return metrics


def _ari(result: pd.DataFrame, previous: pd.DataFrame | None) -> float | None:
    if previous is None or "segment" not in previous.columns:
        return None
    before = previous["segment"]
    before = before[before.notna() & (before.astype(str) != "")]
    common = result.index.intersection(before.index)
    if len(common) == 0:
        return None
    before = before[~before.index.duplicated()]
    # ARI ignores what the labels are called: integer codes spare sklearn
    # sorting a million strings (1.5 s of a daily run at 1M customers).
    prior_codes, _ = pd.factorize(before.reindex(common).astype(str))
    current_codes, _ = pd.factorize(result["segment"].reindex(common))
    return float(adjusted_rand_score(prior_codes, current_codes))


def evaluate_segmentation(
    result: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    config: SegmentationConfig | None = None,
) -> dict:
    """Quality metrics of a :func:`segment_customers` result."""
    config = config or SegmentationConfig()
    purchaser = result["segment"] != PROSPECT
    positive = result["monetary"].clip(lower=0.0)
    total = float(positive.sum())
    revenue = positive.groupby(result["segment"]).sum()
    segment_codes = [*config.segment_grid, PROSPECT]
    sizes = _sizes(result["segment"], segment_codes)
    quality = {
        "n_customers": len(result),
        "n_purchasers": int(purchaser.sum()),
        "n_prospects": int((~purchaser).sum()),
        "segment_sizes": sizes,
        "segment_revenue_share": {
            code: float(revenue.get(code, 0.0)) / total if total > 0 else 0.0
            for code in sizes
        },
        "lifecycle_sizes": _sizes(result["lifecycle_stage"], []),
        "value_tier_sizes": _sizes(result.loc[purchaser, "value_tier"], []),
        **_cluster_metrics(result, config.random_state),
        "ari_previous": _ari(result, previous),
        "likelihood_method": None,
    }
    quality.update(result.attrs.get("model", {}))
    return quality
