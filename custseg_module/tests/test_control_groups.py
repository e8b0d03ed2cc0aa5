# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Control groups of follow-ups (issue #19, point 1)."""

from datetime import timedelta

import pandas as pd
from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.custseg_module.engine.experiment import (
    CONTROL_DAYS,
    draw_control_group,
)

from .common import AS_OF, CustsegCommon
from .test_followups import FollowupAssertions, TestFollowupScale


@tagged("post_install", "-at_install")
class TestControlGroups(FollowupAssertions, CustsegCommon):
    CUSTOMERS = 400
    SHARE = 0.25

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        TestFollowupScale._setup_scale_population.__func__(cls)
        cls.env["ir.config_parameter"].set_param("custseg.control_groups", "True")
        cls.env["custseg.segment"].search([]).followup_control_share = cls.SHARE

    def _entries(self, run):
        return self.env["custseg.followup.entry"].search([("run_id", "=", run.id)])

    def test_held_out_customers_get_no_followup_and_the_run_says_why(self):
        run = self._run()
        entries = self._entries(run)
        self.assertEqual(set(entries.partner_id), set(self.partners))
        held = entries.filtered(lambda e: e.experiment_group == "held_out")
        treated = entries - held
        self.assertEqual(run.control_held_out_count, len(held))
        self.assertEqual(run.control_treated_count, len(treated))
        # The configured share of each segment's entrants, give or take one.
        for segment in entries.segment_id:
            mine = entries.filtered(lambda e, segment=segment: e.segment_id == segment)
            count = len(mine.filtered(lambda e: e.experiment_group == "held_out"))
            self.assertLessEqual(abs(count - self.SHARE * len(mine)), 1)
        self.assertEqual(set(held.mapped("group_reason")), {"drawn_held_out"})
        self.assertEqual(set(treated.mapped("group_reason")), {"drawn_treated"})
        # Held out: no activity; treated: exactly theirs.
        self.assertFalse(self._followups(held.partner_id))
        self.assertEqual(
            self._followups(self.partners).custseg_partner_id, treated.partner_id
        )
        self.assertEqual(run.activity_created_count, len(treated))
        until = AS_OF + timedelta(days=CONTROL_DAYS)
        self.assertEqual(set(held.mapped("control_until")), {until})
        self.assertFalse(any(treated.mapped("control_until")))

        # Stratified: both groups have the same mix of likelihood deciles.
        frame = pd.DataFrame(
            entries.read(["likelihood_decile", "experiment_group"], load=None)
        )
        mix = pd.crosstab(
            frame["likelihood_decile"], frame["experiment_group"], normalize="columns"
        )
        self.assertLess((mix["treated"] - mix["held_out"]).abs().max(), 0.06)

        # Reproducible: the engine's draw, seeded by run and customer.
        self.env.cr.execute(
            """
            SELECT partner_id, segment_id, likelihood
              FROM custseg_followup_entry
             WHERE run_id = %s
             ORDER BY partner_id
            """,
            [run.id],
        )
        again = draw_control_group(
            pd.DataFrame(
                self.env.cr.fetchall(),
                columns=["partner_id", "segment_id", "likelihood"],
            ),
            {segment.id: self.SHARE for segment in entries.segment_id},
            seed=f"custseg-run-{run.id}",
        )
        self.assertEqual(
            set(again.loc[again["held_out"], "partner_id"]), set(held.partner_id.ids)
        )

        # The next day's run schedules nothing for them either.
        next_run = self._run(as_of=AS_OF + timedelta(days=1))
        self.assertFalse(self._followups(held.partner_id))
        self.assertEqual(next_run.activity_created_count, 0)

        # The Best List and the partner page say so; the button refuses.
        with freeze_time(AS_OF + timedelta(days=2)):
            customer = held.partner_id[0]
            customer = customer.with_user(customer.user_id)
            self.assertEqual(customer.custseg_control_until, until)
            result = customer.action_schedule_followup()
            self.assertEqual(result["params"]["type"], "warning")
            self.assertFalse(self._followups(customer))
            self.assertFalse(treated.partner_id[0].custseg_control_until)
        # Once the measurement is over, the customer is a customer like others.
        with freeze_time(until + timedelta(days=1)):
            customer.invalidate_recordset(["custseg_control_until"])
            self.assertFalse(customer.custseg_control_until)
        best_list = self.env.ref("custseg_module.res_partner_view_list_best").arch
        self.assertIn('name="custseg_control_until"', best_list)
        form = self.env["res.partner"].get_view(view_type="form")["arch"]
        self.assertIn("In control group until", form)

    def test_the_setting_turns_control_groups_off(self):
        self.env["ir.config_parameter"].set_param("custseg.control_groups", "False")
        run = self._run()
        entries = self._entries(run)
        self.assertEqual(len(entries), self.CUSTOMERS)
        self.assertEqual(set(entries.mapped("experiment_group")), {"treated"})
        self.assertEqual(set(entries.mapped("group_reason")), {"control_off"})
        self.assertEqual(run.control_held_out_count, 0)
        self.assertEqual(len(self._followups(self.partners)), self.CUSTOMERS)

    def test_segment_without_control_share_and_share_limits(self):
        segments = self.env["custseg.segment"].search([])
        segments.followup_control_share = 0.0
        run = self._run()
        entries = self._entries(run)
        self.assertEqual(set(entries.mapped("group_reason")), {"no_control_share"})
        segment = segments.filtered("followup_enabled")[0]
        with self.assertRaisesRegex(ValidationError, "between 0 % and 50 %"):
            segment.followup_control_share = 0.6
        # The default is 10 %.
        self.assertEqual(
            self.env["custseg.segment"]
            ._fields["followup_control_share"]
            .default(segment),
            0.1,
        )
