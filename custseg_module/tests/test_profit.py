# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Customer profit: each cost source, tiers and CLV on profit, the negative
tier, the whale curve's figures and the segment P&L, on known invoices."""

from datetime import date
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools.sql import column_exists, table_exists

from ..models import custseg_run_profit
from .common import CustsegCommon


class ProfitCommon(CustsegCommon):
    """Products with a cost, posted invoices and refunds with or without COGS
    items, and the profit settings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params = cls.env["ir.config_parameter"]
        cls.expense_account = cls.env["account.account"].search(
            [
                ("account_type", "=", "expense_direct_cost"),
                ("company_ids", "in", cls.company.id),
            ],
            limit=1,
        )
        cls.stock_account = cls.env["account.account"].search(
            [
                ("account_type", "=", "asset_current"),
                ("company_ids", "in", cls.company.id),
            ],
            limit=1,
        )

    def _settings(self, basis="revenue", per_invoice=0.0, per_refund=0.0, share=0.0):
        self.params.set_param("custseg.value_basis", basis)
        self.params.set_param("custseg.cost_per_invoice", str(per_invoice))
        self.params.set_param("custseg.cost_per_refund", str(per_refund))
        self.params.set_param("custseg.cost_revenue_share", str(share))

    def _product(self, name, cost):
        product = self.env["product.product"].create(
            {"name": name, "type": "consu", "taxes_id": False}
        )
        product.standard_price = cost
        return product

    def _move(self, partner, day, lines, refund=False, cogs=None):
        """Post one invoice (or refund) of (product or None, quantity, price)
        lines; ``cogs`` adds the pair of cost-of-goods items anglo-saxon
        perpetual valuation posts (stock_account) for that cost."""
        values = {
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": partner.id,
            "invoice_date": day,
            "date": day,
            "journal_id": self.journal.id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": product.id if product else False,
                        "name": product.name if product else "Handling fee",
                        "account_id": self.income_account.id,
                        "quantity": quantity,
                        "price_unit": price,
                        "tax_ids": [Command.clear()],
                    }
                )
                for product, quantity, price in lines
            ],
        }
        move = self.env["account.move"].create(values)
        if cogs:
            sign = -1 if refund else 1
            move.write(
                {
                    "line_ids": [
                        Command.create(
                            {
                                "name": "COGS",
                                "display_type": "cogs",
                                "account_id": account.id,
                                "balance": sign * amount,
                            }
                        )
                        for account, amount in (
                            (self.expense_account, cogs),
                            (self.stock_account, -cogs),
                        )
                    ]
                }
            )
        move.action_post()
        return move

    def _figures(self, partner):
        figure = self.env["custseg.partner.figure"].search(
            [("partner_id", "=", partner.id)]
        )
        self.assertEqual(len(figure), 1)
        return figure

    def _row_version(self, partner):
        """Where the customer's figure row is: a new place once rewritten."""
        self.env.cr.execute(
            "SELECT ctid::text FROM custseg_partner_figure WHERE partner_id = %s",
            [partner.id],
        )
        return self.env.cr.fetchone()[0]

    def _assert_figures(self, partner, revenue, cost, serve):
        figure = self._figures(partner)
        self.assertAlmostEqual(figure.profit_revenue, revenue, places=2)
        self.assertAlmostEqual(figure.profit_cost, cost, places=2)
        self.assertAlmostEqual(figure.profit_margin, revenue - cost, places=2)
        self.assertAlmostEqual(figure.profit_cost_to_serve, serve, places=2)
        self.assertAlmostEqual(figure.profit_amount, revenue - cost - serve, places=2)
        # The partner's Segmentation page reads the same row.
        self.assertAlmostEqual(partner.profit_amount, revenue - cost - serve, places=2)
        self.assertAlmostEqual(partner.profit_margin, revenue - cost, places=2)


@tagged("post_install", "-at_install")
class TestCustomerProfit(ProfitCommon):
    def test_product_cost_source_refunds_netted_and_fee_lines_cost_nothing(self):
        self._settings(per_invoice=10.0, per_refund=5.0, share=0.02)
        widget = self._product("Widget", 60.0)
        customer = self._customer("Standard Cost Customer")
        self._move(customer, date(2026, 6, 1), [(widget, 3, 100.0), (None, 1, 50.0)])
        self._move(customer, date(2026, 6, 10), [(widget, 1, 100.0)], refund=True)
        run = self._run()
        # revenue 350 - 100; cost 180 - 60 (the fee line has no product:
        # cost 0); serve 10 per invoice + 5 per refund + 2 % of 250.
        self._assert_figures(customer, revenue=250.0, cost=120.0, serve=20.0)
        self.assertEqual(run.cost_source, "standard")
        self.assertIn("Product cost", run.cost_source_summary)
        self.assertAlmostEqual(run.total_profit, 110.0, places=2)
        # Contacts show their company's figures.
        contact = self.env["res.partner"].create(
            {"name": "Buyer", "parent_id": customer.id}
        )
        self.assertAlmostEqual(contact.profit_amount, 110.0, places=2)

    def test_cogs_items_win_over_the_product_cost(self):
        self._settings()
        widget = self._product("Stocked Widget", 60.0)
        customer = self._customer("Perpetual Valuation Customer")
        self._move(customer, date(2026, 5, 3), [(widget, 2, 100.0)], cogs=90.0)
        self._move(
            customer, date(2026, 5, 9), [(widget, 1, 100.0)], refund=True, cogs=45.0
        )
        other = self._customer("No COGS Customer")
        self._move(other, date(2026, 5, 3), [(widget, 1, 100.0)])
        run = self._run()
        # The journal's cost (45 a unit), not the product's (60).
        self._assert_figures(customer, revenue=100.0, cost=45.0, serve=0.0)
        # An invoice without COGS items falls back to the product cost.
        self._assert_figures(other, revenue=100.0, cost=60.0, serve=0.0)
        self.assertEqual(run.cost_source, "cogs")

    def test_no_cost_known(self):
        self._settings(per_invoice=4.0)
        customer = self._customer("Service Only Customer")
        self._invoices([(customer, date(2026, 6, 2), 80.0)])  # product without cost
        run = self._run()
        self._assert_figures(customer, revenue=80.0, cost=0.0, serve=4.0)
        self.assertEqual(run.cost_source, "none")
        self.assertIn("No cost known", run.cost_source_summary)

    def test_sale_line_cost_is_detected_only_where_sale_margin_is_installed(self):
        installed = "sale.order.line" in self.env and "purchase_price" in (
            self.env["sale.order.line"]._fields
        )
        self.assertEqual(self.env["custseg.run"]._sale_cost_available(), installed)
        # Without sale_margin the query must not name its tables at all.
        query = self.env["custseg.run"]._line_unit_cost(False)
        self.assertNotIn("sale_order_line", query.code)
        self.assertIn(
            "sale_order_line", self.env["custseg.run"]._line_unit_cost(True).code
        )

    def _profit_population(self):
        """Five customers: revenue, cost -> profit 600, 250, 100, 50, -100."""
        population = {}
        for name, revenue, cost in (
            ("P1", 1000.0, 400.0),
            ("P2", 500.0, 250.0),
            ("P3", 300.0, 200.0),
            ("P4", 100.0, 50.0),
            ("P5", 800.0, 900.0),
        ):
            partner = self._customer(f"Profit {name}")
            product = self._product(f"Product of {name}", cost)
            self._move(partner, date(2026, 6, 5), [(product, 1, revenue)])
            population[name] = partner
        return population

    def test_tiers_clv_and_whale_curve_on_profit(self):
        population = self._profit_population()
        self._settings(basis="revenue")
        revenue_run = self._run()
        tiers = {name: p.value_tier for name, p in population.items()}
        # On revenue, the loss-making P5 (800) is a key customer.
        self.assertEqual(tiers["P5"], "key")
        clv = {name: p.predicted_clv for name, p in population.items()}

        self._settings(basis="profit")
        run = self._run()
        self.assertEqual(run.value_basis, "profit")
        tiers = {name: p.value_tier for name, p in population.items()}
        # Positive profit 1000: shares ahead 0, .60, .85, .95 (cuts .5 .8 .95).
        self.assertEqual(
            tiers,
            {
                "P1": "key",
                "P2": "important",
                "P3": "ordinary",
                "P4": "small",
                "P5": "negative",
            },
        )
        # CLV in profit: predicted revenue x own rate shrunk toward the
        # typical customer's (the median own rate, 0.5), one invoice each
        # weighing as much as the typical rate (PRIOR_INVOICES).
        revenue = {"P1": 1000, "P2": 500, "P3": 300, "P4": 100, "P5": 800}
        profit = {"P1": 600, "P2": 250, "P3": 100, "P4": 50, "P5": -100}
        for name, partner in population.items():
            rate = (profit[name] / revenue[name] + 0.5) / 2
            self.assertAlmostEqual(
                partner.predicted_clv, round(clv[name] * rate, 2), delta=0.011
            )
        # One loss-making invoice is weak evidence: the customer's CLV in
        # profit is cut to 0.1875 of his CLV in revenue, not below zero.
        self.assertLess(population["P5"].predicted_clv, clv["P5"] * 0.19)

        # Whale curve: ranked 600 250 100 50 -100, total 900.
        self.assertAlmostEqual(run.whale_top20_share, 600 / 900, places=4)
        self.assertAlmostEqual(run.whale_peak_share, 1000 / 900, places=4)
        self.assertAlmostEqual(run.whale_peak_customer_share, 0.8, places=4)
        self.assertAlmostEqual(run.whale_given_away, 100.0, places=2)
        self.assertEqual(run.negative_profit_count, 1)
        self.assertEqual(revenue_run.negative_profit_count, 1)
        points = {p.customer_percent: p.profit_percent for p in run.whale_point_ids}
        self.assertEqual(len(points), 101)
        self.assertAlmostEqual(points[20], 600 / 9, places=1)
        self.assertAlmostEqual(points[80], 1000 / 9, places=1)
        self.assertAlmostEqual(points[100], 100.0, places=1)
        self.assertIn("66.7 %", run.whale_summary)
        self.assertIn("111.1 %", run.whale_summary)
        self.assertIn("80.0 %", run.whale_summary)
        self.assertIn("1 customers have a negative profit", run.whale_summary)
        # The customers who lose money are found, and ranked, by their profit.
        Partner = self.env["res.partner"]
        ids = [p.id for p in population.values()]
        losing = Partner.search([("id", "in", ids), ("profit_amount", "<", 0)])
        self.assertEqual(losing, population["P5"])
        ranked = Partner.search([("id", "in", ids)], order="profit_amount desc")
        self.assertEqual(ranked.mapped("name"), [f"Profit P{n}" for n in range(1, 6)])
        # Analysis › Whale Curve shows the latest run's points only.
        latest = self.env["custseg.run.whale.point"].search([("latest", "=", True)])
        self.assertEqual(latest.run_id, run)
        action = run.action_open_whale_curve()
        self.assertEqual(action["res_model"], "custseg.run.whale.point")
        self.assertEqual(action["domain"], [("run_id", "=", run.id)])

    def test_pnl_attributes_invoices_to_the_segment_of_their_date(self):
        self._settings(per_invoice=1.0)
        widget = self._product("P&L Widget", 30.0)
        customer = self._customer("Moved Mid-Month")
        self._move(customer, date(2026, 6, 5), [(widget, 1, 100.0)])
        self._move(customer, date(2026, 6, 20), [(widget, 2, 100.0)])
        # The customer entered "loyal" from "new" on 15 June.
        new, loyal = self.segments["new"], self.segments["loyal"]
        loyal.owner_id = self.manager
        baseline = self._run(as_of=date(2026, 6, 14))
        self.env["custseg.partner.history"].create(
            {
                "partner_id": customer.id,
                "run_id": baseline.id,
                "company_id": self.company.id,
                "date": date(2026, 6, 15),
                "old_segment_id": new.id,
                "new_segment_id": loyal.id,
            }
        )
        self._run()
        rows = self.env["custseg.segment.pnl"].search(
            [("month", "=", date(2026, 6, 1))]
        )
        by_segment = {row.segment_id: row for row in rows}
        self.assertEqual(set(by_segment), {new, loyal})
        self.assertAlmostEqual(by_segment[new].revenue, 100.0, places=2)
        self.assertAlmostEqual(by_segment[new].cost, 30.0, places=2)
        self.assertAlmostEqual(by_segment[new].profit, 69.0, places=2)
        self.assertAlmostEqual(by_segment[loyal].revenue, 200.0, places=2)
        self.assertAlmostEqual(by_segment[loyal].margin, 140.0, places=2)
        self.assertAlmostEqual(by_segment[loyal].cost_to_serve, 1.0, places=2)
        self.assertAlmostEqual(by_segment[loyal].profit, 139.0, places=2)
        self.assertEqual(by_segment[loyal].customer_count, 1)
        self.assertEqual(by_segment[loyal].owner_id, self.manager)
        # An owner starts on "My segments"; someone owning none does not.
        pnl = self.env["custseg.segment.pnl"]
        action = pnl.with_user(self.manager).action_open_report()
        self.assertEqual(action["context"], {"search_default_my_segments": 1})
        action = pnl.with_user(self.salesman).action_open_report()
        self.assertEqual(action["context"], {})
        # Only the runs fill the P&L: nobody edits a row.
        with self.assertRaises(AccessError):
            by_segment[loyal].with_user(self.manager).write({"profit": 1.0})
        # The P&L answers to the segment's owner of today.
        loyal.owner_id = self.salesman
        self.assertEqual(by_segment[loyal].owner_id, self.salesman)

    def test_pnl_segment_of_each_date_among_customers_with_and_without_history(self):
        self._settings()
        widget = self._product("Dated Widget", 0.0)
        moved = self._customer("Moved Twice")
        steady = self._customer("Never Moved")
        new, loyal, at_risk = (
            self.segments[code] for code in ("new", "loyal", "at_risk")
        )
        # Two invoices on one day, one on each transition day, one after both.
        for day, price in ((5, 10.0), (5, 20.0), (10, 40.0), (20, 80.0), (25, 160.0)):
            self._move(moved, date(2026, 6, day), [(widget, 1, price)])
        self._move(steady, date(2026, 6, 5), [(widget, 1, 1000.0)])
        # Only "moved" has transitions: the one run below is the baseline,
        # which logs none. Two on 20 June: the later one (higher id) wins.
        for day, old, new_segment in (
            (10, new, loyal),
            (20, loyal, new),
            (20, new, at_risk),
        ):
            self.env["custseg.partner.history"].create(
                {
                    "partner_id": moved.id,
                    "company_id": self.company.id,
                    "date": date(2026, 6, day),
                    "old_segment_id": old.id,
                    "new_segment_id": new_segment.id,
                }
            )
        run = self._run()
        self.assertTrue(run.baseline)
        self.assertFalse(
            self.env["custseg.partner.history"].search_count(
                [("partner_id", "=", steady.id)]
            )
        )
        rows = self.env["custseg.segment.pnl"].search(
            [("month", "=", date(2026, 6, 1))]
        )
        revenue = {}
        for row in rows:
            revenue[row.segment_id] = revenue.get(row.segment_id, 0.0) + row.revenue
        # Before its first transition, "moved" was in the segment it left;
        # "steady", without history, counts for its segment of today.
        expected = {new: 30.0, loyal: 40.0, at_risk: 240.0}
        expected[steady.customer_segment_id] = (
            expected.get(steady.customer_segment_id, 0.0) + 1000.0
        )
        self.assertEqual(set(revenue), set(expected))
        for segment, amount in expected.items():
            self.assertAlmostEqual(revenue[segment], amount, places=2)

    def test_a_next_run_writes_only_the_rows_that_changed(self):
        self._settings()
        widget = self._product("Steady Widget", 40.0)
        gadget = self._product("Repriced Gadget", 10.0)
        steady = self._customer("Steady Customer")
        repriced = self._customer("Repriced Customer")
        leaving = self._customer("Leaving Customer")
        self._move(steady, date(2026, 5, 4), [(widget, 1, 100.0)])
        self._move(repriced, date(2026, 6, 4), [(gadget, 2, 50.0)])
        self._move(leaving, date(2026, 4, 8), [(widget, 1, 70.0)])
        first = self._run()
        pnl = self.env["custseg.segment.pnl"]
        months = {
            month: pnl.search([("month", "=", month)])
            for month in (date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1))
        }
        self.assertEqual(len(months[date(2026, 4, 1)]), 1)
        repriced_row = self._row_version(repriced)

        # A new product cost, and a customer archived: nothing else changes.
        gadget.standard_price = 30.0
        leaving.action_archive()
        second = self._run()
        # The new cost is picked up, in the customer's row and in June's P&L.
        self._assert_figures(repriced, revenue=100.0, cost=60.0, serve=0.0)
        self.assertNotEqual(self._row_version(repriced), repriced_row)
        june = pnl.search([("month", "=", date(2026, 6, 1))])
        self.assertEqual(june, months[date(2026, 6, 1)])
        self.assertEqual(june.run_id, second)
        self.assertAlmostEqual(june.cost, 60.0, places=2)
        self._assert_figures(steady, revenue=100.0, cost=40.0, serve=0.0)
        may = pnl.search([("month", "=", date(2026, 5, 1))])
        self.assertEqual(may, months[date(2026, 5, 1)])
        self.assertEqual(may.run_id, first)
        self.assertAlmostEqual(may.revenue, 100.0, places=2)
        # A run that changes nothing rewrites no figure row.
        versions = {p: self._row_version(p) for p in (steady, repriced)}
        self._run()
        self.assertEqual({p: self._row_version(p) for p in versions}, versions)
        # The archived customer keeps its figures as they were, as it keeps
        # its segment (TestBadInput); its only month of the P&L is gone.
        self._assert_figures(leaving, revenue=70.0, cost=40.0, serve=0.0)
        self.assertFalse(months[date(2026, 4, 1)].exists())
        # Deleting the older run keeps the figures it wrote.
        first.unlink()
        self._assert_figures(steady, revenue=100.0, cost=40.0, serve=0.0)
        self.assertTrue(may.exists())
        self.assertFalse(may.run_id)

    def test_update_from_1_3_drops_what_the_figures_replaced(self):
        """1.3.0 kept profit in custseg_partner_profit and log-access columns
        on the figure table: an update (the model's init) drops both."""
        cr = self.env.cr
        cr.execute("CREATE TABLE custseg_partner_profit (partner_id integer)")
        cr.execute(
            """ALTER TABLE custseg_partner_figure
                 ADD COLUMN create_uid integer REFERENCES res_users (id),
                 ADD COLUMN write_date timestamp"""
        )
        self.env["custseg.partner.figure"].init()
        self.assertFalse(table_exists(cr, "custseg_partner_profit"))
        for column in ("create_uid", "write_date"):
            self.assertFalse(column_exists(cr, "custseg_partner_figure", column))
        self.env["custseg.partner.figure"].init()  # nothing left: no error

    def test_segment_form_shows_this_and_last_month_profit(self):
        self._settings()
        widget = self._product("Monthly Widget", 10.0)
        customer = self._customer("This Month Customer")
        # The acting user's today, as the segment form computes it.
        today = fields.Date.context_today(self.env["custseg.segment"])
        this_month = today.replace(day=1)
        last_month_day = date(
            this_month.year - (this_month.month == 1),
            (this_month.month - 2) % 12 + 1,
            15,
        )
        self._move(customer, this_month, [(widget, 1, 50.0)])
        self._move(customer, last_month_day, [(widget, 2, 50.0)])
        self._run(as_of=today)
        segment = customer.customer_segment_id
        segment.invalidate_recordset()
        self.assertAlmostEqual(segment.profit_this_month, 40.0, places=2)
        self.assertAlmostEqual(segment.profit_last_month, 80.0, places=2)

    def test_bad_cost_to_serve_settings_are_refused_in_the_users_words(self):
        settings = self.env["res.config.settings"].create(
            {"custseg_cost_per_invoice": -2.0}
        )
        with self.assertRaisesRegex(ValidationError, "Cost per Invoice"):
            settings.execute()
        settings = self.env["res.config.settings"].create(
            {"custseg_cost_revenue_share": 1.5}
        )
        with self.assertRaisesRegex(ValidationError, "Cost to Serve"):
            settings.execute()
        # Nothing was saved.
        self.assertFalse(self.params.get_param("custseg.cost_per_invoice"))


@tagged("post_install", "-at_install")
class TestLineCostsKeptBetweenRuns(ProfitCommon):
    """The cost of each invoice's lines is kept between runs (custseg_line_cost)
    and recomputed only for the invoices a run may not have seen."""

    def _cached_cost(self, move, cost):
        """Overwrite the kept cost of ``move``: a value no recomputation gives."""
        self.env.cr.execute(
            "UPDATE custseg_line_cost SET product_cost = %s WHERE move_id = %s",
            [cost, move.id],
        )
        self.assertEqual(self.env.cr.rowcount, 1)

    def _seen_up_to_now(self, run, key=None, since=None):
        """Make ``run`` the last to have seen every row written so far: the
        rows written from here on in a new savepoint (a newer transaction id)
        are the ones written since it."""
        cr = self.env.cr
        run_key, _sep, _since = run.line_cost_cache.partition("|")
        if since is None:
            with cr.savepoint():
                cr.execute("CREATE TEMP TABLE IF NOT EXISTS custseg_test_xid (x int)")
                cr.execute("INSERT INTO custseg_test_xid VALUES (1) RETURNING xmin")
                xmin = int(cr.fetchone()[0])
                cr.execute("SELECT txid_current()")
                since = (cr.fetchone()[0] >> 32 << 32) + xmin
        run.line_cost_cache = f"{key or run_key}|{since}"
        run.flush_recordset()

    def test_only_invoices_written_since_the_last_run_are_recomputed(self):
        self._settings()
        widget = self._product("Kept Widget", 40.0)
        gadget = self._product("Repriced Gadget", 10.0)
        kept = self._customer("Kept Customer")
        repriced = self._customer("Customer of a Repriced Product")
        drafted = self._customer("Customer Reset to Draft")
        newcomer = self._customer("New Customer")
        kept_move = self._move(kept, date(2026, 5, 4), [(widget, 1, 100.0)])
        self._move(repriced, date(2026, 6, 4), [(gadget, 2, 50.0)])
        drafted_move = self._move(drafted, date(2026, 6, 5), [(widget, 1, 90.0)])
        first = self._run()
        self._assert_figures(kept, revenue=100.0, cost=40.0, serve=0.0)
        self._assert_figures(repriced, revenue=100.0, cost=20.0, serve=0.0)
        self._seen_up_to_now(first)
        # Written since the first run: a product cost, an invoice reset to
        # draft, a new invoice. The kept invoice was not: a cost no
        # recomputation would give shows that it is read from the table.
        self._cached_cost(kept_move, 7.0)
        with self.env.cr.savepoint():
            gadget.standard_price = 30.0
            drafted_move.button_draft()
            self._move(newcomer, date(2026, 6, 20), [(widget, 2, 80.0)])
        second = self._run()
        self._assert_figures(kept, revenue=100.0, cost=7.0, serve=0.0)
        self._assert_figures(repriced, revenue=100.0, cost=60.0, serve=0.0)
        self._assert_figures(newcomer, revenue=160.0, cost=80.0, serve=0.0)
        # Its only invoice back to draft: none left, and none kept.
        self._assert_figures(drafted, revenue=0.0, cost=0.0, serve=0.0)
        self.env.cr.execute(
            "SELECT move_id FROM custseg_line_cost WHERE move_id = %s",
            [drafted_move.id],
        )
        self.assertFalse(self.env.cr.fetchall())
        self.assertNotEqual(second.line_cost_cache, first.line_cost_cache)

    def test_another_cost_query_or_an_old_run_rebuilds_every_line_cost(self):
        self._settings()
        widget = self._product("Rebuilt Widget", 40.0)
        customer = self._customer("Rebuilt Customer")
        move = self._move(customer, date(2026, 5, 4), [(widget, 1, 100.0)])
        first = self._run()
        # The last run kept its line costs with another query (a module
        # installed or overriding it since): all of them are recomputed.
        self._seen_up_to_now(first, key="another query")
        self._cached_cost(move, 7.0)
        second = self._run()
        self._assert_figures(customer, revenue=100.0, cost=40.0, serve=0.0)
        # The same query, but a transaction id this database has not reached
        # (restored into another PostgreSQL cluster): the same.
        self.env.cr.execute("SELECT txid_current()")
        self._seen_up_to_now(second, since=self.env.cr.fetchone()[0] + 10**6)
        self._cached_cost(move, 7.0)
        third = self._run()
        self._assert_figures(customer, revenue=100.0, cost=40.0, serve=0.0)
        # The same query, recent: the kept cost is used as it is.
        self._seen_up_to_now(third)
        self._cached_cost(move, 7.0)
        self._run()
        self._assert_figures(customer, revenue=100.0, cost=7.0, serve=0.0)

    def test_a_build_in_parts_of_invoice_ids_keeps_the_same_rows(self):
        """The line costs built whole are built a range of invoice ids at a
        time: every invoice falls in one part, with all of its lines, and
        the rows are those of one statement."""
        self._settings()
        widget = self._product("Parted Widget", 40.0)
        gadget = self._product("Parted Gadget", 10.0)
        customers = [self._customer(f"Parted Customer {n}") for n in range(4)]
        moves = [
            self._move(
                customer,
                date(2026, 5, 4 + n),
                [(widget, 1, 100.0), (gadget, n + 1, 30.0)],
            )
            for n, customer in enumerate(customers)
        ]
        first = self._run()
        rows = self._line_cost_rows()
        ids = [move.id for move in moves]
        self.assertLessEqual(set(ids), {row[0] for row in rows})
        self._seen_up_to_now(first, key="another query")
        # Parts that end between this test's first two invoices: they fall
        # in two parts, with every other move (demo data) around them.
        self.env.cr.execute("SELECT MIN(id), MAX(id) FROM account_move")
        lowest, highest = self.env.cr.fetchone()
        part = ids[1] - lowest
        self.assertTrue(lowest <= ids[0] < lowest + part <= ids[1])
        self.assertGreaterEqual((highest - lowest) // part, 1)
        with patch.object(custseg_run_profit, "LINE_COST_BUILD_MOVES", part):
            self._run()
        self.assertEqual(self._line_cost_rows(), rows)
        for n, customer in enumerate(customers):
            self._assert_figures(
                customer,
                revenue=100.0 + 30.0 * (n + 1),
                cost=40.0 + 10.0 * (n + 1),
                serve=0.0,
            )

    def _line_cost_rows(self):
        self.env.cr.execute("SELECT * FROM custseg_line_cost ORDER BY move_id")
        return self.env.cr.fetchall()

    def test_a_kept_invoice_takes_the_rate_and_customer_of_today(self):
        """A kept row holds the invoice's revenue and cost in its company's
        currency: a rate added since converts it anew; a contact that joins
        a company moves its invoice to that company (the invoice is written)."""
        self._settings()
        other_company, foreign_currency = self._foreign_company("Kept Subsidiary")
        rates = self.env["res.currency.rate"]
        rates.create(
            {
                "currency_id": foreign_currency.id,
                "company_id": self.company.id,
                "name": "2020-01-01",
                "rate": 2.0,
            }
        )
        abroad = self._customer("Customer Abroad")
        (abroad_move,) = self._invoices(
            [(abroad, date(2026, 5, 10), 300.0)], company=other_company
        )
        freelancer = self._customer("Freelancer")
        agency = self._customer("Agency", is_company=True)
        widget = self._product("Agency Widget", 40.0)
        self._move(freelancer, date(2026, 5, 12), [(widget, 1, 100.0)])
        first = self._run()
        self._assert_figures(abroad, revenue=150.0, cost=0.0, serve=0.0)
        self._assert_figures(freelancer, revenue=100.0, cost=40.0, serve=0.0)
        self._seen_up_to_now(first)
        # Not written since: its kept cost (no recomputation gives 100) is
        # converted at the rate of its date today.
        self._cached_cost(abroad_move, 100.0)
        with self.env.cr.savepoint():
            rates.create(
                {
                    "currency_id": foreign_currency.id,
                    "company_id": self.company.id,
                    "name": "2026-01-01",
                    "rate": 4.0,
                }
            )
            freelancer.parent_id = agency
        self._run()
        self._assert_figures(abroad, revenue=75.0, cost=25.0, serve=0.0)
        self._assert_figures(agency, revenue=100.0, cost=40.0, serve=0.0)
