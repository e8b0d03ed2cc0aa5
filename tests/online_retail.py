"""The Online Retail II log the validation tests read in place."""

from pathlib import Path

import pandas as pd
import pytest

DATA_NAME = "online_retail_II_2009_2010.csv.gz"
REPO = Path(__file__).resolve().parents[1]


def data_file():
    """``../shared/data`` from the repository root; a git worktree may sit one
    level deeper, so the nearest ``shared/data`` above the repository counts."""
    expected = REPO.parent / "shared" / "data" / DATA_NAME
    for folder in REPO.parents:
        candidate = folder / "shared" / "data" / DATA_NAME
        if candidate.is_file():
            return candidate
    pytest.fail(
        f"Online Retail II validation data not found: expected {expected} "
        "(../shared/data/ from the repository root). It is not part of the "
        "repository; see tests/VALIDATION.md.",
        pytrace=False,
    )


def read_log():
    """Every line of the log as published (invoice and product codes as text)."""
    return pd.read_csv(data_file(), dtype={"invoice": str, "product": str})
