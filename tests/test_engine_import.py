"""The engine imports in a plain Python without Odoo and without the test-only
namespace shim of conftest.py (README, "The engine as a library")."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# -I: no PYTHONPATH, no user site, no current directory; the repository root
# is put on the path by hand, as a notebook user would.
SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import pandas as pd
from custseg_module.engine import segment_customers
assert "odoo" not in sys.modules, "odoo was imported"
transactions = pd.DataFrame(
    {"partner_id": [1, 1, 2], "date": pd.to_datetime(["2024-01-05", "2024-03-01",
     "2024-02-10"]), "amount": [100.0, 50.0, 80.0]}
)
result = segment_customers(transactions, pd.Timestamp("2024-04-01").date())
print(sorted(result.index.tolist()))
"""


def test_engine_imports_in_plain_python_without_odoo():
    completed = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[1, 2]"


def test_odoo_is_really_absent_from_that_python():
    completed = subprocess.run(
        [sys.executable, "-I", "-c", "import odoo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert "No module named 'odoo'" in completed.stderr
