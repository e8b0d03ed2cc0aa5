# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Configuration of the segmentation engine and checks of the R×F segment grid.

A segment grid maps a segment code to an inclusive rectangle of recency and
frequency scores ``(r_min, r_max, f_min, f_max)``. A valid grid covers every
cell of the ``bins × bins`` score square exactly once, so every purchaser gets
exactly one segment. :func:`grid_problems` lists what is wrong with a grid in
plain words, so the Odoo layer can show the same message as the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType

PROSPECT = "prospect"

# (r_min, r_max, f_min, f_max), inclusive, for 5 bins; 5 is the best score.
DEFAULT_SEGMENT_GRID: dict[str, tuple[int, int, int, int]] = {
    "champions": (5, 5, 4, 5),
    "loyal": (3, 4, 4, 5),
    "potential_loyalist": (4, 5, 2, 3),
    "new": (5, 5, 1, 1),
    "promising": (4, 4, 1, 1),
    "need_attention": (3, 3, 3, 3),
    "about_to_sleep": (3, 3, 1, 2),
    "at_risk": (1, 2, 3, 4),
    "cant_lose": (1, 2, 5, 5),
    "hibernating": (2, 2, 1, 2),
    "lost": (1, 1, 1, 2),
}

# Display order: best customers first, then those slipping away, then prospects.
SEGMENT_CODES: tuple[str, ...] = (*DEFAULT_SEGMENT_GRID, PROSPECT)

MAX_BINS = 9  # one digit per score in the rfm_code string


def _cell(r: int, f: int) -> str:
    return f"R{r}F{f}"


def grid_problems(grid: Mapping[str, tuple[int, ...]], bins: int) -> list[str]:
    """Return human-readable problems of ``grid`` for ``bins`` scores.

    The list is empty when the grid covers each of the ``bins × bins`` cells
    exactly once. Messages name the segment or the cells at fault, e.g.
    ``"missing cells R1F2, R3F3"`` or ``"doubled cells R5F5 (champions, loyal)"``.
    """
    problems: list[str] = []
    owners: dict[tuple[int, int], list[str]] = {}
    if not grid:
        problems.append("no segment defined")
    for code, bounds in grid.items():
        if not isinstance(code, str) or not code or code == PROSPECT:
            problems.append(f"invalid segment code {code!r}")
            continue
        try:
            r_min, r_max, f_min, f_max = (int(b) for b in bounds)
        except (TypeError, ValueError):
            problems.append(
                f"{code}: bounds must be four integers (r_min, r_max, f_min, f_max)"
            )
            continue
        bad = [
            name
            for name, value in (
                ("r_min", r_min),
                ("r_max", r_max),
                ("f_min", f_min),
                ("f_max", f_max),
            )
            if not 1 <= value <= bins
        ]
        if bad:
            problems.append(f"{code}: {', '.join(bad)} outside 1..{bins}")
            continue
        if r_min > r_max or f_min > f_max:
            problems.append(f"{code}: inverted range R{r_min}-{r_max} F{f_min}-{f_max}")
            continue
        for r in range(r_min, r_max + 1):
            for f in range(f_min, f_max + 1):
                owners.setdefault((r, f), []).append(code)
    if problems:
        return problems
    cells = [(r, f) for r in range(1, bins + 1) for f in range(1, bins + 1)]
    missing = [_cell(r, f) for r, f in cells if (r, f) not in owners]
    doubled = [
        f"{_cell(r, f)} ({', '.join(owners[r, f])})"
        for r, f in cells
        if len(owners.get((r, f), ())) > 1
    ]
    if missing:
        problems.append("missing cells " + ", ".join(missing))
    if doubled:
        problems.append("doubled cells " + ", ".join(doubled))
    return problems


def validate_grid(grid: Mapping[str, tuple[int, ...]], bins: int) -> None:
    """Raise ``ValueError("segment_grid: ...")`` when ``grid`` is not valid."""
    problems = grid_problems(grid, bins)
    if problems:
        raise ValueError("segment_grid: " + "; ".join(problems))


def rescale_grid(
    grid: Mapping[str, tuple[int, ...]], old_bins: int, new_bins: int
) -> tuple[dict[str, tuple[int, int, int, int]], list[str]]:
    """``grid`` for ``old_bins`` scores moved onto ``new_bins`` scores.

    Each boundary between scores ``b`` and ``b + 1`` moves to the nearest
    boundary of the new scale, in proportion, so a grid that covered every
    cell exactly once still does. Returns ``(new_grid, vanished)``: with
    fewer bins a segment can shrink to no cell; it is left out of
    ``new_grid`` and named in ``vanished``. Raises ``ValueError`` for bins
    below 2 or a grid that is not valid for ``old_bins``.
    """
    for name, value in (("old_bins", old_bins), ("new_bins", new_bins)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name}: must be an integer >= 2, got {value!r}")
    validate_grid(grid, old_bins)

    def boundary(b: int) -> int:
        # Round half up, in integers: no float rounding surprise at .5.
        return (2 * b * new_bins + old_bins) // (2 * old_bins)

    new_grid: dict[str, tuple[int, int, int, int]] = {}
    vanished: list[str] = []
    for code, (r_min, r_max, f_min, f_max) in grid.items():
        r_lo, r_hi = boundary(r_min - 1) + 1, boundary(r_max)
        f_lo, f_hi = boundary(f_min - 1) + 1, boundary(f_max)
        if r_lo > r_hi or f_lo > f_hi:
            vanished.append(code)
        else:
            new_grid[code] = (r_lo, r_hi, f_lo, f_hi)
    return new_grid, vanished


def _default_grid() -> Mapping[str, tuple[int, int, int, int]]:
    return MappingProxyType(dict(DEFAULT_SEGMENT_GRID))


@dataclass(frozen=True)
class SegmentationConfig:
    """Tunable parameters; ``__post_init__`` rejects invalid values.

    Every ``ValueError`` message starts with the name of the offending field.

    * ``bins``: number of score levels (2..9); other than 5 needs a matching
      ``segment_grid``.
    * ``lookback_days``: only days ``as_of - lookback_days < day <= as_of``
      count; None = all history. Partners without a purchase day in the
      window are prospects.
    * ``tier_cuts``: cumulative revenue shares ending ``key``, ``important``
      and ``ordinary``; the rest is ``small``.
    * ``loyal_min_frequency``, ``at_risk_gap_multiple``, ``at_risk_min_days``,
      ``at_risk_max_days``, ``churn_days``: lifecycle rules (see
      :mod:`.lifecycle`).
    * ``horizon_days``: horizon of ``purchase_probability``; ``clv_days``:
      horizon of ``predicted_clv``.
    * ``clustering``, ``k_min``, ``k_max``, ``random_state``: see
      :mod:`.clustering`; ``random_state`` seeds every sample and model.
    * ``segment_grid``: code -> (r_min, r_max, f_min, f_max), stored as a
      read-only copy.
    """

    bins: int = 5
    lookback_days: int | None = None
    tier_cuts: tuple[float, float, float] = (0.5, 0.8, 0.95)
    loyal_min_frequency: int = 4
    at_risk_gap_multiple: float = 2.0
    at_risk_min_days: int = 30
    at_risk_max_days: int = 180
    churn_days: int = 365
    horizon_days: int = 90
    clv_days: int = 365
    clustering: bool = True
    k_min: int = 2
    k_max: int = 8
    random_state: int = 42
    segment_grid: Mapping[str, tuple[int, int, int, int]] = field(
        default_factory=_default_grid
    )

    def __post_init__(self) -> None:
        def fail(name: str, why: str) -> None:
            raise ValueError(f"{name}: {why} (got {getattr(self, name)!r})")

        def integer(name: str, minimum: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                fail(name, "must be an integer")
            if value < minimum:
                fail(name, f"must be >= {minimum}")

        integer("bins", 2)
        if self.bins > MAX_BINS:
            fail("bins", f"must be <= {MAX_BINS}")
        if self.lookback_days is not None:
            integer("lookback_days", 1)
        integer("loyal_min_frequency", 2)
        integer("at_risk_min_days", 0)
        integer("at_risk_max_days", 0)
        if self.at_risk_min_days > self.at_risk_max_days:
            fail("at_risk_min_days", "must not exceed at_risk_max_days")
        integer("churn_days", 1)
        integer("horizon_days", 1)
        integer("clv_days", 1)
        integer("k_min", 2)
        integer("k_max", 2)
        if self.k_min > self.k_max:
            fail("k_min", "must not exceed k_max")
        integer("random_state", 0)
        if not isinstance(self.clustering, bool):
            fail("clustering", "must be a bool")
        multiple = self.at_risk_gap_multiple
        if (
            isinstance(multiple, bool)
            or not isinstance(multiple, (int, float))
            or not math.isfinite(multiple)
            or multiple <= 0
        ):
            fail("at_risk_gap_multiple", "must be a positive number")
        self._check_tier_cuts()
        if not isinstance(self.segment_grid, Mapping):
            fail(
                "segment_grid", "must be a mapping code -> (r_min, r_max, f_min, f_max)"
            )
        validate_grid(self.segment_grid, self.bins)
        grid = {code: tuple(int(b) for b in v) for code, v in self.segment_grid.items()}
        # Frozen: store a read-only copy so later edits of the caller's dict
        # cannot change a config that was already validated.
        object.__setattr__(self, "segment_grid", MappingProxyType(grid))
        object.__setattr__(self, "tier_cuts", tuple(float(c) for c in self.tier_cuts))

    def _check_tier_cuts(self) -> None:
        cuts = self.tier_cuts
        try:
            values = [float(c) for c in cuts]
        except (TypeError, ValueError):
            raise ValueError(f"tier_cuts: must be 3 numbers (got {cuts!r})") from None
        ok = (
            len(values) == 3
            and all(0.0 < c < 1.0 for c in values)
            and all(a < b for a, b in pairwise(values))
        )
        if not ok:
            raise ValueError(
                "tier_cuts: must be 3 strictly increasing shares in (0, 1)"
                f" (got {cuts!r})"
            )
