"""The profit rate behind the CLV in profit, held out on Online Retail II.

The log has prices, not costs. Each product's unit cost is its median sale
price times a factor drawn once per product (0.4-0.8, seeded): the product
mix, the prices each customer paid (volume prices, discounts), refunds, fee
lines without cost (postage, manual lines) and the cost to serve are the
customers' own. Calibrate before a cut-off, hold out the next 3 months:
which rate, times a customer's holdout revenue, comes closest to his holdout
profit? tests/VALIDATION.md reports the figures.
"""

import numpy as np
import pandas as pd
import pytest
from online_retail import read_log

from custseg_module.engine.profit import (
    PRIOR_INVOICES,
    CostToServe,
    customer_profit,
    shrunk_profit_rates,
)

VALIDATION_CUT = pd.Timestamp("2010-06-09")
TEST_CUT = pd.Timestamp("2010-09-09")
HOLDOUT_MONTHS = 3
PRIOR_GRID = (0.5, 1.0, 2.0, 4.0)
COSTS_TO_SERVE = {
    "no cost to serve": CostToServe(),
    "5 an invoice, 10 a refund": CostToServe(per_invoice=5.0, per_refund=10.0),
}


@pytest.fixture(scope="module")
def lines():
    raw = read_log()
    # Customers only; bad-debt adjustments (A...) and non-positive prices are
    # not sales. Cancellations (C..., negative quantities) are refunds.
    lines = raw.dropna(subset=["customer_id"])
    lines = lines[~lines["invoice"].str.startswith("A") & (lines["price"] > 0)].copy()
    lines["date"] = pd.to_datetime(lines["date"])
    lines["partner_id"] = lines["customer_id"].astype(np.int64)
    lines["refund"] = lines["invoice"].str.startswith("C")
    lines["amount"] = lines["quantity"] * lines["price"]
    # Goods have a 5-digit stock code; POST, M, D, DOT, C2... are fees and
    # manual lines: no product, so no cost (as in the module).
    goods = lines["product"].str.match(r"^\d{5}")
    median_price = (
        lines[goods & ~lines["refund"]]
        .groupby("product")["price"]
        .median()
        .sort_index()
    )
    factor = np.random.default_rng(7).uniform(0.4, 0.8, len(median_price))
    unit_cost = lines["product"].map(median_price * factor)
    lines["cost"] = np.where(goods, lines["quantity"] * unit_cost.fillna(0.0), 0.0)
    return lines


def _per_customer(lines):
    documents = lines.groupby(["partner_id", "invoice"]).agg(
        revenue=("amount", "sum"), cost=("cost", "sum"), refund=("refund", "first")
    )
    grouped = documents.groupby("partner_id")
    return pd.DataFrame(
        {
            "revenue": grouped["revenue"].sum(),
            "cost": grouped["cost"].sum(),
            "invoices": grouped["refund"].agg(lambda refund: int((~refund).sum())),
            "refunds": grouped["refund"].sum().astype(int),
        }
    )


def _profit(customers, cost_to_serve):
    return customer_profit(
        customers["revenue"],
        customers["cost"],
        customers["invoices"],
        customers["refunds"],
        cost_to_serve,
    )


def _errors(lines, cut, cost_to_serve):
    """Per rate: (revenue-weighted error, median rate error) over the
    customers who bought before ``cut`` and in the 3 months after it."""
    end = cut + pd.DateOffset(months=HOLDOUT_MONTHS)
    before = _per_customer(lines[lines["date"] < cut])
    after = _per_customer(lines[(lines["date"] >= cut) & (lines["date"] < end)])
    after = after.reindex(before.index, fill_value=0)
    known = _profit(before, cost_to_serve)
    truth = _profit(after, cost_to_serve)
    revenue = before["revenue"].to_numpy()
    purchaser = before["invoices"].to_numpy() > 0
    positive = purchaser & (revenue > 0)
    population = known.profit[purchaser].sum() / revenue[positive].sum()
    median_revenue = np.median(revenue[positive])
    rates = {
        "own rate": np.where(
            revenue > 0, known.profit / np.where(revenue > 0, revenue, 1), population
        ),
        "population rate": np.full(len(revenue), population),
        # 1.4.4's rate: shrunk by revenue toward the revenue-weighted rate.
        "shrunk by revenue to the population rate": (
            known.profit + median_revenue * population
        )
        / (np.maximum(revenue, 0) + median_revenue),
    }
    for prior in PRIOR_GRID:
        rates[f"shrunk_profit_rates, k = {prior:g}"] = shrunk_profit_rates(
            revenue, known.profit, before["invoices"], purchaser, prior_invoices=prior
        )
    scored = purchaser & (after["revenue"].to_numpy() > 0)
    holdout_revenue = after["revenue"].to_numpy()[scored]
    holdout_profit = truth.profit[scored]
    errors = {}
    for name, rate in rates.items():
        predicted = holdout_revenue * rate[scored]
        errors[name] = (
            np.abs(predicted - holdout_profit).sum() / np.abs(holdout_profit).sum(),
            float(np.median(np.abs(rate[scored] - holdout_profit / holdout_revenue))),
        )
    return int(scored.sum()), errors


def test_prior_invoices_is_the_validation_cut_offs_best(lines):
    """k is chosen before the holdout: the lowest error summed over both
    costs to serve on the 2010-06-09 cut-off (holdout to 2010-09-08)."""
    summed = dict.fromkeys(PRIOR_GRID, 0.0)
    for cost_to_serve in COSTS_TO_SERVE.values():
        _count, errors = _errors(lines, VALIDATION_CUT, cost_to_serve)
        for prior in PRIOR_GRID:
            summed[prior] += errors[f"shrunk_profit_rates, k = {prior:g}"][0]
    print("\nvalidation cut-off, summed revenue-weighted error:", summed)
    assert min(summed, key=summed.get) == PRIOR_INVOICES


@pytest.mark.parametrize("setting", list(COSTS_TO_SERVE))
def test_the_shrunk_rate_predicts_holdout_profit_best(lines, setting):
    count, errors = _errors(lines, TEST_CUT, COSTS_TO_SERVE[setting])
    print(f"\n{setting}: {count} customers")
    for name, (weighted, median) in errors.items():
        print(f"  {name:42s} weighted {weighted:.4f}  median {median:.4f}")
    chosen = errors[f"shrunk_profit_rates, k = {PRIOR_INVOICES:g}"]
    for baseline in (
        "own rate",
        "population rate",
        "shrunk by revenue to the population rate",
    ):
        assert chosen[0] < errors[baseline][0], baseline
    for baseline in ("own rate", "shrunk by revenue to the population rate"):
        assert chosen[1] < errors[baseline][1], baseline
