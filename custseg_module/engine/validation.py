# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Checking and normalising the engine's inputs.

Transactions become three flat arrays (partner code, day number, amount): day
numbers are ``int`` days since 1970-01-01, which are much cheaper to group and
compare than timestamps at ten million rows. Every ``ValueError`` names the
column or argument at fault.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("partner_id", "date", "amount")
EPOCH = pd.Timestamp("1970-01-01")


@dataclass(frozen=True)
class Transactions:
    """Rows dated on or before ``as_of``, as arrays aligned with each other."""

    ids: np.ndarray  # int64, sorted unique partner ids: the result's index
    code: np.ndarray  # intp, row -> position in ``ids``
    day: np.ndarray  # int64 days since epoch
    amount: np.ndarray  # float64


def to_day(value: object, name: str = "as_of") -> int:
    """Day number of a date, datetime, string or Timestamp (time of day dropped)."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not a date ({value!r})") from exc
    if pd.isna(stamp):
        raise ValueError(f"{name}: not a date ({value!r})")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return int((stamp.normalize() - EPOCH) // pd.Timedelta(days=1))


def day_to_datetime(days: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """datetime64[ns] array of ``days``; NaT where ``valid`` is False."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[valid] = days[valid].astype("datetime64[D]").astype("datetime64[ns]")
    return out


def _partner_ids(values: object, name: str) -> np.ndarray:
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if series.isna().any():
        raise ValueError(f"{name}: contains missing values")
    if len(series) == 0:
        return np.zeros(0, dtype=np.int64)
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.int64)
    try:
        floats = series.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be integers") from exc
    if pd.api.types.is_bool_dtype(dtype) or not np.all(
        np.isfinite(floats) & (floats == np.round(floats))
    ):
        raise ValueError(f"{name}: must be integers")
    return floats.astype(np.int64)


def _day_numbers(column: pd.Series) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(column.dtype):
        try:
            with warnings.catch_warnings():
                # Mixed formats are parsed one by one, which is what we want.
                warnings.filterwarnings("ignore", "Could not infer format")
                column = pd.to_datetime(column)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"date: cannot read as dates ({exc})") from exc
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_localize(None)
    if column.isna().any():
        raise ValueError("date: contains missing values")
    # Flooring to whole days keeps any time of day out of recency and grouping.
    return column.to_numpy().astype("datetime64[D]").astype(np.int64)


def _amounts(column: pd.Series) -> np.ndarray:
    if column.isna().any():
        raise ValueError("amount: contains NaN or infinite values")
    try:
        amounts = column.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("amount: must be numbers") from exc
    if not np.isfinite(amounts).all():
        raise ValueError("amount: contains NaN or infinite values")
    return amounts


def _encode(pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and each row's position among them."""
    if len(pid) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    low, high = int(pid.min()), int(pid.max())
    if high - low <= 4 * len(pid) + 1_000_000:
        # Database ids are dense: a presence table beats hashing or sorting.
        offset = pid - low
        present = np.zeros(high - low + 1, dtype=bool)
        present[offset] = True
        position = np.cumsum(present, dtype=np.intp) - 1
        return position[offset], np.flatnonzero(present).astype(np.int64) + low
    codes, ids = pd.factorize(pid, sort=True)
    return codes.astype(np.intp, copy=False), np.asarray(ids, dtype=np.int64)


def prepare_transactions(
    transactions: pd.DataFrame,
    as_of_day: int,
    partners: Iterable[int] | None = None,
) -> Transactions:
    """Validate ``transactions`` and keep the rows dated on or before ``as_of``.

    The result covers every partner with such a row plus every id of
    ``partners``. A zero-row frame is accepted even without the columns.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise ValueError("transactions: must be a pandas DataFrame")
    missing = [c for c in REQUIRED_COLUMNS if c not in transactions.columns]
    if missing and len(transactions):
        names = ", ".join(repr(c) for c in missing)
        raise ValueError(f"transactions: missing column(s) {names}")
    if len(transactions) == 0:
        pid = np.zeros(0, dtype=np.int64)
        day = np.zeros(0, dtype=np.int64)
        amount = np.zeros(0, dtype=np.float64)
    else:
        pid = _partner_ids(transactions["partner_id"], "partner_id")
        day = _day_numbers(transactions["date"])
        amount = _amounts(transactions["amount"])
        if day.max() > as_of_day:
            keep = day <= as_of_day
            pid, day, amount = pid[keep], day[keep], amount[keep]
    codes, ids = _encode(pid)
    if partners is not None:
        # An array as it is: list() made a Python int of each of 1M ids.
        if not isinstance(partners, np.ndarray):
            partners = list(partners)
        extra = _partner_ids(pd.Series(partners), "partners")
        if len(extra):
            merged = np.union1d(ids, extra)
            codes = np.searchsorted(merged, ids)[codes] if len(codes) else codes
            ids = merged
    return Transactions(ids=ids, code=codes, day=day, amount=amount)
