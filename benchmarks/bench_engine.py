"""Benchmark of ``segment_customers`` on synthetic data, next to ``lifetimes``.

Usage::

    python benchmarks/bench_engine.py --customers 1000000 --transactions 10000000

The data (fixed seed) spans three years: each customer has an acquisition
day, a gamma-distributed purchase rate (so frequency is skewed), lognormal
amounts and 3 % refunds. The engine runs in a fresh subprocess so its peak
RSS (``ru_maxrss``) covers the input frame plus the engine and nothing else.
``lifetimes.utils.summary_data_from_transaction_data`` (RFM summary only) is
timed on the first ``--lifetimes-sample`` rows' customers and extrapolated
linearly to the full row count; the table says so.

The engine is imported without ``custseg_module/__init__.py`` (which imports
odoo) through a stand-in namespace package, as in ``tests/conftest.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
START = np.datetime64("2021-07-01")
SPAN_DAYS = 3 * 365
AS_OF = START + np.timedelta64(SPAN_DAYS, "D")


def import_engine():
    if "custseg_module" not in sys.modules:
        package = types.ModuleType("custseg_module")
        package.__path__ = [str(REPO / "custseg_module")]
        sys.modules["custseg_module"] = package
    from custseg_module import engine

    return engine


def generate(customers: int, transactions: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(customers).astype(np.int64) + 1_000
    rate = rng.gamma(0.6, 1.0, customers)
    acquired = rng.integers(0, SPAN_DAYS, customers)
    # Heavier buyers and earlier customers get more rows.
    weight = rate * (SPAN_DAYS - acquired + 30)
    cdf = np.cumsum(weight / weight.sum())
    who = np.searchsorted(cdf, rng.random(transactions), side="right")
    who = np.minimum(who, customers - 1)
    who[:customers] = np.arange(customers)  # every customer buys at least once
    offset = (rng.random(transactions) * (SPAN_DAYS - acquired[who])).astype(np.int64)
    day = acquired[who] + offset
    amount = np.round(rng.lognormal(3.5, 1.0, transactions), 2)
    refund = rng.random(transactions) < 0.03
    amount[refund] = -np.round(amount[refund] * rng.random(int(refund.sum())), 2)
    frame = pd.DataFrame(
        {
            "partner_id": ids[who],
            "date": (START + day.astype("timedelta64[D]")).astype("datetime64[ns]"),
            "amount": amount,
        }
    )
    return frame.iloc[rng.permutation(transactions)].reset_index(drop=True)


def current_rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def worker(path: str) -> None:
    """Load the data, run the engine once, print a JSON line of measurements."""
    engine = import_engine()
    with np.load(path) as data:
        frame = pd.DataFrame({name: data[name] for name in data.files})
    baseline = current_rss_kb()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = engine.segment_customers(frame, pd.Timestamp(AS_OF))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = after.ru_maxrss
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "peak_rss_mb": peak / 1024,
                "input_rss_mb": baseline / 1024,
                "timings": result.attrs["timings"],
                "customers": len(result),
                "likelihood_method": result.attrs["quality"]["likelihood_method"],
                "n_clusters": result.attrs["quality"]["n_clusters"],
            }
        )
    )


def time_lifetimes(frame: pd.DataFrame, sample_rows: int) -> tuple[float, int]:
    from lifetimes.utils import summary_data_from_transaction_data

    if sample_rows < len(frame):
        # Whole customers (the smallest ids), about sample_rows rows in all.
        ids = np.sort(frame["partner_id"].unique())
        chosen = ids[: max(1, len(ids) * sample_rows // len(frame))]
        frame = frame[frame["partner_id"].isin(chosen)]
    started = time.perf_counter()
    summary_data_from_transaction_data(
        frame,
        "partner_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(AS_OF),
        freq="D",
    )
    return time.perf_counter() - started, len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument(
        "--lifetimes-sample",
        type=int,
        default=1_000_000,
        help="rows (whole customers) on which lifetimes is timed; 0 skips it",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return

    load = os.getloadavg()[0]
    started = time.perf_counter()
    frame = generate(args.customers, args.transactions)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, **{name: frame[name].to_numpy() for name in frame.columns})
        out = subprocess.run(
            [sys.executable, __file__, "--worker", path],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    run = json.loads(out.strip().splitlines()[-1])

    print(f"# custseg engine benchmark ({time.strftime('%Y-%m-%d')})\n")
    print(
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pandas {pd.__version__}, numpy {np.__version__}. "
        f"Data: {args.customers:,} customers, {args.transactions:,} rows "
        f"(generated in {generated:.1f} s).\n"
    )
    print("| measure | value |\n| --- | --- |")
    print(f"| segment_customers wall time | {run['wall']:.2f} s |")
    print(f"| segment_customers CPU time (user + sys) | {run['cpu']:.2f} s |")
    print(f"| load average before the run (other processes) | {load:.2f} |")
    print(f"| peak RSS of the engine process | {run['peak_rss_mb']:,.0f} MB |")
    print(
        f"| RSS before the call (input frame loaded) | {run['input_rss_mb']:,.0f} MB |"
    )
    print(f"| customers in result | {run['customers']:,} |")
    print(f"| likelihood method | {run['likelihood_method']} |")
    print(f"| clusters | {run['n_clusters']} |")
    for phase, seconds in run["timings"].items():
        print(f"| phase `{phase}` | {seconds:.2f} s |")
    if args.lifetimes_sample:
        seconds, rows = time_lifetimes(frame, args.lifetimes_sample)
        scaled = seconds * len(frame) / rows
        note = (
            "measured"
            if rows == len(frame)
            else f"{rows:,} rows, x{len(frame) / rows:.1f}"
        )
        print(
            f"| lifetimes summary_data_from_transaction_data (RFM only) | "
            f"{seconds:.2f} s on {rows:,} rows; {scaled:.1f} s for all rows "
            f"({note}) |"
        )


if __name__ == "__main__":
    main()
