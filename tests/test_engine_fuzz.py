"""Fuzzing the engine over wide ranges (issue #8, item 4).

test_engine_properties.py already checks the invariants on the default
configuration, amounts from 1e-6 to 1e12, NaN/inf amounts and a missing column
at a time. This file adds what it does not cover: random valid configurations
(bins 2..9 with random grids, tier cuts, windows, thresholds, k ranges), dates
spread over three centuries, amounts up to 1e15, any set of missing columns, and
bad values of every kind in every column, each named in the ValueError.
"""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custseg_module.engine import RESULT_COLUMNS, SegmentationConfig, segment_customers
from custseg_module.engine.config import MAX_BINS
from custseg_module.engine.validation import REQUIRED_COLUMNS

EPOCH = pd.Timestamp("1970-01-01")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Dates from 1900 to 2199, as day numbers since 1970.
FIRST_DAY = (pd.Timestamp("1900-01-01") - EPOCH).days
LAST_DAY = (pd.Timestamp("2199-12-31") - EPOCH).days


def frame(rows):
    pid, day, amount = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "partner_id": np.asarray(pid, dtype=np.int64),
            "date": EPOCH + pd.to_timedelta(np.asarray(day, dtype=np.int64), unit="D"),
            "amount": np.asarray(amount, dtype=np.float64),
        }
    )


@st.composite
def grids(draw, bins):
    """A random valid grid: rows and columns cut into bands, one segment per
    rectangle of a row band and a column band."""

    def bands():
        cuts = draw(st.sets(st.integers(2, bins), max_size=bins - 1))
        edges = [1, *sorted(cuts), bins + 1]
        return [(lo, hi - 1) for lo, hi in zip(edges, edges[1:], strict=False)]

    return {
        f"s{i}_{j}": (r0, r1, f0, f1)
        for i, (r0, r1) in enumerate(bands())
        for j, (f0, f1) in enumerate(bands())
    }


@st.composite
def configs(draw):
    bins = draw(st.integers(2, MAX_BINS))
    cuts = sorted(draw(st.sets(st.integers(1, 99), min_size=3, max_size=3)))
    at_risk_min = draw(st.integers(0, 400))
    k_min = draw(st.integers(2, 6))
    return SegmentationConfig(
        bins=bins,
        segment_grid=draw(grids(bins)),
        tier_cuts=tuple(c / 100 for c in cuts),
        lookback_days=draw(st.none() | st.integers(1, 20_000)),
        loyal_min_frequency=draw(st.integers(2, 12)),
        at_risk_gap_multiple=draw(st.floats(0.1, 20)),
        at_risk_min_days=at_risk_min,
        at_risk_max_days=at_risk_min + draw(st.integers(0, 800)),
        churn_days=draw(st.integers(1, 3_000)),
        horizon_days=draw(st.integers(1, 3_000)),
        clv_days=draw(st.integers(1, 5_000)),
        clustering=draw(st.booleans()),
        k_min=k_min,
        k_max=k_min + draw(st.integers(0, 4)),
    )


amounts = st.one_of(
    st.floats(1e-9, 1e15, allow_nan=False, allow_infinity=False),
    st.floats(-1e15, -1e-9, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 0.01, 100.0, 100.0]),
)


def check_result(result, transactions, as_of, config, partners=()):
    as_of_day = (pd.Timestamp(as_of).normalize() - EPOCH).days
    days = (transactions["date"] - EPOCH).dt.days
    in_window = transactions[days <= as_of_day]
    assert list(result.index) == sorted(set(in_window["partner_id"]) | set(partners))
    assert tuple(result.columns) == RESULT_COLUMNS
    buyers = result["frequency"] > 0
    assert (result.loc[~buyers, "segment"] == "prospect").all()
    for column in ("r_score", "f_score", "m_score"):
        assert result.loc[buyers, column].between(1, config.bins).all(), column
    for _, row in result[buyers].iterrows():
        r0, r1, f0, f1 = config.segment_grid[row["segment"]]
        assert r0 <= row["r_score"] <= r1 and f0 <= row["f_score"] <= f1
    numeric = result.select_dtypes("number").to_numpy(dtype=float)
    assert np.isfinite(numeric).all(), "finite inputs give finite outputs"
    assert result["purchase_probability"].between(0, 1).all()
    assert (result["predicted_clv"] >= 0).all()
    assert (result["recency_days"] >= 0).all()
    assert (result.loc[buyers, "last_purchase"] <= pd.Timestamp(as_of)).all()
    positive = result[buyers & (result["monetary"] > 0)]
    tier_rank = positive["value_tier"].map(
        {"key": 0, "important": 1, "ordinary": 2, "small": 3}
    )
    assert tier_rank.notna().all()
    order = np.argsort(-positive["monetary"].to_numpy(), kind="stable")
    assert np.all(np.diff(tier_rank.to_numpy()[order]) >= 0)
    # Prospects are never clustered; with clustering off every purchaser is in
    # cluster 0 "all customers" (the engine's contract, see clustering.py).
    assert (result.loc[~buyers, "cluster"] == -1).all()
    assert (result.loc[buyers, "cluster"] >= 0).all()
    if not config.clustering:
        assert (result.loc[buyers, "cluster"] == 0).all()
        assert (result.loc[buyers, "cluster_label"] == "all customers").all()


@FUZZ
@given(
    config=configs(),
    rows=st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 3_000), amounts), max_size=150
    ),
    as_of=st.integers(-100, 3_100),
    partners=st.lists(st.integers(1, 60), max_size=8),
)
def test_random_configurations_keep_the_invariants(config, rows, as_of, partners):
    transactions = frame(rows)
    as_of = EPOCH + pd.Timedelta(days=as_of)
    result = segment_customers(transactions, as_of, config=config, partners=partners)
    check_result(result, transactions, as_of, config, partners)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 2**53), st.integers(FIRST_DAY, LAST_DAY), amounts),
        min_size=1,
        max_size=100,
    ),
    as_of=st.integers(FIRST_DAY, LAST_DAY),
)
def test_three_centuries_of_dates_and_huge_ids(rows, as_of):
    config = SegmentationConfig(clustering=False)
    transactions = frame(rows)
    as_of = EPOCH + pd.Timedelta(days=as_of)
    result = segment_customers(transactions, as_of, config=config)
    check_result(result, transactions, as_of, config)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 8), st.integers(0, 400), amounts),
        min_size=1,
        max_size=40,
    ),
    variant=st.sampled_from(["float32", "int", "decimal", "string dates", "tz"]),
)
def test_input_dtypes_give_the_same_result(rows, variant):
    """Other ways of handing over the same numbers and dates."""
    transactions = frame(rows)
    if variant == "float32":
        transactions["amount"] = transactions["amount"].astype(np.float32)
    elif variant == "int":
        transactions["amount"] = transactions["amount"].round().astype(np.int64)
    elif variant == "decimal":
        transactions["amount"] = [Decimal(repr(a)) for a in transactions["amount"]]
    elif variant == "string dates":
        transactions["date"] = transactions["date"].dt.strftime("%Y-%m-%d")
    else:
        transactions["date"] = transactions["date"].dt.tz_localize("Europe/Brussels")
    canonical = frame(rows)
    canonical["amount"] = transactions["amount"].astype(np.float64).to_numpy()
    as_of = EPOCH + pd.Timedelta(days=420)
    expected = segment_customers(canonical, as_of)
    pd.testing.assert_frame_equal(segment_customers(transactions, as_of), expected)


BAD_VALUES = {
    "amount": [np.nan, np.inf, -np.inf, None, "12,50", "abc", pd.NA],
    "date": [pd.NaT, None, "not a date", "2021-02-30", np.nan],
    "partner_id": [np.nan, None, 1.5, np.inf, "x", pd.NA],
}


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 50), st.integers(0, 5_000), amounts),
        min_size=1,
        max_size=60,
    ),
    column=st.sampled_from(sorted(BAD_VALUES)),
    data=st.data(),
)
def test_a_bad_value_anywhere_names_its_column(rows, column, data):
    transactions = frame(rows).astype({column: object})
    bad = data.draw(st.sampled_from(BAD_VALUES[column]), label="bad value")
    where = data.draw(st.integers(0, len(transactions) - 1), label="row")
    transactions.iloc[where, transactions.columns.get_loc(column)] = bad
    with pytest.raises(ValueError, match=rf"^{column}\b"):
        segment_customers(transactions, EPOCH + pd.Timedelta(days=6_000))


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 50), st.integers(0, 500), amounts),
        min_size=1,
        max_size=20,
    ),
    missing=st.sets(st.sampled_from(REQUIRED_COLUMNS), min_size=1),
    extra=st.booleans(),
)
def test_missing_columns_are_all_named(rows, missing, extra):
    transactions = frame(rows).drop(columns=sorted(missing))
    if extra:
        transactions["note"] = "ignored"
    with pytest.raises(ValueError, match="missing column") as error:
        segment_customers(transactions, EPOCH + pd.Timedelta(days=600))
    for column in missing:
        assert repr(column) in str(error.value)
    for column in set(REQUIRED_COLUMNS) - missing:
        assert repr(column) not in str(error.value)


@pytest.mark.parametrize("as_of", [None, "", "yesterday", pd.NaT, float("nan")])
def test_a_bad_as_of_is_named(as_of):
    with pytest.raises(ValueError, match="as_of"):
        segment_customers(frame([(1, 5, 10.0)]), as_of)


def test_extra_columns_are_ignored():
    transactions = frame([(1, 5, 10.0), (2, 8, 30.0)])
    noisy = transactions.assign(note="x", currency="EUR")
    as_of = EPOCH + pd.Timedelta(days=10)
    pd.testing.assert_frame_equal(
        segment_customers(noisy, as_of), segment_customers(transactions, as_of)
    )


def test_amounts_at_the_limit_of_money_stay_finite():
    """1e15 per invoice is beyond any real ledger; sums and CLV stay finite."""
    rows = [(p, d, 1e15) for p in range(1, 6) for d in range(0, 500, 7)]
    rows += [(6, 3, -1e15), (7, 4, 1e-9)]
    transactions = frame(rows)
    as_of = EPOCH + pd.Timedelta(days=520)
    config = SegmentationConfig()
    result = segment_customers(transactions, as_of, config=config)
    check_result(result, transactions, as_of, config)
