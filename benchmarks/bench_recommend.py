"""Cost of the recommendation phase (issue #18) in a first run.

Usage::

    python3 benchmarks/bench_recommend.py --sizes 100000:1000000

For each size it builds (once) ``reco_bench_<N>_<M>``: a clone of the
benchmark base built as build_db builds it, but named ``reco_bench_base``
(so that the shared base, which other benchmarks use, is left alone),
populated by ``build_db.populate`` (products and 3-5 invoice lines per
customer move included). It then times one first run on a fresh copy, in a
subprocess (``bench_run.py --worker run``), and prints the recommendation
phase against the rest of the run and the run's peak memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_run  # noqa: E402
import build_db  # noqa: E402

BASE = "reco_bench_base"


def ensure_database(customers, moves):
    # A base of its own, built as build_db builds the shared one: the shared
    # base may be in use (or updated) by another branch's benchmark.
    build_db.BASE_DB = BASE
    build_db.ensure_base(True)
    build_db.ensure_module_current(BASE)
    name = f"reco_bench_{customers}_{moves}"
    if build_db.database_exists(name):
        build_db.ensure_module_current(name)
        return name
    build_db.clone_database(BASE, name)
    with contextlib.closing(build_db.connect(name)) as conn:
        with conn.cursor() as cr:
            cr.execute("SET session_replication_role = replica")
            with build_db.indexes_rebuilt_after(
                cr, ["res_partner", "account_move", "account_move_line"]
            ):
                counts = build_db.populate(cr, customers, moves)
            cr.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute("VACUUM (ANALYZE) res_partner, account_move, account_move_line")
    print(f"built {name}: {counts}", file=sys.stderr, flush=True)
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000:1000000")
    args = parser.parse_args()
    results = []
    for size in args.sizes.split(","):
        customers, moves = (int(x) for x in size.split(":"))
        source = ensure_database(customers, moves)
        work = f"{source}_work"
        bench_run.fresh_copy(source, work)
        try:
            run = bench_run.in_subprocess("run", work, build_db.AS_OF)
        finally:
            build_db.drop_database(work)
        timings = run["timings"]
        phase = timings.get("recommendations", 0.0)
        rest = timings["total"] - phase
        result = {
            "customers": customers,
            "moves": moves,
            "state": run["state"],
            "recommendations_s": phase,
            "rest_of_run_s": round(rest, 3),
            "added_percent": round(100 * phase / rest, 1) if rest else None,
            "peak_rss_mb": run["peak_rss_mb"],
            "timings": timings,
        }
        results.append(result)
        print(json.dumps(result), flush=True)
    return results


if __name__ == "__main__":
    main()
