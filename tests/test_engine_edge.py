"""Edge cases, one per test."""

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from custseg_module.engine import (
    DEFAULT_SEGMENT_GRID,
    RESULT_COLUMNS,
    SegmentationConfig,
    grid_problems,
    segment_customers,
    validate_grid,
)

AS_OF = pd.Timestamp("2024-06-30")


def tx(rows):
    return pd.DataFrame(rows, columns=["partner_id", "date", "amount"])


def days_ago(days):
    return AS_OF - pd.Timedelta(days=days)


def test_empty_input_gives_empty_result_with_all_columns():
    result = segment_customers(tx([]), AS_OF)
    assert len(result) == 0
    assert tuple(result.columns) == RESULT_COLUMNS
    assert result.index.name == "partner_id"
    assert result.attrs["quality"]["n_customers"] == 0
    assert result.attrs["quality"]["likelihood_method"] is None


def test_empty_frame_without_columns_is_accepted():
    assert len(segment_customers(pd.DataFrame(), AS_OF)) == 0


def test_empty_input_with_partners_gives_prospects():
    result = segment_customers(tx([]), AS_OF, partners=[5, 3, 3, 9])
    assert list(result.index) == [3, 5, 9]
    assert (result["segment"] == "prospect").all()
    assert (result["lifecycle_stage"] == "prospect").all()
    assert result["first_purchase"].isna().all()
    assert (result["cluster"] == -1).all()


def test_partners_as_an_array_are_the_list():
    """The run passes the partners as a numpy array (its COPY): the same
    customers, figures and order as the same ids in a list."""
    sales = tx([(7, days_ago(3), 40.0), (5, days_ago(40), 12.0)])
    as_list = segment_customers(sales, AS_OF, partners=[9, 7, 3])
    as_array = segment_customers(sales, AS_OF, partners=np.array([9, 7, 3]))
    assert list(as_array.index) == [3, 5, 7, 9]
    pd.testing.assert_frame_equal(as_array, as_list)


def test_previous_segments_as_categories_give_the_ari():
    """The run passes the previous segments as a categorical column: the
    same similarity to the previous run as with strings."""
    sales = tx([(c, days_ago(c * 7), 10.0 * c) for c in range(1, 41)])
    first = segment_customers(sales, AS_OF)
    # Half the customers were elsewhere before: an ARI below 1.
    segments = first["segment"].to_numpy(dtype=object, copy=True)
    segments[::2] = np.roll(segments[::2], 1)
    strings = pd.DataFrame({"segment": segments}, index=first.index)
    categories = strings.astype("category")
    with_strings = segment_customers(sales, AS_OF, previous=strings)
    with_categories = segment_customers(sales, AS_OF, previous=categories)
    ari = with_strings.attrs["quality"]["ari_previous"]
    assert 0.0 < ari < 1.0
    assert with_categories.attrs["quality"]["ari_previous"] == pytest.approx(ari)


def test_one_customer():
    result = segment_customers(tx([(7, days_ago(3), 40.0)]), AS_OF)
    row = result.loc[7]
    assert row["frequency"] == 1 and row["recency_days"] == 3
    assert row["rfm_code"] == "555"  # alone, it ranks first on everything
    assert row["segment"] == "champions"
    assert row["value_tier"] == "key"
    assert row["lifecycle_stage"] == "new"
    assert 0.0 <= row["purchase_probability"] <= 1.0
    assert row["cluster"] == 0 and row["cluster_label"] == "all customers"
    assert result.attrs["quality"]["likelihood_method"] == "bg_nbd"
    assert result.attrs["quality"]["silhouette"] is None


def test_all_values_equal():
    rows = [(pid, days_ago(10), 25.0) for pid in range(1, 21)]
    result = segment_customers(tx(rows), AS_OF)
    for column in ("r_score", "f_score", "m_score", "segment", "value_tier"):
        assert result[column].nunique() == 1, column
    # all tied at the bottom rank: score 1, and all tied for the top tier
    assert (result["rfm_code"] == "111").all()
    assert (result["value_tier"] == "key").all()
    assert result["purchase_probability"].nunique() == 1
    assert result.attrs["quality"]["n_clusters"] == 1


def test_refunds_larger_than_sales_give_negative_tier():
    rows = [(1, days_ago(20), 100.0), (1, days_ago(5), -150.0), (2, days_ago(3), 10.0)]
    result = segment_customers(tx(rows), AS_OF)
    assert result.loc[1, "monetary"] == -50.0
    assert result.loc[1, "frequency"] == 1  # the refund day is not a purchase
    assert result.loc[1, "value_tier"] == "negative"
    assert result.loc[1, "predicted_clv"] >= 0.0
    assert result.loc[2, "value_tier"] == "key"


def test_refunds_only_in_window_is_prospect_with_net_amount():
    config = SegmentationConfig(lookback_days=30)
    rows = [(1, days_ago(100), 100.0), (1, days_ago(5), -40.0), (2, days_ago(3), 9.0)]
    result = segment_customers(tx(rows), AS_OF, config=config)
    assert result.loc[1, "segment"] == "prospect"
    assert result.loc[1, "monetary"] == -40.0
    assert result.loc[1, "value_tier"] == ""


def test_same_day_duplicates_count_once():
    day = days_ago(4)
    rows = [(1, day, 10.0), (1, day, 20.0), (1, day.replace(hour=15), 5.0)]
    result = segment_customers(tx(rows), AS_OF)
    assert result.loc[1, "frequency"] == 1
    assert result.loc[1, "monetary"] == 35.0
    assert result.loc[1, "avg_order_value"] == 35.0


def test_day_netting_to_zero_is_not_a_purchase():
    rows = [(1, days_ago(4), 10.0), (1, days_ago(4), -10.0), (1, days_ago(9), 3.0)]
    result = segment_customers(tx(rows), AS_OF)
    assert result.loc[1, "frequency"] == 1
    assert result.loc[1, "recency_days"] == 9


def test_rows_after_as_of_are_ignored():
    rows = [(1, days_ago(10), 10.0), (2, days_ago(40), 30.0)]
    later = [(1, AS_OF + pd.Timedelta(days=1), 999.0), (3, days_ago(-5), 50.0)]
    base = segment_customers(tx(rows), AS_OF)
    with_future = segment_customers(tx(rows + later), AS_OF)
    pd.testing.assert_frame_equal(base, with_future)
    assert 3 not in with_future.index


def test_as_of_day_is_included_whatever_the_time():
    rows = [(1, AS_OF.replace(hour=23, minute=59), 10.0)]
    result = segment_customers(tx(rows), AS_OF.replace(hour=8))
    assert result.loc[1, "frequency"] == 1 and result.loc[1, "recency_days"] == 0


def test_lookback_window():
    config = SegmentationConfig(lookback_days=100)
    rows = [
        (1, days_ago(150), 500.0),  # outside the window
        (1, days_ago(50), 20.0),
        (2, days_ago(300), 80.0),  # only outside: prospect
        (3, days_ago(99), 5.0),  # last day inside the window
        (3, days_ago(100), 7.0),  # first day outside
    ]
    result = segment_customers(tx(rows), AS_OF, config=config)
    assert result.loc[1, "monetary"] == 20.0
    assert result.loc[1, "first_purchase"] == days_ago(50)
    assert result.loc[2, "segment"] == "prospect"
    assert result.loc[3, "monetary"] == 5.0


def test_reactivated_lasts_until_the_next_purchase_not_one_run():
    rows = [
        (1, days_ago(800), 10.0),
        (1, days_ago(5), 10.0),  # came back after a churn-length silence
        (2, days_ago(800), 10.0),  # still churned
        (3, days_ago(5), 10.0),
        (4, days_ago(900), 10.0),
        (4, days_ago(20), 10.0),  # came back ...
        (4, days_ago(5), 10.0),  # ... and bought again: no longer reactivated
    ]
    previous = pd.DataFrame(
        {"segment": ["lost", "lost", None, "lost"]},
        index=pd.Index([1, 2, 3, 4], name="partner_id"),
    )
    first = segment_customers(tx(rows), AS_OF, previous=previous)
    stages = first["lifecycle_stage"]
    assert stages[1] == "reactivated"
    assert stages[2] == "churned"
    assert stages[3] == "new"
    assert stages[4] == "repeat"
    # No run history needed, and a second run the same day (or the next day)
    # keeps the stage: it is the purchase history's, not the previous run's.
    assert segment_customers(tx(rows), AS_OF)["lifecycle_stage"][1] == "reactivated"
    again = segment_customers(tx(rows), AS_OF, previous=first)
    pd.testing.assert_series_equal(again["lifecycle_stage"], stages)
    later = segment_customers(tx(rows), AS_OF + pd.Timedelta(days=1), previous=again)
    assert later["lifecycle_stage"][1] == "reactivated"


def test_ari_previous():
    rows = [(pid, days_ago(pid * 7), 10.0 * pid) for pid in range(1, 30)]
    first = segment_customers(tx(rows), AS_OF)
    assert first.attrs["quality"]["ari_previous"] is None
    again = segment_customers(tx(rows), AS_OF, previous=first)
    assert again.attrs["quality"]["ari_previous"] == pytest.approx(1.0)
    no_segment = first[["lifecycle_stage"]]
    assert (
        segment_customers(tx(rows), AS_OF, previous=no_segment).attrs["quality"][
            "ari_previous"
        ]
        is None
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bins", 1),
        ("bins", 10),
        ("lookback_days", -5),
        ("lookback_days", 0),
        ("tier_cuts", (0.5, 0.4, 0.9)),
        ("tier_cuts", (0.0, 0.5, 0.9)),
        ("tier_cuts", (0.5, 0.8)),
        ("loyal_min_frequency", 1),
        ("at_risk_gap_multiple", 0),
        ("at_risk_min_days", -1),
        ("churn_days", 0),
        ("horizon_days", -1),
        ("clv_days", 0),
        ("k_min", 1),
        ("random_state", -1),
        ("clustering", "yes"),
    ],
)
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        SegmentationConfig(**{field: value})


def test_config_cross_field_errors():
    with pytest.raises(ValueError, match="^k_min:"):
        SegmentationConfig(k_min=5, k_max=4)
    with pytest.raises(ValueError, match="^at_risk_min_days:"):
        SegmentationConfig(at_risk_min_days=200, at_risk_max_days=100)
    with pytest.raises(ValueError, match="^segment_grid:"):
        SegmentationConfig(bins=4)  # the default grid is for 5 bins


def test_grid_errors_name_cells():
    grid = dict(DEFAULT_SEGMENT_GRID)
    grid["lost"] = (1, 1, 1, 1)  # R1F2 now missing
    grid["need_attention"] = (3, 3, 3, 4)  # R3F4 doubled with loyal
    assert grid_problems(grid, 5) == [
        "missing cells R1F2",
        "doubled cells R3F4 (loyal, need_attention)",
    ]
    with pytest.raises(ValueError) as error:
        SegmentationConfig(segment_grid=grid)
    assert str(error.value) == (
        "segment_grid: missing cells R1F2; doubled cells R3F4 (loyal, need_attention)"
    )


def test_grid_range_errors():
    assert grid_problems({"a": (1, 6, 1, 5)}, 5) == ["a: r_max outside 1..5"]
    assert grid_problems({"a": (3, 2, 1, 5)}, 5) == ["a: inverted range R3-2 F1-5"]
    assert grid_problems({}, 2) == ["no segment defined"]
    assert grid_problems({"prospect": (1, 2, 1, 2)}, 2) == [
        "invalid segment code 'prospect'"
    ]
    validate_grid({"all": (1, 2, 1, 2)}, 2)


def test_custom_bins_and_grid():
    grid = {"top": (3, 3, 1, 3), "rest": (1, 2, 1, 3)}
    config = SegmentationConfig(bins=3, segment_grid=grid)
    rows = [(pid, days_ago(pid), float(pid)) for pid in range(1, 31)]
    result = segment_customers(tx(rows), AS_OF, config=config)
    assert set(result["segment"]) == {"top", "rest"}
    assert result["r_score"].between(1, 3).all()
    assert set(result.attrs["quality"]["segment_sizes"]) == {"top", "rest", "prospect"}


def test_config_grid_is_a_frozen_copy():
    grid = dict(DEFAULT_SEGMENT_GRID)
    config = SegmentationConfig(segment_grid=grid)
    grid["lost"] = (1, 1, 1, 1)
    assert config.segment_grid["lost"] == (1, 1, 1, 2)
    with pytest.raises(TypeError):
        config.segment_grid["lost"] = (1, 1, 1, 1)


def test_determinism_two_calls_equal():
    rng = np.random.default_rng(3)
    rows = [
        (int(rng.integers(1, 300)), days_ago(int(rng.integers(0, 900))), float(a))
        for a in rng.gamma(2.0, 40.0, 3000)
    ]
    first = segment_customers(tx(rows), AS_OF)
    second = segment_customers(tx(rows), AS_OF)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first.attrs["quality"] == second.attrs["quality"]


def test_float_sums_do_not_depend_on_row_order():
    # 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1 in floating point.
    amounts = [0.1, 0.2, 0.3]
    results = [
        segment_customers(
            tx([(1, days_ago(1), a) for a in perm] + [(2, days_ago(1), 0.6)]), AS_OF
        )
        for perm in itertools.permutations(amounts)
    ]
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other, check_exact=True)


def test_date_inputs_of_all_kinds():
    dates = [
        dt.date(2024, 6, 1),
        "2024-06-01",
        pd.Timestamp("2024-06-01 13:45"),
        pd.Timestamp("2024-06-01 23:00", tz="Europe/Brussels"),
        np.datetime64("2024-06-01"),
    ]
    for value in dates:
        result = segment_customers(tx([(1, value, 10.0)]), dt.date(2024, 6, 30))
        assert result.loc[1, "recency_days"] == 29, value
        assert result.attrs["as_of"] == "2024-06-30"


def test_bad_ids_and_dates_raise():
    with pytest.raises(ValueError, match="partner_id"):
        segment_customers(tx([(1.5, "2024-01-01", 1.0)]), AS_OF)
    with pytest.raises(ValueError, match="date"):
        segment_customers(tx([(1, "not a date", 1.0)]), AS_OF)
    with pytest.raises(ValueError, match="amount"):
        segment_customers(tx([(1, "2024-01-01", "ten")]), AS_OF)
    with pytest.raises(ValueError, match="as_of"):
        segment_customers(tx([(1, "2024-01-01", 1.0)]), "someday")
    with pytest.raises(ValueError, match="partners"):
        segment_customers(tx([]), AS_OF, partners=[1, None])
    with pytest.raises(ValueError, match="previous"):
        segment_customers(tx([]), AS_OF, previous=[1, 2])


def test_integral_float_ids_are_accepted():
    result = segment_customers(tx([(4.0, "2024-01-01", 1.0)]), AS_OF)
    assert list(result.index) == [4]


def test_only_one_time_buyers():
    rows = [(pid, days_ago(pid * 3), 20.0 + pid) for pid in range(1, 400)]
    result = segment_customers(tx(rows), AS_OF)
    assert (result["frequency"] == 1).all()
    assert (result["f_score"] == 1).all()
    assert result.attrs["quality"]["likelihood_method"] == "bg_nbd"
    probability = result["purchase_probability"]
    assert probability.between(0, 1).all()
    assert np.isfinite(result["predicted_clv"]).all()


def test_classifier_used_with_enough_history():
    rng = np.random.default_rng(11)
    rows = []
    for pid in range(1, 1200):  # >= 500 buyers in the last 90 days
        rate = rng.gamma(1.0, 1 / 60)
        day = int(rng.integers(0, 600))
        while day < 1000:
            rows.append((pid, days_ago(1000 - day), float(rng.gamma(2, 30))))
            day += max(1, int(rng.exponential(1 / rate)))
    result = segment_customers(tx(rows), AS_OF)
    assert result.attrs["quality"]["likelihood_method"] == "logistic_regression+bg_nbd"
    # recent frequent buyers are likelier to buy than lapsed one-timers
    buyers = result[result["frequency"] > 0]
    active = buyers["recency_days"] < buyers["recency_days"].median()
    probability = buyers["purchase_probability"]
    assert probability[active].mean() > probability[~active].mean()


def test_lifecycle_thresholds_use_population_gap_for_one_time_buyers():
    # repeaters buy every 10 days: one-time buyers are at risk after 30 days
    rows = [(pid, days_ago(d), 10.0) for pid in range(1, 6) for d in (1, 11, 21)]
    rows += [(10, days_ago(25), 5.0), (11, days_ago(35), 5.0)]
    stages = segment_customers(tx(rows), AS_OF)["lifecycle_stage"]
    assert stages[10] == "new"
    assert stages[11] == "at_risk"


def test_clustering_disabled():
    rows = [(pid, days_ago(pid * 5), float(pid)) for pid in range(1, 50)]
    config = SegmentationConfig(clustering=False)
    result = segment_customers(tx(rows), AS_OF, config=config)
    assert (result["cluster"] == 0).all()
    assert (result["cluster_label"] == "all customers").all()
    quality = result.attrs["quality"]
    assert quality["silhouette"] is None and quality["davies_bouldin"] is None


def test_clusters_within_k_range_and_labelled():
    rng = np.random.default_rng(5)
    rows = [
        (int(pid), days_ago(int(rng.integers(0, 700))), float(rng.gamma(2, 50)))
        for pid in rng.integers(1, 400, 3000)
    ]
    config = SegmentationConfig(k_min=3, k_max=5)
    result = segment_customers(tx(rows), AS_OF, config=config)
    quality = result.attrs["quality"]
    assert 3 <= quality["n_clusters"] <= 5
    assert -1 <= quality["silhouette"] <= 1
    assert quality["davies_bouldin"] > 0
    labels = result.groupby("cluster")["cluster_label"].nunique()
    assert (labels == 1).all()
    assert result["cluster_label"].nunique() == quality["n_clusters"]
    assert all("·" in label for label in result["cluster_label"])
