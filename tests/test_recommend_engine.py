"""Next-best products (engine, no Odoo): method and bad input of issue #18."""

import time

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.metrics.pairwise import cosine_similarity

from custseg_module.engine.recommend import (
    RECOMMENDATION_COLUMNS,
    _anchors,
    _median_gaps,
    _similarity,
    grouped_pairs,
    purchase_days,
    purchase_pairs,
    recommend_products,
    segment_profiles,
)

AS_OF = pd.Timestamp("2024-06-30")


def _lines(rows):
    return pd.DataFrame(rows, columns=["partner_id", "product_id", "date", "quantity"])


def _basket_log():
    """Customers 1-6 buy 10 with 11; customer 7 bought only 10, long ago;
    customers 8-20 only buy 12, the most popular product."""
    rows = []
    for partner in range(1, 7):
        rows += [(partner, 10, "2024-01-10", 1), (partner, 11, "2024-01-10", 2)]
    rows += [(7, 10, "2024-02-01", 1)]
    rows += [(partner, 12, "2024-02-01", 1) for partner in range(8, 21)]
    return _lines(rows)


def test_co_purchase_recommends_the_companion_with_its_reason():
    result = recommend_products(_basket_log(), AS_OF)
    assert tuple(result.columns) == RECOMMENDATION_COLUMNS
    seven = result[result.partner_id == 7]
    companion = seven[seven.product_id == 11].iloc[0]
    assert companion.reason == "bought_with"
    assert companion.reason_product_id == 10
    # 10, bought long ago, may come back as "bought before"; 12 as popular.
    assert seven.set_index("product_id").loc[10, "reason"] == "bought_before"
    assert seven["rank"].tolist() == list(range(1, len(seven) + 1))
    assert (result.groupby("partner_id")["rank"].max() <= 5).all()


def test_recently_bought_is_left_out_unless_due():
    rows = [(1, 20, day, 1) for day in ("2024-03-01", "2024-04-01", "2024-05-01")]
    rows += [(1, 21, "2024-06-25", 1), (2, 21, "2024-06-01", 1)]
    rows += [(2, 20, "2024-06-01", 1)]
    result = recommend_products(_lines(rows), AS_OF, recent_days=14)
    mine = result[result.partner_id == 1]
    assert 21 not in mine.product_id.tolist()  # bought 5 days ago
    due = mine[mine.product_id == 20].iloc[0]
    assert due.reason == "due" and due["rank"] == 1
    assert due.interval_days in (30, 31)


def test_segment_popularity_gives_the_segment_as_reason():
    rows = [(p, 30, "2024-01-05", 1) for p in range(1, 6)]
    rows += [(6, 31, "2024-01-05", 1)]
    segments = pd.Series(dict.fromkeys(range(1, 7), "champions"))
    result = recommend_products(_lines(rows), AS_OF, segments=segments)
    six = result[result.partner_id == 6]
    pick = six[six.product_id == 30].iloc[0]
    assert pick.reason == "segment" and pick.reason_segment == "champions"


def test_disallowed_products_are_never_recommended():
    result = recommend_products(_basket_log(), AS_OF, allowed_products=[10, 12])
    assert set(result.product_id) <= {10, 12}
    assert 11 not in result.product_id.tolist()


@pytest.mark.parametrize(
    "rows",
    [
        [],  # nothing at all
        [(1, None, "2024-05-01", 3)],  # a line without a product
        [(1, 5, "2024-05-01", 0), (2, 5, "2024-05-01", -2)],  # zero, negative
        [(1, 5, "2024-05-01", -1)],  # refund of a product never bought
        [(1, 5, "2024-05-01", 1)],  # one customer, one line, one product
    ],
)
def test_bad_input_gives_no_recommendation_and_no_error(rows):
    result = recommend_products(_lines(rows), AS_OF)
    assert tuple(result.columns) == RECOMMENDATION_COLUMNS
    assert result.empty or set(result.product_id) <= {5}


def test_single_product_database_and_archived_product():
    rows = [(p, 5, "2024-03-01", 1) for p in range(1, 4)]
    result = recommend_products(_lines(rows), AS_OF)
    assert set(result.product_id) == {5} and len(result) == 3
    assert recommend_products(_lines(rows), AS_OF, allowed_products=[]).empty


def test_same_input_any_row_order_same_result():
    lines = _basket_log()
    shuffled = lines.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        recommend_products(lines, AS_OF), recommend_products(shuffled, AS_OF)
    )


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="product_id"):
        recommend_products(pd.DataFrame({"partner_id": [1]}), AS_OF)


def test_segment_profile_lift_and_share():
    rows = [(p, 40, "2024-02-01", 1) for p in (1, 2, 3)]
    rows += [(p, 41, "2024-02-01", 1) for p in (1, 2, 3, 4, 5, 6)]
    segments = pd.Series({1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "b"})
    profile = segment_profiles(_lines(rows), AS_OF, segments)
    top_a = profile[(profile.segment == "a") & (profile["rank"] == 1)].iloc[0]
    assert top_a.key == 40
    assert top_a.share == pytest.approx(1.0)
    assert top_a.lift == pytest.approx(2.0)
    assert not ((profile.segment == "b") & (profile.key == 40)).any()
    assert np.isclose(
        profile[(profile.segment == "b") & (profile.key == 41)].lift, 1.0
    ).all()


def _random_log(seed, customers=300, products=60, lines=4000):
    """Themed baskets with refunds: enough ties and repeats to test the
    engine's own routines against the libraries' results."""
    rng = np.random.default_rng(seed)
    partner = rng.integers(1, customers + 1, lines)
    product = (partner % 6) * 10 + rng.integers(0, products // 3, lines) % products
    day = rng.integers(0, 200, lines)
    quantity = rng.choice([-1.0, 1.0, 2.0, 3.0], lines, p=[0.1, 0.5, 0.2, 0.2])
    return pd.DataFrame(
        {
            "partner_id": partner,
            "product_id": product + 1,
            "date": AS_OF - pd.to_timedelta(day, unit="D"),
            "quantity": quantity,
        }
    )


def test_purchase_days_net_like_a_pandas_groupby():
    lines = _random_log(1)
    day = (lines["date"] - pd.Timestamp("1970-01-01")).dt.days
    net = (
        lines.assign(day=day)
        .groupby(["partner_id", "product_id", "day"])["quantity"]
        .sum()
    )
    expected = net[net > 0].index.to_frame(index=False)
    got = purchase_days(lines, AS_OF, lookback_days=365)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # Day numbers instead of dates (as the Odoo run passes them): the same.
    by_day = lines.drop(columns="date").assign(day=day)
    pd.testing.assert_frame_equal(purchase_days(by_day, AS_OF, 365), got)


def test_median_gaps_equal_pandas_median():
    days = purchase_days(_random_log(2), AS_OF, lookback_days=365)
    pair = days["partner_id"] * 1000 + days["product_id"]
    starts = np.flatnonzero(np.r_[True, pair.to_numpy()[1:] != pair.to_numpy()[:-1]])
    ends = np.r_[starts[1:], len(days)]
    repeated = ends - starts >= 2
    got = _median_gaps(days["day"].to_numpy(), starts[repeated], ends[repeated])
    expected = days.groupby(pair, sort=True)["day"].diff().groupby(pair).median()
    np.testing.assert_allclose(got, expected.dropna().to_numpy())


def test_item_neighbours_equal_sklearn_cosine_top_k():
    days = purchase_days(_random_log(3), AS_OF, lookback_days=365)
    customers = pd.factorize(days["partner_id"], sort=True)[0]
    products = pd.factorize(days["product_id"], sort=True)[0]
    bought = sparse.csr_matrix((np.ones(len(days), np.float32), (customers, products)))
    bought.data[:] = 1.0
    k = 5
    got = _similarity(bought, k).toarray()
    cosine = cosine_similarity(bought.T)
    np.fill_diagonal(cosine, 0.0)
    expected = np.zeros_like(cosine)
    for row in range(len(cosine)):
        top = np.lexsort((np.arange(len(cosine)), -cosine[row]))[:k]
        top = top[cosine[row, top] > 0]
        expected[row, top] = cosine[row, top]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_anchors_are_the_most_similar_bought_product_as_numpy_argmax_says():
    """The "bought with" product of a candidate: the customer's bought
    product most similar to it (ties: the lowest), none when every
    similarity is 0; only for the "bought_with" reason (1)."""
    rng = np.random.default_rng(4)
    customers, products = 60, 25
    mine = sparse.random(customers, products, density=0.15, format="csr", rng=rng)
    mine.data[:] = 1.0
    # Few distinct values: many ties, and zeros.
    similarity = sparse.csr_matrix(
        rng.integers(0, 4, (products, products))
        / 3.0
        * (rng.random((products,) * 2) < 0.5)
    )
    rows = np.repeat(np.arange(customers), 4)
    cols = rng.integers(0, products, len(rows))
    reason = rng.integers(0, 4, len(rows))
    got = _anchors(rows, cols, reason, mine, similarity)
    dense, bought = similarity.toarray(), mine.toarray() > 0
    expected = np.full(len(rows), -1)
    for k, (row, col) in enumerate(zip(rows, cols, strict=True)):
        items = np.flatnonzero(bought[row])
        if reason[k] != 1 or not len(items):
            continue
        sims = dense[items, col]
        if sims.max() > 0:
            expected[k] = items[np.argmax(sims)]  # argmax: the first of ties
    assert (expected >= 0).sum() > 20 and (reason == 1).sum() > (expected >= 0).sum()
    np.testing.assert_array_equal(got, expected)


def test_top_n_shortcut_equals_a_full_ranking():
    """The top 5 (found through each customer's 5th best score) are the first
    5 of a ranking of every candidate (no shortcut at top_n=10,000)."""
    lines = _random_log(4)
    segments = pd.Series({p: f"s{p % 3}" for p in range(1, 301)})
    short = recommend_products(lines, AS_OF, segments=segments, recent_days=30)
    full = recommend_products(
        lines, AS_OF, segments=segments, recent_days=30, top_n=10_000
    )
    assert full.groupby("partner_id").size().max() > 20
    pd.testing.assert_frame_equal(short, full[full["rank"] <= 5].reset_index(drop=True))


def test_co_purchase_pruning_drops_candidates_not_results(monkeypatch):
    """The co-purchase candidates that cannot reach a top 5 are dropped early
    (most of them on a themed log), and the top 5 stay those of the full
    ranking above; each customer's best co-purchase score (reduceat) is
    scipy's row maximum."""
    from custseg_module.engine import recommend

    seen = []
    original = recommend._co_candidates

    def spy(co, mine, best, *args):
        np.testing.assert_array_equal(best, co.max(axis=1).toarray().ravel())
        rows, cols, values = original(co, mine, best, *args)
        seen.append((co.nnz, len(rows)))
        return rows, cols, values

    monkeypatch.setattr(recommend, "_co_candidates", spy)
    lines = _random_log(4)
    segments = pd.Series({p: f"s{p % 3}" for p in range(1, 301)})
    short = recommend_products(lines, AS_OF, segments=segments, recent_days=30)
    total, kept = (sum(x) for x in zip(*seen, strict=True))
    assert kept < total / 2
    monkeypatch.setattr(recommend, "_co_candidates", original)
    full = recommend_products(
        lines, AS_OF, segments=segments, recent_days=30, top_n=10_000
    )
    pd.testing.assert_frame_equal(short, full[full["rank"] <= 5].reset_index(drop=True))


def _narrow(lines):
    """The dtypes custseg.run._phase_invoice_lines gives: int32 ids and day
    numbers, float64 quantities."""
    day = (lines["date"] - pd.Timestamp("1970-01-01")).dt.days
    return pd.DataFrame(
        {
            "partner_id": lines["partner_id"].astype(np.int32),
            "product_id": lines["product_id"].astype(np.int32),
            "day": day.astype(np.int32),
            "quantity": lines["quantity"],
        }
    )


def _categories(products):
    """Product id -> category id (product % 7), none for every 11th product."""
    return pd.Series(
        [np.nan if p % 11 == 0 else float(p % 7) for p in products], index=products
    )


def test_narrow_dtypes_and_customer_blocks_give_the_same_output(monkeypatch):
    """int64 ids and dates, or the run's int32/float32 columns, netted in one
    block or in blocks of a few customers: the same recommendations and
    segment profiles."""
    from custseg_module.engine import recommend

    wide = _random_log(5, customers=400, lines=6000)
    categories = _categories(range(1, 70))
    segments = pd.Series({p: f"s{p % 4}" for p in range(1, 380)})

    def outputs(lines):
        result = recommend_products(
            lines, AS_OF, segments=segments, allowed_products=range(1, 50)
        )
        pairs = purchase_pairs(lines, AS_OF)
        profiles = [
            segment_profiles(lines, AS_OF, segments),
            segment_profiles(grouped_pairs(pairs, categories), AS_OF, segments),
        ]
        return result, profiles

    expected, expected_profiles = outputs(wide)
    assert expected["reason"].nunique() == 4 and len(expected) > 1500
    assert len(wide) < recommend.BLOCK_LINES
    narrow = _narrow(wide)
    assert narrow["partner_id"].dtype == np.int32
    blocks = []
    original = recommend._purchase_blocks

    def counting(*args):
        products, iterator = original(*args)
        blocks.append(0)

        def counted():
            for block in iterator:
                blocks[-1] += 1
                yield block

        return products, counted()

    monkeypatch.setattr(recommend, "_purchase_blocks", counting)
    for block_lines in (recommend.BLOCK_LINES, 97):
        monkeypatch.setattr(recommend, "BLOCK_LINES", block_lines)
        monkeypatch.setattr(recommend, "ROW_SLICE", 1000)
        # Small blocks: the profiles sort the pairs instead of counting.
        cells = recommend.COUNT_CELLS if block_lines > 97 else 0
        monkeypatch.setattr(recommend, "COUNT_CELLS", cells)
        for lines in (wide, narrow):
            blocks.clear()
            result, profiles = outputs(lines)
            # Read three times (recommendations, products, the pairs of the
            # categories): in one block, or 97 lines a block, dozens of them.
            assert len(blocks) == 3
            assert set(blocks) == {1} if block_lines > 97 else min(blocks) > 50
            pd.testing.assert_frame_equal(result, expected, check_exact=False)
            for got, want in zip(profiles, expected_profiles, strict=True):
                pd.testing.assert_frame_equal(got, want, check_exact=False)


def test_recommendations_and_profiles_from_the_pairs_are_those_of_the_lines():
    """The run reads its lines once into purchase pairs and drops them: what
    it recommends and profiles from the pairs is what the lines give."""
    lines = _random_log(11, customers=350, lines=5000)
    segments = pd.Series({p: f"s{p % 3}" for p in range(1, 340)})
    pairs = purchase_pairs(lines, AS_OF, lookback_days=120)
    options = {"segments": segments, "allowed_products": range(2, 60)}
    from_lines = recommend_products(lines, AS_OF, lookback_days=120, **options)
    assert from_lines["reason"].nunique() == 4
    pd.testing.assert_frame_equal(
        recommend_products(pairs, AS_OF, **options), from_lines
    )
    profile = segment_profiles(lines, AS_OF, segments, lookback_days=120)
    assert len(profile) > 5
    pd.testing.assert_frame_equal(segment_profiles(pairs, AS_OF, segments), profile)
    with pytest.raises(ValueError, match="min_repeats=2, not 3"):
        recommend_products(pairs, AS_OF, min_repeats=3)


def test_grouped_pairs_are_the_distinct_groups_each_customer_bought():
    """A customer bought a category when they bought one of its products on
    a day of positive net quantity; products without a category (NaN or
    absent) count for nothing, as a pandas merge and drop_duplicates say;
    every buying customer stays, so that a category's share has the
    products' base."""
    lines = _random_log(9, customers=300, lines=4000)
    categories = _categories(range(1, 55))  # products 55+ have none at all
    products = purchase_pairs(lines, AS_OF)
    pairs = grouped_pairs(products, categories)
    expected = (
        purchase_days(lines, AS_OF)
        .assign(group=lambda d: d["product_id"].map(categories))
        .dropna(subset=["group"])
        .drop_duplicates(["partner_id", "group"])
        .sort_values(["partner_id", "group"])
    )
    assert expected["group"].nunique() == 7 and len(expected) > 900
    np.testing.assert_array_equal(pairs.customers, products.customers)
    # Some customers bought only products without a category: no group.
    assert expected["partner_id"].nunique() < len(pairs.customers)
    np.testing.assert_array_equal(
        pairs.customers[pairs.c], expected["partner_id"].to_numpy()
    )
    np.testing.assert_array_equal(pairs.products[pairs.p], expected["group"].to_numpy())
    assert pairs.min_repeats is None and not len(pairs.times)
    empty = grouped_pairs(products, {})
    assert not len(empty.c) and len(empty.customers) == len(products.customers)
    # No product with a category: no profile, no error.
    segments = pd.Series({p: f"s{p % 3}" for p in range(1, 300)})
    assert segment_profiles(empty, None, segments).empty


def test_a_category_share_counts_every_buying_customer_of_the_segment():
    """Customers who bought only products without a category still count in
    their segment's base: a category bought by every buyer of its only
    product has that product's share and lift."""
    rows = [(p, 10, "2024-06-01", 1) for p in (1, 2, 3, 4)]
    rows += [(p, 20, "2024-06-01", 1) for p in (5, 6)]  # no category
    rows += [(p, 30, "2024-06-01", 1) for p in (7, 8, 9)]
    segments = pd.Series({p: "a" if p <= 6 else "b" for p in range(1, 10)})
    pairs = purchase_pairs(_lines(rows), AS_OF)
    by_product = segment_profiles(pairs, None, segments, min_buyers=1)
    by_category = segment_profiles(
        grouped_pairs(pairs, {10: 1.0, 30: 3.0}), None, segments, min_buyers=1
    )
    product_10 = by_product[(by_product.segment == "a") & (by_product.key == 10)]
    category_1 = by_category[(by_category.segment == "a") & (by_category.key == 1)]
    assert product_10.share.item() == pytest.approx(4 / 6)
    assert category_1.share.item() == pytest.approx(4 / 6)
    assert category_1.lift.item() == pytest.approx(product_10.lift.item())


def test_ordered_map_keeps_the_order_bounds_the_look_ahead_and_raises():
    from custseg_module.engine.threads import ordered_map

    started = []

    def slow_square(item):
        started.append(item)
        # The later items finish first: the order must come from the input.
        time.sleep(0.002 * (10 - item))
        return item * item

    taken = 0
    for result in ordered_map(slow_square, range(10), threads=2):
        assert result == taken * taken
        taken += 1
        # The one taken, at most two computed ahead of it and one queued.
        assert len(started) <= taken + 2
    assert taken == 10 and sorted(started) == list(range(10))
    assert list(ordered_map(slow_square, [], threads=2)) == []

    def failing(item):
        if item == 3:
            raise ValueError("block 3")
        return item

    got = []
    with pytest.raises(ValueError, match="block 3"):
        for result in ordered_map(failing, range(6), threads=2):
            got.append(result)
    assert got == [0, 1, 2]


def test_two_threads_give_the_output_of_one(monkeypatch):
    """The similarity's product blocks and the scoring's customer chunks
    computed by two threads: the same recommendations as by one, with dozens
    of each."""
    from custseg_module.engine import recommend, threads

    lines = _random_log(11, customers=500, products=90, lines=8000)
    segments = pd.Series({p: f"s{p % 5}" for p in range(1, 480)})
    monkeypatch.setattr(recommend, "CHUNK_CUSTOMERS", 17)
    monkeypatch.setattr(recommend, "SIMILARITY_BLOCK", 3)
    calls = []
    original = threads.ordered_map

    def counting(function, items, threads=None):
        items = list(items)
        calls.append(len(items))
        return original(function, items, threads)

    monkeypatch.setattr(recommend, "ordered_map", counting)

    def outputs(count):
        monkeypatch.setattr(threads, "ENGINE_THREADS", count)
        calls.clear()
        result = recommend_products(
            lines, AS_OF, segments=segments, allowed_products=range(1, 80)
        )
        # The similarity's blocks, then the scoring's chunks.
        assert len(calls) == 2 and min(calls) > 20, calls
        return result

    one = outputs(1)
    two = outputs(2)
    assert len(one) > 1500 and one["reason"].nunique() == 4
    pd.testing.assert_frame_equal(two, one, check_exact=True)
