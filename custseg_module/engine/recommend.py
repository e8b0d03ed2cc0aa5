# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Next-best products per customer, and what each segment buys more than others.

``recommend_products(lines, as_of, segments=None, allowed_products=None)``

Input ``lines``: invoice lines or their totals per partner, product and day,
with ``partner_id``, ``product_id``, ``date`` (or ``day``, days since
1970-01-01) and ``quantity`` (refunds negative); ``amount`` is optional.
Lines without a partner or product, dated after ``as_of`` or before the
lookback window are ignored; per partner, product and day the quantities
are netted, and only days with a positive net quantity count as purchases
(so refunds of products never bought, zero and negative quantities count for
nothing).

Method (own repeat purchases, item-to-item co-purchase, segment popularity):

* ``X``: customers × products, 1 where the customer bought the product in the
  window. Item similarity is the cosine of the columns of ``X``
  (``co-buyers / sqrt(buyers_i * buyers_j)``), keeping each product's
  ``neighbours`` most similar products.
* A customer's co-purchase score of product ``j`` is the sum of the
  similarities of the products they bought to ``j``, scaled to 0..1 by the
  customer's best score; the segment score is the share of the customer's
  segment buying ``j`` (shrunk towards all customers' share by
  ``SEGMENT_PRIOR`` pseudo-customers), scaled to 0..1 by the segment's best
  product; the own score is the number of days the customer bought ``j``,
  scaled to 0..1 by their most bought product.
  ``score = CO_WEIGHT * co + (1 - CO_WEIGHT) * segment + OWN_WEIGHT * own``.
* A product the customer bought on at least ``min_repeats`` days whose median
  interval has passed, or will within ``due_within`` days (and not three
  times over), is *due*: it scores ``OWN_WEIGHT * own`` with reason "due",
  and stays in even when bought recently.
* A product bought in the last ``recent_days`` that is not due is left out, as
  is every product outside ``allowed_products`` (archived, not saleable).

The result has one row per recommendation, at most ``top_n`` per customer who
bought something in the window: ``partner_id``, ``rank`` (1 = best),
``product_id``, ``score``, ``reason`` (``"due"``, ``"bought_with"``,
``"segment"`` or ``"bought_before"``), ``reason_product_id`` (the bought
product most similar to it, for ``"bought_with"``; else 0),
``reason_segment`` (the customer's segment, for ``"segment"``; else "") and
``interval_days`` (the usual interval, for ``"due"``; else 0). Sorted by
partner and rank; deterministic.

``segment_profiles(lines, as_of, segments)`` returns the products most
over-represented in each segment (lift against all customers) with the share
of the segment's customers buying each; see its docstring.

Both take the lines, or the purchases read from them once by
``purchase_pairs(lines, as_of, lookback_days)``; ``grouped_pairs(pairs,
groups)`` turns those into purchases of product groups (the categories of
the segment profiles).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from .threads import ordered_map, single_thread
from .validation import to_day

# Blend weights and the segment prior, chosen on validation cut-offs before
# the Online Retail holdout (tests/VALIDATION.md, "Tuning").
CO_WEIGHT = 0.1
OWN_WEIGHT = 1.0
# Pseudo-customers buying like everyone: a segment's share is shrunk towards
# the share of all customers, so that a small segment's noise does not rank.
SEGMENT_PRIOR = 1000
# Lines netted at once (by blocks of whole customers): bounds the sort's
# temporaries, about 60 bytes a line.
BLOCK_LINES = 2_000_000
# Rows of the input filtered at once.
ROW_SLICE = 1 << 22
# (segment, product) cells above which the profiles sort instead of count.
COUNT_CELLS = 1 << 24
# Customers scored at once: bounds the candidate matrix's memory (two
# threads score two chunks at once: 5,000 each added 90 MB at 100k).
CHUNK_CUSTOMERS = 2_500
# Products whose similarities are computed at once (dense rows).
SIMILARITY_BLOCK = 256
SEGMENT_CANDIDATES = 30
# Above any score (at most CO_WEIGHT + (1 - CO_WEIGHT) + OWN_WEIGHT).
SCORE_CEILING = 4.0
RECOMMENDATION_COLUMNS = (
    "partner_id",
    "rank",
    "product_id",
    "score",
    "reason",
    "reason_product_id",
    "reason_segment",
    "interval_days",
)


def _empty_result() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner_id": np.zeros(0, np.int64),
            "rank": np.zeros(0, np.int64),
            "product_id": np.zeros(0, np.int64),
            "score": np.zeros(0, np.float64),
            "reason": np.zeros(0, object),
            "reason_product_id": np.zeros(0, np.int64),
            "reason_segment": np.zeros(0, object),
            "interval_days": np.zeros(0, np.int64),
        }
    )


def purchase_days(
    lines: pd.DataFrame, as_of: object, lookback_days: int = 365
) -> pd.DataFrame:
    """Distinct (partner_id, product_id, day) with a positive net quantity,
    ``day`` in days since 1970-01-01, within ``lookback_days`` up to ``as_of``
    (a date, or already a day number). ``lines`` gives either ``date`` or
    ``day`` (days since 1970-01-01). Sorted by partner, product and day."""
    purchases = _purchases(lines, as_of, lookback_days)
    return pd.DataFrame(
        {
            "partner_id": purchases.customers[purchases.c],
            "product_id": purchases.products[purchases.p],
            "day": purchases.day.astype(np.int64),
        }
    )


class _Purchases(NamedTuple):
    """Purchase days as codes: ``customers[c]``, ``products[p]`` and ``day``,
    sorted by (c, p, day), one entry per distinct triple."""

    customers: np.ndarray
    products: np.ndarray
    c: np.ndarray
    p: np.ndarray
    day: np.ndarray


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _integers(column: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """The column as integers (truncated, as ``astype``), an integer column
    without a copy, and which values are valid (None: all of them)."""
    values = column.to_numpy()
    if values.dtype.kind in "iu":
        return values, None
    if values.dtype.kind != "f":
        values = _numbers(column)
    valid = np.isfinite(values)
    low = np.min(values, where=valid, initial=0)
    high = np.max(values, where=valid, initial=0)
    narrow = np.int32 if low >= -(2**31) and high < 2**31 else np.int64
    ints = np.zeros(len(values), narrow)
    np.copyto(ints, values, casting="unsafe", where=valid)
    return ints, valid


def _purchase_blocks(lines, as_of, lookback_days):
    """The kept products (sorted ids) and an iterator over blocks of whole
    customers, in customer order, each ``(customer ids, c, p, day)``: the
    distinct (c, p, day) with a positive net quantity, sorted, ``c`` the
    customer's final code (among customers with a purchase), ``p`` the index
    in the kept products. Only one block's temporaries (about
    ``BLOCK_LINES`` lines) exist at a time: the whole window's at once took
    6 GB at 40M lines."""
    date_column = "day" if "day" in lines and "date" not in lines else "date"
    needed = ("partner_id", "product_id", date_column, "quantity")
    missing = [c for c in needed if c not in lines]
    if missing:
        raise ValueError(f"lines: missing column(s) {', '.join(missing)}")
    as_of_day = as_of if isinstance(as_of, (int, np.integer)) else to_day(as_of)
    partner, partner_valid = _integers(lines["partner_id"])
    product, product_valid = _integers(lines["product_id"])
    quantity = lines["quantity"].to_numpy()
    if quantity.dtype.kind not in "iuf":
        quantity = _numbers(lines["quantity"])
    if date_column == "day":
        day, day_valid = _integers(lines["day"])
    else:
        date = pd.to_datetime(lines["date"], errors="coerce")
        if date.dt.tz is not None:
            date = date.dt.tz_localize(None)
        day = date.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
        day_valid = date.notna().to_numpy()
    keep = np.empty(len(day), bool)
    for s in range(0, len(day), ROW_SLICE):
        part = slice(s, s + ROW_SLICE)
        kept = day[part] <= as_of_day
        if lookback_days:
            kept &= day[part] > as_of_day - lookback_days
        for valid in (partner_valid, product_valid, day_valid):
            if valid is not None:
                kept &= valid[part]
        if quantity.dtype.kind == "f":
            kept &= np.isfinite(quantity[part])
        keep[part] = kept
    del partner_valid, product_valid, day_valid
    customers, counts, products, first_day, span = _kept_values(
        partner, product, day, keep
    )
    block_of = (np.cumsum(counts) - 1) // BLOCK_LINES
    bounds = np.r_[0, np.flatnonzero(np.diff(block_of)) + 1, len(customers)]
    day_type = np.int32 if span + abs(first_day) < 2**31 else np.int64

    def blocks():
        n_products = max(len(products), 1)
        used_customers = 0
        for low, high in zip(bounds[:-1], bounds[1:], strict=True):
            if low == high:
                continue
            mask = partner >= int(customers[low])
            mask &= partner <= int(customers[high - 1])
            mask &= keep
            rows = np.flatnonzero(mask)
            del mask
            c = np.searchsorted(customers[low:high], partner[rows])
            p = np.searchsorted(products, product[rows])
            # One int64 key per (customer, product, day): a single sort nets
            # them (pandas' three-key groupby took 5x longer at 3.7M lines).
            key = (c * n_products + p) * span + (day[rows] - first_day)
            del c, p
            distinct, position = np.unique(key, return_inverse=True)
            del key
            net = np.bincount(position, weights=quantity[rows], minlength=len(distinct))
            del position, rows
            distinct = distinct[net > 0]
            del net
            if not len(distinct):
                continue
            block_day = (distinct % span + first_day).astype(day_type)
            pair = distinct // span
            del distinct
            c = pair // n_products
            p = (pair % n_products).astype(np.int32)
            del pair
            first = np.r_[True, c[1:] != c[:-1]]
            code = (np.cumsum(first) - 1 + used_customers).astype(np.int32)
            used_customers += int(first.sum())
            yield customers[low:high][c[first]], code, p, block_day

    return products, blocks()


def _kept_values(partner, product, day, keep):
    """Distinct kept customers (sorted) with their number of lines, distinct
    kept products (sorted), the first kept day and the days' span; by row
    slices."""
    customers, counts, products = [], [], []
    first_day, last_day = 0, 0
    for s in range(0, len(keep), ROW_SLICE):
        part = slice(s, s + ROW_SLICE)
        kept = keep[part]
        if not kept.any():
            continue
        values, count = np.unique(partner[part][kept], return_counts=True)
        customers.append(values)
        counts.append(count)
        products.append(np.unique(product[part][kept]))
        days = day[part][kept]
        low, high = int(days.min()), int(days.max())
        first_day = low if len(customers) == 1 else min(first_day, low)
        last_day = high if len(customers) == 1 else max(last_day, high)
    if not customers:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, 0, 1
    customers, position = np.unique(np.concatenate(customers), return_inverse=True)
    counts = np.bincount(position, weights=np.concatenate(counts)).astype(np.int64)
    products = np.unique(np.concatenate(products)).astype(np.int64)
    span = last_day - first_day + 1
    return customers.astype(np.int64), counts, products, first_day, span


def _purchases(lines: pd.DataFrame, as_of: object, lookback_days: int) -> _Purchases:
    products, blocks = _purchase_blocks(lines, as_of, lookback_days)
    ids, parts_c, parts_p, parts_day = [], [], [], []
    used = np.zeros(len(products), bool)
    for block_ids, c, p, day in blocks:
        used[p] = True
        ids.append(block_ids)
        parts_c.append(c)
        parts_p.append(p)
        parts_day.append(day)
    code = (np.cumsum(used) - 1).astype(np.int32)
    parts_p = [code[p] for p in parts_p]
    return _Purchases(
        _concatenate(ids, np.int64),
        products[used],
        _concatenate(parts_c, np.int32),
        _concatenate(parts_p, np.int32),
        _concatenate(parts_day, np.int32),
    )


class PurchasePairs(NamedTuple):
    """What each customer bought in the window, per (customer, product):
    ``customers[c]`` bought ``products[p]``, codes ``c`` and ``p`` sorted by
    both, one entry per pair; the number of days bought (``times``, float32:
    exact below 2**24), the last one, and for the pairs bought on at least
    ``min_repeats`` days (``repeated``, their indices) the median interval
    between those days. Computed once by :func:`purchase_pairs` for both
    :func:`recommend_products` and :func:`segment_profiles`; a pairs of
    :func:`grouped_pairs` (``min_repeats`` None) holds only the codes."""

    customers: np.ndarray
    products: np.ndarray
    c: np.ndarray
    p: np.ndarray
    times: np.ndarray
    last: np.ndarray
    repeated: np.ndarray
    median_gap: np.ndarray
    min_repeats: int | None


def purchase_pairs(
    lines: pd.DataFrame, as_of: object, lookback_days: int = 365, min_repeats: int = 2
) -> PurchasePairs:
    """The purchases of ``lines`` (see the module docstring) per customer and
    product, within ``lookback_days`` up to ``as_of``: read the lines once,
    then recommend and profile from these, and the lines can go."""
    if min_repeats < 2:
        raise ValueError("min_repeats must be at least 2")
    with single_thread():
        return _pairs(lines, to_day(as_of), lookback_days, min_repeats)


def _pair_matrix(pairs: PurchasePairs, values=None) -> sparse.csr_matrix:
    """The customers × products CSR matrix of ``pairs``: 1 per pair bought,
    or ``values`` (one per pair). Pairs come sorted and distinct: the CSR
    arrays as they are, the column indices shared, no COO copy (24M pairs
    at 1M customers)."""
    n_customers = len(pairs.customers)
    indptr = np.searchsorted(pairs.c, np.arange(n_customers + 1))
    if values is None:
        values = np.ones(len(pairs.c), np.float32)
    return sparse.csr_matrix(
        (values, pairs.p, indptr), shape=(n_customers, len(pairs.products))
    )


def grouped_pairs(pairs: PurchasePairs, groups) -> PurchasePairs:
    """The customers of ``pairs`` per group of products they bought (e.g. the
    product category), codes only: ``groups`` maps a product id to its group
    id (a Series or a dict); a product without one (absent or NaN) counts for
    nothing. Every customer of ``pairs`` stays, also one who bought only such
    products: a group's share of customers has the products' base. One
    sparse product: customers × products times products × groups."""
    group_of = (
        pd.Series(groups, dtype=np.float64)
        .reindex(pairs.products)
        .to_numpy(np.float64, na_value=np.nan)
    )
    member = np.flatnonzero(np.isfinite(group_of))
    group_ids, group_code = np.unique(group_of[member], return_inverse=True)
    n_customers = len(pairs.customers)
    bought = _pair_matrix(pairs)
    membership = sparse.csr_matrix(
        (np.ones(len(member), np.float32), (member, group_code)),
        shape=(len(pairs.products), len(group_ids)),
    )
    # Summed duplicates: one entry per (customer, group) bought.
    by_group = (bought @ membership).tocsr()
    by_group.sort_indices()
    counts = np.diff(by_group.indptr)
    empty = np.zeros(0, np.float32)
    return PurchasePairs(
        customers=pairs.customers,
        products=group_ids.astype(np.int64),
        c=np.repeat(np.arange(n_customers, dtype=np.int32), counts),
        p=by_group.indices.astype(np.int32),
        times=empty,
        last=np.zeros(0, np.int32),
        repeated=np.zeros(0, np.int64),
        median_gap=np.zeros(0, np.float64),
        min_repeats=None,
    )


def _pairs(lines, as_of, lookback_days, min_repeats=None) -> PurchasePairs:
    """The purchases per (customer, product), reduced block by block: the
    purchase days of all customers never exist at once. Without
    ``min_repeats``, only the codes (``times`` and the rest empty)."""
    products, blocks = _purchase_blocks(lines, as_of, lookback_days)
    ids, parts = [], {name: [] for name in PurchasePairs._fields[2:-1]}
    used = np.zeros(len(products), bool)
    offset = 0
    for block_ids, c, p, day in blocks:
        first = np.r_[True, (c[1:] != c[:-1]) | (p[1:] != p[:-1])]
        starts = np.flatnonzero(first)
        ends = np.r_[starts[1:], len(day)]
        times = ends - starts
        ids.append(block_ids)
        parts["c"].append(c[first])
        pair_p = p[first]
        used[pair_p] = True
        parts["p"].append(pair_p)
        if min_repeats is not None:
            parts["times"].append(times.astype(np.float32))
            parts["last"].append(day[ends - 1])
            repeated = np.flatnonzero(times >= min_repeats)
            parts["repeated"].append(repeated + offset)
            parts["median_gap"].append(
                _median_gaps(day, starts[repeated], ends[repeated])
            )
        offset += len(starts)
    code = (np.cumsum(used) - 1).astype(np.int32)
    parts["p"] = [code[p] for p in parts["p"]]
    return PurchasePairs(
        _concatenate(ids, np.int64),
        products[used],
        _concatenate(parts["c"], np.int32),
        _concatenate(parts["p"], np.int32),
        _concatenate(parts["times"], np.float32),
        _concatenate(parts["last"], np.int32),
        _concatenate(parts["repeated"], np.int64),
        _concatenate(parts["median_gap"], np.float64),
        min_repeats,
    )


def _concatenate(parts: list, dtype) -> np.ndarray:
    """The parts as one array (none: empty, of ``dtype``); empties the list
    so that the parts can go."""
    whole = np.concatenate(parts) if parts else np.zeros(0, dtype)
    parts.clear()
    return whole


def _similarity(bought: sparse.csr_matrix, neighbours: int) -> sparse.csr_matrix:
    """Cosine similarity between products (columns), top ``neighbours`` each
    (ties: lower product first). Computed by blocks of products, dense within
    a block, so that memory stays bounded whatever the number of customers."""
    n = bought.shape[1]
    buyers = np.asarray(bought.sum(axis=0), dtype=np.float64).ravel()
    norms = np.sqrt(np.maximum(buyers, 1.0))
    by_product = bought.T.tocsr()
    k = min(neighbours, n - 1)

    def block_top(start):
        stop = min(start + SIMILARITY_BLOCK, n)
        block = (by_product[start:stop] @ bought).toarray().astype(np.float64)
        block /= norms[start:stop, None]
        block /= norms[None, :]
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        # Each row's k-th value by partition (a full argsort of every row
        # took 3 s at 5,000 products), then the exact order among those at or
        # above it: similarity, then the lower product.
        kth = -np.partition(-block, k - 1, axis=1)[:, k - 1]
        block_rows, top = np.nonzero((block >= kth[:, None]) & (block > 0))
        values = block[block_rows, top]
        order = np.lexsort((top, -values, block_rows))
        keep = order[_ranks(block_rows[order]) < k]
        return block_rows[keep] + start, top[keep], values[keep]

    blocks = range(0, n if k > 0 else 0, SIMILARITY_BLOCK)
    found = list(ordered_map(block_top, blocks))
    if not found:
        return sparse.csr_matrix((n, n))
    rows, cols, sims = (np.concatenate(field) for field in zip(*found, strict=True))
    return sparse.csr_matrix((sims, (rows, cols)), shape=(n, n))


def _median_gaps(day: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Median interval between the consecutive days of each run
    ``day[starts[k]:ends[k]]`` (sorted, at least two days each). One sort of
    all gaps: pandas' groupby median per pair took 4 s at 3.7M days."""
    count = ends - starts - 1
    first = np.cumsum(count) - count
    offset = np.arange(count.sum()) - np.repeat(first, count)
    index = np.repeat(starts + 1, count) + offset
    run = np.repeat(np.arange(len(starts)), count)
    gaps = day[index] - day[index - 1]
    gaps = gaps[np.lexsort((gaps, run))]
    return (gaps[first + (count - 1) // 2] + gaps[first + count // 2]) / 2.0


def recommend_products(
    lines: pd.DataFrame | PurchasePairs,
    as_of: object,
    segments: pd.Series | None = None,
    allowed_products: Iterable[int] | None = None,
    *,
    lookback_days: int = 365,
    recent_days: int = 14,
    top_n: int = 5,
    neighbours: int = 20,
    min_repeats: int = 2,
    due_within: int = 60,
) -> pd.DataFrame:
    """Top ``top_n`` products per customer; see the module docstring.
    ``lines``: invoice lines, or their :func:`purchase_pairs` (already
    windowed: ``lookback_days`` does not apply, ``min_repeats`` must be
    theirs)."""
    if top_n < 1 or neighbours < 1 or min_repeats < 2 or recent_days < 0:
        raise ValueError(
            "top_n and neighbours must be at least 1, min_repeats at least 2, "
            "recent_days at least 0"
        )
    if isinstance(lines, PurchasePairs) and lines.min_repeats != min_repeats:
        raise ValueError(
            f"the purchase pairs were computed for min_repeats={lines.min_repeats}, "
            f"not {min_repeats}"
        )
    with single_thread():
        return _recommend(
            lines,
            as_of,
            segments,
            allowed_products,
            lookback_days,
            recent_days,
            top_n,
            neighbours,
            min_repeats,
            due_within,
        )


def _recommend(
    lines,
    as_of,
    segments,
    allowed_products,
    lookback_days,
    recent_days,
    top_n,
    neighbours,
    min_repeats,
    due_within,
):
    as_of_day = to_day(as_of)
    if isinstance(lines, PurchasePairs):
        pairs = lines
    else:
        pairs = _pairs(lines, as_of_day, lookback_days, min_repeats)
    del lines
    if not len(pairs.c):
        return _empty_result()
    customers, products = pairs.customers, pairs.products
    n_customers, n_products = len(customers), len(products)
    pair_c, pair_p, last = pairs.c, pairs.p, pairs.last
    shape = (n_customers, n_products)
    bought = _pair_matrix(pairs)
    history = _pair_matrix(pairs, pairs.times)
    similarity = _similarity(bought, neighbours)

    allowed = np.ones(n_products, bool)
    if allowed_products is not None:
        allowed = np.isin(products, np.fromiter(allowed_products, np.int64))
    # Recently bought: out, unless due (added back below).
    is_recent = last > as_of_day - recent_days
    recent = sparse.csr_matrix(
        (
            np.ones(int(is_recent.sum()), np.float32),
            (pair_c[is_recent], pair_p[is_recent]),
        ),
        shape=shape,
    )
    del is_recent

    repeated = pairs.repeated
    due_interval = np.ceil(pairs.median_gap).astype(np.int64)
    elapsed = as_of_day - last[repeated].astype(np.int64)
    interval = np.maximum(due_interval, 1)
    is_due = (
        (elapsed + due_within >= interval)
        & (elapsed <= 3 * interval + due_within)
        & allowed[pair_p[repeated]]
    )
    due_c = pair_c[repeated][is_due].astype(np.int64)
    due_p = pair_p[repeated][is_due].astype(np.int64)
    due_interval = due_interval[is_due]
    del pairs, pair_c, pair_p, last, repeated, elapsed, interval, is_due

    # Segments: code per customer; customers without one share "".
    if segments is not None:
        seg_of = pd.Series(segments).astype(object)
        seg_of = seg_of[~seg_of.index.duplicated(keep="last")]
        seg_names = seg_of.reindex(customers).fillna("").astype(str).to_numpy()
    else:
        seg_names = np.full(n_customers, "", dtype=object)
    seg_labels, seg_code = np.unique(seg_names, return_inverse=True)
    membership = sparse.csr_matrix(
        (np.ones(n_customers, np.float32), (seg_code, np.arange(n_customers))),
        shape=(len(seg_labels), n_customers),
    )
    seg_share = np.asarray((membership @ bought).todense(), dtype=np.float64)
    overall_share = np.asarray(bought.sum(axis=0), dtype=np.float64) / n_customers
    seg_share = (seg_share + SEGMENT_PRIOR * overall_share) / (
        np.bincount(seg_code, minlength=len(seg_labels))[:, None] + SEGMENT_PRIOR
    )
    seg_share[:, ~allowed] = 0.0
    seg_best = np.maximum(seg_share.max(axis=1, keepdims=True), 1e-12)
    seg_norm = seg_share / seg_best
    seg_top = np.argsort(-seg_norm, axis=1, kind="stable")[:, :SEGMENT_CANDIDATES]

    shared = (
        bought,
        history,
        recent,
        similarity,
        seg_code,
        seg_norm,
        seg_top,
        allowed,
        (due_c, due_p, due_interval),
        top_n,
    )
    # A partial holds the matrices, not the names: del below frees them.
    score = functools.partial(_score_from, n_customers=n_customers, shared=shared)
    parts = list(ordered_map(score, range(0, n_customers, CHUNK_CUSTOMERS)))
    del score
    # The matrices go before the result is assembled (the peak at 1M was
    # there), and each field's chunks as soon as they are joined.
    del shared, bought, history, recent, similarity, due_c, due_p, due_interval
    parts = [list(part) for part in parts]
    rows, cols, score, reason, anchor, interval, rank = (
        _join_field(parts, field) for field in range(7)
    )
    if not len(rows):
        return _empty_result()
    reason_segment = np.where(reason == 2, seg_labels[seg_code[rows]], "").astype(
        object
    )
    reason_product = np.where(anchor >= 0, products[np.maximum(anchor, 0)], 0)
    del anchor
    # copy=False: the frame takes these arrays, no second copy of each.
    return pd.DataFrame(
        {
            "partner_id": customers[rows].astype(np.int64),
            "rank": rank + 1,
            "product_id": products[cols].astype(np.int64),
            "score": np.round(score, 6),
            "reason": np.array(
                ["due", "bought_with", "segment", "bought_before"], dtype=object
            )[reason],
            "reason_product_id": reason_product.astype(np.int64, copy=False),
            "reason_segment": reason_segment,
            "interval_days": interval.astype(np.int64, copy=False),
        },
        copy=False,
    )


def _score_from(start, n_customers, shared):
    """:func:`_score_chunk` of the CHUNK_CUSTOMERS customers from ``start``."""
    return _score_chunk(start, min(start + CHUNK_CUSTOMERS, n_customers), *shared)


def _join_field(parts, field):
    """One field of every chunk's result as one array, the chunks' pieces
    dropped as it goes."""
    whole = np.concatenate([part[field] for part in parts])
    for part in parts:
        part[field] = None
    return whole


def _score_chunk(
    start,
    stop,
    bought,
    history,
    recent,
    similarity,
    seg_code,
    seg_norm,
    seg_top,
    allowed,
    due,
    top_n,
):
    n = stop - start
    mine = bought[start:stop]
    co = (mine @ similarity).tocsr()
    co.sum_duplicates()
    # Each customer's best co-purchase score (csr max(axis=1) was 5x slower).
    best = np.zeros(n)
    filled = np.diff(co.indptr) > 0
    if filled.any():
        best[filled] = np.maximum.reduceat(co.data, co.indptr[:-1][filled])
    codes = seg_code[start:stop]
    k = seg_top.shape[1]
    s_rows = np.repeat(np.arange(n, dtype=np.int64), k)
    s_cols = seg_top[codes].ravel().astype(np.int64)
    co_rows, co_cols, co_vals = _co_candidates(
        co, mine, best, s_rows, s_cols, codes, seg_norm, allowed, top_n
    )

    own = history[start:stop].tocoo()
    o_rows, o_cols = own.row.astype(np.int64), own.col.astype(np.int64)
    o_days = own.data.astype(np.float64)
    o_best = np.zeros(n)
    np.maximum.at(o_best, o_rows, o_days)
    o_vals = o_days / np.maximum(o_best[o_rows], 1e-12)

    rows = np.concatenate([co_rows, s_rows, o_rows])
    cols = np.concatenate([co_cols, s_cols, o_cols])
    n_products = bought.shape[1]
    # Sort-based distinct keys: np.unique's hashing is slower here.
    key = np.sort(rows * n_products + cols)
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    rows, cols = key // n_products, key % n_products
    co_score = np.zeros(len(key))
    position = np.searchsorted(key, co_rows * n_products + co_cols)
    co_score[position] = co_vals
    own_score = np.zeros(len(key))
    own_position = np.searchsorted(key, o_rows * n_products + o_cols)
    own_score[own_position] = o_vals
    segment_score = seg_norm[codes[rows], cols]
    parts = np.stack([co_score, segment_score, own_score])
    score = np.array([CO_WEIGHT, 1 - CO_WEIGHT, OWN_WEIGHT]) @ parts

    # Out: not allowed, recently bought (a subset of the own history), nothing
    # to say for it.
    is_recent = np.zeros(len(key), bool)
    is_recent[own_position] = np.asarray(recent[start:stop][o_rows, o_cols]).ravel() > 0
    keep = allowed[cols] & ~is_recent & (score > 0)
    # source: the candidate's column in parts (-1: a due product).
    source = np.flatnonzero(keep)
    rows, cols, score = rows[keep], cols[keep], score[keep]
    reason = np.ones(len(rows), np.int64)
    interval = np.zeros(len(rows), np.int64)

    due_c, due_p, due_interval = due
    inside = (due_c >= start) & (due_c < stop)
    if inside.any():
        d_rows = due_c[inside] - start
        d_cols = due_p[inside]
        d_interval = due_interval[inside]
        # A due product scores by how often the customer bought it.
        d_score = (
            OWN_WEIGHT
            * np.asarray(history[start:stop][d_rows, d_cols], dtype=np.float64).ravel()
        )
        d_score /= np.maximum(o_best[d_rows], 1e-12)
        key_due = d_rows * n_products + d_cols
        # Both key lists are sorted: a binary search finds the clashes.
        candidate_key = rows * n_products + cols
        position = np.searchsorted(candidate_key, key_due)
        found = position < len(candidate_key)
        found[found] = candidate_key[position[found]] == key_due[found]
        clash = np.zeros(len(candidate_key), bool)
        clash[position[found]] = True
        rows, cols, score, reason, interval, source = (
            np.concatenate([rows[~clash], d_rows]),
            np.concatenate([cols[~clash], d_cols]),
            np.concatenate([score[~clash], d_score]),
            np.concatenate([reason[~clash], np.zeros(len(d_rows), np.int64)]),
            np.concatenate([interval[~clash], d_interval]),
            np.concatenate([source[~clash], np.full(len(d_rows), -1)]),
        )

    # Only what may reach a top_n matters: one quicksort by customer and
    # score finds each customer's top_n-th score (the exact 3-key lexsort of
    # every candidate took 2/3 of the engine's time); the exact order is then
    # taken among the candidates at or above it.
    if len(rows):
        rough = np.argsort(rows + (SCORE_CEILING - score) / (2 * SCORE_CEILING))
        rank = _ranks(rows[rough])
        threshold = np.full(stop - start, -np.inf)
        at_k = rank == top_n - 1
        threshold[rows[rough][at_k]] = score[rough][at_k]
        near = score >= threshold[rows] - 1e-9
        rows, cols, score, reason, interval, source = (
            rows[near],
            cols[near],
            score[near],
            reason[near],
            interval[near],
            source[near],
        )
    order = np.lexsort((cols, -score, rows))
    rank = _ranks(rows[order])
    order = order[rank < top_n]
    rows, cols, score, reason, interval, source, rank = (
        rows[order],
        cols[order],
        score[order],
        reason[order],
        interval[order],
        source[order],
        rank[rank < top_n],
    )
    # The reason is the signal in which the product stands out most (each on
    # its own 0..1 scale); the weights only rank.
    scored = source >= 0
    reason[scored] = 1 + parts[:, source[scored]].argmax(axis=0)
    anchor = _anchors(rows, cols, reason, mine, similarity)
    return rows + start, cols, score, reason, anchor, interval, rank


def _co_candidates(co, mine, best, s_rows, s_cols, codes, seg_norm, allowed, top_n):
    """The co-purchase candidates (rows, columns, scores scaled by ``best``)
    that may still reach a customer's top ``top_n``.

    Most of them cannot, and they made most of the chunk's work: a
    candidate the customer never bought scores exactly
    ``CO_WEIGHT * co + (1 - CO_WEIGHT) * segment``, and the segment's best
    products the customer never bought (allowed, scoring) stay in with at
    least ``(1 - CO_WEIGHT) * segment``: below the ``top_n``-th of those, a
    candidate is out whatever else happens. What the customer bought is kept
    (its own history and a due date can lift it)."""
    n = co.shape[0]
    own = co.multiply(mine).tocsr()
    others = (co - own).tocoo()
    own = own.tocoo()
    k = len(s_cols) // max(n, 1)
    floor = np.full(n, -np.inf)
    if k >= top_n:
        bought_it = np.asarray(mine[s_rows, s_cols]).ravel() > 0
        sure = (1 - CO_WEIGHT) * seg_norm[codes[s_rows], s_cols]
        sure[bought_it | ~allowed[s_cols] | (sure <= 0)] = -np.inf
        sure = sure.reshape(n, k)
        floor = np.partition(sure, k - top_n, axis=1)[:, k - top_n]
    o_rows, o_cols = own.row.astype(np.int64), own.col.astype(np.int64)
    rows, cols = others.row.astype(np.int64), others.col.astype(np.int64)
    values = others.data.astype(np.float64) / np.maximum(best[rows], 1e-12)
    exact = CO_WEIGHT * values + (1 - CO_WEIGHT) * seg_norm[codes[rows], cols]
    # The margin covers the rounding of the blend computed another way.
    reach = exact >= floor[rows] - 1e-9
    return (
        np.concatenate([o_rows, rows[reach]]),
        np.concatenate([o_cols, cols[reach]]),
        np.concatenate(
            [
                own.data.astype(np.float64) / np.maximum(best[o_rows], 1e-12),
                values[reach],
            ]
        ),
    )


def _ranks(rows):
    """0-based position of each entry within its run of equal ``rows``."""
    if not len(rows):
        return np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
    return np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))


def _anchors(rows, cols, reason, mine, similarity):
    """For "bought_with": the bought product most similar to the candidate."""
    anchor = np.full(len(rows), -1, np.int64)
    pick = np.flatnonzero(reason == 1)
    if not len(pick):
        return anchor
    indptr, indices = mine.indptr, mine.indices
    counts = indptr[rows[pick] + 1] - indptr[rows[pick]]
    pair = np.repeat(np.arange(len(pick)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    bought_item = indices[np.repeat(indptr[rows[pick]], counts) + offsets].astype(
        np.int64
    )
    target = cols[pick][pair]
    sim = np.asarray(similarity[bought_item, target]).ravel()
    # ``pair`` runs are contiguous and each customer's items ascending: the
    # best similarity of each by reduceat, ties to the lowest item (a 3-key
    # lexsort of every entry took 5 % of the engine's samples at 100k).
    bought_any = counts > 0
    starts = (np.cumsum(counts) - counts)[bought_any]
    best = np.maximum.reduceat(sim, starts)
    at_best = sim == np.repeat(best, counts[bought_any])
    lowest = np.minimum.reduceat(
        np.where(at_best, bought_item, np.iinfo(np.int64).max), starts
    )
    has = best > 0
    anchor[pick[bought_any][has]] = lowest[has]
    return anchor


def segment_profiles(
    lines: pd.DataFrame | PurchasePairs,
    as_of: object,
    segments: pd.Series,
    *,
    lookback_days: int = 365,
    top_n: int = 5,
    min_buyers: int = 2,
) -> pd.DataFrame:
    """Per segment, the ``top_n`` products (or product groups, e.g.
    categories, given the :func:`grouped_pairs`) with the highest lift: the
    share of the segment's buying customers who bought it, divided by the
    share of all buying customers who did. Only those bought by at least
    ``min_buyers`` customers of the segment count (a lift of one buyer is
    noise). ``lines``: invoice lines, or their :func:`purchase_pairs`
    (already windowed: ``as_of`` and ``lookback_days`` do not apply).

    Columns: ``segment``, ``rank`` (1 = highest lift), ``key`` (the product
    or group id), ``share`` (0..1), ``lift``. Empty when nothing was bought.
    """
    columns = ["segment", "rank", "key", "share", "lift"]
    if isinstance(lines, PurchasePairs):
        pairs = lines
    else:
        pairs = _pairs(lines, to_day(as_of), lookback_days)
    del lines
    seg_of = pd.Series(segments).astype(object)
    seg_of = seg_of[~seg_of.index.duplicated(keep="last")]
    seg_names = seg_of.reindex(pairs.customers).to_numpy()
    has_segment = pd.notna(seg_names)
    if not has_segment.any():
        return pd.DataFrame(columns=columns)
    codes, labels = pd.factorize(seg_names[has_segment], sort=True)
    customer_segment = np.full(len(pairs.customers), -1, np.int32)
    customer_segment[has_segment] = codes
    pair_c, pair_p, products = pairs.c, pairs.p, pairs.products
    del pairs
    n_products = len(products)
    if not n_products:
        # No group at all (e.g. no product has a category).
        return pd.DataFrame(columns=columns)
    seg_size = np.bincount(codes, minlength=len(labels))
    if len(labels) * n_products <= COUNT_CELLS:
        # Buyers per (segment, product) counted by row slices: no int64 key
        # and sort of every pair (the profiles' peak at 1M).
        buyers = np.zeros(len(labels) * n_products, np.int64)
        for start in range(0, len(pair_c), ROW_SLICE):
            segment = customer_segment[pair_c[start : start + ROW_SLICE]]
            inside = segment >= 0
            key = segment[inside].astype(np.int64) * n_products
            key += pair_p[start : start + ROW_SLICE][inside]
            buyers += np.bincount(key, minlength=len(buyers))
        overall = buyers.reshape(-1, n_products).sum(axis=0) / has_segment.sum()
        keys = np.flatnonzero(buyers)
        buyers = buyers[keys]
    else:
        pair_segment = customer_segment[pair_c].astype(np.int64)
        in_segment = pair_segment >= 0
        pair_segment = pair_segment[in_segment]
        pair_product = pair_p[in_segment].astype(np.int64)
        overall = np.bincount(pair_product, minlength=n_products) / has_segment.sum()
        keys, buyers = np.unique(
            pair_segment * n_products + pair_product, return_counts=True
        )
    keys, buyers = keys[buyers >= min_buyers], buyers[buyers >= min_buyers]
    if not len(keys):
        return pd.DataFrame(columns=columns)
    segment, product = keys // n_products, keys % n_products
    share = buyers / seg_size[segment]
    lift = share / overall[product]
    # Product codes follow product ids: ties go to the lower id.
    order = np.lexsort((product, -share, -lift, segment))
    segment, product, share, lift = (
        segment[order],
        product[order],
        share[order],
        lift[order],
    )
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    rank = np.arange(len(segment)) - np.repeat(
        starts, np.diff(np.r_[starts, len(segment)])
    )
    keep = rank < top_n
    return pd.DataFrame(
        {
            "segment": np.asarray(labels, dtype=object)[segment[keep]],
            "rank": (rank[keep] + 1).astype(np.int64),
            "key": products[product[keep]].astype(np.int64),
            "share": share[keep],
            "lift": lift[keep],
        },
        columns=columns,
    )
