# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per-customer recency, frequency and monetary values from day-level sums.

Definitions (BTYD convention, as in ``lifetimes`` with ``freq="D"``):

* rows are first summed per partner and day; a *purchase day* is a day whose
  net amount is positive, so several invoices on one day count once and a day
  fully refunded does not count;
* ``frequency`` is the number of purchase days in the window;
* ``monetary`` is the net amount of all rows in the window (refunds included);
* first/last purchase are the first/last purchase days; recency is measured
  from the last purchase day;
* the typical gap is the median number of days between consecutive purchase
  days (only for customers with two or more).

Everything is computed with sorts and ``bincount`` on flat arrays, because a
pandas groupby per metric is several times slower at ten million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_DAY = -(2**40)  # sentinel day number for "no purchase" (masked out later)


@dataclass(frozen=True)
class DailyLedger:
    """Net amount per partner and day, sorted by (partner code, day)."""

    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray


@dataclass(frozen=True)
class CustomerMetrics:
    """Arrays aligned with the partner codes ``0..n-1``."""

    frequency: np.ndarray  # int64 purchase days
    monetary: np.ndarray  # float64 net amount
    first_day: np.ndarray  # int64 day number, NO_DAY without purchase
    last_day: np.ndarray  # int64 day number, NO_DAY without purchase
    typical_gap: np.ndarray | None  # float64 median gap, NaN below 2 purchase days

    @property
    def purchaser(self) -> np.ndarray:
        return self.frequency > 0


def _sort_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order that sorts non-negative ``key`` (ties by row), and the sorted key."""
    row_bits = max(1, int(len(key) - 1).bit_length())
    if int(key.max()).bit_length() + row_bits <= 63:
        # Sorting values is ~4x faster than argsort: pack the row number into
        # the low bits of the key and sort the packed integers instead.
        packed = np.sort((key << row_bits) | np.arange(len(key), dtype=np.int64))
        return packed & ((1 << row_bits) - 1), packed >> row_bits
    order = np.argsort(key, kind="stable")
    return order, key[order]


def daily_ledger(code: np.ndarray, day: np.ndarray, amount: np.ndarray) -> DailyLedger:
    """Sum amounts per (partner, day) in an order independent of the input order."""
    if len(code) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return DailyLedger(empty, empty, np.zeros(0, dtype=np.float64))
    day_min = int(day.min())
    span = int(day.max()) - day_min + 1
    key = code.astype(np.int64) * span + (day - day_min)
    order, sorted_key = _sort_order(key)
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    big = sizes >= 3
    if big.any():
        # Float addition is commutative but not associative: groups of three or
        # more rows are summed in amount order so a shuffled input gives
        # bit-identical sums (and thus identical ranks and tiers).
        rows = np.flatnonzero(np.repeat(big, sizes))
        sub = order[rows]
        order[rows] = sub[np.lexsort((amount[sub], key[sub]))]
    sums = np.add.reduceat(amount[order], starts)
    group_key = sorted_key[starts]
    return DailyLedger(group_key // span, group_key % span + day_min, sums)


def first_seen(ledger: DailyLedger, n: int) -> np.ndarray:
    """First day with any row per code; a far-future day for codes without rows."""
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    if len(ledger.code):
        starts = np.flatnonzero(np.r_[True, ledger.code[1:] != ledger.code[:-1]])
        out[ledger.code[starts]] = ledger.day[starts]
    return out


def subset(ledger: DailyLedger, codes: np.ndarray) -> DailyLedger:
    """Rows of the sorted ``codes``, renumbered 0..len(codes)-1."""
    begin = np.searchsorted(ledger.code, codes, side="left")
    end = np.searchsorted(ledger.code, codes, side="right")
    lengths = end - begin
    # Row indices of all groups at once: each group's begin, then +0, +1, ...
    group_offsets = np.cumsum(lengths) - lengths
    rows = np.repeat(begin - group_offsets, lengths) + np.arange(lengths.sum())
    new_code = np.repeat(np.arange(len(codes), dtype=np.int64), lengths)
    return DailyLedger(new_code, ledger.day[rows], ledger.amount[rows])


def _median_gap(code: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Median gap between consecutive purchase days per code (NaN if none)."""
    out = np.full(n, np.nan)
    if len(code) < 2:
        return out
    same = code[1:] == code[:-1]
    gap_code = code[1:][same]
    gaps = (day[1:] - day[:-1])[same]
    if len(gaps) == 0:
        return out
    # One sort of (code, gap) packed in an int64 puts each customer's gaps in
    # order; the median is then read at the middle positions of each group.
    packed = np.sort((gap_code << 32) | gaps)
    sorted_gaps = (packed & 0xFFFFFFFF).astype(np.float64)
    sorted_codes = packed >> 32
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    counts = np.diff(np.r_[starts, len(packed)])
    low = sorted_gaps[starts + (counts - 1) // 2]
    high = sorted_gaps[starts + counts // 2]
    out[sorted_codes[starts]] = (low + high) / 2.0
    return out


def customer_metrics(
    ledger: DailyLedger,
    n: int,
    end_day: int,
    start_day: int | None = None,
    with_gaps: bool = False,
) -> CustomerMetrics:
    """Metrics over the days ``start_day < day <= end_day`` (no lower bound if None)."""
    code, day, amount = ledger.code, ledger.day, ledger.amount
    if start_day is not None or (len(day) and day.max() > end_day):
        mask = day <= end_day
        if start_day is not None:
            mask &= day > start_day
        code, day, amount = code[mask], day[mask], amount[mask]
    monetary = np.bincount(code, weights=amount, minlength=n).astype(np.float64)
    bought = amount > 0
    p_code, p_day = code[bought], day[bought]
    frequency = np.bincount(p_code, minlength=n).astype(np.int64)
    first_day = np.full(n, NO_DAY, dtype=np.int64)
    last_day = np.full(n, NO_DAY, dtype=np.int64)
    if len(p_code):
        # Rows are sorted by (code, day): a group's first row is its first day.
        starts = np.flatnonzero(np.r_[True, p_code[1:] != p_code[:-1]])
        ends = np.r_[starts[1:], len(p_code)] - 1
        first_day[p_code[starts]] = p_day[starts]
        last_day[p_code[starts]] = p_day[ends]
    typical_gap = _median_gap(p_code, p_day, n) if with_gaps else None
    return CustomerMetrics(frequency, monetary, first_day, last_day, typical_gap)


def comeback_gaps(ledger: DailyLedger, n: int, end_day: int) -> np.ndarray:
    """Days between each code's last purchase day on or before ``end_day`` and
    the purchase day before it, over the whole ledger (no lookback window);
    0 for codes with fewer than two purchase days."""
    bought = (ledger.amount > 0) & (ledger.day <= end_day)
    code, day = ledger.code[bought], ledger.day[bought]
    out = np.zeros(n, dtype=np.int64)
    if len(code) < 2:
        return out
    # Rows are sorted by (code, day): a group's last two rows are its last days.
    last = np.r_[code[1:] != code[:-1], True]
    has_previous = np.r_[False, code[1:] == code[:-1]]
    rows = np.flatnonzero(last & has_previous)
    out[code[rows]] = day[rows] - day[rows - 1]
    return out
