# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser tours (real Chromium), each followed by checks of the database."""

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
        done = customer.message_ids - messages
        self.assertTrue(done.filtered(lambda message: message.mail_activity_type_id))
        # The salesperson's other follow-ups are still open, the segment too.
        self.assertEqual((followups - welcome).filtered("active"), followups - welcome)
        self.assertEqual(customer.customer_segment_id, self.segments["new"])


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
            ["aggregate", "engine", "write_back", "history", "activities"],
        )
        self.assertEqual(run.progress, 100.0)
        self.start_tour(
            f"/odoo/action-custseg_module.custseg_run_action/{run.id}",
            "custseg_run_done_tour",
            login=self.manager.login,
        )
