"""Customer profit, tiers on profit, profit CLV rates and the whale curve."""

import numpy as np
import pytest

from custseg_module.engine.profit import (
    PRIOR_INVOICES,
    CostToServe,
    customer_profit,
    profit_tiers,
    shrunk_profit_rates,
    whale_curve,
)

CUTS = (0.5, 0.8, 0.95)


def test_profit_by_hand():
    result = customer_profit(
        revenue=[1000.0, 200.0, -50.0],
        cost=[600.0, 150.0, -30.0],
        invoice_count=[2, 10, 0],
        refund_count=[0, 3, 1],
        cost_to_serve=CostToServe(per_invoice=5.0, per_refund=20.0, revenue_rate=0.01),
    )
    np.testing.assert_allclose(result.margin, [400.0, 50.0, -20.0])
    # 2*5 + 0 + 1 % of 1000; 10*5 + 3*20 + 2; 0 + 20 - 1 % of the refunded 50
    np.testing.assert_allclose(result.cost_to_serve, [20.0, 112.0, 19.5])
    np.testing.assert_allclose(result.profit, [380.0, -62.0, -39.5])


def test_no_cost_known_profit_is_revenue():
    result = customer_profit([10.0, 0.0], [0.0, 0.0], [1, 0], [0, 0], CostToServe())
    np.testing.assert_allclose(result.profit, [10.0, 0.0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"per_invoice": -1.0}, "per_invoice"),
        ({"per_refund": float("nan")}, "per_refund"),
        ({"revenue_rate": 1.5}, "revenue_rate"),
    ],
)
def test_cost_to_serve_rejects_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CostToServe(**kwargs)


def test_bad_arrays_name_the_column():
    with pytest.raises(ValueError, match="cost"):
        customer_profit([1.0], [float("inf")], [1], [0], CostToServe())
    with pytest.raises(ValueError, match="unequal"):
        customer_profit([1.0, 2.0], [1.0], [1], [0], CostToServe())


def test_tiers_on_profit_and_negative_tier():
    # positive profit 60 + 25 + 10 + 5 = 100; shares ahead 0, .60, .85, .95
    profit = [60.0, 25.0, 10.0, 5.0, 0.0, -30.0, 0.0]
    purchaser = [True, True, True, True, True, True, False]
    tiers = profit_tiers(profit, purchaser, CUTS)
    assert tiers.tolist() == [
        "key",
        "important",
        "ordinary",
        "small",
        "negative",  # profit 0 despite purchases
        "negative",
        "",  # no purchase: no tier
    ]


def test_shrunk_rates_by_hand():
    revenue = np.array([100.0, 300.0, 50.0, -20.0, 0.0])
    profit = np.array([50.0, 30.0, 25.0, -5.0, 0.0])
    invoices = np.array([1, 4, 0, 1, 0])
    purchaser = [True, True, True, True, False]
    rates = shrunk_profit_rates(revenue, profit, invoices, purchaser)
    # The typical rate: the median own rate of the purchasers with revenue
    # and invoices (0.5 and 0.1); k = 1 invoice.
    typical, k = 0.3, PRIOR_INVOICES
    assert k == 1.0
    assert rates[0] == pytest.approx((1 * 0.5 + k * typical) / (1 + k))
    assert rates[1] == pytest.approx((4 * 0.1 + k * typical) / (4 + k))
    # Refunds only, or revenue without an invoice: the typical rate.
    assert rates[2] == pytest.approx(typical)
    assert rates[3] == pytest.approx(typical)
    assert rates[4] == 0.0
    # The more invoices, the closer to his own rate.
    many = shrunk_profit_rates(revenue, profit, invoices * 100, purchaser)
    assert abs(many[1] - 0.1) < abs(rates[1] - 0.1)


def test_shrunk_rates_stay_within_the_revenue():
    # Refunds left 1e-12 of revenue: his own rate would be -2e13.
    revenue = np.array([1e-12, 100.0, 200.0])
    profit = np.array([-20.0, 40.0, 600.0])
    rates = shrunk_profit_rates(revenue, profit, [3, 1, 5], [True, True, True])
    assert rates[0] == -1.0
    # Profit above revenue (a negative cost): at most all of it.
    assert rates[2] == 1.0
    assert rates[1] == pytest.approx((0.4 + 0.4) / 2)


def test_shrunk_rates_without_revenue_or_bad_input():
    assert shrunk_profit_rates(
        [0.0, -5.0], [0.0, -1.0], [1, 1], [True, True]
    ).tolist() == [
        0.0,
        0.0,
    ]
    with pytest.raises(ValueError, match="invoice_count"):
        shrunk_profit_rates([1.0], [1.0], [np.nan], [True])
    with pytest.raises(ValueError, match="unequal lengths"):
        shrunk_profit_rates([1.0, 2.0], [1.0, 1.0], [1], [True, True])
    with pytest.raises(ValueError, match="prior_invoices"):
        shrunk_profit_rates([1.0], [1.0], [1], [True], prior_invoices=0)


def test_whale_curve_by_hand():
    # Ten customers: total 100; ranked 60 40 30 20 10 0 -10 -10 -20 -20.
    profit = [10.0, -10.0, 60.0, 0.0, 20.0, -20.0, 40.0, -10.0, 30.0, -20.0]
    curve = whale_curve(profit)
    assert curve.customer_count == 10
    assert curve.total_profit == pytest.approx(100.0)
    assert curve.top20_share == pytest.approx(1.0)  # 60 + 40 of 100
    assert curve.peak_share == pytest.approx(1.6)  # 160 after five customers
    assert curve.peak_customer_share == pytest.approx(0.5)
    assert curve.given_away == pytest.approx(60.0)
    assert curve.negative_count == 4
    points = dict(curve.points)
    assert points[0] == 0.0
    assert points[10] == pytest.approx(0.6)
    assert points[15] == pytest.approx(0.8)  # half-way between 0.6 and 1.0
    assert points[50] == pytest.approx(1.6)
    assert points[100] == pytest.approx(1.0)


def test_whale_curve_without_positive_total():
    curve = whale_curve([-5.0, 2.0])
    assert curve.top20_share is None and curve.peak_share is None
    assert curve.points == []
    assert curve.negative_count == 1
    assert curve.given_away == pytest.approx(5.0)
    empty = whale_curve([])
    assert empty.customer_count == 0 and empty.given_away == 0.0
