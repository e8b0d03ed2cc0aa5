# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser tours (real Chromium), each followed by checks of the database."""

from datetime import timedelta

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
