"""Time the grid editor's what-if preview in the engine (no database).

The preview's SQL sends groups, not customers: (segment, R, F, locked) when the
bins stay (at most segments × bins² × 2 rows), or (segment, last purchase day,
frequency, locked) when they change. This times ``segment_moves`` on the
second, worst case: one row per distinct (last day, frequency) pair of a
simulated population, with the engine's weighted rank scores.

    python3 benchmarks/bench_grid_preview.py [customers]
"""

import sys
import types
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd

ADDON = Path(__file__).resolve().parents[1] / "custseg_module"
package = types.ModuleType("custseg_module")
package.__path__ = [str(ADDON)]
sys.modules.setdefault("custseg_module", package)

from custseg_module.engine import DEFAULT_SEGMENT_GRID  # noqa: E402
from custseg_module.engine.config import rescale_grid  # noqa: E402
from custseg_module.engine.grid_preview import segment_moves  # noqa: E402


def main(customers):
    rng = np.random.default_rng(42)
    last_day = rng.integers(0, 3 * 365, customers)
    frequency = np.minimum(rng.geometric(0.35, customers), 200)
    segment = rng.choice(list(DEFAULT_SEGMENT_GRID), customers)
    people = pd.DataFrame(
        {"segment": segment, "last_day": last_day, "frequency": frequency}
    )
    groups = (
        people.groupby(["segment", "last_day", "frequency"])
        .size()
        .rename("customers")
        .reset_index()
        .assign(locked=False)
    )
    grid, _vanished = rescale_grid(DEFAULT_SEGMENT_GRID, 5, 7)
    start = perf_counter()
    moves = segment_moves(groups, grid, 7)
    seconds = perf_counter() - start
    print(
        f"{customers} customers, {len(groups)} groups: segment_moves on 7 bins "
        f"in {seconds:.3f} s, {int(moves['customers'].sum())} customers counted"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
