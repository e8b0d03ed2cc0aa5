"""Pure-Python analytics engine of custseg (no Odoo import anywhere below).

Public API::

    from custseg_module.engine import (
        SegmentationConfig, segment_customers, evaluate_segmentation,
        DEFAULT_SEGMENT_GRID, SEGMENT_CODES, grid_problems, rescale_grid,
        validate_grid,
    )
    result = segment_customers(transactions, as_of, config=None,
                               previous=None, partners=None)
    quality = result.attrs["quality"]

Modules, one job each: :mod:`.config` (parameters, grid checks),
:mod:`.validation` (inputs), :mod:`.metrics` (recency/frequency/monetary),
:mod:`.scoring` (scores, segments, value tiers), :mod:`.lifecycle`,
:mod:`.prediction` and :mod:`.bgnbd` (purchase probability, CLV),
:mod:`.clustering`, :mod:`.quality`, :mod:`.threads`, :mod:`.api` (orchestration, output
columns and prospect sentinels).
"""

from .api import RESULT_COLUMNS, segment_customers
from .config import (
    DEFAULT_SEGMENT_GRID,
    PROSPECT,
    SEGMENT_CODES,
    SegmentationConfig,
    grid_problems,
    rescale_grid,
    validate_grid,
)
from .quality import evaluate_segmentation

__all__ = [
    "DEFAULT_SEGMENT_GRID",
    "PROSPECT",
    "RESULT_COLUMNS",
    "SEGMENT_CODES",
    "SegmentationConfig",
    "evaluate_segmentation",
    "grid_problems",
    "rescale_grid",
    "segment_customers",
    "validate_grid",
]
