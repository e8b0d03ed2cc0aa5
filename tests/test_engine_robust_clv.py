"""Issue #16.2: one customer with an extreme amount moves nobody else's CLV.

Property (hypothesis): on CDNOW (23,502 buyers at 1998-06-30), adding one
customer with one to three purchase days of 1e7 to 1e12 anywhere in the
history changes no other customer's predicted CLV by more than 1 %.
"""

import importlib.resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custseg_module.engine import segment_customers

START, END = pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30")
OUTLIER = 10**9


@pytest.fixture(scope="module")
def cdnow_result():
    path = importlib.resources.files("lifetimes") / "datasets/CDNOW_master.txt"
    with path.open() as handle:
        raw = pd.read_csv(handle, sep=r"\s+", dtype={"customer_id": "int64"})
    data = pd.DataFrame(
        {
            "partner_id": raw["customer_id"],
            "date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["dollar_value"].astype(float),
        }
    )
    return data, segment_customers(data, END)


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same examples on every run: no flaky suite
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    amount=st.floats(1e7, 1e12),
    sign=st.sampled_from([1.0, 1.0, -1.0]),
    days=st.lists(st.integers(0, (END - START).days), min_size=1, max_size=3),
)
# Found by a random search: 1.06 % with the money feature clipped at the
# 0.1st-99.9th percentiles (a sparse tail rank moved); 0.86 % at 0.5-99.5.
@example(amount=1e7, sign=1.0, days=[167])
def test_extreme_customer_moves_no_other_clv(cdnow_result, amount, sign, days):
    data, before = cdnow_result
    extra = pd.DataFrame(
        {
            "partner_id": OUTLIER,
            "date": [START + pd.Timedelta(days=d) for d in days],
            "amount": sign * amount,
        }
    )
    after = segment_customers(pd.concat([data, extra]), END)
    assert np.isfinite(after.loc[OUTLIER, "predicted_clv"])
    old = before["predicted_clv"].to_numpy()
    new = after["predicted_clv"].drop(OUTLIER).to_numpy()
    np.testing.assert_allclose(new, old, rtol=0.01, atol=1e-9)
