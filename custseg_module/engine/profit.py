# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Customer profit, value tiers on profit, profit CLV and the whale curve.

Pure numpy: the Odoo layer aggregates revenue, cost of goods and document
counts per customer in SQL and hands the arrays over.

* ``customer_profit``: gross margin = revenue - cost; cost to serve = a cost
  per invoice + a cost per refund + a percentage of net revenue (refunds
  take their share back);
  profit = margin - cost to serve.
* ``profit_tiers``: :func:`.scoring.value_tiers` on profit: tiers split the
  cumulative share of *positive* profit; a purchaser whose profit is <= 0 is
  ``negative``.
* ``shrunk_profit_rates``: each customer's profit per unit of revenue, shrunk
  toward the typical customer's rate in proportion to how few invoices the
  customer has (one invoice says little about a customer's margin).
  Predicted revenue x this rate is the predicted CLV in profit.
* ``whale_curve``: customers ranked by profit, best first; cumulative profit
  as a share of total profit against the share of customers, and its
  20/80/30 figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .scoring import value_tiers

# Invoices a customer's own margin weighs as much as the typical one's: chosen
# on a validation cut-off before the Online Retail II holdout (VALIDATION.md).
PRIOR_INVOICES = 1.0


@dataclass(frozen=True)
class CostToServe:
    """Cost of serving a customer, in company currency; all default to 0."""

    per_invoice: float = 0.0
    per_refund: float = 0.0
    revenue_rate: float = 0.0  # share of revenue, 0.02 = 2 %

    def __post_init__(self) -> None:
        for name in ("per_invoice", "per_refund", "revenue_rate"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not np.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{name}: must be a number >= 0 (got {value!r})")
        if self.revenue_rate >= 1:
            raise ValueError(
                f"revenue_rate: must be a share below 1 (got {self.revenue_rate!r})"
            )


@dataclass(frozen=True)
class CustomerProfit:
    margin: np.ndarray
    cost_to_serve: np.ndarray
    profit: np.ndarray


def _floats(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: must hold finite numbers only")
    return array


def customer_profit(
    revenue, cost, invoice_count, refund_count, cost_to_serve: CostToServe
) -> CustomerProfit:
    """Margin, cost to serve and profit per customer (equally long arrays)."""
    revenue = _floats("revenue", revenue)
    cost = _floats("cost", cost)
    invoices = _floats("invoice_count", invoice_count)
    refunds = _floats("refund_count", refund_count)
    if not len(revenue) == len(cost) == len(invoices) == len(refunds):
        raise ValueError("revenue, cost, invoice_count, refund_count: unequal lengths")
    if (invoices < 0).any() or (refunds < 0).any():
        raise ValueError("invoice_count, refund_count: must not be negative")
    margin = revenue - cost
    serve = (
        invoices * cost_to_serve.per_invoice
        + refunds * cost_to_serve.per_refund
        + revenue * cost_to_serve.revenue_rate
    )
    return CustomerProfit(margin=margin, cost_to_serve=serve, profit=margin - serve)


def profit_tiers(profit, purchaser, cuts: tuple[float, ...]) -> np.ndarray:
    """Value tier per customer on profit; "" for non-purchasers."""
    profit = _floats("profit", profit)
    purchaser = np.asarray(purchaser, dtype=bool)
    tiers = np.full(len(profit), "", dtype=object)
    tiers[purchaser] = value_tiers(profit[purchaser], cuts)
    return tiers


def shrunk_profit_rates(
    revenue, profit, invoice_count, purchaser, prior_invoices=PRIOR_INVOICES
) -> np.ndarray:
    """Profit per unit of revenue, shrunk toward the typical customer's rate.

    ``rate = (n * own + k * M) / (n + k)``: ``own`` is the customer's profit
    over his revenue, ``n`` his invoices, ``k`` = ``prior_invoices`` and
    ``M`` the median ``own`` of the purchasers with revenue > 0 (a median:
    the revenue-weighted rate is the few largest customers', often on volume
    prices, and biased everyone else's). A purchaser without positive
    revenue or invoices gets ``M``; a non-purchaser 0, as all do when no
    purchaser has positive revenue. Rates are clipped to [-1, 1]. Held out
    on Online Retail II, this predicts a customer's profit better than his
    own rate, the population's or the revenue-weighted shrinkage
    (tests/VALIDATION.md).
    """
    revenue = _floats("revenue", revenue)
    profit = _floats("profit", profit)
    invoices = _floats("invoice_count", invoice_count)
    purchaser = np.asarray(purchaser, dtype=bool)
    if not len(revenue) == len(profit) == len(invoices) == len(purchaser):
        raise ValueError("revenue, profit, invoice_count, purchaser: unequal lengths")
    if prior_invoices <= 0:
        raise ValueError(f"prior_invoices: must be above 0 (got {prior_invoices!r})")
    rates = np.zeros(len(revenue))
    known = purchaser & (revenue > 0) & (invoices > 0)
    if not known.any():
        return rates
    own = profit[known] / revenue[known]
    typical = float(np.median(own))
    rates[purchaser] = typical
    weight = invoices[known] / (invoices[known] + prior_invoices)
    rates[known] = weight * own + (1.0 - weight) * typical
    # Refunds netting a customer's revenue to almost nothing make his own
    # rate explode (-8e14 on Online Retail II, revenue 1e-14): no customer
    # is predicted to lose more, nor to earn more, than his revenue.
    return np.clip(rates, -1.0, 1.0)


@dataclass(frozen=True)
class WhaleCurve:
    """The whale curve of one run; shares are fractions (1.0 = 100 %).

    The share figures are None when total profit is not positive (a share of
    a total <= 0 means nothing). ``points`` are (percent of customers 0..100,
    cumulative share of total profit), linearly interpolated between
    customers.
    """

    customer_count: int
    total_profit: float
    top20_share: float | None
    peak_share: float | None
    peak_customer_share: float | None
    given_away: float
    negative_count: int
    points: list[tuple[int, float]] = field(default_factory=list)


def whale_curve(profit) -> WhaleCurve:
    """Rank ``profit`` (one value per purchaser), best first, and measure."""
    profit = _floats("profit", profit)
    n = len(profit)
    ranked = np.sort(profit)[::-1]
    cumulative = np.r_[0.0, np.cumsum(ranked)]
    total = float(cumulative[-1])
    negative = int((profit < 0).sum())
    peak_index = int(np.argmax(cumulative))
    # What the customers after the peak take back from the best ones.
    given_away = float(cumulative[peak_index] - total)
    if n == 0 or total <= 0:
        return WhaleCurve(n, total, None, None, None, given_away, negative)
    top20 = (n * 20 + 99) // 100  # ceil(20 % of n), at least one customer
    shares = cumulative / total
    points = [
        (percent, float(np.interp(percent * n / 100, np.arange(n + 1), shares)))
        for percent in range(101)
    ]
    return WhaleCurve(
        customer_count=n,
        total_profit=total,
        top20_share=float(shares[top20]),
        peak_share=float(shares[peak_index]),
        peak_customer_share=peak_index / n,
        given_away=given_away,
        negative_count=negative,
        points=points,
    )
