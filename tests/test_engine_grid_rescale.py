"""rescale_grid: moving the R×F rule grid to another number of score bins."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg_module.engine import DEFAULT_SEGMENT_GRID, grid_problems, rescale_grid


def test_doubling_the_bins_doubles_every_range():
    grid, vanished = rescale_grid(DEFAULT_SEGMENT_GRID, 5, 10)
    assert vanished == []
    assert grid_problems(grid, 10) == []
    for code, (r_min, r_max, f_min, f_max) in DEFAULT_SEGMENT_GRID.items():
        assert grid[code] == (2 * r_min - 1, 2 * r_max, 2 * f_min - 1, 2 * f_max)


def test_same_bins_change_nothing():
    assert rescale_grid(DEFAULT_SEGMENT_GRID, 5, 5) == (dict(DEFAULT_SEGMENT_GRID), [])


def test_fewer_bins_keep_the_cover_and_name_the_segments_left_without_cells():
    grid, vanished = rescale_grid(DEFAULT_SEGMENT_GRID, 5, 3)
    assert grid_problems(grid, 3) == []
    assert vanished
    assert set(grid) | set(vanished) == set(DEFAULT_SEGMENT_GRID)
    assert not set(grid) & set(vanished)
    # The best and the worst corners keep their owners.
    owner = {
        (r, f): code
        for code, (r_lo, r_hi, f_lo, f_hi) in grid.items()
        for r in range(r_lo, r_hi + 1)
        for f in range(f_lo, f_hi + 1)
    }
    assert owner[3, 3] == "champions"
    assert owner[1, 1] == "lost"


def test_there_and_back_again_is_the_identity():
    grid, _ = rescale_grid(DEFAULT_SEGMENT_GRID, 5, 10)
    assert rescale_grid(grid, 10, 5) == (dict(DEFAULT_SEGMENT_GRID), [])


@pytest.mark.parametrize(
    ("grid", "old_bins", "new_bins", "message"),
    [
        (DEFAULT_SEGMENT_GRID, 5, 1, "new_bins"),
        (DEFAULT_SEGMENT_GRID, 0, 5, "old_bins"),
        (DEFAULT_SEGMENT_GRID, 5, 4.0, "new_bins"),
        (DEFAULT_SEGMENT_GRID, 5, True, "new_bins"),
        (DEFAULT_SEGMENT_GRID, 4, 8, "segment_grid"),
        ({"all": (1, 5, 1, 4)}, 5, 10, "missing cells"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(grid, old_bins, new_bins, message):
    with pytest.raises(ValueError, match=message):
        rescale_grid(grid, old_bins, new_bins)


@st.composite
def grids(draw):
    """A random valid grid: the R axis and the F axis cut into bands, one
    segment per (R band, F band)."""
    bins = draw(st.integers(2, 9))

    def bands():
        cuts = sorted(draw(st.sets(st.integers(1, bins - 1), max_size=bins - 1)))
        edges = [0, *cuts, bins]
        return [(lo + 1, hi) for lo, hi in zip(edges, edges[1:], strict=False)]

    grid = {
        f"s{i}_{j}": (r_lo, r_hi, f_lo, f_hi)
        for i, (r_lo, r_hi) in enumerate(bands())
        for j, (f_lo, f_hi) in enumerate(bands())
    }
    return grid, bins


@given(grids(), st.integers(2, 12))
def test_any_valid_grid_stays_valid_on_any_scale(grid_and_bins, new_bins):
    grid, old_bins = grid_and_bins
    new_grid, vanished = rescale_grid(grid, old_bins, new_bins)
    assert grid_problems(new_grid, new_bins) == []
    assert sorted([*new_grid, *vanished]) == sorted(grid)
    if new_bins >= old_bins:
        assert vanished == []
