# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser tours (real Chromium), each followed by checks of the database."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import AS_OF, CustsegFixtures

# data/custseg_segment_data.xml, in sequence order (the kanban tour expects them).
DEFAULT_SEGMENTS = [
    "prospect",
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
]


@tagged("post_install", "-at_install")
class TestCustsegTours(CustsegFixtures, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_custseg_fixtures()
        # One customer in every cell of the R × F grid, so every rule segment
        # has customers; the salesperson sells to all of them.
        cls._setup_grid_customers(user_id=cls.salesman.id)
        # The follow-up tour works the queue this first run fills.
        cls.env["ir.config_parameter"].set_param(
            "custseg.followups_on_baseline", "True"
        )
        cls.first_run = cls.env["custseg.run"].run_segmentation(as_of=AS_OF)
        cls.env.invalidate_all()

    def test_menu_opens_segment_kanban(self):
        """The app menu opens the customers kanban with a column per segment."""
        self.start_tour("/odoo", "custseg_menu_tour", login="admin")
        segments = self.env["custseg.segment"].search([])
        self.assertGreaterEqual(len(segments), 12)

    def test_manager_opens_whale_curve_and_segment_pnl(self):
        """Analysis › Whale Curve draws the latest run's curve; Analysis ›
        Segment P&L opens the pivot on the owner's own segments."""
        self.segments["champions"].owner_id = self.manager
        run = self.env["custseg.run"].search([("state", "=", "done")], limit=1)
        self.assertEqual(len(run.whale_point_ids), 101)
        # The P&L follows the segment's owner of today.
        self.assertTrue(
            self.env["custseg.segment.pnl"].search_count(
                [("owner_id", "=", self.manager.id)]
            )
        )
        self.start_tour("/odoo", "custseg_profit_tour", login=self.manager.login)

    def test_manager_drags_customer_to_another_segment(self):
        """Every segment is a column; dragging a card locks the customer in the
        segment it was dropped on."""
        segments = self.env["custseg.segment"].search([])
        self.assertEqual(segments.mapped("code"), DEFAULT_SEGMENTS)
        self.assertEqual(
            segments.filtered("fold").mapped("code"), ["hibernating", "lost"]
        )
        customer = self.grid_customers[5, 1]
        self.assertEqual(customer.customer_segment_id, self.segments["new"])
        self.assertFalse(customer.segment_locked)
        before = customer.segment_date

        self.start_tour("/odoo", "custseg_kanban_drag_tour", login=self.manager.login)

        self.env.invalidate_all()
        self.assertEqual(customer.customer_segment_id, self.segments["loyal"])
        self.assertTrue(customer.segment_locked)
        # The day of the drag is the manager's today, in their time zone.
        self.assertEqual(
            customer.segment_date,
            fields.Date.context_today(customer.with_user(self.manager)),
        )
        self.assertNotEqual(customer.segment_date, before)
        # Only the dragged customer moved; the run's figures stay.
        self.assertEqual(customer.rfm_code[:2], "51")
        others = self.env["res.partner"].browse(
            [p.id for cell, p in self.grid_customers.items() if cell != (5, 1)]
        )
        self.assertFalse(any(others.mapped("segment_locked")))
        # The next run keeps the manual segment and refreshes the figures.
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        self.assertEqual(customer.customer_segment_id, self.segments["loyal"])
        self.assertTrue(customer.segment_locked)

    def test_manager_sees_segment_rule_grid(self):
        """The segment form renders the R × F grid, the segment highlighted."""
        loyal = self.segments["loyal"]
        write_date = loyal.write_date

        self.start_tour("/odoo", "custseg_segment_grid_tour", login=self.manager.login)

        self.env.invalidate_all()
        # Looking changed nothing, and the server renders what the tour saw.
        self.assertEqual(loyal.write_date, write_date)
        ranges = ("r_score_min", "r_score_max", "f_score_min", "f_score_max")
        self.assertEqual([loyal[name] for name in ranges], [3, 4, 4, 5])
        html = loyal.with_user(self.manager).rule_grid_html
        self.assertEqual(html.count("o_custseg_grid_cell"), 11)
        self.assertEqual(html.count("o_custseg_grid_current"), 1)
        self.assertIn('rowspan="2" colspan="2"', html)
        self.assertEqual(loyal.customer_count, 4)

    def test_manager_opens_the_lift_report(self):
        """Entries of At Risk 70 days ago, few: the pivot shows both groups and
        the segment form says it is too small to conclude."""
        today = fields.Date.context_today(self.env.user)
        at_risk = self.segments["at_risk"]
        customers = self.env["res.partner"].concat(*self.grid_customers.values())
        self.env["custseg.followup.entry"].create(
            [
                {
                    "run_id": self.first_run.id,
                    "partner_id": partner.id,
                    "segment_id": at_risk.id,
                    "user_id": self.salesman.id,
                    "entry_date": today - timedelta(days=70),
                    "experiment_group": "held_out" if index % 4 == 0 else "treated",
                    "group_reason": "drawn_held_out"
                    if index % 4 == 0
                    else "drawn_treated",
                    "likelihood": 0.2,
                    "likelihood_decile": 1,
                }
                for index, partner in enumerate(customers[:12])
            ]
        )
        self.assertIn("too small to conclude yet", at_risk.lift_summary)
        # The tour then reads the latest run's quality card: thin data.
        self.assertEqual(self.first_run.likelihood_method, "bg_nbd")
        self.start_tour("/odoo", "custseg_lift_report_tour", login="admin")

    def test_salesperson_marks_followup_done(self):
        """The run scheduled follow-ups for the salesperson's customers who
        entered a segment with follow-ups; one is marked done from the queue."""
        followups = self.env["mail.activity"].search(
            [("custseg_segment_id", "!=", False), ("user_id", "=", self.salesman.id)]
        )
        customer = self.grid_customers[5, 1]
        welcome = followups.filtered(lambda act: act.custseg_partner_id == customer)
        self.assertEqual(len(welcome), 1)
        self.assertEqual(welcome.custseg_segment_id, self.segments["new"])
        self.assertGreater(len(followups), 1)
        self.assertFalse(customer.segment_followup_done_date)
        messages = customer.message_ids

        self.start_tour(
            "/odoo", "custseg_followup_done_tour", login=self.salesman.login
        )

        self.env.invalidate_all()
        self.assertFalse(welcome.exists().filtered("active"))
        self.assertEqual(
            customer.segment_followup_done_date,
            fields.Date.context_today(customer.with_user(self.salesman)),
        )
        # Done like any activity: its feedback is in the customer's chatter.
        done = (customer.message_ids - messages).filtered("mail_activity_type_id")
        self.assertEqual(len(done), 1)
        # with the outcome the salesperson chose, for the reports, and the feedback.
        self.assertEqual(done.custseg_outcome, "order_expected")
        self.assertEqual(done.custseg_segment_id, self.segments["new"])
        self.assertIn("Wants a quote for 20 boxes", str(done.body))
        # The salesperson's other follow-ups are still open, the segment too.
        self.assertEqual((followups - welcome).filtered("active"), followups - welcome)
        self.assertEqual(customer.customer_segment_id, self.segments["new"])

    def test_manager_moves_a_cell_in_the_grid_editor(self):
        """Edit Grid: move R3 F4-5 from Loyal Customers to Need Attention in one
        save, after a preview of how many customers move."""
        loyal, attention = self.segments["loyal"], self.segments["need_attention"]
        ranges = ("r_score_min", "r_score_max", "f_score_min", "f_score_max")

        self.start_tour("/odoo", "custseg_grid_editor_tour", login=self.manager.login)

        self.env.invalidate_all()
        self.assertEqual([loyal[name] for name in ranges], [4, 4, 4, 5])
        self.assertEqual([attention[name] for name in ranges], [3, 3, 3, 5])
        self.assertFalse(
            self.env["custseg.segment"]._grid_problem_messages(
                self.env["custseg.segment"]._rule_grid(), 5
            )
        )
        # The next run moves the two customers the preview counted.
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        for f_score in (4, 5):
            self.assertEqual(
                self.grid_customers[3, f_score].customer_segment_id, attention
            )

    def test_manager_sees_segment_profile(self):
        """The segment form shows what the segment's customers have in common."""
        loyal = self.segments["loyal"].with_user(self.manager)
        profile = loyal.profile_ids
        product = profile.filtered(lambda line: line.kind == "product")
        self.assertEqual(product.mapped("name"), ["Segmentation Test Product"])
        self.assertAlmostEqual(product.share, 1.0)
        owner = profile.filtered(lambda line: line.kind == "salesperson")
        self.assertEqual(owner.mapped("name"), ["Sales Person"])
        # Lift against all segmented customers, as for products.
        segmented = (
            self.env["res.partner"]
            .search([("customer_segment_id", "!=", False)])
            .filtered(lambda partner: partner == partner.commercial_partner_id)
        )
        overall = len(segmented.filtered(lambda p: p.user_id == self.salesman))
        self.assertTrue(overall)
        self.assertAlmostEqual(owner.lift, owner.share * len(segmented) / overall)
        self.assertGreater(owner.lift, 0)
        # Loyal: R 3-4 × F 4-5, two customers buying for 300, two for 400.
        self.assertAlmostEqual(loyal.profile_order_value, 350.0)
        self.assertAlmostEqual(loyal.profile_purchase_interval, 7.0)

        self.start_tour(
            "/odoo", "custseg_segment_profile_tour", login=self.manager.login
        )

    def test_salesperson_marks_followup_done_in_chatter(self):
        """The chatter's Mark Done popover asks a segment follow-up for its
        outcome (Done & Schedule Next included); other activities are done as
        in Odoo."""
        customer = self.grid_customers[5, 1]
        welcome = self.env["mail.activity"].search(
            [("custseg_partner_id", "=", customer.id)]
        )
        self.assertEqual(welcome.custseg_segment_id, self.segments["new"])
        todo = customer.activity_schedule(
            "mail.mail_activity_data_todo",
            summary="Send the brochure",
            user_id=self.salesman.id,
        )
        messages = customer.message_ids

        self.start_tour(
            f"/odoo/res.partner/{customer.id}",
            "custseg_chatter_done_tour",
            login=self.salesman.login,
        )

        self.env.invalidate_all()
        self.assertFalse(welcome.exists().filtered("active"))
        self.assertFalse(todo.exists().filtered("active"))
        done = (customer.message_ids - messages).filtered("mail_activity_type_id")
        self.assertEqual(len(done), 2)
        by_outcome = {message.custseg_outcome: message for message in done}
        self.assertEqual(set(by_outcome), {False, "reached"})
        self.assertIn("Brochure sent by post", str(by_outcome[False].body))
        self.assertFalse(by_outcome[False].custseg_segment_id)
        self.assertIn("Call back in May", str(by_outcome["reached"].body))
        self.assertEqual(by_outcome["reached"].custseg_segment_id, self.segments["new"])
        self.assertEqual(
            customer.segment_followup_done_date,
            fields.Date.context_today(customer.with_user(self.salesman)),
        )


@tagged("post_install", "-at_install")
class TestBackgroundRunTour(CustsegFixtures, HttpCase):
    """Recompute now in a browser: queued at once, then run by the cron worker."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_custseg_fixtures()
        cls._setup_grid_customers(user_id=cls.salesman.id)
        cls.env["custseg.run"].run_segmentation(as_of=AS_OF)
        cls.env.invalidate_all()

    def test_recompute_now_runs_in_the_background(self):
        Runs = self.env["custseg.run"]
        queue_cron = self.env.ref("custseg_module.ir_cron_run_queued")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", queue_cron.id)])
        last_before = Runs.search([], limit=1)

        self.start_tour(
            "/odoo/action-custseg_module.custseg_run_action",
            "custseg_run_queue_tour",
            login=self.manager.login,
        )

        self.env.invalidate_all()
        run = Runs.search([], limit=1)
        self.assertNotEqual(run, last_before)
        self.assertEqual(run.state, "queued")
        self.assertEqual(run.user_id, self.manager)
        self.assertFalse(run.partner_count)
        # The button asked a cron worker to start now.
        new_triggers = (
            self.env["ir.cron.trigger"].search([("cron_id", "=", queue_cron.id)])
            - triggers
        )
        self.assertEqual(len(new_triggers), 1)

        # What a worker has recorded after two of the five phases.
        run.state = "running"
        Progress = self.env["custseg.run.progress"]
        Progress._report(run, "aggregate", 1, 5)
        Progress._report(run, "engine", 2, 5)
        self.env.invalidate_all()
        self.assertEqual(run.progress, 40.0)
        self.assertEqual(run.progress_phase, "engine")
        self.start_tour(
            f"/odoo/action-custseg_module.custseg_run_action/{run.id}",
            "custseg_run_progress_tour",
            login=self.manager.login,
        )

        # The worker itself, from the start.
        run.progress_ids.unlink()
        run.state = "queued"
        with patch.object(self.env.cr, "commit", self.env.flush_all):
            Runs._cron_run_queued()
        self.env.invalidate_all()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.user_id, self.manager)
        # The same customers as the first run.
        self.assertGreaterEqual(run.partner_count, len(self.grid_customers))
        self.assertEqual(run.partner_count, last_before.partner_count)
        self.assertEqual(
            run.as_of, fields.Date.context_today(run.with_user(self.manager))
        )
        self.assertEqual(
            run.progress_ids.sorted("id").mapped("phase"),
            [
                "aggregate",
                "engine",
                "profit",
                "recommendations",
                "write_back",
                "history",
                "segment_pnl",
                "segment_profiles",
                "activities",
            ],
        )
        self.assertEqual(run.progress, 100.0)
        self.start_tour(
            f"/odoo/action-custseg_module.custseg_run_action/{run.id}",
            "custseg_run_done_tour",
            login=self.manager.login,
        )
