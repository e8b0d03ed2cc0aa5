"""Open an Odoo 18 environment on a benchmark database, in this process.

Used by the benchmark scripts instead of ``odoo-bin shell`` so that timings,
``ru_maxrss`` and exceptions belong to one plain Python process.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/opt/odoo"))
# The folder holding custseg_module: the repository, or another copy of the
# addon to compare two versions on the same databases.
ADDONS_DIR = Path(os.environ.get("CUSTSEG_ADDONS_DIR", REPO))


def addons_path() -> str:
    return ",".join(
        str(path)
        for path in (ODOO_SRC / "addons", ODOO_SRC / "odoo/addons", ADDONS_DIR)
    )


def odoo_bin(*args: str) -> list[str]:
    """The odoo-bin command line on the local socket with the repo's addons."""
    return [
        sys.executable,
        str(ODOO_SRC / "odoo-bin"),
        f"--addons-path={addons_path()}",
        "--db_host=",
        "--http-port=0",
        "--max-cron-threads=0",
        *args,
    ]


def load_odoo(dbname: str, log_level: str = "warn"):
    if not (ODOO_SRC / "odoo-bin").is_file():
        sys.exit(f"ODOO_SRC={ODOO_SRC} holds no Odoo source tree (no odoo-bin).")
    if str(ODOO_SRC) not in sys.path:
        sys.path.insert(0, str(ODOO_SRC))
    import odoo
    from odoo.tools import config

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
    odoo = load_odoo(dbname, log_level)
    from odoo.modules.registry import Registry

    registry = Registry(dbname)
    with registry.cursor() as cr:
        yield odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
