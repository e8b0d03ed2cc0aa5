"""End-to-end timing of ``custseg.run.run_segmentation`` on benchmark databases.

Usage (``benchmarks/run.sh`` calls it; see README.md)::

    python3 benchmarks/bench_run.py --sizes 10000:100000,100000:1000000 \
        --naive 10000 --install 1000000:10000000

For each size it builds the database if missing (``build_db.py``), then, each
in a fresh Python process so that ``ru_maxrss`` is that job's alone:

1. ``run``: a first run (every customer gets its figures: the cold case) and
   commit; the run's phase timings come from ``run.timings``;
2. ``again``: a second run, same ``as_of``, no new invoice: the fraction of
   partner rows it wrote (rows whose ``xmin`` is the run's transaction or one
   of its subtransactions: nothing else writes to a benchmark database);
3. ``next-day``, ``day-after`` and ``third-night``: runs one, two and three
   days later, still no new invoice (the daily cron), with no VACUUM in
   between; for the first run and these, how many res_partner updates were
   HOT, the size of its heap and the WAL the run wrote
   (``pg_current_wal_lsn()`` before and after; cluster-wide);
4. ``new_invoices``: a fourth night, after a day's posted customer invoices
   (a copy of those of a week before, lines included, made in SQL by
   ``post_a_days_invoices``): a real night, where the recommendations are
   recomputed and the profit phase computes only the new invoices' lines;
5. ``naive`` (one size): the reference job below, rolled back; then again
   without the module's covering index on account_move (dropped inside the
   rolled-back transaction), as a naive module's database has no such index;
6. ``install``: ``odoo-bin -i custseg_module`` on a copy of a database with
   that many partners and moves but without the module.

The naive job is what the module replaces: for every customer, an ORM search
of its posted invoices and refunds, R/F/M in Python, quintile scores, the
segment from the grid, and one ``partner.write`` per customer. Mail tracking
is disabled for it (the run posts no tracking either), so the ratio is, if
anything, flattering to the naive job.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from psycopg2 import sql

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build_db  # noqa: E402
import odoo_env  # noqa: E402
from odoo_env import environment, odoo_bin  # noqa: E402

# The worker name of the naive job run without the module's index.
NAIVE_NO_INDEX = "naive_no_index"


def rss_mb(kind="peak"):
    """Peak RSS (ru_maxrss), or a /proc/self/status figure: "VmRSS" (now),
    "VmPeak" (peak virtual size, what Odoo's limit_memory_hard caps)."""
    if kind == "peak":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{kind}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu_seconds(pid):
    """CPU time of the PostgreSQL backend serving this cursor (same machine);
    parallel query workers are not included."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- workers
def job_run(dbname, as_of):
    """One committed run_segmentation; prints its measurements as JSON."""
    with environment(dbname) as env:
        baseline = rss_mb("VmRSS")
        explain = os.environ.get("BENCH_AUTO_EXPLAIN")
        if explain:
            # Diagnostics only (timing overhead): plans of the run's slow
            # statements, with trigger times, go to the PostgreSQL server log.
            env.cr.execute("LOAD 'auto_explain'")
            env.cr.execute(
                "SELECT set_config('auto_explain.log_min_duration', %s, false)",
                (explain,),
            )
            for setting in ("analyze", "buffers", "triggers", "nested_statements"):
                env.cr.execute(
                    "SELECT set_config(%s, 'on', false)",
                    (f"auto_explain.log_{setting}",),
                )
        # The first transaction id of the run: the rows it writes get this one
        # or a later one (its savepoint's) as xmin.
        env.cr.execute(
            "SELECT pg_backend_pid(), pg_current_xact_id()::text::bigint % 4294967296"
        )
        backend, first_xid = env.cr.fetchone()
        # WAL is cluster-wide: another database's writes meanwhile count too.
        env.cr.execute("SELECT pg_current_wal_lsn()::text")
        wal_before = env.cr.fetchone()[0]
        db_cpu_before = backend_cpu_seconds(backend)
        cpu_before = cpu_seconds()
        started = time.monotonic()
        run = env["custseg.run"].run_segmentation(as_of=as_of)
        env.cr.commit()
        wall = time.monotonic() - started
        cpu = cpu_seconds() - cpu_before
        db_cpu = backend_cpu_seconds(backend) - db_cpu_before
        env.cr.execute(
            """
            SELECT COUNT(*) FILTER (WHERE xmin::text::bigint >= %s), COUNT(*)
              FROM res_partner
            """,
            (first_xid,),
        )
        written, partner_rows = env.cr.fetchone()
        env.cr.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn) / 2 ^ 20",
            (wal_before,),
        )
        wal_mb = env.cr.fetchone()[0]
        return {
            "wal_mb": round(wal_mb, 1),
            "deferred_count": run.deferred_count,
            "run_id": run.id,
            "state": run.state,
            "wall": round(wall, 3),
            "timings": run.timings,
            "partner_count": run.partner_count,
            "transaction_count": run.transaction_count,
            "changed_count": run.changed_count,
            "history_count": run.history_count,
            "rows_written": written,
            "partner_rows": partner_rows,
            "baseline_rss_mb": round(baseline),
            "peak_rss_mb": round(rss_mb()),
            "peak_virtual_mb": round(rss_mb("VmPeak")),
            "cpu_seconds": round(cpu, 2),
            "db_cpu_seconds": round(db_cpu, 2),
            # The machine is shared: other jobs slow a run down.
            "load_average": round(os.getloadavg()[0], 2),
        }


def job_naive(dbname, as_of, without_index=False):
    """The naive ORM job, timed, then rolled back.

    ``without_index``: without the module's covering index on account_move,
    as a naive module's database has it; Odoo indexes no column of that
    domain but the dates, so each customer's search scans the moves. The
    rollback restores the index.
    """
    with environment(dbname) as env:
        env = env(context=dict(env.context, tracking_disable=True))
        if without_index:
            from odoo.tools import SQL

            from odoo.addons.custseg_module.models.account_move import (
                CUSTOMER_MOVES_INDEX,
            )

            env.cr.execute(SQL("DROP INDEX %s", SQL.identifier(CUSTOMER_MOVES_INDEX)))
        started = time.monotonic()
        count = naive_segmentation(env, as_of)
        env.flush_all()
        seconds = time.monotonic() - started
        env.cr.rollback()
        return {"seconds": round(seconds, 3), "partners": count}


def naive_segmentation(env, as_of, bins=5):
    company = env.company
    partners = env["res.partner"].search(
        [("customer_rank", ">", 0), ("is_company", "in", (True, False))]
    )
    partners = partners.filtered(lambda p: p.commercial_partner_id == p)
    figures = {}
    for partner in partners:
        invoices = env["account.move"].search(
            [
                ("commercial_partner_id", "=", partner.id),
                ("state", "=", "posted"),
                ("move_type", "in", ("out_invoice", "out_refund")),
                ("invoice_date", "<=", as_of),
            ]
        )
        by_day = {}
        for invoice in invoices:
            amount = invoice.company_id.currency_id._convert(
                invoice.amount_untaxed_signed,
                company.currency_id,
                company,
                invoice.invoice_date,
            )
            by_day[invoice.invoice_date] = by_day.get(invoice.invoice_date, 0) + amount
        days = [day for day, amount in by_day.items() if amount > 0]
        if days:
            figures[partner.id] = (
                (as_of - max(days)).days,
                len(days),
                sum(by_day.values()),
            )

    def scores(values):
        order = sorted(values, key=values.get)
        return {pid: 1 + rank * bins // len(order) for rank, pid in enumerate(order)}

    r_scores = scores({pid: -f[0] for pid, f in figures.items()})
    f_scores = scores({pid: f[1] for pid, f in figures.items()})
    m_scores = scores({pid: f[2] for pid, f in figures.items()})
    segments = env["custseg.segment"]
    grid = segments._rule_grid()
    by_code = {s.code: s for s in segments.search([])}
    prospect = segments._prospect_segment()
    for partner in partners:
        if partner.id not in figures:
            partner.write({"customer_segment_id": prospect.id, "rfm_r_score": 0})
            continue
        _recency, frequency, monetary = figures[partner.id]
        r, f, m = r_scores[partner.id], f_scores[partner.id], m_scores[partner.id]
        code = next(
            code
            for code, (r_min, r_max, f_min, f_max) in grid.items()
            if r_min <= r <= r_max and f_min <= f <= f_max
        )
        partner.write(
            {
                "customer_segment_id": by_code[code].id,
                "segment_locked": False,
                "rfm_frequency": frequency,
                "rfm_monetary": monetary,
                "rfm_r_score": r,
                "rfm_f_score": f,
                "rfm_m_score": m,
                "rfm_code": f"{r}{f}{m}",
            }
        )
    return len(partners)


def worker(args):
    as_of = date.fromisoformat(args.as_of)
    if args.worker == "run":
        result = job_run(args.db, as_of)
    else:
        result = job_naive(args.db, as_of, without_index=args.worker == NAIVE_NO_INDEX)
    print("BENCH " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------- driver
def in_subprocess(job, dbname, as_of, profile=None):
    command = [sys.executable, __file__, "--worker", job, "--db", dbname]
    command += ["--as-of", as_of.isoformat()]
    if profile:
        command = ["py-spy", "record", "-r", "50", "-f", "raw", "-o", profile, "--"]
        command += [sys.executable, __file__, "--worker", job, "--db", dbname]
        command += ["--as-of", as_of.isoformat()]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


def time_install(customers, moves):
    """Install the module on a throw-away copy of a database without it."""
    source = build_db.default_name(customers, moves, with_module=False)
    if not build_db.database_exists(source):
        print(f"building {source}", file=sys.stderr, flush=True)
        build_db.build(customers, moves, source, with_module=False)
    target = f"{build_db.BENCH_PREFIX}_install_{customers}"
    build_db.clone_database(source, target)
    try:
        started = time.monotonic()
        subprocess.run(
            odoo_bin(
                "-d",
                target,
                "-i",
                "custseg_module",
                *odoo_env.without_demo(),
                "--stop-after-init",
                "--log-level=warn",
            ),
            check=True,
        )
        return round(time.monotonic() - started, 1)
    finally:
        build_db.drop_database(target)


def partner_table_stats(dbname):
    """(HOT updates, all updates) of res_partner so far, from the statistics
    a finished run's backend has reported, and its heap's size in MB."""
    with contextlib.closing(build_db.connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT n_tup_hot_upd, n_tup_upd, pg_relation_size(relid) / 2 ^ 20 "
            "FROM pg_stat_user_tables WHERE relid = 'res_partner'::regclass"
        )
        return cr.fetchone()


def run_counting_hot(dbname, as_of, profile=None):
    """``in_subprocess("run")`` plus how many of its res_partner updates were
    HOT (heap-only: the row's new version stayed on its page, so no index
    got a new entry) and the size of res_partner's heap afterwards."""
    hot_before, updates_before, _heap = partner_table_stats(dbname)
    result = in_subprocess("run", dbname, as_of, profile)
    hot, updates, heap = partner_table_stats(dbname)
    result["hot_updates"] = hot - hot_before
    result["updates"] = updates - updates_before
    result["partner_heap_mb"] = round(heap)
    return result


def _columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in cr.fetchall()]


def _copy_rows(cr, table, join, overrides):
    """INSERT INTO ``table`` a copy of its rows ``t`` joined by ``join``
    (SQL), each column from ``t`` unless ``overrides`` gives its SQL."""
    columns = _columns(cr, table)
    values = [
        overrides.get(name, sql.SQL("t.{}").format(sql.Identifier(name)))
        for name in columns
    ]
    cr.execute(
        sql.SQL(
            "INSERT INTO {table} ({columns}) SELECT {values} FROM {table} t {join}"
        ).format(
            table=sql.Identifier(table),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=sql.SQL(", ").join(values),
            join=join,
        )
    )
    return cr.rowcount


def post_a_days_invoices(dbname, source_day, day):
    """Post, dated ``day``, a copy of every posted customer invoice and refund
    of ``source_day`` with its lines, as a day's sales would (new ids, unique
    names); returns how many. SQL, as the builder's: the ORM would take
    minutes and the run reads only what it writes."""
    with contextlib.closing(build_db.connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute(
            "CREATE TEMP TABLE bench_new_moves AS "
            "SELECT id AS old_id, nextval('account_move_id_seq')::int AS new_id "
            "FROM account_move WHERE state = 'posted' "
            "AND move_type IN ('out_invoice', 'out_refund') AND invoice_date = %s",
            (source_day,),
        )
        now = sql.SQL("NOW() AT TIME ZONE 'UTC'")
        moves = _copy_rows(
            cr,
            "account_move",
            sql.SQL("JOIN bench_new_moves n ON n.old_id = t.id"),
            {
                "id": sql.SQL("n.new_id"),
                "name": sql.SQL("'BENCH/' || n.new_id"),
                "sequence_prefix": sql.SQL("'BENCH/'"),
                "sequence_number": sql.SQL("n.new_id"),
                "date": sql.Literal(day),
                "invoice_date": sql.Literal(day),
                "invoice_date_due": sql.Literal(day + timedelta(days=30)),
                "create_date": now,
                "write_date": now,
            },
        )
        _copy_rows(
            cr,
            "account_move_line",
            sql.SQL("JOIN bench_new_moves n ON n.old_id = t.move_id"),
            {
                "id": sql.SQL("nextval('account_move_line_id_seq')"),
                "move_id": sql.SQL("n.new_id"),
                "move_name": sql.SQL("'BENCH/' || n.new_id"),
                "date": sql.Literal(day),
                "create_date": now,
                "write_date": now,
            },
        )
        conn.commit()
    return moves


def built_database(customers, moves, as_of):
    """The name of the benchmark database of that size, built if missing and
    updated if the module changed since."""
    source = build_db.default_name(customers, moves)
    if not build_db.database_exists(source):
        print(f"building {source}", file=sys.stderr, flush=True)
        build_db.build(customers, moves, source, as_of=as_of)
    build_db.ensure_module_current(source)
    return source


def fresh_copy(source, dbname, prepare=None):
    """A settled copy of ``source``; ``prepare(cursor)``, when given, runs in
    it first (autocommit), e.g. to change a table setting for the runs."""
    build_db.clone_database(source, dbname)
    if prepare:
        with contextlib.closing(build_db.connect(dbname)) as conn:
            conn.autocommit = True
            with conn.cursor() as cr:
                prepare(cr)
    build_db.settle()


def set_fillfactor(fillfactor):
    """A ``fresh_copy`` preparation: res_partner's ``fillfactor`` (README,
    Performance: room on each page for the nightly update of every row)."""
    if not fillfactor:
        return None
    alter = sql.SQL("ALTER TABLE res_partner SET (fillfactor = {})")
    return lambda cr: cr.execute(alter.format(sql.Literal(fillfactor)))


def bench_size(
    customers, moves, as_of, naive, profile_dir=None, repeat=1, fillfactor=None
):
    """Runs on a copy of the built database, which stays pristine; with
    ``repeat`` > 1 the first run is timed again on that many fresh copies in
    all, since its wall time varies more between runs than its CPU time."""
    source = built_database(customers, moves, as_of)
    dbname = f"{source}_work"
    prepare = set_fillfactor(fillfactor)
    fresh_copy(source, dbname, prepare)
    profile = None
    if profile_dir:
        profile = str(Path(profile_dir) / f"run_{customers}_{moves}.txt")
    result = {"customers": customers, "moves": moves, "fillfactor": fillfactor}
    try:
        print(f"{dbname}: first run", file=sys.stderr, flush=True)
        result["first"] = run_counting_hot(dbname, as_of, profile)
        print(f"{dbname}: second run, same day", file=sys.stderr, flush=True)
        result["again"] = run_counting_hot(dbname, as_of)
        print(f"{dbname}: third run, next day", file=sys.stderr, flush=True)
        result["next_day"] = run_counting_hot(dbname, as_of + timedelta(days=1))
        print(f"{dbname}: fourth run, the day after", file=sys.stderr, flush=True)
        result["day_after"] = run_counting_hot(dbname, as_of + timedelta(days=2))
        print(f"{dbname}: fifth run, third night", file=sys.stderr, flush=True)
        result["third_night"] = run_counting_hot(dbname, as_of + timedelta(days=3))
        night = as_of + timedelta(days=4)
        print(
            f"{dbname}: sixth run, after a day's invoices", file=sys.stderr, flush=True
        )
        added = post_a_days_invoices(dbname, night - timedelta(days=7), night)
        result["new_invoices"] = run_counting_hot(dbname, night)
        result["new_invoices"]["invoices_added"] = added
        if naive:
            print(f"{dbname}: naive job", file=sys.stderr, flush=True)
            result["naive"] = in_subprocess("naive", dbname, as_of)
            print(f"{dbname}: naive job without the index", file=sys.stderr, flush=True)
            result[NAIVE_NO_INDEX] = in_subprocess(NAIVE_NO_INDEX, dbname, as_of)
    finally:
        build_db.drop_database(dbname)
    repeats = []
    for attempt in range(2, repeat + 1):
        print(f"{dbname}: first run on fresh copy {attempt}/{repeat}", file=sys.stderr)
        fresh_copy(source, dbname, prepare)
        try:
            repeats.append(run_counting_hot(dbname, as_of))
        finally:
            build_db.drop_database(dbname)
    if repeats:
        result["first_repeats"] = repeats
    return result


PHASES = ("aggregate", "engine", "write_back", "history", "activities", "total")


def markdown(results, install, naive_size):
    lines = [
        f"Machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} "
        f"GB RAM, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| customers / invoices | purchase days | "
        + " | ".join(PHASES)
        + " | CPU Odoo + PostgreSQL | load | peak RSS | 2nd run writes "
        "| next day writes |",
        "| --- | ---: | "
        + " | ".join("---:" for _ in PHASES)
        + " | ---: | ---: | ---: | ---: | ---: |",
    ]
    for res in results:
        first, again, nxt = res["first"], res["again"], res["next_day"]
        timings = first["timings"] or {}
        cells = [f"{timings[p]:.2f} s" if p in timings else "n/a" for p in PHASES]
        lines.append(
            f"| {res['customers']:,} / {res['moves']:,} "
            f"| {first['transaction_count']:,} | "
            + " | ".join(cells)
            + f" | {first.get('cpu_seconds', 0):.1f} + "
            f"{first.get('db_cpu_seconds', 0):.1f} s "
            f"| {first.get('load_average', 0):.1f} "
            f"| {first['peak_rss_mb']:,} MB "
            f"(base {first['baseline_rss_mb']} MB) "
            f"| {again['rows_written'] / again['partner_rows']:.2%} "
            f"| {nxt['rows_written'] / nxt['partner_rows']:.2%} |"
        )
    lines.append("")
    for res in results:
        runs = (res["first"], *res.get("first_repeats", ()))
        if len(runs) > 1:
            totals = [run["timings"]["total"] for run in runs]
            lines.append(
                f"First run at {res['customers']:,} customers on {len(runs)} fresh "
                "copies: "
                + ", ".join(f"{total:.2f}" for total in totals)
                + f" s (median {statistics.median(totals):.2f} s)."
            )
    for res in results:
        days = "; ".join(
            f"{label} {res[key]['timings']['total']:.2f} s, "
            f"{res[key]['hot_updates']:,} of {res[key]['updates']:,} updates HOT, "
            f"heap {res[key]['partner_heap_mb']:,} MB"
            for key, label in (
                ("first", "first run"),
                ("next_day", "next day"),
                ("day_after", "the day after"),
            )
        )
        fillfactor = res.get("fillfactor") or "100 (default)"
        lines.append(
            f"Daily runs at {res['customers']:,} customers, res_partner "
            f"fillfactor {fillfactor}, no VACUUM in between: {days}."
        )
    lines += [
        "",
        "| customers | night | run | vs first | res_partner rows rewritten "
        "| res_partner heap | WAL | vs first |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for res in results:
        first = res["first"]
        for key, label in (
            ("first", "first run"),
            ("next_day", "next day"),
            ("day_after", "day 2"),
            ("third_night", "day 3"),
            ("new_invoices", "day 4, after a day's invoices"),
        ):
            if key not in res:
                continue
            night = res[key]
            lines.append(
                f"| {res['customers']:,} | {label} "
                f"| {night['timings']['total']:.2f} s "
                f"| {night['timings']['total'] / first['timings']['total']:.2f} "
                f"| {night['rows_written']:,} "
                f"({night['rows_written'] / night['partner_rows']:.2%}) "
                f"| {night['partner_heap_mb']:,} MB "
                f"| {night['wal_mb']:,.1f} MB "
                f"| {night['wal_mb'] / max(first['wal_mb'], 0.1):.2f} |"
            )
    for res in results:
        ours = res["first"]["timings"]["total"]
        for key, label in (
            ("naive", "with the module's index"),
            (NAIVE_NO_INDEX, "without it, as a naive module runs"),
        ):
            if key in res:
                naive = res[key]["seconds"]
                lines.append(
                    f"Naive ORM job at {res['customers']:,} customers, {label}: "
                    f"{naive:.1f} s vs run_segmentation {ours:.2f} s: "
                    f"**{naive / ours:.0f}x**."
                )
    if install is not None:
        lines.append(
            f"Module install on a database with {install[0]:,} customers and "
            f"{install[1]:,} moves: {install[2]:.1f} s (odoo-bin -i, whole process)."
        )
    return "\n".join(lines)


def parse_size(text):
    customers, moves = text.split(":")
    return int(customers), int(moves)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="10000:100000,100000:1000000,1000000:10000000",
        help="comma-separated customers:moves",
    )
    parser.add_argument(
        "--naive",
        type=int,
        default=10_000,
        help="customers of the size that also runs the naive job (0: none)",
    )
    parser.add_argument("--install", help="customers:moves for the install timing")
    parser.add_argument("--as-of", default=build_db.AS_OF.isoformat())
    parser.add_argument("--profile-dir", help="py-spy raw profiles of first runs")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="fresh copies each size's first run is timed on",
    )
    parser.add_argument(
        "--fillfactor",
        type=int,
        help="res_partner's fillfactor on the copies the runs write (10-100)",
    )
    parser.add_argument(
        "--worker", choices=("run", "naive", NAIVE_NO_INDEX), help=argparse.SUPPRESS
    )
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    odoo_env.check_tree()
    odoo_env.check_python()
    if args.worker:
        worker(args)
        return
    as_of = date.fromisoformat(args.as_of)
    results = []
    for size in args.sizes.split(","):
        customers, moves = parse_size(size)
        results.append(
            bench_size(
                customers,
                moves,
                as_of,
                customers == args.naive,
                args.profile_dir,
                args.repeat,
                args.fillfactor,
            )
        )
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    install = None
    if args.install:
        customers, moves = parse_size(args.install)
        install = (customers, moves, time_install(customers, moves))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"results": results, "install": install}, indent=1)
        )
    print(markdown(results, install, args.naive))


if __name__ == "__main__":
    main()
