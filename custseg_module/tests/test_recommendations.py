# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

import numpy as np

from odoo import Command
from odoo.tests import tagged
from odoo.tools import SQL
from odoo.tools.sql import table_kind

from ..tools.field_map import RECOMMENDATION_TABLE
from .common import AS_OF, CustsegGridCommon


@tagged("post_install", "-at_install")
class TestRecommendations(CustsegGridCommon):
    """Grid customers also buy a teapot with cups; customer R2 F3 (At Risk)
    bought only the teapot, long ago: the run offers it the cups."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param(
            "custseg.followups_on_baseline", "True"
        )
        products = cls.env["product.product"].create(
            [
                {"name": name, "type": "consu", "taxes_id": False}
                for name in ("Teapot", "Tea Cups", "Old Kettle")
            ]
        )
        cls.teapot, cls.cups, cls.kettle = products
        # The shop sells this scenario's products only: the demo catalogue's
        # best-sellers (bought by many more customers) would outrank the cups.
        cls.env["product.product"].search(
            [("id", "not in", (products | cls.product).ids)]
        ).sale_ok = False
        cls.target = cls.grid_customers[2, 3]
        buyers = [cls.grid_customers[r, f] for r in (3, 4, 5) for f in (1, 2, 3)]
        specs = [
            (partner, cls._days_ago(100), (cls.teapot, cls.cups)) for partner in buyers
        ]
        specs.append((cls.target, cls._days_ago(200), (cls.teapot, cls.kettle)))
        moves = cls.env["account.move"].create(
            [
                {
                    **cls._invoice_values(partner, day, 10.0),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "quantity": 2,
                                "price_unit": 5.0,
                                "tax_ids": [Command.clear()],
                            }
                        )
                        for product in products_bought
                    ],
                }
                for partner, day, products_bought in specs
            ]
        )
        moves.action_post()
        # Archived since: never offered.
        cls.kettle.product_tmpl_id.active = False
        partners = cls.env["res.partner"].concat(*cls.grid_customers.values())
        partners.user_id = cls.salesman
        # This class checks the note's offer, not who is worth a call.
        cls.env["custseg.segment"].search([]).followup_min_probability = 0.0

    def test_partner_best_list_and_followup_show_the_offer(self):
        run = self._run()
        self.assertIn("recommendations", run.timings)
        as_salesman = self.target.with_user(self.salesman)
        offers = as_salesman.recommendation_ids
        self.assertTrue(offers)
        self.assertLessEqual(len(offers), 5)
        self.assertEqual(offers.mapped("rank"), list(range(1, len(offers) + 1)))
        self.assertNotIn(self.kettle, offers.product_id)
        cups = offers.filtered(lambda offer: offer.product_id == self.cups)
        self.assertEqual(cups.reason, "bought_with")
        self.assertEqual(cups.reason_product_id, self.teapot)
        self.assertEqual(cups.reason_text, "often bought with Teapot")
        every = self.env["custseg.recommendation"].search([])
        self.assertFalse(every.filtered(lambda o: o.product_id == self.kettle))
        self.assertLessEqual(max(every.mapped("rank")), 5, "at most five per customer")

        # Best List as the salesperson: the first recommendation is a column.
        action = self.env.ref("custseg_module.res_partner_action_best_list")
        best = (
            self.env["res.partner"]
            .with_user(self.salesman)
            .search_read([("id", "=", self.target.id)], ["next_best_product_id"])
        )
        self.assertTrue(action)
        self.assertEqual(best[0]["next_best_product_id"][0], offers[0].product_id.id)
        view = self.env.ref("custseg_module.res_partner_view_list_best")
        self.assertIn("next_best_product_id", view.arch)

        # The follow-up note says what to offer.
        activity = self.env["mail.activity"].search(
            [("custseg_partner_id", "=", self.target.id)]
        )
        self.assertEqual(len(activity), 1)
        note = str(activity.with_user(self.salesman).note)
        self.assertIn("Offer:", note)
        self.assertIn("Tea Cups (often bought with Teapot)", note)

    def _stored(self):
        """{customer id: (row version, products, scores)} as the run stored them."""
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, xmin::text, product_ids, scores FROM %s",
                SQL.identifier(RECOMMENDATION_TABLE),
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def _plant_wrong_offers(self):
        """Each on a customer of its own: a score no computation gives, a
        product recommended twice and a recommendation removed. A run that
        recomputes the recommendations puts all three right, one that keeps
        them does not. Returns (the stored rows before, the three customers)."""
        before = self._stored()
        wrong, twice, short = sorted(
            partner
            for partner, (_v, products, _s) in before.items()
            if len(products) > 1
        )[:3]
        table = SQL.identifier(RECOMMENDATION_TABLE)
        for change, partner in (
            ("scores[1] = 99", wrong),
            (
                "product_ids = product_ids || product_ids[1], "
                "scores = scores || scores[1], reasons = reasons || reasons[1], "
                "reason_product_ids = reason_product_ids || reason_product_ids[1], "
                "interval_days = interval_days || interval_days[1]",
                twice,
            ),
            (
                "product_ids = product_ids[:1], scores = scores[:1], "
                "reasons = reasons[:1], reason_product_ids = reason_product_ids[:1], "
                "interval_days = interval_days[:1]",
                short,
            ),
        ):
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s WHERE partner_id = %s",
                    table,
                    SQL(change),
                    partner,
                )
            )
        self.env["custseg.recommendation"].invalidate_model()
        return before, (wrong, twice, short)

    def _assert_planted(self, planted, kept):
        """The three planted errors are all still there (``kept``), or none."""
        _before, (wrong, twice, short) = planted
        stored = self._stored()
        states = (
            stored[wrong][2][0] == 99,
            len(set(stored[twice][1])) < len(stored[twice][1]),
            len(stored[short][1]) == 1,
        )
        self.assertEqual(states, (kept, kept, kept))

    def test_next_run_writes_only_the_offers_that_changed(self):
        self._run()
        first = self.env["custseg.recommendation"].search([])
        self.assertTrue(first)
        # No invoice changed since: the run keeps the offers (invoice watermark).
        self._run()
        planted = self._plant_wrong_offers()
        self._run()
        self._assert_planted(planted, kept=True)
        # An invoice posted then cancelled: the same data, a new watermark:
        # recomputed, and only the customers whose offers differ are written.
        cancelled = self._invoices([(self.grid_customers[1, 1], AS_OF, 10.0)])
        cancelled.button_draft()
        cancelled.button_cancel()
        self._run()
        self._assert_planted(planted, kept=False)
        before, touched = planted
        after = self._stored()
        self.assertEqual(
            {partner: row[1:] for partner, row in after.items()},
            {partner: row[1:] for partner, row in before.items()},
            "same data, same offers",
        )
        self.assertEqual(
            {partner for partner in after if after[partner][0] != before[partner][0]},
            set(touched),
            "only the customers whose offers differed are rewritten",
        )
        self.assertEqual(self.env["custseg.recommendation"].search([]), first)

    def test_recommendations_kept_without_new_invoices_for_a_week_at_most(self):
        """The due dates and the lookback window move with the date: kept
        offers are recomputed after RECOMMENDATION_MAX_AGE days all the same."""
        first_run = self._run()
        self.assertEqual(first_run.recommendation_date, AS_OF)
        planted = self._plant_wrong_offers()
        six_days = self._run(as_of=AS_OF + timedelta(days=6))
        self._assert_planted(planted, kept=True)
        self.assertEqual(six_days.recommendation_date, AS_OF)
        seven_days = self._run(as_of=AS_OF + timedelta(days=7))
        self._assert_planted(planted, kept=False)
        self.assertEqual(seven_days.recommendation_date, AS_OF + timedelta(days=7))

    def test_lines_hold_whole_quantities_in_four_bytes_and_fractions_as_they_are(self):
        run = self._run()
        whole = run._phase_invoice_lines(3650)
        self.assertEqual(whole["quantity"].dtype, np.int32)
        self.assertTrue(len(whole))
        half = self.env["account.move"].create(
            {
                **self._invoice_values(self.target, AS_OF, 10.0),
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.cups.id,
                            "quantity": 0.5,
                            "price_unit": 5.0,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        half.action_post()
        self.env.flush_all()
        lines = run._phase_invoice_lines(3650)
        self.assertEqual(lines["quantity"].dtype, np.float64)
        self.assertEqual(len(lines), len(whole) + 1)
        # The same values, the half unit kept exactly.
        self.assertEqual(
            sorted(lines["quantity"].tolist()),
            sorted([*whole["quantity"].astype(float).tolist(), 0.5]),
        )

    def test_a_customer_deleted_takes_his_recommendations(self):
        self._run()
        customer = self.env["res.partner"].create({"name": "Short-lived"})
        self.env.cr.execute(
            SQL(
                """INSERT INTO %s (partner_id, product_ids, scores, reasons,
                                   reason_product_ids, interval_days)
                   VALUES (%s, ARRAY[%s], ARRAY[0.5], ARRAY[1], ARRAY[0], ARRAY[30])""",
                SQL.identifier(RECOMMENDATION_TABLE),
                customer.id,
                self.cups.id,
            )
        )
        customer.invalidate_recordset(["recommendation_ids"])
        self.assertEqual(customer.recommendation_ids.product_id, self.cups)
        self.assertEqual(
            customer.recommendation_ids.reason_text, "due: usually every 30 days"
        )
        customer.unlink()
        self.assertNotIn(customer.id, self._stored())

    def test_update_from_1_3_moves_the_rows_of_the_old_table(self):
        """1.3.0 kept a row per recommendation in custseg_recommendation: an
        update moves them to one row per customer, and drops that table."""
        self._run()
        offers = self.env["custseg.recommendation"].search([])
        names = [
            "partner_id",
            "rank",
            "product_id",
            "score",
            "reason",
            "reason_product_id",
            "reason_segment_id",
            "interval_days",
        ]
        expected = offers.read(names)
        self.env.cr.execute(
            SQL(
                """CREATE TABLE custseg_recommendation AS
                   SELECT id, partner_id, rank, product_id, score, reason,
                          reason_product_id, reason_segment_id, interval_days
                     FROM (%s) AS old""",
                self.env["custseg.recommendation"]._table_query,
            )
        )
        self.env.cr.execute(SQL("TRUNCATE %s", SQL.identifier(RECOMMENDATION_TABLE)))
        self.env["custseg.recommendation"].init()
        self.env["custseg.recommendation"].invalidate_model()
        self.assertEqual(table_kind(self.env.cr, "custseg_recommendation"), None)
        again = self.env["custseg.recommendation"].search([])
        self.assertEqual(again, offers)
        self.assertEqual(again.read(names), expected)

    def test_profiles_count_a_category_bought_with_any_of_its_products(self):
        """The categories of the segment profiles come from the purchases
        per product: a customer bought a category when they bought one of
        its products; a category of a single buyer in a segment is noise."""
        Category = self.env["product.category"]
        tea_ware = Category.create({"name": "Tea Ware"})
        kettles = Category.create({"name": "Kettles"})
        (self.teapot | self.cups).product_tmpl_id.categ_id = tea_ware
        self.kettle.product_tmpl_id.categ_id = kettles
        self._run()
        Profile = self.env["custseg.segment.profile"]
        teapot_rows = Profile.search(
            [("kind", "=", "product"), ("name", "=", self.teapot.display_name)]
        )
        self.assertTrue(teapot_rows)
        for teapot in teapot_rows:
            category = Profile.search(
                [
                    ("segment_id", "=", teapot.segment_id.id),
                    ("kind", "=", "category"),
                    ("name", "=", tea_ware.display_name),
                ]
            )
            # Every teapot buyer bought Tea Ware, and no one else did.
            self.assertEqual(len(category), 1)
            self.assertAlmostEqual(category.share, teapot.share)
            self.assertAlmostEqual(category.lift, teapot.lift)
        self.assertFalse(
            Profile.search([("kind", "=", "category"), ("name", "=", "Kettles")])
        )

    def test_profiles_follow_the_customers_when_no_invoice_changed(self):
        """With no invoice changed the run keeps the products and categories
        of the segment profiles (they come from the invoice lines), and
        redraws the rest from today's customers: a new owner shows at once."""
        self._run()
        Profile = self.env["custseg.segment.profile"]
        bought = Profile.search([("kind", "in", ("product", "category"))])
        self.assertTrue(bought)
        segment = self.target.customer_segment_id
        members = self.env["res.partner"].search(
            [("customer_segment_id", "=", segment.id)]
        )
        members.user_id = self.manager
        self._run()
        self.assertEqual(bought.exists(), bought, "no invoice changed: kept")
        owners = Profile.search(
            [("segment_id", "=", segment.id), ("kind", "=", "salesperson")]
        )
        self.assertEqual(owners.mapped("name"), [self.manager.display_name])
        self.assertEqual(owners.share, 1.0)
