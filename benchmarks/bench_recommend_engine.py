"""Time and peak memory of the recommendation engine alone, no database.

Usage::

    python3 benchmarks/bench_recommend_engine.py --customers 100000 --moves 1000000
    python3 benchmarks/bench_recommend_engine.py ... --profile   # cProfile top 25

Builds in memory the invoice-line frame the run reads
(``custseg.run._phase_invoice_lines``: partner_id, product_id, day,
quantity) with build_db's distribution: moves uniform over the 3 years before
the as-of date, 97 % of the customers one move each and the rest skewed to a
few heavy buyers, 3-5 lines per move, 70 % from the customer's home theme of
50 products (u³), 30 % from all 5,000 (u⁴), 7 % refunds; the whole 3 years
by default, as the run reads them without a lookback setting
(``--lookback-days`` keeps a window). One row per line, as the query reads
them.
Then times ``recommend_products`` and both ``segment_profiles`` calls and
prints the peak RSS of the process (ru_maxrss), which includes the input
(build it once with ``--cache`` so that the building's temporaries do not
count).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from custseg_module.engine.recommend import (  # noqa: E402
    grouped_pairs,
    purchase_pairs,
    recommend_products,
    segment_profiles,
)
from custseg_module.engine.validation import to_day  # noqa: E402

AS_OF = date(2026, 6, 30)
PRODUCTS = 5_000
THEMES = 100
SEGMENTS = ("champions", "loyal", "potential", "new", "at_risk", "lost", "hibernating")


def synthetic_lines(customers, moves, lookback_days, seed=42):
    rng = np.random.default_rng(seed)
    as_of = to_day(AS_OF)
    first = customers * 97 // 100
    partner = np.concatenate(
        [
            np.arange(first),
            np.floor(first * rng.random(moves - first) ** 2).astype(np.int64),
        ]
    )
    day = as_of - rng.integers(0, 3 * 365, moves)
    refund = rng.random(moves) < 0.07
    inside = day > as_of - lookback_days
    partner, day, refund = partner[inside], day[inside], refund[inside]
    n_lines = 3 + np.arange(len(partner)) % 3
    move = np.repeat(np.arange(len(partner)), n_lines)
    partner_l = partner[move]
    themed = rng.random(len(move)) < 0.7
    in_theme = (
        1
        + partner_l % THEMES
        + THEMES
        * np.floor((PRODUCTS // THEMES) * rng.random(len(move)) ** 3).astype(np.int64)
    )
    anywhere = 1 + np.floor(PRODUCTS * rng.random(len(move)) ** 4).astype(np.int64)
    product = np.where(themed, in_theme, anywhere)
    quantity = np.where(refund[move], -1.0, 1.0)
    # The dtypes of custseg.run._phase_invoice_lines.
    frame = pd.DataFrame(
        {
            "partner_id": (partner_l + 1_000).astype(np.int32),
            "product_id": (product + 10).astype(np.int32),
            "day": day[move].astype(np.int32),
            "quantity": quantity,
        }
    )
    segments = pd.Series(
        np.asarray(SEGMENTS, dtype=object)[rng.integers(0, len(SEGMENTS), customers)],
        index=np.arange(customers) + 1_000,
    )
    return frame, segments


def run(lines, segments, lookback_days):
    """As the run does: the lines read once into purchase pairs, then the
    recommendations and both profiles (products, categories) from those."""
    timings = {}
    start = time.perf_counter()
    cpu = time.process_time()
    pairs = purchase_pairs(lines, AS_OF, lookback_days)
    timings["purchase_pairs_s"] = round(time.perf_counter() - start, 3)
    result = recommend_products(
        pairs,
        AS_OF,
        segments=segments,
        allowed_products=np.arange(10, PRODUCTS + 11),
        top_n=5,
    )
    timings["recommend_products_s"] = round(time.perf_counter() - start, 3)
    timings["recommend_products_cpu_s"] = round(time.process_time() - cpu, 3)
    start = time.perf_counter()
    segment_profiles(pairs, None, segments, top_n=5)
    timings["profile_product_id_s"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    categories = pd.Series(1.0 + pairs.products % 10, index=pairs.products)
    segment_profiles(grouped_pairs(pairs, categories), None, segments, top_n=5)
    timings["profile_categ_id_s"] = round(time.perf_counter() - start, 3)
    return result, timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--lookback-days", type=int, default=36500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--cache",
        help="pickle of the input: written (then exit) when absent, read when "
        "present, so that the peak RSS leaves out the building's temporaries",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    if args.cache and Path(args.cache).exists():
        lines, segments = pd.read_pickle(args.cache)
    else:
        lines, segments = synthetic_lines(
            args.customers, args.moves, args.lookback_days
        )
        if args.cache:
            pd.to_pickle((lines, segments), args.cache)
            return
    built = round(time.perf_counter() - start, 3)
    rss_input = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    result, timings = run(lines, segments, args.lookback_days)
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
            25
        )
    print(
        json.dumps(
            {
                "customers": args.customers,
                "moves": args.moves,
                "lines": len(lines),
                "build_input_s": built,
                **timings,
                "recommendations": len(result),
                "peak_rss_after_input_mb": rss_input,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
