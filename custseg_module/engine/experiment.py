# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Control groups for follow-ups and the lift they measure (pure, no Odoo).

:func:`draw_control_group` holds out a share of the customers entering a
segment. The draw is

* **reproducible**: each customer's place comes from a SHA-256 hash of the
  run's seed and the customer id, and the segment's starting offset from the
  seed and the segment, so the same run draws the same customers on any
  machine;
* **stratified**: customers are sorted by their likelihood decile (within the
  segment's entrants), then by their hash, and every ``1/share``-th one is held
  out (systematic sampling). Each decile therefore gives ``share`` of its
  customers, give or take one, and the segment's held-out count is
  ``share × n`` rounded up or down at random.

:func:`lift` compares the treated customers with the held-out ones: the
difference of purchase rates with a 95 % Wald interval, the difference of mean
revenue with a Welch interval, and the numbers behind them. Below
``MIN_GROUP`` customers on either side, or with no buyer at all, it says the
group is too small to conclude instead of giving a number.
"""

import hashlib
import math

import numpy as np
import pandas as pd

MAX_CONTROL_SHARE = 0.5
# Days after the entry over which the lift is measured; held-out customers get
# no follow-up of that segment for the longest one.
LIFT_WINDOWS = (30, 60, 90)
CONTROL_DAYS = max(LIFT_WINDOWS)
Z_95 = 1.959963984540054
# Fewer customers than this on either side: no conclusion is drawn.
MIN_GROUP = 20


def _unit_hash(*parts):
    """A number in [0, 1) from the SHA-256 of ``parts``: same on every platform."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def likelihood_deciles(likelihood):
    """1..10 equal-count deciles of ``likelihood`` (ties broken by position)."""
    values = pd.Series(likelihood, dtype="float64").fillna(0.0)
    count = len(values)
    if not count:
        return pd.Series([], dtype="int64", index=values.index)
    ranks = values.rank(method="first").to_numpy()
    return pd.Series(
        np.ceil(ranks * 10 / count).astype("int64"), index=values.index
    ).clip(1, 10)


def draw_control_group(entrants, shares, seed):
    """Hold out ``shares[segment]`` of each segment's entrants.

    ``entrants``: DataFrame with columns ``partner_id``, ``segment_id`` and
    ``likelihood``. ``shares``: {segment id: share in [0, 0.5]}; a segment not
    listed holds out nobody. ``seed``: the run (any value with a stable str).

    Returns a copy of ``entrants`` with ``decile`` (1..10, within the segment)
    and ``held_out`` (bool), in the input order.
    """
    missing = {"partner_id", "segment_id", "likelihood"} - set(entrants.columns)
    if missing:
        raise ValueError(f"entrants lack the columns {sorted(missing)}")
    for segment, share in shares.items():
        if not 0.0 <= float(share) <= MAX_CONTROL_SHARE:
            raise ValueError(
                f"control share of segment {segment} must be between 0 and "
                f"{MAX_CONTROL_SHARE:.0%} (got {share!r})"
            )
    result = entrants.copy()
    result["decile"] = 0
    result["held_out"] = False
    if result.empty:
        return result
    result["_key"] = [_unit_hash(seed, pid) for pid in result["partner_id"]]
    for segment, group in result.groupby("segment_id", sort=True):
        share = float(shares.get(segment, 0.0))
        deciles = likelihood_deciles(group["likelihood"])
        result.loc[group.index, "decile"] = deciles
        if share <= 0.0:
            continue
        order = (
            pd.DataFrame({"decile": deciles, "key": group["_key"]})
            .sort_values(["decile", "key"], kind="mergesort")
            .index
        )
        offset = _unit_hash(seed, "segment", segment)
        position = np.arange(len(order))
        held = np.floor((position + 1) * share + offset) > np.floor(
            position * share + offset
        )
        result.loc[order[held], "held_out"] = True
    return result.drop(columns="_key")


def _rate_difference(treated, held_out):
    p1, p0 = treated.mean(), held_out.mean()
    se = math.sqrt(p1 * (1 - p1) / len(treated) + p0 * (1 - p0) / len(held_out))
    diff = p1 - p0
    return p1, p0, diff, diff - Z_95 * se, diff + Z_95 * se


def _mean_difference(treated, held_out):
    m1, m0 = treated.mean(), held_out.mean()
    se = math.sqrt(
        treated.var(ddof=1) / len(treated) + held_out.var(ddof=1) / len(held_out)
    )
    diff = m1 - m0
    return m1, m0, diff, diff - Z_95 * se, diff + Z_95 * se


def lift(treated_bought, held_out_bought, treated_revenue, held_out_revenue):
    """Lift of the treated over the held-out customers.

    ``*_bought``: 0/1 per customer (bought within the window); ``*_revenue``:
    revenue per customer within the window. Returns a dict with the counts
    ``treated`` and ``held_out``, ``conclusive`` and, when conclusive, the
    purchase rates (``rate_treated``, ``rate_held_out``, ``rate_diff``,
    ``rate_low``, ``rate_high``) and the mean revenues (``revenue_treated``,
    ``revenue_held_out``, ``revenue_diff``, ``revenue_low``, ``revenue_high``),
    the intervals at 95 %.
    """
    bought1 = np.asarray(treated_bought, dtype="float64")
    bought0 = np.asarray(held_out_bought, dtype="float64")
    revenue1 = np.asarray(treated_revenue, dtype="float64")
    revenue0 = np.asarray(held_out_revenue, dtype="float64")
    if len(bought1) != len(revenue1) or len(bought0) != len(revenue0):
        raise ValueError("purchase flags and revenues must have one value each")
    out = {"treated": len(bought1), "held_out": len(bought0)}
    conclusive = (
        min(len(bought1), len(bought0)) >= MIN_GROUP
        and (bought1.sum() + bought0.sum()) > 0
    )
    out["conclusive"] = bool(conclusive)
    if not conclusive:
        return out
    keys = ("treated", "held_out", "diff", "low", "high")
    rates = _rate_difference(bought1, bought0)
    means = _mean_difference(revenue1, revenue0)
    out.update({f"rate_{key}": float(v) for key, v in zip(keys, rates, strict=True)})
    out.update({f"revenue_{key}": float(v) for key, v in zip(keys, means, strict=True)})
    return out
