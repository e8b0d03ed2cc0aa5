"""Hypothesis property tests on random transaction sets."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custseg_module.engine import (
    DEFAULT_SEGMENT_GRID,
    RESULT_COLUMNS,
    SegmentationConfig,
    segment_customers,
)

BASE = pd.Timestamp("2022-01-01")
AS_OF = BASE + pd.Timedelta(days=700)
TIER_RANK = {"key": 0, "important": 1, "ordinary": 2, "small": 3}
FAST = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

amounts = st.one_of(
    st.floats(-500, 5_000, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 10.0, 10.0, 25.5, -10.0]),  # ties and zero days
)
rows = st.lists(
    st.tuples(st.integers(1, 15), st.integers(0, 800), amounts), max_size=120
)


def frame(data):
    pid, day, amount = zip(*data, strict=True) if data else ((), (), ())
    return pd.DataFrame(
        {
            "partner_id": np.asarray(pid, dtype=np.int64),
            "date": BASE + pd.to_timedelta(np.asarray(day, dtype=np.int64), unit="D"),
            "amount": np.asarray(amount, dtype=np.float64),
        }
    )


def check_invariants(result, transactions, partners, config):
    in_window = transactions[transactions["date"] <= AS_OF]
    expected = sorted(set(in_window["partner_id"]) | set(partners))
    assert list(result.index) == expected
    assert tuple(result.columns) == RESULT_COLUMNS

    buyers = result["frequency"] > 0
    prospects = ~buyers
    # exactly one segment each, prospects exactly those without a purchase day
    assert result["segment"].isin([*config.segment_grid, "prospect"]).all()
    assert ((result["segment"] == "prospect") == prospects).all()
    assert (result["lifecycle_stage"] == "prospect").eq(prospects).all()
    for column in ("r_score", "f_score", "m_score"):
        assert result.loc[buyers, column].between(1, config.bins).all()
        assert (result.loc[prospects, column] == 0).all()
    for _, row in result[buyers].iterrows():
        r0, r1, f0, f1 = DEFAULT_SEGMENT_GRID[row["segment"]]
        assert r0 <= row["r_score"] <= r1 and f0 <= row["f_score"] <= f1

    # higher monetary never gets a worse tier; ties share a tier
    ranked = result[buyers & (result["monetary"] > 0)]
    tiers = ranked["value_tier"].map(TIER_RANK)
    assert tiers.notna().all()
    order = np.argsort(-ranked["monetary"].to_numpy(), kind="stable")
    assert np.all(np.diff(tiers.to_numpy()[order]) >= 0)
    for _, group in ranked.groupby("monetary"):
        assert group["value_tier"].nunique() == 1
    assert (
        result.loc[buyers & (result["monetary"] <= 0), "value_tier"] == "negative"
    ).all()
    assert (result.loc[prospects, "value_tier"] == "").all()

    # no missing values except the purchase dates of prospects
    for column in RESULT_COLUMNS:
        if column in ("first_purchase", "last_purchase"):
            assert (result[column].isna() == prospects).all()
        else:
            assert result[column].notna().all(), column
    numeric = result.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert result["purchase_probability"].between(0, 1).all()
    assert (result["predicted_clv"] >= 0).all()
    assert (result["recency_days"] >= 0).all()


@FAST
@given(
    data=rows,
    partners=st.lists(st.integers(1, 20), max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_and_row_order_independence(data, partners, seed):
    config = SegmentationConfig()
    transactions = frame(data)
    result = segment_customers(transactions, AS_OF, config=config, partners=partners)
    check_invariants(result, transactions, partners, config)
    shuffled = transactions.sample(frac=1.0, random_state=seed % 2**31)
    again = segment_customers(
        shuffled, AS_OF, config=config, partners=list(reversed(partners))
    )
    pd.testing.assert_frame_equal(result, again, check_exact=True)
    assert result.attrs["quality"] == again.attrs["quality"]


wide = st.one_of(
    st.floats(1e-6, 1e12, allow_nan=False, allow_infinity=False),
    st.floats(-1e12, -1e-6, allow_nan=False, allow_infinity=False),
)


@settings(FAST, max_examples=40)
@given(
    data=st.lists(
        st.tuples(st.integers(1, 10**9), st.integers(0, 800), wide),
        min_size=1,
        max_size=80,
    )
)
def test_wide_amounts_stay_finite(data):
    config = SegmentationConfig(clustering=False)
    transactions = frame(data)
    result = segment_customers(transactions, AS_OF, config=config)
    check_invariants(result, transactions, [], config)


@settings(max_examples=30, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(1, 5), st.integers(0, 50), amounts), min_size=1
    ),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.integers(0, 10**6),
)
def test_nan_or_infinite_amount_raises(data, bad, where):
    transactions = frame(data)
    transactions.loc[where % len(transactions), "amount"] = bad
    with pytest.raises(ValueError, match="amount"):
        segment_customers(transactions, AS_OF)


@pytest.mark.parametrize("column", ["partner_id", "date", "amount"])
def test_missing_column_raises_naming_it(column):
    transactions = frame([(1, 5, 10.0), (2, 6, 20.0)]).drop(columns=column)
    with pytest.raises(ValueError, match=column):
        segment_customers(transactions, AS_OF)


@pytest.mark.parametrize("column", ["partner_id", "date"])
def test_missing_value_raises_naming_column(column):
    transactions = frame([(1, 5, 10.0), (2, 6, 20.0)])
    transactions[column] = transactions[column].astype(object)
    transactions.loc[1, column] = None
    with pytest.raises(ValueError, match=column):
        segment_customers(transactions, AS_OF)


def test_nullable_dtypes_are_accepted_and_na_amount_raises():
    transactions = pd.DataFrame(
        {
            "partner_id": pd.array([1, 2], dtype="Int64"),
            "date": ["2023-01-01", "2023-01-02"],
            "amount": pd.array([1.0, 2.0], dtype="Float64"),
        }
    )
    assert segment_customers(transactions, AS_OF)["frequency"].tolist() == [1, 1]
    transactions.loc[1, "amount"] = None
    with pytest.raises(ValueError, match="amount"):
        segment_customers(transactions, AS_OF)
