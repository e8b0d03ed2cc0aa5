"""Where a first run's write-back spends its time: the same first
``run_segmentation`` on fresh copies of one benchmark database, each copy
without one of the costs of ``UPDATE res_partner`` (README.md, Performance).

Usage (diagnostics, not part of ``make bench``)::

    python3 benchmarks/update_anatomy.py --customers 1000000 --moves 10000000

The variants disable triggers and drop indexes, which needs a superuser, on
throw-away copies; the built database is never touched. The difference of a
variant's ``write_back`` to the first line's is what that part costs. A run
without the foreign-key checks or the indexes is no option for the module:
they are Odoo's, or guard the segment link.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import bench_run
import build_db

# (label, a query whose one value is the statement that removes the cost)
VARIANTS = [
    ("as the module runs it", None),
    (
        "without the customer_segment_id foreign-key check",
        """
        SELECT 'ALTER TABLE res_partner DISABLE TRIGGER ' || quote_ident(t.tgname)
          FROM pg_trigger t
          JOIN pg_constraint c ON c.oid = t.tgconstraint
         WHERE c.conname = 'res_partner_customer_segment_id_fkey'
           AND t.tgfoid = 'pg_catalog."RI_FKey_check_upd"'::regproc
        """,
    ),
    (
        "without any trigger (every foreign-key check)",
        """
        SELECT format('ALTER DATABASE %I SET session_replication_role = replica',
                      current_database())
        """,
    ),
    (
        "without the module's customer_segment_id index",
        "SELECT 'DROP INDEX res_partner__customer_segment_id_index'",
    ),
    (
        # Every non-unique b-tree index on all rows, Odoo's and the module's;
        # the partial ones index almost no row.
        "without any non-unique index (Odoo's eight and the module's)",
        """
        SELECT 'DROP INDEX ' || string_agg(quote_ident(i.relname), ', ')
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
         WHERE x.indrelid = 'res_partner'::regclass
           AND NOT x.indisunique AND x.indpred IS NULL AND x.indexprs IS NULL
        """,
    ),
]


def removing(generator):
    """A ``bench_run.fresh_copy`` preparation: run the statement ``generator``
    builds in the copy."""
    if not generator:
        return None

    def prepare(cr):
        cr.execute(generator)
        statement = cr.fetchone()[0]
        if not statement:
            raise SystemExit(f"nothing to remove for {generator!r}")
        cr.execute(statement)

    return prepare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--moves", type=int, default=10_000_000)
    parser.add_argument("--as-of", default=build_db.AS_OF.isoformat())
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)
    source = bench_run.built_database(args.customers, args.moves, as_of)
    dbname = f"{source}_anatomy"
    rows = []
    for label, generator in VARIANTS:
        print(f"{dbname}: first run {label}", file=sys.stderr, flush=True)
        try:
            bench_run.fresh_copy(source, dbname, removing(generator))
            result = bench_run.in_subprocess("run", dbname, as_of)
        finally:
            build_db.drop_database(dbname)
        rows.append((label, result))
    base = rows[0][1]["timings"]["write_back"]
    print(f"\n{args.customers:,} customers / {args.moves:,} moves, first runs\n")
    print("| run | partner rows written | write_back | its cost | total |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, result in rows:
        timings = result["timings"]
        cost = "" if result is rows[0][1] else f"{base - timings['write_back']:.1f} s"
        print(
            f"| {label} | {result['rows_written']:,} | {timings['write_back']:.1f} s "
            f"| {cost} | {timings['total']:.1f} s |"
        )


if __name__ == "__main__":
    main()
