# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import random
from datetime import timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import AS_OF, CustsegCommon, CustsegGridCommon

_logger = logging.getLogger(__name__)

FOLLOWUP_SEGMENTS = {"champions", "new", "about_to_sleep", "at_risk", "cant_lose"}


class FollowupAssertions:
    def _followups(self, partners=None):
        """Open follow-ups from this module, of ``partners`` or of everyone."""
        domain = [("custseg_segment_id", "!=", False)]
        if partners is not None:
            domain.append(("custseg_partner_id", "in", partners.ids))
        return self.env["mail.activity"].search(domain)

    def _assert_never_two_open(self):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT custseg_partner_id
              FROM mail_activity
             WHERE custseg_segment_id IS NOT NULL AND active
             GROUP BY custseg_partner_id
            HAVING COUNT(*) > COUNT(DISTINCT custseg_step)
                OR COUNT(DISTINCT custseg_segment_id) > 1
            """
        )
        self.assertEqual(self.env.cr.fetchall(), [])

    @classmethod
    def _followups_on_baseline(cls):
        """These tests schedule from the first run, as a small database may
        choose to; TestBaselineRun checks the default, which does not."""
        cls.env["ir.config_parameter"].set_param(
            "custseg.followups_on_baseline", "True"
        )

    @classmethod
    def _followups_whatever_the_likelihood(cls):
        """These tests follow who gets a follow-up on entering a segment; the
        default minimum likelihood of the win-back segments (5 %) is tested in
        test_segment_grid."""
        cls.env["custseg.segment"].search([]).followup_min_probability = 0.0

    @classmethod
    def _enable_followups_everywhere(cls):
        """Follow-ups on every rule segment, so that any move lands in one."""
        rules = cls.env["custseg.segment"].search([("kind", "=", "rule")])
        for segment in rules.filtered(lambda s: not s.followup_activity_type_id):
            segment.followup_activity_type_id = cls.env.ref(
                "mail.mail_activity_data_todo"
            )
        rules.followup_enabled = True


@tagged("post_install", "-at_install")
class TestFollowups(FollowupAssertions, CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.call = cls.env.ref("mail.mail_activity_data_call")
        cls.default_user = new_test_user(
            cls.env,
            login="custseg_followup_default",
            groups="base.group_user,sales_team.group_sale_salesman",
            name="Default Follow-up User",
        )
        cls.env["ir.config_parameter"].set_param(
            "custseg.followup_user_id", str(cls.default_user.id)
        )
        cls._followups_on_baseline()
        cls._followups_whatever_the_likelihood()
        partners = cls.env["res.partner"].concat(*cls.grid_customers.values())
        partners.user_id = cls.salesman
        # R2 F4 (At Risk) has no salesperson: the At Risk owner gets it.
        cls.segments["at_risk"].owner_id = cls.manager
        cls.grid_customers[2, 4].user_id = False
        # R1 F5 (Can't Lose) has neither: the default follow-up user gets it.
        cls.segments["cant_lose"].owner_id = False
        cls.grid_customers[1, 5].user_id = False

    def _expected_followup_partners(self):
        return {
            partner
            for (r_score, f_score), partner in self.grid_customers.items()
            if self._expected_segment(r_score, f_score) in FOLLOWUP_SEGMENTS
        }

    def test_default_data_enables_the_right_segments(self):
        enabled = self.env["custseg.segment"].search([("followup_enabled", "=", True)])
        self.assertEqual(set(enabled.mapped("code")), FOLLOWUP_SEGMENTS)
        for segment in enabled:
            self.assertTrue(segment.followup_summary)
            self.assertEqual(segment.followup_activity_type_id, self.call)
        self.assertGreater(self.segments["at_risk"].followup_repeat_days, 0)
        self.assertFalse(self.segments["lost"].followup_enabled)
        self.assertFalse(self.segments["hibernating"].followup_enabled)

    def test_entering_a_segment_creates_one_activity(self):
        run = self._run()
        expected = self._expected_followup_partners()
        followups = self._followups()
        self.assertEqual(set(followups.custseg_partner_id), expected)
        self.assertEqual(len(followups), len(expected))
        self.assertEqual(run.activity_created_count, len(expected))
        self.assertEqual(run.activity_replaced_count, 0)
        self.assertIn("activities", run.timings)

        partner = self.grid_customers[2, 3]
        at_risk = self.segments["at_risk"]
        self.assertEqual(partner.customer_segment_id, at_risk)
        activity = self._followups(partner)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.res_model, "res.partner")
        self.assertEqual(activity.res_id, partner.id)
        self.assertEqual(activity.user_id, self.salesman)
        self.assertEqual(activity.activity_type_id, self.call)
        self.assertEqual(
            activity.date_deadline,
            AS_OF + timedelta(days=at_risk.followup_delay_days),
        )
        self.assertEqual(activity.summary, at_risk.followup_summary)
        self.assertEqual(activity.custseg_segment_id, at_risk)
        self.assertEqual(activity.custseg_run_id, run)
        self.assertEqual(activity.custseg_reason, "entered")
        self.assertTrue(activity.automated)
        self.assertAlmostEqual(
            activity.custseg_purchase_probability, partner.purchase_probability
        )
        note = str(activity.note)
        for text in (
            "At Risk",
            "Bought often, but long ago",
            f"{partner.rfm_r_score} / {partner.rfm_f_score} / {partner.rfm_m_score}",
            partner.rfm_code,
            partner.last_purchase_date.strftime("%m/%d/%Y"),
            f"{partner.rfm_monetary:,.2f}",
            f"{partner.predicted_clv:,.2f}",
            f"{partner.purchase_probability:.0%}",
            "Segmentation Test Product",
        ):
            self.assertIn(text, note)
        # Bulk creation sends no "assigned to you" notification.
        self.assertFalse(
            self.env["mail.message"].search(
                [
                    ("model", "=", "res.partner"),
                    ("res_id", "in", [p.id for p in expected]),
                    ("subject", "ilike", "assigned to you"),
                ]
            )
        )
        # No follow-up for segments without one.
        self.assertFalse(self._followups(self.grid_customers[1, 1]))
        self.assertFalse(self._followups(self.grid_customers[4, 4]))
        self._assert_never_two_open()

    def test_identical_second_run_creates_nothing(self):
        self._run()
        before = self._followups()
        self.assertTrue(before)
        again = self._run()
        self.assertEqual(again.activity_created_count, 0)
        self.assertEqual(again.activity_replaced_count, 0)
        self.assertEqual(self._followups(), before)

    def test_moving_to_another_segment_replaces_the_open_one(self):
        self._enable_followups_everywhere()
        self._run()
        partner = self.grid_customers[2, 3]
        old = self._followups(partner)
        self.assertEqual(old.custseg_segment_id, self.segments["at_risk"])
        # It buys again today: it leaves At Risk.
        self._invoices([(partner, AS_OF, 1000.0)])
        run = self._run()
        self.assertNotEqual(partner.customer_segment_id, self.segments["at_risk"])
        new = self._followups(partner)
        self.assertEqual(len(new), 1)
        self.assertFalse(old.exists())
        self.assertEqual(new.custseg_segment_id, partner.customer_segment_id)
        self.assertEqual(new.custseg_reason, "entered")
        self.assertEqual(new.custseg_run_id, run)
        self.assertIn(partner.customer_segment_id.name, str(new.note))
        # Every customer who moved had an open follow-up: each one was replaced.
        moved = (
            self.env["custseg.partner.history"]
            .search([("run_id", "=", run.id)])
            .filtered(lambda row: row.old_segment_id != row.new_segment_id)
        )
        self.assertIn(partner, moved.partner_id)
        self.assertEqual(run.activity_replaced_count, len(moved))
        self.assertEqual(run.activity_created_count, len(moved))
        # A replaced follow-up was not done: no reminder clock started.
        self.assertFalse(partner.segment_followup_done_date)
        self._assert_never_two_open()

    def test_moving_to_a_segment_without_followups_withdraws_the_open_one(self):
        self._run()
        partner = self.grid_customers[2, 3]
        win_back = self._followups(partner)
        self.assertEqual(win_back.custseg_segment_id, self.segments["at_risk"])
        # A locked customer moved by hand to Lost (no follow-ups) keeps its own:
        # runs leave locked customers' follow-ups alone by default.
        locked = self.grid_customers[1, 5]
        locked_followup = self._followups(locked)
        self.assertEqual(locked_followup.custseg_segment_id, self.segments["cant_lose"])
        locked.with_user(self.manager).write(
            {"customer_segment_id": self.segments["lost"].id}
        )
        # The at-risk customer buys again today.
        self._invoices([(partner, AS_OF, 1000.0)])

        before = {act: act.custseg_partner_id for act in self._followups()}
        run = self._run()
        self.assertFalse(partner.customer_segment_id.followup_enabled)
        self.assertFalse(win_back.exists())
        self.assertFalse(self._followups(partner))
        # Its purchase moved others' recency ranks too: every unlocked customer
        # now in a segment without follow-ups lost its open one, and only those.
        stale = self.env["mail.activity"].concat(
            *(
                activity
                for activity, customer in before.items()
                if not customer.segment_locked
                and not customer.customer_segment_id.followup_enabled
            )
        )
        self.assertIn(win_back, stale)
        self.assertFalse(stale.exists())
        self.assertEqual(run.activity_withdrawn_count, len(stale))
        kept = self.env["mail.activity"].concat(*before) - stale
        self.assertEqual(kept.exists(), kept)
        # Withdrawn is not done: no reminder clock started.
        withdrawn_from = self.env["res.partner"].concat(*(before[a] for a in stale))
        self.assertFalse(withdrawn_from.filtered("segment_followup_done_date"))
        self.assertEqual(self._followups(locked), locked_followup)
        self.assertEqual(self._run().activity_withdrawn_count, 0)

        # With the setting on, the locked customer's stale follow-up goes too.
        self.env["ir.config_parameter"].set_param("custseg.followup_locked", "True")
        run = self._run()
        self.assertEqual(run.activity_withdrawn_count, 1)
        self.assertFalse(locked_followup.exists())
        self.assertFalse(locked.segment_followup_done_date)
        self._assert_never_two_open()

    def test_responsible_falls_back_to_owner_then_default_user(self):
        self._run()
        no_salesperson = self.grid_customers[2, 4]
        self.assertEqual(no_salesperson.customer_segment_id, self.segments["at_risk"])
        self.assertEqual(self._followups(no_salesperson).user_id, self.manager)
        nobody = self.grid_customers[1, 5]
        self.assertEqual(nobody.customer_segment_id, self.segments["cant_lose"])
        self.assertEqual(self._followups(nobody).user_id, self.default_user)
        self.assertEqual(
            self._followups(self.grid_customers[2, 5]).user_id, self.salesman
        )

    def test_archived_salesperson_is_skipped(self):
        self.salesman.action_archive()
        self._run()
        self.assertEqual(
            self._followups(self.grid_customers[2, 3]).user_id, self.manager
        )

    def test_locked_partner_follows_the_setting(self):
        self._run()
        partner = self.grid_customers[5, 5]
        self.assertEqual(partner.customer_segment_id, self.segments["champions"])
        champions_followup = self._followups(partner)
        self.assertEqual(len(champions_followup), 1)
        partner.with_user(self.manager).write(
            {"customer_segment_id": self.segments["at_risk"].id}
        )
        self.assertTrue(partner.segment_locked)

        # Off (the default): runs leave the locked customer's follow-ups alone.
        run = self._run()
        self.assertEqual(run.activity_created_count, 0)
        self.assertEqual(self._followups(partner), champions_followup)

        # On: the segment set by hand counts as entering it.
        self.env["ir.config_parameter"].set_param("custseg.followup_locked", "True")
        run = self._run()
        self.assertEqual(run.activity_created_count, 1)
        self.assertEqual(run.activity_replaced_count, 1)
        followup = self._followups(partner)
        self.assertEqual(len(followup), 1)
        self.assertEqual(followup.custseg_segment_id, self.segments["at_risk"])
        self.assertEqual(followup.user_id, self.salesman)
        self.assertFalse(champions_followup.exists())
        self.assertEqual(self._run().activity_created_count, 0)

        # Done: no new "entry" for the same manual segment, only reminders.
        followup.with_context(custseg_outcome="reached").action_done()
        self.assertEqual(self._run().activity_created_count, 0)
        self.assertFalse(self._followups(partner))

    def test_reminder_only_after_done_and_interval(self):
        at_risk = self.segments["at_risk"]
        interval = at_risk.followup_repeat_days
        self.assertEqual(interval, 30)
        partner = self.grid_customers[2, 3]
        self._run()
        first = self._followups(partner)
        self.assertEqual(len(first), 1)

        # Still open long after the interval: no reminder.
        later = AS_OF + timedelta(days=2 * interval)
        run = self._run(as_of=later)
        self.assertEqual(partner.customer_segment_id, at_risk)
        self.assertEqual(run.activity_created_count, 0)
        self.assertEqual(self._followups(partner), first)

        done_on = later + timedelta(days=1)
        with freeze_time(done_on):
            first.with_context(custseg_outcome="reached").action_done()
        # Done: deleted by 18.0 (this type keeps no done activities), archived
        # by 19.0, which always keeps them. Either way it is no longer open.
        self.assertFalse(first.exists().filtered("active"))
        self.assertEqual(partner.segment_followup_done_date, done_on)

        # Done, but fewer than N days ago: nothing yet.
        run = self._run(as_of=done_on + timedelta(days=interval - 1))
        self.assertEqual(run.activity_created_count, 0)
        self.assertFalse(self._followups(partner))

        # N days after it was done: one reminder, and only for this customer
        # (the other At Risk and Can't Lose follow-ups are still open).
        as_of = done_on + timedelta(days=interval)
        run = self._run(as_of=as_of)
        self.assertEqual(run.activity_created_count, 1)
        reminder = self._followups(partner)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.custseg_reason, "reminder")
        self.assertEqual(
            reminder.date_deadline, as_of + timedelta(days=at_risk.followup_delay_days)
        )
        self.assertIn("still in the segment", str(reminder.note))
        self.assertEqual(self._run(as_of=as_of).activity_created_count, 0)

        # Segments without a reminder interval never repeat.
        new_customer = self.grid_customers[5, 1]
        self.assertEqual(new_customer.customer_segment_id, self.segments["new"])
        with freeze_time(done_on):
            self._followups(new_customer).with_context(
                custseg_outcome="reached"
            ).action_done()
        self._run(as_of=as_of + timedelta(days=365))
        self.assertFalse(self._followups(new_customer))

    def test_global_setting_off_creates_nothing(self):
        self.env["ir.config_parameter"].set_param("custseg.followups_enabled", "False")
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.activity_created_count, 0)
        self.assertFalse(self._followups())

    def test_my_followups_shows_only_the_current_users_activities(self):
        self._run()
        unrelated = self.grid_customers[4, 4].activity_schedule(
            "mail.mail_activity_data_todo",
            summary="Not a segment follow-up",
            user_id=self.salesman.id,
        )
        action = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.mail_activity_action_my_followups"
        )
        self.assertEqual(action["res_model"], "mail.activity")
        Activity = self.env["mail.activity"].with_user(self.salesman)
        domain = safe_eval(action["domain"], {"uid": self.salesman.id})
        mine = Activity.search(domain)
        expected = self._followups().filtered(lambda a: a.user_id == self.salesman)
        self.assertTrue(expected)
        self.assertEqual(set(mine.ids), set(expected.ids))
        self.assertNotIn(unrelated.id, mine.ids)
        self.assertTrue(
            self._followups().filtered(lambda a: a.user_id != self.salesman)
        )
        # The views load for a salesperson, and sort by deadline then likelihood.
        list_view = self.env.ref(
            "custseg_module.mail_activity_view_list_custseg_followup"
        )
        arch = Activity.get_views([(list_view.id, "list")])["views"]["list"]["arch"]
        self.assertIn("custseg_purchase_probability desc", arch)
        ordered = Activity.search(
            domain, order="date_deadline, custseg_purchase_probability desc, id"
        )
        keys = [(a.date_deadline, -a.custseg_purchase_probability) for a in ordered]
        self.assertEqual(keys, sorted(keys))
        rows = ordered.read(
            ["custseg_value_tier", "custseg_last_purchase_date", "custseg_net_revenue"]
        )
        self.assertTrue(all(row["custseg_value_tier"] for row in rows))
        # Managers see everyone's, grouped by salesperson.
        everyone = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.mail_activity_action_all_followups"
        )
        self.assertIn("search_default_group_by_user", everyone["context"])
        all_domain = safe_eval(everyone["domain"], {"uid": self.manager.id})
        self.assertEqual(
            self.env["mail.activity"].with_user(self.manager).search(all_domain),
            self._followups().with_user(self.manager),
        )

    def test_mark_done_from_the_queue(self):
        self._run()
        partner = self.grid_customers[2, 3]
        followup = self._followups(partner).with_user(self.salesman)
        followup.with_context(custseg_outcome="reached").action_done()
        self.assertFalse(self._followups(partner))
        # The day it was done is the salesperson's today, in their time zone.
        self.assertEqual(
            partner.segment_followup_done_date, fields.Date.context_today(followup)
        )
        # The chatter keeps the done activity.
        self.assertTrue(
            self.env["mail.message"].search_count(
                [
                    ("model", "=", "res.partner"),
                    ("res_id", "=", partner.id),
                    ("mail_activity_type_id", "=", self.call.id),
                ]
            )
        )

    def test_cancelled_with_a_forged_context_still_counts_as_closed(self):
        """The run's "replaced, not done" marker is no plain context value: a
        client sending the same key cancels a follow-up like anyone else."""
        self._run()
        partner = self.grid_customers[2, 3]
        followup = self._followups(partner).with_user(self.salesman)
        followup.with_context(custseg_followup_replace=True).unlink()
        self.assertFalse(self._followups(partner))
        self.assertEqual(
            partner.segment_followup_done_date, fields.Date.context_today(followup)
        )

    def test_salesperson_cannot_set_what_the_followups_own(self):
        self._run()
        partner = self.grid_customers[2, 3]
        followup = self._followups(partner).with_user(self.salesman)
        for field, value in (
            ("custseg_segment_id", self.segments["lost"].id),
            ("custseg_purchase_probability", 1.0),
            ("custseg_partner_id", self.grid_customers[5, 5].id),
            ("custseg_reason", "manual"),
        ):
            with self.subTest(field=field), self.assertRaises(AccessError):
                followup.write({field: value})
        with self.assertRaises(AccessError):
            self.env["mail.activity"].with_user(self.salesman).create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                    "res_id": partner.id,
                    "activity_type_id": self.call.id,
                    "user_id": self.salesman.id,
                    "custseg_segment_id": self.segments["champions"].id,
                    "custseg_partner_id": partner.id,
                }
            )
        # Working the follow-up is still theirs: reschedule it.
        followup.write({"date_deadline": AS_OF + timedelta(days=40)})
        self.assertEqual(followup.date_deadline, AS_OF + timedelta(days=40))
        self.assertEqual(followup.custseg_segment_id, self.segments["at_risk"])

    def test_best_list_and_schedule_followup_button(self):
        self._run()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.res_partner_action_best_list"
        )
        Partner = self.env["res.partner"].with_user(self.salesman)
        domain = safe_eval(action["domain"], {"uid": self.salesman.id})
        best = Partner.search(domain, order="purchase_probability desc, id")
        self.assertTrue(best)
        self.assertEqual(best.user_id, self.salesman)
        self.assertNotIn(self.grid_customers[2, 4], best)
        likelihoods = best.mapped("purchase_probability")
        self.assertEqual(likelihoods, sorted(likelihoods, reverse=True))

        # Need Attention has no automatic follow-up: the button schedules one.
        partner = self.grid_customers[3, 3].with_user(self.salesman)
        self.assertEqual(partner.customer_segment_id, self.segments["need_attention"])
        self.assertFalse(self._followups(partner))
        result = partner.action_schedule_followup()
        self.assertEqual(result["params"]["type"], "success")
        followup = self._followups(partner)
        self.assertEqual(len(followup), 1)
        self.assertEqual(followup.custseg_reason, "manual")
        self.assertEqual(followup.user_id, self.salesman)
        self.assertEqual(
            followup.date_deadline,
            fields.Date.context_today(partner)
            + timedelta(days=self.segments["need_attention"].followup_delay_days),
        )
        # A second click creates nothing.
        result = partner.action_schedule_followup()
        self.assertEqual(result["params"]["type"], "info")
        self.assertEqual(self._followups(partner), followup)

        # An open follow-up of another segment is replaced.
        other = self.grid_customers[5, 5].with_user(self.salesman)
        old = self._followups(other)
        self.assertEqual(old.custseg_segment_id, self.segments["champions"])
        other.sudo().write(
            {"customer_segment_id": self.segments["loyal"].id, "segment_locked": True}
        )
        other.action_schedule_followup()
        new = self._followups(other)
        self.assertEqual(len(new), 1)
        self.assertEqual(new.custseg_segment_id, self.segments["loyal"])
        self.assertFalse(old.exists())
        self._assert_never_two_open()

    def test_plan_launches_every_step(self):
        email = self.env.ref("mail.mail_activity_data_email")
        plan = self.env["mail.activity.plan"].create(
            {
                "name": "Win-back plan",
                "res_model": "res.partner",
                "template_ids": [
                    Command.create(
                        {
                            "activity_type_id": self.call.id,
                            "summary": "Call the customer",
                            "responsible_type": "on_demand",
                            "delay_count": 0,
                        }
                    ),
                    Command.create(
                        {
                            "activity_type_id": email.id,
                            "summary": "Send the win-back offer",
                            "responsible_type": "other",
                            "responsible_id": self.manager.id,
                            "delay_count": 1,
                            "delay_unit": "weeks",
                            "delay_from": "after_plan_date",
                        }
                    ),
                ],
            }
        )
        at_risk = self.segments["at_risk"]
        at_risk.followup_plan_id = plan
        run = self._run()
        partner = self.grid_customers[2, 3]
        steps = self._followups(partner).sorted("custseg_step")
        plan_date = AS_OF + timedelta(days=at_risk.followup_delay_days)
        self.assertEqual(steps.mapped("custseg_step"), [0, 1])
        self.assertEqual(
            steps.mapped("summary"), ["Call the customer", "Send the win-back offer"]
        )
        self.assertEqual(steps.activity_type_id, self.call | email)
        self.assertEqual(
            steps.mapped("date_deadline"), [plan_date, plan_date + timedelta(days=7)]
        )
        self.assertEqual(steps[0].user_id, self.salesman)
        self.assertEqual(steps[1].user_id, self.manager)
        for step in steps:
            self.assertIn("Key figures", str(step.note))
        at_risk_partners = [
            p
            for (r, f), p in self.grid_customers.items()
            if self._expected_segment(r, f) == "at_risk"
        ]
        others = len(self._expected_followup_partners()) - len(at_risk_partners)
        self.assertEqual(run.activity_created_count, others + 2 * len(at_risk_partners))
        self.assertEqual(self._run().activity_created_count, 0)
        self._assert_never_two_open()

    def test_database_refuses_a_second_open_followup(self):
        self._run()
        partner = self.grid_customers[2, 3]
        activity = self._followups(partner)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.env.cr.savepoint(),
        ):
            activity.copy({"custseg_segment_id": self.segments["lost"].id})

    def test_segment_rejects_invalid_followup_settings(self):
        segment = self.segments["loyal"]
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            segment.write(
                {"followup_enabled": True, "followup_activity_type_id": False}
            )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            segment.followup_repeat_days = -1


@tagged("post_install", "-at_install")
class TestBaselineRun(FollowupAssertions, CustsegGridCommon):
    """The default: the first run classifies, later runs follow up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._followups_whatever_the_likelihood()
        cls.env["res.partner"].concat(
            *cls.grid_customers.values()
        ).user_id = cls.salesman

    def test_first_run_schedules_nothing_later_runs_follow_entries(self):
        first = self._run()
        self.assertTrue(first.baseline)
        self.assertEqual(first.activity_created_count, 0)
        self.assertEqual(first.history_count, 0)
        self.assertFalse(self._followups())
        self.assertFalse(self.env["custseg.partner.history"].search([]))
        segments_before = {
            key: partner.customer_segment_id
            for key, partner in self.grid_customers.items()
        }

        # The lost customer buys again, and a month passes: some customers
        # move, and exactly those entering a segment with follow-ups get one.
        lost = self.grid_customers[1, 1]
        self._invoices([(lost, AS_OF, 100.0)])
        second = self._run(as_of=AS_OF + timedelta(days=30))
        self.assertFalse(second.baseline)
        moved = {
            partner
            for key, partner in self.grid_customers.items()
            if partner.customer_segment_id != segments_before[key]
        }
        self.assertIn(lost, moved)
        history = self.env["custseg.partner.history"].search(
            [("run_id", "=", second.id)]
        )
        self.assertLessEqual(moved, set(history.partner_id))
        self.assertEqual(second.history_count, len(history))
        expected = {
            partner for partner in moved if partner.customer_segment_id.followup_enabled
        }
        self.assertTrue(expected)
        followups = self._followups()
        self.assertEqual(set(followups.custseg_partner_id), expected)
        self.assertEqual(set(followups.custseg_run_id), {second})
        self.assertEqual(second.activity_created_count, len(expected))
        self._assert_never_two_open()

    def test_failed_run_is_no_baseline(self):
        self.env["custseg.run"].create({"as_of": AS_OF, "state": "failed"})
        self.assertTrue(self._run().baseline)
        self.assertFalse(self._run().baseline)


@tagged("post_install", "-at_install")
class TestFollowupScale(FollowupAssertions, CustsegCommon):
    """A run over 2,000 customers that all enter a segment with follow-ups.

    The customers are created with one ``create`` on a list. Their purchases are
    inserted as posted ``account_move`` rows in SQL, with the columns a real
    posted customer invoice has and the run's aggregate reads (state,
    move_type, invoice_date, date, partner_id, commercial_partner_id,
    company_id, journal_id, currency_id, amount_untaxed_signed, name): posting
    10,000 real invoices would take minutes and test nothing more here. They
    have no lines, so the notes list no products; the top-products query still
    runs once.
    """

    CUSTOMERS = 2000
    # Measured: 139 queries for the whole run over 2,000 customers. About 100
    # are fixed; mail.activity.create adds two per 100 follow-ups (the INSERT
    # batch, then one UPDATE of its computed columns res_name and user_tz).
    # The profit phases (#17) add about 25 fixed queries (cost temp table,
    # whale curve, customer profit COPY, segment P&L): 168 measured. The write
    # path of #20 adds about 12 fixed ones (rows to lock, the lock in a
    # savepoint, the figure upsert, the invoice watermark): 191 measured.
    # Writing only the changed profit and P&L rows (delete, update, insert),
    # the cost query's settings and the products' categories add fixed ones:
    # 209 measured. The line costs kept between runs add a few (the last
    # run's marker, its transaction's status in a savepoint, the table built
    # or its stale rows dropped and the missing ones appended) and the offers
    # written only where they differ (delete, update, insert, the load
    # analysed): 221 measured on the first run, 92 on the identical re-run.
    # Round 13 wrote without a lock pass (214 / 81); round 14 writes the
    # figures by an UPDATE, a temp table of the new customers, an INSERT and
    # its DROP instead of an upsert: 217 / 84 measured.
    QUERY_BUDGET = 230

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scale_population()

    @classmethod
    def _setup_scale_population(cls):
        cls._enable_followups_everywhere()
        cls._followups_on_baseline()
        salespeople = [cls.salesman, cls.manager] + [
            new_test_user(
                cls.env,
                login=f"custseg_scale_sales_{index}",
                groups="base.group_user,sales_team.group_sale_salesman",
            )
            for index in range(3)
        ]
        cls.partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Scale Customer {index:05d}",
                    "customer_rank": 1,
                    "user_id": salespeople[index % len(salespeople)].id,
                }
                for index in range(cls.CUSTOMERS)
            ]
        )
        rng = random.Random(42)
        partner_ids, days, amounts = [], [], []
        for partner in cls.partners:
            for _purchase in range(rng.randint(1, 6)):
                partner_ids.append(partner.id)
                days.append(AS_OF - timedelta(days=rng.randint(0, 720)))
                amounts.append(round(rng.uniform(20.0, 2000.0), 2))
        cls.env.flush_all()
        cls.env.cr.execute(
            """
            INSERT INTO account_move (
                name, state, move_type, date, invoice_date, partner_id,
                commercial_partner_id, company_id, journal_id, currency_id,
                amount_untaxed, amount_untaxed_signed, amount_total,
                amount_total_signed, amount_residual, amount_residual_signed,
                auto_post, create_uid, create_date, write_uid, write_date)
            SELECT 'CSF/' || ordinality, 'posted', 'out_invoice', day, day,
                   partner_id, partner_id, %(company)s, %(journal)s,
                   %(currency)s, amount, amount, amount, amount, 0, 0,
                   'no', %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s,
                   NOW() AT TIME ZONE 'UTC'
              FROM UNNEST(%(partners)s::integer[], %(days)s::date[],
                          %(amounts)s::numeric[])
                   WITH ORDINALITY AS purchase(partner_id, day, amount, ordinality)
            """,
            {
                "company": cls.company.id,
                "journal": cls.journal.id,
                "currency": cls.currency.id,
                "uid": cls.env.uid,
                "partners": partner_ids,
                "days": days,
                "amounts": amounts,
            },
        )
        cls.env.cr.execute("ANALYZE account_move")
        cls.env["account.move"].invalidate_model()

    def test_run_over_2000_customers_stays_within_query_budget(self):
        self.env.flush_all()
        start = self.env.cr.sql_log_count
        run = self._run()
        queries = self.env.cr.sql_log_count - start
        _logger.info(
            "Follow-up scale test: run over %s customers, %s follow-ups created, "
            "%s queries (timings %s)",
            run.partner_count,
            run.activity_created_count,
            queries,
            run.timings,
        )
        self.assertEqual(run.state, "done")
        self.assertGreaterEqual(run.partner_count, self.CUSTOMERS)
        self.assertEqual(len(self._followups(self.partners)), self.CUSTOMERS)
        self.assertGreaterEqual(run.activity_created_count, self.CUSTOMERS)
        self.assertLessEqual(queries, self.QUERY_BUDGET)
        self._assert_never_two_open()

        # The identical re-run creates nothing, in a bounded number of queries too.
        start = self.env.cr.sql_log_count
        again = self._run()
        queries = self.env.cr.sql_log_count - start
        _logger.info("Follow-up scale test: identical re-run, %s queries", queries)
        self.assertEqual(again.activity_created_count, 0)
        self.assertLessEqual(queries, self.QUERY_BUDGET)
