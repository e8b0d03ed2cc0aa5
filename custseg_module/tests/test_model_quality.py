# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The model-quality card on the run (issue #19.3) and the ARI of the
baseline run (issue #15: no misleading 0.00)."""

from datetime import timedelta

import numpy as np
import pandas as pd
from markupsafe import escape

from odoo.tests import tagged
from odoo.tools import format_amount

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
    return segment_customers(frame, end).attrs


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
        # The same day again: every customer in the segment it was in, read
        # back from res_partner as the previous run's.
        again = self._run()
        self.assertAlmostEqual(again.ari_previous, 1.0)
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
        attrs = simulated_card()
        card = attrs["backtest"]
        self.assertIsNone(card["fallback_reason"])
        run.calibration_bin_ids.unlink()
        run._write_quality_card(attrs)
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


@tagged("post_install", "-at_install")
class TestCustomerWhy(CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param(
            "custseg.followups_on_baseline", "True"
        )
        # Someone to call them, so that the run schedules follow-ups.
        for customer in cls.grid_customers.values():
            customer.user_id = cls.salesman
        cls.why_run = cls.env["custseg.run"].run_segmentation(as_of=AS_OF)
        cls.env.invalidate_all()

    def _buyers(self):
        return self.env["res.partner"].search(
            [("rfm_frequency", ">", 0), ("parent_id", "=", False)]
        )

    def test_why_lines_match_the_figures(self):
        buyers = self._buyers()
        self.assertEqual(len(buyers), self.why_run.population_profile and 25)
        currency = self.why_run.currency_id
        lapsing = 0
        for partner in buyers:
            lines = partner.segment_why.split("\n")
            self.assertTrue(2 <= len(lines) <= 4, lines)
            recency, frequency = partner.rfm_recency_days, partner.rfm_frequency
            stage = partner.lifecycle_stage
            if stage == "churned":
                self.assertIn(f"Last purchase {recency} days ago: beyond 365", lines[0])
            elif stage == "at_risk" and frequency == 1:
                self.assertIn(f"Bought once, {recency} days ago", lines[0])
            elif stage == "at_risk":
                # Grid customers buy every 7 days: 2 × 7 is below the
                # "not before" 30 days, so the rule's threshold is 30 days.
                lapsing += 1
                self.assertEqual(partner.purchase_gap_days, 7.0)
                self.assertGreater(recency, 30)
                self.assertEqual(
                    lines[0],
                    f"Last purchase {recency} days ago: they usually buy every 7 "
                    "days, so they count as lapsing after 30 days.",
                )
            else:
                recent = len(
                    buyers.filtered(lambda p, r=recency: p.rfm_recency_days > r)
                )
                share = int(lines[0].split("than ")[1].split(" %")[0])
                self.assertGreaterEqual(recent / len(buyers) * 100, share)
            if frequency == 1:
                self.assertEqual(lines[1], "One purchase so far.")
            else:
                self.assertTrue(lines[1].startswith(f"{frequency} purchases, more"))
                share = int(lines[1].split("than ")[1].split(" %")[0])
                fewer = len(buyers.filtered(lambda p, f=frequency: p.rfm_frequency < f))
                self.assertGreaterEqual(fewer / len(buyers) * 100, share)
            amount = format_amount(self.env, partner.rfm_monetary, currency)
            self.assertIn(f"Net revenue {amount}", lines[2])
            self.assertTrue(
                lines[3].startswith(f"{round(partner.purchase_probability * 100)} %")
            )
        self.assertTrue(lapsing)
        champion = self.grid_customers[5, 5]
        self.assertEqual(champion.rfm_frequency, 5)
        self.assertIn("5 purchases, more than 80 % of customers.", champion.segment_why)

    def test_followup_note_carries_the_same_lines(self):
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("custseg_segment_id", "!=", False)]
        )
        self.assertTrue(activities)
        for activity in activities[:5]:
            partner = self.env["res.partner"].browse(activity.res_id)
            for line in partner.segment_why.split("\n"):
                self.assertIn(str(escape(line)), str(activity.note))

    def test_prospect_and_no_run(self):
        prospect = self._customer("Never Bought")
        self.assertEqual(prospect.segment_why, "No purchase yet.")
        self.env["custseg.run"].search([]).population_profile = False
        prospect.invalidate_recordset(["segment_why"])
        self.assertFalse(prospect.segment_why)
