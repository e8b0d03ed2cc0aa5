"""A run under concurrent edits (issue #16 point 1), measured, not a test.

Usage::

    python3 benchmarks/bench_edits.py --db writepath_bench_100000_1000000_work \
        --port 18790 [--as-of 2026-06-30] [--interval 1.0] [--odoo 19]

Starts an Odoo server on the database, then, while ``custseg.run.
run_segmentation`` runs over XML-RPC as the admin (retried until it is done,
each attempt counted), a second thread makes one XML-RPC edit per
``--interval`` seconds: the name or the salesperson of a random customer.
Reports the run's attempts and duration, the edits made, and the edits lost,
checked customer by customer: each edited customer's name and salesperson
must be the last values written to it. Run it on a throw-away copy.
``--odoo 19`` (default: ``BENCH_ODOO``, else 18) serves it with Odoo 19.0
(``ODOO19_SRC``, ``ODOO19_PYTHON``); this script only talks XML-RPC, so any
Python runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import odoo_env  # noqa: E402


def rpc(port, path):
    return xmlrpc.client.ServerProxy(
        f"http://127.0.0.1:{port}/xmlrpc/2/{path}", allow_none=True
    )


def wait_for_server(port, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rpc(port, "common").version()
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"no Odoo server on port {port} after {timeout} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=18790)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--odoo",
        choices=("18", "19"),
        default=os.environ.get("BENCH_ODOO", "18"),
        help="Odoo version serving the database",
    )
    args = parser.parse_args()
    odoo_env.select(args.odoo)
    odoo_env.check_database(args.db)

    server = subprocess.Popen(
        odoo_env.odoo_bin(
            "-d",
            args.db,
            "--http-port",
            str(args.port),
            "--workers=0",
            # A request past limit_time_real (120 s) makes the threaded server
            # restart: a 1M run takes minutes, so it is raised as a company
            # of that size would (docs/performance.md).
            "--limit-time-real=3600",
            # Odoo caps a threaded server's virtual memory at 2.5 GiB; a 1M
            # first run peaks at 5.4 GB resident (the recommendations).
            "--limit-memory-hard=17179869184",
            # Past the soft limit (2 GiB) the server restarts once the request
            # is over, or mid-run on a long one.
            "--limit-memory-soft=12884901888",
            "--log-level=warn",
            # 19.0 warns at every XML-RPC call (deprecated, gone in 20.0).
            "--log-handler=odoo.addons.rpc.controllers.xmlrpc:ERROR",
        )
    )
    try:
        wait_for_server(args.port)
        uid = rpc(args.port, "common").authenticate(
            args.db, args.login, args.password, {}
        )

        def call(model, method, *call_args, **kwargs):
            # A proxy per call: one ServerProxy is not safe across the two
            # threads (http.client.CannotSendRequest).
            return rpc(args.port, "object").execute_kw(
                args.db, uid, args.password, model, method, list(call_args), kwargs
            )

        customers = call(
            "res.partner", "search", [("customer_rank", ">", 0)], limit=20000
        )
        salespeople = call("res.users", "search", [("share", "=", False)])
        expected, edits, errors, waits = {}, [], [], []
        done = threading.Event()

        def edit_loop():
            rng = random.Random(16)
            while not done.is_set():
                partner_id = rng.choice(customers)
                if rng.random() < 0.5:
                    values = {"name": f"Edited {len(edits)} {time.time():.0f}"}
                else:
                    values = {"user_id": rng.choice(salespeople)}
                try:
                    sent = time.monotonic()
                    call("res.partner", "write", [partner_id], values)
                    # A save on a row the run holds waits for its commit.
                    waits.append(time.monotonic() - sent)
                    edits.append(partner_id)
                    expected.setdefault(partner_id, {}).update(values)
                except xmlrpc.client.Fault as fault:
                    errors.append(fault.faultString[-200:])
                time.sleep(args.interval)

        editor = threading.Thread(target=edit_loop, daemon=True)
        editor.start()
        started, attempts, run_id = time.monotonic(), 0, None
        while run_id is None and attempts < 10:
            attempts += 1
            try:
                run_id = call("custseg.run", "run_segmentation", as_of=args.as_of)[0]
            except xmlrpc.client.Fault as fault:
                print(f"attempt {attempts} failed: {fault.faultString[-200:]}")
        duration = time.monotonic() - started
        done.set()
        editor.join()
        lost = 0
        for partner_id, values in expected.items():
            [row] = call("res.partner", "read", [partner_id], list(values))
            for name, value in values.items():
                stored = row[name][0] if isinstance(row[name], list) else row[name]
                lost += stored != value
        run = (
            call(
                "custseg.run", "read", [run_id], ["state", "deferred_count", "duration"]
            )[0]
            if run_id
            else {}
        )
        print(
            json.dumps(
                {
                    "attempts": attempts,
                    "duration_s": round(duration, 1),
                    "run": run,
                    "edits_made": len(edits),
                    "edit_errors": len(errors),
                    "edit_seconds_median": round(statistics.median(waits), 2)
                    if waits
                    else None,
                    "edit_seconds_max": round(max(waits), 1) if waits else None,
                    "customers_edited": len(expected),
                    "edits_lost": lost,
                },
                indent=2,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
