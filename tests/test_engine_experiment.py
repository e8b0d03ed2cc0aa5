"""Control-group draw and lift statistics (engine/experiment.py)."""

import numpy as np
import pandas as pd
import pytest

from custseg_module.engine.experiment import (
    MIN_GROUP,
    draw_control_group,
    lift,
    likelihood_deciles,
)


def entrants(count, segments=(1,), seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "partner_id": np.arange(1, count * len(segments) + 1),
            "segment_id": np.repeat(segments, count),
            "likelihood": rng.random(count * len(segments)),
        }
    )


def test_draw_is_reproducible_and_seeded_by_run():
    frame = entrants(500)
    first = draw_control_group(frame, {1: 0.1}, seed="run-7")
    again = draw_control_group(frame.sample(frac=1, random_state=3), {1: 0.1}, "run-7")
    assert first.set_index("partner_id")["held_out"].equals(
        again.set_index("partner_id")["held_out"].sort_index()
    )
    other = draw_control_group(frame, {1: 0.1}, seed="run-8")
    assert not other["held_out"].equals(first["held_out"])


@pytest.mark.parametrize("share", [0.0, 0.05, 0.1, 0.25, 0.5])
def test_draw_has_the_configured_share(share):
    frame = entrants(1000, segments=(1, 2))
    result = draw_control_group(frame, {1: share, 2: 0.2}, seed=11)
    held = result.groupby("segment_id")["held_out"].sum()
    assert abs(held[1] - share * 1000) <= 1
    assert abs(held[2] - 200) <= 1


def test_draw_is_stratified_by_likelihood_decile():
    frame = entrants(2000)
    result = draw_control_group(frame, {1: 0.1}, seed=5)
    per_decile = result.groupby("decile")["held_out"].agg(["sum", "size"])
    assert list(per_decile.index) == list(range(1, 11))
    # Every decile gives 10 % of its 200 customers, give or take one.
    assert (abs(per_decile["sum"] - 0.1 * per_decile["size"]) <= 1).all()
    # So both groups have the same mix of deciles.
    treated = result.loc[~result["held_out"], "decile"].value_counts(normalize=True)
    held = result.loc[result["held_out"], "decile"].value_counts(normalize=True)
    assert (abs(treated.sort_index() - held.sort_index()) < 0.01).all()


def test_unlisted_segment_holds_out_nobody_and_bad_share_is_refused():
    frame = entrants(50, segments=(1, 2))
    result = draw_control_group(frame, {1: 0.2}, seed=1)
    assert not result.loc[result["segment_id"] == 2, "held_out"].any()
    with pytest.raises(ValueError, match="between 0 and 50%"):
        draw_control_group(frame, {1: 0.6}, seed=1)
    with pytest.raises(ValueError, match="lack the columns"):
        draw_control_group(frame.drop(columns="likelihood"), {1: 0.1}, seed=1)
    assert draw_control_group(frame.iloc[:0], {1: 0.1}, seed=1).empty


def test_deciles_are_equal_count():
    deciles = likelihood_deciles(np.linspace(0, 1, 100))
    assert deciles.value_counts().eq(10).all()
    assert likelihood_deciles([0.5] * 20).value_counts().eq(2).all()


def test_lift_on_a_constructed_example_with_a_known_effect():
    # 400 treated, 18 % buy, 60 each; 100 held out, 10 % buy, 50 each.
    treated = np.r_[np.ones(72), np.zeros(328)]
    held = np.r_[np.ones(10), np.zeros(90)]
    result = lift(treated, held, treated * 60.0, held * 50.0)
    assert result["conclusive"]
    assert result["treated"] == 400 and result["held_out"] == 100
    assert result["rate_treated"] == pytest.approx(0.18)
    assert result["rate_held_out"] == pytest.approx(0.10)
    assert result["rate_diff"] == pytest.approx(0.08)
    # Wald: se = sqrt(.18*.82/400 + .1*.9/100) = 0.03589
    se = np.sqrt(0.18 * 0.82 / 400 + 0.1 * 0.9 / 100)
    assert result["rate_low"] == pytest.approx(0.08 - 1.959964 * se, abs=1e-6)
    assert result["rate_high"] == pytest.approx(0.08 + 1.959964 * se, abs=1e-6)
    assert 0.010 < result["rate_low"] < 0.011 and 0.149 < result["rate_high"] < 0.151
    assert result["revenue_treated"] == pytest.approx(10.8)
    assert result["revenue_held_out"] == pytest.approx(5.0)
    assert result["revenue_diff"] == pytest.approx(5.8)
    assert result["revenue_low"] < 5.8 < result["revenue_high"]


def test_lift_recovers_a_simulated_effect_inside_its_interval():
    rng = np.random.default_rng(42)
    covered = 0
    for _ in range(200):
        treated = rng.random(600) < 0.20
        held = rng.random(150) < 0.12
        result = lift(treated, held, treated * 1.0, held * 1.0)
        covered += result["rate_low"] <= 0.08 <= result["rate_high"]
    # A 95 % interval covers the true effect about 95 % of the time.
    assert 0.90 <= covered / 200 <= 0.99


def test_lift_says_too_small_to_conclude():
    small = lift(np.ones(100), np.ones(MIN_GROUP - 1), np.ones(100), np.ones(19))
    assert small == {"treated": 100, "held_out": MIN_GROUP - 1, "conclusive": False}
    nobody_bought = lift(np.zeros(50), np.zeros(50), np.zeros(50), np.zeros(50))
    assert not nobody_bought["conclusive"]
    with pytest.raises(ValueError):
        lift(np.ones(3), np.ones(3), np.ones(2), np.ones(3))
