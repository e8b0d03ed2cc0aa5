# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What differs between Odoo 18.0 and 19.0 behaves the same on both
(docs/odoo-versions.md), and the queued run of Recompute now."""

import logging
from datetime import timedelta
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.custseg_run_progress import PHASES
from ..tools import compat
from .common import AS_OF, CustsegGridCommon

RUN_LOGGER = "odoo.addons.custseg_module.models.custseg_run"


@tagged("post_install", "-at_install")
class TestOdooVersions(CustsegGridCommon):
    def test_groups_are_filed_under_the_application(self):
        category = self.env.ref("custseg_module.module_category_custseg")
        groups = self.env.ref("custseg_module.group_custseg_user") | self.env.ref(
            "custseg_module.group_custseg_manager"
        )
        if compat.has_group_privileges(self.env):
            privilege = self.env.ref("custseg_module.res_groups_privilege_custseg")
            self.assertEqual(groups.privilege_id, privilege)
            self.assertEqual(privilege.category_id, category)
            self.assertEqual(privilege.name, category.name)
        else:
            self.assertEqual(groups.category_id, category)
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("custseg_module.group_custseg_manager"))

    def test_only_managers_open_all_followups(self):
        action = self.env.ref("custseg_module.mail_activity_action_all_followups")
        self.assertEqual(
            action[compat.groups_field(action)],
            self.env.ref("custseg_module.group_custseg_manager"),
        )
        menu = self.env.ref("custseg_module.menu_custseg_all_followups")
        self.assertEqual(
            menu.with_user(self.salesman)._filter_visible_menus(),
            self.env["ir.ui.menu"],
        )
        self.assertEqual(menu.with_user(self.manager)._filter_visible_menus(), menu)

    def test_segment_code_stays_unique(self):
        self.env.cr.execute(
            "SELECT 1 FROM pg_constraint WHERE conname = 'custseg_segment_code_unique'"
        )
        self.assertTrue(self.env.cr.fetchone())
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.env.cr.savepoint(),
        ):
            self.env["custseg.segment"].create(
                {"name": "Twin", "code": self.segments["loyal"].code}
            )

    def test_recency_search_with_in_and_not_in(self):
        self._run()
        Partners = self.env["res.partner"]
        grid = Partners.browse([p.id for p in self.grid_customers.values()])
        recent = grid.filtered(lambda p: p.rfm_recency_days in (10, 40))
        self.assertEqual(len(recent), 10)
        for operator, value, expected in (
            ("=", 10, grid.filtered(lambda p: p.rfm_recency_days == 10)),
            ("in", [10, 40], recent),
            ("not in", [10, 40], grid - recent),
            ("!=", 10, grid.filtered(lambda p: p.rfm_recency_days != 10)),
        ):
            with self.subTest(operator=operator):
                found = Partners.search(
                    [("id", "in", grid.ids), ("rfm_recency_days", operator, value)]
                )
                self.assertEqual(found, expected)
        self.assertFalse(
            Partners.search([("id", "in", grid.ids), ("rfm_recency_days", "in", [])])
        )

    def test_snooze_moves_the_deadline_a_week(self):
        partner = self.grid_customers[3, 3]
        today = fields.Date.context_today(self.env["mail.activity"])
        activities = self.env["mail.activity"].create(
            [
                {
                    "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                    "res_id": partner.id,
                    "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                    "date_deadline": deadline,
                    "user_id": self.manager.id,
                }
                for deadline in (today + timedelta(days=3), today - timedelta(days=5))
            ]
        )
        activities.action_custseg_snooze()
        self.assertEqual(
            activities.mapped("date_deadline"),
            [today + timedelta(days=10), today + timedelta(days=7)],
        )


@tagged("post_install", "-at_install")
class TestQueuedRun(CustsegGridCommon):
    """Recompute now queues; a cron worker runs the queue (the tour
    TestBackgroundRunTour shows it in a browser)."""

    def _work_the_queue(self):
        with (
            patch.object(self.env.cr, "commit", self.env.flush_all),
            patch.object(self.env.cr, "rollback", side_effect=self.env.cr.clear),
        ):
            self.env["custseg.run"]._cron_run_queued()
        self.env.invalidate_all()

    def test_button_queues_once_and_returns_at_once(self):
        Runs = self.env["custseg.run"].with_user(self.manager)
        before = self.env["custseg.run"].search_count([])
        with patch.object(
            type(self.env["custseg.run"]), "_execute", side_effect=AssertionError
        ):
            first = Runs.action_recompute_now()
            second = Runs.action_recompute_now()
        run = self.env["custseg.run"].browse(first["res_id"])
        self.assertEqual(first, second)
        self.assertEqual(self.env["custseg.run"].search_count([]), before + 1)
        self.assertEqual(
            (run.state, run.progress, run.user_id), ("queued", 0.0, self.manager)
        )
        self.assertFalse(self.grid_customers[5, 5].customer_segment_id)

        self._work_the_queue()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.progress, 100.0)
        # One progress row per phase of the run.
        self.assertEqual(len(run.progress_ids), len(PHASES))
        self.assertEqual(
            self.grid_customers[5, 5].customer_segment_id.code,
            self._expected_segment(5, 5),
        )

    def test_failed_queued_run_is_recorded_on_itself(self):
        action = self.env["custseg.run"].with_user(self.manager).action_recompute_now()
        run = self.env["custseg.run"].browse(action["res_id"])
        before = self.env["custseg.run"].search_count([])
        with (
            patch.object(
                type(self.env["custseg.run"]),
                "_phase_write_back",
                side_effect=RuntimeError("disk full during write-back"),
            ),
            self.assertLogs(RUN_LOGGER, logging.ERROR),
        ):
            self._work_the_queue()
        self.assertEqual(run.state, "failed")
        self.assertIn("disk full during write-back", run.error)
        # Recorded on the queued run, not on a second one.
        self.assertEqual(self.env["custseg.run"].search_count([]), before)
        self.assertFalse(self.grid_customers[5, 5].customer_segment_id)
        # A later run of the same day works.
        self.assertEqual(self._run(as_of=AS_OF).state, "done")
