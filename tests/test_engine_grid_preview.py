"""segment_moves / weighted_rank_scores: the what-if preview of a new grid."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg_module.engine import DEFAULT_SEGMENT_GRID
from custseg_module.engine.grid_preview import segment_moves, weighted_rank_scores
from custseg_module.engine.scoring import rank_scores


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=200),
    st.integers(2, 9),
)
def test_weighted_scores_equal_scores_of_every_customer(values, bins):
    values = np.array(values, dtype=np.int64)
    distinct, counts = np.unique(values, return_counts=True)
    per_customer = rank_scores(values, bins)
    weighted = weighted_rank_scores(distinct[::-1], counts[::-1], bins)[::-1]
    for value, score in zip(distinct, weighted, strict=True):
        assert set(per_customer[values == value]) == {score}


def _grid_population():
    """One customer per cell of the 5 × 5 grid, in its default segment."""
    rows = []
    for r in range(1, 6):
        for f in range(1, 6):
            code = next(
                c
                for c, (r0, r1, f0, f1) in DEFAULT_SEGMENT_GRID.items()
                if r0 <= r <= r1 and f0 <= f <= f1
            )
            rows.append({"segment": code, "r_score": r, "f_score": f, "customers": 1})
    return pd.DataFrame(rows).assign(locked=False)


def test_same_grid_moves_nobody():
    moves = segment_moves(_grid_population(), DEFAULT_SEGMENT_GRID, 5)
    assert (moves["from"] == moves["to"]).all()
    assert moves["customers"].sum() == 25


def test_moving_row_three_of_loyal_to_need_attention():
    grid = dict(DEFAULT_SEGMENT_GRID)
    grid["loyal"] = (4, 4, 4, 5)
    grid["need_attention"] = (3, 3, 3, 5)
    moves = segment_moves(_grid_population(), grid, 5)
    moved = moves[moves["from"] != moves["to"]]
    assert moved.to_dict("records") == [
        {"from": "loyal", "to": "need_attention", "customers": 2}
    ]


def test_locked_customers_stay():
    population = _grid_population()
    population["locked"] = population["segment"] == "loyal"
    grid = dict(DEFAULT_SEGMENT_GRID)
    grid["loyal"] = (4, 4, 4, 5)
    grid["need_attention"] = (3, 3, 3, 5)
    moves = segment_moves(population, grid, 5)
    assert (moves["from"] == moves["to"]).all()


def test_new_bins_score_anew_from_last_day_and_frequency():
    # 10 customers: last day 1..10, frequency 1..10, all "lost" today.
    groups = pd.DataFrame(
        {
            "segment": ["lost"] * 10,
            "last_day": np.arange(1, 11),
            "frequency": np.arange(1, 11),
            "customers": 1,
            "locked": False,
        }
    )
    grid = {"low": (1, 1, 1, 2), "high": (2, 2, 1, 2)}
    moves = segment_moves(groups, grid, 2)
    assert moves.to_dict("records") == [
        {"from": "lost", "to": "high", "customers": 5},
        {"from": "lost", "to": "low", "customers": 5},
    ]


def test_invalid_grid_or_scores_raise():
    with pytest.raises(ValueError, match="missing cells"):
        segment_moves(_grid_population(), {"loyal": (1, 5, 1, 4)}, 5)
    out_of_range = _grid_population()
    out_of_range.loc[0, "r_score"] = 6
    with pytest.raises(ValueError, match="r_score, f_score"):
        segment_moves(out_of_range, DEFAULT_SEGMENT_GRID, 5)
    with pytest.raises(ValueError, match="missing columns"):
        segment_moves(pd.DataFrame({"segment": []}), DEFAULT_SEGMENT_GRID, 5)
