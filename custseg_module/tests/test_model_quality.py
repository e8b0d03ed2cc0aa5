# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The model-quality card on the run (issue #19.3) and the ARI of the
baseline run (issue #15: no misleading 0.00)."""

from datetime import timedelta

import numpy as np
import pandas as pd

from odoo.tests import tagged

from ..engine import segment_customers
from .common import AS_OF, CustsegGridCommon


def simulated_card():
    """The engine's card on 3,000 simulated customers over 900 days."""
    rng = np.random.default_rng(5)
    end = pd.Timestamp(AS_OF)
    rows = []
    for pid in range(1, 3001):
        rate = rng.gamma(1.0, 1 / 40)
        day = int(rng.integers(0, 450))
        while day < 900:
            rows.append((pid, end - pd.Timedelta(days=900 - day), rng.gamma(2, 30)))
            if rng.random() < 0.1:
                break
            day += max(1, int(rng.exponential(1 / rate)))
    frame = pd.DataFrame(rows, columns=["partner_id", "date", "amount"])
    return segment_customers(frame, end).attrs["backtest"]


@tagged("post_install", "-at_install")
class TestModelQualityCard(CustsegGridCommon):
    def _ari_is_null(self, run):
        self.env.cr.execute(
            "SELECT ari_previous IS NULL FROM custseg_run WHERE id = %s", [run.id]
        )
        return self.env.cr.fetchone()[0]

    def test_thin_data_falls_back_and_the_manager_sees_why(self):
        baseline = self._run(as_of=AS_OF - timedelta(days=120))
        run = self._run()
        self.assertTrue(baseline.baseline)
        self.assertTrue(self._ari_is_null(baseline))
        self.assertFalse(self._ari_is_null(run))
        # A few dozen customers: far fewer than 500 buyers to learn from.
        self.assertEqual(run.likelihood_method, "bg_nbd")
        self.assertRegex(
            run.likelihood_fallback_reason, "customers bought|days of purchase history"
        )
        self.assertFalse(run.quality_checked)
        self.assertFalse(run.calibration_bin_ids)
        self.assertIn("could not be checked", run.quality_summary)
        self.assertIn(
            f"simpler BG/NBD model (repeat-purchase statistics only) because "
            f"{run.likelihood_fallback_reason}.",
            run.quality_summary,
        )

    def test_card_is_stored_in_figures_and_plain_words(self):
        run = self._run()
        card = simulated_card()
        self.assertIsNone(card["fallback_reason"])
        run.calibration_bin_ids.unlink()
        run._write_quality_card(card, run.ari_previous)
        self.assertTrue(run.quality_checked)
        self.assertFalse(run.likelihood_fallback_reason)
        self.assertAlmostEqual(run.quality_auc, card["auc"], places=4)
        self.assertAlmostEqual(run.baseline_brier, card["baseline_brier"], places=4)
        self.assertEqual(str(run.quality_cutoff), card["cutoff"])
        bins = run.calibration_bin_ids.sorted("sequence")
        self.assertEqual(bins.mapped("sequence"), list(range(1, 11)))
        self.assertEqual(sum(bins.mapped("customer_count")), card["customers"])
        self.assertAlmostEqual(bins[-1].observed, card["bins"][-1]["observed"], 4)
        model, recency = round(card["auc"] * 100), round(card["baseline_auc"] * 100)
        self.assertGreater(model, 50)
        self.assertIn(
            f"ranks a buyer above a non-buyer {model} % of the time (recency alone: "
            f"{recency} %); predictions are within {card['ece'] * 100:.1f} points",
            run.quality_summary,
        )
        self.assertIn(f"{card['customers']} customers", run.quality_summary)
        # A known ARI is left as the run wrote it; an unknown one is NULL.
        self.assertFalse(self._ari_is_null(run))
        run._write_quality_card(card, None)
        self.assertTrue(self._ari_is_null(run))
