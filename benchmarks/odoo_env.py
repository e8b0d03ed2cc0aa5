"""Open an Odoo environment on a benchmark database, in this process.

Used by the benchmark scripts instead of ``odoo-bin shell`` so that timings,
``ru_maxrss`` and exceptions belong to one plain Python process.

The Odoo version is chosen as ``scripts/lib.sh`` chooses it: ``BENCH_ODOO``
18 (default: the tree at ``ODOO_SRC``, default /opt/odoo, run by this
interpreter) or 19 (``ODOO19_SRC``, default /opt/odoo19, run by
``ODOO19_PYTHON``, default /opt/odoo19-venv/bin/python). ``benchmarks/run.sh``
sets it and starts the scripts with that version's Python.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The folder holding custseg_module: the repository, or another copy of the
# addon to compare two versions on the same databases.
ADDONS_DIR = Path(os.environ.get("CUSTSEG_ADDONS_DIR", REPO))

# Set by select(): the series ("18.0" or "19.0"), its tree and the Python
# odoo-bin runs with, and the variables that name them (for error messages).
SERIES = "18.0"
ODOO_SRC = Path("/opt/odoo")
PYTHON = sys.executable
SRC_VAR = PYTHON_VAR = ""


def select(version: str) -> None:
    """Point SERIES, ODOO_SRC and PYTHON at Odoo ``version`` (18 or 19)."""
    global SERIES, ODOO_SRC, PYTHON, SRC_VAR, PYTHON_VAR
    if version in ("18", "18.0"):
        SERIES, SRC_VAR, PYTHON_VAR = "18.0", "ODOO_SRC", "PYTHON"
        ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/opt/odoo"))
        # run.sh starts the scripts with $PYTHON: odoo-bin runs with it too.
        PYTHON = sys.executable
    elif version in ("19", "19.0"):
        SERIES, SRC_VAR, PYTHON_VAR = "19.0", "ODOO19_SRC", "ODOO19_PYTHON"
        ODOO_SRC = Path(os.environ.get("ODOO19_SRC", "/opt/odoo19"))
        PYTHON = os.environ.get("ODOO19_PYTHON", "/opt/odoo19-venv/bin/python")
    else:
        sys.exit(f"BENCH_ODOO={version}: unknown Odoo version, use 18 or 19.")


select(os.environ.get("BENCH_ODOO", "18"))


def check_tree() -> None:
    if not (ODOO_SRC / "odoo-bin").is_file():
        sys.exit(
            f"{SRC_VAR}={ODOO_SRC} holds no Odoo source tree (no odoo-bin): put an "
            f"Odoo {SERIES} Community tree there or set {SRC_VAR} (README, "
            "Prerequisites)."
        )


def check_database(dbname: str) -> None:
    """Refuse a database of another Odoo version: opening it, let alone
    updating a module in it, would break it."""
    import psycopg2

    connection = contextlib.closing(psycopg2.connect(dbname=dbname))
    with connection as conn, conn.cursor() as cr:
        cr.execute("SELECT latest_version FROM ir_module_module WHERE name = 'base'")
        row = cr.fetchone()
    version = row[0] if row else ""
    if not (version or "").startswith(f"{SERIES}."):
        sys.exit(
            f"Database {dbname} is an Odoo {version[:4] or '?'} database, and "
            f"BENCH_ODOO={SERIES[:2]}: choose its version (BENCH_ODOO, --odoo)."
        )


def addons_path() -> str:
    return ",".join(
        str(path)
        for path in (ODOO_SRC / "addons", ODOO_SRC / "odoo/addons", ADDONS_DIR)
    )


def odoo_bin(*args: str) -> list[str]:
    """The odoo-bin command line on the local socket with the repo's addons."""
    check_tree()
    return [
        PYTHON,
        str(ODOO_SRC / "odoo-bin"),
        f"--addons-path={addons_path()}",
        "--db_host=",
        # 19.0 warns when the interface is left to its default (0.0.0.0).
        "--http-interface=127.0.0.1",
        "--http-port=0",
        "--max-cron-threads=0",
        *args,
    ]


def without_demo() -> list[str]:
    """odoo-bin's option for a new database without demo data: 19.0 loads
    none unless --with-demo, and warns about 18.0's --without-demo=all."""
    return ["--without-demo=all"] if SERIES == "18.0" else []


def check_python() -> None:
    """Odoo runs in this process: it must be the version's Python (a
    virtualenv's sys.prefix is the folder above its bin/)."""
    if sys.executable != PYTHON and Path(sys.prefix) != Path(PYTHON).parent.parent:
        sys.exit(
            f"BENCH_ODOO={SERIES[:2]}: run this script with {PYTHON_VAR} ({PYTHON}), "
            f"not {sys.executable}, as benchmarks/run.sh does."
        )


def load_odoo(dbname: str, log_level: str = "warn"):
    check_tree()
    check_python()
    if str(ODOO_SRC) not in sys.path:
        sys.path.insert(0, str(ODOO_SRC))
    import odoo
    from odoo.release import series
    from odoo.tools import config

    if series != SERIES:
        sys.exit(
            f"BENCH_ODOO={SERIES[:2]} but this Python imports Odoo {series} from "
            f"{Path(odoo.__path__[0]).parent}: run the script with {PYTHON_VAR} "
            f"({PYTHON}), as benchmarks/run.sh does."
        )
    config.parse_config(
        [
            f"--addons-path={addons_path()}",
            "--db_host=",
            "-d",
            dbname,
            f"--log-level={log_level}",
            "--max-cron-threads=0",
        ],
        setup_logging=True,
    )
    return odoo


@contextlib.contextmanager
def environment(dbname: str, log_level: str = "warn"):
    """Yield a superuser environment; the cursor commits on a clean exit."""
    check_database(dbname)
    load_odoo(dbname, log_level)
    # 19.0's ``odoo`` package no longer imports api: import it by name.
    from odoo import api
    from odoo.modules.registry import Registry

    registry = Registry(dbname)
    with registry.cursor() as cr:
        yield api.Environment(cr, api.SUPERUSER_ID, {})
