# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import Command
from odoo.tests import tagged

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

    def _plant_wrong_offers(self, offers):
        """A score no computation gives on one offer, an offer no computation
        gives (rank 9) and one offer removed: a run that recomputes the
        recommendations puts all three right, one that keeps them does not."""
        wrong_score, removed = offers[0], offers[1]
        wrong_score.score = 99.0
        planted = wrong_score.copy({"rank": 9})
        removed_key = (removed.partner_id, removed.rank, removed.product_id)
        removed.unlink()
        self.env.flush_all()
        return wrong_score, planted, removed_key

    def _assert_put_right(self, planted, same_data=True):
        """With ``same_data`` (the same invoices), every offer is as before;
        otherwise the offers may differ, but none keeps what was planted."""
        wrong_score, extra, (partner, rank, product) = planted
        self.assertFalse(extra.exists())
        self.assertNotIn(99.0, wrong_score.exists().mapped("score"))
        if same_data:
            self.assertTrue(wrong_score.exists())
            restored = self.env["custseg.recommendation"].search(
                [("partner_id", "=", partner.id), ("rank", "=", rank)]
            )
            self.assertEqual(restored.product_id, product)

    def test_next_run_writes_only_the_offers_that_changed(self):
        def rows(offers):
            return sorted((o.partner_id.id, o.rank, o.product_id.id) for o in offers)

        self._run()
        first = self.env["custseg.recommendation"].search([])
        before = rows(first)
        # No invoice changed since: the run keeps the offers (invoice watermark).
        self._run()
        self.assertEqual(first.exists(), first, "no new invoice, offers kept")
        # An invoice posted then cancelled: the same data, a new watermark:
        # recomputed, and only the offers that differ are written.
        planted = self._plant_wrong_offers(first)
        untouched = first.exists() - planted[0]
        cancelled = self._invoices([(self.grid_customers[1, 1], AS_OF, 10.0)])
        cancelled.button_draft()
        cancelled.button_cancel()
        self._run()
        self._assert_put_right(planted)
        again = self.env["custseg.recommendation"].search([])
        self.assertEqual(rows(again), before, "same data, same offers")
        self.assertLessEqual(untouched, again, "unchanged offers keep their rows")

    def test_recommendations_kept_without_new_invoices_for_a_week_at_most(self):
        """The due dates and the lookback window move with the date: kept
        offers are recomputed after RECOMMENDATION_MAX_AGE days all the same."""
        first_run = self._run()
        self.assertEqual(first_run.recommendation_date, AS_OF)
        offers = self.env["custseg.recommendation"].search([])
        self.assertTrue(offers)
        planted = self._plant_wrong_offers(offers)
        six_days = self._run(as_of=AS_OF + timedelta(days=6))
        self.assertEqual(planted[0].score, 99.0, "no invoice changed: kept")
        self.assertTrue(planted[1].exists())
        self.assertEqual(six_days.recommendation_date, AS_OF)
        seven_days = self._run(as_of=AS_OF + timedelta(days=7))
        self._assert_put_right(planted, same_data=False)
        self.assertEqual(seven_days.recommendation_date, AS_OF + timedelta(days=7))

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
