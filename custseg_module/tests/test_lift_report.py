# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The lift report on a constructed example with a known effect (issue #19,
point 2)."""

import math
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CustsegCommon

Z_95 = 1.959963984540054


@tagged("post_install", "-at_install")
class TestLiftReport(CustsegCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["custseg.lift.report"])
        cls.segment = cls.segments["at_risk"]
        cls.lift_run = cls.env["custseg.run"].create(
            {"as_of": cls.today - timedelta(days=100), "state": "done"}
        )
        cls.colleague = cls.manager
        # 60 treated of whom 30 buy 100 each on day 20 (50 %); 40 held out of
        # whom 8 buy 100 each on day 20 (20 %). Half of the treated belong to
        # the colleague.
        cls.treated = cls._customers("Treated", 60)
        cls.held_out = cls._customers("Held", 40)
        entry = cls.today - timedelta(days=100)
        cls._entries(cls.treated, "treated", entry)
        cls._entries(cls.held_out, "held_out", entry)
        cls._invoices(cls.treated[:30] | cls.held_out[:8], entry + timedelta(days=20))
        # 45 of the treated had their follow-up done, with an outcome.
        for index, partner in enumerate(cls.treated[:45]):
            cls.env["mail.message"].create(
                {
                    "model": "res.partner",
                    "res_id": partner.id,
                    "body": "Done",
                    "message_type": "notification",
                    "date": fields.Datetime.to_datetime(entry + timedelta(days=3)),
                    "custseg_segment_id": cls.segment.id,
                    "custseg_outcome": "reached" if index % 3 else "not_reached",
                }
            )
        # A young entry (40 days ago): only its 30-day window is complete.
        cls.young = cls._customers("Young", 3)
        cls._entries(cls.young, "treated", cls.today - timedelta(days=40))
        # A segment with too few customers to conclude.
        cls.small_segment = cls.segments["cant_lose"]
        cls._entries(cls._customers("Few", 5), "treated", entry, cls.small_segment)
        cls._entries(cls._customers("Fewer", 2), "held_out", entry, cls.small_segment)
        cls.env.flush_all()

    @classmethod
    def _customers(cls, prefix, count):
        return cls.env["res.partner"].create(
            [
                {"name": f"{prefix} {index}", "customer_rank": 1}
                for index in range(count)
            ]
        )

    @classmethod
    def _entries(cls, partners, group, day, segment=None):
        cls.env["custseg.followup.entry"].create(
            [
                {
                    "run_id": cls.lift_run.id,
                    "partner_id": partner.id,
                    "segment_id": (segment or cls.segment).id,
                    "user_id": (cls.colleague if index % 2 else cls.salesman).id,
                    "entry_date": day,
                    "experiment_group": group,
                    "group_reason": "drawn_" + group,
                    "likelihood": 0.3,
                    "likelihood_decile": 5,
                }
                for index, partner in enumerate(partners)
            ]
        )

    @classmethod
    def _invoices(cls, partners, day):
        for partner in partners:
            invoice = cls.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": day,
                    "journal_id": cls.journal.id,
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "product_id": cls.product.id,
                                "quantity": 1,
                                "price_unit": 100.0,
                                "tax_ids": [],
                                "account_id": cls.income_account.id,
                            },
                        )
                    ],
                }
            )
            invoice.action_post()

    def _groups(self, domain, groupby):
        return {
            tuple(key): (count, rate, revenue, done)
            for *key, count, rate, revenue, done in self.env[
                "custseg.lift.report"
            ]._read_group(
                domain,
                groupby,
                [
                    "customer_count:sum",
                    "purchase_rate:avg",
                    "revenue:avg",
                    "followup_done:avg",
                ],
            )
        }

    def test_report_compares_treated_and_held_out(self):
        groups = self._groups(
            [("window", "=", "60"), ("complete", "=", True)],
            ["segment_id", "experiment_group"],
        )
        treated = groups[self.segment, "treated"]
        held = groups[self.segment, "held_out"]
        self.assertEqual(treated[0], 60)
        self.assertEqual(held[0], 40)
        self.assertAlmostEqual(treated[1], 0.5)
        self.assertAlmostEqual(held[1], 0.2)
        self.assertAlmostEqual(treated[2], 50.0)
        self.assertAlmostEqual(held[2], 20.0)
        self.assertAlmostEqual(treated[3], 0.75)
        self.assertAlmostEqual(held[3], 0.0)
        # The young entry only counts in its complete 30-day window.
        young = self.env["custseg.lift.report"].search(
            [("partner_id", "in", self.young.ids), ("complete", "=", True)]
        )
        self.assertEqual(set(young.mapped("window")), {"30"})
        # Per salesperson, and the outcomes of the done follow-ups.
        by_user = self._groups(
            [
                ("window", "=", "60"),
                ("complete", "=", True),
                ("segment_id", "=", self.segment.id),
            ],
            ["user_id", "experiment_group"],
        )
        self.assertEqual(by_user[self.salesman, "treated"][0], 30)
        self.assertEqual(by_user[self.colleague, "held_out"][0], 20)
        outcomes = dict(
            self.env["custseg.lift.report"]._read_group(
                [
                    ("window", "=", "60"),
                    ("segment_id", "=", self.segment.id),
                    ("outcome", "!=", False),
                ],
                ["outcome"],
                ["__count"],
            )
        )
        self.assertEqual(outcomes, {"reached": 30, "not_reached": 15})
        # A purchase on day 20 is outside no window: 30-day rates are the same.
        groups_30 = self._groups(
            [("window", "=", "30"), ("segment_id", "=", self.segment.id)],
            ["experiment_group"],
        )
        self.assertAlmostEqual(groups_30[("held_out",)][1], 0.2)

    def test_plain_words_summary_with_the_confidence_interval(self):
        summary = self.segment.lift_summary
        se = math.sqrt(0.5 * 0.5 / 60 + 0.2 * 0.8 / 40)
        low, high = (0.3 - Z_95 * se) * 100, (0.3 + Z_95 * se) * 100
        self.assertIn(
            "60 days: 60 followed up, 40 held out; purchase rate 50.0 % vs 20.0 % "
            f"(+30.0 pts, 95 % CI {low:+.1f} to {high:+.1f})",
            summary,
        )
        self.assertIn("Follow-ups done: 75 % (Reached: 30, Not reached: 15)", summary)
        # The 30-day window also counts the young entry's three customers.
        self.assertIn("30 days: 63 followed up, 40 held out", summary)
        small = self.small_segment.lift_summary
        self.assertIn("5 followed up, 2 held out: too small to conclude yet", small)
        self.assertNotIn("CI", small)
        empty = self.segments["champions"].lift_summary
        self.assertIn("no customer has been followed that long yet", empty)
